//! Raw BGRA frames of one size, back to back, from a file or standard input.
//!
//! Any tool can pipe frames in (`ffmpeg -f rawvideo -pix_fmt bgra -`), which is also how we compare
//! against FFmpeg on identical input. Frame `i` has timestamp `i / fps`.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::time::Duration;

use super::{Frame, FrameBuffers, FrameSource, SourceEvent};
use crate::error::{Error, Result};

/// Reads raw BGRA frames from a file or stdin.
pub struct RawSource {
    input: Box<dyn Read + Send>,
    width: u32,
    height: u32,
    fps: u32,
    index: u64,
    buffers: FrameBuffers,
}

impl std::fmt::Debug for RawSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawSource")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("fps", &self.fps)
            .field("index", &self.index)
            .finish()
    }
}

impl RawSource {
    /// Opens `path` (`-` for stdin) holding `width` x `height` BGRA frames at `fps`.
    pub fn open(path: &Path, width: u32, height: u32, fps: u32) -> Result<Self> {
        Frame::byte_len(width, height, width as usize * 4)?;
        if fps == 0 {
            return Err(Error::InvalidConfig("fps is 0; use 1 to 60".into()));
        }
        let input: Box<dyn Read + Send> = if path == Path::new("-") {
            Box::new(std::io::stdin())
        } else {
            let file = File::open(path).map_err(|e| {
                Error::io(
                    format!("cannot open raw input `{}` (check the path)", path.display()),
                    e,
                )
            })?;
            Box::new(BufReader::with_capacity(1 << 20, file))
        };
        Ok(Self::from_reader(input, width, height, fps))
    }

    /// Reads frames from any reader.
    pub fn from_reader(input: Box<dyn Read + Send>, width: u32, height: u32, fps: u32) -> Self {
        RawSource {
            input,
            width,
            height,
            fps,
            index: 0,
            buffers: FrameBuffers::new(),
        }
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(input: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

impl FrameSource for RawSource {
    fn size_hint(&self) -> Option<(u32, u32)> {
        Some((self.width, self.height))
    }

    fn use_buffers(&mut self, buffers: FrameBuffers) {
        self.buffers = buffers;
    }

    fn next_event(&mut self, _timeout: Duration) -> Result<SourceEvent> {
        let row = self.width as usize * 4;
        let mut data = self.buffers.take(row * self.height as usize);
        let got = read_full(&mut *self.input, &mut data)
            .map_err(|e| Error::source_caused(&format!("reading raw frame {}", self.index), e))?;
        if got == 0 {
            return Ok(SourceEvent::Ended(format!(
                "raw input ended after {} frames",
                self.index
            )));
        }
        if got < data.len() {
            return Err(Error::source(format!(
                "raw input ended inside frame {}: {got} of {} bytes; check --input-size ({}x{} BGRA)",
                self.index,
                data.len(),
                self.width,
                self.height
            )));
        }
        let timestamp = Duration::from_nanos(self.index * 1_000_000_000 / u64::from(self.fps));
        self.index += 1;
        Ok(SourceEvent::Frame(Frame {
            width: self.width,
            height: self.height,
            stride: row,
            data,
            timestamp,
        }))
    }

    fn now(&self) -> Option<Duration> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_frames_then_reports_a_short_last_frame() {
        let bytes = vec![5u8; 2 * 2 * 4 * 2 + 3];
        let mut source = RawSource::from_reader(Box::new(std::io::Cursor::new(bytes)), 2, 2, 10);
        for i in 0..2 {
            let SourceEvent::Frame(f) = source.next_event(Duration::ZERO).unwrap() else {
                panic!()
            };
            assert_eq!(f.timestamp, Duration::from_millis(100 * i));
        }
        let err = source.next_event(Duration::ZERO).unwrap_err().to_string();
        assert!(err.contains("inside frame 2: 3 of 16 bytes"), "{err}");
    }

    #[test]
    fn clean_end_of_input_ends_the_source() {
        let mut source = RawSource::from_reader(Box::new(std::io::empty()), 2, 2, 10);
        assert!(matches!(
            source.next_event(Duration::ZERO).unwrap(),
            SourceEvent::Ended(_)
        ));
    }
}
