//! Upload against a real S3 server (SeaweedFS on 127.0.0.1): while recording, byte-identical,
//! through a 30 s outage, after SIGKILL, and with each kind of bad configuration.

mod common;

use std::path::Path;
use std::time::Duration;

use classrec::{
    Event, Journal, Recorder, RecorderConfig, Secret, SourceConfig, SyntheticScene, UploadConfig, UploadTarget,
    Uploader,
};
use common::s3::S3Server;
use common::{decode_errors, spawn_child_recorder, TempDir};
use sha2::{Digest, Sha256};

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Full motion with grain at 4-8 Mbit/s: enough bytes for many 5 MiB parts.
fn motion(dir: &Path, seconds: u64, fast: bool, kbps: u32, upload: UploadConfig) -> RecorderConfig {
    RecorderConfig {
        source: SourceConfig::Synthetic {
            size: None,
            scene: SyntheticScene::FullMotion,
            fast,
            frames: fast.then_some(seconds * 15),
        },
        out_dir: Some(dir.to_owned()),
        size: Some((1280, 720)),
        fps: 15,
        bitrate_kbps: kbps,
        content: classrec::ContentType::Camera,
        upload: Some(upload),
        ..RecorderConfig::default()
    }
}

fn assert_identical(server: &S3Server, key: &str, local: &Path) {
    let remote = server.get(key);
    let local = std::fs::read(local).unwrap();
    assert_eq!(remote.len(), local.len(), "object size");
    assert_eq!(sha256(&remote), sha256(&local), "object sha256");
}

#[test]
fn a_two_minute_recording_uploads_while_recording_and_is_byte_identical() {
    let Some(server) = S3Server::start("twominutes") else {
        return;
    };
    let dir = TempDir::new("upload-2min");
    let mut recorder = Recorder::start(motion(dir.path(), 120, true, 4000, server.config("class-42"))).unwrap();
    let events = recorder.events();
    let recording = recorder.wait().unwrap();
    let object = recorder
        .wait_for_upload(Duration::from_secs(120))
        .expect("upload finished")
        .unwrap();
    let events: Vec<Event> = events.try_iter().collect();
    let stopped_at = events.iter().position(|e| matches!(e, Event::Stopped(_))).unwrap();
    let parts_while_recording = events[..stopped_at]
        .iter()
        .filter(|e| matches!(e, Event::UploadProgress(p) if p.percent.is_none()))
        .count();
    eprintln!(
        "{} bytes, {parts_while_recording} parts during recording, stop to complete {:?}",
        recording.bytes, object.stop_to_complete
    );
    assert!(
        parts_while_recording >= 3,
        "only {parts_while_recording} parts went up while recording"
    );
    assert_eq!(object.size, recording.bytes);
    assert_eq!(
        object.bytes_sent, recording.bytes,
        "nothing is sent twice in a fault-free run"
    );
    assert!(
        object.key.starts_with("class-42/") && object.key.ends_with(".mp4"),
        "{}",
        object.key
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::UploadComplete(o) if o.key == object.key)));
    assert_identical(&server, &object.key, &recording.path);
    // The console's view: the object is listed with its size, and a presigned URL plays it.
    let uploader = Uploader::new(&server.config("")).unwrap();
    let listed = uploader.list("class-42/").unwrap();
    assert!(
        listed.iter().any(|o| o.key == object.key && o.size == object.size),
        "{listed:?}"
    );
    let journal = Journal::load(&recording.path).unwrap().unwrap();
    assert!(matches!(journal.state, classrec::UploadState::Completed { .. }));
    assert!(!std::fs::read_to_string(Journal::path_for(&recording.path))
        .unwrap()
        .contains("secret"));
}

