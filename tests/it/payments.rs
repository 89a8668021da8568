//! Payments end to end: the attacks of issue 3 against the recipient, the durable queue
//! (persist, reopen, state transitions, never twice), an unreachable chain, and whole runs on a
//! mock chain and on the embedded EVM. An independent check of signatures with eth-account
//! (`scripts/verify-sig.py`) runs when Python has it.

use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use rigbench::chain::{Chain, ChainError, RoundInfo, SenderFunds, TicketCall, TxOutcome};
use rigbench::payments::params::{
    ExpirationParams, Payment, PriceInfo, TicketParams, TicketSenderParams, MAX_SENDER_NONCES,
};
use rigbench::payments::queue::{
    redeem_entry_on, QueuedTicket, Redemption, RedemptionQueue, RetryPolicy, TicketState,
};
use rigbench::payments::recipient::{
    reason, Recipient, RecipientConfig, RecipientError, SenderView,
};
use rigbench::payments::sig::{self, Key};
use rigbench::payments::{tools, PaymentRun, PaymentsConfig, PaymentsError, RenditionSpec, Ticket};

// ---------------------------------------------------------------- mock chain (tests only)

#[derive(Debug, Default)]
struct MockState {
    reachable: bool,
    block: u64,
    funds: HashMap<Address, SenderFunds>,
    used: HashSet<B256>,
    redemptions: Vec<TicketCall>,
    sends: u64,
}

/// A chain that checks what the broker checks that matters here (signature, win, used hash),
/// charges a fixed gas, and can be made unreachable.
#[derive(Clone)]
struct MockChain(Arc<Mutex<MockState>>);

const MOCK_GAS: u64 = 123_456;

impl MockChain {
    fn new() -> MockChain {
        MockChain(Arc::new(Mutex::new(MockState {
            reachable: true,
            block: 100,
            ..MockState::default()
        })))
    }
    fn set_reachable(&self, up: bool) {
        self.0.lock().unwrap().reachable = up;
    }
    fn state(&self) -> std::sync::MutexGuard<'_, MockState> {
        self.0.lock().unwrap()
    }
    fn up(&self) -> Result<std::sync::MutexGuard<'_, MockState>, ChainError> {
        let s = self.0.lock().unwrap();
        if !s.reachable {
            return Err(ChainError::Unreachable {
                endpoint: "mock".into(),
                detail: "connection refused".into(),
            });
        }
        Ok(s)
    }
}

fn call_hash(call: &TicketCall) -> B256 {
    let (round, block_hash) = if call.aux_data.len() == 64 {
        (
            U256::from_be_slice(&call.aux_data[..32]),
            B256::from_slice(&call.aux_data[32..]),
        )
    } else {
        (U256::ZERO, B256::ZERO)
    };
    Ticket {
        recipient: call.recipient,
        sender: call.sender,
        face_value_wei: call.face_value,
        win_prob: call.win_prob,
        sender_nonce: call.sender_nonce.to::<u32>(),
        recipient_rand_hash: call.recipient_rand_hash,
        creation_round: round,
        creation_round_block_hash: block_hash,
    }
    .hash()
}

impl Chain for MockChain {
    fn kind(&self) -> &'static str {
        "mock"
    }
    fn chain_id(&self) -> u64 {
        31337
    }
    fn broker(&self) -> Address {
        Address::repeat_byte(0xb0)
    }
    fn block_number(&mut self) -> Result<u64, ChainError> {
        Ok(self.up()?.block)
    }
    fn round_info(&mut self) -> Result<RoundInfo, ChainError> {
        let s = self.up()?;
        Ok(RoundInfo {
            round: U256::from(s.block / 10),
            block_hash: keccak256((s.block / 10).to_be_bytes()),
            active_set_size: U256::from(10u64),
        })
    }
    fn sender_funds(&mut self, sender: Address) -> Result<SenderFunds, ChainError> {
        Ok(self.up()?.funds.get(&sender).copied().unwrap_or_default())
    }
    fn fund_deposit_and_reserve(
        &mut self,
        sender_secret: &B256,
        deposit: U256,
        reserve: U256,
    ) -> Result<TxOutcome, ChainError> {
        let key =
            Key::from_bytes(&sender_secret.0).map_err(|e| ChainError::Rejected(e.to_string()))?;
        let mut s = self.up()?;
        s.block += 1;
        let f = s.funds.entry(key.address()).or_default();
        f.deposit += deposit;
        f.reserve += reserve;
        Ok(TxOutcome {
            tx_hash: B256::repeat_byte(1),
            gas_used: 50_000,
            gas_price_wei: 1,
            revert_reason: None,
        })
    }
    fn redeem_winning_ticket(&mut self, call: &TicketCall) -> Result<TxOutcome, ChainError> {
        let mut s = self.up()?;
        s.block += 1;
        s.sends += 1;
        let hash = call_hash(call);
        let revert = if s.used.contains(&hash) {
            Some("ticket is used".to_string())
        } else if sig::verify(&hash, &call.sig, call.sender).is_err() {
            Some("invalid signature over ticket hash".to_string())
        } else if !rigbench::payments::ticket::wins(&call.sig, call.recipient_rand, call.win_prob) {
            Some("ticket did not win".to_string())
        } else if keccak256(call.recipient_rand.to_be_bytes::<32>()) != call.recipient_rand_hash {
            Some("invalid recipientRand for recipientRandHash".to_string())
        } else {
            None
        };
        if revert.is_none() {
            s.used.insert(hash);
            s.redemptions.push(call.clone());
            if let Some(f) = s.funds.get_mut(&call.sender) {
                f.deposit = f.deposit.saturating_sub(call.face_value);
            }
        }
        Ok(TxOutcome {
            tx_hash: B256::from(U256::from(s.sends)),
            gas_used: MOCK_GAS,
            gas_price_wei: 1,
            revert_reason: revert,
        })
    }
    fn is_ticket_used(&mut self, ticket_hash: B256) -> Result<bool, ChainError> {
        Ok(self.up()?.used.contains(&ticket_hash))
    }
}

