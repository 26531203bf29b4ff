//! The sound thread: audio source → (pause filter) → timeline (gaps, overlaps, drift) → AAC →
//! the muxer's queue. It ends where the picture ends: once the encode stage knows the video's
//! end, the sound is padded or cut to it, so both tracks end together.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crossbeam_channel::Sender;

use super::pause::PauseClock;
use super::shared::{Encoded, Shared};
use crate::capture::audio::{frames_to_time, time_to_frames, AudioChunk, AudioEvent, AudioSource, AudioTimeline};
use crate::encode::AudioEncoder;
use crate::error::Result;
use crate::event::Event;
use crate::queue::LatestSender;

/// How long the source may block before the loop looks at stop, pause and the video's end.
const AUDIO_POLL: Duration = Duration::from_millis(20);
/// How far a virtual-time sound source may run ahead of the picture.
const VIRTUAL_LEAD: Duration = Duration::from_secs(2);

/// Runs the sound thread until the picture's end is known and the sound is complete.
pub(super) fn audio_loop(
    mut source: Box<dyn AudioSource>,
    mut encoder: Box<dyn AudioEncoder>,
    packets: &Sender<Encoded>,
    shared: &Shared,
    events: &LatestSender<Event>,
) {
    let channels = encoder.info().channels;
    let result = run(&mut *source, &mut *encoder, channels, packets, shared, events);
    if let Err(e) = result {
        events.send(Event::Warning {
            message: format!("sound: {e}; the rest of the recording is silent"),
        });
        // Silence to the end, so the file still has a sound track as long as the picture.
        let _ = finish_silent(&mut *encoder, channels, packets, shared);
    }
}

fn run(
    source: &mut dyn AudioSource,
    encoder: &mut dyn AudioEncoder,
    channels: u16,
    packets: &Sender<Encoded>,
    shared: &Shared,
    events: &LatestSender<Event>,
) -> Result<()> {
    let realtime = source.now().is_some();
    let mut timeline = AudioTimeline::new(channels)?;
    let mut clock = PauseClock::default();
    let mut out = Vec::new();
    let mut ended = false;
    let counters = &shared.counters;
    let send = |encoder: &mut dyn AudioEncoder, out: &mut Vec<f32>| -> Result<()> {
        for packet in encoder.encode(out)? {
            let _ = packets.send(Encoded::Audio(packet));
        }
        out.clear();
        Ok(())
    };
    loop {
        let video_end = shared.video_end.get().copied();
        if let Some(end) = video_end {
            // In virtual time the sound is read up to the picture's end first: a fast picture
            // source (a mapped file) may end before the sound has been read that far.
            if realtime || ended || frames_to_time(timeline.position()) >= end {
                timeline.finish(Some(end), &mut out)?;
                send(encoder, &mut out)?;
                publish(&timeline, counters);
                return flush(encoder, packets, end);
            }
        }
        if ended {
            std::thread::sleep(AUDIO_POLL);
            continue;
        }
        if !realtime && video_end.is_none() {
            // Virtual time: stay within a short lead of the picture.
            let position = frames_to_time(timeline.position());
            let video = Duration::from_nanos(shared.video_progress.load(Ordering::Acquire));
            if position > video + VIRTUAL_LEAD {
                std::thread::sleep(Duration::from_millis(2));
                continue;
            }
        }
        let event = source.next_event(AUDIO_POLL)?;
        let time = source.now().or(match &event {
            AudioEvent::Chunk(chunk) => Some(chunk.timestamp.unwrap_or_else(|| frames_to_time(timeline.position()))),
            _ => None,
        });
        if let Some(time) = time {
            // The capture thread reports pause and resume; here they only cut the sound.
            clock.update(shared.paused.load(Ordering::Acquire), time);
        }
        match event {
            AudioEvent::Chunk(chunk) => {
                if clock.is_paused() {
                    continue;
                }
                let chunk = AudioChunk {
                    timestamp: chunk.timestamp.map(|t| clock.timeline(t)),
                    samples: crate::capture::audio::convert_channels(chunk.samples, chunk.channels, channels),
                    channels,
                };
                timeline.push(&chunk, &mut out)?;
                send(encoder, &mut out)?;
                publish(&timeline, counters);
            }
            AudioEvent::Idle => {}
            AudioEvent::Warning(message) => {
                events.send(Event::Warning {
                    message: format!("sound: {message}"),
                });
            }
            AudioEvent::Ended(reason) => {
                if realtime {
                    events.send(Event::Warning {
                        message: format!("sound: {reason}; the rest of the recording is silent"),
                    });
                }
                ended = true;
            }
        }
    }
}

/// Copies the timeline's counters into the recorder's.
fn publish(timeline: &AudioTimeline, counters: &crate::stats::Counters) {
    let stats = timeline.stats();
    counters.audio_samples_in.store(stats.samples_in, Ordering::Relaxed);
    counters.audio_samples_dropped.store(stats.dropped, Ordering::Relaxed);
    counters
        .audio_samples_gap_filled
        .store(stats.gap_filled, Ordering::Relaxed);
    counters
        .audio_samples_drift_corrected
        .store(stats.drift_corrected, Ordering::Relaxed);
}

/// Flushes the encoder and tells the muxer how many samples the track plays: all it took, or up
/// to the picture's `end` when a source in virtual time ran ahead of it (the edit list cuts there).
fn flush(encoder: &mut dyn AudioEncoder, packets: &Sender<Encoded>, end: Duration) -> Result<()> {
    let samples = encoder.samples_in().min(time_to_frames(end));
    for packet in encoder.flush()? {
        let _ = packets.send(Encoded::Audio(packet));
    }
    let _ = packets.send(Encoded::AudioEnd { samples });
    Ok(())
}

/// After a failure: silence until the picture ends, then flush.
fn finish_silent(
    encoder: &mut dyn AudioEncoder,
    channels: u16,
    packets: &Sender<Encoded>,
    shared: &Shared,
) -> Result<()> {
    let end = loop {
        if let Some(&end) = shared.video_end.get() {
            break end;
        }
        std::thread::sleep(AUDIO_POLL);
    };
    let missing = time_to_frames(end).saturating_sub(encoder.samples_in());
    let silence = vec![0.0f32; usize::try_from(missing).unwrap_or(0) * usize::from(channels)];
    for packet in encoder.encode(&silence)? {
        let _ = packets.send(Encoded::Audio(packet));
    }
    flush(encoder, packets, end)
}
