//! Which sound to record ([`AudioSourceConfig`], part of the recorder's JSON configuration) and
//! [`open_audio`], which builds the source.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{
    AudioCapture, AudioPusher, AudioSource, Capture, PcmFormat, PushedAudio, RawAudio, SyntheticAudio, SyntheticSound,
};
use crate::capture::Clock;
use crate::error::Result;

/// Where the sound comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AudioSourceConfig {
    /// Generated sound (a tone, or the clapper's beeps that match the synthetic video's flashes).
    /// It runs in real time when the picture's source does, else as fast as it is read.
    Synthetic {
        /// Which sound.
        #[serde(default)]
        sound: SyntheticSound,
    },
    /// Raw PCM from a file or `-` (standard input), resampled to 48 kHz.
    Raw {
        /// File path, or `-` for standard input.
        path: PathBuf,
        /// `s16le` or `f32le`.
        #[serde(default)]
        format: PcmFormat,
        /// Sample rate, 8000 to 48000 Hz.
        rate: u32,
        /// 1 or 2.
        channels: u16,
    },
    /// PCM pushed by the host (`Recorder::audio_pusher`, `classrec_recorder_push_audio`): the
    /// recommended path for the classroom client, which holds the call's echo-cancelled mix.
    #[serde(deserialize_with = "crate::capture::no_fields")]
    Pushed,
    /// Captured from devices: the system audio (loopback), the microphone, or both mixed.
    Capture {
        /// `system`, `mic` or `system_and_mic`.
        input: Capture,
        /// The output device whose loopback is recorded (name or id); default: the default output.
        #[serde(default)]
        system_device: Option<String>,
        /// The microphone (name or id); default: the default input.
        #[serde(default)]
        mic_device: Option<String>,
    },
}

/// Builds the sound source `config` names, delivering `channels`, on the recording's `clock`.
/// `realtime` says whether the picture's source runs in real time (a synthetic sound follows
/// it). A pushed source also returns the handle the host pushes through.
pub(crate) fn open_audio(
    config: &AudioSourceConfig,
    channels: u16,
    clock: Clock,
    realtime: bool,
) -> Result<(Box<dyn AudioSource>, Option<AudioPusher>)> {
    Ok(match config {
        AudioSourceConfig::Synthetic { sound } => (
            Box::new(SyntheticAudio::new(
                *sound,
                channels,
                realtime.then_some(clock),
                None::<Duration>,
            )),
            None,
        ),
        AudioSourceConfig::Raw {
            path,
            format,
            rate,
            channels: input_channels,
        } => (Box::new(RawAudio::open(path, *format, *rate, *input_channels)?), None),
        AudioSourceConfig::Pushed => {
            let (pusher, source) = PushedAudio::new(channels, clock)?;
            (Box::new(source), Some(pusher))
        }
        AudioSourceConfig::Capture {
            input,
            system_device,
            mic_device,
        } => (
            Box::new(AudioCapture::open(
                *input,
                channels,
                clock,
                system_device.as_deref(),
                mic_device.as_deref(),
            )?),
            None,
        ),
    })
}
