//! Recording files on disk: the output folder, safe names, every file that sits beside a
//! recording (its locks, its upload journal, temp files), atomic replacement, and positional
//! reads and writes. `mux` and `upload` use this module; it uses neither.
//!
//! Beside `<name>.mp4`:
//! * `<name>.mp4.lock`: held while the recording is written or recovered (the OS releases it if
//!   the process dies, so a crashed recording is recoverable);
//! * `<name>.mp4.upload.lock`: held while an upload session sends the recording;
//! * `<name>.mp4.upload.json`: the upload journal (see `upload::journal`);
//! * `*.tmp`: a file being replaced atomically by [`write_atomically`].

use std::ffi::OsStr;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// The recordings' extension.
pub(crate) const RECORDING_EXTENSION: &str = "mp4";
/// Suffix of the lock held while a recording is written or recovered.
const RECORDING_LOCK_SUFFIX: &str = ".lock";
/// Suffix of the lock held while a recording is uploaded.
const UPLOAD_LOCK_SUFFIX: &str = ".upload.lock";
/// Suffix of a recording's upload journal.
const JOURNAL_SUFFIX: &str = ".upload.json";
/// Suffix of a file being written before it replaces another.
const TMP_SUFFIX: &str = ".tmp";

/// `path` with `suffix` appended to its whole name (`a.mp4` + `.lock` = `a.mp4.lock`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The upload journal beside `recording`.
pub(crate) fn journal_path(recording: &Path) -> PathBuf {
    with_suffix(recording, JOURNAL_SUFFIX)
}

/// The recordings (`*.mp4`) in `dir`, in no particular order; none if it cannot be read.
pub(crate) fn recordings_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension() == Some(OsStr::new(RECORDING_EXTENSION)))
        .collect()
}

/// Replaces `path` with `body` atomically: a temp file beside it, fsync, rename over, then an
/// fsync of the folder (on Unix) so the rename itself survives a power cut. A reader sees the
/// old file or the new one, never a mix.
pub(crate) fn write_atomically(path: &Path, mut body: impl Read) -> std::io::Result<()> {
    let tmp = with_suffix(path, TMP_SUFFIX);
    let mut file = File::create(&tmp)?;
    std::io::copy(&mut body, &mut file)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

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

/// An exclusive lock on a file beside a recording: `<recording>.lock` while it is written (or
/// recovered), `<recording>.upload.lock` while it is uploaded. The operating system releases it
/// if the process dies, so a crashed recording is recoverable and its upload resumable.
#[derive(Debug)]
pub(crate) struct RecordingLock {
    file: Option<File>,
    path: PathBuf,
}

impl RecordingLock {
    /// Takes the recording lock, or `None` if another recorder holds it.
    pub(crate) fn try_acquire(recording: &Path) -> Result<Option<Self>> {
        Self::try_acquire_at(with_suffix(recording, RECORDING_LOCK_SUFFIX))
    }

    /// Takes the upload lock, or `None` if another uploader holds it.
    pub(crate) fn try_acquire_upload(recording: &Path) -> Result<Option<Self>> {
        Self::try_acquire_at(with_suffix(recording, UPLOAD_LOCK_SUFFIX))
    }

    /// True when nobody records `recording` and nobody uploads it right now.
    pub(crate) fn is_idle(recording: &Path) -> bool {
        matches!(Self::try_acquire(recording), Ok(Some(_)))
            && matches!(Self::try_acquire_upload(recording), Ok(Some(_)))
    }

    fn try_acquire_at(path: PathBuf) -> Result<Option<Self>> {
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

/// Positional write of the whole buffer (no shared cursor).
pub(crate) fn write_at(file: &File, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
    }
    #[cfg(windows)]
    {
        let mut done = 0;
        while done < bytes.len() {
            let n = std::os::windows::fs::FileExt::seek_write(file, &bytes[done..], offset + done as u64)?;
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            done += n;
        }
        Ok(())
    }
}

/// Positional write of `pieces`, one after another from `offset`, gathered into writes of at
/// most [`GATHER_BYTES`] (a larger piece goes straight through). Returns the bytes written. A
/// fragment goes to disk without a copy of the whole of it in memory.
pub(crate) fn write_pieces_at<'a>(
    file: &File,
    offset: u64,
    pieces: impl IntoIterator<Item = &'a [u8]>,
) -> std::io::Result<u64> {
    let mut gathered = Vec::new();
    let mut at = offset;
    let flush = |bytes: &[u8], at: &mut u64| write_at(file, *at, bytes).map(|()| *at += bytes.len() as u64);
    for piece in pieces {
        if gathered.len() + piece.len() > GATHER_BYTES {
            flush(&gathered, &mut at)?;
            gathered.clear();
        }
        if piece.len() > GATHER_BYTES {
            flush(piece, &mut at)?;
        } else {
            gathered.extend_from_slice(piece);
        }
    }
    flush(&gathered, &mut at)?;
    Ok(at - offset)
}

/// The most [`write_pieces_at`] gathers before it writes.
const GATHER_BYTES: usize = 256 * 1024;

/// Positional read filling the whole buffer (no shared cursor, safe while the file grows).
pub(crate) fn read_at(file: &File, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let mut done = 0;
        while done < buf.len() {
            let n = std::os::windows::fs::FileExt::seek_read(file, &mut buf[done..], offset + done as u64)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            done += n;
        }
        Ok(())
    }
}

