//! `classrec_windows_list`: the windows a configuration can name as its source.

use std::ffi::c_char;

use super::boundary::{report_to_buffer, write_out};
use super::result::{classrec_result, ApiError};
use super::strings::owned_string;

/// Lists the windows that can be recorded as a JSON array of {"id", "title", "width", "height"}
/// (id goes into a configuration's {"source": {"kind": "window", "id": …}}). *json_out
/// receives a string to release with classrec_string_free. On failure (no X server, a platform
/// without window capture) the reason is copied into error_buf (error_len bytes; NULL/0 to
/// skip). Any thread.
///
/// Safety: json_out is NULL or valid for one write; error_buf is NULL or valid for error_len bytes.
#[no_mangle]
pub unsafe extern "C" fn classrec_windows_list(
    json_out: *mut *mut c_char,
    error_buf: *mut c_char,
    error_len: usize,
) -> classrec_result {
    // SAFETY: forwarded caller contract.
    unsafe {
        report_to_buffer(error_buf, error_len, || {
            if json_out.is_null() {
                return Err(ApiError::null("json_out"));
            }
            let windows = crate::list_windows()?;
            let json =
                serde_json::to_string(&windows).map_err(|e| ApiError::new(classrec_result::Internal, e.to_string()))?;
            write_out(json_out, "json_out", owned_string(json))
        })
    }
}
