//! The smoke tool: record a source to MP4 and print one JSON line describing the result.
//!
//! ```text
//! cargo run --release --example record -- --source synthetic --seconds 10
//! cargo run --release --example record -- --source raw:frames.bgra --input-size 1920x1080 --fps 15
//! cargo run --release --example record -- --recover ~/TClass/record/20261124-015412Z.mp4
//! cargo run --release --example record -- --list-windows
//! cargo run --release --example record -- --source window:"Classroom" --size 1920x1080
//! ```
//! Sources: `synthetic` (classroom), `synthetic:still`, `synthetic:motion`, `raw:<path or ->`,
//! `window:<title or 0xID>` (also spelled `x11:` on Linux): a window, captured even where covered.
//!
//! On a terminal, a status line on stderr shows the recording as it goes (`status.rs`); the JSON
//! line on stdout is the same either way.

mod status;
#[path = "../common/units.rs"]
mod units;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use classrec::capture::audio::Capture;
use classrec::{
    AudioConfig, AudioSourceConfig, CallbackConfig, ClassInfo, ContentType, Event, PcmFormat, Recorder, RecorderConfig,
    Role, Secret, SourceConfig, SyntheticScene, SyntheticSound, UploadConfig, UploadTarget, UploadedObject, Uploader,
};

const USAGE: &str =
    "usage: record [--source synthetic[:still|:motion]|raw:<path|->|window:<title|0xID>] [--input-size WxH] \
[--size WxH] [--fps N] [--bitrate-kbps N] [--seconds S] [--fast] [--out-dir DIR] [--content screen|camera] \
[--keyframe-ms N] [--class-id ID] [--user-id ID] [--verbose] \
[--upload s3://BUCKET/PREFIX --endpoint URL [--region R] | --upload-dir DIR] [--upload-limit-kbps N] [--resume] \
[--callback-url URL --callback-key KEY [--callback-retry-interval SECONDS]] [--sdkappid N] [--class-topic T] \
[--teacher-id ID] [--assistant-id ID] [--role teacher|assistant|student] [--class-start-time T] [--class-stop-time T] \
[--audio none|synthetic|clapper|raw:<path|->|system|mic|system+mic] [--audio-format s16le|f32le] [--audio-rate HZ] \
[--audio-channels 1|2] [--audio-bitrate-kbps N] [--system-device NAME] [--mic-device NAME] \
| --recover FILE | --list-windows | --list-audio-devices
S3 credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN, AWS_REGION).";

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
    resume: bool,
}

