//! Recording end to end, checked by FFmpeg: format, duration, picture fidelity, still content,
//! letter-boxing, pause, and every bad input the issue names.

mod common;

use std::io::Write;
use std::time::Duration;

use classrec::capture::SyntheticSource;
use classrec::{
    Error, Event, Frame, FrameSource, PictureMaker, Recorder, RecorderConfig, SourceConfig, SourceEvent, StopReason,
    SyntheticScene,
};
use common::{decode_errors, probe, psnr_y, top_level_boxes, TempDir};

fn synthetic(scene: SyntheticScene, seconds: u64, fps: u32, dir: &TempDir) -> RecorderConfig {
    RecorderConfig {
        source: SourceConfig::Synthetic {
            size: None,
            scene,
            fast: true,
            frames: Some(seconds * u64::from(fps)),
        },
        out_dir: Some(dir.path().to_owned()),
        size: Some((1280, 720)),
        fps,
        ..RecorderConfig::default()
    }
}

/// Asserts `actual` seconds is within one frame of `expected`.
fn assert_within_a_frame(actual: f64, expected: f64, fps: u32, what: &str) {
    assert!(
        (actual - expected).abs() <= 1.0 / f64::from(fps) + 1e-3,
        "{what}: {actual} s, expected {expected} s"
    );
}

#[test]
fn synthetic_classroom_gives_an_ordinary_mp4_with_the_right_duration() {
    let dir = TempDir::new("classroom");
    let mut recorder = Recorder::start(synthetic(SyntheticScene::Classroom, 10, 15, &dir)).unwrap();
    let recording = recorder.wait().unwrap();
    assert_eq!(
        recording.stop_reason,
        StopReason::SourceEnded("synthetic scene finished after 150 frames".into())
    );
    assert_eq!(recording.stats.frames_captured, 150);
    assert_eq!(recording.stats.frames_encoded + recording.stats.frames_skipped, 150);

    let p = probe(&recording.path);
    assert!(p.format.contains("mp4"), "{}", p.format);
    assert_eq!((p.codec.as_str(), p.width, p.height), ("h264", 1280, 720));
    assert_within_a_frame(p.duration, 10.0, 15, "ffprobe duration");
    assert_within_a_frame(recording.duration.as_secs_f64(), 10.0, 15, "reported duration");
    assert_eq!(decode_errors(&recording.path), "", "ffmpeg -v error must print nothing");
    assert_eq!(top_level_boxes(&recording.path), ["ftyp", "free", "mdat", "moov"]);
    // Fragments every 2 s of media (a crash loses at most that), keyframes every 10 s at most:
    // fragments do not need to start on one.
    assert!(
        (4..=6).contains(&recording.stats.fragments),
        "{} fragments for 10 s",
        recording.stats.fragments
    );
    let keys: Vec<f64> = p.packets.iter().filter(|(_, k)| *k).map(|(t, _)| *t).collect();
    assert_eq!(keys.first(), Some(&0.0), "{keys:?}");
    assert!(keys.windows(2).all(|w| w[1] - w[0] <= 10.1), "{keys:?}");
    // The mp4 crate, a second independent reader, agrees on the duration.
    let file = std::fs::File::open(&recording.path).unwrap();
    let size = file.metadata().unwrap().len();
    let reader = mp4::Mp4Reader::read_header(std::io::BufReader::new(file), size).unwrap();
    assert_within_a_frame(reader.duration().as_secs_f64(), 10.0, 15, "mp4 crate duration");
}

