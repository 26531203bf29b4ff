//! Mux: the crash-safe "hybrid" MP4 (docs/ARCHITECTURE.md, File format).
//!
//! While recording the file is `ftyp moov(mvex) free(16) [moof mdat]*`, every fragment fsync'd.
//! Each fragment holds both tracks when there is sound: one `moof` with a video and an audio
//! `traf`, one `mdat` (video data, then audio data). [`HybridWriter::finish`] appends a full
//! `moov` and patches the head into `ftyp free mdat moov`, an ordinary MP4. [`recover`] does the
//! same for a file left behind by a crash.

mod boxes;
mod finalize;
mod parse;
mod recover;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) use recover::finalized_duration;
pub use recover::{needs_recovery, recover, recover_folder};

use boxes::{FragmentIndex, Run, SampleInfo, Traf, AUDIO_TIMESCALE, AUDIO_TRACK_ID, TIMESCALE, VIDEO_TRACK_ID};
use finalize::{finalize_fitting, write_error, HeadLayout, Movie};

use crate::encode::{AudioPacket, AudioTrackInfo, Sample, TrackInfo};
use crate::error::{Error, Result};
use crate::event::FragmentInfo;
use crate::files::write_pieces_at;

/// A duration in media ticks, rounded to the nearest tick (1/15 s is 6000 ticks, not 5999).
fn ticks(d: Duration) -> u64 {
    ((d.as_nanos() * u128::from(TIMESCALE) + 500_000_000) / 1_000_000_000) as u64
}

/// Ticks back to a duration.
pub(crate) fn ticks_to_duration(ticks: u64) -> Duration {
    Duration::from_nanos((u128::from(ticks) * 1_000_000_000 / u128::from(TIMESCALE)) as u64)
}

/// Writes one recording: fragments while recording, an ordinary MP4 at the end.
#[derive(Debug)]
pub struct HybridWriter {
    file: File,
    path: PathBuf,
    track: Option<TrackInfo>,
    /// The sound track, declared before the first sample.
    audio: Option<AudioTrackInfo>,
    head: Option<HeadLayout>,
    /// End of the committed data: everything before is fsync'd and valid.
    committed: u64,
    fragments: Vec<FragmentIndex>,
    /// Video samples of the fragment in progress, with their tick times.
    pending: Vec<(u64, Sample)>,
    /// Audio packets not yet in a fragment, in order.
    audio_pending: Vec<AudioPacket>,
    /// Timeline origin: recording time 0 with sound, else the first sample's timestamp.
    origin: Option<Duration>,
    /// Video ticks at the start of the fragment in progress.
    decode_time: u64,
    /// Audio samples committed: the next audio `tfdt`.
    audio_time: u64,
    /// PCM samples really recorded, given to `finish` (the audio edit list's length).
    audio_samples: Option<u64>,
    /// Media ticks per fragment: a fragment is committed once it spans this much.
    fragment_ticks: u64,
}

impl HybridWriter {
    /// Takes an empty, freshly created file; commits a fragment every `fragment_interval` of media.
    pub fn new(file: File, path: PathBuf, fragment_interval: Duration) -> Self {
        HybridWriter {
            file,
            path,
            track: None,
            audio: None,
            head: None,
            committed: 0,
            fragments: Vec::new(),
            pending: Vec::new(),
            audio_pending: Vec::new(),
            origin: None,
            decode_time: 0,
            audio_time: 0,
            audio_samples: None,
            fragment_ticks: ticks(fragment_interval).max(1),
        }
    }

    /// Declares a sound track (track 2), before the first sample. Its time is the running sample
    /// count, and the video's origin becomes recording time 0 (the first picture shows from 0).
    pub fn with_audio(mut self, track: AudioTrackInfo) -> Self {
        debug_assert!(self.head.is_none(), "with_audio after the first sample");
        self.audio = Some(track);
        self
    }

    /// True when the file has a sound track.
    pub(crate) fn has_audio(&self) -> bool {
        self.audio.is_some()
    }

