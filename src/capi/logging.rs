//! `classrec_set_log_callback`: classrec's diagnostics (the `log` facade: OpenH264's messages,
//! caught panics) handed to a C host. By default nothing is logged and nothing is printed.

use std::cell::Cell;
use std::ffi::{c_char, c_void};
use std::sync::{OnceLock, RwLock};

use super::boundary::guarded;
use super::result::{classrec_result, ApiError};
use super::strings::owned_cstring;

/// How much a message matters (the log crate's levels).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum classrec_log_level {
    /// Nothing (as max_level: logging off).
    Off = 0,
    /// Something failed.
    Error = 1,
    /// Something the host may want to know (e.g. OpenH264's warnings).
    Warn = 2,
    /// What classrec is doing.
    Info = 3,
    /// Details for debugging.
    Debug = 4,
    /// Everything.
    Trace = 5,
}

/// Receives one message. Called on whichever thread logged it (one of classrec's worker threads,
/// or yours inside a classrec_* call), possibly on several threads at once: make it
/// thread-safe. target (e.g. "classrec", "classrec::openh264") and message are
/// NUL-terminated UTF-8 that live only during the call. It must not throw (the process would
/// abort) and must not call classrec_set_log_callback; messages logged from inside it are
/// dropped.
pub type classrec_log_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        level: classrec_log_level,
        target: *const c_char,
        message: *const c_char,
    ),
>;

/// The host's callback and its pointer.
struct Sink {
    callback: unsafe extern "C" fn(*mut c_void, classrec_log_level, *const c_char, *const c_char),
    user_data: *mut c_void,
}

// SAFETY: the header documents that the callback is called from any thread with user_data.
unsafe impl Send for Sink {}
unsafe impl Sync for Sink {}

/// The log logger that forwards to the host's callback.
struct CLogger {
    /// Read-locked while a callback runs, so replacing it waits until none is running.
    sink: RwLock<Option<Sink>>,
}

static LOGGER: CLogger = CLogger {
    sink: RwLock::new(None),
};

std::thread_local! {
    /// True on a thread while it runs the host's log callback.
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

impl log::Log for CLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) || IN_CALLBACK.get() {
            return;
        }
        let sink = self.sink.read().unwrap_or_else(|p| p.into_inner());
        let Some(sink) = sink.as_ref() else { return };
        let level = match record.level() {
            log::Level::Error => classrec_log_level::Error,
            log::Level::Warn => classrec_log_level::Warn,
            log::Level::Info => classrec_log_level::Info,
            log::Level::Debug => classrec_log_level::Debug,
            log::Level::Trace => classrec_log_level::Trace,
        };
        let target = owned_cstring(record.target().to_owned());
        let message = owned_cstring(record.args().to_string());
        IN_CALLBACK.set(true);
        // SAFETY: the host's callback with its own user_data; the strings live until it returns.
        unsafe { (sink.callback)(sink.user_data, level, target.as_ptr(), message.as_ptr()) };
        IN_CALLBACK.set(false);
    }

    fn flush(&self) {}
}

/// Sends classrec's diagnostics at max_level or more important (a classrec_log_level value)
/// to callback with user_data. By default nothing is logged, and classrec never writes to
/// stderr or stdout (OpenH264's messages and caught panics come here instead). A NULL callback
/// or CLASSREC_LOG_LEVEL_OFF turns logging off again.
///
/// Process-wide, for every recorder and uploader. When it returns, the previous callback is not
/// running and will not be called again, so its user_data may be released.
///
/// Errors: CLASSREC_RESULT_INVALID_CONFIG for an unknown level; CLASSREC_RESULT_WRONG_STATE
/// from inside the log callback, or when the process already has another Rust log logger (a
/// Rust host that installed its own receives classrec's messages there). Any thread.
///
/// Safety: callback is NULL or safe to call from any thread with user_data until replaced.
#[no_mangle]
pub unsafe extern "C" fn classrec_set_log_callback(
    callback: classrec_log_callback,
    user_data: *mut c_void,
    max_level: u32,
) -> classrec_result {
    let outcome = guarded(|| {
        if IN_CALLBACK.get() {
            return Err(ApiError::new(
                classrec_result::WrongState,
                "classrec_set_log_callback was called from inside the log callback; call it from another place",
            ));
        }
        const OFF: u32 = classrec_log_level::Off as u32;
        const TRACE: u32 = classrec_log_level::Trace as u32;
        let filter = match max_level {
            OFF => log::LevelFilter::Off,
            1 => log::LevelFilter::Error,
            2 => log::LevelFilter::Warn,
            3 => log::LevelFilter::Info,
            4 => log::LevelFilter::Debug,
            TRACE => log::LevelFilter::Trace,
            _ => {
                return Err(ApiError::new(
                    classrec_result::InvalidConfig,
                    format!("max_level is {max_level}; use a classrec_log_level (0 off to 5 trace)"),
                ))
            }
        };
        static INSTALLED: OnceLock<bool> = OnceLock::new();
        if !*INSTALLED.get_or_init(|| log::set_logger(&LOGGER).is_ok()) {
            return Err(ApiError::new(
                classrec_result::WrongState,
                "the process already has a Rust `log` logger; classrec's messages go there",
            ));
        }
        let sink = callback.map(|callback| Sink { callback, user_data });
        let filter = if sink.is_some() { filter } else { log::LevelFilter::Off };
        *LOGGER.sink.write().unwrap_or_else(|p| p.into_inner()) = sink;
        log::set_max_level(filter);
        Ok(())
    });
    match outcome {
        Ok(()) => classrec_result::Ok,
        Err(e) => e.code,
    }
}
