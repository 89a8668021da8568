//! libx264 on the cpu and hybrid backends: whether this FFmpeg has it, and the thread budget per
//! encoder. Its options come from [`super::options::encoder_settings`], shared with NVENC.
//!
//! Threads: renditions encode in parallel, one thread each, so an encoder's x264 thread count is
//! its share of the cores: each session gets `cores / live sessions`, split across renditions in
//! proportion to their pixels, rounded up. On a 2-core box with one session the three small
//! renditions run single-threaded and the 720p one (about 55% of the ladder's pixels) gets two
//! frame threads: it fills one core while the others and the decoder share the other, and takes
//! the idle core once they finish. More x264 threads than that only add frame delay and overhead
//! on 50-frame segments.

use super::ladder::Profile;

/// x264 thread count for each rendition of `ladder`, given the cores this session may use.
pub fn x264_threads(ladder: &[Profile], session_cores: f64) -> Vec<usize> {
    let total: f64 = ladder
        .iter()
        .map(|p| f64::from(p.width) * f64::from(p.height))
        .sum();
    ladder
        .iter()
        .map(|p| {
            if total <= 0.0 {
                return 1;
            }
            let share = f64::from(p.width) * f64::from(p.height) / total;
            let t = (session_cores * share).ceil();
            if t.is_finite() && t >= 1.0 {
                (t as usize).min(16)
            } else {
                1
            }
        })
        .collect()
}

/// Cores one session may use when `sessions` run at once on this machine.
pub fn session_cores(sessions: usize) -> f64 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores as f64 / sessions.max(1) as f64).max(1.0)
}

/// Whether this FFmpeg has libx264 (for `rigbench probe`).
pub fn check_libx264() -> Result<(), String> {
    crate::ingest::init_ffmpeg();
    match ffmpeg_next::encoder::find_by_name("libx264") {
        Some(_) => Ok(()),
        None => Err("this FFmpeg build has no libx264 encoder; install an FFmpeg built with --enable-libx264 (Debian's is)".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcode::ladder::default_ladder;

    #[test]
    fn threads_split_by_pixels() {
        let l = default_ladder();
        let cases: &[(f64, &[usize])] = &[
            (1.0, &[1, 1, 1, 1]),
            (2.0, &[1, 1, 1, 2]),
            (8.0, &[1, 2, 2, 5]),
            (16.0, &[1, 3, 4, 9]),
            (64.0, &[4, 9, 16, 16]),
        ];
        for &(cores, want) in cases {
            assert_eq!(x264_threads(&l, cores), want, "{cores} cores");
        }
        assert!(x264_threads(&[], 4.0).is_empty());
    }
}
