//! Prometheus metrics with go-livepeer's names, labels and units (livepeer-facts §11), plus
//! `rigbench_` metrics for what go-livepeer lacks (power in watts, energy in joules, bytes on
//! the wire by direction, refusals by reason), served on `--metrics-addr` at `/metrics`.
//!
//! Every metric carries go-livepeer's constant labels `node_id` and `node_type` (`orch` for the
//! orchestrator, `bctr` for the broadcaster side of `run`). Counters are exposed with the
//! `_total` suffix OpenMetrics requires (go-livepeer's `livepeer_tickets_recv` is
//! `livepeer_tickets_recv_total` here); names that already end in `_total` keep it once.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, StatusCode};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::net::server;
use crate::payments::PriceInfo;

/// Label set of counters split by a reason.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

/// Label set of go-livepeer's error counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    error_code: String,
}

/// Label set of byte counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectionLabels {
    direction: String,
}

/// Label set of refusals.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    reason: String,
    status: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// Segment-time buckets, seconds (go-livepeer's transcode-time histogram edges).
const TIME_BUCKETS: [f64; 12] = [
    0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0,
];

/// The metrics of one node.
pub struct Metrics {
    registry: Mutex<Registry>,
    transcode_time: Histogram,
    overall_latency: Histogram,
    upload_time: Histogram,
    download_time: Histogram,
    source_duration: Histogram,
    transcode_score: FloatGauge,
    latency_score: FloatGauge,
    transcoded: Counter,
    failed: Family<ErrorLabels, Counter>,
    current_sessions: Gauge,
    max_sessions: Gauge,
    mil_pixels: Counter<f64, AtomicU64>,
    success_rate: FloatGauge,
    tickets_recv: Counter,
    ticket_value_recv: Counter<f64, AtomicU64>,
    winning_tickets_recv: Counter,
    payment_recv_errors: Family<ErrorLabels, Counter>,
    transcoding_price: FloatGauge,
    tickets_sent: Counter,
    ticket_value_sent: Counter<f64, AtomicU64>,
    bytes: Family<DirectionLabels, Counter>,
    refusals: Family<RefusalLabels, Counter>,
    power: FloatGauge,
    energy: FloatGauge,
    seen: Mutex<(u64, u64)>,
    _reasons: Family<ReasonLabels, Counter>,
}

fn hist() -> Histogram {
    Histogram::new(TIME_BUCKETS)
}

