//! The completion callback against a real HTTP receiver on 127.0.0.1 (a small server in the
//! test): body and signature, retries, giving up, redelivery after a kill, and the role check.

mod common;

use std::path::Path;
use std::time::Duration;

use classrec::{
    CallbackConfig, ClassInfo, Event, Recorder, RecorderConfig, Role, Secret, SourceConfig, SyntheticScene,
    UploadConfig, UploadTarget, Uploader,
};
use common::receiver::{Receiver, Reply};
use common::{spawn_child_recorder, TempDir};

const KEY: &str = "DzXpbluRsmo1JkoFxzKMNg5ifrA4GRlU";

fn class(role: Role) -> ClassInfo {
    ClassInfo {
        sdkappid: 14000000,
        class_id: 1123123,
        class_topic: Some("课堂".into()),
        teacher_id: "teacher-7".into(),
        assistant_id: "assistant-9".into(),
        user_id: "teacher-7".into(),
        role,
        class_start_time: 1_700_000_000,
        class_stop_time: 1_700_003_600,
    }
}

fn callback(url: &str, retries: u32, interval_ms: u64) -> CallbackConfig {
    CallbackConfig {
        url: url.into(),
        key: Secret(KEY.into()),
        retries,
        retry_interval_ms: interval_ms,
        timeout_ms: 700,
    }
}

fn folder_upload(share: &Path) -> UploadConfig {
    UploadConfig {
        target: UploadTarget::Folder {
            path: share.to_owned(),
            prefix: "cb".into(),
        },
        part_size: classrec::MIN_PART_SIZE,
        bandwidth_limit: None,
    }
}

fn config(dir: &Path, fast: bool, callback_config: CallbackConfig) -> RecorderConfig {
    RecorderConfig {
        source: SourceConfig::Synthetic {
            size: None,
            scene: SyntheticScene::Classroom,
            fast,
            frames: fast.then_some(45),
        },
        out_dir: Some(dir.join("rec")),
        size: Some((320, 180)),
        upload: Some(folder_upload(&dir.join("share"))),
        class: Some(class(Role::Teacher)),
        callback: Some(callback_config),
        ..RecorderConfig::default()
    }
}

fn query(target: &str, name: &str) -> String {
    let q = target.split_once('?').map_or("", |(_, q)| q);
    q.split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn the_body_has_every_field_and_the_sign_verifies() {
    let dir = TempDir::new("cb-body");
    let receiver = Receiver::start(vec![Reply::Code(0)]);
    let mut recorder = Recorder::start(config(dir.path(), true, callback(&receiver.url, 10, 50))).unwrap();
    let recording = recorder.wait().unwrap();
    let object = recorder.wait_for_upload(Duration::from_secs(30)).unwrap().unwrap();
    assert_eq!(recorder.wait_for_callback(Duration::from_secs(30)).unwrap().unwrap(), 1);
    let requests = receiver.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    let (target, body) = &requests[0];
    assert_eq!(query(target, "sdkappid"), "14000000");
    let expire_time: u64 = query(target, "expire_time").parse().unwrap();
    assert!(!query(target, "random").is_empty());
    assert_eq!(
        query(target, "sign"),
        classrec::callback_sign(KEY, expire_time),
        "the sign verifies"
    );
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["event"], "local_record_callback");
    assert_eq!(json["expire_time"], expire_time);
    let info = &json["data"]["record_info"];
    for field in [
        "sdkappid",
        "class_id",
        "class_topic",
        "teacher_id",
        "assistant_id",
        "start_time",
        "stop_time",
        "class_start_time",
        "class_stop_time",
        "user_id",
        "record_type",
        "file_id",
        "file_format",
        "file_size",
        "file_url",
        "duration",
    ] {
        assert!(!info[field].is_null(), "record_info.{field} is missing: {info}");
    }
    assert_eq!(info["sdkappid"], 14000000);
    assert_eq!(info["class_id"], 1123123);
    assert_eq!(info["class_topic"], "课堂");
    assert_eq!(info["teacher_id"], "teacher-7");
    assert_eq!(info["record_type"], "local_record");
    assert_eq!(info["file_format"], "MP4");
    assert_eq!(info["file_size"], object.size);
    assert_eq!(info["file_size"], recording.bytes);
    assert_eq!(info["file_id"], object.key);
    assert_eq!(info["file_url"], object.url);
    let duration = info["duration"].as_u64().unwrap() as f64;
    assert!(
        (duration - recording.duration.as_secs_f64()).abs() <= 0.5 + 1.0 / 15.0,
        "duration {duration}"
    );
    let (start, stop) = (
        info["start_time"].as_u64().unwrap(),
        info["stop_time"].as_u64().unwrap(),
    );
    assert_eq!(stop - start, info["duration"].as_u64().unwrap());
}

