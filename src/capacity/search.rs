//! The capacity search as a pure function over a probe callback: which session counts to try,
//! how each probe is judged, when a probe is repeated, and what the search concludes.
//!
//! ## Where the method comes from
//! - **Judging** (facts doc §1): Livepeer's documented capacity method keeps the largest number of
//!   concurrent sessions whose Real-Time Duration Ratio (Σ transcode time / Σ segment duration) is
//!   at most 0.8. `strict` also asks that the 95th percentile of per-segment transcode time over
//!   segment duration be at most 1.0 (a gateway drops an orchestrator whose segments come back
//!   late, §9.4) and that no session falls behind live.
//! - **Order of probes**: exponential growth until a probe fails, then a bracket search between
//!   the last pass and the first fail, as the issue asks. Each next count is the linear
//!   prediction `k × headroom / ratio` (latency grows in proportion to load once the transcoder
//!   is saturated), clamped inside the bracket; when a prediction did not halve the bracket the
//!   next step bisects, so the search never takes more than about twice the probes of a plain
//!   bisection and usually far fewer (the safeguard of Dekker's and Brent's root finders).
//! - **Noise**: a probe whose figure lies within ±10% of its threshold is repeated, up to
//!   `max_repeats`; the decision is the median of the repeats (a majority of repeats agreeing
//!   settles it early, since it fixes the median of an odd sample). Every repeat is kept.

use serde::{Deserialize, Serialize};

/// Relative band around a threshold inside which a probe is repeated.
pub const NEAR_BAND: f64 = 0.10;
/// The strict criterion's bound on the 95th percentile of transcode_time / seg_dur.
pub const STRICT_P95_LIMIT: f64 = 1.0;

/// How a probe is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// Real-Time Duration Ratio ≤ headroom (Livepeer's documented method).
    Livepeer,
    /// That, and p95 of per-segment transcode_time / seg_dur ≤ 1.0, and no session behind live.
    Strict,
}

impl Criterion {
    pub fn name(self) -> &'static str {
        match self {
            Criterion::Livepeer => "livepeer",
            Criterion::Strict => "strict",
        }
    }
}

/// What one probe measured, over the segments it is judged on.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ProbeFigures {
    /// Σ transcode time / Σ segment duration over the judged segments.
    pub realtime_duration_ratio: f64,
    /// 95th percentile (nearest rank) of transcode_time / seg_dur over the judged segments.
    pub p95_segment_ratio: f64,
    /// Sessions whose lag behind live grew by more than half a segment over the judged window.
    pub sessions_falling_behind: u32,
    /// Segments the judgement rests on (all sessions).
    pub segments_judged: u64,
    /// Wall-clock length of the probe, seconds.
    pub wall_seconds: f64,
    /// Segments that never came back (network mode: refused, timed out, unreachable). Any lost
    /// segment fails the probe, whatever the criterion: a gateway would have paid elsewhere.
    #[serde(default)]
    pub segments_lost: u64,
}

/// The judge: criterion, headroom and the band that triggers repeats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Judge {
    pub criterion: Criterion,
    /// The Real-Time Duration Ratio a probe may reach (0.8 = Livepeer's 20% headroom).
    pub headroom: f64,
}

impl Judge {
    /// Whether one set of figures passes.
    pub fn passes(&self, f: &ProbeFigures) -> bool {
        let ratio_ok = f.segments_judged > 0
            && f.segments_lost == 0
            && f.realtime_duration_ratio <= self.headroom;
        match self.criterion {
            Criterion::Livepeer => ratio_ok,
            Criterion::Strict => {
                ratio_ok
                    && f.p95_segment_ratio <= STRICT_P95_LIMIT
                    && f.sessions_falling_behind == 0
            }
        }
    }

    /// Whether a figure lies within ±[`NEAR_BAND`] of its threshold, so that noise could flip it.
    pub fn near_boundary(&self, f: &ProbeFigures) -> bool {
        let near = |value: f64, limit: f64| (value - limit).abs() <= NEAR_BAND * limit;
        near(f.realtime_duration_ratio, self.headroom)
            || (self.criterion == Criterion::Strict && near(f.p95_segment_ratio, STRICT_P95_LIMIT))
    }
}

