//! Every limit on the streams a rig holds, combined, with the binding one named: the compute
//! search, the NVENC session cap, the network port, memory (host and GPU) and `--max-sessions`.
//! Pure functions of measured or declared figures.
//!
//! ## Where the method comes from
//! - NVENC: one NVENC session per rendition (facts doc §7), so streams = ⌊cap / renditions⌋.
//! - Bandwidth: streams = ⌊port Mbps / max(in, out) Mbps per stream⌋ (each direction of a
//!   symmetric port carries its own traffic; facts doc §1 and §5).
//! - Memory: streams = ⌊(memory − what rigbench held before the probe) / peak memory per
//!   session⌋, the peak measured during the probe at the found capacity.
//! - Network mode (`--orchestrator`): the search judges the round trip a gateway waits for
//!   (upload + transcode + download). Each probe also judges the orchestrator's transcode alone
//!   over the same segments ([`network_split`]): where the round trip fails at N + 1 but the
//!   transcode alone passes there, the wire is what failed, and bandwidth binds at N, measured.
//!   Otherwise bandwidth is the arithmetic ⌊link Mbps / wire Mbps per stream⌋ on the wire bytes
//!   (headers and framing included).

use serde::{Deserialize, Serialize};

/// One limit on the streams.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Limit {
    /// `compute`, `nvenc_session_cap`, `bandwidth`, `memory`, `gpu_memory` or `max_sessions`.
    pub name: String,
    /// Streams this limit allows; None when it does not apply or could not be measured.
    pub streams: Option<u32>,
    /// True when the figure is a lower bound (the search was cut or reached its bound).
    pub lower_bound: bool,
    /// `measured`, `detected`, `rig file`, `flag` or `not applicable`.
    pub source: String,
    /// The figures the limit rests on, or why it is absent.
    pub basis: String,
}

/// The figures the limits are computed from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LimitInputs {
    /// Streams the compute search found, and whether that is a lower bound.
    pub compute_streams: u32,
    pub compute_lower_bound: bool,
    /// How the compute figure was found (criterion, headroom, ratio at N and N+1).
    pub compute_basis: String,
    /// NVENC sessions allowed (per system), where the backend encodes on NVENC.
    pub nvenc_cap: Option<NvencCapInput>,
    pub renditions_per_stream: u32,
    /// The rig's port speed, Mbps each way.
    pub port_mbps: Option<f64>,
    /// Measured Mbps per stream, in (source) and out (renditions).
    pub mbps_in_per_stream: Option<f64>,
    pub mbps_out_per_stream: Option<f64>,
    /// Host memory and the measured memory per session.
    pub host_memory_bytes: Option<u64>,
    pub baseline_rss_bytes: Option<u64>,
    pub rss_per_session_bytes: Option<f64>,
    /// GPU memory (all selected GPUs together) and per session.
    pub gpu_memory_bytes: Option<u64>,
    pub gpu_baseline_used_bytes: Option<u64>,
    pub gpu_memory_per_session_bytes: Option<f64>,
    /// `--max-sessions`, and whether the search reached it.
    pub max_sessions: u32,
    pub max_sessions_reached: bool,
    /// Network mode: the search judged the round trip; this splits it.
    pub network: Option<NetworkLimitInput>,
}

/// Network mode's split of the round trip, and the wire's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkLimitInput {
    pub split: NetworkSplit,
    /// The shaped link's tbf rate each way, Mbps (None on an unshaped path).
    pub link_mbps: Option<f64>,
    /// Wire Mbps per stream to the orchestrator and back, at the capacity.
    pub wire_mbps_up_per_stream: Option<f64>,
    pub wire_mbps_down_per_stream: Option<f64>,
}

/// What the orchestrator's transcode alone allowed, against the round trip's search.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkSplit {
    /// The largest probed count whose transcode alone passed, below any count where it failed.
    pub compute_streams: u32,
    /// True when the transcode alone never failed (the figure is a lower bound).
    pub compute_lower_bound: bool,
    pub compute_basis: String,
    /// The round trip failed at N + 1 while the transcode alone passed there: the wire failed.
    pub wire_bound: bool,
    pub wire_basis: String,
}

