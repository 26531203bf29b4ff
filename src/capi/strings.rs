//! Strings across the boundary: reading C string arguments (and the configuration JSON they
//! carry), making C strings, and `classrec_string_free` for the strings the caller owns.

use std::ffi::{c_char, CStr, CString};

use super::boundary::guarded;
use super::result::{classrec_result, ApiError};

/// Reads a NUL-terminated UTF-8 argument. NULL and bad UTF-8 are errors that name the argument.
///
/// Safety: ptr is NULL or points to a NUL-terminated string that outlives 'a.
pub(super) unsafe fn str_arg<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, ApiError> {
    if ptr.is_null() {
        return Err(ApiError::null(name));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    let text = unsafe { CStr::from_ptr(ptr) };
    text.to_str().map_err(|e| {
        ApiError::new(
            classrec_result::InvalidUtf8,
            format!("`{name}` is not valid UTF-8 ({e}); pass UTF-8 text (on Windows convert from UTF-16)"),
        )
    })
}

/// Parses a recorder's configuration (RecorderConfig::from_json: an object, source given).
pub(super) fn parse_config(json: &str) -> Result<crate::RecorderConfig, ApiError> {
    Ok(crate::RecorderConfig::from_json(json)?)
}

/// Parses the cloud side of a configuration (source not needed).
pub(super) fn parse_upload_config(json: &str) -> Result<crate::RecorderConfig, ApiError> {
    Ok(crate::RecorderConfig::from_json_without_source(json)?)
}

/// A C string of text. Interior NULs, which C could not see past, become U+FFFD.
pub(super) fn owned_cstring(text: String) -> CString {
    let text = if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text
    };
    CString::new(text).expect("NULs replaced")
}

/// A string the caller owns, freed with [classrec_string_free].
pub(super) fn owned_string(text: String) -> *mut c_char {
    owned_cstring(text).into_raw()
}

/// Frees a string returned by classrec (classrec_uploader_list, classrec_uploader_presign,
/// ...). NULL is a no-op. Any thread.
///
/// Safety: text is NULL or a string classrec returned and that was not freed yet.
#[no_mangle]
pub unsafe extern "C" fn classrec_string_free(text: *mut c_char) {
    if text.is_null() {
        return;
    }
    let _ = guarded(|| {
        // SAFETY: created by CString::into_raw in `owned_string`, freed once by contract.
        drop(unsafe { CString::from_raw(text) });
        Ok(())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn str_arg_names_null_and_bad_utf8() {
        let err = unsafe { str_arg(std::ptr::null(), "config_json") }.unwrap_err();
        assert_eq!(err.code, classrec_result::NullArgument);
        assert!(err.message.contains("config_json"));
        let bad = [0xff_u8 as c_char, 0];
        let err = unsafe { str_arg(bad.as_ptr(), "key") }.unwrap_err();
        assert_eq!(err.code, classrec_result::InvalidUtf8);
    }
}
