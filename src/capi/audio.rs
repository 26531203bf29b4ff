//! `classrec_recorder_push_audio`: the host's PCM into a recorder's sound track.

use std::ffi::c_void;
use std::time::Duration;

use super::boundary::on_handle;
use super::recorder::classrec_recorder;
use super::result::{classrec_result, ApiError};
use crate::Pcm;

/// The sample format of pushed audio.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum classrec_sample_format {
    /// Signed 16-bit integers (int16_t), native byte order.
    S16 = 0,
    /// 32-bit floats in [-1, 1].
    F32 = 1,
}

/// Pushes frames sample frames of interleaved PCM (channels samples each, 1 or 2) at
/// sample_rate Hz (8000 to 48000; resampled to 48 kHz) into a recorder whose sound source is
/// {"audio": {"source": {"kind": "pushed"}}}. format is a classrec_sample_format value;
/// data must be aligned for it (2 bytes for S16, 4 for F32). timestamp_us is the first
/// sample's time since the recording started in microseconds, or negative for "right after the
/// previous push". A push stamped more than 1 s ahead of the recorder's clock (a host clock that
/// jumped, INT64_MAX) is placed to end "now" instead, and counted in
/// classrec_stats.audio_pushes_retimed. The samples are copied before it returns. Never blocks: if the sound thread is
/// behind, the oldest waiting samples are dropped and counted. Any thread, several at once.
///
/// Errors: CLASSREC_RESULT_NULL_ARGUMENT for NULL data, CLASSREC_RESULT_INVALID_AUDIO for 0
/// frames, a misaligned buffer, an unknown format, or a rate or channel count outside the ranges
/// above, CLASSREC_RESULT_WRONG_STATE when the sound is not pushed, CLASSREC_RESULT_STOPPED
/// after stop.
///
/// Safety: recorder is NULL or live; data is NULL or valid for frames * channels samples of
/// format.
#[no_mangle]
pub unsafe extern "C" fn classrec_recorder_push_audio(
    recorder: *mut classrec_recorder,
    data: *const c_void,
    frames: usize,
    sample_rate: u32,
    channels: u32,
    format: u32,
    timestamp_us: i64,
) -> classrec_result {
    // SAFETY: forwarded caller contract.
    unsafe {
        on_handle(recorder, |handle| {
            let pusher = handle.audio_pusher.as_ref().ok_or_else(|| {
                ApiError::new(
                    classrec_result::WrongState,
                    "this recorder's sound is not pushed; start it with {\"audio\": {\"source\": {\"kind\": \"pushed\"}}} to push audio",
                )
            })?;
            if data.is_null() {
                return Err(ApiError::null("data"));
            }
            let invalid = |message: String| ApiError::new(classrec_result::InvalidAudio, message);
            if frames == 0 {
                return Err(invalid("0 frames pushed; push at least one sample frame".into()));
            }
            let channels = u16::try_from(channels)
                .ok()
                .filter(|c| (1..=2).contains(c))
                .ok_or_else(|| {
                    invalid(format!(
                        "{channels} channels; push mono (1) or stereo (2) interleaved PCM"
                    ))
                })?;
            let count = frames
                .checked_mul(usize::from(channels))
                .filter(|n| n.checked_mul(4).is_some())
                .ok_or_else(|| {
                    invalid(format!(
                        "{frames} frames is more than memory can hold; push smaller buffers"
                    ))
                })?;
            let timestamp = u64::try_from(timestamp_us).ok().map(Duration::from_micros);
            const S16: u32 = classrec_sample_format::S16 as u32;
            const F32: u32 = classrec_sample_format::F32 as u32;
            let pcm = match format {
                S16 if data.align_offset(std::mem::align_of::<i16>()) == 0 => {
                    // SAFETY: non-NULL, aligned, valid for `count` samples by the caller's contract.
                    Pcm::S16(std::slice::from_raw_parts(data.cast::<i16>(), count))
                }
                F32 if data.align_offset(std::mem::align_of::<f32>()) == 0 => {
                    // SAFETY: as above.
                    Pcm::F32(std::slice::from_raw_parts(data.cast::<f32>(), count))
                }
                S16 | F32 => return Err(invalid("the buffer is not aligned for its sample format (2 bytes for S16, 4 for F32); pass an int16_t or float array".into())),
                other => return Err(invalid(format!("sample format {other} is unknown; use CLASSREC_SAMPLE_FORMAT_S16 (0) or CLASSREC_SAMPLE_FORMAT_F32 (1)"))),
            };
            pusher.push(pcm, sample_rate, channels, timestamp)?;
            Ok(())
        })
    }
}
