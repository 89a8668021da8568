//! Reading one node's result folder: its run.json (the result), and the task.json a scheduler
//! task leaves beside it (which node, which job, how rigbench exited), so that a node whose run
//! failed before writing a result is still listed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::MergeError;
use crate::result::RunResult;

/// The marker a Slurm or Kubernetes task writes in its node folder (deploy/slurm/rigbench.sbatch,
/// deploy/k8s/job.yaml): written when the task starts, rewritten with the exit code when
/// rigbench ends. A folder with a task.json and no run.json is a node whose run failed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskMarker {
    /// `slurm` or `kubernetes`.
    #[serde(default)]
    pub scheduler: String,
    /// The scheduler's job id (Slurm array job id, Kubernetes job name).
    #[serde(default)]
    pub job_id: String,
    /// Index of the task in the array (Slurm array task id, Kubernetes completion index).
    #[serde(default)]
    pub task_index: Option<u32>,
    /// The node the task ran on, as the scheduler names it.
    #[serde(default)]
    pub host: String,
    /// `run` or `capacity`: the rigbench subcommand the task ran.
    #[serde(default)]
    pub mode: String,
    /// The rigbench command line the task ran.
    #[serde(default)]
    pub command: String,
    /// When the task started, UTC (RFC 3339).
    #[serde(default)]
    pub started_utc: String,
    /// When rigbench ended, UTC; absent while it runs or when the task was killed.
    #[serde(default)]
    pub finished_utc: Option<String>,
    /// rigbench's exit status; absent while it runs or when the task was killed.
    #[serde(default)]
    pub exit_code: Option<i32>,
}

/// What one node folder holds.
#[derive(Debug, Clone)]
pub struct NodeInput {
    /// The folder as given.
    pub folder: PathBuf,
    /// Its run.json, when there is one.
    pub run: Option<RunResult>,
    /// Its task.json, when a scheduler task wrote one.
    pub task: Option<TaskMarker>,
    /// Its capacity.json (`rigbench capacity`), when there is one; `run` is then the probe run
    /// its money rests on.
    pub capacity: Option<CapacityNode>,
    /// The last non-empty line of its rigbench.log (the task's captured output), for failed
    /// nodes.
    pub log_tail: Option<String>,
}

/// A capacity search's result and the capacity input it gives the economics.
#[derive(Debug, Clone)]
pub struct CapacityNode {
    pub result: crate::capacity::result::CapacityResult,
    /// `Searched { streams, limit, confidence }`.
    pub source: crate::economics::CapacitySource,
}

/// The file names a node folder may hold.
pub const RUN_FILE: &str = "run.json";
pub const TASK_FILE: &str = "task.json";
pub const CAPACITY_FILE: &str = "capacity.json";
pub const LOG_FILE: &str = "rigbench.log";

/// Reads a node folder. No result and no task marker, a corrupt or other-schema run.json, or a
/// corrupt task.json are errors naming the folder.
pub fn read_node(folder: &Path) -> Result<NodeInput, MergeError> {
    let shown = folder.display().to_string();
    if !folder.is_dir() {
        return Err(MergeError::NotAFolder { folder: shown });
    }
    let run_path = folder.join(RUN_FILE);
    let run = if run_path.is_file() {
        let text = std::fs::read_to_string(&run_path).map_err(|e| MergeError::Unreadable {
            folder: shown.clone(),
            file: RUN_FILE,
            message: e.to_string(),
        })?;
        Some(
            crate::economics::parse_run_json(&text, &run_path.display().to_string()).map_err(
                |e| MergeError::BadRun {
                    folder: shown.clone(),
                    message: e.to_string(),
                },
            )?,
        )
    } else {
        None
    };
    let mut run = run;
    let capacity_path = folder.join(CAPACITY_FILE);
    let capacity = if capacity_path.is_file() {
        let bad = |message: String| MergeError::BadRun {
            folder: shown.clone(),
            message,
        };
        let result =
            crate::capacity::load_capacity_json(&capacity_path).map_err(|e| bad(e.to_string()))?;
        let source = crate::capacity::searched_capacity(
            result.decision.capacity_streams,
            &result.binding_limit,
            &result.decision.confidence,
            &match result.backend.used.as_str() {
                "nvidia" => crate::transcode::Backend::Nvidia,
                "hybrid" => crate::transcode::Backend::Hybrid,
                _ => crate::transcode::Backend::Cpu,
            },
        );
        if run.is_none() && result.economics_run_dir.is_some() {
            let (probe, _) =
                crate::capacity::money_inputs(&capacity_path).map_err(|e| bad(format!("{e:#}")))?;
            run = Some(probe);
        }
        Some(CapacityNode { result, source })
    } else {
        None
    };
    let task_path = folder.join(TASK_FILE);
    let task = if task_path.is_file() {
        let text = std::fs::read_to_string(&task_path).map_err(|e| MergeError::Unreadable {
            folder: shown.clone(),
            file: TASK_FILE,
            message: e.to_string(),
        })?;
        Some(
            serde_json::from_str::<TaskMarker>(&text).map_err(|e| MergeError::BadTask {
                folder: shown.clone(),
                message: e.to_string(),
            })?,
        )
    } else {
        None
    };
    if run.is_none() && task.is_none() && capacity.is_none() {
        return Err(MergeError::NoResult { folder: shown });
    }
    let log_tail = std::fs::read(folder.join(LOG_FILE))
        .ok()
        .and_then(|bytes| last_line(&String::from_utf8_lossy(&bytes)));
    Ok(NodeInput {
        folder: folder.to_path_buf(),
        run,
        task,
        capacity,
        log_tail,
    })
}

