//! End-to-end tests of the real binary: the happy path on the bundled fixture, and every bad
//! input of issue 2 giving a clear message and exit code 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rigbench"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("rigbench runs")
}

/// `rigbench run --in INPUT --out-dir OUT --no-payments`: how each bad input is fed.
fn run_input(input: &Path, out: &Path) -> Output {
    run(&[
        "run",
        "--in",
        input.to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
        "--no-payments",
    ])
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("-version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Runs the ffmpeg CLI to make a test input; None (with a printed reason) if ffmpeg is absent.
fn ffmpeg(args: &[&str]) -> Option<()> {
    if !have("ffmpeg") {
        crate::support::skip(
            "cli",
            "the ffmpeg CLI is not installed (scripts/setup installs it)",
        );
        return None;
    }
    let o = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg runs");
    assert!(o.status.success(), "ffmpeg {args:?}: {}", stderr(&o));
    Some(())
}

fn assert_usage_error(o: &Output, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "expected exit 2, stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    for n in needles {
        assert!(err.contains(n), "stderr should mention {n:?}: {err}");
    }
}

#[test]
fn missing_input_file() {
    let o = run(&["run", "--in", "/nonexistent/clip.mp4", "--no-payments"]);
    assert_usage_error(&o, &["/nonexistent/clip.mp4"]);
}

#[test]
fn input_that_is_not_media() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("notes.mp4");
    std::fs::write(&p, "this is not a video\n".repeat(100)).unwrap();
    let out = dir.path().join("out");
    let o = run_input(&p, &out);
    assert_usage_error(&o, &["notes.mp4"]);
}

#[test]
fn truncated_input() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("bbb_720p25_5s_gop2.mp4")).unwrap();
    let p = dir.path().join("truncated.mp4");
    std::fs::write(&p, &bytes[..bytes.len() / 3]).unwrap();
    let out = dir.path().join("out");
    let o = run_input(&p, &out);
    assert_usage_error(&o, &["truncated.mp4", "--allow-truncated"]);
    // Asked to, it transcodes the whole frames before the cut.
    let o = run(&[
        "run",
        "--in",
        p.to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
        "--no-payments",
        "--no-live",
        "--quiet",
        "--allow-truncated",
        "--transcoding-options",
        "P144p30fps16x9",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn input_without_video() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("audio_only.m4a");
    if ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=2",
        "-c:a",
        "aac",
        p.to_str().unwrap(),
    ])
    .is_none()
    {
        return;
    }
    let out = dir.path().join("out");
    let o = run_input(&p, &out);
    assert_usage_error(&o, &["audio_only.m4a", "video"]);
}

#[test]
fn hls_master_playlist_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("master.m3u8");
    std::fs::write(
        &p,
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1280000,RESOLUTION=1280x720\nlow/index.m3u8\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = run_input(&p, &out);
    assert_usage_error(&o, &["master.m3u8", "media playlist"]);
}

#[test]
fn hls_playlist_with_missing_segment() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("index.m3u8");
    std::fs::write(
        &p,
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg0.ts\n#EXT-X-ENDLIST\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = run_input(&p, &out);
    assert_usage_error(&o, &["seg0.ts"]);
}

#[test]
fn bad_ladders() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "broken.json",
            "[{\"name\": \"x\", \"width\": 640,",
            &["broken.json"],
        ),
        (
            "zero.json",
            r#"[{"name":"z","width":0,"height":360,"bitrate":800000}]"#,
            &["width"],
        ),
        (
            "odd.json",
            r#"[{"name":"o","width":641,"height":360,"bitrate":800000}]"#,
            &["641"],
        ),
        (
            "huge.json",
            r#"[{"name":"h","width":100000,"height":360,"bitrate":800000}]"#,
            &["100000"],
        ),
        (
            "neg.json",
            r#"[{"name":"n","width":640,"height":360,"bitrate":-5}]"#,
            &["bitrate"],
        ),
    ];
    for (name, text, needles) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let o = run(&[
            "run",
            "--transcoding-options",
            p.to_str().unwrap(),
            "--no-payments",
        ]);
        assert_usage_error(&o, needles);
    }
    let o = run(&[
        "run",
        "--transcoding-options",
        "P720p30fps16x9,P999p",
        "--no-payments",
    ]);
    assert_usage_error(&o, &["P999p"]);
}

