//! `rigbench capacity` on the real binary: a short search (tiny ladder, one judged segment per
//! session), the time budget and SIGTERM keeping finished probes, bad input, and scripts/gpu-check
//! degrading cleanly on a machine without a GPU.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rigbench"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A short search: a one-rendition 144p ladder, one judged segment per session.
const QUICK: &[&str] = &[
    "capacity",
    "--transcoding-options",
    "P144p30fps16x9",
    "--max-repeats",
    "1",
    "--no-payments",
    "--backend",
    "cpu",
    "--quiet",
];

fn capacity(extra: &[&str], out: &Path) -> Output {
    let segments: &[&str] = if extra.contains(&"--probe-segments") {
        &[]
    } else {
        &["--probe-segments", "1"]
    };
    bin()
        .args(QUICK)
        .args(segments)
        .args(extra)
        .arg("--out-dir")
        .arg(out)
        .output()
        .expect("rigbench runs")
}

fn load(out: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join("capacity.json")).expect("capacity.json written");
    serde_json::from_str(&text).expect("capacity.json is JSON")
}

/// capacity.csv's data rows as (phase, sessions, repeat, passed).
fn csv_rows(out: &Path) -> Vec<(String, u64, u64, bool)> {
    let text = std::fs::read_to_string(out.join("capacity.csv")).expect("capacity.csv written");
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("phase,sessions,repeat,"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[9] == "true",
            )
        })
        .collect()
}

/// Every probe in capacity.json has its capacity.csv row, in order.
fn assert_every_probe_in_csv(doc: &serde_json::Value, out: &Path) {
    let rows = csv_rows(out);
    let probes = doc["probes"].as_array().unwrap();
    assert_eq!(rows.len(), probes.len(), "{rows:?}");
    for (row, p) in rows.iter().zip(probes) {
        assert_eq!(row.0, p["phase"].as_str().unwrap());
        assert_eq!(row.1, p["sessions"].as_u64().unwrap());
        assert_eq!(row.2, p["repeat"].as_u64().unwrap());
        assert_eq!(row.3, p["passed"].as_bool().unwrap());
    }
}

#[test]
fn a_short_search_finds_n_that_passed_with_n_plus_1_failed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cap");
    let rig = "fixtures/rigs/cpu-only.toml";
    let o = capacity(&["--max-sessions", "2", "--rig", rig], &out);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc = load(&out);
    assert_eq!(doc["kind"], "rigbench-capacity");
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["partial"], false);
    assert_every_probe_in_csv(&doc, &out);
    let n = doc["decision"]["compute_streams"].as_u64().unwrap();
    assert!(n <= 2);
    let search: Vec<&serde_json::Value> = doc["probes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["phase"] == "search")
        .collect();
    let verdict = |k: u64| {
        let at: Vec<bool> = search
            .iter()
            .filter(|p| p["sessions"] == k)
            .map(|p| p["passed"].as_bool().unwrap())
            .collect();
        (!at.is_empty()).then(|| at.iter().filter(|x| **x).count() * 2 > at.len())
    };
    if n > 0 {
        assert_eq!(verdict(n), Some(true), "N = {n} passed");
        assert!(doc["confirmation"]["renditions_checked"].as_u64().unwrap() > 0);
    }
    if let Some(v) = verdict(n + 1) {
        assert!(!v, "N + 1 = {} failed", n + 1);
    } else {
        assert_eq!(n, 2, "N + 1 is only untried at the bound");
    }
    assert!(doc["decision"]["confidence"].as_str().unwrap().len() > 10);
    assert_eq!(
        doc["go_livepeer"][0],
        format!("-maxSessions {}", doc["decision"]["capacity_streams"])
    );
    let names: Vec<&str> = doc["limits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "compute",
            "nvenc_session_cap",
            "bandwidth",
            "memory",
            "gpu_memory",
            "max_sessions"
        ]
    );
    assert!(names.contains(&doc["binding_limit"].as_str().unwrap()));
    // The money at the searched capacity, and `rigbench economics --capacity` recomputing it.
    let searched = &doc["economics"]["capacity"]["source"];
    assert_eq!(searched["kind"], "searched", "{searched}");
    assert_eq!(searched["streams"], doc["decision"]["capacity_streams"]);
    let again = bin()
        .args(["economics", "--rig", rig, "--json", "--capacity"])
        .arg(out.join("capacity.json"))
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let econ: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(econ["capacity"], doc["economics"]["capacity"]);
    let wrong = bin()
        .args(["economics", "--rig", rig, "--capacity"])
        .arg(out.join("probes"))
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(2), "{}", stderr(&wrong));
    assert!(stderr(&wrong).contains("--capacity"));
    // Each probe is a run of its own, in its own folder.
    for p in doc["probes"].as_array().unwrap() {
        assert!(out
            .join(p["run_dir"].as_str().unwrap())
            .join("run.json")
            .is_file());
    }
}

