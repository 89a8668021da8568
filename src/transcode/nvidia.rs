//! The NVIDIA side: can a GPU backend run here (driver, GPU, NVENC), the filter-graph strings for
//! GPU scaling, and the classification of FFmpeg and NVENC failures into errors that say why a
//! GPU path cannot run. NVENC's options come from [`super::options::encoder_settings`], the one
//! function that builds them for every backend.

use std::sync::atomic::{AtomicUsize, Ordering};

use nvml_wrapper::enum_wrappers::device::EncoderType;
use nvml_wrapper::error::NvmlError;
use nvml_wrapper::Nvml;
use thiserror::Error;

use super::{Backend, GpuSelection};

/// NVENC sessions this process holds open right now (one per rendition per session).
static NVENC_SESSIONS_OPEN: AtomicUsize = AtomicUsize::new(0);

/// NVENC sessions this process holds open right now.
pub fn nvenc_sessions_open() -> usize {
    NVENC_SESSIONS_OPEN.load(Ordering::SeqCst)
}

/// Counts one open NVENC session for as long as it lives.
pub struct NvencSessionGuard(());

impl NvencSessionGuard {
    pub fn acquire() -> Self {
        NVENC_SESSIONS_OPEN.fetch_add(1, Ordering::SeqCst);
        Self(())
    }
}

impl Drop for NvencSessionGuard {
    fn drop(&mut self) {
        NVENC_SESSIONS_OPEN.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Why a GPU path cannot run.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum GpuError {
    #[error("no NVIDIA driver: {detail}; install the NVIDIA driver, or use --backend cpu")]
    NoDriver { detail: String },
    #[error("no NVIDIA GPU: the driver is loaded but reports no device; use --backend cpu")]
    NoGpu,
    #[error(
        "GPU {id} not found: this machine has {count} NVIDIA GPU(s) (ids 0..{count}); fix --nvidia"
    )]
    GpuNotFound { id: u32, count: u32 },
    #[error("no NVENC on GPU {id} ({name}): it cannot encode video (H100, H200 and A100 have no NVENC); use --backend hybrid")]
    NoNvenc { id: u32, name: String },
    #[error("NVENC session cap hit: opening one more encoder failed with {open_sessions} NVENC session(s) open in this process ({detail}); GeForce cards allow 8 concurrent sessions per system; lower --concurrent-sessions or the ladder size, or use --backend hybrid")]
    SessionCap {
        open_sessions: usize,
        detail: String,
    },
    #[error("this FFmpeg build lacks {what}; install an FFmpeg built with NVIDIA support (Debian 12's has it)")]
    FfmpegLacks { what: String },
    #[error("{stage} failed on the GPU: {detail}")]
    Other { stage: String, detail: String },
}

/// Whether NVML (the driver's `libnvidia-ml.so.1`) loads here.
pub fn nvml_driver_present() -> bool {
    Nvml::init().is_ok()
}

fn nvml_error(e: NvmlError) -> GpuError {
    match e {
        NvmlError::LibloadingError(_) | NvmlError::LibraryNotFound => GpuError::NoDriver {
            detail: "cannot load libnvidia-ml.so.1 (NVML)".to_string(),
        },
        NvmlError::DriverNotLoaded => GpuError::NoDriver {
            detail: "the NVIDIA kernel driver is not loaded".to_string(),
        },
        NvmlError::NoPermission => GpuError::Other {
            stage: "NVML".to_string(),
            detail: "no permission to open the GPU (/dev/nvidia*)".to_string(),
        },
        other => GpuError::Other {
            stage: "NVML".to_string(),
            detail: other.to_string(),
        },
    }
}

