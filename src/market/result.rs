//! market.json: what `rigbench market` found, as one `Serialize` value. Every field is
//! documented and carries its unit in its name; `schema_version` changes whenever a field
//! changes meaning or disappears. No timestamps: the same inputs and seed give the same bytes.

use serde::{Deserialize, Serialize};

use super::stats::Spread;

/// Bumped whenever a field of market.json changes meaning or disappears.
pub const MARKET_SCHEMA_VERSION: u32 = 1;

/// market.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarketResult {
    /// Version of this JSON layout; readers refuse another one.
    pub schema_version: u32,
    /// rigbench's own version (Cargo package version).
    pub rigbench_version: String,
    /// The command line as typed (argv).
    pub command_line: Vec<String>,
    /// The network file, as given.
    pub network_file: String,
    /// Its `name`, if any.
    pub network_name: Option<String>,
    /// Base seed; replication r uses a seed derived from it and r.
    pub seed: u64,
    /// Independent replications of the base case.
    pub runs: u32,
    /// Replications of each sweep and sensitivity point (same seeds as the first runs of the
    /// base case: common random numbers, so points differ by the parameter, not the noise).
    pub sweep_runs: u32,
    /// Simulated time per replication, days.
    pub days: f64,
    /// What the simulation was given.
    pub inputs: Inputs,
    /// This rig's results; absent when the market ran without one.
    pub this_rig: Option<ThisRigResult>,
    /// With `--fleet`: the fleet as simulated (each complete node its own orchestrator) and
    /// each node's share; `this_rig` is then the fleet as a whole. Absent otherwise.
    #[serde(default)]
    pub fleet: Option<FleetProjection>,
    /// The network's results.
    pub network: NetworkResult,
    /// The utilisation `rigbench economics --market` uses in place of `utilisation.share_sold`.
    pub utilisation: Option<SimulatedUtilisation>,
    /// Every figure that was assumed rather than measured, said in words.
    pub estimated: Vec<String>,
    /// Remarks on the result (limits hit, labels).
    pub notes: Vec<String>,
}

/// The inputs the simulation used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    /// Orchestrators simulated, this rig included.
    pub orchestrators: u32,
    /// Their bonded stake at the start, LPT.
    pub total_stake_lpt: f64,
    /// Mean arrival rate of new streams, streams per hour.
    pub streams_per_hour: f64,
    /// Mean stream duration (log-normal mean, before the cut), seconds.
    pub mean_stream_duration_seconds: f64,
    /// Mean concurrent streams asked for (rate × mean duration), streams.
    pub mean_concurrent_streams_demanded: f64,
    /// Billed output pixels per stream-second.
    pub pixels_per_stream_second: f64,
    /// Where that figure comes from (`run.json` or `network file`).
    pub pixels_source: String,
    /// Gateways and their caps.
    pub gateways: Vec<GatewayInput>,
    /// Delegators rebalance at round boundaries.
    pub delegation_enabled: bool,
    /// Share of delegated stake re-allocated per round.
    pub rebalance_rate_per_round: f64,
    /// ETH price used, USD.
    pub eth_usd: f64,
    /// LPT price used, USD.
    pub lpt_usd: f64,
    /// This rig as simulated.
    pub this_rig: Option<ThisRigInputs>,
}

/// `rigbench market --fleet`: what the fleet would win.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetProjection {
    /// The fleet.json given to `--fleet`.
    pub fleet_file: String,
    /// How the fleet was placed in the network, in words.
    pub model: String,
    /// Nodes fleet.json lists.
    pub nodes_in_file: u32,
    /// Complete nodes simulated, each one orchestrator.
    pub nodes_simulated: u32,
    /// Nodes left out (not complete), each with its status and why.
    pub nodes_left_out: Vec<String>,
    /// Streams the simulated nodes accept together (the sum of their capacities).
    pub capacity_streams: u32,
    /// The fleet's share of all stream-seconds demanded on the network.
    pub demand_share: Spread,
    /// Mean concurrent streams served by the fleet / its capacity.
    pub utilisation: Spread,
    /// Fees + rewards − gas − costs of every node, USD per day (None: a cost unknown).
    pub profit_usd_per_day: Option<Spread>,
    /// Each simulated node, in fleet.json's order.
    pub nodes: Vec<FleetNodeResult>,
}

