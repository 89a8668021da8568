//! One transcoder per session, as a Livepeer orchestrator keeps one per stream, with lpms'
//! per-segment lifecycle (livepeer-facts §2): only the hardware parts survive a segment.
//!
//! Rebuilt for every segment: a software decoder (opened at the segment's start, freed at its
//! end), every rendition's filter graph (`scale`, or `scale_cuda` on a GPU), and libx264 encoders
//! (drained with end of stream and reopened; the segment starts on an IDR). Kept across segments:
//! the CUDA device, a hardware (NVDEC) decoder, drained and reset with `avcodec_flush_buffers`,
//! and NVENC encoders, drained without ending them and reset with `avcodec_flush_buffers`, as lpms
//! does (opening an NVENC session is slow). Each rendition's size is lpms' ([`super::size`]) for
//! the decoded frame's size, and its encoder options are lpms' ([`super::options`]).
//!
//! Per segment: demux the MPEG-TS once, decode the video once on the calling thread, and hand
//! every decoded frame (shared, reference-counted) to one thread per rendition, which scales,
//! converts the frame rate ([`super::fps`]), encodes and muxes MPEG-TS in memory with the
//! segment's audio copied.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use ffmpeg::{codec, filter, format, frame, media, Dictionary, Packet, Rational};
use ffmpeg_next as ffmpeg;

use super::fps::{FpsPlanner, RateMode};
use super::hw::{self, CudaDevice, MemoryOutput};
use super::ladder::{self, Profile};
use super::nvidia::{self, GpuError, NvencSessionGuard};
use super::{cpu, options, size, Backend, TranscodeError};
use crate::ingest::{Segment, SourceInfo};

/// Sessions alive in this process, to share the cores between their encoders.
static LIVE_SESSIONS: AtomicUsize = AtomicUsize::new(0);

struct LiveGuard;

