//! The probe runner: one live `rigbench run` at k sessions (paced, staggered, looped so every
//! session streams enough segments after the last one started), judged on each session's last
//! `--probe-segments` segments, with memory sampled while it runs and the time budget enforced.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::search::{ProbeFigures, ProbeReport};
use crate::config::{RunConfig, ValidationPlan};
use crate::metering::bandwidth::percentile_nearest_rank;
use crate::transcode::GpuSelection;

/// One segment row of a probe's segments.csv, as the judge needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgedRow {
    pub session: u32,
    pub segment: u32,
    pub seg_dur: f64,
    pub transcode_time: f64,
    /// Finish time, seconds since an arbitrary origin (None when the timestamp did not parse).
    pub finished_seconds: Option<f64>,
}

/// Opens a CSV file and finds the columns `names` by header (columns others append stay
/// readable).
fn open_csv(path: &Path, names: &[&str]) -> Result<(csv::Reader<std::fs::File>, Vec<usize>)> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let headers = reader.headers()?.clone();
    let cols = names
        .iter()
        .map(|name| {
            headers
                .iter()
                .position(|h| h == *name)
                .with_context(|| format!("{} has no `{name}` column", path.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((reader, cols))
}

/// Reads the rows of a segments.csv by column name (columns others append stay readable).
pub fn read_segments_csv(path: &Path) -> Result<Vec<JudgedRow>> {
    let (mut reader, c) = open_csv(
        path,
        &[
            "timestamp",
            "session",
            "segment",
            "seg_dur",
            "transcode_time",
        ],
    )?;
    let (c_ts, c_session, c_segment, c_dur, c_time) = (c[0], c[1], c[2], c[3], c[4]);
    let mut rows = Vec::new();
    for record in reader.records() {
        let r = record.with_context(|| format!("cannot read {}", path.display()))?;
        let num = |i: usize| -> Result<f64> {
            r.get(i)
                .unwrap_or("")
                .trim()
                .parse::<f64>()
                .with_context(|| format!("{}: bad number in row {:?}", path.display(), r))
        };
        let finished_seconds = r.get(c_ts).and_then(|t| {
            chrono::NaiveDateTime::parse_from_str(t.trim(), "%Y-%m-%d %H:%M:%S%.f")
                .ok()
                .map(|d| d.and_utc().timestamp_micros() as f64 / 1e6)
        });
        rows.push(JudgedRow {
            session: num(c_session)? as u32,
            segment: num(c_segment)? as u32,
            seg_dur: num(c_dur)?,
            transcode_time: num(c_time)?,
            finished_seconds,
        });
    }
    Ok(rows)
}

/// One network.csv row, as the judge needs it (network mode).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WireRow {
    pub session: u32,
    pub segment: u32,
    pub upload_seconds: f64,
    pub download_seconds: f64,
    pub round_trip_seconds: f64,
}

/// Reads the rows of a network.csv by column name.
pub fn read_network_csv(path: &Path) -> Result<Vec<WireRow>> {
    let (mut reader, cols) = open_csv(
        path,
        &[
            "session",
            "segment",
            "upload_seconds",
            "download_seconds",
            "round_trip_seconds",
        ],
    )?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let r = record.with_context(|| format!("cannot read {}", path.display()))?;
        let mut v = [0f64; 5];
        for (slot, &i) in v.iter_mut().zip(&cols) {
            *slot = r
                .get(i)
                .unwrap_or("")
                .trim()
                .parse::<f64>()
                .with_context(|| format!("{}: bad number in row {:?}", path.display(), r))?;
        }
        rows.push(WireRow {
            session: v[0] as u32,
            segment: v[1] as u32,
            upload_seconds: v[2],
            download_seconds: v[3],
            round_trip_seconds: v[4],
        });
    }
    Ok(rows)
}

/// The judged rows with each segment's time taken from its network.csv row by `time` (rows
/// without one are left out).
pub fn with_wire_times(
    rows: &[JudgedRow],
    wire: &[WireRow],
    time: fn(&WireRow) -> f64,
) -> Vec<JudgedRow> {
    let by_key: std::collections::HashMap<(u32, u32), &WireRow> =
        wire.iter().map(|w| ((w.session, w.segment), w)).collect();
    rows.iter()
        .filter_map(|r| {
            by_key.get(&(r.session, r.segment)).map(|w| JudgedRow {
                transcode_time: time(w),
                ..r.clone()
            })
        })
        .collect()
}

/// What a network-mode probe judged: the round trip (for the search), the orchestrator's
/// transcode alone, and the transfers, over the same segments.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WireJudgement {
    pub round_trip: ProbeFigures,
    pub transcode: ProbeFigures,
    pub upload_ratio: f64,
    pub download_ratio: f64,
}

