//! The network file (TOML): the orchestrators, gateways, demand, rounds and delegators of the
//! market `rigbench market` simulates. Every key is documented on its field here and in the
//! commented example `fixtures/networks/livepeer-like.toml`. Unknown keys, missing keys and
//! out-of-range values are errors that name the key (`orchestrators[3].own_stake_lpt`, ...).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::model::{Delegation, Demand, Gateway, Market, Orchestrator, Rewards, SelectionWeights};

/// Most orchestrators a network file may list (Livepeer's active set is 100).
pub const MAX_ORCHESTRATORS: usize = 10_000;

/// A network file as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkFile {
    /// A label for reports.
    #[serde(default)]
    pub name: Option<String>,
    pub market: MarketSection,
    pub rounds: RoundsSection,
    pub demand: DemandSection,
    #[serde(default)]
    pub delegation: DelegationSection,
    /// `[[gateways]]`: at least one; demand shares sum to 1.
    pub gateways: Vec<GatewaySection>,
    /// `[this_rig]`: what the simulation assumes for this rig where nothing was measured and
    /// the rig file says nothing (stake, capacity, latency, ...).
    #[serde(default)]
    pub this_rig: Option<ThisRigSection>,
    /// `[[orchestrators]]`: the other orchestrators (at least one).
    #[serde(default)]
    pub orchestrators: Vec<OrchestratorSection>,
}

/// `[market]`: prices of the two tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketSection {
    /// ETH price, USD (fees are paid in ETH). The rig file's `fees.eth_usd` wins when given.
    pub eth_usd: f64,
    /// LPT price, USD (rewards are minted in LPT).
    pub lpt_usd: f64,
}

/// `[rounds]`: rounds and inflation (livepeer/protocol RoundsManager and Minter).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundsSection {
    /// Length of a round, hours (5760 L1 blocks of 12 s = 19.2 h).
    pub round_hours: f64,
    /// LPT supply at the start, LPT.
    pub total_supply_lpt: f64,
    /// Share of the supply minted per round, 0..=0.01 (held constant).
    pub inflation_per_round: f64,
    /// Treasury's cut of each reward, 0..=1 (`treasuryRewardCutRate`).
    #[serde(default)]
    pub treasury_cut: f64,
}

/// `[demand]`: the streams gateways bring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemandSection {
    /// Mean arrival rate of new streams over the day, all gateways, streams per hour (> 0).
    pub streams_per_hour: f64,
    /// 24 multipliers of the rate, one per UTC hour (normalised to mean 1; default flat).
    #[serde(default)]
    pub daily_profile: Option<Vec<f64>>,
    /// Median stream duration, minutes (durations are log-normal).
    pub duration_median_minutes: f64,
    /// Log-space standard deviation of durations (0 = every stream lasts the median).
    pub duration_sigma: f64,
    /// Longest stream, hours (longer draws are cut).
    pub duration_max_hours: f64,
    /// Segment length, seconds (default 2, go-livepeer's).
    #[serde(default = "default_segment_seconds")]
    pub segment_seconds: f64,
    /// Billed output pixels per stream-second of the ladder; a `--run` replaces it with the
    /// run's own figure.
    pub pixels_per_stream_second: f64,
    /// Upload plus download time added to a measured transcode latency to make a segment's
    /// round trip, seconds (default 0).
    #[serde(default)]
    pub transfer_seconds: f64,
}

fn default_segment_seconds() -> f64 {
    2.0
}

/// `[delegation]`: delegators moving stake toward yield.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelegationSection {
    /// Delegators rebalance at round boundaries (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Share of all delegated stake re-allocated per round, 0..=1 (default 0.02).
    #[serde(default = "default_rebalance_rate")]
    pub rebalance_rate_per_round: f64,
}

impl Default for DelegationSection {
    fn default() -> Self {
        DelegationSection {
            enabled: true,
            rebalance_rate_per_round: default_rebalance_rate(),
        }
    }
}

fn yes() -> bool {
    true
}

fn default_rebalance_rate() -> f64 {
    0.02
}

