//! Transcode: the ladder, and one transcoder per session that decodes each segment once and
//! encodes every rendition (CPU libx264, NVIDIA NVENC, or hybrid NVDEC + libx264), with lpms'
//! per-segment lifecycle, sizes and encoder options.
//!
//! - [`ladder`]: presets and JSON ladder files (pure).
//! - [`session`]: the per-session pipeline (decode once, scale, frame-rate convert, encode, mux).
//! - [`size`]: the size lpms encodes a rendition at (aspect kept, encoder limits; pure).
//! - [`options`]: the encoder and its options for every backend, as lpms sets them (pure).
//! - [`cpu`] / [`nvidia`]: thread budget, GPU checks and error classification.
//! - [`fps`]: the frame-rate conversion plan (pure).
//! - `hw`: the only unsafe FFmpeg FFI (in-memory muxing, CUDA contexts).

pub mod cpu;
pub mod fps;
pub(crate) mod hw;
pub mod ladder;
pub mod nvidia;
pub mod options;
pub mod session;
pub mod size;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use nvidia::GpuError;
pub use session::{RenditionOutput, SegmentOutput, Session, SessionConfig};

/// The backend a session runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// FFmpeg software decode, swscale, libx264.
    #[default]
    Cpu,
    /// NVDEC decode, scale_cuda, h264_nvenc / hevc_nvenc; frames stay on the GPU.
    Nvidia,
    /// NVDEC decode and scale_cuda, then libx264 on the CPU (GPUs without NVENC: H100, H200, A100).
    Hybrid,
}

impl Backend {
    /// The name used on the command line and in run.json.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::Nvidia => "nvidia",
            Backend::Hybrid => "hybrid",
        }
    }

    /// Whether this backend decodes and scales on a GPU.
    pub fn uses_gpu(self) -> bool {
        !matches!(self, Backend::Cpu)
    }

    /// The encoder family that encodes the ladder on this backend.
    pub fn encoder_family(self) -> ladder::EncoderFamily {
        match self {
            Backend::Nvidia => ladder::EncoderFamily::Nvenc,
            Backend::Cpu | Backend::Hybrid => ladder::EncoderFamily::Libx264,
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What `--backend` asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BackendChoice {
    /// nvidia when it can run here, else cpu with a warning.
    #[default]
    Auto,
    Cpu,
    Nvidia,
    Hybrid,
}

impl BackendChoice {
    pub fn name(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Cpu => "cpu",
            BackendChoice::Nvidia => "nvidia",
            BackendChoice::Hybrid => "hybrid",
        }
    }
}

/// What `--nvidia` selected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum GpuSelection {
    /// Not given: GPU 0 for GPU backends.
    #[default]
    None,
    /// These GPU ids.
    Ids(Vec<u32>),
    /// Every GPU NVML reports.
    All,
}

/// The backend that will run, on which devices, with which codecs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResolvedBackend {
    pub backend: Backend,
    /// GPU ids sessions go to round-robin (empty for cpu).
    pub devices: Vec<u32>,
    /// Why `auto` fell back to cpu.
    pub fallback_reason: Option<String>,
    /// Video encoders, as FFmpeg names them.
    pub encoders: Vec<String>,
    /// Video decoder description.
    pub decoder: String,
}

/// What one backend can do on this machine, for `rigbench probe`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendCapability {
    pub name: String,
    pub available: bool,
    /// Why not, when unavailable.
    pub reason: Option<String>,
}

