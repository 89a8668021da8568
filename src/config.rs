//! Parsed flags → a validated, typed run configuration. Only this module, `cli` and `main` know
//! about clap. Every check that can be made before touching media or a chain is made here, so
//! bad input fails fast with exit code 2.

use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy_primitives::{Address, U256};
use anyhow::{bail, Context, Result};

use crate::cli::{BackendArg, ChainArg, ChainArgs, RunArgs};
use crate::economics::rig::Rig;
use crate::transcode::ladder::{self, Profile};
use crate::transcode::{BackendChoice, GpuSelection};

/// The default input, looked up relative to the working directory first, then to the crate.
pub const DEFAULT_INPUT: &str = "fixtures/bbb_720p25_5s_gop2.mp4";
/// Default price, wei per pixel: the Livepeer docs' example.
pub const DEFAULT_PRICE_PER_PIXEL_WEI: u64 = 1000;
/// Default ticket EV, wei: go-livepeer's.
pub const DEFAULT_TICKET_EV_WEI: u64 = 8_000_000_000;
/// Each broadcaster's deposit and reserve on the embedded chain, wei (1 ETH: play money).
pub const DEFAULT_EMBEDDED_FUNDING_WEI: u128 = 1_000_000_000_000_000_000;
/// Each broadcaster's deposit and reserve on an rpc chain, wei (0.01 ETH: real ether on a real
/// network leaves the operator's account, so the default is small).
pub const DEFAULT_RPC_FUNDING_WEI: u128 = 10_000_000_000_000_000;
/// Default gas price, gwei: a typical Arbitrum One base fee.
pub const DEFAULT_GAS_PRICE_GWEI: f64 = 0.01;

/// A validated `rigbench run`.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub input: PathBuf,
    pub ladder: Vec<Profile>,
    /// The `--transcoding-options` value as given (or "default").
    pub ladder_source: String,
    pub segment_seconds: f64,
    pub concurrent_sessions: u32,
    pub session_delay: Duration,
    pub segs: u32,
    pub loops: u32,
    pub repeat: u32,
    pub live: bool,
    pub backend: BackendChoice,
    pub gpus: GpuSelection,
    pub out_dir: PathBuf,
    pub keep_renditions: bool,
    pub json: bool,
    pub quiet: bool,
    pub allow_invalid: bool,
    pub allow_truncated: bool,
    /// None with `--no-payments`.
    pub payments: Option<PaymentsSettings>,
    pub rig: Option<Rig>,
    pub idle_seconds: u64,
    pub power_interval: Duration,
    /// `--orchestrator`: segments go over HTTP (None: transcoded in process).
    pub network: Option<NetworkSettings>,
    /// `--metrics-addr`: Prometheus metrics served while the run lasts.
    pub metrics_addr: Option<std::net::SocketAddr>,
}

/// What the payments side of a run needs.
#[derive(Debug, Clone)]
pub struct PaymentsSettings {
    pub price_per_pixel_wei: U256,
    pub ticket_ev_wei: U256,
    pub gas_price_wei: U256,
    pub data_dir: PathBuf,
    pub chain: ChainSettings,
    /// What each session's broadcaster is funded with on chain, wei.
    pub sender_deposit_wei: U256,
    pub sender_reserve_wei: U256,
}

/// Which chain, validated.
#[derive(Debug, Clone)]
pub enum ChainSettings {
    Embedded,
    Rpc {
        url: String,
        broker: Option<Address>,
        /// The orchestrator's key: it sends redemptions and is the tickets' recipient.
        key: Box<crate::payments::Key>,
    },
}

