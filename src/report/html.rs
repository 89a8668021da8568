//! report.html: one self-contained page per run (inline CSS and SVG charts, no script, no font,
//! no network), readable on a phone and on paper. It opens with the verdict and the figures
//! behind it, then the livepeer_bench table and the charts ([`super::charts`]).
//!
//! Other commands build pages from plain data:
//! - `rigbench run`: [`run_page`] with a [`PageData`] (the result, its segment rows, power.csv).
//! - `rigbench capacity`: [`capacity_page`] with a [`CapacityCurve`] and, when it has one, the
//!   run at the capacity it found (or set `PageData::capacity` to add the curve to a run page).
//! - `rigbench market`: set `PageData::market` to a [`MarketFigures`], or call [`market_page`].
//! - `rigbench compare`/`merge`: [`page`] with their own [`Block`]s (tables and charts).

use std::fmt::Write as _;

use super::charts::{self, CapacityCurve, MarketFigures, PowerSeries, Step};
use super::table::Section;
use crate::result::{RunResult, SegmentRecord};

/// What a run's page is built from: plain data, no files.
#[derive(Debug, Clone, Copy)]
pub struct PageData<'a> {
    pub result: &'a RunResult,
    /// segments.csv's rows (per segment, per session, per repeat).
    pub segments: &'a [SegmentRecord],
    /// power.csv's watts columns (see [`charts::power_series_from_csv`]).
    pub power: &'a [PowerSeries],
    /// A capacity search, when the page is a capacity result's.
    pub capacity: Option<&'a CapacityCurve>,
    /// Market figures, when there are some.
    pub market: Option<&'a MarketFigures>,
}

/// One part of a page, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A heading and a paragraph (HTML-escaped).
    Text { heading: String, text: String },
    /// Label/value tables.
    Sections(Vec<Section>),
    /// A table with a header row; `marked` cells (row, column) are shown as the best in the row.
    Grid {
        heading: String,
        header: Vec<String>,
        rows: Vec<Vec<String>>,
        marked: Vec<(usize, usize)>,
    },
    /// A chart: `id` is the figure's element id (tests look for it); `svg` None says what is
    /// missing in `missing`.
    Chart {
        id: String,
        title: String,
        svg: Option<String>,
        missing: String,
        note: Option<String>,
    },
    /// Key figures as cards: (label, value, estimated).
    Figures(Vec<(String, String, bool)>),
    /// The verdict line, coloured by the answer (None = unknown).
    Verdict {
        line: String,
        profitable: Option<bool>,
    },
}

/// The ids of the charts a run page carries, in page order (capacity and market only when given).
pub const RUN_CHART_IDS: &[&str] = &[
    "chart-segments",
    "chart-latency",
    "chart-power",
    "chart-bandwidth",
    "chart-money",
    "chart-sensitivity",
];

/// The whole page of a run.
pub fn run_page(d: &PageData<'_>) -> String {
    let r = d.result;
    let title = format!("rigbench run{}", if r.partial { " (partial)" } else { "" });
    page(&title, &run_blocks(d))
}

