//! The simulation core: one replication of the market, discrete-event, pure (no I/O, no
//! clock, no hashing: the same market and seed give the same outcome bit for bit).
//!
//! ## Where the rules come from (facts doc §5, §9)
//! - **Arrivals**: a Poisson process whose rate is constant within each UTC hour (the daily
//!   profile); exponential gaps restart at each hour boundary, which is exact for a
//!   piecewise-constant rate because the process is memoryless. Each stream goes to one gateway
//!   drawn by demand share. Durations are log-normal, cut at the maximum.
//! - **Selection** (go-livepeer `server/selection_algorithm.go`): the gateway drops
//!   orchestrators above its max price (with `ignore_max_price_if_needed`, it falls back to all
//!   when none is left), then draws i with probability
//!   `w_stake S_i/ΣS + w_price e^(−p_i/F)/Σe^(−p_j/F) + w_rand/N` over those N. A capped
//!   orchestrator (at its capacity) or one that does not answer (availability) sends the
//!   gateway to the next draw. Redrawing until an uncapped one answers ends at j with
//!   probability ∝ P(j) × availability_j among the uncapped, which is how it is drawn after 32
//!   rejections. With nobody uncapped the stream is lost.
//! - **Keeping a session**: latency score = segment round trip / max(1.5 s, segment length);
//!   round trips are log-normal from the orchestrator's p50 and p95. A session leaves at its
//!   first segment whose score exceeds the gateway's limit (a geometric number of segments) and
//!   the rest of the stream is placed again, never on the orchestrator it left.
//! - **Rounds** (livepeer/protocol Minter, BondingManager): every round the Minter mints
//!   supply × inflation; the treasury cut is taken first; an orchestrator that calls reward
//!   gets the rest × its stake / all stake. It keeps `reward_cut` plus its own stake's share of
//!   the delegators' part, and all of it is bonded (stake compounds). Fees earned in the round
//!   (price × pixels × stream-seconds, counted when a session ends) split the same way with
//!   `fee_share` going to delegators (fees are not bonded).
//! - **Delegators** rebalance at each round boundary: a share `rebalance_rate_per_round` of
//!   every orchestrator's delegated stake is withdrawn and re-bonded in proportion to what each
//!   orchestrator's delegators earned in the round (fees in USD + rewards in USD), i.e. to
//!   stake × yield. Its fixed point is equal yield per unit of stake.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::model::{Gateway, Market, Orchestrator};
use super::rng::Rng;
use super::stats;

const MAX_REJECTIONS: u32 = 32;
const SECONDS_PER_HOUR: f64 = 3600.0;

/// What one replication produced, per orchestrator (same order as the market's) and for the
/// network.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub orchestrators: Vec<OrchestratorOutcome>,
    /// New streams that arrived.
    pub streams_arrived: u64,
    /// New streams that found every eligible orchestrator capped or not answering.
    pub streams_lost_capped: u64,
    /// New streams whose gateway had nobody under its max price.
    pub streams_lost_price: u64,
    /// Sessions that left an orchestrator on latency and could not be placed again.
    pub sessions_dropped_midstream: u64,
    /// Sessions that left an orchestrator on latency and were placed again.
    pub handoffs: u64,
    /// Stream-seconds asked for (arrived streams' durations, cut at the horizon).
    pub stream_seconds_demanded: f64,
    /// Stream-seconds nobody served.
    pub stream_seconds_lost: f64,
    /// One entry per round boundary.
    pub rounds: Vec<RoundStats>,
}

/// One orchestrator in one replication.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrchestratorOutcome {
    /// First placements of new streams on it.
    pub new_sessions: u64,
    /// Placements after another orchestrator's session left on latency.
    pub handoff_sessions: u64,
    /// Sessions it lost because a segment's latency score exceeded the limit.
    pub latency_departures: u64,
    /// Times a gateway drew it and found it capped.
    pub capped_draws: u64,
    /// Stream-seconds it transcoded.
    pub stream_seconds_served: f64,
    /// Most streams it held at once.
    pub peak_streams: u32,
    /// Fees it earned (all of them, before delegators), wei.
    pub fees_wei: f64,
    /// Of which the orchestrator kept (fee cut + its own stake's share of the rest), wei.
    pub fees_kept_wei: f64,
    /// Rewards minted to it, LPT.
    pub rewards_lpt: f64,
    /// Of which the orchestrator kept, LPT.
    pub rewards_kept_lpt: f64,
    /// Stake at the start, LPT.
    pub initial_stake_lpt: f64,
    /// Stake at the end, LPT.
    pub final_stake_lpt: f64,
}

