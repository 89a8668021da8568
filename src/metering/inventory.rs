//! The hardware inventory recorded in run.json `host` and printed by `rigbench probe`: hostname,
//! CPU model and logical cores (`/proc/cpuinfo`), memory (`/proc/meminfo`), OS
//! (`/etc/os-release`) and kernel, NVIDIA GPUs through NVML (loaded at run time, so a machine with
//! no driver records why), and the FFmpeg library versions rigbench is linked against.
//!
//! Detection never fails: whatever cannot be read is `None`, with the reason in
//! `unknown_reasons` under the field's name.

use std::collections::BTreeMap;

use nvml_wrapper::enum_wrappers::device::{Clock, EncoderType};
use nvml_wrapper::error::NvmlError;
use nvml_wrapper::Nvml;
use serde::{Deserialize, Serialize};

/// The machine a run measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HostInfo {
    pub hostname: Option<String>,
    /// CPU model name as `/proc/cpuinfo` gives it.
    pub cpu_model: Option<String>,
    /// Logical CPUs the process may use.
    pub logical_cores: Option<u32>,
    /// Logical CPUs the machine has online (`processor` lines of `/proc/cpuinfo`), whatever
    /// taskset or a cgroup lets this process use.
    #[serde(default)]
    pub cpu_cores_online: Option<u32>,
    /// cpufreq scaling governor of cpu0 (`performance`, `powersave`, ...); None in most VMs.
    #[serde(default)]
    pub cpu_governor: Option<String>,
    /// Physical memory (MemTotal).
    pub memory_bytes: Option<u64>,
    /// `/etc/os-release` PRETTY_NAME.
    pub os: Option<String>,
    /// Kernel release (`uname -r`).
    pub kernel: Option<String>,
    /// "ok" or "unavailable: <reason>" (no driver, no GPU, library not found, ...).
    pub nvml_status: String,
    /// NVIDIA driver version, when NVML loaded.
    pub nvidia_driver_version: Option<String>,
    /// CUDA version the driver supports (`major.minor`), when NVML loaded.
    #[serde(default)]
    pub cuda_driver_version: Option<String>,
    /// NVIDIA GPUs NVML sees (empty when NVML is unavailable).
    pub gpus: Vec<GpuInfo>,
    /// Versions of the FFmpeg libraries linked in, major.minor.micro.
    pub ffmpeg: FfmpegVersions,
    /// Why a field above is unknown, keyed by field name.
    pub unknown_reasons: BTreeMap<String, String>,
}

/// One NVIDIA GPU as NVML reports it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GpuInfo {
    /// NVML index (the id `--nvidia` takes).
    pub index: u32,
    pub name: Option<String>,
    pub uuid: Option<String>,
    /// Total framebuffer memory.
    pub memory_bytes: Option<u64>,
    /// H.264 encoder capacity NVML reports (0 = no NVENC or fully used).
    pub nvenc_h264_capacity: Option<u32>,
    /// True when the GPU has NVENC (H.264 encoder capacity > 0). H100/H200/A100 have none.
    pub nvenc_present: Option<bool>,
    /// True when NVML answers decoder-utilisation queries (the GPU has NVDEC); None when it
    /// cannot tell.
    pub nvdec_present: Option<bool>,
    /// Power limit NVML enforces, watts.
    #[serde(default)]
    pub power_limit_watts: Option<f64>,
    /// Maximum SM (graphics) clock, MHz.
    #[serde(default)]
    pub max_sm_clock_mhz: Option<u32>,
    /// Maximum memory clock, MHz.
    #[serde(default)]
    pub max_memory_clock_mhz: Option<u32>,
    /// Maximum video (NVENC/NVDEC) clock, MHz.
    #[serde(default)]
    pub max_video_clock_mhz: Option<u32>,
    /// What NVML could not answer, and why.
    pub notes: Vec<String>,
}

/// FFmpeg library versions, major.minor.micro.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FfmpegVersions {
    pub avutil: String,
    pub avcodec: String,
    pub avformat: String,
    pub avfilter: String,
    pub swscale: String,
    /// The `./configure` line libavutil was built with (which encoders, hwaccels, ...).
    #[serde(default)]
    pub configuration: String,
}

