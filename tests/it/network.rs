//! Network mode end to end: the real `rigbench orchestrator` process on loopback, driven by the
//! library's gateway client, by raw HTTP requests (every bad-request case of issue 13 gets
//! go-livepeer's status code and a counted reason, and the orchestrator keeps serving), by
//! concurrent sessions over `--max-sessions`, by `rigbench run --orchestrator`, and killed
//! mid-run with its winners redeemed afterwards. All bounded in time; loopback only (the shaped
//! link test makes its own namespaces).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rigbench::ingest::{self, Segment};
use rigbench::net::broadcaster::{RemoteError, RemoteSession, Target};
use rigbench::net::wire::{self, pb};
use rigbench::payments::Key;
use rigbench::transcode::ladder::{parse_presets, Profile};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rigbench"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// A `rigbench orchestrator` on 127.0.0.1, stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Orch {
    child: Child,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
}

impl Orch {
    pub fn start(extra: &[&str]) -> Orch {
        let dir = tempfile::tempdir().unwrap();
        let mut child = bin()
            .args([
                "orchestrator",
                "--listen",
                "127.0.0.1:0",
                "--backend",
                "cpu",
                "--quiet",
                "--out-dir",
            ])
            .arg(dir.path())
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("rigbench orchestrator starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("rigbench orchestrator listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        Orch { child, addr, dir }
    }

    /// The orchestrator's resident memory now, bytes (VmRSS).
    pub fn rss_bytes(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let kb = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse::<u64>()
            .ok()?;
        Some(kb * 1024)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGTERM and wait; returns orchestrator.json.
    pub fn stop(&mut self) -> serde_json::Value {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "the orchestrator stopped with {status}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the orchestrator did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let text = std::fs::read_to_string(self.dir.path().join("orchestrator.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Orch {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.kill();
        }
    }
}

/// The bundled clip cut into 2-s segments.
pub fn segments() -> (tempfile::TempDir, Vec<Segment>) {
    let dir = tempfile::tempdir().unwrap();
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bbb_720p25_5s_gop2.mp4");
    let prepared = ingest::prepare(&input, 2.0, dir.path()).unwrap();
    (dir, prepared.segments)
}

/// The bundled clip as probed.
pub fn source_info() -> rigbench::ingest::SourceInfo {
    let dir = tempfile::tempdir().unwrap();
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bbb_720p25_5s_gop2.mp4");
    ingest::prepare(&input, 2.0, dir.path()).unwrap().info
}

/// One small rendition keeps the transcodes quick on two shared cores.
pub fn ladder() -> Vec<Profile> {
    parse_presets("P144p30fps16x9").unwrap()
}

fn target(addr: SocketAddr, multipart: bool) -> Target {
    Target {
        addr,
        dialer: rigbench::net::client::tcp_dialer(),
        one_way_delay: Duration::ZERO,
        multipart,
        segment_timeout: Some(Duration::from_secs(120)),
    }
}

fn session(addr: SocketAddr, name: &str, multipart: bool) -> RemoteSession {
    let key = Key::random().unwrap();
    let deposit = alloy_primitives::U256::from(10u128.pow(18));
    RemoteSession::open(
        target(addr, multipart),
        key,
        deposit,
        name.into(),
        &ladder(),
    )
    .expect("orchestrator info")
    .0
}

/// A raw HTTP/1.1 request; returns the status code and the body text. `body_bytes` may be
/// fewer than Content-Length says (a stalled upload).
fn raw(
    addr: SocketAddr,
    headers: &[(&str, String)],
    content_length: usize,
    body: &[u8],
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!("POST /segment HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {content_length}\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn headers(seg: &str, pay: &str) -> Vec<(&'static str, String)> {
    vec![
        (wire::SEGMENT_HEADER, seg.to_string()),
        (wire::PAYMENT_HEADER, pay.to_string()),
    ]
}

#[test]
fn bad_requests_get_livepeer_codes_and_the_orchestrator_keeps_serving() {
    let (_d, segs) = segments();
    let body = std::fs::read(&segs[0].path).unwrap();
    let mut orch = Orch::start(&["--read-timeout-ms", "800", "--max-segment-bytes", "3000000"]);
    let mut s = session(orch.addr, "bad-requests", false);
    let fresh = |s: &mut RemoteSession, seq| s.signed_headers(&body, seq, 2.0).unwrap();
    // A new session's first payment always carries tickets (its credit is nothing yet).
    let first = |name: &str| {
        let mut s = session(orch.addr, name, false);
        s.signed_headers(&body, 0, 2.0).unwrap()
    };

    // 402: no payment, base64 garbage, protobuf garbage.
    let (seg_h, pay_h, _) = fresh(&mut s, 0);
    assert_eq!(
        raw(
            orch.addr,
            &[(wire::SEGMENT_HEADER, seg_h.clone())],
            body.len(),
            &body
        )
        .0,
        402
    );
    assert_eq!(
        raw(
            orch.addr,
            &headers(&seg_h, "%%%not base64"),
            body.len(),
            &body
        )
        .0,
        402
    );
    assert_eq!(
        raw(orch.addr, &headers(&seg_h, "////"), body.len(), &body).0,
        402
    );
    // 403: segment header missing or garbage, forged auth token.
    assert_eq!(
        raw(
            orch.addr,
            &[(wire::PAYMENT_HEADER, pay_h.clone())],
            body.len(),
            &body
        )
        .0,
        403
    );
    assert_eq!(
        raw(orch.addr, &headers("AAAA!", &pay_h), body.len(), &body).0,
        403
    );
    let mut forged: pb::SegData = wire::decode_header(wire::SEGMENT_HEADER, Some(&seg_h)).unwrap();
    if let Some(t) = forged.auth_token.as_mut() {
        t.token[0] ^= 1;
    }
    let (code, text) = raw(
        orch.addr,
        &headers(&wire::encode_header(&forged), &pay_h),
        body.len(),
        &body,
    );
    assert_eq!((code, text.contains("not issued")), (403, true), "{text}");
    // 403: the body's hash differs (fresh tickets, so the payment itself is good).
    let (seg_h, pay_h, _) = first("hash");
    let mut other = body.clone();
    other[1000] ^= 0xff;
    assert_eq!(
        raw(orch.addr, &headers(&seg_h, &pay_h), other.len(), &other).0,
        403
    );
    // 413: over --max-segment-bytes (refused on Content-Length, before the body).
    let (seg_h, pay_h, _) = first("large");
    assert_eq!(
        raw(orch.addr, &headers(&seg_h, &pay_h), 5_000_000, &[]).0,
        413
    );
    // 400: a replayed payment (the same tickets again), a forged ticket signature. Fresh
    // sessions, whose first payment always carries tickets.
    let mut s2 = session(orch.addr, "replay", false);
    let (seg_h, pay_h, tickets) = fresh(&mut s2, 0);
    assert!(tickets > 0);
    assert_eq!(
        raw(orch.addr, &headers(&seg_h, &pay_h), body.len(), &body).0,
        200
    );
    let (code, text) = raw(orch.addr, &headers(&seg_h, &pay_h), body.len(), &body);
    assert_eq!(
        (code, text.contains("replayed_nonce")),
        (400, true),
        "{text}"
    );
    let mut s3 = session(orch.addr, "forged", false);
    let (seg_h, pay_h, _) = fresh(&mut s3, 0);
    let mut p: pb::Payment = wire::decode_header(wire::PAYMENT_HEADER, Some(&pay_h)).unwrap();
    p.ticket_sender_params[0].sig[10] ^= 0x55;
    let (code, text) = raw(
        orch.addr,
        &headers(&seg_h, &wire::encode_header(&p)),
        body.len(),
        &body,
    );
    assert_eq!(code, 400, "{text}");
    // 408: an upload that stalls mid-body is cut off by the read timeout.
    let (seg_h, pay_h, _) = first("stall");
    let started = Instant::now();
    assert_eq!(
        raw(
            orch.addr,
            &headers(&seg_h, &pay_h),
            body.len(),
            &body[..1000]
        )
        .0,
        408
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    // A client that disconnects mid-response: read the status line only, then hang up.
    let (seg_h, pay_h, _) = first("gone");
    {
        let mut c = TcpStream::connect(orch.addr).unwrap();
        let req = format!(
            "POST /segment HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n{}: {seg_h}\r\n{}: {pay_h}\r\n\r\n",
            body.len(),
            wire::SEGMENT_HEADER,
            wire::PAYMENT_HEADER
        );
        c.write_all(req.as_bytes()).unwrap();
        c.write_all(&body).unwrap();
        let mut first = [0u8; 12];
        c.read_exact(&mut first).unwrap();
        assert_eq!(&first, b"HTTP/1.1 200");
    }
    // Not HTTP at all.
    {
        let mut c = TcpStream::connect(orch.addr).unwrap();
        c.write_all(b"\x16\x03\x01 garbage\r\n\r\n").unwrap();
        let _ = c.read(&mut [0u8; 64]);
    }

    // Still serving: a whole segment by URL, then one with the renditions inline.
    // (`s` signed tickets it never delivered, so its credit is off: a gateway opens a new
    // session after a refusal, as the run does.)
    drop(s);
    let mut s = session(orch.addr, "good", false);
    let done = s
        .send_segment(&segs[1], 0)
        .expect("a good segment after the bad ones");
    assert_eq!(done.output.renditions.len(), 1);
    assert!(done.network.wire_bytes_sent > done.network.media_bytes_sent);
    assert!(done.network.wire_bytes_received > done.network.media_bytes_received);
    assert!(done.network.upload_seconds > 0.0 && done.network.download_seconds > 0.0);
    let mut inline = session(orch.addr, "inline", true);
    let done = inline.send_segment(&segs[0], 0).expect("renditions inline");
    assert!(done.output.renditions[0].data.len() > 1000);
    let checks =
        rigbench::validation::validate_segment(&done.output, &ladder(), &segs[0], &source_info());
    assert!(checks.iter().all(|c| c.failures.is_empty()), "{checks:?}");

    let summary = orch.stop();
    let refusals = &summary["refusals"];
    for reason in [
        "payment_missing",
        "payment_malformed",
        "segment_header_missing",
        "segment_header_malformed",
        "auth_token_forged",
        "hash_mismatch",
        "body_too_large",
        "payment_rejected",
        "read_timeout",
    ] {
        assert!(
            refusals[reason].as_u64().unwrap_or(0) >= 1,
            "{reason} not counted: {refusals}"
        );
    }
    assert_eq!(refusals["payment_malformed"], 2);
    assert_eq!(refusals["payment_rejected"], 2);
    assert!(
        summary["responses_abandoned"].as_u64().unwrap() >= 1,
        "{summary}"
    );
    assert!(
        summary["segments_transcoded"].as_u64().unwrap() >= 3,
        "{summary}"
    );
}

fn ticket_files(payments: &Path) -> usize {
    std::fs::read_dir(payments.join("tickets"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn more_sessions_than_max_sessions_get_renditions_or_a_clear_refusal() {
    let (_d, segs) = segments();
    // A high price makes many tickets per segment, so some win and must all be on disk.
    let mut orch = Orch::start(&[
        "--max-sessions",
        "2",
        "--price-per-pixel",
        "200000",
        "--ticket-ev",
        "3000000000000",
        "--redeem-gas-price",
        "0.00001",
    ]);
    let addr = orch.addr;
    let done = std::sync::atomic::AtomicBool::new(false);
    let mut peak_rss = 0u64;
    let results: Vec<Vec<Result<(), String>>> = std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            let mut peak = 0u64;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                peak = peak.max(orch.rss_bytes().unwrap_or(0));
                std::thread::sleep(Duration::from_millis(50));
            }
            peak
        });
        let handles: Vec<_> = (0..5)
            .map(|i| {
                let segs = &segs;
                scope.spawn(move || {
                    let mut s = session(addr, &format!("load-{i}"), false);
                    (0..2)
                        .map(|n| match s.send_segment(&segs[n], n as i64) {
                            Ok(d) if d.output.renditions.len() == 1 => Ok(()),
                            Ok(_) => Err("wrong renditions".to_string()),
                            Err(e @ RemoteError::Refused { .. }) => Err(e.reason()),
                            Err(e) => panic!("session {i}: not a clear refusal: {e}"),
                        })
                        .collect()
                })
            })
            .collect();
        let results = handles.into_iter().map(|h| h.join().unwrap()).collect();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        peak_rss = sampler.join().unwrap();
        results
    });
    // Memory stays bounded under load: refused sessions hold nothing, served ones one segment
    // and its renditions at a time (a debug build with FFmpeg loaded is ~100-200 MB).
    assert!(peak_rss > 0, "could not read the orchestrator's memory");
    assert!(
        peak_rss < 1 << 30,
        "the orchestrator peaked at {} MiB under load",
        peak_rss >> 20
    );
    let served = results
        .iter()
        .filter(|r| r.iter().all(Result::is_ok))
        .count();
    let capped = results
        .iter()
        .flatten()
        .filter(|r| r.as_ref().err().is_some_and(|e| e == "orchestrator_capped"))
        .count();
    assert_eq!(served, 2, "{results:?}");
    assert_eq!(capped, 3 * 2, "{results:?}");
    let summary = orch.stop();
    assert_eq!(summary["sessions_peak"], 2);
    assert_eq!(summary["refusals"]["orchestrator_capped"], 6);
    let winners = summary["tickets"]["winning_tickets"].as_u64().unwrap() as usize;
    assert_eq!(
        ticket_files(&orch.dir.path().join("payments")),
        winners,
        "every winner is on disk"
    );
}

fn run_bin(args: &[&str]) -> Output {
    bin().args(args).output().expect("rigbench runs")
}

#[test]
fn run_orchestrator_self_transcodes_over_loopback() {
    let out = tempfile::tempdir().unwrap();
    let o = run_bin(&[
        "run",
        "--segment-timeout",
        "120",
        "--orchestrator",
        "self",
        "--no-live",
        "--segs",
        "2",
        "--backend",
        "cpu",
        "--transcoding-options",
        "P144p30fps16x9",
        "--quiet",
        "--out-dir",
        out.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("run.json")).unwrap())
            .unwrap();
    let n = &run["network"];
    assert_eq!(n["segments_ok"], 2, "{n}");
    assert_eq!(n["self_hosted"], true);
    assert!(n["wire_bytes_sent"].as_u64() > n["media_bytes_sent"].as_u64());
    assert!(n["protocol_overhead_ratio"].as_f64().unwrap() > 0.0);
    assert!(n["latency_score"]["max"].as_f64().unwrap() > 0.0);
    assert_eq!(run["summary"]["validation"]["renditions_failed"], 0);
    assert_eq!(
        run["network"]["orchestrator_summary"]["segments_transcoded"],
        2
    );
    let csv = std::fs::read_to_string(out.path().join("network.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    // The report shows the round trip's split and the protocol's overhead.
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    for needle in [
        "Network",
        "Round trip",
        "Latency score",
        "Protocol overhead",
    ] {
        assert!(
            md.contains(needle),
            "{needle} missing from report.md:\n{md}"
        );
    }
    // The transcode ran in the orchestrator's process: the CPU split says so.
    assert!(run["cpu"]["unavailable_reason"]
        .as_str()
        .unwrap()
        .contains("orchestrator's process"));
}

#[test]
fn killing_the_orchestrator_mid_run_keeps_rows_and_winners() {
    let mut orch = Orch::start(&[
        "--price-per-pixel",
        "1000000",
        "--ticket-ev",
        "3000000000000",
        "--redeem-gas-price",
        "0.00001",
    ]);
    let out = tempfile::tempdir().unwrap();
    let mut run = bin()
        .args([
            "run",
            "--segment-timeout",
            "120",
            "--orchestrator",
            &orch.url(),
            "--live",
            "--loop",
            "4",
            "--backend",
            "cpu",
            "--transcoding-options",
            "P144p30fps16x9",
            "--quiet",
            "--price-per-pixel",
            "1000000",
            "--ticket-ev",
            "3000000000000",
            "--out-dir",
        ])
        .arg(out.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let csv = out.path().join("network.csv");
    let deadline = Instant::now() + Duration::from_secs(90);
    while std::fs::read_to_string(&csv)
        .map(|c| c.lines().count())
        .unwrap_or(0)
        < 3
    {
        assert!(Instant::now() < deadline, "no segment came back");
        std::thread::sleep(Duration::from_millis(100));
    }
    orch.kill();
    let status = run.wait().unwrap();
    let mut err = String::new();
    run.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!(status.code(), Some(3), "{err}");
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("run.json")).unwrap())
            .unwrap();
    assert_eq!(result["partial"], true);
    assert!(
        result["network"]["segments_failed"]["unreachable"]
            .as_u64()
            .unwrap_or(0)
            >= 1,
        "{}",
        result["network"]
    );
    let rows = std::fs::read_to_string(out.path().join("segments.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    assert!(rows >= 2, "finished rows kept: {rows}");
    // The winners the orchestrator persisted are redeemed afterwards.
    let payments: PathBuf = orch.dir.path().join("payments");
    let o = run_bin(&["redeem", "--data-dir", payments.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let files = ticket_files(&payments);
    assert!(
        text.contains(&format!("redeemed {files} winners")),
        "{files} files: {text}"
    );
}

#[test]
fn a_shaped_link_limits_the_upload() {
    if rigbench::net::link::Link::create(1.0, 0.0).is_err() {
        crate::support::skip_optional(
            "a_shaped_link_limits_the_upload",
            "network namespaces are not available here (not root?)",
        );
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let o = run_bin(&[
        "run",
        "--segment-timeout",
        "120",
        "--orchestrator",
        "self",
        "--link-mbps",
        "20",
        "--link-rtt-ms",
        "40",
        "--no-live",
        "--segs",
        "1",
        "--backend",
        "cpu",
        "--transcoding-options",
        "P144p30fps16x9",
        "--quiet",
        "--out-dir",
        out.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("run.json")).unwrap())
            .unwrap();
    let n = &run["network"];
    assert_eq!(n["link"]["rate_mbps"], 20.0);
    assert!(["emulated", "netem"].contains(&n["link"]["rtt_method"].as_str().unwrap()));
    // At 20 Mbit/s the segment's bytes need at least bytes × 8 / 20e6 seconds, plus the RTT.
    let min = n["wire_bytes_sent"].as_f64().unwrap() * 8.0 / 20e6 + 0.02;
    assert!(n["upload_seconds"]["max"].as_f64().unwrap() >= min, "{n}");
    // The namespaces are gone.
    let ns = Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(
        !String::from_utf8_lossy(&ns.stdout).contains("rigbench-"),
        "namespaces left behind"
    );
}

#[test]
fn bad_network_flags_are_usage_errors() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    for (args, want) in [
        (vec!["run", "--orchestrator", "ftp://x"], "--orchestrator"),
        (
            vec!["run", "--orchestrator", "http://127.0.0.1:9/x"],
            "base URL",
        ),
        (
            vec!["run", "--orchestrator", "self", "--no-payments"],
            "--no-payments",
        ),
        (
            vec!["run", "--orchestrator", "self", "--link-mbps", "0"],
            "--link-mbps",
        ),
        (
            vec![
                "run",
                "--orchestrator",
                "http://127.0.0.1:9",
                "--link-mbps",
                "5",
            ],
            "--orchestrator self",
        ),
        (vec!["run", "--metrics-addr", "nowhere"], "--metrics-addr"),
        (vec!["orchestrator", "--listen", "garbage"], "--listen"),
        (
            vec!["orchestrator", "--max-sessions", "0"],
            "--max-sessions",
        ),
        (
            vec!["orchestrator", "--read-timeout-ms", "0"],
            "--read-timeout-ms",
        ),
        (vec!["orchestrator", "--ticket-ev=-1"], "--ticket-ev"),
    ] {
        let mut a = args.clone();
        a.extend(["--out-dir", dir]);
        let o = run_bin(&a);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    // A port that is taken is a usage error too.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let o = run_bin(&["orchestrator", "--listen", &addr, "--out-dir", dir]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
