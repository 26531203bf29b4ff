//! `classrec_event` and `classrec_event_kind`: what a recorder reports, made from the Rust
//! [`Event`]; the callback types a caller passes to `classrec_recorder_start`, and the thread
//! ([`EventThread`]) that calls them with the caller's [`UserData`].

use std::ffi::{c_char, c_void, CString};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{select, Receiver, Sender};

use super::recording::{classrec_stop_reason, recording_id};
use super::result::ApiError;
use super::strings::owned_cstring;
use crate::Event;

/// Called with each event, on a worker thread classrec owns (one per recorder, never the thread
/// that called classrec_recorder_start). Events of one recorder arrive in order, one at a time.
/// event and every pointer in it live only until the callback returns: copy what you keep.
/// Return quickly: while the callback runs, newer events queue (the newest 256 are kept).
///
/// The callback must not throw: a C++ exception that leaves it unwinds into classrec's Rust frames,
/// and the process aborts (std::terminate). Catch everything inside (try { ... } catch (...) {})
/// or declare it noexcept.
pub type classrec_event_callback = Option<unsafe extern "C" fn(user_data: *mut c_void, event: *const classrec_event)>;

/// Releases user_data: called exactly once, after the last event callback has returned: from
/// classrec_recorder_free, from the event thread if the recorder was freed inside a callback,
/// or from classrec_recorder_start when it fails.
pub type classrec_free_callback = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// What happened. Values are explicit and never reused; ignore kinds you do not know. Each kind
/// names the fields of classrec_event it fills; the others are 0 or "".
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum classrec_event_kind {
    /// Recording started. path: the MP4 being written.
    Started = 0,
    /// A fragment is safely on disk: a crash now loses nothing before it. fragment: its number
    /// (from 1); bytes_total: the file's committed length; duration_ms: media time covered.
    FragmentCommitted = 1,
    /// Recording paused.
    Paused = 2,
    /// Recording resumed.
    Resumed = 3,
    /// An earlier, crashed recording was recovered. recording_id and path: that recording;
    /// fragment: the fragments kept; bytes_total: its size; duration_ms: its duration;
    /// bytes_dropped: the torn end that was cut off.
    Recovered = 4,
    /// Something the user should know; recording goes on. message: what and what to do.
    Warning = 5,
    /// Something failed; the recording stops and what was recorded is kept. message: why.
    Error = 6,
    /// The recording is finalized. path: the file; bytes_total: its size; duration_ms: its
    /// duration; stop_reason: why it ended.
    Stopped = 7,
    /// Upload progress. bytes_uploaded of bytes_total (recorded so far, final after stop).
    UploadProgress = 8,
    /// The recording is complete in the cloud. recording_id and path: that recording; url: the
    /// object's URL; bytes_uploaded and bytes_total: its size; duration_ms: from stop to complete
    /// (0 when it was not uploaded while recording).
    UploadComplete = 9,
    /// The upload stopped for good; the local file is intact. message: why and what to do.
    UploadFailed = 10,
    /// The completion callback was delivered. attempts: how many it took.
    CallbackDelivered = 11,
    /// The completion callback failed after every retry. message: the last reason and the
    /// number of attempts.
    CallbackFailed = 12,
}

/// One event. Pointers are never NULL (empty text when there is nothing to say) and live only
/// during the callback.
///
/// This struct can grow at its end in later versions: a field lies within struct_size only if
/// the library that sent the event knows it.
#[repr(C)]
#[derive(Debug)]
pub struct classrec_event {
    /// The size of this struct in the library that sent it (sizeof(classrec_event) of its
    /// header); check it before reading a field added after your minimum version.
    pub struct_size: u32,
    /// What happened; see each kind for the fields it fills.
    pub kind: classrec_event_kind,
    /// The recording concerned: its file name without .mp4, e.g. 20250114-081500Z_42_teacher-7.
    pub recording_id: *const c_char,
    /// The recording's file (UTF-8).
    pub path: *const c_char,
    /// What happened and what to do, for a person.
    pub message: *const c_char,
    /// The object's URL in the cloud.
    pub url: *const c_char,
    /// Bytes in the cloud.
    pub bytes_uploaded: u64,
    /// Bytes recorded, committed, or of the file (see the kind).
    pub bytes_total: u64,
    /// Milliseconds (see the kind).
    pub duration_ms: u64,
    /// Bytes cut off a torn end.
    pub bytes_dropped: u64,
    /// A fragment number or count (see the kind).
    pub fragment: u32,
    /// Callback attempts.
    pub attempts: u32,
    /// Why the recording ended.
    pub stop_reason: classrec_stop_reason,
}

