//! What a recording is asked to be: [`RecorderConfig`] assembles each stage's own configuration
//! (source, encoder, upload, callback) and checks what spans stages.
//!
//! The same serde structure is used by the Rust API and (as JSON) by the C ABI, so a new
//! option never needs a new function.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::capture::audio::AudioSourceConfig;
use crate::capture::{SourceConfig, SyntheticScene};
use crate::encode::{default_aac_bitrate, ContentType, EncodeRequest, EncodeSettings};
use crate::error::{Error, Result};
use crate::notify::{CallbackConfig, ClassInfo};
use crate::upload::UploadConfig;

/// Fragment lengths accepted, in milliseconds (what a crash can lose at most).
const FRAGMENT_INTERVAL_RANGE_MS: std::ops::RangeInclusive<u32> = 100..=60_000;

/// The sound track: where it comes from and how it is encoded (AAC-LC, 48 kHz).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioConfig {
    /// Where the sound comes from.
    pub source: AudioSourceConfig,
    /// 1 (mono, the default: a voice) or 2 (stereo).
    #[serde(default = "default_audio_channels")]
    pub channels: u16,
    /// AAC bitrate in kbit/s; default 64 for mono, 128 for stereo.
    #[serde(default)]
    pub bitrate_kbps: Option<u32>,
}

fn default_audio_channels() -> u16 {
    1
}

impl AudioConfig {
    /// Sound from `source`, mono at 64 kbit/s.
    pub fn new(source: AudioSourceConfig) -> Self {
        AudioConfig {
            source,
            channels: 1,
            bitrate_kbps: None,
        }
    }
}

/// AAC bitrates accepted, in kbit/s per channel.
const AUDIO_BITRATE_PER_CHANNEL_KBPS: std::ops::RangeInclusive<u32> = 16..=256;

/// The sound track's settings, checked.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AudioSettings {
    pub channels: u16,
    pub bitrate_bps: u32,
}

/// Everything a recording needs. `Default` gives a 1280x720, 15 fps, 1.5 Mbit/s synthetic recording
/// into `<home>/TClass/record`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecorderConfig {
    /// Where frames come from.
    pub source: SourceConfig,
    /// Output folder; `None` means `<home>/TClass/record` (Windows: `%USERPROFILE%\TClass\record`).
    pub out_dir: Option<PathBuf>,
    /// Output width and height, fixed for the whole file. `None`: the source's size.
    /// Odd values are rounded up to even (H.264 4:2:0); other frame sizes are letter-boxed in.
    pub size: Option<(u32, u32)>,
    /// Nominal frame rate (frames per second, 1 to 60).
    pub fps: u32,
    /// Target bitrate in kbit/s (100 to 50000).
    pub bitrate_kbps: u32,
    /// Media in each crash-safe fragment, in milliseconds: what a crash can lose at most.
    pub fragment_interval_ms: u32,
    /// Longest time between keyframes while the picture changes, in milliseconds. Fragments do
    /// not need keyframes; longer intervals save bits (`benches/sweep.sh`: 10 s needs 11-12%
    /// fewer than 2 s on the 1080p classroom) at the price of slower seeking.
    pub keyframe_interval_ms: u32,
    /// Longest time between keyframes while the picture stands still, in milliseconds.
    pub still_keyframe_interval_ms: u32,
    /// Encoder tuning for the content.
    pub content: ContentType,
    /// Class id, used in the file name (sanitized).
    pub class_id: Option<String>,
    /// Recording user's id, used in the file name (sanitized).
    pub user_id: Option<String>,
    /// Upload while recording (None: local file only).
    pub upload: Option<UploadConfig>,
    /// The class being recorded (reported by the callback; the role is checked at start).
    pub class: Option<ClassInfo>,
    /// Tell the institution's backend when the upload is complete (needs `upload` and `class`).
    pub callback: Option<CallbackConfig>,
    /// The sound track (None: picture only).
    pub audio: Option<AudioConfig>,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        RecorderConfig {
            source: SourceConfig::Synthetic {
                size: None,
                scene: SyntheticScene::Classroom,
                fast: false,
                frames: None,
            },
            out_dir: None,
            size: Some((1280, 720)),
            fps: 15,
            bitrate_kbps: 1500,
            fragment_interval_ms: 2000,
            keyframe_interval_ms: 10_000,
            still_keyframe_interval_ms: 10_000,
            content: ContentType::Camera,
            class_id: None,
            user_id: None,
            upload: None,
            class: None,
            callback: None,
            audio: None,
        }
    }
}

/// The only JSON arrays a configuration holds: sizes, `[width, height]`.
const ARRAY_FIELDS: [&str; 1] = ["size"];

