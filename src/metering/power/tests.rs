use super::nvml::{GpuQuery, GpuRaw, NvmlMeter};
use super::*;
use nvml_wrapper::error::NvmlError;

/// A GPU whose NVML loads but answers NotSupported for the energy counter; power steps by 10 W
/// per read starting at 100 W.
struct NoEnergyGpu {
    reads: std::sync::atomic::AtomicU32,
}

impl GpuQuery for NoEnergyGpu {
    fn index(&self) -> u32 {
        0
    }
    fn read(&self) -> GpuRaw {
        let n = self.reads.fetch_add(1, Ordering::Relaxed);
        GpuRaw {
            energy_mj: Err(NvmlError::NotSupported),
            power_mw: Ok(100_000 + 10_000 * n),
            telemetry: GpuTelemetry {
                gpu_utilisation_percent: Some(50),
                encoder_sessions: Some(4),
                ..Default::default()
            },
        }
    }
}

/// A GPU with a working energy counter (1 J per read) and no power reading.
struct CounterGpu {
    reads: std::sync::atomic::AtomicU32,
    power: bool,
}

impl GpuQuery for CounterGpu {
    fn index(&self) -> u32 {
        1
    }
    fn read(&self) -> GpuRaw {
        let n = self.reads.fetch_add(1, Ordering::Relaxed);
        GpuRaw {
            energy_mj: Ok(5_000_000 + 1000 * u64::from(n)),
            power_mw: if self.power {
                Ok(123_000)
            } else {
                Err(NvmlError::NotSupported)
            },
            telemetry: GpuTelemetry {
                gpu_utilisation_percent: Some(80),
                ..Default::default()
            },
        }
    }
}

fn gpu_model() -> DeclaredComponent {
    DeclaredComponent {
        name: "RTX 4070".into(),
        kind: ComponentKind::Gpu,
        idle_watts: 10.0,
        full_load_watts: 210.0,
    }
}

#[test]
fn nvml_energy_not_supported_falls_back_to_integrating_power_and_says_so() {
    let mut m = NvmlMeter::new(NoEnergyGpu { reads: 0.into() }, None);
    let mut acc = EnergyAccumulator::default();
    for (i, t) in [0.0, 1.0, 2.0].into_iter().enumerate() {
        let r = m.read();
        assert_eq!(r.energy_counter_joules, None);
        assert_eq!(r.power_watts, Some(100.0 + 10.0 * i as f64));
        acc.add(t, &r);
    }
    assert_eq!(m.energy_method(), EnergyMethod::IntegratedPower);
    assert_eq!(m.status(), Status::Measured);
    // Trapezoid: (100+110)/2 + (110+120)/2 = 220 J over 2 s.
    assert!((acc.joules - 220.0).abs() < 1e-9, "{}", acc.joules);
    assert_eq!(m.notes().len(), 1, "said once: {:?}", m.notes());
    assert!(m.notes()[0].contains("energy integrated from power samples"));
}

#[test]
fn nvml_energy_counter_deltas_are_used_when_supported() {
    let mut m = NvmlMeter::new(
        CounterGpu {
            reads: 0.into(),
            power: true,
        },
        None,
    );
    let mut acc = EnergyAccumulator::default();
    for t in [0.0, 0.1, 0.2, 0.3] {
        acc.add(t, &m.read());
    }
    assert_eq!(m.energy_method(), EnergyMethod::EnergyCounter);
    assert!(
        (acc.joules - 3.0).abs() < 1e-9,
        "counter deltas, not 123 W × 0.3 s: {}",
        acc.joules
    );
}

#[test]
fn nvml_power_not_supported_uses_declared_model_at_nvml_utilisation() {
    let mut m = NvmlMeter::new(
        CounterGpu {
            reads: 0.into(),
            power: false,
        },
        Some(gpu_model()),
    );
    let r = m.read();
    assert_eq!(r.power_watts, Some(170.0)); // 10 + 200 × 0.8
    assert_eq!(m.status(), Status::Estimated);
    assert_eq!(m.energy_method(), EnergyMethod::ModelUtilisation);
    let mut bare = NvmlMeter::new(
        CounterGpu {
            reads: 0.into(),
            power: false,
        },
        None,
    );
    assert_eq!(bare.read().power_watts, None);
    assert!(bare.notes()[0].contains("power unknown"));
}

