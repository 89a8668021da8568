//! Quality of a rendition: SSIM and PSNR, of luma (Y) and overall, of every frame against the
//! source frame shown at the same time, scaled to the rendition's size.
//!
//! Method: FFmpeg's own `ssim` and `psnr` filters, run in process through one filter graph per
//! rendition (`[ref]scale=W:H:flags=bicubic` beside the decoded rendition, then `ssim` and `psnr`),
//! reading the per-frame values they attach as frame metadata (`lavfi.ssim.Y`, `lavfi.ssim.All`,
//! `lavfi.psnr.psnr.y`, `lavfi.psnr.psnr_avg`), so the figures are the ones the ffmpeg CLI prints.
//! "Overall" is FFmpeg's: SSIM and MSE averaged over the three planes weighted by their pixels.
//! Frames are matched by timestamp, not by position: each rendition frame is compared with the
//! source frame nearest to it in time since the segment's first frame (ties go to the earlier
//! one), which is the frame a frame-rate conversion with `round=near` shows there; a rendition
//! that drops, repeats or shifts frames scores low. The decode is a full one (deblocking on),
//! unlike the pixel-count check's. Per rendition: min, 5th percentile (nearest rank) and mean of
//! the per-frame values; a frame identical to its reference (PSNR infinite) counts as
//! [`PSNR_CAP_DB`]. Field rules of thumb (livepeer-facts §13): SSIM near 0.93 is normal at a
//! 250 kbps 240p rung; PSNR below about 35 dB is visibly degraded. VMAF is not computed: Debian's
//! FFmpeg has no libvmaf, and where one has it, FFmpeg 5.1's filter reports no per-frame score to
//! read in process ([`vmaf_note`] says which).

use std::path::Path;

use ffmpeg::{filter, frame};
use ffmpeg_next as ffmpeg;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::metering::bandwidth::percentile_nearest_rank;
use crate::transcode::hw::{self, MemoryInput};

/// PSNR given to a frame identical to its reference (FFmpeg reports infinity), dB.
pub const PSNR_CAP_DB: f64 = 100.0;

/// With `--quality sample`, segment numbers `0, N, 2N, …` of every session are scored.
pub const SAMPLE_EVERY_SEGMENTS: u32 = 4;

/// Which segments' renditions are scored (`--quality`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum QualityMode {
    /// Every segment.
    All,
    /// Segment numbers 0, 4, 8, … of each session (the broadcaster's side then takes little of
    /// the cores being measured).
    #[default]
    Sample,
    /// None: no decode, no filter graph, no cost.
    Off,
}

impl QualityMode {
    /// The name on the command line and in run.json.
    pub fn name(self) -> &'static str {
        match self {
            QualityMode::All => "all",
            QualityMode::Sample => "sample",
            QualityMode::Off => "off",
        }
    }

    /// Whether segment number `segment` (0-based, within its session) is scored.
    pub fn scores(self, segment: u32) -> bool {
        match self {
            QualityMode::All => true,
            QualityMode::Sample => segment.is_multiple_of(SAMPLE_EVERY_SEGMENTS),
            QualityMode::Off => false,
        }
    }
}

/// Min, 5th percentile (nearest rank) and mean of per-frame values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub min: f64,
    pub p5: f64,
    pub mean: f64,
}

impl Stats {
    /// None for an empty sample.
    pub fn of(values: &[f64]) -> Option<Stats> {
        if values.is_empty() {
            return None;
        }
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        Some(Stats {
            min,
            p5: percentile_nearest_rank(values, 5.0).unwrap_or(min),
            mean,
        })
    }
}

/// Per-frame scores of one rendition (of one segment, or pooled over several).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrameScores {
    /// SSIM over all planes, 0..1.
    pub ssim: Vec<f64>,
    /// SSIM of luma, 0..1.
    pub ssim_y: Vec<f64>,
    /// PSNR over all planes, dB.
    pub psnr_db: Vec<f64>,
    /// PSNR of luma, dB.
    pub psnr_y_db: Vec<f64>,
}

impl FrameScores {
    /// Adds `other`'s frames.
    pub fn extend(&mut self, other: &FrameScores) {
        self.ssim.extend_from_slice(&other.ssim);
        self.ssim_y.extend_from_slice(&other.ssim_y);
        self.psnr_db.extend_from_slice(&other.psnr_db);
        self.psnr_y_db.extend_from_slice(&other.psnr_y_db);
    }

