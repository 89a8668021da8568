//! Capacity (`rigbench capacity`): how many live streams this rig holds, found by search rather
//! than extrapolated from one run, with how sure it is and what limits it.
//!
//! - [`search`]: the search as a pure function over a probe callback (judging, repeats, bracket).
//! - [`plan_search`] (here): one GPU or none, identical GPUs (search one, confirm N × GPUs) or
//!   differing GPUs (each alone, summed), also pure over the callback.
//! - [`probe`]: one probe = one live `run` at k sessions; memory sampled, budget enforced.
//! - [`limits`]: compute, NVENC cap, bandwidth, memory, --max-sessions; the binding one named.
//! - [`nvenc_cap`]: NVENC session-cap detection, cached per GPU.
//! - [`result`]: capacity.json's type. The table and capacity.csv live in `report::capacity`.

pub mod limits;
pub mod nvenc_cap;
pub mod probe;
pub mod result;
pub mod search;
pub mod settings;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, Context};
use chrono::Utc;

use crate::config::ValidationPlan;
use crate::error::Failure;
use crate::transcode::{self, Backend, GpuSelection};
pub use result::CapacityResult;
use result::{
    BroadcasterCpu, ConfirmationRun, Decision, GpuCapacity, ProbeNetwork, ProbeRecord,
    SearchSettingsReport, CAPACITY_KIND, CAPACITY_SCHEMA_VERSION,
};
use search::{LevelDecision, ProbeReport, SearchOutcome, SearchSettings};
pub use settings::CapacityConfig;

/// What a probe is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The search over the rig's sessions (all its GPUs, round-robin).
    Search,
    /// One GPU alone (multi-GPU searches).
    PerGpu,
    /// N × GPUs on all identical GPUs, confirming the total.
    ConfirmTotal,
    /// The final run at the found capacity with every rendition validated.
    Confirmation,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Search => "search",
            Phase::PerGpu => "per_gpu",
            Phase::ConfirmTotal => "confirm_total",
            Phase::Confirmation => "confirmation",
        }
    }
}

/// A GPU the plan can probe.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuDesc {
    pub id: u32,
    pub name: Option<String>,
}

/// What [`plan_search`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanOutcome {
    /// The search whose capacity is the rig's compute capacity (all GPUs together).
    pub total: SearchOutcome,
    /// One GPU's search, where the plan searched GPUs alone (identical: the first only).
    pub per_gpu_searches: Vec<(u32, SearchOutcome)>,
    /// Capacity of each GPU: (id, streams, how).
    pub per_gpu: Vec<(u32, u32, String)>,
    /// How the multi-GPU search was done.
    pub method: Option<String>,
}

/// Searches the rig's compute capacity over `gpus` (empty on cpu), calling
/// `probe(phase, sessions, gpus, repeat)`.
///
/// One GPU or none: one search. Identical GPUs (same name): search the first alone, then probe
/// N × GPUs on all of them (round-robin, as livepeer_bench assigns sessions); if that fails,
/// search all of them together below it. Differing GPUs: each alone; the total is their sum, as
/// go-livepeer runs them (one transcoder per GPU, each with its own -maxSessions).
pub fn plan_search(
    settings: &SearchSettings,
    gpus: &[GpuDesc],
    mut probe: impl FnMut(Phase, u32, &[u32], u32) -> ProbeReport,
) -> PlanOutcome {
    let all: Vec<u32> = gpus.iter().map(|g| g.id).collect();
    if gpus.len() <= 1 {
        let total = search::search(settings, |k, r| probe(Phase::Search, k, &all, r));
        let per_gpu = all
            .iter()
            .map(|&g| (g, total.capacity, "searched".to_string()))
            .collect();
        return PlanOutcome {
            total,
            per_gpu_searches: Vec::new(),
            per_gpu,
            method: None,
        };
    }
    let n = gpus.len() as u32;
    let per_gpu_settings = SearchSettings {
        max_sessions: settings.max_sessions.div_ceil(n).max(1),
        ..*settings
    };
    let identical = gpus[0].name.is_some() && gpus.iter().all(|g| g.name == gpus[0].name);
    if identical {
        let first = [gpus[0].id];
        let one = search::search(&per_gpu_settings, |k, r| probe(Phase::PerGpu, k, &first, r));
        let per_gpu = all
            .iter()
            .map(|&g| {
                let how = if g == first[0] {
                    "searched".to_string()
                } else {
                    format!("assumed identical to GPU {}", first[0])
                };
                (g, one.capacity, how)
            })
            .collect();
        if !one.complete() || one.capacity == 0 {
            return PlanOutcome {
                total: SearchOutcome {
                    capacity: one.capacity * n,
                    ..one.clone()
                },
                per_gpu_searches: vec![(first[0], one)],
                per_gpu,
                method: Some(format!(
                    "{n} identical GPUs: searched GPU {} alone; the search stopped before a confirmation on all",
                    first[0]
                )),
            };
        }
        let target = (one.capacity * n).min(settings.max_sessions.max(1));
        let confirm_settings = SearchSettings {
            max_sessions: target,
            start_sessions: target,
            ..*settings
        };
        let total = search::search(&confirm_settings, |k, r| {
            let phase = if k == target {
                Phase::ConfirmTotal
            } else {
                Phase::Search
            };
            probe(phase, k, &all, r)
        });
        let confirmed = total.level(target).is_some_and(|l| l.passed);
        let method = if confirmed {
            format!(
                "{n} identical GPUs: searched GPU {} alone ({} streams), then confirmed {} × {n} = {target} on all {n} with one probe",
                first[0], one.capacity, one.capacity
            )
        } else {
            format!(
                "{n} identical GPUs: searched GPU {} alone ({} streams); {target} on all {n} failed, so all {n} were searched together below it",
                first[0], one.capacity
            )
        };
        let total = SearchOutcome {
            bound_reached: confirmed && one.bound_reached,
            ..total
        };
        return PlanOutcome {
            total,
            per_gpu_searches: vec![(first[0], one)],
            per_gpu,
            method: Some(method),
        };
    }
    let mut per_gpu_searches = Vec::new();
    let mut per_gpu = Vec::new();
    let mut attempts = Vec::new();
    let mut levels = Vec::new();
    let mut sum = 0u32;
    let mut stopped = None;
    for g in gpus {
        let one = search::search(&per_gpu_settings, |k, r| {
            probe(Phase::PerGpu, k, &[g.id], r)
        });
        sum += one.capacity;
        per_gpu.push((g.id, one.capacity, "searched".to_string()));
        attempts.extend(one.attempts.iter().cloned());
        levels.extend(one.levels.iter().cloned());
        let complete = one.complete();
        if !complete {
            stopped = Some(one.clone());
        }
        per_gpu_searches.push((g.id, one));
        if !complete {
            break;
        }
    }
    let total = SearchOutcome {
        capacity: sum,
        attempts,
        levels,
        bound_reached: per_gpu_searches.iter().all(|(_, s)| s.bound_reached),
        cut: stopped.as_ref().and_then(|s| s.cut.clone()),
        error: stopped.as_ref().and_then(|s| s.error.clone()),
    };
    PlanOutcome {
        total,
        per_gpu_searches,
        per_gpu,
        method: Some(format!(
            "{n} GPUs that differ: each searched alone; the total is their sum (one transcoder per GPU, each with its own -maxSessions)"
        )),
    }
}