/// A transcode failure, naming the segment and rendition.
#[derive(Debug, Error)]
pub enum TranscodeError {
    #[error(transparent)]
    Ladder(#[from] ladder::LadderError),
    #[error(transparent)]
    Gpu(#[from] GpuError),
    #[error("the ladder is empty: give at least one rendition")]
    EmptyLadder,
    #[error("segment {segment} ({path}): cannot open it: {source}")]
    OpenSegment {
        segment: u32,
        path: String,
        source: ffmpeg_next::Error,
    },
    #[error("segment {segment} ({path}) has no video stream")]
    NoVideo { segment: u32, path: String },
    #[error("segment {segment}: cannot open a decoder for {codec}: {reason}")]
    Decoder {
        segment: u32,
        codec: String,
        reason: String,
    },
    #[error("segment {segment}: not one of its {packets} video packets decoded ({errors} decode errors); the segment is corrupt")]
    Undecodable {
        segment: u32,
        packets: u64,
        errors: u64,
    },
    #[error("segment {segment}, rendition {rendition}: filter graph {spec:?} failed: {reason}")]
    Filter {
        segment: u32,
        rendition: String,
        spec: String,
        reason: String,
    },
    #[error("segment {segment}, rendition {rendition}: encoder {encoder} failed: {reason}")]
    Encoder {
        segment: u32,
        rendition: String,
        encoder: String,
        reason: String,
    },
    #[error("segment {segment}, rendition {rendition}: encoder {encoder} is not in this FFmpeg build; install an FFmpeg with {encoder}")]
    MissingEncoder {
        segment: u32,
        rendition: String,
        encoder: String,
    },
    #[error("segment {segment}, rendition {rendition}: MPEG-TS muxing failed: {reason}")]
    Mux {
        segment: u32,
        rendition: String,
        reason: String,
    },
    #[error("segment {segment}, rendition {rendition}: cannot write {path}: {source}")]
    WriteRendition {
        segment: u32,
        rendition: String,
        path: String,
        source: std::io::Error,
    },
    #[error("segment {segment}, rendition {rendition}: the encoding thread stopped unexpectedly")]
    Worker { segment: u32, rendition: String },
}

/// The GPU for session `session`: `devices[session % n]`, as livepeer_bench assigns them.
pub fn assign_device(session: u32, devices: &[u32]) -> Option<u32> {
    if devices.is_empty() {
        None
    } else {
        Some(devices[session as usize % devices.len()])
    }
}

/// Decides which backend runs. `auto` = nvidia if it can run here, else cpu with the reason.
pub fn resolve_backend(
    requested: BackendChoice,
    gpus: &GpuSelection,
) -> Result<ResolvedBackend, TranscodeError> {
    let cpu = |fallback_reason: Option<String>| ResolvedBackend {
        backend: Backend::Cpu,
        devices: Vec::new(),
        fallback_reason,
        encoders: vec!["libx264".to_string()],
        decoder: "software (FFmpeg native)".to_string(),
    };
    match requested {
        BackendChoice::Cpu => Ok(cpu(None)),
        BackendChoice::Nvidia | BackendChoice::Hybrid => {
            let backend = if requested == BackendChoice::Nvidia {
                Backend::Nvidia
            } else {
                Backend::Hybrid
            };
            let devices = nvidia::check_backend(backend, gpus)?;
            Ok(gpu_resolved(backend, devices))
        }
        BackendChoice::Auto => match nvidia::check_backend(Backend::Nvidia, gpus) {
            Ok(devices) => Ok(gpu_resolved(Backend::Nvidia, devices)),
            Err(e) => Ok(cpu(Some(format!(
                "the nvidia backend cannot run here: {e}"
            )))),
        },
    }
}

fn gpu_resolved(backend: Backend, devices: Vec<u32>) -> ResolvedBackend {
    ResolvedBackend {
        backend,
        devices,
        fallback_reason: None,
        encoders: match backend {
            Backend::Nvidia => vec!["h264_nvenc".to_string(), "hevc_nvenc".to_string()],
            _ => vec!["libx264".to_string()],
        },
        decoder: "NVDEC (cuda hwaccel) + scale_cuda".to_string(),
    }
}

/// What each backend can do here, and why not (for `rigbench probe`).
pub fn capabilities() -> Vec<BackendCapability> {
    let cpu = match cpu::check_libx264() {
        Ok(()) => BackendCapability {
            name: "cpu".into(),
            available: true,
            reason: None,
        },
        Err(reason) => BackendCapability {
            name: "cpu".into(),
            available: false,
            reason: Some(reason),
        },
    };
    let mut out = vec![cpu];
    for backend in [Backend::Nvidia, Backend::Hybrid] {
        let r = nvidia::check_backend(backend, &GpuSelection::None);
        out.push(BackendCapability {
            name: backend.name().into(),
            available: r.is_ok(),
            reason: r.err().map(|e| e.to_string()),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_devices() {
        let cases: &[(u32, &[u32], Option<u32>)] = &[
            (0, &[], None),
            (3, &[], None),
            (0, &[0], Some(0)),
            (5, &[0], Some(0)),
            (0, &[0, 1], Some(0)),
            (1, &[0, 1], Some(1)),
            (2, &[0, 1], Some(0)),
            (4, &[2, 5, 7], Some(5)),
            (5, &[2, 5, 7], Some(7)),
        ];
        for &(session, devices, want) in cases {
            assert_eq!(
                assign_device(session, devices),
                want,
                "session {session} on {devices:?}"
            );
        }
    }

    #[test]
    fn cpu_resolves_without_gpu() {
        let r = resolve_backend(BackendChoice::Cpu, &GpuSelection::None).unwrap();
        assert_eq!(r.backend, Backend::Cpu);
        assert!(r.devices.is_empty() && r.fallback_reason.is_none());
        assert_eq!(r.encoders, ["libx264"]);
    }

    #[test]
    fn auto_falls_back_to_cpu_with_reason_when_no_driver() {
        if nvidia::nvml_driver_present() {
            println!(
                "skip: an NVIDIA driver is present here; this test checks the no-driver fallback"
            );
            return;
        }
        let r = resolve_backend(BackendChoice::Auto, &GpuSelection::None).unwrap();
        assert_eq!(r.backend, Backend::Cpu);
        let reason = r.fallback_reason.unwrap();
        assert!(reason.contains("no NVIDIA driver"), "{reason}");
        let e = resolve_backend(BackendChoice::Nvidia, &GpuSelection::Ids(vec![0]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no NVIDIA driver"), "{e}");
        let e = resolve_backend(BackendChoice::Hybrid, &GpuSelection::All)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no NVIDIA driver"), "{e}");
        let caps = capabilities();
        assert_eq!(
            caps.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["cpu", "nvidia", "hybrid"]
        );
        assert!(
            !caps[1].available
                && caps[1]
                    .reason
                    .as_deref()
                    .unwrap_or("")
                    .contains("no NVIDIA driver")
        );
    }
}
