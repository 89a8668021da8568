//! The command line, as typed. clap lives here only; `config` turns these into validated,
//! typed values. Doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Will this rig make money transcoding video for a Livepeer-style network?
///
/// rigbench drives the whole work of an orchestrator on this machine: ingest of a stream,
/// multi-rendition transcoding, probabilistic-micropayment tickets and their redemption, and
/// meters time, watts and bytes against the fees earned.
///
/// Exit codes: 0 success, 1 regression or invalid signature, 2 usage or input error, 3 run failure.
#[derive(Debug, Parser)]
#[command(name = "rigbench", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Transcode a stream through a ladder with N concurrent sessions, pay for it with tickets,
    /// validate every rendition, and report speed (livepeer_bench-compatible), power and money.
    // Negative numbers reach the flag's own check, whose message names the flag and its range.
    #[command(allow_negative_numbers = true)]
    Run(Box<RunArgs>),
    /// Print the hardware inventory and what each backend can do here (and why not).
    Probe(ProbeArgs),
    /// Redeem winning tickets that an earlier run left pending.
    Redeem(RedeemArgs),
    /// Operator tools for Livepeer tickets: hash, sign, verify, wins.
    #[command(subcommand)]
    Ticket(TicketCommand),
    /// Recompute the money of an earlier run without transcoding (what-if questions).
    Economics(EconomicsArgs),
    /// Merge many nodes' results (one folder per node, e.g. from deploy/slurm or deploy/k8s)
    /// into one fleet report: fleet.md, fleet.html and fleet.json.
    #[command(allow_negative_numbers = true)]
    Merge(MergeArgs),
    /// Simulate the network that sends this rig its work: gateways selecting orchestrators by
    /// stake, randomness and price, capping, latency, rewards and delegators. Prints this rig's
    /// expected share and profit with their spread; writes market.json.
    #[command(allow_negative_numbers = true)]
    Market(MarketArgs),
    /// Put several runs side by side (one column each, the best in each row marked), as a
    /// Markdown table on stdout and optionally a page.
    #[command(allow_negative_numbers = true)]
    Compare(CompareArgs),
    /// Decide whether a candidate run regresses against a baseline: exit 1 on a regression, 0
    /// otherwise, 2 when the two cannot be compared.
    #[command(allow_negative_numbers = true)]
    Gate(GateArgs),
    /// Serve Livepeer's segment protocol over HTTP as an orchestrator: orchestrator info,
    /// POST /segment with ticket payments, renditions to GET or inline. Stops on Ctrl-C or
    /// SIGTERM, redeems its winners and writes orchestrator.json.
    #[command(allow_negative_numbers = true)]
    Orchestrator(Box<OrchestratorArgs>),
    /// Find how many live streams this rig holds: probes 1, 2, 4, ... concurrent live sessions
    /// until one fails, then narrows the bracket; repeats probes near the threshold; combines the
    /// compute, NVENC, bandwidth and memory limits. Writes capacity.json and capacity.csv.
    ///
    /// Takes `run`'s source, ladder, backend, GPU, segment, payment and rig flags. Session
    /// counts, repeats and pacing are the search's to choose.
    #[command(allow_negative_numbers = true)]
    Capacity(Box<CapacityArgs>),
}

/// A whole-number flag's parser: a value its type cannot hold (negative, too large, not a
/// number) is refused here with the range the flag accepts, so `--runs -1` names the flag and its
/// range rather than clap's "unexpected argument"; values the type holds (0, too many) go on to
/// the flag's own check, which says what is wrong with them.
fn whole<T>(accepted: impl Into<String>) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync
where
    T: std::str::FromStr + Clone + Send + Sync + 'static,
{
    let accepted = accepted.into();
    move |s: &str| {
        s.parse::<T>()
            .map_err(|_| format!("give a whole number {accepted}"))
    }
}

/// [`whole`] for a decimal flag: text that is not a number is refused with the accepted range;
/// every number (negative, NaN, infinite, huge) goes on to the flag's own check.
fn decimal(
    accepted: impl Into<String>,
) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync {
    let accepted = accepted.into();
    move |s: &str| {
        s.parse::<f64>()
            .map_err(|_| format!("give a number {accepted}"))
    }
}