/// `s3://bucket/prefix` into (bucket, prefix).
fn parse_s3(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| format!("--upload takes s3://BUCKET/PREFIX, got `{url}`"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    Ok((bucket.to_owned(), prefix.to_owned()))
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut config = RecorderConfig {
        size: None,
        ..RecorderConfig::default()
    };
    let (mut source, mut input_size, mut fast, mut seconds, mut verbose, mut recover) =
        ("synthetic".to_string(), None, false, 10.0, false, None);
    let mut class = ClassInfo {
        sdkappid: 0,
        class_id: 0,
        class_topic: None,
        teacher_id: String::new(),
        assistant_id: String::new(),
        user_id: String::new(),
        role: Role::Teacher,
        class_start_time: 0,
        class_stop_time: 0,
    };
    let (mut class_given, mut callback_url, mut callback_key, mut retry_interval_s) = (false, None, None, 60u64);
    let (mut s3, mut endpoint, mut region, mut upload_dir, mut limit, mut resume) =
        (None, None, None, None, None, false);
    let (mut audio, mut audio_format, mut audio_rate, mut audio_channels, mut audio_bitrate) =
        ("none".to_owned(), PcmFormat::S16le, None, None, None);
    let (mut system_device, mut mic_device) = (None, None);
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
            "--sdkappid" => class.sdkappid = num(flag, &value()?)?,
            "--class-topic" => class.class_topic = Some(value()?),
            "--teacher-id" => class.teacher_id = value()?,
            "--assistant-id" => class.assistant_id = value()?,
            "--role" => {
                class.role = match value()?.as_str() {
                    "teacher" => Role::Teacher,
                    "assistant" => Role::Assistant,
                    "student" => Role::Student,
                    other => return Err(format!("--role is teacher, assistant or student, not `{other}`")),
                };
                class_given = true;
            }
            "--class-start-time" => class.class_start_time = num(flag, &value()?)?,
            "--class-stop-time" => class.class_stop_time = num(flag, &value()?)?,
            "--callback-url" => callback_url = Some(value()?),
            "--callback-key" => callback_key = Some(value()?),
            "--callback-retry-interval" => retry_interval_s = num(flag, &value()?)?,
            "--content" => {
                config.content = match value()?.as_str() {
                    "screen" => ContentType::Screen,
                    "camera" => ContentType::Camera,
                    other => return Err(format!("--content is screen or camera, not `{other}`")),
                }
            }
            "--verbose" => verbose = true,
            "--recover" => recover = Some(PathBuf::from(value()?)),
            "--upload" => s3 = Some(parse_s3(&value()?)?),
            "--endpoint" => endpoint = Some(value()?),
            "--region" => region = Some(value()?),
            "--upload-dir" => upload_dir = Some(PathBuf::from(value()?)),
            "--upload-limit-kbps" => limit = Some(num::<u64>(flag, &value()?)? * 1000 / 8),
            "--resume" => resume = true,
            "--audio" => audio = value()?,
            "--audio-format" => {
                audio_format = match value()?.as_str() {
                    "s16le" => PcmFormat::S16le,
                    "f32le" => PcmFormat::F32le,
                    other => return Err(format!("--audio-format is s16le or f32le, not `{other}`")),
                }
            }
            "--audio-rate" => audio_rate = Some(num(flag, &value()?)?),
            "--audio-channels" => audio_channels = Some(num(flag, &value()?)?),
            "--audio-bitrate-kbps" => audio_bitrate = Some(num(flag, &value()?)?),
            "--system-device" => system_device = Some(value()?),
            "--mic-device" => mic_device = Some(value()?),
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
        window if window.starts_with("window:") || window.starts_with("x11:") => {
            let target = window.split_once(':').map_or("", |(_, t)| t);
            let id = target
                .strip_prefix("0x")
                .and_then(|hex| u64::from_str_radix(hex, 16).ok())
                .or_else(|| target.parse().ok());
            SourceConfig::Window {
                title: id.is_none().then(|| target.to_owned()),
                id,
            }
        }
        other => return Err(format!("unknown source `{other}`\n{USAGE}")),
    };
    let capture = |input| AudioSourceConfig::Capture {
        input,
        system_device: system_device.clone(),
        mic_device: mic_device.clone(),
    };
    let audio_source = match audio.as_str() {
        "none" => None,
        "synthetic" => Some(AudioSourceConfig::Synthetic {
            sound: SyntheticSound::Tone,
        }),
        "clapper" => Some(AudioSourceConfig::Synthetic {
            sound: SyntheticSound::Clapper,
        }),
        "system" => Some(capture(Capture::System)),
        "mic" => Some(capture(Capture::Mic)),
        "system+mic" => Some(capture(Capture::SystemAndMic)),
        raw if raw.starts_with("raw:") => Some(AudioSourceConfig::Raw {
            path: raw["raw:".len()..].into(),
            format: audio_format,
            rate: audio_rate.ok_or("raw audio needs --audio-rate HZ")?,
            channels: audio_channels.unwrap_or(1),
        }),
        other => return Err(format!("unknown --audio `{other}`\n{USAGE}")),
    };
    config.audio = audio_source.map(|source| AudioConfig {
        source,
        channels: if audio.starts_with("raw:") {
            1
        } else {
            audio_channels.unwrap_or(1)
        },
        bitrate_kbps: audio_bitrate,
    });
    if config.size.is_none() && matches!(config.source, SourceConfig::Synthetic { size: None, .. }) {
        config.size = Some((1280, 720));
    }
    let target = match (s3, upload_dir) {
        (Some(_), Some(_)) => return Err("choose one of --upload and --upload-dir".into()),
        (Some((bucket, prefix)), None) => Some(UploadTarget::S3 {
            endpoint: endpoint.ok_or("--upload needs --endpoint URL")?,
            region,
            bucket,
            prefix,
            path_style: true,
            access_key: None,
            secret_key: None,
            session_token: None,
        }),
        (None, Some(path)) => Some(UploadTarget::Folder {
            path,
            prefix: String::new(),
        }),
        (None, None) => None,
    };
    config.upload = target.map(|target| UploadConfig {
        target,
        part_size: classrec::MIN_PART_SIZE,
        bandwidth_limit: limit,
    });
    if class_given || callback_url.is_some() {
        class.class_id = config
            .class_id
            .as_deref()
            .unwrap_or("0")
            .parse()
            .map_err(|_| "--class-id is a number")?;
        class.user_id = config.user_id.clone().unwrap_or_default();
        config.class = Some(class);
    }
    if let Some(url) = callback_url {
        let key = callback_key.ok_or("--callback-url needs --callback-key KEY")?;
        config.callback = Some(CallbackConfig {
            url,
            key: Secret(key),
            retries: 10,
            retry_interval_ms: retry_interval_s * 1000,
            timeout_ms: 10_000,
        });
    }
    Ok(Options {
        config,
        seconds,
        verbose,
        recover,
        resume,
    })
}

