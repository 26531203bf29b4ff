//! Upload: follow a growing recording and send it to S3-compatible storage (or a folder) as a
//! multipart upload, so the cloud copy is complete seconds after stop and byte-identical to the
//! local file (docs/ARCHITECTURE.md, Upload).
//!
//! * `config.rs`: where to upload, S3's limits, credentials;
//! * `session.rs`: one recording's multipart upload and its part planning (parts cut at fragment
//!   boundaries; part 1, the head that finalize rewrites, goes up last);
//! * `retry.rs`: the retry policy; `journal.rs`: the state beside the recording that makes a
//!   crash or a restart resume where it was; `s3.rs`, `folder.rs`: the targets; `throttle.rs`:
//!   the bandwidth cap.
//!
//! After an upload completes, the completion callback is handed to `notify`.

mod config;
mod folder;
mod journal;
mod link;
mod retry;
mod s3;
mod session;
mod target;
mod throttle;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::Receiver;

pub use config::{UploadConfig, UploadTarget, MAX_PARTS, MAX_PART_SIZE, MIN_PART_SIZE};
pub use journal::{Journal, JournalPart, UploadState};
pub use target::ObjectInfo;
pub use throttle::Throttle;

use link::Link;
use retry::{retry, RetryPolicy};
use session::Session;

use crate::error::{Error, Result};
use crate::event::{Event, UploadedObject};
use crate::files::{recordings_in, RecordingLock};
use crate::notify::{CallbackConfig, CallbackState, ClassInfo, RecordFacts};
use crate::queue::LatestSender;

/// What the recorder tells a following upload.
#[derive(Debug)]
pub(crate) enum Growth {
    /// Bytes up to here are committed and will not change (except the head).
    Committed(u64),
    /// The recording is finalized with this size.
    Finalized(u64),
}

/// Uploads recordings; cheap to share across threads (`Arc`).
pub struct Uploader {
    callback: Option<CallbackConfig>,
    link: Link,
}

impl std::fmt::Debug for Uploader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploader")
            .field("target", &self.link.target.describe())
            .field("prefix", &self.link.prefix)
            .finish()
    }
}

impl Uploader {
    /// An uploader for `config`; S3 credentials come from the config or the `AWS_*` variables.
    pub fn new(config: &UploadConfig) -> Result<Uploader> {
        let (target, prefix) = config.open_target()?;
        Ok(Uploader {
            callback: None,
            link: Link {
                target,
                prefix,
                part_size: config.part_size,
                throttle: Throttle::new(config.bandwidth_limit),
                cancelled: AtomicBool::new(false),
            },
        })
    }

    /// Also delivers the completion callback after each upload (and resumes pending ones).
    pub fn with_callback(mut self, callback: Option<CallbackConfig>) -> Self {
        self.callback = callback;
        self
    }

    /// The object key of a recording: `<prefix>/<file name>` (file names are already sanitized).
    pub fn key_for(&self, recording: &Path) -> String {
        self.link.key_for(recording)
    }

    /// The configured key prefix (without surrounding slashes).
    pub fn prefix(&self) -> &str {
        &self.link.prefix
    }

    /// Changes the bandwidth cap (bytes per second; None: no cap) while uploading.
    pub fn set_bandwidth_limit(&self, bytes_per_second: Option<u64>) {
        self.link.throttle.set_limit(bytes_per_second);
    }

    /// Part body bytes sent by this uploader so far, retries included.
    pub fn bytes_sent(&self) -> u64 {
        self.link.throttle.bytes_sent()
    }

    /// Makes retry loops give up (the process is shutting down); journals keep the state.
    pub fn cancel(&self) {
        self.link.cancelled.store(true, Ordering::Release);
    }

