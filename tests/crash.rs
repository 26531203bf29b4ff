//! Crash safety: a recording process killed with SIGKILL leaves a file FFmpeg decodes up to at
//! most one fragment before the kill, and recovery turns it into an ordinary MP4.
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant, SystemTime};

use classrec::{
    needs_recovery, recover, recover_folder, Event, Recorder, RecorderConfig, SourceConfig, SyntheticScene,
};
use common::{decode_errors, probe, spawn_child_recorder, top_level_boxes, TempDir};

const CHILD_ENV: &str = "CLASSREC_CRASH_CHILD_DIR";

/// Run by the parent test as a separate process: records in real time until killed.
#[test]
#[ignore = "run as a child process by the crash tests"]
fn child_records_until_killed() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else { return };
    let config = RecorderConfig {
        source: SourceConfig::Synthetic {
            size: None,
            scene: SyntheticScene::Classroom,
            fast: false,
            frames: None,
        },
        out_dir: Some(PathBuf::from(dir)),
        size: Some((640, 360)),
        fps: 15,
        ..RecorderConfig::default()
    };
    let recorder = Recorder::start(config).unwrap();
    println!("started {}", recorder.path().display());
    std::thread::sleep(Duration::from_secs(60));
    panic!("the parent should have killed this process");
}

struct Victim {
    child: Child,
    path: PathBuf,
    started: Instant,
}

fn spawn_victim(dir: &Path) -> Victim {
    let (child, path) = spawn_child_recorder("child_records_until_killed", (CHILD_ENV, dir.to_str().unwrap()));
    Victim {
        child,
        path,
        started: Instant::now(),
    }
}

/// Kill moments between 2.5 s and 9 s, different on every run (the seed is printed).
fn kill_moments(n: usize) -> Vec<Duration> {
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    eprintln!("kill moments seed {seed}");
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            Duration::from_millis(2500 + (x >> 33) % 6500)
        })
        .collect()
}

/// The last packet time FFmpeg can read, and that it decodes without a single error.
fn check_playable(path: &Path, recorded: f64, label: &str) -> f64 {
    let errors = decode_errors(path);
    assert_eq!(errors, "", "{label}: ffmpeg -v error printed something");
    let last = probe(path).packets.last().map_or(0.0, |p| p.0);
    eprintln!("{label}: decodes cleanly up to {last:.2} s");
    assert!(
        last >= recorded - 3.0,
        "{label}: decodes up to {last:.2} s, killed after {recorded:.2} s"
    );
    last
}

/// A short recording in `dir`, made as fast as possible (its start recovers the folder).
fn one_second_in(dir: &Path) -> RecorderConfig {
    RecorderConfig {
        source: SourceConfig::Synthetic {
            size: None,
            scene: SyntheticScene::Classroom,
            fast: true,
            frames: Some(15),
        },
        out_dir: Some(dir.to_owned()),
        size: Some((320, 180)),
        ..RecorderConfig::default()
    }
}

