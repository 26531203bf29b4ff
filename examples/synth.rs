//! Writes the deterministic synthetic scenes as raw BGRA frames to stdout, so FFmpeg and
//! `record --source raw:-` can be compared on identical input.
//!
//! ```text
//! cargo run --release --example synth -- --size 1920x1080 --fps 15 --seconds 20 --scene classroom > in.bgra
//! ```

use std::io::Write;
use std::process::ExitCode;

use classrec::capture::SyntheticSource;
use classrec::SyntheticScene;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut size, mut fps, mut seconds, mut scene) = ((1920u32, 1080u32), 15u32, 10.0f64, SyntheticScene::Classroom);
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().map(String::as_str).unwrap_or("");
        let ok = match flag.as_str() {
            "--size" => value
                .split_once('x')
                .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
                .map(|s| size = s),
            "--fps" => value.parse().ok().map(|v| fps = v),
            "--seconds" => value.parse().ok().map(|v| seconds = v),
            "--scene" => match value {
                "classroom" => Some(SyntheticScene::Classroom),
                "still" => Some(SyntheticScene::StillSlide),
                "motion" => Some(SyntheticScene::FullMotion),
                _ => None,
            }
            .map(|s| scene = s),
            _ => None,
        };
        if ok.is_none() || fps == 0 {
            eprintln!(
                "usage: synth [--size WxH] [--fps N] [--seconds S] [--scene classroom|still|motion] > frames.bgra"
            );
            return ExitCode::from(2);
        }
    }
    let mut source = SyntheticSource::new(size.0, size.1, fps, scene, None, None);
    let mut out = std::io::stdout().lock();
    for i in 0..(seconds * f64::from(fps)).round() as u64 {
        if out.write_all(source.render(i)).is_err() {
            return ExitCode::FAILURE; // reader went away
        }
    }
    ExitCode::SUCCESS
}
