//! `classrec_recorder`: start from JSON, events on a worker thread, push frames, stats, stop,
//! wait for the cloud copy, free.

use std::ffi::{c_char, c_void, CString};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{select, Receiver, RecvTimeoutError, Sender};

use super::strings::{owned_cstring, report_to_buffer, str_arg, write_out, ErrorSlot};
use super::{classrec_result, lock, on_handle, Failure, Handle};
use crate::capture::{Frame, FramePusher};
use crate::{Event, Recorder, Recording, StopReason};

/// Called with each event, on a worker thread classrec owns (one per recorder, never the thread
/// that called `classrec_recorder_start`). Events of one recorder arrive in order, one at a time.
/// `event` and every pointer in it live only until the callback returns: copy what you keep.
/// Return quickly: while the callback runs, newer events queue (the newest 256 are kept).
pub type classrec_event_callback = Option<unsafe extern "C" fn(user_data: *mut c_void, event: *const classrec_event)>;

/// Releases `user_data`: called exactly once, after the last event callback has returned: from
/// `classrec_recorder_free`, from the event thread if the recorder was freed inside a callback,
/// or from `classrec_recorder_start` when it fails.
pub type classrec_free_callback = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// What happened. Values are explicit and never reused; ignore kinds you do not know.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum classrec_event_kind {
    /// Recording started. `message`: the MP4's path.
    Started = 0,
    /// A fragment is safely on disk. `bytes_total`: bytes committed; `duration_ms`: time covered.
    FragmentCommitted = 1,
    /// Recording paused.
    Paused = 2,
    /// Recording resumed.
    Resumed = 3,
    /// An earlier, crashed recording was recovered. `recording_id`/`message`: that recording;
    /// `bytes_total`: its size; `duration_ms`: its duration.
    Recovered = 4,
    /// Something the user should know; recording goes on. `message`: what and what to do.
    Warning = 5,
    /// Something failed; the recording stops and what was recorded is kept. `message`: why.
    Error = 6,
    /// The recording is finalized. `message`: the path; `bytes_total`: file size;
    /// `duration_ms`: duration.
    Stopped = 7,
    /// Upload progress. `bytes_uploaded` of `bytes_total` (recorded so far, final after stop).
    UploadProgress = 8,
    /// The recording is complete in the cloud. `message`: its URL; `bytes_total`: its size.
    UploadComplete = 9,
    /// The upload stopped for good; the local file is intact. `message`: why and what to do.
    UploadFailed = 10,
    /// The completion callback was delivered. `message`: how many attempts it took.
    CallbackDelivered = 11,
    /// The completion callback failed after every retry. `message`: the last reason.
    CallbackFailed = 12,
}

/// One event. Pointers are never NULL (empty text when there is nothing to say) and live only
/// during the callback.
#[repr(C)]
#[derive(Debug)]
pub struct classrec_event {
    /// What happened; see each kind for the fields it fills (the others are 0 or "").
    pub kind: classrec_event_kind,
    /// The recording concerned: its file name without `.mp4`, e.g.
    /// `20250114-081500Z_42_teacher-7`.
    pub recording_id: *const c_char,
    /// Bytes in the cloud.
    pub bytes_uploaded: u64,
    /// Bytes recorded, committed or in the file (see the kind).
    pub bytes_total: u64,
    /// Media time in milliseconds (see the kind).
    pub duration_ms: u64,
    /// Human-readable text: a path, a URL or a message (see the kind).
    pub message: *const c_char,
}

/// Why a recording ended.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum classrec_stop_reason {
    /// `classrec_recorder_stop` (or free) was called.
    Requested = 0,
    /// The source ended: window closed, input ended, frame limit reached.
    SourceEnded = 1,
    /// Something failed (disk full, source or encoder error); what was recorded is kept.
    Failed = 2,
}

/// Counters of a recording. Once stopped,
/// `frames_captured == frames_encoded + frames_skipped + frames_dropped`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct classrec_stats {
    /// Frames the source delivered (not counting those while paused).
    pub frames_captured: u64,
    /// Frames encoded into the file.
    pub frames_encoded: u64,
    /// Frames not encoded because the picture had not changed.
    pub frames_skipped: u64,
    /// Frames dropped because the encoder was behind.
    pub frames_dropped: u64,
    /// Bytes committed to the file (fsync'd).
    pub bytes_written: u64,
    /// Fragments committed.
    pub fragments: u64,
}

