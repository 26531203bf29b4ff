//! Which source to record ([`SourceConfig`], part of the recorder's JSON configuration) and
//! [`open`], which builds it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{
    Clock, Frame, FramePusher, FrameSource, PushedSource, RawSource, SyntheticScene, SyntheticSource, WindowInfo,
};
use crate::error::{Error, Result};

/// Where frames come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceConfig {
    /// A generated, deterministic classroom scene (see [`SyntheticScene`]).
    Synthetic {
        /// The scene's size; defaults to the output size.
        #[serde(default)]
        size: Option<(u32, u32)>,
        /// Which scene to draw.
        #[serde(default)]
        scene: SyntheticScene,
        /// Generate as fast as possible with the same timestamps (benchmarks), not in real time.
        #[serde(default)]
        fast: bool,
        /// End after this many frames (None: run until stopped).
        #[serde(default)]
        frames: Option<u64>,
    },
    /// Raw BGRA frames of a fixed size, back to back, from a file or `-` for stdin.
    Raw {
        /// File path, or `-` for standard input.
        path: PathBuf,
        /// Width and height of each input frame.
        size: (u32, u32),
    },
    /// Frames pushed by the host through [`FramePusher::push_frame`].
    #[serde(deserialize_with = "super::no_fields")]
    Pushed,
    /// A window, captured even where other windows cover it (X11 Composite on Linux). Give `id`,
    /// or `title` (an exact match first, then a window whose title contains it).
    Window {
        /// Title to look for.
        #[serde(default)]
        title: Option<String>,
        /// Window id (X11 window id; HWND on Windows).
        #[serde(default)]
        id: Option<u64>,
    },
}

/// The default size of a synthetic scene when neither it nor the output has one.
const DEFAULT_SYNTHETIC_SIZE: (u32, u32) = (1280, 720);

/// Builds the source `config` names, at `fps`, on the recording's `clock`. `output_size` is the
/// recording's size, the default for a synthetic scene. A pushed source also returns the handle
/// the host pushes frames through.
pub(crate) fn open(
    config: &SourceConfig,
    output_size: Option<(u32, u32)>,
    fps: u32,
    clock: Clock,
) -> Result<(Box<dyn FrameSource>, Option<FramePusher>)> {
    Ok(match config {
        SourceConfig::Synthetic {
            size,
            scene,
            fast,
            frames,
        } => {
            let (w, h) = size.or(output_size).unwrap_or(DEFAULT_SYNTHETIC_SIZE);
            Frame::byte_len(w, h, w as usize * 4)
                .map_err(|e| Error::InvalidConfig(format!("synthetic source: {e}")))?;
            let pace = (!fast).then_some(clock);
            (Box::new(SyntheticSource::new(w, h, fps, *scene, pace, *frames)), None)
        }
        SourceConfig::Raw { path, size } => (Box::new(RawSource::open(path, size.0, size.1, fps.max(1))?), None),
        SourceConfig::Window { title, id } => (open_window(title.as_deref(), *id, fps.max(1), clock)?, None),
        SourceConfig::Pushed => {
            let (pusher, source) = PushedSource::new(clock);
            (Box::new(source), Some(pusher))
        }
    })
}

/// Lists the windows that can be recorded: X11 windows on Linux (`$DISPLAY`), top-level windows
/// on Windows.
pub fn list_windows() -> Result<Vec<WindowInfo>> {
    #[cfg(target_os = "linux")]
    return super::x11::list_windows();
    #[cfg(windows)]
    return super::windows::list_windows();
    #[cfg(not(any(target_os = "linux", windows)))]
    return Err(super::no_window_capture());
}

/// Opens the platform's window capture for the window with this `id`, or else titled `title`
/// (exactly, then in part).
fn open_window(title: Option<&str>, id: Option<u64>, fps: u32, clock: Clock) -> Result<Box<dyn FrameSource>> {
    if title.is_none() && id.is_none() {
        return Err(Error::InvalidConfig(
            "a window source needs `title` or `id`; list the windows with `record --list-windows`".into(),
        ));
    }
    #[cfg(target_os = "linux")]
    return Ok(Box::new(super::x11::X11Source::open(title, id, fps, clock)?));
    #[cfg(windows)]
    return {
        let _ = fps; // frames arrive when the window changes; the recorder paces them
        Ok(Box::new(super::windows::WindowsSource::open(title, id, clock)?))
    };
    #[cfg(not(any(target_os = "linux", windows)))]
    return Err(super::no_window_capture());
}
