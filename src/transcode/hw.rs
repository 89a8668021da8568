//! The unsafe FFmpeg FFI the transcoder needs and `ffmpeg-next` does not wrap: in-memory MPEG-TS
//! muxing and demuxing, reference-keeping buffer sources, and the CUDA hardware contexts (device,
//! decoder `get_format`, filter and encoder hw frames). Nothing else in rigbench calls
//! `ffmpeg::ffi` directly; every block says why it is sound.

use std::ffi::{c_int, c_void, CString};
use std::ptr;

use ffmpeg::ffi;
use ffmpeg_next as ffmpeg;

/// An output format context whose bytes go into memory (an FFmpeg dynamic buffer), not a file.
pub struct MemoryOutput {
    output: ffmpeg::format::context::Output,
}

impl MemoryOutput {
    /// A muxer of `format` (e.g. "mpegts") writing to memory.
    pub fn new(format: &str) -> Result<Self, ffmpeg::Error> {
        let format_name = CString::new(format).map_err(|_| ffmpeg::Error::InvalidData)?;
        let mut ctx: *mut ffi::AVFormatContext = ptr::null_mut();
        // SAFETY: `ctx` is a valid out-pointer; the format name is a NUL-terminated string that
        // outlives the call; on success FFmpeg hands us ownership of a fresh context.
        let ret = unsafe {
            ffi::avformat_alloc_output_context2(
                &mut ctx,
                ptr::null(),
                format_name.as_ptr(),
                ptr::null(),
            )
        };
        if ret < 0 || ctx.is_null() {
            return Err(ffmpeg::Error::from(if ret < 0 {
                ret
            } else {
                ffi::AVERROR(ffi::ENOMEM)
            }));
        }
        let mut pb: *mut ffi::AVIOContext = ptr::null_mut();
        // SAFETY: `pb` is a valid out-pointer; on success it is a dynamic-buffer AVIO context we own.
        let ret = unsafe { ffi::avio_open_dyn_buf(&mut pb) };
        if ret < 0 {
            // SAFETY: `ctx` came from avformat_alloc_output_context2 and has no pb yet.
            unsafe { ffi::avformat_free_context(ctx) };
            return Err(ffmpeg::Error::from(ret));
        }
        // SAFETY: `ctx` is a valid, exclusively owned context; the pb is detached again in
        // `take_bytes` before `Output`'s destructor (which would avio_close it) can run.
        let output = unsafe {
            (*ctx).pb = pb;
            ffmpeg::format::context::Output::wrap(ctx)
        };
        Ok(Self { output })
    }

    /// The muxer, to add streams and write the header, packets and trailer.
    pub fn output(&mut self) -> &mut ffmpeg::format::context::Output {
        &mut self.output
    }

    /// The bytes written so far (call after `write_trailer`); consumes the muxer.
    pub fn finish(mut self) -> Vec<u8> {
        self.take_bytes()
    }

    fn take_bytes(&mut self) -> Vec<u8> {
        let output = &mut self.output;
        // SAFETY: the context is alive; we detach its pb so that Output's destructor sees a null
        // pb (avio_close(NULL) is a no-op) and we close the dynamic buffer ourselves exactly once.
        unsafe {
            let ctx = output.as_mut_ptr();
            let pb = (*ctx).pb;
            (*ctx).pb = ptr::null_mut();
            if pb.is_null() {
                return Vec::new();
            }
            let mut buf: *mut u8 = ptr::null_mut();
            let len = ffi::avio_close_dyn_buf(pb, &mut buf);
            let bytes = if buf.is_null() || len <= 0 {
                Vec::new()
            } else {
                std::slice::from_raw_parts(buf, len as usize).to_vec()
            };
            ffi::av_free(buf as *mut c_void);
            bytes
        }
    }
}

impl Drop for MemoryOutput {
    fn drop(&mut self) {
        // Detach and free the dynamic buffer; `output` then drops with a null pb.
        drop(self.take_bytes());
    }
}

struct ReadCursor {
    data: Vec<u8>,
    pos: usize,
}

