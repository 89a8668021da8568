//! One winning-ticket redemption on the embedded EVM (revm): encoding, signature recovery in the
//! ecrecover precompile, storage writes, the ETH transfer, state commit. The state is kept in
//! memory (no state directory), so no disk time is counted.

use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use alloy_primitives::{keccak256, Bytes, U256};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use rigbench::chain::embedded::{EmbeddedChain, EmbeddedConfig};
use rigbench::chain::{Chain, TicketCall};
use std::time::Duration;

fn signed_ticket(signer: &PrivateKeySigner, aux: &Bytes, nonce: u64) -> TicketCall {
    let recipient_rand = U256::from(nonce) + U256::from(1_000_000u64);
    let mut call = TicketCall {
        recipient: alloy_primitives::Address::repeat_byte(0x11),
        sender: signer.address(),
        face_value: U256::from(1_000u64),
        win_prob: U256::MAX,
        sender_nonce: U256::from(nonce),
        recipient_rand_hash: keccak256(recipient_rand.to_be_bytes::<32>()),
        aux_data: aux.clone(),
        sig: Bytes::new(),
        recipient_rand,
    };
    let mut packed = Vec::new();
    packed.extend_from_slice(call.recipient.as_slice());
    packed.extend_from_slice(call.sender.as_slice());
    packed.extend_from_slice(&call.face_value.to_be_bytes::<32>());
    packed.extend_from_slice(&call.win_prob.to_be_bytes::<32>());
    packed.extend_from_slice(&call.sender_nonce.to_be_bytes::<32>());
    packed.extend_from_slice(call.recipient_rand_hash.as_slice());
    packed.extend_from_slice(&call.aux_data);
    let sig = signer
        .sign_message_sync(keccak256(packed).as_slice())
        .expect("signature");
    call.sig = sig.as_bytes().to_vec().into();
    call
}

fn redemption(c: &mut Criterion) {
    // Rounds far longer than any bench run, so no ticket expires mid-run.
    let cfg = EmbeddedConfig {
        round_length_blocks: 1_000_000_000,
        ..EmbeddedConfig::default()
    };
    let mut chain = EmbeddedChain::new(cfg).expect("embedded chain");
    let sender = keccak256("rigbench bench sender");
    let signer = PrivateKeySigner::from_bytes(&sender).expect("valid key");
    let deposit = U256::from(10u64).pow(U256::from(24));
    chain
        .fund_deposit_and_reserve(&sender, deposit, U256::ZERO)
        .expect("funding");
    let round = chain.round_info().expect("round info");
    let mut aux = round.round.to_be_bytes::<32>().to_vec();
    aux.extend_from_slice(round.block_hash.as_slice());
    let aux = Bytes::from(aux);
    let mut nonce = 0u64;
    let mut group = c.benchmark_group("chain");
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("embedded_redeem_winning_ticket", |b| {
        // A fresh signed ticket per iteration, made outside the timed part.
        b.iter_batched(
            || {
                nonce += 1;
                signed_ticket(&signer, &aux, nonce)
            },
            |call| {
                let out = chain
                    .redeem_winning_ticket(&call)
                    .expect("redemption executes");
                assert_eq!(out.revert_reason, None);
                out
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, redemption);
criterion_main!(benches);
