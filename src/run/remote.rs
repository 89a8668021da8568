//! The run's transcode step, local or remote: [`SegmentTranscoder`] pays for and transcodes one
//! segment either in process (a [`Session`]) or at an orchestrator over HTTP
//! (`crate::net::broadcaster`). [`Network`] holds what network mode needs for a run: the target,
//! the orchestrator process rigbench started for `--orchestrator self` (and stops), the shaped
//! link, the per-segment rows (network.csv) and the failures.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use alloy_primitives::U256;
use anyhow::{anyhow, bail, Context, Result};

use crate::config::{NetworkSettings, OrchestratorTarget, RunConfig};
use crate::ingest::Segment;
use crate::metrics::Metrics;
use crate::net::broadcaster::{RemoteSession, Target};
use crate::net::summary::{self, NetworkRow, NetworkSummary};
use crate::payments::Key;
use crate::transcode::ladder::Profile;
use crate::transcode::{SegmentOutput, Session};

/// The words of the run's failure when segments did not come back (a capacity probe judges
/// such a run instead of stopping on it).
pub const LOST_SEGMENTS: &str = "segments did not come back from the orchestrator";

/// How long a started orchestrator may take to say where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long it may take to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A `rigbench orchestrator` child process.
struct SelfOrchestrator {
    child: Child,
    out_dir: PathBuf,
}

