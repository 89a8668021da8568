use super::*;

const VALID: &str = r#"
[power]
electricity_usd_per_kwh = 0.15
[[power.components]]
name = "cpu"
kind = "cpu"
idle_watts = 5
full_load_watts = 25
[hardware]
ownership = "rented"
rent_usd_per_month = 20
[bandwidth]
model = "per_gb"
usd_per_gb_in = 0.0
usd_per_gb_out = 0.01
[fees]
eth_usd = 3000
price_per_pixel_wei = 1000
[chain]
gas_price_gwei = 0.01
"#;

fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rigs")
}

#[test]
fn every_example_loads() {
    let mut n = 0;
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) == Some("toml") {
            if let Err(e) = Rig::load(&path) {
                panic!("{}: {e}", path.display());
            }
            n += 1;
        }
    }
    assert!(n >= 4, "expected the four documented examples, found {n}");
}

#[test]
fn defaults() {
    let r = Rig::parse(VALID, "test").unwrap();
    assert_eq!(r.power.psu_efficiency, 0.90);
    assert_eq!(r.power.rest_of_system_watts, 0.0);
    assert_eq!(r.staking.fee_share, 0.0);
    assert!(r.fees.auto_adjust_price);
    assert_eq!(r.chain.chain, ChainKind::Arbitrum);
    assert_eq!(r.utilisation.share_sold, 1.0);
    let cfg = r.power_config(100);
    assert_eq!(cfg.components.len(), 1);
    assert_eq!(cfg.psu_efficiency, Some(0.90));
}