#[test]
fn raw_frames_come_back_with_high_fidelity_and_exact_timing() {
    let dir = TempDir::new("raw");
    let (w, h, fps, frames) = (1280u32, 720u32, 15u32, 45u64);
    let raw = dir.path().join("input.bgra");
    let mut scene = SyntheticSource::new(w, h, fps, SyntheticScene::Classroom, None, None);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&raw).unwrap());
    for i in 0..frames {
        out.write_all(scene.render(i)).unwrap();
    }
    drop(out);
    let out_dir = dir.path().join("out");
    let config = RecorderConfig {
        source: SourceConfig::Raw {
            path: raw.clone(),
            size: (w, h),
        },
        out_dir: Some(out_dir),
        size: None, // the source's own size
        fps,
        ..RecorderConfig::default()
    };
    let recording = Recorder::start(config).unwrap().wait().unwrap();
    let p = probe(&recording.path);
    assert_eq!((p.width, p.height), (w, h));
    assert_eq!(p.packets.len() as u64, frames, "every input frame is in the file");
    for (i, (pts, _)) in p.packets.iter().enumerate() {
        assert!((pts - i as f64 / f64::from(fps)).abs() < 1e-3, "frame {i} at {pts}");
    }
    assert_within_a_frame(p.duration, frames as f64 / f64::from(fps), fps, "duration");
    let (avg, min) = psnr_y(&recording.path, &raw, (w, h), fps);
    eprintln!("PSNR-Y average {avg:.2} dB, worst frame {min:.2} dB");
    assert!(avg >= 38.0, "PSNR-Y {avg:.2} dB is below 38 dB");
}

#[test]
fn a_still_slide_encodes_only_a_handful_of_frames_but_keeps_its_duration() {
    let dir = TempDir::new("still");
    let recording = Recorder::start(synthetic(SyntheticScene::StillSlide, 60, 15, &dir))
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(recording.stats.frames_captured, 900);
    // One keyframe at the start and one per 10 s of still picture.
    assert!(
        recording.stats.frames_encoded <= 8,
        "encoded {} frames",
        recording.stats.frames_encoded
    );
    assert_eq!(recording.stats.frames_skipped, 900 - recording.stats.frames_encoded);
    let p = probe(&recording.path);
    assert_within_a_frame(p.duration, 60.0, 15, "still slide duration");
    assert_eq!(decode_errors(&recording.path), "");
}

/// One step of a [`ScriptedWindow`]: a solid frame (width, height, time in ms, shade), or
/// `None` for a minimise.
type Step = Option<(u32, u32, u64, u8)>;

/// A scripted stand-in for a window: frames of changing (odd) sizes, a minimise, then closing.
struct ScriptedWindow {
    script: Vec<Step>,
}

impl FrameSource for ScriptedWindow {
    fn size_hint(&self) -> Option<(u32, u32)> {
        None
    }
    fn next_event(&mut self, _timeout: Duration, pictures: &mut PictureMaker) -> classrec::Result<SourceEvent> {
        if self.script.is_empty() {
            return Ok(SourceEvent::Ended("window closed".into()));
        }
        let Some((width, height, ms, shade)) = self.script.remove(0) else {
            return Ok(SourceEvent::Hidden);
        };
        let stride = width as usize * 4 + 12; // padded rows, as real captures have
        let pixels = vec![shade; stride * height as usize];
        let frame = Frame {
            width,
            height,
            stride,
            data: &pixels,
            timestamp: Duration::from_millis(ms),
        };
        Ok(SourceEvent::Picture(pictures.make(&frame)?))
    }
    fn now(&self) -> Option<Duration> {
        None
    }
}

