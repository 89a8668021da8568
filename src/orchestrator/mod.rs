//! `rigbench orchestrator`: the orchestrator's side of Livepeer's segment protocol over HTTP
//! (livepeer-facts §10). It issues orchestrator info (ticket parameters, price, an auth token),
//! takes `POST /segment` with the `Livepeer-Segment` and `Livepeer-Payment` headers, validates
//! the payment with the recipient, answers 200 as soon as the upload is read, transcodes with
//! a long-lived [`crate::transcode::Session`] per gateway session, and streams back a
//! `TranscodeResult` whose rendition URLs the gateway GETs (or the renditions inline, as
//! `multipart/mixed`, when asked). Refusals use go-livepeer's status codes and are counted by
//! reason.
//!
//! Routes: `POST /orchestrator-info` (protobuf `OrchestratorRequest` → `OrchestratorInfo`;
//! go-livepeer serves this over gRPC as `net.Orchestrator/GetOrchestrator`), `POST /segment`,
//! `GET /stream/<session>/<seq>/<rendition>.ts`.

pub mod auth;
pub mod payments;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use alloy_primitives::{keccak256, Address, B256};
use anyhow::{anyhow, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderValue, ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Response, StatusCode};
use prost::Message;
use serde::Serialize;

use crate::ingest::{Segment, SourceInfo};
use crate::metrics::Metrics;
use crate::net::server::{self, Body};
use crate::net::wire::{self, pb};
use crate::transcode::{self, ResolvedBackend, Session, SessionConfig};
use auth::TokenIssuer;
use payments::{OrchestratorPayments, OrchestratorPaymentsConfig};

/// go-livepeer's default `-maxSessions`.
pub const DEFAULT_MAX_SESSIONS: u32 = 10;
/// Largest segment accepted, bytes (go-livepeer's `common.MaxSegSize`, 48 MiB).
pub const DEFAULT_MAX_SEGMENT_BYTES: u64 = 48 * 1024 * 1024;
/// `--max-segment-bytes` at most (1 GiB: a segment is held in memory while it is checked).
pub const MAX_SEGMENT_BYTES_BOUND: u64 = 1 << 30;
/// `--max-sessions` at most.
pub const MAX_SESSIONS_BOUND: u32 = 10_000;
/// Most renditions one segment may ask for.
pub const MAX_RENDITIONS: usize = 16;
/// Longest segment accepted, milliseconds.
pub const MAX_SEGMENT_MS: i32 = 60_000;
/// Renditions kept per session for GET (the latest segments'); older ones are dropped.
const KEPT_SEGMENTS_PER_SESSION: usize = 4;
/// orchestrator.json's schema version.
pub const SUMMARY_SCHEMA_VERSION: u32 = 1;
/// The line `rigbench orchestrator` prints on stdout once it listens (a parent reads the URL).
pub const LISTENING_PREFIX: &str = "rigbench orchestrator listening on ";

/// A validated `rigbench orchestrator`.
#[derive(Debug, Clone)]
pub struct OrchestratorConfig {
    pub listen: SocketAddr,
    pub out_dir: PathBuf,
    pub max_sessions: u32,
    pub max_segment_bytes: u64,
    /// Whole-request read limit (headers, then the body) per request.
    pub read_timeout: Duration,
    /// A session with no segment for this long is closed and frees its slot.
    pub session_idle: Duration,
    pub backend: ResolvedBackend,
    pub payments: OrchestratorPaymentsConfig,
    pub metrics_addr: Option<SocketAddr>,
    pub quiet: bool,
}

/// Set by SIGINT/SIGTERM in the `rigbench orchestrator` process.
static SHUTDOWN: AtomicBool = AtomicBool::new(false);

/// Requests a clean stop of [`serve`] in this process (what SIGTERM does).
pub fn request_shutdown() {
    SHUTDOWN.store(true, Ordering::SeqCst);
}

/// Makes SIGINT and SIGTERM request a clean stop (once per process).
pub fn install_signal_handler() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Another handler already installed (a host program's) keeps its own behaviour.
        let _ = ctrlc::set_handler(request_shutdown);
    });
}