/// Replaces `from` in the valid rig (exactly once) and returns the error text.
fn error_with(from: &str, to: &str) -> String {
    assert_eq!(VALID.matches(from).count(), 1, "{from:?}");
    match Rig::parse(&VALID.replacen(from, to, 1), "test.toml") {
        Ok(_) => panic!("{from:?} → {to:?} was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_rig_files_name_the_key() {
    // (replace, with, the error must contain)
    let cases = [
        (
            "eth_usd = 3000",
            "eth_usd = 3000\nelectricity = 1",
            "unknown key `fees.electricity`",
        ),
        ("[chain]", "[chains]", "unknown key `chains`"),
        (
            "idle_watts = 5",
            "idle_watts = 5\nwatts = 3",
            "unknown key `power.components.watts`",
        ),
        (
            "electricity_usd_per_kwh = 0.15",
            "",
            "missing key `power.electricity_usd_per_kwh`",
        ),
        ("eth_usd = 3000", "", "missing key `fees.eth_usd`"),
        (
            "usd_per_gb_out = 0.01",
            "",
            "missing key `bandwidth.usd_per_gb_out`",
        ),
        (
            "rent_usd_per_month = 20",
            "",
            "missing key `hardware.rent_usd_per_month`",
        ),
        (
            "gas_price_gwei = 0.01",
            "",
            "missing key `chain.gas_price_gwei`",
        ),
        (
            "electricity_usd_per_kwh = 0.15",
            "electricity_usd_per_kwh = -0.15",
            "`power.electricity_usd_per_kwh` = -0.15: must not be negative",
        ),
        (
            "electricity_usd_per_kwh = 0.15",
            "electricity_usd_per_kwh = 12",
            "`power.electricity_usd_per_kwh` = 12: is absurd",
        ),
        (
            "electricity_usd_per_kwh = 0.15",
            "electricity_usd_per_kwh = 0.15\npsu_efficiency = 1.2",
            "`power.psu_efficiency` = 1.2: is absurd",
        ),
        (
            "electricity_usd_per_kwh = 0.15",
            "electricity_usd_per_kwh = 0.15\npsu_efficiency = 0",
            "`power.psu_efficiency` = 0: must be > 0",
        ),
        (
            "price_per_pixel_wei = 1000",
            "price_per_pixel_wei = 1000\nfee_share = 0.85",
            "`fees.fee_share` is no longer a rig key: its meaning was inverted",
        ),
        (
            "price_per_pixel_wei = 1000",
            "price_per_pixel_wei = 1000.5",
            "`fees.price_per_pixel_wei` = 1000.5: must be a whole number of wei",
        ),
        (
            "[chain]",
            "[staking]\nfee_share = 1.5\n[chain]",
            "`staking.fee_share` = 1.5: is absurd",
        ),
        (
            "[chain]",
            "[staking]\nreward_cut = -0.1\n[chain]",
            "`staking.reward_cut` = -0.1: must not be negative",
        ),
        (
            "[chain]",
            "[staking]\nown_stake_lpt = 500\ntotal_stake_lpt = 100\nlpt_usd = 6\n[chain]",
            "`staking.own_stake_lpt` = 500: is larger than staking.total_stake_lpt 100",
        ),
        (
            "[chain]",
            "[staking]\nown_stake_lpt = 500\n[chain]",
            "missing key `staking.lpt_usd`",
        ),
        (
            "[chain]",
            "[protocol]\ntotal_supply_lpt = -5\n[chain]",
            "`protocol.total_supply_lpt` = -5: must not be negative",
        ),
        (
            "[chain]",
            "[protocol]\ninflation_per_round = -0.001\n[chain]",
            "`protocol.inflation_per_round` = -0.001: must not be negative",
        ),
        (
            "[chain]",
            "[staking]\nown_stake_lpt = 1\nlpt_usd = 6\n[protocol]\ntotal_active_stake_lpt = 0.5\n[chain]",
            "`staking.total_stake_lpt` = 1: is larger than protocol.total_active_stake_lpt 0.5",
        ),
        (
            "price_per_pixel_wei = 1000",
            "price_per_pixel_wei = -1",
            "`fees.price_per_pixel_wei` = -1: must not be negative",
        ),
        (
            "price_per_pixel_wei = 1000",
            "price_per_pixel_wei = 1000\nprice_usd_per_pixel = 4e-13",
            "not both",
        ),
        (
            "full_load_watts = 25",
            "full_load_watts = 2",
            "`power.components[0].full_load_watts` = 2: is below idle_watts 5",
        ),
        (
            "rent_usd_per_month = 20",
            "rent_usd_per_month = -20",
            "`hardware.rent_usd_per_month` = -20",
        ),
        (
            "gas_price_gwei = 0.01",
            "gas_price_gwei = 0.01\nchain = \"solana\"",
            "solana",
        ),
        (
            "[chain]",
            "[utilisation]\nshare_sold = 0\n[chain]",
            "`utilisation.share_sold` = 0: must be > 0",
        ),
        (
            "ownership = \"rented\"",
            "ownership = \"owned\"",
            "missing key `hardware.cost_usd`",
        ),
        (
            "[fees]",
            "nvenc_session_cap = 0\n[fees]",
            "`hardware.nvenc_session_cap`",
        ),
        ("eth_usd = 3000", "eth_usd = \"lots\"", "eth_usd = \"lots\""),
        ("[chain]", "[chain", "not valid TOML"),
    ];
    // Some cases only make sense in their section; nvenc_session_cap goes after [bandwidth]...
    for (from, to, want) in cases {
        let to = if want == "`hardware.nvenc_session_cap`" {
            continue;
        } else {
            to
        };
        let err = error_with(from, to);
        assert!(err.contains(want), "{from:?} → {to:?}: {err}");
    }
    let cap = VALID.replacen(
        "rent_usd_per_month = 20",
        "rent_usd_per_month = 20\nnvenc_session_cap = 0",
        1,
    );
    let err = Rig::parse(&cap, "t").unwrap_err().to_string();
    assert!(err.contains("`hardware.nvenc_session_cap` = 0"), "{err}");
    let err = Rig::parse("", "t").unwrap_err().to_string();
    assert!(err.contains("missing key `power`"), "{err}");
}

#[test]
fn set_overrides_and_rechecks() {
    let mut r = Rig::parse(VALID, "t").unwrap();
    r.set("power.electricity_usd_per_kwh=0.3").unwrap();
    assert_eq!(r.power.electricity_usd_per_kwh, Some(0.3));
    r.set("fees.price_per_pixel_wei = 500").unwrap();
    assert_eq!(r.fees.price_per_pixel_wei, Some(500.0));
    r.set("fees.price_usd_per_pixel=4.1e-13").unwrap();
    assert_eq!(
        (r.fees.price_per_pixel_wei, r.fees.price_usd_per_pixel),
        (None, Some(4.1e-13))
    );
    r.set("fees.price_per_pixel_wei=500").unwrap();
    assert_eq!(
        (r.fees.price_per_pixel_wei, r.fees.price_usd_per_pixel),
        (Some(500.0), None)
    );
    r.set("chain.chain=l1").unwrap();
    assert_eq!(r.chain.chain, ChainKind::L1);
    r.set("power.components.0.full_load_watts=40").unwrap();
    assert_eq!(r.power.components[0].full_load_watts, 40.0);
    r.set("hardware.nvenc_session_cap=8").unwrap();
    assert_eq!(r.hardware.nvenc_session_cap, Some(8));
    r.set("utilisation.share_sold=0.5").unwrap();
    assert_eq!(r.utilisation.share_sold, 0.5);
    let before = r.clone();
    let cases = [
        ("power.electricity=0.3", "unknown key `power.electricity`"),
        ("nosuch.key=1", "unknown key `nosuch.key`"),
        ("power.psu_efficiency=1.5", "`power.psu_efficiency` = 1.5"),
        ("power.electricity_usd_per_kwh=11", "is absurd"),
        ("fees.fee_share=0.85", "its meaning was inverted"),
        ("staking.fee_share=2", "`staking.fee_share` = 2"),
        ("staking.own_stake_lpt=100", "missing key `staking.lpt_usd`"),
        ("fees.price_per_pixel_wei=0.5", "whole number of wei"),
        ("power.components.3.idle_watts=1", "has no item 3"),
        ("power.components=1", "section or list"),
        ("power.electricity_usd_per_kwh", "no `=`"),
        ("power.electricity_usd_per_kwh=", "empty key or value"),
        ("fees.eth_usd=abc", "`fees.eth_usd` = abc: invalid type"),
    ];
    for (arg, want) in cases {
        let err = r.set(arg).unwrap_err().to_string();
        assert!(err.contains(want), "{arg}: {err}");
        assert_eq!(r, before, "{arg} changed the rig despite failing");
    }
}

#[test]
fn known_keys_cover_the_documented_examples() {
    let keys = known_keys();
    for k in [
        "power.electricity_usd_per_kwh",
        "power.components[].full_load_watts",
        "hardware.nvenc_session_cap",
        "bandwidth.commit_minimum_mbps",
        "fees.price_usd_per_pixel",
        "chain.redeem_gas_estimate",
        "utilisation.share_sold",
    ] {
        assert!(keys.contains(k), "{k}");
    }
    // Every key is documented in at least one example file.
    let mut text = String::new();
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        text += &std::fs::read_to_string(entry.unwrap().path()).unwrap();
    }
    for k in &keys {
        let leaf = k.rsplit(['.', ']']).next().unwrap_or(k);
        assert!(
            text.contains(leaf),
            "key {k} appears in no example under fixtures/rigs/"
        );
    }
}