/// The caller's user_data and its finalizer; the finalizer runs when the last holder drops.
pub(super) struct UserData {
    data: *mut c_void,
    free: classrec_free_callback,
}

// SAFETY: the header documents that user_data is used from classrec's event thread; the caller
// hands it over on those terms.
unsafe impl Send for UserData {}
unsafe impl Sync for UserData {}

impl UserData {
    /// Takes over data; free (if any) is called with it when the last holder drops.
    pub(super) fn new(data: *mut c_void, free: classrec_free_callback) -> UserData {
        UserData { data, free }
    }

    /// The caller's pointer (a method, so closures capture the whole UserData).
    fn ptr(&self) -> *mut c_void {
        self.data
    }
}

impl Drop for UserData {
    fn drop(&mut self) {
        if let Some(free) = self.free {
            // SAFETY: the caller's finalizer for its own pointer, called exactly once.
            unsafe { free(self.data) };
        }
    }
}

/// How long classrec_recorder_free goes on delivering the events already queued; later ones
/// are discarded, so a slow callback cannot hold up free for 256 calls.
pub(super) const FREE_DRAIN_LIMIT: Duration = Duration::from_secs(1);

/// The thread that hands events to the C callback.
pub(super) struct EventThread {
    /// true: deliver what is already queued, then end; false: end now.
    quit: Sender<bool>,
    /// Set when the recorder is freed from inside a callback: no further callback may start.
    closed: Arc<AtomicBool>,
    /// Set by end: no callback starts after this instant.
    drain_until: Arc<OnceLock<Instant>>,
    thread: JoinHandle<()>,
}

impl EventThread {
    pub(super) fn spawn(
        events: Receiver<Event>,
        recording_id: String,
        callback: unsafe extern "C" fn(*mut c_void, *const classrec_event),
        user_data: Arc<UserData>,
    ) -> Result<EventThread, ApiError> {
        let (quit, quit_rx) = crossbeam_channel::bounded::<bool>(1);
        let closed = Arc::new(AtomicBool::new(false));
        let open = closed.clone();
        let drain_until = Arc::new(OnceLock::new());
        let until = drain_until.clone();
        let deliver = move |event: Event| {
            if open.load(Ordering::Acquire) || until.get().is_some_and(|t| Instant::now() > *t) {
                return;
            }
            let c = CEvent::new(&event, &recording_id);
            // SAFETY: the caller's callback with its own user_data; `c.event` and the strings it
            // points to live until the call returns.
            unsafe { callback(user_data.ptr(), &c.event) };
        };
        let thread = std::thread::Builder::new()
            .name("classrec-events".into())
            .spawn(move || loop {
                select! {
                    recv(events) -> event => match event {
                        Ok(event) => deliver(event),
                        Err(_) => break, // every recording and upload thread has finished
                    },
                    recv(quit_rx) -> drain => {
                        if drain.unwrap_or(false) {
                            events.try_iter().for_each(&deliver);
                        }
                        break;
                    }
                }
            })
            .map_err(|e| ApiError::from(crate::Error::Internal(format!("cannot start the event thread: {e}"))))?;
        Ok(EventThread {
            quit,
            closed,
            drain_until,
            thread,
        })
    }

    /// True when called on the event thread (from inside the callback).
    pub(super) fn is_current(&self) -> bool {
        std::thread::current().id() == self.thread.thread().id()
    }

    /// Ends the thread. From another thread: queued events are delivered first (for at most
    /// [FREE_DRAIN_LIMIT]; the rest are discarded) and the thread is joined. From inside a callback: no further callback starts, and the thread ends (releasing
    /// user_data) once the current callback returns.
    pub(super) fn end(self) {
        if self.is_current() {
            self.closed.store(true, Ordering::Release);
            let _ = self.quit.try_send(false);
        } else {
            let _ = self.drain_until.set(Instant::now() + FREE_DRAIN_LIMIT);
            let _ = self.quit.try_send(true);
            let _ = self.thread.join();
        }
    }
}

/// A [classrec_event] and the C strings it points into.
struct CEvent {
    event: classrec_event,
    _strings: [CString; 4],
}

/// The typed fields of one event, before its strings become C strings.
#[derive(Default)]
struct Fields {
    recording_id: Option<String>,
    path: String,
    message: String,
    url: String,
    bytes_uploaded: u64,
    bytes_total: u64,
    duration_ms: u64,
    bytes_dropped: u64,
    fragment: u32,
    attempts: u32,
    stop_reason: Option<classrec_stop_reason>,
}

