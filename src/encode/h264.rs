//! OpenH264, configured for recording, with its Annex B output turned into MP4 samples.

use std::time::Duration;

use openh264::encoder::{
    BitRate, Complexity, EncodedBitStream, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, QpRange,
    RateControlMode, UsageType, VuiConfig,
};
use openh264::formats::YUVSlices;
use openh264::{OpenH264API, Timestamp};

use super::settings::ContentType;
use crate::capture::I420;
use crate::error::{Error, Result};

/// The quantizer range (lower is finer); see [`H264Encoder::new`] for the measurements.
const QP_RANGE: (u8, u8) = (18, 40);

/// Encoder settings; every value the crate defaults wrongly for recording is set explicitly.
#[derive(Clone, Copy, Debug)]
pub struct H264Settings {
    /// Target bitrate, bits per second.
    pub bitrate_bps: u32,
    /// Nominal frame rate.
    pub fps: u32,
    /// Screen or camera tuning.
    pub content: ContentType,
}

/// One encoded picture as an MP4 sample (4-byte length-prefixed NAL units), with the SPS/PPS
/// the encoder emitted alongside it (on keyframes).
#[derive(Clone, Debug)]
pub struct EncodedPicture {
    /// Length-prefixed NAL units.
    pub data: Vec<u8>,
    /// True for an IDR picture.
    pub keyframe: bool,
    /// The sequence parameter set, when emitted with this picture.
    pub sps: Option<Vec<u8>>,
    /// The picture parameter set, when emitted with this picture.
    pub pps: Option<Vec<u8>>,
}

/// An OpenH264 encoder for one fixed output size.
pub struct H264Encoder {
    encoder: Encoder,
    /// Pictures encoded so far, up to 2 (OpenH264 initializes with the first one).
    pictures: u8,
}

impl H264Encoder {
    /// An encoder with these settings (the picture size comes with the first picture).
    pub fn new(settings: H264Settings) -> Result<Self> {
        // Measured at 1080p15 with benches/sweep.sh and benches/compare.sh (README, Performance):
        // * With the QP range at 18..40, camera and screen tuning spend about the same bits for the
        //   same RGB SSIM on the classroom (screen 6% fewer at equal SSIM, below); camera tuning is
        //   ~1.15x faster and needs 21 MiB less (screen content keeps block-feature tables per
        //   picture, valgrind massif). Camera is the default.
        // * Low complexity is as good as medium and up to 1.3x faster on full motion.
        // * QP range: left at 0, OpenH264 clamps screen content to QP 26..35, which caps quality
        //   (SSIM 0.9896 at 285 kbit/s); 18..40 reaches FFmpeg + libopenh264's SSIM at 0.55x
        //   its bitrate and still lets full motion hold the target rate.
        // At equal RGB SSIM (benches/equal_ssim.sh: the bitrate that reaches 0.9900 on the 20 s
        // classroom; FFmpeg + libopenh264 needs 390 kbit/s):
        // * Background detection off: 288 kbit/s instead of 297 (-3%) and 5% less CPU (record,
        //   best of 4); full motion at 1500 kbit/s unchanged (SSIM 0.6317). Adaptive quantization
        //   changes neither bits nor time.
        // * From there (encoder_sweep, 286): no gain from medium complexity (288), QP 12..40 (290)
        //   or 18..44 (284). Screen tuning needs 270 (-6%) but 1.15x the CPU; a keyframe every
        //   20 s instead of 10 s (the recorder's policy) 258 (-10%).
        // * Scene change detection off (camera tuning; OpenH264 insists on it for screen content):
        //   the same streams bit for bit on the classroom and full motion, and 3-7% less encode
        //   time (benches/sweep.sh, alternating). It only decides where to put extra IDRs, and
        //   keyframes are the recorder's policy.
        // OpenH264 turns adaptive quantization off for screen content anyway, so say so and spare
        // the log its warnings.
        let (usage, camera_tools) = match settings.content {
            ContentType::Screen => (UsageType::ScreenContentRealTime, false),
            ContentType::Camera => (UsageType::CameraVideoRealTime, true),
        };
        let config = EncoderConfig::new()
            .bitrate(BitRate::from_bps(settings.bitrate_bps))
            .max_frame_rate(FrameRate::from_hz(settings.fps as f32))
            .rate_control_mode(RateControlMode::Bitrate)
            // Never drop frames to meet the rate: unchanged frames are skipped before encoding.
            .skip_frames(false)
            // Keyframes are forced by the recorder's policy, never periodic here.
            .intra_frame_period(IntraFramePeriod::from_num_frames(0))
            .usage_type(usage)
            .adaptive_quantization(camera_tools)
            .background_detection(false)
            .scene_change_detect(!camera_tools)
            .qp(QpRange::new(QP_RANGE.0, QP_RANGE.1))
            .complexity(Complexity::Low)
            // One slice per frame (forced by the crate), so more threads would not help.
            .num_threads(1)
            .vui(VuiConfig::bt709());
        let mut encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(|e| Error::encoder_caused("cannot start OpenH264", e))?;
        super::trace::route_to_log(&mut encoder);
        Ok(H264Encoder { encoder, pictures: 0 })
    }