    /// Recordings stored under `prefix` (ListObjectsV2 for S3). Someone waits for the answer, so
    /// transient failures are retried only a few times.
    pub fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        retry(
            RetryPolicy::A_FEW,
            &self.link.cancelled,
            "list recordings",
            None,
            || self.link.target.list(prefix),
        )?
        .without_upload_id()
    }

    /// A URL that plays the object for `ttl` without credentials. An empty key (or one of only
    /// slashes) is refused: it would sign the bucket's root.
    pub fn presign_get(&self, key: &str, ttl: Duration) -> Result<String> {
        if key.trim_matches('/').is_empty() {
            return Err(Error::InvalidConfig(format!(
                "the key `{key}` names no object; pass an object's key, e.g. from the listing"
            )));
        }
        Ok(self.link.target.presign_get(key, ttl))
    }

    /// Uploads a finished recording (resuming its journal if it has one).
    pub fn upload_file(&self, path: &Path) -> Result<UploadedObject> {
        self.upload_finished(path, None)
    }

    /// Delivers (or goes on delivering) the completion callback recorded in `path`'s journal.
    /// `None`: no callback is configured or due; `Some(Ok(attempts))` once delivered.
    pub(crate) fn deliver_callback(&self, path: &Path, events: Option<&LatestSender<Event>>) -> Option<Result<u32>> {
        let config = self.callback.as_ref()?;
        let mut journal = Journal::load(path).ok()??;
        let class = journal.class.clone()?;
        let UploadState::Completed { url, .. } = &journal.state else {
            return None;
        };
        let mut state = match journal.callback.take() {
            Some(state) => state,
            None => {
                let duration = crate::mux::finalized_duration(path).unwrap_or_default();
                let start_time = journal.start_time.unwrap_or(0);
                let seconds = duration.as_secs_f64().round() as u64;
                CallbackState::new(RecordFacts {
                    start_time,
                    stop_time: start_time + seconds,
                    file_id: journal.key.clone(),
                    file_url: url.clone(),
                    file_size: journal.final_size.unwrap_or(0),
                    duration: seconds,
                })
            }
        };
        let persist = |state: &CallbackState| {
            journal.callback = Some(state.clone());
            journal.save(path)
        };
        Some(crate::notify::deliver(config, &class, &mut state, persist, events))
    }

    fn upload_finished(&self, path: &Path, events: Option<&LatestSender<Event>>) -> Result<UploadedObject> {
        if crate::mux::needs_recovery(path)? {
            crate::mux::recover(path)?;
        }
        let size = std::fs::metadata(path)
            .map_err(|e| Error::io(format!("reading `{}`", path.display()), e))?
            .len();
        let mut session = Session::open(&self.link, path, events)?;
        session.committed(size)?;
        session.finish(size)
    }

    /// Finishes every unfinished upload in `folder` (recordings with a journal that is not
    /// completed), recovering crashed recordings first. One entry per recording tried.
    pub fn resume_pending(&self, folder: &Path) -> Vec<(PathBuf, Result<UploadedObject>)> {
        self.resume_pending_with_events(folder, None)
    }

    pub(crate) fn resume_pending_with_events(
        &self,
        folder: &Path,
        events: Option<&LatestSender<Event>>,
    ) -> Vec<(PathBuf, Result<UploadedObject>)> {
        let mut out = Vec::new();
        for path in recordings_in(folder) {
            let Ok(Some(journal)) = Journal::load(&path) else {
                continue;
            };
            let upload_pending = !matches!(journal.state, UploadState::Completed { .. });
            let callback_pending = self.callback.is_some()
                && journal.class.is_some()
                && journal.callback.as_ref().is_none_or(CallbackState::is_pending);
            let pending = upload_pending || callback_pending;
            if !pending {
                continue;
            }
            if !RecordingLock::is_idle(&path) {
                continue; // being recorded, or uploaded by a recorder or another uploader
            }
            let result = if upload_pending {
                self.upload_finished(&path, events).map(Some)
            } else {
                Ok(None)
            };
            match result {
                Ok(uploaded) => {
                    let callback = self.deliver_callback(&path, events);
                    if let Some(Err(e)) = &callback {
                        if let Some(events) = events {
                            events.send(Event::CallbackFailed { message: e.to_string() });
                        }
                    }
                    if let Some(object) = uploaded {
                        out.push((path, Ok(object)));
                    }
                }
                Err(e) => out.push((path, Err(e))),
            }
        }
        out
    }

    /// Follows a recording being written: uploads parts as fragments commit, completes at the end.
    pub(crate) fn follow(
        &self,
        path: &Path,
        growth: &Receiver<Growth>,
        events: &LatestSender<Event>,
        class: Option<&ClassInfo>,
        start_time: u64,
    ) -> Result<UploadedObject> {
        let mut session = Session::open(&self.link, path, Some(events))?;
        session.journal.class = class.cloned();
        session.journal.start_time = Some(start_time);
        session.save()?;
        for message in growth {
            match message {
                Growth::Committed(end) => session.committed(end)?,
                Growth::Finalized(0) => {
                    return Err(Error::Upload("nothing was recorded, so nothing was uploaded".into()))
                }
                Growth::Finalized(size) => return session.finish(size),
            }
        }
        Err(Error::Upload(format!(
            "the recording `{}` ended without being finalized; resuming the pending uploads (on the next start) will finish its upload",
            path.display()
        )))
    }
}
