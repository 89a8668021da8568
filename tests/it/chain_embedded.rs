//! The TicketBroker on the embedded EVM: funding, redemption, every check the broker makes, the
//! reserve split, batch redemption, and the state surviving a drop and reopen.

use crate::chain_support::*;
use alloy_primitives::{Bytes, B256, U256};
use rigbench::chain::embedded::{EmbeddedChain, EmbeddedConfig, STATE_FILE_NAME};
use rigbench::chain::{Chain, TicketCall};

fn small_rounds(active_set_size: u64) -> EmbeddedConfig {
    EmbeddedConfig {
        round_length_blocks: 10,
        active_set_size,
        ..EmbeddedConfig::default()
    }
}

/// A chain with one funded sender; returns (chain, sender secret, recipient).
fn funded(cfg: EmbeddedConfig) -> (EmbeddedChain, B256, alloy_primitives::Address) {
    let mut chain = EmbeddedChain::new(cfg).unwrap();
    let sender = secret("sender");
    let out = chain
        .fund_deposit_and_reserve(&sender, eth(1), eth(1))
        .unwrap();
    assert_eq!(out.revert_reason, None);
    (chain, sender, address(&secret("recipient")))
}

#[test]
fn deploy_and_fund() {
    let (mut chain, sender, _) = funded(EmbeddedConfig::default());
    assert_eq!(chain.kind(), "embedded");
    assert_eq!(chain.chain_id(), 1337);
    assert!(!chain.broker().is_zero());
    let funds = chain.sender_funds(address(&sender)).unwrap();
    assert_eq!(funds.deposit, eth(1));
    assert_eq!(funds.reserve, eth(1));
    assert_eq!(funds.withdraw_round, U256::ZERO);
    let round = chain.round_info().unwrap();
    assert_eq!(round.round, U256::ZERO);
    assert!(!round.block_hash.is_zero());
    assert_eq!(round.active_set_size, U256::from(100));
    assert!(chain.block_number().unwrap() >= 2);
}

#[test]
fn funding_gas_is_measured_and_includes_intrinsic_gas() {
    let mut chain = EmbeddedChain::new(EmbeddedConfig::default()).unwrap();
    let out = chain
        .fund_deposit_and_reserve(&secret("s"), eth(1), eth(2))
        .unwrap();
    assert_eq!(out.revert_reason, None);
    assert!(out.gas_used > 21_000, "gas {}", out.gas_used);
    assert_eq!(out.gas_price_wei, 1_000_000_000);
}

#[test]
fn redeems_a_winning_ticket_and_pays_the_recipient() {
    let (mut chain, sender, recipient) = funded(EmbeddedConfig::default());
    let face = U256::from(1_000_000_000_000_000u64);
    let call = ticket(&mut chain, &sender, recipient, face, U256::MAX, 1);
    let before = chain.balance_wei(recipient);
    let out = chain.redeem_winning_ticket(&call).unwrap();
    assert_eq!(out.revert_reason, None);
    eprintln!("measured redemption gas: {}", out.gas_used);
    // A redemption does real work (signature recovery, storage writes, a transfer).
    assert!(
        (40_000..400_000).contains(&out.gas_used),
        "gas {}",
        out.gas_used
    );
    assert!(chain.is_ticket_used(ticket_hash(&call)).unwrap());
    let funds = chain.sender_funds(call.sender).unwrap();
    assert_eq!(funds.deposit, eth(1) - face);
    assert_eq!(funds.reserve, eth(1));
    // The recipient was credited gas money first if it had none, then paid face value and gas.
    // The recipient had nothing: it was credited the gas limit's cost (2M gas at 1 gwei).
    assert_eq!(before, U256::ZERO);
    let credited = U256::from(2_000_000u64) * U256::from(1_000_000_000u64);
    let gas_cost = U256::from(out.gas_used) * U256::from(out.gas_price_wei);
    assert_eq!(chain.balance_wei(recipient), credited - gas_cost + face);
}

