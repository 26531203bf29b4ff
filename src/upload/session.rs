//! One recording's multipart upload: cut parts at fragment boundaries as the file grows, send
//! the head (part 1) last because finalize rewrites it, complete, and keep the journal current so
//! a crash or a restart resumes where it was.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::config::{MAX_PARTS, MAX_PART_SIZE};
use super::journal::{Journal, JournalPart, UploadState};
use super::link::Link;
use super::retry::{retry, Retried, RetryPolicy};
use super::target::{Failure, ServerPart};
use crate::error::{Error, Result};
use crate::event::{Event, UploadProgress, UploadedObject};
use crate::files::{read_at, RecordingLock};
use crate::queue::LatestSender;

/// What to do when the committed part of the file has grown to `end`.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Not enough new bytes for a part yet.
    Wait,
    /// The head (part 1) is now known to end here; it goes up last, at finish.
    SetHead(u64),
    /// Upload this part now.
    Upload(PartSpan),
}

/// A part to send: number and byte range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PartSpan {
    number: u16,
    offset: u64,
    len: u64,
}

/// The part-planning rule while recording. The head is the first `part_size` bytes or more
/// (ending at a fragment boundary); after it, a part is cut once at least `part_size` new bytes
/// are committed, so every part but the last is at least S3's minimum. The last part number is
/// kept for the tail, so a recording never runs out of the 10,000 S3 allows.
fn plan_on_commit(head_end: Option<u64>, next: PartSpan, part_size: u64, end: u64) -> Step {
    match head_end {
        None if end >= part_size => Step::SetHead(end),
        None => Step::Wait,
        Some(_) if end >= next.offset.saturating_add(grown(part_size, next.number)) && next.number < MAX_PARTS => {
            Step::Upload(PartSpan {
                len: end - next.offset,
                ..next
            })
        }
        Some(_) => Step::Wait,
    }
}

/// The smallest size of part `number`: it doubles every 1,000 parts (up to S3's 5 GiB), so the
/// 10,000 parts S3 allows hold about 5 TB from 5 MiB parts: a 10-hour class at 50 Mbit/s (225 GB)
/// fits, and no part grows past 5 GiB.
fn grown(part_size: u64, number: u16) -> u64 {
    part_size.saturating_mul(1 << (number / 1000)).min(MAX_PART_SIZE)
}

/// The parts still to send once the file is final at `size`: the tail from `next.offset` (if
/// any bytes remain), then the head, part 1, from 0 to `head_end`.
fn plan_finish(head_end: u64, next: PartSpan, size: u64) -> (Option<PartSpan>, PartSpan) {
    let tail = (size > next.offset).then(|| PartSpan {
        len: size - next.offset,
        ..next
    });
    let head = PartSpan {
        number: 1,
        offset: 0,
        len: head_end,
    };
    (tail, head)
}

/// One recording's upload.
pub(super) struct Session<'a> {
    /// Held while this session uploads the recording (`<file>.mp4.upload.lock`).
    _lock: RecordingLock,
    up: &'a Link,
    path: PathBuf,
    file: File,
    pub(super) journal: Journal,
    events: Option<&'a LatestSender<Event>>,
    recorded: u64,
    bytes_sent: u64,
}

impl<'a> Session<'a> {
    /// Opens (or resumes, from its journal) the upload of `path`.
    pub(super) fn open(up: &'a Link, path: &Path, events: Option<&'a LatestSender<Event>>) -> Result<Self> {
        let lock = RecordingLock::try_acquire_upload(path)?
            .ok_or_else(|| Error::Upload(format!("`{}` is being uploaded by another uploader", path.display())))?;
        let file = File::open(path).map_err(|e| Error::io(format!("opening `{}` for upload", path.display()), e))?;
        let target = up.target.describe();
        let key = up.key_for(path);
        let journal = match Journal::load(path)? {
            Some(j) if j.target == target && j.key == key => j,
            _ => Journal::new(target, key, up.part_size),
        };
        let mut session = Session {
            _lock: lock,
            up,
            path: path.to_owned(),
            file,
            journal,
            events,
            recorded: 0,
            bytes_sent: 0,
        };
        session.ensure_upload()?;
        Ok(session)
    }

    fn retry<T>(&self, what: &str, op: impl FnMut() -> Result<T, Failure>) -> Result<Retried<T>> {
        retry(RetryPolicy::FOREVER, &self.up.cancelled, what, self.events, op)
    }

    /// Makes sure an upload id exists and the journal's parts are really on the server.
    fn ensure_upload(&mut self) -> Result<()> {
        let key = self.journal.key.clone();
        if let Some(id) = self.journal.upload_id.clone() {
            // An upload id the server no longer knows: start over cleanly below.
            if let Retried::Done(server) =
                self.retry("check uploaded parts", || self.up.target.list_parts(&key, &id))?
            {
                self.keep_verified_parts(&server);
                return self.save();
            }
        }
        let id = self
            .retry("start the upload", || self.up.target.create(&key))?
            .without_upload_id()?;
        self.journal.upload_id = Some(id);
        self.journal.parts.clear();
        self.journal.state = UploadState::Uploading;
        self.save()
    }

