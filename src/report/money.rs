//! Money as people read it: the economics' table rows and number formatting. The economics
//! compute plain data (`crate::result::money`); this module only presents it. Estimated
//! figures say "(estimated)", unknown ones "unknown", and each share says whose it is.

use crate::result::money::{
    BandwidthModel, Economics, Ownership, PowerStatus, RedemptionGas, UtilisationSource,
};

/// Four significant figures, without trailing zeros ("1000", "137.4", "0.0123").
pub fn fmt_sig(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = 4 - 1 - v.abs().log10().floor() as i32;
    let s = format!("{:.*}", digits.max(0) as usize, v);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Dollars to four decimals, "unknown" for None, a leading minus for losses. A figure too small
/// for four decimals but not zero keeps three significant digits (never "-$0.0000").
pub fn usd(v: Option<f64>) -> String {
    let Some(v) = v else {
        return "unknown".to_string();
    };
    let sign = if v < 0.0 { "-" } else { "" };
    let a = v.abs();
    if a > 0.0 && a < 0.00005 {
        format!("{sign}${a:.2e}")
    } else {
        format!("{sign}${a:.4}")
    }
}

fn bandwidth_name(m: BandwidthModel) -> &'static str {
    match m {
        BandwidthModel::PerGb => "per_gb",
        BandwidthModel::Percentile95 => "percentile95",
        BandwidthModel::FlatPort => "flat_port",
        BandwidthModel::Included => "included",
    }
}

fn power_name(s: PowerStatus) -> &'static str {
    match s {
        PowerStatus::Measured => "measured",
        PowerStatus::Estimated => "estimated",
        PowerStatus::Included => "included",
        PowerStatus::Unknown => "unknown",
    }
}

fn row(label: impl Into<String>, value: impl Into<String>) -> (String, String) {
    (label.into(), value.into())
}

