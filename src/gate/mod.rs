//! `rigbench gate`: does a candidate run regress against a baseline? For each metric it compares
//! the per-segment (or per-repeat) figures of both runs with the statistics of [`stats`]
//! (criterion's rule: significant at 95% *and* the whole 95% interval of the change beyond the
//! threshold), and writes the decision for people (text, Markdown for a pull-request comment)
//! and for CI systems (github-action-benchmark and Bencher BMF JSON).
//!
//! Baselines are kept by `rigbench run --save-baseline NAME` under `reports/baselines/NAME/`
//! ([`baseline`]). Two results are compared only when they measured the same thing: same source
//! (sha256), ladder (hash), backend and run shape, and the same host unless
//! `--allow-host-change` ([`comparability`]).

pub mod baseline;
pub mod stats;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::result::{RunResult, SegmentRecord};
use stats::{Interval, Sample, Strata};

/// Version of gate.json's layout.
pub const GATE_SCHEMA_VERSION: u32 = 1;
/// The default noise threshold, percent (this VM's runs vary by a few percent).
pub const DEFAULT_THRESHOLD_PERCENT: f64 = 5.0;
/// Significance level of the test.
pub const ALPHA: f64 = 0.05;

/// Why the gate cannot decide (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("{what} {path}: {message}")]
    Input {
        what: &'static str,
        path: String,
        message: String,
    },
    #[error("baseline {name:?} does not exist (looked for {path}); save one with `rigbench run --save-baseline {name}` or give --baseline PATH to a run folder")]
    NoBaseline { name: String, path: String },
    #[error("--threshold must be a percentage strictly between 0 and 100, got {0}")]
    Threshold(String),
    #[error("unknown --metric {0:?}; known metrics: {1}")]
    Metric(String, String),
    #[error("baseline {baseline} has schema version {b}, candidate {candidate} has {c}: rerun the older one with this rigbench")]
    Schema {
        baseline: String,
        candidate: String,
        b: u64,
        c: u64,
    },
    #[error("the results are not comparable: {}", .0.join("; "))]
    NotComparable(Vec<String>),
}

/// A run as the gate and `compare` read it: run.json, with segments.csv beside it.
#[derive(Debug, Clone)]
pub struct LoadedRun {
    /// The run.json path, for messages.
    pub origin: String,
    pub result: RunResult,
    /// segments.csv's rows; empty when the file is absent and not needed.
    pub segments: Vec<SegmentRecord>,
}

/// Finds run.json for PATH: the file itself, or `PATH/run.json` for a folder.
pub fn run_json_path(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join("run.json")
    } else {
        path.to_path_buf()
    }
}

/// Reads the `schema_version` of a JSON file, or says why it is not a rigbench result.
fn schema_of(
    what: &'static str,
    path: &Path,
) -> Result<(String, serde_json::Value, u64), GateError> {
    let shown = path.display().to_string();
    let input = |message: String| GateError::Input {
        what,
        path: shown.clone(),
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| {
        let folder = path
            .parent()
            .filter(|d| d.is_dir() && path.ends_with("run.json"));
        match folder {
            Some(d) if e.kind() == std::io::ErrorKind::NotFound => GateError::Input {
                what,
                path: d.display().to_string(),
                message: "is a folder with no run.json: give a run's out-dir or its run.json"
                    .into(),
            },
            _ => input(format!("cannot read it: {e}")),
        }
    })?;
    if meta.is_dir() {
        return Err(input("is a folder with no run.json".into()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| input(format!("cannot read it: {e}")))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| input(format!("is not a rigbench run.json (not JSON: {e})")))?;
    let version = value
        .get("schema_version")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| input("is not a rigbench run.json (no schema_version)".into()))?;
    if value.get("summary").is_none() || value.get("rigbench_version").is_none() {
        return Err(input("is not a rigbench run.json (no summary)".into()));
    }
    Ok((shown, value, version))
}

