//! The charts of report.html, each drawn by plotters' SVG backend into an SVG string from plain
//! data. Estimated series are drawn dashed and labelled "(estimated)", as the tables label them.
//! A chart with nothing to draw returns `None`; the page then says what is missing.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::result::SegmentRecord;

/// Width and height of every chart, pixels (the page scales them down on a phone).
pub const CHART_SIZE: (u32, u32) = (880, 360);

const FONT: &str = "sans-serif";
/// Colours for sessions and series, in order (Okabe–Ito, readable by colour-blind readers).
const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(120, 120, 120),
];
const DEADLINE: RGBColor = RGBColor(200, 30, 30);
const GOOD: RGBColor = RGBColor(0, 140, 90);
const BAD: RGBColor = RGBColor(200, 40, 40);

/// Why a chart could not be drawn (plotters' backend error, as text).
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the {chart} chart: {message}")]
pub struct ChartError {
    pub chart: &'static str,
    pub message: String,
}

fn err<E: std::fmt::Display>(chart: &'static str) -> impl Fn(E) -> ChartError {
    move |e| ChartError {
        chart,
        message: e.to_string(),
    }
}

/// Draws into a fresh SVG string of [`CHART_SIZE`].
fn svg<F>(chart: &'static str, draw: F) -> Result<String, ChartError>
where
    F: FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), ChartError>,
{
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, CHART_SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(err(chart))?;
        draw(&root)?;
        root.present().map_err(err(chart))?;
    }
    Ok(out)
}

/// An axis range that holds every value with a little room, never empty.
fn span(lo: f64, hi: f64) -> std::ops::Range<f64> {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() {
        (lo.min(hi), lo.max(hi))
    } else {
        (0.0, 1.0)
    };
    let pad = ((hi - lo) * 0.08).max(1e-9);
    if hi - lo < 1e-12 {
        let d = if hi.abs() > 0.0 { hi.abs() * 0.1 } else { 1.0 };
        return (lo - d)..(hi + d);
    }
    (lo - pad)..(hi + pad)
}

fn max_of(values: impl Iterator<Item = f64>) -> f64 {
    values.filter(|v| v.is_finite()).fold(0.0, f64::max)
}

/// Transcode time of each segment, one series per session, against the segment's own duration
/// (the real-time line: a point above it missed its deadline). X is the segment's position in
/// the whole run (repeats one after another).
pub fn segments(records: &[SegmentRecord]) -> Result<Option<String>, ChartError> {
    if records.is_empty() {
        return Ok(None);
    }
    let per_repeat = records.iter().map(|r| r.segment).max().unwrap_or(0) + 1;
    let x = |r: &SegmentRecord| f64::from(r.repeat * per_repeat + r.segment);
    let x_max = records.iter().map(x).fold(0.0, f64::max);
    let y_max = max_of(records.iter().flat_map(|r| [r.transcode_time, r.seg_dur]));
    let mut sessions: Vec<u32> = records.iter().map(|r| r.session).collect();
    sessions.sort_unstable();
    sessions.dedup();
    let name = "segments";
    svg(name, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                "Transcode time per segment vs the segment's duration",
                (FONT, 18),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.5..x_max + 0.5, 0.0..y_max * 1.15)
            .map_err(err(name))?;
        chart
            .configure_mesh()
            .x_desc("segment (in run order)")
            .y_desc("seconds")
            .label_style((FONT, 13))
            .draw()
            .map_err(err(name))?;
        // The deadline: each segment's duration, one step per segment (the first session's
        // segments; every session plays the same source).
        let mut deadline: Vec<(f64, f64)> = Vec::new();
        let first = sessions[0];
        let mut own: Vec<&SegmentRecord> = records.iter().filter(|r| r.session == first).collect();
        own.sort_by(|a, b| x(a).total_cmp(&x(b)));
        for r in own {
            deadline.push((x(r) - 0.5, r.seg_dur));
            deadline.push((x(r) + 0.5, r.seg_dur));
        }
        chart
            .draw_series(LineSeries::new(deadline, DEADLINE.stroke_width(2)))
            .map_err(err(name))?
            .label("segment duration (real-time line)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], DEADLINE.stroke_width(2)));
        for (i, s) in sessions.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            let mut pts: Vec<(f64, f64)> = records
                .iter()
                .filter(|r| r.session == *s)
                .map(|r| (x(r), r.transcode_time))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            chart
                .draw_series(LineSeries::new(pts.clone(), colour.mix(0.5)))
                .map_err(err(name))?;
            chart
                .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, colour.filled())))
                .map_err(err(name))?
                .label(format!("session {s}"))
                .legend(move |(x, y)| Circle::new((x + 9, y), 3, colour.filled()));
        }
        legend(&mut chart, name)
    })
    .map(Some)
}

