//! Ingest: opens a source (any file FFmpeg demuxes, or an HLS media playlist), probes it, and cuts
//! it into the MPEG-TS segments a broadcaster would send; paces them like a live stream.

// PLACEHOLDER (ingest helper replaces): the probed source, as recorded in run.json `source`.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SourceInfo {
    pub path: String,
    pub container: String,
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub duration_seconds: f64,
    pub bitrate_bps: u64,
}