/// Loads a run for comparison: refuses a partial run, another schema version, garbage, and (when
/// `need_segments`) a missing or short segments.csv.
pub fn load_run(
    what: &'static str,
    path: &Path,
    need_segments: bool,
) -> Result<LoadedRun, GateError> {
    let json = run_json_path(path);
    let (shown, value, version) = schema_of(what, &json)?;
    let input = |message: String| GateError::Input {
        what,
        path: shown.clone(),
        message,
    };
    if version != u64::from(crate::result::SCHEMA_VERSION) {
        return Err(input(format!(
            "has schema version {version}, this rigbench reads {}: rerun it with this rigbench",
            crate::result::SCHEMA_VERSION
        )));
    }
    let result: RunResult = serde_json::from_value(value)
        .map_err(|e| input(format!("is not a complete rigbench run.json: {e}")))?;
    if result.partial {
        return Err(input(
            "is a partial result (the run was interrupted or failed): a partial result is never compared; rerun it to the end".into(),
        ));
    }
    let mut segments = Vec::new();
    if need_segments {
        let csv = json.with_file_name("segments.csv");
        segments = crate::report::csv::read(&csv).map_err(|e| GateError::Input {
            what,
            path: csv.display().to_string(),
            message: format!("cannot read the per-segment figures beside run.json: {e:#}"),
        })?;
        if segments.len() as u64 != result.summary.total_segments {
            return Err(GateError::Input {
                what,
                path: csv.display().to_string(),
                message: format!(
                    "has {} rows but run.json counts {} segments: the files do not belong together or one is truncated",
                    segments.len(),
                    result.summary.total_segments
                ),
            });
        }
    }
    Ok(LoadedRun {
        origin: shown,
        result,
        segments,
    })
}

/// The two schema versions, checked before anything else so the message names both files.
pub fn check_schemas(baseline: &Path, candidate: &Path) -> Result<(), GateError> {
    let (bs, _, b) = schema_of("baseline", &run_json_path(baseline))?;
    let (cs, _, c) = schema_of("candidate", &run_json_path(candidate))?;
    if b != c {
        return Err(GateError::Schema {
            baseline: bs,
            candidate: cs,
            b,
            c,
        });
    }
    Ok(())
}

/// Where `--baseline NAME|PATH` points: an existing path, else `reports/baselines/NAME/`.
pub fn resolve_baseline(arg: &str, baselines_dir: &Path) -> Result<PathBuf, GateError> {
    let as_path = Path::new(arg);
    if as_path.exists() {
        return Ok(as_path.to_path_buf());
    }
    if baseline::valid_name(arg).is_ok() {
        let dir = baselines_dir.join(arg);
        if dir.join("run.json").is_file() {
            return Ok(dir);
        }
        return Err(GateError::NoBaseline {
            name: arg.to_string(),
            path: dir.display().to_string(),
        });
    }
    Err(GateError::Input {
        what: "baseline",
        path: arg.to_string(),
        message: "does not exist".into(),
    })
}

/// What differs between two results that must match to be compared, in words; empty when they
/// are comparable. `host` adds the machine (CPU model, cores online, GPUs, driver).
pub fn comparability(a: &RunResult, b: &RunResult, host: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut differ = |what: &str, x: String, y: String| {
        if x != y {
            out.push(format!("{what} differs ({x} vs {y})"));
        }
    };
    let fa = &a.fingerprint;
    let fb = &b.fingerprint;
    match (&fa.source_sha256, &fb.source_sha256) {
        (Some(x), Some(y)) => differ("source (sha256)", short(x), short(y)),
        _ => differ(
            "source (path, bytes; no sha256 recorded)",
            format!("{}, {} B", a.source.path, a.source.size_bytes),
            format!("{}, {} B", b.source.path, b.source.size_bytes),
        ),
    }
    let ladder = |r: &RunResult| {
        if r.fingerprint.ladder_sha256.is_empty() {
            crate::result::ladder_sha256(&r.ladder)
        } else {
            r.fingerprint.ladder_sha256.clone()
        }
    };
    differ("ladder (hash)", short(&ladder(a)), short(&ladder(b)));
    differ("backend", a.backend.used.clone(), b.backend.used.clone());
    differ(
        "encoders",
        a.backend.encoders.join(","),
        b.backend.encoders.join(","),
    );
    let s = |r: &RunResult| {
        format!(
            "{} sessions, segs {}, loop {}, {}, {} s segments",
            r.sessions.concurrent_sessions,
            r.sessions.segs_limit,
            r.sessions.loops,
            if r.sessions.live { "live" } else { "no-live" },
            r.sessions.segment_seconds
        )
    };
    differ("run shape", s(a), s(b));
    if host {
        let h = |r: &RunResult| {
            let gpus: Vec<String> = r.host.gpus.iter().filter_map(|g| g.name.clone()).collect();
            format!(
                "{}, {} cores online, GPUs [{}], driver {}",
                r.host.cpu_model.as_deref().unwrap_or("unknown CPU"),
                r.host
                    .cpu_cores_online
                    .map_or("?".into(), |c| c.to_string()),
                gpus.join(", "),
                r.host.nvidia_driver_version.as_deref().unwrap_or("none")
            )
        };
        differ("host", h(a), h(b));
    }
    out
}

