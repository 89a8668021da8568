//! The ladder: livepeer's presets and JSON ladder files, parsed and validated.

// PLACEHOLDER (transcode helper replaces; keep these field names, add the rest).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Profile {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub bitrate_bps: u64,
    /// 0 = keep the source rate.
    pub fps: u32,
    pub fps_den: u32,
}
