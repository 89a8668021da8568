//! Section building: every label/value section of the end-of-run table (livepeer_bench's lines
//! first, with its labels, then rigbench's: payments, power, bandwidth, network, economics). The terminal
//! table ([`super::table`]) and Markdown ([`super::markdown`]) only render them. Estimated figures
//! say so; unknown ones say "unknown".

use crate::metering::power::{EnergyMethod, PowerSummary};
use crate::result::{RunResult, Summary};

/// A titled group of label/value rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub title: String,
    pub rows: Vec<(String, String)>,
}

/// One label/value row.
pub(crate) fn row(label: &str, value: impl Into<String>) -> (String, String) {
    (label.to_string(), value.into())
}

/// livepeer_bench's summary lines, with its labels, for one summary.
pub fn livepeer_bench_rows(concurrent_sessions: u32, s: &Summary) -> Vec<(String, String)> {
    vec![
        row("Concurrent Sessions", concurrent_sessions.to_string()),
        row("Total Segs Transcoded", s.total_segments.to_string()),
        row("Real-Time Segs Transcoded", s.realtime_segments.to_string()),
        row(
            "* Real-Time Segs Ratio *",
            format!("{:.4}", s.realtime_segs_ratio),
        ),
        row("Total Source Duration", format!("{:.3}s", s.source_seconds)),
        row(
            "Total Transcoding Duration",
            format!("{:.3}s", s.total_transcode_seconds),
        ),
        row(
            "* Real-Time Duration Ratio *",
            format!("{:.4}", s.realtime_duration_ratio),
        ),
    ]
}

/// rigbench's additions for one summary.
pub fn throughput_rows(s: &Summary) -> Vec<(String, String)> {
    vec![
        row("Wall-clock time", format!("{:.3} s", s.wall_seconds)),
        row("Throughput", format!("{:.2}x real time", s.throughput_x)),
        row("Output frame rate", format!("{:.1} fps", s.output_fps)),
        row(
            "Output pixel rate",
            format!("{:.2} Mpixel/s", s.output_pixels_per_second / 1e6),
        ),
        row(
            "Latency p50 / p95 / p99 / max",
            format!(
                "{:.3} / {:.3} / {:.3} / {:.3} s",
                s.latency_seconds.p50,
                s.latency_seconds.p95,
                s.latency_seconds.p99,
                s.latency_seconds.max
            ),
        ),
        row(
            "Bytes in / out",
            format!("{} / {} B", s.bytes_in, s.bytes_out),
        ),
        row("Decode errors", s.decode_errors.to_string()),
        row(
            "Renditions valid",
            format!(
                "{} of {}",
                s.validation.renditions_checked - s.validation.renditions_failed,
                s.validation.renditions_checked
            ),
        ),
    ]
}