/// One probed session count in network mode: whether its round trip passed (the search's
/// decision) and each finished repeat's transcode-alone ratio and verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct WireLevel {
    pub sessions: u32,
    pub round_trip_passed: bool,
    pub round_trip_ratio: f64,
    /// Repeats whose transcode alone was measured (at least one segment came back).
    pub transcode: Vec<(f64, bool)>,
    /// Segments lost over the level's repeats (timeouts, a full orchestrator).
    pub lost: u64,
}

/// Splits a network-mode search at `capacity` (the round trip's N) into compute and wire.
pub fn network_split(levels: &[WireLevel], capacity: u32, headroom: f64) -> NetworkSplit {
    let median = |v: &[(f64, bool)]| {
        let r: Vec<f64> = v.iter().map(|t| t.0).collect();
        super::search::median(&r)
    };
    let compute_passed = |l: &WireLevel| {
        let passed = l.transcode.iter().filter(|t| t.1).count();
        !l.transcode.is_empty() && 2 * passed > l.transcode.len()
    };
    let mut sorted: Vec<&WireLevel> = levels.iter().filter(|l| !l.transcode.is_empty()).collect();
    sorted.sort_by_key(|l| l.sessions);
    let first_fail = sorted.iter().find(|l| !compute_passed(l));
    let best = sorted
        .iter()
        .filter(|l| compute_passed(l) && first_fail.is_none_or(|f| l.sessions < f.sessions))
        .max_by_key(|l| l.sessions);
    let compute_streams = best.map_or(0, |l| l.sessions);
    let compute_basis = match (best, first_fail) {
        (Some(b), Some(f)) => format!(
            "the orchestrator's transcode alone (round trip − upload − download): median ratio {:.3} ≤ {headroom} at {}, {:.3} at {}",
            median(&b.transcode),
            b.sessions,
            median(&f.transcode),
            f.sessions
        ),
        (Some(b), None) => format!(
            "the orchestrator's transcode alone (round trip − upload − download): median ratio {:.3} ≤ {headroom} at {}, the most probed (at least that many)",
            median(&b.transcode),
            b.sessions
        ),
        (None, Some(f)) => format!(
            "the orchestrator's transcode alone: median ratio {:.3} > {headroom} at {}",
            median(&f.transcode),
            f.sessions
        ),
        (None, None) => "no network probe finished".to_string(),
    };
    let above = levels.iter().find(|l| l.sessions == capacity + 1);
    let (wire_bound, wire_basis) = match above {
        Some(l) if !l.round_trip_passed && l.transcode.is_empty() => (
            false,
            format!(
                "at {} sessions no segment came back in time ({} lost): the transcode and the wire could not be told apart",
                l.sessions, l.lost
            ),
        ),
        Some(l) if !l.round_trip_passed && compute_passed(l) => (
            true,
            format!(
                "at {} sessions the round trip failed (median ratio {:.3} > {headroom}) while the transcode alone passed ({:.3}): the transfers made it late",
                l.sessions,
                l.round_trip_ratio,
                median(&l.transcode)
            ),
        ),
        Some(l) if !l.round_trip_passed => (
            false,
            format!(
                "at {} sessions the transcode alone failed too ({:.3}): compute, not the wire",
                l.sessions,
                median(&l.transcode)
            ),
        ),
        _ => (false, format!("{} sessions were not probed", capacity + 1)),
    };
    NetworkSplit {
        compute_streams,
        compute_lower_bound: first_fail.is_none(),
        compute_basis,
        wire_bound,
        wire_basis,
    }
}

/// The NVENC session cap and where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct NvencCapInput {
    /// Concurrent NVENC sessions; None = no cap (data-center cards).
    pub sessions: Option<u32>,
    /// `detected` (opened encoders until the driver refused) or `rig file`.
    pub source: String,
    pub basis: String,
}

fn floor_streams(x: f64) -> Option<u32> {
    (x.is_finite() && x >= 0.0).then(|| x.floor().min(f64::from(u32::MAX)) as u32)
}

