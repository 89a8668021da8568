//! Power metering: a sampler thread that reads several meters every `interval_ms` (100 ms by
//! default) from before the first segment to after the last, and the summary written to run.json
//! `power` and `power.csv`.
//!
//! Meters, behind the [`Meter`] trait:
//! - NVIDIA GPUs through NVML ([`nvml`]): energy from deltas of the total-energy counter (mJ,
//!   Volta and later); where NVML says NotSupported, energy is integrated from power samples
//!   (trapezoid rule) and the source says `integrated_power`. Utilisation, encoder sessions and
//!   fps, clocks, temperature and throttle reasons are recorded beside.
//! - CPU packages through powercap RAPL ([`rapl`]): `energy_uj` deltas, wrap-around handled with
//!   `max_energy_range_uj` (Intel and AMD expose the same interface).
//! - The rig file's declared model ([`model`]) where no sensor can be read: CPU watts scaled by
//!   `/proc/stat` utilisation ([`cpu`]), GPU watts by NVML utilisation or an assumed one. Such
//!   figures are `estimated`.
//!
//! The whole rig is the components plus the declared rest-of-system watts, divided by PSU
//! efficiency. With no sensor and no model for the CPU (every rig has one) the rig's power is
//! unknown (`None`), never zero.

pub mod cpu;
pub mod model;
pub mod nvml;
pub mod rapl;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use self::model::{ComponentKind, DeclaredComponent};
use super::MeteringError;

/// Shortest sampling interval the sampler keeps up with (reading NVML and RAPL takes ~1 ms).
pub const MIN_INTERVAL_MS: u64 = 10;
/// Longest sampling interval (a minute; a slower one cannot follow a run's load).
pub const MAX_INTERVAL_MS: u64 = 60_000;

/// How the sampler is set up. `Default` reads every sensor it finds and declares nothing.
#[derive(Debug, Clone)]
pub struct PowerConfig {
    /// Sampling period (default 100 ms).
    pub interval_ms: u64,
    /// Declared components (rig file `[[power.components]]`), used where no sensor reads.
    pub components: Vec<DeclaredComponent>,
    /// Declared watts of everything not metered (board, disks, fans, NIC), DC.
    pub rest_of_system_watts: f64,
    /// PSU efficiency (0, 1]; None = unknown, wall power then excludes PSU losses (noted).
    pub psu_efficiency: Option<f64>,
    /// Utilisation assumed for a declared GPU that NVML cannot see, percent. 100 during a GPU
    /// run; set it to 0 when the backend used is `cpu` (the GPU then sits idle).
    pub unmeasured_gpu_utilisation_percent: f64,
    /// Use NVML when it loads (tests turn it off).
    pub use_nvml: bool,
    /// The powercap root (default `/sys/class/powercap`).
    pub powercap_root: PathBuf,
    /// The CPU statistics file (default `/proc/stat`).
    pub proc_stat_path: PathBuf,
}

impl Default for PowerConfig {
    fn default() -> Self {
        PowerConfig {
            interval_ms: 100,
            components: Vec::new(),
            rest_of_system_watts: 0.0,
            psu_efficiency: None,
            unmeasured_gpu_utilisation_percent: 100.0,
            use_nvml: true,
            powercap_root: PathBuf::from("/sys/class/powercap"),
            proc_stat_path: PathBuf::from("/proc/stat"),
        }
    }
}

/// Whether a figure was read from a sensor or derived from the declared model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Measured,
    Estimated,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Measured => "measured",
            Status::Estimated => "estimated",
        }
    }
}

/// How a device's energy was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnergyMethod {
    /// Deltas of a hardware energy counter (NVML total energy, RAPL energy_uj).
    EnergyCounter,
    /// Power samples integrated over time (NVML energy counter not supported).
    IntegratedPower,
    /// The declared model's watts at the measured (or assumed) utilisation, integrated.
    ModelUtilisation,
}

/// Whether a power reading is an instant value or the average over the interval just ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerKind {
    Instant,
    IntervalAverage,
}

