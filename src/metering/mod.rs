//! Meters that run beside the transcode: power (a sampler thread over NVML, RAPL, `/proc/stat` and
//! the rig file's declared model), bandwidth (bytes and bits per second, per stream) and the
//! hardware inventory (CPU, memory, OS, GPUs, FFmpeg library versions).

pub mod bandwidth;
pub mod inventory;
pub mod power;

/// Why a meter could not start.
#[derive(Debug, thiserror::Error)]
pub enum MeteringError {
    /// The sampling interval is outside what the sampler supports.
    #[error(
        "power sampling interval {interval_ms} ms is out of range: use {} ms to {} ms",
        power::MIN_INTERVAL_MS,
        power::MAX_INTERVAL_MS
    )]
    BadInterval { interval_ms: u64 },
    /// A declared component's model is invalid (the rig file checks this too).
    #[error("declared power component `{name}`: {reason}")]
    BadComponent { name: String, reason: String },
    /// The operating system refused to start the sampler thread.
    #[error("could not start the power sampler thread")]
    Spawn(#[source] std::io::Error),
}
