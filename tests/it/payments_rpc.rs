//! Payments on a real JSON-RPC node (anvil, installed by scripts/setup): a run pays, draws
//! winners and redeems them on the node; the node stops mid-run, so later winners stay pending
//! (persisted, reported); once the node is back, `redeem_pending` (what `rigbench redeem` runs)
//! redeems them, none twice. Skips with a reason when anvil is absent.

use std::time::Duration;

use crate::anvil::*;
use alloy_primitives::{B256, U256};
use rigbench::chain::rpc::RpcChain;
use rigbench::chain::Chain;
use rigbench::payments::queue::{RedemptionQueue, RetryPolicy, TicketState};
use rigbench::payments::{Key, PaymentRun, PaymentsConfig, RenditionSpec};

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
    require_anvil!("node_stopped_mid_run_keeps_winners_pending_until_redeem");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("anvil-state.json");
    let data = dir.path().join("data");
    let mut anvil = Anvil::start(Some(&state));
    let (port, url) = (anvil.port, anvil.url());
    let operator: B256 = ANVIL_KEY.parse().unwrap();
    let chain = RpcChain::connect(&url, &operator, None, crate::anvil::cfg()).unwrap();
    let broker = chain.broker();

    let mut cfg = PaymentsConfig::new(data.clone());
    // Win probability 1/2 so a short run draws winners; modest funds from anvil's operator.
    cfg.max_face_value_wei = Some(cfg.ticket_ev_wei * U256::from(2u64));
    // go-livepeer refuses face values below txCost: price gas at 1 wei so these are not.
    cfg.redeem_gas_price_wei = U256::from(1u64);
    cfg.sender_deposit_wei = U256::from(10u64).pow(U256::from(17u64));
    cfg.sender_reserve_wei = U256::from(10u64).pow(U256::from(17u64));
    cfg.recipient_key = Some(Key::from_hex(ANVIL_KEY).unwrap());
    cfg.redeem_retry = RetryPolicy {
        tries: 2,
        initial_backoff: Duration::from_millis(20),
        ..RetryPolicy::default()
    };
    let run = PaymentRun::start(cfg, Box::new(chain), 1).unwrap();
    let mut payer = run.session(0).unwrap();
    let mut before_stop = 0;
    for _ in 0..2 {
        before_stop += payer.pay_segment(&ladder(), 2.0).unwrap().winners;
        payer.debit(OUTPUT_PIXELS).unwrap();
    }
    assert!(before_stop > 0);
    // The redeemer runs on its own thread: give it (bounded) time to redeem one winner while the
    // node is up, so the run measures gas even on a loaded machine.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        let redeemed = RedemptionQueue::open(&data)
            .and_then(|q| q.all())
            .map(|all| all.iter().any(|t| t.state == TicketState::Redeemed))
            .unwrap_or(false);
        if redeemed {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }

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
    let Some(_back) = Anvil::start_on(port, Some(&state)) else {
        eprintln!("SKIP the second half: port {port} was taken meanwhile");
        return;
    };
    let mut chain = RpcChain::connect(&url, &operator, Some(broker), crate::anvil::cfg()).unwrap();
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
