//! # classrec: local recording for a classroom client
//!
//! Captures the teacher's class window, encodes H.264 with OpenH264 and writes a crash-safe MP4
//! (fragmented and fsync'd while recording, an ordinary MP4 after stop) into
//! `<home>/TClass/record`.
//!
//! The pipeline, one module per stage: [`capture`] → `encode` → `mux` → `upload` → `notify`,
//! with the C ABI apart in `capi` (docs/ARCHITECTURE.md is the map).
//!
//! ```no_run
//! use classrec::{Recorder, RecorderConfig, SourceConfig, SyntheticScene};
//!
//! let config = RecorderConfig {
//!     source: SourceConfig::Synthetic { size: None, scene: SyntheticScene::Classroom, fast: false, frames: None },
//!     size: Some((1920, 1080)),
//!     ..RecorderConfig::default()
//! };
//! let mut recorder = Recorder::start(config)?;
//! for event in recorder.events().try_iter() {
//!     println!("{event:?}");
//! }
//! let recording = recorder.stop()?;
//! println!("saved {} ({:?})", recording.path.display(), recording.duration);
//! # Ok::<(), classrec::Error>(())
//! ```
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod capi;
pub mod capture;
mod config;
mod encode;
mod error;
mod event;
mod files;
mod mux;
mod notify;
mod queue;
mod recorder;
mod secret;
mod stats;
mod upload;

/// Internal stages, exposed for the criterion benches only (feature `bench`); not a stable API.
#[cfg(feature = "bench")]
#[doc(hidden)]
pub mod internals {
    pub use crate::capture::I420;
    pub use crate::encode::{EncodedPicture, H264Complexity, H264Encoder, H264Settings, H264Tools, Sample, TrackInfo};
    pub use crate::mux::HybridWriter;
}

/// Entry points for the fuzz targets (`fuzz/`, `scripts/fuzz.sh`); not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    /// Reads and checks a recorder's configuration as `classrec_recorder_start` does
    /// (`RecorderConfig::from_json`, then every value), without starting anything.
    pub fn config(json: &str) -> crate::Result<()> {
        crate::RecorderConfig::from_json(json)?.resolve(None).map(|_| ())
    }
}

pub use capture::audio::{AudioPusher, AudioSourceConfig, Pcm, PcmFormat, SyntheticSound};
pub use capture::{
    list_windows, Frame, FramePusher, FrameSource, Picture, PictureMaker, SourceConfig, SourceEvent, SyntheticScene,
    WindowInfo,
};
pub use config::{default_out_dir, AudioConfig, RecorderConfig};
pub use encode::{
    default_aac_bitrate, AudioEncoder, AudioPacket, AudioTrackInfo, ContentType, FdkAacEncoder, BITRATE_RANGE_KBPS,
    MAX_FPS,
};
pub use error::{Error, Result};
pub use event::{Event, FragmentInfo, Recording, Recovered, StopReason, UploadProgress, UploadedObject};
pub use mux::{needs_recovery, recover, recover_folder};
pub use notify::{body as callback_body, sign as callback_sign, CallbackConfig, ClassInfo, RecordFacts, Role};
pub use recorder::Recorder;
pub use secret::Secret;
pub use stats::Stats;
pub use upload::{
    Journal, JournalPart, ObjectInfo, UploadConfig, UploadState, UploadTarget, Uploader, MAX_PARTS, MAX_PART_SIZE,
    MIN_PART_SIZE,
};
