//! Mixing captured inputs (system loopback, microphone) on one timeline: the recorder's clock
//! counted in 48 kHz frames.
//!
//! Each input is a [`Lane`]. A piece that continues its lane within [`JITTER_TOLERANCE`] is
//! placed right after the previous one (the device's own sample clock is the truth between two
//! pieces); a piece further off re-anchors the lane at its timestamp (a gap becomes silence, an
//! overlap is dropped). The output advances to the point every lane has covered, where a lane
//! that delivers nothing (loopback while nothing plays, a device that is gone) counts as silence
//! once [`IDLE_HOLD`] has passed. So the mixer never waits for a silent input for long, and the
//! output keeps coming from the clock.
//!
//! Drift between a device's clock and the recorder's shows up as a growing offset that is
//! re-anchored when it passes [`JITTER_TOLERANCE`] (a 40 ms step every few minutes at 200 ppm).
//! TODO(sound): the audio timeline corrects the mixed output's drift by resampling; a per-lane
//! drift resampler here would remove the step between the two inputs as well.

use std::collections::VecDeque;
use std::time::Duration;

use super::{AudioChunk, AUDIO_RATE};

/// A piece within this distance of where its lane left off continues the lane seamlessly.
pub(crate) const JITTER_TOLERANCE: Duration = Duration::from_millis(40);
/// How long the output waits for a lane that is not delivering before counting it as silence.
pub(crate) const IDLE_HOLD: Duration = Duration::from_millis(150);
/// How long the output waits for a lane that is delivering (its pieces come late by up to this).
pub(crate) const LIVE_HOLD: Duration = Duration::from_millis(1000);
/// A lane that delivered within this time is live.
const LIVE_WINDOW: Duration = Duration::from_millis(1000);
/// The shortest chunk handed out (10 ms), so the output comes in useful pieces.
const MIN_CHUNK_FRAMES: i64 = AUDIO_RATE as i64 / 100;
/// The longest chunk handed out (500 ms).
const MAX_CHUNK_FRAMES: i64 = AUDIO_RATE as i64 / 2;

/// The 48 kHz frame index of a time on the recorder's clock (rounded to the nearest frame).
pub(crate) fn frame_at(time: Duration) -> i64 {
    ((time.as_nanos() * AUDIO_RATE as u128 + 500_000_000) / 1_000_000_000) as i64
}

/// The time of a 48 kHz frame index on the recorder's clock (negative indices are time zero).
pub(crate) fn time_of(frame: i64) -> Duration {
    let frame = frame.max(0) as u128;
    Duration::from_nanos((frame * 1_000_000_000 / AUDIO_RATE as u128) as u64)
}

fn frames(duration: Duration) -> i64 {
    frame_at(duration)
}

/// One input's samples waiting to be mixed.
#[derive(Debug, Default)]
struct Lane {
    /// Samples (the track's channel count per frame) from frame `start` on.
    samples: VecDeque<f32>,
    /// The frame index of the first waiting sample.
    start: i64,
    /// Where the next piece continues the lane seamlessly; `None` before the first piece.
    next: Option<i64>,
    /// When (recorder clock) the lane last delivered.
    last_delivery: Option<Duration>,
}

impl Lane {
    fn end(&self, channels: usize) -> i64 {
        self.start + (self.samples.len() / channels) as i64
    }

    fn sample(&self, frame: i64, channel: usize, channels: usize) -> f32 {
        let offset = frame - self.start;
        if offset < 0 {
            return 0.0;
        }
        self.samples
            .get(offset as usize * channels + channel)
            .copied()
            .unwrap_or(0.0)
    }

    /// Drops every frame before `frame`.
    fn discard_before(&mut self, frame: i64, channels: usize) {
        let n = (frame - self.start).clamp(0, (self.samples.len() / channels) as i64);
        self.samples.drain(..n as usize * channels);
        self.start += n;
        if self.samples.is_empty() {
            self.start = self.start.max(frame);
        }
    }
}

/// Mixes any number of lanes onto the recorder's timeline.
#[derive(Debug)]
pub(crate) struct Mixer {
    channels: usize,
    lanes: Vec<Lane>,
    /// The next output frame; `None` until the first piece or the first idle hold.
    out: Option<i64>,
    /// Where output starts if no lane delivers (the time the source was opened).
    opened: i64,
    /// Frames that came after their place had been handed out (as silence) and were dropped.
    late_frames: u64,
    /// Times a lane was re-anchored (a gap or an overlap beyond the jitter tolerance).
    reanchors: u64,
}

