//! Fleet merge: many nodes' results (one folder per node, as the Slurm and Kubernetes tasks
//! write them) into one [`FleetResult`]: one row per node, groups of identical hardware with
//! their spread, and fleet totals. Nodes whose runs failed or were partial are listed with the
//! reason and kept out of the totals, never dropped.
//!
//! ## Method
//! - **Comparable results only**: every node must have measured the same source (every probed
//!   field but its path, which differs from node to node) and the same ladder, as `rigbench
//!   compare` requires; otherwise the merge refuses, naming the folder and the fields.
//! - **Per node**, capacity, watts and money are the node's own economics (its run with `--rig`),
//!   or the economics of `--rig FILE` applied to every node. The capacity is the economics'
//!   `streams_sustained` (Livepeer's real-time ratio ≤ 0.8 method), which is also the
//!   `-maxSessions` to give that node's go-livepeer.
//! - **Groups**: nodes with the same CPU model, core count, GPUs and backend are one hardware
//!   kind; each figure is given as n, min, mean, max and the relative range (max − min) / mean,
//!   the spread an operator sees between machines that should be alike.
//! - **Totals** add the complete nodes only. A total is unknown (not a partial sum) when a
//!   complete node lacks that figure; the nodes left out are named.

pub mod load;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::economics::{CapacityMethod, Economics, PowerStatus, Rig};
use crate::ingest::SourceInfo;
use crate::result::RunResult;
use crate::transcode::ladder::Profile;
pub use load::{CapacityNode, NodeInput, TaskMarker};

/// Version of fleet.json's layout; bumped whenever a field changes meaning or disappears.
pub const FLEET_SCHEMA_VERSION: u32 = 1;

/// Why a merge could not be made. Every one is an input error (exit 2) naming the folder.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error(
        "no node folders given: pass one result folder per node (e.g. results/<job id>/task-*/)"
    )]
    NoInputs,
    #[error("{folder} is not a folder: give one result folder per node, each holding a run.json")]
    NotAFolder { folder: String },
    #[error(
        "{folder} holds no result (no run.json and no task.json): is it a node's result folder?"
    )]
    NoResult { folder: String },
    #[error("{folder}: cannot read {file}: {message}")]
    Unreadable {
        folder: String,
        file: &'static str,
        message: String,
    },
    #[error("{folder}: {message}")]
    BadRun { folder: String, message: String },
    #[error("{folder}: task.json is not a rigbench task marker: {message}")]
    BadTask { folder: String, message: String },
    #[error("{folder} was given twice")]
    Duplicate { folder: String },
    #[error(
        "{folder} is not comparable with {first}: different {what} ({detail}); merge only results of the same source and ladder"
    )]
    NotComparable {
        folder: String,
        first: String,
        what: &'static str,
        detail: String,
    },
    #[error("{folder}: {message}")]
    Economics { folder: String, message: String },
}

/// How a node's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeStatus {
    /// A complete run whose renditions all validated.
    Ok,
    /// The run was interrupted or failed midway: its figures cover only what finished.
    Partial,
    /// The run finished but some renditions failed the broadcaster's checks.
    Invalid,
    /// The run failed: no result, or rigbench exited with an error.
    Failed,
}

impl NodeStatus {
    pub fn label(self) -> &'static str {
        match self {
            NodeStatus::Ok => "ok",
            NodeStatus::Partial => "partial",
            NodeStatus::Invalid => "invalid renditions",
            NodeStatus::Failed => "failed",
        }
    }
}

