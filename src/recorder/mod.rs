//! The recorder: capture → encode → mux on three threads joined by bounded channels, with an
//! upload follower when uploading (docs/ARCHITECTURE.md, Threads and queues).
//!
//! * `capture_loop.rs`: reads the [`FrameSource`], cuts paused time out of the timeline
//!   (`pause.rs`), and never blocks a real-time source.
//! * `encode_loop.rs`: skips unchanged pictures, letter-boxes, converts and encodes.
//! * `mux_loop.rs`: writes and fsyncs fragments, finalizes at the end.
//! * `follow.rs`: uploads while recording, then delivers the completion callback.

mod audio_loop;
mod capture_loop;
mod encode_loop;
mod follow;
mod mux_loop;
mod pause;
mod shared;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crossbeam_channel::{bounded, Receiver};

use crate::capture::audio::{open_audio, AudioPusher, AudioSource};
use crate::capture::{Clock, FramePusher, FrameSource};
use crate::config::RecorderConfig;
use crate::encode::{AudioEncoder, EncodeStage, FdkAacEncoder};
use crate::error::{Error, Result};
use crate::event::{Event, Recording, UploadedObject};
use crate::files::{create_recording, prepare_dir};
use crate::mux::{recover_folder, HybridWriter};
use crate::queue::{latest_queue, watched_latest_queue};
use crate::stats::Stats;
use crate::upload::Uploader;
use audio_loop::audio_loop;
use capture_loop::capture_loop;
use encode_loop::encode_loop;
use follow::{spawn_upload, Follow};
use mux_loop::{mux_loop, DiskWatch, Output};
use shared::{run_guarded, Shared};

