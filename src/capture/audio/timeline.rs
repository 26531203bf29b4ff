//! The audio timeline: timestamped chunks in, one continuous 48 kHz stream out, whose position is
//! the sample count (sample 0 is time 0 of the recording), so the muxer's `tfdt` is that count and
//! never wall time.
//!
//! Each chunk's timestamp is compared with where its first sample would land:
//! * off by less than [`GAP`] (70 ms): jitter, absorbed; the average error steers a resampler
//!   that stretches or squeezes the stream by at most [`MAX_CORRECTION_PPM`], so a device clock
//!   that runs fast or slow against the recorder's is followed without a click (0.2% is 3.5 cents
//!   of pitch, far below what anyone hears);
//! * later by more: the gap becomes silence;
//! * earlier by more: the overlapping samples are dropped.
//!
//! [`AudioTimeline::fill_until`] pads silence up to a time (loopback devices deliver nothing while
//! nothing plays; and at stop). Everything passes through the resampler, at ratio 1 when there is
//! no drift, so the stream has one path and no seams.

use std::time::Duration;

use super::resample::StreamResampler;
use super::{convert_channels, AudioChunk, AUDIO_RATE};
use crate::error::{Error, Result};

/// Timestamp errors up to this are jitter; beyond, a gap (silence) or an overlap (dropped).
pub const GAP: Duration = Duration::from_millis(70);

/// The largest drift correction (parts per million of speed).
pub const MAX_CORRECTION_PPM: f64 = 2_000.0;

/// How fast the drift correction acts: an average error of `e` frames asks for a speed change
/// that would remove it in this time (10 s). A steady drift of `d` ppm then leaves a steady error
/// of `d * 10 s` (2 ms at 200 ppm).
const CORRECTION_SECONDS: f64 = 10.0;

/// The time over which timestamp errors are averaged (2 s), so that jitter barely moves the ratio.
const AVERAGE_SECONDS: f64 = 2.0;

/// What the timeline did to the stream, in sample frames (one sample per channel) at 48 kHz.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AudioTimelineStats {
    /// Frames received in chunks.
    pub samples_in: u64,
    /// Frames of silence inserted for gaps (and by [`AudioTimeline::fill_until`]).
    pub gap_filled: u64,
    /// Frames dropped because they overlapped what was already placed.
    pub dropped: u64,
    /// Frames added (positive) or removed (negative) by drift correction.
    pub drift_corrected: i64,
}

/// See the module docs.
#[derive(Debug)]
pub struct AudioTimeline {
    channels: u16,
    resampler: StreamResampler,
    /// Where the next frame fed to the resampler will land in the output (fractional frames).
    landing: f64,
    /// The relative speed applied (1.0 = none).
    speed: f64,
    /// The averaged timestamp error in frames (positive: audio arrives later than it lands).
    error: Option<f64>,
    stats: AudioTimelineStats,
    /// Frames given out so far.
    position: u64,
    /// Whether anything has been placed yet (the first chunk is placed exactly).
    started: bool,
    finished: bool,
}

fn seconds_to_frames(t: Duration) -> f64 {
    t.as_secs_f64() * f64::from(AUDIO_RATE)
}

impl AudioTimeline {
    /// A timeline for a track of `channels` (1 or 2).
    pub fn new(channels: u16) -> Result<Self> {
        if !(1..=2).contains(&channels) {
            return Err(Error::InvalidAudio(format!(
                "{channels} channels; the track is mono (1) or stereo (2)"
            )));
        }
        Ok(AudioTimeline {
            channels,
            resampler: StreamResampler::new(AUDIO_RATE, AUDIO_RATE, channels)?,
            landing: 0.0,
            speed: 1.0,
            error: None,
            stats: AudioTimelineStats::default(),
            position: 0,
            started: false,
            finished: false,
        })
    }

