//! ISO-BMFF byte layout: one function per box, nothing about recorder state.
//!
//! Every box is written with [`write_box`]. The `mp4` crate 0.14 keeps its child box types
//! private and its `MoovBox` writes no `mvex`, so it is used only as an independent reader
//! (recovery, tests), never as our writer. This file holds the boxes both tracks share;
//! `video.rs` and `audio.rs` the track-specific ones, `movie.rs` the `moov` and `moof` that
//! assemble them.

mod audio;
#[cfg(test)]
mod long_tests;
mod movie;
mod video;

pub(crate) use movie::{final_moov, initial_moov, moof, Traf};

/// Video media timescale: ticks per second (90 kHz, the usual for video; 1/15 s and 1/30 s are exact).
pub(crate) const TIMESCALE: u32 = 90_000;
/// Audio media timescale: the sample rate, so that audio time is the sample count.
pub(crate) const AUDIO_TIMESCALE: u32 = 48_000;
/// Movie (mvhd) timescale: milliseconds.
const MOVIE_TIMESCALE: u32 = 1000;
/// Track IDs: video first, sound second.
pub(crate) const VIDEO_TRACK_ID: u32 = 1;
pub(crate) const AUDIO_TRACK_ID: u32 = 2;
/// Size of the reserved box after the initial `moov`: becomes a 64-bit `mdat` header at finalize.
pub(crate) const RESERVED_LEN: u64 = 16;
/// `trun` sample flags of a sync sample (depends on no other); every AAC sample is one.
pub(crate) const KEY_SAMPLE_FLAGS: u32 = 0x0200_0000;
/// `trun` sample flags of a non-sync sample (depends on others, is a difference sample).
pub(crate) const DELTA_SAMPLE_FLAGS: u32 = 0x0101_0000;
/// `tfhd` flag: offsets are relative to the start of the `moof`.
const TFHD_DEFAULT_BASE_IS_MOOF: u32 = 0x02_0000;
/// `trun` flags: data offset, and per-sample duration, size and flags.
pub(crate) const TRUN_FLAGS: u32 = 0x01 | 0x100 | 0x200 | 0x400;

/// One sample as stored: its size, how long it lasts (in its track's timescale), whether it is
/// a sync sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SampleInfo {
    pub size: u32,
    pub duration: u32,
    pub keyframe: bool,
}

/// One track's samples in one fragment (one `traf`, one chunk): where the data starts in the
/// file, and the samples. Empty when the fragment has nothing of that track.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Run {
    pub data_offset: u64,
    pub samples: Vec<SampleInfo>,
}

impl Run {
    pub fn payload(&self) -> u64 {
        self.samples.iter().map(|s| u64::from(s.size)).sum()
    }

    pub fn duration(&self) -> u64 {
        self.samples.iter().map(|s| u64::from(s.duration)).sum()
    }
}

/// A committed fragment: where it starts, and its video and audio runs (data in that order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FragmentIndex {
    pub start: u64,
    pub video: Run,
    pub audio: Run,
}

/// Writes a box: a 32-bit size (filled in after `body`), the type, then the body.
pub(crate) fn write_box(buf: &mut Vec<u8>, kind: &[u8; 4], body: impl FnOnce(&mut Vec<u8>)) {
    let start = buf.len();
    buf.extend_from_slice(&[0; 4]);
    buf.extend_from_slice(kind);
    body(buf);
    let size = u32::try_from(buf.len() - start).expect("box larger than 4 GiB");
    buf[start..start + 4].copy_from_slice(&size.to_be_bytes());
}

/// Writes a full box (version and flags after the type).
fn write_full_box(buf: &mut Vec<u8>, kind: &[u8; 4], version: u8, flags: u32, body: impl FnOnce(&mut Vec<u8>)) {
    write_box(buf, kind, |b| {
        b.extend_from_slice(&((u32::from(version) << 24) | flags).to_be_bytes());
        body(b);
    });
}