#[test]
fn zero_concurrent_sessions() {
    let o = run(&["run", "--concurrent-sessions", "0", "--no-payments"]);
    assert_usage_error(&o, &["--concurrent-sessions"]);
}

fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// The bundled fixture with the default ladder: files written, every rendition valid.
fn default_run(sessions: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = run(&[
        "run",
        "--no-live",
        "--concurrent-sessions",
        sessions,
        "--session-delay",
        "0",
        "--out-dir",
        out.to_str().unwrap(),
        "--keep-renditions",
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let csv = std::fs::read_to_string(out.join("segments.csv")).unwrap();
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("timestamp,session,segment,seg_dur,transcode_time,frames,pixels,bytes_in,bytes_out,renditions,valid_renditions"));
    let n: usize = sessions.parse().unwrap();
    assert_eq!(lines.count(), 3 * n, "3 segments per session");
    let j = read_json(&out.join("run.json"));
    let s = &j["summary"];
    assert_eq!(s["total_segments"], 3 * n as u64);
    assert_eq!(s["validation"]["renditions_checked"], 12 * n as u64);
    assert_eq!(s["validation"]["renditions_failed"], 0);
    assert!(s["output_pixels"].as_u64().unwrap() > 0);
    assert!(s["realtime_duration_ratio"].as_f64().unwrap() > 0.0);
    assert_eq!(j["partial"], false);
    assert_eq!(j["schema_version"], rigbench::result::SCHEMA_VERSION);
    assert!(j["payments"]["tickets_sent"].as_u64().unwrap() > 0);
    let kept: Vec<PathBuf> = std::fs::read_dir(out.join("renditions"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(kept.len(), 12 * n);
    ffprobe_kept_renditions(&kept);
}

/// The independent check of issue 2: ffprobe agrees on size, frame count and a keyframe first.
fn ffprobe_kept_renditions(kept: &[PathBuf]) {
    if !have("ffprobe") {
        crate::support::skip(
            "ffprobe check",
            "ffprobe is not installed (scripts/setup installs it)",
        );
        return;
    }
    // livepeer_bench's ladder at the source's 25 fps: segments of 50, 50 and 32 frames.
    let sizes: [(&str, u64, u64); 4] = [
        ("240p0", 426, 240),
        ("360p0", 640, 360),
        ("480p0", 854, 480),
        ("720p0", 1280, 720),
    ];
    for path in kept {
        let name = path.file_name().unwrap().to_str().unwrap();
        let (profile, w, h) = sizes.iter().find(|(p, _, _)| name.starts_with(p)).unwrap();
        let segment: u32 = name
            .trim_end_matches(".ts")
            .rsplit('_')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let o = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-select_streams",
                "v:0",
                "-show_entries",
                "stream=width,height:frame=key_frame",
                "-of",
                "json",
            ])
            .arg(path)
            .output()
            .unwrap();
        let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let stream = &j["streams"][0];
        assert_eq!(
            (stream["width"].as_u64(), stream["height"].as_u64()),
            (Some(*w), Some(*h)),
            "{profile} {name}"
        );
        let frames: Vec<u64> = j["frames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["key_frame"].as_u64().unwrap())
            .collect();
        let want = if segment % 3 == 2 { 32 } else { 50 };
        assert!(
            frames.len().abs_diff(want) <= 1,
            "{name}: {} frames, want {want}",
            frames.len()
        );
        assert_eq!(
            frames.first(),
            Some(&1),
            "{name}: first frame is not a keyframe"
        );
    }
}

#[test]
fn default_run_one_session() {
    default_run("1");
}

#[test]
fn default_run_two_sessions() {
    default_run("2");
}

#[test]
fn json_flag_prints_run_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = run(&[
        "run",
        "--no-live",
        "--segs",
        "1",
        "--no-payments",
        "--json",
        "--transcoding-options",
        "P144p30fps16x9",
        "--out-dir",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("stdout is run.json");
    assert_eq!(j["summary"]["total_segments"], 1);
    assert_eq!(j["payments"], serde_json::Value::Null);
}

#[test]
fn probe_reports_each_backend_with_a_reason_when_unavailable() {
    let o = run(&["probe", "--json"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("probe --json is JSON");
    let backends = j["backends"].as_array().expect("a backends array");
    let names: Vec<&str> = backends.iter().filter_map(|b| b["name"].as_str()).collect();
    assert_eq!(names, ["cpu", "nvidia", "hybrid"], "{j}");
    for b in backends {
        let available = b["available"].as_bool().expect("available is a bool");
        let reason = b["reason"].as_str().unwrap_or_default();
        assert!(
            available || !reason.is_empty(),
            "unavailable without a reason: {b}"
        );
    }
    assert_eq!(backends[0]["available"], true, "libx264 is always here");
    // No GPU for NVML to see, no GPU backend to offer.
    if j["host"]["gpus"].as_array().is_some_and(|g| g.is_empty()) {
        assert_eq!(backends[1]["available"], false, "{j}");
    }
    // The text form lists the same verdicts, one line per backend.
    let text = run(&["probe"]);
    let text = String::from_utf8_lossy(&text.stdout);
    for b in backends {
        let name = b["name"].as_str().unwrap();
        let want = if b["available"] == true {
            format!("  {name:<8} available")
        } else {
            format!("  {name:<8} unavailable: {}", b["reason"].as_str().unwrap())
        };
        assert!(text.contains(&want), "{want:?} in {text}");
    }
}

/// Live pacing: a 2-s segment per 2 s. Waits for the first finished row, sends `signal`, and
/// checks that the run ends like Ctrl-C: exit 3, run.json partial with every finished row, the
/// report written, the temporary segment folder gone.
fn signal_keeps_finished_segments_and_marks_partial(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut child = bin()
        .args([
            "run",
            "--loop",
            "20",
            "--no-payments",
            "--quiet",
            "--transcoding-options",
            "P144p30fps16x9",
            "--out-dir",
            out.to_str().unwrap(),
        ])
        .spawn()
        .unwrap();
    let csv = out.join("segments.csv");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let rows = std::fs::read_to_string(&csv)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if rows >= 2 || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let pid = child.id().to_string();
    let _ = Command::new("kill").args([signal, &pid]).status();
    let status = child.wait().unwrap();
    // An interrupted run did not do what was asked: exit 3, with everything finished kept.
    assert_eq!(status.code(), Some(3), "{signal}");
    let j = read_json(&out.join("run.json"));
    assert_eq!(j["partial"], true);
    let rows = std::fs::read_to_string(&csv).unwrap().lines().count() - 1;
    assert!(rows >= 1);
    assert_eq!(j["summary"]["total_segments"], rows as u64);
    assert!(out.join("report.md").is_file(), "{signal}: report written");
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(
        leftovers.is_empty(),
        "{signal}: temporary files left: {leftovers:?}"
    );
}

#[test]
fn ctrl_c_keeps_finished_segments_and_marks_partial() {
    signal_keeps_finished_segments_and_marks_partial("-INT");
}

#[test]
fn sigterm_behaves_like_ctrl_c() {
    signal_keeps_finished_segments_and_marks_partial("-TERM");
}

#[test]
fn repeat_and_loop_with_payments() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = run(&[
        "run",
        "--no-live",
        "--repeat",
        "2",
        "--loop",
        "2",
        "--segs",
        "4",
        "--transcoding-options",
        "P144p30fps16x9",
        "--out-dir",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let j = read_json(&out.join("run.json"));
    // 3 segments looped twice, capped at 4, in each of 2 repeats.
    let per_repeat: Vec<u64> = j["repeats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["total_segments"].as_u64().unwrap())
        .collect();
    assert_eq!(per_repeat, vec![4, 4]);
    assert_eq!(j["summary"]["total_segments"], 8);
    assert_eq!(
        j["payments"]["tickets_valid"],
        j["payments"]["tickets_sent"]
    );
    let rows = std::fs::read_to_string(out.join("segments.csv")).unwrap();
    assert_eq!(rows.lines().count(), 1 + 8);
    assert!(out.join("report.md").exists());
}
