//! `rigbench market`'s outputs: market.json's bytes and the terminal table.

use std::io::Write;
use std::path::Path;

use anyhow::Result;

use super::sections::{row, Section};
use crate::market::result::MarketResult;
use crate::market::stats::Spread;

/// market.json's bytes, newline-terminated.
pub fn market_json(result: &MarketResult) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(result)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`: a reader
/// never sees half a file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)?;
    Ok(())
}

fn spread(s: &Spread, digits: usize) -> String {
    format!("{:.d$} [{:.d$}, {:.d$}]", s.mean, s.p5, s.p95, d = digits)
}

fn pct(s: &Spread) -> String {
    format!(
        "{:.2}% [{:.2}, {:.2}]",
        s.mean * 100.0,
        s.p5 * 100.0,
        s.p95 * 100.0
    )
}

fn usd(v: Option<f64>) -> String {
    v.map_or("unknown".to_string(), |v| format!("${v:.2}"))
}

/// The table's sections.
pub fn sections(r: &MarketResult) -> Vec<Section> {
    let mut out = Vec::new();
    let over = format!("mean [p5, p95] over {} runs of {} days", r.runs, r.days);
    if let Some(f) = &r.fleet {
        out.extend(super::fleet::market_sections(f, &over));
    }
    if let (Some(t), Some(i)) = (&r.this_rig, &r.inputs.this_rig) {
        let mut rows = vec![
            row(
                "Price",
                format!("{} wei/pixel ({})", i.price_per_pixel_wei, i.price_source),
            ),
            row(
                "Capacity",
                format!("{} streams ({})", i.capacity_streams, i.capacity_source),
            ),
            row(
                "Latency p50 / p95",
                format!(
                    "{:.3} / {:.3} s ({})",
                    i.latency_p50_seconds, i.latency_p95_seconds, i.latency_source
                ),
            ),
            row(
                "Stake",
                format!(
                    "{:.0} own + {:.0} delegated LPT = {:.4}% of stake ({})",
                    i.own_stake_lpt,
                    i.delegated_stake_lpt,
                    t.stake_share_initial * 100.0,
                    i.stake_source
                ),
            ),
            row(
                "Streams served (mean at once)",
                spread(&t.streams_served, 2),
            ),
            row("Utilisation", pct(&t.utilisation)),
            row("Share of network demand", pct(&t.demand_share)),
            row("Share of new sessions", pct(&t.new_session_share)),
            row(
                "Sessions lost on latency per day",
                spread(&t.latency_departures_per_day, 1),
            ),
            row("Fees kept, USD/day", spread(&t.fees_kept_usd_per_day, 2)),
            row(
                "Rewards kept, LPT/day (USD/day)",
                format!(
                    "{} ({})",
                    spread(&t.rewards_kept_lpt_per_day, 3),
                    spread(&t.rewards_kept_usd_per_day, 2)
                ),
            ),
        ];
        match (&t.costs_usd_per_day, &t.profit_usd_per_day) {
            (Some(c), Some(p)) => {
                rows.push(row("Gas, USD/day", spread(&t.gas_usd_per_day, 2)));
                rows.push(row("Costs, USD/day", spread(c, 2)));
                rows.push(row("* Profit, USD/day *", spread(p, 2)));
                if let Some(w) = &t.profit_without_rewards_usd_per_day {
                    rows.push(row("Profit without rewards, USD/day", spread(w, 2)));
                }
                rows.push(row(
                    "P(profit > 0)",
                    t.p_profit_positive
                        .map_or("unknown".to_string(), |p| format!("{:.0}%", p * 100.0)),
                ));
            }
            _ => rows.push(row(
                "Profit",
                "not computed (no rig file, or power unknown)",
            )),
        }
        if let Some(b) = &t.best_price {
            rows.push(row(
                "Best price tried",
                format!(
                    "{} wei/pixel: ${:.2}/day expected",
                    b.price_per_pixel_wei, b.expected_profit_usd_per_day
                ),
            ));
        }
        out.push(Section {
            title: format!("This rig: {} ({over})", i.name),
            rows,
        });
        let rows = t
            .sensitivity
            .iter()
            .map(|s| {
                row(
                    &format!("{} ×{} ({})", s.parameter, s.multiplier, s.value),
                    format!(
                        "share {:.3}%, utilisation {:.1}%, profit {}/day",
                        s.demand_share * 100.0,
                        s.utilisation * 100.0,
                        usd(s.profit_usd_per_day)
                    ),
                )
            })
            .collect();
        out.push(Section {
            title: format!("Sensitivity of this rig ({} runs each)", r.sweep_runs),
            rows,
        });
    }
    let n = &r.network;
    let mut rows = vec![
        row("New streams per day", spread(&n.streams_per_day, 0)),
        row("Lost: all capped or silent", pct(&n.lost_share_capped)),
        row("Lost: nobody under max price", pct(&n.lost_share_price)),
        row(
            "Stream-seconds not served",
            pct(&n.lost_share_stream_seconds),
        ),
        row(
            "Hand-offs on latency per day",
            spread(&n.handoffs_per_day, 1),
        ),
    ];
    if let (Some(a), Some(b)) = (n.concentration.first(), n.concentration.last()) {
        rows.push(row(
            "Top-5 stake share, round 1 → last",
            format!(
                "{:.2}% → {:.2}%",
                a.top5_stake_share * 100.0,
                b.top5_stake_share * 100.0
            ),
        ));
        rows.push(row(
            "Stake Gini, round 1 → last",
            format!("{:.4} → {:.4}", a.stake_gini, b.stake_gini),
        ));
        rows.push(row(
            "Nakamoto coefficient (1/3)",
            format!("{:.1} → {:.1}", a.nakamoto_one_third, b.nakamoto_one_third),
        ));
        rows.push(row(
            "Stake vs demand gap (½ L1)",
            format!("{:.4} → {:.4}", a.stake_demand_gap, b.stake_demand_gap),
        ));
    }
    out.push(Section {
        title: format!("Network: {} orchestrators ({over})", r.inputs.orchestrators),
        rows,
    });
    let mut by_stake: Vec<_> = n.orchestrators.iter().collect();
    by_stake.sort_by(|a, b| b.stake_share_initial.total_cmp(&a.stake_share_initial));
    let rows = by_stake
        .iter()
        .enumerate()
        .filter(|(k, o)| *k < 10 || o.this_rig)
        .map(|(_, o)| {
            row(
                &o.name,
                format!(
                    "stake {:.2}% → {:.2}%, demand {:.2}%, utilisation {:.0}%, {} wei/pixel",
                    o.stake_share_initial * 100.0,
                    o.stake_share_final * 100.0,
                    o.demand_share * 100.0,
                    o.utilisation * 100.0,
                    o.price_per_pixel_wei
                ),
            )
        })
        .collect();
    out.push(Section {
        title: "Largest orchestrators: stake share vs demand share (all in market.json)"
            .to_string(),
        rows,
    });
    if !r.estimated.is_empty() || !r.notes.is_empty() {
        out.push(Section {
            title: "Estimated and notes".to_string(),
            rows: r
                .estimated
                .iter()
                .map(|e| row("estimated", e.clone()))
                .chain(r.notes.iter().map(|e| row("note", e.clone())))
                .collect(),
        });
    }
    out
}
