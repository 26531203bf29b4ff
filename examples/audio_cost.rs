//! What the sound path costs, side by side with FFmpeg's AAC encoder on the same PCM, in one run.
//!
//! ```sh
//! cargo run --release --example audio_cost -- [MINUTES, default 10] [INPUT_RATE, default 16000]
//! ```
//! Makes `MINUTES` of speech-like mono PCM at `INPUT_RATE` (a voice-band tone with syllable-rate
//! loudness changes and noise), then runs classrec's sound path on it (read + resample to 48 kHz
//! (`RawAudio`), timeline (`AudioTimeline`: gaps, drift), AAC-LC 64 kbit/s (`FdkAacEncoder`)) and
//! `ffmpeg -c:a aac -b:a 64k` (resampling to 48 kHz the same way). Prints CPU-seconds per recorded
//! minute and peak memory for each. The mux's share (a few hundred bytes of boxes per 2 s) is left
//! out; it is not measurable next to these.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use classrec::capture::audio::{AudioEvent, AudioSource, AudioTimeline, RawAudio};
use classrec::{AudioEncoder, FdkAacEncoder, PcmFormat};

/// This process's CPU time so far (user + system), from /proc (Linux).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("Linux /proc");
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

/// Peak resident memory of this process, in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn make_pcm(path: &Path, minutes: u32, rate: u32) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut noise = 0x2545_F491_4F6C_DD1Du64;
    for i in 0..u64::from(minutes) * 60 * u64::from(rate) {
        let t = i as f64 / f64::from(rate);
        let syllable = (0.5 + 0.5 * (2.0 * std::f64::consts::PI * 4.0 * t).sin()).powi(2);
        let pitch = 180.0 + 40.0 * (2.0 * std::f64::consts::PI * 0.3 * t).sin();
        noise ^= noise << 13;
        noise ^= noise >> 7;
        noise ^= noise << 17;
        let n = (noise >> 40) as f64 / (1u64 << 24) as f64 - 0.5;
        let x = syllable * (0.3 * (2.0 * std::f64::consts::PI * pitch * t).sin() + 0.05 * n);
        out.write_all(&((x * 32767.0) as i16).to_le_bytes()).unwrap();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let minutes: u32 = args.first().map_or(10, |m| m.parse().expect("MINUTES"));
    let rate: u32 = args.get(1).map_or(16_000, |r| r.parse().expect("INPUT_RATE"));
    let dir = std::env::temp_dir().join(format!("classrec-audio-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pcm = dir.join("speech.pcm");
    make_pcm(&pcm, minutes, rate);

    let rss_before = peak_rss_mib();
    let (cpu0, wall0) = (cpu_time(), Instant::now());
    let mut source = RawAudio::open(&pcm, PcmFormat::S16le, rate, 1).unwrap();
    let mut timeline = AudioTimeline::new(1).unwrap();
    let mut encoder = FdkAacEncoder::new(1, Some(64_000)).unwrap();
    let (mut out, mut bytes) = (Vec::new(), 0usize);
    // Bytes of AAC the encoder made from `out` (which it empties).
    let encode = |encoder: &mut FdkAacEncoder, out: &mut Vec<f32>| -> usize {
        let made = encoder.encode(out).unwrap().iter().map(|p| p.data.len()).sum::<usize>();
        out.clear();
        made
    };
    loop {
        match source.next_event(Duration::ZERO).unwrap() {
            AudioEvent::Chunk(chunk) => {
                timeline.push(&chunk, &mut out).unwrap();
                bytes += encode(&mut encoder, &mut out);
            }
            AudioEvent::Ended(_) => break,
            _ => {}
        }
    }
    timeline.finish(None, &mut out).unwrap();
    bytes += encode(&mut encoder, &mut out);
    bytes += encoder.flush().unwrap().iter().map(|p| p.data.len()).sum::<usize>();
    let (cpu, wall) = (cpu_time() - cpu0, wall0.elapsed());
    let per_minute = cpu.as_secs_f64() / f64::from(minutes);
    println!(
        "classrec  (read+resample {rate}->48000, timeline, fdk-aac 64k): {:.3} CPU-s per recorded minute ({:.2} s CPU, {:.2} s wall for {minutes} min), {:.1} kbit/s, peak RSS +{:.1} MiB",
        per_minute,
        cpu.as_secs_f64(),
        wall.as_secs_f64(),
        bytes as f64 * 8.0 / (f64::from(minutes) * 60.0) / 1000.0,
        peak_rss_mib() - rss_before
    );

    let out_file = dir.join("ffmpeg.m4a");
    let ffmpeg = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "info", "-benchmark", "-threads", "1", "-f", "s16le"])
        .args(["-ar", &rate.to_string(), "-ac", "1", "-i"])
        .arg(&pcm)
        .args(["-c:a", "aac", "-b:a", "64k", "-ar", "48000", "-y"])
        .arg(&out_file)
        .output()
        .expect("ffmpeg on PATH");
    let report = String::from_utf8_lossy(&ffmpeg.stdout).to_string() + &String::from_utf8_lossy(&ffmpeg.stderr);
    let field = |name: &str| -> f64 {
        report
            .split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .map(|v| v.trim_end_matches('s').trim_end_matches("kB"))
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    let ff_cpu = field("utime=") + field("stime=");
    println!(
        "ffmpeg    (-c:a aac -b:a 64k, -ar 48000, one thread):            {:.3} CPU-s per recorded minute ({:.2} s CPU for {minutes} min), {:.1} kbit/s, peak RSS {:.1} MiB (whole process)",
        ff_cpu / f64::from(minutes),
        ff_cpu,
        std::fs::metadata(&out_file).map_or(0, |m| m.len()) as f64 * 8.0 / (f64::from(minutes) * 60.0) / 1000.0,
        field("maxrss=") / 1024.0
    );
    println!(
        "ratio classrec/ffmpeg: {:.2}x CPU",
        per_minute / (ff_cpu / f64::from(minutes))
    );
    let _ = std::fs::remove_dir_all(&dir);
}