#[test]
fn the_upload_survives_the_server_being_down_for_30_seconds() {
    let Some(mut server) = S3Server::start("outage") else {
        return;
    };
    let dir = TempDir::new("upload-outage");
    let mut recorder = Recorder::start(motion(dir.path(), 0, false, 8000, server.config("outage"))).unwrap();
    let events = recorder.events();
    std::thread::sleep(Duration::from_secs(6));
    server.stop();
    std::thread::sleep(Duration::from_secs(30));
    server.restart();
    std::thread::sleep(Duration::from_secs(4));
    let recording = recorder.stop().unwrap();
    let object = recorder
        .wait_for_upload(Duration::from_secs(120))
        .expect("upload finished")
        .unwrap();
    let warnings: Vec<String> = events
        .try_iter()
        .filter_map(|e| {
            if let Event::Warning { message } = e {
                Some(message)
            } else {
                None
            }
        })
        .collect();
    assert!(
        warnings.iter().any(|w| w.contains("cannot reach S3 at")),
        "no retry warning: {warnings:?}"
    );
    assert!(object.bytes_sent >= object.size);
    assert_identical(&server, &object.key, &recording.path);
}

const CHILD_ENV: &str = "CLASSREC_UPLOAD_CHILD";

/// Run as a child process: records with upload until killed. Env: "<dir>|<endpoint>".
#[test]
#[ignore = "run as a child process by the upload tests"]
fn child_records_and_uploads_until_killed() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let (dir, endpoint) = spec.split_once('|').unwrap();
    let mut upload = UploadConfig::s3(endpoint, common::s3::BUCKET, "killed");
    if let UploadTarget::S3 {
        access_key, secret_key, ..
    } = &mut upload.target
    {
        *access_key = Some(common::s3::ACCESS_KEY.into());
        *secret_key = Some(Secret(common::s3::SECRET_KEY.into()));
    }
    let recorder = Recorder::start(motion(Path::new(dir), 0, false, 8000, upload)).unwrap();
    println!("started {}", recorder.path().display());
    std::thread::sleep(Duration::from_secs(120));
}

#[test]
fn a_recording_killed_mid_upload_is_finished_by_resume_pending() {
    let Some(server) = S3Server::start("killed") else {
        return;
    };
    let dir = TempDir::new("upload-killed");
    let spec = format!("{}|{}", dir.path().display(), server.endpoint);
    let (mut child, path) = spawn_child_recorder("child_records_and_uploads_until_killed", (CHILD_ENV, &spec));
    // Wait until at least one part (after the 5 MiB head) is on the server, then SIGKILL.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while Journal::load(&path).ok().flatten().is_none_or(|j| j.parts.is_empty()) {
        assert!(std::time::Instant::now() < deadline, "no part uploaded within 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = Journal::load(&path).unwrap().unwrap();
    eprintln!("killed with {} part(s) uploaded", before.parts.len());

    let uploader = Uploader::new(&server.config("killed")).unwrap();
    let results = uploader.resume_pending(dir.path());
    assert_eq!(results.len(), 1, "{results:?}");
    let object = results.into_iter().next().unwrap().1.unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(
        object.bytes_sent < size,
        "parts already uploaded were not sent again ({} of {size})",
        object.bytes_sent
    );
    assert_eq!(decode_errors(&path), "", "the recovered local file plays");
    assert_identical(&server, &object.key, &path);
    assert!(
        uploader.resume_pending(dir.path()).is_empty(),
        "nothing is left pending"
    );
}

#[test]
fn bad_credentials_unknown_buckets_and_dead_endpoints_each_say_what_to_do() {
    let Some(server) = S3Server::start("errors") else {
        return;
    };
    let dir = TempDir::new("upload-errors");
    let config = RecorderConfig {
        source: SourceConfig::Synthetic {
            size: None,
            scene: SyntheticScene::Classroom,
            fast: true,
            frames: Some(30),
        },
        out_dir: Some(dir.path().to_owned()),
        size: Some((320, 180)),
        ..RecorderConfig::default()
    };
    let recording = Recorder::start(config.clone()).unwrap().wait().unwrap();
    let local = std::fs::read(&recording.path).unwrap();

    let mut wrong_secret = server.config("");
    if let UploadTarget::S3 { secret_key, .. } = &mut wrong_secret.target {
        *secret_key = Some(Secret("not-the-secret".into()));
    }
    let err = Uploader::new(&wrong_secret)
        .unwrap()
        .upload_file(&recording.path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("rejected the signature") && err.contains("AWS_SECRET_ACCESS_KEY"),
        "{err}"
    );

    let mut wrong_bucket = server.config("");
    if let UploadTarget::S3 { bucket, .. } = &mut wrong_bucket.target {
        *bucket = "no-such-bucket".into();
    }
    let err = Uploader::new(&wrong_bucket)
        .unwrap()
        .upload_file(&recording.path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("bucket `no-such-bucket` not found at `{}`", server.endpoint)),
        "{err}"
    );

    let mut dead = server.config("");
    if let UploadTarget::S3 { endpoint, .. } = &mut dead.target {
        *endpoint = "http://127.0.0.1:1".into();
    }
    let mut recorder = Recorder::start(RecorderConfig {
        upload: Some(dead),
        ..config
    })
    .unwrap();
    let events = recorder.events();
    let dead_recording = recorder.wait().unwrap();
    let warning = (0..100)
        .find_map(|_| match events.recv_timeout(Duration::from_millis(100)) {
            Ok(Event::Warning { message }) if message.contains("cannot reach S3 at `http://127.0.0.1:1`") => {
                Some(message)
            }
            _ => None,
        })
        .expect("a warning naming the unreachable endpoint");
    assert!(warning.contains("check the network and the endpoint"), "{warning}");

    // In every case the local files are intact and play.
    assert_eq!(std::fs::read(&recording.path).unwrap(), local);
    assert_eq!(decode_errors(&recording.path), "");
    assert_eq!(decode_errors(&dead_recording.path), "");
}