/// GPU telemetry recorded with each NVML sample (None where NVML cannot tell).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GpuTelemetry {
    pub gpu_utilisation_percent: Option<u32>,
    pub encoder_utilisation_percent: Option<u32>,
    pub decoder_utilisation_percent: Option<u32>,
    pub encoder_sessions: Option<u32>,
    pub encoder_average_fps: Option<u32>,
    pub sm_clock_mhz: Option<u32>,
    pub video_clock_mhz: Option<u32>,
    pub temperature_celsius: Option<u32>,
    /// Active throttle reasons, NVML's names (e.g. `SW_POWER_CAP`).
    pub throttle_reasons: Option<Vec<String>>,
}

/// One meter's reading at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// Watts now (or over the interval just ended, see `power_kind`); None = not readable.
    pub power_watts: Option<f64>,
    pub power_kind: PowerKind,
    /// A monotonic energy counter since the meter started, joules (wrap-around already removed).
    pub energy_counter_joules: Option<f64>,
    /// Utilisation the model scaled by, or the device's own, percent.
    pub utilisation_percent: Option<f64>,
    pub gpu: Option<GpuTelemetry>,
}

impl Reading {
    pub fn empty(power_kind: PowerKind) -> Reading {
        Reading {
            power_watts: None,
            power_kind,
            energy_counter_joules: None,
            utilisation_percent: None,
            gpu: None,
        }
    }
}

/// A source of power readings. Implementations never panic; what they cannot read is None.
pub trait Meter: Send {
    /// Stable device id for tables and CSV columns: `gpu0`, `cpu-package-0`, `cpu`.
    fn device(&self) -> &str;
    fn kind(&self) -> ComponentKind;
    /// `nvml`, `rapl` or `model`.
    fn sensor(&self) -> &'static str;
    fn status(&self) -> Status;
    /// How this meter's energy is obtained (may change once, e.g. NVML energy NotSupported).
    fn energy_method(&self) -> EnergyMethod;
    /// Read now.
    fn read(&mut self) -> Reading;
    /// What the meter assumed or could not read (said once each).
    fn notes(&self) -> Vec<String>;
    /// The assumption behind an estimate, if any ("utilisation assumed 100%: ...").
    fn assumption(&self) -> Option<String> {
        None
    }
}

/// Energy integration for one device: counter deltas between adjacent samples that both have the
/// counter, else power integrated (trapezoid for instant readings, rectangle for interval
/// averages).
#[derive(Debug, Clone, Default)]
pub struct EnergyAccumulator {
    last: Option<(f64, Option<f64>, Option<f64>)>,
    pub joules: f64,
    /// Seconds of the recording the energy covers (intervals with a counter delta or power).
    pub covered_seconds: f64,
}

impl EnergyAccumulator {
    pub fn add(&mut self, t_seconds: f64, r: &Reading) {
        if let Some((t0, c0, p0)) = self.last {
            let dt = (t_seconds - t0).max(0.0);
            let added = match (c0, r.energy_counter_joules, p0, r.power_watts) {
                (Some(a), Some(b), _, _) => Some((b - a).max(0.0)),
                (_, _, _, Some(p1)) if r.power_kind == PowerKind::IntervalAverage => {
                    Some(p1.max(0.0) * dt)
                }
                (_, _, Some(p0), Some(p1)) => Some((p0 + p1).max(0.0) / 2.0 * dt),
                _ => None,
            };
            if let Some(j) = added {
                self.joules += j;
                self.covered_seconds += dt;
            }
        }
        self.last = Some((t_seconds, r.energy_counter_joules, r.power_watts));
    }
}

/// One tick of the sampler: a reading per device, in `PowerRecording::devices` order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PowerSample {
    /// Seconds since the sampler started.
    pub t_seconds: f64,
    pub readings: Vec<Reading>,
}

/// What one meter was, as recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceRecord {
    pub device: String,
    pub kind: ComponentKind,
    pub sensor: String,
    pub status: Status,
    pub energy_method: EnergyMethod,
    /// Energy over the covered part of the recording, joules.
    pub energy_joules: f64,
    /// Seconds the energy covers (less than the recording when readings failed).
    pub covered_seconds: f64,
    pub assumption: Option<String>,
    pub notes: Vec<String>,
}

