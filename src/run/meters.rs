//! The run's meters: an optional idle baseline, the power sampler around the sessions, and the
//! bandwidth and power summaries folded in at the end. The meters themselves live in
//! `crate::metering`.

use std::io::Write;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};

use crate::config::RunConfig;
use crate::metering::bandwidth::{self, BandwidthSummary, RunTotals, SegmentBytes};
use crate::metering::power::{self, IdleBaseline, PowerConfig, PowerSampler, PowerSummary};
use crate::result::{SegmentRecord, Summary};
use crate::transcode::{Backend, ResolvedBackend};

/// Meters running beside a benchmark.
pub struct Meters {
    sampler: PowerSampler,
    idle: Option<IdleBaseline>,
}

/// What the meters recorded, ready for the result and the out-dir.
pub struct Metered {
    pub power: Option<PowerSummary>,
    pub power_csv: Option<Vec<u8>>,
    pub bandwidth: Option<BandwidthSummary>,
}

/// The sampler's configuration: the rig's declared model when given, sensors always.
fn power_config(cfg: &RunConfig, backend: &ResolvedBackend) -> PowerConfig {
    let interval_ms = cfg.power_interval.as_millis().max(1) as u64;
    let mut pc = match &cfg.rig {
        Some(rig) => rig.power_config(interval_ms),
        None => PowerConfig {
            interval_ms,
            ..PowerConfig::default()
        },
    };
    // A declared GPU NVML cannot see does no work in a CPU run: model it at idle.
    if backend.backend == Backend::Cpu {
        pc.unmeasured_gpu_utilisation_percent = 0.0;
    }
    pc
}

impl Meters {
    /// Measures the idle baseline (when asked; `stop` cuts it short), then starts the power
    /// sampler.
    pub fn start(
        cfg: &RunConfig,
        backend: &ResolvedBackend,
        stop: &AtomicBool,
        observer: Option<power::PowerObserver>,
    ) -> Result<Meters> {
        let pc = power_config(cfg, backend);
        let idle = (cfg.idle_seconds > 0).then(|| {
            if !cfg.quiet {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(
                    err,
                    "measuring the rig at rest for {} s ...",
                    cfg.idle_seconds
                );
            }
            power::measure_idle(&pc, cfg.idle_seconds as f64, stop)
        });
        let sampler =
            PowerSampler::start_observed(pc, observer).context("cannot start the power sampler")?;
        Ok(Meters { sampler, idle })
    }

    /// Stops the sampler and summarises power and bandwidth for the run's segments.
    pub fn finish(
        self,
        summary: &Summary,
        records: &[SegmentRecord],
        cfg: &RunConfig,
        warnings: &mut Vec<String>,
    ) -> Metered {
        let recording = self.sampler.stop();
        let power_csv = Some(crate::report::csv::power_csv(&recording));
        let power = power::summarize(
            &recording,
            self.idle.as_ref(),
            summary.output_pixels,
            power::stream_hours(summary.source_seconds),
        );
        if power.rig.is_none() {
            warnings.push(format!(
                "rig power unknown: {}",
                power
                    .rig_unknown_reason
                    .as_deref()
                    .unwrap_or("no sensor and no declared model (give --rig FILE)")
            ));
        }
        let bandwidth = (!records.is_empty()).then(|| {
            let segments: Vec<SegmentBytes> = records
                .iter()
                .map(|r| SegmentBytes {
                    finished_utc: r.timestamp,
                    bytes_in: r.bytes_in,
                    bytes_out: r.bytes_out,
                })
                .collect();
            let totals = RunTotals {
                wall_seconds: summary.wall_seconds,
                stream_seconds: summary.source_seconds,
                bytes_in: summary.bytes_in,
                bytes_out: summary.bytes_out,
            };
            bandwidth::summarize(&segments, &totals, cfg.concurrent_sessions)
        });
        Metered {
            power: Some(power),
            power_csv,
            bandwidth,
        }
    }
}
