//! Upload: follow a growing recording and send it to S3-compatible storage (or a folder) as a
//! multipart upload, so the cloud copy is complete seconds after stop and byte-identical to the
//! local file (DESIGN.md, Upload).
//!
//! Parts are cut at fragment boundaries. Part 1 (the file's head, the first >= `part_size`
//! bytes) goes up last, because finalize rewrites the head; parts 2..N go up while recording.
//! State lives in a journal beside the recording, so a crash or a restart resumes where it was.

mod folder;
mod journal;
mod s3;
mod target;
mod throttle;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use journal::{CallbackState, Journal, JournalPart, UploadState};
pub use target::ObjectInfo;
pub use throttle::Throttle;

use folder::FolderTarget;
use s3::S3Target;
use target::{Failure, Target};

use crate::error::{Error, Result};
use crate::notify::{CallbackConfig, ClassInfo, RecordFacts};
use crate::output::RecordingLock;
use crate::queue::LatestSender;
use crate::recorder::Event;

/// S3's smallest part (all but the last): 5 MiB (AWS S3 multipart upload limits).
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// S3's largest part: 5 GiB.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// S3's most parts in one upload.
pub const MAX_PARTS: u16 = 10_000;
/// First retry delay after a transient failure; doubles each time...
const BACKOFF_START: Duration = Duration::from_millis(250);
/// ...up to this cap (with full jitter), forever while the process lives.
const BACKOFF_CAP: Duration = Duration::from_secs(20);

/// Attempts a listing makes before reporting a transient failure (a caller is waiting).
const LIST_ATTEMPTS: u32 = 3;

/// A secret that never shows in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

/// Where recordings are uploaded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum UploadTarget {
    /// S3-compatible storage: Tencent COS, AWS S3, MinIO, SeaweedFS, Garage, Ceph.
    S3 {
        /// e.g. `https://cos.ap-guangzhou.myqcloud.com` or `http://127.0.0.1:9000`.
        endpoint: String,
        /// Region; default `$AWS_REGION`, else `us-east-1`.
        #[serde(default)]
        region: Option<String>,
        /// Bucket name.
        bucket: String,
        /// Key prefix, e.g. `recordings/`.
        #[serde(default)]
        prefix: String,
        /// `http://host/bucket/key` instead of `http://bucket.host/key` (MinIO, SeaweedFS, IPs).
        #[serde(default)]
        path_style: bool,
        /// Access key; default `$AWS_ACCESS_KEY_ID`.
        #[serde(default)]
        access_key: Option<String>,
        /// Secret key; default `$AWS_SECRET_ACCESS_KEY`.
        #[serde(default)]
        secret_key: Option<Secret>,
        /// Session token for temporary credentials; default `$AWS_SESSION_TOKEN`.
        #[serde(default)]
        session_token: Option<Secret>,
    },
    /// A mounted folder (school NAS or share).
    Folder {
        /// The folder.
        path: PathBuf,
        /// Key prefix (a sub-folder).
        #[serde(default)]
        prefix: String,
    },
}

/// Upload settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadConfig {
    /// Where to upload.
    pub target: UploadTarget,
    /// Smallest part, bytes (at least 5 MiB).
    #[serde(default = "default_part_size")]
    pub part_size: u64,
    /// Bandwidth cap in bytes per second (None: no cap). Changeable while uploading.
    #[serde(default)]
    pub bandwidth_limit: Option<u64>,
}

fn default_part_size() -> u64 {
    MIN_PART_SIZE
}

impl UploadConfig {
    /// Upload to an S3 bucket with credentials from the standard `AWS_*` variables.
    pub fn s3(endpoint: &str, bucket: &str, prefix: &str) -> Self {
        UploadConfig {
            target: UploadTarget::S3 {
                endpoint: endpoint.into(),
                region: None,
                bucket: bucket.into(),
                prefix: prefix.into(),
                path_style: true,
                access_key: None,
                secret_key: None,
                session_token: None,
            },
            part_size: MIN_PART_SIZE,
            bandwidth_limit: None,
        }
    }
}