/// What the probe callback reports for one (sessions, repeat).
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeReport {
    /// The probe finished.
    Done(ProbeFigures),
    /// The probe was not run to its end (time budget, Ctrl-C): the search stops, partial.
    Cut { reason: String },
    /// The probe could not run (a transcode error, ...): the search stops with this error.
    Failed { error: String },
}

/// One finished probe repeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub sessions: u32,
    /// 0-based repeat at this session count.
    pub repeat: u32,
    pub figures: ProbeFigures,
    /// This repeat alone passed the criterion.
    pub passed: bool,
    /// This repeat's figure was within ±10% of the threshold.
    pub near_boundary: bool,
}

/// The decision at one session count, from the median of its repeats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelDecision {
    pub sessions: u32,
    pub passed: bool,
    pub repeats_run: u32,
    pub repeats_passed: u32,
    pub median_realtime_duration_ratio: f64,
    pub median_p95_segment_ratio: f64,
}

/// Settings of one search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchSettings {
    pub judge: Judge,
    /// Upper bound on sessions (≥ 1).
    pub max_sessions: u32,
    /// Repeats at most per session count near the boundary (≥ 1).
    pub max_repeats: u32,
    /// First session count to probe (1 unless a search continues an earlier one).
    pub start_sessions: u32,
}

/// A probe that did not finish, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CutProbe {
    pub sessions: u32,
    pub repeat: u32,
    pub reason: String,
}

/// What a search found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchOutcome {
    /// The largest session count that passed (0 when even the smallest probed failed).
    pub capacity: u32,
    /// Every finished repeat, in the order run.
    pub attempts: Vec<Attempt>,
    /// One decision per session count tried, in the order tried.
    pub levels: Vec<LevelDecision>,
    /// True when every count up to `max_sessions` passed (the rig may hold more).
    pub bound_reached: bool,
    /// The probe that was cut (budget, Ctrl-C); the capacity is then a lower bound.
    pub cut: Option<CutProbe>,
    /// Why the search stopped on an error.
    pub error: Option<String>,
}

impl SearchOutcome {
    /// The decision at `sessions`, if it was tried.
    pub fn level(&self, sessions: u32) -> Option<&LevelDecision> {
        self.levels.iter().find(|l| l.sessions == sessions)
    }

    /// True when the search ran to a conclusion (not cut, no error).
    pub fn complete(&self) -> bool {
        self.cut.is_none() && self.error.is_none()
    }
}

/// The median of a sample (mean of the two middle values for an even count); 0 when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

enum LevelOutcome {
    Decided(LevelDecision),
    Stopped,
}

/// Probes one session count, repeating near the boundary; stops the search on a cut or error.
fn probe_level(
    settings: &SearchSettings,
    sessions: u32,
    probe: &mut impl FnMut(u32, u32) -> ProbeReport,
    out: &mut SearchOutcome,
) -> LevelOutcome {
    let judge = settings.judge;
    let max_repeats = settings.max_repeats.max(1);
    let majority = max_repeats / 2 + 1;
    let mut figures = Vec::new();
    let mut passed = 0u32;
    for repeat in 0..max_repeats {
        let f = match probe(sessions, repeat) {
            ProbeReport::Done(f) => f,
            ProbeReport::Cut { reason } => {
                out.cut = Some(CutProbe {
                    sessions,
                    repeat,
                    reason,
                });
                return LevelOutcome::Stopped;
            }
            ProbeReport::Failed { error } => {
                out.error = Some(format!("probe at {sessions} sessions failed: {error}"));
                return LevelOutcome::Stopped;
            }
        };
        let ok = judge.passes(&f);
        let near = judge.near_boundary(&f);
        passed += u32::from(ok);
        out.attempts.push(Attempt {
            sessions,
            repeat,
            figures: f,
            passed: ok,
            near_boundary: near,
        });
        figures.push(f);
        let run = repeat + 1;
        // A clear first result needs no repeat; otherwise stop once a majority agrees.
        if (run == 1 && !near) || passed >= majority || run - passed >= majority {
            break;
        }
    }
    let ratios: Vec<f64> = figures.iter().map(|f| f.realtime_duration_ratio).collect();
    let p95s: Vec<f64> = figures.iter().map(|f| f.p95_segment_ratio).collect();
    let behind: Vec<f64> = figures
        .iter()
        .map(|f| f64::from(f.sessions_falling_behind))
        .collect();
    let median_figures = ProbeFigures {
        realtime_duration_ratio: median(&ratios),
        p95_segment_ratio: median(&p95s),
        sessions_falling_behind: median(&behind).round() as u32,
        segments_judged: figures.iter().map(|f| f.segments_judged).min().unwrap_or(0),
        wall_seconds: median(&figures.iter().map(|f| f.wall_seconds).collect::<Vec<_>>()),
        segments_lost: median(
            &figures
                .iter()
                .map(|f| f.segments_lost as f64)
                .collect::<Vec<_>>(),
        )
        .round() as u64,
    };
    let decision = LevelDecision {
        sessions,
        passed: judge.passes(&median_figures),
        repeats_run: figures.len() as u32,
        repeats_passed: passed,
        median_realtime_duration_ratio: median_figures.realtime_duration_ratio,
        median_p95_segment_ratio: median_figures.p95_segment_ratio,
    };
    out.levels.push(decision.clone());
    LevelOutcome::Decided(decision)
}

