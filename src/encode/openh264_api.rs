//! One OpenH264 encoder, driven through its C API (`openh264-sys2`, built from source).
//!
//! The `openh264` crate's `Encoder` fixes parameters that matter for recording: it always codes
//! with CAVLC and always runs the deblocking filter. On screen content CABAC and no deblocking
//! each save bits at a higher SSIM (README, Performance), so the recorder sets every parameter
//! itself, as FFmpeg's libopenh264 wrapper does. This module is the only place that calls the
//! encoder's C API (`trace.rs` holds the callback OpenH264 calls); it owns the encoder instance
//! and frees it.
#![allow(unsafe_code)] // the C API of OpenH264

use std::ffi::{c_int, c_void};

use openh264_sys2::source::APILoader;
use openh264_sys2::{
    cmInitExpected, cmInitParaError, cmMallocMemeError, cmResultSuccess, cmUnsupportedData, videoFormatI420,
    videoFrameTypeInvalid, videoFrameTypeSkip, ISVCEncoder, ISVCEncoderVtbl, SEncParamExt, SFrameBSInfo,
    SSourcePicture, ENCODER_OPTION, ENCODER_OPTION_TRACE_CALLBACK, ENCODER_OPTION_TRACE_LEVEL,
};

use crate::capture::I420;
use crate::error::{Error, Result};

/// An OpenH264 encoder instance: created empty, initialized once with its parameters.
pub(super) struct OpenH264 {
    instance: *mut ISVCEncoder,
    vtable: ISVCEncoderVtbl,
    initialized: bool,
    /// Where OpenH264 describes each encoded picture (boxed: 128 layer slots, ~5 KiB).
    output: Box<SFrameBSInfo>,
}

// SAFETY: an encoder instance has no thread affinity (no thread-local state, no callbacks into
// the creating thread); `&mut self` on every call keeps it to one thread at a time.
unsafe impl Send for OpenH264 {}

/// What OpenH264 answered (`CM_RETURN`), as an error that names the call and the reason.
#[allow(non_upper_case_globals)] // OpenH264's names
fn check(call: &str, code: c_int) -> Result<()> {
    let reason = match code {
        cmResultSuccess => return Ok(()),
        cmInitParaError => "invalid parameters",
        cmMallocMemeError => "out of memory",
        cmInitExpected => "not initialized",
        cmUnsupportedData => "unsupported data",
        _ => "unknown reason",
    };
    Err(Error::encoder(format!(
        "OpenH264's {call} failed: {reason} (code {code})"
    )))
}

/// The callback OpenH264 calls with each of its messages (`WelsTraceCallback`).
pub(super) type TraceCallback = unsafe extern "C" fn(context: *mut c_void, level: c_int, text: *const std::ffi::c_char);

impl OpenH264 {
    /// A new, uninitialized encoder.
    pub(super) fn new() -> Result<Self> {
        let mut instance: *mut ISVCEncoder = std::ptr::null_mut();
        // SAFETY: WelsCreateSVCEncoder writes a new instance (or nothing) to the pointer we pass.
        check("WelsCreateSVCEncoder", unsafe {
            APILoader::WelsCreateSVCEncoder(&raw mut instance)
        })?;
        if instance.is_null() {
            return Err(Error::encoder("OpenH264's WelsCreateSVCEncoder returned no encoder"));
        }
        // SAFETY: a created instance points at its vtable pointer, valid until destroyed.
        let vtable = unsafe { **instance };
        let encoder = OpenH264 {
            instance,
            vtable,
            initialized: false,
            output: Box::default(),
        };
        let complete = [
            vtable.InitializeExt.is_some(),
            vtable.GetDefaultParams.is_some(),
            vtable.Uninitialize.is_some(),
            vtable.EncodeFrame.is_some(),
            vtable.ForceIntraFrame.is_some(),
            vtable.SetOption.is_some(),
        ];
        if complete.contains(&false) {
            return Err(Error::encoder("OpenH264's encoder lacks a function of its API"));
        }
        Ok(encoder)
    }

    /// OpenH264's default parameters, to start from.
    pub(super) fn default_params(&self) -> Result<SEncParamExt> {
        let mut params = SEncParamExt::default();
        let get = self.vtable.GetDefaultParams.expect("checked in new");
        // SAFETY: the instance is alive; OpenH264 fills the struct we pass.
        check("GetDefaultParams", unsafe { get(self.instance, &raw mut params) })?;
        Ok(params)
    }