/// What differs in the work two results did, the source and the ladder, in words; empty when
/// they did the same work. This is the one rule `rigbench compare` and `rigbench merge` apply:
/// the rig (backend, encoders, hardware, run shape) may differ, since that is what they compare.
pub fn work_differences(a: &RunResult, b: &RunResult) -> Vec<String> {
    comparability(a, b, false)
        .into_iter()
        .filter(|d| d.starts_with("source") || d.starts_with("ladder"))
        .collect()
}

fn short(hash: &str) -> String {
    hash.chars().take(12).collect()
}

/// Which way is better for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    SmallerIsBetter,
    BiggerIsBetter,
}

/// What a metric's samples are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Over {
    /// One value per transcoded segment (all sessions, all repeats), stratified by source
    /// segment.
    Segments,
    /// One value per `--repeat`.
    Repeats,
}

/// A metric the gate knows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metric {
    pub name: &'static str,
    pub unit: &'static str,
    pub direction: Direction,
    pub over: Over,
    pub about: &'static str,
}

/// Every metric, in report order; all are gated by default.
pub const METRICS: &[Metric] = &[
    Metric {
        name: "transcode_time",
        unit: "seconds",
        direction: Direction::SmallerIsBetter,
        over: Over::Segments,
        about: "per-segment transcode time (all renditions)",
    },
    Metric {
        name: "realtime_duration_ratio",
        unit: "ratio",
        direction: Direction::SmallerIsBetter,
        over: Over::Segments,
        about: "per-segment transcode time over segment duration",
    },
    Metric {
        name: "throughput_x",
        unit: "x real time",
        direction: Direction::BiggerIsBetter,
        over: Over::Repeats,
        about: "source seconds per wall-clock second, per repeat",
    },
    Metric {
        name: "output_pixels_per_second",
        unit: "pixels/s",
        direction: Direction::BiggerIsBetter,
        over: Over::Repeats,
        about: "output pixels per wall-clock second, per repeat",
    },
];

/// Parses `--metric` values (comma-separated or repeated); empty = every metric.
pub fn select_metrics(names: &[String]) -> Result<Vec<Metric>, GateError> {
    if names.is_empty() {
        return Ok(METRICS.to_vec());
    }
    let mut out: Vec<Metric> = Vec::new();
    for n in names.iter().flat_map(|n| n.split(',')).map(str::trim) {
        let m = METRICS.iter().find(|m| m.name == n).ok_or_else(|| {
            GateError::Metric(
                n.to_string(),
                METRICS
                    .iter()
                    .map(|m| m.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })?;
        if !out.contains(m) {
            out.push(*m);
        }
    }
    Ok(out)
}

/// Validates `--threshold` (percent, strictly between 0 and 100).
pub fn parse_threshold(s: &str) -> Result<f64, GateError> {
    match s.trim().trim_end_matches('%').parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v < 100.0 => Ok(v),
        _ => Err(GateError::Threshold(s.to_string())),
    }
}

/// A metric's samples from one run: one cluster per repeat (of one value for per-repeat
/// metrics; of the repeat's rows, by source segment, for per-segment ones).
pub fn samples(metric: &Metric, run: &LoadedRun) -> Sample {
    match metric.over {
        Over::Repeats => Sample::per_cluster(
            run.result
                .repeats
                .iter()
                .filter(|s| s.total_segments > 0)
                .map(|s| match metric.name {
                    "throughput_x" => s.throughput_x,
                    "output_pixels_per_second" => s.output_pixels_per_second,
                    _ => f64::NAN,
                })
                .filter(|v| v.is_finite())
                .collect(),
        ),
        Over::Segments => {
            let mut by: BTreeMap<u32, BTreeMap<u32, Vec<f64>>> = BTreeMap::new();
            let n = run.result.source.segment_count.max(1);
            for r in &run.segments {
                let v = match metric.name {
                    "transcode_time" => r.transcode_time,
                    "realtime_duration_ratio" if r.seg_dur > 0.0 => r.transcode_time / r.seg_dur,
                    _ => f64::NAN,
                };
                if v.is_finite() {
                    by.entry(r.repeat)
                        .or_default()
                        .entry(r.segment % n)
                        .or_default()
                        .push(v);
                }
            }
            Sample(
                by.into_values()
                    .map(|strata| Strata(strata.into_values().collect()))
                    .collect(),
            )
        }
    }
}

/// The gate's decision for one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Significant and the whole interval beyond the threshold on the worse side.
    Regressed,
    /// Significant and the whole interval beyond the threshold on the better side.
    Improved,
    /// Not significant, or the interval reaches inside the threshold.
    NoChange,
    /// Not enough samples to decide (it does not fail the gate).
    Undecided { reason: String },
}

