//! Streaming resampling with rubato: any number of interleaved frames in, what is ready out.
//!
//! Two uses: converting pushed or raw PCM (8-48 kHz) to 48 kHz at a fixed ratio, and stretching
//! the stream by a few hundred ppm to follow a device clock (an adjustable ratio near 1). Both use
//! rubato's asynchronous sinc resampler, which takes any pair of integer rates (the FFT resampler
//! wants rates with a large common divisor) and whose ratio can glide ("ramp") from one chunk to
//! the next, so a correction makes no click. The resampler's start-up delay is trimmed from the
//! output, so output frame `j` is input frame `j / ratio`.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Adjustable, Async, FixedAsync, Resampler, SincInterpolationParameters, SincInterpolationType, WindowFunction,
};

use crate::error::{Error, Result};

/// Input frames per resampler call: ~21 ms at 48 kHz, small enough for little latency.
const CHUNK: usize = 1024;

/// How far an adjustable resampler may stray from its nominal ratio: 1%, far beyond any real
/// clock drift (the timeline asks for at most a few thousand ppm).
const MAX_RELATIVE: f64 = 1.01;

pub(crate) struct StreamResampler {
    inner: Async<f32>,
    channels: usize,
    /// Input frames waiting for a full chunk (interleaved).
    pending: Vec<f32>,
    /// Room for one call's output.
    scratch: Vec<f32>,
    /// Output frames still to drop: the resampler's start-up delay.
    to_trim: usize,
    /// The ratio (output rate / input rate) the resampler was made with.
    nominal: f64,
    /// Input frames taken, and output frames given (after trimming).
    frames_in: u64,
    frames_out: u64,
}

impl std::fmt::Debug for StreamResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamResampler")
            .field("channels", &self.channels)
            .field("ratio", &self.inner.resample_ratio())
            .field("frames_in", &self.frames_in)
            .field("frames_out", &self.frames_out)
            .finish()
    }
}

/// Sinc length (taps) of the interpolation filter.
const SINC_LEN: usize = 64;

/// The output frames before the first input frame comes out. rubato's `output_delay()` reports
/// `SINC_LEN * ratio / 2` rounded down, but measured (impulse centroids at 8, 16, 44.1 and 48 kHz
/// in) the output then starts one frame early: the filter's centre is one frame sooner.
fn start_up_delay(ratio: f64) -> usize {
    (SINC_LEN as f64 * ratio / 2.0 - 1.0).round().max(0.0) as usize
}

fn failed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("resampler: {what}: {e}"))
}

impl StreamResampler {
    /// Converts `rate_in` to `rate_out`, with room to adjust the ratio by up to 1% either way.
    pub(crate) fn new(rate_in: u32, rate_out: u32, channels: u16) -> Result<Self> {
        let nominal = f64::from(rate_out) / f64::from(rate_in);
        // A 64-point sinc with linear interpolation between 128 oversampled points: transparent
        // for speech and music well above what 64 kbit/s AAC keeps, at ~130 multiply-adds per
        // output sample.
        let params = SincInterpolationParameters::new(SINC_LEN, WindowFunction::BlackmanHarris2)
            .oversampling_factor(128)
            .interpolation(SincInterpolationType::Linear);
        let channels = usize::from(channels);
        let inner = Async::<f32>::new_sinc(nominal, MAX_RELATIVE, &params, CHUNK, channels, FixedAsync::Input)
            .map_err(|e| failed("cannot create", e))?;
        Ok(StreamResampler {
            to_trim: start_up_delay(nominal),
            scratch: vec![0.0; inner.output_frames_max() * channels],
            inner,
            channels,
            pending: Vec::with_capacity(CHUNK * channels),
            nominal,
            frames_in: 0,
            frames_out: 0,
        })
    }

    /// Sets the ratio to `relative` times the nominal one (gliding over the next chunk).
    pub(crate) fn set_relative_ratio(&mut self, relative: f64) -> Result<()> {
        let relative = relative.clamp(1.0 / MAX_RELATIVE, MAX_RELATIVE);
        self.inner
            .set_resample_ratio_relative(relative, true)
            .map_err(|e| failed("cannot set the ratio", e))
    }

    /// The current ratio (output frames per input frame).
    pub(crate) fn ratio(&self) -> f64 {
        self.inner.resample_ratio()
    }

    /// Input frames taken but not yet out, expressed in input frames (`in - out / nominal`).
    pub(crate) fn latency_frames(&self) -> f64 {
        self.frames_in as f64 - self.frames_out as f64 / self.nominal
    }