    /// Initializes the encoder with `params` (once).
    pub(super) fn initialize(&mut self, params: &SEncParamExt) -> Result<()> {
        let initialize = self.vtable.InitializeExt.expect("checked in new");
        // SAFETY: the instance is alive; OpenH264 validates and copies the parameters.
        check("InitializeExt", unsafe { initialize(self.instance, params) })?;
        self.initialized = true;
        Ok(())
    }

    /// Sends OpenH264's messages up to `level` (`WELS_LOG_*`) to `callback`. Before
    /// initialization, which is when it warns.
    pub(super) fn set_trace(&mut self, mut callback: TraceCallback, mut level: u32) -> Result<()> {
        // SAFETY: OpenH264 reads a `WelsTraceCallback` for the callback option and a `uint32_t`
        // for the level (CWelsH264SVCEncoder::SetOption) and copies both out.
        unsafe {
            self.set_option(ENCODER_OPTION_TRACE_CALLBACK, &mut callback)?;
            self.set_option(ENCODER_OPTION_TRACE_LEVEL, &mut level)
        }
    }

    /// Sets an option.
    ///
    /// # Safety
    /// `value` must be the type OpenH264 reads for `option` (codec_api.h, `ENCODER_OPTION`).
    unsafe fn set_option<T>(&mut self, option: ENCODER_OPTION, value: &mut T) -> Result<()> {
        let set = self.vtable.SetOption.expect("checked in new");
        // SAFETY: the instance is alive; the caller vouches for the value's type.
        check("SetOption", unsafe {
            set(self.instance, option, (value as *mut T).cast::<c_void>())
        })
    }

    /// Makes the next picture an IDR.
    pub(super) fn force_idr(&mut self) -> Result<()> {
        let force = self.vtable.ForceIntraFrame.expect("checked in new");
        // SAFETY: the instance is alive. The C++ method also takes a layer id, which the C vtable
        // leaves out; OpenH264 reads it only for simulcast, which is off.
        check("ForceIntraFrame", unsafe { force(self.instance, true) })
    }

    /// Encodes one picture, with its timestamp in milliseconds.
    pub(super) fn encode(&mut self, picture: &I420<'_>, timestamp_ms: i64) -> Result<Encoded<'_>> {
        let I420 { planes, strides, size } = *picture;
        if !self.initialized {
            return Err(Error::encoder("OpenH264 was given a picture before its parameters"));
        }
        let (width, height) = (size.0 as usize, size.1 as usize);
        let chroma = (width.div_ceil(2), height.div_ceil(2));
        let planes_fit = [
            (planes.0, strides.0, (width, height)),
            (planes.1, strides.1, chroma),
            (planes.2, strides.2, chroma),
        ]
        .iter()
        .all(|&(plane, stride, (w, h))| plane_fits(plane.len(), stride, w, h));
        let as_c = |n: usize| c_int::try_from(n).ok();
        let (Some(c_width), Some(c_height), Some(stride_y), Some(stride_u), Some(stride_v), true) = (
            as_c(width),
            as_c(height),
            as_c(strides.0),
            as_c(strides.1),
            as_c(strides.2),
            planes_fit,
        ) else {
            return Err(Error::encoder(format!(
                "a {width}x{height} picture does not fit its planes ({}, {} and {} bytes, strides {}, {} and {})",
                planes.0.len(),
                planes.1.len(),
                planes.2.len(),
                strides.0,
                strides.1,
                strides.2
            )));
        };
        let source = SSourcePicture {
            iColorFormat: videoFormatI420 as c_int,
            iStride: [stride_y, stride_u, stride_v, 0],
            // OpenH264 only reads the source planes; its API is not const-correct.
            pData: [
                planes.0.as_ptr().cast_mut(),
                planes.1.as_ptr().cast_mut(),
                planes.2.as_ptr().cast_mut(),
                std::ptr::null_mut(),
            ],
            iPicWidth: c_width,
            iPicHeight: c_height,
            uiTimeStamp: timestamp_ms,
            bPsnrY: false,
            bPsnrU: false,
            bPsnrV: false,
        };
        let encode = self.vtable.EncodeFrame.expect("checked in new");
        // SAFETY: the instance is initialized, and each plane holds `stride * rows` bytes (checked
        // above); OpenH264 reads them during the call and writes its output description.
        check("EncodeFrame", unsafe {
            encode(self.instance, &source, &mut *self.output)
        })?;
        Ok(Encoded { info: &self.output })
    }
}

/// True if a plane of `len` bytes holds `rows` rows of `width` bytes, `stride` apart (no overflow).
fn plane_fits(len: usize, stride: usize, width: usize, rows: usize) -> bool {
    let needed = rows
        .checked_sub(1)
        .and_then(|full_rows| full_rows.checked_mul(stride))
        .and_then(|bytes| bytes.checked_add(width));
    stride >= width && needed.is_some_and(|needed| len >= needed)
}

impl Drop for OpenH264 {
    fn drop(&mut self) {
        // SAFETY: the instance is alive until here; it is uninitialized (if it was initialized)
        // and destroyed exactly once.
        unsafe {
            if self.initialized {
                (self.vtable.Uninitialize.expect("checked in new"))(self.instance);
            }
            APILoader::WelsDestroySVCEncoder(self.instance);
        }
    }
}

/// One encoded picture, valid until the next call on its encoder.
pub(super) struct Encoded<'a> {
    info: &'a SFrameBSInfo,
}