impl RunConfig {
    /// Validates `rigbench run`'s flags. Errors here are usage errors (exit 2).
    pub fn from_args(args: &RunArgs) -> Result<Self> {
        let input = match &args.input {
            Some(p) => p.clone(),
            None => default_input(),
        };
        if !input.exists() {
            bail!(
                "input {} does not exist; give --in PATH (a media file or an HLS media playlist)",
                input.display()
            );
        }
        let (ladder, ladder_source) = match &args.transcoding_options {
            Some(arg) => (
                ladder::parse_transcoding_options(arg)
                    .with_context(|| format!("invalid --transcoding-options {arg:?}"))?,
                arg.clone(),
            ),
            None => (
                ladder::default_ladder(),
                "default (livepeer_bench)".to_string(),
            ),
        };
        if !(args.segment_seconds.is_finite() && args.segment_seconds > 0.0) {
            bail!(
                "--segment-seconds must be a positive number of seconds, got {}",
                args.segment_seconds
            );
        }
        if args.concurrent_sessions == 0 {
            bail!("--concurrent-sessions must be at least 1, got 0");
        }
        if args.loops == 0 {
            bail!("--loop must be at least 1, got 0");
        }
        if args.repeat == 0 {
            bail!("--repeat must be at least 1, got 0");
        }
        if args.power_interval == 0 {
            bail!("--power-interval must be at least 1 ms, got 0");
        }
        let backend = match args.backend {
            BackendArg::Auto => BackendChoice::Auto,
            BackendArg::Cpu => BackendChoice::Cpu,
            BackendArg::Nvidia => BackendChoice::Nvidia,
            BackendArg::Hybrid => BackendChoice::Hybrid,
        };
        let gpus = parse_gpu_ids(args.nvidia.as_deref())?;
        if backend == BackendChoice::Cpu && gpus != GpuSelection::None {
            bail!("--nvidia selects GPUs but --backend cpu uses none; drop one of them");
        }
        let out_dir = match &args.out_dir {
            Some(d) => d.clone(),
            None => default_out_dir(),
        };

        let mut rig = match &args.rig {
            Some(path) => Some(
                Rig::load(path).with_context(|| format!("invalid rig file {}", path.display()))?,
            ),
            None => None,
        };
        if let Some(rig) = rig.as_mut() {
            for kv in &args.set {
                rig.set(kv)
                    .with_context(|| format!("invalid --set {kv:?}"))?;
            }
        } else if !args.set.is_empty() {
            bail!("--set changes rig-file values; give --rig FILE too");
        }

        let network = NetworkSettings::from_args(&args.network)?;
        if network.is_some() && args.no_payments {
            bail!("--orchestrator pays every segment with tickets, as Livepeer does; drop --no-payments");
        }
        let payments = if args.no_payments {
            None
        } else {
            let price_per_pixel_wei = match &args.price_per_pixel {
                Some(s) => parse_wei("--price-per-pixel", s)?,
                None => rig
                    .as_ref()
                    .and_then(rig_price_per_pixel_wei)
                    .unwrap_or(U256::from(DEFAULT_PRICE_PER_PIXEL_WEI)),
            };
            let ticket_ev_wei = match &args.ticket_ev {
                Some(s) => parse_wei("--ticket-ev", s)?,
                None => rig
                    .as_ref()
                    .and_then(|r| r.chain.ticket_ev_wei)
                    .map(|ev| U256::from(ev.round().max(0.0) as u128))
                    .unwrap_or(U256::from(DEFAULT_TICKET_EV_WEI)),
            };
            if ticket_ev_wei.is_zero() {
                bail!("--ticket-ev must be above 0 wei");
            }
            let gas_gwei = match args.redeem_gas_price {
                Some(g) => g,
                None => rig
                    .as_ref()
                    .and_then(|r| r.chain.gas_price_gwei)
                    .unwrap_or(DEFAULT_GAS_PRICE_GWEI),
            };
            let gas_price_wei = gwei_to_wei("--redeem-gas-price", gas_gwei)?;
            let chain = ChainSettings::from_args(&args.chain)?;
            let default_funding = match chain {
                ChainSettings::Embedded => U256::from(DEFAULT_EMBEDDED_FUNDING_WEI),
                ChainSettings::Rpc { .. } => U256::from(DEFAULT_RPC_FUNDING_WEI),
            };
            let sender_deposit_wei = match &args.sender_deposit {
                Some(s) => parse_wei("--sender-deposit", s)?,
                None => default_funding,
            };
            let sender_reserve_wei = match &args.sender_reserve {
                Some(s) => parse_wei("--sender-reserve", s)?,
                None => default_funding,
            };
            Some(PaymentsSettings {
                price_per_pixel_wei,
                ticket_ev_wei,
                gas_price_wei,
                data_dir: args
                    .data_dir
                    .clone()
                    .unwrap_or_else(|| out_dir.join("payments")),
                chain,
                sender_deposit_wei,
                sender_reserve_wei,
            })
        };

        Ok(Self {
            input,
            ladder,
            ladder_source,
            segment_seconds: args.segment_seconds,
            concurrent_sessions: args.concurrent_sessions,
            session_delay: Duration::from_millis(args.session_delay),
            segs: args.segs,
            loops: args.loops,
            repeat: args.repeat,
            live: !args.no_live,
            backend,
            gpus,
            out_dir,
            keep_renditions: args.keep_renditions,
            json: args.json,
            quiet: args.quiet,
            allow_invalid: args.allow_invalid,
            allow_truncated: args.allow_truncated,
            payments,
            rig,
            idle_seconds: args.idle_seconds,
            power_interval: Duration::from_millis(args.power_interval),
            network,
            metrics_addr: match &args.network.metrics_addr {
                Some(a) => Some(parse_listen_addr("--metrics-addr", a)?),
                None => None,
            },
        })
    }
}