/// orchestrator.json: what the orchestrator served, written when it stops.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OrchestratorSummary {
    pub schema_version: u32,
    pub rigbench_version: String,
    /// The address it listened on.
    pub listen: String,
    pub started_utc: String,
    pub finished_utc: String,
    /// Segments transcoded and answered.
    pub segments_transcoded: u64,
    /// Segments accepted whose transcode failed (answered with TranscodeResult.error).
    pub segments_failed: u64,
    /// Requests refused, by counted reason (each with go-livepeer's status code).
    pub refusals: BTreeMap<String, u64>,
    /// Responses a client went away from before the end.
    pub responses_abandoned: u64,
    /// Gateway sessions opened over the orchestrator's life.
    pub sessions_opened: u64,
    /// Most sessions open at once.
    pub sessions_peak: u64,
    pub max_sessions: u32,
    /// Segment bytes received (request bodies).
    pub segment_bytes_received: u64,
    /// Rendition bytes sent (GET bodies and multipart parts).
    pub rendition_bytes_sent: u64,
    /// Output pixels transcoded and billed.
    pub pixels_billed: u64,
    /// Seconds spent transcoding, summed over segments.
    pub transcode_seconds_total: f64,
    pub tickets: payments::TicketStats,
    /// Winners redeemed at the clean stop; None when the redemption could not run.
    pub redemption: Option<crate::payments::RedeemReport>,
    /// Why the stop-time redemption did not run (the winners stay pending for `rigbench redeem`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redemption_error: Option<String>,
    /// Where the winners are persisted: `rigbench redeem --data-dir` this.
    pub payments_data_dir: String,
}

/// One gateway session: its transcoder and its latest renditions.
struct StreamSession {
    index: u32,
    sender: Address,
    transcoder: Mutex<Option<(Vec<transcode::ladder::Profile>, Session)>>,
    last_seen: Mutex<Instant>,
    renditions: Mutex<VecDeque<(i64, Vec<Bytes>)>>,
}

#[derive(Default)]
struct Sessions {
    next_index: u32,
    by_id: HashMap<String, Arc<StreamSession>>,
    opened: u64,
    peak: u64,
}

#[derive(Default)]
struct Counters {
    refusals: BTreeMap<String, u64>,
    transcoded: u64,
    failed: u64,
    abandoned: u64,
    pixels: u64,
    transcode_seconds: f64,
}

