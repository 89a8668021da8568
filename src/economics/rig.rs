//! The rig file (TOML): what the operator pays and charges. Every key is documented here and in
//! the commented examples under `fixtures/rigs/`. Unknown keys, missing prices and negative or
//! absurd values are errors that name the key (`power.psu_efficiency`, ...). `--set
//! section.key=value` overrides a key after loading, with the same checks.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::metering::power::model::{ComponentKind, DeclaredComponent};
use crate::metering::power::PowerConfig;

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

/// Whether the hardware is bought or rented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ownership {
    Owned,
    Rented,
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

/// How bandwidth is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BandwidthModel {
    /// Per GB in and out (`usd_per_gb_in`, `usd_per_gb_out`).
    PerGb,
    /// 95th percentile commit (`commit_usd_per_mbps_month`, optional `commit_minimum_mbps`).
    Percentile95,
    /// A flat unmetered port (`port_mbps`, `port_usd_per_month`); its capacity caps the streams.
    FlatPort,
    /// Included in the rent or the home plan: no marginal cost (optional `port_mbps` still caps).
    Included,
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

/// `[fees]`: what broadcasters pay and what the operator keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeesSection {
    /// ETH price in USD (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eth_usd: Option<f64>,
    /// Price per output pixel, wei. Give this or `price_usd_per_pixel`, not both; neither = the
    /// run's own `--price-per-pixel`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_per_pixel_wei: Option<f64>,
    /// Price per output pixel in USD (e.g. 4.1e-13), converted at `eth_usd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_usd_per_pixel: Option<f64>,
    /// Share of fees the operator keeps after delegators' share, 0..=1 (default 1: no
    /// delegators).
    #[serde(default = "one")]
    pub fee_share: f64,
}

fn one() -> f64 {
    1.0
}

/// Which chain redeems winning tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChainKind {
    Arbitrum,
    L1,
}

impl ChainKind {
    /// go-livepeer's redeem gas estimate for this chain (facts doc §3).
    pub fn default_redeem_gas(self) -> u64 {
        match self {
            ChainKind::Arbitrum => 1_200_000,
            ChainKind::L1 => 350_000,
        }
    }
}

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
    /// Ticket expected value, wei (default: the run's, else go-livepeer's 8 gwei).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_ev_wei: Option<f64>,
    /// Gas per redemption used only when the run measured none (default: go-livepeer's
    /// estimate, 1.2M on Arbitrum, 350k on L1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redeem_gas_estimate: Option<u64>,
}

