//! Bandwidth: bytes in (segments as the broadcaster sends them) and out (renditions sent back),
//! per second of the run and per live stream, and a per-second series binned by segment finish
//! time for the 95th-percentile model.
//!
//! Per stream, the rate is bytes × 8 / source seconds (source seconds summed over sessions): what
//! one live stream moves per second of video, whatever the run's pacing (`--live` or not). The
//! run-wide rate is bytes × 8 / wall seconds. GB are 10^9 bytes and Mbps 10^6 bit/s, as carriers
//! bill them.
//!
//! 95th-percentile billing (carriers sample the port every 5 minutes and bill the 95th
//! percentile of the month's samples, on the larger of in and out): where the run spans at least
//! two whole 5-minute windows, `p95_to_mean_5min` is the ratio of the 95th-percentile window to
//! the mean; shorter runs cannot see 5-minute variation and leave it None (economics then takes
//! live streams as constant-bitrate, ratio 1, and says so).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Seconds per 95th-percentile sample (the industry's 5-minute polling).
pub const PERCENTILE_WINDOW_SECONDS: u64 = 300;

/// run.json `bandwidth`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BandwidthSummary {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub wall_seconds: f64,
    /// Source seconds summed over sessions (stream-seconds).
    pub stream_seconds: f64,
    pub concurrent_sessions: u32,
    /// Whole run, over wall-clock time.
    pub bytes_in_per_second: f64,
    pub bytes_out_per_second: f64,
    pub mbps_in_total: f64,
    pub mbps_out_total: f64,
    /// One live stream: bytes × 8 / stream-seconds.
    pub mbps_in_per_stream: f64,
    pub mbps_out_per_stream: f64,
    /// One live stream for one hour, 10^9 bytes.
    pub gb_in_per_stream_hour: f64,
    pub gb_out_per_stream_hour: f64,
    /// Mbps in per second of the run, binned by segment finish time (empty when timestamps could
    /// not be read).
    pub series_mbps_in: Vec<f64>,
    pub series_mbps_out: Vec<f64>,
    /// 95th-percentile 5-minute window over the mean, on max(in, out); None for runs shorter than
    /// two windows.
    pub p95_to_mean_5min: Option<f64>,
    pub notes: Vec<String>,
}

/// One finished segment's bytes: what the meter needs of a segment row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegmentBytes {
    /// When the segment finished.
    pub finished_utc: DateTime<Utc>,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// The run's totals the rates are taken over.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RunTotals {
    /// Wall-clock seconds of the run.
    pub wall_seconds: f64,
    /// Source seconds transcoded, summed over sessions (stream-seconds).
    pub stream_seconds: f64,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// Bytes per whole second since the first segment finished, binned by finish time.
fn per_second_bytes(segments: &[SegmentBytes]) -> Option<(Vec<u64>, Vec<u64>)> {
    let first = segments.iter().map(|s| s.finished_utc).min()?;
    let last = segments.iter().map(|s| s.finished_utc).max()?;
    let span = (last - first).num_seconds().max(0) as usize + 1;
    if span > 31 * 24 * 3600 {
        return None;
    }
    let (mut bin_in, mut bin_out) = (vec![0u64; span], vec![0u64; span]);
    for s in segments {
        let i = ((s.finished_utc - first).num_seconds().max(0) as usize).min(span - 1);
        bin_in[i] = bin_in[i].saturating_add(s.bytes_in);
        bin_out[i] = bin_out[i].saturating_add(s.bytes_out);
    }
    Some((bin_in, bin_out))
}

/// The p-th percentile (0..=100), nearest-rank, of unsorted values.
pub fn percentile_nearest_rank(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v.get(rank.min(v.len()) - 1).copied()
}

/// 95th-percentile 5-minute window over the mean window, from per-second bit counts (the larger
/// of in and out per window). None when fewer than two whole windows.
pub fn p95_to_mean_windows(
    bits_in: &[u64],
    bits_out: &[u64],
    window_seconds: usize,
) -> Option<f64> {
    let windows = bits_in.len().min(bits_out.len()) / window_seconds.max(1);
    if windows < 2 {
        return None;
    }
    let samples: Vec<f64> = (0..windows)
        .map(|w| {
            let r = w * window_seconds..(w + 1) * window_seconds;
            let i: u64 = bits_in[r.clone()].iter().sum();
            let o: u64 = bits_out[r].iter().sum();
            i.max(o) as f64
        })
        .collect();
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    let p95 = percentile_nearest_rank(&samples, 95.0)?;
    (mean > 0.0).then(|| p95 / mean)
}