struct State {
    cfg: OrchestratorConfig,
    tokens: TokenIssuer,
    payments: OrchestratorPayments,
    sessions: Mutex<Sessions>,
    counters: Mutex<Counters>,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    metrics: Arc<Metrics>,
    log: Mutex<Option<fs::File>>,
    work_dir: PathBuf,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl State {
    fn log(&self, line: &str) {
        if let Some(f) = lock(&self.log).as_mut() {
            let _ = writeln!(
                f,
                "{} {line}",
                chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ")
            );
        }
    }

    /// A refusal: counted by reason, logged (never with a token or key), answered.
    fn refuse(&self, status: StatusCode, reason: &str, msg: &str) -> Response<Body> {
        *lock(&self.counters)
            .refusals
            .entry(reason.to_string())
            .or_insert(0) += 1;
        self.metrics.refusal(reason, status.as_u16());
        self.log(&format!("refused {} {reason}: {msg}", status.as_u16()));
        server::text(status, msg)
    }

    fn open_sessions(&self, s: &mut Sessions) -> usize {
        let idle = self.cfg.session_idle;
        s.by_id.retain(|_, v| lock(&v.last_seen).elapsed() < idle);
        s.by_id.len()
    }
}

/// Runs the orchestrator until SIGINT/SIGTERM (or [`request_shutdown`]); `on_listen` gets the
/// bound address once requests are accepted. Writes orchestrator.json and orchestrator.log in
/// the out-dir.
pub fn serve(
    cfg: OrchestratorConfig,
    on_listen: impl FnOnce(SocketAddr),
) -> Result<OrchestratorSummary, crate::error::Failure> {
    use crate::error::Failure;
    let started = chrono::Utc::now();
    crate::ingest::init_ffmpeg();
    fs::create_dir_all(&cfg.out_dir)
        .with_context(|| format!("cannot create --out-dir {}", cfg.out_dir.display()))
        .map_err(Failure::usage)?;
    let work_dir = cfg.out_dir.join("work");
    fs::create_dir_all(&work_dir)
        .with_context(|| format!("cannot create {}", work_dir.display()))
        .map_err(Failure::usage)?;
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(cfg.out_dir.join("orchestrator.log"))
        .ok();
    let listener = server::bind(cfg.listen)
        .with_context(|| format!("cannot listen on --listen {}", cfg.listen))
        .map_err(Failure::usage)?;
    let addr = listener
        .local_addr()
        .context("the listener has no address")
        .map_err(Failure::run)?;
    let payments = OrchestratorPayments::open(&cfg.payments).map_err(Failure::run)?;
    let mut secret = [0u8; 32];
    getrandom::getrandom(&mut secret)
        .map_err(|e| Failure::run(anyhow!("no randomness for auth tokens: {e}")))?;
    let metrics = Arc::new(Metrics::new("orch", &addr.to_string()));
    metrics.max_sessions(cfg.max_sessions);
    metrics.price(payments.price());
    let state = Arc::new(State {
        tokens: TokenIssuer::new(secret),
        payments,
        sessions: Mutex::new(Sessions::default()),
        counters: Mutex::new(Counters::default()),
        bytes_in: AtomicU64::new(0),
        bytes_out: AtomicU64::new(0),
        metrics: Arc::clone(&metrics),
        log: Mutex::new(log),
        work_dir,
        cfg,
    });
    state.log(&format!("listening on {addr}"));
    let stop = Arc::new(AtomicBool::new(false));
    let metrics_server = match state.cfg.metrics_addr {
        Some(a) => Some(
            crate::metrics::serve(a, Arc::clone(&metrics), Arc::clone(&stop))
                .with_context(|| format!("cannot serve --metrics-addr {a}"))
                .map_err(Failure::usage)?,
        ),
        None => None,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the HTTP runtime")
        .map_err(Failure::run)?;
    on_listen(addr);
    let st = Arc::clone(&state);
    let stop2 = Arc::clone(&stop);
    rt.block_on(async move {
        let watcher = {
            let stop = Arc::clone(&stop2);
            tokio::spawn(async move {
                while !SHUTDOWN.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                stop.store(true, Ordering::SeqCst);
            })
        };
        let header_timeout = st.cfg.read_timeout;
        let handler_state = Arc::clone(&st);
        let result = server::serve(listener, header_timeout, stop2, move |req| {
            let st = Arc::clone(&handler_state);
            async move { route(st, req).await }
        })
        .await;
        watcher.abort();
        result
    })
    .context("the HTTP server failed")
    .map_err(Failure::run)?;
    // Requests in flight finish on the blocking pool; give them a moment.
    rt.shutdown_timeout(Duration::from_secs(5));
    if let Some((_, handle)) = metrics_server {
        let _ = handle.join();
    }
    let (redemption, redemption_error) = match state.payments.redeem_pending() {
        Ok(r) => (Some(r), None),
        Err(e) => (None, Some(format!("{e:#}"))),
    };
    let c = lock(&state.counters);
    let s = lock(&state.sessions);
    let summary = OrchestratorSummary {
        schema_version: SUMMARY_SCHEMA_VERSION,
        rigbench_version: env!("CARGO_PKG_VERSION").to_string(),
        listen: addr.to_string(),
        started_utc: started.to_rfc3339(),
        finished_utc: chrono::Utc::now().to_rfc3339(),
        segments_transcoded: c.transcoded,
        segments_failed: c.failed,
        refusals: c.refusals.clone(),
        responses_abandoned: c.abandoned,
        sessions_opened: s.opened,
        sessions_peak: s.peak,
        max_sessions: state.cfg.max_sessions,
        segment_bytes_received: state.bytes_in.load(Ordering::SeqCst),
        rendition_bytes_sent: state.bytes_out.load(Ordering::SeqCst),
        pixels_billed: c.pixels,
        transcode_seconds_total: c.transcode_seconds,
        tickets: state.payments.stats(),
        redemption,
        redemption_error,
        payments_data_dir: state.payments.data_dir().display().to_string(),
    };
    drop((c, s));
    let path = state.cfg.out_dir.join("orchestrator.json");
    let mut bytes = serde_json::to_vec_pretty(&summary).map_err(|e| Failure::run(anyhow!(e)))?;
    bytes.push(b'\n');
    fs::write(&path, bytes)
        .with_context(|| format!("cannot write {}", path.display()))
        .map_err(Failure::run)?;
    let _ = fs::remove_dir_all(&state.work_dir);
    Ok(summary)
}

async fn route(st: Arc<State>, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_string();
    match (req.method().clone(), path.as_str()) {
        (Method::POST, "/segment") => segment(st, req).await,
        (Method::POST, "/orchestrator-info") => info(st, req).await,
        (Method::GET, p) if p.starts_with("/stream/") => rendition(st, p),
        (_, "/segment") | (_, "/orchestrator-info") => st.refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "use POST",
        ),
        _ => server::not_found(),
    }
}

/// Reads a whole body of at most `max` bytes within the read timeout.
async fn read_body(st: &State, body: Incoming, max: u64) -> Result<Bytes, Response<Body>> {
    let limited = Limited::new(body, usize::try_from(max).unwrap_or(usize::MAX));
    match tokio::time::timeout(st.cfg.read_timeout, limited.collect()).await {
        Err(_) => Err(st.refuse(
            StatusCode::REQUEST_TIMEOUT,
            "read_timeout",
            &format!(
                "the body did not arrive within {} ms",
                st.cfg.read_timeout.as_millis()
            ),
        )),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(st.refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            &format!("the body is over the limit of {max} bytes"),
        )),
        Ok(Err(_)) => Err(st.refuse(
            StatusCode::BAD_REQUEST,
            "upload_aborted",
            "the upload broke off",
        )),
        Ok(Ok(c)) => Ok(c.to_bytes()),
    }
}

