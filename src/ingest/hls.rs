//! HLS media playlists (RFC 8216), livepeer_bench's kind of input: parsed here (`#EXTM3U`,
//! `#EXTINF`, `#EXT-X-TARGETDURATION`, `#EXT-X-ENDLIST`), segment URIs resolved against the
//! playlist's folder. The segments are used as they are; each is demuxed once to count its video
//! frames and measure its duration. Master playlists, byte ranges, encryption, fMP4 segments and
//! remote URIs are refused with a message saying what to give instead.

use std::io::Read;
use std::path::{Path, PathBuf};

use ffmpeg_next as ffmpeg;

use super::{
    fmt_seconds, frame_rate, main_audio_stream, main_video_stream, video_facts, IngestError,
    PreparedSource, Segment, SourceInfo,
};

/// One `#EXTINF` entry of a media playlist.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaylistEntry {
    /// The URI as written in the playlist.
    pub uri: String,
    /// The `#EXTINF` duration in seconds.
    pub duration_seconds: f64,
    /// 1-based line of the URI in the playlist, for messages.
    pub line: usize,
}

/// A parsed HLS media playlist.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MediaPlaylist {
    pub entries: Vec<PlaylistEntry>,
    /// `#EXT-X-TARGETDURATION` in seconds, when given.
    pub target_duration_seconds: Option<f64>,
    /// Whether it has `#EXT-X-ENDLIST` (a VOD or finished live playlist).
    pub ended: bool,
}

/// Why a playlist's text is not a usable media playlist (the caller adds the file name).
#[derive(Debug, Clone, PartialEq)]
pub enum PlaylistProblem {
    /// A master playlist; the first variant's URI.
    Master { variant: String },
    /// Anything else, at a 1-based line.
    Invalid { line: usize, reason: String },
}

/// Whether `path` is an HLS playlist: a `.m3u8`/`.m3u` name, or text starting with `#EXTM3U`.
pub fn looks_like_playlist(path: &Path) -> Result<bool, IngestError> {
    let by_name = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("m3u8") || e.eq_ignore_ascii_case("m3u"));
    if by_name {
        return Ok(true);
    }
    let mut head = [0u8; 10];
    let mut file = std::fs::File::open(path).map_err(|e| IngestError::Unreadable {
        path: path.to_path_buf(),
        source: e,
    })?;
    let n = file.read(&mut head).map_err(|e| IngestError::Unreadable {
        path: path.to_path_buf(),
        source: e,
    })?;
    let head = &head[..n];
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    Ok(head.starts_with(b"#EXTM3U"))
}

/// Parses the text of an HLS media playlist.
pub fn parse_media_playlist(text: &str) -> Result<MediaPlaylist, PlaylistProblem> {
    let invalid = |line: usize, reason: String| PlaylistProblem::Invalid { line, reason };
    let mut lines = text
        .trim_start_matches('\u{feff}')
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()));
    match lines.next() {
        Some((_, "#EXTM3U")) => {}
        _ => {
            return Err(invalid(
                1,
                "the first line is not #EXTM3U, so this is not an HLS playlist; give an HLS \
                 media playlist or a video file"
                    .into(),
            ))
        }
    }
    let mut playlist = MediaPlaylist::default();
    let mut pending_duration: Option<f64> = None;
    let mut master_variant: Option<Option<String>> = None;
    for (line, text) in lines {
        if text.is_empty() {
            continue;
        }
        if let Some(tag) = text.strip_prefix('#') {
            if let Some(value) = tag.strip_prefix("EXTINF:") {
                let number = value.split(',').next().unwrap_or("").trim();
                let duration: f64 = number.parse().map_err(|_| {
                    invalid(
                        line,
                        format!("#EXTINF duration '{number}' is not a number of seconds"),
                    )
                })?;
                if !(duration.is_finite() && duration >= 0.0) {
                    return Err(invalid(
                        line,
                        format!("#EXTINF duration '{number}' is not a positive number of seconds"),
                    ));
                }
                pending_duration = Some(duration);
            } else if tag.starts_with("EXT-X-STREAM-INF") {
                master_variant.get_or_insert(None);
            } else if let Some(value) = tag.strip_prefix("EXT-X-TARGETDURATION:") {
                playlist.target_duration_seconds = value.trim().parse().ok();
            } else if tag.starts_with("EXT-X-ENDLIST") {
                playlist.ended = true;
            } else if tag.starts_with("EXT-X-BYTERANGE") {
                return Err(invalid(
                    line,
                    "byte-range segments (#EXT-X-BYTERANGE) are not supported; give a playlist \
                     with one file per segment (ffmpeg -f hls without -hls_flags single_file)"
                        .into(),
                ));
            } else if let Some(value) = tag.strip_prefix("EXT-X-KEY:") {
                if !value.contains("METHOD=NONE") {
                    return Err(invalid(
                        line,
                        "encrypted segments (#EXT-X-KEY) are not supported; give a playlist of \
                         clear segments"
                            .into(),
                    ));
                }
            } else if tag.starts_with("EXT-X-MAP") {
                return Err(invalid(
                    line,
                    "fragmented-MP4 segments (#EXT-X-MAP) are not supported; give a playlist \
                     of MPEG-TS segments (ffmpeg -f hls -hls_segment_type mpegts)"
                        .into(),
                ));
            }
            // Other tags (#EXT-X-VERSION, #EXT-X-MEDIA-SEQUENCE, comments, …) change nothing here.
            continue;
        }
        // A URI line.
        if let Some(variant) = master_variant.as_mut() {
            if variant.is_none() {
                *variant = Some(text.to_string());
            }
            continue;
        }
        let duration = pending_duration.take().ok_or_else(|| {
            invalid(
                line,
                format!("segment URI '{text}' has no #EXTINF line before it"),
            )
        })?;
        playlist.entries.push(PlaylistEntry {
            uri: text.to_string(),
            duration_seconds: duration,
            line,
        });
    }
    if let Some(variant) = master_variant {
        return Err(PlaylistProblem::Master {
            variant: variant.unwrap_or_else(|| "(no URI given)".into()),
        });
    }
    if playlist.entries.is_empty() {
        return Err(invalid(
            1,
            "the playlist lists no segments (#EXTINF lines followed by URIs); give a media \
             playlist with at least one segment"
                .into(),
        ));
    }
    Ok(playlist)
}

