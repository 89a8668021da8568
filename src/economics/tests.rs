//! The worked examples of docs/economics.md, number for number, and a table of cases for each
//! step of the pipeline.

use super::*;

fn rig(name: &str) -> Rig {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/rigs")
        .join(name);
    match Rig::load(&path) {
        Ok(r) => r,
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

/// Pixels per second of livepeer_bench's ladder (240p, 360p, 480p, 720p) at `fps`.
fn ladder_pixels_per_second(fps: u64) -> u64 {
    (426 * 240 + 640 * 360 + 854 * 480 + 1280 * 720) * fps
}

#[track_caller]
fn close(got: f64, want: f64) {
    let tol = 1e-9 * want.abs().max(1e-12);
    assert!((got - want).abs() <= tol, "got {got}, want {want}");
}

#[track_caller]
fn close_opt(got: Option<f64>, want: f64) {
    match got {
        Some(g) => close(g, want),
        None => panic!("got None, want {want}"),
    }
}

fn example_a() -> RunFacts {
    RunFacts {
        partial: false,
        live: true,
        concurrent_sessions: 3,
        renditions_per_stream: 4,
        backend_used: Backend::Nvidia,
        realtime_duration_ratio: 0.42,
        throughput_x: 180.0 / 60.6,
        source_seconds: 180.0,
        output_pixels: ladder_pixels_per_second(30) * 180,
        mbps_in_per_stream: 6.0,
        mbps_out_per_stream: 5.6,
        p95_to_mean_5min: None,
        power: Some(PowerFacts {
            components_average_watts: 180.0,
            idle_components_average_watts: Some(45.0),
            estimated: false,
        }),
        power_unknown_reason: None,
        payments: Some(PaymentFacts {
            price_per_pixel_wei: Some(1000.0),
            ticket_ev_wei: Some(8e9),
            face_value_wei: Some(1.2e15),
            win_prob: Some(8e9 / 1.2e15),
            gas_per_redemption: Some(180_000),
        }),
    }
}

/// Pixels a frame of the two-rendition ladder example B searched (P240p30fps16x9 and
/// P144p30fps16x9, both 30 fps).
const LIGHT_LADDER_PIXELS_PER_FRAME: u64 = 426 * 240 + 256 * 144;

/// Example B: the fully validated confirmation run at the searched capacity (3 sessions) of
/// `rigbench capacity --rig fixtures/rigs/cpu-only.toml --transcoding-options
/// P240p30fps16x9,P144p30fps16x9` on this project's 2-core VM (quiet machine, release build),
/// its figures rounded: the run.json that `economics --capacity` prices.
fn example_b() -> RunFacts {
    RunFacts {
        partial: false,
        live: true,
        concurrent_sessions: 3,
        renditions_per_stream: 2,
        backend_used: Backend::Cpu,
        realtime_duration_ratio: 0.94,
        throughput_x: 37.68 / 13.77,
        source_seconds: 37.68,
        // Each rendition delivered 1128 frames.
        output_pixels: LIGHT_LADDER_PIXELS_PER_FRAME * 1128,
        mbps_in_per_stream: 4.48,
        mbps_out_per_stream: 2.0,
        p95_to_mean_5min: None,
        power: Some(PowerFacts {
            components_average_watts: 24.1,
            idle_components_average_watts: None,
            estimated: true,
        }),
        power_unknown_reason: None,
        payments: Some(PaymentFacts {
            price_per_pixel_wei: Some(1000.0),
            ticket_ev_wei: Some(8e9),
            face_value_wei: Some(1.2e15),
            win_prob: Some(8e9 / 1.2e15),
            gas_per_redemption: Some(79_324),
        }),
    }
}

fn example_c() -> RunFacts {
    RunFacts {
        partial: false,
        live: false,
        concurrent_sessions: 16,
        renditions_per_stream: 4,
        backend_used: Backend::Nvidia,
        realtime_duration_ratio: 1.28,
        throughput_x: 960.0 / 76.8,
        source_seconds: 960.0,
        output_pixels: ladder_pixels_per_second(30) * 960,
        mbps_in_per_stream: 6.0,
        mbps_out_per_stream: 5.6,
        p95_to_mean_5min: None,
        power: Some(PowerFacts {
            components_average_watts: 95.0,
            idle_components_average_watts: None,
            estimated: false,
        }),
        power_unknown_reason: None,
        payments: Some(PaymentFacts {
            gas_per_redemption: Some(180_000),
            ticket_ev_wei: Some(8e9),
            ..Default::default()
        }),
    }
}

/// Example D (illustrative inputs: no L4 was measured by this project): the confirmation run at
/// the searched capacity, 28 sessions over both GPUs.
fn example_d() -> RunFacts {
    RunFacts {
        partial: false,
        live: true,
        concurrent_sessions: 28,
        renditions_per_stream: 4,
        backend_used: Backend::Nvidia,
        realtime_duration_ratio: 0.79,
        throughput_x: 1680.0 / 61.2,
        source_seconds: 1680.0,
        output_pixels: ladder_pixels_per_second(30) * 1680,
        mbps_in_per_stream: 6.0,
        mbps_out_per_stream: 5.6,
        p95_to_mean_5min: None,
        power: Some(PowerFacts {
            components_average_watts: 330.0,
            idle_components_average_watts: Some(110.0),
            estimated: false,
        }),
        power_unknown_reason: None,
        payments: Some(PaymentFacts {
            gas_per_redemption: Some(180_000),
            ticket_ev_wei: Some(8e9),
            ..Default::default()
        }),
    }
}

/// One probe repeat of a worked example's capacity search: (phase, sessions, repeat,
/// Real-Time Duration Ratio over its judged segments).
type Probe = (crate::capacity::Phase, u32, u32, f64);

/// Example B's search, as measured (the first of the two searches in the README's "Measured
/// here"; its fully validated confirmation run at 3 is what the money rests on).
const B_PROBES: &[Probe] = &[
    (crate::capacity::Phase::Search, 1, 0, 0.3437),
    (crate::capacity::Phase::Search, 2, 0, 0.4433),
    (crate::capacity::Phase::Search, 4, 0, 1.0902),
    (crate::capacity::Phase::Search, 3, 0, 0.5932),
];

/// Example D's search over two identical L4s (illustrative figures): GPU 0 alone, then one
/// confirmation of N × 2 on both.
const D_PROBES: &[Probe] = &[
    (crate::capacity::Phase::PerGpu, 1, 0, 0.064),
    (crate::capacity::Phase::PerGpu, 12, 0, 0.66),
    (crate::capacity::Phase::PerGpu, 24, 0, 1.31),
    (crate::capacity::Phase::PerGpu, 18, 0, 0.98),
    (crate::capacity::Phase::PerGpu, 15, 0, 0.82),
    (crate::capacity::Phase::PerGpu, 15, 1, 0.80),
    (crate::capacity::Phase::PerGpu, 15, 2, 0.83),
    (crate::capacity::Phase::PerGpu, 14, 0, 0.77),
    (crate::capacity::Phase::PerGpu, 14, 1, 0.79),
    (crate::capacity::Phase::ConfirmTotal, 28, 0, 0.79),
    (crate::capacity::Phase::ConfirmTotal, 28, 1, 0.78),
];

/// A worked example's capacity search: its probes, GPUs and the limits' other inputs.
struct SearchCase {
    probes: &'static [Probe],
    /// GPU names (identical names: one searched alone, the total confirmed).
    gpus: &'static [&'static str],
    max_sessions: u32,
    /// (host memory, rigbench's RSS before the probe, peak RSS per session), bytes.
    memory: Option<(u64, u64, f64)>,
}

/// Replays a search through the real search plan and limits, as `rigbench capacity` does, and
/// returns what `rigbench economics --capacity capacity.json` prices, with the plan.
fn replay_search(
    case: &SearchCase,
    f: &RunFacts,
    rig: &Rig,
) -> (
    CapacitySource,
    crate::capacity::PlanOutcome,
    Vec<crate::capacity::limits::Limit>,
) {
    use crate::capacity::{limits, search, GpuDesc};
    let settings = search::SearchSettings {
        judge: search::Judge {
            criterion: search::Criterion::Livepeer,
            headroom: REALTIME_RATIO_LIMIT,
        },
        max_sessions: case.max_sessions,
        max_repeats: 3,
        start_sessions: 1,
    };
    let gpus: Vec<GpuDesc> = case
        .gpus
        .iter()
        .enumerate()
        .map(|(i, n)| GpuDesc {
            id: i as u32,
            name: Some(n.to_string()),
        })
        .collect();
    let mut asked = Vec::new();
    let plan = crate::capacity::plan_search(&settings, &gpus, |phase, k, _, repeat| {
        let ratio = case
            .probes
            .iter()
            .find(|p| p.0 == phase && p.1 == k && p.2 == repeat)
            .unwrap_or_else(|| {
                panic!("the search asked for {phase:?} at {k}, repeat {repeat}, after {asked:?}")
            })
            .3;
        asked.push((phase, k, repeat));
        search::ProbeReport::Done(search::ProbeFigures {
            realtime_duration_ratio: ratio,
            p95_segment_ratio: ratio,
            sessions_falling_behind: 0,
            segments_judged: 6 * u64::from(k),
            wall_seconds: 15.0,
            segments_lost: 0,
        })
    });
    let listed: Vec<_> = case.probes.iter().map(|p| (p.0, p.1, p.2)).collect();
    assert_eq!(
        asked, listed,
        "the search ran the probes the docs list, in order"
    );
    let out = &plan.total;
    let n = out.capacity;
    let ratio_at = |k: u32| out.level(k).map(|l| l.median_realtime_duration_ratio);
    let compute_basis = match (ratio_at(n), ratio_at(n + 1)) {
        (Some(a), Some(b)) => format!("median ratio {a:.3} at {n}, {b:.3} at {}", n + 1),
        (Some(a), None) => format!("median ratio {a:.3} at {n}"),
        _ => "no pass".to_string(),
    };
    let inputs = limits::LimitInputs {
        compute_streams: n,
        compute_lower_bound: !out.complete() || out.bound_reached,
        compute_basis,
        nvenc_cap: None,
        renditions_per_stream: f.renditions_per_stream,
        port_mbps: rig.bandwidth.port_mbps,
        mbps_in_per_stream: Some(f.mbps_in_per_stream),
        mbps_out_per_stream: Some(f.mbps_out_per_stream),
        host_memory_bytes: case.memory.map(|m| m.0),
        baseline_rss_bytes: case.memory.map(|m| m.1),
        rss_per_session_bytes: case.memory.map(|m| m.2),
        max_sessions: case.max_sessions,
        max_sessions_reached: out.bound_reached,
        ..Default::default()
    };
    let all = limits::limits(&inputs);
    let binding = limits::binding(&all, inputs.max_sessions_reached).expect("a binding limit");
    let streams = binding.streams.unwrap_or(0).min(n);
    let source = crate::capacity::searched_capacity(
        streams,
        &binding.name,
        &crate::capacity::confidence(out, REALTIME_RATIO_LIMIT, case.max_sessions),
        &match f.backend_used {
            Backend::Nvidia => crate::transcode::Backend::Nvidia,
            Backend::Hybrid => crate::transcode::Backend::Hybrid,
            Backend::Cpu => crate::transcode::Backend::Cpu,
        },
    );
    (source, plan, all)
}

fn b_search() -> SearchCase {
    SearchCase {
        probes: B_PROBES,
        gpus: &[],
        // The default bound on this VM: 4 per logical CPU × 2.
        max_sessions: 8,
        // Measured in the confirmation run: 23.54 GiB, 0.23 GiB before it, 0.11 GiB a session.
        memory: Some((
            25_275_990_016,
            249_487_360,
            (593_829_888.0 - 249_487_360.0) / 3.0,
        )),
    }
}

fn d_search() -> SearchCase {
    SearchCase {
        probes: D_PROBES,
        gpus: &["NVIDIA L4", "NVIDIA L4"],
        max_sessions: 64,
        memory: None,
    }
}

/// A worked example: its name, the run it prices, the rig and the overrides (a searched
/// capacity where the example has one).
struct Example {
    name: &'static str,
    facts: RunFacts,
    rig: Rig,
    overrides: Overrides,
}

/// The eight worked examples. B, D, E and H price a capacity search; A and G are NVENC-capped
/// (the cap binds whatever the GPU sustains); C and F price a `--no-live` throughput.
fn examples() -> Vec<Example> {
    let searched = |f: &RunFacts, r: &Rig, case: SearchCase| Overrides {
        capacity: replay_search(&case, f, r).0,
        ..Overrides::default()
    };
    let ex = |name, facts: RunFacts, rig: Rig, case: Option<SearchCase>| Example {
        name,
        overrides: case.map_or_else(Overrides::default, |c| searched(&facts, &rig, c)),
        facts,
        rig,
    };
    let mut e_rig = rig("cpu-only.toml");
    e_rig.set("chain.chain=l1").unwrap();
    e_rig.set("chain.gas_price_gwei=30").unwrap();
    let mut f_rig = rig("cloud-rented-gpu.toml");
    f_rig.set("utilisation.share_sold=0.25").unwrap();
    vec![
        ex("A", example_a(), rig("home-consumer-gpu.toml"), None),
        ex("B", example_b(), rig("cpu-only.toml"), Some(b_search())),
        ex("C", example_c(), rig("cloud-rented-gpu.toml"), None),
        ex("D", example_d(), rig("colo-server.toml"), Some(d_search())),
        ex("E", example_b(), e_rig, Some(b_search())),
        ex("F", example_c(), f_rig, None),
        ex("G", example_a(), rig("home-staked.toml"), None),
        ex(
            "H",
            example_d(),
            rig("large-orchestrator.toml"),
            Some(d_search()),
        ),
    ]
}

fn example(name: &str) -> Example {
    examples()
        .into_iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no example {name}"))
}

#[test]
#[ignore = "prints the figures docs/economics.md quotes: cargo test --lib economics::tests::print -- --ignored --nocapture"]
fn print_worked_examples() {
    for x in examples() {
        let e = evaluate_facts_with(&x.facts, &x.rig, &x.overrides).unwrap();
        println!("{}: {}", x.name, serde_json::to_string_pretty(&e).unwrap());
    }
}

/// (example, JSON pointer into its `Economics`, figure) for every figure docs/economics.md
/// quotes; None = absent (no stake, no payback).
const FIGURES: &[(&str, &str, Option<f64>)] = &[
    ("A", "/capacity/streams_sustained", Some(2.0)),
    ("A", "/capacity/streams_sold", Some(2.0)),
    ("A", "/inputs/price_per_pixel_wei", Some(1000.0)),
    ("A", "/inputs/price_charged_per_pixel_wei", Some(1010.0)),
    ("A", "/output_pixels_per_stream_hour", Some(179729280000.0)),
    (
        "A",
        "/per_rig_hour/fees_gross_usd_per_hour",
        Some(1.0891594368),
    ),
    (
        "A",
        "/per_rig_hour/fees_operator_usd_per_hour",
        Some(1.0891594368),
    ),
    ("A", "/per_rig_hour/gas_usd_per_hour", Some(0.011799227232)),
    (
        "A",
        "/per_rig_hour/withdraw_gas_usd_per_hour",
        Some(4.464285714285714e-05),
    ),
    (
        "A",
        "/per_rig_hour/revenue_usd_per_hour",
        Some(1.0773155667108572),
    ),
    (
        "A",
        "/per_rig_hour/power_usd_per_hour",
        Some(0.03322555555555556),
    ),
    ("A", "/per_rig_hour/bandwidth_usd_per_hour", Some(0.0)),
    (
        "A",
        "/per_rig_hour/hardware_usd_per_hour",
        Some(0.04185692541856926),
    ),
    (
        "A",
        "/per_rig_hour/margin_usd_per_hour",
        Some(1.0022330857367323),
    ),
    ("A", "/per_rig_hour/margin_percent", Some(93.03059537110761)),
    ("A", "/power/rig_watts", Some(195.44444444444446)),
    ("A", "/fee_split/operator_share", Some(1.0)),
    ("A", "/gas/face_value_wei", Some(1200000000000000.0)),
    ("A", "/gas/win_prob", Some(6.666666666666667e-06)),
    ("A", "/gas/gas_usd_per_redemption", Some(0.039)),
    ("A", "/gas/winners_per_hour", Some(0.302544288)),
    ("A", "/gas/tickets_per_hour", Some(45381.6432)),
    (
        "A",
        "/break_even/price_per_pixel_wei",
        Some(69.7325956203563),
    ),
    ("A", "/payback_months", Some(1.4432178250619805)),
    ("A", "/income_variance/winners_per_day", Some(7.261062912)),
    (
        "A",
        "/income_variance/p_day_below_half_expectation",
        Some(0.06913114904386239),
    ),
    ("A", "/rewards/mintable_lpt_per_round", None),
    ("A", "/rewards/orchestrator_lpt_per_round", None),
    ("A", "/rewards/operator_share", None),
    ("A", "/rewards/operator_lpt_per_round", None),
    ("A", "/rewards/rounds_per_day", None),
    ("A", "/rewards/rewards_usd_per_hour", None),
    ("A", "/rewards/reward_gas_usd_per_hour", None),
    ("A", "/rewards/rewards_net_usd_per_hour", None),
    ("A", "/per_rig_hour/margin_with_staking_usd_per_hour", None),
    ("B", "/capacity/streams_sustained", Some(3.0)),
    ("B", "/capacity/streams_sold", Some(3.0)),
    ("B", "/inputs/price_per_pixel_wei", Some(1000.0)),
    ("B", "/inputs/price_charged_per_pixel_wei", Some(1010.0)),
    (
        "B",
        "/output_pixels_per_stream_hour",
        Some(14991335541.401276),
    ),
    (
        "B",
        "/per_rig_hour/fees_gross_usd_per_hour",
        Some(0.1362712400713376),
    ),
    (
        "B",
        "/per_rig_hour/fees_operator_usd_per_hour",
        Some(0.1362712400713376),
    ),
    (
        "B",
        "/per_rig_hour/gas_usd_per_hour",
        Some(0.0014762717674394908),
    ),
    (
        "B",
        "/per_rig_hour/withdraw_gas_usd_per_hour",
        Some(4.464285714285714e-05),
    ),
    (
        "B",
        "/per_rig_hour/revenue_usd_per_hour",
        Some(0.13475032544675522),
    ),
    (
        "B",
        "/per_rig_hour/power_usd_per_hour",
        Some(0.006070289278131636),
    ),
    (
        "B",
        "/per_rig_hour/bandwidth_usd_per_hour",
        Some(0.027000000000000003),
    ),
    (
        "B",
        "/per_rig_hour/hardware_usd_per_hour",
        Some(0.0273972602739726),
    ),
    (
        "B",
        "/per_rig_hour/margin_usd_per_hour",
        Some(0.07428277589465099),
    ),
    ("B", "/per_rig_hour/margin_percent", Some(55.12623116001514)),
    ("B", "/power/rig_watts", Some(40.46859518754424)),
    ("B", "/fee_split/operator_share", Some(1.0)),
    ("B", "/gas/face_value_wei", Some(1200000000000000.0)),
    ("B", "/gas/win_prob", Some(6.666666666666667e-06)),
    ("B", "/gas/gas_usd_per_redemption", Some(0.039)),
    ("B", "/gas/winners_per_hour", Some(0.037853122242038226)),
    ("B", "/gas/tickets_per_hour", Some(5677.968336305734)),
    (
        "B",
        "/break_even/price_per_pixel_wei",
        Some(448.92026142119107),
    ),
    ("B", "/payback_months", None),
    (
        "B",
        "/income_variance/winners_per_day",
        Some(0.9084749338089174),
    ),
    (
        "B",
        "/income_variance/p_day_below_half_expectation",
        Some(0.40313856845768525),
    ),
    ("B", "/rewards/mintable_lpt_per_round", None),
    ("B", "/rewards/orchestrator_lpt_per_round", None),
    ("B", "/rewards/operator_share", None),
    ("B", "/rewards/operator_lpt_per_round", None),
    ("B", "/rewards/rounds_per_day", None),
    ("B", "/rewards/rewards_usd_per_hour", None),
    ("B", "/rewards/reward_gas_usd_per_hour", None),
    ("B", "/rewards/rewards_net_usd_per_hour", None),
    ("B", "/per_rig_hour/margin_with_staking_usd_per_hour", None),
    ("C", "/capacity/streams_sustained", Some(10.0)),
    ("C", "/capacity/streams_sold", Some(7.5)),
    ("C", "/inputs/price_per_pixel_wei", Some(137.0)),
    ("C", "/inputs/price_charged_per_pixel_wei", Some(138.37)),
    ("C", "/output_pixels_per_stream_hour", Some(179729280000.0)),
    (
        "C",
        "/per_rig_hour/fees_gross_usd_per_hour",
        Some(0.559555660656),
    ),
    (
        "C",
        "/per_rig_hour/fees_operator_usd_per_hour",
        Some(0.559555660656),
    ),
    (
        "C",
        "/per_rig_hour/gas_usd_per_hour",
        Some(0.00606185299044),
    ),
    (
        "C",
        "/per_rig_hour/withdraw_gas_usd_per_hour",
        Some(4.464285714285714e-05),
    ),
    (
        "C",
        "/per_rig_hour/revenue_usd_per_hour",
        Some(0.5534491648084171),
    ),
    ("C", "/per_rig_hour/power_usd_per_hour", Some(0.0)),
    ("C", "/per_rig_hour/bandwidth_usd_per_hour", Some(0.189)),
    (
        "C",
        "/per_rig_hour/hardware_usd_per_hour",
        Some(0.3410958904109589),
    ),
    (
        "C",
        "/per_rig_hour/margin_usd_per_hour",
        Some(0.023353274397458157),
    ),
    ("C", "/per_rig_hour/margin_percent", Some(4.219587973457719)),
    ("C", "/power/rig_watts", Some(60.63829787234043)),
    ("C", "/fee_split/operator_share", Some(1.0)),
    ("C", "/gas/face_value_wei", Some(1200000000000000.0)),
    ("C", "/gas/win_prob", Some(6.666666666666667e-06)),
    ("C", "/gas/gas_usd_per_redemption", Some(0.039)),
    ("C", "/gas/winners_per_hour", Some(0.15543212796)),
    ("C", "/gas/tickets_per_hour", Some(23314.819194)),
    (
        "C",
        "/break_even/price_per_pixel_wei",
        Some(131.21963073815462),
    ),
    ("C", "/payback_months", None),
    ("C", "/income_variance/winners_per_day", Some(3.73037107104)),
    (
        "C",
        "/income_variance/p_day_below_half_expectation",
        Some(0.11345290965316222),
    ),
    ("C", "/rewards/mintable_lpt_per_round", None),
    ("C", "/rewards/orchestrator_lpt_per_round", None),
    ("C", "/rewards/operator_share", None),
    ("C", "/rewards/operator_lpt_per_round", None),
    ("C", "/rewards/rounds_per_day", None),
    ("C", "/rewards/rewards_usd_per_hour", None),
    ("C", "/rewards/reward_gas_usd_per_hour", None),
    ("C", "/rewards/rewards_net_usd_per_hour", None),
    ("C", "/per_rig_hour/margin_with_staking_usd_per_hour", None),
    ("D", "/capacity/streams_sustained", Some(28.0)),
    ("D", "/capacity/streams_sold", Some(16.8)),
    ("D", "/inputs/price_per_pixel_wei", Some(1000.0)),
    ("D", "/inputs/price_charged_per_pixel_wei", Some(1010.0)),
    ("D", "/output_pixels_per_stream_hour", Some(179729280000.0)),
    (
        "D",
        "/per_rig_hour/fees_gross_usd_per_hour",
        Some(9.14893926912),
    ),
    (
        "D",
        "/per_rig_hour/fees_operator_usd_per_hour",
        Some(9.14893926912),
    ),
    (
        "D",
        "/per_rig_hour/gas_usd_per_hour",
        Some(0.09911350874880001),
    ),
    (
        "D",
        "/per_rig_hour/withdraw_gas_usd_per_hour",
        Some(4.464285714285714e-05),
    ),
    (
        "D",
        "/per_rig_hour/revenue_usd_per_hour",
        Some(9.049781117514057),
    ),
    (
        "D",
        "/per_rig_hour/power_usd_per_hour",
        Some(0.041443404255319144),
    ),
    (
        "D",
        "/per_rig_hour/bandwidth_usd_per_hour",
        Some(0.08054794520547945),
    ),
    (
        "D",
        "/per_rig_hour/hardware_usd_per_hour",
        Some(0.2568493150684932),
    ),
    (
        "D",
        "/per_rig_hour/margin_usd_per_hour",
        Some(8.670940452984764),
    ),
    ("D", "/per_rig_hour/margin_percent", Some(95.81381406235205)),
    ("D", "/power/rig_watts", Some(345.36170212765956)),
    ("D", "/fee_split/operator_share", Some(1.0)),
    ("D", "/gas/face_value_wei", Some(1200000000000000.0)),
    ("D", "/gas/win_prob", Some(6.666666666666667e-06)),
    ("D", "/gas/gas_usd_per_redemption", Some(0.039)),
    ("D", "/gas/winners_per_hour", Some(2.5413720192)),
    ("D", "/gas/tickets_per_hour", Some(381205.80288)),
    (
        "D",
        "/break_even/price_per_pixel_wei",
        Some(41.86658587898534),
    ),
    ("D", "/payback_months", Some(1.3809428137974638)),
    ("D", "/income_variance/winners_per_day", Some(60.9929284608)),
    (
        "D",
        "/income_variance/p_day_below_half_expectation",
        Some(8.469368433191919e-06),
    ),
    ("D", "/rewards/mintable_lpt_per_round", None),
    ("D", "/rewards/orchestrator_lpt_per_round", None),
    ("D", "/rewards/operator_share", None),
    ("D", "/rewards/operator_lpt_per_round", None),
    ("D", "/rewards/rounds_per_day", None),
    ("D", "/rewards/rewards_usd_per_hour", None),
    ("D", "/rewards/reward_gas_usd_per_hour", None),
    ("D", "/rewards/rewards_net_usd_per_hour", None),
    ("D", "/per_rig_hour/margin_with_staking_usd_per_hour", None),
    ("E", "/capacity/streams_sustained", Some(3.0)),
    ("E", "/capacity/streams_sold", Some(3.0)),
    ("E", "/inputs/price_per_pixel_wei", Some(1000.0)),
    ("E", "/inputs/price_charged_per_pixel_wei", Some(1010.0)),
    (
        "E",
        "/output_pixels_per_stream_hour",
        Some(14991335541.401276),
    ),
    (
        "E",
        "/per_rig_hour/fees_gross_usd_per_hour",
        Some(0.1362712400713376),
    ),
    (
        "E",
        "/per_rig_hour/fees_operator_usd_per_hour",
        Some(0.1362712400713376),
    ),
    (
        "E",
        "/per_rig_hour/gas_usd_per_hour",
        Some(0.001362712400713376),
    ),
    (
        "E",
        "/per_rig_hour/withdraw_gas_usd_per_hour",
        Some(0.08035714285714286),
    ),
    (
        "E",
        "/per_rig_hour/revenue_usd_per_hour",
        Some(0.05455138481348136),
    ),
    (
        "E",
        "/per_rig_hour/power_usd_per_hour",
        Some(0.006070289278131636),
    ),
    (
        "E",
        "/per_rig_hour/bandwidth_usd_per_hour",
        Some(0.027000000000000003),
    ),
    (
        "E",
        "/per_rig_hour/hardware_usd_per_hour",
        Some(0.0273972602739726),
    ),
    (
        "E",
        "/per_rig_hour/margin_usd_per_hour",
        Some(-0.00591616473862288),
    ),
    (
        "E",
        "/per_rig_hour/margin_percent",
        Some(-10.845122921903917),
    ),
    ("E", "/power/rig_watts", Some(40.46859518754424)),
    ("E", "/fee_split/operator_share", Some(1.0)),
    ("E", "/gas/face_value_wei", Some(1.05e+18)),
    ("E", "/gas/win_prob", Some(7.61904761904762e-09)),
    ("E", "/gas/gas_usd_per_redemption", Some(31.5)),
    ("E", "/gas/winners_per_hour", Some(4.326071113375797e-05)),
    ("E", "/gas/tickets_per_hour", Some(5677.968336305734)),
    (
        "E",
        "/break_even/price_per_pixel_wei",
        Some(1043.85315621461),
    ),
    ("E", "/payback_months", None),
    (
        "E",
        "/income_variance/winners_per_day",
        Some(0.0010382570672101913),
    ),
    (
        "E",
        "/income_variance/p_day_below_half_expectation",
        Some(0.9989622817351707),
    ),
    ("E", "/rewards/mintable_lpt_per_round", None),
    ("E", "/rewards/orchestrator_lpt_per_round", None),
    ("E", "/rewards/operator_share", None),
    ("E", "/rewards/operator_lpt_per_round", None),
    ("E", "/rewards/rounds_per_day", None),
    ("E", "/rewards/rewards_usd_per_hour", None),
    ("E", "/rewards/reward_gas_usd_per_hour", None),
    ("E", "/rewards/rewards_net_usd_per_hour", None),
    ("E", "/per_rig_hour/margin_with_staking_usd_per_hour", None),
    ("F", "/capacity/streams_sustained", Some(10.0)),
    ("F", "/capacity/streams_sold", Some(2.5)),
    ("F", "/inputs/price_per_pixel_wei", Some(137.0)),
    ("F", "/inputs/price_charged_per_pixel_wei", Some(138.37)),
    ("F", "/output_pixels_per_stream_hour", Some(179729280000.0)),
    (
        "F",
        "/per_rig_hour/fees_gross_usd_per_hour",
        Some(0.186518553552),
    ),
    (
        "F",
        "/per_rig_hour/fees_operator_usd_per_hour",
        Some(0.186518553552),
    ),
    (
        "F",
        "/per_rig_hour/gas_usd_per_hour",
        Some(0.0020206176634800003),
    ),
    (
        "F",
        "/per_rig_hour/withdraw_gas_usd_per_hour",
        Some(4.464285714285714e-05),
    ),
    (
        "F",
        "/per_rig_hour/revenue_usd_per_hour",
        Some(0.18445329303137714),
    ),
    ("F", "/per_rig_hour/power_usd_per_hour", Some(0.0)),
    ("F", "/per_rig_hour/bandwidth_usd_per_hour", Some(0.063)),
    (
        "F",
        "/per_rig_hour/hardware_usd_per_hour",
        Some(0.3410958904109589),
    ),
    (
        "F",
        "/per_rig_hour/margin_usd_per_hour",
        Some(-0.21964259737958175),
    ),
    (
        "F",
        "/per_rig_hour/margin_percent",
        Some(-119.0776232670558),
    ),
    ("F", "/power/rig_watts", Some(20.21276595744681)),
    ("F", "/fee_split/operator_share", Some(1.0)),
    ("F", "/gas/face_value_wei", Some(1200000000000000.0)),
    ("F", "/gas/win_prob", Some(6.666666666666667e-06)),
    ("F", "/gas/gas_usd_per_redemption", Some(0.039)),
    ("F", "/gas/winners_per_hour", Some(0.05181070932)),
    ("F", "/gas/tickets_per_hour", Some(7771.606398)),
    (
        "F",
        "/break_even/price_per_pixel_wei",
        Some(300.0968698705916),
    ),
    ("F", "/payback_months", None),
    ("F", "/income_variance/winners_per_day", Some(1.24345702368)),
    (
        "F",
        "/income_variance/p_day_below_half_expectation",
        Some(0.2883855370713251),
    ),
    ("F", "/rewards/mintable_lpt_per_round", None),
    ("F", "/rewards/orchestrator_lpt_per_round", None),
    ("F", "/rewards/operator_share", None),
    ("F", "/rewards/operator_lpt_per_round", None),
    ("F", "/rewards/rounds_per_day", None),
    ("F", "/rewards/rewards_usd_per_hour", None),
    ("F", "/rewards/reward_gas_usd_per_hour", None),
    ("F", "/rewards/rewards_net_usd_per_hour", None),
    ("F", "/per_rig_hour/margin_with_staking_usd_per_hour", None),
    ("G", "/capacity/streams_sustained", Some(2.0)),
    ("G", "/capacity/streams_sold", Some(2.0)),
    ("G", "/inputs/price_per_pixel_wei", Some(1000.0)),
    ("G", "/inputs/price_charged_per_pixel_wei", Some(1010.0)),
    ("G", "/output_pixels_per_stream_hour", Some(179729280000.0)),
    (
        "G",
        "/per_rig_hour/fees_gross_usd_per_hour",
        Some(1.0891594368),
    ),
    (
        "G",
        "/per_rig_hour/fees_operator_usd_per_hour",
        Some(0.8985565353599999),
    ),
    ("G", "/per_rig_hour/gas_usd_per_hour", Some(0.011799227232)),
    (
        "G",
        "/per_rig_hour/withdraw_gas_usd_per_hour",
        Some(4.464285714285714e-05),
    ),
    (
        "G",
        "/per_rig_hour/revenue_usd_per_hour",
        Some(0.886712665270857),
    ),
    (
        "G",
        "/per_rig_hour/power_usd_per_hour",
        Some(0.03322555555555556),
    ),
    ("G", "/per_rig_hour/bandwidth_usd_per_hour", Some(0.0)),
    (
        "G",
        "/per_rig_hour/hardware_usd_per_hour",
        Some(0.04185692541856926),
    ),
    (
        "G",
        "/per_rig_hour/margin_usd_per_hour",
        Some(0.8116301842967322),
    ),
    ("G", "/per_rig_hour/margin_percent", Some(91.5324902964829)),
    ("G", "/power/rig_watts", Some(195.44444444444446)),
    ("G", "/fee_split/operator_share", Some(0.825)),
    ("G", "/gas/face_value_wei", Some(1200000000000000.0)),
    ("G", "/gas/win_prob", Some(6.666666666666667e-06)),
    ("G", "/gas/gas_usd_per_redemption", Some(0.039)),
    ("G", "/gas/winners_per_hour", Some(0.302544288)),
    ("G", "/gas/tickets_per_hour", Some(45381.6432)),
    (
        "G",
        "/break_even/price_per_pixel_wei",
        Some(84.72117809760792),
    ),
    ("G", "/payback_months", Some(1.7655208824080943)),
    ("G", "/income_variance/winners_per_day", Some(7.261062912)),
    (
        "G",
        "/income_variance/p_day_below_half_expectation",
        Some(0.06913114904386239),
    ),
    ("G", "/rewards/mintable_lpt_per_round", Some(20000.0)),
    (
        "G",
        "/rewards/orchestrator_lpt_per_round",
        Some(10.227272727272727),
    ),
    ("G", "/rewards/operator_share", Some(0.65)),
    (
        "G",
        "/rewards/operator_lpt_per_round",
        Some(6.6477272727272725),
    ),
    ("G", "/rewards/rounds_per_day", Some(1.25)),
    (
        "G",
        "/rewards/rewards_usd_per_hour",
        Some(2.0774147727272725),
    ),
    (
        "G",
        "/rewards/reward_gas_usd_per_hour",
        Some(0.0007812499999999999),
    ),
    (
        "G",
        "/rewards/rewards_net_usd_per_hour",
        Some(2.0766335227272723),
    ),
    (
        "G",
        "/per_rig_hour/margin_with_staking_usd_per_hour",
        Some(2.8882637070240045),
    ),
    ("H", "/capacity/streams_sustained", Some(28.0)),
    ("H", "/capacity/streams_sold", Some(16.8)),
    ("H", "/inputs/price_per_pixel_wei", Some(1000.0)),
    ("H", "/inputs/price_charged_per_pixel_wei", Some(1010.0)),
    ("H", "/output_pixels_per_stream_hour", Some(179729280000.0)),
    (
        "H",
        "/per_rig_hour/fees_gross_usd_per_hour",
        Some(9.14893926912),
    ),
    (
        "H",
        "/per_rig_hour/fees_operator_usd_per_hour",
        Some(4.955675437439999),
    ),
    (
        "H",
        "/per_rig_hour/gas_usd_per_hour",
        Some(0.09911350874880001),
    ),
    (
        "H",
        "/per_rig_hour/withdraw_gas_usd_per_hour",
        Some(4.464285714285714e-05),
    ),
    (
        "H",
        "/per_rig_hour/revenue_usd_per_hour",
        Some(4.856517285834056),
    ),
    (
        "H",
        "/per_rig_hour/power_usd_per_hour",
        Some(0.041443404255319144),
    ),
    (
        "H",
        "/per_rig_hour/bandwidth_usd_per_hour",
        Some(0.08054794520547945),
    ),
    (
        "H",
        "/per_rig_hour/hardware_usd_per_hour",
        Some(0.2568493150684932),
    ),
    (
        "H",
        "/per_rig_hour/margin_usd_per_hour",
        Some(4.477676621304765),
    ),
    ("H", "/per_rig_hour/margin_percent", Some(92.19933458006359)),
    ("H", "/power/rig_watts", Some(345.36170212765956)),
    ("H", "/fee_split/operator_share", Some(0.5416666666666666)),
    ("H", "/gas/face_value_wei", Some(1200000000000000.0)),
    ("H", "/gas/win_prob", Some(6.666666666666667e-06)),
    ("H", "/gas/gas_usd_per_redemption", Some(0.039)),
    ("H", "/gas/winners_per_hour", Some(2.5413720192)),
    ("H", "/gas/tickets_per_hour", Some(381205.80288)),
    (
        "H",
        "/break_even/price_per_pixel_wei",
        Some(78.01512941657079),
    ),
    ("H", "/payback_months", Some(2.6040130076321337)),
    ("H", "/income_variance/winners_per_day", Some(60.9929284608)),
    (
        "H",
        "/income_variance/p_day_below_half_expectation",
        Some(8.469368433191919e-06),
    ),
    ("H", "/rewards/mintable_lpt_per_round", Some(20000.0)),
    (
        "H",
        "/rewards/orchestrator_lpt_per_round",
        Some(613.6363636363636),
    ),
    ("H", "/rewards/operator_share", Some(0.175)),
    (
        "H",
        "/rewards/operator_lpt_per_round",
        Some(107.38636363636363),
    ),
    ("H", "/rewards/rounds_per_day", Some(1.25)),
    (
        "H",
        "/rewards/rewards_usd_per_hour",
        Some(33.55823863636363),
    ),
    (
        "H",
        "/rewards/reward_gas_usd_per_hour",
        Some(0.0007812499999999999),
    ),
    (
        "H",
        "/rewards/rewards_net_usd_per_hour",
        Some(33.55745738636363),
    ),
    (
        "H",
        "/per_rig_hour/margin_with_staking_usd_per_hour",
        Some(38.0351340076684),
    ),
];

/// The verdict lines each example quotes: (example, transcoding alone, with staking).
const VERDICTS: &[(&str, &str, Option<&str>)] = &[
    ("A", "transcoding alone: profitable at 1000 wei/pixel: margin $1.002/h per rig (93.0%); limit: NVENC session cap (NVENC cap 8 sessions / 4 renditions per stream = 2 streams; the GPU sustains at least 3)", None),
    ("B", "transcoding alone: profitable at 1000 wei/pixel: margin $0.074/h per rig (55.1%) [estimated]; limit: CPU (measured by a capacity search: 3 streams (CPU binds); 3 sessions passed 1 of 1 repeat (median ratio 0.593); 4 sessions failed 1 of 1 repeat (median ratio 1.090))", None),
    ("C", "transcoding alone: profitable at 137 wei/pixel: margin $0.023/h per rig (4.2%); limit: GPU (--no-live throughput 12.50× real time × 0.8 headroom = 10 streams)", None),
    ("D", "transcoding alone: profitable at 1000 wei/pixel: margin $8.671/h per rig (95.8%) [estimated]; limit: GPU (measured by a capacity search: 28 streams (GPU binds); 28 sessions passed 2 of 2 repeats (median ratio 0.785))", None),
    ("E", "transcoding alone: not profitable: break-even needs 1043.85 wei/pixel (3.132e-6 USD per million pixels) [estimated]; limit: CPU (measured by a capacity search: 3 streams (CPU binds); 3 sessions passed 1 of 1 repeat (median ratio 0.593); 4 sessions failed 1 of 1 repeat (median ratio 1.090)); one win every 963.2 days on average", None),
    ("F", "transcoding alone: not profitable: break-even needs 300.10 wei/pixel (9.003e-7 USD per million pixels); limit: GPU (--no-live throughput 12.50× real time × 0.8 headroom = 10 streams)", None),
    ("G", "transcoding alone: profitable at 1000 wei/pixel: margin $0.812/h per rig (91.5%); limit: NVENC session cap (NVENC cap 8 sessions / 4 renditions per stream = 2 streams; the GPU sustains at least 3)", Some("with staking: profitable: margin $2.888/h per rig (transcoding $0.812/h + rewards $2.077/h net of reward() gas)")),
    ("H", "transcoding alone: profitable at 1000 wei/pixel: margin $4.478/h per rig (92.2%) [estimated]; limit: GPU (measured by a capacity search: 28 streams (GPU binds); 28 sessions passed 2 of 2 repeats (median ratio 0.785))", Some("with staking: profitable: margin $38.035/h per rig (transcoding $4.478/h + rewards $33.557/h net of reward() gas) [estimated]")),
];
fn evaluated(name: &str) -> Economics {
    let x = example(name);
    evaluate_facts_with(&x.facts, &x.rig, &x.overrides).unwrap()
}

#[test]
fn worked_examples_figure_by_figure() {
    for name in examples().into_iter().map(|x| x.name) {
        let json = serde_json::to_value(evaluated(name)).unwrap();
        let mut n = 0;
        for (_, ptr, want) in FIGURES.iter().filter(|(n, _, _)| *n == name) {
            let got = json.pointer(ptr).and_then(|v| v.as_f64());
            match want {
                Some(w) => {
                    let g = got.unwrap_or_else(|| panic!("Example {name} {ptr}: absent"));
                    assert!(
                        (g - w).abs() <= 1e-9 * w.abs().max(1e-12),
                        "Example {name} {ptr}: got {g}, want {w}"
                    );
                }
                None => assert_eq!(got, None, "Example {name} {ptr}"),
            }
            n += 1;
        }
        assert!(n > 30, "Example {name} has {n} figures");
    }
    for (name, alone, staking) in VERDICTS {
        let e = evaluated(name);
        assert_eq!(e.verdict.line, *alone, "Example {name}");
        assert_eq!(
            e.verdict_with_staking.as_ref().map(|v| v.line.as_str()),
            *staking,
            "Example {name}"
        );
    }
}

/// 14991335541 → "14,991,335,541".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// docs/economics.md quotes these results; the README includes that file.
#[test]
fn docs_quote_the_worked_examples_exactly() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/economics.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let section = |name: &str| -> String {
        let start = doc
            .find(&format!("### Example {name}:"))
            .unwrap_or_else(|| panic!("no Example {name}"));
        let rest = &doc[start + 4..];
        let end = rest
            .find("### Example")
            .map(|e| start + 4 + e)
            .unwrap_or(doc.len());
        doc[start..end].to_string()
    };
    let usd = |v: f64| {
        if v < 0.0 {
            format!("−${:.6}/h", -v)
        } else {
            format!("${v:.6}/h")
        }
    };
    for (name, alone, staking) in VERDICTS {
        let e = evaluated(name);
        let text = section(name);
        let h = &e.per_rig_hour;
        let mut want = vec![alone.to_string(), usd(h.revenue_usd_per_hour)];
        want.extend(staking.map(str::to_string));
        want.push(usd(h.margin_usd_per_hour.unwrap()));
        if let Some(p) = e.break_even.price_per_pixel_wei {
            want.push(format!("{p:.2} wei/pixel"));
        }
        if let Some(m) = e.payback_months {
            want.push(format!("{m:.2} months"));
        }
        if let Some(r) = &e.rewards {
            want.push(usd(r.rewards_net_usd_per_hour));
            want.push(usd(h.margin_with_staking_usd_per_hour.unwrap()));
            want.push(format!("{:.4} LPT", r.operator_lpt_per_round));
        }
        if h.fees_delegators_usd_per_hour > 0.0 {
            want.push(usd(h.fees_operator_usd_per_hour));
        }
        want.push(format!("{:.4} a day", e.income_variance.winners_per_day));
        // An example with a table quotes every line of the money and the streams' evidence.
        if text.contains("| quantity | arithmetic | result |") {
            let c = &e.capacity;
            want.push(format!(
                "| streams | {} | **{} ({})**, {} sold |",
                c.evidence,
                c.streams_sustained,
                c.limiting_resource,
                crate::report::money::fmt_sig(c.streams_sold)
            ));
            want.push(format!(
                "| pixels per stream-hour | output pixels / (source seconds / 3600) | {} |",
                thousands(e.output_pixels_per_stream_hour.round() as u64)
            ));
            want.push(format!(
                "{} × {} × $",
                thousands(e.output_pixels_per_stream_hour.round() as u64),
                crate::report::money::fmt_sig(c.streams_sold)
            ));
            for v in [
                h.fees_gross_usd_per_hour,
                h.gas_usd_per_hour,
                h.withdraw_gas_usd_per_hour,
                h.power_usd_per_hour.unwrap(),
                h.bandwidth_usd_per_hour,
                h.hardware_usd_per_hour,
            ] {
                want.push(format!("| {} |", usd(v)));
            }
            want.push(format!(
                "{}; {:.2} W |",
                e.power.basis,
                e.power.rig_watts.unwrap()
            ));
            want.push(format!("| {} |", e.bandwidth.basis));
            want.push(format!("({:.2}%)**", h.margin_percent.unwrap()));
            want.push(format!("{:.6} winners/h", e.gas.winners_per_hour));
        }
        for w in want {
            assert!(
                text.contains(&w),
                "docs/economics.md Example {name} lacks `{w}`"
            );
        }
    }
}