fn put_u32(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&v.to_be_bytes());
}

/// A box with a 16.16 fixed-point unity transformation matrix, as mvhd and tkhd carry.
const UNITY_MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];

fn put_u16(buf: &mut Vec<u8>, v: u16) {
    buf.extend_from_slice(&v.to_be_bytes());
}

/// Version 0 with 32-bit times and duration, or version 1 with 64-bit ones when needed.
fn put_times(buf: &mut Vec<u8>, version: u8, middle: &[u32], duration: u64) {
    // creation and modification time: 0 (unknown), then the middle fields, then the duration.
    if version == 1 {
        buf.extend_from_slice(&[0; 16]);
        middle.iter().for_each(|&v| put_u32(buf, v));
        buf.extend_from_slice(&duration.to_be_bytes());
    } else {
        buf.extend_from_slice(&[0; 8]);
        middle.iter().for_each(|&v| put_u32(buf, v));
        put_u32(buf, duration as u32);
    }
}

fn version_for(duration: u64) -> u8 {
    u8::from(duration > u64::from(u32::MAX))
}

/// `duration` in units of `from` per second, in movie units (ms), rounded to the nearest.
fn to_movie(duration: u64, from: u32) -> u64 {
    (duration * u64::from(MOVIE_TIMESCALE) + u64::from(from / 2)) / u64::from(from)
}

/// `ftyp`: ISO base media with `iso5` (default-base-is-moof), playable as plain MP4 after finalize.
pub(crate) fn ftyp(buf: &mut Vec<u8>) {
    write_box(buf, b"ftyp", |b| {
        b.extend_from_slice(b"isom");
        put_u32(b, 0x200);
        for brand in [b"isom", b"iso2", b"iso5", b"avc1", b"mp41"] {
            b.extend_from_slice(brand);
        }
    });
}

/// The reserved box that follows the initial `moov`: `free` now, a 64-bit `mdat` header later.
pub(crate) fn reserved(buf: &mut Vec<u8>) {
    write_box(buf, b"free", |b| b.extend_from_slice(&[0; 8]));
}

/// The 64-bit `mdat` header that replaces the reserved box; `len` includes this header.
pub(crate) fn large_mdat_header(len: u64) -> [u8; 16] {
    let mut h = [0u8; 16];
    h[..4].copy_from_slice(&1u32.to_be_bytes());
    h[4..8].copy_from_slice(b"mdat");
    h[8..].copy_from_slice(&len.to_be_bytes());
    h
}

/// A 32-bit `mdat` header for `payload` bytes.
pub(crate) fn mdat_header(buf: &mut Vec<u8>, payload: usize) {
    put_u32(buf, (payload + 8) as u32);
    buf.extend_from_slice(b"mdat");
}

/// What `tkhd` says about a track.
struct TrackHeader {
    id: u32,
    /// In movie units (ms).
    duration: u64,
    /// 8.8 fixed point: 0x0100 for sound, 0 for video.
    volume: u16,
    /// Presentation size, 0 for sound.
    width: u32,
    height: u32,
}

fn tkhd(buf: &mut Vec<u8>, h: &TrackHeader) {
    let version = version_for(h.duration);
    // flags: enabled | in movie.
    write_full_box(buf, b"tkhd", version, 0x3, |b| {
        put_times(b, version, &[h.id, 0], h.duration); // track_ID, reserved
        b.extend_from_slice(&[0; 8]); // reserved
        put_u16(b, 0); // layer
        put_u16(b, 0); // alternate_group
        put_u16(b, h.volume);
        put_u16(b, 0); // reserved
        UNITY_MATRIX.iter().for_each(|&v| put_u32(b, v));
        put_u32(b, h.width << 16);
        put_u32(b, h.height << 16);
    });
}

fn mdhd(buf: &mut Vec<u8>, timescale: u32, duration: u64) {
    let version = version_for(duration);
    write_full_box(buf, b"mdhd", version, 0, |b| {
        put_times(b, version, &[timescale], duration);
        put_u16(b, 0x55C4); // language "und", packed ISO-639-2/T
        put_u16(b, 0);
    });
}