/// Label/value rows for the terminal and Markdown tables.
pub fn table_rows(e: &Economics) -> Vec<(String, String)> {
    let h = &e.per_rig_hour;
    let est = |yes: bool| if yes { " (estimated)" } else { "" };
    let power_est = e.power.status == PowerStatus::Estimated;
    let any_est = !e.estimated.is_empty();
    let c = &e.capacity;
    let g = &e.gas;
    let mut rows =
        vec![row(
            "price",
            format!(
            "{} wei/pixel base ({:.3e} USD per million pixels, from {}); charged {} wei/pixel ({})",
            fmt_sig(e.inputs.price_per_pixel_wei),
            e.inputs.price_usd_per_million_pixels,
            serde_json::to_value(e.inputs.price_source)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            fmt_sig(e.inputs.price_charged_per_pixel_wei),
            if e.inputs.auto_adjust_price {
                format!("autoAdjustPrice: × (1 + txCost / faceValue) = × {:.4}", g.price_adjustment)
            } else {
                "autoAdjustPrice off".to_string()
            }
        ),
        )];
    rows.push(row(
        "streams",
        format!(
            "{}{} sustained, {} sold; limit: {}",
            if c.streams_compute_is_lower_bound && c.streams_sustained == c.streams_compute {
                ">= "
            } else {
                ""
            },
            c.streams_sustained,
            fmt_sig(c.streams_sold),
            c.limiting_resource
        ),
    ));
    rows.push(row("capacity", c.source_note.clone()));
    rows.push(row(
        "share sold",
        match &e.inputs.utilisation_source {
            UtilisationSource::RigFile => format!(
                "{:.0}% (rig file utilisation.share_sold)",
                e.inputs.utilisation_share_sold * 100.0
            ),
            UtilisationSource::Simulated {
                share,
                p5,
                p95,
                note,
            } => format!(
                "{:.0}% simulated (p5 {:.0}%, p95 {:.0}%): {note}",
                share * 100.0,
                p5 * 100.0,
                p95 * 100.0
            ),
        },
    ));
    rows.push(row(
        "fees paid by broadcasters per rig-hour",
        usd(Some(h.fees_gross_usd_per_hour)),
    ));
    rows.push(row(
        "fees kept by the operator per rig-hour",
        format!(
            "{} ({:.1}% of fees: 1 − feeShare {} to delegators + own stake's {:.1}% of their part)",
            usd(Some(h.fees_operator_usd_per_hour)),
            e.fee_split.operator_share * 100.0,
            e.fee_split.fee_share_delegators,
            e.fee_split.own_stake_share * 100.0
        ),
    ));
    if h.fees_delegators_usd_per_hour > 0.0 {
        rows.push(row(
            "fees paid to delegators per rig-hour",
            usd(Some(h.fees_delegators_usd_per_hour)),
        ));
    }
    rows.push(row(
        "redemption gas per rig-hour",
        format!(
            "{} ({} gas from the {}, × {} gwei + L1 data fee {:e} wei{})",
            usd(Some(h.gas_usd_per_hour)),
            g.gas_per_redemption,
            match g.priced_by {
                RedemptionGas::Estimate => "estimate",
                RedemptionGas::Measured => "run's measurement",
            },
            g.gas_price_gwei,
            g.l1_data_fee_wei,
            if g.l1_data_fee_assumed {
                ", assumed: set chain.l1_data_fee_wei"
            } else {
                ""
            }
        ),
    ));
    rows.push(row(
        "tickets",
        format!(
            "faceValue {:e} wei (${:.2}), win prob {:.3e}, EV {:e} wei: sized from the redeem-gas estimate {} ({})",
            g.face_value_wei, g.face_value_usd, g.win_prob, g.ticket_ev_wei, g.redeem_gas_estimate, g.redeem_gas_estimate_source
        ),
    ));
    rows.push(row(
        "gas measured per redemption",
        match g.measured_gas_per_redemption {
            Some(m) => {
                format!("{m} gas on rigbench's simplified TicketBroker (not Livepeer's contract)")
            }
            None => "none (the run redeemed nothing)".to_string(),
        },
    ));
    rows.push(row(
        "withdrawFees gas per rig-hour",
        format!(
            "{} ({} gas every {} days)",
            usd(Some(h.withdraw_gas_usd_per_hour)),
            g.withdraw_fees_gas,
            g.withdraw_fees_every_days
        ),
    ));
    rows.push(row(
        "revenue per rig-hour",
        usd(Some(h.revenue_usd_per_hour)),
    ));
    rows.push(row(
        format!("power per rig-hour{}", est(power_est)),
        match (h.power_usd_per_hour, e.power.rig_watts) {
            (Some(p), Some(w)) => format!(
                "{} ({w:.1} W, {})",
                usd(Some(p)),
                power_name(e.power.status)
            ),
            (p, _) => format!("{} ({})", usd(p), power_name(e.power.status)),
        },
    ));
    rows.push(row(
        format!(
            "bandwidth per rig-hour ({})",
            bandwidth_name(e.bandwidth.model)
        ),
        usd(Some(h.bandwidth_usd_per_hour)),
    ));
    rows.push(row(
        format!(
            "hardware per rig-hour ({})",
            match e.hardware.ownership {
                Ownership::Owned => "owned",
                Ownership::Rented => "rented",
            }
        ),
        usd(Some(h.hardware_usd_per_hour)),
    ));
    rows.push(row(
        format!("margin per rig-hour, transcoding alone{}", est(any_est)),
        match (h.margin_usd_per_hour, h.margin_percent) {
            (Some(m), Some(p)) => format!("{} ({p:.1}%)", usd(Some(m))),
            (m, _) => usd(m),
        },
    ));
    rows.push(row(
        format!("margin per stream-hour{}", est(any_est)),
        match &e.per_stream_hour {
            Some(s) => usd(s.margin_usd_per_hour),
            None => "n/a: no stream sold".to_string(),
        },
    ));
    match &e.rewards {
        Some(r) => {
            rows.push(row(
                "rewards per rig-hour (LPT inflation, not fees)",
                format!(
                    "{} ({:.4} LPT a round × {:.3} rounds a day × ${}), less reward() gas {}",
                    usd(Some(r.rewards_usd_per_hour)),
                    r.operator_lpt_per_round,
                    r.rounds_per_day,
                    r.lpt_usd,
                    usd(Some(r.reward_gas_usd_per_hour))
                ),
            ));
            rows.push(row(
                format!("margin per rig-hour, with staking{}", est(any_est)),
                usd(h.margin_with_staking_usd_per_hour),
            ));
        }
        None => rows.push(row("rewards", e.rewards_note.clone().unwrap_or_default())),
    }
    rows.push(row(
        format!("break-even price{}", est(any_est)),
        match (
            e.break_even.price_per_pixel_wei,
            e.break_even.price_usd_per_million_pixels,
        ) {
            (Some(w), Some(u)) => {
                format!(
                    "{} wei/pixel base ({u:.3e} USD per million pixels), transcoding alone",
                    fmt_sig(w)
                )
            }
            _ => e
                .break_even
                .note
                .clone()
                .unwrap_or_else(|| "unknown".to_string()),
        },
    ));
    if e.hardware.ownership == Ownership::Owned {
        rows.push(row(
            "payback",
            match e.payback_months {
                Some(m) => format!("{m:.1} months"),
                None => e
                    .payback_note
                    .clone()
                    .unwrap_or_else(|| "unknown".to_string()),
            },
        ));
    }
    let v = &e.income_variance;
    rows.push(row(
        "wins",
        format!(
            "{:.3} a day{}; P(day below half its expected income) {:.3}",
            v.winners_per_day,
            v.expected_days_between_wins
                .map(|d| format!(", one every {d:.2} days"))
                .unwrap_or_default(),
            v.p_day_below_half_expectation
        ),
    ));
    if let Some(w) = &v.warning {
        rows.push(row("warning", w.clone()));
    }
    for x in &e.estimated {
        rows.push(row("estimated", x.clone()));
    }
    if e.partial_run {
        rows.push(row(
            "partial run",
            "priced from a partial run (--allow-partial): the figures cover only the segments that finished",
        ));
    }
    rows.push(row("verdict", e.verdict.line.clone()));
    if let Some(s) = &e.verdict_with_staking {
        rows.push(row("verdict with staking", s.line.clone()));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formatting() {
        for (v, want) in [
            (1000.0, "1000"),
            (137.4049, "137.4"),
            (82.8875, "82.89"),
            (0.012346, "0.01235"),
            (136.6667, "136.7"),
            (0.0, "0"),
        ] {
            assert_eq!(fmt_sig(v), want);
        }
        for (v, want) in [
            (Some(1.5), "$1.5000"),
            (Some(-0.25), "-$0.2500"),
            (Some(0.0), "$0.0000"),
            (Some(-0.0000446), "-$4.46e-5"),
            (Some(0.00001), "$1.00e-5"),
            (None, "unknown"),
        ] {
            assert_eq!(usd(v), want);
        }
    }
}
