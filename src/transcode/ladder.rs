//! The ladder: livepeer's preset names and JSON ladder files (livepeer's own format, every field),
//! parsed and validated into [`Profile`]s. Pure: no FFmpeg here.
//!
//! livepeer_bench drops unknown presets and invalid fields silently; rigbench refuses them with an
//! error that names the profile, the field and what to do.

use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// livepeer_bench's own `transcodingOptions.json`, the default ladder.
pub const LIVEPEER_BENCH_LADDER_JSON: &str =
    include_str!("../../fixtures/ladders/livepeer-bench.json");

/// Largest width or height accepted, in pixels.
pub const MAX_DIMENSION_PIXELS: u32 = 8192;
/// Largest frame H.264 allows (level 6.2 MaxFS), in 16x16 macroblocks.
pub const MAX_H264_FRAME_MACROBLOCKS: u64 = 139_264;

/// One rendition of the ladder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Rendition name (`custom_<w>x<h>_<bitrate>` when the ladder file left it empty).
    pub name: String,
    /// Output width in pixels.
    pub width: u32,
    /// Output height in pixels.
    pub height: u32,
    /// Target bitrate in bits per second; min = avg = max.
    pub bitrate_bps: u64,
    /// Output frame rate numerator; 0 = keep the source rate.
    pub fps: u32,
    /// Output frame rate denominator (1 when the file gave 0).
    pub fps_den: u32,
    /// Codec profile.
    pub profile: CodecProfile,
    /// Keyframe interval.
    pub gop: Gop,
    /// Output codec.
    pub encoder: VideoCodec,
    /// Constant quality (CRF) when non-zero; NVENC cq = quality + 7, as livepeer.
    pub quality: u32,
    /// Bits per colour sample the ladder asks for: 8 + livepeer's `colorDepth` (which counts the
    /// bits above 8: 0, 2, 4 or 8), so 8, 10, 12 or 16. lpms does not change the encoder's bit
    /// depth for it, and neither does rigbench: renditions are 8-bit (the run warns).
    pub color_depth_bits: u32,
    /// Chroma subsampling.
    pub chroma_format: ChromaFormat,
}

/// H.264 profile, as livepeer names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodecProfile {
    /// The encoder's default (libx264: High with B-frames).
    None,
    H264Baseline,
    H264Main,
    H264High,
    /// High profile with no B-frames.
    H264ConstrainedHigh,
}

impl CodecProfile {
    /// The `profile` option value for libx264 / NVENC, if any.
    pub fn encoder_profile(self) -> Option<&'static str> {
        match self {
            CodecProfile::None => None,
            CodecProfile::H264Baseline => Some("baseline"),
            CodecProfile::H264Main => Some("main"),
            CodecProfile::H264High | CodecProfile::H264ConstrainedHigh => Some("high"),
        }
    }

    /// Whether B-frames are forbidden (Baseline and ConstrainedHigh).
    pub fn no_b_frames(self) -> bool {
        matches!(
            self,
            CodecProfile::H264Baseline | CodecProfile::H264ConstrainedHigh
        )
    }
}

/// Keyframe interval of a rendition.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gop {
    /// The encoder's default interval (plus the IDR forced at each segment start).
    Default,
    /// A keyframe every so many seconds.
    Seconds(f64),
    /// Every frame is a keyframe.
    Intra,
}

impl Gop {
    /// The GOP length in frames at `fps` frames per second (None = encoder default).
    pub fn frames(self, fps: f64) -> Option<u32> {
        match self {
            Gop::Default => None,
            Gop::Intra => Some(1),
            Gop::Seconds(s) => Some(((s * fps).round() as u32).max(1)),
        }
    }
}

/// Output codec of a rendition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VideoCodec {
    H264,
    Hevc,
    Vp8,
    Vp9,
}

impl VideoCodec {
    /// The name livepeer's ladder files use.
    pub fn livepeer_name(self) -> &'static str {
        match self {
            VideoCodec::H264 => "H.264",
            VideoCodec::Hevc => "HEVC",
            VideoCodec::Vp8 => "VP8",
            VideoCodec::Vp9 => "VP9",
        }
    }
}

