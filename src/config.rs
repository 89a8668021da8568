//! Parsed flags → a validated, typed run configuration. Only this module, `cli` and `main` know
//! about clap. Every check that can be made before touching media or a chain is made here, so
//! bad input fails fast with exit code 2.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy_primitives::{Address, U256};
use anyhow::{bail, Context, Result};

use crate::cli::{BackendArg, ChainArg, ChainArgs, QualityArg, RunArgs};
use crate::economics::rig::Rig;
use crate::transcode::ladder::{self, Profile};
use crate::transcode::{BackendChoice, GpuSelection};

/// The default input, looked up relative to the working directory first, then to the crate.
pub const DEFAULT_INPUT: &str = "fixtures/bbb_720p25_5s_gop2.mp4";
/// Default price, wei per pixel: the Livepeer docs' example.
pub const DEFAULT_PRICE_PER_PIXEL_WEI: u64 = 1000;
/// Default ticket EV, wei: go-livepeer's (one constant, in payments).
pub use crate::payments::params::DEFAULT_TICKET_EV_WEI;
/// Each broadcaster's deposit and reserve on the embedded chain, wei (1 ETH: play money).
pub const DEFAULT_EMBEDDED_FUNDING_WEI: u128 = 1_000_000_000_000_000_000;
/// Each broadcaster's deposit and reserve on an rpc chain, wei (0.01 ETH: real ether on a real
/// network leaves the operator's account, so the default is small).
pub const DEFAULT_RPC_FUNDING_WEI: u128 = 10_000_000_000_000_000;
/// Default gas price, gwei: a typical Arbitrum One base fee.
pub const DEFAULT_GAS_PRICE_GWEI: f64 = 0.01;

/// Bounds of `rigbench run`'s numeric flags and ladder fields. Each flag's help text states its
/// bound (a unit test checks that they agree); values outside are usage errors (exit 2) that name
/// the flag and the range, found before any work starts.
pub mod limits {
    /// `--segment-seconds` at most (10 minutes).
    pub const MAX_SEGMENT_SECONDS: f64 = 600.0;
    /// `--concurrent-sessions` at most (each session runs two threads and an encoder per
    /// rendition; a thousand is beyond any single rig).
    pub const MAX_CONCURRENT_SESSIONS: u32 = 1000;
    /// `--session-delay` at most, milliseconds (one hour).
    pub const MAX_SESSION_DELAY_MS: u64 = 3_600_000;
    /// `--loop` at most.
    pub const MAX_LOOPS: u32 = 10_000;
    /// `--repeat` at most.
    pub const MAX_REPEATS: u32 = 1000;
    /// `--idle-seconds` at most (one hour).
    pub const MAX_IDLE_SECONDS: u64 = 3600;
    /// `--power-interval` range, milliseconds (what the sampler supports).
    pub const MIN_POWER_INTERVAL_MS: u64 = crate::metering::power::MIN_INTERVAL_MS;
    pub const MAX_POWER_INTERVAL_MS: u64 = crate::metering::power::MAX_INTERVAL_MS;
    /// `--price-per-pixel` at most, wei (1 ETH per pixel: anything above is a typo).
    pub const MAX_PRICE_PER_PIXEL_WEI: u128 = 1_000_000_000_000_000_000;
    /// `--ticket-ev` at most, wei (1000 ETH).
    pub const MAX_TICKET_EV_WEI: u128 = 1_000_000_000_000_000_000_000;
    /// `--sender-deposit` and `--sender-reserve` at most, wei (one million ETH).
    pub const MAX_FUNDING_WEI: u128 = 1_000_000_000_000_000_000_000_000;
    /// `--redeem-gas-price` at most, gwei (1 ETH per gas).
    pub const MAX_GAS_PRICE_GWEI: f64 = 1e9;
    /// A ladder profile's `bitrate` range, bits per second (0 is allowed with `quality` set).
    /// Below 10 kbit/s no encoder produces watchable video; 800 Mbit/s is H.264 level 6.2's cap.
    pub const MIN_BITRATE_BPS: u64 = 10_000;
    pub const MAX_BITRATE_BPS: u64 = 800_000_000;
    /// A ladder profile's `gop` at most, seconds (one hour).
    pub const MAX_GOP_SECONDS: f64 = 3600.0;
}

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
    /// Which segments' renditions get SSIM and PSNR scores.
    pub quality: crate::validation::quality::QualityMode,
    /// A scored rendition whose mean SSIM (all planes) is below this fails the run.
    pub min_ssim: Option<f64>,
    /// A scored rendition whose mean PSNR (all planes, dB) is below this fails the run.
    pub min_psnr_db: Option<f64>,
    /// `--save-baseline NAME`, validated (one safe path component).
    pub save_baseline: Option<String>,
    /// `--orchestrator`: segments go over HTTP (None: transcoded in process).
    pub network: Option<NetworkSettings>,
    /// `--metrics-addr`: Prometheus metrics served while the run lasts.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Metrics served by a caller for longer than one run (a capacity search serves one
    /// endpoint across its probes): the run feeds these and serves nothing itself.
    pub shared_metrics: Option<SharedMetrics>,
    /// Which segments the broadcaster validates (`run` validates all).
    pub validation: ValidationPlan,
    /// `--force`: the out-dir holds an earlier run, and its files are cleared before this one.
    pub force: bool,
}