/// How a capacity probe is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CriterionArg {
    /// Real-Time Duration Ratio ≤ headroom (Livepeer's documented method).
    Livepeer,
    /// That, and p95 of per-segment transcode_time / seg_dur ≤ 1.0, and no session falling
    /// behind live.
    Strict,
}

#[derive(Debug, Args)]
pub struct CapacityArgs {
    #[command(flatten)]
    pub run: RunArgs,

    /// Most concurrent sessions to try, 1 to 1000. Default: a bound from the hardware (printed).
    #[arg(long, value_name = "N", value_parser = whole::<u32>("from 1 to 1000"), help_heading = "Capacity")]
    pub max_sessions: Option<u32>,

    /// Segments each session streams after the last session started, per probe, 1 to 10000.
    #[arg(long, value_name = "N", default_value_t = 6, value_parser = whole::<u32>("from 1 to 10000"), help_heading = "Capacity")]
    pub probe_segments: u32,

    /// How a probe is judged.
    #[arg(long, value_enum, default_value_t = CriterionArg::Livepeer, help_heading = "Capacity")]
    pub criterion: CriterionArg,

    /// The Real-Time Duration Ratio a probe may reach, in (0, 1] (0.8 = Livepeer's 20% headroom).
    #[arg(
        long,
        value_name = "RATIO",
        default_value_t = 0.8,
        value_parser = decimal("in (0, 1]"),
        help_heading = "Capacity"
    )]
    pub headroom: f64,

    /// Repeats at most of a probe whose figure is within ±10% of its threshold (median decides),
    /// 1 to 100.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = whole::<u32>("from 1 to 100"), help_heading = "Capacity")]
    pub max_repeats: u32,

    /// Stop after S seconds with the best answer so far, marked partial (above 0, at most a week).
    #[arg(long, value_name = "S", value_parser = decimal("of seconds above 0, at most a week (604800)"), help_heading = "Capacity")]
    pub time_budget: Option<f64>,
}

/// `run` flags that `capacity` chooses itself, as typed on the command line (long names).
pub const CAPACITY_REFUSED_RUN_FLAGS: &[&str] = &[
    "concurrent_sessions",
    "repeat",
    "segs",
    "loops",
    "no_live",
    "keep_renditions",
];

/// Which of [`CAPACITY_REFUSED_RUN_FLAGS`] were given on `argv` (a `capacity` command line), as
/// `--flag` names. clap's defaults cannot tell "given" from "default", so argv is parsed again.
pub fn capacity_run_only_flags_given(argv: &[String]) -> Vec<String> {
    use clap::parser::ValueSource;
    use clap::CommandFactory;
    let Ok(matches) = Cli::command().try_get_matches_from(argv) else {
        return Vec::new();
    };
    let Some(m) = matches.subcommand_matches("capacity") else {
        return Vec::new();
    };
    CAPACITY_REFUSED_RUN_FLAGS
        .iter()
        .filter(|id| m.value_source(id) == Some(ValueSource::CommandLine))
        .map(|id| match *id {
            "loops" => "--loop".to_string(),
            other => format!("--{}", other.replace('_', "-")),
        })
        .collect()
}

/// Which transcoding backend to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// NVIDIA if it can run here, else CPU with a warning.
    Auto,
    /// libx264 on the CPU.
    Cpu,
    /// NVDEC decode, scale_cuda, NVENC encode; frames stay on the GPU.
    Nvidia,
    /// NVDEC decode and scale_cuda on the GPU, libx264 on the CPU (GPUs without NVENC).
    Hybrid,
}

