//! OpenH264's own messages, which it prints to stderr by default (`[OpenH264] ... Warning: ...` on
//! every start), routed through its trace callback into the `log` facade instead (target
//! `classrec::openh264`). The host's stderr is not ours to write to.
#![allow(unsafe_code)] // the callback OpenH264 calls, with a C string

use std::ffi::{c_char, c_int, c_void, CStr};

use openh264_sys2::WELS_LOG_WARNING;

use super::openh264_api::OpenH264;

/// Receives each of OpenH264's messages (its `WelsTraceCallback`) and logs it.
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

/// Sends the encoder's messages, warnings and errors, to `log`. Before initialization: OpenH264
/// warns while it initializes.
pub(super) fn route_to_log(encoder: &mut OpenH264) {
    // A missing log line is no reason not to record.
    let _ = encoder.set_trace(to_log, WELS_LOG_WARNING as u32);
}
