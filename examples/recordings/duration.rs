//! A recording's duration, read from the object itself: its `mvhd` (the movie header inside the
//! `moov`), fetched with small ranged GETs through the presigned URL. A finalized recording is
//! `ftyp free mdat moov`, so the walk reads one box header per top-level box (four GETs of at most
//! 4 KiB, whatever the file's size) and never downloads the media.

use std::time::Duration;

/// Bytes asked for per GET: a box header, or the head of the `moov` (its `mvhd` comes first).
const CHUNK: u64 = 4096;
/// Top-level boxes walked before giving up (ours have four).
const MAX_BOXES: usize = 16;

/// `bytes [at, at + CHUNK)` of the object at `url` (fewer at its end).
fn range(agent: &ureq::Agent, url: &str, at: u64) -> Result<Vec<u8>, String> {
    let mut response = agent
        .get(url)
        .header("Range", format!("bytes={at}-{}", at + CHUNK - 1))
        .call()
        .map_err(|e| format!("GET bytes from {at}: {e}"))?;
    if response.status() != 206 {
        return Err(format!(
            "GET bytes from {at}: HTTP {} instead of 206",
            response.status()
        ));
    }
    let body = response.body_mut().with_config().limit(CHUNK).read_to_vec();
    body.map_err(|e| format!("GET bytes from {at}: {e}"))
}

fn be32(data: &[u8], at: usize) -> Option<u64> {
    Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?).into())
}

fn be64(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

/// A box header at the start of `data`: (type, total size, header size). Size 0 (to the end of
/// the file) is not something we write, and ends the walk.
fn header(data: &[u8]) -> Option<([u8; 4], u64, usize)> {
    let kind = data.get(4..8)?.try_into().ok()?;
    match be32(data, 0)? {
        1 => Some((kind, be64(data, 8)?, 16)),
        size if size >= 8 => Some((kind, size, 8)),
        _ => None,
    }
}

/// The duration an `mvhd` body states (version 0 or 1). `None` for a zero duration: a head still
/// fragmented (not finalized) has an empty `mvhd`, and its length is not known from here.
fn mvhd_duration(body: &[u8]) -> Option<Duration> {
    let (timescale, duration) = match body.first()? {
        0 => (be32(body, 12)?, be32(body, 16)?),
        1 => (be32(body, 20)?, be64(body, 24)?),
        _ => return None,
    };
    (timescale > 0 && duration > 0).then(|| Duration::from_secs_f64(duration as f64 / timescale as f64))
}

/// The `mvhd` body among the children at the start of a `moov` body.
fn find_mvhd(mut children: &[u8]) -> Option<&[u8]> {
    while let Some((kind, size, head)) = header(children) {
        let body = children.get(head..(size as usize).min(children.len()))?;
        if &kind == b"mvhd" {
            return Some(body);
        }
        children = children.get(size as usize..)?;
    }
    None
}

/// The duration of the MP4 of `size` bytes at `url`; `Ok(None)` when the file does not state one.
pub fn of(agent: &ureq::Agent, url: &str, size: u64) -> Result<Option<Duration>, String> {
    let mut at = 0;
    for _ in 0..MAX_BOXES {
        if at >= size {
            break;
        }
        let data = range(agent, url, at)?;
        let Some((kind, size, head)) = header(&data) else {
            return Ok(None);
        };
        if &kind == b"moov" {
            return Ok(find_mvhd(&data[head..]).and_then(mvhd_duration));
        }
        at += size;
    }
    Ok(None)
}
