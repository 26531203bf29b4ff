//! Recycled frame buffers. A 1080p BGRA frame is 8 MiB: allocating one per frame costs zeroing
//! and page faults (about 0.5 ms, `perf`), and lets the heap grow with every thread's leftovers.
//! Sources take buffers here; the encoder gives them back once it is done with a frame.

use std::sync::{Arc, Mutex};

/// How many free buffers are kept: enough for the frames in flight between capture and encode.
const KEEP: usize = 3;

/// A shared stock of frame buffers (cheap to clone; every clone shares the stock).
#[derive(Clone, Debug, Default)]
pub struct FrameBuffers {
    free: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl FrameBuffers {
    /// An empty stock.
    pub fn new() -> Self {
        Self::default()
    }

    /// A buffer of exactly `len` bytes, recycled where possible. Its contents are whatever was
    /// there before: the caller overwrites all of it.
    pub fn take(&self, len: usize) -> Vec<u8> {
        let recycled = self.free.lock().ok().and_then(|mut free| free.pop());
        let mut buffer = recycled.unwrap_or_default();
        buffer.resize(len, 0);
        buffer
    }

    /// Gives a buffer back for reuse (dropped if enough are kept already).
    pub fn give(&self, buffer: Vec<u8>) {
        if let Ok(mut free) = self.free.lock() {
            if free.len() < KEEP {
                free.push(buffer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_and_the_stock_is_bounded() {
        let buffers = FrameBuffers::new();
        let first = buffers.take(16);
        let at = first.as_ptr();
        buffers.give(first);
        let again = buffers.take(8);
        assert_eq!((again.as_ptr(), again.len()), (at, 8), "the same allocation, resized");
        for _ in 0..10 {
            buffers.give(vec![0; 4]);
        }
        assert_eq!(buffers.free.lock().unwrap().len(), KEEP);
    }
}