impl ChainSettings {
    /// Validates the chain flags (shared by `run` and `redeem`).
    pub fn from_args(args: &ChainArgs) -> Result<Self> {
        match args.chain {
            ChainArg::Embedded => {
                if args.chain_rpc.is_some() || args.broker.is_some() {
                    bail!("--chain-rpc and --broker need --chain rpc");
                }
                Ok(ChainSettings::Embedded)
            }
            ChainArg::Rpc => {
                let Some(url) = args.chain_rpc.clone() else {
                    bail!("--chain rpc needs --chain-rpc URL (e.g. http://127.0.0.1:8545)");
                };
                crate::chain::rpc::parse_rpc_url(&url)
                    .map_err(|e| anyhow::anyhow!("--chain-rpc: {e}"))?;
                let key = crate::run::payments::operator_key(args.keystore.as_deref())?;
                let broker = match &args.broker {
                    Some(b) => Some(b.parse::<Address>().map_err(|e| {
                        anyhow::anyhow!("--broker {b:?} is not a 20-byte 0x-hex address: {e}")
                    })?),
                    None => None,
                };
                Ok(ChainSettings::Rpc {
                    url,
                    broker,
                    key: Box::new(key),
                })
            }
        }
    }
}

/// `--nvidia 0,1` or `all`.
pub fn parse_gpu_ids(arg: Option<&str>) -> Result<GpuSelection> {
    let Some(arg) = arg else {
        return Ok(GpuSelection::None);
    };
    let arg = arg.trim();
    if arg.eq_ignore_ascii_case("all") {
        return Ok(GpuSelection::All);
    }
    let mut ids = Vec::new();
    for part in arg.split(',') {
        let part = part.trim();
        let id: u32 = part.parse().map_err(|_| {
            anyhow::anyhow!("--nvidia {arg:?}: {part:?} is not a GPU id; give ids like 0,1 or all")
        })?;
        if ids.contains(&id) {
            bail!("--nvidia {arg:?}: GPU {id} is listed twice");
        }
        ids.push(id);
    }
    Ok(GpuSelection::Ids(ids))
}

/// A wei amount: decimal or 0x-hex, non-negative integer.
pub fn parse_wei(flag: &str, s: &str) -> Result<U256> {
    let t = s.trim();
    let digits = t.strip_prefix("0x").unwrap_or(t);
    if digits.is_empty() {
        bail!("{flag} is empty; give a whole number of wei (decimal or 0x-hex)");
    }
    let parsed = if let Some(hex) = t.strip_prefix("0x") {
        U256::from_str_radix(hex, 16)
    } else {
        U256::from_str_radix(t, 10)
    };
    parsed.map_err(|_| {
        anyhow::anyhow!("{flag} {s:?} is not a whole number of wei (decimal or 0x-hex)")
    })
}

/// Gwei (may be fractional) to wei, exactly to the wei for up to 9 decimals.
pub fn gwei_to_wei(flag: &str, gwei: f64) -> Result<U256> {
    if !gwei.is_finite() || gwei < 0.0 {
        bail!("{flag} must be a non-negative number of gwei, got {gwei}");
    }
    if gwei > 1e9 {
        bail!("{flag} {gwei} gwei is absurd (above 1e9 gwei = 1 ETH per gas)");
    }
    Ok(U256::from((gwei * 1e9).round() as u128))
}

/// The rig file's price per pixel in wei (rounded to whole wei: the ticket arithmetic is
/// integer), from `fees.price_per_pixel_wei` or `fees.price_usd_per_pixel` at `fees.eth_usd`.
fn rig_price_per_pixel_wei(rig: &Rig) -> Option<U256> {
    let wei = match (
        rig.fees.price_per_pixel_wei,
        rig.fees.price_usd_per_pixel,
        rig.fees.eth_usd,
    ) {
        (Some(wei), _, _) => wei,
        (None, Some(usd), Some(eth_usd)) if eth_usd > 0.0 => usd / eth_usd * 1e18,
        _ => return None,
    };
    (wei.is_finite() && wei >= 0.0).then(|| U256::from(wei.round() as u128))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        })
        .unwrap_or_else(|| "host".to_string())
}