impl HostInfo {
    /// Inspects this machine. Never fails; see `unknown_reasons` for what could not be read.
    pub fn detect() -> HostInfo {
        let mut reasons = BTreeMap::new();
        let mut note = |field: &str, reason: String| {
            reasons.insert(field.to_string(), reason);
        };

        let hostname = read_trimmed("/proc/sys/kernel/hostname")
            .or_else(|_| read_trimmed("/etc/hostname"))
            .map_err(|e| note("hostname", e))
            .ok();
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo");
        let cpu_model = match &cpuinfo {
            Ok(text) => {
                let model = parse_cpu_model(text);
                if model.is_none() {
                    note("cpu_model", "/proc/cpuinfo has no `model name` line".into());
                }
                model
            }
            Err(e) => {
                note("cpu_model", format!("cannot read /proc/cpuinfo: {e}"));
                None
            }
        };
        let logical_cores = match std::thread::available_parallelism() {
            Ok(n) => u32::try_from(n.get()).ok(),
            Err(e) => {
                note(
                    "logical_cores",
                    format!("available_parallelism failed: {e}"),
                );
                None
            }
        };
        let memory_bytes = match std::fs::read_to_string("/proc/meminfo") {
            Ok(text) => {
                let m = parse_meminfo_total_bytes(&text);
                if m.is_none() {
                    note("memory_bytes", "/proc/meminfo has no MemTotal line".into());
                }
                m
            }
            Err(e) => {
                note("memory_bytes", format!("cannot read /proc/meminfo: {e}"));
                None
            }
        };
        let os = match std::fs::read_to_string("/etc/os-release") {
            Ok(text) => {
                let os = parse_os_release_pretty_name(&text);
                if os.is_none() {
                    note("os", "/etc/os-release has no PRETTY_NAME".into());
                }
                os
            }
            Err(e) => {
                note("os", format!("cannot read /etc/os-release: {e}"));
                None
            }
        };
        let kernel = read_trimmed("/proc/sys/kernel/osrelease")
            .map_err(|e| note("kernel", e))
            .ok();
        let cpu_cores_online = cpuinfo.as_deref().ok().and_then(count_processors);
        if cpu_cores_online.is_none() {
            note(
                "cpu_cores_online",
                "/proc/cpuinfo has no `processor` line".into(),
            );
        }
        let cpu_governor = read_trimmed("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
            .map_err(|e| note("cpu_governor", format!("no cpufreq (usual in a VM): {e}")))
            .ok();

        let mut cuda_driver_version = None;
        let (nvml_status, nvidia_driver_version, gpus) = match Nvml::init() {
            Ok(nvml) => {
                let driver = nvml
                    .sys_driver_version()
                    .map_err(|e| note("nvidia_driver_version", e.to_string()))
                    .ok();
                cuda_driver_version = nvml
                    .sys_cuda_driver_version()
                    .map(|v| format!("{}.{}", v / 1000, (v % 1000) / 10))
                    .map_err(|e| note("cuda_driver_version", e.to_string()))
                    .ok();
                match nvml.device_count() {
                    Ok(n) => (
                        "ok".to_string(),
                        driver,
                        (0..n).map(|i| gpu_info(&nvml, i)).collect(),
                    ),
                    Err(e) => (
                        format!("unavailable: device count failed: {e}"),
                        driver,
                        Vec::new(),
                    ),
                }
            }
            Err(e) => {
                let why = nvml_unavailable_reason(&e);
                note("nvidia_driver_version", why.clone());
                note("cuda_driver_version", why.clone());
                (format!("unavailable: {why}"), None, Vec::new())
            }
        };

        HostInfo {
            hostname,
            cpu_model,
            logical_cores,
            cpu_cores_online,
            cpu_governor,
            memory_bytes,
            os,
            kernel,
            nvml_status,
            nvidia_driver_version,
            cuda_driver_version,
            gpus,
            ffmpeg: FfmpegVersions::linked(),
            unknown_reasons: reasons,
        }
    }
}

impl FfmpegVersions {
    /// The versions of the FFmpeg libraries this binary is linked against.
    pub fn linked() -> FfmpegVersions {
        FfmpegVersions {
            avutil: format_av_version(ffmpeg_next::util::version()),
            avcodec: format_av_version(ffmpeg_next::codec::version()),
            avformat: format_av_version(ffmpeg_next::format::version()),
            avfilter: format_av_version(ffmpeg_next::filter::version()),
            swscale: format_av_version(ffmpeg_next::software::scaling::version()),
            configuration: ffmpeg_next::util::configuration().to_string(),
        }
    }
}

/// FFmpeg's `AV_VERSION_INT` (major << 16 | minor << 8 | micro) as `major.minor.micro`.
pub fn format_av_version(v: u32) -> String {
    format!("{}.{}.{}", v >> 16, (v >> 8) & 0xff, v & 0xff)
}

/// A short, operator-facing reason why NVML could not be used.
pub fn nvml_unavailable_reason(e: &NvmlError) -> String {
    match e {
        NvmlError::LibloadingError(inner) => {
            format!("libnvidia-ml.so could not be loaded (no NVIDIA driver installed?): {inner}")
        }
        NvmlError::DriverNotLoaded => "the NVIDIA driver is not loaded".to_string(),
        NvmlError::NoPermission => "no permission to use NVML".to_string(),
        other => format!("NVML init failed: {other}"),
    }
}

fn gpu_info(nvml: &Nvml, index: u32) -> GpuInfo {
    let mut info = GpuInfo {
        index,
        ..GpuInfo::default()
    };
    let device = match nvml.device_by_index(index) {
        Ok(d) => d,
        Err(e) => {
            info.notes.push(format!("device_by_index failed: {e}"));
            return info;
        }
    };
    let mut notes = Vec::new();
    info.name = device
        .name()
        .map_err(|e| notes.push(format!("name: {e}")))
        .ok();
    info.uuid = device
        .uuid()
        .map_err(|e| notes.push(format!("uuid: {e}")))
        .ok();
    info.memory_bytes = device
        .memory_info()
        .map(|m| m.total)
        .map_err(|e| notes.push(format!("memory: {e}")))
        .ok();
    match device.encoder_capacity(EncoderType::H264) {
        Ok(c) => {
            info.nvenc_h264_capacity = Some(c);
            info.nvenc_present = Some(c > 0);
        }
        Err(NvmlError::NotSupported) => {
            notes.push("encoder capacity: not supported (GPU without NVENC)".into());
            info.nvenc_present = Some(false);
        }
        Err(e) => notes.push(format!("encoder capacity: {e}")),
    }
    match device.decoder_utilization() {
        Ok(_) => info.nvdec_present = Some(true),
        Err(NvmlError::NotSupported) => {
            notes.push("decoder utilisation: not supported (NVDEC presence unknown)".into())
        }
        Err(e) => notes.push(format!("decoder utilisation: {e}")),
    }
    info.power_limit_watts = device
        .enforced_power_limit()
        .map(|mw| f64::from(mw) / 1000.0)
        .map_err(|e| notes.push(format!("power limit: {e}")))
        .ok();
    let mut clock = |c: Clock, what: &str| {
        device
            .max_clock_info(c)
            .map_err(|e| notes.push(format!("max {what} clock: {e}")))
            .ok()
    };
    info.max_sm_clock_mhz = clock(Clock::SM, "SM");
    info.max_memory_clock_mhz = clock(Clock::Memory, "memory");
    info.max_video_clock_mhz = clock(Clock::Video, "video");
    notes.push(
        "NVENC/NVDEC API versions: NVML does not report them; the driver version above fixes them"
            .into(),
    );
    info.notes = notes;
    info
}

fn read_trimmed(path: &str) -> Result<String, String> {
    match std::fs::read_to_string(path) {
        Ok(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Ok(_) => Err(format!("{path} is empty")),
        Err(e) => Err(format!("cannot read {path}: {e}")),
    }
}

/// The first `model name` in `/proc/cpuinfo` text (x86), else `Hardware`/`Processor` (ARM).
pub fn parse_cpu_model(cpuinfo: &str) -> Option<String> {
    for key in ["model name", "Hardware", "Processor", "cpu model"] {
        for line in cpuinfo.lines() {
            if let Some((k, v)) = line.split_once(':') {
                if k.trim() == key && !v.trim().is_empty() {
                    return Some(v.trim().to_string());
                }
            }
        }
    }
    None
}

/// The number of `processor` lines in `/proc/cpuinfo` text (CPUs online); None when there are
/// none.
pub fn count_processors(cpuinfo: &str) -> Option<u32> {
    let n = cpuinfo
        .lines()
        .filter(|l| {
            l.split_once(':')
                .is_some_and(|(k, _)| k.trim() == "processor")
        })
        .count();
    (n > 0).then_some(n as u32)
}

/// sha256 of a run's input: the media file, or an HLS playlist followed by its segment files in
/// playlist order. None when a file cannot be read.
pub fn source_sha256(input: &std::path::Path, kind: &str) -> Option<String> {
    let mut files = vec![input.to_path_buf()];
    if kind == "hls" {
        let text = std::fs::read_to_string(input).ok()?;
        let playlist = crate::ingest::hls::parse_media_playlist(&text).ok()?;
        let dir = input.parent().unwrap_or(std::path::Path::new("."));
        for e in &playlist.entries {
            files.push(crate::ingest::hls::resolve_uri(dir, &e.uri).ok()?);
        }
    }
    sha256_files(&files).ok()
}

/// sha256 of the bytes of `paths`, read in order, lowercase hex.
pub fn sha256_files(paths: &[std::path::PathBuf]) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    for p in paths {
        let mut f = std::fs::File::open(p)?;
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// MemTotal from `/proc/meminfo` text, in bytes.
pub fn parse_meminfo_total_bytes(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut parts = line["MemTotal:".len()..].split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") | Some("KB") | Some("kb") => value.checked_mul(1024),
        None => Some(value),
        Some(_) => None,
    }
}

/// PRETTY_NAME from `/etc/os-release` text, unquoted.
pub fn parse_os_release_pretty_name(text: &str) -> Option<String> {
    let line = text.lines().find(|l| l.starts_with("PRETTY_NAME="))?;
    let v = line["PRETTY_NAME=".len()..].trim();
    let v = v.trim_matches('"').trim_matches('\'');
    (!v.is_empty()).then(|| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn av_version_formats_major_minor_micro() {
        for (v, want) in [
            ((59 << 16) | (37 << 8) | 100, "59.37.100"),
            ((57 << 16) | (28 << 8) | 100, "57.28.100"),
            (0, "0.0.0"),
        ] {
            assert_eq!(format_av_version(v), want);
        }
    }

    #[test]
    fn parses_proc_files() {
        let cpuinfo =
            "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\n";
        assert_eq!(
            parse_cpu_model(cpuinfo).as_deref(),
            Some("Intel(R) Xeon(R) Processor")
        );
        assert_eq!(parse_cpu_model("processor : 0\n"), None);
        let arm = "Processor\t: AArch64 Processor rev 4 (aarch64)\n";
        assert_eq!(
            parse_cpu_model(arm).as_deref(),
            Some("AArch64 Processor rev 4 (aarch64)")
        );

        let cases = [
            (
                "MemTotal:        8123456 kB\nMemFree: 1 kB\n",
                Some(8123456 * 1024),
            ),
            ("MemFree: 1 kB\n", None),
            ("MemTotal: abc kB\n", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_meminfo_total_bytes(text), want, "{text:?}");
        }

        let os = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
        assert_eq!(
            parse_os_release_pretty_name(os).as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert_eq!(parse_os_release_pretty_name("NAME=x\n"), None);
    }

    #[test]
    fn detect_never_fails_and_explains_unknowns() {
        let host = HostInfo::detect();
        assert!(!host.ffmpeg.avcodec.is_empty());
        if host.gpus.is_empty() {
            println!(
                "no GPU here ({}): NVML fields left unknown",
                host.nvml_status
            );
            assert!(host.nvml_status.starts_with("unavailable") || host.nvml_status == "ok");
        }
        for (field, value) in [
            ("cpu_model", host.cpu_model.is_some()),
            ("os", host.os.is_some()),
        ] {
            assert!(
                value || host.unknown_reasons.contains_key(field),
                "{field} unknown without a reason"
            );
        }
    }
}