/// Where winning tickets are redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChainArg {
    /// An in-process EVM running the TicketBroker: no set-up, no network.
    Embedded,
    /// Any Ethereum JSON-RPC endpoint (`--chain-rpc URL`).
    Rpc,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Input: any file FFmpeg demuxes (mp4, ts, mkv, flv, ...) or an HLS media playlist
    /// (.m3u8) with relative segment URIs. Default: the bundled 2-s-GOP Big Buck Bunny clip.
    #[arg(long = "in", value_name = "PATH", help_heading = "Input")]
    pub input: Option<PathBuf>,

    /// Ladder: preset names, comma-separated (P720p30fps16x9,...), or a JSON ladder file in
    /// livepeer's format. Default: livepeer_bench's own ladder (240p, 360p, 480p, 720p).
    #[arg(long, value_name = "PRESETS|FILE", help_heading = "Input")]
    pub transcoding_options: Option<String>,

    /// Accept a truncated input file and transcode the whole frames before the cut (by default
    /// a truncated file is an input error).
    #[arg(long, help_heading = "Input")]
    pub allow_truncated: bool,

    /// Length of the segments a file is cut into, seconds, above 0 and at most 600 (cut at the
    /// first keyframe at or after each boundary). HLS input keeps its own segments.
    #[arg(long, value_name = "S", default_value_t = 2.0, help_heading = "Input")]
    pub segment_seconds: f64,

    /// Parallel sessions (streams), 1 to 1000; each transcodes the same source.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = whole::<u32>("from 1 to 1000"), help_heading = "Sessions")]
    pub concurrent_sessions: u32,

    /// Stagger between session starts, milliseconds, at most 3600000 (an hour).
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 300,
        value_parser = whole::<u64>("from 0 to 3600000"),
        help_heading = "Sessions"
    )]
    pub session_delay: u64,

    /// Segments per session at most (0 = all; any larger number caps at the stream's length).
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = whole::<u32>("of 0 (all) or more"), help_heading = "Sessions")]
    pub segs: u32,

    /// Each session plays the source N times in a row, 1 to 10000 (longer streams from a short
    /// clip).
    #[arg(
        long = "loop",
        value_name = "N",
        default_value_t = 1,
        value_parser = whole::<u32>("from 1 to 10000"),
        help_heading = "Sessions"
    )]
    pub loops: u32,

    /// Repeat the whole benchmark N times, 1 to 1000, with a summary for each repeat and one for
    /// all.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = whole::<u32>("from 1 to 1000"), help_heading = "Sessions")]
    pub repeat: u32,

    /// Pace like a live stream: after each segment, sleep until its duration has passed (default).
    #[arg(long, overrides_with = "no_live", help_heading = "Sessions")]
    pub live: bool,

    /// Transcode as fast as possible (capacity runs, comparisons).
    #[arg(long, overrides_with = "live", help_heading = "Sessions")]
    pub no_live: bool,

    /// Transcoding backend.
    #[arg(long, value_enum, default_value_t = BackendArg::Auto, help_heading = "Backend")]
    pub backend: BackendArg,

    /// GPU ids (`0,1`) or `all`; sessions go round-robin over them, as livepeer_bench does.
    #[arg(long, value_name = "IDS|all", help_heading = "Backend")]
    pub nvidia: Option<String>,

    /// Where results go. Default: reports/runs/<UTC time>-<host>/. A folder that already holds a
    /// run (run.json or segments.csv) is refused unless --force.
    #[arg(long, value_name = "DIR", help_heading = "Output")]
    pub out_dir: Option<PathBuf>,

    /// Write each rendition as out-dir/renditions/<profile>_<session>_<segment>.ts.
    #[arg(long, help_heading = "Output")]
    pub keep_renditions: bool,

    /// Reuse an out-dir that holds an earlier run: first remove that run's files (run.json,
    /// segments.csv, power.csv, report.md, renditions/; payments/ is kept). Refused on a folder
    /// that holds no run.json or segments.csv.
    #[arg(long, help_heading = "Output")]
    pub force: bool,

    /// Print run.json to stdout in place of the table.
    #[arg(long, help_heading = "Output")]
    pub json: bool,

    /// No progress bar, no table: only errors (and run.json with --json).
    #[arg(long, short, help_heading = "Output")]
    pub quiet: bool,

    /// Exit 0 even when some renditions fail validation (failures are still counted).
    #[arg(long, help_heading = "Output")]
    pub allow_invalid: bool,

    /// Keep this run's per-segment and per-repeat figures as the named baseline in
    /// reports/baselines/NAME/ (for `rigbench gate --baseline NAME`); replaces an older one.
    #[arg(long, value_name = "NAME", help_heading = "Output")]
    pub save_baseline: Option<String>,

    /// Orchestrator price, wei per output pixel. Default: the rig file's, else 1000.
    /// Orchestrator price, wei per output pixel (whole wei, decimal or 0x-hex, at most 10^18).
    /// Default: the rig file's, else 1000.
    #[arg(long, value_name = "WEI", help_heading = "Payments")]
    pub price_per_pixel: Option<String>,

    /// Expected value of one ticket, wei (1 to 10^21). Default: the rig file's, else 8000000000
    /// (go-livepeer).
    #[arg(long, value_name = "WEI", help_heading = "Payments")]
    pub ticket_ev: Option<String>,

    /// Gas price for ticket parameters and redemptions, gwei (0 to 1000000000). Default: the rig
    /// file's, else 0.01.
    #[arg(long, value_name = "GWEI", help_heading = "Payments")]
    pub redeem_gas_price: Option<f64>,

    /// Chain that redeems winning tickets.
    #[command(flatten)]
    pub chain: ChainArgs,

    /// Deposit each session's broadcaster is funded with on the chain, wei (at most 10^24).
    /// Default: 1 ETH on the embedded chain, 0.01 ETH on rpc (real ether leaves the operator's
    /// account).
    #[arg(long, value_name = "WEI", help_heading = "Payments")]
    pub sender_deposit: Option<String>,

    /// Reserve each session's broadcaster is funded with on the chain, wei (at most 10^24). Same
    /// defaults as --sender-deposit.
    #[arg(long, value_name = "WEI", help_heading = "Payments")]
    pub sender_reserve: Option<String>,

    /// Where winning tickets are persisted until redeemed. Default: out-dir/payments/.
    #[arg(long, value_name = "DIR", help_heading = "Payments")]
    pub data_dir: Option<PathBuf>,

    /// Transcode without tickets.
    #[arg(long, help_heading = "Payments")]
    pub no_payments: bool,

    /// Rig file (TOML): power model, hardware, bandwidth and fee prices. Adds power cost,
    /// bandwidth cost, margin and the verdict.
    #[arg(long, value_name = "FILE", help_heading = "Money")]
    pub rig: Option<PathBuf>,

    /// Override a rig-file value, e.g. `--set power.electricity_usd_per_kwh=0.30`. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE", help_heading = "Money")]
    pub set: Vec<String>,

    /// Measure the rig at rest for N seconds, at most 3600, before the run (incremental energy
    /// above idle).
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = whole::<u64>("from 0 to 3600"), help_heading = "Money")]
    pub idle_seconds: u64,

    /// Power sampling interval, milliseconds, 10 to 60000.
    #[arg(long, value_name = "MS", default_value_t = 100, value_parser = whole::<u64>("from 10 to 60000"), help_heading = "Money")]
    pub power_interval: u64,

    /// Score renditions' SSIM and PSNR against the source: every segment, a deterministic sample
    /// (segments 0, 4, 8, ... of each session), or none (capacity probes).
    #[arg(long, value_enum, default_value_t = QualityArg::Sample, help_heading = "Quality")]
    pub quality: QualityArg,

    /// Fail the run (exit 3) when a scored rendition's mean SSIM (all planes, 0 to 1) is below X.
    #[arg(long, value_name = "X", help_heading = "Quality")]
    pub min_ssim: Option<f64>,

    /// Fail the run (exit 3) when a scored rendition's mean PSNR (all planes) is below DB decibels
    /// (0 to 100).
    #[arg(long, value_name = "DB", help_heading = "Quality")]
    pub min_psnr: Option<f64>,

    #[command(flatten)]
    pub network: NetworkArgs,
}

