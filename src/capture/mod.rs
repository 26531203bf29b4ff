//! Capture: where frames come from. Every source sits behind [`FrameSource`].
//!
//! A source yields [`SourceEvent`]s: pictures (converted from the source's BGRA [`Frame`]s of any
//! size, letter-boxed into the recording's size, by the [`PictureMaker`] it is given), "hidden"
//! while a window is minimised (the last picture is held), and "ended" when the window closes or
//! the input runs out.

pub mod audio;
mod open;
mod pacer;
mod picture;
mod pushed;
mod raw;
mod synthetic;
#[cfg(windows)]
mod windows;
#[cfg(target_os = "linux")]
mod x11;

use std::time::{Duration, Instant};

pub(crate) use open::open;
pub use open::{list_windows, SourceConfig};
pub(crate) use pacer::Pacer;
pub use picture::{Picture, PictureMaker, SharedPictureMaker, I420};
pub use pushed::{FramePusher, PushedSource};
pub use raw::RawSource;
pub use synthetic::{SyntheticScene, SyntheticSource};
#[cfg(windows)]
pub use windows::WindowsSource;
#[cfg(target_os = "linux")]
pub use x11::X11Source;

use crate::error::{Error, Result};

/// How far ahead of the recorder's clock a host may stamp a pushed frame or sound. Further ahead (a
/// host clock that jumped, a laptop that slept, `INT64_MAX`), it is recorded at the current time:
/// one such stamp would otherwise stretch the file (hours of held picture or silence) and hold
/// back everything pushed after it until the clock caught up.
pub const MAX_AHEAD: Duration = Duration::from_secs(1);

/// Reads a unit variant of an internally tagged configuration enum (`{"kind": "pushed"}`) and
/// refuses any other field: serde ignores unknown fields there, even with `deny_unknown_fields`.
pub(crate) fn no_fields<'de, D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<(), D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NoFields {}
    serde::Deserialize::deserialize(deserializer).map(|NoFields {}| ())
}

/// One BGRA picture with its time on the recording's timeline, borrowed from wherever the source
/// holds it (a shared-memory segment, a mapped file, the host's buffer) for as long as it takes a
/// [`PictureMaker`] to convert it.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Bytes from one row to the next (at least `width * 4`).
    pub stride: usize,
    /// BGRA pixels, `stride * height` bytes (the last row may be just `width * 4`). Alpha is
    /// ignored.
    pub data: &'a [u8],
    /// Time since the recording started.
    pub timestamp: Duration,
}

/// The largest source picture side accepted: Direct3D 11's texture limit, beyond any real window.
const MAX_SOURCE_DIMENSION: u32 = 16384;

impl Frame<'_> {
    /// The bytes a `width` x `height` BGRA picture with this stride spans (the last row needs no
    /// padding), after checking it is a picture we accept: not empty, `stride >= width * 4`, no
    /// side above 16384 pixels.
    pub fn byte_len(width: u32, height: u32, stride: usize) -> Result<usize> {
        let row = width as usize * 4;
        if width == 0 || height == 0 {
            return Err(Error::InvalidFrame(format!("size {width}x{height} is empty")));
        }
        if width > MAX_SOURCE_DIMENSION || height > MAX_SOURCE_DIMENSION {
            return Err(Error::InvalidFrame(format!(
                "size {width}x{height} is larger than {MAX_SOURCE_DIMENSION}x{MAX_SOURCE_DIMENSION}; pass the picture's real size"
            )));
        }
        if stride < row {
            return Err(Error::InvalidFrame(format!(
                "stride {stride} is less than width*4 = {row}; pass the bytes per row of the BGRA buffer"
            )));
        }
        stride
            .checked_mul(height as usize - 1)
            .and_then(|n| n.checked_add(row))
            .ok_or_else(|| {
                Error::InvalidFrame(format!(
                    "stride {stride} times height {height} overflows; pass the bytes per row"
                ))
            })
    }

    /// Checks that a buffer of `len` bytes really holds a `width` x `height` BGRA picture with
    /// this stride.
    pub fn validate(width: u32, height: u32, stride: usize, len: usize) -> Result<()> {
        let needed = Self::byte_len(width, height, stride)?;
        if len < needed {
            return Err(Error::InvalidFrame(format!(
                "{len} bytes given, a {width}x{height} BGRA frame with stride {stride} needs {needed}"
            )));
        }
        Ok(())
    }

    /// Row `y` of the picture, without stride padding.
    pub fn row(&self, y: u32) -> &[u8] {
        let start = y as usize * self.stride;
        &self.data[start..start + self.width as usize * 4]
    }
}

/// A window that can be recorded.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct WindowInfo {
    /// The window's id: the X11 window id, or the HWND on Windows.
    pub id: u64,
    /// Its title.
    pub title: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

#[cfg(not(any(target_os = "linux", windows)))]
pub(super) fn no_window_capture() -> Error {
    Error::source("window capture is not available on this platform; push frames instead (source `pushed`)")
}

/// What a source has to say.
#[derive(Debug)]
pub enum SourceEvent {
    /// A new picture (made by the [`PictureMaker`] the source was given, or by its own: see
    /// [`FrameSource::set_output_size`]).
    Picture(Picture),
    /// Nothing new within the poll timeout (the picture is unchanged).
    Idle,
    /// The picture due at this time is the last frame's, known without reading it (X11 Damage,
    /// Windows Graphics Capture): it counts as a skipped frame and costs no copy or comparison.
    Unchanged(Duration),
    /// The window is minimised or unmapped: no pictures for now; the last one is held.
    Hidden,
    /// The source is finished (window closed, input ended); the reason is shown to the user.
    Ended(String),
}

/// A producer of frames. Implemented by the built-in sources and by platform window capture.
pub trait FrameSource: Send {
    /// The size of the frames this source will produce, where known in advance.
    fn size_hint(&self) -> Option<(u32, u32)>;

    /// Waits at most `timeout` for the next event. A new frame is converted with `pictures`
    /// where it lies, so that it is never copied. Errors end the recording (what was recorded is
    /// kept).
    fn next_event(&mut self, timeout: Duration, pictures: &mut PictureMaker) -> Result<SourceEvent>;

    /// The source's current time on the recording timeline, for sources that run in real time;
    /// `None` for sources whose timestamps are virtual (files, fast synthetic).
    fn now(&self) -> Option<Duration>;

    /// The recording's picture size, once known: for sources whose frames arrive on a thread
    /// of their own, which convert them there (a [`SharedPictureMaker`]). Others need not care.
    fn set_output_size(&mut self, _width: u32, _height: u32) {}
}

/// The recording's clock for real-time sources: time since the recording started.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    start: Instant,
}

impl Clock {
    /// A clock that starts now.
    pub fn start() -> Self {
        Clock { start: Instant::now() }
    }

    /// Time since the clock started.
    pub fn now(&self) -> Duration {
        self.start.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_names_the_problem() {
        assert!(Frame::validate(4, 2, 16, 32).is_ok());
        assert!(Frame::validate(4, 2, 20, 36).is_ok(), "last row needs no padding");
        assert!(Frame::validate(0, 2, 16, 32).unwrap_err().to_string().contains("empty"));
        assert!(Frame::validate(4, 2, 15, 32)
            .unwrap_err()
            .to_string()
            .contains("stride 15"));
        assert!(Frame::validate(4, 2, 16, 31)
            .unwrap_err()
            .to_string()
            .contains("needs 32"));
    }
}
