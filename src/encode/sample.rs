//! What the encode stage hands the muxer: samples and the description of their track.

use std::time::Duration;

/// One encoded picture, ready for the file: length-prefixed NAL units.
#[derive(Clone, Debug)]
pub struct Sample {
    /// When it shows, on the recording's timeline.
    pub timestamp: Duration,
    /// Length-prefixed NAL units.
    pub data: Vec<u8>,
    /// True for an IDR picture.
    pub keyframe: bool,
}

/// What the video track is: size and H.264 parameter sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackInfo {
    /// Picture width.
    pub width: u32,
    /// Picture height.
    pub height: u32,
    /// Sequence parameter set (one NAL unit, no start code).
    pub sps: Vec<u8>,
    /// Picture parameter set (one NAL unit, no start code).
    pub pps: Vec<u8>,
}
