//! Metering and economics costs: summarising an hour of power samples (10 Hz, CPU + GPU, the
//! end-of-run cost), summarising 1800 segment rows of bandwidth, and one full `evaluate_facts`
//! (capacity, money, sensitivity grid, variance), which `rigbench economics` runs per what-if.

use std::hint::black_box;

use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion};
use rigbench::economics::{evaluate_facts, Backend, PaymentFacts, PowerFacts, Rig, RunFacts};
use rigbench::metering::bandwidth;
use rigbench::metering::power::model::ComponentKind;
use rigbench::metering::power::{
    self, DeviceRecord, EnergyMethod, PowerKind, PowerRecording, PowerSample, Reading, Status,
};

fn hour_of_samples() -> PowerRecording {
    let device = |id: &str, kind, status| DeviceRecord {
        device: id.to_string(),
        kind,
        sensor: "model".into(),
        status,
        energy_method: EnergyMethod::ModelUtilisation,
        energy_joules: 3600.0 * 100.0,
        covered_seconds: 3600.0,
        assumption: None,
        notes: Vec::new(),
    };
    PowerRecording {
        interval_ms: 100,
        started_utc: Utc::now(),
        duration_seconds: 3600.0,
        devices: vec![
            device("cpu", ComponentKind::Cpu, Status::Estimated),
            device("gpu0", ComponentKind::Gpu, Status::Measured),
        ],
        samples: (0..36_000)
            .map(|i| PowerSample {
                t_seconds: f64::from(i) / 10.0,
                readings: vec![
                    Reading {
                        power_watts: Some(40.0),
                        utilisation_percent: Some(50.0),
                        ..Reading::empty(PowerKind::IntervalAverage)
                    },
                    Reading {
                        power_watts: Some(160.0),
                        ..Reading::empty(PowerKind::Instant)
                    },
                ],
            })
            .collect(),
        rest_of_system_watts: 40.0,
        psu_efficiency: Some(0.9),
        unknown_components: Vec::new(),
        notes: Vec::new(),
    }
}

fn segments() -> Vec<bandwidth::SegmentBytes> {
    let start = Utc::now();
    (0..1800u32)
        .map(|i| bandwidth::SegmentBytes {
            finished_utc: start + chrono::Duration::milliseconds(i64::from(i) * 2000 + 500),
            bytes_in: 1_500_000,
            bytes_out: 1_400_000,
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rec = hour_of_samples();
    c.bench_function("power_summarize_hour_10hz", |b| {
        b.iter(|| black_box(power::summarize(black_box(&rec), None, 1_000_000_000, 1.0)))
    });
    c.bench_function("power_csv_hour_10hz", |b| {
        b.iter(|| black_box(rigbench::report::csv::power_csv(black_box(&rec)).len()))
    });

    let rows = segments();
    let summary = bandwidth::RunTotals {
        wall_seconds: 3600.0,
        stream_seconds: 3600.0,
        bytes_in: 2_700_000_000,
        bytes_out: 2_520_000_000,
    };
    c.bench_function("bandwidth_summarize_1800_segments", |b| {
        b.iter(|| black_box(bandwidth::summarize(black_box(&rows), &summary, 1)))
    });

    let rig_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/rigs/home-consumer-gpu.toml");
    let rig = match Rig::load(&rig_path) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    let facts = RunFacts {
        partial: false,
        live: true,
        concurrent_sessions: 3,
        renditions_per_stream: 4,
        backend_used: Backend::Nvidia,
        realtime_duration_ratio: 0.42,
        throughput_x: 2.97,
        source_seconds: 180.0,
        output_pixels: 8_986_464_000,
        mbps_in_per_stream: 6.0,
        mbps_out_per_stream: 5.6,
        p95_to_mean_5min: None,
        power: Some(PowerFacts {
            components_average_watts: 180.0,
            idle_components_average_watts: Some(45.0),
            estimated: false,
        }),
        power_unknown_reason: None,
        payments: Some(PaymentFacts {
            gas_per_redemption: Some(180_000),
            ..Default::default()
        }),
    };
    c.bench_function("economics_evaluate", |b| {
        b.iter(|| black_box(evaluate_facts(black_box(&facts), &rig).map(|e| e.verdict.line.len())))
    });
    let text = std::fs::read_to_string(&rig_path).unwrap_or_default();
    c.bench_function("rig_parse", |b| {
        b.iter(|| black_box(Rig::parse(black_box(&text), "bench").is_ok()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
