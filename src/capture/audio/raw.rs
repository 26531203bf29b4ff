//! Raw PCM from a file or standard input (`s16le` or `f32le`, any rate from 8 to 48 kHz, mono or
//! stereo), resampled to 48 kHz, so that any tool can feed identical input
//! (`ffmpeg -i talk.wav -f s16le -ar 16000 -ac 1 -`). Virtual time: the samples follow one another.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::resample::StreamResampler;
use super::{check_pcm, AudioChunk, AudioEvent, AudioSource, AUDIO_RATE};
use crate::error::{Error, Result};

/// The sample format of raw PCM.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PcmFormat {
    /// Signed 16-bit little-endian (FFmpeg's `s16le`).
    #[default]
    S16le,
    /// 32-bit float little-endian in [-1, 1] (FFmpeg's `f32le`).
    F32le,
}

impl PcmFormat {
    /// Bytes per sample.
    pub fn bytes(self) -> usize {
        match self {
            PcmFormat::S16le => 2,
            PcmFormat::F32le => 4,
        }
    }
}

/// Frames read at a time: 20 ms at 48 kHz.
const READ_FRAMES: usize = 960;

/// Reads raw PCM and delivers it at 48 kHz.
pub struct RawAudio {
    input: Box<dyn Read + Send>,
    format: PcmFormat,
    rate: u32,
    channels: u16,
    /// `None` when the input is already at 48 kHz.
    resampler: Option<StreamResampler>,
    /// Bytes read at a time.
    read_bytes: usize,
    frames_read: u64,
    ended: bool,
}

impl std::fmt::Debug for RawAudio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawAudio")
            .field("format", &self.format)
            .field("rate", &self.rate)
            .field("channels", &self.channels)
            .field("frames_read", &self.frames_read)
            .finish()
    }
}

impl RawAudio {
    /// Opens `path` (`-` for stdin) holding `format` PCM at `rate` Hz with `channels` (1 or 2).
    pub fn open(path: &Path, format: PcmFormat, rate: u32, channels: u16) -> Result<Self> {
        check_pcm(rate, channels)?;
        let input: Box<dyn Read + Send> = if path == Path::new("-") {
            Box::new(std::io::stdin())
        } else {
            let file = File::open(path).map_err(|e| {
                Error::io(
                    format!("cannot open raw audio `{}` (check the path)", path.display()),
                    e,
                )
            })?;
            Box::new(BufReader::with_capacity(1 << 16, file))
        };
        Self::from_reader(input, format, rate, channels)
    }

    /// Reads PCM from any reader.
    pub fn from_reader(input: Box<dyn Read + Send>, format: PcmFormat, rate: u32, channels: u16) -> Result<Self> {
        check_pcm(rate, channels)?;
        let resampler = match rate {
            AUDIO_RATE => None,
            _ => Some(StreamResampler::new(rate, AUDIO_RATE, channels)?),
        };
        Ok(RawAudio {
            input,
            format,
            rate,
            channels,
            resampler,
            read_bytes: READ_FRAMES * usize::from(channels) * format.bytes(),
            frames_read: 0,
            ended: false,
        })
    }

    fn decode(&self, bytes: &[u8]) -> Vec<f32> {
        match self.format {
            PcmFormat::S16le => bytes
                .chunks_exact(2)
                .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
                .collect(),
            PcmFormat::F32le => bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        }
    }

    fn chunk(&self, samples: Vec<f32>) -> AudioEvent {
        AudioEvent::Chunk(AudioChunk {
            samples,
            channels: self.channels,
            timestamp: None,
        })
    }
}

impl AudioSource for RawAudio {
    fn channels(&self) -> u16 {
        self.channels
    }

