//! The hardware inventory: CPU, memory, OS, GPUs (through NVML), FFmpeg library versions.

// PLACEHOLDER (metering helper replaces).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct HostInfo {}
