//! The size a rendition is encoded at, as lpms computes it (pure).
//!
//! Method: lpms `ffmpeg/ffmpeg.go` (`createCOutputParams`) and FFmpeg 5.1's scale filter
//! (`libavfilter/scale_eval.c`). lpms first clamps the profile's width and height to the encoder's
//! limits (its NVENC table, used for every backend: H.264 146x50 to 4096x4096, HEVC 132x40 to
//! 8192x8192). It then hands the scaler two expressions: the profile's larger dimension goes to
//! the source's larger side (a portrait source transposes the profile), truncated to even, and the
//! other side is `-2`, which FFmpeg derives from the source's aspect ratio rounded to the nearest
//! even number. When the derived side would fall below the encoder's minimum, that side is set to
//! the minimum and the other one is derived instead. FFmpeg evaluates the expressions in double
//! precision; the `-2` side is `av_rescale` (round half away from zero) of the integer sizes.
//!
//! So a 4:3 source on a 1280x720 profile is encoded at 1280x960, a portrait 720x1280 source at
//! 720x1280, a square one at 1280x1280; the billed pixels follow the encoded size.

use super::ladder::VideoCodec;

/// An encoder's smallest and largest frame, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeLimits {
    pub width_min: u32,
    pub height_min: u32,
    pub width_max: u32,
    pub height_max: u32,
}

/// lpms' size limits (7th-generation NVENC's, applied to every backend). VP8 and VP9 have no entry
/// in lpms; rigbench cannot encode them and uses H.264's here.
pub fn limits(codec: VideoCodec) -> SizeLimits {
    match codec {
        VideoCodec::Hevc => SizeLimits {
            width_min: 132,
            height_min: 40,
            width_max: 8192,
            height_max: 8192,
        },
        VideoCodec::H264 | VideoCodec::Vp8 | VideoCodec::Vp9 => SizeLimits {
            width_min: 146,
            height_min: 50,
            width_max: 4096,
            height_max: 4096,
        },
    }
}

/// The width and height lpms encodes a `profile_w`x`profile_h` rendition of a
/// `source_w`x`source_h` source at, with `codec`. A source with a zero side gives the clamped
/// profile size (there is no aspect ratio to keep).
pub fn output_size(
    source_w: u32,
    source_h: u32,
    profile_w: u32,
    profile_h: u32,
    codec: VideoCodec,
) -> (u32, u32) {
    let l = limits(codec);
    let w = profile_w.clamp(l.width_min, l.width_max);
    let h = profile_h.clamp(l.height_min, l.height_max);
    if source_w == 0 || source_h == 0 {
        return (w & !1, h & !1);
    }
    let max_d = f64::from(w.max(h));
    let (iw, ih) = (f64::from(source_w), f64::from(source_h));
    let (w_min, h_min) = (f64::from(l.width_min), f64::from(l.height_min));
    let even = |x: f64| (x / 2.0).trunc() * 2.0;
    // The two expressions lpms gives the scaler, evaluated as FFmpeg does (doubles).
    let w_expr = even(if iw >= ih {
        if max_d * ih / iw >= h_min {
            max_d
        } else {
            -2.0
        }
    } else if w_min >= max_d * iw / ih {
        w_min
    } else {
        -2.0
    });
    let h_expr = even(if ih > iw {
        if max_d * iw / ih >= w_min {
            max_d
        } else {
            -2.0
        }
    } else if h_min >= max_d * ih / iw {
        h_min
    } else {
        -2.0
    });
    scale_dimensions(source_w, source_h, w_expr as i64, h_expr as i64)
}

/// FFmpeg's `ff_scale_eval_dimensions` + `ff_scale_adjust_dimensions` for integer results:
/// 0 means the input's size, `-n` derives that side from the other and the input's aspect ratio,
/// rounded to a multiple of `n`.
fn scale_dimensions(in_w: u32, in_h: u32, w: i64, h: i64) -> (u32, u32) {
    let (iw, ih) = (i64::from(in_w), i64::from(in_h));
    let mut w = if w == 0 { iw } else { w };
    let mut h = if h == 0 { ih } else { h };
    let factor_w = if w < -1 { -w } else { 1 };
    let factor_h = if h < -1 { -h } else { 1 };
    if w < 0 && h < 0 {
        w = iw;
        h = ih;
    }
    if w < 0 {
        w = rescale_near(h, iw, ih * factor_w) * factor_w;
    }
    if h < 0 {
        h = rescale_near(w, ih, iw * factor_h) * factor_h;
    }
    (
        w.clamp(0, i64::from(u32::MAX)) as u32,
        h.clamp(0, i64::from(u32::MAX)) as u32,
    )
}

