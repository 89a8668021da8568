//! The segment protocol's wire types: the protobuf messages compiled from proto/lp_rpc.proto
//! (go-livepeer's field numbers) and their conversion to and from rigbench's own payment and
//! ladder types, with the base64 header encoding go-livepeer uses. Pure: no I/O.

use alloy_primitives::{Address, Bytes, B256, U256};
use base64::Engine;
use prost::Message;

use crate::payments::params::{ExpirationParams, TicketSenderParams};
use crate::payments::{Payment, PriceInfo, TicketParams};
use crate::transcode::ladder::{ChromaFormat, CodecProfile, Gop, Profile, VideoCodec};

/// The messages of proto/lp_rpc.proto, as prost generates them.
#[allow(missing_docs, clippy::all)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/net.rs"));
}

/// Header carrying base64(protobuf `SegData`).
pub const SEGMENT_HEADER: &str = "Livepeer-Segment";
/// Header carrying base64(protobuf `Payment`).
pub const PAYMENT_HEADER: &str = "Livepeer-Payment";
/// Content type of a segment upload.
pub const SEGMENT_CONTENT_TYPE: &str = "video/MP2T";
/// Content type of a protobuf body (go-livepeer's TranscodeResult answer).
pub const PROTOBUF_CONTENT_TYPE: &str = "application/vnd+livepeer.uri";
/// The body text of go-livepeer's refusal at capacity.
pub const ORCHESTRATOR_CAPPED: &str = "OrchestratorCapped";

