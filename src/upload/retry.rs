//! The retry policy: transient failures (connection refused or reset, timeouts, 5xx, 429) are
//! retried with capped exponential backoff and full jitter; permanent ones stop at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::target::Failure;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::queue::LatestSender;

/// First retry delay after a transient failure; doubles each time...
const BACKOFF_START: Duration = Duration::from_millis(250);
/// ...up to this cap (AWS's guidance: capped exponential backoff with jitter).
const BACKOFF_CAP: Duration = Duration::from_secs(20);

/// How a request is retried.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RetryPolicy {
    /// Transient failures tolerated before giving up (`u32::MAX`: forever while the process lives).
    pub attempts: u32,
    /// The first delay.
    pub start: Duration,
    /// The longest delay.
    pub cap: Duration,
}

impl RetryPolicy {
    /// For the upload itself: nothing recorded may be lost, so it never gives up by itself.
    pub(crate) const FOREVER: RetryPolicy = RetryPolicy {
        attempts: u32::MAX,
        start: BACKOFF_START,
        cap: BACKOFF_CAP,
    };

    /// For a caller who waits for the answer (a listing): a few attempts, then the error.
    pub(crate) const A_FEW: RetryPolicy = RetryPolicy {
        attempts: 3,
        start: BACKOFF_START,
        cap: BACKOFF_CAP,
    };

    /// The delay before retry number `attempt` (1-based), before jitter: `start * 2^(attempt-1)`,
    /// capped.
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
        self.start.saturating_mul(factor).min(self.cap)
    }
}

/// What a retried request came to, when it did not fail for good.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Retried<T> {
    /// It succeeded.
    Done(T),
    /// The server no longer knows the multipart upload (completed or expired): start over.
    UploadGone,
}

impl<T> Retried<T> {
    /// The value, for requests that carry no upload id, where "upload gone" cannot happen.
    pub(crate) fn without_upload_id(self) -> Result<T> {
        match self {
            Retried::Done(v) => Ok(v),
            Retried::UploadGone => Err(Error::Upload(
                "the server answered NoSuchUpload to a request without an upload id".into(),
            )),
        }
    }
}

/// Runs `op` until it succeeds, fails for good, runs out of `policy.attempts`, or `cancelled` is
/// set. Every power-of-two attempt sends a warning to `events`, so a dead network is visible
/// without flooding the client.
pub(crate) fn retry<T>(
    policy: RetryPolicy,
    cancelled: &AtomicBool,
    what: &str,
    events: Option<&LatestSender<Event>>,
    mut op: impl FnMut() -> Result<T, Failure>,
) -> Result<Retried<T>> {
    let mut attempt = 0u32;
    loop {
        let message = match op() {
            Ok(v) => return Ok(Retried::Done(v)),
            Err(Failure::Permanent(e)) => return Err(e),
            Err(Failure::UploadGone) => return Ok(Retried::UploadGone),
            Err(Failure::Transient(message)) => message,
        };
        if cancelled.load(Ordering::Acquire) {
            return Err(Error::Upload(format!("{what}: {message} (cancelled)")));
        }
        attempt += 1;
        if attempt >= policy.attempts {
            return Err(Error::Upload(format!(
                "{what}: {message} (gave up after {attempt} attempts)"
            )));
        }
        let sleep = jitter(policy.delay(attempt));
        if let Some(events) = events.filter(|_| attempt.is_power_of_two()) {
            events.send(Event::Warning {
                message: format!(
                    "upload: {message}; attempt {attempt}, next in {:.1} s",
                    sleep.as_secs_f32()
                ),
            });
        }
        std::thread::sleep(sleep);
    }
}

/// A uniformly random duration in [d/2, d]: spreads retries of many clients.
fn jitter(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    let x = (u64::from(nanos).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33) as f64 / (1u64 << 31) as f64;
    d.mul_f64(0.5 + 0.5 * x)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: RetryPolicy = RetryPolicy {
        attempts: u32::MAX,
        start: Duration::from_millis(1),
        cap: Duration::from_millis(4),
    };

    #[test]
    fn delays_double_up_to_the_cap_and_never_overflow() {
        let p = RetryPolicy::FOREVER;
        assert_eq!(p.delay(1), Duration::from_millis(250));
        assert_eq!(p.delay(2), Duration::from_millis(500));
        assert_eq!(p.delay(5), Duration::from_secs(4));
        assert_eq!(p.delay(8), BACKOFF_CAP);
        assert_eq!(p.delay(u32::MAX), BACKOFF_CAP);
    }

    #[test]
    fn jitter_stays_within_half_to_full() {
        for _ in 0..100 {
            let j = jitter(Duration::from_millis(100));
            assert!(
                (Duration::from_millis(50)..=Duration::from_millis(100)).contains(&j),
                "{j:?}"
            );
        }
    }

    #[test]
    fn transient_failures_are_retried_until_success() {
        let mut calls = 0;
        let result = retry(FAST, &AtomicBool::new(false), "test", None, || {
            calls += 1;
            if calls < 4 {
                Err(Failure::Transient("connection refused".into()))
            } else {
                Ok(calls)
            }
        });
        assert_eq!(result.unwrap(), Retried::Done(4));
    }

    #[test]
    fn permanent_failures_and_gone_uploads_stop_at_once() {
        let mut calls = 0;
        let result: Result<Retried<()>> = retry(FAST, &AtomicBool::new(false), "test", None, || {
            calls += 1;
            Err(Failure::Permanent(Error::Upload("bucket `x` not found".into())))
        });
        assert!(result.unwrap_err().to_string().contains("bucket `x`"));
        assert_eq!(calls, 1);
        let gone: Retried<()> =
            retry(FAST, &AtomicBool::new(false), "test", None, || Err(Failure::UploadGone)).unwrap();
        assert_eq!(gone, Retried::UploadGone);
        assert!(gone.without_upload_id().is_err());
    }

    #[test]
    fn a_bounded_policy_gives_up_and_says_after_how_many() {
        let policy = RetryPolicy { attempts: 3, ..FAST };
        let mut calls = 0;
        let err = retry(
            policy,
            &AtomicBool::new(false),
            "list recordings",
            None,
            || -> Result<(), Failure> {
                calls += 1;
                Err(Failure::Transient("timed out".into()))
            },
        )
        .unwrap_err();
        assert_eq!(calls, 3);
        assert!(
            err.to_string()
                .contains("list recordings: timed out (gave up after 3 attempts)"),
            "{err}"
        );
    }

    #[test]
    fn cancelling_ends_a_forever_policy() {
        let cancelled = AtomicBool::new(true);
        let err = retry(FAST, &cancelled, "upload a part", None, || -> Result<(), Failure> {
            Err(Failure::Transient("reset".into()))
        })
        .unwrap_err();
        assert!(err.to_string().contains("cancelled"), "{err}");
    }

    #[test]
    fn warnings_go_out_on_power_of_two_attempts() {
        let (tx, rx) = crate::queue::latest_queue(16);
        let mut calls = 0;
        let _ = retry(FAST, &AtomicBool::new(false), "test", Some(&tx), || {
            calls += 1;
            if calls <= 5 {
                Err(Failure::Transient("refused".into()))
            } else {
                Ok(())
            }
        });
        let warnings: Vec<_> = rx.try_iter().collect();
        assert_eq!(warnings.len(), 3, "attempts 1, 2 and 4: {warnings:?}");
    }
}
