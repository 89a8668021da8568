//! Plain-text outputs other than tables: `rigbench probe`'s inventory listing and `rigbench
//! redeem`'s report.

use std::fmt::Write as _;

use crate::metering::inventory::HostInfo;
use crate::payments::RedeemReport;
use crate::transcode::BackendCapability;

fn or_unknown<T: std::fmt::Display>(v: &Option<T>, field: &str, host: &HostInfo) -> String {
    match v {
        Some(v) => v.to_string(),
        None => match host.unknown_reasons.get(field) {
            Some(r) => format!("unknown ({r})"),
            None => "unknown".to_string(),
        },
    }
}

/// `rigbench probe`'s text: the inventory, then each backend and why it cannot run.
pub fn probe_text(host: &HostInfo, backends: &[BackendCapability]) -> String {
    let mut s = String::new();
    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
    let _ = writeln!(
        s,
        "host:      {}",
        or_unknown(&host.hostname, "hostname", host)
    );
    let _ = writeln!(
        s,
        "cpu:       {}",
        or_unknown(&host.cpu_model, "cpu_model", host)
    );
    let _ = writeln!(
        s,
        "cores:     {}",
        or_unknown(&host.logical_cores, "logical_cores", host)
    );
    let mem = host.memory_bytes.map(|b| format!("{:.1} GiB", gib(b)));
    let _ = writeln!(s, "memory:    {}", or_unknown(&mem, "memory_bytes", host));
    let _ = writeln!(s, "os:        {}", or_unknown(&host.os, "os", host));
    let _ = writeln!(s, "kernel:    {}", or_unknown(&host.kernel, "kernel", host));
    let f = &host.ffmpeg;
    let _ = writeln!(
        s,
        "ffmpeg:    avutil {} avcodec {} avformat {} avfilter {} swscale {}",
        f.avutil, f.avcodec, f.avformat, f.avfilter, f.swscale
    );
    let _ = writeln!(s, "nvml:      {}", host.nvml_status);
    if let Some(d) = &host.nvidia_driver_version {
        let _ = writeln!(s, "driver:    {d}");
    }
    if host.gpus.is_empty() {
        let _ = writeln!(s, "gpus:      none");
    }
    for g in &host.gpus {
        let yes_no = |v: Option<bool>| match v {
            Some(true) => "yes",
            Some(false) => "no",
            None => "unknown",
        };
        let _ = writeln!(
            s,
            "gpu {}:     {} ({}), {}, NVENC {}{}, NVDEC {}",
            g.index,
            g.name.as_deref().unwrap_or("unknown name"),
            g.uuid.as_deref().unwrap_or("unknown uuid"),
            g.memory_bytes
                .map(|b| format!("{:.1} GiB", gib(b)))
                .unwrap_or_else(|| "memory unknown".into()),
            yes_no(g.nvenc_present),
            g.nvenc_h264_capacity
                .map(|c| format!(" (H.264 capacity {c})"))
                .unwrap_or_default(),
            yes_no(g.nvdec_present),
        );
        for n in &g.notes {
            let _ = writeln!(s, "           note: {n}");
        }
    }
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

/// `rigbench redeem`'s one-line report (and the last error on a second line).
pub fn redeem(report: &RedeemReport) -> String {
    let mut text = format!(
        "redeemed {} winners ({} calibration), {} failed, {} already used on chain, {} still pending, {} for another chain; gas used {}",
        report.redeemed,
        report.calibration,
        report.failed,
        report.already_used,
        report.pending,
        report.other_chain,
        report.gas_used_total
    );
    if let Some(g) = report.gas_per_redemption {
        let _ = write!(text, " ({g} per redemption)");
    }
    let _ = write!(
        text,
        "; face value redeemed {} wei",
        report.face_value_redeemed_wei
    );
    if let Some(e) = &report.last_error {
        let _ = write!(text, "\nlast error: {e}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_text_lists_inventory_and_every_backend() {
        let host = HostInfo::detect();
        let backends = [
            BackendCapability {
                name: "cpu".into(),
                available: true,
                reason: None,
            },
            BackendCapability {
                name: "nvidia".into(),
                available: false,
                reason: Some("no GPU".into()),
            },
        ];
        let text = probe_text(&host, &backends);
        for needle in [
            "cpu:",
            "nvml:",
            "ffmpeg:",
            "  cpu      available\n",
            "  nvidia   unavailable: no GPU\n",
        ] {
            assert!(text.contains(needle), "{needle:?} in {text}");
        }
    }
}
