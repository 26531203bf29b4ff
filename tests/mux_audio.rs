//! The sound track in the muxer: H.264 from the crate's own encoder and AAC from `FdkAacEncoder`
//! (a 1 kHz tone) written by `HybridWriter`, checked with FFmpeg; and crash recovery of such a file.
//! Needs the `bench` feature (the muxer is exposed as `classrec::internals` only there).
#![cfg(feature = "bench")]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use classrec::capture::SyntheticSource;
use classrec::internals::{H264Encoder, H264Settings, HybridWriter, Sample, TrackInfo};
use classrec::{AudioEncoder, ContentType, FdkAacEncoder, Frame, PictureMaker, SyntheticScene};
use common::{decode_errors, top_level_boxes, TempDir};

const FPS: u64 = 15;
const SIZE: (u32, u32) = (320, 180);

/// `seconds` of the synthetic classroom at 15 fps, encoded; a keyframe every 2 s.
fn video(seconds: u64) -> (TrackInfo, Vec<Sample>) {
    let (w, h) = SIZE;
    let mut scene = SyntheticSource::new(w, h, FPS as u32, SyntheticScene::Classroom, None, None);
    let mut encoder = H264Encoder::new(H264Settings {
        bitrate_bps: 300_000,
        fps: FPS as u32,
        content: ContentType::Screen,
    })
    .unwrap();
    let mut maker = PictureMaker::new(w, h);
    let mut track = None;
    let mut samples = Vec::new();
    for i in 0..seconds * FPS {
        let timestamp = Duration::from_nanos(i * 1_000_000_000 / FPS);
        let frame = Frame {
            width: w,
            height: h,
            stride: w as usize * 4,
            data: scene.render(i),
            timestamp,
        };
        let made = maker.make(&frame).unwrap();
        let Some(picture) = encoder.encode(made.i420(), timestamp, i % (2 * FPS) == 0).unwrap() else {
            continue;
        };
        if let (Some(sps), Some(pps)) = (&picture.sps, &picture.pps) {
            track.get_or_insert_with(|| TrackInfo {
                width: w,
                height: h,
                sps: sps.clone(),
                pps: pps.clone(),
            });
        }
        samples.push(Sample {
            timestamp,
            data: picture.data,
            keyframe: picture.keyframe,
        });
    }
    (track.expect("the first picture carries SPS/PPS"), samples)
}

/// Writes `seconds` of video only, as the recorder did before sound.
fn write_video_only(path: &Path, seconds: u64) {
    let (track, samples) = video(seconds);
    let file = std::fs::File::create(path).unwrap();
    let mut writer = HybridWriter::new(file, path.to_owned(), Duration::from_secs(2));
    for sample in samples {
        writer.push(sample, Some(&track)).unwrap();
    }
    writer.finish(Duration::from_secs(seconds), None).unwrap();
}

/// A 1 kHz tone at -12 dBFS, mono, from sample `from` for `n` samples.
fn tone(from: u64, n: u64) -> Vec<f32> {
    (from..from + n)
        .map(|i| 0.25 * (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 48_000.0).sin())
        .collect()
}

/// Records video and sound as the recorder does: after each picture, the sound up to the next
/// one. The video stops after `video_seconds` (a stalled source), the sound goes on to `seconds`.
/// With `finish`, the file is finalized; without, it is left as a crash leaves it.
fn record(path: &Path, seconds: u64, video_seconds: u64, finish: bool) {
    let (track, samples) = video(video_seconds);
    let mut aac = FdkAacEncoder::new(1, None).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = HybridWriter::new(file, path.to_owned(), Duration::from_secs(2)).with_audio(aac.info().clone());
    let mut samples = samples.into_iter().peekable();
    let mut fed = 0;
    for step in 1..=seconds * FPS {
        while samples
            .peek()
            .is_some_and(|s| s.timestamp < Duration::from_nanos(step * 1_000_000_000 / FPS))
        {
            writer.push(samples.next().unwrap(), Some(&track)).unwrap();
        }
        let until = step * 48_000 / FPS;
        for packet in aac.encode(&tone(fed, until - fed)).unwrap() {
            writer.push_audio(packet).unwrap();
        }
        fed = until;
    }
    if finish {
        for packet in aac.flush().unwrap() {
            writer.push_audio(packet).unwrap();
        }
        writer
            .finish(Duration::from_secs(seconds), Some(aac.samples_in()))
            .unwrap();
    }
}

/// Each stream's codec, sample rate and duration, as ffprobe reports them.
fn streams(path: &Path) -> Vec<(String, u64, f64)> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-print_format", "json", "-show_streams"])
        .arg(path)
        .output()
        .expect("ffprobe is installed");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("ffprobe failed: {}", String::from_utf8_lossy(&out.stderr)));
    json["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let number = |key: &str| s[key].as_str().and_then(|v| v.parse::<f64>().ok());
            (
                s["codec_name"].as_str().unwrap_or("").to_owned(),
                number("sample_rate").unwrap_or(0.0) as u64,
                number("duration").unwrap_or(f64::NAN),
            )
        })
        .collect()
}