// ---------------------------------------------------------------- recipient attacks

fn recipient_cfg() -> RecipientConfig {
    RecipientConfig {
        ticket_ev_wei: U256::from(1_000u64),
        redeem_gas_price_wei: U256::from(1u64),
        redeem_gas_estimate: 1_000,
        max_face_value_wei: None,
        price: PriceInfo::per_pixel(U256::from(1u64)),
    }
}

fn funded_view() -> SenderView {
    SenderView {
        funds: SenderFunds {
            deposit: U256::from(10_000_000u64),
            reserve: U256::from(10_000_000u64),
            withdraw_round: U256::ZERO,
        },
        active_set_size: U256::from(10u64),
        ..SenderView::default()
    }
}

fn round() -> RoundInfo {
    RoundInfo {
        round: U256::from(10u64),
        block_hash: B256::repeat_byte(0x10),
        active_set_size: U256::from(10u64),
    }
}

struct Setup {
    recipient: Recipient,
    sender: Key,
    params: TicketParams,
}

fn setup() -> Setup {
    let recipient = Recipient::with_secret(Address::repeat_byte(0xee), [42; 32], recipient_cfg());
    let sender = Key::from_bytes(&[7; 32]).unwrap();
    recipient.register_session(0, sender.address()).unwrap();
    let params = recipient
        .ticket_params(sender.address(), 100, &round(), &funded_view())
        .unwrap();
    Setup {
        recipient,
        sender,
        params,
    }
}

fn ticket_for(params: &TicketParams, sender: Address, nonce: u32) -> Ticket {
    Payment {
        sender,
        ticket_params: params.clone(),
        tickets: vec![],
        expected_price: params.price,
    }
    .ticket(&TicketSenderParams {
        sender_nonce: nonce,
        sig: Bytes::new(),
    })
}

fn signed(key: &Key, params: &TicketParams, nonce: u32) -> TicketSenderParams {
    let sig = key
        .sign_hash(&ticket_for(params, key.address(), nonce).hash())
        .unwrap();
    TicketSenderParams {
        sender_nonce: nonce,
        sig: Bytes::from(sig.to_vec()),
    }
}

fn payment(sender: Address, params: &TicketParams, tickets: Vec<TicketSenderParams>) -> Payment {
    Payment {
        sender,
        ticket_params: params.clone(),
        tickets,
        expected_price: params.price,
    }
}

/// The single rejection reason of a one-ticket payment.
fn only_reason(r: &Recipient, p: &Payment, block: u64, view: &SenderView) -> &'static str {
    let v = r.receive_payment(0, p, block, view).unwrap();
    assert_eq!(v.valid, 0, "expected a rejection, got a valid ticket");
    assert_eq!(v.rejected.len(), 1, "{:?}", v.rejected);
    v.rejected.keys().next().copied().unwrap()
}

fn with_sig(tsp: &TicketSenderParams, f: impl FnOnce(&mut Vec<u8>)) -> TicketSenderParams {
    let mut sig = tsp.sig.to_vec();
    f(&mut sig);
    TicketSenderParams {
        sender_nonce: tsp.sender_nonce,
        sig: Bytes::from(sig),
    }
}

#[test]
fn signature_attacks_are_rejected_each_with_its_reason() {
    let s = setup();
    let good = signed(&s.sender, &s.params, 1);
    let other = Key::from_bytes(&[8; 32]).unwrap();
    let by_other = signed(&other, &s.params, 1);
    // Re-sign the ticket hash of `sender` with another key: valid signature, wrong signer.
    let stolen = TicketSenderParams {
        sender_nonce: 1,
        sig: Bytes::from(
            other
                .sign_hash(&ticket_for(&s.params, s.sender.address(), 1).hash())
                .unwrap()
                .to_vec(),
        ),
    };
    let n_half = U256::from_str_radix(
        "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0",
        16,
    )
    .unwrap();
    let high_s = with_sig(&good, |sig| {
        let s_val = U256::from_be_slice(&sig[32..64]);
        let n = n_half * U256::from(2u64) + U256::from(1u64);
        sig[32..64].copy_from_slice(&(n - s_val).to_be_bytes::<32>());
        sig[64] = if sig[64] == 27 { 28 } else { 27 };
    });
    let cases: Vec<(&str, TicketSenderParams, &[&str])> = vec![
        (
            "forged r",
            with_sig(&good, |sig| sig[5] ^= 0xff),
            &["bad_signature", "wrong_signer"],
        ),
        (
            "forged s",
            with_sig(&good, |sig| sig[40] ^= 0x01),
            &["wrong_signer", "high_s"],
        ),
        ("another key's signature", stolen, &["wrong_signer"]),
        (
            "64 bytes",
            with_sig(&good, |sig| sig.truncate(64)),
            &["bad_sig_length"],
        ),
        (
            "66 bytes",
            with_sig(&good, |sig| sig.push(0)),
            &["bad_sig_length"],
        ),
        ("v = 0", with_sig(&good, |sig| sig[64] = 0), &["bad_sig_v"]),
        (
            "v = 29",
            with_sig(&good, |sig| sig[64] = 29),
            &["bad_sig_v"],
        ),
        ("high s", high_s, &["high_s"]),
    ];
    for (name, tsp, want) in cases {
        let p = payment(s.sender.address(), &s.params, vec![tsp]);
        let got = only_reason(&s.recipient, &p, 100, &funded_view());
        assert!(
            want.contains(&got),
            "{name}: got {got}, want one of {want:?}"
        );
    }
    // A payment from another sender than the session's is refused outright.
    let p = payment(other.address(), &s.params, vec![by_other]);
    assert_eq!(
        only_reason(&s.recipient, &p, 100, &funded_view()),
        reason::WRONG_SENDER
    );
    // And the good one passes.
    let v = s
        .recipient
        .receive_payment(
            0,
            &payment(s.sender.address(), &s.params, vec![good]),
            100,
            &funded_view(),
        )
        .unwrap();
    assert_eq!(v.valid, 1);
}