/// Which segments' renditions get SSIM and PSNR scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QualityArg {
    /// Every segment.
    All,
    /// Segments 0, 4, 8, ... of each session.
    Sample,
    /// None.
    Off,
}

/// `run`'s network mode: a real orchestrator over HTTP.
#[derive(Debug, Args)]
pub struct NetworkArgs {
    /// Send every segment to an orchestrator over HTTP (Livepeer's segment protocol) instead of
    /// transcoding in process: a base URL (http://HOST:PORT), or `self` to start a local
    /// `rigbench orchestrator` on loopback for the run.
    #[arg(long, value_name = "URL|self", help_heading = "Network")]
    pub orchestrator: Option<String>,

    /// Ask for renditions inline (multipart/mixed) instead of URLs to GET.
    #[arg(long, requires = "orchestrator", help_heading = "Network")]
    pub multipart: bool,

    /// Shape the link to the orchestrator to N megabits per second each way (tc tbf over a
    /// veth pair between two network namespaces rigbench creates; root only). Needs
    /// `--orchestrator self`.
    #[arg(
        long,
        value_name = "N",
        requires = "orchestrator",
        help_heading = "Network"
    )]
    pub link_mbps: Option<f64>,

    /// Round-trip time of the shaped link, milliseconds: netem where the kernel has it, else a
    /// delay added to each request and response (reported as emulated). Needs --link-mbps.
    #[arg(
        long,
        value_name = "MS",
        requires = "link_mbps",
        help_heading = "Network"
    )]
    pub link_rtt_ms: Option<f64>,

    /// Limit on one segment's round trip to the orchestrator, seconds. Default: go-livepeer's
    /// gateway limit, max(8 s, 4 × segment duration).
    #[arg(
        long,
        value_name = "S",
        requires = "orchestrator",
        help_heading = "Network"
    )]
    pub segment_timeout: Option<f64>,

    /// Serve Prometheus metrics at http://ADDR/metrics while the run lasts (e.g. 127.0.0.1:9100).
    #[arg(long, value_name = "ADDR", help_heading = "Network")]
    pub metrics_addr: Option<String>,
}