unsafe extern "C" fn read_cursor(opaque: *mut c_void, buf: *mut u8, buf_size: c_int) -> c_int {
    // SAFETY: `opaque` is the Box<ReadCursor> owned by the MemoryInput that owns this AVIO
    // context, alive for as long as FFmpeg may call us; `buf` has room for `buf_size` bytes.
    let cursor = &mut *(opaque as *mut ReadCursor);
    let left = cursor.data.len().saturating_sub(cursor.pos);
    let n = left.min(buf_size.max(0) as usize);
    if n == 0 {
        return ffi::AVERROR_EOF;
    }
    ptr::copy_nonoverlapping(cursor.data.as_ptr().add(cursor.pos), buf, n);
    cursor.pos += n;
    n as c_int
}

/// A demuxer reading bytes from memory.
pub struct MemoryInput {
    /// Dropped by hand in `Drop`, before the AVIO context it reads through.
    input: std::mem::ManuallyDrop<ffmpeg::format::context::Input>,
    avio: *mut ffi::AVIOContext,
    _cursor: Box<ReadCursor>,
}

// SAFETY: the AVIO context and cursor are owned exclusively by this value and only touched
// through `&mut self`; FFmpeg keeps no thread-local state for them.
unsafe impl Send for MemoryInput {}

impl MemoryInput {
    /// Opens `data` with the demuxer `format` (e.g. "mpegts"). With `probe`, also runs
    /// `avformat_find_stream_info`, which decodes the first frames to fill in stream details;
    /// without it the streams carry what the container header says (for MPEG-TS: the codec),
    /// which is enough to open a decoder.
    pub fn open(data: Vec<u8>, format: &str, probe: bool) -> Result<Self, ffmpeg::Error> {
        const BUF_BYTES: usize = 64 * 1024;
        let format_name = CString::new(format).map_err(|_| ffmpeg::Error::InvalidData)?;
        let mut cursor = Box::new(ReadCursor { data, pos: 0 });
        // SAFETY: av_malloc returns an FFmpeg-owned buffer handed to the AVIO context (which may
        // replace it; we free whatever it holds at drop); the opaque pointer stays valid because
        // the Box is kept in the returned value.
        unsafe {
            let buffer = ffi::av_malloc(BUF_BYTES) as *mut u8;
            if buffer.is_null() {
                return Err(ffmpeg::Error::from(ffi::AVERROR(ffi::ENOMEM)));
            }
            let avio = ffi::avio_alloc_context(
                buffer,
                BUF_BYTES as c_int,
                0,
                &mut *cursor as *mut ReadCursor as *mut c_void,
                Some(read_cursor),
                None,
                None,
            );
            if avio.is_null() {
                ffi::av_free(buffer as *mut c_void);
                return Err(ffmpeg::Error::from(ffi::AVERROR(ffi::ENOMEM)));
            }
            let free_avio = |mut avio: *mut ffi::AVIOContext| {
                ffi::av_freep(&mut (*avio).buffer as *mut *mut u8 as *mut c_void);
                ffi::avio_context_free(&mut avio);
            };
            let mut ctx = ffi::avformat_alloc_context();
            if ctx.is_null() {
                free_avio(avio);
                return Err(ffmpeg::Error::from(ffi::AVERROR(ffi::ENOMEM)));
            }
            (*ctx).pb = avio;
            (*ctx).flags |= ffi::AVFMT_FLAG_CUSTOM_IO;
            let ifmt = ffi::av_find_input_format(format_name.as_ptr());
            // On failure avformat_open_input frees ctx (not our custom pb).
            let ret = ffi::avformat_open_input(&mut ctx, ptr::null(), ifmt, ptr::null_mut());
            if ret < 0 {
                free_avio(avio);
                return Err(ffmpeg::Error::from(ret));
            }
            let input = ffmpeg::format::context::Input::wrap(ctx);
            let me = Self {
                input: std::mem::ManuallyDrop::new(input),
                avio,
                _cursor: cursor,
            };
            if probe {
                let ret = ffi::avformat_find_stream_info(ctx, ptr::null_mut());
                if ret < 0 {
                    return Err(ffmpeg::Error::from(ret));
                }
            }
            Ok(me)
        }
    }

    /// The demuxer.
    pub fn input(&mut self) -> &mut ffmpeg::format::context::Input {
        &mut self.input
    }
}

