//! Folds segment records into livepeer_bench's summary plus rigbench's additions.
//!
//! Definitions follow go-livepeer's `cmd/livepeer_bench` exactly where they overlap:
//! a segment is real-time when `transcode_time <= seg_dur`; the Real-Time Segs Ratio is
//! real-time segments over all segments; the Real-Time Duration Ratio is the sum of transcode
//! times over the sum of segment durations (mean latency over segment length, not throughput).
//! Percentiles use the nearest-rank method (the smallest value with at least p% of the sample at
//! or below it), so every reported percentile is a latency that was actually observed.

use crate::metering::bandwidth::percentile_nearest_rank;
use crate::result::{Percentiles, SegmentRecord, Summary, ValidationSummary};

/// Per-rendition validation outcome, folded into [`ValidationSummary`].
#[derive(Debug, Clone)]
pub struct RenditionVerdict {
    pub rendition: String,
    /// Names of the checks that failed (empty = valid).
    pub failed_checks: Vec<String>,
}

/// Extra per-segment facts the CSV row does not carry.
#[derive(Debug, Clone, Default)]
pub struct SegmentExtras {
    /// Frames encoded over all renditions (the CSV's `frames` is the first rendition only).
    pub output_frames: u64,
    pub verdicts: Vec<RenditionVerdict>,
    /// Per rendition in ladder order, its name and its frames' SSIM and PSNR; empty when the
    /// segment was not scored, None for a rendition that could not be.
    pub quality: Vec<(String, Option<crate::validation::quality::FrameScores>)>,
    /// Why renditions of this segment could not be scored.
    pub quality_errors: Vec<String>,
}

/// Builds a summary from finished segments and the wall-clock span they took.
pub fn summarize(records: &[(SegmentRecord, SegmentExtras)], wall_seconds: f64) -> Summary {
    let total_segments = records.len() as u64;
    let realtime_segments = records
        .iter()
        .filter(|(r, _)| r.transcode_time <= r.seg_dur)
        .count() as u64;
    // Folded from +0.0: an empty `sum()` of floats is -0.0, which would print as "-0.000s".
    let total_transcode_seconds = records.iter().fold(0.0, |a, (r, _)| a + r.transcode_time);
    let source_seconds = records.iter().fold(0.0, |a, (r, _)| a + r.seg_dur);
    let output_pixels: u64 = records.iter().map(|(r, _)| r.pixels).sum();
    let output_frames: u64 = records.iter().map(|(_, e)| e.output_frames).sum();
    let latencies: Vec<f64> = records.iter().map(|(r, _)| r.transcode_time).collect();
    let mut validation = ValidationSummary::default();
    for (_, extras) in records {
        for v in &extras.verdicts {
            validation.renditions_checked += 1;
            if !v.failed_checks.is_empty() {
                validation.renditions_failed += 1;
                *validation
                    .failed_by_rendition
                    .entry(v.rendition.clone())
                    .or_default() += 1;
                for check in &v.failed_checks {
                    *validation.failed_by_check.entry(check.clone()).or_default() += 1;
                }
            }
        }
    }
    let scored = records.iter().flat_map(|(_, e)| {
        e.quality
            .iter()
            .filter_map(|(name, q)| q.as_ref().map(|q| (name.as_str(), q)))
    });
    let quality_by_profile = crate::validation::quality::per_profile(scored);
    let ladder_mean_ssim = crate::validation::quality::ladder_mean_ssim(&quality_by_profile);
    Summary {
        total_segments,
        realtime_segments,
        realtime_segs_ratio: ratio(realtime_segments as f64, total_segments as f64),
        realtime_duration_ratio: ratio(total_transcode_seconds, source_seconds),
        total_transcode_seconds,
        wall_seconds,
        source_seconds,
        throughput_x: ratio(source_seconds, wall_seconds),
        output_fps: ratio(output_frames as f64, wall_seconds),
        output_pixels_per_second: ratio(output_pixels as f64, wall_seconds),
        output_frames,
        output_pixels,
        latency_seconds: percentiles(&latencies),
        bytes_in: records.iter().map(|(r, _)| r.bytes_in).sum(),
        bytes_out: records.iter().map(|(r, _)| r.bytes_out).sum(),
        decode_errors: records.iter().map(|(r, _)| r.decode_errors).sum(),
        validation,
        quality_by_profile,
        ladder_mean_ssim,
    }
}

