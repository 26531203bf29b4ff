//! Captured sound: the system audio (the output device's loopback: the remote students) and/or
//! the microphone (the teacher), mixed, through cpal.
//!
//! * Windows: WASAPI. An input stream opened on an *output* device is its loopback.
//! * Linux: cpal's native PulseAudio host (also PipeWire through `pipewire-pulse`). The system
//!   audio is the default sink's `.monitor` source (or the named sink's). Without a Pulse server
//!   cpal's ALSA host is used, which offers the microphone only.
//!
//! A device thread owns the cpal streams. Their callbacks convert every buffer to `f32`, to the
//! track's channel count and to 48 kHz (streams are opened at 48 kHz where the device offers it,
//! otherwise rubato resamples), stamp it on the recorder's clock and hand it over through a
//! bounded drop-oldest queue (drops are counted: [`CapturedAudio::dropped_pieces`]). The consumer
//! mixes the inputs on one timeline (`device_mix`), never waiting long for an input that delivers
//! nothing: loopback is silent while nothing plays, and silence is what is recorded then.
//!
//! A device that disappears mid-class (a headset unplugged) gives a [`AudioEvent::Warning`]; the
//! recording continues with silence for that input, the device thread keeps looking for it and
//! re-attaches when it comes back, with another warning. A lost device never ends the source.
//!
//! # The echo trap
//!
//! With loudspeakers, the microphone also hears the remote students coming out of them, so
//! [`Capture::SystemAndMic`] records the students twice: once from the loopback and once, late
//! and colored by the room, through the microphone (an echo). With a headset there is no echo.
//! The classroom client already holds the call's mixed, echo-cancelled audio: pushing that
//! (the pushed source) is the recommended path; capture is for clients that cannot.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Select, Sender};

use super::device_find::device_error;
pub use super::device_find::{list_audio_devices, AudioDeviceInfo, AudioDeviceKind};
use super::device_mix::Mixer;
use super::device_stream::{Piece, Role, Sink};
use super::device_thread::{device_thread, Input};
use super::{AudioEvent, AudioSource};
use crate::capture::Clock;
use crate::error::{Error, Result};
use crate::queue::latest_queue;

/// Pieces (device buffers, ~10-20 ms each) an input may queue before the oldest is dropped:
/// about 5 s, far beyond any hiccup of the consumer.
const QUEUE_PIECES: usize = 400;
/// How long `open` waits for the devices to start.
const OPEN_TIMEOUT: Duration = Duration::from_secs(15);

/// What to capture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capture {
    /// The system audio: what the computer plays (the remote students), from the output device's
    /// loopback.
    #[default]
    System,
    /// The microphone (the teacher).
    Mic,
    /// Both, mixed. Beware the echo trap (module docs): with loudspeakers the students are
    /// recorded twice; prefer pushing the call's echo-cancelled mix.
    SystemAndMic,
}

/// The settings of a captured-audio source: what to capture, and from which devices.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AudioCapture {
    /// System audio, microphone, or both.
    pub kind: Capture,
    /// The output device whose loopback is recorded (its name or id; on PulseAudio a sink, or
    /// directly a `.monitor` source); `None`: the default output.
    pub system_device: Option<String>,
    /// The microphone (name or id); `None`: the default input.
    pub mic_device: Option<String>,
}

impl AudioCapture {
    /// Opens the capture these settings describe, delivering `channels` (1 or 2) per frame.
    pub fn start(&self, channels: u16, clock: Clock) -> Result<CapturedAudio> {
        Self::open(
            self.kind,
            channels,
            clock,
            self.system_device.as_deref(),
            self.mic_device.as_deref(),
        )
    }

    /// Opens the capture of `kind` from the named devices (`None`: the default ones), delivering
    /// `channels` (1 or 2) per frame, stamped on `clock`. Fails, naming the devices there are,
    /// when a device cannot be found or opened.
    pub fn open(
        kind: Capture,
        channels: u16,
        clock: Clock,
        system_device: Option<&str>,
        mic_device: Option<&str>,
    ) -> Result<CapturedAudio> {
        if !(1..=2).contains(&channels) {
            return Err(Error::InvalidConfig(format!(
                "audio channels must be 1 or 2, not {channels}"
            )));
        }
        let mut roles = Vec::new();
        if matches!(kind, Capture::System | Capture::SystemAndMic) {
            roles.push((Role::System, system_device.map(str::to_owned)));
        }
        if matches!(kind, Capture::Mic | Capture::SystemAndMic) {
            roles.push((Role::Mic, mic_device.map(str::to_owned)));
        }
        CapturedAudio::open(roles, channels, clock)
    }
}

