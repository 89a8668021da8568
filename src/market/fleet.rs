//! `rigbench market --fleet fleet.json`: a fleet merged by `rigbench merge`, placed in the
//! simulated network. Each complete node becomes its own orchestrator: its capacity is the
//! node's `streams_sustained` (its `-maxSessions`), its latency and costs come from the node's
//! own measured run (fleet.json carries each run's economics inputs), its price is the rig
//! file's, and the rig file's `[staking]` stake is split across the nodes in proportion to
//! their capacity. Gateways then select among the nodes as among any orchestrators, so the
//! result says what share each node, and the fleet as a whole, would win.
//!
//! The other model, one orchestrator with the fleet's total capacity (go-livepeer's
//! orchestrator with remote transcoders), gets one draw where the nodes get one each;
//! docs/fleet.md ("The fleet in the market") says what that changes.

use super::result::{FleetNodeResult, FleetProjection};
use super::stats::Spread;
use super::{
    this_rig_for, CapacityInput, MarketError, MarketRequest, ProfitFigures, RigFigures, ThisRig,
};
use crate::economics::{self, Rig, RunFacts};
use crate::merge::{FleetResult, NodeStatus};

/// How the fleet is placed, in words (market.json's `fleet.model`).
pub const MODEL: &str = "each complete node is its own orchestrator: its own capacity (-maxSessions), latency and costs from its own run, the rig file's price, and the rig file's [staking] stake split across the nodes in proportion to their capacity (evenly when every capacity is 0)";

/// One complete node of a fleet, as the market places it.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetNode {
    /// fleet.json's node name.
    pub node: String,
    pub host: Option<String>,
    /// Concurrent streams it accepts.
    pub streams: u32,
    /// Where `streams` comes from, in words.
    pub capacity_note: String,
    /// Transcode latency of a segment in its run, median and 95th percentile, seconds.
    pub latency_p50_seconds: f64,
    pub latency_p95_seconds: f64,
    /// Concurrent sessions of the run those were measured at.
    pub latency_sessions: u32,
    /// What the economics read from its run.
    pub facts: RunFacts,
}

/// A fleet.json made ready for the market.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetInput {
    /// The file, as given.
    pub file: String,
    /// Nodes the file lists.
    pub nodes_in_file: u32,
    /// The complete nodes, in the file's order.
    pub nodes: Vec<FleetNode>,
    /// The others, each with its status and why.
    pub left_out: Vec<String>,
    /// Figures assumed rather than measured, in words.
    pub estimated: Vec<String>,
}

