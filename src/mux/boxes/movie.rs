//! The boxes that assemble the tracks: `moov` (initial and final) with `mvhd` and `mvex`, and the
//! fragments' `moof`.

use super::{
    audio, put_times, put_u16, put_u32, version_for, video, write_box, write_full_box, FragmentIndex, Run, SampleInfo,
    AUDIO_TRACK_ID, DELTA_SAMPLE_FLAGS, KEY_SAMPLE_FLAGS, MOVIE_TIMESCALE, TFHD_DEFAULT_BASE_IS_MOOF, TRUN_FLAGS,
    UNITY_MATRIX, VIDEO_TRACK_ID,
};
use crate::encode::{AudioTrackInfo, TrackInfo};

/// The `moov` written at start: empty sample tables and `mvex`, announcing fragments. The audio
/// track's edit list already carries the priming (recovery reads it back from here).
pub(crate) fn initial_moov(buf: &mut Vec<u8>, video: &TrackInfo, audio: Option<&AudioTrackInfo>) {
    write_box(buf, b"moov", |b| {
        mvhd(b, 0, audio.is_some());
        video::trak(b, video, &[]);
        if let Some(track) = audio {
            audio::trak(b, track, &[], 0);
        }
        write_box(b, b"mvex", |b| {
            trex(b, VIDEO_TRACK_ID);
            if audio.is_some() {
                trex(b, AUDIO_TRACK_ID);
            }
        });
    });
}

fn trex(buf: &mut Vec<u8>, track_id: u32) {
    write_full_box(buf, b"trex", 0, 0, |b| {
        put_u32(b, track_id);
        put_u32(b, 1); // default_sample_description_index
        put_u32(b, 0); // default_sample_duration
        put_u32(b, 0); // default_sample_size
        put_u32(b, 0); // default_sample_flags
    });
}

/// The `moov` written at finalize: full sample tables pointing into the fragments' data.
/// `audio_samples` is the number of PCM samples really recorded (the edit list's length); `None`
/// takes what the packets hold after the priming.
pub(crate) fn final_moov(
    buf: &mut Vec<u8>,
    video: &TrackInfo,
    audio: Option<&AudioTrackInfo>,
    audio_samples: Option<u64>,
    fragments: &[FragmentIndex],
) {
    let runs = |pick: fn(&FragmentIndex) -> &Run| -> Vec<&Run> {
        fragments.iter().map(pick).filter(|r| !r.samples.is_empty()).collect()
    };
    let video_runs = runs(|f| &f.video);
    let audio_runs = runs(|f| &f.audio);
    let played = audio.map(|track| audio::played_samples(track, &audio_runs, audio_samples));
    let audio_ms = played.map_or(0, |p| super::to_movie(p, super::AUDIO_TIMESCALE));
    write_box(buf, b"moov", |b| {
        mvhd(b, video::movie_duration(&video_runs).max(audio_ms), audio.is_some());
        video::trak(b, video, &video_runs);
        if let (Some(track), Some(played)) = (audio, played) {
            audio::trak(b, track, &audio_runs, played);
        }
    });
}

fn mvhd(buf: &mut Vec<u8>, duration: u64, with_audio: bool) {
    let version = version_for(duration);
    write_full_box(buf, b"mvhd", version, 0, |b| {
        put_times(b, version, &[MOVIE_TIMESCALE], duration);
        put_u32(b, 0x0001_0000); // rate 1.0
        put_u16(b, 0x0100); // volume 1.0
        b.extend_from_slice(&[0; 10]); // reserved
        UNITY_MATRIX.iter().for_each(|&v| put_u32(b, v));
        b.extend_from_slice(&[0; 24]); // pre_defined
        put_u32(b, if with_audio { 3 } else { 2 }); // next_track_ID
    });
}

/// One track's part of a fragment.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Traf<'a> {
    pub track_id: u32,
    /// `tfdt`: the track's media time before this fragment.
    pub base_decode_time: u64,
    pub samples: &'a [SampleInfo],
}