/// Concentration of stake at one round boundary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoundStats {
    /// Simulated days at the boundary.
    pub day: f64,
    pub top5_stake_share: f64,
    pub stake_gini: f64,
    pub nakamoto_one_third: u32,
    /// Half the L1 distance between stake shares and the shares of stream-seconds served in
    /// the round (0 = stake exactly where the work went, 1 = disjoint).
    pub stake_demand_gap: f64,
}

/// Per-gateway selection table: eligible orchestrators and their P(i), cumulated.
#[derive(Debug, Clone)]
struct Table {
    index: Vec<u32>,
    prob: Vec<f64>,
    cumulative: Vec<f64>,
    /// P(latency score > limit) per orchestrator (all orchestrators, by index).
    segment_fail: Vec<f64>,
}

#[derive(Debug, Clone, Copy)]
struct Departure {
    t: f64,
    seq: u64,
    orch: u32,
    gateway: u32,
    start: f64,
    end: f64,
    leave: bool,
}

impl PartialEq for Departure {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Departure {}
impl PartialOrd for Departure {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Departure {
    /// Reversed (earliest first) for the max-heap; ties broken by sequence number.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .t
            .total_cmp(&self.t)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// The selection probabilities P(i) of a gateway over `eligible`, in the same order.
pub fn selection_probabilities(
    gateway: &Gateway,
    stakes: &[f64],
    prices: &[f64],
    eligible: &[u32],
) -> Vec<f64> {
    let n = eligible.len() as f64;
    let w = gateway.weights;
    let total_stake: f64 = eligible.iter().map(|&i| stakes[i as usize]).sum();
    // e^(−p/F) shifted by the lowest price so that high prices do not underflow to 0/0.
    let p_min = eligible
        .iter()
        .map(|&i| prices[i as usize])
        .fold(f64::INFINITY, f64::min);
    let price_terms: Vec<f64> = eligible
        .iter()
        .map(|&i| (-(prices[i as usize] - p_min) / w.price_exp_factor).exp())
        .collect();
    let price_total: f64 = price_terms.iter().sum();
    eligible
        .iter()
        .zip(&price_terms)
        .map(|(&i, &pt)| {
            let stake_part = if total_stake > 0.0 {
                stakes[i as usize] / total_stake
            } else {
                1.0 / n
            };
            w.stake * stake_part + w.price * pt / price_total + w.random / n
        })
        .collect()
}

/// P(a segment's round trip exceeds `limit_seconds`) for a log-normal with this p50 and p95.
pub fn segment_fail_probability(o: &Orchestrator, limit_seconds: f64) -> f64 {
    let p50 = o.latency_p50_seconds;
    if p50 <= 0.0 {
        return 0.0;
    }
    let sigma = (o.latency_p95_seconds.max(p50) / p50).ln() / 1.644_853_6;
    if sigma <= 0.0 {
        return if p50 > limit_seconds { 1.0 } else { 0.0 };
    }
    let z = (limit_seconds.ln() - p50.ln()) / sigma;
    (0.5 * crate::economics::erfc(z / std::f64::consts::SQRT_2)).clamp(0.0, 1.0)
}

struct State<'m> {
    m: &'m Market,
    rng: Rng,
    own: Vec<f64>,
    delegated: Vec<f64>,
    active: Vec<u32>,
    capacity: Vec<u32>,
    availability: Vec<f64>,
    tables: Vec<Option<Table>>,
    heap: BinaryHeap<Departure>,
    seq: u64,
    out: Outcome,
    served_round: Vec<f64>,
    supply_lpt: f64,
}

impl State<'_> {
    fn stakes(&self) -> Vec<f64> {
        self.own
            .iter()
            .zip(&self.delegated)
            .map(|(a, b)| a + b)
            .collect()
    }