impl CEvent {
    fn new(event: &Event, recorder_id: &str) -> CEvent {
        use classrec_event_kind as Kind;
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let text = |p: &Path| p.display().to_string();
        let said = |message: &String| Fields {
            message: message.clone(),
            ..Fields::default()
        };
        let (kind, f) = match event {
            Event::Started { path } => (
                Kind::Started,
                Fields {
                    path: text(path),
                    ..Fields::default()
                },
            ),
            Event::FragmentCommitted(f) => (
                Kind::FragmentCommitted,
                Fields {
                    fragment: f.index,
                    bytes_total: f.end,
                    duration_ms: ms(f.duration),
                    ..Fields::default()
                },
            ),
            Event::Paused => (Kind::Paused, Fields::default()),
            Event::Resumed => (Kind::Resumed, Fields::default()),
            Event::Recovered(r) => (
                Kind::Recovered,
                Fields {
                    recording_id: Some(recording_id(&r.path)),
                    path: text(&r.path),
                    fragment: r.fragments,
                    bytes_total: r.bytes,
                    duration_ms: ms(r.duration),
                    bytes_dropped: r.dropped_bytes,
                    ..Fields::default()
                },
            ),
            Event::Warning { message } => (Kind::Warning, said(message)),
            Event::Error { message } => (Kind::Error, said(message)),
            Event::Stopped(r) => (
                Kind::Stopped,
                Fields {
                    path: text(&r.path),
                    bytes_total: r.bytes,
                    duration_ms: ms(r.duration),
                    stop_reason: Some((&r.stop_reason).into()),
                    ..Fields::default()
                },
            ),
            Event::UploadProgress(p) => (
                Kind::UploadProgress,
                Fields {
                    bytes_uploaded: p.uploaded,
                    bytes_total: p.recorded,
                    ..Fields::default()
                },
            ),
            Event::UploadComplete(o) => (
                Kind::UploadComplete,
                Fields {
                    recording_id: Some(recording_id(&o.path)),
                    path: text(&o.path),
                    url: o.url.clone(),
                    bytes_uploaded: o.size,
                    bytes_total: o.size,
                    duration_ms: o.stop_to_complete.map_or(0, ms),
                    ..Fields::default()
                },
            ),
            Event::UploadFailed { message } => (Kind::UploadFailed, said(message)),
            Event::CallbackDelivered { attempts } => (
                Kind::CallbackDelivered,
                Fields {
                    attempts: *attempts,
                    ..Fields::default()
                },
            ),
            Event::CallbackFailed { message } => (Kind::CallbackFailed, said(message)),
        };
        let strings = [
            owned_cstring(f.recording_id.unwrap_or_else(|| recorder_id.to_owned())),
            owned_cstring(f.path),
            owned_cstring(f.message),
            owned_cstring(f.url),
        ];
        CEvent {
            event: classrec_event {
                struct_size: std::mem::size_of::<classrec_event>() as u32,
                kind,
                recording_id: strings[0].as_ptr(),
                path: strings[1].as_ptr(),
                message: strings[2].as_ptr(),
                url: strings[3].as_ptr(),
                bytes_uploaded: f.bytes_uploaded,
                bytes_total: f.bytes_total,
                duration_ms: f.duration_ms,
                bytes_dropped: f.bytes_dropped,
                fragment: f.fragment,
                attempts: f.attempts,
                stop_reason: f.stop_reason.unwrap_or(classrec_stop_reason::Requested),
            },
            _strings: strings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_strings_are_never_null_and_ids_come_from_paths() {
        let event = Event::Recovered(crate::Recovered {
            path: "/r/20250101-000000Z_1_2.mp4".into(),
            already_finalized: false,
            fragments: 3,
            duration: Duration::from_millis(4500),
            dropped_bytes: 0,
            bytes: 999,
        });
        let c = CEvent::new(&event, "self");
        assert_eq!(c.event.kind, classrec_event_kind::Recovered);
        assert_eq!(
            (c.event.duration_ms, c.event.fragment, c.event.bytes_total),
            (4500, 3, 999)
        );
        assert_eq!(c.event.struct_size as usize, std::mem::size_of::<classrec_event>());
        let id = unsafe { std::ffi::CStr::from_ptr(c.event.recording_id) };
        assert_eq!(id.to_str().unwrap(), "20250101-000000Z_1_2");
        let paused = CEvent::new(&Event::Paused, "self");
        let message = unsafe { std::ffi::CStr::from_ptr(paused.event.message) };
        assert_eq!(message.to_str().unwrap(), "");
    }
}
