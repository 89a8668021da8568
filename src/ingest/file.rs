//! The file segmenter: demuxes a media file once and remuxes it (no re-encode) into MPEG-TS
//! segments, cutting at the first video keyframe at or after each `segment_seconds` boundary, the
//! rule of FFmpeg's HLS muxer (`hls_time`) and of Livepeer's segmenter. Segment `n` ends at the
//! first keyframe whose time is at least `(n + 1) × segment_seconds` after the first keyframe.
//!
//! The MPEG-TS muxer inserts `h264_mp4toannexb`/`hevc_mp4toannexb` itself (its
//! `check_bitstream`), and writes ADTS headers for AAC taken from MP4. Timestamps are kept as
//! the source has them (continuous across segments, as in a live stream); negative starting
//! timestamps (B-frame delay in MP4) are absorbed by the muxer's own 1.4 s offset.

use std::path::{Path, PathBuf};

use ffmpeg_next as ffmpeg;

use super::{
    fmt_seconds, frame_rate, main_audio_stream, main_video_stream, video_facts, IngestError,
    PreparedSource, Segment, SourceInfo,
};

/// Tolerance when comparing a keyframe time with a boundary, so that 2.0 s read back as
/// 1.9999999 s still cuts there.
const BOUNDARY_EPSILON_SECONDS: f64 = 1e-6;
/// Consecutive read errors after which the rest of the file is taken as unreadable.
const MAX_CONSECUTIVE_READ_ERRORS: u32 = 64;

/// A timestamp that goes back by more than this is a restart, not B-frame reordering.
const RESTART_THRESHOLD_SECONDS: f64 = 1.0;

/// Keeps one stream's timestamps continuous where they restart: MPEG-TS files joined with `cat`
/// (each starts again near 0), captures spliced from two sources, the 33-bit PTS wrap. After a
/// restart every later packet is shifted to continue right after the last one before it, so the
/// whole input is segmented (FFmpeg's concat demuxer does the same). Works in the stream's time
/// base on decode timestamps, which never go back in a well-formed stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Continuity {
    /// Ticks added to every timestamp from here on.
    offset: i64,
    /// Largest shifted decode timestamp so far.
    last_dts: Option<i64>,
    /// Largest shifted end (timestamp + duration) so far.
    last_end: Option<i64>,
    /// Backward jumps larger than this many ticks are restarts.
    threshold: i64,
    /// Restarts found so far.
    pub restarts: u32,
    /// Where the first restart was, in the source's own timeline (seconds, shifted).
    pub first_restart_ticks: Option<i64>,
}

impl Continuity {
    /// For a stream whose time base is `time_base` seconds per tick.
    pub fn new(time_base_seconds: f64) -> Self {
        let threshold = if time_base_seconds > 0.0 {
            (RESTART_THRESHOLD_SECONDS / time_base_seconds).min(i64::MAX as f64) as i64
        } else {
            i64::MAX
        };
        Continuity {
            threshold,
            ..Continuity::default()
        }
    }

    /// The offset (ticks) to add to this packet's timestamps; `dts` is its decode timestamp
    /// (else its presentation timestamp), `duration` its duration in ticks.
    pub fn offset_for(&mut self, dts: Option<i64>, duration: i64) -> i64 {
        let Some(raw) = dts else {
            return self.offset;
        };
        if let Some(last) = self.last_dts {
            if raw.saturating_add(self.offset) < last.saturating_sub(self.threshold) {
                let resume = self.last_end.unwrap_or(last);
                self.offset = resume.saturating_sub(raw);
                self.restarts += 1;
                self.first_restart_ticks.get_or_insert(resume);
            }
        }
        let shifted = raw.saturating_add(self.offset);
        let end = shifted.saturating_add(duration.max(0));
        self.last_dts = Some(self.last_dts.map_or(shifted, |l| l.max(shifted)));
        self.last_end = Some(self.last_end.map_or(end, |e| e.max(end)));
        self.offset
    }
}

/// Shifts a packet's timestamps by `offset` ticks.
fn shift(packet: &mut ffmpeg::Packet, offset: i64) {
    if offset != 0 {
        packet.set_pts(packet.pts().map(|t| t.saturating_add(offset)));
        packet.set_dts(packet.dts().map(|t| t.saturating_add(offset)));
    }
}

/// Where segment `index` of the source is written.
pub fn segment_path(segment_dir: &Path, index: u32) -> PathBuf {
    segment_dir.join(format!("seg_{index:05}.ts"))
}

/// Whether a keyframe at `keyframe_offset_seconds` (from the first keyframe) ends segment
/// `index`.
pub fn ends_segment(keyframe_offset_seconds: f64, index: u32, segment_seconds: f64) -> bool {
    keyframe_offset_seconds + BOUNDARY_EPSILON_SECONDS >= f64::from(index + 1) * segment_seconds
}

