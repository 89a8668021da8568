//! secp256k1 keys and EIP-191 ticket signatures: signing, recovery and the checks Livepeer's
//! verifiers make (65 bytes, v ∈ {27, 28}, low s).
//!
//! Source: go-livepeer `eth/accounts.go` (`Sign` = personal-sign of the 32-byte ticket hash) and
//! `pm/sigverifier.go`; OpenZeppelin `ECDSA.recover` (the broker's check) rejects the same
//! malformed signatures. livepeer-facts.md §3.

use std::fmt;
use std::sync::OnceLock;

use alloy_primitives::{hex, keccak256, Address, B256};
use k256::ecdsa::SigningKey;
use k256::elliptic_curve::ops::{Invert, LinearCombination, Reduce};
use k256::elliptic_curve::point::DecompressPoint;
use k256::elliptic_curve::scalar::IsHigh;
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::elliptic_curve::subtle::Choice;
use k256::elliptic_curve::{BatchNormalize, PrimeField};
use k256::{AffinePoint, FieldBytes, ProjectivePoint, Scalar};

/// Length of a ticket signature: r (32) ‖ s (32) ‖ v (1).
pub const SIG_LEN: usize = 65;

/// Why a signature was refused. Each case has its own snake_case [`SigError::reason`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    #[error("signature is {0} bytes; a ticket signature is 65 bytes (r ‖ s ‖ v)")]
    BadLength(usize),
    #[error("signature v is {0}; it must be 27 or 28")]
    BadV(u8),
    #[error(
        "signature s is above n/2 (high s, a malleated signature); signers must produce low s"
    )]
    HighS,
    #[error("signature r or s is zero or not below the curve order")]
    BadScalar,
    #[error("no public key recovers from this signature (r is not a point on secp256k1)")]
    Unrecoverable,
    #[error("signature was made by {recovered}, not by the expected signer {expected}")]
    WrongSigner {
        expected: Address,
        recovered: Address,
    },
    #[error("the signer produced a signature whose recovery id cannot be written as v 27/28 (probability 2^-128); sign again")]
    Unencodable,
}

impl SigError {
    /// snake_case key for `tickets_rejected`.
    pub fn reason(&self) -> &'static str {
        match self {
            SigError::BadLength(_) => "bad_sig_length",
            SigError::BadV(_) => "bad_sig_v",
            SigError::HighS => "high_s",
            SigError::BadScalar => "bad_sig_scalar",
            SigError::Unrecoverable => "bad_signature",
            SigError::WrongSigner { .. } => "wrong_signer",
            SigError::Unencodable => "unencodable_sig",
        }
    }
}

/// Why a key could not be made or loaded. Never contains key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("private key is not 32 bytes of hex (0x-prefixed or not): {0}")]
    BadHex(String),
    #[error("private key is zero or not below the secp256k1 order; use another key")]
    OutOfRange,
    #[error("the OS random number generator failed: {0}")]
    Random(String),
    #[error("no key given: set RIGBENCH_PRIVATE_KEY to a 0x-hex secp256k1 key, or pass --keystore FILE with RIGBENCH_KEYSTORE_PASSWORD set")]
    Missing,
    #[error("both RIGBENCH_PRIVATE_KEY and --keystore were given; use one")]
    Ambiguous,
    #[error("--keystore {path} needs its password in RIGBENCH_KEYSTORE_PASSWORD")]
    NoPassword { path: String },
    #[error("cannot decrypt keystore {path}: {detail} (wrong password, or not a Web3 Secret Storage v3 JSON file)")]
    Keystore { path: String, detail: String },
}