/// Why a header or message could not be read. Each names the header and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("header {0} is missing")]
    Missing(&'static str),
    #[error("header {header} is not valid base64: {detail}")]
    Base64 {
        header: &'static str,
        detail: String,
    },
    #[error("{what} is not a valid protobuf message: {detail}")]
    Protobuf { what: &'static str, detail: String },
    #[error("{what}: {detail}")]
    Field { what: &'static str, detail: String },
}

fn field(what: &'static str, detail: impl Into<String>) -> WireError {
    WireError::Field {
        what,
        detail: detail.into(),
    }
}

/// base64 (standard alphabet, padded) of a message, as go-livepeer's headers carry it.
pub fn encode_header<M: Message>(msg: &M) -> String {
    base64::engine::general_purpose::STANDARD.encode(msg.encode_to_vec())
}

/// Parses a header written by [`encode_header`].
pub fn decode_header<M: Message + Default>(
    header: &'static str,
    value: Option<&str>,
) -> Result<M, WireError> {
    let value = value.ok_or(WireError::Missing(header))?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|e| WireError::Base64 {
            header,
            detail: e.to_string(),
        })?;
    M::decode(raw.as_slice()).map_err(|e| WireError::Protobuf {
        what: header,
        detail: e.to_string(),
    })
}

/// Parses a protobuf body.
pub fn decode_body<M: Message + Default>(what: &'static str, body: &[u8]) -> Result<M, WireError> {
    M::decode(body).map_err(|e| WireError::Protobuf {
        what,
        detail: e.to_string(),
    })
}

/// A uint256 as go's `big.Int.Bytes()`: big-endian, no leading zeros (zero is empty).
pub fn u256_bytes(v: U256) -> Vec<u8> {
    v.to_be_bytes_trimmed_vec()
}

fn u256_from(what: &'static str, b: &[u8]) -> Result<U256, WireError> {
    U256::try_from_be_slice(b).ok_or_else(|| field(what, format!("{} bytes is over 32", b.len())))
}

fn address_from(what: &'static str, b: &[u8]) -> Result<Address, WireError> {
    if b.len() != 20 {
        return Err(field(
            what,
            format!("an address is 20 bytes, got {}", b.len()),
        ));
    }
    Ok(Address::from_slice(b))
}

fn b256_from(what: &'static str, b: &[u8]) -> Result<B256, WireError> {
    if b.is_empty() {
        return Ok(B256::ZERO);
    }
    if b.len() != 32 {
        return Err(field(what, format!("a hash is 32 bytes, got {}", b.len())));
    }
    Ok(B256::from_slice(b))
}

/// Price → protobuf (int64 fields: a price that does not fit is an error).
pub fn price_to_pb(p: &PriceInfo) -> Result<pb::PriceInfo, WireError> {
    let (num, den) = p.reduced();
    let conv = |v: U256| {
        i64::try_from(v).map_err(|_| field("price", format!("{v} does not fit protobuf's int64")))
    };
    Ok(pb::PriceInfo {
        price_per_unit: conv(num)?,
        pixels_per_unit: conv(den)?,
    })
}

/// Protobuf → price; a negative or zero denominator is an error.
pub fn price_from_pb(p: Option<&pb::PriceInfo>) -> Result<PriceInfo, WireError> {
    let p = p.ok_or_else(|| field("price", "missing"))?;
    if p.price_per_unit < 0 || p.pixels_per_unit <= 0 {
        return Err(field(
            "price",
            format!(
                "{} wei per {} pixels is not a price",
                p.price_per_unit, p.pixels_per_unit
            ),
        ));
    }
    Ok(PriceInfo {
        price_per_unit_wei: U256::from(p.price_per_unit as u64),
        pixels_per_unit: U256::from(p.pixels_per_unit as u64),
    })
}

fn expiration_to_pb(e: &ExpirationParams) -> pb::TicketExpirationParams {
    pb::TicketExpirationParams {
        creation_round: i64::try_from(e.creation_round).unwrap_or(i64::MAX),
        creation_round_block_hash: e.creation_round_block_hash.to_vec(),
    }
}

fn expiration_from_pb(
    e: Option<&pb::TicketExpirationParams>,
) -> Result<ExpirationParams, WireError> {
    let Some(e) = e else {
        return Ok(ExpirationParams::default());
    };
    if e.creation_round < 0 {
        return Err(field("expiration_params", "negative creation round"));
    }
    Ok(ExpirationParams {
        creation_round: U256::from(e.creation_round as u64),
        creation_round_block_hash: b256_from(
            "expiration_params.creation_round_block_hash",
            &e.creation_round_block_hash,
        )?,
    })
}

/// Ticket parameters → protobuf (the price travels beside them, in `PriceInfo`).
pub fn ticket_params_to_pb(p: &TicketParams) -> pb::TicketParams {
    pb::TicketParams {
        recipient: p.recipient.to_vec(),
        face_value: u256_bytes(p.face_value_wei),
        win_prob: u256_bytes(p.win_prob),
        recipient_rand_hash: p.recipient_rand_hash.to_vec(),
        seed: u256_bytes(p.seed),
        expiration_block: u256_bytes(p.expiration_block),
        expiration_params: Some(expiration_to_pb(&p.expiration_params)),
    }
}

/// Protobuf → ticket parameters issued at `price`.
pub fn ticket_params_from_pb(
    p: Option<&pb::TicketParams>,
    price: PriceInfo,
) -> Result<TicketParams, WireError> {
    let p = p.ok_or_else(|| field("ticket_params", "missing"))?;
    Ok(TicketParams {
        recipient: address_from("ticket_params.recipient", &p.recipient)?,
        face_value_wei: u256_from("ticket_params.face_value", &p.face_value)?,
        win_prob: u256_from("ticket_params.win_prob", &p.win_prob)?,
        recipient_rand_hash: b256_from(
            "ticket_params.recipient_rand_hash",
            &p.recipient_rand_hash,
        )?,
        seed: u256_from("ticket_params.seed", &p.seed)?,
        expiration_block: u256_from("ticket_params.expiration_block", &p.expiration_block)?,
        expiration_params: expiration_from_pb(p.expiration_params.as_ref())?,
        price,
    })
}

/// A payment → protobuf `Payment`.
pub fn payment_to_pb(p: &Payment) -> Result<pb::Payment, WireError> {
    let params = ticket_params_to_pb(&p.ticket_params);
    Ok(pb::Payment {
        expiration_params: params.expiration_params.clone(),
        ticket_params: Some(params),
        sender: p.sender.to_vec(),
        ticket_sender_params: p
            .tickets
            .iter()
            .map(|t| pb::TicketSenderParams {
                sender_nonce: t.sender_nonce,
                sig: t.sig.to_vec(),
            })
            .collect(),
        expected_price: Some(price_to_pb(&p.expected_price)?),
    })
}

/// Protobuf `Payment` → a payment. The ticket parameters' price is the payment's expected
/// price, as go-livepeer's recipient takes it. A payment may carry no ticket (the gateway's
/// credit already covers the segment), as go-livepeer's may.
pub fn payment_from_pb(p: &pb::Payment) -> Result<Payment, WireError> {
    let expected_price = price_from_pb(p.expected_price.as_ref())?;
    let mut ticket_params = ticket_params_from_pb(p.ticket_params.as_ref(), expected_price)?;
    if let Some(e) = p.expiration_params.as_ref() {
        ticket_params.expiration_params = expiration_from_pb(Some(e))?;
    }
    Ok(Payment {
        sender: address_from("payment.sender", &p.sender)?,
        ticket_params,
        tickets: p
            .ticket_sender_params
            .iter()
            .map(|t| TicketSenderParams {
                sender_nonce: t.sender_nonce,
                sig: Bytes::from(t.sig.clone()),
            })
            .collect(),
        expected_price,
    })
}

/// A ladder rung → protobuf `VideoProfile` (CRF quality has no field there and is not sent).
pub fn profile_to_pb(p: &Profile) -> pb::VideoProfile {
    use pb::video_profile::{ChromaSubsampling, Profile as P, VideoCodec as C};
    pb::VideoProfile {
        name: p.name.clone(),
        width: p.width.min(i32::MAX as u32) as i32,
        height: p.height.min(i32::MAX as u32) as i32,
        bitrate: p.bitrate_bps.min(i32::MAX as u64) as i32,
        fps: p.fps,
        format: pb::video_profile::Format::Mpegts as i32,
        fps_den: p.fps_den,
        profile: match p.profile {
            CodecProfile::None => P::EncoderDefault,
            CodecProfile::H264Baseline => P::H264Baseline,
            CodecProfile::H264Main => P::H264Main,
            CodecProfile::H264High => P::H264High,
            CodecProfile::H264ConstrainedHigh => P::H264ConstrainedHigh,
        } as i32,
        gop: match p.gop {
            Gop::Default => 0,
            Gop::Intra => -1,
            Gop::Seconds(s) => (s * 1000.0).round().clamp(1.0, i32::MAX as f64) as i32,
        },
        encoder: match p.encoder {
            VideoCodec::H264 => C::H264,
            VideoCodec::Hevc => C::H265,
            VideoCodec::Vp8 => C::Vp8,
            VideoCodec::Vp9 => C::Vp9,
        } as i32,
        color_depth: p.color_depth_bits as i32,
        chroma_format: match p.chroma_format {
            ChromaFormat::Yuv420 => ChromaSubsampling::Chroma420,
            ChromaFormat::Yuv422 => ChromaSubsampling::Chroma422,
            ChromaFormat::Yuv444 => ChromaSubsampling::Chroma444,
        } as i32,
    }
}

/// Largest rendition side accepted from the wire (HEVC's limit).
const MAX_SIDE: i32 = 8192;

/// Protobuf `VideoProfile` → a ladder rung; absurd sizes, rates and enum values are errors.
pub fn profile_from_pb(p: &pb::VideoProfile) -> Result<Profile, WireError> {
    use pb::video_profile::{ChromaSubsampling, Profile as P, VideoCodec as C};
    let what = "fullProfiles3";
    if !(2..=MAX_SIDE).contains(&p.width) || !(2..=MAX_SIDE).contains(&p.height) {
        return Err(field(
            what,
            format!(
                "profile {:?}: {}x{} is not a rendition size",
                p.name, p.width, p.height
            ),
        ));
    }
    if p.bitrate <= 0 {
        return Err(field(
            what,
            format!("profile {:?}: bitrate {} bps", p.name, p.bitrate),
        ));
    }
    if p.fps > 240 || (p.fps > 0 && p.fps_den > 1001 * 240) {
        return Err(field(
            what,
            format!("profile {:?}: fps {}/{}", p.name, p.fps, p.fps_den),
        ));
    }
    let profile = match P::try_from(p.profile) {
        Ok(P::EncoderDefault) => CodecProfile::None,
        Ok(P::H264Baseline) => CodecProfile::H264Baseline,
        Ok(P::H264Main) => CodecProfile::H264Main,
        Ok(P::H264High) => CodecProfile::H264High,
        Ok(P::H264ConstrainedHigh) => CodecProfile::H264ConstrainedHigh,
        Err(_) => return Err(field(what, format!("unknown codec profile {}", p.profile))),
    };
    let encoder = match C::try_from(p.encoder) {
        Ok(C::H264) => VideoCodec::H264,
        Ok(C::H265) => VideoCodec::Hevc,
        Ok(C::Vp8) => VideoCodec::Vp8,
        Ok(C::Vp9) => VideoCodec::Vp9,
        Err(_) => return Err(field(what, format!("unknown encoder {}", p.encoder))),
    };
    let chroma_format = match ChromaSubsampling::try_from(p.chroma_format) {
        Ok(ChromaSubsampling::Chroma420) => ChromaFormat::Yuv420,
        Ok(ChromaSubsampling::Chroma422) => ChromaFormat::Yuv422,
        Ok(ChromaSubsampling::Chroma444) => ChromaFormat::Yuv444,
        Err(_) => {
            return Err(field(
                what,
                format!("unknown chroma format {}", p.chroma_format),
            ))
        }
    };
    if !(0..=16).contains(&p.color_depth) {
        return Err(field(what, format!("colour depth {}", p.color_depth)));
    }
    Ok(Profile {
        name: if p.name.is_empty() {
            format!("custom_{}x{}_{}", p.width, p.height, p.bitrate)
        } else {
            p.name
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || "_-.".contains(*c))
                .take(64)
                .collect()
        },
        width: p.width as u32,
        height: p.height as u32,
        bitrate_bps: p.bitrate as u64,
        fps: p.fps,
        fps_den: p.fps_den.max(1),
        profile,
        gop: match p.gop {
            0 => Gop::Default,
            g if g < 0 => Gop::Intra,
            g => Gop::Seconds(f64::from(g) / 1000.0),
        },
        encoder,
        quality: 0,
        color_depth_bits: p.color_depth as u32,
        chroma_format,
    })
}

