//! [`Decoder`]: an opened `AVCodecContext` for one video stream, set up from the
//! stream's codec parameters for low delay, with the send/receive API turned into
//! states ([`SendOutcome`], [`DecodeOutcome`]).

use std::ffi::{c_int, CStr};
use std::fmt;
use std::ptr::{self, NonNull};

use ffmpeg_sys_next as ffi;

use super::bands::{self, BandSink, BandTap};
use super::c_flag;
use super::error::{self as averror, classify, Code};
use super::frame::VideoFrame;
use super::input::Input;
use super::packet::Packet;
use super::picture_pool::{self, PicturePool};
use super::stream_info::{Rational, VideoCodec};
use crate::error::{Error, ErrorKind, Result};
use crate::sync::Arc;

/// The most codec extradata [`Decoder::for_codec`] takes (an SPS/PPS set is
/// tens of bytes; this bounds what an untrusted SDP can make us allocate).
const MAX_EXTRADATA: usize = 1 << 20;

/// A padding constant as a `usize` (bindgen types it per FFmpeg version).
fn c_usize<T: TryInto<usize>>(value: T) -> usize
where
    T::Error: fmt::Debug,
{
    value
        .try_into()
        .expect("FFmpeg's padding size fits a usize")
}

/// How to set up a [`Decoder`]. `Default`: one thread, low delay on, every frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecoderOptions {
    threads: u32,
    low_delay: bool,
    fast: bool,
    keyframes_only: bool,
    lowres: u8,
}

impl Default for DecoderOptions {
    fn default() -> Self {
        Self {
            threads: 1,
            low_delay: true,
            fast: false,
            keyframes_only: false,
            lowres: 0,
        }
    }
}

impl DecoderOptions {
    /// Decoding threads (0 = FFmpeg picks from the cores). With low delay on,
    /// threads split each frame (slice threading, no added latency, helps only
    /// streams with several slices); with it off, they also decode frames in
    /// parallel (frame threading, `threads - 1` frames of latency). Default 1:
    /// many streams per host scale better by streams than by threads.
    pub fn threads(mut self, threads: u32) -> Self {
        self.threads = threads;
        self
    }

    /// `AV_CODEC_FLAG_LOW_DELAY`: output each frame as soon as it is decoded and
    /// never use frame threading. Default on.
    pub fn low_delay(mut self, on: bool) -> Self {
        self.low_delay = on;
        self
    }

    /// Cheaper, inexact decoding: `AV_CODEC_FLAG2_FAST` (speedups that are
    /// not bit-exact) and `skip_loop_filter = AVDISCARD_ALL` (no in-loop
    /// deblocking in H.264 / H.265). Default off.
    pub fn fast(mut self, on: bool) -> Self {
        self.fast = on;
        self
    }

    /// Decode at 1/2^`factor` of the size (FFmpeg's `lowres`: the JPEG
    /// decoder skips the high frequencies instead of decoding them; 1 to 3),
    /// for a picture that is downscaled anyway. Decoders without it (H.264,
    /// H.265) ignore it; others cap it at what they support. Default 0.
    pub fn lowres(mut self, factor: u8) -> Self {
        self.lowres = factor;
        self
    }

    /// Decode keyframes only (`skip_frame = AVDISCARD_NONKEY`): the others are
    /// discarded before decoding and cost almost nothing. Default off.
    pub fn keyframes_only(mut self, on: bool) -> Self {
        self.keyframes_only = on;
        self
    }
}

/// What [`Decoder::send_packet`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum SendOutcome {
    /// The decoder took the packet.
    Sent,
    /// The decoder is full: receive its frames, then send the same packet again.
    Again,
    /// The decoder was drained ([`Decoder::send_eof`]) and takes nothing until
    /// [`Decoder::flush`].
    Eof,
}

/// What [`Decoder::receive_frame`] got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum DecodeOutcome {
    /// The frame holds a new picture.
    Frame,
    /// The decoder needs more packets first.
    Again,
    /// Every frame was returned after [`Decoder::send_eof`].
    Eof,
}

/// An opened video decoder; owns its `AVCodecContext`.
pub struct Decoder {
    ctx: NonNull<ffi::AVCodecContext>,
    name: &'static str,
    /// Whether the codec takes buffers from a `get_buffer2` of ours
    /// (`AV_CODEC_CAP_DR1`).
    direct_rendering: bool,
    /// The pool whose leases the context decodes into, once installed; its
    /// address is the context's opaque, so it is dropped after the context.
    pool: Option<Arc<PicturePool>>,
    /// The sink the context reports bands to, once installed; its address
    /// is the context's opaque (never with a pool), dropped after the context.
    bands: Option<Box<BandTap>>,
}