#[test]
fn fee_split_table() {
    // (fee_share, own, total, operator's share of fees)
    let cases = [
        // The issue's case: feeShare 0.85 registered, no own stake: 15% of fees.
        (0.85, 0.0, None, 0.15),
        (0.85, 0.0, Some(1000.0), 0.15),
        (0.0, 0.0, None, 1.0),
        // Own stake is all the stake: everything comes back.
        (0.5, 1000.0, None, 1.0),
        (0.5, 1000.0, Some(1000.0), 1.0),
        (0.25, 3000.0, Some(10_000.0), 0.825),
        (1.0, 250.0, Some(1000.0), 0.25),
    ];
    for (fee_share, own, total, want) in cases {
        let s = rig::StakingSection {
            fee_share,
            own_stake_lpt: own,
            total_stake_lpt: total,
            ..Default::default()
        };
        close(fee_split(&s).operator_share, want);
    }
    let mut r = rig("home-consumer-gpu.toml");
    r.set("staking.fee_share=0.85").unwrap();
    let e = evaluate_facts(&example_a(), &r).unwrap();
    close(
        e.per_rig_hour.fees_operator_usd_per_hour,
        0.15 * e.per_rig_hour.fees_gross_usd_per_hour,
    );
}

#[test]
fn rewards_table() {
    // (own, total, reward cut, treasury cut, operator LPT a round)
    let cases = [
        // 20,000 LPT mintable; 10,000 / 17.6M × 0.9 = 10.2273 LPT for the orchestrator.
        (
            10_000.0,
            10_000.0,
            1.0,
            0.1,
            20_000.0 * 10_000.0 / 17_600_000.0 * 0.9,
        ),
        (
            3_000.0,
            10_000.0,
            0.5,
            0.1,
            20_000.0 * 10_000.0 / 17_600_000.0 * 0.9 * 0.65,
        ),
        (0.0, 10_000.0, 0.0, 0.1, 0.0),
        (
            0.0,
            10_000.0,
            0.2,
            0.0,
            20_000.0 * 10_000.0 / 17_600_000.0 * 0.2,
        ),
    ];
    for (own, total, cut, treasury, want) in cases {
        let mut r = rig("home-staked.toml");
        r.staking.own_stake_lpt = own;
        r.staking.total_stake_lpt = Some(total);
        r.staking.reward_cut = cut;
        r.protocol.treasury_reward_cut = treasury;
        let got = rewards(&r).unwrap();
        close(got.operator_lpt_per_round, want);
        close(got.rounds_per_day, 1.25);
        close(got.rewards_usd_per_hour, want * 6.0 * 1.25 / 24.0);
    }
    // No stake: no reward line, and it says why.
    let why = rewards(&rig("home-consumer-gpu.toml")).unwrap_err();
    assert!(why.contains("no stake"), "{why}");
    let e = evaluated("A");
    assert!(e.rewards.is_none() && e.verdict_with_staking.is_none());
    assert!(e.rewards_note.unwrap().contains("no stake"));
}

