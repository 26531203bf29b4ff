//! The crate's one error type. Every message says what went wrong and what to do.

use std::path::PathBuf;

/// The typed cause an [`Error`] keeps, for callers who inspect the chain (`Error::source`).
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in classrec. Messages name the cause and the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range; the message names the field and the valid range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),

    /// The configuration is not JSON, not a JSON object, or has an unknown field or a wrong type.
    #[error("configuration JSON: {0}")]
    InvalidJson(String),

    /// The output folder or file cannot be created or written.
    #[error("cannot {action} `{path}`: {source}; choose a writable folder (out_dir) or fix its permissions")]
    Unwritable {
        /// What was being attempted ("create folder", "create file", ...).
        action: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },

    /// The disk filled up while recording. What was written before is kept and finalized.
    #[error("disk full while writing `{path}`: the recording was stopped and what was written is kept; free some space (or choose another out_dir) and record again")]
    DiskFull {
        /// The recording being written.
        path: PathBuf,
    },

    /// Any other I/O failure, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, with the path.
        context: String,
        /// The operating system's error.
        source: std::io::Error,
    },

    /// The frame source failed (a raw input cut short, a window that cannot be captured, ...).
    #[error("frame source: {message}")]
    Source {
        /// What failed and what to do (complete on its own: C callers see only this).
        message: String,
        /// The underlying error, where there is one.
        #[source]
        cause: Option<Cause>,
    },

    /// A sound device cannot be found, opened or started; the message names the devices there are.
    #[error("audio device: {0}")]
    AudioDevice(String),

    /// A pushed frame does not describe a valid BGRA image.
    #[error("invalid frame: {0}")]
    InvalidFrame(String),

    /// OpenH264 refused the configuration or a frame.
    #[error("H.264 encoder: {message}")]
    Encoder {
        /// What failed (complete on its own: C callers see only this).
        message: String,
        /// OpenH264's error.
        #[source]
        cause: Option<Cause>,
    },

    /// Pushed or raw PCM that classrec cannot take (sample rate, channel count, sample format);
    /// the message names the accepted values.
    #[error("invalid audio: {0}")]
    InvalidAudio(String),

    /// The AAC encoder refused the configuration or the audio.
    #[error("AAC encoder: {0}")]
    AudioEncoder(String),

    /// A file is not a recording classrec can read or recover.
    #[error("`{path}` cannot be recovered: {reason}")]
    NotRecoverable {
        /// The file concerned.
        path: PathBuf,
        /// Why it cannot be recovered.
        reason: String,
    },

    /// The upload failed for good (bad credentials, missing bucket, access denied, ...).
    /// The local file is intact; resuming the pending uploads can try again later.
    #[error("upload: {0}")]
    Upload(String),

    /// An upload journal (`<recording>.mp4.upload.json`) cannot be read as JSON.
    #[error("upload journal `{path}` is damaged ({source}); delete it to upload the recording again from the start")]
    DamagedJournal {
        /// The journal file.
        path: PathBuf,
        /// What the JSON parser found.
        source: serde_json::Error,
    },

    /// The completion callback could not be delivered (after every retry).
    #[error("callback: {0}")]
    Callback(String),

    /// This user may not record (only a teacher or an assistant may).
    #[error("not allowed to record: {0}")]
    NotAllowed(String),

    /// The recorder has already stopped (or its recording ended by itself); start a new one.
    #[error("the recording has already stopped; start a new recording")]
    Stopped,

    /// A worker thread panicked; this is a bug in classrec: please report it with the message.
    #[error("internal error (please report): {0}")]
    Internal(String),
}

impl Error {
    /// An [`Error::Source`] without an underlying error.
    pub(crate) fn source(message: impl Into<String>) -> Self {
        Error::Source {
            message: message.into(),
            cause: None,
        }
    }

    /// An [`Error::Source`] caused by `cause`; its text ends the message.
    pub(crate) fn source_caused(context: &str, cause: impl Into<Cause>) -> Self {
        let cause = cause.into();
        Error::Source {
            message: format!("{context}: {cause}"),
            cause: Some(cause),
        }
    }

    /// An [`Error::Encoder`] without an underlying error.
    pub(crate) fn encoder(message: impl Into<String>) -> Self {
        Error::Encoder {
            message: message.into(),
            cause: None,
        }
    }

    /// An [`Error::Io`] with a context line.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

std::thread_local! {
    /// True while this thread runs code whose panics classrec catches (see [`catch_quietly`]).
    static CATCHING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `body`, catching a panic in it, which is logged (the `log` facade, target `classrec`)
/// rather than printed to stderr with a backtrace: the host's stderr is not ours to write to.
///
/// The process-wide panic hook is installed once; it handles panics on classrec's own threads
/// (named `classrec-*`) and inside `catch_quietly`, and hands every other panic to the hook that
/// was there before, so the host's own panics print as they always did.
pub(crate) fn catch_quietly<T>(body: impl FnOnce() -> T) -> std::thread::Result<T> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            let name = thread.name().unwrap_or("unnamed");
            if CATCHING.get() || name.starts_with("classrec-") {
                log::error!(target: "classrec", "caught a panic in thread `{name}` (a bug; please report it): {info}");
            } else {
                previous(info);
            }
        }));
    });
    let outer = CATCHING.replace(true);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
    CATCHING.set(outer);
    result
}

/// The text a panic carried (`panic!("...")`), for reporting a caught panic.
pub(crate) fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// True when `err` means "no space left on the device" (or a file size limit was hit).
pub(crate) fn is_disk_full(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::FileTooLarge | std::io::ErrorKind::QuotaExceeded
    )
}