/// Which segments the broadcaster validates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ValidationPlan {
    /// Every rendition of every segment.
    #[default]
    All,
    /// Every rendition of the first and the last segment of each session (capacity probes: the
    /// broadcaster's work would otherwise take CPU from the transcode it measures).
    Sample,
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
    /// Validates `rigbench run`'s flags. Errors here are usage errors (exit 2); nothing is
    /// created or started.
    pub fn from_args(args: &RunArgs) -> Result<Self> {
        let input = check_input(args)?;
        let (ladder, ladder_source) = load_ladder(args)?;
        check_sessions(args)?;
        let backend = backend_choice(args.backend);
        let gpus = parse_gpu_ids(args.nvidia.as_deref())?;
        if backend == BackendChoice::Cpu && gpus != GpuSelection::None {
            bail!("--nvidia selects GPUs but --backend cpu uses none; drop one of them");
        }
        let out_dir = match &args.out_dir {
            Some(d) => d.clone(),
            None => default_out_dir(),
        };
        check_out_dir(&out_dir, args.force)?;
        let rig = load_rig(args)?;
        let network = NetworkSettings::from_args(&args.network)?;
        if network.is_some() && args.no_payments {
            bail!("--orchestrator pays every segment with tickets, as Livepeer does; drop --no-payments");
        }
        let payments = if args.no_payments {
            check_no_payment_flags(args)?;
            None
        } else {
            Some(payments_settings(args, rig.as_ref(), &out_dir)?)
        };

        let quality = match args.quality {
            QualityArg::All => crate::validation::quality::QualityMode::All,
            QualityArg::Sample => crate::validation::quality::QualityMode::Sample,
            QualityArg::Off => crate::validation::quality::QualityMode::Off,
        };
        if let Some(x) = args.min_ssim {
            if !(x.is_finite() && (0.0..=1.0).contains(&x)) {
                bail!("--min-ssim must be an SSIM between 0 and 1 (e.g. 0.9), got {x}");
            }
        }
        if let Some(db) = args.min_psnr {
            let cap = crate::validation::quality::PSNR_CAP_DB;
            if !(db.is_finite() && (0.0..=cap).contains(&db)) {
                bail!("--min-psnr must be between 0 and {cap} dB (e.g. 35), got {db}");
            }
        }
        if quality == crate::validation::quality::QualityMode::Off
            && (args.min_ssim.is_some() || args.min_psnr.is_some())
        {
            bail!("--min-ssim and --min-psnr need scored renditions; drop --quality off (or the thresholds)");
        }

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
            quality,
            min_ssim: args.min_ssim,
            min_psnr_db: args.min_psnr,
            save_baseline: match &args.save_baseline {
                Some(name) => {
                    crate::gate::baseline::valid_name(name)?;
                    Some(name.clone())
                }
                None => None,
            },
            network,
            metrics_addr: match &args.network.metrics_addr {
                Some(a) => Some(parse_listen_addr("--metrics-addr", a)?),
                None => None,
            },
            shared_metrics: None,
            validation: ValidationPlan::All,
            force: args.force,
        })
    }
}

