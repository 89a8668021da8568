//! The declared power model: idle and full-load watts per component (from the rig file), scaled
//! linearly by measured utilisation. Used only where no sensor can be read; every figure it
//! produces is labelled `estimated`.
//!
//! The linear idle-to-full model is the usual first-order server power model (Fan, Weber and
//! Barroso, "Power provisioning for a warehouse-sized computer", ISCA 2007: power ≈ idle +
//! (busy − idle) × utilisation, within a few percent for CPU-bound work).

use serde::{Deserialize, Serialize};

/// Which part of the rig a declared component stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ComponentKind {
    /// CPU package(s): scaled by `/proc/stat` utilisation.
    Cpu,
    /// A GPU: scaled by NVML GPU utilisation, or an assumed utilisation when NVML is absent.
    Gpu,
}

impl ComponentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentKind::Cpu => "cpu",
            ComponentKind::Gpu => "gpu",
        }
    }
}

/// One component of the declared model (rig file `[[power.components]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredComponent {
    /// A label for tables ("Ryzen 7 7700", "RTX 4070").
    pub name: String,
    /// `cpu` or `gpu`.
    pub kind: ComponentKind,
    /// Watts drawn at rest (DC, before PSU losses).
    pub idle_watts: f64,
    /// Watts drawn at 100% utilisation (DC, before PSU losses).
    pub full_load_watts: f64,
}

impl DeclaredComponent {
    /// Watts at `utilisation` (0..=1, clamped).
    pub fn watts_at(&self, utilisation: f64) -> f64 {
        let u = if utilisation.is_finite() {
            utilisation.clamp(0.0, 1.0)
        } else {
            1.0
        };
        self.idle_watts + (self.full_load_watts - self.idle_watts) * u
    }

    /// Why this component cannot be used, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        if !(self.idle_watts.is_finite() && self.idle_watts >= 0.0) {
            return Err(format!("idle_watts {} must be >= 0", self.idle_watts));
        }
        if !(self.full_load_watts.is_finite() && self.full_load_watts > 0.0) {
            return Err(format!(
                "full_load_watts {} must be > 0",
                self.full_load_watts
            ));
        }
        if self.full_load_watts < self.idle_watts {
            return Err(format!(
                "full_load_watts {} is below idle_watts {}",
                self.full_load_watts, self.idle_watts
            ));
        }
        if self.full_load_watts > 5000.0 {
            return Err(format!(
                "full_load_watts {} is absurd for one component (> 5000 W)",
                self.full_load_watts
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_between_idle_and_full() {
        let c = DeclaredComponent {
            name: "cpu".into(),
            kind: ComponentKind::Cpu,
            idle_watts: 10.0,
            full_load_watts: 60.0,
        };
        for (u, w) in [
            (0.0, 10.0),
            (0.5, 35.0),
            (1.0, 60.0),
            (1.5, 60.0),
            (-1.0, 10.0),
            (f64::NAN, 60.0),
        ] {
            assert!((c.watts_at(u) - w).abs() < 1e-9, "u={u}");
        }
        assert!(c.check().is_ok());
        let bad = DeclaredComponent {
            idle_watts: 70.0,
            ..c.clone()
        };
        assert!(bad.check().unwrap_err().contains("below idle_watts"));
        let neg = DeclaredComponent {
            idle_watts: -1.0,
            ..c
        };
        assert!(neg.check().unwrap_err().contains("idle_watts"));
    }
}
