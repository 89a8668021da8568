//! The one result value of a run. Reports, gates and `rigbench economics` read it; run.json is its
//! serialisation. Every field carries its unit in its name.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub mod money;

/// Bumped whenever a field changes meaning or disappears. 2: `economics` as the protocol pays
/// it (issue 9: fee split, rewards, two verdicts, typed labels; `inputs.fee_share` gone).
pub const SCHEMA_VERSION: u32 = 2;

/// Everything a run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    /// Version of this JSON layout; readers refuse another one.
    pub schema_version: u32,
    /// rigbench's own version (Cargo package version).
    pub rigbench_version: String,
    /// The command line as typed (argv).
    pub command_line: Vec<String>,
    /// When the run started, UTC.
    pub started_utc: DateTime<Utc>,
    /// When the run finished (or was interrupted), UTC.
    pub finished_utc: DateTime<Utc>,
    /// True when the run was interrupted (Ctrl-C) or failed midway: the figures cover only the
    /// segments that finished.
    pub partial: bool,
    /// The machine the run measured.
    pub host: crate::metering::inventory::HostInfo,
    /// The source stream as probed.
    pub source: crate::ingest::SourceInfo,
    /// The ladder every session encoded.
    pub ladder: Vec<crate::transcode::ladder::Profile>,
    /// Which backend ran, and why (fallbacks included).
    pub backend: BackendReport,
    /// How sessions were scheduled.
    pub sessions: SessionsReport,
    /// One summary per `--repeat`, in order.
    pub repeats: Vec<Summary>,
    /// The summary over all repeats.
    pub summary: Summary,
    /// Tickets, winners and measured gas; absent with `--no-payments`.
    pub payments: Option<crate::payments::PaymentsSummary>,
    /// Energy and watts; absent when power was not metered.
    pub power: Option<crate::metering::power::PowerSummary>,
    /// Bits per second in and out, per stream.
    pub bandwidth: Option<crate::metering::bandwidth::BandwidthSummary>,
    /// Money per hour and the verdict; present only with `--rig`.
    pub economics: Option<money::Economics>,
    /// Warnings raised during the run (fallbacks, long segments, ...).
    pub warnings: Vec<String>,
    /// How renditions' SSIM and PSNR were scored (which segments), and what fell below
    /// `--min-ssim` / `--min-psnr`. The scores themselves are in the summaries.
    #[serde(default)]
    pub quality: QualityReport,
    /// Network mode (`--orchestrator`): round trips, wire bytes, the link; absent in process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<crate::net::summary::NetworkSummary>,
    /// CPU time split by side: the transcode apart from rigbench's broadcaster work.
    #[serde(default)]
    pub cpu: Option<CpuSplit>,
    /// What a comparison needs to know the two runs measured the same thing.
    #[serde(default)]
    pub fingerprint: Fingerprint,
    /// Whether the result meets the publication rules, and why not.
    #[serde(default)]
    pub reportable: Reportable,
}

/// How renditions' quality was scored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct QualityReport {
    /// `--quality`: all, sample or off.
    pub mode: crate::validation::quality::QualityMode,
    /// With `sample`, segment numbers 0, N, 2N, ... of each session are scored (this N).
    pub sample_every_segments: u32,
    /// The segments whose renditions were scored.
    pub segments_scored: Vec<ScoredSegment>,
    /// `--min-ssim`: the least mean SSIM (all planes) a scored rendition may have.
    pub min_ssim: Option<f64>,
    /// `--min-psnr`: the least mean PSNR (all planes) a scored rendition may have, dB.
    pub min_psnr_db: Option<f64>,
    /// Scored renditions below a threshold, one sentence each naming session, segment and
    /// rendition; any fails the run (exit 3).
    pub below_threshold: Vec<String>,
    /// Renditions that could not be scored, and why.
    pub errors: Vec<String>,
    /// VMAF: why there is no VMAF figure.
    pub vmaf: String,
}

/// One scored segment of one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoredSegment {
    pub repeat: u32,
    pub session: u32,
    /// Segment number within the session (segments.csv's `segment`).
    pub segment: u32,
}

