//! The run: a pipeline of named steps, [`prepare`] → [`start_sidecars`] → [`run_repeats`] →
//! [`finish`]. Preparing claims the out-dir and cuts the source into segments; the sidecars are
//! the chain and payments, the meters and segments.csv; each repeat runs one thread per session
//! ([`sessions`]) and the calling thread writes every finished row as it arrives; finishing folds
//! everything into one [`RunResult`] and writes run.json and report.md atomically.
//!
//! Validation runs in the session threads right after the transcode and is not part of
//! `transcode_time`. Ctrl-C and SIGTERM stop sessions after their current segment; the run is then
//! written as partial.

pub mod cpu_clock;
pub mod files;
pub mod meters;
pub mod payments;
pub mod remote;
pub mod sessions;
pub mod summary;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use chrono::{DateTime, Utc};

use crate::config::RunConfig;
use crate::error::Failure;
use crate::ingest::{self, PreparedSource};
use crate::metering::inventory::HostInfo;
use crate::result::{
    BackendReport, QualityReport, RunResult, ScoredSegment, SegmentRecord, SessionsReport, Summary,
    SCHEMA_VERSION,
};
use crate::transcode::{self, ResolvedBackend};
use sessions::{Event, SessionCtx};
use summary::SegmentExtras;

/// Set by Ctrl-C or SIGTERM: sessions stop after their current segment and the run is written as
/// partial.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether Ctrl-C or SIGTERM arrived since the run started.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Asks a running [`execute`] to stop after the current segments, as a signal does (used by
/// `rigbench capacity`'s time budget). The run is written as partial.
pub fn request_stop() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Installs the Ctrl-C / SIGTERM / SIGHUP handler once per process (ctrlc's `termination`
/// feature: what `docker stop`, systemd and `timeout` send is handled like Ctrl-C).
pub fn install_interrupt_handler() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // A second handler (e.g. a host program's) is not ours to replace; a signal then just
        // kills the process and the rows already flushed stay on disk.
        let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
    });
}

/// What a finished `rigbench run` hands back to `main`.
#[derive(Debug)]
pub struct RunOutcome {
    pub result: RunResult,
    pub out_dir: PathBuf,
    /// Renditions failed validation and `--allow-invalid` was not given.
    pub invalid_renditions: bool,
    /// Scored renditions below `--min-ssim` / `--min-psnr`, one sentence each (exit 3).
    pub quality_failures: Vec<String>,
    /// Why the run stopped early (a session failed, or a signal); run.json is written and marked
    /// partial either way.
    pub stopped: Option<anyhow::Error>,
}

/// Runs the whole benchmark described by `cfg`.
pub fn execute(cfg: &RunConfig, argv: Vec<String>) -> Result<RunOutcome, Failure> {
    let started_utc = Utc::now();
    ingest::init_ffmpeg();
    install_interrupt_handler();
    INTERRUPTED.store(false, Ordering::SeqCst);
    let prepared = prepare(cfg)?;
    let mut sidecars = start_sidecars(cfg, &prepared)?;
    let repeats = run_repeats(cfg, &prepared, &mut sidecars);
    finish(cfg, argv, started_utc, prepared, sidecars, repeats)
}

/// Step 1: the out-dir claimed, the source cut into segments, the backend resolved; everything
/// here that goes wrong is the input's fault (exit 2), except a backend that cannot run.
pub struct Prepared {
    // Field order is drop order: the work folder goes before the out-dir guard looks at it.
    pub workdir: tempfile::TempDir,
    pub out: files::OutDir,
    pub source: PreparedSource,
    pub resolved: ResolvedBackend,
    pub warnings: Vec<String>,
}