/// Progress the client shows on its upload icon.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct UploadProgress {
    /// Bytes of the recording in the cloud (completed parts).
    pub uploaded: u64,
    /// Bytes recorded so far.
    pub recorded: u64,
    /// Percent uploaded, once the final size is known (after stop).
    pub percent: Option<f32>,
}

/// A recording complete in the cloud.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UploadedObject {
    /// The local file.
    pub path: PathBuf,
    /// Bucket (or folder).
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// Size in bytes (equal to the local file's).
    pub size: u64,
    /// The object's ETag.
    pub etag: String,
    /// The object's URL.
    pub url: String,
    /// Part body bytes sent for this object, retries included.
    pub bytes_sent: u64,
    /// From the recording's final size being known (stop) to the object being complete.
    pub stop_to_complete: Option<Duration>,
}

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
    target: Box<dyn Target>,
    prefix: String,
    part_size: u64,
    throttle: Throttle,
    cancelled: AtomicBool,
}

impl std::fmt::Debug for Uploader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploader")
            .field("target", &self.target.describe())
            .field("prefix", &self.prefix)
            .finish()
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Uploader {
    /// An uploader for `config`; S3 credentials come from the config or the `AWS_*` variables.
    pub fn new(config: &UploadConfig) -> Result<Uploader> {
        if config.part_size < MIN_PART_SIZE || config.part_size > MAX_PART_SIZE {
            return Err(Error::InvalidConfig(format!(
                "part_size is {}; use {MIN_PART_SIZE} (5 MiB) to {MAX_PART_SIZE} (5 GiB), S3's limits",
                config.part_size
            )));
        }
        let (target, prefix): (Box<dyn Target>, &str) = match &config.target {
            UploadTarget::S3 {
                endpoint,
                region,
                bucket,
                prefix,
                path_style,
                access_key,
                secret_key,
                session_token,
            } => {
                let key = access_key.clone().or_else(|| env("AWS_ACCESS_KEY_ID"));
                let secret = secret_key
                    .as_ref()
                    .map(|s| s.0.clone())
                    .or_else(|| env("AWS_SECRET_ACCESS_KEY"));
                let (Some(key), Some(secret)) = (key, secret) else {
                    return Err(Error::InvalidConfig(
                        "S3 upload needs credentials: set access_key and secret_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into(),
                    ));
                };
                let token = session_token
                    .as_ref()
                    .map(|s| s.0.clone())
                    .or_else(|| env("AWS_SESSION_TOKEN"));
                let credentials = match token {
                    Some(token) => rusty_s3::Credentials::new_with_token(key, secret, token),
                    None => rusty_s3::Credentials::new(key, secret),
                };
                let region = region
                    .clone()
                    .or_else(|| env("AWS_REGION"))
                    .unwrap_or_else(|| "us-east-1".into());
                (
                    Box::new(S3Target::new(endpoint, &region, bucket, *path_style, credentials)?),
                    prefix,
                )
            }
            UploadTarget::Folder { path, prefix } => (Box::new(FolderTarget::new(path)), prefix),
        };
        Ok(Uploader {
            callback: None,
            target,
            prefix: prefix.trim_matches('/').to_owned(),
            part_size: config.part_size,
            throttle: Throttle::new(config.bandwidth_limit),
            cancelled: AtomicBool::new(false),
        })
    }

    /// Also delivers the completion callback after each upload (and resumes pending ones).
    pub fn with_callback(mut self, callback: Option<CallbackConfig>) -> Self {
        self.callback = callback;
        self
    }

    /// The object key of a recording: `<prefix>/<file name>` (file names are already sanitized).
    pub fn key_for(&self, recording: &Path) -> String {
        let name = recording
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if self.prefix.is_empty() {
            name
        } else {
            format!("{}/{name}", self.prefix)
        }
    }

    /// The configured key prefix (without surrounding slashes).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Changes the bandwidth cap (bytes per second; None: no cap) while uploading.
    pub fn set_bandwidth_limit(&self, bytes_per_second: Option<u64>) {
        self.throttle.set_limit(bytes_per_second);
    }

    /// Part body bytes sent by this uploader so far, retries included.
    pub fn bytes_sent(&self) -> u64 {
        self.throttle.bytes_sent()
    }

    /// Makes retry loops give up (the process is shutting down); journals keep the state.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
    }

    /// Recordings stored under `prefix` (ListObjectsV2 for S3). Someone waits for the answer, so
    /// transient failures are retried only a few times.
    pub fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        self.retry_up_to(LIST_ATTEMPTS, "list recordings", None, || self.target.list(prefix))?
            .map_err(Gone::unexpected)
    }

    /// A URL that plays the object for `ttl` without credentials.
    pub fn presign_get(&self, key: &str, ttl: Duration) -> String {
        self.target.presign_get(key, ttl)
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
        if journal.callback.is_none() {
            let size = journal.final_size.unwrap_or(0);
            let duration = crate::mux::finalized_duration(path).unwrap_or_default();
            let start_time = journal.start_time.unwrap_or(0);
            journal.callback = Some(crate::upload::CallbackState {
                facts: RecordFacts {
                    start_time,
                    stop_time: start_time + duration.as_secs_f64().round() as u64,
                    file_id: journal.key.clone(),
                    file_url: url.clone(),
                    file_size: size,
                    duration: duration.as_secs_f64().round() as u64,
                },
                attempts: 0,
                delivered: false,
                failed: None,
            });
        }
        let max_attempts = config.retries + 1;
        loop {
            let state = journal.callback.as_mut().expect("set above");
            if state.delivered {
                return Some(Ok(state.attempts));
            }
            if let Some(reason) = &state.failed {
                return Some(Err(Error::Callback(reason.clone())));
            }
            if state.attempts > 0 {
                std::thread::sleep(Duration::from_millis(config.retry_interval_ms));
            }
            let outcome = crate::notify::attempt(config, &class, &state.facts);
            state.attempts += 1;
            match outcome {
                Ok(()) => state.delivered = true,
                Err(reason) if state.attempts >= max_attempts => {
                    state.failed = Some(format!("{reason}; gave up after {} attempts", state.attempts))
                }
                Err(reason) => {
                    if let Some(events) = events {
                        events.send(Event::Warning {
                            message: format!("callback attempt {}: {reason}; retrying", state.attempts),
                        });
                    }
                }
            }
            let attempts = state.attempts;
            let delivered = state.delivered;
            if let Err(e) = journal.save(path) {
                return Some(Err(e));
            }
            if delivered {
                if let Some(events) = events {
                    events.send(Event::CallbackDelivered { attempts });
                }
            }
        }
    }

    fn upload_finished(&self, path: &Path, events: Option<&LatestSender<Event>>) -> Result<UploadedObject> {
        if crate::needs_recovery(path)? {
            crate::recover(path)?;
        }
        let size = std::fs::metadata(path)
            .map_err(|e| Error::io(format!("reading `{}`", path.display()), e))?
            .len();
        let mut session = Session::open(self, path, events)?;
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
        let Ok(entries) = std::fs::read_dir(folder) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for path in entries.flatten().map(|e| e.path()) {
            if path.extension().is_none_or(|e| e != "mp4") {
                continue;
            }
            let Ok(Some(journal)) = Journal::load(&path) else {
                continue;
            };
            let upload_pending = !matches!(journal.state, UploadState::Completed { .. });
            let callback_pending = self.callback.is_some()
                && journal.class.is_some()
                && journal
                    .callback
                    .as_ref()
                    .is_none_or(|c| !c.delivered && c.failed.is_none());
            let pending = upload_pending || callback_pending;
            if !pending {
                continue;
            }
            let Ok(Some(lock)) = RecordingLock::try_acquire(&path) else {
                continue; // being recorded
            };
            drop(lock);
            let Ok(Some(lock)) = upload_lock(&path) else {
                continue; // being uploaded, by a recorder or another uploader
            };
            drop(lock);
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
        let mut session = Session::open(self, path, Some(events))?;
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
            "the recording `{}` ended without being finalized; Uploader::resume_pending will finish its upload",
            path.display()
        )))
    }

    /// Runs `op` until it succeeds or fails for good; transient failures are retried with capped
    /// exponential backoff and full jitter, forever (until [`Uploader::cancel`]).
    fn retry<T>(
        &self,
        what: &str,
        events: Option<&LatestSender<Event>>,
        op: impl FnMut() -> Result<T, Failure>,
    ) -> Result<Result<T, Gone>> {
        self.retry_up_to(u32::MAX, what, events, op)
    }

    /// [`Uploader::retry`], giving up after `attempts` transient failures.
    fn retry_up_to<T>(
        &self,
        attempts: u32,
        what: &str,
        events: Option<&LatestSender<Event>>,
        mut op: impl FnMut() -> Result<T, Failure>,
    ) -> Result<Result<T, Gone>> {
        let mut delay = BACKOFF_START;
        let mut attempt = 0u32;
        loop {
            match op() {
                Ok(v) => return Ok(Ok(v)),
                Err(Failure::Permanent(e)) => return Err(e),
                Err(Failure::UploadGone) => return Ok(Err(Gone)),
                Err(Failure::Transient(message)) => {
                    if self.cancelled.load(Ordering::Acquire) {
                        return Err(Error::Upload(format!("{what}: {message} (cancelled)")));
                    }
                    attempt += 1;
                    if attempt >= attempts {
                        return Err(Error::Upload(format!(
                            "{what}: {message} (gave up after {attempt} attempts)"
                        )));
                    }
                    let sleep = jitter(delay);
                    if let Some(events) = events.filter(|_| attempt.is_power_of_two()) {
                        events.send(Event::Warning {
                            message: format!(
                                "upload: {message}; attempt {attempt}, next in {:.1} s",
                                sleep.as_secs_f32()
                            ),
                        });
                    }
                    std::thread::sleep(sleep);
                    delay = (delay * 2).min(BACKOFF_CAP);
                }
            }
        }
    }
}