/// The count a linear latency model predicts for the headroom from a probe at `k` with `ratio`.
fn predict(k: u32, ratio: f64, headroom: f64) -> Option<f64> {
    (ratio.is_finite() && ratio > 0.0).then(|| f64::from(k) * headroom / ratio)
}

/// Searches the largest session count that passes, calling `probe(sessions, repeat)`.
pub fn search(
    settings: &SearchSettings,
    mut probe: impl FnMut(u32, u32) -> ProbeReport,
) -> SearchOutcome {
    let max = settings.max_sessions.max(1);
    let headroom = settings.judge.headroom;
    let mut out = SearchOutcome {
        capacity: 0,
        attempts: Vec::new(),
        levels: Vec::new(),
        bound_reached: false,
        cut: None,
        error: None,
    };
    // Largest pass (0 = none yet) and smallest fail (max + 1 = none yet), with their ratios.
    let (mut lo, mut lo_ratio) = (0u32, 0.0f64);
    let (mut hi, mut hi_ratio) = (max + 1, f64::NAN);
    let mut k = settings.start_sessions.clamp(1, max);
    let mut bisect_next = false;
    loop {
        let width_before = hi - lo;
        let decision = match probe_level(settings, k, &mut probe, &mut out) {
            LevelOutcome::Decided(d) => d,
            LevelOutcome::Stopped => break,
        };
        let ratio = decision.median_realtime_duration_ratio;
        if decision.passed {
            lo = k;
            lo_ratio = ratio;
        } else {
            hi = k;
            hi_ratio = ratio;
        }
        if hi - lo <= 1 {
            break;
        }
        let next = if hi > max {
            // No failure yet: grow by the prediction, at least doubling... or at least one more.
            let grown = predict(k, ratio, headroom)
                .map(|p| p.floor().min(f64::from(max)) as u32)
                .unwrap_or(k.saturating_mul(2));
            grown.max(k.saturating_mul(2).min(max)).max(k + 1).min(max)
        } else if bisect_next || lo == 0 && hi_ratio.is_nan() {
            lo + (hi - lo) / 2
        } else {
            // Interpolate the ratio between the bracket's ends (lo = 0 has ratio 0 at 0 sessions).
            let (x0, y0) = (f64::from(lo), if lo == 0 { 0.0 } else { lo_ratio });
            let (x1, y1) = (f64::from(hi), hi_ratio);
            let guess = if y1 > y0 && y1.is_finite() {
                x0 + (headroom - y0) * (x1 - x0) / (y1 - y0)
            } else {
                (x0 + x1) / 2.0
            };
            (guess.floor().max(0.0) as u32).clamp(lo + 1, hi - 1)
        };
        // The safeguard: a step that did not halve the bracket makes the next one bisect.
        bisect_next = hi - lo > width_before / 2;
        k = next;
    }
    out.capacity = lo;
    out.bound_reached = lo == max && out.complete();
    out
}

