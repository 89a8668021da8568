//! `rigbench gate` on the real binary: a run against its own saved baseline passes; the same run
//! made twice as slow fails with exit 1; every bad input of issue 11 exits 2 naming the file or
//! flag. The slowed candidates are edited copies of a real run (the real `taskset -c 0` check is
//! scripts/gate-check, too slow for a test).

use std::path::{Path, PathBuf};
use std::process::Output;

use super::html::{bin_in, shared_run};

/// Copies a run's run.json and segments.csv into `dir`, editing both on the way.
pub fn edited_copy(
    from: &Path,
    dir: &Path,
    json: impl Fn(&mut serde_json::Value),
    transcode_scale: f64,
) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(from.join("run.json")).unwrap()).unwrap();
    json(&mut v);
    std::fs::write(dir.join("run.json"), serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    let csv = std::fs::read_to_string(from.join("segments.csv")).unwrap();
    let mut out = String::new();
    for (i, line) in csv.lines().enumerate() {
        if i == 0 {
            out.push_str(line);
        } else {
            let mut cells: Vec<String> = line.split(',').map(String::from).collect();
            let t: f64 = cells[4].parse().unwrap();
            cells[4] = format!("{:.4}", t * transcode_scale);
            out.push_str(&cells.join(","));
        }
        out.push('\n');
    }
    std::fs::write(dir.join("segments.csv"), out).unwrap();
    dir.to_path_buf()
}

