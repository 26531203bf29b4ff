//! The C ABI (`include/classrec.h`). Every `extern "C"` function lives here; the rest of the crate
//! has no FFI types. The full surface (recorder, events, push, stop) is issue 5's work.
#![allow(unsafe_code)]

use std::ffi::c_char;

/// The library version as a NUL-terminated UTF-8 string with static lifetime, e.g. `"0.1.0"`.
#[no_mangle]
pub extern "C" fn classrec_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
