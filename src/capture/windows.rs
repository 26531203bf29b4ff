//! Window capture on Windows with Windows.Graphics.Capture (through `windows-capture` 2.0.1):
//! the DWM composes each window off-screen, so covered parts are captured too.
//!
//! Frames arrive on the library's capture thread only when the window's content changes; each is
//! converted there straight from the mapped staging texture (honouring `row_pitch`), and the
//! picture handed to the recorder. A minimised window sends
//! nothing: the last picture is held. A closed window ends the source. One capture at a time per
//! process (two at once have crashed, windows-capture #124), and stopping has a timeout.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use windows_capture::capture::{CaptureControl, Context, GraphicsCaptureApiHandler};
use windows_capture::frame::Frame as WgcFrame;
use windows_capture::graphics_capture_api::{GraphicsCaptureApi, InternalCaptureControl};
use windows_capture::settings::{
    ColorFormat, CursorCaptureSettings, DirtyRegionSettings, DrawBorderSettings, MinimumUpdateIntervalSettings,
    SecondaryWindowSettings, Settings,
};
use windows_capture::window::Window;

use super::{Clock, Frame, FrameSource, Picture, PictureMaker, SharedPictureMaker, SourceEvent, WindowInfo};
use crate::error::{Error, Result};

/// Set while a capture runs in this process.
static CAPTURING: AtomicBool = AtomicBool::new(false);

/// How long stop waits for the capture thread before leaving it behind.
const STOP_TIMEOUT: Duration = Duration::from_secs(2);

/// What the capture thread tells the source.
enum Message {
    Picture(Picture),
    Closed,
}

/// The handler windows-capture calls on its thread.
struct Forwarder {
    to_source: Sender<Message>,
    clock: Clock,
    pictures: SharedPictureMaker,
}

impl GraphicsCaptureApiHandler for Forwarder {
    type Flags = (Sender<Message>, Clock, SharedPictureMaker);
    type Error = Error;

    fn new(ctx: Context<Self::Flags>) -> Result<Self> {
        let (to_source, clock, pictures) = ctx.flags;
        Ok(Forwarder {
            to_source,
            clock,
            pictures,
        })
    }

    fn on_frame_arrived(&mut self, frame: &mut WgcFrame, _control: InternalCaptureControl) -> Result<()> {
        let timestamp = self.clock.now();
        let mut buffer = frame
            .buffer()
            .map_err(|e| Error::source_caused("reading a captured frame", e))?;
        let (width, height, stride) = (buffer.width(), buffer.height(), buffer.row_pitch() as usize);
        // Rows are `row_pitch` bytes apart (padded), never assume width * 4.
        let frame = Frame {
            width,
            height,
            stride,
            data: buffer.as_raw_buffer(),
            timestamp,
        };
        match self.pictures.make(&frame) {
            // A full queue means the recorder is behind: this picture is dropped, a newer one follows.
            Ok(picture) => drop(self.to_source.try_send(Message::Picture(picture))),
            // Before the recording's size is set, or a frame we cannot read: the next one will do.
            Err(e) => log::warn!("a captured frame was dropped: {e}"),
        }
        Ok(())
    }

    fn on_closed(&mut self) -> Result<()> {
        let _ = self.to_source.send(Message::Closed);
        Ok(())
    }
}

/// Captures one window with Windows.Graphics.Capture.
pub struct WindowsSource {
    control: Option<CaptureControl<Forwarder, Error>>,
    frames: Receiver<Message>,
    /// Where the capture thread converts frames, once the recording's size is known.
    pictures: SharedPictureMaker,
    window: Window,
    clock: Clock,
}

impl std::fmt::Debug for WindowsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WindowsSource")
            .field("hwnd", &self.window.as_raw_hwnd())
            .finish()
    }
}

/// A window's id as classrec reports it (the HWND's value).
fn window_id(window: &Window) -> u64 {
    window.as_raw_hwnd() as usize as u64
}

/// Lists the top-level windows that can be captured.
pub(crate) fn list_windows() -> Result<Vec<WindowInfo>> {
    let windows = Window::enumerate().map_err(|e| Error::source_caused("listing windows", e))?;
    Ok(windows
        .iter()
        .filter_map(|w| {
            Some(WindowInfo {
                id: window_id(w),
                title: w.title().ok().filter(|t| !t.is_empty())?,
                width: u32::try_from(w.width().ok()?).ok()?,
                height: u32::try_from(w.height().ok()?).ok()?,
            })
        })
        .collect())
}

