//! Bandwidth: bytes and bits per second in and out, per stream.

// PLACEHOLDER (metering helper replaces).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct BandwidthSummary {}