#[test]
fn two_errors_and_a_timeout_then_success_take_exactly_four_requests() {
    let dir = TempDir::new("cb-retry");
    let receiver = Receiver::start(vec![Reply::Code(1), Reply::Code(1), Reply::Hang, Reply::Code(0)]);
    let mut recorder = Recorder::start(config(dir.path(), true, callback(&receiver.url, 10, 50))).unwrap();
    let events = recorder.events();
    recorder.wait().unwrap();
    assert_eq!(recorder.wait_for_callback(Duration::from_secs(60)).unwrap().unwrap(), 4);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(receiver.count(), 4);
    assert!(events
        .try_iter()
        .any(|e| matches!(e, Event::CallbackDelivered { attempts: 4 })));
}

#[test]
fn a_receiver_failing_every_attempt_gets_eleven_requests_and_a_final_failure() {
    let dir = TempDir::new("cb-down");
    let receiver = Receiver::start(vec![Reply::Status(500)]);
    let mut recorder = Recorder::start(config(dir.path(), true, callback(&receiver.url, 10, 20))).unwrap();
    let events = recorder.events();
    recorder.wait().unwrap();
    let err = recorder
        .wait_for_callback(Duration::from_secs(60))
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("HTTP 500") && err.contains("gave up after 11 attempts"),
        "{err}"
    );
    assert_eq!(receiver.count(), 11);
    assert!(events
        .try_iter()
        .any(|e| matches!(e, Event::CallbackFailed { message } if message.contains("11 attempts"))));
}

const CHILD_ENV: &str = "CLASSREC_CALLBACK_CHILD";

#[test]
#[ignore = "run as a child process by the callback tests"]
fn child_records_then_waits_between_callback_attempts() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let (dir, url) = spec.split_once('|').unwrap();
    let mut recorder = Recorder::start(config(Path::new(dir), true, callback(url, 10, 60_000))).unwrap();
    println!("started {}", recorder.path().display());
    recorder.wait().unwrap();
    std::thread::sleep(Duration::from_secs(120));
}

#[test]
fn a_client_killed_between_attempts_delivers_once_on_the_next_start() {
    let dir = TempDir::new("cb-killed");
    let receiver = Receiver::start(vec![Reply::Code(1)]);
    let spec = format!("{}|{}", dir.path().display(), receiver.url);
    let (mut child, _path) =
        spawn_child_recorder("child_records_then_waits_between_callback_attempts", (CHILD_ENV, &spec));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while receiver.count() < 1 {
        assert!(std::time::Instant::now() < deadline, "the first attempt never came");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300)); // the attempt is counted in the journal
    child.kill().unwrap();
    child.wait().unwrap();
    *receiver.script.lock().unwrap() = vec![Reply::Code(1), Reply::Code(0)];

    let uploader = Uploader::new(&folder_upload(&dir.path().join("share")))
        .unwrap()
        .with_callback(Some(callback(&receiver.url, 10, 50)));
    uploader.resume_pending(&dir.path().join("rec"));
    assert_eq!(
        receiver.count(),
        2,
        "delivered on the next start, with one more request"
    );
    uploader.resume_pending(&dir.path().join("rec"));
    assert_eq!(receiver.count(), 2, "a delivered callback is never sent again");
}

#[test]
fn a_student_may_not_record() {
    let dir = TempDir::new("cb-student");
    let receiver = Receiver::start(vec![Reply::Code(0)]);
    let mut student = config(dir.path(), true, callback(&receiver.url, 10, 50));
    student.class = Some(class(Role::Student));
    let err = Recorder::start(student).unwrap_err();
    assert!(matches!(err, classrec::Error::NotAllowed(_)), "{err}");
    assert!(
        err.to_string().contains("only a teacher or an assistant may record"),
        "{err}"
    );
    assert!(!dir.path().join("rec").exists(), "nothing was recorded");
    assert_eq!(receiver.count(), 0);
}