/// The multipart upload no longer exists on the server (completed or expired): start over.
#[derive(Debug)]
struct Gone;

impl Gone {
    /// For requests that carry no upload id, where the server cannot mean "upload gone".
    fn unexpected(self) -> Error {
        Error::Upload("the server answered NoSuchUpload to a request without an upload id".into())
    }
}

/// The lock an upload session holds on `<file>.mp4.upload.lock`; `None` if another holds it.
fn upload_lock(path: &Path) -> Result<Option<RecordingLock>> {
    let mut name = path.as_os_str().to_owned();
    name.push(".upload");
    RecordingLock::try_acquire(Path::new(&name))
}

/// A uniformly random duration in [d/2, d]: spreads retries of many clients.
fn jitter(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    let x = (u64::from(nanos).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33) as f64 / (1u64 << 31) as f64;
    d.mul_f64(0.5 + 0.5 * x)
}

/// One recording's upload.
struct Session<'a> {
    /// Held while this session uploads the recording (`<file>.mp4.upload.lock`).
    _lock: RecordingLock,
    up: &'a Uploader,
    path: PathBuf,
    file: File,
    journal: Journal,
    events: Option<&'a LatestSender<Event>>,
    recorded: u64,
    bytes_sent: u64,
}

impl<'a> Session<'a> {
    fn open(up: &'a Uploader, path: &Path, events: Option<&'a LatestSender<Event>>) -> Result<Self> {
        let lock = upload_lock(path)?
            .ok_or_else(|| Error::Upload(format!("`{}` is being uploaded by another uploader", path.display())))?;
        let file = File::open(path).map_err(|e| Error::io(format!("opening `{}` for upload", path.display()), e))?;
        let target = up.target.describe();
        let journal = match Journal::load(path)? {
            Some(j) if j.target == target && j.key == up.key_for(path) => j,
            _ => Journal {
                version: 1,
                target,
                key: up.key_for(path),
                upload_id: None,
                part_size: up.part_size,
                head_end: None,
                parts: Vec::new(),
                final_size: None,
                state: UploadState::Uploading,
                start_time: None,
                class: None,
                callback: None,
            },
        };
        let mut session = Session {
            _lock: lock,
            up,
            path: path.to_owned(),
            file,
            journal,
            events,
            recorded: 0,
            bytes_sent: 0,
        };
        session.ensure_upload()?;
        Ok(session)
    }

