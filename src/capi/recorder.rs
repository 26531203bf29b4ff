//! `classrec_recorder`: start from JSON, events on a worker thread, push frames, stats, stop,
//! wait for the cloud copy, free.

use std::ffi::{c_char, c_void, CString};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::boundary::{
    free_handle, growable_size, last_error, lock, on_handle, report_to_buffer, write_growable, write_out, ErrorSlot,
    Handle,
};
use super::event::{classrec_event_callback, classrec_free_callback, EventThread, UserData};
use super::recording::{classrec_recording, classrec_stats, recording_id};
use super::result::{classrec_result, ApiError};
use super::strings::{owned_cstring, parse_config, str_arg};
use crate::{AudioPusher, Frame, FramePusher, Recorder, Recording, StopReason, UploadedObject};

/// A recording in progress (opaque). Thread-safe: any function may be called from any thread,
/// except classrec_recorder_free, which must be the last call.
pub struct classrec_recorder {
    recorder: Mutex<Recorder>,
    pusher: Option<FramePusher>,
    /// The sound pusher, when the sound is pushed (see audio.rs).
    pub(super) audio_pusher: Option<AudioPusher>,
    path: CString,
    finished: OnceLock<(Recording, CString)>,
    upload: CloudOutcome<UploadedObject>,
    callback: CloudOutcome<u32>,
    errors: ErrorSlot,
    events: Mutex<Option<EventThread>>,
    /// Released after the event thread has ended (dropped after events).
    _user_data: Arc<UserData>,
}

impl classrec_recorder {
    /// WRONG_STATE when no upload is configured (the same answer from every upload call).
    fn require_upload(&self) -> Result<(), ApiError> {
        match self.upload.channel {
            Some(_) => Ok(()),
            None => Err(ApiError::new(
                classrec_result::WrongState,
                "no upload is configured for this recorder; add an `upload` section to its configuration",
            )),
        }
    }

    /// True on the thread that runs this recorder's event callback.
    fn on_event_thread(&self) -> bool {
        lock(&self.events).as_ref().is_some_and(EventThread::is_current)
    }
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
struct CloudOutcome<T> {
    channel: Option<Receiver<crate::Result<T>>>,
    result: Mutex<Option<Result<(), String>>>,
}

impl<T> CloudOutcome<T> {
    fn new(channel: Option<Receiver<crate::Result<T>>>) -> Self {
        CloudOutcome {
            channel,
            result: Mutex::new(None),
        }
    }

    /// Waits until deadline: None on timeout, Some(Ok) / Some(Err(text)) once known. A
    /// channel closed without a value means nothing was due (Some(Ok)).
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

/// Starts a recording described by config_json (the same fields as the Rust RecorderConfig;
/// see the README). Returns at once; frames are captured and encoded on classrec's threads.
///
/// on_event (may be NULL) receives events on classrec's event thread with user_data.
/// free_user_data (may be NULL) is called exactly once with user_data when no callback can
/// follow: after classrec_recorder_free, or before this function returns when it fails. On
/// failure on_event is never called, *recorder_out is left as it was, and the reason is copied
/// into error_buf (error_len bytes; NULL/0 to skip). Any thread.
///
/// Safety: config_json is a NUL-terminated string; recorder_out is valid for one write; error_buf
/// is NULL or valid for error_len bytes; on_event is safe to call from another thread with
/// user_data.
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
        let user_data = Arc::new(UserData::new(user_data, free_user_data));
        report_to_buffer(error_buf, error_len, || {
            let json = str_arg(config_json, "config_json")?;
            if recorder_out.is_null() {
                return Err(ApiError::null("recorder_out"));
            }
            let config = parse_config(json)?;
            let recorder = Recorder::start(config)?;
            // Internal (pub(crate)): the public `Recorder::wait_for_upload`/`wait_for_callback`
            // borrow the recorder, which would hold its lock through the wait and block `stop`.
            let (upload, callback) = recorder.outcome_channels();
            let id = recording_id(recorder.path());
            let events = match on_event {
                Some(callback) => Some(EventThread::spawn(recorder.events(), id, callback, user_data.clone())?),
                None => None,
            };
            let handle = Box::new(classrec_recorder {
                pusher: recorder.pusher().cloned(),
                audio_pusher: recorder.audio_pusher().cloned(),
                path: owned_cstring(recorder.path().display().to_string()),
                recorder: Mutex::new(recorder),
                finished: OnceLock::new(),
                upload: CloudOutcome::new(upload),
                callback: CloudOutcome::new(callback),
                errors: ErrorSlot::default(),
                events: Mutex::new(events),
                _user_data: user_data,
            });
            write_out(recorder_out, "recorder_out", Box::into_raw(handle))
        })
    }
}

