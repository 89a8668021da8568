//! Frame-rate conversion plan for one segment of one rendition (pure).
//!
//! Method: that of FFmpeg's `fps` filter with `round=near`, as lpms applies it after scaling.
//! Output frame `j` of a segment sits at `start + j / rate`; each input frame maps to the output
//! slot `round((pts - start) * rate)`, and slot `j` shows the latest input frame whose slot is
//! `<= j` (so frames are duplicated to fill gaps and dropped when several share a slot). The
//! segment ends after exactly `total` slots, `round(duration * rate)`, the count the broadcaster
//! expects. Done here rather than in libavfilter so that the scaler graph can stay open across
//! segments: the `fps` filter holds its last frame until end of stream.
//!
//! With `Passthrough` (profile fps 0) every input frame is one output frame.

use std::ops::Range;

/// How a rendition's frame rate relates to the source's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateMode {
    /// Keep every source frame.
    Passthrough,
    /// Resample to `rate_fps` frames per second, `total` frames in the segment.
    Convert { rate_fps: f64, total: u64 },
}

/// Streaming planner: feed input timestamps, get which output slots the held frame fills.
#[derive(Debug, Clone)]
pub struct FpsPlanner {
    mode: RateMode,
    start_seconds: Option<f64>,
    next_slot: u64,
    holding: bool,
}

impl FpsPlanner {
    pub fn new(mode: RateMode) -> Self {
        Self {
            mode,
            start_seconds: None,
            next_slot: 0,
            holding: false,
        }
    }

    /// A new input frame at `pts_seconds` arrives. Returns the output slots the *previously held*
    /// frame must fill (emit it once per slot, in order); the new frame becomes the held one.
    pub fn push(&mut self, pts_seconds: f64) -> Range<u64> {
        let start = *self.start_seconds.get_or_insert(pts_seconds);
        let was_holding = std::mem::replace(&mut self.holding, true);
        if !was_holding {
            return self.next_slot..self.next_slot;
        }
        let from = self.next_slot;
        let to = match self.mode {
            RateMode::Passthrough => from + 1,
            RateMode::Convert { rate_fps, total } => {
                let slot = ((pts_seconds - start) * rate_fps).round();
                let slot = if slot.is_finite() && slot > 0.0 {
                    slot as u64
                } else {
                    0
                };
                slot.min(total).max(from)
            }
        };
        self.next_slot = to;
        from..to
    }

    /// End of segment: the slots the held frame fills until the segment's end.
    pub fn finish(&mut self) -> Range<u64> {
        if !std::mem::replace(&mut self.holding, false) {
            return self.next_slot..self.next_slot;
        }
        let from = self.next_slot;
        let to = match self.mode {
            RateMode::Passthrough => from + 1,
            RateMode::Convert { total, .. } => total.max(from),
        };
        self.next_slot = to;
        from..to
    }

    /// Timestamp (seconds) of the segment's first input frame, once known.
    pub fn start_seconds(&self) -> Option<f64> {
        self.start_seconds
    }
}

/// The whole plan at once: for each output slot, the index of the input frame it shows.
pub fn plan(mode: RateMode, input_pts_seconds: &[f64]) -> Vec<usize> {
    let mut p = FpsPlanner::new(mode);
    let mut out = Vec::new();
    for (i, &pts) in input_pts_seconds.iter().enumerate() {
        let r = p.push(pts);
        out.extend(r.map(|_| i.saturating_sub(1)));
    }
    let last = input_pts_seconds.len().saturating_sub(1);
    out.extend(p.finish().map(|_| last));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(n: usize, fps: f64, start: f64) -> Vec<f64> {
        (0..n).map(|i| start + i as f64 / fps).collect()
    }

    #[test]
    fn plans() {
        let cases: Vec<(&str, RateMode, Vec<f64>, Vec<usize>)> = vec![
            (
                "passthrough",
                RateMode::Passthrough,
                pts(4, 25.0, 10.0),
                vec![0, 1, 2, 3],
            ),
            (
                "empty",
                RateMode::Convert {
                    rate_fps: 30.0,
                    total: 3,
                },
                vec![],
                vec![],
            ),
            (
                "same rate",
                RateMode::Convert {
                    rate_fps: 25.0,
                    total: 4,
                },
                pts(4, 25.0, 3.0),
                vec![0, 1, 2, 3],
            ),
            // 30 → 10: the latest frame of each slot is kept, the others dropped.
            (
                "third",
                RateMode::Convert {
                    rate_fps: 10.0,
                    total: 2,
                },
                pts(6, 30.0, 0.0),
                vec![1, 4],
            ),
            // 25 → 50: each frame twice.
            (
                "double",
                RateMode::Convert {
                    rate_fps: 50.0,
                    total: 6,
                },
                pts(3, 25.0, 2.0),
                vec![0, 0, 1, 1, 2, 2],
            ),
            // 25 → 30 over 0.2 s: 5 in, 6 out, one duplicated.
            (
                "25 to 30",
                RateMode::Convert {
                    rate_fps: 30.0,
                    total: 6,
                },
                pts(5, 25.0, 0.0),
                vec![0, 1, 2, 2, 3, 4],
            ),
            // More input than the segment's slots: capped at total.
            (
                "capped",
                RateMode::Convert {
                    rate_fps: 25.0,
                    total: 2,
                },
                pts(4, 25.0, 0.0),
                vec![0, 1],
            ),
            // A gap in the input is filled by repeating the frame before it.
            (
                "gap",
                RateMode::Convert {
                    rate_fps: 10.0,
                    total: 5,
                },
                vec![0.0, 0.1, 0.4],
                vec![0, 1, 1, 1, 2],
            ),
        ];
        for (name, mode, input, want) in cases {
            assert_eq!(plan(mode, &input), want, "{name}");
        }
    }

    #[test]
    fn count_matches_expected_over_real_segments() {
        // 2-s segments of 25 fps to 30, 60, 24 fps: exactly round(duration * rate) frames.
        for (rate, total) in [(30.0, 60u64), (60.0, 120), (24.0, 48), (25.0, 50)] {
            let got = plan(
                RateMode::Convert {
                    rate_fps: rate,
                    total,
                },
                &pts(50, 25.0, 4.0),
            );
            assert_eq!(got.len() as u64, total, "{rate}");
            assert!(got.windows(2).all(|w| w[0] <= w[1]));
        }
    }
}