/// Judges a network-mode probe; `lost` segments never came back and fail it.
pub fn judge_wire(
    rows: &[JudgedRow],
    wire: &[WireRow],
    judged_per_session: u32,
    wall_seconds: f64,
    lost: u64,
) -> WireJudgement {
    let judge = |time: fn(&WireRow) -> f64| {
        judge_rows(
            &with_wire_times(rows, wire, time),
            judged_per_session,
            wall_seconds,
        )
    };
    let mut round_trip = judge(|w| w.round_trip_seconds);
    round_trip.segments_lost = lost;
    let mut transcode = judge_rows(rows, judged_per_session, wall_seconds);
    // The lag behind live is read off finish times, which include the transfers.
    transcode.sessions_falling_behind = 0;
    WireJudgement {
        round_trip,
        transcode,
        upload_ratio: judge(|w| w.upload_seconds).realtime_duration_ratio,
        download_ratio: judge(|w| w.download_seconds).realtime_duration_ratio,
    }
}

/// The figures of a probe: each session's last `judged_per_session` segments (the ones after the
/// last session started), the ratio over them, their p95 segment ratio, and the sessions whose lag
/// behind live grew by more than half a segment across them.
pub fn judge_rows(rows: &[JudgedRow], judged_per_session: u32, wall_seconds: f64) -> ProbeFigures {
    let mut sessions: Vec<u32> = rows.iter().map(|r| r.session).collect();
    sessions.sort_unstable();
    sessions.dedup();
    let (mut transcode, mut source) = (0.0f64, 0.0f64);
    let mut seg_ratios = Vec::new();
    let mut behind = 0u32;
    let mut judged = 0u64;
    for s in sessions {
        let mut mine: Vec<&JudgedRow> = rows.iter().filter(|r| r.session == s).collect();
        mine.sort_by_key(|r| r.segment);
        let take = (judged_per_session as usize).min(mine.len());
        let window = &mine[mine.len() - take..];
        for r in window {
            transcode += r.transcode_time;
            source += r.seg_dur;
            if r.seg_dur > 0.0 {
                seg_ratios.push(r.transcode_time / r.seg_dur);
            }
        }
        judged += window.len() as u64;
        if window.len() >= 2 {
            // Lag = finish time − the live schedule: it grows by (elapsed − media streamed).
            if let (Some(t0), Some(t1)) = (
                window[0].finished_seconds,
                window[take - 1].finished_seconds,
            ) {
                let media: f64 = window[1..].iter().map(|r| r.seg_dur).sum();
                let mean_dur = window.iter().map(|r| r.seg_dur).sum::<f64>() / take as f64;
                if (t1 - t0) - media > 0.5 * mean_dur {
                    behind += 1;
                }
            }
        }
    }
    ProbeFigures {
        realtime_duration_ratio: if source > 0.0 {
            transcode / source
        } else {
            0.0
        },
        p95_segment_ratio: percentile_nearest_rank(&seg_ratios, 95.0).unwrap_or(0.0),
        sessions_falling_behind: behind,
        segments_judged: judged,
        wall_seconds,
        segments_lost: 0,
    }
}

/// Segments each session streams so that `probe_segments` of them come after the last of
/// `sessions` sessions started (sessions start `delay` apart and stream live).
pub fn segments_per_session(
    sessions: u32,
    probe_segments: u32,
    delay: Duration,
    mean_segment_seconds: f64,
) -> u32 {
    let stagger = delay.as_secs_f64() * f64::from(sessions.saturating_sub(1));
    let during_stagger = if mean_segment_seconds > 0.0 {
        (stagger / mean_segment_seconds).ceil() as u32
    } else {
        0
    };
    probe_segments.saturating_add(during_stagger)
}

/// The live-paced length of a probe, seconds (without start-up).
pub fn paced_seconds(
    sessions: u32,
    probe_segments: u32,
    delay: Duration,
    mean_segment_seconds: f64,
) -> f64 {
    let per = segments_per_session(sessions, probe_segments, delay, mean_segment_seconds);
    delay.as_secs_f64() * f64::from(sessions.saturating_sub(1))
        + f64::from(per) * mean_segment_seconds
}

