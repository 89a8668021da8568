//! NVENC session-cap detection: opens `h264_nvenc` encoders on a GPU one after another, holding
//! them all, until the driver refuses one (GeForce cards cap concurrent sessions per system: 3,
//! then 5, 8 since early 2024; data-center cards have no cap), bounded, and caches the answer per
//! GPU (by UUID and driver version) so a search does not pay for it twice.
//!
//! The encoders are tiny (256x144, system-memory frames) and never encode a frame: opening the
//! session is what the cap counts. The `gpu` option of h264_nvenc is a CUDA device ordinal, which
//! matches NVML's index unless `CUDA_VISIBLE_DEVICES` or `CUDA_DEVICE_ORDER` reorder devices.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ffmpeg_next as ffmpeg;
use serde::{Deserialize, Serialize};

use crate::transcode::nvidia::{classify_nvenc_open_error, GpuError};

/// Sessions opened at most while looking for the cap (no consumer cap is above 8; a card that
/// takes this many has no cap that matters).
pub const DEFAULT_BOUND: u32 = 64;

/// What detection found on one GPU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NvencCap {
    pub gpu: u32,
    pub name: Option<String>,
    pub uuid: Option<String>,
    pub driver_version: Option<String>,
    /// Concurrent NVENC sessions the driver allowed; None = no cap up to `bound`.
    pub sessions: Option<u32>,
    /// Sessions tried at most.
    pub bound: u32,
    /// `detected` (opened now) or `cached` (an earlier detection on this GPU and driver).
    pub source: String,
    /// The driver's refusal, as FFmpeg reported it.
    pub detail: String,
}

impl NvencCap {
    /// "8 sessions", or "no cap up to 64".
    pub fn sessions_text(&self) -> String {
        self.sessions.map_or_else(
            || format!("no cap up to {} sessions", self.bound),
            |s| format!("{s} sessions"),
        )
    }
}

/// Why the cap could not be detected.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum NvencCapError {
    #[error("NVENC cap not detected: no NVIDIA GPU/driver ({0})")]
    NoGpu(String),
    #[error("NVENC cap not detected on GPU {gpu}: {reason}")]
    Unusable { gpu: u32, reason: String },
}

/// Where detections are cached: `$XDG_CACHE_HOME/rigbench/nvenc-cap.json`, else
/// `~/.cache/rigbench/nvenc-cap.json`.
pub fn cache_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("rigbench").join("nvenc-cap.json"))
}

fn cache_key(uuid: &str, driver: &str) -> String {
    format!("{uuid}|{driver}")
}

fn read_cache() -> BTreeMap<String, NvencCap> {
    cache_path()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn write_cache(cache: &BTreeMap<String, NvencCap>) {
    // A cache that cannot be written only costs a second detection later.
    if let Some(p) = cache_path() {
        if let Some(dir) = p.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Ok(bytes) = serde_json::to_vec_pretty(cache) {
            let _ = std::fs::write(p, bytes);
        }
    }
}

/// The cap of GPU `gpu`, from the cache or detected now.
pub fn detect(gpu: u32, bound: u32) -> Result<NvencCap, NvencCapError> {
    let nvml =
        nvml_wrapper::Nvml::init().map_err(|e| NvencCapError::NoGpu(format!("NVML: {e}")))?;
    let count = nvml
        .device_count()
        .map_err(|e| NvencCapError::NoGpu(format!("NVML: {e}")))?;
    if count == 0 {
        return Err(NvencCapError::NoGpu(
            "the driver is loaded but reports no device".to_string(),
        ));
    }
    let device = nvml
        .device_by_index(gpu)
        .map_err(|e| NvencCapError::Unusable {
            gpu,
            reason: format!("GPU {gpu} not found ({count} GPUs): {e}"),
        })?;
    let name = device.name().ok();
    let uuid = device.uuid().ok();
    let driver_version = nvml.sys_driver_version().ok();
    let key = uuid
        .as_deref()
        .zip(driver_version.as_deref())
        .map(|(u, d)| cache_key(u, d));
    if let Some(key) = &key {
        if let Some(hit) = read_cache().get(key) {
            if hit.bound >= bound || hit.sessions.is_some() {
                return Ok(NvencCap {
                    gpu,
                    source: "cached".to_string(),
                    ..hit.clone()
                });
            }
        }
    }
    crate::ingest::init_ffmpeg();
    let (sessions, detail) = open_until_refused(gpu, bound)?;
    let cap = NvencCap {
        gpu,
        name,
        uuid,
        driver_version,
        sessions,
        bound,
        source: "detected".to_string(),
        detail,
    };
    if let Some(key) = key {
        let mut cache = read_cache();
        cache.insert(key, cap.clone());
        write_cache(&cache);
    }
    Ok(cap)
}

/// Opens encoders until one is refused for the session cap; returns the count that opened.
fn open_until_refused(gpu: u32, bound: u32) -> Result<(Option<u32>, String), NvencCapError> {
    let codec = ffmpeg::encoder::find_by_name("h264_nvenc").ok_or(NvencCapError::Unusable {
        gpu,
        reason: "this FFmpeg build has no h264_nvenc encoder".to_string(),
    })?;
    let mut open = Vec::new();
    for i in 0..bound {
        let attempt = (|| -> Result<ffmpeg::encoder::Video, ffmpeg::Error> {
            let ctx = ffmpeg::codec::context::Context::new_with_codec(codec);
            let mut enc = ctx.encoder().video()?;
            enc.set_width(256);
            enc.set_height(144);
            enc.set_format(ffmpeg::format::Pixel::YUV420P);
            enc.set_time_base((1, 25));
            enc.set_frame_rate(Some((25, 1)));
            let mut opts = ffmpeg::Dictionary::new();
            opts.set("gpu", &gpu.to_string());
            enc.open_as_with(codec, opts)
        })();
        match attempt {
            Ok(encoder) => open.push(encoder),
            Err(e) => {
                let text = e.to_string();
                return match classify_nvenc_open_error(&text, i as usize, gpu) {
                    GpuError::SessionCap { detail, .. } => Ok((Some(i), detail)),
                    GpuError::NoDriver { detail } => Err(NvencCapError::NoGpu(detail)),
                    other => Err(NvencCapError::Unusable {
                        gpu,
                        reason: format!("opening NVENC session {}: {other}", i + 1),
                    }),
                };
            }
        }
    }
    drop(open);
    Ok((None, format!("{bound} sessions opened without a refusal")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_driver_it_says_so() {
        if crate::transcode::nvidia::nvml_driver_present() {
            eprintln!("SKIP without_a_driver_it_says_so: an NVIDIA driver is present here");
            return;
        }
        let e = detect(0, 4).unwrap_err();
        assert!(matches!(e, NvencCapError::NoGpu(_)), "{e:?}");
        assert!(e.to_string().contains("no NVIDIA GPU/driver"), "{e}");
    }

    #[test]
    fn the_cache_lives_under_the_user_cache_folder() {
        if let Some(p) = cache_path() {
            assert!(p.ends_with("rigbench/nvenc-cap.json"), "{}", p.display());
        }
        assert_eq!(cache_key("GPU-1", "550.54"), "GPU-1|550.54");
    }
}
