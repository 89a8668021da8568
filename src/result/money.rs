//! The economics' output as plain data: what `run.json`'s `economics` holds and what reports
//! read. It imports nothing from `economics` (the economics fill it in; the result only carries
//! it), so the result never depends on the code that computes money.

use serde::{Deserialize, Serialize};

/// Where the stream count the economics price comes from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CapacitySource {
    /// Extrapolated from the one run being priced with Livepeer's 0.8 rule (its Real-Time
    /// Duration Ratio, or its throughput with `--no-live`). Reports say "extrapolated from one
    /// run; run `rigbench capacity`".
    #[default]
    Extrapolated,
    /// Measured by a capacity search (`rigbench capacity`).
    Searched {
        /// The largest stream count that passed the search's test.
        streams: u32,
        /// What bound it ("GPU", "NVENC session cap", "CPU", "bandwidth", ...).
        limit: String,
        /// How sure the search is, in words (e.g. "3 of 3 repeats passed at 6, 0 of 3 at 7").
        confidence: String,
    },
}

/// Where the share of capacity sold comes from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UtilisationSource {
    /// The rig file's `utilisation.share_sold` (the operator's own assumption).
    #[default]
    RigFile,
    /// A market simulation's share of capacity sold (`rigbench economics --market`).
    Simulated {
        /// Mean share of capacity sold, (0, 1].
        share: f64,
        /// 5th percentile of the simulated share, [0, 1].
        p5: f64,
        /// 95th percentile of the simulated share, [0, 1].
        p95: f64,
        /// What the simulation assumed, in words.
        note: String,
    },
}

/// Whether the hardware is bought or rented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ownership {
    Owned,
    Rented,
}

/// How bandwidth is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BandwidthModel {
    /// Per GB in and out (`usd_per_gb_in`, `usd_per_gb_out`).
    PerGb,
    /// 95th percentile commit (`commit_usd_per_mbps_month`, optional `commit_minimum_mbps`).
    Percentile95,
    /// A flat unmetered port (`port_mbps`, `port_usd_per_month`); its capacity caps the streams.
    FlatPort,
    /// Included in the rent or the home plan: no marginal cost (optional `port_mbps` still caps).
    Included,
}

/// Which chain redeems winning tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChainKind {
    Arbitrum,
    L1,
}

/// Which gas figure prices each redemption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RedemptionGas {
    /// The configured redeem-gas estimate (go-livepeer's budget: 1.2M on Arbitrum, 350k on L1).
    #[default]
    Estimate,
    /// The gas the run measured on rigbench's simplified TicketBroker.
    Measured,
}

/// How the price was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PriceSource {
    /// `fees.price_per_pixel_wei`.
    #[serde(rename = "fees.price_per_pixel_wei")]
    RigWei,
    /// `fees.price_usd_per_pixel`, converted at `fees.eth_usd` and rounded to whole wei.
    #[serde(rename = "fees.price_usd_per_pixel")]
    RigUsd,
    /// The run's own `--price-per-pixel` (run.json `payments.price_per_pixel_wei`).
    #[serde(rename = "run payments (price_per_pixel_wei)")]
    RunPayments,
}

/// How the stream count was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapacityMethod {
    /// A `--live` run's Real-Time Duration Ratio against 0.8.
    LiveRealtimeRatio,
    /// A `--no-live` run's throughput × 0.8.
    NoLiveThroughput,
    /// A capacity search's measured count.
    Searched,
}

/// How power was priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PowerStatus {
    /// From sensors.
    Measured,
    /// From the rig file's declared model.
    Estimated,
    /// Electricity free or in the rent (`power.electricity_usd_per_kwh = 0`).
    Included,
    /// Neither sensor nor model: power, margin and break-even are unknown.
    Unknown,
}

