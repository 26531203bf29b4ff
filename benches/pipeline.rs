//! The whole pipeline (generate → encode → fragmented MP4 with fsync → finalize) on the synthetic
//! classroom, 5 s of 15 fps content per iteration, at 720p and 1080p. Throughput is in frames.
//! Run: `cargo bench --bench pipeline`.

use classrec::{Recorder, RecorderConfig, SourceConfig, SyntheticScene};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const FRAMES: u64 = 75;

fn pipeline(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("classrec-bench-{}", std::process::id()));
    let mut group = c.benchmark_group("pipeline");
    group.sample_size(10);
    group.throughput(Throughput::Elements(FRAMES));
    for size in [(1280, 720), (1920, 1080)] {
        for scene in [SyntheticScene::Classroom, SyntheticScene::StillSlide] {
            let config = RecorderConfig {
                source: SourceConfig::Synthetic {
                    size: None,
                    scene,
                    fast: true,
                    frames: Some(FRAMES),
                },
                out_dir: Some(dir.clone()),
                size: Some(size),
                ..RecorderConfig::default()
            };
            group.bench_function(
                BenchmarkId::new(format!("{scene:?}"), format!("{}x{}", size.0, size.1)),
                |b| {
                    b.iter(|| {
                        let recording = Recorder::start(config.clone()).unwrap().wait().unwrap();
                        std::fs::remove_file(&recording.path).unwrap();
                        recording.stats.frames_encoded
                    })
                },
            );
        }
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
