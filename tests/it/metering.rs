//! Metering through the public API on this machine: the sampler with a rig's declared model,
//! the inventory, and power.csv.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use rigbench::economics::Rig;
use rigbench::metering::inventory::HostInfo;
use rigbench::metering::power::{self, PowerSampler, Status};
use rigbench::report::text::probe_text;

fn cpu_only_rig() -> Rig {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rigs/cpu-only.toml");
    Rig::load(&path).expect("cpu-only rig loads")
}

#[test]
fn sampler_with_the_cpu_only_rig_gives_labelled_power() {
    let rig = cpu_only_rig();
    let cfg = rig.power_config(20);
    let idle = power::measure_idle(&cfg, 0.2, &AtomicBool::new(false));
    let sampler = PowerSampler::start(cfg).expect("sampler starts");
    // Some work for /proc/stat to see.
    let t = std::time::Instant::now();
    let mut x = 0u64;
    while t.elapsed() < Duration::from_millis(200) {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
    }
    std::hint::black_box(x);
    let rec = sampler.stop();
    let s = power::summarize(&rec, Some(&idle), 1_000_000_000, 0.01);
    let rig_power = s
        .rig
        .clone()
        .expect("a declared CPU model makes the rig's power known");
    let cpu = s
        .sources
        .iter()
        .find(|src| src.kind.as_str() == "cpu")
        .expect("a CPU source");
    if cpu.sensor == "rapl" {
        println!("RAPL readable here: CPU measured");
        assert_eq!(cpu.status, Status::Measured);
    } else {
        assert_eq!(cpu.status, Status::Estimated);
        assert_eq!(rig_power.status, Status::Estimated);
        // (5..25 W + 10 W) / 0.9
        assert!(
            rig_power.average_watts >= 15.0 / 0.9 - 1e-9
                && rig_power.average_watts <= 35.0 / 0.9 + 1e-9
        );
    }
    assert!(s.joules_per_output_megapixel.is_some());
    assert!(s.incremental_energy_joules.is_some() || idle.rig_average_watts.is_none());
    let csv = String::from_utf8(rigbench::report::csv::power_csv(&rec)).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.starts_with("t_seconds,") && header.contains("rig_watts"),
        "{header}"
    );
    let json = serde_json::to_value(&s).unwrap();
    assert!(json["sources"][0]["status"].is_string());
}

#[test]
fn with_no_model_and_no_sensor_power_is_unknown() {
    let cfg = power::PowerConfig {
        interval_ms: 20,
        use_nvml: false,
        powercap_root: "/nonexistent".into(),
        ..Default::default()
    };
    let rec = PowerSampler::start(cfg).unwrap().stop();
    let s = power::summarize(&rec, None, 1, 1.0);
    assert!(s.rig.is_none());
    assert!(s.rig_unknown_reason.unwrap().contains("cpu"));
}

#[test]
fn inventory_and_probe_text() {
    let host = HostInfo::detect();
    let text = probe_text(&host, &rigbench::transcode::capabilities());
    println!("{text}");
    assert!(text.contains("cpu:") && text.contains("nvml:"));
    if host.gpus.is_empty() {
        println!("skip GPU checks: {}", host.nvml_status);
    } else {
        for g in &host.gpus {
            assert!(
                g.name.is_some(),
                "GPU {} without a name: {:?}",
                g.index,
                g.notes
            );
        }
    }
    let json = serde_json::to_string(&host).unwrap();
    let back: HostInfo = serde_json::from_str(&json).unwrap();
    assert_eq!(back.ffmpeg, host.ffmpeg);
}
