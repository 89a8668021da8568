//! Named baselines (criterion's idea): `rigbench run --save-baseline NAME` copies the run's
//! run.json and segments.csv (its per-repeat and per-segment figures) into
//! `reports/baselines/NAME/`, with baseline.json saying what was kept and when. `rigbench gate
//! --baseline NAME` reads them back.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::result::RunResult;

/// Where named baselines live, relative to the working directory.
pub const BASELINES_DIR: &str = "reports/baselines";
/// Version of baseline.json's layout.
pub const BASELINE_SCHEMA_VERSION: u32 = 1;

/// baseline.json: what a saved baseline holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaselineInfo {
    pub schema_version: u32,
    pub name: String,
    /// When it was saved, UTC.
    pub saved_utc: chrono::DateTime<chrono::Utc>,
    /// The run folder it was copied from.
    pub from_out_dir: String,
    /// rigbench version and git commit of the run.
    pub rigbench_version: String,
    pub git_commit: String,
    /// Repeats and segments kept (the gate's samples).
    pub repeats: u32,
    pub segments: u64,
    /// The files kept beside it.
    pub files: Vec<String>,
}

/// A baseline name is one path component of letters, digits, `.`, `_` and `-` (not `.` or
/// `..`), at most 100 characters, so it can never name a folder outside `reports/baselines/`.
pub fn valid_name(name: &str) -> Result<()> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if name.is_empty() || name.len() > 100 || !ok_chars || name == "." || name == ".." {
        bail!(
            "--save-baseline {name:?} is not a usable name: use 1 to 100 letters, digits, '.', '_' or '-' (e.g. main or pr-123)"
        );
    }
    Ok(())
}

/// Copies a finished run into `baselines_dir/NAME/` (replacing an older baseline of that name)
/// and returns the folder.
pub fn save(
    baselines_dir: &Path,
    name: &str,
    out_dir: &Path,
    result: &RunResult,
) -> Result<PathBuf> {
    valid_name(name)?;
    if result.partial {
        bail!("the run is partial: a partial run is never kept as baseline {name:?}");
    }
    let dir = baselines_dir.join(name);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut files = Vec::new();
    for f in ["run.json", "segments.csv", "power.csv", "report.md"] {
        let from = out_dir.join(f);
        if !from.is_file() {
            if f == "run.json" || f == "segments.csv" {
                bail!(
                    "{} is missing: nothing to keep as baseline {name:?}",
                    from.display()
                );
            }
            let _ = std::fs::remove_file(dir.join(f));
            continue;
        }
        std::fs::copy(&from, dir.join(f))
            .with_context(|| format!("cannot copy {} to {}", from.display(), dir.display()))?;
        files.push(f.to_string());
    }
    let info = BaselineInfo {
        schema_version: BASELINE_SCHEMA_VERSION,
        name: name.to_string(),
        saved_utc: chrono::Utc::now(),
        from_out_dir: out_dir.display().to_string(),
        rigbench_version: result.rigbench_version.clone(),
        git_commit: result.fingerprint.git_commit.clone(),
        repeats: result.repeats.len() as u32,
        segments: result.summary.total_segments,
        files,
    };
    let mut bytes = serde_json::to_vec_pretty(&info)?;
    bytes.push(b'\n');
    let path = dir.join("baseline.json");
    std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["main", "pr-123", "v0.1.0", "a_b"] {
            assert!(valid_name(ok).is_ok(), "{ok}");
        }
        let long = "x".repeat(101);
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "../x",
            "/abs",
            "a b",
            "naïve",
            long.as_str(),
        ] {
            assert!(valid_name(bad).is_err(), "{bad:?}");
        }
    }
}
