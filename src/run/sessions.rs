//! The session threads of one repeat: one thread per session (its long-lived transcoder and its
//! broadcaster's payer) and, beside each, the broadcaster's validation one segment behind. The
//! calling thread receives finished segments over a channel. Every spawn handles the operating
//! system's refusal: the repeat stops and says which session could not start, nothing panics.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use anyhow::{anyhow, Context};
use chrono::Utc;

use super::cpu_clock::{self, CpuTally};
use super::payments::SessionPayments;
use super::summary::{RenditionVerdict, SegmentExtras};
use crate::config::{RunConfig, ValidationPlan};
use crate::ingest::{self, PreparedSource, Segment};
use crate::result::SegmentRecord;
use crate::transcode::{self, ResolvedBackend, SegmentOutput, Session, SessionConfig};
use crate::validation;

/// One message from a session thread.
pub(crate) enum Event {
    Segment(Box<(SegmentRecord, SegmentExtras)>),
    Failed { session: u32, error: anyhow::Error },
}

/// What a session thread borrows from the run.
pub(crate) struct SessionCtx<'a> {
    pub cfg: &'a RunConfig,
    pub source: &'a PreparedSource,
    pub resolved: &'a ResolvedBackend,
    pub keep_dir: Option<PathBuf>,
    pub repeat: u32,
    pub per_session: u32,
    /// CPU time by side, summed over sessions.
    pub cpu: &'a super::cpu_clock::CpuTally,
    /// Network mode: the remote transcode step's shared state.
    pub network: Option<&'a super::remote::Network>,
    /// `--metrics-addr`: in process, each segment is counted here (network mode counts its
    /// own round trips).
    pub metrics: Option<&'a crate::metrics::Metrics>,
}

/// Starts session `session`'s thread in `scope`: it waits its stagger, then transcodes. A refused
/// spawn is returned as an error (the caller stops the repeat).
pub(crate) fn spawn_session<'scope, 'env>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    ctx: SessionCtx<'env>,
    session: u32,
    payer: Option<&'env mut SessionPayments>,
    tx: mpsc::Sender<Event>,
    stop: &'env AtomicBool,
) -> anyhow::Result<()> {
    let delay = ctx
        .cfg
        .session_delay
        .checked_mul(session)
        .unwrap_or(std::time::Duration::MAX);
    std::thread::Builder::new()
        .name(format!("session-{session}"))
        .spawn_scoped(scope, move || {
            // Stagger session starts like livepeer_bench's -concurrentSessionDelay.
            if !ingest::pacing::sleep_unless_stopped(delay, stop) {
                return;
            }
            if let Err(error) = run_session(&ctx, session, payer, &tx, stop) {
                let _ = tx.send(Event::Failed { session, error });
            }
        })
        .map(|_| ())
        .map_err(|e| {
            anyhow!(
                "cannot start session {session}'s thread: {e}; the system refused more threads, lower --concurrent-sessions"
            )
        })
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
    payer: Option<&mut SessionPayments>,
    tx: &mpsc::Sender<Event>,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let (vtx, vrx) = mpsc::sync_channel::<ToValidate<'_>>(1);
    std::thread::scope(|scope| {
        let info = &ctx.source.info;
        let ladder = &ctx.cfg.ladder;
        let quality_mode = ctx.cfg.quality;
        let (plan, last, cpu) = (
            ctx.cfg.validation,
            ctx.per_session.saturating_sub(1),
            ctx.cpu,
        );
        std::thread::Builder::new()
            .name(format!("validate-{session}"))
            .spawn_scoped(scope, move || {
                cpu.measure(&cpu.validation_ns, || {
                    for job in vrx {
                        // A sampled plan checks each session's first and last segment only.
                        let sampled = job.record.segment == 0 || job.record.segment == last;
                        let checked = plan == ValidationPlan::All || sampled;
                        let (record, extras) =
                            validate(job, ladder, info, checked, quality_mode);
                        if tx.send(Event::Segment(Box::new((record, extras)))).is_err() {
                            break;
                        }
                    }
                })
            })
            .map_err(|e| {
                anyhow!(
                    "cannot start session {session}'s validation thread: {e}; lower --concurrent-sessions"
                )
            })?;
        // Dropping `vtx` when this returns lets the validator finish the queue and end.
        ctx.cpu.measure(&ctx.cpu.transcode_ns, || {
            transcode_loop(ctx, session, payer, vtx, stop)
        })
    })
}