/// A fixed-watt meter for sampler tests.
struct Fixed {
    id: &'static str,
    kind: ComponentKind,
    watts: f64,
    status: Status,
}

impl Meter for Fixed {
    fn device(&self) -> &str {
        self.id
    }
    fn kind(&self) -> ComponentKind {
        self.kind
    }
    fn sensor(&self) -> &'static str {
        "model"
    }
    fn status(&self) -> Status {
        self.status
    }
    fn energy_method(&self) -> EnergyMethod {
        EnergyMethod::ModelUtilisation
    }
    fn read(&mut self) -> Reading {
        Reading {
            power_watts: Some(self.watts),
            ..Reading::empty(PowerKind::Instant)
        }
    }
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

fn recording(
    devices: Vec<(&str, ComponentKind, Status, f64)>,
    seconds: f64,
    unknown: Vec<String>,
) -> PowerRecording {
    // Built by hand: a constant-watt device sampled each second.
    let n = seconds as usize;
    PowerRecording {
        interval_ms: 1000,
        started_utc: Utc::now(),
        duration_seconds: seconds,
        devices: devices
            .iter()
            .map(|(id, kind, status, w)| DeviceRecord {
                device: id.to_string(),
                kind: *kind,
                sensor: "model".into(),
                status: *status,
                energy_method: EnergyMethod::ModelUtilisation,
                energy_joules: w * seconds,
                covered_seconds: seconds,
                assumption: None,
                notes: Vec::new(),
            })
            .collect(),
        samples: (0..=n)
            .map(|i| PowerSample {
                t_seconds: i as f64,
                readings: devices
                    .iter()
                    .map(|d| Reading {
                        power_watts: Some(d.3),
                        ..Reading::empty(PowerKind::Instant)
                    })
                    .collect(),
            })
            .collect(),
        rest_of_system_watts: 30.0,
        psu_efficiency: Some(0.9),
        unknown_components: unknown,
        notes: Vec::new(),
    }
}

#[test]
fn summary_whole_rig_idle_and_ratios() {
    let rec = recording(
        vec![
            ("cpu", ComponentKind::Cpu, Status::Estimated, 40.0),
            ("gpu0", ComponentKind::Gpu, Status::Measured, 110.0),
        ],
        10.0,
        Vec::new(),
    );
    let idle = IdleBaseline {
        seconds: 5.0,
        sample_count: 6,
        components_average_watts: Some(60.0),
        rig_average_watts: Some(100.0),
        status: Some(Status::Estimated),
        device_average_watts: BTreeMap::new(),
        note: None,
    };
    // 3600 pixels... use 1e9 pixels and 0.02 stream-hours.
    let s = summarize(&rec, Some(&idle), 1_000_000_000, 0.02);
    assert_eq!(s.status, Some(Status::Estimated));
    assert_eq!(s.components_average_watts, Some(150.0));
    let rig = s.rig.clone().unwrap();
    // (150 + 30) / 0.9 = 200 W over 10 s = 2000 J.
    assert!((rig.average_watts - 200.0).abs() < 1e-9);
    assert!((rig.energy_joules - 2000.0).abs() < 1e-9);
    assert_eq!(rig.status, Status::Estimated);
    assert!((s.incremental_energy_joules.unwrap() - 1000.0).abs() < 1e-9);
    assert!((s.joules_per_output_megapixel.unwrap() - 2.0).abs() < 1e-9);
    assert!((s.joules_per_stream_hour.unwrap() - 100_000.0).abs() < 1e-6);
    assert!((s.incremental_joules_per_stream_hour.unwrap() - 50_000.0).abs() < 1e-6);

    let rows = crate::report::sections::power_rows(&s);
    assert!(
        rows.contains(&(
            "power cpu (estimated)".to_string(),
            "40.0 W average, 40.0 W peak, 400 J (model, declared model × utilisation)".to_string()
        )),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|(l, v)| l == "power whole rig (estimated)" && v.starts_with("200.0 W average")),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|(l, v)| l == "energy per output megapixel (estimated)" && v == "2.000 J"),
        "{rows:?}"
    );

    let csv = String::from_utf8(crate::report::csv::power_csv(&rec)).unwrap();
    let header = csv.lines().next().unwrap();
    assert_eq!(
        header,
        "t_seconds,cpu_watts_estimated,cpu_energy_joules,cpu_utilisation_percent,gpu0_watts,gpu0_energy_joules,gpu0_utilisation_percent,rig_watts_estimated"
    );
    assert_eq!(
        csv.lines().nth(1).unwrap(),
        "0.000,40.000,,,110.000,,,200.000"
    );
    assert_eq!(csv.lines().count(), 12);
}