/// The distribution of per-segment transcode latency, with the p50 and p95 marked.
pub fn latency(
    records: &[SegmentRecord],
    p50: f64,
    p95: f64,
) -> Result<Option<String>, ChartError> {
    let values: Vec<f64> = records
        .iter()
        .map(|r| r.transcode_time)
        .filter(|v| v.is_finite())
        .collect();
    if values.is_empty() {
        return Ok(None);
    }
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(0.0, f64::max);
    let bins = bin_count(values.len());
    let width = ((hi - lo) / bins as f64).max(1e-6);
    let mut counts = vec![0u32; bins];
    for v in &values {
        let k = (((v - lo) / width) as usize).min(bins - 1);
        counts[k] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(1);
    let name = "latency";
    svg(name, |root| {
        let x0 = lo - width * 0.5;
        let x1 = lo + width * (bins as f64 + 0.5);
        let mut chart = ChartBuilder::on(root)
            .caption("Per-segment transcode latency", (FONT, 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(x0..x1, 0u32..top + 1)
            .map_err(err(name))?;
        chart
            .configure_mesh()
            .x_desc("transcode time, seconds")
            .y_desc("segments")
            .label_style((FONT, 13))
            .draw()
            .map_err(err(name))?;
        chart
            .draw_series(counts.iter().enumerate().map(|(k, c)| {
                let a = lo + width * k as f64;
                Rectangle::new(
                    [(a, 0), (a + width * 0.95, *c)],
                    PALETTE[0].mix(0.8).filled(),
                )
            }))
            .map_err(err(name))?;
        for (label, v, colour) in [("p50", p50, PALETTE[2]), ("p95", p95, DEADLINE)] {
            chart
                .draw_series(LineSeries::new(
                    vec![(v, 0), (v, top + 1)],
                    colour.stroke_width(2),
                ))
                .map_err(err(name))?
                .label(format!("{label} {v:.3} s"))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
        }
        legend(&mut chart, name)
    })
    .map(Some)
}

/// Histogram bins: about √n, between 5 and 40.
pub fn bin_count(n: usize) -> usize {
    ((n as f64).sqrt().ceil() as usize).clamp(5, 40)
}

/// One power series of power.csv: a device or the whole rig.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerSeries {
    /// Device name as power.csv's column names it (`rig` for the whole rig at the wall).
    pub label: String,
    /// True when the column is a model's estimate (`*_watts_estimated`).
    pub estimated: bool,
    /// (seconds since the start of sampling, watts); samples without a reading are left out.
    pub points: Vec<(f64, f64)>,
}

/// Reads the watts columns of power.csv (`t_seconds`, `<device>_watts[_estimated]`, ...,
/// `rig_watts[_estimated]`) into series. Columns with no reading at all are left out.
pub fn power_series_from_csv(bytes: &[u8]) -> Vec<PowerSeries> {
    let mut rd = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let Ok(headers) = rd.headers().cloned() else {
        return Vec::new();
    };
    let mut series: Vec<(usize, PowerSeries)> = headers
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            let (label, estimated) = if let Some(d) = h.strip_suffix("_watts_estimated") {
                (d, true)
            } else if let Some(d) = h.strip_suffix("_watts") {
                (d, false)
            } else {
                return None;
            };
            Some((
                i,
                PowerSeries {
                    label: label.to_string(),
                    estimated,
                    points: Vec::new(),
                },
            ))
        })
        .collect();
    for row in rd.records().map_while(Result::ok) {
        let Some(t) = row.get(0).and_then(|t| t.parse::<f64>().ok()) else {
            continue;
        };
        for (i, s) in series.iter_mut() {
            if let Some(w) = row.get(*i).and_then(|v| v.parse::<f64>().ok()) {
                if w.is_finite() {
                    s.points.push((t, w));
                }
            }
        }
    }
    series
        .into_iter()
        .map(|(_, s)| s)
        .filter(|s| !s.points.is_empty())
        .collect()
}

