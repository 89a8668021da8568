//! `rigbench market` end to end: the real binary on small network files (the closed-form
//! checks of the simulation core are unit tests in src/market/sim/tests.rs), determinism per
//! seed, labels, and every bad input failing with exit 2 and the key named.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn rigbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rigbench"))
        .current_dir(root())
        .arg("market")
        .args(args)
        .output()
        .expect("rigbench runs")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A network of 12 orchestrators and 60 streams an hour: small enough for a debug build.
const SMALL: &str = r#"
name = "small"
[market]
eth_usd = 3000
lpt_usd = 6
[rounds]
round_hours = 19.2
total_supply_lpt = 33000000
inflation_per_round = 0.0005
treasury_cut = 0.1
[demand]
streams_per_hour = 60
duration_median_minutes = 15
duration_sigma = 1.0
duration_max_hours = 8
pixels_per_stream_second = 49900000
transfer_seconds = 0.3
[delegation]
enabled = true
rebalance_rate_per_round = 0.05
[[gateways]]
name = "capped"
demand_share = 0.7
max_price_per_pixel_wei = 1200
[[gateways]]
name = "open"
demand_share = 0.3
[this_rig]
own_stake_lpt = 1000
price_per_pixel_wei = 1000
capacity_streams = 2
latency_p50_seconds = 0.6
latency_p95_seconds = 1.0
"#;

fn small_network(dir: &Path) -> PathBuf {
    let mut text = SMALL.to_string();
    for k in 1..=12 {
        text.push_str(&format!(
            "[[orchestrators]]\nname = \"o{k}\"\nown_stake_lpt = {}\ndelegated_stake_lpt = {}\nprice_per_pixel_wei = {}\ncapacity_streams = 10\nlatency_p50_seconds = 0.7\nlatency_p95_seconds = 1.2\nfee_share = 0.5\nreward_cut = 0.1\n",
            10_000 / k,
            100_000 / k,
            200 + 100 * k
        ));
    }
    let path = dir.join("net.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// run.json of one short real run (one 144p segment, as fast as possible), made once.
fn fresh_run() -> PathBuf {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_rigbench"))
            .current_dir(root())
            .args([
                "run",
                "--no-live",
                "--segs",
                "1",
                "--transcoding-options",
                "P144p30fps16x9",
            ])
            .args(["--no-payments", "--quiet", "--out-dir"])
            .arg(dir.path().join("run"))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        dir
    });
    dir.path().join("run/run.json")
}