/// The complete nodes of `fleet`, each with its capacity, latency and run facts. A node with
/// no capacity in fleet.json (merged without a rig) gets economics' extrapolation from its run
/// under `rig`, labelled. Errors: no complete node, or a complete node without its run's
/// figures (a fleet.json of an older rigbench).
pub fn read(fleet: &FleetResult, file: &str, rig: &Rig) -> Result<FleetInput, MarketError> {
    let mut nodes = Vec::new();
    let mut left_out = Vec::new();
    let mut estimated = Vec::new();
    for r in &fleet.nodes {
        if r.status != NodeStatus::Ok {
            left_out.push(format!(
                "{} ({})",
                r.node,
                r.status_reason
                    .as_deref()
                    .map_or(r.status.label().to_string(), |why| format!(
                        "{}: {why}",
                        r.status.label()
                    ))
            ));
            continue;
        }
        let (Some(facts), Some(p50), Some(p95)) = (
            r.run_facts.clone(),
            r.latency_p50_seconds,
            r.latency_p95_seconds,
        ) else {
            return Err(super::input(format!(
                "--fleet {file}: node {} has no run figures (run_facts, latency): merge its folder again with this rigbench's `rigbench merge`",
                r.node
            )));
        };
        let (streams, capacity_note) = match r.streams_sustained {
            Some(s) => (
                s,
                format!(
                    "fleet.json streams_sustained ({}{})",
                    r.capacity_method
                        .and_then(|m| serde_json::to_value(m).ok())
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_else(|| "method unknown".to_string()),
                    if r.streams_is_lower_bound {
                        ", a lower bound"
                    } else {
                        ""
                    }
                ),
            ),
            None => {
                let e = economics::evaluate_facts(&facts, rig)?;
                let s = e.capacity.streams_sustained;
                estimated.push(format!(
                    "node {}'s capacity {s} streams is extrapolated from its run by economics' capacity method ({:?}): fleet.json has none (merged without --rig)",
                    r.node, e.capacity.method
                ));
                (
                    s,
                    format!("extrapolated from its run ({:?})", e.capacity.method),
                )
            }
        };
        nodes.push(FleetNode {
            node: r.node.clone(),
            host: r.host.clone(),
            streams,
            capacity_note,
            latency_p50_seconds: p50,
            latency_p95_seconds: p95,
            latency_sessions: r.latency_sessions.unwrap_or(0),
            facts,
        });
    }
    if nodes.is_empty() {
        return Err(super::input(format!(
            "--fleet {file}: no node is complete, so the fleet has no capacity to simulate ({}): re-run those nodes and merge again",
            left_out.join("; ")
        )));
    }
    Ok(FleetInput {
        file: file.to_string(),
        nodes_in_file: u32::try_from(fleet.nodes.len()).unwrap_or(u32::MAX),
        nodes,
        left_out,
        estimated,
    })
}

/// Billed output pixels per stream-second of the fleet's ladder, from the first node's run;
/// a note when another node's run differs by more than 1% (the same ladder should not).
pub fn pixels_per_stream_second(f: &FleetInput) -> Result<(f64, Option<String>), MarketError> {
    let per = |n: &FleetNode| {
        (n.facts.source_seconds > 0.0 && n.facts.output_pixels > 0)
            .then(|| n.facts.output_pixels as f64 / n.facts.source_seconds)
    };
    let first = &f.nodes[0];
    let p = per(first).ok_or_else(|| {
        super::input(format!(
            "--fleet {}: node {}'s run transcoded nothing (0 source seconds or 0 output pixels)",
            f.file, first.node
        ))
    })?;
    let odd: Vec<String> = f
        .nodes
        .iter()
        .filter_map(|n| per(n).map(|q| (n, q)))
        .filter(|(_, q)| (q - p).abs() > 0.01 * p)
        .map(|(n, q)| format!("{} {q:.0}", n.node))
        .collect();
    let note = (!odd.is_empty()).then(|| {
        format!(
            "pixels per stream-second from node {} ({p:.0}); other nodes' runs measured {}",
            first.node,
            odd.join(", ")
        )
    });
    Ok((p, note))
}

/// Each node as an orchestrator (priced, placed and costed by [`this_rig_for`]), the rig
/// file's stake split across them in proportion to capacity.
pub(super) fn rigs(
    req: &MarketRequest,
    f: &FleetInput,
    pixels_per_stream_second: f64,
    estimated: &mut Vec<String>,
) -> Result<Vec<ThisRig>, MarketError> {
    if req.rig.is_none() {
        return Err(super::input(
            "--fleet needs --rig: the rig file prices every node and holds the fleet's stake",
        ));
    }
    estimated.extend(f.estimated.iter().cloned());
    let total: u32 = f.nodes.iter().map(|n| n.streams).sum();
    let mut out = Vec::with_capacity(f.nodes.len());
    for n in &f.nodes {
        let cap = CapacityInput::Node(Box::new(n.clone()));
        let Some(mut r) = this_rig_for(req, &cap, pixels_per_stream_second, estimated)? else {
            return Err(super::input("--fleet needs --rig"));
        };
        let w = stake_weight(n.streams, total, f.nodes.len());
        r.agent.name = n.node.clone();
        r.agent.own_stake_lpt *= w;
        r.agent.delegated_stake_lpt *= w;
        r.inputs.name = n.node.clone();
        r.inputs.own_stake_lpt = r.agent.own_stake_lpt;
        r.inputs.delegated_stake_lpt = r.agent.delegated_stake_lpt;
        r.inputs.stake_source = format!(
            "{}, {:.1}% of it (its share of the fleet's capacity)",
            r.inputs.stake_source,
            w * 100.0
        );
        out.push(r);
    }
    Ok(out)
}

