//! run.json `network`: what the segments' round trips to the orchestrator measured, folded
//! into distributions (nearest-rank percentiles, as the run summary uses) and totals. Pure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::broadcaster::SegmentNetwork;
use crate::result::Percentiles;
use crate::run::summary::percentiles;

/// One segment's round trip as the run keeps it (network.csv).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NetworkRow {
    pub session: u32,
    pub segment: u32,
    pub repeat: u32,
    /// Source segment duration, seconds.
    pub seg_dur: f64,
    #[serde(flatten)]
    pub network: SegmentNetwork,
}

/// The shaped link, when there was one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkReport {
    /// tbf rate each way, megabits per second.
    pub rate_mbps: f64,
    /// Round-trip time asked for, milliseconds.
    pub rtt_ms: f64,
    /// "netem" when the kernel added the delay, "emulated" when rigbench added half of it to
    /// each request and each response, "none" for 0 ms.
    pub rtt_method: String,
    /// How it was built (namespaces, veth, qdiscs), for the record.
    pub description: String,
}

/// run.json `network`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkSummary {
    /// The orchestrator's address (`self`: the one rigbench started).
    pub orchestrator: String,
    /// Whether rigbench started the orchestrator (`--orchestrator self`).
    pub self_hosted: bool,
    /// Renditions inline (multipart/mixed) rather than fetched by URL.
    pub renditions_inline: bool,
    pub link: Option<LinkReport>,
    /// Segments that came back with their renditions.
    pub segments_ok: u64,
    /// Segments that did not, by reason (orchestrator_capped, unreachable, timeout,
    /// refused_<status>, transcode_error, protocol_error, payment_error).
    pub segments_failed: BTreeMap<String, u64>,
    pub upload_seconds: Percentiles,
    pub transcode_seconds: Percentiles,
    pub download_seconds: Percentiles,
    pub round_trip_seconds: Percentiles,
    pub latency_score: Percentiles,
    /// Share of segments with a latency score ≤ 1.0 (a gateway keeps such an orchestrator).
    pub latency_score_ok_share: f64,
    /// Bytes written on the sockets, headers and framing included (info exchanges too).
    pub wire_bytes_sent: u64,
    /// Bytes read from the sockets, headers and framing included.
    pub wire_bytes_received: u64,
    /// Segment bytes (POST bodies).
    pub media_bytes_sent: u64,
    /// Rendition bytes.
    pub media_bytes_received: u64,
    /// (wire − media) / media over both directions: the protocol's overhead.
    pub protocol_overhead_ratio: f64,
    /// Orchestrator-info exchanges (one per session, more after refusals).
    pub info_exchanges: u64,
    /// The orchestrator's own summary (orchestrator.json) when rigbench started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orchestrator_summary: Option<serde_json::Value>,
}

/// Folds rows, failures and the info exchanges' bytes into the summary's measured part.
pub fn summarize(
    rows: &[NetworkRow],
    failed: &BTreeMap<String, u64>,
    info_bytes: (u64, u64, u64),
) -> NetworkSummary {
    let n = |f: fn(&SegmentNetwork) -> f64| {
        percentiles(&rows.iter().map(|r| f(&r.network)).collect::<Vec<_>>())
    };
    let sum = |f: fn(&SegmentNetwork) -> u64| rows.iter().map(|r| f(&r.network)).sum::<u64>();
    let wire_sent = sum(|s| s.wire_bytes_sent) + info_bytes.1;
    let wire_recv = sum(|s| s.wire_bytes_received) + info_bytes.2;
    let media_sent = sum(|s| s.media_bytes_sent);
    let media_recv = sum(|s| s.media_bytes_received);
    let media = media_sent + media_recv;
    let ok = rows
        .iter()
        .filter(|r| r.network.latency_score <= 1.0)
        .count();
    NetworkSummary {
        segments_ok: rows.len() as u64,
        segments_failed: failed.clone(),
        upload_seconds: n(|s| s.upload_seconds),
        transcode_seconds: n(|s| s.transcode_seconds),
        download_seconds: n(|s| s.download_seconds),
        round_trip_seconds: n(|s| s.round_trip_seconds),
        latency_score: n(|s| s.latency_score),
        latency_score_ok_share: if rows.is_empty() {
            0.0
        } else {
            ok as f64 / rows.len() as f64
        },
        wire_bytes_sent: wire_sent,
        wire_bytes_received: wire_recv,
        media_bytes_sent: media_sent,
        media_bytes_received: media_recv,
        protocol_overhead_ratio: if media == 0 {
            0.0
        } else {
            (wire_sent + wire_recv).saturating_sub(media) as f64 / media as f64
        },
        info_exchanges: info_bytes.0,
        ..NetworkSummary::default()
    }
}

/// network.csv's header.
pub const CSV_HEADER: &str = "session,segment,repeat,seg_dur,upload_seconds,transcode_seconds,download_seconds,round_trip_seconds,latency_score,wire_bytes_sent,wire_bytes_received,media_bytes_sent,media_bytes_received\n";

/// One network.csv row, newline-terminated.
pub fn csv_row(r: &NetworkRow) -> String {
    let s = &r.network;
    format!(
        "{},{},{},{:.4},{:.4},{:.4},{:.4},{:.4},{:.4},{},{},{},{}\n",
        r.session,
        r.segment,
        r.repeat,
        r.seg_dur,
        s.upload_seconds,
        s.transcode_seconds,
        s.download_seconds,
        s.round_trip_seconds,
        s.latency_score,
        s.wire_bytes_sent,
        s.wire_bytes_received,
        s.media_bytes_sent,
        s.media_bytes_received
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(rt: f64, seg: f64, wire: u64, media: u64) -> NetworkRow {
        NetworkRow {
            session: 0,
            segment: 0,
            repeat: 0,
            seg_dur: seg,
            network: SegmentNetwork {
                round_trip_seconds: rt,
                latency_score: super::super::broadcaster::latency_score(rt, seg),
                wire_bytes_sent: wire,
                media_bytes_sent: media,
                ..Default::default()
            },
        }
    }

    #[test]
    fn summary_shares_and_overhead() {
        let rows = [
            row(1.0, 2.0, 110, 100),
            row(3.0, 2.0, 220, 200),
            row(1.5, 1.0, 0, 0),
        ];
        let s = summarize(&rows, &BTreeMap::new(), (1, 50, 20));
        assert_eq!(s.segments_ok, 3);
        assert!((s.latency_score_ok_share - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.wire_bytes_sent, 380);
        // (380 + 20 − 300) / 300
        assert!((s.protocol_overhead_ratio - 100.0 / 300.0).abs() < 1e-12);
        assert_eq!(s.round_trip_seconds.max, 3.0);
        let empty = summarize(&[], &BTreeMap::new(), (0, 0, 0));
        assert_eq!(empty.latency_score_ok_share, 0.0);
        assert_eq!(empty.protocol_overhead_ratio, 0.0);
    }
}
