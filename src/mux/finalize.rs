//! Finalize: append the full `moov`, then patch the head into an ordinary MP4.

use std::fs::File;
use std::path::Path;

use super::boxes::{self, FragmentIndex, RESERVED_LEN};
use crate::encode::{AudioTrackInfo, TrackInfo};
use crate::error::{is_disk_full, Error, Result};
use crate::files::write_at;

/// Where the head's boxes are, so finalize can patch them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HeadLayout {
    /// Offset of the initial `moov` (right after `ftyp`).
    pub moov_offset: u64,
    /// Offset of the reserved box (right after the initial `moov`).
    pub reserved_offset: u64,
}

impl HeadLayout {
    pub fn fragments_start(&self) -> u64 {
        self.reserved_offset + RESERVED_LEN
    }
}

/// The tracks of a recording, as the final `moov` describes them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Movie<'a> {
    pub video: &'a TrackInfo,
    pub audio: Option<&'a AudioTrackInfo>,
    /// PCM samples really recorded (the audio edit list's length); `None`: what the packets hold
    /// after the priming (recovery, or a stop after a failure).
    pub audio_samples: Option<u64>,
}

/// [`finalize`], and if the disk is too full even for the index, gives back the newest
/// fragments (about 2 s each) one by one until it fits. Returns where the fragments now end.
pub(crate) fn finalize_fitting(
    file: &File,
    path: &Path,
    head: HeadLayout,
    movie: Movie<'_>,
    fragments: &mut Vec<FragmentIndex>,
    mut end: u64,
) -> Result<u64> {
    loop {
        match finalize(file, path, head, movie, fragments, end) {
            Err(Error::DiskFull { .. }) if fragments.len() > 1 => {
                end = fragments.pop().expect("more than one fragment").start;
            }
            other => return other.map(|()| end),
        }
    }
}

/// A failed write to the recording: [`Error::DiskFull`] when the disk is full, else an I/O error
/// naming what was being done.
pub(crate) fn write_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    if is_disk_full(&e) {
        Error::DiskFull { path: path.to_owned() }
    } else {
        Error::io(format!("{what} `{}`", path.display()), e)
    }
}

/// Turns a fragmented file whose fragments end at `end` into an ordinary MP4.
///
/// Order matters for crash safety: the full `moov` is appended and made durable first; only then
/// is the head patched. A crash in between leaves a file [`super::recover`] still recognises.
fn finalize(
    file: &File,
    path: &Path,
    head: HeadLayout,
    movie: Movie<'_>,
    fragments: &[FragmentIndex],
    end: u64,
) -> Result<()> {
    let fail = |what: &str, e| write_error(path, what, e);
    let mut moov = Vec::new();
    boxes::final_moov(&mut moov, movie.video, movie.audio, movie.audio_samples, fragments);
    file.set_len(end).map_err(|e| fail("truncating", e))?;
    write_at(file, end, &moov)
        .and_then(|()| file.sync_data())
        .map_err(|e| fail("appending the index to", e))?;
    write_at(file, head.moov_offset + 4, b"free").map_err(|e| fail("patching", e))?;
    let mdat = boxes::large_mdat_header(end - head.reserved_offset);
    write_at(file, head.reserved_offset, &mdat)
        .and_then(|()| file.sync_data())
        .map_err(|e| fail("patching", e))
}