/// The confidence statement: how N and N+1 fared, in plain words.
pub fn confidence(outcome: &SearchOutcome, headroom: f64, max_sessions: u32) -> String {
    let describe = |l: &LevelDecision| {
        format!(
            "{} {} {} of {} repeat{} (median ratio {:.3})",
            plural(l.sessions, "session"),
            if l.passed { "passed" } else { "failed" },
            if l.passed {
                l.repeats_passed
            } else {
                l.repeats_run - l.repeats_passed
            },
            l.repeats_run,
            if l.repeats_run == 1 { "" } else { "s" },
            l.median_realtime_duration_ratio
        )
    };
    let n = outcome.capacity;
    let mut parts = Vec::new();
    if let Some(l) = outcome.level(n).filter(|_| n > 0) {
        parts.push(describe(l));
    }
    if let Some(l) = outcome.level(n + 1) {
        parts.push(describe(l));
    }
    let mut s = parts.join("; ");
    if n == 0 && outcome.complete() {
        s.push_str(&format!(
            ": not even one live stream of this ladder fits within the headroom ({headroom})"
        ));
    }
    if outcome.bound_reached {
        s.push_str(&format!(
            "; every probe up to --max-sessions {max_sessions} passed, so the rig may hold more (raise --max-sessions)"
        ));
    }
    if let Some(cut) = &outcome.cut {
        s.push_str(&format!(
            "; partial: the probe at {} was cut ({}), so {n} is a lower bound",
            plural(cut.sessions, "session"),
            cut.reason
        ));
    }
    if let Some(e) = &outcome.error {
        s.push_str(&format!("; stopped: {e}"));
    }
    if s.starts_with("; ") {
        s.drain(..2);
    }
    s
}

fn plural(n: u32, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The go-livepeer lines that follow from the capacity.
pub fn go_livepeer_lines(
    capacity: u32,
    per_gpu: &[(u32, u32, String)],
    names: &[GpuDesc],
) -> Vec<String> {
    let mut lines = vec![format!("-maxSessions {capacity}")];
    let differ = per_gpu.windows(2).any(|w| w[0].1 != w[1].1)
        || names.windows(2).any(|w| w[0].name != w[1].name);
    if per_gpu.len() > 1 && differ {
        for (gpu, streams, _) in per_gpu {
            let name = names
                .iter()
                .find(|g| g.id == *gpu)
                .and_then(|g| g.name.clone())
                .unwrap_or_else(|| "GPU".to_string());
            lines.push(format!(
                "transcoder on GPU {gpu} ({name}): -nvidia {gpu} -maxSessions {streams}"
            ));
        }
    }
    lines
}

/// What `rigbench capacity` hands back to `app`.
#[derive(Debug)]
pub struct CapacityOutcome {
    pub result: CapacityResult,
    pub out_dir: PathBuf,
    /// Why the search stopped early on an error (capacity.json is written either way).
    pub stopped: Option<anyhow::Error>,
    /// Ctrl-C or SIGTERM stopped the search (the time budget does not count).
    pub interrupted: bool,
}

/// Runs probes and keeps every record; the search's callback.
struct Runner<'a> {
    cfg: &'a CapacityConfig,
    deadline: Option<Instant>,
    source_segments: u32,
    mean_segment_seconds: f64,
    startup_estimate_seconds: f64,
    records: Vec<ProbeRecord>,
    results: Vec<Option<crate::result::RunResult>>,
    csv: crate::report::capacity::ProbesCsv,
    progress: crate::report::capacity::SearchProgress,
    warnings: Vec<String>,
    interrupted: bool,
    /// `--metrics-addr`: one endpoint for the whole search, fed by every probe.
    metrics: Option<crate::config::SharedMetrics>,
}

