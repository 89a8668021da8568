//! `rigbench capacity`'s flags → a validated search configuration (usage errors, exit 2, before
//! any probe runs).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};

use super::search::{Criterion, Judge};
use crate::cli::{CapacityArgs, CriterionArg};
use crate::config::RunConfig;
use crate::transcode::BackendChoice;

/// Start-up of one probe beyond its paced length (chain, ingest, encoders), seconds: the first
/// estimate, before a probe has been measured.
pub const PROBE_STARTUP_ESTIMATE_SECONDS: f64 = 3.0;

/// A validated `rigbench capacity`.
#[derive(Debug, Clone)]
pub struct CapacityConfig {
    /// The run every probe derives from (sessions, loops, pacing and out-dir are set per probe).
    pub base: RunConfig,
    pub out_dir: PathBuf,
    pub judge: Judge,
    pub max_sessions: u32,
    /// `--max-sessions N`, or the default rule with its figures.
    pub max_sessions_source: String,
    pub probe_segments: u32,
    pub max_repeats: u32,
    pub time_budget: Option<Duration>,
    pub json: bool,
    pub quiet: bool,
    /// `--force`: replace an earlier search in the out-dir.
    pub force: bool,
}

/// The default bound on sessions from the hardware: 4 per logical CPU on the CPU backends (no
/// 2-second live stream of a ladder fits in a quarter of a core), 32 per GPU on NVENC.
pub fn default_max_sessions(
    backend: BackendChoice,
    logical_cores: u32,
    gpus: u32,
) -> (u32, String) {
    match backend {
        BackendChoice::Nvidia if gpus > 0 => {
            (32 * gpus, format!("default: 32 per GPU × {gpus} GPU(s)"))
        }
        _ => {
            let cores = logical_cores.max(1);
            (
                (4 * cores).max(4),
                format!("default: 4 per logical CPU × {cores} (change with --max-sessions)"),
            )
        }
    }
}

impl CapacityConfig {
    /// Validates the flags; `given_run_only` are the run-only flags typed on the command line.
    pub fn from_args(args: &CapacityArgs, given_run_only: &[String]) -> Result<Self> {
        if given_run_only.iter().any(|f| f == "--no-live") {
            bail!("--no-live: a capacity search is live by definition (each probe paces its sessions like live streams); for raw throughput use `rigbench run --no-live`");
        }
        if let Some(flag) = given_run_only.first() {
            bail!("{flag} is a `rigbench run` flag: `rigbench capacity` chooses sessions, segments and repeats for each probe itself; use `rigbench run {flag} ...` for a single run, or bound the search with --max-sessions / --probe-segments / --max-repeats");
        }
        if args.max_sessions == Some(0) {
            bail!("--max-sessions must be at least 1, got 0");
        }
        if args.probe_segments == 0 {
            bail!("--probe-segments must be at least 1, got 0 (a probe needs segments to judge)");
        }
        if !(args.headroom.is_finite() && args.headroom > 0.0 && args.headroom <= 1.0) {
            bail!(
                "--headroom must be in (0, 1], got {} (0.8 = Livepeer's 20% headroom)",
                args.headroom
            );
        }
        if args.max_repeats == 0 {
            bail!("--max-repeats must be at least 1, got 0");
        }
        if args.probe_segments > 10_000 {
            bail!(
                "--probe-segments {} is absurd (a probe would stream for hours); give at most 10000",
                args.probe_segments
            );
        }
        if args.max_repeats > 100 {
            bail!(
                "--max-repeats {} is absurd; give at most 100",
                args.max_repeats
            );
        }
        let mut base = RunConfig::from_args(&args.run)?;
        let one_probe = f64::from(args.probe_segments) * base.segment_seconds;
        let time_budget = match args.time_budget {
            None => None,
            Some(s) if !(s.is_finite() && s > 0.0) => {
                bail!("--time-budget must be a positive number of seconds, got {s}")
            }
            Some(s) if s < one_probe + PROBE_STARTUP_ESTIMATE_SECONDS => bail!(
                "--time-budget {s} s is shorter than one probe: a probe at 1 session takes about {:.0} s ({} segments of {} s, paced live, plus start-up); give at least {:.0} s, or fewer --probe-segments",
                one_probe + PROBE_STARTUP_ESTIMATE_SECONDS,
                args.probe_segments,
                base.segment_seconds,
                (one_probe + PROBE_STARTUP_ESTIMATE_SECONDS).ceil()
            ),
            Some(s) if s > 7.0 * 24.0 * 3600.0 => {
                bail!("--time-budget {s} s is more than a week; give fewer seconds")
            }
            Some(s) => Some(Duration::from_secs_f64(s)),
        };
        let out_dir = match &args.run.out_dir {
            Some(d) => d.clone(),
            None => PathBuf::from("reports/capacity").join(
                base.out_dir
                    .file_name()
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("capacity")),
            ),
        };
        if out_dir.join("capacity.json").exists() && !args.run.force {
            bail!(
                "--out-dir {} holds an earlier capacity search (capacity.json); give another --out-dir, or --force to replace it",
                out_dir.display()
            );
        }
        base.out_dir = out_dir.clone();
        let cores = std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(1);
        let gpus = match &base.gpus {
            crate::transcode::GpuSelection::Ids(ids) => ids.len() as u32,
            _ => 1,
        };
        let (max_sessions, max_sessions_source) = match args.max_sessions {
            Some(n) => (n, format!("--max-sessions {n}")),
            None => {
                let (n, why) = default_max_sessions(base.backend, cores, gpus);
                (n.min(crate::config::limits::MAX_CONCURRENT_SESSIONS), why)
            }
        };
        let most = crate::config::limits::MAX_CONCURRENT_SESSIONS;
        if max_sessions > most {
            bail!("--max-sessions {max_sessions} is more than `run` accepts; give at most {most}");
        }
        Ok(Self {
            json: args.run.json,
            force: args.run.force,
            quiet: args.run.quiet,
            base,
            out_dir,
            judge: Judge {
                criterion: match args.criterion {
                    CriterionArg::Livepeer => Criterion::Livepeer,
                    CriterionArg::Strict => Criterion::Strict,
                },
                headroom: args.headroom,
            },
            max_sessions,
            max_sessions_source,
            probe_segments: args.probe_segments,
            max_repeats: args.max_repeats,
            time_budget,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_bounds_come_from_the_hardware() {
        let cases = [
            (BackendChoice::Cpu, 2, 0, 8),
            (BackendChoice::Auto, 1, 0, 4),
            (BackendChoice::Cpu, 16, 0, 64),
            (BackendChoice::Nvidia, 16, 2, 64),
            (BackendChoice::Hybrid, 8, 1, 32),
        ];
        for (backend, cores, gpus, want) in cases {
            let (n, why) = default_max_sessions(backend, cores, gpus);
            assert_eq!(n, want, "{backend:?} {cores} {gpus}");
            assert!(why.starts_with("default"), "{why}");
        }
    }
}