/// Bytes free for an unprivileged writer on the disk holding `dir` (quotas included on Windows);
/// `None` where the call fails.
#[cfg_attr(windows, allow(unsafe_code))] // GetDiskFreeSpaceExW has no safe wrapper
pub(crate) fn free_space(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    return rustix::fs::statvfs(dir)
        .ok()
        .map(|s| s.f_bavail.saturating_mul(s.f_frsize));
    #[cfg(windows)]
    return {
        use std::os::windows::ffi::OsStrExt;
        let dir: Vec<u16> = dir.as_os_str().encode_wide().chain([0]).collect();
        let mut available = 0u64;
        let null = std::ptr::null_mut();
        // SAFETY: `dir` is NUL-terminated and outlives the call; the two totals may be null.
        let ok = unsafe {
            windows_sys::Win32::Storage::FileSystem::GetDiskFreeSpaceExW(dir.as_ptr(), &mut available, null, null)
        };
        (ok != 0).then_some(available)
    };
    #[cfg(not(any(unix, windows)))]
    return {
        let _ = dir;
        None
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pieces_are_written_in_order_small_ones_gathered_big_ones_straight() {
        let path = std::env::temp_dir().join(format!("classrec-pieces-{}", std::process::id()));
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        let big: Vec<u8> = (0..GATHER_BYTES + 3).map(|i| (i % 251) as u8).collect();
        let pieces: [&[u8]; 5] = [b"head", &big, b"", &[7; 1000], &big[..GATHER_BYTES - 500]];
        let written = write_pieces_at(&file, 10, pieces).unwrap();
        let expected = pieces.concat();
        assert_eq!(written, expected.len() as u64);
        let mut back = vec![0; expected.len()];
        read_at(&file, 10, &mut back).unwrap();
        drop(file);
        std::fs::remove_file(&path).unwrap();
        assert!(back == expected, "the bytes read back differ from the pieces in order");
    }

    #[test]
    fn sanitize_blocks_path_traversal() {
        assert_eq!(sanitize("../../etc/passwd"), "______etc_passwd");
        assert_eq!(sanitize("C:\\Users\\x"), "C__Users_x");
        assert_eq!(sanitize("课堂 1"), "___1");
        assert_eq!(sanitize(&"a".repeat(100)).len(), MAX_NAME_PART);
    }

    #[test]
    fn free_space_is_measured_where_the_folder_exists() {
        let free = free_space(&std::env::temp_dir());
        assert!(free.is_some_and(|bytes| bytes > 0), "{free:?}");
        let missing = std::env::temp_dir().join(format!("classrec-missing-{}", std::process::id()));
        assert_eq!(free_space(&missing), None);
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
        let (f1, p1, l1) = create_recording(&dir, t, Some("42"), Some("../u")).unwrap();
        let (f2, p2, l2) = create_recording(&dir, t, Some("42"), Some("../u")).unwrap();
        assert_eq!(p1.file_name().unwrap(), "20231114-221320Z_42____u.mp4");
        assert_eq!(p2.file_name().unwrap(), "20231114-221320Z_42____u-2.mp4");
        assert!(
            RecordingLock::try_acquire(&p1).unwrap().is_none(),
            "held while recording"
        );
        drop(l1);
        assert!(RecordingLock::try_acquire(&p1).unwrap().is_some());
        // Closed first: Windows without POSIX delete semantics (Wine) keeps open files.
        drop((f1, f2, l2));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
