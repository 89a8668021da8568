//! Renditions as lpms makes them and how good they are: a 4:3 and a portrait source transcode to
//! lpms' sizes and bill their real pixels; SSIM and PSNR agree with the ffmpeg CLI's filters; a
//! tampered rendition of the right size and frame count is caught by quality, not by pixels; the
//! binary's `--quality` and `--min-ssim` / `--min-psnr`. Inputs are made small (320x240 and
//! 180x320, 25 fps, one or two seconds) from the bundled clip so these stay fast on 2 cores.

use std::path::{Path, PathBuf};
use std::process::Command;

use rigbench::ingest::{self, PreparedSource};
use rigbench::transcode::ladder::{parse_ladder_json, Profile};
use rigbench::transcode::{Backend, RenditionOutput, Session, SessionConfig};
use rigbench::validation::quality::{below_thresholds, score_segment, FrameScores};
use rigbench::validation::{expected_frames, expected_size, validate_rendition};

/// One rung at the source rate (frames align one to one with the source), one converted to 30 fps.
const LADDER: &str = r#"[
  {"name":"r240","width":426,"height":240,"bitrate":300000,"profile":"h264constrainedhigh","gop":"1"},
  {"name":"r144","width":256,"height":144,"bitrate":200000,"fps":30,"profile":"h264constrainedhigh","gop":"1"}
]"#;

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("-version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn ffmpeg(test: &str, args: &[&str]) -> Option<()> {
    if !have("ffmpeg") {
        crate::support::skip(
            test,
            "the ffmpeg CLI is not installed (scripts/setup installs it)",
        );
        return None;
    }
    let o = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg runs");
    assert!(
        o.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    Some(())
}

fn clip() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bbb_720p25_5s.mp4")
}

/// A `w`x`h` source of `seconds` from the bundled clip (stretched: only its shape matters), a
/// keyframe every second.
fn source(test: &str, dir: &Path, w: u32, h: u32, seconds: &str) -> Option<PathBuf> {
    let out = dir.join(format!("src_{w}x{h}.mp4"));
    ffmpeg(
        test,
        &[
            "-i",
            clip().to_str().unwrap(),
            "-t",
            seconds,
            "-vf",
            &format!("scale={w}:{h},setsar=1"),
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-g",
            "25",
            "-c:a",
            "copy",
            out.to_str().unwrap(),
        ],
    )?;
    Some(out)
}

fn ladder() -> Vec<Profile> {
    parse_ladder_json(LADDER, "test ladder").unwrap()
}

fn transcode(
    src: &PreparedSource,
    keep: Option<PathBuf>,
) -> Vec<(rigbench::ingest::Segment, Vec<RenditionOutput>)> {
    let mut s = Session::new(
        SessionConfig {
            backend: Backend::Cpu,
            gpu: None,
            ladder: ladder(),
            keep_renditions_dir: keep,
            session: 0,
        },
        &src.info,
    )
    .expect("cpu session opens");
    src.segments
        .iter()
        .map(|seg| (seg.clone(), s.transcode_segment(seg).unwrap().renditions))
        .collect()
}

#[test]
fn four_by_three_and_portrait_sources_get_lpms_sizes_and_bill_them() {
    let test = "quality::four_by_three_and_portrait_sources_get_lpms_sizes_and_bill_them";
    let dir = tempfile::tempdir().unwrap();
    // (source size, lpms' size of r240, of r144)
    let cases = [
        ((320, 240), (426, 320), (256, 192)),
        // 180x320 on 256x144: the derived width (144) is below H.264's 146, so 146 and derive.
        ((180, 320), (240, 426), (146, 260)),
    ];
    for ((w, h), want240, want144) in cases {
        let Some(input) = source(test, dir.path(), w, h, "1") else {
            return;
        };
        let src = ingest::prepare(&input, 2.0, &dir.path().join(format!("seg{w}"))).unwrap();
        assert_eq!((src.info.width, src.info.height), (w, h));
        for (seg, renditions) in transcode(&src, None) {
            for (r, (p, want)) in renditions
                .iter()
                .zip(ladder().iter().zip([want240, want144]))
            {
                assert_eq!((r.width, r.height), want, "{w}x{h} source, {}", p.name);
                assert_eq!(expected_size(p, w, h), want);
                assert_eq!(
                    r.pixels,
                    r.frames * u64::from(want.0) * u64::from(want.1),
                    "billed pixels are the encoder's real size"
                );
                let c = validate_rendition(r, p, expected_frames(&seg, src.info.fps, p), want);
                assert!(c.ok, "{w}x{h} {}: {:?}", p.name, c.detail);
                // The profile's nominal size is not what lpms makes here.
                let nominal = validate_rendition(r, p, c.decoded_frames, (p.width, p.height));
                assert!(!nominal.ok);
            }
        }
    }
}

