//! The mux thread: encoded samples → the file, each fragment fsync'd, finalized at the end
//! (see `mux`); tells a following upload how far the file is committed.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use super::shared::{Encoded, Shared};
use crate::error::{Error, Result};
use crate::event::{Event, FragmentInfo, Recording, StopReason};
use crate::files::RecordingLock;
use crate::mux::HybridWriter;
use crate::queue::LatestSender;
use crate::stats::Counters;
use crate::upload::Growth;

/// The mux thread: samples → file; finalizes at the end.
pub(super) fn mux_loop(
    samples: Receiver<Encoded>,
    mut writer: HybridWriter,
    lock: RecordingLock,
    size: (u32, u32),
    growth: Option<Sender<Growth>>,
    shared: &Shared,
    events: &LatestSender<Event>,
) -> Result<Recording> {
    let counters = &shared.counters;
    let mut failure: Option<Error> = None;
    let committed = |fragment: FragmentInfo| {
        Counters::add(&counters.fragments, 1);
        counters.bytes_written.store(fragment.end, Ordering::Relaxed);
        if let Some(growth) = &growth {
            let _ = growth.send(Growth::Committed(fragment.end));
        }
        events.send(Event::FragmentCommitted(fragment));
    };
    // With a sound track, the file is finished once both the picture's end and the sound's end
    // have arrived (the sound thread waits for the picture's end, so both always come).
    let mut audio_pending = writer.has_audio();
    let mut audio_samples = None;
    let mut video_end: Option<(Option<Duration>, StopReason)> = None;
    let (end, mut reason) = loop {
        if let Some(end) = video_end.take_if(|_| !audio_pending) {
            break end;
        }
        let written = match samples.recv() {
            Ok(Encoded::Sample(sample, track)) if failure.is_none() => writer.push(sample, track.as_ref()),
            Ok(Encoded::Audio(packet)) if failure.is_none() => writer.push_audio(packet),
            Ok(Encoded::Sample(..) | Encoded::Audio(_)) => continue, // after a failure: drain until the end
            Ok(Encoded::AudioEnd { samples }) => {
                audio_samples = Some(samples);
                audio_pending = false;
                continue;
            }
            Ok(Encoded::End { at, reason }) => {
                video_end = Some((Some(at), reason));
                continue;
            }
            Err(_) => break video_end.unwrap_or_else(|| (None, shared.failed("the encode thread ended unexpectedly"))),
        };
        match written {
            Ok(Some(fragment)) => committed(fragment),
            Ok(None) => {}
            Err(e) => {
                events.send(Event::Error { message: e.to_string() });
                shared.request_stop();
                failure = Some(e);
            }
        }
    };
    let finished = match (&failure, end) {
        (None, Some(at)) => writer.finish(at, audio_samples).map(|last| {
            if let Some(fragment) = last {
                committed(fragment);
            }
        }),
        _ => writer.finalize(),
    };
    if let Some(e) = failure {
        reason = StopReason::Failed(e.to_string());
    }
    if let Err(e) = finished {
        events.send(Event::Error {
            message: format!(
                "{e}; the file stays playable as fragmented MP4 and is recovered on the next start in its folder"
            ),
        });
        return Err(e);
    }
    let path = writer.path().to_owned();
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    if bytes == 0 {
        let _ = std::fs::remove_file(&path); // nothing was recorded: leave no empty file behind
    }
    if let Some(growth) = &growth {
        let _ = growth.send(Growth::Finalized(bytes));
    }
    drop(lock);
    counters.bytes_written.store(bytes, Ordering::Relaxed);
    let recording = Recording {
        path,
        duration: writer.duration(),
        width: size.0,
        height: size.1,
        stats: counters.snapshot(),
        bytes,
        stop_reason: reason,
    };
    events.send(Event::Stopped(recording.clone()));
    Ok(recording)
}