/// The economics of one run under one rig file (run.json `economics`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Economics {
    pub rig_name: Option<String>,
    /// Priced from a partial run (`--allow-partial`): the figures cover only the segments that
    /// finished.
    pub partial_run: bool,
    pub inputs: Inputs,
    pub capacity: Capacity,
    /// Billed output pixels one stream produces in an hour.
    pub output_pixels_per_stream_hour: f64,
    /// The whole rig at the streams sold.
    pub per_rig_hour: HourMoney,
    /// One sold stream (None when no stream is sold); staking figures are per rig only.
    pub per_stream_hour: Option<HourMoney>,
    /// Who gets the fees.
    pub fee_split: FeeSplit,
    /// Inflationary LPT rewards, apart from fees; None without stake (`rewards_note` says why).
    pub rewards: Option<Rewards>,
    pub rewards_note: Option<String>,
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
    /// Transcoding alone: fees − gas − costs.
    pub verdict: Verdict,
    /// With staking: fees + rewards − gas − costs; None without stake.
    pub verdict_with_staking: Option<Verdict>,
    /// Every estimated input, said in words.
    pub estimated: Vec<String>,
    pub notes: Vec<String>,
}

/// The prices economics used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    /// The base price, whole wei per pixel (the run's tickets use the same).
    pub price_per_pixel_wei: f64,
    pub price_source: PriceSource,
    /// What the broadcaster is charged: base × (1 + txCost / faceValue) with autoAdjustPrice,
    /// else the base, wei per pixel.
    pub price_charged_per_pixel_wei: f64,
    /// `fees.auto_adjust_price`.
    pub auto_adjust_price: bool,
    /// The base price in USD per million pixels.
    pub price_usd_per_million_pixels: f64,
    pub eth_usd: f64,
    pub electricity_usd_per_kwh: f64,
    pub gas_price_gwei: f64,
    pub chain: ChainKind,
    pub utilisation_share_sold: f64,
    /// Where `utilisation_share_sold` comes from: the rig file or a market simulation.
    pub utilisation_source: UtilisationSource,
}

/// How many streams the rig sustains, and what limits it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    pub method: CapacityMethod,
    /// Extrapolated from this run, or measured by a capacity search.
    pub source: CapacitySource,
    /// The source in words ("extrapolated from one run; run `rigbench capacity`", ...).
    pub source_note: String,
    pub concurrent_sessions_run: u32,
    pub realtime_duration_ratio: f64,
    pub throughput_x: f64,
    /// Streams the transcoder (CPU or GPU) sustains with 20% headroom, or the searched count.
    pub streams_compute: u32,
    /// True when the run did not push the transcoder to its limit (live, ratio ≤ 0.8).
    pub streams_compute_is_lower_bound: bool,
    pub streams_nvenc_cap: Option<u32>,
    pub streams_bandwidth_cap: Option<u32>,
    /// min of the above.
    pub streams_sustained: u32,
    /// streams_sustained × utilisation share sold (an average over time).
    pub streams_sold: f64,
    /// GPU, CPU, NVENC session cap, bandwidth, or the searched limit.
    pub limiting_resource: String,
    /// The figures the limit rests on.
    pub evidence: String,
}

/// Money per hour. Revenue = operator's fees − redemption and withdrawal gas; rewards apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HourMoney {
    /// What broadcasters pay, at the charged price.
    pub fees_gross_usd_per_hour: f64,
    /// The operator's part: gross × fee_split.operator_share.
    pub fees_operator_usd_per_hour: f64,
    /// The delegators' part.
    pub fees_delegators_usd_per_hour: f64,
    /// Redemption gas (winners × cost of one redemption, L1 data fee included).
    pub gas_usd_per_hour: f64,
    /// `withdrawFees` gas spread over the hours between withdrawals.
    pub withdraw_gas_usd_per_hour: f64,
    pub revenue_usd_per_hour: f64,
    /// None = unknown.
    pub power_usd_per_hour: Option<f64>,
    pub bandwidth_usd_per_hour: f64,
    pub hardware_usd_per_hour: f64,
    pub costs_usd_per_hour: Option<f64>,
    /// Transcoding alone: revenue − costs.
    pub margin_usd_per_hour: Option<f64>,
    /// margin / revenue × 100.
    pub margin_percent: Option<f64>,
    /// Inflationary rewards minus `reward()` gas; None without stake.
    pub rewards_net_usd_per_hour: Option<f64>,
    /// margin + rewards_net; None without stake or with power unknown.
    pub margin_with_staking_usd_per_hour: Option<f64>,
}

