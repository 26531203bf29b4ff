//! OpenH264's own messages, which it prints to stderr by default (`[OpenH264] ... Warning: ...` on
//! every start), routed through its trace callback into the `log` facade instead (target
//! `classrec::openh264`). The host's stderr is not ours to write to.
#![allow(unsafe_code)] // OpenH264's trace options exist only in its raw C API

use std::ffi::{c_char, c_int, c_void, CStr};

use openh264::encoder::Encoder;

/// `ENCODER_OPTION_TRACE_LEVEL`, `_TRACE_CALLBACK` (OpenH264's codec_api.h).
const TRACE_LEVEL: i32 = 25;
const TRACE_CALLBACK: i32 = 26;
/// `WELS_LOG_WARNING`: errors and warnings reach the callback, not the per-frame chatter.
const WELS_LOG_WARNING: u32 = 2;

/// The callback OpenH264 calls with each message (`WelsTraceCallback`).
type TraceCallback = unsafe extern "C" fn(context: *mut c_void, level: c_int, text: *const c_char);

unsafe extern "C" fn to_log(_context: *mut c_void, level: c_int, text: *const c_char) {
    if text.is_null() {
        return;
    }
    // SAFETY: OpenH264 passes a NUL-terminated message that lives during the call.
    let text = unsafe { CStr::from_ptr(text) }.to_string_lossy();
    let text = text.trim_end();
    let level = match level {
        1 => log::Level::Error,
        2 => log::Level::Warn,
        4 => log::Level::Info,
        8 => log::Level::Debug,
        _ => log::Level::Trace,
    };
    // Expected with our settings (frame skipping is off on purpose, the rate holds without it).
    let level = if text.contains("bEnableFrameSkip = 0") {
        log::Level::Debug
    } else {
        level
    };
    // No panic may unwind into OpenH264's C++ frames (a logger could panic).
    let _ = std::panic::catch_unwind(|| log::log!(target: "classrec::openh264", level, "{text}"));
}

/// Sends the encoder's messages to `log`. Before the first picture: OpenH264 warns while it
/// initializes, which happens then.
pub(super) fn route_to_log(encoder: &mut Encoder) {
    let mut callback: TraceCallback = to_log;
    // SAFETY: the trace callback and level are options OpenH264 takes before initialization
    // (CWelsH264SVCEncoder::SetOption); it copies the function pointer out of `callback`.
    unsafe {
        encoder.raw_api().set_option(TRACE_CALLBACK, (&raw mut callback).cast());
    }
    keep_warnings(encoder);
}

/// Sets the level to warnings again: the crate sets it to quiet when it initializes the encoder
/// (with the first picture), which would hide later warnings and errors from the log.
pub(super) fn keep_warnings(encoder: &mut Encoder) {
    let mut level = WELS_LOG_WARNING;
    // SAFETY: as above; OpenH264 reads the level out of `level`.
    unsafe {
        encoder.raw_api().set_option(TRACE_LEVEL, (&raw mut level).cast());
    }
}
