//! Library side of `rigbench ticket`: hash, sign, verify and win-check an operator's own
//! tickets, argument parsers whose errors name the argument, and key loading from the
//! environment or an encrypted JSON keystore (Web3 Secret Storage v3, via `eth-keystore`).
//! Keys are never printed or logged.

use std::path::Path;

use alloy_primitives::{hex, Address, B256, U256};

use super::sig::{self, Key, KeyError, SigError};
use super::ticket::{self, Ticket};

/// Why `verify` said no: the signature error, with its own reason.
pub type VerifyError = SigError;

/// A command-line value that could not be parsed; names the argument.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--{arg}: {detail}")]
pub struct ArgError {
    pub arg: &'static str,
    pub detail: String,
}

fn arg_err(arg: &'static str, detail: impl Into<String>) -> ArgError {
    ArgError {
        arg,
        detail: detail.into(),
    }
}

/// A 20-byte address, 0x-hex (any case; a mixed-case checksum is not required).
pub fn parse_address(arg: &'static str, text: &str) -> Result<Address, ArgError> {
    let t = text.trim();
    let digits = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    if digits.len() != 40 {
        return Err(arg_err(
            arg,
            format!(
                "{text:?} is not an address (need 40 hex digits after 0x, got {})",
                digits.len()
            ),
        ));
    }
    let mut bytes = [0u8; 20];
    hex::decode_to_slice(digits, &mut bytes)
        .map_err(|_| arg_err(arg, format!("{text:?} is not hex")))?;
    Ok(Address::from(bytes))
}

/// Why a text is not a uint256 (see [`parse_uint`]); the caller names the flag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UintError {
    #[error("is empty; give a whole number, decimal or 0x-hex")]
    Empty,
    #[error("{0:?} is not a whole number (decimal digits, or 0x followed by hex digits)")]
    NotWhole(String),
    #[error("{0:?} is larger than uint256 (at most 2^256 − 1)")]
    TooLarge(String),
}

/// The one parser of uint256 amounts (wei, win probabilities, nonces): decimal digits, or `0x`/`0X`
/// and hex digits; surrounding spaces ignored; no sign, no fraction, no exponent, no separators.
pub fn parse_uint(text: &str) -> Result<U256, UintError> {
    let t = text.trim();
    let (digits, radix) = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => (h, 16),
        None => (t, 10),
    };
    if t.is_empty() {
        return Err(UintError::Empty);
    }
    let all_digits = !digits.is_empty()
        && digits.chars().all(|c| {
            if radix == 16 {
                c.is_ascii_hexdigit()
            } else {
                c.is_ascii_digit()
            }
        });
    if !all_digits {
        return Err(UintError::NotWhole(text.to_string()));
    }
    U256::from_str_radix(digits, radix).map_err(|_| UintError::TooLarge(text.to_string()))
}

/// A uint256 flag: decimal, or 0x-hex ([`parse_uint`]).
pub fn parse_u256(arg: &'static str, text: &str) -> Result<U256, ArgError> {
    parse_uint(text).map_err(|e| arg_err(arg, e.to_string()))
}

/// A uint32 (sender nonce): decimal or 0x-hex.
pub fn parse_u32(arg: &'static str, text: &str) -> Result<u32, ArgError> {
    let v = parse_u256(arg, text)?;
    u32::try_from(v).map_err(|_| arg_err(arg, format!("{text} does not fit in a uint32")))
}

/// 32 bytes, 0x-hex.
pub fn parse_b256(arg: &'static str, text: &str) -> Result<B256, ArgError> {
    let t = text.trim();
    let digits = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    if digits.len() != 64 {
        return Err(arg_err(
            arg,
            format!(
                "{text:?} is not 32 bytes (need 64 hex digits, got {})",
                digits.len()
            ),
        ));
    }
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(digits, &mut bytes)
        .map_err(|_| arg_err(arg, format!("{text:?} is not hex")))?;
    Ok(B256::from(bytes))
}

/// Arbitrary 0x-hex bytes (`ticket verify` reports a wrong signature length as its verdict).
pub fn parse_bytes(arg: &'static str, text: &str) -> Result<Vec<u8>, ArgError> {
    let t = text.trim();
    let digits = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    hex::decode(digits).map_err(|e| arg_err(arg, format!("{text:?} is not hex: {e}")))
}

/// A ticket signature, 0x-hex: exactly 65 bytes (r ‖ s ‖ v), the length `verify` requires.
pub fn parse_signature(arg: &'static str, text: &str) -> Result<Vec<u8>, ArgError> {
    let bytes = parse_bytes(arg, text)?;
    if bytes.len() != sig::SIG_LEN {
        return Err(arg_err(arg, SigError::BadLength(bytes.len()).to_string()));
    }
    Ok(bytes)
}