/// market.json names where this rig's capacity and latency came from.
fn assert_sources(v: &serde_json::Value, capacity: &str, latency: &str) {
    let i = &v["inputs"]["this_rig"];
    let has = |key: &str, what: &str| i[key].as_str().unwrap_or("").contains(what);
    assert!(has("capacity_source", capacity), "{capacity}: {i}");
    assert!(has("latency_source", latency), "{latency}: {i}");
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn market_prints_share_and_profit_and_is_deterministic_per_seed() {
    let dir = tempfile::tempdir().unwrap();
    let net = small_network(dir.path());
    let out = dir.path().join("out");
    let args = |seed: &str| -> Vec<String> {
        [
            "--network",
            net.to_str().unwrap(),
            "--rig",
            "fixtures/rigs/home-consumer-gpu.toml",
            "--days",
            "3",
            "--runs",
            "3",
            "--seed",
            seed,
            "--out-dir",
            out.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let run = |seed: &str| {
        let a = args(seed);
        let o = rigbench(&a.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        (o, std::fs::read(out.join("market.json")).unwrap())
    };
    let (o, first) = run("7");
    let stdout = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "This rig: home RTX 4070",
        "Share of network demand",
        "* Profit, USD/day *",
        "P(profit > 0)",
        "Best price tried",
        "Top-5 stake share",
        "Nakamoto",
    ] {
        assert!(stdout.contains(needle), "{needle}: {}", text(&o));
    }
    let v: serde_json::Value = serde_json::from_slice(&first).unwrap();
    assert_eq!(v["schema_version"], 1);
    let t = &v["this_rig"];
    let share = t["demand_share"]["mean"].as_f64().unwrap();
    assert!(share > 0.0 && share < 1.0, "{share}");
    assert!(
        t["profit_usd_per_day"]["p5"].as_f64().unwrap()
            <= t["profit_usd_per_day"]["p95"].as_f64().unwrap()
    );
    assert_eq!(v["network"]["orchestrators"].as_array().unwrap().len(), 13);
    assert_eq!(t["sensitivity"].as_array().unwrap().len(), 9);
    let u = v["utilisation"]["share"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&u), "{u}");
    assert!(v["estimated"].to_string().contains("not measured"));
    // Same seed, same bytes; another seed, other figures.
    let (_, again) = run("7");
    assert!(
        first == again,
        "market.json differs between two runs with the same seed"
    );
    let (_, other) = run("8");
    assert!(first != other);
}

#[test]
fn market_reads_capacity_and_latency_from_a_run_and_labels_them() {
    let dir = tempfile::tempdir().unwrap();
    let net = small_network(dir.path());
    let o = rigbench(&[
        "--network",
        net.to_str().unwrap(),
        "--rig",
        "fixtures/rigs/cpu-only.toml",
        "--run",
        fresh_run().to_str().unwrap(),
        "--days",
        "1",
        "--runs",
        "1",
        "--out-dir",
        dir.path().to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(o.stdout.is_empty(), "{}", text(&o));
    let v = json(&dir.path().join("market.json"));
    assert_sources(&v, "extrapolated", "run.json");
    assert_eq!(
        v["inputs"]["pixels_source"].as_str().unwrap(),
        "run.json (output pixels / source seconds)"
    );
    let run = json(&fresh_run());
    let p50 = run["summary"]["latency_seconds"]["p50"].as_f64().unwrap();
    // The market adds the transfer in its own order of operations: equal to the last bit or so.
    let got = v["inputs"]["this_rig"]["latency_p50_seconds"]
        .as_f64()
        .unwrap();
    assert!(
        (got - (p50 + 0.3)).abs() <= 1e-12,
        "run p50 + transfer: {got} against {}",
        p50 + 0.3
    );
}

#[test]
fn bundled_network_loads_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let o = rigbench(&[
        "--network",
        "fixtures/networks/livepeer-like.toml",
        "--days",
        "0.25",
        "--runs",
        "1",
        "--json",
        "--out-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // 100 orchestrators and this rig from [this_rig].
    assert_eq!(v["inputs"]["orchestrators"], 101);
    assert!(
        v["this_rig"]["profit_usd_per_day"].is_null(),
        "no rig file: no profit"
    );
}

#[test]
fn bad_market_inputs_exit_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let net = small_network(dir.path());
    let base = std::fs::read_to_string(&net).unwrap();
    let out = dir.path().join("out");
    // (edit of the network file, text the error must contain)
    let cases: [(&str, &str, &str); 6] = [
        (
            "name = \"capped\"\n",
            "name = \"capped\"\nstake_weight = 0.5\n",
            "must sum to 1",
        ),
        (
            "own_stake_lpt = 10000\n",
            "own_stake_lpt = -10000\n",
            "orchestrators[0].own_stake_lpt",
        ),
        (
            "streams_per_hour = 60\n",
            "streams_per_hour = 0\n",
            "demand.streams_per_hour",
        ),
        ("lpt_usd = 6\n", "lpt_usd = 6\nlpt_eur = 5\n", "lpt_eur"),
        (
            "streams_per_hour = 60\n",
            "streams_per_hour = 2000000000\n",
            "too large",
        ),
        (
            "capacity_streams = 10\n",
            "capacity_streams = -10\n",
            "capacity_streams",
        ),
    ];
    for (from, to, needle) in cases {
        assert!(base.contains(from), "{from}");
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, base.replacen(from, to, 1)).unwrap();
        let o = rigbench(&[
            "--network",
            path.to_str().unwrap(),
            "--out-dir",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{from} → {to}: {}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(needle),
            "{needle}: {}",
            text(&o)
        );
    }
    let empty = dir.path().join("empty.toml");
    std::fs::write(&empty, base.split("[[orchestrators]]").next().unwrap()).unwrap();
    let n = net.to_str().unwrap();
    let e = empty.to_str().unwrap();
    let d = dir.path().to_str().unwrap();
    let flag_cases: [(&[&str], &str); 9] = [
        (&["--network", e], "empty"),
        (&["--network", d], "cannot read network file"),
        (&["--network", "no/such.toml"], "no/such.toml"),
        (&["--network", n, "--runs", "0"], "--runs 0"),
        (&["--network", n, "--days", "0"], "--days 0"),
        (&["--network", n, "--days=-1"], "--days -1"),
        (&["--network", n, "--streams", "0"], "--streams 0"),
        (&["--network", n, "--run", "Cargo.toml"], "--rig"),
        (
            &[
                "--network",
                n,
                "--rig",
                "fixtures/rigs/cpu-only.toml",
                "--run",
                "Cargo.toml",
            ],
            "not a rigbench run.json",
        ),
    ];
    for (args, needle) in flag_cases {
        let mut a = args.to_vec();
        a.extend(["--out-dir", out.to_str().unwrap()]);
        let o = rigbench(&a);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(needle),
            "{args:?} {needle}: {}",
            text(&o)
        );
    }
    assert!(
        !out.join("market.json").exists(),
        "no market.json after a refused input"
    );
}

#[test]
fn economics_uses_the_simulated_utilisation_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let net = small_network(dir.path());
    let o = rigbench(&[
        "--network",
        net.to_str().unwrap(),
        "--rig",
        "fixtures/rigs/home-consumer-gpu.toml",
        "--days",
        "2",
        "--runs",
        "2",
        "--quiet",
        "--out-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let market = dir.path().join("market.json");
    let share = json(&market)["utilisation"]["share"].as_f64().unwrap();
    let economics = |extra: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_rigbench"));
        c.current_dir(root())
            .args(["economics", "--run"])
            .arg(fresh_run())
            .args(["--rig", "fixtures/rigs/home-consumer-gpu.toml", "--json"]);
        c.args(extra).output().unwrap()
    };
    let o = economics(&["--market", market.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["inputs"]["utilisation_share_sold"].as_f64().unwrap(),
        share
    );
    assert!(
        v["inputs"]["utilisation_source"]
            .to_string()
            .contains("rigbench market"),
        "{v}"
    );
    // A file that is not a market.json is refused, naming the flag.
    let o = economics(&["--market", "Cargo.toml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--market Cargo.toml"),
        "{}",
        text(&o)
    );
}

#[test]
fn market_takes_a_searched_capacity_and_labels_it() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("cap");
    let o = Command::new(env!("CARGO_BIN_EXE_rigbench"))
        .current_dir(root())
        .args([
            "capacity",
            "--transcoding-options",
            "P144p30fps16x9",
            "--max-sessions",
            "1",
        ])
        .args([
            "--probe-segments",
            "1",
            "--no-payments",
            "--backend",
            "cpu",
            "--out-dir",
        ])
        .arg(&cap)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let net = small_network(dir.path());
    let o = rigbench(&[
        "--network",
        net.to_str().unwrap(),
        "--rig",
        "fixtures/rigs/cpu-only.toml",
        "--capacity",
        cap.join("capacity.json").to_str().unwrap(),
        "--days",
        "1",
        "--runs",
        "1",
        "--quiet",
        "--out-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v = json(&dir.path().join("market.json"));
    let searched = json(&cap.join("capacity.json"));
    assert_sources(&v, "measured by search", "probe run");
    assert!(searched.is_object());
    // --capacity needs --rig.
    let o = rigbench(&["--network", net.to_str().unwrap(), "--capacity", "x.json"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}
