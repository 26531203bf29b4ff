//! The pause clock: paused time is cut out of the recording's timeline, so playback runs straight
//! on from a pause. Every track uses the same clock, so a pause cuts them at the same instant.

use std::time::Duration;

/// A change the clock noticed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Transition {
    /// Recording paused at this source time.
    Paused,
    /// Recording resumed; the pause is cut out.
    Resumed,
}

/// Maps source time to timeline time, cutting out every pause.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct PauseClock {
    /// Source time the current pause began, while paused.
    paused_at: Option<Duration>,
    /// Total paused time so far.
    cut: Duration,
}

impl PauseClock {
    /// Tells the clock whether the user wants it paused at source time `now`; returns the
    /// transition, if this is one.
    pub(super) fn update(&mut self, paused: bool, now: Duration) -> Option<Transition> {
        match self.paused_at {
            None if paused => {
                self.paused_at = Some(now);
                Some(Transition::Paused)
            }
            Some(since) if !paused => {
                self.cut += now.saturating_sub(since);
                self.paused_at = None;
                Some(Transition::Resumed)
            }
            _ => None,
        }
    }

    /// True while paused: nothing captured now belongs in the recording.
    pub(super) fn is_paused(&self) -> bool {
        self.paused_at.is_some()
    }

    /// Where source time `t` lands on the timeline (paused time cut out).
    pub(super) fn timeline(&self, t: Duration) -> Duration {
        t.saturating_sub(self.cut)
    }

    /// Where the recording ends on the timeline when the source ends at `at`: a recording
    /// stopped while paused ends where the pause began.
    pub(super) fn end(&self, at: Option<Duration>) -> Option<Duration> {
        self.paused_at.or(at).map(|t| self.timeline(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    #[test]
    fn a_pause_is_cut_out_of_the_timeline() {
        let mut clock = PauseClock::default();
        assert_eq!(clock.update(false, s(1)), None);
        assert_eq!(clock.timeline(s(3)), s(3));
        assert_eq!(clock.update(true, s(4)), Some(Transition::Paused));
        assert!(clock.is_paused());
        assert_eq!(clock.update(true, s(6)), None, "still paused: no new transition");
        assert_eq!(clock.update(false, s(10)), Some(Transition::Resumed));
        assert!(!clock.is_paused());
        assert_eq!(clock.timeline(s(10)), s(4), "resumes exactly where it paused");
        assert_eq!(clock.timeline(s(12)), s(6));
    }

    #[test]
    fn pauses_add_up() {
        let mut clock = PauseClock::default();
        clock.update(true, s(1));
        clock.update(false, s(2));
        clock.update(true, s(5));
        clock.update(false, s(8));
        assert_eq!(clock.timeline(s(10)), s(6));
    }

    #[test]
    fn stopping_while_paused_ends_where_the_pause_began() {
        let mut clock = PauseClock::default();
        clock.update(true, s(2));
        clock.update(false, s(3));
        clock.update(true, s(7));
        assert_eq!(clock.end(Some(s(20))), Some(s(6)));
        clock.update(false, s(9));
        assert_eq!(clock.end(Some(s(20))), Some(s(17)));
        assert_eq!(PauseClock::default().end(None), None);
    }
}
