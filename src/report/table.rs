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

/// One label/value row.
pub(crate) fn row(label: &str, value: impl Into<String>) -> (String, String) {
    (label.to_string(), value.into())
}

/// livepeer_bench's summary lines, with its labels, for one summary.
pub fn livepeer_bench_rows(concurrent_sessions: u32, s: &Summary) -> Vec<(String, String)> {
    vec![
        row("Concurrent Sessions", concurrent_sessions.to_string()),
        row("Total Segs Transcoded", s.total_segments.to_string()),
        row("Real-Time Segs Transcoded", s.realtime_segments.to_string()),
        row(
            "* Real-Time Segs Ratio *",
            format!("{:.4}", s.realtime_segs_ratio),
        ),
        row("Total Source Duration", format!("{:.3}s", s.source_seconds)),
        row(
            "Total Transcoding Duration",
            format!("{:.3}s", s.total_transcode_seconds),
        ),
        row(
            "* Real-Time Duration Ratio *",
            format!("{:.4}", s.realtime_duration_ratio),
        ),
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
                s.latency_seconds.p50,
                s.latency_seconds.p95,
                s.latency_seconds.p99,
                s.latency_seconds.max
            ),
        ),
        row(
            "Bytes in / out",
            format!("{} / {} B", s.bytes_in, s.bytes_out),
        ),
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
                r.source.width,
                r.source.height,
                r.source.codec,
                r.source.fps,
                r.source.duration_seconds
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
    out.extend(super::sections::quality(r));
    out.extend(super::sections::payments(r));
    out.extend(super::sections::power(r));
    out.extend(super::sections::bandwidth(r));
    out.extend(super::sections::economics(r));
    if r.partial {
        out.push(Section {
            title: "Note".into(),
            rows: vec![row(
                "Partial run",
                "figures cover the finished segments only",
            )],
        });
    }
    out
}

/// Values longer than this wrap onto continuation lines, so the table fits a terminal.
pub const MAX_VALUE_WIDTH: usize = 72;

/// Splits a value into lines of at most `width` characters, at spaces where possible.
pub fn wrap(value: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in value.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let len = line.chars().count();
            let sep = usize::from(len > 0);
            if len + sep + word.len() <= width {
                if sep == 1 {
                    line.push(' ');
                }
                line.extend(word.iter());
                break;
            }
            if len > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // A single word longer than the width: cut it.
            let rest = word.split_off(width.min(word.len()));
            lines.push(word.into_iter().collect());
            word = rest;
            if word.is_empty() {
                break;
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Renders sections as a boxed terminal table.
pub fn render(sections: &[Section]) -> String {
    let wrapped: Vec<Vec<(String, Vec<String>)>> = sections
        .iter()
        .map(|s| {
            s.rows
                .iter()
                .map(|(l, v)| (l.clone(), wrap(v, MAX_VALUE_WIDTH)))
                .collect()
        })
        .collect();
    let w0 = sections
        .iter()
        .flat_map(|s| s.rows.iter().map(|(l, _)| l.chars().count()))
        .max()
        .unwrap_or(0);
    let w1 = wrapped
        .iter()
        .flatten()
        .flat_map(|(_, lines)| lines.iter().map(|v| v.chars().count()))
        .max()
        .unwrap_or(0);
    let rule = format!("+{}+{}+\n", "-".repeat(w0 + 2), "-".repeat(w1 + 2));
    let mut out = String::new();
    for (s, rows) in sections.iter().zip(&wrapped) {
        out.push_str(&format!("{}\n", s.title));
        out.push_str(&rule);
        for (l, lines) in rows {
            for (i, v) in lines.iter().enumerate() {
                let label = if i == 0 { l.as_str() } else { "" };
                out.push_str(&format!("| {label:<w0$} | {v:<w1$} |\n"));
            }
        }
        out.push_str(&rule);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_wrap_at_spaces() {
        assert_eq!(wrap("a bb ccc", 4), vec!["a bb", "ccc"]);
        assert_eq!(wrap("abcdefgh", 3), vec!["abc", "def", "gh"]);
        assert_eq!(wrap("", 5), vec![""]);
        assert_eq!(wrap("short", 72), vec!["short"]);
    }

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