/// One node of the fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeRow {
    /// The node's result folder's name (unique within a merge).
    pub node: String,
    /// The folder as given.
    pub folder: String,
    /// Host name (run.json `host.hostname`, else the scheduler's node name).
    pub host: Option<String>,
    /// The scheduler's job id and task index, when a scheduler task ran it.
    pub job: Option<String>,
    /// CPU model and cores, GPUs and backend: nodes with the same string form a group.
    pub hardware: String,
    /// GPU model names, comma-separated; None without NVIDIA GPUs.
    pub gpu: Option<String>,
    /// cpu, nvidia or hybrid: the backend that ran.
    pub backend: Option<String>,
    pub status: NodeStatus,
    /// Why the status is not ok.
    pub status_reason: Option<String>,
    /// Source seconds per wall-clock second in the run.
    pub throughput_x: Option<f64>,
    /// livepeer_bench's Real-Time Duration Ratio of the run.
    pub realtime_duration_ratio: Option<f64>,
    /// Streams the node sustains (economics' `streams_sustained`); None without economics.
    pub streams_sustained: Option<u32>,
    /// True when the run did not reach the limit, so the node may hold more.
    pub streams_is_lower_bound: bool,
    /// How the capacity was found (live real-time ratio, no-live throughput, a search).
    pub capacity_method: Option<CapacityMethod>,
    /// What limits the node: CPU, GPU, NVENC session cap, bandwidth.
    pub limiting_resource: Option<String>,
    /// The go-livepeer `-maxSessions` for this node (= streams_sustained).
    pub max_sessions: Option<u32>,
    /// Wall watts at the streams sold; None when unknown.
    pub rig_watts: Option<f64>,
    /// How the watts were found: measured, estimated, included or unknown.
    pub power_status: Option<PowerStatus>,
    /// Operator revenue (fees after fee share, minus gas) per stream-hour, USD.
    pub revenue_usd_per_stream_hour: Option<f64>,
    /// Costs per stream-hour (power, bandwidth, hardware), USD.
    pub costs_usd_per_stream_hour: Option<f64>,
    /// Revenue per node-hour at the streams sold, USD.
    pub revenue_usd_per_hour: Option<f64>,
    /// Costs per node-hour, USD; None when power is unknown.
    pub costs_usd_per_hour: Option<f64>,
    /// Margin per node-hour, USD; None when a cost is unknown.
    pub margin_usd_per_hour: Option<f64>,
    /// The economics' verdict; None when the node has no economics.
    pub profitable: Option<bool>,
    /// The verdict in words, or why there is none.
    pub verdict: String,
}

/// n, min, mean, max and relative range of one figure over a group's nodes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Nodes that have the figure.
    pub n: u32,
    pub min: f64,
    pub mean: f64,
    pub max: f64,
    /// (max − min) / |mean| × 100; None when the mean is 0.
    pub relative_range_percent: Option<f64>,
}

/// Nodes of identical hardware.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HardwareGroup {
    /// The hardware string every node of the group shares.
    pub hardware: String,
    /// The group's complete nodes (status ok), by node name.
    pub nodes: Vec<String>,
    /// Streams sustained per node.
    pub streams_sustained: Option<Spread>,
    /// Throughput per node, source seconds per wall second.
    pub throughput_x: Option<Spread>,
    /// Wall watts per node.
    pub rig_watts: Option<Spread>,
    /// Margin per node-hour, USD.
    pub margin_usd_per_hour: Option<Spread>,
}

/// The go-livepeer `-maxSessions` for one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaxSessions {
    pub node: String,
    pub host: Option<String>,
    pub max_sessions: u32,
}

/// The fleet as a whole: complete nodes only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetTotals {
    /// Every node given.
    pub nodes: u32,
    /// Nodes with status ok (the ones added up).
    pub nodes_ok: u32,
    /// Nodes partial, invalid or failed, by node name (left out of the totals).
    pub nodes_left_out: Vec<String>,
    /// Streams the complete nodes sustain together; None when one has no capacity figure.
    pub streams_sustained: Option<u32>,
    /// Wall watts of the complete nodes; None when one is unknown.
    pub rig_watts: Option<f64>,
    /// Revenue per fleet-hour, USD.
    pub revenue_usd_per_hour: Option<f64>,
    /// Costs per fleet-hour, USD.
    pub costs_usd_per_hour: Option<f64>,
    /// Margin per fleet-hour, USD.
    pub margin_usd_per_hour: Option<f64>,
    /// Margin per fleet-month (730 hours), USD.
    pub margin_usd_per_month: Option<f64>,
    /// Complete nodes whose verdict is profitable / not profitable / unknown.
    pub nodes_profitable: u32,
    pub nodes_unprofitable: u32,
    pub nodes_verdict_unknown: u32,
    /// `-maxSessions` for each complete node with a capacity figure.
    pub max_sessions: Vec<MaxSessions>,
    /// Why a total is unknown, in words.
    pub notes: Vec<String>,
}

