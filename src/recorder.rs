//! The recorder: capture → encode → mux on three threads joined by bounded channels.
//!
//! * capture: reads the [`FrameSource`], applies pause/resume (paused time is cut out of the
//!   timeline), and never blocks a real-time source: when the encoder is behind, the oldest
//!   waiting frame is dropped and counted.
//! * encode: skips unchanged pictures, letter-boxes, converts and encodes (see `encode`).
//! * mux: writes and fsyncs fragments, finalizes at the end (see `mux`); disk I/O never runs on the
//!   encode thread.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};
use serde::Serialize;

use crate::capture::{
    Clock, Frame, FrameBuffers, FramePusher, FrameSource, Pacer, PushedSource, RawSource, SourceEvent, SyntheticSource,
};
use crate::config::{RecorderConfig, SourceConfig};
use crate::encode::{EncodeStage, Outcome};
use crate::error::{Error, Result};
use crate::mux::{FragmentInfo, HybridWriter, Recovered, Sample, TrackInfo};
use crate::notify::ClassInfo;
use crate::output::{create_recording, prepare_dir, recover_folder, RecordingLock};
use crate::queue::{latest_queue, LatestSender};
use crate::stats::{Counters, Stats};
use crate::upload::{Growth, UploadProgress, UploadedObject, Uploader};

/// How long a source may block before the capture thread checks for stop/pause.
const SOURCE_POLL: Duration = Duration::from_millis(50);
/// Captured frames waiting for the encoder (each up to 8 MiB at 1080p): small, so memory is bounded.
const CAPTURE_QUEUE: usize = 1;
/// Encoded samples waiting for the muxer (a slow disk stalls here, not the capture).
const MUX_QUEUE: usize = 64;
/// Events kept for a consumer that does not read them (older ones are dropped).
const EVENT_QUEUE: usize = 256;
/// How long `stop` waits for a source stuck in a blocking read before ending without it.
const STUCK_SOURCE_GRACE: Duration = Duration::from_secs(2);

/// Why a recording ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "message", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StopReason {
    /// [`Recorder::stop`] was called (or the recorder was dropped).
    Requested,
    /// The source finished: window closed, input ended, frame limit reached.
    SourceEnded(String),
    /// Something failed (disk full, source error, encoder error); what was recorded is kept.
    Failed(String),
}

/// A finished recording.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Recording {
    /// The MP4 file. When `bytes` is 0 nothing was recorded and no file was kept.
    pub path: PathBuf,
    /// Playable duration.
    pub duration: Duration,
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
    /// Final counters.
    pub stats: Stats,
    /// File size in bytes.
    pub bytes: u64,
    /// Why it ended.
    pub stop_reason: StopReason,
}

/// Something the client may want to show. Delivered on [`Recorder::events`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Event {
    /// Recording started into this file (the client shows "local recording started").
    Started {
        /// The MP4 being written.
        path: PathBuf,
    },
    /// A fragment is safely on disk: a crash now loses nothing before `end`.
    FragmentCommitted(FragmentInfo),
    /// Recording paused: nothing is recorded until resumed.
    Paused,
    /// Recording resumed; playback runs straight on from the pause.
    Resumed,
    /// A recording left unfinalized by an earlier crash was recovered.
    Recovered(Recovered),
    /// Something the user should know that does not stop the recording.
    Warning {
        /// What happened and what to do.
        message: String,
    },
    /// Something failed; the recording stops and what was recorded is kept.
    Error {
        /// What happened and what to do.
        message: String,
    },
    /// The recording is finished and finalized.
    Stopped(Recording),
    /// Upload progress (after each part).
    UploadProgress(UploadProgress),
    /// The recording is complete in the cloud.
    UploadComplete(UploadedObject),
    /// The completion callback was delivered (HTTP 200 with `error_code` 0).
    CallbackDelivered {
        /// Attempts it took, the successful one included.
        attempts: u32,
    },
    /// The completion callback failed for good (after every retry).
    CallbackFailed {
        /// The last reason.
        message: String,
    },
    /// The upload stopped for good; the local file is intact and the upload can be resumed.
    UploadFailed {
        /// What happened and what to do.
        message: String,
    },
}

/// State shared by the recorder and its threads.
#[derive(Debug, Default)]
struct Shared {
    stop: AtomicBool,
    stop_requested_at: OnceLock<Instant>,
    paused: AtomicBool,
    counters: Counters,
}

