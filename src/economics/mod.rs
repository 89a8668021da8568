//! Money: revenue, costs, margin, break-even, payback, sensitivity, income variance and the
//! verdict, as pure functions of a run's results ([`RunFacts`], taken from `RunResult`) and a rig
//! file ([`rig::Rig`]). The worked examples in `docs/economics.md` are this module's tests.
//!
//! ## Where the method comes from
//! - **Streams a rig sustains** (Livepeer's documented capacity method, facts doc §1): the
//!   largest concurrency whose Real-Time Duration Ratio (Σ transcode time / Σ segment duration)
//!   is ≤ 0.8, keeping 20% headroom for upload and download.
//!   - A `--live` run at concurrency c with ratio ≤ 0.8 sustains c streams. That is a lower
//!     bound (more might fit: run again with more sessions), and the verdict says so.
//!   - A live run with ratio r > 0.8 sustains ⌊c × 0.8 / r⌋, assuming latency grows linearly
//!     with load.
//!   - A `--no-live` run measures raw capacity: throughput_x = source seconds / wall seconds is
//!     the number of real-time streams at 100% load. With the same 20% headroom it sustains
//!     ⌊throughput_x × 0.8⌋.
//!   - The count is then capped by the NVENC session cap when the `nvidia` backend encodes
//!     (⌊cap / renditions per stream⌋; one NVENC session per rendition, facts doc §7). It is
//!     also capped by the port, where the rig file gives one (⌊port Mbps / max(in, out) Mbps
//!     per stream⌋). The smallest cap names the limiting resource.
//! - **Output pixels per stream-hour** = the run's billed output pixels / (source seconds summed
//!   over sessions / 3600). It is the same for live and no-live runs, because pixels depend on
//!   the video, not on pacing.
//! - **Revenue per hour** = price × pixels × fee share − redemption gas (facts doc §3, §5).
//!   - Tickets per hour = gross fees / ticket EV.
//!   - Winners per hour = gross fees / faceValue (gross, because every fee is paid in tickets
//!     before delegators take their share).
//!   - Each winner costs gas per redemption × gas price. Gas per redemption is measured by the
//!     run's payments where present, otherwise it is the rig's (or go-livepeer's) estimate,
//!     labelled as such.
//!   - faceValue follows go-livepeer's rule at the rig's gas price:
//!     max(redeem gas × gas price × 100, EV × 100).
//! - **Costs per hour**.
//!   - Power: the wall watts at the streams sold × $/kWh. Wall watts are (components + declared
//!     rest of system) / PSU efficiency.
//!     - With an idle baseline, components = idle + (run − idle) × streams sold / streams served
//!       in the run. Without one, components = run watts × streams sold / streams served.
//!     - Power is unknown when neither sensor nor model gave a figure, and never zero unless
//!       electricity is free.
//!   - Bandwidth: one of three models.
//!     - per GB: streams × GB per stream-hour × price.
//!     - 95th percentile: max(commit minimum, streams sustained × max(in, out) Mbps per stream
//!       × the run's 95th-percentile-to-mean ratio, 1 when the run is too short) × $/Mbps-month
//!       / 730. The 95th percentile ignores only the busiest 5% of 5-minute samples, so the
//!       bill follows the capacity the rig is sized for, not the share sold.
//!     - flat port: its monthly price / 730.
//!   - Hardware: cost / amortisation months / 730, or rent / 730 (730 hours a month).
//! - **Break-even price**: revenue is linear in price, as is gas (winners ∝ fees), so
//!   p* = costs / (pixels × (fee share × ETH/USD / 1e18 − gas USD per win / faceValue)).
//! - **Payback** (owned hardware) = cost / monthly margin before hardware.
//! - **Income variance**: wins in a day are binomial(tickets per day, winProb). With thousands
//!   of tickets and a tiny winProb that is Poisson with λ = winners per day (the Poisson limit
//!   theorem). We report the expected days between wins (1/λ), P(N = 0) and
//!   P(a day's redeemed income < half its expectation) = P(N < λ/2). A warning is raised when
//!   the expected wait exceeds 7 days.

pub mod rig;

use serde::{Deserialize, Serialize};

pub use crate::result::money::{CapacitySource, UtilisationSource};
use crate::result::RunResult;
use rig::{BandwidthModel, Ownership};
pub use rig::{Rig, RigError};

/// What a caller knows better than one run and the rig file: a searched capacity
/// (`rigbench capacity`) and a simulated share sold (`rigbench economics --market`). The
/// default is what [`evaluate`] uses: capacity extrapolated from the run, share from the rig.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub capacity: CapacitySource,
    pub utilisation: UtilisationSource,
}

/// Hours in a billing month (365 × 24 / 12).
pub const HOURS_PER_MONTH: f64 = 730.0;
/// Livepeer's capacity threshold: Real-Time Duration Ratio at most 0.8 (20% headroom).
pub const REALTIME_RATIO_LIMIT: f64 = 0.8;
pub const WEI_PER_ETH: f64 = 1e18;
/// go-livepeer's default ticket EV, wei.
pub const DEFAULT_TICKET_EV_WEI: f64 = 8e9;
/// go-livepeer sets faceValue to 100 × the redemption's transaction cost (gas ≈ 1% of revenue).
pub const FACE_VALUE_TX_COST_MULTIPLIER: f64 = 100.0;
/// Expected days between wins above which the verdict warns.
pub const LONG_WAIT_DAYS: f64 = 7.0;

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
    pub gas_per_redemption: Option<u64>,
}

