//! Raw BGRA frames of one size, back to back, from a file or standard input.
//!
//! Any tool can pipe frames in (`ffmpeg -f rawvideo -pix_fmt bgra -`), which is also how we compare
//! against FFmpeg on identical input. Frame `i` has timestamp `i / fps`.
//!
//! On Linux a regular file is mapped, and each frame converted straight from the page cache (no
//! read copy); what was converted is unmapped again, so the file never counts towards our memory.
//! The file must not shrink while it is read (that would be a SIGBUS); pipes and stdin are read.
#![cfg_attr(target_os = "linux", allow(unsafe_code))] // mapping the input file

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use super::{Frame, FrameSource, PictureMaker, SourceEvent};
use crate::error::{Error, Result};

/// Where the bytes come from.
enum Input {
    /// A mapped regular file, read up to `at`.
    #[cfg(target_os = "linux")]
    Mapped { map: memmap2::Mmap, at: usize },
    /// Read into `buffer`, one frame at a time.
    Stream {
        reader: Box<dyn Read + Send>,
        buffer: Vec<u8>,
    },
}

/// Reads raw BGRA frames from a file or stdin.
pub struct RawSource {
    input: Input,
    width: u32,
    height: u32,
    fps: u32,
    index: u64,
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
        if path == Path::new("-") {
            return Ok(Self::from_reader(Box::new(std::io::stdin()), width, height, fps));
        }
        let file = File::open(path).map_err(|e| {
            Error::io(
                format!("cannot open raw input `{}` (check the path)", path.display()),
                e,
            )
        })?;
        #[cfg(target_os = "linux")]
        if file.metadata().is_ok_and(|m| m.is_file() && m.len() > 0) {
            // SAFETY: a regular file we only read; see the module docs for the one condition.
            if let Ok(map) = unsafe { memmap2::Mmap::map(&file) } {
                let _ = map.advise(memmap2::Advice::Sequential);
                return Ok(Self::with_input(Input::Mapped { map, at: 0 }, width, height, fps));
            }
        }
        Ok(Self::from_reader(Box::new(file), width, height, fps))
    }

    /// Reads frames from any reader.
    pub fn from_reader(input: Box<dyn Read + Send>, width: u32, height: u32, fps: u32) -> Self {
        let input = Input::Stream {
            reader: input,
            buffer: Vec::new(),
        };
        Self::with_input(input, width, height, fps)
    }

    /// A source reading `input`.
    fn with_input(input: Input, width: u32, height: u32, fps: u32) -> Self {
        RawSource {
            input,
            width,
            height,
            fps,
            index: 0,
        }
    }

    /// The next frame's bytes: `Ok(None)` at a clean end, an error inside a frame.
    fn next_bytes(&mut self) -> Result<Option<&[u8]>> {
        let len = self.width as usize * 4 * self.height as usize;
        let (got, bytes): (usize, &[u8]) = match &mut self.input {
            #[cfg(target_os = "linux")]
            Input::Mapped { map, at } => {
                if *at > 0 {
                    // SAFETY: the previous frame's pages, converted already and never read again
                    // (a page shared with this frame is read back from the page cache).
                    let previous = (*at).saturating_sub(len);
                    let _ = unsafe {
                        map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, previous, *at - previous)
                    };
                }
                let start = (*at).min(map.len());
                let bytes = &map[start..map.len().min(start + len)];
                *at = start + bytes.len();
                (bytes.len(), bytes)
            }
            Input::Stream { reader, buffer } => {
                buffer.resize(len, 0);
                let got = read_full(&mut **reader, buffer)
                    .map_err(|e| Error::source_caused(&format!("reading raw frame {}", self.index), e))?;
                (got, &buffer[..])
            }
        };
        match got {
            0 => Ok(None),
            _ if got < len => Err(Error::source(format!(
                "raw input ended inside frame {}: {got} of {len} bytes; check --input-size ({}x{} BGRA)",
                self.index, self.width, self.height
            ))),
            _ => Ok(Some(bytes)),
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

    fn next_event(&mut self, _timeout: Duration, pictures: &mut PictureMaker) -> Result<SourceEvent> {
        let (index, width, height) = (self.index, self.width, self.height);
        let timestamp = Duration::from_nanos(index * 1_000_000_000 / u64::from(self.fps));
        let Some(data) = self.next_bytes()? else {
            return Ok(SourceEvent::Ended(format!("raw input ended after {index} frames")));
        };
        let picture = pictures.make(&Frame {
            width,
            height,
            stride: width as usize * 4,
            data,
            timestamp,
        })?;
        self.index += 1;
        Ok(SourceEvent::Picture(picture))
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
        let mut pictures = PictureMaker::new(2, 2);
        for i in 0..2 {
            let SourceEvent::Picture(p) = source.next_event(Duration::ZERO, &mut pictures).unwrap() else {
                panic!()
            };
            assert_eq!(p.timestamp, Duration::from_millis(100 * i));
        }
        let err = source
            .next_event(Duration::ZERO, &mut pictures)
            .unwrap_err()
            .to_string();
        assert!(err.contains("inside frame 2: 3 of 16 bytes"), "{err}");
    }

    #[test]
    fn a_file_is_read_frame_by_frame_then_its_torn_end_is_reported() {
        let path = std::env::temp_dir().join(format!("classrec-raw-{}.bgra", std::process::id()));
        let frames: Vec<u8> = [40u8, 200].iter().flat_map(|&shade| vec![shade; 4 * 2 * 4]).collect();
        std::fs::write(&path, [&frames[..], &[1, 2, 3]].concat()).unwrap();
        let mut source = RawSource::open(&path, 4, 2, 10).unwrap();
        let mut pictures = PictureMaker::new(4, 2);
        let lumas: Vec<u8> = (0..2)
            .map(|_| match source.next_event(Duration::ZERO, &mut pictures).unwrap() {
                SourceEvent::Picture(p) => p.i420().planes.0[0],
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(lumas[0] < lumas[1], "in order: {lumas:?}");
        let err = source
            .next_event(Duration::ZERO, &mut pictures)
            .unwrap_err()
            .to_string();
        assert!(err.contains("inside frame 2: 3 of 32 bytes"), "{err}");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn clean_end_of_input_ends_the_source() {
        let mut source = RawSource::from_reader(Box::new(std::io::empty()), 2, 2, 10);
        assert!(matches!(
            source.next_event(Duration::ZERO, &mut PictureMaker::new(2, 2)).unwrap(),
            SourceEvent::Ended(_)
        ));
    }
}