#[test]
fn tickets_table() {
    // (chain, gas gwei, redeem_gas_estimate, redemption_gas, measured) →
    // (face value, gas per redemption priced)
    let cases = [
        (
            "arbitrum",
            "0.01",
            None,
            "estimate",
            Some(180_000),
            1.2e15,
            1_200_000,
        ),
        (
            "arbitrum",
            "0.01",
            None,
            "measured",
            Some(180_000),
            1.2e15,
            180_000,
        ),
        (
            "arbitrum", "0.01", None, "measured", None, 1.2e15, 1_200_000,
        ),
        ("l1", "30", None, "estimate", None, 1.05e18, 350_000),
        (
            "arbitrum",
            "0.01",
            Some(600_000),
            "estimate",
            None,
            6e14,
            600_000,
        ),
        // Gas so cheap that EV × 100 sets the face value.
        (
            "arbitrum", "0.000001", None, "estimate", None, 8e11, 1_200_000,
        ),
    ];
    for (chain, gwei, estimate, priced_by, measured, fv, gas) in cases {
        let mut r = rig("cpu-only.toml");
        r.set(&format!("chain.chain={chain}")).unwrap();
        r.set(&format!("chain.gas_price_gwei={gwei}")).unwrap();
        r.set(&format!("chain.redemption_gas={priced_by}")).unwrap();
        if let Some(g) = estimate {
            r.set(&format!("chain.redeem_gas_estimate={g}")).unwrap();
        }
        let f = RunFacts {
            payments: measured.map(|g| PaymentFacts {
                gas_per_redemption: Some(g),
                ..Default::default()
            }),
            ..example_b()
        };
        let t = tickets(&f, &r, &mut Labels::default()).unwrap();
        close(t.gas.face_value_wei, fv);
        assert_eq!(t.gas.gas_per_redemption, gas, "{chain} {priced_by}");
        assert_eq!(t.gas.measured_gas_per_redemption, measured);
        close(t.gas.win_prob, 8e9 / fv);
    }
}

