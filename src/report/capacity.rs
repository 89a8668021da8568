//! `rigbench capacity`'s presentation: capacity.csv (one row per probe repeat, flushed as each
//! probe ends), the progress line with an ETA for the whole search, and the end-of-search table.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::capacity::result::{CapacityResult, ProbeRecord};

/// capacity.csv's header.
pub const CSV_HEADER: &[&str] = &[
    "phase",
    "sessions",
    "repeat",
    "gpus",
    "finished",
    "realtime_duration_ratio",
    "p95_segment_ratio",
    "sessions_falling_behind",
    "segments_judged",
    "passed",
    "wall_seconds",
    "run_dir",
    "transcode_ratio",
    "upload_ratio",
    "download_ratio",
    "segments_lost",
    "wire_mbps_up_per_stream",
    "wire_mbps_down_per_stream",
];

/// One capacity.csv row, newline-terminated.
pub fn csv_row(r: &ProbeRecord) -> String {
    let gpus = r
        .gpus
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(" ");
    // Network mode's columns stay empty for an in-process search.
    let opt = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_default();
    let wire = match &r.network {
        Some(n) => format!(
            "{:.4},{:.4},{:.4},{},{},{}",
            n.transcode_ratio,
            n.upload_ratio,
            n.download_ratio,
            n.segments_lost,
            opt(n.wire_mbps_up_per_stream),
            opt(n.wire_mbps_down_per_stream)
        ),
        None => ",,,,,".to_string(),
    };
    format!(
        "{},{},{},{},{},{:.4},{:.4},{},{},{},{:.3},{},{wire}\n",
        r.phase,
        r.sessions,
        r.repeat,
        gpus,
        r.finished,
        r.realtime_duration_ratio,
        r.p95_segment_ratio,
        r.sessions_falling_behind,
        r.segments_judged,
        r.passed,
        r.wall_seconds,
        r.run_dir
    )
}

/// Writes capacity.csv row by row, flushing each.
pub struct ProbesCsv {
    out: BufWriter<File>,
}

impl ProbesCsv {
    pub fn create(path: &Path) -> Result<Self> {
        let mut out = BufWriter::new(File::create(path)?);
        out.write_all(format!("{}\n", CSV_HEADER.join(",")).as_bytes())?;
        out.flush()?;
        Ok(Self { out })
    }

    pub fn write(&mut self, r: &ProbeRecord) -> Result<()> {
        self.out.write_all(csv_row(r).as_bytes())?;
        self.out.flush()?;
        Ok(())
    }
}

/// The search's progress on stderr: probes done, the one running, and an ETA for the rest.
pub struct SearchProgress {
    bar: ProgressBar,
    started: Instant,
    expected_probes: u64,
    done: u64,
    finished_wall_seconds: f64,
}

/// Probes a search of `1..=max_sessions` is expected to take: about ⌈log2(max)⌉ + 2 session
/// counts, one repeat near the boundary, and the confirmation run.
pub fn expected_probes(max_sessions: u32) -> u64 {
    let log2 = u64::from(32 - max_sessions.max(1).saturating_sub(1).leading_zeros());
    log2 + 4
}

/// `1m05s`, `42s`.
pub fn short_duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

impl SearchProgress {
    pub fn new(max_sessions: u32, hidden: bool) -> Self {
        let expected = expected_probes(max_sessions);
        let bar = ProgressBar::with_draw_target(
            Some(expected),
            if hidden {
                ProgressDrawTarget::hidden()
            } else {
                ProgressDrawTarget::stderr()
            },
        );
        if let Ok(style) =
            ProgressStyle::with_template("{elapsed_precise} [{bar:24}] probe {pos}/~{len}  {msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        Self {
            bar,
            started: Instant::now(),
            expected_probes: expected,
            done: 0,
            finished_wall_seconds: 0.0,
        }
    }