impl From<crate::Stats> for classrec_stats {
    fn from(s: crate::Stats) -> Self {
        classrec_stats {
            frames_captured: s.frames_captured,
            frames_encoded: s.frames_encoded,
            frames_skipped: s.frames_skipped,
            frames_dropped: s.frames_dropped,
            bytes_written: s.bytes_written,
            fragments: s.fragments,
        }
    }
}

/// A finished recording, as `classrec_recorder_stop` reports it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct classrec_recording {
    /// The MP4's path (UTF-8); lives until `classrec_recorder_free`. When `bytes` is 0 nothing was
    /// recorded and no file was kept.
    pub path: *const c_char,
    /// Playable duration in milliseconds.
    pub duration_ms: u64,
    /// File size in bytes.
    pub bytes: u64,
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
    /// Why it ended (the text is in `classrec_recorder_last_error` when it failed).
    pub stop_reason: classrec_stop_reason,
    /// Final counters.
    pub stats: classrec_stats,
}

/// The caller's `user_data` and its finalizer; the finalizer runs when the last holder drops.
struct UserData {
    data: *mut c_void,
    free: classrec_free_callback,
}

// SAFETY: the header documents that user_data is used from classrec's event thread; the caller
// hands it over on those terms.
unsafe impl Send for UserData {}
unsafe impl Sync for UserData {}