#[test]
fn charged_price_table() {
    let g = |tx: f64, fv: f64| GasCost {
        tx_cost_wei: tx,
        face_value_wei: fv,
        ..evaluated("B").gas
    };
    // (txCost, faceValue, autoAdjustPrice, charged for a base of 1000)
    let cases = [
        (1.2e13, 1.2e15, true, 1010.0),
        (1.2e13, 1.2e15, false, 1000.0),
        // faceValue raised to EV × 100: gas is a smaller share.
        (1.2e6, 8e11, true, 1000.0 * (1.0 + 1.2e6 / 8e11)),
        (0.0, 8e11, true, 1000.0),
    ];
    for (tx, fv, on, want) in cases {
        close(charged_price(1000.0, &g(tx, fv), on), want);
    }
}

#[test]
fn hardware_and_bandwidth_tables() {
    // (ownership override, usd per hour)
    let cases = [
        ("home-consumer-gpu.toml", 1100.0 / 36.0 / 730.0),
        ("cloud-rented-gpu.toml", 249.0 / 730.0),
        ("cpu-only.toml", 20.0 / 730.0),
    ];
    for (name, want) in cases {
        close(hardware(&rig(name)).usd_per_hour, want);
    }
    // (rig, model, bandwidth per rig-hour at the example's streams)
    let cases = [
        ("B", BandwidthModel::PerGb, 3.0 * 0.9 * 0.01),
        ("A", BandwidthModel::Included, 0.0),
        ("D", BandwidthModel::Percentile95, 168.0 * 0.35 / 730.0),
        ("C", BandwidthModel::PerGb, 2.52 * 0.01 * 7.5),
    ];
    for (name, model, want) in cases {
        let e = evaluated(name);
        assert_eq!(e.bandwidth.model, model);
        close(e.per_rig_hour.bandwidth_usd_per_hour, want);
    }
    let mut r = rig("colo-server.toml");
    r.bandwidth.model = BandwidthModel::FlatPort;
    r.bandwidth.port_usd_per_month = Some(400.0);
    let e = evaluate_facts(&example_d(), &r).unwrap();
    close(e.per_rig_hour.bandwidth_usd_per_hour, 400.0 / 730.0);
}

