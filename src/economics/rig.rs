//! The rig file (TOML): what the operator pays and charges. Every key is documented here and in
//! the commented examples under `fixtures/rigs/`. Unknown keys, missing prices and negative or
//! absurd values are errors that name the key (`power.psu_efficiency`, ...). `--set
//! section.key=value` overrides a key after loading, with the same checks.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::metering::power::model::{ComponentKind, DeclaredComponent};
use crate::metering::power::PowerConfig;
use crate::payments::params::{ARBITRUM_REDEEM_GAS, L1_REDEEM_GAS};
pub use crate::result::money::{BandwidthModel, ChainKind, Ownership, RedemptionGas};

/// A rig file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rig {
    /// A label for reports ("home RTX 4070").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub power: PowerSection,
    pub hardware: HardwareSection,
    pub bandwidth: BandwidthSection,
    pub fees: FeesSection,
    #[serde(default)]
    pub staking: StakingSection,
    #[serde(default)]
    pub protocol: ProtocolSection,
    pub chain: ChainSection,
    #[serde(default)]
    pub utilisation: UtilisationSection,
}

/// `[power]`: electricity and the declared power model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerSection {
    /// Electricity price, USD per kWh at the wall (required; 0..=10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub electricity_usd_per_kwh: Option<f64>,
    /// PSU efficiency at the rig's load, (0, 1] (default 0.90, 80 PLUS Gold at half load).
    #[serde(default = "default_psu_efficiency")]
    pub psu_efficiency: f64,
    /// DC watts of everything not metered or declared below: board, RAM, disks, fans, NIC
    /// (default 0).
    #[serde(default)]
    pub rest_of_system_watts: f64,
    /// Declared components, used only where no sensor reads them (`[[power.components]]` with
    /// `name`, `kind` = "cpu" | "gpu", `idle_watts`, `full_load_watts`).
    #[serde(default)]
    pub components: Vec<DeclaredComponent>,
}

fn default_psu_efficiency() -> f64 {
    0.90
}

/// `[hardware]`: what the rig costs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardwareSection {
    /// "owned" (needs `cost_usd` and `amortisation_months`) or "rented" (needs
    /// `rent_usd_per_month`).
    pub ownership: Ownership,
    /// Purchase price of the rig (or of the part bought for transcoding), USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// Months to write the purchase off over (straight line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amortisation_months: Option<f64>,
    /// Rent, USD per month (730 hours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rent_usd_per_month: Option<f64>,
    /// Concurrent NVENC sessions the driver allows per system (GeForce: 8 since early 2024);
    /// omit for data-center cards, which have no cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nvenc_session_cap: Option<u32>,
}

/// `[bandwidth]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandwidthSection {
    pub model: BandwidthModel,
    /// USD per 10^9 bytes received (per_gb).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_gb_in: Option<f64>,
    /// USD per 10^9 bytes sent (per_gb).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_gb_out: Option<f64>,
    /// USD per Mbps per month on the 95th percentile (percentile95).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_usd_per_mbps_month: Option<f64>,
    /// The committed minimum billed whatever the traffic, Mbps (percentile95; default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_minimum_mbps: Option<f64>,
    /// Port speed, Mbps each way (flat_port; optional cap for included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_mbps: Option<f64>,
    /// Port price, USD per month (flat_port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_usd_per_month: Option<f64>,
}

/// `[fees]`: what broadcasters pay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeesSection {
    /// ETH price in USD (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eth_usd: Option<f64>,
    /// Base price per output pixel, a whole number of wei (go-livepeer `-pricePerUnit` with
    /// `-pixelsPerUnit 1`). Give this or `price_usd_per_pixel`, not both; neither = the run's
    /// own `--price-per-pixel`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_per_pixel_wei: Option<f64>,
    /// Base price per output pixel in USD (e.g. 4.1e-13), converted at `eth_usd` and rounded to
    /// whole wei: the one price the run's tickets and the economics both use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_usd_per_pixel: Option<f64>,
    /// go-livepeer's `-autoAdjustPrice` (default true): the price charged is the base price ×
    /// (1 + txCost / faceValue), passing redemption gas on to the broadcaster.
    #[serde(default = "yes")]
    pub auto_adjust_price: bool,
}

fn yes() -> bool {
    true
}

fn one() -> f64 {
    1.0
}

/// `[staking]`: the orchestrator as registered on chain (livepeer/protocol BondingManager).
/// Absent = no stake and no delegators: the operator keeps every fee and earns no rewards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StakingSection {
    /// The registered `feeShare`: the share of fees paid to **delegators**, [0, 1], as on chain
    /// and in go-livepeer's `-feeShare` (default 0). The operator keeps 1 − fee_share, plus its
    /// own stake's share of the delegators' part.
    #[serde(default)]
    pub fee_share: f64,
    /// The registered `rewardCut`: the share of inflationary rewards the orchestrator keeps,
    /// [0, 1] (default 1). It also gets its own stake's share of the rest.
    #[serde(default = "one")]
    pub reward_cut: f64,
    /// LPT the operator bonded to its own orchestrator (default 0).
    #[serde(default)]
    pub own_stake_lpt: f64,
    /// All LPT bonded to the orchestrator, its own included, as the explorer shows it (default:
    /// `own_stake_lpt`, i.e. no delegators). Delegated stake = total − own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_stake_lpt: Option<f64>,
    /// LPT price in USD (required when the orchestrator has stake).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lpt_usd: Option<f64>,
}