/// CPU time of a run by side (src/run/cpu_clock.rs says how it is measured).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CpuSplit {
    /// CPU seconds of the whole process while the sessions ran.
    pub process_cpu_seconds: f64,
    /// CPU seconds of the orchestrator's side: decode, scale, encode, mux (None = unavailable).
    pub transcode_cpu_seconds: Option<f64>,
    /// CPU seconds of the broadcaster's rendition validation (part of the broadcaster side).
    pub validation_cpu_seconds: Option<f64>,
    /// CPU seconds of ticket work on the session threads (part of the broadcaster side).
    pub payments_cpu_seconds: f64,
    /// CPU seconds of everything but the transcode: validation, payments, segment files,
    /// meters, output (None = unavailable).
    pub broadcaster_cpu_seconds: Option<f64>,
    /// broadcaster / transcode.
    pub broadcaster_share_of_transcode: Option<f64>,
    /// How the split was measured.
    pub method: String,
    /// Why the split is unavailable here.
    pub unavailable_reason: Option<String>,
}

/// What makes two results comparable (with `host` for the machine): the input by content, the
/// ladder by hash, the code and libraries that ran, and every effective flag.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// sha256 of the input's bytes (an HLS playlist and its segment files, in order); None when
    /// they could not be read again after the run.
    pub source_sha256: Option<String>,
    /// sha256 of the ladder as run.json records it (see [`ladder_sha256`]).
    pub ladder_sha256: String,
    /// rigbench's version (Cargo package version).
    pub rigbench_version: String,
    /// The git commit rigbench was built from; "unknown" outside a git checkout.
    pub git_commit: String,
    /// FFmpeg library versions in one line (avcodec, avformat, avfilter, avutil, swscale).
    pub ffmpeg_version: String,
    /// FFmpeg's `./configure` line.
    pub ffmpeg_configuration: String,
    /// Every `run` setting as it took effect (defaults included), by flag name.
    pub flags: BTreeMap<String, String>,
}

/// The git commit this binary was built from (embedded by build.rs).
pub const GIT_COMMIT: &str = env!("RIGBENCH_GIT_COMMIT");

/// sha256 of a ladder's JSON (the profiles in order, every field), lowercase hex.
pub fn ladder_sha256(ladder: &[crate::transcode::ladder::Profile]) -> String {
    use sha2::{Digest, Sha256};
    let bytes = serde_json::to_vec(ladder).unwrap_or_default();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Fingerprint {
    /// The fingerprint of a run of `ladder` on `host`, with the input's hash and flags.
    pub fn new(
        source_sha256: Option<String>,
        ladder: &[crate::transcode::ladder::Profile],
        host: &crate::metering::inventory::HostInfo,
        flags: BTreeMap<String, String>,
    ) -> Self {
        let f = &host.ffmpeg;
        Fingerprint {
            source_sha256,
            ladder_sha256: ladder_sha256(ladder),
            rigbench_version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: GIT_COMMIT.to_string(),
            ffmpeg_version: format!(
                "avcodec {} avformat {} avfilter {} avutil {} swscale {}",
                f.avcodec, f.avformat, f.avfilter, f.avutil, f.swscale
            ),
            ffmpeg_configuration: f.configuration.clone(),
            flags,
        }
    }
}

/// The publication rules a result is held to.
pub const MIN_REPEATS: u32 = 3;
/// Largest relative spread (sample standard deviation over the mean of throughput over
/// repeats) a publishable result may have, percent (Phoronix Test Suite adds runs above 2.5%;
/// this VM-class hardware gets twice that).
pub const MAX_RELATIVE_SPREAD_PERCENT: f64 = 5.0;

/// Whether a result meets the publication rules: at least [`MIN_REPEATS`] repeats (or a capacity
/// search), throughput spread over repeats under [`MAX_RELATIVE_SPREAD_PERCENT`], complete,
/// every rendition valid, and nothing estimated that could have been measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reportable {
    pub reportable: bool,
    /// Every rule the result breaks, in words (empty when reportable).
    pub reasons: Vec<String>,
    pub min_repeats: u32,
    pub max_relative_spread_percent: f64,
    /// Relative spread of throughput over repeats, percent; None below two repeats.
    pub throughput_relative_spread_percent: Option<f64>,
}

