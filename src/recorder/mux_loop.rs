//! The mux thread: encoded samples → the file, each fragment fsync'd, finalized at the end
//! (see `mux`); tells a following upload how far the file is committed.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use super::shared::{Encoded, Shared};
use crate::error::{Error, Result};
use crate::event::{Event, FragmentInfo, Recording, StopReason};
use crate::files::{free_space, RecordingLock};
use crate::mux::HybridWriter;
use crate::queue::LatestSender;
use crate::stats::Counters;
use crate::upload::Growth;

/// How much recording time the free space should hold: below it, the user is warned.
const LOW_SPACE_HORIZON: Duration = Duration::from_secs(5 * 60);

/// What the recording is written as: its size, and where the disk's free space is watched.
pub(super) struct Output {
    pub size: (u32, u32),
    pub disk: DiskWatch,
}

/// Warns once when the disk's free space falls below what the next [`LOW_SPACE_HORIZON`] of
/// recording needs at the configured bitrates, before the disk is actually full.
pub(super) struct DiskWatch {
    dir: PathBuf,
    /// Bytes the next few minutes need.
    needed: u64,
    warned: bool,
}

impl DiskWatch {
    /// Watches the disk of `dir` for a recording of `bits_per_second` (picture and sound).
    pub(super) fn new(dir: PathBuf, bits_per_second: u64) -> DiskWatch {
        let needed = (bits_per_second / 8).saturating_mul(LOW_SPACE_HORIZON.as_secs());
        DiskWatch {
            dir,
            needed,
            warned: false,
        }
    }

    /// The warning, the first time the free space is short of what the next minutes need.
    fn check(&mut self) -> Option<Event> {
        let free = free_space(&self.dir).filter(|free| !self.warned && *free < self.needed)?;
        self.warned = true;
        let minutes = free as f64 / (self.needed as f64 / LOW_SPACE_HORIZON.as_secs_f64()) / 60.0;
        Some(Event::Warning {
            message: format!(
                "the disk of `{}` is nearly full: {} MiB free, about {minutes:.1} minutes of recording at this bitrate; free some space (the recording goes on, and if the disk fills it stops and keeps what was written)",
                self.dir.display(),
                free >> 20
            ),
        })
    }
}

/// The mux thread: samples → file; finalizes at the end.
pub(super) fn mux_loop(
    samples: Receiver<Encoded>,
    mut writer: HybridWriter,
    lock: RecordingLock,
    output: Output,
    growth: Option<Sender<Growth>>,
    shared: &Shared,
    events: &LatestSender<Event>,
) -> Result<Recording> {
    let counters = &shared.counters;
    let mut failure: Option<Error> = None;
    let Output { size, mut disk } = output;
    let mut committed = |fragment: FragmentInfo| {
        if let Some(warning) = disk.check() {
            events.send(warning);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_disk_watch_warns_once_when_the_next_minutes_do_not_fit() {
        let dir = std::env::temp_dir();
        let mut modest = DiskWatch::new(dir.clone(), 1);
        assert!(modest.check().is_none(), "5 minutes at 1 bit/s fit anywhere");
        let mut greedy = DiskWatch::new(dir, u64::MAX);
        let Some(Event::Warning { message }) = greedy.check() else {
            panic!("no warning");
        };
        assert!(
            message.contains("nearly full") && message.contains("free some space"),
            "{message}"
        );
        assert!(greedy.check().is_none(), "warned once");
    }
}