/// `key:value` fields of an ffmpeg ssim/psnr stats file, per frame.
fn stats_field(file: &Path, key: &str) -> Vec<f64> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .filter_map(|line| {
            line.split_whitespace()
                .find_map(|t| t.strip_prefix(&format!("{key}:")))
                .and_then(|v| v.parse().ok())
        })
        .collect()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn ssim_and_psnr_match_the_ffmpeg_cli_and_catch_a_tampered_rendition() {
    let test = "quality::ssim_and_psnr_match_the_ffmpeg_cli_and_catch_a_tampered_rendition";
    let dir = tempfile::tempdir().unwrap();
    let Some(input) = source(test, dir.path(), 320, 240, "1") else {
        return;
    };
    let keep = dir.path().join("renditions");
    std::fs::create_dir_all(&keep).unwrap();
    let src = ingest::prepare(&input, 2.0, &dir.path().join("seg")).unwrap();
    let (seg, renditions) = transcode(&src, Some(keep.clone())).remove(0);
    let list: Vec<(&str, &[u8])> = renditions
        .iter()
        .map(|r| (r.name.as_str(), r.data.as_slice()))
        .collect();
    let scores: Vec<FrameScores> = score_segment(&list, &seg.path)
        .into_iter()
        .map(|r| r.expect("renditions score"))
        .collect();
    for (r, s) in renditions.iter().zip(&scores) {
        assert_eq!(
            s.ssim.len() as u64,
            r.frames,
            "{}: every frame scored",
            r.name
        );
        let q = s.summary().unwrap();
        assert!(q.ssim.mean > 0.8 && q.ssim.mean <= 1.0, "{}: {q:?}", r.name);
        assert!(q.psnr_db.mean > 25.0, "{}: {q:?}", r.name);
        assert!(q.ssim.min <= q.ssim.p5 && q.ssim.p5 <= q.ssim.mean);
    }

    // The ffmpeg CLI's own filters on the kept source-rate rendition, timestamps from zero.
    let good = &renditions[0];
    let kept = keep.join(format!("{}_0_0.ts", good.name));
    let (ssim_file, psnr_file) = (dir.path().join("ssim.txt"), dir.path().join("psnr.txt"));
    let graph = format!(
        "[1:v]scale=w={}:h={}:flags=bicubic,format=yuv420p,setpts=PTS-STARTPTS,split[r1][r2];\
         [0:v]format=yuv420p,setpts=PTS-STARTPTS,split[m1][m2];\
         [m1][r1]ssim=stats_file={}[o1];[m2][r2]psnr=stats_file={}[o2]",
        good.width,
        good.height,
        ssim_file.display(),
        psnr_file.display()
    );
    ffmpeg(
        test,
        &[
            "-i",
            kept.to_str().unwrap(),
            "-i",
            seg.path.to_str().unwrap(),
            "-filter_complex",
            &graph,
            "-map",
            "[o1]",
            "-f",
            "null",
            "-",
            "-map",
            "[o2]",
            "-f",
            "null",
            "-",
        ],
    )
    .unwrap();
    let ours = &scores[0];
    let cli = [
        ("All", &ours.ssim, &ssim_file, 0.002),
        ("Y", &ours.ssim_y, &ssim_file, 0.002),
        ("psnr_avg", &ours.psnr_db, &psnr_file, 0.1),
        ("psnr_y", &ours.psnr_y_db, &psnr_file, 0.1),
    ];
    for (key, mine, file, tolerance) in cli {
        let theirs = stats_field(file, key);
        assert_eq!(theirs.len(), mine.len(), "{key}: frames compared");
        let (a, b) = (mean(mine), mean(&theirs));
        assert!(
            (a - b).abs() <= tolerance,
            "{key}: rigbench {a}, ffmpeg CLI {b}"
        );
    }

    // Tampered renditions: same size, same frame count, bad content. The broadcaster's pixel
    // checks pass them; the quality check does not.
    let good_q = ours.summary().unwrap();
    let p = &ladder()[0];
    let tenth = (p.bitrate_bps / 10).to_string();
    let tampers: [(&str, Vec<&str>); 2] = [
        ("blurred", vec!["-vf", "boxblur=6:2"]),
        (
            "a tenth of the bitrate",
            vec!["-b:v", &tenth, "-maxrate", &tenth, "-bufsize", &tenth],
        ),
    ];
    let threshold = good_q.ssim.mean - 0.01;
    for (how, args) in tampers {
        let bad_path = dir.path().join("tampered.ts");
        let mut all = vec!["-i", kept.to_str().unwrap()];
        all.extend(&args);
        all.extend([
            "-c:v",
            "libx264",
            "-bf",
            "0",
            "-forced-idr",
            "1",
            "-c:a",
            "copy",
            "-f",
            "mpegts",
            bad_path.to_str().unwrap(),
        ]);
        ffmpeg(test, &all).unwrap();
        let bad = RenditionOutput {
            data: std::fs::read(&bad_path).unwrap(),
            ..good.clone()
        };
        let c = validate_rendition(
            &bad,
            p,
            expected_frames(&seg, src.info.fps, p),
            (good.width, good.height),
        );
        assert!(c.ok, "{how}: the pixel checks pass it: {:?}", c.detail);
        let q = score_segment(&[(bad.name.as_str(), bad.data.as_slice())], &seg.path)
            .remove(0)
            .unwrap()
            .summary()
            .unwrap();
        assert!(
            q.ssim.mean < good_q.ssim.mean - 0.02,
            "{how}: SSIM {} vs the honest {}",
            q.ssim.mean,
            good_q.ssim.mean
        );
        assert!(below_thresholds(&good_q, Some(threshold), None).is_none());
        let why = below_thresholds(&q, Some(threshold), None).expect("flagged");
        assert!(why.contains("--min-ssim"), "{why}");
    }
}

