//! Crash recovery: find the last complete fragment of an unfinalized recording, cut the file
//! there, and finalize it into an ordinary MP4.

use std::fs::{File, OpenOptions};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mp4::{MoovBox, ReadBox};

use super::boxes::{FragmentIndex, Run, AUDIO_TRACK_ID, RESERVED_LEN, VIDEO_TRACK_ID};
use super::finalize::{finalize_fitting, HeadLayout, Movie};
use super::parse::{audio_track, parse_moof};
use super::ticks_to_duration;
use crate::encode::{AudioTrackInfo, TrackInfo};
use crate::error::{Error, Result};
use crate::event::Recovered;
use crate::files::{read_at, recordings_in, RecordingLock};

/// The largest initial `moov` we accept (ours is about 1 KiB).
const MAX_HEAD_MOOV: u64 = 1 << 20;

fn not_recoverable(path: &Path, reason: impl Into<String>) -> Error {
    Error::NotRecoverable {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// Reads a box header (size, type) at `offset`; 64-bit sizes are resolved.
fn box_at(file: &File, offset: u64) -> std::io::Result<(u64, [u8; 4], u64)> {
    let mut h = [0u8; 16];
    read_at(file, offset, &mut h[..8])?;
    let size = u64::from(u32::from_be_bytes(h[..4].try_into().expect("4 bytes")));
    let kind: [u8; 4] = h[4..8].try_into().expect("4 bytes");
    if size == 1 {
        read_at(file, offset + 8, &mut h[8..])?;
        return Ok((u64::from_be_bytes(h[8..].try_into().expect("8 bytes")), kind, 16));
    }
    Ok((size, kind, 8))
}

/// The state of a recording's head.
enum Head {
    /// Still fragmented (or interrupted during finalize): recoverable. The video track, and the
    /// sound track if there is one.
    Fragmented(HeadLayout, TrackInfo, Option<AudioTrackInfo>),
    /// Already an ordinary MP4.
    Finalized,
}

fn read_head(file: &File, path: &Path) -> Result<Head> {
    let io = |e: std::io::Error| not_recoverable(path, format!("not a classrec recording ({e})"));
    let (ftyp_len, kind, _) = box_at(file, 0).map_err(io)?;
    if &kind != b"ftyp" || ftyp_len < 8 {
        return Err(not_recoverable(path, "not an MP4 file (no ftyp box at the start)"));
    }
    let moov_offset = ftyp_len;
    let (moov_len, kind, _) = box_at(file, moov_offset).map_err(io)?;
    if !(&kind == b"moov" || &kind == b"free") || !(8..=MAX_HEAD_MOOV).contains(&moov_len) {
        return Err(not_recoverable(path, "not a classrec recording (no moov after ftyp)"));
    }
    let reserved_offset = moov_offset + moov_len;
    let (reserved_len, reserved_kind, _) = box_at(file, reserved_offset).map_err(io)?;
    if &reserved_kind == b"mdat" {
        return Ok(Head::Finalized);
    }
    if &reserved_kind != b"free" || reserved_len != RESERVED_LEN {
        return Err(not_recoverable(
            path,
            "not a classrec recording (no reserved box after the moov)",
        ));
    }
    let mut moov = vec![0u8; moov_len as usize];
    read_at(file, moov_offset, &mut moov).map_err(io)?;
    let track = parse_track(&moov).ok_or_else(|| not_recoverable(path, "its header has no readable H.264 track"))?;
    let audio = audio_track(&moov[8..]); // without it, fragments with sound read as not ours
    Ok(Head::Fragmented(
        HeadLayout {
            moov_offset,
            reserved_offset,
        },
        track,
        audio,
    ))
}

/// Bytes before the first child box in the boxes the `mp4` crate descends into.
fn children_start(kind: &[u8; 4]) -> Option<usize> {
    Some(match kind {
        b"moov" | b"trak" | b"mdia" | b"minf" | b"stbl" | b"dinf" | b"edts" | b"mvex" | b"udta" => 8,
        b"stsd" | b"dref" => 16, // version/flags, entry count
        b"avc1" => 8 + 78,       // the visual sample entry's fields
        b"mp4a" => 8 + 28,       // the audio sample entry's fields
        _ => return None,
    })
}

/// True when every box in `buf` (one box and, for containers the `mp4` crate descends into, its
/// children) has a size of at least its header and fits in its parent. The crate loops forever on
/// a child of size 0 (found by fuzzing `recover`), so nothing else reaches it.
fn boxes_are_sane(buf: &[u8], depth: u32) -> bool {
    let mut at = 0;
    while at < buf.len() {
        let Some(header) = buf.get(at..at + 8) else {
            return false;
        };
        let size = u32::from_be_bytes(header[..4].try_into().expect("4 bytes")) as usize;
        let kind: [u8; 4] = header[4..8].try_into().expect("4 bytes");
        if size < 8 || size > buf.len() - at || depth > 16 {
            return false; // also size 1 (a 64-bit size): never in a head classrec writes
        }
        if let Some(skip) = children_start(&kind) {
            if skip > size || !boxes_are_sane(&buf[at + skip..at + size], depth + 1) {
                return false;
            }
        }
        at += size;
    }
    true
}

/// Reads size and parameter sets from a whole `moov` box, with the `mp4` crate as an independent
/// parser. The file may be damaged, so a panic inside the parser counts as "unreadable", and a
/// box tree the parser could loop on is refused before it.
fn parse_track(moov: &[u8]) -> Option<TrackInfo> {
    if !boxes_are_sane(moov, 0) {
        return None;
    }
    let parse = || {
        let mut cursor = Cursor::new(moov);
        cursor.set_position(8); // the crate reads a box body positioned after its header
        let moov = MoovBox::read_box(&mut cursor, moov.len() as u64).ok()?;
        let avc1 = moov.traks.iter().find_map(|t| t.mdia.minf.stbl.stsd.avc1.as_ref())?;
        Some(TrackInfo {
            width: avc1.width.into(),
            height: avc1.height.into(),
            sps: avc1.avcc.sequence_parameter_sets.first()?.bytes.clone(),
            pps: avc1.avcc.picture_parameter_sets.first()?.bytes.clone(),
        })
    };
    crate::error::catch_quietly(parse).ok().flatten()
}

/// Walks the fragments after the head; returns the complete ones and where the last one ends.
fn scan_fragments(file: &File, start: u64, len: u64, audio: bool) -> (Vec<FragmentIndex>, u64) {
    let mut fragments = Vec::new();
    let mut at = start;
    while let Some((fragment, end)) = read_fragment(file, at, len, audio) {
        fragments.push(fragment);
        at = end;
    }
    (fragments, at)
}

/// One complete `moof`+`mdat` at `at`, or `None` if it is missing, torn or not ours. Its
/// `traf`s are video then (when the file has sound, `audio`) audio, their data back to back.
fn read_fragment(file: &File, at: u64, len: u64, audio: bool) -> Option<(FragmentIndex, u64)> {
    let (moof_len, kind, header) = box_at(file, at).ok()?;
    if &kind != b"moof" || header != 8 || moof_len > MAX_HEAD_MOOV || at + moof_len + 8 > len {
        return None;
    }
    let mut body = vec![0u8; moof_len as usize - 8];
    read_at(file, at + 8, &mut body).ok()?;
    let trafs = parse_moof(&body)?;
    let (mdat_len, kind, mdat_header) = box_at(file, at + moof_len).ok()?;
    let end = at + moof_len + mdat_len;
    if &kind != b"mdat" || end > len {
        return None;
    }
    let mut fragment = FragmentIndex {
        start: at,
        video: Run::default(),
        audio: Run::default(),
    };
    // The data: right after the mdat header, one traf's after another's, filling the mdat.
    let mut data_offset = moof_len + mdat_header;
    let mut last_track = 0;
    for traf in trafs {
        let run = match traf.track_id {
            VIDEO_TRACK_ID if last_track < VIDEO_TRACK_ID => &mut fragment.video,
            AUDIO_TRACK_ID if audio && last_track < AUDIO_TRACK_ID => &mut fragment.audio,
            _ => return None,
        };
        last_track = traf.track_id;
        if u64::from(traf.data_offset) != data_offset || traf.samples.is_empty() {
            return None;
        }
        *run = Run {
            data_offset: at + data_offset,
            samples: traf.samples,
        };
        data_offset += run.payload();
    }
    let complete = last_track != 0 && data_offset == moof_len + mdat_len;
    complete.then_some((fragment, end))
}

/// The largest final `moov` we read (10 hours at 60 fps with sound need about 30 MiB).
const MAX_FINAL_MOOV: u64 = 512 << 20;

/// The duration of a finalized MP4: its top-level boxes walked here, its `moov` checked
/// ([`boxes_are_sane`]) and then read by the `mp4` crate (an independent reader), whose own
/// file reader loops forever on some damaged files (found by fuzzing `recover`). Takes no lock:
/// a finalized file no longer changes.
pub(crate) fn finalized_duration(path: &Path) -> Result<Duration> {
    let unreadable = |why: String| not_recoverable(path, format!("finalized but unreadable: {why}"));
    let file = File::open(path).map_err(|e| Error::io(format!("opening `{}`", path.display()), e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io(format!("reading `{}`", path.display()), e))?
        .len();
    let mut at = 0;
    let (moov_at, moov_len) = loop {
        let (size, kind, _) = box_at(&file, at).map_err(|e| unreadable(e.to_string()))?;
        if size < 8 || size > len - at {
            return Err(unreadable(format!("a box of {size} bytes at {at}")));
        }
        if &kind == b"moov" {
            break (at, size);
        }
        at += size;
    };
    if moov_len > MAX_FINAL_MOOV {
        return Err(unreadable(format!("a moov of {moov_len} bytes")));
    }
    let mut moov = vec![0u8; moov_len as usize];
    read_at(&file, moov_at, &mut moov).map_err(|e| unreadable(e.to_string()))?;
    if !boxes_are_sane(&moov, 0) {
        return Err(unreadable("a damaged moov".into()));
    }
    let read = || {
        let mut cursor = Cursor::new(&moov[..]);
        cursor.set_position(8); // the crate reads a box body positioned after its header
        MoovBox::read_box(&mut cursor, moov_len).map(|m| (m.mvhd.duration, m.mvhd.timescale))
    };
    match crate::error::catch_quietly(read) {
        Ok(Ok((duration, timescale))) if timescale > 0 => {
            Ok(Duration::from_secs_f64(duration as f64 / f64::from(timescale)))
        }
        Ok(Ok(_)) => Err(unreadable("its timescale is 0".into())),
        Ok(Err(e)) => Err(unreadable(e.to_string())),
        Err(_) => Err(unreadable("the mp4 reader failed on it".into())),
    }
}

/// True when `path` is a recording left unfinalized (by a crash or power loss).
pub fn needs_recovery(path: &Path) -> Result<bool> {
    let file = File::open(path).map_err(|e| Error::io(format!("opening `{}`", path.display()), e))?;
    Ok(matches!(read_head(&file, path)?, Head::Fragmented(..)))
}

/// Recovers a recording left unfinalized: keeps every complete fragment, cuts a torn last one,
/// and finalizes the file into an ordinary MP4. A file that is already finalized is left as is.
/// Fails if the file is being recorded right now, or is not a classrec recording. A recording
/// that ended before its first fragment was durable holds nothing to play: it is removed (with
/// its upload journal), and the error says so.
pub fn recover(path: &Path) -> Result<Recovered> {
    recover_or_discard(path)?.ok_or_else(|| {
        not_recoverable(
            path,
            "it held no complete fragment (the recording stopped within its first seconds); nothing was recorded, so the file was removed",
        )
    })
}

/// True for a file a recording left before anything was recorded in it: empty, or our own `ftyp`
/// followed by less than a whole head (a crash while the head was written). Another tool's MP4
/// never matches: its `ftyp` differs from ours.
fn is_torn_head(file: &File, len: u64) -> bool {
    if len == 0 {
        return true;
    }
    let mut ours = Vec::new();
    super::boxes::ftyp(&mut ours);
    let mut start = vec![0u8; ours.len().min(len as usize)];
    if read_at(file, 0, &mut start).is_err() || !ours.starts_with(&start) {
        return false;
    }
    let ftyp_len = ours.len() as u64;
    match box_at(file, ftyp_len) {
        Ok((moov_len, kind, _)) => &kind == b"moov" && ftyp_len + moov_len + RESERVED_LEN > len,
        Err(_) => true, // the file ends within the ftyp or the moov's header
    }
}

/// Removes a recording that holds nothing, and its upload journal (no part of it was uploaded:
/// parts are cut at fragments).
fn discard(path: &Path) -> Result<()> {
    std::fs::remove_file(path)
        .map_err(|e| Error::io(format!("removing the empty recording `{}`", path.display()), e))?;
    let _ = std::fs::remove_file(crate::files::journal_path(path));
    Ok(())
}

/// [`recover`], or `None` when the file held nothing and was removed.
fn recover_or_discard(path: &Path) -> Result<Option<Recovered>> {
    let _lock = RecordingLock::try_acquire(path)?
        .ok_or_else(|| not_recoverable(path, "it is being recorded right now by another recorder"))?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(format!("opening `{}` for recovery", path.display()), e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io(format!("reading `{}`", path.display()), e))?
        .len();
    if is_torn_head(&file, len) {
        return discard(path).map(|()| None);
    }
    let (layout, track, audio) = match read_head(&file, path)? {
        Head::Finalized => {
            return Ok(Some(Recovered {
                path: path.to_owned(),
                already_finalized: true,
                fragments: 0,
                duration: finalized_duration(path)?,
                dropped_bytes: 0,
                bytes: len,
            }));
        }
        Head::Fragmented(layout, track, audio) => (layout, track, audio),
    };
    let (fragments, end) = scan_fragments(&file, layout.fragments_start(), len, audio.is_some());
    if fragments.is_empty() {
        return discard(path).map(|()| None);
    }
    let mut fragments = fragments;
    let movie = Movie {
        video: &track,
        audio: audio.as_ref(),
        audio_samples: None,
    };
    let end = finalize_fitting(&file, path, layout, movie, &mut fragments, end)?;
    let ticks: u64 = fragments.iter().map(|f| f.video.duration()).sum();
    let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    Ok(Some(Recovered {
        path: path.to_owned(),
        already_finalized: false,
        fragments: fragments.len() as u32,
        duration: ticks_to_duration(ticks),
        dropped_bytes: len - end,
        bytes,
    }))
}
/// Recovers every unfinalized recording in `dir` that no recorder is writing.
/// Returns one entry per file that needed it. Recordings that ended before their first fragment
/// hold nothing: they are removed without an entry (see [`recover`]).
pub fn recover_folder(dir: &Path) -> Vec<(PathBuf, Result<Recovered>)> {
    let mut out = Vec::new();
    for path in recordings_in(dir) {
        let torn = File::open(&path)
            .and_then(|f| f.metadata().map(|m| (f, m.len())))
            .is_ok_and(|(f, len)| is_torn_head(&f, len));
        if !torn && !needs_recovery(&path).unwrap_or(false) {
            continue;
        }
        match RecordingLock::try_acquire(&path) {
            Ok(Some(lock)) => {
                drop(lock);
                match recover_or_discard(&path) {
                    Ok(None) => {} // held nothing: removed
                    Ok(Some(recovered)) => out.push((path, Ok(recovered))),
                    Err(e) => out.push((path, Err(e))),
                }
            }
            Ok(None) => {} // being recorded right now
            Err(e) => out.push((path, Err(e))),
        }
    }
    out
}
