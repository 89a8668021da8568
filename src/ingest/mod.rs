//! Ingest: opens a source (any file FFmpeg demuxes, or an HLS media playlist), probes it, and cuts
//! it into the MPEG-TS segments a broadcaster would send; paces them like a live stream.
//!
//! [`prepare`] runs once per run, before timing starts, and every session then transcodes the same
//! segments, as livepeer_bench has every session transcode the same playlist.
//! - A file is demuxed once and cut by remuxing (no re-encode) at the first video keyframe at or
//!   after each `segment_seconds` boundary, the rule of FFmpeg's HLS and segment muxers
//!   ([`file`]). Timestamps stay those of the source, continuous across segments, as in a live
//!   stream's segments.
//! - An HLS media playlist keeps its own segments, used as they are ([`hls`]).
//! - [`pacing`] sleeps after each segment as livepeer_bench's `-live` does.

pub mod file;
pub mod hls;
pub mod pacing;

use std::path::{Path, PathBuf};
use std::sync::Once;

use ffmpeg_next as ffmpeg;
use serde::{Deserialize, Serialize};

/// The probed source, as recorded in run.json `source`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// The input as given (`--in`).
    pub path: String,
    /// "file" for a media file, "hls" for an HLS media playlist.
    pub kind: String,
    /// FFmpeg's demuxer name (e.g. "mov,mp4,m4a,3gp,3g2,mj2", "mpegts"); "hls" for a playlist.
    pub container: String,
    /// The video codec's FFmpeg name (e.g. "h264").
    pub codec: String,
    /// The audio codec's FFmpeg name, when the source has audio that the segments carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_codec: Option<String>,
    /// Whether the segments carry an audio stream.
    pub has_audio: bool,
    pub width: u32,
    pub height: u32,
    /// Decoded pixel format's FFmpeg name (e.g. "yuv420p").
    pub pixel_format: String,
    /// Video frame rate in frames per second (`fps_num / fps_den`).
    pub fps: f64,
    pub fps_num: u32,
    pub fps_den: u32,
    /// Video duration covered by the segments, in seconds.
    pub duration_seconds: f64,
    /// Overall bit rate of the source in bits per second (the container's figure, else bytes
    /// over duration).
    pub bitrate_bps: u64,
    /// The source's size in bytes (the file, or the playlist's segment files together).
    pub size_bytes: u64,
    /// Video frames over all segments.
    pub video_frames: u64,
    /// Longest observed distance between consecutive video keyframes (or from the last keyframe
    /// to the end), in seconds.
    pub keyframe_interval_max_seconds: f64,
    /// Requested segment length in seconds (`--segment-seconds`); for HLS, the playlist's
    /// `#EXT-X-TARGETDURATION` when it has one.
    pub segment_seconds: f64,
    /// Number of segments the source was cut into (or the playlist lists).
    pub segment_count: u32,
    /// Times the source's timestamps jumped back (files joined end to end, a spliced capture);
    /// each later part was shifted to continue after the one before and is segmented too.
    #[serde(default)]
    pub timestamp_restarts: u32,
    /// Video packets before the first keyframe (a capture starting mid-GOP), not used: they
    /// cannot be decoded on their own.
    #[serde(default)]
    pub lead_in_packets_skipped: u64,
    /// Packets the MPEG-TS muxer refused (bad or out-of-order timestamps), left out of the
    /// segments: the benchmark covers less than the whole input when this is above 0.
    #[serde(default)]
    pub packets_left_out: u64,
}

/// One segment: the bytes a broadcaster would send for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// 0-based index within the source.
    pub index: u32,
    /// An MPEG-TS file with video (and audio if the source has it). For HLS, the playlist's own
    /// segment file.
    pub path: PathBuf,
    /// Its size in bytes: what the broadcaster sends (`bytes_in`).
    pub bytes: u64,
    /// Video duration of the segment in seconds (livepeer_bench's `seg_dur`).
    pub duration_seconds: f64,
    /// Video frames in the segment (for validation's expected frame count).
    pub video_frames: u64,
    /// Start of the segment's video relative to the first segment's start, in seconds.
    pub start_seconds: f64,
}

/// The output of [`prepare`]: the probed source and its segments, ready to transcode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreparedSource {
    pub info: SourceInfo,
    pub segments: Vec<Segment>,
    /// Things the run should report (keyframe interval longer than asked, truncated input,
    /// dropped audio, …); each a complete sentence.
    pub warnings: Vec<String>,
    /// Set when the file is cut short: the evidence and what the segments still hold. The
    /// segments then cover only the whole frames before the cut; the run refuses such an input
    /// unless told to accept it (`--allow-truncated`).
    pub truncated: Option<String>,
}