#[test]
fn power_table() {
    // (example, status, wall watts)
    let cases = [
        (
            "A",
            PowerStatus::Measured,
            (45.0 + 135.0 * 2.0 / (180.0 / 60.6) + 40.0) / 0.9,
        ),
        (
            "B",
            PowerStatus::Estimated,
            (24.1 * 3.0 / (37.68 / 13.77) + 10.0) / 0.9,
        ),
        ("C", PowerStatus::Included, 95.0 * 7.5 / 12.5 / 0.94),
    ];
    for (name, status, watts) in cases {
        let e = evaluated(name);
        assert_eq!(e.power.status, status, "{name}");
        close_opt(e.power.rig_watts, watts);
    }
}

#[test]
fn capacity_rules() {
    let rig = rig("cpu-only.toml");
    // (live, sessions, ratio, throughput_x) → (streams, lower bound)
    let cases = [
        (true, 4, 0.80, 4.0, 4, true),
        (true, 4, 0.81, 4.0, 3, false),
        (true, 1, 2.0, 0.5, 0, false),
        (false, 1, 0.3, 3.0, 2, false),
        (false, 1, 0.9, 1.2, 0, false),
    ];
    for (live, c, r, tx, want, lower) in cases {
        let f = RunFacts {
            live,
            concurrent_sessions: c,
            realtime_duration_ratio: r,
            throughput_x: tx,
            ..example_b()
        };
        let e = evaluate_facts(&f, &rig).unwrap();
        assert_eq!(
            (
                e.capacity.streams_sustained,
                e.capacity.streams_compute_is_lower_bound
            ),
            (want, lower),
            "{live} {c} {r} {tx}"
        );
        if want == 0 {
            assert_eq!(e.verdict.profitable, Some(false));
            assert!(
                e.verdict.line.contains("sustains no real-time stream"),
                "{}",
                e.verdict.line
            );
            assert_eq!(e.break_even.price_per_pixel_wei, None);
        }
    }
}

