//! PCM the host pushes itself: the classroom client already holds the call's mixed,
//! echo-cancelled audio and hands it over through [`AudioPusher::push`]. This is the recommended
//! way to record sound in the classroom client.
//!
//! Any rate from 8 to 48 kHz and mono or stereo are taken; samples are converted to the track's
//! channel count and resampled to 48 kHz on the pushing thread (a few microseconds per 10 ms), then
//! queued. Pushing never waits for the recorder: the queue holds 2 s, and when it is full the
//! oldest audio is dropped and counted (the timeline fills its place with silence, so what follows
//! stays in sync).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::resample::StreamResampler;
use super::{check_pcm, convert_channels, frames_to_time, AudioChunk, AudioEvent, AudioSource, Pcm, AUDIO_RATE};
use crate::capture::{Clock, MAX_AHEAD};
use crate::error::{Error, Result};

/// How much audio (at 48 kHz) may wait for the recorder before the oldest is dropped: 2 s.
const QUEUE_FRAMES: usize = 2 * AUDIO_RATE as usize;

/// The handle the host pushes PCM through. Cheap to clone; usable from any thread (pushes from
/// several threads are serialized by a short lock and never wait for the recorder).
#[derive(Clone, Debug)]
pub struct AudioPusher {
    shared: Arc<Shared>,
}

/// The source side of pushed audio: what the recorder's audio thread reads.
#[derive(Debug)]
pub struct PushedAudio {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// The track's channel count: pushes are converted to it.
    channels: u16,
    clock: Clock,
    /// Conversion state; held while one push is converted and queued.
    state: Mutex<PushState>,
    queue: Mutex<Queue>,
    ready: Condvar,
    closed: AtomicBool,
    /// Sample frames (at 48 kHz) dropped because the queue was full.
    dropped: AtomicU64,
    /// Pushes stamped more than [`MAX_AHEAD`] ahead of the clock, placed at "now" instead.
    retimed: AtomicU64,
}

#[derive(Debug, Default)]
struct PushState {
    /// The resampler for the current input rate (`None` at 48 kHz).
    resampler: Option<(u32, StreamResampler)>,
    /// The time right after the last sample pushed, once known.
    next_time: Option<Duration>,
}