impl Decision {
    pub fn word(&self) -> String {
        match self {
            Decision::Regressed => "REGRESSED".into(),
            Decision::Improved => "improved".into(),
            Decision::NoChange => "no change".into(),
            Decision::Undecided { reason } => format!("undecided ({reason})"),
        }
    }
}

/// One metric's comparison, as gate.json records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricOutcome {
    pub metric: String,
    pub unit: String,
    pub direction: Direction,
    pub over: Over,
    pub baseline_mean: Option<f64>,
    pub baseline_samples: usize,
    /// The candidate's mean with its 95% bootstrap interval.
    pub candidate: Option<Interval>,
    pub candidate_samples: usize,
    /// Relative change of the mean, candidate over baseline, percent, with its 95% interval.
    pub change_percent: Option<Interval>,
    /// Welch's two-sided p-value.
    pub p_value: Option<f64>,
    pub decision: Decision,
}

/// gate.json: the whole decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateReport {
    pub schema_version: u32,
    pub baseline: String,
    pub candidate: String,
    pub threshold_percent: f64,
    pub alpha: f64,
    pub metrics: Vec<MetricOutcome>,
    /// True when any metric regressed (exit 1).
    pub regressed: bool,
    /// What differs but was allowed (host with --allow-host-change, CPUs the process could use,
    /// rigbench version), and anything else worth knowing.
    pub notes: Vec<String>,
}

/// Decides one metric.
pub fn decide(
    metric: &Metric,
    base: &Sample,
    cand: &Sample,
    threshold_percent: f64,
) -> MetricOutcome {
    let (bf, cf) = (base.flat(), cand.flat());
    let change = stats::relative_change(base, cand).map(|i| Interval {
        estimate: i.estimate * 100.0,
        lower: i.lower * 100.0,
        upper: i.upper * 100.0,
    });
    // The question is a ratio (the change relative to the baseline), and spread grows with the
    // level: test the logarithms, where a slowdown by a factor is a shift.
    let log = |v: Vec<f64>| -> Vec<f64> {
        if v.iter().all(|x| *x > 0.0) {
            v.iter().map(|x| x.ln()).collect()
        } else {
            v
        }
    };
    let welch = stats::welch(&log(base.test_values()), &log(cand.test_values()));
    let need = match metric.over {
        Over::Repeats => "repeats (run with --repeat 3 or more)",
        Over::Segments => "segments",
    };
    let decision = match (&change, &welch) {
        _ if bf.len() < 2 || cf.len() < 2 => Decision::Undecided {
            reason: format!("{} and {} {need}; 2 a side at least", bf.len(), cf.len()),
        },
        (Some(c), Some(w)) => {
            let significant = w.p < ALPHA;
            let (worse_beyond, better_beyond) = match metric.direction {
                Direction::SmallerIsBetter => {
                    (c.lower > threshold_percent, c.upper < -threshold_percent)
                }
                Direction::BiggerIsBetter => {
                    (c.upper < -threshold_percent, c.lower > threshold_percent)
                }
            };
            if significant && worse_beyond {
                Decision::Regressed
            } else if significant && better_beyond {
                Decision::Improved
            } else {
                Decision::NoChange
            }
        }
        _ => Decision::Undecided {
            reason: "the baseline mean is zero or not finite".into(),
        },
    };
    MetricOutcome {
        metric: metric.name.to_string(),
        unit: metric.unit.to_string(),
        direction: metric.direction,
        over: metric.over,
        baseline_mean: (!bf.is_empty()).then(|| stats::mean(&bf)),
        baseline_samples: bf.len(),
        candidate: stats::mean_interval(cand),
        candidate_samples: cf.len(),
        change_percent: change,
        p_value: welch.map(|w| w.p),
        decision,
    }
}

