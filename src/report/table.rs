//! The end-of-run table: livepeer_bench's lines first (same labels), then what rigbench adds.
//! The rows are built once ([`rows`]) and rendered as a terminal table here or as Markdown in
//! [`super::markdown`].

use crate::result::{RunResult, Summary};

/// A titled group of label/value rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub title: String,
    pub rows: Vec<(String, String)>,
}

fn row(label: &str, value: impl Into<String>) -> (String, String) {
    (label.to_string(), value.into())
}

/// livepeer_bench's summary lines, with its labels, for one summary.
pub fn livepeer_bench_rows(concurrent_sessions: u32, s: &Summary) -> Vec<(String, String)> {
    vec![
        row("Concurrent Sessions", concurrent_sessions.to_string()),
        row("Total Segs Transcoded", s.total_segments.to_string()),
        row("Real-Time Segs Transcoded", s.realtime_segments.to_string()),
        row("* Real-Time Segs Ratio *", format!("{:.4}", s.realtime_segs_ratio)),
        row("Total Source Duration", format!("{:.3}s", s.source_seconds)),
        row("Total Transcoding Duration", format!("{:.3}s", s.total_transcode_seconds)),
        row("* Real-Time Duration Ratio *", format!("{:.4}", s.realtime_duration_ratio)),
    ]
}

/// rigbench's additions for one summary.
pub fn throughput_rows(s: &Summary) -> Vec<(String, String)> {
    vec![
        row("Wall-clock time", format!("{:.3} s", s.wall_seconds)),
        row("Throughput", format!("{:.2}x real time", s.throughput_x)),
        row("Output frame rate", format!("{:.1} fps", s.output_fps)),
        row(
            "Output pixel rate",
            format!("{:.2} Mpixel/s", s.output_pixels_per_second / 1e6),
        ),
        row(
            "Latency p50 / p95 / p99 / max",
            format!(
                "{:.3} / {:.3} / {:.3} / {:.3} s",
                s.latency_seconds.p50, s.latency_seconds.p95, s.latency_seconds.p99, s.latency_seconds.max
            ),
        ),
        row("Bytes in / out", format!("{} / {} B", s.bytes_in, s.bytes_out)),
        row("Decode errors", s.decode_errors.to_string()),
        row(
            "Renditions valid",
            format!(
                "{} of {}",
                s.validation.renditions_checked - s.validation.renditions_failed,
                s.validation.renditions_checked
            ),
        ),
    ]
}

/// Every section of the end-of-run table.
pub fn rows(r: &RunResult) -> Vec<Section> {
    let mut out = Vec::new();
    if r.repeats.len() > 1 {
        for (i, s) in r.repeats.iter().enumerate() {
            out.push(Section {
                title: format!("Repeat {} of {}", i + 1, r.repeats.len()),
                rows: livepeer_bench_rows(r.sessions.concurrent_sessions, s),
            });
        }
    }
    out.push(Section {
        title: if r.repeats.len() > 1 {
            "All repeats (livepeer_bench)".into()
        } else {
            "livepeer_bench".into()
        },
        rows: livepeer_bench_rows(r.sessions.concurrent_sessions, &r.summary),
    });
    let mut rig = vec![
        row(
            "Backend",
            match &r.backend.fallback_reason {
                Some(why) => format!("{} (auto fell back: {why})", r.backend.used),
                None => r.backend.used.clone(),
            },
        ),
        row("Encoders", r.backend.encoders.join(", ")),
        row(
            "Source",
            format!(
                "{}x{} {} {:.2} fps, {:.2} s",
                r.source.width, r.source.height, r.source.codec, r.source.fps, r.source.duration_seconds
            ),
        ),
        row(
            "Ladder",
            r.ladder
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ];
    rig.extend(throughput_rows(&r.summary));
    out.push(Section {
        title: "rigbench".into(),
        rows: rig,
    });
    out.extend(super::sections::payments(r));
    out.extend(super::sections::power(r));
    out.extend(super::sections::bandwidth(r));
    out.extend(super::sections::economics(r));
    if r.partial {
        out.push(Section {
            title: "Note".into(),
            rows: vec![row("Partial run", "figures cover the finished segments only")],
        });
    }
    out
}

/// Renders sections as a boxed terminal table.
pub fn render(sections: &[Section]) -> String {
    let w0 = sections
        .iter()
        .flat_map(|s| s.rows.iter().map(|(l, _)| l.chars().count()))
        .max()
        .unwrap_or(0);
    let w1 = sections
        .iter()
        .flat_map(|s| s.rows.iter().map(|(_, v)| v.chars().count()))
        .max()
        .unwrap_or(0);
    let rule = format!("+{}+{}+\n", "-".repeat(w0 + 2), "-".repeat(w1 + 2));
    let mut out = String::new();
    for s in sections {
        out.push_str(&format!("{}\n", s.title));
        out.push_str(&rule);
        for (l, v) in &s.rows {
            out.push_str(&format!("| {l:<w0$} | {v:<w1$} |\n"));
        }
        out.push_str(&rule);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn livepeer_bench_labels_are_exact() {
        let s = Summary {
            total_segments: 3,
            realtime_segments: 3,
            realtime_segs_ratio: 1.0,
            realtime_duration_ratio: 0.25,
            total_transcode_seconds: 1.32,
            source_seconds: 5.28,
            ..Summary::default()
        };
        let text = render(&[Section {
            title: "livepeer_bench".into(),
            rows: livepeer_bench_rows(1, &s),
        }]);
        assert_eq!(
            text,
            "livepeer_bench\n\
             +------------------------------+--------+\n\
             | Concurrent Sessions          | 1      |\n\
             | Total Segs Transcoded        | 3      |\n\
             | Real-Time Segs Transcoded    | 3      |\n\
             | * Real-Time Segs Ratio *     | 1.0000 |\n\
             | Total Source Duration        | 5.280s |\n\
             | Total Transcoding Duration   | 1.320s |\n\
             | * Real-Time Duration Ratio * | 0.2500 |\n\
             +------------------------------+--------+\n"
        );
    }
}