#[test]
fn a_folder_target_assembles_the_same_bytes() {
    let dir = TempDir::new("upload-folder");
    let share = dir.path().join("share");
    std::fs::create_dir_all(&share).unwrap();
    let upload = UploadConfig {
        target: UploadTarget::Folder {
            path: share.clone(),
            prefix: "class-7".into(),
        },
        part_size: classrec::MIN_PART_SIZE,
        bandwidth_limit: None,
    };
    let mut recorder = Recorder::start(motion(&dir.path().join("rec"), 40, true, 4000, upload)).unwrap();
    let recording = recorder.wait().unwrap();
    let object = recorder.wait_for_upload(Duration::from_secs(60)).unwrap().unwrap();
    let copy = share.join(&object.key);
    assert_eq!(
        sha256(&std::fs::read(&copy).unwrap()),
        sha256(&std::fs::read(&recording.path).unwrap())
    );
    assert!(
        recording.bytes > 2 * classrec::MIN_PART_SIZE,
        "several parts: {} bytes",
        recording.bytes
    );
    let parts_dir = share.join(".classrec-parts");
    assert_eq!(
        std::fs::read_dir(parts_dir).map(|d| d.count()).unwrap_or(0),
        0,
        "no parts left behind"
    );
}

#[test]
fn missing_credentials_and_tiny_parts_are_refused_at_start() {
    let dir = TempDir::new("upload-config");
    let mut upload = UploadConfig::s3("http://127.0.0.1:9", "b", "");
    upload.part_size = 1024;
    let err = Uploader::new(&upload).unwrap_err().to_string();
    assert!(err.contains("part_size is 1024") && err.contains("5 MiB"), "{err}");
    let json = r#"{"target": {"kind": "s3", "endpoint": "http://127.0.0.1:9", "bucket": "b", "secret_key": "s"}, "part_size": 5242880, "bandwith_limit": 1}"#;
    let err = serde_json::from_str::<UploadConfig>(json).unwrap_err().to_string();
    assert!(err.contains("unknown field `bandwith_limit`"), "{err}");
    let debug = format!(
        "{:?}",
        serde_json::from_str::<UploadTarget>(
            r#"{"kind": "s3", "endpoint": "e", "bucket": "b", "secret_key": "hunter2"}"#
        )
        .unwrap()
    );
    assert!(!debug.contains("hunter2"), "secrets never show in Debug: {debug}");
    let _ = dir;
}
