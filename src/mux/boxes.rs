//! ISO-BMFF byte layout: one function per box, nothing about recorder state.
//!
//! Every box is written here with [`write_box`]. The `mp4` crate 0.14 keeps its child box types
//! private and its `MoovBox` writes no `mvex`, so it is used only as an independent reader
//! (recovery, tests), never as our writer.

use crate::encode::TrackInfo;

/// Media timescale: ticks per second (90 kHz, the usual for video; 1/15 s and 1/30 s are exact).
pub(crate) const TIMESCALE: u32 = 90_000;
/// Movie (mvhd) timescale: milliseconds.
const MOVIE_TIMESCALE: u32 = 1000;
/// Size of the reserved box after the initial `moov`: becomes a 64-bit `mdat` header at finalize.
pub(crate) const RESERVED_LEN: u64 = 16;
/// `trun` sample flags of a sync sample (depends on no other).
pub(crate) const KEY_SAMPLE_FLAGS: u32 = 0x0200_0000;
/// `trun` sample flags of a non-sync sample (depends on others, is a difference sample).
pub(crate) const DELTA_SAMPLE_FLAGS: u32 = 0x0101_0000;
/// `tfhd` flag: offsets are relative to the start of the `moof`.
const TFHD_DEFAULT_BASE_IS_MOOF: u32 = 0x02_0000;
/// `trun` flags: data offset, and per-sample duration, size and flags.
pub(crate) const TRUN_FLAGS: u32 = 0x01 | 0x100 | 0x200 | 0x400;

/// One sample as stored: its size, how long it shows, whether it is a keyframe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SampleInfo {
    pub size: u32,
    pub duration: u32,
    pub keyframe: bool,
}

/// A committed fragment: where it starts, where its sample data starts, and its samples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FragmentIndex {
    pub start: u64,
    pub data_offset: u64,
    pub samples: Vec<SampleInfo>,
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

/// The `moov` written at start: empty sample tables and `mvex`, announcing fragments.
pub(crate) fn initial_moov(buf: &mut Vec<u8>, track: &TrackInfo) {
    write_box(buf, b"moov", |b| {
        mvhd(b, 0);
        trak(b, track, &[]);
        write_box(b, b"mvex", |b| {
            write_full_box(b, b"trex", 0, 0, |b| {
                put_u32(b, 1); // track_ID
                put_u32(b, 1); // default_sample_description_index
                put_u32(b, 0); // default_sample_duration
                put_u32(b, 0); // default_sample_size
                put_u32(b, 0); // default_sample_flags
            });
        });
    });
}

/// The `moov` written at finalize: full sample tables pointing into the fragments' data.
pub(crate) fn final_moov(buf: &mut Vec<u8>, track: &TrackInfo, fragments: &[FragmentIndex]) {
    write_box(buf, b"moov", |b| {
        mvhd(b, movie_duration(fragments));
        trak(b, track, fragments);
    });
}

fn media_duration(fragments: &[FragmentIndex]) -> u64 {
    fragments
        .iter()
        .flat_map(|f| &f.samples)
        .map(|s| u64::from(s.duration))
        .sum()
}

fn movie_duration(fragments: &[FragmentIndex]) -> u64 {
    (media_duration(fragments) * u64::from(MOVIE_TIMESCALE) + u64::from(TIMESCALE / 2)) / u64::from(TIMESCALE)
}

fn mvhd(buf: &mut Vec<u8>, duration: u64) {
    let version = version_for(duration);
    write_full_box(buf, b"mvhd", version, 0, |b| {
        put_times(b, version, &[MOVIE_TIMESCALE], duration);
        put_u32(b, 0x0001_0000); // rate 1.0
        put_u16(b, 0x0100); // volume 1.0
        b.extend_from_slice(&[0; 10]); // reserved
        UNITY_MATRIX.iter().for_each(|&v| put_u32(b, v));
        b.extend_from_slice(&[0; 24]); // pre_defined
        put_u32(b, 2); // next_track_ID
    });
}