#[test]
fn replayed_nonce_and_nonce_limit() {
    let s = setup();
    let addr = s.sender.address();
    // ~6 of 600 tickets win (p = 1/100); a reserve large enough that pending winners never
    // crowd out the rest, so only nonces decide here.
    let rich = SenderView {
        funds: SenderFunds {
            reserve: U256::from(10u64).pow(U256::from(15u64)),
            ..funded_view().funds
        },
        ..funded_view()
    };
    let first = payment(addr, &s.params, vec![signed(&s.sender, &s.params, 1)]);
    assert_eq!(
        s.recipient
            .receive_payment(0, &first, 100, &rich)
            .unwrap()
            .valid,
        1
    );
    assert_eq!(
        only_reason(&s.recipient, &first, 100, &rich),
        reason::REPLAYED_NONCE
    );

    // Fill up to 600 nonces, then the 601st distinct nonce is refused.
    let tickets: Vec<_> = (2..=MAX_SENDER_NONCES as u32 + 1)
        .map(|n| signed(&s.sender, &s.params, n))
        .collect();
    let v = s
        .recipient
        .receive_payment(0, &payment(addr, &s.params, tickets), 100, &rich)
        .unwrap();
    assert_eq!(v.valid as usize, MAX_SENDER_NONCES - 1, "{:?}", v.rejected);
    assert_eq!(v.rejected.get(reason::TOO_MANY_NONCES), Some(&1));
}

#[test]
fn expired_parameters_are_rejected() {
    let s = setup();
    // Each payment its own nonce: an expired ticket's nonce still counts as seen.
    let p = |nonce| {
        payment(
            s.sender.address(),
            &s.params,
            vec![signed(&s.sender, &s.params, nonce)],
        )
    };
    // Issued at block 100, expiring at 140.
    assert_eq!(
        only_reason(&s.recipient, &p(1), 140, &funded_view()),
        reason::EXPIRED
    );
    assert_eq!(
        only_reason(&s.recipient, &p(2), 1_000, &funded_view()),
        reason::EXPIRED
    );
    assert_eq!(
        s.recipient
            .receive_payment(0, &p(3), 139, &funded_view())
            .unwrap()
            .valid,
        1
    );
}

#[test]
fn wrong_recipient_rand_is_rejected() {
    let s = setup();
    let addr = s.sender.address();
    // A different seed, a forged commitment, or a pushed-out expiration all break the HMAC.
    let tampered: Vec<(&str, TicketParams)> = vec![
        (
            "seed",
            TicketParams {
                seed: s.params.seed + U256::from(1u64),
                ..s.params.clone()
            },
        ),
        (
            "hash",
            TicketParams {
                recipient_rand_hash: keccak256(b"guess"),
                ..s.params.clone()
            },
        ),
        (
            "expiration",
            TicketParams {
                expiration_block: U256::from(10_000u64),
                ..s.params.clone()
            },
        ),
        (
            "face value",
            TicketParams {
                face_value_wei: s.params.face_value_wei * U256::from(2u64),
                ..s.params.clone()
            },
        ),
        (
            "round",
            TicketParams {
                expiration_params: ExpirationParams {
                    creation_round: U256::from(11u64),
                    ..s.params.expiration_params
                },
                ..s.params.clone()
            },
        ),
    ];
    for (name, params) in tampered {
        let p = payment(addr, &params, vec![signed(&s.sender, &params, 1)]);
        assert_eq!(
            only_reason(&s.recipient, &p, 100, &funded_view()),
            reason::WRONG_RECIPIENT_RAND,
            "{name}"
        );
    }
}

#[test]
fn sender_without_funds_gets_no_parameters_and_no_credit() {
    let s = setup();
    let broke = SenderView {
        funds: SenderFunds::default(),
        active_set_size: U256::from(10u64),
        ..SenderView::default()
    };
    let err = s
        .recipient
        .ticket_params(s.sender.address(), 100, &round(), &broke)
        .unwrap_err();
    assert!(
        err.to_string().contains("insufficient sender reserve"),
        "{err}"
    );
    assert!(matches!(err, RecipientError::Params(_)));
    // Tickets under earlier parameters, after the sender withdrew everything.
    let p = payment(
        s.sender.address(),
        &s.params,
        vec![signed(&s.sender, &s.params, 1)],
    );
    assert_eq!(
        only_reason(&s.recipient, &p, 100, &broke),
        reason::NO_SENDER_FUNDS
    );
}

#[test]
fn face_value_above_what_the_reserve_allows_is_rejected() {
    let s = setup();
    // The parameters were sized for a 1e6 reserve share; the reserve then shrank to 1e4 per
    // orchestrator (the sender moved funds, or other winners claim it).
    let shrunk = SenderView {
        funds: SenderFunds {
            reserve: U256::from(100_000u64),
            ..funded_view().funds
        },
        ..funded_view()
    };
    assert!(s.params.face_value_wei > shrunk.reserve_share_wei());
    let p = payment(
        s.sender.address(),
        &s.params,
        vec![signed(&s.sender, &s.params, 1)],
    );
    assert_eq!(
        only_reason(&s.recipient, &p, 100, &shrunk),
        reason::INSUFFICIENT_SENDER_RESERVE
    );
}

// ---------------------------------------------------------------- durable queue