/// `[[gateways]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySection {
    pub name: String,
    /// Share of all streams, (0, 1]; the gateways' shares sum to 1.
    pub demand_share: f64,
    /// Max price, wei per pixel; omit for no cap.
    #[serde(default)]
    pub max_price_per_pixel_wei: Option<f64>,
    /// Fall back to all orchestrators when none is under the cap (default false).
    #[serde(default)]
    pub ignore_max_price_if_needed: bool,
    /// `-selectStakeWeight` (default 0.7).
    #[serde(default = "default_stake_weight")]
    pub stake_weight: f64,
    /// `-selectPriceWeight` (default 0).
    #[serde(default)]
    pub price_weight: f64,
    /// `-selectRandFreq` (default 0.3). The three weights sum to 1.
    #[serde(default = "default_random_weight")]
    pub random_weight: f64,
    /// `-selectPriceExpFactor`, wei per pixel (default 100).
    #[serde(default = "default_price_exp_factor")]
    pub price_exp_factor: f64,
    /// Latency score above which a session leaves (default 1.0).
    #[serde(default = "default_latency_score_limit")]
    pub latency_score_limit: f64,
}

fn default_stake_weight() -> f64 {
    0.7
}
fn default_random_weight() -> f64 {
    0.3
}
fn default_price_exp_factor() -> f64 {
    100.0
}
fn default_latency_score_limit() -> f64 {
    1.0
}

/// `[[orchestrators]]`: one orchestrator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrchestratorSection {
    pub name: String,
    /// Self-bonded stake, LPT (≥ 0).
    pub own_stake_lpt: f64,
    /// Delegated stake, LPT (≥ 0).
    pub delegated_stake_lpt: f64,
    /// Price, wei per pixel (≥ 0).
    pub price_per_pixel_wei: f64,
    /// Concurrent streams before it answers "capped" (≥ 0; go-livepeer's default is 10).
    pub capacity_streams: i64,
    /// Median segment round trip, seconds (> 0).
    pub latency_p50_seconds: f64,
    /// 95th-percentile segment round trip, seconds (≥ the median).
    pub latency_p95_seconds: f64,
    /// Delegators' share of fees, 0..=1.
    pub fee_share: f64,
    /// Orchestrator's share of rewards, 0..=1.
    pub reward_cut: f64,
    /// Probability it answers, (0, 1] (default 1).
    #[serde(default = "one")]
    pub availability: f64,
    /// Calls reward() every round (default true).
    #[serde(default = "yes")]
    pub calls_reward: bool,
}

fn one() -> f64 {
    1.0
}

/// `[this_rig]`: assumptions for this rig; every key optional (measurements and the rig file
/// come first).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThisRigSection {
    pub name: Option<String>,
    pub own_stake_lpt: Option<f64>,
    pub delegated_stake_lpt: Option<f64>,
    pub price_per_pixel_wei: Option<f64>,
    pub capacity_streams: Option<i64>,
    pub latency_p50_seconds: Option<f64>,
    pub latency_p95_seconds: Option<f64>,
    pub fee_share: Option<f64>,
    pub reward_cut: Option<f64>,
    pub availability: Option<f64>,
    pub calls_reward: Option<bool>,
}

/// What is wrong with a network file.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("cannot read network file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("network file {path} is not a valid network file: {message}see fixtures/networks/ for a documented example")]
    Parse { path: String, message: String },
    #[error("`{key}` = {value}: {reason}")]
    Invalid {
        key: String,
        value: String,
        reason: String,
    },
    #[error("`{key}` is missing: {what}")]
    Missing { key: String, what: String },
}

