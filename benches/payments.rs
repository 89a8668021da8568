//! Payments hot paths: ticket hash, signing, full recipient validation of one ticket (HMAC of
//! recipientRand, hash, signature recovery, nonce and reserve checks, win check) and the win
//! check alone. Issue 3 asks validation to reach 20,000 tickets/s per core; the throughput
//! line criterion prints for `validate_one_ticket` is that figure (single-threaded).

use std::hint::black_box;

use alloy_primitives::{Address, Bytes, B256, U256};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rigbench::chain::{RoundInfo, SenderFunds};
use rigbench::payments::params::{Payment, PriceInfo, TicketSenderParams};
use rigbench::payments::recipient::{Recipient, RecipientConfig, SenderView};
use rigbench::payments::sig::{self, Key};
use rigbench::payments::ticket::{self, Ticket};

fn sample_ticket(sender: Address) -> Ticket {
    Ticket {
        recipient: Address::repeat_byte(0xee),
        sender,
        face_value_wei: U256::from(1_200_000_000_000_000u64),
        win_prob: U256::MAX / U256::from(150_000u64),
        sender_nonce: 7,
        recipient_rand_hash: B256::repeat_byte(0x42),
        creation_round: U256::from(1234u64),
        creation_round_block_hash: B256::repeat_byte(0x17),
    }
}

fn bench(c: &mut Criterion) {
    let key = Key::from_bytes(&[7; 32]).expect("bench key");
    let t = sample_ticket(key.address());
    let hash = t.hash();
    let sig = key.sign_hash(&hash).expect("sign");

    let mut g = c.benchmark_group("payments");
    g.throughput(Throughput::Elements(1));
    g.bench_function("ticket_hash", |b| b.iter(|| black_box(&t).hash()));
    g.bench_function("sign", |b| b.iter(|| key.sign_hash(black_box(&hash))));
    g.bench_function("recover_signer", |b| {
        b.iter(|| sig::recover(black_box(&hash), black_box(&sig)))
    });
    g.bench_function("win_check", |b| {
        b.iter(|| ticket::wins(black_box(&sig), black_box(U256::from(99u64)), t.win_prob))
    });

    // Full validation: one-ticket payments with fresh nonces through the real recipient. A new
    // set of parameters every 600 tickets keeps nonces within Livepeer's limit.
    let recipient = Recipient::with_secret(
        Address::repeat_byte(0xee),
        [9; 32],
        RecipientConfig {
            ticket_ev_wei: U256::from(8_000_000_000u64),
            redeem_gas_price_wei: U256::from(10_000_000u64),
            redeem_gas_estimate: 1_200_000,
            max_face_value_wei: None,
            price: PriceInfo::per_pixel(U256::from(1000u64)),
        },
    );
    recipient
        .register_session(0, key.address())
        .expect("session");
    let view = SenderView {
        funds: SenderFunds {
            deposit: U256::from(10u128.pow(18)),
            reserve: U256::from(10u128.pow(18)),
            withdraw_round: U256::ZERO,
        },
        active_set_size: U256::from(100u64),
        ..SenderView::default()
    };
    let round = RoundInfo {
        round: U256::from(3u64),
        block_hash: B256::repeat_byte(3),
        active_set_size: U256::from(100u64),
    };
    // Signing happens in the (untimed) setup of each iteration; only validation is timed.
    let mut params = recipient
        .ticket_params(key.address(), 100, &round, &view)
        .expect("params");
    let mut nonce = 0u32;
    let mut next_payment = || {
        if nonce == 600 {
            params = recipient
                .ticket_params(key.address(), 100, &round, &view)
                .expect("params");
            nonce = 0;
        }
        nonce += 1;
        let mut p = Payment {
            sender: key.address(),
            ticket_params: params.clone(),
            tickets: vec![],
            expected_price: params.price,
        };
        let unsigned = TicketSenderParams {
            sender_nonce: nonce,
            sig: Bytes::new(),
        };
        let sig = key.sign_hash(&p.ticket(&unsigned).hash()).expect("sign");
        p.tickets.push(TicketSenderParams {
            sender_nonce: nonce,
            sig: Bytes::from(sig.to_vec()),
        });
        p
    };
    g.bench_function("validate_one_ticket", |b| {
        b.iter_batched(
            &mut next_payment,
            |p| {
                let v = recipient
                    .receive_payment(0, &p, 101, &view)
                    .expect("validate");
                assert_eq!(v.valid, 1);
                v
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