impl UserData {
    /// The caller's pointer (a method, so closures capture the whole `UserData`).
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

/// The thread that hands events to the C callback.
struct EventThread {
    /// `true`: deliver what is already queued, then end; `false`: end now.
    quit: Sender<bool>,
    /// Set when the recorder is freed from inside a callback: no further callback may start.
    closed: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl EventThread {
    fn spawn(
        events: Receiver<Event>,
        recording_id: String,
        callback: unsafe extern "C" fn(*mut c_void, *const classrec_event),
        user_data: Arc<UserData>,
    ) -> Result<EventThread, Failure> {
        let (quit, quit_rx) = crossbeam_channel::bounded::<bool>(1);
        let closed = Arc::new(AtomicBool::new(false));
        let open = closed.clone();
        let deliver = move |event: Event| {
            if open.load(Ordering::Acquire) {
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
            .map_err(|e| Failure::from(crate::Error::Internal(format!("cannot start the event thread: {e}"))))?;
        Ok(EventThread { quit, closed, thread })
    }

    /// Ends the thread. From another thread: queued events are delivered first and the thread is
    /// joined. From inside a callback: no further callback starts, and the thread ends (releasing
    /// `user_data`) once the current callback returns.
    fn end(self) {
        if std::thread::current().id() == self.thread.thread().id() {
            self.closed.store(true, Ordering::Release);
            let _ = self.quit.try_send(false);
        } else {
            let _ = self.quit.try_send(true);
            let _ = self.thread.join();
        }
    }
}

/// A [`classrec_event`] and the C strings it points into.
struct CEvent {
    event: classrec_event,
    _strings: [CString; 2],
}

impl CEvent {
    fn new(event: &Event, recorder_id: &str) -> CEvent {
        let ms = |d: Duration| d.as_millis() as u64;
        let path_text = |p: &Path| p.display().to_string();
        let (kind, id, uploaded, total, duration, message) = match event {
            Event::Started { path } => (classrec_event_kind::Started, None, 0, 0, 0, path_text(path)),
            Event::FragmentCommitted(f) => (
                classrec_event_kind::FragmentCommitted,
                None,
                0,
                f.end,
                ms(f.duration),
                String::new(),
            ),
            Event::Paused => (classrec_event_kind::Paused, None, 0, 0, 0, String::new()),
            Event::Resumed => (classrec_event_kind::Resumed, None, 0, 0, 0, String::new()),
            Event::Recovered(r) => (
                classrec_event_kind::Recovered,
                Some(recording_id(&r.path)),
                0,
                r.bytes,
                ms(r.duration),
                path_text(&r.path),
            ),
            Event::Warning { message } => (classrec_event_kind::Warning, None, 0, 0, 0, message.clone()),
            Event::Error { message } => (classrec_event_kind::Error, None, 0, 0, 0, message.clone()),
            Event::Stopped(r) => (
                classrec_event_kind::Stopped,
                None,
                0,
                r.bytes,
                ms(r.duration),
                path_text(&r.path),
            ),
            Event::UploadProgress(p) => (
                classrec_event_kind::UploadProgress,
                None,
                p.uploaded,
                p.recorded,
                0,
                String::new(),
            ),
            Event::UploadComplete(o) => (
                classrec_event_kind::UploadComplete,
                Some(recording_id(&o.path)),
                o.size,
                o.size,
                0,
                o.url.clone(),
            ),
            Event::UploadFailed { message } => (classrec_event_kind::UploadFailed, None, 0, 0, 0, message.clone()),
            Event::CallbackDelivered { attempts } => (
                classrec_event_kind::CallbackDelivered,
                None,
                0,
                0,
                0,
                format!("delivered after {attempts} attempt(s)"),
            ),
            Event::CallbackFailed { message } => (classrec_event_kind::CallbackFailed, None, 0, 0, 0, message.clone()),
        };
        let strings = [
            owned_cstring(id.unwrap_or_else(|| recorder_id.to_owned())),
            owned_cstring(message),
        ];
        CEvent {
            event: classrec_event {
                kind,
                recording_id: strings[0].as_ptr(),
                bytes_uploaded: uploaded,
                bytes_total: total,
                duration_ms: duration,
                message: strings[1].as_ptr(),
            },
            _strings: strings,
        }
    }
}

/// A recording's id: its file name without the extension.
fn recording_id(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A recording in progress (opaque). Thread-safe: any function may be called from any thread,
/// except `classrec_recorder_free`, which must be the last call.
pub struct classrec_recorder {
    recorder: Mutex<Recorder>,
    pusher: Option<FramePusher>,
    path: CString,
    finished: OnceLock<(Recording, CString)>,
    upload: Outcome<crate::UploadedObject>,
    callback: Outcome<u32>,
    errors: ErrorSlot,
    events: Mutex<Option<EventThread>>,
    /// Released after the event thread has ended (dropped after `events`).
    _user_data: Arc<UserData>,
}

impl Handle for classrec_recorder {
    fn errors(&self) -> &ErrorSlot {
        &self.errors
    }
}

impl Drop for classrec_recorder {
    fn drop(&mut self) {
        // Stop and finalize first (its Stopped event is still delivered), then end the events.
        let recorder = self.recorder.get_mut().unwrap_or_else(|p| p.into_inner());
        let _ = recorder.stop();
        if let Some(events) = self.events.get_mut().unwrap_or_else(|p| p.into_inner()).take() {
            events.end();
        }
    }
}

/// A cloud outcome that arrives once on a channel and is kept for later readers.
struct Outcome<T> {
    channel: Option<Receiver<crate::Result<T>>>,
    result: Mutex<Option<Result<(), String>>>,
}

impl<T> Outcome<T> {
    fn new(channel: Option<Receiver<crate::Result<T>>>) -> Self {
        Outcome {
            channel,
            result: Mutex::new(None),
        }
    }

    /// Waits until `deadline`: `None` on timeout, `Some(Ok)` / `Some(Err(text))` once known. A
    /// channel closed without a value means nothing was due (`Some(Ok)`).
    fn wait(&self, deadline: Instant) -> Option<Result<(), String>> {
        if let Some(known) = lock(&self.result).clone() {
            return Some(known);
        }
        let channel = self.channel.as_ref()?;
        let outcome = match channel.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(result) => result.map(|_| ()).map_err(|e| e.to_string()),
            Err(RecvTimeoutError::Timeout) => return None,
            Err(RecvTimeoutError::Disconnected) => Ok(()),
        };
        *lock(&self.result) = Some(outcome.clone());
        Some(outcome)
    }
}

/// Starts a recording described by `config_json` (the same fields as the Rust `RecorderConfig`;
/// see the README). Returns at once; frames are captured and encoded on classrec's threads.
///
/// `on_event` (may be NULL) receives events on classrec's event thread with `user_data`.
/// `free_user_data` (may be NULL) is called exactly once with `user_data` when no callback can
/// follow: after `classrec_recorder_free`, or before this function returns when it fails. On
/// failure `on_event` is never called, `*recorder_out` is left as it was, and the reason is copied
/// into `error_buf` (`error_len` bytes; NULL/0 to skip). Any thread.
///
/// # Safety
/// `config_json` is a NUL-terminated string; `recorder_out` is valid for one write; `error_buf`
/// is NULL or valid for `error_len` bytes; `on_event` is safe to call from another thread with
/// `user_data`.
#[no_mangle]
pub unsafe extern "C" fn classrec_recorder_start(
    config_json: *const c_char,
    on_event: classrec_event_callback,
    user_data: *mut c_void,
    free_user_data: classrec_free_callback,
    recorder_out: *mut *mut classrec_recorder,
    error_buf: *mut c_char,
    error_len: usize,
) -> classrec_result {
    // SAFETY: forwarded caller contract for every pointer.
    unsafe {
        // Owned from here on: released once whatever happens, also when start fails. The handle
        // and the event thread share it, so it lives until both are done with it.
        let user_data = Arc::new(UserData {
            data: user_data,
            free: free_user_data,
        });
        report_to_buffer(error_buf, error_len, || {
            let json = str_arg(config_json, "config_json")?;
            if recorder_out.is_null() {
                return Err(Failure::null("recorder_out"));
            }
            let config = super::parse_config(json)?;
            let recorder = Recorder::start(config)?;
            let (upload, callback) = recorder.outcome_channels();
            let id = recording_id(recorder.path());
            let events = match on_event {
                Some(callback) => Some(EventThread::spawn(recorder.events(), id, callback, user_data.clone())?),
                None => None,
            };
            let handle = Box::new(classrec_recorder {
                pusher: recorder.pusher().cloned(),
                path: owned_cstring(recorder.path().display().to_string()),
                recorder: Mutex::new(recorder),
                finished: OnceLock::new(),
                upload: Outcome::new(upload),
                callback: Outcome::new(callback),
                errors: ErrorSlot::default(),
                events: Mutex::new(events),
                _user_data: user_data,
            });
            write_out(recorder_out, "recorder_out", Box::into_raw(handle))
        })
    }
}

/// The path of the MP4 being written (UTF-8), valid until `classrec_recorder_free`; NULL when
/// `recorder` is NULL. Any thread.
///
/// # Safety
/// `recorder` is NULL or a live recorder.
#[no_mangle]
pub unsafe extern "C" fn classrec_recorder_path(recorder: *const classrec_recorder) -> *const c_char {
    // SAFETY: NULL or live by the caller's contract.
    match unsafe { recorder.as_ref() } {
        Some(handle) => handle.path.as_ptr(),
        None => std::ptr::null(),
    }
}

/// Pushes one BGRA picture (`stride` bytes per row, at least `width * 4`) into a recorder whose
/// source is `{"kind": "pushed"}`. The pixels are copied before it returns. `timestamp_us` is
/// the time since the recording started in microseconds, or negative for "now". Never blocks: if
/// the encoder is behind, the oldest waiting frame is dropped and counted. Any thread.
///
/// Errors: `CLASSREC_RESULT_WRONG_STATE` for other sources, `CLASSREC_RESULT_STOPPED` after stop,
/// `CLASSREC_RESULT_INVALID_FRAME` for a size or stride that does not fit.
///
/// # Safety
/// `recorder` is NULL or live; `bgra` is NULL or valid for `stride * (height - 1) + width * 4`
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn classrec_recorder_push_frame(
    recorder: *const classrec_recorder,
    bgra: *const u8,
    width: u32,
    height: u32,
    stride: usize,
    timestamp_us: i64,
) -> classrec_result {
    // SAFETY: forwarded caller contract.
    unsafe {
        on_handle(recorder, |handle| {
            let pusher = handle.pusher.as_ref().ok_or_else(|| {
                Failure::new(
                    classrec_result::WrongState,
                    "this recorder's source is not `pushed`; start it with {\"source\": {\"kind\": \"pushed\"}} to push frames",
                )
            })?;
            if bgra.is_null() {
                return Err(Failure::null("bgra"));
            }
            let len = Frame::byte_len(width, height, stride)?;
            // SAFETY: `bgra` is valid for `len` bytes by the caller's contract (checked for NULL).
            let pixels = std::slice::from_raw_parts(bgra, len);
            let timestamp = u64::try_from(timestamp_us).ok().map(Duration::from_micros);
            pusher.push_frame(pixels, width, height, stride, timestamp)?;
            Ok(())
        })
    }
}

/// Pauses recording (the paused time is cut out of the file). Any thread.
///
/// # Safety
/// `recorder` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn classrec_recorder_pause(recorder: *const classrec_recorder) -> classrec_result {
    // SAFETY: forwarded caller contract.
    unsafe { set_paused(recorder, true) }
}

/// Resumes after `classrec_recorder_pause`. Any thread.
///
/// # Safety
/// `recorder` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn classrec_recorder_resume(recorder: *const classrec_recorder) -> classrec_result {
    // SAFETY: forwarded caller contract.
    unsafe { set_paused(recorder, false) }
}

/// # Safety
/// `recorder` is NULL or live.
unsafe fn set_paused(recorder: *const classrec_recorder, paused: bool) -> classrec_result {
    // SAFETY: forwarded caller contract.
    unsafe {
        on_handle(recorder, |handle| {
            if handle.finished.get().is_some() {
                return Err(crate::Error::Stopped.into());
            }
            let recorder = lock(&handle.recorder);
            if paused {
                recorder.pause();
            } else {
                recorder.resume();
            }
            Ok(())
        })
    }
}

/// Copies the counters into `*stats_out` (final ones after stop). May wait while a stop is
/// finalizing the file. Any thread.
///
/// # Safety
/// `recorder` is NULL or live; `stats_out` is NULL or valid for one write.
#[no_mangle]
pub unsafe extern "C" fn classrec_recorder_stats(
    recorder: *const classrec_recorder,
    stats_out: *mut classrec_stats,
) -> classrec_result {
    // SAFETY: forwarded caller contract.
    unsafe {
        on_handle(recorder, |handle| {
            let stats = match handle.finished.get() {
                Some((recording, _)) => recording.stats,
                None => lock(&handle.recorder).stats(),
            };
            write_out(stats_out, "stats_out", stats.into())
        })
    }
}

/// Stops recording, finalizes the MP4 and describes it in `*recording_out` (may be NULL). Also
/// collects a recording that ended by itself (after a `CLASSREC_EVENT_KIND_STOPPED` event). The
/// upload, if any, finishes in the background: see `classrec_recorder_wait_upload`. Blocks until
/// the file is finalized (typically well under a second). A second call returns
/// `CLASSREC_RESULT_STOPPED`. Any thread, including the event callback.
///
/// # Safety
/// `recorder` is NULL or live; `recording_out` is NULL or valid for one write.
#[no_mangle]
pub unsafe extern "C" fn classrec_recorder_stop(
    recorder: *const classrec_recorder,
    recording_out: *mut classrec_recording,
) -> classrec_result {
    // SAFETY: forwarded caller contract.
    unsafe {
        on_handle(recorder, |handle| {
            let recording = lock(&handle.recorder).stop()?;
            let path = owned_cstring(recording.path.display().to_string());
            let (recording, path) = handle.finished.get_or_init(|| (recording, path));
            if let StopReason::Failed(reason) = &recording.stop_reason {
                handle.errors.set(reason.clone());
            }
            if recording_out.is_null() {
                return Ok(());
            }
            let stop_reason = match recording.stop_reason {
                StopReason::Requested => classrec_stop_reason::Requested,
                StopReason::SourceEnded(_) => classrec_stop_reason::SourceEnded,
                StopReason::Failed(_) => classrec_stop_reason::Failed,
            };
            write_out(
                recording_out,
                "recording_out",
                classrec_recording {
                    path: path.as_ptr(),
                    duration_ms: recording.duration.as_millis() as u64,
                    bytes: recording.bytes,
                    width: recording.width,
                    height: recording.height,
                    stop_reason,
                    stats: recording.stats.into(),
                },
            )
        })
    }
}

/// Waits up to `timeout_ms` for the cloud copy: the upload complete and, when a callback is
/// configured, the callback delivered. `CLASSREC_RESULT_OK` once both are done;
/// `CLASSREC_RESULT_TIMEOUT` if not yet (call again); `CLASSREC_RESULT_UPLOAD` or
/// `CLASSREC_RESULT_CALLBACK` when it failed for good (text in `classrec_recorder_last_error`);
/// `CLASSREC_RESULT_WRONG_STATE` when no upload is configured. The upload only completes after
/// stop. Any thread except the event callback's.
///
/// # Safety
/// `recorder` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn classrec_recorder_wait_upload(
    recorder: *const classrec_recorder,
    timeout_ms: u32,
) -> classrec_result {
    // SAFETY: forwarded caller contract.
    unsafe {
        on_handle(recorder, |handle| {
            if handle.upload.channel.is_none() {
                return Err(Failure::new(
                    classrec_result::WrongState,
                    "no upload is configured for this recorder; add an `upload` section to its configuration",
                ));
            }
            let deadline = Instant::now() + Duration::from_millis(timeout_ms.into());
            let timeout = || Failure::new(classrec_result::Timeout, format!("not complete after {timeout_ms} ms"));
            match handle.upload.wait(deadline) {
                None => return Err(timeout()),
                Some(Err(e)) => return Err(Failure::new(classrec_result::Upload, e)),
                Some(Ok(())) => {}
            }
            match handle.callback.wait(deadline) {
                None => Err(timeout()),
                Some(Err(e)) => Err(Failure::new(classrec_result::Callback, e)),
                Some(Ok(())) => Ok(()),
            }
        })
    }
}

/// Changes the upload bandwidth cap while recording or uploading (bytes per second; 0: no cap).
/// Any thread.
///
/// # Safety
/// `recorder` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn classrec_recorder_set_upload_limit(
    recorder: *const classrec_recorder,
    bytes_per_second: u64,
) -> classrec_result {
    // SAFETY: forwarded caller contract.
    unsafe {
        on_handle(recorder, |handle| {
            let limit = (bytes_per_second > 0).then_some(bytes_per_second);
            lock(&handle.recorder).set_upload_limit(limit);
            Ok(())
        })
    }
}