/// What economics needs from a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunFacts {
    /// Paced like live streams (`--live`).
    pub live: bool,
    pub concurrent_sessions: u32,
    /// Renditions in the ladder (NVENC sessions per stream on the nvidia backend).
    pub renditions_per_stream: u32,
    /// cpu, nvidia or hybrid.
    pub backend_used: String,
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
            gas_per_redemption: p.gas_per_redemption,
        });
        RunFacts {
            live: run.sessions.live,
            concurrent_sessions: run.sessions.concurrent_sessions,
            renditions_per_stream: u32::try_from(run.ladder.len()).unwrap_or(u32::MAX),
            backend_used: run.backend.used.clone(),
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

/// run.json `economics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Economics {
    pub rig_name: Option<String>,
    pub inputs: Inputs,
    pub capacity: Capacity,
    /// Billed output pixels one stream produces in an hour.
    pub output_pixels_per_stream_hour: f64,
    /// The whole rig at the streams sold.
    pub per_rig_hour: HourMoney,
    /// One sold stream (None when no stream is sold).
    pub per_stream_hour: Option<HourMoney>,
    pub power: PowerCost,
    pub bandwidth: BandwidthCost,
    pub hardware: HardwareCost,
    pub gas: GasCost,
    pub break_even: BreakEven,
    /// Months of margin (before hardware) to pay the purchase back; owned hardware only.
    pub payback_months: Option<f64>,
    pub payback_note: Option<String>,
    pub income_variance: IncomeVariance,
    pub sensitivity: Sensitivity,
    pub verdict: Verdict,
    /// Every estimated input, said in words.
    pub estimated: Vec<String>,
    pub notes: Vec<String>,
}

/// The prices economics used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    pub price_per_pixel_wei: f64,
    /// `fees.price_per_pixel_wei`, `fees.price_usd_per_pixel` or `run payments`.
    pub price_source: String,
    pub price_usd_per_million_pixels: f64,
    pub eth_usd: f64,
    pub fee_share: f64,
    pub electricity_usd_per_kwh: f64,
    pub gas_price_gwei: f64,
    pub chain: String,
    pub utilisation_share_sold: f64,
    /// Where `utilisation_share_sold` comes from: the rig file or a market simulation.
    pub utilisation_source: UtilisationSource,
}

/// How many streams the rig sustains, and what limits it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    /// `live_realtime_ratio`, `no_live_throughput` or `searched`.
    pub method: String,
    /// Extrapolated from this run, or measured by a capacity search.
    pub source: CapacitySource,
    /// The source in words ("extrapolated from one run; run `rigbench capacity`", ...).
    pub source_note: String,
    pub concurrent_sessions_run: u32,
    pub realtime_duration_ratio: f64,
    pub throughput_x: f64,
    /// Streams the transcoder (CPU or GPU) sustains with 20% headroom.
    pub streams_compute: u32,
    /// True when the run did not push the transcoder to its limit (live, ratio ≤ 0.8).
    pub streams_compute_is_lower_bound: bool,
    pub streams_nvenc_cap: Option<u32>,
    pub streams_bandwidth_cap: Option<u32>,
    /// min of the above.
    pub streams_sustained: u32,
    /// streams_sustained × utilisation share sold (an average over time).
    pub streams_sold: f64,
    /// GPU, CPU, NVENC session cap or bandwidth.
    pub limiting_resource: String,
    /// The figures the limit rests on.
    pub evidence: String,
}

/// Money per hour. Revenue = operator's fees − gas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HourMoney {
    pub fees_gross_usd_per_hour: f64,
    pub fees_operator_usd_per_hour: f64,
    pub gas_usd_per_hour: f64,
    pub revenue_usd_per_hour: f64,
    /// None = unknown.
    pub power_usd_per_hour: Option<f64>,
    pub bandwidth_usd_per_hour: f64,
    pub hardware_usd_per_hour: f64,
    pub costs_usd_per_hour: Option<f64>,
    pub margin_usd_per_hour: Option<f64>,
    /// margin / revenue × 100.
    pub margin_percent: Option<f64>,
}

/// How power was priced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerCost {
    /// `measured`, `estimated`, `included` (electricity free) or `unknown`.
    pub status: String,
    /// Wall watts at the streams sold.
    pub rig_watts: Option<f64>,
    pub basis: String,
}

/// How bandwidth was priced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BandwidthCost {
    pub model: String,
    pub mbps_in_per_stream: f64,
    pub mbps_out_per_stream: f64,
    pub gb_per_stream_hour: f64,
    /// The 95th-percentile Mbps billed (percentile95 only).
    pub billed_mbps: Option<f64>,
    pub basis: String,
}

/// How hardware was priced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HardwareCost {
    pub ownership: String,
    pub usd_per_hour: f64,
    pub basis: String,
}