fn winner_entry(key: &Key, nonce: u32, chain: &MockChain) -> QueuedTicket {
    let rand = U256::from(99u64);
    let t = Ticket {
        recipient: Address::repeat_byte(0xee),
        sender: key.address(),
        face_value_wei: U256::from(5_000u64),
        win_prob: U256::MAX,
        sender_nonce: nonce,
        recipient_rand_hash: keccak256(rand.to_be_bytes::<32>()),
        creation_round: U256::from(10u64),
        creation_round_block_hash: keccak256(10u64.to_be_bytes()),
    };
    let sig = key.sign_hash(&t.hash()).unwrap().to_vec();
    let c = chain.clone();
    QueuedTicket::pending(t, sig, rand, false, c.chain_id(), c.broker())
}

fn quick_retry() -> RetryPolicy {
    RetryPolicy {
        tries: 3,
        initial_backoff: Duration::from_millis(5),
        ..RetryPolicy::default()
    }
}

#[test]
fn queue_persists_reopens_and_never_redeems_twice() {
    let dir = tempfile::tempdir().unwrap();
    let chain = MockChain::new();
    let key = Key::from_bytes(&[3; 32]).unwrap();
    let e1 = winner_entry(&key, 1, &chain);
    let e2 = winner_entry(&key, 2, &chain);
    {
        let q = RedemptionQueue::open(dir.path()).unwrap();
        q.enqueue(&e1).unwrap();
        q.enqueue(&e2).unwrap();
        assert!(q.enqueue(&e1).is_err(), "a winner is never queued twice");
    }
    // Reopen (as after a crash): both are there, pending, byte-for-byte the same tickets.
    let q = RedemptionQueue::open(dir.path()).unwrap();
    let all = q.all().unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|e| e.state == TicketState::Pending));
    assert_eq!(q.load(&e1.ticket_hash).unwrap().unwrap().ticket, e1.ticket);
    // No temporary files are left behind.
    let names: Vec<_> = std::fs::read_dir(q.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    let mut c = chain.clone();
    let (r, after) = redeem_entry_on(&q, &e1, &quick_retry(), &mut c).unwrap();
    assert!(
        matches!(r, Redemption::Redeemed(ref tx) if tx.gas_used == MOCK_GAS),
        "{r:?}"
    );
    assert_eq!(after.state, TicketState::Redeemed);
    assert_eq!(after.gas_used, Some(MOCK_GAS));
    assert!(after.tx_hash.is_some());
    // The same entry again (a stale copy in memory): the persisted state says redeemed.
    let (r, _) = redeem_entry_on(&q, &e1, &quick_retry(), &mut c).unwrap();
    assert_eq!(r, Redemption::NotPending(TicketState::Redeemed));
    assert_eq!(chain.state().sends, 1);

    // A crash after the transaction was mined but before the state was written: the file still
    // says pending, the broker says used. Nothing is sent again.
    let mut stale = q.load(&e1.ticket_hash).unwrap().unwrap();
    stale.state = TicketState::Pending;
    q.write(&stale).unwrap();
    let (r, after) = redeem_entry_on(&q, &stale, &quick_retry(), &mut c).unwrap();
    assert_eq!(r, Redemption::AlreadyUsed);
    assert_eq!(after.state, TicketState::Redeemed);
    assert_eq!(chain.state().sends, 1);

    // A reverted redemption is failed, with its reason and measured gas.
    let mut bad = winner_entry(&key, 3, &chain);
    bad.ticket.win_prob = U256::ZERO; // never wins; the signature no longer matches either
    bad.ticket_hash = bad.ticket.hash();
    q.enqueue(&bad).unwrap();
    let (r, after) = redeem_entry_on(&q, &bad, &quick_retry(), &mut c).unwrap();
    assert!(matches!(r, Redemption::Reverted(_)), "{r:?}");
    assert_eq!(after.state, TicketState::Failed);
    assert_eq!(after.gas_used, Some(MOCK_GAS));
    assert!(
        after.reason.as_deref().unwrap_or("").contains("signature"),
        "{:?}",
        after.reason
    );

    // Reopened once more, every state survived.
    let q = RedemptionQueue::open(dir.path()).unwrap();
    let states: HashMap<B256, TicketState> = q
        .all()
        .unwrap()
        .into_iter()
        .map(|e| (e.ticket_hash, e.state))
        .collect();
    assert_eq!(states[&e1.ticket_hash], TicketState::Redeemed);
    assert_eq!(states[&e2.ticket_hash], TicketState::Pending);
    assert_eq!(states[&bad.ticket_hash], TicketState::Failed);
}

#[test]
fn corrupt_record_is_reported_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let q = RedemptionQueue::open(dir.path()).unwrap();
    std::fs::write(
        q.dir().join(format!("{:x}.json", B256::repeat_byte(1))),
        b"{ not json",
    )
    .unwrap();
    let err = q.all().unwrap_err();
    assert!(
        err.to_string().contains("not a valid ticket record"),
        "{err}"
    );
}

#[test]
fn unreachable_chain_leaves_winners_pending_until_redeem() {
    let dir = tempfile::tempdir().unwrap();
    let chain = MockChain::new();
    let key = Key::from_bytes(&[3; 32]).unwrap();
    let q = RedemptionQueue::open(dir.path()).unwrap();
    for n in 1..=3 {
        q.enqueue(&winner_entry(&key, n, &chain)).unwrap();
    }
    chain.set_reachable(false);
    let mut c = chain.clone();
    let report =
        rigbench::payments::payer::redeem_pending_with(&q, &mut c, &quick_retry()).unwrap();
    assert_eq!(report.pending, 3);
    assert_eq!(report.redeemed, 0);
    assert!(
        report
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("unreachable"),
        "{report:?}"
    );
    let first = &q.pending().unwrap()[0];
    assert!(first.last_error.is_some());
    assert_eq!(first.attempts, quick_retry().tries);

    // The node is back: `rigbench redeem` redeems all three, once.
    chain.set_reachable(true);
    let mut c = chain.clone();
    let report = rigbench::payments::redeem_pending(dir.path(), &mut c).unwrap();
    assert_eq!(
        (report.redeemed, report.pending, report.failed),
        (3, 0, 0),
        "{report:?}"
    );
    assert_eq!(report.gas_per_redemption, Some(MOCK_GAS));
    assert_eq!(report.face_value_redeemed_wei, U256::from(15_000u64));
    let mut c = chain.clone();
    let again = rigbench::payments::redeem_pending(dir.path(), &mut c).unwrap();
    assert_eq!(again.redeemed, 0);
    assert_eq!(chain.state().sends, 3);
}