/// Who gets the fees (livepeer/protocol BondingManager; facts doc §5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeeSplit {
    /// `staking.fee_share`: the registered feeShare, the share paid to delegators.
    pub fee_share_delegators: f64,
    pub own_stake_lpt: f64,
    pub total_stake_lpt: f64,
    /// own / total stake (0 without stake).
    pub own_stake_share: f64,
    /// The operator's share of fees: (1 − fee_share) + own_stake_share × fee_share.
    pub operator_share: f64,
    pub basis: String,
}

/// Inflationary LPT rewards (livepeer/protocol Minter and BondingManager; facts doc §5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rewards {
    /// total supply × inflation per round.
    pub mintable_lpt_per_round: f64,
    /// This orchestrator's total stake / total active stake.
    pub stake_share_of_active: f64,
    /// mintable × stake share × (1 − treasury cut).
    pub orchestrator_lpt_per_round: f64,
    /// reward_cut + (1 − reward_cut) × own stake / total stake.
    pub operator_share: f64,
    pub operator_lpt_per_round: f64,
    /// 86400 / (round length in blocks × block seconds).
    pub rounds_per_day: f64,
    pub lpt_usd: f64,
    pub rewards_usd_per_hour: f64,
    /// One `reward()` call per round.
    pub reward_gas_usd_per_hour: f64,
    pub rewards_net_usd_per_hour: f64,
    pub basis: String,
}

/// How power was priced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerCost {
    pub status: PowerStatus,
    /// Wall watts at the streams sold.
    pub rig_watts: Option<f64>,
    pub basis: String,
}

/// How bandwidth was priced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BandwidthCost {
    pub model: BandwidthModel,
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
    pub ownership: Ownership,
    pub usd_per_hour: f64,
    pub basis: String,
}

/// Tickets and gas, as go-livepeer sizes them (facts doc §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GasCost {
    /// The redeem-gas estimate face values are sized from (the run's tickets use it too).
    pub redeem_gas_estimate: u64,
    /// `chain.redeem_gas_estimate` or go-livepeer's estimate for the chain.
    pub redeem_gas_estimate_source: String,
    /// Gas per redemption the run measured on rigbench's simplified TicketBroker (not
    /// Livepeer's contract: it does less work); None when the run redeemed nothing.
    pub measured_gas_per_redemption: Option<u64>,
    /// Which of the two prices each redemption (`chain.redemption_gas`).
    pub priced_by: RedemptionGas,
    /// The gas that prices each redemption.
    pub gas_per_redemption: u64,
    pub gas_price_gwei: f64,
    /// Arbitrum's L1 data fee per transaction, wei (an assumption unless set; 0 on L1).
    pub l1_data_fee_wei: f64,
    /// True when `l1_data_fee_wei` is rigbench's default assumption, not the rig's figure.
    pub l1_data_fee_assumed: bool,
    /// gas × gas price + L1 data fee, USD.
    pub gas_usd_per_redemption: f64,
    /// txCost = redeem-gas estimate × gas price, wei.
    pub tx_cost_wei: f64,
    pub ticket_ev_wei: f64,
    pub ticket_ev_source: String,
    pub face_value_wei: f64,
    pub face_value_usd: f64,
    /// winProb as a fraction of 2^256 − 1.
    pub win_prob: f64,
    /// The run's own tickets, for comparison.
    pub run_face_value_wei: Option<f64>,
    pub run_win_prob: Option<f64>,
    /// 1 + txCost / faceValue with autoAdjustPrice, else 1.
    pub price_adjustment: f64,
    pub tickets_per_hour: f64,
    pub winners_per_hour: f64,
    pub withdraw_fees_gas: u64,
    pub withdraw_fees_every_days: f64,
    pub reward_gas: u64,
}

/// The base price at which margin (transcoding alone) is zero.
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
    /// Rows: base price, wei per pixel.
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