/// The device ids a GPU backend will use (`--nvidia` resolved), after checking the driver, the
/// GPUs, NVENC where the backend encodes on the GPU, FFmpeg's support, and that a CUDA context
/// opens on each device.
pub fn check_backend(backend: Backend, gpus: &GpuSelection) -> Result<Vec<u32>, GpuError> {
    let nvml = Nvml::init().map_err(nvml_error)?;
    let count = nvml.device_count().map_err(nvml_error)?;
    if count == 0 {
        return Err(GpuError::NoGpu);
    }
    let ids = select_devices(gpus, count)?;
    if backend == Backend::Nvidia {
        for &id in &ids {
            let device = nvml.device_by_index(id).map_err(nvml_error)?;
            let name = device.name().unwrap_or_else(|_| "unknown GPU".to_string());
            match device.encoder_capacity(EncoderType::H264) {
                Ok(0) | Err(NvmlError::NotSupported) => return Err(GpuError::NoNvenc { id, name }),
                Ok(_) => {}
                // Capacity unknown: the encoder open will tell.
                Err(_) => {}
            }
        }
        if ffmpeg_next::encoder::find_by_name("h264_nvenc").is_none() {
            return Err(GpuError::FfmpegLacks {
                what: "the h264_nvenc encoder".to_string(),
            });
        }
    }
    if ffmpeg_next::filter::find("scale_cuda").is_none() {
        return Err(GpuError::FfmpegLacks {
            what: "the scale_cuda filter".to_string(),
        });
    }
    for &id in &ids {
        super::hw::CudaDevice::open(id).map_err(|e| classify_hwdevice_error(&e.to_string()))?;
    }
    Ok(ids)
}

/// `--nvidia` resolved against the number of GPUs: none → GPU 0, all → every GPU.
pub fn select_devices(gpus: &GpuSelection, count: u32) -> Result<Vec<u32>, GpuError> {
    if count == 0 {
        return Err(GpuError::NoGpu);
    }
    match gpus {
        GpuSelection::None => Ok(vec![0]),
        GpuSelection::All => Ok((0..count).collect()),
        GpuSelection::Ids(ids) => {
            if let Some(&id) = ids.iter().find(|&&id| id >= count) {
                return Err(GpuError::GpuNotFound { id, count });
            }
            if ids.is_empty() {
                Ok(vec![0])
            } else {
                Ok(ids.clone())
            }
        }
    }
}

/// Classifies a failure to create the CUDA device context, from FFmpeg's message.
pub fn classify_hwdevice_error(text: &str) -> GpuError {
    let t = text.to_ascii_lowercase();
    if t.contains("cannot load libcuda") || t.contains("libcuda.so") {
        GpuError::NoDriver {
            detail: "cannot load libcuda.so.1".to_string(),
        }
    } else if t.contains("no_device") || t.contains("no cuda-capable device") {
        GpuError::NoGpu
    } else {
        GpuError::Other {
            stage: "creating the CUDA device context".to_string(),
            detail: text.to_string(),
        }
    }
}

/// Classifies a failure to open an NVENC encoder, from FFmpeg's error text (av_strerror of the
/// returned code, or the logged NVENC message), given how many sessions were open then.
///
/// FFmpeg's nvenc maps NV_ENC_ERR_OUT_OF_MEMORY to ENOMEM ("Cannot allocate memory", logged as
/// "OpenEncodeSessionEx failed: out of memory (10)"), which is what the GeForce session cap
/// returns; NV_ENC_ERR_NO_ENCODE_DEVICE / UNSUPPORTED_DEVICE mean no NVENC.
pub fn classify_nvenc_open_error(text: &str, open_sessions: usize, gpu: u32) -> GpuError {
    let t = text.to_ascii_lowercase();
    if t.contains("cannot load libcuda") {
        GpuError::NoDriver {
            detail: "cannot load libcuda.so.1".to_string(),
        }
    } else if t.contains("cannot load libnvidia-encode") {
        GpuError::NoDriver {
            detail: "cannot load libnvidia-encode.so.1 (the driver's NVENC library)".to_string(),
        }
    } else if t.contains("out of memory (10)")
        || t.contains("cannot allocate memory")
        || t.contains("incompatible client key")
    {
        GpuError::SessionCap {
            open_sessions,
            detail: text.to_string(),
        }
    } else if t.contains("no encode device")
        || t.contains("unsupported device")
        || t.contains("no capable devices found")
        || t.contains("function not implemented")
        || t.contains("no such file or directory")
    {
        GpuError::NoNvenc {
            id: gpu,
            name: "this GPU".to_string(),
        }
    } else {
        GpuError::Other {
            stage: "opening the NVENC encoder".to_string(),
            detail: text.to_string(),
        }
    }
}