impl Drop for MemoryInput {
    fn drop(&mut self) {
        // SAFETY: `input` is dropped exactly once, here, before the AVIO context it reads
        // through; avformat_close_input leaves a custom pb alone (AVFMT_FLAG_CUSTOM_IO).
        unsafe { std::mem::ManuallyDrop::drop(&mut self.input) };
        // SAFETY: `avio` was allocated by avio_alloc_context and is no longer referenced by any
        // format context; its buffer may have been reallocated by FFmpeg, so free the current one.
        unsafe {
            if !self.avio.is_null() {
                ffi::av_freep(&mut (*self.avio).buffer as *mut *mut u8 as *mut c_void);
                ffi::avio_context_free(&mut self.avio);
            }
        }
    }
}

/// Adds a new reference to `frame` to a buffer source, leaving `frame` untouched, so the same
/// decoded frame can feed several renditions (threads) at once.
pub fn buffersrc_add_ref(
    src: &mut ffmpeg::filter::Context,
    frame: &ffmpeg::frame::Video,
) -> Result<(), ffmpeg::Error> {
    // SAFETY: av_buffersrc_write_frame only reads `frame` (it takes a new reference: atomic
    // refcount increments), so sharing the frame read-only across threads is sound.
    let ret = unsafe { ffi::av_buffersrc_write_frame(src.as_mut_ptr(), frame.as_ptr()) };
    if ret < 0 {
        Err(ffmpeg::Error::from(ret))
    } else {
        Ok(())
    }
}

/// A new frame referencing `frame`'s buffers (no pixel copy), whose properties (timestamps) can
/// be changed without touching `frame`.
pub fn frame_ref(frame: &ffmpeg::frame::Video) -> ffmpeg::frame::Video {
    // SAFETY: av_frame_clone allocates a new AVFrame holding new references to the same
    // refcounted buffers (it only reads `frame`); `Video::wrap` takes ownership of that AVFrame
    // and frees it on drop.
    unsafe {
        let p = ffi::av_frame_clone(frame.as_ptr());
        if p.is_null() {
            return frame.clone();
        }
        ffmpeg::frame::Video::wrap(p)
    }
}

/// A CUDA device context (`av_hwdevice_ctx_create(AV_HWDEVICE_TYPE_CUDA, "<id>")`).
pub struct CudaDevice {
    buf: *mut ffi::AVBufferRef,
}

// SAFETY: an AVBufferRef to a hw device context is reference-counted with atomics, and FFmpeg's
// CUDA hwcontext pushes/pops the CUDA context around each use, so it may move between threads.
unsafe impl Send for CudaDevice {}
unsafe impl Sync for CudaDevice {}

impl CudaDevice {
    /// Opens GPU `device` through FFmpeg's CUDA hwcontext (which loads libcuda at run time).
    pub fn open(device: u32) -> Result<Self, ffmpeg::Error> {
        let id = CString::new(device.to_string()).map_err(|_| ffmpeg::Error::InvalidData)?;
        let mut buf: *mut ffi::AVBufferRef = ptr::null_mut();
        // SAFETY: valid out-pointer and NUL-terminated device string; on success we own `buf`.
        let ret = unsafe {
            ffi::av_hwdevice_ctx_create(
                &mut buf,
                ffi::AVHWDeviceType::AV_HWDEVICE_TYPE_CUDA,
                id.as_ptr(),
                ptr::null_mut(),
                0,
            )
        };
        if ret < 0 || buf.is_null() {
            return Err(ffmpeg::Error::from(if ret < 0 {
                ret
            } else {
                ffi::AVERROR_UNKNOWN
            }));
        }
        Ok(Self { buf })
    }
}

impl Drop for CudaDevice {
    fn drop(&mut self) {
        // SAFETY: we own one reference; av_buffer_unref drops it and nulls the pointer.
        unsafe { ffi::av_buffer_unref(&mut self.buf) };
    }
}

unsafe extern "C" fn get_cuda_format(
    _ctx: *mut ffi::AVCodecContext,
    formats: *const ffi::AVPixelFormat,
) -> ffi::AVPixelFormat {
    // SAFETY: FFmpeg passes a list terminated by AV_PIX_FMT_NONE.
    let mut p = formats;
    while !p.is_null() && *p != ffi::AVPixelFormat::AV_PIX_FMT_NONE {
        if *p == ffi::AVPixelFormat::AV_PIX_FMT_CUDA {
            return *p;
        }
        p = p.add(1);
    }
    // No CUDA surface for this stream: refuse rather than silently decode on the CPU.
    ffi::AVPixelFormat::AV_PIX_FMT_NONE
}