impl Mixer {
    /// A mixer for `lanes` inputs, all already converted to `channels` per frame, opened at
    /// `opened` on the recorder's clock.
    pub(crate) fn new(lanes: usize, channels: u16, opened: Duration) -> Self {
        Mixer {
            channels: channels.max(1) as usize,
            lanes: (0..lanes).map(|_| Lane::default()).collect(),
            out: None,
            opened: frame_at(opened),
            late_frames: 0,
            reanchors: 0,
        }
    }

    /// Frames dropped because they came after their place was handed out.
    pub(crate) fn late_frames(&self) -> u64 {
        self.late_frames
    }

    /// Times a lane's timing jumped by more than the jitter tolerance.
    pub(crate) fn reanchors(&self) -> u64 {
        self.reanchors
    }

    /// Adds a piece to `lane`: `samples` (the mixer's channels per frame) whose first frame was
    /// captured at `start`; `now` is the recorder's clock.
    pub(crate) fn push(&mut self, lane: usize, start: Duration, samples: &[f32], now: Duration) {
        let channels = self.channels;
        let n = (samples.len() / channels) as i64;
        let lane_state = &mut self.lanes[lane];
        lane_state.last_delivery = Some(now);
        let stamped = frame_at(start);
        let mut first = match lane_state.next {
            Some(next) if (stamped - next).abs() <= frames(JITTER_TOLERANCE) => next,
            Some(_) => {
                self.reanchors += 1;
                stamped
            }
            None => stamped,
        };
        lane_state.next = Some(first + n);
        let mut samples = &samples[..n as usize * channels];
        // Frames already handed out, or already waiting (an overlap after a re-anchor), are dropped.
        let covered = self.out.unwrap_or(i64::MIN).max(if lane_state.samples.is_empty() {
            i64::MIN
        } else {
            lane_state.end(channels)
        });
        if first < covered {
            let skip = (covered - first).min(n);
            if self.out.is_some_and(|out| first < out) {
                self.late_frames += (self.out.unwrap_or(first) - first).min(n) as u64;
            }
            samples = &samples[skip as usize * channels..];
            first += skip;
        }
        if samples.is_empty() {
            return;
        }
        if lane_state.samples.is_empty() {
            lane_state.start = first;
        } else {
            let gap = first - lane_state.end(channels);
            lane_state
                .samples
                .extend(std::iter::repeat_n(0.0, gap as usize * channels));
        }
        lane_state.samples.extend(samples.iter().copied());
    }

    /// The frame up to which `lane` is complete at `now` (what it has not delivered by then is
    /// silence).
    fn ready_until(&self, lane: &Lane, now: Duration) -> i64 {
        let live = lane
            .last_delivery
            .is_some_and(|at| now.saturating_sub(at) < LIVE_WINDOW);
        let hold = if live { LIVE_HOLD } else { IDLE_HOLD };
        let waited = frame_at(now.saturating_sub(hold));
        if lane.samples.is_empty() && lane.next.is_none() {
            return waited;
        }
        let end = if lane.samples.is_empty() {
            lane.next.unwrap_or(waited)
        } else {
            lane.end(self.channels)
        };
        end.max(waited)
    }

