//! [`EncoderContext`]: the one owner of an encoding `AVCodecContext`, shared
//! by [`Encoder`](super::Encoder) and [`AudioEncoder`](super::AudioEncoder):
//! finding the encoder by name and allocating its context, opening it, the
//! send/receive calls turned into states ([`SendOutcome`], [`EncodeOutcome`]),
//! the codec parameters for a muxer, and the context's one `Drop`.

use std::ffi::{c_int, CStr, CString};
use std::ptr::{self, NonNull};

use ffmpeg_sys_next as ffi;

use super::codec_parameters::CodecParameters;
use super::decoder::SendOutcome;
use super::encoder::EncodeOutcome;
use super::error::{self as averror, classify, Code};
use super::packet::Packet;
use crate::error::{Error, ErrorKind, Result};

/// An allocated encoder context, opened by [`open`](Self::open).
pub(crate) struct EncoderContext {
    ctx: NonNull<ffi::AVCodecContext>,
    codec: &'static ffi::AVCodec,
    name: &'static str,
}

// SAFETY: an AVCodecContext may be used from any thread as long as calls on it
// do not overlap (its worker threads are internal); every method that calls
// into it takes `&mut self`, and `EncoderContext` is not `Sync`.
unsafe impl Send for EncoderContext {}

impl EncoderContext {
    /// Finds the encoder named `codec` and allocates a context for it.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] for a name with a NUL byte,
    /// [`ErrorKind::Unsupported`] when this FFmpeg has no such encoder,
    /// [`ErrorKind::Ffmpeg`] when out of memory.
    pub(crate) fn alloc(codec: &str) -> Result<Self> {
        let c_name = CString::new(codec).map_err(|_| {
            Error::new(
                ErrorKind::InvalidConfig,
                "the encoder name contains a NUL byte",
            )
        })?;
        // SAFETY: `c_name` is NUL-terminated; null when no such encoder exists.
        let found = unsafe { ffi::avcodec_find_encoder_by_name(c_name.as_ptr()) };
        // SAFETY: a non-null codec is a static registered AVCodec.
        let Some(codec_ref) = (unsafe { found.as_ref() }) else {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("no encoder named {codec} in this FFmpeg"),
            ));
        };
        // SAFETY: codec names are static NUL-terminated strings.
        let name = unsafe { CStr::from_ptr(codec_ref.name) }
            .to_str()
            .unwrap_or("?");
        // SAFETY: `found` is a valid encoder; null only when out of memory.
        let ctx = unsafe { ffi::avcodec_alloc_context3(found) };
        let ctx = NonNull::new(ctx).ok_or_else(|| {
            Error::new(
                ErrorKind::Ffmpeg,
                format!("allocating a {name} encoder: out of memory"),
            )
        })?;
        Ok(Self {
            ctx,
            codec: codec_ref,
            name,
        })
    }

    /// The encoder.
    pub(crate) fn codec(&self) -> &'static ffi::AVCodec {
        self.codec
    }

    /// The encoder's FFmpeg name, e.g. `"libx264"`.
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    /// The context's fields: its settings once opened.
    pub(crate) fn get(&self) -> &ffi::AVCodecContext {
        // SAFETY: a live context we own; `&self` excludes every call that
        // changes it (they take `&mut self`).
        unsafe { self.ctx.as_ref() }
    }

    /// The context's fields, to set before [`open`](Self::open): setting
    /// them is how parameters are passed.
    pub(crate) fn get_mut(&mut self) -> &mut ffi::AVCodecContext {
        // SAFETY: a live context we own exclusively; `&mut self` makes the
        // borrow unique.
        unsafe { self.ctx.as_mut() }
    }

    /// Opens the encoder with the private options in `dict` (null for none;
    /// FFmpeg removes the options it used from a dictionary).
    pub(crate) fn open(&mut self, dict: *mut *mut ffi::AVDictionary) -> Result<()> {
        // SAFETY: the context was allocated for `codec`; `dict` is null or a
        // valid dictionary slot.
        let ret = unsafe { ffi::avcodec_open2(self.ctx.as_ptr(), self.codec, dict) };
        averror::check(ret, || format!("opening the {} encoder", self.name)).map(drop)
    }

    /// The stream's codec parameters (with the extradata when the global
    /// header is on), for a muxer.
    pub(crate) fn parameters(&self) -> Result<CodecParameters> {
        let mut params = CodecParameters::alloc()?;
        // SAFETY: an opened context we own (only read here) and a fresh
        // parameter set we own exclusively; the copy is deep.
        let ret =
            unsafe { ffi::avcodec_parameters_from_context(params.as_mut_ptr(), self.ctx.as_ptr()) };
        averror::check(ret, || format!("reading the {} parameters", self.name))?;
        Ok(params)
    }

    /// Sends `frame` (null: start draining).
    pub(crate) fn send_frame(&mut self, frame: *const ffi::AVFrame) -> Result<SendOutcome> {
        // SAFETY: an opened context; `frame` is null or a valid frame the
        // encoder only references.
        let ret = unsafe { ffi::avcodec_send_frame(self.ctx.as_ptr(), frame) };
        match classify(ret) {
            Ok(Code::Ok(_)) => Ok(SendOutcome::Sent),
            Ok(Code::Again) => Ok(SendOutcome::Again),
            Ok(Code::Eof) => Ok(SendOutcome::Eof),
            Err(code) => Err(self.error(code)),
        }
    }

    /// Starts draining: the encoder returns its buffered packets, then
    /// [`EncodeOutcome::Eof`].
    pub(crate) fn send_eof(&mut self) -> Result<()> {
        self.send_frame(ptr::null()).map(drop)
    }

    /// Takes the next encoded packet into `packet` (its previous payload is
    /// released first).
    pub(crate) fn receive_packet(&mut self, packet: &mut Packet) -> Result<EncodeOutcome> {
        packet.unref();
        // SAFETY: an opened context and a blank packet we own exclusively.
        let ret = unsafe { ffi::avcodec_receive_packet(self.ctx.as_ptr(), packet.as_mut_ptr()) };
        match classify(ret) {
            Ok(Code::Ok(_)) => Ok(EncodeOutcome::Packet),
            Ok(Code::Again) => Ok(EncodeOutcome::Again),
            Ok(Code::Eof) => Ok(EncodeOutcome::Eof),
            Err(code) => Err(self.error(code)),
        }
    }

    fn error(&self, code: c_int) -> Error {
        averror::error(code, &format!("encoding with {}", self.name))
    }
}

impl Drop for EncoderContext {
    fn drop(&mut self) {
        let mut ctx = self.ctx.as_ptr();
        // SAFETY: a context from avcodec_alloc_context3 that only we own;
        // avcodec_free_context closes the codec (if opened), uninits its
        // channel layout and frees it.
        unsafe { ffi::avcodec_free_context(&mut ctx) };
    }
}