/// Makes a (not yet opened) decoder decode on the GPU: hw_device_ctx + get_format → CUDA frames.
pub fn attach_cuda_decoder(
    ctx: &mut ffmpeg::codec::Context,
    device: &CudaDevice,
) -> Result<(), ffmpeg::Error> {
    // SAFETY: the codec context is not opened yet and exclusively borrowed; it takes its own
    // reference to the device buffer, released by avcodec_free_context.
    unsafe {
        let c = ctx.as_mut_ptr();
        let r = ffi::av_buffer_ref(device.buf);
        if r.is_null() {
            return Err(ffmpeg::Error::from(ffi::AVERROR(ffi::ENOMEM)));
        }
        (*c).hw_device_ctx = r;
        (*c).get_format = Some(get_cuda_format);
        // Decoded surfaces are held by up to one queue and graph per rendition at once.
        (*c).extra_hw_frames = 24;
    }
    Ok(())
}

/// Gives a buffer source the hw frames context of the CUDA frames it will receive (must be
/// called before the graph is configured).
pub fn buffersrc_set_hw_frames(
    src: &mut ffmpeg::filter::Context,
    frame: &ffmpeg::frame::Video,
) -> Result<(), ffmpeg::Error> {
    // SAFETY: parameters are allocated, filled with a borrowed hw_frames_ctx pointer (buffersrc
    // takes its own reference inside av_buffersrc_parameters_set), then freed with av_free.
    unsafe {
        let frames = (*frame.as_ptr()).hw_frames_ctx;
        if frames.is_null() {
            return Err(ffmpeg::Error::InvalidData);
        }
        let par = ffi::av_buffersrc_parameters_alloc();
        if par.is_null() {
            return Err(ffmpeg::Error::from(ffi::AVERROR(ffi::ENOMEM)));
        }
        (*par).hw_frames_ctx = frames;
        let ret = ffi::av_buffersrc_parameters_set(src.as_mut_ptr(), par);
        ffi::av_free(par as *mut c_void);
        if ret < 0 {
            return Err(ffmpeg::Error::from(ret));
        }
    }
    Ok(())
}

/// Gives a (not yet opened) NVENC encoder the hw frames context of the buffer sink that feeds
/// it, so frames stay on the GPU.
pub fn encoder_set_hw_frames_from_sink(
    enc: &mut ffmpeg::codec::Context,
    sink: &mut ffmpeg::filter::Context,
) -> Result<(), ffmpeg::Error> {
    // SAFETY: the sink is configured (its hw frames ctx exists); the encoder context takes its
    // own reference, released by avcodec_free_context.
    unsafe {
        let frames = ffi::av_buffersink_get_hw_frames_ctx(sink.as_ptr());
        if frames.is_null() {
            return Err(ffmpeg::Error::InvalidData);
        }
        let r = ffi::av_buffer_ref(frames);
        if r.is_null() {
            return Err(ffmpeg::Error::from(ffi::AVERROR(ffi::ENOMEM)));
        }
        (*enc.as_mut_ptr()).hw_frames_ctx = r;
    }
    Ok(())
}

/// Empties an encoder's queue without ending it (NVENC supports this; `avcodec_flush_buffers`).
pub fn flush_codec(ctx: &mut ffmpeg::codec::Context) {
    // SAFETY: the context is opened and exclusively borrowed.
    unsafe { ffi::avcodec_flush_buffers(ctx.as_mut_ptr()) };
}

/// Whether the decoder flagged `frame` as damaged: `AV_FRAME_FLAG_CORRUPT`, or any of
/// `decode_error_flags` (invalid bitstream, missing reference, concealment active).
pub fn frame_is_damaged(frame: &ffmpeg::frame::Video) -> bool {
    // SAFETY: reads two plain integer fields of a valid AVFrame we borrow.
    let flags = unsafe { (*frame.as_ptr()).decode_error_flags };
    flags != 0 || frame.is_corrupt()
}