#[test]
fn searched_capacity_and_simulated_share() {
    let o = Overrides {
        capacity: CapacitySource::Searched {
            streams: 5,
            limit: "GPU".into(),
            confidence: "3 of 3 repeats passed at 5, 0 of 3 at 6".into(),
        },
        utilisation: UtilisationSource::Simulated {
            share: 0.4,
            p5: 0.2,
            p95: 0.6,
            note: "10 orchestrators, stake-weighted selection".into(),
        },
    };
    let r = rig("colo-server.toml");
    let e = evaluate_facts_with(&example_d(), &r, &o).unwrap();
    assert_eq!(e.capacity.method, CapacityMethod::Searched);
    assert_eq!(e.capacity.streams_sustained, 5);
    assert!(!e.capacity.streams_compute_is_lower_bound);
    close(e.capacity.streams_sold, 2.0);
    close(e.inputs.utilisation_share_sold, 0.4);
    assert!(e.capacity.source_note.contains("measured by search"));
    assert!(
        e.verdict.line.contains("3 of 3 repeats"),
        "{}",
        e.verdict.line
    );
    let rows = crate::report::money::table_rows(&e);
    assert!(rows
        .iter()
        .any(|(_, v)| v.contains("simulated (p5 20%, p95 60%)")));
    // The default is the old behaviour, labelled.
    let e = evaluate_facts(&example_d(), &r).unwrap();
    assert_eq!(e.capacity.source, CapacitySource::Extrapolated);
    assert!(e.capacity.source_note.contains("extrapolated from one run"));
    // A searched count still meets the NVENC cap.
    let capped = evaluate_facts_with(&example_a(), &rig("home-consumer-gpu.toml"), &o).unwrap();
    assert_eq!(capped.capacity.streams_sustained, 2);
    assert_eq!(capped.capacity.limiting_resource, "NVENC session cap");
    // A simulated share out of order is refused.
    let bad = Overrides {
        utilisation: UtilisationSource::Simulated {
            share: 0.9,
            p5: 0.2,
            p95: 0.6,
            note: String::new(),
        },
        ..Overrides::default()
    };
    assert!(matches!(
        evaluate_facts_with(&example_d(), &r, &bad),
        Err(EconomicsError::BadOverride { .. })
    ));
}