#[test]
fn the_time_budget_keeps_finished_probes_and_names_the_cut_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cap");
    let started = Instant::now();
    // One probe at 1 session streams 6 segments of 2 s: about 12 s of a 16 s budget.
    let o = capacity(
        &[
            "--max-sessions",
            "64",
            "--probe-segments",
            "6",
            "--time-budget",
            "16",
        ],
        &out,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the budget bounds the search"
    );
    let doc = load(&out);
    assert_every_probe_in_csv(&doc, &out);
    if doc["partial"] == true {
        let cut = &doc["cut_probe"];
        assert!(
            cut["reason"].as_str().unwrap().contains("--time-budget"),
            "{cut}"
        );
        assert_eq!(doc["decision"]["lower_bound"], true);
        // A probe cut mid-way is kept, marked unfinished; finished ones keep their figures.
        for p in doc["probes"].as_array().unwrap() {
            assert_eq!(p["finished"] == true, p["note"].is_null(), "{p}");
        }
    } else {
        // Only when the first probe finished and failed (a machine too loaded for even one
        // stream of the tiny ladder): the search was over before the budget.
        assert_eq!(doc["decision"]["compute_streams"], 0, "{}", doc["decision"]);
        eprintln!(
            "note: the search ended (N = 0) before the budget; the SIGTERM test covers a cut probe"
        );
    }
}

#[test]
fn sigterm_keeps_finished_probes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cap");
    let mut child = bin()
        .args(QUICK)
        .args(["--probe-segments", "1", "--max-sessions", "64", "--out-dir"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Let it start a probe (the csv header appears once the search begins), then stop it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !out.join("capacity.csv").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "rigbench capacity ignored SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status.code(), Some(3), "interrupted searches exit 3");
    let doc = load(&out);
    assert_eq!(doc["partial"], true);
    assert!(doc["cut_probe"]["reason"]
        .as_str()
        .unwrap()
        .contains("SIGTERM"));
    assert_every_probe_in_csv(&doc, &out);
}

#[test]
fn bad_input_names_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never");
    let cases: &[(&[&str], &[&str])] = &[
        (&["--max-sessions", "0"], &["--max-sessions"]),
        (&["--probe-segments", "0"], &["--probe-segments"]),
        (&["--headroom", "0"], &["--headroom", "(0, 1]"]),
        (&["--headroom", "1.5"], &["--headroom"]),
        (&["--headroom", "NaN"], &["--headroom"]),
        (&["--max-repeats", "0"], &["--max-repeats"]),
        (&["--no-live"], &["--no-live", "run --no-live"]),
        (
            &["--concurrent-sessions", "3"],
            &["--concurrent-sessions", "rigbench run"],
        ),
        (&["--repeat", "2"], &["--repeat"]),
        (
            &["--time-budget", "2"],
            &["--time-budget", "one probe", "takes"],
        ),
        (&["--time-budget=-5"], &["--time-budget"]),
        (
            &["--in", "/nonexistent/clip.mp4"],
            &["/nonexistent/clip.mp4"],
        ),
    ];
    for (args, needles) in cases {
        let o = bin()
            .args(["capacity", "--out-dir"])
            .arg(&out)
            .args(*args)
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        for n in *needles {
            assert!(err.contains(n), "{args:?}: stderr should name {n:?}: {err}");
        }
    }
    assert!(!out.exists(), "bad input writes nothing");
}

