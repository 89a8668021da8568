use super::*;

fn input(folder: &str, task: Option<TaskMarker>) -> NodeInput {
    NodeInput {
        folder: PathBuf::from(folder),
        run: None,
        task,
        capacity: None,
        log_tail: None,
    }
}

fn task(exit_code: Option<i32>, finished: bool) -> TaskMarker {
    TaskMarker {
        scheduler: "slurm".into(),
        job_id: "42".into(),
        task_index: Some(0),
        host: "node-a".into(),
        mode: "run".into(),
        command: "rigbench run".into(),
        started_utc: "2026-12-01T18:00:00Z".into(),
        finished_utc: finished.then(|| "2026-12-01T18:01:00Z".to_string()),
        exit_code,
    }
}

fn row(
    node: &str,
    hw: &str,
    status: NodeStatus,
    streams: Option<u32>,
    margin: Option<f64>,
) -> NodeRow {
    NodeRow {
        host: Some(node.into()),
        hardware: hw.into(),
        backend: Some("cpu".into()),
        status,
        throughput_x: Some(1.0),
        realtime_duration_ratio: Some(0.5),
        streams_sustained: streams,
        max_sessions: streams,
        rig_watts: Some(100.0),
        revenue_usd_per_hour: margin.map(|m| m + 1.0),
        costs_usd_per_hour: margin.map(|_| 1.0),
        margin_usd_per_hour: margin,
        profitable: margin.map(|m| m > 0.0),
        verdict: String::new(),
        ..NodeRow::unmeasured(node.into(), node.into())
    }
}

/// `r` with stake `own`/`total` LPT earning `rewards` USD/h net.
fn staked(r: NodeRow, own: f64, total: f64, rewards: f64) -> NodeRow {
    NodeRow {
        own_stake_lpt: Some(own),
        total_stake_lpt: Some(total),
        rewards_net_usd_per_hour: Some(rewards),
        margin_with_staking_usd_per_hour: r.margin_usd_per_hour.map(|m| m + rewards),
        profitable_with_staking: r.margin_usd_per_hour.map(|m| m + rewards > 0.0),
        ..r
    }
}

#[test]
fn staking_total_cases() {
    let a = || row("a", "x", NodeStatus::Ok, Some(3), Some(2.0));
    let b = || row("b", "x", NodeStatus::Ok, Some(5), Some(-1.0));
    type Case = (&'static str, Vec<NodeRow>, Option<f64>, &'static str);
    let cases: Vec<Case> = vec![
        ("no stake anywhere", vec![a(), b()], None, ""),
        (
            "one stake seen from both nodes: rewards once",
            vec![staked(a(), 10.0, 100.0, 4.0), staked(b(), 10.0, 100.0, 4.0)],
            Some(2.0 - 1.0 + 4.0),
            "counted once",
        ),
        (
            "a stake per node: the nodes' own figures add up",
            vec![staked(a(), 10.0, 100.0, 4.0), staked(b(), 20.0, 50.0, 1.0)],
            Some(6.0 + 0.0),
            "one stake per node",
        ),
        (
            "one node",
            vec![staked(a(), 10.0, 100.0, 4.0)],
            Some(6.0),
            "one node",
        ),
        (
            "a node without stake makes the total unknown",
            vec![staked(a(), 10.0, 100.0, 4.0), b()],
            None,
            "",
        ),
    ];
    for (name, rows, want, basis) in cases {
        let ok: Vec<&NodeRow> = rows.iter().collect();
        let mut notes = Vec::new();
        let (got, how) = staking_total(&ok, &mut notes);
        match (got, want) {
            (Some(g), Some(w)) => assert!((g - w).abs() < 1e-12, "{name}: {g} vs {w}"),
            (g, w) => assert_eq!(g, w, "{name}"),
        }
        assert!(how.unwrap_or_default().contains(basis), "{name}");
        if name.contains("unknown") {
            assert!(notes[0].contains("no figure for b"), "{name}: {notes:?}");
        }
    }
}

#[test]
fn spread_cases() {
    type Want = Option<(u32, f64, f64, f64, Option<f64>)>;
    let cases: &[(&[f64], Want)] = &[
        (&[], None),
        (&[f64::NAN], None),
        (&[2.0], Some((1, 2.0, 2.0, 2.0, Some(0.0)))),
        (&[1.0, 2.0, 3.0], Some((3, 1.0, 2.0, 3.0, Some(100.0)))),
        (&[-1.0, 1.0], Some((2, -1.0, 0.0, 1.0, None))),
        (
            &[4.0, f64::INFINITY, 6.0],
            Some((2, 4.0, 5.0, 6.0, Some(40.0))),
        ),
    ];
    for (values, want) in cases {
        let got = spread(values).map(|s| (s.n, s.min, s.mean, s.max, s.relative_range_percent));
        assert_eq!(got, *want, "{values:?}");
    }
}