/// The longest gap between consecutive keyframes, or from the last keyframe to `end_seconds`.
pub fn keyframe_interval_max(keyframe_seconds: &[f64], end_seconds: f64) -> f64 {
    let gaps = keyframe_seconds.windows(2).map(|w| w[1] - w[0]);
    let tail = keyframe_seconds.last().map(|last| end_seconds - last);
    gaps.chain(tail).fold(0.0, f64::max)
}

/// One MPEG-TS segment being written. Each video packet is held back until the next one
/// arrives, so that the last one of a truncated file, which may be cut short, can be left out.
struct SegmentWriter {
    octx: ffmpeg::format::context::Output,
    path: PathBuf,
    index: u32,
    start_seconds: f64,
    video_frames: u64,
    /// End (presentation time + duration) of the latest written video frame, in seconds.
    video_end_seconds: f64,
    pending_video: Option<PendingVideo>,
    refused_packets: u64,
    video_in_time_base: ffmpeg::Rational,
    audio_in_time_base: Option<ffmpeg::Rational>,
    video_time_base: ffmpeg::Rational,
    audio_time_base: Option<ffmpeg::Rational>,
}

struct PendingVideo {
    packet: ffmpeg::Packet,
    end_seconds: f64,
}

/// Why a segment file could not be started.
enum OpenError {
    /// Creating the file failed (work folder not writable, disk full).
    File(String),
    /// The MPEG-TS muxer refused the streams (a codec it cannot carry).
    Streams(String),
}

/// The input streams a segment carries.
struct StreamsIn {
    video: ffmpeg::codec::Parameters,
    video_time_base: ffmpeg::Rational,
    audio: Option<(ffmpeg::codec::Parameters, ffmpeg::Rational)>,
}

impl SegmentWriter {
    fn open(
        path: PathBuf,
        index: u32,
        start_seconds: f64,
        streams: &StreamsIn,
    ) -> Result<Self, OpenError> {
        let mut octx = ffmpeg::format::output_as(&path, "mpegts")
            .map_err(|e| OpenError::File(format!("open: {e}")))?;
        {
            let mut ost = octx
                .add_stream(ffmpeg::encoder::find(ffmpeg::codec::Id::None))
                .map_err(|e| OpenError::File(format!("add video stream: {e}")))?;
            ost.set_parameters(streams.video.clone());
            ost.set_time_base(streams.video_time_base);
        }
        if let Some((params, time_base)) = &streams.audio {
            let mut ost = octx
                .add_stream(ffmpeg::encoder::find(ffmpeg::codec::Id::None))
                .map_err(|e| OpenError::File(format!("add audio stream: {e}")))?;
            ost.set_parameters(params.clone());
            ost.set_time_base(*time_base);
        }
        let mut options = ffmpeg::Dictionary::new();
        // Keep the source's timestamps: the muxer's default would shift each file separately,
        // making the segments overlap.
        options.set("avoid_negative_ts", "disabled");
        octx.write_header_with(options)
            .map_err(|e| OpenError::Streams(e.to_string()))?;
        let video_time_base = octx
            .stream(0)
            .map(|s| s.time_base())
            .ok_or_else(|| OpenError::Streams("the muxer lost the video stream".into()))?;
        let audio_time_base = if streams.audio.is_some() {
            Some(
                octx.stream(1)
                    .map(|s| s.time_base())
                    .ok_or_else(|| OpenError::Streams("the muxer lost the audio stream".into()))?,
            )
        } else {
            None
        };
        Ok(SegmentWriter {
            octx,
            path,
            index,
            start_seconds,
            video_frames: 0,
            video_end_seconds: start_seconds,
            pending_video: None,
            refused_packets: 0,
            video_in_time_base: streams.video_time_base,
            audio_in_time_base: streams.audio.as_ref().map(|(_, tb)| *tb),
            video_time_base,
            audio_time_base,
        })
    }

    /// Hands the muxer one packet; `false` when it refused it (e.g. a corrupt timestamp).
    fn mux(&mut self, mut packet: ffmpeg::Packet, audio: bool) -> bool {
        let (out_index, in_time_base, out_time_base) =
            match (audio, self.audio_in_time_base, self.audio_time_base) {
                (false, _, _) => (0, self.video_in_time_base, self.video_time_base),
                (true, Some(in_tb), Some(out_tb)) => (1, in_tb, out_tb),
                (true, _, _) => return true,
            };
        packet.rescale_ts(in_time_base, out_time_base);
        packet.set_position(-1);
        packet.set_stream(out_index);
        packet.write_interleaved(&mut self.octx).is_ok()
    }

    fn write_audio(&mut self, packet: ffmpeg::Packet) {
        if !self.mux(packet, true) {
            self.refused_packets += 1;
        }
    }

    fn write_video(&mut self, packet: ffmpeg::Packet, end_seconds: f64) {
        self.flush_pending_video();
        self.pending_video = Some(PendingVideo {
            packet,
            end_seconds,
        });
    }