    /// A probe is starting; `estimate_seconds` is how long it should take.
    pub fn probe_started(
        &mut self,
        phase: &str,
        sessions: u32,
        repeat: u32,
        estimate_seconds: f64,
    ) {
        if self.done + 1 > self.expected_probes {
            self.expected_probes = self.done + 1;
            self.bar.set_length(self.expected_probes);
        }
        let mean = if self.done > 0 {
            self.finished_wall_seconds / self.done as f64
        } else {
            estimate_seconds
        };
        let left = self.expected_probes.saturating_sub(self.done + 1) as f64;
        let eta = estimate_seconds + left * mean;
        self.bar.set_message(format!(
            "{phase}: {sessions} session{} (repeat {}) · ETA {}",
            if sessions == 1 { "" } else { "s" },
            repeat + 1,
            short_duration(eta)
        ));
    }

    /// A probe ended.
    pub fn probe_done(&mut self, r: &ProbeRecord) {
        self.done += 1;
        self.finished_wall_seconds += r.wall_seconds;
        let verdict = if !r.finished {
            "not finished"
        } else if r.passed {
            "pass"
        } else {
            "fail"
        };
        self.bar.println(format!(
            "  {:<13} {:>3} sessions  repeat {}  ratio {:.3}  p95 {:.3}  {verdict}  ({:.1} s)",
            r.phase,
            r.sessions,
            r.repeat + 1,
            r.realtime_duration_ratio,
            r.p95_segment_ratio,
            r.wall_seconds
        ));
        self.bar.set_position(self.done);
    }

    pub fn finish(&self) {
        let _ = self.started;
        self.bar.finish_and_clear();
    }
}

