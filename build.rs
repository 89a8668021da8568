//! Build steps:
//! - compiles proto/lp_rpc.proto (the segment protocol's messages, go-livepeer's field numbers)
//!   with prost-build. It needs `protoc`: Debian's protobuf-compiler, installed by scripts/setup,
//!   or any protoc named by the PROTOC environment variable;
//! - embeds the git commit rigbench is built from (RIGBENCH_GIT_COMMIT), so every run.json says
//!   which code measured it; "unknown" when not built from a git checkout. A value already set in
//!   the environment (by a packaging script) wins.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-changed=proto/lp_rpc.proto");
    if let Err(e) = prost_build::compile_protos(&["proto/lp_rpc.proto"], &["proto"]) {
        panic!(
            "cannot compile proto/lp_rpc.proto: {e}; install protoc (`scripts/setup` installs \
             Debian's protobuf-compiler) or set PROTOC to its path"
        );
    }

    println!("cargo:rerun-if-env-changed=RIGBENCH_GIT_COMMIT");
    let commit = std::env::var("RIGBENCH_GIT_COMMIT")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| git(&["rev-parse", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=RIGBENCH_GIT_COMMIT={commit}");
    // Rebuild when HEAD moves: HEAD itself, the branch it names, and packed refs.
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
    }
    if let (Some(common), Some(reference)) = (
        git(&["rev-parse", "--git-common-dir"]),
        git(&["symbolic-ref", "-q", "HEAD"]),
    ) {
        println!("cargo:rerun-if-changed={common}/{reference}");
        println!("cargo:rerun-if-changed={common}/packed-refs");
    }
}
