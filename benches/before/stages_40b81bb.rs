//! The `stages` bench's scenarios (as in main's benches/stages.rs) measured on the code before
//! pictures were made where the pixels lie (40b81bb): per frame, the encode thread fingerprinted the
//! whole BGRA frame and, when it differed from the previous one, converted the whole frame.
//! push_frame copied the BGRA frame for the encode thread, which then did the same.

use std::time::Duration;

use classrec::capture::{Clock, PushedSource, SyntheticSource};
use classrec::internals::{H264Encoder, H264Settings, PictureMaker};
use classrec::{ContentType, Frame, SyntheticScene};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const SIZES: [(u32, u32); 2] = [(1280, 720), (1920, 1080)];

fn frames(scene: SyntheticScene, (w, h): (u32, u32), n: u64, step: u64) -> Vec<Frame> {
    let mut source = SyntheticSource::new(w, h, 15, scene, None, None);
    (0..n)
        .map(|i| Frame {
            width: w,
            height: h,
            stride: w as usize * 4,
            data: source.render(i * step),
            timestamp: Duration::from_millis(i * 66),
        })
        .collect()
}

/// What the old encode thread did with each frame: fingerprint it, and convert it when the
/// fingerprint changed.
fn make_as_the_encode_thread_did(maker: &mut PictureMaker, last: &mut Option<(u32, u32, u128)>, frame: &Frame) {
    let print = frame.fingerprint();
    if *last != Some(print) {
        maker.make(frame).unwrap();
        *last = Some(print);
    }
}

/// Making pictures from frames that alternate between `inputs`, cycling.
fn bench_making(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: String,
    inputs: &[Frame],
    output: (u32, u32),
) {
    let mut maker = PictureMaker::new(output.0, output.1);
    let mut last = None;
    let mut i = 0usize;
    c.bench_function(name, |b| {
        b.iter(|| {
            i += 1;
            make_as_the_encode_thread_did(&mut maker, &mut last, &inputs[i % inputs.len()]);
        })
    });
}

/// The scenarios of main's `picture` group: name, scene, frames alternated, source and output size.
fn making_pictures(c: &mut Criterion) {
    let mut group = c.benchmark_group("picture");
    group.throughput(Throughput::Elements(1));
    let mut scenarios = Vec::new();
    for (w, h) in SIZES {
        scenarios.extend([
            (
                format!("all_changed/{w}x{h}"),
                SyntheticScene::FullMotion,
                8,
                (w, h),
                (w, h),
            ),
            (
                format!("pointer_and_video_moved/{w}x{h}"),
                SyntheticScene::Classroom,
                8,
                (w, h),
                (w, h),
            ),
            (
                format!("unchanged/{w}x{h}"),
                SyntheticScene::Classroom,
                1,
                (w, h),
                (w, h),
            ),
        ]);
    }
    let letterbox = "letterbox_1600x900_into_1920x1080".to_string();
    scenarios.push((letterbox, SyntheticScene::FullMotion, 8, (1600, 900), (1920, 1080)));
    for (name, scene, n, source, output) in scenarios {
        bench_making(&mut group, name, &frames(scene, source, n, 1), output);
    }
    group.finish();
}

/// What push_frame cost the host's thread (the copy), and the frame's whole cost: the copy plus
/// the encode thread's fingerprint and conversion.
fn pushing(c: &mut Criterion) {
    let mut group = c.benchmark_group("push_frame");
    let (w, h) = (1920, 1080);
    let (pusher, _source) = PushedSource::new(Clock::start());
    let push = |frame: &Frame| pusher.push_frame(&frame.data, w, h, w as usize * 4, None).unwrap();
    let motion = frames(SyntheticScene::FullMotion, (w, h), 8, 1);
    for (name, inputs) in [("all_changed", &motion[..]), ("unchanged", &motion[..1])] {
        let mut i = 0usize;
        let mut next = || {
            i += 1;
            &inputs[i % inputs.len()]
        };
        group.bench_function(format!("{name}/{w}x{h}"), |b| b.iter(|| push(next())));
        let (mut maker, mut last) = (PictureMaker::new(w, h), None);
        group.bench_function(format!("{name}_with_encode_thread_work/{w}x{h}"), |b| {
            b.iter(|| {
                let frame = next();
                push(frame);
                make_as_the_encode_thread_did(&mut maker, &mut last, frame);
            })
        });
    }
    group.finish();
}

/// Making and encoding classroom pictures, 7 frames apart (each one changed), in both tunings.
fn encoding(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    group.sample_size(20);
    for ((w, h), content) in SIZES
        .into_iter()
        .flat_map(|s| [(s, ContentType::Screen), (s, ContentType::Camera)])
    {
        let inputs = frames(SyntheticScene::Classroom, (w, h), 8, 7);
        let settings = H264Settings {
            bitrate_bps: 1_500_000,
            fps: 15,
            content,
        };
        let mut encoder = H264Encoder::new(settings).unwrap();
        let (mut maker, mut last, mut i) = (PictureMaker::new(w, h), None, 0usize);
        group.bench_function(BenchmarkId::new(format!("{content:?}"), format!("{w}x{h}")), |b| {
            b.iter(|| {
                make_as_the_encode_thread_did(&mut maker, &mut last, &inputs[i % inputs.len()]);
                i += 1;
                let keyframe = i % 30 == 1;
                encoder
                    .encode(maker.picture(), Duration::from_millis(i as u64 * 66 - 66), keyframe)
                    .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, making_pictures, pushing, encoding);
criterion_main!(benches);
