//! Per-stage costs at 720p and 1080p: making pictures (BGRA → I420 with the unchanged-strip
//! check, on a frame where everything, a little, or nothing changed; a pen stroke with and without
//! the damaged rows; letter-boxing), a host's `push_frame`, OpenH264 encoding (screen and camera
//! tuning), and muxing into the crash-safe MP4.
//! Run: `cargo bench --features bench --bench stages`.

use std::ops::Range;
use std::time::Duration;

use classrec::capture::{Clock, PushedSource, SyntheticSource};
use classrec::internals::{H264Encoder, H264Settings, HybridWriter, Sample, TrackInfo};
use classrec::{ContentType, Frame, FrameSource, PictureMaker, SyntheticScene};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const SIZES: [(u32, u32); 2] = [(1280, 720), (1920, 1080)];

/// `n` frames of `scene`, `step` frames apart, as BGRA buffers.
fn frames(scene: SyntheticScene, (w, h): (u32, u32), n: u64, step: u64) -> Vec<Vec<u8>> {
    let mut source = SyntheticSource::new(w, h, 15, scene, None, None);
    (0..n).map(|i| source.render(i * step).to_vec()).collect()
}

/// Frame `i` of `pixels`, a `w` x `h` BGRA picture.
fn frame(pixels: &[u8], (w, h): (u32, u32), i: u64) -> Frame<'_> {
    Frame {
        width: w,
        height: h,
        stride: w as usize * 4,
        data: pixels,
        timestamp: Duration::from_millis(i * 66),
    }
}

/// Making a picture from a frame that alternates between `inputs`, cycling; told that only the
/// rows `changed` can differ (as a damage region says), or not told.
fn bench_making(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: String,
    inputs: &[Vec<u8>],
    (source, output): ((u32, u32), (u32, u32)),
    changed: Option<Range<u32>>,
) {
    let mut maker = PictureMaker::new(output.0, output.1);
    let mut i = 0u64;
    c.bench_function(name, |b| {
        b.iter(|| {
            i += 1;
            let frame = frame(&inputs[i as usize % inputs.len()], source, i);
            let rows = changed.clone().unwrap_or(0..source.1);
            maker.make_changed(&frame, rows).unwrap()
        })
    });
}

/// The rows a pen stroke crosses in [`pen_strokes`].
const PEN_ROWS: Range<u32> = 500..532;

/// Eight frames of `base` with a stroke in [`PEN_ROWS`] growing to the right, 40 columns a frame.
fn pen_strokes(base: &[u8], (w, _): (u32, u32)) -> Vec<Vec<u8>> {
    let row = w as usize * 4;
    (0..8)
        .map(|n| {
            let mut pixels = base.to_vec();
            for y in PEN_ROWS {
                let start = y as usize * row + 200 * 4;
                pixels[start..start + (n + 1) * 40 * 4].fill(0x20);
            }
            pixels
        })
        .collect()
}

fn making_pictures(c: &mut Criterion) {
    let mut group = c.benchmark_group("picture");
    group.throughput(Throughput::Elements(1));
    for size in SIZES {
        let name = |what: &str| format!("{what}/{}x{}", size.0, size.1);
        // Every row moves (panning): every strip is converted. Eight frames in turn, so that reused
        // planes (at most six pictures old) never show the frame already.
        let motion = frames(SyntheticScene::FullMotion, size, 8, 1);
        bench_making(&mut group, name("all_changed"), &motion, (size, size), None);
        // The classroom's next frame: the pointer and the small video moved.
        let classroom = frames(SyntheticScene::Classroom, size, 8, 1);
        bench_making(
            &mut group,
            name("pointer_and_video_moved"),
            &classroom,
            (size, size),
            None,
        );
        // The same frame again: one hashing pass.
        bench_making(&mut group, name("unchanged"), &classroom[..1], (size, size), None);
        // A pen stroke grows in a 32-row band: every strip hashed, or only the band's, as when an
        // X11 window's damage region says which rows were drawn.
        let strokes = pen_strokes(&classroom[0], size);
        bench_making(&mut group, name("pen_stroke"), &strokes, (size, size), None);
        let told = Some(PEN_ROWS);
        bench_making(&mut group, name("pen_stroke_damage_rows"), &strokes, (size, size), told);
    }
    let window = (1600, 900);
    let motion = frames(SyntheticScene::FullMotion, window, 8, 1);
    bench_making(
        &mut group,
        "letterbox_1600x900_into_1920x1080".into(),
        &motion,
        (window, (1920, 1080)),
        None,
    );
    group.finish();
}