    fn next_event(&mut self, _timeout: Duration) -> Result<AudioEvent> {
        let seconds = |frames: u64, rate: u32| frames as f64 / f64::from(rate);
        if self.ended {
            return Ok(AudioEvent::Ended(format!(
                "raw audio ended after {:.3} s",
                seconds(self.frames_read, self.rate)
            )));
        }
        // Up to `read_bytes`, fewer only at the end of the input (`take` + `read_to_end`).
        let mut bytes = Vec::with_capacity(self.read_bytes);
        let got = (&mut *self.input)
            .take(self.read_bytes as u64)
            .read_to_end(&mut bytes)
            .map_err(|e| {
                Error::source_caused(
                    &format!("reading raw audio at {:.3} s", seconds(self.frames_read, self.rate)),
                    e,
                )
            })?;
        let frame_bytes = usize::from(self.channels) * self.format.bytes();
        if !got.is_multiple_of(frame_bytes) {
            return Err(Error::source(format!(
                "raw audio ended inside a sample frame ({} bytes left over); check --audio-format and --audio-channels ({:?}, {} channel(s): {frame_bytes} bytes per frame)",
                got % frame_bytes,
                self.format,
                self.channels
            )));
        }
        self.frames_read += (got / frame_bytes) as u64;
        let samples = self.decode(&bytes);
        let mut out = Vec::new();
        match &mut self.resampler {
            Some(r) => r.process(&samples, &mut out)?,
            None => out = samples,
        }
        if got < self.read_bytes {
            self.ended = true;
            if let Some(r) = &mut self.resampler {
                r.finish(&mut out)?;
            }
        }
        if out.is_empty() {
            return self.next_event(Duration::ZERO);
        }
        Ok(self.chunk(out))
    }

    fn now(&self) -> Option<Duration> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::audio::test_signal::{dominant_frequency, level_at};

    fn read_all(mut source: RawAudio) -> Result<(Vec<f32>, String)> {
        let mut out = Vec::new();
        loop {
            match source.next_event(Duration::ZERO)? {
                AudioEvent::Chunk(c) => {
                    assert_eq!(c.timestamp, None, "virtual time: contiguous");
                    out.extend(c.samples)
                }
                AudioEvent::Ended(why) => return Ok((out, why)),
                other => panic!("{other:?}"),
            }
        }
    }

    fn s16_tone(rate: u32, channels: u16, seconds: f64) -> Vec<u8> {
        let frames = (f64::from(rate) * seconds) as usize;
        (0..frames)
            .flat_map(|i| {
                let x = (8192.0 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / f64::from(rate)).sin()) as i16;
                std::iter::repeat_n(x, usize::from(channels))
            })
            .flat_map(i16::to_le_bytes)
            .collect()
    }

    #[test]
    fn s16_at_16_khz_comes_out_at_48_khz() {
        let bytes = s16_tone(16_000, 1, 1.5);
        let source = RawAudio::from_reader(Box::new(std::io::Cursor::new(bytes)), PcmFormat::S16le, 16_000, 1).unwrap();
        assert_eq!(source.channels(), 1);
        let (out, why) = read_all(source).unwrap();
        assert!(why.contains("1.500 s"), "{why}");
        assert_eq!(out.len(), 72_000);
        assert!((dominant_frequency(&out[4_800..67_200], 48_000) - 440.0).abs() < 0.5);
        assert!((level_at(&out[4_800..67_200], 440.0, 48_000) - 0.25).abs() < 0.005);
    }

    #[test]
    fn f32_stereo_at_48_khz_passes_through_unchanged() {
        let samples: Vec<f32> = (0..4_000).map(|i| (i as f32 / 4_000.0) - 0.5).collect();
        let bytes: Vec<u8> = samples.iter().flat_map(|x| x.to_le_bytes()).collect();
        let source = RawAudio::from_reader(Box::new(std::io::Cursor::new(bytes)), PcmFormat::F32le, 48_000, 2).unwrap();
        let (out, _) = read_all(source).unwrap();
        assert_eq!(out, samples);
    }

    #[test]
    fn bad_descriptions_and_torn_frames_are_errors() {
        let empty = || Box::new(std::io::empty());
        assert!(matches!(
            RawAudio::from_reader(empty(), PcmFormat::S16le, 96_000, 1),
            Err(Error::InvalidAudio(_))
        ));
        assert!(matches!(
            RawAudio::from_reader(empty(), PcmFormat::S16le, 48_000, 3),
            Err(Error::InvalidAudio(_))
        ));
        let torn = RawAudio::from_reader(
            Box::new(std::io::Cursor::new(vec![0u8; 6])),
            PcmFormat::S16le,
            48_000,
            2,
        )
        .unwrap();
        let err = read_all(torn).unwrap_err().to_string();
        assert!(err.contains("2 bytes left over"), "{err}");
        let err = RawAudio::open(Path::new("/nonexistent/pcm"), PcmFormat::S16le, 48_000, 1).unwrap_err();
        assert!(err.to_string().contains("check the path"));
    }
}