#[derive(Debug, Default)]
struct Queue {
    chunks: VecDeque<AudioChunk>,
    frames: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind: keep going with it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl PushedAudio {
    /// A connected pusher/source pair for a track of `channels` (1 or 2) on the recording clock.
    pub fn new(channels: u16, clock: Clock) -> Result<(AudioPusher, PushedAudio)> {
        check_pcm(AUDIO_RATE, channels)?;
        let shared = Arc::new(Shared {
            channels,
            clock,
            state: Mutex::default(),
            queue: Mutex::default(),
            ready: Condvar::new(),
            closed: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
            retimed: AtomicU64::new(0),
        });
        Ok((AudioPusher { shared: shared.clone() }, PushedAudio { shared }))
    }
}

impl AudioPusher {
    /// Adds interleaved PCM to the recording. `sample_rate` is 8000 to 48000 Hz, `channels` 1 or 2
    /// (converted to the track's). `timestamp` is the first sample's time on the recording's clock
    /// (time since the recording started); `None` means right after the previous push (for the
    /// first push: ending now). A push stamped more than [`MAX_AHEAD`] (1 s) ahead of the clock is
    /// placed to end now instead, and counted (`Stats::audio_pushes_retimed`). Never blocks: if the recorder is behind, the oldest queued audio is
    /// dropped and counted.
    pub fn push(&self, samples: Pcm<'_>, sample_rate: u32, channels: u16, timestamp: Option<Duration>) -> Result<()> {
        let shared = &*self.shared;
        if shared.closed.load(Ordering::Acquire) {
            return Err(Error::Stopped);
        }
        check_pcm(sample_rate, channels)?;
        if samples.is_empty() {
            return Err(Error::InvalidAudio(
                "0 frames pushed; push at least one sample frame".into(),
            ));
        }
        if !samples.len().is_multiple_of(usize::from(channels)) {
            return Err(Error::InvalidAudio(format!(
                "{} samples is not a whole number of {channels}-channel frames; pass interleaved frames and their channel count",
                samples.len()
            )));
        }
        let frames = (samples.len() / usize::from(channels)) as u64;
        let duration = Duration::from_nanos((u128::from(frames) * 1_000_000_000 / u128::from(sample_rate)) as u64);
        let mut pcm = samples.to_f32();
        pcm.iter_mut().filter(|x| !x.is_finite()).for_each(|x| *x = 0.0);
        let pcm = convert_channels(pcm, channels, shared.channels);

        let now = shared.clock.now();
        let timestamp = timestamp.map(|t| {
            if t.saturating_sub(now) > MAX_AHEAD {
                shared.retimed.fetch_add(1, Ordering::Relaxed);
                now.saturating_sub(duration) // as a first push without a timestamp: ending now
            } else {
                t
            }
        });
        let mut state = lock(&shared.state);
        let start = timestamp
            .or(state.next_time)
            .unwrap_or_else(|| shared.clock.now().saturating_sub(duration));
        state.next_time = Some(start + duration);
        if sample_rate == AUDIO_RATE {
            if let Some((_, mut old)) = state.resampler.take() {
                // The previous rate's last few milliseconds (still in its resampler) go first.
                let mut tail = Vec::new();
                old.finish(&mut tail)?;
                shared.enqueue(tail, None);
            }
            shared.enqueue(pcm, Some(start));
            return Ok(());
        }
        if state.resampler.as_ref().is_none_or(|(rate, _)| *rate != sample_rate) {
            if let Some((_, mut old)) = state.resampler.take() {
                let mut tail = Vec::new();
                old.finish(&mut tail)?;
                shared.enqueue(tail, None);
            }
            state.resampler = Some((
                sample_rate,
                StreamResampler::new(sample_rate, AUDIO_RATE, shared.channels)?,
            ));
        }
        let (_, resampler) = state.resampler.as_mut().expect("made above");
        // What comes out first is the part of earlier pushes still inside the resampler.
        let held = resampler.latency_frames() / f64::from(sample_rate);
        let mut out = Vec::new();
        resampler.process(&pcm, &mut out)?;
        shared.enqueue(out, Some(start.saturating_sub(Duration::from_secs_f64(held.max(0.0)))));
        Ok(())
    }

    /// Sample frames (at 48 kHz) dropped so far because the recorder fell more than 2 s behind.
    pub fn dropped_samples(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Pushes stamped more than [`MAX_AHEAD`] ahead of the clock, placed at "now" instead.
    pub fn retimed_pushes(&self) -> u64 {
        self.shared.retimed.load(Ordering::Relaxed)
    }

    /// Refuses further pushes (the recording stopped): they return [`Error::Stopped`]. The source
    /// ends once it has delivered what was queued.
    pub fn close(&self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.ready.notify_all();
    }
}

impl Shared {
    /// Queues a chunk, dropping the oldest while more than `QUEUE_FRAMES` would wait.
    fn enqueue(&self, samples: Vec<f32>, timestamp: Option<Duration>) {
        if samples.is_empty() {
            return;
        }
        let chunk = AudioChunk {
            samples,
            channels: self.channels,
            timestamp,
        };
        let mut queue = lock(&self.queue);
        while !queue.chunks.is_empty() && queue.frames + chunk.frames() > QUEUE_FRAMES {
            let old = queue.chunks.pop_front().expect("not empty");
            queue.frames -= old.frames();
            self.dropped.fetch_add(old.frames() as u64, Ordering::Relaxed);
            // Keep what follows at its time: a contiguous successor gets the dropped one's end.
            if let (Some(next), Some(t)) = (queue.chunks.front_mut(), old.timestamp) {
                next.timestamp.get_or_insert(t + frames_to_time(old.frames() as u64));
            }
        }
        queue.frames += chunk.frames();
        queue.chunks.push_back(chunk);
        drop(queue);
        self.ready.notify_one();
    }
}

impl AudioSource for PushedAudio {
    fn channels(&self) -> u16 {
        self.shared.channels
    }

