//! Table sections for the parts of a run that other stages own: payments, power, bandwidth,
//! economics, and the probe listing. Estimated figures say so; unknown ones say "unknown".

use super::table::{row, Section};
use crate::metering::inventory::HostInfo;
use crate::result::RunResult;
use crate::transcode::BackendCapability;

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
        rows: r.power.as_ref()?.table_rows(),
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
        rows: e.table_rows(),
    }]
}

/// `rigbench probe`'s text: the inventory, then each backend and why it cannot run.
pub fn probe_text(host: &HostInfo, backends: &[BackendCapability]) -> String {
    let mut s = crate::metering::inventory::probe_text(host);
    s.push_str("backends:\n");
    for b in backends {
        match (&b.available, &b.reason) {
            (true, _) => s.push_str(&format!("  {:<8} available\n", b.name)),
            (false, Some(why)) => s.push_str(&format!("  {:<8} unavailable: {why}\n", b.name)),
            (false, None) => s.push_str(&format!("  {:<8} unavailable\n", b.name)),
        }
    }
    s
}
