//! Long classes: a 3-hour class at a high bitrate passes 4 GiB, and a 10-hour one must overflow no
//! offset, duration, sample count or box size. Checked on the box writer with an independent
//! reader (the `mp4` crate), without writing gigabytes.

use std::io::Cursor;

use mp4::{MoovBox, ReadBox};

use super::{final_moov, large_mdat_header, stbl, FragmentIndex, Run, SampleInfo, AUDIO_TIMESCALE, TIMESCALE};
use crate::encode::TrackInfo;

const GIB: u64 = 1 << 30;

fn run(data_offset: u64, samples: usize, size: u32, duration: u32) -> Run {
    Run {
        data_offset,
        samples: (0..samples)
            .map(|i| SampleInfo {
                size,
                duration,
                keyframe: i == 0,
            })
            .collect(),
    }
}

/// The chunk offset table's kind and entries in an `stbl` body.
fn chunk_offsets(buf: &[u8]) -> (String, Vec<u64>) {
    for kind in [b"co64", b"stco"] {
        if let Some(at) = buf.windows(4).position(|w| w == kind) {
            let count = u32::from_be_bytes(buf[at + 8..at + 12].try_into().unwrap()) as usize;
            let width = if kind == b"co64" { 8 } else { 4 };
            let entries = (0..count)
                .map(|i| {
                    let e = &buf[at + 12 + i * width..at + 12 + (i + 1) * width];
                    e.iter().fold(0u64, |v, b| (v << 8) | u64::from(*b))
                })
                .collect();
            return (String::from_utf8_lossy(kind).into_owned(), entries);
        }
    }
    panic!("no chunk offset table");
}

#[test]
fn offsets_past_4_gib_use_co64_and_the_mdat_a_64_bit_size() {
    let small = [run(1000, 3, 100, 6000), run(u64::from(u32::MAX), 3, 100, 6000)];
    let mut buf = Vec::new();
    stbl(&mut buf, |_| {}, &small.iter().collect::<Vec<_>>(), true);
    assert_eq!(chunk_offsets(&buf), ("stco".into(), vec![1000, u64::from(u32::MAX)]));

    let large = [
        run(1000, 3, 100, 6000),
        run(4 * GIB + 1, 3, 100, 6000),
        run(200 * GIB, 3, 100, 6000),
    ];
    let mut buf = Vec::new();
    stbl(&mut buf, |_| {}, &large.iter().collect::<Vec<_>>(), true);
    assert_eq!(
        chunk_offsets(&buf),
        ("co64".into(), vec![1000, 4 * GIB + 1, 200 * GIB]),
        "a file past 4 GiB needs 64-bit chunk offsets, all of them"
    );

    let header = large_mdat_header(6 * GIB + 5);
    assert_eq!(
        &header[..8],
        &[0, 0, 0, 1, b'm', b'd', b'a', b't'],
        "size 1: a 64-bit size follows"
    );
    assert_eq!(u64::from_be_bytes(header[8..].try_into().unwrap()), 6 * GIB + 5);
}

#[test]
fn ten_hours_at_60_fps_and_50_mbit_s_with_sound_overflow_nothing() {
    // 18,000 fragments of 2 s: 120 pictures of 1/60 s (1500 ticks) and 94 AAC frames each, at
    // 50 Mbit/s (12.5 MB per fragment): 225 GB in all.
    let fragment_bytes = 12_500_000u64;
    let fragments: Vec<FragmentIndex> = (0..18_000u64)
        .map(|i| {
            let start = 1000 + i * fragment_bytes;
            FragmentIndex {
                start,
                video: run(start + 2000, 120, 100_000, 1500),
                audio: run(start + 2000 + 12_000_000, 94, 400, 1024),
            }
        })
        .collect();
    let video = TrackInfo {
        width: 1920,
        height: 1080,
        sps: vec![0x67, 0x64, 0, 0x28],
        pps: vec![0x68, 0xee, 0x3c, 0x80],
    };
    let audio = super::audio::mono_64k();
    let mut buf = Vec::new();
    final_moov(&mut buf, &video, Some(&audio), None, &fragments);
    let mut cursor = Cursor::new(&buf[..]);
    cursor.set_position(8); // the crate reads a box body positioned after its header
    let moov = MoovBox::read_box(&mut cursor, buf.len() as u64).expect("the mp4 crate reads it");

    let seconds = 10 * 3600;
    // 94 AAC frames are 2.005 s: the sound is the longer track, and the movie lasts as long.
    let audio_samples = 18_000 * 94 * 1024 - 2048;
    let audio_ms = (audio_samples * 1000 + 24_000) / 48_000;
    assert_eq!(moov.mvhd.duration, audio_ms, "mvhd in ms");
    let v = &moov.traks[0];
    assert_eq!(
        v.mdia.mdhd.duration,
        seconds * u64::from(TIMESCALE),
        "3.24e9 ticks: still fits"
    );
    assert_eq!(v.mdia.minf.stbl.stsz.sample_count, 18_000 * 120);
    let co64 = v.mdia.minf.stbl.co64.as_ref().expect("co64 for a 225 GB file");
    assert_eq!(co64.entries.last(), Some(&(1000 + 17_999 * fragment_bytes + 2000)));
    let a = &moov.traks[1];
    assert_eq!(
        a.mdia.mdhd.duration,
        audio_samples + 2048,
        "the media, priming included (elst cuts it)"
    );
    assert!(a.mdia.mdhd.duration < u64::from(u32::MAX) * u64::from(AUDIO_TIMESCALE));
    assert!(a.mdia.minf.stbl.co64.is_some());
    // Past 13.25 h the video's 90 kHz duration needs mdhd version 1; the writer switches by itself.
    assert!(super::version_for(14 * 3600 * u64::from(TIMESCALE)) == 1);
}
