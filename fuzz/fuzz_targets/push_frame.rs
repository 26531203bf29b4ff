//! Pushed frames with any width, height, stride and timestamp against any buffer length: a
//! defined error or a frame taken, never a panic, and the recorder keeps running.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use classrec::{FramePusher, Recorder, RecorderConfig, SourceConfig};

fn recorder() -> &'static (Recorder, FramePusher) {
    static REC: OnceLock<(Recorder, FramePusher)> = OnceLock::new();
    REC.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("classrec-fuzz-push-{}", std::process::id()));
        let recorder = Recorder::start(RecorderConfig {
            source: SourceConfig::Pushed,
            out_dir: Some(dir),
            size: Some((64, 48)),
            ..RecorderConfig::default()
        })
        .unwrap();
        let pusher = recorder.pusher().unwrap().clone();
        (recorder, pusher)
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if data.len() < 24 {
        return;
    }
    let word = |i: usize| u32::from_le_bytes(data[i..i + 4].try_into().unwrap());
    let (width, height) = (word(0) % 20_000, word(4) % 20_000);
    let stride = u64::from_le_bytes(data[8..16].try_into().unwrap()) as usize;
    let stamp = u64::from_le_bytes(data[16..24].try_into().unwrap());
    let timestamp = (stamp & 1 == 1).then(|| Duration::from_micros(stamp >> 1));
    let (recorder, pusher) = recorder();
    let _ = pusher.push_frame(&data[24..], width, height, stride, timestamp);
    assert!(!recorder.is_finished(), "a pushed frame ended the recording: {:?}", recorder.stats());
});
