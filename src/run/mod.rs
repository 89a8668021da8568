//! The run: schedules sessions, drives each segment through ingest → transcode → validation with
//! payments beside it and meters around it, and folds everything into one [`RunResult`].
//!
//! Threads: one per session (each owns its long-lived transcoder and its broadcaster's payer);
//! the calling thread owns the output files and the progress bar and receives finished segments
//! over a channel, so every row is flushed as soon as its segment is done. Validation runs in
//! the session thread right after the transcode and is not part of `transcode_time`.

pub mod meters;
pub mod payments;
pub mod remote;
pub mod summary;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use chrono::Utc;

use crate::config::RunConfig;
use crate::error::Failure;
use crate::ingest::{self, PreparedSource, Segment};
use crate::result::{BackendReport, RunResult, SegmentRecord, SessionsReport, SCHEMA_VERSION};
use crate::transcode::{self, ResolvedBackend, SegmentOutput, Session, SessionConfig};
use crate::validation;
use summary::{RenditionVerdict, SegmentExtras};

/// Set by Ctrl-C: sessions stop after their current segment and the run is written as partial.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs the Ctrl-C handler once per process.
pub fn install_interrupt_handler() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // A second handler (e.g. a host program's) is not ours to replace; Ctrl-C then just
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
    /// Why the run stopped early (a session failed, or Ctrl-C); run.json is written and marked
    /// partial either way.
    pub stopped: Option<anyhow::Error>,
}

/// One message from a session thread.
enum Event {
    Segment(Box<(SegmentRecord, SegmentExtras)>),
    Failed { session: u32, error: anyhow::Error },
}