/// Everything the sampler saw between start and stop.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PowerRecording {
    pub interval_ms: u64,
    pub started_utc: DateTime<Utc>,
    /// From start to the last sample.
    pub duration_seconds: f64,
    pub devices: Vec<DeviceRecord>,
    pub samples: Vec<PowerSample>,
    /// Declared, DC.
    pub rest_of_system_watts: f64,
    pub psu_efficiency: Option<f64>,
    /// Components with no sensor and no model (their power is unknown).
    pub unknown_components: Vec<String>,
    /// Why sensors are absent, fallbacks taken.
    pub notes: Vec<String>,
}

/// The rig as a whole: components + declared rest of system, divided by PSU efficiency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RigPower {
    /// `estimated` when any component is estimated.
    pub status: Status,
    pub energy_joules: f64,
    pub average_watts: f64,
    pub peak_watts: f64,
}

/// GPU telemetry over the recording.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GpuStats {
    pub average_gpu_utilisation_percent: Option<f64>,
    pub average_encoder_utilisation_percent: Option<f64>,
    pub average_decoder_utilisation_percent: Option<f64>,
    pub max_encoder_sessions: Option<u32>,
    pub average_encoder_fps: Option<f64>,
    pub average_sm_clock_mhz: Option<f64>,
    pub average_video_clock_mhz: Option<f64>,
    pub max_temperature_celsius: Option<u32>,
    /// Every throttle reason seen at least once.
    pub throttle_reasons_seen: Vec<String>,
}

/// One metered device in run.json `power.sources`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerSource {
    pub device: String,
    pub kind: ComponentKind,
    /// `nvml`, `rapl` or `model`.
    pub sensor: String,
    /// `measured` or `estimated`.
    pub status: Status,
    pub energy_method: EnergyMethod,
    /// Energy over `covered_seconds`, joules.
    pub energy_joules: f64,
    /// Seconds of the recording this device's energy covers.
    pub covered_seconds: f64,
    /// energy_joules / covered_seconds; None when nothing could be read.
    pub average_watts: Option<f64>,
    pub peak_watts: Option<f64>,
    pub average_utilisation_percent: Option<f64>,
    pub assumption: Option<String>,
    pub notes: Vec<String>,
    pub gpu: Option<GpuStats>,
}

/// The rig at rest, measured before the run (`--idle-seconds N`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdleBaseline {
    pub seconds: f64,
    pub sample_count: u64,
    /// Components (DC) average; None when some component's power is unknown.
    pub components_average_watts: Option<f64>,
    /// Whole rig at the wall; None when unknown.
    pub rig_average_watts: Option<f64>,
    pub status: Option<Status>,
    /// Average watts per device.
    pub device_average_watts: BTreeMap<String, f64>,
    /// Set when the measurement was cut short or could not run.
    pub note: Option<String>,
}

/// run.json `power`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PowerSummary {
    pub sample_interval_ms: u64,
    pub sample_count: u64,
    pub duration_seconds: f64,
    pub sources: Vec<PowerSource>,
    /// Components whose power is unknown (no sensor, no declared model).
    pub unknown_components: Vec<String>,
    /// Sum over sources, DC; None when a component is unknown.
    pub components_energy_joules: Option<f64>,
    pub components_average_watts: Option<f64>,
    /// `measured`, `estimated` or None (unknown).
    pub status: Option<Status>,
    pub rest_of_system_watts_declared: f64,
    pub psu_efficiency: Option<f64>,
    /// The whole rig at the wall; None = unknown (never zero).
    pub rig: Option<RigPower>,
    /// Why `rig` is None.
    pub rig_unknown_reason: Option<String>,
    pub idle: Option<IdleBaseline>,
    /// Rig energy above the idle baseline over the run, joules.
    pub incremental_energy_joules: Option<f64>,
    /// Rig energy per output megapixel (1e6 billed pixels), joules.
    pub joules_per_output_megapixel: Option<f64>,
    /// Rig energy per stream-hour (one live stream for one hour), joules.
    pub joules_per_stream_hour: Option<f64>,
    /// Incremental (above idle) energy per stream-hour, joules.
    pub incremental_joules_per_stream_hour: Option<f64>,
    pub notes: Vec<String>,
}

