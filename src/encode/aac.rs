//! AAC-LC encoding of the sound track: 48 kHz PCM (f32, interleaved) → raw AAC access units for an
//! `mp4a` sample entry.
//!
//! The encoder sits behind [`AudioEncoder`], so Windows Media Foundation's AAC encoder (or Opus)
//! can be added later without touching the muxer. The one implementation today is
//! [`FdkAacEncoder`], the Fraunhofer FDK AAC library built from source by the `fdk-aac` crate.

use fdk_aac::enc::{AudioObjectType, BitRate, ChannelMode, Encoder, EncoderParams, Transport};

use crate::error::{Error, Result};

/// What the muxer needs to describe an audio track.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioTrackInfo {
    /// Samples per second (per channel): 48000.
    pub sample_rate: u32,
    /// 1 (mono) or 2 (stereo).
    pub channels: u16,
    /// Target bitrate in bits per second.
    pub bitrate: u32,
    /// The AudioSpecificConfig (ISO/IEC 14496-3) for the `esds` box: `11 88` for 48 kHz LC mono,
    /// `11 90` for stereo.
    pub asc: Vec<u8>,
    /// Samples (per channel) in one access unit: 1024 for AAC-LC.
    pub frame_len: u32,
    /// The encoder's delay in samples: decoded audio starts this many samples late. It belongs in
    /// the `elst` media_time so that the first sample plays in sync.
    pub priming: u32,
}

/// One encoded access unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioPacket {
    /// A raw AAC access unit (no ADTS header).
    pub data: Vec<u8>,
    /// Samples (per channel) it decodes to: [`AudioTrackInfo::frame_len`].
    pub samples: u32,
}

/// An audio encoder: interleaved f32 PCM at the track's rate and channel count in, access units out.
pub trait AudioEncoder: Send {
    /// The track's description (constant for the encoder's life).
    fn info(&self) -> &AudioTrackInfo;

    /// Sample frames taken so far (the track's real length, priming and padding excluded).
    fn samples_in(&self) -> u64;

    /// Encodes interleaved samples (any number of whole sample frames; a partial codec frame is
    /// kept for the next call). Returns the access units completed, in order.
    fn encode(&mut self, pcm: &[f32]) -> Result<Vec<AudioPacket>>;

    /// Ends the stream: pads with silence so that every sample given so far (and the encoder's
    /// delay) comes out. The last packet may end in silence; the encoder is not used afterwards.
    fn flush(&mut self) -> Result<Vec<AudioPacket>>;
}

/// The sound track's sample rate, in Hz.
const AAC_RATE: u32 = 48_000;

/// The default bitrate for `channels`: 64 kbit/s mono, 128 kbit/s stereo.
pub fn default_aac_bitrate(channels: u16) -> u32 {
    64_000 * u32::from(channels.max(1))
}

/// AAC-LC (raw transport, 48 kHz, constant bitrate) with the Fraunhofer FDK AAC encoder.
pub struct FdkAacEncoder {
    encoder: Encoder,
    info: AudioTrackInfo,
    /// Converted samples not yet handed to fdk (less than one frame after each call).
    pending: Vec<i16>,
    /// Output buffer for one access unit.
    out: Vec<u8>,
    /// Samples (per channel) given to `encode`.
    samples_in: u64,
    /// Samples (per channel) handed to fdk, real and padding.
    samples_fed: u64,
    /// Samples (per channel) covered by the packets returned.
    samples_out: u64,
}

impl std::fmt::Debug for FdkAacEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FdkAacEncoder")
            .field("info", &self.info)
            .field("samples_in", &self.samples_in)
            .field("samples_out", &self.samples_out)
            .finish()
    }
}

/// Bitrates accepted per channel (bit/s): below 16k AAC-LC at 48 kHz is unusable, above 256k
/// fdk caps it anyway.
const BITRATE_PER_CHANNEL: std::ops::RangeInclusive<u32> = 16_000..=256_000;

