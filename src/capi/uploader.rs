//! `classrec_uploader`: the cloud side without a recording: finish pending uploads and callbacks
//! in a folder, list recordings, make presigned URLs.

use std::ffi::c_char;
use std::path::PathBuf;
use std::time::Duration;

use super::boundary::{free_handle, last_error, on_handle, report_to_buffer, write_out, ErrorSlot, Handle};
use super::result::{classrec_result, ApiError};
use super::strings::{owned_string, parse_upload_config, str_arg};
use crate::queue::latest_queue;
use crate::{Event, Uploader};

/// The cloud side of a configuration (opaque): its upload, callback and out_dir.
/// Thread-safe; classrec_uploader_free must be the last call.
pub struct classrec_uploader {
    uploader: Uploader,
    folder: PathBuf,
    errors: ErrorSlot,
}

impl Handle for classrec_uploader {
    fn errors(&self) -> &ErrorSlot {
        &self.errors
    }
}

/// Creates an uploader from the same JSON a recorder takes; it uses upload (required),
/// callback and out_dir (default <home>/TClass/record). No network access happens here.
/// On failure *uploader_out is left as it was and the reason is copied into error_buf
/// (error_len bytes; NULL/0 to skip). Any thread.
///
/// Safety: config_json is NULL or NUL-terminated; uploader_out is NULL or valid for one write;
/// error_buf is NULL or valid for error_len bytes.
#[no_mangle]
pub unsafe extern "C" fn classrec_uploader_new(
    config_json: *const c_char,
    uploader_out: *mut *mut classrec_uploader,
    error_buf: *mut c_char,
    error_len: usize,
) -> classrec_result {
    // SAFETY: forwarded caller contract.
    unsafe {
        report_to_buffer(error_buf, error_len, || {
            let config = parse_upload_config(str_arg(config_json, "config_json")?)?;
            if uploader_out.is_null() {
                return Err(ApiError::null("uploader_out"));
            }
            let upload = config.upload.as_ref().ok_or_else(|| {
                ApiError::new(
                    classrec_result::InvalidConfig,
                    "the configuration has no `upload` section; add one naming the S3 bucket or folder",
                )
            })?;
            let folder = match &config.out_dir {
                Some(dir) => dir.clone(),
                None => crate::default_out_dir()?,
            };
            let handle = Box::new(classrec_uploader {
                uploader: Uploader::new(upload)?.with_callback(config.callback.clone()),
                folder,
                errors: ErrorSlot::default(),
            });
            write_out(uploader_out, "uploader_out", Box::into_raw(handle))
        })
    }
}

/// Finishes what earlier runs left in the folder: recovers crashed recordings, completes their
/// uploads and delivers their pending callbacks. Blocks (on the calling thread) until each is
/// done or has failed for good; retries transient network errors meanwhile. On success
/// *uploaded_out (may be NULL) receives how many uploads were completed. If any recording
/// failed, returns its code and classrec_uploader_last_error lists every failure; the others
/// are done and the failed ones stay pending. Any thread.
///
/// Safety: uploader is NULL or live; uploaded_out is NULL or valid for one write.
#[no_mangle]
pub unsafe extern "C" fn classrec_uploader_resume_pending(
    uploader: *mut classrec_uploader,
    uploaded_out: *mut usize,
) -> classrec_result {
    // SAFETY: forwarded caller contract.
    unsafe {
        on_handle(uploader, |handle| {
            // Internal (pub(crate)): the public `Uploader::resume_pending` does not report callback
            // failures; they arrive only as events, on a queue it does not take.
            let (events_tx, events) = latest_queue(1024);
            let results = handle
                .uploader
                .resume_pending_with_events(&handle.folder, Some(&events_tx));
            let mut failures: Vec<ApiError> = Vec::new();
            let mut uploaded = 0;
            for (path, result) in results {
                match result {
                    Ok(_) => uploaded += 1,
                    Err(e) => failures.push(ApiError::new(
                        classrec_result::of(&e),
                        format!("`{}`: {e}", path.display()),
                    )),
                }
            }
            for event in events.try_iter() {
                if let Event::CallbackFailed { message } = event {
                    failures.push(ApiError::new(classrec_result::Callback, format!("callback: {message}")));
                }
            }
            if let Some(first) = failures.first() {
                let text = failures
                    .iter()
                    .map(|f| f.message.as_str())
                    .collect::<Vec<_>>()
                    .join("\n");
                return Err(ApiError::new(first.code, text));
            }
            if !uploaded_out.is_null() {
                write_out(uploaded_out, "uploaded_out", uploaded)?;
            }
            Ok(())
        })
    }
}