/// Pictures waiting for the encoder (3 MiB each at 1080p) from a real-time source: one, and a
/// slow encoder drops the oldest. Files and generators have no queue: they wait, holding one
/// picture, until the encoder takes it, so no more pictures are in memory than the two stages
/// work on.
const REALTIME_CAPTURE_QUEUE: usize = 1;
/// Encoded samples waiting for the muxer (a slow disk stalls here, not the capture).
const MUX_QUEUE: usize = 64;
/// Events kept for a consumer that does not read them (older ones are dropped).
const EVENT_QUEUE: usize = 256;
struct Threads {
    capture: JoinHandle<()>,
    encode: JoinHandle<()>,
    audio: Option<JoinHandle<()>>,
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
    audio_pusher: Option<AudioPusher>,
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
        let (source, pusher) = crate::capture::open(&config.source, config.size, config.fps, clock)?;
        let mut recorder = Self::start_with(config, source, clock)?;
        recorder.pusher = pusher;
        Ok(recorder)
    }

    /// Starts recording frames from any [`FrameSource`] (a platform window capture, a test
    /// source). A sound track (`config.audio`) is timed on a clock started now: the source's
    /// timestamps should count from now too.
    pub fn start_with_source(config: RecorderConfig, source: Box<dyn FrameSource>) -> Result<Recorder> {
        Self::start_with(config, source, Clock::start())
    }

    fn start_with(config: RecorderConfig, mut source: Box<dyn FrameSource>, clock: Clock) -> Result<Recorder> {
        let settings = config.resolve(source.size_hint())?;
        let realtime = source.now().is_some();
        // Sound: its source and encoder are opened before anything is written, so a bad device
        // or rate fails the start with a clear error.
        let audio = match (&config.audio, settings.audio) {
            (Some(audio), Some(audio_settings)) => {
                let (audio_source, audio_pusher) = open_audio(&audio.source, audio_settings.channels, clock, realtime)?;
                let encoder = FdkAacEncoder::new(audio_settings.channels, Some(audio_settings.bitrate_bps))?;
                Some((audio_source, audio_pusher, encoder))
            }
            _ => None,
        };
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
        let size = (settings.encode.width, settings.encode.height);
        source.set_output_size(size.0, size.1);
        let mut stage = EncodeStage::new(&settings.encode)?;
        if audio.is_some() {
            stage = stage.with_heartbeat(settings.fragment_interval);
        }
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
        let mut writer = HybridWriter::new(file, path.clone(), settings.fragment_interval);
        if let Some((_, _, encoder)) = &audio {
            writer = writer.with_audio(encoder.info().clone());
        }
        let shared = Arc::new(Shared::default());
        let (captured_tx, captured_rx) = watched_latest_queue(if realtime { REALTIME_CAPTURE_QUEUE } else { 0 });
        let (encoded_tx, encoded_rx) = bounded(MUX_QUEUE);
        let audio_packets = encoded_tx.clone();
        events_tx.send(Event::Started { path: path.clone() });

        let spawn_failed = |e: std::io::Error| Error::Internal(format!("cannot start a recorder thread: {e}"));
        let capture = {
            let (shared, events, fps) = (shared.clone(), events_tx.clone(), settings.encode.fps);
            std::thread::Builder::new()
                .name("classrec-capture".into())
                .spawn(move || {
                    // The queue outlives the guarded body: the next stage sees it close only after
                    // a panic's reason is in `shared` (see `run_guarded`).
                    let frames = captured_tx;
                    run_guarded("capture", &shared, &events, || {
                        capture_loop(source, fps, size, &frames, &shared, &events)
                    });
                })
                .map_err(spawn_failed)?
        };
        let encode = {
            let (shared, events) = (shared.clone(), events_tx.clone());
            std::thread::Builder::new()
                .name("classrec-encode".into())
                .spawn(move || {
                    let samples = encoded_tx; // outlives the guarded body, as above
                    run_guarded("encode", &shared, &events, || {
                        encode_loop(captured_rx, stage, &samples, &shared, &events)
                    });
                })
                .map_err(spawn_failed)?
        };
        let (audio_thread, audio_pusher) = match audio {
            Some((audio_source, audio_pusher, encoder)) => {
                let (shared, events, packets) = (shared.clone(), events_tx.clone(), audio_packets);
                let source: Box<dyn AudioSource> = audio_source;
                let encoder: Box<dyn AudioEncoder> = Box::new(encoder);
                let thread = std::thread::Builder::new()
                    .name("classrec-audio".into())
                    .spawn(move || {
                        run_guarded("audio", &shared, &events, || {
                            audio_loop(source, encoder, &packets, &shared, &events)
                        });
                    })
                    .map_err(spawn_failed)?;
                (Some(thread), audio_pusher)
            }
            None => (None, None),
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
            let audio_bps = settings.audio.map_or(0, |a| u64::from(a.bitrate_bps));
            let output = Output {
                size: (settings.encode.width, settings.encode.height),
                disk: DiskWatch::new(
                    settings.out_dir.clone(),
                    u64::from(settings.encode.bitrate_bps) + audio_bps,
                ),
            };
            std::thread::Builder::new()
                .name("classrec-mux".into())
                .spawn(move || {
                    run_guarded("mux", &shared, &events_tx, || {
                        mux_loop(encoded_rx, writer, lock, output, growth_tx, &shared, &events_tx)
                    })
                    .unwrap_or_else(|| Err(Error::Internal(shared.failure.get().cloned().unwrap_or_default())))
                })
                .map_err(spawn_failed)?
        };
        Ok(Recorder {
            shared,
            events,
            pusher: None,
            audio_pusher,
            path,
            threads: Some(Threads {
                capture,
                encode,
                audio: audio_thread,
                mux,
            }),
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
        stats.audio_pushes_retimed = self.audio_pusher.as_ref().map_or(0, AudioPusher::retimed_pushes);
        stats
    }

    /// The handle for pushing frames, when the source is [`crate::SourceConfig::Pushed`].
    pub fn pusher(&self) -> Option<&FramePusher> {
        self.pusher.as_ref()
    }

    /// The handle for pushing sound, when the sound source is `AudioSourceConfig::Pushed`.
    pub fn audio_pusher(&self) -> Option<&AudioPusher> {
        self.audio_pusher.as_ref()
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
            .unwrap_or_else(|_| Err(Error::Internal("the mux thread ended unexpectedly".into())));
        if let Some(pusher) = &self.pusher {
            pusher.close();
        }
        let _ = threads.encode.join();
        if let Some(pusher) = &self.audio_pusher {
            pusher.close();
        }
        if let Some(audio) = threads.audio {
            let _ = audio.join();
        }
        // A source stuck in a blocking read (stdin) is left to finish on its own: once the read
        // returns, its thread sees the encoder gone and ends (`LatestSender::consumer_gone`).
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
