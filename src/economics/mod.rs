//! Money: what a rig earns and costs per hour, as pure functions of a run's results
//! ([`RunFacts`], taken from `RunResult`) and a rig file ([`rig::Rig`]). The output is plain data
//! ([`crate::result::money`]); presentation lives in `src/report/money.rs`. The worked examples
//! in `docs/economics.md` are this module's tests.
//!
//! ## Where the method comes from
//! Each step is one function, in the order [`evaluate_facts_with`] runs them:
//! - [`price`]: one base price in whole wei (the run's tickets use the same one).
//! - [`capacity`]: Livepeer's documented capacity method (facts doc §1): the largest concurrency
//!   whose Real-Time Duration Ratio is ≤ 0.8. A live run at c sessions with ratio r ≤ 0.8
//!   sustains c (a lower bound), with r > 0.8 ⌊c × 0.8 / r⌋; a `--no-live` run ⌊throughput × 0.8⌋;
//!   a capacity search ([`CapacitySource::Searched`]) its measured count. Capped by the NVENC
//!   session cap (⌊cap / renditions⌋, facts doc §7) and the port (⌊port / max(in, out) Mbps⌋).
//! - [`tickets`]: go-livepeer's ticket sizing (facts doc §3) from the configured redeem-gas
//!   estimate, through [`crate::payments::params::ticket_sizing`], the function the run's
//!   payments use: txCost = estimate × gas price, faceValue = max(txCost × 100, EV × 100),
//!   winProb = EV / faceValue; winners per hour = gross fees / faceValue. A redemption costs
//!   the estimate (or, by `chain.redemption_gas`, the measured gas) × gas price + the L1 data fee.
//! - [`charged_price`]: autoAdjustPrice (facts doc §3): base × (1 + txCost / faceValue).
//! - [`fee_split`]: BondingManager's fee split (facts doc §5): the operator keeps
//!   (1 − feeShare) + own stake / total stake × feeShare of the fees.
//! - [`rewards`]: the Minter (facts doc §5): mintable = supply × inflation per round; the
//!   orchestrator mints mintable × its stake / active stake, less the treasury cut, and keeps
//!   rewardCut + (1 − rewardCut) × own / total of it; rounds per day = 86400 / (round length ×
//!   block time); minus one `reward()` per round.
//! - [`power`], [`bandwidth`], [`hardware`]: the operator's costs (see docs/economics.md).
//! - [`break_even`]: revenue and redemption gas are both linear in the base price.
//! - [`income_variance`]: wins in a day are binomial(tickets, winProb), which is Poisson with
//!   λ = winners per day for many tickets and a tiny winProb (the Poisson limit theorem).
//! - [`sensitivity`], [`verdict`]: margin across prices, electricity and utilisation; two
//!   verdicts, transcoding alone and with staking.

pub mod rig;

use alloy_primitives::U256;
use serde::{Deserialize, Serialize};

use crate::payments::params::{ticket_sizing, u256_to_f64, TicketSizing, DEFAULT_TICKET_EV_WEI};
use crate::payments::ticket::win_prob_fraction;
pub use crate::result::money::*;
use crate::result::RunResult;
pub use rig::{Rig, RigError};

/// Hours in a billing month (365 × 24 / 12).
pub const HOURS_PER_MONTH: f64 = 730.0;
/// Livepeer's capacity threshold: Real-Time Duration Ratio at most 0.8 (20% headroom).
pub const REALTIME_RATIO_LIMIT: f64 = 0.8;
pub const WEI_PER_ETH: f64 = 1e18;
/// Expected days between wins above which the verdict warns.
pub const LONG_WAIT_DAYS: f64 = 7.0;

/// What a caller knows better than one run and the rig file: a searched capacity
/// (`rigbench capacity`) and a simulated share sold (`rigbench economics --market`). The
/// default is what [`evaluate`] uses: capacity extrapolated from the run, share from the rig.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub capacity: CapacitySource,
    pub utilisation: UtilisationSource,
}

/// Why economics could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum EconomicsError {
    #[error("cannot read run file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a rigbench run.json: {message}")]
    Parse { path: String, message: String },
    #[error(
        "{path} has schema_version {found} but this rigbench reads schema_version {expected}: use the rigbench version that wrote it, or re-run `rigbench run`"
    )]
    SchemaVersion {
        path: String,
        found: String,
        expected: u32,
    },
    #[error(
        "missing price: `{key}` is not in the rig file and the run has no payments to take it from (add it, or --set {key}=1000)"
    )]
    MissingPrice { key: String },
    #[error("the run transcoded nothing (0 source seconds or 0 output pixels): there is nothing to price")]
    EmptyRun,
    #[error("ticket parameters: {0}")]
    Tickets(#[from] crate::payments::params::ParamsError),
    #[error("{what}: {reason}")]
    BadOverride { what: String, reason: String },
    #[error(transparent)]
    Rig(#[from] RigError),
}

/// Reads a run.json for `rigbench economics`, refusing another schema version.
pub fn load_run_json(path: &std::path::Path) -> Result<RunResult, EconomicsError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| EconomicsError::Read {
        path: shown.clone(),
        source,
    })?;
    parse_run_json(&text, &shown)
}

/// Parses run.json text (see [`load_run_json`]); `origin` names it in errors.
pub fn parse_run_json(text: &str, origin: &str) -> Result<RunResult, EconomicsError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| EconomicsError::Parse {
            path: origin.to_string(),
            message: e.to_string(),
        })?;
    let expected = crate::result::SCHEMA_VERSION;
    match value.get("schema_version") {
        Some(v) if v.as_u64() == Some(u64::from(expected)) => {}
        Some(v) => {
            return Err(EconomicsError::SchemaVersion {
                path: origin.to_string(),
                found: v.to_string(),
                expected,
            })
        }
        None => {
            return Err(EconomicsError::Parse {
                path: origin.to_string(),
                message: "no `schema_version` field".to_string(),
            })
        }
    }
    serde_json::from_value(value).map_err(|e| EconomicsError::Parse {
        path: origin.to_string(),
        message: e.to_string(),
    })
}

/// Which backend transcoded the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Cpu,
    Nvidia,
    Hybrid,
}

impl Backend {
    /// run.json's `backend.used` (anything unknown is priced as the CPU).
    pub fn from_name(name: &str) -> Backend {
        match name {
            "nvidia" => Backend::Nvidia,
            "hybrid" => Backend::Hybrid,
            _ => Backend::Cpu,
        }
    }

    fn compute_name(self) -> &'static str {
        match self {
            Backend::Nvidia => "GPU",
            Backend::Hybrid => "CPU (hybrid: GPU decodes, CPU encodes)",
            Backend::Cpu => "CPU",
        }
    }
}

/// Power as the run measured it, for pricing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerFacts {
    /// Components (DC, before PSU and without rest of system) during the run, watts.
    pub components_average_watts: f64,
    /// The same at rest (`--idle-seconds`), watts.
    pub idle_components_average_watts: Option<f64>,
    /// True when any component came from the declared model.
    pub estimated: bool,
}