/// Builds the meters the configuration allows on this machine.
pub fn discover_meters(cfg: &PowerConfig) -> (Vec<Box<dyn Meter>>, Vec<String>, Vec<String>) {
    let mut meters: Vec<Box<dyn Meter>> = Vec::new();
    let mut notes = Vec::new();
    let mut unknown = Vec::new();
    let declared_gpus: Vec<&DeclaredComponent> = cfg
        .components
        .iter()
        .filter(|c| c.kind == ComponentKind::Gpu)
        .collect();
    let declared_cpu: Vec<&DeclaredComponent> = cfg
        .components
        .iter()
        .filter(|c| c.kind == ComponentKind::Cpu)
        .collect();

    let mut nvml_gpus = 0usize;
    if cfg.use_nvml {
        match nvml::NvmlMeter::discover(&declared_gpus) {
            Ok(found) => {
                nvml_gpus = found.len();
                if found.is_empty() {
                    notes.push("NVML loaded but reports no GPU".to_string());
                }
                for m in found {
                    meters.push(Box::new(m));
                }
            }
            Err(why) => notes.push(format!("NVML unavailable: {why}")),
        }
    }
    for (k, c) in declared_gpus.iter().enumerate().skip(nvml_gpus) {
        meters.push(Box::new(cpu::AssumedUtilisationMeter::new(
            format!("gpu{k}-declared"),
            (*c).clone(),
            cfg.unmeasured_gpu_utilisation_percent,
        )));
    }

    match rapl::RaplMeter::discover(&cfg.powercap_root) {
        Ok(packages) if !packages.is_empty() => {
            for m in packages {
                meters.push(Box::new(m));
            }
        }
        Ok(_) => notes.push(format!(
            "RAPL absent: no intel-rapl package under {}",
            cfg.powercap_root.display()
        )),
        Err(why) => notes.push(format!("RAPL absent: {why}")),
    }
    let cpu_measured = meters.iter().any(|m| m.kind() == ComponentKind::Cpu);
    if !cpu_measured {
        if declared_cpu.is_empty() {
            unknown.push(
                "cpu: no RAPL sensor readable and no declared [[power.components]] kind = \"cpu\""
                    .to_string(),
            );
        } else {
            for (k, c) in declared_cpu.iter().enumerate() {
                let id = if declared_cpu.len() == 1 {
                    "cpu".to_string()
                } else {
                    format!("cpu{k}")
                };
                meters.push(Box::new(cpu::CpuModelMeter::new(
                    id,
                    (*c).clone(),
                    cfg.proc_stat_path.clone(),
                )));
            }
        }
    } else if !declared_cpu.is_empty() {
        notes.push("declared CPU model ignored: RAPL measures the CPU".to_string());
    }
    (meters, notes, unknown)
}

/// A running sampler thread. Stop it with [`PowerSampler::stop`].
pub struct PowerSampler {
    stop_tx: mpsc::Sender<()>,
    handle: JoinHandle<PowerRecording>,
    interval_ms: u64,
    started_utc: DateTime<Utc>,
}

/// Called after every sample with the metered components' watts now (sensors, or the declared
/// model; None when no component could be read) and their joules since sampling started: what
/// a live endpoint (`--metrics-addr`) shows while the run lasts.
pub type PowerObserver = Box<dyn FnMut(Option<f64>, f64) + Send>;

impl PowerSampler {
    /// Discovers this machine's meters and starts sampling.
    pub fn start(cfg: PowerConfig) -> Result<PowerSampler, MeteringError> {
        Self::start_observed(cfg, None)
    }

    /// [`PowerSampler::start`], telling `observer` each sample.
    pub fn start_observed(
        cfg: PowerConfig,
        observer: Option<PowerObserver>,
    ) -> Result<PowerSampler, MeteringError> {
        check_config(&cfg)?;
        let (meters, notes, unknown) = discover_meters(&cfg);
        Self::start_with_meters_observed(&cfg, meters, notes, unknown, observer)
    }