/// Redemption gas and ticket parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GasCost {
    pub gas_per_redemption: u64,
    /// `measured` (the run's payments) or `estimated` (rig file or go-livepeer's default).
    pub gas_source: String,
    pub gas_price_gwei: f64,
    pub gas_usd_per_redemption: f64,
    pub ticket_ev_wei: f64,
    pub ticket_ev_source: String,
    pub face_value_wei: f64,
    pub face_value_usd: f64,
    /// The run's own faceValue, for reference.
    pub run_face_value_wei: Option<f64>,
    pub win_prob: f64,
    pub tickets_per_hour: f64,
    pub winners_per_hour: f64,
}

/// The price at which margin is zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakEven {
    pub price_per_pixel_wei: Option<f64>,
    pub price_usd_per_million_pixels: Option<f64>,
    pub note: Option<String>,
}

/// Lumpiness of income under probabilistic payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncomeVariance {
    pub distribution: String,
    pub winners_per_day: f64,
    pub expected_days_between_wins: Option<f64>,
    /// P(no winning ticket in a day).
    pub p_day_without_win: f64,
    /// P(a day's redeemed income < half its expectation).
    pub p_day_below_half_expectation: f64,
    pub warning: Option<String>,
}

/// Margin per rig-hour across prices and electricity, and across utilisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sensitivity {
    /// Rows.
    pub price_per_pixel_wei: Vec<f64>,
    /// Columns.
    pub electricity_usd_per_kwh: Vec<f64>,
    /// [row][column]; None where power is unknown.
    pub margin_usd_per_rig_hour: Vec<Vec<Option<f64>>>,
    pub utilisation: Vec<UtilisationPoint>,
}

/// Margin at one utilisation, base prices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UtilisationPoint {
    pub share_sold: f64,
    pub margin_usd_per_rig_hour: Option<f64>,
}

/// The one-line answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// None when a cost is unknown.
    pub profitable: Option<bool>,
    pub line: String,
    pub limiting_resource: String,
}