impl SelfOrchestrator {
    /// Starts `rigbench orchestrator` (this executable), prefixed by `wrapper` (e.g. `ip netns
    /// exec NS`), and waits for the URL it prints.
    fn start(
        cfg: &RunConfig,
        listen: &str,
        wrapper: &[String],
    ) -> Result<(SelfOrchestrator, std::net::SocketAddr)> {
        let exe = std::env::current_exe().context("cannot find rigbench's own executable")?;
        let out_dir = cfg.out_dir.join("orchestrator");
        std::fs::create_dir_all(&out_dir)
            .with_context(|| format!("cannot create {}", out_dir.display()))?;
        let p = cfg
            .payments
            .as_ref()
            .ok_or_else(|| anyhow!("network mode needs payments"))?;
        let mut args: Vec<String> = wrapper.to_vec();
        args.push(exe.display().to_string());
        args.extend(
            [
                "orchestrator",
                "--listen",
                listen,
                "--out-dir",
                &out_dir.display().to_string(),
                "--max-sessions",
                &cfg.concurrent_sessions
                    .max(crate::orchestrator::DEFAULT_MAX_SESSIONS)
                    .to_string(),
                "--backend",
                cfg.backend.name(),
                "--price-per-pixel",
                &p.price_per_pixel_wei.to_string(),
                "--ticket-ev",
                &p.ticket_ev_wei.to_string(),
                "--redeem-gas-price",
                &format!(
                    "{}",
                    p.gas_price_wei.to_string().parse::<f64>().unwrap_or(0.0) / 1e9
                ),
                "--sender-deposit",
                &p.sender_deposit_wei.to_string(),
                "--sender-reserve",
                &p.sender_reserve_wei.to_string(),
                "--quiet",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        match &cfg.gpus {
            crate::transcode::GpuSelection::None => {}
            crate::transcode::GpuSelection::All => args.extend(["--nvidia".into(), "all".into()]),
            crate::transcode::GpuSelection::Ids(ids) => {
                let list: Vec<String> = ids.iter().map(u32::to_string).collect();
                args.extend(["--nvidia".into(), list.join(",")]);
            }
        }
        let stderr = std::fs::File::create(out_dir.join("stderr.log"))
            .with_context(|| format!("cannot write {}", out_dir.join("stderr.log").display()))?;
        let mut child = Command::new(&args[0])
            .args(&args[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("cannot start {}", args.join(" ")))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("no stdout from the orchestrator"))?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut me = SelfOrchestrator { child, out_dir };
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(l) => l,
            Err(_) => {
                me.stop();
                bail!(
                    "the orchestrator did not start within {} s; see {}",
                    START_TIMEOUT.as_secs(),
                    me.out_dir.join("stderr.log").display()
                );
            }
        };
        let url = line
            .trim()
            .strip_prefix(crate::orchestrator::LISTENING_PREFIX)
            .map(str::to_string);
        let addr = url
            .as_deref()
            .and_then(|u| u.strip_prefix("http://"))
            .and_then(|a| a.parse().ok());
        match addr {
            Some(a) => Ok((me, a)),
            None => {
                me.stop();
                let err =
                    std::fs::read_to_string(me.out_dir.join("stderr.log")).unwrap_or_default();
                bail!("the orchestrator did not start: {}", err.trim());
            }
        }
    }

    /// SIGTERM, then wait (it redeems its winners and writes orchestrator.json), then kill.
    fn stop(&mut self) -> Option<std::process::ExitStatus> {
        if let Ok(Some(s)) = self.child.try_wait() {
            return Some(s);
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        self.child.wait().ok()
    }
}

impl Drop for SelfOrchestrator {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Network mode for one run.
pub struct Network {
    settings: NetworkSettings,
    target: Target,
    child: Mutex<Option<SelfOrchestrator>>,
    link: Option<crate::net::link::Link>,
    rows: Mutex<Vec<NetworkRow>>,
    failed: Mutex<BTreeMap<String, u64>>,
    info: Mutex<(u64, u64, u64)>,
    csv: Mutex<Option<std::fs::File>>,
    deposit_wei: U256,
    pub metrics: Option<Arc<Metrics>>,
}

impl Network {
    /// Starts what `--orchestrator` needs (the orchestrator for `self`, the shaped link).
    pub fn start(
        settings: &NetworkSettings,
        cfg: &RunConfig,
        metrics: Option<Arc<Metrics>>,
    ) -> Result<Network> {
        let deposit_wei = cfg
            .payments
            .as_ref()
            .map(|p| p.sender_deposit_wei)
            .unwrap_or_default();
        let (child, link, target) = match (&settings.orchestrator, settings.link) {
            (OrchestratorTarget::Url(addr), _) => (
                None,
                None,
                Target {
                    addr: *addr,
                    dialer: crate::net::client::tcp_dialer(),
                    one_way_delay: Duration::ZERO,
                    multipart: settings.multipart,
                    segment_timeout: settings.segment_timeout,
                },
            ),
            (OrchestratorTarget::SelfHosted, None) => {
                let (child, addr) = SelfOrchestrator::start(cfg, "127.0.0.1:0", &[])?;
                let target = Target {
                    addr,
                    dialer: crate::net::client::tcp_dialer(),
                    one_way_delay: Duration::ZERO,
                    multipart: settings.multipart,
                    segment_timeout: settings.segment_timeout,
                };
                (Some(child), None, target)
            }
            (OrchestratorTarget::SelfHosted, Some(l)) => {
                let link = crate::net::link::Link::create(l.mbps, l.rtt_ms)?;
                let listen = format!("{}:0", link.orchestrator_ip());
                let (child, addr) = SelfOrchestrator::start(cfg, &listen, &link.exec_prefix())?;
                let target = Target {
                    addr,
                    dialer: link.dialer(),
                    one_way_delay: link.emulated_one_way_delay(),
                    multipart: settings.multipart,
                    segment_timeout: settings.segment_timeout,
                };
                (Some(child), Some(link), target)
            }
        };
        let csv_path = cfg.out_dir.join("network.csv");
        let mut csv = std::fs::File::create(&csv_path)
            .with_context(|| format!("cannot write {}", csv_path.display()))?;
        csv.write_all(summary::CSV_HEADER.as_bytes())?;
        Ok(Network {
            settings: settings.clone(),
            target,
            child: Mutex::new(child),
            link,
            rows: Mutex::new(Vec::new()),
            failed: Mutex::new(BTreeMap::new()),
            info: Mutex::new((0, 0, 0)),
            csv: Mutex::new(Some(csv)),
            deposit_wei,
            metrics,
        })
    }

    fn fail(&self, reason: String) {
        if let Some(m) = &self.metrics {
            m.segment_failed(&reason);
        }
        *lock(&self.failed).entry(reason).or_insert(0) += 1;
    }

    /// Segments that failed so far.
    pub fn failures(&self) -> u64 {
        lock(&self.failed).values().sum()
    }

    /// Stops the orchestrator rigbench started, removes the link, and summarises.
    pub fn finish(self) -> (NetworkSummary, Option<String>) {
        let mut warning = None;
        let child = lock(&self.child).take();
        let self_hosted = child.is_some();
        let mut orchestrator_summary = None;
        if let Some(mut c) = child {
            match c.stop() {
                Some(s) if s.success() => {}
                other => {
                    warning = Some(format!(
                        "the orchestrator rigbench started ended with {other:?}; see {}",
                        c.out_dir.join("stderr.log").display()
                    ))
                }
            }
            orchestrator_summary = std::fs::read(c.out_dir.join("orchestrator.json"))
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
        }
        let rows = lock(&self.rows).clone();
        let mut s = summary::summarize(&rows, &lock(&self.failed), *lock(&self.info));
        s.orchestrator = self.target.addr.to_string();
        s.self_hosted = self_hosted;
        s.renditions_inline = self.settings.multipart;
        s.link = self.link.as_ref().map(|l| l.report());
        s.orchestrator_summary = orchestrator_summary;
        drop(self.link);
        (s, warning)
    }
}

/// One session's transcode step.
pub enum SegmentTranscoder<'a> {
    Local(Box<Session>),
    Remote {
        net: &'a Network,
        session: u32,
        remote: Option<Box<RemoteSession>>,
        ladder: Vec<Profile>,
        seq: i64,
    },
}

/// A transcoded segment, whichever way.
pub struct Transcoded {
    pub out: SegmentOutput,
    pub tickets: u32,
    /// price × pixels, wei, decimal.
    pub fee_wei: String,
    /// Local: the transcode itself; remote: go-livepeer's gateway split, total − upload −
    /// download (the orchestrator's transcode plus the result's transfer).
    pub transcode_time: f64,
}

impl<'a> SegmentTranscoder<'a> {
    /// Remote when the run has a network, else the local session `open` makes.
    pub fn new(
        net: Option<&'a Network>,
        session: u32,
        ladder: &[Profile],
        open: impl FnOnce() -> Result<Session>,
    ) -> Result<SegmentTranscoder<'a>> {
        Ok(match net {
            Some(net) => SegmentTranscoder::Remote {
                net,
                session,
                remote: None,
                ladder: ladder.to_vec(),
                seq: 0,
            },
            None => SegmentTranscoder::Local(Box::new(open()?)),
        })
    }

    /// The local transcoder; None in network mode.
    pub fn local(&mut self) -> Option<&mut Session> {
        match self {
            SegmentTranscoder::Local(t) => Some(t),
            SegmentTranscoder::Remote { .. } => None,
        }
    }

    /// Network mode: pays for, sends and fetches back `seg` (segment `number` of the session in
    /// `repeat`). `Ok(None)`: it failed; the failure is counted and the session goes on.
    pub fn remote(
        &mut self,
        seg: &Segment,
        number: u32,
        repeat: u32,
    ) -> Result<Option<Transcoded>> {
        match self {
            SegmentTranscoder::Local(_) => bail!("remote() on a local transcoder"),
            SegmentTranscoder::Remote {
                net,
                session,
                remote,
                ladder,
                seq,
            } => {
                if remote.is_none() {
                    let key = Key::random().context("cannot make the gateway's key")?;
                    let manifest = format!("rigbench-{}-{}", std::process::id(), session);
                    match RemoteSession::open(
                        net.target.clone(),
                        key,
                        net.deposit_wei,
                        manifest,
                        ladder,
                    ) {
                        Ok((r, info)) => {
                            let mut i = lock(&net.info);
                            i.0 += 1;
                            i.1 += info.wire_bytes_sent;
                            i.2 += info.wire_bytes_received;
                            *remote = Some(Box::new(r));
                        }
                        Err(e) => {
                            net.fail(e.reason());
                            return Ok(None);
                        }
                    }
                }
                let Some(r) = remote.as_mut() else {
                    return Ok(None);
                };
                let this_seq = *seq;
                *seq += 1;
                match r.send_segment(seg, this_seq) {
                    Ok(done) => {
                        let n = done.network;
                        if let Some(m) = &net.metrics {
                            m.round_trip(
                                n.upload_seconds,
                                n.download_seconds,
                                n.round_trip_seconds,
                                n.latency_score,
                            );
                            m.tickets_sent(done.tickets, done.ticket_ev_wei);
                            m.bytes("out", n.wire_bytes_sent);
                            m.bytes("in", n.wire_bytes_received);
                            let pixels: u64 = done.output.renditions.iter().map(|r| r.pixels).sum();
                            m.segment_transcoded(seg.duration_seconds, n.transcode_seconds, pixels);
                        }
                        let row = NetworkRow {
                            session: *session,
                            segment: number,
                            repeat,
                            seg_dur: seg.duration_seconds,
                            network: n,
                        };
                        if let Some(f) = lock(&net.csv).as_mut() {
                            let _ = f.write_all(summary::csv_row(&row).as_bytes());
                        }
                        lock(&net.rows).push(row);
                        Ok(Some(Transcoded {
                            out: done.output,
                            tickets: done.tickets,
                            fee_wei: done.fee_wei.to_string(),
                            transcode_time: n.transcode_seconds,
                        }))
                    }
                    Err(e) => {
                        net.fail(e.reason());
                        // A refused or broken session asks for fresh info (and a token) next time.
                        *remote = None;
                        Ok(None)
                    }
                }
            }
        }
    }
}

/// Where network.csv is.
pub fn csv_path(out_dir: &Path) -> PathBuf {
    out_dir.join("network.csv")
}

/// A metrics endpoint: the registry, and the server this run started (None: a caller serves
/// it, see [`RunConfig::shared_metrics`]).
pub type MetricsServer = (Arc<Metrics>, Option<MetricsServing>);

/// A serving endpoint's stop flag and thread.
pub type MetricsServing = (
    Arc<std::sync::atomic::AtomicBool>,
    std::thread::JoinHandle<()>,
);

/// Serves `addr` for `m` until the flag is set.
pub fn serve_metrics(addr: std::net::SocketAddr, m: &Arc<Metrics>) -> Result<MetricsServing> {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (_, handle) = crate::metrics::serve(addr, Arc::clone(m), Arc::clone(&stop))
        .with_context(|| format!("cannot serve --metrics-addr {addr}"))?;
    Ok((stop, handle))
}

/// The broadcaster's registry (node type `bctr`, this host's name).
pub fn broadcaster_metrics() -> Arc<Metrics> {
    let host = crate::metering::inventory::HostInfo::detect()
        .hostname
        .unwrap_or_else(|| "host".into());
    Arc::new(Metrics::new("bctr", &host))
}

/// Serves `--metrics-addr` for the run (node type `bctr`), if asked; or feeds the caller's.
pub fn start_metrics(cfg: &RunConfig) -> Result<Option<MetricsServer>> {
    if let Some(shared) = &cfg.shared_metrics {
        return Ok(Some((Arc::clone(&shared.0), None)));
    }
    let Some(addr) = cfg.metrics_addr else {
        return Ok(None);
    };
    let m = broadcaster_metrics();
    let serving = serve_metrics(addr, &m)?;
    Ok(Some((m, Some(serving))))
}