/// Payments as the run measured them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PaymentFacts {
    pub price_per_pixel_wei: Option<f64>,
    pub ticket_ev_wei: Option<f64>,
    pub face_value_wei: Option<f64>,
    /// winProb as a fraction of 2^256 − 1.
    pub win_prob: Option<f64>,
    /// Measured on rigbench's simplified broker.
    pub gas_per_redemption: Option<u64>,
}

/// What economics needs from a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunFacts {
    /// The run was interrupted or failed midway (run.json `partial`).
    pub partial: bool,
    /// Paced like live streams (`--live`).
    pub live: bool,
    pub concurrent_sessions: u32,
    /// Renditions in the ladder (NVENC sessions per stream on the nvidia backend).
    pub renditions_per_stream: u32,
    pub backend_used: Backend,
    pub realtime_duration_ratio: f64,
    /// source_seconds / wall_seconds: streams served on average during the run.
    pub throughput_x: f64,
    /// Source seconds summed over sessions.
    pub source_seconds: f64,
    pub output_pixels: u64,
    pub mbps_in_per_stream: f64,
    pub mbps_out_per_stream: f64,
    pub p95_to_mean_5min: Option<f64>,
    /// None when power was not metered or is unknown (`power_unknown_reason`).
    pub power: Option<PowerFacts>,
    pub power_unknown_reason: Option<String>,
    pub payments: Option<PaymentFacts>,
}

fn parse_wei(s: &str) -> Option<f64> {
    let v: f64 = s.trim().parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some(v)
}

impl RunFacts {
    /// The facts of a run result.
    pub fn from_run(run: &RunResult) -> RunFacts {
        let s = &run.summary;
        let (mbps_in, mbps_out, p95) = match &run.bandwidth {
            Some(b) => (
                b.mbps_in_per_stream,
                b.mbps_out_per_stream,
                b.p95_to_mean_5min,
            ),
            None if s.source_seconds > 0.0 => (
                s.bytes_in as f64 * 8.0 / s.source_seconds / 1e6,
                s.bytes_out as f64 * 8.0 / s.source_seconds / 1e6,
                None,
            ),
            None => (0.0, 0.0, None),
        };
        // Network mode measured the bytes on the wire: price those (headers and framing
        // included), not the media alone. The orchestrator's inbound is what the gateway sent.
        let (mbps_in, mbps_out) = match &run.network {
            Some(n) if n.media_bytes_sent > 0 && n.media_bytes_received > 0 => (
                mbps_in * n.wire_bytes_sent as f64 / n.media_bytes_sent as f64,
                mbps_out * n.wire_bytes_received as f64 / n.media_bytes_received as f64,
            ),
            _ => (mbps_in, mbps_out),
        };
        let (power, power_unknown_reason) = match &run.power {
            None => (None, Some("power was not metered in this run".to_string())),
            Some(p) => match (p.components_average_watts, p.status) {
                (Some(w), Some(st)) => (
                    Some(PowerFacts {
                        components_average_watts: w,
                        idle_components_average_watts: p
                            .idle
                            .as_ref()
                            .and_then(|i| i.components_average_watts),
                        estimated: st == crate::metering::power::Status::Estimated,
                    }),
                    None,
                ),
                _ => (
                    None,
                    Some(
                        p.rig_unknown_reason
                            .clone()
                            .unwrap_or_else(|| "power unknown".to_string()),
                    ),
                ),
            },
        };
        let payments = run.payments.as_ref().map(|p| PaymentFacts {
            price_per_pixel_wei: parse_wei(&p.price_per_pixel_wei),
            ticket_ev_wei: parse_wei(&p.ticket_ev_wei),
            face_value_wei: parse_wei(&p.face_value_wei),
            win_prob: Some(p.win_prob),
            gas_per_redemption: p.gas_per_redemption,
        });
        RunFacts {
            partial: run.partial,
            live: run.sessions.live,
            concurrent_sessions: run.sessions.concurrent_sessions,
            renditions_per_stream: u32::try_from(run.ladder.len()).unwrap_or(u32::MAX),
            backend_used: Backend::from_name(&run.backend.used),
            realtime_duration_ratio: s.realtime_duration_ratio,
            throughput_x: if s.wall_seconds > 0.0 {
                s.source_seconds / s.wall_seconds
            } else {
                0.0
            },
            source_seconds: s.source_seconds,
            output_pixels: s.output_pixels,
            mbps_in_per_stream: mbps_in,
            mbps_out_per_stream: mbps_out,
            p95_to_mean_5min: p95,
            power,
            power_unknown_reason,
            payments,
        }
    }
}

/// Economics of a run under a rig file.
pub fn evaluate(run: &RunResult, rig: &Rig) -> Result<Economics, EconomicsError> {
    evaluate_with(run, rig, &Overrides::default())
}

/// [`evaluate`] with a searched capacity and/or a simulated share sold.
pub fn evaluate_with(
    run: &RunResult,
    rig: &Rig,
    overrides: &Overrides,
) -> Result<Economics, EconomicsError> {
    evaluate_facts_with(&RunFacts::from_run(run), rig, overrides)
}

/// Economics of a run's facts under a rig file: the pure core of [`evaluate`].
pub fn evaluate_facts(f: &RunFacts, rig: &Rig) -> Result<Economics, EconomicsError> {
    evaluate_facts_with(f, rig, &Overrides::default())
}

/// Labels collected along the way: estimated inputs and notes.
#[derive(Debug, Default)]
pub struct Labels {
    pub estimated: Vec<String>,
    pub notes: Vec<String>,
}

