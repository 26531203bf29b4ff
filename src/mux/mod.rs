//! Mux: the crash-safe "hybrid" MP4 (docs/ARCHITECTURE.md, File format).
//!
//! While recording the file is `ftyp moov(mvex) free(16) [moof mdat]*`, every fragment fsync'd.
//! [`HybridWriter::finish`] appends a full `moov` and patches the head into `ftyp free mdat moov`,
//! an ordinary MP4. [`recover`] does the same for a file left behind by a crash.

mod boxes;
mod recover;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) use recover::finalized_duration;
pub use recover::{needs_recovery, recover, recover_folder};

use boxes::{FragmentIndex, SampleInfo, RESERVED_LEN, TIMESCALE};

use crate::encode::{Sample, TrackInfo};
use crate::error::{is_disk_full, Error, Result};
use crate::event::FragmentInfo;
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
    fn fragments_start(&self) -> u64 {
        self.reserved_offset + RESERVED_LEN
    }
}

/// A duration in media ticks, rounded to the nearest tick (1/15 s is 6000 ticks, not 5999).
fn ticks(d: Duration) -> u64 {
    ((d.as_nanos() * u128::from(TIMESCALE) + 500_000_000) / 1_000_000_000) as u64
}

/// Ticks back to a duration.
pub(crate) fn ticks_to_duration(ticks: u64) -> Duration {
    Duration::from_nanos((u128::from(ticks) * 1_000_000_000 / u128::from(TIMESCALE)) as u64)
}

/// Writes one recording: fragments while recording, an ordinary MP4 at the end.
#[derive(Debug)]
pub struct HybridWriter {
    file: File,
    path: PathBuf,
    track: Option<TrackInfo>,
    head: Option<HeadLayout>,
    /// End of the committed data: everything before is fsync'd and valid.
    committed: u64,
    fragments: Vec<FragmentIndex>,
    /// Samples of the fragment in progress, with their tick times.
    pending: Vec<(u64, Sample)>,
    /// Timeline origin: the first sample's timestamp.
    origin: Option<Duration>,
    /// Ticks at the start of the fragment in progress.
    decode_time: u64,
    /// Media ticks per fragment: a fragment is committed once it spans this much.
    fragment_ticks: u64,
}

impl HybridWriter {
    /// Takes an empty, freshly created file; commits a fragment every `fragment_interval` of media.
    pub fn new(file: File, path: PathBuf, fragment_interval: Duration) -> Self {
        HybridWriter {
            file,
            path,
            track: None,
            head: None,
            committed: 0,
            fragments: Vec::new(),
            pending: Vec::new(),
            origin: None,
            decode_time: 0,
            fragment_ticks: ticks(fragment_interval).max(1),
        }
    }