impl Shared {
    fn request_stop(&self) {
        self.stop_requested_at.get_or_init(Instant::now);
        self.stop.store(true, Ordering::Release);
    }
}

/// Messages from capture to encode.
enum Captured {
    Frame(Frame),
    /// The previous picture, still showing at this time.
    Unchanged(Duration),
    End {
        at: Option<Duration>,
        reason: StopReason,
    },
}

/// Messages from encode to mux.
enum Encoded {
    Sample(Sample, Option<TrackInfo>),
    End { at: Duration, reason: StopReason },
}

struct Threads {
    capture: JoinHandle<()>,
    encode: JoinHandle<()>,
    mux: JoinHandle<Result<Recording>>,
}

/// A recording in progress. Dropping it stops and finalizes the recording.
///
/// ```no_run
/// use classrec::{Recorder, RecorderConfig};
/// let mut recorder = Recorder::start(RecorderConfig::default())?;
/// std::thread::sleep(std::time::Duration::from_secs(10));
/// let recording = recorder.stop()?;
/// println!("{} ({:?})", recording.path.display(), recording.duration);
/// # Ok::<(), classrec::Error>(())
/// ```
pub struct Recorder {
    shared: Arc<Shared>,
    events: Receiver<Event>,
    pusher: Option<FramePusher>,
    path: PathBuf,
    threads: Option<Threads>,
    uploader: Option<Arc<Uploader>>,
    upload_done: Option<Receiver<Result<UploadedObject>>>,
    callback_done: Option<Receiver<Result<u32>>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("path", &self.path)
            .field("running", &self.threads.is_some())
            .finish()
    }
}

impl Recorder {
    /// Starts recording the source named in `config`.
    pub fn start(config: RecorderConfig) -> Result<Recorder> {
        let clock = Clock::start();
        let mut pusher = None;
        let source: Box<dyn FrameSource> = match &config.source {
            SourceConfig::Synthetic {
                size,
                scene,
                fast,
                frames,
            } => {
                let (w, h) = size.or(config.size).unwrap_or((1280, 720));
                Frame::byte_len(w, h, w as usize * 4)
                    .map_err(|e| Error::InvalidConfig(format!("synthetic source: {e}")))?;
                let pace = (!fast).then_some(clock);
                Box::new(SyntheticSource::new(w, h, config.fps, *scene, pace, *frames))
            }
            SourceConfig::Raw { path, size } => Box::new(RawSource::open(path, size.0, size.1, config.fps.max(1))?),
            SourceConfig::Window { title, id } => {
                crate::capture::open_window(title.as_deref(), *id, config.fps.max(1), clock)?
            }
            SourceConfig::Pushed => {
                let (handle, source) = PushedSource::new(clock);
                pusher = Some(handle);
                Box::new(source)
            }
        };
        let mut recorder = Self::start_with_source(config, source)?;
        recorder.pusher = pusher;
        Ok(recorder)
    }

