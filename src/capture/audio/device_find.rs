//! Finding the sound devices: the cpal host (PulseAudio where it runs), the system audio's
//! device (a sink's monitor, or the output itself for loopback), the microphone, and the list
//! of devices shown to the user.

use cpal::traits::{DeviceTrait, HostTrait};

use crate::error::{Error, Result};

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
    /// or `name` selects it in [`AudioCapture::open`](super::AudioCapture::open).
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

/// The host to capture with: PulseAudio (also PipeWire's pulse server) where it runs on Linux,
/// else the platform's default (WASAPI, ALSA, CoreAudio).
pub(super) fn audio_host() -> Result<cpal::Host> {
    #[cfg(target_os = "linux")]
    if cpal::available_hosts().contains(&cpal::HostId::PulseAudio) {
        if let Ok(host) = cpal::host_from_id(cpal::HostId::PulseAudio) {
            return Ok(host);
        }
    }
    Ok(cpal::default_host())
}

/// Whether `host` is PulseAudio (or PipeWire's pulse server).
pub(super) fn is_pulse(host: &cpal::Host) -> bool {
    #[cfg(target_os = "linux")]
    return host.id() == cpal::HostId::PulseAudio;
    #[cfg(not(target_os = "linux"))]
    {
        let _ = host;
        false
    }
}

/// The device's stable id (PulseAudio: the sink or source name; WASAPI: the endpoint id).
pub(super) fn device_id(device: &cpal::Device) -> Option<String> {
    device.id().ok().map(|id| id.id().to_owned())
}

/// The device's name for people.
pub(super) fn device_name(device: &cpal::Device) -> String {
    device
        .description()
        .map(|d| d.name().to_owned())
        .or_else(|_| device.id().map(|id| id.id().to_owned()))
        .unwrap_or_else(|_| "unnamed device".into())
}

/// An [`Error::AudioDevice`] saying `message`.
pub(super) fn device_error(message: String) -> Error {
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
pub(super) fn system_device(host: &cpal::Host, wanted: Option<&str>) -> Result<cpal::Device> {
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
pub(super) fn mic_device(host: &cpal::Host, wanted: Option<&str>) -> Result<(cpal::Device, Option<String>)> {
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
