//! A stage that fails is never silent: a panic in a recorder thread, or a source's malformed
//! frame, becomes an `Event::Error`, the recording's stop reason, and a stop; what was written is
//! finalized.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use classrec::{Event, Frame, FrameSource, PictureMaker, Recorder, RecorderConfig, SourceEvent, StopReason};
use common::{decode_errors, TempDir};

/// The pixels of frame number `i` of the test sources: 64x48, one grey level per frame.
fn grey(i: u64) -> Vec<u8> {
    vec![(i * 9) as u8; 64 * 48 * 4]
}

/// Frame number `i` of `pixels` ([`grey`]), 10 frames a second in virtual time.
fn numbered(pixels: &[u8], i: u64) -> Frame<'_> {
    Frame {
        width: 64,
        height: 48,
        stride: 64 * 4,
        data: pixels,
        timestamp: Duration::from_millis(i * 100),
    }
}

/// Good frames (in virtual time), then frame number `bad_at` as `bad` makes it.
struct Hostile {
    next: u64,
    bad_at: u64,
    bad: fn(Frame<'_>) -> Frame<'_>,
}

impl FrameSource for Hostile {
    fn size_hint(&self) -> Option<(u32, u32)> {
        Some((64, 48))
    }

    fn next_event(&mut self, _timeout: Duration, pictures: &mut PictureMaker) -> classrec::Result<SourceEvent> {
        let i = self.next;
        self.next += 1;
        let pixels = grey(i);
        let frame = numbered(&pixels, i);
        let frame = if i == self.bad_at { (self.bad)(frame) } else { frame };
        Ok(SourceEvent::Picture(pictures.make(&frame)?))
    }

    fn now(&self) -> Option<Duration> {
        None
    }
}

/// What classrec logged (the `log` facade), for the checks that a caught panic is logged.
static LOGGED: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        LOGGED
            .lock()
            .unwrap()
            .push(format!("{} {}", record.target(), record.args()));
    }
    fn flush(&self) {}
}

fn record(name: &str, bad: fn(Frame<'_>) -> Frame<'_>) -> (TempDir, classrec::Recording, Vec<Event>) {
    let _ = log::set_logger(&Capture).map(|()| log::set_max_level(log::LevelFilter::Debug));
    let dir = TempDir::new(name);
    let config = RecorderConfig {
        out_dir: Some(dir.path().to_owned()),
        size: Some((64, 48)),
        fragment_interval_ms: 500,
        ..RecorderConfig::default()
    };
    let source = Hostile {
        next: 0,
        bad_at: 30,
        bad,
    };
    let mut recorder = Recorder::start_with_source(config, Box::new(source)).unwrap();
    let events = recorder.events();
    let recording = recorder.wait().expect("the file is finalized although a stage failed");
    let events = events.try_iter().collect();
    (dir, recording, events)
}

/// The one `Error` event, which is also the recording's stop reason; the file plays.
fn the_error(recording: &classrec::Recording, events: &[Event]) -> String {
    let errors: Vec<&String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Error { message } => Some(message),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 1, "one Error event: {events:?}");
    assert!(
        matches!(&recording.stop_reason, StopReason::Failed(m) if m == errors[0]),
        "{:?}",
        recording.stop_reason
    );
    assert!(recording.bytes > 0 && recording.duration >= Duration::from_secs(2));
    assert_eq!(decode_errors(&recording.path), "", "what came before the failure plays");
    errors[0].clone()
}

fn check_panic_is_reported(thread: &str, recording: &classrec::Recording, events: &[Event]) {
    let error = the_error(recording, events);
    assert!(error.contains(thread), "{error}");
    // The panic went to the log (target `classrec`), not to stderr with a backtrace.
    let logged = LOGGED.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(
        logged
            .iter()
            .any(|m| m.starts_with("classrec caught a panic") && m.contains(&format!("classrec-{thread}"))),
        "{logged:?}"
    );
}

#[test]
fn a_frame_shorter_than_its_size_says_fails_the_recording_with_the_reason() {
    // Before pictures were made on the capture side, this frame panicked the encode thread.
    let (_dir, recording, events) = record("short-frame", |mut f| {
        f.width = 32;
        f.stride = 32 * 4;
        f.height = 4000;
        f
    });
    let error = the_error(&recording, &events);
    assert!(
        error.contains("12288 bytes given") && error.contains("needs 512000"),
        "{error}"
    );
}

#[test]
fn a_source_that_panics_is_an_error_event_and_a_failed_recording() {
    let (_dir, recording, events) = record("panic-capture", |_| panic!("a source bug"));
    check_panic_is_reported("capture", &recording, &events);
}

