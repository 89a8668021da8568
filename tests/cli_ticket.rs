//! `rigbench ticket …` and the chain flags through the real binary: the go-livepeer hash vector,
//! signatures checked by an independent implementation (eth-account), verify's exit codes, and
//! malformed RPC URLs and keys refused as usage errors.

use std::process::{Command, Output};

/// anvil's well-known first development key (public test key, holds nothing anywhere real).
const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const DEV_ADDRESS: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

fn rigbench(args: &[&str], key: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rigbench"));
    c.args(args).env_remove("RIGBENCH_PRIVATE_KEY");
    if let Some(k) = key {
        c.env("RIGBENCH_PRIVATE_KEY", k);
    }
    c.output().expect("rigbench runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const ZERO_ADDR: &str = "0x0000000000000000000000000000000000000000";
const ZERO_HASH: &str = "0x0000000000000000000000000000000000000000000000000000000000000000";

#[test]
fn hash_matches_go_livepeer_vector() {
    let o = rigbench(
        &[
            "ticket",
            "hash",
            "--recipient",
            ZERO_ADDR,
            "--sender",
            ZERO_ADDR,
            "--face-value",
            "0",
            "--win-prob",
            "0",
            "--sender-nonce",
            "1",
            "--recipient-rand-hash",
            ZERO_HASH,
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "0xce0918ba94518293e9712effbe5fca4f1f431089833a5b8c257cb1e024595f68"
    );
}

#[test]
fn sign_then_verify_here_and_with_eth_account() {
    let hash = "0xce0918ba94518293e9712effbe5fca4f1f431089833a5b8c257cb1e024595f68";
    let o = rigbench(&["ticket", "sign", "--hash", hash], Some(DEV_KEY));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let sig = stdout(&o);
    assert_eq!(sig.len(), 2 + 130, "65 bytes, 0x-hex: {sig}");
    assert!(
        !stderr(&o).contains(&DEV_KEY[2..]),
        "the key must never be printed"
    );

    let o = rigbench(
        &[
            "ticket",
            "verify",
            "--hash",
            hash,
            "--sig",
            &sig,
            "--signer",
            DEV_ADDRESS,
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "true");

    // Another signer: false, exit 1, with the reason.
    let o = rigbench(
        &[
            "ticket", "verify", "--hash", hash, "--sig", &sig, "--signer", ZERO_ADDR,
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "false");
    assert!(!stderr(&o).is_empty());

    // A wrong length is refused as a bad signature too.
    let o = rigbench(
        &[
            "ticket",
            "verify",
            "--hash",
            hash,
            "--sig",
            &sig[..sig.len() - 2],
            "--signer",
            DEV_ADDRESS,
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));

    let py = Command::new("python3")
        .args(["-c", "import eth_account"])
        .output();
    if !matches!(py, Ok(ref p) if p.status.success()) {
        eprintln!("skipped the eth-account check: python3 with eth-account is not installed (scripts/setup installs it)");
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/verify-sig.py");
    let o = Command::new("python3")
        .args([script, hash, &sig, DEV_ADDRESS])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "eth-account disagrees: {}",
        stderr(&o)
    );
}

#[test]
fn wins_prints_true_or_false() {
    let sig = format!("0x{}1b", "11".repeat(64));
    let max = "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    let o = rigbench(
        &[
            "ticket",
            "wins",
            "--sig",
            &sig,
            "--recipient-rand",
            "7",
            "--win-prob",
            max,
        ],
        None,
    );
    assert_eq!(
        (o.status.code(), stdout(&o).as_str()),
        (Some(0), "true"),
        "{}",
        stderr(&o)
    );
    let o = rigbench(
        &[
            "ticket",
            "wins",
            "--sig",
            &sig,
            "--recipient-rand",
            "7",
            "--win-prob",
            "0",
        ],
        None,
    );
    assert_eq!(
        (o.status.code(), stdout(&o).as_str()),
        (Some(0), "false"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn sign_without_a_key_or_with_a_bad_key_is_a_usage_error() {
    let hash = ZERO_HASH;
    let o = rigbench(&["ticket", "sign", "--hash", hash], None);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("RIGBENCH_PRIVATE_KEY"));
    let o = rigbench(&["ticket", "sign", "--hash", hash], Some("0x1234"));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn malformed_rpc_url_and_key_are_usage_errors() {
    for url in ["not a url", "ftp://127.0.0.1:8545", ""] {
        let o = rigbench(
            &["run", "--chain", "rpc", "--chain-rpc", url],
            Some(DEV_KEY),
        );
        assert_eq!(o.status.code(), Some(2), "{url:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("--chain-rpc"), "{}", stderr(&o));
    }
    let o = rigbench(
        &["run", "--chain", "rpc", "--chain-rpc", "http://127.0.0.1:1"],
        Some("0xnothex"),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("key"), "{}", stderr(&o));
    let o = rigbench(&["run", "--chain", "rpc"], Some(DEV_KEY));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = rigbench(&["run", "--broker", "0x1234"], None);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
