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

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use crossbeam_channel::{bounded, Receiver, Select, Sender};
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Async, FixedAsync, Resampler, SincInterpolationParameters, SincInterpolationType, WindowFunction};

use super::device_mix::Mixer;
use super::{AudioEvent, AudioSource, AUDIO_RATE};
use crate::capture::Clock;
use crate::error::{Error, Result};
use crate::queue::{latest_queue, LatestSender};

/// Pieces (device buffers, ~10-20 ms each) an input may queue before the oldest is dropped:
/// about 5 s, far beyond any hiccup of the consumer.
const QUEUE_PIECES: usize = 400;
/// How often the device thread checks its streams and looks for lost devices.
const DEVICE_POLL: Duration = Duration::from_millis(250);
/// How often a lost device is looked for.
const REATTACH_EVERY: Duration = Duration::from_secs(1);
/// How often an attached device's presence in the device list is checked.
const PRESENCE_CHECK_EVERY: Duration = Duration::from_secs(1);
/// The buffer asked of PulseAudio: 20 ms. Left to itself, Pulse delivers a record stream in
/// fragments of up to 2 s.
const PULSE_BUFFER_FRAMES: u32 = AUDIO_RATE / 50;
/// How long `open` waits for the devices to start.
const OPEN_TIMEOUT: Duration = Duration::from_secs(15);
/// How fast a stream's anchor may creep later (1000 ppm), to follow a device clock slower than
/// the recorder's.
const ANCHOR_CREEP_PPM: u64 = 1000;

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

/// Whether a device records or plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AudioDeviceKind {
    /// A microphone, line in, or (on PulseAudio/PipeWire) a sink's `.monitor`.
    Input,
    /// Loudspeakers or headphones; capturing one records its loopback (system audio).
    Output,
}

/// A sound device, as [`list_audio_devices`] reports it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AudioDeviceInfo {
    /// Its name for people (the device's description).
    pub name: String,
    /// Its stable id (PulseAudio: the sink or source name; WASAPI: the endpoint id). Either this
    /// or `name` selects it in [`AudioCapture::open`].
    pub id: String,
    /// Input or output.
    pub kind: AudioDeviceKind,
    /// True for the system's default input or output.
    pub default: bool,
}

/// Lists the sound devices: inputs (microphones; PulseAudio/PipeWire monitors) and outputs
/// (whose loopback is the system audio).
pub fn list_audio_devices() -> Result<Vec<AudioDeviceInfo>> {
    let host = audio_host()?;
    let default_in = host.default_input_device().and_then(|d| device_id(&d));
    let default_out = host.default_output_device().and_then(|d| device_id(&d));
    let mut list = Vec::new();
    let devices = host
        .devices()
        .map_err(|e| device_error(format!("cannot list the sound devices: {e}")))?;
    for device in devices {
        let Some(id) = device_id(&device) else { continue };
        let name = device_name(&device);
        for (kind, supported, default) in [
            (AudioDeviceKind::Input, device.supports_input(), &default_in),
            (AudioDeviceKind::Output, device.supports_output(), &default_out),
        ] {
            if supported {
                list.push(AudioDeviceInfo {
                    name: name.clone(),
                    id: id.clone(),
                    kind,
                    default: default.as_deref() == Some(id.as_str()),
                });
            }
        }
    }
    Ok(list)
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

/// Which input a lane carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    System,
    Mic,
}

impl Role {
    fn label(self) -> &'static str {
        match self {
            Role::System => "system audio",
            Role::Mic => "microphone",
        }
    }
}