fn trak(buf: &mut Vec<u8>, track: &TrackInfo, fragments: &[FragmentIndex]) {
    write_box(buf, b"trak", |b| {
        tkhd(b, track, movie_duration(fragments));
        write_box(b, b"mdia", |b| {
            mdhd(b, media_duration(fragments));
            write_full_box(b, b"hdlr", 0, 0, |b| {
                put_u32(b, 0); // pre_defined
                b.extend_from_slice(b"vide");
                b.extend_from_slice(&[0; 12]);
                b.extend_from_slice(b"classrec video\0");
            });
            write_box(b, b"minf", |b| {
                write_full_box(b, b"vmhd", 0, 1, |b| b.extend_from_slice(&[0; 8]));
                write_box(b, b"dinf", |b| {
                    write_full_box(b, b"dref", 0, 0, |b| {
                        put_u32(b, 1);
                        write_full_box(b, b"url ", 0, 1, |_| {}); // flag 1: data in this file
                    });
                });
                stbl(b, track, fragments);
            });
        });
    });
}

fn tkhd(buf: &mut Vec<u8>, track: &TrackInfo, duration: u64) {
    let version = version_for(duration);
    write_full_box(buf, b"tkhd", version, 0x3, |b| {
        // track_ID 1, reserved, then duration (enabled | in movie).
        put_times(b, version, &[1, 0], duration);
        b.extend_from_slice(&[0; 8]); // reserved
        put_u16(b, 0); // layer
        put_u16(b, 0); // alternate_group
        put_u16(b, 0); // volume: 0 for video
        put_u16(b, 0); // reserved
        UNITY_MATRIX.iter().for_each(|&v| put_u32(b, v));
        put_u32(b, track.width << 16);
        put_u32(b, track.height << 16);
    });
}

fn mdhd(buf: &mut Vec<u8>, duration: u64) {
    let version = version_for(duration);
    write_full_box(buf, b"mdhd", version, 0, |b| {
        put_times(b, version, &[TIMESCALE], duration);
        put_u16(b, 0x55C4); // language "und", packed ISO-639-2/T
        put_u16(b, 0);
    });
}