    /// Min, p5 and mean of each measure; None when no frame was scored.
    pub fn summary(&self) -> Option<RenditionQuality> {
        Some(RenditionQuality {
            frames_scored: self.ssim.len() as u64,
            ssim: Stats::of(&self.ssim)?,
            ssim_y: Stats::of(&self.ssim_y)?,
            psnr_db: Stats::of(&self.psnr_db)?,
            psnr_y_db: Stats::of(&self.psnr_y_db)?,
        })
    }
}

/// Quality of one rendition: every measure's min, p5 and mean over its scored frames.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RenditionQuality {
    /// Frames compared with the source.
    pub frames_scored: u64,
    /// SSIM over all planes (FFmpeg's "All"), 0..1.
    pub ssim: Stats,
    /// SSIM of luma (Y), 0..1.
    pub ssim_y: Stats,
    /// PSNR over all planes (FFmpeg's "average"), dB.
    pub psnr_db: Stats,
    /// PSNR of luma (Y), dB.
    pub psnr_y_db: Stats,
}

/// Quality of one profile over every scored segment (all sessions and repeats), for the summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProfileQuality {
    /// Rendition (profile) name.
    pub rendition: String,
    /// Renditions of this profile that were scored (segments × sessions).
    pub renditions_scored: u64,
    /// The pooled frames' statistics.
    #[serde(flatten)]
    pub quality: RenditionQuality,
}

/// Pools per-segment scores into one [`ProfileQuality`] per rendition name, in first-seen order.
pub fn per_profile<'a>(
    scored: impl IntoIterator<Item = (&'a str, &'a FrameScores)>,
) -> Vec<ProfileQuality> {
    let mut pooled: Vec<(String, u64, FrameScores)> = Vec::new();
    for (name, scores) in scored {
        match pooled.iter_mut().find(|(n, _, _)| n == name) {
            Some((_, count, all)) => {
                *count += 1;
                all.extend(scores);
            }
            None => pooled.push((name.to_string(), 1, scores.clone())),
        }
    }
    pooled
        .into_iter()
        .filter_map(|(rendition, renditions_scored, all)| {
            Some(ProfileQuality {
                rendition,
                renditions_scored,
                quality: all.summary()?,
            })
        })
        .collect()
}

/// The ladder's mean SSIM: the mean over profiles of each profile's mean SSIM (overall), so
/// every rung counts alike. None when nothing was scored.
pub fn ladder_mean_ssim(profiles: &[ProfileQuality]) -> Option<f64> {
    if profiles.is_empty() {
        return None;
    }
    Some(profiles.iter().map(|p| p.quality.ssim.mean).sum::<f64>() / profiles.len() as f64)
}

/// Why a scored rendition falls below `--min-ssim` / `--min-psnr` (by its mean over its frames,
/// overall measures), or None when it does not.
pub fn below_thresholds(
    q: &RenditionQuality,
    min_ssim: Option<f64>,
    min_psnr_db: Option<f64>,
) -> Option<String> {
    let mut why = Vec::new();
    if let Some(min) = min_ssim {
        if q.ssim.mean < min {
            why.push(format!("mean SSIM {:.4} < --min-ssim {min}", q.ssim.mean));
        }
    }
    if let Some(min) = min_psnr_db {
        if q.psnr_db.mean < min {
            why.push(format!(
                "mean PSNR {:.2} dB < --min-psnr {min}",
                q.psnr_db.mean
            ));
        }
    }
    (!why.is_empty()).then(|| why.join(", "))
}

/// Whether this FFmpeg has libvmaf, and what that means for the run.
pub fn vmaf_note() -> String {
    crate::ingest::init_ffmpeg();
    if filter::find("libvmaf").is_some() {
        "not computed: this FFmpeg has libvmaf, but its 5.1 filter reports no per-frame score in process; rigbench reports SSIM and PSNR".to_string()
    } else {
        "not computed: this FFmpeg has no libvmaf filter (Debian 12's has none)".to_string()
    }
}

/// A rendition that cannot be scored.
#[derive(Debug, Error)]
pub enum QualityError {
    #[error("cannot decode the source segment {path}: {reason}")]
    Reference { path: String, reason: String },
    #[error("rendition {rendition}: cannot decode it for scoring: {reason}")]
    Rendition { rendition: String, reason: String },
    #[error("rendition {rendition}: the ssim/psnr filter graph failed: {reason}")]
    Filter { rendition: String, reason: String },
}

/// Decoded frames with their times in seconds since the first one.
pub struct Timed {
    pub frames: Vec<frame::Video>,
    pub seconds: Vec<f64>,
}