/// Step 1 of [`execute`].
pub fn prepare(cfg: &RunConfig) -> Result<Prepared, Failure> {
    let out = files::claim(&cfg.out_dir, cfg.force).map_err(Failure::usage)?;
    let workdir = tempfile::Builder::new()
        .prefix(".segments-")
        .tempdir_in(out.path())
        .with_context(|| format!("cannot create a work folder in {}", cfg.out_dir.display()))
        .map_err(Failure::usage)?;
    let source = ingest::prepare(&cfg.input, cfg.segment_seconds, workdir.path())
        .with_context(|| format!("cannot use --in {}", cfg.input.display()))
        .map_err(Failure::usage)?;
    if source.segments.is_empty() {
        return Err(Failure::usage(anyhow!(
            "--in {} yielded no segment to transcode",
            cfg.input.display()
        )));
    }
    if let (Some(why), false) = (&source.truncated, cfg.allow_truncated) {
        return Err(Failure::usage(anyhow!(
            "{why} Give a complete file, or pass --allow-truncated to transcode what it holds."
        )));
    }
    let mut warnings = source.warnings.clone();
    let resolved = transcode::resolve_backend(cfg.backend, &cfg.gpus)
        .context("the requested backend cannot run here")
        .map_err(Failure::run)?;
    transcode::ladder::check_supported(&cfg.ladder, resolved.backend.encoder_family())
        .with_context(|| {
            format!(
                "the ladder cannot be encoded by the {} backend",
                resolved.backend
            )
        })
        .map_err(Failure::usage)?;
    if let Some(reason) = &resolved.fallback_reason {
        warnings.push(format!("backend auto fell back to cpu: {reason}"));
    }
    warnings.extend(transcode::ladder::depth_warnings(&cfg.ladder));
    if !cfg.quiet {
        for w in &warnings {
            crate::report::progress::warn(w);
        }
    }
    Ok(Prepared {
        workdir,
        out,
        source,
        resolved,
        warnings,
    })
}

/// Step 2: what runs beside the sessions.
pub struct Sidecars {
    pub host: HostInfo,
    pub payments: Option<payments::RunPayments>,
    /// One broadcaster per session for the whole run: its nonces, credit and balance carry across
    /// repeats, as they would across a long stream.
    pub payers: Vec<Option<payments::SessionPayments>>,
    pub meters: meters::Meters,
    pub csv: crate::report::csv::SegmentsWriter,
    pub progress: crate::report::progress::Progress,
    /// Network mode (`--orchestrator`): segments go over HTTP; the orchestrator pays itself.
    pub network: Option<remote::Network>,
    /// `--metrics-addr`'s endpoint.
    pub metrics: Option<remote::MetricsServer>,
}

/// Step 2 of [`execute`]: the chain and payments, the meters (idle baseline first), segments.csv.
pub fn start_sidecars(cfg: &RunConfig, prepared: &Prepared) -> Result<Sidecars, Failure> {
    let host = HostInfo::detect();
    let metrics = remote::start_metrics(cfg).map_err(Failure::usage)?;
    let network = match &cfg.network {
        Some(n) => Some(
            remote::Network::start(
                n,
                cfg,
                metrics.as_ref().map(|m| std::sync::Arc::clone(&m.0)),
            )
            .context("network mode could not start")
            .map_err(Failure::usage)?,
        ),
        None => None,
    };
    let payments = match &cfg.payments {
        Some(p) if network.is_none() => Some(payments::start(p, cfg).map_err(Failure::run)?),
        _ => None,
    };
    let mut payers = Vec::with_capacity(cfg.concurrent_sessions as usize);
    for session in 0..cfg.concurrent_sessions {
        payers.push(match payments.as_ref() {
            Some(p) => Some(p.session(session).map_err(Failure::run)?),
            None => None,
        });
    }
    // `--metrics-addr` shows the power and energy while the run lasts.
    let observer = metrics.as_ref().map(|m| {
        let m = std::sync::Arc::clone(&m.0);
        Box::new(move |watts: Option<f64>, joules: f64| m.power(watts, joules))
            as crate::metering::power::PowerObserver
    });
    let meters = meters::Meters::start(cfg, &prepared.resolved, &INTERRUPTED, observer)
        .map_err(Failure::run)?;
    let segments_csv = cfg.out_dir.join("segments.csv");
    let csv = crate::report::csv::SegmentsWriter::create(&segments_csv)
        .with_context(|| format!("cannot write {}", segments_csv.display()))
        .map_err(Failure::run)?;
    let per_session = segments_per_session(&prepared.source, cfg);
    let total = u64::from(per_session) * u64::from(cfg.concurrent_sessions) * u64::from(cfg.repeat);
    let progress = crate::report::progress::Progress::new(total, cfg.quiet || cfg.json);
    Ok(Sidecars {
        host,
        payments,
        payers,
        meters,
        csv,
        progress,
        network,
        metrics,
    })
}

/// Step 3's output: every finished segment and each repeat's summary.
pub struct Repeats {
    pub records: Vec<(SegmentRecord, SegmentExtras)>,
    pub summaries: Vec<Summary>,
    pub wall_seconds: f64,
    /// The first thing that went wrong (the rest of the run stops there).
    pub failure: Option<anyhow::Error>,
    /// CPU time by side over the repeats, and the process's CPU time meanwhile.
    pub cpu: cpu_clock::CpuTally,
    pub process_cpu_ns: u64,
}