/// Watts over time, one line per device and one for the rig; estimated series dashed.
pub fn power(series: &[PowerSeries]) -> Result<Option<String>, ChartError> {
    if series.is_empty() {
        return Ok(None);
    }
    let t_max = max_of(series.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
    let w_max = max_of(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    let any_est = series.iter().any(|s| s.estimated);
    let name = "power";
    svg(name, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                if any_est {
                    "Power over time (dashed = estimated from the rig's model)"
                } else {
                    "Power over time (measured)"
                },
                (FONT, 18),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..t_max.max(1e-3), 0.0..(w_max * 1.15).max(1.0))
            .map_err(err(name))?;
        chart
            .configure_mesh()
            .x_desc("seconds since sampling started")
            .y_desc("watts")
            .label_style((FONT, 13))
            .draw()
            .map_err(err(name))?;
        for (i, s) in series.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            let label = format!(
                "{}{}",
                s.label,
                if s.estimated {
                    " (estimated)"
                } else {
                    " (measured)"
                }
            );
            let style = colour.stroke_width(2);
            let anno = if s.estimated {
                chart
                    .draw_series(DashedLineSeries::new(s.points.clone(), 6, 4, style))
                    .map_err(err(name))?
            } else {
                chart
                    .draw_series(LineSeries::new(s.points.clone(), style))
                    .map_err(err(name))?
            };
            anno.label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        }
        legend(&mut chart, name)
    })
    .map(Some)
}

/// Megabits per second in and out over the run (one value per second of the run).
pub fn bandwidth(mbps_in: &[f64], mbps_out: &[f64]) -> Result<Option<String>, ChartError> {
    if mbps_in.is_empty() && mbps_out.is_empty() {
        return Ok(None);
    }
    let n = mbps_in.len().max(mbps_out.len());
    let y_max = max_of(mbps_in.iter().chain(mbps_out).copied());
    let name = "bandwidth";
    svg(name, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Bandwidth (segments in, renditions out)", (FONT, 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..(n as f64).max(1.0), 0.0..(y_max * 1.15).max(0.1))
            .map_err(err(name))?;
        chart
            .configure_mesh()
            .x_desc("second of the run")
            .y_desc("Mbps")
            .label_style((FONT, 13))
            .draw()
            .map_err(err(name))?;
        for (label, values, colour) in [("in", mbps_in, PALETTE[0]), ("out", mbps_out, PALETTE[1])]
        {
            let pts: Vec<(f64, f64)> = values
                .iter()
                .enumerate()
                .map(|(i, v)| (i as f64 + 0.5, *v))
                .collect();
            let style = colour.stroke_width(2);
            chart
                .draw_series(LineSeries::new(pts, style))
                .map_err(err(name))?
                .label(format!("{label}, Mbps"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        }
        legend(&mut chart, name)
    })
    .map(Some)
}

/// One step of the money waterfall: a signed amount, or unknown.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub label: String,
    /// Dollars per hour; positive adds, negative takes away; None = unknown.
    pub usd_per_hour: Option<f64>,
    pub estimated: bool,
}

/// The money as a waterfall: each step a floating bar from the running total, then the margin as
/// a full bar (drawn only when every step is known).
pub fn waterfall(steps: &[Step], title: &str) -> Result<Option<String>, ChartError> {
    if steps.is_empty() {
        return Ok(None);
    }
    let mut total = 0.0;
    let mut bars = Vec::new(); // (label, from, to, colour, estimated, unknown)
    let mut known = true;
    for s in steps {
        match s.usd_per_hour {
            Some(v) if known => {
                let colour = if v >= 0.0 { GOOD } else { BAD };
                bars.push((
                    s.label.clone(),
                    total,
                    total + v,
                    colour,
                    s.estimated,
                    false,
                ));
                total += v;
            }
            _ => {
                known = false;
                bars.push((s.label.clone(), total, total, PALETTE[6], s.estimated, true));
            }
        }
    }
    let margin_label = if known { "margin" } else { "margin (unknown)" };
    bars.push((
        margin_label.to_string(),
        0.0,
        if known { total } else { 0.0 },
        if total >= 0.0 { PALETTE[0] } else { BAD },
        steps.iter().any(|s| s.estimated),
        !known,
    ));
    let lo = bars.iter().flat_map(|b| [b.1, b.2]).fold(0.0, f64::min);
    let hi = bars.iter().flat_map(|b| [b.1, b.2]).fold(0.0, f64::max);
    let n = bars.len();
    let name = "money";
    svg(name, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(56)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..n as f64, span(lo, hi))
            .map_err(err(name))?;
        let labels: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n * 2 + 1)
            .x_label_formatter(&|x| {
                let k = x.floor() as usize;
                if (x - x.floor() - 0.5).abs() < 0.01 && k < labels.len() {
                    labels[k].clone()
                } else {
                    String::new()
                }
            })
            .y_desc("US$ per rig-hour")
            .label_style((FONT, 12))
            .draw()
            .map_err(err(name))?;
        for (k, (label, from, to, colour, est, unknown)) in bars.iter().enumerate() {
            let x0 = k as f64 + 0.15;
            let x1 = k as f64 + 0.85;
            let (a, b) = (from.min(*to), from.max(*to));
            let style = if *unknown {
                colour.mix(0.25).filled()
            } else if *est {
                colour.mix(0.45).filled()
            } else {
                colour.filled()
            };
            chart
                .draw_series(std::iter::once(Rectangle::new([(x0, a), (x1, b)], style)))
                .map_err(err(name))?;
            let text = if *unknown {
                "unknown".to_string()
            } else {
                format!("{:+.4}{}", to - from, if *est { " est." } else { "" })
            };
            let text = if label.starts_with("margin") && !*unknown {
                format!("{:.4}{}", to, if *est { " est." } else { "" })
            } else {
                text
            };
            chart
                .draw_series(std::iter::once(Text::new(
                    text,
                    (x0, b),
                    (FONT, 12).into_font().color(&BLACK),
                )))
                .map_err(err(name))?;
        }
        chart
            .draw_series(LineSeries::new(vec![(0.0, 0.0), (n as f64, 0.0)], BLACK))
            .map_err(err(name))?;
        Ok(())
    })
    .map(Some)
}

