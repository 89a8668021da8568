//! `rigbench economics` inputs through the public API and the real binary: rig files, run.json,
//! and a real run whose payments table and economics must agree.

use std::path::Path;
use std::process::{Command, Output};

use rigbench::economics::{load_run_json, EconomicsError, Rig};

#[test]
fn run_json_of_another_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.json");
    std::fs::write(&path, r#"{"schema_version": 99, "summary": {}}"#).unwrap();
    match load_run_json(&path) {
        Err(e @ EconomicsError::SchemaVersion { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("schema_version 99") && msg.contains(&path.display().to_string()),
                "{msg}"
            );
        }
        other => panic!("expected a schema error, got {other:?}"),
    }
}

#[test]
fn rig_files_fail_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rigs/cpu-only.toml"),
    )
    .unwrap();
    let cases = [
        (
            "psu_efficiency = 0.90",
            "psu_efficiency = 1.10",
            "power.psu_efficiency",
        ),
        (
            "electricity_usd_per_kwh = 0.15",
            "electricity_usd_per_kwh = 15",
            "power.electricity_usd_per_kwh",
        ),
        (
            "electricity_usd_per_kwh = 0.15",
            "",
            "power.electricity_usd_per_kwh",
        ),
        (
            "price_per_pixel_wei = 1000",
            "price_per_pixel_wei = 1000\nfee_sharing = 0.5",
            "fees.fee_sharing",
        ),
        (
            "rent_usd_per_month = 20",
            "rent_usd_per_month = -1",
            "hardware.rent_usd_per_month",
        ),
    ];
    for (from, to, key) in cases {
        let path = dir.path().join("rig.toml");
        std::fs::write(&path, base.replacen(from, to, 1)).unwrap();
        let err = Rig::load(&path).unwrap_err().to_string();
        assert!(err.contains(key), "{from} → {to}: {err}");
    }
    let err = Rig::load(&dir.path().join("missing.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.toml"), "{err}");
}

fn rigbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rigbench"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("rigbench runs")
}

/// `rigbench economics --run RUN --rig RIG EXTRA…`.
fn economics(run: &str, rig: &str, extra: &[&str]) -> Output {
    let mut args = vec!["economics", "--run", run, "--rig", rig];
    args.extend_from_slice(extra);
    rigbench(&args)
}

fn rig_path(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/rigs")
        .join(name)
        .display()
        .to_string()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// One real run with payments on the embedded chain, priced by the cpu-only rig: the face value
/// and win probability of its tickets are the economics' own, and `rigbench economics` on its
/// run.json refuses a partial run unless `--allow-partial`.
#[test]
fn a_runs_payments_and_its_economics_agree() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let rig = rig_path("cpu-only.toml");
    let o = rigbench(&[
        "run",
        "--no-live",
        "--segs",
        "1",
        "--transcoding-options",
        "P144p30fps16x9",
        "--rig",
        &rig,
        "--out-dir",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", text(&o.stderr));
    let run_json = out.join("run.json");
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&run_json).unwrap()).unwrap();
    let p = &j["payments"];
    let e = &j["economics"];
    let run_fv: f64 = p["face_value_wei"].as_str().unwrap().parse().unwrap();
    assert_eq!(run_fv, 1.2e15, "1.2M gas × 0.01 gwei × 100");
    assert_eq!(e["gas"]["face_value_wei"].as_f64(), Some(run_fv));
    assert_eq!(e["gas"]["run_face_value_wei"].as_f64(), Some(run_fv));
    assert_eq!(e["gas"]["win_prob"].as_f64(), p["win_prob"].as_f64());
    assert_eq!(e["gas"]["redeem_gas_estimate"], 1_200_000);
    assert_eq!(
        e["inputs"]["price_per_pixel_wei"].as_f64(),
        Some(p["price_per_pixel_wei"].as_str().unwrap().parse().unwrap())
    );
    // Win frequency: the fees the run debited over the face value, both ways.
    let fees: f64 = p["fees_debited_wei"].as_str().unwrap().parse().unwrap();
    let wins_per_fee_run = p["win_prob"].as_f64().unwrap()
        / p["ticket_ev_wei"].as_str().unwrap().parse::<f64>().unwrap();
    let wins_per_fee_economics = 1.0 / e["gas"]["face_value_wei"].as_f64().unwrap();
    assert!((wins_per_fee_run - wins_per_fee_economics).abs() / wins_per_fee_economics < 1e-9);
    assert!(fees > 0.0);
    // Measured gas is reported beside the estimate, labelled as the simplified contract's.
    assert!(e["gas"]["measured_gas_per_redemption"].as_u64().is_some());
    let o = economics(run_json.to_str().unwrap(), &rig, &[]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", text(&o.stderr));
    let table = text(&o.stdout);
    assert!(table.contains("faceValue 1.2e15 wei"), "{table}");
    assert!(table.contains("simplified TicketBroker"), "{table}");

    // A partial run is refused, then labelled.
    let mut partial = j.clone();
    partial["partial"] = serde_json::Value::Bool(true);
    let partial_json = dir.path().join("partial.json");
    std::fs::write(&partial_json, serde_json::to_vec(&partial).unwrap()).unwrap();
    let o = economics(partial_json.to_str().unwrap(), &rig, &[]);
    assert_eq!(o.status.code(), Some(2), "stderr: {}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("--allow-partial"),
        "{}",
        text(&o.stderr)
    );
    let o = economics(
        partial_json.to_str().unwrap(),
        &rig,
        &["--allow-partial", "--json"],
    );
    assert_eq!(o.status.code(), Some(0), "stderr: {}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["partial_run"], true);
    assert!(v["verdict"]["line"]
        .as_str()
        .unwrap()
        .contains("[partial run]"));

    // Staked: fees and rewards apart, two verdicts.
    let o = economics(
        run_json.to_str().unwrap(),
        &rig_path("home-staked.toml"),
        &["--json"],
    );
    assert_eq!(o.status.code(), Some(0), "stderr: {}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["rewards"]["rewards_net_usd_per_hour"].as_f64().unwrap() > 0.0);
    assert!(v["verdict_with_staking"]["line"]
        .as_str()
        .unwrap()
        .starts_with("with staking:"));

    // Bad staking input: exit 2 naming the key (issue 9's list).
    let cases = [
        ("--set", "fees.fee_share=0.85", "inverted"),
        ("--set", "staking.fee_share=1.5", "staking.fee_share"),
        ("--set", "staking.reward_cut=-1", "staking.reward_cut"),
        ("--set", "staking.own_stake_lpt=100", "staking.lpt_usd"),
        (
            "--set",
            "protocol.total_supply_lpt=-1",
            "protocol.total_supply_lpt",
        ),
        (
            "--set",
            "protocol.inflation_per_round=-0.1",
            "protocol.inflation_per_round",
        ),
        (
            "--set",
            "fees.price_per_pixel_wei=1000.5",
            "whole number of wei",
        ),
    ];
    for (flag, value, needle) in cases {
        let o = economics(run_json.to_str().unwrap(), &rig, &[flag, value]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{value}: {err}");
        assert!(
            err.contains(needle) && !err.contains("panicked"),
            "{value}: {err}"
        );
    }
    let o = economics(
        run_json.to_str().unwrap(),
        &rig_path("home-staked.toml"),
        &["--set", "staking.own_stake_lpt=20000"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains(
            "`staking.own_stake_lpt` = 20000: is larger than staking.total_stake_lpt 10000"
        ),
        "{}",
        text(&o.stderr)
    );
}
