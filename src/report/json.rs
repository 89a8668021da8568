//! run.json: the result value, pretty-printed.

use anyhow::Result;

use crate::result::RunResult;

/// run.json's bytes, newline-terminated.
pub fn run_json(result: &RunResult) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(result)?;
    bytes.push(b'\n');
    Ok(bytes)
}
