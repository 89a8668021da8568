//! The gateway (broadcaster) side of the segment protocol: asks an orchestrator for its info,
//! pays each segment with signed tickets (`crate::payments::sender`), posts it, reads the
//! `TranscodeResult`, downloads every rendition, and times upload, transcode and download the
//! way go-livepeer's gateway splits them (upload = until the response head, transcode = until
//! the result, download = the rendition GETs), with the wire bytes of every exchange counted
//! on the socket.

use std::net::SocketAddr;
use std::time::Duration;

use alloy_primitives::U256;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use hyper::{Method, Request, StatusCode};
use prost::Message;
use serde::{Deserialize, Serialize};

use super::client::{Answer, ClientError, Connection, Dialer};
use super::wire::{self, pb};
use crate::ingest::Segment;
use crate::payments::params::PARAMS_EXPIRY_BLOCKS;
use crate::payments::sender::{Sender, SenderError};
use crate::payments::{Key, PriceInfo, RenditionSpec};
use crate::transcode::ladder::Profile;
use crate::transcode::{RenditionOutput, SegmentOutput};

/// Where the orchestrator is and how the path to it behaves.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub dialer: Dialer,
    /// Emulated one-way delay added to each request and each response (half the RTT).
    pub one_way_delay: Duration,
    /// Ask for the renditions inline (`Accept: multipart/mixed`) instead of URLs to GET.
    pub multipart: bool,
    /// Limit on one segment's round trip; None: go-livepeer's max(8 s, 4 × segment).
    pub segment_timeout: Option<Duration>,
}

/// Why a segment did not come back. The run records it and goes on.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("the orchestrator refused with {status}: {message}")]
    Refused { status: u16, message: String },
    #[error("the orchestrator is unreachable or broke off: {0}")]
    Transport(#[from] ClientError),
    #[error("the orchestrator could not transcode the segment: {0}")]
    Transcode(String),
    #[error("the orchestrator's answer is not valid: {0}")]
    Protocol(String),
    #[error("payment: {0}")]
    Payment(#[from] SenderError),
    #[error("cannot read the segment {path}: {source}")]
    Segment {
        path: String,
        source: std::io::Error,
    },
}

impl RemoteError {
    /// A short counted reason for summaries.
    pub fn reason(&self) -> String {
        match self {
            RemoteError::Refused { message, .. } if message.contains(wire::ORCHESTRATOR_CAPPED) => {
                "orchestrator_capped".into()
            }
            RemoteError::Refused { status, .. } => format!("refused_{status}"),
            RemoteError::Transport(ClientError::Timeout { .. }) => "timeout".into(),
            RemoteError::Transport(_) => "unreachable".into(),
            RemoteError::Transcode(_) => "transcode_error".into(),
            RemoteError::Protocol(_) => "protocol_error".into(),
            RemoteError::Payment(_) => "payment_error".into(),
            RemoteError::Segment { .. } => "segment_unreadable".into(),
        }
    }
}

/// What one segment's round trip measured (run.json `segments[].network`, segments.csv).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SegmentNetwork {
    /// From the start of the POST to the orchestrator's response head (it answers once the
    /// upload is read), seconds.
    pub upload_seconds: f64,
    /// From the response head to the end of the TranscodeResult, seconds (with inline
    /// renditions this includes their transfer).
    pub transcode_seconds: f64,
    /// Rendition GETs, one after the other on the same connection, seconds (0 inline).
    pub download_seconds: f64,
    /// upload + transcode + download, seconds.
    pub round_trip_seconds: f64,
    /// round_trip / max(1.5 s, segment duration); a gateway keeps the orchestrator while it
    /// is at most 1.0 (livepeer-facts §9).
    pub latency_score: f64,
    /// Bytes written on the socket (request lines, headers, bodies), all exchanges.
    pub wire_bytes_sent: u64,
    /// Bytes read from the socket (status lines, headers, framing, bodies), all exchanges.
    pub wire_bytes_received: u64,
    /// The segment's own bytes (the POST body).
    pub media_bytes_sent: u64,
    /// The renditions' own bytes.
    pub media_bytes_received: u64,
}