impl RecorderConfig {
    /// Reads a recorder's configuration from JSON, as the C ABI does (`classrec_recorder_start`).
    ///
    /// Stricter than `serde_json::from_str`: the configuration and every section in it must be a
    /// JSON object with named fields (serde would also read `[]` or a positional array as a
    /// struct), unknown fields are refused at every level, and `source` must be given: `"{}"` is
    /// refused rather than recording the synthetic test scene into the home folder, which is what
    /// [`RecorderConfig::default`] would do. Syntax, shape and unknown fields give
    /// [`Error::InvalidJson`]; a missing `source` gives [`Error::InvalidConfig`].
    pub fn from_json(json: &str) -> Result<RecorderConfig> {
        Self::parse_json(json, true)
    }

    /// [`RecorderConfig::from_json`] without requiring `source`: the cloud side of a configuration
    /// (`classrec_uploader_new`) reads only `upload`, `callback` and `out_dir`.
    #[doc(hidden)]
    pub fn from_json_without_source(json: &str) -> Result<RecorderConfig> {
        Self::parse_json(json, false)
    }

    fn parse_json(json: &str, need_source: bool) -> Result<RecorderConfig> {
        let value: serde_json::Value = serde_json::from_str(json).map_err(invalid_json)?;
        refuse_positional(&value, "the configuration")?;
        let config = serde_json::from_value(value.clone()).map_err(invalid_json)?;
        if need_source && value.get("source").is_none() {
            return Err(Error::InvalidConfig(
                "`source` is not set; say what to record, e.g. {\"source\": {\"kind\": \"pushed\"}} (an empty configuration is refused rather than recording a test scene)".into(),
            ));
        }
        Ok(config)
    }
}

fn invalid_json(e: serde_json::Error) -> Error {
    Error::InvalidJson(format!(
        "{e}; the configuration is a JSON object whose fields are listed in the README (section C ABI)"
    ))
}

/// Refuses JSON arrays where an object belongs: only the `[width, height]` sizes are arrays.
fn refuse_positional(value: &serde_json::Value, what: &str) -> Result<()> {
    let serde_json::Value::Object(fields) = value else {
        return Err(Error::InvalidJson(format!(
            "{what} is not a JSON object; write it as {{\"field\": value, ...}} with named fields"
        )));
    };
    for (name, field) in fields {
        match field {
            serde_json::Value::Object(_) => refuse_positional(field, &format!("`{name}`"))?,
            serde_json::Value::Array(_) if !ARRAY_FIELDS.contains(&name.as_str()) => {
                return Err(Error::InvalidJson(format!(
                    "`{name}` is a JSON array; write it as an object with named fields"
                )))
            }
            _ => {}
        }
    }
    Ok(())
}

/// A configuration checked and completed: every `Option` resolved.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub out_dir: PathBuf,
    pub fragment_interval: Duration,
    pub encode: EncodeSettings,
    pub audio: Option<AudioSettings>,
}

impl RecorderConfig {
    /// Checks every field; `source_size` is the source's own frame size where known.
    pub(crate) fn resolve(&self, source_size: Option<(u32, u32)>) -> Result<Settings> {
        let invalid = |msg: String| Err(Error::InvalidConfig(msg));
        if let Some(class) = &self.class {
            class.check_role()?;
        }
        if self.callback.is_some() && (self.upload.is_none() || self.class.is_none()) {
            return invalid(
                "callback needs upload (it reports the uploaded object) and class (it reports the class)".into(),
            );
        }
        if !FRAGMENT_INTERVAL_RANGE_MS.contains(&self.fragment_interval_ms) {
            return invalid(format!(
                "fragment_interval_ms is {}; use {} to {} (2000 is usual)",
                self.fragment_interval_ms,
                FRAGMENT_INTERVAL_RANGE_MS.start(),
                FRAGMENT_INTERVAL_RANGE_MS.end()
            ));
        }
        let encode = EncodeRequest {
            size: self.size.or(source_size),
            fps: self.fps,
            bitrate_kbps: self.bitrate_kbps,
            keyframe_interval_ms: self.keyframe_interval_ms,
            still_keyframe_interval_ms: self.still_keyframe_interval_ms,
            content: self.content,
        }
        .check()?;
        let audio = match &self.audio {
            None => None,
            Some(audio) => {
                if !(1..=2).contains(&audio.channels) {
                    return invalid(format!(
                        "audio.channels is {}; use 1 (mono, a voice) or 2 (stereo)",
                        audio.channels
                    ));
                }
                let per_channel = AUDIO_BITRATE_PER_CHANNEL_KBPS;
                let bitrate_bps = match audio.bitrate_kbps {
                    None => default_aac_bitrate(audio.channels),
                    Some(kbps) if per_channel.contains(&(kbps / u32::from(audio.channels))) => kbps * 1000,
                    Some(kbps) => {
                        return invalid(format!(
                            "audio.bitrate_kbps is {kbps}; use {} to {} per channel (64 suits a voice in mono)",
                            per_channel.start(),
                            per_channel.end()
                        ))
                    }
                };
                Some(AudioSettings {
                    channels: audio.channels,
                    bitrate_bps,
                })
            }
        };
        let out_dir = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => default_out_dir()?,
        };
        Ok(Settings {
            out_dir,
            fragment_interval: Duration::from_millis(self.fragment_interval_ms.into()),
            encode,
            audio,
        })
    }
}