impl LiveGuard {
    fn new() -> Self {
        LIVE_SESSIONS.fetch_add(1, Ordering::SeqCst);
        LiveGuard
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        LIVE_SESSIONS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How to build a session's transcoder.
#[derive(Debug, Clone, Default)]
pub struct SessionConfig {
    pub backend: Backend,
    /// GPU id for GPU backends (None = GPU 0).
    pub gpu: Option<u32>,
    pub ladder: Vec<Profile>,
    /// When set, each rendition is also written to `<dir>/<profile>_<session>_<segment>.ts`.
    pub keep_renditions_dir: Option<PathBuf>,
    /// Session number (for file names).
    pub session: u32,
}

/// What one segment produced.
#[derive(Debug, Clone, Default)]
pub struct SegmentOutput {
    /// In ladder order.
    pub renditions: Vec<RenditionOutput>,
    /// Source video frames decoded.
    pub decoded_frames: u64,
    /// Packets the decoder rejected (skipped), frames it flagged damaged (concealed), and source
    /// frames that never decoded; not fatal unless nothing in the segment decodes cleanly.
    pub decode_errors: u64,
}

/// One encoded rendition of one segment.
#[derive(Debug, Clone, Default)]
pub struct RenditionOutput {
    /// Index into the ladder.
    pub profile_index: usize,
    pub name: String,
    /// The encoder's real width in pixels (lpms' size for this source, not the profile's).
    pub width: u32,
    /// The encoder's real height in pixels.
    pub height: u32,
    /// Encoded video frames.
    pub frames: u64,
    /// The encoder's width × height summed over every encoded frame: the billed pixels.
    pub pixels: u64,
    /// The MPEG-TS bytes (video + copied audio).
    pub data: Vec<u8>,
    /// Whether the first encoded video packet is a keyframe.
    pub first_is_keyframe: bool,
}

/// A session's long-lived transcoder. `Send`: one per thread.
pub struct Session {
    backend: Backend,
    session: u32,
    keep_dir: Option<PathBuf>,
    source_rate: Rational,
    gpu: u32,
    cuda: Option<Arc<CudaDevice>>,
    decoder: Option<DecoderState>,
    renditions: Vec<RenditionState>,
    segments_done: u64,
    _live: LiveGuard,
}

struct DecoderState {
    decoder: ffmpeg::decoder::Video,
    codec_id: codec::Id,
}

/// Per rendition, kept across segments.
struct RenditionState {
    index: usize,
    profile: Profile,
    backend: Backend,
    graph: Option<ScaleGraph>,
    /// libx264: this segment's encoder; NVENC: the session's, kept across segments.
    encoder: Option<EncoderState>,
}

struct ScaleGraph {
    graph: filter::Graph,
    /// Input width, height and pixel format the graph was built for.
    key: (u32, u32, format::Pixel),
    spec: String,
}

struct EncoderState {
    encoder: ffmpeg::codec::encoder::video::Video,
    /// Counts this encoder among the process's open NVENC sessions.
    _nvenc_guard: Option<NvencSessionGuard>,
}

/// What a rendition thread needs to know about the segment.
struct SegmentContext {
    segment: u32,
    segment_number: u64,
    session: u32,
    duration_seconds: f64,
    video_time_base: Rational,
    source_rate: Rational,
    audio: Option<(codec::Parameters, Rational)>,
    keep_dir: Option<PathBuf>,
    /// GPU id (GPU backends).
    gpu: u32,
    x264_threads: usize,
}

/// The CPU scaler for a rendition: bicubic (the ffmpeg CLI's default), then 8-bit 4:2:0.
pub fn cpu_filter_spec(width: u32, height: u32) -> String {
    format!("scale=w={width}:h={height}:flags=bicubic,format=yuv420p")
}

/// The filter chain of a rendition on `backend`, scaling to `width`x`height` (the size from
/// [`size::output_size`]).
pub fn filter_spec(backend: Backend, width: u32, height: u32) -> String {
    match backend {
        Backend::Cpu => cpu_filter_spec(width, height),
        Backend::Nvidia | Backend::Hybrid => nvidia::gpu_filter_spec(backend, width, height),
    }
}

/// `fps` as a rational (29.97 → 30000/1001).
pub fn rate_from_f64(fps: f64) -> Option<Rational> {
    if !(fps.is_finite() && fps > 0.0) {
        return None;
    }
    let whole = fps.round();
    if (fps - whole).abs() < 1e-3 {
        return Some(Rational::new(whole as i32, 1));
    }
    let ntsc = (fps * 1.001).round();
    if (fps - ntsc / 1.001).abs() < 1e-3 {
        return Some(Rational::new((ntsc * 1000.0) as i32, 1001));
    }
    Some(Rational::new((fps * 1000.0).round() as i32, 1000))
}

fn rational_f64(r: Rational) -> f64 {
    if r.denominator() == 0 {
        0.0
    } else {
        f64::from(r.numerator()) / f64::from(r.denominator())
    }
}

/// Frames a rendition of `duration_seconds` has at `rate` frames per second.
pub fn frames_at_rate(duration_seconds: f64, rate_fps: f64) -> u64 {
    let n = (duration_seconds * rate_fps).round();
    if n.is_finite() && n > 0.0 {
        n as u64
    } else {
        0
    }
}

impl Session {
    /// Opens a session's transcoder: checks the ladder against the backend and opens the GPU.
    pub fn new(cfg: SessionConfig, source: &SourceInfo) -> Result<Session, TranscodeError> {
        crate::ingest::init_ffmpeg();
        if cfg.ladder.is_empty() {
            return Err(TranscodeError::EmptyLadder);
        }
        ladder::check_supported(&cfg.ladder, cfg.backend.encoder_family())?;
        if cfg.backend != Backend::Nvidia && ffmpeg::encoder::find_by_name("libx264").is_none() {
            return Err(TranscodeError::MissingEncoder {
                segment: 0,
                rendition: cfg.ladder[0].name.clone(),
                encoder: "libx264".to_string(),
            });
        }
        let cuda = if cfg.backend.uses_gpu() {
            let id = cfg.gpu.unwrap_or(0);
            let device = CudaDevice::open(id).map_err(|e| {
                if nvidia::nvml_driver_present() {
                    nvidia::classify_hwdevice_error(&e.to_string())
                } else {
                    GpuError::NoDriver {
                        detail: "cannot load libcuda.so.1".to_string(),
                    }
                }
            })?;
            Some(Arc::new(device))
        } else {
            None
        };
        let source_rate = if source.fps_num > 0 && source.fps_den > 0 {
            Rational::new(source.fps_num as i32, source.fps_den as i32)
        } else {
            rate_from_f64(source.fps).unwrap_or(Rational::new(25, 1))
        };
        let renditions = cfg
            .ladder
            .iter()
            .enumerate()
            .map(|(index, profile)| RenditionState {
                index,
                profile: profile.clone(),
                backend: cfg.backend,
                graph: None,
                encoder: None,
            })
            .collect();
        Ok(Session {
            backend: cfg.backend,
            session: cfg.session,
            keep_dir: cfg.keep_renditions_dir,
            source_rate,
            gpu: cfg.gpu.unwrap_or(0),
            cuda,
            decoder: None,
            renditions,
            segments_done: 0,
            _live: LiveGuard::new(),
        })
    }

    /// Transcodes one segment into every rendition of the ladder.
    pub fn transcode_segment(&mut self, seg: &Segment) -> Result<SegmentOutput, TranscodeError> {
        let path = seg.path.display().to_string();
        let mut input = format::input(&seg.path).map_err(|source| TranscodeError::OpenSegment {
            segment: seg.index,
            path: path.clone(),
            source,
        })?;
        let (video_index, video_tb, video_params, stream_rate) = {
            let s = input.streams().best(media::Type::Video).ok_or_else(|| {
                TranscodeError::NoVideo {
                    segment: seg.index,
                    path: path.clone(),
                }
            })?;
            (s.index(), s.time_base(), s.parameters(), s.avg_frame_rate())
        };
        let audio_stream = input
            .streams()
            .best(media::Type::Audio)
            .map(|s| (s.index(), s.time_base(), s.parameters()));
        self.ensure_decoder(seg.index, video_params, video_tb)?;

        let mut video_packets = Vec::new();
        let mut audio_packets = Vec::new();
        for (stream, packet) in input.packets() {
            if stream.index() == video_index {
                video_packets.push(packet);
            } else if audio_stream.as_ref().is_some_and(|a| a.0 == stream.index()) {
                audio_packets.push(packet);
            }
        }
        drop(input);

        let source_rate = if stream_rate.numerator() > 0 && stream_rate.denominator() > 0 {
            stream_rate
        } else {
            self.source_rate
        };
        let live = LIVE_SESSIONS.load(Ordering::SeqCst).max(1);
        let session_cores = cpu::session_cores(live);
        let profiles: Vec<Profile> = self.renditions.iter().map(|r| r.profile.clone()).collect();
        let threads = cpu::x264_threads(&profiles, session_cores);
        let audio_info = audio_stream.as_ref().map(|a| (a.2.clone(), a.1));

        let Session {
            decoder,
            renditions,
            ..
        } = self;
        let Some(dec) = decoder.as_mut() else {
            return Err(TranscodeError::Decoder {
                segment: seg.index,
                codec: "video".to_string(),
                reason: "decoder not open".to_string(),
            });
        };
        let (results, decoded_frames, decode_errors, damaged_frames) =
            std::thread::scope(|scope| {
                let mut senders = Vec::with_capacity(renditions.len());
                let mut handles = Vec::with_capacity(renditions.len());
                for (r, &x264_threads) in renditions.iter_mut().zip(&threads) {
                    // Bounded: memory stays flat, and NVDEC's surface pool is not exhausted.
                    let (tx, rx) = mpsc::sync_channel::<Arc<frame::Video>>(4);
                    let ctx = SegmentContext {
                        segment: seg.index,
                        segment_number: self.segments_done,
                        session: self.session,
                        duration_seconds: seg.duration_seconds,
                        video_time_base: video_tb,
                        source_rate,
                        audio: audio_info.clone(),
                        keep_dir: self.keep_dir.clone(),
                        gpu: self.gpu,
                        x264_threads,
                    };
                    let audio: Vec<Packet> = audio_packets.clone();
                    let name = r.profile.name.clone();
                    handles.push((name, scope.spawn(move || r.encode_segment(rx, &ctx, audio))));
                    senders.push(tx);
                }
                let (decoded, errors, damaged) =
                    decode_segment(&mut dec.decoder, &video_packets, |f| {
                        let f = Arc::new(f);
                        for tx in &senders {
                            // A rendition that failed has dropped its receiver; its error is reported below.
                            let _ = tx.send(Arc::clone(&f));
                        }
                    });
                drop(senders);
                let results: Vec<Result<RenditionOutput, TranscodeError>> = handles
                    .into_iter()
                    .map(|(name, h)| {
                        h.join().unwrap_or(Err(TranscodeError::Worker {
                            segment: seg.index,
                            rendition: name,
                        }))
                    })
                    .collect();
                (results, decoded, errors, damaged)
            });
        self.segments_done += 1;
        if self.cuda.is_none() {
            // lpms frees a software decoder after every segment; the next one opens a fresh one.
            self.decoder = None;
        }
        // Frames the broadcaster sent (ingest's count) that never came out of the decoder are
        // damage too: a frame whose slices are destroyed is dropped, not flagged.
        let lost_frames = seg.video_frames.saturating_sub(decoded_frames);
        let decode_errors = decode_errors + lost_frames;
        // Nothing decoded, or nothing decoded without damage: the segment is lost.
        if decoded_frames == damaged_frames {
            return Err(TranscodeError::Undecodable {
                segment: seg.index,
                packets: video_packets.len() as u64,
                errors: decode_errors,
            });
        }
        let mut out = SegmentOutput {
            renditions: Vec::with_capacity(results.len()),
            decoded_frames,
            decode_errors,
        };
        for r in results {
            out.renditions.push(r?);
        }
        Ok(out)
    }

    fn ensure_decoder(
        &mut self,
        segment: u32,
        params: codec::Parameters,
        tb: Rational,
    ) -> Result<(), TranscodeError> {
        let id = params.id();
        if self.decoder.as_ref().is_some_and(|d| d.codec_id == id) {
            return Ok(());
        }
        let derr = |reason: String| TranscodeError::Decoder {
            segment,
            codec: format!("{id:?}"),
            reason,
        };
        let mut ctx =
            codec::context::Context::from_parameters(params).map_err(|e| derr(e.to_string()))?;
        match &self.cuda {
            Some(device) => {
                hw::attach_cuda_decoder(&mut ctx, device).map_err(|e| derr(e.to_string()))?;
                ctx.set_threading(codec::threading::Config {
                    count: 1,
                    ..Default::default()
                });
            }
            None => ctx.set_threading(codec::threading::Config {
                kind: codec::threading::Type::Frame,
                count: 0,
                ..Default::default()
            }),
        }
        let mut d = ctx.decoder();
        d.set_packet_time_base(tb);
        let decoder = d.video().map_err(|e| derr(e.to_string()))?;
        self.decoder = Some(DecoderState {
            decoder,
            codec_id: id,
        });
        Ok(())
    }

    /// The backend this session runs.
    pub fn backend(&self) -> Backend {
        self.backend
    }
}

/// Decodes every packet, handing each frame to `deliver`; drains the decoder at the end and
/// resets it for the next segment. Returns (frames decoded, decode errors: packets rejected and
/// frames decoded with concealed damage, of which damaged frames).
fn decode_segment(
    decoder: &mut ffmpeg::decoder::Video,
    packets: &[Packet],
    mut deliver: impl FnMut(frame::Video),
) -> (u64, u64, u64) {
    let mut decoded = 0u64;
    let mut errors = 0u64;
    let mut damaged = 0u64;
    let mut drain = |decoder: &mut ffmpeg::decoder::Video,
                     decoded: &mut u64,
                     errors: &mut u64,
                     damaged: &mut u64| loop {
        let mut f = frame::Video::empty();
        match decoder.receive_frame(&mut f) {
            Ok(()) => {
                let ts = f.timestamp().or(f.pts());
                f.set_pts(ts);
                if hw::frame_is_damaged(&f) {
                    // Decoded with concealed damage: delivered, and counted.
                    *errors += 1;
                    *damaged += 1;
                }
                *decoded += 1;
                deliver(f);
            }
            Err(ffmpeg::Error::Eof) => break,
            Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => break,
            Err(_) => {
                *errors += 1;
                break;
            }
        }
    };
    for p in packets {
        if decoder.send_packet(p).is_err() {
            errors += 1;
            continue;
        }
        drain(decoder, &mut decoded, &mut errors, &mut damaged);
    }
    if decoder.send_eof().is_ok() {
        drain(decoder, &mut decoded, &mut errors, &mut damaged);
    }
    decoder.flush();
    (decoded, errors, damaged)
}

/// An encoder open for the current segment, with its muxer.
struct ActiveEncode {
    encoder_name: &'static str,
    /// The encoder's frame size.
    width: u32,
    height: u32,
    time_base: Rational,
    muxer: MemoryOutput,
    video_stream: usize,
    video_tb: Rational,
    frames: u64,
    first_is_keyframe: Option<bool>,
    /// Frames sent / packets received this segment (for the NVENC drain).
    sent: u64,
    first_sentinel_pts: Option<i64>,
}

/// Which output frames are forced to I-frames: the first of each segment, and (lpms' `gop_time`,
/// for a GOP in seconds at the source's rate) every frame whose source timestamp is at least one
/// GOP past the last forced one.
struct KeyframeClock {
    /// The GOP in the source's time base; None = the encoder's `g` decides.
    interval_pts: Option<i64>,
    next_pts: Option<i64>,
}

impl KeyframeClock {
    fn new(interval_ms: Option<u64>, time_base: Rational) -> Self {
        let interval_pts = interval_ms.map(|ms| {
            let ms = i64::try_from(ms).unwrap_or(i64::MAX);
            // av_rescale_q(ms, 1/1000, tb), rounded to nearest.
            let (num, den) = (
                i128::from(time_base.numerator().max(1)),
                i128::from(time_base.denominator().max(1)),
            );
            let v = (i128::from(ms) * den + 500 * num) / (1000 * num);
            i64::try_from(v).unwrap_or(i64::MAX).max(1)
        });
        Self {
            interval_pts,
            next_pts: None,
        }
    }

    /// Whether output slot `j`, showing the source frame at `source_pts`, is forced to an I-frame.
    fn is_key(&mut self, j: u64, source_pts: i64) -> bool {
        let key = j == 0
            || match (self.interval_pts, self.next_pts) {
                (Some(_), Some(next)) => source_pts >= next,
                _ => false,
            };
        if key {
            if let Some(len) = self.interval_pts {
                self.next_pts = Some(source_pts.saturating_add(len));
            }
        }
        key
    }
}

impl RenditionState {
    fn err_filter(
        &self,
        ctx: &SegmentContext,
        spec: &str,
        reason: impl std::fmt::Display,
    ) -> TranscodeError {
        TranscodeError::Filter {
            segment: ctx.segment,
            rendition: self.profile.name.clone(),
            spec: spec.to_string(),
            reason: reason.to_string(),
        }
    }

    fn err_encoder(
        &self,
        ctx: &SegmentContext,
        encoder: &str,
        reason: impl std::fmt::Display,
    ) -> TranscodeError {
        TranscodeError::Encoder {
            segment: ctx.segment,
            rendition: self.profile.name.clone(),
            encoder: encoder.to_string(),
            reason: reason.to_string(),
        }
    }

    fn err_mux(&self, ctx: &SegmentContext, reason: impl std::fmt::Display) -> TranscodeError {
        TranscodeError::Mux {
            segment: ctx.segment,
            rendition: self.profile.name.clone(),
            reason: reason.to_string(),
        }
    }

    /// Builds the scaler graph for frames shaped like `f` (or keeps this segment's one), scaling
    /// to lpms' size for `f`.
    fn ensure_graph(
        &mut self,
        f: &frame::Video,
        ctx: &SegmentContext,
    ) -> Result<(), TranscodeError> {
        let key = (f.width(), f.height(), f.format());
        if self.graph.as_ref().is_some_and(|g| g.key == key) {
            return Ok(());
        }
        let (width, height) = size::output_size(
            f.width(),
            f.height(),
            self.profile.width,
            self.profile.height,
            self.profile.encoder,
        );
        let spec = filter_spec(self.backend, width, height);
        let graph = build_graph(f, ctx.video_time_base, &spec, self.backend.uses_gpu())
            .map_err(|e| self.err_filter(ctx, &spec, e))?;
        self.graph = Some(ScaleGraph { graph, key, spec });
        Ok(())
    }

    fn encode_segment(
        &mut self,
        rx: mpsc::Receiver<Arc<frame::Video>>,
        ctx: &SegmentContext,
        audio: Vec<Packet>,
    ) -> Result<RenditionOutput, TranscodeError> {
        let out_rate = if self.profile.fps > 0 {
            Rational::new(self.profile.fps as i32, self.profile.fps_den.max(1) as i32)
        } else {
            ctx.source_rate
        };
        let rate_fps = rational_f64(out_rate);
        let mode = if self.profile.fps > 0 {
            RateMode::Convert {
                rate_fps,
                total: frames_at_rate(ctx.duration_seconds, rate_fps),
            }
        } else {
            RateMode::Passthrough
        };
        let mut planner = FpsPlanner::new(mode);
        let mut held: Option<frame::Video> = None;
        let mut base_pts: Option<i64> = None;
        let mut active: Option<ActiveEncode> = None;
        let mut audio = Some(audio);
        let in_tb = rational_f64(ctx.video_time_base);
        let settings = options::encoder_settings(
            &self.profile,
            self.backend.encoder_family(),
            ctx.x264_threads,
        );
        let mut keys = KeyframeClock::new(settings.keyframe_interval_ms, ctx.video_time_base);
        // lpms frees every filter graph after a segment: this segment builds its own.
        self.graph = None;

        for f in rx {
            self.ensure_graph(&f, ctx)?;
            let Some(g) = self.graph.as_mut() else {
                continue;
            };
            let spec = g.spec.clone();
            {
                let mut src = g
                    .graph
                    .get("in")
                    .ok_or_else(|| self.err_filter(ctx, &spec, "no buffer source"))?;
                hw::buffersrc_add_ref(&mut src, &f).map_err(|e| self.err_filter(ctx, &spec, e))?;
            }
            loop {
                let mut scaled = frame::Video::empty();
                let got = match self.graph.as_mut().and_then(|g| g.graph.get("out")) {
                    Some(mut sink) => sink.sink().frame(&mut scaled).is_ok(),
                    None => false,
                };
                if !got {
                    break;
                }
                let pts_seconds = scaled.pts().map_or(0.0, |p| p as f64 * in_tb);
                let slots = planner.push(pts_seconds);
                if let Some(h) = held.as_mut() {
                    let source_pts = h.pts().unwrap_or(0);
                    for j in slots {
                        let key = keys.is_key(j, source_pts);
                        self.emit(
                            h,
                            j,
                            key,
                            &mut base_pts,
                            &planner,
                            out_rate,
                            &mut active,
                            &mut audio,
                            &settings,
                            ctx,
                        )?;
                    }
                }
                held = Some(scaled);
            }
        }
        let slots = planner.finish();
        if let Some(h) = held.as_mut() {
            let source_pts = h.pts().unwrap_or(0);
            for j in slots {
                let key = keys.is_key(j, source_pts);
                self.emit(
                    h,
                    j,
                    key,
                    &mut base_pts,
                    &planner,
                    out_rate,
                    &mut active,
                    &mut audio,
                    &settings,
                    ctx,
                )?;
            }
        }
        let Some(mut a) = active else {
            return Err(self.err_encoder(
                ctx,
                "video encoder",
                "no frame reached the encoder in this segment",
            ));
        };
        self.drain(&mut a, held.as_mut(), ctx)?;
        a.muxer
            .output()
            .write_trailer()
            .map_err(|e| self.err_mux(ctx, e))?;
        let frames = a.frames;
        let (width, height) = (a.width, a.height);
        let first_is_keyframe = a.first_is_keyframe.unwrap_or(false);
        let data = a.muxer.finish();
        if let Some(dir) = &ctx.keep_dir {
            let path = dir.join(format!(
                "{}_{}_{}.ts",
                self.profile.name, ctx.session, ctx.segment_number
            ));
            std::fs::write(&path, &data).map_err(|source| TranscodeError::WriteRendition {
                segment: ctx.segment,
                rendition: self.profile.name.clone(),
                path: path.display().to_string(),
                source,
            })?;
        }
        Ok(RenditionOutput {
            profile_index: self.index,
            name: self.profile.name.clone(),
            width,
            height,
            frames,
            pixels: frames * u64::from(width) * u64::from(height),
            data,
            first_is_keyframe,
        })
    }

    /// Sends the held frame to the encoder as output slot `j` (forced to an I-frame when `key`).
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        h: &mut frame::Video,
        j: u64,
        key: bool,
        base_pts: &mut Option<i64>,
        planner: &FpsPlanner,
        out_rate: Rational,
        active: &mut Option<ActiveEncode>,
        audio: &mut Option<Vec<Packet>>,
        settings: &options::EncoderSettings,
        ctx: &SegmentContext,
    ) -> Result<(), TranscodeError> {
        let base = *base_pts.get_or_insert_with(|| {
            let start = planner.start_seconds().unwrap_or(0.0);
            (start * rational_f64(out_rate)).round() as i64
        });
        if active.is_none() {
            *active = Some(self.open_encode(
                h,
                out_rate,
                settings,
                ctx,
                audio.take().unwrap_or_default(),
            )?);
        }
        let Some(a) = active.as_mut() else {
            return Ok(());
        };
        h.set_pts(Some(base + j as i64));
        h.set_kind(if key {
            ffmpeg::picture::Type::I
        } else {
            ffmpeg::picture::Type::None
        });
        let name = a.encoder_name;
        let encoder = self.encoder_mut(ctx)?;
        encoder
            .send_frame(h)
            .map_err(|e| self.err_encoder(ctx, name, e))?;
        a.sent += 1;
        self.receive_packets(a, ctx)
    }

    fn encoder_mut(
        &mut self,
        ctx: &SegmentContext,
    ) -> Result<&mut ffmpeg::codec::encoder::video::Video, TranscodeError> {
        let name = self.profile.name.clone();
        match self.encoder.as_mut() {
            Some(n) => Ok(&mut n.encoder),
            None => Err(TranscodeError::Encoder {
                segment: ctx.segment,
                rendition: name,
                encoder: "video encoder".to_string(),
                reason: "not open".to_string(),
            }),
        }
    }

    fn receive_packets(
        &mut self,
        a: &mut ActiveEncode,
        ctx: &SegmentContext,
    ) -> Result<(), TranscodeError> {
        loop {
            let mut pkt = Packet::empty();
            let encoder = self.encoder_mut(ctx)?;
            if encoder.receive_packet(&mut pkt).is_err() {
                return Ok(());
            }
            if let (Some(s), Some(pts)) = (a.first_sentinel_pts, pkt.pts()) {
                if pts >= s {
                    continue; // an NVENC drain frame: not part of the segment
                }
            }
            a.frames += 1;
            if a.first_is_keyframe.is_none() {
                a.first_is_keyframe = Some(pkt.is_key());
            }
            pkt.set_stream(a.video_stream);
            pkt.rescale_ts(a.time_base, a.video_tb);
            pkt.set_position(-1);
            pkt.write_interleaved(a.muxer.output())
                .map_err(|e| self.err_mux(ctx, e))?;
        }
    }

    /// Opens the encoder for this segment (libx264: a fresh one; NVENC: the session's) and the
    /// in-memory muxer, and queues the segment's audio.
    fn open_encode(
        &mut self,
        first: &frame::Video,
        out_rate: Rational,
        settings: &options::EncoderSettings,
        ctx: &SegmentContext,
        audio: Vec<Packet>,
    ) -> Result<ActiveEncode, TranscodeError> {
        let time_base = out_rate.invert();
        let nvenc = self.backend == Backend::Nvidia;
        let encoder_name = settings.encoder;
        if !nvenc || self.encoder.is_none() {
            let codec = ffmpeg::encoder::find_by_name(encoder_name).ok_or_else(|| {
                TranscodeError::MissingEncoder {
                    segment: ctx.segment,
                    rendition: self.profile.name.clone(),
                    encoder: encoder_name.to_string(),
                }
            })?;
            let mut enc = codec::context::Context::new_with_codec(codec)
                .encoder()
                .video()
                .map_err(|e| self.err_encoder(ctx, encoder_name, e))?;
            // The scaler's real output size (lpms' size), which is what gets billed.
            enc.set_width(first.width());
            enc.set_height(first.height());
            enc.set_format(first.format());
            enc.set_time_base(time_base);
            enc.set_frame_rate(Some(out_rate));
            enc.set_aspect_ratio(first.aspect_ratio());
            enc.set_colorspace(first.color_space());
            enc.set_color_range(first.color_range());
            if nvenc {
                let spec = self
                    .graph
                    .as_ref()
                    .map(|g| g.spec.clone())
                    .unwrap_or_default();
                let mut sink = self
                    .graph
                    .as_mut()
                    .and_then(|g| g.graph.get("out"))
                    .ok_or_else(|| self.err_filter(ctx, &spec, "no buffer sink"))?;
                hw::encoder_set_hw_frames_from_sink(&mut enc, &mut sink)
                    .map_err(|e| self.err_encoder(ctx, encoder_name, e))?;
            }
            let mut dict = Dictionary::new();
            for (k, v) in &settings.options {
                dict.set(k, v);
            }
            let guard = nvenc.then(NvencSessionGuard::acquire);
            let opened = enc.open_with(dict).map_err(|e| {
                if nvenc {
                    let open = nvidia::nvenc_sessions_open().saturating_sub(1);
                    TranscodeError::Gpu(nvidia::classify_nvenc_open_error(
                        &e.to_string(),
                        open,
                        ctx.gpu,
                    ))
                } else {
                    self.err_encoder(ctx, encoder_name, e)
                }
            })?;
            // The opened encoder wraps the same context; keep its `Video` handle.
            self.encoder = Some(EncoderState {
                encoder: opened.0,
                _nvenc_guard: guard,
            });
        }
        let mut muxer = MemoryOutput::new("mpegts").map_err(|e| self.err_mux(ctx, e))?;
        let params = codec::Parameters::from(&*self.encoder_mut(ctx)?);
        let video_stream = {
            let mut ost = muxer
                .output()
                .add_stream(ffmpeg::encoder::find(codec::Id::None))
                .map_err(|e| self.err_mux(ctx, e))?;
            ost.set_parameters(params);
            ost.set_time_base(time_base);
            ost.index()
        };
        let audio_stream = match &ctx.audio {
            Some((params, _)) => {
                let mut ost = muxer
                    .output()
                    .add_stream(ffmpeg::encoder::find(codec::Id::None))
                    .map_err(|e| self.err_mux(ctx, e))?;
                ost.set_parameters(params.clone());
                Some(ost.index())
            }
            None => None,
        };
        muxer
            .output()
            .write_header()
            .map_err(|e| self.err_mux(ctx, e))?;
        let video_tb = muxer
            .output()
            .stream(video_stream)
            .map_or(Rational::new(1, 90_000), |s| s.time_base());
        if let (Some(ai), Some((_, in_tb))) = (audio_stream, &ctx.audio) {
            let out_tb = muxer
                .output()
                .stream(ai)
                .map_or(Rational::new(1, 90_000), |s| s.time_base());
            for mut p in audio {
                p.set_stream(ai);
                p.rescale_ts(*in_tb, out_tb);
                p.set_position(-1);
                p.write_interleaved(muxer.output())
                    .map_err(|e| self.err_mux(ctx, e))?;
            }
        }
        Ok(ActiveEncode {
            encoder_name,
            width: first.width(),
            height: first.height(),
            time_base,
            muxer,
            video_stream,
            video_tb,
            frames: 0,
            first_is_keyframe: None,
            sent: 0,
            first_sentinel_pts: None,
        })
    }

    /// Gets every packet of this segment out of the encoder. libx264: end of stream (the encoder
    /// is reopened next segment). NVENC: resend the last frame with sentinel timestamps until all
    /// real frames are out, then `avcodec_flush_buffers` (a NULL frame would end the session).
    fn drain(
        &mut self,
        a: &mut ActiveEncode,
        last: Option<&mut frame::Video>,
        ctx: &SegmentContext,
    ) -> Result<(), TranscodeError> {
        let name = a.encoder_name;
        if self.backend != Backend::Nvidia {
            let encoder = self.encoder_mut(ctx)?;
            encoder
                .send_eof()
                .map_err(|e| self.err_encoder(ctx, name, e))?;
            self.receive_packets(a, ctx)?;
            self.encoder = None;
            return Ok(());
        }
        let Some(last) = last else { return Ok(()) };
        let sentinel = last.pts().unwrap_or(0) + 1_000_000;
        a.first_sentinel_pts = Some(sentinel);
        let mut k = 0;
        while a.frames < a.sent && k < 256 {
            last.set_pts(Some(sentinel + k));
            last.set_kind(ffmpeg::picture::Type::None);
            let encoder = self.encoder_mut(ctx)?;
            encoder
                .send_frame(last)
                .map_err(|e| self.err_encoder(ctx, name, e))?;
            self.receive_packets(a, ctx)?;
            k += 1;
        }
        if a.frames < a.sent {
            return Err(self.err_encoder(
                ctx,
                name,
                format!(
                    "{} of {} frames never left NVENC",
                    a.sent - a.frames,
                    a.sent
                ),
            ));
        }
        let encoder = self.encoder_mut(ctx)?;
        hw::flush_codec(encoder);
        Ok(())
    }
}

/// Builds `buffer → <spec> → buffersink` for frames shaped like `f`.
fn build_graph(
    f: &frame::Video,
    tb: Rational,
    spec: &str,
    hw_frames: bool,
) -> Result<filter::Graph, ffmpeg::Error> {
    let mut graph = filter::Graph::new();
    let sar = f.aspect_ratio();
    let (sar_num, sar_den) = if sar.numerator() > 0 && sar.denominator() > 0 {
        (sar.numerator(), sar.denominator())
    } else {
        (1, 1)
    };
    let pix_fmt: ffmpeg::ffi::AVPixelFormat = f.format().into();
    let args = format!(
        "video_size={}x{}:pix_fmt={}:time_base={}/{}:pixel_aspect={}/{}",
        f.width(),
        f.height(),
        pix_fmt as i32,
        tb.numerator(),
        tb.denominator().max(1),
        sar_num,
        sar_den
    );
    let buffer = filter::find("buffer").ok_or(ffmpeg::Error::FilterNotFound)?;
    let sink = filter::find("buffersink").ok_or(ffmpeg::Error::FilterNotFound)?;
    let mut src = graph.add(&buffer, "in", &args)?;
    if hw_frames {
        hw::buffersrc_set_hw_frames(&mut src, f)?;
    }
    graph.add(&sink, "out", "")?;
    graph.output("in", 0)?.input("out", 0)?.parse(spec)?;
    graph.validate()?;
    Ok(graph)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<Session>();
    }