    /// Encodes one I420 picture at `timestamp`; `keyframe` forces an IDR.
    /// Returns `None` if the encoder produced nothing for this picture.
    pub fn encode(&mut self, picture: I420<'_>, timestamp: Duration, keyframe: bool) -> Result<Option<EncodedPicture>> {
        let I420 { planes, strides, size } = picture;
        if keyframe {
            self.encoder.force_intra_frame();
        }
        if self.pictures == 1 {
            super::trace::keep_warnings(&mut self.encoder); // initialized by the first picture
        }
        let yuv = YUVSlices::new(planes, (size.0 as usize, size.1 as usize), strides);
        let bitstream = self
            .encoder
            .encode_at(&yuv, Timestamp::from_millis(timestamp.as_millis() as u64))
            .map_err(|e| Error::encoder_caused(&format!("encoding a {}x{} picture failed", size.0, size.1), e))?;
        self.pictures = self.pictures.saturating_add(1).min(2);
        if matches!(bitstream.frame_type(), FrameType::Skip | FrameType::Invalid) {
            return Ok(None);
        }
        // Sized exactly: samples wait in memory for their fragment, so growth slack would add up.
        let mut size = 0;
        for_each_nal(&bitstream, |nal| size += 4 + nal.len());
        let mut picture = EncodedPicture {
            data: Vec::with_capacity(size),
            keyframe: false,
            sps: None,
            pps: None,
        };
        for_each_nal(&bitstream, |nal| match nal.first().map(|b| b & 0x1F) {
            None => {}
            Some(7) => picture.sps = Some(nal.to_vec()),
            Some(8) => picture.pps = Some(nal.to_vec()),
            Some(kind) => {
                picture.keyframe |= kind == 5;
                picture.data.extend_from_slice(&(nal.len() as u32).to_be_bytes());
                picture.data.extend_from_slice(nal);
            }
        });
        Ok((!picture.data.is_empty()).then_some(picture))
    }
}

/// Calls `f` with each NAL unit of `bitstream`, without its start code.
fn for_each_nal(bitstream: &EncodedBitStream<'_>, mut f: impl FnMut(&[u8])) {
    for layer in (0..bitstream.num_layers()).filter_map(|i| bitstream.layer(i)) {
        for nal in (0..layer.nal_count()).filter_map(|i| layer.nal_unit(i)) {
            f(strip_start_code(nal));
        }
    }
}

/// A NAL unit without its Annex B start code (`00 00 01` or `00 00 00 01`).
pub(crate) fn strip_start_code(nal: &[u8]) -> &[u8] {
    match nal {
        [0, 0, 0, 1, rest @ ..] | [0, 0, 1, rest @ ..] => rest,
        _ => nal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_codes_are_stripped() {
        assert_eq!(strip_start_code(&[0, 0, 0, 1, 0x65, 1]), &[0x65, 1]);
        assert_eq!(strip_start_code(&[0, 0, 1, 0x41]), &[0x41]);
        assert_eq!(strip_start_code(&[0x67]), &[0x67]);
    }

    #[test]
    fn first_picture_is_an_idr_with_parameter_sets_and_avcc_framing() {
        let mut enc = H264Encoder::new(H264Settings {
            bitrate_bps: 500_000,
            fps: 15,
            content: ContentType::Screen,
        })
        .unwrap();
        let (y, u, v) = (vec![128u8; 64 * 64], vec![128u8; 32 * 32], vec![128u8; 32 * 32]);
        let pic = enc
            .encode(
                I420 {
                    planes: (&y, &u, &v),
                    strides: (64, 32, 32),
                    size: (64, 64),
                },
                Duration::ZERO,
                true,
            )
            .unwrap()
            .unwrap();
        assert!(pic.keyframe);
        assert_eq!(pic.sps.as_ref().unwrap()[0] & 0x1F, 7);
        assert_eq!(pic.pps.as_ref().unwrap()[0] & 0x1F, 8);
        // Walk the length prefixes: they must cover the sample exactly.
        let mut at = 0;
        while at < pic.data.len() {
            at += 4 + u32::from_be_bytes(pic.data[at..at + 4].try_into().unwrap()) as usize;
        }
        assert_eq!(at, pic.data.len());
    }
}
