//! Reading our own boxes back (recovery): box iteration, the fragments' `moof`, and the sound
//! track's description from the initial `moov` (the `mp4` crate does not expose the ASC bytes).

use super::boxes::{SampleInfo, AUDIO_TRACK_ID, KEY_SAMPLE_FLAGS, VIDEO_TRACK_ID};
use crate::encode::AudioTrackInfo;

/// Iterates `(type, body)` of the boxes packed in `data`; stops at anything malformed.
pub(super) fn children(data: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut rest = data;
    std::iter::from_fn(move || {
        if rest.len() < 8 {
            return None;
        }
        let size = u32::from_be_bytes(rest[..4].try_into().ok()?) as usize;
        if size < 8 || size > rest.len() {
            return None;
        }
        let kind: [u8; 4] = rest[4..8].try_into().ok()?;
        let body = &rest[8..size];
        rest = &rest[size..];
        Some((kind, body))
    })
}

/// The body of the first child box of type `kind`.
fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    children(data).find(|(k, _)| k == kind).map(|(_, body)| body)
}

/// Follows a path of box types down from `data`.
fn path<'a>(data: &'a [u8], kinds: &[&[u8; 4]]) -> Option<&'a [u8]> {
    kinds.iter().try_fold(data, |at, kind| child(at, kind))
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

fn be64(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

/// One `traf` of ours: its track, samples, and data offset from the start of the `moof`.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct ParsedTraf {
    pub track_id: u32,
    pub samples: Vec<SampleInfo>,
    pub data_offset: u32,
}

/// Parses one of our `moof` bodies: its `traf`s, in order.
pub(super) fn parse_moof(body: &[u8]) -> Option<Vec<ParsedTraf>> {
    children(body)
        .filter(|(k, _)| k == b"traf")
        .map(|(_, traf)| parse_traf(traf))
        .collect()
}

fn parse_traf(traf: &[u8]) -> Option<ParsedTraf> {
    let track_id = be32(child(traf, b"tfhd")?, 4)?;
    if track_id != VIDEO_TRACK_ID && track_id != AUDIO_TRACK_ID {
        return None;
    }
    let trun = child(traf, b"trun")?;
    let flags = be32(trun, 0)? & 0x00FF_FFFF;
    let count = be32(trun, 4)? as usize;
    let mut at = 8;
    let mut data_offset = 0;
    if flags & 0x1 != 0 {
        data_offset = be32(trun, at)?;
        at += 4;
    }
    if flags & 0x4 != 0 {
        at += 4; // first_sample_flags: we write per-sample flags instead
    }
    if flags & 0x700 != 0x700 {
        return None; // not written by us: per-sample duration, size and flags are required
    }
    let mut samples = Vec::with_capacity(count.min(100_000));
    for _ in 0..count {
        let duration = be32(trun, at)?;
        let size = be32(trun, at + 4)?;
        let sample_flags = be32(trun, at + 8)?;
        at += 12 + if flags & 0x800 != 0 { 4 } else { 0 };
        samples.push(SampleInfo {
            size,
            duration,
            keyframe: sample_flags == KEY_SAMPLE_FLAGS,
        });
    }
    Some(ParsedTraf {
        track_id,
        samples,
        data_offset,
    })
}

/// The sound track declared in a `moov` body (ours: `mp4a` with `esds`, priming in `elst`), or
/// `None` when there is none or it is unreadable.
pub(super) fn audio_track(moov: &[u8]) -> Option<AudioTrackInfo> {
    let trak = children(moov)
        .filter(|(k, _)| k == b"trak")
        .map(|(_, t)| t)
        .find(|t| path(t, &[b"mdia", b"hdlr"]).and_then(|h| h.get(8..12)) == Some(b"soun"))?;
    let stsd = path(trak, &[b"mdia", b"minf", b"stbl", b"stsd"])?;
    let mp4a = child(stsd.get(8..)?, b"mp4a")?; // after version/flags and entry_count
    let channels = be16(mp4a, 16)?;
    let sample_rate = be32(mp4a, 24)? >> 16;
    let (bitrate, asc) = parse_esds(child(mp4a.get(28..)?, b"esds")?)?;
    let elst = path(trak, &[b"edts", b"elst"])?;
    let priming = if elst[0] == 1 {
        be64(elst, 16)?
    } else {
        u64::from(be32(elst, 12)?)
    };
    Some(AudioTrackInfo {
        sample_rate,
        channels,
        bitrate,
        asc,
        frame_len: 1024, // AAC-LC
        priming: u32::try_from(priming).ok()?,
    })
}

/// An MPEG-4 descriptor at the start of `data`: (tag, body, rest).
fn descriptor(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *data.first()?;
    let mut len = 0usize;
    let mut at = 1;
    loop {
        let byte = *data.get(at)?;
        len = (len << 7) | usize::from(byte & 0x7F);
        at += 1;
        if byte & 0x80 == 0 || at > 4 {
            break;
        }
    }
    let body = data.get(at..at + len)?;
    Some((tag, body, &data[at + len..]))
}

/// The average bitrate and the AudioSpecificConfig from an `esds` body.
fn parse_esds(esds: &[u8]) -> Option<(u32, Vec<u8>)> {
    let (tag, es, _) = descriptor(esds.get(4..)?)?;
    if tag != 0x03 {
        return None;
    }
    let flags = *es.get(2)?;
    let mut at = 3;
    if flags & 0x80 != 0 {
        at += 2; // dependsOn_ES_ID
    }
    if flags & 0x40 != 0 {
        at += 1 + usize::from(*es.get(at)?); // URL
    }
    if flags & 0x20 != 0 {
        at += 2; // OCR_ES_Id
    }
    let mut rest = es.get(at..)?;
    while let Some((tag, body, next)) = descriptor(rest) {
        if tag == 0x04 {
            let bitrate = be32(body, 9)?;
            let (tag, asc, _) = descriptor(body.get(13..)?)?;
            return (tag == 0x05).then(|| (bitrate, asc.to_vec()));
        }
        rest = next;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audio_track_is_read_back_from_the_initial_moov() {
        let video = crate::encode::TrackInfo {
            width: 320,
            height: 180,
            sps: vec![0x67, 0x42, 0xC0, 0x1E],
            pps: vec![0x68, 0xCE],
        };
        for (channels, asc) in [(1, [0x11, 0x88]), (2, [0x11, 0x90])] {
            let audio = AudioTrackInfo {
                sample_rate: 48_000,
                channels,
                bitrate: 64_000 * u32::from(channels),
                asc: asc.to_vec(),
                frame_len: 1024,
                priming: 2048,
            };
            let mut moov = vec![];
            super::super::boxes::initial_moov(&mut moov, &video, Some(&audio));
            assert_eq!(audio_track(&moov[8..]), Some(audio));
            moov.clear();
            super::super::boxes::initial_moov(&mut moov, &video, None);
            assert_eq!(audio_track(&moov[8..]), None);
        }
    }
}
