//! The upload journal: small JSON state beside the recording (`<file>.mp4.upload.json`), written
//! atomically (temp file, fsync, rename). Never holds credentials.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::config::{MAX_PARTS, MAX_PART_SIZE, MIN_PART_SIZE};
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
            Ok(bytes) => Self::parse(&bytes)
                .map(Some)
                .map_err(|source| Error::DamagedJournal { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("reading `{}`", path.display()), e)),
        }
    }

    /// Reads a journal's bytes and checks that its numbers are ones this code can have written:
    /// part numbers 1 to 10,000, byte ranges that do not overflow, a part size within S3's limits.
    /// Whatever a damaged or hand-edited file holds, the upload never does arithmetic on nonsense.
    pub fn parse(bytes: &[u8]) -> std::result::Result<Journal, serde_json::Error> {
        let journal: Journal = serde_json::from_slice(bytes)?;
        let bad = |what: String| Err(<serde_json::Error as serde::de::Error>::custom(what));
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&journal.part_size) {
            return bad(format!("part_size {} is outside S3's limits", journal.part_size));
        }
        let mut total = 0u64;
        for part in &journal.parts {
            if !(1..=MAX_PARTS).contains(&part.number) || part.len > MAX_PART_SIZE {
                return bad(format!("part {} of {} bytes is not an S3 part", part.number, part.len));
            }
            match (part.offset.checked_add(part.len), total.checked_add(part.len)) {
                (Some(_), Some(sum)) => total = sum,
                _ => return bad(format!("part {} ends past any file", part.number)),
            }
        }
        Ok(journal)
    }

    /// Writes the journal atomically (see `files::write_atomically`).
    pub fn save(&self, recording: &Path) -> Result<()> {
        let path = Self::path_for(recording);
        let json = serde_json::to_vec_pretty(self).expect("a journal always serializes");
        write_atomically(&path, json.as_slice())
            .map_err(|e| Error::io(format!("writing the upload journal `{}`", path.display()), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_with_impossible_numbers_is_damaged_not_a_panic_later() {
        let good = Journal::new("t".into(), "k".into(), MIN_PART_SIZE);
        let json = serde_json::to_string(&good).unwrap();
        assert_eq!(Journal::parse(json.as_bytes()).unwrap(), good);
        let part = |number: u32, offset: u64, len: u64| {
            json.replace(
                r#""parts":[]"#,
                &format!(r#""parts":[{{"number":{number},"offset":{offset},"len":{len},"etag":"e"}}]"#),
            )
        };
        assert!(Journal::parse(part(2, 0, MIN_PART_SIZE).as_bytes()).is_ok());
        for bad in [
            part(0, 0, 1),
            part(10_001, 0, 1),
            part(2, u64::MAX, 2),
            part(2, 0, u64::MAX),
        ] {
            assert!(Journal::parse(bad.as_bytes()).is_err(), "{bad}");
        }
        let tiny = json.replace(&format!(r#""part_size":{MIN_PART_SIZE}"#), r#""part_size":0"#);
        assert!(Journal::parse(tiny.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("part_size"));
    }
}
