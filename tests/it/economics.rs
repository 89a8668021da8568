//! `rigbench economics` inputs through the public API: rig files and run.json.

use rigbench::economics::{load_run_json, EconomicsError, Rig};

#[test]
fn run_json_of_another_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.json");
    std::fs::write(&path, r#"{"schema_version": 2, "summary": {}}"#).unwrap();
    match load_run_json(&path) {
        Err(e @ EconomicsError::SchemaVersion { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("schema_version 2") && msg.contains(&path.display().to_string()),
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
            "fee_share = 1.0",
            "fee_share = 1.0\nfee_sharing = 0.5",
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