#[test]
fn bandwidth_port_is_named_when_it_limits() {
    let mut r = rig("home-consumer-gpu.toml");
    r.set("bandwidth.port_mbps=10").unwrap();
    let e = evaluate_facts(&example_a(), &r).unwrap();
    assert_eq!(e.capacity.streams_sustained, 1);
    assert_eq!(e.capacity.limiting_resource, "bandwidth");
    assert_eq!(e.verdict.limiting_resource, "bandwidth");
    assert!(
        e.verdict.line.contains("limit: bandwidth"),
        "{}",
        e.verdict.line
    );
}

#[test]
fn unknown_power_stays_unknown() {
    let mut r = rig("cpu-only.toml");
    r.power.components.clear();
    let f = RunFacts {
        power: None,
        power_unknown_reason: Some("power unknown for cpu".into()),
        ..example_b()
    };
    let e = evaluate_facts(&f, &r).unwrap();
    assert_eq!(e.power.status, PowerStatus::Unknown);
    assert_eq!(e.per_rig_hour.power_usd_per_hour, None);
    assert_eq!(e.per_rig_hour.margin_usd_per_hour, None);
    assert_eq!(e.verdict.profitable, None);
    assert!(
        e.verdict
            .line
            .starts_with("transcoding alone: unknown: power cost unknown"),
        "{}",
        e.verdict.line
    );
    assert!(e
        .sensitivity
        .margin_usd_per_rig_hour
        .iter()
        .flatten()
        .all(|m| m.is_none()));
    let e = evaluate_facts(&f, &rig("cpu-only.toml")).unwrap();
    assert_eq!(e.power.status, PowerStatus::Estimated);
    close_opt(e.power.rig_watts, (25.0 + 10.0) / 0.9);
}

#[test]
fn break_even_zeroes_the_margin() {
    // (example) → at the break-even price the margin (transcoding alone) is zero.
    for name in ["A", "B", "C", "D", "F", "G", "H"] {
        let Example {
            facts: f,
            rig: mut r,
            overrides: o,
            ..
        } = example(name);
        let e = evaluate_facts_with(&f, &r, &o).unwrap();
        // The break-even is fractional; price it directly through the model.
        let p = e.break_even.price_per_pixel_wei.unwrap();
        let t = tickets(&f, &r, &mut Labels::default()).unwrap();
        let power = power(
            &f,
            &r,
            e.inputs.electricity_usd_per_kwh,
            &mut Labels::default(),
        );
        let bw = bandwidth(&f, &r, e.capacity.streams_sustained, &mut Labels::default());
        let m = Model {
            pixels_per_stream_hour: e.output_pixels_per_stream_hour,
            streams_sustained: f64::from(e.capacity.streams_sustained),
            eth_usd: e.inputs.eth_usd,
            price_adjustment: e.gas.price_adjustment,
            operator_share: e.fee_split.operator_share,
            gas_usd_per_win: t.gas.gas_usd_per_redemption,
            face_value_wei: t.gas.face_value_wei,
            withdraw_usd_per_hour: t.withdraw_usd_per_hour,
            power: power.model,
            bandwidth: bw.cost,
            hardware_usd_per_hour: e.hardware.usd_per_hour,
            rewards_net_usd_per_hour: None,
        };
        let h = m.hour(
            p,
            e.inputs.electricity_usd_per_kwh,
            e.inputs.utilisation_share_sold,
        );
        assert!(
            h.margin_usd_per_hour.unwrap().abs() < 1e-12,
            "{name}: {h:?}"
        );
        r.fees.price_usd_per_pixel = None;
    }
}

#[test]
fn verdict_table() {
    let v = VerdictInputs {
        streams_sustained: 2,
        limiting_resource: "GPU".into(),
        limit: "limit: GPU (evidence)".into(),
        wait_days: None,
        estimated: false,
        partial: false,
        price_wei: 1000.0,
        eth_usd: 3000.0,
        power_basis: "no sensor".into(),
    };
    let h = |margin: Option<f64>| HourMoney {
        margin_usd_per_hour: margin,
        margin_percent: margin.map(|m| m * 100.0),
        margin_with_staking_usd_per_hour: margin.map(|m| m + 1.0),
        ..evaluated("A").per_rig_hour
    };
    let be = BreakEven {
        price_per_pixel_wei: Some(1500.0),
        price_usd_per_million_pixels: Some(4.5e-6),
        note: None,
    };
    // (streams, estimated, partial, margin, profitable, line starts with)
    let cases = [
        (2, false, false, Some(0.5), Some(true), "transcoding alone: profitable at 1000 wei/pixel: margin $0.500/h per rig (50.0%); limit: GPU"),
        (2, true, false, Some(0.5), Some(true), "transcoding alone: profitable at 1000 wei/pixel: margin $0.500/h per rig (50.0%) [estimated]; limit"),
        (2, false, true, Some(0.5), Some(true), "transcoding alone: profitable at 1000 wei/pixel: margin $0.500/h per rig (50.0%) [partial run]; limit"),
        (2, false, false, Some(-0.5), Some(false), "transcoding alone: not profitable: break-even needs 1500.00 wei/pixel (4.500e-6 USD per million pixels); limit"),
        (2, false, false, None, None, "transcoding alone: unknown: power cost unknown (no sensor)"),
        (0, false, false, Some(0.5), Some(false), "not profitable: the rig sustains no real-time stream"),
    ];
    for (streams, estimated, partial, margin, profitable, line) in cases {
        let vi = VerdictInputs {
            streams_sustained: streams,
            estimated,
            partial,
            ..v.clone()
        };
        let got = verdict(&vi, &h(margin), &be);
        assert_eq!(got.profitable, profitable, "{line}");
        assert!(got.line.starts_with(line), "{} vs {line}", got.line);
        assert_eq!(got.limiting_resource, "GPU");
    }
    // With staking: rewards can carry a rig whose transcoding loses money.
    let r = evaluated("G").rewards.unwrap();
    let s = verdict_with_staking(&v, &h(Some(-0.5)), &r);
    assert_eq!(s.profitable, Some(true));
    assert!(s.line.starts_with("with staking: profitable: margin $0.500/h per rig (transcoding −$0.500/h + rewards $2.077/h"), "{}", s.line);
}

#[test]
fn partial_runs_are_labelled() {
    let f = RunFacts {
        partial: true,
        ..example_a()
    };
    let e = evaluate_facts(&f, &rig("home-consumer-gpu.toml")).unwrap();
    assert!(e.partial_run);
    assert!(
        e.verdict.line.contains("[partial run]"),
        "{}",
        e.verdict.line
    );
    assert!(e.notes.iter().any(|n| n.contains("partial run")));
}

#[test]
fn missing_price_and_empty_runs_are_errors() {
    let mut r = rig("cpu-only.toml");
    r.fees.price_per_pixel_wei = None;
    let unpaid = RunFacts {
        payments: None,
        ..example_b()
    };
    let err = evaluate_facts(&unpaid, &r).unwrap_err().to_string();
    assert!(err.contains("fees.price_per_pixel_wei"), "{err}");
    let e = evaluate_facts(&example_a(), &r).unwrap();
    assert_eq!(e.inputs.price_source, PriceSource::RunPayments);
    let empty = RunFacts {
        output_pixels: 0,
        ..example_b()
    };
    assert!(matches!(
        evaluate_facts(&empty, &rig("cpu-only.toml")),
        Err(EconomicsError::EmptyRun)
    ));
}

#[test]
fn one_price_for_tickets_and_economics() {
    // A USD price becomes whole wei once, for the run's tickets and the economics alike.
    let r = rig("cloud-rented-gpu.toml");
    assert_eq!(r.price_per_pixel_wei(), Some(137.0));
    let e = evaluated("C");
    close(e.inputs.price_per_pixel_wei, 137.0);
    assert_eq!(e.inputs.price_source, PriceSource::RigUsd);
}

#[test]
fn sensitivity_grid_shape_and_monotonicity() {
    let e = evaluated("B");
    let s = &e.sensitivity;
    assert_eq!(
        s.price_per_pixel_wei,
        vec![250.0, 500.0, 1000.0, 2000.0, 4000.0]
    );
    assert_eq!(
        s.electricity_usd_per_kwh,
        vec![0.05, 0.10, 0.15, 0.20, 0.30, 0.40]
    );
    let base = s.margin_usd_per_rig_hour[2][2].unwrap();
    close(base, e.per_rig_hour.margin_usd_per_hour.unwrap());
    for row in &s.margin_usd_per_rig_hour {
        let v: Vec<f64> = row.iter().map(|m| m.unwrap()).collect();
        assert!(
            v.windows(2).all(|w| w[0] > w[1]),
            "dearer power, lower margin: {v:?}"
        );
    }
    let u = &evaluated("C").sensitivity.utilisation;
    assert!(
        u[0].margin_usd_per_rig_hour.unwrap() < 0.0 && u[3].margin_usd_per_rig_hour.unwrap() > 0.0
    );
}