fn decode_all(input: &mut ffmpeg::format::context::Input) -> Result<Timed, String> {
    let super::VideoDecoder {
        index,
        time_base: tb,
        frame_rate: rate,
        mut decoder,
    } = super::open_video_decoder(input, false)?;
    let tb = f64::from(tb.numerator()) / f64::from(tb.denominator().max(1));
    let frame_seconds = if rate.numerator() > 0 && rate.denominator() > 0 {
        f64::from(rate.denominator()) / f64::from(rate.numerator())
    } else {
        1.0 / 25.0
    };
    let mut out = Timed {
        frames: Vec::new(),
        seconds: Vec::new(),
    };
    let mut first: Option<f64> = None;
    let mut take = |decoder: &mut ffmpeg::decoder::Video, out: &mut Timed| loop {
        let mut f = frame::Video::empty();
        if decoder.receive_frame(&mut f).is_err() {
            break;
        }
        let t = match f.timestamp().or(f.pts()) {
            Some(p) => p as f64 * tb,
            None => out.seconds.last().map_or(0.0, |l| l + frame_seconds),
        };
        let start = *first.get_or_insert(t);
        out.seconds.push(t - start);
        out.frames.push(f);
    };
    for (stream, packet) in input.packets() {
        if stream.index() != index {
            continue;
        }
        if decoder.send_packet(&packet).is_ok() {
            take(&mut decoder, &mut out);
        }
    }
    if decoder.send_eof().is_ok() {
        take(&mut decoder, &mut out);
    }
    if out.frames.is_empty() {
        return Err("it decodes to no frame".to_string());
    }
    Ok(out)
}

/// Decodes the source segment the renditions were made from.
pub fn decode_reference(path: &Path) -> Result<Timed, QualityError> {
    crate::ingest::init_ffmpeg();
    let err = |reason: String| QualityError::Reference {
        path: path.display().to_string(),
        reason,
    };
    let mut input = ffmpeg::format::input(&path).map_err(|e| err(e.to_string()))?;
    decode_all(&mut input).map_err(err)
}

/// Decodes a rendition's MPEG-TS bytes.
pub fn decode_rendition(name: &str, data: &[u8]) -> Result<Timed, QualityError> {
    crate::ingest::init_ffmpeg();
    let err = |reason: String| QualityError::Rendition {
        rendition: name.to_string(),
        reason,
    };
    let mut input =
        MemoryInput::open(data.to_vec(), "mpegts", false).map_err(|e| err(e.to_string()))?;
    decode_all(input.input()).map_err(err)
}

/// For each rendition frame time, the index of the reference frame nearest to it in time (ties:
/// the earlier). `reference` must be sorted and non-empty.
pub fn match_frames(rendition: &[f64], reference: &[f64]) -> Vec<usize> {
    if reference.is_empty() {
        return Vec::new();
    }
    rendition
        .iter()
        .map(|&t| {
            let after = reference.partition_point(|&r| r <= t);
            match after {
                0 => 0,
                i if i >= reference.len() => reference.len() - 1,
                i => {
                    // Within a nanosecond counts as a tie (times are sums of float steps).
                    if (reference[i] - t) < (t - reference[i - 1]) - 1e-9 {
                        i
                    } else {
                        i - 1
                    }
                }
            }
        })
        .collect()
}

fn buffer_args(f: &frame::Video) -> String {
    let pix: ffmpeg::ffi::AVPixelFormat = f.format().into();
    format!(
        "video_size={}x{}:pix_fmt={}:time_base=1/1000:pixel_aspect=1/1",
        f.width(),
        f.height(),
        pix as i32
    )
}

/// The scoring graph's filters (pure): the reference scaled to the rendition's size as the
/// transcoder scales (bicubic), both as 8-bit 4:2:0, into `ssim` and `psnr`.
pub fn score_filter_spec(width: u32, height: u32) -> String {
    format!(
        "[ref]scale=w={width}:h={height}:flags=bicubic,format=yuv420p,split[r1][r2];\
         [main]format=yuv420p,split[m1][m2];[m1][r1]ssim[ssim_out];[m2][r2]psnr[psnr_out]"
    )
}

fn build_score_graph(
    main: &frame::Video,
    reference: &frame::Video,
) -> Result<filter::Graph, ffmpeg::Error> {
    let mut g = filter::Graph::new();
    let buffer = filter::find("buffer").ok_or(ffmpeg::Error::FilterNotFound)?;
    let sink = filter::find("buffersink").ok_or(ffmpeg::Error::FilterNotFound)?;
    g.add(&buffer, "main", &buffer_args(main))?;
    g.add(&buffer, "ref", &buffer_args(reference))?;
    g.add(&sink, "ssim_out", "")?;
    g.add(&sink, "psnr_out", "")?;
    g.output("main", 0)?
        .output("ref", 0)?
        .input("ssim_out", 0)?
        .input("psnr_out", 0)?
        .parse(&score_filter_spec(main.width(), main.height()))?;
    g.validate()?;
    Ok(g)
}

