//! What the recorder's threads share: the stop and pause flags, the counters, and the messages
//! that travel down the pipeline's queues.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::capture::Frame;
use crate::encode::{AudioPacket, Sample, TrackInfo};
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
    /// Where the picture ends on the timeline, once the encode stage knows: the sound track is
    /// cut (or padded) to it, so both end together.
    pub video_end: OnceLock<Duration>,
    /// The latest picture's time (ns): a sound source in virtual time waits for it, so it does not
    /// run far ahead and pile up in the muxer.
    pub video_progress: AtomicU64,
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
