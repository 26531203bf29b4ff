//! The upload journal: small JSON state beside the recording (`<file>.mp4.upload.json`), written
//! atomically (temp file, fsync, rename). Never holds credentials.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::files::{journal_path, write_atomically};
use crate::notify::{CallbackState, ClassInfo};

/// The journal format this code writes.
const JOURNAL_VERSION: u32 = 1;

/// One uploaded part: where it came from in the file and what the server answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalPart {
    /// S3 part number (1-based; part 1 is the file's head, uploaded last).
    pub number: u16,
    /// First byte of the part in the file.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
    /// The server's ETag for it.
    pub etag: String,
}

/// Where an upload stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadState {
    /// Parts are going up (or will, once resumed).
    Uploading,
    /// The object is complete in the cloud.
    Completed {
        /// The object's ETag.
        etag: String,
        /// The object's URL.
        url: String,
    },
    /// Stopped for good on a permanent error; `resume_pending` tries again.
    Failed {
        /// Why.
        reason: String,
    },
}

/// The journal's contents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    /// Format version.
    pub version: u32,
    /// Which target (e.g. `s3://bucket at http://host`), to notice a changed configuration.
    pub target: String,
    /// Object key.
    pub key: String,
    /// Multipart upload id, once created.
    pub upload_id: Option<String>,
    /// Minimum part size used when cutting parts.
    pub part_size: u64,
    /// End of part 1 (the head, uploaded last), once known.
    pub head_end: Option<u64>,
    /// Parts uploaded so far (2..N, and 1 at the very end).
    pub parts: Vec<JournalPart>,
    /// Final file size, once the recording is finalized.
    pub final_size: Option<u64>,
    /// State.
    pub state: UploadState,
    /// Recording start, Unix seconds.
    #[serde(default)]
    pub start_time: Option<u64>,
    /// The class, for the completion callback.
    #[serde(default)]
    pub class: Option<ClassInfo>,
    /// The completion callback's delivery state, once the upload is complete.
    #[serde(default)]
    pub callback: Option<CallbackState>,
}

impl Journal {
    /// A journal for a new upload of `key` to `target`, nothing sent yet.
    pub(crate) fn new(target: String, key: String, part_size: u64) -> Journal {
        Journal {
            version: JOURNAL_VERSION,
            target,
            key,
            upload_id: None,
            part_size,
            head_end: None,
            parts: Vec::new(),
            final_size: None,
            state: UploadState::Uploading,
            start_time: None,
            class: None,
            callback: None,
        }
    }

    /// The journal path for a recording.
    pub fn path_for(recording: &Path) -> PathBuf {
        journal_path(recording)
    }

    /// Reads a journal; `Ok(None)` if there is none.
    pub fn load(recording: &Path) -> Result<Option<Journal>> {
        let path = Self::path_for(recording);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| Error::DamagedJournal { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("reading `{}`", path.display()), e)),
        }
    }

    /// Writes the journal atomically (see `files::write_atomically`).
    pub fn save(&self, recording: &Path) -> Result<()> {
        let path = Self::path_for(recording);
        let json = serde_json::to_vec_pretty(self).expect("a journal always serializes");
        write_atomically(&path, json.as_slice())
            .map_err(|e| Error::io(format!("writing the upload journal `{}`", path.display()), e))
    }
}
