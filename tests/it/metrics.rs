//! `/metrics` on `--metrics-addr` passes Prometheus's own `promtool check metrics` and carries
//! go-livepeer's names and labels.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::network::{ladder, segments, Orch};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn scrape(port: u16) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    out.split_once("\r\n\r\n").unwrap().1.to_string()
}

#[test]
fn orchestrator_metrics_pass_promtool() {
    if Command::new("promtool").arg("--version").output().is_err() {
        crate::support::skip(
            "orchestrator_metrics_pass_promtool",
            "promtool is not installed (Debian's prometheus package)",
        );
        return;
    }
    let port = free_port();
    let mut orch = Orch::start(&["--metrics-addr", &format!("127.0.0.1:{port}")]);
    let (_d, segs) = segments();
    let key = rigbench::payments::Key::random().unwrap();
    let target = rigbench::net::broadcaster::Target {
        addr: orch.addr,
        dialer: rigbench::net::client::tcp_dialer(),
        one_way_delay: Duration::ZERO,
        multipart: false,
        segment_timeout: Some(Duration::from_secs(120)),
    };
    let (mut s, _) = rigbench::net::broadcaster::RemoteSession::open(
        target,
        key,
        alloy_primitives::U256::from(10u128.pow(18)),
        "metrics".into(),
        &ladder(),
    )
    .unwrap();
    s.send_segment(&segs[0], 0).unwrap();
    let text = scrape(port);
    for name in [
        "livepeer_transcode_time_seconds_bucket",
        "livepeer_segment_transcoded_total",
        "livepeer_current_sessions_total",
        "livepeer_max_sessions_total",
        "livepeer_tickets_recv_total",
        "livepeer_mil_pixels_processed_total",
        "livepeer_transcoding_price",
        "rigbench_wire_bytes_total",
        "rigbench_power_watts",
        "node_type=\"orch\"",
    ] {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
    promtool_passes(&text);
    orch.stop();
}

/// `promtool check metrics` on `text`: it parses, and the only lint findings are go-livepeer's
/// own two gauges whose names end in _total, kept for its dashboards.
fn promtool_passes(text: &str) {
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let o = promtool.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    // The text parses (a parse error is fatal); the only lint findings allowed are go-livepeer's
    // own two gauges whose names end in _total, kept for its dashboards.
    let unexpected: Vec<&str> = said
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| {
            !(l.contains("non-counter metrics should not have \"_total\" suffix")
                && (l.starts_with("livepeer_current_sessions_total")
                    || l.starts_with("livepeer_max_sessions_total")))
        })
        .collect();
    assert!(unexpected.is_empty(), "promtool: {said}\n{text}");
    assert!(
        o.status.success() || !said.is_empty(),
        "promtool failed silently"
    );
}

/// The value of the first sample of `name` in a scrape (0 when absent).
fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn a_capacity_search_serves_one_endpoint_across_its_probes() {
    if Command::new("promtool").arg("--version").output().is_err() {
        crate::support::skip(
            "a_capacity_search_serves_one_endpoint_across_its_probes",
            "promtool is not installed (Debian's prometheus package)",
        );
        return;
    }
    let port = free_port();
    let out = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rigbench"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "capacity",
            "--transcoding-options",
            "P144p30fps16x9",
            "--backend",
            "cpu",
            "--no-payments",
            "--rig",
            "fixtures/rigs/cpu-only.toml",
            "--probe-segments",
            "1",
            "--max-sessions",
            "2",
            "--max-repeats",
            "1",
            "--quiet",
            "--metrics-addr",
            &format!("127.0.0.1:{port}"),
            "--out-dir",
        ])
        .arg(out.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Scrape while the search runs: the counters only grow across probes (one registry), and
    // the power gauge is fed by the sampler (the rig's declared model here).
    let deadline = std::time::Instant::now() + Duration::from_secs(240);
    let (mut best, mut last_count) = (String::new(), 0.0);
    while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut raw = String::new();
            if s.read_to_string(&mut raw).is_ok() {
                if let Some((_, body)) = raw.split_once("\r\n\r\n") {
                    let n = sample(body, "livepeer_segment_transcoded_total");
                    assert!(n >= last_count, "the count went back: {n} < {last_count}");
                    last_count = n;
                    if n > 0.0 && sample(body, "rigbench_power_watts") > 0.0 {
                        best = body.to_string();
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let _ = child.kill();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        !best.is_empty(),
        "no scrape showed a transcoded segment and power (last count {last_count})"
    );
    assert!(sample(&best, "rigbench_energy_joules") > 0.0, "{best}");
    assert!(best.contains("node_type=\"bctr\""), "{best}");
    promtool_passes(&best);
    // The endpoint is gone with the search.
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}