/// A secp256k1 secret key and its Ethereum address. `Debug` shows only the address.
#[derive(Clone)]
pub struct Key {
    signing: SigningKey,
    address: Address,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Key {
    /// A fresh key from the OS random number generator.
    pub fn random() -> Result<Key, KeyError> {
        loop {
            let mut bytes = [0u8; 32];
            getrandom::getrandom(&mut bytes).map_err(|e| KeyError::Random(e.to_string()))?;
            // Out of range with probability ~2^-128; draw again.
            if let Ok(key) = Key::from_bytes(&bytes) {
                return Ok(key);
            }
        }
    }

    /// A key from its 32 secret bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Key, KeyError> {
        let signing =
            SigningKey::from_bytes(&FieldBytes::from(*bytes)).map_err(|_| KeyError::OutOfRange)?;
        let address =
            address_of_point(&ProjectivePoint::from(*signing.verifying_key().as_affine()));
        Ok(Key { signing, address })
    }

    /// A key from 64 hex digits, with or without 0x. The error never echoes the input.
    pub fn from_hex(text: &str) -> Result<Key, KeyError> {
        let trimmed = text.trim();
        let digits = trimmed.strip_prefix("0x").unwrap_or(trimmed);
        if digits.len() != 64 {
            return Err(KeyError::BadHex(format!(
                "{} hex digits, need 64",
                digits.len()
            )));
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(digits, &mut bytes)
            .map_err(|_| KeyError::BadHex("contains a non-hex character".into()))?;
        Key::from_bytes(&bytes)
    }

    pub fn address(&self) -> Address {
        self.address
    }

    /// The 32 secret bytes, for handing to a [`crate::chain::Chain`] that sends transactions
    /// from this account. Never print or log them.
    pub fn secret_bytes(&self) -> B256 {
        B256::from_slice(&self.signing.to_bytes())
    }

    /// EIP-191 personal-sign of a 32-byte hash: 65 bytes r ‖ s ‖ v, v ∈ {27, 28}, low s.
    pub fn sign_hash(&self, hash: &B256) -> Result<[u8; SIG_LEN], SigError> {
        let prehash = personal_prehash(hash);
        let (sig, recid) = self
            .signing
            .sign_prehash_recoverable(prehash.as_slice())
            .map_err(|_| SigError::Unencodable)?;
        // k256 already normalises s (and flips the recovery id to match); keep the invariant
        // explicit because verifiers reject high s.
        let (sig, y_odd) = match sig.normalize_s() {
            Some(low) => (low, !recid.is_y_odd()),
            None => (sig, recid.is_y_odd()),
        };
        if recid.is_x_reduced() {
            return Err(SigError::Unencodable);
        }
        let mut out = [0u8; SIG_LEN];
        out[..64].copy_from_slice(&sig.to_bytes());
        out[64] = 27 + u8::from(y_odd);
        Ok(out)
    }
}

/// keccak256("\x19Ethereum Signed Message:\n32" ‖ hash): what personal-sign actually signs.
pub fn personal_prehash(hash: &B256) -> B256 {
    let mut buf = [0u8; 28 + 32];
    buf[..28].copy_from_slice(b"\x19Ethereum Signed Message:\n32");
    buf[28..].copy_from_slice(hash.as_slice());
    keccak256(buf)
}

/// A signature that passed the format checks, as scalars.
struct ParsedSig {
    r_bytes: FieldBytes,
    r: Scalar,
    s: Scalar,
    y_odd: bool,
}

/// The checks every verifier makes before any curve arithmetic: 65 bytes, v ∈ {27, 28},
/// 0 < r, s < n, and s ≤ n/2.
fn parse_sig(sig: &[u8]) -> Result<ParsedSig, SigError> {
    if sig.len() != SIG_LEN {
        return Err(SigError::BadLength(sig.len()));
    }
    let v = sig[64];
    if v != 27 && v != 28 {
        return Err(SigError::BadV(v));
    }
    let mut r_arr = [0u8; 32];
    let mut s_arr = [0u8; 32];
    r_arr.copy_from_slice(&sig[..32]);
    s_arr.copy_from_slice(&sig[32..64]);
    let r_bytes = FieldBytes::from(r_arr);
    let r = Option::<Scalar>::from(Scalar::from_repr(r_bytes)).ok_or(SigError::BadScalar)?;
    let s = Option::<Scalar>::from(Scalar::from_repr(FieldBytes::from(s_arr)))
        .ok_or(SigError::BadScalar)?;
    if bool::from(r.is_zero()) || bool::from(s.is_zero()) {
        return Err(SigError::BadScalar);
    }
    if bool::from(s.is_high()) {
        return Err(SigError::HighS);
    }
    Ok(ParsedSig {
        r_bytes,
        r,
        s,
        y_odd: v == 28,
    })
}

/// z: the EIP-191 prehash of `hash` reduced into a scalar.
fn message_scalar(hash: &B256) -> Scalar {
    let prehash = personal_prehash(hash);
    <Scalar as Reduce<k256::U256>>::reduce_bytes(&FieldBytes::from(prehash.0))
}

/// The public key that signed `hash`, after the format checks.
fn recover_point(hash: &B256, sig: &[u8]) -> Result<ProjectivePoint, SigError> {
    let p = parse_sig(sig)?;
    let z = message_scalar(hash);
    // ECDSA public key recovery (SEC 1 §4.1.6): Q = r⁻¹(sR − zG). Unlike
    // `VerifyingKey::recover_from_prehash` this does not re-verify the recovered key, which
    // would double the cost and cannot fail for a key recovered this way.
    let big_r = Option::<AffinePoint>::from(AffinePoint::decompress(
        &p.r_bytes,
        Choice::from(u8::from(p.y_odd)),
    ))
    .ok_or(SigError::Unrecoverable)?;
    let r_inv = Option::<Scalar>::from(Invert::invert_vartime(&p.r)).ok_or(SigError::BadScalar)?;
    let u1 = -(r_inv * z);
    let u2 = r_inv * p.s;
    let q = ProjectivePoint::lincomb(
        &ProjectivePoint::GENERATOR,
        &u1,
        &ProjectivePoint::from(big_r),
        &u2,
    );
    if q == ProjectivePoint::IDENTITY {
        return Err(SigError::Unrecoverable);
    }
    Ok(q)
}

/// The address that signed `hash` (EIP-191), after the length, v, scalar and high-s checks.
pub fn recover(hash: &B256, sig: &[u8]) -> Result<Address, SigError> {
    recover_point(hash, sig).map(|q| address_of_point(&q))
}

/// Bits per window of the fixed-base tables: 32 windows of 255 multiples each.
const WINDOW_BITS: usize = 8;
const WINDOWS: usize = 256 / WINDOW_BITS;
const DIGITS: usize = (1 << WINDOW_BITS) - 1;

/// Precomputed multiples of one point P: entry `i·255 + d − 1` is `d · 2^(8i) · P`, so `k·P`
/// is 32 table additions (no doublings). Variable-time: only for public points and scalars
/// (signature verification), never for secrets.
struct FixedBaseTable {
    points: Vec<AffinePoint>,
}

impl FixedBaseTable {
    fn new(p: ProjectivePoint) -> FixedBaseTable {
        let mut projective = Vec::with_capacity(WINDOWS * DIGITS);
        let mut base = p;
        for _ in 0..WINDOWS {
            let mut acc = base;
            for _ in 0..DIGITS {
                projective.push(acc);
                acc += base;
            }
            // acc = 256 · base: the next window's base.
            base = acc;
        }
        let points = <ProjectivePoint as BatchNormalize<[ProjectivePoint]>>::batch_normalize(
            projective.as_slice(),
        );
        FixedBaseTable { points }
    }