/// Reads a fleet.json of `rigbench merge`: exists, is a file, is JSON, has this rigbench's
/// [`super::FLEET_SCHEMA_VERSION`], parses, and lists at least one node. Each refusal names the
/// file and says what to do.
pub fn load_fleet_json(path: &Path) -> Result<super::FleetResult, MergeError> {
    let bad = |message: String| MergeError::BadFleet {
        file: path.display().to_string(),
        message,
    };
    if path.is_dir() {
        return Err(bad(format!(
            "is a folder: give the fleet.json inside it ({})",
            path.join("fleet.json").display()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    if text.trim().is_empty() {
        return Err(bad(
            "is empty: give the fleet.json that `rigbench merge` wrote".to_string(),
        ));
    }
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        bad(format!(
            "not a rigbench fleet.json (invalid JSON: {e}); give the fleet.json that `rigbench merge` wrote"
        ))
    })?;
    let want = u64::from(super::FLEET_SCHEMA_VERSION);
    match value.get("schema_version").and_then(serde_json::Value::as_u64) {
        Some(v) if v == want => {}
        Some(v) => {
            return Err(bad(format!(
                "schema_version {v}, but this rigbench reads fleet.json schema_version {want}: merge the node folders again with this `rigbench merge`"
            )))
        }
        None => {
            return Err(bad(
                "not a rigbench fleet.json (no schema_version): give the fleet.json that `rigbench merge` wrote".to_string(),
            ))
        }
    }
    let fleet: super::FleetResult = serde_json::from_value(value)
        .map_err(|e| bad(format!("not a rigbench fleet.json: {e}")))?;
    if fleet.nodes.is_empty() {
        return Err(bad(
            "lists no node: merge at least one node folder".to_string()
        ));
    }
    Ok(fleet)
}

/// The last non-empty line of a log, trimmed and cut to 300 characters.
pub fn last_line(text: &str) -> Option<String> {
    let line = text.lines().rev().map(str::trim).find(|l| !l.is_empty())?;
    Some(line.chars().take(300).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_line_cases() {
        let cases: &[(&str, Option<&str>)] = &[
            ("", None),
            ("\n\n  \n", None),
            ("one", Some("one")),
            ("a\nerror: boom\n\n", Some("error: boom")),
            ("a\n  b  \r\n", Some("b")),
        ];
        for (text, want) in cases {
            assert_eq!(last_line(text).as_deref(), *want, "{text:?}");
        }
    }

    #[test]
    fn task_marker_accepts_a_running_task() {
        let t: TaskMarker = serde_json::from_str(
            r#"{"scheduler":"slurm","job_id":"7","task_index":2,"host":"n1","mode":"run","command":"rigbench run","started_utc":"2026-12-01T18:00:00Z","finished_utc":null,"exit_code":null}"#,
        )
        .unwrap();
        assert_eq!(t.task_index, Some(2));
        assert_eq!(t.exit_code, None);
    }
}
