//! `rigbench compare`: several runs side by side, one column per result, one row per figure
//! (capacity, throughput, output pixels, watts, joules per megapixel, bandwidth per stream,
//! $/stream-hour, margin, break-even price), each with its spread over repeats where it has one
//! and the best in each row marked. Results of different sources or ladders are refused, naming
//! what differs, unless `--force`, and then the page says so (Phoronix Test Suite merges result
//! files from many machines the same way; the comparability check is the gate's).

use std::path::Path;

use crate::gate::{self, GateError, LoadedRun};
use crate::report::charts::{Bar, BarChart};
use crate::report::html::{self, Block};
use crate::result::RunResult;

/// Which value in a row is best.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Best {
    Higher,
    Lower,
}

/// One figure of one result: a value, its spread, and a label.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub value: Option<f64>,
    /// Sample standard deviation over repeats; None with one repeat or no spread.
    pub spread: Option<f64>,
    /// Repeats the value is the mean of.
    pub n: usize,
    pub estimated: bool,
    /// Why the value is missing.
    pub missing: Option<String>,
}

impl Cell {
    fn one(value: Option<f64>, estimated: bool, missing: &str) -> Cell {
        Cell {
            value,
            spread: None,
            n: usize::from(value.is_some()),
            estimated,
            missing: value.is_none().then(|| missing.to_string()),
        }
    }
    fn repeats(values: Vec<f64>) -> Cell {
        let n = values.len();
        if n == 0 {
            return Cell::one(None, false, "no repeat finished");
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let spread = (n > 1).then(|| {
            (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n as f64 - 1.0)).sqrt()
        });
        Cell {
            value: Some(mean),
            spread,
            n,
            estimated: false,
            missing: None,
        }
    }
}

/// A row of the comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub label: &'static str,
    pub unit: &'static str,
    pub best: Best,
    pub cells: Vec<Cell>,
}

impl Row {
    /// The column of the best value (ties: the first); None when fewer than two values.
    pub fn best_column(&self) -> Option<usize> {
        let known: Vec<(usize, f64)> = self
            .cells
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.value.filter(|v| v.is_finite()).map(|v| (i, v)))
            .collect();
        if known.len() < 2 {
            return None;
        }
        let pick = known.iter().copied().reduce(|a, b| match self.best {
            Best::Higher if b.1 > a.1 => b,
            Best::Lower if b.1 < a.1 => b,
            _ => a,
        })?;
        Some(pick.0)
    }
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Column names (the result's folder and host).
    pub columns: Vec<String>,
    pub origins: Vec<String>,
    pub rows: Vec<Row>,
    /// What differs between results that should match (only with `--force`).
    pub forced_differences: Vec<String>,
}

/// Loads every result and checks they measured the same thing (unless `force`).
pub fn load(
    paths: &[impl AsRef<Path>],
    force: bool,
) -> Result<(Vec<LoadedRun>, Vec<String>), GateError> {
    if paths.len() < 2 {
        return Err(GateError::Input {
            what: "compare",
            path: paths
                .first()
                .map(|p| p.as_ref().display().to_string())
                .unwrap_or_default(),
            message: "give two or more results (run folders or run.json files) to compare".into(),
        });
    }
    let mut runs = Vec::new();
    for p in paths {
        let p = p.as_ref();
        if p.is_dir() && !p.join("run.json").exists() && p.join("capacity.json").exists() {
            return Err(GateError::Input {
                what: "result",
                path: p.display().to_string(),
                message: "holds capacity.json but no run.json; this compare reads run results"
                    .into(),
            });
        }
        runs.push(gate::load_run("result", p, false)?);
    }
    let mut differences = Vec::new();
    for r in runs.iter().skip(1) {
        // Different rigs are the point: only what makes the work different counts.
        for d in gate::work_differences(&runs[0].result, &r.result) {
            differences.push(format!("{} vs {}: {d}", r.origin, runs[0].origin));
        }
    }
    if !differences.is_empty() && !force {
        return Err(GateError::NotComparable(
            differences
                .into_iter()
                .chain(["pass --force to compare them anyway".to_string()])
                .collect(),
        ));
    }
    Ok((runs, differences))
}

fn column_name(run: &LoadedRun) -> String {
    let p = Path::new(&run.origin);
    let dir = p
        .parent()
        .and_then(|d| d.file_name())
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_else(|| run.origin.clone());
    let r = &run.result;
    let gpu = r.host.gpus.first().and_then(|g| g.name.clone());
    format!(
        "{dir} ({}{})",
        r.host.cpu_model.as_deref().unwrap_or("unknown CPU"),
        gpu.map(|g| format!(", {g}")).unwrap_or_default()
    )
}

fn repeats(r: &RunResult, f: impl Fn(&crate::result::Summary) -> f64) -> Cell {
    Cell::repeats(
        r.repeats
            .iter()
            .filter(|s| s.total_segments > 0)
            .map(f)
            .filter(|v| v.is_finite())
            .collect(),
    )
}

