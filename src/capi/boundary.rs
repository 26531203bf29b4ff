//! How a call crosses the boundary: the panic guard ([`guarded`]), calls on a handle that keeps
//! its last error ([`Handle`], [`on_handle`], [`ErrorSlot`]), calls without one that report into
//! a caller buffer ([`report_to_buffer`]), out-params, and freeing handles.

use std::ffi::c_char;
use std::sync::{Mutex, MutexGuard};

use super::result::{classrec_result, ApiError};

/// Runs body behind the panic boundary; a panic becomes [classrec_result::Internal].
pub(super) fn guarded(body: impl FnOnce() -> Result<(), ApiError>) -> Result<(), ApiError> {
    crate::error::catch_quietly(body).unwrap_or_else(|panic| {
        let what = crate::error::panic_text(&*panic);
        Err(ApiError::new(
            classrec_result::Internal,
            format!("internal error (please report): panic: {what}"),
        ))
    })
}

/// Locks a mutex, also after a panic elsewhere poisoned it (the data stays consistent: every
/// critical section here is a single call).
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The last error of one handle, readable from any thread.
#[derive(Debug, Default)]
pub(super) struct ErrorSlot(Mutex<String>);

impl ErrorSlot {
    /// Records the failure (if any) and turns the outcome into a result code.
    pub(super) fn report(&self, outcome: Result<(), ApiError>) -> classrec_result {
        match outcome {
            Ok(()) => classrec_result::Ok,
            Err(error) => {
                self.set(error.message);
                error.code
            }
        }
    }

    /// Replaces the text.
    pub(super) fn set(&self, text: String) {
        *lock(&self.0) = text;
    }

    /// The last text ("" if nothing failed yet).
    pub(super) fn text(&self) -> String {
        lock(&self.0).clone()
    }
}

/// A handle that keeps its last error.
pub(super) trait Handle {
    /// Where the handle's last error text is kept.
    fn errors(&self) -> &ErrorSlot;
}

/// Runs body on a handle behind the panic boundary, recording a failure's text on the handle.
///
/// Safety: handle is NULL or points to a live handle.
pub(super) unsafe fn on_handle<H: Handle>(
    handle: *const H,
    body: impl FnOnce(&H) -> Result<(), ApiError>,
) -> classrec_result {
    // SAFETY: NULL or live by the caller's contract.
    match unsafe { handle.as_ref() } {
        Some(handle) => handle.errors().report(guarded(|| body(handle))),
        None => classrec_result::NullArgument,
    }
}

/// Copies a handle's last error text into a caller buffer (see classrec_recorder_last_error).
///
/// Safety: handle is NULL or live; buf is NULL or valid for len bytes; needed_out is NULL or
/// valid for one write.
pub(super) unsafe fn last_error<H: Handle>(
    handle: *const H,
    buf: *mut c_char,
    len: usize,
    needed_out: *mut usize,
) -> classrec_result {
    // SAFETY: forwarded caller contract.
    match unsafe { handle.as_ref() } {
        Some(handle) => {
            // SAFETY: forwarded caller contract.
            unsafe { copy_text(&handle.errors().text(), buf, len, needed_out) };
            classrec_result::Ok
        }
        None => classrec_result::NullArgument,
    }
}

/// Drops a handle made by Box::into_raw, behind the panic boundary. NULL is a no-op.
///
/// Safety: handle is NULL or came from Box::into_raw and is not used afterwards.
pub(super) unsafe fn free_handle<H>(handle: *mut H) {
    if handle.is_null() {
        return;
    }
    let _ = guarded(|| {
        // SAFETY: from Box::into_raw, freed once by the caller's contract.
        drop(unsafe { Box::from_raw(handle) });
        Ok(())
    });
}

/// Runs a handle-less call (a constructor) behind the panic boundary and copies a failure's
/// text into the caller's error_buf.
///
/// Safety: error_buf is NULL or valid for error_len bytes.
pub(super) unsafe fn report_to_buffer(
    error_buf: *mut c_char,
    error_len: usize,
    body: impl FnOnce() -> Result<(), ApiError>,
) -> classrec_result {
    match guarded(body) {
        Ok(()) => classrec_result::Ok,
        Err(error) => {
            // SAFETY: forwarded caller contract.
            unsafe { copy_text(&error.message, error_buf, error_len, std::ptr::null_mut()) };
            error.code
        }
    }
}

/// Copies text into buf (len bytes) like snprintf: truncated to fit, always
/// NUL-terminated when len > 0; *out_len (if not NULL) receives the full length without the
/// NUL, so a caller can tell the text was cut and retry with a bigger buffer.
///
/// Safety: buf is NULL or valid for len bytes; out_len is NULL or valid for one write.
pub(super) unsafe fn copy_text(text: &str, buf: *mut c_char, len: usize, out_len: *mut usize) {
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

/// Writes value through an out-pointer, or fails naming it when it is NULL.
///
/// Safety: out is NULL or valid for one write.
pub(super) unsafe fn write_out<T>(out: *mut T, name: &str, value: T) -> Result<(), ApiError> {
    if out.is_null() {
        return Err(ApiError::null(name));
    }
    // SAFETY: non-NULL and valid for one write by the caller's contract.
    unsafe { out.write(value) };
    Ok(())
}

/// A C struct that can grow at its end: its first field is uint32_t struct_size, which the
/// caller sets to the size it was compiled with.
///
/// Safety: Implementors are repr(C) and start with a u32 struct_size; every bit pattern of a prefix
/// is what an older caller expects (fields are only ever appended).
pub(super) unsafe trait Growable: Copy {
    /// The size in the first versioned ABI (0.2): the smallest struct_size accepted.
    const FIRST_SIZE: usize;
}

/// The caller's struct_size of a growable out-struct, once checked: not NULL, and at least the
/// first versioned size (a smaller one is most likely an uninitialized struct).
///
/// Safety: out is NULL or valid for reading a u32.
pub(super) unsafe fn growable_size<T: Growable>(out: *mut T, name: &str) -> Result<usize, ApiError> {
    if out.is_null() {
        return Err(ApiError::null(name));
    }
    // SAFETY: valid for reading its first field by the caller's contract.
    let caller_size = unsafe { out.cast::<u32>().read_unaligned() } as usize;
    if caller_size < T::FIRST_SIZE {
        return Err(ApiError::new(
            classrec_result::InvalidArgument,
            format!(
                "{name}->struct_size is {caller_size}; set it to sizeof the struct ({}) before the call",
                T::FIRST_SIZE
            ),
        ));
    }
    Ok(caller_size)
}

/// Writes value into a growable out-struct: as many bytes as both the caller (its struct_size)
/// and this library know, then struct_size = the bytes written.
///
/// Safety: out is NULL or valid for reading a u32 and writing its own struct_size bytes.
pub(super) unsafe fn write_growable<T: Growable>(out: *mut T, name: &str, value: T) -> Result<(), ApiError> {
    // SAFETY: forwarded caller contract.
    let written = unsafe { growable_size(out, name)? }.min(std::mem::size_of::<T>());
    // SAFETY: written bytes fit both value and the caller's struct; struct_size is a u32 at
    // offset 0 of both.
    unsafe {
        std::ptr::copy_nonoverlapping((&value as *const T).cast::<u8>(), out.cast::<u8>(), written);
        out.cast::<u32>().write_unaligned(written as u32);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    use super::*;

    #[test]
    fn a_panic_becomes_internal_with_its_message() {
        let error = guarded(|| panic!("boom")).unwrap_err();
        assert_eq!(error.code, classrec_result::Internal);
        assert!(error.message.contains("boom"), "{}", error.message);
    }

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
}
