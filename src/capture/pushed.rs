//! Frames the host pushes itself (the C++ client renders its whiteboard and hands us each picture).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::{Clock, Frame, FrameSource, SourceEvent};
use crate::error::{Error, Result};
use crate::queue::{latest_queue, LatestSender};

/// How many pushed frames may wait for the encoder; older ones are dropped (and counted).
const PUSH_QUEUE: usize = 2;

/// The handle the host pushes frames through. Cheap to clone; usable from any thread.
#[derive(Clone, Debug)]
pub struct FramePusher {
    queue: LatestSender<Frame>,
    clock: Clock,
    closed: Arc<AtomicBool>,
    dropped: Arc<std::sync::atomic::AtomicU64>,
}

/// The source side of pushed frames: what the recorder's capture thread reads.
#[derive(Debug)]
pub struct PushedSource {
    frames: Receiver<Frame>,
    clock: Clock,
    /// Shared with the pushers: set when the source goes away (the recording ended, failed or
    /// stopped), so that pushing then says so instead of queueing frames nobody reads.
    closed: Arc<AtomicBool>,
}

impl Drop for PushedSource {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::Release);
    }
}

impl PushedSource {
    /// A connected pusher/source pair on the recording clock.
    pub fn new(clock: Clock) -> (FramePusher, PushedSource) {
        let (queue, frames) = latest_queue(PUSH_QUEUE);
        let closed = Arc::new(AtomicBool::new(false));
        let pusher = FramePusher {
            queue,
            clock,
            closed: closed.clone(),
            dropped: Arc::default(),
        };
        (pusher, PushedSource { frames, clock, closed })
    }
}

impl FramePusher {
    /// Copies one BGRA picture into the recording. `stride` is bytes per row; `timestamp` is the
    /// time since the recording started, or `None` for "now" on the recorder's clock.
    /// Never blocks: if the encoder is behind, the oldest waiting frame is dropped and counted.
    pub fn push_frame(
        &self,
        bgra: &[u8],
        width: u32,
        height: u32,
        stride: usize,
        timestamp: Option<Duration>,
    ) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Stopped);
        }
        Frame::validate(width, height, stride, bgra.len())?;
        let row = width as usize * 4;
        let mut data = Vec::with_capacity(row * height as usize);
        for y in 0..height as usize {
            data.extend_from_slice(&bgra[y * stride..y * stride + row]);
        }
        let frame = Frame {
            width,
            height,
            stride: row,
            data,
            timestamp: timestamp.unwrap_or_else(|| self.clock.now()),
        };
        let dropped = self.queue.send(frame);
        self.dropped.fetch_add(dropped as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Frames dropped because the host pushed faster than the encoder could take them.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Refuses further pushes (the recording stopped).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }
}

impl FrameSource for PushedSource {
    fn size_hint(&self) -> Option<(u32, u32)> {
        None
    }

    fn next_event(&mut self, timeout: Duration) -> Result<SourceEvent> {
        match self.frames.recv_timeout(timeout) {
            Ok(frame) => Ok(SourceEvent::Frame(frame)),
            Err(RecvTimeoutError::Timeout) => Ok(SourceEvent::Idle),
            Err(RecvTimeoutError::Disconnected) => Ok(SourceEvent::Ended("the frame pusher was dropped".into())),
        }
    }

    fn now(&self) -> Option<Duration> {
        Some(self.clock.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_copies_without_padding_and_rejects_bad_frames() {
        let (pusher, mut source) = PushedSource::new(Clock::start());
        let padded = vec![7u8; 12 * 2]; // 2x2 with 4 bytes of padding per row
        pusher
            .push_frame(&padded, 2, 2, 12, Some(Duration::from_millis(5)))
            .unwrap();
        let SourceEvent::Frame(frame) = source.next_event(Duration::from_secs(1)).unwrap() else {
            panic!("expected a frame");
        };
        assert_eq!(
            (frame.stride, frame.data.len(), frame.timestamp),
            (8, 16, Duration::from_millis(5))
        );
        assert!(pusher.push_frame(&padded, 2, 2, 4, None).is_err());
        pusher.close();
        assert!(matches!(
            pusher.push_frame(&padded, 2, 2, 12, None),
            Err(Error::Stopped)
        ));
    }
}
