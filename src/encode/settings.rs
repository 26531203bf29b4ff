//! What the encode stage is asked to do, and the limits it accepts.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

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
/// Keyframe intervals accepted while the picture changes, in milliseconds.
const KEYFRAME_INTERVAL_RANGE_MS: std::ops::RangeInclusive<u32> = 100..=60_000;
/// The longest keyframe interval accepted while the picture stands still, in milliseconds.
const MAX_STILL_KEYFRAME_INTERVAL_MS: u32 = 600_000;

/// How OpenH264 is tuned for the content.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentType {
    /// OpenH264's screen-content tools: on the 1080p classroom, slightly better chroma at equal
    /// bitrate (YUV SSIM 0.9992 against 0.9989), but 1.15x the CPU and 21 MiB more memory.
    Screen,
    /// OpenH264's camera tuning (adaptive quantization): on the classroom 6% more bits than screen
    /// tuning at equal RGB SSIM, the same on full motion; faster and smaller. The default.
    #[default]
    Camera,
}

/// The encode stage's settings, checked: output size (even), rate, bitrate, keyframe policy.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EncodeSettings {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub bitrate_bps: u32,
    pub keyframe_interval: Duration,
    pub still_keyframe_interval: Duration,
    pub content: ContentType,
}

/// What a caller asks of the encoder, in the configuration's units, before checking.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EncodeRequest {
    /// The output size; `None` when neither the configuration nor the source gives one.
    pub size: Option<(u32, u32)>,
    pub fps: u32,
    pub bitrate_kbps: u32,
    pub keyframe_interval_ms: u32,
    pub still_keyframe_interval_ms: u32,
    pub content: ContentType,
}

impl EncodeRequest {
    /// Checks every value against what OpenH264 and the keyframe policy accept; odd sizes are
    /// rounded up to even (H.264 4:2:0). Errors name the field and the valid range.
    pub(crate) fn check(self) -> Result<EncodeSettings> {
        let invalid = |msg: String| Err(Error::InvalidConfig(msg));
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
        if !KEYFRAME_INTERVAL_RANGE_MS.contains(&self.keyframe_interval_ms) {
            return invalid(format!(
                "keyframe_interval_ms is {}; use {} to {} (10000 is usual)",
                self.keyframe_interval_ms,
                KEYFRAME_INTERVAL_RANGE_MS.start(),
                KEYFRAME_INTERVAL_RANGE_MS.end()
            ));
        }
        if self.still_keyframe_interval_ms < self.keyframe_interval_ms
            || self.still_keyframe_interval_ms > MAX_STILL_KEYFRAME_INTERVAL_MS
        {
            return invalid(format!(
                "still_keyframe_interval_ms is {}; use keyframe_interval_ms ({}) to {MAX_STILL_KEYFRAME_INTERVAL_MS}",
                self.still_keyframe_interval_ms, self.keyframe_interval_ms
            ));
        }
        let Some((w, h)) = self.size else {
            return invalid(
                "size is not set and the source has no size of its own; set size, e.g. [1920, 1080]".into(),
            );
        };
        let (width, height) = (w.saturating_add(w % 2), h.saturating_add(h % 2));
        let (long, short) = (width.max(height), width.min(height));
        if w < MIN_DIMENSION || h < MIN_DIMENSION || long > MAX_DIMENSION || short > MAX_SHORT_DIMENSION {
            return invalid(format!(
                "output size {w}x{h} is outside what H.264 (OpenH264) can encode; use {MIN_DIMENSION}x{MIN_DIMENSION} to {MAX_DIMENSION}x{MAX_SHORT_DIMENSION} (or {MAX_SHORT_DIMENSION}x{MAX_DIMENSION})"
            ));
        }
        Ok(EncodeSettings {
            width,
            height,
            fps: self.fps,
            bitrate_bps: self.bitrate_kbps * 1000,
            keyframe_interval: Duration::from_millis(self.keyframe_interval_ms.into()),
            still_keyframe_interval: Duration::from_millis(self.still_keyframe_interval_ms.into()),
            content: self.content,
        })
    }
}

/// The quantizer range (lower is finer); the measurements are in `H264Encoder::params`.
const QP_RANGE: (u8, u8) = (18, 40);

/// What a recording asks of the encoder (its coding tools are [`H264Tools`]).
#[derive(Clone, Copy, Debug)]
pub struct H264Settings {
    /// Target bitrate, bits per second.
    pub bitrate_bps: u32,
    /// Nominal frame rate.
    pub fps: u32,
    /// Screen or camera tuning.
    pub content: ContentType,
}

/// OpenH264's complexity mode: how hard it searches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "bench"), allow(dead_code))] // medium and high: for encoder_sweep
pub enum H264Complexity {
    /// The recorder's: as good as medium on our content and up to 1.3x faster.
    Low,
    /// OpenH264's default.
    Medium,
    /// The slowest.
    High,
}

/// OpenH264's coding tools: what the recorder uses ([`H264Tools::recorder`]), and what
/// `examples/encoder_sweep` varies to measure them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct H264Tools {
    /// Search effort.
    pub complexity: H264Complexity,
    /// The quantizer range, lowest (finest) and highest.
    pub qp: (u8, u8),
    /// Adaptive quantization (camera tuning only; OpenH264 ignores it for screen content).
    pub adaptive_quantization: bool,
    /// Background detection (camera tuning only).
    pub background_detection: bool,
    /// Scene change detection (OpenH264 insists on it for screen content).
    pub scene_change_detection: bool,
    /// CABAC entropy coding (Main profile) instead of CAVLC (Constrained Baseline).
    pub cabac: bool,
    /// The in-loop deblocking filter.
    pub deblocking: bool,
}

impl H264Tools {
    /// The recorder's tools for `content`; the measurements are in `H264Encoder::params`.
    pub fn recorder(content: ContentType) -> Self {
        let camera = content == ContentType::Camera;
        H264Tools {
            complexity: H264Complexity::Low,
            qp: QP_RANGE,
            adaptive_quantization: camera,
            background_detection: false,
            scene_change_detection: !camera,
            cabac: true,
            deblocking: false,
        }
    }
}
