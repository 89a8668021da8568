//! fleet.md and fleet.html: the merged fleet report ([`crate::merge::FleetResult`]) as Markdown
//! and as one self-contained HTML page (inline CSS, no scripts, no network). The rows are built
//! once ([`node_table`], [`group_table`], [`totals_rows`]) and rendered by both.

use crate::economics::PowerStatus;
use crate::merge::{FleetResult, NodeRow, Spread};

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
        f.rig
            .as_ref()
            .map_or("each node's own rig file".to_string(), |r| format!("every node priced with {r}")),
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

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html_table(t: &Table) -> String {
    let mut out = String::from("<div class=\"wrap\"><table><thead><tr>");
    for h in &t.header {
        out.push_str(&format!("<th>{}</th>", html_escape(h)));
    }
    out.push_str("</tr></thead><tbody>");
    for r in &t.rows {
        out.push_str("<tr>");
        for c in r {
            out.push_str(&format!("<td>{}</td>", html_escape(c)));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>\n");
    out
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:1rem auto;max-width:72rem;padding:0 1rem;color:#111}\
table{border-collapse:collapse;font-size:.9rem}th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}\
th{background:#f3f3f3}.wrap{overflow-x:auto}h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:1.5rem}\
@media print{.wrap{overflow:visible}}";

/// fleet.html: one self-contained page.
pub fn html(f: &FleetResult) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>rigbench fleet</title><style>{CSS}</style></head><body>\n<h1>rigbench fleet</h1>\n<p>rigbench {}, merged {} UTC<br>source: {}</p>\n<h2>Nodes</h2>\n",
        html_escape(&f.rigbench_version),
        f.merged_utc.format("%Y-%m-%d %H:%M:%S"),
        html_escape(&source_line(f)),
    );
    out.push_str(&html_table(&node_table(f)));
    out.push_str("<h2>Groups of identical hardware</h2>\n");
    if f.groups.is_empty() {
        out.push_str("<p>No complete node.</p>\n");
    } else {
        out.push_str(&html_table(&group_table(f)));
    }
    out.push_str("<h2>Fleet totals (complete nodes)</h2>\n");
    out.push_str(&html_table(&Table {
        header: vec![String::new(), String::new()],
        rows: totals_rows(f)
            .into_iter()
            .map(|(l, v)| vec![l, v])
            .collect(),
    }));
    if !f.warnings.is_empty() {
        out.push_str("<h2>Warnings</h2>\n<ul>");
        for w in &f.warnings {
            out.push_str(&format!("<li>{}</li>", html_escape(w)));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escape_cases() {
        let cases = [
            ("a", "a"),
            ("<b>&\"'", "&lt;b&gt;&amp;&quot;&#39;"),
            ("", ""),
        ];
        for (s, want) in cases {
            assert_eq!(html_escape(s), want);
        }
    }

    #[test]
    fn markdown_table_snapshot() {
        let t = Table {
            header: vec!["a".into(), "b".into()],
            rows: vec![vec!["x|y".into(), "z".into()]],
        };
        assert_eq!(md_table(&t), "| a | b |\n|---|---|\n| x\\|y | z |\n");
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