    fn flush_pending_video(&mut self) {
        if let Some(pending) = self.pending_video.take() {
            if self.mux(pending.packet, false) {
                self.video_frames += 1;
                self.video_end_seconds = self.video_end_seconds.max(pending.end_seconds);
            } else {
                self.refused_packets += 1;
            }
        }
    }

    /// Closes the segment. `next_start_seconds` is where the next segment starts (its
    /// duration runs up to there); `None` for the last, which runs to its last frame's end.
    /// `keep_last_frame` is false for a truncated file's last segment.
    fn finish(
        mut self,
        next_start_seconds: Option<f64>,
        keep_last_frame: bool,
        origin_seconds: f64,
    ) -> Result<(Segment, u64), String> {
        if keep_last_frame {
            self.flush_pending_video();
        }
        self.octx
            .write_trailer()
            .map_err(|e| format!("write MPEG-TS trailer: {e}"))?;
        drop(self.octx);
        let bytes = std::fs::metadata(&self.path)
            .map_err(|e| format!("read its size: {e}"))?
            .len();
        let end_seconds = next_start_seconds.unwrap_or(self.video_end_seconds);
        Ok((
            Segment {
                index: self.index,
                path: self.path,
                bytes,
                duration_seconds: (end_seconds - self.start_seconds).max(0.0),
                video_frames: self.video_frames,
                start_seconds: self.start_seconds - origin_seconds,
            },
            self.refused_packets,
        ))
    }
}

/// Whether FFmpeg's MPEG-TS muxer maps the codec to a stream type that demuxers recognise
/// (`get_dvb_stream_type` in libavformat/mpegtsenc.c); it writes any other codec as opaque
/// private data, which no demuxer would read back as audio or video.
pub fn mpegts_carries(id: ffmpeg::codec::Id) -> bool {
    use ffmpeg::codec::Id;
    matches!(
        id,
        Id::MPEG1VIDEO
            | Id::MPEG2VIDEO
            | Id::MPEG4
            | Id::H264
            | Id::HEVC
            | Id::CAVS
            | Id::AVS2
            | Id::AVS3
            | Id::DIRAC
            | Id::VC1
            | Id::MP2
            | Id::MP3
            | Id::AAC
            | Id::AAC_LATM
            | Id::AC3
            | Id::EAC3
            | Id::DTS
            | Id::TRUEHD
            | Id::S302M
            | Id::OPUS
    )
}

fn seconds(ts: i64, time_base: ffmpeg::Rational) -> f64 {
    ts as f64 * f64::from(time_base)
}

/// Why the file looks truncated, if it does: reading stopped at an error, a transport stream
/// whose size is not a whole number of TS packets, or less video than the header declares.
pub fn truncation_evidence(
    read_error: Option<&str>,
    container: &str,
    size_bytes: u64,
    declared_seconds: f64,
    read_seconds: f64,
    frame_seconds: f64,
) -> Option<String> {
    if let Some(e) = read_error {
        return Some(format!("reading stopped at an error: {e}"));
    }
    // 188-byte TS packets, 192 in M2TS (Blu-ray), 204 with Reed-Solomon bytes.
    if container == "mpegts"
        && [188, 192, 204]
            .iter()
            .all(|p| !size_bytes.is_multiple_of(*p))
    {
        return Some(format!(
            "its {size_bytes} bytes are not a whole number of transport-stream packets"
        ));
    }
    // The audio may outlast the video by a little, hence the 10% margin.
    if declared_seconds > 0.0 && read_seconds + frame_seconds < 0.9 * declared_seconds {
        return Some(format!(
            "its header says {} s, but only {} s of video could be read",
            fmt_seconds(declared_seconds),
            fmt_seconds(read_seconds.max(0.0))
        ));
    }
    None
}

/// What cutting a file found beside its segments, for the warnings.
struct CutStats {
    keyframe_count: usize,
    keyframe_interval_max_seconds: f64,
    /// Video before the first keyframe, seconds (a capture that starts mid-GOP).
    lead_in_seconds: f64,
    skipped_before_keyframe: u64,
    restarts: u32,
    first_restart_seconds: Option<f64>,
    read_errors: u64,
    /// Reading gave up (the truncation evidence says so; no second warning).
    read_stopped: bool,
    refused_packets: u64,
    /// The audio codec left out, when MPEG-TS cannot carry it.
    audio_dropped: Option<String>,
}