/// A piece of one input: converted to the track's channels at 48 kHz, stamped on the clock.
struct Piece {
    start: Duration,
    samples: Vec<f32>,
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
            inputs.push(Input {
                role,
                wanted,
                sink: Sink {
                    tx,
                    dropped: dropped.clone(),
                    clock,
                    channels,
                },
                attached: None,
                lost_since: None,
            });
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

/// Where an input's callback delivers (shared by every stream the input ever opens).
#[derive(Clone)]
struct Sink {
    tx: LatestSender<Piece>,
    dropped: Arc<AtomicU64>,
    clock: Clock,
    channels: u16,
}

/// An open stream and what its callbacks report.
struct Attached {
    _stream: cpal::Stream,
    name: String,
    id: String,
    errors: Receiver<cpal::Error>,
    last_presence_check: Instant,
}

/// One input as the device thread sees it.
struct Input {
    role: Role,
    wanted: Option<String>,
    sink: Sink,
    attached: Option<Attached>,
    /// When the device was lost, and when it was last looked for.
    lost_since: Option<Instant>,
}

/// Owns the streams (cpal streams need not be `Send`): opens them, watches for lost devices and
/// re-attaches them, until `stop` is dropped.
fn device_thread(
    mut inputs: Vec<Input>,
    ready: Sender<Result<Vec<String>>>,
    warnings: Sender<String>,
    stop: Receiver<()>,
) {
    let mut names = Vec::new();
    for input in &mut inputs {
        match attach(input) {
            Ok((attached, warning)) => {
                names.push(format!("{}: {} ({})", input.role.label(), attached.name, attached.id));
                if let Some(warning) = warning {
                    let _ = warnings.try_send(warning);
                }
                input.attached = Some(attached);
            }
            Err(err) => {
                let _ = ready.send(Err(err));
                return;
            }
        }
    }
    if ready.send(Ok(names)).is_err() {
        return;
    }
    let mut host: Option<cpal::Host> = None;
    while let Err(crossbeam_channel::RecvTimeoutError::Timeout) = stop.recv_timeout(DEVICE_POLL) {
        for input in &mut inputs {
            if let Some(message) = check_attached(input, &mut host) {
                let _ = warnings.try_send(message);
            }
            if input.attached.is_none() && input.lost_since.is_some_and(|at| at.elapsed() >= REATTACH_EVERY) {
                input.lost_since = Some(Instant::now());
                if let Ok((attached, _)) = attach(input) {
                    let _ = warnings.try_send(format!(
                        "{}: `{}` is back; its sound is recorded again",
                        input.role.label(),
                        attached.name
                    ));
                    input.attached = Some(attached);
                    input.lost_since = None;
                }
            }
        }
    }
}

/// Whether a stream error means the device is gone (rather than a glitch to ride out).
fn is_fatal(err: &cpal::Error) -> bool {
    !matches!(
        err.kind(),
        cpal::ErrorKind::Xrun | cpal::ErrorKind::DeviceChanged | cpal::ErrorKind::RealtimeDenied
    )
}

/// Detaches `input` if its stream reported a fatal error or its device is no longer listed;
/// returns the warning to give. The list is checked every second whatever the stream says:
/// PulseAudio moves a stream whose source vanished to another source (its built-in rescue), so
/// the stream itself never fails.
fn check_attached(input: &mut Input, host: &mut Option<cpal::Host>) -> Option<String> {
    let attached = input.attached.as_mut()?;
    let mut reason = attached.errors.try_iter().find(is_fatal).map(|e| e.to_string());
    if reason.is_none() && attached.last_presence_check.elapsed() >= PRESENCE_CHECK_EVERY {
        attached.last_presence_check = Instant::now();
        if host.is_none() {
            *host = audio_host().ok();
        }
        let present = host.as_ref().map(|h| {
            h.devices()
                .map(|mut all| all.any(|d| device_id(&d).as_deref() == Some(attached.id.as_str())))
        });
        match present {
            Some(Ok(true)) => {}
            Some(Ok(false)) => reason = Some("it is no longer listed".into()),
            Some(Err(e)) => {
                *host = None;
                reason = Some(format!("the sound server does not answer ({e})"));
            }
            None => reason = Some("the sound server is gone".into()),
        }
    }
    let reason = reason?;
    let name = attached.name.clone();
    input.attached = None;
    input.lost_since = Some(Instant::now());
    Some(format!(
        "{}: `{name}` is gone ({reason}); the recording continues with silence for it and picks it up again when it comes back",
        input.role.label()
    ))
}

/// Finds the input's device and starts its stream. Returns a warning worth giving, if any.
fn attach(input: &Input) -> Result<(Attached, Option<String>)> {
    let host = audio_host()?;
    let (device, warning) = match input.role {
        Role::System => (system_device(&host, input.wanted.as_deref())?, None),
        Role::Mic => mic_device(&host, input.wanted.as_deref())?,
    };
    let name = device_name(&device);
    let id = device_id(&device).unwrap_or_else(|| name.clone());
    let (errors_tx, errors) = bounded(16);
    let pulse = is_pulse(&host);
    let stream = start_stream(&device, input.role, pulse, input.sink.clone(), errors_tx)?;
    Ok((
        Attached {
            _stream: stream,
            name,
            id,
            errors,
            last_presence_check: Instant::now(),
        },
        warning,
    ))
}

/// The host to capture with: PulseAudio (also PipeWire's pulse server) where it runs on Linux,
/// else the platform's default (WASAPI, ALSA, CoreAudio).
fn audio_host() -> Result<cpal::Host> {
    #[cfg(target_os = "linux")]
    if cpal::available_hosts().contains(&cpal::HostId::PulseAudio) {
        if let Ok(host) = cpal::host_from_id(cpal::HostId::PulseAudio) {
            return Ok(host);
        }
    }
    Ok(cpal::default_host())
}

fn is_pulse(host: &cpal::Host) -> bool {
    #[cfg(target_os = "linux")]
    return host.id() == cpal::HostId::PulseAudio;
    #[cfg(not(target_os = "linux"))]
    {
        let _ = host;
        false
    }
}

fn device_id(device: &cpal::Device) -> Option<String> {
    device.id().ok().map(|id| id.id().to_owned())
}

fn device_name(device: &cpal::Device) -> String {
    device
        .description()
        .map(|d| d.name().to_owned())
        .or_else(|_| device.id().map(|id| id.id().to_owned()))
        .unwrap_or_else(|_| "unnamed device".into())
}

fn device_error(message: String) -> Error {
    Error::AudioDevice(message)
}

/// The devices of `host` that `accept` keeps, matched by id, then name, exactly, then in part
/// (ignoring case).
fn find_device(
    host: &cpal::Host,
    wanted: &str,
    accept: impl Fn(&cpal::Device) -> bool,
) -> Result<Option<cpal::Device>> {
    let devices: Vec<cpal::Device> = host
        .devices()
        .map_err(|e| device_error(format!("cannot list the sound devices: {e}")))?
        .filter(|d| accept(d))
        .collect();
    let lower = wanted.to_lowercase();
    let id_is = |d: &cpal::Device| device_id(d).as_deref() == Some(wanted);
    let name_is = |d: &cpal::Device| device_name(d) == wanted;
    let contains = |d: &cpal::Device| {
        device_name(d).to_lowercase().contains(&lower)
            || device_id(d).is_some_and(|id| id.to_lowercase().contains(&lower))
    };
    Ok(devices
        .iter()
        .find(|d| id_is(d))
        .or_else(|| devices.iter().find(|d| name_is(d)))
        .or_else(|| devices.iter().find(|d| contains(d)))
        .cloned())
}

fn not_found(what: &str, wanted: Option<&str>) -> Error {
    let listed = list_audio_devices()
        .map(|all| {
            all.iter()
                .map(|d| format!("{:?} `{}` ({})", d.kind, d.name, d.id))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let which = wanted.map_or_else(|| "the default one".to_owned(), |w| format!("`{w}`"));
    device_error(format!(
        "no {what} device {which}; the devices are: [{listed}] (`record --list-audio-devices`)"
    ))
}

/// The device whose input is the system audio: on PulseAudio the sink's `.monitor` source, on
/// WASAPI (and CoreAudio) the output device itself (an input stream on it is its loopback).
fn system_device(host: &cpal::Host, wanted: Option<&str>) -> Result<cpal::Device> {
    if is_pulse(host) {
        // A monitor source named directly.
        if let Some(wanted) = wanted {
            if let Some(monitor) = find_device(host, wanted, |d| {
                d.supports_input() && device_id(d).is_some_and(|id| id.ends_with(".monitor"))
            })?
            .filter(|d| device_id(d).as_deref() == Some(wanted) || device_name(d) == wanted)
            {
                return Ok(monitor);
            }
        }
        let sink = match wanted {
            Some(wanted) => find_device(host, wanted, |d| d.supports_output())?,
            None => host.default_output_device(),
        }
        .ok_or_else(|| not_found("output", wanted))?;
        let monitor = format!("{}.monitor", device_id(&sink).unwrap_or_default());
        return host
            .devices()
            .map_err(|e| device_error(format!("cannot list the sound devices: {e}")))?
            .find(|d| device_id(d).as_deref() == Some(monitor.as_str()))
            .ok_or_else(|| {
                device_error(format!(
                    "the output `{}` has no monitor source `{monitor}`",
                    device_name(&sink)
                ))
            });
    }
    if cfg!(target_os = "linux") {
        return Err(device_error(
            "capturing the system audio needs PulseAudio or PipeWire (pipewire-pulse) running; \
             ALSA alone has no loopback"
                .into(),
        ));
    }
    match wanted {
        Some(wanted) => find_device(host, wanted, |d| d.supports_output())?,
        None => host.default_output_device(),
    }
    .ok_or_else(|| not_found("output", wanted))
}

/// The microphone, and a warning when the default input is in fact a monitor (PulseAudio makes a
/// sink's monitor the default source when there is no microphone).
fn mic_device(host: &cpal::Host, wanted: Option<&str>) -> Result<(cpal::Device, Option<String>)> {
    let device = match wanted {
        Some(wanted) => find_device(host, wanted, |d| d.supports_input())?,
        None => host.default_input_device(),
    }
    .ok_or_else(|| not_found("input", wanted))?;
    let warning = (wanted.is_none() && device_id(&device).is_some_and(|id| id.ends_with(".monitor"))).then(|| {
        format!(
            "microphone: the default input `{}` is the monitor of an output, not a microphone; \
             choose the microphone by name",
            device_name(&device)
        )
    });
    Ok((device, warning))
}

/// The stream configuration: 48 kHz `f32` where the device offers it (with the track's channel
/// count if possible), else the device's default (resampled).
fn choose_config(device: &cpal::Device, role: Role, channels: u16, pulse: bool) -> Result<cpal::SupportedStreamConfig> {
    let ranges: Vec<cpal::SupportedStreamConfigRange> = device
        .supported_input_configs()
        .map(|r| r.collect())
        .unwrap_or_default();
    let at_48k = |want_channels: Option<u16>, format: cpal::SampleFormat| {
        ranges
            .iter()
            .filter(|r| r.sample_format() == format && want_channels.is_none_or(|c| r.channels() == c))
            .find_map(|r| r.try_with_sample_rate(AUDIO_RATE))
    };
    if let Some(config) = at_48k(Some(channels), cpal::SampleFormat::F32)
        .or_else(|| at_48k(None, cpal::SampleFormat::F32))
        .or_else(|| ranges.iter().find_map(|r| r.try_with_sample_rate(AUDIO_RATE)))
    {
        return Ok(config);
    }
    let _ = pulse;
    device
        .default_input_config()
        .or_else(|e| {
            if role == Role::System {
                device.default_output_config()
            } else {
                Err(e)
            }
        })
        .map_err(|e| device_error(format!("`{}` offers no usable input format: {e}", device_name(device))))
}

/// Opens and starts the input stream on `device`, delivering into `sink`.
fn start_stream(
    device: &cpal::Device,
    role: Role,
    pulse: bool,
    sink: Sink,
    errors: Sender<cpal::Error>,
) -> Result<cpal::Stream> {
    let supported = choose_config(device, role, sink.channels, pulse)?;
    let mut config = supported.config();
    if pulse {
        config.buffer_size = cpal::BufferSize::Fixed(PULSE_BUFFER_FRAMES);
    }
    let format = supported.sample_format();
    let mut convert = Converter::new(config.channels, config.sample_rate, sink.channels)?;
    let mut stamp = Stamper::default();
    let name = device_name(device);
    let stream = device
        .build_input_stream_raw(
            config,
            format,
            move |data: &cpal::Data, _info: &cpal::InputCallbackInfo| {
                let now = sink.clock.now();
                let Some(samples) = to_f32(data) else { return };
                let samples = convert.run(&samples);
                if samples.is_empty() {
                    return;
                }
                let frames = (samples.len() / sink.channels as usize) as u64;
                let start = stamp.piece(now, frames);
                let dropped = sink.tx.send(Piece { start, samples });
                if dropped > 0 {
                    sink.dropped.fetch_add(dropped as u64, Ordering::Relaxed);
                }
            },
            move |err| {
                let _ = errors.try_send(err);
            },
            Some(Duration::from_secs(5)),
        )
        .map_err(|e| device_error(format!("cannot open the {} on `{name}`: {e}", role.label())))?;
    stream
        .play()
        .map_err(|e| device_error(format!("cannot start the {} on `{name}`: {e}", role.label())))?;
    Ok(stream)
}

/// Stamps an input's pieces on the recorder's clock.
///
/// A piece cannot reach the callback before its last sample was captured, so for every piece
/// `now - (frames so far, this one included) / 48 kHz` is a bound on when the stream's first
/// sample was captured, and the smallest bound seen (the lower envelope) is the anchor the
/// pieces are counted from: no jitter, and late by only the device's minimal delivery delay
/// (a few ms). cpal's own capture timestamps are not used: its PulseAudio host interpolates a
/// latency that jumps by up to ~60 ms from one 20 ms piece to the next (measured here).
/// The anchor creeps later by at most 1000 ppm, following a device clock that runs slow.
#[derive(Default)]
struct Stamper {
    anchor: Option<Duration>,
    last_now: Duration,
    frames: u64,
}

impl Stamper {
    /// The time of the first frame of a piece of `frames` frames that reached the callback at `now`.
    fn piece(&mut self, now: Duration, frames: u64) -> Duration {
        let through = frame_time(self.frames + frames);
        let bound = now.saturating_sub(through);
        let anchor = match self.anchor {
            None => bound,
            Some(anchor) => {
                let creep = now.saturating_sub(self.last_now) * ANCHOR_CREEP_PPM as u32 / 1_000_000;
                (anchor + creep).min(bound)
            }
        };
        let start = anchor + frame_time(self.frames);
        self.anchor = Some(anchor);
        self.last_now = now;
        self.frames += frames;
        start
    }
}

fn frame_time(frames: u64) -> Duration {
    Duration::from_nanos((frames as u128 * 1_000_000_000 / AUDIO_RATE as u128) as u64)
}

/// Any cpal sample buffer as `f32` in -1.0..=1.0.
fn to_f32(data: &cpal::Data) -> Option<Vec<f32>> {
    use cpal::{FromSample, SampleFormat as F};
    fn conv<T: cpal::SizedSample>(data: &cpal::Data) -> Option<Vec<f32>>
    where
        f32: FromSample<T>,
    {
        data.as_slice::<T>()
            .map(|s| s.iter().map(|&x| f32::from_sample_(x)).collect())
    }
    match data.sample_format() {
        F::F32 => data.as_slice::<f32>().map(<[f32]>::to_vec),
        F::F64 => conv::<f64>(data),
        F::I8 => conv::<i8>(data),
        F::I16 => conv::<i16>(data),
        F::I24 => conv::<cpal::I24>(data),
        F::I32 => conv::<i32>(data),
        F::I64 => conv::<i64>(data),
        F::U8 => conv::<u8>(data),
        F::U16 => conv::<u16>(data),
        F::U24 => conv::<cpal::U24>(data),
        F::U32 => conv::<u32>(data),
        F::U64 => conv::<u64>(data),
        _ => None,
    }
}

/// Device channels → track channels, device rate → 48 kHz.
struct Converter {
    from_channels: usize,
    to_channels: usize,
    resampler: Option<To48k>,
}

impl Converter {
    fn new(from_channels: u16, rate: u32, to_channels: u16) -> Result<Self> {
        let resampler = (rate != AUDIO_RATE)
            .then(|| To48k::new(rate, to_channels as usize))
            .transpose()?;
        Ok(Converter {
            from_channels: from_channels.max(1) as usize,
            to_channels: to_channels as usize,
            resampler,
        })
    }

    /// Converts one device buffer.
    fn run(&mut self, input: &[f32]) -> Vec<f32> {
        let mapped = remix(input, self.from_channels, self.to_channels);
        match &mut self.resampler {
            None => mapped,
            Some(resampler) => resampler.run(&mapped),
        }
    }
}

/// Interleaved `from` channels to `to` (1 or 2): mono is the average; stereo from mono is the
/// same sample twice; from more channels, the first two.
fn remix(input: &[f32], from: usize, to: usize) -> Vec<f32> {
    if from == to {
        return input.to_vec();
    }
    let frames = input.chunks_exact(from);
    match to {
        1 => frames.map(|f| f.iter().sum::<f32>() / from as f32).collect(),
        _ => frames
            .flat_map(|f| {
                let left = f[0];
                let right = if from == 1 { f[0] } else { f[1] };
                [left, right]
            })
            .collect(),
    }
}

/// A streaming resampler from a device rate to 48 kHz (rubato's sinc resampler).
struct To48k {
    inner: Async<f32>,
    channels: usize,
    carry: Vec<f32>,
    out: Vec<f32>,
}

/// Input frames per resampler call.
const RESAMPLE_CHUNK: usize = 480;

impl To48k {
    fn new(rate: u32, channels: usize) -> Result<Self> {
        let parameters = SincInterpolationParameters {
            sinc_len: 128,
            f_cutoff: None,
            oversampling_factor: 128,
            interpolation: SincInterpolationType::Linear,
            window: WindowFunction::BlackmanHarris2,
        };
        let inner = Async::<f32>::new_sinc(
            AUDIO_RATE as f64 / rate as f64,
            1.1,
            &parameters,
            RESAMPLE_CHUNK,
            channels,
            FixedAsync::Input,
        )
        .map_err(|e| device_error(format!("cannot resample {rate} Hz to {AUDIO_RATE} Hz: {e}")))?;
        let out = vec![0.0; inner.output_frames_max() * channels];
        Ok(To48k {
            inner,
            channels,
            carry: Vec::new(),
            out,
        })
    }

    fn run(&mut self, input: &[f32]) -> Vec<f32> {
        self.carry.extend_from_slice(input);
        let mut result = Vec::new();
        let mut used = 0;
        while (self.carry.len() - used) / self.channels >= self.inner.input_frames_next() {
            let need = self.inner.input_frames_next();
            let Ok(input) = InterleavedSlice::new(&self.carry[used..], self.channels, need) else {
                break;
            };
            let frames = self.out.len() / self.channels;
            let Ok(mut output) = InterleavedSlice::new_mut(&mut self.out, self.channels, frames) else {
                break;
            };
            match self.inner.process_into_buffer(&input, &mut output, None) {
                Ok((read, written)) => {
                    used += read * self.channels;
                    result.extend_from_slice(&self.out[..written * self.channels]);
                }
                Err(_) => break,
            }
        }
        self.carry.drain(..used);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_follow_the_earliest_delivery() {
        let mut stamp = Stamper::default();
        let ms = Duration::from_millis;
        // 20 ms pieces delivered with 5..25 ms of jitter: stamped back to back from the earliest.
        assert_eq!(stamp.piece(ms(1025), 960), ms(1005));
        assert_eq!(stamp.piece(ms(1045), 960), ms(1025));
        // An earlier delivery pulls the anchor back by 15 ms; a later one does not push it.
        assert_eq!(stamp.piece(ms(1050), 960), ms(1030));
        let fourth = stamp.piece(ms(1075), 960);
        assert!(
            fourth >= ms(1050) && fourth < ms(1050) + Duration::from_micros(100),
            "{fourth:?}"
        );
    }

    #[test]
    fn remix_averages_to_mono_and_duplicates_to_stereo() {
        assert_eq!(remix(&[0.2, 0.4, 1.0, 0.0], 2, 1), vec![0.3, 0.5]);
        assert_eq!(remix(&[0.2, 0.4], 1, 2), vec![0.2, 0.2, 0.4, 0.4]);
        assert_eq!(remix(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 3, 2), vec![0.1, 0.2, 0.4, 0.5]);
    }

    #[test]
    fn resampling_44k1_keeps_the_length_and_the_tone() {
        let mut convert = Converter::new(1, 44_100, 1).unwrap();
        let input: Vec<f32> = (0..44_100)
            .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 44_100.0).sin() * 0.5)
            .collect();
        let mut out = Vec::new();
        for block in input.chunks(441) {
            out.extend(convert.run(block));
        }
        assert!((out.len() as i64 - 48_000).abs() < 1000, "{} frames", out.len());
        // After the filter's delay, a 1 kHz tone at 48 kHz repeats every 48 samples.
        let tail = &out[out.len() - 4800..];
        let peak = tail.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!((peak - 0.5).abs() < 0.02, "peak {peak}");
        let err: f32 = tail[48..]
            .iter()
            .zip(tail)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(err < 0.02, "period error {err}");
    }
}