    fn rebuild_tables(&mut self) {
        let stakes = self.stakes();
        let prices: Vec<f64> = self
            .m
            .orchestrators
            .iter()
            .map(|o| o.price_per_pixel_wei)
            .collect();
        let limit_base = self.m.demand.segment_seconds.max(1.5);
        self.tables = self
            .m
            .gateways
            .iter()
            .map(|g| {
                let mut eligible: Vec<u32> = (0..prices.len() as u32)
                    .filter(|&i| {
                        g.max_price_per_pixel_wei
                            .is_none_or(|c| prices[i as usize] <= c)
                    })
                    .collect();
                if eligible.is_empty() && g.ignore_max_price_if_needed {
                    eligible = (0..prices.len() as u32).collect();
                }
                if eligible.is_empty() {
                    return None;
                }
                let prob = selection_probabilities(g, &stakes, &prices, &eligible);
                let mut acc = 0.0;
                let cumulative = prob
                    .iter()
                    .map(|p| {
                        acc += p;
                        acc
                    })
                    .collect();
                let segment_fail = self
                    .m
                    .orchestrators
                    .iter()
                    .map(|o| segment_fail_probability(o, g.latency_score_limit * limit_base))
                    .collect();
                Some(Table {
                    index: eligible,
                    prob,
                    cumulative,
                    segment_fail,
                })
            })
            .collect();
    }

    /// An uncapped, answering orchestrator for gateway `g` (never `exclude`), or None.
    fn select(&mut self, g: usize, exclude: Option<u32>) -> Option<u32> {
        let table = self.tables[g].as_ref()?;
        let total = *table.cumulative.last()?;
        for _ in 0..MAX_REJECTIONS {
            let u = self.rng.uniform() * total;
            let k = table
                .cumulative
                .partition_point(|&c| c <= u)
                .min(table.index.len() - 1);
            let i = table.index[k];
            if Some(i) == exclude {
                continue;
            }
            if self.active[i as usize] >= self.capacity[i as usize] {
                self.out.orchestrators[i as usize].capped_draws += 1;
                continue;
            }
            if self.rng.uniform() < self.availability[i as usize] {
                return Some(i);
            }
        }
        // Many rejections: draw exactly among the uncapped, ∝ P(i) × availability.
        let weights: Vec<f64> = table
            .index
            .iter()
            .zip(&table.prob)
            .map(|(&i, &p)| {
                let ok = Some(i) != exclude && self.active[i as usize] < self.capacity[i as usize];
                if ok {
                    p * self.availability[i as usize]
                } else {
                    0.0
                }
            })
            .collect();
        let total: f64 = weights.iter().sum();
        if total <= 0.0 {
            return None;
        }
        let mut u = self.rng.uniform() * total;
        for (k, w) in weights.iter().enumerate() {
            if u < *w {
                return Some(table.index[k]);
            }
            u -= w;
        }
        weights
            .iter()
            .rposition(|w| *w > 0.0)
            .map(|k| table.index[k])
    }

    /// Places a session from `t` to `end` on `i`, scheduling its departure.
    fn place(&mut self, g: usize, i: u32, t: f64, end: f64) {
        let iu = i as usize;
        self.active[iu] += 1;
        let o = &mut self.out.orchestrators[iu];
        o.peak_streams = o.peak_streams.max(self.active[iu]);
        let seg = self.m.demand.segment_seconds;
        let q = self.tables[g]
            .as_ref()
            .map_or(0.0, |tb| tb.segment_fail[iu]);
        let segments = ((end - t) / seg).ceil().max(1.0);
        let k = self.rng.geometric(q);
        let (dep, leave) = if (k as f64) < segments {
            (t + k as f64 * seg, true)
        } else {
            (end, false)
        };
        self.seq += 1;
        self.heap.push(Departure {
            t: dep,
            seq: self.seq,
            orch: i,
            gateway: g as u32,
            start: t,
            end,
            leave,
        });
    }

    fn depart(&mut self, d: Departure) {
        let iu = d.orch as usize;
        self.active[iu] -= 1;
        self.account(iu, d.t - d.start);
        if d.leave {
            let o = &mut self.out.orchestrators[iu];
            o.latency_departures += 1;
            let g = d.gateway as usize;
            match self.select(g, Some(d.orch)) {
                Some(j) => {
                    self.out.handoffs += 1;
                    self.out.orchestrators[j as usize].handoff_sessions += 1;
                    self.place(g, j, d.t, d.end);
                }
                None => {
                    self.out.sessions_dropped_midstream += 1;
                    self.out.stream_seconds_lost += d.end - d.t;
                }
            }
        }
    }