/// The warnings a cut file gives: long segments, a mid-GOP start, restarting timestamps, skipped
/// or refused packets, dropped audio. Each a complete sentence naming the file.
fn cut_warnings(
    name: &str,
    stats: &CutStats,
    segments: &[Segment],
    segment_seconds: f64,
    frame_seconds: f64,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let duration_seconds: f64 = segments.iter().map(|s| s.duration_seconds).sum();
    let frame_tolerance = frame_seconds.max(0.001) / 2.0;
    let long: Vec<&Segment> = segments
        .iter()
        .filter(|s| s.duration_seconds > segment_seconds + frame_tolerance)
        .collect();
    if let Some(longest) = long
        .iter()
        .max_by(|a, b| a.duration_seconds.total_cmp(&b.duration_seconds))
    {
        let only_one = if stats.keyframe_count == 1 {
            " (it has a single keyframe)"
        } else {
            ""
        };
        warnings.push(format!(
            "'{name}': keyframes are up to {} s apart{only_one}, so {} of {} segments are longer \
             than the {} s asked (longest {} s, segment {}); segments are cut only at keyframes. \
             Re-encode the source with a keyframe every {} s (e.g. ffmpeg -g <fps × {}> \
             -sc_threshold 0) for segments of that length.",
            fmt_seconds(stats.keyframe_interval_max_seconds),
            long.len(),
            segments.len(),
            fmt_seconds(segment_seconds),
            fmt_seconds(longest.duration_seconds),
            longest.index,
            fmt_seconds(segment_seconds),
            fmt_seconds(segment_seconds),
        ));
    }
    if stats.skipped_before_keyframe > 0 {
        let lead_in = stats.lead_in_seconds;
        warnings.push(format!(
            "'{name}': it starts mid-GOP: the {} video packets ({} s) \
             before the first keyframe cannot be decoded on their own and are not used; the \
             benchmark covers the video from the first keyframe on.",
            stats.skipped_before_keyframe,
            fmt_seconds(lead_in.max(0.0))
        ));
    }
    if stats.restarts > 0 {
        let at = stats.first_restart_seconds;
        warnings.push(format!(
            "'{name}': its timestamps restart {} time(s) (first at {} s: files joined \
             end to end, or a spliced capture); rigbench shifted each later part to continue \
             after the one before, so all {} s of video are segmented. Check that this is the \
             stream you meant to benchmark.",
            stats.restarts,
            at.map_or("?".to_string(), |a| fmt_seconds(a.max(0.0))),
            fmt_seconds(duration_seconds)
        ));
    }
    if stats.read_errors > 0 && !stats.read_stopped {
        warnings.push(format!(
            "'{name}': {} packets could not be read and were skipped; the file may be \
             damaged.",
            stats.read_errors
        ));
    }
    if stats.refused_packets > 0 {
        warnings.push(format!(
            "'{name}': the MPEG-TS muxer refused {} packets (bad or \
             out-of-order timestamps); they are left out of the segments.",
            stats.refused_packets
        ));
    }
    if let Some(codec) = &stats.audio_dropped {
        warnings.push(format!(
            "'{name}': its {codec} audio cannot be carried in MPEG-TS, so the segments carry \
             video only; re-encode the audio to AAC to keep it."
        ));
    }
    warnings
}

/// A media file opened and probed, ready to cut.
struct Opened {
    ictx: ffmpeg::format::context::Input,
    video_index: usize,
    audio_index: Option<usize>,
    facts: super::VideoFacts,
    fps: f64,
    fps_num: u32,
    fps_den: u32,
    video_time_base: ffmpeg::Rational,
    frame_seconds: f64,
    /// The audio stream's time base, seconds per tick (0 without audio).
    audio_time_base_seconds: f64,
    streams: StreamsIn,
    /// The audio is left out: MPEG-TS cannot carry its codec.
    audio_dropped: bool,
    audio_codec: Option<String>,
    container: String,
    container_bitrate_bps: u64,
    /// What the header promises for the video (else for the whole file, audio included).
    declared_video_seconds: f64,
}