/// The ticket hash, 0x-hex. auxData is present when a creation round or its block hash is
/// given and non-zero.
#[allow(clippy::too_many_arguments)]
pub fn hash(
    recipient: Address,
    sender: Address,
    face_value_wei: U256,
    win_prob: U256,
    sender_nonce: u32,
    recipient_rand_hash: B256,
    creation_round: Option<U256>,
    creation_round_block_hash: Option<B256>,
) -> String {
    let t = Ticket {
        recipient,
        sender,
        face_value_wei,
        win_prob,
        sender_nonce,
        recipient_rand_hash,
        creation_round: creation_round.unwrap_or_default(),
        creation_round_block_hash: creation_round_block_hash.unwrap_or_default(),
    };
    format!("{:#x}", t.hash())
}

/// EIP-191 signature of `hash` by `key`, 0x-hex (65 bytes, v 27/28).
pub fn sign(hash: &B256, key: &Key) -> Result<String, SigError> {
    Ok(format!("0x{}", hex::encode(key.sign_hash(hash)?)))
}

/// Ok when `sig` is a valid signature of `hash` by `signer`; otherwise the reason.
pub fn verify(hash: &B256, sig: &[u8], signer: Address) -> Result<(), VerifyError> {
    sig::verify(hash, sig, signer)
}

/// Whether the ticket with this signature wins with this recipientRand and win probability.
pub fn wins(sig: &[u8], recipient_rand: U256, win_prob: U256) -> bool {
    ticket::wins(sig, recipient_rand, win_prob)
}

/// Environment variable holding the orchestrator's key (0x-hex), for rpc chains and
/// `rigbench ticket sign`.
pub const KEY_ENV: &str = "RIGBENCH_PRIVATE_KEY";
/// Environment variable holding the keystore's password.
pub const KEYSTORE_PASSWORD_ENV: &str = "RIGBENCH_KEYSTORE_PASSWORD";

/// The orchestrator's key from [`KEY_ENV`] or `keystore` (password in [`KEYSTORE_PASSWORD_ENV`]).
/// Never printed.
pub fn operator_key(keystore: Option<&Path>) -> Result<Key, KeyError> {
    load_key(
        std::env::var(KEY_ENV).ok(),
        keystore,
        std::env::var(KEYSTORE_PASSWORD_ENV).ok(),
    )
}