fn gib(bytes: f64) -> String {
    format!("{:.2} GiB", bytes / (1u64 << 30) as f64)
}

/// Every limit, in a fixed order.
pub fn limits(i: &LimitInputs) -> Vec<Limit> {
    let na = |name: &str, basis: String| Limit {
        name: name.to_string(),
        streams: None,
        lower_bound: false,
        source: "not applicable".to_string(),
        basis,
    };
    let mut out = vec![match &i.network {
        None => Limit {
            name: "compute".to_string(),
            streams: Some(i.compute_streams),
            lower_bound: i.compute_lower_bound,
            source: "measured".to_string(),
            basis: i.compute_basis.clone(),
        },
        Some(n) => Limit {
            name: "compute".to_string(),
            // The transcode alone never holds fewer than the round trip did.
            streams: Some(n.split.compute_streams.max(i.compute_streams)),
            lower_bound: n.split.compute_lower_bound
                || (i.compute_lower_bound && n.split.compute_streams <= i.compute_streams),
            source: "measured (the orchestrator's transcode alone)".to_string(),
            basis: n.split.compute_basis.clone(),
        },
    }];

    out.push(match &i.nvenc_cap {
        Some(cap) => match cap.sessions {
            Some(sessions) if i.renditions_per_stream > 0 => Limit {
                name: "nvenc_session_cap".to_string(),
                streams: Some(sessions / i.renditions_per_stream),
                lower_bound: false,
                source: cap.source.clone(),
                basis: format!(
                    "{sessions} NVENC sessions / {} renditions per stream ({})",
                    i.renditions_per_stream, cap.basis
                ),
            },
            _ => Limit {
                streams: None,
                source: cap.source.clone(),
                ..na("nvenc_session_cap", format!("no cap ({})", cap.basis))
            },
        },
        None => na(
            "nvenc_session_cap",
            "the backend does not encode on NVENC".to_string(),
        ),
    });

    let per_stream = match (i.mbps_in_per_stream, i.mbps_out_per_stream) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
    .filter(|m| *m > 0.0);
    out.push(match &i.network {
        Some(n) => wire_bandwidth(i, n),
        None => media_bandwidth(i, per_stream),
    });

    out.push(
        match (
            i.host_memory_bytes,
            i.baseline_rss_bytes,
            i.rss_per_session_bytes.filter(|b| *b > 0.0),
        ) {
            (Some(total), Some(base), Some(per)) => Limit {
                name: "memory".to_string(),
                streams: floor_streams((total.saturating_sub(base)) as f64 / per),
                lower_bound: false,
                source: "measured".to_string(),
                basis: format!(
                    "({} memory − {} held before the probe) / {} peak RSS per session",
                    gib(total as f64),
                    gib(base as f64),
                    gib(per)
                ),
            },
            _ => na(
                "memory",
                "peak memory per session or the host's memory could not be read".to_string(),
            ),
        },
    );

    out.push(
        match (
            i.gpu_memory_bytes,
            i.gpu_baseline_used_bytes,
            i.gpu_memory_per_session_bytes.filter(|b| *b > 0.0),
        ) {
            (Some(total), Some(base), Some(per)) => Limit {
                name: "gpu_memory".to_string(),
                streams: floor_streams((total.saturating_sub(base)) as f64 / per),
                lower_bound: false,
                source: "measured".to_string(),
                basis: format!(
                    "({} GPU memory − {} in use before the probe) / {} per session",
                    gib(total as f64),
                    gib(base as f64),
                    gib(per)
                ),
            },
            (None, _, _) => na("gpu_memory", "no GPU in this search".to_string()),
            _ => na(
                "gpu_memory",
                "GPU memory per session could not be measured (NVML)".to_string(),
            ),
        },
    );

    out.push(Limit {
        name: "max_sessions".to_string(),
        streams: Some(i.max_sessions),
        lower_bound: false,
        source: "flag".to_string(),
        basis: if i.max_sessions_reached {
            format!(
                "--max-sessions {}: every probe up to it passed",
                i.max_sessions
            )
        } else {
            format!("--max-sessions {} (not reached)", i.max_sessions)
        },
    });
    out
}