/// Step 3 of [`execute`]: `--repeat` times, every session over the source; stops at the first
/// failure or signal.
pub fn run_repeats(cfg: &RunConfig, prepared: &Prepared, sidecars: &mut Sidecars) -> Repeats {
    let mut out = Repeats {
        records: Vec::new(),
        summaries: Vec::new(),
        wall_seconds: 0.0,
        failure: None,
        cpu: cpu_clock::CpuTally::default(),
        process_cpu_ns: 0,
    };
    if cfg.network.is_some() {
        out.cpu.mark_unavailable(
            "network mode: the transcode runs in the orchestrator's process, not this one (process_cpu_seconds is the broadcaster's side alone)".to_string(),
        );
    }
    let renditions_dir = cfg.out_dir.join("renditions");
    for repeat in 0..cfg.repeat {
        let keep_dir = cfg
            .keep_renditions
            .then(|| kept_dir(&renditions_dir, repeat));
        if let Some(dir) = &keep_dir {
            if let Err(e) = std::fs::create_dir_all(dir) {
                out.failure = Some(anyhow!("cannot create {}: {e}", dir.display()));
                break;
            }
        }
        let started = Instant::now();
        let process_cpu = cpu_clock::process_cpu_ns();
        let (records, failure) =
            run_one_repeat(cfg, prepared, sidecars, repeat, keep_dir, &out.cpu);
        out.process_cpu_ns += cpu_clock::process_cpu_ns().saturating_sub(process_cpu);
        let wall = started.elapsed().as_secs_f64();
        out.wall_seconds += wall;
        out.summaries.push(summary::summarize(&records, wall));
        out.records.extend(records);
        if let Some(f) = failure {
            out.failure.get_or_insert(f);
        }
        if out.failure.is_some() || interrupted() {
            break;
        }
    }
    sidecars.progress.finish();
    out
}

/// One repeat: spawns the sessions, then writes each finished segment's row as it arrives.
fn run_one_repeat(
    cfg: &RunConfig,
    prepared: &Prepared,
    sidecars: &mut Sidecars,
    repeat: u32,
    keep_dir: Option<PathBuf>,
    cpu: &cpu_clock::CpuTally,
) -> (Vec<(SegmentRecord, SegmentExtras)>, Option<anyhow::Error>) {
    let per_session = segments_per_session(&prepared.source, cfg);
    let (tx, rx) = mpsc::channel::<Event>();
    let stop = AtomicBool::new(false);
    let mut records = Vec::new();
    let mut failure: Option<anyhow::Error> = None;
    let Sidecars {
        payers,
        csv,
        progress,
        network,
        metrics,
        ..
    } = sidecars;
    let network = network.as_ref();
    std::thread::scope(|scope| {
        for (session, payer) in (0..cfg.concurrent_sessions).zip(payers.iter_mut()) {
            let ctx = SessionCtx {
                cfg,
                source: &prepared.source,
                resolved: &prepared.resolved,
                keep_dir: keep_dir.clone(),
                repeat,
                per_session,
                cpu,
                network,
                metrics: metrics.as_ref().map(|m| &*m.0),
            };
            if let Err(e) =
                sessions::spawn_session(scope, ctx, session, payer.as_mut(), tx.clone(), &stop)
            {
                failure.get_or_insert(e);
                stop.store(true, Ordering::SeqCst);
                break;
            }
        }
        drop(tx);
        loop {
            // Poll, so a signal reaches sessions that are sleeping between live segments.
            let event = match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(event) => event,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if interrupted() {
                        stop.store(true, Ordering::SeqCst);
                    }
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            if interrupted() {
                stop.store(true, Ordering::SeqCst);
            }
            match event {
                Event::Segment(boxed) => {
                    let (record, extras) = *boxed;
                    let quality: Vec<_> = extras
                        .quality
                        .iter()
                        .map(|(_, q)| q.as_ref().and_then(|q| q.summary()))
                        .collect();
                    if let Err(e) = csv.write_with_quality(&record, &quality) {
                        failure.get_or_insert(e.context("cannot write segments.csv"));
                        stop.store(true, Ordering::SeqCst);
                    }
                    progress.segment_done(&record);
                    records.push((record, extras));
                }
                Event::Failed { session, error } => {
                    stop.store(true, Ordering::SeqCst);
                    failure.get_or_insert(error.context(format!("session {session} failed")));
                }
            }
        }
    });
    (records, failure)
}

