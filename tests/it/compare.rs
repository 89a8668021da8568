//! `rigbench compare` on the real binary: two rigs' results give a Markdown table (best marked)
//! and a page; results of different ladders are refused naming what differs, unless --force,
//! and then the page says so.

use super::gate::edited_copy;
use super::html::{bin_in, check_svgs, shared_run};

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn compare_two_rigs_gives_table_and_page() {
    let run = shared_run();
    let cwd = &run.cwd;
    // "Another rig": the same work on a faster machine.
    let other = edited_copy(
        &run.out,
        &cwd.join("rig-b"),
        |v| {
            v["host"]["cpu_model"] = "Faster CPU".into();
            for r in v["repeats"].as_array_mut().unwrap() {
                let x = r["throughput_x"].as_f64().unwrap();
                r["throughput_x"] = serde_json::json!(x * 3.0);
            }
        },
        1.0 / 3.0,
    );
    let md = cwd.join("compare.md");
    let html = cwd.join("compare.html");
    let o = bin_in(cwd)
        .arg("compare")
        .arg(&run.out)
        .arg(&other)
        .arg("--md")
        .arg(&md)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let table = std::fs::read_to_string(&md).unwrap();
    assert_eq!(table, String::from_utf8_lossy(&o.stdout));
    for row in [
        "capacity (streams)",
        "throughput (x real time)",
        "output pixels (Mpixel/s)",
        "rig power (W)",
        "energy (J/Mpixel)",
        "bandwidth per stream (out) (Mbps)",
        "cost per stream-hour (US$)",
        "margin per rig-hour (US$)",
        "break-even price (wei/pixel)",
    ] {
        assert!(
            table.contains(&format!("| {row} |")),
            "{row} missing:\n{table}"
        );
    }
    let throughput = table
        .lines()
        .find(|l| l.starts_with("| throughput"))
        .unwrap();
    let cells: Vec<&str> = throughput.split(" | ").collect();
    assert!(
        cells[2].starts_with("**"),
        "the faster rig is best: {throughput}"
    );
    assert!(
        throughput.contains(" ± "),
        "spread over repeats: {throughput}"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("class=\"best\""));
    assert!(page.contains("id=\"chart-compare-throughput\""));
    assert!(check_svgs(&page) >= 1);
}

#[test]
fn compare_refuses_different_ladders_unless_forced() {
    let run = shared_run();
    let cwd = &run.cwd;
    let other = edited_copy(
        &run.out,
        &cwd.join("other-ladder"),
        |v| v["fingerprint"]["ladder_sha256"] = "0123456789abcdef".into(),
        1.0,
    );
    let o = bin_in(cwd)
        .arg("compare")
        .arg(&run.out)
        .arg(&other)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("ladder (hash) differs"), "{}", text(&o));
    assert!(text(&o).contains("--force"));
    let html = cwd.join("forced.html");
    let o = bin_in(cwd)
        .arg("compare")
        .arg(&run.out)
        .arg(&other)
        .arg("--force")
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("Compared with --force"));
    assert!(std::fs::read_to_string(&html)
        .unwrap()
        .contains("Compared with --force although they differ"));
    // One result, a missing one, and an --html that is a folder.
    for args in [
        vec![run.out.to_str().unwrap().to_string()],
        vec![
            run.out.to_str().unwrap().to_string(),
            "/nonexistent/run.json".into(),
        ],
        vec![
            run.out.to_str().unwrap().to_string(),
            other.to_str().unwrap().to_string(),
            "--force".into(),
            "--html".into(),
            cwd.to_str().unwrap().to_string(),
        ],
    ] {
        let o = bin_in(cwd).arg("compare").args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
    }
}