/// Chroma subsampling, livepeer's `chromaFormat` (0 = 4:2:0, 1 = 4:2:2, 2 = 4:4:4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChromaFormat {
    Yuv420,
    Yuv422,
    Yuv444,
}

/// What the backend that will run the ladder can encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncoderFamily {
    /// libx264 (cpu and hybrid backends).
    Libx264,
    /// h264_nvenc / hevc_nvenc (nvidia backend).
    Nvenc,
}

/// A ladder that cannot be used, naming the profile, the field and the fix.
#[derive(Debug, Error, PartialEq)]
pub enum LadderError {
    #[error("unknown preset {name:?} in --transcoding-options; known presets: {known}")]
    UnknownPreset { name: String, known: String },
    #[error(
        "--transcoding-options is empty: give preset names (comma-separated) or a JSON ladder file"
    )]
    Empty,
    #[error("cannot read ladder file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("ladder file {path} is not a valid livepeer JSON ladder (an array of profiles with fields name, width, height, bitrate, fps, fpsDen, profile, gop, encoder, quality, colorDepth, chromaFormat): {reason}")]
    Json { path: String, reason: String },
    #[error("ladder file {path} holds no profiles: give at least one")]
    EmptyFile { path: String },
    #[error("profile {profile:?}: field `{field}` {problem}")]
    Field {
        profile: String,
        field: &'static str,
        problem: String,
    },
    #[error(
        "profile {profile:?}: encoder {encoder} is not supported by the {backend} backend; {hint}"
    )]
    UnsupportedEncoder {
        profile: String,
        encoder: &'static str,
        backend: &'static str,
        hint: &'static str,
    },
}

/// The preset table of livepeer (lpms `videoprofile.go`): name, width, height, bitrate, fps.
pub const PRESETS: &[(&str, u32, u32, u64, u32)] = &[
    ("P720p60fps16x9", 1280, 720, 6_000_000, 60),
    ("P720p30fps16x9", 1280, 720, 4_000_000, 30),
    ("P720p25fps16x9", 1280, 720, 3_500_000, 25),
    ("P720p30fps4x3", 960, 720, 3_500_000, 30),
    ("P576p30fps16x9", 1024, 576, 1_500_000, 30),
    ("P576p25fps16x9", 1024, 576, 1_500_000, 25),
    ("P360p30fps16x9", 640, 360, 1_200_000, 30),
    ("P360p25fps16x9", 640, 360, 1_000_000, 25),
    ("P360p30fps4x3", 480, 360, 1_000_000, 30),
    ("P240p30fps16x9", 426, 240, 600_000, 30),
    ("P240p25fps16x9", 426, 240, 600_000, 25),
    ("P240p30fps4x3", 320, 240, 600_000, 30),
    ("P144p30fps16x9", 256, 144, 400_000, 30),
];

/// A preset by name (exact, or case-insensitive).
pub fn preset(name: &str) -> Option<Profile> {
    PRESETS
        .iter()
        .find(|p| p.0 == name)
        .or_else(|| PRESETS.iter().find(|p| p.0.eq_ignore_ascii_case(name)))
        .map(|&(name, width, height, bitrate_bps, fps)| Profile {
            name: name.to_string(),
            width,
            height,
            bitrate_bps,
            fps,
            fps_den: 1,
            profile: CodecProfile::None,
            gop: Gop::Default,
            encoder: VideoCodec::H264,
            quality: 0,
            color_depth_bits: 8,
            chroma_format: ChromaFormat::Yuv420,
        })
}