impl Runner<'_> {
    fn probe(&mut self, phase: Phase, sessions: u32, gpus: &[u32], repeat: u32) -> ProbeReport {
        let cfg = self.cfg;
        let delay = cfg.base.session_delay;
        if crate::run::interrupted() {
            self.interrupted = true;
            return ProbeReport::Cut {
                reason: "interrupted (Ctrl-C or SIGTERM) before this probe started".to_string(),
            };
        }
        let per_session = probe::segments_per_session(
            sessions,
            cfg.probe_segments,
            delay,
            self.mean_segment_seconds,
        );
        let paced = probe::paced_seconds(
            sessions,
            cfg.probe_segments,
            delay,
            self.mean_segment_seconds,
        );
        let estimate = paced + self.startup_estimate_seconds;
        if let Some(deadline) = self.deadline {
            let left = deadline
                .saturating_duration_since(Instant::now())
                .as_secs_f64();
            if left < estimate {
                return ProbeReport::Cut {
                    reason: format!(
                        "not started: a probe at {} takes about {estimate:.0} s and {left:.0} s of --time-budget were left",
                        plural(sessions, "session")
                    ),
                };
            }
        }
        let gpu_part = if gpus.is_empty() {
            String::new()
        } else {
            format!(
                "-gpu{}",
                gpus.iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join("_")
            )
        };
        let rel = format!("probes/{}-s{sessions:03}-r{repeat}{gpu_part}", phase.name());
        let dir = cfg.out_dir.join(&rel);
        let selection = if gpus.is_empty() {
            cfg.base.gpus.clone()
        } else {
            GpuSelection::Ids(gpus.to_vec())
        };
        let plan = if phase == Phase::Confirmation {
            ValidationPlan::All
        } else {
            ValidationPlan::Sample
        };
        let run_cfg = probe::probe_config(
            &cfg.base,
            sessions,
            &selection,
            per_session,
            self.source_segments,
            &dir,
            plan,
        );
        let mut run_cfg = run_cfg;
        if let Some(m) = &self.metrics {
            m.0.current_sessions(u64::from(sessions));
            run_cfg.shared_metrics = Some(m.clone());
        }
        self.progress
            .probe_started(phase.name(), sessions, repeat, estimate);
        let ex = probe::execute(&run_cfg, cfg.probe_segments, self.deadline, gpus.to_vec());
        self.interrupted |= ex.interrupted;
        if matches!(ex.report, ProbeReport::Done(_)) {
            self.startup_estimate_seconds = (ex.wall_seconds - paced).max(0.5);
        }
        let (finished, figures, note) = match &ex.report {
            ProbeReport::Done(f) => (true, *f, None),
            ProbeReport::Cut { reason } => (false, Default::default(), Some(reason.clone())),
            ProbeReport::Failed { error } => (false, Default::default(), Some(error.clone())),
        };
        let bandwidth = ex.result.as_ref().and_then(|r| r.bandwidth.as_ref());
        let network = ex.wire.as_ref().map(|j| {
            let net = ex.result.as_ref().and_then(|r| r.network.as_ref());
            let stream_seconds = bandwidth.map(|b| b.stream_seconds).filter(|s| *s > 0.0);
            let mbps = |bytes: Option<u64>| {
                bytes
                    .zip(stream_seconds)
                    .map(|(b, s)| b as f64 * 8.0 / 1e6 / s)
            };
            ProbeNetwork {
                transcode_ratio: j.transcode.realtime_duration_ratio,
                transcode_p95_segment_ratio: j.transcode.p95_segment_ratio,
                transcode_passed: cfg.judge.passes(&j.transcode),
                upload_ratio: j.upload_ratio,
                download_ratio: j.download_ratio,
                segments_lost: j.round_trip.segments_lost,
                lost_by_reason: net.map(|n| n.segments_failed.clone()).unwrap_or_default(),
                wire_mbps_up_per_stream: mbps(net.map(|n| n.wire_bytes_sent)),
                wire_mbps_down_per_stream: mbps(net.map(|n| n.wire_bytes_received)),
                latency_score_ok_share: net.map_or(0.0, |n| n.latency_score_ok_share),
                link_mbps: net.and_then(|n| n.link.as_ref()).map(|l| l.rate_mbps),
            }
        });
        let record = ProbeRecord {
            phase: phase.name().to_string(),
            sessions,
            repeat,
            gpus: gpus.to_vec(),
            finished,
            realtime_duration_ratio: figures.realtime_duration_ratio,
            p95_segment_ratio: figures.p95_segment_ratio,
            sessions_falling_behind: figures.sessions_falling_behind,
            segments_judged: figures.segments_judged,
            passed: finished && cfg.judge.passes(&figures),
            near_boundary: finished && cfg.judge.near_boundary(&figures),
            wall_seconds: ex.wall_seconds,
            peak_rss_bytes: ex.peak_rss_bytes,
            baseline_rss_bytes: ex.baseline_rss_bytes,
            peak_gpu_memory_used_bytes: ex.peak_gpu_bytes,
            baseline_gpu_memory_used_bytes: ex.baseline_gpu_bytes,
            mbps_in_per_stream: bandwidth.map(|b| b.mbps_in_per_stream),
            mbps_out_per_stream: bandwidth.map(|b| b.mbps_out_per_stream),
            broadcaster_cpu_share: ex
                .result
                .as_ref()
                .and_then(|r| r.cpu.as_ref())
                .and_then(|c| c.broadcaster_share_of_transcode),
            run_dir: rel,
            note,
            network,
        };
        if let Err(e) = self.csv.write(&record) {
            self.warnings
                .push(format!("cannot write capacity.csv: {e:#}"));
        }
        self.progress.probe_done(&record);
        self.records.push(record);
        self.results.push(ex.result);
        ex.report
    }
}