/// `rigbench orchestrator`.
#[derive(Debug, Args)]
pub struct OrchestratorArgs {
    /// Address to listen on. The default is loopback only; give 0.0.0.0:PORT to serve others.
    /// Port 0 picks a free port (printed on stdout).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8935")]
    pub listen: String,

    /// Where orchestrator.json, orchestrator.log and the payments data go. Default:
    /// reports/orchestrator/<UTC time>/.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,

    /// Most gateway sessions served at once, 1 to 10000; one more is answered OrchestratorCapped.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = whole::<u32>("from 1 to 10000"))]
    pub max_sessions: u32,

    /// Largest segment accepted, bytes, 1024 to 1073741824 (1 GiB; answered 413 above it). A
    /// segment is held in memory while it is checked.
    #[arg(long, value_name = "BYTES", default_value_t = 48 * 1024 * 1024, value_parser = whole::<u64>("from 1024 to 1073741824"))]
    pub max_segment_bytes: u64,

    /// Time a request's headers, then its body, may take to arrive, milliseconds, 1 to 600000
    /// (answered 408 past it).
    #[arg(long, value_name = "MS", default_value_t = 10_000, value_parser = whole::<u64>("from 1 to 600000"))]
    pub read_timeout_ms: u64,

    /// A session with no segment for this long frees its slot, seconds, 1 or more.
    #[arg(long, value_name = "S", default_value_t = 60, value_parser = whole::<u64>("of 1 or more"))]
    pub session_idle_seconds: u64,

    /// Transcoding backend.
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    pub backend: BackendArg,

    /// GPU ids (`0,1`) or `all`; sessions go round-robin over them.
    #[arg(long, value_name = "IDS|all")]
    pub nvidia: Option<String>,

    /// Price, wei per output pixel.
    #[arg(long, value_name = "WEI", default_value = "1000")]
    pub price_per_pixel: String,

    /// Expected value of one ticket, wei.
    #[arg(long, value_name = "WEI", default_value = "8000000000")]
    pub ticket_ev: String,

    /// Gas price for ticket parameters and redemptions, gwei (0 to 1000000000).
    #[arg(long, value_name = "GWEI", default_value_t = 0.01, value_parser = decimal("of gwei from 0 to 1000000000"))]
    pub redeem_gas_price: f64,

