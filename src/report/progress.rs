//! The progress bar shown on stderr during a run (hidden with --quiet or --json, and when stderr
//! is not a terminal).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::result::SegmentRecord;

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