    fn account(&mut self, i: usize, seconds: f64) {
        self.out.orchestrators[i].stream_seconds_served += seconds;
        self.served_round[i] += seconds;
    }

    fn arrive(&mut self, t: f64, horizon: f64) {
        self.out.streams_arrived += 1;
        let u = self.rng.uniform();
        let mut acc = 0.0;
        let mut g = self.m.gateways.len() - 1;
        for (k, gw) in self.m.gateways.iter().enumerate() {
            acc += gw.demand_share;
            if u < acc {
                g = k;
                break;
            }
        }
        let d = &self.m.demand;
        let duration = self
            .rng
            .lognormal(d.duration_median_seconds, d.duration_sigma)
            .min(d.duration_max_seconds);
        let end = (t + duration).min(horizon);
        self.out.stream_seconds_demanded += end - t;
        if self.tables[g].is_none() {
            self.out.streams_lost_price += 1;
            self.out.stream_seconds_lost += end - t;
            return;
        }
        match self.select(g, None) {
            Some(i) => {
                self.out.orchestrators[i as usize].new_sessions += 1;
                self.place(g, i, t, end);
            }
            None => {
                self.out.streams_lost_capped += 1;
                self.out.stream_seconds_lost += end - t;
            }
        }
    }

    /// Settles the round ending at `t`: fees always; with `mint`, rewards, delegators and the
    /// round's statistics too (the horizon settles only the fees of its unfinished round).
    fn end_round(&mut self, t: f64, mint: bool) {
        let m = self.m;
        let pixels = m.demand.pixels_per_stream_second;
        let stakes = self.stakes();
        let total_stake: f64 = stakes.iter().sum();
        let mintable = self.supply_lpt * m.rewards.inflation_per_round;
        let mut earned_usd = vec![0.0; stakes.len()];
        let mut minted = 0.0;
        for (i, o) in m.orchestrators.iter().enumerate() {
            let s = stakes[i];
            let own_share = if s > 0.0 { self.own[i] / s } else { 1.0 };
            let fees = self.served_round[i] * pixels * o.price_per_pixel_wei;
            let gross = if mint && o.calls_reward && total_stake > 0.0 {
                mintable * s / total_stake
            } else {
                0.0
            };
            minted += gross;
            let reward = gross * (1.0 - m.rewards.treasury_cut);
            let fees_to_delegators = fees * o.fee_share;
            let rewards_to_delegators = reward * (1.0 - o.reward_cut);
            let fees_kept = fees - fees_to_delegators * (1.0 - own_share);
            let rewards_kept = reward - rewards_to_delegators * (1.0 - own_share);
            let out = &mut self.out.orchestrators[i];
            out.fees_wei += fees;
            out.fees_kept_wei += fees_kept;
            out.rewards_lpt += reward;
            out.rewards_kept_lpt += rewards_kept;
            self.own[i] += rewards_kept;
            self.delegated[i] += reward - rewards_kept;
            earned_usd[i] =
                fees_to_delegators * m.eth_usd / 1e18 + rewards_to_delegators * m.lpt_usd;
        }
        self.supply_lpt += minted;
        if !mint {
            return;
        }
        if m.delegation.enabled {
            let total_earned: f64 = earned_usd.iter().sum();
            if total_earned > 0.0 {
                let rate = m.delegation.rebalance_rate_per_round;
                let mobile: f64 = self.delegated.iter().map(|d| d * rate).sum();
                for (d, e) in self.delegated.iter_mut().zip(&earned_usd) {
                    *d = *d * (1.0 - rate) + mobile * e / total_earned;
                }
            }
        }
        let stakes = self.stakes();
        let served_total: f64 = self.served_round.iter().sum();
        let total_stake: f64 = stakes.iter().sum();
        let gap = if served_total > 0.0 && total_stake > 0.0 {
            0.5 * stakes
                .iter()
                .zip(&self.served_round)
                .map(|(s, w)| (s / total_stake - w / served_total).abs())
                .sum::<f64>()
        } else {
            0.0
        };
        self.out.rounds.push(RoundStats {
            day: t / 86_400.0,
            top5_stake_share: stats::top_share(&stakes, 5),
            stake_gini: stats::gini(&stakes),
            nakamoto_one_third: stats::nakamoto(&stakes, 1.0 / 3.0),
            stake_demand_gap: gap,
        });
        self.served_round.iter_mut().for_each(|s| *s = 0.0);
        self.rebuild_tables();
    }

