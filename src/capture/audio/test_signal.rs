//! Test helpers: tones, and measuring frequency and level of decoded audio.

use std::time::Duration;

/// `frames` of a sine at `freq` Hz and amplitude `amp`, on every one of `channels` (48 kHz).
pub(crate) fn tone(freq: f64, amp: f32, channels: u16, frames: usize) -> Vec<f32> {
    (0..frames)
        .flat_map(|i| {
            let x = amp * (2.0 * std::f64::consts::PI * freq * i as f64 / 48_000.0).sin() as f32;
            std::iter::repeat_n(x, usize::from(channels))
        })
        .collect()
}

/// Root mean square.
pub(crate) fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len().max(1) as f64).sqrt() as f32
}

/// The amplitude of the `freq` component (one DFT bin, any frequency).
pub(crate) fn level_at(x: &[f32], freq: f64, rate: u32) -> f32 {
    let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
    let (mut re, mut im) = (0.0, 0.0);
    for (i, &v) in x.iter().enumerate() {
        re += f64::from(v) * (w * i as f64).cos();
        im += f64::from(v) * (w * i as f64).sin();
    }
    (2.0 * (re * re + im * im).sqrt() / x.len() as f64) as f32
}

/// The frequency of a (nearly) pure tone, from its rising zero crossings (interpolated).
pub(crate) fn dominant_frequency(x: &[f32], rate: u32) -> f64 {
    let mut crossings = Vec::new();
    for i in 1..x.len() {
        if x[i - 1] < 0.0 && x[i] >= 0.0 {
            let frac = f64::from(-x[i - 1]) / f64::from(x[i] - x[i - 1]);
            crossings.push(i as f64 - 1.0 + frac);
        }
    }
    let (Some(first), Some(last)) = (crossings.first(), crossings.last()) else {
        return 0.0;
    };
    (crossings.len() - 1) as f64 * f64::from(rate) / (last - first)
}

/// CPU time this thread has used (Linux: /proc/thread-self/schedstat).
pub(crate) fn thread_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    Duration::from_nanos(stat.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0))
}
