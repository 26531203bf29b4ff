//! The capture streams: opening an input stream on a device, stamping its pieces on the
//! recorder's clock, and converting them to the track's channels at 48 kHz.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cpal::traits::{DeviceTrait, StreamTrait};
use crossbeam_channel::Sender;
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Async, FixedAsync, Resampler, SincInterpolationParameters, SincInterpolationType, WindowFunction};

use super::device_find::{device_error, device_name};
use super::{frames_to_time, AUDIO_RATE};
use crate::capture::Clock;
use crate::error::Result;
use crate::queue::LatestSender;

/// The buffer asked of PulseAudio: 20 ms. Left to itself, Pulse delivers a record stream in
/// fragments of up to 2 s.
const PULSE_BUFFER_FRAMES: u32 = AUDIO_RATE / 50;
/// How fast a stream's anchor may creep later (1000 ppm), to follow a device clock slower than
/// the recorder's.
const ANCHOR_CREEP_PPM: u64 = 1000;

/// Which input a lane carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Role {
    System,
    Mic,
}

impl Role {
    /// The input's name in messages.
    pub(super) fn label(self) -> &'static str {
        match self {
            Role::System => "system audio",
            Role::Mic => "microphone",
        }
    }
}

/// A piece of one input: converted to the track's channels at 48 kHz, stamped on the clock.
pub(super) struct Piece {
    pub(super) start: Duration,
    pub(super) samples: Vec<f32>,
}

/// Where an input's callback delivers (shared by every stream the input ever opens).
#[derive(Clone)]
pub(super) struct Sink {
    pub(super) tx: LatestSender<Piece>,
    pub(super) dropped: Arc<AtomicU64>,
    pub(super) clock: Clock,
    pub(super) channels: u16,
}

/// The stream configuration: 48 kHz `f32` where the device offers it (with the track's channel
/// count if possible), else the device's default (resampled).
fn choose_config(device: &cpal::Device, role: Role, channels: u16, pulse: bool) -> Result<cpal::SupportedStreamConfig> {
    let ranges: Vec<cpal::SupportedStreamConfigRange> = device
        .supported_input_configs()
        .map(|r| r.collect())
        .unwrap_or_default();
    let at_48k = |want_channels: Option<u16>, format: cpal::SampleFormat| {
        ranges
            .iter()
            .filter(|r| r.sample_format() == format && want_channels.is_none_or(|c| r.channels() == c))
            .find_map(|r| r.try_with_sample_rate(AUDIO_RATE))
    };
    if let Some(config) = at_48k(Some(channels), cpal::SampleFormat::F32)
        .or_else(|| at_48k(None, cpal::SampleFormat::F32))
        .or_else(|| ranges.iter().find_map(|r| r.try_with_sample_rate(AUDIO_RATE)))
    {
        return Ok(config);
    }
    let _ = pulse;
    device
        .default_input_config()
        .or_else(|e| {
            if role == Role::System {
                device.default_output_config()
            } else {
                Err(e)
            }
        })
        .map_err(|e| device_error(format!("`{}` offers no usable input format: {e}", device_name(device))))
}

/// Opens and starts the input stream on `device`, delivering into `sink`.
pub(super) fn start_stream(
    device: &cpal::Device,
    role: Role,
    pulse: bool,
    sink: Sink,
    errors: Sender<cpal::Error>,
) -> Result<cpal::Stream> {
    let supported = choose_config(device, role, sink.channels, pulse)?;
    let mut config = supported.config();
    if pulse {
        config.buffer_size = cpal::BufferSize::Fixed(PULSE_BUFFER_FRAMES);
    }
    let format = supported.sample_format();
    let mut convert = Converter::new(config.channels, config.sample_rate, sink.channels)?;
    let mut stamp = Stamper::default();
    let name = device_name(device);
    let stream = device
        .build_input_stream_raw(
            config,
            format,
            move |data: &cpal::Data, _info: &cpal::InputCallbackInfo| {
                let now = sink.clock.now();
                let Some(samples) = to_f32(data) else { return };
                let samples = convert.run(&samples);
                if samples.is_empty() {
                    return;
                }
                let frames = (samples.len() / sink.channels as usize) as u64;
                let start = stamp.piece(now, frames);
                let dropped = sink.tx.send(Piece { start, samples });
                if dropped > 0 {
                    sink.dropped.fetch_add(dropped as u64, Ordering::Relaxed);
                }
            },
            move |err| {
                let _ = errors.try_send(err);
            },
            Some(Duration::from_secs(5)),
        )
        .map_err(|e| device_error(format!("cannot open the {} on `{name}`: {e}", role.label())))?;
    stream
        .play()
        .map_err(|e| device_error(format!("cannot start the {} on `{name}`: {e}", role.label())))?;
    Ok(stream)
}

