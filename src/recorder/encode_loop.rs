//! The encode thread: captured pictures → encoded samples (see `encode`). Disk I/O never runs here.

use crossbeam_channel::{RecvTimeoutError, Sender};

use super::shared::{Captured, Encoded, Shared, SOURCE_POLL, STUCK_SOURCE_GRACE};
use crate::encode::{EncodeStage, Outcome};
use crate::event::{Event, StopReason};
use crate::queue::{ConsumerReceiver, LatestSender};
use crate::stats::Counters;

/// The encode thread: frames → samples.
pub(super) fn encode_loop(
    frames: ConsumerReceiver<Captured>,
    mut stage: EncodeStage,
    samples: &Sender<Encoded>,
    shared: &Shared,
    events: &LatestSender<Event>,
) {
    let counters = &shared.counters;
    let end = |at, reason| {
        let _ = shared.video_end.set(at); // the sound track ends here too
        let _ = samples.send(Encoded::End { at, reason });
    };
    loop {
        let outcome = match frames.recv_timeout(SOURCE_POLL) {
            Ok(Captured::Picture(picture)) => stage.push(picture),
            Ok(Captured::Unchanged(at)) => stage.unchanged(at),
            Ok(Captured::End { at, reason }) => return end(stage.end_time(at), reason),
            Err(RecvTimeoutError::Timeout) => {
                let stuck = shared
                    .stop_requested_at
                    .get()
                    .is_some_and(|t| t.elapsed() > STUCK_SOURCE_GRACE);
                if stuck {
                    return end(stage.end_time(None), StopReason::Requested);
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => {
                let reason = shared.failed("the capture thread ended unexpectedly");
                return end(stage.end_time(None), reason);
            }
        };
        match outcome {
            Ok(Outcome::Sample(sample, track)) => {
                Counters::add(&counters.frames_encoded, 1);
                let nanos = u64::try_from(sample.timestamp.as_nanos()).unwrap_or(u64::MAX);
                shared.video_progress.store(nanos, std::sync::atomic::Ordering::Release);
                if samples.send(Encoded::Sample(sample, track)).is_err() {
                    return; // the muxer is gone (it failed and reported why)
                }
            }
            Ok(Outcome::Unchanged) => Counters::add(&counters.frames_skipped, 1),
            Ok(Outcome::Nothing) => Counters::add(&counters.frames_dropped, 1),
            Err(e) => {
                events.send(Event::Error { message: e.to_string() });
                shared.request_stop();
                return end(stage.end_time(None), StopReason::Failed(e.to_string()));
            }
        }
    }
}