/// Opens `input`, finds its video (and audio) and checks MPEG-TS can carry it.
fn open_input(input: &Path) -> Result<Opened, IngestError> {
    let not_media = |reason: String| IngestError::NotMedia {
        path: input.to_path_buf(),
        reason,
    };
    let ictx = ffmpeg::format::input(&input).map_err(|e| not_media(e.to_string()))?;
    let video_index = main_video_stream(&ictx).ok_or_else(|| IngestError::NoVideo {
        path: input.to_path_buf(),
        streams: super::describe_streams(&ictx),
    })?;
    let audio_index = main_audio_stream(&ictx);

    let video_stream = ictx
        .stream(video_index)
        .ok_or_else(|| not_media("video stream vanished".into()))?;
    let facts =
        video_facts(&video_stream).map_err(|(codec, reason)| IngestError::UndecodableVideo {
            path: input.to_path_buf(),
            codec,
            reason,
        })?;
    let (fps, fps_num, fps_den) = frame_rate(&video_stream);
    let video_time_base = video_stream.time_base();
    let frame_seconds = if fps > 0.0 { 1.0 / fps } else { 0.0 };
    let audio = audio_index.and_then(|i| ictx.stream(i)).map(|s| {
        (
            s.parameters().clone(),
            s.time_base(),
            s.parameters().id().name().to_string(),
        )
    });
    if !mpegts_carries(video_stream.parameters().id()) {
        return Err(IngestError::VideoNotMuxable {
            path: input.to_path_buf(),
            codec: facts.codec,
            reason: "MPEG-TS has no stream type for it".into(),
        });
    }
    // Audio that MPEG-TS cannot carry (PCM, Vorbis, FLAC, …) is left out, with a warning.
    let audio_dropped = audio
        .as_ref()
        .is_some_and(|(params, _, _)| !mpegts_carries(params.id()));
    let streams = StreamsIn {
        video: video_stream.parameters().clone(),
        video_time_base,
        audio: audio
            .as_ref()
            .filter(|_| !audio_dropped)
            .map(|(p, tb, _)| (p.clone(), *tb)),
    };
    let audio_codec = audio.as_ref().map(|(_, _, name)| name.clone());
    let container = ictx.format().name().to_string();
    let container_bitrate_bps = u64::try_from(ictx.bit_rate()).unwrap_or(0);
    // What the header promises for the video (else for the whole file, audio included).
    let declared_video_seconds = if video_stream.duration() > 0 {
        seconds(video_stream.duration(), video_time_base)
    } else if ictx.duration() > 0 {
        ictx.duration() as f64 / f64::from(ffmpeg::ffi::AV_TIME_BASE)
    } else {
        0.0
    };
    let audio_time_base_seconds = audio.as_ref().map_or(0.0, |(_, tb, _)| f64::from(*tb));
    Ok(Opened {
        video_index,
        audio_index,
        facts,
        fps,
        fps_num,
        fps_den,
        video_time_base,
        frame_seconds,
        audio_time_base_seconds,
        streams,
        audio_dropped,
        audio_codec,
        container,
        container_bitrate_bps,
        declared_video_seconds,
        ictx,
    })
}

/// Cuts a media file into MPEG-TS segments under `workdir/segments/`: open and probe it, read
/// every packet through the cutter, then close the last segment and sum up.
pub fn prepare_file(
    input: &Path,
    segment_seconds: f64,
    workdir: &Path,
) -> Result<PreparedSource, IngestError> {
    let mut opened = open_input(input)?;
    let segment_dir = workdir.join("segments");
    std::fs::create_dir_all(&segment_dir).map_err(|e| IngestError::Workdir {
        path: segment_dir.clone(),
        source: e,
    })?;
    let mut cutter = Cutter::new(input, segment_dir, segment_seconds, &opened);
    cutter.read_all(&mut opened)?;
    cutter.finish(opened)
}

/// What reading the next packet gave.
enum Read {
    Packet(ffmpeg::Packet),
    /// A packet that could not be read (skipped).
    Skipped,
    /// The end of the file, or too many read errors in a row.
    End,
}

/// The cutting state: the segment being written, those finished, and what was seen on the way.
struct Cutter<'a> {
    input: &'a Path,
    segment_dir: PathBuf,
    segment_seconds: f64,
    segments: Vec<Segment>,
    current: Option<SegmentWriter>,
    /// Time of the first keyframe: segment boundaries count from it.
    origin_seconds: f64,
    keyframes: Vec<f64>,
    video_end_seconds: f64,
    video_packets_seen: u64,
    skipped_before_keyframe: u64,
    refused_packets: u64,
    read_errors: u64,
    consecutive_read_errors: u32,
    read_stopped: Option<String>,
    video_continuity: Continuity,
    audio_continuity: Continuity,
    first_video_seconds: Option<f64>,
}

impl<'a> Cutter<'a> {
    fn new(input: &'a Path, segment_dir: PathBuf, segment_seconds: f64, o: &Opened) -> Self {
        Cutter {
            input,
            segment_dir,
            segment_seconds,
            segments: Vec::new(),
            current: None,
            origin_seconds: 0.0,
            keyframes: Vec::new(),
            video_end_seconds: f64::NEG_INFINITY,
            video_packets_seen: 0,
            skipped_before_keyframe: 0,
            refused_packets: 0,
            read_errors: 0,
            consecutive_read_errors: 0,
            read_stopped: None,
            video_continuity: Continuity::new(f64::from(o.video_time_base)),
            audio_continuity: Continuity::new(o.audio_time_base_seconds),
            first_video_seconds: None,
        }
    }

    fn write_error(&self, segment: &Path, reason: String) -> IngestError {
        IngestError::SegmentWrite {
            segment: segment.to_path_buf(),
            source_path: self.input.to_path_buf(),
            reason,
        }
    }

    /// Reads every packet of the input, cutting as it goes.
    fn read_all(&mut self, o: &mut Opened) -> Result<(), IngestError> {
        loop {
            let mut packet = match self.read(&mut o.ictx) {
                Read::Packet(p) => p,
                Read::Skipped => continue,
                Read::End => return Ok(()),
            };
            let stream_index = packet.stream();
            if Some(stream_index) == o.audio_index {
                let offset = self
                    .audio_continuity
                    .offset_for(packet.dts().or(packet.pts()), packet.duration());
                shift(&mut packet, offset);
                if let Some(writer) = self.current.as_mut() {
                    writer.write_audio(packet);
                }
            } else if stream_index == o.video_index {
                self.video_packet(o, packet)?;
            }
        }
    }