/// Resolves a segment URI against the playlist's folder. Only local files are supported.
pub fn resolve_uri(playlist_dir: &Path, uri: &str) -> Result<PathBuf, String> {
    let local = if let Some(rest) = uri.strip_prefix("file://") {
        rest
    } else if uri.contains("://") {
        return Err(format!(
            "segment URI '{uri}' is remote; only local files are supported: download the \
             segments and give a playlist with relative URIs"
        ));
    } else {
        uri
    };
    // Query strings and fragments do not name files.
    let local = local.split(['?', '#']).next().unwrap_or(local);
    let path = Path::new(local);
    Ok(if path.is_absolute() {
        path.to_path_buf()
    } else {
        playlist_dir.join(path)
    })
}

/// What demuxing one segment file found.
struct SegmentProbe {
    video_frames: u64,
    /// From the first to past the last video frame's presentation time, in seconds.
    video_seconds: Option<f64>,
    first_video_seconds: Option<f64>,
    keyframes_seconds: Vec<f64>,
    first_is_key: bool,
    read_errors: u64,
}

fn probe_segment(ictx: &mut ffmpeg::format::context::Input, video_index: usize) -> SegmentProbe {
    let (fps, _, _) = ictx
        .stream(video_index)
        .map(|s| frame_rate(&s))
        .unwrap_or((0.0, 0, 1));
    let time_base = ictx
        .stream(video_index)
        .map(|s| s.time_base())
        .unwrap_or(ffmpeg::Rational(1, 90_000));
    let frame_seconds = if fps > 0.0 { 1.0 / fps } else { 0.0 };
    let mut probe = SegmentProbe {
        video_frames: 0,
        video_seconds: None,
        first_video_seconds: None,
        keyframes_seconds: Vec::new(),
        first_is_key: false,
        read_errors: 0,
    };
    let (mut min_seconds, mut end_seconds) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut consecutive_errors = 0;
    loop {
        let mut packet = ffmpeg::Packet::empty();
        match packet.read(ictx) {
            Ok(()) => consecutive_errors = 0,
            Err(ffmpeg::Error::Eof) => break,
            Err(_) => {
                probe.read_errors += 1;
                consecutive_errors += 1;
                if consecutive_errors >= 64 {
                    break;
                }
                continue;
            }
        }
        if packet.stream() != video_index {
            continue;
        }
        if probe.video_frames == 0 {
            probe.first_is_key = packet.is_key();
        }
        probe.video_frames += 1;
        if let Some(ts) = packet.pts().or(packet.dts()) {
            let t = ts as f64 * f64::from(time_base);
            let d = if packet.duration() > 0 {
                packet.duration() as f64 * f64::from(time_base)
            } else {
                frame_seconds
            };
            min_seconds = min_seconds.min(t);
            end_seconds = end_seconds.max(t + d);
            if packet.is_key() {
                probe.keyframes_seconds.push(t);
            }
        }
    }
    if min_seconds.is_finite() && end_seconds > min_seconds {
        probe.video_seconds = Some(end_seconds - min_seconds);
        probe.first_video_seconds = Some(min_seconds);
    }
    probe
}

