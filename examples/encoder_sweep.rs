//! Measures OpenH264 settings on raw BGRA frames through the recorder's own encoder: encode time
//! per frame and bitrate for each setting, writing each stream to `target/sweep/` for an SSIM
//! check (`benches/sweep.sh` runs it). This is how the defaults in `src/encode/h264.rs` were
//! chosen.
//!
//! Usage: `encoder_sweep [--changed-only] [--paced] INPUT.bgra WIDTHxHEIGHT FPS SPEC...`, where
//! SPEC is `usage,complexity,keyframe_frames,kbps,qp_min-qp_max[,tools]` (usage: screen|camera;
//! complexity: low|medium|high; tools, joined by `+`: aq (adaptive quantization, camera only), bg
//! (background detection, camera only), nosc (no scene change detection, camera only), cavlc
//! (instead of CABAC), deblock (the deblocking filter on), or none; without tools, the recorder's
//! for that usage), e.g. `screen,low,150,1500,18-40` or `camera,low,150,1500,18-40,aq+nosc+cavlc`.
//!
//! `--changed-only` drops each frame identical to the one before, as the recorder does (the rest
//! keep their times, and a keyframe comes when `keyframe_frames` have passed since the last one;
//! the recorder's keyframe for a picture that stands still, and its heartbeat with sound, are not
//! modelled); `--paced` encodes each frame at its time on a real-time clock instead of back to
//! back, as a recorder must (OpenH264 then costs more per frame: benches/lecture.sh measures both).
//!
//! Prints a line per SPEC: `NAME MS_PER_ENCODED_FRAME KBIT_PER_S CPU_S_PER_MINUTE ENCODED/FRAMES
//! STREAM`: the wall time of each encode call, the bitrate over the input's duration, the thread's
//! CPU time (user + system; wall time off Linux) per minute of input, and how
//! many of the input's frames were encoded.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use classrec::internals::{H264Complexity, H264Encoder, H264Settings, H264Tools, I420};
use classrec::{ContentType, Frame, PictureMaker};

type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

/// One setting to measure.
struct Spec {
    name: String,
    settings: H264Settings,
    tools: H264Tools,
    keyframe_frames: usize,
}

fn parse_spec(spec: &str, fps: u32) -> Fallible<Spec> {
    let fields: Vec<&str> = spec.split(',').collect();
    let (usage, complexity, keyframe_frames, kbps, qp, tools) = match fields[..] {
        [usage, complexity, keyframes, kbps, qp] => (usage, complexity, keyframes, kbps, qp, None),
        [usage, complexity, keyframes, kbps, qp, tools] => (usage, complexity, keyframes, kbps, qp, Some(tools)),
        _ => return Err(format!("`{spec}` is not usage,complexity,keyframe_frames,kbps,qp_min-qp_max[,tools]").into()),
    };
    let content = match usage {
        "camera" => ContentType::Camera,
        "screen" => ContentType::Screen,
        other => return Err(format!("usage is camera or screen, not `{other}`").into()),
    };
    let complexity = match complexity {
        "low" => H264Complexity::Low,
        "medium" => H264Complexity::Medium,
        "high" => H264Complexity::High,
        other => return Err(format!("complexity is low, medium or high, not `{other}`").into()),
    };
    let (qp_min, qp_max) = qp.split_once('-').ok_or("qp is MIN-MAX")?;
    let mut tools_used = H264Tools::recorder(content);
    if let Some(tools) = tools {
        let tools: Vec<&str> = tools.split('+').collect();
        if let Some(unknown) = tools
            .iter()
            .find(|t| !["aq", "bg", "nosc", "cavlc", "deblock", "none"].contains(t))
        {
            return Err(format!("tools are aq, bg, nosc, cavlc, deblock or none, joined by +, not `{unknown}`").into());
        }
        tools_used.adaptive_quantization = tools.contains(&"aq");
        tools_used.background_detection = tools.contains(&"bg");
        tools_used.scene_change_detection = !tools.contains(&"nosc");
        tools_used.cabac = !tools.contains(&"cavlc");
        tools_used.deblocking = tools.contains(&"deblock");
    }
    tools_used.complexity = complexity;
    tools_used.qp = (qp_min.parse()?, qp_max.parse()?);
    Ok(Spec {
        name: spec.replace(',', "_"),
        settings: H264Settings {
            bitrate_bps: kbps.parse::<u32>()? * 1000,
            fps,
            content,
        },
        tools: tools_used,
        keyframe_frames: keyframe_frames.parse()?,
    })
}

/// This thread's CPU time so far, user + system (wall time off Linux, where the benches do not run).
fn thread_cpu_time() -> Duration {
    #[cfg(target_os = "linux")]
    {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
    }
    #[cfg(not(target_os = "linux"))]
    {
        static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        START.get_or_init(Instant::now).elapsed()
    }
}

/// The input's pictures, converted as the recorder does.
struct Input {
    /// Each picture's frame number in the input, and its I420 buffer (Y, then U, then V).
    pictures: Vec<(u64, Vec<u8>)>,
    /// How many frames the input holds, kept or not.
    frames: u64,
}

