//! The output folder: creating it, naming recordings safely, and the lock that tells recovery a
//! file is still being recorded.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::mux::{needs_recovery, recover, Recovered};

/// Longest id or topic kept in a file name.
const MAX_NAME_PART: usize = 48;

/// Keeps ASCII letters, digits, `-` and `_`; everything else (path separators, dots, spaces,
/// control and non-ASCII characters) becomes `_`. So ids cannot escape the folder.
pub(crate) fn sanitize(part: &str) -> String {
    part.chars()
        .take(MAX_NAME_PART)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `YYYYMMDD-HHMMSSZ` (UTC) for a time.
pub(crate) fn utc_stamp(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Creates the folder (and parents) if missing.
pub(crate) fn prepare_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Unwritable {
        action: "create folder",
        path: dir.to_owned(),
        source,
    })
}

/// Creates a new, empty recording file named from the start time and ids, locked as in use.
pub(crate) fn create_recording(
    dir: &Path,
    start: SystemTime,
    class_id: Option<&str>,
    user_id: Option<&str>,
) -> Result<(File, PathBuf, RecordingLock)> {
    let mut stem = utc_stamp(start);
    for id in [class_id, user_id].into_iter().flatten() {
        stem.push('_');
        stem.push_str(&sanitize(id));
    }
    for attempt in 1.. {
        let name = if attempt == 1 {
            format!("{stem}.mp4")
        } else {
            format!("{stem}-{attempt}.mp4")
        };
        let path = dir.join(name);
        let Some(lock) = RecordingLock::try_acquire(&path)? else {
            continue;
        };
        match OpenOptions::new().read(true).write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((file, path, lock)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(source) => {
                return Err(Error::Unwritable {
                    action: "create file",
                    path,
                    source,
                })
            }
        }
    }
    unreachable!("the loop only ends by returning")
}

/// An exclusive lock on `<recording>.lock`, held while the recording is written (or recovered).
/// The operating system releases it if the process dies, so a crashed recording is recoverable.
#[derive(Debug)]
pub(crate) struct RecordingLock {
    file: Option<File>,
    path: PathBuf,
}

impl RecordingLock {
    /// Takes the lock, or `None` if another recorder holds it.
    pub(crate) fn try_acquire(recording: &Path) -> Result<Option<Self>> {
        let mut name = recording.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| Error::Unwritable {
                action: "create lock file",
                path: path.clone(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(Some(RecordingLock { file: Some(file), path })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(Error::io(format!("locking `{}`", path.display()), e)),
        }
    }
}

impl Drop for RecordingLock {
    fn drop(&mut self) {
        drop(self.file.take());
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Recovers every unfinalized recording in `dir` that no recorder is writing.
/// Returns one entry per file that needed it.
pub fn recover_folder(dir: &Path) -> Vec<(PathBuf, Result<Recovered>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for path in entries.flatten().map(|e| e.path()) {
        if path.extension().is_some_and(|e| e == "mp4") && needs_recovery(&path).unwrap_or(false) {
            match RecordingLock::try_acquire(&path) {
                Ok(Some(lock)) => {
                    drop(lock);
                    let result = recover(&path);
                    out.push((path, result));
                }
                Ok(None) => {} // being recorded right now
                Err(e) => out.push((path, Err(e))),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sanitize_blocks_path_traversal() {
        assert_eq!(sanitize("../../etc/passwd"), "______etc_passwd");
        assert_eq!(sanitize("C:\\Users\\x"), "C__Users_x");
        assert_eq!(sanitize("课堂 1"), "___1");
        assert_eq!(sanitize(&"a".repeat(100)).len(), MAX_NAME_PART);
    }

    #[test]
    fn utc_stamp_matches_known_dates() {
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101-000000Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_548_247_837);
        assert_eq!(utc_stamp(t), "20190123-125037Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(utc_stamp(leap), "20000229-000000Z");
    }

    #[test]
    fn names_are_unique_and_locked() {
        let dir = std::env::temp_dir().join(format!("classrec-output-{}", std::process::id()));
        prepare_dir(&dir).unwrap();
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let (_f1, p1, l1) = create_recording(&dir, t, Some("42"), Some("../u")).unwrap();
        let (_f2, p2, _l2) = create_recording(&dir, t, Some("42"), Some("../u")).unwrap();
        assert_eq!(p1.file_name().unwrap(), "20231114-221320Z_42____u.mp4");
        assert_eq!(p2.file_name().unwrap(), "20231114-221320Z_42____u-2.mp4");
        assert!(
            RecordingLock::try_acquire(&p1).unwrap().is_none(),
            "held while recording"
        );
        drop(l1);
        assert!(RecordingLock::try_acquire(&p1).unwrap().is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