/// Lists an HLS media playlist's segments, demuxing each to count frames and measure it: read
/// and parse the playlist, check every segment exists, demux each, then warn and sum up.
pub fn prepare_playlist(
    playlist_path: &Path,
    segment_seconds: f64,
) -> Result<PreparedSource, IngestError> {
    let playlist = read_playlist(playlist_path)?;
    // Every segment must exist before any is demuxed, so that a missing one fails fast.
    let paths = resolve_segments(playlist_path, &playlist)?;
    let mut tally = Tally::default();
    for (index, (entry, path)) in playlist.entries.iter().zip(&paths).enumerate() {
        let at = SegmentAt {
            playlist_path,
            entry,
            path,
            index: index as u32,
        };
        tally.add(&at, &playlist, segment_seconds)?;
    }
    let warnings = tally.warnings(&playlist_path.display().to_string(), &playlist);
    Ok(PreparedSource {
        info: tally.source_info(),
        segments: tally.segments,
        warnings,
        truncated: None,
    })
}

/// Reads and parses the playlist file; a master playlist or invalid text is an input error.
fn read_playlist(playlist_path: &Path) -> Result<MediaPlaylist, IngestError> {
    let bytes = std::fs::read(playlist_path).map_err(|e| IngestError::Unreadable {
        path: playlist_path.to_path_buf(),
        source: e,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| IngestError::HlsInvalid {
        path: playlist_path.to_path_buf(),
        line: 1,
        reason: format!("the playlist is not UTF-8 text ({e}); give an HLS media playlist"),
    })?;
    parse_media_playlist(&text).map_err(|problem| match problem {
        PlaylistProblem::Master { variant } => IngestError::HlsMaster {
            path: playlist_path.to_path_buf(),
            variant,
        },
        PlaylistProblem::Invalid { line, reason } => IngestError::HlsInvalid {
            path: playlist_path.to_path_buf(),
            line,
            reason,
        },
    })
}

/// Each entry's segment file, resolved against the playlist's folder; a missing one fails.
fn resolve_segments(
    playlist_path: &Path,
    playlist: &MediaPlaylist,
) -> Result<Vec<PathBuf>, IngestError> {
    let dir = playlist_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    playlist
        .entries
        .iter()
        .map(|entry| {
            let path = resolve_uri(&dir, &entry.uri).map_err(|reason| IngestError::HlsInvalid {
                path: playlist_path.to_path_buf(),
                line: entry.line,
                reason,
            })?;
            if !path.is_file() {
                return Err(IngestError::HlsMissingSegment {
                    playlist: playlist_path.to_path_buf(),
                    segment: path,
                    line: entry.line,
                });
            }
            Ok(path)
        })
        .collect()
}

/// One segment being demuxed: where it is in the playlist.
struct SegmentAt<'a> {
    playlist_path: &'a Path,
    entry: &'a PlaylistEntry,
    path: &'a PathBuf,
    index: u32,
}

impl SegmentAt<'_> {
    fn error(&self, reason: String) -> IngestError {
        IngestError::HlsSegment {
            playlist: self.playlist_path.to_path_buf(),
            segment: self.path.clone(),
            line: self.entry.line,
            reason,
        }
    }
}

/// What the segments demuxed so far add up to.
#[derive(Default)]
struct Tally {
    segments: Vec<Segment>,
    /// The source's facts, from the first segment.
    info: Option<SourceInfo>,
    keyframes: Vec<f64>,
    video_end_seconds: f64,
    duration_mismatches: Vec<String>,
    not_starting_with_key: Vec<u32>,
    read_errors: u64,
    start_seconds: f64,
}