#[test]
fn winners_for_another_chain_are_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let chain = MockChain::new();
    let key = Key::from_bytes(&[3; 32]).unwrap();
    let q = RedemptionQueue::open(dir.path()).unwrap();
    let mut e = winner_entry(&key, 1, &chain);
    e.chain_id = 1;
    q.enqueue(&e).unwrap();
    let mut c = chain.clone();
    let report = rigbench::payments::redeem_pending(dir.path(), &mut c).unwrap();
    assert_eq!(report.other_chain, 1);
    assert_eq!(q.pending().unwrap().len(), 1);
    assert_eq!(chain.state().sends, 0);
}

// ---------------------------------------------------------------- whole runs

fn ladder() -> Vec<RenditionSpec> {
    vec![
        RenditionSpec {
            width: 1280,
            height: 720,
            fps: 30.0,
        },
        RenditionSpec {
            width: 854,
            height: 480,
            fps: 30.0,
        },
        RenditionSpec {
            width: 640,
            height: 360,
            fps: 30.0,
        },
    ]
}

fn output_pixels() -> u64 {
    (1280 * 720 + 854 * 480 + 640 * 360) * 30 * 2
}

fn run_cfg(dir: &std::path::Path) -> PaymentsConfig {
    let mut cfg = PaymentsConfig::new(dir.to_path_buf());
    cfg.redeem_retry = quick_retry();
    cfg
}

#[test]
fn default_run_pays_every_segment_and_calibrates_gas() {
    let dir = tempfile::tempdir().unwrap();
    let chain = MockChain::new();
    let run = PaymentRun::start(run_cfg(dir.path()), Box::new(chain.clone()), 2).unwrap();
    std::thread::scope(|scope| {
        for session in 0..2 {
            let mut payer = run.session(session).unwrap();
            scope.spawn(move || {
                for _ in 0..5 {
                    let paid = payer.pay_segment(&ladder(), 2.0).unwrap();
                    assert!(paid.tickets > 0);
                    assert_eq!(paid.tickets, paid.tickets_valid);
                    payer.debit(output_pixels()).unwrap();
                }
            });
        }
    });
    assert!(matches!(
        run.session(0),
        Err(PaymentsError::SessionTaken(0))
    ));
    assert!(matches!(
        run.session(2),
        Err(PaymentsError::NoSuchSession { .. })
    ));
    let s = run.finish().unwrap();
    assert!(s.tickets_sent > 0);
    assert_eq!(s.tickets_sent, s.tickets_valid);
    assert!(s.tickets_rejected.is_empty(), "{:?}", s.tickets_rejected);
    // Realistic parameters (win probability ~7e-6) draw no winner in 10 segments, except about
    // once in a thousand runs; either way the gas is measured.
    if s.winning_tickets == 0 {
        assert_eq!(s.calibration_redemptions, 3);
        assert_eq!(s.gas_used_total, 3 * MOCK_GAS);
        assert_eq!(s.face_value_redeemed_wei, "0");
    } else {
        assert_eq!(s.calibration_redemptions, 0);
        assert_eq!(s.redeemed, s.winning_tickets);
    }
    assert_eq!(s.gas_per_redemption, Some(MOCK_GAS));
    assert_eq!(s.pending, 0);
    // Fees: 10 segments × price × pixels.
    assert_eq!(
        s.fees_debited_wei,
        (U256::from(10 * output_pixels()) * U256::from(1000u64)).to_string()
    );
    // 0.01 gwei × 1.2M gas × 100 = 1.2e15 wei, EV 8e9: win probability 8e9 / 1.2e15.
    assert_eq!(s.face_value_wei, "1200000000000000");
    assert!(
        (s.win_prob - 8e9 / 1.2e15).abs() / (8e9 / 1.2e15) < 1e-6,
        "{}",
        s.win_prob
    );
    assert!(s.payment_work_seconds > 0.0);
    assert_eq!(s.chain.kind, "mock");
    assert_eq!(s.chain.chain_id, 31337);
    // The run's JSON keeps wei as decimal strings.
    let json = serde_json::to_value(&s).unwrap();
    assert!(json["fees_debited_wei"].is_string());
}

#[test]
fn winners_are_persisted_before_acknowledgement_and_redeemed() {
    let dir = tempfile::tempdir().unwrap();
    let chain = MockChain::new();
    let mut cfg = run_cfg(dir.path());
    // Face value capped at 4 × EV: each ticket wins with probability 1/4.
    cfg.max_face_value_wei = Some(cfg.ticket_ev_wei * U256::from(4u64));
    // go-livepeer refuses face values below txCost: price gas at 1 wei so these are not.
    cfg.redeem_gas_price_wei = U256::from(1u64);
    let run = PaymentRun::start(cfg, Box::new(chain.clone()), 1).unwrap();
    let mut payer = run.session(0).unwrap();
    let q = RedemptionQueue::open(dir.path()).unwrap();
    let mut winners = 0;
    for _ in 0..4 {
        let paid = payer.pay_segment(&ladder(), 2.0).unwrap();
        winners += paid.winners;
        // Everything acknowledged so far is on disk (pending or already redeemed).
        assert!(q.all().unwrap().len() >= winners as usize);
        payer.debit(output_pixels()).unwrap();
    }
    assert!(
        winners > 0,
        "with p = 1/4 and dozens of tickets a winner is certain in practice"
    );
    drop(payer);
    let s = run.finish().unwrap();
    assert_eq!(s.winning_tickets, u64::from(winners));
    assert_eq!(s.redeemed, u64::from(winners), "{s:?}");
    assert_eq!(s.calibration_redemptions, 0);
    assert_eq!(s.pending, 0);
    assert_eq!(chain.state().redemptions.len(), winners as usize);
    let fv = U256::from(8_000_000_000u64 * 4);
    assert_eq!(
        s.face_value_redeemed_wei,
        (fv * U256::from(winners)).to_string()
    );
}

