//! Validation: the broadcaster's checks of each rendition it gets back (decodes, size, frame count,
//! keyframe at start, pixel count equal to the billed count), and, in [`quality`], how good the
//! renditions are (SSIM and PSNR against the source).
//!
//! Method: go-livepeer's broadcaster decodes every rendition and refuses a "pixel mismatch"
//! between the pixels it decoded and the pixels the orchestrator billed, and checks that the
//! rendition plays at the size lpms makes for this source (livepeer-facts §2, §6: the profile's
//! larger side on the source's larger side, aspect kept; [`crate::transcode::size`]). rigbench adds the frame count at the
//! target rate (±1) and an IDR at the start, which a Livepeer segment must have to be playable on
//! its own. The bytes are decoded from memory with FFmpeg's own demuxer and decoder, every frame,
//! without the deblocking filter (it alters pixels, not which frames exist or their size).

pub mod quality;

use serde::{Deserialize, Serialize};

use crate::ingest::{Segment, SourceInfo};
use crate::transcode::hw::MemoryInput;
use crate::transcode::ladder::Profile;
use crate::transcode::RenditionOutput;
use ffmpeg_next as ffmpeg;

/// One of the checks a rendition can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// The bytes do not demux or decode (or decode to nothing).
    Decode,
    /// A decoded frame is not the size lpms makes of this profile for this source.
    Size,
    /// The decoded frame count is more than one off the expected count.
    FrameCount,
    /// The first decoded frame is not a keyframe.
    Keyframe,
    /// Decoded pixels differ from the billed pixels.
    PixelCount,
}

impl Check {
    /// The name used in run.json and the CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Decode => "decode",
            Check::Size => "size",
            Check::FrameCount => "frame_count",
            Check::Keyframe => "keyframe",
            Check::PixelCount => "pixel_count",
        }
    }
}

/// The verdict on one rendition of one segment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RenditionCheck {
    /// True when no check failed.
    pub ok: bool,
    /// The checks that failed, in the order they were made.
    pub failures: Vec<Check>,
    /// One sentence per failure, with the numbers.
    pub detail: Vec<String>,
    /// Frames the validator decoded.
    pub decoded_frames: u64,
    /// width × height summed over every decoded frame.
    pub decoded_pixels: u64,
}

/// Frames the broadcaster expects in a rendition of `seg`: the source's frames when the profile
/// keeps the source rate (fps 0), else `round(duration × fps / fps_den)`.
pub fn expected_frames(seg: &Segment, source_fps: f64, profile: &Profile) -> u64 {
    if profile.fps == 0 {
        if seg.video_frames > 0 {
            return seg.video_frames;
        }
        return crate::transcode::session::frames_at_rate(seg.duration_seconds, source_fps);
    }
    let rate = f64::from(profile.fps) / f64::from(profile.fps_den.max(1));
    crate::transcode::session::frames_at_rate(seg.duration_seconds, rate)
}

/// The size lpms encodes `profile` at for a `source_w`x`source_h` source: what the broadcaster
/// expects to decode.
pub fn expected_size(profile: &Profile, source_w: u32, source_h: u32) -> (u32, u32) {
    crate::transcode::size::output_size(
        source_w,
        source_h,
        profile.width,
        profile.height,
        profile.encoder,
    )
}

/// What decoding a rendition's bytes found.
#[derive(Debug, Default)]
struct Decoded {
    frames: u64,
    pixels: u64,
    first_is_key: Option<bool>,
    /// (frame number, width, height) of the first frame whose size differs from the profile's.
    wrong_size: Option<(u64, u32, u32)>,
    errors: u64,
}

/// An input's best video stream and a frame-threaded decoder for it.
pub(crate) struct VideoDecoder {
    pub index: usize,
    pub time_base: ffmpeg::Rational,
    pub frame_rate: ffmpeg::Rational,
    pub decoder: ffmpeg::decoder::Video,
}