fn metadata_value(f: &frame::Video, key: &str) -> Option<f64> {
    let v: f64 = f.metadata().get(key)?.trim().parse().ok()?;
    if v.is_nan() {
        None
    } else {
        Some(v.min(PSNR_CAP_DB))
    }
}

/// Scores every frame of `rendition` against the matching frame of `reference`.
pub fn score(name: &str, rendition: Timed, reference: &Timed) -> Result<FrameScores, QualityError> {
    let ferr = |reason: String| QualityError::Filter {
        rendition: name.to_string(),
        reason,
    };
    let (Some(first), Some(first_ref)) = (rendition.frames.first(), reference.frames.first())
    else {
        return Ok(FrameScores::default());
    };
    let matched = match_frames(&rendition.seconds, &reference.seconds);
    let mut graph = build_score_graph(first, first_ref).map_err(|e| ferr(e.to_string()))?;
    let mut scores = FrameScores::default();
    let drain = |graph: &mut filter::Graph, scores: &mut FrameScores| {
        for (sink, keys) in [
            ("ssim_out", ["lavfi.ssim.All", "lavfi.ssim.Y"]),
            ("psnr_out", ["lavfi.psnr.psnr_avg", "lavfi.psnr.psnr.y"]),
        ] {
            let Some(mut ctx) = graph.get(sink) else {
                continue;
            };
            loop {
                let mut f = frame::Video::empty();
                if ctx.sink().frame(&mut f).is_err() {
                    break;
                }
                let all = metadata_value(&f, keys[0]);
                let y = metadata_value(&f, keys[1]);
                if let (Some(all), Some(y)) = (all, y) {
                    if sink == "ssim_out" {
                        scores.ssim.push(all);
                        scores.ssim_y.push(y);
                    } else {
                        scores.psnr_db.push(all);
                        scores.psnr_y_db.push(y);
                    }
                }
            }
        }
    };
    for (k, (mut f, &r)) in rendition.frames.into_iter().zip(&matched).enumerate() {
        let pts = Some(k as i64);
        f.set_pts(pts);
        let mut reference_frame = hw::frame_ref(&reference.frames[r]);
        reference_frame.set_pts(pts);
        for (src, frame) in [("main", &f), ("ref", &reference_frame)] {
            let mut ctx = graph
                .get(src)
                .ok_or_else(|| ferr(format!("no {src} source")))?;
            ctx.source().add(frame).map_err(|e| ferr(e.to_string()))?;
        }
        drain(&mut graph, &mut scores);
    }
    for src in ["main", "ref"] {
        if let Some(mut ctx) = graph.get(src) {
            ctx.source().flush().map_err(|e| ferr(e.to_string()))?;
        }
    }
    drain(&mut graph, &mut scores);
    let n = scores.ssim.len().min(scores.psnr_db.len());
    scores.ssim.truncate(n);
    scores.ssim_y.truncate(n);
    scores.psnr_db.truncate(n);
    scores.psnr_y_db.truncate(n);
    Ok(scores)
}