    /// The next mixed chunk, if at least 10 ms are complete at `now`.
    pub(crate) fn take(&mut self, now: Duration) -> Option<AudioChunk> {
        let channels = self.channels;
        let out = match self.out {
            Some(out) => out,
            None => {
                let first_piece = self
                    .lanes
                    .iter()
                    .filter(|lane| !lane.samples.is_empty())
                    .map(|lane| lane.start)
                    .min();
                let start = first_piece
                    .or_else(|| (frame_at(now.saturating_sub(IDLE_HOLD)) >= self.opened).then_some(self.opened))?;
                self.out = Some(start);
                start
            }
        };
        let end = self
            .lanes
            .iter()
            .map(|lane| self.ready_until(lane, now))
            .min()?
            .min(out + MAX_CHUNK_FRAMES);
        if end - out < MIN_CHUNK_FRAMES {
            return None;
        }
        let mut samples = vec![0.0f32; (end - out) as usize * channels];
        for lane in &self.lanes {
            if lane.samples.is_empty() || lane.end(channels) <= out || lane.start >= end {
                continue;
            }
            for (i, frame) in samples.chunks_exact_mut(channels).enumerate() {
                for (c, sample) in frame.iter_mut().enumerate() {
                    *sample += lane.sample(out + i as i64, c, channels);
                }
            }
        }
        if self.lanes.len() > 1 {
            samples.iter_mut().for_each(|s| *s = s.clamp(-1.0, 1.0));
        }
        for lane in &mut self.lanes {
            lane.discard_before(end, channels);
        }
        self.out = Some(end);
        Some(AudioChunk {
            samples,
            channels: channels as u16,
            timestamp: Some(time_of(out)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn drain(mixer: &mut Mixer, now: Duration) -> Vec<AudioChunk> {
        std::iter::from_fn(|| mixer.take(now)).collect()
    }

    #[test]
    fn one_live_lane_passes_through_without_waiting() {
        let mut mixer = Mixer::new(1, 1, ms(0));
        mixer.push(0, ms(100), &[0.5; 960], ms(125));
        let chunks = drain(&mut mixer, ms(125));
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].timestamp, Some(ms(100)));
        assert_eq!(chunks[0].samples, vec![0.5; 960]);
        // Jitter within the tolerance: the next piece continues seamlessly.
        mixer.push(0, ms(121), &[0.25; 480], ms(140));
        let chunks = drain(&mut mixer, ms(140));
        assert_eq!(chunks[0].timestamp, Some(ms(120)));
        assert_eq!(chunks[0].samples.len(), 480);
        assert_eq!(mixer.reanchors(), 0);
    }

    #[test]
    fn two_lanes_are_summed_sample_by_sample() {
        let mut mixer = Mixer::new(2, 2, ms(0));
        mixer.push(0, ms(10), &[0.25; 960 * 2], ms(40));
        assert!(drain(&mut mixer, ms(40)).is_empty(), "waits for the other live lane");
        mixer.push(1, ms(20), &[0.5; 960 * 2], ms(41));
        let chunks = drain(&mut mixer, ms(41));
        let all: Vec<f32> = chunks.iter().flat_map(|c| c.samples.clone()).collect();
        assert_eq!(chunks[0].timestamp, Some(ms(10)));
        // 10..20 ms: lane 0 only; 20..30 ms both; lane 0 ends at 30 ms so output stops there.
        assert_eq!(all.len(), 960 * 2);
        assert!(all[..480 * 2].iter().all(|&s| s == 0.25));
        assert!(all[480 * 2..].iter().all(|&s| s == 0.75));
    }

    #[test]
    fn a_silent_lane_counts_as_silence_after_the_idle_hold() {
        let mut mixer = Mixer::new(2, 1, ms(0));
        mixer.push(1, ms(0), &[0.5; 4800], ms(110));
        assert!(
            drain(&mut mixer, ms(110)).is_empty(),
            "lane 0 has not been idle for long enough"
        );
        let chunks = drain(&mut mixer, ms(300));
        let total: usize = chunks.iter().map(|c| c.samples.len()).sum();
        assert_eq!(total, 4800, "up to lane 1's end (100 ms): lane 0 is silence");
        // Nothing anywhere: silence from the clock, up to now - IDLE_HOLD.
        let chunks = drain(&mut mixer, ms(2000));
        let last = chunks.last().unwrap();
        assert_eq!(
            time_of(frame_at(last.timestamp.unwrap()) + last.samples.len() as i64),
            ms(1850)
        );
        assert!(chunks.iter().all(|c| c.samples.iter().all(|&s| s == 0.0)));
    }

    #[test]
    fn nothing_at_all_still_gives_silence_from_the_open_time() {
        let mut mixer = Mixer::new(1, 1, ms(500));
        assert!(mixer.take(ms(600)).is_none());
        let chunk = mixer.take(ms(700)).unwrap();
        assert_eq!(chunk.timestamp, Some(ms(500)));
        assert_eq!(chunk.samples.len(), 2400);
    }

    #[test]
    fn gaps_become_silence_and_late_pieces_are_dropped() {
        let mut mixer = Mixer::new(1, 1, ms(0));
        mixer.push(0, ms(0), &[0.5; 480], ms(10));
        mixer.push(0, ms(110), &[0.5; 480], ms(120));
        assert_eq!(mixer.reanchors(), 1);
        let all: Vec<f32> = drain(&mut mixer, ms(120))
            .iter()
            .flat_map(|c| c.samples.clone())
            .collect();
        assert_eq!(all.len(), 480 * 12);
        assert!(all[480..480 * 11].iter().all(|&s| s == 0.0));
        // A piece for a time already handed out is dropped and counted.
        mixer.push(0, ms(50), &[0.5; 480], ms(130));
        assert_eq!(mixer.late_frames(), 480);
        assert!(mixer.take(ms(130)).is_none());
    }
}
