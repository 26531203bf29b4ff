//! Helpers for integration tests: temporary folders, and FFmpeg as an independent checker.
#![allow(dead_code)]

pub mod chromium;
pub mod examples;
#[cfg(target_os = "linux")]
pub mod pulse;
pub mod receiver;
pub mod s3;
#[cfg(target_os = "linux")]
pub mod xvfb;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use classrec::{
    AudioConfig, AudioSourceConfig, CallbackConfig, ClassInfo, RecorderConfig, Role, Secret, SourceConfig, UploadConfig,
};

/// A fresh folder under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("classrec-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(cmd: &mut Command) -> (String, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (is ffmpeg installed?)"));
    (
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// What ffprobe says about the file's video stream.
#[derive(Debug)]
pub struct Probe {
    pub format: String,
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub duration: f64,
    pub packets: Vec<(f64, bool)>,
}

/// Runs ffprobe on `path` (container, stream and every packet's time and key flag).
pub fn probe(path: &Path) -> Probe {
    let (out, err) = run(Command::new("ffprobe")
        .args(["-v", "error", "-print_format", "json"])
        .args([
            "-show_format",
            "-show_streams",
            "-show_packets",
            "-select_streams",
            "v:0",
        ])
        .arg(path));
    let json: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|_| panic!("ffprobe failed on {path:?}: {err}"));
    let stream = &json["streams"][0];
    let packets = json["packets"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    let pts: f64 = p["pts_time"].as_str().unwrap_or("0").parse().unwrap();
                    (pts, p["flags"].as_str().unwrap_or("").starts_with('K'))
                })
                .collect()
        })
        .unwrap_or_default();
    Probe {
        format: json["format"]["format_name"].as_str().unwrap_or("").into(),
        codec: stream["codec_name"].as_str().unwrap_or("").into(),
        width: stream["width"].as_u64().unwrap_or(0) as u32,
        height: stream["height"].as_u64().unwrap_or(0) as u32,
        duration: json["format"]["duration"]
            .as_str()
            .and_then(|d| d.parse().ok())
            .unwrap_or(f64::NAN),
        packets,
    }
}

/// Decodes every frame with FFmpeg; returns what it printed at `-v error` (empty when clean).
pub fn decode_errors(path: &Path) -> String {
    let (_, err) = run(Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"]));
    err
}

/// PSNR of the luma plane of `mp4` against raw BGRA `reference` frames (converted by FFmpeg to
/// BT.709 limited-range I420, as the encoder's input should be). Returns (average, minimum).
pub fn psnr_y(mp4: &Path, reference: &Path, size: (u32, u32), fps: u32) -> (f64, f64) {
    let log = mp4.with_extension("psnr.log");
    let (_, err) = run(Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(mp4)
        .args(["-f", "rawvideo", "-pix_fmt", "bgra", "-s", &format!("{}x{}", size.0, size.1)])
        .args(["-r", &fps.to_string(), "-i"])
        .arg(reference)
        .args([
            "-lavfi",
            &format!(
                "[1:v]scale=out_color_matrix=bt709:out_range=tv,format=yuv420p[ref];[0:v]format=yuv420p[rec];[rec][ref]psnr=stats_file={}",
                log.display()
            ),
            "-f",
            "null",
            "-",
        ]));
    let stats = std::fs::read_to_string(&log).unwrap_or_else(|_| panic!("psnr failed: {err}"));
    let ys: Vec<f64> = stats
        .lines()
        .filter_map(|l| l.split_whitespace().find_map(|kv| kv.strip_prefix("psnr_y:")))
        .map(|v| if v == "inf" { 99.0 } else { v.parse().unwrap() })
        .collect();
    assert!(!ys.is_empty(), "no PSNR lines: {err}");
    let avg = ys.iter().sum::<f64>() / ys.len() as f64;
    (avg, ys.iter().copied().fold(f64::INFINITY, f64::min))
}

/// Top-level box types of an MP4 file, in order.
pub fn top_level_boxes(path: &Path) -> Vec<String> {
    let data = std::fs::read(path).unwrap();
    let mut at = 0usize;
    let mut out = vec![];
    while at + 8 <= data.len() {
        let mut size = u32::from_be_bytes(data[at..at + 4].try_into().unwrap()) as usize;
        if size == 1 {
            size = u64::from_be_bytes(data[at + 8..at + 16].try_into().unwrap()) as usize;
        }
        out.push(String::from_utf8_lossy(&data[at + 4..at + 8]).into_owned());
        if size < 8 {
            break;
        }
        at += size;
    }
    out
}

/// Runs the ignored test `name` of this test binary as a child process (a recorder to be
/// killed), with `env` set; returns it once it printed `started <path>`, and that path.
pub fn spawn_child_recorder(name: &str, env: (&str, &str)) -> (Child, PathBuf) {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--ignored", "--nocapture", "--test-threads=1"])
        .env(env.0, env.1)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // libtest prints "test <name> ... " before our line.
    let started = lines
        .map_while(Result::ok)
        .find_map(|l| l.split_once("started ").map(|(_, p)| PathBuf::from(p)));
    match started {
        Some(path) => (child, path),
        None => {
            let status = child.wait();
            panic!("the child recorder exited before starting: {status:?}");
        }
    }
}

/// The file's sound track decoded by FFmpeg to mono f32 at 48 kHz.
pub fn decode_audio(path: &Path) -> Vec<f32> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-map", "0:a", "-ac", "1", "-ar", "48000", "-f", "f32le", "-"])
        .output()
        .unwrap();
    out.stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

/// Duration of each stream (video, audio) and the audio's sample rate, from ffprobe.
pub fn streams(path: &Path) -> Vec<(String, f64, u32)> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-print_format", "json", "-show_streams"])
        .arg(path)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ffprobe JSON");
    json["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["codec_name"].as_str().unwrap_or("").to_owned(),
                s["duration"].as_str().and_then(|d| d.parse().ok()).unwrap_or(f64::NAN),
                s["sample_rate"].as_str().and_then(|r| r.parse().ok()).unwrap_or(0),
            )
        })
        .collect()
}

/// What the C++ end-to-end client (`tests/capi/end_to_end.cpp`) records with: pushed picture and
/// sound at 640x360 into `out_dir`, uploaded with `upload`, and a callback to `callback_url`.
pub fn cpp_client_config(out_dir: PathBuf, upload: UploadConfig, callback_url: &str, class_id: u64) -> RecorderConfig {
    RecorderConfig {
        source: SourceConfig::Pushed,
        out_dir: Some(out_dir),
        size: Some((640, 360)),
        upload: Some(upload),
        class: Some(ClassInfo {
            sdkappid: 14000000,
            class_id,
            class_topic: Some("C ABI".into()),
            teacher_id: "teacher-1".into(),
            assistant_id: String::new(),
            user_id: "teacher-1".into(),
            role: Role::Teacher,
            class_start_time: 1_700_000_000,
            class_stop_time: 1_700_003_600,
        }),
        callback: Some(CallbackConfig {
            url: callback_url.to_owned(),
            key: Secret("capi-test-key".into()),
            retries: 3,
            retry_interval_ms: 200,
            timeout_ms: 2000,
        }),
        audio: Some(AudioConfig::new(AudioSourceConfig::Pushed)),
        ..RecorderConfig::default()
    }
}