/// Runs the whole search described by `cfg`.
pub fn execute(cfg: &CapacityConfig, argv: Vec<String>) -> Result<CapacityOutcome, Failure> {
    let started_utc = Utc::now();
    let started = Instant::now();
    crate::ingest::init_ffmpeg();
    crate::run::install_interrupt_handler();
    // Claimed like a run's: folders it had to create are removed again if bad input stops the
    // search before anything is written.
    let _claimed = crate::run::files::claim(&cfg.out_dir, false).map_err(Failure::usage)?;
    if cfg.force {
        for name in ["capacity.json", "capacity.csv"] {
            let _ = fs::remove_file(cfg.out_dir.join(name));
        }
        let probes = cfg.out_dir.join("probes");
        if probes.is_dir() {
            fs::remove_dir_all(&probes)
                .with_context(|| format!("--force: cannot remove {}", probes.display()))
                .map_err(Failure::usage)?;
        }
    }

    // The source once, to learn its segments (and fail fast on a bad input, exit 2).
    let source = {
        let work = tempfile::Builder::new()
            .prefix(".source-")
            .tempdir_in(&cfg.out_dir)
            .with_context(|| format!("cannot create a work folder in {}", cfg.out_dir.display()))
            .map_err(Failure::usage)?;
        let s = crate::ingest::prepare(&cfg.base.input, cfg.base.segment_seconds, work.path())
            .with_context(|| format!("cannot use input {}", cfg.base.input.display()))
            .map_err(Failure::usage)?;
        if s.segments.is_empty() {
            return Err(Failure::usage(anyhow!(
                "input {} yielded no segment to transcode",
                cfg.base.input.display()
            )));
        }
        if let (Some(why), false) = (&s.truncated, cfg.base.allow_truncated) {
            return Err(Failure::usage(anyhow!(
                "{why} Give a complete file, or pass --allow-truncated to transcode what it holds."
            )));
        }
        s
    };
    let source_segments = source.segments.len() as u32;
    let mean_segment_seconds = source
        .segments
        .iter()
        .map(|s| s.duration_seconds)
        .sum::<f64>()
        / f64::from(source_segments);

    let resolved = transcode::resolve_backend(cfg.base.backend, &cfg.base.gpus)
        .context("the requested backend cannot run here")
        .map_err(Failure::run)?;
    transcode::ladder::check_supported(&cfg.base.ladder, resolved.backend.encoder_family())
        .with_context(|| {
            format!(
                "the ladder cannot be encoded by the {} backend",
                resolved.backend
            )
        })
        .map_err(Failure::usage)?;
    let host = crate::metering::inventory::HostInfo::detect();
    let mut warnings = Vec::new();
    if let Some(reason) = &resolved.fallback_reason {
        warnings.push(format!("backend auto fell back to cpu: {reason}"));
    }
    let gpus: Vec<GpuDesc> = resolved
        .devices
        .iter()
        .map(|&id| GpuDesc {
            id,
            name: host
                .gpus
                .iter()
                .find(|g| g.index == id)
                .and_then(|g| g.name.clone()),
        })
        .collect();

    // NVENC cap: detected on the GPUs that encode, else the rig file's, labelled.
    let renditions = cfg.base.ladder.len() as u32;
    let nvenc_cap = if resolved.backend == Backend::Nvidia {
        let detected: Vec<_> = gpus
            .iter()
            .map(|g| nvenc_cap::detect(g.id, nvenc_cap::DEFAULT_BOUND))
            .collect();
        let caps: Vec<&nvenc_cap::NvencCap> =
            detected.iter().filter_map(|d| d.as_ref().ok()).collect();
        if !caps.is_empty() {
            // GeForce caps count sessions per system, so the smallest answer binds.
            let sessions = caps.iter().filter_map(|c| c.sessions).min();
            Some(limits::NvencCapInput {
                sessions,
                source: caps[0].source.clone(),
                basis: caps
                    .iter()
                    .map(|c| {
                        format!(
                            "GPU {} {}: {}",
                            c.gpu,
                            c.name.as_deref().unwrap_or("?"),
                            c.sessions_text()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            })
        } else {
            let why = detected
                .iter()
                .filter_map(|d| d.as_ref().err())
                .map(|e| e.to_string())
                .next()
                .unwrap_or_default();
            match cfg
                .base
                .rig
                .as_ref()
                .and_then(|r| r.hardware.nvenc_session_cap)
            {
                Some(cap) => Some(limits::NvencCapInput {
                    sessions: Some(cap),
                    source: "rig file".to_string(),
                    basis: format!("hardware.nvenc_session_cap; detection failed: {why}"),
                }),
                None => {
                    warnings.push(format!("NVENC session cap unknown: {why}; the rig file gives no hardware.nvenc_session_cap"));
                    None
                }
            }
        }
    } else {
        None
    };
    // Sessions beyond the NVENC cap cannot open: the compute search stays under it.
    let nvenc_streams = nvenc_cap
        .as_ref()
        .and_then(|c| c.sessions)
        .map(|s| (s / renditions.max(1)).max(1));
    let search_max = nvenc_streams.map_or(cfg.max_sessions, |n| n.min(cfg.max_sessions));

    // One metrics endpoint across the probes (each probe would otherwise serve, and reset, its
    // own); bound before anything is written, so a busy address leaves the out-dir as it was.
    let (metrics, serving) = match cfg.base.metrics_addr {
        Some(addr) => {
            let m = crate::run::remote::broadcaster_metrics();
            let serving = crate::run::remote::serve_metrics(addr, &m).map_err(Failure::usage)?;
            (Some(crate::config::SharedMetrics(m)), Some(serving))
        }
        None => (None, None),
    };
    let _serving = StopOnDrop(serving);
    let csv_path = cfg.out_dir.join("capacity.csv");
    let csv = crate::report::capacity::ProbesCsv::create(&csv_path)
        .with_context(|| format!("cannot write {}", csv_path.display()))
        .map_err(Failure::usage)?;
    let hidden = cfg.quiet || cfg.json;
    if !hidden {
        eprintln!(
            "capacity: searching 1..{search_max} sessions ({}), {} segments judged per session, criterion {} at {}",
            cfg.max_sessions_source,
            cfg.probe_segments,
            cfg.judge.criterion.name(),
            cfg.judge.headroom
        );
    }
    let mut runner = Runner {
        cfg,
        deadline: cfg.time_budget.map(|b| started + b),
        source_segments,
        mean_segment_seconds,
        startup_estimate_seconds: settings::PROBE_STARTUP_ESTIMATE_SECONDS,
        records: Vec::new(),
        results: Vec::new(),
        csv,
        progress: crate::report::capacity::SearchProgress::new(search_max, hidden),
        warnings: Vec::new(),
        interrupted: false,
        metrics: metrics.clone(),
    };
    let search_settings = SearchSettings {
        judge: cfg.judge,
        max_sessions: search_max,
        max_repeats: cfg.max_repeats,
        start_sessions: 1,
    };
    let plan = plan_search(&search_settings, &gpus, |phase, k, g, r| {
        runner.probe(phase, k, g, r)
    });
    let outcome = &plan.total;
    let mut capacity_n = outcome.capacity;

    // One final run at N with every rendition validated.
    let all_ids: Vec<u32> = gpus.iter().map(|g| g.id).collect();
    let confirmation = if capacity_n > 0 && outcome.complete() {
        let report = runner.probe(Phase::Confirmation, capacity_n, &all_ids, 0);
        let rec = runner.records.last().cloned();
        let run = runner.results.last().cloned().flatten();
        match (report, rec, run) {
            (ProbeReport::Done(_), Some(rec), Some(run)) => Some(ConfirmationRun {
                sessions: capacity_n,
                run_dir: rec.run_dir.clone(),
                realtime_duration_ratio: rec.realtime_duration_ratio,
                passed: rec.passed,
                renditions_checked: run.summary.validation.renditions_checked,
                renditions_failed: run.summary.validation.renditions_failed,
            }),
            (ProbeReport::Done(_), _, _) => None,
            (other, _, _) => {
                runner.warnings.push(format!(
                    "the confirmation run at {capacity_n} sessions did not finish: {other:?}"
                ));
                None
            }
        }
    } else {
        None
    };
    let interrupted = runner.interrupted;
    let records = std::mem::take(&mut runner.records);
    let results = std::mem::take(&mut runner.results);
    runner.progress.finish();
    warnings.append(&mut runner.warnings);

    // The probe the limits read: the confirmation, else the last finished probe at N.
    let at_n = records
        .iter()
        .zip(&results)
        .rev()
        .find(|(r, _)| r.finished && r.sessions == capacity_n && r.phase != Phase::PerGpu.name())
        .or_else(|| records.iter().zip(&results).rev().find(|(r, _)| r.finished));
    let (rss_per_session, baseline_rss, gpu_per_session, gpu_baseline) = match at_n {
        Some((r, _)) if r.sessions > 0 => (
            r.peak_rss_bytes
                .zip(r.baseline_rss_bytes)
                .map(|(p, b)| p.saturating_sub(b) as f64 / f64::from(r.sessions)),
            r.baseline_rss_bytes,
            r.peak_gpu_memory_used_bytes
                .zip(r.baseline_gpu_memory_used_bytes)
                .map(|(p, b)| p.saturating_sub(b) as f64 / f64::from(r.sessions)),
            r.baseline_gpu_memory_used_bytes,
        ),
        _ => (None, None, None, None),
    };
    let gpu_memory_bytes = (!all_ids.is_empty())
        .then(|| {
            all_ids
                .iter()
                .map(|id| {
                    host.gpus
                        .iter()
                        .find(|g| g.index == *id)
                        .and_then(|g| g.memory_bytes)
                })
                .sum::<Option<u64>>()
        })
        .flatten();
    let headroom = cfg.judge.headroom;
    let ratio_at = |k: u32| outcome.level(k).map(|l| l.median_realtime_duration_ratio);
    let compute_basis = match (ratio_at(capacity_n).filter(|_| capacity_n > 0), ratio_at(capacity_n + 1)) {
        (Some(a), Some(b)) => format!(
            "criterion {}: median Real-Time Duration Ratio {a:.3} ≤ {headroom} at {capacity_n}, {b:.3} at {}",
            cfg.judge.criterion.name(),
            capacity_n + 1
        ),
        (Some(a), None) => format!(
            "criterion {}: median Real-Time Duration Ratio {a:.3} ≤ {headroom} at {capacity_n} ({} not tried)",
            cfg.judge.criterion.name(),
            capacity_n + 1
        ),
        (None, Some(b)) => format!(
            "criterion {}: {b:.3} > {headroom} at {}",
            cfg.judge.criterion.name(),
            capacity_n + 1
        ),
        (None, None) => "no probe finished".to_string(),
    };
    let rig = cfg.base.rig.as_ref();
    let network = cfg.base.network.as_ref().map(|_| {
        let levels: Vec<limits::WireLevel> = outcome
            .levels
            .iter()
            .map(|l| limits::WireLevel {
                sessions: l.sessions,
                round_trip_passed: l.passed,
                round_trip_ratio: l.median_realtime_duration_ratio,
                transcode: records
                    .iter()
                    .filter(|r| {
                        r.finished
                            && r.sessions == l.sessions
                            && r.phase != Phase::Confirmation.name()
                    })
                    .filter(|r| r.segments_judged > 0)
                    .filter_map(|r| r.network.as_ref())
                    .map(|n| (n.transcode_ratio, n.transcode_passed))
                    .collect(),
                lost: records
                    .iter()
                    .filter(|r| r.sessions == l.sessions && r.phase != Phase::Confirmation.name())
                    .filter_map(|r| r.network.as_ref())
                    .map(|n| n.segments_lost)
                    .sum(),
            })
            .collect();
        let wire = at_n.and_then(|(r, _)| r.network.as_ref());
        limits::NetworkLimitInput {
            split: limits::network_split(&levels, capacity_n, headroom),
            link_mbps: cfg
                .base
                .network
                .as_ref()
                .and_then(|n| n.link)
                .map(|l| l.mbps),
            wire_mbps_up_per_stream: wire.and_then(|w| w.wire_mbps_up_per_stream),
            wire_mbps_down_per_stream: wire.and_then(|w| w.wire_mbps_down_per_stream),
        }
    });
    let inputs = limits::LimitInputs {
        compute_streams: capacity_n,
        compute_lower_bound: !outcome.complete() || outcome.bound_reached,
        compute_basis,
        nvenc_cap,
        renditions_per_stream: renditions,
        port_mbps: rig.and_then(|r| r.bandwidth.port_mbps),
        mbps_in_per_stream: at_n.and_then(|(r, _)| r.mbps_in_per_stream),
        mbps_out_per_stream: at_n.and_then(|(r, _)| r.mbps_out_per_stream),
        host_memory_bytes: host.memory_bytes,
        baseline_rss_bytes: baseline_rss,
        rss_per_session_bytes: rss_per_session,
        gpu_memory_bytes,
        gpu_baseline_used_bytes: gpu_baseline,
        gpu_memory_per_session_bytes: gpu_per_session,
        max_sessions: cfg.max_sessions,
        max_sessions_reached: outcome.bound_reached && search_max == cfg.max_sessions,
        network,
    };
    let all_limits = limits::limits(&inputs);
    let binding = limits::binding(&all_limits, inputs.max_sessions_reached).cloned();
    let capacity_streams = binding.as_ref().and_then(|b| b.streams).unwrap_or(0);
    if capacity_streams < capacity_n {
        capacity_n = capacity_streams;
    }
    if let Some(m) = &metrics {
        m.0.current_sessions(0);
        m.0.max_sessions(capacity_n);
    }

    // The broadcaster's CPU over the search's finished probes.
    let (mut transcode_s, mut broadcaster_s, mut unavailable) = (0.0, 0.0, None);
    for (r, res) in records.iter().zip(&results) {
        if !r.finished || r.phase == Phase::Confirmation.name() {
            continue;
        }
        if let Some(cpu) = res.as_ref().and_then(|x| x.cpu.as_ref()) {
            match (cpu.transcode_cpu_seconds, cpu.broadcaster_cpu_seconds) {
                (Some(t), Some(b)) => {
                    transcode_s += t;
                    broadcaster_s += b;
                }
                _ => unavailable = unavailable.or(cpu.unavailable_reason.clone()),
            }
        }
    }
    let broadcaster_cpu = if let Some(why) = unavailable {
        warnings.push(format!("broadcaster CPU not measured: {why}"));
        None
    } else {
        (transcode_s > 0.0).then(|| BroadcasterCpu {
            transcode_cpu_seconds: transcode_s,
            broadcaster_cpu_seconds: broadcaster_s,
            share_of_transcode: broadcaster_s / transcode_s,
            method: "perf task clock per side, summed over the finished search probes (validation: first and last segment of each session)".to_string(),
        })
    };

    // Money at the capacity, from the fully validated run at N (else the last finished probe).
    // At N = 0 the per-stream facts (pixels, Mbps) come from the last finished probe.
    let money = results
        .iter()
        .zip(&records)
        .rev()
        .find(|(res, r)| res.is_some() && r.finished && r.sessions == outcome.capacity)
        .or_else(|| {
            results
                .iter()
                .zip(&records)
                .rev()
                .find(|(res, r)| res.is_some() && r.finished && outcome.capacity == 0)
        });
    let economics_run_dir = money.map(|(_, r)| r.run_dir.clone());
    let money_run = money.and_then(|(res, _)| res.clone());
    let searched = searched_capacity(
        capacity_n,
        binding.as_ref().map_or("compute", |b| b.name.as_str()),
        &confidence(outcome, cfg.judge.headroom, search_max),
        &resolved.backend,
    );
    let economics = match (rig, &money_run) {
        (Some(rig), Some(run)) => match crate::economics::evaluate_with(
            run,
            rig,
            &crate::economics::Overrides {
                capacity: searched,
                ..Default::default()
            },
        ) {
            Ok(e) => Some(e),
            Err(e) => {
                warnings.push(format!("economics not computed: {e:#}"));
                None
            }
        },
        (Some(_), None) => {
            warnings.push("economics not computed: no probe at the capacity finished".to_string());
            None
        }
        _ => None,
    };

    let confidence_text = confidence(outcome, headroom, search_max);
    let partial = !outcome.complete();
    let per_gpu: Vec<GpuCapacity> = plan
        .per_gpu
        .iter()
        .map(|(gpu, streams, how)| GpuCapacity {
            gpu: *gpu,
            name: gpus
                .iter()
                .find(|g| g.id == *gpu)
                .and_then(|g| g.name.clone()),
            streams: *streams,
            how: how.clone(),
        })
        .collect();
    let result = CapacityResult {
        schema_version: CAPACITY_SCHEMA_VERSION,
        kind: CAPACITY_KIND.to_string(),
        rigbench_version: env!("CARGO_PKG_VERSION").to_string(),
        command_line: argv,
        started_utc,
        finished_utc: Utc::now(),
        partial,
        partial_reason: outcome
            .cut
            .as_ref()
            .map(|c| c.reason.clone())
            .or_else(|| outcome.error.clone()),
        cut_probe: outcome.cut.clone(),
        source: source.info.clone(),
        ladder: cfg.base.ladder.clone(),
        backend: crate::result::BackendReport {
            requested: cfg.base.backend.name().to_string(),
            used: resolved.backend.name().to_string(),
            fallback_reason: resolved.fallback_reason.clone(),
            gpu_devices: resolved.devices.clone(),
            encoders: resolved.encoders.clone(),
            decoder: resolved.decoder.clone(),
        },
        settings: SearchSettingsReport {
            criterion: cfg.judge.criterion.name().to_string(),
            headroom,
            repeat_band: search::NEAR_BAND,
            max_repeats: cfg.max_repeats,
            max_sessions: search_max,
            max_sessions_source: if search_max < cfg.max_sessions {
                format!("{}, lowered to the NVENC cap", cfg.max_sessions_source)
            } else {
                cfg.max_sessions_source.clone()
            },
            probe_segments: cfg.probe_segments,
            segments_per_session_note: format!(
                "--probe-segments + ⌈(sessions − 1) × {} ms / {mean_segment_seconds:.2} s⌉ streamed per session; each session's last --probe-segments are judged",
                cfg.base.session_delay.as_millis()
            ),
            session_delay_ms: cfg.base.session_delay.as_millis() as u64,
            segment_seconds: cfg.base.segment_seconds,
            time_budget_seconds: cfg.time_budget.map(|d| d.as_secs_f64()),
            probe_validation: "sample (first and last segment of every session, all renditions); quality scores off; all, with --quality as given, in the confirmation run".to_string(),
            gpus: all_ids.clone(),
            judged_on: if cfg.base.network.is_some() {
                "round trip (upload + transcode + download)".to_string()
            } else {
                result::judged_on_transcode()
            },
            network: cfg.base.network.as_ref().map(network_words),
        },
        decision: Decision {
            capacity_streams: capacity_n,
            compute_streams: outcome.capacity,
            lower_bound: partial || outcome.bound_reached,
            ratio_at_capacity: ratio_at(outcome.capacity).filter(|_| outcome.capacity > 0),
            ratio_above_capacity: ratio_at(outcome.capacity + 1),
            confidence: confidence_text,
            session_counts_probed: outcome.levels.len() as u32,
            probes_run: records.iter().filter(|r| r.finished).count() as u32,
            multi_gpu_method: plan.method.clone(),
            wall_seconds: started.elapsed().as_secs_f64(),
        },
        per_gpu,
        go_livepeer: go_livepeer_lines(capacity_n, &plan.per_gpu, &gpus),
        limits: all_limits,
        binding_limit: binding.map(|b| b.name).unwrap_or_else(|| "compute".to_string()),
        host,
        probes: records,
        confirmation,
        broadcaster_cpu,
        economics,
        economics_run_dir,
        warnings,
    };
    write_capacity_json(&cfg.out_dir, &result).map_err(Failure::run)?;
    let page = crate::report::html::capacity_result_page(&result);
    if let Err(e) =
        crate::run::files::write_atomic(&cfg.out_dir.join("report.html"), page.as_bytes())
    {
        eprintln!("warning: {e:#}");
    }
    let stopped = outcome.error.as_ref().map(|e| {
        anyhow!(
            "{e}; finished probes are in {}",
            cfg.out_dir.join("capacity.csv").display()
        )
    });
    Ok(CapacityOutcome {
        result,
        out_dir: cfg.out_dir.clone(),
        stopped,
        interrupted,
    })
}

/// Stops a metrics endpoint when the search ends, however it ends.
struct StopOnDrop(Option<crate::run::remote::MetricsServing>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let Some((stop, handle)) = self.0.take() {
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            let _ = handle.join();
        }
    }
}

/// `--orchestrator` and the link, in words.
fn network_words(n: &crate::config::NetworkSettings) -> String {
    let target = match &n.orchestrator {
        crate::config::OrchestratorTarget::SelfHosted => "self (started per probe)".to_string(),
        crate::config::OrchestratorTarget::Url(a) => format!("http://{a}"),
    };
    match n.link {
        Some(l) => format!(
            "--orchestrator {target} over a shaped link: {} Mbps each way (tbf), {} ms round trip",
            l.mbps, l.rtt_ms
        ),
        None => format!("--orchestrator {target}, unshaped"),
    }
}

/// The economics' "capacity measured by search" input: the streams and the binding limit in the
/// economics' words.
pub fn searched_capacity(
    streams: u32,
    binding: &str,
    confidence: &str,
    backend: &Backend,
) -> crate::economics::CapacitySource {
    let limit = match binding {
        "compute" => match backend {
            Backend::Nvidia => "GPU",
            Backend::Hybrid => "CPU (hybrid: GPU decodes, CPU encodes)",
            Backend::Cpu => "CPU",
        },
        "nvenc_session_cap" => "NVENC session cap",
        "bandwidth" => "bandwidth",
        "memory" => "memory",
        "gpu_memory" => "GPU memory",
        "max_sessions" => "--max-sessions (the search's bound)",
        other => other,
    };
    crate::economics::CapacitySource::Searched {
        streams,
        limit: limit.to_string(),
        confidence: confidence.to_string(),
    }
}

/// What `rigbench economics --capacity FILE` prices: the run.json of the probe the capacity's
/// money rests on (next to capacity.json) and the searched capacity.
pub fn money_inputs(
    path: &Path,
) -> anyhow::Result<(crate::result::RunResult, crate::economics::CapacitySource)> {
    // A partial search prices its lower bound; its confidence says so.
    let cap = load_capacity_json(path)?;
    let dir = cap.economics_run_dir.as_deref().ok_or_else(|| {
        anyhow!(
            "{} names no probe run to price (no probe finished at the capacity)",
            path.display()
        )
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let run_json = base.join(dir).join("run.json");
    let run = crate::economics::load_run_json(&run_json).with_context(|| {
        format!(
            "the probe run {} next to {}",
            run_json.display(),
            path.display()
        )
    })?;
    let backend = match cap.backend.used.as_str() {
        "nvidia" => Backend::Nvidia,
        "hybrid" => Backend::Hybrid,
        _ => Backend::Cpu,
    };
    let source = searched_capacity(
        cap.decision.capacity_streams,
        &cap.binding_limit,
        &cap.decision.confidence,
        &backend,
    );
    Ok((run, source))
}

/// Writes capacity.json (pretty, newline-terminated).
pub fn write_capacity_json(out_dir: &Path, result: &CapacityResult) -> anyhow::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(result)?;
    bytes.push(b'\n');
    crate::run::files::write_atomic(&out_dir.join("capacity.json"), &bytes)
}

/// Why a capacity.json cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CapacityFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a rigbench capacity.json: {message}")]
    Parse { path: String, message: String },
    #[error("{path} has schema_version {found} but this rigbench reads capacity schema_version {expected}: re-run `rigbench capacity`")]
    SchemaVersion {
        path: String,
        found: String,
        expected: u32,
    },
}

/// Reads a capacity.json, refusing another kind or schema version.
pub fn load_capacity_json(path: &Path) -> Result<CapacityResult, CapacityFileError> {
    let shown = path.display().to_string();
    let text = fs::read_to_string(path).map_err(|source| CapacityFileError::Read {
        path: shown.clone(),
        source,
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| CapacityFileError::Parse {
            path: shown.clone(),
            message: e.to_string(),
        })?;
    if value.get("kind").and_then(|k| k.as_str()) != Some(CAPACITY_KIND) {
        return Err(CapacityFileError::Parse {
            path: shown,
            message: format!("no `kind: {CAPACITY_KIND}` (a run.json goes to --run)"),
        });
    }
    match value.get("schema_version") {
        Some(v) if v.as_u64() == Some(u64::from(CAPACITY_SCHEMA_VERSION)) => {}
        other => {
            return Err(CapacityFileError::SchemaVersion {
                path: shown,
                found: other.map_or_else(|| "none".to_string(), |v| v.to_string()),
                expected: CAPACITY_SCHEMA_VERSION,
            })
        }
    }
    serde_json::from_value(value).map_err(|e| CapacityFileError::Parse {
        path: shown,
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::search::{test_settings as settings, ProbeFigures};
    use super::*;

    fn done(ratio: f64) -> ProbeReport {
        ProbeReport::Done(ProbeFigures {
            realtime_duration_ratio: ratio,
            p95_segment_ratio: ratio,
            sessions_falling_behind: 0,
            segments_judged: 6,
            wall_seconds: 12.0,
            segments_lost: 0,
        })
    }

    fn gpu(id: u32, name: &str) -> GpuDesc {
        GpuDesc {
            id,
            name: Some(name.to_string()),
        }
    }

    /// A simulated rig: GPU `g` holds `per_gpu[g]` streams; sessions go round-robin.
    fn simulated(per_gpu: &[u32], k: u32, gpus: &[u32]) -> f64 {
        let n = gpus.len().max(1) as u32;
        gpus.iter()
            .enumerate()
            .map(|(i, &g)| {
                let mine = k / n + u32::from((i as u32) < k % n);
                f64::from(mine) / f64::from(per_gpu[g as usize]) * 0.8
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn identical_gpus_search_one_and_confirm_the_total() {
        let caps = [6, 6, 6, 6];
        let mut phases = Vec::new();
        let gpus: Vec<_> = (0..4).map(|i| gpu(i, "NVIDIA L4")).collect();
        let plan = plan_search(&settings(128), &gpus, |phase, k, g, _| {
            phases.push((phase, k, g.to_vec()));
            done(simulated(&caps, k, g))
        });
        assert_eq!(plan.total.capacity, 24);
        assert!(plan.per_gpu.iter().all(|(_, n, _)| *n == 6));
        assert!(plan
            .method
            .as_deref()
            .unwrap()
            .contains("confirmed 6 × 4 = 24"));
        let confirms: Vec<_> = phases
            .iter()
            .filter(|p| p.0 == Phase::ConfirmTotal)
            .collect();
        // One session count confirms (repeated: 24 sits on the threshold), on all four GPUs.
        assert!(!confirms.is_empty(), "{phases:?}");
        assert!(
            confirms.iter().all(|p| p.1 == 24 && p.2 == [0, 1, 2, 3]),
            "{phases:?}"
        );
        assert!(phases
            .iter()
            .filter(|p| p.0 == Phase::PerGpu)
            .all(|p| p.2 == [0]));
    }

    #[test]
    fn a_failed_confirmation_searches_all_gpus_together() {
        // Alone a GPU holds 6, but the four together share something (a PCIe link): 20 fit.
        let gpus: Vec<_> = (0..4).map(|i| gpu(i, "NVIDIA L4")).collect();
        let plan = plan_search(&settings(128), &gpus, |_, k, g, _| {
            if g.len() == 1 {
                done(f64::from(k) / 6.0 * 0.8)
            } else {
                done(f64::from(k) / 20.0 * 0.8)
            }
        });
        assert_eq!(plan.total.capacity, 20, "{:?}", plan.total.levels);
        assert!(plan.method.unwrap().contains("failed"));
    }

    #[test]
    fn differing_gpus_are_searched_alone_and_summed() {
        let caps = [8, 3];
        let gpus = vec![gpu(0, "RTX 4090"), gpu(1, "GTX 1660")];
        let plan = plan_search(&settings(64), &gpus, |phase, k, g, _| {
            assert_eq!(phase, Phase::PerGpu);
            assert_eq!(g.len(), 1);
            done(simulated(&caps, k, g))
        });
        assert_eq!(plan.total.capacity, 11);
        assert_eq!(
            plan.per_gpu.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>(),
            [(0, 8), (1, 3)]
        );
        let lines = go_livepeer_lines(11, &plan.per_gpu, &gpus);
        assert_eq!(lines[0], "-maxSessions 11");
        assert!(lines[1].contains("GPU 0") && lines[1].ends_with("-maxSessions 8"));
        assert!(lines[2].ends_with("-maxSessions 3"));
    }

    #[test]
    fn one_gpu_or_none_is_a_plain_search() {
        for gpus in [vec![], vec![gpu(0, "RTX 4070")]] {
            let plan = plan_search(&settings(16), &gpus, |phase, k, _, _| {
                assert_eq!(phase, Phase::Search);
                done(0.25 * f64::from(k))
            });
            assert_eq!(plan.total.capacity, 3);
            assert!(plan.method.is_none());
            assert_eq!(
                go_livepeer_lines(3, &plan.per_gpu, &gpus),
                ["-maxSessions 3"]
            );
        }
    }

    #[test]
    fn confidence_says_how_n_and_n_plus_1_fared() {
        let out = search::search(&settings(16), |k, r| {
            let at3 = [0.79, 0.76, 0.81];
            done(match k {
                3 => at3[r as usize],
                k if k < 3 => 0.3 * f64::from(k),
                _ => 1.1 + f64::from(r) * 0.01,
            })
        });
        assert_eq!(out.capacity, 3);
        let c = confidence(&out, 0.8, 16);
        assert!(c.starts_with("3 sessions passed 2 of 2 repeats"), "{c}");
        assert!(c.contains("4 sessions failed 1 of 1 repeat"), "{c}");
        let none = search::search(&settings(16), |_, _| done(1.5));
        assert!(confidence(&none, 0.8, 16).contains("not even one live stream"));
        let all = search::search(&settings(4), |_, _| done(0.1));
        assert!(confidence(&all, 0.8, 4).contains("raise --max-sessions"));
    }
}