/// A metrics registry shared with a run ([`RunConfig::shared_metrics`]).
#[derive(Clone)]
pub struct SharedMetrics(pub std::sync::Arc<crate::metrics::Metrics>);

impl std::fmt::Debug for SharedMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedMetrics")
    }
}

impl RunConfig {
    /// Every setting as it took effect, defaults included, by flag name (the fingerprint's
    /// `flags`: what someone else needs to rerun this).
    pub fn effective_flags(&self) -> std::collections::BTreeMap<String, String> {
        let mut f = std::collections::BTreeMap::new();
        let mut put = |k: &str, v: String| {
            f.insert(k.to_string(), v);
        };
        put("in", self.input.display().to_string());
        put("transcoding-options", self.ladder_source.clone());
        put("segment-seconds", self.segment_seconds.to_string());
        put("concurrent-sessions", self.concurrent_sessions.to_string());
        put("session-delay", self.session_delay.as_millis().to_string());
        put("segs", self.segs.to_string());
        put("loop", self.loops.to_string());
        put("repeat", self.repeat.to_string());
        put("live", self.live.to_string());
        put("backend", format!("{:?}", self.backend).to_lowercase());
        put("nvidia", format!("{:?}", self.gpus));
        put("keep-renditions", self.keep_renditions.to_string());
        put("allow-invalid", self.allow_invalid.to_string());
        put("allow-truncated", self.allow_truncated.to_string());
        put("no-payments", self.payments.is_none().to_string());
        if let Some(p) = &self.payments {
            put("price-per-pixel", p.price_per_pixel_wei.to_string());
            put("ticket-ev", p.ticket_ev_wei.to_string());
            put("redeem-gas-price-wei", p.gas_price_wei.to_string());
            put(
                "chain",
                match &p.chain {
                    ChainSettings::Embedded => "embedded".to_string(),
                    // The URL may carry an API key: not recorded.
                    ChainSettings::Rpc { .. } => "rpc".to_string(),
                },
            );
        }
        put(
            "rig",
            self.rig
                .as_ref()
                .map_or("none".to_string(), |r| format!("{:?}", r.name)),
        );
        put("idle-seconds", self.idle_seconds.to_string());
        put(
            "power-interval",
            self.power_interval.as_millis().to_string(),
        );
        f
    }
}

/// `--in`: an existing file (the default clip when absent).
fn check_input(args: &RunArgs) -> Result<PathBuf> {
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
    if input.is_dir() {
        bail!(
            "--in {} is a directory; give a media file or an HLS media playlist (.m3u8)",
            input.display()
        );
    }
    Ok(input)
}

/// `--transcoding-options`: presets or a ladder file, then the bounds the encoders need.
fn load_ladder(args: &RunArgs) -> Result<(Vec<Profile>, String)> {
    let (ladder, source) = match &args.transcoding_options {
        Some(arg) => {
            let trimmed = Path::new(arg.trim());
            if !arg.trim().is_empty() && trimmed.is_dir() {
                bail!(
                    "--transcoding-options {arg:?} is a directory; give a JSON ladder file or preset names (e.g. P240p30fps16x9,P720p30fps16x9)"
                );
            }
            (
                ladder::parse_transcoding_options(arg)
                    .with_context(|| format!("invalid --transcoding-options {arg:?}"))?,
                arg.clone(),
            )
        }
        None => (
            ladder::default_ladder(),
            "default (livepeer_bench)".to_string(),
        ),
    };
    check_ladder(&ladder).with_context(|| format!("invalid --transcoding-options {source:?}"))?;
    Ok((ladder, source))
}