/// Two streams, H.264 and 48 kHz AAC, whose durations agree within `tolerance` seconds; FFmpeg
/// decodes both without a word. Returns the two durations.
fn assert_plays_with_sound(path: &Path, tolerance: f64, label: &str) -> (f64, f64) {
    let streams = streams(path);
    eprintln!("{label}: {streams:?}");
    assert_eq!(streams.len(), 2, "{label}: {streams:?}");
    assert_eq!(
        (streams[0].0.as_str(), streams[1].0.as_str()),
        ("h264", "aac"),
        "{label}"
    );
    assert_eq!(streams[1].1, 48_000, "{label}");
    let (video, audio) = (streams[0].2, streams[1].2);
    assert!(
        (video - audio).abs() <= tolerance,
        "{label}: video {video} s, audio {audio} s"
    );
    assert_eq!(decode_errors(path), "", "{label}: ffmpeg -v error printed something");
    (video, audio)
}

#[test]
fn ten_seconds_with_sound_give_two_streams_of_equal_length() {
    let dir = TempDir::new("mux-audio-10s");
    let path = dir.path().join("sound.mp4");
    record(&path, 10, 10, true);
    assert_eq!(top_level_boxes(&path), ["ftyp", "free", "mdat", "moov"]);
    let (video, audio) = assert_plays_with_sound(&path, 0.025, "10 s");
    assert!(
        (video - 10.0).abs() < 0.01 && (audio - 10.0).abs() < 0.025,
        "{video} {audio}"
    );
    // The finalized file's duration as the upload reads it (the `mp4` crate).
    let recovered = classrec::recover(&path).unwrap();
    assert!(recovered.already_finalized);
    assert!((recovered.duration.as_secs_f64() - 10.0).abs() < 0.03, "{recovered:?}");
}

#[test]
fn sound_goes_on_alone_while_the_video_stalls() {
    let dir = TempDir::new("mux-audio-stall");
    let path = dir.path().join("stall.mp4");
    record(&path, 10, 3, true);
    let data = std::fs::read(&path).unwrap();
    // Some fragment holds only sound: a moof whose one traf is track 2.
    let moofs: Vec<&[u8]> = data
        .windows(4)
        .enumerate()
        .filter(|(_, w)| w == b"moof")
        .map(|(at, _)| {
            let len = u32::from_be_bytes(data[at - 4..at].try_into().unwrap()) as usize;
            &data[at - 4..at - 4 + len]
        })
        .collect();
    let trafs = |moof: &[u8]| moof.windows(4).filter(|w| w == b"traf").count();
    assert!(moofs.iter().any(|m| trafs(m) == 1), "no fragment of sound alone");
    assert_plays_with_sound(&path, 0.025, "stalled video");
}

#[test]
fn a_torn_recording_with_sound_is_recovered_with_both_tracks() {
    let dir = TempDir::new("mux-audio-torn");
    let path = dir.path().join("torn.mp4");
    record(&path, 9, 9, false);
    // Cut the last fragment in half, as a crash while writing it would.
    let boxes = top_level_boxes(&path);
    assert_eq!(boxes[..3], ["ftyp", "moov", "free"]);
    let data = std::fs::read(&path).unwrap();
    let mut at = 0;
    let mut last_moof = 0;
    while at + 8 <= data.len() {
        if &data[at + 4..at + 8] == b"moof" {
            last_moof = at;
        }
        at += u32::from_be_bytes(data[at..at + 4].try_into().unwrap()) as usize;
    }
    let cut = (last_moof + data.len()) / 2;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(cut as u64)
        .unwrap();
    let recovered = classrec::recover(&path).unwrap();
    eprintln!("{recovered:?}");
    assert!(
        !recovered.already_finalized && recovered.fragments >= 3,
        "{recovered:?}"
    );
    assert_eq!(recovered.dropped_bytes, (cut - last_moof) as u64);
    assert_eq!(top_level_boxes(&path), ["ftyp", "free", "mdat", "moov"]);
    // A crash leaves no flush: the sound ends where the encoder had got to, its delay (priming)
    // and up to one frame it held behind the pictures.
    let (video, audio) = assert_plays_with_sound(&path, (2048.0 + 1024.0) / 48_000.0, "recovered");
    assert!(audio <= video && (video - recovered.duration.as_secs_f64()).abs() < 0.001);
}

#[test]
fn without_sound_the_file_has_one_video_track_as_before() {
    let dir = TempDir::new("mux-audio-none");
    let path = dir.path().join("video.mp4");
    write_video_only(&path, 4);
    let streams = streams(&path);
    assert_eq!(streams.len(), 1, "{streams:?}");
    assert_eq!((streams[0].0.as_str(), streams[0].2), ("h264", 4.0));
    let data = std::fs::read(&path).unwrap();
    assert!(!data.windows(4).any(|w| w == b"mp4a" || w == b"elst"));
    assert_eq!(decode_errors(&path), "");
}