/// Stamps an input's pieces on the recorder's clock.
///
/// A piece cannot reach the callback before its last sample was captured, so for every piece
/// `now - (frames so far, this one included) / 48 kHz` is a bound on when the stream's first
/// sample was captured, and the smallest bound seen (the lower envelope) is the anchor the
/// pieces are counted from: no jitter, and late by only the device's minimal delivery delay
/// (a few ms). cpal's own capture timestamps are not used: its PulseAudio host interpolates a
/// latency that jumps by up to ~60 ms from one 20 ms piece to the next (measured here).
/// The anchor creeps later by at most 1000 ppm, following a device clock that runs slow.
#[derive(Default)]
struct Stamper {
    anchor: Option<Duration>,
    last_now: Duration,
    frames: u64,
}

impl Stamper {
    /// The time of the first frame of a piece of `frames` frames that reached the callback at `now`.
    fn piece(&mut self, now: Duration, frames: u64) -> Duration {
        let through = frames_to_time(self.frames + frames);
        let bound = now.saturating_sub(through);
        let anchor = match self.anchor {
            None => bound,
            Some(anchor) => {
                let creep = now.saturating_sub(self.last_now) * ANCHOR_CREEP_PPM as u32 / 1_000_000;
                (anchor + creep).min(bound)
            }
        };
        let start = anchor + frames_to_time(self.frames);
        self.anchor = Some(anchor);
        self.last_now = now;
        self.frames += frames;
        start
    }
}

/// Any cpal sample buffer as `f32` in -1.0..=1.0.
fn to_f32(data: &cpal::Data) -> Option<Vec<f32>> {
    use cpal::{FromSample, SampleFormat as F};
    fn conv<T: cpal::SizedSample>(data: &cpal::Data) -> Option<Vec<f32>>
    where
        f32: FromSample<T>,
    {
        data.as_slice::<T>()
            .map(|s| s.iter().map(|&x| f32::from_sample_(x)).collect())
    }
    match data.sample_format() {
        F::F32 => data.as_slice::<f32>().map(<[f32]>::to_vec),
        F::F64 => conv::<f64>(data),
        F::I8 => conv::<i8>(data),
        F::I16 => conv::<i16>(data),
        F::I24 => conv::<cpal::I24>(data),
        F::I32 => conv::<i32>(data),
        F::I64 => conv::<i64>(data),
        F::U8 => conv::<u8>(data),
        F::U16 => conv::<u16>(data),
        F::U24 => conv::<cpal::U24>(data),
        F::U32 => conv::<u32>(data),
        F::U64 => conv::<u64>(data),
        _ => None,
    }
}

/// Device channels → track channels, device rate → 48 kHz.
struct Converter {
    from_channels: usize,
    to_channels: usize,
    resampler: Option<To48k>,
}

impl Converter {
    fn new(from_channels: u16, rate: u32, to_channels: u16) -> Result<Self> {
        let resampler = (rate != AUDIO_RATE)
            .then(|| To48k::new(rate, to_channels as usize))
            .transpose()?;
        Ok(Converter {
            from_channels: from_channels.max(1) as usize,
            to_channels: to_channels as usize,
            resampler,
        })
    }

    /// Converts one device buffer.
    fn run(&mut self, input: &[f32]) -> Vec<f32> {
        let mapped = remix(input, self.from_channels, self.to_channels);
        match &mut self.resampler {
            None => mapped,
            Some(resampler) => resampler.run(&mapped),
        }
    }
}

/// Interleaved `from` channels to `to` (1 or 2): mono is the average; stereo from mono is the
/// same sample twice; from more channels, the first two.
fn remix(input: &[f32], from: usize, to: usize) -> Vec<f32> {
    if from == to {
        return input.to_vec();
    }
    let frames = input.chunks_exact(from);
    match to {
        1 => frames.map(|f| f.iter().sum::<f32>() / from as f32).collect(),
        _ => frames
            .flat_map(|f| {
                let left = f[0];
                let right = if from == 1 { f[0] } else { f[1] };
                [left, right]
            })
            .collect(),
    }
}