/// Lists the recordings stored under prefix (NULL: the configured prefix) as a JSON array of
/// {"key", "size", "last_modified", "url"}, where url plays the object without credentials
/// for url_ttl_seconds (0: no URL). *json_out receives a string to release with
/// classrec_string_free. Blocks while it asks the server. Any thread.
///
/// Safety: uploader is NULL or live; prefix is NULL or NUL-terminated; json_out is NULL or valid
/// for one write.
#[no_mangle]
pub unsafe extern "C" fn classrec_uploader_list(
    uploader: *const classrec_uploader,
    prefix: *const c_char,
    url_ttl_seconds: u32,
    json_out: *mut *mut c_char,
) -> classrec_result {
    // SAFETY: forwarded caller contract.
    unsafe {
        on_handle(uploader, |handle| {
            let prefix = match prefix.is_null() {
                true => handle.uploader.prefix().to_owned(),
                false => str_arg(prefix, "prefix")?.to_owned(),
            };
            if json_out.is_null() {
                return Err(ApiError::null("json_out"));
            }
            let ttl = Duration::from_secs(url_ttl_seconds.into());
            let objects: Vec<serde_json::Value> = handle
                .uploader
                .list(&prefix)?
                .into_iter()
                .map(|o| {
                    let url = (url_ttl_seconds > 0)
                        .then(|| handle.uploader.presign_get(&o.key, ttl).ok())
                        .flatten();
                    serde_json::json!({"key": o.key, "size": o.size, "last_modified": o.last_modified, "url": url})
                })
                .collect();
            let json = serde_json::Value::Array(objects).to_string();
            write_out(json_out, "json_out", owned_string(json))
        })
    }
}

/// Makes a URL that plays object key without credentials for ttl_seconds (1 to 604800, S3's
/// limit of 7 days). An empty key is CLASSREC_RESULT_INVALID_CONFIG (it would sign the
/// bucket's root). *url_out receives a string to release with classrec_string_free. No
/// network access. Any thread.
///
/// Safety: uploader is NULL or live; key is NULL or NUL-terminated; url_out is NULL or valid for
/// one write.
#[no_mangle]
pub unsafe extern "C" fn classrec_uploader_presign(
    uploader: *const classrec_uploader,
    key: *const c_char,
    ttl_seconds: u32,
    url_out: *mut *mut c_char,
) -> classrec_result {
    // SAFETY: forwarded caller contract.
    unsafe {
        on_handle(uploader, |handle| {
            let key = str_arg(key, "key")?;
            if url_out.is_null() {
                return Err(ApiError::null("url_out"));
            }
            if !(1..=MAX_PRESIGN_SECONDS).contains(&ttl_seconds) {
                return Err(ApiError::new(
                    classrec_result::InvalidConfig,
                    format!("ttl_seconds is {ttl_seconds}; use 1 to {MAX_PRESIGN_SECONDS} (7 days, S3's limit)"),
                ));
            }
            let url = handle
                .uploader
                .presign_get(key, Duration::from_secs(ttl_seconds.into()))?;
            write_out(url_out, "url_out", owned_string(url))
        })
    }
}

/// SigV4's longest presigned URL lifetime: 7 days.
const MAX_PRESIGN_SECONDS: u32 = 7 * 24 * 3600;

/// Copies the text of this uploader's last error into buf; see classrec_recorder_last_error.
///
/// Safety: uploader is NULL or live; buf is NULL or valid for len bytes; needed_out is NULL or
/// valid for one write.
#[no_mangle]
pub unsafe extern "C" fn classrec_uploader_last_error(
    uploader: *const classrec_uploader,
    buf: *mut c_char,
    len: usize,
    needed_out: *mut usize,
) -> classrec_result {
    // SAFETY: forwarded caller contract.
    unsafe { last_error(uploader, buf, len, needed_out) }
}

/// Releases an uploader. NULL is a no-op. Must be the last call on uploader.
///
/// Safety: uploader is NULL or live, and not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn classrec_uploader_free(uploader: *mut classrec_uploader) {
    // SAFETY: forwarded caller contract.
    unsafe { free_handle(uploader) }
}