/// The run configuration of one probe.
pub fn probe_config(
    base: &RunConfig,
    sessions: u32,
    gpus: &GpuSelection,
    per_session: u32,
    source_segments: u32,
    dir: &Path,
    validation: ValidationPlan,
) -> RunConfig {
    let mut cfg = base.clone();
    cfg.concurrent_sessions = sessions;
    cfg.gpus = gpus.clone();
    cfg.segs = per_session;
    cfg.loops = per_session.div_ceil(source_segments.max(1)).max(1);
    cfg.repeat = 1;
    cfg.live = true;
    cfg.quiet = true;
    cfg.json = false;
    cfg.keep_renditions = false;
    cfg.out_dir = dir.to_path_buf();
    cfg.validation = validation;
    if validation == ValidationPlan::Sample {
        // The idle baseline and quality scores belong to the confirmation run: in a probe they
        // would take the cores being measured.
        cfg.idle_seconds = 0;
        cfg.quality = crate::validation::quality::QualityMode::Off;
        cfg.min_ssim = None;
        cfg.min_psnr_db = None;
    }
    if let Some(p) = cfg.payments.as_mut() {
        p.data_dir = dir.join("payments");
    }
    cfg
}

/// Resident memory of this process now, bytes (VmRSS).
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

/// GPU memory in use on `gpus`, summed, bytes (None without NVML).
pub fn gpu_memory_used_bytes(nvml: Option<&nvml_wrapper::Nvml>, gpus: &[u32]) -> Option<u64> {
    let nvml = nvml?;
    if gpus.is_empty() {
        return None;
    }
    let mut total = 0u64;
    for &g in gpus {
        total += nvml.device_by_index(g).ok()?.memory_info().ok()?.used;
    }
    Some(total)
}

/// Peak memory during a probe, sampled every 200 ms on a thread of its own.
pub struct MemorySampler {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<(Option<u64>, Option<u64>)>>,
    pub baseline_rss_bytes: Option<u64>,
    pub baseline_gpu_bytes: Option<u64>,
}