fn default_chain() -> ChainKind {
    ChainKind::Arbitrum
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
            fee_share: 1.0,
        },
        chain: ChainSection {
            chain: ChainKind::Arbitrum,
            gas_price_gwei: Some(0.0),
            ticket_ev_wei: Some(1.0),
            redeem_gas_estimate: Some(1),
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

/// `value` within [lo, hi] (finite); `lo_open` excludes lo.
fn check_range(
    key: &str,
    value: f64,
    lo: f64,
    lo_open: bool,
    hi: f64,
    why_hi: &str,
) -> Result<(), RigError> {
    if !value.is_finite() {
        return Err(invalid(key, value, "must be a finite number"));
    }
    if value < 0.0 && lo >= 0.0 {
        return Err(invalid(key, value, "must not be negative"));
    }
    if value < lo || (lo_open && value == lo) {
        let op = if lo_open { ">" } else { ">=" };
        return Err(invalid(key, value, &format!("must be {op} {lo}")));
    }
    if value > hi {
        return Err(invalid(key, value, &format!("is absurd: {why_hi}")));
    }
    Ok(())
}

fn required<T: Copy>(key: &str, v: Option<T>, what: &str) -> Result<T, RigError> {
    v.ok_or_else(|| RigError::Missing {
        key: key.to_string(),
        what: what.to_string(),
    })
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

    /// Checks every value; errors name the key.
    pub fn check(&self) -> Result<(), RigError> {
        let p = &self.power;
        let kwh = required(
            "power.electricity_usd_per_kwh",
            p.electricity_usd_per_kwh,
            "the electricity price in USD per kWh (e.g. 0.15)",
        )?;
        check_range(
            "power.electricity_usd_per_kwh",
            kwh,
            0.0,
            false,
            10.0,
            "above 10 USD/kWh",
        )?;
        check_range(
            "power.psu_efficiency",
            p.psu_efficiency,
            0.0,
            true,
            1.0,
            "a PSU cannot exceed 100% efficiency",
        )?;
        check_range(
            "power.rest_of_system_watts",
            p.rest_of_system_watts,
            0.0,
            false,
            5000.0,
            "above 5000 W",
        )?;
        for (i, c) in p.components.iter().enumerate() {
            let key = |f: &str| format!("power.components[{i}].{f}");
            check_range(
                &key("idle_watts"),
                c.idle_watts,
                0.0,
                false,
                5000.0,
                "above 5000 W for one component",
            )?;
            check_range(
                &key("full_load_watts"),
                c.full_load_watts,
                0.0,
                true,
                5000.0,
                "above 5000 W for one component",
            )?;
            if c.full_load_watts < c.idle_watts {
                return Err(invalid(
                    &key("full_load_watts"),
                    c.full_load_watts,
                    &format!("is below idle_watts {}", c.idle_watts),
                ));
            }
        }

        let h = &self.hardware;
        match h.ownership {
            Ownership::Owned => {
                let cost = required(
                    "hardware.cost_usd",
                    h.cost_usd,
                    "the purchase price in USD (ownership = \"owned\")",
                )?;
                check_range(
                    "hardware.cost_usd",
                    cost,
                    0.0,
                    false,
                    10_000_000.0,
                    "above 10 million USD",
                )?;
                let months = required(
                    "hardware.amortisation_months",
                    h.amortisation_months,
                    "months to write the purchase off over (ownership = \"owned\")",
                )?;
                check_range(
                    "hardware.amortisation_months",
                    months,
                    0.0,
                    true,
                    240.0,
                    "above 20 years",
                )?;
            }
            Ownership::Rented => {
                let rent = required(
                    "hardware.rent_usd_per_month",
                    h.rent_usd_per_month,
                    "the rent in USD per month (ownership = \"rented\")",
                )?;
                check_range(
                    "hardware.rent_usd_per_month",
                    rent,
                    0.0,
                    false,
                    1_000_000.0,
                    "above 1 million USD a month",
                )?;
            }
        }
        if h.nvenc_session_cap == Some(0) {
            return Err(invalid(
                "hardware.nvenc_session_cap",
                0,
                "must be >= 1; omit the key for no cap",
            ));
        }

        let b = &self.bandwidth;
        let opt = |key: &str, v: Option<f64>, hi: f64, why: &str| -> Result<(), RigError> {
            match v {
                Some(v) => check_range(key, v, 0.0, false, hi, why),
                None => Ok(()),
            }
        };
        opt(
            "bandwidth.usd_per_gb_in",
            b.usd_per_gb_in,
            10.0,
            "above 10 USD per GB",
        )?;
        opt(
            "bandwidth.usd_per_gb_out",
            b.usd_per_gb_out,
            10.0,
            "above 10 USD per GB",
        )?;
        opt(
            "bandwidth.commit_usd_per_mbps_month",
            b.commit_usd_per_mbps_month,
            1000.0,
            "above 1000 USD per Mbps-month",
        )?;
        opt(
            "bandwidth.commit_minimum_mbps",
            b.commit_minimum_mbps,
            1_000_000.0,
            "above 1 Tbps",
        )?;
        opt(
            "bandwidth.port_usd_per_month",
            b.port_usd_per_month,
            1_000_000.0,
            "above 1 million USD a month",
        )?;
        if let Some(port) = b.port_mbps {
            check_range(
                "bandwidth.port_mbps",
                port,
                0.0,
                true,
                1_000_000.0,
                "above 1 Tbps",
            )?;
        }
        match b.model {
            BandwidthModel::PerGb => {
                required(
                    "bandwidth.usd_per_gb_in",
                    b.usd_per_gb_in,
                    "USD per GB received (model = \"per_gb\"; 0 if free)",
                )?;
                required(
                    "bandwidth.usd_per_gb_out",
                    b.usd_per_gb_out,
                    "USD per GB sent (model = \"per_gb\")",
                )?;
            }
            BandwidthModel::Percentile95 => {
                required(
                    "bandwidth.commit_usd_per_mbps_month",
                    b.commit_usd_per_mbps_month,
                    "USD per Mbps per month on the 95th percentile (model = \"percentile95\")",
                )?;
            }
            BandwidthModel::FlatPort => {
                required(
                    "bandwidth.port_mbps",
                    b.port_mbps,
                    "the port speed in Mbps (model = \"flat_port\")",
                )?;
                required(
                    "bandwidth.port_usd_per_month",
                    b.port_usd_per_month,
                    "the port price in USD per month (model = \"flat_port\")",
                )?;
            }
            BandwidthModel::Included => {}
        }

        let f = &self.fees;
        let eth = required(
            "fees.eth_usd",
            f.eth_usd,
            "the ETH price in USD (e.g. 3000)",
        )?;
        check_range(
            "fees.eth_usd",
            eth,
            0.0,
            true,
            1_000_000.0,
            "above 1 million USD per ETH",
        )?;
        if f.price_per_pixel_wei.is_some() && f.price_usd_per_pixel.is_some() {
            return Err(invalid(
                "fees.price_usd_per_pixel",
                f.price_usd_per_pixel.unwrap_or_default(),
                "give either fees.price_per_pixel_wei or fees.price_usd_per_pixel, not both",
            ));
        }
        opt(
            "fees.price_per_pixel_wei",
            f.price_per_pixel_wei,
            1e12,
            "above 1e12 wei per pixel",
        )?;
        opt(
            "fees.price_usd_per_pixel",
            f.price_usd_per_pixel,
            1e-6,
            "above 1e-6 USD per pixel",
        )?;
        check_range(
            "fees.fee_share",
            f.fee_share,
            0.0,
            false,
            1.0,
            "the operator cannot keep more than all the fees (max 1)",
        )?;

        let c = &self.chain;
        let gas = required(
            "chain.gas_price_gwei",
            c.gas_price_gwei,
            "the gas price paid for redemptions, in gwei",
        )?;
        check_range(
            "chain.gas_price_gwei",
            gas,
            0.0,
            false,
            10_000.0,
            "above 10000 gwei",
        )?;
        if let Some(ev) = c.ticket_ev_wei {
            check_range(
                "chain.ticket_ev_wei",
                ev,
                0.0,
                true,
                1e18,
                "above 1 ETH per ticket",
            )?;
        }
        if let Some(g) = c.redeem_gas_estimate {
            check_range(
                "chain.redeem_gas_estimate",
                g as f64,
                0.0,
                true,
                30_000_000.0,
                "above a block's gas limit",
            )?;
        }
        check_range(
            "utilisation.share_sold",
            self.utilisation.share_sold,
            0.0,
            true,
            1.0,
            "above 1 (100% of capacity)",
        )?;
        Ok(())
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
