//! report.md: the same sections as the terminal table, as Markdown, for publishing a run.

use super::sections::{rows, Section};
use crate::result::RunResult;

/// The Markdown report of a run.
pub fn report(r: &RunResult) -> String {
    let mut out = format!(
        "# rigbench run\n\n- rigbench {}\n- started {} UTC, finished {} UTC{}\n- command: `{}`\n- host: {}\n\n",
        r.rigbench_version,
        r.started_utc.format("%Y-%m-%d %H:%M:%S"),
        r.finished_utc.format("%Y-%m-%d %H:%M:%S"),
        if r.partial { " (partial)" } else { "" },
        r.command_line.join(" "),
        crate::report::sections::host_line(r),
    );
    out.push_str(&render(&rows(r)));
    if !r.warnings.is_empty() {
        out.push_str("## Warnings\n\n");
        for w in &r.warnings {
            out.push_str(&format!("- {w}\n"));
        }
    }
    out
}

/// Sections as Markdown tables.
pub fn render(sections: &[Section]) -> String {
    let mut out = String::new();
    for s in sections {
        out.push_str(&format!("## {}\n\n| | |\n|---|---|\n", s.title));
        for (l, v) in &s.rows {
            out.push_str(&format!("| {} | {} |\n", escape(l), escape(v)));
        }
        out.push('\n');
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_table_snapshot() {
        let text = render(&[Section {
            title: "livepeer_bench".into(),
            rows: vec![("* Real-Time Segs Ratio *".into(), "1.0000".into())],
        }]);
        assert_eq!(
            text,
            "## livepeer_bench\n\n| | |\n|---|---|\n| * Real-Time Segs Ratio * | 1.0000 |\n\n"
        );
    }
}