    /// The next packet; read errors are counted, and too many in a row end the reading.
    fn read(&mut self, ictx: &mut ffmpeg::format::context::Input) -> Read {
        let mut packet = ffmpeg::Packet::empty();
        match packet.read(ictx) {
            Ok(()) => {
                self.consecutive_read_errors = 0;
                Read::Packet(packet)
            }
            Err(ffmpeg::Error::Eof) => Read::End,
            Err(e) => {
                self.read_errors += 1;
                self.consecutive_read_errors += 1;
                if self.consecutive_read_errors >= MAX_CONSECUTIVE_READ_ERRORS {
                    self.read_stopped = Some(e.to_string());
                    Read::End
                } else {
                    Read::Skipped
                }
            }
        }
    }

    /// One video packet: timestamps made continuous, a new segment at a keyframe past the
    /// boundary, then written (nothing before the first keyframe).
    fn video_packet(
        &mut self,
        o: &mut Opened,
        mut packet: ffmpeg::Packet,
    ) -> Result<(), IngestError> {
        let offset = self
            .video_continuity
            .offset_for(packet.dts().or(packet.pts()), packet.duration());
        shift(&mut packet, offset);
        let time = packet
            .pts()
            .or(packet.dts())
            .map(|ts| seconds(ts, o.video_time_base))
            // No timestamps at all (raw elementary streams): count frames instead.
            .unwrap_or(self.video_packets_seen as f64 * o.frame_seconds);
        self.video_packets_seen += 1;
        self.first_video_seconds.get_or_insert(time);
        let is_key = packet.is_key();
        let packet_seconds = if packet.duration() > 0 {
            seconds(packet.duration(), o.video_time_base)
        } else {
            o.frame_seconds
        };
        let cut = match &self.current {
            None if !is_key => {
                self.skipped_before_keyframe += 1;
                return Ok(());
            }
            None => true,
            Some(writer) => {
                is_key
                    && ends_segment(
                        time - self.origin_seconds,
                        writer.index,
                        self.segment_seconds,
                    )
            }
        };
        if cut {
            self.start_segment(o, time)?;
        }
        if is_key {
            self.keyframes.push(time);
        }
        self.video_end_seconds = self.video_end_seconds.max(time + packet_seconds);
        if let Some(writer) = self.current.as_mut() {
            writer.write_video(packet, time + packet_seconds);
        }
        Ok(())
    }

    /// Closes the segment being written (if any) at `time` and opens the next one there.
    fn start_segment(&mut self, o: &mut Opened, time: f64) -> Result<(), IngestError> {
        let index = match self.current.take() {
            Some(writer) => {
                let path = writer.path.clone();
                let (segment, refused) = writer
                    .finish(Some(time), true, self.origin_seconds)
                    .map_err(|reason| self.write_error(&path, reason))?;
                self.refused_packets += refused;
                self.segments.push(segment);
                self.segments.len() as u32
            }
            None => {
                self.origin_seconds = time;
                0
            }
        };
        let path = segment_path(&self.segment_dir, index);
        let mut opened = SegmentWriter::open(path.clone(), index, time, &o.streams);
        // Some audio codecs (PCM, Vorbis, …) have no MPEG-TS mapping: carry video only rather
        // than refuse the source.
        if matches!(opened, Err(OpenError::Streams(_))) && o.streams.audio.is_some() {
            o.streams.audio = None;
            o.audio_dropped = true;
            opened = SegmentWriter::open(path.clone(), index, time, &o.streams);
        }
        self.current = Some(match opened {
            Ok(writer) => writer,
            Err(OpenError::File(reason)) => return Err(self.write_error(&path, reason)),
            Err(OpenError::Streams(reason)) => {
                return Err(IngestError::VideoNotMuxable {
                    path: self.input.to_path_buf(),
                    codec: o.facts.codec.clone(),
                    reason,
                })
            }
        });
        Ok(())
    }

