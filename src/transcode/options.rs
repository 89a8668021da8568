//! The encoder and its options for one rendition, for every backend, from one function (pure).
//!
//! Method: lpms `ffmpeg/ffmpeg.go` (`createCOutputParams`) and `ffmpeg/encoder.c`, which build one
//! option set for whatever encoder a rendition uses:
//! - `forced-idr=1` and `preset=medium` always (`tier=high` too, which only HEVC NVENC knows);
//! - the bitrate as min = avg = max = buffer size when the profile has one; no rate-control mode
//!   on NVENC, so FFmpeg's default for a bitrate applies (not CBR);
//! - `quality` non-zero: `crf` = quality for libx264 and `cq` = quality + 7 for NVENC (lpms' own
//!   rule of thumb), with the bitrate still set as the cap;
//! - Baseline and ConstrainedHigh: that profile with `bf=0`; Main and High: `bf=3`; no profile:
//!   `bf=3` in software, `bf=0` on NVENC; on NVENC at the source's frame rate B-frames are off
//!   whatever the profile (lpms: NVENC mis-computes DTS with B-frames on passthrough timestamps);
//! - GOP: `intra` is `g=0` (every frame a keyframe on both encoders); seconds with a target frame
//!   rate is `g = trunc(seconds × fps)`; seconds at the source's rate set no `g` but force a
//!   keyframe by timestamp every so many milliseconds (lpms' `gop_time`).
//!
//! Where rigbench departs: lpms multiplies GOP seconds by the frame-rate numerator alone (a
//! 30000/1001 profile with a 2-second GOP gets `g=60000`); rigbench uses the rate (`g=59`).
//! libx264's thread count is rigbench's share of the cores ([`super::cpu::x264_threads`]); lpms
//! leaves x264 to pick its own.

use super::ladder::{CodecProfile, EncoderFamily, Gop, Profile, VideoCodec};

/// What opens one rendition's encoder.
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderSettings {
    /// FFmpeg's encoder name: libx264, h264_nvenc or hevc_nvenc.
    pub encoder: &'static str,
    /// AVOptions passed to `avcodec_open2`, in order.
    pub options: Vec<(&'static str, String)>,
    /// Force a keyframe whenever a frame's timestamp is this many milliseconds past the last one
    /// (a GOP in seconds at the source's frame rate); None = the encoder's GOP (`g`) decides.
    pub keyframe_interval_ms: Option<u64>,
}

/// The encoder name for a profile on an encoder family.
pub fn encoder_name(family: EncoderFamily, codec: VideoCodec) -> &'static str {
    match (family, codec) {
        (EncoderFamily::Libx264, _) => "libx264",
        (EncoderFamily::Nvenc, VideoCodec::Hevc) => "hevc_nvenc",
        (EncoderFamily::Nvenc, _) => "h264_nvenc",
    }
}