/// Livepeer's criterion at 0.8, 3 repeats, from 1 session up to `max` (the tests' settings).
#[cfg(test)]
pub(crate) fn test_settings(max: u32) -> SearchSettings {
    SearchSettings {
        judge: Judge {
            criterion: Criterion::Livepeer,
            headroom: 0.8,
        },
        max_sessions: max,
        max_repeats: 3,
        start_sessions: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(max: u32) -> SearchSettings {
        test_settings(max)
    }

    fn figures(ratio: f64) -> ProbeFigures {
        ProbeFigures {
            realtime_duration_ratio: ratio,
            p95_segment_ratio: ratio * 1.2,
            sessions_falling_behind: 0,
            segments_judged: 12,
            wall_seconds: 12.0,
            segments_lost: 0,
        }
    }

    /// ⌈log2(max)⌉.
    fn log2_ceil(max: u32) -> u32 {
        32 - (max.max(1) - 1).leading_zeros()
    }

    /// A simulated rig: the ratio at k sessions (and repeat r).
    type Rig = Box<dyn Fn(u32, u32) -> f64>;

    #[test]
    fn finds_the_capacity_of_simulated_rigs() {
        // (name, max_sessions, rig, expected capacity, bound reached)
        let cases: Vec<(&str, u32, Rig, u32, bool)> = vec![
            // Latency flat until the cores saturate at 3, then linear: capacity 9.
            (
                "monotone",
                64,
                Box::new(|k, _| {
                    if k <= 3 {
                        0.25
                    } else {
                        0.25 * f64::from(k) / 3.0
                    }
                }),
                9,
                false,
            ),
            (
                "linear",
                64,
                Box::new(|k, _| 0.02 * f64::from(k)),
                40,
                false,
            ),
            // ±3% noise from repeat to repeat; the median settles the boundary.
            (
                "noisy",
                32,
                Box::new(|k, r| {
                    let noise = [1.03, 0.97, 0.99][r as usize % 3];
                    0.1 * f64::from(k) * noise
                }),
                8,
                false,
            ),
            // A hard cap at 5 (e.g. NVENC refusing more): fine up to 5, hopeless above.
            (
                "cap at 5",
                64,
                Box::new(|k, _| if k <= 5 { 0.3 } else { 4.0 }),
                5,
                false,
            ),
            ("all fail", 16, Box::new(|_, _| 1.5), 0, false),
            (
                "all pass up to the bound",
                12,
                Box::new(|_, _| 0.2),
                12,
                true,
            ),
            ("bound of 1, passes", 1, Box::new(|_, _| 0.5), 1, true),
            ("bound of 1, fails", 1, Box::new(|_, _| 0.9), 0, false),
            // Exactly at the threshold passes (≤).
            (
                "threshold inclusive",
                16,
                Box::new(|k, _| 0.8 * f64::from(k) / 4.0),
                4,
                false,
            ),
        ];
        for (name, max, rig, want, bound) in cases {
            let mut calls = Vec::new();
            let out = search(&settings(max), |k, r| {
                calls.push((k, r));
                ProbeReport::Done(figures(rig(k, r)))
            });
            assert_eq!(out.capacity, want, "{name}: {:?}", out.levels);
            assert_eq!(out.bound_reached, bound, "{name}");
            assert!(out.complete(), "{name}");
            let levels = out.levels.len() as u32;
            assert!(
                levels <= log2_ceil(max) + 3,
                "{name}: {levels} session counts probed for max {max}: {calls:?}"
            );
            // N passed; N+1 failed whenever it is within the bound.
            if want > 0 {
                assert!(out.level(want).is_some_and(|l| l.passed), "{name}");
            }
            if want < max {
                assert!(out.level(want + 1).is_some_and(|l| !l.passed), "{name}");
            }
            // Repeats only where a repeat's figure was near the threshold.
            for level in &out.levels {
                if level.repeats_run > 1 {
                    let first = out
                        .attempts
                        .iter()
                        .find(|a| a.sessions == level.sessions && a.repeat == 0)
                        .unwrap();
                    assert!(
                        first.near_boundary,
                        "{name}: repeated a clear probe {level:?}"
                    );
                }
            }
            assert_eq!(out.attempts.len(), calls.len(), "{name}: every repeat kept");
        }
    }

    #[test]
    fn clear_probes_run_once_and_boundary_probes_repeat() {
        // Linear 0.1 per session: 8 sits exactly on 0.8 and 9 at 0.9 (both within ±10%).
        let out = search(&settings(32), |k, _| {
            ProbeReport::Done(figures(0.1 * f64::from(k)))
        });
        assert_eq!(out.capacity, 8);
        for a in &out.attempts {
            let near = (a.figures.realtime_duration_ratio - 0.8).abs() <= 0.08 + 1e-12;
            assert_eq!(a.near_boundary, near, "{a:?}");
        }
        let far: Vec<_> = out.levels.iter().filter(|l| l.sessions <= 7).collect();
        assert!(far.iter().all(|l| l.repeats_run == 1), "{far:?}");
        let n = out.level(8).unwrap();
        assert_eq!(
            (n.repeats_run, n.repeats_passed),
            (2, 2),
            "majority of 3 after 2"
        );
    }

    #[test]
    fn the_median_decides_a_split_level() {
        // At 4 sessions the repeats read 0.78, 0.85, 0.79: two of three pass, median 0.79.
        let at4 = [0.78, 0.85, 0.79];
        let out = search(&settings(8), |k, r| {
            let ratio = match k {
                4 => at4[r as usize],
                k if k < 4 => 0.15 * f64::from(k),
                _ => 1.2,
            };
            ProbeReport::Done(figures(ratio))
        });
        assert_eq!(out.capacity, 4, "{:?}", out.levels);
        let l = out.level(4).unwrap();
        assert_eq!((l.repeats_run, l.repeats_passed), (3, 2));
        assert!((l.median_realtime_duration_ratio - 0.79).abs() < 1e-12);
        assert_eq!(out.attempts.iter().filter(|a| a.sessions == 4).count(), 3);
    }

    #[test]
    fn a_cut_probe_keeps_the_finished_ones_and_a_lower_bound() {
        let out = search(&settings(64), |k, _| {
            if k >= 8 {
                ProbeReport::Cut {
                    reason: "--time-budget reached".into(),
                }
            } else {
                ProbeReport::Done(figures(0.05 * f64::from(k)))
            }
        });
        assert!(!out.complete() && !out.bound_reached);
        let cut = out.cut.as_ref().unwrap();
        assert!(cut.sessions >= 8 && cut.reason.contains("budget"));
        assert!(out.capacity >= 1 && out.capacity < 8);
        assert!(out.attempts.iter().all(|a| a.sessions < 8));
        let failed = search(&settings(4), |_, _| ProbeReport::Failed {
            error: "encoder".into(),
        });
        assert_eq!(failed.capacity, 0);
        assert!(failed.error.unwrap().contains("encoder"));
    }

    #[test]
    fn strict_also_needs_p95_and_no_lag() {
        let judge = Judge {
            criterion: Criterion::Strict,
            headroom: 0.8,
        };
        let ok = figures(0.7); // p95 0.84
        assert!(judge.passes(&ok));
        assert!(!judge.passes(&ProbeFigures {
            p95_segment_ratio: 1.3,
            ..ok
        }));
        assert!(!judge.passes(&ProbeFigures {
            sessions_falling_behind: 1,
            ..ok
        }));
        let livepeer = Judge {
            criterion: Criterion::Livepeer,
            ..judge
        };
        assert!(livepeer.passes(&ProbeFigures {
            p95_segment_ratio: 1.3,
            ..ok
        }));
        // No judged segment never passes, nor does a lost one.
        assert!(!livepeer.passes(&ProbeFigures::default()));
        assert!(!livepeer.passes(&ProbeFigures {
            segments_lost: 1,
            ..ok
        }));
    }

    #[test]
    fn medians() {
        let cases: &[(&[f64], f64)] = &[
            (&[], 0.0),
            (&[3.0], 3.0),
            (&[3.0, 1.0], 2.0),
            (&[5.0, 1.0, 3.0], 3.0),
            (&[f64::NAN, 2.0], 2.0),
        ];
        for (v, want) in cases {
            assert_eq!(median(v), *want, "{v:?}");
        }
    }
}