/// The path of the MP4 being written (UTF-8), valid until classrec_recorder_free; NULL when
/// recorder is NULL. Any thread.
///
/// Safety: recorder is NULL or a live recorder.
#[no_mangle]
pub unsafe extern "C" fn classrec_recorder_path(recorder: *const classrec_recorder) -> *const c_char {
    // SAFETY: NULL or live by the caller's contract.
    match unsafe { recorder.as_ref() } {
        Some(handle) => handle.path.as_ptr(),
        None => std::ptr::null(),
    }
}

/// Pushes one BGRA picture (stride bytes per row, at least width * 4) into a recorder whose
/// source is {"kind": "pushed"}. Width and height are 1 to 16384 pixels each (Direct3D 11's
/// texture limit); a picture of another size than the recording's is letter-boxed into it. The
/// picture is converted for the encoder on the calling thread, straight from bgra, before it
/// returns: the buffer may be reused at once, and a picture that did not change since the last
/// push costs only a hashing pass. Never waits for the encoder: if it is behind, the oldest
/// waiting picture is dropped and counted. Any thread (pushes from several threads take turns).
///
/// timestamp_us is the time since the recording started in microseconds, or negative for
/// "now". A frame stamped more than 1 s ahead of the recorder's clock (a host clock that jumped,
/// a laptop that slept, INT64_MAX) is recorded at "now" instead: the first such frame gives a
/// CLASSREC_EVENT_KIND_WARNING, and classrec_stats.frames_retimed counts them all.
///
/// Errors: CLASSREC_RESULT_WRONG_STATE for other sources, CLASSREC_RESULT_STOPPED after stop
/// (or once the recording has ended by itself or failed), CLASSREC_RESULT_INVALID_FRAME for a
/// size or stride that does not fit.
///
/// Safety: recorder is NULL or live; bgra is NULL or valid for stride * (height - 1) + width * 4
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn classrec_recorder_push_frame(
    recorder: *mut classrec_recorder,
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
                ApiError::new(
                    classrec_result::WrongState,
                    "this recorder's source is not `pushed`; start it with {\"source\": {\"kind\": \"pushed\"}} to push frames",
                )
            })?;
            if bgra.is_null() {
                return Err(ApiError::null("bgra"));
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
/// Safety: recorder is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn classrec_recorder_pause(recorder: *mut classrec_recorder) -> classrec_result {
    // SAFETY: forwarded caller contract.
    unsafe { set_paused(recorder, true) }
}

/// Resumes after classrec_recorder_pause. Any thread.
///
/// Safety: recorder is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn classrec_recorder_resume(recorder: *mut classrec_recorder) -> classrec_result {
    // SAFETY: forwarded caller contract.
    unsafe { set_paused(recorder, false) }
}

/// Safety: recorder is NULL or live.
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

/// Copies the counters into *stats_out (final ones after stop). May wait while a stop is
/// finalizing the file. Any thread.
///
/// Safety: recorder is NULL or live; stats_out is NULL or points to a classrec_stats whose
/// struct_size the caller set.
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
            write_growable(stats_out, "stats_out", stats.into())
        })
    }
}

/// Stops recording, finalizes the MP4 and describes it in *recording_out (may be NULL). Also
/// collects a recording that ended by itself (after a CLASSREC_EVENT_KIND_STOPPED event). The
/// upload, if any, finishes in the background: see classrec_recorder_wait_upload. Blocks until
/// the file is finalized (typically well under a second). A second call returns
/// CLASSREC_RESULT_STOPPED. Any thread, including the event callback.
///
/// Safety: recorder is NULL or live; recording_out is NULL or points to a classrec_recording
/// whose struct_size the caller set.
#[no_mangle]
pub unsafe extern "C" fn classrec_recorder_stop(
    recorder: *mut classrec_recorder,
    recording_out: *mut classrec_recording,
) -> classrec_result {
    // SAFETY: forwarded caller contract.
    unsafe {
        on_handle(recorder, |handle| {
            if !recording_out.is_null() {
                growable_size(recording_out, "recording_out")?; // refused before anything stops
            }
            let recording = lock(&handle.recorder).stop()?;
            let path = owned_cstring(recording.path.display().to_string());
            let (recording, path) = handle.finished.get_or_init(|| (recording, path));
            if let StopReason::Failed(reason) = &recording.stop_reason {
                handle.errors.set(reason.clone());
            }
            if recording_out.is_null() {
                return Ok(());
            }
            write_growable(recording_out, "recording_out", classrec_recording::new(recording, path))
        })
    }
}