#[test]
fn sigkill_at_random_moments_loses_at_most_one_fragment() {
    let dir = TempDir::new("crash");
    let moments = kill_moments(3);
    let folders: Vec<PathBuf> = (0..moments.len()).map(|i| dir.path().join(format!("run{i}"))).collect();
    let mut victims: Vec<Victim> = folders.iter().map(|f| spawn_victim(f)).collect();
    let mut killed_after = vec![0.0; victims.len()];
    // Kill each at its moment (they run side by side).
    let mut order: Vec<usize> = (0..victims.len()).collect();
    order.sort_by_key(|&i| moments[i]);
    for i in order {
        let v = &mut victims[i];
        std::thread::sleep(moments[i].saturating_sub(v.started.elapsed()));
        killed_after[i] = v.started.elapsed().as_secs_f64();
        v.child.kill().unwrap(); // SIGKILL
        v.child.wait().unwrap();
    }
    for (i, v) in victims.iter().enumerate() {
        let label = format!("run {i} killed after {:.2} s", killed_after[i]);
        assert!(
            needs_recovery(&v.path).unwrap(),
            "{label}: a killed recording is unfinalized"
        );
        // Before recovery: the fragmented file already plays up to the last fragment.
        check_playable(&v.path, killed_after[i], &format!("{label}, before recovery"));
    }

    // Three ways to recover: the function, a folder sweep, and a new Recorder on the folder.
    let first = recover(&victims[0].path).unwrap();
    assert!(!first.already_finalized && first.fragments > 0);
    let swept = recover_folder(&folders[1]);
    assert_eq!(swept.len(), 1);
    assert!(swept[0].1.as_ref().unwrap().fragments > 0);
    let mut next = Recorder::start(one_second_in(&folders[2])).unwrap();
    let events = next.events();
    next.wait().unwrap();
    let recovered: Vec<PathBuf> = events
        .try_iter()
        .filter_map(|e| {
            if let Event::Recovered(r) = e {
                Some(r.path)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(
        recovered,
        vec![victims[2].path.clone()],
        "a new recorder recovers what a crash left"
    );

    for (i, v) in victims.iter().enumerate() {
        let label = format!("run {i} killed after {:.2} s, recovered", killed_after[i]);
        assert!(!needs_recovery(&v.path).unwrap());
        assert_eq!(top_level_boxes(&v.path), ["ftyp", "free", "mdat", "moov"], "{label}");
        let last = check_playable(&v.path, killed_after[i], &label);
        let p = probe(&v.path);
        assert!(
            p.duration >= last && p.duration <= killed_after[i] + 0.1,
            "{label}: duration {}",
            p.duration
        );
        let again = recover(&v.path).unwrap();
        assert!(again.already_finalized, "recovering twice changes nothing");
    }
}

#[test]
fn a_torn_last_fragment_is_cut_off() {
    let dir = TempDir::new("torn");
    let victim = &mut spawn_victim(dir.path());
    std::thread::sleep(Duration::from_millis(4500));
    victim.child.kill().unwrap();
    victim.child.wait().unwrap();
    // Append half a fragment: a copy of the first moof's start, as a power cut mid-write leaves.
    let mut bytes = std::fs::read(&victim.path).unwrap();
    let moof = bytes.windows(4).position(|w| w == b"moof").unwrap() - 4;
    let torn: Vec<u8> = bytes[moof..moof + 3000].to_vec();
    bytes.extend_from_slice(&torn);
    std::fs::write(&victim.path, &bytes).unwrap();
    let r = recover(&victim.path).unwrap();
    assert_eq!(r.dropped_bytes, 3000);
    assert_eq!(decode_errors(&victim.path), "");
    assert_eq!(top_level_boxes(&victim.path), ["ftyp", "free", "mdat", "moov"]);
}

#[test]
fn files_that_are_not_recordings_are_refused_clearly() {
    let dir = TempDir::new("notrec");
    let junk = dir.path().join("junk.mp4");
    std::fs::write(&junk, b"this is not an mp4 file at all").unwrap();
    let err = recover(&junk).unwrap_err().to_string();
    assert!(err.contains("junk.mp4") && err.contains("not an MP4 file"), "{err}");
    let missing = recover(&dir.path().join("missing.mp4")).unwrap_err().to_string();
    assert!(missing.contains("missing.mp4"), "{missing}");
}

#[test]
fn a_crash_before_the_first_fragment_leaves_nothing_behind() {
    let dir = TempDir::new("early");
    let victim = &mut spawn_victim(dir.path());
    // Fragments are 2 s long: at 1 s only the head can be on disk.
    std::thread::sleep(Duration::from_millis(1000).saturating_sub(victim.started.elapsed()));
    victim.child.kill().unwrap();
    victim.child.wait().unwrap();
    let head = std::fs::read(&victim.path).unwrap();
    assert!(head.len() < 4096, "{} bytes before the first fragment", head.len());
    // What a kill while the head was written, or before it, leaves.
    let torn = dir.path().join("20250101-000000Z_torn.mp4");
    std::fs::write(&torn, &head[..head.len().min(300)]).unwrap();
    let empty = dir.path().join("20250101-000001Z_empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    let junk = dir.path().join("not-ours.mp4");
    std::fs::write(&junk, b"this is not an mp4 file at all").unwrap();

    let mut next = Recorder::start(one_second_in(dir.path())).unwrap();
    let events = next.events();
    let made = next.wait().unwrap();
    let complaints: Vec<Event> = events
        .try_iter()
        .filter(|e| matches!(e, Event::Warning { .. } | Event::Recovered(_)))
        .collect();
    assert!(
        complaints.is_empty(),
        "nothing to recover or warn about: {complaints:?}"
    );
    for gone in [&victim.path, &torn, &empty] {
        assert!(!gone.exists(), "`{}` held nothing and is removed", gone.display());
    }
    assert!(junk.exists(), "a file that is not ours is never removed");
    assert!(made.path.exists());
    // recover() on such a file says it removed it.
    std::fs::write(&torn, &head).unwrap();
    let err = recover(&torn).unwrap_err().to_string();
    assert!(err.contains("removed") && !torn.exists(), "{err}");
}

/// Found by `scripts/fuzz.sh` (target `recover`): damaged heads on which the `mp4` crate looped
/// forever: a `moov` holding a box of size 0, and a head that reads as finalized with a broken
/// box. Recovery must answer, and quickly.
#[test]
fn damaged_heads_found_by_fuzzing_are_refused_not_a_hang() {
    let dir = TempDir::new("fuzz-hang");
    for case in ["recover-hang-zero-size-box.mp4", "recover-hang-finalized-head.mp4"] {
        let path = dir.path().join(case);
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(case);
        std::fs::copy(data, &path).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(recover(&path).map(|_| ()).map_err(|e| e.to_string())));
        let outcome = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("recover answers within 10 s");
        assert!(outcome.is_err(), "{case}: {outcome:?}");
    }
}