/// [`evaluate_facts`] with overrides: the pipeline of the module's steps.
pub fn evaluate_facts_with(
    f: &RunFacts,
    rig: &Rig,
    overrides: &Overrides,
) -> Result<Economics, EconomicsError> {
    rig.check()?;
    if f.source_seconds.is_nan() || f.source_seconds <= 0.0 || f.output_pixels == 0 {
        return Err(EconomicsError::EmptyRun);
    }
    let mut labels = Labels::default();
    if f.partial {
        labels.notes.push("priced from a partial run (--allow-partial): the run was interrupted or failed, so its figures cover only the segments that finished".to_string());
    }
    // rig.check() guarantees these are present.
    let eth_usd = rig.fees.eth_usd.unwrap_or(f64::NAN);
    let kwh = rig.power.electricity_usd_per_kwh.unwrap_or(f64::NAN);
    let gas_price_gwei = rig.chain.gas_price_gwei.unwrap_or(f64::NAN);
    let share = share_sold(rig, &overrides.utilisation)?;

    let (price_wei, price_source) = price(f, rig)?;
    let capacity = capacity(f, rig, &overrides.capacity, share);
    let pixels_per_stream_hour = f.output_pixels as f64 / (f.source_seconds / 3600.0);
    let t = tickets(f, rig, &mut labels)?;
    let adjustment = charged_price(1.0, &t.gas, rig.fees.auto_adjust_price);
    let split = fee_split(&rig.staking);
    let (rewards, rewards_note) = match rewards(rig) {
        Ok(r) => (Some(r), None),
        Err(why) => (None, Some(why)),
    };
    let power = power(f, rig, kwh, &mut labels);
    let bandwidth = bandwidth(f, rig, capacity.streams_sustained, &mut labels);
    let hardware = hardware(rig);
    let model = Model {
        pixels_per_stream_hour,
        streams_sustained: f64::from(capacity.streams_sustained),
        eth_usd,
        price_adjustment: adjustment,
        operator_share: split.operator_share,
        gas_usd_per_win: t.gas.gas_usd_per_redemption,
        face_value_wei: t.gas.face_value_wei,
        withdraw_usd_per_hour: t.withdraw_usd_per_hour,
        power: power.model,
        bandwidth: bandwidth.cost,
        hardware_usd_per_hour: hardware.usd_per_hour,
        rewards_net_usd_per_hour: rewards.as_ref().map(|r| r.rewards_net_usd_per_hour),
    };
    let per_rig_hour = model.hour(price_wei, kwh, share);
    let per_stream_hour = per_stream(&per_rig_hour, capacity.streams_sold);
    let mut gas = t.gas;
    let gross_wei_per_hour =
        price_wei * adjustment * pixels_per_stream_hour * capacity.streams_sold;
    gas.tickets_per_hour = gross_wei_per_hour / gas.ticket_ev_wei;
    gas.winners_per_hour = t.sizing.winners_for(gross_wei_per_hour);
    gas.price_adjustment = adjustment;
    let break_even = break_even(&model, capacity.streams_sold, &per_rig_hour);
    let (payback_months, payback_note) = payback(rig, &per_rig_hour);
    let income_variance = income_variance(&gas, eth_usd, per_rig_hour.fees_gross_usd_per_hour);
    if let Some(w) = &income_variance.warning {
        labels.notes.push(w.clone());
    }
    let sensitivity = sensitivity(&model, price_wei, kwh, share);
    let ctx = VerdictInputs {
        streams_sustained: capacity.streams_sustained,
        limiting_resource: capacity.limiting_resource.clone(),
        limit: format!(
            "limit: {} ({})",
            capacity.limiting_resource, capacity.evidence
        ),
        wait_days: income_variance
            .warning
            .as_ref()
            .and(income_variance.expected_days_between_wins),
        estimated: !labels.estimated.is_empty(),
        partial: f.partial,
        price_wei,
        eth_usd,
        power_basis: power.cost.basis.clone(),
    };
    let verdict = verdict(&ctx, &per_rig_hour, &break_even);
    let verdict_with_staking = rewards
        .as_ref()
        .map(|r| verdict_with_staking(&ctx, &per_rig_hour, r));

    Ok(Economics {
        rig_name: rig.name.clone(),
        partial_run: f.partial,
        inputs: Inputs {
            price_per_pixel_wei: price_wei,
            price_source,
            price_charged_per_pixel_wei: price_wei * adjustment,
            auto_adjust_price: rig.fees.auto_adjust_price,
            price_usd_per_million_pixels: usd_per_mpx(price_wei, eth_usd),
            eth_usd,
            electricity_usd_per_kwh: kwh,
            gas_price_gwei,
            chain: rig.chain.chain,
            utilisation_share_sold: share,
            utilisation_source: overrides.utilisation.clone(),
        },
        capacity,
        output_pixels_per_stream_hour: pixels_per_stream_hour,
        per_rig_hour,
        per_stream_hour,
        fee_split: split,
        rewards,
        rewards_note,
        power: PowerCost {
            rig_watts: model.rig_watts(model.streams_sustained * share),
            ..power.cost
        },
        bandwidth: bandwidth.report,
        hardware,
        gas,
        break_even,
        payback_months,
        payback_note,
        income_variance,
        sensitivity,
        verdict,
        verdict_with_staking,
        estimated: labels.estimated,
        notes: labels.notes,
    })
}

/// A base price in wei per pixel in USD per million pixels.
pub fn usd_per_mpx(wei: f64, eth_usd: f64) -> f64 {
    wei * 1e6 * eth_usd / WEI_PER_ETH
}

/// The share sold: the rig file's, or a simulated one (checked).
fn share_sold(rig: &Rig, source: &UtilisationSource) -> Result<f64, EconomicsError> {
    match source {
        UtilisationSource::RigFile => Ok(rig.utilisation.share_sold),
        UtilisationSource::Simulated { share, p5, p95, .. } => {
            let ok = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
            if !(ok(*share) && *share > 0.0 && ok(*p5) && ok(*p95) && p5 <= share && share <= p95) {
                return Err(EconomicsError::BadOverride {
                    what: "simulated utilisation".into(),
                    reason: format!("share {share} (p5 {p5}, p95 {p95}) must satisfy 0 <= p5 <= share <= p95 <= 1 and share > 0"),
                });
            }
            Ok(*share)
        }
    }
}

/// Price: the rig's one base price ([`Rig::price_per_pixel_wei`]), else the run's.
pub fn price(f: &RunFacts, rig: &Rig) -> Result<(f64, PriceSource), EconomicsError> {
    let run_price = f.payments.as_ref().and_then(|p| p.price_per_pixel_wei);
    match (
        rig.price_per_pixel_wei(),
        rig.fees.price_per_pixel_wei,
        run_price,
    ) {
        (Some(p), Some(_), _) => Ok((p, PriceSource::RigWei)),
        (Some(p), None, _) => Ok((p, PriceSource::RigUsd)),
        (None, _, Some(p)) => Ok((p, PriceSource::RunPayments)),
        (None, _, None) => Err(EconomicsError::MissingPrice {
            key: "fees.price_per_pixel_wei".to_string(),
        }),
    }
}

fn floor_u32(x: f64) -> u32 {
    if x.is_finite() && x > 0.0 {
        x.floor().min(f64::from(u32::MAX)) as u32
    } else {
        0
    }
}