/// Waits up to timeout_ms for the cloud copy: the upload complete and, when a callback is
/// configured, the callback delivered. CLASSREC_RESULT_OK once both are done;
/// CLASSREC_RESULT_TIMEOUT if not yet (call again); CLASSREC_RESULT_UPLOAD or
/// CLASSREC_RESULT_CALLBACK when it failed for good (text in classrec_recorder_last_error);
/// CLASSREC_RESULT_WRONG_STATE when no upload is configured, or at once when called from inside
/// the event callback (the wait would hold up the events it waits for). The upload only completes
/// after stop. Any thread except the event callback's.
///
/// Safety: recorder is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn classrec_recorder_wait_upload(
    recorder: *mut classrec_recorder,
    timeout_ms: u32,
) -> classrec_result {
    // SAFETY: forwarded caller contract.
    unsafe {
        on_handle(recorder, |handle| {
            handle.require_upload()?;
            if handle.on_event_thread() {
                return Err(ApiError::new(
                    classrec_result::WrongState,
                    "classrec_recorder_wait_upload was called from inside the event callback, which would block the events it waits for; call it from another thread",
                ));
            }
            let deadline = Instant::now() + Duration::from_millis(timeout_ms.into());
            let timeout = || ApiError::new(classrec_result::Timeout, format!("not complete after {timeout_ms} ms"));
            match handle.upload.wait(deadline) {
                None => return Err(timeout()),
                Some(Err(e)) => return Err(ApiError::new(classrec_result::Upload, e)),
                Some(Ok(())) => {}
            }
            match handle.callback.wait(deadline) {
                None => Err(timeout()),
                Some(Err(e)) => Err(ApiError::new(classrec_result::Callback, e)),
                Some(Ok(())) => Ok(()),
            }
        })
    }
}

/// Changes the upload bandwidth cap while recording or uploading (bytes per second; 0: no cap).
/// CLASSREC_RESULT_WRONG_STATE when no upload is configured (as classrec_recorder_wait_upload).
/// Any thread.
///
/// Safety: recorder is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn classrec_recorder_set_upload_limit(
    recorder: *mut classrec_recorder,
    bytes_per_second: u64,
) -> classrec_result {
    // SAFETY: forwarded caller contract.
    unsafe {
        on_handle(recorder, |handle| {
            handle.require_upload()?;
            let limit = (bytes_per_second > 0).then_some(bytes_per_second);
            lock(&handle.recorder).set_upload_limit(limit);
            Ok(())
        })
    }
}

/// Copies the text of this recorder's last error (or of a failed recording's cause after stop)
/// into buf like snprintf: truncated to len - 1 bytes and NUL-terminated; *needed_out
/// (may be NULL) receives the full length without the NUL. Empty when nothing failed yet. Any
/// thread.
///
/// Safety: recorder is NULL or live; buf is NULL or valid for len bytes; needed_out is NULL or
/// valid for one write.
#[no_mangle]
pub unsafe extern "C" fn classrec_recorder_last_error(
    recorder: *const classrec_recorder,
    buf: *mut c_char,
    len: usize,
    needed_out: *mut usize,
) -> classrec_result {
    // SAFETY: forwarded caller contract.
    unsafe { last_error(recorder, buf, len, needed_out) }
}

/// Stops the recording if it is still running (finalizing the file), delivers the events already
/// queued, ends the event thread and releases user_data; no callback starts after it returns.
/// Bounded: queued events are delivered for at most 1 s, then the rest are discarded, so free
/// takes the finalize (typically well under a second), plus at most 1 s, plus the callback that is
/// running at that moment.
/// The upload goes on in the background while the process lives, and its journal lets
/// classrec_uploader_resume_pending finish it later. NULL is a no-op. Must be the last call on
/// recorder; may be called from inside the event callback.
///
/// Safety: recorder is NULL or a live recorder, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn classrec_recorder_free(recorder: *mut classrec_recorder) {
    // SAFETY: forwarded caller contract.
    unsafe { free_handle(recorder) }
}