/// The GPU part of a rendition's filter graph: scale on the GPU; for hybrid, download to NV12
/// for libx264; for nvidia, frames stay on the GPU for NVENC.
pub fn gpu_filter_spec(backend: Backend, width: u32, height: u32) -> String {
    match backend {
        Backend::Hybrid => format!("scale_cuda=w={width}:h={height},hwdownload,format=nv12"),
        _ => format!("scale_cuda=w={width}:h={height}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_graph_strings() {
        let cases = [
            (Backend::Nvidia, 426, 240, "scale_cuda=w=426:h=240"),
            (
                Backend::Hybrid,
                1280,
                720,
                "scale_cuda=w=1280:h=720,hwdownload,format=nv12",
            ),
        ];
        for (b, w, h, want) in cases {
            assert_eq!(gpu_filter_spec(b, w, h), want);
        }
    }

    #[test]
    fn nvenc_error_classification() {
        let cases: &[(&str, &str)] = &[
            (
                "OpenEncodeSessionEx failed: out of memory (10)",
                "session cap",
            ),
            ("Cannot allocate memory", "session cap"),
            (
                "OpenEncodeSessionEx failed: unsupported device (2)",
                "no NVENC",
            ),
            (
                "OpenEncodeSessionEx failed: no encode device (1)",
                "no NVENC",
            ),
            ("No capable devices found", "no NVENC"),
            ("Cannot load libcuda.so.1", "no NVIDIA driver"),
            ("Cannot load libnvidia-encode.so.1", "no NVIDIA driver"),
            ("Invalid argument", "failed on the GPU"),
        ];
        for (text, want) in cases {
            let e = classify_nvenc_open_error(text, 8, 0).to_string();
            assert!(
                e.to_lowercase().contains(&want.to_lowercase()),
                "{text}: {e}"
            );
        }
        let e = classify_nvenc_open_error("OpenEncodeSessionEx failed: out of memory (10)", 8, 0)
            .to_string();
        assert!(e.contains("8 NVENC session(s) open"), "{e}");
    }

    #[test]
    fn hwdevice_error_classification() {
        let cases: &[(&str, &str)] = &[
            ("Cannot load libcuda.so.1", "no NVIDIA driver"),
            (
                "cu->cuInit(0) failed -> CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected",
                "no NVIDIA GPU",
            ),
            ("Operation not permitted", "failed on the GPU"),
        ];
        for (text, want) in cases {
            let e = classify_hwdevice_error(text).to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn device_selection() {
        assert_eq!(select_devices(&GpuSelection::None, 2), Ok(vec![0]));
        assert_eq!(select_devices(&GpuSelection::All, 3), Ok(vec![0, 1, 2]));
        assert_eq!(
            select_devices(&GpuSelection::Ids(vec![1, 0]), 2),
            Ok(vec![1, 0])
        );
        assert_eq!(
            select_devices(&GpuSelection::Ids(vec![2]), 2),
            Err(GpuError::GpuNotFound { id: 2, count: 2 })
        );
        assert_eq!(select_devices(&GpuSelection::All, 0), Err(GpuError::NoGpu));
    }

    #[test]
    fn no_driver_here_gives_the_no_driver_error() {
        if nvml_driver_present() {
            println!("skip: an NVIDIA driver is present; this test checks the machine without one");
            return;
        }
        for backend in [Backend::Nvidia, Backend::Hybrid] {
            let e = check_backend(backend, &GpuSelection::None).unwrap_err();
            assert!(matches!(e, GpuError::NoDriver { .. }), "{e}");
            assert!(e.to_string().contains("no NVIDIA driver"));
        }
        crate::ingest::init_ffmpeg();
        match crate::transcode::hw::CudaDevice::open(0) {
            Ok(_) => println!("skip: FFmpeg opened a CUDA device without NVML"),
            Err(e) => {
                // FFmpeg's own message ("Cannot load libcuda.so.1") goes to its log; the code we
                // get back is generic, so check NVML-less classification of the logged text.
                println!("CUDA device open failed as expected: {e}");
                assert!(matches!(
                    classify_hwdevice_error("Cannot load libcuda.so.1"),
                    GpuError::NoDriver { .. }
                ));
            }
        }
    }
}