/// The latency score of a round trip (livepeer-facts §9).
pub fn latency_score(round_trip_seconds: f64, segment_seconds: f64) -> f64 {
    round_trip_seconds / segment_seconds.max(1.5)
}

/// One segment back from the orchestrator.
#[derive(Debug)]
pub struct RemoteSegment {
    pub output: SegmentOutput,
    pub tickets: u32,
    /// Each ticket's expected value (faceValue × winProb), wei.
    pub ticket_ev_wei: f64,
    /// price × billed pixels, wei.
    pub fee_wei: U256,
    pub network: SegmentNetwork,
}

/// One gateway session with one orchestrator: a connection, a sender, the latest info.
pub struct RemoteSession {
    rt: tokio::runtime::Runtime,
    conn: Connection,
    target: Target,
    sender: Sender,
    info: pb::OrchestratorInfo,
    price: PriceInfo,
    manifest_id: String,
    ladder: Vec<Profile>,
    profiles: Vec<pb::VideoProfile>,
    specs: Vec<RenditionSpec>,
    /// The EV of the tickets last signed, wei.
    last_ticket_ev_wei: f64,
}

/// What the orchestrator-info exchange measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct InfoExchange {
    pub seconds: f64,
    pub wire_bytes_sent: u64,
    pub wire_bytes_received: u64,
}

fn runtime() -> Result<tokio::runtime::Runtime, RemoteError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| RemoteError::Protocol(format!("cannot start the HTTP runtime: {e}")))
}

fn refused(a: &Answer) -> RemoteError {
    RemoteError::Refused {
        status: a.status.as_u16(),
        message: String::from_utf8_lossy(&a.body[..a.body.len().min(512)])
            .trim()
            .to_string(),
    }
}