fn upload_json(object: &UploadedObject) -> serde_json::Value {
    serde_json::json!({
        "key": object.key, "url": object.url, "size": object.size, "bytes_sent": object.bytes_sent,
        "etag": object.etag, "stop_to_complete_ms": object.stop_to_complete.map(|d| d.as_millis() as u64),
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
    if options.resume {
        let upload = options
            .config
            .upload
            .as_ref()
            .ok_or_else(|| classrec::Error::InvalidConfig("--resume needs --upload or --upload-dir".into()))?;
        let dir = match &options.config.out_dir {
            Some(dir) => dir.clone(),
            None => classrec::default_out_dir()?,
        };
        let uploader = Uploader::new(upload)?.with_callback(options.config.callback.clone());
        let mut done = Vec::new();
        for (path, result) in uploader.resume_pending(&dir) {
            match result {
                Ok(object) => done.push(upload_json(&object)),
                Err(e) => return Err(classrec::Error::Upload(format!("`{}`: {e}", path.display()))),
            }
        }
        return Ok(serde_json::json!({ "resumed": done }));
    }
    // Real-time sources record for --seconds (or until the window closes); files until they end.
    let timed = matches!(
        options.config.source,
        SourceConfig::Synthetic { fast: false, .. } | SourceConfig::Window { .. }
    );
    let started = Instant::now();
    let options_callback_retries = options.config.callback.as_ref().map(|c| c.retries);
    let line = status::Status::new(
        started,
        options.config.upload.is_some(),
        options.config.callback.is_some(),
    );
    let mut recorder = Recorder::start(options.config)?;
    let events = recorder.events();
    let verbose = options.verbose;
    // The printer tells the main thread when the recording stopped by itself (no polling: a
    // still-slide recording should cost almost nothing, this example included). On a terminal it
    // draws the status line until `done` goes (after the upload and callback); elsewhere it prints
    // plain lines, as scripts expect.
    let (stopped_tx, stopped_rx) = std::sync::mpsc::channel::<()>();
    let (done, done_rx) = crossbeam_channel::bounded::<()>(0);
    let terminal = std::io::stderr().is_terminal();
    let printer = std::thread::spawn(move || {
        if terminal {
            return status::run(events, done_rx, stopped_tx, line, verbose);
        }
        for event in events {
            let last = matches!(event, Event::Stopped(_));
            if last {
                let _ = stopped_tx.send(());
            }
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
    let mut finish = || {
        let recording = if timed {
            let deadline = started + Duration::from_secs_f64(options.seconds);
            let _ = stopped_rx.recv_timeout(deadline.saturating_duration_since(Instant::now()));
            recorder.stop()
        } else {
            recorder.wait()
        }?;
        let callback =
            options_callback_retries.map(
                |retries| match recorder.wait_for_callback(Duration::from_secs(24 * 3600)) {
                    Some(Ok(attempts)) => serde_json::json!({"delivered": true, "attempts": attempts}),
                    Some(Err(e)) => {
                        serde_json::json!({"delivered": false, "attempts": retries + 1, "error": e.to_string()})
                    }
                    None => {
                        serde_json::json!({"delivered": false, "attempts": 0, "error": "the upload did not complete"})
                    }
                },
            );
        let upload = match recorder.wait_for_upload(Duration::from_secs(24 * 3600)) {
            Some(Ok(object)) => Some(upload_json(&object)),
            Some(Err(e)) => return Err(e),
            None => None,
        };
        Ok((recording, callback, upload))
    };
    let outcome = finish();
    // On a terminal the printer ends its line (it stops at `done`) before anything else is
    // printed. The plain printer stops at `Stopped`, which a failed recording may never send.
    drop(done);
    drop(recorder);
    if terminal || outcome.is_ok() {
        let _ = printer.join();
    }
    let (recording, callback, upload) = outcome?;
    Ok(serde_json::json!({
        "upload": upload,
        "callback": callback,
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
    if args.iter().any(|a| a == "--list-audio-devices") {
        return match classrec::capture::audio::list_audio_devices() {
            Ok(devices) => {
                for d in devices {
                    println!(
                        "{}",
                        serde_json::json!({"name": d.name, "id": d.id, "kind": d.kind, "default": d.default})
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if args.iter().any(|a| a == "--list-windows") {
        return match classrec::list_windows() {
            Ok(windows) => {
                for w in windows {
                    println!(
                        "{}",
                        serde_json::json!({"id": format!("{:#x}", w.id), "title": w.title, "width": w.width, "height": w.height})
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
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
