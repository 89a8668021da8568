//! Power metering: a sampler thread over NVML, RAPL and declared models.

// PLACEHOLDER (metering helper replaces).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct PowerSummary {}