/// The rows for these runs.
pub fn compare(runs: &[LoadedRun], forced_differences: Vec<String>) -> Comparison {
    let rs: Vec<&RunResult> = runs.iter().map(|r| &r.result).collect();
    let no_rig = "no economics (run with --rig)";
    // A money figure of each run, marked estimated where its economics are.
    let money = |f: fn(&crate::result::money::Economics) -> Option<f64>| -> Vec<Cell> {
        rs.iter()
            .map(|r| {
                let e = r.economics.as_ref();
                Cell::one(
                    e.and_then(f),
                    e.is_some_and(|e| !e.estimated.is_empty()),
                    no_rig,
                )
            })
            .collect()
    };
    let power_est = |r: &RunResult| {
        r.power.as_ref().and_then(|p| p.status) == Some(crate::metering::power::Status::Estimated)
    };
    let rows = vec![
        Row {
            label: "capacity",
            unit: "streams",
            best: Best::Higher,
            cells: rs
                .iter()
                .map(|r| {
                    Cell::one(
                        r.economics
                            .as_ref()
                            .map(|e| f64::from(e.capacity.streams_sustained)),
                        false,
                        no_rig,
                    )
                })
                .collect(),
        },
        Row {
            label: "throughput",
            unit: "x real time",
            best: Best::Higher,
            cells: rs.iter().map(|r| repeats(r, |s| s.throughput_x)).collect(),
        },
        Row {
            label: "output pixels",
            unit: "Mpixel/s",
            best: Best::Higher,
            cells: rs
                .iter()
                .map(|r| repeats(r, |s| s.output_pixels_per_second / 1e6))
                .collect(),
        },
        Row {
            label: "Real-Time Duration Ratio",
            unit: "ratio",
            best: Best::Lower,
            cells: rs
                .iter()
                .map(|r| repeats(r, |s| s.realtime_duration_ratio))
                .collect(),
        },
        Row {
            label: "rig power",
            unit: "W",
            best: Best::Lower,
            cells: rs
                .iter()
                .map(|r| {
                    Cell::one(
                        r.power
                            .as_ref()
                            .and_then(|p| p.rig.as_ref())
                            .map(|x| x.average_watts),
                        power_est(r),
                        "rig power unknown",
                    )
                })
                .collect(),
        },
        Row {
            label: "energy",
            unit: "J/Mpixel",
            best: Best::Lower,
            cells: rs
                .iter()
                .map(|r| {
                    Cell::one(
                        r.power.as_ref().and_then(|p| p.joules_per_output_megapixel),
                        power_est(r),
                        "rig power unknown",
                    )
                })
                .collect(),
        },
        Row {
            label: "bandwidth per stream (out)",
            unit: "Mbps",
            best: Best::Lower,
            cells: rs
                .iter()
                .map(|r| {
                    Cell::one(
                        r.bandwidth.as_ref().map(|b| b.mbps_out_per_stream),
                        false,
                        "no bandwidth",
                    )
                })
                .collect(),
        },
        Row {
            label: "cost per stream-hour",
            unit: "US$",
            best: Best::Lower,
            cells: money(|e| {
                e.per_stream_hour
                    .as_ref()
                    .and_then(|s| s.costs_usd_per_hour)
            }),
        },
        Row {
            label: "margin per rig-hour",
            unit: "US$",
            best: Best::Higher,
            cells: money(|e| e.per_rig_hour.margin_usd_per_hour),
        },
        Row {
            label: "break-even price",
            unit: "wei/pixel",
            best: Best::Lower,
            cells: money(|e| e.break_even.price_per_pixel_wei),
        },
    ];
    Comparison {
        columns: runs.iter().map(column_name).collect(),
        origins: runs.iter().map(|r| r.origin.clone()).collect(),
        rows,
        forced_differences,
    }
}

/// A cell as text: `mean ± sd (n=k)`, `(est.)` when estimated, the reason when missing.
pub fn cell_text(c: &Cell) -> String {
    match c.value {
        Some(v) => {
            let num = |x: f64| {
                if x != 0.0 && (x.abs() >= 1e5 || x.abs() < 1e-3) {
                    format!("{x:.3e}")
                } else {
                    format!("{x:.4}")
                }
            };
            let mut s = num(v);
            if let Some(sd) = c.spread {
                s.push_str(&format!(" ± {}", num(sd)));
            }
            if c.n > 1 {
                s.push_str(&format!(" (n={})", c.n));
            }
            if c.estimated {
                s.push_str(" (est.)");
            }
            s
        }
        None => format!("n/a: {}", c.missing.as_deref().unwrap_or("unknown")),
    }
}