    /// Closes the last segment (without its last frame when the file is truncated), then the
    /// warnings and the source's facts.
    fn finish(mut self, o: Opened) -> Result<PreparedSource, IngestError> {
        let input = self.input;
        let last = self.current.take().ok_or_else(|| IngestError::NoFrames {
            path: input.to_path_buf(),
            reason: match (self.video_packets_seen, &self.read_stopped) {
                (0, Some(e)) => format!("reading stopped at an error: {e}"),
                (0, None) => "its video stream has no packets".to_string(),
                (n, _) => format!("none of its {n} video packets is a keyframe"),
            },
        })?;

        // A truncated file ends inside a frame: its last video packet is left out so that every
        // segment holds whole frames only.
        let size_bytes = std::fs::metadata(input).map(|m| m.len()).unwrap_or(0);
        let truncation = truncation_evidence(
            self.read_stopped.as_deref(),
            &o.container,
            size_bytes,
            o.declared_video_seconds,
            // From the first packet, decodable or not: a capture that starts mid-GOP has all the
            // video its header declares, the lead-in before its first keyframe included.
            self.video_end_seconds
                - self
                    .first_video_seconds
                    .unwrap_or(self.origin_seconds)
                    .min(self.origin_seconds),
            o.frame_seconds,
        );
        self.close_last(last, truncation.is_none())?;
        if self.segments.is_empty() {
            return Err(IngestError::NoFrames {
                path: input.to_path_buf(),
                reason: match &truncation {
                    Some(evidence) => format!(
                        "it is truncated ({evidence}) before its first keyframe is complete"
                    ),
                    None => "the MPEG-TS muxer refused every video packet".into(),
                },
            });
        }
        let truncated = truncation.as_ref().map(|evidence| {
            let covered: f64 = self.segments.iter().map(|s| s.duration_seconds).sum();
            format!(
                "'{}' is truncated ({evidence}); its segments hold the {} s of whole frames \
                 before the cut, and the last segment is shorter than the others.",
                input.display(),
                fmt_seconds(covered),
            )
        });
        let mut warnings: Vec<String> = truncated.iter().cloned().collect();
        let stats = self.stats(&o);
        warnings.extend(cut_warnings(
            &input.display().to_string(),
            &stats,
            &self.segments,
            self.segment_seconds,
            o.frame_seconds,
        ));
        let info = self.source_info(o, size_bytes, &stats);
        Ok(PreparedSource {
            info,
            segments: self.segments,
            warnings,
            truncated,
        })
    }

    /// Closes the last segment; one left without a frame is removed.
    fn close_last(
        &mut self,
        last: SegmentWriter,
        keep_last_frame: bool,
    ) -> Result<(), IngestError> {
        let last_path = last.path.clone();
        let (last_segment, refused) = last
            .finish(None, keep_last_frame, self.origin_seconds)
            .map_err(|reason| self.write_error(&last_path, reason))?;
        self.refused_packets += refused;
        if last_segment.video_frames > 0 {
            self.segments.push(last_segment);
        } else {
            // Best effort: the file is in our own work folder and nothing refers to it.
            let _ = std::fs::remove_file(&last_segment.path);
        }
        Ok(())
    }

    /// What the warnings need beside the segments.
    fn stats(&self, o: &Opened) -> CutStats {
        CutStats {
            keyframe_count: self.keyframes.len(),
            keyframe_interval_max_seconds: keyframe_interval_max(
                &self.keyframes,
                self.video_end_seconds.max(self.origin_seconds),
            ),
            lead_in_seconds: self.origin_seconds
                - self.first_video_seconds.unwrap_or(self.origin_seconds),
            skipped_before_keyframe: self.skipped_before_keyframe,
            restarts: self
                .video_continuity
                .restarts
                .max(self.audio_continuity.restarts),
            first_restart_seconds: self
                .video_continuity
                .first_restart_ticks
                .map(|t| seconds(t, o.video_time_base) - self.origin_seconds),
            read_errors: self.read_errors,
            read_stopped: self.read_stopped.is_some(),
            refused_packets: self.refused_packets,
            audio_dropped: o
                .audio_dropped
                .then(|| o.audio_codec.clone().unwrap_or_else(|| "unknown".into())),
        }
    }