/// One node of the fleet in the simulated network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetNodeResult {
    /// fleet.json's node name.
    pub node: String,
    /// Its host, when known.
    pub host: Option<String>,
    /// Concurrent streams it accepts (fleet.json's `streams_sustained`, its `-maxSessions`).
    pub capacity_streams: u32,
    /// Where that capacity comes from.
    pub capacity_source: String,
    /// Segment round trip, median and 95th percentile, seconds (its run + transfer).
    pub latency_p50_seconds: f64,
    pub latency_p95_seconds: f64,
    /// Stake bonded to it at the start, LPT (its share of the rig file's stake).
    pub stake_lpt: f64,
    /// Its share of all stream-seconds demanded.
    pub demand_share: Spread,
    /// Mean concurrent streams served / its capacity.
    pub utilisation: Spread,
    /// Mean concurrent streams served.
    pub streams_served: Spread,
    /// Fees it kept, USD per day.
    pub fees_kept_usd_per_day: Spread,
    /// Fees kept + rewards kept − gas − its own costs, USD per day (None: power unknown).
    pub profit_usd_per_day: Option<Spread>,
}

/// One gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatewayInput {
    pub name: String,
    /// Share of all streams.
    pub demand_share: f64,
    /// Max price, wei per pixel (None: no cap).
    pub max_price_per_pixel_wei: Option<f64>,
    /// Selection weights stake / price / random.
    pub stake_weight: f64,
    pub price_weight: f64,
    pub random_weight: f64,
}

/// This rig as an orchestrator, with where each figure came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThisRigInputs {
    pub name: String,
    /// Price, wei per pixel.
    pub price_per_pixel_wei: f64,
    /// `fees.price_per_pixel_wei`, `fees.price_usd_per_pixel`, `this_rig.price_per_pixel_wei`.
    pub price_source: String,
    /// Concurrent streams it accepts.
    pub capacity_streams: u32,
    /// `--streams`, `run.json (extrapolated: ...)` or `network file [this_rig]`.
    pub capacity_source: String,
    /// Median segment round trip, seconds.
    pub latency_p50_seconds: f64,
    /// 95th-percentile segment round trip, seconds.
    pub latency_p95_seconds: f64,
    pub latency_source: String,
    /// Self-bonded stake, LPT.
    pub own_stake_lpt: f64,
    /// Delegated stake, LPT.
    pub delegated_stake_lpt: f64,
    /// Delegators' share of fees.
    pub fee_share: f64,
    /// Orchestrator's share of rewards.
    pub reward_cut: f64,
    pub stake_source: String,
    /// How costs were priced.
    pub cost_basis: String,
}

/// This rig's results over the replications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThisRigResult {
    /// Mean concurrent streams it served, streams.
    pub streams_served: Spread,
    /// Stream-hours served per day.
    pub stream_hours_per_day: Spread,
    /// Mean concurrent streams / capacity.
    pub utilisation: Spread,
    /// Its share of all stream-seconds demanded on the network.
    pub demand_share: Spread,
    /// Its share of first placements of new streams.
    pub new_session_share: Spread,
    /// Its share of stake at the start.
    pub stake_share_initial: f64,
    /// Its share of stake at the end.
    pub stake_share_final: Spread,
    /// Most streams held at once (the mean over replications of each one's peak).
    pub peak_streams: Spread,
    /// Sessions that left it on latency, per day.
    pub latency_departures_per_day: Spread,
    /// Times a gateway found it capped, per day.
    pub capped_draws_per_day: Spread,
    /// All fees it earned, before delegators, USD per day.
    pub fees_gross_usd_per_day: Spread,
    /// Fees it kept (fee cut + its own stake's share), USD per day.
    pub fees_kept_usd_per_day: Spread,
    /// Redemption gas on its winning tickets, USD per day.
    pub gas_usd_per_day: Spread,
    /// Rewards it kept, LPT per day (bonded, so they compound).
    pub rewards_kept_lpt_per_day: Spread,
    /// The same at `lpt_usd`, USD per day.
    pub rewards_kept_usd_per_day: Spread,
    /// Power, bandwidth and hardware at the streams served, USD per day (None: power unknown).
    pub costs_usd_per_day: Option<Spread>,
    /// Fees kept + rewards kept − gas − costs, USD per day.
    pub profit_usd_per_day: Option<Spread>,
    /// Fees kept − gas − costs (without inflation), USD per day.
    pub profit_without_rewards_usd_per_day: Option<Spread>,
    /// Share of replications with profit > 0.
    pub p_profit_positive: Option<f64>,
    /// The price sweep and its best point.
    pub best_price: Option<BestPrice>,
    /// This rig's demand share at other prices, stakes and capacities.
    pub sensitivity: Vec<SensitivityPoint>,
}