    fn mul(&self, k: &Scalar) -> ProjectivePoint {
        let bytes = k.to_bytes();
        let mut acc = ProjectivePoint::IDENTITY;
        for (window, byte) in bytes.iter().rev().enumerate() {
            if *byte != 0 {
                acc += self.points[window * DIGITS + usize::from(*byte) - 1];
            }
        }
        acc
    }
}

fn generator_table() -> &'static FixedBaseTable {
    static TABLE: OnceLock<FixedBaseTable> = OnceLock::new();
    TABLE.get_or_init(|| FixedBaseTable::new(ProjectivePoint::GENERATOR))
}

/// A signer whose public key is known (recovered once from a signature of theirs), verified
/// with fixed-base tables for G and for the key: about 3× faster than recovery. Livepeer's
/// orchestrator only knows a sender's address, so the key is recovered from the first valid
/// ticket and kept per sender.
pub struct KnownSigner {
    address: Address,
    table: FixedBaseTable,
}

impl fmt::Debug for KnownSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KnownSigner")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl KnownSigner {
    /// Learns `signer`'s public key from a valid signature of theirs over `hash`.
    pub fn from_signature(
        hash: &B256,
        sig: &[u8],
        signer: Address,
    ) -> Result<KnownSigner, SigError> {
        let q = recover_point(hash, sig)?;
        let recovered = address_of_point(&q);
        if recovered != signer {
            return Err(SigError::WrongSigner {
                expected: signer,
                recovered,
            });
        }
        Ok(KnownSigner {
            address: signer,
            table: FixedBaseTable::new(q),
        })
    }

    pub fn address(&self) -> Address {
        self.address
    }

    /// Same verdict as [`verify`] with this signer: the point s⁻¹(zG + rQ) must be exactly the
    /// R that recovery would rebuild from (r, v): x equal to r and y parity equal to v − 27.
    /// Then recovery from (r, s, v) yields Q, i.e. this signer, and nothing else does.
    pub fn verify(&self, hash: &B256, sig: &[u8]) -> Result<(), SigError> {
        let p = parse_sig(sig)?;
        let z = message_scalar(hash);
        let s_inv =
            Option::<Scalar>::from(Invert::invert_vartime(&p.s)).ok_or(SigError::BadScalar)?;
        let point = generator_table().mul(&(z * s_inv)) + self.table.mul(&(p.r * s_inv));
        let matches = point != ProjectivePoint::IDENTITY && {
            let encoded = point.to_affine().to_encoded_point(true);
            let bytes = encoded.as_bytes();
            bytes[1..] == p.r_bytes[..] && (bytes[0] == 0x03) == p.y_odd
        };
        if matches {
            return Ok(());
        }
        // The slow path only to name who did sign (or why nothing recovers).
        let recovered = recover(hash, sig)?;
        Err(SigError::WrongSigner {
            expected: self.address,
            recovered,
        })
    }
}