fn header<'a>(req: &'a Request<Incoming>, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// What a gateway signs to ask for info: keccak256 of its address.
pub fn info_request_hash(address: &Address) -> B256 {
    keccak256(address.as_slice())
}

fn random_id() -> String {
    let mut b = [0u8; 16];
    if getrandom::getrandom(&mut b).is_err() {
        // No randomness is no security: make the id at least unique.
        let n = now_unix() as u128 ^ (Instant::now().elapsed().as_nanos());
        b = n.to_be_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn base_url(st: &State, req_host: Option<&str>) -> String {
    // The Host header the gateway used reaches us; anything odd falls back to the bound address.
    match req_host {
        Some(h)
            if !h.is_empty()
                && h.len() <= 255
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".:-[]".contains(c)) =>
        {
            format!("http://{h}")
        }
        _ => server::base_url(st.cfg.listen),
    }
}

fn orchestrator_info(
    st: &State,
    sender: Address,
    session_id: &str,
    host: Option<&str>,
) -> Result<pb::OrchestratorInfo> {
    let params = st.payments.ticket_params(sender)?;
    Ok(pb::OrchestratorInfo {
        transcoder: base_url(st, host),
        ticket_params: Some(wire::ticket_params_to_pb(&params)),
        price_info: Some(wire::price_to_pb(&st.payments.price())?),
        address: st.payments.address().to_vec(),
        capabilities: None,
        auth_token: Some(st.tokens.issue(session_id, now_unix())),
    })
}

async fn info(st: Arc<State>, req: Request<Incoming>) -> Response<Body> {
    let host = header(&req, HOST.as_str()).map(str::to_string);
    let body = match read_body(&st, req.into_body(), 4096).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let request: pb::OrchestratorRequest = match wire::decode_body("OrchestratorRequest", &body) {
        Ok(r) => r,
        Err(e) => {
            return st.refuse(
                StatusCode::BAD_REQUEST,
                "info_request_malformed",
                &e.to_string(),
            )
        }
    };
    if request.address.len() != 20 {
        return st.refuse(
            StatusCode::FORBIDDEN,
            "bad_credentials",
            "the request's address is not 20 bytes",
        );
    }
    let sender = Address::from_slice(&request.address);
    if crate::payments::sig::verify(&info_request_hash(&sender), &request.sig, sender).is_err() {
        return st.refuse(
            StatusCode::FORBIDDEN,
            "bad_credentials",
            "the request's signature is not the address owner's",
        );
    }
    let st2 = Arc::clone(&st);
    let answer = tokio::task::spawn_blocking(move || -> Result<pb::OrchestratorInfo> {
        st2.payments.fund_if_new(sender)?;
        orchestrator_info(&st2, sender, &random_id(), host.as_deref())
    })
    .await;
    match answer {
        Ok(Ok(info)) => {
            let mut r = Response::new(server::full(info.encode_to_vec()));
            r.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-protobuf"),
            );
            r
        }
        Ok(Err(e)) => st.refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "info_failed",
            &format!("{e:#}"),
        ),
        Err(_) => st.refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "info_failed",
            "internal error",
        ),
    }
}

