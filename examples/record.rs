//! The smoke tool: record a source to MP4 and print one JSON line describing the result.
//!
//! ```text
//! cargo run --release --example record -- --source synthetic --seconds 10
//! cargo run --release --example record -- --source raw:frames.bgra --input-size 1920x1080 --fps 15
//! cargo run --release --example record -- --recover ~/TClass/record/20261124-015412Z.mp4
//! ```
//! Sources: `synthetic` (classroom), `synthetic:still`, `synthetic:motion`, `raw:<path or ->`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use classrec::{ContentType, Event, Recorder, RecorderConfig, SourceConfig, SyntheticScene};

const USAGE: &str = "usage: record [--source synthetic[:still|:motion]|raw:<path|->] [--input-size WxH] \
[--size WxH] [--fps N] [--bitrate-kbps N] [--seconds S] [--fast] [--out-dir DIR] [--content screen|camera] \
[--keyframe-ms N] [--class-id ID] [--user-id ID] [--verbose] | --recover FILE";

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once('x')
        .ok_or_else(|| format!("size `{s}` is not WxH (e.g. 1920x1080)"))?;
    Ok((
        w.parse().map_err(|_| format!("bad width in `{s}`"))?,
        h.parse().map_err(|_| format!("bad height in `{s}`"))?,
    ))
}

fn num<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag} takes a number, got `{value}`"))
}

struct Options {
    config: RecorderConfig,
    seconds: f64,
    verbose: bool,
    recover: Option<PathBuf>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut config = RecorderConfig {
        size: None,
        ..RecorderConfig::default()
    };
    let (mut source, mut input_size, mut fast, mut seconds, mut verbose, mut recover) =
        ("synthetic".to_string(), None, false, 10.0, false, None);
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--source" => source = value()?,
            "--input-size" => input_size = Some(parse_size(&value()?)?),
            "--size" => config.size = Some(parse_size(&value()?)?),
            "--fps" => config.fps = num(flag, &value()?)?,
            "--bitrate-kbps" => config.bitrate_kbps = num(flag, &value()?)?,
            "--seconds" => seconds = num(flag, &value()?)?,
            "--fast" => fast = true,
            "--out-dir" => config.out_dir = Some(value()?.into()),
            "--keyframe-ms" => config.keyframe_interval_ms = num(flag, &value()?)?,
            "--class-id" => config.class_id = Some(value()?),
            "--user-id" => config.user_id = Some(value()?),
            "--content" => {
                config.content = match value()?.as_str() {
                    "screen" => ContentType::Screen,
                    "camera" => ContentType::Camera,
                    other => return Err(format!("--content is screen or camera, not `{other}`")),
                }
            }
            "--verbose" => verbose = true,
            "--recover" => recover = Some(PathBuf::from(value()?)),
            "--help" | "-h" => return Err(USAGE.into()),
            other => return Err(format!("unknown flag `{other}`\n{USAGE}")),
        }
    }
    let frames = fast.then(|| (seconds * f64::from(config.fps)).round() as u64);
    let synthetic = |scene| SourceConfig::Synthetic {
        size: input_size,
        scene,
        fast,
        frames,
    };
    config.source = match source.as_str() {
        "synthetic" => synthetic(SyntheticScene::Classroom),
        "synthetic:still" => synthetic(SyntheticScene::StillSlide),
        "synthetic:motion" => synthetic(SyntheticScene::FullMotion),
        raw if raw.starts_with("raw:") => SourceConfig::Raw {
            path: raw["raw:".len()..].into(),
            size: input_size.ok_or("a raw source needs --input-size WxH")?,
        },
        other => return Err(format!("unknown source `{other}`\n{USAGE}")),
    };
    if config.size.is_none() && matches!(config.source, SourceConfig::Synthetic { size: None, .. }) {
        config.size = Some((1280, 720));
    }
    Ok(Options {
        config,
        seconds,
        verbose,
        recover,
    })
}

fn run(options: Options) -> Result<serde_json::Value, classrec::Error> {
    if let Some(path) = options.recover {
        let r = classrec::recover(&path)?;
        return Ok(serde_json::json!({
            "path": r.path, "already_finalized": r.already_finalized, "fragments": r.fragments,
            "duration_ms": r.duration.as_millis() as u64, "dropped_bytes": r.dropped_bytes, "bytes": r.bytes,
        }));
    }
    let realtime_synthetic = matches!(options.config.source, SourceConfig::Synthetic { fast: false, .. });
    let started = Instant::now();
    let mut recorder = Recorder::start(options.config)?;
    let events = recorder.events();
    let verbose = options.verbose;
    let printer = std::thread::spawn(move || {
        for event in events {
            let last = matches!(event, Event::Stopped(_));
            match &event {
                Event::Started { path } => eprintln!("recording to {}", path.display()),
                Event::Error { message } | Event::Warning { message } => eprintln!("{message}"),
                other if verbose => eprintln!("{other:?}"),
                _ => {}
            }
            if last {
                break;
            }
        }
    });
    let recording = if realtime_synthetic {
        let deadline = started + Duration::from_secs_f64(options.seconds);
        while Instant::now() < deadline && !recorder.is_finished() {
            std::thread::sleep(Duration::from_millis(20).min(deadline.saturating_duration_since(Instant::now())));
        }
        recorder.stop()
    } else {
        recorder.wait()
    };
    drop(recorder);
    let _ = printer.join();
    let recording = recording?;
    Ok(serde_json::json!({
        "path": recording.path,
        "width": recording.width,
        "height": recording.height,
        "frames_in": recording.stats.frames_captured,
        "frames_encoded": recording.stats.frames_encoded,
        "frames_skipped": recording.stats.frames_skipped,
        "frames_dropped": recording.stats.frames_dropped,
        "fragments": recording.stats.fragments,
        "duration_ms": recording.duration.as_millis() as u64,
        "bytes": recording.bytes,
        "stop_reason": recording.stop_reason,
        "elapsed_ms": started.elapsed().as_millis() as u64,
    }))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse(&args) {
        Ok(o) => o,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(options) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