    /// Starts sampling the given meters (tests pass mock meters).
    pub fn start_with_meters(
        cfg: &PowerConfig,
        meters: Vec<Box<dyn Meter>>,
        notes: Vec<String>,
        unknown_components: Vec<String>,
    ) -> Result<PowerSampler, MeteringError> {
        Self::start_with_meters_observed(cfg, meters, notes, unknown_components, None)
    }

    /// [`PowerSampler::start_with_meters`], telling `observer` each sample.
    pub fn start_with_meters_observed(
        cfg: &PowerConfig,
        meters: Vec<Box<dyn Meter>>,
        notes: Vec<String>,
        unknown_components: Vec<String>,
        observer: Option<PowerObserver>,
    ) -> Result<PowerSampler, MeteringError> {
        check_config(cfg)?;
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let interval = Duration::from_millis(cfg.interval_ms);
        let started_utc = Utc::now();
        let rest = cfg.rest_of_system_watts;
        let psu = cfg.psu_efficiency;
        let interval_ms = cfg.interval_ms;
        let handle = std::thread::Builder::new()
            .name("rigbench-power".into())
            .spawn(move || {
                sample_loop(
                    meters,
                    stop_rx,
                    interval,
                    started_utc,
                    rest,
                    psu,
                    notes,
                    unknown_components,
                    observer,
                )
            })
            .map_err(MeteringError::Spawn)?;
        Ok(PowerSampler {
            stop_tx,
            handle,
            interval_ms,
            started_utc,
        })
    }

    /// Stops the thread (promptly: it waits on the stop channel, not a sleep) and returns what it
    /// recorded.
    pub fn stop(self) -> PowerRecording {
        let _ = self.stop_tx.send(());
        match self.handle.join() {
            Ok(rec) => rec,
            Err(_) => PowerRecording {
                interval_ms: self.interval_ms,
                started_utc: self.started_utc,
                duration_seconds: 0.0,
                devices: Vec::new(),
                samples: Vec::new(),
                rest_of_system_watts: 0.0,
                psu_efficiency: None,
                unknown_components: vec!["all: the power sampler thread failed".to_string()],
                notes: vec!["the power sampler thread panicked: no samples kept".to_string()],
            },
        }
    }
}