    fn retry<T>(&self, what: &str, op: impl FnMut() -> Result<T, Failure>) -> Result<Result<T, Gone>> {
        self.up.retry(what, self.events, op)
    }

    /// Makes sure an upload id exists and the journal's parts are really on the server.
    fn ensure_upload(&mut self) -> Result<()> {
        let key = self.journal.key.clone();
        if let Some(id) = self.journal.upload_id.clone() {
            // An upload id the server no longer knows (Gone): start over cleanly below.
            if let Ok(server) = self.retry("check uploaded parts", || self.up.target.list_parts(&key, &id))? {
                self.keep_verified_parts(&server);
                return self.save();
            }
        }
        let id = self
            .retry("start the upload", || self.up.target.create(&key))?
            .map_err(Gone::unexpected)?;
        self.journal.upload_id = Some(id);
        self.journal.parts.clear();
        self.journal.state = UploadState::Uploading;
        self.save()
    }

    /// Keeps the journal's parts 2.. that the server holds with the same ETag and size, as long
    /// as they follow each other without a gap from the head's end.
    fn keep_verified_parts(&mut self, server: &[target::ServerPart]) {
        let mut parts: Vec<JournalPart> = self.journal.parts.drain(..).filter(|p| p.number >= 2).collect();
        parts.sort_by_key(|p| p.number);
        let mut next = self.journal.head_end.unwrap_or(0);
        for p in parts {
            let on_server = server
                .iter()
                .any(|(n, etag, size)| *n == p.number && etag == &p.etag && *size == p.len);
            if !on_server || p.offset != next {
                break;
            }
            next = p.offset + p.len;
            self.journal.parts.push(p);
        }
    }

