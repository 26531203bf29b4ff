//! Frames the host pushes itself (the C++ client renders its whiteboard and hands us each picture).
//! Each is converted on the host's thread, straight from its buffer: the host may reuse the buffer
//! as soon as `push_frame` returns, and an 8 MiB BGRA copy is never made.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::{Clock, Frame, FrameSource, Picture, PictureMaker, SharedPictureMaker, SourceEvent};
use crate::error::{Error, Result};
use crate::queue::{latest_queue, LatestSender};

/// How many pushed frames may wait for the encoder; older ones are dropped (and counted).
const PUSH_QUEUE: usize = 2;

/// The handle the host pushes frames through. Cheap to clone; usable from any thread.
#[derive(Clone, Debug)]
pub struct FramePusher {
    queue: LatestSender<Picture>,
    pictures: SharedPictureMaker,
    clock: Clock,
    closed: Arc<AtomicBool>,
    dropped: Arc<std::sync::atomic::AtomicU64>,
}

/// The source side of pushed frames: what the recorder's capture thread reads.
#[derive(Debug)]
pub struct PushedSource {
    frames: Receiver<Picture>,
    pictures: SharedPictureMaker,
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
        let pictures = SharedPictureMaker::default();
        let pusher = FramePusher {
            queue,
            pictures: pictures.clone(),
            clock,
            closed: closed.clone(),
            dropped: Arc::default(),
        };
        let source = PushedSource {
            frames,
            pictures,
            clock,
            closed,
        };
        (pusher, source)
    }
}

impl FramePusher {
    /// Takes one BGRA picture into the recording, converted to the recording's picture on this
    /// thread: `bgra` may be reused as soon as this returns. `stride` is bytes per row;
    /// `timestamp` is the time since the recording started, or `None` for "now" on the
    /// recorder's clock. Never waits for the encoder: if it is behind, the oldest waiting picture
    /// is dropped and counted.
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
        let picture = self.pictures.make(&Frame {
            width,
            height,
            stride,
            data: bgra,
            timestamp: timestamp.unwrap_or_else(|| self.clock.now()),
        })?;
        let dropped = self.queue.send(picture);
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

    fn set_output_size(&mut self, width: u32, height: u32) {
        self.pictures.set_output_size(width, height);
    }

    fn next_event(&mut self, timeout: Duration, _: &mut PictureMaker) -> Result<SourceEvent> {
        match self.frames.recv_timeout(timeout) {
            Ok(picture) => Ok(SourceEvent::Picture(picture)),
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
    fn push_converts_on_the_pushing_thread_and_rejects_bad_frames() {
        let (pusher, mut source) = PushedSource::new(Clock::start());
        source.set_output_size(2, 2);
        let mut padded = vec![0xFFu8; 12 * 2]; // 2x2 white with 4 bytes of padding per row
        pusher
            .push_frame(&padded, 2, 2, 12, Some(Duration::from_millis(5)))
            .unwrap();
        padded.fill(0); // the caller's buffer is free again at once
        let mut unused = PictureMaker::new(2, 2);
        let SourceEvent::Picture(picture) = source.next_event(Duration::from_secs(1), &mut unused).unwrap() else {
            panic!("expected a picture");
        };
        assert_eq!(picture.timestamp, Duration::from_millis(5));
        assert_eq!(picture.i420().planes.0, [235; 4], "white, BT.709 limited range");
        assert!(pusher.push_frame(&padded, 2, 2, 4, None).is_err());
        pusher.close();
        assert!(matches!(
            pusher.push_frame(&padded, 2, 2, 12, None),
            Err(Error::Stopped)
        ));
    }
}