impl FdkAacEncoder {
    /// An encoder for 48 kHz `channels` (1 or 2) at `bitrate` bit/s (`None`: 64 kbit/s mono,
    /// 128 kbit/s stereo).
    pub fn new(channels: u16, bitrate: Option<u32>) -> Result<Self> {
        let channel_mode = match channels {
            1 => ChannelMode::Mono,
            2 => ChannelMode::Stereo,
            n => {
                return Err(Error::InvalidAudio(format!(
                    "{n} channels; the AAC track is mono (1) or stereo (2)"
                )))
            }
        };
        let bitrate = bitrate.unwrap_or_else(|| default_aac_bitrate(channels));
        let per_channel = bitrate / u32::from(channels);
        if !BITRATE_PER_CHANNEL.contains(&per_channel) {
            return Err(Error::InvalidConfig(format!(
                "audio bitrate {bitrate} bit/s for {channels} channel(s); use {} to {} bit/s per channel (default {})",
                BITRATE_PER_CHANNEL.start(),
                BITRATE_PER_CHANNEL.end(),
                default_aac_bitrate(channels)
            )));
        }
        let encoder = Encoder::new(EncoderParams {
            bit_rate: BitRate::Cbr(bitrate),
            sample_rate: AAC_RATE,
            transport: Transport::Raw,
            channels: channel_mode,
            audio_object_type: AudioObjectType::Mpeg4LowComplexity,
        })
        .map_err(|e| Error::AudioEncoder(format!("cannot start fdk-aac ({channels} ch, {bitrate} bit/s): {e}")))?;
        let raw = encoder
            .info()
            .map_err(|e| Error::AudioEncoder(format!("fdk-aac gave no stream info: {e}")))?;
        let asc = raw.confBuf[..(raw.confSize as usize).min(raw.confBuf.len())].to_vec();
        if asc.is_empty() || raw.frameLength == 0 {
            return Err(Error::AudioEncoder(
                "fdk-aac gave no AudioSpecificConfig or frame length".into(),
            ));
        }
        let info = AudioTrackInfo {
            sample_rate: AAC_RATE,
            channels,
            bitrate,
            asc,
            frame_len: raw.frameLength,
            priming: raw.nDelay,
        };
        Ok(FdkAacEncoder {
            encoder,
            out: vec![0; (raw.maxOutBufBytes as usize).max(8192)],
            info,
            pending: Vec::new(),
            samples_in: 0,
            samples_fed: 0,
            samples_out: 0,
        })
    }

    fn frame_samples(&self) -> usize {
        self.info.frame_len as usize * usize::from(self.info.channels)
    }

    /// Hands every whole frame in `pending` to fdk.
    fn drain(&mut self, packets: &mut Vec<AudioPacket>) -> Result<()> {
        let frame = self.frame_samples();
        let channels = usize::from(self.info.channels);
        let mut start = 0;
        while self.pending.len() - start >= frame {
            let done = self
                .encoder
                .encode(&self.pending[start..start + frame], &mut self.out)
                .map_err(|e| Error::AudioEncoder(format!("encoding failed: {e}")))?;
            if done.input_consumed == 0 && done.output_size == 0 {
                return Err(Error::AudioEncoder(
                    "fdk-aac took no input and gave no output; this is a bug".into(),
                ));
            }
            start += done.input_consumed;
            self.samples_fed += (done.input_consumed / channels) as u64;
            if done.output_size > 0 {
                packets.push(AudioPacket {
                    data: self.out[..done.output_size].to_vec(),
                    samples: self.info.frame_len,
                });
                self.samples_out += u64::from(self.info.frame_len);
            }
        }
        self.pending.drain(..start);
        Ok(())
    }
}

/// f32 in [-1, 1] to 16-bit PCM (fdk's input format), clipping what lies outside.
fn to_i16(x: f32) -> i16 {
    (x.clamp(-1.0, 1.0) * 32767.0).round() as i16
}

impl AudioEncoder for FdkAacEncoder {
    fn info(&self) -> &AudioTrackInfo {
        &self.info
    }

    fn samples_in(&self) -> u64 {
        self.samples_in
    }

    fn encode(&mut self, pcm: &[f32]) -> Result<Vec<AudioPacket>> {
        let channels = usize::from(self.info.channels);
        if !pcm.len().is_multiple_of(channels) {
            return Err(Error::InvalidAudio(format!(
                "{} samples is not a whole number of {channels}-channel frames; pass interleaved frames",
                pcm.len()
            )));
        }
        self.samples_in += (pcm.len() / channels) as u64;
        self.pending.extend(pcm.iter().map(|&x| to_i16(x)));
        let mut packets = Vec::new();
        self.drain(&mut packets)?;
        Ok(packets)
    }

