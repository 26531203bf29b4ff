//! Captured sound against a real PulseAudio: tones played with `paplay` into null sinks come back
//! through `CapturedAudio` (the "system" sink's monitor, a second sink's monitor as the "mic"),
//! at the right frequency and level, on a continuous timeline; silence keeps coming while nothing
//! plays; an unplugged device warns and comes back.
#![cfg(target_os = "linux")]

mod common;

use std::time::{Duration, Instant};

use classrec::capture::audio::{
    list_audio_devices, AudioCapture, AudioDeviceKind, AudioEvent, AudioSource, Capture, CapturedAudio, AUDIO_RATE,
};
use classrec::capture::Clock;
use common::pulse::{Pulse, MIC_SINK, SYSTEM_SINK};

const MIC_MONITOR: &str = "classrec_mic.monitor";

/// What a capture gave: the samples (first chunk's time on), and every warning.
struct Captured {
    samples: Vec<f32>,
    channels: usize,
    start: Duration,
    warnings: Vec<String>,
}

impl Captured {
    /// Channel 0 from `from` seconds (after the capture's start) for `len` seconds.
    fn window(&self, from: f64, len: f64) -> Vec<f32> {
        let a = (from * AUDIO_RATE as f64) as usize;
        let b = a + (len * AUDIO_RATE as f64) as usize;
        self.samples
            .chunks_exact(self.channels)
            .skip(a)
            .take(b - a)
            .map(|f| f[0])
            .collect()
    }

    /// The clock time of the first frame whose 5 ms envelope exceeds `level`.
    fn onset(&self, level: f32) -> Option<Duration> {
        let mono: Vec<f32> = self.samples.chunks_exact(self.channels).map(|f| f[0]).collect();
        mono.windows(240)
            .step_by(24)
            .position(|w| w.iter().fold(0.0f32, |m, s| m.max(s.abs())) > level)
            .map(|i| self.start + Duration::from_secs_f64((i * 24) as f64 / AUDIO_RATE as f64))
    }
}

/// Polls `source` for `seconds`, checking that every call returns within its timeout and that
/// the chunks follow one another without gaps or overlaps.
fn capture(source: &mut CapturedAudio, seconds: f64) -> Captured {
    let timeout = Duration::from_millis(100);
    let mut out = Captured {
        samples: Vec::new(),
        channels: source.channels() as usize,
        start: Duration::ZERO,
        warnings: Vec::new(),
    };
    let mut next: Option<Duration> = None;
    while out.samples.len() < (seconds * AUDIO_RATE as f64) as usize * out.channels {
        let asked = Instant::now();
        let event = source.next_event(timeout).expect("next_event");
        let took = asked.elapsed();
        assert!(
            took <= timeout + Duration::from_millis(50),
            "next_event blocked for {took:?}"
        );
        match event {
            AudioEvent::Chunk(chunk) => {
                assert_eq!(chunk.channels as usize, out.channels);
                let ts = chunk.timestamp.expect("captured chunks carry their time");
                if let Some(expected) = next {
                    let step = ts.as_secs_f64() - expected.as_secs_f64();
                    assert!(
                        step.abs() < 0.001,
                        "chunk at {ts:?}, expected {expected:?}: the timeline has a hole"
                    );
                } else {
                    out.start = ts;
                }
                next =
                    Some(ts + Duration::from_secs_f64((chunk.samples.len() / out.channels) as f64 / AUDIO_RATE as f64));
                out.samples.extend(chunk.samples);
            }
            AudioEvent::Idle => {}
            AudioEvent::Warning(w) => out.warnings.push(w),
            AudioEvent::Ended(why) => panic!("the capture ended: {why}"),
        }
    }
    out
}

/// Goertzel power of `freq` in `x`, normalized so a sine of amplitude `a` gives about `a`.
fn amplitude_at(x: &[f32], freq: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / AUDIO_RATE as f64;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s = v as f64 + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power.max(0.0).sqrt() / x.len() as f64
}

