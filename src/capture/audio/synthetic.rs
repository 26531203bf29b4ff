//! Generated sound: a steady tone, or a "clapper" that beeps at every whole second (the synthetic
//! video's [`SyntheticScene::Clapper`](crate::capture::SyntheticScene::Clapper) flashes white at
//! the same instants, so a test can measure audio/video sync from the decoded file).
//!
//! Sample `n` is always the same value, so tests can regenerate the exact input.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{frames_to_time, time_to_frames, AudioChunk, AudioEvent, AudioSource, AUDIO_RATE};
use crate::capture::Clock;
use crate::error::Result;

/// Amplitude of the tone and the beep: -12 dBFS.
pub const SYNTHETIC_LEVEL: f32 = 0.251_188_64;

/// Frequency of the steady tone (Hz).
pub const TONE_HZ: u32 = 440;

/// Frequency of the clapper's beep (Hz): a whole number of periods (48 samples) per beep.
pub const BEEP_HZ: u32 = 1_000;

/// Length of the clapper's beep, from every whole second.
pub const BEEP: Duration = Duration::from_millis(100);

/// Sample frames per chunk: 10 ms, what a sound device typically delivers.
const CHUNK_FRAMES: u64 = AUDIO_RATE as u64 / 100;

/// The most a real-time source catches up with in one chunk (after a stall): 200 ms.
const MAX_CATCH_UP: u64 = AUDIO_RATE as u64 / 5;

/// What the synthetic audio source plays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyntheticSound {
    /// A steady 440 Hz tone at -12 dBFS.
    #[default]
    Tone,
    /// A 1 kHz beep at -12 dBFS for the first 100 ms of every whole second (sample-exact: beep
    /// `k` starts at sample `k * 48000`), silence otherwise.
    Clapper,
}

impl SyntheticSound {
    /// Sample `n` (mono).
    pub fn sample(self, n: u64) -> f32 {
        let rate = u64::from(AUDIO_RATE);
        let (freq, phase_frames) = match self {
            SyntheticSound::Tone => (TONE_HZ, n % rate),
            SyntheticSound::Clapper => {
                let into_second = n % rate;
                if into_second >= rate * BEEP.as_millis() as u64 / 1000 {
                    return 0.0;
                }
                (BEEP_HZ, into_second)
            }
        };
        // Whole-number frequencies repeat every second, so the phase stays exact forever.
        let phase = 2.0 * std::f64::consts::PI * f64::from(freq) * phase_frames as f64 / rate as f64;
        SYNTHETIC_LEVEL * phase.sin() as f32
    }
}

/// Generates [`SyntheticSound`] at 48 kHz, in real time on a [`Clock`] or as fast as it is read.
#[derive(Debug)]
pub struct SyntheticAudio {
    sound: SyntheticSound,
    channels: u16,
    /// `None`: virtual time (as fast as the consumer takes it).
    clock: Option<Clock>,
    /// Sample frames in all, after which the source ends.
    limit: Option<u64>,
    /// The next sample frame.
    next: u64,
}

impl SyntheticAudio {
    /// A source of `channels` (1 or 2; the same signal in both) playing `sound`. With `clock`, it
    /// delivers in real time (chunks of ~10 ms as they fall due); without, as fast as it is read.
    /// `limit` ends it after that much sound.
    pub fn new(sound: SyntheticSound, channels: u16, clock: Option<Clock>, limit: Option<Duration>) -> Self {
        SyntheticAudio {
            sound,
            channels: channels.clamp(1, 2),
            clock,
            limit: limit.map(time_to_frames),
            next: 0,
        }
    }

    fn chunk(&mut self, frames: u64) -> AudioChunk {
        let start = self.next;
        let samples = (start..start + frames)
            .flat_map(|n| std::iter::repeat_n(self.sound.sample(n), usize::from(self.channels)))
            .collect();
        self.next += frames;
        AudioChunk {
            samples,
            channels: self.channels,
            timestamp: Some(frames_to_time(start)),
        }
    }
}

impl AudioSource for SyntheticAudio {
    fn channels(&self) -> u16 {
        self.channels
    }