fn plural(n: u32, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn plural_streams(n: u32) -> String {
    plural(n, "stream")
}

/// What the compute side (CPU or GPU) sustains before caps: (method, streams, lower bound,
/// evidence).
pub fn compute_streams(
    f: &RunFacts,
    source: &CapacitySource,
) -> (CapacityMethod, u32, bool, String) {
    let c = f.concurrent_sessions;
    let r = f.realtime_duration_ratio;
    match source {
        CapacitySource::Searched {
            streams,
            limit,
            confidence,
        } => (
            CapacityMethod::Searched,
            *streams,
            false,
            format!(
                "measured by a capacity search: {} ({limit} binds); {confidence}",
                plural_streams(*streams)
            ),
        ),
        CapacitySource::Extrapolated if f.live && r <= REALTIME_RATIO_LIMIT => (
            CapacityMethod::LiveRealtimeRatio,
            c,
            true,
            format!("live run at {}: Real-Time Duration Ratio {r:.3} <= {REALTIME_RATIO_LIMIT}, so at least {} (try more --concurrent-sessions)", plural(c, "session"), plural_streams(c)),
        ),
        CapacitySource::Extrapolated if f.live => {
            let s = floor_u32(f64::from(c) * REALTIME_RATIO_LIMIT / r);
            (
                CapacityMethod::LiveRealtimeRatio,
                s,
                false,
                format!("live run at {}: Real-Time Duration Ratio {r:.3} > {REALTIME_RATIO_LIMIT}, so {c} × {REALTIME_RATIO_LIMIT} / {r:.3} = {}", plural(c, "session"), plural_streams(s)),
            )
        }
        CapacitySource::Extrapolated => {
            let s = floor_u32(f.throughput_x * REALTIME_RATIO_LIMIT);
            (
                CapacityMethod::NoLiveThroughput,
                s,
                false,
                format!(
                    "--no-live throughput {:.2}× real time × {REALTIME_RATIO_LIMIT} headroom = {}",
                    f.throughput_x,
                    plural_streams(s)
                ),
            )
        }
    }
}

/// Capacity: compute streams, capped by NVENC sessions and the port; the smallest names the
/// limit.
pub fn capacity(f: &RunFacts, rig: &Rig, source: &CapacitySource, share: f64) -> Capacity {
    let (method, streams_compute, lower_bound, compute_evidence) = compute_streams(f, source);
    let compute_name = match source {
        CapacitySource::Searched { limit, .. } => limit.clone(),
        CapacitySource::Extrapolated => f.backend_used.compute_name().to_string(),
    };
    let nvenc_cap = match (f.backend_used, rig.hardware.nvenc_session_cap) {
        (Backend::Nvidia, Some(cap)) if f.renditions_per_stream > 0 => {
            Some(cap / f.renditions_per_stream)
        }
        _ => None,
    };
    let per_stream_link_mbps = f.mbps_in_per_stream.max(f.mbps_out_per_stream);
    let bandwidth_cap = match rig.bandwidth.port_mbps {
        Some(port) if per_stream_link_mbps > 0.0 => Some(floor_u32(port / per_stream_link_mbps)),
        _ => None,
    };
    let compute_claim = if lower_bound {
        format!("at least {streams_compute}")
    } else {
        streams_compute.to_string()
    };
    let mut limit = (streams_compute, compute_name.clone(), compute_evidence);
    if let Some(n) = nvenc_cap {
        if n <= limit.0 {
            limit = (
                n,
                "NVENC session cap".to_string(),
                format!(
                    "NVENC cap {} sessions / {} renditions per stream = {}; the {compute_name} sustains {compute_claim}",
                    rig.hardware.nvenc_session_cap.unwrap_or(0),
                    f.renditions_per_stream,
                    plural_streams(n),
                ),
            );
        }
    }
    if let Some(n) = bandwidth_cap {
        if n <= limit.0 {
            limit = (
                n,
                "bandwidth".to_string(),
                format!(
                    "port {} Mbps / {per_stream_link_mbps:.2} Mbps per stream = {}; the {compute_name} sustains {compute_claim}",
                    rig.bandwidth.port_mbps.unwrap_or(0.0),
                    plural_streams(n),
                ),
            );
        }
    }
    let (streams_sustained, limiting_resource, evidence) = limit;
    Capacity {
        method,
        source: source.clone(),
        source_note: match source {
            CapacitySource::Searched { .. } => "measured by search (`rigbench capacity`)".into(),
            CapacitySource::Extrapolated => {
                "extrapolated from one run; run `rigbench capacity`".into()
            }
        },
        concurrent_sessions_run: f.concurrent_sessions,
        realtime_duration_ratio: f.realtime_duration_ratio,
        throughput_x: f.throughput_x,
        streams_compute,
        streams_compute_is_lower_bound: lower_bound,
        streams_nvenc_cap: nvenc_cap,
        streams_bandwidth_cap: bandwidth_cap,
        streams_sustained,
        streams_sold: f64::from(streams_sustained) * share,
        limiting_resource,
        evidence,
    }
}

/// Tickets and gas as the pipeline needs them.
#[derive(Debug, Clone)]
pub struct Tickets {
    pub sizing: TicketSizing,
    /// The report's part (tickets and winners per hour are filled in later).
    pub gas: GasCost,
    pub withdraw_usd_per_hour: f64,
}

/// USD cost of one transaction of `gas` under the rig's chain: gas × gas price + L1 data fee.
pub fn tx_usd(rig: &Rig, gas: u64) -> f64 {
    let c = &rig.chain;
    let gas_price_wei = c.gas_price_gwei.unwrap_or(0.0) * 1e9;
    (gas as f64 * gas_price_wei + c.l1_data_fee()) * rig.fees.eth_usd.unwrap_or(f64::NAN)
        / WEI_PER_ETH
}

/// Gas: go-livepeer's ticket sizing from the redeem-gas estimate (the function the run's
/// payments use), the gas that prices a redemption, and the withdrawal's share per hour.
pub fn tickets(f: &RunFacts, rig: &Rig, labels: &mut Labels) -> Result<Tickets, EconomicsError> {
    let c = &rig.chain;
    let eth_usd = rig.fees.eth_usd.unwrap_or(f64::NAN);
    let gas_price_gwei = c.gas_price_gwei.unwrap_or(0.0);
    let gas_price = U256::from((gas_price_gwei * 1e9).round() as u128);
    let run = f.payments.as_ref();
    let run_ev = run.and_then(|p| p.ticket_ev_wei).filter(|v| *v > 0.0);
    let (ev, ev_source) = match (c.ticket_ev_wei, run_ev) {
        (Some(v), _) => (v, "chain.ticket_ev_wei"),
        (None, Some(v)) => (v, "run payments"),
        (None, None) => (DEFAULT_TICKET_EV_WEI as f64, "go-livepeer default (8 gwei)"),
    };
    let estimate = c.redeem_gas();
    let estimate_source = if c.redeem_gas_estimate.is_some() {
        "chain.redeem_gas_estimate".to_string()
    } else {
        format!("go-livepeer's estimate for {}", chain_name(c.chain))
    };
    let sizing = ticket_sizing(
        estimate,
        gas_price,
        U256::from(ev.round() as u128),
        U256::MAX,
        None,
    )?;
    let measured = run.and_then(|p| p.gas_per_redemption).filter(|g| *g > 0);
    let gas_per_redemption = match (c.redemption_gas, measured) {
        (RedemptionGas::Measured, Some(g)) => g,
        (RedemptionGas::Measured, None) => {
            labels.estimated.push(format!("gas per redemption: chain.redemption_gas = \"measured\" but the run measured none, so the estimate {estimate} prices redemptions"));
            estimate
        }
        (RedemptionGas::Estimate, _) => estimate,
    };
    let l1_fee = c.l1_data_fee();
    let l1_fee_assumed = c.chain == ChainKind::Arbitrum && c.l1_data_fee_wei.is_none();
    let usd_per = |gas: u64| tx_usd(rig, gas);
    let face_value_wei = u256_to_f64(sizing.face_value_wei);
    let withdraw_hours = c.withdraw_fees_every_days * 24.0;
    Ok(Tickets {
        sizing,
        withdraw_usd_per_hour: usd_per(c.withdraw_fees_gas) / withdraw_hours,
        gas: GasCost {
            redeem_gas_estimate: estimate,
            redeem_gas_estimate_source: estimate_source,
            measured_gas_per_redemption: measured,
            priced_by: c.redemption_gas,
            gas_per_redemption,
            gas_price_gwei,
            l1_data_fee_wei: l1_fee,
            l1_data_fee_assumed: l1_fee_assumed,
            gas_usd_per_redemption: usd_per(gas_per_redemption),
            tx_cost_wei: u256_to_f64(sizing.tx_cost_wei),
            ticket_ev_wei: ev,
            ticket_ev_source: ev_source.to_string(),
            face_value_wei,
            face_value_usd: face_value_wei * eth_usd / WEI_PER_ETH,
            win_prob: win_prob_fraction(sizing.win_prob),
            run_face_value_wei: run.and_then(|p| p.face_value_wei),
            run_win_prob: run.and_then(|p| p.win_prob),
            price_adjustment: 1.0,
            tickets_per_hour: 0.0,
            winners_per_hour: 0.0,
            withdraw_fees_gas: c.withdraw_fees_gas,
            withdraw_fees_every_days: c.withdraw_fees_every_days,
            reward_gas: c.reward_gas,
        },
    })
}

fn chain_name(c: ChainKind) -> &'static str {
    match c {
        ChainKind::Arbitrum => "Arbitrum",
        ChainKind::L1 => "L1",
    }
}