/// The margin grid as a heat map: rows are prices, columns electricity prices; green is profit,
/// red loss, grey unknown. Each cell carries its value.
pub fn heatmap(
    rows: &[f64],
    cols: &[f64],
    cells: &[Vec<Option<f64>>],
    row_desc: &str,
    col_desc: &str,
) -> Result<Option<String>, ChartError> {
    if rows.is_empty() || cols.is_empty() || cells.is_empty() {
        return Ok(None);
    }
    let extreme = cells
        .iter()
        .flatten()
        .flatten()
        .fold(0.0f64, |m, v| m.max(v.abs()))
        .max(1e-12);
    let name = "sensitivity";
    let (nr, nc) = (rows.len(), cols.len());
    svg(name, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Margin per rig-hour, US$ (sensitivity)", (FONT, 18))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(96)
            .build_cartesian_2d(0.0..nc as f64, 0.0..nr as f64)
            .map_err(err(name))?;
        let col_labels: Vec<String> = cols.iter().map(|c| format!("{c}")).collect();
        let row_labels: Vec<String> = rows.iter().map(|r| format!("{r}")).collect();
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(nc * 2 + 1)
            .y_labels(nr * 2 + 1)
            .x_label_formatter(&|x| centre_label(*x, &col_labels))
            .y_label_formatter(&|y| centre_label(*y, &row_labels))
            .x_desc(col_desc)
            .y_desc(row_desc)
            .label_style((FONT, 12))
            .draw()
            .map_err(err(name))?;
        for (i, row) in cells.iter().enumerate().take(nr) {
            for (j, cell) in row.iter().enumerate().take(nc) {
                let (fill, text) = match cell {
                    Some(v) => {
                        let a = (v.abs() / extreme).clamp(0.08, 1.0);
                        let base = if *v >= 0.0 { GOOD } else { BAD };
                        (base.mix(a).filled(), format!("{v:.3}"))
                    }
                    None => (PALETTE[6].mix(0.3).filled(), "unknown".to_string()),
                };
                let (x, y) = (j as f64, i as f64);
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(x + 0.02, y + 0.02), (x + 0.98, y + 0.98)],
                        fill,
                    )))
                    .map_err(err(name))?;
                chart
                    .draw_series(std::iter::once(Text::new(
                        text,
                        (x + 0.12, y + 0.6),
                        (FONT, 12).into_font().color(&BLACK),
                    )))
                    .map_err(err(name))?;
            }
        }
        Ok(())
    })
    .map(Some)
}

/// Label `labels[k]` at the centre of cell k (x = k + 0.5), nothing elsewhere.
fn centre_label(x: f64, labels: &[String]) -> String {
    let k = x.floor();
    if k >= 0.0 && (x - k - 0.5).abs() < 0.01 && (k as usize) < labels.len() {
        labels[k as usize].clone()
    } else {
        String::new()
    }
}

