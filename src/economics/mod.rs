//! Money: revenue, costs, margin, break-even and payback, as pure functions of a run's results
//! and a rig file.

// PLACEHOLDER (economics helper replaces).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Economics {}