impl Metrics {
    /// A registry for a node of `node_type` (`orch`, `bctr`) identified by `node_id`.
    pub fn new(node_type: &str, node_id: &str) -> Metrics {
        let mut r = Registry::with_labels(
            [
                (Cow::Borrowed("node_id"), Cow::Owned(node_id.to_string())),
                (
                    Cow::Borrowed("node_type"),
                    Cow::Owned(node_type.to_string()),
                ),
            ]
            .into_iter(),
        );
        let m = Metrics {
            registry: Mutex::new(Registry::default()),
            transcode_time: hist(),
            overall_latency: hist(),
            upload_time: hist(),
            download_time: hist(),
            source_duration: hist(),
            transcode_score: FloatGauge::default(),
            latency_score: FloatGauge::default(),
            transcoded: Counter::default(),
            failed: Family::default(),
            current_sessions: Gauge::default(),
            max_sessions: Gauge::default(),
            mil_pixels: Counter::default(),
            success_rate: FloatGauge::default(),
            tickets_recv: Counter::default(),
            ticket_value_recv: Counter::default(),
            winning_tickets_recv: Counter::default(),
            payment_recv_errors: Family::default(),
            transcoding_price: FloatGauge::default(),
            tickets_sent: Counter::default(),
            ticket_value_sent: Counter::default(),
            bytes: Family::default(),
            refusals: Family::default(),
            power: FloatGauge::default(),
            energy: FloatGauge::default(),
            seen: Mutex::new((0, 0)),
            _reasons: Family::default(),
        };
        r.register(
            "livepeer_transcode_time_seconds",
            "Transcoding time of a segment, seconds",
            m.transcode_time.clone(),
        );
        r.register(
            "livepeer_transcode_overall_latency_seconds",
            "Time from segment upload start to the last rendition downloaded, seconds",
            m.overall_latency.clone(),
        );
        r.register(
            "livepeer_upload_time_seconds",
            "Segment upload time, seconds",
            m.upload_time.clone(),
        );
        r.register(
            "livepeer_download_time_seconds",
            "Rendition download time per segment, seconds",
            m.download_time.clone(),
        );
        r.register(
            "livepeer_source_segment_duration_seconds",
            "Source segment duration, seconds",
            m.source_duration.clone(),
        );
        r.register(
            "livepeer_transcode_score",
            "Segment duration over transcode time (higher is better)",
            m.transcode_score.clone(),
        );
        r.register("rigbench_latency_score", "Round trip over max(1.5 s, segment duration): a gateway keeps an orchestrator while it is at most 1.0", m.latency_score.clone());
        r.register(
            "livepeer_segment_transcoded",
            "Segments transcoded",
            m.transcoded.clone(),
        );
        r.register(
            "livepeer_segment_transcode_failed",
            "Segments whose transcode failed, by error code",
            m.failed.clone(),
        );
        r.register(
            "livepeer_current_sessions_total",
            "Transcode sessions open",
            m.current_sessions.clone(),
        );
        r.register(
            "livepeer_max_sessions_total",
            "Most transcode sessions allowed (-maxSessions)",
            m.max_sessions.clone(),
        );
        r.register(
            "livepeer_mil_pixels_processed",
            "Output pixels transcoded, millions",
            m.mil_pixels.clone(),
        );
        r.register(
            "livepeer_success_rate",
            "Share of segments transcoded successfully",
            m.success_rate.clone(),
        );
        r.register(
            "livepeer_tickets_recv",
            "Tickets received",
            m.tickets_recv.clone(),
        );
        r.register(
            "livepeer_ticket_value_recv",
            "Expected value of valid tickets received, gwei",
            m.ticket_value_recv.clone(),
        );
        r.register(
            "livepeer_winning_tickets_recv",
            "Winning tickets received",
            m.winning_tickets_recv.clone(),
        );
        r.register(
            "livepeer_payment_recv_errors",
            "Payments refused, by error code",
            m.payment_recv_errors.clone(),
        );
        r.register(
            "livepeer_transcoding_price",
            "Price of transcoding, wei per pixel",
            m.transcoding_price.clone(),
        );
        r.register(
            "livepeer_tickets_sent",
            "Tickets sent",
            m.tickets_sent.clone(),
        );
        r.register(
            "livepeer_ticket_value_sent",
            "Expected value of tickets sent, gwei",
            m.ticket_value_sent.clone(),
        );
        r.register("rigbench_wire_bytes", "Bytes on the wire (HTTP headers and framing included on the client; bodies on the orchestrator), by direction", m.bytes.clone());
        r.register(
            "rigbench_refusals",
            "Requests refused, by reason and HTTP status (0: the client went away)",
            m.refusals.clone(),
        );
        r.register(
            "rigbench_power_watts",
            "Power drawn by the metered devices, watts",
            m.power.clone(),
        );
        r.register(
            "rigbench_energy_joules",
            "Energy drawn by the metered devices since the start, joules",
            m.energy.clone(),
        );
        *m.registry.lock().unwrap_or_else(|p| p.into_inner()) = r;
        m
    }

    /// The exposition text in Prometheus's text format 0.0.4 (what `promtool check metrics`
    /// and every Prometheus server read), converted from prometheus-client's OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let r = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &r);
        openmetrics_to_prometheus_text(&out)
    }

    fn rate(&self, ok: bool) {
        let mut s = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        s.0 += 1;
        if ok {
            s.1 += 1;
        }
        self.success_rate.set(s.1 as f64 / s.0 as f64);
    }

    /// One segment transcoded on this node.
    pub fn segment_transcoded(&self, segment_seconds: f64, transcode_seconds: f64, pixels: u64) {
        self.transcoded.inc();
        self.transcode_time.observe(transcode_seconds);
        self.source_duration.observe(segment_seconds);
        if transcode_seconds > 0.0 {
            self.transcode_score
                .set(segment_seconds / transcode_seconds);
        }
        self.mil_pixels.inc_by(pixels as f64 / 1e6);
        self.rate(true);
    }

    /// One segment failed (`code`: what failed).
    pub fn segment_failed(&self, code: &str) {
        self.failed
            .get_or_create(&ErrorLabels {
                error_code: code.to_string(),
            })
            .inc();
        self.rate(false);
    }

    /// The gateway's view of one segment round trip.
    pub fn round_trip(
        &self,
        upload_seconds: f64,
        download_seconds: f64,
        overall_seconds: f64,
        latency_score: f64,
    ) {
        self.upload_time.observe(upload_seconds);
        self.download_time.observe(download_seconds);
        self.overall_latency.observe(overall_seconds);
        self.latency_score.set(latency_score);
    }

    pub fn refusal(&self, reason: &str, status: u16) {
        self.refusals
            .get_or_create(&RefusalLabels {
                reason: reason.to_string(),
                status: status.to_string(),
            })
            .inc();
    }

    pub fn payment_error(&self, code: &str) {
        self.payment_recv_errors
            .get_or_create(&ErrorLabels {
                error_code: code.to_string(),
            })
            .inc();
    }

    pub fn current_sessions(&self, n: u64) {
        self.current_sessions
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    pub fn max_sessions(&self, n: u32) {
        self.max_sessions.set(i64::from(n));
    }

    pub fn price(&self, p: PriceInfo) {
        let (num, den) = p.reduced();
        let f = |v: alloy_primitives::U256| v.to_string().parse::<f64>().unwrap_or(f64::NAN);
        self.transcoding_price.set(f(num) / f(den));
    }

    /// Tickets of an accepted payment.
    pub fn tickets_received(&self, a: &crate::orchestrator::payments::Accepted) {
        let n = u64::from(a.verdict.valid)
            + a.verdict
                .rejected
                .values()
                .map(|v| u64::from(*v))
                .sum::<u64>();
        self.tickets_recv.inc_by(n);
        self.winning_tickets_recv
            .inc_by(a.verdict.winners.len() as u64);
        let gwei = a
            .verdict
            .credited_wei
            .to_string()
            .parse::<f64>()
            .unwrap_or(0.0)
            / 1e9;
        self.ticket_value_recv.inc_by(gwei);
    }

    /// Tickets a broadcaster sent, with their EV in wei.
    pub fn tickets_sent(&self, n: u32, ev_wei: f64) {
        self.tickets_sent.inc_by(u64::from(n));
        self.ticket_value_sent.inc_by(f64::from(n) * ev_wei / 1e9);
    }

    /// Bytes on the wire; `direction` is "in" or "out" from this node's side.
    pub fn bytes(&self, direction: &str, n: u64) {
        self.bytes
            .get_or_create(&DirectionLabels {
                direction: direction.to_string(),
            })
            .inc_by(n);
    }

    /// The latest power reading (None: no component could be read, the gauge keeps its last
    /// value) and the energy so far.
    pub fn power(&self, watts: Option<f64>, joules: f64) {
        if let Some(w) = watts {
            self.power.set(w);
        }
        self.energy.set(joules);
    }
}

