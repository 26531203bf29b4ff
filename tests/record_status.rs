//! The `record` example's live status line: drawn on stderr when it is a terminal (run here under
//! a pseudo-terminal by `script` from util-linux), absent when stderr is a pipe, and the JSON line
//! on stdout the same either way.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::examples::example;
use common::receiver::{Receiver, Reply};
use common::s3::{S3Server, ACCESS_KEY, BUCKET, SECRET_KEY};
use common::TempDir;

#[path = "../examples/common/units.rs"]
mod units;

/// A real-time synthetic recording of `seconds` into `dir`, small and cheap.
fn record_args(dir: &Path, seconds: &str) -> Vec<String> {
    let args = ["--seconds", seconds, "--size", "320x180", "--fps", "10", "--out-dir"];
    let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    args.push(dir.display().to_string());
    args
}

/// Runs the example with `args` under a pseudo-terminal; returns everything the terminal showed.
fn on_a_terminal(args: &[String], env: &[(&str, &str)]) -> String {
    let quoted: Vec<String> = std::iter::once(example("record").display().to_string())
        .chain(args.iter().cloned())
        .map(|a| format!("'{a}'"))
        .collect();
    let out = Command::new("script")
        .args(["-qec", &quoted.join(" "), "/dev/null"])
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run script (util-linux)");
    // The line is drawn with wrapping off (`ESC [?7l` … `ESC [?7h`): take those out.
    let shown = String::from_utf8_lossy(&out.stdout)
        .replace("\x1b[?7l", "")
        .replace("\x1b[?7h", "");
    assert!(out.status.success(), "record failed on a terminal:\n{shown}");
    shown
}

/// Each drawing of the status line: what follows "erase to the end of the line".
fn frames(shown: &str) -> Vec<&str> {
    shown
        .split("\x1b[K")
        .skip(1)
        .map(|f| f.split(['\r', '\n']).next().unwrap())
        .filter(|f| f.ends_with(" safe") || f.contains(" safe | "))
        .collect()
}

/// (state, seconds, size text, fragments) of one status line.
fn parse(frame: &str) -> (&str, u64, &str, u64) {
    let fields: Vec<&str> = frame.split(" | ").collect();
    let (state, clock) = fields[0].split_once(' ').unwrap();
    let (m, s) = clock.split_once(':').unwrap();
    let fragments = fields[2].split(' ').next().unwrap().parse().unwrap();
    (
        state,
        m.parse::<u64>().unwrap() * 60 + s.parse::<u64>().unwrap(),
        fields[1],
        fragments,
    )
}

/// The JSON line among what was shown (a terminal shows stdout too).
fn json_line(shown: &str) -> serde_json::Value {
    let line = shown.lines().find(|l| l.starts_with('{')).expect("a JSON line");
    serde_json::from_str(line.trim()).unwrap()
}

#[test]
fn on_a_terminal_record_redraws_a_status_line_twice_a_second() {
    let dir = TempDir::new("status-tty");
    let shown = on_a_terminal(&record_args(dir.path(), "4"), &[]);
    let frames = frames(&shown);
    eprintln!("{} drawings, the last: {:?}", frames.len(), frames.last());
    // 4 s at 2 Hz, plus the first and the last drawing and one per message.
    assert!(
        (7..=14).contains(&frames.len()),
        "{} drawings:\n{shown:?}",
        frames.len()
    );
    let parsed: Vec<_> = frames.iter().map(|f| parse(f)).collect();
    assert!(
        parsed.windows(2).all(|w| w[0].1 <= w[1].1 && w[0].3 <= w[1].3),
        "{frames:#?}"
    );
    assert!(
        parsed.iter().any(|p| p.0 == "rec" && p.1 >= 2),
        "the clock runs: {frames:#?}"
    );
    assert!(frames.iter().all(|f| !f.contains("upload") && !f.contains("callback")));
    let json = json_line(&shown);
    let last = parsed.last().unwrap();
    assert_eq!(last.0, "stopped");
    assert!((4..=5).contains(&last.1), "{frames:#?}");
    assert_eq!(last.3, json["fragments"].as_u64().unwrap());
    assert_eq!(last.2, units::size(json["bytes"].as_u64().unwrap()));
    assert!(
        parsed.iter().any(|p| p.0 == "rec" && p.3 > 0),
        "fragments while recording"
    );
}

#[test]
fn the_status_line_follows_the_upload_and_the_callback() {
    let Some(server) = S3Server::start("status") else {
        return;
    };
    let receiver = Receiver::start(vec![Reply::Code(0)]);
    let dir = TempDir::new("status-upload");
    let mut args = record_args(dir.path(), "3");
    let more = [
        "--upload",
        &format!("s3://{BUCKET}/status"),
        "--endpoint",
        &server.endpoint,
        "--callback-url",
        &receiver.url,
        "--callback-key",
        "status-key",
        "--sdkappid",
        "1400000",
        "--class-id",
        "7",
        "--teacher-id",
        "t1",
        "--user-id",
        "t1",
        "--role",
        "teacher",
    ];
    args.extend(more.iter().map(|a| a.to_string()));
    let env = [("AWS_ACCESS_KEY_ID", ACCESS_KEY), ("AWS_SECRET_ACCESS_KEY", SECRET_KEY)];
    let shown = on_a_terminal(&args, &env);
    let frames = frames(&shown);
    eprintln!("{} drawings, the last: {:?}", frames.len(), frames.last());
    assert!(frames[0].ends_with(" | upload 0% | callback waiting"), "{frames:#?}");
    let last = frames.last().unwrap();
    assert!(
        last.ends_with(" | upload 100% complete | callback delivered (1 attempt)"),
        "{frames:#?}"
    );
    let json = json_line(&shown);
    assert_eq!(json["callback"]["delivered"], true);
    assert_eq!(json["upload"]["size"], json["bytes"]);
}

#[test]
fn with_stderr_piped_record_prints_no_status_line() {
    let dir = TempDir::new("status-pipe");
    let out = Command::new(example("record"))
        .args(record_args(dir.path(), "2"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.lines().any(|l| l.starts_with("recording to ")), "{stderr:?}");
    assert!(
        !stderr.contains('\r') && !stderr.contains('\x1b') && !stderr.contains(" safe"),
        "{stderr:?}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(json["fragments"].as_u64().unwrap() > 0);
}
