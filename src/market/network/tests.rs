//! Network files: every bad input names its key.

use super::*;

const BASE: &str = r#"
name = "tiny"
[market]
eth_usd = 3000
lpt_usd = 6
[rounds]
round_hours = 19.2
total_supply_lpt = 30000000
inflation_per_round = 0.0005
treasury_cut = 0.1
[demand]
streams_per_hour = 100
duration_median_minutes = 15
duration_sigma = 1.0
duration_max_hours = 8
pixels_per_stream_second = 49900000
[delegation]
enabled = true
rebalance_rate_per_round = 0.02
[[gateways]]
name = "g"
demand_share = 1.0
max_price_per_pixel_wei = 1200
[[orchestrators]]
name = "a"
own_stake_lpt = 100
delegated_stake_lpt = 900
price_per_pixel_wei = 1000
capacity_streams = 10
latency_p50_seconds = 0.8
latency_p95_seconds = 1.4
fee_share = 0.5
reward_cut = 0.1
"#;

#[test]
fn the_base_file_parses() {
    let f = NetworkFile::parse(BASE, "base").unwrap();
    let m = f.market(1.0).unwrap();
    assert_eq!(m.orchestrators.len(), 1);
    assert_eq!(m.gateways[0].weights, SelectionWeights::default());
    assert_eq!(m.demand.daily_profile, [1.0; 24]);
}

#[test]
fn bad_network_files_name_the_key() {
    // (replace this, with that, the error must contain)
    let cases = [
        (
            "demand_share = 1.0",
            "demand_share = 1.0\nstake_weight = 0.9",
            "stake_weight + price_weight + random_weight",
        ),
        (
            "own_stake_lpt = 100",
            "own_stake_lpt = -5",
            "orchestrators[0].own_stake_lpt",
        ),
        (
            "capacity_streams = 10",
            "capacity_streams = -1",
            "orchestrators[0].capacity_streams",
        ),
        (
            "streams_per_hour = 100",
            "streams_per_hour = 0",
            "demand.streams_per_hour",
        ),
        (
            "reward_cut = 0.1",
            "reward_cut = 0.1\nrewardcut = 0.2",
            "rewardcut",
        ),
        ("lpt_usd = 6", "lpt_usd = 6\ncolour = 1", "colour"),
        ("demand_share = 1.0", "demand_share = 0.5", "demand_share"),
        (
            "latency_p95_seconds = 1.4",
            "latency_p95_seconds = 0.4",
            "orchestrators[0].latency_p95_seconds",
        ),
        (
            "fee_share = 0.5",
            "fee_share = 1.5",
            "orchestrators[0].fee_share",
        ),
        (
            "duration_sigma = 1.0",
            "duration_sigma = 1.0\ndaily_profile = [1, 2]",
            "demand.daily_profile",
        ),
        ("eth_usd = 3000", "eth_usd = nan", "market.eth_usd"),
        (
            "[[orchestrators]]",
            "[this_rig]\ncapacity_streams = -3\n[[orchestrators]]",
            "this_rig.capacity_streams",
        ),
        (
            "rebalance_rate_per_round = 0.02",
            "rebalance_rate_per_round = 2",
            "delegation.rebalance_rate_per_round",
        ),
    ];
    for (from, to, key) in cases {
        assert!(BASE.contains(from), "{from}");
        let text = BASE.replacen(from, to, 1);
        let err = NetworkFile::parse(&text, "net.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{from} → {to}: {err}");
    }
}

#[test]
fn an_empty_network_is_refused() {
    let text = BASE.split("[[orchestrators]]").next().unwrap();
    let err = NetworkFile::parse(text, "net.toml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("orchestrators") && err.contains("empty"),
        "{err}"
    );
    let err = NetworkFile::parse("", "empty.toml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("empty.toml") && err.contains("market"),
        "{err}"
    );
    let err = NetworkFile::parse(
        &BASE.replace(
            "[[gateways]]\nname = \"g\"\ndemand_share = 1.0\nmax_price_per_pixel_wei = 1200\n",
            "",
        ),
        "n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("gateways"), "{err}");
}