fn rendition(st: Arc<State>, path: &str) -> Response<Body> {
    // /stream/<session>/<seq>/<index>.ts
    let parts: Vec<&str> = path.trim_start_matches("/stream/").split('/').collect();
    let found = (|| {
        let [sid, seq, file] = parts.as_slice() else {
            return None;
        };
        let seq: i64 = seq.parse().ok()?;
        let idx: usize = file.strip_suffix(".ts")?.parse().ok()?;
        let session = lock(&st.sessions).by_id.get(*sid).cloned()?;
        let kept = lock(&session.renditions);
        kept.iter()
            .find(|(s, _)| *s == seq)
            .and_then(|(_, r)| r.get(idx).cloned())
    })();
    match found {
        Some(bytes) => {
            st.bytes_out.fetch_add(bytes.len() as u64, Ordering::SeqCst);
            st.metrics.bytes("out", bytes.len() as u64);
            let mut r = Response::new(server::full(bytes));
            r.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(wire::SEGMENT_CONTENT_TYPE),
            );
            r
        }
        None => server::not_found(),
    }
}

/// Finds or opens the session a segment belongs to, enforcing `--max-sessions`.
fn session_for(
    st: &State,
    session_id: &str,
    sender: Address,
) -> Result<Arc<StreamSession>, Box<Response<Body>>> {
    let mut s = lock(&st.sessions);
    if let Some(existing) = s.by_id.get(session_id).cloned() {
        *lock(&existing.last_seen) = Instant::now();
        return Ok(existing);
    }
    let open = st.open_sessions(&mut s);
    if open >= st.cfg.max_sessions as usize {
        drop(s);
        return Err(Box::new(st.refuse(
            StatusCode::FORBIDDEN,
            "orchestrator_capped",
            wire::ORCHESTRATOR_CAPPED,
        )));
    }
    let index = s.next_index;
    s.next_index = s.next_index.wrapping_add(1);
    if let Err(e) = st.payments.register(index, sender) {
        drop(s);
        return Err(Box::new(st.refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "session_failed",
            &format!("{e:#}"),
        )));
    }
    let session = Arc::new(StreamSession {
        index,
        sender,
        transcoder: Mutex::new(None),
        last_seen: Mutex::new(Instant::now()),
        renditions: Mutex::new(VecDeque::new()),
    });
    s.by_id.insert(session_id.to_string(), Arc::clone(&session));
    s.opened += 1;
    s.peak = s.peak.max(s.by_id.len() as u64);
    st.metrics.current_sessions(s.by_id.len() as u64);
    Ok(session)
}