impl RemoteSession {
    /// Asks the orchestrator for its info as the gateway `key`, whose deposit is
    /// `deposit_wei`, for a stream `manifest_id` transcoded to `ladder`.
    pub fn open(
        target: Target,
        key: Key,
        deposit_wei: U256,
        manifest_id: String,
        ladder: &[Profile],
    ) -> Result<(RemoteSession, InfoExchange), RemoteError> {
        let rt = runtime()?;
        let mut conn = Connection::new(target.addr, target.dialer.clone(), target.one_way_delay);
        let address = key.address();
        let sig = key
            .sign_hash(&crate::orchestrator::info_request_hash(&address))
            .map_err(|e| RemoteError::Payment(SenderError::Sign(e)))?;
        let body = pb::OrchestratorRequest {
            address: address.to_vec(),
            sig: sig.to_vec(),
        }
        .encode_to_vec();
        let req = Request::builder()
            .method(Method::POST)
            .uri("/orchestrator-info")
            .header(CONTENT_TYPE, "application/x-protobuf")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| RemoteError::Protocol(e.to_string()))?;
        let a = rt.block_on(conn.exchange(req, Duration::from_secs(6), Duration::from_secs(6)))?;
        if a.status != StatusCode::OK {
            return Err(refused(&a));
        }
        let info: pb::OrchestratorInfo = wire::decode_body("OrchestratorInfo", &a.body)
            .map_err(|e| RemoteError::Protocol(e.to_string()))?;
        let price = wire::price_from_pb(info.price_info.as_ref())
            .map_err(|e| RemoteError::Protocol(e.to_string()))?;
        let mut session = RemoteSession {
            rt,
            conn,
            target,
            sender: Sender::new(key, deposit_wei),
            info: pb::OrchestratorInfo::default(),
            price,
            manifest_id,
            ladder: ladder.to_vec(),
            profiles: ladder.iter().map(wire::profile_to_pb).collect(),
            specs: crate::run::payments::rendition_specs(ladder),
            last_ticket_ev_wei: 0.0,
        };
        session.take_info(info)?;
        Ok((
            session,
            InfoExchange {
                seconds: a.total_seconds,
                wire_bytes_sent: a.wire_bytes_sent,
                wire_bytes_received: a.wire_bytes_received,
            },
        ))
    }

    /// The block the orchestrator issued its parameters at (they expire 40 blocks later); the
    /// gateway has no chain of its own to watch on the embedded chain.
    fn issue_block(&self) -> u64 {
        self.sender
            .params()
            .map(|p| {
                p.expiration_block
                    .saturating_sub(U256::from(PARAMS_EXPIRY_BLOCKS))
            })
            .and_then(|b| u64::try_from(b).ok())
            .unwrap_or(0)
    }

    fn take_info(&mut self, mut info: pb::OrchestratorInfo) -> Result<(), RemoteError> {
        let price = match info.price_info.as_ref() {
            Some(_) => wire::price_from_pb(info.price_info.as_ref())
                .map_err(|e| RemoteError::Protocol(e.to_string()))?,
            None => self.price,
        };
        if info.ticket_params.is_some() {
            let params = wire::ticket_params_from_pb(info.ticket_params.as_ref(), price)
                .map_err(|e| RemoteError::Protocol(e.to_string()))?;
            let block = u64::try_from(
                params
                    .expiration_block
                    .saturating_sub(U256::from(PARAMS_EXPIRY_BLOCKS)),
            )
            .unwrap_or(0);
            self.sender.update_params(params, block)?;
        }
        if info.transcoder.is_empty() {
            info.transcoder = std::mem::take(&mut self.info.transcoder);
        }
        if info.auth_token.is_none() {
            info.auth_token = self.info.auth_token.take();
        }
        self.price = price;
        self.info = info;
        Ok(())
    }

    /// The `Livepeer-Segment` and `Livepeer-Payment` header values for a segment of `body`
    /// numbered `seq` lasting `duration_seconds`, and the tickets the payment carries. Each call
    /// signs fresh tickets (the next nonces).
    pub fn signed_headers(
        &mut self,
        body: &[u8],
        seq: i64,
        duration_seconds: f64,
    ) -> Result<(String, String, u32), RemoteError> {
        let block = self.issue_block();
        let bill = self
            .sender
            .pay_segment(&self.specs, duration_seconds, block)?;
        let tickets = bill.payment.tickets.len() as u32;
        self.last_ticket_ev_wei = bill
            .payment
            .ticket_params
            .ev_wei()
            .to_string()
            .parse::<f64>()
            .unwrap_or(0.0);
        let payment =
            wire::payment_to_pb(&bill.payment).map_err(|e| RemoteError::Protocol(e.to_string()))?;
        let seg_data = pb::SegData {
            manifest_id: self.manifest_id.as_bytes().to_vec(),
            seq,
            hash: wire::segment_hash(body).to_vec(),
            duration: (duration_seconds * 1000.0)
                .round()
                .clamp(1.0, i32::MAX as f64) as i32,
            auth_token: self.info.auth_token.clone(),
            full_profiles3: self.profiles.clone(),
            ..Default::default()
        };
        Ok((
            wire::encode_header(&seg_data),
            wire::encode_header(&payment),
            tickets,
        ))
    }

    /// The orchestrator this session talks to.
    pub fn addr(&self) -> SocketAddr {
        self.target.addr
    }

    /// Pays for, sends and fetches back one segment numbered `seq`.
    pub fn send_segment(&mut self, seg: &Segment, seq: i64) -> Result<RemoteSegment, RemoteError> {
        let body = std::fs::read(&seg.path).map_err(|source| RemoteError::Segment {
            path: seg.path.display().to_string(),
            source,
        })?;
        let (seg_header, payment_header, tickets) =
            self.signed_headers(&body, seq, seg.duration_seconds)?;
        let media_sent = body.len() as u64;
        let mut req = Request::builder()
            .method(Method::POST)
            .uri("/segment")
            .header(CONTENT_TYPE, wire::SEGMENT_CONTENT_TYPE)
            .header(wire::SEGMENT_HEADER, seg_header)
            .header(wire::PAYMENT_HEADER, payment_header)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| RemoteError::Protocol(e.to_string()))?;
        if self.target.multipart {
            req.headers_mut()
                .insert(ACCEPT, HeaderValue::from_static("multipart/mixed"));
        }
        // go-livepeer's gateway gives the whole request max(8 s, 4 × segment). Its upload limit
        // (max(2 s, segment / 2)) is not applied to the response head, which here also waits
        // for the payment's signature checks.
        let total_timeout = self.target.segment_timeout.unwrap_or_else(|| {
            Duration::from_secs_f64((seg.duration_seconds * 4.0).max(8.0))
                + self.target.one_way_delay * 2
        });
        let head_timeout = total_timeout;
        let a = self
            .rt
            .block_on(self.conn.exchange(req, head_timeout, total_timeout))?;
        if a.status != StatusCode::OK {
            // The tickets sent are gone either way; the orchestrator credited what validated.
            return Err(refused(&a));
        }
        let mut net = SegmentNetwork {
            upload_seconds: a.head_seconds,
            transcode_seconds: a.total_seconds - a.head_seconds,
            wire_bytes_sent: a.wire_bytes_sent,
            wire_bytes_received: a.wire_bytes_received,
            media_bytes_sent: media_sent,
            ..Default::default()
        };
        let multipart = a
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/mixed"));
        let (result, inline) = if multipart {
            let parts = parse_multipart(&a)?;
            let last = parts
                .last()
                .ok_or_else(|| RemoteError::Protocol("an empty multipart answer".into()))?;
            let result: pb::TranscodeResult = wire::decode_body("TranscodeResult", &last.1)
                .map_err(|e| RemoteError::Protocol(e.to_string()))?;
            let media: Vec<Bytes> = parts[..parts.len() - 1]
                .iter()
                .map(|p| p.1.clone())
                .collect();
            (result, Some(media))
        } else {
            let result: pb::TranscodeResult = wire::decode_body("TranscodeResult", &a.body)
                .map_err(|e| RemoteError::Protocol(e.to_string()))?;
            (result, None)
        };
        if let Some(info) = result.info.clone() {
            self.take_info(info)?;
        }
        let data = match result.result {
            Some(pb::transcode_result::Result::Data(d)) => d,
            Some(pb::transcode_result::Result::Error(e)) => return Err(RemoteError::Transcode(e)),
            None => {
                return Err(RemoteError::Protocol(
                    "a TranscodeResult with neither data nor error".into(),
                ))
            }
        };
        if data.segments.len() != self.ladder.len() {
            return Err(RemoteError::Protocol(format!(
                "{} renditions for a ladder of {}",
                data.segments.len(),
                self.ladder.len()
            )));
        }
        let mut renditions = Vec::with_capacity(self.ladder.len());
        let mut billed: u64 = 0;
        for (i, (s, profile)) in data.segments.iter().zip(&self.ladder).enumerate() {
            let pixels = u64::try_from(s.pixels).map_err(|_| {
                RemoteError::Protocol(format!("negative pixels for {}", profile.name))
            })?;
            billed = billed.saturating_add(pixels);
            let bytes = match &inline {
                Some(media) => media.get(i).cloned().ok_or_else(|| {
                    RemoteError::Protocol(format!(
                        "rendition {} missing from the multipart answer",
                        profile.name
                    ))
                })?,
                None => {
                    let path = self.rendition_path(&s.url)?;
                    let req = Request::builder()
                        .method(Method::GET)
                        .uri(path)
                        .body(Full::new(Bytes::new()))
                        .map_err(|e| RemoteError::Protocol(e.to_string()))?;
                    let g =
                        self.rt
                            .block_on(self.conn.exchange(req, total_timeout, total_timeout))?;
                    if g.status != StatusCode::OK {
                        return Err(refused(&g));
                    }
                    net.download_seconds += g.total_seconds;
                    net.wire_bytes_sent += g.wire_bytes_sent;
                    net.wire_bytes_received += g.wire_bytes_received;
                    g.body
                }
            };
            net.media_bytes_received += bytes.len() as u64;
            renditions.push(rendition_output(i, profile, pixels, bytes.to_vec()));
        }
        net.round_trip_seconds = net.upload_seconds + net.transcode_seconds + net.download_seconds;
        net.latency_score = latency_score(net.round_trip_seconds, seg.duration_seconds);
        let (num, den) = self.price.reduced();
        let fee = U256::from(billed).saturating_mul(num).div_ceil(den);
        self.sender.debit(fee);
        Ok(RemoteSegment {
            output: SegmentOutput {
                renditions,
                decoded_frames: 0,
                decode_errors: 0,
            },
            tickets,
            ticket_ev_wei: self.last_ticket_ev_wei,
            fee_wei: fee,
            network: net,
        })
    }

    /// The path of a rendition URL, which must point at the orchestrator this session talks
    /// to (a gateway fetches nothing from anywhere else).
    fn rendition_path(&self, url: &str) -> Result<String, RemoteError> {
        let bad = || {
            RemoteError::Protocol(format!(
                "rendition URL {url:?} does not point at the orchestrator"
            ))
        };
        if let Some(path) = url.strip_prefix('/') {
            return Ok(format!("/{path}"));
        }
        let rest = url.strip_prefix("http://").ok_or_else(bad)?;
        let (authority, path) = rest.split_once('/').ok_or_else(bad)?;
        let ours = self.target.addr.to_string();
        if authority != ours {
            return Err(bad());
        }
        Ok(format!("/{path}"))
    }
}

