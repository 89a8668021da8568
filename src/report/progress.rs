//! The progress bar shown on stderr during a run (hidden with --quiet or --json, and when stderr
//! is not a terminal).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::result::SegmentRecord;

/// Prints one line on stderr. A failed write to stderr is ignored: there is nowhere left to
/// report it, and it must not stop the run (`eprintln!` would panic on `2> /dev/full`).
pub fn stderr_line(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Prints `warning: {text}` on stderr ([`stderr_line`]).
pub fn warn(text: &str) {
    stderr_line(&format!("warning: {text}"));
}

/// The run's progress bar.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    pub fn new(total_segments: u64, hidden: bool) -> Self {
        let bar = ProgressBar::with_draw_target(
            Some(total_segments),
            if hidden {
                ProgressDrawTarget::hidden()
            } else {
                ProgressDrawTarget::stderr()
            },
        );
        if let Ok(style) =
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} segments  {msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        Self { bar }
    }

    pub fn segment_done(&self, r: &SegmentRecord) {
        self.bar.set_message(format!(
            "session {} segment {}: {:.3} s for {:.3} s",
            r.session, r.segment, r.transcode_time, r.seg_dur
        ));
        self.bar.inc(1);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