/// Parses `--transcoding-options`: a JSON ladder file when `arg` names a file (tried first, like
/// livepeer_bench), else comma-separated preset names.
pub fn parse_transcoding_options(arg: &str) -> Result<Vec<Profile>, LadderError> {
    let trimmed = arg.trim();
    if trimmed.is_empty() {
        return Err(LadderError::Empty);
    }
    let path = Path::new(trimmed);
    if path.is_file() {
        let text = std::fs::read_to_string(path).map_err(|e| LadderError::Read {
            path: trimmed.to_string(),
            reason: e.to_string(),
        })?;
        return parse_ladder_json(&text, trimmed);
    }
    if trimmed.ends_with(".json") || trimmed.contains('/') {
        return Err(LadderError::Read {
            path: trimmed.to_string(),
            reason: "no such file (give an existing JSON ladder file, or preset names)".to_string(),
        });
    }
    parse_presets(trimmed)
}

/// Comma-separated preset names.
pub fn parse_presets(list: &str) -> Result<Vec<Profile>, LadderError> {
    let mut ladder = Vec::new();
    for name in list.split(',').map(str::trim) {
        if name.is_empty() {
            continue;
        }
        ladder.push(preset(name).ok_or_else(|| LadderError::UnknownPreset {
            name: name.to_string(),
            known: PRESETS.iter().map(|p| p.0).collect::<Vec<_>>().join(", "),
        })?);
    }
    if ladder.is_empty() {
        return Err(LadderError::Empty);
    }
    check_profile_names(&ladder)?;
    Ok(ladder)
}

/// One profile as livepeer's JSON ladder files write it (go-livepeer `JsonProfile`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct JsonProfile {
    #[serde(default)]
    name: String,
    #[serde(default)]
    width: i64,
    #[serde(default)]
    height: i64,
    #[serde(default)]
    bitrate: i64,
    #[serde(default)]
    fps: i64,
    #[serde(default)]
    fps_den: i64,
    #[serde(default)]
    profile: String,
    #[serde(default)]
    gop: String,
    #[serde(default)]
    encoder: String,
    #[serde(default)]
    quality: i64,
    #[serde(default)]
    color_depth: i64,
    #[serde(default)]
    chroma_format: i64,
}

/// Parses a livepeer JSON ladder (`source` names it in errors).
pub fn parse_ladder_json(text: &str, source: &str) -> Result<Vec<Profile>, LadderError> {
    let raw: Vec<JsonProfile> = serde_json::from_str(text).map_err(|e| LadderError::Json {
        path: source.to_string(),
        reason: e.to_string(),
    })?;
    if raw.is_empty() {
        return Err(LadderError::EmptyFile {
            path: source.to_string(),
        });
    }
    let ladder: Vec<Profile> = raw
        .into_iter()
        .map(profile_from_json)
        .collect::<Result<_, _>>()?;
    check_profile_names(&ladder)?;
    Ok(ladder)
}

/// Longest profile name: it becomes part of file names (`<profile>_<session>_<segment>.ts`).
pub const MAX_PROFILE_NAME_CHARS: usize = 64;

/// A profile name is used as a file name: only `A-Z a-z 0-9 . _ -`, 1 to
/// [`MAX_PROFILE_NAME_CHARS`] characters, not `.` or `..`.
pub fn check_profile_name(name: &str) -> Result<(), LadderError> {
    let safe = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !safe
        || name.is_empty()
        || name == "."
        || name == ".."
        || name.len() > MAX_PROFILE_NAME_CHARS
    {
        return Err(field(
            name,
            "name",
            format!(
                "is not a safe file name; use 1 to {MAX_PROFILE_NAME_CHARS} of the characters A-Z a-z 0-9 . _ - (not \".\" or \"..\")"
            ),
        ));
    }
    Ok(())
}

/// Every name safe ([`check_profile_name`]) and none twice (renditions are told apart by name).
fn check_profile_names(ladder: &[Profile]) -> Result<(), LadderError> {
    for (i, p) in ladder.iter().enumerate() {
        check_profile_name(&p.name)?;
        if ladder[..i].iter().any(|q| q.name == p.name) {
            return Err(field(
                &p.name,
                "name",
                "appears twice in the ladder; give each profile its own name",
            ));
        }
    }
    Ok(())
}

