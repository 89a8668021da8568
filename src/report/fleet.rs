//! fleet.md and fleet.html: the merged fleet report ([`crate::merge::FleetResult`]) as Markdown
//! and as one self-contained HTML page (the publishing page of [`super::html`]: inline CSS and
//! plotters SVG charts, no scripts, no network), and the fleet's part of `rigbench market
//! --fleet`'s table. The rows are built once ([`node_table`], [`group_table`], [`totals_rows`])
//! and rendered by both.

use super::charts::{self, Bar, BarChart, CapacityCurve};
use super::html::{chart_block, page, Block};
use super::sections::{row, Section};
use crate::economics::PowerStatus;
use crate::market::result::FleetProjection;
use crate::merge::{CapacitySearch, FleetResult, NodeRow, Spread};

/// A table: header and rows of cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

fn opt<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map_or_else(|| "unknown".to_string(), f)
}

fn usd(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

fn streams(r: &NodeRow) -> String {
    match r.streams_sustained {
        Some(s) if r.streams_is_lower_bound => format!("≥ {s}"),
        Some(s) => s.to_string(),
        None => "unknown".to_string(),
    }
}

/// A per-stream-hour figure; "n/a" when the node sells no stream.
fn per_stream(r: &NodeRow, v: Option<f64>) -> String {
    match (v, r.streams_sustained) {
        (None, Some(0)) => "n/a (no stream)".to_string(),
        (v, _) => opt(v, usd),
    }
}

fn status(r: &NodeRow) -> String {
    match &r.status_reason {
        Some(why) => format!("{}: {why}", r.status.label()),
        None => r.status.label().to_string(),
    }
}

fn verdict(r: &NodeRow) -> String {
    match r.profitable {
        Some(true) => "profitable".to_string(),
        Some(false) => "not profitable".to_string(),
        None => r.verdict.clone(),
    }
}

fn staking_margin(r: &NodeRow) -> String {
    match (
        r.margin_with_staking_usd_per_hour,
        r.rewards_net_usd_per_hour,
    ) {
        (Some(m), _) => usd(m),
        (None, None) => "n/a (no stake)".to_string(),
        (None, Some(_)) => "unknown".to_string(),
    }
}

fn staking_verdict(r: &NodeRow) -> String {
    match (r.profitable_with_staking, &r.verdict_with_staking) {
        (Some(true), _) => "profitable".to_string(),
        (Some(false), _) => "not profitable".to_string(),
        (None, Some(line)) => line.clone(),
        (None, None) => "n/a (no stake)".to_string(),
    }
}

/// One row per node.
pub fn node_table(f: &FleetResult) -> Table {
    let header = [
        "node",
        "host",
        "GPU",
        "status",
        "streams",
        "limit",
        "watts",
        "revenue $/stream-h",
        "cost $/stream-h",
        "margin $/h",
        "verdict",
        "margin with staking $/h",
        "verdict with staking",
    ];
    Table {
        header: header.iter().map(|s| s.to_string()).collect(),
        rows: f
            .nodes
            .iter()
            .map(|r| {
                vec![
                    r.node.clone(),
                    r.host.clone().unwrap_or_else(|| "unknown".to_string()),
                    r.gpu.clone().unwrap_or_else(|| match &r.backend {
                        Some(_) => "none".to_string(),
                        None => "unknown".to_string(),
                    }),
                    status(r),
                    streams(r),
                    r.limiting_resource
                        .clone()
                        .unwrap_or_else(|| "unknown".to_string()),
                    match (r.rig_watts, r.power_status) {
                        (Some(w), Some(PowerStatus::Estimated)) => format!("{w:.0} (estimated)"),
                        (w, _) => opt(w, |w| format!("{w:.0}")),
                    },
                    per_stream(r, r.revenue_usd_per_stream_hour),
                    per_stream(r, r.costs_usd_per_stream_hour),
                    opt(r.margin_usd_per_hour, usd),
                    verdict(r),
                    staking_margin(r),
                    staking_verdict(r),
                ]
            })
            .collect(),
    }
}

fn spread_cell(s: &Option<Spread>, digits: usize) -> String {
    match s {
        None => "unknown".to_string(),
        Some(s) if s.n == 1 => format!("{:.*}", digits, s.mean),
        Some(s) => format!(
            "{:.*} (min {:.*}, max {:.*}, range {})",
            digits,
            s.mean,
            digits,
            s.min,
            digits,
            s.max,
            s.relative_range_percent
                .map_or("n/a".to_string(), |p| format!("{p:.1}%"))
        ),
    }
}

/// Groups of identical hardware: mean (min, max, relative range).
pub fn group_table(f: &FleetResult) -> Table {
    let header = [
        "hardware",
        "nodes",
        "streams",
        "throughput ×rt",
        "watts",
        "margin $/h",
    ];
    Table {
        header: header.iter().map(|s| s.to_string()).collect(),
        rows: f
            .groups
            .iter()
            .map(|g| {
                vec![
                    g.hardware.clone(),
                    format!("{} ({})", g.nodes.len(), g.nodes.join(", ")),
                    spread_cell(&g.streams_sustained, 1),
                    spread_cell(&g.throughput_x, 2),
                    spread_cell(&g.rig_watts, 0),
                    spread_cell(&g.margin_usd_per_hour, 4),
                ]
            })
            .collect(),
    }
}

/// Fleet totals as label/value rows.
pub fn totals_rows(f: &FleetResult) -> Vec<(String, String)> {
    let t = &f.totals;
    let mut rows = vec![
        (
            "Nodes".to_string(),
            format!(
                "{} ({} complete{})",
                t.nodes,
                t.nodes_ok,
                if t.nodes_left_out.is_empty() {
                    String::new()
                } else {
                    format!("; left out: {}", t.nodes_left_out.join(", "))
                }
            ),
        ),
        (
            "Streams sustained".to_string(),
            opt(t.streams_sustained, |s| s.to_string()),
        ),
        (
            "Wall watts".to_string(),
            opt(t.rig_watts, |w| format!("{w:.0} W")),
        ),
        (
            "Revenue".to_string(),
            opt(t.revenue_usd_per_hour, |v| format!("${} per hour", usd(v))),
        ),
        (
            "Costs".to_string(),
            opt(t.costs_usd_per_hour, |v| format!("${} per hour", usd(v))),
        ),
        (
            "Margin".to_string(),
            opt(t.margin_usd_per_hour, |v| {
                format!(
                    "${} per hour, ${} per month",
                    usd(v),
                    usd(v * crate::economics::HOURS_PER_MONTH)
                )
            }),
        ),
        (
            "Verdicts".to_string(),
            format!(
                "{} profitable, {} not, {} unknown",
                t.nodes_profitable, t.nodes_unprofitable, t.nodes_verdict_unknown
            ),
        ),
    ];
    if let Some(basis) = &t.staking_basis {
        rows.push((
            "Margin with staking".to_string(),
            opt(t.margin_with_staking_usd_per_hour, |v| {
                format!(
                    "${} per hour, ${} per month ({} nodes profitable with staking)",
                    usd(v),
                    usd(v * crate::economics::HOURS_PER_MONTH),
                    t.nodes_profitable_with_staking
                )
            }),
        ));
        rows.push(("Staking basis".to_string(), basis.clone()));
    }
    for m in &t.max_sessions {
        rows.push((
            format!("-maxSessions on {}", m.node),
            format!(
                "{} (host {})",
                m.max_sessions,
                m.host.as_deref().unwrap_or("unknown")
            ),
        ));
    }
    for n in &t.notes {
        rows.push(("Note".to_string(), n.clone()));
    }
    rows
}

fn source_line(f: &FleetResult) -> String {
    let s = &f.source;
    let ladder: Vec<&str> = f.ladder.iter().map(|p| p.name.as_str()).collect();
    format!(
        "{} {}x{} {:.3} fps, {:.1} s, {} segments; ladder {}",
        s.codec,
        s.width,
        s.height,
        s.fps,
        s.duration_seconds,
        s.segment_count,
        ladder.join(", ")
    )
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn md_table(t: &Table) -> String {
    let mut out = format!("| {} |\n", t.header.join(" | "));
    out.push_str(&format!("|{}\n", "---|".repeat(t.header.len())));
    for r in &t.rows {
        let cells: Vec<String> = r.iter().map(|c| md_escape(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// fleet.md.
pub fn markdown(f: &FleetResult) -> String {
    let mut out = format!(
        "# rigbench fleet\n\n- rigbench {}, merged {} UTC\n- source: {}\n- money: {}\n\n## Nodes\n\n",
        f.rigbench_version,
        f.merged_utc.format("%Y-%m-%d %H:%M:%S"),
        source_line(f),
        money_line(f),
    );
    out.push_str(&md_table(&node_table(f)));
    out.push_str("\n## Groups of identical hardware\n\n");
    if f.groups.is_empty() {
        out.push_str("No complete node.\n");
    } else {
        out.push_str(&md_table(&group_table(f)));
    }
    out.push_str("\n## Fleet totals (complete nodes)\n\n| | |\n|---|---|\n");
    for (l, v) in totals_rows(f) {
        out.push_str(&format!("| {} | {} |\n", md_escape(&l), md_escape(&v)));
    }
    if !f.warnings.is_empty() {
        out.push_str("\n## Warnings\n\n");
        for w in &f.warnings {
            out.push_str(&format!("- {w}\n"));
        }
    }
    out
}

/// The ids of the charts every fleet page carries, in page order (each node with a capacity
/// search adds `chart-capacity-<node>`).
pub const FLEET_CHART_IDS: &[&str] = &[
    "chart-fleet-streams",
    "chart-fleet-margin",
    "chart-fleet-cost",
];

/// A node name as an element id: letters, digits, '-' and '_' kept, the rest '-'.
pub fn chart_id(node: &str) -> String {
    let tail: String = node
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("chart-capacity-{tail}")
}

/// One bar per node that has the figure.
fn node_bars(
    f: &FleetResult,
    title: &str,
    unit: &str,
    value: impl Fn(&NodeRow) -> Option<f64>,
    note: String,
) -> BarChart {
    BarChart {
        title: title.to_string(),
        unit: unit.to_string(),
        bars: f
            .nodes
            .iter()
            .filter_map(|r| {
                value(r).filter(|v| v.is_finite()).map(|v| Bar {
                    label: r.node.clone(),
                    value: v,
                    low: None,
                    high: None,
                })
            })
            .collect(),
        note: Some(note),
    }
}

fn bar_block(id: &str, title: &str, chart: BarChart, missing: &str) -> Block {
    let note = chart.note.clone();
    chart_block(id, title, charts::bars(&chart), missing, note)
}

/// The capacity curve of a node's search.
pub fn capacity_curve(c: &CapacitySearch) -> CapacityCurve {
    let found = (c.capacity_streams > 0).then_some(c.capacity_streams);
    CapacityCurve {
        points: c
            .probes
            .iter()
            .map(|p| charts::CapacityPoint {
                sessions: p.sessions,
                ratio: p.realtime_duration_ratio,
                passed: p.passed,
                repeat: p.repeat,
            })
            .collect(),
        headroom: c.headroom,
        found,
        ratio_label: "Real-Time Duration Ratio".into(),
    }
}

/// The fleet page's blocks: the verdict, the node table, the per-node charts, the groups, the
/// totals, each node's capacity curve, the warnings.
pub fn blocks(f: &FleetResult) -> Vec<Block> {
    let t = &f.totals;
    let grid = |heading: &str, table: Table| Block::Grid {
        heading: heading.to_string(),
        header: table.header,
        rows: table.rows,
        marked: Vec::new(),
    };
    let mut out = vec![
        Block::Verdict {
            line: format!(
                "Fleet: {} ({} complete), {} streams sustained, margin {}{}",
                if t.nodes == 1 { "1 node".to_string() } else { format!("{} nodes", t.nodes) },
                t.nodes_ok,
                opt(t.streams_sustained, |s| s.to_string()),
                opt(t.margin_usd_per_hour, |m| format!("${} per hour", usd(m))),
                match (&t.staking_basis, t.margin_with_staking_usd_per_hour) {
                    (Some(_), Some(m)) => format!("; with staking ${} per hour", usd(m)),
                    _ => String::new(),
                }
            ),
            profitable: t.margin_usd_per_hour.map(|m| m > 0.0),
        },
        Block::Text {
            heading: "What was merged".to_string(),
            text: format!(
                "rigbench {}, merged {} UTC\nsource: {}\nmoney: {}",
                f.rigbench_version,
                f.merged_utc.format("%Y-%m-%d %H:%M:%S"),
                source_line(f),
                money_line(f)
            ),
        },
        grid("Nodes", node_table(f)),
        bar_block(
            FLEET_CHART_IDS[0],
            "Streams sustained per node",
            node_bars(
                f,
                "Streams sustained per node",
                "streams",
                |r| r.streams_sustained.map(f64::from),
                "Each node's capacity, its -maxSessions: searched where capacity.json is there, else economics' method on its run.".to_string(),
            ),
            "no node has a capacity figure (merge with --rig FILE)",
        ),
        bar_block(
            FLEET_CHART_IDS[1],
            "Margin per node",
            node_bars(
                f,
                "Margin per node-hour",
                "US$ per hour",
                |r| r.margin_usd_per_hour,
                "Transcoding alone: fees − gas − power, bandwidth and hardware, at the streams sold.".to_string(),
            ),
            "no node has a margin (a cost is unknown, or no economics)",
        ),
        bar_block(
            FLEET_CHART_IDS[2],
            "Costs per node",
            node_bars(
                f,
                "Costs per node-hour",
                "US$ per hour",
                |r| r.costs_usd_per_hour,
                "Power, bandwidth and hardware at the streams sold; estimated power is labelled in the table.".to_string(),
            ),
            "no node has its costs (power unknown, or no economics)",
        ),
    ];
    if f.nodes
        .iter()
        .any(|r| r.margin_with_staking_usd_per_hour.is_some())
    {
        out.push(bar_block(
            "chart-fleet-margin-staking",
            "Margin per node with staking",
            node_bars(
                f,
                "Margin per node-hour with staking",
                "US$ per hour",
                |r| r.margin_with_staking_usd_per_hour,
                "Fees + rewards − gas − costs: each node's economics as if it alone held the rig's stake (the totals say how the fleet counts it).".to_string(),
            ),
            "no node has stake",
        ));
    }
    if f.nodes
        .iter()
        .any(|r| r.costs_usd_per_stream_hour.is_some())
    {
        out.push(bar_block(
            "chart-fleet-cost-per-stream",
            "Cost per stream-hour",
            node_bars(
                f,
                "Cost per stream-hour",
                "US$ per stream-hour",
                |r| r.costs_usd_per_stream_hour,
                "One sold stream for an hour; nodes that sell no stream have no bar.".to_string(),
            ),
            "no node sells a stream",
        ));
    }
    if f.groups.is_empty() {
        out.push(Block::Text {
            heading: "Groups of identical hardware".to_string(),
            text: "No complete node.".to_string(),
        });
    } else {
        out.push(grid("Groups of identical hardware", group_table(f)));
    }
    out.push(Block::Sections(vec![Section {
        title: "Fleet totals (complete nodes)".to_string(),
        rows: totals_rows(f),
    }]));
    for r in &f.nodes {
        if let Some(c) = &r.capacity_search {
            out.push(chart_block(
                &chart_id(&r.node),
                &format!("Capacity search of {}", r.node),
                charts::capacity_curve(&capacity_curve(c)),
                "the search finished no probe",
                Some("Filled points passed the bar, open ones failed it.".into()),
            ));
        }
    }
    if !f.warnings.is_empty() {
        out.push(Block::Text {
            heading: "Warnings".to_string(),
            text: f.warnings.join("\n"),
        });
    }
    out
}

fn money_line(f: &FleetResult) -> String {
    f.rig
        .as_ref()
        .map_or("each node's own rig file".to_string(), |r| {
            format!("every node priced with {r}")
        })
}

/// fleet.html: one self-contained page (inline CSS and SVG, no script, no network).
pub fn html(f: &FleetResult) -> String {
    page("rigbench fleet", &blocks(f))
}

/// The headline of `rigbench market --fleet`: "fleet of N nodes, S streams: X% of the
/// network's demand".
pub fn market_headline(f: &FleetProjection) -> String {
    format!(
        "{}, {} streams: {} of the network's demand",
        crate::market::fleet::fleet_name(f.nodes_simulated as usize),
        f.capacity_streams,
        share_pct(&f.demand_share)
    )
}

/// A share as "mean% [p5, p95]": two decimals, four when the mean is under 0.1%.
pub fn share_pct(s: &crate::market::stats::Spread) -> String {
    let d = if s.mean * 100.0 < 0.1 { 4 } else { 2 };
    format!(
        "{:.d$}% [{:.d$}, {:.d$}]",
        s.mean * 100.0,
        s.p5 * 100.0,
        s.p95 * 100.0
    )
}

/// `rigbench market --fleet`'s table: the headline, then one row per node.
pub fn market_sections(f: &FleetProjection, over: &str) -> Vec<Section> {
    let pct = share_pct;
    let mut rows = vec![
        row("Fleet file", f.fleet_file.clone()),
        row("Model", f.model.clone()),
        row(
            "Nodes",
            format!(
                "{} simulated of {} in the file{}",
                f.nodes_simulated,
                f.nodes_in_file,
                if f.nodes_left_out.is_empty() {
                    String::new()
                } else {
                    format!("; left out: {}", f.nodes_left_out.join("; "))
                }
            ),
        ),
        row("Share of network demand", pct(&f.demand_share)),
        row("Utilisation", pct(&f.utilisation)),
        row(
            "Profit, USD/day",
            f.profit_usd_per_day
                .as_ref()
                .map_or("not computed (power unknown on a node)".to_string(), |p| {
                    format!("{:.2} [{:.2}, {:.2}]", p.mean, p.p5, p.p95)
                }),
        ),
    ];
    for n in &f.nodes {
        rows.push(row(
            &format!("node {}", n.node),
            format!(
                "{} streams, {:.0} LPT: demand {}, utilisation {:.1}%, profit {}/day",
                n.capacity_streams,
                n.stake_lpt,
                pct(&n.demand_share),
                n.utilisation.mean * 100.0,
                n.profit_usd_per_day
                    .as_ref()
                    .map_or("unknown".to_string(), |p| format!("${:.2}", p.mean))
            ),
        ));
    }
    vec![Section {
        title: format!("{} ({over})", market_headline(f)),
        rows,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_table_snapshot() {
        let t = Table {
            header: vec!["a".into(), "b".into()],
            rows: vec![vec!["x|y".into(), "z".into()]],
        };
        assert_eq!(md_table(&t), "| a | b |\n|---|---|\n| x\\|y | z |\n");
    }

    #[test]
    fn share_pct_cases() {
        let s = |mean: f64, p5: f64, p95: f64| crate::market::stats::Spread {
            mean,
            sd: 0.0,
            p5,
            p95,
        };
        for (spread, want) in [
            (s(0.0123, 0.01, 0.015), "1.23% [1.00, 1.50]"),
            (s(0.000_012, 0.0, 0.000_02), "0.0012% [0.0000, 0.0020]"),
            (s(0.0, 0.0, 0.0), "0.0000% [0.0000, 0.0000]"),
        ] {
            assert_eq!(share_pct(&spread), want);
        }
    }

    #[test]
    fn usd_cases() {
        for (v, want) in [
            (123.4, "123"),
            (-2.345, "-2.35"),
            (0.01234, "0.0123"),
            (0.0, "0.0000"),
        ] {
            assert_eq!(usd(v), want);
        }
    }
}