#[test]
fn the_contract_hashes_tickets_as_the_tests_do() {
    let (mut chain, sender, recipient) = funded(EmbeddedConfig::default());
    for nonce in [0u64, 1, 600] {
        let call = ticket(
            &mut chain,
            &sender,
            recipient,
            U256::from(7),
            U256::from(9),
            nonce,
        );
        assert_eq!(
            chain.ticket_hash_on_chain(&call).unwrap(),
            ticket_hash(&call)
        );
    }
    let mut empty_aux = ticket(&mut chain, &sender, recipient, U256::MAX, U256::MAX, 1);
    empty_aux.aux_data = Bytes::new();
    assert_eq!(
        chain.ticket_hash_on_chain(&empty_aux).unwrap(),
        ticket_hash(&empty_aux)
    );
}

#[test]
fn replayed_ticket_is_refused() {
    let (mut chain, sender, recipient) = funded(EmbeddedConfig::default());
    let call = ticket(
        &mut chain,
        &sender,
        recipient,
        U256::from(1000),
        U256::MAX,
        1,
    );
    assert_eq!(
        chain.redeem_winning_ticket(&call).unwrap().revert_reason,
        None
    );
    let again = chain.redeem_winning_ticket(&call).unwrap();
    assert_eq!(again.revert_reason.as_deref(), Some("ticket is used"));
    assert!(
        again.gas_used > 21_000,
        "a reverted redemption still costs gas"
    );
}

#[test]
fn every_check_refuses_with_livepeers_reason() {
    type Mutation = fn(&mut TicketCall, &B256);
    let cases: Vec<(&str, Mutation, &str)> = vec![
        (
            "zero recipient",
            |c, s| {
                c.recipient = Default::default();
                resign(c, s)
            },
            "ticket recipient is null address",
        ),
        (
            "zero sender",
            |c, _| c.sender = Default::default(),
            "ticket sender is null address",
        ),
        (
            "empty auxData",
            |c, s| {
                c.aux_data = Bytes::new();
                resign(c, s)
            },
            "invalid length for ticket auxData: must be 64 bytes",
        ),
        (
            "auxData of 63 bytes",
            |c, s| {
                c.aux_data = c.aux_data[..63].to_vec().into();
                resign(c, s)
            },
            "invalid length for ticket auxData: must be 64 bytes",
        ),
        (
            "wrong block hash",
            |c, s| {
                let mut a = c.aux_data.to_vec();
                a[63] ^= 1;
                c.aux_data = a.into();
                resign(c, s)
            },
            "ticket creationRoundBlockHash invalid for creationRound",
        ),
        (
            "future round",
            |c, s| {
                let mut a = c.aux_data.to_vec();
                a[31] = 9;
                c.aux_data = a.into();
                resign(c, s)
            },
            "ticket creationRound does not have a block hash",
        ),
        (
            "wrong recipientRand",
            |c, _| c.recipient_rand += U256::from(1),
            "recipientRand does not match recipientRandHash",
        ),
        (
            "signature of 64 bytes",
            |c, _| c.sig = c.sig[..64].to_vec().into(),
            "INVALID_SIGNATURE_LENGTH",
        ),
        (
            "v = 29",
            |c, _| {
                let mut s = c.sig.to_vec();
                s[64] = 29;
                c.sig = s.into()
            },
            "ECDSA: invalid signature 'v' value",
        ),
        (
            "v = 0",
            |c, _| {
                let mut s = c.sig.to_vec();
                s[64] -= 27;
                c.sig = s.into()
            },
            "ECDSA: invalid signature 'v' value",
        ),
        (
            "high s",
            |c, _| c.sig = high_s(&c.sig),
            "ECDSA: invalid signature 's' value",
        ),
        (
            "signed by another key",
            |c, _| resign(c, &secret("another key")),
            "invalid signature over ticket hash",
        ),
        (
            "tampered face value",
            |c, _| c.face_value += U256::from(1),
            "invalid signature over ticket hash",
        ),
        (
            "losing ticket",
            |c, s| {
                c.win_prob = U256::ZERO;
                resign(c, s)
            },
            "ticket did not win",
        ),
    ];
    let (mut chain, sender, recipient) = funded(EmbeddedConfig::default());
    for (i, (name, mutate, want)) in cases.into_iter().enumerate() {
        let mut call = ticket(
            &mut chain,
            &sender,
            recipient,
            U256::from(1000),
            U256::MAX,
            100 + i as u64,
        );
        mutate(&mut call, &sender);
        let out = chain.redeem_winning_ticket(&call).unwrap();
        assert_eq!(out.revert_reason.as_deref(), Some(want), "case {name}");
        assert!(
            !chain.is_ticket_used(ticket_hash(&call)).unwrap(),
            "case {name}"
        );
    }
}