    #[test]
    fn filter_specs() {
        let cases = [
            (
                Backend::Cpu,
                426,
                240,
                "scale=w=426:h=240:flags=bicubic,format=yuv420p",
            ),
            (Backend::Nvidia, 640, 360, "scale_cuda=w=640:h=360"),
            (
                Backend::Hybrid,
                854,
                480,
                "scale_cuda=w=854:h=480,hwdownload,format=nv12",
            ),
        ];
        for (b, w, h, want) in cases {
            assert_eq!(filter_spec(b, w, h), want);
        }
    }

    #[test]
    fn rates() {
        let cases = [
            (25.0, Some((25, 1))),
            (29.97, Some((30000, 1001))),
            (59.94, Some((60000, 1001))),
            (23.976, Some((24000, 1001))),
            (12.5, Some((12500, 1000))),
            (0.0, None),
            (f64::NAN, None),
        ];
        for (fps, want) in cases {
            assert_eq!(
                rate_from_f64(fps).map(|r| (r.numerator(), r.denominator())),
                want,
                "{fps}"
            );
        }
        assert_eq!(frames_at_rate(2.0, 30.0), 60);
        assert_eq!(frames_at_rate(1.28, 25.0), 32);
        assert_eq!(frames_at_rate(-1.0, 25.0), 0);
    }
}