/// The ladder's numbers within what the encoders accept (the parser checks shapes and names).
pub fn check_ladder(ladder: &[Profile]) -> Result<()> {
    use limits::*;
    for p in ladder {
        let bitrate_ok = (MIN_BITRATE_BPS..=MAX_BITRATE_BPS).contains(&p.bitrate_bps)
            || (p.bitrate_bps == 0 && p.quality > 0);
        if !bitrate_ok {
            bail!(
                "profile {:?}: field `bitrate` is {} bit/s; give {MIN_BITRATE_BPS} to {MAX_BITRATE_BPS} bits per second (or 0 with a `quality`)",
                p.name,
                p.bitrate_bps
            );
        }
        if let ladder::Gop::Seconds(g) = p.gop {
            if !(g.is_finite() && g > 0.0 && g <= MAX_GOP_SECONDS) {
                bail!(
                    "profile {:?}: field `gop` is {g} s; give more than 0 and at most {MAX_GOP_SECONDS} seconds, or \"intra\"",
                    p.name
                );
            }
        }
    }
    Ok(())
}

/// A number flag within `lo..=hi`, or an error naming the flag and the range.
fn in_range<T: PartialOrd + std::fmt::Display>(
    flag: &str,
    value: T,
    lo: T,
    hi: T,
    unit: &str,
) -> Result<()> {
    if value < lo || value > hi {
        bail!("{flag} is {value}; give {lo} to {hi}{unit}");
    }
    Ok(())
}

/// The session and timing flags.
fn check_sessions(args: &RunArgs) -> Result<()> {
    use limits::*;
    let s = args.segment_seconds;
    if !(s.is_finite() && s > 0.0 && s <= MAX_SEGMENT_SECONDS) {
        bail!(
            "--segment-seconds is {s}; give a number of seconds above 0 and at most {MAX_SEGMENT_SECONDS}"
        );
    }
    in_range(
        "--concurrent-sessions",
        args.concurrent_sessions,
        1,
        MAX_CONCURRENT_SESSIONS,
        "",
    )?;
    in_range(
        "--session-delay",
        args.session_delay,
        0,
        MAX_SESSION_DELAY_MS,
        " ms",
    )?;
    in_range("--loop", args.loops, 1, MAX_LOOPS, "")?;
    in_range("--repeat", args.repeat, 1, MAX_REPEATS, "")?;
    in_range(
        "--idle-seconds",
        args.idle_seconds,
        0,
        MAX_IDLE_SECONDS,
        " s",
    )?;
    in_range(
        "--power-interval",
        args.power_interval,
        MIN_POWER_INTERVAL_MS,
        MAX_POWER_INTERVAL_MS,
        " ms",
    )?;
    Ok(())
}

/// Names of the files a run writes at the top of its out-dir: what makes a folder "hold a run",
/// and all that `--force` removes (with `renditions/` and leftover `.segments-*` work folders).
/// `payments/` is kept: it holds winners not yet redeemed and the embedded chain they are for.
pub const RUN_FILES: &[&str] = &["run.json", "segments.csv", "power.csv", "report.md"];

/// Whether `dir` holds an earlier run's results.
pub fn holds_run(dir: &Path) -> bool {
    RUN_FILES[..2].iter().any(|f| dir.join(f).exists())
}

/// `--out-dir`: a directory (or one that can be made), not holding a run unless `--force`.
fn check_out_dir(out_dir: &Path, force: bool) -> Result<()> {
    if out_dir.exists() && !out_dir.is_dir() {
        bail!(
            "--out-dir {} exists and is not a directory; give a new or empty folder",
            out_dir.display()
        );
    }
    check_creatable("--out-dir", out_dir)?;
    let holds = out_dir.is_dir() && holds_run(out_dir);
    if holds && !force {
        bail!(
            "--out-dir {} already holds a run (run.json or segments.csv); give another folder, or pass --force to clear that run's files first",
            out_dir.display()
        );
    }
    if force && out_dir.is_dir() && !holds {
        let non_empty = fs::read_dir(out_dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true);
        if non_empty {
            bail!(
                "--force clears an earlier run, but --out-dir {} holds no run.json or segments.csv: it does not look like a rigbench out-dir, so nothing is removed; give the out-dir of a run",
                out_dir.display()
            );
        }
    }
    Ok(())
}