/// Copies the text of this recorder's last error (or of a failed recording's cause after stop)
/// into `buf` like `snprintf`: truncated to `len - 1` bytes and NUL-terminated; `*needed_out`
/// (may be NULL) receives the full length without the NUL. Empty when nothing failed yet. Any
/// thread.
///
/// # Safety
/// `recorder` is NULL or live; `buf` is NULL or valid for `len` bytes; `needed_out` is NULL or
/// valid for one write.
#[no_mangle]
pub unsafe extern "C" fn classrec_recorder_last_error(
    recorder: *const classrec_recorder,
    buf: *mut c_char,
    len: usize,
    needed_out: *mut usize,
) -> classrec_result {
    // SAFETY: forwarded caller contract.
    unsafe { super::last_error(recorder, buf, len, needed_out) }
}

/// Stops the recording if it is still running (finalizing the file), delivers the events already
/// queued, ends the event thread and releases `user_data`; no callback starts after it returns.
/// The upload goes on in the background while the process lives, and its journal lets
/// `classrec_uploader_resume_pending` finish it later. NULL is a no-op. Must be the last call on
/// `recorder`; may be called from inside the event callback.
///
/// # Safety
/// `recorder` is NULL or a live recorder, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn classrec_recorder_free(recorder: *mut classrec_recorder) {
    // SAFETY: forwarded caller contract.
    unsafe { super::free_handle(recorder) }
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
        assert_eq!(c.event.duration_ms, 4500);
        let id = unsafe { std::ffi::CStr::from_ptr(c.event.recording_id) };
        assert_eq!(id.to_str().unwrap(), "20250101-000000Z_1_2");
        let paused = CEvent::new(&Event::Paused, "self");
        let message = unsafe { std::ffi::CStr::from_ptr(paused.event.message) };
        assert_eq!(message.to_str().unwrap(), "");
    }
}
