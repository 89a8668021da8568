//! A real anvil node for the tests that need one (installed by scripts/setup with
//! `npm install -g @foundry-rs/anvil`), shared by tests/chain_rpc.rs and tests/payments_rpc.rs.

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy_primitives::B256;
use rigbench::chain::rpc::RpcConfig;

/// anvil's first development account (funded with 10000 ETH on every anvil).
pub const ANVIL_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

pub fn operator_key() -> B256 {
    ANVIL_KEY.parse().unwrap()
}

/// The anvil binary. npm's `anvil` is a node wrapper that spawns the real binary and exits on
/// SIGTERM before it, leaving it orphaned; so run the platform package's binary directly when it
/// can be found beside the wrapper.
pub fn anvil_program() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("anvil"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .find(|p| p.is_file());
    let Some(wrapper) = on_path.and_then(|p| std::fs::canonicalize(p).ok()) else {
        return PathBuf::from("anvil");
    };
    if wrapper.extension().is_some_and(|e| e == "mjs" || e == "js") {
        let packages = wrapper.with_file_name("node_modules").join("@foundry-rs");
        if let Ok(entries) = std::fs::read_dir(&packages) {
            for entry in entries.flatten() {
                let binary = entry.path().join("bin").join("anvil");
                let is_platform_package = entry.file_name().to_string_lossy().starts_with("anvil-");
                if is_platform_package && binary.is_file() {
                    return binary;
                }
            }
        }
    }
    wrapper
}

pub fn anvil_missing() -> Option<String> {
    match Command::new(anvil_program())
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => None,
        _ => Some("anvil is not installed (npm install -g @foundry-rs/anvil)".to_string()),
    }
}

macro_rules! require_anvil {
    ($name:literal) => {
        if let Some(why) = crate::anvil::anvil_missing() {
            crate::support::skip($name, &why);
            return;
        }
    };
}

/// An anvil on 127.0.0.1, stopped on drop. It runs in its own process group and signals go to
/// the whole group, in case `anvil` is a wrapper that spawns the real binary.
pub struct Anvil {
    pub child: Option<Child>,
    pub port: u16,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Anvil {
    pub fn start(state: Option<&Path>) -> Anvil {
        for _ in 0..5 {
            let port = free_port();
            if let Some(anvil) = Self::start_on(port, state) {
                return anvil;
            }
        }
        panic!("anvil did not start on any of 5 free ports");
    }

    /// Starts anvil on `port` and waits until it accepts connections; None if it exited
    /// (e.g. the port was taken meanwhile).
    pub fn start_on(port: u16, state: Option<&Path>) -> Option<Anvil> {
        let mut cmd = Command::new(anvil_program());
        cmd.args(["--host", "127.0.0.1", "--port", &port.to_string()]);
        if let Some(state) = state {
            cmd.arg("--state").arg(state);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        let mut anvil = Anvil {
            child: Some(child),
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(child) = anvil.child.as_mut() {
                if child.try_wait().unwrap().is_some() {
                    anvil.stop();
                    return None;
                }
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(anvil);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops anvil: SIGTERM to its process group (anvil saves `--state` on the way out, and the
    /// wrapper reaps the binary, so no zombie is left), SIGKILL after 20 s.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal_group(&child, "-TERM");
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            // The wrapper may be gone before the binary: wait until the port is closed.
            while Instant::now() < deadline && TcpStream::connect(("127.0.0.1", self.port)).is_ok()
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            signal_group(&child, "-KILL");
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Sends a signal to the child's process group (its id, as `process_group(0)` made it).
pub fn signal_group(child: &Child, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
}

impl Drop for Anvil {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn cfg() -> RpcConfig {
    RpcConfig {
        request_timeout: Duration::from_secs(3),
        receipt_timeout: Duration::from_secs(20),
        ..RpcConfig::default()
    }
}
