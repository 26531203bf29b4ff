//! The video track's boxes: `trak` with `vmhd` and the `avc1` sample entry.

use super::{
    dinf, hdlr, mdhd, put_u16, put_u32, stbl, tkhd, to_movie, write_box, write_full_box, Run, TrackHeader, TIMESCALE,
    VIDEO_TRACK_ID,
};
use crate::encode::TrackInfo;

/// Media duration of the video runs, in ticks.
pub(super) fn media_duration(runs: &[&Run]) -> u64 {
    runs.iter().map(|r| r.duration()).sum()
}

/// Duration of the video runs in movie units (ms).
pub(super) fn movie_duration(runs: &[&Run]) -> u64 {
    to_movie(media_duration(runs), TIMESCALE)
}

/// The video `trak`: its runs are the fragments' video runs (empty in the initial `moov`).
pub(super) fn trak(buf: &mut Vec<u8>, track: &TrackInfo, runs: &[&Run]) {
    write_box(buf, b"trak", |b| {
        let header = TrackHeader {
            id: VIDEO_TRACK_ID,
            duration: movie_duration(runs),
            volume: 0,
            width: track.width,
            height: track.height,
        };
        tkhd(b, &header);
        write_box(b, b"mdia", |b| {
            mdhd(b, TIMESCALE, media_duration(runs));
            hdlr(b, b"vide", "classrec video");
            write_box(b, b"minf", |b| {
                write_full_box(b, b"vmhd", 0, 1, |b| b.extend_from_slice(&[0; 8]));
                dinf(b);
                stbl(b, |b| avc1(b, track), runs, true);
            });
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