#[test]
fn no_sensor_and_no_model_is_unknown_never_zero() {
    let rec = recording(
        vec![],
        10.0,
        vec!["cpu: no RAPL and no declared model".into()],
    );
    let s = summarize(&rec, None, 1_000_000, 1.0);
    assert_eq!(s.rig, None);
    assert_eq!(s.status, None);
    assert_eq!(s.components_energy_joules, None);
    assert_eq!(s.joules_per_stream_hour, None);
    assert!(s
        .rig_unknown_reason
        .as_deref()
        .unwrap_or_default()
        .contains("cpu"));
    let rows = crate::report::sections::power_rows(&s);
    assert!(
        rows.iter()
            .any(|(l, v)| l == "power whole rig" && v.starts_with("unknown: ")),
        "{rows:?}"
    );
    // A GPU alone does not make the rig known: the CPU is unaccounted for.
    let gpu_only = recording(
        vec![("gpu0", ComponentKind::Gpu, Status::Measured, 100.0)],
        10.0,
        vec!["cpu: none".into()],
    );
    assert_eq!(summarize(&gpu_only, None, 0, 0.0).rig, None);
    let csv = String::from_utf8(crate::report::csv::power_csv(&rec)).unwrap();
    assert!(
        csv.lines().nth(1).unwrap().ends_with(','),
        "rig watts empty, not 0: {csv}"
    );
}

#[test]
fn sampler_runs_and_stops_promptly() {
    let cfg = PowerConfig {
        interval_ms: 10,
        rest_of_system_watts: 5.0,
        psu_efficiency: Some(0.5),
        use_nvml: false,
        ..Default::default()
    };
    let meters: Vec<Box<dyn Meter>> = vec![
        Box::new(Fixed {
            id: "cpu",
            kind: ComponentKind::Cpu,
            watts: 20.0,
            status: Status::Estimated,
        }),
        Box::new(Fixed {
            id: "gpu0",
            kind: ComponentKind::Gpu,
            watts: 75.0,
            status: Status::Measured,
        }),
    ];
    let sampler =
        PowerSampler::start_with_meters(&cfg, meters, vec!["RAPL absent: test".into()], Vec::new())
            .unwrap();
    std::thread::sleep(Duration::from_millis(60));
    let rec = sampler.stop();
    assert!(rec.samples.len() >= 2, "{} samples", rec.samples.len());
    let s = summarize(&rec, None, 0, 0.0);
    let rig = s.rig.unwrap();
    assert!(
        (rig.average_watts - 200.0).abs() < 1e-6,
        "(20 + 75 + 5) / 0.5 = {}",
        rig.average_watts
    );
    assert!((rig.peak_watts - 200.0).abs() < 1e-6);
    assert_eq!(s.sources[1].status, Status::Measured);
    assert!(s.notes.iter().any(|n| n.contains("RAPL absent")));
}