    /// Resamples interleaved `input` (whole frames), appending what is ready to `out`.
    pub(crate) fn process(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<()> {
        self.frames_in += (input.len() / self.channels) as u64;
        let mut pending = std::mem::take(&mut self.pending);
        pending.extend_from_slice(input);
        let mut start = 0;
        while (pending.len() - start) / self.channels >= self.inner.input_frames_next() {
            let frames = self.inner.input_frames_next();
            let used = self.run(&pending[start..start + frames * self.channels], frames, out)?;
            start += used * self.channels;
        }
        pending.drain(..start);
        self.pending = pending;
        Ok(())
    }

    /// Pushes silence through until `target` output frames have been given in all, then cuts the
    /// output there: the end of the stream, with nothing left inside the resampler.
    pub(crate) fn flush_to(&mut self, target: u64, out: &mut Vec<f32>) -> Result<()> {
        let missing = target.saturating_sub(self.frames_out) as f64 + self.to_trim as f64;
        let mut budget = (missing / (CHUNK as f64 * self.ratio())).ceil() as usize + 4;
        while self.frames_out < target {
            if budget == 0 {
                return Err(failed("flush", "no progress"));
            }
            budget -= 1;
            // What waits (less than a chunk), completed with silence.
            let need = self.inner.input_frames_next();
            let mut chunk = std::mem::take(&mut self.pending);
            chunk.resize(need * self.channels, 0.0);
            self.run(&chunk, need, out)?;
            chunk.clear();
            self.pending = chunk;
        }
        let excess = (self.frames_out - target) as usize;
        out.truncate(out.len() - excess.min(out.len() / self.channels) * self.channels);
        self.frames_out = target;
        Ok(())
    }

    /// Ends a fixed-ratio stream: every input frame comes out, and no more.
    pub(crate) fn finish(&mut self, out: &mut Vec<f32>) -> Result<()> {
        let target = (self.frames_in as f64 * self.nominal).round() as u64;
        self.flush_to(target, out)
    }

    /// One resampler call; returns the input frames used.
    fn run(&mut self, input: &[f32], frames: usize, out: &mut Vec<f32>) -> Result<usize> {
        let input = InterleavedSlice::new(input, self.channels, frames).map_err(|e| failed("input", e))?;
        let capacity = self.scratch.len() / self.channels;
        let mut output =
            InterleavedSlice::new_mut(&mut self.scratch, self.channels, capacity).map_err(|e| failed("output", e))?;
        let (used, made) = self
            .inner
            .process_into_buffer(&input, &mut output, None)
            .map_err(|e| failed("process", e))?;
        let skip = self.to_trim.min(made);
        self.to_trim -= skip;
        out.extend_from_slice(&self.scratch[skip * self.channels..made * self.channels]);
        self.frames_out += (made - skip) as u64;
        Ok(used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::audio::test_signal::{dominant_frequency, level_at, tone};

    fn tone_at(rate: u32, freq: f64, frames: usize) -> Vec<f32> {
        (0..frames)
            .map(|i| 0.5 * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin() as f32)
            .collect()
    }

    #[test]
    fn converts_rates_keeping_length_pitch_and_timing() {
        for rate in [8_000, 16_000, 22_050, 44_100, 47_999] {
            let input = tone_at(rate, 440.0, rate as usize * 2);
            let mut r = StreamResampler::new(rate, 48_000, 1).unwrap();
            let mut out = Vec::new();
            for piece in input.chunks(333) {
                r.process(piece, &mut out).unwrap();
            }
            r.finish(&mut out).unwrap();
            assert_eq!(out.len(), 96_000, "{rate} Hz: 2 s in, 2 s out");
            let body = &out[4_800..91_200];
            assert!((dominant_frequency(body, 48_000) - 440.0).abs() < 0.5, "{rate} Hz");
            assert!((level_at(body, 440.0, 48_000) - 0.5).abs() < 0.01, "{rate} Hz");
            // No delay: output sample j is the input at time j / 48000, give or take the fraction
            // of a frame the start-up delay is rounded by (half a frame is 0.0145 at 440 Hz).
            let expected = tone(440.0, 0.5, 1, 96_000);
            let worst = (4_800..91_200)
                .map(|j| (out[j] - expected[j]).abs())
                .fold(0.0, f32::max);
            assert!(worst < 0.015, "{rate} Hz: off by {worst}");
        }
    }

    #[test]
    fn stereo_channels_stay_apart() {
        let mut input = Vec::new();
        for (l, r) in tone_at(16_000, 300.0, 16_000)
            .into_iter()
            .zip(tone_at(16_000, 700.0, 16_000))
        {
            input.extend([l, r]);
        }
        let mut r = StreamResampler::new(16_000, 48_000, 2).unwrap();
        let mut out = Vec::new();
        r.process(&input, &mut out).unwrap();
        r.finish(&mut out).unwrap();
        assert_eq!(out.len(), 96_000);
        let left: Vec<f32> = out.iter().step_by(2).copied().collect();
        let right: Vec<f32> = out.iter().skip(1).step_by(2).copied().collect();
        assert!((dominant_frequency(&left[2_000..46_000], 48_000) - 300.0).abs() < 0.5);
        assert!((dominant_frequency(&right[2_000..46_000], 48_000) - 700.0).abs() < 0.5);
    }
}