fn hdlr(buf: &mut Vec<u8>, handler: &[u8; 4], name: &str) {
    write_full_box(buf, b"hdlr", 0, 0, |b| {
        put_u32(b, 0); // pre_defined
        b.extend_from_slice(handler);
        b.extend_from_slice(&[0; 12]);
        b.extend_from_slice(name.as_bytes());
        b.push(0);
    });
}

/// `dinf`: the data is in this file.
fn dinf(buf: &mut Vec<u8>) {
    write_box(buf, b"dinf", |b| {
        write_full_box(b, b"dref", 0, 0, |b| {
            put_u32(b, 1);
            write_full_box(b, b"url ", 0, 1, |_| {}); // flag 1: data in this file
        });
    });
}

/// `stbl`: the sample entry, then decoding times, sync samples (when `sync_table`), and one chunk
/// per run.
fn stbl(buf: &mut Vec<u8>, sample_entry: impl FnOnce(&mut Vec<u8>), runs: &[&Run], sync_table: bool) {
    let samples = || runs.iter().flat_map(|r| &r.samples);
    write_box(buf, b"stbl", |b| {
        write_full_box(b, b"stsd", 0, 0, |b| {
            put_u32(b, 1);
            sample_entry(b);
        });
        // Decoding times: runs of equal durations.
        let mut stts: Vec<(u32, u32)> = Vec::new();
        for s in samples() {
            match stts.last_mut() {
                Some((count, delta)) if *delta == s.duration => *count += 1,
                _ => stts.push((1, s.duration)),
            }
        }
        write_full_box(b, b"stts", 0, 0, |b| {
            put_u32(b, stts.len() as u32);
            stts.iter().for_each(|&(count, delta)| {
                put_u32(b, count);
                put_u32(b, delta);
            });
        });
        if sync_table && !runs.is_empty() {
            let keys: Vec<u32> = (1..)
                .zip(samples())
                .filter(|(_, s)| s.keyframe)
                .map(|(n, _)| n)
                .collect();
            write_full_box(b, b"stss", 0, 0, |b| {
                put_u32(b, keys.len() as u32);
                keys.iter().for_each(|&n| put_u32(b, n));
            });
        }
        // One chunk per run; stsc lists runs of chunks with equal sample counts.
        let mut stsc: Vec<(u32, u32)> = Vec::new();
        for (chunk, r) in (1..).zip(runs) {
            let count = r.samples.len() as u32;
            if stsc.last().is_none_or(|&(_, c)| c != count) {
                stsc.push((chunk, count));
            }
        }
        write_full_box(b, b"stsc", 0, 0, |b| {
            put_u32(b, stsc.len() as u32);
            stsc.iter().for_each(|&(first_chunk, count)| {
                put_u32(b, first_chunk);
                put_u32(b, count);
                put_u32(b, 1); // sample_description_index
            });
        });
        write_full_box(b, b"stsz", 0, 0, |b| {
            put_u32(b, 0); // sizes vary
            put_u32(b, samples().count() as u32);
            samples().for_each(|s| put_u32(b, s.size));
        });
        let large = runs.last().is_some_and(|r| r.data_offset > u64::from(u32::MAX));
        write_full_box(b, if large { b"co64" } else { b"stco" }, 0, 0, |b| {
            put_u32(b, runs.len() as u32);
            for r in runs {
                if large {
                    b.extend_from_slice(&r.data_offset.to_be_bytes());
                } else {
                    put_u32(b, r.data_offset as u32);
                }
            }
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_box_fills_in_the_size() {
        let mut buf = vec![];
        write_box(&mut buf, b"test", |b| b.extend_from_slice(&[1, 2, 3]));
        assert_eq!(buf, [0, 0, 0, 11, b't', b'e', b's', b't', 1, 2, 3]);
    }
}
