//! CPU utilisation from `/proc/stat` and the model meters built on it: a declared CPU scaled by
//! measured utilisation, and a declared GPU that NVML cannot see, at an assumed utilisation.
//!
//! Utilisation over an interval = 1 − Δ(idle + iowait) / Δ(all jiffies), from the aggregate
//! `cpu` line (proc(5)); guest time is already inside user time and is not added twice.

use std::path::PathBuf;

use super::model::{ComponentKind, DeclaredComponent};
use super::{EnergyMethod, Meter, PowerKind, Reading, Status};

/// Jiffy counters of the aggregate `cpu` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTimes {
    pub total: u64,
    pub idle: u64,
}

/// Parses the aggregate `cpu ` line of `/proc/stat`.
pub fn parse_proc_stat(text: &str) -> Option<CpuTimes> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    if fields.len() < 4 {
        return None;
    }
    // user nice system idle iowait irq softirq steal [guest guest_nice]
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields[3] + fields.get(4).copied().unwrap_or(0);
    Some(CpuTimes { total, idle })
}

/// Utilisation (0..=1) between two readings; None when no time passed.
pub fn utilisation_between(a: CpuTimes, b: CpuTimes) -> Option<f64> {
    let dt = b.total.checked_sub(a.total)?;
    let di = b.idle.checked_sub(a.idle)?;
    if dt == 0 {
        return None;
    }
    Some((1.0 - di as f64 / dt as f64).clamp(0.0, 1.0))
}

/// A declared CPU, scaled by `/proc/stat` utilisation. Estimated.
pub struct CpuModelMeter {
    id: String,
    component: DeclaredComponent,
    path: PathBuf,
    last: Option<CpuTimes>,
    notes: Vec<String>,
}

impl CpuModelMeter {
    pub fn new(id: String, component: DeclaredComponent, path: PathBuf) -> CpuModelMeter {
        CpuModelMeter {
            id,
            component,
            path,
            last: None,
            notes: Vec::new(),
        }
    }
}

impl Meter for CpuModelMeter {
    fn device(&self) -> &str {
        &self.id
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
        let mut r = Reading::empty(PowerKind::IntervalAverage);
        let now = match std::fs::read_to_string(&self.path) {
            Ok(text) => parse_proc_stat(&text),
            Err(e) => {
                let n = format!("cannot read {}: {e}", self.path.display());
                if !self.notes.contains(&n) {
                    self.notes.push(n);
                }
                None
            }
        };
        if let (Some(a), Some(b)) = (self.last, now) {
            if let Some(u) = utilisation_between(a, b) {
                r.utilisation_percent = Some(u * 100.0);
                r.power_watts = Some(self.component.watts_at(u));
            }
        }
        if now.is_some() {
            self.last = now;
        }
        r
    }
    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }
    fn assumption(&self) -> Option<String> {
        Some(format!(
            "declared model `{}`: {} W idle to {} W at full load, scaled by /proc/stat utilisation",
            self.component.name, self.component.idle_watts, self.component.full_load_watts
        ))
    }
}

/// A declared component whose utilisation cannot be measured (a GPU without NVML): its watts at
/// an assumed utilisation, said in `assumption`. Estimated.
pub struct AssumedUtilisationMeter {
    id: String,
    component: DeclaredComponent,
    utilisation_percent: f64,
}

impl AssumedUtilisationMeter {
    pub fn new(
        id: String,
        component: DeclaredComponent,
        utilisation_percent: f64,
    ) -> AssumedUtilisationMeter {
        let utilisation_percent = if utilisation_percent.is_finite() {
            utilisation_percent.clamp(0.0, 100.0)
        } else {
            100.0
        };
        AssumedUtilisationMeter {
            id,
            component,
            utilisation_percent,
        }
    }
}

impl Meter for AssumedUtilisationMeter {
    fn device(&self) -> &str {
        &self.id
    }
    fn kind(&self) -> ComponentKind {
        self.component.kind
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
        Reading {
            power_watts: Some(self.component.watts_at(self.utilisation_percent / 100.0)),
            power_kind: PowerKind::Instant,
            energy_counter_joules: None,
            utilisation_percent: Some(self.utilisation_percent),
            gpu: None,
        }
    }
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
    fn assumption(&self) -> Option<String> {
        Some(format!(
            "declared model `{}` ({} W idle, {} W full): utilisation not measurable (no NVML), assumed {}%",
            self.component.name, self.component.idle_watts, self.component.full_load_watts, self.utilisation_percent
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_parsing_and_utilisation() {
        let a = "cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4\n";
        let b = "cpu  200 0 200 1300 100 0 0 0 0 0\n";
        let ta = parse_proc_stat(a).unwrap();
        assert_eq!(
            ta,
            CpuTimes {
                total: 1000,
                idle: 800
            }
        );
        let tb = parse_proc_stat(b).unwrap();
        // Δtotal 800, Δidle 600 → 25% busy.
        assert!((utilisation_between(ta, tb).unwrap() - 0.25).abs() < 1e-12);
        assert_eq!(utilisation_between(ta, ta), None);
        assert_eq!(utilisation_between(tb, ta), None);
        for bad in ["", "cpu0 1 2 3 4\n", "cpu  1 x 3 4\n", "cpu  1 2\n"] {
            assert_eq!(parse_proc_stat(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cpu_model_meter_scales_by_utilisation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stat");
        std::fs::write(&path, "cpu  100 0 100 700 100 0 0 0 0 0\n").unwrap();
        let c = DeclaredComponent {
            name: "cpu".into(),
            kind: ComponentKind::Cpu,
            idle_watts: 10.0,
            full_load_watts: 50.0,
        };
        let mut m = CpuModelMeter::new("cpu".into(), c, path.clone());
        assert_eq!(m.read().power_watts, None, "first read has no interval");
        std::fs::write(&path, "cpu  200 0 200 1300 100 0 0 0 0 0\n").unwrap();
        let r = m.read();
        assert_eq!(r.power_watts, Some(20.0));
        assert_eq!(r.utilisation_percent, Some(25.0));
        assert_eq!(m.status(), Status::Estimated);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(m.read().power_watts, None);
        assert!(m.notes()[0].contains("cannot read"));
    }

    #[test]
    fn assumed_utilisation_is_said() {
        let c = DeclaredComponent {
            name: "RTX 4070".into(),
            kind: ComponentKind::Gpu,
            idle_watts: 12.0,
            full_load_watts: 200.0,
        };
        let mut m = AssumedUtilisationMeter::new("gpu0-declared".into(), c, 100.0);
        assert_eq!(m.read().power_watts, Some(200.0));
        assert!(m.assumption().unwrap().contains("assumed 100%"));
    }
}