impl Default for Reportable {
    fn default() -> Self {
        Reportable {
            reportable: false,
            reasons: vec!["not assessed (written by an older rigbench)".into()],
            min_repeats: MIN_REPEATS,
            max_relative_spread_percent: MAX_RELATIVE_SPREAD_PERCENT,
            throughput_relative_spread_percent: None,
        }
    }
}

/// Sample standard deviation over the mean, percent; None below two values or a zero mean.
pub fn relative_spread_percent(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if mean == 0.0 || !mean.is_finite() {
        return None;
    }
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
    Some(var.sqrt() / mean.abs() * 100.0)
}

/// Judges a result against the publication rules. `capacity_search` is true for a capacity
/// result (its search stands in for repeats).
pub fn assess_reportable(r: &RunResult, capacity_search: bool) -> Reportable {
    let mut reasons = Vec::new();
    if r.partial {
        reasons.push("the run is partial (interrupted or failed)".to_string());
    }
    let repeats = r.repeats.len() as u32;
    if repeats < MIN_REPEATS && !capacity_search {
        reasons.push(format!(
            "{repeats} repeat(s): publication needs --repeat {MIN_REPEATS} or more, or a capacity search"
        ));
    }
    let throughputs: Vec<f64> = r.repeats.iter().map(|s| s.throughput_x).collect();
    let spread = relative_spread_percent(&throughputs);
    if let Some(s) = spread {
        if s >= MAX_RELATIVE_SPREAD_PERCENT {
            reasons.push(format!(
                "throughput varies by {s:.1}% over repeats (the bound is {MAX_RELATIVE_SPREAD_PERCENT}%): quieten the machine or add repeats"
            ));
        }
    }
    let v = &r.summary.validation;
    if v.renditions_failed > 0 {
        reasons.push(format!(
            "{} of {} renditions failed validation",
            v.renditions_failed, v.renditions_checked
        ));
    }
    if let Some(p) = &r.power {
        let no_rapl = p.notes.iter().any(|n| n.starts_with("RAPL absent"));
        for s in &p.sources {
            if s.status != crate::metering::power::Status::Estimated {
                continue;
            }
            let measurable = match s.kind {
                crate::metering::power::model::ComponentKind::Gpu => r.host.nvml_status == "ok",
                crate::metering::power::model::ComponentKind::Cpu => !no_rapl,
            };
            if measurable {
                reasons.push(format!(
                    "{} power is estimated although a sensor is present: fix the sensor's permissions or configuration",
                    s.device
                ));
            }
        }
    }
    Reportable {
        reportable: reasons.is_empty(),
        reasons,
        min_repeats: MIN_REPEATS,
        max_relative_spread_percent: MAX_RELATIVE_SPREAD_PERCENT,
        throughput_relative_spread_percent: spread,
    }
}

/// The backend that ran.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackendReport {
    /// What was asked for: auto, cpu, nvidia or hybrid.
    pub requested: String,
    /// What ran: cpu, nvidia or hybrid.
    pub used: String,
    /// Why the requested backend could not run, when `auto` fell back.
    pub fallback_reason: Option<String>,
    /// GPU ids sessions were assigned to, round-robin (empty on cpu).
    pub gpu_devices: Vec<u32>,
    /// Video encoders used, as FFmpeg names them (libx264, h264_nvenc, ...).
    pub encoders: Vec<String>,
    /// Video decoder used (h264, h264 + cuda hwaccel, ...).
    pub decoder: String,
}

/// How sessions were scheduled.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionsReport {
    /// Parallel streams.
    pub concurrent_sessions: u32,
    /// Stagger between session starts.
    pub session_delay_ms: u64,
    /// Times each session plays the source in a row.
    pub loops: u32,
    /// Repeats of the whole benchmark.
    pub repeats: u32,
    /// Segments per session at most (0 = all).
    pub segs_limit: u32,
    /// Paced like a live stream.
    pub live: bool,
    /// Requested segment length.
    pub segment_seconds: f64,
}