#[test]
fn chain_down_at_the_end_keeps_winners_pending_for_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let chain = MockChain::new();
    let mut cfg = run_cfg(dir.path());
    cfg.max_face_value_wei = Some(cfg.ticket_ev_wei * U256::from(2u64));
    // go-livepeer refuses face values below txCost: price gas at 1 wei so these are not.
    cfg.redeem_gas_price_wei = U256::from(1u64);
    let sender = Key::from_bytes(&[5; 32]).unwrap();
    cfg.sender_keys = vec![sender.clone()];
    // The redeemer shares the chain; take it down before any winner can be redeemed.
    let run = PaymentRun::start(cfg.clone(), Box::new(chain.clone()), 1).unwrap();
    let mut payer = run.session(0).unwrap();
    chain.set_reachable(false);
    let mut winners = 0;
    for _ in 0..2 {
        winners += payer.pay_segment(&ladder(), 2.0).unwrap().winners;
        payer.debit(output_pixels()).unwrap();
    }
    assert!(winners > 0);
    drop(payer);
    let s = run.finish().unwrap();
    assert_eq!(s.pending, u64::from(winners), "{s:?}");
    assert_eq!(s.redeemed, 0);
    assert_eq!(
        s.calibration_redemptions, 0,
        "no calibration against a dead chain"
    );

    // Next run, chain back: the leftovers are redeemed at start, once.
    chain.set_reachable(true);
    let run = PaymentRun::start(cfg, Box::new(chain.clone()), 1).unwrap();
    assert_eq!(run.earlier_redemptions().redeemed, u64::from(winners));
    let s = run.finish().unwrap();
    assert_eq!(s.earlier_runs_redeemed, u64::from(winners));
    assert_eq!(s.pending, 0);
    assert_eq!(
        chain.state().redemptions.len(),
        winners as usize + 3,
        "winners + 3 calibration"
    );
}

#[test]
fn no_calibration_against_a_dead_chain_and_the_summary_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let chain = MockChain::new();
    let run = PaymentRun::start(run_cfg(dir.path()), Box::new(chain.clone()), 1).unwrap();
    let mut payer = run.session(0).unwrap();
    let paid = payer.pay_segment(&ladder(), 2.0).unwrap();
    payer.debit(output_pixels()).unwrap();
    chain.set_reachable(false);
    let s = run.finish().unwrap();
    if paid.winners == 0 {
        assert_eq!(s.calibration_redemptions, 0);
        assert_eq!(s.gas_per_redemption, None);
        let note = s.calibration_note.unwrap_or_default();
        assert!(note.contains("unreachable"), "{note}");
        assert_eq!(s.pending, 0, "no calibration ticket was issued");
    }
}

#[test]
fn rejected_tickets_leave_the_balance_short_and_the_segment_unpaid() {
    let dir = tempfile::tempdir().unwrap();
    let chain = MockChain::new();
    let run = PaymentRun::start(run_cfg(dir.path()), Box::new(chain.clone()), 1).unwrap();
    let mut payer = run.session(0).unwrap();
    payer.pay_segment(&ladder(), 2.0).unwrap();
    // Billed three times the estimate: the balance is now negative, and the broadcaster holds
    // fresh parameters sized for its full reserve.
    payer.debit(3 * output_pixels()).unwrap();
    // The sender then empties its reserve on chain. Its next tickets exceed what the reserve
    // allows and are rejected, so the balance cannot cover one EV: no transcoding.
    let sender = run.sender_address(0).unwrap();
    chain.state().funds.get_mut(&sender).unwrap().reserve = U256::from(1u64);
    let err = payer.pay_segment(&ladder(), 2.0).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, PaymentsError::InsufficientBalance { .. }),
        "{text}"
    );
    assert!(text.contains("insufficient_sender_reserve"), "{text}");
    assert!(text.contains("not transcoded"), "{text}");
    drop(payer);
    let s = run.finish().unwrap();
    assert!(
        s.tickets_rejected["insufficient_sender_reserve"] > 0,
        "{s:?}"
    );
}

#[test]
fn insufficient_balance_stops_transcoding_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let chain = MockChain::new();
    let run = PaymentRun::start(run_cfg(dir.path()), Box::new(chain.clone()), 1).unwrap();
    let mut payer = run.session(0).unwrap();
    payer.pay_segment(&ladder(), 2.0).unwrap();
    // The orchestrator bills far more than was estimated; the sender's credit goes negative and
    // the next payment covers it, so transcoding continues.
    payer.debit(output_pixels() * 3).unwrap();
    let paid = payer.pay_segment(&ladder(), 2.0).unwrap();
    assert!(paid.balance_wei >= alloy_primitives::I256::ZERO);
    // `finish` does not wait for payers still alive.
    run.finish().unwrap();
    drop(payer);

    // A sender with no funds: parameters are refused, so nothing is transcoded.
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = run_cfg(dir.path());
    cfg.sender_deposit_wei = U256::ZERO;
    cfg.sender_reserve_wei = U256::ZERO;
    let run = PaymentRun::start(cfg, Box::new(MockChain::new()), 1).unwrap();
    let mut payer = run.session(0).unwrap();
    let err = payer.pay_segment(&ladder(), 2.0).unwrap_err();
    assert!(
        err.to_string().contains("insufficient sender reserve"),
        "{err}"
    );
}

