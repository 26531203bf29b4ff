//! A bandwidth cap shared by all uploads of a process, changeable while uploading, so the upload
//! never starves the live class's own audio and video on the teacher's uplink.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bytes sent in one go between checks of the budget.
const CHUNK: usize = 64 * 1024;

/// A token bucket: `limit` bytes per second (0 = no limit), bursts of at most one second.
#[derive(Debug)]
pub struct Throttle {
    limit: AtomicU64,
    state: Mutex<(Instant, f64)>,
    sent: AtomicU64,
}

impl Throttle {
    /// A throttle with `bytes_per_second` (None: unlimited).
    pub fn new(bytes_per_second: Option<u64>) -> Self {
        Throttle {
            limit: AtomicU64::new(bytes_per_second.unwrap_or(0)),
            state: Mutex::new((Instant::now(), 0.0)),
            sent: AtomicU64::new(0),
        }
    }

    /// Changes the cap; takes effect within one 64 KiB chunk.
    pub fn set_limit(&self, bytes_per_second: Option<u64>) {
        self.limit.store(bytes_per_second.unwrap_or(0), Ordering::Relaxed);
    }

    /// The cap in bytes per second, if any.
    pub fn limit(&self) -> Option<u64> {
        Some(self.limit.load(Ordering::Relaxed)).filter(|&l| l > 0)
    }

    /// Every body byte handed to the network so far, retries included.
    pub fn bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Waits until `n` bytes may be sent, then counts them.
    fn take(&self, n: usize) {
        self.sent.fetch_add(n as u64, Ordering::Relaxed);
        let Some(limit) = self.limit() else { return };
        let wait = {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let (last, tokens) = &mut *state;
            let now = Instant::now();
            *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * limit as f64).min(limit as f64);
            *last = now;
            *tokens -= n as f64;
            if *tokens < 0.0 {
                Duration::from_secs_f64(-*tokens / limit as f64)
            } else {
                Duration::ZERO
            }
        };
        std::thread::sleep(wait);
    }

    /// A reader over `inner` that respects the cap.
    pub(crate) fn reader<R: Read>(&self, inner: R) -> ThrottledReader<'_, R> {
        ThrottledReader { throttle: self, inner }
    }
}

/// See [`Throttle::reader`].
pub(crate) struct ThrottledReader<'a, R> {
    throttle: &'a Throttle,
    inner: R,
}

impl<R: Read> Read for ThrottledReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(CHUNK);
        let n = self.inner.read(&mut buf[..n])?;
        self.throttle.take(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_paces_reads_and_counts_bytes() {
        let throttle = Throttle::new(Some(1_000_000));
        let data = vec![0u8; 1_500_000];
        let start = Instant::now();
        let mut sink = Vec::new();
        throttle.reader(&data[..]).read_to_end(&mut sink).unwrap();
        let took = start.elapsed().as_secs_f64();
        assert!(took > 1.3, "1.5 MB at 1 MB/s took {took:.2} s");
        assert_eq!(throttle.bytes_sent(), 1_500_000);
        throttle.set_limit(None);
        let start = Instant::now();
        throttle.reader(&data[..]).read_to_end(&mut sink).unwrap();
        assert!(start.elapsed() < Duration::from_millis(200));
    }
}