async fn segment(st: Arc<State>, req: Request<Incoming>) -> Response<Body> {
    // 402: the payment header must parse (go-livepeer: "Could not parse payment").
    let payment = match wire::decode_header::<pb::Payment>(
        wire::PAYMENT_HEADER,
        header(&req, wire::PAYMENT_HEADER),
    )
    .and_then(|p| wire::payment_from_pb(&p))
    {
        Ok(p) => p,
        Err(e) => {
            let reason = match e {
                wire::WireError::Missing(_) => "payment_missing",
                _ => "payment_malformed",
            };
            st.metrics.payment_error(reason);
            return st.refuse(
                StatusCode::PAYMENT_REQUIRED,
                reason,
                &format!("could not parse payment: {e}"),
            );
        }
    };
    // 403: segment credentials.
    let seg: pb::SegData =
        match wire::decode_header(wire::SEGMENT_HEADER, header(&req, wire::SEGMENT_HEADER)) {
            Ok(s) => s,
            Err(e) => {
                let reason = match e {
                    wire::WireError::Missing(_) => "segment_header_missing",
                    _ => "segment_header_malformed",
                };
                return st.refuse(
                    StatusCode::FORBIDDEN,
                    reason,
                    &format!("could not verify segment credentials: {e}"),
                );
            }
        };
    if let Err(e) = st.tokens.check(seg.auth_token.as_ref(), now_unix()) {
        return st.refuse(StatusCode::FORBIDDEN, e.reason(), &e.to_string());
    }
    let session_id = seg
        .auth_token
        .as_ref()
        .map(|t| t.session_id.clone())
        .unwrap_or_default();
    let ladder: Result<Vec<_>, _> = seg
        .full_profiles3
        .iter()
        .map(wire::profile_from_pb)
        .collect();
    let ladder = match ladder {
        Ok(l) if !l.is_empty() && l.len() <= MAX_RENDITIONS => l,
        Ok(l) => {
            return st.refuse(
                StatusCode::FORBIDDEN,
                "segment_header_invalid",
                &format!(
                    "a segment asks for 1 to {MAX_RENDITIONS} renditions, this one for {}",
                    l.len()
                ),
            )
        }
        Err(e) => {
            return st.refuse(
                StatusCode::FORBIDDEN,
                "segment_header_invalid",
                &e.to_string(),
            )
        }
    };
    if let Err(e) =
        transcode::ladder::check_supported(&ladder, st.cfg.backend.backend.encoder_family())
    {
        return st.refuse(
            StatusCode::FORBIDDEN,
            "segment_header_invalid",
            &e.to_string(),
        );
    }
    if seg.hash.len() != 32 || !(1..=MAX_SEGMENT_MS).contains(&seg.duration) || seg.seq < 0 {
        return st.refuse(
            StatusCode::FORBIDDEN,
            "segment_header_invalid",
            "the segment header needs a 32-byte hash, a duration of 1 to 60000 ms and a sequence number ≥ 0",
        );
    }
    let declared = header(&req, CONTENT_LENGTH.as_str()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > st.cfg.max_segment_bytes) {
        return st.refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            &format!(
                "the segment is over the limit of {} bytes",
                st.cfg.max_segment_bytes
            ),
        );
    }
    let session = match session_for(&st, &session_id, payment.sender) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let multipart = header(&req, ACCEPT.as_str()).is_some_and(|a| a.contains("multipart/mixed"));

    // 400: the payment must validate and leave a balance of at least one EV. Winners are on
    // disk before anything else happens.
    let st2 = Arc::clone(&st);
    let index = session.index;
    let accepted = tokio::task::spawn_blocking(move || st2.payments.receive(index, &payment)).await;
    let accepted = match accepted {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => {
            st.metrics.payment_error("payment_processing_failed");
            return st.refuse(
                StatusCode::BAD_REQUEST,
                "payment_processing_failed",
                &format!("{e:#}"),
            );
        }
        Err(_) => {
            return st.refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            )
        }
    };
    st.metrics.tickets_received(&accepted);
    if !accepted.verdict.rejected.is_empty() {
        let reasons: Vec<String> = accepted
            .verdict
            .rejected
            .iter()
            .map(|(r, n)| format!("{n} {r}"))
            .collect();
        st.metrics.payment_error("payment_rejected");
        return st.refuse(
            StatusCode::BAD_REQUEST,
            "payment_rejected",
            &format!("invalid payment: tickets rejected ({})", reasons.join(", ")),
        );
    }
    if !OrchestratorPayments::sufficient(&accepted) {
        return st.refuse(
            StatusCode::BAD_REQUEST,
            "insufficient_balance",
            "Insufficient balance",
        );
    }

    let body = match read_body(&st, req.into_body(), st.cfg.max_segment_bytes).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    st.bytes_in.fetch_add(body.len() as u64, Ordering::SeqCst);
    st.metrics.bytes("in", body.len() as u64);
    if wire::segment_hash(&body).as_slice() != seg.hash.as_slice() {
        return st.refuse(
            StatusCode::FORBIDDEN,
            "hash_mismatch",
            "the body's keccak256 differs from the segment header's hash",
        );
    }

    // 200 now: the upload is read; the transcode result follows in the body.
    let st2 = Arc::clone(&st);
    let job = tokio::task::spawn_blocking(move || {
        let answer = transcode_job(&st2, &session, &session_id, &seg, ladder, body, multipart);
        *lock(&session.last_seen) = Instant::now();
        answer
    });
    let mut r = Response::new(http_body_util::BodyExt::boxed_unsync(PendingBody {
        job: Some(job),
        st: Arc::clone(&st),
        delivered: false,
    }));
    let ct = if multipart {
        format!("multipart/mixed; boundary={MULTIPART_BOUNDARY}")
    } else {
        wire::PROTOBUF_CONTENT_TYPE.to_string()
    };
    if let Ok(v) = HeaderValue::from_str(&ct) {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    r
}