impl Default for StakingSection {
    fn default() -> Self {
        StakingSection {
            fee_share: 0.0,
            reward_cut: 1.0,
            own_stake_lpt: 0.0,
            total_stake_lpt: None,
            lpt_usd: None,
        }
    }
}

impl StakingSection {
    /// All stake bonded to the orchestrator, LPT.
    pub fn total_stake(&self) -> f64 {
        self.total_stake_lpt.unwrap_or(self.own_stake_lpt)
    }
}

/// LPT total supply: approximately, early 2025 (Livepeer forum, "Inflation focused LIP
/// discussion thread", forum.livepeer.org/t/2753: about 25.6% a year, 44% of supply bonded,
/// about 23,000 LPT mintable a round). Check the explorer for today's values and `--set` them.
pub const DEFAULT_TOTAL_SUPPLY_LPT: f64 = 40_000_000.0;
/// Inflation per round as a fraction (the Minter's `inflation` / 1e9), early 2025: about 25.6%
/// a year over 456 rounds.
pub const DEFAULT_INFLATION_PER_ROUND: f64 = 0.0005;
/// Stake bonded to active orchestrators, LPT, early 2025 (about 44% of supply).
pub const DEFAULT_TOTAL_ACTIVE_STAKE_LPT: f64 = 17_600_000.0;
/// `treasuryRewardCutRate` since LIP-89/90 (2023-2024): 10% of each reward goes to the
/// treasury first.
pub const DEFAULT_TREASURY_REWARD_CUT: f64 = 0.10;
/// RoundsManager `roundLength`, L1 blocks (facts doc §4).
pub const DEFAULT_ROUND_LENGTH_BLOCKS: f64 = 5760.0;
/// L1 block time, seconds (Ethereum since the 2022 merge).
pub const DEFAULT_BLOCK_SECONDS: f64 = 12.0;

/// `[protocol]`: network-wide parameters that set inflationary rewards (defaults above).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolSection {
    /// LPT total supply.
    #[serde(default = "default_supply")]
    pub total_supply_lpt: f64,
    /// Inflation per round, a fraction (0.0005 = 0.05% of supply minted a round).
    #[serde(default = "default_inflation")]
    pub inflation_per_round: f64,
    /// Stake bonded to all active orchestrators, LPT.
    #[serde(default = "default_active_stake")]
    pub total_active_stake_lpt: f64,
    /// Share of each reward taken by the treasury before the orchestrator's cut, [0, 1].
    #[serde(default = "default_treasury_cut")]
    pub treasury_reward_cut: f64,
    /// Round length, L1 blocks.
    #[serde(default = "default_round_length")]
    pub round_length_blocks: f64,
    /// L1 block time, seconds.
    #[serde(default = "default_block_seconds")]
    pub block_seconds: f64,
}

fn default_supply() -> f64 {
    DEFAULT_TOTAL_SUPPLY_LPT
}
fn default_inflation() -> f64 {
    DEFAULT_INFLATION_PER_ROUND
}
fn default_active_stake() -> f64 {
    DEFAULT_TOTAL_ACTIVE_STAKE_LPT
}
fn default_treasury_cut() -> f64 {
    DEFAULT_TREASURY_REWARD_CUT
}
fn default_round_length() -> f64 {
    DEFAULT_ROUND_LENGTH_BLOCKS
}
fn default_block_seconds() -> f64 {
    DEFAULT_BLOCK_SECONDS
}

impl Default for ProtocolSection {
    fn default() -> Self {
        ProtocolSection {
            total_supply_lpt: DEFAULT_TOTAL_SUPPLY_LPT,
            inflation_per_round: DEFAULT_INFLATION_PER_ROUND,
            total_active_stake_lpt: DEFAULT_TOTAL_ACTIVE_STAKE_LPT,
            treasury_reward_cut: DEFAULT_TREASURY_REWARD_CUT,
            round_length_blocks: DEFAULT_ROUND_LENGTH_BLOCKS,
            block_seconds: DEFAULT_BLOCK_SECONDS,
        }
    }
}

/// go-livepeer's redeem-gas estimate for a chain (facts doc §3): the figure face values are
/// sized from, in the run's tickets and in the economics alike.
pub fn default_redeem_gas(chain: ChainKind) -> u64 {
    match chain {
        ChainKind::Arbitrum => ARBITRUM_REDEEM_GAS,
        ChainKind::L1 => L1_REDEEM_GAS,
    }
}