fn gate(cwd: &Path, args: &[&str]) -> Output {
    bin_in(cwd)
        .arg("gate")
        .args(args)
        .output()
        .expect("rigbench runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn slower(v: &mut serde_json::Value, factor: f64) {
    for r in v["repeats"].as_array_mut().unwrap() {
        for k in ["throughput_x", "output_pixels_per_second"] {
            let x = r[k].as_f64().unwrap();
            r[k] = serde_json::json!(x / factor);
        }
    }
}

#[test]
fn gate_passes_itself_fails_a_slowed_copy_and_writes_ci_files() {
    let run = shared_run();
    let cwd = &run.cwd;
    assert!(cwd.join("reports/baselines/shared/run.json").is_file());
    assert!(cwd.join("reports/baselines/shared/segments.csv").is_file());
    assert!(cwd.join("reports/baselines/shared/baseline.json").is_file());
    let cand = run.out.to_str().unwrap();

    let ci = cwd.join("ci");
    let o = gate(
        cwd,
        &[
            "--baseline",
            "shared",
            "--candidate",
            cand,
            "--out-dir",
            ci.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("PASS"), "{}", text(&o));
    let md = std::fs::read_to_string(ci.join("gate.md")).unwrap();
    assert!(md.contains("| metric | baseline | candidate | change [95% CI] | p | decision |"));
    let small: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ci.join("github-smaller.json")).unwrap()).unwrap();
    assert!(small
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["name"].is_string() && m["unit"].is_string() && m["value"].is_number()));
    let bmf: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ci.join("bencher.json")).unwrap()).unwrap();
    let (_, measures) = bmf.as_object().unwrap().iter().next().unwrap();
    let tt = &measures["transcode-time"];
    assert!(tt["lower_value"].as_f64().unwrap() <= tt["value"].as_f64().unwrap());
    assert!(tt["upper_value"].as_f64().unwrap() >= tt["value"].as_f64().unwrap());

    let slow = edited_copy(&run.out, &cwd.join("slow"), |v| slower(v, 5.0), 5.0);
    let o = gate(
        cwd,
        &[
            "--baseline",
            "shared",
            "--candidate",
            slow.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("REGRESSED"), "{}", text(&o));
    // Within a generous threshold the same slowdown is not a regression.
    let o = gate(
        cwd,
        &[
            "--baseline",
            "shared",
            "--candidate",
            slow.to_str().unwrap(),
            "--threshold",
            "99",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // A baseline given as a path works the same.
    let o = gate(
        cwd,
        &[
            "--baseline",
            run.out.to_str().unwrap(),
            "--candidate",
            slow.to_str().unwrap(),
            "--metric",
            "transcode_time",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

#[test]
fn gate_bad_input_exits_2_naming_it() {
    let run = shared_run();
    let cwd = &run.cwd;
    let cand = run.out.to_str().unwrap();
    let partial = edited_copy(
        &run.out,
        &cwd.join("partial"),
        |v| v["partial"] = true.into(),
        1.0,
    );
    let schema = edited_copy(
        &run.out,
        &cwd.join("schema"),
        |v| v["schema_version"] = 99.into(),
        1.0,
    );
    let ladder = edited_copy(
        &run.out,
        &cwd.join("ladder"),
        |v| v["fingerprint"]["ladder_sha256"] = "ff00".into(),
        1.0,
    );
    let host = edited_copy(
        &run.out,
        &cwd.join("host"),
        |v| v["host"]["cpu_model"] = "Another CPU".into(),
        1.0,
    );
    let garbage = cwd.join("garbage.json");
    std::fs::write(&garbage, "not json").unwrap();
    let foreign = cwd.join("foreign.json");
    std::fs::write(&foreign, "{\"schema_version\": 1, \"hello\": 2}").unwrap();
    let short = edited_copy(&run.out, &cwd.join("short"), |_| {}, 1.0);
    let csv = std::fs::read_to_string(short.join("segments.csv")).unwrap();
    let cut: Vec<&str> = csv.lines().take(2).collect();
    std::fs::write(short.join("segments.csv"), cut.join("\n") + "\n").unwrap();
    let empty_dir = cwd.join("empty");
    std::fs::create_dir_all(&empty_dir).unwrap();

    let p = |p: &Path| p.to_str().unwrap().to_string();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--baseline".into(),
                "nosuch".into(),
                "--candidate".into(),
                cand.into(),
            ],
            "baseline \"nosuch\" does not exist",
        ),
        (
            vec![
                "--baseline".into(),
                "shared".into(),
                "--candidate".into(),
                p(&partial),
            ],
            "partial",
        ),
        (
            vec![
                "--baseline".into(),
                "shared".into(),
                "--candidate".into(),
                p(&schema),
            ],
            "schema version",
        ),
        (
            vec![
                "--baseline".into(),
                "shared".into(),
                "--candidate".into(),
                p(&garbage),
            ],
            "garbage.json",
        ),
        (
            vec![
                "--baseline".into(),
                "shared".into(),
                "--candidate".into(),
                p(&foreign),
            ],
            "not a rigbench run.json",
        ),
        (
            vec![
                "--baseline".into(),
                "shared".into(),
                "--candidate".into(),
                p(&short),
            ],
            "segments.csv",
        ),
        (
            vec![
                "--baseline".into(),
                "shared".into(),
                "--candidate".into(),
                p(&empty_dir),
            ],
            "no run.json",
        ),
        (
            vec![
                "--baseline".into(),
                "shared".into(),
                "--candidate".into(),
                p(&ladder),
            ],
            "ladder",
        ),
        (
            vec![
                "--baseline".into(),
                "shared".into(),
                "--candidate".into(),
                p(&host),
            ],
            "host differs",
        ),
        (
            vec![
                "--baseline".into(),
                "shared".into(),
                "--candidate".into(),
                cand.into(),
                "--threshold".into(),
                "0".into(),
            ],
            "--threshold",
        ),
        (
            vec![
                "--baseline".into(),
                "shared".into(),
                "--candidate".into(),
                cand.into(),
                "--threshold".into(),
                "100".into(),
            ],
            "--threshold",
        ),
        (
            vec![
                "--baseline".into(),
                "shared".into(),
                "--candidate".into(),
                cand.into(),
                "--threshold=-3".into(),
            ],
            "--threshold",
        ),
        (
            vec![
                "--baseline".into(),
                "shared".into(),
                "--candidate".into(),
                cand.into(),
                "--threshold".into(),
                "abc".into(),
            ],
            "--threshold",
        ),
        (
            vec![
                "--baseline".into(),
                "shared".into(),
                "--candidate".into(),
                cand.into(),
                "--metric".into(),
                "speed".into(),
            ],
            "--metric",
        ),
    ];
    for (args, want) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = gate(cwd, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains(want),
            "{args:?}: wanted {want:?} in {}",
            text(&o)
        );
    }
    // The host check yields to --allow-host-change, and says so.
    let o = gate(
        cwd,
        &[
            "--baseline",
            "shared",
            "--candidate",
            &p(&host),
            "--allow-host-change",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("allowed by --allow-host-change"));
}

#[test]
fn save_baseline_refuses_unsafe_names() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["../escape", "a/b", "", ".."] {
        let o = bin_in(dir.path())
            .args(["run", "--save-baseline", bad, "--no-payments"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", text(&o));
        assert!(text(&o).contains("--save-baseline"), "{}", text(&o));
    }
    assert!(!dir.path().join("escape").exists());
}