pub(crate) fn invalid(key: &str, value: impl std::fmt::Display, reason: &str) -> NetworkError {
    NetworkError::Invalid {
        key: key.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

/// `value` finite and within [lo, hi]; `lo_open` excludes lo.
pub(crate) fn check(
    key: &str,
    value: f64,
    lo: f64,
    lo_open: bool,
    hi: f64,
) -> Result<(), NetworkError> {
    match crate::economics::rig::range_problem(value, lo, lo_open, hi, || {
        format!("must be at most {hi}")
    }) {
        Some(reason) => Err(invalid(key, value, &reason)),
        None => Ok(()),
    }
}

/// The most streams one orchestrator may hold in a simulation (a network file's capacities and
/// `--streams`).
pub const MAX_CAPACITY_STREAMS: u32 = 1_000_000;

pub(crate) fn check_capacity(key: &str, value: i64) -> Result<u32, NetworkError> {
    if value < 0 {
        return Err(invalid(key, value, "must not be negative"));
    }
    u32::try_from(value)
        .ok()
        .filter(|v| *v <= MAX_CAPACITY_STREAMS)
        .ok_or_else(|| invalid(key, value, "must be at most 1000000 streams"))
}

const TOLERANCE: f64 = 1e-6;

impl NetworkFile {
    /// Reads and checks a network file.
    pub fn load(path: &Path) -> Result<NetworkFile, NetworkError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| NetworkError::Read {
            path: shown.clone(),
            source,
        })?;
        NetworkFile::parse(&text, &shown)
    }

    /// Parses and checks network TOML; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<NetworkFile, NetworkError> {
        let file: NetworkFile = toml::from_str(text).map_err(|e| NetworkError::Parse {
            path: origin.to_string(),
            message: e.to_string(),
        })?;
        file.check()?;
        Ok(file)
    }

    /// Every range and sum rule; errors name the key.
    pub fn check(&self) -> Result<(), NetworkError> {
        check("market.eth_usd", self.market.eth_usd, 0.0, true, 1e7)?;
        check("market.lpt_usd", self.market.lpt_usd, 0.0, false, 1e7)?;
        let r = &self.rounds;
        check(
            "rounds.round_hours",
            r.round_hours,
            0.1,
            false,
            24.0 * 365.0,
        )?;
        check(
            "rounds.total_supply_lpt",
            r.total_supply_lpt,
            0.0,
            false,
            1e15,
        )?;
        check(
            "rounds.inflation_per_round",
            r.inflation_per_round,
            0.0,
            false,
            0.01,
        )?;
        check("rounds.treasury_cut", r.treasury_cut, 0.0, false, 1.0)?;
        let d = &self.demand;
        check(
            "demand.streams_per_hour",
            d.streams_per_hour,
            0.0,
            true,
            1e12,
        )?;
        if let Some(p) = &d.daily_profile {
            if p.len() != 24 {
                return Err(invalid(
                    "demand.daily_profile",
                    format!("{} values", p.len()),
                    "must give 24 values, one per UTC hour",
                ));
            }
            for (h, v) in p.iter().enumerate() {
                check(&format!("demand.daily_profile[{h}]"), *v, 0.0, false, 1e6)?;
            }
            if p.iter().sum::<f64>() <= 0.0 {
                return Err(invalid(
                    "demand.daily_profile",
                    "all zero",
                    "at least one hour must bring streams",
                ));
            }
        }
        check(
            "demand.duration_median_minutes",
            d.duration_median_minutes,
            0.0,
            true,
            1e6,
        )?;
        check("demand.duration_sigma", d.duration_sigma, 0.0, false, 5.0)?;
        check(
            "demand.duration_max_hours",
            d.duration_max_hours,
            0.0,
            true,
            1e5,
        )?;
        check(
            "demand.segment_seconds",
            d.segment_seconds,
            0.1,
            false,
            60.0,
        )?;
        check(
            "demand.pixels_per_stream_second",
            d.pixels_per_stream_second,
            0.0,
            true,
            1e12,
        )?;
        check(
            "demand.transfer_seconds",
            d.transfer_seconds,
            0.0,
            false,
            60.0,
        )?;
        check(
            "delegation.rebalance_rate_per_round",
            self.delegation.rebalance_rate_per_round,
            0.0,
            false,
            1.0,
        )?;
        if self.gateways.is_empty() {
            return Err(NetworkError::Missing {
                key: "gateways".to_string(),
                what: "give at least one [[gateways]] table".to_string(),
            });
        }
        let mut share_sum = 0.0;
        for (k, g) in self.gateways.iter().enumerate() {
            let key = |f: &str| format!("gateways[{k}].{f}");
            check(&key("demand_share"), g.demand_share, 0.0, true, 1.0)?;
            share_sum += g.demand_share;
            if let Some(p) = g.max_price_per_pixel_wei {
                check(&key("max_price_per_pixel_wei"), p, 0.0, false, 1e18)?;
            }
            check(&key("stake_weight"), g.stake_weight, 0.0, false, 1.0)?;
            check(&key("price_weight"), g.price_weight, 0.0, false, 1.0)?;
            check(&key("random_weight"), g.random_weight, 0.0, false, 1.0)?;
            let w = g.stake_weight + g.price_weight + g.random_weight;
            if (w - 1.0).abs() > TOLERANCE {
                return Err(invalid(
                    &key("stake_weight + price_weight + random_weight"),
                    format!("{w}"),
                    "the selection weights must sum to 1 (go-livepeer's defaults: 0.7, 0, 0.3)",
                ));
            }
            check(
                &key("price_exp_factor"),
                g.price_exp_factor,
                0.0,
                true,
                1e18,
            )?;
            check(
                &key("latency_score_limit"),
                g.latency_score_limit,
                0.0,
                true,
                100.0,
            )?;
        }
        if (share_sum - 1.0).abs() > TOLERANCE {
            return Err(invalid(
                "gateways[].demand_share",
                format!("{share_sum} in all"),
                "the gateways' demand shares must sum to 1",
            ));
        }
        if self.orchestrators.is_empty() {
            return Err(NetworkError::Missing {
                key: "orchestrators".to_string(),
                what: "the network is empty: give at least one [[orchestrators]] table".to_string(),
            });
        }
        if self.orchestrators.len() > MAX_ORCHESTRATORS {
            return Err(invalid(
                "orchestrators",
                format!("{} entries", self.orchestrators.len()),
                &format!("at most {MAX_ORCHESTRATORS} orchestrators"),
            ));
        }
        for (k, o) in self.orchestrators.iter().enumerate() {
            o.to_agent(&format!("orchestrators[{k}]"))?;
        }
        let total: f64 = self
            .orchestrators
            .iter()
            .map(|o| o.own_stake_lpt + o.delegated_stake_lpt)
            .sum();
        if total <= 0.0 {
            return Err(invalid(
                "orchestrators[].own_stake_lpt + delegated_stake_lpt",
                "0 in all",
                "the network has no stake: give the orchestrators their bonded LPT",
            ));
        }
        if let Some(t) = &self.this_rig {
            t.check()?;
        }
        Ok(())
    }

    /// The market model of this file without this rig (`days` of simulated time).
    pub fn market(&self, days: f64) -> Result<Market, NetworkError> {
        let orchestrators = self
            .orchestrators
            .iter()
            .enumerate()
            .map(|(k, o)| o.to_agent(&format!("orchestrators[{k}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let d = &self.demand;
        let mut profile = [1.0; 24];
        if let Some(p) = &d.daily_profile {
            let mean = p.iter().sum::<f64>() / 24.0;
            for (slot, v) in profile.iter_mut().zip(p) {
                *slot = v / mean;
            }
        }
        let gateways = self
            .gateways
            .iter()
            .map(|g| Gateway {
                name: g.name.clone(),
                demand_share: g.demand_share,
                max_price_per_pixel_wei: g.max_price_per_pixel_wei,
                ignore_max_price_if_needed: g.ignore_max_price_if_needed,
                weights: SelectionWeights {
                    stake: g.stake_weight,
                    price: g.price_weight,
                    random: g.random_weight,
                    price_exp_factor: g.price_exp_factor,
                },
                latency_score_limit: g.latency_score_limit,
            })
            .collect();
        Ok(Market {
            orchestrators,
            this_rig: None,
            gateways,
            demand: Demand {
                streams_per_hour: d.streams_per_hour,
                daily_profile: profile,
                duration_median_seconds: d.duration_median_minutes * 60.0,
                duration_sigma: d.duration_sigma,
                duration_max_seconds: d.duration_max_hours * 3600.0,
                segment_seconds: d.segment_seconds,
                pixels_per_stream_second: d.pixels_per_stream_second,
            },
            rewards: Rewards {
                round_hours: self.rounds.round_hours,
                total_supply_lpt: self.rounds.total_supply_lpt,
                inflation_per_round: self.rounds.inflation_per_round,
                treasury_cut: self.rounds.treasury_cut,
            },
            delegation: Delegation {
                enabled: self.delegation.enabled,
                rebalance_rate_per_round: self.delegation.rebalance_rate_per_round,
            },
            days,
            eth_usd: self.market.eth_usd,
            lpt_usd: self.market.lpt_usd,
        })
    }
}

/// The checks of one orchestrator's figures, shared by `[[orchestrators]]` and this rig.
pub(crate) fn check_orchestrator(key: &str, o: &Orchestrator) -> Result<(), NetworkError> {
    let k = |f: &str| format!("{key}.{f}");
    check(&k("own_stake_lpt"), o.own_stake_lpt, 0.0, false, 1e15)?;
    check(
        &k("delegated_stake_lpt"),
        o.delegated_stake_lpt,
        0.0,
        false,
        1e15,
    )?;
    check(
        &k("price_per_pixel_wei"),
        o.price_per_pixel_wei,
        0.0,
        false,
        1e18,
    )?;
    check(
        &k("latency_p50_seconds"),
        o.latency_p50_seconds,
        0.0,
        true,
        3600.0,
    )?;
    check(
        &k("latency_p95_seconds"),
        o.latency_p95_seconds,
        o.latency_p50_seconds,
        false,
        3600.0,
    )
    .map_err(|_| {
        invalid(
            &k("latency_p95_seconds"),
            o.latency_p95_seconds,
            &format!(
                "must be finite and at least latency_p50_seconds ({})",
                o.latency_p50_seconds
            ),
        )
    })?;
    check(&k("fee_share"), o.fee_share, 0.0, false, 1.0)?;
    check(&k("reward_cut"), o.reward_cut, 0.0, false, 1.0)?;
    check(&k("availability"), o.availability, 0.0, true, 1.0)?;
    Ok(())
}

impl OrchestratorSection {
    fn to_agent(&self, key: &str) -> Result<Orchestrator, NetworkError> {
        let o = Orchestrator {
            name: self.name.clone(),
            own_stake_lpt: self.own_stake_lpt,
            delegated_stake_lpt: self.delegated_stake_lpt,
            price_per_pixel_wei: self.price_per_pixel_wei,
            capacity_streams: check_capacity(
                &format!("{key}.capacity_streams"),
                self.capacity_streams,
            )?,
            latency_p50_seconds: self.latency_p50_seconds,
            latency_p95_seconds: self.latency_p95_seconds,
            fee_share: self.fee_share,
            reward_cut: self.reward_cut,
            availability: self.availability,
            calls_reward: self.calls_reward,
        };
        check_orchestrator(key, &o)?;
        Ok(o)
    }
}

impl ThisRigSection {
    fn check(&self) -> Result<(), NetworkError> {
        let pairs = [
            ("own_stake_lpt", self.own_stake_lpt, 0.0, false, 1e15),
            (
                "delegated_stake_lpt",
                self.delegated_stake_lpt,
                0.0,
                false,
                1e15,
            ),
            (
                "price_per_pixel_wei",
                self.price_per_pixel_wei,
                0.0,
                false,
                1e18,
            ),
            (
                "latency_p50_seconds",
                self.latency_p50_seconds,
                0.0,
                true,
                3600.0,
            ),
            (
                "latency_p95_seconds",
                self.latency_p95_seconds,
                0.0,
                true,
                3600.0,
            ),
            ("fee_share", self.fee_share, 0.0, false, 1.0),
            ("reward_cut", self.reward_cut, 0.0, false, 1.0),
            ("availability", self.availability, 0.0, true, 1.0),
        ];
        for (name, v, lo, open, hi) in pairs {
            if let Some(v) = v {
                check(&format!("this_rig.{name}"), v, lo, open, hi)?;
            }
        }
        if let Some(c) = self.capacity_streams {
            check_capacity("this_rig.capacity_streams", c)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
