//! capacity.json: the one result value of `rigbench capacity` (search settings, host, every probe
//! repeat, the decision, the limits and the binding one). Plain data; every field documented, units
//! in the names.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::limits::Limit;
use super::search::CutProbe;

/// Version of capacity.json's layout; bumped whenever a field changes meaning or disappears.
pub const CAPACITY_SCHEMA_VERSION: u32 = 1;
/// `kind` of capacity.json, so a reader never mistakes it for a run.json.
pub const CAPACITY_KIND: &str = "rigbench-capacity";

/// Everything a capacity search found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CapacityResult {
    /// Version of this layout ([`CAPACITY_SCHEMA_VERSION`]); readers refuse another one.
    pub schema_version: u32,
    /// Always [`CAPACITY_KIND`].
    pub kind: String,
    /// rigbench's own version (Cargo package version).
    pub rigbench_version: String,
    /// The command line as typed (argv).
    pub command_line: Vec<String>,
    pub started_utc: DateTime<Utc>,
    pub finished_utc: DateTime<Utc>,
    /// True when the search did not run to its conclusion (time budget, Ctrl-C/SIGTERM, a failed
    /// probe): the capacity is then the best answer so far, a lower bound.
    pub partial: bool,
    /// Why the result is partial.
    pub partial_reason: Option<String>,
    /// The probe that was cut or not started, when partial.
    pub cut_probe: Option<CutProbe>,
    /// The machine searched.
    pub host: crate::metering::inventory::HostInfo,
    /// The source every probe streamed.
    pub source: crate::ingest::SourceInfo,
    /// The ladder every session encoded.
    pub ladder: Vec<crate::transcode::ladder::Profile>,
    /// The backend the probes ran on.
    pub backend: crate::result::BackendReport,
    /// How the search was set up.
    pub settings: SearchSettingsReport,
    /// Every probe repeat, in the order run (cut probes included, marked so).
    pub probes: Vec<ProbeRecord>,
    /// What the search concluded.
    pub decision: Decision,
    /// Capacity of each GPU alone (multi-GPU searches).
    pub per_gpu: Vec<GpuCapacity>,
    /// Every limit on the streams, in a fixed order.
    pub limits: Vec<Limit>,
    /// The name of the limit that binds (`compute`, `nvenc_session_cap`, `bandwidth`, `memory`,
    /// `gpu_memory`, `max_sessions`).
    pub binding_limit: String,
    /// The go-livepeer settings that follow (`-maxSessions N`, per transcoder where GPUs differ).
    pub go_livepeer: Vec<String>,
    /// The final run at the found capacity with every rendition validated (absent when the
    /// capacity is 0 or the search was cut).
    pub confirmation: Option<ConfirmationRun>,
    /// The broadcaster side's CPU over the search's probes (rigbench's own segmenting, payments,
    /// validation and metering, apart from the transcode).
    pub broadcaster_cpu: Option<BroadcasterCpu>,
    /// Money at the found capacity; present with `--rig`.
    pub economics: Option<crate::economics::Economics>,
    /// The probe run (relative to the capacity out-dir) whose run.json the economics read.
    pub economics_run_dir: Option<String>,
    /// Warnings raised during the search.
    pub warnings: Vec<String>,
}

/// The search settings, as used.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchSettingsReport {
    /// `livepeer` (Real-Time Duration Ratio ≤ headroom) or `strict` (also p95 of
    /// transcode_time / seg_dur ≤ 1.0 and no session falling behind live).
    pub criterion: String,
    /// The Real-Time Duration Ratio a probe may reach.
    pub headroom: f64,
    /// Relative band around a threshold inside which a probe is repeated.
    pub repeat_band: f64,
    pub max_repeats: u32,
    pub max_sessions: u32,
    /// Where `max_sessions` comes from (`--max-sessions` or the default rule and its figures).
    pub max_sessions_source: String,
    /// Judged segments per session in each probe (after the last session started).
    pub probe_segments: u32,
    /// Segments each session streams in a probe (judged ones plus those during the stagger).
    pub segments_per_session_note: String,
    pub session_delay_ms: u64,
    pub segment_seconds: f64,
    /// `--time-budget`, seconds.
    pub time_budget_seconds: Option<f64>,
    /// `sample` during probes (first and last segment of every session), `all` in the
    /// confirmation run.
    pub probe_validation: String,
    /// GPU ids probes ran on (empty on cpu).
    pub gpus: Vec<u32>,
    /// The time each segment is judged on: `transcode` in process, or `round trip (upload +
    /// transcode + download)` with `--orchestrator`, where a gateway waits for all three.
    #[serde(default = "judged_on_transcode")]
    pub judged_on: String,
    /// Network mode: the orchestrator (`self` or its URL) and the shaped link, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
}

/// What an in-process search judges each segment on (capacity.json `settings.judged_on`).
pub(crate) fn judged_on_transcode() -> String {
    "transcode".to_string()
}