/// Arbitrum's L1 data fee per transaction, wei: the part of an Arbitrum transaction's cost that
/// pays for posting its data to L1. An assumption (with EIP-4844 blobs, since March 2024, well
/// under a cent: 1e12 wei is $0.003 at $3000/ETH), labelled as such in reports.
pub const DEFAULT_L1_DATA_FEE_WEI: f64 = 1e12;
/// Gas of one `reward()` call (BondingManager), an estimate: rigbench's simplified broker has
/// no BondingManager to measure it on.
pub const DEFAULT_REWARD_GAS: u64 = 400_000;
/// Gas of one `withdrawFees` call, an estimate.
pub const DEFAULT_WITHDRAW_FEES_GAS: u64 = 150_000;
/// Days between `withdrawFees` calls.
pub const DEFAULT_WITHDRAW_FEES_EVERY_DAYS: f64 = 7.0;

/// `[chain]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainSection {
    /// "arbitrum" (default) or "l1".
    #[serde(default = "default_chain")]
    pub chain: ChainKind,
    /// Gas price paid for redemptions, gwei (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas_price_gwei: Option<f64>,
    /// Ticket expected value, whole wei (default: the run's, else go-livepeer's 8 gwei).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_ev_wei: Option<f64>,
    /// The redeem-gas estimate face values are sized from (default go-livepeer's: 1.2M on
    /// Arbitrum, 350k on L1). The run's tickets use it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redeem_gas_estimate: Option<u64>,
    /// Which gas prices each redemption: "estimate" (default, as go-livepeer budgets it) or
    /// "measured" (the run's own figure on rigbench's simplified broker).
    #[serde(default)]
    pub redemption_gas: RedemptionGas,
    /// L1 data fee per transaction on Arbitrum, wei (default 1e12, an assumption; none on l1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l1_data_fee_wei: Option<f64>,
    /// Gas of one `reward()` call, made once a round by a staked orchestrator (default 400000,
    /// an estimate).
    #[serde(default = "default_reward_gas")]
    pub reward_gas: u64,
    /// Gas of one `withdrawFees` call (default 150000, an estimate).
    #[serde(default = "default_withdraw_gas")]
    pub withdraw_fees_gas: u64,
    /// Days between `withdrawFees` calls (default 7).
    #[serde(default = "default_withdraw_days")]
    pub withdraw_fees_every_days: f64,
}

fn default_chain() -> ChainKind {
    ChainKind::Arbitrum
}
fn default_reward_gas() -> u64 {
    DEFAULT_REWARD_GAS
}
fn default_withdraw_gas() -> u64 {
    DEFAULT_WITHDRAW_FEES_GAS
}
fn default_withdraw_days() -> f64 {
    DEFAULT_WITHDRAW_FEES_EVERY_DAYS
}

impl ChainSection {
    /// The redeem-gas estimate face values are sized from: the key, else go-livepeer's for
    /// the chain.
    pub fn redeem_gas(&self) -> u64 {
        self.redeem_gas_estimate
            .unwrap_or_else(|| default_redeem_gas(self.chain))
    }

    /// L1 data fee per transaction, wei (none on L1 itself).
    pub fn l1_data_fee(&self) -> f64 {
        match self.chain {
            ChainKind::Arbitrum => self.l1_data_fee_wei.unwrap_or(DEFAULT_L1_DATA_FEE_WEI),
            ChainKind::L1 => 0.0,
        }
    }
}

/// `[utilisation]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UtilisationSection {
    /// Share of the rig's stream capacity actually sold, (0, 1] (default 1.0).
    #[serde(default = "one")]
    pub share_sold: f64,
}

impl Default for UtilisationSection {
    fn default() -> Self {
        UtilisationSection { share_sold: 1.0 }
    }
}

/// What is wrong with a rig file or an override.
#[derive(Debug, thiserror::Error)]
pub enum RigError {
    #[error("cannot read rig file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("rig file {path} is not valid TOML: {message}")]
    Parse { path: String, message: String },
    #[error("unknown key `{key}` in the rig file (known keys here: {known}); see fixtures/rigs/ for documented examples")]
    UnknownKey { key: String, known: String },
    #[error("`{key}` is no longer a rig key: {what}")]
    Removed { key: String, what: String },
    #[error("missing key `{key}`: {what}")]
    Missing { key: String, what: String },
    #[error("`{key}` = {value}: {reason}")]
    Invalid {
        key: String,
        value: String,
        reason: String,
    },
    #[error("bad override `{arg}`: {reason} (expected section.key=value, e.g. power.electricity_usd_per_kwh=0.25)")]
    BadSet { arg: String, reason: String },
}

/// Why `fees.fee_share` is refused.
pub const FEE_SHARE_MOVED: &str = "its meaning was inverted: rigbench read it as the share of fees the operator keeps, but go-livepeer's feeShare is the share paid to delegators. Write the orchestrator's registered feeShare as `[staking] fee_share = ...` (the delegators' share; the operator keeps 1 - fee_share plus its own stake's share of the rest). An old `fees.fee_share = 0.85` (keep 85%) is `staking.fee_share = 0.15`";

