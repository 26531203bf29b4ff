//! Counters shared by the pipeline's threads, and the snapshot users read.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// What the recorder has done so far (see [`crate::Recorder::stats`]).
///
/// Once stopped, `frames_captured == frames_encoded + frames_skipped + frames_dropped`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Frames the source delivered (pushed, generated, read), not counting those while paused.
    pub frames_captured: u64,
    /// Frames encoded into the file.
    pub frames_encoded: u64,
    /// Frames not encoded because the picture had not changed (the previous one shows longer).
    pub frames_skipped: u64,
    /// Frames dropped because the encoder was behind (real-time sources only), or that the
    /// encoder produced nothing for.
    pub frames_dropped: u64,
    /// Bytes committed to the file (fsync'd).
    pub bytes_written: u64,
    /// Fragments committed.
    pub fragments: u64,
    /// Frames stamped more than 1 s ahead of the recorder's clock (a host clock that jumped, a
    /// laptop that slept), recorded at the current time instead. Also in `frames_captured`.
    pub frames_retimed: u64,
    /// Sound: sample frames (one per channel, at 48 kHz) the source delivered.
    pub audio_samples_in: u64,
    /// Sound: sample frames dropped (overlapping what was placed, or pushed faster than taken).
    pub audio_samples_dropped: u64,
    /// Sound: sample frames of silence inserted for gaps (> 70 ms) and while nothing came.
    pub audio_samples_gap_filled: u64,
    /// Sound: pushes stamped more than 1 s ahead of the recorder's clock, placed to end at the
    /// current time instead.
    pub audio_pushes_retimed: u64,
    /// Sound: sample frames added (positive) or removed (negative) to follow the recorder's clock.
    pub audio_samples_drift_corrected: i64,
}

/// Live counters behind [`Stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub frames_captured: AtomicU64,
    pub frames_encoded: AtomicU64,
    pub frames_skipped: AtomicU64,
    pub frames_dropped: AtomicU64,
    pub bytes_written: AtomicU64,
    pub fragments: AtomicU64,
    pub frames_retimed: AtomicU64,
    pub audio_samples_in: AtomicU64,
    pub audio_samples_dropped: AtomicU64,
    pub audio_samples_gap_filled: AtomicU64,
    pub audio_samples_drift_corrected: std::sync::atomic::AtomicI64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            frames_captured: get(&self.frames_captured),
            frames_encoded: get(&self.frames_encoded),
            frames_skipped: get(&self.frames_skipped),
            frames_dropped: get(&self.frames_dropped),
            bytes_written: get(&self.bytes_written),
            fragments: get(&self.fragments),
            frames_retimed: get(&self.frames_retimed),
            audio_samples_in: get(&self.audio_samples_in),
            audio_samples_dropped: get(&self.audio_samples_dropped),
            audio_samples_gap_filled: get(&self.audio_samples_gap_filled),
            audio_pushes_retimed: 0, // counted by the pusher (Recorder::stats adds it)
            audio_samples_drift_corrected: self.audio_samples_drift_corrected.load(Ordering::Relaxed),
        }
    }
}