/// Bandwidth from the rig's port and the media Mbps the run counted (in-process runs).
fn media_bandwidth(i: &LimitInputs, per_stream: Option<f64>) -> Limit {
    let na = |basis: &str| Limit {
        name: "bandwidth".to_string(),
        streams: None,
        lower_bound: false,
        source: "not applicable".to_string(),
        basis: basis.to_string(),
    };
    match (i.port_mbps, per_stream) {
        (Some(port), Some(mbps)) => Limit {
            name: "bandwidth".to_string(),
            streams: floor_streams(port / mbps),
            lower_bound: false,
            source: "rig file port, measured Mbps".to_string(),
            basis: format!(
                "port {port} Mbps / {mbps:.2} Mbps per stream (the larger of in and out)"
            ),
        },
        (None, _) => na("the rig file gives no bandwidth.port_mbps (give --rig with a port speed)"),
        (Some(_), None) => na("no Mbps per stream was measured"),
    }
}

/// Bandwidth in network mode: measured at N where the wire failed the round trip, else
/// ⌊link (or port) Mbps / wire Mbps per stream⌋.
fn wire_bandwidth(i: &LimitInputs, n: &NetworkLimitInput) -> Limit {
    let per = match (n.wire_mbps_up_per_stream, n.wire_mbps_down_per_stream) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
    .filter(|m| *m > 0.0);
    let (port, port_words) = match (n.link_mbps, i.port_mbps) {
        (Some(l), _) => (Some(l), format!("shaped link {l} Mbps each way")),
        (None, Some(p)) => (Some(p), format!("rig file port {p} Mbps")),
        (None, None) => (None, String::new()),
    };
    let arithmetic = port.zip(per).map(|(p, m)| {
        (
            floor_streams(p / m),
            format!("{port_words} / {m:.2} wire Mbps per stream (the larger of up and down, headers and framing included)"),
        )
    });
    let shaped = n.link_mbps.is_some();
    if n.split.wire_bound {
        let also = arithmetic
            .as_ref()
            .map(|(s, words)| {
                format!(
                    "; arithmetic: {words} = {}",
                    s.map_or("?".to_string(), |s| s.to_string())
                )
            })
            .unwrap_or_default();
        return Limit {
            name: "bandwidth".to_string(),
            streams: Some(i.compute_streams),
            lower_bound: false,
            source: if shaped {
                "measured over the shaped link".to_string()
            } else {
                "measured over the wire".to_string()
            },
            basis: format!("{}{also}", n.split.wire_basis),
        };
    }
    match arithmetic {
        Some((streams, words)) => Limit {
            name: "bandwidth".to_string(),
            streams,
            lower_bound: false,
            source: if shaped {
                "shaped link rate, measured wire Mbps".to_string()
            } else {
                "rig file port, measured wire Mbps".to_string()
            },
            basis: format!("{words}; {}", n.split.wire_basis),
        },
        None => Limit {
            name: "bandwidth".to_string(),
            streams: None,
            lower_bound: false,
            source: "not applicable".to_string(),
            basis: if port.is_none() {
                "an unshaped link and no bandwidth.port_mbps in the rig file (give --link-mbps or --rig with a port speed)".to_string()
            } else {
                "no wire Mbps per stream was measured".to_string()
            },
        },
    }
}