    fn save(&self) -> Result<()> {
        self.journal.save(&self.path)
    }

    fn next_start(&self) -> u64 {
        self.journal
            .parts
            .iter()
            .filter(|p| p.number >= 2)
            .map(|p| p.offset + p.len)
            .max()
            .or(self.journal.head_end)
            .unwrap_or(0)
    }

    fn next_number(&self) -> u16 {
        self.journal.parts.iter().map(|p| p.number).max().unwrap_or(1).max(1) + 1
    }

    fn uploaded(&self) -> u64 {
        self.journal.parts.iter().map(|p| p.len).sum()
    }

    /// Bytes up to `end` are committed: cut and upload parts that are ready.
    fn committed(&mut self, end: u64) -> Result<()> {
        self.recorded = end;
        match self.journal.head_end {
            None if end >= self.journal.part_size => {
                self.journal.head_end = Some(end);
                self.save()?;
            }
            None => {}
            Some(_) => {
                let start = self.next_start();
                if end >= start + self.journal.part_size && self.next_number() < MAX_PARTS {
                    self.upload_part(self.next_number(), start, end - start)?;
                }
            }
        }
        Ok(())
    }

    /// The recording is final at `size`: upload the tail, then the head (part 1), then complete.
    fn finish(&mut self, size: u64) -> Result<UploadedObject> {
        let finalized_at = Instant::now();
        self.recorded = size;
        self.journal.final_size = Some(size);
        if self.journal.head_end.is_some_and(|h| h > size) {
            self.journal.head_end = None; // the file shrank below its head (disk full): one part
        }
        // Parts past the final size (the file gave back fragments) are re-cut into the tail.
        self.journal.parts.retain(|p| p.number == 1 || p.offset + p.len <= size);
        let head_end = *self.journal.head_end.get_or_insert(size);
        let start = self.next_start();
        if size > start {
            self.upload_part(self.next_number(), start, size - start)?;
        }
        self.journal.parts.retain(|p| p.number != 1);
        self.upload_part(1, 0, head_end)?;
        let mut parts: Vec<(u16, String)> = self.journal.parts.iter().map(|p| (p.number, p.etag.clone())).collect();
        parts.sort();
        let (key, id) = (
            self.journal.key.clone(),
            self.journal.upload_id.clone().unwrap_or_default(),
        );
        let etag = match self.retry("complete the upload", || self.up.target.complete(&key, &id, &parts))? {
            Err(Gone) => {
                // Completed by an earlier run that died before saving, or expired: start over.
                self.journal.upload_id = None;
                self.ensure_upload()?;
                return self.finish(size);
            }
            Ok(etag) => etag,
        };
        let url = self.up.target.url(&key);
        self.journal.state = UploadState::Completed {
            etag: etag.clone(),
            url: url.clone(),
        };
        self.save()?;
        let object = UploadedObject {
            path: self.path.clone(),
            bucket: self.up.target.bucket(),
            key,
            size,
            etag,
            url,
            bytes_sent: self.bytes_sent,
            stop_to_complete: Some(finalized_at.elapsed()),
        };
        if let Some(events) = self.events {
            events.send(Event::UploadComplete(object.clone()));
        }
        Ok(object)
    }

