//! `classrec_recording`, `classrec_stop_reason` and `classrec_stats`: a finished recording and
//! its counters as C sees them, made from the Rust [`Recording`], [`StopReason`] and
//! [`Stats`]; and a recording's id.

use std::ffi::{c_char, CStr};
use std::path::Path;

use super::boundary::Growable;
use crate::{Recording, Stats, StopReason};

/// Why a recording ended.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum classrec_stop_reason {
    /// classrec_recorder_stop (or free) was called.
    Requested = 0,
    /// The source ended: window closed, input ended, frame limit reached.
    SourceEnded = 1,
    /// Something failed (disk full, source or encoder error); what was recorded is kept.
    Failed = 2,
}

impl From<&StopReason> for classrec_stop_reason {
    fn from(reason: &StopReason) -> Self {
        match reason {
            StopReason::Requested => classrec_stop_reason::Requested,
            StopReason::SourceEnded(_) => classrec_stop_reason::SourceEnded,
            StopReason::Failed(_) => classrec_stop_reason::Failed,
        }
    }
}

/// Counters of a recording. Once stopped,
/// frames_captured == frames_encoded + frames_skipped + frames_dropped.
///
/// This struct can grow at its end in later versions: set struct_size to sizeof(classrec_stats)
/// before passing it to classrec_recorder_stats, which fills what both sides know and sets
/// struct_size to the bytes it wrote.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct classrec_stats {
    /// Set by the caller to sizeof(classrec_stats); on return, the bytes classrec filled.
    pub struct_size: u32,
    /// Frames the source delivered (not counting those while paused).
    pub frames_captured: u64,
    /// Frames encoded into the file.
    pub frames_encoded: u64,
    /// Frames not encoded because the picture had not changed.
    pub frames_skipped: u64,
    /// Frames dropped because the encoder was behind.
    pub frames_dropped: u64,
    /// Bytes committed to the file (fsync'd).
    pub bytes_written: u64,
    /// Fragments committed.
    pub fragments: u64,
    /// Sound: sample frames (one per channel, at 48 kHz) the source delivered.
    pub audio_samples_in: u64,
    /// Sound: sample frames dropped (overlapping what was placed, or pushed faster than taken).
    pub audio_samples_dropped: u64,
    /// Sound: sample frames of silence inserted for gaps and while nothing came.
    pub audio_samples_gap_filled: u64,
    /// Sound: sample frames added (positive) or removed (negative) to follow the recorder's clock.
    pub audio_samples_drift_corrected: i64,
    /// Frames stamped more than 1 s ahead of the recorder's clock, recorded at "now" instead
    /// (counted in frames_captured too).
    pub frames_retimed: u64,
    /// Sound pushes stamped more than 1 s ahead of the recorder's clock, placed to end at "now".
    pub audio_pushes_retimed: u64,
}

// SAFETY: repr(C) with struct_size (u32) first; the 0.2 layout is the first versioned one.
unsafe impl Growable for classrec_stats {
    const FIRST_SIZE: usize = std::mem::size_of::<classrec_stats>();
}

impl From<Stats> for classrec_stats {
    fn from(s: Stats) -> Self {
        classrec_stats {
            struct_size: std::mem::size_of::<classrec_stats>() as u32,
            frames_captured: s.frames_captured,
            frames_encoded: s.frames_encoded,
            frames_skipped: s.frames_skipped,
            frames_dropped: s.frames_dropped,
            bytes_written: s.bytes_written,
            fragments: s.fragments,
            audio_samples_in: s.audio_samples_in,
            audio_samples_dropped: s.audio_samples_dropped,
            audio_samples_gap_filled: s.audio_samples_gap_filled,
            audio_samples_drift_corrected: s.audio_samples_drift_corrected,
            frames_retimed: s.frames_retimed,
            audio_pushes_retimed: s.audio_pushes_retimed,
        }
    }
}

/// A finished recording, as classrec_recorder_stop reports it. Its counters: classrec_recorder_stats,
/// which gives the final ones after stop.
///
/// This struct can grow at its end in later versions: set struct_size to
/// sizeof(classrec_recording) before the call (classrec_recording info = {.struct_size = sizeof info};), which
/// fills what both sides know and sets struct_size to the bytes it wrote.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct classrec_recording {
    /// Set by the caller to sizeof(classrec_recording); on return, the bytes classrec filled.
    pub struct_size: u32,
    /// Why it ended (the text is in classrec_recorder_last_error when it failed).
    pub stop_reason: classrec_stop_reason,
    /// The MP4's path (UTF-8); lives until classrec_recorder_free. When bytes is 0 nothing was
    /// recorded and no file was kept.
    pub path: *const c_char,
    /// Playable duration in milliseconds.
    pub duration_ms: u64,
    /// File size in bytes.
    pub bytes: u64,
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
}

// SAFETY: repr(C) with struct_size (u32) first; the 0.2 layout is the first versioned one.
unsafe impl Growable for classrec_recording {
    const FIRST_SIZE: usize = std::mem::size_of::<classrec_recording>();
}

impl classrec_recording {
    /// Describes recording, pointing at path (its path as a C string, which must outlive the
    /// result).
    pub(super) fn new(recording: &Recording, path: &CStr) -> classrec_recording {
        classrec_recording {
            struct_size: std::mem::size_of::<classrec_recording>() as u32,
            stop_reason: (&recording.stop_reason).into(),
            path: path.as_ptr(),
            duration_ms: recording.duration.as_millis() as u64,
            bytes: recording.bytes,
            width: recording.width,
            height: recording.height,
        }
    }
}

/// A recording's id: its file name without the extension.
pub(super) fn recording_id(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}