/// The end-of-search table.
pub fn table(r: &CapacityResult) -> String {
    let mut s = String::new();
    s.push_str("phase          sessions  repeat  ratio   p95     behind  result   wall s\n");
    for p in &r.probes {
        let result = if !p.finished {
            "cut"
        } else if p.passed {
            "pass"
        } else {
            "fail"
        };
        s.push_str(&format!(
            "{:<14} {:>8}  {:>6}  {:<6.3}  {:<6.3}  {:>6}  {:<7}  {:>6.1}\n",
            p.phase,
            p.sessions,
            p.repeat + 1,
            p.realtime_duration_ratio,
            p.p95_segment_ratio,
            p.sessions_falling_behind,
            result,
            p.wall_seconds
        ));
    }
    let d = &r.decision;
    s.push('\n');
    s.push_str(&format!(
        "Capacity: {}{} stream{} (criterion {}, headroom {}; binding limit: {})\n",
        if d.lower_bound { "at least " } else { "" },
        d.capacity_streams,
        if d.capacity_streams == 1 { "" } else { "s" },
        r.settings.criterion,
        r.settings.headroom,
        r.binding_limit
    ));
    s.push_str(&format!("Confidence: {}\n", d.confidence));
    if let Some(m) = &d.multi_gpu_method {
        s.push_str(&format!("Multi-GPU: {m}\n"));
        for g in &r.per_gpu {
            s.push_str(&format!(
                "  GPU {} {}: {} streams ({})\n",
                g.gpu,
                g.name.as_deref().unwrap_or(""),
                g.streams,
                g.how
            ));
        }
    }
    if let Some(n) = &r.settings.network {
        s.push_str(&format!("Judged on: {} ({n})\n", r.settings.judged_on));
        s.push_str("Wire, per probe: sessions  transcode alone  upload  download  lost  Mbps up/stream  Mbps down/stream\n");
        for p in r.probes.iter().filter(|p| p.finished) {
            if let Some(w) = &p.network {
                let mbps =
                    |v: Option<f64>| v.map_or_else(|| "—".to_string(), |x| format!("{x:.2}"));
                s.push_str(&format!(
                    "  {:<14} {:>3}  {:.3} {:<4}  {:.3}  {:.3}  {:>4}  {:>6}  {:>6}\n",
                    p.phase,
                    p.sessions,
                    w.transcode_ratio,
                    if w.transcode_passed { "pass" } else { "fail" },
                    w.upload_ratio,
                    w.download_ratio,
                    w.segments_lost,
                    mbps(w.wire_mbps_up_per_stream),
                    mbps(w.wire_mbps_down_per_stream)
                ));
            }
        }
    }
    s.push_str("Limits:\n");
    for l in &r.limits {
        let streams = l.streams.map_or_else(|| "—".to_string(), |n| n.to_string());
        s.push_str(&format!(
            "  {:<18} {:>6}  [{}] {}\n",
            l.name, streams, l.source, l.basis
        ));
    }
    if let Some(c) = &r.confirmation {
        s.push_str(&format!(
            "Confirmation at {} sessions, every rendition validated: ratio {:.3}, {}; {} of {} renditions failed validation\n",
            c.sessions,
            c.realtime_duration_ratio,
            if c.passed { "passed" } else { "FAILED" },
            c.renditions_failed,
            c.renditions_checked
        ));
    }
    if let Some(b) = &r.broadcaster_cpu {
        s.push_str(&format!(
            "Broadcaster side during probes: {:.2} CPU s for {:.2} CPU s of transcode ({:.1}%)\n",
            b.broadcaster_cpu_seconds,
            b.transcode_cpu_seconds,
            b.share_of_transcode * 100.0
        ));
    }
    s.push_str("go-livepeer:\n");
    for line in &r.go_livepeer {
        s.push_str(&format!("  {line}\n"));
    }
    if r.partial {
        s.push_str(&format!(
            "PARTIAL: {}\n",
            r.partial_reason
                .as_deref()
                .unwrap_or("the search did not finish")
        ));
    }
    for w in &r.warnings {
        s.push_str(&format!("warning: {w}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_probes_grow_with_the_bound() {
        assert_eq!(expected_probes(1), 4);
        assert_eq!(expected_probes(8), 7);
        assert_eq!(expected_probes(64), 10);
        assert_eq!(short_duration(65.4), "1m05s");
        assert_eq!(short_duration(42.0), "42s");
    }

    #[test]
    fn the_csv_header_names_every_column_of_a_row() {
        let r = ProbeRecord {
            phase: "search".into(),
            sessions: 2,
            repeat: 0,
            gpus: vec![0, 1],
            finished: true,
            realtime_duration_ratio: 0.5,
            p95_segment_ratio: 0.6,
            sessions_falling_behind: 0,
            segments_judged: 12,
            passed: true,
            near_boundary: false,
            wall_seconds: 13.25,
            peak_rss_bytes: None,
            baseline_rss_bytes: None,
            peak_gpu_memory_used_bytes: None,
            baseline_gpu_memory_used_bytes: None,
            mbps_in_per_stream: None,
            mbps_out_per_stream: None,
            broadcaster_cpu_share: None,
            run_dir: "probes/search-s002-r0".into(),
            note: None,
            network: None,
        };
        let row = csv_row(&r);
        assert_eq!(
            row,
            "search,2,0,0 1,true,0.5000,0.6000,0,12,true,13.250,probes/search-s002-r0,,,,,,\n"
        );
        assert_eq!(row.trim_end().split(',').count(), CSV_HEADER.len());
        let wire = ProbeRecord {
            network: Some(crate::capacity::result::ProbeNetwork {
                transcode_ratio: 0.25,
                upload_ratio: 0.5,
                download_ratio: 0.125,
                segments_lost: 1,
                wire_mbps_up_per_stream: Some(8.5),
                ..Default::default()
            }),
            ..r
        };
        let row = csv_row(&wire);
        assert!(row.ends_with(",0.2500,0.5000,0.1250,1,8.5000,\n"), "{row}");
        assert_eq!(row.trim_end().split(',').count(), CSV_HEADER.len());
    }
}