// SAFETY: an AVCodecContext may be used from any thread as long as calls on it
// do not overlap (its own worker threads are internal). Every method that calls
// into it takes `&mut self`, and `Decoder` is not `Sync`.
unsafe impl Send for Decoder {}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder")
            .field("codec", &self.name)
            .finish_non_exhaustive()
    }
}

impl Decoder {
    /// Opens a decoder for stream `stream_index` of `input`, from its codec
    /// parameters (the decoder then owns a copy; `input` may be dropped).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for a bad index, [`ErrorKind::Unsupported`] when
    /// this FFmpeg has no decoder for the codec, [`ErrorKind::Decode`] when the
    /// decoder refuses the parameters.
    pub fn new(input: &Input, stream_index: usize, options: &DecoderOptions) -> Result<Self> {
        super::init();
        let par = input.codec_parameters(stream_index).ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("{} has no stream {stream_index}", input.url()),
            )
        })?;
        let codec_id = par.codec_id;
        Self::open(codec_id, options, |decoder, context| {
            // SAFETY: a fresh context we own and valid parameters owned by `input`.
            let ret = unsafe { ffi::avcodec_parameters_to_context(decoder.ctx.as_ptr(), par) };
            averror::check(ret, context)?;
            if let Some(time_base) = input.time_base(stream_index) {
                // SAFETY: a context we own exclusively, not yet opened.
                // Lets the decoder compute best_effort_timestamp in stream units.
                unsafe { decoder.ctx.as_mut() }.pkt_timebase = time_base;
            }
            Ok(())
        })
    }

    /// Opens a decoder without an FFmpeg [`Input`]: for packets that another
    /// RTSP client depacketized. `extradata` is the codec's out-of-band
    /// configuration (for H.264 an AVCDecoderConfigurationRecord or Annex B
    /// SPS/PPS; may be empty when every keyframe carries its parameter sets),
    /// `time_base` the unit of the packets' timestamps (1/90000 for RTP video).
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] for [`VideoCodec::Other`] or a codec this
    /// FFmpeg cannot decode, [`ErrorKind::InvalidData`] for extradata over
    /// 1 MiB, [`ErrorKind::Decode`] when the decoder refuses the extradata.
    pub fn for_codec(
        codec: VideoCodec,
        extradata: &[u8],
        time_base: Rational,
        options: &DecoderOptions,
    ) -> Result<Self> {
        super::init();
        let codec_id = codec.to_id().ok_or_else(|| {
            Error::new(
                ErrorKind::Unsupported,
                format!("no decoder is known for the codec {codec:?}"),
            )
        })?;
        if extradata.len() > MAX_EXTRADATA {
            return Err(Error::new(
                ErrorKind::InvalidData,
                format!(
                    "{} bytes of codec extradata (at most {MAX_EXTRADATA})",
                    extradata.len()
                ),
            ));
        }
        Self::open(codec_id, options, |decoder, context| {
            // SAFETY: a context we own exclusively, not yet opened: setting its
            // public fields is how the configuration is passed.
            let c = unsafe { decoder.ctx.as_mut() };
            c.pkt_timebase = ffi::AVRational {
                num: time_base.num,
                den: time_base.den,
            };
            if extradata.is_empty() {
                return Ok(());
            }
            let padded = extradata.len() + c_usize(ffi::AV_INPUT_BUFFER_PADDING_SIZE);
            // SAFETY: no preconditions; null when out of memory. The zeroed
            // padding is what FFmpeg's bitstream readers require.
            let buffer = unsafe { ffi::av_mallocz(padded) }.cast::<u8>();
            if buffer.is_null() {
                return Err(Error::new(
                    ErrorKind::Ffmpeg,
                    format!("{}: out of memory for the extradata", context()),
                ));
            }
            // SAFETY: `buffer` holds `padded` >= `extradata.len()` writable
            // bytes and does not overlap `extradata`.
            unsafe { ptr::copy_nonoverlapping(extradata.as_ptr(), buffer, extradata.len()) };
            // The context owns the buffer from here: avcodec_free_context frees it.
            c.extradata = buffer;
            c.extradata_size = c_int::try_from(extradata.len()).expect("at most MAX_EXTRADATA");
            Ok(())
        })
    }

    /// Finds the decoder for `codec_id`, allocates its context, lets
    /// `configure` fill it, sets `options` and opens it.
    fn open(
        codec_id: ffi::AVCodecID,
        options: &DecoderOptions,
        configure: impl FnOnce(&mut Decoder, &dyn Fn() -> String) -> Result<()>,
    ) -> Result<Self> {
        // SAFETY: no preconditions; null when no decoder is registered for the id.
        let codec = unsafe { ffi::avcodec_find_decoder(codec_id) };
        // SAFETY: a non-null codec is a static registered AVCodec.
        let Some(codec_ref) = (unsafe { codec.as_ref() }) else {
            // SAFETY: returns a static NUL-terminated name for any id.
            let name = unsafe { CStr::from_ptr(ffi::avcodec_get_name(codec_id)) };
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "no decoder for codec {} in this FFmpeg",
                    name.to_string_lossy()
                ),
            ));
        };
        // SAFETY: codec names are static NUL-terminated strings.
        let name = unsafe { CStr::from_ptr(codec_ref.name) }
            .to_str()
            .unwrap_or("?");

        // SAFETY: `codec` is a valid decoder; null only when out of memory.
        let ctx = unsafe { ffi::avcodec_alloc_context3(codec) };
        let ctx = NonNull::new(ctx).ok_or_else(|| {
            Error::new(
                ErrorKind::Ffmpeg,
                format!("allocating a {name} decoder: out of memory"),
            )
        })?;
        // From here `decoder`'s Drop frees the context on every error path.
        let mut decoder = Decoder {
            ctx,
            name,
            direct_rendering: codec_ref.capabilities & c_flag(ffi::AV_CODEC_CAP_DR1) != 0,
            pool: None,
            bands: None,
        };
        let context = || format!("opening the {name} decoder");
        configure(&mut decoder, &context)?;
        let threads = c_int::try_from(options.threads).map_err(|_| {
            Error::new(
                ErrorKind::InvalidConfig,
                format!("{} decoder threads is too many", options.threads),
            )
        })?;
        {
            // SAFETY: a context we own exclusively, not yet opened: setting its
            // public fields is how options are passed.
            let c = unsafe { decoder.ctx.as_mut() };
            c.thread_count = threads;
            c.thread_type = if options.low_delay {
                c_flag(ffi::FF_THREAD_SLICE)
            } else {
                c_flag(ffi::FF_THREAD_FRAME) | c_flag(ffi::FF_THREAD_SLICE)
            };
            if options.low_delay {
                c.flags |= c_flag(ffi::AV_CODEC_FLAG_LOW_DELAY);
            }
            if options.fast {
                c.flags2 |= c_flag(ffi::AV_CODEC_FLAG2_FAST);
                c.skip_loop_filter = ffi::AVDiscard::AVDISCARD_ALL;
            }
            if options.keyframes_only {
                c.skip_frame = ffi::AVDiscard::AVDISCARD_NONKEY;
            }
            c.lowres = c_int::from(options.lowres).min(c_int::from(codec_ref.max_lowres));
        }
        // SAFETY: the context was allocated for `codec`; null options are allowed.
        let ret = unsafe { ffi::avcodec_open2(ctx.as_ptr(), codec, ptr::null_mut()) };
        check_decode(ret, &context())?;
        Ok(decoder)
    }

    /// The `lowres` factor the decoder uses: pictures come out at 1/2^factor
    /// of the coded size (see [`DecoderOptions::lowres`]).
    pub fn lowres(&self) -> u8 {
        // SAFETY: the context is valid for the decoder's lifetime; reading a
        // plain field the decoder only sets while opening.
        let lowres = unsafe { self.ctx.as_ref() }.lowres;
        u8::try_from(lowres).unwrap_or(0)
    }

    /// Decodes the pictures from here on into the slots the returned pool is
    /// offered ([`PicturePool::offer`]) instead of FFmpeg's own buffers;
    /// `None` when the codec cannot (it has no `AV_CODEC_CAP_DR1`). Called
    /// again, returns the same pool.
    pub fn lend_pictures(&mut self) -> Option<Arc<PicturePool>> {
        if !self.direct_rendering || self.bands.is_some() {
            return None;
        }
        let pool = self.pool.get_or_insert_with(|| {
            let pool = Arc::new(PicturePool::default());
            // SAFETY: an open context we own; the pool lives in `self.pool`
            // until after `Drop` frees the context.
            unsafe { picture_pool::install(self.ctx.as_ptr(), Arc::as_ptr(&pool)) };
            pool
        });
        Some(Arc::clone(pool))
    }

    /// Hands the rows of each picture to `sink` as the decoder finishes
    /// them (see [`Band`](super::Band)); false (and `sink` dropped) when the
    /// decoder runs threads of its own, which would call it from them, or
    /// already lends its pictures ([`lend_pictures`](Self::lend_pictures)):
    /// both need the context's one opaque pointer. Decoders that report no
    /// bands (all but H.264) never call it.
    pub fn tap_bands(&mut self, sink: Box<dyn BandSink>) -> bool {
        // SAFETY: an open context; reading a field set while opening.
        let threaded = unsafe { self.ctx.as_ref() }.active_thread_type != 0;
        if threaded || self.pool.is_some() || self.bands.is_some() {
            return false;
        }
        let tap = self.bands.insert(Box::new(BandTap::new(sink)));
        // SAFETY: an open context we own, decoding on its caller's thread
        // (no active threading), whose opaque nothing else uses (no pool);
        // the tap lives in `self.bands` until after `Drop` frees the context.
        unsafe { bands::install(self.ctx.as_ptr(), &**tap) };
        true
    }

    /// Pictures the decoder delays for reordering (0 without B-frames); it
    /// knows once it has seen the stream's parameter sets, and may raise it
    /// on finding B-frames.
    pub fn reorder_delay(&self) -> usize {
        // SAFETY: an open context; reading a plain field the decoder sets
        // between our calls.
        let delay = unsafe { self.ctx.as_ref() }.has_b_frames;
        usize::try_from(delay).unwrap_or(0)
    }

    /// The decoder's FFmpeg name, e.g. `"h264"`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Feeds one packet. On [`SendOutcome::Again`] receive frames and send the
    /// same packet again.
    ///
    /// # Errors
    /// [`ErrorKind::Decode`] when the decoder rejects the packet (damaged data);
    /// the decoder stays usable, so skip to the next packet.
    pub fn send_packet(&mut self, packet: &Packet) -> Result<SendOutcome> {
        // SAFETY: an open context and a live packet, which FFmpeg only reads
        // (it takes a new reference to the payload if it keeps it).
        let ret = unsafe { ffi::avcodec_send_packet(self.ctx.as_ptr(), packet.as_ptr()) };
        match classify(ret) {
            Ok(Code::Ok(_)) => Ok(SendOutcome::Sent),
            Ok(Code::Again) => Ok(SendOutcome::Again),
            Ok(Code::Eof) => Ok(SendOutcome::Eof),
            Err(code) => Err(decode_error(
                code,
                &format!("decoding a {} packet", self.name),
            )),
        }
    }

    /// Starts draining: the decoder returns its remaining frames, then
    /// [`DecodeOutcome::Eof`].
    pub fn send_eof(&mut self) -> Result<()> {
        // SAFETY: an open context; a null packet means "drain".
        let ret = unsafe { ffi::avcodec_send_packet(self.ctx.as_ptr(), ptr::null()) };
        match classify(ret) {
            Ok(_) => Ok(()),
            Err(code) => Err(decode_error(
                code,
                &format!("draining the {} decoder", self.name),
            )),
        }
    }

    /// Takes the next decoded picture into `frame` (its previous picture is
    /// released first).
    ///
    /// # Errors
    /// [`ErrorKind::Decode`] when decoding failed; the decoder stays usable.
    pub fn receive_frame(&mut self, frame: &mut VideoFrame) -> Result<DecodeOutcome> {
        // SAFETY: an open context and a live frame we own exclusively; FFmpeg
        // unrefs the frame before filling it.
        let ret = unsafe { ffi::avcodec_receive_frame(self.ctx.as_ptr(), frame.as_mut_ptr()) };
        match classify(ret) {
            Ok(Code::Ok(_)) => Ok(DecodeOutcome::Frame),
            Ok(Code::Again) => Ok(DecodeOutcome::Again),
            Ok(Code::Eof) => Ok(DecodeOutcome::Eof),
            Err(code) => Err(decode_error(code, &format!("decoding {}", self.name))),
        }
    }

    /// Drops buffered frames and reference pictures (after a reconnect or a
    /// seek), and leaves the drained state.
    pub fn flush(&mut self) {
        // SAFETY: an open context we own exclusively.
        unsafe { ffi::avcodec_flush_buffers(self.ctx.as_ptr()) };
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        let mut ctx = self.ctx.as_ptr();
        // SAFETY: a context from avcodec_alloc_context3 that only we own;
        // avcodec_free_context closes the codec (if opened) and frees it. The
        // pool its opaque points to is a field, dropped after this. Pictures
        // still lent (in frames the caller holds) keep their leases in their
        // buffers, not in the pool.
        unsafe { ffi::avcodec_free_context(&mut ctx) };
    }
}

/// A decoder failure: `Decode`, unless it is a missing feature or memory.
fn decode_error(code: c_int, context: &str) -> Error {
    let kind = match averror::kind_of(code) {
        ErrorKind::Unsupported => ErrorKind::Unsupported,
        _ if code == ffi::AVERROR(ffi::ENOMEM) => ErrorKind::Ffmpeg,
        _ => ErrorKind::Decode,
    };
    averror::error_as(kind, code, context)
}

fn check_decode(ret: c_int, context: &str) -> Result<c_int> {
    if ret < 0 {
        Err(decode_error(ret, context))
    } else {
        Ok(ret)
    }
}