fn field(profile: &str, field: &'static str, problem: impl Into<String>) -> LadderError {
    LadderError::Field {
        profile: profile.to_string(),
        field,
        problem: problem.into(),
    }
}

fn profile_from_json(j: JsonProfile) -> Result<Profile, LadderError> {
    let name = if j.name.trim().is_empty() {
        format!("custom_{}x{}_{}", j.width, j.height, j.bitrate)
    } else {
        j.name.trim().to_string()
    };
    let n = name.as_str();
    let width = dimension(n, "width", j.width)?;
    let height = dimension(n, "height", j.height)?;
    let macroblocks = u64::from(width.div_ceil(16)) * u64::from(height.div_ceil(16));
    if macroblocks > MAX_H264_FRAME_MACROBLOCKS {
        return Err(field(
            n,
            "width",
            format!(
                "{width}x{height} is {macroblocks} macroblocks, more than H.264 allows ({MAX_H264_FRAME_MACROBLOCKS}); use a smaller size"
            ),
        ));
    }
    if j.bitrate < 0 {
        return Err(field(
            n,
            "bitrate",
            format!(
                "is {} (negative); give bits per second, e.g. 3000000",
                j.bitrate
            ),
        ));
    }
    if j.quality < 0 || j.quality > 51 {
        return Err(field(
            n,
            "quality",
            format!(
                "is {}; give a CRF between 0 and 51, or leave it out",
                j.quality
            ),
        ));
    }
    if j.bitrate == 0 && j.quality == 0 {
        return Err(field(
            n,
            "bitrate",
            "is 0 and no quality is set; give bits per second, e.g. 3000000",
        ));
    }
    if j.fps_den < 0 || j.fps_den > 1_000_000 {
        return Err(field(
            n,
            "fpsDen",
            format!("is {}; give 0 or 1 (whole rates) or e.g. 1001", j.fps_den),
        ));
    }
    let den = if j.fps_den == 0 { 1 } else { j.fps_den };
    if j.fps < 0 || j.fps > 1_000_000_000 || j.fps as f64 / den as f64 > 1000.0 {
        return Err(field(
            n,
            "fps",
            format!(
                "is {} (with fpsDen {den}); give 0 (keep the source rate) or a rate up to 1000 frames per second",
                j.fps
            ),
        ));
    }
    let fps_den = if j.fps_den == 0 { 1 } else { j.fps_den as u32 };
    let profile = match j.profile.trim().to_ascii_lowercase().as_str() {
        "" | "none" => CodecProfile::None,
        "h264baseline" => CodecProfile::H264Baseline,
        "h264main" => CodecProfile::H264Main,
        "h264high" => CodecProfile::H264High,
        "h264constrainedhigh" => CodecProfile::H264ConstrainedHigh,
        other => {
            return Err(field(
                n,
                "profile",
                format!("{other:?} is unknown; use H264Baseline, H264Main, H264High, H264ConstrainedHigh or none"),
            ))
        }
    };
    let gop = parse_gop(n, &j.gop)?;
    let encoder = match j.encoder.trim().to_ascii_uppercase().as_str() {
        "" | "H.264" | "H264" => VideoCodec::H264,
        "HEVC" | "H.265" | "H265" => VideoCodec::Hevc,
        "VP8" => VideoCodec::Vp8,
        "VP9" => VideoCodec::Vp9,
        other => {
            return Err(field(
                n,
                "encoder",
                format!("{other:?} is unknown; use H.264, HEVC, VP8 or VP9"),
            ))
        }
    };
    // livepeer's colorDepth counts the bits above 8 (lpms `ColorDepthBits`).
    let color_depth_bits = match j.color_depth {
        0 | 2 | 4 | 8 => 8 + j.color_depth as u32,
        other => {
            return Err(field(
                n,
                "colorDepth",
                format!("is {other}; livepeer's colorDepth counts the bits above 8: use 0 (8-bit), 2 (10-bit), 4 (12-bit) or 8 (16-bit), or leave it out"),
            ))
        }
    };
    let chroma_format = match j.chroma_format {
        0 => ChromaFormat::Yuv420,
        1 => ChromaFormat::Yuv422,
        2 => ChromaFormat::Yuv444,
        other => {
            return Err(field(
                n,
                "chromaFormat",
                format!("is {other}; use 0 (4:2:0), 1 (4:2:2) or 2 (4:4:4)"),
            ))
        }
    };
    Ok(Profile {
        name,
        width,
        height,
        bitrate_bps: j.bitrate as u64,
        fps: j.fps as u32,
        fps_den,
        profile,
        gop,
        encoder,
        quality: j.quality as u32,
        color_depth_bits,
        chroma_format,
    })
}