#[test]
fn embedded_chain_run_measures_real_gas() {
    use rigbench::chain::embedded::{EmbeddedChain, EmbeddedConfig};
    let dir = tempfile::tempdir().unwrap();
    let chain = EmbeddedChain::open_or_create(&dir.path().join("chain"), EmbeddedConfig::default())
        .unwrap();
    let mut cfg = run_cfg(dir.path());
    cfg.max_face_value_wei = Some(cfg.ticket_ev_wei * U256::from(3u64));
    // go-livepeer refuses face values below txCost: price gas at 1 wei so these are not.
    cfg.redeem_gas_price_wei = U256::from(1u64);
    let run = PaymentRun::start(cfg, Box::new(chain), 1).unwrap();
    let mut payer = run.session(0).unwrap();
    let mut winners = 0;
    for _ in 0..4 {
        winners += payer.pay_segment(&ladder(), 2.0).unwrap().winners;
        payer.debit(output_pixels()).unwrap();
    }
    drop(payer);
    let s = run.finish().unwrap();
    assert_eq!(s.chain.kind, "embedded");
    assert_eq!(s.winning_tickets, u64::from(winners));
    assert_eq!(s.redeemed, u64::from(winners), "{s:?}");
    assert_eq!(s.redeem_failed, 0, "{s:?}");
    let gas = s.gas_per_redemption.expect("gas measured");
    assert!(gas > 21_000 && gas < 500_000, "{gas}");
    assert!(winners > 0, "p = 1/3 over four dozen tickets");
    let q = RedemptionQueue::open(dir.path()).unwrap();
    let all = q.all().unwrap();
    assert!(all.iter().all(|e| e.state == TicketState::Redeemed));
    assert!(all
        .iter()
        .all(|e| e.gas_used == Some(gas) || e.gas_used.is_some()));

    // A ticket reused on chain: pretend the state update was lost, so the file says pending.
    // The broker's usedTickets says otherwise and nothing is sent; a direct second
    // redemption reverts in the contract.
    let mut chain =
        EmbeddedChain::open_or_create(&dir.path().join("chain"), EmbeddedConfig::default())
            .unwrap();
    let mut stale = all[0].clone();
    let call = stale.ticket.to_call(&stale.sig, stale.recipient_rand);
    let again = chain.redeem_winning_ticket(&call).unwrap();
    assert_eq!(
        again.revert_reason.as_deref(),
        Some("ticket is used"),
        "{again:?}"
    );
    stale.state = TicketState::Pending;
    q.write(&stale).unwrap();
    let report = rigbench::payments::redeem_pending(dir.path(), &mut chain).unwrap();
    assert_eq!((report.already_used, report.redeemed), (1, 0), "{report:?}");
}

/// Helper process for `sigkill_after_acknowledged_winners_then_restart_redeems_once`: pays
/// until a winner is acknowledged, says so, then waits to be killed.
#[test]
#[ignore = "helper process, started by sigkill_after_acknowledged_winners_then_restart_redeems_once"]
fn sigkill_child() {
    use rigbench::chain::embedded::{EmbeddedChain, EmbeddedConfig};
    use std::io::Write;
    let Ok(dir) = std::env::var("RIGBENCH_PAYMENTS_CHILD_DIR") else {
        panic!("run only as the helper of the SIGKILL test");
    };
    let dir = std::path::PathBuf::from(dir);
    let chain =
        EmbeddedChain::open_or_create(&dir.join("chain"), EmbeddedConfig::default()).unwrap();
    let run = PaymentRun::start(sigkill_cfg(&dir), Box::new(chain), 1).unwrap();
    let mut payer = run.session(0).unwrap();
    let mut winners = 0;
    while winners == 0 {
        winners += payer.pay_segment(&ladder(), 2.0).unwrap().winners;
        payer.debit(output_pixels()).unwrap();
    }
    println!("ACKED {winners}");
    std::io::stdout().flush().unwrap();
    std::thread::sleep(Duration::from_secs(120));
}

fn sigkill_cfg(dir: &std::path::Path) -> PaymentsConfig {
    let mut cfg = run_cfg(dir);
    cfg.max_face_value_wei = Some(cfg.ticket_ev_wei * U256::from(2u64));
    // go-livepeer refuses face values below txCost: price gas at 1 wei so these are not.
    cfg.redeem_gas_price_wei = U256::from(1u64);
    cfg.recipient_key = Some(Key::from_bytes(&[0x21; 32]).unwrap());
    cfg.sender_keys = vec![Key::from_bytes(&[0x22; 32]).unwrap()];
    cfg
}

