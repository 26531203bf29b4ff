//! What a recording is asked to be: source, output size, rate, folder, encoder choices.
//!
//! The same serde structure is used by the Rust API and (as JSON) by the C ABI, so a new
//! option never needs a new function.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::capture::SyntheticScene;
use crate::error::{Error, Result};
use crate::notify::{CallbackConfig, ClassInfo};
use crate::upload::UploadConfig;

/// OpenH264's largest picture (level 5.2): 3840x2160, either orientation.
pub const MAX_DIMENSION: u32 = 3840;
/// The smaller side's limit of OpenH264's largest picture.
pub const MAX_SHORT_DIMENSION: u32 = 2160;
/// The smallest picture side we accept (one macroblock).
pub const MIN_DIMENSION: u32 = 16;
/// Highest frame rate accepted.
pub const MAX_FPS: u32 = 60;
/// Bitrate range accepted, in kbit/s.
pub const BITRATE_RANGE_KBPS: std::ops::RangeInclusive<u32> = 100..=50_000;

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
    /// Frames pushed by the host through [`crate::FramePusher::push_frame`].
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

/// How OpenH264 is tuned for the content.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentType {
    /// OpenH264's screen-content tools: on the 1080p classroom, slightly better chroma at equal
    /// bitrate (YUV SSIM 0.9992 against 0.9989), but 1.15x the CPU and 21 MiB more memory.
    Screen,
    /// OpenH264's camera tuning (background detection, adaptive quantization): the same bitrate
    /// at equal RGB SSIM on the classroom and on full motion, faster and smaller. The default.
    #[default]
    Camera,
}

/// Everything a recording needs. `Default` gives a 1280x720, 15 fps, 1.5 Mbit/s synthetic recording
/// into `<home>/TClass/record`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecorderConfig {
    /// Where frames come from.
    pub source: SourceConfig,
    /// Output folder; `None` means `<home>/TClass/record` (Windows: `%USERPROFILE%\TClass\record`).
    pub out_dir: Option<PathBuf>,
    /// Output width and height, fixed for the whole file. `None`: the source's size.
    /// Odd values are rounded up to even (H.264 4:2:0); other frame sizes are letter-boxed in.
    pub size: Option<(u32, u32)>,
    /// Nominal frame rate (frames per second, 1 to 60).
    pub fps: u32,
    /// Target bitrate in kbit/s (100 to 50000).
    pub bitrate_kbps: u32,
    /// Media in each crash-safe fragment, in milliseconds: what a crash can lose at most.
    pub fragment_interval_ms: u32,
    /// Longest time between keyframes while the picture changes, in milliseconds. Fragments do
    /// not need keyframes; longer intervals save bits (`benches/sweep.sh`: 10 s needs 11-12%
    /// fewer than 2 s on the 1080p classroom) at the price of slower seeking.
    pub keyframe_interval_ms: u32,
    /// Longest time between keyframes while the picture stands still, in milliseconds.
    pub still_keyframe_interval_ms: u32,
    /// Encoder tuning for the content.
    pub content: ContentType,
    /// Class id, used in the file name (sanitized).
    pub class_id: Option<String>,
    /// Recording user's id, used in the file name (sanitized).
    pub user_id: Option<String>,
    /// Upload while recording (None: local file only).
    pub upload: Option<UploadConfig>,
    /// The class being recorded (reported by the callback; the role is checked at start).
    pub class: Option<ClassInfo>,
    /// Tell the institution's backend when the upload is complete (needs `upload` and `class`).
    pub callback: Option<CallbackConfig>,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        RecorderConfig {
            source: SourceConfig::Synthetic {
                size: None,
                scene: SyntheticScene::Classroom,
                fast: false,
                frames: None,
            },
            out_dir: None,
            size: Some((1280, 720)),
            fps: 15,
            bitrate_kbps: 1500,
            fragment_interval_ms: 2000,
            keyframe_interval_ms: 10_000,
            still_keyframe_interval_ms: 10_000,
            content: ContentType::Camera,
            class_id: None,
            user_id: None,
            upload: None,
            class: None,
            callback: None,
        }
    }
}

/// A configuration checked and completed: every `Option` resolved.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub out_dir: PathBuf,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub bitrate_bps: u32,
    pub fragment_interval: Duration,
    pub keyframe_interval: Duration,
    pub still_keyframe_interval: Duration,
    pub content: ContentType,
}

