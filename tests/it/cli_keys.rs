//! Keys and chain flags through the real binary: a missing or malformed key, a malformed RPC URL
//! or broker address are usage errors (exit 2) that never echo the key. (`rigbench ticket`'s
//! hash, sign, verify and wins are tested in tests/payments_cli.rs.)

use std::process::{Command, Output};

/// anvil's well-known first development key (public test key, holds nothing anywhere real).
const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

fn rigbench(args: &[&str], key: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rigbench"));
    c.args(args).env_remove("RIGBENCH_PRIVATE_KEY");
    if let Some(k) = key {
        c.env("RIGBENCH_PRIVATE_KEY", k);
    }
    c.output().expect("rigbench runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const ZERO_HASH: &str = "0x0000000000000000000000000000000000000000000000000000000000000000";

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
