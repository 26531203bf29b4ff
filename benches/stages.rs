//! Per-stage costs at 720p and 1080p on the synthetic classroom: BGRA→I420 conversion,
//! letter-boxing, unchanged-frame detection, OpenH264 encoding (screen and camera tuning), and
//! muxing into the crash-safe MP4.
//! Run: `cargo bench --features bench --bench stages`.

use std::time::Duration;

use classrec::capture::SyntheticSource;
use classrec::internals::{H264Encoder, H264Settings, HybridWriter, PictureMaker, Sample, TrackInfo};
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
        // What the encoder does per frame (one hash), and the comparison it replaced.
        group.bench_function(BenchmarkId::new("fingerprint", format!("{w}x{h}")), |bench| {
            bench.iter(|| a.fingerprint())
        });
        group.bench_function(BenchmarkId::new("compare_with_previous", format!("{w}x{h}")), |bench| {
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
    for (i, frame) in classroom_frames(w, h, 30).iter().enumerate() {
        maker.make(frame).unwrap();
        let timestamp = Duration::from_nanos(i as u64 * 1_000_000_000 / 15);
        let picture = encoder.encode(maker.picture(), timestamp, i == 0).unwrap().unwrap();
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

criterion_group!(benches, conversion, unchanged_detection, encoding, muxing);
criterion_main!(benches);
