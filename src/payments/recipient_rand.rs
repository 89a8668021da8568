//! recipientRand: the orchestrator's secret per-parameters random number, derived by HMAC so it
//! never has to be stored, and its public commitment recipientRandHash.
//!
//! Source: go-livepeer `pm/recipient.go` (`recipient.rand`), livepeer-facts.md §3.

use alloy_primitives::{keccak256, Address, B256, U256};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Everything the HMAC covers besides the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RandInputs<'a> {
    pub seed: U256,
    pub sender: Address,
    pub face_value_wei: U256,
    pub win_prob: U256,
    pub expiration_block: U256,
    /// Price as a reduced fraction, wei per pixel: numerator and denominator.
    pub price_num: U256,
    pub price_denom: U256,
    /// creationRound ‖ creationRoundBlockHash, or empty.
    pub aux_data: &'a [u8],
}

/// recipientRand = HMAC-SHA256(secret, seed ‖ sender ‖ faceValue ‖ winProb ‖ expirationBlock ‖
/// priceNum ‖ priceDenom ‖ auxData), integers as minimal big-endian bytes (Go's `big.Int.Bytes`:
/// zero is empty).
pub fn recipient_rand(secret: &[u8; 32], inputs: &RandInputs<'_>) -> U256 {
    // HMAC zero-pads keys shorter than its 64-byte block, so a padded array is the same key
    // and needs no fallible length check.
    let mut key = [0u8; 64];
    key[..32].copy_from_slice(secret);
    let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new(&key.into());
    mac.update(&inputs.seed.to_be_bytes_trimmed_vec());
    mac.update(inputs.sender.as_slice());
    mac.update(&inputs.face_value_wei.to_be_bytes_trimmed_vec());
    mac.update(&inputs.win_prob.to_be_bytes_trimmed_vec());
    mac.update(&inputs.expiration_block.to_be_bytes_trimmed_vec());
    mac.update(&inputs.price_num.to_be_bytes_trimmed_vec());
    mac.update(&inputs.price_denom.to_be_bytes_trimmed_vec());
    mac.update(inputs.aux_data);
    let out: [u8; 32] = mac.finalize().into_bytes().into();
    U256::from_be_bytes(out)
}

/// recipientRandHash = keccak256(uint256(recipientRand)), as the broker checks it.
pub fn recipient_rand_hash(recipient_rand: U256) -> B256 {
    keccak256(recipient_rand.to_be_bytes::<32>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(aux: &[u8]) -> RandInputs<'_> {
        RandInputs {
            seed: U256::from(0x0102u64),
            sender: Address::repeat_byte(0xaa),
            face_value_wei: U256::from(1000u64),
            win_prob: U256::from(5u64),
            expiration_block: U256::from(140u64),
            price_num: U256::from(1000u64),
            price_denom: U256::from(1u64),
            aux_data: aux,
        }
    }

    #[test]
    fn matches_hmac_over_minimal_bytes() {
        // The same message assembled by hand, as Go's big.Int.Bytes() would.
        let secret = [9u8; 32];
        let aux = [3u8; 64];
        let mut msg = vec![0x01, 0x02];
        msg.extend_from_slice(&[0xaa; 20]);
        msg.extend_from_slice(&[0x03, 0xe8]);
        msg.push(5);
        msg.push(140);
        msg.extend_from_slice(&[0x03, 0xe8]);
        msg.push(1);
        msg.extend_from_slice(&aux);
        let mut mac = Hmac::<Sha256>::new_from_slice(&secret).unwrap();
        mac.update(&msg);
        let want = U256::from_be_slice(&mac.finalize().into_bytes());
        assert_eq!(recipient_rand(&secret, &inputs(&aux)), want);
    }

    #[test]
    fn zero_integers_contribute_no_bytes() {
        let secret = [1u8; 32];
        let a = RandInputs {
            seed: U256::ZERO,
            win_prob: U256::ZERO,
            ..inputs(&[])
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(&secret).unwrap();
        mac.update(&[0xaa; 20]);
        mac.update(&[0x03, 0xe8, 140, 0x03, 0xe8, 1]);
        let want = U256::from_be_slice(&mac.finalize().into_bytes());
        assert_eq!(recipient_rand(&secret, &a), want);
    }

    #[test]
    fn every_input_changes_the_rand() {
        let secret = [1u8; 32];
        let aux = [3u8; 64];
        let base = recipient_rand(&secret, &inputs(&aux));
        let one = U256::from(1u64);
        let b = inputs(&aux);
        let variants = [
            RandInputs {
                seed: b.seed + one,
                ..b
            },
            RandInputs {
                sender: Address::repeat_byte(0xab),
                ..b
            },
            RandInputs {
                face_value_wei: b.face_value_wei + one,
                ..b
            },
            RandInputs {
                win_prob: b.win_prob + one,
                ..b
            },
            RandInputs {
                expiration_block: b.expiration_block + one,
                ..b
            },
            RandInputs {
                price_num: b.price_num + one,
                ..b
            },
            RandInputs {
                price_denom: b.price_denom + one,
                ..b
            },
            RandInputs { aux_data: &[], ..b },
        ];
        for v in variants {
            assert_ne!(recipient_rand(&secret, &v), base, "{v:?}");
        }
        assert_ne!(recipient_rand(&[2u8; 32], &b), base);
    }

    #[test]
    fn hash_is_keccak_of_32_bytes() {
        let r = U256::from(7u64);
        let mut b = [0u8; 32];
        b[31] = 7;
        assert_eq!(recipient_rand_hash(r), keccak256(b));
    }
}