/// autoAdjustPrice: the price charged = base × (1 + txCost / faceValue) when on.
pub fn charged_price(base_wei: f64, gas: &GasCost, auto_adjust: bool) -> f64 {
    if auto_adjust && gas.face_value_wei > 0.0 {
        base_wei * (1.0 + gas.tx_cost_wei / gas.face_value_wei)
    } else {
        base_wei
    }
}

/// Fees: the operator keeps (1 − feeShare) + own / total × feeShare.
pub fn fee_split(s: &rig::StakingSection) -> FeeSplit {
    let total = s.total_stake();
    let own_share = if total > 0.0 {
        s.own_stake_lpt / total
    } else {
        0.0
    };
    let operator_share = (1.0 - s.fee_share) + own_share * s.fee_share;
    FeeSplit {
        fee_share_delegators: s.fee_share,
        own_stake_lpt: s.own_stake_lpt,
        total_stake_lpt: total,
        own_stake_share: own_share,
        operator_share,
        basis: format!(
            "feeShare {} goes to delegators (staking.fee_share, as registered on chain); the operator keeps 1 − {} + its own stake's share {own_share:.4} × {} = {operator_share:.4} of fees",
            s.fee_share, s.fee_share, s.fee_share
        ),
    }
}

/// Rewards: the operator's inflationary LPT per hour in USD, less `reward()` gas; Err says why
/// there is none.
pub fn rewards(rig: &Rig) -> Result<Rewards, String> {
    let s = &rig.staking;
    let p = &rig.protocol;
    let total = s.total_stake();
    if total <= 0.0 {
        return Err("no stake: an orchestrator without bonded LPT is not in the active set and mints no inflationary rewards (give [staking] own_stake_lpt / total_stake_lpt)".to_string());
    }
    let lpt_usd = s.lpt_usd.unwrap_or(f64::NAN);
    let mintable = p.total_supply_lpt * p.inflation_per_round;
    let stake_share = total / p.total_active_stake_lpt;
    let orchestrator = mintable * stake_share * (1.0 - p.treasury_reward_cut);
    let operator_share = s.reward_cut + (1.0 - s.reward_cut) * s.own_stake_lpt / total;
    let operator = orchestrator * operator_share;
    let rounds_per_day = 86_400.0 / (p.round_length_blocks * p.block_seconds);
    let rewards_usd_per_hour = operator * lpt_usd * rounds_per_day / 24.0;
    let reward_gas_usd_per_hour = tx_usd(rig, rig.chain.reward_gas) * rounds_per_day / 24.0;
    Ok(Rewards {
        mintable_lpt_per_round: mintable,
        stake_share_of_active: stake_share,
        orchestrator_lpt_per_round: orchestrator,
        operator_share,
        operator_lpt_per_round: operator,
        rounds_per_day,
        lpt_usd,
        rewards_usd_per_hour,
        reward_gas_usd_per_hour,
        rewards_net_usd_per_hour: rewards_usd_per_hour - reward_gas_usd_per_hour,
        basis: format!(
            "{} LPT supply × {} inflation = {mintable:.2} LPT a round; × {total} / {} active stake × (1 − {} treasury) = {orchestrator:.4}; × (reward cut {} + (1 − {}) × {} / {total}) = {operator:.4} LPT a round × {rounds_per_day:.4} rounds a day × ${lpt_usd}",
            p.total_supply_lpt, p.inflation_per_round, p.total_active_stake_lpt, p.treasury_reward_cut, s.reward_cut, s.reward_cut, s.own_stake_lpt
        ),
    })
}

/// Power as the pipeline needs it.
pub struct PowerPart {
    model: PowerModel,
    /// rig_watts is filled in by the pipeline.
    pub cost: PowerCost,
}