/// Scores every rendition of one segment against the source segment at `source`: the source is
/// decoded once, the renditions are scored in parallel (one thread each), in input order.
pub fn score_segment(
    renditions: &[(&str, &[u8])],
    source: &Path,
) -> Vec<Result<FrameScores, QualityError>> {
    let reference = match decode_reference(source) {
        Ok(r) => r,
        Err(e) => {
            let why = e.to_string();
            return renditions
                .iter()
                .map(|_| {
                    Err(QualityError::Reference {
                        path: source.display().to_string(),
                        reason: why.clone(),
                    })
                })
                .collect();
        }
    };
    let reference = &reference;
    std::thread::scope(|scope| {
        let handles: Vec<_> = renditions
            .iter()
            .map(|&(name, data)| {
                scope.spawn(move || {
                    let r = decode_rendition(name, data)?;
                    score(name, r, reference)
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(renditions)
            .map(|(h, (name, _))| {
                h.join().unwrap_or_else(|_| {
                    Err(QualityError::Filter {
                        rendition: name.to_string(),
                        reason: "the scoring thread stopped unexpectedly".to_string(),
                    })
                })
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_is_deterministic() {
        let cases: &[(QualityMode, &[u32], &[u32])] = &[
            (QualityMode::All, &[0, 1, 2, 3, 4], &[]),
            (QualityMode::Sample, &[0, 4, 8, 100], &[1, 2, 3, 5, 99]),
            (QualityMode::Off, &[], &[0, 1, 4]),
        ];
        for &(mode, yes, no) in cases {
            for &s in yes {
                assert!(mode.scores(s), "{mode:?} scores {s}");
            }
            for &s in no {
                assert!(!mode.scores(s), "{mode:?} skips {s}");
            }
        }
        assert_eq!(QualityMode::default(), QualityMode::Sample);
    }

    #[test]
    fn frames_match_by_nearest_time() {
        let src25: Vec<f64> = (0..10).map(|i| f64::from(i) / 25.0).collect();
        let at30: Vec<f64> = (0..6).map(|i| f64::from(i) / 30.0).collect();
        let cases: &[(&[f64], &[f64], &[usize])] = &[
            // Same rate: one to one.
            (&src25[..4], &src25, &[0, 1, 2, 3]),
            // 25 → 30 fps: what fps=30:round=near shows (a tie goes to the earlier frame).
            (&at30, &src25, &[0, 1, 2, 2, 3, 4]),
            // 25 → 12.5 fps: every other frame.
            (&[0.0, 0.08, 0.16], &src25, &[0, 2, 4]),
            // Times beyond either end clamp to the ends.
            (&[-1.0, 5.0], &src25, &[0, 9]),
            (&[0.3], &[], &[]),
        ];
        for &(rendition, reference, want) in cases {
            let want: Vec<usize> = if reference.is_empty() {
                vec![]
            } else {
                want.to_vec()
            };
            assert_eq!(match_frames(rendition, reference), want, "{rendition:?}");
        }
    }

    #[test]
    fn stats_and_pooling() {
        assert_eq!(Stats::of(&[]), None);
        let s = Stats::of(&[0.9, 0.8, 1.0, 0.7]).unwrap();
        assert_eq!((s.min, s.p5), (0.7, 0.7));
        assert!((s.mean - 0.85).abs() < 1e-12);
        let twenty: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(Stats::of(&twenty).unwrap().p5, 1.0);
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(Stats::of(&hundred).unwrap().p5, 5.0);

        let seg = |v: f64| FrameScores {
            ssim: vec![v, v],
            ssim_y: vec![v, v],
            psnr_db: vec![40.0 * v, 40.0 * v],
            psnr_y_db: vec![40.0 * v, 40.0 * v],
        };
        let (a, b, c) = (seg(0.9), seg(0.7), seg(1.0));
        let p = per_profile([("240p0", &a), ("720p0", &c), ("240p0", &b)]);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].rendition, "240p0");
        assert_eq!(p[0].renditions_scored, 2);
        assert_eq!(p[0].quality.frames_scored, 4);
        assert!((p[0].quality.ssim.mean - 0.8).abs() < 1e-12);
        assert_eq!(p[0].quality.ssim.min, 0.7);
        assert!((ladder_mean_ssim(&p).unwrap() - 0.9).abs() < 1e-12);
        assert_eq!(ladder_mean_ssim(&[]), None);
    }

    #[test]
    fn thresholds_name_the_measure() {
        let q = FrameScores {
            ssim: vec![0.9],
            ssim_y: vec![0.9],
            psnr_db: vec![33.0],
            psnr_y_db: vec![33.0],
        }
        .summary()
        .unwrap();
        let cases = [
            (None, None, None),
            (Some(0.8), Some(30.0), None),
            (Some(0.95), None, Some("mean SSIM 0.9000 < --min-ssim 0.95")),
            (None, Some(35.0), Some("mean PSNR 33.00 dB < --min-psnr 35")),
        ];
        for (ssim, psnr, want) in cases {
            assert_eq!(below_thresholds(&q, ssim, psnr).as_deref(), want);
        }
        let both = below_thresholds(&q, Some(0.95), Some(35.0)).unwrap();
        assert!(both.contains("SSIM") && both.contains("PSNR"), "{both}");
    }

    #[test]
    fn filter_spec_scales_the_reference_only() {
        assert_eq!(
            score_filter_spec(426, 240),
            "[ref]scale=w=426:h=240:flags=bicubic,format=yuv420p,split[r1][r2];\
             [main]format=yuv420p,split[m1][m2];[m1][r1]ssim[ssim_out];[m2][r2]psnr[psnr_out]"
        );
        assert!(vmaf_note().starts_with("not computed"));
    }
}