/// Reads every frame of the input, or with `changed_only` every frame that differs from the one
/// before it.
fn read_pictures(path: &str, (w, h): (u32, u32), changed_only: bool) -> Fallible<Input> {
    let mut file = std::fs::File::open(path)?;
    let mut maker = PictureMaker::new(w, h);
    let mut input = Input {
        pictures: Vec::new(),
        frames: 0,
    };
    let (mut bgra, mut previous) = (vec![0; w as usize * h as usize * 4], Vec::new());
    while file.read_exact(&mut bgra).is_ok() {
        let number = input.frames;
        input.frames += 1;
        if changed_only && bgra == previous {
            continue;
        }
        let frame = Frame {
            width: w,
            height: h,
            stride: w as usize * 4,
            data: &bgra,
            timestamp: Duration::ZERO,
        };
        let picture = maker.make(&frame)?;
        let planes = picture.i420().planes;
        input.pictures.push((number, [planes.0, planes.1, planes.2].concat()));
        if changed_only {
            previous.clone_from(&bgra);
        }
    }
    Ok(input)
}

fn main() -> Fallible<()> {
    let mut args: Vec<String> = std::env::args().collect();
    let mut flag = |name: &str| args.iter().position(|a| a == name).map(|i| args.remove(i)).is_some();
    let (changed_only, paced) = (flag("--changed-only"), flag("--paced"));
    let [_, input, size, fps, specs @ ..] = &args[..] else {
        return Err("usage: encoder_sweep [--changed-only] [--paced] INPUT.bgra WIDTHxHEIGHT FPS SPEC...".into());
    };
    let (w, h) = size.split_once('x').ok_or("size is WIDTHxHEIGHT")?;
    let (w, h): (u32, u32) = (w.parse()?, h.parse()?);
    let fps: u32 = fps.parse()?;
    let input = read_pictures(input, (w, h), changed_only)?;
    if input.pictures.is_empty() {
        return Err(format!("no {w}x{h} BGRA frame in the input ({} bytes each)", w * h * 4).into());
    }
    let frame_time = |number: u64| Duration::from_millis(number * 1000 / u64::from(fps));
    let (luma, chroma) = (w as usize * h as usize, w as usize * h as usize / 4);
    std::fs::create_dir_all("target/sweep")?;
    for spec in specs {
        let spec = parse_spec(spec, fps)?;
        let mut encoder = H264Encoder::with_tools(spec.settings, spec.tools)?;
        let path = format!("target/sweep/{}.h264", spec.name);
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let (mut bytes, mut busy, mut cpu, mut stream) = (0, Duration::ZERO, Duration::ZERO, Vec::new());
        let mut last_keyframe = None;
        let clock = Instant::now();
        for (number, picture) in &input.pictures {
            let i420 = I420 {
                planes: (
                    &picture[..luma],
                    &picture[luma..luma + chroma],
                    &picture[luma + chroma..],
                ),
                strides: (w as usize, w as usize / 2, w as usize / 2),
                size: (w, h),
            };
            let keyframe =
                spec.keyframe_frames > 0 && last_keyframe.is_none_or(|k| number - k >= spec.keyframe_frames as u64);
            if keyframe {
                last_keyframe = Some(*number);
            }
            let timestamp = frame_time(*number);
            if paced {
                std::thread::sleep(timestamp.saturating_sub(clock.elapsed()));
            }
            let (started, cpu_before) = (Instant::now(), thread_cpu_time());
            let encoded = encoder.encode(i420, timestamp, keyframe)?;
            busy += started.elapsed();
            cpu += thread_cpu_time().saturating_sub(cpu_before);
            stream.clear();
            if let Some(encoded) = encoded {
                // Back to Annex B, parameter sets first, for FFmpeg to read as raw H.264.
                for nal in [&encoded.sps, &encoded.pps].into_iter().flatten() {
                    stream.extend_from_slice(&[0, 0, 0, 1]);
                    stream.extend_from_slice(nal);
                }
                let mut rest = &encoded.data[..];
                while let [a, b, c, d, after @ ..] = rest {
                    let (nal, next) = after.split_at(u32::from_be_bytes([*a, *b, *c, *d]) as usize);
                    stream.extend_from_slice(&[0, 0, 0, 1]);
                    stream.extend_from_slice(nal);
                    rest = next;
                }
            }
            bytes += stream.len();
            out.write_all(&stream)?;
        }
        let seconds = input.frames as f64 / f64::from(fps);
        println!(
            "{} {:.2} {:.0} {:.3} {}/{} {path}",
            spec.name,
            busy.as_secs_f64() * 1000.0 / input.pictures.len() as f64,
            bytes as f64 * 8.0 / seconds / 1000.0,
            cpu.as_secs_f64() * 60.0 / seconds,
            input.pictures.len(),
            input.frames
        );
    }
    Ok(())
}