/// The broadcaster's checks of one transcoded segment (none when `checked` is false: the
/// segment then counts no checked rendition and `valid_renditions` 0), and its quality scores
/// when `quality` samples this segment (never part of `transcode_time`; off costs nothing).
fn validate(
    job: ToValidate<'_>,
    ladder: &[transcode::ladder::Profile],
    info: &ingest::SourceInfo,
    checked: bool,
    quality: validation::quality::QualityMode,
) -> (SegmentRecord, SegmentExtras) {
    let checks = if checked {
        validation::validate_segment(&job.out, ladder, job.seg, info)
    } else {
        Vec::new()
    };
    let mut quality_errors = Vec::new();
    let quality = if quality.scores(job.record.segment) {
        let renditions: Vec<(&str, &[u8])> = job
            .out
            .renditions
            .iter()
            .map(|r| (r.name.as_str(), r.data.as_slice()))
            .collect();
        validation::quality::score_segment(&renditions, &job.seg.path)
            .into_iter()
            .zip(&renditions)
            .map(|(scores, (name, _))| {
                let scores = scores.map_err(|e| quality_errors.push(e.to_string())).ok();
                (name.to_string(), scores)
            })
            .collect()
    } else {
        Vec::new()
    };
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
        quality,
        quality_errors,
    };
    (record, extras)
}

/// The orchestrator's side of one session: pay, transcode, debit, hand over for validation.
fn transcode_loop<'a>(
    ctx: &SessionCtx<'a>,
    session: u32,
    mut payer: Option<&mut SessionPayments>,
    validator: mpsc::SyncSender<ToValidate<'a>>,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let cfg = ctx.cfg;
    let mut transcoder =
        super::remote::SegmentTranscoder::new(ctx.network, session, &cfg.ladder, || {
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
    let n = ctx.source.segments.len() as u64;
    for number in 0..ctx.per_session {
        if stop.load(Ordering::SeqCst) || super::interrupted() {
            break;
        }
        let seg: &'a Segment = &ctx.source.segments[(u64::from(number) % n) as usize];
        let Some(local) = transcoder.local() else {
            // Network mode: the orchestrator does the paying, transcoding and debiting.
            let started = Instant::now();
            let done = transcoder.remote(seg, number, ctx.repeat)?;
            let more = !cfg.live
                || ingest::pacing::pace_after_segment(
                    seg.duration_seconds,
                    started.elapsed(),
                    stop,
                );
            if let Some(done) = done {
                let record = segment_record(
                    ctx,
                    session,
                    number,
                    seg,
                    &done.out,
                    done.transcode_time,
                    done.tickets,
                    done.fee_wei,
                );
                if validator
                    .send(ToValidate {
                        seg,
                        out: done.out,
                        record,
                    })
                    .is_err()
                {
                    break;
                }
            }
            if !more {
                break;
            }
            continue;
        };
        let pay_cpu = cpu_clock::thread_cpu_ns();
        let tickets = match payer.as_mut() {
            Some(p) => p.pay_segment(&cfg.ladder, seg)?,
            None => 0,
        };
        CpuTally::add(
            &ctx.cpu.payments_ns,
            cpu_clock::thread_cpu_ns().saturating_sub(pay_cpu),
        );
        let started = Instant::now();
        let out = local
            .transcode_segment(seg)
            .with_context(|| format!("segment {number} ({})", seg.path.display()))?;
        let transcode_time = started.elapsed().as_secs_f64();
        let pixels: u64 = out.renditions.iter().map(|r| r.pixels).sum();
        if let Some(m) = ctx.metrics {
            m.segment_transcoded(seg.duration_seconds, transcode_time, pixels);
            let ev_wei = cfg.payments.as_ref().map_or(0.0, |p| {
                p.ticket_ev_wei.to_string().parse::<f64>().unwrap_or(0.0)
            });
            m.tickets_sent(tickets, ev_wei);
        }
        let debit_cpu = cpu_clock::thread_cpu_ns();
        let fee_wei = match payer.as_mut() {
            Some(p) => p.debit(pixels)?.to_string(),
            None => "0".to_string(),
        };
        CpuTally::add(
            &ctx.cpu.payments_ns,
            cpu_clock::thread_cpu_ns().saturating_sub(debit_cpu),
        );
        let record = segment_record(
            ctx,
            session,
            number,
            seg,
            &out,
            transcode_time,
            tickets,
            fee_wei,
        );
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

/// One segments.csv row for a transcoded segment (validation fills `valid_renditions`).
#[allow(clippy::too_many_arguments)]
fn segment_record(
    ctx: &SessionCtx<'_>,
    session: u32,
    number: u32,
    seg: &Segment,
    out: &SegmentOutput,
    transcode_time: f64,
    tickets: u32,
    fee_wei: String,
) -> SegmentRecord {
    let pixels: u64 = out.renditions.iter().map(|r| r.pixels).sum();
    SegmentRecord {
        timestamp: Utc::now(),
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
    }
}