fn dimension(profile: &str, name: &'static str, value: i64) -> Result<u32, LadderError> {
    if value <= 0 {
        return Err(field(
            profile,
            name,
            format!("is {value}; give a positive even number of pixels"),
        ));
    }
    if value > i64::from(MAX_DIMENSION_PIXELS) {
        return Err(field(
            profile,
            name,
            format!("is {value}, more than {MAX_DIMENSION_PIXELS} pixels; use a smaller size"),
        ));
    }
    if value % 2 != 0 {
        return Err(field(
            profile,
            name,
            format!(
                "is {value}, odd; 4:2:0 video needs even sizes, use {} or {}",
                value - 1,
                value + 1
            ),
        ));
    }
    Ok(value as u32)
}

/// livepeer's `gop`: empty = encoder default, "intra", or seconds (> 0) as a string.
pub fn parse_gop(profile: &str, gop: &str) -> Result<Gop, LadderError> {
    let g = gop.trim();
    if g.is_empty() {
        return Ok(Gop::Default);
    }
    if g.eq_ignore_ascii_case("intra") {
        return Ok(Gop::Intra);
    }
    match g.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 => Ok(Gop::Seconds(s)),
        _ => Err(field(
            profile,
            "gop",
            format!(
                "{g:?} is not valid; give seconds as a string (e.g. \"2\" or \"0.5\") or \"intra\""
            ),
        )),
    }
}

/// Checks that every profile can be encoded by `family`, and that its chroma format is one this
/// encoder path produces (4:2:0). A bit depth above 8 is accepted and encoded at 8 bits, as lpms
/// does (see [`depth_warnings`]).
pub fn check_supported(ladder: &[Profile], family: EncoderFamily) -> Result<(), LadderError> {
    let backend = match family {
        EncoderFamily::Libx264 => "cpu/hybrid",
        EncoderFamily::Nvenc => "nvidia",
    };
    for p in ladder {
        let supported = match family {
            EncoderFamily::Libx264 => p.encoder == VideoCodec::H264,
            EncoderFamily::Nvenc => matches!(p.encoder, VideoCodec::H264 | VideoCodec::Hevc),
        };
        if !supported {
            return Err(LadderError::UnsupportedEncoder {
                profile: p.name.clone(),
                encoder: p.encoder.livepeer_name(),
                backend,
                hint: match family {
                    EncoderFamily::Libx264 => "use H.264, or --backend nvidia for HEVC",
                    EncoderFamily::Nvenc => "use H.264 or HEVC",
                },
            });
        }
        if p.chroma_format != ChromaFormat::Yuv420 {
            return Err(field(
                &p.name,
                "chromaFormat",
                "is not 0; rigbench encodes 4:2:0 only, use 0",
            ));
        }
    }
    Ok(())
}

/// One warning per profile whose `colorDepth` asks for more than 8 bits: lpms (and rigbench)
/// encode it at the pipeline's 8 bits all the same.
pub fn depth_warnings(ladder: &[Profile]) -> Vec<String> {
    ladder
        .iter()
        .filter(|p| p.color_depth_bits > 8)
        .map(|p| {
            format!(
                "profile {:?} asks for {}-bit colour (colorDepth {}); lpms does not change the encoder's bit depth for it and neither does rigbench: the rendition is 8-bit",
                p.name,
                p.color_depth_bits,
                p.color_depth_bits - 8
            )
        })
        .collect()
}