    #[command(flatten)]
    pub chain: ChainArgs,

    /// On the embedded chain, what each new gateway's deposit is funded with, wei (play money).
    #[arg(long, value_name = "WEI", default_value = "1000000000000000000")]
    pub sender_deposit: String,

    /// On the embedded chain, what each new gateway's reserve is funded with, wei.
    #[arg(long, value_name = "WEI", default_value = "1000000000000000000")]
    pub sender_reserve: String,

    /// Where winning tickets are persisted until redeemed. Default: out-dir/payments/.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Serve Prometheus metrics at http://ADDR/metrics.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,

    /// Print nothing but the listening line and errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// How to reach the chain that holds the TicketBroker.
#[derive(Debug, Args)]
pub struct ChainArgs {
    /// Chain that redeems winning tickets.
    #[arg(long, value_enum, default_value_t = ChainArg::Embedded, help_heading = "Chain")]
    pub chain: ChainArg,

    /// JSON-RPC endpoint for `--chain rpc`. The key that signs transactions comes from
    /// RIGBENCH_PRIVATE_KEY or `--keystore`.
    #[arg(long, value_name = "URL", help_heading = "Chain")]
    pub chain_rpc: Option<String>,

    /// An existing TicketBroker address; without it rigbench deploys one.
    #[arg(long, value_name = "ADDRESS", help_heading = "Chain")]
    pub broker: Option<String>,

    /// Encrypted JSON keystore of the orchestrator's key (password from
    /// RIGBENCH_KEYSTORE_PASSWORD); `--chain rpc` only.
    #[arg(long, value_name = "FILE", help_heading = "Chain")]
    pub keystore: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Print the inventory as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also detect each NVIDIA GPU's NVENC session cap (opens encoders until the driver
    /// refuses one; cached per GPU and driver).
    #[arg(long)]
    pub nvenc_cap: bool,
}

#[derive(Debug, Args)]
pub struct RedeemArgs {
    /// Data directory of the run whose winners are pending (its `--data-dir`, by default
    /// <out-dir>/payments).
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,