    /// Places a chunk (converted to the track's channel count), appending the samples now ready
    /// to `out` (interleaved; they continue the stream exactly where the last call left it).
    pub fn push(&mut self, chunk: &AudioChunk, out: &mut Vec<f32>) -> Result<()> {
        self.check_open()?;
        let converted;
        let samples = if chunk.channels == self.channels {
            &chunk.samples[..]
        } else {
            converted = convert_channels(chunk.samples.clone(), chunk.channels, self.channels);
            &converted[..]
        };
        let ch = usize::from(self.channels);
        let frames = samples.len() / ch;
        self.stats.samples_in += frames as u64;
        let mut skip = 0;
        if let Some(t) = chunk.timestamp {
            let error = seconds_to_frames(t) - self.landing;
            let gap = seconds_to_frames(GAP);
            if !self.started && error >= 1.0 || error > gap {
                self.silence(error, out)?;
                self.error = None;
            } else if error < -gap {
                skip = ((-error).round() as usize).min(frames);
                self.stats.dropped += skip as u64;
                self.error = None;
            } else {
                self.steer(error, frames)?;
            }
        }
        self.started = true;
        if skip < frames {
            self.feed(&samples[skip * ch..frames * ch], out)?;
        }
        Ok(())
    }

    /// Pads silence so that the stream reaches time `t` (nothing happens if it is already there).
    /// For a loopback device that is silent while nothing plays, call it with a margin (e.g. the
    /// clock's time minus 100 ms), so that audio merely late is not displaced.
    pub fn fill_until(&mut self, t: Duration, out: &mut Vec<f32>) -> Result<()> {
        self.check_open()?;
        let missing = seconds_to_frames(t) - self.landing;
        if missing >= 1.0 {
            self.silence(missing, out)?;
        }
        self.started = true;
        Ok(())
    }

    /// Ends the stream: pads silence up to `t` (if given) and gives out every sample still in
    /// the resampler. The timeline takes nothing afterwards.
    pub fn finish(&mut self, t: Option<Duration>, out: &mut Vec<f32>) -> Result<()> {
        if let Some(t) = t {
            self.fill_until(t, out)?;
        }
        self.check_open()?;
        self.finished = true;
        let before = out.len();
        self.resampler.flush_to(self.landing.round() as u64, out)?;
        self.position += ((out.len() - before) / usize::from(self.channels)) as u64;
        Ok(())
    }

    /// Frames given out so far: the next frame's position (its time is `position / 48000` s).
    pub fn position(&self) -> u64 {
        self.position
    }

    /// What the timeline did to the stream so far.
    pub fn stats(&self) -> AudioTimelineStats {
        let placed = self.stats.samples_in + self.stats.gap_filled - self.stats.dropped;
        AudioTimelineStats {
            drift_corrected: self.landing.round() as i64 - placed as i64,
            ..self.stats
        }
    }

    /// The speed correction now applied, in ppm (positive: the stream is stretched).
    pub fn correction_ppm(&self) -> f64 {
        (self.speed - 1.0) * 1e6
    }

    fn check_open(&self) -> Result<()> {
        if self.finished {
            return Err(Error::Internal("audio timeline used after finish".into()));
        }
        Ok(())
    }

    /// Feeds `frames` output frames' worth of silence.
    fn silence(&mut self, frames: f64, out: &mut Vec<f32>) -> Result<()> {
        let n = (frames / self.speed).round() as usize;
        self.stats.gap_filled += n as u64;
        // In pieces of a second, so a long gap needs no huge buffer.
        let piece = vec![0.0; AUDIO_RATE as usize * usize::from(self.channels)];
        let mut left = n * usize::from(self.channels);
        while left > 0 {
            let take = left.min(piece.len());
            self.feed(&piece[..take], out)?;
            left -= take;
        }
        Ok(())
    }

    fn feed(&mut self, samples: &[f32], out: &mut Vec<f32>) -> Result<()> {
        let frames = samples.len() / usize::from(self.channels);
        self.landing += frames as f64 * self.speed;
        let before = out.len();
        self.resampler.process(samples, out)?;
        self.position += ((out.len() - before) / usize::from(self.channels)) as u64;
        Ok(())
    }

