//! Payments on a real JSON-RPC node (anvil, installed by scripts/setup): a run pays, draws
//! winners and redeems them on the node; the node stops mid-run, so later winners stay pending
//! (persisted, reported); once the node is back, `redeem_pending` (what `rigbench redeem` runs)
//! redeems them, none twice. Skips with a reason when anvil is absent.

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy_primitives::{B256, U256};
use rigbench::chain::rpc::{RpcChain, RpcConfig};
use rigbench::chain::Chain;
use rigbench::payments::queue::{RedemptionQueue, RetryPolicy, TicketState};
use rigbench::payments::{Key, PaymentRun, PaymentsConfig, RenditionSpec};

/// anvil's first development account (10000 ETH on every anvil); public test key.
const ANVIL_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

fn anvil_missing() -> Option<String> {
    match Command::new("anvil")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => None,
        _ => Some("anvil is not installed (npm install -g @foundry-rs/anvil)".to_string()),
    }
}

/// anvil on 127.0.0.1 in its own process group (npm's `anvil` is a wrapper that spawns the
/// real binary), killed on drop.
struct Anvil {
    child: Option<Child>,
    port: u16,
}

impl Anvil {
    fn start(state: &Path) -> Anvil {
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            if let Some(a) = Anvil::start_on(port, state) {
                return a;
            }
        }
        panic!("anvil did not start on any of 5 free ports");
    }

    fn start_on(port: u16, state: &Path) -> Option<Anvil> {
        let child = Command::new("anvil")
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--state",
            ])
            .arg(state)
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
            if let Some(c) = anvil.child.as_mut() {
                if c.try_wait().unwrap().is_some() {
                    anvil.child = None;
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

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SIGTERM to the group (anvil saves `--state`), then wait for the port to close.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal_group(&child, "-TERM");
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline
                && (child.try_wait().unwrap().is_none()
                    || TcpStream::connect(("127.0.0.1", self.port)).is_ok())
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            signal_group(&child, "-KILL");
            let _ = child.wait();
        }
    }
}

fn signal_group(child: &Child, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
}

impl Drop for Anvil {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal_group(&child, "-KILL");
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn rpc_cfg() -> RpcConfig {
    RpcConfig {
        request_timeout: Duration::from_secs(3),
        receipt_timeout: Duration::from_secs(20),
        ..RpcConfig::default()
    }
}

fn ladder() -> Vec<RenditionSpec> {
    vec![
        RenditionSpec {
            width: 1280,
            height: 720,
            fps: 30.0,
        },
        RenditionSpec {
            width: 640,
            height: 360,
            fps: 30.0,
        },
    ]
}

const OUTPUT_PIXELS: u64 = (1280 * 720 + 640 * 360) * 30 * 2;

#[test]
fn node_stopped_mid_run_keeps_winners_pending_until_redeem() {
    if let Some(why) = anvil_missing() {
        eprintln!("SKIP node_stopped_mid_run_keeps_winners_pending_until_redeem: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("anvil-state.json");
    let data = dir.path().join("data");
    let mut anvil = Anvil::start(&state);
    let (port, url) = (anvil.port, anvil.url());
    let operator: B256 = ANVIL_KEY.parse().unwrap();
    let chain = RpcChain::connect(&url, &operator, None, rpc_cfg()).unwrap();
    let broker = chain.broker();

    let mut cfg = PaymentsConfig::new(data.clone());
    // Win probability 1/2 so a short run draws winners; modest funds from anvil's operator.
    cfg.max_face_value_wei = Some(cfg.ticket_ev_wei * U256::from(2u64));
    cfg.sender_deposit_wei = U256::from(10u64).pow(U256::from(17u64));
    cfg.sender_reserve_wei = U256::from(10u64).pow(U256::from(17u64));
    cfg.recipient_key = Some(Key::from_hex(ANVIL_KEY).unwrap());
    cfg.redeem_retry = RetryPolicy {
        tries: 2,
        initial_backoff: Duration::from_millis(20),
    };
    let run = PaymentRun::start(cfg, Box::new(chain), 1).unwrap();
    let mut payer = run.session(0).unwrap();
    let mut before_stop = 0;
    for _ in 0..2 {
        before_stop += payer.pay_segment(&ladder(), 2.0).unwrap().winners;
        payer.debit(OUTPUT_PIXELS).unwrap();
    }
    assert!(before_stop > 0);

    // The node goes away mid-run; the session keeps paying from cached chain state, and the
    // winners it draws are persisted before they are acknowledged.
    anvil.stop();
    let mut after_stop = 0;
    for _ in 0..2 {
        after_stop += payer.pay_segment(&ladder(), 2.0).unwrap().winners;
        payer.debit(OUTPUT_PIXELS).unwrap();
    }
    assert!(after_stop > 0);
    drop(payer);
    let s = run.finish().unwrap();
    assert_eq!(s.chain.kind, "rpc");
    assert_eq!(s.winning_tickets, u64::from(before_stop + after_stop));
    assert!(s.pending >= u64::from(after_stop), "{s:?}");
    assert_eq!(s.redeemed + s.pending, s.winning_tickets, "{s:?}");
    assert!(s.gas_per_redemption.unwrap_or(0) > 21_000, "{s:?}");
    eprintln!(
        "rpc run: {} winners, {} redeemed at {:?} gas each, {} left pending when the node stopped",
        s.winning_tickets, s.redeemed, s.gas_per_redemption, s.pending
    );

    // The node is back with its state: `rigbench redeem` redeems the pending winners, once.
    let Some(_back) = Anvil::start_on(port, &state) else {
        eprintln!("SKIP the second half: port {port} was taken meanwhile");
        return;
    };
    let mut chain = RpcChain::connect(&url, &operator, Some(broker), rpc_cfg()).unwrap();
    let report = rigbench::payments::redeem_pending(&data, &mut chain).unwrap();
    assert_eq!(
        report.redeemed + report.already_used,
        s.pending,
        "{report:?}"
    );
    assert_eq!(report.pending, 0, "{report:?}");
    let q = RedemptionQueue::open(&data).unwrap();
    for e in q.all().unwrap() {
        assert_eq!(e.state, TicketState::Redeemed, "{e:?}");
        assert!(chain.is_ticket_used(e.ticket_hash).unwrap());
    }
    let again = rigbench::payments::redeem_pending(&data, &mut chain).unwrap();
    assert_eq!((again.redeemed, again.pending), (0, 0));
}
