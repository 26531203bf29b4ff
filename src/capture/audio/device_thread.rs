//! The device thread: owns the cpal streams, notices lost devices and re-attaches them.

use std::time::{Duration, Instant};

use cpal::traits::HostTrait;
use crossbeam_channel::{bounded, Receiver, Sender};

use super::device_find::{audio_host, device_id, device_name, is_pulse, mic_device, system_device};
use super::device_stream::{start_stream, Role, Sink};
use crate::error::Result;

/// How often the device thread checks its streams and looks for lost devices.
const DEVICE_POLL: Duration = Duration::from_millis(250);
/// How often a lost device is looked for.
const REATTACH_EVERY: Duration = Duration::from_secs(1);
/// How often an attached device's presence in the device list is checked.
const PRESENCE_CHECK_EVERY: Duration = Duration::from_secs(1);

/// An open stream and what its callbacks report.
struct Attached {
    _stream: cpal::Stream,
    name: String,
    id: String,
    errors: Receiver<cpal::Error>,
    last_presence_check: Instant,
}

/// One input as the device thread sees it.
pub(super) struct Input {
    role: Role,
    wanted: Option<String>,
    sink: Sink,
    attached: Option<Attached>,
    /// When the device was lost, and when it was last looked for.
    lost_since: Option<Instant>,
}

impl Input {
    /// The input of `role` from the device `wanted` (`None`: the default one), not yet attached.
    pub(super) fn new(role: Role, wanted: Option<String>, sink: Sink) -> Self {
        Input {
            role,
            wanted,
            sink,
            attached: None,
            lost_since: None,
        }
    }
}

/// Owns the streams (cpal streams need not be `Send`): opens them, watches for lost devices and
/// re-attaches them, until `stop` is dropped.
pub(super) fn device_thread(
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
