//! The session transcoder end to end on the bundled fixture: every rendition of every segment is
//! encoded, valid, and passes an independent ffprobe check when written out.

use std::path::{Path, PathBuf};
use std::process::Command;

use rigbench::ingest::{self, PreparedSource};
use rigbench::transcode::ladder::{default_ladder, parse_transcoding_options, Profile};
use rigbench::transcode::{Backend, Session, SessionConfig};
use rigbench::validation::{expected_frames, expected_size, validate_rendition};

fn fixture() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let gop2 = root.join("bbb_720p25_5s_gop2.mp4");
    if gop2.is_file() {
        gop2
    } else {
        root.join("bbb_720p25_5s.mp4")
    }
}

fn prepare(dir: &Path) -> PreparedSource {
    ingest::init_ffmpeg();
    ingest::prepare(&fixture(), 2.0, dir).expect("the fixture ingests")
}

fn session(ladder: Vec<Profile>, keep: Option<PathBuf>, src: &PreparedSource) -> Session {
    Session::new(
        SessionConfig {
            backend: Backend::Cpu,
            gpu: None,
            ladder,
            keep_renditions_dir: keep,
            session: 0,
        },
        &src.info,
    )
    .expect("cpu session opens")
}

#[test]
fn default_ladder_every_segment_valid() {
    let dir = tempfile::tempdir().unwrap();
    let src = prepare(dir.path());
    assert!(
        src.segments.len() >= 2,
        "fixture cut into {} segments",
        src.segments.len()
    );
    let ladder = default_ladder();
    let mut s = session(ladder.clone(), None, &src);
    for seg in &src.segments {
        let out = s.transcode_segment(seg).unwrap();
        assert_eq!(out.renditions.len(), ladder.len());
        assert_eq!(
            out.decoded_frames, seg.video_frames,
            "segment {}",
            seg.index
        );
        for (r, p) in out.renditions.iter().zip(&ladder) {
            assert_eq!((r.width, r.height), (p.width, p.height));
            assert_eq!(r.frames, seg.video_frames, "fps 0 keeps every source frame");
            assert_eq!(
                r.pixels,
                r.frames * u64::from(p.width) * u64::from(p.height)
            );
            assert!(r.first_is_keyframe);
            let c = validate_rendition(
                r,
                p,
                expected_frames(seg, src.info.fps, p),
                expected_size(p, src.info.width, src.info.height),
            );
            assert!(c.ok, "segment {} {}: {:?}", seg.index, r.name, c.detail);
        }
    }
}

#[test]
fn frame_rate_conversion_presets_are_valid() {
    let dir = tempfile::tempdir().unwrap();
    let src = prepare(dir.path());
    let ladder = parse_transcoding_options("P144p30fps16x9,P240p25fps16x9").unwrap();
    let mut s = session(ladder.clone(), None, &src);
    for seg in src.segments.iter().take(2) {
        let out = s.transcode_segment(seg).unwrap();
        for (r, p) in out.renditions.iter().zip(&ladder) {
            let want = expected_frames(seg, src.info.fps, p);
            assert!(
                r.frames.abs_diff(want) <= 1,
                "{}: {} frames, want {want}",
                r.name,
                r.frames
            );
            let c = validate_rendition(
                r,
                p,
                want,
                expected_size(p, src.info.width, src.info.height),
            );
            assert!(c.ok, "{}: {:?}", r.name, c.detail);
        }
    }
}

fn ffprobe(path: &Path) -> Option<String> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-count_frames",
            "-show_entries",
            "stream=width,height,nb_read_frames:frame=key_frame",
            "-read_intervals",
            "%+#1",
            "-of",
            "default=noprint_wrappers=1",
        ])
        .arg(path)
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn kept_renditions_pass_ffprobe() {
    if Command::new("ffprobe").arg("-version").output().is_err() {
        println!("skip: ffprobe is not installed; cannot check renditions independently");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("renditions");
    std::fs::create_dir_all(&keep).unwrap();
    let src = prepare(&dir.path().join("segments"));
    let ladder = default_ladder();
    let mut s = session(ladder.clone(), Some(keep.clone()), &src);
    let seg = &src.segments[0];
    s.transcode_segment(seg).unwrap();
    for p in &ladder {
        let file = keep.join(format!("{}_0_0.ts", p.name));
        assert!(file.is_file(), "{} written", file.display());
        // Size and the first frame's key flag (read_intervals stops after one frame).
        let first = ffprobe(&file).unwrap();
        assert!(first.contains(&format!("width={}", p.width)), "{first}");
        assert!(first.contains(&format!("height={}", p.height)), "{first}");
        assert!(
            first.lines().any(|l| l == "key_frame=1"),
            "first frame must be a keyframe: {first}"
        );
        // Frame count over the whole file.
        let out = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-select_streams",
                "v:0",
                "-count_frames",
                "-show_entries",
                "stream=nb_read_frames",
                "-of",
                "csv=p=0",
            ])
            .arg(&file)
            .output()
            .unwrap();
        // MPEG-TS lists the stream twice (program and stream sections): take the first count.
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let frames: u64 = text
            .lines()
            .find(|l| !l.trim().is_empty())
            .and_then(|l| l.trim().trim_end_matches(',').parse().ok())
            .unwrap_or_else(|| panic!("ffprobe frame count unreadable: {text:?}"));
        assert!(
            frames.abs_diff(seg.video_frames) <= 1,
            "{}: ffprobe counts {frames}, want {}",
            p.name,
            seg.video_frames
        );
    }
}