#[test]
fn a_panicking_meter_is_stopped_not_the_sampler() {
    struct Boom;
    impl Meter for Boom {
        fn device(&self) -> &str {
            "boom"
        }
        fn kind(&self) -> ComponentKind {
            ComponentKind::Cpu
        }
        fn sensor(&self) -> &'static str {
            "model"
        }
        fn status(&self) -> Status {
            Status::Estimated
        }
        fn energy_method(&self) -> EnergyMethod {
            EnergyMethod::ModelUtilisation
        }
        fn read(&mut self) -> Reading {
            panic!("meter bug")
        }
        fn notes(&self) -> Vec<String> {
            Vec::new()
        }
    }
    let cfg = PowerConfig {
        interval_ms: 10,
        use_nvml: false,
        ..Default::default()
    };
    let sampler =
        PowerSampler::start_with_meters(&cfg, vec![Box::new(Boom)], Vec::new(), Vec::new())
            .unwrap();
    let rec = sampler.stop();
    assert!(rec.notes.iter().any(|n| n.contains("boom failed")));
    assert_eq!(summarize(&rec, None, 0, 0.0).rig, None);
}

#[test]
fn bad_config_is_refused() {
    let cfg = PowerConfig {
        interval_ms: 0,
        use_nvml: false,
        ..Default::default()
    };
    assert!(matches!(
        PowerSampler::start(cfg),
        Err(MeteringError::BadInterval { .. })
    ));
    let mut bad = gpu_model();
    bad.full_load_watts = 1.0;
    let cfg = PowerConfig {
        components: vec![bad],
        use_nvml: false,
        ..Default::default()
    };
    let err = PowerSampler::start(cfg).err().unwrap().to_string();
    assert!(
        err.contains("RTX 4070") && err.contains("below idle_watts"),
        "{err}"
    );
}

#[test]
fn this_machine_with_a_declared_cpu_model_is_estimated() {
    if !std::path::Path::new("/proc/stat").exists() {
        println!("skip: no /proc/stat on this system");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = PowerConfig {
        interval_ms: 10,
        components: vec![DeclaredComponent {
            name: "2 vCPU".into(),
            kind: ComponentKind::Cpu,
            idle_watts: 5.0,
            full_load_watts: 25.0,
        }],
        rest_of_system_watts: 10.0,
        psu_efficiency: Some(0.9),
        use_nvml: false,
        powercap_root: dir.path().join("no-powercap"),
        ..Default::default()
    };
    let idle = measure_idle(&cfg, 0.05, &AtomicBool::new(false));
    let rec = PowerSampler::start(cfg).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let rec = rec.stop();
    let s = summarize(&rec, Some(&idle), 0, 0.0);
    assert_eq!(s.status, Some(Status::Estimated));
    assert_eq!(s.sources[0].sensor, "model");
    let w = s.rig.unwrap().average_watts;
    let (lo, hi) = ((5.0 + 10.0) / 0.9, (25.0 + 10.0) / 0.9);
    assert!((lo - 1e-9..=hi + 1e-9).contains(&w), "{w}");
    assert!(s.notes.iter().any(|n| n.contains("RAPL absent")));
    assert!(idle.rig_average_watts.is_some());
}

#[test]
fn real_nvml_gpu_if_present() {
    let (meters, notes, _) = discover_meters(&PowerConfig::default());
    let gpus: Vec<_> = meters
        .into_iter()
        .filter(|m| m.sensor() == "nvml")
        .collect();
    if gpus.is_empty() {
        println!(
            "skip: no NVIDIA GPU through NVML here ({})",
            notes.join("; ")
        );
        return;
    }
    let cfg = PowerConfig {
        interval_ms: 100,
        ..Default::default()
    };
    let sampler = PowerSampler::start_with_meters(&cfg, gpus, notes, Vec::new()).unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    let rec = sampler.stop();
    let s = summarize(&rec, None, 0, 0.0);
    for src in &s.sources {
        println!(
            "{}: {:?} {:?} avg {:?} W peak {:?} W, gpu {:?}",
            src.device, src.status, src.energy_method, src.average_watts, src.peak_watts, src.gpu
        );
        assert!(
            src.average_watts.is_some_and(|w| w > 0.0),
            "{} reported no power",
            src.device
        );
    }
}