impl Tally {
    /// Opens and demuxes one segment and adds it.
    fn add(
        &mut self,
        at: &SegmentAt,
        playlist: &MediaPlaylist,
        segment_seconds: f64,
    ) -> Result<(), IngestError> {
        let bytes = std::fs::metadata(at.path)
            .map_err(|e| at.error(format!("cannot read its size: {e}")))?
            .len();
        let mut ictx = ffmpeg::format::input(at.path).map_err(|e| {
            at.error(format!(
                "FFmpeg cannot open it as media ({e}); it is truncated or not a video segment"
            ))
        })?;
        let video_index = main_video_stream(&ictx).ok_or_else(|| {
            at.error(format!(
                "it has no video stream (it has: {}); give a playlist of video segments",
                super::describe_streams(&ictx)
            ))
        })?;
        if self.info.is_none() {
            self.info = Some(first_segment_info(
                at,
                &ictx,
                video_index,
                playlist.target_duration_seconds.unwrap_or(segment_seconds),
            )?);
        }
        let probe = probe_segment(&mut ictx, video_index);
        if probe.video_frames == 0 {
            return Err(at.error("it holds no video frames; it is truncated or empty".into()));
        }
        self.read_errors += probe.read_errors;
        if !probe.first_is_key {
            self.not_starting_with_key.push(at.index);
        }
        self.keyframes.extend(&probe.keyframes_seconds);
        let duration_seconds = self.measured_duration(at, &probe);
        if let (Some(first), Some(measured)) = (probe.first_video_seconds, probe.video_seconds) {
            self.video_end_seconds = self.video_end_seconds.max(first + measured);
        }
        self.segments.push(Segment {
            index: at.index,
            path: at.path.clone(),
            bytes,
            duration_seconds,
            video_frames: probe.video_frames,
            start_seconds: self.start_seconds,
        });
        self.start_seconds += duration_seconds;
        Ok(())
    }

    /// The video's own duration (the #EXTINF one when it cannot be measured); a mismatch with
    /// #EXTINF is noted for the warning.
    fn measured_duration(&mut self, at: &SegmentAt, probe: &SegmentProbe) -> f64 {
        let listed = at.entry.duration_seconds;
        match probe.video_seconds {
            Some(measured) => {
                if (measured - listed).abs() > 0.25_f64.max(0.05 * listed) {
                    self.duration_mismatches.push(format!(
                        "segment {}: #EXTINF {} s, video {} s",
                        at.index,
                        fmt_seconds(listed),
                        fmt_seconds(measured)
                    ));
                }
                measured
            }
            None => listed,
        }
    }