/// Everything per hour that does not depend on price, electricity price or share sold.
struct Model {
    pixels_per_stream_hour: f64,
    streams_sustained: f64,
    eth_usd: f64,
    fee_share: f64,
    gas_usd_per_win: f64,
    face_value_wei: f64,
    power: PowerModel,
    bandwidth: BandwidthModelCost,
    hardware_usd_per_hour: f64,
}

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

    fn hour(&self, price_wei: f64, kwh: f64, share: f64) -> HourMoney {
        let streams = self.streams_sustained * share;
        let pixels = self.pixels_per_stream_hour * streams;
        let gross_wei = price_wei * pixels;
        let fees_gross = gross_wei * self.eth_usd / WEI_PER_ETH;
        let fees_operator = fees_gross * self.fee_share;
        let gas = gross_wei / self.face_value_wei * self.gas_usd_per_win;
        let revenue = fees_operator - gas;
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
            gas_usd_per_hour: gas,
            revenue_usd_per_hour: revenue,
            power_usd_per_hour: power,
            bandwidth_usd_per_hour: bandwidth,
            hardware_usd_per_hour: self.hardware_usd_per_hour,
            costs_usd_per_hour: costs,
            margin_usd_per_hour: margin,
            margin_percent: margin.and_then(|m| (revenue > 0.0).then(|| m / revenue * 100.0)),
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

/// The share sold an override gives, checked.
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

/// Economics of a run's facts under a rig file: the pure core of [`evaluate`].
pub fn evaluate_facts(f: &RunFacts, rig: &Rig) -> Result<Economics, EconomicsError> {
    evaluate_facts_with(f, rig, &Overrides::default())
}

fn floor_u32(x: f64) -> u32 {
    if x.is_finite() && x > 0.0 {
        x.floor().min(f64::from(u32::MAX)) as u32
    } else {
        0
    }
}

/// [`evaluate_facts`] with overrides.
pub fn evaluate_facts_with(
    f: &RunFacts,
    rig: &Rig,
    overrides: &Overrides,
) -> Result<Economics, EconomicsError> {
    rig.check()?;
    if f.source_seconds.is_nan() || f.source_seconds <= 0.0 || f.output_pixels == 0 {
        return Err(EconomicsError::EmptyRun);
    }
    let mut estimated = Vec::new();
    let mut notes = Vec::new();
    // rig.check() guarantees these are present.
    let eth_usd = rig.fees.eth_usd.unwrap_or(f64::NAN);
    let kwh = rig.power.electricity_usd_per_kwh.unwrap_or(f64::NAN);
    let gas_price_gwei = rig.chain.gas_price_gwei.unwrap_or(f64::NAN);
    let share = share_sold(rig, &overrides.utilisation)?;

    // Price.
    let run_price = f.payments.as_ref().and_then(|p| p.price_per_pixel_wei);
    let (price_wei, price_source) = match (
        rig.fees.price_per_pixel_wei,
        rig.fees.price_usd_per_pixel,
        run_price,
    ) {
        (Some(p), _, _) => (p, "fees.price_per_pixel_wei"),
        (None, Some(usd), _) => (usd / eth_usd * WEI_PER_ETH, "fees.price_usd_per_pixel"),
        (None, None, Some(p)) => (p, "run payments (price_per_pixel_wei)"),
        (None, None, None) => {
            return Err(EconomicsError::MissingPrice {
                key: "fees.price_per_pixel_wei".to_string(),
            })
        }
    };
    let usd_per_mpx = |wei: f64| wei * 1e6 * eth_usd / WEI_PER_ETH;

    // Capacity.
    let c = f.concurrent_sessions;
    let r = f.realtime_duration_ratio;
    let compute_name = match f.backend_used.as_str() {
        "nvidia" => "GPU",
        "hybrid" => "CPU (hybrid: GPU decodes, CPU encodes)",
        _ => "CPU",
    };
    let searched = match &overrides.capacity {
        CapacitySource::Searched {
            streams,
            limit,
            confidence,
        } => Some((*streams, limit.clone(), confidence.clone())),
        CapacitySource::Extrapolated => None,
    };
    let (method, streams_compute, lower_bound, compute_evidence) = if let Some((
        s,
        limit,
        confidence,
    )) = &searched
    {
        (
            "searched",
            *s,
            false,
            format!(
                "measured by a capacity search: {} ({limit} binds); {confidence}",
                plural_streams(*s)
            ),
        )
    } else if f.live {
        if r <= REALTIME_RATIO_LIMIT {
            (
                "live_realtime_ratio",
                c,
                true,
                format!("live run at {}: Real-Time Duration Ratio {r:.3} <= {REALTIME_RATIO_LIMIT}, so at least {} (try more --concurrent-sessions)", plural(c, "session"), plural_streams(c)),
            )
        } else {
            let s = floor_u32(f64::from(c) * REALTIME_RATIO_LIMIT / r);
            (
                "live_realtime_ratio",
                s,
                false,
                format!("live run at {}: Real-Time Duration Ratio {r:.3} > {REALTIME_RATIO_LIMIT}, so {c} × {REALTIME_RATIO_LIMIT} / {r:.3} = {}", plural(c, "session"), plural_streams(s)),
            )
        }
    } else {
        let s = floor_u32(f.throughput_x * REALTIME_RATIO_LIMIT);
        (
            "no_live_throughput",
            s,
            false,
            format!(
                "--no-live throughput {:.2}× real time × {REALTIME_RATIO_LIMIT} headroom = {}",
                f.throughput_x,
                plural_streams(s)
            ),
        )
    };
    let nvenc_cap = match (f.backend_used.as_str(), rig.hardware.nvenc_session_cap) {
        ("nvidia", Some(cap)) if f.renditions_per_stream > 0 => Some(cap / f.renditions_per_stream),
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
    let compute_name = match &searched {
        Some((_, limit, _)) => limit.as_str(),
        None => compute_name,
    };
    let mut limit = (streams_compute, compute_name.to_string(), compute_evidence);
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
    let streams_sold = f64::from(streams_sustained) * share;
    let source_note = match &searched {
        Some(_) => "measured by search (`rigbench capacity`)".to_string(),
        None => "extrapolated from one run; run `rigbench capacity`".to_string(),
    };
    let capacity = Capacity {
        method: method.to_string(),
        source: overrides.capacity.clone(),
        source_note,
        concurrent_sessions_run: c,
        realtime_duration_ratio: r,
        throughput_x: f.throughput_x,
        streams_compute,
        streams_compute_is_lower_bound: lower_bound,
        streams_nvenc_cap: nvenc_cap,
        streams_bandwidth_cap: bandwidth_cap,
        streams_sustained,
        streams_sold,
        limiting_resource: limiting_resource.clone(),
        evidence: evidence.clone(),
    };
    let pixels_per_stream_hour = f.output_pixels as f64 / (f.source_seconds / 3600.0);

    // Gas and tickets.
    let gas_price_wei = gas_price_gwei * 1e9;
    let measured_gas = f
        .payments
        .as_ref()
        .and_then(|p| p.gas_per_redemption)
        .filter(|g| *g > 0);
    let (gas_per_redemption, gas_source) = match measured_gas {
        Some(g) => (g, "measured"),
        None => {
            let g = rig
                .chain
                .redeem_gas_estimate
                .unwrap_or_else(|| rig.chain.chain.default_redeem_gas());
            estimated.push(format!(
                "gas per redemption {g} ({}): the run measured none",
                if rig.chain.redeem_gas_estimate.is_some() {
                    "chain.redeem_gas_estimate"
                } else {
                    "go-livepeer's estimate for this chain"
                }
            ));
            (g, "estimated")
        }
    };
    let run_ev = f
        .payments
        .as_ref()
        .and_then(|p| p.ticket_ev_wei)
        .filter(|v| *v > 0.0);
    let (ticket_ev_wei, ticket_ev_source) = match (rig.chain.ticket_ev_wei, run_ev) {
        (Some(v), _) => (v, "chain.ticket_ev_wei"),
        (None, Some(v)) => (v, "run payments"),
        (None, None) => (DEFAULT_TICKET_EV_WEI, "go-livepeer default (8 gwei)"),
    };
    let tx_cost_wei = gas_per_redemption as f64 * gas_price_wei;
    let face_value_wei = (tx_cost_wei * FACE_VALUE_TX_COST_MULTIPLIER)
        .max(ticket_ev_wei * FACE_VALUE_TX_COST_MULTIPLIER);
    let gas_usd_per_win = tx_cost_wei * eth_usd / WEI_PER_ETH;

    // Power.
    let (power_model, mut power_status, mut power_basis) = {
        let rest = rig.power.rest_of_system_watts;
        let psu = rig.power.psu_efficiency;
        match &f.power {
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
                let status = if p.estimated { "estimated" } else { "measured" };
                if p.estimated {
                    estimated.push("power: components from the rig's declared model scaled by measured utilisation".to_string());
                }
                (
                    PowerModel::Known {
                        base_watts: base,
                        per_stream_watts: per_stream,
                        rest_watts: rest,
                        psu,
                    },
                    status.to_string(),
                    basis,
                )
            }
            None if !rig.power.components.is_empty() => {
                let full: f64 = rig.power.components.iter().map(|c| c.full_load_watts).sum();
                estimated.push(format!(
                    "power: {} — declared components taken at full load ({full} W)",
                    f.power_unknown_reason.as_deref().unwrap_or("not metered")
                ));
                (
                    PowerModel::Known { base_watts: full, per_stream_watts: 0.0, rest_watts: rest, psu },
                    "estimated".to_string(),
                    format!("declared components at full load {full} W + {rest} W rest of system, / PSU {psu}"),
                )
            }
            None => (
                PowerModel::Unknown,
                "unknown".to_string(),
                format!(
                    "{}, and the rig file declares no [[power.components]]",
                    f.power_unknown_reason
                        .as_deref()
                        .unwrap_or("power not metered")
                ),
            ),
        }
    };
    if kwh == 0.0 {
        power_status = "included".to_string();
        power_basis = format!(
            "electricity free or included (power.electricity_usd_per_kwh = 0); {power_basis}"
        );
    }

    // Bandwidth.
    let gb_per_stream_hour =
        (f.mbps_in_per_stream + f.mbps_out_per_stream) * 1e6 / 8.0 * 3600.0 / 1e9;
    let gb = |mbps: f64| mbps * 1e6 / 8.0 * 3600.0 / 1e9;
    let b = &rig.bandwidth;
    let (bw_model, billed_mbps, bw_basis) = match b.model {
        BandwidthModel::PerGb => {
            let (pin, pout) = (
                b.usd_per_gb_in.unwrap_or(0.0),
                b.usd_per_gb_out.unwrap_or(0.0),
            );
            let per = gb(f.mbps_in_per_stream) * pin + gb(f.mbps_out_per_stream) * pout;
            (
                BandwidthModelCost::PerStreamHour(per),
                None,
                format!(
                    "per GB: {:.3} GB in × ${pin} + {:.3} GB out × ${pout} per stream-hour",
                    gb(f.mbps_in_per_stream),
                    gb(f.mbps_out_per_stream)
                ),
            )
        }
        BandwidthModel::Percentile95 => {
            let ratio = f.p95_to_mean_5min.unwrap_or(1.0).max(1.0);
            if f.p95_to_mean_5min.is_none() {
                estimated.push("bandwidth: 95th percentile taken as the mean (run shorter than two 5-minute windows; live streams are constant-bitrate)".to_string());
            }
            let traffic = f64::from(streams_sustained) * per_stream_link_mbps * ratio;
            let billed = traffic.max(b.commit_minimum_mbps.unwrap_or(0.0));
            let price = b.commit_usd_per_mbps_month.unwrap_or(0.0);
            (
                BandwidthModelCost::Fixed(billed * price / HOURS_PER_MONTH),
                Some(billed),
                format!(
                    "95th percentile: max(commit {} Mbps, {streams_sustained} streams × {per_stream_link_mbps:.2} Mbps × {ratio:.2}) = {billed:.2} Mbps × ${price}/Mbps-month / {HOURS_PER_MONTH} h",
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
    let bw_model_name = match b.model {
        BandwidthModel::PerGb => "per_gb",
        BandwidthModel::Percentile95 => "percentile95",
        BandwidthModel::FlatPort => "flat_port",
        BandwidthModel::Included => "included",
    };

    // Hardware.
    let h = &rig.hardware;
    let (ownership, hardware_usd_per_hour, hw_basis) = match h.ownership {
        Ownership::Owned => {
            let (cost, months) = (
                h.cost_usd.unwrap_or(0.0),
                h.amortisation_months.unwrap_or(1.0),
            );
            (
                "owned",
                cost / months / HOURS_PER_MONTH,
                format!("${cost} over {months} months of {HOURS_PER_MONTH} h"),
            )
        }
        Ownership::Rented => {
            let rent = h.rent_usd_per_month.unwrap_or(0.0);
            (
                "rented",
                rent / HOURS_PER_MONTH,
                format!("${rent}/month over {HOURS_PER_MONTH} h"),
            )
        }
    };

    let model = Model {
        pixels_per_stream_hour,
        streams_sustained: f64::from(streams_sustained),
        eth_usd,
        fee_share: rig.fees.fee_share,
        gas_usd_per_win,
        face_value_wei,
        power: power_model,
        bandwidth: bw_model,
        hardware_usd_per_hour,
    };
    let per_rig_hour = model.hour(price_wei, kwh, share);
    let per_stream_hour = (streams_sold > 0.0).then(|| {
        let d = |v: f64| v / streams_sold;
        HourMoney {
            fees_gross_usd_per_hour: d(per_rig_hour.fees_gross_usd_per_hour),
            fees_operator_usd_per_hour: d(per_rig_hour.fees_operator_usd_per_hour),
            gas_usd_per_hour: d(per_rig_hour.gas_usd_per_hour),
            revenue_usd_per_hour: d(per_rig_hour.revenue_usd_per_hour),
            power_usd_per_hour: per_rig_hour.power_usd_per_hour.map(d),
            bandwidth_usd_per_hour: d(per_rig_hour.bandwidth_usd_per_hour),
            hardware_usd_per_hour: d(per_rig_hour.hardware_usd_per_hour),
            costs_usd_per_hour: per_rig_hour.costs_usd_per_hour.map(d),
            margin_usd_per_hour: per_rig_hour.margin_usd_per_hour.map(d),
            margin_percent: per_rig_hour.margin_percent,
        }
    });

    // Break-even and payback.
    let pixels_rig_hour = pixels_per_stream_hour * streams_sold;
    let net_usd_per_wei_of_price = pixels_rig_hour
        * (rig.fees.fee_share * eth_usd / WEI_PER_ETH - gas_usd_per_win / face_value_wei);
    let break_even = match (per_rig_hour.costs_usd_per_hour, streams_sold > 0.0) {
        (_, false) => BreakEven {
            price_per_pixel_wei: None,
            price_usd_per_million_pixels: None,
            note: Some("no stream is sold: no price breaks even".to_string()),
        },
        (None, true) => BreakEven {
            price_per_pixel_wei: None,
            price_usd_per_million_pixels: None,
            note: Some("power cost unknown: break-even unknown".to_string()),
        },
        (Some(costs), true) if net_usd_per_wei_of_price > 0.0 => {
            let p = costs / net_usd_per_wei_of_price;
            BreakEven {
                price_per_pixel_wei: Some(p),
                price_usd_per_million_pixels: Some(usd_per_mpx(p)),
                note: None,
            }
        }
        (Some(_), true) => BreakEven {
            price_per_pixel_wei: None,
            price_usd_per_million_pixels: None,
            note: Some(
                "redemption gas eats the operator's whole share of every fee: no price breaks even"
                    .to_string(),
            ),
        },
    };
    let (payback_months, payback_note) = match h.ownership {
        Ownership::Rented => (
            None,
            Some("rented hardware: nothing to pay back".to_string()),
        ),
        Ownership::Owned => match per_rig_hour.margin_usd_per_hour {
            None => (None, Some("margin unknown (power unknown)".to_string())),
            Some(m) => {
                let monthly = (m + hardware_usd_per_hour) * HOURS_PER_MONTH;
                if monthly > 0.0 {
                    (Some(h.cost_usd.unwrap_or(0.0) / monthly), None)
                } else {
                    (
                        None,
                        Some("never: the margin before hardware is not positive".to_string()),
                    )
                }
            }
        },
    };

    // Income variance.
    let winners_per_hour = price_wei * pixels_rig_hour / face_value_wei;
    let winners_per_day = winners_per_hour * 24.0;
    let expected_days_between_wins = (winners_per_day > 0.0).then(|| 1.0 / winners_per_day);
    let face_value_usd = face_value_wei * eth_usd / WEI_PER_ETH;
    let warning = expected_days_between_wins.filter(|d| *d > LONG_WAIT_DAYS).map(|d| {
        format!(
            "faceValue {:.4} ETH (${face_value_usd:.2}) against fees of ${:.2}/day: one win every {d:.1} days on average; income arrives in rare lumps",
            face_value_wei / WEI_PER_ETH,
            per_rig_hour.fees_gross_usd_per_hour * 24.0
        )
    });
    let income_variance = IncomeVariance {
        distribution: "Poisson(λ = winners per day), the limit of binomial(tickets per day, winProb) for many tickets and small winProb".to_string(),
        winners_per_day,
        expected_days_between_wins,
        p_day_without_win: (-winners_per_day).exp(),
        p_day_below_half_expectation: poisson_cdf_below(winners_per_day / 2.0, winners_per_day),
        warning: warning.clone(),
    };
    if let Some(w) = &warning {
        notes.push(w.clone());
    }
    let gas = GasCost {
        gas_per_redemption,
        gas_source: gas_source.to_string(),
        gas_price_gwei,
        gas_usd_per_redemption: gas_usd_per_win,
        ticket_ev_wei,
        ticket_ev_source: ticket_ev_source.to_string(),
        face_value_wei,
        face_value_usd,
        run_face_value_wei: f.payments.as_ref().and_then(|p| p.face_value_wei),
        win_prob: ticket_ev_wei / face_value_wei,
        tickets_per_hour: price_wei * pixels_rig_hour / ticket_ev_wei,
        winners_per_hour,
    };

    // Sensitivity.
    let prices: Vec<f64> = [0.25, 0.5, 1.0, 2.0, 4.0]
        .iter()
        .map(|m| m * price_wei)
        .collect();
    let mut kwhs = vec![0.05, 0.10, 0.20, 0.30, 0.40, kwh];
    kwhs.sort_by(f64::total_cmp);
    kwhs.dedup_by(|a, b| (*a - *b).abs() < 1e-12);
    let grid = prices
        .iter()
        .map(|p| {
            kwhs.iter()
                .map(|k| model.hour(*p, *k, share).margin_usd_per_hour)
                .collect()
        })
        .collect();
    let utilisation = [0.25, 0.5, 0.75, 1.0]
        .iter()
        .map(|s| UtilisationPoint {
            share_sold: *s,
            margin_usd_per_rig_hour: model.hour(price_wei, kwh, *s).margin_usd_per_hour,
        })
        .collect();
    let sensitivity = Sensitivity {
        price_per_pixel_wei: prices,
        electricity_usd_per_kwh: kwhs,
        margin_usd_per_rig_hour: grid,
        utilisation,
    };

    // Verdict.
    let label = if estimated.is_empty() {
        String::new()
    } else {
        " [estimated]".to_string()
    };
    let wait_text = match (&warning, expected_days_between_wins) {
        (Some(_), Some(d)) => format!("; one win every {d:.1} days on average"),
        _ => String::new(),
    };
    let limit_text = format!("limit: {limiting_resource} ({evidence}){wait_text}");
    let (profitable, line) = if streams_sustained == 0 {
        (
            Some(false),
            format!(
                "not profitable: the rig sustains no real-time stream of this ladder; {limit_text}"
            ),
        )
    } else {
        match (per_rig_hour.margin_usd_per_hour, per_rig_hour.margin_percent) {
            (Some(m), pct) if m > 0.0 => (
                Some(true),
                format!(
                    "profitable at {} wei/pixel: margin ${m:.3}/h per rig ({:.1}%){label}; {limit_text}",
                    fmt_sig(price_wei),
                    pct.unwrap_or(0.0)
                ),
            ),
            (Some(_), _) => (
                Some(false),
                match break_even.price_per_pixel_wei {
                    Some(p) => format!(
                        "not profitable: break-even needs {} wei/pixel ({:.3e} USD per million pixels){label}; {limit_text}",
                        fmt_sig(p),
                        usd_per_mpx(p)
                    ),
                    None => format!(
                        "not profitable at any price: {}{label}; {limit_text}",
                        break_even.note.clone().unwrap_or_default()
                    ),
                },
            ),
            (None, _) => (
                None,
                format!(
                    "unknown: power cost unknown ({power_basis}); margin before power ${:.3}/h per rig; {limit_text}",
                    per_rig_hour.revenue_usd_per_hour - per_rig_hour.bandwidth_usd_per_hour - hardware_usd_per_hour
                ),
            ),
        }
    };

    Ok(Economics {
        rig_name: rig.name.clone(),
        inputs: Inputs {
            price_per_pixel_wei: price_wei,
            price_source: price_source.to_string(),
            price_usd_per_million_pixels: usd_per_mpx(price_wei),
            eth_usd,
            fee_share: rig.fees.fee_share,
            electricity_usd_per_kwh: kwh,
            gas_price_gwei,
            chain: format!("{:?}", rig.chain.chain).to_lowercase(),
            utilisation_share_sold: share,
            utilisation_source: overrides.utilisation.clone(),
        },
        capacity,
        output_pixels_per_stream_hour: pixels_per_stream_hour,
        per_rig_hour,
        per_stream_hour,
        power: PowerCost {
            status: power_status,
            rig_watts: model.rig_watts(streams_sold),
            basis: power_basis,
        },
        bandwidth: BandwidthCost {
            model: bw_model_name.to_string(),
            mbps_in_per_stream: f.mbps_in_per_stream,
            mbps_out_per_stream: f.mbps_out_per_stream,
            gb_per_stream_hour,
            billed_mbps,
            basis: bw_basis,
        },
        hardware: HardwareCost {
            ownership: ownership.to_string(),
            usd_per_hour: hardware_usd_per_hour,
            basis: hw_basis,
        },
        gas,
        break_even,
        payback_months,
        payback_note,
        income_variance,
        sensitivity,
        verdict: Verdict {
            profitable,
            line,
            limiting_resource,
        },
        estimated,
        notes,
    })
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

/// Complementary error function (Numerical Recipes' erfcc, fractional error < 1.2e-7).
fn erfc(x: f64) -> f64 {
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

/// Four significant figures, without trailing zeros ("1000", "137.4", "0.0123").
pub fn fmt_sig(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = 4 - 1 - v.abs().log10().floor() as i32;
    let s = format!("{:.*}", digits.max(0) as usize, v);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests;

fn money(v: Option<f64>) -> String {
    match v {
        Some(v) if v < 0.0 => format!("-${:.4}", -v),
        Some(v) => format!("${v:.4}"),
        None => "unknown".to_string(),
    }
}

impl Economics {
    /// Label/value rows for the terminal and Markdown tables; estimated figures carry
    /// "(estimated)" and unknown ones say "unknown".
    pub fn table_rows(&self) -> Vec<(String, String)> {
        let h = &self.per_rig_hour;
        let est = |yes: bool| if yes { " (estimated)" } else { "" };
        let power_est = self.power.status == "estimated";
        let gas_est = self.gas.gas_source == "estimated";
        let any_est = !self.estimated.is_empty();
        let c = &self.capacity;
        let mut rows = vec![
            (
                "price".to_string(),
                format!(
                    "{} wei/pixel ({:.3e} USD per million pixels, from {})",
                    fmt_sig(self.inputs.price_per_pixel_wei),
                    self.inputs.price_usd_per_million_pixels,
                    self.inputs.price_source
                ),
            ),
            (
                "streams".to_string(),
                format!(
                    "{}{} sustained, {} sold; limit: {}",
                    if c.streams_compute_is_lower_bound && c.streams_sustained == c.streams_compute
                    {
                        ">= "
                    } else {
                        ""
                    },
                    c.streams_sustained,
                    fmt_sig(c.streams_sold),
                    c.limiting_resource
                ),
            ),
            ("capacity".to_string(), c.source_note.clone()),
            (
                "share sold".to_string(),
                match &self.inputs.utilisation_source {
                    UtilisationSource::RigFile => format!(
                        "{:.0}% (rig file utilisation.share_sold)",
                        self.inputs.utilisation_share_sold * 100.0
                    ),
                    UtilisationSource::Simulated {
                        share,
                        p5,
                        p95,
                        note,
                    } => format!(
                        "{:.0}% simulated (p5 {:.0}%, p95 {:.0}%): {note}",
                        share * 100.0,
                        p5 * 100.0,
                        p95 * 100.0
                    ),
                },
            ),
            (
                "fees (gross) per rig-hour".to_string(),
                money(Some(h.fees_gross_usd_per_hour)),
            ),
            (
                "fees kept per rig-hour".to_string(),
                money(Some(h.fees_operator_usd_per_hour)),
            ),
            (
                format!("redemption gas per rig-hour{}", est(gas_est)),
                money(Some(h.gas_usd_per_hour)),
            ),
            (
                format!("revenue per rig-hour{}", est(gas_est)),
                money(Some(h.revenue_usd_per_hour)),
            ),
            (
                format!("power per rig-hour{}", est(power_est)),
                match (h.power_usd_per_hour, self.power.rig_watts) {
                    (Some(p), Some(w)) => {
                        format!("{} ({w:.1} W, {})", money(Some(p)), self.power.status)
                    }
                    (p, _) => format!("{} ({})", money(p), self.power.status),
                },
            ),
            (
                format!("bandwidth per rig-hour ({})", self.bandwidth.model),
                money(Some(h.bandwidth_usd_per_hour)),
            ),
            (
                format!("hardware per rig-hour ({})", self.hardware.ownership),
                money(Some(h.hardware_usd_per_hour)),
            ),
            (
                format!("margin per rig-hour{}", est(any_est)),
                match (h.margin_usd_per_hour, h.margin_percent) {
                    (Some(m), Some(p)) => format!("{} ({p:.1}%)", money(Some(m))),
                    (m, _) => money(m),
                },
            ),
            (
                format!("margin per stream-hour{}", est(any_est)),
                match &self.per_stream_hour {
                    Some(s) => money(s.margin_usd_per_hour),
                    None => "n/a: no stream sold".to_string(),
                },
            ),
            (
                format!("break-even price{}", est(any_est)),
                match (
                    self.break_even.price_per_pixel_wei,
                    self.break_even.price_usd_per_million_pixels,
                ) {
                    (Some(w), Some(u)) => {
                        format!("{} wei/pixel ({u:.3e} USD per million pixels)", fmt_sig(w))
                    }
                    _ => self
                        .break_even
                        .note
                        .clone()
                        .unwrap_or_else(|| "unknown".to_string()),
                },
            ),
        ];
        if self.hardware.ownership == "owned" {
            rows.push((
                "payback".to_string(),
                match self.payback_months {
                    Some(m) => format!("{m:.1} months"),
                    None => self
                        .payback_note
                        .clone()
                        .unwrap_or_else(|| "unknown".to_string()),
                },
            ));
        }
        let v = &self.income_variance;
        rows.push((
            "wins".to_string(),
            format!(
                "{:.3} a day{}; P(day below half its expected income) {:.3}",
                v.winners_per_day,
                v.expected_days_between_wins
                    .map(|d| format!(", one every {d:.2} days"))
                    .unwrap_or_default(),
                v.p_day_below_half_expectation
            ),
        ));
        if let Some(w) = &v.warning {
            rows.push(("warning".to_string(), w.clone()));
        }
        for e in &self.estimated {
            rows.push(("estimated".to_string(), e.clone()));
        }
        rows.push(("verdict".to_string(), self.verdict.line.clone()));
        rows
    }
}