/// A rendition as the run's validation takes it. The orchestrator reports only URL and pixels;
/// the frame count and keyframe flag come from demuxing the bytes, the size from the profile
/// (validation decodes every frame and checks the real size and pixel count).
fn rendition_output(
    index: usize,
    profile: &Profile,
    pixels: u64,
    data: Vec<u8>,
) -> RenditionOutput {
    let (frames, first_key) = demux_count(&data);
    RenditionOutput {
        profile_index: index,
        name: profile.name.clone(),
        width: profile.width,
        height: profile.height,
        frames,
        pixels,
        data,
        first_is_keyframe: first_key,
    }
}

/// Video packets in an MPEG-TS rendition and whether the first is a keyframe.
fn demux_count(data: &[u8]) -> (u64, bool) {
    crate::ingest::init_ffmpeg();
    let Ok(mut input) = crate::transcode::hw::MemoryInput::open(data.to_vec(), "mpegts", false)
    else {
        return (0, false);
    };
    let ictx = input.input();
    let Some(video) = ictx
        .streams()
        .best(ffmpeg_next::media::Type::Video)
        .map(|s| s.index())
    else {
        return (0, false);
    };
    let (mut frames, mut first) = (0u64, None);
    for (s, p) in ictx.packets() {
        if s.index() == video {
            frames += 1;
            first.get_or_insert(p.is_key());
        }
    }
    (frames, first.unwrap_or(false))
}

