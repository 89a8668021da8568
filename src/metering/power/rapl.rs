//! CPU package energy from the Linux powercap RAPL interface:
//! `/sys/class/powercap/intel-rapl:N/energy_uj` (a counter in microjoules that wraps at
//! `max_energy_range_uj`). AMD processors register the same `intel-rapl` zones. Sub-zones
//! (`intel-rapl:N:M`, core/uncore/dram) are inside the package and are not added again.
//!
//! Since Linux 5.10 `energy_uj` is readable by root only (CVE-2020-8694); an unreadable counter
//! is reported as absent with that reason.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::model::ComponentKind;
use super::{EnergyMethod, Meter, PowerKind, Reading, Status};

/// Microjoules consumed between two counter readings, across at most one wrap-around.
pub fn rapl_delta_uj(prev: u64, cur: u64, max_energy_range_uj: u64) -> u64 {
    if cur >= prev {
        cur - prev
    } else {
        // The counter wrapped: it ran from prev up to max_energy_range_uj, then from 0 to cur.
        max_energy_range_uj.saturating_sub(prev).saturating_add(cur)
    }
}

/// One RAPL package zone.
pub struct RaplMeter {
    id: String,
    energy_path: PathBuf,
    max_range_uj: u64,
    last: Option<(u64, Instant)>,
    total_uj: u64,
    notes: Vec<String>,
}

fn read_u64(path: &Path) -> Result<u64, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.trim()
        .parse()
        .map_err(|_| format!("{} holds {:?}, not a number", path.display(), text.trim()))
}

/// `intel-rapl:N` (package level) → Some(N).
fn package_index(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("intel-rapl:")?;
    rest.parse().ok()
}

impl RaplMeter {
    /// Every readable package zone under `root`; Err says why none can be used.
    pub fn discover(root: &Path) -> Result<Vec<RaplMeter>, String> {
        let entries =
            std::fs::read_dir(root).map_err(|e| format!("{} not present ({e})", root.display()))?;
        let mut zones: Vec<(u32, PathBuf)> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| Some((package_index(e.file_name().to_str()?)?, e.path())))
            .collect();
        zones.sort();
        let mut meters = Vec::new();
        let mut why = Vec::new();
        for (n, dir) in zones {
            let energy_path = dir.join("energy_uj");
            let max = read_u64(&dir.join("max_energy_range_uj"));
            match (read_u64(&energy_path), max) {
                (Ok(_), Ok(max_range_uj)) => {
                    let label = std::fs::read_to_string(dir.join("name"))
                        .map(|s| s.trim().to_string())
                        .unwrap_or_else(|_| format!("package-{n}"));
                    meters.push(RaplMeter {
                        id: format!("cpu-{label}"),
                        energy_path,
                        max_range_uj,
                        last: None,
                        total_uj: 0,
                        notes: Vec::new(),
                    });
                }
                (Err(e), _) | (_, Err(e)) => why.push(format!(
                    "{e} (energy_uj is root-only since Linux 5.10: run as root or grant read access)"
                )),
            }
        }
        if meters.is_empty() && !why.is_empty() {
            return Err(why.join("; "));
        }
        Ok(meters)
    }
}

impl Meter for RaplMeter {
    fn device(&self) -> &str {
        &self.id
    }
    fn kind(&self) -> ComponentKind {
        ComponentKind::Cpu
    }
    fn sensor(&self) -> &'static str {
        "rapl"
    }
    fn status(&self) -> Status {
        Status::Measured
    }
    fn energy_method(&self) -> EnergyMethod {
        EnergyMethod::EnergyCounter
    }
    fn read(&mut self) -> Reading {
        let mut r = Reading::empty(PowerKind::IntervalAverage);
        let now = Instant::now();
        match read_u64(&self.energy_path) {
            Ok(cur) => {
                if let Some((prev, t)) = self.last {
                    let d = rapl_delta_uj(prev, cur, self.max_range_uj);
                    self.total_uj = self.total_uj.saturating_add(d);
                    let dt = now.duration_since(t).as_secs_f64();
                    if dt > 0.0 {
                        r.power_watts = Some(d as f64 / 1e6 / dt);
                    }
                }
                r.energy_counter_joules = Some(self.total_uj as f64 / 1e6);
                self.last = Some((cur, now));
            }
            Err(e) => {
                if !self.notes.contains(&e) {
                    self.notes.push(e);
                }
            }
        }
        r
    }
    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_around() {
        let max = 262_143_328_850;
        for (prev, cur, want) in [(100, 400, 300), (max - 50, 25, 75), (0, 0, 0), (max, 0, 0)] {
            assert_eq!(rapl_delta_uj(prev, cur, max), want, "{prev} → {cur}");
        }
    }

    #[test]
    fn discovers_packages_not_subzones_and_reads_counters() {
        let root = tempfile::tempdir().unwrap();
        let pkg = root.path().join("intel-rapl:0");
        let sub = root.path().join("intel-rapl:0:0");
        for d in [&pkg, &sub] {
            std::fs::create_dir(d).unwrap();
            std::fs::write(d.join("energy_uj"), "1000\n").unwrap();
            std::fs::write(d.join("max_energy_range_uj"), "5000\n").unwrap();
        }
        std::fs::write(pkg.join("name"), "package-0\n").unwrap();
        let mut meters = RaplMeter::discover(root.path()).unwrap();
        assert_eq!(meters.len(), 1);
        let m = &mut meters[0];
        assert_eq!(m.device(), "cpu-package-0");
        assert_eq!(m.read().energy_counter_joules, Some(0.0));
        std::fs::write(pkg.join("energy_uj"), "4000\n").unwrap();
        assert_eq!(m.read().energy_counter_joules, Some(0.003));
        // Wraps: 4000 → 5000 → 0 → 500 is 1500 µJ more.
        std::fs::write(pkg.join("energy_uj"), "500\n").unwrap();
        assert_eq!(m.read().energy_counter_joules, Some(0.0045));
    }

    #[test]
    fn absent_or_unreadable_says_why() {
        let missing = RaplMeter::discover(Path::new("/nonexistent/powercap"))
            .err()
            .unwrap();
        assert!(missing.contains("not present"));
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("intel-rapl:0")).unwrap();
        let why = RaplMeter::discover(root.path()).err().unwrap();
        assert!(why.contains("energy_uj"), "{why}");
        let empty = tempfile::tempdir().unwrap();
        assert!(RaplMeter::discover(empty.path()).unwrap().is_empty());
    }
}