fn find(title: Option<&str>, id: Option<u64>) -> Result<Window> {
    if let Some(id) = id {
        let window = Window::from_raw_hwnd(id as usize as *mut std::ffi::c_void);
        return match window.is_valid() {
            true => Ok(window),
            false => Err(Error::source(format!(
                "no capturable window with HWND {id:#x}; list them with `record --list-windows`"
            ))),
        };
    }
    let title = title.unwrap_or_default();
    Window::from_name(title)
        .or_else(|_| Window::from_contains_name(title))
        .map_err(|_| {
            Error::source(format!(
                "no window titled `{title}` (exactly or in part); list them with `record --list-windows`"
            ))
        })
}

impl WindowsSource {
    /// Starts capturing the window with HWND `id`, or titled `title` (exact, then substring).
    pub fn open(title: Option<&str>, id: Option<u64>, clock: Clock) -> Result<WindowsSource> {
        if !GraphicsCaptureApi::is_supported().unwrap_or(false) {
            return Err(Error::source(
                "Windows.Graphics.Capture is unavailable: it needs Windows 10 version 1903 or later with the \
                 Desktop Window Manager running; update Windows, or push frames instead (source `pushed`)",
            ));
        }
        if CAPTURING.swap(true, Ordering::AcqRel) {
            return Err(Error::source(
                "another window capture is running in this process; stop that recording first (one capture at a time)",
            ));
        }
        let opened = Self::start(title, id, clock);
        if opened.is_err() {
            CAPTURING.store(false, Ordering::Release);
        }
        opened
    }

    fn start(title: Option<&str>, id: Option<u64>, clock: Clock) -> Result<WindowsSource> {
        let window = find(title, id)?;
        // No yellow border where Windows can turn it off (asking where it cannot panics on
        // Windows 10 before build 20348); the cursor is part of the lesson.
        let border = match GraphicsCaptureApi::is_border_settings_supported() {
            Ok(true) => DrawBorderSettings::WithoutBorder,
            _ => DrawBorderSettings::Default,
        };
        let cursor = match GraphicsCaptureApi::is_cursor_settings_supported() {
            Ok(true) => CursorCaptureSettings::WithCursor,
            _ => CursorCaptureSettings::Default,
        };
        let (to_source, frames) = crossbeam_channel::bounded(2);
        let pictures = SharedPictureMaker::default();
        let settings = Settings::new(
            window,
            cursor,
            border,
            SecondaryWindowSettings::Default,
            MinimumUpdateIntervalSettings::Default,
            DirtyRegionSettings::Default,
            ColorFormat::Bgra8,
            (to_source, clock, pictures.clone()),
        );
        let control = Forwarder::start_free_threaded(settings)
            .map_err(|e| Error::source_caused("starting Windows.Graphics.Capture", e))?;
        Ok(WindowsSource {
            control: Some(control),
            frames,
            pictures,
            window,
            clock,
        })
    }

    /// A minimised window sits at (-32000, -32000).
    fn minimised(&self) -> bool {
        self.window.rect().is_ok_and(|r| r.left <= -32000 && r.top <= -32000)
    }
}

impl FrameSource for WindowsSource {
    fn size_hint(&self) -> Option<(u32, u32)> {
        let width = u32::try_from(self.window.width().ok()?).ok()?;
        let height = u32::try_from(self.window.height().ok()?).ok()?;
        Some((width, height))
    }

    fn set_output_size(&mut self, width: u32, height: u32) {
        self.pictures.set_output_size(width, height);
    }

    fn next_event(&mut self, timeout: Duration, _: &mut PictureMaker) -> Result<SourceEvent> {
        match self.frames.recv_timeout(timeout) {
            Ok(Message::Picture(picture)) => Ok(SourceEvent::Picture(picture)),
            Ok(Message::Closed) | Err(RecvTimeoutError::Disconnected) => {
                Ok(SourceEvent::Ended("the captured window was closed".into()))
            }
            Err(RecvTimeoutError::Timeout) if self.minimised() => Ok(SourceEvent::Hidden),
            Err(RecvTimeoutError::Timeout) => Ok(SourceEvent::Idle), // unchanged: frames come on change
        }
    }

    fn now(&self) -> Option<Duration> {
        Some(self.clock.now())
    }
}

impl Drop for WindowsSource {
    fn drop(&mut self) {
        if let Some(control) = self.control.take() {
            // stop() joins the capture thread; do not let a stuck one hang the recorder.
            let (done_tx, done_rx) = crossbeam_channel::bounded(1);
            let _ = std::thread::Builder::new()
                .name("classrec-wgc-stop".into())
                .spawn(move || {
                    let _ = control.stop();
                    let _ = done_tx.send(());
                });
            let _ = done_rx.recv_timeout(STOP_TIMEOUT);
        }
        CAPTURING.store(false, Ordering::Release);
    }
}
