//! The out-dir's files: claiming the folder (refusing or, with `--force`, clearing an earlier
//! run), removing it again when bad input is found before anything was written, and writing every
//! summary file atomically (a temporary file in the same folder, synced, then renamed), so a
//! reader never sees half a run.json and a failed write leaves the previous file whole.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::config::RUN_FILES;

/// Writes `bytes` to `path` atomically: temp file beside it, fsync, rename over.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The run's out-dir, as claimed by [`claim`]. Dropped while still empty (bad input found before
/// the first file was written), the folders this run created for it are removed again, so no
/// empty `reports/runs/<stamp>/` is left behind.
#[derive(Debug)]
pub struct OutDir {
    path: PathBuf,
    /// Folders `claim` created, the out-dir first, then its new parents.
    created: Vec<PathBuf>,
}

impl OutDir {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for OutDir {
    fn drop(&mut self) {
        for dir in &self.created {
            // `remove_dir` removes only an empty folder: never anything the run wrote.
            if fs::remove_dir(dir).is_err() {
                break;
            }
        }
    }
}

/// Creates the out-dir (or, with `force`, clears an earlier run's files from it; the config has
/// already refused a folder that holds a run without `--force`).
pub fn claim(out_dir: &Path, force: bool) -> Result<OutDir> {
    let created: Vec<PathBuf> = out_dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
        .map(Path::to_path_buf)
        .collect();
    fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create --out-dir {}", out_dir.display()))?;
    if force && created.is_empty() {
        clear_run(out_dir)?;
    }
    Ok(OutDir {
        path: out_dir.to_path_buf(),
        created,
    })
}

/// Removes the files an earlier run left in `dir`: [`RUN_FILES`], `renditions/` and leftover
/// `.segments-*` work folders. Only those names, only directly inside `dir`; a symbolic link is
/// removed as a link, never followed.
pub fn clear_run(dir: &Path) -> Result<()> {
    let mut doomed: Vec<PathBuf> = RUN_FILES.iter().map(|f| dir.join(f)).collect();
    doomed.push(dir.join("renditions"));
    let entries =
        fs::read_dir(dir).with_context(|| format!("cannot read --out-dir {}", dir.display()))?;
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(".segments-")
        {
            doomed.push(entry.path());
        }
    }
    for path in doomed {
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        let removed = if meta.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        removed.with_context(|| {
            format!(
                "--force: cannot remove {} from the earlier run",
                path.display()
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_whole_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("run.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "{names:?}");
        assert!(write_atomic(&dir.path().join("missing/run.json"), b"x").is_err());
    }

    #[test]
    fn force_clears_only_run_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for f in [
            "run.json",
            "segments.csv",
            "power.csv",
            "report.md",
            "mine.txt",
        ] {
            fs::write(d.join(f), "x").unwrap();
        }
        fs::create_dir_all(d.join("renditions/repeat-1")).unwrap();
        fs::create_dir_all(d.join(".segments-abc")).unwrap();
        fs::create_dir_all(d.join("payments")).unwrap();
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("keep"), "x").unwrap();
        std::os::unix::fs::symlink(outside.path(), d.join("renditions/link")).unwrap();
        let claimed = claim(d, true).unwrap();
        let mut left: Vec<String> = fs::read_dir(d)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["mine.txt", "payments"]);
        assert!(
            outside.path().join("keep").exists(),
            "links are not followed"
        );
        drop(claimed);
        assert!(d.exists(), "a folder the run did not create stays");
    }

    #[test]
    fn an_empty_folder_the_run_created_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a/b");
        drop(claim(&out, false).unwrap());
        assert!(!out.exists());
        assert!(!dir.path().join("a").exists(), "new parents go too");
        assert!(dir.path().exists(), "what existed before stays");
        let kept = claim(&out, false).unwrap();
        fs::write(out.join("run.json"), "{}").unwrap();
        drop(kept);
        assert!(out.join("run.json").exists());
    }
}
