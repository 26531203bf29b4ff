//! Sound: where the recording's audio comes from. Every sound source sits behind [`AudioSource`].
//!
//! A source yields [`AudioEvent`]s: chunks of interleaved `f32` samples at [`AUDIO_RATE`], each
//! with the time of its first sample on the recorder's [`Clock`](crate::capture::Clock), "idle"
//! when nothing came within the poll timeout, warnings (a headset unplugged mid-class), and
//! "ended". This file holds only the shared vocabulary; [`CapturedAudio`] (system loopback and/or
//! microphone through cpal) lives in `device.rs`.

mod device;
mod device_mix;

use std::time::Duration;

pub use device::{list_audio_devices, AudioCapture, AudioDeviceInfo, AudioDeviceKind, Capture, CapturedAudio};

use crate::error::Result;

/// The audio track's sample rate: every source delivers 48 kHz.
pub const AUDIO_RATE: u32 = 48_000;

/// A run of samples from a source.
#[derive(Clone, Debug, PartialEq)]
pub struct AudioChunk {
    /// Interleaved samples at [`AUDIO_RATE`], `channels` per frame, nominally within -1.0..=1.0.
    pub samples: Vec<f32>,
    /// Samples per frame (1 or 2).
    pub channels: u16,
    /// The time of the first sample on the recorder's clock, where the source knows it; `None`
    /// means "right after the previous chunk".
    pub timestamp: Option<Duration>,
}

/// What a sound source has to say.
#[derive(Debug)]
pub enum AudioEvent {
    /// New samples.
    Chunk(AudioChunk),
    /// Nothing new within the poll timeout.
    Idle,
    /// Something the user should know, the recording continues (a device gone or back).
    Warning(String),
    /// The source is finished (input ran out); the reason is shown to the user.
    Ended(String),
}

/// A producer of sound. Implemented by the captured, synthetic, raw and pushed sources.
pub trait AudioSource: Send {
    /// Samples per frame of every chunk this source yields.
    fn channels(&self) -> u16;

    /// Waits at most `timeout` for the next event. Errors end the sound track.
    fn next_event(&mut self, timeout: Duration) -> Result<AudioEvent>;

    /// The source's current time on the recorder's clock for real-time sources; `None` for
    /// sources whose timestamps are virtual.
    fn now(&self) -> Option<Duration>;
}