    /// Folds a timestamp error (frames) into the average and sets the speed from it.
    fn steer(&mut self, error: f64, frames: usize) -> Result<()> {
        let weight = 1.0 - (-(frames as f64) / (AVERAGE_SECONDS * f64::from(AUDIO_RATE))).exp();
        let average = match self.error {
            Some(avg) => avg + weight * (error - avg),
            None => error,
        };
        self.error = Some(average);
        let limit = MAX_CORRECTION_PPM * 1e-6;
        let speed = 1.0 + (average / (CORRECTION_SECONDS * f64::from(AUDIO_RATE))).clamp(-limit, limit);
        if (speed - self.speed).abs() > 1e-7 {
            self.speed = speed;
            self.resampler.set_relative_ratio(speed)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::audio::frames_to_time;

    /// A continuous 440 Hz sine at amplitude 0.5, sample `n` of the device's own count.
    fn sine(n: u64) -> f32 {
        0.5 * (2.0 * std::f64::consts::PI * 440.0 * (n % 48_000) as f64 / 48_000.0).sin() as f32
    }

    fn chunk(from: u64, frames: u64, t: Option<Duration>) -> AudioChunk {
        AudioChunk {
            samples: (from..from + frames).map(sine).collect(),
            channels: 1,
            timestamp: t,
        }
    }

    /// Watches the output for discontinuities: a 440 Hz sine at 0.5 moves at most 0.0288 per
    /// sample, so a bigger step is a gap, a click or a seam.
    #[derive(Default)]
    struct Watch {
        last: Option<f32>,
        worst_step: f32,
        worst_at: u64,
        frames: u64,
    }

    impl Watch {
        fn see(&mut self, out: &mut Vec<f32>) {
            for &x in out.iter() {
                // (The first millisecond rings as the filter meets the sine's abrupt start.)
                if let Some(last) = self.last.filter(|_| self.frames > 48) {
                    if (x - last).abs() > self.worst_step {
                        self.worst_step = (x - last).abs();
                        self.worst_at = self.frames;
                    }
                }
                self.frames += 1;
                self.last = Some(x);
            }
            out.clear();
        }
    }

    /// A tiny deterministic random generator for jitter.
    struct Lcg(u64);
    impl Lcg {
        fn unit(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    #[test]
    fn a_clock_200_ppm_fast_is_followed_for_10_minutes_without_gaps_or_clicks() {
        let mut timeline = AudioTimeline::new(1).unwrap();
        let mut watch = Watch::default();
        let mut out = Vec::new();
        // The device delivers 480 of its samples per chunk; its clock runs 200 ppm fast, so its
        // 48000 samples take 1/1.0002 s of the recorder's clock.
        let device_rate = 48_000.0 * 1.0002;
        let mut rng = Lcg(7);
        let mut n = 0u64;
        let wall = 600.0;
        while (n + 480) as f64 / device_rate <= wall {
            let jitter = (rng.unit() - 0.5) * 0.004; // ±2 ms arrival noise
            let t = (n as f64 / device_rate + jitter).max(0.0);
            timeline
                .push(&chunk(n, 480, Some(Duration::from_secs_f64(t))), &mut out)
                .unwrap();
            watch.see(&mut out);
            n += 480;
        }
        let end = n as f64 / device_rate;
        timeline.finish(None, &mut out).unwrap();
        // The last millisecond fades as the filter runs into the silence after the input's end.
        let mut tail = out.split_off(out.len().saturating_sub(48));
        watch.see(&mut out);
        watch.frames += tail.len() as u64;
        tail.clear();
        let stats = timeline.stats();
        let off_ms = (watch.frames as f64 / 48_000.0 - end) * 1000.0;
        eprintln!(
            "200 ppm: {} device frames -> {} out, off by {off_ms:.2} ms, correction {:.0} ppm, stats {stats:?}, worst step {}",
            n,
            watch.frames,
            timeline.correction_ppm(),
            watch.worst_step
        );
        assert!(off_ms.abs() < 20.0, "ends {off_ms} ms off the wall clock");
        assert_eq!((stats.gap_filled, stats.dropped), (0, 0), "no silence, nothing dropped");
        assert!(
            stats.drift_corrected < -5_000,
            "~120 ms (5760 frames) squeezed out: {stats:?}"
        );
        assert!(
            watch.worst_step < 0.0295,
            "a discontinuity: step {} at {}",
            watch.worst_step,
            watch.worst_at
        );
        assert_eq!(timeline.position(), watch.frames);
    }

    #[test]
    fn a_100_ms_gap_becomes_silence_and_what_follows_keeps_its_time() {
        let mut timeline = AudioTimeline::new(1).unwrap();
        let mut out = Vec::new();
        for k in 0..100 {
            timeline
                .push(&chunk(k * 480, 480, Some(frames_to_time(k * 480))), &mut out)
                .unwrap();
        }
        // The next chunk arrives stamped 1.1 s: 100 ms are missing.
        for k in 110..150 {
            timeline
                .push(&chunk(k * 480, 480, Some(frames_to_time(k * 480))), &mut out)
                .unwrap();
        }
        timeline.finish(None, &mut out).unwrap();
        assert_eq!(out.len(), 150 * 480);
        assert_eq!(timeline.stats().gap_filled, 4_800);
        assert!(out[48_100..52_700].iter().all(|x| x.abs() < 1e-3), "silence in the gap");
        // Around the gap the sine resumes in phase with where it belongs.
        for j in (52_900..72_000).step_by(97) {
            assert!((out[j] - sine(j as u64)).abs() < 0.01, "sample {j}");
        }
        for j in (100..47_900).step_by(89) {
            assert!((out[j] - sine(j as u64)).abs() < 0.01, "sample {j}");
        }
    }

    #[test]
    fn overlaps_are_dropped() {
        let mut timeline = AudioTimeline::new(1).unwrap();
        let mut out = Vec::new();
        timeline
            .push(&chunk(0, 48_000, Some(Duration::ZERO)), &mut out)
            .unwrap();
        // 200 ms stamped 0.9 s: its first 100 ms overlap the first second.
        timeline
            .push(&chunk(43_200, 9_600, Some(Duration::from_millis(900))), &mut out)
            .unwrap();
        timeline.finish(None, &mut out).unwrap();
        let stats = timeline.stats();
        assert_eq!((stats.dropped, stats.gap_filled, stats.samples_in), (4_800, 0, 57_600));
        assert_eq!(out.len(), 52_800);
        for j in (100..52_700).step_by(101) {
            assert!((out[j] - sine(j as u64)).abs() < 0.01, "sample {j}");
        }
    }

    #[test]
    fn jitter_of_20_ms_inserts_no_silence() {
        let mut timeline = AudioTimeline::new(2).unwrap();
        let mut watch = Watch::default();
        let mut out = Vec::new();
        let mut rng = Lcg(42);
        for k in 0..6_000u64 {
            // 60 s of 10 ms chunks, each stamped up to 20 ms early or late (but the first, which
            // is placed exactly: the recorder starts the audio at 0).
            let jitter = if k == 0 { 0.0 } else { (rng.unit() - 0.5) * 0.040 };
            let t = ((k * 480) as f64 / 48_000.0 + jitter).max(0.0);
            let mono = chunk(k * 480, 480, Some(Duration::from_secs_f64(t)));
            timeline.push(&mono, &mut out).unwrap(); // mono into a stereo timeline
            let left: Vec<f32> = out.iter().step_by(2).copied().collect();
            out.clear();
            watch.see(&mut left.clone());
        }
        timeline.finish(None, &mut out).unwrap();
        let stats = timeline.stats();
        assert_eq!((stats.gap_filled, stats.dropped), (0, 0), "{stats:?}");
        assert!(stats.drift_corrected.abs() < 48, "no drift to correct: {stats:?}");
        assert!(
            watch.worst_step < 0.0295,
            "step {} at {}",
            watch.worst_step,
            watch.worst_at
        );
    }

    #[test]
    fn fill_until_pads_silence_and_the_first_chunk_lands_at_its_time() {
        let mut timeline = AudioTimeline::new(1).unwrap();
        let mut out = Vec::new();
        // A first chunk stamped 30 ms: placed exactly, after 30 ms of silence.
        timeline
            .push(&chunk(0, 480, Some(Duration::from_millis(30))), &mut out)
            .unwrap();
        // A loopback device goes quiet: the recorder pads up to 1 s, then stops at 1.5 s.
        timeline.fill_until(Duration::from_secs(1), &mut out).unwrap();
        timeline.finish(Some(Duration::from_millis(1_500)), &mut out).unwrap();
        assert_eq!(out.len(), 72_000);
        assert_eq!(timeline.position(), 72_000);
        assert_eq!(timeline.stats().gap_filled, 72_000 - 480);
        assert!(out[..1_400].iter().all(|x| x.abs() < 1e-3));
        assert!(out[1_500..1_900].iter().any(|x| x.abs() > 0.2));
        assert!(timeline.push(&chunk(0, 1, None), &mut out).is_err(), "finished");
    }
}
