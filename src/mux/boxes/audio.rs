//! The sound track's boxes: `trak` with its edit list, `smhd`, and the `mp4a` sample entry with
//! `esds` (AAC-LC).

use super::{
    dinf, hdlr, mdhd, put_u16, put_u32, stbl, tkhd, to_movie, version_for, write_box, write_full_box, Run, TrackHeader,
    AUDIO_TIMESCALE, AUDIO_TRACK_ID,
};
use crate::encode::AudioTrackInfo;

/// Media duration of the audio runs, in samples (priming and padding included).
pub(super) fn media_duration(runs: &[&Run]) -> u64 {
    runs.iter().map(|r| r.duration()).sum()
}

/// How many samples play after the edit list skips the priming: `real` (the PCM samples fed to
/// the encoder) when known, never more than the media holds after the priming.
pub(super) fn played_samples(track: &AudioTrackInfo, runs: &[&Run], real: Option<u64>) -> u64 {
    let available = media_duration(runs).saturating_sub(u64::from(track.priming));
    real.map_or(available, |real| real.min(available))
}

/// The audio `trak`. `played` samples are shown, starting after the priming (`edts`); the
/// initial `moov` passes no runs and 0.
pub(super) fn trak(buf: &mut Vec<u8>, track: &AudioTrackInfo, runs: &[&Run], played: u64) {
    let duration = to_movie(played, AUDIO_TIMESCALE);
    write_box(buf, b"trak", |b| {
        let header = TrackHeader {
            id: AUDIO_TRACK_ID,
            duration,
            volume: 0x0100,
            width: 0,
            height: 0,
        };
        tkhd(b, &header);
        edts(b, duration, track.priming);
        write_box(b, b"mdia", |b| {
            mdhd(b, AUDIO_TIMESCALE, media_duration(runs));
            hdlr(b, b"soun", "classrec sound");
            write_box(b, b"minf", |b| {
                smhd(b);
                dinf(b);
                stbl(b, |b| mp4a(b, track), runs, false); // every AAC sample is a sync sample
            });
        });
    });
}

/// `edts` with one `elst` entry: play `segment_duration` (movie units) of the media from
/// `media_time` (samples), skipping the encoder's priming.
fn edts(buf: &mut Vec<u8>, segment_duration: u64, media_time: u32) {
    write_box(buf, b"edts", |b| {
        let version = version_for(segment_duration);
        write_full_box(b, b"elst", version, 0, |b| {
            put_u32(b, 1); // entry_count
            if version == 1 {
                b.extend_from_slice(&segment_duration.to_be_bytes());
                b.extend_from_slice(&u64::from(media_time).to_be_bytes());
            } else {
                put_u32(b, segment_duration as u32);
                put_u32(b, media_time);
            }
            put_u16(b, 1); // media_rate_integer
            put_u16(b, 0); // media_rate_fraction
        });
    });
}

fn smhd(buf: &mut Vec<u8>) {
    write_full_box(buf, b"smhd", 0, 0, |b| {
        put_u16(b, 0); // balance: centre
        put_u16(b, 0); // reserved
    });
}

/// The sample entry: `mp4a` (ISO/IEC 14496-14) with its `esds`.
fn mp4a(buf: &mut Vec<u8>, track: &AudioTrackInfo) {
    write_box(buf, b"mp4a", |b| {
        b.extend_from_slice(&[0; 6]); // reserved
        put_u16(b, 1); // data_reference_index
        b.extend_from_slice(&[0; 8]); // reserved (version, revision, vendor)
        put_u16(b, track.channels);
        put_u16(b, 16); // samplesize
        put_u16(b, 0); // pre_defined
        put_u16(b, 0); // reserved
        put_u32(b, track.sample_rate << 16); // 16.16
        esds(b, track);
    });
}

/// The largest AAC-LC access unit: 6144 bits per channel (ISO/IEC 14496-3 4.5.3.1).
const MAX_AU_BYTES_PER_CHANNEL: u32 = 768;

/// `esds`: the ES_Descriptor with the decoder configuration and the AudioSpecificConfig.
pub(super) fn esds(buf: &mut Vec<u8>, track: &AudioTrackInfo) {
    write_full_box(buf, b"esds", 0, 0, |b| {
        descriptor(b, 0x03, |b| {
            // ES_Descriptor
            put_u16(b, AUDIO_TRACK_ID as u16); // ES_ID
            b.push(0); // no dependence, URL or OCR stream; priority 0
            descriptor(b, 0x04, |b| {
                // DecoderConfigDescriptor
                b.push(0x40); // objectTypeIndication: MPEG-4 Audio
                b.push(0x15); // streamType 5 (audio) << 2, upStream 0, reserved 1
                let buffer = MAX_AU_BYTES_PER_CHANNEL * u32::from(track.channels);
                b.extend_from_slice(&buffer.to_be_bytes()[1..]); // bufferSizeDB, 24 bits
                put_u32(b, track.bitrate); // maxBitrate (constant bitrate)
                put_u32(b, track.bitrate); // avgBitrate
                descriptor(b, 0x05, |b| b.extend_from_slice(&track.asc)); // DecoderSpecificInfo
            });
            descriptor(b, 0x06, |b| b.push(0x02)); // SLConfigDescriptor: predefined, MP4
        });
    });
}

/// An MPEG-4 descriptor (ISO/IEC 14496-1 8.3.3): the tag, the body's size in the 4-byte
/// expandable form (as FFmpeg writes it), the body.
fn descriptor(buf: &mut Vec<u8>, tag: u8, body: impl FnOnce(&mut Vec<u8>)) {
    buf.push(tag);
    let at = buf.len();
    buf.extend_from_slice(&[0; 4]);
    body(buf);
    let len = buf.len() - at - 4;
    assert!(len < 1 << 28, "descriptor too large");
    for (i, byte) in buf[at..at + 4].iter_mut().enumerate() {
        let more = if i < 3 { 0x80 } else { 0 };
        *byte = more | ((len >> (7 * (3 - i))) & 0x7F) as u8;
    }
}

/// fdk-aac's mono 64 kbit/s track, as the tests describe it.
#[cfg(test)]
pub(super) fn mono_64k() -> AudioTrackInfo {
    AudioTrackInfo {
        sample_rate: 48_000,
        channels: 1,
        bitrate: 64_000,
        asc: vec![0x11, 0x88],
        frame_len: 1024,
        priming: 2048,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esds_carries_the_asc_in_the_decoder_config() {
        let track = mono_64k();
        let mut buf = vec![];
        esds(&mut buf, &track);
        #[rustfmt::skip]
        let expected = [
            0, 0, 0, 0x33, b'e', b's', b'd', b's', 0, 0, 0, 0,
            0x03, 0x80, 0x80, 0x80, 0x22, 0x00, 0x02, 0x00,
            0x04, 0x80, 0x80, 0x80, 0x14, 0x40, 0x15, 0x00, 0x03, 0x00,
            0x00, 0x00, 0xFA, 0x00, 0x00, 0x00, 0xFA, 0x00,
            0x05, 0x80, 0x80, 0x80, 0x02, 0x11, 0x88,
            0x06, 0x80, 0x80, 0x80, 0x01, 0x02,
        ];
        assert_eq!(buf, expected);
    }

    #[test]
    fn edit_list_skips_the_priming() {
        let mut buf = vec![];
        edts(&mut buf, 10_000, 2048);
        assert_eq!(&buf[8..16], b"\0\0\0\x1celst");
        assert_eq!(&buf[20..], [0, 0, 0, 1, 0, 0, 0x27, 0x10, 0, 0, 8, 0, 0, 1, 0, 0]);
    }
}