    /// The recording's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn io_error(&self, what: &str, e: std::io::Error) -> Error {
        write_error(&self.path, what, e)
    }

    /// Writes `bytes` at `offset` and makes them durable.
    fn write_durably(&mut self, offset: u64, bytes: &[u8]) -> Result<()> {
        write_at(&self.file, offset, bytes)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| self.io_error("writing", e))
    }

    /// Adds a sample; returns the fragment it completed, if any. `track` describes the stream and
    /// is needed with the first sample (which must be a keyframe).
    pub fn push(&mut self, sample: Sample, track: Option<&TrackInfo>) -> Result<Option<FragmentInfo>> {
        if self.head.is_none() {
            if !sample.keyframe {
                return Ok(None); // cannot start on a delta frame; the encoder always starts with an IDR
            }
            let track = track.ok_or_else(|| Error::Internal("first sample came without SPS/PPS".into()))?;
            self.write_head(track.clone())?;
        }
        let origin = *self.origin.get_or_insert(sample.timestamp);
        let last = self.pending.last().map(|(t, _)| *t).unwrap_or(self.decode_time);
        let mut t = ticks(sample.timestamp.saturating_sub(origin));
        if !self.pending.is_empty() || self.decode_time > 0 {
            t = t.max(last + 1); // strictly increasing, even for odd host timestamps
        }
        // Fragments are cut by time, not at keyframes: each one only has to follow the previous.
        let fragment_start = self.pending.first().map(|(t, _)| *t);
        let done = if fragment_start.is_some_and(|start| t - start >= self.fragment_ticks) {
            Some(self.commit_fragment(t)?)
        } else {
            None
        };
        self.pending.push((t, sample));
        Ok(done)
    }

    fn write_head(&mut self, track: TrackInfo) -> Result<()> {
        let mut buf = Vec::new();
        boxes::ftyp(&mut buf);
        let moov_offset = buf.len() as u64;
        boxes::initial_moov(&mut buf, &track);
        let reserved_offset = buf.len() as u64;
        boxes::reserved(&mut buf);
        self.write_durably(0, &buf)?;
        self.committed = buf.len() as u64;
        self.head = Some(HeadLayout {
            moov_offset,
            reserved_offset,
        });
        self.track = Some(track);
        Ok(())
    }

    /// Writes the pending samples as one fragment ending at tick `end`, and fsyncs it.
    fn commit_fragment(&mut self, end: u64) -> Result<FragmentInfo> {
        let mut samples = Vec::with_capacity(self.pending.len());
        for (i, (t, s)) in self.pending.iter().enumerate() {
            let next = self.pending.get(i + 1).map_or(end, |(n, _)| *n);
            samples.push(SampleInfo {
                size: s.data.len() as u32,
                duration: (next.max(t + 1) - t) as u32,
                keyframe: s.keyframe,
            });
        }
        let payload: usize = samples.iter().map(|s| s.size as usize).sum();
        let mut buf = Vec::with_capacity(payload + 64 + 12 * samples.len());
        boxes::moof(&mut buf, self.fragments.len() as u32 + 1, self.decode_time, &samples);
        boxes::mdat_header(&mut buf, payload);
        let data_offset = self.committed + buf.len() as u64;
        for (_, s) in &self.pending {
            buf.extend_from_slice(&s.data);
        }
        let start = self.committed;
        if let Err(e) = self.write_durably(start, &buf) {
            let _ = self.file.set_len(start); // drop the torn fragment, keep the committed ones
            return Err(e);
        }
        self.committed += buf.len() as u64;
        self.decode_time += samples.iter().map(|s| u64::from(s.duration)).sum::<u64>();
        self.fragments.push(FragmentIndex {
            start,
            data_offset,
            samples,
        });
        self.pending.clear();
        Ok(FragmentInfo {
            index: self.fragments.len() as u32,
            start,
            end: self.committed,
            duration: ticks_to_duration(self.decode_time),
        })
    }

    /// Commits what is pending, the last sample lasting until `end` (a timestamp on the same
    /// timeline as the samples'), then finalizes. Returns the last fragment committed, if any.
    pub fn finish(&mut self, end: Duration) -> Result<Option<FragmentInfo>> {
        let last = if self.pending.is_empty() {
            None
        } else {
            let origin = self.origin.unwrap_or_default();
            Some(self.commit_fragment(ticks(end.saturating_sub(origin)))?)
        };
        self.finalize()?;
        Ok(last)
    }

    /// Finalizes what is committed, dropping anything pending (used after a write failure).
    pub(crate) fn finalize(&mut self) -> Result<()> {
        self.pending.clear();
        let (Some(head), Some(track)) = (self.head, self.track.as_ref()) else {
            return Ok(()); // nothing was ever written
        };
        self.committed = finalize_fitting(&self.file, &self.path, head, track, &mut self.fragments, self.committed)?;
        self.decode_time = self
            .fragments
            .iter()
            .flat_map(|f| &f.samples)
            .map(|s| u64::from(s.duration))
            .sum();
        Ok(())
    }

    /// Media duration committed so far.
    pub(crate) fn duration(&self) -> Duration {
        ticks_to_duration(self.decode_time)
    }
}

/// [`finalize`], and if the disk is too full even for the index, gives back the newest
/// fragments (about 2 s each) one by one until it fits. Returns where the fragments now end.
fn finalize_fitting(
    file: &File,
    path: &Path,
    head: HeadLayout,
    track: &TrackInfo,
    fragments: &mut Vec<FragmentIndex>,
    mut end: u64,
) -> Result<u64> {
    loop {
        match finalize(file, path, head, track, fragments, end) {
            Err(Error::DiskFull { .. }) if fragments.len() > 1 => {
                end = fragments.pop().expect("more than one fragment").start;
            }
            other => return other.map(|()| end),
        }
    }
}

/// A failed write to the recording: [`Error::DiskFull`] when the disk is full, else an I/O error
/// naming what was being done.
fn write_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    if is_disk_full(&e) {
        Error::DiskFull { path: path.to_owned() }
    } else {
        Error::io(format!("{what} `{}`", path.display()), e)
    }
}

/// Turns a fragmented file whose fragments end at `end` into an ordinary MP4.
///
/// Order matters for crash safety: the full `moov` is appended and made durable first; only then
/// is the head patched. A crash in between leaves a file [`recover`] still recognises.
fn finalize(
    file: &File,
    path: &Path,
    head: HeadLayout,
    track: &TrackInfo,
    fragments: &[FragmentIndex],
    end: u64,
) -> Result<()> {
    let fail = |what: &str, e| write_error(path, what, e);
    let mut moov = Vec::new();
    boxes::final_moov(&mut moov, track, fragments);
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