/// One tried session count of a capacity search.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CapacityPoint {
    /// Concurrent sessions tried.
    pub sessions: u32,
    /// The real-time figure measured at that count (livepeer_bench's Real-Time Segs Ratio, or
    /// whatever ratio the search judged by: `ratio_label` names it).
    pub ratio: f64,
    /// Whether the count met the search's bar.
    pub passed: bool,
    /// Which repeat of that count this point is (0-based).
    pub repeat: u32,
}

/// A capacity search as plain data: what `rigbench capacity` hands to [`capacity_curve`] and to
/// the page (`super::html::capacity_page`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CapacityCurve {
    pub points: Vec<CapacityPoint>,
    /// The bar a count had to meet (e.g. 1.0 for every segment in real time, or 0.95).
    pub headroom: f64,
    /// The largest count that passed; None when none did.
    pub found: Option<u32>,
    /// What `ratio` is, for the axis (e.g. "Real-Time Segs Ratio").
    pub ratio_label: String,
}

/// Ratio against sessions, each tried count a point (filled when it passed), with the bar as a
/// line and the capacity found marked.
pub fn capacity_curve(c: &CapacityCurve) -> Result<Option<String>, ChartError> {
    if c.points.is_empty() {
        return Ok(None);
    }
    let s_max = c.points.iter().map(|p| p.sessions).max().unwrap_or(1);
    let r_max = max_of(c.points.iter().map(|p| p.ratio).chain([c.headroom]));
    let name = "capacity";
    svg(name, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Capacity search", (FONT, 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..f64::from(s_max) + 1.0, 0.0..r_max * 1.15)
            .map_err(err(name))?;
        chart
            .configure_mesh()
            .x_desc("concurrent sessions")
            .y_desc(c.ratio_label.as_str())
            .label_style((FONT, 13))
            .draw()
            .map_err(err(name))?;
        chart
            .draw_series(DashedLineSeries::new(
                vec![(0.0, c.headroom), (f64::from(s_max) + 1.0, c.headroom)],
                6,
                4,
                DEADLINE.stroke_width(2),
            ))
            .map_err(err(name))?
            .label(format!("bar {:.3}", c.headroom))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], DEADLINE.stroke_width(2)));
        // The mean at each count, as a line.
        let mut counts: Vec<u32> = c.points.iter().map(|p| p.sessions).collect();
        counts.sort_unstable();
        counts.dedup();
        let means: Vec<(f64, f64)> = counts
            .iter()
            .map(|s| {
                let v: Vec<f64> = c
                    .points
                    .iter()
                    .filter(|p| p.sessions == *s)
                    .map(|p| p.ratio)
                    .collect();
                (f64::from(*s), v.iter().sum::<f64>() / v.len() as f64)
            })
            .collect();
        chart
            .draw_series(LineSeries::new(means, PALETTE[0].stroke_width(2)))
            .map_err(err(name))?;
        chart
            .draw_series(
                c.points
                    .iter()
                    .filter(|p| p.passed)
                    .map(|p| Circle::new((f64::from(p.sessions), p.ratio), 5, GOOD.filled())),
            )
            .map_err(err(name))?
            .label("passed")
            .legend(|(x, y)| Circle::new((x + 9, y), 5, GOOD.filled()));
        chart
            .draw_series(
                c.points
                    .iter()
                    .filter(|p| !p.passed)
                    .map(|p| Circle::new((f64::from(p.sessions), p.ratio), 5, BAD.stroke_width(2))),
            )
            .map_err(err(name))?
            .label("failed")
            .legend(|(x, y)| Circle::new((x + 9, y), 5, BAD.stroke_width(2)));
        if let Some(found) = c.found {
            chart
                .draw_series(LineSeries::new(
                    vec![(f64::from(found), 0.0), (f64::from(found), r_max * 1.15)],
                    PALETTE[2].stroke_width(2),
                ))
                .map_err(err(name))?
                .label(format!("capacity: {found} sessions"))
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], PALETTE[2].stroke_width(2))
                });
        }
        legend(&mut chart, name)
    })
    .map(Some)
}

/// One bar of a bar chart.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    /// Spread as (low, high), e.g. the p5 and p95 over replications.
    pub low: Option<f64>,
    pub high: Option<f64>,
}

/// Bars with their spread, in one unit, as plain data: `rigbench market` hands its figures to
/// the page as one ([`MarketFigures`]), `rigbench compare` draws a row of its table with one.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BarChart {
    pub title: String,
    /// The unit of every bar (e.g. "US$ per day").
    pub unit: String,
    pub bars: Vec<Bar>,
    /// Shown under the chart (e.g. "simulated: 20 runs, seed 1").
    pub note: Option<String>,
}

