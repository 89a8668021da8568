//! The Livepeer ticket: its fields, its packed hash, its expected value and the win rule.
//!
//! Source: go-livepeer `pm/ticket.go` and the TicketBroker's `getTicketHash` (Solidity
//! `abi.encodePacked`), as summarised in livepeer-facts.md §3.

use alloy_primitives::{keccak256, Address, Bytes, B256, U256, U512};
use serde::{Deserialize, Serialize};

use crate::chain::TicketCall;

/// One probabilistic micropayment ticket, as the TicketBroker hashes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// The orchestrator who may redeem it.
    pub recipient: Address,
    /// The broadcaster whose deposit and reserve pay it.
    pub sender: Address,
    /// Paid if the ticket wins, wei.
    pub face_value_wei: U256,
    /// Wins when the win hash is below this (a fraction of 2^256 − 1).
    pub win_prob: U256,
    /// Counts up from 1 for each recipientRand.
    pub sender_nonce: u32,
    /// keccak256(uint256(recipientRand)): the orchestrator's commitment.
    pub recipient_rand_hash: B256,
    /// Round the ticket was created in (auxData; zero together with the block hash = no auxData).
    pub creation_round: U256,
    /// Block hash that starts `creation_round` (auxData).
    pub creation_round_block_hash: B256,
}

impl Ticket {
    /// `creationRound ‖ creationRoundBlockHash` (64 bytes), or empty when both are zero, as
    /// go-livepeer's `Ticket.AuxData()` does.
    pub fn aux_data(&self) -> Vec<u8> {
        if self.creation_round.is_zero() && self.creation_round_block_hash.is_zero() {
            return Vec::new();
        }
        let mut aux = Vec::with_capacity(64);
        aux.extend_from_slice(&self.creation_round.to_be_bytes::<32>());
        aux.extend_from_slice(self.creation_round_block_hash.as_slice());
        aux
    }

    /// The bytes the hash covers: `abi.encodePacked(recipient, sender, faceValue, winProb,
    /// senderNonce (as uint256), recipientRandHash, auxData)`.
    pub fn packed(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(20 + 20 + 32 * 4 + 64);
        out.extend_from_slice(self.recipient.as_slice());
        out.extend_from_slice(self.sender.as_slice());
        out.extend_from_slice(&self.face_value_wei.to_be_bytes::<32>());
        out.extend_from_slice(&self.win_prob.to_be_bytes::<32>());
        out.extend_from_slice(&U256::from(self.sender_nonce).to_be_bytes::<32>());
        out.extend_from_slice(self.recipient_rand_hash.as_slice());
        out.extend_from_slice(&self.aux_data());
        out
    }

    /// The ticket hash the sender signs and the broker marks as used.
    pub fn hash(&self) -> B256 {
        keccak256(self.packed())
    }

    /// Expected value of this ticket, wei (rounded down).
    pub fn ev_wei(&self) -> U256 {
        expected_value_wei(self.face_value_wei, self.win_prob)
    }

    /// The call that redeems this ticket, given its signature and the revealed recipientRand.
    pub fn to_call(&self, sig: &[u8], recipient_rand: U256) -> TicketCall {
        TicketCall {
            recipient: self.recipient,
            sender: self.sender,
            face_value: self.face_value_wei,
            win_prob: self.win_prob,
            sender_nonce: U256::from(self.sender_nonce),
            recipient_rand_hash: self.recipient_rand_hash,
            aux_data: Bytes::from(self.aux_data()),
            sig: Bytes::copy_from_slice(sig),
            recipient_rand,
        }
    }
}

/// EV = faceValue × winProb / (2^256 − 1), computed in 512 bits so nothing overflows.
pub fn expected_value_wei(face_value_wei: U256, win_prob: U256) -> U256 {
    let product = U512::from(face_value_wei) * U512::from(win_prob);
    let ev = product / U512::from(U256::MAX);
    // faceValue × winProb / MAX ≤ faceValue, so this always fits.
    U256::from_limbs_slice(&ev.as_limbs()[..4])
}

/// The number the win rule compares: `uint256(keccak256(sig ‖ uint256(recipientRand)))`.
pub fn win_hash(sig: &[u8], recipient_rand: U256) -> U256 {
    let mut buf = Vec::with_capacity(sig.len() + 32);
    buf.extend_from_slice(sig);
    buf.extend_from_slice(&recipient_rand.to_be_bytes::<32>());
    U256::from_be_bytes(keccak256(&buf).0)
}

/// Whether a ticket with this signature and recipientRand wins at `win_prob`.
pub fn wins(sig: &[u8], recipient_rand: U256, win_prob: U256) -> bool {
    win_hash(sig, recipient_rand) < win_prob
}