fn check_config(cfg: &PowerConfig) -> Result<(), MeteringError> {
    if !(MIN_INTERVAL_MS..=MAX_INTERVAL_MS).contains(&cfg.interval_ms) {
        return Err(MeteringError::BadInterval {
            interval_ms: cfg.interval_ms,
        });
    }
    for c in &cfg.components {
        c.check().map_err(|reason| MeteringError::BadComponent {
            name: c.name.clone(),
            reason,
        })?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn sample_loop(
    mut meters: Vec<Box<dyn Meter>>,
    stop_rx: mpsc::Receiver<()>,
    interval: Duration,
    started_utc: DateTime<Utc>,
    rest_of_system_watts: f64,
    psu_efficiency: Option<f64>,
    mut notes: Vec<String>,
    unknown_components: Vec<String>,
    mut observer: Option<PowerObserver>,
) -> PowerRecording {
    let t0 = Instant::now();
    let mut acc = vec![EnergyAccumulator::default(); meters.len()];
    let mut alive = vec![true; meters.len()];
    let mut samples = Vec::new();
    let mut next = t0;
    loop {
        let t = t0.elapsed().as_secs_f64();
        let mut readings = Vec::with_capacity(meters.len());
        for (i, m) in meters.iter_mut().enumerate() {
            let r = if alive[i] {
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| m.read())) {
                    Ok(r) => r,
                    Err(_) => {
                        alive[i] = false;
                        notes.push(format!("meter {} failed and was stopped", m.device()));
                        Reading::empty(PowerKind::Instant)
                    }
                }
            } else {
                Reading::empty(PowerKind::Instant)
            };
            acc[i].add(t, &r);
            readings.push(r);
        }
        if let Some(tell) = observer.as_mut() {
            let watts: Vec<f64> = readings.iter().filter_map(|r| r.power_watts).collect();
            let now = (!watts.is_empty()).then(|| watts.iter().sum());
            tell(now, acc.iter().map(|a| a.joules).sum());
        }
        samples.push(PowerSample {
            t_seconds: t,
            readings,
        });
        next += interval;
        let wait = next.saturating_duration_since(Instant::now());
        match stop_rx.recv_timeout(wait) {
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                // One last sample so the energy covers up to the stop.
                let t = t0.elapsed().as_secs_f64();
                let mut readings = Vec::with_capacity(meters.len());
                for (i, m) in meters.iter_mut().enumerate() {
                    let r = if alive[i] {
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| m.read()))
                            .unwrap_or_else(|_| Reading::empty(PowerKind::Instant))
                    } else {
                        Reading::empty(PowerKind::Instant)
                    };
                    acc[i].add(t, &r);
                    readings.push(r);
                }
                samples.push(PowerSample {
                    t_seconds: t,
                    readings,
                });
                break;
            }
        }
    }
    let duration_seconds = samples.last().map(|s| s.t_seconds).unwrap_or(0.0);
    let devices = meters
        .iter()
        .zip(&acc)
        .map(|(m, a)| DeviceRecord {
            device: m.device().to_string(),
            kind: m.kind(),
            sensor: m.sensor().to_string(),
            status: m.status(),
            energy_method: m.energy_method(),
            energy_joules: a.joules,
            covered_seconds: a.covered_seconds,
            assumption: m.assumption(),
            notes: m.notes(),
        })
        .collect();
    PowerRecording {
        interval_ms: interval.as_millis() as u64,
        started_utc,
        duration_seconds,
        devices,
        samples,
        rest_of_system_watts,
        psu_efficiency,
        unknown_components,
        notes,
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (mut sum, mut n) = (0.0, 0u64);
    for v in values {
        sum += v;
        n += 1;
    }
    (n > 0).then(|| sum / n as f64)
}

fn wall_watts(components_watts: f64, rest: f64, psu: Option<f64>) -> f64 {
    (components_watts + rest) / psu.unwrap_or(1.0)
}

/// Components' (DC) watts at one sample, when every device has a power reading.
fn sample_components_watts(s: &PowerSample) -> Option<f64> {
    s.readings.iter().map(|r| r.power_watts).sum()
}

fn gpu_stats(rec: &PowerRecording, i: usize) -> Option<GpuStats> {
    let tel: Vec<&GpuTelemetry> = rec
        .samples
        .iter()
        .filter_map(|s| s.readings.get(i)?.gpu.as_ref())
        .collect();
    if tel.is_empty() {
        return None;
    }
    let avg = |f: &dyn Fn(&GpuTelemetry) -> Option<u32>| {
        mean(tel.iter().filter_map(|t| f(t)).map(f64::from))
    };
    let mut reasons: Vec<String> = tel
        .iter()
        .filter_map(|t| t.throttle_reasons.as_ref())
        .flatten()
        .cloned()
        .collect();
    reasons.sort();
    reasons.dedup();
    Some(GpuStats {
        average_gpu_utilisation_percent: avg(&|t| t.gpu_utilisation_percent),
        average_encoder_utilisation_percent: avg(&|t| t.encoder_utilisation_percent),
        average_decoder_utilisation_percent: avg(&|t| t.decoder_utilisation_percent),
        max_encoder_sessions: tel.iter().filter_map(|t| t.encoder_sessions).max(),
        average_encoder_fps: avg(&|t| t.encoder_average_fps),
        average_sm_clock_mhz: avg(&|t| t.sm_clock_mhz),
        average_video_clock_mhz: avg(&|t| t.video_clock_mhz),
        max_temperature_celsius: tel.iter().filter_map(|t| t.temperature_celsius).max(),
        throttle_reasons_seen: reasons,
    })
}