/// fleet.json: the merged report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetResult {
    /// Version of this layout ([`FLEET_SCHEMA_VERSION`]); readers refuse another one.
    pub schema_version: u32,
    /// rigbench's version that merged.
    pub rigbench_version: String,
    /// When the merge was made, UTC.
    pub merged_utc: DateTime<Utc>,
    /// The source every node measured (the first node's probe; paths differ between nodes).
    pub source: SourceInfo,
    /// The ladder every node encoded.
    pub ladder: Vec<Profile>,
    /// The rig file applied to every node (`--rig`), or None when each node's own economics
    /// were used.
    pub rig: Option<String>,
    /// One row per node, in the order given.
    pub nodes: Vec<NodeRow>,
    /// Groups of identical hardware (complete nodes), largest first.
    pub groups: Vec<HardwareGroup>,
    pub totals: FleetTotals,
    /// What the reader should know: the same host twice, nodes without economics, ...
    pub warnings: Vec<String>,
}

/// How to merge.
#[derive(Debug, Clone, Default)]
pub struct MergeOptions {
    /// Re-price every node with this rig file (and its label for the report).
    pub rig: Option<(Rig, String)>,
}

/// Reads every folder and merges them. Stops at the first bad folder.
pub fn merge_folders(folders: &[PathBuf], opts: &MergeOptions) -> Result<FleetResult, MergeError> {
    if folders.is_empty() {
        return Err(MergeError::NoInputs);
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut inputs = Vec::with_capacity(folders.len());
    for f in folders {
        let key = std::fs::canonicalize(f).unwrap_or_else(|_| f.clone());
        if !seen.insert(key) {
            return Err(MergeError::Duplicate {
                folder: f.display().to_string(),
            });
        }
        inputs.push(load::read_node(f)?);
    }
    merge(&inputs, opts, Utc::now())
}

/// Merges nodes already read: checks comparability, builds rows, groups and totals.
pub fn merge(
    inputs: &[NodeInput],
    opts: &MergeOptions,
    now: DateTime<Utc>,
) -> Result<FleetResult, MergeError> {
    let Some((first_folder, first)) = inputs
        .iter()
        .find_map(|n| n.run.as_ref().map(|r| (&n.folder, r)))
    else {
        // Every node failed: no source or ladder to report, but the failures are the report.
        return Ok(assemble(inputs, opts, now, None));
    };
    for n in inputs {
        if let Some(run) = &n.run {
            check_comparable(first, run).map_err(|(what, detail)| MergeError::NotComparable {
                folder: n.folder.display().to_string(),
                first: first_folder.display().to_string(),
                what,
                detail,
            })?;
        }
    }
    if let Some((rig, _)) = &opts.rig {
        rig.check().map_err(|e| MergeError::Economics {
            folder: "--rig".to_string(),
            message: e.to_string(),
        })?;
    }
    Ok(assemble(inputs, opts, now, Some(first)))
}

fn assemble(
    inputs: &[NodeInput],
    opts: &MergeOptions,
    now: DateTime<Utc>,
    first: Option<&RunResult>,
) -> FleetResult {
    let mut warnings = Vec::new();
    let nodes: Vec<NodeRow> = inputs
        .iter()
        .map(|n| node_row(n, opts.rig.as_ref().map(|(r, _)| r)))
        .collect();
    let mut hosts: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in &nodes {
        if let Some(h) = &r.host {
            hosts.entry(h).or_default().push(&r.node);
        }
    }
    for (h, ns) in &hosts {
        if ns.len() > 1 {
            warnings.push(format!(
                "host {h} was measured {} times ({}): its rows are separate runs of one machine, and the totals count it {} times",
                ns.len(),
                ns.join(", "),
                ns.len()
            ));
        }
    }
    let no_econ: Vec<&str> = nodes
        .iter()
        .filter(|r| r.status == NodeStatus::Ok && r.streams_sustained.is_none())
        .map(|r| r.node.as_str())
        .collect();
    if !no_econ.is_empty() {
        warnings.push(format!(
            "no economics for {}: run with --rig FILE, or merge with --rig FILE, to get capacity and money",
            no_econ.join(", ")
        ));
    }
    if first.is_none() {
        warnings.push("no node has a result: every run failed".to_string());
    }
    FleetResult {
        schema_version: FLEET_SCHEMA_VERSION,
        rigbench_version: env!("CARGO_PKG_VERSION").to_string(),
        merged_utc: now,
        source: first.map(|r| r.source.clone()).unwrap_or_default(),
        ladder: first.map(|r| r.ladder.clone()).unwrap_or_default(),
        rig: opts.rig.as_ref().map(|(_, label)| label.clone()),
        groups: groups(&nodes),
        totals: totals(&nodes),
        nodes,
        warnings,
    }
}

/// Same source and ladder? Err names what differs and how.
pub fn check_comparable(a: &RunResult, b: &RunResult) -> Result<(), (&'static str, String)> {
    check_same_input((&a.source, &a.ladder), (&b.source, &b.ladder))
}

/// [`check_comparable`] on the parts it compares: (source, ladder) of each.
pub fn check_same_input(
    a: (&SourceInfo, &[Profile]),
    b: (&SourceInfo, &[Profile]),
) -> Result<(), (&'static str, String)> {
    let fields = differing_fields(a.0, b.0);
    if !fields.is_empty() {
        return Err(("source", fields.join("; ")));
    }
    if a.1 != b.1 {
        let names = |l: &[Profile]| {
            l.iter()
                .map(|p| format!("{} {}x{}@{}", p.name, p.width, p.height, p.bitrate_bps))
                .collect::<Vec<_>>()
                .join(",")
        };
        let detail = if names(a.1) == names(b.1) {
            format!(
                "{} (same sizes and bitrates, other settings differ)",
                names(b.1)
            )
        } else {
            format!("{} vs {}", names(b.1), names(a.1))
        };
        return Err(("ladder", detail));
    }
    Ok(())
}

/// The probed fields in which two sources differ, as `field a vs b`; the path is ignored.
pub fn differing_fields(a: &SourceInfo, b: &SourceInfo) -> Vec<String> {
    let to_map = |s: &SourceInfo| match serde_json::to_value(s) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let (ma, mb) = (to_map(a), to_map(b));
    let mut keys: Vec<&String> = ma.keys().chain(mb.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| k.as_str() != "path")
        .filter_map(|k| {
            let (va, vb) = (ma.get(k), mb.get(k));
            (va != vb).then(|| {
                let show = |v: Option<&serde_json::Value>| {
                    v.map_or("absent".to_string(), |v| v.to_string())
                };
                format!("{k} {} vs {}", show(vb), show(va))
            })
        })
        .collect()
}

/// What the status of a node needs from its run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunState {
    pub partial: bool,
    pub total_segments: u64,
    pub renditions_checked: u64,
    pub renditions_failed: u64,
}

