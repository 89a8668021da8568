//! The terminal table: renders sections (built in [`super::sections`]) as a boxed table, wrapping
//! long values. It builds nothing itself.

// Where the sections used to live; kept so callers of `table::rows` keep working.
pub use super::sections::{livepeer_bench_rows, rows, throughput_rows, Section};

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
    use crate::result::Summary;

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