    /// Starts recording frames from any [`FrameSource`] (a platform window capture, a test source).
    pub fn start_with_source(config: RecorderConfig, mut source: Box<dyn FrameSource>) -> Result<Recorder> {
        let settings = config.resolve(source.size_hint())?;
        prepare_dir(&settings.out_dir)?;
        let (events_tx, events) = latest_queue(EVENT_QUEUE);
        for (path, result) in recover_folder(&settings.out_dir) {
            events_tx.send(match result {
                Ok(recovered) => Event::Recovered(recovered),
                Err(e) => Event::Warning {
                    message: format!("an earlier recording `{}` could not be recovered: {e}", path.display()),
                },
            });
        }
        let buffers = FrameBuffers::new();
        source.use_buffers(buffers.clone());
        let stage = EncodeStage::new(&settings, buffers)?;
        let uploader = match &config.upload {
            Some(upload) => Some(Arc::new(Uploader::new(upload)?.with_callback(config.callback.clone()))),
            None => None,
        };
        let start_time = SystemTime::now();
        let (file, path, lock) = create_recording(
            &settings.out_dir,
            start_time,
            config.class_id.as_deref(),
            config.user_id.as_deref(),
        )?;
        let writer = HybridWriter::new(file, path.clone(), settings.fragment_interval);
        let shared = Arc::new(Shared::default());
        let (captured_tx, captured_rx) = latest_queue(CAPTURE_QUEUE);
        let (encoded_tx, encoded_rx) = bounded(MUX_QUEUE);
        events_tx.send(Event::Started { path: path.clone() });

        let spawn_failed = |e: std::io::Error| Error::Internal(format!("cannot start a recorder thread: {e}"));
        let capture = {
            let (shared, events, fps) = (shared.clone(), events_tx.clone(), settings.fps);
            std::thread::Builder::new()
                .name("classrec-capture".into())
                .spawn(move || capture_loop(source, fps, captured_tx, &shared, &events))
                .map_err(spawn_failed)?
        };
        let encode = {
            let (shared, events) = (shared.clone(), events_tx.clone());
            std::thread::Builder::new()
                .name("classrec-encode".into())
                .spawn(move || encode_loop(captured_rx, stage, encoded_tx, &shared, &events))
                .map_err(spawn_failed)?
        };
        let (growth_tx, upload_done, callback_done) = match &uploader {
            Some(uploader) => {
                let unix_start = start_time
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                let follow = Follow {
                    class: config.class.clone(),
                    start_time: unix_start,
                };
                let (tx, done, callback) =
                    spawn_upload(uploader.clone(), &path, &settings.out_dir, &events_tx, follow)?;
                (Some(tx), Some(done), Some(callback))
            }
            None => (None, None, None),
        };
        let mux = {
            let shared = shared.clone();
            let size = (settings.width, settings.height);
            std::thread::Builder::new()
                .name("classrec-mux".into())
                .spawn(move || mux_loop(encoded_rx, writer, lock, size, growth_tx, &shared, &events_tx))
                .map_err(spawn_failed)?
        };
        Ok(Recorder {
            shared,
            events,
            pusher: None,
            path,
            threads: Some(Threads { capture, encode, mux }),
            uploader,
            upload_done,
            callback_done,
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Events as they happen (started, fragments, warnings, errors, stopped). The queue keeps the
    /// newest 256 events if nobody reads it.
    pub fn events(&self) -> Receiver<Event> {
        self.events.clone()
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        self.with_pusher_drops(self.shared.counters.snapshot())
    }

    /// Adds frames the pusher's queue dropped: they were captured (pushed) and dropped.
    fn with_pusher_drops(&self, mut stats: Stats) -> Stats {
        let dropped = self.pusher.as_ref().map_or(0, FramePusher::dropped);
        stats.frames_captured += dropped;
        stats.frames_dropped += dropped;
        stats
    }

    /// The handle for pushing frames, when the source is [`SourceConfig::Pushed`].
    pub fn pusher(&self) -> Option<&FramePusher> {
        self.pusher.as_ref()
    }

    /// Pauses: nothing is recorded until [`Recorder::resume`]; the paused time is cut out.
    pub fn pause(&self) {
        self.shared.paused.store(true, Ordering::Release);
    }

    /// Resumes after [`Recorder::pause`]; playback runs straight on from the pause.
    pub fn resume(&self) {
        self.shared.paused.store(false, Ordering::Release);
    }

    /// True while paused.
    pub fn is_paused(&self) -> bool {
        self.shared.paused.load(Ordering::Acquire)
    }

    /// True once the recording has ended by itself (source ended or failed) or was stopped.
    pub fn is_finished(&self) -> bool {
        self.threads.as_ref().is_none_or(|t| t.mux.is_finished())
    }

    /// Waits up to `timeout` for the upload to complete (after [`Recorder::stop`]).
    /// `None`: no upload is configured, or it is still running.
    pub fn wait_for_upload(&self, timeout: Duration) -> Option<Result<UploadedObject>> {
        self.upload_done.as_ref()?.recv_timeout(timeout).ok()
    }

    /// Waits up to `timeout` for the completion callback's outcome (after the upload):
    /// `Ok(attempts)` once delivered, `Err` once failed for good. `None`: none configured, or
    /// still trying.
    pub fn wait_for_callback(&self, timeout: Duration) -> Option<Result<u32>> {
        self.callback_done.as_ref()?.recv_timeout(timeout).ok()
    }

    /// The channels [`Recorder::wait_for_upload`] and [`Recorder::wait_for_callback`] read, for
    /// waiting without borrowing the recorder (the C ABI). Each outcome is sent once.
    #[allow(clippy::type_complexity)]
    pub(crate) fn outcome_channels(&self) -> (Option<Receiver<Result<UploadedObject>>>, Option<Receiver<Result<u32>>>) {
        (self.upload_done.clone(), self.callback_done.clone())
    }

    /// Changes the upload bandwidth cap (bytes per second; `None`: no cap) while uploading.
    pub fn set_upload_limit(&self, bytes_per_second: Option<u64>) {
        if let Some(uploader) = &self.uploader {
            uploader.set_bandwidth_limit(bytes_per_second);
        }
    }

    /// Stops recording, finalizes the file and returns what was recorded.
    /// A second call returns [`Error::Stopped`].
    pub fn stop(&mut self) -> Result<Recording> {
        self.shared.request_stop();
        self.join()
    }

    /// Waits until the source ends by itself (a file, a frame limit, a closed window), then
    /// returns the finalized recording.
    pub fn wait(&mut self) -> Result<Recording> {
        self.join()
    }

    fn join(&mut self) -> Result<Recording> {
        let threads = self.threads.take().ok_or(Error::Stopped)?;
        if let Some(pusher) = &self.pusher {
            if threads.mux.is_finished() || self.shared.stop.load(Ordering::Acquire) {
                pusher.close();
            }
        }
        let result = threads
            .mux
            .join()
            .unwrap_or_else(|_| Err(Error::Internal("the mux thread panicked".into())));
        if let Some(pusher) = &self.pusher {
            pusher.close();
        }
        let _ = threads.encode.join();
        // A source stuck in a blocking read (stdin) is left to finish on its own.
        if threads.capture.is_finished() {
            let _ = threads.capture.join();
        }
        result.map(|mut recording| {
            recording.stats = self.with_pusher_drops(recording.stats);
            recording
        })
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if self.threads.is_some() {
            let _ = self.stop();
        }
    }
}

/// Starts the upload thread that follows the recording at `path`, and a second one that finishes
/// uploads left pending in the folder by earlier runs.
#[allow(clippy::type_complexity)]
fn spawn_upload(
    uploader: Arc<Uploader>,
    path: &Path,
    folder: &Path,
    events: &LatestSender<Event>,
    follow: Follow,
) -> Result<(Sender<Growth>, Receiver<Result<UploadedObject>>, Receiver<Result<u32>>)> {
    let spawn_failed = |e: std::io::Error| Error::Internal(format!("cannot start the upload thread: {e}"));
    let (growth_tx, growth_rx) = crossbeam_channel::unbounded();
    let (done_tx, done_rx) = bounded(1);
    let (callback_tx, callback_rx) = bounded(1);
    {
        let (uploader, path, events) = (uploader.clone(), path.to_owned(), events.clone());
        std::thread::Builder::new()
            .name("classrec-upload".into())
            .spawn(move || {
                let result = uploader.follow(&path, &growth_rx, &events, follow.class.as_ref(), follow.start_time);
                let uploaded = result.is_ok();
                if let Err(e) = &result {
                    events.send(Event::UploadFailed {
                        message: format!("{e}; the local file `{}` is intact", path.display()),
                    });
                }
                let _ = done_tx.send(result);
                if uploaded {
                    if let Some(outcome) = uploader.deliver_callback(&path, Some(&events)) {
                        if let Err(e) = &outcome {
                            events.send(Event::CallbackFailed { message: e.to_string() });
                        }
                        let _ = callback_tx.send(outcome);
                    }
                }
            })
            .map_err(spawn_failed)?;
    }
    let (folder, events) = (folder.to_owned(), events.clone());
    std::thread::Builder::new()
        .name("classrec-resume".into())
        .spawn(move || {
            for (path, result) in uploader.resume_pending_with_events(&folder, Some(&events)) {
                if let Err(e) = result {
                    events.send(Event::UploadFailed {
                        message: format!("resuming the upload of `{}`: {e}", path.display()),
                    });
                }
            }
        })
        .map_err(spawn_failed)?;
    Ok((growth_tx, done_rx, callback_rx))
}

/// What the upload thread needs to know for the callback.
struct Follow {
    class: Option<ClassInfo>,
    start_time: u64,
}

/// The capture thread: source → (pause filter) → encoder queue.
fn capture_loop(
    mut source: Box<dyn FrameSource>,
    fps: u32,
    frames: LatestSender<Captured>,
    shared: &Shared,
    events: &LatestSender<Event>,
) {
    let realtime = source.now().is_some();
    let counters = &shared.counters;
    let poll = SOURCE_POLL.min(Duration::from_nanos(1_000_000_000 / u64::from(fps.max(1))));
    let mut pacer = Pacer::new(fps);
    let mut paused_at: Option<Duration> = None;
    let mut cut = Duration::ZERO; // total paused time so far
    let mut hidden = false;
    let send = |frame: Frame| {
        if realtime {
            let dropped = frames.send(Captured::Frame(frame));
            Counters::add(&counters.frames_dropped, dropped as u64);
        } else {
            frames.send_blocking(Captured::Frame(frame));
        }
    };
    let end = |pacer: &mut Pacer, at: Option<Duration>, paused_at: Option<Duration>, cut: Duration, reason| {
        if let Some(held) = pacer.poll(None) {
            send(held);
        }
        let at = paused_at.or(at).map(|t| t.saturating_sub(cut));
        frames.send_blocking(Captured::End { at, reason });
    };
    let mut stopping = false;
    loop {
        if !stopping && shared.stop.load(Ordering::Acquire) {
            // Frames already handed over before stop (pushed, due) still belong in the file.
            stopping = true;
        }
        let event = if stopping {
            match source.next_event(Duration::ZERO) {
                Ok(SourceEvent::Frame(frame)) if realtime && paused_at.is_none() => Ok(SourceEvent::Frame(frame)),
                _ => return end(&mut pacer, source.now(), paused_at, cut, StopReason::Requested),
            }
        } else {
            source.next_event(poll)
        };
        // Pause transitions are timed on the source's clock, or on the frame for virtual time.
        let time = source.now().or(match &event {
            Ok(SourceEvent::Frame(f)) => Some(f.timestamp),
            _ => None,
        });
        if let Some(time) = time {
            let paused = shared.paused.load(Ordering::Acquire);
            match paused_at {
                None if paused => {
                    paused_at = Some(time);
                    events.send(Event::Paused);
                }
                Some(since) if !paused => {
                    cut += time.saturating_sub(since);
                    paused_at = None;
                    events.send(Event::Resumed);
                }
                _ => {}
            }
        }
        match event {
            Ok(SourceEvent::Frame(mut frame)) => {
                hidden = false;
                if paused_at.is_some() {
                    continue;
                }
                frame.timestamp = frame.timestamp.saturating_sub(cut);
                Counters::add(&counters.frames_captured, 1);
                if !realtime {
                    send(frame);
                    continue;
                }
                let paced = pacer.offer(frame);
                Counters::add(&counters.frames_dropped, paced.dropped);
                if let Some(frame) = paced.send {
                    send(frame);
                }
            }
            Ok(SourceEvent::Unchanged(at)) => {
                hidden = false;
                if paused_at.is_some() {
                    continue;
                }
                let at = at.saturating_sub(cut);
                if let Some(at) = if realtime { pacer.offer_unchanged(at) } else { Some(at) } {
                    Counters::add(&counters.frames_captured, 1);
                    // Never in place of a waiting frame: that change would be lost for good (the
                    // source will not report it again). Not queued, the tick is simply skipped.
                    if !realtime {
                        frames.send_blocking(Captured::Unchanged(at));
                    } else if !frames.send_if_room(Captured::Unchanged(at)) {
                        Counters::add(&counters.frames_skipped, 1);
                    }
                }
            }
            Ok(SourceEvent::Idle) => {}
            Ok(SourceEvent::Hidden) => {
                if !hidden {
                    hidden = true;
                    events.send(Event::Warning {
                        message:
                            "the captured window is minimised or hidden: its last picture is held until it shows again"
                                .into(),
                    });
                }
            }
            Ok(SourceEvent::Ended(reason)) => {
                return end(
                    &mut pacer,
                    source.now(),
                    paused_at,
                    cut,
                    StopReason::SourceEnded(reason),
                );
            }
            Err(e) => {
                events.send(Event::Error { message: e.to_string() });
                return end(
                    &mut pacer,
                    source.now(),
                    paused_at,
                    cut,
                    StopReason::Failed(e.to_string()),
                );
            }
        }
        if paused_at.is_none() {
            if let Some(held) = pacer.poll(source.now().map(|t| t.saturating_sub(cut))) {
                send(held);
            }
        }
    }
}

/// The encode thread: frames → samples.
fn encode_loop(
    frames: Receiver<Captured>,
    mut stage: EncodeStage,
    samples: Sender<Encoded>,
    shared: &Shared,
    events: &LatestSender<Event>,
) {
    let counters = &shared.counters;
    let end = |at, reason| {
        let _ = samples.send(Encoded::End { at, reason });
    };
    loop {
        let outcome = match frames.recv_timeout(SOURCE_POLL) {
            Ok(Captured::Frame(frame)) => stage.push(frame),
            Ok(Captured::Unchanged(at)) => stage.unchanged(at),
            Ok(Captured::End { at, reason }) => return end(stage.end_time(at), reason),
            Err(RecvTimeoutError::Timeout) => {
                let stuck = shared
                    .stop_requested_at
                    .get()
                    .is_some_and(|t| t.elapsed() > STUCK_SOURCE_GRACE);
                if stuck {
                    return end(stage.end_time(None), StopReason::Requested);
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => {
                let reason = StopReason::Failed("the capture thread ended unexpectedly".into());
                return end(stage.end_time(None), reason);
            }
        };
        match outcome {
            Ok(Outcome::Sample(sample, track)) => {
                Counters::add(&counters.frames_encoded, 1);
                if samples.send(Encoded::Sample(sample, track)).is_err() {
                    return; // the muxer is gone (it failed and reported why)
                }
            }
            Ok(Outcome::Unchanged) => Counters::add(&counters.frames_skipped, 1),
            Ok(Outcome::Nothing) => Counters::add(&counters.frames_dropped, 1),
            Err(e) => {
                events.send(Event::Error { message: e.to_string() });
                shared.request_stop();
                return end(stage.end_time(None), StopReason::Failed(e.to_string()));
            }
        }
    }
}

/// The mux thread: samples → file; finalizes at the end.
fn mux_loop(
    samples: Receiver<Encoded>,
    mut writer: HybridWriter,
    lock: RecordingLock,
    size: (u32, u32),
    growth: Option<Sender<Growth>>,
    shared: &Shared,
    events: &LatestSender<Event>,
) -> Result<Recording> {
    let counters = &shared.counters;
    let mut failure: Option<Error> = None;
    let committed = |fragment: FragmentInfo| {
        Counters::add(&counters.fragments, 1);
        counters.bytes_written.store(fragment.end, Ordering::Relaxed);
        if let Some(growth) = &growth {
            let _ = growth.send(Growth::Committed(fragment.end));
        }
        events.send(Event::FragmentCommitted(fragment));
    };
    let (end, mut reason) = loop {
        match samples.recv() {
            Ok(Encoded::Sample(sample, track)) if failure.is_none() => match writer.push(sample, track.as_ref()) {
                Ok(Some(fragment)) => committed(fragment),
                Ok(None) => {}
                Err(e) => {
                    events.send(Event::Error { message: e.to_string() });
                    shared.request_stop();
                    failure = Some(e);
                }
            },
            Ok(Encoded::Sample(..)) => {} // after a failure: drain until the end
            Ok(Encoded::End { at, reason }) => break (Some(at), reason),
            Err(_) => break (None, StopReason::Failed("the encode thread ended unexpectedly".into())),
        }
    };
    let finished = match (&failure, end) {
        (None, Some(at)) => writer.finish(at).map(|last| {
            if let Some(fragment) = last {
                committed(fragment);
            }
        }),
        _ => writer.finalize(),
    };
    if let Some(e) = failure {
        reason = StopReason::Failed(e.to_string());
    }
    if let Err(e) = finished {
        events.send(Event::Error {
            message: format!(
                "{e}; the file stays playable as fragmented MP4 and classrec::recover can finish it later"
            ),
        });
        return Err(e);
    }
    let path = writer.path().to_owned();
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    if bytes == 0 {
        let _ = std::fs::remove_file(&path); // nothing was recorded: leave no empty file behind
    }
    if let Some(growth) = &growth {
        let _ = growth.send(Growth::Finalized(bytes));
    }
    drop(lock);
    counters.bytes_written.store(bytes, Ordering::Relaxed);
    let recording = Recording {
        path,
        duration: writer.duration(),
        width: size.0,
        height: size.1,
        stats: counters.snapshot(),
        bytes,
        stop_reason: reason,
    };
    events.send(Event::Stopped(recording.clone()));
    Ok(recording)
}