/// The encoder and options for `profile` on `family`, as lpms sets them. `x264_threads` is used
/// by libx264 only.
pub fn encoder_settings(
    profile: &Profile,
    family: EncoderFamily,
    x264_threads: usize,
) -> EncoderSettings {
    let nvenc = family == EncoderFamily::Nvenc;
    let encoder = encoder_name(family, profile.encoder);
    let mut o: Vec<(&'static str, String)> = vec![
        ("forced-idr", "1".to_string()),
        ("preset", "medium".to_string()),
    ];
    if encoder == "hevc_nvenc" {
        o.push(("tier", "high".to_string()));
    }
    if profile.bitrate_bps > 0 {
        let b = profile.bitrate_bps.to_string();
        o.push(("b", b.clone()));
        o.push(("minrate", b.clone()));
        o.push(("maxrate", b.clone()));
        o.push(("bufsize", b));
    }
    if profile.quality > 0 {
        if nvenc {
            if profile.quality + 7 <= 51 {
                o.push(("cq", (profile.quality + 7).to_string()));
            }
        } else {
            o.push(("crf", profile.quality.to_string()));
        }
    }
    let b_frames = match profile.profile {
        CodecProfile::H264Baseline | CodecProfile::H264ConstrainedHigh => 0,
        CodecProfile::H264Main | CodecProfile::H264High => 3,
        CodecProfile::None => {
            if nvenc {
                0
            } else {
                3
            }
        }
    };
    let b_frames = if nvenc && profile.fps == 0 {
        0
    } else {
        b_frames
    };
    // lpms sets `profile` for every encoder; hevc_nvenc has no H.264 profile names.
    if encoder != "hevc_nvenc" {
        if let Some(p) = profile.profile.encoder_profile() {
            o.push(("profile", p.to_string()));
        }
    }
    o.push(("bf", b_frames.to_string()));
    let mut keyframe_interval_ms = None;
    match profile.gop {
        Gop::Default => {}
        Gop::Intra => o.push(("g", "0".to_string())),
        Gop::Seconds(s) => {
            if profile.fps > 0 {
                let rate = f64::from(profile.fps) / f64::from(profile.fps_den.max(1));
                let g = (s * rate).trunc();
                let g = if g.is_finite() && g >= 1.0 {
                    g.min(f64::from(i32::MAX)) as u64
                } else {
                    1
                };
                o.push(("g", g.to_string()));
            } else {
                let ms = (s * 1000.0).trunc();
                keyframe_interval_ms = Some(if ms.is_finite() && ms >= 1.0 {
                    ms.min(1e12) as u64
                } else {
                    1
                });
            }
        }
    }
    if !nvenc {
        o.push(("threads", x264_threads.max(1).to_string()));
    }
    EncoderSettings {
        encoder,
        options: o,
        keyframe_interval_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcode::ladder::{default_ladder, parse_ladder_json, parse_transcoding_options};

    fn get<'a>(s: &'a EncoderSettings, k: &str) -> Option<&'a str> {
        s.options
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.as_str())
    }

    fn profile(json: &str) -> Profile {
        parse_ladder_json(&format!("[{json}]"), "t")
            .unwrap()
            .remove(0)
    }

    #[test]
    fn options_table() {
        use EncoderFamily::{Libx264, Nvenc};
        let lb240 = default_ladder()[0].clone(); // 250 kbps, ConstrainedHigh, gop 1 s, fps 0
        let preset360 = parse_transcoding_options("P360p30fps16x9")
            .unwrap()
            .remove(0);
        let main30 = profile(
            r#"{"name":"m","width":640,"height":360,"bitrate":900000,"fps":30,"profile":"H264Main","gop":"2"}"#,
        );
        let ntsc = profile(
            r#"{"name":"n","width":640,"height":360,"bitrate":900000,"fps":30000,"fpsDen":1001,"gop":"2"}"#,
        );
        let crf = profile(
            r#"{"name":"q","width":640,"height":360,"bitrate":900000,"quality":23,"fps":25}"#,
        );
        let crf_only = profile(r#"{"name":"c","width":640,"height":360,"quality":50}"#);
        let intra = profile(
            r#"{"name":"i","width":640,"height":360,"bitrate":1,"gop":"intra","encoder":"HEVC","profile":"H264High","fps":25}"#,
        );
        // (profile, family, key, want)
        let cases: Vec<(&Profile, EncoderFamily, &str, Option<&str>)> = vec![
            (&lb240, Libx264, "forced-idr", Some("1")),
            (&lb240, Libx264, "preset", Some("medium")),
            (&lb240, Libx264, "b", Some("250000")),
            (&lb240, Libx264, "minrate", Some("250000")),
            (&lb240, Libx264, "maxrate", Some("250000")),
            (&lb240, Libx264, "bufsize", Some("250000")),
            (&lb240, Libx264, "profile", Some("high")),
            (&lb240, Libx264, "bf", Some("0")),
            (&lb240, Libx264, "g", None), // source rate: keyframes by time
            (&lb240, Libx264, "threads", Some("2")),
            (&lb240, Libx264, "crf", None),
            (&lb240, Nvenc, "rc", None), // no forced CBR
            (&lb240, Nvenc, "b", Some("250000")),
            (&lb240, Nvenc, "preset", Some("medium")),
            (&lb240, Nvenc, "bf", Some("0")),
            (&lb240, Nvenc, "threads", None),
            (&preset360, Libx264, "bf", Some("3")),
            (&preset360, Libx264, "profile", None),
            (&preset360, Nvenc, "bf", Some("0")),
            (&preset360, Libx264, "g", None),
            (&main30, Libx264, "bf", Some("3")),
            (&main30, Nvenc, "bf", Some("3")), // a target rate: NVENC keeps B-frames
            (&main30, Libx264, "profile", Some("main")),
            (&main30, Libx264, "g", Some("60")),
            (&main30, Nvenc, "g", Some("60")),
            (&ntsc, Libx264, "g", Some("59")), // trunc(2 × 29.97)
            (&crf, Libx264, "crf", Some("23")),
            (&crf, Libx264, "cq", None),
            (&crf, Libx264, "b", Some("900000")), // the bitrate still caps CRF
            (&crf, Nvenc, "cq", Some("30")),
            (&crf, Nvenc, "crf", None),
            (&crf_only, Libx264, "b", None),
            (&crf_only, Nvenc, "cq", None), // 57 is beyond NVENC's 51: not set, as lpms
            (&intra, Nvenc, "g", Some("0")),
            (&intra, Nvenc, "tier", Some("high")),
            (&intra, Nvenc, "profile", None),
            (&intra, Nvenc, "bf", Some("3")),
        ];
        for (p, family, key, want) in cases {
            let s = encoder_settings(p, family, 2);
            assert_eq!(get(&s, key), want, "{} on {family:?}: {key}", p.name);
        }
        assert_eq!(
            encoder_settings(&lb240, Libx264, 1).keyframe_interval_ms,
            Some(1000)
        );
        assert_eq!(
            encoder_settings(&main30, Nvenc, 1).keyframe_interval_ms,
            None
        );
        assert_eq!(encoder_settings(&intra, Nvenc, 1).encoder, "hevc_nvenc");
        assert_eq!(encoder_settings(&crf, Nvenc, 1).encoder, "h264_nvenc");
        assert_eq!(encoder_settings(&intra, Libx264, 1).encoder, "libx264");
    }
}