/// The boundary of multipart answers.
pub const MULTIPART_BOUNDARY: &str = "rigbench-renditions-8d0f3c";

/// Probes a segment file for what a transcoder needs to know about its source.
fn probe_source(path: &Path) -> SourceInfo {
    let mut info = SourceInfo::default();
    if let Ok(ictx) = ffmpeg_next::format::input(path) {
        if let Some(idx) = crate::ingest::main_video_stream(&ictx) {
            if let Some(s) = ictx.stream(idx) {
                let (fps, num, den) = crate::ingest::frame_rate(&s);
                info.fps = fps;
                info.fps_num = num;
                info.fps_den = den;
            }
        }
    }
    info
}

/// The answer to one accepted segment: transcode, debit, keep the renditions, encode.
fn transcode_job(
    st: &State,
    session: &StreamSession,
    session_id: &str,
    seg: &pb::SegData,
    ladder: Vec<transcode::ladder::Profile>,
    body: Bytes,
    multipart: bool,
) -> Bytes {
    let result = (|| -> Result<Vec<(String, u64, Bytes)>> {
        let path = st
            .work_dir
            .join(format!("{}-{}.ts", session.index, seg.seq));
        fs::write(&path, &body).with_context(|| format!("cannot write {}", path.display()))?;
        let segment = Segment {
            index: u32::try_from(seg.seq).unwrap_or(u32::MAX),
            path: path.clone(),
            bytes: body.len() as u64,
            duration_seconds: f64::from(seg.duration) / 1000.0,
            video_frames: 0,
            start_seconds: 0.0,
        };
        let mut slot = lock(&session.transcoder);
        if slot.as_ref().is_none_or(|(l, _)| *l != ladder) {
            let source = probe_source(&path);
            let t = Session::new(
                SessionConfig {
                    backend: st.cfg.backend.backend,
                    gpu: transcode::assign_device(session.index, &st.cfg.backend.devices),
                    ladder: ladder.clone(),
                    keep_renditions_dir: None,
                    session: session.index,
                },
                &source,
            )
            .context("cannot open the transcoder")?;
            *slot = Some((ladder.clone(), t));
        }
        let Some((_, transcoder)) = slot.as_mut() else {
            return Err(anyhow!("no transcoder"));
        };
        let started = Instant::now();
        let out = transcoder.transcode_segment(&segment);
        let seconds = started.elapsed().as_secs_f64();
        let _ = fs::remove_file(&path);
        let out = out.with_context(|| format!("segment {}", seg.seq))?;
        drop(slot);
        let pixels: u64 = out.renditions.iter().map(|r| r.pixels).sum();
        st.payments.debit(session.index, pixels)?;
        {
            let mut c = lock(&st.counters);
            c.transcoded += 1;
            c.pixels += pixels;
            c.transcode_seconds += seconds;
        }
        st.metrics
            .segment_transcoded(segment.duration_seconds, seconds, pixels);
        Ok(out
            .renditions
            .into_iter()
            .map(|r| (r.name, r.pixels, Bytes::from(r.data)))
            .collect())
    })();
    let fresh_info = orchestrator_info(st, session.sender, session_id, None)
        .ok()
        .map(|mut i| {
            // The gateway keeps the transcoder URL it has; only parameters and the token renew.
            i.transcoder.clear();
            i
        });
    match result {
        Ok(renditions) => {
            {
                let mut kept = lock(&session.renditions);
                kept.push_back((
                    seg.seq,
                    renditions.iter().map(|(_, _, b)| b.clone()).collect(),
                ));
                while kept.len() > KEPT_SEGMENTS_PER_SESSION {
                    kept.pop_front();
                }
            }
            if multipart {
                let sent: u64 = renditions.iter().map(|(_, _, b)| b.len() as u64).sum();
                st.bytes_out.fetch_add(sent, Ordering::SeqCst);
                st.metrics.bytes("out", sent);
                multipart_body(seg.seq, &renditions, fresh_info)
            } else {
                let segments = renditions
                    .iter()
                    .enumerate()
                    .map(|(i, (_, pixels, _))| pb::TranscodedSegmentData {
                        url: format!("/stream/{session_id}/{}/{i}.ts", seg.seq),
                        pixels: i64::try_from(*pixels).unwrap_or(i64::MAX),
                        perceptual_hash_url: String::new(),
                    })
                    .collect();
                Bytes::from(
                    pb::TranscodeResult {
                        seq: seg.seq,
                        result: Some(pb::transcode_result::Result::Data(pb::TranscodeData {
                            segments,
                            sig: Vec::new(),
                        })),
                        info: fresh_info,
                    }
                    .encode_to_vec(),
                )
            }
        }
        Err(e) => {
            lock(&st.counters).failed += 1;
            st.metrics.segment_failed("transcode_error");
            st.log(&format!("segment {} failed: {e:#}", seg.seq));
            let result = pb::TranscodeResult {
                seq: seg.seq,
                result: Some(pb::transcode_result::Result::Error(format!("{e:#}"))),
                info: fresh_info,
            }
            .encode_to_vec();
            if multipart {
                let mut out = Vec::new();
                part(&mut out, "application/vnd+livepeer.error", &[], &result);
                out.extend_from_slice(format!("--{MULTIPART_BOUNDARY}--\r\n").as_bytes());
                Bytes::from(out)
            } else {
                Bytes::from(result)
            }
        }
    }
}

