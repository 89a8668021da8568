//! report.html in a real browser: one short real run (which also keeps a baseline, for the gate
//! tests), rendered by headless Chromium; the screenshot must not be blank, the DOM must hold
//! every chart, and every SVG must parse as XML. The run is shared with `compare` and `gate`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// A finished real run shared by the publish tests: (working directory holding
/// reports/baselines/shared/, the run's out-dir).
pub struct SharedRun {
    pub cwd: PathBuf,
    pub out: PathBuf,
}

pub fn bin_in(cwd: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rigbench"));
    c.current_dir(cwd);
    c
}

fn fixture(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .display()
        .to_string()
}

/// Runs the short benchmark once per test process: 3 segments of the bundled clip through one
/// small rendition, as fast as possible, with the CPU rig file, kept as baseline `shared`.
pub fn shared_run() -> &'static SharedRun {
    static RUN: OnceLock<SharedRun> = OnceLock::new();
    RUN.get_or_init(|| {
        let cwd = tempfile::tempdir().unwrap().keep();
        let out = cwd.join("run");
        let o = bin_in(&cwd)
            .args(["run", "--in", &fixture("fixtures/bbb_720p25_5s_gop2.mp4")])
            .args(["--transcoding-options", "P144p30fps16x9", "--no-live"])
            .args(["--repeat", "3", "--no-payments", "--quiet"])
            .args(["--rig", &fixture("fixtures/rigs/cpu-only.toml")])
            .args(["--save-baseline", "shared", "--out-dir"])
            .arg(&out)
            .output()
            .expect("rigbench runs");
        assert!(
            o.status.success(),
            "shared run failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        SharedRun { cwd, out }
    })
}

/// Headless Chromium with the flags a root container needs and no network chatter.
pub fn chromium(profile: &Path) -> Option<Command> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            // Chromium can hang on a broken set-up: bounded by coreutils' timeout.
            let mut c = Command::new("timeout");
            c.args(["60", name]);
            c.args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
            ])
            .arg(format!("--user-data-dir={}", profile.display()));
            return Some(c);
        }
    }
    None
}

pub fn run_bounded(mut c: Command) -> Output {
    c.output().expect("timeout runs")
}

/// Every chart of a run page, and its SVG, for a given HTML text.
pub fn check_svgs(html: &str) -> usize {
    let mut n = 0;
    let mut rest = html;
    while let Some(start) = rest.find("<svg") {
        let end = rest[start..].find("</svg>").expect("closed svg") + start + "</svg>".len();
        let svg = &rest[start..end];
        roxmltree::Document::parse(svg).unwrap_or_else(|e| {
            panic!(
                "an SVG does not parse as XML: {e}\n{}",
                &svg[..svg.len().min(400)]
            )
        });
        n += 1;
        rest = &rest[end..];
    }
    n
}

#[test]
fn run_writes_a_page_every_chart_renders_in_chromium() {
    let run = shared_run();
    let page = run.out.join("report.html");
    let html = std::fs::read_to_string(&page).expect("report.html beside report.md");
    assert!(run.out.join("report.md").is_file());
    for banned in ["<script", "<link", "@import", "src=\"http", "url(http"] {
        assert!(
            !html.contains(banned),
            "page is not self-contained: {banned}"
        );
    }
    // Verdict and the figures behind it come first, then livepeer_bench's table.
    let verdict = html.find("class=\"verdict").expect("verdict");
    let bench = html.find("livepeer_bench").expect("livepeer_bench table");
    let first_chart = html.find("<figure").expect("charts");
    assert!(verdict < bench && bench < first_chart);
    for id in rigbench::report::html::RUN_CHART_IDS {
        let at = html
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("{id} missing"));
        let figure_end = html[at..].find("</figure>").unwrap() + at;
        assert!(
            html[at..figure_end].contains("<svg"),
            "{id} has no chart: {}",
            &html[at..figure_end.min(at + 300)]
        );
    }
    assert_eq!(
        check_svgs(&html),
        rigbench::report::html::RUN_CHART_IDS.len()
    );
    // The CPU rig's power is a model: the chart says so.
    assert!(html.contains("(estimated)"), "estimated power unmarked");

    let profile = tempfile::tempdir().unwrap();
    let Some(mut dump) = chromium(&profile.path().join("dom")) else {
        crate::support::skip(
            "html chromium",
            "chromium is not installed (scripts/setup installs Debian's chromium)",
        );
        return;
    };
    dump.arg("--dump-dom")
        .arg(format!("file://{}", page.display()));
    let o = run_bounded(dump);
    assert!(
        o.status.success(),
        "chromium --dump-dom: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let dom = String::from_utf8_lossy(&o.stdout);
    for id in rigbench::report::html::RUN_CHART_IDS {
        assert!(
            dom.contains(&format!("id=\"{id}\"")),
            "{id} not in the browser's DOM"
        );
    }
    assert!(dom.matches("<svg").count() >= rigbench::report::html::RUN_CHART_IDS.len());

    let shot = profile.path().join("shot.png");
    let mut snap = chromium(&profile.path().join("shot")).unwrap();
    snap.arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1200,4000")
        .arg(format!("file://{}", page.display()));
    let o = run_bounded(snap);
    assert!(
        o.status.success(),
        "chromium --screenshot: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    // A blank 1200x4000 page compresses to a few kilobytes; charts and tables make far more.
    let blank = profile.path().join("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><html><body></body></html>").unwrap();
    let blank_shot = profile.path().join("blank.png");
    let mut b = chromium(&profile.path().join("blank")).unwrap();
    b.arg(format!("--screenshot={}", blank_shot.display()))
        .arg("--window-size=1200,4000")
        .arg(format!("file://{}", blank.display()));
    assert!(run_bounded(b).status.success());
    let blank_len = std::fs::metadata(&blank_shot).unwrap().len();
    assert!(
        png.len() as u64 > 10 * blank_len,
        "screenshot looks blank: {} bytes, a blank page is {blank_len}",
        png.len()
    );
}
