//! One OpenH264 encoder, driven through its C API (`openh264-sys2`, built from source).
//!
//! The `openh264` crate's `Encoder` fixes parameters that matter for recording: it always codes
//! with CAVLC and always runs the deblocking filter. On screen content CABAC and no deblocking
//! each save bits at a higher SSIM (README, Performance), so the recorder sets every parameter
//! itself, as FFmpeg's libopenh264 wrapper does. This module is the only place that touches the
//! C API; it owns the encoder instance and frees it.
#![allow(unsafe_code)] // the C API of OpenH264

use std::ffi::{c_int, c_void};

use openh264_sys2::source::APILoader;
use openh264_sys2::{
    videoFormatI420, ISVCEncoder, ISVCEncoderVtbl, SEncParamExt, SFrameBSInfo, SSourcePicture, ENCODER_OPTION,
};

use crate::capture::I420;
use crate::error::{Error, Result};

/// An OpenH264 encoder instance: created empty, initialized once with its parameters.
pub(super) struct OpenH264 {
    instance: *mut ISVCEncoder,
    vtable: ISVCEncoderVtbl,
    initialized: bool,
    /// Where OpenH264 describes each encoded picture (boxed: 128 layer slots, ~8 KiB).
    output: Box<SFrameBSInfo>,
}

// SAFETY: an encoder instance has no thread affinity (no thread-local state, no callbacks into
// the creating thread); `&mut self` on every call keeps it to one thread at a time.
unsafe impl Send for OpenH264 {}

/// What OpenH264 answered (`CM_RETURN`), as an error that names the call and the reason.
fn check(call: &str, code: c_int) -> Result<()> {
    let reason = match code {
        0 => return Ok(()),
        1 => "invalid parameters",
        3 => "out of memory",
        4 => "not initialized",
        5 => "unsupported data",
        _ => "unknown reason",
    };
    Err(Error::encoder(format!(
        "OpenH264's {call} failed: {reason} (code {code})"
    )))
}

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
    pub(super) fn default_params(&mut self) -> Result<SEncParamExt> {
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

    /// True once [`initialize`](Self::initialize) succeeded.
    pub(super) fn is_initialized(&self) -> bool {
        self.initialized
    }

    /// Sets an option.
    ///
    /// # Safety
    /// `value` must be the type OpenH264 reads for `option` (codec_api.h, `ENCODER_OPTION`).
    pub(super) unsafe fn set_option<T>(&mut self, option: ENCODER_OPTION, value: &mut T) -> Result<()> {
        let set = self.vtable.SetOption.expect("checked in new");
        // SAFETY: the instance is alive; the caller vouches for the value's type.
        check("SetOption", unsafe {
            set(self.instance, option, (value as *mut T).cast::<c_void>())
        })
    }

    /// Makes the next picture an IDR.
    pub(super) fn force_idr(&mut self) -> Result<()> {
        let force = self.vtable.ForceIntraFrame.expect("checked in new");
        // SAFETY: the instance is alive.
        check("ForceIntraFrame", unsafe { force(self.instance, true) })
    }

    /// Encodes one picture, with its timestamp in milliseconds.
    pub(super) fn encode(&mut self, picture: &I420<'_>, timestamp_ms: i64) -> Result<Encoded<'_>> {
        let I420 { planes, strides, size } = *picture;
        let (width, height) = (size.0 as usize, size.1 as usize);
        let chroma = (width.div_ceil(2), height.div_ceil(2));
        if !self.initialized {
            return Err(Error::encoder("OpenH264 was given a picture before its parameters"));
        }
        let fits = |plane: &[u8], stride: usize, (w, h): (usize, usize)| {
            stride >= w && h > 0 && plane.len() >= stride * (h - 1) + w
        };
        if !fits(planes.0, strides.0, (width, height))
            || !fits(planes.1, strides.1, chroma)
            || !fits(planes.2, strides.2, chroma)
        {
            return Err(Error::encoder(format!(
                "a {width}x{height} picture does not fit its planes ({}, {} and {} bytes, strides {}, {} and {})",
                planes.0.len(),
                planes.1.len(),
                planes.2.len(),
                strides.0,
                strides.1,
                strides.2
            )));
        }
        let source = SSourcePicture {
            iColorFormat: videoFormatI420 as c_int,
            iStride: [strides.0 as c_int, strides.1 as c_int, strides.2 as c_int, 0],
            // OpenH264 only reads the source planes; its API is not const-correct.
            pData: [
                planes.0.as_ptr().cast_mut(),
                planes.1.as_ptr().cast_mut(),
                planes.2.as_ptr().cast_mut(),
                std::ptr::null_mut(),
            ],
            iPicWidth: width as c_int,
            iPicHeight: height as c_int,
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
        self.info.iFrameSizeInBytes > 0
    }

    /// Calls `f` with each NAL unit, with its Annex B start code.
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
                f(nal);
            }
        }
    }
}
