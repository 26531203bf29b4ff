//! Sound capture: where the audio track's samples come from. Every source sits behind
//! [`AudioSource`], like frame sources behind [`FrameSource`](super::FrameSource).
//!
//! Sources deliver interleaved f32 samples at [`AUDIO_RATE`] in [`AudioChunk`]s stamped on the
//! recorder's [`Clock`](super::Clock) (or contiguous, for virtual-time sources);
//! [`AudioTimeline`] turns them into one gapless stream whose position is the sample count.

mod device;
mod device_find;
mod device_mix;
mod device_stream;
mod device_thread;
mod open;
mod pushed;
mod raw;
mod resample;
mod synthetic;
#[cfg(test)]
pub(crate) mod test_signal;
mod timeline;

use std::time::Duration;

pub use device::{list_audio_devices, AudioCapture, AudioDeviceInfo, AudioDeviceKind, Capture, CapturedAudio};
pub(crate) use open::open_audio;
pub use open::AudioSourceConfig;
pub use pushed::{AudioPusher, PushedAudio};
pub use raw::{PcmFormat, RawAudio};
pub use synthetic::{SyntheticAudio, SyntheticSound};
pub use timeline::{AudioTimeline, AudioTimelineStats};

use crate::error::{Error, Result};

/// The sound track's sample rate (Hz): every source delivers this rate.
pub const AUDIO_RATE: u32 = 48_000;

/// The sample rates accepted for raw and pushed PCM (Hz), resampled to [`AUDIO_RATE`].
pub const INPUT_RATES: std::ops::RangeInclusive<u32> = 8_000..=48_000;

/// A run of samples from a source.
#[derive(Clone, Debug, PartialEq)]
pub struct AudioChunk {
    /// Interleaved samples at [`AUDIO_RATE`], nominally within [-1, 1].
    pub samples: Vec<f32>,
    /// 1 or 2.
    pub channels: u16,
    /// The first sample's time on the recorder's clock (`crate::capture::Clock`); `None`: right
    /// after the previous chunk.
    pub timestamp: Option<Duration>,
}

impl AudioChunk {
    /// Sample frames (one sample per channel) in the chunk.
    pub fn frames(&self) -> usize {
        self.samples.len() / usize::from(self.channels.max(1))
    }
}

/// What an audio source has to say.
#[derive(Clone, Debug, PartialEq)]
pub enum AudioEvent {
    /// New samples.
    Chunk(AudioChunk),
    /// Nothing within the timeout.
    Idle,
    /// Something the user should know that does not stop the recording (a device lost, or back);
    /// the recording continues, with silence while the device is gone.
    Warning(String),
    /// The source is finished (input ended, pusher dropped); the reason is shown to the user.
    Ended(String),
}

/// A producer of sound. Implemented by the synthetic, raw and pushed sources (and, later, device
/// capture).
pub trait AudioSource: Send {
    /// The channel count of the chunks this source delivers (1 or 2).
    fn channels(&self) -> u16;

    /// Waits at most `timeout` for the next event. Errors end the audio (what was recorded is kept).
    fn next_event(&mut self, timeout: Duration) -> Result<AudioEvent>;

    /// The recorder clock's current time, for real-time sources; `None` for virtual-time sources
    /// (files, fast synthetic).
    fn now(&self) -> Option<Duration>;
}

/// PCM samples as a host hands them over.
#[derive(Clone, Copy, Debug)]
pub enum Pcm<'a> {
    /// Signed 16-bit samples, interleaved.
    S16(&'a [i16]),
    /// 32-bit float samples in [-1, 1], interleaved.
    F32(&'a [f32]),
}

impl Pcm<'_> {
    /// Samples (all channels counted).
    pub fn len(&self) -> usize {
        match self {
            Pcm::S16(s) => s.len(),
            Pcm::F32(s) => s.len(),
        }
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The samples as f32.
    fn to_f32(self) -> Vec<f32> {
        match self {
            Pcm::S16(s) => s.iter().map(|&x| f32::from(x) / 32768.0).collect(),
            Pcm::F32(s) => s.to_vec(),
        }
    }
}

/// Checks a PCM description against what we accept (8-48 kHz, 1 or 2 channels).
pub(crate) fn check_pcm(sample_rate: u32, channels: u16) -> Result<()> {
    if !INPUT_RATES.contains(&sample_rate) {
        return Err(Error::InvalidAudio(format!(
            "sample rate {sample_rate} Hz; give the PCM's real rate, from {} to {} Hz (it is resampled to {AUDIO_RATE})",
            INPUT_RATES.start(),
            INPUT_RATES.end()
        )));
    }
    if !(1..=2).contains(&channels) {
        return Err(Error::InvalidAudio(format!(
            "{channels} channels; pass mono (1) or stereo (2) interleaved PCM (downmix more channels first)"
        )));
    }
    Ok(())
}

/// Converts interleaved samples between mono and stereo: stereo to mono averages the two
/// channels; mono to stereo copies the one.
pub(crate) fn convert_channels(samples: Vec<f32>, from: u16, to: u16) -> Vec<f32> {
    match (from, to) {
        (2, 1) => samples.chunks_exact(2).map(|lr| 0.5 * (lr[0] + lr[1])).collect(),
        (1, 2) => samples.iter().flat_map(|&x| [x, x]).collect(),
        _ => samples,
    }
}

/// The time of sample frame `n` at [`AUDIO_RATE`].
pub(crate) fn frames_to_time(n: u64) -> Duration {
    Duration::from_nanos((u128::from(n) * 1_000_000_000 / u128::from(AUDIO_RATE)) as u64)
}

/// The sample frame (at [`AUDIO_RATE`]) at time `t`, rounded down.
pub(crate) fn time_to_frames(t: Duration) -> u64 {
    u64::try_from(t.as_nanos() * u128::from(AUDIO_RATE) / 1_000_000_000).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcm_checks_name_the_fix() {
        assert!(check_pcm(8_000, 1).is_ok() && check_pcm(48_000, 2).is_ok());
        let err = check_pcm(96_000, 2).unwrap_err().to_string();
        assert!(err.contains("96000 Hz") && err.contains("8000 to 48000"), "{err}");
        let err = check_pcm(48_000, 6).unwrap_err().to_string();
        assert!(err.contains("6 channels") && err.contains("downmix"), "{err}");
    }

    #[test]
    fn channel_conversion_and_sample_formats() {
        assert_eq!(convert_channels(vec![0.2, 0.4, 1.0, 0.0], 2, 1), vec![0.3f32, 0.5]);
        assert_eq!(convert_channels(vec![0.1, 0.2], 1, 2), vec![0.1f32, 0.1, 0.2, 0.2]);
        assert_eq!(Pcm::S16(&[16384, -32768]).to_f32(), vec![0.5, -1.0]);
        assert_eq!(frames_to_time(48_000), Duration::from_secs(1));
    }
}