/// The binding limit: the fewest streams; on a tie, a firm figure before a lower bound, then
/// the order of [`limits`]. `max_sessions` binds only when the search reached it.
pub fn binding(limits: &[Limit], max_sessions_reached: bool) -> Option<&Limit> {
    limits
        .iter()
        .filter(|l| l.streams.is_some())
        .filter(|l| l.name != "max_sessions" || max_sessions_reached)
        .min_by_key(|l| (l.streams.unwrap_or(u32::MAX), l.lower_bound))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> LimitInputs {
        LimitInputs {
            compute_streams: 6,
            compute_basis: "search".into(),
            renditions_per_stream: 4,
            max_sessions: 16,
            ..Default::default()
        }
    }

    #[test]
    fn the_binding_limit_is_the_smallest() {
        let gpu_cap = |sessions: Option<u32>| {
            Some(NvencCapInput {
                sessions,
                source: "detected".into(),
                basis: "GPU 0".into(),
            })
        };
        // (name, inputs, binding limit, streams)
        let cases: Vec<(&str, LimitInputs, &str, u32)> = vec![
            ("compute alone", base(), "compute", 6),
            (
                "GeForce cap of 8 with 4 renditions",
                LimitInputs {
                    nvenc_cap: gpu_cap(Some(8)),
                    ..base()
                },
                "nvenc_session_cap",
                2,
            ),
            (
                "data-center card: no cap",
                LimitInputs {
                    nvenc_cap: gpu_cap(None),
                    ..base()
                },
                "compute",
                6,
            ),
            (
                "a 20 Mbps port at 5.6 Mbps out per stream",
                LimitInputs {
                    port_mbps: Some(20.0),
                    mbps_in_per_stream: Some(2.0),
                    mbps_out_per_stream: Some(5.6),
                    ..base()
                },
                "bandwidth",
                3,
            ),
            (
                "memory: 4 GiB, 1 GiB held, 1 GiB per session",
                LimitInputs {
                    host_memory_bytes: Some(4 << 30),
                    baseline_rss_bytes: Some(1 << 30),
                    rss_per_session_bytes: Some((1u64 << 30) as f64),
                    ..base()
                },
                "memory",
                3,
            ),
            (
                "GPU memory",
                LimitInputs {
                    gpu_memory_bytes: Some(8 << 30),
                    gpu_baseline_used_bytes: Some(0),
                    gpu_memory_per_session_bytes: Some((2u64 << 30) as f64),
                    ..base()
                },
                "gpu_memory",
                4,
            ),
            (
                "every probe passed up to --max-sessions",
                LimitInputs {
                    compute_streams: 16,
                    compute_lower_bound: true,
                    max_sessions_reached: true,
                    ..base()
                },
                "max_sessions",
                16,
            ),
            (
                "a tie: compute is firm, so it binds",
                LimitInputs {
                    port_mbps: Some(60.0),
                    mbps_out_per_stream: Some(10.0),
                    ..base()
                },
                "compute",
                6,
            ),
        ];
        for (name, inputs, want, streams) in cases {
            let all = limits(&inputs);
            assert_eq!(all.len(), 6, "{name}");
            let b = binding(&all, inputs.max_sessions_reached).unwrap();
            assert_eq!(
                (b.name.as_str(), b.streams),
                (want, Some(streams)),
                "{name}: {all:?}"
            );
        }
    }

    #[test]
    fn absent_limits_say_why() {
        let all = limits(&base());
        let by = |n: &str| all.iter().find(|l| l.name == n).unwrap().clone();
        assert!(by("bandwidth").basis.contains("port_mbps"));
        assert!(by("nvenc_session_cap").basis.contains("NVENC"));
        assert_eq!(by("gpu_memory").streams, None);
        assert!(by("max_sessions").basis.contains("not reached"));
        // A port but no measured traffic.
        let all = limits(&LimitInputs {
            port_mbps: Some(100.0),
            mbps_in_per_stream: Some(0.0),
            ..base()
        });
        assert_eq!(all[2].streams, None);
    }

    fn level(sessions: u32, round_trip: f64, transcode: &[f64]) -> WireLevel {
        WireLevel {
            sessions,
            round_trip_passed: round_trip <= 0.8,
            round_trip_ratio: round_trip,
            transcode: transcode.iter().map(|&t| (t, t <= 0.8)).collect(),
            lost: 0,
        }
    }

    fn wire(split: NetworkSplit, link: Option<f64>, up: f64) -> LimitInputs {
        LimitInputs {
            network: Some(NetworkLimitInput {
                split,
                link_mbps: link,
                wire_mbps_up_per_stream: Some(up),
                wire_mbps_down_per_stream: Some(0.5),
            }),
            ..base()
        }
    }

    #[test]
    fn a_round_trip_failing_on_the_wire_makes_bandwidth_bind() {
        // 1 and 2 pass the round trip; 3 fails it while the transcode alone passes.
        let levels = [
            level(1, 0.4, &[0.1]),
            level(2, 0.7, &[0.15, 0.16, 0.2]),
            level(3, 1.4, &[0.2]),
        ];
        let split = network_split(&levels, 2, 0.8);
        assert!(split.wire_bound, "{split:?}");
        assert_eq!(
            (split.compute_streams, split.compute_lower_bound),
            (3, true)
        );
        let all = limits(&LimitInputs {
            compute_streams: 2,
            ..wire(split, Some(20.0), 8.6)
        });
        let b = binding(&all, false).unwrap();
        assert_eq!(
            (b.name.as_str(), b.streams),
            ("bandwidth", Some(2)),
            "{all:?}"
        );
        assert_eq!(b.source, "measured over the shaped link");
        assert!(
            b.basis
                .contains("20 Mbps each way / 8.60 wire Mbps per stream"),
            "{}",
            b.basis
        );
        let compute = &all[0];
        assert_eq!((compute.streams, compute.lower_bound), (Some(3), true));
    }

    #[test]
    fn a_round_trip_failing_on_the_transcode_keeps_compute_binding() {
        let levels = [level(1, 0.5, &[0.4]), level(2, 1.1, &[0.9, 0.95])];
        let split = network_split(&levels, 1, 0.8);
        assert!(!split.wire_bound);
        assert_eq!(
            (split.compute_streams, split.compute_lower_bound),
            (1, false)
        );
        assert!(split.wire_basis.contains("compute, not the wire"));
        let all = limits(&LimitInputs {
            compute_streams: 1,
            ..wire(split, Some(100.0), 2.0)
        });
        let b = binding(&all, false).unwrap();
        assert_eq!(
            (b.name.as_str(), b.streams),
            ("compute", Some(1)),
            "{all:?}"
        );
        // Bandwidth is the arithmetic on the wire bytes: 100 / 2 = 50.
        assert_eq!(all[2].streams, Some(50));
        assert_eq!(all[2].source, "shaped link rate, measured wire Mbps");
    }

    #[test]
    fn network_split_edge_cases() {
        // Nothing finished.
        let none = network_split(&[], 0, 0.8);
        assert_eq!((none.compute_streams, none.wire_bound), (0, false));
        assert_eq!(none.compute_basis, "no network probe finished");
        // Even one session fails the round trip on the wire: bandwidth binds at 0.
        let zero = network_split(&[level(1, 1.3, &[0.3])], 0, 0.8);
        assert!(zero.wire_bound);
        assert_eq!(zero.compute_streams, 1);
        // Every segment at 2 timed out: nothing to tell the transcode from the wire.
        let timed_out = WireLevel {
            lost: 6,
            round_trip_passed: false,
            ..level(2, 0.0, &[])
        };
        let split = network_split(&[level(1, 0.5, &[0.3]), timed_out], 1, 0.8);
        assert!(!split.wire_bound);
        assert!(split.wire_basis.contains("6 lost"), "{}", split.wire_basis);
        assert_eq!(
            (split.compute_streams, split.compute_lower_bound),
            (1, true)
        );
        // Unshaped, no rig port: bandwidth is not applicable and says what to give.
        let all = limits(&LimitInputs {
            compute_streams: 4,
            ..wire(network_split(&[level(4, 0.5, &[0.4])], 4, 0.8), None, 2.0)
        });
        assert_eq!(all[2].streams, None);
        assert!(all[2].basis.contains("--link-mbps"), "{}", all[2].basis);
        // A rig port stands in for the link.
        let all = limits(&LimitInputs {
            compute_streams: 4,
            port_mbps: Some(10.0),
            ..wire(network_split(&[level(4, 0.5, &[0.4])], 4, 0.8), None, 2.0)
        });
        assert_eq!(all[2].streams, Some(5));
        assert_eq!(all[2].source, "rig file port, measured wire Mbps");
    }
}