    /// The source's facts, measured over the segments.
    fn source_info(&self, o: Opened, size_bytes: u64, stats: &CutStats) -> SourceInfo {
        let duration_seconds: f64 = self.segments.iter().map(|s| s.duration_seconds).sum();
        let bitrate_bps = if o.container_bitrate_bps > 0 {
            o.container_bitrate_bps
        } else if duration_seconds > 0.0 {
            (size_bytes as f64 * 8.0 / duration_seconds).round() as u64
        } else {
            0
        };
        let has_audio = o.streams.audio.is_some();
        SourceInfo {
            path: self.input.display().to_string(),
            kind: "file".into(),
            container: o.container,
            codec: o.facts.codec,
            audio_codec: if has_audio { o.audio_codec } else { None },
            has_audio,
            width: o.facts.width,
            height: o.facts.height,
            pixel_format: o.facts.pixel_format,
            fps: o.fps,
            fps_num: o.fps_num,
            fps_den: o.fps_den,
            duration_seconds,
            bitrate_bps,
            size_bytes,
            video_frames: self.segments.iter().map(|s| s.video_frames).sum(),
            keyframe_interval_max_seconds: stats.keyframe_interval_max_seconds,
            segment_seconds: self.segment_seconds,
            segment_count: self.segments.len() as u32,
            timestamp_restarts: stats.restarts,
            lead_in_packets_skipped: self.skipped_before_keyframe,
            packets_left_out: self.refused_packets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuity_shifts_restarts_and_leaves_reordering_alone() {
        // Time base 1/1000 s: threshold 1000 ticks. Cases: (dts, duration) → offset.
        let mut c = Continuity::new(0.001);
        let steps: &[(Option<i64>, i64, i64)] = &[
            (Some(0), 40, 0),
            (Some(2000), 40, 0),
            (Some(1980), 40, 0), // back 20 ms: reordering noise, not a restart
            (Some(4000), 40, 0),
            (None, 40, 0),
            (Some(0), 40, 4040), // back to 0: the second file; continues at 4040
            (Some(40), 40, 4040),
            (Some(9000), 40, 4040),     // a forward gap is kept
            (Some(10), 40, 13080 - 10), // a second restart
        ];
        for (i, &(dts, dur, want)) in steps.iter().enumerate() {
            assert_eq!(c.offset_for(dts, dur), want, "step {i}");
        }
        assert_eq!(c.restarts, 2);
        assert_eq!(c.first_restart_ticks, Some(4040));
        // No time base: never a restart.
        let mut none = Continuity::new(0.0);
        assert_eq!(none.offset_for(Some(100), 1), 0);
        assert_eq!(none.offset_for(Some(0), 1), 0);
        // Extreme timestamps saturate instead of overflowing.
        let mut ext = Continuity::new(1.0 / 90_000.0);
        ext.offset_for(Some(i64::MAX - 1), 10);
        assert!(ext.offset_for(Some(i64::MIN), 10) > 0);
    }

    #[test]
    fn ends_segment_table() {
        // (keyframe offset s, segment index, segment s, cuts)
        for (offset, index, seg, cuts) in [
            (0.0, 0, 2.0, false),
            (1.96, 0, 2.0, false),
            (2.0, 0, 2.0, true),
            (1.999_999_9, 0, 2.0, true),
            (3.0, 0, 2.0, true),
            (3.0, 1, 2.0, false),
            (4.0, 1, 2.0, true),
            // A long GOP puts a segment behind its boundaries; the next keyframe catches up.
            (10.0, 1, 2.0, true),
            (0.5, 0, 0.5, true),
        ] {
            assert_eq!(
                ends_segment(offset, index, seg),
                cuts,
                "offset {offset} index {index} seg {seg}"
            );
        }
    }

    #[test]
    fn keyframe_interval_max_table() {
        for (keyframes, end, max) in [
            (vec![0.0], 5.28, 5.28),
            (vec![0.0, 2.0, 4.0], 5.28, 2.0),
            (vec![0.0, 3.0, 4.0], 5.0, 3.0),
            (vec![], 5.0, 0.0),
        ] {
            let got = keyframe_interval_max(&keyframes, end);
            assert!((got - max).abs() < 1e-9, "{keyframes:?} {end}: {got}");
        }
    }

    #[test]
    fn truncation_evidence_table() {
        // (read error, container, size bytes, declared s, read s, truncated)
        let frame = 0.04;
        for (error, container, size, declared, read, truncated) in [
            (None, "mpegts", 188 * 1000, 0.0, 5.28, false),
            (None, "mpegts", 192 * 1000 + 192, 0.0, 5.28, false),
            (None, "mpegts", 188 * 1000 + 77, 0.0, 3.0, true),
            (
                None,
                "mov,mp4,m4a,3gp,3g2,mj2",
                1_000_001,
                5.28,
                5.28,
                false,
            ),
            // The last frame's own duration is allowed for.
            (
                None,
                "mov,mp4,m4a,3gp,3g2,mj2",
                1_000_001,
                5.28,
                5.24,
                false,
            ),
            (None, "mov,mp4,m4a,3gp,3g2,mj2", 1_000_001, 5.28, 2.6, true),
            (None, "matroska,webm", 1_000_001, 0.0, 2.6, false),
            (Some("I/O error"), "flv", 1_000_001, 0.0, 2.6, true),
        ] {
            let got = truncation_evidence(error, container, size, declared, read, frame);
            assert_eq!(
                got.is_some(),
                truncated,
                "{error:?} {container} {size} {declared} {read}: {got:?}"
            );
        }
    }

    #[test]
    fn mpegts_carries_table() {
        use ffmpeg::codec::Id;
        for (id, carried) in [
            (Id::H264, true),
            (Id::HEVC, true),
            (Id::MPEG2VIDEO, true),
            (Id::AAC, true),
            (Id::MP3, true),
            (Id::AC3, true),
            (Id::OPUS, true),
            (Id::PNG, false),
            (Id::VP9, false),
            (Id::PCM_S16LE, false),
            (Id::VORBIS, false),
            (Id::FLAC, false),
        ] {
            assert_eq!(mpegts_carries(id), carried, "{id:?}");
        }
    }

    #[test]
    fn segment_paths_sort_in_order() {
        let dir = Path::new("/tmp/w");
        assert_eq!(segment_path(dir, 0), Path::new("/tmp/w/seg_00000.ts"));
        assert!(segment_path(dir, 9) < segment_path(dir, 10));
    }
}