/// One probe repeat.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeRecord {
    /// `search`, `per_gpu` (one GPU alone), `confirm_total` (N × GPUs) or `confirmation` (the
    /// final fully validated run at N).
    pub phase: String,
    pub sessions: u32,
    /// 0-based repeat at this session count and phase.
    pub repeat: u32,
    /// GPU ids the sessions went to, round-robin (empty on cpu).
    pub gpus: Vec<u32>,
    /// False when the probe was cut (budget, Ctrl-C) or failed: its figures are not judged.
    pub finished: bool,
    /// Σ transcode time / Σ segment duration over the judged segments.
    pub realtime_duration_ratio: f64,
    /// p95 (nearest rank) of transcode_time / seg_dur over the judged segments.
    pub p95_segment_ratio: f64,
    /// Sessions whose lag behind live grew by more than half a segment over the judged window.
    pub sessions_falling_behind: u32,
    pub segments_judged: u64,
    /// This repeat alone passed the criterion.
    pub passed: bool,
    /// This repeat's figure was within the repeat band of its threshold.
    pub near_boundary: bool,
    pub wall_seconds: f64,
    /// Peak resident memory of rigbench during the probe, and before it.
    pub peak_rss_bytes: Option<u64>,
    pub baseline_rss_bytes: Option<u64>,
    /// Peak GPU memory in use during the probe (all its GPUs), and before it.
    pub peak_gpu_memory_used_bytes: Option<u64>,
    pub baseline_gpu_memory_used_bytes: Option<u64>,
    /// Mbps per stream in and out, as the probe's run measured them.
    pub mbps_in_per_stream: Option<f64>,
    pub mbps_out_per_stream: Option<f64>,
    /// Broadcaster-side CPU over transcode CPU in this probe (None when not measured).
    pub broadcaster_cpu_share: Option<f64>,
    /// The probe's own run folder, relative to the capacity out-dir.
    pub run_dir: String,
    /// Why the probe did not finish.
    pub note: Option<String>,
    /// Network mode (`--orchestrator`): the round trip is what the probe was judged on; this is
    /// what it measured on the wire and the orchestrator's transcode judged apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<ProbeNetwork>,
}

/// A network-mode probe's wire figures (capacity.json `probes[].network`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ProbeNetwork {
    /// The orchestrator's transcode alone (round trip − upload − download) over the same judged
    /// segments: Σ time / Σ segment duration.
    pub transcode_ratio: f64,
    /// p95 (nearest rank) of that per segment.
    pub transcode_p95_segment_ratio: f64,
    /// The transcode alone passed the criterion (so a failed round trip failed on the wire).
    pub transcode_passed: bool,
    /// Upload and download time over the judged segments: Σ / Σ segment duration.
    pub upload_ratio: f64,
    pub download_ratio: f64,
    /// Segments that never came back, by reason.
    pub segments_lost: u64,
    pub lost_by_reason: std::collections::BTreeMap<String, u64>,
    /// Wire megabits per second per stream (headers and framing included), to the orchestrator
    /// (segments) and back (renditions), over the probe's stream-seconds.
    pub wire_mbps_up_per_stream: Option<f64>,
    pub wire_mbps_down_per_stream: Option<f64>,
    /// Share of segments with a latency score ≤ 1.0.
    pub latency_score_ok_share: f64,
    /// The shaped link's tbf rate each way, Mbps (None on an unshaped path).
    pub link_mbps: Option<f64>,
}

/// What the search concluded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Decision {
    /// Streams the rig sustains: the smallest of every limit.
    pub capacity_streams: u32,
    /// Streams the compute search found (before the other limits).
    pub compute_streams: u32,
    /// True when `capacity_streams` is a lower bound (partial search, or every probe up to
    /// --max-sessions passed).
    pub lower_bound: bool,
    /// Median Real-Time Duration Ratio at the capacity (None when 0 streams).
    pub ratio_at_capacity: Option<f64>,
    /// Median Real-Time Duration Ratio at capacity + 1 (None when not tried).
    pub ratio_above_capacity: Option<f64>,
    /// "N passed 3 of 3 repeats, N+1 failed 2 of 3", in plain words.
    pub confidence: String,
    /// Session counts probed in the search (repeats not counted).
    pub session_counts_probed: u32,
    /// Probe repeats run, every phase.
    pub probes_run: u32,
    /// How a multi-GPU search was done (None with one GPU or none).
    pub multi_gpu_method: Option<String>,
    /// Wall-clock length of the whole search, seconds.
    pub wall_seconds: f64,
}

/// Capacity of one GPU alone.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GpuCapacity {
    pub gpu: u32,
    pub name: Option<String>,
    pub streams: u32,
    /// `searched` (probed alone) or `assumed identical to GPU n`.
    pub how: String,
}

/// The final run at the found capacity, every rendition validated.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfirmationRun {
    pub sessions: u32,
    /// Its run folder (with run.json), relative to the capacity out-dir.
    pub run_dir: String,
    pub realtime_duration_ratio: f64,
    pub passed: bool,
    pub renditions_checked: u64,
    pub renditions_failed: u64,
}

/// rigbench's own broadcaster side against the transcode, summed over the finished probes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BroadcasterCpu {
    /// CPU seconds of the transcode (orchestrator side).
    pub transcode_cpu_seconds: f64,
    /// CPU seconds of everything else rigbench did meanwhile (validation, payments, segment
    /// files, meters, output).
    pub broadcaster_cpu_seconds: f64,
    /// broadcaster / transcode (the target during probes is ≤ 0.05).
    pub share_of_transcode: f64,
    /// How it was measured.
    pub method: String,
}
