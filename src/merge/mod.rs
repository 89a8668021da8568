//! Fleet merge: many nodes' results (one folder per node, as the Slurm and Kubernetes tasks
//! write them) into one [`FleetResult`]: one row per node, groups of identical hardware with
//! their spread, and fleet totals. Nodes whose runs failed or were partial are listed with the
//! reason and kept out of the totals, never dropped.
//!
//! ## Method
//! - **Comparable results only**: every node must have measured the same source (by content
//!   hash) and the same ladder (by hash), by the one rule `rigbench compare` and `rigbench gate`
//!   apply ([`crate::gate::work_differences`]); otherwise the merge refuses, naming the folder
//!   and what differs. Backend and hardware may differ: that is what a fleet compares.
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

use crate::economics::{CapacityMethod, Economics, PowerStatus, Rig, RunFacts};
use crate::ingest::SourceInfo;
use crate::result::RunResult;
use crate::transcode::ladder::Profile;
pub use load::{load_fleet_json, CapacityNode, NodeInput, TaskMarker};

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
        "{folder} is not comparable with {first}: {detail}; merge only results of the same source and ladder (the rule `rigbench compare` applies)"
    )]
    NotComparable {
        folder: String,
        first: String,
        detail: String,
    },
    #[error("{folder}: {message}")]
    Economics { folder: String, message: String },
    #[error("{file}: {message}")]
    BadFleet { file: String, message: String },
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
    /// Own stake of the economics' `[staking]`, LPT; None without economics.
    #[serde(default)]
    pub own_stake_lpt: Option<f64>,
    /// Total stake bonded to the orchestrator in that `[staking]`, LPT.
    #[serde(default)]
    pub total_stake_lpt: Option<f64>,
    /// Inflationary rewards kept minus reward() gas, USD per node-hour; None without stake.
    #[serde(default)]
    pub rewards_net_usd_per_hour: Option<f64>,
    /// Margin with staking (fees + rewards − gas − costs), USD per node-hour, from the
    /// economics' own figure; None without stake or when a cost is unknown.
    #[serde(default)]
    pub margin_with_staking_usd_per_hour: Option<f64>,
    /// The economics' "with staking" verdict; None without stake or when a cost is unknown.
    #[serde(default)]
    pub profitable_with_staking: Option<bool>,
    /// That verdict in words; None without stake.
    #[serde(default)]
    pub verdict_with_staking: Option<String>,
    /// Median transcode latency of a segment in the node's run, seconds.
    #[serde(default)]
    pub latency_p50_seconds: Option<f64>,
    /// 95th percentile of the same, seconds.
    #[serde(default)]
    pub latency_p95_seconds: Option<f64>,
    /// Concurrent sessions of the run those latencies were measured at.
    #[serde(default)]
    pub latency_sessions: Option<u32>,
    /// What the economics read from the node's run (throughput, pixels, bandwidth, power), so
    /// that `rigbench market --fleet` prices and places each node from its own measurement.
    #[serde(default)]
    pub run_facts: Option<RunFacts>,
    /// The node's capacity search (capacity.json), for the capacity curve; None without one.
    #[serde(default)]
    pub capacity_search: Option<CapacitySearch>,
}

/// A node's capacity search as the fleet page draws it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacitySearch {
    /// The Real-Time Duration Ratio a probe had to stay at or under.
    pub headroom: f64,
    /// The capacity the search decided, streams.
    pub capacity_streams: u32,
    /// Every finished probe.
    pub probes: Vec<SearchProbe>,
}

/// One finished probe of a capacity search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchProbe {
    /// Concurrent sessions tried.
    pub sessions: u32,
    /// Real-Time Duration Ratio measured.
    pub realtime_duration_ratio: f64,
    /// Whether it met the bar.
    pub passed: bool,
    /// Which repeat of that count (0-based).
    pub repeat: u32,
}