    /// Keeps the journal's parts 2.. that the server holds with the same ETag and size, as long
    /// as they follow each other without a gap from the head's end.
    fn keep_verified_parts(&mut self, server: &[ServerPart]) {
        let mut parts: Vec<JournalPart> = self.journal.parts.drain(..).filter(|p| p.number >= 2).collect();
        parts.sort_by_key(|p| p.number);
        let mut next = self.journal.head_end.unwrap_or(0);
        for p in parts {
            let on_server = server
                .iter()
                .any(|(n, etag, size)| *n == p.number && etag == &p.etag && *size == p.len);
            if !on_server || p.offset != next {
                break;
            }
            next = p.offset + p.len;
            self.journal.parts.push(p);
        }
    }

    pub(super) fn save(&self) -> Result<()> {
        self.journal.save(&self.path)
    }

    /// The next part to cut: after the last part 2.., or after the head.
    fn next_part(&self) -> PartSpan {
        let offset = self
            .journal
            .parts
            .iter()
            .filter(|p| p.number >= 2)
            .map(|p| p.offset + p.len)
            .max()
            .or(self.journal.head_end)
            .unwrap_or(0);
        let number = self.journal.parts.iter().map(|p| p.number).max().unwrap_or(1).max(1) + 1;
        PartSpan { number, offset, len: 0 }
    }

    fn uploaded(&self) -> u64 {
        self.journal.parts.iter().map(|p| p.len).sum()
    }

    /// Bytes up to `end` are committed: cut and upload parts that are ready.
    pub(super) fn committed(&mut self, end: u64) -> Result<()> {
        self.recorded = end;
        match plan_on_commit(self.journal.head_end, self.next_part(), self.journal.part_size, end) {
            Step::Wait => Ok(()),
            Step::SetHead(head_end) => {
                self.journal.head_end = Some(head_end);
                self.save()
            }
            Step::Upload(part) => self.upload_part(part),
        }
    }

    /// The recording is final at `size`: upload the tail, then the head (part 1), then complete.
    pub(super) fn finish(&mut self, size: u64) -> Result<UploadedObject> {
        let finalized_at = Instant::now();
        self.recorded = size;
        self.journal.final_size = Some(size);
        if self.journal.head_end.is_some_and(|h| h > size) {
            self.journal.head_end = None; // the file shrank below its head (disk full): one part
        }
        // Parts past the final size (the file gave back fragments) are re-cut into the tail.
        self.journal.parts.retain(|p| p.number == 1 || p.offset + p.len <= size);
        let head_end = *self.journal.head_end.get_or_insert(size);
        let (tail, head) = plan_finish(head_end, self.next_part(), size);
        if let Some(tail) = tail {
            self.upload_part(tail)?;
        }
        self.journal.parts.retain(|p| p.number != 1);
        self.upload_part(head)?;
        let mut parts: Vec<(u16, String)> = self.journal.parts.iter().map(|p| (p.number, p.etag.clone())).collect();
        parts.sort();
        let (key, id) = (
            self.journal.key.clone(),
            self.journal.upload_id.clone().unwrap_or_default(),
        );
        let etag = match self.retry("complete the upload", || self.up.target.complete(&key, &id, &parts))? {
            Retried::UploadGone => {
                // Completed by an earlier run that died before saving, or expired: start over.
                self.journal.upload_id = None;
                self.ensure_upload()?;
                return self.finish(size);
            }
            Retried::Done(etag) => etag,
        };
        let url = self.up.target.url(&key);
        self.journal.state = UploadState::Completed {
            etag: etag.clone(),
            url: url.clone(),
        };
        self.save()?;
        let object = UploadedObject {
            path: self.path.clone(),
            bucket: self.up.target.bucket(),
            key,
            size,
            etag,
            url,
            bytes_sent: self.bytes_sent,
            stop_to_complete: Some(finalized_at.elapsed()),
        };
        if let Some(events) = self.events {
            events.send(Event::UploadComplete(object.clone()));
        }
        Ok(object)
    }

    fn upload_part(&mut self, part: PartSpan) -> Result<()> {
        let PartSpan { number, offset, len } = part;
        // The part is read from the file twice (hash, then send), never held in memory.
        let range = || FileRange {
            file: &self.file,
            offset,
            remaining: len,
        };
        let mut hasher = Sha256::new();
        std::io::copy(&mut range(), &mut hasher)
            .map_err(|e| Error::io(format!("reading `{}` for upload", self.path.display()), e))?;
        let sha = hex::encode(hasher.finalize());
        let (key, id) = (
            self.journal.key.clone(),
            self.journal.upload_id.clone().unwrap_or_default(),
        );
        let mut sent = 0u64;
        let result = self.retry("upload a part", || {
            sent += len;
            let mut body = self.up.throttle.reader(range());
            self.up.target.put_part(&key, &id, number, &mut body, len, &sha)
        });
        self.bytes_sent += sent;
        let etag = match result? {
            Retried::UploadGone => {
                self.journal.upload_id = None;
                self.ensure_upload()?;
                // Everything journaled is gone with the old upload: send the parts again.
                let old: Vec<JournalPart> = std::mem::take(&mut self.journal.parts);
                for p in old {
                    self.upload_part(PartSpan {
                        number: p.number,
                        offset: p.offset,
                        len: p.len,
                    })?;
                }
                return self.upload_part(part);
            }
            Retried::Done(etag) => etag,
        };
        self.journal.parts.push(JournalPart {
            number,
            offset,
            len,
            etag,
        });
        self.save()?;
        if let Some(events) = self.events {
            let total = self.journal.final_size;
            events.send(Event::UploadProgress(UploadProgress {
                uploaded: self.uploaded(),
                recorded: self.recorded,
                percent: total.map(|t| (self.uploaded() as f64 * 100.0 / t.max(1) as f64).min(100.0) as f32),
            }));
        }
        Ok(())
    }
}