impl MemorySampler {
    pub fn start(gpus: Vec<u32>) -> Self {
        let nvml = if gpus.is_empty() {
            None
        } else {
            nvml_wrapper::Nvml::init().ok()
        };
        let baseline_rss_bytes = rss_bytes();
        let baseline_gpu_bytes = gpu_memory_used_bytes(nvml.as_ref(), &gpus);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("rb-memory".into())
            .spawn(move || {
                let (mut rss, mut gpu) = (baseline_rss_bytes, baseline_gpu_bytes);
                loop {
                    rss = rss.max(rss_bytes());
                    gpu = gpu.max(gpu_memory_used_bytes(nvml.as_ref(), &gpus));
                    if flag.load(Ordering::SeqCst) {
                        return (rss, gpu);
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            })
            .ok();
        Self {
            stop,
            handle,
            baseline_rss_bytes,
            baseline_gpu_bytes,
        }
    }

    /// Peak RSS and peak GPU memory in use.
    pub fn finish(mut self) -> (Option<u64>, Option<u64>) {
        self.stop.store(true, Ordering::SeqCst);
        self.handle
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or((None, None))
    }
}

/// Stops the running probe at a deadline (the time budget), by the run's own stop request.
pub struct Watchdog {
    done: Arc<AtomicBool>,
    fired: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    pub fn start(deadline: Option<Instant>) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        let fired = Arc::new(AtomicBool::new(false));
        let handle = deadline.and_then(|deadline| {
            let (done, fired) = (Arc::clone(&done), Arc::clone(&fired));
            std::thread::Builder::new()
                .name("rb-budget".into())
                .spawn(move || {
                    while !done.load(Ordering::SeqCst) {
                        if Instant::now() >= deadline {
                            fired.store(true, Ordering::SeqCst);
                            crate::run::request_stop();
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                })
                .ok()
        });
        Self {
            done,
            fired,
            handle,
        }
    }

    /// Whether the deadline stopped the probe.
    pub fn finish(mut self) -> bool {
        self.done.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.fired.load(Ordering::SeqCst)
    }
}

/// What one executed probe left: its report for the search and the facts for the result.
#[derive(Debug)]
pub struct Executed {
    pub report: ProbeReport,
    pub wall_seconds: f64,
    pub peak_rss_bytes: Option<u64>,
    pub baseline_rss_bytes: Option<u64>,
    pub peak_gpu_bytes: Option<u64>,
    pub baseline_gpu_bytes: Option<u64>,
    pub result: Option<crate::result::RunResult>,
    /// Network mode: the probe's wire judgement.
    pub wire: Option<WireJudgement>,
    pub dir: PathBuf,
    /// Ctrl-C or SIGTERM stopped the probe (not the time budget).
    pub interrupted: bool,
}

/// Whether a network-mode run stopped only because segments did not come back in time or the
/// orchestrator was full: the probe is then judged (it fails), not an error. Any other reason
/// (unreachable, refused, a protocol or payment error) stops the search.
pub fn lost_to_load(
    stopped: &anyhow::Error,
    network: Option<&crate::net::summary::NetworkSummary>,
) -> bool {
    let Some(n) = network else {
        return false;
    };
    format!("{stopped:#}").contains(crate::run::remote::LOST_SEGMENTS)
        && !n.segments_failed.is_empty()
        && n.segments_failed
            .keys()
            .all(|reason| LOAD_REASONS.contains(&reason.as_str()))
}

/// The reasons a segment is lost to load rather than to a fault.
pub const LOAD_REASONS: &[&str] = &["timeout", "orchestrator_capped"];

/// Runs one probe under `cfg` and judges it.
pub fn execute(
    cfg: &RunConfig,
    judged_per_session: u32,
    deadline: Option<Instant>,
    gpus: Vec<u32>,
) -> Executed {
    let started = Instant::now();
    let memory = MemorySampler::start(gpus);
    let (baseline_rss_bytes, baseline_gpu_bytes) =
        (memory.baseline_rss_bytes, memory.baseline_gpu_bytes);
    let watchdog = Watchdog::start(deadline);
    let argv = vec![
        "rigbench".to_string(),
        "capacity-probe".to_string(),
        format!("--concurrent-sessions={}", cfg.concurrent_sessions),
        format!("--segs={}", cfg.segs),
    ];
    let outcome = crate::run::execute(cfg, argv);
    let budget_fired = watchdog.finish();
    let (peak_rss_bytes, peak_gpu_bytes) = memory.finish();
    let wall_seconds = started.elapsed().as_secs_f64();
    let mut result = None;
    let mut wire = None;
    let interrupted = !budget_fired && crate::run::interrupted();
    let report = match outcome {
        Err(failure) => ProbeReport::Failed {
            error: format!("{failure}"),
        },
        Ok(outcome) => {
            result = Some(outcome.result.clone());
            if budget_fired {
                ProbeReport::Cut {
                    reason: "--time-budget ran out during this probe".to_string(),
                }
            } else if crate::run::interrupted() {
                ProbeReport::Cut {
                    reason: "interrupted (Ctrl-C or SIGTERM) during this probe".to_string(),
                }
            } else if let Some(e) = outcome
                .stopped
                .filter(|e| !lost_to_load(e, outcome.result.network.as_ref()))
            {
                ProbeReport::Failed {
                    error: format!("{e:#}"),
                }
            } else if outcome.invalid_renditions {
                let v = &outcome.result.summary.validation;
                ProbeReport::Failed {
                    error: format!(
                        "{} of {} renditions failed validation ({:?}); see {}",
                        v.renditions_failed,
                        v.renditions_checked,
                        v.failed_by_check,
                        cfg.out_dir.join("run.json").display()
                    ),
                }
            } else {
                match read_segments_csv(&cfg.out_dir.join("segments.csv")) {
                    Ok(rows) => {
                        let wall = outcome.result.summary.wall_seconds;
                        match &outcome.result.network {
                            None => ProbeReport::Done(judge_rows(&rows, judged_per_session, wall)),
                            Some(net) => {
                                match read_network_csv(&crate::run::remote::csv_path(&cfg.out_dir))
                                {
                                    Ok(w) => {
                                        let lost = net.segments_failed.values().sum();
                                        let j =
                                            judge_wire(&rows, &w, judged_per_session, wall, lost);
                                        wire = Some(j);
                                        ProbeReport::Done(j.round_trip)
                                    }
                                    Err(e) => ProbeReport::Failed {
                                        error: format!("{e:#}"),
                                    },
                                }
                            }
                        }
                    }
                    Err(e) => ProbeReport::Failed {
                        error: format!("{e:#}"),
                    },
                }
            }
        }
    };
    Executed {
        report,
        wall_seconds,
        peak_rss_bytes,
        baseline_rss_bytes,
        peak_gpu_bytes,
        baseline_gpu_bytes,
        result,
        wire,
        dir: cfg.out_dir.clone(),
        interrupted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(session: u32, segment: u32, transcode_time: f64, finished: f64) -> JudgedRow {
        JudgedRow {
            session,
            segment,
            seg_dur: 2.0,
            transcode_time,
            finished_seconds: Some(finished),
        }
    }

    #[test]
    fn judges_the_last_segments_of_each_session() {
        // Session 0's first segment (during the stagger) is slow and must not count.
        let rows = vec![
            row(0, 0, 9.0, 9.0),
            row(0, 1, 1.0, 11.0),
            row(0, 2, 1.0, 13.0),
            row(1, 0, 1.0, 11.3),
            row(1, 1, 1.0, 13.3),
        ];
        let f = judge_rows(&rows, 2, 14.0);
        assert_eq!(f.segments_judged, 4);
        assert!((f.realtime_duration_ratio - 0.5).abs() < 1e-12);
        assert!((f.p95_segment_ratio - 0.5).abs() < 1e-12);
        assert_eq!(f.sessions_falling_behind, 0);
    }

    #[test]
    fn a_session_whose_lag_grows_falls_behind() {
        // Each segment takes 3 s for 2 s of media: the lag grows 1 s a segment.
        let rows: Vec<_> = (0..4)
            .map(|i| row(0, i, 3.0, 3.0 * f64::from(i + 1)))
            .collect();
        let f = judge_rows(&rows, 4, 12.0);
        assert_eq!(f.sessions_falling_behind, 1);
        assert!((f.p95_segment_ratio - 1.5).abs() < 1e-12);
        assert_eq!(judge_rows(&[], 4, 0.0).segments_judged, 0);
    }

    #[test]
    fn probes_stream_enough_segments_after_the_stagger() {
        let ms = Duration::from_millis;
        // (sessions, probe segments, delay, segment s, per session, paced s)
        let cases = [
            (1, 6, ms(300), 2.0, 6, 12.0),
            (4, 6, ms(300), 2.0, 7, 0.9 + 14.0),
            (8, 3, ms(1000), 2.0, 7, 7.0 + 14.0),
            (3, 2, ms(0), 1.5, 2, 3.0),
        ];
        for (k, n, d, s, per, paced) in cases {
            assert_eq!(segments_per_session(k, n, d, s), per, "{k} {n} {d:?}");
            assert!(
                (paced_seconds(k, n, d, s) - paced).abs() < 1e-9,
                "{k} {n} {d:?}"
            );
        }
    }

    #[test]
    fn network_probes_are_judged_on_the_round_trip() {
        let rows = vec![row(0, 0, 0.2, 2.0), row(0, 1, 0.2, 4.0)];
        let wire = |segment, up, rt| WireRow {
            session: 0,
            segment,
            upload_seconds: up,
            download_seconds: 0.1,
            round_trip_seconds: rt,
        };
        let w = [wire(0, 1.0, 1.3), wire(1, 1.4, 1.7)];
        let j = judge_wire(&rows, &w, 2, 5.0, 0);
        assert!((j.round_trip.realtime_duration_ratio - 0.75).abs() < 1e-12);
        assert!((j.transcode.realtime_duration_ratio - 0.1).abs() < 1e-12);
        assert!((j.upload_ratio - 0.6).abs() < 1e-12);
        assert!((j.download_ratio - 0.05).abs() < 1e-12);
        assert_eq!(j.round_trip.segments_lost, 0);
        // A segment without a wire row (it never came back) is not judged; the loss is kept.
        let j = judge_wire(&rows, &w[..1], 2, 5.0, 1);
        assert_eq!(j.round_trip.segments_judged, 1);
        assert_eq!(j.round_trip.segments_lost, 1);
    }

    #[test]
    fn only_timeouts_and_a_full_orchestrator_are_judged() {
        use crate::net::summary::NetworkSummary;
        let stopped = |reason: &str| {
            anyhow::anyhow!(
                "3 {} ({{{reason:?}: 3}})",
                crate::run::remote::LOST_SEGMENTS
            )
            .context("run failed; finished segments are in /x")
        };
        let net = |reason: &str| NetworkSummary {
            segments_failed: [(reason.to_string(), 3)].into_iter().collect(),
            ..Default::default()
        };
        for (reason, judged) in [
            ("timeout", true),
            ("orchestrator_capped", true),
            ("unreachable", false),
            ("protocol_error", false),
            ("refused_403", false),
        ] {
            assert_eq!(
                lost_to_load(&stopped(reason), Some(&net(reason))),
                judged,
                "{reason}"
            );
        }
        assert!(!lost_to_load(
            &anyhow::anyhow!("disk full"),
            Some(&net("timeout"))
        ));
        assert!(!lost_to_load(&stopped("timeout"), None));
    }
}