    /// Time of the next arrival after `t` (None past the horizon).
    fn next_arrival(&mut self, mut t: f64, horizon: f64) -> Option<f64> {
        let d = &self.m.demand;
        loop {
            if t >= horizon {
                return None;
            }
            let hour = (t / SECONDS_PER_HOUR).floor();
            let hour_end = (hour + 1.0) * SECONDS_PER_HOUR;
            let rate = d.streams_per_hour * d.daily_profile[(hour as u64 % 24) as usize]
                / SECONDS_PER_HOUR;
            if rate > 0.0 {
                let next = t + self.rng.exponential(rate);
                if next < hour_end {
                    return (next < horizon).then_some(next);
                }
            }
            t = hour_end;
        }
    }
}

/// One replication of `market` with `seed`.
pub fn simulate(market: &Market, seed: u64) -> Outcome {
    let n = market.orchestrators.len();
    let horizon = market.days * 86_400.0;
    let round_seconds = market.rewards.round_hours * SECONDS_PER_HOUR;
    let mut st = State {
        m: market,
        rng: Rng::new(seed),
        own: market
            .orchestrators
            .iter()
            .map(|o| o.own_stake_lpt)
            .collect(),
        delegated: market
            .orchestrators
            .iter()
            .map(|o| o.delegated_stake_lpt)
            .collect(),
        active: vec![0; n],
        capacity: market
            .orchestrators
            .iter()
            .map(|o| o.capacity_streams)
            .collect(),
        availability: market
            .orchestrators
            .iter()
            .map(|o| o.availability)
            .collect(),
        tables: Vec::new(),
        heap: BinaryHeap::new(),
        seq: 0,
        out: Outcome {
            orchestrators: market
                .orchestrators
                .iter()
                .map(|o| OrchestratorOutcome {
                    initial_stake_lpt: o.stake_lpt(),
                    ..Default::default()
                })
                .collect(),
            streams_arrived: 0,
            streams_lost_capped: 0,
            streams_lost_price: 0,
            sessions_dropped_midstream: 0,
            handoffs: 0,
            stream_seconds_demanded: 0.0,
            stream_seconds_lost: 0.0,
            rounds: Vec::new(),
        },
        served_round: vec![0.0; n],
        supply_lpt: market.rewards.total_supply_lpt,
    };
    st.rebuild_tables();
    let mut next_round = round_seconds;
    let mut next_arrival = st.next_arrival(0.0, horizon);
    loop {
        let dep = st.heap.peek().map(|d| d.t).filter(|&t| t <= horizon);
        let arr = next_arrival;
        let round = (next_round <= horizon).then_some(next_round);
        // Departures first, then the round boundary, then the arrival, at equal times.
        let earliest = [dep, round, arr]
            .into_iter()
            .flatten()
            .fold(f64::INFINITY, f64::min);
        if !earliest.is_finite() {
            break;
        }
        if dep == Some(earliest) {
            let d = st.heap.pop().expect("peeked");
            st.depart(d);
        } else if round == Some(earliest) {
            st.end_round(earliest, true);
            next_round += round_seconds;
        } else {
            st.arrive(earliest, horizon);
            next_arrival = st.next_arrival(earliest, horizon);
        }
    }
    // Sessions still running at the horizon are served up to it.
    while let Some(d) = st.heap.pop() {
        st.account(d.orch as usize, horizon.min(d.t) - d.start);
    }
    st.end_round(horizon, false);
    let stakes = st.stakes();
    for (o, s) in st.out.orchestrators.iter_mut().zip(stakes) {
        o.final_stake_lpt = s;
    }
    st.out
}

#[cfg(test)]
mod tests;