    #[command(flatten)]
    pub chain: ChainArgs,
}

#[derive(Debug, Subcommand)]
pub enum TicketCommand {
    /// Print a ticket's hash (keccak256 of the packed encoding), 0x-hex.
    Hash(TicketHashArgs),
    /// Sign a ticket hash (EIP-191 personal-sign), print the 65-byte signature, 0x-hex. The key
    /// comes from RIGBENCH_PRIVATE_KEY or --keystore.
    Sign(TicketSignArgs),
    /// Check a signature: exit 0 and print true if `--signer` signed `--hash`, else print false
    /// with the reason and exit 1.
    Verify(TicketVerifyArgs),
    /// Print whether a ticket wins: keccak256(sig ‖ recipientRand) < winProb.
    Wins(TicketWinsArgs),
}

#[derive(Debug, Args)]
pub struct TicketHashArgs {
    #[arg(long, value_name = "ADDRESS")]
    pub recipient: String,
    #[arg(long, value_name = "ADDRESS")]
    pub sender: String,
    /// Wei, decimal or 0x-hex.
    #[arg(long, value_name = "N")]
    pub face_value: String,
    /// uint256, decimal or 0x-hex.
    #[arg(long, value_name = "N")]
    pub win_prob: String,
    #[arg(long, value_name = "N")]
    pub sender_nonce: String,
    #[arg(long, value_name = "HASH")]
    pub recipient_rand_hash: String,
    #[arg(long, value_name = "N")]
    pub creation_round: Option<String>,
    #[arg(long, value_name = "HASH")]
    pub creation_round_block_hash: Option<String>,
}

#[derive(Debug, Args)]
pub struct TicketSignArgs {
    #[arg(long, value_name = "HASH")]
    pub hash: String,
    /// Encrypted JSON keystore (password from RIGBENCH_KEYSTORE_PASSWORD).
    #[arg(long, value_name = "FILE")]
    pub keystore: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TicketVerifyArgs {
    #[arg(long, value_name = "HASH")]
    pub hash: String,
    #[arg(long, value_name = "SIG")]
    pub sig: String,
    #[arg(long, value_name = "ADDRESS")]
    pub signer: String,
}

#[derive(Debug, Args)]
pub struct TicketWinsArgs {
    #[arg(long, value_name = "SIG")]
    pub sig: String,
    /// uint256, decimal or 0x-hex.
    #[arg(long, value_name = "N")]
    pub recipient_rand: String,
    /// uint256, decimal or 0x-hex.
    #[arg(long, value_name = "N")]
    pub win_prob: String,
}

#[derive(Debug, Args)]
pub struct EconomicsArgs {
    /// run.json of an earlier run.
    #[arg(long, value_name = "FILE", required_unless_present = "capacity")]
    pub run: Option<PathBuf>,
    /// capacity.json of an earlier `rigbench capacity`: price the searched capacity (with the
    /// run.json of its probe at that capacity) instead of extrapolating from one run.
    #[arg(long, value_name = "FILE", conflicts_with = "run")]
    pub capacity: Option<PathBuf>,
    /// Rig file (TOML).
    #[arg(long, value_name = "FILE")]
    pub rig: PathBuf,
    /// Override a rig-file value, e.g. `--set fees.price_per_pixel_wei=1200`. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Print the economics as JSON.
    #[arg(long)]
    pub json: bool,
    /// Price a partial run.json (interrupted or failed midway) anyway; the result is labelled
    /// partial. Without it a partial run is refused.
    #[arg(long)]
    pub allow_partial: bool,
    /// market.json of `rigbench market`: its simulated utilisation of this rig replaces the rig
    /// file's `utilisation.share_sold` (and the report says so).
    #[arg(long, value_name = "FILE")]
    pub market: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MarketArgs {
    /// Network file (TOML): orchestrators, gateways, demand, rounds, delegators. Example:
    /// fixtures/networks/livepeer-like.toml.
    #[arg(long, value_name = "FILE", help_heading = "Input")]
    pub network: PathBuf,

    /// Rig file (TOML): this rig's price, stake and costs. Without it the network file's [this_rig]
    /// describes this rig and no profit is computed.
    #[arg(long, value_name = "FILE", help_heading = "Input")]
    pub rig: Option<PathBuf>,

    /// run.json of an earlier run: this rig's capacity (extrapolated, and labelled so), latency
    /// and ladder pixels come from it. Needs --rig.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "streams",
        requires = "rig",
        help_heading = "Input"
    )]
    pub run: Option<PathBuf>,

    /// capacity.json of `rigbench capacity`: this rig's searched capacity, with latency, ladder
    /// pixels and costs from the probe run it rests on. Needs --rig.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["run", "streams"], requires = "rig", help_heading = "Input")]
    pub capacity: Option<PathBuf>,

    /// This rig's capacity in concurrent streams, given rather than measured (labelled so), 1 to
    /// 1000000.
    #[arg(long, value_name = "N", value_parser = whole::<u32>("from 1 to 1000000"), help_heading = "Input")]
    pub streams: Option<u32>,

    /// fleet.json of `rigbench merge`: each complete node becomes its own orchestrator, with
    /// its capacity, latency, ladder pixels and costs from its own run and the rig file's stake
    /// split across the nodes by capacity; the result gives each node's and the fleet's share
    /// of the network's demand. Needs --rig.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["run", "streams", "capacity"], requires = "rig", help_heading = "Input")]
    pub fleet: Option<PathBuf>,