impl Encoded<'_> {
    /// True if OpenH264 produced a picture (it skips none with frame skipping off, but says so).
    pub(super) fn has_picture(&self) -> bool {
        let skipped = [videoFrameTypeSkip, videoFrameTypeInvalid].contains(&self.info.eFrameType);
        !skipped && self.info.iLayerNum > 0
    }

    /// Calls `f` with each NAL unit, without its Annex B start code.
    pub(super) fn for_each_nal(&self, mut f: impl FnMut(&[u8])) {
        let layers = self.info.iLayerNum.clamp(0, self.info.sLayerInfo.len() as c_int) as usize;
        for layer in &self.info.sLayerInfo[..layers] {
            let mut at = 0;
            for i in 0..layer.iNalCount.max(0) as usize {
                // SAFETY: OpenH264 describes iNalCount NAL units laid end to end in pBsBuf, their
                // lengths in pNalLengthInByte; both live until the next call on the encoder,
                // which the borrow of `self` rules out.
                let nal = unsafe {
                    let len = *layer.pNalLengthInByte.add(i) as usize;
                    let nal = std::slice::from_raw_parts(layer.pBsBuf.add(at), len);
                    at += len;
                    nal
                };
                f(strip_start_code(nal));
            }
        }
    }
}

/// A NAL unit without its Annex B start code (`00 00 01` or `00 00 00 01`).
fn strip_start_code(nal: &[u8]) -> &[u8] {
    match nal {
        [0, 0, 0, 1, rest @ ..] | [0, 0, 1, rest @ ..] => rest,
        _ => nal,
    }
}

#[cfg(test)]
mod tests {
    use super::{plane_fits, strip_start_code};

    #[test]
    fn start_codes_are_stripped() {
        assert_eq!(strip_start_code(&[0, 0, 0, 1, 0x65, 1]), &[0x65, 1]);
        assert_eq!(strip_start_code(&[0, 0, 1, 0x41]), &[0x41]);
        assert_eq!(strip_start_code(&[0x67]), &[0x67]);
    }

    #[test]
    fn a_plane_fits_only_if_every_row_lies_inside_it() {
        assert!(plane_fits(64 * 64, 64, 64, 64));
        assert!(
            plane_fits(100 * 63 + 64, 100, 64, 64),
            "the last row needs only its width"
        );
        assert!(!plane_fits(64 * 64 - 1, 64, 64, 64));
        assert!(!plane_fits(64 * 64, 63, 64, 64), "a stride below the width");
        assert!(!plane_fits(64 * 64, 64, 64, 0), "no rows");
        // A stride chosen to wrap `stride * (rows - 1) + width` around to a small number.
        let wrapping = (usize::MAX / 15) + 1;
        assert!(!plane_fits(24, wrapping, 16, 16));
        assert!(!plane_fits(usize::MAX, usize::MAX, 16, 16));
    }
}