/// Frames in virtual time until `stuck_at`, where one read blocks (as a read from a pipe nobody
/// writes to would) until the test releases it, whatever its timeout; then frames again. Says when
/// it is stuck and when it is dropped.
struct Stuck {
    next: u64,
    stuck_at: u64,
    stuck: Arc<AtomicBool>,
    release: mpsc::Receiver<()>,
    dropped: Arc<AtomicBool>,
}

impl FrameSource for Stuck {
    fn size_hint(&self) -> Option<(u32, u32)> {
        Some((64, 48))
    }

    fn next_event(&mut self, _timeout: Duration, pictures: &mut PictureMaker) -> classrec::Result<SourceEvent> {
        if self.next == self.stuck_at {
            self.stuck.store(true, Ordering::Release);
            let _ = self.release.recv();
        }
        let i = self.next;
        self.next += 1;
        let pixels = grey(i);
        Ok(SourceEvent::Picture(pictures.make(&numbered(&pixels, i))?))
    }

    fn now(&self) -> Option<Duration> {
        None
    }
}

impl Drop for Stuck {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::Release);
    }
}

/// Waits up to 30 s for `flag` (generous: CI machines are slow and busy), failing with `what`.
fn wait_for(flag: &AtomicBool, what: &str) {
    let since = Instant::now();
    while !flag.load(Ordering::Acquire) {
        assert!(since.elapsed() < Duration::from_secs(30), "{what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_source_stuck_past_stop_ends_its_thread_once_it_returns() {
    let dir = TempDir::new("stuck");
    let config = RecorderConfig {
        out_dir: Some(dir.path().to_owned()),
        size: Some((64, 48)),
        ..RecorderConfig::default()
    };
    let (stuck, dropped) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let (release, released) = mpsc::channel();
    let source = Stuck {
        next: 0,
        stuck_at: 20,
        stuck: stuck.clone(),
        release: released,
        dropped: dropped.clone(),
    };
    let mut recorder = Recorder::start_with_source(config, Box::new(source)).unwrap();
    wait_for(&stuck, "the source never reached its stuck read");
    // The encoder gives a stuck source a grace period, then finalizes without it.
    let recording = recorder.stop().unwrap();
    assert!(recording.duration >= Duration::from_secs(1), "{:?}", recording.duration);
    assert!(!dropped.load(Ordering::Acquire), "still stuck when stop returned");
    // When the read returns, the capture thread finds nobody to hand its picture to, and ends
    // (before, it waited for the gone encoder for good).
    release.send(()).unwrap();
    wait_for(&dropped, "the capture thread never ended");
}

/// Writes the fuzz corpus seeds for `recover` (fuzz/corpus/recover): a recording while it is
/// still fragmented (2 fragments), the same torn mid-fragment, and finalized; with and without
/// sound. Run once by hand: `cargo test --test hostile -- --ignored write_recover_seeds`.
#[test]
#[ignore = "writes fuzz seeds into fuzz/corpus"]
fn write_recover_seeds() {
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/recover");
    std::fs::create_dir_all(&seeds).unwrap();
    for (name, audio) in [
        ("video", None),
        (
            "sound",
            Some(classrec::AudioConfig::new(classrec::AudioSourceConfig::Pushed)),
        ),
    ] {
        let dir = TempDir::new("seeds");
        let mut recorder = Recorder::start(RecorderConfig {
            source: classrec::SourceConfig::Pushed,
            out_dir: Some(dir.path().to_owned()),
            size: Some((32, 32)),
            fragment_interval_ms: 200,
            audio,
            ..RecorderConfig::default()
        })
        .unwrap();
        let events = recorder.events();
        let pusher = recorder.pusher().unwrap().clone();
        let mut fragments = 0;
        for i in 0..100u64 {
            let pixels = vec![(i * 40) as u8; 32 * 32 * 4];
            pusher.push_frame(&pixels, 32, 32, 128, None).unwrap();
            if let Some(sound) = recorder.audio_pusher() {
                sound
                    .push(classrec::Pcm::S16(&[(i * 300) as i16; 480]), 48_000, 1, None)
                    .unwrap();
            }
            std::thread::sleep(Duration::from_millis(10));
            fragments += events
                .try_iter()
                .filter(|e| matches!(e, Event::FragmentCommitted(_)))
                .count();
            if fragments >= 2 {
                break;
            }
        }
        let fragmented = std::fs::read(recorder.path()).unwrap();
        std::fs::write(seeds.join(format!("{name}-fragmented.mp4")), &fragmented).unwrap();
        std::fs::write(
            seeds.join(format!("{name}-torn.mp4")),
            &fragmented[..fragmented.len() - 100],
        )
        .unwrap();
        let recording = recorder.stop().unwrap();
        std::fs::copy(&recording.path, seeds.join(format!("{name}-finalized.mp4"))).unwrap();
    }
}