/// A `moof` whose `traf`s' data follow one another, in the same order, in an `mdat` right after
/// it. Returns each traf's data offset from the start of the `moof`.
pub(crate) fn moof(buf: &mut Vec<u8>, sequence: u32, trafs: &[Traf<'_>]) -> Vec<u32> {
    let start = buf.len();
    let mut data_offset_at = Vec::with_capacity(trafs.len());
    write_box(buf, b"moof", |b| {
        write_full_box(b, b"mfhd", 0, 0, |b| put_u32(b, sequence));
        for traf in trafs {
            data_offset_at.push(traf_box(b, traf));
        }
    });
    // Sample data starts after this moof and the 8-byte mdat header, one traf's after another's.
    let mut data_offset = (buf.len() - start + 8) as u32;
    let mut offsets = Vec::with_capacity(trafs.len());
    for (traf, at) in trafs.iter().zip(data_offset_at) {
        buf[at..at + 4].copy_from_slice(&data_offset.to_be_bytes());
        offsets.push(data_offset);
        data_offset += traf.samples.iter().map(|s| s.size).sum::<u32>();
    }
    offsets
}

/// Writes a `traf`; returns where its `trun` data offset is, to be patched.
fn traf_box(buf: &mut Vec<u8>, traf: &Traf<'_>) -> usize {
    let mut data_offset_at = 0;
    write_box(buf, b"traf", |b| {
        write_full_box(b, b"tfhd", 0, TFHD_DEFAULT_BASE_IS_MOOF, |b| put_u32(b, traf.track_id));
        write_full_box(b, b"tfdt", 1, 0, |b| {
            b.extend_from_slice(&traf.base_decode_time.to_be_bytes())
        });
        write_full_box(b, b"trun", 0, TRUN_FLAGS, |b| {
            put_u32(b, traf.samples.len() as u32);
            data_offset_at = b.len();
            put_u32(b, 0); // data_offset, patched by `moof`
            for s in traf.samples {
                put_u32(b, s.duration);
                put_u32(b, s.size);
                put_u32(
                    b,
                    if s.keyframe {
                        KEY_SAMPLE_FLAGS
                    } else {
                        DELTA_SAMPLE_FLAGS
                    },
                );
            }
        });
    });
    data_offset_at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trun_data_offsets(buf: &[u8]) -> Vec<u32> {
        // trun: size(4) type(4) version/flags(4) count(4), then data_offset.
        buf.windows(4)
            .enumerate()
            .filter(|(_, w)| w == b"trun")
            .map(|(at, _)| u32::from_be_bytes(buf[at + 12..at + 16].try_into().unwrap()))
            .collect()
    }

    #[test]
    fn moof_data_offset_points_past_the_mdat_header() {
        let mut buf = vec![];
        let samples = [SampleInfo {
            size: 10,
            duration: 6000,
            keyframe: true,
        }];
        let traf = Traf {
            track_id: VIDEO_TRACK_ID,
            base_decode_time: 0,
            samples: &samples,
        };
        let offsets = moof(&mut buf, 1, &[traf]);
        assert_eq!(trun_data_offsets(&buf), [buf.len() as u32 + 8]);
        assert_eq!(offsets, [buf.len() as u32 + 8]);
    }

    #[test]
    fn two_traf_moof_puts_audio_data_after_the_video_data() {
        let key = |size, duration| SampleInfo {
            size,
            duration,
            keyframe: true,
        };
        let video = [
            key(1000, 6000),
            SampleInfo {
                keyframe: false,
                ..key(200, 6000)
            },
        ];
        let audio = [key(180, 1024), key(170, 1024), key(175, 1024)];
        let mut buf = vec![7, 7, 7]; // the moof need not start the buffer
        let trafs = [
            Traf {
                track_id: VIDEO_TRACK_ID,
                base_decode_time: 90_000,
                samples: &video,
            },
            Traf {
                track_id: AUDIO_TRACK_ID,
                base_decode_time: 48_128,
                samples: &audio,
            },
        ];
        let offsets = moof(&mut buf, 3, &trafs);
        let moof_len = buf.len() as u32 - 3;
        assert_eq!(offsets, [moof_len + 8, moof_len + 8 + 1200]);
        assert_eq!(trun_data_offsets(&buf), offsets);
        // Each traf names its track, with default-base-is-moof, and its own tfdt.
        let tfhd: Vec<&[u8]> = buf
            .windows(4)
            .enumerate()
            .filter(|(_, w)| w == b"tfhd")
            .map(|(at, _)| &buf[at + 4..at + 12])
            .collect();
        assert_eq!(tfhd, [[0, 2, 0, 0, 0, 0, 0, 1], [0, 2, 0, 0, 0, 0, 0, 2]]);
        let tfdt: Vec<u64> = buf
            .windows(4)
            .enumerate()
            .filter(|(_, w)| w == b"tfdt")
            .map(|(at, _)| u64::from_be_bytes(buf[at + 8..at + 16].try_into().unwrap()))
            .collect();
        assert_eq!(tfdt, [90_000, 48_128]);
        // The audio samples are all sync samples.
        let at = buf.windows(4).rposition(|w| w == b"trun").unwrap();
        for i in 0..3 {
            let flags = &buf[at + 16 + 12 * i + 8..at + 16 + 12 * i + 12];
            assert_eq!(flags, KEY_SAMPLE_FLAGS.to_be_bytes());
        }
    }
}
