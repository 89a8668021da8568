//! The worked examples of docs/economics.md, number for number.

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
        live: true,
        concurrent_sessions: 3,
        renditions_per_stream: 4,
        backend_used: "nvidia".into(),
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
            face_value_wei: Some(1.8e14),
            gas_per_redemption: Some(180_000),
        }),
    }
}

fn example_b() -> RunFacts {
    RunFacts {
        live: true,
        concurrent_sessions: 2,
        renditions_per_stream: 4,
        backend_used: "cpu".into(),
        realtime_duration_ratio: 1.25,
        throughput_x: 120.0 / 75.0,
        source_seconds: 120.0,
        output_pixels: ladder_pixels_per_second(25) * 120,
        mbps_in_per_stream: 2.5,
        mbps_out_per_stream: 5.0,
        p95_to_mean_5min: None,
        power: Some(PowerFacts {
            components_average_watts: 22.0,
            idle_components_average_watts: None,
            estimated: true,
        }),
        power_unknown_reason: None,
        payments: None,
    }
}

fn example_c() -> RunFacts {
    RunFacts {
        live: false,
        concurrent_sessions: 16,
        renditions_per_stream: 4,
        backend_used: "nvidia".into(),
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

fn example_d() -> RunFacts {
    RunFacts {
        live: true,
        concurrent_sessions: 24,
        renditions_per_stream: 4,
        backend_used: "nvidia".into(),
        realtime_duration_ratio: 0.65,
        throughput_x: 1440.0 / 60.9,
        source_seconds: 1440.0,
        output_pixels: ladder_pixels_per_second(30) * 1440,
        mbps_in_per_stream: 6.0,
        mbps_out_per_stream: 5.6,
        p95_to_mean_5min: None,
        power: Some(PowerFacts {
            components_average_watts: 310.0,
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

#[test]
fn example_a_home_rig_limited_by_the_nvenc_session_cap() {
    let e = evaluate_facts(&example_a(), &rig("home-consumer-gpu.toml")).unwrap();
    let c = &e.capacity;
    assert_eq!(
        (
            c.streams_compute,
            c.streams_nvenc_cap,
            c.streams_bandwidth_cap
        ),
        (3, Some(2), Some(83))
    );
    assert!(c.streams_compute_is_lower_bound);
    assert_eq!(c.streams_sustained, 2);
    assert_eq!(c.limiting_resource, "NVENC session cap");
    close(e.output_pixels_per_stream_hour, 179_729_280_000.0);
    let h = &e.per_rig_hour;
    close(h.fees_gross_usd_per_hour, 1.07837568);
    close(h.fees_operator_usd_per_hour, 0.916619328);
    close(h.gas_usd_per_hour, 0.0107837568);
    close(h.revenue_usd_per_hour, 0.9058355712);
    close_opt(e.power.rig_watts, 195.44444444444446);
    assert_eq!(e.power.status, "measured");
    close_opt(h.power_usd_per_hour, 0.03322555555555556);
    close(h.bandwidth_usd_per_hour, 0.0);
    close(h.hardware_usd_per_hour, 0.04185692541856926);
    close_opt(h.margin_usd_per_hour, 0.8307530902258751);
    close_opt(h.margin_percent, 91.71124612884655);
    close(e.gas.face_value_wei, 1.8e14);
    close(e.gas.winners_per_hour, 1.996992);
    close(e.gas.tickets_per_hour, 44932.32);
    assert_eq!(e.gas.gas_source, "measured");
    close_opt(e.break_even.price_per_pixel_wei, 82.88753871153433);
    close_opt(
        e.break_even.price_usd_per_million_pixels,
        2.48662616134603e-07,
    );
    close_opt(e.payback_months, 1.7268301853671109);
    close(e.income_variance.winners_per_day, 47.927808);
    close(
        e.income_variance.p_day_below_half_expectation,
        4.968597781699264e-05,
    );
    assert!(e.income_variance.warning.is_none());
    assert_eq!(e.verdict.profitable, Some(true));
    assert!(
        e.verdict.line.starts_with("profitable at 1000 wei/pixel: margin $0.831/h per rig (91.7%); limit: NVENC session cap (NVENC cap 8 sessions / 4 renditions per stream = 2 streams; the GPU sustains at least 3)"),
        "{}",
        e.verdict.line
    );
    assert!(e.estimated.is_empty(), "{:?}", e.estimated);
    let per_stream = e.per_stream_hour.unwrap();
    close_opt(per_stream.margin_usd_per_hour, 0.8307530902258751 / 2.0);
}

#[test]
fn example_b_cpu_only_vm_estimated_power_and_gas() {
    let e = evaluate_facts(&example_b(), &rig("cpu-only.toml")).unwrap();
    assert_eq!(e.capacity.streams_sustained, 1);
    assert_eq!(e.capacity.limiting_resource, "CPU");
    assert!(!e.capacity.streams_compute_is_lower_bound);
    close(e.output_pixels_per_stream_hour, 149_774_400_000.0);
    let h = &e.per_rig_hour;
    close(h.fees_gross_usd_per_hour, 0.4493232);
    close(h.gas_usd_per_hour, 0.004493232);
    close(h.revenue_usd_per_hour, 0.444829968);
    close_opt(e.power.rig_watts, 26.38888888888889);
    assert_eq!(e.power.status, "estimated");
    close_opt(h.power_usd_per_hour, 0.003958333333333333);
    close(h.bandwidth_usd_per_hour, 0.0225);
    close(h.hardware_usd_per_hour, 0.0273972602739726);
    close_opt(h.margin_usd_per_hour, 0.390974374392694);
    close_opt(e.break_even.price_per_pixel_wei, 121.07006605118372);
    assert_eq!(e.payback_months, None);
    assert_eq!(e.gas.gas_source, "estimated");
    assert_eq!(e.gas.gas_per_redemption, 1_200_000);
    close(e.gas.face_value_wei, 1.2e15);
    close(e.income_variance.winners_per_day, 2.995488);
    close(
        e.income_variance.p_day_below_half_expectation,
        0.19982320556339594,
    );
    assert_eq!(e.estimated.len(), 2, "{:?}", e.estimated);
    assert!(e.verdict.line.contains("[estimated]"), "{}", e.verdict.line);
    assert!(
        e.verdict
            .line
            .starts_with("profitable at 1000 wei/pixel: margin $0.391/h per rig (87.9%)"),
        "{}",
        e.verdict.line
    );
}

#[test]
fn example_c_rented_cloud_gpu_near_break_even() {
    let e = evaluate_facts(&example_c(), &rig("cloud-rented-gpu.toml")).unwrap();
    assert_eq!(e.capacity.method, "no_live_throughput");
    assert_eq!(e.capacity.streams_sustained, 10);
    close(e.capacity.streams_sold, 7.5);
    close(e.inputs.price_per_pixel_wei, 136.66666666666669);
    assert_eq!(e.inputs.price_source, "fees.price_usd_per_pixel");
    let h = &e.per_rig_hour;
    close(h.fees_gross_usd_per_hour, 0.5526675360000001);
    close(h.revenue_usd_per_hour, 0.5471408606400001);
    assert_eq!(e.power.status, "included");
    close_opt(h.power_usd_per_hour, 0.0);
    close(h.bandwidth_usd_per_hour, 0.189);
    close(h.hardware_usd_per_hour, 0.3410958904109589);
    close_opt(h.margin_usd_per_hour, 0.017044970229041168);
    close_opt(e.break_even.price_per_pixel_wei, 132.40911722700176);
    close_opt(
        e.break_even.price_usd_per_million_pixels,
        3.9722735168100527e-07,
    );
    // Selling less of the capacity sinks it: rent is fixed.
    let u = &e.sensitivity.utilisation;
    assert_eq!(
        u.iter().map(|p| p.share_sold).collect::<Vec<_>>(),
        vec![0.25, 0.5, 0.75, 1.0]
    );
    assert!(
        u[0].margin_usd_per_rig_hour.unwrap() < 0.0 && u[3].margin_usd_per_rig_hour.unwrap() > 0.0
    );
    close_opt(u[2].margin_usd_per_rig_hour, 0.017044970229041168);
}

#[test]
fn example_d_colo_95th_percentile() {
    let e = evaluate_facts(&example_d(), &rig("colo-server.toml")).unwrap();
    assert_eq!(e.capacity.streams_sustained, 24);
    assert_eq!(e.capacity.streams_bandwidth_cap, Some(166));
    close(e.capacity.streams_sold, 14.4);
    close_opt(e.bandwidth.billed_mbps, 144.0);
    let h = &e.per_rig_hour;
    close(h.revenue_usd_per_hour, 5.745585623039999);
    close_opt(e.power.rig_watts, 331.70212765957444);
    close_opt(h.power_usd_per_hour, 0.03980425531914893);
    close(h.bandwidth_usd_per_hour, 0.06904109589041095);
    close(h.hardware_usd_per_hour, 0.2568493150684932);
    close_opt(h.margin_usd_per_hour, 5.379890956761947);
    close_opt(e.break_even.price_per_pixel_wei, 63.64793604530141);
    close_opt(e.payback_months, 2.1872157539173087);
}

#[test]
fn example_e_l1_redemption_warns_of_long_waits() {
    let mut r = rig("cpu-only.toml");
    r.set("chain.chain=l1").unwrap();
    r.set("chain.gas_price_gwei=30").unwrap();
    let e = evaluate_facts(&example_b(), &r).unwrap();
    assert_eq!(e.gas.gas_per_redemption, 350_000);
    close(e.gas.face_value_wei, 1.05e18);
    close(e.gas.face_value_usd, 3150.0);
    close_opt(
        e.income_variance.expected_days_between_wins,
        292.10599408176563,
    );
    close(
        e.income_variance.p_day_below_half_expectation,
        0.9965824383462796,
    );
    let w = e.income_variance.warning.unwrap();
    assert!(w.contains("one win every 292.1 days"), "{w}");
    // The margin is unchanged: gas stays ~1% of fees by construction of faceValue.
    close_opt(e.per_rig_hour.margin_usd_per_hour, 0.390974374392694);
}

#[test]
fn capacity_rules() {
    let rig = rig("cpu-only.toml");
    // (live, sessions, ratio, throughput_x) → streams
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
fn bandwidth_port_is_named_when_it_limits() {
    let mut r = rig("home-consumer-gpu.toml");
    r.set("bandwidth.port_mbps=10").unwrap();
    let e = evaluate_facts(&example_a(), &r).unwrap();
    assert_eq!(e.capacity.streams_sustained, 1);
    assert_eq!(e.capacity.limiting_resource, "bandwidth");
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
    assert_eq!(e.power.status, "unknown");
    assert_eq!(e.per_rig_hour.power_usd_per_hour, None);
    assert_eq!(e.per_rig_hour.margin_usd_per_hour, None);
    assert_eq!(e.verdict.profitable, None);
    assert!(
        e.verdict.line.starts_with("unknown: power cost unknown"),
        "{}",
        e.verdict.line
    );
    assert!(e
        .sensitivity
        .margin_usd_per_rig_hour
        .iter()
        .flatten()
        .all(|m| m.is_none()));
    // With declared components but no metering: full load, estimated.
    let e = evaluate_facts(&f, &rig("cpu-only.toml")).unwrap();
    assert_eq!(e.power.status, "estimated");
    close_opt(e.power.rig_watts, (25.0 + 10.0) / 0.9);
}

#[test]
fn not_profitable_names_the_break_even() {
    let mut r = rig("cloud-rented-gpu.toml");
    r.set("utilisation.share_sold=0.25").unwrap();
    let e = evaluate_facts(&example_c(), &r).unwrap();
    assert_eq!(e.verdict.profitable, Some(false));
    let p = e.break_even.price_per_pixel_wei.unwrap();
    assert!(
        e.verdict.line.starts_with(&format!(
            "not profitable: break-even needs {} wei/pixel",
            fmt_sig(p)
        )),
        "{}",
        e.verdict.line
    );
    // At the break-even price the margin is zero.
    r.fees.price_usd_per_pixel = None;
    r.fees.price_per_pixel_wei = Some(p);
    let at = evaluate_facts(&example_c(), &r).unwrap();
    assert!(at.per_rig_hour.margin_usd_per_hour.unwrap().abs() < 1e-12);
}

#[test]
fn missing_price_and_empty_runs_are_errors() {
    let mut r = rig("cpu-only.toml");
    r.fees.price_per_pixel_wei = None;
    let err = evaluate_facts(&example_b(), &r).unwrap_err().to_string();
    assert!(err.contains("fees.price_per_pixel_wei"), "{err}");
    // The run's own price fills in.
    let e = evaluate_facts(&example_a(), &r).unwrap();
    assert_eq!(e.inputs.price_source, "run payments (price_per_pixel_wei)");
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
fn sensitivity_grid_shape_and_monotonicity() {
    let e = evaluate_facts(&example_b(), &rig("cpu-only.toml")).unwrap();
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
    // Normal approximation far out: half the mass below the mean.
    let p = poisson_cdf_below(4e6 + 0.5, 4e6);
    assert!((p - 0.5).abs() < 1e-3, "{p}");
    assert!(poisson_cdf_below(2e6, 4e6) < 1e-100);
}

#[test]
fn number_formatting() {
    for (v, want) in [
        (1000.0, "1000"),
        (137.4049, "137.4"),
        (82.8875, "82.89"),
        (0.012346, "0.01235"),
        (136.6667, "136.7"),
    ] {
        assert_eq!(fmt_sig(v), want);
    }
}

#[test]
fn run_json_of_another_schema_is_refused() {
    let err = parse_run_json(r#"{"schema_version": 99, "summary": {}}"#, "old/run.json")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("schema_version 99")
            && err.contains("reads schema_version 1")
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
    let err = load_run_json(std::path::Path::new("/nonexistent/run.json"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot read run file /nonexistent/run.json"),
        "{err}"
    );
}

#[test]
#[ignore = "prints the worked examples for docs/economics.md (run with --ignored --nocapture); docs_quote_the_worked_examples_exactly checks them"]
fn print_worked_examples() {
    // `cargo test --lib economics::tests::print_worked_examples -- --nocapture` prints what
    // docs/economics.md quotes.
    let mut e_rig = rig("cpu-only.toml");
    e_rig.set("chain.chain=l1").unwrap();
    e_rig.set("chain.gas_price_gwei=30").unwrap();
    let mut f_rig = rig("cloud-rented-gpu.toml");
    f_rig.set("utilisation.share_sold=0.25").unwrap();
    for (name, f, r) in [
        ("A", example_a(), rig("home-consumer-gpu.toml")),
        ("B", example_b(), rig("cpu-only.toml")),
        ("C", example_c(), rig("cloud-rented-gpu.toml")),
        ("D", example_d(), rig("colo-server.toml")),
        ("E", example_b(), e_rig),
        ("F", example_c(), f_rig),
    ] {
        let e = evaluate_facts(&f, &r).unwrap();
        println!("{name}: {}", e.verdict.line);
        println!("{name}: {}", serde_json::to_string(&e).unwrap());
    }
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
    let usd = |v: f64| format!("${v:.6}/h");
    let mut e_rig = rig("cpu-only.toml");
    e_rig.set("chain.chain=l1").unwrap();
    e_rig.set("chain.gas_price_gwei=30").unwrap();
    let mut f_rig = rig("cloud-rented-gpu.toml");
    f_rig.set("utilisation.share_sold=0.25").unwrap();
    for (name, f, r) in [
        ("A", example_a(), rig("home-consumer-gpu.toml")),
        ("B", example_b(), rig("cpu-only.toml")),
        ("C", example_c(), rig("cloud-rented-gpu.toml")),
        ("D", example_d(), rig("colo-server.toml")),
        ("E", example_b(), e_rig),
        ("F", example_c(), f_rig),
    ] {
        let e = evaluate_facts(&f, &r).unwrap();
        let text = section(name);
        let h = &e.per_rig_hour;
        let mut want = vec![e.verdict.line.clone()];
        if name == "E" {
            let days = e.income_variance.expected_days_between_wins.unwrap();
            want.push(format!("one every {days:.1} days"));
            want.push(format!(
                "P(no win in a given day) = {:.4}",
                e.income_variance.p_day_without_win
            ));
        } else {
            want.push(usd(h.revenue_usd_per_hour));
        }
        let margin = h.margin_usd_per_hour.unwrap();
        want.push(if margin < 0.0 {
            format!("−${:.6}/h", -margin)
        } else {
            usd(margin)
        });
        if !matches!(name, "E" | "F") {
            let p = e.break_even.price_per_pixel_wei.unwrap();
            want.push(format!(
                "{p:.2} wei/pixel ({:.3e} USD per million pixels)",
                usd_mpx(p, &e)
            ));
            want.push(format!("({:.2}%)", h.margin_percent.unwrap()));
            want.push(usd(h.hardware_usd_per_hour));
            want.push(usd(h.bandwidth_usd_per_hour));
            want.push(usd(h.power_usd_per_hour.unwrap()));
        }
        if let Some(m) = e.payback_months {
            want.push(format!("{m:.2} months"));
        }
        for w in want {
            assert!(
                text.contains(&w),
                "docs/economics.md Example {name} lacks `{w}`"
            );
        }
    }
}

fn usd_mpx(wei: f64, e: &Economics) -> f64 {
    wei * 1e6 * e.inputs.eth_usd / WEI_PER_ETH
}

#[test]
fn table_rows_label_estimates_and_unknowns() {
    let e = evaluate_facts(&example_b(), &rig("cpu-only.toml")).unwrap();
    let rows = e.table_rows();
    let get = |label: &str| {
        rows.iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no row {label}: {rows:?}"))
    };
    assert_eq!(
        get("power per rig-hour (estimated)"),
        "$0.0040 (26.4 W, estimated)"
    );
    assert_eq!(get("margin per rig-hour (estimated)"), "$0.3910 (87.9%)");
    assert_eq!(get("verdict"), e.verdict.line);
    let mut r = rig("cpu-only.toml");
    r.power.components.clear();
    let f = RunFacts {
        power: None,
        power_unknown_reason: Some("power unknown for cpu".into()),
        ..example_b()
    };
    let rows = evaluate_facts(&f, &r).unwrap().table_rows();
    assert!(
        rows.iter()
            .any(|(l, v)| l == "power per rig-hour" && v == "unknown (unknown)"),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|(l, v)| l.starts_with("margin per rig-hour") && v == "unknown"),
        "{rows:?}"
    );
}