/// Summarises a recording: per-device and whole-rig energy and watts, idle-relative energy, and
/// joules per output megapixel and per stream-hour. `output_pixels` is the run's billed pixel
/// count and `stream_hours` its source seconds summed over sessions / 3600 (see
/// [`stream_hours`]); pass 0 for either when not applicable (the ratios are then None).
pub fn summarize(
    rec: &PowerRecording,
    idle: Option<&IdleBaseline>,
    output_pixels: u64,
    stream_hours: f64,
) -> PowerSummary {
    let duration = rec.duration_seconds;
    let sources: Vec<PowerSource> = rec
        .devices
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let watts = || {
                rec.samples
                    .iter()
                    .filter_map(|s| s.readings.get(i)?.power_watts)
            };
            PowerSource {
                device: d.device.clone(),
                kind: d.kind,
                sensor: d.sensor.clone(),
                status: d.status,
                energy_method: d.energy_method,
                energy_joules: d.energy_joules,
                covered_seconds: d.covered_seconds,
                average_watts: (d.covered_seconds > 0.0)
                    .then(|| d.energy_joules / d.covered_seconds),
                peak_watts: watts().fold(None, |m: Option<f64>, w| Some(m.map_or(w, |m| m.max(w)))),
                average_utilisation_percent: mean(
                    rec.samples
                        .iter()
                        .filter_map(|s| s.readings.get(i)?.utilisation_percent),
                ),
                assumption: d.assumption.clone(),
                notes: d.notes.clone(),
                gpu: gpu_stats(rec, i),
            }
        })
        .collect();

    let mut notes = rec.notes.clone();
    let cpu_known = sources.iter().any(|s| s.kind == ComponentKind::Cpu);
    let all_read = sources.iter().all(|s| s.average_watts.is_some());
    for src in &sources {
        if src.average_watts.is_none() {
            notes.push(format!(
                "{}: no reading succeeded, its power is unknown",
                src.device
            ));
        } else if src.covered_seconds < 0.9 * duration {
            notes.push(format!(
                "{}: readings cover {:.1} s of {:.1} s; its average stands for the gaps",
                src.device, src.covered_seconds, duration
            ));
        }
    }
    let components_known =
        rec.unknown_components.is_empty() && cpu_known && all_read && duration > 0.0;
    let status = components_known.then(|| {
        if sources.iter().all(|s| s.status == Status::Measured) {
            Status::Measured
        } else {
            Status::Estimated
        }
    });
    let components_energy_joules = components_known
        .then(|| sources.iter().filter_map(|s| s.average_watts).sum::<f64>() * duration);
    let components_average_watts = components_energy_joules.map(|e| e / duration);
    if rec.psu_efficiency.is_none() && components_known {
        notes.push("no PSU efficiency declared: rig watts exclude PSU losses".to_string());
    }
    let rig = match (components_energy_joules, status) {
        (Some(e), Some(st)) => {
            let energy =
                (e + rec.rest_of_system_watts * duration) / rec.psu_efficiency.unwrap_or(1.0);
            let peak = rec
                .samples
                .iter()
                .filter_map(sample_components_watts)
                .map(|w| wall_watts(w, rec.rest_of_system_watts, rec.psu_efficiency))
                .fold(energy / duration, f64::max);
            Some(RigPower {
                status: st,
                energy_joules: energy,
                average_watts: energy / duration,
                peak_watts: peak,
            })
        }
        _ => None,
    };
    let rig_unknown_reason = if rig.is_some() {
        None
    } else if duration <= 0.0 {
        Some("no power samples were taken".to_string())
    } else if !rec.unknown_components.is_empty() {
        Some(format!(
            "power unknown for {}",
            rec.unknown_components.join("; ")
        ))
    } else if !all_read {
        Some("a meter never gave a reading (see notes)".to_string())
    } else {
        Some("no meter measured or modelled the CPU".to_string())
    };
    let incremental_energy_joules = match (&rig, idle.and_then(|i| i.rig_average_watts)) {
        (Some(r), Some(idle_w)) => Some(r.energy_joules - idle_w * duration),
        _ => None,
    };
    let per_mpx = |e: f64| (output_pixels > 0).then(|| e / (output_pixels as f64 / 1e6));
    let per_stream_hour = |e: f64| (stream_hours > 0.0).then(|| e / stream_hours);
    PowerSummary {
        sample_interval_ms: rec.interval_ms,
        sample_count: rec.samples.len() as u64,
        duration_seconds: duration,
        sources,
        unknown_components: rec.unknown_components.clone(),
        components_energy_joules,
        components_average_watts,
        status,
        rest_of_system_watts_declared: rec.rest_of_system_watts,
        psu_efficiency: rec.psu_efficiency,
        joules_per_output_megapixel: rig.as_ref().and_then(|r| per_mpx(r.energy_joules)),
        joules_per_stream_hour: rig.as_ref().and_then(|r| per_stream_hour(r.energy_joules)),
        incremental_joules_per_stream_hour: incremental_energy_joules.and_then(per_stream_hour),
        rig,
        rig_unknown_reason,
        idle: idle.cloned(),
        incremental_energy_joules,
        notes,
    }
}