/// Power: measured (scaled to the streams sold), declared at full load, or unknown.
pub fn power(f: &RunFacts, rig: &Rig, kwh: f64, labels: &mut Labels) -> PowerPart {
    let rest = rig.power.rest_of_system_watts;
    let psu = rig.power.psu_efficiency;
    let (model, mut status, mut basis) = match &f.power {
        Some(p) => {
            let served = f.throughput_x.max(f64::MIN_POSITIVE);
            let (base, per_stream, basis) = match p.idle_components_average_watts {
                Some(idle) => (
                    idle,
                    (p.components_average_watts - idle).max(0.0) / served,
                    format!(
                        "idle {idle:.1} W + ({:.1} − {idle:.1}) W × streams / {served:.2} streams served in the run, + {rest} W rest of system, / PSU {psu}",
                        p.components_average_watts
                    ),
                ),
                None => (
                    0.0,
                    p.components_average_watts / served,
                    format!(
                        "{:.1} W × streams / {served:.2} streams served in the run (no idle baseline: power taken as proportional to load), + {rest} W rest of system, / PSU {psu}",
                        p.components_average_watts
                    ),
                ),
            };
            if p.estimated {
                labels.estimated.push(
                    "power: components from the rig's declared model scaled by measured utilisation"
                        .to_string(),
                );
            }
            let status = if p.estimated {
                PowerStatus::Estimated
            } else {
                PowerStatus::Measured
            };
            (
                PowerModel::Known {
                    base_watts: base,
                    per_stream_watts: per_stream,
                    rest_watts: rest,
                    psu,
                },
                status,
                basis,
            )
        }
        None if !rig.power.components.is_empty() => {
            let full: f64 = rig.power.components.iter().map(|c| c.full_load_watts).sum();
            labels.estimated.push(format!(
                "power: {} — declared components taken at full load ({full} W)",
                f.power_unknown_reason.as_deref().unwrap_or("not metered")
            ));
            (
                PowerModel::Known {
                    base_watts: full,
                    per_stream_watts: 0.0,
                    rest_watts: rest,
                    psu,
                },
                PowerStatus::Estimated,
                format!("declared components at full load {full} W + {rest} W rest of system, / PSU {psu}"),
            )
        }
        None => (
            PowerModel::Unknown,
            PowerStatus::Unknown,
            format!(
                "{}, and the rig file declares no [[power.components]]",
                f.power_unknown_reason
                    .as_deref()
                    .unwrap_or("power not metered")
            ),
        ),
    };
    if kwh == 0.0 {
        status = PowerStatus::Included;
        basis =
            format!("electricity free or included (power.electricity_usd_per_kwh = 0); {basis}");
    }
    PowerPart {
        model,
        cost: PowerCost {
            status,
            rig_watts: None,
            basis,
        },
    }
}

/// Bandwidth as the pipeline needs it.
pub struct BandwidthPart {
    cost: BandwidthModelCost,
    pub report: BandwidthCost,
}

fn gb_per_hour(mbps: f64) -> f64 {
    mbps * 1e6 / 8.0 * 3600.0 / 1e9
}

/// Bandwidth: per GB (per stream sold), 95th percentile (of the capacity sized), a flat port,
/// or included.
pub fn bandwidth(
    f: &RunFacts,
    rig: &Rig,
    streams_sustained: u32,
    labels: &mut Labels,
) -> BandwidthPart {
    let b = &rig.bandwidth;
    let link = f.mbps_in_per_stream.max(f.mbps_out_per_stream);
    let (cost, billed_mbps, basis) = match b.model {
        BandwidthModel::PerGb => {
            let (pin, pout) = (
                b.usd_per_gb_in.unwrap_or(0.0),
                b.usd_per_gb_out.unwrap_or(0.0),
            );
            let per =
                gb_per_hour(f.mbps_in_per_stream) * pin + gb_per_hour(f.mbps_out_per_stream) * pout;
            (
                BandwidthModelCost::PerStreamHour(per),
                None,
                format!(
                    "per GB: {:.3} GB in × ${pin} + {:.3} GB out × ${pout} per stream-hour",
                    gb_per_hour(f.mbps_in_per_stream),
                    gb_per_hour(f.mbps_out_per_stream)
                ),
            )
        }
        BandwidthModel::Percentile95 => {
            let ratio = f.p95_to_mean_5min.unwrap_or(1.0).max(1.0);
            if f.p95_to_mean_5min.is_none() {
                labels.estimated.push("bandwidth: 95th percentile taken as the mean (run shorter than two 5-minute windows; live streams are constant-bitrate)".to_string());
            }
            let traffic = f64::from(streams_sustained) * link * ratio;
            let billed = traffic.max(b.commit_minimum_mbps.unwrap_or(0.0));
            let price = b.commit_usd_per_mbps_month.unwrap_or(0.0);
            (
                BandwidthModelCost::Fixed(billed * price / HOURS_PER_MONTH),
                Some(billed),
                format!(
                    "95th percentile: max(commit {} Mbps, {streams_sustained} streams × {link:.2} Mbps × {ratio:.2}) = {billed:.2} Mbps × ${price}/Mbps-month / {HOURS_PER_MONTH} h",
                    b.commit_minimum_mbps.unwrap_or(0.0)
                ),
            )
        }
        BandwidthModel::FlatPort => {
            let price = b.port_usd_per_month.unwrap_or(0.0);
            (
                BandwidthModelCost::Fixed(price / HOURS_PER_MONTH),
                None,
                format!(
                    "flat port {} Mbps at ${price}/month / {HOURS_PER_MONTH} h",
                    b.port_mbps.unwrap_or(0.0)
                ),
            )
        }
        BandwidthModel::Included => (
            BandwidthModelCost::Fixed(0.0),
            None,
            "included: no marginal cost".to_string(),
        ),
    };
    BandwidthPart {
        cost,
        report: BandwidthCost {
            model: b.model,
            mbps_in_per_stream: f.mbps_in_per_stream,
            mbps_out_per_stream: f.mbps_out_per_stream,
            gb_per_stream_hour: gb_per_hour(f.mbps_in_per_stream + f.mbps_out_per_stream),
            billed_mbps,
            basis,
        },
    }
}

/// Hardware: purchase over the amortisation, or rent, per hour.
pub fn hardware(rig: &Rig) -> HardwareCost {
    let h = &rig.hardware;
    match h.ownership {
        Ownership::Owned => {
            let (cost, months) = (
                h.cost_usd.unwrap_or(0.0),
                h.amortisation_months.unwrap_or(1.0),
            );
            HardwareCost {
                ownership: Ownership::Owned,
                usd_per_hour: cost / months / HOURS_PER_MONTH,
                basis: format!("${cost} over {months} months of {HOURS_PER_MONTH} h"),
            }
        }
        Ownership::Rented => {
            let rent = h.rent_usd_per_month.unwrap_or(0.0);
            HardwareCost {
                ownership: Ownership::Rented,
                usd_per_hour: rent / HOURS_PER_MONTH,
                basis: format!("${rent}/month over {HOURS_PER_MONTH} h"),
            }
        }
    }
}

/// Everything per hour that does not depend on price, electricity price or share sold.
#[derive(Debug, Clone)]
pub struct Model {
    pixels_per_stream_hour: f64,
    streams_sustained: f64,
    eth_usd: f64,
    /// Charged / base price (autoAdjustPrice).
    price_adjustment: f64,
    operator_share: f64,
    gas_usd_per_win: f64,
    face_value_wei: f64,
    withdraw_usd_per_hour: f64,
    power: PowerModel,
    bandwidth: BandwidthModelCost,
    hardware_usd_per_hour: f64,
    rewards_net_usd_per_hour: Option<f64>,
}

#[derive(Debug, Clone, Copy)]
enum PowerModel {
    /// DC watts at `s` streams = base + per_stream × s; then (dc + rest) / psu.
    Known {
        base_watts: f64,
        per_stream_watts: f64,
        rest_watts: f64,
        psu: f64,
    },
    Unknown,
}

#[derive(Debug, Clone, Copy)]
enum BandwidthModelCost {
    PerStreamHour(f64),
    Fixed(f64),
}

