//! Validation decodes real renditions: a good one passes, tampered ones fail the right check.

use std::path::Path;

use rigbench::ingest;
use rigbench::transcode::ladder::{parse_transcoding_options, Profile};
use rigbench::transcode::{Backend, RenditionOutput, Session, SessionConfig};
use rigbench::validation::{expected_frames, validate_rendition, Check};

/// The bundled clip is 16:9, so lpms' size for these profiles is the profile's own.
fn size(p: &Profile) -> (u32, u32) {
    (p.width, p.height)
}

/// One real 2-second rendition (P240p25fps16x9, the source rate) and its expected frame count.
fn rendition() -> (RenditionOutput, Profile, u64) {
    ingest::init_ffmpeg();
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let input = if root.join("bbb_720p25_5s_gop2.mp4").is_file() {
        root.join("bbb_720p25_5s_gop2.mp4")
    } else {
        root.join("bbb_720p25_5s.mp4")
    };
    let src = ingest::prepare(&input, 2.0, dir.path()).unwrap();
    let ladder = parse_transcoding_options("P240p25fps16x9").unwrap();
    let mut s = Session::new(
        SessionConfig {
            backend: Backend::Cpu,
            gpu: None,
            ladder: ladder.clone(),
            keep_renditions_dir: None,
            session: 0,
        },
        &src.info,
    )
    .unwrap();
    let seg = &src.segments[0];
    let mut out = s.transcode_segment(seg).unwrap();
    let expected = expected_frames(seg, src.info.fps, &ladder[0]);
    (out.renditions.remove(0), ladder[0].clone(), expected)
}

#[test]
fn good_and_tampered_renditions() {
    let (good, profile, expected) = rendition();
    let c = validate_rendition(&good, &profile, expected, size(&profile));
    assert!(c.ok, "{:?}", c.detail);
    assert_eq!(c.decoded_frames, good.frames);
    assert_eq!(c.decoded_pixels, good.pixels);

    let frame_pixels = u64::from(profile.width) * u64::from(profile.height);
    let mut bigger = profile.clone();
    bigger.width = 640;
    bigger.height = 360;

    let mut truncated = good.clone();
    truncated.data.truncate(good.data.len() / 3 / 188 * 188);
    let mut overbilled = good.clone();
    overbilled.pixels += frame_pixels;
    let mut underbilled = good.clone();
    underbilled.pixels -= frame_pixels;
    let mut no_key = good.clone();
    no_key.first_is_keyframe = false;
    let mut garbled = good.clone();
    garbled.data.iter_mut().for_each(|b| *b = 0);

    let cases: Vec<(&str, &RenditionOutput, &Profile, u64, Check)> = vec![
        ("wrong size profile", &good, &bigger, expected, Check::Size),
        (
            "truncated bytes",
            &truncated,
            &profile,
            expected,
            Check::FrameCount,
        ),
        (
            "truncated bytes",
            &truncated,
            &profile,
            expected,
            Check::PixelCount,
        ),
        (
            "billed one frame too many",
            &overbilled,
            &profile,
            expected,
            Check::PixelCount,
        ),
        (
            "billed one frame too few",
            &underbilled,
            &profile,
            expected,
            Check::PixelCount,
        ),
        (
            "expected count off by 2",
            &good,
            &profile,
            expected + 2,
            Check::FrameCount,
        ),
        (
            "no keyframe at start",
            &no_key,
            &profile,
            expected,
            Check::Keyframe,
        ),
        ("garbled bytes", &garbled, &profile, expected, Check::Decode),
    ];
    for (name, r, p, want_frames, check) in cases {
        let c = validate_rendition(r, p, want_frames, size(p));
        assert!(!c.ok, "{name} must fail");
        assert!(
            c.failures.contains(&check),
            "{name}: want {check:?}, got {:?} {:?}",
            c.failures,
            c.detail
        );
        assert_eq!(
            c.failures.len(),
            c.detail.len().min(c.failures.len()).max(c.failures.len())
        );
    }
    // Within ±1 frame is fine.
    assert!(validate_rendition(&good, &profile, expected + 1, size(&profile)).ok);
    assert!(validate_rendition(&good, &profile, expected - 1, size(&profile)).ok);
    // Billed pixels off by one frame fail only the pixel check.
    let c = validate_rendition(&overbilled, &profile, expected, size(&profile));
    assert_eq!(c.failures, vec![Check::PixelCount], "{:?}", c.detail);
}

#[test]
fn whole_segment_validates_in_ladder_order() {
    use rigbench::transcode::SegmentOutput;
    use rigbench::validation::validate_segment;
    let (good, profile, _) = rendition();
    let mut bad = good.clone();
    bad.pixels += 1;
    let mut stray = good.clone();
    stray.profile_index = 7;
    let out = SegmentOutput {
        renditions: vec![good, bad, stray],
        decoded_frames: 0,
        decode_errors: 0,
    };
    let seg = rigbench::ingest::Segment {
        index: 0,
        path: Default::default(),
        bytes: 0,
        duration_seconds: 2.0,
        video_frames: out.renditions[0].frames,
        start_seconds: 0.0,
    };
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let info = ingest::prepare(&root.join("bbb_720p25_5s.mp4"), 2.0, dir.path())
        .unwrap()
        .info;
    let checks = validate_segment(&out, &[profile], &seg, &info);
    assert_eq!(checks.len(), 3);
    assert!(checks[0].ok, "{:?}", checks[0].detail);
    assert_eq!(checks[1].failures, vec![Check::PixelCount]);
    assert_eq!(checks[2].failures, vec![Check::Decode]);
}
