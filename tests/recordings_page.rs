//! The recordings page (`recordings --html`): a recording uploaded to a real S3 server (SeaweedFS)
//! is listed with its name, start time, duration and size, and its player plays it to the end in
//! headless Chromium, picture and sound; a broken link does not pass for one that plays.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use classrec::{
    AudioConfig, AudioSourceConfig, Recorder, RecorderConfig, SourceConfig, SyntheticScene, SyntheticSound,
};
use common::chromium::{file_url, Chromium};
use common::examples::example;
use common::s3::{S3Server, ACCESS_KEY, BUCKET, SECRET_KEY};
use common::TempDir;
use serde_json::Value;

#[path = "../examples/common/units.rs"]
mod units;

/// Plays the page's first video to its end (or its failure) and reports what the browser saw.
const PLAY_FIRST_VIDEO: &str = r#"(async () => {
  const v = document.querySelector('video');
  const outcome = await new Promise(done => {
    if (v.error) return done('error ' + v.error.code);
    v.addEventListener('ended', () => done('ended'));
    v.addEventListener('error', () => done('error ' + v.error.code));
    v.play().catch(e => done('play() refused: ' + e.message));
  });
  return {outcome, currentTime: v.currentTime, duration: v.duration, width: v.videoWidth,
          audioBytes: v.webkitAudioDecodedByteCount, videoBytes: v.webkitVideoDecodedByteCount,
          frames: v.getVideoPlaybackQuality().totalVideoFrames};
})()"#;

/// The text between `start` and the next `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("no `{start}` in the page:\n{text}"))
        + start.len();
    &text[from..from + text[from..].find(end).unwrap()]
}

fn play(html: &Path) -> Value {
    let mut browser = Chromium::start("page");
    let tab = browser.open(&file_url(html));
    browser.eval(&tab, PLAY_FIRST_VIDEO)
}

#[test]
fn the_recordings_page_plays_a_recording_to_its_end_in_chromium() {
    let Some(server) = S3Server::start("page") else {
        return;
    };
    let dir = TempDir::new("recordings-page");
    let mut recorder = Recorder::start(RecorderConfig {
        source: SourceConfig::Synthetic {
            size: None,
            scene: SyntheticScene::Classroom,
            fast: true,
            frames: Some(60),
        },
        out_dir: Some(dir.path().to_owned()),
        size: Some((640, 360)),
        fps: 15,
        audio: Some(AudioConfig::new(AudioSourceConfig::Synthetic {
            sound: SyntheticSound::Tone,
        })),
        upload: Some(server.config("page")),
        ..RecorderConfig::default()
    })
    .unwrap();
    let recording = recorder.wait().unwrap();
    let object = recorder
        .wait_for_upload(Duration::from_secs(60))
        .expect("upload finished")
        .unwrap();

    let page = dir.path().join("recordings.html");
    let out = Command::new(example("recordings"))
        .args([
            "--endpoint",
            &server.endpoint,
            &format!("s3://{BUCKET}/page/"),
            "--html",
        ])
        .arg(&page)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "recordings --html failed: {stderr}");
    assert!(!stderr.contains("no duration"), "{stderr}");
    let html = std::fs::read_to_string(&page).unwrap();

    // The row: name, start time (from the name), duration (from the object's mvhd), size.
    let name = object.key.rsplit('/').next().unwrap();
    let stamp = &name[..16]; // 20261124-015412Z
    let start = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &stamp[..4],
        &stamp[4..6],
        &stamp[6..8],
        &stamp[9..11],
        &stamp[11..13],
        &stamp[13..15]
    );
    assert!(html.contains(&format!(">{name}</a>")), "{html}");
    assert!(html.contains(&format!("<time datetime=\"{start}\">")), "{html}");
    let stated: f64 = between(&html, "<time datetime=\"PT", "S\"").parse().unwrap();
    let actual = recording.duration.as_secs_f64();
    assert!(
        (stated - actual).abs() < 0.05,
        "page says {stated} s, the recording is {actual} s"
    );
    let size = format!("<td class=\"n\">{}</td>", units::size(object.size));
    assert!(html.contains(&size), "{size} not on the page");
    assert_eq!(html.matches("<video").count(), 1);
    assert!(!html.contains("<script"), "the page needs no script");

    // Chromium plays it to the end, picture and sound.
    let played = play(&page);
    eprintln!("played: {played}");
    assert_eq!(played["outcome"], "ended", "{played}");
    let at_end = played["currentTime"].as_f64().unwrap();
    assert!((at_end - actual).abs() < 0.1, "ended at {at_end} s of {actual} s");
    assert_eq!(played["width"], 640);
    let encoded = recording.stats.frames_encoded;
    assert!(
        played["frames"].as_u64().unwrap() * 10 >= encoded * 9,
        "{played}, {encoded} encoded"
    );
    assert!(played["videoBytes"].as_u64().unwrap() > 0 && played["audioBytes"].as_u64().unwrap() > 0);

    // The check can fail: with the links' signatures spoiled, the video does not play.
    let broken = dir.path().join("broken.html");
    let spoiled = html.replace("X-Amz-Signature=", "X-Amz-Signature=0");
    assert_ne!(spoiled, html, "the page has presigned links");
    std::fs::write(&broken, spoiled).unwrap();
    let failed = play(&broken);
    eprintln!("broken link: {failed}");
    assert_ne!(failed["outcome"], "ended", "{failed}");
}