/// A node's share of the fleet's stake: its share of the capacity, or an even share when the
/// fleet's capacity is 0.
pub fn stake_weight(streams: u32, total: u32, nodes: usize) -> f64 {
    if total > 0 {
        f64::from(streams) / f64::from(total)
    } else {
        1.0 / nodes.max(1) as f64
    }
}

/// "fleet of 1 node", "fleet of 3 nodes".
pub fn fleet_name(nodes: usize) -> String {
    format!("fleet of {nodes} node{}", if nodes == 1 { "" } else { "s" })
}

/// The fleet as one "this rig" for the summary, the sweep and the sensitivity grid: capacity
/// and stake summed, latency the capacity-weighted mean. Costs stay per node.
pub(super) fn aggregate(f: &FleetInput, nodes: &[ThisRig]) -> ThisRig {
    let mut agg = nodes[0].clone();
    let cap: u32 = nodes.iter().map(|r| r.agent.capacity_streams).sum();
    let weight = |r: &ThisRig| {
        if cap > 0 {
            f64::from(r.agent.capacity_streams) / f64::from(cap)
        } else {
            1.0 / nodes.len() as f64
        }
    };
    let wmean = |g: &dyn Fn(&ThisRig) -> f64| nodes.iter().map(|r| weight(r) * g(r)).sum::<f64>();
    let name = fleet_name(nodes.len());
    agg.agent.name = name.clone();
    agg.agent.capacity_streams = cap;
    agg.agent.own_stake_lpt = nodes.iter().map(|r| r.agent.own_stake_lpt).sum();
    agg.agent.delegated_stake_lpt = nodes.iter().map(|r| r.agent.delegated_stake_lpt).sum();
    agg.agent.latency_p50_seconds = wmean(&|r| r.agent.latency_p50_seconds);
    agg.agent.latency_p95_seconds = wmean(&|r| r.agent.latency_p95_seconds);
    let i = &mut agg.inputs;
    i.name = name;
    i.capacity_streams = cap;
    i.capacity_source = format!(
        "{}: {} complete nodes, each its own orchestrator{}",
        f.file,
        nodes.len(),
        if f.left_out.is_empty() {
            String::new()
        } else {
            format!(" ({} left out: not complete)", f.left_out.len())
        }
    );
    i.latency_p50_seconds = agg.agent.latency_p50_seconds;
    i.latency_p95_seconds = agg.agent.latency_p95_seconds;
    i.latency_source = "capacity-weighted mean of the nodes' own runs (each node is placed with its own: see fleet.nodes)".to_string();
    i.own_stake_lpt = agg.agent.own_stake_lpt;
    i.delegated_stake_lpt = agg.agent.delegated_stake_lpt;
    i.stake_source = format!(
        "{}, split across the nodes in proportion to capacity",
        nodes[0]
            .inputs
            .stake_source
            .split(", ")
            .next()
            .unwrap_or_default()
    );
    i.cost_basis = format!(
        "each node's own run priced by the rig file, one cost line per node (first node: {})",
        nodes[0].inputs.cost_basis
    );
    agg.costs = None;
    agg
}