/// The blocks of a run page, for callers that add their own.
pub fn run_blocks(d: &PageData<'_>) -> Vec<Block> {
    let r = d.result;
    let mut blocks = Vec::new();
    match &r.economics {
        Some(e) => {
            blocks.push(Block::Verdict {
                line: format!("Transcoding alone: {}", e.verdict.line),
                profitable: e.verdict.profitable,
            });
            if let Some(v) = &e.verdict_with_staking {
                blocks.push(Block::Verdict {
                    line: format!("With staking rewards: {}", v.line),
                    profitable: v.profitable,
                });
            }
        }
        None => blocks.push(Block::Verdict {
            line: "No verdict: give --rig FILE for power, bandwidth and hardware costs.".into(),
            profitable: None,
        }),
    }
    blocks.push(Block::Figures(key_figures(r)));
    blocks.push(Block::Text {
        heading: "Run".into(),
        text: format!(
            "rigbench {} ({}) · {} UTC · backend {}\nhost: {}\ncommand: {}{}",
            r.rigbench_version,
            r.fingerprint.git_commit,
            r.started_utc.format("%Y-%m-%d %H:%M:%S"),
            r.backend.used,
            crate::report::sections::host_line(r),
            r.command_line.join(" "),
            if r.partial {
                " · PARTIAL: figures cover the finished segments only"
            } else {
                ""
            }
        ),
    });
    // livepeer_bench's own tables first, the charts, then the other tables.
    let (bench, rest): (Vec<Section>, Vec<Section>) = super::table::rows(r)
        .into_iter()
        .partition(|s| s.title.contains("livepeer_bench") || s.title.starts_with("Repeat "));
    blocks.push(Block::Sections(bench));
    if !r.reportable.reportable {
        blocks.push(Block::Text {
            heading: "Not reportable".into(),
            text: r.reportable.reasons.join("\n"),
        });
    }
    blocks.push(chart_block(
        "chart-segments",
        "Transcode time per segment",
        charts::segments(d.segments),
        "no segment finished",
        Some("A point above the red line missed its real-time deadline.".into()),
    ));
    let l = &r.summary.latency_seconds;
    blocks.push(chart_block(
        "chart-latency",
        "Latency distribution",
        charts::latency(d.segments, l.p50, l.p95),
        "no segment finished",
        None,
    ));
    let est = d.power.iter().any(|s| s.estimated);
    blocks.push(chart_block(
        "chart-power",
        "Power",
        charts::power(d.power),
        "no power reading: no sensor here and no declared model (give --rig FILE)",
        est.then(|| "Dashed series are estimates from the rig file's model, not readings.".into()),
    ));
    let (bin, bout) = match &r.bandwidth {
        Some(b) => (b.series_mbps_in.as_slice(), b.series_mbps_out.as_slice()),
        None => (&[][..], &[][..]),
    };
    blocks.push(chart_block(
        "chart-bandwidth",
        "Bandwidth",
        charts::bandwidth(bin, bout),
        "no bandwidth series (no segment finished, or timestamps unreadable)",
        None,
    ));
    let (money, heat) = match &r.economics {
        Some(e) => (
            charts::waterfall(&money_steps(e), "Money per rig-hour: from fees to margin"),
            charts::heatmap(
                &e.sensitivity.price_per_pixel_wei,
                &e.sensitivity.electricity_usd_per_kwh,
                &e.sensitivity.margin_usd_per_rig_hour,
                "price, wei/pixel",
                "electricity, US$/kWh",
            ),
        ),
        None => (Ok(None), Ok(None)),
    };
    blocks.push(chart_block(
        "chart-money",
        "Money",
        money,
        "no economics: give --rig FILE",
        Some("Transcoding alone (fees, not staking rewards). Pale bars are estimates; grey bars unknown.".into()),
    ));
    blocks.push(chart_block(
        "chart-sensitivity",
        "Sensitivity",
        heat,
        "no economics: give --rig FILE",
        None,
    ));
    if let Some(c) = d.capacity {
        blocks.push(capacity_block(c));
    }
    if let Some(m) = d.market {
        blocks.push(market_block(m));
    }
    blocks.push(Block::Sections(rest));
    if !r.warnings.is_empty() {
        blocks.push(Block::Text {
            heading: "Warnings".into(),
            text: r.warnings.join("\n"),
        });
    }
    blocks
}

/// A capacity result's page: the curve first, then the run at the capacity found when given.
pub fn capacity_page(
    title: &str,
    curve: &CapacityCurve,
    at_capacity: Option<&PageData<'_>>,
) -> String {
    let mut blocks = vec![
        Block::Verdict {
            line: match curve.found {
                Some(n) => format!(
                    "Capacity: {n} concurrent sessions meet the bar of {:.3} ({}).",
                    curve.headroom, curve.ratio_label
                ),
                None => format!(
                    "No session count met the bar of {:.3} ({}).",
                    curve.headroom, curve.ratio_label
                ),
            },
            profitable: None,
        },
        capacity_block(curve),
    ];
    if let Some(d) = at_capacity {
        blocks.extend(run_blocks(d));
    }
    page(title, &blocks)
}

