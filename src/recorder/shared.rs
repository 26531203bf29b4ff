//! What the recorder's threads share: the stop and pause flags, the counters, and the messages
//! that travel down the pipeline's queues.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::capture::Frame;
use crate::encode::{Sample, TrackInfo};
use crate::event::StopReason;
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
}

impl Shared {
    pub(super) fn request_stop(&self) {
        self.stop_requested_at.get_or_init(Instant::now);
        self.stop.store(true, Ordering::Release);
    }
}

/// Messages from capture to encode.
pub(super) enum Captured {
    Frame(Frame),
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
    End { at: Duration, reason: StopReason },
}
