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

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::result::{SegmentRecord, Summary};

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

fn parse_timestamp(ts: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(ts.trim(), "%Y-%m-%d %H:%M:%S%.f").ok()
}

/// Bytes per whole second since the first segment finished, binned by finish time.
fn per_second_bytes(records: &[SegmentRecord]) -> Option<(Vec<u64>, Vec<u64>)> {
    let times: Vec<NaiveDateTime> = records
        .iter()
        .map(|r| parse_timestamp(&r.timestamp))
        .collect::<Option<_>>()?;
    let first = *times.iter().min()?;
    let last = *times.iter().max()?;
    let span = (last - first).num_seconds().max(0) as usize + 1;
    if span > 31 * 24 * 3600 {
        return None;
    }
    let (mut bin_in, mut bin_out) = (vec![0u64; span], vec![0u64; span]);
    for (r, t) in records.iter().zip(&times) {
        let i = ((*t - first).num_seconds().max(0) as usize).min(span - 1);
        bin_in[i] = bin_in[i].saturating_add(r.bytes_in);
        bin_out[i] = bin_out[i].saturating_add(r.bytes_out);
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

/// Bandwidth of a run from its segment rows and summary.
pub fn summarize(
    records: &[SegmentRecord],
    summary: &Summary,
    concurrent_sessions: u32,
) -> BandwidthSummary {
    let mut notes = Vec::new();
    let wall = summary.wall_seconds;
    let stream_seconds = summary.source_seconds;
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
    let (series_in, series_out, p95) = match per_second_bytes(records) {
        Some((i, o)) => {
            let bits = |v: &[u64]| v.iter().map(|b| b.saturating_mul(8)).collect::<Vec<u64>>();
            let (bi, bo) = (bits(&i), bits(&o));
            let p95 = p95_to_mean_windows(&bi, &bo, PERCENTILE_WINDOW_SECONDS as usize);
            let mbps = |v: &[u64]| v.iter().map(|b| *b as f64 / 1e6).collect::<Vec<f64>>();
            (mbps(&bi), mbps(&bo), p95)
        }
        None => {
            if !records.is_empty() {
                notes.push("segment timestamps unreadable: no per-second series".to_string());
            }
            (Vec::new(), Vec::new(), None)
        }
    };
    if p95.is_none() {
        notes.push(format!(
            "run shorter than two {PERCENTILE_WINDOW_SECONDS}-second windows: no 95th-percentile sample of its own"
        ));
    }
    let mbps_in_per_stream = per_stream_mbps(summary.bytes_in);
    let mbps_out_per_stream = per_stream_mbps(summary.bytes_out);
    BandwidthSummary {
        bytes_in: summary.bytes_in,
        bytes_out: summary.bytes_out,
        wall_seconds: wall,
        stream_seconds,
        concurrent_sessions,
        bytes_in_per_second: per_wall(summary.bytes_in),
        bytes_out_per_second: per_wall(summary.bytes_out),
        mbps_in_total: per_wall(summary.bytes_in) * 8.0 / 1e6,
        mbps_out_total: per_wall(summary.bytes_out) * 8.0 / 1e6,
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

    fn rec(ts: &str, bytes_in: u64, bytes_out: u64) -> SegmentRecord {
        SegmentRecord {
            timestamp: ts.into(),
            session: 0,
            segment: 0,
            seg_dur: 2.0,
            transcode_time: 0.5,
            frames: 50,
            pixels: 0,
            bytes_in,
            bytes_out,
            renditions: 4,
            valid_renditions: 4,
            decode_errors: 0,
            tickets: 0,
            fee_wei: "0".into(),
            repeat: 0,
        }
    }

    #[test]
    fn rates_per_run_and_per_stream() {
        // 2 sessions × 5 segments × 2 s = 20 stream-seconds over 10 wall seconds.
        let summary = Summary {
            wall_seconds: 10.0,
            source_seconds: 20.0,
            bytes_in: 15_000_000,
            bytes_out: 14_000_000,
            ..Summary::default()
        };
        let records = vec![
            rec("2026-11-24 10:00:00.5", 7_500_000, 7_000_000),
            rec("2026-11-24 10:00:09.9", 7_500_000, 7_000_000),
        ];
        let b = summarize(&records, &summary, 2);
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
    fn unreadable_timestamps_and_empty_runs() {
        let b = summarize(&[rec("yesterday", 1, 1)], &Summary::default(), 1);
        assert!(b.series_mbps_in.is_empty());
        assert_eq!(b.mbps_in_per_stream, 0.0);
        assert!(b.notes.iter().any(|n| n.contains("timestamps unreadable")));
    }
}