/// The price with the highest expected profit among those tried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestPrice {
    /// The best price tried, wei per pixel.
    pub price_per_pixel_wei: f64,
    /// Expected profit there, USD per day.
    pub expected_profit_usd_per_day: f64,
    /// Every price tried.
    pub sweep: Vec<PricePoint>,
    /// How to read it.
    pub note: String,
}

/// One price of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricePoint {
    /// wei per pixel.
    pub price_per_pixel_wei: f64,
    /// Mean share of demand served.
    pub demand_share: f64,
    /// Mean utilisation.
    pub utilisation: f64,
    /// Mean profit, USD per day (None: power unknown).
    pub profit_usd_per_day: Option<f64>,
    /// Share of the sweep's replications with profit > 0.
    pub p_profit_positive: Option<f64>,
}

/// One point of the sensitivity grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensitivityPoint {
    /// `price`, `stake` or `capacity`.
    pub parameter: String,
    /// Multiplier of the base value.
    pub multiplier: f64,
    /// The value simulated (wei per pixel, LPT, or streams).
    pub value: f64,
    /// Mean share of demand served.
    pub demand_share: f64,
    /// Mean utilisation.
    pub utilisation: f64,
    /// Mean profit, USD per day (None: power unknown).
    pub profit_usd_per_day: Option<f64>,
}

/// The network over the replications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkResult {
    /// New streams per day.
    pub streams_per_day: Spread,
    /// Share of new streams lost because every eligible orchestrator was capped or silent.
    pub lost_share_capped: Spread,
    /// Share of new streams lost because nobody was under the gateway's max price.
    pub lost_share_price: Spread,
    /// Share of demanded stream-seconds nobody served (both causes and dropped sessions).
    pub lost_share_stream_seconds: Spread,
    /// Sessions that left on latency and were placed again, per day.
    pub handoffs_per_day: Spread,
    /// Sessions that left on latency and found nobody, per day.
    pub dropped_midstream_per_day: Spread,
    /// Each orchestrator's demand share against its stake share, by name.
    pub orchestrators: Vec<OrchestratorRow>,
    /// Stake concentration at each round boundary (means over replications).
    pub concentration: Vec<ConcentrationPoint>,
}

/// One orchestrator, means over replications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrchestratorRow {
    pub name: String,
    /// True for this rig.
    pub this_rig: bool,
    /// wei per pixel.
    pub price_per_pixel_wei: f64,
    /// Streams.
    pub capacity_streams: u32,
    /// Stake share at the start.
    pub stake_share_initial: f64,
    /// Stake share at the end (mean).
    pub stake_share_final: f64,
    /// Share of all stream-seconds served on the network (mean).
    pub demand_share: f64,
    /// Share of first placements of new streams (mean).
    pub new_session_share: f64,
    /// Mean concurrent streams / capacity (0 for capacity 0).
    pub utilisation: f64,
    /// All its fees, USD per day (mean).
    pub fees_usd_per_day: f64,
    /// Rewards minted to it, LPT per day (mean).
    pub rewards_lpt_per_day: f64,
}

/// Stake concentration at one round boundary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConcentrationPoint {
    /// Round index (1 = the first boundary).
    pub round: u32,
    /// Simulated days.
    pub day: f64,
    /// Stake of the five largest / all stake.
    pub top5_stake_share: f64,
    /// Gini coefficient of stake.
    pub stake_gini: f64,
    /// Fewest orchestrators holding more than 1/3 of stake (mean over replications).
    pub nakamoto_one_third: f64,
    /// Half the L1 distance between stake shares and the round's demand shares.
    pub stake_demand_gap: f64,
}

/// The utilisation handed to `rigbench economics --market`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulatedUtilisation {
    /// Mean utilisation (share of capacity sold), 0..=1.
    pub share: f64,
    /// 5th percentile over replications.
    pub p5: f64,
    /// 95th percentile over replications.
    pub p95: f64,
    /// Where it comes from, in words.
    pub note: String,
}