/// a / b, or 0 when b is 0 (an empty run has no ratio worth inventing).
fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

/// Nearest-rank percentiles (the one rule metering uses too); all zero for an empty sample.
pub fn percentiles(values: &[f64]) -> Percentiles {
    let rank = |p: f64| percentile_nearest_rank(values, p).unwrap_or(0.0);
    Percentiles {
        p50: rank(50.0),
        p95: rank(95.0),
        p99: rank(99.0),
        max: rank(100.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(seg_dur: f64, transcode_time: f64, pixels: u64) -> (SegmentRecord, SegmentExtras) {
        (
            SegmentRecord {
                timestamp: chrono::DateTime::UNIX_EPOCH,
                session: 0,
                segment: 0,
                seg_dur,
                transcode_time,
                frames: 10,
                pixels,
                bytes_in: 100,
                bytes_out: 50,
                renditions: 1,
                valid_renditions: 1,
                decode_errors: 0,
                tickets: 0,
                fee_wei: "0".into(),
                repeat: 0,
            },
            SegmentExtras {
                output_frames: 20,
                verdicts: vec![RenditionVerdict {
                    rendition: "240p0".into(),
                    failed_checks: vec![],
                }],
                quality: Vec::new(),
                quality_errors: Vec::new(),
            },
        )
    }

    #[test]
    fn livepeer_bench_ratios() {
        // Two real-time segments (1.0 <= 2.0, 2.0 <= 2.0) and one late (3.0 > 2.0).
        let recs = vec![rec(2.0, 1.0, 10), rec(2.0, 2.0, 10), rec(2.0, 3.0, 10)];
        let s = summarize(&recs, 4.0);
        assert_eq!(s.total_segments, 3);
        assert_eq!(s.realtime_segments, 2);
        assert!((s.realtime_segs_ratio - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.realtime_duration_ratio - 1.0).abs() < 1e-12); // 6 s / 6 s
        assert!((s.throughput_x - 1.5).abs() < 1e-12); // 6 s of source in 4 s
        assert!((s.output_pixels_per_second - 7.5).abs() < 1e-12);
        assert_eq!(s.output_frames, 60);
        assert_eq!(s.bytes_in, 300);
        assert_eq!(s.validation.renditions_checked, 3);
        assert_eq!(s.validation.renditions_failed, 0);
    }

    #[test]
    fn empty_run_has_zero_ratios_not_nan() {
        let s = summarize(&[], 0.0);
        assert_eq!(s.total_segments, 0);
        assert_eq!(s.realtime_segs_ratio, 0.0);
        assert_eq!(s.throughput_x, 0.0);
        assert_eq!(s.latency_seconds, Percentiles::default());
        assert!(
            s.source_seconds.is_sign_positive(),
            "no negative zero in reports"
        );
    }

    #[test]
    fn nearest_rank_percentiles() {
        let cases: &[(&[f64], Percentiles)] = &[
            (
                &[5.0],
                Percentiles {
                    p50: 5.0,
                    p95: 5.0,
                    p99: 5.0,
                    max: 5.0,
                },
            ),
            (
                &[4.0, 1.0, 3.0, 2.0],
                Percentiles {
                    p50: 2.0,
                    p95: 4.0,
                    p99: 4.0,
                    max: 4.0,
                },
            ),
        ];
        for (values, want) in cases {
            assert_eq!(percentiles(values), *want, "{values:?}");
        }
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = percentiles(&hundred);
        assert_eq!((p.p50, p.p95, p.p99, p.max), (50.0, 95.0, 99.0, 100.0));
    }

    #[test]
    fn failures_are_counted_per_rendition_and_check() {
        let mut bad = rec(2.0, 1.0, 10);
        bad.1.verdicts[0].failed_checks = vec!["size".into(), "pixel_count".into()];
        let s = summarize(&[bad, rec(2.0, 1.0, 10)], 2.0);
        assert_eq!(s.validation.renditions_failed, 1);
        assert_eq!(s.validation.failed_by_rendition["240p0"], 1);
        assert_eq!(s.validation.failed_by_check["size"], 1);
        assert_eq!(s.validation.failed_by_check["pixel_count"], 1);
    }
}