    /// The warnings the playlist and its segments earn.
    fn warnings(&self, name: &str, playlist: &MediaPlaylist) -> Vec<String> {
        let mut warnings = Vec::new();
        if !playlist.ended {
            warnings.push(format!(
                "'{name}' has no #EXT-X-ENDLIST (a live playlist); using the {} segments it lists now.",
                playlist.entries.len()
            ));
        }
        if !self.duration_mismatches.is_empty() {
            warnings.push(format!(
                "'{name}': {} segments' #EXTINF durations differ from their video ({}); the video's \
                 durations are used.",
                self.duration_mismatches.len(),
                self.duration_mismatches
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        if let Some(first) = self.not_starting_with_key.first() {
            warnings.push(format!(
                "'{name}': {} segments do not start with a keyframe (first: segment {first}); their \
                 leading frames may not decode on their own.",
                self.not_starting_with_key.len(),
            ));
        }
        if self.read_errors > 0 {
            warnings.push(format!(
                "'{name}': {} packets in its segments could not be read; they may be \
                 damaged.",
                self.read_errors
            ));
        }
        warnings
    }

    /// The source's facts with the totals over every segment.
    fn source_info(&mut self) -> SourceInfo {
        let mut info = self.info.take().unwrap_or_default();
        let size_bytes: u64 = self.segments.iter().map(|s| s.bytes).sum();
        let duration_seconds: f64 = self.segments.iter().map(|s| s.duration_seconds).sum();
        self.keyframes.sort_by(f64::total_cmp);
        info.keyframe_interval_max_seconds = super::file::keyframe_interval_max(
            &self.keyframes,
            self.video_end_seconds
                .max(self.keyframes.last().copied().unwrap_or(0.0)),
        );
        info.duration_seconds = duration_seconds;
        info.size_bytes = size_bytes;
        info.bitrate_bps = if duration_seconds > 0.0 {
            (size_bytes as f64 * 8.0 / duration_seconds).round() as u64
        } else {
            0
        };
        info.video_frames = self.segments.iter().map(|s| s.video_frames).sum();
        info.segment_count = self.segments.len() as u32;
        info
    }
}

/// The source's facts (codec, size, rates, audio) from its first segment.
fn first_segment_info(
    at: &SegmentAt,
    ictx: &ffmpeg::format::context::Input,
    video_index: usize,
    segment_seconds: f64,
) -> Result<SourceInfo, IngestError> {
    let stream = ictx
        .stream(video_index)
        .ok_or_else(|| at.error("its video stream vanished".into()))?;
    let facts = video_facts(&stream).map_err(|(codec, reason)| {
        at.error(format!(
            "FFmpeg cannot decode its {codec} video ({reason}); re-encode to H.264"
        ))
    })?;
    let (fps, fps_num, fps_den) = frame_rate(&stream);
    let audio_codec = main_audio_stream(ictx)
        .and_then(|i| ictx.stream(i))
        .map(|s| s.parameters().id().name().to_string());
    Ok(SourceInfo {
        path: at.playlist_path.display().to_string(),
        kind: "hls".into(),
        container: "hls".into(),
        codec: facts.codec,
        has_audio: audio_codec.is_some(),
        audio_codec,
        width: facts.width,
        height: facts.height,
        pixel_format: facts.pixel_format,
        fps,
        fps_num,
        fps_den,
        segment_seconds,
        ..SourceInfo::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VOD: &str = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n\
        #EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2.000000,\nseg_000.ts\n#EXTINF:1.5,\nsub/seg_001.ts\n\
        #EXT-X-ENDLIST\n";

    #[test]
    fn parses_a_vod_media_playlist() {
        let playlist = parse_media_playlist(VOD).unwrap();
        assert!(playlist.ended);
        assert_eq!(playlist.target_duration_seconds, Some(2.0));
        assert_eq!(
            playlist.entries,
            vec![
                PlaylistEntry {
                    uri: "seg_000.ts".into(),
                    duration_seconds: 2.0,
                    line: 6
                },
                PlaylistEntry {
                    uri: "sub/seg_001.ts".into(),
                    duration_seconds: 1.5,
                    line: 8
                },
            ]
        );
    }

    #[test]
    fn parses_crlf_bom_and_live_playlists() {
        let text = "\u{feff}#EXTM3U\r\n#EXTINF:4,title\r\na.ts\r\n";
        let playlist = parse_media_playlist(text).unwrap();
        assert!(!playlist.ended);
        assert_eq!(playlist.entries.len(), 1);
        assert_eq!(playlist.entries[0].uri, "a.ts");
        assert_eq!(playlist.entries[0].duration_seconds, 4.0);
    }

    #[test]
    fn refuses_bad_playlists() {
        // (text, expected line, words the reason must contain)
        let cases = [
            ("hello\n", 1, "#EXTM3U"),
            ("#EXTM3U\n", 1, "no segments"),
            ("#EXTM3U\n#EXTINF:abc,\na.ts\n", 2, "not a number"),
            ("#EXTM3U\n#EXTINF:-1,\na.ts\n", 2, "positive"),
            ("#EXTM3U\na.ts\n", 2, "no #EXTINF"),
            (
                "#EXTM3U\n#EXTINF:2,\n#EXT-X-BYTERANGE:100@0\na.ts\n",
                3,
                "byte-range",
            ),
            (
                "#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"k\"\n#EXTINF:2,\na.ts\n",
                2,
                "encrypted",
            ),
            (
                "#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2,\na.m4s\n",
                2,
                "fragmented-MP4",
            ),
        ];
        for (text, line, words) in cases {
            match parse_media_playlist(text) {
                Err(PlaylistProblem::Invalid {
                    line: got_line,
                    reason,
                }) => {
                    assert_eq!(got_line, line, "{text:?}: {reason}");
                    assert!(reason.contains(words), "{text:?}: {reason}");
                }
                other => panic!("{text:?}: expected Invalid, got {other:?}"),
            }
        }
    }

    #[test]
    fn detects_master_playlists() {
        let text = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=6000000,RESOLUTION=1920x1080\n\
            1080p/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=800000\n360p/index.m3u8\n";
        assert_eq!(
            parse_media_playlist(text),
            Err(PlaylistProblem::Master {
                variant: "1080p/index.m3u8".into()
            })
        );
    }

    #[test]
    fn resolves_uris() {
        let dir = Path::new("/data/hls");
        for (uri, expected) in [
            ("seg_000.ts", Ok(PathBuf::from("/data/hls/seg_000.ts"))),
            ("sub/a.ts?x=1", Ok(PathBuf::from("/data/hls/sub/a.ts"))),
            ("/abs/a.ts", Ok(PathBuf::from("/abs/a.ts"))),
            ("file:///abs/b.ts", Ok(PathBuf::from("/abs/b.ts"))),
        ] {
            assert_eq!(resolve_uri(dir, uri), expected, "{uri}");
        }
        let err = resolve_uri(dir, "https://cdn.example/a.ts").unwrap_err();
        assert!(err.contains("remote"), "{err}");
    }
}