/// Opens a decoder for `input`'s best video stream; `skip_deblocking` leaves the loop filter
/// out (frames, sizes and key flags stay exact; pixels do not). Errors are sentences to follow
/// "the rendition …".
pub(crate) fn open_video_decoder(
    input: &ffmpeg::format::context::Input,
    skip_deblocking: bool,
) -> Result<VideoDecoder, String> {
    let (index, params, time_base, frame_rate) = {
        let s = input
            .streams()
            .best(ffmpeg::media::Type::Video)
            .ok_or("has no video stream")?;
        (s.index(), s.parameters(), s.time_base(), s.avg_frame_rate())
    };
    let mut ctx = ffmpeg::codec::context::Context::from_parameters(params)
        .map_err(|e| format!("has unusable video parameters: {e}"))?;
    ctx.set_threading(ffmpeg::codec::threading::Config {
        kind: ffmpeg::codec::threading::Type::Frame,
        count: 0,
        ..Default::default()
    });
    let mut d = ctx.decoder();
    d.set_packet_time_base(time_base);
    if skip_deblocking {
        d.skip_loop_filter(ffmpeg::codec::discard::Discard::All);
    }
    let decoder = d
        .video()
        .map_err(|e| format!("no decoder opens for its video: {e}"))?;
    Ok(VideoDecoder {
        index,
        time_base,
        frame_rate,
        decoder,
    })
}

fn decode(data: &[u8], width: u32, height: u32) -> Result<Decoded, String> {
    crate::ingest::init_ffmpeg();
    if data.is_empty() {
        return Err("the rendition is empty (0 bytes)".to_string());
    }
    let mut input = MemoryInput::open(data.to_vec(), "mpegts", false)
        .map_err(|e| format!("does not demux as MPEG-TS: {e}"))?;
    let ictx = input.input();
    // The checks are about frames, sizes and key flags, not picture quality: skip deblocking,
    // which changes no frame's existence, size or type and is a large share of decode time.
    let VideoDecoder {
        index, mut decoder, ..
    } = open_video_decoder(ictx, true)?;
    let mut out = Decoded::default();
    let take = |decoder: &mut ffmpeg::decoder::Video, out: &mut Decoded| loop {
        let mut f = ffmpeg::frame::Video::empty();
        match decoder.receive_frame(&mut f) {
            Ok(()) => {
                if out.first_is_key.is_none() {
                    out.first_is_key = Some(f.is_key() || f.kind() == ffmpeg::picture::Type::I);
                }
                if (f.width(), f.height()) != (width, height) && out.wrong_size.is_none() {
                    out.wrong_size = Some((out.frames, f.width(), f.height()));
                }
                out.frames += 1;
                out.pixels += u64::from(f.width()) * u64::from(f.height());
            }
            Err(ffmpeg::Error::Eof) => break,
            Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => break,
            Err(_) => {
                out.errors += 1;
                break;
            }
        }
    };
    for (stream, packet) in ictx.packets() {
        if stream.index() != index {
            continue;
        }
        if decoder.send_packet(&packet).is_err() {
            out.errors += 1;
            continue;
        }
        take(&mut decoder, &mut out);
    }
    if decoder.send_eof().is_ok() {
        take(&mut decoder, &mut out);
    }
    Ok(out)
}

/// Decodes the rendition's bytes and makes the broadcaster's checks against `profile`, the frame
/// count `expected_frames` (see [`expected_frames`]) and the size `expected_size` (see
/// [`expected_size`]).
pub fn validate_rendition(
    r: &RenditionOutput,
    profile: &Profile,
    expected_frames: u64,
    expected_size: (u32, u32),
) -> RenditionCheck {
    let (width, height) = expected_size;
    let mut check = RenditionCheck::default();
    let fail = |check: &mut RenditionCheck, c: Check, why: String| {
        if !check.failures.contains(&c) {
            check.failures.push(c);
        }
        check.detail.push(format!("{}: {why}", c.as_str()));
    };
    match decode(&r.data, width, height) {
        Err(why) => fail(
            &mut check,
            Check::Decode,
            format!("rendition {} {why}", r.name),
        ),
        Ok(d) => {
            check.decoded_frames = d.frames;
            check.decoded_pixels = d.pixels;
            if d.frames == 0 {
                fail(
                    &mut check,
                    Check::Decode,
                    format!("rendition {} decodes to no frame", r.name),
                );
            } else if d.errors > 0 {
                fail(
                    &mut check,
                    Check::Decode,
                    format!(
                        "rendition {}: {} packets failed to decode",
                        r.name, d.errors
                    ),
                );
            }
            if (r.width, r.height) != (width, height) {
                fail(
                    &mut check,
                    Check::Size,
                    format!(
                        "rendition {} reports {}x{}, lpms makes {width}x{height} of profile {} ({}x{}) for this source",
                        r.name, r.width, r.height, profile.name, profile.width, profile.height
                    ),
                );
            }
            if let Some((n, w, h)) = d.wrong_size {
                fail(
                    &mut check,
                    Check::Size,
                    format!(
                        "frame {n} of rendition {} is {w}x{h}, lpms makes {width}x{height} of profile {} for this source",
                        r.name, profile.name
                    ),
                );
            }
            if d.frames > 0 && d.frames.abs_diff(expected_frames) > 1 {
                fail(
                    &mut check,
                    Check::FrameCount,
                    format!(
                        "rendition {} has {} frames, expected {expected_frames} ± 1",
                        r.name, d.frames
                    ),
                );
            }
            if d.first_is_key == Some(false) || (d.frames > 0 && !r.first_is_keyframe) {
                fail(
                    &mut check,
                    Check::Keyframe,
                    format!("rendition {} does not start on a keyframe", r.name),
                );
            }
            if d.pixels != r.pixels {
                fail(
                    &mut check,
                    Check::PixelCount,
                    format!(
                        "rendition {}: {} pixels decoded, {} billed (pixel mismatch)",
                        r.name, d.pixels, r.pixels
                    ),
                );
            }
        }
    }
    check.ok = check.failures.is_empty();
    check
}

