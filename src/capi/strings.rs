//! Strings across the boundary: reading C strings, handing out owned ones, copying error text
//! into caller buffers, and the per-handle error slot.

use std::ffi::{c_char, CStr, CString};
use std::sync::Mutex;

use super::{classrec_result, guarded, lock, Failure};

/// Reads a NUL-terminated UTF-8 argument. NULL and bad UTF-8 are errors that name the argument.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    let text = unsafe { CStr::from_ptr(ptr) };
    text.to_str().map_err(|e| {
        Failure::new(
            classrec_result::InvalidUtf8,
            format!("`{name}` is not valid UTF-8 ({e}); pass UTF-8 text (on Windows convert from UTF-16)"),
        )
    })
}

/// A C string of `text`. Interior NULs, which C could not see past, become U+FFFD.
pub(crate) fn owned_cstring(text: String) -> CString {
    let text = if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text
    };
    CString::new(text).expect("NULs replaced")
}

/// A string the caller owns, freed with [`classrec_string_free`].
pub(crate) fn owned_string(text: String) -> *mut c_char {
    owned_cstring(text).into_raw()
}

/// Copies `text` into `buf` (`len` bytes) like `snprintf`: truncated to fit, always
/// NUL-terminated when `len > 0`; `*out_len` (if not NULL) receives the full length without the
/// NUL, so a caller can tell the text was cut and retry with a bigger buffer.
///
/// # Safety
/// `buf` is NULL or valid for `len` bytes; `out_len` is NULL or valid for one write.
pub(crate) unsafe fn copy_text(text: &str, buf: *mut c_char, len: usize, out_len: *mut usize) {
    if !buf.is_null() && len > 0 {
        let mut n = text.len().min(len - 1);
        while !text.is_char_boundary(n) {
            n -= 1; // never cut a UTF-8 sequence in half
        }
        // SAFETY: `buf` is valid for `len > n` bytes by the caller's contract.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n);
            *buf.add(n) = 0;
        }
    }
    if !out_len.is_null() {
        // SAFETY: valid for one write by the caller's contract.
        unsafe { *out_len = text.len() };
    }
}

/// Writes `value` through an out-pointer, or fails naming it when it is NULL.
///
/// # Safety
/// `out` is NULL or valid for one write.
pub(crate) unsafe fn write_out<T>(out: *mut T, name: &str, value: T) -> Result<(), Failure> {
    if out.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: non-NULL and valid for one write by the caller's contract.
    unsafe { out.write(value) };
    Ok(())
}

/// The last error of one handle, readable from any thread.
#[derive(Debug, Default)]
pub(crate) struct ErrorSlot(Mutex<String>);

impl ErrorSlot {
    /// Records the failure (if any) and turns the outcome into a result code.
    pub(crate) fn report(&self, outcome: Result<(), Failure>) -> classrec_result {
        match outcome {
            Ok(()) => classrec_result::Ok,
            Err(failure) => {
                self.set(failure.message);
                failure.code
            }
        }
    }

    /// Replaces the text.
    pub(crate) fn set(&self, text: String) {
        *lock(&self.0) = text;
    }

    /// The last text ("" if nothing failed yet).
    pub(crate) fn text(&self) -> String {
        lock(&self.0).clone()
    }
}

/// Runs a handle-less call (a constructor) behind the panic boundary and copies a failure's
/// text into the caller's `error_buf`.
///
/// # Safety
/// `error_buf` is NULL or valid for `error_len` bytes.
pub(crate) unsafe fn report_to_buffer(
    error_buf: *mut c_char,
    error_len: usize,
    body: impl FnOnce() -> Result<(), Failure>,
) -> classrec_result {
    match guarded(body) {
        Ok(()) => classrec_result::Ok,
        Err(failure) => {
            // SAFETY: forwarded caller contract.
            unsafe { copy_text(&failure.message, error_buf, error_len, std::ptr::null_mut()) };
            failure.code
        }
    }
}

/// Frees a string returned by classrec (`classrec_uploader_list`, `classrec_uploader_presign`,
/// ...). NULL is a no-op. Any thread.
///
/// # Safety
/// `text` is NULL or a string classrec returned and that was not freed yet.
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
    fn copy_text_truncates_on_a_char_boundary_and_reports_the_full_length() {
        let mut buf = [1 as c_char; 6];
        let mut full = 0usize;
        // "ab课" is 5 bytes; 5 fit before the NUL only with a 6-byte buffer.
        unsafe { copy_text("ab课堂", buf.as_mut_ptr(), buf.len(), &mut full) };
        assert_eq!(full, 8);
        let got = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap();
        assert_eq!(got, "ab课");
        unsafe { copy_text("x", buf.as_mut_ptr(), 0, &mut full) };
        assert_eq!(full, 1);
    }

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