fn default_input() -> PathBuf {
    let local = PathBuf::from(DEFAULT_INPUT);
    if local.exists() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_INPUT)
}

fn default_out_dir() -> PathBuf {
    let host = hostname();
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    PathBuf::from("reports/runs").join(format!("{stamp}-{host}"))
}

/// `run --orchestrator`: where segments go and how the link behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkSettings {
    pub orchestrator: OrchestratorTarget,
    /// Renditions inline (multipart/mixed) instead of URLs to GET.
    pub multipart: bool,
    pub link: Option<LinkSettings>,
    /// `--segment-timeout`; None: go-livepeer's rule.
    pub segment_timeout: Option<Duration>,
}

/// `--orchestrator URL|self`.
#[derive(Debug, Clone, PartialEq)]
pub enum OrchestratorTarget {
    /// An orchestrator already running at this address (http only).
    Url(std::net::SocketAddr),
    /// A `rigbench orchestrator` started for the run.
    SelfHosted,
}

/// `--link-mbps` / `--link-rtt-ms`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkSettings {
    pub mbps: f64,
    pub rtt_ms: f64,
}

/// Parses `--metrics-addr`: a socket address (IP:PORT).
pub fn parse_listen_addr(flag: &str, s: &str) -> Result<std::net::SocketAddr> {
    s.trim().parse().map_err(|_| {
        anyhow::anyhow!("{flag} {s:?} is not an IP:PORT address (e.g. 127.0.0.1:9100)")
    })
}

/// Parses `--orchestrator`: `self`, or `http://IP:PORT` (a name is resolved once, here).
pub fn parse_orchestrator(s: &str) -> Result<OrchestratorTarget> {
    let t = s.trim();
    if t == "self" {
        return Ok(OrchestratorTarget::SelfHosted);
    }
    let Some(rest) = t.strip_prefix("http://") else {
        bail!("--orchestrator {s:?}: give http://HOST:PORT or self (https is not supported)");
    };
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() || authority.contains('/') || authority.contains('@') {
        bail!("--orchestrator {s:?}: give the orchestrator's base URL, http://HOST:PORT");
    }
    use std::net::ToSocketAddrs;
    let mut addrs = authority
        .to_socket_addrs()
        .map_err(|e| anyhow::anyhow!("--orchestrator {s:?}: cannot resolve {authority:?}: {e}"))?;
    addrs.next().map(OrchestratorTarget::Url).ok_or_else(|| {
        anyhow::anyhow!("--orchestrator {s:?}: {authority:?} resolves to no address")
    })
}

impl NetworkSettings {
    /// Validates `run`'s network flags; None without `--orchestrator`.
    pub fn from_args(args: &crate::cli::NetworkArgs) -> Result<Option<NetworkSettings>> {
        let Some(o) = &args.orchestrator else {
            return Ok(None);
        };
        let orchestrator = parse_orchestrator(o)?;
        let link = match args.link_mbps {
            None => None,
            Some(mbps) => {
                if !(mbps.is_finite() && mbps >= 0.1 && mbps <= 100_000.0) {
                    bail!("--link-mbps must be between 0.1 and 100000 megabits per second, got {mbps}");
                }
                let rtt_ms = args.link_rtt_ms.unwrap_or(0.0);
                if !(rtt_ms.is_finite() && (0.0..=10_000.0).contains(&rtt_ms)) {
                    bail!("--link-rtt-ms must be between 0 and 10000 milliseconds, got {rtt_ms}");
                }
                if orchestrator != OrchestratorTarget::SelfHosted {
                    bail!("--link-mbps shapes the link to an orchestrator rigbench starts: use it with --orchestrator self");
                }
                Some(LinkSettings { mbps, rtt_ms })
            }
        };
        let segment_timeout = match args.segment_timeout {
            None => None,
            Some(t) if t.is_finite() && t > 0.0 && t <= 3600.0 => Some(Duration::from_secs_f64(t)),
            Some(t) => bail!("--segment-timeout must be between 0 and 3600 seconds, got {t}"),
        };
        Ok(Some(NetworkSettings {
            orchestrator,
            multipart: args.multipart,
            link,
            segment_timeout,
        }))
    }
}

