//! `classrec_result`: the code every fallible function returns, its names for logs
//! (`classrec_result_name`), and [`ApiError`], a failed call's code and text on the Rust side.

use std::ffi::c_char;

use crate::Error;

/// What a classrec_* function reports. Values are explicit and never reused; new ones may be
/// added, so treat unknown values as errors.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum classrec_result {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullArgument = 1,
    /// A string argument is not valid UTF-8.
    InvalidUtf8 = 2,
    /// The configuration is not valid JSON, or has an unknown field or a wrong type.
    InvalidJson = 3,
    /// A configuration value is out of range (the message names the field and the range).
    InvalidConfig = 4,
    /// The output folder or file cannot be created or written.
    Unwritable = 5,
    /// The disk filled up; what was recorded is kept.
    DiskFull = 6,
    /// Another I/O failure.
    Io = 7,
    /// The frame source failed (input cut short, window cannot be captured).
    Source = 8,
    /// A pushed frame does not describe a valid BGRA picture.
    InvalidFrame = 9,
    /// OpenH264 refused the configuration or a frame.
    Encoder = 10,
    /// A file is not a recording classrec can read or recover.
    NotRecoverable = 11,
    /// The upload failed for good (credentials, bucket, access); the local file is intact.
    Upload = 12,
    /// The completion callback could not be delivered after every retry.
    Callback = 13,
    /// This user may not record (only a teacher or an assistant may).
    NotAllowed = 14,
    /// The recorder has already stopped.
    Stopped = 15,
    /// The call does not fit this recorder (e.g. pushing frames to a synthetic source, waiting
    /// for an upload that is not configured).
    WrongState = 16,
    /// The wait ended before the outcome was known.
    Timeout = 17,
    /// A bug in classrec (a panic was caught at the boundary); the message says where.
    Internal = 18,
    /// Pushed audio that classrec cannot take: a sample rate outside 8000..48000 Hz, a channel
    /// count other than 1 or 2, or a buffer that does not hold whole sample frames.
    InvalidAudio = 19,
    /// An argument is out of range: e.g. a struct_size smaller than the struct (set it to
    /// sizeof the struct).
    InvalidArgument = 20,
}

impl classrec_result {
    /// The code for a crate error.
    pub(super) fn of(error: &Error) -> classrec_result {
        match error {
            Error::InvalidConfig(_) => classrec_result::InvalidConfig,
            Error::InvalidJson(_) => classrec_result::InvalidJson,
            Error::Unwritable { .. } => classrec_result::Unwritable,
            Error::DiskFull { .. } => classrec_result::DiskFull,
            Error::Io { .. } => classrec_result::Io,
            Error::Source { .. } | Error::AudioDevice(_) => classrec_result::Source,
            Error::InvalidFrame(_) => classrec_result::InvalidFrame,
            Error::Encoder { .. } | Error::AudioEncoder(_) => classrec_result::Encoder,
            Error::InvalidAudio(_) => classrec_result::InvalidAudio,
            Error::NotRecoverable { .. } => classrec_result::NotRecoverable,
            Error::Upload(_) | Error::DamagedJournal { .. } => classrec_result::Upload,
            Error::Callback(_) => classrec_result::Callback,
            Error::NotAllowed(_) => classrec_result::NotAllowed,
            Error::Stopped => classrec_result::Stopped,
            Error::Internal(_) => classrec_result::Internal,
        }
    }
}

/// A short, static, NUL-terminated description of a classrec_result value (e.g.
/// "invalid JSON"), for logs. Unknown values give "unknown result". Any thread.
#[no_mangle]
pub extern "C" fn classrec_result_name(result: u32) -> *const c_char {
    // Taken as an integer: a C caller may pass any value, and an out-of-range enum is UB in Rust.
    let text: &'static str = match result {
        0 => "ok\0",
        1 => "NULL argument\0",
        2 => "invalid UTF-8\0",
        3 => "invalid JSON\0",
        4 => "invalid configuration\0",
        5 => "folder or file not writable\0",
        6 => "disk full\0",
        7 => "I/O error\0",
        8 => "frame source failed\0",
        9 => "invalid frame\0",
        10 => "encoder error\0",
        11 => "not recoverable\0",
        12 => "upload failed\0",
        13 => "callback failed\0",
        14 => "not allowed to record\0",
        15 => "recorder already stopped\0",
        16 => "wrong state for this call\0",
        17 => "timed out\0",
        18 => "internal error\0",
        19 => "invalid audio\0",
        20 => "invalid argument\0",
        _ => "unknown result\0",
    };
    text.as_ptr().cast()
}

/// A failed call inside the C ABI: the code and the text the caller can read back.
#[derive(Debug)]
pub(super) struct ApiError {
    pub(super) code: classrec_result,
    pub(super) message: String,
}

impl ApiError {
    pub(super) fn new(code: classrec_result, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
        }
    }

    /// A required pointer argument, named name, was NULL.
    pub(super) fn null(name: &str) -> ApiError {
        ApiError::new(
            classrec_result::NullArgument,
            format!("`{name}` is NULL; pass a valid pointer"),
        )
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> ApiError {
        ApiError::new(classrec_result::of(&error), error.to_string())
    }
}