#[test]
fn income_variance_table() {
    // (example, winners a day, warns)
    let cases = [
        ("A", 0.302544288 * 24.0, false),
        // B's fees (1010 wei × its pixels × 3 streams) over L1's faceValue of 1.05e18 wei.
        (
            "E",
            1010.0 * f64::from(426 * 240 + 256 * 144) * 1128.0 * 3600.0 / 37.68 * 3.0 / 1.05e18
                * 24.0,
            true,
        ),
    ];
    for (name, wins, warns) in cases {
        let v = evaluated(name).income_variance;
        close(v.winners_per_day, wins);
        close(v.p_day_without_win, (-wins).exp());
        assert_eq!(v.warning.is_some(), warns, "{name}");
    }
}

#[test]
fn poisson_tail() {
    // (x, λ, P(N < x))
    let cases = [
        (0.5, 1.0, (-1.0f64).exp()),
        (1.5, 3.0, 4.0 * (-3.0f64).exp()),
        (2.0, 4.0, 5.0 * (-4.0f64).exp()),
        (0.0, 1.0, 0.0),
    ];
    for (x, l, want) in cases {
        assert!(
            (poisson_cdf_below(x, l) - want).abs() < 1e-12,
            "x={x} λ={l}"
        );
    }
    let p = poisson_cdf_below(4e6 + 0.5, 4e6);
    assert!((p - 0.5).abs() < 1e-3, "{p}");
    assert!(poisson_cdf_below(2e6, 4e6) < 1e-100);
}

#[test]
fn run_json_of_another_schema_is_refused() {
    let err = parse_run_json(r#"{"schema_version": 99, "summary": {}}"#, "old/run.json")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("schema_version 99")
            && err.contains(&format!(
                "reads schema_version {}",
                crate::result::SCHEMA_VERSION
            ))
            && err.contains("old/run.json"),
        "{err}"
    );
    let err = parse_run_json(r#"{"summary": {}}"#, "x.json")
        .unwrap_err()
        .to_string();
    assert!(err.contains("no `schema_version`"), "{err}");
    let err = parse_run_json("not json", "x.json")
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a rigbench run.json"), "{err}");
}

#[test]
fn table_rows_say_whose_share_and_label_estimates() {
    let rows = crate::report::money::table_rows(&evaluated("G"));
    let get = |prefix: &str| {
        rows.iter()
            .find(|(l, _)| l.starts_with(prefix))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no row {prefix}: {rows:?}"))
    };
    assert!(get("fees kept by the operator").contains("82.5% of fees"));
    assert!(get("rewards per rig-hour (LPT inflation, not fees)").starts_with("$2.0774"));
    assert!(get("gas measured per redemption").contains("simplified TicketBroker"));
    assert!(get("redemption gas").contains("assumed"));
    assert_eq!(
        get("verdict with staking"),
        evaluated("G").verdict_with_staking.unwrap().line
    );
    let rows = crate::report::money::table_rows(&evaluated("B"));
    assert!(rows
        .iter()
        .any(|(l, v)| l == "power per rig-hour (estimated)" && v == "$0.0061 (40.5 W, estimated)"));
    assert!(rows
        .iter()
        .any(|(l, v)| l == "rewards" && v.contains("no stake")));
}

/// The searched examples recomputed by hand from their inputs, apart from the pipeline: the
/// search finds what the docs say, and the money follows from it.
#[test]
fn searched_examples_by_hand() {
    let usd_per_wei = 3000.0 / 1e18;
    let gas_usd_per_win = (1.2e6 * 0.01e9 + 1e12) * usd_per_wei;
    let withdraw = (150_000.0 * 0.01e9 + 1e12) * usd_per_wei / 168.0;
    // (example, streams, ratio at N, ratio at N + 1 (None: not tried at the total), share sold,
    //  pixels per stream-hour, wall watts, power $/kWh, bandwidth $/h, hardware $/h)
    let b_pixels = (426.0 * 240.0 + 256.0 * 144.0) * 1128.0 / (37.68 / 3600.0);
    let d_pixels = 1_664_160.0 * 30.0 * 3600.0;
    let cases = [
        (
            "B",
            3,
            0.5932,
            Some(1.0902),
            1.0,
            b_pixels,
            (24.1 * 3.0 / (37.68 / 13.77) + 10.0) / 0.9,
            0.15,
            3.0 * (2.0 * 3600.0 / 8.0 / 1000.0) * 0.01,
            20.0 / 730.0,
        ),
        (
            "D",
            28,
            0.785,
            None,
            0.6,
            d_pixels,
            (110.0 + 220.0 * 16.8 / (1680.0 / 61.2) + 80.0) / 0.94,
            0.12,
            (28.0f64 * 6.0).max(100.0) * 0.35 / 730.0,
            9000.0 / 48.0 / 730.0,
        ),
    ];
    for (name, streams, at_n, above, share, pixels, watts, kwh, bw, hw) in cases {
        let x = example(name);
        let case = if name == "B" { b_search() } else { d_search() };
        let (_, plan, limits) = replay_search(&case, &x.facts, &x.rig);
        assert_eq!(plan.total.capacity, streams, "{name}");
        // The limits the docs quote beside compute: memory on B, the port on D.
        let limit = |n: &str| limits.iter().find(|l| l.name == n).and_then(|l| l.streams);
        match name {
            "B" => assert_eq!((limit("memory"), limit("bandwidth")), (Some(218), None)),
            _ => assert_eq!((limit("memory"), limit("bandwidth")), (None, Some(166))),
        }
        let level = |k: u32| {
            plan.total
                .level(k)
                .map(|l| l.median_realtime_duration_ratio)
        };
        close_opt(level(streams), at_n);
        match above {
            Some(r) => close_opt(level(streams + 1), r),
            None => assert_eq!(level(streams + 1), None, "{name}"),
        }
        let e = evaluated(name);
        assert_eq!(e.capacity.method, CapacityMethod::Searched, "{name}");
        assert_eq!(e.capacity.streams_sustained, streams, "{name}");
        let sold = f64::from(streams) * share;
        close(e.capacity.streams_sold, sold);
        close(e.output_pixels_per_stream_hour, pixels);
        let fees_wei = 1010.0 * pixels * sold;
        let h = &e.per_rig_hour;
        close(h.fees_gross_usd_per_hour, fees_wei * usd_per_wei);
        let gas = fees_wei / 1.2e15 * gas_usd_per_win;
        close(h.gas_usd_per_hour, gas);
        let revenue = fees_wei * usd_per_wei - gas - withdraw;
        close(h.revenue_usd_per_hour, revenue);
        close_opt(e.power.rig_watts, watts);
        close_opt(h.power_usd_per_hour, watts / 1000.0 * kwh);
        close(h.bandwidth_usd_per_hour, bw);
        close(h.hardware_usd_per_hour, hw);
        close_opt(
            h.margin_usd_per_hour,
            revenue - watts / 1000.0 * kwh - bw - hw,
        );
        close(e.income_variance.winners_per_day, fees_wei / 1.2e15 * 24.0);
    }
    // The docs list every probe of B's and D's searches, with its session count and ratio.
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/economics.md"),
    )
    .unwrap();
    for (name, probes) in [("B", B_PROBES), ("D", D_PROBES)] {
        let start = doc.find(&format!("### Example {name}:")).unwrap();
        let end = doc[start..].find("| quantity |").unwrap() + start;
        let text = &doc[start..end];
        for (_, k, _, ratio) in probes {
            assert!(
                text.contains(&format!("{k} ")) || text.contains(&format!(" {k},")),
                "Example {name} lacks the probe at {k}"
            );
            assert!(
                text.contains(&format!("{ratio:.2}")) || text.contains(&format!("{ratio:.3}")),
                "Example {name} lacks the ratio {ratio} of the probe at {k}"
            );
        }
    }
    // The per-GPU search of D: 14 on GPU 0 alone (15 failed on the median of 3).
    let x = example("D");
    let (_, plan, _) = replay_search(&d_search(), &x.facts, &x.rig);
    let (gpu, one) = &plan.per_gpu_searches[0];
    assert_eq!((*gpu, one.capacity), (0, 14));
    let at15 = one.level(15).unwrap();
    assert_eq!(
        (at15.passed, at15.repeats_run, at15.repeats_passed),
        (false, 3, 1)
    );
    close(at15.median_realtime_duration_ratio, 0.82);
    assert!(plan.method.unwrap().contains("confirmed 14 × 2 = 28"));
    // B's note: the default ladder on this VM, measured: one session fails at 1.88, so 0 streams.
    const DEFAULT_LADDER: &[Probe] = &[(crate::capacity::Phase::Search, 1, 0, 1.8835)];
    let f = RunFacts {
        renditions_per_stream: 4,
        ..example_b()
    };
    let r = rig("cpu-only.toml");
    let case = SearchCase {
        probes: DEFAULT_LADDER,
        ..b_search()
    };
    let o = Overrides {
        capacity: replay_search(&case, &f, &r).0,
        ..Overrides::default()
    };
    let e = evaluate_facts_with(&f, &r, &o).unwrap();
    assert_eq!(e.capacity.streams_sustained, 0);
    assert!(
        e.verdict
            .line
            .contains("not profitable: the rig sustains no real-time stream"),
        "{}",
        e.verdict.line
    );
}
