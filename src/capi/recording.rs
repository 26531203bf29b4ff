//! `classrec_recording`, `classrec_stop_reason` and `classrec_stats`: a finished recording and
//! its counters as C sees them, made from the Rust [`Recording`], [`StopReason`] and
//! [`Stats`]; and a recording's id.

use std::ffi::{c_char, CStr};
use std::path::Path;

use crate::{Recording, Stats, StopReason};

/// Why a recording ended.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum classrec_stop_reason {
    /// `classrec_recorder_stop` (or free) was called.
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
/// `frames_captured == frames_encoded + frames_skipped + frames_dropped`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct classrec_stats {
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
    /// Frames stamped more than 1 s ahead of the recorder's clock, recorded at "now" instead
    /// (counted in `frames_captured` too).
    pub frames_retimed: u64,
    /// Sound pushes stamped more than 1 s ahead of the recorder's clock, placed to end at "now".
    pub audio_pushes_retimed: u64,
}

impl From<Stats> for classrec_stats {
    fn from(s: Stats) -> Self {
        classrec_stats {
            frames_captured: s.frames_captured,
            frames_encoded: s.frames_encoded,
            frames_skipped: s.frames_skipped,
            frames_dropped: s.frames_dropped,
            bytes_written: s.bytes_written,
            fragments: s.fragments,
            frames_retimed: s.frames_retimed,
            audio_pushes_retimed: s.audio_pushes_retimed,
        }
    }
}

/// A finished recording, as `classrec_recorder_stop` reports it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct classrec_recording {
    /// The MP4's path (UTF-8); lives until `classrec_recorder_free`. When `bytes` is 0 nothing was
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
    /// Why it ended (the text is in `classrec_recorder_last_error` when it failed).
    pub stop_reason: classrec_stop_reason,
    /// Final counters.
    pub stats: classrec_stats,
}

impl classrec_recording {
    /// Describes `recording`, pointing at `path` (its path as a C string, which must outlive the
    /// result).
    pub(super) fn new(recording: &Recording, path: &CStr) -> classrec_recording {
        classrec_recording {
            path: path.as_ptr(),
            duration_ms: recording.duration.as_millis() as u64,
            bytes: recording.bytes,
            width: recording.width,
            height: recording.height,
            stop_reason: (&recording.stop_reason).into(),
            stats: recording.stats.into(),
        }
    }
}

/// A recording's id: its file name without the extension.
pub(super) fn recording_id(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}