/// The curve of a capacity search's result (finished probes; the Real-Time Duration Ratio
/// against sessions, the headroom as the bar).
pub fn capacity_curve_of(r: &crate::capacity::result::CapacityResult) -> CapacityCurve {
    CapacityCurve {
        points: r
            .probes
            .iter()
            .filter(|p| p.finished)
            .map(|p| charts::CapacityPoint {
                sessions: p.sessions,
                ratio: p.realtime_duration_ratio,
                passed: p.passed,
                repeat: p.repeat,
            })
            .collect(),
        headroom: r.settings.headroom,
        found: (r.decision.capacity_streams > 0).then_some(r.decision.capacity_streams),
        ratio_label: "Real-Time Duration Ratio".into(),
    }
}

/// report.html of `rigbench capacity`: the curve, then the decision's figures.
pub fn capacity_result_page(r: &crate::capacity::result::CapacityResult) -> String {
    let title = format!(
        "rigbench capacity{}",
        if r.partial { " (partial)" } else { "" }
    );
    let mut blocks = vec![
        Block::Verdict {
            line: format!(
                "Capacity: {}{} streams (binding limit: {}); {}",
                if r.decision.lower_bound { ">= " } else { "" },
                r.decision.capacity_streams,
                r.binding_limit,
                r.decision.confidence
            ),
            profitable: None,
        },
        capacity_block(&capacity_curve_of(r)),
    ];
    if !r.warnings.is_empty() {
        blocks.push(Block::Text {
            heading: "Warnings".into(),
            text: r.warnings.join("\n"),
        });
    }
    page(&title, &blocks)
}

/// A market result's page.
pub fn market_page(title: &str, m: &MarketFigures, extra: Vec<Block>) -> String {
    let mut blocks = vec![market_block(m)];
    blocks.extend(extra);
    page(title, &blocks)
}

fn capacity_block(c: &CapacityCurve) -> Block {
    chart_block(
        "chart-capacity",
        "Capacity",
        charts::capacity_curve(c),
        "the search tried no session count",
        Some("Filled points passed the bar, open ones failed it.".into()),
    )
}

fn market_block(m: &MarketFigures) -> Block {
    chart_block(
        "chart-market",
        "Market",
        charts::bars(m),
        "no market figure",
        m.note.clone(),
    )
}

/// A chart block from a chart function's answer; a drawing error becomes the missing note.
pub fn chart_block(
    id: &str,
    title: &str,
    svg: Result<Option<String>, charts::ChartError>,
    missing: &str,
    note: Option<String>,
) -> Block {
    let (svg, missing) = match svg {
        Ok(s) => (s, missing.to_string()),
        Err(e) => (None, e.to_string()),
    };
    Block::Chart {
        id: id.to_string(),
        title: title.to_string(),
        svg,
        missing,
        note,
    }
}

/// The figures behind the verdict: real time, throughput, pixels, watts, energy, margin.
pub fn key_figures(r: &RunResult) -> Vec<(String, String, bool)> {
    let s = &r.summary;
    let mut out = vec![
        (
            "Real-Time Segs Ratio".to_string(),
            format!("{:.4}", s.realtime_segs_ratio),
            false,
        ),
        (
            "Real-Time Duration Ratio".to_string(),
            format!("{:.4}", s.realtime_duration_ratio),
            false,
        ),
        (
            "Throughput".to_string(),
            format!("{:.2}× real time", s.throughput_x),
            false,
        ),
        (
            "Output pixels".to_string(),
            format!("{:.2} Mpixel/s", s.output_pixels_per_second / 1e6),
            false,
        ),
    ];
    if let Some(p) = &r.power {
        let est = p.status == Some(crate::metering::power::Status::Estimated);
        out.push((
            "Rig power".to_string(),
            match &p.rig {
                Some(rig) => format!("{:.1} W", rig.average_watts),
                None => "unknown".to_string(),
            },
            est,
        ));
        out.push((
            "Energy".to_string(),
            match p.joules_per_output_megapixel {
                Some(j) => format!("{j:.3} J/Mpixel"),
                None => "unknown".to_string(),
            },
            est,
        ));
    }
    if let Some(e) = &r.economics {
        out.push((
            "Margin".to_string(),
            match e.per_rig_hour.margin_usd_per_hour {
                Some(m) => format!("${m:.4}/rig-hour"),
                None => "unknown".to_string(),
            },
            !e.estimated.is_empty(),
        ));
    }
    out
}

