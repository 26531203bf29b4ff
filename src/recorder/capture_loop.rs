//! The capture thread: source (its frames converted to pictures where they lie) → (pause filter,
//! pacing) → the encoder's queue. It never blocks a
//! real-time source: when the encoder is behind, the oldest waiting frame is dropped and counted.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::pause::{PauseClock, Transition};
use super::shared::{Captured, Shared, SOURCE_POLL};
use crate::capture::{FrameSource, Pacer, Picture, PictureMaker, SourceEvent, MAX_AHEAD};
use crate::event::{Event, StopReason};
use crate::queue::LatestSender;
use crate::stats::Counters;

/// Applies the [`MAX_AHEAD`] policy to a frame of a real-time source whose clock reads `now`:
/// retimes it, counts it, and warns the first time.
fn retime_if_ahead(frame: &mut Picture, now: Duration, shared: &Shared, events: &LatestSender<Event>) {
    let Some(ahead) = frame.timestamp.checked_sub(now).filter(|a| *a > MAX_AHEAD) else {
        return;
    };
    frame.timestamp = now;
    if shared.counters.frames_retimed.fetch_add(1, Ordering::Relaxed) == 0 {
        events.send(Event::Warning {
            message: format!(
                "a frame was stamped {:.1} s ahead of the recording's clock and was recorded now instead; timestamps count from the start of the recording (in microseconds for push_frame), or pass a negative one for \"now\". Later frames more than {} s ahead are retimed the same way, without a warning (see frames_retimed)",
                ahead.as_secs_f64(),
                MAX_AHEAD.as_secs()
            ),
        });
    }
}

/// Runs the capture thread until the source ends, fails, or the recorder stops.
pub(super) fn capture_loop(
    mut source: Box<dyn FrameSource>,
    fps: u32,
    (width, height): (u32, u32),
    frames: &LatestSender<Captured>,
    shared: &Shared,
    events: &LatestSender<Event>,
) {
    let realtime = source.now().is_some();
    let counters = &shared.counters;
    let poll = SOURCE_POLL.min(Duration::from_nanos(1_000_000_000 / u64::from(fps.max(1))));
    let mut pacer = Pacer::new(fps);
    let mut clock = PauseClock::default();
    let mut hidden = false;
    let mut pictures = PictureMaker::new(width, height);
    let send = |picture: Picture| {
        if realtime {
            let dropped = frames.send(Captured::Picture(picture));
            Counters::add(&counters.frames_dropped, dropped as u64);
        } else {
            frames.send_blocking(Captured::Picture(picture));
        }
    };
    let end = |pacer: &mut Pacer, at: Option<Duration>, clock: &PauseClock, reason| {
        if let Some(held) = pacer.poll(None) {
            send(held);
        }
        frames.send_blocking(Captured::End {
            at: clock.end(at),
            reason,
        });
    };
    // Once stop is seen: the source's time then (real-time sources; virtual time stops at once).
    let mut stopping: Option<Duration> = None;
    loop {
        if frames.consumer_gone() {
            return; // the encode thread has ended (and said why): nobody takes pictures any more
        }
        if stopping.is_none() && shared.stop.load(Ordering::Acquire) {
            // Frames already handed over before stop (pushed, due) still belong in the file;
            // later ones do not, however many a source behind its schedule still has due. A
            // pushed frame may be stamped up to MAX_AHEAD later than the clock (or is retimed to
            // it), so that is the margin.
            stopping = Some(source.now().unwrap_or_default());
        }
        let event = if let Some(stopped_at) = stopping {
            let handed_over = |p: &Picture, now: Option<Duration>| {
                p.timestamp.min(now.unwrap_or(p.timestamp)) <= stopped_at + MAX_AHEAD
            };
            match source.next_event(Duration::ZERO, &mut pictures) {
                Ok(SourceEvent::Picture(picture))
                    if realtime && !clock.is_paused() && handed_over(&picture, source.now()) =>
                {
                    Ok(SourceEvent::Picture(picture))
                }
                _ => {
                    return end(
                        &mut pacer,
                        Some(stopped_at).filter(|_| realtime),
                        &clock,
                        StopReason::Requested,
                    )
                }
            }
        } else {
            source.next_event(poll, &mut pictures)
        };
        // Pause transitions are timed on the source's clock, or on the frame for virtual time.
        let time = source.now().or(match &event {
            Ok(SourceEvent::Picture(p)) => Some(p.timestamp),
            _ => None,
        });
        if let Some(time) = time {
            if let Some(transition) = clock.update(shared.paused.load(Ordering::Acquire), time) {
                events.send(match transition {
                    Transition::Paused => Event::Paused,
                    Transition::Resumed => Event::Resumed,
                });
            }
        }
        match event {
            Ok(SourceEvent::Picture(mut frame)) => {
                hidden = false;
                if clock.is_paused() {
                    continue;
                }
                if let Some(now) = source.now() {
                    retime_if_ahead(&mut frame, now, shared, events);
                }
                frame.timestamp = clock.timeline(frame.timestamp);
                Counters::add(&counters.frames_captured, 1);
                if !realtime {
                    send(frame);
                    continue;
                }
                let paced = pacer.offer(frame);
                Counters::add(&counters.frames_dropped, paced.dropped);
                if let Some(frame) = paced.send {
                    send(frame);
                }
            }
            Ok(SourceEvent::Unchanged(at)) => {
                hidden = false;
                if clock.is_paused() {
                    continue;
                }
                let at = clock.timeline(at);
                if let Some(at) = if realtime { pacer.offer_unchanged(at) } else { Some(at) } {
                    Counters::add(&counters.frames_captured, 1);
                    // Never in place of a waiting frame: that change would be lost for good (the
                    // source will not report it again). Not queued, the tick is simply skipped.
                    if !realtime {
                        frames.send_blocking(Captured::Unchanged(at));
                    } else if !frames.send_if_room(Captured::Unchanged(at)) {
                        Counters::add(&counters.frames_skipped, 1);
                    }
                }
            }
            Ok(SourceEvent::Idle) => {}
            Ok(SourceEvent::Hidden) => {
                if !hidden {
                    hidden = true;
                    events.send(Event::Warning {
                        message:
                            "the captured window is minimised or hidden: its last picture is held until it shows again"
                                .into(),
                    });
                }
            }
            Ok(SourceEvent::Ended(reason)) => {
                return end(&mut pacer, source.now(), &clock, StopReason::SourceEnded(reason));
            }
            Err(e) => {
                events.send(Event::Error { message: e.to_string() });
                return end(&mut pacer, source.now(), &clock, StopReason::Failed(e.to_string()));
            }
        }
        if !clock.is_paused() {
            if let Some(held) = pacer.poll(source.now().map(|t| clock.timeline(t))) {
                send(held);
            }
        }
    }
}
