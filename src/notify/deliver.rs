//! The delivery rule: attempt, and on failure wait and try again, up to `1 + retries` attempts in
//! all; the state is persisted after every attempt, so a restart goes on where it stopped and a
//! delivered callback is never sent again.

use std::time::Duration;

use super::send::attempt;
use super::{CallbackConfig, CallbackState, ClassInfo, RecordFacts};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::queue::LatestSender;

/// Delivers the callback for `state` (or goes on delivering it), calling `persist` after every
/// attempt. `Ok(attempts)` once delivered, `Err` once failed for good (also when `persist` fails).
pub(crate) fn deliver(
    config: &CallbackConfig,
    class: &ClassInfo,
    state: &mut CallbackState,
    persist: impl FnMut(&CallbackState) -> Result<()>,
    events: Option<&LatestSender<Event>>,
) -> Result<u32> {
    deliver_with(config, state, persist, events, |facts| attempt(config, class, facts))
}

/// [`deliver`] with the attempt itself given, so the rule can be tested without a network.
fn deliver_with(
    config: &CallbackConfig,
    state: &mut CallbackState,
    mut persist: impl FnMut(&CallbackState) -> Result<()>,
    events: Option<&LatestSender<Event>>,
    mut attempt: impl FnMut(&RecordFacts) -> std::result::Result<(), String>,
) -> Result<u32> {
    let max_attempts = config.retries.saturating_add(1);
    loop {
        if state.delivered {
            return Ok(state.attempts);
        }
        if let Some(reason) = &state.failed {
            return Err(Error::Callback(reason.clone()));
        }
        if state.attempts > 0 {
            std::thread::sleep(Duration::from_millis(config.retry_interval_ms));
        }
        let outcome = attempt(&state.facts);
        state.attempts += 1;
        match outcome {
            Ok(()) => state.delivered = true,
            Err(reason) if state.attempts >= max_attempts => {
                state.failed = Some(format!("{reason}; gave up after {} attempts", state.attempts))
            }
            Err(reason) => {
                if let Some(events) = events {
                    events.send(Event::Warning {
                        message: format!("callback attempt {}: {reason}; retrying", state.attempts),
                    });
                }
            }
        }
        persist(state)?;
        if state.delivered {
            if let Some(events) = events {
                events.send(Event::CallbackDelivered {
                    attempts: state.attempts,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn config(retries: u32) -> CallbackConfig {
        CallbackConfig {
            url: "http://127.0.0.1:9/cb".into(),
            key: Secret("k".into()),
            retries,
            retry_interval_ms: 1,
            timeout_ms: 100,
        }
    }

    fn state() -> CallbackState {
        CallbackState::new(RecordFacts {
            start_time: 1,
            stop_time: 2,
            file_id: "k".into(),
            file_url: "u".into(),
            file_size: 3,
            duration: 1,
        })
    }

    #[test]
    fn retries_until_delivered_and_persists_every_attempt() {
        let (mut s, mut saved, mut calls) = (state(), Vec::new(), 0);
        let result = deliver_with(
            &config(10),
            &mut s,
            |s| {
                saved.push(s.attempts);
                Ok(())
            },
            None,
            |_| {
                calls += 1;
                if calls < 3 {
                    Err("HTTP 500".into())
                } else {
                    Ok(())
                }
            },
        );
        assert_eq!(result.unwrap(), 3);
        assert_eq!(saved, vec![1, 2, 3]);
        // Delivered once: never sent again.
        let again = deliver_with(&config(10), &mut s, |_| Ok(()), None, |_| panic!("sent twice"));
        assert_eq!(again.unwrap(), 3);
    }

    #[test]
    fn gives_up_after_one_plus_retries_and_remembers_why() {
        let mut s = state();
        let err = deliver_with(&config(2), &mut s, |_| Ok(()), None, |_| Err("error_code 7".into())).unwrap_err();
        assert_eq!(s.attempts, 3);
        assert!(
            err.to_string().contains("error_code 7; gave up after 3 attempts"),
            "{err}"
        );
        assert!(!s.is_pending());
    }

    #[test]
    fn a_restart_goes_on_from_the_persisted_count() {
        let mut s = state();
        s.attempts = 2;
        let mut calls = 0;
        let err = deliver_with(
            &config(2),
            &mut s,
            |_| Ok(()),
            None,
            |_| {
                calls += 1;
                Err("refused".into())
            },
        );
        assert!(err.is_err());
        assert_eq!(calls, 1, "only the one attempt left");
    }
}