/// livepeer_bench's summary plus what it lacks.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Segments transcoded (all sessions).
    pub total_segments: u64,
    /// Segments with transcode_time <= seg_dur.
    pub realtime_segments: u64,
    /// realtime_segments / total_segments (livepeer_bench's Real-Time Segs Ratio).
    pub realtime_segs_ratio: f64,
    /// Sum of transcode times / sum of segment durations (livepeer_bench's Real-Time Duration
    /// Ratio: mean latency over segment length, lower is better).
    pub realtime_duration_ratio: f64,
    /// Sum of per-segment transcode times.
    pub total_transcode_seconds: f64,
    /// Wall-clock time from the first segment's start to the last one's end.
    pub wall_seconds: f64,
    /// Source seconds transcoded, summed over sessions.
    pub source_seconds: f64,
    /// source_seconds / wall_seconds.
    pub throughput_x: f64,
    /// Frames encoded per wall-clock second, all renditions.
    pub output_fps: f64,
    /// Pixels encoded per wall-clock second, all renditions.
    pub output_pixels_per_second: f64,
    /// Frames encoded, all renditions.
    pub output_frames: u64,
    /// Pixels encoded (the billed count), all renditions.
    pub output_pixels: u64,
    /// Per-segment transcode latency.
    pub latency_seconds: Percentiles,
    /// Segment bytes received (MPEG-TS as the broadcaster sends it).
    pub bytes_in: u64,
    /// Rendition bytes sent back (MPEG-TS).
    pub bytes_out: u64,
    /// Corrupt packets or frames the decoder rejected (not fatal).
    pub decode_errors: u64,
    /// The broadcaster's checks.
    pub validation: ValidationSummary,
    /// SSIM and PSNR per profile (min, p5 and mean over every scored frame), in ladder order;
    /// empty when nothing was scored.
    #[serde(default)]
    pub quality_by_profile: Vec<crate::validation::quality::ProfileQuality>,
    /// The ladder's mean SSIM (all planes): the mean over profiles of each one's mean SSIM, the
    /// quality to read beside J per megapixel and $ per stream-hour. None when nothing was scored.
    #[serde(default)]
    pub ladder_mean_ssim: Option<f64>,
}

/// Percentiles of a sample, same unit as the field name says.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// Rendition validation counts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ValidationSummary {
    /// Renditions checked (every rendition of every segment).
    pub renditions_checked: u64,
    /// Renditions that failed at least one check.
    pub renditions_failed: u64,
    /// Failures by rendition name.
    pub failed_by_rendition: BTreeMap<String, u64>,
    /// Failures by check (decode, size, frame_count, keyframe, pixel_count).
    pub failed_by_check: BTreeMap<String, u64>,
}

/// One row of segments.csv: livepeer_bench's six columns first, then rigbench's (the quality
/// columns after these come from the segment's scores: `report::csv::QUALITY_HEADER`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SegmentRecord {
    /// Wall-clock time the segment finished, UTC. segments.csv writes it as livepeer_bench does
    /// (`2006-01-02 15:04:05.9999`).
    pub timestamp: DateTime<Utc>,
    pub session: u32,
    pub segment: u32,
    /// Source segment duration, seconds.
    pub seg_dur: f64,
    /// Decode + scale + encode + mux of every rendition, seconds.
    pub transcode_time: f64,
    /// Frames of the first rendition (livepeer_bench's definition).
    pub frames: u64,
    /// Pixels encoded, all renditions (the billed count).
    pub pixels: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub renditions: u32,
    pub valid_renditions: u32,
    pub decode_errors: u64,
    /// Tickets the broadcaster sent for this segment (0 with --no-payments).
    pub tickets: u32,
    /// Fee the orchestrator debited: price × pixels, wei, decimal.
    pub fee_wei: String,
    /// Which `--repeat` this row belongs to (0-based).
    pub repeat: u32,
}