/// Every key path a rig file may hold (arrays of tables as `power.components[]`).
pub fn known_keys() -> BTreeSet<String> {
    let full = Rig {
        name: Some(String::new()),
        power: PowerSection {
            electricity_usd_per_kwh: Some(0.0),
            psu_efficiency: 1.0,
            rest_of_system_watts: 0.0,
            components: vec![DeclaredComponent {
                name: String::new(),
                kind: ComponentKind::Cpu,
                idle_watts: 0.0,
                full_load_watts: 1.0,
            }],
        },
        hardware: HardwareSection {
            ownership: Ownership::Owned,
            cost_usd: Some(0.0),
            amortisation_months: Some(1.0),
            rent_usd_per_month: Some(0.0),
            nvenc_session_cap: Some(1),
        },
        bandwidth: BandwidthSection {
            model: BandwidthModel::PerGb,
            usd_per_gb_in: Some(0.0),
            usd_per_gb_out: Some(0.0),
            commit_usd_per_mbps_month: Some(0.0),
            commit_minimum_mbps: Some(0.0),
            port_mbps: Some(1.0),
            port_usd_per_month: Some(0.0),
        },
        fees: FeesSection {
            eth_usd: Some(1.0),
            price_per_pixel_wei: Some(0.0),
            price_usd_per_pixel: Some(0.0),
            auto_adjust_price: true,
        },
        staking: StakingSection {
            total_stake_lpt: Some(0.0),
            lpt_usd: Some(1.0),
            ..StakingSection::default()
        },
        protocol: ProtocolSection::default(),
        chain: ChainSection {
            chain: ChainKind::Arbitrum,
            gas_price_gwei: Some(0.0),
            ticket_ev_wei: Some(1.0),
            redeem_gas_estimate: Some(1),
            redemption_gas: RedemptionGas::Estimate,
            l1_data_fee_wei: Some(0.0),
            reward_gas: 1,
            withdraw_fees_gas: 1,
            withdraw_fees_every_days: 1.0,
        },
        utilisation: UtilisationSection::default(),
    };
    let mut keys = BTreeSet::new();
    if let Ok(toml::Value::Table(t)) = toml::Value::try_from(&full) {
        collect_keys(&t, "", &mut keys);
    }
    keys
}

fn join(prefix: &str, k: &str) -> String {
    if prefix.is_empty() {
        k.to_string()
    } else {
        format!("{prefix}.{k}")
    }
}