impl RecorderConfig {
    /// Checks every field; `source_size` is the source's own frame size where known.
    pub(crate) fn resolve(&self, source_size: Option<(u32, u32)>) -> Result<Settings> {
        let invalid = |msg: String| Err(Error::InvalidConfig(msg));
        if let Some(class) = &self.class {
            class.check_role()?;
        }
        if self.callback.is_some() && (self.upload.is_none() || self.class.is_none()) {
            return invalid(
                "callback needs upload (it reports the uploaded object) and class (it reports the class)".into(),
            );
        }
        if self.fps == 0 || self.fps > MAX_FPS {
            return invalid(format!("fps is {}; use 1 to {MAX_FPS} (15 suits slides)", self.fps));
        }
        if !BITRATE_RANGE_KBPS.contains(&self.bitrate_kbps) {
            return invalid(format!(
                "bitrate_kbps is {}; use {} to {} (1500 suits 1080p slides)",
                self.bitrate_kbps,
                BITRATE_RANGE_KBPS.start(),
                BITRATE_RANGE_KBPS.end()
            ));
        }
        if !(100..=60_000).contains(&self.fragment_interval_ms) {
            return invalid(format!(
                "fragment_interval_ms is {}; use 100 to 60000 (2000 is usual)",
                self.fragment_interval_ms
            ));
        }
        if !(100..=60_000).contains(&self.keyframe_interval_ms) {
            return invalid(format!(
                "keyframe_interval_ms is {}; use 100 to 60000 (10000 is usual)",
                self.keyframe_interval_ms
            ));
        }
        if self.still_keyframe_interval_ms < self.keyframe_interval_ms || self.still_keyframe_interval_ms > 600_000 {
            return invalid(format!(
                "still_keyframe_interval_ms is {}; use keyframe_interval_ms ({}) to 600000",
                self.still_keyframe_interval_ms, self.keyframe_interval_ms
            ));
        }
        let Some((w, h)) = self.size.or(source_size) else {
            return invalid(
                "size is not set and the source has no size of its own; set size, e.g. [1920, 1080]".into(),
            );
        };
        let (width, height) = (w + w % 2, h + h % 2);
        let (long, short) = (width.max(height), width.min(height));
        if w < MIN_DIMENSION || h < MIN_DIMENSION || long > MAX_DIMENSION || short > MAX_SHORT_DIMENSION {
            return invalid(format!(
                "output size {w}x{h} is outside what H.264 (OpenH264) can encode; use {MIN_DIMENSION}x{MIN_DIMENSION} to {MAX_DIMENSION}x{MAX_SHORT_DIMENSION} (or {MAX_SHORT_DIMENSION}x{MAX_DIMENSION})"
            ));
        }
        let out_dir = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => default_out_dir()?,
        };
        Ok(Settings {
            out_dir,
            width,
            height,
            fps: self.fps,
            bitrate_bps: self.bitrate_kbps * 1000,
            fragment_interval: Duration::from_millis(self.fragment_interval_ms.into()),
            keyframe_interval: Duration::from_millis(self.keyframe_interval_ms.into()),
            still_keyframe_interval: Duration::from_millis(self.still_keyframe_interval_ms.into()),
            content: self.content,
        })
    }
}

/// `<home>/TClass/record`: `%USERPROFILE%` on Windows, `$HOME` elsewhere.
pub fn default_out_dir() -> Result<PathBuf> {
    let var = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
    match std::env::var_os(var) {
        Some(home) if !home.is_empty() => Ok(PathBuf::from(home).join("TClass").join("record")),
        _ => Err(Error::InvalidConfig(format!(
            "out_dir is not set and ${var} is empty, so there is no default <home>/TClass/record; set out_dir"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(config: RecorderConfig) -> String {
        config.resolve(None).unwrap_err().to_string()
    }

    #[test]
    fn rejects_out_of_range_values_with_the_fix() {
        let base = RecorderConfig {
            out_dir: Some("/tmp".into()),
            ..Default::default()
        };
        assert!(check(RecorderConfig { fps: 0, ..base.clone() }).contains("use 1 to 60"));
        assert!(check(RecorderConfig {
            fps: 61,
            ..base.clone()
        })
        .contains("fps is 61"));
        assert!(check(RecorderConfig {
            bitrate_kbps: 5,
            ..base.clone()
        })
        .contains("bitrate_kbps is 5"));
        assert!(check(RecorderConfig {
            size: Some((0, 720)),
            ..base.clone()
        })
        .contains("0x720"));
        assert!(check(RecorderConfig {
            size: Some((4096, 2160)),
            ..base.clone()
        })
        .contains("4096x2160"));
        assert!(check(RecorderConfig {
            size: None,
            ..base.clone()
        })
        .contains("size is not set"));
    }

    #[test]
    fn odd_sizes_round_up_to_even_and_portrait_4k_is_allowed() {
        let config = RecorderConfig {
            out_dir: Some("/tmp".into()),
            size: Some((1279, 719)),
            ..Default::default()
        };
        let s = config.resolve(None).unwrap();
        assert_eq!((s.width, s.height), (1280, 720));
        let portrait = RecorderConfig {
            size: Some((2160, 3840)),
            ..config
        };
        assert!(portrait.resolve(None).is_ok());
    }

    #[test]
    fn json_rejects_unknown_fields() {
        let err = serde_json::from_str::<RecorderConfig>(r#"{"fsp": 15}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `fsp`"), "{err}");
        let ok: RecorderConfig = serde_json::from_str(r#"{"fps": 10, "source": {"kind": "pushed"}}"#).unwrap();
        assert_eq!(ok.fps, 10);
        assert_eq!(ok.source, SourceConfig::Pushed);
    }
}
