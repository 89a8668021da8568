//! `rigbench ticket` driven through the real binary: the go-livepeer hash check, signatures by
//! `ticket sign` checked by an independent implementation (eth-account, via
//! `scripts/verify-sig.py`), keys from the environment and from keystores, and exit codes.

use std::process::{Command, Output};

const KEY: &str = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
const ADDRESS: &str = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23";
const ZERO32: &str = "0x0000000000000000000000000000000000000000000000000000000000000000";
const ZERO20: &str = "0x0000000000000000000000000000000000000000";

fn rigbench(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rigbench"));
    cmd.args(args)
        .env_remove("RIGBENCH_PRIVATE_KEY")
        .env_remove("RIGBENCH_KEYSTORE_PASSWORD");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run rigbench")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn eth_account_available() -> bool {
    Command::new("python3")
        .args(["-c", "import eth_account"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

#[test]
fn hash_matches_go_livepeer() {
    let o = rigbench(
        &[
            "ticket",
            "hash",
            "--recipient",
            ZERO20,
            "--sender",
            ZERO20,
            "--face-value",
            "0",
            "--win-prob",
            "0",
            "--sender-nonce",
            "1",
            "--recipient-rand-hash",
            ZERO32,
        ],
        &[],
    );
    assert!(o.status.success(), "{o:?}");
    assert_eq!(
        stdout(&o),
        "0xce0918ba94518293e9712effbe5fca4f1f431089833a5b8c257cb1e024595f68"
    );
    // A malformed argument is a usage error naming it.
    let o = rigbench(
        &[
            "ticket",
            "hash",
            "--recipient",
            "0x12",
            "--sender",
            ZERO20,
            "--face-value",
            "0",
            "--win-prob",
            "0",
            "--sender-nonce",
            "1",
            "--recipient-rand-hash",
            ZERO32,
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--recipient"),
        "{o:?}"
    );
}

#[test]
fn sign_verifies_here_and_with_eth_account() {
    let hash = "0x1111111111111111111111111111111111111111111111111111111111111111";
    let o = rigbench(
        &["ticket", "sign", "--hash", hash],
        &[("RIGBENCH_PRIVATE_KEY", KEY)],
    );
    assert!(o.status.success(), "{o:?}");
    let sig = stdout(&o);
    assert_eq!(sig.len(), 132, "{sig}");
    // The key is never printed.
    let all = format!("{}{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
    assert!(!all.contains(&KEY[2..]), "key leaked");

    let o = rigbench(
        &[
            "ticket", "verify", "--hash", hash, "--sig", &sig, "--signer", ADDRESS,
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(stdout(&o), "true");
    let o = rigbench(
        &[
            "ticket", "verify", "--hash", hash, "--sig", &sig, "--signer", ZERO20,
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert_eq!(stdout(&o), "false");
    assert!(!o.stderr.is_empty(), "the reason is printed");
    // v = 29: refused with its reason.
    let bad_v = format!("{}1d", &sig[..130]);
    let o = rigbench(
        &[
            "ticket", "verify", "--hash", hash, "--sig", &bad_v, "--signer", ADDRESS,
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("27 or 28"),
        "{o:?}"
    );

    let o = rigbench(
        &[
            "ticket",
            "wins",
            "--sig",
            &sig,
            "--recipient-rand",
            "5",
            "--win-prob",
            "0",
        ],
        &[],
    );
    assert_eq!(stdout(&o), "false");
    let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
    let o = rigbench(
        &[
            "ticket",
            "wins",
            "--sig",
            &sig,
            "--recipient-rand",
            "5",
            "--win-prob",
            max,
        ],
        &[],
    );
    assert_eq!(stdout(&o), "true");

    if !eth_account_available() {
        crate::support::skip(
            "eth-account check",
            "python3 with eth-account is not available (pip install eth-account)",
        );
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/verify-sig.py");
    let ok = Command::new("python3")
        .args([script, hash, &sig, ADDRESS])
        .output()
        .unwrap();
    assert!(ok.status.success(), "{ok:?}");
    let wrong = Command::new("python3")
        .args([script, hash, &sig, ZERO20])
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(1), "{wrong:?}");
}

#[test]
fn sign_with_a_keystore() {
    // Written by eth-account 0.14 (`Account.encrypt(KEY, "rigbench-test", kdf="scrypt",
    // iterations=1024)`).
    let keystore = r#"{"address": "2c7536E3605D9C16a7a3D7b1898e529396a65c23", "crypto": {"cipher": "aes-128-ctr", "cipherparams": {"iv": "52f883aec58d479991353e698fdb5de4"}, "ciphertext": "550d77649049d19a8cee8df703e0cc61f170563105071911c7eb62ffb84094c6", "kdf": "scrypt", "kdfparams": {"dklen": 32, "n": 1024, "r": 8, "p": 1, "salt": "4223918d0a9ba062158a031fd5410930"}, "mac": "09a8d071f3c352dcaf5c8623e3f56834b827f606a8b6769cb187b08078517fea"}, "id": "19e2c689-74f4-403a-96ad-01d9d1b98e60", "version": 3}"#;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key.json");
    std::fs::write(&path, keystore).unwrap();
    let p = path.to_str().unwrap();
    let o = rigbench(
        &["ticket", "sign", "--hash", ZERO32, "--keystore", p],
        &[("RIGBENCH_KEYSTORE_PASSWORD", "rigbench-test")],
    );
    assert!(o.status.success(), "{o:?}");
    let from_keystore = stdout(&o);
    let o = rigbench(
        &["ticket", "sign", "--hash", ZERO32],
        &[("RIGBENCH_PRIVATE_KEY", KEY)],
    );
    assert_eq!(
        stdout(&o),
        from_keystore,
        "same key, same deterministic signature"
    );
    // Wrong password: an error, no signature.
    let o = rigbench(
        &["ticket", "sign", "--hash", ZERO32, "--keystore", p],
        &[("RIGBENCH_KEYSTORE_PASSWORD", "wrong")],
    );
    assert!(!o.status.success(), "{o:?}");
    assert!(stdout(&o).is_empty());
    // No key at all.
    let o = rigbench(&["ticket", "sign", "--hash", ZERO32], &[]);
    assert!(!o.status.success(), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("RIGBENCH_PRIVATE_KEY"),
        "{o:?}"
    );
}