impl RunState {
    pub fn of(run: &RunResult) -> RunState {
        RunState {
            partial: run.partial,
            total_segments: run.summary.total_segments,
            renditions_checked: run.summary.validation.renditions_checked,
            renditions_failed: run.summary.validation.renditions_failed,
        }
    }
}

/// Status of a node from its run and task marker.
pub fn node_status(n: &NodeInput) -> (NodeStatus, Option<String>) {
    status_of(
        n.run.as_ref().map(RunState::of),
        n.task.as_ref(),
        n.log_tail.as_deref(),
    )
}

/// [`node_status`] on the parts it reads: the pure rule.
pub fn status_of(
    run: Option<RunState>,
    task: Option<&TaskMarker>,
    log_tail: Option<&str>,
) -> (NodeStatus, Option<String>) {
    let exit = task.and_then(|t| t.exit_code);
    let finished = task.is_none_or(|t| t.finished_utc.is_some() || t.exit_code.is_some());
    let log = log_tail.map(|l| format!(": {l}")).unwrap_or_default();
    let started = task.is_none_or(|t| !t.started_utc.is_empty());
    match run {
        None if !started => (
            NodeStatus::Failed,
            Some("the task never started (cancelled, or its node never came up)".to_string()),
        ),
        None if !finished => (
            NodeStatus::Failed,
            Some(format!(
                "the task started but never finished (killed, out of time, or the node went down); no run.json{log}"
            )),
        ),
        None => (
            NodeStatus::Failed,
            Some(format!(
                "rigbench exited {} without a run.json{log}",
                exit.map_or("?".to_string(), |c| c.to_string())
            )),
        ),
        Some(run) if run.partial => (
            NodeStatus::Partial,
            Some(format!(
                "the run stopped midway: {} segments finished{log}",
                run.total_segments
            )),
        ),
        Some(run) if run.renditions_failed > 0 => (
            NodeStatus::Invalid,
            Some(format!(
                "{} of {} renditions failed validation",
                run.renditions_failed, run.renditions_checked
            )),
        ),
        Some(_) if !finished => (
            NodeStatus::Failed,
            Some("the task never finished, though a run.json is there".to_string()),
        ),
        Some(_) => match exit {
            Some(c) if c != 0 => (
                NodeStatus::Failed,
                Some(format!("rigbench exited {c}{log}")),
            ),
            _ => (NodeStatus::Ok, None),
        },
    }
}