impl Model {
    fn rig_watts(&self, streams_sold: f64) -> Option<f64> {
        match self.power {
            PowerModel::Known {
                base_watts,
                per_stream_watts,
                rest_watts,
                psu,
            } => Some((base_watts + per_stream_watts * streams_sold + rest_watts) / psu),
            PowerModel::Unknown => None,
        }
    }

    /// Money per rig-hour at a base price, an electricity price and a share sold.
    fn hour(&self, price_wei: f64, kwh: f64, share: f64) -> HourMoney {
        let streams = self.streams_sustained * share;
        let pixels = self.pixels_per_stream_hour * streams;
        let gross_wei = price_wei * self.price_adjustment * pixels;
        let fees_gross = gross_wei * self.eth_usd / WEI_PER_ETH;
        let fees_operator = fees_gross * self.operator_share;
        let gas = gross_wei / self.face_value_wei * self.gas_usd_per_win;
        let revenue = fees_operator - gas - self.withdraw_usd_per_hour;
        let power = if kwh == 0.0 {
            Some(0.0)
        } else {
            self.rig_watts(streams).map(|w| w / 1000.0 * kwh)
        };
        let bandwidth = match self.bandwidth {
            BandwidthModelCost::PerStreamHour(c) => c * streams,
            BandwidthModelCost::Fixed(c) => c,
        };
        let costs = power.map(|p| p + bandwidth + self.hardware_usd_per_hour);
        let margin = costs.map(|c| revenue - c);
        HourMoney {
            fees_gross_usd_per_hour: fees_gross,
            fees_operator_usd_per_hour: fees_operator,
            fees_delegators_usd_per_hour: fees_gross - fees_operator,
            gas_usd_per_hour: gas,
            withdraw_gas_usd_per_hour: self.withdraw_usd_per_hour,
            revenue_usd_per_hour: revenue,
            power_usd_per_hour: power,
            bandwidth_usd_per_hour: bandwidth,
            hardware_usd_per_hour: self.hardware_usd_per_hour,
            costs_usd_per_hour: costs,
            margin_usd_per_hour: margin,
            margin_percent: margin.and_then(|m| (revenue > 0.0).then(|| m / revenue * 100.0)),
            rewards_net_usd_per_hour: self.rewards_net_usd_per_hour,
            margin_with_staking_usd_per_hour: margin
                .and_then(|m| self.rewards_net_usd_per_hour.map(|r| m + r)),
        }
    }
}

/// One sold stream's share of the rig's hour (staking is per rig, so left out).
pub fn per_stream(h: &HourMoney, streams_sold: f64) -> Option<HourMoney> {
    (streams_sold > 0.0).then(|| {
        let d = |v: f64| v / streams_sold;
        HourMoney {
            fees_gross_usd_per_hour: d(h.fees_gross_usd_per_hour),
            fees_operator_usd_per_hour: d(h.fees_operator_usd_per_hour),
            fees_delegators_usd_per_hour: d(h.fees_delegators_usd_per_hour),
            gas_usd_per_hour: d(h.gas_usd_per_hour),
            withdraw_gas_usd_per_hour: d(h.withdraw_gas_usd_per_hour),
            revenue_usd_per_hour: d(h.revenue_usd_per_hour),
            power_usd_per_hour: h.power_usd_per_hour.map(d),
            bandwidth_usd_per_hour: d(h.bandwidth_usd_per_hour),
            hardware_usd_per_hour: d(h.hardware_usd_per_hour),
            costs_usd_per_hour: h.costs_usd_per_hour.map(d),
            margin_usd_per_hour: h.margin_usd_per_hour.map(d),
            margin_percent: h.margin_percent,
            rewards_net_usd_per_hour: None,
            margin_with_staking_usd_per_hour: None,
        }
    })
}

/// Break-even base price (transcoding alone): revenue and redemption gas are linear in the
/// price, so p* = (costs + withdrawal gas) / (pixels × adjustment × (operator share × ETH/USD /
/// 1e18 − gas USD per win / faceValue)).
pub fn break_even(m: &Model, streams_sold: f64, h: &HourMoney) -> BreakEven {
    let none = |note: &str| BreakEven {
        price_per_pixel_wei: None,
        price_usd_per_million_pixels: None,
        note: Some(note.to_string()),
    };
    if streams_sold <= 0.0 {
        return none("no stream is sold: no price breaks even");
    }
    let Some(costs) = h.costs_usd_per_hour else {
        return none("power cost unknown: break-even unknown");
    };
    let pixels = m.pixels_per_stream_hour * streams_sold;
    let net_per_wei = pixels
        * m.price_adjustment
        * (m.operator_share * m.eth_usd / WEI_PER_ETH - m.gas_usd_per_win / m.face_value_wei);
    if net_per_wei <= 0.0 {
        return none(
            "redemption gas eats the operator's whole share of every fee: no price breaks even",
        );
    }
    let p = (costs + m.withdraw_usd_per_hour) / net_per_wei;
    BreakEven {
        price_per_pixel_wei: Some(p),
        price_usd_per_million_pixels: Some(usd_per_mpx(p, m.eth_usd)),
        note: None,
    }
}

/// Payback (owned hardware): cost / monthly margin before hardware (transcoding alone).
pub fn payback(rig: &Rig, h: &HourMoney) -> (Option<f64>, Option<String>) {
    match rig.hardware.ownership {
        Ownership::Rented => (
            None,
            Some("rented hardware: nothing to pay back".to_string()),
        ),
        Ownership::Owned => match h.margin_usd_per_hour {
            None => (None, Some("margin unknown (power unknown)".to_string())),
            Some(m) => {
                let monthly = (m + h.hardware_usd_per_hour) * HOURS_PER_MONTH;
                if monthly > 0.0 {
                    (Some(rig.hardware.cost_usd.unwrap_or(0.0) / monthly), None)
                } else {
                    (
                        None,
                        Some("never: the margin before hardware is not positive".to_string()),
                    )
                }
            }
        },
    }
}

/// Income variance: Poisson(λ = winners per day).
pub fn income_variance(
    gas: &GasCost,
    eth_usd: f64,
    fees_gross_usd_per_hour: f64,
) -> IncomeVariance {
    let winners_per_day = gas.winners_per_hour * 24.0;
    let expected_days_between_wins = (winners_per_day > 0.0).then(|| 1.0 / winners_per_day);
    let warning = expected_days_between_wins
        .filter(|d| *d > LONG_WAIT_DAYS)
        .map(|d| {
            format!(
                "faceValue {:.4} ETH (${:.2}) against fees of ${:.2}/day: one win every {d:.1} days on average; income arrives in rare lumps",
                gas.face_value_wei / WEI_PER_ETH,
                gas.face_value_wei * eth_usd / WEI_PER_ETH,
                fees_gross_usd_per_hour * 24.0
            )
        });
    IncomeVariance {
        distribution: "Poisson(λ = winners per day), the limit of binomial(tickets per day, winProb) for many tickets and small winProb".to_string(),
        winners_per_day,
        expected_days_between_wins,
        p_day_without_win: (-winners_per_day).exp(),
        p_day_below_half_expectation: poisson_cdf_below(winners_per_day / 2.0, winners_per_day),
        warning,
    }
}

