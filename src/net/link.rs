//! The shaped uplink: two network namespaces rigbench creates, joined by a veth pair with a
//! token-bucket filter (`tc tbf`) on each end, so the gateway's traffic to the orchestrator
//! and the renditions coming back both pass at the given rate. The addresses (10.231.0.1 and
//! 10.231.0.2/30) exist only inside those namespaces; nothing on the host's own network
//! changes. The round-trip time is added with netem where the kernel has it; where it does not
//! (these machines), the client adds half of it to each request and each response, and the
//! result says "emulated". Everything is removed when the [`Link`] is dropped.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::client::{Dialer, DIAL_TIMEOUT};
use super::summary::LinkReport;

/// The gateway's end.
pub const GATEWAY_IP: Ipv4Addr = Ipv4Addr::new(10, 231, 0, 1);
/// The orchestrator's end.
pub const ORCHESTRATOR_IP: Ipv4Addr = Ipv4Addr::new(10, 231, 0, 2);

/// A shaped link that exists while this value does.
#[derive(Debug)]
pub struct Link {
    gateway_ns: String,
    orchestrator_ns: String,
    mbps: f64,
    rtt_ms: f64,
    netem: bool,
    created: Vec<String>,
}

fn run(args: &[&str]) -> Result<()> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", args[0]))?;
    if !out.status.success() {
        bail!(
            "`{}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// tbf's bucket: at least 10 ms of traffic and never under 16 KiB (a few MTUs), so the rate,
/// not the bucket, is what limits.
pub fn tbf_burst_bytes(mbps: f64) -> u64 {
    ((mbps * 1e6 / 8.0 * 0.010) as u64).max(16 * 1024)
}

impl Link {
    /// Creates the namespaces, the veth pair and the qdiscs. Refuses (never falls back) where
    /// namespaces cannot be made: not root, or no `ip`/`tc`.
    pub fn create(mbps: f64, rtt_ms: f64) -> Result<Link> {
        let uid = super::netns::effective_uid();
        if uid != 0 {
            bail!("--link-mbps needs network namespaces, which need root (rigbench runs as uid {uid}); run as root, or drop --link-mbps to use loopback unshaped");
        }
        for tool in ["ip", "tc"] {
            if Command::new(tool)
                .arg("-V")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_err()
            {
                bail!("--link-mbps needs `{tool}` (Debian's iproute2; scripts/setup installs it)");
            }
        }
        let id = std::process::id();
        let mut link = Link {
            gateway_ns: format!("rigbench-gw-{id}"),
            orchestrator_ns: format!("rigbench-o-{id}"),
            mbps,
            rtt_ms,
            netem: false,
            created: Vec::new(),
        };
        let (vg, vo) = (
            format!("rbg{}", id % 100_000_000),
            format!("rbo{}", id % 100_000_000),
        );
        let (g, o) = (link.gateway_ns.clone(), link.orchestrator_ns.clone());
        for ns in [&g, &o] {
            run(&["ip", "netns", "add", ns]).context("cannot create a network namespace")?;
            link.created.push(ns.clone());
        }
        run(&[
            "ip", "link", "add", &vg, "netns", &g, "type", "veth", "peer", "name", &vo, "netns", &o,
        ])?;
        let rate = format!("{}kbit", (mbps * 1000.0).round().max(1.0) as u64);
        let burst = tbf_burst_bytes(mbps).to_string();
        let half = format!("{}ms", rtt_ms / 2.0);
        let mut netem_everywhere = rtt_ms > 0.0;
        for (ns, dev, ip) in [(&g, &vg, GATEWAY_IP), (&o, &vo, ORCHESTRATOR_IP)] {
            let cidr = format!("{ip}/30");
            run(&["ip", "-n", ns, "addr", "add", &cidr, "dev", dev])?;
            run(&["ip", "-n", ns, "link", "set", dev, "up"])?;
            run(&["ip", "-n", ns, "link", "set", "lo", "up"])?;
            let netem = rtt_ms > 0.0
                && run(&[
                    "tc", "-n", ns, "qdisc", "add", "dev", dev, "root", "handle", "1:", "netem",
                    "delay", &half,
                ])
                .is_ok();
            if netem {
                run(&[
                    "tc", "-n", ns, "qdisc", "add", "dev", dev, "parent", "1:1", "handle", "10:",
                    "tbf", "rate", &rate, "burst", &burst, "latency", "100ms",
                ])?;
            } else {
                netem_everywhere = false;
                run(&[
                    "tc", "-n", ns, "qdisc", "replace", "dev", dev, "root", "tbf", "rate", &rate,
                    "burst", &burst, "latency", "100ms",
                ])
                .context("cannot shape the link with tc tbf")?;
            }
        }
        link.netem = netem_everywhere;
        Ok(link)
    }

    /// The address the orchestrator listens on, inside its namespace.
    pub fn orchestrator_ip(&self) -> IpAddr {
        IpAddr::V4(ORCHESTRATOR_IP)
    }

    /// The command prefix that runs a program inside the orchestrator's namespace.
    pub fn exec_prefix(&self) -> Vec<String> {
        ["ip", "netns", "exec", &self.orchestrator_ns]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    /// Connections from inside the gateway's namespace.
    pub fn dialer(&self) -> Dialer {
        let ns = self.gateway_ns.clone();
        Arc::new(move |addr: SocketAddr| super::netns::connect_in(&ns, addr, DIAL_TIMEOUT))
    }

    /// The delay the client adds to each request and response when netem could not.
    pub fn emulated_one_way_delay(&self) -> Duration {
        if self.netem {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(self.rtt_ms / 2000.0)
        }
    }

    pub fn report(&self) -> LinkReport {
        LinkReport {
            rate_mbps: self.mbps,
            rtt_ms: self.rtt_ms,
            rtt_method: if self.rtt_ms == 0.0 {
                "none".into()
            } else if self.netem {
                "netem".into()
            } else {
                "emulated".into()
            },
            description: format!(
                "namespaces {} (gateway, {GATEWAY_IP}) and {} (orchestrator, {ORCHESTRATOR_IP}) joined by a veth pair; tc tbf {} Mbit/s (burst {} bytes) on each end",
                self.gateway_ns,
                self.orchestrator_ns,
                self.mbps,
                tbf_burst_bytes(self.mbps)
            ),
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // Deleting a namespace deletes its end of the veth pair, and so the pair.
        for ns in self.created.drain(..).rev() {
            let _ = run(&["ip", "netns", "del", &ns]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_sizes() {
        for (mbps, want) in [
            (1.0, 16 * 1024),
            (20.0, 25_000),
            (100.0, 125_000),
            (0.1, 16 * 1024),
        ] {
            assert_eq!(tbf_burst_bytes(mbps), want, "{mbps}");
        }
    }
}