/// Stream-hours of a run from its source seconds summed over sessions (one live stream for one
/// hour is one stream-hour).
pub fn stream_hours(stream_seconds: f64) -> f64 {
    stream_seconds.max(0.0) / 3600.0
}

/// The rig at rest for `seconds` (or until `stop` is set): the baseline `--idle-seconds`
/// subtracts. Never fails; a sampler that cannot start gives a baseline with `note` set.
pub fn measure_idle(cfg: &PowerConfig, seconds: f64, stop: &AtomicBool) -> IdleBaseline {
    let mut cfg = cfg.clone();
    // At rest a GPU NVML cannot see is assumed idle.
    cfg.unmeasured_gpu_utilisation_percent = 0.0;
    let sampler = match PowerSampler::start(cfg) {
        Ok(s) => s,
        Err(e) => {
            return IdleBaseline {
                seconds: 0.0,
                sample_count: 0,
                components_average_watts: None,
                rig_average_watts: None,
                status: None,
                device_average_watts: BTreeMap::new(),
                note: Some(format!("idle baseline not measured: {e}")),
            }
        }
    };
    let deadline = Instant::now() + Duration::from_secs_f64(seconds.max(0.0));
    let mut interrupted = false;
    while Instant::now() < deadline {
        if stop.load(Ordering::Relaxed) {
            interrupted = true;
            break;
        }
        std::thread::sleep(
            deadline
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(50)),
        );
    }
    let rec = sampler.stop();
    idle_from_recording(&rec, interrupted)
}

/// The idle baseline a recording of the rig at rest gives.
pub fn idle_from_recording(rec: &PowerRecording, interrupted: bool) -> IdleBaseline {
    let s = summarize(rec, None, 0, 0.0);
    let device_average_watts = s
        .sources
        .iter()
        .filter_map(|src| Some((src.device.clone(), src.average_watts?)))
        .collect();
    let mut note = s.rig_unknown_reason.clone();
    if interrupted {
        note = Some(format!(
            "interrupted after {:.1} s{}",
            s.duration_seconds,
            note.map(|n| format!("; {n}")).unwrap_or_default()
        ));
    }
    IdleBaseline {
        seconds: s.duration_seconds,
        sample_count: s.sample_count,
        components_average_watts: s.components_average_watts,
        rig_average_watts: s.rig.as_ref().map(|r| r.average_watts),
        status: s.status,
        device_average_watts,
        note,
    }
}

impl PowerRecording {
    /// Whether the whole rig's watts are known for this recording: every component read or
    /// modelled, a CPU among them.
    pub fn rig_known(&self) -> bool {
        self.unknown_components.is_empty()
            && self.devices.iter().any(|d| d.kind == ComponentKind::Cpu)
    }

    /// Whether any device's figure is the declared model's estimate.
    pub fn any_estimated(&self) -> bool {
        self.devices.iter().any(|d| d.status == Status::Estimated)
    }

    /// The whole rig's wall watts at one sample; None where the rig is not known or a reading is
    /// missing.
    pub fn rig_watts(&self, sample: &PowerSample) -> Option<f64> {
        if !self.rig_known() {
            return None;
        }
        sample_components_watts(sample)
            .map(|w| wall_watts(w, self.rest_of_system_watts, self.psu_efficiency))
    }
}

#[cfg(test)]
mod tests;