/// `remaining` bytes of `file` from `offset`, read in place.
struct FileRange<'a> {
    file: &'a File,
    offset: u64,
    remaining: u64,
}

impl Read for FileRange<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        read_at(self.file, self.offset, &mut buf[..n])?;
        self.offset += n as u64;
        self.remaining -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upload::MIN_PART_SIZE;

    const MIB: u64 = 1024 * 1024;

    fn next(number: u16, offset: u64) -> PartSpan {
        PartSpan { number, offset, len: 0 }
    }

    /// Feeds fragment ends to the planner as a session would, and returns the parts it cuts.
    fn plan(ends: &[u64], size: u64) -> Vec<PartSpan> {
        let (mut head, mut parts) = (None, Vec::new());
        let mut cursor = next(2, 0);
        for &end in ends {
            match plan_on_commit(
                head,
                PartSpan {
                    offset: cursor.offset.max(head.unwrap_or(0)),
                    ..cursor
                },
                MIN_PART_SIZE,
                end,
            ) {
                Step::SetHead(h) => {
                    head = Some(h);
                    cursor.offset = h;
                }
                Step::Upload(p) => {
                    parts.push(p);
                    cursor = next(p.number + 1, p.offset + p.len);
                }
                Step::Wait => {}
            }
        }
        // As `finish` does: a recording that never reached a head is all head.
        let head_end = head.unwrap_or(size);
        cursor.offset = cursor.offset.max(head_end);
        let (tail, first) = plan_finish(head_end, cursor, size);
        parts.extend(tail);
        parts.push(first);
        parts
    }

    #[test]
    fn the_head_waits_for_the_minimum_then_parts_follow_at_fragment_ends() {
        let ends: Vec<u64> = (1..=30).map(|i| i * 2 * MIB / 3 * 2).collect(); // 1.33 MiB fragments
        let size = *ends.last().unwrap() + 1000;
        let parts = plan(&ends, size);
        // Contiguous cover of the whole file, head last, every part but the tail >= 5 MiB.
        let mut sorted = parts.clone();
        sorted.sort_by_key(|p| p.offset);
        assert_eq!(sorted[0].number, 1);
        assert_eq!(parts.last().unwrap().number, 1, "the head goes up last");
        let mut at = 0;
        for p in &sorted {
            assert_eq!(p.offset, at, "no gap or overlap: {sorted:?}");
            at += p.len;
        }
        assert_eq!(at, size);
        for p in &sorted[..sorted.len() - 1] {
            assert!(p.len >= MIN_PART_SIZE, "{p:?}");
            assert!(ends.contains(&(p.offset + p.len)), "cut at a fragment end: {p:?}");
        }
    }

    #[test]
    fn a_small_recording_is_one_part() {
        assert_eq!(
            plan(&[MIB, 2 * MIB], 2 * MIB + 5),
            vec![PartSpan {
                number: 1,
                offset: 0,
                len: 2 * MIB + 5
            }]
        );
    }

    #[test]
    fn the_last_part_number_is_kept_for_the_tail() {
        let step = plan_on_commit(
            Some(MIN_PART_SIZE),
            next(MAX_PARTS, 100 * MIB),
            MIN_PART_SIZE,
            200 * MIB,
        );
        assert_eq!(step, Step::Wait);
        let (tail, _) = plan_finish(MIN_PART_SIZE, next(MAX_PARTS, 100 * MIB), 300 * MIB);
        assert_eq!(tail.unwrap().len, 200 * MIB);
    }

    #[test]
    fn ten_hours_at_50_mbit_s_fit_in_s3s_part_limits() {
        let ends: Vec<u64> = (1..=18_000u64).map(|i| i * 12_500_000).collect(); // 2 s fragments
        let parts = plan(&ends, 18_000 * 12_500_000);
        let largest = parts.iter().map(|p| p.len).max().unwrap();
        assert!(
            parts.len() <= usize::from(MAX_PARTS) && largest <= MAX_PART_SIZE,
            "{} parts, {largest}",
            parts.len()
        );
    }

    #[test]
    fn nothing_after_the_head_means_no_tail() {
        let (tail, head) = plan_finish(6 * MIB, next(2, 6 * MIB), 6 * MIB);
        assert_eq!(tail, None);
        assert_eq!(head.len, 6 * MIB);
    }
}
