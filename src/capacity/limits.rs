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
    let mut out = vec![Limit {
        name: "compute".to_string(),
        streams: Some(i.compute_streams),
        lower_bound: i.compute_lower_bound,
        source: "measured".to_string(),
        basis: i.compute_basis.clone(),
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
    out.push(match (i.port_mbps, per_stream) {
        (Some(port), Some(mbps)) => Limit {
            name: "bandwidth".to_string(),
            streams: floor_streams(port / mbps),
            lower_bound: false,
            source: "rig file port, measured Mbps".to_string(),
            basis: format!(
                "port {port} Mbps / {mbps:.2} Mbps per stream (the larger of in and out)"
            ),
        },
        (None, _) => na(
            "bandwidth",
            "the rig file gives no bandwidth.port_mbps (give --rig with a port speed)".to_string(),
        ),
        (Some(_), None) => na("bandwidth", "no Mbps per stream was measured".to_string()),
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
}