/// Step 4 of [`execute`]: payments settled, meters read, the result built and written.
pub fn finish(
    cfg: &RunConfig,
    argv: Vec<String>,
    started_utc: DateTime<Utc>,
    prepared: Prepared,
    sidecars: Sidecars,
    repeats: Repeats,
) -> Result<RunOutcome, Failure> {
    let Prepared {
        workdir,
        out,
        source,
        resolved,
        mut warnings,
    } = prepared;
    let Sidecars {
        host,
        payments,
        payers,
        meters,
        csv,
        progress: _,
        network,
        metrics,
    } = sidecars;
    drop(csv);
    let Repeats {
        records,
        summaries,
        wall_seconds,
        mut failure,
        cpu,
        process_cpu_ns,
    } = repeats;
    let interrupted = interrupted();
    if interrupted {
        warnings.push(
            "interrupted by a signal (Ctrl-C or SIGTERM): results cover the finished segments only"
                .into(),
        );
    }
    let summary = summary::summarize(&records, wall_seconds);
    drop(payers);
    let network_summary = network.map(|n| {
        let failed = n.failures();
        let (s, warning) = n.finish();
        warnings.extend(warning);
        if failed > 0 {
            failure.get_or_insert(anyhow!(
                "{failed} {} ({:?}); see network.csv",
                remote::LOST_SEGMENTS,
                s.segments_failed
            ));
        }
        s
    });
    if let Some((_, Some((stop, handle)))) = metrics {
        stop.store(true, Ordering::SeqCst);
        let _ = handle.join();
    }
    let payments_summary = match payments {
        Some(p) => match payments::finish(p) {
            Ok(s) => Some(s),
            Err(e) => {
                failure.get_or_insert(e);
                None
            }
        },
        None => None,
    };
    let quality = quality_report(cfg, &records);
    let records_only: Vec<SegmentRecord> = records.into_iter().map(|(r, _)| r).collect();
    let metered = meters.finish(&summary, &records_only, cfg, &mut warnings);
    if let Some(csv_bytes) = &metered.power_csv {
        let path = cfg.out_dir.join("power.csv");
        if let Err(e) = files::write_atomic(&path, csv_bytes) {
            warnings.push(format!("{e:#}"));
        }
    }
    let mut result = RunResult {
        schema_version: SCHEMA_VERSION,
        rigbench_version: env!("CARGO_PKG_VERSION").to_string(),
        command_line: argv,
        started_utc,
        finished_utc: Utc::now(),
        partial: interrupted || failure.is_some(),
        host: host.clone(),
        source: source.info.clone(),
        ladder: cfg.ladder.clone(),
        backend: backend_report(cfg, &resolved),
        sessions: sessions_report(cfg),
        repeats: summaries,
        summary,
        payments: payments_summary,
        power: metered.power,
        bandwidth: metered.bandwidth,
        economics: None,
        warnings,
        quality,
        fingerprint: crate::result::Fingerprint::new(
            crate::metering::inventory::source_sha256(&cfg.input, &source.info.kind),
            &cfg.ladder,
            &host,
            cfg.effective_flags(),
        ),
        reportable: crate::result::Reportable::default(),
        network: network_summary,
        cpu: Some(cpu.split(process_cpu_ns)),
    };
    if let Some(rig) = &cfg.rig {
        match crate::economics::evaluate(&result, rig) {
            Ok(e) => result.economics = Some(e),
            Err(e) => result
                .warnings
                .push(format!("economics not computed: {e:#}")),
        }
    }
    result.reportable = crate::result::assess_reportable(&result, false);

    if let Err(e) = write_run_json(&cfg.out_dir, &result) {
        // The first cause (often the same full disk) is the one worth reading.
        let error = match failure {
            Some(first) => anyhow!("{first:#}; then run.json could not be written either: {e:#}"),
            None => e,
        };
        return Err(Failure::run(error));
    }
    let report_md = cfg.out_dir.join("report.md");
    if let Err(e) = files::write_atomic(
        &report_md,
        crate::report::markdown::report(&result).as_bytes(),
    ) {
        result.warnings.push(format!("{e:#}"));
    }
    let power_series = metered
        .power_csv
        .as_deref()
        .map(crate::report::charts::power_series_from_csv)
        .unwrap_or_default();
    let report_html = cfg.out_dir.join("report.html");
    let page = crate::report::html::run_page(&crate::report::html::PageData {
        result: &result,
        segments: &records_only,
        power: &power_series,
        capacity: None,
        market: None,
    });
    if let Err(e) = files::write_atomic(&report_html, page.as_bytes()) {
        result.warnings.push(format!("{e:#}"));
    }
    drop(workdir);
    drop(out);

    let stopped = match failure {
        Some(error) => Some(error.context(format!(
            "run failed; finished segments are in {}",
            cfg.out_dir.display()
        ))),
        None if interrupted => Some(anyhow!(
            "interrupted by a signal after {} segments; they are in {}",
            result.summary.total_segments,
            cfg.out_dir.display()
        )),
        None => None,
    };
    let invalid_renditions = result.summary.validation.renditions_failed > 0 && !cfg.allow_invalid;
    Ok(RunOutcome {
        quality_failures: result.quality.below_threshold.clone(),
        result,
        out_dir: cfg.out_dir.clone(),
        invalid_renditions,
        stopped,
    })
}