/// market.json's `fleet`: the fleet's figures and each node's (from `per_node(k)`, the k-th
/// node's figures and profit).
pub(super) fn projection(
    f: &FleetInput,
    nodes: &[ThisRig],
    fleet: &RigFigures,
    profit: Option<&ProfitFigures>,
    per_node: impl Fn(usize) -> (RigFigures, Option<ProfitFigures>),
) -> FleetProjection {
    FleetProjection {
        fleet_file: f.file.clone(),
        model: MODEL.to_string(),
        nodes_in_file: f.nodes_in_file,
        nodes_simulated: u32::try_from(nodes.len()).unwrap_or(u32::MAX),
        nodes_left_out: f.left_out.clone(),
        capacity_streams: nodes.iter().map(|r| r.agent.capacity_streams).sum(),
        demand_share: Spread::of(&fleet.demand_share),
        utilisation: Spread::of(&fleet.utilisation),
        profit_usd_per_day: profit.map(|p| Spread::of(&p.profit)),
        nodes: nodes
            .iter()
            .zip(&f.nodes)
            .enumerate()
            .map(|(k, (r, n))| {
                let (fk, pk) = per_node(k);
                FleetNodeResult {
                    node: n.node.clone(),
                    host: n.host.clone(),
                    capacity_streams: r.agent.capacity_streams,
                    capacity_source: n.capacity_note.clone(),
                    latency_p50_seconds: r.agent.latency_p50_seconds,
                    latency_p95_seconds: r.agent.latency_p95_seconds,
                    stake_lpt: r.agent.stake_lpt(),
                    demand_share: Spread::of(&fk.demand_share),
                    utilisation: Spread::of(&fk.utilisation),
                    streams_served: Spread::of(&fk.streams_served),
                    fees_kept_usd_per_day: Spread::of(&fk.fees_kept_usd_per_day),
                    profit_usd_per_day: pk.map(|p| Spread::of(&p.profit)),
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merge::NodeRow;

    fn facts(throughput_x: f64) -> RunFacts {
        RunFacts {
            partial: false,
            live: false,
            concurrent_sessions: 1,
            renditions_per_stream: 4,
            backend_used: economics::Backend::Cpu,
            realtime_duration_ratio: 0.5,
            throughput_x,
            source_seconds: 10.0,
            output_pixels: 1_000_000,
            mbps_in_per_stream: 4.0,
            mbps_out_per_stream: 7.0,
            p95_to_mean_5min: None,
            power: None,
            power_unknown_reason: Some("not metered in this test".into()),
            payments: None,
        }
    }

    fn node(name: &str, status: NodeStatus, streams: Option<u32>, run: bool) -> NodeRow {
        NodeRow {
            status,
            status_reason: (status != NodeStatus::Ok).then(|| "rigbench exited 3".to_string()),
            streams_sustained: streams,
            latency_p50_seconds: run.then_some(0.4),
            latency_p95_seconds: run.then_some(0.6),
            latency_sessions: run.then_some(1),
            run_facts: run.then(|| facts(3.0)),
            ..NodeRow::unmeasured(name.into(), name.into())
        }
    }

    fn fleet(nodes: Vec<NodeRow>) -> FleetResult {
        FleetResult {
            schema_version: crate::merge::FLEET_SCHEMA_VERSION,
            rigbench_version: "test".into(),
            merged_utc: chrono::DateTime::UNIX_EPOCH,
            source: Default::default(),
            ladder: Vec::new(),
            rig: None,
            groups: Vec::new(),
            totals: crate::merge::totals(&nodes),
            nodes,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn read_cases() {
        let rig = Rig::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rigs/cpu-only.toml"),
        )
        .unwrap();
        type Want = Result<(Vec<(&'static str, u32)>, usize, usize), &'static str>;
        let cases: Vec<(&str, Vec<NodeRow>, Want)> = vec![
            (
                "two complete nodes, one failed",
                vec![
                    node("a", NodeStatus::Ok, Some(3), true),
                    node("b", NodeStatus::Failed, None, false),
                    node("c", NodeStatus::Ok, Some(1), true),
                ],
                Ok((vec![("a", 3), ("c", 1)], 1, 0)),
            ),
            (
                "no capacity in the file: extrapolated, labelled",
                vec![node("a", NodeStatus::Ok, None, true)],
                Ok((vec![("a", u32::MAX)], 0, 1)),
            ),
            (
                "nothing complete",
                vec![
                    node("a", NodeStatus::Partial, Some(3), true),
                    node("b", NodeStatus::Failed, None, false),
                ],
                Err("no node is complete"),
            ),
            (
                "an older fleet.json without run figures",
                vec![node("a", NodeStatus::Ok, Some(2), false)],
                Err("node a has no run figures"),
            ),
        ];
        for (name, nodes, want) in cases {
            let got = read(&fleet(nodes), "f.json", &rig);
            match (got, want) {
                (Ok(f), Ok((streams, left_out, estimated))) => {
                    let got: Vec<(&str, u32)> = f
                        .nodes
                        .iter()
                        .map(|n| (n.node.as_str(), n.streams))
                        .collect();
                    for ((gn, gs), (wn, ws)) in got.iter().zip(&streams) {
                        assert_eq!(gn, wn, "{name}");
                        if *ws != u32::MAX {
                            assert_eq!(gs, ws, "{name}");
                        }
                    }
                    assert_eq!(got.len(), streams.len(), "{name}");
                    assert_eq!(f.left_out.len(), left_out, "{name}");
                    assert_eq!(f.estimated.len(), estimated, "{name}: {:?}", f.estimated);
                    if left_out > 0 {
                        assert!(
                            f.left_out[0].contains("failed: rigbench exited 3"),
                            "{name}"
                        );
                    }
                }
                (Err(e), Err(w)) => {
                    let e = e.to_string();
                    assert!(e.contains(w) && e.contains("f.json"), "{name}: {e}");
                }
                (got, want) => panic!("{name}: {got:?} vs {want:?}"),
            }
        }
    }

    #[test]
    fn pixels_come_from_the_first_node_and_differences_are_noted() {
        let with_pixels = |name: &str, pixels: u64| {
            let mut n = node(name, NodeStatus::Ok, Some(1), true);
            n.run_facts.as_mut().unwrap().output_pixels = pixels;
            n
        };
        let rig = Rig::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rigs/cpu-only.toml"),
        )
        .unwrap();
        let cases: Vec<(Vec<u64>, Option<f64>, bool)> = vec![
            (vec![1000, 1000], Some(100.0), false),
            (vec![1000, 1005], Some(100.0), false),
            (vec![1000, 2000], Some(100.0), true),
            (vec![0, 1000], None, false),
        ];
        for (pixels, want, noted) in cases {
            let nodes = pixels
                .iter()
                .enumerate()
                .map(|(k, p)| with_pixels(&format!("n{k}"), *p))
                .collect();
            let f = read(&fleet(nodes), "f.json", &rig).unwrap();
            match (pixels_per_stream_second(&f), want) {
                (Ok((p, note)), Some(w)) => {
                    assert!((p - w).abs() < 1e-9, "{pixels:?}: {p}");
                    assert_eq!(note.is_some(), noted, "{pixels:?}: {note:?}");
                }
                (Err(e), None) => assert!(e.to_string().contains("transcoded nothing")),
                (got, _) => panic!("{pixels:?}: {got:?}"),
            }
        }
    }

    #[test]
    fn stake_weight_cases() {
        let cases: &[(u32, u32, usize, f64)] = &[
            (3, 4, 2, 0.75),
            (1, 4, 2, 0.25),
            (0, 4, 2, 0.0),
            (0, 0, 4, 0.25),
            (0, 0, 0, 1.0),
        ];
        for &(s, t, n, want) in cases {
            assert!(
                (stake_weight(s, t, n) - want).abs() < 1e-12,
                "{s}/{t} of {n}"
            );
        }
    }
}