/// Checks that `sig` is a valid EIP-191 signature of `hash` by `signer`.
pub fn verify(hash: &B256, sig: &[u8], signer: Address) -> Result<(), SigError> {
    let recovered = recover(hash, sig)?;
    if recovered != signer {
        return Err(SigError::WrongSigner {
            expected: signer,
            recovered,
        });
    }
    Ok(())
}

/// Last 20 bytes of keccak256 of the uncompressed public key without its 0x04 prefix.
fn address_of_point(point: &ProjectivePoint) -> Address {
    let encoded = point.to_affine().to_encoded_point(false);
    let digest = keccak256(&encoded.as_bytes()[1..]);
    Address::from_slice(&digest[12..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use k256::ecdsa::{RecoveryId, Signature, VerifyingKey};

    // secp256k1 order n.
    const N: [u8; 32] =
        hex_literal("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");

    const fn hex_literal(s: &str) -> [u8; 32] {
        let b = s.as_bytes();
        let mut out = [0u8; 32];
        let mut i = 0;
        while i < 32 {
            out[i] = nibble(b[2 * i]) * 16 + nibble(b[2 * i + 1]);
            i += 1;
        }
        out
    }

    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => 0,
        }
    }

    fn key(n: u8) -> Key {
        let mut b = [0u8; 32];
        b[31] = n;
        b[0] = 0x11;
        Key::from_bytes(&b).unwrap()
    }

    #[test]
    fn known_address_of_key_one() {
        // The well-known address of secret key 1.
        let mut one = [0u8; 32];
        one[31] = 1;
        let k = Key::from_bytes(&one).unwrap();
        assert_eq!(
            k.address(),
            "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"
                .parse::<Address>()
                .unwrap()
        );
    }

    #[test]
    fn known_personal_sign_vector() {
        // Hardhat/anvil account 0 signing 32 zero bytes with personal_sign, cross-checked with
        // eth-account 0.14 (`Account.sign_message(encode_defunct(b"\0"*32), key)`).
        let k = Key::from_hex("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
            .unwrap();
        assert_eq!(
            k.address(),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
                .parse::<Address>()
                .unwrap()
        );
        let sig = k.sign_hash(&B256::ZERO).unwrap();
        // Both sides use RFC 6979 deterministic nonces, so the bytes match exactly.
        assert_eq!(
            hex::encode(sig),
            "e82ed51b2b3964a6779171ee6589b1b2f5b5ebb77c1555626205d4619cb8df27\
             1a3f5c43f6b0ea3c76d852252d8a19539aa3ca2cb9fb66af3ac4dee7e846b432\
             1c"
        );
        verify(&B256::ZERO, &sig, k.address()).unwrap();
    }

    #[test]
    fn sign_then_recover_matches_k256_recovery() {
        for i in 1..=20u8 {
            let k = key(i);
            let hash = keccak256([i; 7]);
            let sig = k.sign_hash(&hash).unwrap();
            assert!(sig[64] == 27 || sig[64] == 28);
            assert_eq!(recover(&hash, &sig).unwrap(), k.address());
            // k256's own recovery (which also re-verifies) agrees.
            let s = Signature::from_slice(&sig[..64]).unwrap();
            assert!(s.normalize_s().is_none(), "low s");
            let recid = RecoveryId::from_byte(sig[64] - 27).unwrap();
            let vk =
                VerifyingKey::recover_from_prehash(personal_prehash(&hash).as_slice(), &s, recid)
                    .unwrap();
            assert_eq!(
                address_of_point(&ProjectivePoint::from(*vk.as_affine())),
                k.address()
            );
        }
    }

    fn high_s(sig: &[u8; 65]) -> [u8; 65] {
        // s' = n − s, v flipped: the malleated twin of a valid signature.
        let mut s_arr = [0u8; 32];
        s_arr.copy_from_slice(&sig[32..64]);
        let s = Scalar::from_repr(FieldBytes::from(s_arr)).unwrap();
        let neg = -s;
        let mut out = *sig;
        out[32..64].copy_from_slice(&neg.to_bytes());
        out[64] = if sig[64] == 27 { 28 } else { 27 };
        out
    }

    #[test]
    fn rejections_each_have_their_own_error() {
        let k = key(1);
        let other = key(2);
        let hash = keccak256(b"ticket");
        let sig = k.sign_hash(&hash).unwrap();
        let mut bad_v = sig;
        bad_v[64] = 29;
        let mut v0 = sig;
        v0[64] = 0;
        let mut zero_r = sig;
        zero_r[..32].fill(0);
        let mut r_n = sig;
        r_n[..32].copy_from_slice(&N);
        let mut forged = sig;
        forged[10] ^= 0x55;
        let by_other = other.sign_hash(&hash).unwrap();
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("empty", vec![], "bad_sig_length"),
            ("64 bytes", sig[..64].to_vec(), "bad_sig_length"),
            ("66 bytes", [&sig[..], &[0u8]].concat(), "bad_sig_length"),
            ("v 29", bad_v.to_vec(), "bad_sig_v"),
            ("v 0", v0.to_vec(), "bad_sig_v"),
            ("high s", high_s(&sig).to_vec(), "high_s"),
            ("r zero", zero_r.to_vec(), "bad_sig_scalar"),
            ("r = n", r_n.to_vec(), "bad_sig_scalar"),
            ("by another key", by_other.to_vec(), "wrong_signer"),
        ];
        for (name, s, reason) in cases {
            let err = verify(&hash, &s, k.address()).unwrap_err();
            assert_eq!(err.reason(), reason, "{name}: {err}");
        }
        // A forged r either is not a curve point or recovers some other address.
        let err = verify(&hash, &forged, k.address()).unwrap_err();
        assert!(
            matches!(err.reason(), "bad_signature" | "wrong_signer"),
            "{err}"
        );
        // A valid signature over another hash recovers another address.
        let err = verify(&keccak256(b"other"), &sig, k.address()).unwrap_err();
        assert_eq!(err.reason(), "wrong_signer");
        verify(&hash, &sig, k.address()).unwrap();
    }

    #[test]
    fn key_parsing_and_debug() {
        let hex = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
        let k = Key::from_hex(hex).unwrap();
        let k2 = Key::from_hex(&hex[2..]).unwrap();
        assert_eq!(k.address(), k2.address());
        assert_eq!(k.secret_bytes().to_string(), hex);
        let dbg = format!("{k:?}");
        assert!(!dbg.to_lowercase().contains(&hex[2..]), "{dbg}");
        assert!(!dbg.to_lowercase().contains("ac0974"), "{dbg}");
        let cases = [
            ("", "BadHex"),
            ("0x1234", "BadHex"),
            (&"zz".repeat(32)[..], "BadHex"),
            (
                "0x0000000000000000000000000000000000000000000000000000000000000000",
                "OutOfRange",
            ),
            (
                "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
                "OutOfRange",
            ),
        ];
        for (input, want) in cases {
            let err = Key::from_hex(input).unwrap_err();
            assert!(format!("{err:?}").starts_with(want), "{input}: {err:?}");
        }
        let a = Key::random().unwrap();
        let b = Key::random().unwrap();
        assert_ne!(a.address(), b.address());
    }

    #[test]
    fn known_signer_agrees_with_recovery() {
        let k = key(5);
        let other = key(6);
        let first_hash = keccak256(b"first");
        let first = k.sign_hash(&first_hash).unwrap();
        let known = KnownSigner::from_signature(&first_hash, &first, k.address()).unwrap();
        assert_eq!(known.address(), k.address());
        // Learning a key from someone else's signature fails.
        assert!(matches!(
            KnownSigner::from_signature(
                &first_hash,
                &other.sign_hash(&first_hash).unwrap(),
                k.address()
            ),
            Err(SigError::WrongSigner { .. })
        ));
        for i in 0..40u32 {
            let hash = keccak256(i.to_be_bytes());
            let good = k.sign_hash(&hash).unwrap();
            let mut flipped_v = good;
            flipped_v[64] = if good[64] == 27 { 28 } else { 27 };
            let mut bumped_r = good;
            bumped_r[31] ^= 1;
            let mut bumped_s = good;
            bumped_s[63] ^= 1;
            let candidates: Vec<(B256, Vec<u8>)> = vec![
                (hash, good.to_vec()),
                (keccak256(b"other"), good.to_vec()),
                (hash, flipped_v.to_vec()),
                (hash, bumped_r.to_vec()),
                (hash, bumped_s.to_vec()),
                (hash, other.sign_hash(&hash).unwrap().to_vec()),
                (hash, high_s(&good).to_vec()),
                (hash, good[..64].to_vec()),
            ];
            for (j, (h, sig)) in candidates.iter().enumerate() {
                let slow = verify(h, sig, k.address());
                let fast = known.verify(h, sig);
                assert_eq!(
                    slow.is_ok(),
                    fast.is_ok(),
                    "case {i}/{j}: slow {slow:?} fast {fast:?}"
                );
                if let (Err(a), Err(b)) = (&slow, &fast) {
                    assert_eq!(a.reason(), b.reason(), "case {i}/{j}");
                }
            }
            assert!(known.verify(&hash, &good).is_ok());
        }
    }

    #[test]
    fn fixed_base_table_multiplies() {
        let t = FixedBaseTable::new(ProjectivePoint::GENERATOR);
        for k in [1u64, 2, 255, 256, 65_537, u64::MAX] {
            let s = Scalar::from(k);
            assert_eq!(t.mul(&s), ProjectivePoint::GENERATOR * s, "{k}");
        }
        let big = -Scalar::from(3u64);
        assert_eq!(t.mul(&big), ProjectivePoint::GENERATOR * big);
        assert_eq!(t.mul(&Scalar::ZERO), ProjectivePoint::IDENTITY);
    }
}