/// Validates `rigbench orchestrator`'s flags (usage errors, exit 2).
pub fn orchestrator_from_args(
    args: &crate::cli::OrchestratorArgs,
) -> Result<crate::orchestrator::OrchestratorConfig> {
    let listen = parse_listen_addr("--listen", &args.listen)?;
    if args.max_sessions == 0 {
        bail!("--max-sessions must be at least 1, got 0");
    }
    if args.max_segment_bytes < 1024 {
        bail!(
            "--max-segment-bytes must be at least 1024, got {}",
            args.max_segment_bytes
        );
    }
    if args.read_timeout_ms == 0 || args.read_timeout_ms > 600_000 {
        bail!(
            "--read-timeout-ms must be between 1 and 600000, got {}",
            args.read_timeout_ms
        );
    }
    if args.session_idle_seconds == 0 {
        bail!("--session-idle-seconds must be at least 1, got 0");
    }
    let metrics_addr = match &args.metrics_addr {
        Some(a) => Some(parse_listen_addr("--metrics-addr", a)?),
        None => None,
    };
    let backend = match args.backend {
        BackendArg::Auto => BackendChoice::Auto,
        BackendArg::Cpu => BackendChoice::Cpu,
        BackendArg::Nvidia => BackendChoice::Nvidia,
        BackendArg::Hybrid => BackendChoice::Hybrid,
    };
    let gpus = parse_gpu_ids(args.nvidia.as_deref())?;
    let ticket_ev_wei = parse_wei("--ticket-ev", &args.ticket_ev)?;
    if ticket_ev_wei.is_zero() {
        bail!("--ticket-ev must be above 0 wei");
    }
    let price_per_pixel_wei = parse_wei("--price-per-pixel", &args.price_per_pixel)?;
    if price_per_pixel_wei > U256::from(i64::MAX as u64) {
        bail!("--price-per-pixel must fit the protocol's int64 price");
    }
    let out_dir = match &args.out_dir {
        Some(d) => d.clone(),
        None => PathBuf::from("reports/orchestrator")
            .join(chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string()),
    };
    let chain = ChainSettings::from_args(&args.chain)?;
    let resolved = crate::transcode::resolve_backend(backend, &gpus)
        .map_err(|e| anyhow::anyhow!("--backend {}: {e}", backend.name()))?;
    Ok(crate::orchestrator::OrchestratorConfig {
        listen,
        max_sessions: args.max_sessions,
        max_segment_bytes: args.max_segment_bytes,
        read_timeout: Duration::from_millis(args.read_timeout_ms),
        session_idle: Duration::from_secs(args.session_idle_seconds),
        backend: resolved,
        payments: crate::orchestrator::payments::OrchestratorPaymentsConfig {
            data_dir: args
                .data_dir
                .clone()
                .unwrap_or_else(|| out_dir.join("payments")),
            chain,
            price_per_pixel_wei,
            ticket_ev_wei,
            gas_price_wei: gwei_to_wei("--redeem-gas-price", args.redeem_gas_price)?,
            redeem_gas_estimate: crate::payments::payer::DEFAULT_REDEEM_GAS_ESTIMATE,
            sender_deposit_wei: parse_wei("--sender-deposit", &args.sender_deposit)?,
            sender_reserve_wei: parse_wei("--sender-reserve", &args.sender_reserve)?,
        },
        metrics_addr,
        quiet: args.quiet,
        out_dir,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpu_ids() {
        assert_eq!(parse_gpu_ids(None).unwrap(), GpuSelection::None);
        assert_eq!(parse_gpu_ids(Some("all")).unwrap(), GpuSelection::All);
        assert_eq!(
            parse_gpu_ids(Some("0, 2")).unwrap(),
            GpuSelection::Ids(vec![0, 2])
        );
        for bad in ["", "x", "0,0", "-1", "1,,2"] {
            assert!(parse_gpu_ids(Some(bad)).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn wei_amounts() {
        assert_eq!(parse_wei("f", "1000").unwrap(), U256::from(1000));
        assert_eq!(parse_wei("f", "0x10").unwrap(), U256::from(16));
        for bad in ["-1", "1.5", "abc", ""] {
            assert!(parse_wei("f", bad).is_err(), "{bad:?} should fail");
        }
        assert_eq!(gwei_to_wei("g", 0.1).unwrap(), U256::from(100_000_000u64));
        assert!(gwei_to_wei("g", -1.0).is_err());
        assert!(gwei_to_wei("g", f64::NAN).is_err());
    }
}
