//! OpenH264, configured for recording, with its Annex B output turned into MP4 samples.

use std::time::Duration;

use openh264_sys2::{
    SEncParamExt, CAMERA_VIDEO_REAL_TIME, CONSTANT_ID, HIGH_COMPLEXITY, LOW_COMPLEXITY, MEDIUM_COMPLEXITY,
    PRO_BASELINE, PRO_MAIN, RC_BITRATE_MODE, SCREEN_CONTENT_REAL_TIME, SM_SINGLE_SLICE,
};

use super::openh264_api::OpenH264;
use super::settings::{ContentType, H264Complexity, H264Settings, H264Tools};
use crate::capture::I420;
use crate::error::{Error, Result};

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
    encoder: OpenH264,
    settings: H264Settings,
    tools: H264Tools,
    /// The picture size, set by the first picture.
    size: Option<(u32, u32)>,
}

impl H264Encoder {
    /// An encoder with these settings and the recorder's tools (the picture size comes with the
    /// first picture).
    pub fn new(settings: H264Settings) -> Result<Self> {
        Self::with_tools(settings, H264Tools::recorder(settings.content))
    }

    /// An encoder with these settings and tools.
    pub fn with_tools(settings: H264Settings, tools: H264Tools) -> Result<Self> {
        let mut encoder = OpenH264::new()?;
        super::trace::route_to_log(&mut encoder);
        Ok(H264Encoder {
            encoder,
            settings,
            tools,
            size: None,
        })
    }

    /// The parameters for `size`, starting from OpenH264's defaults.
    fn params(&self, (width, height): (u32, u32)) -> Result<SEncParamExt> {
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
        // * All of the above with CAVLC and the deblocking filter on (what the `openh264` crate
        //   fixes). From there, at SSIM 0.9900 (equal_ssim.sh with encoder_sweep): 286 kbit/s;
        //   CABAC 198 (-31%); no deblocking 213 (-26%); both 149 (-48%), and FFmpeg +
        //   libopenh264 with the same two options 193. Screen text has no block edges for the
        //   filter to hide, only sharp ones for it to blur. On the 2-minute lecture (compare.sh
        //   lecture, classrec alone, one run each) the filter off took 2.86 CPU s per minute
        //   instead of 3.38, at RGB SSIM 0.9864 against 0.9841 (that SSIM moves by ~0.002 with
        //   the phase of capture against the script, so on quality the two are even).
        // OpenH264 turns adaptive quantization off for screen content anyway, so say so and spare
        // the log its warnings.
        let (camera, tools) = (self.settings.content == ContentType::Camera, self.tools);
        let bitrate = self.settings.bitrate_bps as i32;
        let fps = self.settings.fps as f32;
        let mut p = self.encoder.default_params()?;
        p.iUsageType = if camera {
            CAMERA_VIDEO_REAL_TIME
        } else {
            SCREEN_CONTENT_REAL_TIME
        };
        p.iPicWidth = width as i32;
        p.iPicHeight = height as i32;
        p.iRCMode = RC_BITRATE_MODE;
        p.iTargetBitrate = bitrate;
        p.fMaxFrameRate = fps;
        // Never drop frames to meet the rate: unchanged frames are skipped before encoding.
        p.bEnableFrameSkip = false;
        // Keyframes are forced by the recorder's policy, never periodic here.
        p.uiIntraPeriod = 0;
        p.bEnableAdaptiveQuant = tools.adaptive_quantization && camera;
        p.bEnableBackgroundDetection = tools.background_detection && camera;
        p.bEnableSceneChangeDetect = tools.scene_change_detection || !camera;
        p.bEnableDenoise = false;
        p.bEnableLongTermReference = false;
        (p.iMinQp, p.iMaxQp) = (tools.qp.0.into(), tools.qp.1.into());
        p.iComplexityMode = match tools.complexity {
            H264Complexity::Low => LOW_COMPLEXITY,
            H264Complexity::Medium => MEDIUM_COMPLEXITY,
            H264Complexity::High => HIGH_COMPLEXITY,
        };
        // One slice per frame, so more threads would not help.
        p.iMultipleThreadIdc = 1;
        p.eSpsPpsIdStrategy = CONSTANT_ID;
        p.iEntropyCodingModeFlag = tools.cabac.into();
        // 0: on; 1: off.
        p.iLoopFilterDisableIdc = (!tools.deblocking).into();
        p.iSpatialLayerNum = 1;
        p.iTemporalLayerNum = 1;
        let layer = &mut p.sSpatialLayers[0];
        layer.iVideoWidth = width as i32;
        layer.iVideoHeight = height as i32;
        layer.fFrameRate = fps;
        layer.iSpatialBitrate = bitrate;
        layer.iMaxSpatialBitrate = bitrate;
        // CABAC needs Main; OpenH264 uses none of High's tools.
        layer.uiProfileIdc = if tools.cabac { PRO_MAIN } else { PRO_BASELINE };
        layer.sSliceArgument.uiSliceMode = SM_SINGLE_SLICE;
        layer.sSliceArgument.uiSliceNum = 1;
        // BT.709, limited range: how the pictures are made (capture::convert).
        layer.bVideoSignalTypePresent = true;
        layer.bColorDescriptionPresent = true;
        layer.bFullRange = false;
        layer.uiColorPrimaries = 1;
        layer.uiTransferCharacteristics = 1;
        layer.uiColorMatrix = 1;
        Ok(p)
    }