#[test]
fn window_like_source_resizes_hides_and_closes_cleanly() {
    let dir = TempDir::new("window");
    let script = vec![
        Some((333, 201, 0, 40)),
        Some((333, 201, 100, 90)),
        None,
        Some((1001, 77, 200, 140)),
        Some((64, 480, 300, 200)),
        Some((640, 360, 400, 250)),
    ];
    let config = RecorderConfig {
        out_dir: Some(dir.path().to_owned()),
        size: Some((640, 360)),
        fps: 10,
        ..RecorderConfig::default()
    };
    let mut recorder = Recorder::start_with_source(config, Box::new(ScriptedWindow { script })).unwrap();
    let events = recorder.events();
    let recording = recorder.wait().unwrap();
    assert_eq!(recording.stop_reason, StopReason::SourceEnded("window closed".into()));
    let events: Vec<Event> = events.try_iter().collect();
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Warning { message } if message.contains("minimised"))));
    assert!(matches!(events.first(), Some(Event::Started { .. })));
    assert!(matches!(events.last(), Some(Event::Stopped(_))));
    let p = probe(&recording.path);
    assert_eq!((p.width, p.height), (640, 360), "the output size never changes");
    assert_eq!(p.packets.len(), 5);
    assert_within_a_frame(p.duration, 0.5, 10, "duration");
    assert_eq!(decode_errors(&recording.path), "");
}

#[test]
fn pause_cuts_the_paused_time_out_of_the_file() {
    let dir = TempDir::new("pause");
    let config = RecorderConfig {
        source: SourceConfig::Synthetic {
            size: None,
            scene: SyntheticScene::Classroom,
            fast: false,
            frames: None,
        },
        out_dir: Some(dir.path().to_owned()),
        size: Some((320, 180)),
        fps: 20,
        ..RecorderConfig::default()
    };
    let mut recorder = Recorder::start(config).unwrap();
    let events = recorder.events();
    std::thread::sleep(Duration::from_millis(1000));
    recorder.pause();
    std::thread::sleep(Duration::from_millis(1500));
    recorder.resume();
    std::thread::sleep(Duration::from_millis(1000));
    let recording = recorder.stop().unwrap();
    let p = probe(&recording.path);
    assert!(
        (p.duration - 2.0).abs() < 0.25,
        "2 s recorded around a 1.5 s pause, file has {} s",
        p.duration
    );
    // Playback runs straight on: no gap longer than a couple of frames between samples.
    let gaps: Vec<f64> = p.packets.windows(2).map(|w| w[1].0 - w[0].0).collect();
    assert!(gaps.iter().all(|g| *g < 0.2), "gaps {gaps:?}");
    let kinds: Vec<_> = events
        .try_iter()
        .filter(|e| matches!(e, Event::Paused | Event::Resumed))
        .collect();
    assert_eq!(kinds.len(), 2);
    assert_eq!(decode_errors(&recording.path), "");
}

#[test]
fn bad_configurations_are_refused_with_the_fix() {
    let dir = TempDir::new("badconfig");
    let base = synthetic(SyntheticScene::Classroom, 1, 15, &dir);
    let err = |config: RecorderConfig| Recorder::start(config).unwrap_err().to_string();
    assert!(err(RecorderConfig { fps: 0, ..base.clone() }).contains("fps is 0; use 1 to 60"));
    assert!(err(RecorderConfig {
        fps: 120,
        ..base.clone()
    })
    .contains("fps is 120"));
    assert!(err(RecorderConfig {
        bitrate_kbps: 0,
        ..base.clone()
    })
    .contains("bitrate_kbps is 0"));
    assert!(err(RecorderConfig {
        size: Some((0, 0)),
        ..base.clone()
    })
    .contains("0x0"));
    assert!(err(RecorderConfig {
        size: Some((7680, 4320)),
        ..base.clone()
    })
    .contains("3840x2160"));
    // A folder that cannot exist: below a regular file.
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, b"x").unwrap();
    let message = err(RecorderConfig {
        out_dir: Some(file.join("record")),
        ..base.clone()
    });
    assert!(
        message.contains("cannot create folder") && message.contains("not-a-folder"),
        "{message}"
    );
    assert!(message.contains("choose a writable folder"), "{message}");
    // Nothing was recorded anywhere by the refused starts.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn a_raw_input_with_a_short_last_frame_keeps_the_whole_frames() {
    let dir = TempDir::new("shortraw");
    let (w, h) = (64u32, 48u32);
    let raw = dir.path().join("short.bgra");
    let mut bytes = Vec::new();
    for i in 0..30u8 {
        bytes.extend(std::iter::repeat_n(i * 8, (w * h * 4) as usize));
    }
    bytes.extend_from_slice(&[1, 2, 3]);
    std::fs::write(&raw, bytes).unwrap();
    let config = RecorderConfig {
        source: SourceConfig::Raw {
            path: raw,
            size: (w, h),
        },
        out_dir: Some(dir.path().join("out")),
        size: None,
        fps: 10,
        ..RecorderConfig::default()
    };
    let recording = Recorder::start(config).unwrap().wait().unwrap();
    match &recording.stop_reason {
        StopReason::Failed(m) => assert!(m.contains("inside frame 30: 3 of 12288 bytes"), "{m}"),
        other => panic!("expected a failure naming the short frame, got {other:?}"),
    }
    let p = probe(&recording.path);
    assert_eq!(p.packets.len(), 30);
    assert_within_a_frame(p.duration, 3.0, 10, "duration");
    assert_eq!(decode_errors(&recording.path), "");
}