/// The same signature with s' = n - s and v flipped: valid for ecrecover, refused as malleable.
fn high_s(sig: &Bytes) -> Bytes {
    let n = U256::from_str_radix(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        16,
    )
    .unwrap();
    let s = U256::from_be_slice(&sig[32..64]);
    let mut out = sig.to_vec();
    out[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
    out[64] = if sig[64] == 27 { 28 } else { 27 };
    out.into()
}

#[test]
fn sender_without_deposit_or_reserve_is_refused() {
    let mut chain = EmbeddedChain::new(EmbeddedConfig::default()).unwrap();
    let sender = secret("broke sender");
    let call = ticket(
        &mut chain,
        &sender,
        address(&secret("r")),
        U256::from(1000),
        U256::MAX,
        1,
    );
    let out = chain.redeem_winning_ticket(&call).unwrap();
    assert_eq!(
        out.revert_reason.as_deref(),
        Some("sender deposit and reserve are zero")
    );
}

#[test]
fn tickets_expire_after_two_rounds() {
    let (mut chain, sender, recipient) = funded(small_rounds(1));
    let call = ticket(
        &mut chain,
        &sender,
        recipient,
        U256::from(1000),
        U256::MAX,
        1,
    );
    let round = chain.round_info().unwrap().round;
    let to_next_round = 10 - chain.block_number().unwrap() % 10;
    chain.mine_blocks(to_next_round + 10).unwrap();
    assert_eq!(chain.round_info().unwrap().round, round + U256::from(2));
    let out = chain.redeem_winning_ticket(&call).unwrap();
    assert_eq!(out.revert_reason.as_deref(), Some("ticket is expired"));
}

#[test]
fn a_ticket_from_the_previous_round_is_still_redeemable() {
    let (mut chain, sender, recipient) = funded(small_rounds(1));
    let call = ticket(
        &mut chain,
        &sender,
        recipient,
        U256::from(1000),
        U256::MAX,
        1,
    );
    let to_next_round = 10 - chain.block_number().unwrap() % 10;
    chain.mine_blocks(to_next_round).unwrap();
    assert_eq!(
        chain.redeem_winning_ticket(&call).unwrap().revert_reason,
        None
    );
}

#[test]
fn unlocked_sender_is_refused() {
    let (mut chain, sender, recipient) = funded(small_rounds(1));
    assert_eq!(chain.unlock(&sender).unwrap().revert_reason, None);
    let withdraw_round = chain.sender_funds(address(&sender)).unwrap().withdraw_round;
    assert_eq!(
        withdraw_round,
        chain.round_info().unwrap().round + U256::from(2)
    );
    // Still locked during the unlock period: redeemable.
    let call = ticket(
        &mut chain,
        &sender,
        recipient,
        U256::from(1000),
        U256::MAX,
        1,
    );
    assert_eq!(
        chain.redeem_winning_ticket(&call).unwrap().revert_reason,
        None
    );
    chain.mine_blocks(20).unwrap();
    let call = ticket(
        &mut chain,
        &sender,
        recipient,
        U256::from(1000),
        U256::MAX,
        2,
    );
    let out = chain.redeem_winning_ticket(&call).unwrap();
    assert_eq!(out.revert_reason.as_deref(), Some("sender is unlocked"));
}

#[test]
fn face_value_beyond_the_deposit_is_paid_from_the_reserve_share() {
    // Active set of 4: each recipient may claim a quarter of the reserve per round.
    let mut chain = EmbeddedChain::new(small_rounds(4)).unwrap();
    let sender = secret("sender");
    let deposit = U256::from(1_000u64);
    let reserve = U256::from(4_000_000u64);
    chain
        .fund_deposit_and_reserve(&sender, deposit, reserve)
        .unwrap();
    let recipient = address(&secret("recipient"));
    let face = U256::from(5_000_000u64);
    let call = ticket(&mut chain, &sender, recipient, face, U256::MAX, 1);
    assert_eq!(
        chain.redeem_winning_ticket(&call).unwrap().revert_reason,
        None
    );
    let funds = chain.sender_funds(call.sender).unwrap();
    assert_eq!(funds.deposit, U256::ZERO);
    assert_eq!(funds.reserve, reserve - reserve / U256::from(4));
    // The share for this round is spent: the next winner still redeems (the reserve is not
    // empty) but is paid nothing more.
    let call = ticket(&mut chain, &sender, recipient, face, U256::MAX, 2);
    assert_eq!(
        chain.redeem_winning_ticket(&call).unwrap().revert_reason,
        None
    );
    assert_eq!(
        chain.sender_funds(call.sender).unwrap().reserve,
        reserve - reserve / U256::from(4)
    );
}

#[test]
fn batch_redemption_skips_failing_tickets() {
    let (mut chain, sender, recipient) = funded(EmbeddedConfig::default());
    let a = ticket(&mut chain, &sender, recipient, U256::from(10), U256::MAX, 1);
    let b = ticket(&mut chain, &sender, recipient, U256::from(10), U256::MAX, 2);
    let mut bad = ticket(&mut chain, &sender, recipient, U256::from(10), U256::MAX, 3);
    bad.recipient_rand += U256::from(1);
    let out = chain
        .batch_redeem_winning_tickets(&[a.clone(), bad.clone(), b.clone()])
        .unwrap();
    assert_eq!(out.revert_reason, None);
    assert!(chain.is_ticket_used(ticket_hash(&a)).unwrap());
    assert!(chain.is_ticket_used(ticket_hash(&b)).unwrap());
    assert!(!chain.is_ticket_used(ticket_hash(&bad)).unwrap());
    assert_eq!(
        chain.sender_funds(a.sender).unwrap().deposit,
        eth(1) - U256::from(20)
    );
}

#[test]
fn state_survives_drop_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = EmbeddedConfig::default();
    let sender = secret("sender");
    let recipient = address(&secret("recipient"));
    let (pending, broker, block) = {
        let mut chain = EmbeddedChain::open_or_create(dir.path(), cfg.clone()).unwrap();
        chain
            .fund_deposit_and_reserve(&sender, eth(1), eth(1))
            .unwrap();
        let first = ticket(&mut chain, &sender, recipient, U256::from(5), U256::MAX, 1);
        assert_eq!(
            chain.redeem_winning_ticket(&first).unwrap().revert_reason,
            None
        );
        let pending = ticket(&mut chain, &sender, recipient, U256::from(7), U256::MAX, 2);
        (pending, chain.broker(), chain.block_number().unwrap())
    };
    assert!(dir.path().join(STATE_FILE_NAME).exists());
    let mut chain = EmbeddedChain::open_or_create(dir.path(), cfg.clone()).unwrap();
    assert_eq!(chain.broker(), broker);
    assert_eq!(chain.block_number().unwrap(), block);
    assert_eq!(
        chain.sender_funds(pending.sender).unwrap().deposit,
        eth(1) - U256::from(5)
    );
    assert_eq!(
        chain.redeem_winning_ticket(&pending).unwrap().revert_reason,
        None
    );
    drop(chain);
    let mut chain = EmbeddedChain::open_or_create(dir.path(), cfg).unwrap();
    assert!(chain.is_ticket_used(ticket_hash(&pending)).unwrap());
    let again = chain.redeem_winning_ticket(&pending).unwrap();
    assert_eq!(again.revert_reason.as_deref(), Some("ticket is used"));
}