/// Captured system audio and/or microphone, mixed: an [`AudioSource`].
///
/// Chunks keep coming while nothing is heard: silence, from the clock (an input that delivers
/// nothing counts as silence after 150 ms). See the module docs for the echo trap.
pub struct CapturedAudio {
    channels: u16,
    clock: Clock,
    mixer: Mixer,
    lanes: Vec<Receiver<Piece>>,
    warnings: Receiver<String>,
    dropped: Arc<AtomicU64>,
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
    devices: Vec<String>,
}

impl std::fmt::Debug for CapturedAudio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CapturedAudio")
            .field("channels", &self.channels)
            .field("devices", &self.devices)
            .finish_non_exhaustive()
    }
}

impl CapturedAudio {
    fn open(roles: Vec<(Role, Option<String>)>, channels: u16, clock: Clock) -> Result<Self> {
        let dropped = Arc::new(AtomicU64::new(0));
        let (warn_tx, warnings) = bounded(64);
        let (stop_tx, stop_rx) = bounded(1);
        let (ready_tx, ready_rx) = bounded(1);
        let mut lanes = Vec::new();
        let mut inputs = Vec::new();
        for (role, wanted) in roles {
            let (tx, rx) = latest_queue(QUEUE_PIECES);
            lanes.push(rx);
            let sink = Sink {
                tx,
                dropped: dropped.clone(),
                clock,
                channels,
            };
            inputs.push(Input::new(role, wanted, sink));
        }
        let opened = clock.now();
        let thread = std::thread::Builder::new()
            .name("classrec-audio-devices".into())
            .spawn(move || device_thread(inputs, ready_tx, warn_tx, stop_rx))
            .map_err(|e| Error::Internal(format!("cannot start the audio device thread: {e}")))?;
        let devices = match ready_rx.recv_timeout(OPEN_TIMEOUT) {
            Ok(Ok(devices)) => devices,
            Ok(Err(err)) => {
                let _ = thread.join();
                return Err(err);
            }
            Err(_) => {
                drop(stop_tx);
                return Err(device_error(format!(
                    "the sound devices did not start within {} s; is the sound server hung?",
                    OPEN_TIMEOUT.as_secs()
                )));
            }
        };
        Ok(CapturedAudio {
            channels,
            clock,
            mixer: Mixer::new(lanes.len(), channels, opened),
            lanes,
            warnings,
            dropped,
            stop: Some(stop_tx),
            thread: Some(thread),
            devices,
        })
    }

    /// The devices captured, as "role: name (id)".
    pub fn devices(&self) -> &[String] {
        &self.devices
    }

    /// Device buffers dropped because the consumer fell more than ~5 s behind.
    pub fn dropped_pieces(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Frames dropped because they arrived after their time had been recorded as silence.
    pub fn late_frames(&self) -> u64 {
        self.mixer.late_frames()
    }

    /// Times an input's timing jumped by more than the jitter tolerance (40 ms) and was
    /// re-anchored: a gap filled with silence, or an overlap dropped.
    pub fn reanchors(&self) -> u64 {
        self.mixer.reanchors()
    }

    /// Moves what the callbacks queued into the mixer.
    fn drain_lanes(&mut self) {
        let now = self.clock.now();
        for (lane, rx) in self.lanes.iter().enumerate() {
            for piece in rx.try_iter() {
                self.mixer.push(lane, piece.start, &piece.samples, now);
            }
        }
    }
}

impl AudioSource for CapturedAudio {
    fn channels(&self) -> u16 {
        self.channels
    }

    fn next_event(&mut self, timeout: Duration) -> Result<AudioEvent> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(warning) = self.warnings.try_recv() {
                return Ok(AudioEvent::Warning(warning));
            }
            self.drain_lanes();
            if let Some(chunk) = self.mixer.take(self.clock.now()) {
                return Ok(AudioEvent::Chunk(chunk));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(AudioEvent::Idle);
            }
            // Wake for a piece or a warning, or after 10 ms to let the clock fill silence.
            let mut select = Select::new();
            for rx in &self.lanes {
                select.recv(rx);
            }
            select.recv(&self.warnings);
            let _ = select.ready_timeout(left.min(Duration::from_millis(10)));
        }
    }

    fn now(&self) -> Option<Duration> {
        Some(self.clock.now())
    }
}

impl Drop for CapturedAudio {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