/// Why a source cannot be ingested. Every message names the file and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(
        "segment length {value} s is not a positive number of seconds; give --segment-seconds \
         greater than 0 (the default is 2)"
    )]
    InvalidSegmentSeconds { value: f64 },

    #[error(
        "input '{}' does not exist; give --in an existing video file or HLS media playlist",
        path.display()
    )]
    NotFound { path: PathBuf },

    #[error(
        "input '{}' is not a regular file; give --in a video file or an HLS media playlist",
        path.display()
    )]
    NotAFile { path: PathBuf },

    #[error("cannot read input '{}': {source}; check its permissions", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "FFmpeg cannot open '{}' as media ({reason}): it is not a video file, or it is truncated \
         or damaged; give a complete video file (mp4, ts, mkv, flv, …) or an HLS media playlist",
        path.display()
    )]
    NotMedia { path: PathBuf, reason: String },

    #[error(
        "'{}' has no video stream (it has: {streams}); give a source with video",
        path.display()
    )]
    NoVideo { path: PathBuf, streams: String },

    #[error(
        "FFmpeg cannot decode the {codec} video of '{}' ({reason}); re-encode the source to H.264",
        path.display()
    )]
    UndecodableVideo {
        path: PathBuf,
        codec: String,
        reason: String,
    },

    #[error(
        "the {codec} video of '{}' cannot be carried in MPEG-TS segments ({reason}); re-encode \
         the source to H.264",
        path.display()
    )]
    VideoNotMuxable {
        path: PathBuf,
        codec: String,
        reason: String,
    },

    #[error(
        "no complete video segment could be read from '{}' ({reason}); the file is truncated or \
         damaged: give a complete file",
        path.display()
    )]
    NoFrames { path: PathBuf, reason: String },

    #[error(
        "cannot write segment '{}' cut from '{}': {reason}; check that the work folder is \
         writable and has space",
        segment.display(), source_path.display()
    )]
    SegmentWrite {
        segment: PathBuf,
        source_path: PathBuf,
        reason: String,
    },

    #[error(
        "cannot create the segment folder '{}': {source}; check that it is writable",
        path.display()
    )]
    Workdir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "'{}' is an HLS master playlist (it lists variant streams, e.g. '{variant}'); give a \
         media playlist, such as that variant's .m3u8",
        path.display()
    )]
    HlsMaster { path: PathBuf, variant: String },

    #[error("HLS playlist '{}', line {line}: {reason}", path.display())]
    HlsInvalid {
        path: PathBuf,
        line: usize,
        reason: String,
    },

    #[error(
        "segment '{}' listed in HLS playlist '{}' (line {line}) does not exist; give a playlist \
         whose segment files are all present",
        segment.display(), playlist.display()
    )]
    HlsMissingSegment {
        playlist: PathBuf,
        segment: PathBuf,
        line: usize,
    },

    #[error(
        "segment '{}' listed in HLS playlist '{}' (line {line}) is not usable: {reason}",
        segment.display(), playlist.display()
    )]
    HlsSegment {
        playlist: PathBuf,
        segment: PathBuf,
        line: usize,
        reason: String,
    },
}

static INIT: Once = Once::new();

/// Initialises FFmpeg once per process (idempotent, thread-safe) and sets its log level to
/// fatal only, so that it does not write over the progress bar.
pub fn init_ffmpeg() {
    INIT.call_once(|| {
        // `init` only registers devices on FFmpeg 5+; it cannot fail there, and demuxers and
        // muxers work without it, so a failure would change nothing we rely on.
        let _ = ffmpeg::init();
        // Fatal only: rigbench reports broken input and corrupt packets itself (typed errors,
        // decode_errors), and FFmpeg's own lines would only repeat them without context.
        ffmpeg::util::log::set_level(ffmpeg::util::log::Level::Fatal);
    });
}

/// Probes `input` and cuts it into segments under `workdir` (a file source) or lists the
/// playlist's own segments (an HLS media playlist). Runs once per run, before timing starts.
pub fn prepare(
    input: &Path,
    segment_seconds: f64,
    workdir: &Path,
) -> Result<PreparedSource, IngestError> {
    if !(segment_seconds.is_finite() && segment_seconds > 0.0) {
        return Err(IngestError::InvalidSegmentSeconds {
            value: segment_seconds,
        });
    }
    let meta = match std::fs::metadata(input) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(IngestError::NotFound {
                path: input.to_path_buf(),
            })
        }
        Err(e) => {
            return Err(IngestError::Unreadable {
                path: input.to_path_buf(),
                source: e,
            })
        }
    };
    if !meta.is_file() {
        return Err(IngestError::NotAFile {
            path: input.to_path_buf(),
        });
    }
    init_ffmpeg();
    if hls::looks_like_playlist(input)? {
        hls::prepare_playlist(input, segment_seconds)
    } else {
        file::prepare_file(input, segment_seconds, workdir)
    }
}