#[test]
fn gpu_check_degrades_cleanly_without_a_gpu() {
    if rigbench::transcode::nvidia::nvml_driver_present() {
        crate::support::skip_optional(
            "gpu_check_degrades_cleanly_without_a_gpu",
            "an NVIDIA GPU is present: this test checks the no-GPU path",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/gpu-check"))
        .env("RIGBENCH", env!("CARGO_BIN_EXE_rigbench"))
        .env("GPU_CHECK_OUT", dir.path())
        .env("GPU_CHECK_QUICK", "1")
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let folders: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(folders.len(), 1, "{folders:?}");
    let name = folders[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with("gpu-check-") && name.ends_with("-no-gpu"),
        "{name}"
    );
    let summary = std::fs::read_to_string(folders[0].join("summary.md")).unwrap();
    for needle in [
        "nvidia: cannot run here",
        "hybrid: cannot run here",
        "no NVIDIA",
        "cpu: ok",
        "NVENC cap",
        "capacity: ok",
    ] {
        assert!(
            summary.contains(needle),
            "summary should say {needle:?}:\n{summary}"
        );
    }
    assert!(folders[0].join("probe.json").is_file());
    assert!(folders[0].join("capacity/capacity.json").is_file());
}

/// A 144p source at 2 Mbit/s with a keyframe every 2 s (noise and CBR filler keep the bitrate
/// up), 6 s long: cheap to transcode, heavy on the wire.
fn two_megabit_source(dir: &Path) -> Option<std::path::PathBuf> {
    let p = dir.join("noise-2mbps.mp4");
    let o = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=256x144:rate=30"])
        .args(["-vf", "noise=alls=30:allf=t", "-t", "6", "-c:v", "libx264"])
        .args([
            "-preset", "veryfast", "-b:v", "2M", "-minrate", "2M", "-maxrate", "2M",
        ])
        .args([
            "-bufsize",
            "1M",
            "-g",
            "60",
            "-keyint_min",
            "60",
            "-sc_threshold",
            "0",
        ])
        .args(["-x264-params", "nal-hrd=cbr"])
        .arg(&p)
        .output();
    match o {
        Ok(o) if o.status.success() => Some(p),
        Ok(o) => panic!("ffmpeg: {}", stderr(&o)),
        Err(_) => {
            crate::support::skip(
                "capacity_over_a_shaped_link",
                "the ffmpeg CLI is not installed (scripts/setup installs it)",
            );
            None
        }
    }
}

#[test]
fn capacity_over_a_shaped_link_names_bandwidth() {
    if rigbench::net::link::Link::create(1.0, 0.0).is_err() {
        crate::support::skip_optional(
            "capacity_over_a_shaped_link_names_bandwidth",
            "network namespaces are not available here (not root?)",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(source) = two_megabit_source(dir.path()) else {
        return;
    };
    // 2 Mbit/s streams on an 8 Mbit/s uplink: one alone uploads in about a quarter of its
    // duration, four fill the link; a 144p transcode of a 144p source costs a fraction of a
    // core, so the round trip fails on the wire first, even on a loaded machine.
    let out = dir.path().join("out");
    let o = bin()
        .args([
            "capacity",
            "--in",
            source.to_str().unwrap(),
            "--transcoding-options",
            "P144p30fps16x9",
            "--backend",
            "cpu",
            "--orchestrator",
            "self",
            "--link-mbps",
            "8",
            "--probe-segments",
            "2",
            "--max-sessions",
            "6",
            "--max-repeats",
            "1",
            "--quiet",
            "--out-dir",
            out.to_str().unwrap(),
        ])
        .output()
        .expect("rigbench runs");
    assert!(o.status.success(), "{}", stderr(&o));
    let doc = load(&out);
    assert_every_probe_in_csv(&doc, &out);
    assert_eq!(
        doc["settings"]["judged_on"],
        "round trip (upload + transcode + download)"
    );
    let limits = doc["limits"].as_array().unwrap();
    let by = |n: &str| limits.iter().find(|l| l["name"] == n).unwrap();
    assert_eq!(doc["binding_limit"], "bandwidth", "{:#}", doc["limits"]);
    // Measured (the round trip failed on the wire) or the arithmetic on the wire bytes, which is
    // lower when a short probe just over the link's rate still came back in time.
    let bw = by("bandwidth");
    assert!(
        [
            "measured over the shaped link",
            "shaped link rate, measured wire Mbps"
        ]
        .contains(&bw["source"].as_str().unwrap()),
        "{bw}"
    );
    // Six sessions need over 12 Mbit/s of an 8 Mbit/s link: the search saw the wire fail.
    let failed_on_the_wire = doc["probes"].as_array().unwrap().iter().any(|p| {
        p["finished"] == true && p["passed"] == false && p["network"]["transcode_passed"] == true
    });
    assert!(failed_on_the_wire, "{:#}", doc["probes"]);
    let n = doc["decision"]["capacity_streams"].as_u64().unwrap();
    assert!((1..=3).contains(&n), "capacity {n}: {:#}", doc["probes"]);
    // The transcode alone held at least one more session than the wire did.
    assert!(by("compute")["streams"].as_u64().unwrap() > n, "{limits:?}");
    for p in doc["probes"].as_array().unwrap() {
        if p["finished"] == true {
            let w = &p["network"];
            assert_eq!(w["link_mbps"], 8.0, "{p}");
            assert!(w["wire_mbps_up_per_stream"].as_f64().unwrap() > 1.5, "{p}");
        }
    }
    // The namespaces are gone.
    let ns = Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&ns.stdout).contains("rigbench-"));
}