/// A streaming resampler from a device rate to 48 kHz (rubato's sinc resampler).
struct To48k {
    inner: Async<f32>,
    channels: usize,
    carry: Vec<f32>,
    out: Vec<f32>,
}

/// Input frames per resampler call.
const RESAMPLE_CHUNK: usize = 480;

impl To48k {
    fn new(rate: u32, channels: usize) -> Result<Self> {
        let parameters = SincInterpolationParameters {
            sinc_len: 128,
            f_cutoff: None,
            oversampling_factor: 128,
            interpolation: SincInterpolationType::Linear,
            window: WindowFunction::BlackmanHarris2,
        };
        let inner = Async::<f32>::new_sinc(
            AUDIO_RATE as f64 / rate as f64,
            1.1,
            &parameters,
            RESAMPLE_CHUNK,
            channels,
            FixedAsync::Input,
        )
        .map_err(|e| device_error(format!("cannot resample {rate} Hz to {AUDIO_RATE} Hz: {e}")))?;
        let out = vec![0.0; inner.output_frames_max() * channels];
        Ok(To48k {
            inner,
            channels,
            carry: Vec::new(),
            out,
        })
    }

    fn run(&mut self, input: &[f32]) -> Vec<f32> {
        self.carry.extend_from_slice(input);
        let mut result = Vec::new();
        let mut used = 0;
        while (self.carry.len() - used) / self.channels >= self.inner.input_frames_next() {
            let need = self.inner.input_frames_next();
            let Ok(input) = InterleavedSlice::new(&self.carry[used..], self.channels, need) else {
                break;
            };
            let frames = self.out.len() / self.channels;
            let Ok(mut output) = InterleavedSlice::new_mut(&mut self.out, self.channels, frames) else {
                break;
            };
            match self.inner.process_into_buffer(&input, &mut output, None) {
                Ok((read, written)) => {
                    used += read * self.channels;
                    result.extend_from_slice(&self.out[..written * self.channels]);
                }
                Err(_) => break,
            }
        }
        self.carry.drain(..used);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_follow_the_earliest_delivery() {
        let mut stamp = Stamper::default();
        let ms = Duration::from_millis;
        // 20 ms pieces delivered with 5..25 ms of jitter: stamped back to back from the earliest.
        assert_eq!(stamp.piece(ms(1025), 960), ms(1005));
        assert_eq!(stamp.piece(ms(1045), 960), ms(1025));
        // An earlier delivery pulls the anchor back by 15 ms; a later one does not push it.
        assert_eq!(stamp.piece(ms(1050), 960), ms(1030));
        let fourth = stamp.piece(ms(1075), 960);
        assert!(
            fourth >= ms(1050) && fourth < ms(1050) + Duration::from_micros(100),
            "{fourth:?}"
        );
    }

    #[test]
    fn remix_averages_to_mono_and_duplicates_to_stereo() {
        assert_eq!(remix(&[0.2, 0.4, 1.0, 0.0], 2, 1), vec![0.3, 0.5]);
        assert_eq!(remix(&[0.2, 0.4], 1, 2), vec![0.2, 0.2, 0.4, 0.4]);
        assert_eq!(remix(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 3, 2), vec![0.1, 0.2, 0.4, 0.5]);
    }

    #[test]
    fn resampling_44k1_keeps_the_length_and_the_tone() {
        let mut convert = Converter::new(1, 44_100, 1).unwrap();
        let input: Vec<f32> = (0..44_100)
            .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 44_100.0).sin() * 0.5)
            .collect();
        let mut out = Vec::new();
        for block in input.chunks(441) {
            out.extend(convert.run(block));
        }
        assert!((out.len() as i64 - 48_000).abs() < 1000, "{} frames", out.len());
        // After the filter's delay, a 1 kHz tone at 48 kHz repeats every 48 samples.
        let tail = &out[out.len() - 4800..];
        let peak = tail.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!((peak - 0.5).abs() < 0.02, "peak {peak}");
        let err: f32 = tail[48..]
            .iter()
            .zip(tail)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(err < 0.02, "period error {err}");
    }
}
