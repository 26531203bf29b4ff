//! Per-stage costs at 720p and 1080p on the synthetic classroom: BGRA→I420 conversion,
//! letter-boxing, unchanged-frame detection, and OpenH264 encoding (screen and camera tuning).
//! Run: `cargo bench --features bench --bench stages`.

use std::time::Duration;

use classrec::capture::SyntheticSource;
use classrec::internals::{H264Encoder, H264Settings, PictureMaker};
use classrec::{ContentType, Frame, SyntheticScene};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const SIZES: [(u32, u32); 2] = [(1280, 720), (1920, 1080)];

fn classroom_frames(w: u32, h: u32, n: u64) -> Vec<Frame> {
    let mut scene = SyntheticSource::new(w, h, 15, SyntheticScene::Classroom, None, None);
    (0..n)
        .map(|i| Frame {
            width: w,
            height: h,
            stride: w as usize * 4,
            data: scene.render(i * 7),
            timestamp: Duration::from_millis(i * 66),
        })
        .collect()
}

fn conversion(c: &mut Criterion) {
    let mut group = c.benchmark_group("bgra_to_i420");
    for (w, h) in SIZES {
        let frame = &classroom_frames(w, h, 1)[0];
        let mut maker = PictureMaker::new(w, h);
        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::from_parameter(format!("{w}x{h}")), |b| {
            b.iter(|| maker.make(frame).unwrap())
        });
    }
    // A 1600x900 window letter-boxed into 1080p: scaling plus conversion.
    let frame = &classroom_frames(1600, 900, 1)[0];
    let mut maker = PictureMaker::new(1920, 1080);
    group.bench_function("letterbox_1600x900_into_1920x1080", |b| {
        b.iter(|| maker.make(frame).unwrap())
    });
    group.finish();
}

fn unchanged_detection(c: &mut Criterion) {
    let mut group = c.benchmark_group("unchanged_detection");
    for (w, h) in SIZES {
        let a = &classroom_frames(w, h, 1)[0];
        let b = a.clone();
        group.bench_function(BenchmarkId::from_parameter(format!("{w}x{h}")), |bench| {
            bench.iter(|| assert!(a.same_picture(&b)))
        });
    }
    group.finish();
}

fn encoding(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    group.sample_size(20);
    for (w, h) in SIZES {
        let frames = classroom_frames(w, h, 8);
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
                    let frame = &frames[i % frames.len()];
                    maker.make(frame).unwrap();
                    let ts = Duration::from_millis(i as u64 * 66);
                    i += 1;
                    encoder.encode(maker.picture(), ts, i % 30 == 1).unwrap()
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, conversion, unchanged_detection, encoding);
criterion_main!(benches);
