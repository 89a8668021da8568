//! The committed TicketBroker artefact matches its source: the recorded sha256 of
//! contracts/TicketBroker.sol, and, where solc-js 0.8.24 is installed (scripts/build-contracts
//! --install), a fresh compile gives the same ABI and bytecode.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn artefact(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn artefact_records_the_sources_sha256() {
    let source = std::fs::read(repo().join("contracts/TicketBroker.sol")).unwrap();
    let sha: String = Sha256::digest(&source)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let committed = artefact(&repo().join("fixtures/contracts/TicketBroker.json"));
    assert_eq!(
        committed["sourceSha256"].as_str(),
        Some(sha.as_str()),
        "contracts/TicketBroker.sol changed since the artefact was built: run scripts/build-contracts and commit fixtures/contracts/TicketBroker.json"
    );
    assert_eq!(committed["compiler"].as_str(), Some("0.8.24"));
}

fn solcjs_available() -> Result<(), String> {
    let node = Command::new("node").arg("--version").output();
    if !matches!(node, Ok(ref o) if o.status.success()) {
        return Err("node is not installed".to_string());
    }
    let dir = std::env::var("RIGBENCH_SOLC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo().join(".cache/solc"));
    let script = format!(
        "for (const p of [{:?}, 'solc']) {{ try {{ if (require(p).version().startsWith('0.8.24+')) process.exit(0) }} catch (_) {{}} }} process.exit(1)",
        dir.join("node_modules/solc").display().to_string()
    );
    match Command::new("node").arg("-e").arg(script).status() {
        Ok(s) if s.success() => Ok(()),
        _ => Err(format!(
            "solc-js 0.8.24 is not installed in {} nor globally (install it with scripts/build-contracts --install)",
            dir.display()
        )),
    }
}

#[test]
fn recompiling_gives_the_committed_bytecode() {
    if let Err(why) = solcjs_available() {
        crate::support::skip("recompiling_gives_the_committed_bytecode", &why);
        return;
    }
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("TicketBroker.json");
    let status = Command::new("node")
        .arg(repo().join("contracts/compile.js"))
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "contracts/compile.js failed");
    let fresh = artefact(&out);
    let committed = artefact(&repo().join("fixtures/contracts/TicketBroker.json"));
    for key in [
        "abi",
        "bytecode",
        "deployedBytecode",
        "sourceSha256",
        "optimizer",
        "evmVersion",
    ] {
        assert_eq!(
            fresh[key], committed[key],
            "{key} differs from a fresh compile: run scripts/build-contracts and commit the artefact"
        );
    }
}