impl NodeRow {
    /// A row with nothing measured: a node whose run failed before writing a result.
    pub fn unmeasured(node: String, folder: String) -> NodeRow {
        NodeRow {
            node,
            folder,
            host: None,
            job: None,
            hardware: "unknown (no result)".to_string(),
            gpu: None,
            backend: None,
            status: NodeStatus::Failed,
            status_reason: None,
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
            own_stake_lpt: None,
            total_stake_lpt: None,
            rewards_net_usd_per_hour: None,
            margin_with_staking_usd_per_hour: None,
            profitable_with_staking: None,
            verdict_with_staking: None,
            latency_p50_seconds: None,
            latency_p95_seconds: None,
            latency_sessions: None,
            run_facts: None,
            capacity_search: None,
        }
    }
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
    /// Margin with staking per fleet-hour, USD: the transcoding margins plus the rewards of
    /// the stake behind the fleet (`staking_basis` says whether that is one stake or one per
    /// node); None when no node has stake or a figure is unknown.
    #[serde(default)]
    pub margin_with_staking_usd_per_hour: Option<f64>,
    /// The same per fleet-month (730 hours), USD.
    #[serde(default)]
    pub margin_with_staking_usd_per_month: Option<f64>,
    /// How the rewards were added up, in words; None when no node has stake.
    #[serde(default)]
    pub staking_basis: Option<String>,
    /// Complete nodes profitable with staking (the economics' "with staking" verdict).
    #[serde(default)]
    pub nodes_profitable_with_staking: u32,
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
            let differences = crate::gate::work_differences(first, run);
            if !differences.is_empty() {
                return Err(MergeError::NotComparable {
                    folder: n.folder.display().to_string(),
                    first: first_folder.display().to_string(),
                    detail: differences.join("; "),
                });
            }
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
        host: task_host,
        job,
        status,
        status_reason: status_reason.clone(),
        ..NodeRow::unmeasured(node_name(&n.folder), n.folder.display().to_string())
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
    row.latency_p50_seconds = Some(run.summary.latency_seconds.p50);
    row.latency_p95_seconds = Some(run.summary.latency_seconds.p95);
    row.latency_sessions = Some(run.sessions.concurrent_sessions);
    row.run_facts = Some(RunFacts::from_run(run));
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
        row.capacity_search = Some(CapacitySearch {
            headroom: c.result.settings.headroom,
            capacity_streams: d.capacity_streams,
            probes: c
                .result
                .probes
                .iter()
                .filter(|p| p.finished)
                .map(|p| SearchProbe {
                    sessions: p.sessions,
                    realtime_duration_ratio: p.realtime_duration_ratio,
                    passed: p.passed,
                    repeat: p.repeat,
                })
                .collect(),
        });
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
    row.own_stake_lpt = Some(e.fee_split.own_stake_lpt);
    row.total_stake_lpt = Some(e.fee_split.total_stake_lpt);
    row.rewards_net_usd_per_hour = e.per_rig_hour.rewards_net_usd_per_hour;
    row.margin_with_staking_usd_per_hour = e.per_rig_hour.margin_with_staking_usd_per_hour;
    if let Some(v) = &e.verdict_with_staking {
        row.profitable_with_staking = v.profitable;
        row.verdict_with_staking = Some(v.line.clone());
    }
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
    let (with_staking, staking_basis) = staking_total(&ok, &mut notes);
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
        margin_with_staking_usd_per_hour: with_staking,
        margin_with_staking_usd_per_month: with_staking
            .map(|m| m * crate::economics::HOURS_PER_MONTH),
        staking_basis,
        nodes_profitable_with_staking: count(&ok, |r| r.profitable_with_staking == Some(true)),
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

/// The fleet's margin with staking, and how its rewards were added up. Nodes priced with the
/// same `[staking]` (same own and total stake, same rewards) are one orchestrator's stake seen
/// from each node: its rewards are counted once, on top of every node's transcoding margin.
/// Otherwise each node is its own orchestrator with its own stake, and the nodes' own
/// with-staking margins add up. None (with a note) when a complete node lacks a figure; None
/// and no note when no node has stake.
pub fn staking_total(ok: &[&NodeRow], notes: &mut Vec<String>) -> (Option<f64>, Option<String>) {
    if ok.is_empty() || ok.iter().all(|r| r.rewards_net_usd_per_hour.is_none()) {
        return (None, None);
    }
    let missing: Vec<&str> = ok
        .iter()
        .filter(|r| r.margin_with_staking_usd_per_hour.is_none())
        .map(|r| r.node.as_str())
        .collect();
    if !missing.is_empty() {
        notes.push(format!(
            "margin with staking unknown: no figure for {} (no stake, or a cost unknown)",
            missing.join(", ")
        ));
        return (None, None);
    }
    let stake = |r: &NodeRow| {
        (
            r.own_stake_lpt,
            r.total_stake_lpt,
            r.rewards_net_usd_per_hour,
        )
    };
    let first = stake(ok[0]);
    if ok.len() > 1 && ok.iter().all(|r| stake(r) == first) {
        let margins: f64 = ok.iter().filter_map(|r| r.margin_usd_per_hour).sum();
        let rewards = first.2.unwrap_or(0.0);
        return (
            Some(margins + rewards),
            Some(format!(
                "one stake for the fleet: every node was priced with the same [staking] ({:.0} LPT bonded), so its rewards (${rewards:.4} per hour net of reward() gas) are counted once, on top of the {} nodes' transcoding margins",
                first.1.unwrap_or(0.0),
                ok.len()
            )),
        );
    }
    (
        Some(
            ok.iter()
                .filter_map(|r| r.margin_with_staking_usd_per_hour)
                .sum(),
        ),
        Some(if ok.len() == 1 {
            "one node: its own margin with staking".to_string()
        } else {
            "one stake per node: the nodes were priced with different [staking], so each is its own orchestrator and their margins with staking add up".to_string()
        }),
    )
}

fn count(rows: &[&NodeRow], f: impl Fn(&NodeRow) -> bool) -> u32 {
    u32::try_from(rows.iter().filter(|r| f(r)).count()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests;