/// keccak256 of a segment's bytes: `SegData.hash`.
pub fn segment_hash(body: &[u8]) -> B256 {
    // The same keccak256 as alloy's, through a crate whose permutation debug builds optimise
    // (Cargo.toml's profile.dev.package.keccak): bodies are megabytes.
    use sha3::Digest;
    B256::from_slice(&sha3::Keccak256::digest(body))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_segment_hash_is_keccak256() {
        for n in [0usize, 1, 135, 136, 137, 272, 4096, 100_003] {
            let body: Vec<u8> = (0..n).map(|i| (i * 31 % 251) as u8).collect();
            assert_eq!(
                super::segment_hash(&body),
                alloy_primitives::keccak256(&body),
                "{n}"
            );
        }
    }

    use super::*;
    use crate::transcode::ladder::default_ladder;

    fn params() -> TicketParams {
        TicketParams {
            recipient: Address::repeat_byte(1),
            face_value_wei: U256::from(123_456_789u64),
            win_prob: U256::MAX / U256::from(7u64),
            recipient_rand_hash: B256::repeat_byte(9),
            seed: U256::from(42u64),
            expiration_block: U256::from(77u64),
            expiration_params: ExpirationParams {
                creation_round: U256::from(5u64),
                creation_round_block_hash: B256::repeat_byte(3),
            },
            price: PriceInfo::per_pixel(U256::from(1000u64)),
        }
    }

    #[test]
    fn payment_round_trips_through_the_header() {
        let payment = Payment {
            sender: Address::repeat_byte(2),
            ticket_params: params(),
            tickets: vec![TicketSenderParams {
                sender_nonce: 1,
                sig: Bytes::from(vec![7u8; 65]),
            }],
            expected_price: PriceInfo::per_pixel(U256::from(1000u64)),
        };
        let header = encode_header(&payment_to_pb(&payment).unwrap());
        let back: pb::Payment = decode_header(PAYMENT_HEADER, Some(&header)).unwrap();
        assert_eq!(payment_from_pb(&back).unwrap(), payment);
    }

    #[test]
    fn ladder_round_trips() {
        for p in default_ladder() {
            assert_eq!(profile_from_pb(&profile_to_pb(&p)).unwrap(), p);
        }
    }

    #[test]
    fn bad_headers_are_named_errors() {
        let cases: [(Option<&str>, &str); 4] = [
            (None, "missing"),
            (Some("%%%"), "base64"),
            (Some("////"), "protobuf"),
            (Some(""), ""),
        ];
        for (value, want) in cases {
            let got = decode_header::<pb::Payment>(PAYMENT_HEADER, value);
            match (want, got) {
                ("", Ok(p)) => assert!(
                    payment_from_pb(&p).is_err(),
                    "an empty payment is no payment"
                ),
                (want, Err(e)) => assert!(
                    e.to_string().contains(want) || format!("{e:?}").to_lowercase().contains(want),
                    "{value:?}: {e}"
                ),
                (want, Ok(_)) => panic!("{value:?} should fail with {want}"),
            }
        }
    }

    #[test]
    fn absurd_profiles_are_refused() {
        let good = profile_to_pb(&default_ladder()[0]);
        type Change = Box<dyn Fn(&mut pb::VideoProfile)>;
        let cases: Vec<Change> = vec![
            Box::new(|p| p.width = 0),
            Box::new(|p| p.height = 100_000),
            Box::new(|p| p.bitrate = -1),
            Box::new(|p| p.fps = 100_000),
            Box::new(|p| p.profile = 99),
            Box::new(|p| p.encoder = 99),
            Box::new(|p| p.chroma_format = 9),
            Box::new(|p| p.color_depth = -3),
        ];
        for (i, change) in cases.iter().enumerate() {
            let mut p = good.clone();
            change(&mut p);
            assert!(profile_from_pb(&p).is_err(), "case {i} should fail");
        }
    }

    #[test]
    fn u256_bytes_are_minimal() {
        assert!(u256_bytes(U256::ZERO).is_empty());
        assert_eq!(u256_bytes(U256::from(256u64)), vec![1, 0]);
        assert!(u256_from("x", &[1u8; 33]).is_err());
    }
}