/// `av_rescale(a, b, c)` for non-negative values: a × b / c rounded to nearest, halves up.
fn rescale_near(a: i64, b: i64, c: i64) -> i64 {
    if c <= 0 {
        return 0;
    }
    let (a, b, c) = (i128::from(a), i128::from(b), i128::from(c));
    ((a * b + c / 2) / c) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_lpms() {
        use VideoCodec::{Hevc, H264};
        /// (source, profile, codec, encoded size)
        type Case = ((u32, u32), (u32, u32), VideoCodec, (u32, u32));
        let cases: &[Case] = &[
            // 16:9 landscape: the profile's own size.
            ((1280, 720), (1280, 720), H264, (1280, 720)),
            ((1920, 1080), (426, 240), H264, (426, 240)),
            ((1280, 720), (854, 480), H264, (854, 480)),
            ((1280, 720), (256, 144), H264, (256, 144)),
            ((1280, 720), (640, 360), H264, (640, 360)),
            // 4:3: the larger side kept, the other derived (a third more pixels).
            ((640, 480), (1280, 720), H264, (1280, 960)),
            ((960, 720), (426, 240), H264, (426, 320)),
            // Portrait: the profile transposed.
            ((720, 1280), (1280, 720), H264, (720, 1280)),
            ((1080, 1920), (640, 360), H264, (360, 640)),
            ((360, 640), (426, 240), H264, (240, 426)),
            // Square: both sides the profile's larger one.
            ((720, 720), (1280, 720), H264, (1280, 1280)),
            ((500, 500), (426, 240), H264, (426, 426)),
            // Odd sources: -2 rounds to the nearest even number.
            ((1279, 719), (1280, 720), H264, (1280, 720)),
            ((641, 479), (640, 360), H264, (640, 478)),
            ((853, 480), (426, 240), H264, (426, 240)),
            // Tiny sources are scaled up to the profile.
            ((64, 36), (426, 240), H264, (426, 240)),
            ((2, 2), (256, 144), H264, (256, 256)),
            // Tiny profiles are clamped to the encoder's minimum first.
            ((1280, 720), (100, 56), H264, (146, 82)),
            ((1280, 720), (100, 56), Hevc, (132, 74)),
            // The minimum-side rule: a derived side below the minimum is set to it and the
            // other side derived instead.
            ((1920, 200), (426, 240), H264, (480, 50)),
            ((200, 1920), (426, 240), H264, (146, 1402)),
            ((1920, 200), (426, 240), Hevc, (426, 44)),
            ((4000, 100), (256, 144), Hevc, (1600, 40)),
            // Large profiles are clamped to the maximum.
            ((1280, 720), (8192, 4320), H264, (4096, 2304)),
            ((1280, 720), (8192, 4320), Hevc, (8192, 4608)),
            // No source size: the clamped profile size.
            ((0, 0), (426, 240), H264, (426, 240)),
        ];
        for &((sw, sh), (pw, ph), codec, want) in cases {
            assert_eq!(
                output_size(sw, sh, pw, ph, codec),
                want,
                "source {sw}x{sh}, profile {pw}x{ph}, {codec:?}"
            );
        }
    }

    #[test]
    fn encoded_sizes_are_even_and_within_limits_for_ordinary_sources() {
        for (sw, sh) in [
            (1920, 1080),
            (1440, 1080),
            (1080, 1920),
            (1000, 1000),
            (333, 211),
        ] {
            for (pw, ph) in [(426, 240), (640, 360), (854, 480), (1280, 720)] {
                let (w, h) = output_size(sw, sh, pw, ph, VideoCodec::H264);
                assert!(w % 2 == 0 && h % 2 == 0, "{sw}x{sh} {pw}x{ph}: {w}x{h}");
                assert!((146..=4096).contains(&w) && (50..=4096).contains(&h));
                assert_eq!(w.max(h), pw.max(ph), "the larger side is the profile's");
            }
        }
    }

    #[test]
    fn av_rescale_rounds_halves_up() {
        let cases = [
            (1, 1, 2, 1),
            (3, 1, 2, 2),
            (5, 2, 4, 3),
            (0, 5, 3, 0),
            (7, 1, 0, 0),
        ];
        for (a, b, c, want) in cases {
            assert_eq!(rescale_near(a, b, c), want, "{a}*{b}/{c}");
        }
    }
}