/// OpenMetrics text → Prometheus text 0.0.4: a counter family `x` whose samples are `x_total`
/// gets its HELP and TYPE under `x_total` (the Prometheus format names a family by its sample
/// names), and the OpenMetrics-only `# UNIT` and `# EOF` lines go. Pure.
pub fn openmetrics_to_prometheus_text(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let counters: std::collections::HashSet<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(text.len());
    for line in lines {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            (counters.contains(name) && !name.ends_with("_total"))
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        match renamed {
            Some(l) => out.push_str(&l),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// Serves `/metrics` on `addr` from its own thread until `stop` is set; returns the bound
/// address and the thread.
pub fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    stop: Arc<AtomicBool>,
) -> Result<(SocketAddr, JoinHandle<()>)> {
    let listener = server::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    let handle = std::thread::Builder::new()
        .name("rigbench-metrics".into())
        .spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            let _ = rt.block_on(server::serve(
                listener,
                Duration::from_secs(5),
                stop,
                move |req| {
                    let m = Arc::clone(&metrics);
                    async move {
                        if req.method() != Method::GET || req.uri().path() != "/metrics" {
                            return server::not_found();
                        }
                        let mut r = hyper::Response::new(server::full(m.encode()));
                        r.headers_mut().insert(
                            CONTENT_TYPE,
                            HeaderValue::from_static(
                                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                            ),
                        );
                        *r.status_mut() = StatusCode::OK;
                        r
                    }
                },
            ));
        })
        .context("cannot start the metrics thread")?;
    Ok((bound, handle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_named_by_their_samples() {
        let om = "# HELP a_b Things.\n# TYPE a_b counter\na_b_total{x=\"1\"} 3\n# HELP g A gauge.\n# TYPE g gauge\n# UNIT g seconds\ng 1\n# EOF\n";
        let want = "# HELP a_b_total Things.\n# TYPE a_b_total counter\na_b_total{x=\"1\"} 3\n# HELP g A gauge.\n# TYPE g gauge\ng 1\n";
        assert_eq!(openmetrics_to_prometheus_text(om), want);
    }

    #[test]
    fn go_livepeer_names_are_exposed() {
        let m = Metrics::new("orch", "test");
        m.segment_transcoded(2.0, 1.0, 1_000_000);
        m.bytes("in", 10);
        let text = m.encode();
        for name in [
            "livepeer_segment_transcoded_total{node_id=\"test\",node_type=\"orch\"} 1",
            "livepeer_mil_pixels_processed_total",
            "livepeer_transcode_time_seconds_bucket",
            "livepeer_transcode_score",
            "rigbench_wire_bytes_total{node_id=\"test\",node_type=\"orch\",direction=\"in\"} 10",
        ] {
            assert!(text.contains(name), "{name}:\n{text}");
        }
        assert!(!text.contains("# EOF"));
    }
}