/// Runs the whole benchmark described by `cfg`.
pub fn execute(cfg: &RunConfig, argv: Vec<String>) -> Result<RunOutcome, Failure> {
    let started_utc = Utc::now();
    ingest::init_ffmpeg();
    install_interrupt_handler();
    INTERRUPTED.store(false, Ordering::SeqCst);

    fs::create_dir_all(&cfg.out_dir)
        .with_context(|| format!("cannot create --out-dir {}", cfg.out_dir.display()))
        .map_err(Failure::usage)?;
    let workdir = tempfile::Builder::new()
        .prefix(".segments-")
        .tempdir_in(&cfg.out_dir)
        .with_context(|| format!("cannot create a work folder in {}", cfg.out_dir.display()))
        .map_err(Failure::usage)?;

    let source = ingest::prepare(&cfg.input, cfg.segment_seconds, workdir.path())
        .with_context(|| format!("cannot use input {}", cfg.input.display()))
        .map_err(Failure::usage)?;
    if source.segments.is_empty() {
        return Err(Failure::usage(anyhow!(
            "input {} yielded no segment to transcode",
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
    for w in &warnings {
        if !cfg.quiet {
            eprintln!("warning: {w}");
        }
    }

    let host = crate::metering::inventory::HostInfo::detect();
    let renditions_dir = cfg.out_dir.join("renditions");

    let mut payments = match &cfg.payments {
        Some(p) if cfg.network.is_none() => {
            Some(crate::run::payments::start(p, cfg).map_err(Failure::run)?)
        }
        _ => None,
    };

    let meters = crate::run::meters::Meters::start(cfg, &resolved).map_err(Failure::run)?;

    // Network mode: segments go to an orchestrator over HTTP; its payments are its own.
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

    let segments_csv = cfg.out_dir.join("segments.csv");
    let mut csv = crate::report::csv::SegmentsWriter::create(&segments_csv)
        .with_context(|| format!("cannot write {}", segments_csv.display()))
        .map_err(Failure::usage)?;

    let per_session = segments_per_session(&source, cfg);
    let total = per_session as u64 * cfg.concurrent_sessions as u64 * cfg.repeat as u64;
    let progress = crate::report::progress::Progress::new(total, cfg.quiet || cfg.json);

    // One broadcaster per session for the whole run: its nonces, credit and balance carry across
    // repeats, as they would across a long stream.
    let mut payers = Vec::new();
    if let Some(p) = payments.as_ref() {
        for session in 0..cfg.concurrent_sessions {
            payers.push(Some(p.session(session).map_err(Failure::run)?));
        }
    } else {
        payers.resize_with(cfg.concurrent_sessions as usize, || None);
    }

    let mut all_records: Vec<(SegmentRecord, SegmentExtras)> = Vec::new();
    let mut repeats = Vec::new();
    let mut wall_total = 0.0;
    let mut failure: Option<anyhow::Error> = None;

    for repeat in 0..cfg.repeat {
        if cfg.keep_renditions {
            let dir = kept_dir(&renditions_dir, repeat);
            if let Err(e) = fs::create_dir_all(&dir) {
                failure.get_or_insert(anyhow!("cannot create {}: {e}", dir.display()));
                break;
            }
        }
        let (tx, rx) = mpsc::channel::<Event>();
        let stop = Arc::new(AtomicBool::new(false));
        let repeat_start = Instant::now();
        let mut records = Vec::new();
        std::thread::scope(|scope| {
            for (session, payer) in (0..cfg.concurrent_sessions).zip(payers.iter_mut()) {
                let tx = tx.clone();
                let stop = Arc::clone(&stop);
                let ctx = SessionCtx {
                    cfg,
                    source: &source,
                    resolved: &resolved,
                    keep_dir: cfg
                        .keep_renditions
                        .then(|| kept_dir(&renditions_dir, repeat)),
                    repeat,
                    per_session,
                    network: network.as_ref(),
                };
                scope.spawn(move || {
                    // Stagger session starts like livepeer_bench's -concurrentSessionDelay.
                    if !ingest::pacing::sleep_unless_stopped(cfg.session_delay * session, &stop) {
                        return;
                    }
                    if let Err(error) = run_session(&ctx, session, payer.as_mut(), &tx, &stop) {
                        let _ = tx.send(Event::Failed { session, error });
                    }
                });
            }
            drop(tx);
            loop {
                // Poll, so Ctrl-C reaches sessions that are sleeping between live segments.
                let event = match rx.recv_timeout(Duration::from_millis(100)) {
                    Ok(event) => event,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if INTERRUPTED.load(Ordering::SeqCst) {
                            stop.store(true, Ordering::SeqCst);
                        }
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                };
                if INTERRUPTED.load(Ordering::SeqCst) {
                    stop.store(true, Ordering::SeqCst);
                }
                match event {
                    Event::Segment(boxed) => {
                        let (record, extras) = *boxed;
                        if let Err(e) = csv.write(&record) {
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
        let wall = repeat_start.elapsed().as_secs_f64();
        wall_total += wall;
        repeats.push(summary::summarize(&records, wall));
        all_records.extend(records);
        if failure.is_some() || INTERRUPTED.load(Ordering::SeqCst) {
            break;
        }
    }
    progress.finish();
    let interrupted = INTERRUPTED.load(Ordering::SeqCst);
    if interrupted {
        warnings.push("interrupted by Ctrl-C: results cover the finished segments only".into());
    }

    let summary = summary::summarize(&all_records, wall_total);
    drop(payers);
    let network_summary = network.map(|n| {
        let failed = n.failures();
        let (s, warning) = n.finish();
        warnings.extend(warning);
        if failed > 0 {
            failure.get_or_insert(anyhow!(
                "{failed} segments did not come back from the orchestrator ({:?}); see network.csv",
                s.segments_failed
            ));
        }
        s
    });
    if let Some((_, stop, handle)) = metrics {
        stop.store(true, Ordering::SeqCst);
        let _ = handle.join();
    }
    let payments_summary = match payments.take() {
        Some(p) => match crate::run::payments::finish(p) {
            Ok(s) => Some(s),
            Err(e) => {
                failure.get_or_insert(e);
                None
            }
        },
        None => None,
    };
    let records_only: Vec<SegmentRecord> = all_records.iter().map(|(r, _)| r.clone()).collect();
    let metered = meters.finish(&summary, &records_only, cfg, &mut warnings);
    if let Some(csv_bytes) = &metered.power_csv {
        let path = cfg.out_dir.join("power.csv");
        if let Err(e) = fs::write(&path, csv_bytes) {
            warnings.push(format!("cannot write {}: {e}", path.display()));
        }
    }

    let mut result = RunResult {
        schema_version: SCHEMA_VERSION,
        rigbench_version: env!("CARGO_PKG_VERSION").to_string(),
        command_line: argv,
        started_utc,
        finished_utc: Utc::now(),
        partial: interrupted || failure.is_some(),
        host,
        source: source.info.clone(),
        ladder: cfg.ladder.clone(),
        backend: BackendReport {
            requested: format!("{:?}", cfg.backend).to_lowercase(),
            used: resolved.backend.name().to_string(),
            fallback_reason: resolved.fallback_reason.clone(),
            gpu_devices: resolved.devices.clone(),
            encoders: resolved.encoders.clone(),
            decoder: resolved.decoder.clone(),
        },
        sessions: SessionsReport {
            concurrent_sessions: cfg.concurrent_sessions,
            session_delay_ms: cfg.session_delay.as_millis() as u64,
            loops: cfg.loops,
            repeats: cfg.repeat,
            segs_limit: cfg.segs,
            live: cfg.live,
            segment_seconds: cfg.segment_seconds,
        },
        repeats,
        summary,
        payments: payments_summary,
        power: metered.power,
        bandwidth: metered.bandwidth,
        economics: None,
        warnings,
        network: network_summary,
    };
    if let Some(rig) = &cfg.rig {
        match crate::economics::evaluate(&result, rig) {
            Ok(e) => result.economics = Some(e),
            Err(e) => result
                .warnings
                .push(format!("economics not computed: {e:#}")),
        }
    }

    write_run_json(&cfg.out_dir, &result).map_err(Failure::run)?;
    let report_md = cfg.out_dir.join("report.md");
    if let Err(e) = fs::write(&report_md, crate::report::markdown::report(&result)) {
        result
            .warnings
            .push(format!("cannot write {}: {e}", report_md.display()));
    }
    drop(workdir);

    let stopped = match failure {
        Some(error) => Some(error.context(format!(
            "run failed; finished segments are in {}",
            cfg.out_dir.display()
        ))),
        None if interrupted => Some(anyhow!(
            "interrupted by Ctrl-C after {} segments; they are in {}",
            result.summary.total_segments,
            cfg.out_dir.display()
        )),
        None => None,
    };
    let invalid_renditions = result.summary.validation.renditions_failed > 0 && !cfg.allow_invalid;
    Ok(RunOutcome {
        result,
        out_dir: cfg.out_dir.clone(),
        invalid_renditions,
        stopped,
    })
}

/// Writes run.json (pretty, newline-terminated).
pub fn write_run_json(out_dir: &Path, result: &RunResult) -> anyhow::Result<()> {
    let path = out_dir.join("run.json");
    let bytes = crate::report::json::run_json(result)?;
    let mut f =
        fs::File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(&bytes)
        .and_then(|_| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
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

/// Segments each session transcodes in one repeat: the source times `--loop`, capped by `--segs`.
fn segments_per_session(source: &PreparedSource, cfg: &RunConfig) -> u32 {
    let all = source.segments.len() as u32 * cfg.loops;
    if cfg.segs > 0 {
        all.min(cfg.segs)
    } else {
        all
    }
}

/// What a session thread borrows from the run.
struct SessionCtx<'a> {
    cfg: &'a RunConfig,
    source: &'a PreparedSource,
    resolved: &'a ResolvedBackend,
    keep_dir: Option<PathBuf>,
    repeat: u32,
    per_session: u32,
    /// Network mode: the remote transcode step's shared state.
    network: Option<&'a remote::Network>,
}

/// A transcoded segment on its way to the broadcaster's checks.
struct ToValidate<'a> {
    seg: &'a Segment,
    out: SegmentOutput,
    record: SegmentRecord,
}

/// One stream: a long-lived transcoder and a broadcaster paying for each segment. The
/// broadcaster's validation runs on a second thread, one segment behind the transcode, so it
/// overlaps the next segment's transcode instead of delaying it (it is the broadcaster's work,
/// not the orchestrator's, and never part of `transcode_time`).
fn run_session(
    ctx: &SessionCtx<'_>,
    session: u32,
    payer: Option<&mut crate::run::payments::SessionPayments>,
    tx: &mpsc::Sender<Event>,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let (vtx, vrx) = mpsc::sync_channel::<ToValidate<'_>>(1);
    std::thread::scope(|scope| {
        let fps = ctx.source.info.fps;
        let ladder = &ctx.cfg.ladder;
        scope.spawn(move || {
            for job in vrx {
                let checks = validation::validate_segment(&job.out, ladder, job.seg, fps);
                let verdicts: Vec<RenditionVerdict> = job
                    .out
                    .renditions
                    .iter()
                    .zip(&checks)
                    .map(|(r, check)| RenditionVerdict {
                        rendition: r.name.clone(),
                        failed_checks: check
                            .failures
                            .iter()
                            .map(|c| c.as_str().to_string())
                            .collect(),
                    })
                    .collect();
                let mut record = job.record;
                record.valid_renditions = verdicts
                    .iter()
                    .filter(|v| v.failed_checks.is_empty())
                    .count() as u32;
                let extras = SegmentExtras {
                    output_frames: job.out.renditions.iter().map(|r| r.frames).sum(),
                    verdicts,
                };
                if tx.send(Event::Segment(Box::new((record, extras)))).is_err() {
                    break;
                }
            }
        });
        // Dropping `vtx` when this returns lets the validator finish the queue and end.
        transcode_loop(ctx, session, payer, vtx, stop)
    })
}

/// The orchestrator's side of one session: pay, transcode, debit, hand over for validation.
fn transcode_loop<'a>(
    ctx: &SessionCtx<'a>,
    session: u32,
    mut payer: Option<&mut crate::run::payments::SessionPayments>,
    validator: mpsc::SyncSender<ToValidate<'a>>,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let cfg = ctx.cfg;
    let mut transcoder = remote::SegmentTranscoder::new(ctx.network, session, &cfg.ladder, || {
        Session::new(
            SessionConfig {
                backend: ctx.resolved.backend,
                gpu: transcode::assign_device(session, &ctx.resolved.devices),
                ladder: cfg.ladder.clone(),
                keep_renditions_dir: ctx.keep_dir.clone(),
                session,
            },
            &ctx.source.info,
        )
        .context("cannot open the transcoder")
    })?;
    let n = ctx.source.segments.len() as u32;
    for number in 0..ctx.per_session {
        if stop.load(Ordering::SeqCst) || INTERRUPTED.load(Ordering::SeqCst) {
            break;
        }
        let seg: &'a Segment = &ctx.source.segments[(number % n) as usize];
        let started = Instant::now();
        let Some(done) =
            transcoder.transcode(seg, number, ctx.repeat, &cfg.ladder, payer.as_deref_mut())?
        else {
            // A remote segment that did not come back is counted by the network summary.
            if cfg.live
                && !ingest::pacing::pace_after_segment(
                    seg.duration_seconds,
                    started.elapsed(),
                    stop,
                )
            {
                break;
            }
            continue;
        };
        let (out, tickets, fee_wei, transcode_time) =
            (done.out, done.tickets, done.fee_wei, done.transcode_time);
        let pixels: u64 = out.renditions.iter().map(|r| r.pixels).sum();
        let record = SegmentRecord {
            timestamp: crate::report::csv::livepeer_timestamp(Utc::now()),
            session,
            segment: number,
            seg_dur: seg.duration_seconds,
            transcode_time,
            frames: out.renditions.first().map_or(0, |r| r.frames),
            pixels,
            bytes_in: seg.bytes,
            bytes_out: out.renditions.iter().map(|r| r.data.len() as u64).sum(),
            renditions: out.renditions.len() as u32,
            valid_renditions: 0,
            decode_errors: out.decode_errors,
            tickets,
            fee_wei,
            repeat: ctx.repeat,
        };
        if validator.send(ToValidate { seg, out, record }).is_err() {
            break;
        }
        if cfg.live
            && !ingest::pacing::pace_after_segment(seg.duration_seconds, started.elapsed(), stop)
        {
            break;
        }
    }
    Ok(())
}
