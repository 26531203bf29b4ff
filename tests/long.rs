//! A long class past 4 GiB, end to end: the finalized file has `co64` and a 64-bit `mdat` size,
//! FFmpeg decodes it without a word, and its duration is right. Slow and big (about 4.3 GiB on
//! disk), so `#[ignore]`d: run it with `bash scripts/long-class.sh`.

mod common;

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

use classrec::{Event, Recorder, RecorderConfig, SourceConfig, SyntheticScene};
use common::{decode_errors, probe, top_level_boxes, TempDir};

/// Up to `len` bytes of `path` from `offset`.
fn read_range(path: &Path, offset: u64, len: usize) -> Vec<u8> {
    let mut file = std::fs::File::open(path).unwrap();
    file.seek(SeekFrom::Start(offset)).unwrap();
    let mut out = Vec::new();
    file.take(len as u64).read_to_end(&mut out).unwrap();
    out
}

const PAST_4_GIB: u64 = (4 << 30) + (200 << 20);

#[test]
#[ignore = "writes 4.3 GiB; run by scripts/long-class.sh"]
fn a_recording_past_4_gib_uses_co64_and_plays() {
    let started = Instant::now();
    let dir = TempDir::new("past-4-gib");
    let config = RecorderConfig {
        // Full motion at the highest bitrate, as fast as it encodes (timestamps stay 1/fps apart).
        source: SourceConfig::Synthetic {
            size: None,
            scene: SyntheticScene::FullMotion,
            fast: true,
            frames: None,
        },
        out_dir: Some(dir.path().to_owned()),
        size: Some((1920, 1080)),
        fps: 30,
        bitrate_kbps: 50_000,
        ..RecorderConfig::default()
    };
    let mut recorder = Recorder::start(config).unwrap();
    let events = recorder.events();
    let mut committed = 0;
    while committed < PAST_4_GIB {
        match events
            .recv_timeout(Duration::from_secs(60))
            .expect("fragments keep coming")
        {
            Event::FragmentCommitted(f) => committed = f.end,
            Event::Error { message } => panic!("{message}"),
            _ => {}
        }
    }
    let recording = recorder.stop().unwrap();
    let recorded = started.elapsed();
    assert!(recording.bytes > 4 << 30, "{} bytes", recording.bytes);
    assert_eq!(top_level_boxes(&recording.path), ["ftyp", "free", "mdat", "moov"]);
    // ftyp, free (the old moov), then the mdat header: size 1, "mdat", a 64-bit size.
    let head = read_range(&recording.path, 0, 4096);
    let at = head.windows(4).position(|w| w == b"mdat").unwrap() - 4;
    assert_eq!(&head[at..at + 4], &[0, 0, 0, 1], "a 64-bit mdat size");
    let mdat_len = u64::from_be_bytes(head[at + 8..at + 16].try_into().unwrap());
    assert!(
        mdat_len > 4 << 30 && mdat_len < recording.bytes,
        "mdat of {mdat_len} bytes"
    );
    // The final moov follows the mdat, at the end of the file.
    let moov = read_range(&recording.path, at as u64 + mdat_len, usize::MAX);
    assert_eq!(&moov[4..8], b"moov");
    assert!(moov.windows(4).any(|w| w == b"co64"), "co64 in the final moov");
    let p = probe(&recording.path);
    assert!(
        (p.duration - recording.duration.as_secs_f64()).abs() < 0.1,
        "ffprobe {} s, classrec {:?}",
        p.duration,
        recording.duration
    );
    assert_eq!(decode_errors(&recording.path), "", "ffmpeg -v error must be silent");
    println!(
        "past 4 GiB: {} bytes, {:.1} s of video, recorded in {:.0} s, checked in {:.0} s more",
        recording.bytes,
        recording.duration.as_secs_f64(),
        recorded.as_secs_f64(),
        (started.elapsed() - recorded).as_secs_f64()
    );
}