/// A folder that exists, or whose nearest existing ancestor is a writable directory.
fn check_creatable(flag: &str, dir: &Path) -> Result<()> {
    let mut probe = dir;
    loop {
        if probe.exists() {
            break;
        }
        match probe.parent() {
            Some(p) if !p.as_os_str().is_empty() => probe = p,
            _ => return Ok(()), // relative path: its root is the working directory
        }
    }
    if !probe.is_dir() {
        bail!(
            "{flag} {}: {} is not a directory; give a folder path",
            dir.display(),
            probe.display()
        );
    }
    let meta = fs::metadata(probe)
        .with_context(|| format!("{flag} {}: cannot read {}", dir.display(), probe.display()))?;
    if meta.permissions().readonly() {
        bail!(
            "{flag} {}: {} is read-only; give a folder you can write to",
            dir.display(),
            probe.display()
        );
    }
    Ok(())
}

/// `--rig` and its `--set` overrides.
fn load_rig(args: &RunArgs) -> Result<Option<Rig>> {
    let Some(path) = &args.rig else {
        if !args.set.is_empty() {
            bail!("--set changes rig-file values; give --rig FILE too");
        }
        return Ok(None);
    };
    let mut rig =
        Rig::load(path).with_context(|| format!("invalid rig file {}", path.display()))?;
    for kv in &args.set {
        rig.set(kv)
            .with_context(|| format!("invalid --set {kv:?}"))?;
    }
    Ok(Some(rig))
}

/// With `--no-payments`, a payments flag would be silently ignored: refuse it.
fn check_no_payment_flags(args: &RunArgs) -> Result<()> {
    let given = [
        ("--price-per-pixel", args.price_per_pixel.is_some()),
        ("--ticket-ev", args.ticket_ev.is_some()),
        ("--redeem-gas-price", args.redeem_gas_price.is_some()),
        ("--sender-deposit", args.sender_deposit.is_some()),
        ("--sender-reserve", args.sender_reserve.is_some()),
        ("--data-dir", args.data_dir.is_some()),
        ("--chain-rpc", args.chain.chain_rpc.is_some()),
        ("--broker", args.chain.broker.is_some()),
        ("--keystore", args.chain.keystore.is_some()),
        ("--chain rpc", args.chain.chain == ChainArg::Rpc),
    ];
    if let Some((flag, _)) = given.iter().find(|(_, g)| *g) {
        bail!("{flag} sets up payments, but --no-payments turns them off; drop one of them");
    }
    Ok(())
}

/// A wei flag no larger than `max`.
fn wei_flag(flag: &str, s: &str, max: u128) -> Result<U256> {
    let v = parse_wei(flag, s)?;
    if v > U256::from(max) {
        bail!("{flag} {s} wei is above the bound of {max} wei; check the number of digits");
    }
    Ok(v)
}

/// The payments flags, validated.
fn payments_settings(
    args: &RunArgs,
    rig: Option<&Rig>,
    out_dir: &Path,
) -> Result<PaymentsSettings> {
    use limits::*;
    let price_per_pixel_wei = match &args.price_per_pixel {
        Some(s) => wei_flag("--price-per-pixel", s, MAX_PRICE_PER_PIXEL_WEI)?,
        None => rig
            .and_then(rig_price_per_pixel_wei)
            .unwrap_or(U256::from(DEFAULT_PRICE_PER_PIXEL_WEI)),
    };
    let ticket_ev_wei = match &args.ticket_ev {
        Some(s) => wei_flag("--ticket-ev", s, MAX_TICKET_EV_WEI)?,
        None => rig
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
        Some(s) => wei_flag("--sender-deposit", s, MAX_FUNDING_WEI)?,
        None => default_funding,
    };
    let sender_reserve_wei = match &args.sender_reserve {
        Some(s) => wei_flag("--sender-reserve", s, MAX_FUNDING_WEI)?,
        None => default_funding,
    };
    let data_dir = match &args.data_dir {
        Some(d) => {
            if d.exists() && !d.is_dir() {
                bail!(
                    "--data-dir {} exists and is not a directory; give a folder for pending winners",
                    d.display()
                );
            }
            check_creatable("--data-dir", d)?;
            d.clone()
        }
        None => out_dir.join("payments"),
    };
    Ok(PaymentsSettings {
        price_per_pixel_wei,
        ticket_ev_wei,
        gas_price_wei,
        data_dir,
        chain,
        sender_deposit_wei,
        sender_reserve_wei,
    })
}

