//! A full disk stops the recording cleanly: what was written is kept, finalized and playable.
#![cfg(target_os = "linux")]

mod common;

use std::process::Command;

use classrec::{Event, Recorder, RecorderConfig, SourceConfig, StopReason, SyntheticScene};
use common::{decode_errors, probe, top_level_boxes, TempDir};

/// A small tmpfs mounted for the test (needs root, as in CI), unmounted on drop.
struct SmallDisk(TempDir);

impl SmallDisk {
    fn mount(bytes: u64) -> Option<SmallDisk> {
        let dir = TempDir::new("diskfull");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk(dir))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

#[test]
fn a_full_disk_stops_cleanly_and_keeps_a_playable_file() {
    let Some(disk) = SmallDisk::mount(3 << 20) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs as root and must be able to mount a tmpfs"
        );
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    let config = RecorderConfig {
        source: SourceConfig::Synthetic {
            size: None,
            scene: SyntheticScene::FullMotion,
            fast: true,
            frames: Some(15 * 120),
        },
        out_dir: Some(disk.0.path().to_owned()),
        size: Some((1280, 720)),
        bitrate_kbps: 8000,
        ..RecorderConfig::default()
    };
    let mut recorder = Recorder::start(config).unwrap();
    let events = recorder.events();
    let recording = recorder.wait().unwrap();
    // Nothing is left behind: the mux thread asked for the stop, and the capture thread ended.
    let since = std::time::Instant::now();
    while recorder_threads().contains(&"classrec-captur".to_string()) {
        assert!(
            since.elapsed().as_secs() < 10,
            "the capture thread outlived its recording"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    match &recording.stop_reason {
        StopReason::Failed(m) => assert!(m.contains("disk full") && m.contains("free some space"), "{m}"),
        other => panic!("expected a disk-full stop, got {other:?}"),
    }
    let events: Vec<Event> = events.try_iter().collect();
    let full = events
        .iter()
        .position(|e| matches!(e, Event::Error { message } if message.contains("disk full")))
        .expect("a disk-full error");
    // 5 minutes at 8 Mbit/s do not fit in 3 MiB: warned at the first fragment, before it filled.
    let nearly = events
        .iter()
        .position(|e| matches!(e, Event::Warning { message } if message.contains("nearly full")))
        .expect("a nearly-full warning");
    assert!(nearly < full, "the warning came first: {events:?}");
    assert!(recording.duration.as_secs_f64() > 1.0, "kept {:?}", recording.duration);
    assert_eq!(top_level_boxes(&recording.path), ["ftyp", "free", "mdat", "moov"]);
    assert_eq!(decode_errors(&recording.path), "");
    let p = probe(&recording.path);
    assert!(
        (p.duration - recording.duration.as_secs_f64()).abs() < 0.07,
        "{} vs {:?}",
        p.duration,
        recording.duration
    );
}

/// This process's thread names that start with `classrec-` (Linux cuts them at 15 bytes).
fn recorder_threads() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim_end().to_owned())
        .filter(|name| name.starts_with("classrec-"))
        .collect()
}