/// Sensitivity: margin per rig-hour for base price × {¼, ½, 1, 2, 4} against electricity
/// {0.05, 0.10, 0.20, 0.30, 0.40, the rig's} $/kWh, and for utilisation {25, 50, 75, 100}%.
pub fn sensitivity(m: &Model, price_wei: f64, kwh: f64, share: f64) -> Sensitivity {
    let prices: Vec<f64> = [0.25, 0.5, 1.0, 2.0, 4.0]
        .iter()
        .map(|x| x * price_wei)
        .collect();
    let mut kwhs = vec![0.05, 0.10, 0.20, 0.30, 0.40, kwh];
    kwhs.sort_by(f64::total_cmp);
    kwhs.dedup_by(|a, b| (*a - *b).abs() < 1e-12);
    let at_share = |s: f64| m.hour(price_wei, kwh, s).margin_usd_per_hour;
    Sensitivity {
        margin_usd_per_rig_hour: prices
            .iter()
            .map(|p| {
                kwhs.iter()
                    .map(|k| m.hour(*p, *k, share).margin_usd_per_hour)
                    .collect()
            })
            .collect(),
        price_per_pixel_wei: prices,
        electricity_usd_per_kwh: kwhs,
        utilisation: [0.25, 0.5, 0.75, 1.0]
            .iter()
            .map(|s| UtilisationPoint {
                share_sold: *s,
                margin_usd_per_rig_hour: at_share(*s),
            })
            .collect(),
    }
}

/// What the verdicts need besides the money.
#[derive(Debug, Clone)]
pub struct VerdictInputs {
    pub streams_sustained: u32,
    /// What limits the streams ("GPU", "NVENC session cap", ...).
    pub limiting_resource: String,
    /// "limit: <resource> (<evidence>)".
    pub limit: String,
    /// Expected days between wins, when long enough to warn.
    pub wait_days: Option<f64>,
    pub estimated: bool,
    pub partial: bool,
    pub price_wei: f64,
    pub eth_usd: f64,
    pub power_basis: String,
}

impl VerdictInputs {
    fn tags(&self) -> String {
        let mut t = String::new();
        if self.estimated {
            t.push_str(" [estimated]");
        }
        if self.partial {
            t.push_str(" [partial run]");
        }
        t
    }

    fn tail(&self) -> String {
        match self.wait_days {
            Some(d) => format!("{}; one win every {d:.1} days on average", self.limit),
            None => self.limit.clone(),
        }
    }
}

/// The verdict on transcoding alone: fees − gas − costs.
pub fn verdict(v: &VerdictInputs, h: &HourMoney, be: &BreakEven) -> Verdict {
    let (tags, tail) = (v.tags(), v.tail());
    let limiting_resource = v.limiting_resource.clone();
    let (profitable, line) = if v.streams_sustained == 0 {
        (
            Some(false),
            format!(
                "not profitable: the rig sustains no real-time stream of this ladder{tags}; {tail}"
            ),
        )
    } else {
        match (h.margin_usd_per_hour, h.margin_percent) {
            (Some(m), pct) if m > 0.0 => (
                Some(true),
                format!(
                    "transcoding alone: profitable at {} wei/pixel: margin ${m:.3}/h per rig ({:.1}%){tags}; {tail}",
                    v.price_wei,
                    pct.unwrap_or(0.0)
                ),
            ),
            (Some(_), _) => (
                Some(false),
                match be.price_per_pixel_wei {
                    Some(p) => format!(
                        "transcoding alone: not profitable: break-even needs {p:.2} wei/pixel ({:.3e} USD per million pixels){tags}; {tail}",
                        usd_per_mpx(p, v.eth_usd)
                    ),
                    None => format!(
                        "transcoding alone: not profitable at any price: {}{tags}; {tail}",
                        be.note.clone().unwrap_or_default()
                    ),
                },
            ),
            (None, _) => (
                None,
                format!(
                    "transcoding alone: unknown: power cost unknown ({}); margin before power ${:.3}/h per rig{tags}; {tail}",
                    v.power_basis,
                    h.revenue_usd_per_hour - h.bandwidth_usd_per_hour - h.hardware_usd_per_hour
                ),
            ),
        }
    };
    Verdict {
        profitable,
        line,
        limiting_resource,
    }
}

/// The verdict with staking: fees + rewards − gas − costs.
pub fn verdict_with_staking(v: &VerdictInputs, h: &HourMoney, r: &Rewards) -> Verdict {
    let tags = v.tags();
    let limiting_resource = v.limiting_resource.clone();
    let (profitable, line) = match h.margin_with_staking_usd_per_hour {
        Some(m) => (
            Some(m > 0.0),
            format!(
                "with staking: {}: margin ${m:.3}/h per rig (transcoding {} + rewards ${:.3}/h net of reward() gas){tags}",
                if m > 0.0 { "profitable" } else { "not profitable" },
                h.margin_usd_per_hour
                    .map(|t| if t < 0.0 { format!("−${:.3}/h", -t) } else { format!("${t:.3}/h") })
                    .unwrap_or_default(),
                r.rewards_net_usd_per_hour
            ),
        ),
        None => (
            None,
            format!(
                "with staking: unknown: power cost unknown; rewards ${:.3}/h net of reward() gas{tags}",
                r.rewards_net_usd_per_hour
            ),
        ),
    };
    Verdict {
        profitable,
        line,
        limiting_resource,
    }
}

/// P(N < x) for N ~ Poisson(λ): Σ_{k < x} e^−λ λ^k / k!, summed in log space; a normal
/// approximation with continuity correction above λ = 10^6.
pub fn poisson_cdf_below(x: f64, lambda: f64) -> f64 {
    let (lambda_positive, x_positive) = (lambda > 0.0, x > 0.0);
    if !lambda_positive || !x_positive {
        // No wins expected: every day is below any positive threshold; nothing is below 0.
        return if !lambda_positive && x_positive {
            1.0
        } else {
            0.0
        };
    }
    // Largest integer k with k < x.
    let k_max = (x.ceil() - 1.0).max(0.0);
    if lambda > 1e6 {
        let z = (k_max + 0.5 - lambda) / lambda.sqrt();
        return 0.5 * erfc(-z / std::f64::consts::SQRT_2);
    }
    let ln_l = lambda.ln();
    let (mut sum, mut ln_fact) = (0.0, 0.0);
    let mut k = 0.0;
    while k <= k_max {
        if k > 0.0 {
            ln_fact += k.ln();
        }
        sum += (-lambda + k * ln_l - ln_fact).exp();
        k += 1.0;
    }
    sum.min(1.0)
}

/// Complementary error function (Numerical Recipes' erfcc, a Chebyshev fit with fractional
/// error < 1.2e-7). The market's latency model uses it too.
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests;