    /// The recording's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn io_error(&self, what: &str, e: std::io::Error) -> Error {
        write_error(&self.path, what, e)
    }

    /// Writes `pieces` one after another from `offset` and makes them durable; returns the bytes
    /// written.
    fn write_durably<'a>(&self, offset: u64, pieces: impl IntoIterator<Item = &'a [u8]>) -> Result<u64> {
        write_pieces_at(&self.file, offset, pieces)
            .and_then(|written| self.file.sync_data().map(|()| written))
            .map_err(|e| self.io_error("writing", e))
    }

    /// Adds a sample; returns the fragment it completed, if any. `track` describes the stream and
    /// is needed with the first sample (which must be a keyframe).
    pub fn push(&mut self, sample: Sample, track: Option<&TrackInfo>) -> Result<Option<FragmentInfo>> {
        if self.head.is_none() {
            if !sample.keyframe {
                return Ok(None); // cannot start on a delta frame; the encoder always starts with an IDR
            }
            let track = track.ok_or_else(|| Error::Internal("first sample came without SPS/PPS".into()))?;
            self.write_head(track.clone())?;
        }
        let first_origin = if self.audio.is_some() {
            Duration::ZERO
        } else {
            sample.timestamp
        };
        let origin = *self.origin.get_or_insert(first_origin);
        let last = self.pending.last().map(|(t, _)| *t).unwrap_or(self.decode_time);
        let t = if self.pending.is_empty() && self.decode_time == 0 {
            0 // the first picture shows from the start of the timeline
        } else {
            // strictly increasing, even for odd host timestamps
            ticks(sample.timestamp.saturating_sub(origin)).max(last + 1)
        };
        // Fragments are cut by time, not at keyframes: each one only has to follow the previous.
        let fragment_start = self.pending.first().map(|(t, _)| *t);
        let done = if fragment_start.is_some_and(|start| t - start >= self.fragment_ticks) {
            let audio = self.audio_starting_before(t);
            Some(self.commit_fragment(Some(t), audio)?)
        } else {
            None
        };
        self.pending.push((t, sample));
        Ok(done)
    }

    /// Adds an audio packet (in order; its time is the sample count so far). Commits the pending
    /// audio alone when the video has stalled for two fragments' worth of sound.
    pub fn push_audio(&mut self, packet: AudioPacket) -> Result<Option<FragmentInfo>> {
        if self.audio.is_none() {
            return Err(Error::Internal("push_audio on a writer without with_audio".into()));
        }
        self.audio_pending.push(packet);
        if self.head.is_none() {
            return Ok(None); // the head needs the first picture's SPS/PPS
        }
        let pending: u64 = self.audio_pending.iter().map(|p| u64::from(p.samples)).sum();
        if pending * u64::from(TIMESCALE) >= 2 * self.fragment_ticks * u64::from(AUDIO_TIMESCALE) {
            let all = self.audio_pending.len();
            return self.commit_fragment(None, all).map(Some);
        }
        Ok(None)
    }

    /// How many pending audio packets start (as played, after the priming) before video tick `t`.
    fn audio_starting_before(&self, t: u64) -> usize {
        let priming = self.audio.as_ref().map_or(0, |a| i128::from(a.priming));
        let mut at = i128::from(self.audio_time) - priming;
        self.audio_pending
            .iter()
            .take_while(|p| {
                let start = at;
                at += i128::from(p.samples);
                start * i128::from(TIMESCALE) < i128::from(t) * i128::from(AUDIO_TIMESCALE)
            })
            .count()
    }

    fn write_head(&mut self, track: TrackInfo) -> Result<()> {
        let mut buf = Vec::new();
        boxes::ftyp(&mut buf);
        let moov_offset = buf.len() as u64;
        boxes::initial_moov(&mut buf, &track, self.audio.as_ref());
        let reserved_offset = buf.len() as u64;
        boxes::reserved(&mut buf);
        self.committed = self.write_durably(0, [&buf[..]])?;
        self.head = Some(HeadLayout {
            moov_offset,
            reserved_offset,
        });
        self.track = Some(track);
        Ok(())
    }

    /// Writes one fragment and fsyncs it: the pending video samples, the last lasting until tick
    /// `video_end` (`None`: no video in this fragment), and the first `audio` pending packets.
    fn commit_fragment(&mut self, video_end: Option<u64>, audio: usize) -> Result<FragmentInfo> {
        let mut video = Vec::new();
        if let Some(end) = video_end {
            for (i, (t, s)) in self.pending.iter().enumerate() {
                let next = self.pending.get(i + 1).map_or(end, |(n, _)| *n);
                video.push(SampleInfo {
                    size: s.data.len() as u32,
                    duration: (next.max(t + 1) - t) as u32,
                    keyframe: s.keyframe,
                });
            }
        }
        let packets = &self.audio_pending[..audio];
        let sound: Vec<SampleInfo> = packets
            .iter()
            .map(|p| SampleInfo {
                size: p.data.len() as u32,
                duration: p.samples,
                keyframe: true, // every AAC access unit is a sync sample
            })
            .collect();
        let mut trafs = Vec::with_capacity(2);
        for (track_id, base_decode_time, samples) in [
            (VIDEO_TRACK_ID, self.decode_time, &video),
            (AUDIO_TRACK_ID, self.audio_time, &sound),
        ] {
            if !samples.is_empty() {
                trafs.push(Traf {
                    track_id,
                    base_decode_time,
                    samples,
                });
            }
        }
        let payload: usize = video.iter().chain(&sound).map(|s| s.size as usize).sum();
        let mut head = Vec::with_capacity(128 + 12 * (video.len() + sound.len()));
        let offsets = boxes::moof(&mut head, self.fragments.len() as u32 + 1, &trafs);
        boxes::mdat_header(&mut head, payload);
        // The samples are written from where they wait, not copied into one buffer first.
        let video_samples = if video_end.is_some() { &self.pending[..] } else { &[] };
        let pieces = std::iter::once(&head[..])
            .chain(video_samples.iter().map(|(_, s)| &s.data[..]))
            .chain(packets.iter().map(|p| &p.data[..]));
        let start = self.committed;
        match self.write_durably(start, pieces) {
            Ok(written) => self.committed += written,
            Err(e) => {
                let _ = self.file.set_len(start); // drop the torn fragment, keep the committed ones
                return Err(e);
            }
        }
        let mut offsets = offsets.into_iter().map(|o| start + u64::from(o));
        let mut run = |samples: Vec<SampleInfo>| Run {
            data_offset: if samples.is_empty() {
                0
            } else {
                offsets.next().unwrap_or(0)
            },
            samples,
        };
        let (video, audio_run) = (run(video), run(sound));
        self.decode_time += video.duration();
        self.audio_time += audio_run.duration();
        if video_end.is_some() {
            self.pending.clear();
        }
        self.audio_pending.drain(..audio);
        self.fragments.push(FragmentIndex {
            start,
            video,
            audio: audio_run,
        });
        Ok(FragmentInfo {
            index: self.fragments.len() as u32,
            start,
            end: self.committed,
            duration: ticks_to_duration(self.decode_time),
        })
    }

    /// Commits what is pending, the last picture lasting until `end` (a timestamp on the same
    /// timeline as the samples') and every pending audio packet, then finalizes. `audio_samples`
    /// is the number of PCM sample frames given to the audio encoder (its `samples_in`): the
    /// sound's real length, for the edit list. Returns the last fragment committed, if any.
    pub fn finish(&mut self, end: Duration, audio_samples: Option<u64>) -> Result<Option<FragmentInfo>> {
        let last = if self.head.is_some() && !(self.pending.is_empty() && self.audio_pending.is_empty()) {
            let origin = self.origin.unwrap_or_default();
            let video_end = (!self.pending.is_empty()).then(|| ticks(end.saturating_sub(origin)));
            let audio = self.audio_pending.len();
            Some(self.commit_fragment(video_end, audio)?)
        } else {
            None
        };
        self.audio_samples = audio_samples;
        self.finalize()?;
        Ok(last)
    }

    /// Finalizes what is committed, dropping anything pending (used after a write failure).
    pub(crate) fn finalize(&mut self) -> Result<()> {
        self.pending.clear();
        self.audio_pending.clear();
        let (Some(head), Some(track)) = (self.head, self.track.as_ref()) else {
            return Ok(()); // nothing was ever written
        };
        let movie = Movie {
            video: track,
            audio: self.audio.as_ref(),
            audio_samples: self.audio_samples,
        };
        self.committed = finalize_fitting(&self.file, &self.path, head, movie, &mut self.fragments, self.committed)?;
        self.decode_time = self.fragments.iter().map(|f| f.video.duration()).sum();
        Ok(())
    }

    /// Video duration committed so far.
    pub(crate) fn duration(&self) -> Duration {
        ticks_to_duration(self.decode_time)
    }
}