/// What `rigbench gate` was asked.
#[derive(Debug, Clone)]
pub struct GateConfig {
    pub baseline: PathBuf,
    pub candidate: PathBuf,
    pub threshold_percent: f64,
    pub metrics: Vec<Metric>,
    pub allow_host_change: bool,
}

/// Loads both runs, checks they are comparable, and decides every metric.
pub fn run_gate(cfg: &GateConfig) -> Result<GateReport, GateError> {
    check_schemas(&cfg.baseline, &cfg.candidate)?;
    let base = load_run("baseline", &cfg.baseline, true)?;
    let cand = load_run("candidate", &cfg.candidate, true)?;
    let differs = comparability(&base.result, &cand.result, !cfg.allow_host_change);
    if !differs.is_empty() {
        return Err(GateError::NotComparable(differs));
    }
    let mut notes = Vec::new();
    if cfg.allow_host_change {
        notes.extend(
            comparability(&base.result, &cand.result, true)
                .into_iter()
                .map(|d| format!("allowed by --allow-host-change: {d}")),
        );
    }
    let (bc, cc) = (
        base.result.host.logical_cores,
        cand.result.host.logical_cores,
    );
    if bc != cc {
        notes.push(format!(
            "the runs could use different numbers of CPUs (baseline {}, candidate {}; taskset or a cgroup limit)",
            bc.map_or("?".into(), |c| c.to_string()),
            cc.map_or("?".into(), |c| c.to_string())
        ));
    }
    let (bv, cv) = (&base.result.fingerprint, &cand.result.fingerprint);
    if (bv.rigbench_version.as_str(), bv.git_commit.as_str())
        != (cv.rigbench_version.as_str(), cv.git_commit.as_str())
    {
        notes.push(format!(
            "rigbench {} ({}) vs {} ({})",
            bv.rigbench_version, bv.git_commit, cv.rigbench_version, cv.git_commit
        ));
    }
    let metrics: Vec<MetricOutcome> = cfg
        .metrics
        .iter()
        .map(|m| {
            decide(
                m,
                &samples(m, &base),
                &samples(m, &cand),
                cfg.threshold_percent,
            )
        })
        .collect();
    Ok(GateReport {
        schema_version: GATE_SCHEMA_VERSION,
        baseline: base.origin,
        candidate: cand.origin,
        threshold_percent: cfg.threshold_percent,
        alpha: ALPHA,
        regressed: metrics.iter().any(|m| m.decision == Decision::Regressed),
        metrics,
        notes,
    })
}

fn fmt_value(v: Option<f64>) -> String {
    match v {
        Some(v) if v.abs() >= 1e5 => format!("{v:.4e}"),
        Some(v) => format!("{v:.4}"),
        None => "n/a".into(),
    }
}

fn fmt_change(c: &Option<Interval>) -> String {
    match c {
        Some(c) => format!("{:+.2}% [{:+.2}%, {:+.2}%]", c.estimate, c.lower, c.upper),
        None => "n/a".into(),
    }
}

/// The rows every text form shares: metric, baseline, candidate, change [95% CI], p, decision.
fn table_rows(r: &GateReport) -> Vec<[String; 6]> {
    r.metrics
        .iter()
        .map(|m| {
            [
                format!("{} ({})", m.metric, m.unit),
                format!("{} (n={})", fmt_value(m.baseline_mean), m.baseline_samples),
                format!(
                    "{} (n={})",
                    fmt_value(m.candidate.map(|c| c.estimate)),
                    m.candidate_samples
                ),
                fmt_change(&m.change_percent),
                m.p_value.map_or("n/a".into(), |p| format!("{p:.3}")),
                m.decision.word(),
            ]
        })
        .collect()
}

const HEADER: [&str; 6] = [
    "metric",
    "baseline",
    "candidate",
    "change [95% CI]",
    "p",
    "decision",
];

