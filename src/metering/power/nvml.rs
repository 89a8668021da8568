//! NVIDIA GPUs through NVML (nvml-wrapper; `libnvidia-ml.so.1` is loaded at run time).
//!
//! Energy: deltas of `nvmlDeviceGetTotalEnergyConsumption` (mJ since the driver loaded, Volta and
//! later). Where NVML answers NotSupported the meter switches, once and for good, to integrating
//! `nvmlDeviceGetPowerUsage` (mW) over time and says so (`integrated_power`). Where power is not
//! supported either, a declared GPU model scaled by NVML's GPU utilisation is used (estimated).
//! Beside energy each sample records GPU, encoder and decoder utilisation, encoder sessions and
//! average fps, SM and video clocks, temperature and throttle reasons.

use std::sync::Arc;

use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};
use nvml_wrapper::error::NvmlError;
use nvml_wrapper::Nvml;

use super::model::{ComponentKind, DeclaredComponent};
use super::{EnergyMethod, GpuTelemetry, Meter, PowerKind, Reading, Status};

/// One raw NVML sample. Energy and power keep NVML's error so the meter can tell NotSupported
/// from a transient failure.
#[derive(Debug)]
pub struct GpuRaw {
    pub energy_mj: Result<u64, NvmlError>,
    pub power_mw: Result<u32, NvmlError>,
    pub telemetry: GpuTelemetry,
}

/// What the meter asks of a GPU; real NVML or a mock in tests.
pub trait GpuQuery: Send {
    fn index(&self) -> u32;
    fn read(&self) -> GpuRaw;
}

/// A GPU read through a loaded NVML.
pub struct NvmlQuery {
    nvml: Arc<Nvml>,
    index: u32,
}

impl GpuQuery for NvmlQuery {
    fn index(&self) -> u32 {
        self.index
    }
    fn read(&self) -> GpuRaw {
        let device = match self.nvml.device_by_index(self.index) {
            Ok(d) => d,
            Err(e) => {
                let msg = e.to_string();
                return GpuRaw {
                    energy_mj: Err(e),
                    power_mw: Err(NvmlError::Unknown),
                    telemetry: GpuTelemetry {
                        throttle_reasons: Some(vec![format!("device unavailable: {msg}")]),
                        ..Default::default()
                    },
                };
            }
        };
        let util = device.utilization_rates().ok();
        let enc = device.encoder_stats().ok();
        let telemetry = GpuTelemetry {
            gpu_utilisation_percent: util.as_ref().map(|u| u.gpu),
            encoder_utilisation_percent: device.encoder_utilization().ok().map(|u| u.utilization),
            decoder_utilisation_percent: device.decoder_utilization().ok().map(|u| u.utilization),
            encoder_sessions: enc.as_ref().map(|e| e.session_count),
            encoder_average_fps: enc.as_ref().map(|e| e.average_fps),
            sm_clock_mhz: device.clock_info(Clock::SM).ok(),
            video_clock_mhz: device.clock_info(Clock::Video).ok(),
            temperature_celsius: device.temperature(TemperatureSensor::Gpu).ok(),
            throttle_reasons: device
                .current_throttle_reasons()
                .ok()
                .map(|r| r.iter_names().map(|(name, _)| name.to_string()).collect()),
        };
        GpuRaw {
            energy_mj: device.total_energy_consumption(),
            power_mw: device.power_usage(),
            telemetry,
        }
    }
}

/// One GPU's power meter.
pub struct NvmlMeter<Q: GpuQuery> {
    query: Q,
    id: String,
    model: Option<DeclaredComponent>,
    method: EnergyMethod,
    status: Status,
    first_energy_mj: Option<u64>,
    notes: Vec<String>,
}

impl NvmlMeter<NvmlQuery> {
    /// A meter per GPU NVML sees; Err says why NVML cannot be used. The k-th declared GPU model
    /// stands behind GPU k, used only if that GPU cannot report power.
    pub fn discover(declared: &[&DeclaredComponent]) -> Result<Vec<NvmlMeter<NvmlQuery>>, String> {
        let nvml = Arc::new(
            Nvml::init().map_err(|e| crate::metering::inventory::nvml_unavailable_reason(&e))?,
        );
        let n = nvml
            .device_count()
            .map_err(|e| format!("NVML device count failed: {e}"))?;
        Ok((0..n)
            .map(|i| {
                let model = declared.get(i as usize).map(|c| (*c).clone());
                NvmlMeter::new(
                    NvmlQuery {
                        nvml: Arc::clone(&nvml),
                        index: i,
                    },
                    model,
                )
            })
            .collect())
    }
}

impl<Q: GpuQuery> NvmlMeter<Q> {
    pub fn new(query: Q, model: Option<DeclaredComponent>) -> NvmlMeter<Q> {
        let id = format!("gpu{}", query.index());
        NvmlMeter {
            query,
            id,
            model,
            method: EnergyMethod::EnergyCounter,
            status: Status::Measured,
            first_energy_mj: None,
            notes: Vec::new(),
        }
    }

    fn note_once(&mut self, n: String) {
        if !self.notes.contains(&n) {
            self.notes.push(n);
        }
    }
}

impl<Q: GpuQuery> Meter for NvmlMeter<Q> {
    fn device(&self) -> &str {
        &self.id
    }
    fn kind(&self) -> ComponentKind {
        ComponentKind::Gpu
    }
    fn sensor(&self) -> &'static str {
        "nvml"
    }
    fn status(&self) -> Status {
        self.status
    }
    fn energy_method(&self) -> EnergyMethod {
        self.method
    }
    fn read(&mut self) -> Reading {
        let raw = self.query.read();
        let mut r = Reading::empty(PowerKind::Instant);
        r.utilisation_percent = raw.telemetry.gpu_utilisation_percent.map(f64::from);
        if self.method == EnergyMethod::EnergyCounter {
            match raw.energy_mj {
                Ok(mj) => {
                    let base = *self.first_energy_mj.get_or_insert(mj);
                    r.energy_counter_joules = Some(mj.saturating_sub(base) as f64 / 1000.0);
                }
                Err(NvmlError::NotSupported) => {
                    self.method = EnergyMethod::IntegratedPower;
                    self.note_once(format!(
                        "{}: NVML total energy counter not supported: energy integrated from power samples",
                        self.id
                    ));
                }
                Err(e) => self.note_once(format!("{}: energy counter read failed: {e}", self.id)),
            }
        }
        match raw.power_mw {
            Ok(mw) => r.power_watts = Some(f64::from(mw) / 1000.0),
            Err(NvmlError::NotSupported) => match (&self.model, raw.telemetry.gpu_utilisation_percent) {
                (Some(m), Some(u)) => {
                    r.power_watts = Some(m.watts_at(f64::from(u) / 100.0));
                    self.method = EnergyMethod::ModelUtilisation;
                    self.status = Status::Estimated;
                    self.note_once(format!(
                        "{}: NVML power not supported: declared model `{}` scaled by NVML GPU utilisation",
                        self.id, m.name
                    ));
                }
                _ => self.note_once(format!(
                    "{}: NVML power not supported and no declared GPU model (or no utilisation): power unknown",
                    self.id
                )),
            },
            Err(e) => self.note_once(format!("{}: power read failed: {e}", self.id)),
        }
        r.gpu = Some(raw.telemetry);
        r
    }
    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }
    fn assumption(&self) -> Option<String> {
        (self.status == Status::Estimated)
            .then(|| "power from the declared GPU model at NVML's GPU utilisation".to_string())
    }
}