fn collect_keys(t: &toml::Table, prefix: &str, keys: &mut BTreeSet<String>) {
    for (k, v) in t {
        let path = join(prefix, k);
        keys.insert(path.clone());
        match v {
            toml::Value::Table(inner) => collect_keys(inner, &path, keys),
            toml::Value::Array(items) => {
                for item in items {
                    if let toml::Value::Table(inner) = item {
                        collect_keys(inner, &format!("{path}[]"), keys);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The first key in `t` that is not a rig key, with the known keys of its section.
fn find_unknown(t: &toml::Table, prefix: &str, known: &BTreeSet<String>) -> Option<RigError> {
    for (k, v) in t {
        let path = join(prefix, k);
        if !known.contains(&path) {
            let siblings: Vec<&str> = known
                .iter()
                .filter_map(|key| {
                    let rest = if prefix.is_empty() {
                        key.as_str()
                    } else {
                        key.strip_prefix(prefix)?.strip_prefix('.')?
                    };
                    (!rest.contains('.') && !rest.contains('[')).then_some(rest)
                })
                .collect();
            let shown = path.replace("[]", "");
            return Some(RigError::UnknownKey {
                key: shown,
                known: siblings.join(", "),
            });
        }
        match v {
            toml::Value::Table(inner) => {
                if let Some(e) = find_unknown(inner, &path, known) {
                    return Some(e);
                }
            }
            toml::Value::Array(items) => {
                for item in items {
                    if let toml::Value::Table(inner) = item {
                        if let Some(e) = find_unknown(inner, &format!("{path}[]"), known) {
                            return Some(e);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    None
}

fn invalid(key: &str, value: impl std::fmt::Display, reason: &str) -> RigError {
    RigError::Invalid {
        key: key.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

/// Why `value` lies outside [lo, hi] (finite; `lo_open` excludes lo), in the words of a file
/// key's error, or None; `above` says what is wrong past hi. Shared by the rig and network files.
pub(crate) fn range_problem(
    value: f64,
    lo: f64,
    lo_open: bool,
    hi: f64,
    above: impl FnOnce() -> String,
) -> Option<String> {
    if !value.is_finite() {
        Some("must be a finite number".to_string())
    } else if value < 0.0 && lo >= 0.0 {
        Some("must not be negative".to_string())
    } else if value < lo || (lo_open && value == lo) {
        let op = if lo_open { ">" } else { ">=" };
        Some(format!("must be {op} {lo}"))
    } else if value > hi {
        Some(above())
    } else {
        None
    }
}

/// `value` within [lo, hi] (finite); `lo_open` excludes lo.
fn check_range(
    key: &str,
    value: f64,
    lo: f64,
    lo_open: bool,
    hi: f64,
    why_hi: &str,
) -> Result<(), RigError> {
    match range_problem(value, lo, lo_open, hi, || format!("is absurd: {why_hi}")) {
        Some(reason) => Err(invalid(key, value, &reason)),
        None => Ok(()),
    }
}

/// One row of the range table: `key` = `value` must lie in [0, hi] (or (0, hi] when `lo_open`).
struct Bound {
    key: String,
    value: Option<f64>,
    lo: f64,
    lo_open: bool,
    hi: f64,
    why: &'static str,
}

impl Bound {
    fn closed(key: impl Into<String>, value: Option<f64>, hi: f64, why: &'static str) -> Bound {
        Bound {
            key: key.into(),
            value,
            lo: 0.0,
            lo_open: false,
            hi,
            why,
        }
    }

    fn open(key: impl Into<String>, value: Option<f64>, hi: f64, why: &'static str) -> Bound {
        Bound {
            lo_open: true,
            ..Bound::closed(key, value, hi, why)
        }
    }
}

impl Rig {
    /// Reads and checks a rig file.
    pub fn load(path: &Path) -> Result<Rig, RigError> {
        let text = std::fs::read_to_string(path).map_err(|source| RigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Rig::parse(&text, &path.display().to_string())
    }

    /// Parses and checks rig TOML; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Rig, RigError> {
        let parse_error = |e: toml::de::Error| RigError::Parse {
            path: origin.to_string(),
            message: e.to_string(),
        };
        let table: toml::Table = toml::from_str(text).map_err(parse_error)?;
        Rig::check_keys(&table)?;
        // Parse the text again (not the table) so type errors quote the line.
        let rig: Rig = toml::from_str(text).map_err(parse_error)?;
        rig.check()?;
        Ok(rig)
    }

    fn check_keys(table: &toml::Table) -> Result<(), RigError> {
        if let Some(toml::Value::Table(fees)) = table.get("fees") {
            if fees.contains_key("fee_share") {
                return Err(RigError::Removed {
                    key: "fees.fee_share".to_string(),
                    what: FEE_SHARE_MOVED.to_string(),
                });
            }
        }
        if let Some(e) = find_unknown(table, "", &known_keys()) {
            return Err(e);
        }
        for section in ["power", "hardware", "bandwidth", "fees", "chain"] {
            if !table.contains_key(section) {
                return Err(RigError::Missing {
                    key: section.to_string(),
                    what: format!("the [{section}] section is required (see fixtures/rigs/)"),
                });
            }
        }
        Ok(())
    }

    /// Checks every value; errors name the key. Three tables: keys that must be present, the
    /// range of every number (key, value, bound, reason) and the rules that tie keys together.
    pub fn check(&self) -> Result<(), RigError> {
        for (key, present, what) in self.required_keys() {
            if !present {
                return Err(RigError::Missing {
                    key: key.to_string(),
                    what: what.to_string(),
                });
            }
        }
        for b in self.bounds() {
            if let Some(v) = b.value {
                check_range(&b.key, v, b.lo, b.lo_open, b.hi, b.why)?;
            }
        }
        for (key, value, broken, reason) in self.rules() {
            if broken {
                return Err(invalid(&key, value, &reason));
            }
        }
        Ok(())
    }

    /// (key, present, what it is): keys required by the sections and models chosen.
    fn required_keys(&self) -> Vec<(&'static str, bool, &'static str)> {
        let (h, b) = (&self.hardware, &self.bandwidth);
        let owned = h.ownership == Ownership::Owned;
        let rented = h.ownership == Ownership::Rented;
        let model = b.model;
        let staked = self.staking.total_stake() > 0.0;
        vec![
            ("power.electricity_usd_per_kwh", self.power.electricity_usd_per_kwh.is_some(), "the electricity price in USD per kWh (e.g. 0.15)"),
            ("hardware.cost_usd", !owned || h.cost_usd.is_some(), "the purchase price in USD (ownership = \"owned\")"),
            ("hardware.amortisation_months", !owned || h.amortisation_months.is_some(), "months to write the purchase off over (ownership = \"owned\")"),
            ("hardware.rent_usd_per_month", !rented || h.rent_usd_per_month.is_some(), "the rent in USD per month (ownership = \"rented\")"),
            ("bandwidth.usd_per_gb_in", model != BandwidthModel::PerGb || b.usd_per_gb_in.is_some(), "USD per GB received (model = \"per_gb\"; 0 if free)"),
            ("bandwidth.usd_per_gb_out", model != BandwidthModel::PerGb || b.usd_per_gb_out.is_some(), "USD per GB sent (model = \"per_gb\")"),
            ("bandwidth.commit_usd_per_mbps_month", model != BandwidthModel::Percentile95 || b.commit_usd_per_mbps_month.is_some(), "USD per Mbps per month on the 95th percentile (model = \"percentile95\")"),
            ("bandwidth.port_mbps", model != BandwidthModel::FlatPort || b.port_mbps.is_some(), "the port speed in Mbps (model = \"flat_port\")"),
            ("bandwidth.port_usd_per_month", model != BandwidthModel::FlatPort || b.port_usd_per_month.is_some(), "the port price in USD per month (model = \"flat_port\")"),
            ("fees.eth_usd", self.fees.eth_usd.is_some(), "the ETH price in USD (e.g. 3000)"),
            ("staking.lpt_usd", !staked || self.staking.lpt_usd.is_some(), "the LPT price in USD, needed to value inflationary rewards when the orchestrator has stake (e.g. 6)"),
            ("chain.gas_price_gwei", self.chain.gas_price_gwei.is_some(), "the gas price paid for redemptions, in gwei"),
        ]
    }

    /// The range of every number in the rig.
    fn bounds(&self) -> Vec<Bound> {
        let (p, h, b, f, s, pr, c) = (
            &self.power,
            &self.hardware,
            &self.bandwidth,
            &self.fees,
            &self.staking,
            &self.protocol,
            &self.chain,
        );
        let mut v = vec![
            Bound::closed(
                "power.electricity_usd_per_kwh",
                p.electricity_usd_per_kwh,
                10.0,
                "above 10 USD/kWh",
            ),
            Bound::open(
                "power.psu_efficiency",
                Some(p.psu_efficiency),
                1.0,
                "a PSU cannot exceed 100% efficiency",
            ),
            Bound::closed(
                "power.rest_of_system_watts",
                Some(p.rest_of_system_watts),
                5000.0,
                "above 5000 W",
            ),
        ];
        for (i, comp) in p.components.iter().enumerate() {
            v.push(Bound::closed(
                format!("power.components[{i}].idle_watts"),
                Some(comp.idle_watts),
                5000.0,
                "above 5000 W for one component",
            ));
            v.push(Bound::open(
                format!("power.components[{i}].full_load_watts"),
                Some(comp.full_load_watts),
                5000.0,
                "above 5000 W for one component",
            ));
        }
        v.extend([
            Bound::closed(
                "hardware.cost_usd",
                h.cost_usd,
                10_000_000.0,
                "above 10 million USD",
            ),
            Bound::open(
                "hardware.amortisation_months",
                h.amortisation_months,
                240.0,
                "above 20 years",
            ),
            Bound::closed(
                "hardware.rent_usd_per_month",
                h.rent_usd_per_month,
                1_000_000.0,
                "above 1 million USD a month",
            ),
            Bound::open(
                "hardware.nvenc_session_cap",
                h.nvenc_session_cap.map(f64::from),
                10_000.0,
                "above 10000 sessions; omit the key for no cap",
            ),
            Bound::closed(
                "bandwidth.usd_per_gb_in",
                b.usd_per_gb_in,
                10.0,
                "above 10 USD per GB",
            ),
            Bound::closed(
                "bandwidth.usd_per_gb_out",
                b.usd_per_gb_out,
                10.0,
                "above 10 USD per GB",
            ),
            Bound::closed(
                "bandwidth.commit_usd_per_mbps_month",
                b.commit_usd_per_mbps_month,
                1000.0,
                "above 1000 USD per Mbps-month",
            ),
            Bound::closed(
                "bandwidth.commit_minimum_mbps",
                b.commit_minimum_mbps,
                1_000_000.0,
                "above 1 Tbps",
            ),
            Bound::closed(
                "bandwidth.port_usd_per_month",
                b.port_usd_per_month,
                1_000_000.0,
                "above 1 million USD a month",
            ),
            Bound::open(
                "bandwidth.port_mbps",
                b.port_mbps,
                1_000_000.0,
                "above 1 Tbps",
            ),
            Bound::open(
                "fees.eth_usd",
                f.eth_usd,
                1_000_000.0,
                "above 1 million USD per ETH",
            ),
            Bound::closed(
                "fees.price_per_pixel_wei",
                f.price_per_pixel_wei,
                1e12,
                "above 1e12 wei per pixel",
            ),
            Bound::closed(
                "fees.price_usd_per_pixel",
                f.price_usd_per_pixel,
                1e-6,
                "above 1e-6 USD per pixel",
            ),
            Bound::closed(
                "staking.fee_share",
                Some(s.fee_share),
                1.0,
                "a share of fees is at most 1 (the delegators' share, as registered on chain)",
            ),
            Bound::closed(
                "staking.reward_cut",
                Some(s.reward_cut),
                1.0,
                "a share of rewards is at most 1 (the orchestrator's cut, as registered on chain)",
            ),
            Bound::closed(
                "staking.own_stake_lpt",
                Some(s.own_stake_lpt),
                1e10,
                "above 10 billion LPT",
            ),
            Bound::closed(
                "staking.total_stake_lpt",
                s.total_stake_lpt,
                1e10,
                "above 10 billion LPT",
            ),
            Bound::open(
                "staking.lpt_usd",
                s.lpt_usd,
                1_000_000.0,
                "above 1 million USD per LPT",
            ),
            Bound::open(
                "protocol.total_supply_lpt",
                Some(pr.total_supply_lpt),
                1e10,
                "above 10 billion LPT",
            ),
            Bound::closed(
                "protocol.inflation_per_round",
                Some(pr.inflation_per_round),
                0.01,
                "above 1% of supply a round (about 9000% a year)",
            ),
            Bound::open(
                "protocol.total_active_stake_lpt",
                Some(pr.total_active_stake_lpt),
                1e10,
                "above 10 billion LPT",
            ),
            Bound::closed(
                "protocol.treasury_reward_cut",
                Some(pr.treasury_reward_cut),
                1.0,
                "a share is at most 1",
            ),
            Bound::open(
                "protocol.round_length_blocks",
                Some(pr.round_length_blocks),
                1e7,
                "above 10 million blocks",
            ),
            Bound::open(
                "protocol.block_seconds",
                Some(pr.block_seconds),
                3600.0,
                "above an hour per block",
            ),
            Bound::closed(
                "chain.gas_price_gwei",
                c.gas_price_gwei,
                10_000.0,
                "above 10000 gwei",
            ),
            Bound::open(
                "chain.ticket_ev_wei",
                c.ticket_ev_wei,
                1e18,
                "above 1 ETH per ticket",
            ),
            Bound::open(
                "chain.redeem_gas_estimate",
                c.redeem_gas_estimate.map(|g| g as f64),
                30_000_000.0,
                "above a block's gas limit",
            ),
            Bound::closed(
                "chain.l1_data_fee_wei",
                c.l1_data_fee_wei,
                1e17,
                "above 0.1 ETH per transaction",
            ),
            Bound::closed(
                "chain.reward_gas",
                Some(c.reward_gas as f64),
                30_000_000.0,
                "above a block's gas limit",
            ),
            Bound::closed(
                "chain.withdraw_fees_gas",
                Some(c.withdraw_fees_gas as f64),
                30_000_000.0,
                "above a block's gas limit",
            ),
            Bound::open(
                "chain.withdraw_fees_every_days",
                Some(c.withdraw_fees_every_days),
                3650.0,
                "above 10 years",
            ),
            Bound::open(
                "utilisation.share_sold",
                Some(self.utilisation.share_sold),
                1.0,
                "above 1 (100% of capacity)",
            ),
        ]);
        v
    }

    /// (key, value, broken, reason): rules between keys.
    fn rules(&self) -> Vec<(String, String, bool, String)> {
        let f = &self.fees;
        let s = &self.staking;
        let whole = |v: Option<f64>| v.is_some_and(|v| v.fract() != 0.0);
        let mut rules = vec![
            (
                "fees.price_usd_per_pixel".to_string(),
                f.price_usd_per_pixel.unwrap_or_default().to_string(),
                f.price_per_pixel_wei.is_some() && f.price_usd_per_pixel.is_some(),
                "give either fees.price_per_pixel_wei or fees.price_usd_per_pixel, not both".to_string(),
            ),
            (
                "fees.price_per_pixel_wei".to_string(),
                f.price_per_pixel_wei.unwrap_or_default().to_string(),
                whole(f.price_per_pixel_wei),
                "must be a whole number of wei: tickets are priced in whole wei, and one price serves both the run and the economics".to_string(),
            ),
            (
                "chain.ticket_ev_wei".to_string(),
                self.chain.ticket_ev_wei.unwrap_or_default().to_string(),
                whole(self.chain.ticket_ev_wei),
                "must be a whole number of wei".to_string(),
            ),
            (
                "staking.own_stake_lpt".to_string(),
                s.own_stake_lpt.to_string(),
                s.own_stake_lpt > s.total_stake(),
                format!("is larger than staking.total_stake_lpt {} (the total includes the operator's own stake)", s.total_stake()),
            ),
            (
                "staking.total_stake_lpt".to_string(),
                s.total_stake().to_string(),
                s.total_stake() > self.protocol.total_active_stake_lpt,
                format!("is larger than protocol.total_active_stake_lpt {} (all active stake includes this orchestrator's)", self.protocol.total_active_stake_lpt),
            ),
            (
                "protocol.total_active_stake_lpt".to_string(),
                self.protocol.total_active_stake_lpt.to_string(),
                self.protocol.total_active_stake_lpt > self.protocol.total_supply_lpt,
                format!("is larger than protocol.total_supply_lpt {}", self.protocol.total_supply_lpt),
            ),
        ];
        if let Some(usd) = f.price_usd_per_pixel {
            let wei = self.price_per_pixel_wei().unwrap_or(0.0);
            rules.push((
                "fees.price_usd_per_pixel".to_string(),
                usd.to_string(),
                usd > 0.0 && wei < 1.0,
                "is below 1 wei per pixel at fees.eth_usd: tickets cannot carry a fraction of a wei per pixel".to_string(),
            ));
        }
        for (i, comp) in self.power.components.iter().enumerate() {
            rules.push((
                format!("power.components[{i}].full_load_watts"),
                comp.full_load_watts.to_string(),
                comp.full_load_watts < comp.idle_watts,
                format!("is below idle_watts {}", comp.idle_watts),
            ));
        }
        rules
    }

    /// The one base price, whole wei per pixel: `fees.price_per_pixel_wei`, or
    /// `fees.price_usd_per_pixel` at `fees.eth_usd` rounded to whole wei. The run's tickets and
    /// the economics both take it from here.
    pub fn price_per_pixel_wei(&self) -> Option<f64> {
        match (
            self.fees.price_per_pixel_wei,
            self.fees.price_usd_per_pixel,
            self.fees.eth_usd,
        ) {
            (Some(wei), _, _) => Some(wei),
            (None, Some(usd), Some(eth)) if eth > 0.0 => Some((usd / eth * 1e18).round()),
            _ => None,
        }
    }

    /// Applies one `section.key=value` override (TOML value syntax; bare words are strings) and
    /// re-checks the whole rig. Array items are addressed by index:
    /// `power.components.0.full_load_watts=180`.
    pub fn set(&mut self, arg: &str) -> Result<(), RigError> {
        let bad = |reason: &str| RigError::BadSet {
            arg: arg.to_string(),
            reason: reason.to_string(),
        };
        let (key, raw) = arg.split_once('=').ok_or_else(|| bad("no `=`"))?;
        let (key, raw) = (key.trim(), raw.trim());
        if key.is_empty() || raw.is_empty() {
            return Err(bad("empty key or value"));
        }
        let value = match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
            Ok(mut t) => t
                .remove("v")
                .unwrap_or_else(|| toml::Value::String(raw.to_string())),
            Err(_) => toml::Value::String(raw.to_string()),
        };
        let mut root = match toml::Value::try_from(&*self) {
            Ok(toml::Value::Table(t)) => t,
            _ => return Err(bad("the rig could not be re-serialised")),
        };
        let parts: Vec<&str> = key.split('.').collect();
        let (last, parent) = parts.split_last().ok_or_else(|| bad("empty key"))?;
        let table = walk_create(&mut root, parent).map_err(|r| bad(&r))?;
        if matches!(
            table.get(*last),
            Some(toml::Value::Table(_)) | Some(toml::Value::Array(_))
        ) {
            return Err(bad(&format!(
                "`{key}` is a section or list: set one of its keys"
            )));
        }
        table.insert(last.to_string(), value);
        // The two ways of giving the price exclude each other: setting one replaces the other.
        let other_price = match key {
            "fees.price_per_pixel_wei" => Some("price_usd_per_pixel"),
            "fees.price_usd_per_pixel" => Some("price_per_pixel_wei"),
            _ => None,
        };
        if let (Some(other), Some(toml::Value::Table(fees))) = (other_price, root.get_mut("fees")) {
            fees.remove(other);
        }
        Rig::check_keys(&root).map_err(|e| match e {
            RigError::UnknownKey { known, .. } => RigError::UnknownKey {
                key: key.to_string(),
                known,
            },
            other => other,
        })?;
        let rig: Rig = toml::Value::Table(root)
            .try_into()
            .map_err(|e: toml::de::Error| RigError::Invalid {
                key: key.to_string(),
                value: raw.to_string(),
                reason: e.message().trim().to_string(),
            })?;
        rig.check()?;
        *self = rig;
        Ok(())
    }

    /// The power sampler's configuration from this rig (declared components, rest of system,
    /// PSU efficiency), sampling every `interval_ms`.
    pub fn power_config(&self, interval_ms: u64) -> PowerConfig {
        PowerConfig {
            interval_ms,
            components: self.power.components.clone(),
            rest_of_system_watts: self.power.rest_of_system_watts,
            psu_efficiency: Some(self.power.psu_efficiency),
            ..PowerConfig::default()
        }
    }
}

/// The table at `parts` below `t`, creating missing sections (unknown ones are refused later by
/// the key check); list items by index.
fn walk_create<'a>(t: &'a mut toml::Table, parts: &[&str]) -> Result<&'a mut toml::Table, String> {
    let Some((first, rest)) = parts.split_first() else {
        return Ok(t);
    };
    let entry = t
        .entry(first.to_string())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    match entry {
        toml::Value::Table(inner) => walk_create(inner, rest),
        toml::Value::Array(items) => {
            let (idx, rest) = rest
                .split_first()
                .ok_or_else(|| format!("`{first}` is a list: address an item by index"))?;
            let i: usize = idx
                .parse()
                .map_err(|_| format!("`{first}` is a list: `{idx}` is not an index"))?;
            match items.get_mut(i) {
                Some(toml::Value::Table(inner)) => walk_create(inner, rest),
                _ => Err(format!("`{first}` has no item {i}")),
            }
        }
        _ => Err(format!("`{first}` is a value, not a section")),
    }
}

#[cfg(test)]
mod tests;
