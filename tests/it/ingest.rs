//! Ingest on real media: the bundled fixtures, generated HLS, and each bad input of issue 2.
//! Inputs that need the `ffmpeg` program to make them skip with a printed reason where it is
//! absent.

use std::path::{Path, PathBuf};
use std::process::Command;

use ffmpeg_next as ffmpeg;
use rigbench::ingest::{self, IngestError, PreparedSource};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn have_ffmpeg_cli() -> bool {
    let found = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        crate::support::skip(
            "ingest",
            "the ffmpeg program is not installed; this test makes its input with it",
        );
    }
    found
}

/// Runs the ffmpeg CLI quietly; panics with its stderr when it fails.
fn ffmpeg_cli(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args)
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A file `name` in a fresh folder, made by the ffmpeg CLI from `args` (the output path goes
/// last); None when the ffmpeg program is missing (the skip is reported).
fn made_with_ffmpeg(name: &str, args: &[&str]) -> Option<(tempfile::TempDir, PathBuf)> {
    if !have_ffmpeg_cli() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let mut all = args.to_vec();
    all.push(path.to_str().unwrap());
    ffmpeg_cli(&all);
    Some((dir, path))
}

/// What FFmpeg finds in a segment file: (container, has video, has audio, video packets,
/// first video packet is a keyframe).
fn inspect(path: &Path) -> (String, bool, bool, u64, bool) {
    ingest::init_ffmpeg();
    let mut ictx = ffmpeg::format::input(&path).expect("segment opens");
    let video = ictx
        .streams()
        .best(ffmpeg::media::Type::Video)
        .map(|s| s.index());
    let audio = ictx.streams().best(ffmpeg::media::Type::Audio).is_some();
    let container = ictx.format().name().to_string();
    let mut frames = 0;
    let mut first_key = false;
    for (stream, packet) in ictx.packets() {
        if Some(stream.index()) == video {
            if frames == 0 {
                first_key = packet.is_key();
            }
            frames += 1;
        }
    }
    (container, video.is_some(), audio, frames, first_key)
}

fn prepare(input: &Path, segment_seconds: f64) -> (tempfile::TempDir, PreparedSource) {
    let work = tempfile::tempdir().expect("tempdir");
    let prepared = ingest::prepare(input, segment_seconds, work.path())
        .unwrap_or_else(|e| panic!("prepare {}: {e}", input.display()));
    (work, prepared)
}

fn prepare_err(input: &Path, segment_seconds: f64) -> IngestError {
    let work = tempfile::tempdir().expect("tempdir");
    match ingest::prepare(input, segment_seconds, work.path()) {
        Ok(p) => panic!(
            "prepare {} should fail, got {} segments",
            input.display(),
            p.segments.len()
        ),
        Err(e) => e,
    }
}

#[test]
fn default_fixture_cuts_into_three_segments_at_its_keyframes() {
    let input = fixture("bbb_720p25_5s_gop2.mp4");
    let (_work, prepared) = prepare(&input, 2.0);
    let info = &prepared.info;
    assert_eq!(info.kind, "file");
    assert_eq!(info.codec, "h264");
    assert_eq!((info.width, info.height), (1280, 720));
    assert_eq!((info.fps_num, info.fps_den), (25, 1));
    assert!(info.has_audio);
    assert_eq!(info.audio_codec.as_deref(), Some("aac"));
    assert_eq!(info.video_frames, 132);
    assert!((info.keyframe_interval_max_seconds - 2.0).abs() < 1e-6);
    assert!((info.duration_seconds - 5.28).abs() < 1e-6, "{info:?}");
    assert!(info.bitrate_bps > 0);
    assert!(
        prepared.warnings.is_empty(),
        "no warnings expected: {:?}",
        prepared.warnings
    );

    let expected = [(0.0, 2.0, 50), (2.0, 2.0, 50), (4.0, 1.28, 32)];
    assert_eq!(prepared.segments.len(), expected.len());
    for (segment, (start, duration, frames)) in prepared.segments.iter().zip(expected) {
        assert!((segment.start_seconds - start).abs() < 1e-6, "{segment:?}");
        assert!(
            (segment.duration_seconds - duration).abs() < 1e-6,
            "{segment:?}"
        );
        assert_eq!(segment.video_frames, frames, "{segment:?}");
        assert!(segment.bytes > 0);
        assert_eq!(
            segment.bytes,
            std::fs::metadata(&segment.path).unwrap().len()
        );
        let (container, video, audio, packets, first_key) = inspect(&segment.path);
        assert_eq!(container, "mpegts", "{}", segment.path.display());
        assert!(
            video && audio,
            "{}: video and audio",
            segment.path.display()
        );
        assert_eq!(packets, frames, "{}", segment.path.display());
        assert!(
            first_key,
            "{} starts with a keyframe",
            segment.path.display()
        );
    }
}

#[test]
fn single_keyframe_clip_gives_one_long_segment_and_a_warning() {
    let input = fixture("bbb_720p25_5s.mp4");
    let (_work, prepared) = prepare(&input, 2.0);
    assert_eq!(prepared.segments.len(), 1);
    let segment = &prepared.segments[0];
    assert_eq!(segment.video_frames, 132);
    assert!(
        (segment.duration_seconds - 5.28).abs() < 1e-6,
        "{segment:?}"
    );
    assert!((prepared.info.keyframe_interval_max_seconds - 5.28).abs() < 1e-6);
    let warning = prepared.warnings.join("\n");
    assert!(
        warning.contains("5.28 s apart") && warning.contains("single keyframe"),
        "warning names the interval: {warning}"
    );
}

#[test]
fn segment_length_changes_the_cut() {
    // 4-second segments: keyframes at 0, 2 and 4 s give [0, 4) and [4, 5.28).
    let (_work, prepared) = prepare(&fixture("bbb_720p25_5s_gop2.mp4"), 4.0);
    let frames: Vec<u64> = prepared.segments.iter().map(|s| s.video_frames).collect();
    assert_eq!(frames, vec![100, 32]);
    // 3-second segments cannot be honoured with 2-second GOPs: cut at 4 s, with a warning.
    let (_work, prepared) = prepare(&fixture("bbb_720p25_5s_gop2.mp4"), 3.0);
    let frames: Vec<u64> = prepared.segments.iter().map(|s| s.video_frames).collect();
    assert_eq!(frames, vec![100, 32]);
    assert_eq!(prepared.warnings.len(), 1, "{:?}", prepared.warnings);
}

#[test]
fn mpegts_input_is_cut_too() {
    let Some((_dir, ts)) = made_with_ffmpeg(
        "source.ts",
        &[
            "-i",
            fixture("bbb_720p25_5s_gop2.mp4").to_str().unwrap(),
            "-c",
            "copy",
        ],
    ) else {
        return;
    };
    let (_work, prepared) = prepare(&ts, 2.0);
    assert_eq!(prepared.info.container, "mpegts");
    let frames: Vec<u64> = prepared.segments.iter().map(|s| s.video_frames).collect();
    assert_eq!(frames, vec![50, 50, 32]);
}

#[test]
fn audio_that_mpegts_cannot_carry_is_left_out_with_a_warning() {
    let Some((_dir, mkv)) = made_with_ffmpeg(
        "pcm.mkv",
        &[
            "-i",
            fixture("bbb_720p25_5s_gop2.mp4").to_str().unwrap(),
            "-c:v",
            "copy",
            "-c:a",
            "pcm_s16le",
        ],
    ) else {
        return;
    };
    let (_work, prepared) = prepare(&mkv, 2.0);
    assert!(!prepared.info.has_audio);
    let frames: Vec<u64> = prepared.segments.iter().map(|s| s.video_frames).collect();
    assert_eq!(frames, vec![50, 50, 32]);
    let (_, video, audio, _, _) = inspect(&prepared.segments[0].path);
    assert!(video && !audio);
    let warning = prepared.warnings.join("\n");
    assert!(warning.contains("pcm_s16le"), "{warning}");
}

#[test]
fn video_that_mpegts_cannot_carry_is_refused() {
    let Some((_dir, png)) = made_with_ffmpeg(
        "still.png",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25",
            "-frames:v",
            "1",
        ],
    ) else {
        return;
    };
    let err = prepare_err(&png, 2.0);
    assert!(matches!(err, IngestError::VideoNotMuxable { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("still.png") && text.contains("H.264"),
        "{text}"
    );
}

/// Writes an HLS copy of the default fixture (2-second segments) into `dir`.
fn make_hls(dir: &Path) -> PathBuf {
    let playlist = dir.join("index.m3u8");
    ffmpeg_cli(&[
        "-i",
        fixture("bbb_720p25_5s_gop2.mp4").to_str().unwrap(),
        "-c",
        "copy",
        "-f",
        "hls",
        "-hls_time",
        "2",
        "-hls_playlist_type",
        "vod",
        "-hls_segment_filename",
        dir.join("seg_%03d.ts").to_str().unwrap(),
        playlist.to_str().unwrap(),
    ]);
    playlist
}

#[test]
fn hls_media_playlist_keeps_its_segments() {
    if !have_ffmpeg_cli() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let playlist = make_hls(dir.path());
    let (_work, prepared) = prepare(&playlist, 2.0);
    assert_eq!(prepared.info.kind, "hls");
    assert_eq!((prepared.info.width, prepared.info.height), (1280, 720));
    assert!(prepared.info.has_audio);
    assert!(prepared.warnings.is_empty(), "{:?}", prepared.warnings);
    let frames: Vec<u64> = prepared.segments.iter().map(|s| s.video_frames).collect();
    assert_eq!(frames, vec![50, 50, 32]);
    for (i, segment) in prepared.segments.iter().enumerate() {
        // Used in place, not copied.
        assert_eq!(segment.path, dir.path().join(format!("seg_{i:03}.ts")));
        assert_eq!(
            segment.bytes,
            std::fs::metadata(&segment.path).unwrap().len()
        );
    }
    let durations: Vec<f64> = prepared
        .segments
        .iter()
        .map(|s| s.duration_seconds)
        .collect();
    for (got, want) in durations.iter().zip([2.0, 2.0, 1.28]) {
        assert!((got - want).abs() < 1e-3, "{durations:?}");
    }
}

#[test]
fn generated_hls_fixture_when_present() {
    let playlist = fixture("generated/bbb_1080p30_hls/index.m3u8");
    if !playlist.is_file() {
        crate::support::skip_optional(
            "generated_hls_fixture_when_present",
            &format!(
                "{} is absent; run scripts/make-fixtures",
                playlist.display()
            ),
        );
        return;
    }
    let (_work, prepared) = prepare(&playlist, 2.0);
    assert_eq!(prepared.segments.len(), 30);
    assert_eq!((prepared.info.width, prepared.info.height), (1920, 1080));
    assert!(prepared.segments.iter().all(|s| s.video_frames == 60));
}

// ---- bad input: each names the file and says what to do ----

#[test]
fn missing_file() {
    let err = prepare_err(Path::new("/nonexistent/clip.mp4"), 2.0);
    assert!(matches!(err, IngestError::NotFound { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("/nonexistent/clip.mp4") && text.contains("--in"),
        "{text}"
    );
}

#[test]
fn text_file_is_not_media() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.mp4");
    std::fs::write(&path, "this is not a video, just some text\n".repeat(50)).unwrap();
    let err = prepare_err(&path, 2.0);
    assert!(matches!(err, IngestError::NotMedia { .. }), "{err}");
    assert!(err.to_string().contains("notes.mp4"), "{err}");
}

#[test]
fn truncated_mp4_with_index_at_the_end_cannot_be_opened() {
    // The original clip keeps its index (moov) after the media data: 30% of it has no index.
    let bytes = std::fs::read(fixture("bbb_720p25_5s.mp4")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.mp4");
    std::fs::write(&path, &bytes[..bytes.len() * 3 / 10]).unwrap();
    let err = prepare_err(&path, 2.0);
    assert!(matches!(err, IngestError::NotMedia { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("cut.mp4") && text.contains("truncated"),
        "{text}"
    );
}

#[test]
fn truncated_faststart_mp4_keeps_its_complete_segments_and_warns() {
    // The default fixture has its index first: cut at half, the index promises 5.28 s and the
    // data ends inside frame 50, the keyframe at 2 s: the 50 whole frames before it are kept.
    let bytes = std::fs::read(fixture("bbb_720p25_5s_gop2.mp4")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("half.mp4");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let (_work, prepared) = prepare(&path, 2.0);
    let frames: Vec<u64> = prepared.segments.iter().map(|s| s.video_frames).collect();
    assert_eq!(frames, vec![50]);
    let warning = prepared.warnings.join("\n");
    assert!(
        warning.contains("half.mp4") && warning.contains("truncated"),
        "{warning}"
    );
    assert!((prepared.segments[0].duration_seconds - 2.0).abs() < 1e-6);
}

#[test]
fn truncated_ts_keeps_its_complete_segments_and_warns() {
    let Some((dir, ts)) = made_with_ffmpeg(
        "full.ts",
        &[
            "-i",
            fixture("bbb_720p25_5s_gop2.mp4").to_str().unwrap(),
            "-c",
            "copy",
        ],
    ) else {
        return;
    };
    let bytes = std::fs::read(&ts).unwrap();
    let cut = dir.path().join("cut.ts");
    // 60% of the file, ending inside a 188-byte TS packet (in the second GOP).
    std::fs::write(&cut, &bytes[..bytes.len() * 6 / 10 + 77]).unwrap();
    let (_work, prepared) = prepare(&cut, 2.0);
    // The first segment is whole; the second holds the whole frames before the cut.
    let frames: Vec<u64> = prepared.segments.iter().map(|s| s.video_frames).collect();
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert_eq!(frames[0], 50);
    assert!((1..50).contains(&frames[1]), "{frames:?}");
    for segment in &prepared.segments {
        let (_, _, _, packets, first_key) = inspect(&segment.path);
        assert_eq!(packets, segment.video_frames);
        assert!(first_key);
    }
    let warning = prepared.warnings.join("\n");
    assert!(
        warning.contains("cut.ts") && warning.contains("truncated"),
        "{warning}"
    );

    // A sliver of a TS (less than one GOP) gives no complete segment: an error naming the file.
    let sliver = dir.path().join("sliver.ts");
    std::fs::write(&sliver, &bytes[..188 * 20 + 5]).unwrap();
    let err = prepare_err(&sliver, 2.0);
    assert!(
        matches!(
            err,
            IngestError::NoFrames { .. } | IngestError::NotMedia { .. }
        ),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("sliver.ts") && text.contains("truncated"),
        "{text}"
    );
}

#[test]
fn audio_only_file_has_no_video() {
    let Some((_dir, path)) = made_with_ffmpeg(
        "tone.m4a",
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=1",
            "-c:a",
            "aac",
        ],
    ) else {
        return;
    };
    let err = prepare_err(&path, 2.0);
    assert!(matches!(err, IngestError::NoVideo { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("tone.m4a") && text.contains("audio aac"),
        "{text}"
    );
}

#[test]
fn hls_master_playlist_asks_for_a_media_playlist() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.m3u8");
    std::fs::write(
        &path,
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=6000000,RESOLUTION=1920x1080\n1080p/index.m3u8\n",
    )
    .unwrap();
    let err = prepare_err(&path, 2.0);
    assert!(matches!(err, IngestError::HlsMaster { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("master.m3u8")
            && text.contains("media playlist")
            && text.contains("1080p/index.m3u8"),
        "{text}"
    );
}

#[test]
fn hls_playlist_with_a_missing_segment() {
    if !have_ffmpeg_cli() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let playlist = make_hls(dir.path());
    std::fs::remove_file(dir.path().join("seg_001.ts")).unwrap();
    let err = prepare_err(&playlist, 2.0);
    assert!(
        matches!(err, IngestError::HlsMissingSegment { .. }),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("seg_001.ts") && text.contains("index.m3u8"),
        "{text}"
    );
}

#[test]
fn hls_segment_that_is_not_media() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.ts"),
        "not a transport stream\n".repeat(20),
    )
    .unwrap();
    let playlist = dir.path().join("index.m3u8");
    std::fs::write(&playlist, "#EXTM3U\n#EXTINF:2,\na.ts\n#EXT-X-ENDLIST\n").unwrap();
    let err = prepare_err(&playlist, 2.0);
    assert!(matches!(err, IngestError::HlsSegment { .. }), "{err}");
    assert!(err.to_string().contains("a.ts"), "{err}");
}

#[test]
fn segment_seconds_must_be_a_positive_number() {
    for value in [0.0, -2.0, f64::NAN] {
        let err = prepare_err(&fixture("bbb_720p25_5s_gop2.mp4"), value);
        assert!(
            matches!(err, IngestError::InvalidSegmentSeconds { .. }),
            "{value}: {err}"
        );
        assert!(err.to_string().contains("--segment-seconds"), "{err}");
    }
}

#[test]
fn directory_is_not_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = prepare_err(dir.path(), 2.0);
    assert!(matches!(err, IngestError::NotAFile { .. }), "{err}");
}

/// The 2-s-GOP fixture remuxed (no re-encode) into an MPEG-TS file at `out`.
fn remux_fixture_to_ts(out: &Path) {
    let input = fixture("bbb_720p25_5s_gop2.mp4");
    let (input, out) = (input.to_str().unwrap(), out.to_str().unwrap());
    ffmpeg_cli(&["-i", input, "-c", "copy", "-f", "mpegts", out]);
}

/// Two MPEG-TS files joined with `cat`: the second's timestamps start again near 0. All of it is
/// segmented, the restart is counted and the warning says what was done.
#[test]
fn concatenated_ts_uses_both_parts_and_says_so() {
    if !have_ffmpeg_cli() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("part.ts");
    remux_fixture_to_ts(&part);
    let one = std::fs::read(&part).unwrap();
    let joined = dir.path().join("joined.ts");
    std::fs::write(&joined, [one.as_slice(), one.as_slice()].concat()).unwrap();
    let (_w, single) = prepare(&part, 2.0);
    let (_w2, both) = prepare(&joined, 2.0);
    assert_eq!(single.info.timestamp_restarts, 0);
    assert_eq!(both.info.timestamp_restarts, 1, "{:?}", both.warnings);
    assert_eq!(
        both.info.video_frames,
        2 * single.info.video_frames,
        "every frame used"
    );
    let ratio = both.info.duration_seconds / single.info.duration_seconds;
    assert!((ratio - 2.0).abs() < 0.05, "{ratio}");
    assert!(both.truncated.is_none(), "{:?}", both.truncated);
    assert!(
        both.warnings
            .iter()
            .any(|w| w.contains("timestamps restart")),
        "{:?}",
        both.warnings
    );
    assert_eq!(both.info.packets_left_out, 0);
}

/// A capture that starts mid-GOP: the lead-in before the first keyframe is not used, counted,
/// and the file is not called truncated.
#[test]
fn ts_capture_starting_mid_gop_is_not_truncated() {
    if !have_ffmpeg_cli() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ts = dir.path().join("capture.ts");
    // Start 0.5 s in without re-encoding: the first packets precede the 2-s keyframe.
    remux_fixture_to_ts(&dir.path().join("whole.ts"));
    let whole = std::fs::read(dir.path().join("whole.ts")).unwrap();
    // Cut at a 188-byte packet boundary about a fifth of the way in: mid-GOP.
    let start = (whole.len() / 5) / 188 * 188;
    std::fs::write(&ts, &whole[start..]).unwrap();
    let (_w, p) = prepare(&ts, 2.0);
    assert!(p.truncated.is_none(), "{:?}", p.truncated);
    assert!(p.info.lead_in_packets_skipped > 0, "{:?}", p.info);
    assert!(
        p.warnings.iter().any(|w| w.contains("mid-GOP")),
        "{:?}",
        p.warnings
    );
}
