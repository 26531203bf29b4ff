//! Encode: picture (I420, made on the capture side) → OpenH264 → MP4 sample, skipping unchanged
//! pictures.
//!
//! Keyframe policy: the first picture, then the first changed picture at least
//! `keyframe_interval` after the last keyframe (so fragments are ~2 s while things move). While
//! the picture stands still nothing is encoded, except one keyframe of the held picture every
//! `still_keyframe_interval`, which bounds seeking distance and what a crash can lose.

mod aac;
mod h264;
mod openh264_api;
mod sample;
mod settings;
mod trace;

use std::time::Duration;

pub use aac::{default_aac_bitrate, AudioEncoder, AudioPacket, AudioTrackInfo, FdkAacEncoder};
#[cfg(feature = "bench")]
pub use h264::EncodedPicture;
pub use h264::H264Encoder;
pub use sample::{Sample, TrackInfo};
pub use settings::H264Settings;
pub use settings::{ContentType, BITRATE_RANGE_KBPS, MAX_FPS};
pub(crate) use settings::{EncodeRequest, EncodeSettings};
#[cfg(feature = "bench")]
pub use settings::{H264Complexity, H264Tools};

use crate::capture::Picture;
use crate::error::Result;

/// What happened to a frame.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Encoded into a sample. `track` is set with the first sample (it carries the SPS/PPS).
    Sample(Sample, Option<TrackInfo>),
    /// Same picture as before: not encoded; the previous sample shows longer.
    Unchanged,
    /// The encoder produced nothing for this frame.
    Nothing,
}

/// The encode stage's state: the encoder, the picture it holds, and the keyframe policy.
pub(crate) struct EncodeStage {
    encoder: H264Encoder,
    keyframe_interval: Duration,
    still_keyframe_interval: Duration,
    frame_interval: Duration,
    /// The last picture encoded: a picture with the same planes is unchanged, and a still
    /// picture is encoded again from here.
    held: Option<Picture>,
    last_keyframe: Option<Duration>,
    /// The last sample's time.
    last_encoded: Option<Duration>,
    /// With a sound track: the longest a still picture goes without a sample (one fragment), so
    /// that every fragment carries picture and sound together.
    heartbeat: Option<Duration>,
    last_seen: Option<Duration>,
    track_sent: bool,
}

impl EncodeStage {
    pub(crate) fn new(settings: &EncodeSettings) -> Result<Self> {
        Ok(EncodeStage {
            encoder: H264Encoder::new(H264Settings {
                bitrate_bps: settings.bitrate_bps,
                fps: settings.fps,
                content: settings.content,
            })?,
            keyframe_interval: settings.keyframe_interval,
            still_keyframe_interval: settings.still_keyframe_interval,
            frame_interval: Duration::from_nanos(1_000_000_000 / u64::from(settings.fps)),
            held: None,
            last_keyframe: None,
            last_encoded: None,
            heartbeat: None,
            last_seen: None,
            track_sent: false,
        })
    }

    /// Encodes the held picture again (a small delta frame) when a still picture has had no
    /// sample for `interval`: used with a sound track, so fragments keep both tracks together.
    pub(crate) fn with_heartbeat(mut self, interval: Duration) -> Self {
        self.heartbeat = Some(interval);
        self
    }

    /// Takes one captured picture.
    pub(crate) fn push(&mut self, picture: Picture) -> Result<Outcome> {
        let ts = picture.timestamp;
        if self.held.as_ref().is_some_and(|held| held.same_pixels(&picture)) {
            return self.unchanged(ts);
        }
        self.last_seen = Some(ts);
        self.held = Some(picture);
        let keyframe = self
            .last_keyframe
            .is_none_or(|k| ts.saturating_sub(k) >= self.keyframe_interval);
        self.encode(ts, keyframe)
    }

    /// Takes the news that the previous picture still shows at `ts`.
    pub(crate) fn unchanged(&mut self, ts: Duration) -> Result<Outcome> {
        if self.held.is_none() {
            return Ok(Outcome::Nothing); // nothing to hold yet
        }
        self.last_seen = Some(ts);
        if self
            .last_keyframe
            .is_some_and(|k| ts.saturating_sub(k) >= self.still_keyframe_interval)
        {
            // Re-encode the held picture as a keyframe.
            return self.encode(ts, true);
        }
        if let (Some(beat), Some(last)) = (self.heartbeat, self.last_encoded) {
            if ts.saturating_sub(last) >= beat {
                return self.encode(ts, false);
            }
        }
        Ok(Outcome::Unchanged)
    }

    fn encode(&mut self, ts: Duration, keyframe: bool) -> Result<Outcome> {
        let held = self
            .held
            .as_ref()
            .expect("a picture is held before one is encoded")
            .i420();
        let size = held.size;
        let Some(picture) = self.encoder.encode(held, ts, keyframe)? else {
            return Ok(Outcome::Nothing);
        };
        if picture.keyframe {
            self.last_keyframe = Some(ts);
        }
        self.last_encoded = Some(ts);
        let track = match (&picture.sps, &picture.pps) {
            (Some(sps), Some(pps)) if !self.track_sent => {
                self.track_sent = true;
                Some(TrackInfo {
                    width: size.0,
                    height: size.1,
                    sps: sps.clone(),
                    pps: pps.clone(),
                })
            }
            _ => None,
        };
        let sample = Sample {
            timestamp: ts,
            data: picture.data,
            keyframe: picture.keyframe,
        };
        Ok(Outcome::Sample(sample, track))
    }

    /// When the recording ends: at `at` for real-time sources, else one frame after the last.
    pub(crate) fn end_time(&self, at: Option<Duration>) -> Duration {
        let after_last = self.last_seen.map_or(Duration::ZERO, |t| t + self.frame_interval);
        match at {
            Some(at) => at.max(self.last_seen.unwrap_or_default() + Duration::from_millis(1)),
            None => after_last,
        }
    }
}