#[test]
fn node_status_cases() {
    let ok = RunState {
        partial: false,
        total_segments: 3,
        renditions_checked: 12,
        renditions_failed: 0,
    };
    let partial = RunState {
        partial: true,
        ..ok
    };
    let invalid = RunState {
        renditions_failed: 2,
        ..ok
    };
    let never_started = TaskMarker {
        started_utc: String::new(),
        ..task(None, false)
    };
    type Case = (
        &'static str,
        Option<RunState>,
        Option<TaskMarker>,
        NodeStatus,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        ("run only", Some(ok), None, NodeStatus::Ok, ""),
        (
            "run, exit 0",
            Some(ok),
            Some(task(Some(0), true)),
            NodeStatus::Ok,
            "",
        ),
        (
            "no run, exit 3",
            None,
            Some(task(Some(3), true)),
            NodeStatus::Failed,
            "exited 3 without a run.json: boom",
        ),
        (
            "never finished",
            None,
            Some(task(None, false)),
            NodeStatus::Failed,
            "never finished",
        ),
        (
            "never started",
            None,
            Some(never_started),
            NodeStatus::Failed,
            "never started",
        ),
        (
            "partial",
            Some(partial),
            Some(task(Some(3), true)),
            NodeStatus::Partial,
            "3 segments finished",
        ),
        (
            "invalid",
            Some(invalid),
            Some(task(Some(3), true)),
            NodeStatus::Invalid,
            "2 of 12 renditions failed",
        ),
        (
            "run, exit 2",
            Some(ok),
            Some(task(Some(2), true)),
            NodeStatus::Failed,
            "exited 2",
        ),
        (
            "run, killed",
            Some(ok),
            Some(task(None, false)),
            NodeStatus::Failed,
            "never finished",
        ),
    ];
    for (name, run, t, want, reason) in cases {
        let (got, why) = status_of(run, t.as_ref(), Some("boom"));
        assert_eq!(got, want, "{name}");
        assert!(why.unwrap_or_default().contains(reason), "{name}");
    }
}

#[test]
fn totals_add_complete_nodes_only() {
    let nodes = vec![
        row("a", "x", NodeStatus::Ok, Some(3), Some(2.0)),
        row("b", "x", NodeStatus::Ok, Some(5), Some(-1.0)),
        row("c", "y", NodeStatus::Failed, None, None),
    ];
    let t = totals(&nodes);
    assert_eq!((t.nodes, t.nodes_ok), (3, 2));
    assert_eq!(t.nodes_left_out, vec!["c".to_string()]);
    assert_eq!(t.streams_sustained, Some(8));
    assert_eq!(t.rig_watts, Some(200.0));
    assert_eq!(t.margin_usd_per_hour, Some(1.0));
    assert_eq!(t.margin_usd_per_month, Some(730.0));
    assert_eq!(t.revenue_usd_per_hour, Some(3.0));
    assert_eq!(
        (
            t.nodes_profitable,
            t.nodes_unprofitable,
            t.nodes_verdict_unknown
        ),
        (1, 1, 0)
    );
    assert_eq!(t.max_sessions.len(), 2);
    assert_eq!(t.max_sessions[1].max_sessions, 5);
}

#[test]
fn a_total_is_unknown_when_a_complete_node_lacks_it() {
    let nodes = vec![
        row("a", "x", NodeStatus::Ok, Some(3), Some(2.0)),
        row("b", "x", NodeStatus::Ok, None, None),
    ];
    let t = totals(&nodes);
    assert_eq!(t.streams_sustained, None);
    assert_eq!(t.margin_usd_per_hour, None);
    assert!(
        t.notes
            .iter()
            .any(|n| n.contains("margin unknown: no figure for b")),
        "{:?}",
        t.notes
    );
}

#[test]
fn groups_by_hardware_largest_first() {
    let nodes = vec![
        row("a", "gpu box", NodeStatus::Ok, Some(10), Some(1.0)),
        row("b", "cpu box", NodeStatus::Ok, Some(2), Some(1.0)),
        row("c", "cpu box", NodeStatus::Ok, Some(4), Some(3.0)),
        row("d", "cpu box", NodeStatus::Partial, Some(1), Some(0.0)),
    ];
    let g = groups(&nodes);
    assert_eq!(g.len(), 2);
    assert_eq!(g[0].hardware, "cpu box");
    assert_eq!(g[0].nodes, vec!["b".to_string(), "c".to_string()]);
    let s = g[0].streams_sustained.unwrap();
    assert_eq!((s.n, s.min, s.mean, s.max), (2, 2.0, 3.0, 4.0));
    assert_eq!(g[1].nodes, vec!["a".to_string()]);
}

#[test]
fn every_node_failed_is_still_a_report() {
    let fleet = merge(
        &[input("t-0", Some(task(Some(3), true)))],
        &MergeOptions::default(),
        Utc::now(),
    )
    .unwrap();
    assert_eq!(fleet.nodes[0].status, NodeStatus::Failed);
    assert_eq!(fleet.totals.nodes_ok, 0);
    assert!(fleet
        .warnings
        .iter()
        .any(|w| w.contains("every run failed")));
}
