//! # classrec: local recording for a classroom client
//!
//! Captures the teacher's class window, encodes H.264 with OpenH264 and writes a crash-safe MP4
//! (fragmented and fsync'd while recording, an ordinary MP4 after stop) into
//! `<home>/TClass/record`.
//!
//! The pipeline, one module per stage: [`capture`] → `encode` → `mux` → (upload, notify), with
//! the C ABI apart in `capi`.
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
mod mux;
mod notify;
mod output;
mod queue;
mod recorder;
mod stats;
mod upload;

/// Internal stages, exposed for the criterion benches only (feature `bench`); not a stable API.
#[cfg(feature = "bench")]
#[doc(hidden)]
pub mod internals {
    pub use crate::encode::{EncodedPicture, H264Encoder, H264Settings, PictureMaker, I420};
    pub use crate::mux::{HybridWriter, Sample, TrackInfo};
}

pub use capture::{list_windows, Frame, FramePusher, FrameSource, SourceEvent, SyntheticScene, WindowInfo};
pub use config::{default_out_dir, ContentType, RecorderConfig, SourceConfig, BITRATE_RANGE_KBPS, MAX_FPS};
pub use encode::{default_aac_bitrate, AudioEncoder, AudioPacket, AudioTrackInfo, FdkAacEncoder};
pub use error::{Error, Result};
pub use mux::{needs_recovery, recover, FragmentInfo, Recovered};
pub use notify::{body as callback_body, sign as callback_sign, CallbackConfig, ClassInfo, RecordFacts, Role};
pub use output::recover_folder;
pub use recorder::{Event, Recorder, Recording, StopReason};
pub use stats::Stats;
pub use upload::{
    Journal, JournalPart, ObjectInfo, Secret, UploadConfig, UploadProgress, UploadState, UploadTarget, UploadedObject,
    Uploader, MAX_PARTS, MAX_PART_SIZE, MIN_PART_SIZE,
};
