//! The market: an agent-based simulation of the network that sends this rig its work.
//! Gateways pick orchestrators by stake, randomness and price (go-livepeer's selection), keep
//! them while their latency score is at most 1.0, skip the capped ones; rounds mint rewards;
//! delegators move stake toward yield. The result is how much work this rig gets, what it
//! earns, and whether stake follows the work ([`result::MarketResult`], market.json).
//!
//! - [`model`]: the agents as plain data; [`network`]: the network file that describes them;
//! - [`sim`]: one replication, pure and deterministic per seed; [`rng`]: its random numbers;
//! - [`stats`]: spread over replications and stake concentration (with their sources);
//! - this module: this rig as an agent (from the rig file, a run.json or `--streams`), the
//!   replications, the price sweep and the sensitivity grid, and their summary.
//!
//! Method and limits: `docs/economics.md`, section "The market model".

pub mod fleet;
pub mod model;
pub mod network;
pub mod result;
pub mod rng;
pub mod sim;
pub mod stats;

use crate::economics::{self, Rig, RunFacts};
use crate::result::RunResult;
use model::{Market, Orchestrator};
use network::{NetworkError, NetworkFile};
use result::*;
use sim::Outcome;
use stats::Spread;

/// Most streams one `rigbench market` may simulate in all (replications, sweeps): about two
/// minutes on one core at the benchmark's ~0.2 µs per stream.
pub const MAX_TOTAL_STREAMS: f64 = 5e8;
/// Most streams held at once across the network (memory of the event queue).
pub const MAX_CONCURRENT_STREAMS: f64 = 1e7;
/// Nanoseconds per simulated stream used for the estimate in the refusal (benches/market.rs).
pub const NANOSECONDS_PER_STREAM_ESTIMATE: f64 = 200.0;
/// Replications of each sweep point, at most.
pub const SWEEP_RUNS_MAX: u32 = 2;
/// Price multipliers of the sweep (the gateways' caps are tried too).
pub const PRICE_MULTIPLIERS: [f64; 5] = [0.5, 0.75, 1.0, 1.5, 2.0];
/// Stake multipliers of the sensitivity grid.
pub const STAKE_MULTIPLIERS: [f64; 2] = [0.1, 10.0];
/// Capacity multipliers of the sensitivity grid.
pub const CAPACITY_MULTIPLIERS: [f64; 2] = [0.5, 2.0];
/// Facts doc §5: the standard ladder moves about 11.7 Mbps per stream; split as the bundled
/// 720p run measured it (about 35% in, 65% out). Used only when no run.json is given.
pub const ESTIMATED_MBPS_IN_PER_STREAM: f64 = 4.1;
pub const ESTIMATED_MBPS_OUT_PER_STREAM: f64 = 7.6;