/// The verdict line.
pub fn verdict(r: &GateReport) -> String {
    let n = r
        .metrics
        .iter()
        .filter(|m| m.decision == Decision::Regressed)
        .count();
    if r.regressed {
        format!(
            "FAIL: {n} of {} metrics regressed beyond {}% (95% confidence)",
            r.metrics.len(),
            r.threshold_percent
        )
    } else {
        format!(
            "PASS: no metric regressed beyond {}% (95% confidence)",
            r.threshold_percent
        )
    }
}

/// The terminal text.
pub fn text(r: &GateReport) -> String {
    let rows = table_rows(r);
    let mut w = HEADER.map(|h| h.chars().count());
    for row in &rows {
        for (k, c) in row.iter().enumerate() {
            w[k] = w[k].max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (k, c) in cells.iter().enumerate() {
            s.push_str(&format!("{c:<width$}  ", width = w[k]));
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = format!("baseline:  {}\ncandidate: {}\n\n", r.baseline, r.candidate);
    out.push_str(&line(&HEADER.map(String::from)));
    for row in &rows {
        out.push_str(&line(row));
    }
    for n in &r.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out.push_str(&verdict(r));
    out.push('\n');
    out
}

/// A Markdown summary fit for a pull-request comment.
pub fn markdown(r: &GateReport) -> String {
    let esc = |s: &str| s.replace('|', "\\|");
    let mut out = format!(
        "### rigbench gate: {}\n\nBaseline `{}`, candidate `{}`; threshold {}%, significance {}.\n\n| {} |\n|{}|\n",
        verdict(r),
        r.baseline,
        r.candidate,
        r.threshold_percent,
        r.alpha,
        HEADER.join(" | "),
        "---|".repeat(HEADER.len())
    );
    for row in table_rows(r) {
        let cells: Vec<String> = row.iter().map(|c| esc(c)).collect();
        let mut cells = cells;
        if cells[5] == "REGRESSED" {
            cells[5] = "**REGRESSED**".into();
        }
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    if !r.notes.is_empty() {
        out.push('\n');
        for n in &r.notes {
            out.push_str(&format!("- {}\n", esc(n)));
        }
    }
    out
}

/// github-action-benchmark's input (`customSmallerIsBetter` or `customBiggerIsBetter`): the
/// candidate's metrics that go the given way.
pub fn github_action_benchmark(r: &GateReport, direction: Direction) -> serde_json::Value {
    let items: Vec<serde_json::Value> = r
        .metrics
        .iter()
        .filter(|m| m.direction == direction)
        .filter_map(|m| {
            let c = m.candidate?;
            Some(serde_json::json!({
                "name": m.metric,
                "unit": m.unit,
                "value": c.estimate,
                "range": format!("95% CI {:.6}..{:.6}", c.lower, c.upper),
                "extra": format!(
                    "n={} {}; change vs baseline {}; {}",
                    m.candidate_samples,
                    match m.over { Over::Segments => "segments", Over::Repeats => "repeats" },
                    fmt_change(&m.change_percent),
                    m.decision.word()
                ),
            }))
        })
        .collect();
    serde_json::Value::Array(items)
}

/// Bencher Metric Format: `{benchmark: {measure: {value, lower_value, upper_value}}}`, the
/// candidate's means with their 95% intervals; the benchmark is named by source and run shape.
pub fn bencher_bmf(r: &GateReport, candidate: &RunResult) -> serde_json::Value {
    let source = Path::new(&candidate.source.path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| candidate.source.path.clone());
    let bench = format!(
        "rigbench/{source}/{}-sessions/{}",
        candidate.sessions.concurrent_sessions, candidate.backend.used
    );
    let mut measures = serde_json::Map::new();
    for m in &r.metrics {
        if let Some(c) = m.candidate {
            measures.insert(
                m.metric.replace('_', "-"),
                serde_json::json!({"value": c.estimate, "lower_value": c.lower, "upper_value": c.upper}),
            );
        }
    }
    let mut top = serde_json::Map::new();
    top.insert(bench, serde_json::Value::Object(measures));
    serde_json::Value::Object(top)
}

/// Writes gate.json, gate.md, github-smaller.json, github-bigger.json and bencher.json into
/// `dir`; returns the paths written.
pub fn write_outputs(
    dir: &Path,
    r: &GateReport,
    candidate: &RunResult,
) -> anyhow::Result<Vec<PathBuf>> {
    use anyhow::Context;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create --out-dir {}", dir.display()))?;
    let pretty = |v: &serde_json::Value| {
        let mut b = serde_json::to_vec_pretty(v).unwrap_or_default();
        b.push(b'\n');
        b
    };
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("gate.json", pretty(&serde_json::to_value(r)?)),
        ("gate.md", markdown(r).into_bytes()),
        (
            "github-smaller.json",
            pretty(&github_action_benchmark(r, Direction::SmallerIsBetter)),
        ),
        (
            "github-bigger.json",
            pretty(&github_action_benchmark(r, Direction::BiggerIsBetter)),
        ),
        ("bencher.json", pretty(&bencher_bmf(r, candidate))),
    ];
    let mut written = Vec::new();
    for (name, bytes) in files {
        let path = dir.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        for (s, ok) in [
            ("5", Some(5.0)),
            ("0.5", Some(0.5)),
            ("10%", Some(10.0)),
            ("0", None),
            ("100", None),
            ("-1", None),
            ("nan", None),
            ("inf", None),
            ("abc", None),
            ("", None),
        ] {
            assert_eq!(parse_threshold(s).ok(), ok, "{s:?}");
        }
    }

    #[test]
    fn metric_selection() {
        assert_eq!(select_metrics(&[]).unwrap().len(), METRICS.len());
        let m =
            select_metrics(&["throughput_x,transcode_time".into(), "throughput_x".into()]).unwrap();
        assert_eq!(
            m.iter().map(|m| m.name).collect::<Vec<_>>(),
            ["throughput_x", "transcode_time"]
        );
        assert!(select_metrics(&["fps".into()]).is_err());
    }

    fn strata(v: &[f64]) -> Sample {
        Sample::single(v.to_vec())
    }

    #[test]
    fn decisions_follow_criterion() {
        let tt = METRICS[0]; // smaller is better
        let tp = METRICS[2]; // bigger is better
        let base = [1.00, 1.02, 0.98, 1.01, 0.99, 1.00, 1.03, 0.97];
        let slow: Vec<f64> = base.iter().map(|v| v * 2.0).collect();
        let fast: Vec<f64> = base.iter().map(|v| v * 0.5).collect();
        let nudge: Vec<f64> = base.iter().map(|v| v * 1.02).collect();
        let cases: Vec<(Metric, &[f64], Decision)> = vec![
            (tt, &base, Decision::NoChange),
            (tt, &slow, Decision::Regressed),
            (tt, &fast, Decision::Improved),
            // Significant but inside the 5% threshold: not a regression.
            (tt, &nudge, Decision::NoChange),
            (tp, &slow, Decision::Improved),
            (tp, &fast, Decision::Regressed),
        ];
        for (m, cand, want) in cases {
            let got = decide(&m, &strata(&base), &strata(cand), 5.0);
            assert_eq!(got.decision, want, "{} {:?}", m.name, got.change_percent);
        }
        let one = decide(&tp, &strata(&[1.0]), &strata(&[0.5]), 5.0);
        assert!(
            matches!(one.decision, Decision::Undecided { .. }),
            "{one:?}"
        );
    }

    #[test]
    fn outputs_have_the_ci_formats() {
        let base = [1.0, 1.1, 0.9, 1.0];
        let r = GateReport {
            schema_version: GATE_SCHEMA_VERSION,
            baseline: "b/run.json".into(),
            candidate: "c/run.json".into(),
            threshold_percent: 5.0,
            alpha: ALPHA,
            metrics: vec![
                decide(&METRICS[0], &strata(&base), &strata(&base), 5.0),
                decide(&METRICS[2], &strata(&base), &strata(&base), 5.0),
            ],
            regressed: false,
            notes: vec!["a | note".into()],
        };
        let md = markdown(&r);
        assert!(md.starts_with("### rigbench gate: PASS"), "{md}");
        assert!(md.contains("| metric | baseline | candidate | change [95% CI] | p | decision |"));
        assert!(md.contains("a \\| note"));
        let small = github_action_benchmark(&r, Direction::SmallerIsBetter);
        assert_eq!(small.as_array().unwrap().len(), 1);
        assert_eq!(small[0]["name"], "transcode_time");
        assert_eq!(small[0]["unit"], "seconds");
        let big = github_action_benchmark(&r, Direction::BiggerIsBetter);
        assert_eq!(big[0]["name"], "throughput_x");
        assert!(text(&r).contains("PASS"));
    }
}