#[test]
fn reopening_with_other_round_settings_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(EmbeddedChain::open_or_create(dir.path(), EmbeddedConfig::default()).unwrap());
    let err = EmbeddedChain::open_or_create(dir.path(), small_rounds(3)).unwrap_err();
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("round length"), "{err}");
}

#[test]
fn a_corrupt_state_file_is_refused_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(STATE_FILE_NAME), b"{ not json").unwrap();
    let err = EmbeddedChain::open_or_create(dir.path(), EmbeddedConfig::default()).unwrap_err();
    assert!(err.to_string().contains(STATE_FILE_NAME), "{err}");
}

#[test]
fn tickets_made_by_payments_redeem_on_the_broker() {
    use rigbench::payments::sig::Key;
    use rigbench::payments::ticket::Ticket;
    let mut chain = EmbeddedChain::new(EmbeddedConfig::default()).unwrap();
    let key = Key::from_bytes(&secret("payments sender").0).unwrap();
    chain
        .fund_deposit_and_reserve(&key.secret_bytes(), eth(1), eth(1))
        .unwrap();
    let round = chain.round_info().unwrap();
    let recipient_rand = U256::from(424242u64);
    let ticket = Ticket {
        recipient: address(&secret("payments recipient")),
        sender: key.address(),
        face_value_wei: U256::from(1_000_000u64),
        win_prob: U256::MAX,
        sender_nonce: 1,
        recipient_rand_hash: alloy_primitives::keccak256(recipient_rand.to_be_bytes::<32>()),
        creation_round: round.round,
        creation_round_block_hash: round.block_hash,
    };
    let sig = key.sign_hash(&ticket.hash()).unwrap();
    let call = ticket.to_call(&sig, recipient_rand);
    assert_eq!(chain.ticket_hash_on_chain(&call).unwrap(), ticket.hash());
    assert_eq!(ticket_hash(&call), ticket.hash());
    let out = chain.redeem_winning_ticket(&call).unwrap();
    assert_eq!(out.revert_reason, None);
    assert!(chain.is_ticket_used(ticket.hash()).unwrap());
}