    fn flush(&mut self) -> Result<Vec<AudioPacket>> {
        let frame_len = u64::from(self.info.frame_len);
        // Every real sample, delayed by the priming, must be inside a returned packet.
        let needed = (self.samples_in + u64::from(self.info.priming)).div_ceil(frame_len) * frame_len;
        let mut packets = Vec::new();
        // Bounded: each frame fed normally yields a packet; allow a few frames of slack.
        let mut budget = (needed.saturating_sub(self.samples_fed) / frame_len) + 8;
        while self.samples_out < needed {
            if budget == 0 {
                return Err(Error::AudioEncoder(format!(
                    "flushing stopped at {} of {needed} samples; this is a bug",
                    self.samples_out
                )));
            }
            budget -= 1;
            let missing = self.frame_samples() - self.pending.len() % self.frame_samples();
            self.pending.extend(std::iter::repeat_n(0, missing));
            self.drain(&mut packets)?;
        }
        Ok(packets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::audio::test_signal::{dominant_frequency, level_at, rms, tone};

    /// Prepends an ADTS header to each packet, so that FFmpeg can read the stream as a file.
    fn adts(info: &AudioTrackInfo, packets: &[AudioPacket]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in packets {
            let len = p.data.len() + 7;
            let (profile, rate_index, ch) = (1u8, 3u8, info.channels as u8); // LC, 48 kHz
            out.extend_from_slice(&[
                0xFF,
                0xF1,
                (profile << 6) | (rate_index << 2) | (ch >> 2),
                ((ch & 3) << 6) | (len >> 11) as u8,
                (len >> 3) as u8,
                (((len & 7) << 5) as u8) | 0x1F,
                0xFC,
            ]);
            out.extend_from_slice(&p.data);
        }
        out
    }

    /// Decodes the packets with FFmpeg (which must print nothing) into interleaved f32.
    fn decode(info: &AudioTrackInfo, packets: &[AudioPacket]) -> Vec<f32> {
        let dir = std::env::temp_dir().join(format!("classrec-aac-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{}ch-{}.aac", info.channels, info.bitrate));
        std::fs::write(&path, adts(info, packets)).unwrap();
        let out = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-f", "aac", "-i"])
            .arg(&path)
            .args(["-f", "f32le", "-"])
            .output()
            .expect("ffmpeg is installed");
        let _ = std::fs::remove_file(&path);
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }

    /// Encodes `pcm` in uneven pieces (as a capture delivers it), then flushes.
    fn encode_all(enc: &mut FdkAacEncoder, pcm: &[f32]) -> Vec<AudioPacket> {
        let ch = usize::from(enc.info().channels);
        let mut packets = Vec::new();
        let mut rest = pcm;
        for size in [1usize, 7, 480, 1024, 2000, 333].iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let n = (size * ch).min(rest.len());
            packets.extend(enc.encode(&rest[..n]).unwrap());
            rest = &rest[n..];
        }
        packets.extend(enc.flush().unwrap());
        packets
    }

    #[test]
    fn track_info_for_mono_and_stereo() {
        let mono = FdkAacEncoder::new(1, None).unwrap();
        assert_eq!(mono.info().asc, [0x11, 0x88]);
        assert_eq!((mono.info().bitrate, mono.info().frame_len), (64_000, 1024));
        let stereo = FdkAacEncoder::new(2, None).unwrap();
        assert_eq!(stereo.info().asc, [0x11, 0x90]);
        assert_eq!(stereo.info().bitrate, 128_000);
        eprintln!(
            "priming: mono {} stereo {} samples",
            mono.info().priming,
            stereo.info().priming
        );
        assert!(mono.info().priming > 0 && mono.info().priming < 4096);
    }

    #[test]
    fn bad_channel_counts_and_bitrates_are_refused() {
        assert!(matches!(FdkAacEncoder::new(3, None), Err(Error::InvalidAudio(_))));
        let err = FdkAacEncoder::new(1, Some(1_000)).unwrap_err().to_string();
        assert!(err.contains("16000 to 256000"), "{err}");
        let mut enc = FdkAacEncoder::new(2, None).unwrap();
        assert!(matches!(enc.encode(&[0.0; 3]), Err(Error::InvalidAudio(_))));
    }

    /// A 1 kHz tone comes back from FFmpeg's decoder at its frequency and level, every sample is
    /// covered after the flush, and the priming delay fdk reports is where the sound really starts.
    #[test]
    #[cfg_attr(
        windows,
        ignore = "FFmpeg is a Linux program here; tests/wine.rs decodes the AAC from Linux"
    )]
    fn tone_round_trips_through_ffmpeg() {
        for channels in [1u16, 2] {
            let mut enc = FdkAacEncoder::new(channels, None).unwrap();
            let ch = usize::from(channels);
            // 0.5 s of silence, then 3 s of a 1 kHz tone at -12 dBFS (amplitude 0.25).
            let silence = 24_000;
            let mut pcm = vec![0.0; silence * ch];
            pcm.extend(tone(1000.0, 0.25, channels, 3 * 48_000));
            let packets = encode_all(&mut enc, &pcm);
            let info = enc.info().clone();
            let total = enc.samples_in() + u64::from(info.priming);
            assert_eq!(packets.len() as u64, total.div_ceil(1024), "{channels} ch");
            let decoded = decode(&info, &packets);
            assert_eq!(decoded.len() as u64, packets.len() as u64 * 1024 * u64::from(channels));
            let left: Vec<f32> = decoded.iter().step_by(ch).copied().collect();
            // Onset: the first sample above half the tone's amplitude, in and out.
            let above = |x: &f32| x.abs() > 0.125;
            let onset_in = pcm.iter().step_by(ch).position(above).unwrap();
            let delay = left.iter().position(above).unwrap() as i64 - onset_in as i64;
            eprintln!(
                "{channels} ch: priming reported {}, measured onset delay {delay}",
                info.priming
            );
            assert!(
                (delay - i64::from(info.priming)).abs() <= 2,
                "{channels} ch: delay {delay}"
            );
            // The tone itself: 2 s from its middle.
            let start = silence + info.priming as usize + 24_000;
            let body = &left[start..start + 96_000];
            let f = dominant_frequency(body, 48_000);
            assert!((f - 1000.0).abs() < 1.0, "{channels} ch: {f} Hz");
            let level = level_at(body, 1000.0, 48_000);
            assert!((level - 0.25).abs() < 0.01, "{channels} ch: amplitude {level}");
            assert!((rms(body) * std::f32::consts::SQRT_2 - 0.25).abs() < 0.01);
            if channels == 2 {
                let right: Vec<f32> = decoded.iter().skip(1).step_by(2).copied().collect();
                assert!((level_at(&right[start..start + 96_000], 1000.0, 48_000) - 0.25).abs() < 0.01);
            }
        }
    }

    /// CPU time of encoding 60 s of mono speech-like audio (printed; run with --nocapture).
    #[test]
    fn encoding_a_minute_of_mono_is_cheap() {
        let mut enc = FdkAacEncoder::new(1, None).unwrap();
        // A tone with a slow vibrato and some noise, so the encoder has work to do.
        let mut seed = 1u32;
        let pcm: Vec<f32> = (0..60 * 48_000)
            .map(|i| {
                let t = i as f32 / 48_000.0;
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                0.2 * (2.0 * std::f32::consts::PI * (300.0 + 50.0 * (t * 3.0).sin()) * t).sin() + 0.02 * noise
            })
            .collect();
        let cpu = crate::capture::audio::test_signal::thread_cpu_time();
        let mut bytes = 0;
        for piece in pcm.chunks(480) {
            bytes += enc.encode(piece).unwrap().iter().map(|p| p.data.len()).sum::<usize>();
        }
        bytes += enc.flush().unwrap().iter().map(|p| p.data.len()).sum::<usize>();
        let spent = crate::capture::audio::test_signal::thread_cpu_time() - cpu;
        eprintln!(
            "60 s mono 64 kbit/s: {:.3} CPU-s, {bytes} bytes ({:.1} kbit/s)",
            spent.as_secs_f64(),
            bytes as f64 * 8.0 / 60.0 / 1000.0
        );
        assert!(spent.as_secs_f64() < 2.0);
        assert!(
            (bytes as f64 * 8.0 / 60.0 - 64_000.0).abs() < 6_400.0,
            "CBR holds its rate"
        );
    }
}