    /// Encodes one I420 picture at `timestamp`; `keyframe` forces an IDR.
    /// Returns `None` if the encoder produced nothing for this picture.
    pub fn encode(&mut self, picture: I420<'_>, timestamp: Duration, keyframe: bool) -> Result<Option<EncodedPicture>> {
        match self.size {
            None => {
                let params = self.params(picture.size)?;
                self.encoder.initialize(&params)?;
                self.size = Some(picture.size);
            }
            Some(size) if size != picture.size => {
                return Err(Error::encoder(format!(
                    "a {}x{} picture in a {}x{} stream: one recording has one size",
                    picture.size.0, picture.size.1, size.0, size.1
                )));
            }
            Some(_) if keyframe => self.encoder.force_idr()?,
            Some(_) => {}
        }
        let encoded = self.encoder.encode(&picture, timestamp.as_millis() as i64)?;
        if !encoded.has_picture() {
            return Ok(None);
        }
        // Sized exactly: samples wait in memory for their fragment, so growth slack would add up.
        let mut size = 0;
        encoded.for_each_nal(|nal| size += 4 + nal.len());
        let mut picture = EncodedPicture {
            data: Vec::with_capacity(size),
            keyframe: false,
            sps: None,
            pps: None,
        };
        encoded.for_each_nal(|nal| match nal.first().map(|b| b & 0x1F) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The first picture of a 64x64 mid-grey screen recording with these tools.
    fn first_picture(tools: H264Tools, planes: (&[u8], &[u8], &[u8])) -> Result<Option<EncodedPicture>> {
        let settings = H264Settings {
            bitrate_bps: 500_000,
            fps: 15,
            content: ContentType::Screen,
        };
        let picture = I420 {
            planes,
            strides: (64, 32, 32),
            size: (64, 64),
        };
        H264Encoder::with_tools(settings, tools)?.encode(picture, Duration::ZERO, true)
    }

    fn grey() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        (vec![128u8; 64 * 64], vec![128u8; 32 * 32], vec![128u8; 32 * 32])
    }

    #[test]
    fn first_picture_is_an_idr_with_parameter_sets_and_avcc_framing() {
        let (y, u, v) = grey();
        let pic = first_picture(H264Tools::recorder(ContentType::Screen), (&y, &u, &v))
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

    /// Reads H.264 syntax elements (bits, Exp-Golomb) from a NAL unit's payload.
    struct Bits {
        rbsp: Vec<u8>,
        at: usize,
    }

    impl Bits {
        /// The NAL unit after its header, without emulation prevention bytes (00 00 03).
        fn new(nal: &[u8]) -> Self {
            let (mut rbsp, mut zeros) = (Vec::new(), 0);
            for &byte in &nal[1..] {
                if byte == 3 && zeros >= 2 {
                    zeros = 0;
                    continue;
                }
                zeros = if byte == 0 { zeros + 1 } else { 0 };
                rbsp.push(byte);
            }
            Bits { rbsp, at: 0 }
        }

        fn u(&mut self, bits: usize) -> u32 {
            (0..bits).fold(0, |value, _| {
                let bit = self.rbsp[self.at / 8] >> (7 - self.at % 8) & 1;
                self.at += 1;
                value << 1 | u32::from(bit)
            })
        }

        fn ue(&mut self) -> u32 {
            let mut zeros = 0;
            while self.u(1) == 0 {
                zeros += 1;
            }
            (1 << zeros) - 1 + self.u(zeros)
        }

        fn se(&mut self) -> i32 {
            let k = self.ue() as i32;
            if k % 2 == 1 {
                (k + 1) / 2
            } else {
                -k / 2
            }
        }
    }

    /// What an IDR picture says about its coding: (profile_idc, entropy_coding_mode_flag,
    /// disable_deblocking_filter_idc of its first slice), parsed from the SPS, PPS and slice
    /// header as H.264 7.3.2.1, 7.3.2.2 and 7.3.3 lay them out (Baseline and Main only).
    fn coding_of(pic: &EncodedPicture) -> (u32, bool, u32) {
        let mut sps = Bits::new(pic.sps.as_ref().unwrap());
        let profile = sps.u(8);
        sps.u(16); // constraint flags, level
        sps.ue(); // seq_parameter_set_id
        let log2_max_frame_num = sps.ue() + 4;
        let poc_type = sps.ue();
        assert!(poc_type != 1, "picture order count type 1 is not parsed here");
        let log2_max_poc_lsb = if poc_type == 0 { sps.ue() + 4 } else { 0 };

        let mut pps = Bits::new(pic.pps.as_ref().unwrap());
        pps.ue(); // pic_parameter_set_id
        pps.ue(); // seq_parameter_set_id
        let cabac = pps.u(1) == 1;
        pps.u(1); // bottom_field_pic_order_in_frame_present_flag
        assert_eq!(pps.ue(), 0, "one slice group");
        pps.ue(); // num_ref_idx_l0_default_active_minus1
        pps.ue(); // num_ref_idx_l1_default_active_minus1
        pps.u(3); // weighted_pred_flag, weighted_bipred_idc
        pps.se(); // pic_init_qp_minus26
        pps.se(); // pic_init_qs_minus26
        pps.se(); // chroma_qp_index_offset
        let deblocking_control = pps.u(1) == 1;
        pps.u(1); // constrained_intra_pred_flag
        assert_eq!(pps.u(1), 0, "no redundant_pic_cnt");

        let nal = &pic.data[4..]; // the first NAL unit after its length
        assert_eq!(nal[0] & 0x1F, 5, "an IDR slice");
        let mut slice = Bits::new(nal);
        slice.ue(); // first_mb_in_slice
        assert!(matches!(slice.ue(), 2 | 7), "an I slice");
        slice.ue(); // pic_parameter_set_id
        slice.u(log2_max_frame_num as usize); // frame_num
        slice.ue(); // idr_pic_id
        slice.u(log2_max_poc_lsb as usize); // pic_order_cnt_lsb (none with type 2)
        slice.u(2); // dec_ref_pic_marking: no_output_of_prior_pics, long_term_reference
        slice.se(); // slice_qp_delta
        let disable_deblocking = if deblocking_control { slice.ue() } else { 0 };
        (profile, cabac, disable_deblocking)
    }

    #[test]
    fn the_recorder_codes_main_profile_cabac_without_deblocking_and_the_tools_switch_back() {
        let (y, u, v) = grey();
        let recorder = H264Tools::recorder(ContentType::Screen);
        let coding = |tools| coding_of(&first_picture(tools, (&y, &u, &v)).unwrap().unwrap());
        assert_eq!(coding(recorder), (77, true, 1), "Main, CABAC, the filter off");
        let cavlc = H264Tools {
            cabac: false,
            ..recorder
        };
        assert_eq!(coding(cavlc), (66, false, 1), "Baseline, CAVLC");
        let deblocking = H264Tools {
            deblocking: true,
            ..recorder
        };
        assert_eq!(coding(deblocking), (77, true, 0), "the filter on");
    }

    #[test]
    fn planes_smaller_than_the_picture_are_an_error_not_a_read_past_them() {
        let (y, u, v) = grey();
        let short = &y[..64 * 63];
        let err = first_picture(H264Tools::recorder(ContentType::Screen), (short, &u, &v)).unwrap_err();
        assert!(
            err.to_string().contains("64x64 picture does not fit its planes"),
            "{err}"
        );
    }

    #[test]
    fn a_picture_of_another_size_is_an_error() {
        let settings = H264Settings {
            bitrate_bps: 500_000,
            fps: 15,
            content: ContentType::Camera,
        };
        let mut encoder = H264Encoder::new(settings).unwrap();
        let (y, u, v) = grey();
        let picture = |size: (u32, u32)| I420 {
            planes: (&y, &u, &v),
            strides: (size.0 as usize, size.0 as usize / 2, size.0 as usize / 2),
            size,
        };
        assert!(encoder
            .encode(picture((64, 64)), Duration::ZERO, true)
            .unwrap()
            .is_some());
        let err = encoder
            .encode(picture((32, 32)), Duration::from_millis(66), false)
            .unwrap_err();
        assert!(err.to_string().contains("a 32x32 picture in a 64x64 stream"), "{err}");
    }
}