#[test]
fn funding_unlock_cancel_and_withdraw() {
    use alloy_sol_types::SolCall;
    use rigbench::chain::broker::TicketBroker;
    let mut chain = EmbeddedChain::new(small_rounds(1)).unwrap();
    let sender = secret("exit sender");
    let who = address(&sender);
    let call = |c: &mut EmbeddedChain, value: U256, data: Vec<u8>| {
        c.call_broker(&sender, value, data.into())
            .unwrap()
            .revert_reason
    };

    let cases: Vec<(&str, U256, Vec<u8>, Option<&str>)> = vec![
        (
            "withdraw with nothing",
            U256::ZERO,
            TicketBroker::withdrawCall {}.abi_encode(),
            Some("sender deposit and reserve are zero"),
        ),
        (
            "unlock with nothing",
            U256::ZERO,
            TicketBroker::unlockCall {}.abi_encode(),
            Some("sender deposit and reserve are zero"),
        ),
        (
            "fundDeposit",
            U256::from(100),
            TicketBroker::fundDepositCall {}.abi_encode(),
            None,
        ),
        (
            "fundReserve",
            U256::from(50),
            TicketBroker::fundReserveCall {}.abi_encode(),
            None,
        ),
        (
            "value not the sum",
            U256::from(3),
            TicketBroker::fundDepositAndReserveCall {
                _depositAmount: U256::from(1),
                _reserveAmount: U256::from(1),
            }
            .abi_encode(),
            Some("msg.value does not equal sum of deposit amount and reserve amount"),
        ),
        (
            "cancel without unlock",
            U256::ZERO,
            TicketBroker::cancelUnlockCall {}.abi_encode(),
            Some("no unlock request in progress"),
        ),
        (
            "withdraw while locked",
            U256::ZERO,
            TicketBroker::withdrawCall {}.abi_encode(),
            Some("no unlock request in progress"),
        ),
        (
            "unlock",
            U256::ZERO,
            TicketBroker::unlockCall {}.abi_encode(),
            None,
        ),
        (
            "unlock twice",
            U256::ZERO,
            TicketBroker::unlockCall {}.abi_encode(),
            Some("unlock already initiated"),
        ),
        (
            "withdraw too early",
            U256::ZERO,
            TicketBroker::withdrawCall {}.abi_encode(),
            Some("account is locked"),
        ),
        (
            "cancel",
            U256::ZERO,
            TicketBroker::cancelUnlockCall {}.abi_encode(),
            None,
        ),
        (
            "unlock again",
            U256::ZERO,
            TicketBroker::unlockCall {}.abi_encode(),
            None,
        ),
    ];
    for (name, value, data, want) in cases {
        assert_eq!(
            call(&mut chain, value, data).as_deref(),
            want,
            "case {name}"
        );
    }
    let funds = chain.sender_funds(who).unwrap();
    assert_eq!(
        (funds.deposit, funds.reserve),
        (U256::from(100), U256::from(50))
    );
    assert!(funds.withdraw_round > U256::ZERO);

    chain.mine_blocks(20).unwrap();
    let before = chain.balance_wei(who);
    let out = chain
        .call_broker(
            &sender,
            U256::ZERO,
            TicketBroker::withdrawCall {}.abi_encode().into(),
        )
        .unwrap();
    assert_eq!(out.revert_reason, None);
    let gas_cost = U256::from(out.gas_used) * U256::from(out.gas_price_wei);
    // The faucet first raised the balance to the gas limit's cost (2M gas at 1 gwei) if short.
    let credited = before.max(U256::from(2_000_000u64) * U256::from(1_000_000_000u64));
    assert_eq!(
        chain.balance_wei(who),
        credited - gas_cost + U256::from(150)
    );
    let funds = chain.sender_funds(who).unwrap();
    assert_eq!((funds.deposit, funds.reserve), (U256::ZERO, U256::ZERO));
    // As in Livepeer, withdrawRound stays until the next funding cancels the unlock.
    assert!(funds.withdraw_round > U256::ZERO);
    let out = chain
        .call_broker(
            &sender,
            U256::from(5),
            TicketBroker::fundDepositCall {}.abi_encode().into(),
        )
        .unwrap();
    assert_eq!(out.revert_reason, None);
    assert_eq!(chain.sender_funds(who).unwrap().withdraw_round, U256::ZERO);
}

#[test]
fn a_round_touched_late_is_initialised_and_its_tickets_redeem() {
    // 300 empty blocks into a new round, the hash of the block before its start is beyond
    // BLOCKHASH's 256-block reach: round_info stores one with initializeRound().
    let cfg = EmbeddedConfig {
        round_length_blocks: 1000,
        active_set_size: 1,
        ..EmbeddedConfig::default()
    };
    let mut chain = EmbeddedChain::new(cfg).unwrap();
    let sender = secret("late sender");
    chain
        .fund_deposit_and_reserve(&sender, eth(1), eth(1))
        .unwrap();
    let to_next_round = 1000 - chain.block_number().unwrap() % 1000;
    chain.mine_blocks(to_next_round + 300).unwrap();
    let round = chain.round_info().unwrap();
    assert_eq!(round.round, U256::from(1));
    assert!(!round.block_hash.is_zero());
    assert_eq!(
        chain.round_info().unwrap(),
        round,
        "stored, so it stays the same"
    );
    let call = ticket(
        &mut chain,
        &sender,
        address(&secret("late recipient")),
        U256::from(1),
        U256::MAX,
        1,
    );
    assert_eq!(
        chain.redeem_winning_ticket(&call).unwrap().revert_reason,
        None
    );
}