/// What went wrong building or running the market.
#[derive(Debug, thiserror::Error)]
pub enum MarketError {
    #[error(transparent)]
    Network(#[from] NetworkError),
    #[error("{0}")]
    Input(String),
    #[error("this simulation is too large: about {streams:.3e} streams ({detail}), about {minutes:.0} minutes on one core; the limit is {limit:.0e} streams: lower --days, --runs or demand.streams_per_hour")]
    TooLarge {
        streams: f64,
        detail: String,
        minutes: f64,
        limit: f64,
    },
    #[error("cannot price this rig: {0}")]
    Economics(#[from] economics::EconomicsError),
}

/// How this rig's capacity is given.
#[derive(Debug, Clone)]
pub enum CapacityInput {
    /// `--streams N`: an explicit count.
    Streams(u32),
    /// `--run run.json`: extrapolated from a run by economics' capacity method.
    Run(Box<RunResult>),
    /// `--capacity capacity.json`: a capacity search's count, with the probe run it rests on
    /// (latency, pixels and costs come from that run).
    Searched {
        run: Box<RunResult>,
        streams: u32,
        /// The search's binding limit and confidence, in words.
        note: String,
    },
    /// The network file's `[this_rig]`.
    NetworkFile,
    /// `--fleet fleet.json`: each complete node of a `rigbench merge` becomes its own
    /// orchestrator, with its capacity, latency and costs from its own run ([`fleet`]).
    Fleet(Box<fleet::FleetInput>),
    /// One node of a fleet (built by [`fleet`] from [`CapacityInput::Fleet`]).
    Node(Box<fleet::FleetNode>),
}

/// Everything `rigbench market` was asked.
#[derive(Debug, Clone)]
pub struct MarketRequest {
    pub network: NetworkFile,
    pub network_file: String,
    pub rig: Option<Rig>,
    pub capacity: CapacityInput,
    pub days: f64,
    pub seed: u64,
    pub runs: u32,
    pub command_line: Vec<String>,
    /// Worker threads for replications (1 = single-threaded); the result does not depend on it.
    pub threads: usize,
}

/// Costs of this rig per hour as a line in the streams it serves: fixed + per stream.
#[derive(Debug, Clone, PartialEq)]
pub struct CostModel {
    /// Power at rest, bandwidth commitments and hardware, USD per hour (None: power unknown).
    pub fixed_usd_per_hour: Option<f64>,
    /// Marginal cost of one more stream, USD per stream-hour.
    pub usd_per_stream_hour: f64,
    /// Redemption gas as a share of gross fees (go-livepeer's faceValue rule makes it constant).
    pub gas_share_of_fees: f64,
    /// In words.
    pub basis: String,
}

impl CostModel {
    fn usd_per_day(&self, stream_hours_per_day: f64) -> Option<f64> {
        self.fixed_usd_per_hour
            .map(|f| f * 24.0 + self.usd_per_stream_hour * stream_hours_per_day)
    }
}

/// This rig as built for the market.
#[derive(Debug, Clone, PartialEq)]
pub struct ThisRig {
    pub agent: Orchestrator,
    pub inputs: ThisRigInputs,
    pub costs: Option<CostModel>,
}

fn input(msg: impl Into<String>) -> MarketError {
    MarketError::Input(msg.into())
}

/// Economics' cost line from a run's facts: costs at all and at half the sustained streams.
fn cost_model(facts: &RunFacts, rig: &Rig, price_wei: f64) -> Result<CostModel, MarketError> {
    let mut r = rig.clone();
    r.fees.price_per_pixel_wei = Some(price_wei);
    r.fees.price_usd_per_pixel = None;
    r.utilisation.share_sold = 1.0;
    let full = economics::evaluate_facts(facts, &r)?;
    r.utilisation.share_sold = 0.5;
    let half = economics::evaluate_facts(facts, &r)?;
    let s = f64::from(full.capacity.streams_sustained);
    let (c1, c05) = (
        full.per_rig_hour.costs_usd_per_hour,
        half.per_rig_hour.costs_usd_per_hour,
    );
    let per_stream = match (c1, c05) {
        (Some(a), Some(b)) if s > 0.0 => (a - b) / (0.5 * s),
        _ => 0.0,
    };
    let gross = full.per_rig_hour.fees_gross_usd_per_hour;
    let gas_share = if gross > 0.0 {
        full.per_rig_hour.gas_usd_per_hour / gross
    } else {
        0.0
    };
    // withdrawFees and reward() gas do not grow with streams: fixed.
    let reward_gas = full
        .rewards
        .as_ref()
        .map_or(0.0, |r| r.reward_gas_usd_per_hour);
    let fixed =
        c1.map(|c| c - per_stream * s + full.per_rig_hour.withdraw_gas_usd_per_hour + reward_gas);
    Ok(CostModel {
        fixed_usd_per_hour: fixed,
        usd_per_stream_hour: per_stream,
        gas_share_of_fees: gas_share,
        basis: format!(
            "economics' own cost model at the streams served: power {:?} ({}), bandwidth {}, hardware {}; withdrawFees and reward() gas fixed, redemption gas {:.2}% of gross fees",
            full.power.status, full.power.basis, full.bandwidth.basis, full.hardware.basis, gas_share * 100.0
        ),
    })
}

/// Run facts standing in for a run when none was given (capacity from `--streams` or the
/// network file): only so that economics can price the rig file's costs. Labelled estimated.
fn synthetic_facts(capacity: u32, pixels_per_stream_second: f64) -> RunFacts {
    let c = capacity.max(1);
    RunFacts {
        partial: false,
        live: true,
        concurrent_sessions: c,
        renditions_per_stream: 4,
        backend_used: economics::Backend::Cpu,
        realtime_duration_ratio: economics::REALTIME_RATIO_LIMIT,
        throughput_x: f64::from(c),
        source_seconds: 3600.0 * f64::from(c),
        output_pixels: (pixels_per_stream_second * 3600.0 * f64::from(c)) as u64,
        mbps_in_per_stream: ESTIMATED_MBPS_IN_PER_STREAM,
        mbps_out_per_stream: ESTIMATED_MBPS_OUT_PER_STREAM,
        p95_to_mean_5min: None,
        power: None,
        power_unknown_reason: Some("no run.json given to `rigbench market`".to_string()),
        payments: None,
    }
}

/// This rig as an orchestrator: price and costs from the rig file, capacity and latency from
/// `--streams`, a run.json or the network file's `[this_rig]`, stake from `[this_rig]`.
/// None when there is neither a rig file nor a `[this_rig]` section.
pub fn this_rig(
    req: &MarketRequest,
    pixels_per_stream_second: f64,
    estimated: &mut Vec<String>,
) -> Result<Option<ThisRig>, MarketError> {
    this_rig_for(req, &req.capacity, pixels_per_stream_second, estimated)
}

/// [`this_rig`] with the capacity given apart from the request (a fleet's nodes, one by one).
fn this_rig_for(
    req: &MarketRequest,
    capacity_input: &CapacityInput,
    pixels_per_stream_second: f64,
    estimated: &mut Vec<String>,
) -> Result<Option<ThisRig>, MarketError> {
    let t = req.network.this_rig.clone();
    if req.rig.is_none() && t.is_none() && matches!(capacity_input, CapacityInput::NetworkFile) {
        return Ok(None);
    }
    let t = t.unwrap_or_default();
    let rig = req.rig.as_ref();
    let name = rig
        .and_then(|r| r.name.clone())
        .or(t.name.clone())
        .unwrap_or_else(|| "this rig".to_string());
    // Price: the rig file first.
    let eth_usd = rig
        .and_then(|r| r.fees.eth_usd)
        .unwrap_or(req.network.market.eth_usd);
    let (price, price_source) = match (rig.and_then(|r| r.price_per_pixel_wei()), t.price_per_pixel_wei) {
        (Some(p), _) => (
            p,
            if rig.is_some_and(|r| r.fees.price_per_pixel_wei.is_some()) {
                "rig file fees.price_per_pixel_wei".to_string()
            } else {
                format!("rig file fees.price_usd_per_pixel at {eth_usd} USD/ETH")
            },
        ),
        (None, Some(p)) => (p, "network file this_rig.price_per_pixel_wei".to_string()),
        (None, None) => {
            return Err(input(
                "this rig has no price: set fees.price_per_pixel_wei in the rig file or this_rig.price_per_pixel_wei in the network file",
            ))
        }
    };
    // Capacity and latency.
    let transfer = req.network.demand.transfer_seconds;
    let from_file_latency =
        |estimated: &mut Vec<String>| -> Result<(f64, f64, String), MarketError> {
            match (t.latency_p50_seconds, t.latency_p95_seconds) {
            (Some(a), Some(b)) if b >= a => {
                estimated.push(format!("this rig's latency {a} s median, {b} s p95: the network file's [this_rig], not measured"));
                Ok((a, b, "network file [this_rig] (not measured)".to_string()))
            }
            (Some(a), Some(b)) => Err(NetworkError::Invalid {
                key: "this_rig.latency_p95_seconds".to_string(),
                value: b.to_string(),
                reason: format!("must be at least this_rig.latency_p50_seconds ({a})"),
            }
            .into()),
            _ => Err(input(
                "this rig's latency is unknown: give --run run.json, or this_rig.latency_p50_seconds and this_rig.latency_p95_seconds in the network file",
            )),
        }
        };
    let (capacity, capacity_source, p50, p95, latency_source, facts) = match capacity_input {
        CapacityInput::Run(run) => {
            let rig = rig.ok_or_else(|| input("--run needs --rig: the rig file prices the run and caps its capacity (NVENC, port)"))?;
            let facts = RunFacts::from_run(run);
            let mut r = rig.clone();
            r.fees.price_per_pixel_wei = Some(price);
            r.fees.price_usd_per_pixel = None;
            let econ = economics::evaluate_facts(&facts, &r)?;
            let c = econ.capacity.streams_sustained;
            let s = &run.summary.latency_seconds;
            estimated.push(format!(
                "this rig's capacity {c} streams is extrapolated from run.json by economics' capacity method ({:?})",
                econ.capacity.method
            ));
            (
                c,
                format!("run.json, extrapolated ({:?}): {}", econ.capacity.method, econ.capacity.evidence),
                s.p50 + transfer,
                s.p95.max(s.p50) + transfer,
                format!("run.json transcode latency p50/p95 + demand.transfer_seconds ({transfer} s), measured at {} concurrent sessions", run.sessions.concurrent_sessions),
                Some(facts),
            )
        }
        CapacityInput::Searched { run, streams, note } => {
            let s = &run.summary.latency_seconds;
            (
                *streams,
                format!("capacity.json (measured by search): {note}"),
                s.p50 + transfer,
                s.p95.max(s.p50) + transfer,
                format!("the search's probe run at the capacity: transcode latency p50/p95 + demand.transfer_seconds ({transfer} s) at {} concurrent sessions", run.sessions.concurrent_sessions),
                Some(RunFacts::from_run(run)),
            )
        }
        CapacityInput::Node(n) => (
            n.streams,
            format!("fleet node {}: {}", n.node, n.capacity_note),
            n.latency_p50_seconds + transfer,
            n.latency_p95_seconds.max(n.latency_p50_seconds) + transfer,
            format!("the node's own run: transcode latency p50/p95 + demand.transfer_seconds ({transfer} s), measured at {} concurrent sessions", n.latency_sessions),
            Some(n.facts.clone()),
        ),
        CapacityInput::Fleet(_) => {
            return Err(input(
                "a fleet is placed node by node: use market::run, not this_rig, for --fleet",
            ))
        }
        CapacityInput::Streams(n) => {
            let (a, b, src) = from_file_latency(estimated)?;
            (
                *n,
                "--streams (given, not measured)".to_string(),
                a,
                b,
                src,
                None,
            )
        }
        CapacityInput::NetworkFile => {
            let c = t.capacity_streams.ok_or_else(|| {
                input("this rig's capacity is unknown: give --run run.json, --streams N, or this_rig.capacity_streams in the network file")
            })?;
            let c = network::check_capacity("this_rig.capacity_streams", c)?;
            estimated.push(format!(
                "this rig's capacity {c} streams: the network file's [this_rig], not measured"
            ));
            let (a, b, src) = from_file_latency(estimated)?;
            (
                c,
                "network file [this_rig] (not measured)".to_string(),
                a,
                b,
                src,
                None,
            )
        }
    };
    // Stake and shares: the rig file's [staking] when it bonds stake, else [this_rig].
    let staked = rig.map(|r| &r.staking).filter(|s| s.total_stake() > 0.0);
    let (own, delegated, fee_share, reward_cut, stake_from_rig) = match staked {
        Some(s) => (
            s.own_stake_lpt,
            (s.total_stake() - s.own_stake_lpt).max(0.0),
            s.fee_share,
            s.reward_cut,
            true,
        ),
        None => (
            t.own_stake_lpt.unwrap_or(0.0),
            t.delegated_stake_lpt.unwrap_or(0.0),
            t.fee_share
                .or(rig.map(|r| r.staking.fee_share))
                .unwrap_or(0.0),
            t.reward_cut
                .or(rig.map(|r| r.staking.reward_cut))
                .unwrap_or(1.0),
            false,
        ),
    };
    let agent = Orchestrator {
        name: name.clone(),
        own_stake_lpt: own,
        delegated_stake_lpt: delegated,
        price_per_pixel_wei: price,
        capacity_streams: capacity,
        latency_p50_seconds: p50,
        latency_p95_seconds: p95,
        fee_share,
        reward_cut,
        availability: t.availability.unwrap_or(1.0),
        calls_reward: t.calls_reward.unwrap_or(true),
    };
    network::check_orchestrator("this rig", &agent)?;
    let stake_source = if stake_from_rig {
        "rig file [staking]".to_string()
    } else if t.own_stake_lpt.is_some() || t.delegated_stake_lpt.is_some() {
        estimated.push(format!(
            "this rig's stake {} LPT: the network file's [this_rig] (the rig file bonds none)",
            own + delegated
        ));
        "network file [this_rig] (the rig file has no [staking] stake)".to_string()
    } else {
        estimated.push(
            "this rig's stake: none given, so 0 LPT (it gets only the random 30% of selection)"
                .to_string(),
        );
        "none given (0 LPT)".to_string()
    };
    let costs = match rig {
        Some(rig) => {
            let facts = match facts {
                Some(f) => f,
                None => {
                    estimated.push(format!(
                        "this rig's costs: no run.json, so power is the rig file's declared components at full load and bandwidth {ESTIMATED_MBPS_IN_PER_STREAM} + {ESTIMATED_MBPS_OUT_PER_STREAM} Mbps per stream (facts doc §5)"
                    ));
                    synthetic_facts(capacity, pixels_per_stream_second)
                }
            };
            Some(cost_model(&facts, rig, price)?)
        }
        None => None,
    };
    let inputs = ThisRigInputs {
        name,
        price_per_pixel_wei: price,
        price_source,
        capacity_streams: capacity,
        capacity_source,
        latency_p50_seconds: p50,
        latency_p95_seconds: p95,
        latency_source,
        own_stake_lpt: agent.own_stake_lpt,
        delegated_stake_lpt: agent.delegated_stake_lpt,
        fee_share: agent.fee_share,
        reward_cut: agent.reward_cut,
        stake_source,
        cost_basis: costs.as_ref().map_or(
            "no rig file: costs and profit not computed".to_string(),
            |c| c.basis.clone(),
        ),
    };
    Ok(Some(ThisRig {
        agent,
        inputs,
        costs,
    }))
}

/// `runs` replications of `market` (seeds derived from `seed`), on up to `threads` threads; the
/// outcomes are in replication order whatever the threads.
pub fn replicate(market: &Market, seed: u64, runs: u32, threads: usize) -> Vec<Outcome> {
    let seeds: Vec<u64> = (0..u64::from(runs))
        .map(|r| rng::replication_seed(seed, r))
        .collect();
    let threads = threads.clamp(1, seeds.len().max(1));
    if threads == 1 {
        return seeds.iter().map(|s| sim::simulate(market, *s)).collect();
    }
    let chunk = seeds.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = seeds
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|s| sim::simulate(market, *s))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// Per-replication figures of one orchestrator.
struct RigFigures {
    streams_served: Vec<f64>,
    stream_hours_per_day: Vec<f64>,
    utilisation: Vec<f64>,
    demand_share: Vec<f64>,
    new_session_share: Vec<f64>,
    fees_gross_usd_per_day: Vec<f64>,
    fees_kept_usd_per_day: Vec<f64>,
    rewards_kept_lpt_per_day: Vec<f64>,
}

/// Figures of a set of orchestrators taken together (one rig, or a fleet's nodes).
fn figures(market: &Market, outcomes: &[Outcome], ours: &[usize]) -> RigFigures {
    let days = market.days;
    let horizon = days * 86_400.0;
    let cap: f64 = ours
        .iter()
        .map(|&i| f64::from(market.orchestrators[i].capacity_streams))
        .sum();
    let mut f = RigFigures {
        streams_served: vec![],
        stream_hours_per_day: vec![],
        utilisation: vec![],
        demand_share: vec![],
        new_session_share: vec![],
        fees_gross_usd_per_day: vec![],
        fees_kept_usd_per_day: vec![],
        rewards_kept_lpt_per_day: vec![],
    };
    for o in outcomes {
        let me = sum_outcomes(ours.iter().map(|&i| &o.orchestrators[i]));
        let mean_streams = me.stream_seconds_served / horizon;
        f.streams_served.push(mean_streams);
        f.stream_hours_per_day
            .push(me.stream_seconds_served / 3600.0 / days);
        f.utilisation
            .push(if cap > 0.0 { mean_streams / cap } else { 0.0 });
        f.demand_share
            .push(ratio(me.stream_seconds_served, o.stream_seconds_demanded));
        let placed: u64 = o.orchestrators.iter().map(|x| x.new_sessions).sum();
        f.new_session_share
            .push(ratio(me.new_sessions as f64, placed as f64));
        let usd = |wei: f64| wei * market.eth_usd / economics::WEI_PER_ETH / days;
        f.fees_gross_usd_per_day.push(usd(me.fees_wei));
        f.fees_kept_usd_per_day.push(usd(me.fees_kept_wei));
        f.rewards_kept_lpt_per_day.push(me.rewards_kept_lpt / days);
    }
    f
}

/// Several orchestrators' outcomes in one replication added up (peaks too: the sum of each
/// one's peak, an upper bound on the set's peak).
fn sum_outcomes<'a>(
    it: impl Iterator<Item = &'a sim::OrchestratorOutcome>,
) -> sim::OrchestratorOutcome {
    let mut t = sim::OrchestratorOutcome::default();
    for o in it {
        t.new_sessions += o.new_sessions;
        t.handoff_sessions += o.handoff_sessions;
        t.latency_departures += o.latency_departures;
        t.capped_draws += o.capped_draws;
        t.stream_seconds_served += o.stream_seconds_served;
        t.peak_streams = t.peak_streams.saturating_add(o.peak_streams);
        t.fees_wei += o.fees_wei;
        t.fees_kept_wei += o.fees_kept_wei;
        t.rewards_lpt += o.rewards_lpt;
        t.rewards_kept_lpt += o.rewards_kept_lpt;
        t.initial_stake_lpt += o.initial_stake_lpt;
        t.final_stake_lpt += o.final_stake_lpt;
    }
    t
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Profit per replication of a set of orchestrators, each priced by its own cost line, summed
/// (None when one has no cost model or its power is unknown).
fn profits_of(
    market: &Market,
    outcomes: &[Outcome],
    ours: &[usize],
    costs: &[Option<CostModel>],
) -> Option<ProfitFigures> {
    let mut total: Option<ProfitFigures> = None;
    for (&i, c) in ours.iter().zip(costs) {
        let p = profits(market, &figures(market, outcomes, &[i]), c.as_ref())?;
        total = Some(match total {
            None => p,
            Some(t) => t.plus(&p),
        });
    }
    total
}

/// Profit per replication, with and without rewards (None without a cost model or power).
fn profits(market: &Market, f: &RigFigures, costs: Option<&CostModel>) -> Option<ProfitFigures> {
    let c = costs?;
    let mut out = ProfitFigures::default();
    for k in 0..f.fees_kept_usd_per_day.len() {
        let cost = c.usd_per_day(f.stream_hours_per_day[k])?;
        let gas = f.fees_gross_usd_per_day[k] * c.gas_share_of_fees;
        let rewards = f.rewards_kept_lpt_per_day[k] * market.lpt_usd;
        out.costs.push(cost);
        out.gas.push(gas);
        out.without_rewards
            .push(f.fees_kept_usd_per_day[k] - gas - cost);
        out.profit
            .push(f.fees_kept_usd_per_day[k] + rewards - gas - cost);
    }
    Some(out)
}

#[derive(Default)]
struct ProfitFigures {
    costs: Vec<f64>,
    gas: Vec<f64>,
    without_rewards: Vec<f64>,
    profit: Vec<f64>,
}

impl ProfitFigures {
    /// Replication by replication sums.
    fn plus(&self, o: &ProfitFigures) -> ProfitFigures {
        let add = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x + y).collect();
        ProfitFigures {
            costs: add(&self.costs, &o.costs),
            gas: add(&self.gas, &o.gas),
            without_rewards: add(&self.without_rewards, &o.without_rewards),
            profit: add(&self.profit, &o.profit),
        }
    }
}

fn p_positive(v: &[f64]) -> f64 {
    ratio(
        v.iter().filter(|p| **p > 0.0).count() as f64,
        v.len() as f64,
    )
}

/// Refuses a simulation that would take too long or too much memory, with the estimate.
pub fn check_size(market: &Market, replications: f64) -> Result<(), MarketError> {
    let per_run = market.expected_streams();
    let streams = per_run * replications;
    if streams > MAX_TOTAL_STREAMS {
        return Err(MarketError::TooLarge {
            streams,
            detail: format!(
                "{replications} replications including sweeps × {} days × {} streams/hour × 24",
                market.days, market.demand.streams_per_hour
            ),
            minutes: streams * NANOSECONDS_PER_STREAM_ESTIMATE / 1e9 / 60.0,
            limit: MAX_TOTAL_STREAMS,
        });
    }
    let concurrent =
        market.demand.streams_per_hour / 3600.0 * market.demand.mean_duration_seconds();
    if concurrent > MAX_CONCURRENT_STREAMS {
        return Err(input(format!(
            "demand.streams_per_hour × mean duration = {concurrent:.3e} concurrent streams, more than the {MAX_CONCURRENT_STREAMS:.0e} the simulation holds: lower demand.streams_per_hour or the durations"
        )));
    }
    Ok(())
}

/// Runs everything `rigbench market` reports: the base case, the price sweep and the
/// sensitivity grid, and summarises them.
pub fn run(req: &MarketRequest, pixels_override: Option<f64>) -> Result<MarketResult, MarketError> {
    if !(req.days.is_finite() && req.days > 0.0 && req.days <= 3660.0) {
        return Err(input(format!(
            "--days {}: must be > 0 and at most 3660",
            req.days
        )));
    }
    if req.runs == 0 || req.runs > 1000 {
        return Err(input(format!("--runs {}: must be 1..=1000", req.runs)));
    }
    let mut estimated = Vec::new();
    let mut notes = Vec::new();
    let mut market = req.network.market(req.days)?;
    let pixels_source = match pixels_override {
        Some(p) => {
            market.demand.pixels_per_stream_second = p;
            "run.json (output pixels / source seconds)"
        }
        None => "network file demand.pixels_per_stream_second",
    };
    if let Some(lpt) = req.rig.as_ref().and_then(|r| r.staking.lpt_usd) {
        if lpt != market.lpt_usd {
            notes.push(format!(
                "LPT at {lpt} USD from the rig file (the network file says {})",
                market.lpt_usd
            ));
        }
        market.lpt_usd = lpt;
    }
    if let Some(eth) = req.rig.as_ref().and_then(|r| r.fees.eth_usd) {
        if eth != market.eth_usd {
            notes.push(format!(
                "ETH at {eth} USD from the rig file (the network file says {})",
                market.eth_usd
            ));
        }
        market.eth_usd = eth;
    }
    // This rig, or a fleet's nodes: `ours` indexes them in the market, `costs` prices each.
    let (rig, nodes) = match &req.capacity {
        CapacityInput::Fleet(f) => {
            let nodes = fleet::rigs(
                req,
                f,
                market.demand.pixels_per_stream_second,
                &mut estimated,
            )?;
            (Some(fleet::aggregate(f, &nodes)), nodes)
        }
        _ => {
            let r = this_rig(req, market.demand.pixels_per_stream_second, &mut estimated)?;
            (r.clone(), r.into_iter().collect())
        }
    };
    let mut seen = std::collections::BTreeSet::new();
    estimated.retain(|e| seen.insert(e.clone()));
    if rig.as_ref().is_some_and(|r| r.agent.capacity_streams == 0) {
        notes.push("this rig's capacity is 0 streams: gateways always find it capped, so it gets no work (measure a capacity it sustains, or give --streams)".to_string());
    }
    let mut ours = Vec::new();
    for r in &nodes {
        market.orchestrators.push(r.agent.clone());
        ours.push(market.orchestrators.len() - 1);
    }
    market.this_rig = ours.first().copied();
    let costs: Vec<Option<CostModel>> = nodes.iter().map(|r| r.costs.clone()).collect();
    let sweep_runs = req.runs.min(SWEEP_RUNS_MAX);
    let prices = rig
        .as_ref()
        .map(|r| sweep_prices(&market, r.agent.price_per_pixel_wei))
        .unwrap_or_default();
    let sweep_points = if rig.is_some() {
        prices.len() + STAKE_MULTIPLIERS.len() + CAPACITY_MULTIPLIERS.len()
    } else {
        0
    };
    check_size(
        &market,
        f64::from(req.runs) + (sweep_points as f64) * f64::from(sweep_runs),
    )?;

    let outcomes = replicate(&market, req.seed, req.runs, req.threads);
    let network = network_result(&market, &outcomes, &ours);
    let mut this_rig_result = None;
    let mut utilisation = None;
    let mut fleet_result = None;
    if let (Some(r), false) = (&rig, ours.is_empty()) {
        let f = figures(&market, &outcomes, &ours);
        let pf = profits_of(&market, &outcomes, &ours, &costs);
        if costs.iter().any(Option::is_some) && pf.is_none() {
            notes.push("this rig's power cost is unknown, so profit is not computed".to_string());
        }
        if let CapacityInput::Fleet(input) = &req.capacity {
            fleet_result = Some(fleet::projection(input, &nodes, &f, pf.as_ref(), |k| {
                let i = [ours[k]];
                let fk = figures(&market, &outcomes, &i);
                let pk = profits_of(&market, &outcomes, &i, &costs[k..=k]);
                (fk, pk)
            }));
        }
        // The sweep and the grid vary this rig (every node of a fleet) only; same seeds as the
        // first base runs.
        let variant = |edit: &dyn Fn(&mut Orchestrator)| -> (RigFigures, Option<ProfitFigures>) {
            let mut m = market.clone();
            for &i in &ours {
                edit(&mut m.orchestrators[i]);
            }
            let out = replicate(&m, req.seed, sweep_runs, req.threads);
            let f = figures(&m, &out, &ours);
            let p = profits_of(&m, &out, &ours, &costs);
            (f, p)
        };
        let mut sweep = Vec::new();
        for &p in &prices {
            let (f, pf) = variant(&|o| o.price_per_pixel_wei = p);
            sweep.push(PricePoint {
                price_per_pixel_wei: p,
                demand_share: mean(&f.demand_share),
                utilisation: mean(&f.utilisation),
                profit_usd_per_day: pf.as_ref().map(|x| mean(&x.profit)),
                p_profit_positive: pf.as_ref().map(|x| p_positive(&x.profit)),
            });
        }
        let best_price = sweep
            .iter()
            .filter_map(|p| p.profit_usd_per_day.map(|v| (p.price_per_pixel_wei, v)))
            .fold(None, |best: Option<(f64, f64)>, (p, v)| match best {
                Some((_, bv)) if bv >= v => best,
                _ => Some((p, v)),
            })
            .map(|(p, v)| BestPrice {
                price_per_pixel_wei: p,
                expected_profit_usd_per_day: v,
                sweep: sweep.clone(),
                note: format!(
                    "best of the {} prices tried ({} replications each); with price weight 0 the gateways do not prefer cheaper orchestrators, so profit rises with price up to a gateway's cap and falls where that gateway's demand is lost",
                    sweep.len(),
                    sweep_runs
                ),
            });
        let base_price = r.agent.price_per_pixel_wei;
        let mut sensitivity: Vec<SensitivityPoint> = sweep
            .iter()
            .filter_map(|p| {
                let m = if base_price > 0.0 {
                    p.price_per_pixel_wei / base_price
                } else {
                    f64::NAN
                };
                [0.5, 1.0, 2.0]
                    .iter()
                    .any(|k| (m - k).abs() < 1e-9)
                    .then(|| SensitivityPoint {
                        parameter: "price".to_string(),
                        multiplier: m,
                        value: p.price_per_pixel_wei,
                        demand_share: p.demand_share,
                        utilisation: p.utilisation,
                        profit_usd_per_day: p.profit_usd_per_day,
                    })
            })
            .collect();
        let base_point = sensitivity.iter().find(|s| s.multiplier == 1.0).cloned();
        for (parameter, mults) in [
            ("stake", &STAKE_MULTIPLIERS[..]),
            ("capacity", &CAPACITY_MULTIPLIERS[..]),
        ] {
            let mut rows = Vec::new();
            for &k in mults {
                let (value, (f, pf)) = if parameter == "stake" {
                    let v = r.agent.stake_lpt() * k;
                    (
                        v,
                        variant(&|o| {
                            o.own_stake_lpt *= k;
                            o.delegated_stake_lpt *= k;
                        }),
                    )
                } else {
                    let scaled = |c: u32| ((f64::from(c) * k).round() as u32).max(1);
                    let c: u32 = ours
                        .iter()
                        .map(|&i| scaled(market.orchestrators[i].capacity_streams))
                        .sum();
                    (
                        f64::from(c),
                        variant(&|o| o.capacity_streams = scaled(o.capacity_streams)),
                    )
                };
                rows.push(SensitivityPoint {
                    parameter: parameter.to_string(),
                    multiplier: k,
                    value,
                    demand_share: mean(&f.demand_share),
                    utilisation: mean(&f.utilisation),
                    profit_usd_per_day: pf.as_ref().map(|x| mean(&x.profit)),
                });
            }
            if let Some(b) = &base_point {
                rows.insert(
                    1,
                    SensitivityPoint {
                        parameter: parameter.to_string(),
                        value: if parameter == "stake" {
                            r.agent.stake_lpt()
                        } else {
                            f64::from(r.agent.capacity_streams)
                        },
                        ..b.clone()
                    },
                );
            }
            sensitivity.extend(rows);
        }
        let per_day = |v: Vec<f64>| Spread::of(&v);
        let days = market.days;
        let me: Vec<sim::OrchestratorOutcome> = outcomes
            .iter()
            .map(|o| sum_outcomes(ours.iter().map(|&i| &o.orchestrators[i])))
            .collect();
        let total0: f64 = market.orchestrators.iter().map(|o| o.stake_lpt()).sum();
        let util = Spread::of(&f.utilisation);
        utilisation = Some(SimulatedUtilisation {
            // The mean lies between the nearest-rank p5 and p95 up to rounding: keep it there.
            share: util.mean.clamp(util.p5, util.p95),
            p5: util.p5,
            p95: util.p95,
            note: format!(
                "simulated by `rigbench market` ({} replications of {days} days on {}): mean concurrent streams served / capacity {}",
                req.runs, req.network_file, r.agent.capacity_streams
            ),
        });
        this_rig_result = Some(ThisRigResult {
            streams_served: Spread::of(&f.streams_served),
            stream_hours_per_day: Spread::of(&f.stream_hours_per_day),
            utilisation: util,
            demand_share: Spread::of(&f.demand_share),
            new_session_share: Spread::of(&f.new_session_share),
            stake_share_initial: ratio(r.agent.stake_lpt(), total0),
            stake_share_final: per_day(
                outcomes
                    .iter()
                    .map(|o| {
                        let t: f64 = o.orchestrators.iter().map(|x| x.final_stake_lpt).sum();
                        let mine: f64 = ours
                            .iter()
                            .map(|&i| o.orchestrators[i].final_stake_lpt)
                            .sum();
                        ratio(mine, t)
                    })
                    .collect(),
            ),
            peak_streams: per_day(me.iter().map(|x| f64::from(x.peak_streams)).collect()),
            latency_departures_per_day: per_day(
                me.iter()
                    .map(|x| x.latency_departures as f64 / days)
                    .collect(),
            ),
            capped_draws_per_day: per_day(
                me.iter().map(|x| x.capped_draws as f64 / days).collect(),
            ),
            fees_gross_usd_per_day: Spread::of(&f.fees_gross_usd_per_day),
            fees_kept_usd_per_day: Spread::of(&f.fees_kept_usd_per_day),
            gas_usd_per_day: pf.as_ref().map_or(Spread::of(&[]), |x| Spread::of(&x.gas)),
            rewards_kept_lpt_per_day: Spread::of(&f.rewards_kept_lpt_per_day),
            rewards_kept_usd_per_day: per_day(
                f.rewards_kept_lpt_per_day
                    .iter()
                    .map(|l| l * market.lpt_usd)
                    .collect(),
            ),
            costs_usd_per_day: pf.as_ref().map(|x| Spread::of(&x.costs)),
            profit_usd_per_day: pf.as_ref().map(|x| Spread::of(&x.profit)),
            profit_without_rewards_usd_per_day: pf.as_ref().map(|x| Spread::of(&x.without_rewards)),
            p_profit_positive: pf.as_ref().map(|x| p_positive(&x.profit)),
            best_price,
            sensitivity,
        });
    }
    let total_stake: f64 = market.orchestrators.iter().map(|o| o.stake_lpt()).sum();
    Ok(MarketResult {
        schema_version: MARKET_SCHEMA_VERSION,
        rigbench_version: env!("CARGO_PKG_VERSION").to_string(),
        command_line: req.command_line.clone(),
        network_file: req.network_file.clone(),
        network_name: req.network.name.clone(),
        seed: req.seed,
        runs: req.runs,
        sweep_runs: if rig.is_some() { sweep_runs } else { 0 },
        days: req.days,
        inputs: Inputs {
            orchestrators: market.orchestrators.len() as u32,
            total_stake_lpt: total_stake,
            streams_per_hour: market.demand.streams_per_hour,
            mean_stream_duration_seconds: market.demand.mean_duration_seconds(),
            mean_concurrent_streams_demanded: market.demand.streams_per_hour / 3600.0
                * market.demand.mean_duration_seconds(),
            pixels_per_stream_second: market.demand.pixels_per_stream_second,
            pixels_source: pixels_source.to_string(),
            gateways: market
                .gateways
                .iter()
                .map(|g| GatewayInput {
                    name: g.name.clone(),
                    demand_share: g.demand_share,
                    max_price_per_pixel_wei: g.max_price_per_pixel_wei,
                    stake_weight: g.weights.stake,
                    price_weight: g.weights.price,
                    random_weight: g.weights.random,
                })
                .collect(),
            delegation_enabled: market.delegation.enabled,
            rebalance_rate_per_round: market.delegation.rebalance_rate_per_round,
            eth_usd: market.eth_usd,
            lpt_usd: market.lpt_usd,
            this_rig: rig.as_ref().map(|r| r.inputs.clone()),
        },
        this_rig: this_rig_result,
        fleet: fleet_result,
        network,
        utilisation,
        estimated,
        notes,
    })
}

/// Reads market.json's simulated utilisation of this rig for `rigbench economics --market`,
/// refusing another schema version or a market run without this rig.
pub fn load_utilisation(path: &std::path::Path) -> anyhow::Result<economics::UtilisationSource> {
    use anyhow::Context;
    let text = std::fs::read_to_string(path).context("cannot read it")?;
    let value: serde_json::Value =
        serde_json::from_str(&text).context("not a rigbench market.json (invalid JSON)")?;
    match value.get("schema_version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(MARKET_SCHEMA_VERSION) => {}
        Some(v) => anyhow::bail!(
            "schema_version {v}, but this rigbench reads market.json schema_version {MARKET_SCHEMA_VERSION}: re-run `rigbench market`"
        ),
        None => anyhow::bail!("not a rigbench market.json (no schema_version)"),
    }
    let result: MarketResult =
        serde_json::from_value(value).context("not a rigbench market.json")?;
    let u = result.utilisation.context(
        "it has no utilisation for this rig (the market ran without a rig file or [this_rig])",
    )?;
    Ok(economics::UtilisationSource::Simulated {
        share: u.share,
        p5: u.p5,
        p95: u.p95,
        note: u.note,
    })
}

/// Prices the sweep tries: multiples of the base price and each gateway's cap, ascending.
fn sweep_prices(market: &Market, base: f64) -> Vec<f64> {
    let mut p: Vec<f64> = PRICE_MULTIPLIERS.iter().map(|k| base * k).collect();
    p.extend(
        market
            .gateways
            .iter()
            .filter_map(|g| g.max_price_per_pixel_wei)
            .filter(|c| c.is_finite() && *c > 0.0),
    );
    p.sort_by(f64::total_cmp);
    p.dedup_by(|a, b| (*a - *b).abs() <= 1e-9 * b.abs().max(1.0));
    p
}

fn network_result(market: &Market, outcomes: &[Outcome], ours: &[usize]) -> NetworkResult {
    let days = market.days;
    let horizon = days * 86_400.0;
    let per = |f: &dyn Fn(&Outcome) -> f64| Spread::of(&outcomes.iter().map(f).collect::<Vec<_>>());
    let n = market.orchestrators.len();
    let orchestrators = (0..n)
        .map(|i| {
            let o = &market.orchestrators[i];
            let total0: f64 = market.orchestrators.iter().map(|x| x.stake_lpt()).sum();
            let m = |f: &dyn Fn(&Outcome) -> f64| mean(&outcomes.iter().map(f).collect::<Vec<_>>());
            let cap = f64::from(o.capacity_streams);
            OrchestratorRow {
                name: o.name.clone(),
                this_rig: ours.contains(&i),
                price_per_pixel_wei: o.price_per_pixel_wei,
                capacity_streams: o.capacity_streams,
                stake_share_initial: ratio(o.stake_lpt(), total0),
                stake_share_final: m(&|r| {
                    let t: f64 = r.orchestrators.iter().map(|x| x.final_stake_lpt).sum();
                    ratio(r.orchestrators[i].final_stake_lpt, t)
                }),
                demand_share: m(&|r| {
                    ratio(
                        r.orchestrators[i].stream_seconds_served,
                        r.stream_seconds_demanded,
                    )
                }),
                new_session_share: m(&|r| {
                    let placed: u64 = r.orchestrators.iter().map(|x| x.new_sessions).sum();
                    ratio(r.orchestrators[i].new_sessions as f64, placed as f64)
                }),
                utilisation: m(&|r| {
                    if cap > 0.0 {
                        r.orchestrators[i].stream_seconds_served / horizon / cap
                    } else {
                        0.0
                    }
                }),
                fees_usd_per_day: m(&|r| {
                    r.orchestrators[i].fees_wei * market.eth_usd / economics::WEI_PER_ETH / days
                }),
                rewards_lpt_per_day: m(&|r| r.orchestrators[i].rewards_lpt / days),
            }
        })
        .collect();
    let rounds = outcomes.iter().map(|o| o.rounds.len()).min().unwrap_or(0);
    let concentration = (0..rounds)
        .map(|k| {
            let m = |f: &dyn Fn(&sim::RoundStats) -> f64| {
                mean(&outcomes.iter().map(|o| f(&o.rounds[k])).collect::<Vec<_>>())
            };
            ConcentrationPoint {
                round: k as u32 + 1,
                day: outcomes[0].rounds[k].day,
                top5_stake_share: m(&|r| r.top5_stake_share),
                stake_gini: m(&|r| r.stake_gini),
                nakamoto_one_third: m(&|r| f64::from(r.nakamoto_one_third)),
                stake_demand_gap: m(&|r| r.stake_demand_gap),
            }
        })
        .collect();
    NetworkResult {
        streams_per_day: per(&|o| o.streams_arrived as f64 / days),
        lost_share_capped: per(&|o| ratio(o.streams_lost_capped as f64, o.streams_arrived as f64)),
        lost_share_price: per(&|o| ratio(o.streams_lost_price as f64, o.streams_arrived as f64)),
        lost_share_stream_seconds: per(&|o| {
            ratio(o.stream_seconds_lost, o.stream_seconds_demanded)
        }),
        handoffs_per_day: per(&|o| o.handoffs as f64 / days),
        dropped_midstream_per_day: per(&|o| o.sessions_dropped_midstream as f64 / days),
        orchestrators,
        concentration,
    }
}