/// The comparison as a Markdown table; the best in each row in bold.
pub fn markdown(c: &Comparison) -> String {
    let esc = |s: &str| s.replace('|', "\\|");
    let mut out = String::from("## rigbench compare\n\n");
    if !c.forced_differences.is_empty() {
        out.push_str("**Compared with --force although they differ:**\n\n");
        for d in &c.forced_differences {
            out.push_str(&format!("- {}\n", esc(d)));
        }
        out.push('\n');
    }
    out.push_str("| figure |");
    for col in &c.columns {
        out.push_str(&format!(" {} |", esc(col)));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(c.columns.len()));
    out.push('\n');
    for row in &c.rows {
        let best = row.best_column();
        out.push_str(&format!("| {} ({}) |", row.label, row.unit));
        for (i, cell) in row.cells.iter().enumerate() {
            let t = esc(&cell_text(cell));
            if best == Some(i) {
                out.push_str(&format!(" **{t}** |"));
            } else {
                out.push_str(&format!(" {t} |"));
            }
        }
        out.push('\n');
    }
    out.push_str(
        "\nBest in each row in bold; ± is the standard deviation over repeats.\n\nResults:\n",
    );
    for (col, o) in c.columns.iter().zip(&c.origins) {
        out.push_str(&format!("- {}: `{}`\n", esc(col), o));
    }
    out
}

/// The comparison as a page: a warning when forced, the table, and throughput as bars.
pub fn html_page(c: &Comparison) -> String {
    let mut blocks = Vec::new();
    if !c.forced_differences.is_empty() {
        blocks.push(Block::Verdict {
            line: format!(
                "Compared with --force although they differ: {}",
                c.forced_differences.join("; ")
            ),
            profitable: Some(false),
        });
    }
    let mut header = vec!["figure".to_string()];
    header.extend(c.columns.iter().cloned());
    let mut marked = Vec::new();
    let rows: Vec<Vec<String>> = c
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            if let Some(b) = row.best_column() {
                marked.push((i, b + 1));
            }
            let mut cells = vec![format!("{} ({})", row.label, row.unit)];
            cells.extend(row.cells.iter().map(cell_text));
            cells
        })
        .collect();
    blocks.push(Block::Grid {
        heading:
            "Side by side (best in each row highlighted; ± is the standard deviation over repeats)"
                .into(),
        header,
        rows,
        marked,
    });
    for (id, label) in [
        ("chart-compare-throughput", "throughput"),
        ("chart-compare-energy", "energy"),
    ] {
        let Some(row) = c.rows.iter().find(|r| r.label == label) else {
            continue;
        };
        let chart = BarChart {
            title: format!("{} ({})", row.label, row.unit),
            unit: row.unit.to_string(),
            bars: c
                .columns
                .iter()
                .zip(&row.cells)
                .filter_map(|(col, cell)| {
                    let v = cell.value?;
                    Some(Bar {
                        label: col.split(' ').next().unwrap_or(col).to_string(),
                        value: v,
                        low: cell.spread.map(|s| v - s),
                        high: cell.spread.map(|s| v + s),
                    })
                })
                .collect(),
            note: None,
        };
        blocks.push(html::chart_block(
            id,
            &format!("{} ({})", row.label, row.unit),
            crate::report::charts::bars(&chart),
            "no result has this figure",
            Some("Whiskers: ± one standard deviation over repeats.".into()),
        ));
    }
    blocks.push(Block::Text {
        heading: "Results".into(),
        text: c
            .columns
            .iter()
            .zip(&c.origins)
            .map(|(col, o)| format!("{col}: {o}"))
            .collect::<Vec<_>>()
            .join("\n"),
    });
    html::page("rigbench compare", &blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(v: Option<f64>) -> Cell {
        Cell::one(v, false, "x")
    }

    #[test]
    fn best_column_by_direction() {
        let cases = [
            (Best::Higher, vec![Some(1.0), Some(3.0), Some(2.0)], Some(1)),
            (Best::Lower, vec![Some(1.0), Some(3.0), Some(2.0)], Some(0)),
            (Best::Lower, vec![None, Some(3.0), Some(2.0)], Some(2)),
            (Best::Higher, vec![None, Some(3.0)], None),
            (Best::Higher, vec![Some(2.0), Some(2.0)], Some(0)),
        ];
        for (best, values, want) in cases {
            let row = Row {
                label: "x",
                unit: "u",
                best,
                cells: values.into_iter().map(cell).collect(),
            };
            assert_eq!(row.best_column(), want);
        }
    }

    #[test]
    fn cells_show_spread_and_estimates() {
        let c = Cell::repeats(vec![1.0, 2.0, 3.0]);
        assert_eq!(cell_text(&c), "2.0000 ± 1.0000 (n=3)");
        assert_eq!(cell_text(&Cell::one(Some(5.0), true, "")), "5.0000 (est.)");
        assert_eq!(cell_text(&Cell::one(None, false, "no rig")), "n/a: no rig");
        assert_eq!(cell_text(&Cell::repeats(vec![])), "n/a: no repeat finished");
    }
}