/// From gross fees to margin (transcoding alone), per rig-hour: the delegators' share, gas,
/// power, bandwidth and hardware taken away in turn.
pub fn money_steps(e: &crate::economics::Economics) -> Vec<Step> {
    use crate::result::money::{PowerStatus, RedemptionGas};
    let h = &e.per_rig_hour;
    let step = |label: &str, usd: Option<f64>, estimated: bool| Step {
        label: label.into(),
        usd_per_hour: usd,
        estimated,
    };
    vec![
        step("fees", Some(h.fees_gross_usd_per_hour), false),
        step("delegators", Some(-h.fees_delegators_usd_per_hour), false),
        step(
            "gas",
            Some(-(h.gas_usd_per_hour + h.withdraw_gas_usd_per_hour)),
            e.gas.priced_by == RedemptionGas::Estimate,
        ),
        step(
            "power",
            h.power_usd_per_hour.map(|p| -p),
            e.power.status == PowerStatus::Estimated,
        ),
        step("bandwidth", Some(-h.bandwidth_usd_per_hour), false),
        step("hardware", Some(-h.hardware_usd_per_hour), false),
    ]
}

const CSS: &str = "
:root{--fg:#1b1b1b;--mute:#5b5b5b;--line:#d8d8d8;--good:#0a7a4f;--bad:#b3261e;--est:#8a5a00}
*{box-sizing:border-box}
body{margin:0 auto;max-width:960px;padding:12px;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);background:#fff}
h1{font-size:1.35rem;margin:.2em 0 .6em}
h2{font-size:1.1rem;margin:1.4em 0 .4em;border-bottom:1px solid var(--line)}
.verdict{padding:12px 14px;border-radius:6px;border-left:6px solid var(--mute);background:#f4f4f4;font-size:1.1rem;font-weight:600}
.verdict.yes{border-color:var(--good);background:#eaf6f0}.verdict.no{border-color:var(--bad);background:#fbeceb}
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:8px;margin:12px 0}
.figure{border:1px solid var(--line);border-radius:6px;padding:8px}
.figure .label{color:var(--mute);font-size:.8rem}.figure .value{font-size:1.15rem;font-weight:600}
.est{color:var(--est);font-size:.75rem;font-weight:600}
table{border-collapse:collapse;width:100%;margin:.4em 0 1em;font-size:.9rem}
td,th{border:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f6f6f6}td.best{font-weight:700;background:#eaf6f0}
caption{text-align:left;font-weight:600;padding:4px 0}
figure{margin:1em 0;break-inside:avoid;page-break-inside:avoid}
figure svg{width:100%;height:auto;display:block}
figcaption{color:var(--mute);font-size:.85rem}
.missing{color:var(--mute);font-style:italic;border:1px dashed var(--line);padding:10px}
pre{white-space:pre-wrap;overflow-wrap:anywhere}
@media print{body{max-width:none;font-size:11pt}.verdict{background:none}h2{break-after:avoid}}
";

/// The page around blocks: one HTML document, self-contained.
pub fn page(title: &str, blocks: &[Block]) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        esc(title),
        esc(title)
    );
    for b in blocks {
        block(&mut out, b);
    }
    out.push_str("<p class=\"est\">Made by rigbench; every chart is drawn from the data of the results on this page.</p>\n</body>\n</html>\n");
    out
}

fn block(out: &mut String, b: &Block) {
    match b {
        Block::Text { heading, text } => {
            let _ = write!(out, "<h2>{}</h2>\n<pre>{}</pre>\n", esc(heading), esc(text));
        }
        Block::Sections(sections) => {
            for s in sections {
                let _ = write!(out, "<table>\n<caption>{}</caption>\n", esc(&s.title));
                for (l, v) in &s.rows {
                    let _ = writeln!(
                        out,
                        "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
                        esc(l),
                        esc(v)
                    );
                }
                out.push_str("</table>\n");
            }
        }
        Block::Grid {
            heading,
            header,
            rows,
            marked,
        } => {
            let _ = write!(out, "<h2>{}</h2>\n<table>\n<tr>", esc(heading));
            for h in header {
                let _ = write!(out, "<th>{}</th>", esc(h));
            }
            out.push_str("</tr>\n");
            for (i, row) in rows.iter().enumerate() {
                out.push_str("<tr>");
                for (j, cell) in row.iter().enumerate() {
                    let tag = if j == 0 { "th" } else { "td" };
                    let class = if marked.contains(&(i, j)) {
                        " class=\"best\""
                    } else {
                        ""
                    };
                    let _ = write!(out, "<{tag}{class}>{}</{tag}>", esc(cell));
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</table>\n");
        }
        Block::Chart {
            id,
            title,
            svg,
            missing,
            note,
        } => {
            let _ = write!(
                out,
                "<h2>{}</h2>\n<figure id=\"{}\">\n",
                esc(title),
                esc(id)
            );
            match svg {
                Some(svg) => out.push_str(svg),
                None => {
                    let _ = write!(out, "<p class=\"missing\">Not drawn: {}</p>", esc(missing));
                }
            }
            if let Some(n) = note {
                let _ = write!(out, "\n<figcaption>{}</figcaption>", esc(n));
            }
            out.push_str("\n</figure>\n");
        }
        Block::Figures(figs) => {
            out.push_str("<div class=\"figures\">\n");
            for (l, v, est) in figs {
                let _ = writeln!(
                    out,
                    "<div class=\"figure\"><div class=\"label\">{}</div><div class=\"value\">{}</div>{}</div>",
                    esc(l),
                    esc(v),
                    if *est { "<div class=\"est\">estimated</div>" } else { "" }
                );
            }
            out.push_str("</div>\n");
        }
        Block::Verdict { line, profitable } => {
            let class = match profitable {
                Some(true) => "verdict yes",
                Some(false) => "verdict no",
                None => "verdict",
            };
            let _ = writeln!(out, "<p class=\"{class}\">{}</p>", esc(line));
        }
    }
}

/// HTML text escaping.
pub fn esc(s: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        for (s, want) in [
            ("a<b>&\"'", "a&lt;b&gt;&amp;&quot;&#39;"),
            ("plain", "plain"),
            ("", ""),
        ] {
            assert_eq!(esc(s), want);
        }
    }

    #[test]
    fn capacity_and_market_pages_carry_their_charts() {
        let curve = CapacityCurve {
            points: (1..=4)
                .map(|s| charts::CapacityPoint {
                    sessions: s,
                    ratio: 0.3 * f64::from(s),
                    passed: s <= 2,
                    repeat: 0,
                })
                .collect(),
            headroom: 0.8,
            found: Some(2),
            ratio_label: "Real-Time Duration Ratio".into(),
        };
        let market = MarketFigures {
            title: "Profit per day".into(),
            unit: "US$ per day".into(),
            bars: vec![charts::Bar {
                label: "this rig".into(),
                value: 1.5,
                low: Some(0.5),
                high: Some(2.0),
            }],
            note: Some("simulated".into()),
        };
        for (html, id) in [
            (capacity_page("c", &curve, None), "chart-capacity"),
            (market_page("m", &market, Vec::new()), "chart-market"),
        ] {
            let at = html.find(&format!("id=\"{id}\"")).expect(id);
            let start = html[at..].find("<svg").unwrap() + at;
            let end = html[start..].find("</svg>").unwrap() + start + 6;
            roxmltree::Document::parse(&html[start..end]).expect("SVG parses as XML");
        }
    }

    #[test]
    fn page_is_self_contained_and_names_missing_charts() {
        let html = page(
            "t <x>",
            &[
                Block::Verdict {
                    line: "yes".into(),
                    profitable: Some(true),
                },
                chart_block("chart-x", "X", Ok(None), "nothing to draw", None),
            ],
        );
        assert!(html.contains("<title>t &lt;x&gt;</title>"));
        assert!(html.contains("id=\"chart-x\""));
        assert!(html.contains("Not drawn: nothing to draw"));
        assert!(html.contains("verdict yes"));
        for banned in ["<script", "http://", "https://", "@import", "<link"] {
            assert!(!html.contains(banned), "{banned}");
        }
    }
}