/// What `push_frame` costs the host's thread at 1080p: the picture is made there.
fn pushing(c: &mut Criterion) {
    let mut group = c.benchmark_group("push_frame");
    let (w, h) = (1920, 1080);
    let (pusher, mut source) = PushedSource::new(Clock::start());
    source.set_output_size(w, h);
    let motion = frames(SyntheticScene::FullMotion, (w, h), 8, 1);
    let mut i = 0usize;
    for (name, inputs) in [("all_changed", &motion[..]), ("unchanged", &motion[..1])] {
        group.bench_function(format!("{name}/{w}x{h}"), |b| {
            b.iter(|| {
                i += 1;
                pusher
                    .push_frame(&inputs[i % inputs.len()], w, h, w as usize * 4, None)
                    .unwrap()
            })
        });
    }
    group.finish();
}

fn encoding(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    group.sample_size(20);
    for (w, h) in SIZES {
        let inputs = frames(SyntheticScene::Classroom, (w, h), 8, 7);
        for content in [ContentType::Screen, ContentType::Camera] {
            let mut encoder = H264Encoder::new(H264Settings {
                bitrate_bps: 1_500_000,
                fps: 15,
                content,
            })
            .unwrap();
            let mut maker = PictureMaker::new(w, h);
            let mut i = 0usize;
            group.bench_function(BenchmarkId::new(format!("{content:?}"), format!("{w}x{h}")), |b| {
                b.iter(|| {
                    let picture = maker.make(&frame(&inputs[i % inputs.len()], (w, h), i as u64)).unwrap();
                    i += 1;
                    encoder.encode(picture.i420(), picture.timestamp, i % 30 == 1).unwrap()
                })
            });
        }
    }
    group.finish();
}

/// Muxing 2 s of encoded 1080p classroom (30 samples, a keyframe first) into a fragmented MP4:
/// box writing, one fsync'd fragment, and the finalize that appends the full `moov`.
fn muxing(c: &mut Criterion) {
    let (w, h) = (1920, 1080);
    let mut encoder = H264Encoder::new(H264Settings {
        bitrate_bps: 1_500_000,
        fps: 15,
        content: ContentType::Camera,
    })
    .unwrap();
    let mut maker = PictureMaker::new(w, h);
    let mut track = None;
    let mut samples = Vec::new();
    for (i, pixels) in frames(SyntheticScene::Classroom, (w, h), 30, 7).iter().enumerate() {
        let made = maker.make(&frame(pixels, (w, h), i as u64)).unwrap();
        let timestamp = Duration::from_nanos(i as u64 * 1_000_000_000 / 15);
        let picture = encoder.encode(made.i420(), timestamp, i == 0).unwrap().unwrap();
        if let (Some(sps), Some(pps)) = (&picture.sps, &picture.pps) {
            track.get_or_insert_with(|| TrackInfo {
                width: w,
                height: h,
                sps: sps.clone(),
                pps: pps.clone(),
            });
        }
        samples.push(Sample {
            timestamp,
            data: picture.data,
            keyframe: picture.keyframe,
        });
    }
    let track = track.expect("the first picture carries SPS/PPS");
    let bytes: usize = samples.iter().map(|s| s.data.len()).sum();
    let path = std::env::temp_dir().join(format!("classrec-mux-bench-{}.mp4", std::process::id()));
    let mut group = c.benchmark_group("mux");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("2s_of_1920x1080_classroom", |b| {
        b.iter(|| {
            let file = std::fs::File::create(&path).unwrap();
            let mut writer = HybridWriter::new(file, path.clone(), Duration::from_secs(2));
            for sample in &samples {
                writer.push(sample.clone(), Some(&track)).unwrap();
            }
            writer.finish(Duration::from_secs(2), None).unwrap()
        })
    });
    group.finish();
    let _ = std::fs::remove_file(&path);
}

criterion_group!(benches, making_pictures, pushing, encoding, muxing);
criterion_main!(benches);