#[test]
fn pushed_frames_are_recorded_and_bad_pushes_refused() {
    let dir = TempDir::new("pushed");
    let config = RecorderConfig {
        source: SourceConfig::Pushed,
        out_dir: Some(dir.path().to_owned()),
        size: Some((320, 240)),
        fps: 10,
        ..RecorderConfig::default()
    };
    let mut recorder = Recorder::start(config).unwrap();
    let pusher = recorder.pusher().unwrap().clone();
    for i in 0..20u64 {
        let shade = (i * 12) as u8;
        let frame = vec![shade; 321 * 4 * 241];
        pusher
            .push_frame(&frame, 321, 241, 321 * 4, Some(Duration::from_millis(i * 100)))
            .unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
    let short = pusher.push_frame(&[0; 10], 321, 241, 321 * 4, None).unwrap_err();
    assert!(short.to_string().contains("10 bytes given"), "{short}");
    let recording = recorder.stop().unwrap();
    let s = recording.stats;
    assert_eq!(s.frames_captured, 20);
    assert_eq!(s.frames_encoded + s.frames_skipped + s.frames_dropped, 20, "{s:?}");
    assert!(matches!(
        pusher.push_frame(&[0; 16], 2, 2, 8, None),
        Err(Error::Stopped)
    ));
    assert!(
        matches!(recorder.stop(), Err(Error::Stopped)),
        "stop twice is a defined error"
    );
    let p = probe(&recording.path);
    assert_eq!((p.width, p.height), (320, 240));
    assert_eq!(decode_errors(&recording.path), "");
}

#[test]
fn a_slow_encoder_drops_frames_instead_of_growing_memory() {
    let dir = TempDir::new("drops");
    let config = RecorderConfig {
        source: SourceConfig::Pushed,
        out_dir: Some(dir.path().to_owned()),
        size: Some((1920, 1080)),
        fps: 60,
        ..RecorderConfig::default()
    };
    let mut recorder = Recorder::start(config).unwrap();
    let pusher = recorder.pusher().unwrap().clone();
    let mut scene = SyntheticSource::new(1920, 1080, 60, SyntheticScene::FullMotion, None, None);
    let frames: Vec<Vec<u8>> = (0..8).map(|i| scene.render(i).to_vec()).collect();
    let pushed = 300u64;
    for i in 0..pushed {
        pusher
            .push_frame(&frames[i as usize % 8], 1920, 1080, 1920 * 4, None)
            .unwrap();
    }
    let recording = recorder.stop().unwrap();
    let s = recording.stats;
    assert!(
        s.frames_dropped > 0,
        "pushing 300 1080p frames at once must outrun the encoder: {s:?}"
    );
    assert_eq!(s.frames_captured, pushed, "{s:?}");
    assert_eq!(s.frames_encoded + s.frames_skipped + s.frames_dropped, pushed, "{s:?}");
    assert_eq!(decode_errors(&recording.path), "");
}