/// CPU model × cores, GPUs and backend: the key that makes nodes "identical hardware".
pub fn hardware_key(run: &RunResult) -> String {
    let h = &run.host;
    let mut s = format!(
        "{} × {} cores",
        h.cpu_model.as_deref().unwrap_or("unknown CPU"),
        h.logical_cores.map_or("?".to_string(), |c| c.to_string())
    );
    if let Some(g) = gpu_names(run) {
        s.push_str(&format!(", {g}"));
    }
    s.push_str(&format!(", {} backend", run.backend.used));
    s
}

fn gpu_names(run: &RunResult) -> Option<String> {
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for g in &run.host.gpus {
        *counts
            .entry(g.name.clone().unwrap_or_else(|| "unknown GPU".to_string()))
            .or_default() += 1;
    }
    (!counts.is_empty()).then(|| {
        counts
            .iter()
            .map(|(n, c)| format!("{c}× {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

fn node_name(folder: &Path) -> String {
    folder
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| folder.display().to_string())
}

fn node_row(n: &NodeInput, rig: Option<&Rig>) -> NodeRow {
    let (mut status, mut status_reason) = node_status(n);
    let job = n.task.as_ref().map(|t| match t.task_index {
        Some(i) => format!("{} task {i}", t.job_id),
        None => t.job_id.clone(),
    });
    let task_host = n
        .task
        .as_ref()
        .map(|t| t.host.clone())
        .filter(|h| !h.is_empty());
    let mut row = NodeRow {
        node: node_name(&n.folder),
        folder: n.folder.display().to_string(),
        host: task_host,
        job,
        hardware: "unknown (no result)".to_string(),
        gpu: None,
        backend: None,
        status,
        status_reason: status_reason.clone(),
        throughput_x: None,
        realtime_duration_ratio: None,
        streams_sustained: None,
        streams_is_lower_bound: false,
        capacity_method: None,
        limiting_resource: None,
        max_sessions: None,
        rig_watts: None,
        power_status: None,
        revenue_usd_per_stream_hour: None,
        costs_usd_per_stream_hour: None,
        revenue_usd_per_hour: None,
        costs_usd_per_hour: None,
        margin_usd_per_hour: None,
        profitable: None,
        verdict: "no verdict: the run failed".to_string(),
    };
    let Some(run) = &n.run else {
        return row;
    };
    if let Some(h) = &run.host.hostname {
        row.host = Some(h.clone());
    }
    row.hardware = hardware_key(run);
    row.gpu = gpu_names(run);
    row.backend = Some(run.backend.used.clone());
    row.throughput_x = Some(run.summary.throughput_x);
    row.realtime_duration_ratio = Some(run.summary.realtime_duration_ratio);
    let overrides = crate::economics::Overrides {
        capacity: n
            .capacity
            .as_ref()
            .map_or_else(Default::default, |c| c.source.clone()),
        ..Default::default()
    };
    let econ: Result<Option<Economics>, String> = match (rig, &n.capacity) {
        (Some(rig), _) => crate::economics::evaluate_with(run, rig, &overrides)
            .map(Some)
            .map_err(|e| e.to_string()),
        (None, Some(c)) => Ok(c.result.economics.clone()),
        (None, None) => Ok(run.economics.clone()),
    };
    match econ {
        Ok(Some(e)) => apply_economics(&mut row, &e),
        Ok(None) => {
            row.verdict = "no verdict: the run had no --rig (merge with --rig FILE)".to_string()
        }
        Err(message) => {
            if status == NodeStatus::Ok {
                status = NodeStatus::Failed;
                status_reason = Some(format!("cannot price the run: {message}"));
            }
            row.verdict = format!("no verdict: {message}");
        }
    }
    if let Some(c) = &n.capacity {
        let d = &c.result.decision;
        row.streams_sustained = Some(d.capacity_streams);
        row.streams_is_lower_bound = d.lower_bound;
        row.capacity_method = Some(CapacityMethod::Searched);
        row.max_sessions = Some(d.capacity_streams);
        if row.limiting_resource.is_none() {
            row.limiting_resource = Some(c.result.binding_limit.clone());
        }
        if c.result.partial && status == NodeStatus::Ok {
            status = NodeStatus::Partial;
            status_reason = Some(format!(
                "the capacity search stopped early ({}): {} streams is a lower bound",
                c.result
                    .partial_reason
                    .as_deref()
                    .unwrap_or("no reason given"),
                d.capacity_streams
            ));
        }
    }
    row.status = status;
    row.status_reason = status_reason;
    row
}

fn apply_economics(row: &mut NodeRow, e: &Economics) {
    let c = &e.capacity;
    row.streams_sustained = Some(c.streams_sustained);
    // A live run below the limit only shows a lower bound, and only while compute (not a cap)
    // sets the figure.
    row.streams_is_lower_bound =
        c.streams_compute_is_lower_bound && c.streams_sustained == c.streams_compute;
    row.capacity_method = Some(c.method);
    row.limiting_resource = Some(c.limiting_resource.clone());
    row.max_sessions = Some(c.streams_sustained);
    row.rig_watts = e.power.rig_watts;
    row.power_status = Some(e.power.status);
    if let Some(s) = &e.per_stream_hour {
        row.revenue_usd_per_stream_hour = Some(s.revenue_usd_per_hour);
        row.costs_usd_per_stream_hour = s.costs_usd_per_hour;
    }
    row.revenue_usd_per_hour = Some(e.per_rig_hour.revenue_usd_per_hour);
    row.costs_usd_per_hour = e.per_rig_hour.costs_usd_per_hour;
    row.margin_usd_per_hour = e.per_rig_hour.margin_usd_per_hour;
    row.profitable = e.verdict.profitable;
    row.verdict = e.verdict.line.clone();
}

/// n, min, mean, max and relative range of the finite values; None when there are none.
pub fn spread(values: &[f64]) -> Option<Spread> {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    Some(Spread {
        n: u32::try_from(v.len()).unwrap_or(u32::MAX),
        min,
        mean,
        max,
        relative_range_percent: (mean != 0.0).then(|| (max - min) / mean.abs() * 100.0),
    })
}

/// Groups of identical hardware over the complete nodes, largest first, then by name.
pub fn groups(nodes: &[NodeRow]) -> Vec<HardwareGroup> {
    let mut by: BTreeMap<&str, Vec<&NodeRow>> = BTreeMap::new();
    for r in nodes.iter().filter(|r| r.status == NodeStatus::Ok) {
        by.entry(&r.hardware).or_default().push(r);
    }
    let mut out: Vec<HardwareGroup> = by
        .into_iter()
        .map(|(hw, rows)| {
            let col = |f: fn(&NodeRow) -> Option<f64>| -> Option<Spread> {
                spread(&rows.iter().filter_map(|r| f(r)).collect::<Vec<_>>())
            };
            HardwareGroup {
                hardware: hw.to_string(),
                nodes: rows.iter().map(|r| r.node.clone()).collect(),
                streams_sustained: col(|r| r.streams_sustained.map(f64::from)),
                throughput_x: col(|r| r.throughput_x),
                rig_watts: col(|r| r.rig_watts),
                margin_usd_per_hour: col(|r| r.margin_usd_per_hour),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.nodes
            .len()
            .cmp(&a.nodes.len())
            .then(a.hardware.cmp(&b.hardware))
    });
    out
}

/// Sum of a figure over the complete nodes; None (with a note naming the nodes) when one lacks it.
fn sum_known(
    ok: &[&NodeRow],
    what: &str,
    f: impl Fn(&NodeRow) -> Option<f64>,
    notes: &mut Vec<String>,
) -> Option<f64> {
    let missing: Vec<&str> = ok
        .iter()
        .filter(|r| f(r).is_none())
        .map(|r| r.node.as_str())
        .collect();
    if !missing.is_empty() {
        notes.push(format!(
            "{what} unknown: no figure for {}",
            missing.join(", ")
        ));
        return None;
    }
    Some(ok.iter().filter_map(|r| f(r)).sum())
}

/// Fleet totals over the complete nodes.
pub fn totals(nodes: &[NodeRow]) -> FleetTotals {
    let ok: Vec<&NodeRow> = nodes
        .iter()
        .filter(|r| r.status == NodeStatus::Ok)
        .collect();
    let mut notes = Vec::new();
    let left_out: Vec<String> = nodes
        .iter()
        .filter(|r| r.status != NodeStatus::Ok)
        .map(|r| r.node.clone())
        .collect();
    if !left_out.is_empty() {
        notes.push(format!(
            "left out of the totals (not complete): {}",
            left_out.join(", ")
        ));
    }
    let streams = sum_known(
        &ok,
        "streams",
        |r| r.streams_sustained.map(f64::from),
        &mut notes,
    )
    .map(|s| s as u32);
    let watts = sum_known(&ok, "watts", |r| r.rig_watts, &mut notes);
    let revenue = sum_known(&ok, "revenue", |r| r.revenue_usd_per_hour, &mut notes);
    let costs = sum_known(&ok, "costs", |r| r.costs_usd_per_hour, &mut notes);
    let margin = sum_known(&ok, "margin", |r| r.margin_usd_per_hour, &mut notes);
    FleetTotals {
        nodes: u32::try_from(nodes.len()).unwrap_or(u32::MAX),
        nodes_ok: u32::try_from(ok.len()).unwrap_or(u32::MAX),
        nodes_left_out: left_out,
        streams_sustained: streams,
        rig_watts: watts,
        revenue_usd_per_hour: revenue,
        costs_usd_per_hour: costs,
        margin_usd_per_hour: margin,
        margin_usd_per_month: margin.map(|m| m * crate::economics::HOURS_PER_MONTH),
        nodes_profitable: count(&ok, |r| r.profitable == Some(true)),
        nodes_unprofitable: count(&ok, |r| r.profitable == Some(false)),
        nodes_verdict_unknown: count(&ok, |r| r.profitable.is_none()),
        max_sessions: ok
            .iter()
            .filter_map(|r| {
                r.max_sessions.map(|m| MaxSessions {
                    node: r.node.clone(),
                    host: r.host.clone(),
                    max_sessions: m,
                })
            })
            .collect(),
        notes,
    }
}

fn count(rows: &[&NodeRow], f: impl Fn(&NodeRow) -> bool) -> u32 {
    u32::try_from(rows.iter().filter(|r| f(r)).count()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests;
