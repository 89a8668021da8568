//! libx264 settings (cpu and hybrid backends), as lpms sets them: bitrate min = avg = max with a
//! one-second buffer, the profile's GOP, ConstrainedHigh = High without B-frames, an IDR at the
//! start of each segment (the encoder is reopened per segment and its first frame forced to I),
//! and the thread budget per encoder.
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

/// AVOptions for libx264 for one rendition. `gop_frames` None = x264's default.
pub fn x264_options(
    profile: &Profile,
    gop_frames: Option<u32>,
    threads: usize,
) -> Vec<(&'static str, String)> {
    let mut o: Vec<(&'static str, String)> = Vec::new();
    if profile.quality > 0 && profile.bitrate_bps == 0 {
        o.push(("crf", profile.quality.to_string()));
    } else {
        let b = profile.bitrate_bps.to_string();
        o.push(("b", b.clone()));
        o.push(("minrate", b.clone()));
        o.push(("maxrate", b.clone()));
        o.push(("bufsize", b));
    }
    if let Some(g) = gop_frames {
        o.push(("g", g.to_string()));
    }
    if profile.profile.no_b_frames() {
        o.push(("bf", "0".to_string()));
    }
    if let Some(p) = profile.profile.encoder_profile() {
        o.push(("profile", p.to_string()));
    }
    o.push(("forced-idr", "1".to_string()));
    o.push(("threads", threads.max(1).to_string()));
    o
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
    use crate::transcode::ladder::{default_ladder, parse_transcoding_options};

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

    #[test]
    fn x264_settings_follow_lpms() {
        let l = default_ladder();
        let o = x264_options(&l[0], Some(25), 1);
        let get = |k: &str| o.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        let cases = [
            ("b", Some("250000")),
            ("minrate", Some("250000")),
            ("maxrate", Some("250000")),
            ("bufsize", Some("250000")),
            ("g", Some("25")),
            ("bf", Some("0")),
            ("profile", Some("high")),
            ("forced-idr", Some("1")),
            ("threads", Some("1")),
            ("crf", None),
        ];
        for (k, want) in cases {
            assert_eq!(get(k), want, "{k}");
        }
        // A preset has no profile and no GOP: x264's defaults (B-frames allowed).
        let p = &parse_transcoding_options("P360p30fps16x9").unwrap()[0];
        let o = x264_options(p, None, 2);
        assert!(o
            .iter()
            .all(|(k, _)| *k != "bf" && *k != "profile" && *k != "g"));
    }
}