/// Which segments were scored, the renditions below `--min-ssim` / `--min-psnr` (by their mean
/// over their frames, all planes), and the renditions that could not be scored.
fn quality_report(cfg: &RunConfig, records: &[(SegmentRecord, SegmentExtras)]) -> QualityReport {
    use crate::validation::quality;
    let mut report = QualityReport {
        mode: cfg.quality,
        sample_every_segments: quality::SAMPLE_EVERY_SEGMENTS,
        min_ssim: cfg.min_ssim,
        min_psnr_db: cfg.min_psnr_db,
        vmaf: if cfg.quality == quality::QualityMode::Off {
            "not computed: --quality off".to_string()
        } else {
            quality::vmaf_note()
        },
        ..QualityReport::default()
    };
    for (record, extras) in records {
        if extras.quality.is_empty() {
            continue;
        }
        report.segments_scored.push(ScoredSegment {
            repeat: record.repeat,
            session: record.session,
            segment: record.segment,
        });
        for (name, scores) in &extras.quality {
            // A rendition that failed to score has its reason in `quality_errors`.
            let Some(scores) = scores else { continue };
            let at = format!(
                "session {} segment {} (repeat {}) rendition {name}",
                record.session, record.segment, record.repeat
            );
            match scores.summary() {
                Some(q) => {
                    if let Some(why) = quality::below_thresholds(&q, cfg.min_ssim, cfg.min_psnr_db)
                    {
                        report.below_threshold.push(format!("{at}: {why}"));
                    }
                }
                None => report
                    .errors
                    .push(format!("{at}: no frame could be scored")),
            }
        }
        report.errors.extend(extras.quality_errors.iter().cloned());
    }
    report
}

fn backend_report(cfg: &RunConfig, resolved: &ResolvedBackend) -> BackendReport {
    BackendReport {
        requested: format!("{:?}", cfg.backend).to_lowercase(),
        used: resolved.backend.name().to_string(),
        fallback_reason: resolved.fallback_reason.clone(),
        gpu_devices: resolved.devices.clone(),
        encoders: resolved.encoders.clone(),
        decoder: resolved.decoder.clone(),
    }
}

fn sessions_report(cfg: &RunConfig) -> SessionsReport {
    SessionsReport {
        concurrent_sessions: cfg.concurrent_sessions,
        session_delay_ms: u64::try_from(cfg.session_delay.as_millis()).unwrap_or(u64::MAX),
        loops: cfg.loops,
        repeats: cfg.repeat,
        segs_limit: cfg.segs,
        live: cfg.live,
        segment_seconds: cfg.segment_seconds,
    }
}

/// Writes run.json (pretty, newline-terminated), atomically.
pub fn write_run_json(out_dir: &Path, result: &RunResult) -> anyhow::Result<()> {
    let bytes = crate::report::json::run_json(result)?;
    files::write_atomic(&out_dir.join("run.json"), &bytes)
}

/// Where a repeat's kept renditions go: `renditions/` for the first, `renditions/repeat-N/` for
/// the others, so a repeat never overwrites an earlier one's files.
fn kept_dir(renditions_dir: &Path, repeat: u32) -> PathBuf {
    if repeat == 0 {
        renditions_dir.to_path_buf()
    } else {
        renditions_dir.join(format!("repeat-{repeat}"))
    }
}

/// Segments each session transcodes in one repeat: the source times `--loop`, capped by `--segs`
/// (and by u32, the segment numbers' type).
fn segments_per_session(source: &PreparedSource, cfg: &RunConfig) -> u32 {
    let all = (source.segments.len() as u64).saturating_mul(u64::from(cfg.loops));
    let all = u32::try_from(all).unwrap_or(u32::MAX);
    if cfg.segs > 0 {
        all.min(cfg.segs)
    } else {
        all
    }
}
