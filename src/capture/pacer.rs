//! Frame pacing for real-time sources: at most one frame per frame interval, the newest winning.
//!
//! Timestamps are snapped to the frame-rate grid (slot `k` is at `k / fps`). A frame that lands in
//! a slot already used is held, replaced by any newer one, and sent when the next slot opens, so
//! a burst of updates followed by a still screen always ends on its last picture.

use std::time::Duration;

use super::{Clock, Picture};

/// See the module docs.
#[derive(Debug)]
pub(crate) struct Pacer {
    fps: u64,
    last_slot: Option<u64>,
    held: Option<Picture>,
}

/// What the pacer decided for an offered frame.
#[derive(Debug, Default)]
pub(crate) struct Paced {
    /// The frame to send now, retimed to its slot.
    pub send: Option<Picture>,
    /// Frames superseded by a newer one (count them as dropped).
    pub dropped: u64,
}

impl Pacer {
    pub(crate) fn new(fps: u32) -> Self {
        Pacer {
            fps: u64::from(fps.max(1)),
            last_slot: None,
            held: None,
        }
    }

    fn slot(&self, t: Duration) -> u64 {
        // +1 ns: grid times in whole nanoseconds (`k * 1e9 / fps`, rounded down) fall up to 1 ns
        // short of their slot, and must still land in it.
        ((t.as_nanos() + 1) * u128::from(self.fps) / 1_000_000_000) as u64
    }

    fn slot_time(&self, slot: u64) -> Duration {
        Duration::from_nanos(slot * 1_000_000_000 / self.fps)
    }

    fn release(&mut self, mut frame: Picture, slot: u64) -> Picture {
        self.last_slot = Some(slot);
        frame.timestamp = self.slot_time(slot);
        frame
    }

    /// Offers a new frame.
    pub(crate) fn offer(&mut self, frame: Picture) -> Paced {
        let slot = self.slot(frame.timestamp);
        let superseded = u64::from(self.held.take().is_some());
        if self.last_slot.is_none_or(|last| slot > last) {
            return Paced {
                send: Some(self.release(frame, slot)),
                dropped: superseded,
            };
        }
        self.held = Some(frame);
        Paced {
            send: None,
            dropped: superseded,
        }
    }

    /// An unchanged picture reported for time `t`: its slot time, if the slot is new and no newer
    /// frame is waiting (that one goes out instead).
    pub(crate) fn offer_unchanged(&mut self, t: Duration) -> Option<Duration> {
        let slot = self.slot(t);
        if self.held.is_some() || self.last_slot.is_some_and(|last| slot <= last) {
            return None;
        }
        self.last_slot = Some(slot);
        Some(self.slot_time(slot))
    }

    /// The held frame, once its slot has opened at `now` (or unconditionally with `None`: stopping).
    pub(crate) fn poll(&mut self, now: Option<Duration>) -> Option<Picture> {
        let next = self.last_slot.map_or(0, |l| l + 1);
        if now.is_some_and(|now| self.slot(now) < next) {
            return None;
        }
        let frame = self.held.take()?;
        Some(self.release(frame, next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(ms: u64, shade: u8) -> Picture {
        Picture::solid(shade, Duration::from_millis(ms))
    }

    #[test]
    fn a_burst_keeps_its_newest_frame_for_the_next_slot() {
        let mut pacer = Pacer::new(10); // slots every 100 ms
        assert_eq!(pacer.offer(frame(5, 1)).send.unwrap().timestamp, Duration::ZERO);
        let p = pacer.offer(frame(20, 2));
        assert!(p.send.is_none() && p.dropped == 0);
        let p = pacer.offer(frame(40, 3));
        assert!(p.send.is_none() && p.dropped == 1, "frame 2 superseded by 3");
        assert!(
            pacer.poll(Some(Duration::from_millis(90))).is_none(),
            "slot 1 not open yet"
        );
        let late = pacer.poll(Some(Duration::from_millis(100))).unwrap();
        assert_eq!(
            (late.i420().planes.0[0], late.timestamp),
            (3, Duration::from_millis(100))
        );
        assert!(pacer.poll(Some(Duration::from_secs(5))).is_none());
    }

    #[test]
    fn frames_in_new_slots_pass_straight_through_snapped_to_the_grid() {
        let mut pacer = Pacer::new(15);
        let t: Vec<Duration> = [0, 70, 140, 400]
            .iter()
            .map(|&ms| pacer.offer(frame(ms, 0)).send.unwrap().timestamp)
            .collect();
        let expected: Vec<Duration> = [0u64, 1, 2, 6]
            .iter()
            .map(|k| Duration::from_nanos(k * 1_000_000_000 / 15))
            .collect();
        assert_eq!(t, expected);
    }

    #[test]
    fn grid_timestamps_land_in_their_own_slot() {
        let mut pacer = Pacer::new(15);
        for k in 0..100u64 {
            let t = Duration::from_nanos(k * 1_000_000_000 / 15);
            assert_eq!(pacer.offer_unchanged(t), Some(t), "slot {k}");
        }
    }
}

/// The schedule of a source that makes a picture on demand in real time (the synthetic scene, a
/// window capture): frame `k` is due at `k / fps` on the recording clock, and a source that falls
/// behind skips to the frame due now.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ticker {
    clock: Clock,
    fps: u64,
    next: u64,
}

impl Ticker {
    pub(crate) fn new(clock: Clock, fps: u32) -> Self {
        Ticker {
            clock,
            fps: u64::from(fps.max(1)),
            next: 0,
        }
    }

    /// The time of frame `index`.
    pub(crate) fn timestamp(&self, index: u64) -> Duration {
        Duration::from_nanos(index * 1_000_000_000 / self.fps)
    }

    /// The recording clock.
    pub(crate) fn clock(&self) -> Clock {
        self.clock
    }

    /// Sleeps until the next frame is due and returns its index, or sleeps `timeout` and returns
    /// `None` when none is due that soon.
    pub(crate) fn wait(&mut self, timeout: Duration) -> Option<u64> {
        let now = self.clock.now();
        let due_now = (now.as_nanos() * u128::from(self.fps) / 1_000_000_000) as u64;
        self.next = self.next.max(due_now);
        let due = self.timestamp(self.next);
        if due > now {
            if due - now > timeout {
                std::thread::sleep(timeout);
                return None;
            }
            std::thread::sleep(due - now);
        }
        self.next += 1;
        Some(self.next - 1)
    }
}