/// The key for `rigbench ticket sign` (and rpc chains): from `RIGBENCH_PRIVATE_KEY` (`env`) or
/// from a keystore file with its password (`RIGBENCH_KEYSTORE_PASSWORD`). Exactly one source.
pub fn load_key(
    env: Option<String>,
    keystore: Option<&Path>,
    password: Option<String>,
) -> Result<Key, KeyError> {
    let env = env.filter(|s| !s.trim().is_empty());
    match (env, keystore) {
        (Some(_), Some(_)) => Err(KeyError::Ambiguous),
        (Some(hex_key), None) => Key::from_hex(&hex_key),
        (None, Some(path)) => {
            let password = password.ok_or_else(|| KeyError::NoPassword {
                path: path.display().to_string(),
            })?;
            let secret =
                eth_keystore::decrypt_key(path, password).map_err(|e| KeyError::Keystore {
                    path: path.display().to_string(),
                    detail: e.to_string(),
                })?;
            let bytes: [u8; 32] = secret
                .as_slice()
                .try_into()
                .map_err(|_| KeyError::Keystore {
                    path: path.display().to_string(),
                    detail: format!("the decrypted key is {} bytes, not 32", secret.len()),
                })?;
            Key::from_bytes(&bytes)
        }
        (None, None) => Err(KeyError::Missing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_u256_table() {
        let ok = [
            ("0", U256::ZERO),
            ("1000", U256::from(1000u64)),
            ("0x3e8", U256::from(1000u64)),
            ("0X3E8", U256::from(1000u64)),
            (
                "115792089237316195423570985008687907853269984665640564039457584007913129639935",
                U256::MAX,
            ),
        ];
        for (t, want) in ok {
            assert_eq!(parse_u256("win-prob", t).unwrap(), want, "{t}");
        }
        for bad in [
            "",
            "0x",
            "-1",
            "1e3",
            "12a",
            "115792089237316195423570985008687907853269984665640564039457584007913129639936",
        ] {
            let e = parse_u256("face-value", bad).unwrap_err();
            assert_eq!(e.arg, "face-value", "{bad}");
            assert!(e.to_string().starts_with("--face-value: "), "{e}");
        }
    }

    #[test]
    fn parse_uint_is_the_one_rule() {
        let ok = [
            ("0", U256::ZERO),
            (" 42 ", U256::from(42u64)),
            ("0x10", U256::from(16u64)),
            ("0X10", U256::from(16u64)),
            ("0xFf", U256::from(255u64)),
        ];
        for (t, want) in ok {
            assert_eq!(parse_uint(t).unwrap(), want, "{t:?}");
        }
        let too_large = format!("{}0", U256::MAX);
        assert_eq!(parse_uint("").unwrap_err(), UintError::Empty);
        assert_eq!(parse_uint("  ").unwrap_err(), UintError::Empty);
        for bad in [
            "0x", "-1", "+1", "1.5", "1e18", "1_000", "0x1_0", "0xg", "0x 1",
        ] {
            assert_eq!(
                parse_uint(bad).unwrap_err(),
                UintError::NotWhole(bad.to_string()),
                "{bad:?}"
            );
        }
        let e = parse_uint(&too_large).unwrap_err();
        assert!(e.to_string().contains("larger than uint256"), "{e}");
        let e = parse_uint(&format!("0x1{}", "0".repeat(64))).unwrap_err();
        assert!(matches!(e, UintError::TooLarge(_)), "{e:?}");
    }

    #[test]
    fn signatures_are_65_bytes() {
        assert_eq!(
            parse_signature("sig", &format!("0x{}", "11".repeat(65)))
                .unwrap()
                .len(),
            65
        );
        for bad in [
            "0x0102",
            "0x",
            &format!("0x{}", "11".repeat(64)),
            &format!("0x{}", "11".repeat(66)),
        ] {
            let e = parse_signature("sig", bad).unwrap_err();
            assert_eq!(e.arg, "sig");
            assert!(e.detail.contains("65 bytes"), "{e}");
        }
    }

    #[test]
    fn parse_fixed_width_tables() {
        assert!(parse_address("sender", "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf").is_ok());
        assert!(parse_address("sender", "7e5f4552091a69125d5dfcb7b8c2659029395bdf").is_ok());
        for bad in ["", "0x1234", "0x7E5F4552091A69125d5DfCb7b8C2659029395BdZ"] {
            assert_eq!(parse_address("sender", bad).unwrap_err().arg, "sender");
        }
        assert_eq!(
            parse_b256("hash", &format!("0x{}", "ab".repeat(32))).unwrap(),
            B256::repeat_byte(0xab)
        );
        for bad in ["0x00", &"zz".repeat(32)] {
            assert_eq!(parse_b256("hash", bad).unwrap_err().arg, "hash");
        }
        assert_eq!(parse_u32("sender-nonce", "7").unwrap(), 7);
        assert_eq!(
            parse_u32("sender-nonce", "4294967296").unwrap_err().arg,
            "sender-nonce"
        );
        assert_eq!(parse_bytes("sig", "0x0102").unwrap(), vec![1, 2]);
        assert_eq!(parse_bytes("sig", "0x012").unwrap_err().arg, "sig");
    }

    #[test]
    fn hash_tool_matches_go_livepeer_check() {
        let h = hash(
            Address::ZERO,
            Address::ZERO,
            U256::ZERO,
            U256::ZERO,
            1,
            B256::ZERO,
            None,
            None,
        );
        assert_eq!(
            h,
            "0xce0918ba94518293e9712effbe5fca4f1f431089833a5b8c257cb1e024595f68"
        );
        let with_zero_aux = hash(
            Address::ZERO,
            Address::ZERO,
            U256::ZERO,
            U256::ZERO,
            1,
            B256::ZERO,
            Some(U256::ZERO),
            Some(B256::ZERO),
        );
        assert_eq!(with_zero_aux, h);
        let with_aux = hash(
            Address::ZERO,
            Address::ZERO,
            U256::ZERO,
            U256::ZERO,
            1,
            B256::ZERO,
            Some(U256::from(1u64)),
            None,
        );
        assert_ne!(with_aux, h);
    }

    #[test]
    fn sign_verify_wins_round_trip() {
        let key =
            Key::from_hex("0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
                .unwrap();
        let h = B256::repeat_byte(0x42);
        let sig_hex = sign(&h, &key).unwrap();
        assert_eq!(sig_hex.len(), 2 + 130);
        let sig = parse_bytes("sig", &sig_hex).unwrap();
        verify(&h, &sig, key.address()).unwrap();
        assert_eq!(
            verify(&h, &sig[..64], key.address()).unwrap_err().reason(),
            "bad_sig_length"
        );
        assert!(wins(&sig, U256::from(5u64), U256::MAX));
        assert!(!wins(&sig, U256::from(5u64), U256::ZERO));
    }

    #[test]
    fn load_key_sources() {
        let hex_key =
            "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318".to_string();
        let k = load_key(Some(hex_key.clone()), None, None).unwrap();
        assert_eq!(k.secret_bytes().to_string(), hex_key);
        assert!(matches!(load_key(None, None, None), Err(KeyError::Missing)));
        assert!(matches!(
            load_key(Some("  ".into()), None, None),
            Err(KeyError::Missing)
        ));
        let p = Path::new("/nonexistent/keystore.json");
        assert!(matches!(
            load_key(Some(hex_key.clone()), Some(p), None),
            Err(KeyError::Ambiguous)
        ));
        assert!(matches!(
            load_key(None, Some(p), None),
            Err(KeyError::NoPassword { .. })
        ));
        assert!(matches!(
            load_key(None, Some(p), Some("pw".into())),
            Err(KeyError::Keystore { .. })
        ));
        // A bad key's error does not echo the key.
        let e = load_key(Some("0xnothex".repeat(8)), None, None).unwrap_err();
        assert!(!e.to_string().contains("nothex"), "{e}");
    }
}