fn part(out: &mut Vec<u8>, content_type: &str, headers: &[(&str, String)], data: &[u8]) {
    out.extend_from_slice(
        format!("--{MULTIPART_BOUNDARY}\r\nContent-Type: {content_type}\r\n").as_bytes(),
    );
    for (k, v) in headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Renditions inline: one part per rendition (with `Rendition-Name` and `Pixels`), then the
/// TranscodeResult (its info carries the next ticket parameters) as a last protobuf part.
fn multipart_body(
    seq: i64,
    renditions: &[(String, u64, Bytes)],
    info: Option<pb::OrchestratorInfo>,
) -> Bytes {
    let mut out =
        Vec::with_capacity(renditions.iter().map(|r| r.2.len() + 256).sum::<usize>() + 1024);
    for (name, pixels, data) in renditions {
        part(
            &mut out,
            wire::SEGMENT_CONTENT_TYPE,
            &[
                ("Rendition-Name", name.clone()),
                ("Pixels", pixels.to_string()),
            ],
            data,
        );
    }
    let result = pb::TranscodeResult {
        seq,
        result: Some(pb::transcode_result::Result::Data(pb::TranscodeData {
            segments: renditions
                .iter()
                .map(|(_, pixels, _)| pb::TranscodedSegmentData {
                    url: String::new(),
                    pixels: i64::try_from(*pixels).unwrap_or(i64::MAX),
                    perceptual_hash_url: String::new(),
                })
                .collect(),
            sig: Vec::new(),
        })),
        info,
    };
    part(
        &mut out,
        wire::PROTOBUF_CONTENT_TYPE,
        &[],
        &result.encode_to_vec(),
    );
    out.extend_from_slice(format!("--{MULTIPART_BOUNDARY}--\r\n").as_bytes());
    Bytes::from(out)
}

/// The body of a 200: produced when the transcode finishes.
struct PendingBody {
    job: Option<tokio::task::JoinHandle<Bytes>>,
    st: Arc<State>,
    delivered: bool,
}

impl hyper::body::Body for PendingBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let Some(job) = self.job.as_mut() else {
            self.delivered = true;
            return Poll::Ready(None);
        };
        match Pin::new(job).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(r) => {
                self.job = None;
                let bytes = r.unwrap_or_else(|_| {
                    Bytes::from(
                        pb::TranscodeResult {
                            seq: 0,
                            result: Some(pb::transcode_result::Result::Error(
                                "internal error".into(),
                            )),
                            info: None,
                        }
                        .encode_to_vec(),
                    )
                });
                Poll::Ready(Some(Ok(Frame::data(bytes))))
            }
        }
    }
}

use std::future::Future;

impl Drop for PendingBody {
    fn drop(&mut self) {
        if !self.delivered {
            // The gateway went away before the whole answer; the transcode (and its debit) stands.
            lock(&self.st.counters).abandoned += 1;
            self.st.metrics.refusal("client_gone", 0);
            self.st
                .log("a client disconnected before the end of its response");
        }
    }
}
