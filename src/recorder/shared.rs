//! What the recorder's threads share: the stop and pause flags, the counters, and the messages
//! that travel down the pipeline's queues.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::capture::Picture;
use crate::encode::{AudioPacket, Sample, TrackInfo};
use crate::error::{catch_quietly, panic_text};
use crate::event::{Event, StopReason};
use crate::queue::LatestSender;
use crate::stats::Counters;

/// How long a source may block before the capture thread checks for stop/pause.
pub(super) const SOURCE_POLL: Duration = Duration::from_millis(50);
/// How long `stop` waits for a source stuck in a blocking read before ending without it.
pub(super) const STUCK_SOURCE_GRACE: Duration = Duration::from_secs(2);

/// State shared by the recorder and its threads.
#[derive(Debug, Default)]
pub(super) struct Shared {
    pub stop: AtomicBool,
    pub stop_requested_at: OnceLock<Instant>,
    pub paused: AtomicBool,
    pub counters: Counters,
    /// Where the picture ends on the timeline, once the encode stage knows: the sound track is
    /// cut (or padded) to it, so both end together.
    pub video_end: OnceLock<Duration>,
    /// The latest picture's time (ns): a sound source in virtual time waits for it, so it does not
    /// run far ahead and pile up in the muxer.
    pub video_progress: AtomicU64,
    /// Why a thread failed (a caught panic), once one has: the recording's stop reason.
    pub failure: OnceLock<String>,
}

impl Shared {
    pub(super) fn request_stop(&self) {
        self.stop_requested_at.get_or_init(Instant::now);
        self.stop.store(true, Ordering::Release);
    }

    /// The stop reason when a stage ended unexpectedly: the failure a thread reported, else
    /// `otherwise`.
    pub(super) fn failed(&self, otherwise: &str) -> StopReason {
        StopReason::Failed(self.failure.get().cloned().unwrap_or_else(|| otherwise.to_owned()))
    }
}

/// Runs a recorder thread's `body`. A panic (a bug in classrec or in a source) is never silent:
/// it becomes an [`Event::Error`], the recording's stop reason, and a stop request, so the other
/// threads finalize what was written. `None` when it panicked.
pub(super) fn run_guarded<T>(
    thread: &str,
    shared: &Shared,
    events: &LatestSender<Event>,
    body: impl FnOnce() -> T,
) -> Option<T> {
    match catch_quietly(body) {
        Ok(value) => Some(value),
        Err(panic) => {
            let message = format!(
                "internal error in the {thread} thread (please report): {}; the recording stops and what was written is kept",
                panic_text(&*panic)
            );
            let _ = shared.failure.set(message.clone());
            events.send(Event::Error { message });
            shared.request_stop();
            None
        }
    }
}

/// Messages from capture to encode.
pub(super) enum Captured {
    Picture(Picture),
    /// The previous picture, still showing at this time.
    Unchanged(Duration),
    End {
        at: Option<Duration>,
        reason: StopReason,
    },
}

/// Messages from encode to mux.
pub(super) enum Encoded {
    Sample(Sample, Option<TrackInfo>),
    /// An AAC access unit of the sound track.
    Audio(AudioPacket),
    /// The sound track is complete: the real number of sample frames the encoder took.
    AudioEnd {
        samples: u64,
    },
    End {
        at: Duration,
        reason: StopReason,
    },
}