    /// Simulated days per replication, above 0 and at most 3660.
    #[arg(
        long,
        value_name = "D",
        default_value_t = 14.0,
        value_parser = decimal("above 0 and at most 3660"),
        help_heading = "Simulation"
    )]
    pub days: f64,

    /// Seed: the same seed gives the same market.json bit for bit.
    #[arg(
        long,
        value_name = "S",
        default_value_t = 1,
        value_parser = whole::<u64>("from 0 to 18446744073709551615"),
        help_heading = "Simulation"
    )]
    pub seed: u64,

    /// Independent replications (their spread is reported), 1 to 1000.
    #[arg(
        long,
        value_name = "K",
        default_value_t = 10,
        value_parser = whole::<u32>("from 1 to 1000"),
        help_heading = "Simulation"
    )]
    pub runs: u32,

    /// Worker threads for replications (0 = one per core); results do not depend on it.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        value_parser = whole::<usize>("of 0 (one per core) or more"),
        help_heading = "Simulation"
    )]
    pub threads: usize,

    /// Where market.json goes. Default: reports/runs/<UTC time>-<host>-market/.
    #[arg(long, value_name = "DIR", help_heading = "Output")]
    pub out_dir: Option<PathBuf>,

    /// Print market.json to stdout in place of the table.
    #[arg(long, help_heading = "Output")]
    pub json: bool,

    /// No table: only errors (and market.json with --json).
    #[arg(long, short, help_heading = "Output")]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Results: run folders or run.json files (two or more).
    #[arg(value_name = "RESULT", required = true)]
    pub results: Vec<PathBuf>,
    /// Also write the comparison as a self-contained page.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write the Markdown table to FILE.
    #[arg(long, value_name = "FILE")]
    pub md: Option<PathBuf>,
    /// Compare results of different sources or ladders anyway (the page and table say so).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct GateArgs {
    /// The baseline: a name saved with `run --save-baseline NAME` (reports/baselines/NAME/), or
    /// a run folder or run.json.
    #[arg(long, value_name = "NAME|PATH")]
    pub baseline: String,
    /// The candidate run: its folder or run.json (segments.csv must be beside it).
    #[arg(long, value_name = "PATH")]
    pub candidate: PathBuf,
    /// Noise threshold, percent: a metric regresses only when its whole 95% confidence interval
    /// lies beyond it (and the change is significant). Strictly between 0 and 100.
    #[arg(long, value_name = "PCT", default_value = "5")]
    pub threshold: String,
    /// Metrics to gate (comma-separated or repeated): transcode_time, realtime_duration_ratio,
    /// throughput_x, output_pixels_per_second. Default: all.
    #[arg(long, value_name = "NAME")]
    pub metric: Vec<String>,
    /// Compare runs from different machines (CPU model, cores online, GPUs, driver).
    #[arg(long)]
    pub allow_host_change: bool,
    /// Write gate.json, gate.md (a pull-request comment), github-smaller.json and
    /// github-bigger.json (github-action-benchmark) and bencher.json (Bencher BMF) into DIR.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Print gate.json to stdout in place of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Result folders, one per node, each with a run.json (or the task.json of a scheduler task
    /// whose run failed). They must have measured the same source and ladder.
    #[arg(value_name = "DIR", required = true)]
    pub dirs: Vec<PathBuf>,
    /// Folder for fleet.md, fleet.html and fleet.json (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Price every node with this rig file instead of each run's own economics.
    #[arg(long, value_name = "FILE")]
    pub rig: Option<PathBuf>,
    /// Override a rig-file value (with --rig), e.g. `--set power.electricity_usd_per_kwh=0.30`.
    /// Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE", requires = "rig")]
    pub set: Vec<String>,
    /// Print fleet.json to stdout in place of the summary line.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn capacity_refuses_run_only_flags_only_when_given() {
        let argv = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(capacity_run_only_flags_given(&argv(&["rigbench", "capacity"])).is_empty());
        assert_eq!(
            capacity_run_only_flags_given(&argv(&[
                "rigbench",
                "capacity",
                "--no-live",
                "--loop",
                "2",
                "--concurrent-sessions=3"
            ])),
            ["--concurrent-sessions", "--loop", "--no-live"]
        );
    }

    #[test]
    fn live_is_default_and_no_live_wins_when_last() {
        let cli = Cli::parse_from(["rigbench", "run"]);
        let Command::Run(run) = cli.command else {
            panic!("expected run")
        };
        assert!(!run.no_live);
        let cli = Cli::parse_from(["rigbench", "run", "--live", "--no-live"]);
        let Command::Run(run) = cli.command else {
            panic!("expected run")
        };
        assert!(run.no_live && !run.live);
    }
}