/// Splits a multipart/mixed answer into (headers text, body) parts.
fn parse_multipart(a: &Answer) -> Result<Vec<(String, Bytes)>, RemoteError> {
    let ct = a
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = ct
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .ok_or_else(|| RemoteError::Protocol("multipart answer without a boundary".into()))?;
    let delim = format!("--{boundary}\r\n");
    let body = &a.body[..];
    let mut parts = Vec::new();
    let mut pos = 0usize;
    let bad = |m: &str| RemoteError::Protocol(format!("multipart answer: {m}"));
    loop {
        if body[pos..].starts_with(format!("--{boundary}--").as_bytes()) {
            break;
        }
        if !body[pos..].starts_with(delim.as_bytes()) {
            return Err(bad("a part does not start with the boundary"));
        }
        pos += delim.len();
        let end =
            find(&body[pos..], b"\r\n\r\n").ok_or_else(|| bad("a part has no end of headers"))?;
        let head = String::from_utf8_lossy(&body[pos..pos + end]).to_string();
        pos += end + 4;
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| bad("a part has no Content-Length"))?;
        if pos + len + 2 > body.len() {
            return Err(bad("a part is cut short"));
        }
        parts.push((head, a.body.slice(pos..pos + len)));
        pos += len + 2;
    }
    Ok(parts)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_scores() {
        for (rt, seg, want) in [
            (1.5, 1.0, 1.0),
            (3.0, 2.0, 1.5),
            (1.0, 2.0, 0.5),
            (0.0, 2.0, 0.0),
        ] {
            assert!((latency_score(rt, seg) - want).abs() < 1e-12, "{rt} {seg}");
        }
    }
}
