//! The market's agents and rules as plain, validated data: what the simulation core reads. The
//! network file (`network.rs`) and this rig's measurements build one [`Market`].

use serde::{Deserialize, Serialize};

/// One orchestrator on the network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Orchestrator {
    /// A label (an address or a name).
    pub name: String,
    /// Stake the orchestrator bonded to itself, LPT.
    pub own_stake_lpt: f64,
    /// Stake delegators bonded to it, LPT (the part that moves when delegators rebalance).
    pub delegated_stake_lpt: f64,
    /// Price quoted to gateways, wei per output pixel.
    pub price_per_pixel_wei: f64,
    /// Concurrent streams it accepts before answering "OrchestratorCapped" (`-maxSessions`).
    pub capacity_streams: u32,
    /// Median round-trip time of one segment (upload, transcode, download), seconds.
    pub latency_p50_seconds: f64,
    /// 95th percentile of the same, seconds (≥ the median).
    pub latency_p95_seconds: f64,
    /// Share of fees paid to delegators (livepeer/protocol `feeShare`), 0..=1.
    pub fee_share: f64,
    /// Share of inflationary rewards the orchestrator keeps (`rewardCut`), 0..=1.
    pub reward_cut: f64,
    /// Probability that it answers a gateway's request, (0, 1].
    pub availability: f64,
    /// Whether it calls `reward()` each round (an orchestrator that does not mints nothing).
    pub calls_reward: bool,
}

impl Orchestrator {
    /// Total bonded stake, LPT.
    pub fn stake_lpt(&self) -> f64 {
        self.own_stake_lpt + self.delegated_stake_lpt
    }
}

/// go-livepeer's selection weights (`-selectStakeWeight`, `-selectPriceWeight`,
/// `-selectRandFreq`, `-selectPriceExpFactor`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SelectionWeights {
    pub stake: f64,
    pub price: f64,
    pub random: f64,
    /// F in e^(−p / F), wei per pixel.
    pub price_exp_factor: f64,
}

impl Default for SelectionWeights {
    fn default() -> Self {
        SelectionWeights {
            stake: 0.7,
            price: 0.0,
            random: 0.3,
            price_exp_factor: 100.0,
        }
    }
}

/// A gateway (broadcaster) population: a share of the demand with one selection policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gateway {
    pub name: String,
    /// Share of all streams this gateway brings, (0, 1]; shares sum to 1.
    pub demand_share: f64,
    /// Orchestrators above this price are filtered out, wei per pixel (None: no cap).
    pub max_price_per_pixel_wei: Option<f64>,
    /// `-ignoreMaxPriceIfNeeded`: when nobody is under the cap, fall back to everybody.
    pub ignore_max_price_if_needed: bool,
    pub weights: SelectionWeights,
    /// A session leaves an orchestrator whose latency score exceeds this (go-livepeer: 1.0).
    pub latency_score_limit: f64,
}

/// The streams gateways bring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Demand {
    /// Mean arrival rate of new streams over a day, streams per hour, all gateways.
    pub streams_per_hour: f64,
    /// Multiplier of the rate for each UTC hour, normalised to mean 1.
    pub daily_profile: [f64; 24],
    /// Median stream duration, seconds (durations are log-normal).
    pub duration_median_seconds: f64,
    /// Log-space standard deviation of stream durations.
    pub duration_sigma: f64,
    /// Longest stream, seconds (longer draws are cut here).
    pub duration_max_seconds: f64,
    /// Segment length, seconds.
    pub segment_seconds: f64,
    /// Billed output pixels per second of stream (the ladder).
    pub pixels_per_stream_second: f64,
}

impl Demand {
    /// Mean stream duration, seconds (log-normal mean, ignoring the cut; an upper bound).
    pub fn mean_duration_seconds(&self) -> f64 {
        (self.duration_median_seconds * (self.duration_sigma.powi(2) / 2.0).exp())
            .min(self.duration_max_seconds)
    }
}

/// Rounds and inflationary rewards (livepeer/protocol Minter).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rewards {
    /// Length of a round, hours (5760 L1 blocks ≈ 19.2 h).
    pub round_hours: f64,
    /// LPT supply at the start, LPT.
    pub total_supply_lpt: f64,
    /// Share of the supply minted each round (held constant over the simulation).
    pub inflation_per_round: f64,
    /// Share of each orchestrator's reward taken first for the treasury.
    pub treasury_cut: f64,
}

/// Delegators: whether and how fast stake moves toward higher yield.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Delegation {
    pub enabled: bool,
    /// Share of all delegated stake that is re-allocated at each round boundary, 0..=1.
    pub rebalance_rate_per_round: f64,
}

/// Everything one simulation needs. `this_rig` indexes `orchestrators`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Market {
    pub orchestrators: Vec<Orchestrator>,
    pub this_rig: Option<usize>,
    pub gateways: Vec<Gateway>,
    pub demand: Demand,
    pub rewards: Rewards,
    pub delegation: Delegation,
    /// Simulated time, days.
    pub days: f64,
    /// ETH price, USD (fees).
    pub eth_usd: f64,
    /// LPT price, USD (rewards).
    pub lpt_usd: f64,
}

impl Market {
    /// Expected number of new streams in one replication.
    pub fn expected_streams(&self) -> f64 {
        self.demand.streams_per_hour * 24.0 * self.days
    }
}