    fn next_event(&mut self, timeout: Duration) -> Result<AudioEvent> {
        let shared = &*self.shared;
        let mut queue = lock(&shared.queue);
        if queue.chunks.is_empty() && !shared.closed.load(Ordering::Acquire) {
            queue = shared
                .ready
                .wait_timeout(queue, timeout)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        if let Some(chunk) = queue.chunks.pop_front() {
            queue.frames -= chunk.frames();
            return Ok(AudioEvent::Chunk(chunk));
        }
        if shared.closed.load(Ordering::Acquire) {
            return Ok(AudioEvent::Ended("the recording stopped; no more pushed audio".into()));
        }
        if Arc::strong_count(&self.shared) == 1 {
            return Ok(AudioEvent::Ended("the audio pusher was dropped".into()));
        }
        Ok(AudioEvent::Idle)
    }

    fn now(&self) -> Option<Duration> {
        Some(self.shared.clock.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::audio::test_signal::{dominant_frequency, level_at};

    fn drain(source: &mut PushedAudio) -> Vec<AudioChunk> {
        let mut chunks = Vec::new();
        while let AudioEvent::Chunk(c) = source.next_event(Duration::ZERO).unwrap() {
            chunks.push(c);
        }
        chunks
    }

    fn s16_tone(rate: u32, freq: f64, frames: usize, from: usize) -> Vec<i16> {
        (from..from + frames)
            .map(|i| (16384.0 * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin()) as i16)
            .collect()
    }

    #[test]
    fn pushes_at_48_khz_keep_their_timestamps_and_follow_on() {
        let (pusher, mut source) = PushedAudio::new(1, Clock::start()).unwrap();
        pusher
            .push(Pcm::F32(&[0.5; 480]), 48_000, 1, Some(Duration::from_millis(100)))
            .unwrap();
        pusher.push(Pcm::F32(&[0.25; 960]), 48_000, 2, None).unwrap();
        let chunks = drain(&mut source);
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].timestamp, Some(Duration::from_millis(100)));
        assert_eq!(
            chunks[1].timestamp,
            Some(Duration::from_millis(110)),
            "right after the first"
        );
        assert_eq!(chunks[1].samples, vec![0.25; 480], "stereo averaged to mono");
        assert!(matches!(source.next_event(Duration::ZERO).unwrap(), AudioEvent::Idle));
    }

    #[test]
    fn a_push_stamped_far_ahead_ends_now_and_is_counted() {
        let (pusher, mut source) = PushedAudio::new(1, Clock::start()).unwrap();
        for ahead in [Duration::from_secs(3600), Duration::MAX] {
            pusher.push(Pcm::S16(&[100; 480]), 48_000, 1, Some(ahead)).unwrap();
        }
        assert_eq!(pusher.retimed_pushes(), 2);
        for chunk in drain(&mut source) {
            assert!(
                chunk.timestamp.unwrap() < Duration::from_secs(1),
                "{:?}",
                chunk.timestamp
            );
        }
    }

    #[test]
    fn the_first_push_without_timestamp_ends_now() {
        let clock = Clock::start();
        std::thread::sleep(Duration::from_millis(50));
        let (pusher, mut source) = PushedAudio::new(2, clock).unwrap();
        pusher.push(Pcm::S16(&[100; 480]), 48_000, 1, None).unwrap();
        let chunk = drain(&mut source).remove(0);
        assert_eq!(chunk.samples.len(), 960, "mono copied to both channels");
        let t = chunk.timestamp.unwrap();
        assert!(t >= Duration::from_millis(40) && t < clock.now(), "{t:?}");
    }

    #[test]
    fn sixteen_khz_is_resampled_with_times_that_match_the_samples() {
        // A clock that has run 3 s: pushes stamped 0..2 s are in its past, not ahead of it.
        let clock = Clock {
            start: std::time::Instant::now() - Duration::from_secs(3),
        };
        let (pusher, mut source) = PushedAudio::new(1, clock).unwrap();
        // 2 s of 440 Hz at 16 kHz in 10 ms pushes, stamped as a client would.
        for k in 0..200 {
            let pcm = s16_tone(16_000, 440.0, 160, k * 160);
            pusher
                .push(Pcm::S16(&pcm), 16_000, 1, Some(Duration::from_millis(10 * k as u64)))
                .unwrap();
        }
        let chunks = drain(&mut source);
        let mut frames = 0u64;
        let mut all = Vec::new();
        for c in &chunks {
            // Each chunk's time is where its first sample really belongs, to within a sample.
            let t = c.timestamp.unwrap().as_secs_f64() * 48_000.0;
            assert!((t - frames as f64).abs() <= 1.0, "chunk at {t}, stream at {frames}");
            frames += c.frames() as u64;
            all.extend_from_slice(&c.samples);
        }
        assert!(frames > 95_000 && frames <= 96_000, "{frames}");
        assert!((dominant_frequency(&all[4_800..90_000], 48_000) - 440.0).abs() < 0.5);
        assert!((level_at(&all[4_800..90_000], 440.0, 48_000) - 0.5).abs() < 0.01);
        assert_eq!(pusher.dropped_samples(), 0);
    }

    #[test]
    fn a_full_queue_drops_the_oldest_and_counts_it() {
        let (pusher, mut source) = PushedAudio::new(1, Clock::start()).unwrap();
        for k in 0..250u64 {
            pusher
                .push(
                    Pcm::F32(&[0.1; 480]),
                    48_000,
                    1,
                    if k == 0 { Some(Duration::ZERO) } else { None },
                )
                .unwrap();
        }
        assert_eq!(pusher.dropped_samples(), 50 * 480, "2.5 s pushed, 2 s kept");
        let chunks = drain(&mut source);
        assert_eq!(chunks.len(), 200);
        assert_eq!(
            chunks[0].timestamp,
            Some(Duration::from_millis(500)),
            "the kept audio stays at its time"
        );
    }

    #[test]
    fn bad_pushes_get_errors_that_name_the_fix() {
        let (pusher, mut source) = PushedAudio::new(1, Clock::start()).unwrap();
        let err = |r: Result<()>| r.unwrap_err().to_string();
        assert!(err(pusher.push(Pcm::S16(&[0; 10]), 44_100 * 2, 1, None)).contains("8000 to 48000"));
        assert!(err(pusher.push(Pcm::S16(&[0; 10]), 48_000, 0, None)).contains("mono (1) or stereo (2)"));
        assert!(err(pusher.push(Pcm::S16(&[]), 48_000, 1, None)).contains("0 frames"));
        assert!(err(pusher.push(Pcm::S16(&[0; 3]), 48_000, 2, None)).contains("whole number"));
        pusher.close();
        assert!(matches!(
            pusher.push(Pcm::S16(&[0; 2]), 48_000, 1, None),
            Err(Error::Stopped)
        ));
        assert!(matches!(
            source.next_event(Duration::ZERO).unwrap(),
            AudioEvent::Ended(_)
        ));
    }

    #[test]
    fn several_threads_can_push_at_once() {
        let (pusher, mut source) = PushedAudio::new(2, Clock::start()).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let pusher = pusher.clone();
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let rate = [48_000, 16_000, 44_100, 8_000][i];
                        pusher.push(Pcm::F32(&[0.2; 200]), rate, 2, None).unwrap();
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        drop(pusher);
        let mut got = 0;
        loop {
            match source.next_event(Duration::from_millis(10)).unwrap() {
                AudioEvent::Chunk(c) => got += c.frames(),
                AudioEvent::Ended(why) => {
                    assert!(why.contains("dropped"));
                    break;
                }
                AudioEvent::Idle | AudioEvent::Warning(_) => panic!("nothing more is coming"),
            }
        }
        assert!(got > 0);
    }
}
