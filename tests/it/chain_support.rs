//! Helpers shared by the chain tests: keys and Livepeer tickets built here, independently of
//! `rigbench::payments`, with alloy's signer (EIP-191 personal-sign) and `keccak256`.

use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use rigbench::chain::{Chain, TicketCall};

/// A deterministic secret key from a label.
pub fn secret(label: &str) -> B256 {
    keccak256(format!("rigbench chain test key {label}"))
}

pub fn address(secret: &B256) -> Address {
    PrivateKeySigner::from_bytes(secret).unwrap().address()
}

/// The 64-byte auxData for the chain's current round.
pub fn current_aux_data(chain: &mut dyn Chain) -> Bytes {
    let round = chain.round_info().unwrap();
    aux_data(round.round, round.block_hash)
}

pub fn aux_data(round: U256, block_hash: B256) -> Bytes {
    let mut aux = round.to_be_bytes::<32>().to_vec();
    aux.extend_from_slice(block_hash.as_slice());
    aux.into()
}

/// Livepeer's packed ticket hash.
pub fn ticket_hash(call: &TicketCall) -> B256 {
    let mut packed = Vec::new();
    packed.extend_from_slice(call.recipient.as_slice());
    packed.extend_from_slice(call.sender.as_slice());
    packed.extend_from_slice(&call.face_value.to_be_bytes::<32>());
    packed.extend_from_slice(&call.win_prob.to_be_bytes::<32>());
    packed.extend_from_slice(&call.sender_nonce.to_be_bytes::<32>());
    packed.extend_from_slice(call.recipient_rand_hash.as_slice());
    packed.extend_from_slice(&call.aux_data);
    keccak256(packed)
}

/// EIP-191 personal-sign of a ticket hash: r ‖ s ‖ v with v 27/28.
pub fn sign(secret: &B256, hash: &B256) -> Bytes {
    let signer = PrivateKeySigner::from_bytes(secret).unwrap();
    let sig = signer.sign_message_sync(hash.as_slice()).unwrap();
    Bytes::from(sig.as_bytes().to_vec())
}

/// A signed ticket for the chain's current round; `win_prob` MAX always wins.
pub fn ticket(
    chain: &mut dyn Chain,
    sender_secret: &B256,
    recipient: Address,
    face_value: U256,
    win_prob: U256,
    nonce: u64,
) -> TicketCall {
    let recipient_rand = U256::from_be_bytes(keccak256(format!("rand {nonce} {recipient}")).0);
    let mut call = TicketCall {
        recipient,
        sender: address(sender_secret),
        face_value,
        win_prob,
        sender_nonce: U256::from(nonce),
        recipient_rand_hash: keccak256(recipient_rand.to_be_bytes::<32>()),
        aux_data: current_aux_data(chain),
        sig: Bytes::new(),
        recipient_rand,
    };
    resign(&mut call, sender_secret);
    call
}

/// Signs the ticket again after a field changed.
pub fn resign(call: &mut TicketCall, secret: &B256) {
    call.sig = sign(secret, &ticket_hash(call));
}

pub fn eth(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18))
}