/// `<home>/TClass/record`: `%USERPROFILE%` on Windows, `$HOME` elsewhere.
pub fn default_out_dir() -> Result<PathBuf> {
    let var = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
    match std::env::var_os(var) {
        Some(home) if !home.is_empty() => Ok(PathBuf::from(home).join("TClass").join("record")),
        _ => Err(Error::InvalidConfig(format!(
            "out_dir is not set and ${var} is empty, so there is no default <home>/TClass/record; set out_dir"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(config: RecorderConfig) -> String {
        config.resolve(None).unwrap_err().to_string()
    }

    #[test]
    fn rejects_out_of_range_values_with_the_fix() {
        let base = RecorderConfig {
            out_dir: Some("/tmp".into()),
            ..Default::default()
        };
        assert!(check(RecorderConfig { fps: 0, ..base.clone() }).contains("use 1 to 60"));
        assert!(check(RecorderConfig {
            fps: 61,
            ..base.clone()
        })
        .contains("fps is 61"));
        assert!(check(RecorderConfig {
            bitrate_kbps: 5,
            ..base.clone()
        })
        .contains("bitrate_kbps is 5"));
        assert!(check(RecorderConfig {
            size: Some((0, 720)),
            ..base.clone()
        })
        .contains("0x720"));
        assert!(check(RecorderConfig {
            size: Some((4096, 2160)),
            ..base.clone()
        })
        .contains("4096x2160"));
        assert!(check(RecorderConfig {
            size: None,
            ..base.clone()
        })
        .contains("size is not set"));
    }

    #[test]
    fn odd_sizes_round_up_to_even_and_portrait_4k_is_allowed() {
        let config = RecorderConfig {
            out_dir: Some("/tmp".into()),
            size: Some((1279, 719)),
            ..Default::default()
        };
        let s = config.resolve(None).unwrap();
        assert_eq!((s.encode.width, s.encode.height), (1280, 720));
        let portrait = RecorderConfig {
            size: Some((2160, 3840)),
            ..config
        };
        assert!(portrait.resolve(None).is_ok());
    }

    #[test]
    fn json_rejects_unknown_fields_arrays_and_a_missing_source() {
        let err = |json: &str| RecorderConfig::from_json(json).unwrap_err();
        assert!(err(r#"{"fsp": 15}"#).to_string().contains("unknown field `fsp`"));
        for nested in [
            r#"{"source": {"kind": "pushed", "bogus": 1}}"#,
            r#"{"source": {"kind": "synthetic", "bogus": 1}}"#,
            r#"{"source": {"kind": "pushed"}, "audio": {"source": {"kind": "pushed", "bogus": 1}}}"#,
            r#"{"source": {"kind": "pushed"}, "upload": {"target": {"kind": "folder", "path": "/x", "bogus": 1}}}"#,
        ] {
            assert!(
                matches!(err(nested), Error::InvalidJson(m) if m.contains("bogus")),
                "{nested}"
            );
        }
        for positional in ["[]", "[1, 2]", r#"{"source": ["pushed"]}"#, "7", "null"] {
            assert!(matches!(err(positional), Error::InvalidJson(_)), "{positional}");
        }
        assert!(matches!(err("{}"), Error::InvalidConfig(m) if m.contains("source")));
        assert!(RecorderConfig::from_json_without_source("{}").is_ok());
        let ok = RecorderConfig::from_json(r#"{"fps": 10, "source": {"kind": "pushed"}, "size": [640, 360]}"#).unwrap();
        assert_eq!(
            (ok.fps, ok.source, ok.size),
            (10, SourceConfig::Pushed, Some((640, 360)))
        );
    }

    #[test]
    fn every_field_we_write_reads_back_through_from_json() {
        // A new array-valued field must join ARRAY_FIELDS, or from_json would refuse it.
        let full = RecorderConfig {
            source: SourceConfig::Synthetic {
                size: Some((320, 240)),
                scene: SyntheticScene::Classroom,
                fast: true,
                frames: Some(3),
            },
            upload: Some(UploadConfig::s3("http://127.0.0.1:1", "b", "p")),
            audio: Some(AudioConfig::new(crate::capture::audio::AudioSourceConfig::Pushed)),
            ..Default::default()
        };
        let json = serde_json::to_string(&full).unwrap();
        assert_eq!(RecorderConfig::from_json(&json).unwrap(), full);
    }
}