/// A rational frame rate as (fps, num, den); (0, 0, 1) when FFmpeg does not know it.
pub(crate) fn frame_rate(stream: &ffmpeg::format::stream::Stream) -> (f64, u32, u32) {
    for rate in [stream.avg_frame_rate(), stream.rate()] {
        let (num, den) = (rate.numerator(), rate.denominator());
        if num > 0 && den > 0 {
            return (num as f64 / den as f64, num as u32, den as u32);
        }
    }
    (0.0, 0, 1)
}

/// The index of the main video stream: the first video stream that is not an attached picture
/// (cover art is a one-frame "video" stream).
pub(crate) fn main_video_stream(ictx: &ffmpeg::format::context::Input) -> Option<usize> {
    let is_video = |s: &ffmpeg::format::stream::Stream| {
        s.parameters().medium() == ffmpeg::media::Type::Video
            && !s
                .disposition()
                .contains(ffmpeg::format::stream::Disposition::ATTACHED_PIC)
    };
    if let Some(best) = ictx.streams().best(ffmpeg::media::Type::Video) {
        if is_video(&best) {
            return Some(best.index());
        }
    }
    ictx.streams().find(|s| is_video(s)).map(|s| s.index())
}

/// The index of the main audio stream, if any.
pub(crate) fn main_audio_stream(ictx: &ffmpeg::format::context::Input) -> Option<usize> {
    ictx.streams()
        .best(ffmpeg::media::Type::Audio)
        .map(|s| s.index())
}

/// "video h264, audio aac" style list of a file's streams, for error messages.
pub(crate) fn describe_streams(ictx: &ffmpeg::format::context::Input) -> String {
    let parts: Vec<String> = ictx
        .streams()
        .map(|s| {
            let params = s.parameters();
            let medium = match params.medium() {
                ffmpeg::media::Type::Video => "video",
                ffmpeg::media::Type::Audio => "audio",
                ffmpeg::media::Type::Subtitle => "subtitles",
                ffmpeg::media::Type::Data => "data",
                ffmpeg::media::Type::Attachment => "attachment",
                ffmpeg::media::Type::Unknown => "unknown",
            };
            let attached = if s
                .disposition()
                .contains(ffmpeg::format::stream::Disposition::ATTACHED_PIC)
            {
                " (cover picture)"
            } else {
                ""
            };
            format!("{medium} {}{attached}", params.id().name())
        })
        .collect();
    if parts.is_empty() {
        "no streams".to_string()
    } else {
        parts.join(", ")
    }
}

/// Video facts that need the decoder: width, height and pixel format.
pub(crate) struct VideoFacts {
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub pixel_format: String,
}

/// Opens a decoder for the stream to learn its size, which also proves FFmpeg can decode it.
pub(crate) fn video_facts(
    stream: &ffmpeg::format::stream::Stream,
) -> Result<VideoFacts, (String, String)> {
    let params = stream.parameters();
    let codec = params.id().name().to_string();
    let ctx = ffmpeg::codec::context::Context::from_parameters(params)
        .map_err(|e| (codec.clone(), e.to_string()))?;
    let decoder = ctx
        .decoder()
        .video()
        .map_err(|e| (codec.clone(), e.to_string()))?;
    let pixel_format = match decoder.format() {
        ffmpeg::format::Pixel::None => "unknown".to_string(),
        p => p.descriptor().map(|d| d.name()).unwrap_or("unknown").into(),
    };
    Ok(VideoFacts {
        codec,
        width: decoder.width(),
        height: decoder.height(),
        pixel_format,
    })
}

/// Seconds as a short human figure ("2", "1.28", "5.28") for messages.
pub(crate) fn fmt_seconds(seconds: f64) -> String {
    let s = format!("{seconds:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fmt_seconds_table() {
        for (value, text) in [
            (2.0, "2"),
            (1.28, "1.28"),
            (5.28, "5.28"),
            (0.0405, "0.041"),
            (10.5, "10.5"),
        ] {
            assert_eq!(fmt_seconds(value), text, "{value}");
        }
    }

    #[test]
    fn segment_seconds_must_be_positive() {
        let dir = std::env::temp_dir();
        for value in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let err = prepare(Path::new("does-not-matter.mp4"), value, &dir).unwrap_err();
            assert!(
                matches!(err, IngestError::InvalidSegmentSeconds { .. }),
                "{value}: {err}"
            );
            assert!(err.to_string().contains("--segment-seconds"));
        }
    }
}
