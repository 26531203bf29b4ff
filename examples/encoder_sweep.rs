//! Measures OpenH264 settings on raw BGRA frames: encode time per frame and bitrate for each
//! setting, writing each stream to `target/sweep/` for an SSIM check (`benches/sweep.sh` runs it).
//! This is how the defaults in `src/encode/h264.rs` were chosen.
//!
//! Usage: `encoder_sweep INPUT.bgra WIDTHxHEIGHT FPS SPEC...`, where SPEC is
//! `usage,complexity,keyframe_frames,kbps,qp_min-qp_max[,tools]` (usage: screen|camera; complexity:
//! low|medium|high; tools, joined by `+`: aq (adaptive quantization, camera only; the recorder's
//! and the default), bg (background detection, camera only), nosc (no scene change detection) or
//! none), e.g. `screen,low,150,1500,18-40` or `camera,low,150,1500,18-40,aq+bg`.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use classrec::Frame;
use classrec::PictureMaker;
use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, IntraFramePeriod, QpRange, RateControlMode, UsageType,
    VuiConfig,
};
use openh264::formats::YUVSlices;
use openh264::{OpenH264API, Timestamp};

type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

/// One setting to measure.
struct Spec {
    name: String,
    config: EncoderConfig,
    keyframe_frames: usize,
}

fn parse_spec(spec: &str, fps: u32) -> Fallible<Spec> {
    let fields: Vec<&str> = spec.split(',').collect();
    let (usage, complexity, keyframe_frames, kbps, qp, tools) = match fields[..] {
        [usage, complexity, keyframes, kbps, qp] => (usage, complexity, keyframes, kbps, qp, "aq"),
        [usage, complexity, keyframes, kbps, qp, tools] => (usage, complexity, keyframes, kbps, qp, tools),
        _ => return Err(format!("`{spec}` is not usage,complexity,keyframe_frames,kbps,qp_min-qp_max[,tools]").into()),
    };
    let tools: Vec<&str> = tools.split('+').collect();
    if let Some(unknown) = tools.iter().find(|t| !["aq", "bg", "nosc", "none"].contains(t)) {
        return Err(format!("tools are aq, bg, nosc or none, joined by +, not `{unknown}`").into());
    }
    let camera = usage == "camera";
    // OpenH264 turns adaptive quantization and background detection off for screen content anyway.
    let tool = |name: &str| tools.contains(&name) && (camera || name == "nosc");
    let complexity = match complexity {
        "low" => Complexity::Low,
        "medium" => Complexity::Medium,
        "high" => Complexity::High,
        other => return Err(format!("complexity is low, medium or high, not `{other}`").into()),
    };
    let (qp_min, qp_max) = qp.split_once('-').ok_or("qp is MIN-MAX")?;
    let config = EncoderConfig::new()
        .bitrate(BitRate::from_bps(kbps.parse::<u32>()? * 1000))
        .max_frame_rate(FrameRate::from_hz(fps as f32))
        .rate_control_mode(RateControlMode::Bitrate)
        .skip_frames(false)
        .intra_frame_period(IntraFramePeriod::from_num_frames(0))
        .usage_type(if camera {
            UsageType::CameraVideoRealTime
        } else {
            UsageType::ScreenContentRealTime
        })
        .adaptive_quantization(tool("aq"))
        .background_detection(tool("bg"))
        .scene_change_detect(!tool("nosc"))
        .qp(QpRange::new(qp_min.parse()?, qp_max.parse()?))
        .complexity(complexity)
        .num_threads(1)
        .vui(VuiConfig::bt709());
    Ok(Spec {
        name: spec.replace(',', "_"),
        config,
        keyframe_frames: keyframe_frames.parse()?,
    })
}

/// Every frame of the input as one I420 buffer (Y, then U, then V), converted as the recorder does.
fn read_pictures(path: &str, (w, h): (u32, u32)) -> Fallible<Vec<Vec<u8>>> {
    let mut file = std::fs::File::open(path)?;
    let mut maker = PictureMaker::new(w, h);
    let mut pictures = Vec::new();
    let mut bgra = vec![0; w as usize * h as usize * 4];
    while file.read_exact(&mut bgra).is_ok() {
        let frame = Frame {
            width: w,
            height: h,
            stride: w as usize * 4,
            data: &bgra,
            timestamp: Duration::ZERO,
        };
        let picture = maker.make(&frame)?;
        let planes = picture.i420().planes;
        pictures.push([planes.0, planes.1, planes.2].concat());
    }
    Ok(pictures)
}

fn main() -> Fallible<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, size, fps, specs @ ..] = &args[..] else {
        return Err("usage: encoder_sweep INPUT.bgra WIDTHxHEIGHT FPS SPEC...".into());
    };
    let (w, h) = size.split_once('x').ok_or("size is WIDTHxHEIGHT")?;
    let (w, h): (u32, u32) = (w.parse()?, h.parse()?);
    let fps: u32 = fps.parse()?;
    let pictures = read_pictures(input, (w, h))?;
    let (luma, chroma) = (w as usize * h as usize, w as usize * h as usize / 4);
    std::fs::create_dir_all("target/sweep")?;
    for spec in specs {
        let spec = parse_spec(spec, fps)?;
        let mut encoder = Encoder::with_api_config(OpenH264API::from_source(), spec.config)?;
        let path = format!("target/sweep/{}.h264", spec.name);
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let (mut bytes, mut busy, mut stream) = (0, Duration::ZERO, Vec::new());
        for (i, picture) in pictures.iter().enumerate() {
            let planes = (
                &picture[..luma],
                &picture[luma..luma + chroma],
                &picture[luma + chroma..],
            );
            let yuv = YUVSlices::new(
                planes,
                (w as usize, h as usize),
                (w as usize, w as usize / 2, w as usize / 2),
            );
            let started = Instant::now();
            if spec.keyframe_frames > 0 && i % spec.keyframe_frames == 0 {
                encoder.force_intra_frame();
            }
            let encoded = encoder.encode_at(&yuv, Timestamp::from_millis(i as u64 * 1000 / u64::from(fps)))?;
            stream.clear();
            encoded.write_vec(&mut stream);
            busy += started.elapsed();
            bytes += stream.len();
            out.write_all(&stream)?;
        }
        let seconds = pictures.len() as f64 / f64::from(fps);
        println!(
            "{} {:.2} {:.0} {path}",
            spec.name,
            busy.as_secs_f64() * 1000.0 / pictures.len() as f64,
            bytes as f64 * 8.0 / seconds / 1000.0
        );
    }
    Ok(())
}