#[test]
fn sessions_run_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let src = prepare(dir.path());
    let ladder = parse_transcoding_options("P144p30fps16x9").unwrap();
    std::thread::scope(|scope| {
        for k in 0..2u32 {
            let (src, ladder) = (&src, ladder.clone());
            scope.spawn(move || {
                let mut s = Session::new(
                    SessionConfig {
                        backend: Backend::Cpu,
                        gpu: None,
                        ladder: ladder.clone(),
                        keep_renditions_dir: None,
                        session: k,
                    },
                    &src.info,
                )
                .unwrap();
                let seg = &src.segments[0];
                let out = s.transcode_segment(seg).unwrap();
                let c = validate_rendition(
                    &out.renditions[0],
                    &ladder[0],
                    expected_frames(seg, src.info.fps, &ladder[0]),
                    expected_size(&ladder[0], src.info.width, src.info.height),
                );
                assert!(c.ok, "session {k}: {:?}", c.detail);
            });
        }
    });
}

#[test]
fn missing_segment_is_a_named_error() {
    let dir = tempfile::tempdir().unwrap();
    let src = prepare(dir.path());
    let mut s = session(default_ladder(), None, &src);
    let mut seg = src.segments[0].clone();
    seg.path = dir.path().join("nope.ts");
    let e = s.transcode_segment(&seg).unwrap_err().to_string();
    assert!(e.contains("nope.ts") && e.contains("segment 0"), "{e}");
}

#[test]
fn nvidia_without_driver_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let src = prepare(dir.path());
    if rigbench::transcode::nvidia::nvml_driver_present() {
        println!("skip: an NVIDIA driver is present; this checks the machine without one");
        return;
    }
    for backend in [Backend::Nvidia, Backend::Hybrid] {
        let r = Session::new(
            SessionConfig {
                backend,
                gpu: Some(0),
                ladder: default_ladder(),
                keep_renditions_dir: None,
                session: 0,
            },
            &src.info,
        );
        let e = r.err().expect("no GPU path without a driver").to_string();
        assert!(e.contains("no NVIDIA driver"), "{e}");
    }
}

/// A copy of `seg`'s file with `f` applied to its bytes.
fn tampered(
    seg: &ingest::Segment,
    dir: &Path,
    name: &str,
    f: impl Fn(&mut Vec<u8>),
) -> ingest::Segment {
    let mut bytes = std::fs::read(&seg.path).unwrap();
    f(&mut bytes);
    let path = dir.join(name);
    std::fs::write(&path, &bytes).unwrap();
    ingest::Segment {
        path,
        bytes: bytes.len() as u64,
        ..seg.clone()
    }
}

#[test]
fn corrupt_packets_are_counted_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let src = prepare(&dir.path().join("segments"));
    let ladder = parse_transcoding_options("P144p30fps16x9").unwrap();
    let mut s = session(ladder, None, &src);
    // Scribble over a run of TS packet payloads in the middle (keep the 4-byte headers so the
    // demuxer still follows the streams).
    let seg = tampered(&src.segments[0], dir.path(), "corrupt.ts", |b| {
        let packets = b.len() / 188;
        for p in packets / 3..packets / 3 + 40 {
            for i in 4..188 {
                b[p * 188 + i] = (i * 31 + p) as u8;
            }
        }
    });
    let out = s
        .transcode_segment(&seg)
        .expect("a damaged segment still transcodes");
    assert!(out.decoded_frames > 0);
    println!(
        "decoded {} frames with {} decode errors",
        out.decoded_frames, out.decode_errors
    );
    assert!(out.decode_errors > 0, "damage must be counted");
    // The session goes on with the next, intact segment.
    let next = s.transcode_segment(&src.segments[1]).unwrap();
    assert_eq!(next.decode_errors, 0);
    assert_eq!(next.decoded_frames, src.segments[1].video_frames);
}

#[test]
fn undecodable_segment_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let src = prepare(&dir.path().join("segments"));
    let mut s = session(default_ladder(), None, &src);
    // Keep the tables (PAT, PMT, SDT) so the streams are still found; destroy every payload of
    // the elementary streams (PIDs 0x100 and up, except the PMT at 0x1000).
    let seg = tampered(&src.segments[0], dir.path(), "garbage.ts", |b| {
        for p in 0..b.len() / 188 {
            let pid = (usize::from(b[p * 188 + 1] & 0x1f) << 8) | usize::from(b[p * 188 + 2]);
            if pid >= 0x100 && pid != 0x1000 {
                for i in 4..188 {
                    b[p * 188 + i] = 0xff;
                }
            }
        }
    });
    let e = s.transcode_segment(&seg).unwrap_err().to_string();
    assert!(e.contains("segment 0"), "{e}");
}