fn rigbench(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rigbench"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("rigbench runs")
}

#[test]
fn run_scores_quality_and_fails_below_the_thresholds() {
    let test = "quality::run_scores_quality_and_fails_below_the_thresholds";
    let dir = tempfile::tempdir().unwrap();
    let Some(input) = source(test, dir.path(), 320, 240, "2") else {
        return;
    };
    let ladder_file = dir.path().join("ladder.json");
    std::fs::write(&ladder_file, LADDER).unwrap();
    let run = |out: &str, extra: &[&str]| {
        let out = dir.path().join(out);
        let mut args = vec![
            "run",
            "--in",
            input.to_str().unwrap(),
            "--transcoding-options",
            ladder_file.to_str().unwrap(),
            "--segment-seconds",
            "1",
            "--no-live",
            "--no-payments",
            "--quiet",
            "--out-dir",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        (rigbench(&args), out)
    };
    let json = |out: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap()
    };

    // Default: a sample (segment 0 of the two), scored in run.json and segments.csv.
    let (o, out) = run("sample", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json(&out);
    assert_eq!(v["quality"]["mode"], "sample");
    let scored = v["quality"]["segments_scored"].as_array().unwrap();
    assert_eq!(scored.len(), 1, "{scored:?}");
    assert_eq!(scored[0]["segment"], 0);
    let profiles = v["summary"]["quality_by_profile"].as_array().unwrap();
    let names: Vec<&str> = profiles
        .iter()
        .map(|p| p["rendition"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["r240", "r144"]);
    for p in profiles {
        let ssim = p["ssim"]["mean"].as_f64().unwrap();
        assert!(ssim > 0.8 && ssim <= 1.0, "{p}");
        assert!(p["psnr_db"]["p5"].as_f64().unwrap() > 20.0, "{p}");
    }
    assert!(v["summary"]["ladder_mean_ssim"].as_f64().unwrap() > 0.8);
    assert!(v["quality"]["vmaf"]
        .as_str()
        .unwrap()
        .starts_with("not computed"));
    let csv = std::fs::read_to_string(out.join("segments.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].ends_with(",repeat,ssim_min,ssim_p5,ssim_mean,ssim_y_mean,psnr_min_db,psnr_p5_db,psnr_mean_db,psnr_y_mean_db"));
    assert_eq!(rows.len(), 3, "{csv}");
    let cells = |row: &str| {
        row.split(',')
            .skip(15)
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let scored_row = rows[1..]
        .iter()
        .find(|r| r.split(',').nth(2) == Some("0"))
        .unwrap();
    assert_eq!(cells(scored_row)[2].split(';').count(), 2, "{scored_row}");
    let other = rows[1..]
        .iter()
        .find(|r| r.split(',').nth(2) == Some("1"))
        .unwrap();
    assert!(cells(other).iter().all(String::is_empty), "{other}");

    // An impossible threshold fails the run (exit 3), naming the renditions.
    let (o, out) = run("strict", &["--quality", "all", "--min-ssim", "0.9999"]);
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("rendition r240") && err.contains("--min-ssim"),
        "{err}"
    );
    let v = json(&out);
    assert_eq!(v["quality"]["segments_scored"].as_array().unwrap().len(), 2);
    assert!(!v["quality"]["below_threshold"]
        .as_array()
        .unwrap()
        .is_empty());

    // Off: nothing scored, no columns filled.
    let (o, out) = run("off", &["--quality", "off"]);
    assert!(o.status.success());
    let v = json(&out);
    assert!(v["quality"]["segments_scored"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(v["summary"]["ladder_mean_ssim"].is_null());

    // Bad thresholds are usage errors naming the flag.
    let cases: [(&[&str], &str); 4] = [
        (&["--min-ssim", "2"], "--min-ssim"),
        (&["--min-ssim", "NaN"], "--min-ssim"),
        (&["--min-psnr", "1e9"], "--min-psnr"),
        (&["--quality", "off", "--min-psnr", "30"], "--quality off"),
    ];
    for (extra, needle) in cases {
        let (o, _) = run("bad", extra);
        assert_eq!(o.status.code(), Some(2), "{extra:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{extra:?}: {err}");
    }
}