/// livepeer_bench's ladder (`fixtures/ladders/livepeer-bench.json`), the default.
pub fn default_ladder() -> Vec<Profile> {
    // The embedded file is checked by a unit test; an empty ladder here would be a build defect.
    parse_ladder_json(
        LIVEPEER_BENCH_LADDER_JSON,
        "fixtures/ladders/livepeer-bench.json",
    )
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_ladder_is_livepeer_bench() {
        let l = parse_ladder_json(LIVEPEER_BENCH_LADDER_JSON, "embedded").unwrap();
        let got: Vec<_> = l
            .iter()
            .map(|p| (p.name.as_str(), p.width, p.height, p.bitrate_bps, p.fps))
            .collect();
        assert_eq!(
            got,
            vec![
                ("240p0", 426, 240, 250_000, 0),
                ("360p0", 640, 360, 800_000, 0),
                ("480p0", 854, 480, 1_600_000, 0),
                ("720p0", 1280, 720, 3_000_000, 0),
            ]
        );
        for p in &l {
            assert_eq!(p.profile, CodecProfile::H264ConstrainedHigh);
            assert_eq!(p.gop, Gop::Seconds(1.0));
            assert_eq!(p.encoder, VideoCodec::H264);
        }
        assert_eq!(default_ladder(), l);
    }

    #[test]
    fn presets_table() {
        let cases: &[(&str, u32, u32, u64, u32)] = &[
            ("P720p60fps16x9", 1280, 720, 6_000_000, 60),
            ("P720p30fps16x9", 1280, 720, 4_000_000, 30),
            ("P720p25fps16x9", 1280, 720, 3_500_000, 25),
            ("P720p30fps4x3", 960, 720, 3_500_000, 30),
            ("P576p30fps16x9", 1024, 576, 1_500_000, 30),
            ("P576p25fps16x9", 1024, 576, 1_500_000, 25),
            ("P360p30fps16x9", 640, 360, 1_200_000, 30),
            ("P360p25fps16x9", 640, 360, 1_000_000, 25),
            ("P360p30fps4x3", 480, 360, 1_000_000, 30),
            ("P240p30fps16x9", 426, 240, 600_000, 30),
            ("P240p25fps16x9", 426, 240, 600_000, 25),
            ("P240p30fps4x3", 320, 240, 600_000, 30),
            ("P144p30fps16x9", 256, 144, 400_000, 30),
            ("p144p30fps16x9", 256, 144, 400_000, 30),
        ];
        for &(name, w, h, b, fps) in cases {
            let p = preset(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(
                (p.width, p.height, p.bitrate_bps, p.fps, p.fps_den),
                (w, h, b, fps, 1),
                "{name}"
            );
        }
    }

    #[test]
    fn preset_lists() {
        let l = parse_transcoding_options("P240p30fps16x9,P360p30fps16x9, P720p30fps16x9").unwrap();
        assert_eq!(
            l.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["P240p30fps16x9", "P360p30fps16x9", "P720p30fps16x9"]
        );
        let cases = [
            ("P240p30fps16x9,P999p", "P999p"),
            ("bogus", "bogus"),
            ("nothere.json", "no such file"),
            ("dir/ladder", "no such file"),
        ];
        for (arg, needle) in cases {
            let e = parse_transcoding_options(arg).unwrap_err().to_string();
            assert!(e.contains(needle), "{arg}: {e}");
        }
        assert_eq!(parse_transcoding_options(" , "), Err(LadderError::Empty));
        assert_eq!(parse_transcoding_options(""), Err(LadderError::Empty));
    }

    #[test]
    fn json_every_field() {
        let text = r#"[{"name":"","width":640,"height":360,"bitrate":900000,"fps":30000,"fpsDen":1001,
            "profile":"h264HIGH","gop":"intra","encoder":"hevc","quality":23,"colorDepth":8,"chromaFormat":0},
            {"name":"b","width":320,"height":180,"bitrate":1,"gop":"2.5"}]"#;
        let l = parse_ladder_json(text, "t").unwrap();
        assert_eq!(l[0].name, "custom_640x360_900000");
        assert_eq!((l[0].fps, l[0].fps_den), (30000, 1001));
        assert_eq!(l[0].profile, CodecProfile::H264High);
        assert_eq!(l[0].gop, Gop::Intra);
        assert_eq!(l[0].encoder, VideoCodec::Hevc);
        assert_eq!(l[0].quality, 23);
        assert_eq!(l[1].fps_den, 1);
        assert_eq!(l[1].gop, Gop::Seconds(2.5));
        assert_eq!(l[1].profile, CodecProfile::None);
    }

    #[test]
    fn json_errors_name_field_and_profile() {
        let one = |extra: &str| {
            format!(r#"[{{"name":"r","width":640,"height":360,"bitrate":1000{extra}}}]"#)
        };
        let cases: Vec<(String, &str)> = vec![
            ("not json".into(), "not a valid livepeer JSON ladder"),
            ("[]".into(), "holds no profiles"),
            (one(r#","colour":1"#), "unknown field `colour`"),
            (
                r#"[{"name":"r","width":0,"height":360,"bitrate":1}]"#.into(),
                "`width` is 0",
            ),
            (
                r#"[{"name":"r","width":641,"height":360,"bitrate":1}]"#.into(),
                "`width` is 641, odd",
            ),
            (
                r#"[{"name":"r","width":640,"height":9000,"bitrate":1}]"#.into(),
                "`height` is 9000, more than 8192",
            ),
            (
                r#"[{"name":"r","width":8192,"height":8192,"bitrate":1}]"#.into(),
                "more than H.264 allows",
            ),
            (
                r#"[{"name":"r","width":640,"height":360,"bitrate":-5}]"#.into(),
                "`bitrate` is -5 (negative)",
            ),
            (
                r#"[{"name":"r","width":640,"height":360}]"#.into(),
                "`bitrate` is 0",
            ),
            (one(r#","gop":"soon""#), "`gop` \"soon\" is not valid"),
            (one(r#","gop":"0""#), "`gop` \"0\" is not valid"),
            (one(r#","gop":"-1""#), "`gop` \"-1\" is not valid"),
            (one(r#","profile":"h264extreme""#), "`profile`"),
            (one(r#","encoder":"AV1""#), "`encoder`"),
            (one(r#","fps":-1"#), "`fps` is -1"),
            (one(r#","colorDepth":9"#), "`colorDepth` is 9"),
            (one(r#","chromaFormat":3"#), "`chromaFormat` is 3"),
            (one(r#","quality":70"#), "`quality` is 70"),
        ];
        for (text, needle) in cases {
            let e = parse_ladder_json(&text, "t.json").unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
            if e.contains('`') && !e.contains("unknown field") {
                assert!(e.contains("profile \"r\""), "{e}");
            }
        }
    }

    #[test]
    fn profile_names_are_safe_file_names_and_unique() {
        for good in [
            "P720p30fps16x9",
            "a",
            "x.y_z-1",
            &"n".repeat(MAX_PROFILE_NAME_CHARS),
        ] {
            assert_eq!(check_profile_name(good), Ok(()), "{good:?}");
        }
        let long = "n".repeat(MAX_PROFILE_NAME_CHARS + 1);
        for bad in [
            "", ".", "..", "../../x", "/abs", "a/b", "a\\b", "nul\0", "sp ace", "é", &long,
        ] {
            assert!(
                matches!(
                    check_profile_name(bad),
                    Err(LadderError::Field { field: "name", .. })
                ),
                "{bad:?}"
            );
        }
        let twice = r#"[{"name":"a","width":320,"height":180,"bitrate":300000},
                        {"name":"a","width":640,"height":360,"bitrate":900000}]"#;
        let e = parse_ladder_json(twice, "t.json").unwrap_err();
        assert!(e.to_string().contains("appears twice"), "{e}");
        let e = parse_ladder_json(
            r#"[{"name":"../x","width":320,"height":180,"bitrate":300000}]"#,
            "t.json",
        )
        .unwrap_err();
        assert!(e.to_string().contains("safe file name"), "{e}");
        assert!(parse_presets("P240p30fps16x9,P240p30fps16x9").is_err());
    }

    #[test]
    fn ladder_file_is_tried_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ladder.json");
        std::fs::write(
            &path,
            r#"[{"name":"x","width":320,"height":180,"bitrate":300000}]"#,
        )
        .unwrap();
        let l = parse_transcoding_options(path.to_str().unwrap()).unwrap();
        assert_eq!(l[0].name, "x");
    }

    #[test]
    fn backend_support() {
        let mut l = default_ladder();
        assert!(check_supported(&l, EncoderFamily::Libx264).is_ok());
        l[1].encoder = VideoCodec::Hevc;
        assert!(check_supported(&l, EncoderFamily::Nvenc).is_ok());
        let e = check_supported(&l, EncoderFamily::Libx264)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("360p0") && e.contains("HEVC") && e.contains("--backend nvidia"),
            "{e}"
        );
        l[1].encoder = VideoCodec::Vp9;
        assert!(check_supported(&l, EncoderFamily::Nvenc)
            .unwrap_err()
            .to_string()
            .contains("VP9"));
        let mut l = default_ladder();
        l[0].color_depth_bits = 10;
        assert!(check_supported(&l, EncoderFamily::Libx264).is_ok());
        l[0].chroma_format = ChromaFormat::Yuv444;
        assert!(check_supported(&l, EncoderFamily::Libx264)
            .unwrap_err()
            .to_string()
            .contains("chromaFormat"));
    }

    #[test]
    fn color_depth_counts_bits_above_eight() {
        // An ordinary Livepeer ladder: 8-bit and 10-bit renditions.
        let text = r#"[{"name":"a","width":640,"height":360,"bitrate":900000,"colorDepth":0},
            {"name":"b","width":640,"height":360,"bitrate":900000,"colorDepth":2},
            {"name":"c","width":640,"height":360,"bitrate":900000}]"#;
        let l = parse_ladder_json(text, "t").unwrap();
        let bits: Vec<u32> = l.iter().map(|p| p.color_depth_bits).collect();
        assert_eq!(bits, [8, 10, 8]);
        assert!(check_supported(&l, EncoderFamily::Libx264).is_ok());
        let w = depth_warnings(&l);
        assert_eq!(w.len(), 1);
        assert!(
            w[0].contains("\"b\"") && w[0].contains("10-bit"),
            "{}",
            w[0]
        );
        let cases = [
            (4, Some(12)),
            (8, Some(16)),
            (10, None),
            (1, None),
            (-2, None),
        ];
        for (depth, want) in cases {
            let text = format!(
                r#"[{{"name":"r","width":640,"height":360,"bitrate":1,"colorDepth":{depth}}}]"#
            );
            match (parse_ladder_json(&text, "t"), want) {
                (Ok(l), Some(bits)) => assert_eq!(l[0].color_depth_bits, bits),
                (Err(e), None) => assert!(e.to_string().contains("bits above 8"), "{e}"),
                (got, want) => panic!("colorDepth {depth}: {got:?}, want {want:?}"),
            }
        }
        assert!(depth_warnings(&default_ladder()).is_empty());
    }

    #[test]
    fn gop_frames() {
        let cases = [
            (Gop::Default, 25.0, None),
            (Gop::Intra, 25.0, Some(1)),
            (Gop::Seconds(1.0), 25.0, Some(25)),
            (Gop::Seconds(2.0), 29.97, Some(60)),
            (Gop::Seconds(0.01), 25.0, Some(1)),
        ];
        for (g, fps, want) in cases {
            assert_eq!(g.frames(fps), want, "{g:?} @ {fps}");
        }
    }

    #[test]
    fn profile_round_trips_through_serde() {
        let l = default_ladder();
        let s = serde_json::to_string(&l).unwrap();
        let back: Vec<Profile> = serde_json::from_str(&s).unwrap();
        assert_eq!(back, l);
    }
}