/// Validates every rendition of one segment, in parallel (one thread per rendition), in ladder
/// order: what a broadcaster does with a segment's results. `ladder[r.profile_index]` is each
/// rendition's profile; a rendition whose index is outside the ladder fails `Decode`. `source`
/// gives the frame rate and size the expectations are computed from.
pub fn validate_segment(
    out: &crate::transcode::SegmentOutput,
    ladder: &[Profile],
    seg: &Segment,
    source: &SourceInfo,
) -> Vec<RenditionCheck> {
    let source_fps = source.fps;
    let (source_w, source_h) = (source.width, source.height);
    std::thread::scope(|scope| {
        let handles: Vec<_> = out
            .renditions
            .iter()
            .map(|r| {
                scope.spawn(move || match ladder.get(r.profile_index) {
                    Some(p) => validate_rendition(
                        r,
                        p,
                        expected_frames(seg, source_fps, p),
                        expected_size(p, source_w, source_h),
                    ),
                    None => RenditionCheck {
                        ok: false,
                        failures: vec![Check::Decode],
                        detail: vec![format!(
                            "decode: rendition {} has profile index {} outside the ladder of {}",
                            r.name,
                            r.profile_index,
                            ladder.len()
                        )],
                        ..Default::default()
                    },
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| RenditionCheck {
                    ok: false,
                    failures: vec![Check::Decode],
                    detail: vec!["decode: the validating thread stopped unexpectedly".to_string()],
                    ..Default::default()
                })
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcode::ladder::{default_ladder, parse_transcoding_options};
    use std::path::PathBuf;

    fn seg(duration_seconds: f64, video_frames: u64) -> Segment {
        Segment {
            index: 0,
            path: PathBuf::new(),
            bytes: 0,
            duration_seconds,
            video_frames,
            start_seconds: 0.0,
        }
    }

    #[test]
    fn expected_frame_counts() {
        let keep = &default_ladder()[0];
        let p30 = &parse_transcoding_options("P240p30fps16x9").unwrap()[0];
        let mut ntsc = p30.clone();
        ntsc.fps = 30000;
        ntsc.fps_den = 1001;
        let cases = [
            (seg(2.0, 50), 25.0, keep, 50),
            (seg(1.28, 32), 25.0, keep, 32),
            (seg(2.0, 0), 25.0, keep, 50),
            (seg(2.0, 50), 25.0, p30, 60),
            (seg(1.28, 32), 25.0, p30, 38),
            (seg(2.0, 50), 25.0, &ntsc, 60),
        ];
        for (s, fps, p, want) in cases {
            assert_eq!(
                expected_frames(&s, fps, p),
                want,
                "{} {}s",
                p.name,
                s.duration_seconds
            );
        }
    }

    #[test]
    fn garbage_fails_decode() {
        let p = &default_ladder()[0];
        let cases: [(&str, Vec<u8>); 2] = [("empty", vec![]), ("garbage", vec![0x47; 10])];
        for (name, data) in cases {
            let r = RenditionOutput {
                name: name.into(),
                width: p.width,
                height: p.height,
                data,
                ..Default::default()
            };
            let c = validate_rendition(&r, p, 50, (p.width, p.height));
            assert!(
                !c.ok && c.failures.contains(&Check::Decode),
                "{name}: {c:?}"
            );
        }
    }

    #[test]
    fn check_names() {
        let names: Vec<_> = [
            Check::Decode,
            Check::Size,
            Check::FrameCount,
            Check::Keyframe,
            Check::PixelCount,
        ]
        .iter()
        .map(|c| c.as_str())
        .collect();
        assert_eq!(
            names,
            ["decode", "size", "frame_count", "keyframe", "pixel_count"]
        );
    }
}