/// Bandwidth of a run from its segments' bytes and its totals.
pub fn summarize(
    segments: &[SegmentBytes],
    totals: &RunTotals,
    concurrent_sessions: u32,
) -> BandwidthSummary {
    let mut notes = Vec::new();
    let wall = totals.wall_seconds;
    let stream_seconds = totals.stream_seconds;
    let per_wall = |b: u64| if wall > 0.0 { b as f64 / wall } else { 0.0 };
    let per_stream_mbps = |b: u64| {
        if stream_seconds > 0.0 {
            b as f64 * 8.0 / stream_seconds / 1e6
        } else {
            0.0
        }
    };
    if wall <= 0.0 || stream_seconds <= 0.0 {
        notes.push("no wall or source time recorded: rates are 0".to_string());
    }
    let (series_in, series_out, p95) = match per_second_bytes(segments) {
        Some((i, o)) => {
            let bits = |v: &[u64]| v.iter().map(|b| b.saturating_mul(8)).collect::<Vec<u64>>();
            let (bi, bo) = (bits(&i), bits(&o));
            let p95 = p95_to_mean_windows(&bi, &bo, PERCENTILE_WINDOW_SECONDS as usize);
            let mbps = |v: &[u64]| v.iter().map(|b| *b as f64 / 1e6).collect::<Vec<f64>>();
            (mbps(&bi), mbps(&bo), p95)
        }
        None => {
            if !segments.is_empty() {
                notes.push("run longer than 31 days: no per-second series".to_string());
            }
            (Vec::new(), Vec::new(), None)
        }
    };
    if p95.is_none() {
        notes.push(format!(
            "run shorter than two {PERCENTILE_WINDOW_SECONDS}-second windows: no 95th-percentile sample of its own"
        ));
    }
    let mbps_in_per_stream = per_stream_mbps(totals.bytes_in);
    let mbps_out_per_stream = per_stream_mbps(totals.bytes_out);
    BandwidthSummary {
        bytes_in: totals.bytes_in,
        bytes_out: totals.bytes_out,
        wall_seconds: wall,
        stream_seconds,
        concurrent_sessions,
        bytes_in_per_second: per_wall(totals.bytes_in),
        bytes_out_per_second: per_wall(totals.bytes_out),
        mbps_in_total: per_wall(totals.bytes_in) * 8.0 / 1e6,
        mbps_out_total: per_wall(totals.bytes_out) * 8.0 / 1e6,
        mbps_in_per_stream,
        mbps_out_per_stream,
        gb_in_per_stream_hour: mbps_in_per_stream * 1e6 / 8.0 * 3600.0 / 1e9,
        gb_out_per_stream_hour: mbps_out_per_stream * 1e6 / 8.0 * 3600.0 / 1e9,
        series_mbps_in: series_in,
        series_mbps_out: series_out,
        p95_to_mean_5min: p95,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(ts: &str, bytes_in: u64, bytes_out: u64) -> SegmentBytes {
        let t = chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%d %H:%M:%S%.f").unwrap();
        SegmentBytes {
            finished_utc: t.and_utc(),
            bytes_in,
            bytes_out,
        }
    }

    #[test]
    fn rates_per_run_and_per_stream() {
        // 2 sessions × 5 segments × 2 s = 20 stream-seconds over 10 wall seconds.
        let totals = RunTotals {
            wall_seconds: 10.0,
            stream_seconds: 20.0,
            bytes_in: 15_000_000,
            bytes_out: 14_000_000,
        };
        let segments = vec![
            seg("2026-11-24 10:00:00.5", 7_500_000, 7_000_000),
            seg("2026-11-24 10:00:09.9", 7_500_000, 7_000_000),
        ];
        let b = summarize(&segments, &totals, 2);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9 * b.abs().max(1.0);
        assert!(close(b.bytes_in_per_second, 1_500_000.0));
        assert!(close(b.mbps_in_total, 12.0));
        assert!(close(b.mbps_in_per_stream, 6.0));
        assert!(close(b.mbps_out_per_stream, 5.6));
        assert!(close(b.gb_in_per_stream_hour, 2.7));
        assert!(close(b.gb_out_per_stream_hour, 2.52));
        assert_eq!(b.series_mbps_in.len(), 10);
        assert!(close(b.series_mbps_in[0], 60.0));
        assert_eq!(b.p95_to_mean_5min, None);
    }

    #[test]
    fn percentile_windows() {
        assert_eq!(percentile_nearest_rank(&[], 95.0), None);
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile_nearest_rank(&v, 95.0), Some(19.0));
        assert_eq!(percentile_nearest_rank(&v, 100.0), Some(20.0));
        // Constant traffic → ratio 1; one window doubled among 20 → p95 is still the base.
        let flat = vec![10u64; 600];
        assert_eq!(p95_to_mean_windows(&flat, &flat, 300), Some(1.0));
        assert_eq!(p95_to_mean_windows(&flat[..599], &flat[..599], 300), None);
        let mut bits = vec![10u64; 20 * 300];
        for b in &mut bits[..600] {
            *b = 20;
        }
        let r = p95_to_mean_windows(&bits, &vec![0; 20 * 300], 300).unwrap();
        // Windows: 2 at 6000, 18 at 3000; mean 3300; nearest-rank p95 = 19th = 6000.
        assert!((r - 6000.0 / 3300.0).abs() < 1e-12, "{r}");
    }

    #[test]
    fn empty_runs_have_zero_rates_and_say_why() {
        let b = summarize(&[], &RunTotals::default(), 1);
        assert!(b.series_mbps_in.is_empty());
        assert_eq!(b.mbps_in_per_stream, 0.0);
        assert!(
            b.notes.iter().any(|n| n.contains("rates are 0")),
            "{:?}",
            b.notes
        );
    }
}
