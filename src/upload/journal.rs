//! The upload journal: small JSON state beside the recording (`<file>.mp4.upload.json`), written
//! atomically (temp file, fsync, rename). Never holds credentials.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

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
    pub class: Option<crate::notify::ClassInfo>,
    /// The completion callback's delivery state, once the upload is complete.
    #[serde(default)]
    pub callback: Option<CallbackState>,
}

/// Delivery of the completion callback.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackState {
    /// What the callback reports.
    pub facts: crate::notify::RecordFacts,
    /// Attempts made so far.
    pub attempts: u32,
    /// Delivered (HTTP 200, `error_code` 0): never sent again.
    pub delivered: bool,
    /// Gave up after the last retry, with the last reason.
    pub failed: Option<String>,
}

impl Journal {
    /// The journal path for a recording.
    pub fn path_for(recording: &Path) -> PathBuf {
        let mut name = recording.as_os_str().to_owned();
        name.push(".upload.json");
        PathBuf::from(name)
    }

    /// Reads a journal; `Ok(None)` if there is none.
    pub fn load(recording: &Path) -> Result<Option<Journal>> {
        let path = Self::path_for(recording);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                Error::Source(format!(
                    "upload journal `{}` is damaged ({e}); delete it to upload again from the start",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("reading `{}`", path.display()), e)),
        }
    }

    /// Writes the journal atomically: a temp file, fsync, then rename over the old one.
    pub fn save(&self, recording: &Path) -> Result<()> {
        let path = Self::path_for(recording);
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&serde_json::to_vec_pretty(self).expect("journal serializes"))?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            #[cfg(unix)]
            if let Some(dir) = path.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(())
        };
        write().map_err(|e| Error::io(format!("writing the upload journal `{}`", path.display()), e))
    }
}