fn stbl(buf: &mut Vec<u8>, track: &TrackInfo, fragments: &[FragmentIndex]) {
    let samples = || fragments.iter().flat_map(|f| &f.samples);
    write_box(buf, b"stbl", |b| {
        write_full_box(b, b"stsd", 0, 0, |b| {
            put_u32(b, 1);
            avc1(b, track);
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
        if !fragments.is_empty() {
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
        // One chunk per fragment; stsc lists runs of chunks with equal sample counts.
        let mut stsc: Vec<(u32, u32)> = Vec::new();
        for (chunk, f) in (1..).zip(fragments) {
            let count = f.samples.len() as u32;
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
        let large = fragments.last().is_some_and(|f| f.data_offset > u64::from(u32::MAX));
        write_full_box(b, if large { b"co64" } else { b"stco" }, 0, 0, |b| {
            put_u32(b, fragments.len() as u32);
            for f in fragments {
                if large {
                    b.extend_from_slice(&f.data_offset.to_be_bytes());
                } else {
                    put_u32(b, f.data_offset as u32);
                }
            }
        });
    });
}

/// The sample entry: `avc1` with its `avcC` (SPS/PPS out of band, 4-byte NAL lengths).
fn avc1(buf: &mut Vec<u8>, track: &TrackInfo) {
    write_box(buf, b"avc1", |b| {
        b.extend_from_slice(&[0; 6]); // reserved
        put_u16(b, 1); // data_reference_index
        b.extend_from_slice(&[0; 16]); // pre_defined, reserved
        put_u16(b, track.width as u16);
        put_u16(b, track.height as u16);
        put_u32(b, 0x0048_0000); // 72 dpi
        put_u32(b, 0x0048_0000);
        put_u32(b, 0); // reserved
        put_u16(b, 1); // frame_count
        let mut name = [0u8; 32];
        name[0] = 8;
        name[1..9].copy_from_slice(b"OpenH264");
        b.extend_from_slice(&name);
        put_u16(b, 0x0018); // depth
        put_u16(b, 0xFFFF); // pre_defined -1
        write_box(b, b"avcC", |b| avcc(b, &track.sps, &track.pps));
    });
}

fn avcc(buf: &mut Vec<u8>, sps: &[u8], pps: &[u8]) {
    let profile = sps.get(1).copied().unwrap_or(66);
    buf.extend_from_slice(&[
        1,
        profile,
        sps.get(2).copied().unwrap_or(0),
        sps.get(3).copied().unwrap_or(30),
    ]);
    buf.push(0xFF); // 4-byte NAL lengths
    buf.push(0xE1); // one SPS
    put_u16(buf, sps.len() as u16);
    buf.extend_from_slice(sps);
    buf.push(1); // one PPS
    put_u16(buf, pps.len() as u16);
    buf.extend_from_slice(pps);
    if matches!(profile, 100 | 110 | 122 | 144) {
        // High profiles: chroma 4:2:0, 8-bit, no SPS extensions (ISO/IEC 14496-15 5.3.3.1).
        buf.extend_from_slice(&[0xFC | 1, 0xF8, 0xF8, 0]);
    }
}

/// A `moof` for `samples` whose data follows in an `mdat` right after it.
pub(crate) fn moof(buf: &mut Vec<u8>, sequence: u32, base_decode_time: u64, samples: &[SampleInfo]) {
    let start = buf.len();
    let mut data_offset_at = 0;
    write_box(buf, b"moof", |b| {
        write_full_box(b, b"mfhd", 0, 0, |b| put_u32(b, sequence));
        write_box(b, b"traf", |b| {
            write_full_box(b, b"tfhd", 0, TFHD_DEFAULT_BASE_IS_MOOF, |b| put_u32(b, 1));
            write_full_box(b, b"tfdt", 1, 0, |b| {
                b.extend_from_slice(&base_decode_time.to_be_bytes())
            });
            write_full_box(b, b"trun", 0, TRUN_FLAGS, |b| {
                put_u32(b, samples.len() as u32);
                data_offset_at = b.len();
                put_u32(b, 0); // data_offset, patched below
                for s in samples {
                    put_u32(b, s.duration);
                    put_u32(b, s.size);
                    put_u32(
                        b,
                        if s.keyframe {
                            KEY_SAMPLE_FLAGS
                        } else {
                            DELTA_SAMPLE_FLAGS
                        },
                    );
                }
            });
        });
    });
    // Sample data starts after this moof and the 8-byte mdat header.
    let data_offset = (buf.len() - start + 8) as u32;
    buf[data_offset_at..data_offset_at + 4].copy_from_slice(&data_offset.to_be_bytes());
}

/// A 32-bit `mdat` header for `payload` bytes.
pub(crate) fn mdat_header(buf: &mut Vec<u8>, payload: usize) {
    put_u32(buf, (payload + 8) as u32);
    buf.extend_from_slice(b"mdat");
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

    #[test]
    fn moof_data_offset_points_past_the_mdat_header() {
        let mut buf = vec![];
        let samples = [SampleInfo {
            size: 10,
            duration: 6000,
            keyframe: true,
        }];
        moof(&mut buf, 1, 0, &samples);
        // trun: header(12) + count(4) then data_offset.
        let trun = buf.windows(4).position(|w| w == b"trun").unwrap() - 4;
        let offset = u32::from_be_bytes(buf[trun + 16..trun + 20].try_into().unwrap());
        assert_eq!(offset as usize, buf.len() + 8);
    }
}