/// The strongest frequency between 50 Hz and 4 kHz, in 5 Hz steps.
fn dominant(x: &[f32]) -> f64 {
    (10..=800)
        .map(|i| i as f64 * 5.0)
        .max_by(|a, b| amplitude_at(x, *a).total_cmp(&amplitude_at(x, *b)))
        .unwrap()
}

fn rms_db(x: &[f32]) -> f64 {
    let rms = (x.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt();
    20.0 * rms.max(1e-12).log10()
}

/// The level a sine of amplitude `a` has: 20 log10(a / sqrt 2).
fn sine_db(a: f64) -> f64 {
    20.0 * (a / 2f64.sqrt()).log10()
}

/// Plays `tone` into `sink` while capturing 3 s; the tone's onset (clock time, first envelope
/// above `threshold`), and the dominant frequency and level of 2 s from 0.5 s after the onset.
fn play_and_measure(
    pulse: &Pulse,
    source: &mut CapturedAudio,
    sink: &str,
    tone: &std::path::Path,
    threshold: f32,
) -> (Duration, f64, f64) {
    let player = pulse.play(sink, tone);
    let got = capture(source, 3.0);
    drop(player);
    let onset = got.onset(threshold).expect("the tone came back");
    let window = got.window((onset - got.start).as_secs_f64() + 0.5, 2.0);
    (onset, dominant(&window), rms_db(&window))
}

fn open(kind: Capture, channels: u16, clock: Clock) -> CapturedAudio {
    AudioCapture::open(kind, channels, clock, Some(SYSTEM_SINK), Some(MIC_MONITOR)).expect("open the capture")
}

#[test]
fn lists_the_null_sinks_and_their_monitors() {
    let _pulse = Pulse::start();
    let devices = list_audio_devices().unwrap();
    let has = |id: &str, kind| devices.iter().any(|d| d.id == id && d.kind == kind);
    assert!(has(SYSTEM_SINK, AudioDeviceKind::Output), "{devices:?}");
    assert!(
        has(&format!("{SYSTEM_SINK}.monitor"), AudioDeviceKind::Input),
        "{devices:?}"
    );
    assert!(
        devices.iter().any(|d| d.id == SYSTEM_SINK && d.default),
        "the default sink is marked: {devices:?}"
    );
}

#[test]
fn system_audio_is_the_sink_monitor() {
    let pulse = Pulse::start();
    let tone = pulse.tone(440, 0.5, 4.0);
    let clock = Clock::start();
    // The default output: the system sink (set as default by the rig).
    let mut source = AudioCapture::open(Capture::System, 1, clock, None, None).unwrap();
    assert!(
        source.devices()[0].contains("classrec_system.monitor"),
        "{:?}",
        source.devices()
    );
    let played_at = clock.now();
    let (onset, freq, level) = play_and_measure(&pulse, &mut source, SYSTEM_SINK, &tone, 0.25);
    println!(
        "system: dominant {freq} Hz, {level:.2} dBFS (played {:.2}); paplay spawned at {played_at:?}, tone stamped at {onset:?}: offset {:.1} ms",
        sine_db(0.5),
        (onset.as_secs_f64() - played_at.as_secs_f64()) * 1000.0
    );
    assert!((freq - 440.0).abs() <= 5.0, "dominant {freq} Hz");
    assert!((level - sine_db(0.5)).abs() < 2.0, "level {level:.2} dBFS");
    // Stamps are reconstructed from the callback's time and the samples counted so far, which is
    // accurate to a few ms under load (seen: 7 ms early on two busy cores), not to the sample.
    assert!(
        onset + Duration::from_millis(20) >= played_at,
        "the tone is stamped more than 20 ms before paplay started: {onset:?} < {played_at:?}"
    );
    assert!(
        onset.saturating_sub(played_at) < Duration::from_millis(500),
        "the tone is stamped {:?} late",
        onset.saturating_sub(played_at)
    );
    assert_eq!(source.dropped_pieces(), 0);
}

#[test]
fn microphone_is_captured() {
    let pulse = Pulse::start();
    let tone = pulse.tone(1000, 0.25, 4.0);
    let mut source = open(Capture::Mic, 1, Clock::start());
    let (_, freq, level) = play_and_measure(&pulse, &mut source, MIC_SINK, &tone, 0.12);
    println!("mic: dominant {freq} Hz, {level:.2} dBFS (played {:.2})", sine_db(0.25));
    assert!((freq - 1000.0).abs() <= 5.0, "dominant {freq} Hz");
    assert!((level - sine_db(0.25)).abs() < 2.0, "level {level:.2} dBFS");
}

#[test]
fn system_and_mic_are_mixed_in_stereo() {
    let pulse = Pulse::start();
    let system_tone = pulse.tone(440, 0.4, 4.0);
    let mic_tone = pulse.tone(1000, 0.2, 4.0);
    let mut source = open(Capture::SystemAndMic, 2, Clock::start());
    let players = [pulse.play(SYSTEM_SINK, &system_tone), pulse.play(MIC_SINK, &mic_tone)];
    let got = capture(&mut source, 3.0);
    drop(players);
    let onset = got.onset(0.3).expect("the tones came back");
    let window = got.window((onset - got.start).as_secs_f64() + 0.5, 2.0);
    let right: Vec<f32> = got.samples.chunks_exact(2).map(|f| f[1]).collect();
    assert_eq!(
        got.samples.chunks_exact(2).map(|f| f[0]).collect::<Vec<_>>(),
        right,
        "mono devices give equal channels"
    );
    let (a440, a1000) = (amplitude_at(&window, 440.0), amplitude_at(&window, 1000.0));
    let level = rms_db(&window);
    let expected = 10.0 * ((0.4f64.powi(2) + 0.2f64.powi(2)) / 2.0).log10();
    println!(
        "system+mic: dominant {} Hz, 440 Hz amplitude {a440:.3} (played 0.4), 1 kHz {a1000:.3} (played 0.2), {level:.2} dBFS (expected {expected:.2})",
        dominant(&window)
    );
    assert!((a440 / 0.4 - 1.0).abs() < 0.25, "440 Hz at {a440}");
    assert!((a1000 / 0.2 - 1.0).abs() < 0.25, "1 kHz at {a1000}");
    assert!((level - expected).abs() < 2.0);
    assert_eq!(dominant(&window), 440.0);
}

#[test]
fn silence_keeps_coming_and_never_blocks() {
    let _pulse = Pulse::start();
    let clock = Clock::start();
    let asked = Instant::now();
    let mut source = open(Capture::SystemAndMic, 1, clock);
    let opening = asked.elapsed();
    let _backlog = capture(&mut source, 0.05);
    let asked = Instant::now();
    let got = capture(&mut source, 1.5);
    let elapsed = asked.elapsed();
    assert!(got.samples.iter().all(|&s| s.abs() < 1e-4), "nothing plays: silence");
    assert!(
        elapsed < Duration::from_millis(2200),
        "1.5 s of silence took {elapsed:?}"
    );
    let behind = clock.now().as_secs_f64() - (got.start.as_secs_f64() + 1.5);
    println!(
        "silence: opening took {opening:?}; 1.5 s in {elapsed:?}; the output runs {:.0} ms behind the clock; {} re-anchors, {} late frames",
        behind * 1000.0,
        source.reanchors(),
        source.late_frames()
    );
    assert!(behind < 0.3, "the output trails the clock by {behind:.3} s");
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
}

#[test]
fn an_unplugged_device_warns_and_comes_back() {
    let pulse = Pulse::start();
    let mut source = open(Capture::Mic, 1, Clock::start());
    let _ = capture(&mut source, 0.3);
    pulse.unload_sink(MIC_SINK);
    let wait_for = |source: &mut CapturedAudio, what: &str| -> (String, usize) {
        let deadline = Instant::now() + Duration::from_secs(8);
        let mut frames = 0;
        loop {
            assert!(Instant::now() < deadline, "no warning saying `{what}`");
            match source.next_event(Duration::from_millis(100)).unwrap() {
                AudioEvent::Warning(w) if w.contains(what) => return (w, frames),
                AudioEvent::Warning(w) => panic!("unexpected warning {w}"),
                AudioEvent::Chunk(c) => frames += c.samples.len(),
                AudioEvent::Idle => {}
                AudioEvent::Ended(why) => panic!("a lost device must not end the capture: {why}"),
            }
        }
    };
    let (gone, _) = wait_for(&mut source, "continues with silence");
    println!("unplugged: {gone}");
    let got = capture(&mut source, 1.0);
    assert!(
        got.samples.iter().all(|&s| s == 0.0),
        "silence while the device is away"
    );
    pulse.load_sink(MIC_SINK);
    let (back, _) = wait_for(&mut source, "is back");
    println!("plugged in: {back}");
    let tone = pulse.tone(1000, 0.25, 3.0);
    let player = pulse.play(MIC_SINK, &tone);
    let got = capture(&mut source, 2.5);
    drop(player);
    let onset = got.onset(0.12).expect("the tone after re-attaching");
    let window = got.window((onset - got.start).as_secs_f64() + 0.3, 1.0);
    assert!((dominant(&window) - 1000.0).abs() <= 5.0);
}

/// The whole recorder with captured sound: a 440 Hz tone in the "system" sink and a 1 kHz tone on
/// the "mic" are both in the MP4's AAC track, each at its level, next to the picture.
#[test]
fn a_recording_with_captured_system_and_mic_sound_has_both_tones() {
    use classrec::{AudioConfig, AudioSourceConfig, Recorder, RecorderConfig, SourceConfig, SyntheticScene};
    let pulse = Pulse::start();
    let dir = common::TempDir::new("capture-recording");
    let system_tone = pulse.tone(440, 0.4, 8.0);
    let mic_tone = pulse.tone(1000, 0.2, 8.0);
    let config = RecorderConfig {
        source: SourceConfig::Synthetic {
            size: None,
            scene: SyntheticScene::Classroom,
            fast: false,
            frames: None,
        },
        size: Some((320, 180)),
        out_dir: Some(dir.path().to_owned()),
        audio: Some(AudioConfig::new(AudioSourceConfig::Capture {
            input: Capture::SystemAndMic,
            system_device: Some(SYSTEM_SINK.into()),
            mic_device: Some(MIC_MONITOR.into()),
        })),
        ..RecorderConfig::default()
    };
    let mut recorder = Recorder::start(config).unwrap();
    let players = [pulse.play(SYSTEM_SINK, &system_tone), pulse.play(MIC_SINK, &mic_tone)];
    std::thread::sleep(Duration::from_secs(5));
    let recording = recorder.stop().unwrap();
    drop(players);
    assert_eq!(common::decode_errors(&recording.path), "");
    let streams = common::streams(&recording.path);
    println!("recorded system+mic: streams {streams:?}");
    assert_eq!(
        streams.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(),
        ["h264", "aac"]
    );
    assert!((streams[0].1 - streams[1].1).abs() <= 0.025, "durations {streams:?}");
    let samples = common::decode_audio(&recording.path);
    assert!(samples.len() > 48_000 * 3, "{} samples decoded", samples.len());
    // The last 2 s: both tones play by then.
    let window = &samples[samples.len() - 2 * 48_000..];
    let (a440, a1000) = (amplitude_at(window, 440.0), amplitude_at(window, 1000.0));
    println!(
        "recorded system+mic: dominant {} Hz, 440 Hz amplitude {a440:.3} (played 0.4), 1 kHz {a1000:.3} (played 0.2)",
        dominant(window)
    );
    assert!((a440 / 0.4 - 1.0).abs() < 0.25, "440 Hz at {a440}");
    assert!((a1000 / 0.2 - 1.0).abs() < 0.25, "1 kHz at {a1000}");
}