    fn next_event(&mut self, timeout: Duration) -> Result<AudioEvent> {
        let left = self.limit.map_or(u64::MAX, |l| l.saturating_sub(self.next));
        if left == 0 {
            return Ok(AudioEvent::Ended(format!(
                "synthetic sound finished after {:.3} s",
                self.next as f64 / f64::from(AUDIO_RATE)
            )));
        }
        let Some(clock) = self.clock else {
            return Ok(AudioEvent::Chunk(self.chunk(CHUNK_FRAMES.min(left))));
        };
        // Real time: deliver what has fallen due, once a whole chunk has.
        let due_frames = time_to_frames;
        let wake = frames_to_time(self.next + CHUNK_FRAMES);
        let now = clock.now();
        if now < wake {
            let sleep = wake - now;
            if sleep > timeout {
                std::thread::sleep(timeout);
                return Ok(AudioEvent::Idle);
            }
            std::thread::sleep(sleep);
        }
        let due = due_frames(clock.now()).saturating_sub(self.next);
        Ok(AudioEvent::Chunk(
            self.chunk(due.clamp(CHUNK_FRAMES, MAX_CATCH_UP).min(left)),
        ))
    }

    fn now(&self) -> Option<Duration> {
        self.clock.map(|c| c.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::audio::test_signal::{dominant_frequency, level_at};

    #[test]
    fn clapper_beeps_for_100_ms_from_every_whole_second() {
        let s = SyntheticSound::Clapper;
        for k in [0u64, 1, 7, 3_600] {
            let start = k * 48_000;
            assert_eq!(s.sample(start - u64::from(k > 0)), 0.0, "silent just before beep {k}");
            assert_eq!(s.sample(start), 0.0, "the sine starts at phase 0");
            assert!(s.sample(start + 12).abs() > 0.25, "a quarter period in: the peak");
            assert!((start + 1..start + 4_800).any(|n| s.sample(n) != 0.0));
            assert!(
                (start + 4_800..start + 48_000).all(|n| s.sample(n) == 0.0),
                "silent after 100 ms"
            );
        }
        let beep: Vec<f32> = (0..4_800).map(|n| s.sample(n)).collect();
        assert!((dominant_frequency(&beep, 48_000) - 1000.0).abs() < 0.5);
        assert!((level_at(&beep, 1000.0, 48_000) - SYNTHETIC_LEVEL).abs() < 1e-3);
    }

    #[test]
    fn tone_is_440_hz_at_minus_12_dbfs() {
        let tone: Vec<f32> = (0..48_000).map(|n| SyntheticSound::Tone.sample(n)).collect();
        assert!((dominant_frequency(&tone, 48_000) - 440.0).abs() < 0.1);
        let db = 20.0 * level_at(&tone, 440.0, 48_000).log10();
        assert!((db + 12.0).abs() < 0.05, "{db} dBFS");
        assert_eq!(SyntheticSound::Tone.sample(5), SyntheticSound::Tone.sample(48_005));
    }

    #[test]
    fn fast_mode_is_contiguous_stereo_and_ends_at_its_limit() {
        let mut s = SyntheticAudio::new(SyntheticSound::Clapper, 2, None, Some(Duration::from_millis(25)));
        let mut frames = 0;
        let mut stamps = Vec::new();
        while let AudioEvent::Chunk(c) = s.next_event(Duration::ZERO).unwrap() {
            assert_eq!(c.channels, 2);
            assert!(c.samples.chunks_exact(2).all(|lr| lr[0] == lr[1]));
            stamps.push(c.timestamp.unwrap());
            frames += c.frames();
        }
        assert_eq!(frames, 1_200);
        assert_eq!(stamps, [0, 10, 20].map(Duration::from_millis));
        assert!(s.now().is_none());
    }

    #[test]
    fn real_time_mode_keeps_pace_with_the_clock() {
        let clock = Clock::start();
        let mut s = SyntheticAudio::new(SyntheticSound::Tone, 1, Some(clock), None);
        let mut frames = 0u64;
        while clock.now() < Duration::from_millis(200) {
            match s.next_event(Duration::from_millis(50)).unwrap() {
                AudioEvent::Chunk(c) => {
                    assert_eq!(c.timestamp, Some(frames_to_time(frames)), "contiguous");
                    frames += c.frames() as u64;
                }
                AudioEvent::Idle => {}
                other => panic!("{other:?}"),
            }
        }
        let behind = clock.now().as_secs_f64() - frames as f64 / 48_000.0;
        assert!((0.0..0.05).contains(&behind), "{behind} s behind the clock");
    }
}