impl ChainSettings {
    /// Validates the chain flags (shared by `run` and `redeem`).
    pub fn from_args(args: &ChainArgs) -> Result<Self> {
        match args.chain {
            ChainArg::Embedded => {
                if args.chain_rpc.is_some() || args.broker.is_some() {
                    bail!("--chain-rpc and --broker need --chain rpc");
                }
                if args.keystore.is_some() {
                    bail!(
                        "--keystore needs --chain rpc: the embedded chain signs with its own keys; drop --keystore or add --chain rpc --chain-rpc URL"
                    );
                }
                Ok(ChainSettings::Embedded)
            }
            ChainArg::Rpc => {
                let Some(url) = args.chain_rpc.clone() else {
                    bail!("--chain rpc needs --chain-rpc URL (e.g. http://127.0.0.1:8545)");
                };
                crate::chain::rpc::parse_rpc_url(&url)
                    .map_err(|e| anyhow::anyhow!("--chain-rpc: {e}"))?;
                let key = crate::payments::tools::operator_key(args.keystore.as_deref())
                    .context("cannot load the orchestrator's key")?;
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

/// A wei amount: a whole number, decimal or 0x-hex (the one rule: [`crate::payments::tools::parse_uint`]).
pub fn parse_wei(flag: &str, s: &str) -> Result<U256> {
    crate::payments::tools::parse_uint(s).map_err(|e| anyhow::anyhow!("{flag} {e}"))
}

/// Gwei (may be fractional) to wei, exactly to the wei for up to 9 decimals.
pub fn gwei_to_wei(flag: &str, gwei: f64) -> Result<U256> {
    if !gwei.is_finite() || gwei < 0.0 {
        bail!("{flag} must be a non-negative number of gwei, got {gwei}");
    }
    if gwei > limits::MAX_GAS_PRICE_GWEI {
        bail!(
            "{flag} {gwei} gwei is above the bound of {} gwei (1 ETH per gas)",
            limits::MAX_GAS_PRICE_GWEI
        );
    }
    Ok(U256::from((gwei * 1e9).round() as u128))
}

/// The rig file's one price per pixel ([`Rig::price_per_pixel_wei`], whole wei) for tickets.
fn rig_price_per_pixel_wei(rig: &Rig) -> Option<U256> {
    let wei = rig.price_per_pixel_wei()?;
    (wei.is_finite() && wei >= 0.0).then(|| U256::from(wei as u128))
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

/// `reports/runs/<UTC time>-<host>`: where results go without `--out-dir`.
pub fn default_out_dir() -> PathBuf {
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
                if !(0.1..=100_000.0).contains(&mbps) {
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

/// `--backend` as typed → the backend asked for.
pub fn backend_choice(arg: BackendArg) -> BackendChoice {
    match arg {
        BackendArg::Auto => BackendChoice::Auto,
        BackendArg::Cpu => BackendChoice::Cpu,
        BackendArg::Nvidia => BackendChoice::Nvidia,
        BackendArg::Hybrid => BackendChoice::Hybrid,
    }
}

/// Validates `rigbench orchestrator`'s flags (usage errors, exit 2).
pub fn orchestrator_from_args(
    args: &crate::cli::OrchestratorArgs,
) -> Result<crate::orchestrator::OrchestratorConfig> {
    let listen = parse_listen_addr("--listen", &args.listen)?;
    if !(1..=crate::orchestrator::MAX_SESSIONS_BOUND).contains(&args.max_sessions) {
        bail!(
            "--max-sessions must be from 1 to {}, got {}",
            crate::orchestrator::MAX_SESSIONS_BOUND,
            args.max_sessions
        );
    }
    if !(1024..=crate::orchestrator::MAX_SEGMENT_BYTES_BOUND).contains(&args.max_segment_bytes) {
        bail!(
            "--max-segment-bytes must be from 1024 to {} (1 GiB: a segment is held in memory while it is checked), got {}",
            crate::orchestrator::MAX_SEGMENT_BYTES_BOUND,
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
    let backend = backend_choice(args.backend);
    let gpus = parse_gpu_ids(args.nvidia.as_deref())?;
    let ticket_ev_wei = wei_flag("--ticket-ev", &args.ticket_ev, limits::MAX_TICKET_EV_WEI)?;
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
            sender_deposit_wei: wei_flag(
                "--sender-deposit",
                &args.sender_deposit,
                limits::MAX_FUNDING_WEI,
            )?,
            sender_reserve_wei: wei_flag(
                "--sender-reserve",
                &args.sender_reserve,
                limits::MAX_FUNDING_WEI,
            )?,
        },
        metrics_addr,
        quiet: args.quiet,
        out_dir,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The help text of `rigbench run --FLAG`.
    fn run_help(flag: &str) -> String {
        use clap::CommandFactory;
        let cmd = crate::cli::Cli::command();
        let run = cmd.find_subcommand("run").expect("run subcommand");
        let arg = run
            .get_arguments()
            .find(|a| a.get_long() == Some(flag))
            .unwrap_or_else(|| panic!("--{flag} exists"));
        arg.get_long_help()
            .or(arg.get_help())
            .map(|h| h.to_string())
            .unwrap_or_default()
            .replace('\n', " ")
    }

    /// 10^n written as the help text writes it.
    fn pow10(v: u128) -> String {
        let n = v.ilog10();
        assert_eq!(10u128.pow(n), v, "{v} is a power of ten");
        format!("10^{n}")
    }

    #[test]
    fn help_text_states_the_code_defaults_and_bounds() {
        use limits::*;
        let cases: Vec<(&str, Vec<String>)> = vec![
            (
                "redeem-gas-price",
                vec![
                    DEFAULT_GAS_PRICE_GWEI.to_string(),
                    MAX_GAS_PRICE_GWEI.to_string(),
                ],
            ),
            (
                "price-per-pixel",
                vec![
                    DEFAULT_PRICE_PER_PIXEL_WEI.to_string(),
                    pow10(MAX_PRICE_PER_PIXEL_WEI),
                ],
            ),
            (
                "ticket-ev",
                vec![DEFAULT_TICKET_EV_WEI.to_string(), pow10(MAX_TICKET_EV_WEI)],
            ),
            ("sender-deposit", vec![pow10(MAX_FUNDING_WEI)]),
            ("sender-reserve", vec![pow10(MAX_FUNDING_WEI)]),
            ("segment-seconds", vec![MAX_SEGMENT_SECONDS.to_string()]),
            (
                "concurrent-sessions",
                vec![MAX_CONCURRENT_SESSIONS.to_string()],
            ),
            ("session-delay", vec![MAX_SESSION_DELAY_MS.to_string()]),
            ("loop", vec![MAX_LOOPS.to_string()]),
            ("repeat", vec![MAX_REPEATS.to_string()]),
            ("idle-seconds", vec![MAX_IDLE_SECONDS.to_string()]),
            (
                "power-interval",
                vec![
                    MIN_POWER_INTERVAL_MS.to_string(),
                    MAX_POWER_INTERVAL_MS.to_string(),
                ],
            ),
        ];
        for (flag, needles) in cases {
            let help = run_help(flag);
            for n in &needles {
                assert!(help.contains(n), "--{flag} help should state {n}: {help}");
            }
            // A whole-number flag refuses a negative number in clap, stating the same bounds.
            use clap::Parser;
            let parsed =
                crate::cli::Cli::try_parse_from(["rigbench", "run", &format!("--{flag}"), "-1"]);
            let refusal = parsed.err().map(|e| e.to_string()).unwrap_or_default();
            let whole = [
                "concurrent-sessions",
                "session-delay",
                "loop",
                "repeat",
                "idle-seconds",
                "power-interval",
            ];
            if whole.contains(&flag) {
                assert!(
                    refusal.contains("give a whole number"),
                    "--{flag} -1: {refusal}"
                );
                for n in &needles {
                    assert!(
                        refusal.contains(n),
                        "--{flag} -1 should state {n}: {refusal}"
                    );
                }
            }
        }
        assert_eq!(
            DEFAULT_EMBEDDED_FUNDING_WEI,
            10u128.pow(18),
            "help says 1 ETH"
        );
        assert_eq!(
            DEFAULT_RPC_FUNDING_WEI,
            10u128.pow(16),
            "help says 0.01 ETH"
        );
    }

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