/// The market's figures: this rig's profit, share, ... as bars with their spread over runs.
pub type MarketFigures = BarChart;

/// Bars with whiskers from `low` to `high`.
pub fn bars(m: &BarChart) -> Result<Option<String>, ChartError> {
    if m.bars.is_empty() {
        return Ok(None);
    }
    let vals = m
        .bars
        .iter()
        .flat_map(|b| [Some(b.value), b.low, b.high])
        .flatten();
    let lo = vals.clone().fold(0.0, f64::min);
    let hi = vals.fold(0.0, f64::max);
    let n = m.bars.len();
    let name = "bar";
    svg(name, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(m.title.as_str(), (FONT, 18))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..n as f64, span(lo, hi))
            .map_err(err(name))?;
        let labels: Vec<String> = m.bars.iter().map(|b| b.label.clone()).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n * 2 + 1)
            .x_label_formatter(&|x| centre_label(*x, &labels))
            .y_desc(m.unit.as_str())
            .label_style((FONT, 12))
            .draw()
            .map_err(err(name))?;
        for (k, b) in m.bars.iter().enumerate() {
            let x = k as f64;
            let colour = if b.value >= 0.0 { PALETTE[0] } else { BAD };
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x + 0.2, 0.0), (x + 0.8, b.value)],
                    colour.filled(),
                )))
                .map_err(err(name))?;
            if let (Some(l), Some(h)) = (b.low, b.high) {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(x + 0.5, l), (x + 0.5, h)],
                        BLACK.stroke_width(2),
                    )))
                    .map_err(err(name))?;
            }
        }
        Ok(())
    })
    .map(Some)
}

fn legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    name: &'static str,
) -> Result<(), ChartError>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font((FONT, 13))
        .draw()
        .map_err(err(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_csv_columns_become_series() {
        let csv = "t_seconds,cpu0_watts_estimated,cpu0_energy_joules,cpu0_utilisation_percent,gpu0_watts,rig_watts_estimated\n\
                   0.100,10.0,,50.0,,30.0\n\
                   0.200,12.0,,55.0,,32.0\n";
        let s = power_series_from_csv(csv.as_bytes());
        let got: Vec<(&str, bool, usize)> = s
            .iter()
            .map(|s| (s.label.as_str(), s.estimated, s.points.len()))
            .collect();
        // gpu0 has no reading at all: left out.
        assert_eq!(got, vec![("cpu0", true, 2), ("rig", true, 2)]);
        assert_eq!(s[1].points[1], (0.2, 32.0));
        assert!(power_series_from_csv(b"").is_empty());
        assert!(power_series_from_csv(b"garbage\n\x01\x02").is_empty());
    }

    #[test]
    fn bins_follow_square_root_within_bounds() {
        for (n, want) in [(1, 5), (16, 5), (100, 10), (401, 21), (1_000_000, 40)] {
            assert_eq!(bin_count(n), want, "n = {n}");
        }
    }

    #[test]
    fn spans_are_never_empty() {
        for (lo, hi) in [(0.0, 0.0), (5.0, 5.0), (-1.0, 2.0), (f64::NAN, 1.0)] {
            let r = span(lo, hi);
            assert!(r.end > r.start, "{lo}..{hi} gave {r:?}");
        }
    }

    #[test]
    fn empty_inputs_draw_nothing() {
        assert!(segments(&[]).unwrap().is_none());
        assert!(latency(&[], 0.0, 0.0).unwrap().is_none());
        assert!(power(&[]).unwrap().is_none());
        assert!(bandwidth(&[], &[]).unwrap().is_none());
        assert!(waterfall(&[], "m").unwrap().is_none());
        assert!(heatmap(&[], &[], &[], "r", "c").unwrap().is_none());
    }

    #[test]
    fn waterfall_with_unknown_step_draws_unknown_margin() {
        let steps = vec![
            Step {
                label: "fees".into(),
                usd_per_hour: Some(1.0),
                estimated: false,
            },
            Step {
                label: "power".into(),
                usd_per_hour: None,
                estimated: false,
            },
        ];
        let svg = waterfall(&steps, "Money").unwrap().unwrap();
        assert!(svg.contains("margin (unknown)"), "{svg}");
        assert!(svg.starts_with("<svg"));
    }
}
