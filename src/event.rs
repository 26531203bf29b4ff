//! The shared vocabulary of what happens to a recording: the [`Event`]s a client shows and the
//! results the stages report ([`Recording`], [`FragmentInfo`], [`Recovered`], upload progress).
//!
//! A leaf: every stage may send these, none of them is imported from a stage (ARCHITECTURE.md,
//! Layering).

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::stats::Stats;

/// Why a recording ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "message", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StopReason {
    /// [`crate::Recorder::stop`] was called (or the recorder was dropped).
    Requested,
    /// The source finished: window closed, input ended, frame limit reached.
    SourceEnded(String),
    /// Something failed (disk full, source error, encoder error); what was recorded is kept.
    Failed(String),
}

/// A finished recording.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Recording {
    /// The MP4 file. When `bytes` is 0 nothing was recorded and no file was kept.
    pub path: PathBuf,
    /// Playable duration.
    pub duration: Duration,
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
    /// Final counters.
    pub stats: Stats,
    /// File size in bytes.
    pub bytes: u64,
    /// Why it ended.
    pub stop_reason: StopReason,
}

/// Something the client may want to show. Delivered on [`crate::Recorder::events`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Event {
    /// Recording started into this file (the client shows "local recording started").
    Started {
        /// The MP4 being written.
        path: PathBuf,
    },
    /// A fragment is safely on disk: a crash now loses nothing before `end`.
    FragmentCommitted(FragmentInfo),
    /// Recording paused: nothing is recorded until resumed.
    Paused,
    /// Recording resumed; playback runs straight on from the pause.
    Resumed,
    /// A recording left unfinalized by an earlier crash was recovered.
    Recovered(Recovered),
    /// Something the user should know that does not stop the recording.
    Warning {
        /// What happened and what to do.
        message: String,
    },
    /// Something failed; the recording stops and what was recorded is kept.
    Error {
        /// What happened and what to do.
        message: String,
    },
    /// The recording is finished and finalized.
    Stopped(Recording),
    /// Upload progress (after each part).
    UploadProgress(UploadProgress),
    /// The recording is complete in the cloud.
    UploadComplete(UploadedObject),
    /// The completion callback was delivered (HTTP 200 with `error_code` 0).
    CallbackDelivered {
        /// Attempts it took, the successful one included.
        attempts: u32,
    },
    /// The completion callback failed for good (after every retry).
    CallbackFailed {
        /// The last reason.
        message: String,
    },
    /// The upload stopped for good; the local file is intact and the upload can be resumed.
    UploadFailed {
        /// What happened and what to do.
        message: String,
    },
}

/// What a committed fragment added to the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FragmentInfo {
    /// 1-based fragment number.
    pub index: u32,
    /// File offset where the fragment starts.
    pub start: u64,
    /// File offset where it ends (the file's committed length).
    pub end: u64,
    /// Media time covered so far, up to the end of this fragment.
    pub duration: Duration,
}

/// What [`crate::recover`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovered {
    /// The recording.
    pub path: PathBuf,
    /// True when the file was already an ordinary, finalized MP4 and was left untouched.
    pub already_finalized: bool,
    /// Complete fragments kept.
    pub fragments: u32,
    /// Playable duration of the recovered file.
    pub duration: Duration,
    /// Bytes of a torn last fragment that were cut off.
    pub dropped_bytes: u64,
    /// Final file size.
    pub bytes: u64,
}

/// Progress the client shows on its upload icon.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct UploadProgress {
    /// Bytes of the recording in the cloud (completed parts).
    pub uploaded: u64,
    /// Bytes recorded so far.
    pub recorded: u64,
    /// Percent uploaded, once the final size is known (after stop).
    pub percent: Option<f32>,
}

/// A recording complete in the cloud.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UploadedObject {
    /// The local file.
    pub path: PathBuf,
    /// Bucket (or folder).
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// Size in bytes (equal to the local file's).
    pub size: u64,
    /// The object's ETag.
    pub etag: String,
    /// The object's URL.
    pub url: String,
    /// Part body bytes sent for this object, retries included.
    pub bytes_sent: u64,
    /// From the recording's final size being known (stop) to the object being complete.
    pub stop_to_complete: Option<Duration>,
}