    fn upload_part(&mut self, number: u16, offset: u64, len: u64) -> Result<()> {
        // The part is read from the file twice (hash, then send), never held in memory.
        let range = || FileRange {
            file: &self.file,
            offset,
            remaining: len,
        };
        let mut hasher = Sha256::new();
        std::io::copy(&mut range(), &mut hasher)
            .map_err(|e| Error::io(format!("reading `{}` for upload", self.path.display()), e))?;
        let sha = hex::encode(hasher.finalize());
        let (key, id) = (
            self.journal.key.clone(),
            self.journal.upload_id.clone().unwrap_or_default(),
        );
        let mut sent = 0u64;
        let result = self.retry("upload a part", || {
            sent += len;
            let mut body = self.up.throttle.reader(range());
            self.up.target.put_part(&key, &id, number, &mut body, len, &sha)
        });
        self.bytes_sent += sent;
        let etag = match result? {
            Err(Gone) => {
                self.journal.upload_id = None;
                self.ensure_upload()?;
                // Everything journaled is gone with the old upload: send the parts again.
                let old: Vec<JournalPart> = std::mem::take(&mut self.journal.parts);
                for p in old {
                    self.upload_part(p.number, p.offset, p.len)?;
                }
                return self.upload_part(number, offset, len);
            }
            Ok(etag) => etag,
        };
        self.journal.parts.push(JournalPart {
            number,
            offset,
            len,
            etag,
        });
        self.save()?;
        if let Some(events) = self.events {
            let total = self.journal.final_size;
            events.send(Event::UploadProgress(UploadProgress {
                uploaded: self.uploaded(),
                recorded: self.recorded,
                percent: total.map(|t| (self.uploaded() as f64 * 100.0 / t.max(1) as f64).min(100.0) as f32),
            }));
        }
        Ok(())
    }
}

/// `remaining` bytes of `file` from `offset`, read in place.
struct FileRange<'a> {
    file: &'a File,
    offset: u64,
    remaining: u64,
}

impl Read for FileRange<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        crate::mux::read_at(self.file, self.offset, &mut buf[..n])?;
        self.offset += n as u64;
        self.remaining -= n as u64;
        Ok(n)
    }
}