/// Every section of the end-of-run table.
pub fn rows(r: &RunResult) -> Vec<Section> {
    let mut out = Vec::new();
    if r.repeats.len() > 1 {
        for (i, s) in r.repeats.iter().enumerate() {
            out.push(Section {
                title: format!("Repeat {} of {}", i + 1, r.repeats.len()),
                rows: livepeer_bench_rows(r.sessions.concurrent_sessions, s),
            });
        }
    }
    out.push(Section {
        title: if r.repeats.len() > 1 {
            "All repeats (livepeer_bench)".into()
        } else {
            "livepeer_bench".into()
        },
        rows: livepeer_bench_rows(r.sessions.concurrent_sessions, &r.summary),
    });
    let mut rig = vec![
        row(
            "Backend",
            match &r.backend.fallback_reason {
                Some(why) => format!("{} (auto fell back: {why})", r.backend.used),
                None => r.backend.used.clone(),
            },
        ),
        row("Encoders", r.backend.encoders.join(", ")),
        row(
            "Source",
            format!(
                "{}x{} {} {:.2} fps, {:.2} s",
                r.source.width,
                r.source.height,
                r.source.codec,
                r.source.fps,
                r.source.duration_seconds
            ),
        ),
        row(
            "Ladder",
            r.ladder
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ];
    rig.extend(throughput_rows(&r.summary));
    out.push(Section {
        title: "rigbench".into(),
        rows: rig,
    });
    out.extend(super::sections::quality(r));
    out.extend(super::sections::payments(r));
    out.extend(super::sections::power(r));
    out.extend(super::sections::bandwidth(r));
    out.extend(super::sections::network(r));
    out.extend(super::sections::economics(r));
    if r.partial {
        out.push(Section {
            title: "Note".into(),
            rows: vec![row(
                "Partial run",
                "figures cover the finished segments only",
            )],
        });
    }
    out
}

/// One line about the host, for report headers.
pub fn host_line(r: &RunResult) -> String {
    let h = &r.host;
    let gpus: Vec<String> = h.gpus.iter().filter_map(|g| g.name.clone()).collect();
    format!(
        "{} ({} cores), {}, GPUs: {}",
        h.cpu_model.as_deref().unwrap_or("unknown CPU"),
        h.logical_cores.map_or("?".to_string(), |c| c.to_string()),
        h.os.as_deref().unwrap_or("unknown OS"),
        if gpus.is_empty() {
            format!("none ({})", h.nvml_status)
        } else {
            gpus.join(", ")
        }
    )
}

/// Tickets, winners and measured gas.
pub fn payments(r: &RunResult) -> Option<Section> {
    let p = r.payments.as_ref()?;
    let rejected: u64 = p.tickets_rejected.values().sum();
    let mut rows = vec![
        row("Price", format!("{} wei/pixel", p.price_per_pixel_wei)),
        row(
            "Ticket EV / face value / win prob",
            format!(
                "{} / {} wei / {:.3e}",
                p.ticket_ev_wei, p.face_value_wei, p.win_prob
            ),
        ),
        row(
            "Tickets sent / valid / rejected",
            format!("{} / {} / {}", p.tickets_sent, p.tickets_valid, rejected),
        ),
    ];
    if rejected > 0 {
        let reasons: Vec<String> = p
            .tickets_rejected
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        rows.push(row("Rejected by reason", reasons.join(", ")));
    }
    rows.extend([
        row(
            "Winners / redeemed / failed / pending",
            format!(
                "{} / {} / {} / {}",
                p.winning_tickets, p.redeemed, p.redeem_failed, p.pending
            ),
        ),
        row(
            "Gas per redemption (measured)",
            match p.gas_per_redemption {
                Some(g) if p.calibration_redemptions > 0 => format!(
                    "{g} gas (from {} calibration tickets, win prob 1)",
                    p.calibration_redemptions
                ),
                Some(g) => format!("{g} gas"),
                None => "unknown (nothing redeemed)".to_string(),
            },
        ),
        row("Fees debited", format!("{} wei", p.fees_debited_wei)),
        row(
            "Payment work",
            format!("{:.3} s of session-thread time", p.payment_work_seconds),
        ),
        row(
            "Face value redeemed",
            format!("{} wei", p.face_value_redeemed_wei),
        ),
        row(
            "Chain",
            format!(
                "{} (chain id {}), broker {}",
                p.chain.kind, p.chain.chain_id, p.chain.broker
            ),
        ),
    ]);
    if p.earlier_runs_redeemed > 0 {
        rows.push(row(
            "Redeemed from earlier runs",
            p.earlier_runs_redeemed.to_string(),
        ));
    }
    if let Some(note) = &p.calibration_note {
        rows.push(row("Calibration", note.clone()));
    }
    Some(Section {
        title: "Payments".into(),
        rows,
    })
}

/// SSIM and PSNR per profile over the scored segments, the ladder's mean SSIM, and what was not
/// scored or fell below the thresholds.
pub fn quality(r: &RunResult) -> Option<Section> {
    let q = &r.quality;
    let mut rows = vec![row(
        "Scored",
        format!(
            "--quality {}: {} segment(s)",
            q.mode.name(),
            q.segments_scored.len()
        ),
    )];
    for p in &r.summary.quality_by_profile {
        let (s, d) = (&p.quality.ssim, &p.quality.psnr_db);
        rows.push(row(
            &p.rendition,
            format!(
                "SSIM {:.4} (min {:.4}, p5 {:.4}), PSNR {:.2} dB (min {:.2}, p5 {:.2}), {} frames",
                s.mean, s.min, s.p5, d.mean, d.min, d.p5, p.quality.frames_scored
            ),
        ));
    }
    if let Some(m) = r.summary.ladder_mean_ssim {
        rows.push(row("Ladder mean SSIM", format!("{m:.4}")));
    }
    if q.mode != crate::validation::quality::QualityMode::Off {
        rows.push(row("VMAF", q.vmaf.clone()));
    }
    for b in q.below_threshold.iter().take(5) {
        rows.push(row("Below threshold", b.clone()));
    }
    if q.below_threshold.len() > 5 {
        rows.push(row(
            "Below threshold",
            format!("… and {} more (run.json)", q.below_threshold.len() - 5),
        ));
    }
    for e in q.errors.iter().take(3) {
        rows.push(row("Not scored", e.clone()));
    }
    Some(Section {
        title: "Quality".into(),
        rows,
    })
}

/// Energy and watts, labelled measured or estimated (rows from `metering::power`).
pub fn power(r: &RunResult) -> Option<Section> {
    Some(Section {
        title: "Power".into(),
        rows: power_rows(r.power.as_ref()?),
    })
}

/// Bits per second in and out.
pub fn bandwidth(r: &RunResult) -> Option<Section> {
    let b = r.bandwidth.as_ref()?;
    Some(Section {
        title: "Bandwidth".into(),
        rows: vec![
            row(
                "Per stream in / out",
                format!(
                    "{:.2} / {:.2} Mbps",
                    b.mbps_in_per_stream, b.mbps_out_per_stream
                ),
            ),
            row(
                "Whole run in / out",
                format!("{:.2} / {:.2} Mbps", b.mbps_in_total, b.mbps_out_total),
            ),
            row(
                "Per stream-hour in / out",
                format!(
                    "{:.3} / {:.3} GB",
                    b.gb_in_per_stream_hour, b.gb_out_per_stream_hour
                ),
            ),
        ],
    })
}

/// Network mode (`--orchestrator`): the round trip split, latency scores, and the wire's bytes
/// against the media's (the protocol's overhead).
pub fn network(r: &RunResult) -> Option<Section> {
    let n = r.network.as_ref()?;
    let p = |x: &crate::result::Percentiles| format!("p50 {:.3} s, p95 {:.3} s", x.p50, x.p95);
    let mb = |b: u64| format!("{:.2} MB", b as f64 / 1e6);
    let mut rows = vec![
        row(
            "Orchestrator",
            format!(
                "{}{}",
                n.orchestrator,
                if n.self_hosted {
                    " (started by rigbench)"
                } else {
                    ""
                }
            ),
        ),
        row("Upload", p(&n.upload_seconds)),
        row("Transcode (orchestrator)", p(&n.transcode_seconds)),
        row("Download", p(&n.download_seconds)),
        row("Round trip", p(&n.round_trip_seconds)),
        row(
            "Latency score",
            format!(
                "p50 {:.3}, p95 {:.3}; {:.1}% of segments ≤ 1.0",
                n.latency_score.p50,
                n.latency_score.p95,
                n.latency_score_ok_share * 100.0
            ),
        ),
        row(
            "Wire sent / received",
            format!("{} / {}", mb(n.wire_bytes_sent), mb(n.wire_bytes_received)),
        ),
        row(
            "Media sent / received",
            format!(
                "{} / {}",
                mb(n.media_bytes_sent),
                mb(n.media_bytes_received)
            ),
        ),
        row(
            "Protocol overhead",
            format!(
                "{:.2}% over the media bytes (headers, framing, info exchanges)",
                n.protocol_overhead_ratio * 100.0
            ),
        ),
    ];
    if let Some(l) = &n.link {
        rows.push(row(
            "Shaped link",
            format!(
                "{} Mbps each way, {} ms round trip ({})",
                l.rate_mbps, l.rtt_ms, l.rtt_method
            ),
        ));
    }
    if !n.segments_failed.is_empty() {
        rows.push(row(
            "Segments lost",
            n.segments_failed
                .iter()
                .map(|(k, v)| format!("{v} {k}"))
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    Some(Section {
        title: "Network".into(),
        rows,
    })
}

/// Money per hour and the verdict.
pub fn economics(r: &RunResult) -> Vec<Section> {
    let Some(e) = r.economics.as_ref() else {
        return Vec::new();
    };
    // The verdict is the last of the economics rows.
    vec![Section {
        title: format!(
            "Economics{}",
            e.rig_name
                .as_ref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        ),
        rows: super::money::table_rows(e),
    }]
}

/// Label/value rows for the terminal and Markdown tables; every figure says whether it is
/// measured or estimated, and unknown power says why.
pub fn power_rows(p: &PowerSummary) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    for s in &p.sources {
        let watts = match (s.average_watts, s.peak_watts) {
            (Some(a), Some(p)) => format!("{a:.1} W average, {p:.1} W peak"),
            (Some(a), None) => format!("{a:.1} W average"),
            _ => "unknown".to_string(),
        };
        let method = match s.energy_method {
            EnergyMethod::EnergyCounter => "energy counter",
            EnergyMethod::IntegratedPower => "integrated power",
            EnergyMethod::ModelUtilisation => "declared model × utilisation",
        };
        rows.push((
            format!("power {} ({})", s.device, s.status.as_str()),
            format!("{watts}, {:.0} J ({}, {method})", s.energy_joules, s.sensor),
        ));
    }
    for u in &p.unknown_components {
        rows.push(("power unknown".to_string(), u.clone()));
    }
    match &p.rig {
        Some(r) => rows.push((
            format!("power whole rig ({})", r.status.as_str()),
            format!(
                "{:.1} W average, {:.1} W peak, {:.0} J over {:.1} s ({} samples)",
                r.average_watts, r.peak_watts, r.energy_joules, p.duration_seconds, p.sample_count
            ),
        )),
        None => rows.push((
            "power whole rig".to_string(),
            format!(
                "unknown: {}",
                p.rig_unknown_reason.as_deref().unwrap_or("no reading")
            ),
        )),
    }
    let label = p
        .status
        .map(|s| format!(" ({})", s.as_str()))
        .unwrap_or_default();
    if let Some(i) = &p.idle {
        rows.push((
            format!(
                "power at idle{}",
                i.status
                    .map(|s| format!(" ({})", s.as_str()))
                    .unwrap_or_default()
            ),
            match i.rig_average_watts {
                Some(w) => format!("{w:.1} W over {:.1} s", i.seconds),
                None => format!(
                    "unknown{}",
                    i.note
                        .as_deref()
                        .map(|n| format!(": {n}"))
                        .unwrap_or_default()
                ),
            },
        ));
    }
    if let Some(e) = p.incremental_energy_joules {
        rows.push((format!("energy above idle{label}"), format!("{e:.0} J")));
    }
    if let Some(j) = p.joules_per_output_megapixel {
        rows.push((
            format!("energy per output megapixel{label}"),
            format!("{j:.3} J"),
        ));
    }
    if let Some(j) = p.joules_per_stream_hour {
        rows.push((
            format!("energy per stream-hour{label}"),
            format!("{:.1} Wh", j / 3600.0),
        ));
    }
    rows
}