/// `win_prob` as a fraction of 2^256 − 1 (for reports; not for money).
pub fn win_prob_fraction(win_prob: U256) -> f64 {
    f64::from(win_prob) / f64::from(U256::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zero_ticket() -> Ticket {
        Ticket {
            recipient: Address::ZERO,
            sender: Address::ZERO,
            face_value_wei: U256::ZERO,
            win_prob: U256::ZERO,
            sender_nonce: 0,
            recipient_rand_hash: B256::ZERO,
            creation_round: U256::ZERO,
            creation_round_block_hash: B256::ZERO,
        }
    }

    #[test]
    fn go_livepeer_hash_check() {
        // livepeer-facts.md §3: all fields zero except senderNonce = 1, no auxData.
        let t = Ticket {
            sender_nonce: 1,
            ..zero_ticket()
        };
        assert_eq!(
            format!("{:x}", t.hash()),
            "ce0918ba94518293e9712effbe5fca4f1f431089833a5b8c257cb1e024595f68"
        );
        assert_eq!(t.packed().len(), 20 + 20 + 32 * 4);
    }

    #[test]
    fn aux_data_present_when_either_field_is_set() {
        let cases = [
            (U256::ZERO, B256::ZERO, 0usize),
            (U256::from(1), B256::ZERO, 64),
            (U256::ZERO, B256::repeat_byte(1), 64),
            (U256::from(7), B256::repeat_byte(9), 64),
        ];
        for (round, hash, len) in cases {
            let t = Ticket {
                creation_round: round,
                creation_round_block_hash: hash,
                ..zero_ticket()
            };
            assert_eq!(t.aux_data().len(), len, "round {round} hash {hash}");
            assert_eq!(t.packed().len(), 168 + len);
            if len == 64 {
                assert_eq!(&t.aux_data()[..32], &round.to_be_bytes::<32>());
                assert_eq!(&t.aux_data()[32..], hash.as_slice());
            }
        }
    }

    #[test]
    fn every_field_changes_the_hash() {
        let base = Ticket {
            sender_nonce: 1,
            ..zero_ticket()
        };
        let variants = [
            Ticket {
                recipient: Address::repeat_byte(1),
                ..base.clone()
            },
            Ticket {
                sender: Address::repeat_byte(1),
                ..base.clone()
            },
            Ticket {
                face_value_wei: U256::from(1),
                ..base.clone()
            },
            Ticket {
                win_prob: U256::from(1),
                ..base.clone()
            },
            Ticket {
                sender_nonce: 2,
                ..base.clone()
            },
            Ticket {
                recipient_rand_hash: B256::repeat_byte(1),
                ..base.clone()
            },
            Ticket {
                creation_round: U256::from(1),
                ..base.clone()
            },
        ];
        for v in variants {
            assert_ne!(v.hash(), base.hash(), "{v:?}");
        }
    }

    #[test]
    fn expected_value_table() {
        let max = U256::MAX;
        let cases = [
            (U256::from(1000), max, U256::from(1000)),
            (U256::from(1000), U256::ZERO, U256::ZERO),
            (U256::from(1000), max / U256::from(2), U256::from(499)),
            (max, max, max),
            (
                U256::from(1_200_000_000_000_000u64),
                U256::from(8_000_000_000u64) * (max.div_ceil(U256::from(1_200_000_000_000_000u64))),
                U256::from(8_000_000_000u64),
            ),
        ];
        for (fv, wp, ev) in cases {
            assert_eq!(expected_value_wei(fv, wp), ev, "fv {fv} wp {wp}");
        }
    }

    #[test]
    fn win_rule_is_strictly_below() {
        let sig = [7u8; 65];
        let rand = U256::from(42);
        let h = win_hash(&sig, rand);
        assert!(!wins(&sig, rand, h));
        assert!(wins(&sig, rand, h + U256::from(1)));
        assert!(!wins(&sig, rand, U256::ZERO));
        // keccak256(sig ‖ rand) computed independently of the helper's buffer handling.
        let mut buf = sig.to_vec();
        buf.extend_from_slice(&rand.to_be_bytes::<32>());
        assert_eq!(h, U256::from_be_bytes(keccak256(buf).0));
    }

    #[test]
    fn win_prob_fraction_bounds() {
        assert_eq!(win_prob_fraction(U256::ZERO), 0.0);
        assert_eq!(win_prob_fraction(U256::MAX), 1.0);
        let half = win_prob_fraction(U256::MAX / U256::from(2));
        assert!((half - 0.5).abs() < 1e-12);
    }
}