#[test]
fn sigkill_after_acknowledged_winners_then_restart_redeems_once() {
    use rigbench::chain::embedded::{EmbeddedChain, EmbeddedConfig};
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "payments::sigkill_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("RIGBENCH_PAYMENTS_CHILD_DIR", dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acked = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        // libtest may print "test sigkill_child ... " on the same line first.
        if let Some(at) = line.find("ACKED ") {
            acked = Some(line[at + 6..].trim().parse::<u64>().unwrap());
            break;
        }
    }
    // SIGKILL, right after the acknowledgement (the redeemer may be mid-transaction).
    child.kill().unwrap();
    child.wait().unwrap();
    let acked = acked.expect("the helper acknowledged a winner before it was killed");

    let q = RedemptionQueue::open(dir.path()).unwrap();
    let persisted = q.all().unwrap();
    assert!(
        persisted.len() as u64 >= acked,
        "every acknowledged winner is on disk"
    );

    let cfg = sigkill_cfg(dir.path());
    let sender = cfg.sender_keys[0].address();
    let mut chain =
        EmbeddedChain::open_or_create(&dir.path().join("chain"), EmbeddedConfig::default())
            .unwrap();
    let deposit_before = chain.sender_funds(sender).unwrap().deposit;
    let paid_before = persisted
        .iter()
        .filter(|e| e.state == TicketState::Redeemed)
        .count() as u64;
    let run = PaymentRun::start(cfg, Box::new(chain), 0).unwrap();
    let earlier = run.earlier_redemptions().clone();
    eprintln!("killed after {acked} acknowledged; {paid_before} redeemed before the kill; restart: {earlier:?}");
    drop(run);
    let after = q.all().unwrap();
    assert!(
        after.iter().all(|e| e.state == TicketState::Redeemed),
        "{after:#?}"
    );
    // Money moved exactly once per winner: the sender's deposit dropped by the face value of
    // the winners the restart redeemed, no more.
    let mut chain =
        EmbeddedChain::open_or_create(&dir.path().join("chain"), EmbeddedConfig::default())
            .unwrap();
    let fv = after[0].ticket.face_value_wei;
    let deposit_after = chain.sender_funds(sender).unwrap().deposit;
    assert_eq!(
        deposit_before - deposit_after,
        fv * U256::from(earlier.redeemed)
    );
    assert_eq!(
        paid_before + earlier.redeemed + earlier.already_used,
        after.len() as u64,
        "{earlier:?}"
    );
    for e in &after {
        assert!(chain.is_ticket_used(e.ticket_hash).unwrap());
    }
}

#[test]
fn embedded_chain_calibration_when_no_winner() {
    use rigbench::chain::embedded::{EmbeddedChain, EmbeddedConfig};
    let dir = tempfile::tempdir().unwrap();
    let chain = EmbeddedChain::new(EmbeddedConfig::default()).unwrap();
    let run = PaymentRun::start(run_cfg(dir.path()), Box::new(chain), 1).unwrap();
    let mut payer = run.session(0).unwrap();
    payer.pay_segment(&ladder(), 2.0).unwrap();
    payer.debit(output_pixels()).unwrap();
    drop(payer);
    let s = run.finish().unwrap();
    // One segment at win probability ~7e-6 per ticket: a winner about once in 10,000 runs.
    if s.winning_tickets == 0 {
        assert_eq!(s.calibration_redemptions, 3, "{s:?}");
    }
    assert!(s.gas_per_redemption.unwrap() > 21_000);
}

// ---------------------------------------------------------------- independent checks

#[test]
fn signatures_verify_with_eth_account() {
    let ok = Command::new("python3")
        .args(["-c", "import eth_account"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        crate::support::skip(
            "signatures_verify_with_eth_account",
            "python3 with eth-account is not available (pip install eth-account)",
        );
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/verify-sig.py");
    for i in 0..4u8 {
        let key = Key::random().unwrap();
        let hash = keccak256([i; 3]);
        let sig = tools::sign(&hash, &key).unwrap();
        let run = |addr: String| {
            Command::new("python3")
                .args([script, &format!("{hash:#x}"), &sig, &addr])
                .output()
                .unwrap()
        };
        let good = run(format!("{:#x}", key.address()));
        assert!(
            good.status.success(),
            "{}",
            String::from_utf8_lossy(&good.stdout)
        );
        let bad = run(format!("{:#x}", Address::repeat_byte(i)));
        assert_eq!(bad.status.code(), Some(1));
    }
}

#[test]
fn keystores_written_by_eth_account_load() {
    // Generated with eth-account 0.14: Account.encrypt(key, "rigbench-test", kdf=..., iterations=1024).
    let pbkdf2 = r#"{"address": "2c7536E3605D9C16a7a3D7b1898e529396a65c23", "crypto": {"cipher": "aes-128-ctr", "cipherparams": {"iv": "d8108d5cd36c91cd4a1f2979fcb7990c"}, "ciphertext": "7d48cfce1d91e0c691347bfe56aa1a015c88bc9ba21717045c2adb4e65097018", "kdf": "pbkdf2", "kdfparams": {"c": 1024, "dklen": 32, "prf": "hmac-sha256", "salt": "7a48a18f9ed1c05f7abc89ec3e717622"}, "mac": "c2eb0989b57a14480ed7c21058f78a21bdaa8fb34efd259d8fba37dc4e3e133d"}, "id": "a9fc4a63-c1af-4749-9389-95e4d0450b86", "version": 3}"#;
    let scrypt = r#"{"address": "2c7536E3605D9C16a7a3D7b1898e529396a65c23", "crypto": {"cipher": "aes-128-ctr", "cipherparams": {"iv": "52f883aec58d479991353e698fdb5de4"}, "ciphertext": "550d77649049d19a8cee8df703e0cc61f170563105071911c7eb62ffb84094c6", "kdf": "scrypt", "kdfparams": {"dklen": 32, "n": 1024, "r": 8, "p": 1, "salt": "4223918d0a9ba062158a031fd5410930"}, "mac": "09a8d071f3c352dcaf5c8623e3f56834b827f606a8b6769cb187b08078517fea"}, "id": "19e2c689-74f4-403a-96ad-01d9d1b98e60", "version": 3}"#;
    let want: Address = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
        .parse()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, json) in [("pbkdf2.json", pbkdf2), ("scrypt.json", scrypt)] {
        let path = dir.path().join(name);
        std::fs::write(&path, json).unwrap();
        let key = tools::load_key(None, Some(&path), Some("rigbench-test".into())).unwrap();
        assert_eq!(key.address(), want, "{name}");
        let err = tools::load_key(None, Some(&path), Some("wrong".into())).unwrap_err();
        assert!(err.to_string().contains("cannot decrypt keystore"), "{err}");
        assert!(!format!("{key:?}").contains("4c0883a6"));
    }
}
