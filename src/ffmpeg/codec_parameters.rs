//! [`CodecParameters`]: an owned copy of a stream's `AVCodecParameters` (codec,
//! size, extradata), taken from an [`Encoder`](super::Encoder) or an
//! [`Input`]'s stream, and handed to an [`RtpMuxer`](super::RtpMuxer).

use std::fmt;
use std::ptr::NonNull;

use ffmpeg_sys_next as ffi;

use super::error::check;
use super::input::Input;
use super::stream_info::VideoCodec;
use crate::error::{Error, ErrorKind, Result};

/// An owned `AVCodecParameters`: what a muxer or decoder must know about one
/// stream. Immutable once built, so it may be shared between threads.
pub struct CodecParameters {
    raw: NonNull<ffi::AVCodecParameters>,
}

// SAFETY: AVCodecParameters is plain data (plus an extradata buffer it owns
// exclusively); FFmpeg ties it to no thread. Nothing mutates it after
// construction (no method takes `&mut self`), so shared reads from several
// threads, e.g. `avcodec_parameters_copy` from it, cannot race.
unsafe impl Send for CodecParameters {}
// SAFETY: see `Send`: every method only reads.
unsafe impl Sync for CodecParameters {}

impl fmt::Debug for CodecParameters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodecParameters")
            .field("codec", &self.codec())
            .field("width", &self.width())
            .field("height", &self.height())
            .field("extradata", &self.extradata().len())
            .finish()
    }
}

impl CodecParameters {
    /// Fresh, empty parameters (codec none).
    pub(crate) fn alloc() -> Result<Self> {
        // SAFETY: no preconditions; null only when out of memory.
        let raw = unsafe { ffi::avcodec_parameters_alloc() };
        NonNull::new(raw)
            .map(|raw| Self { raw })
            .ok_or_else(|| Error::new(ErrorKind::Ffmpeg, "avcodec_parameters_alloc: out of memory"))
    }

    /// A copy of the parameters of stream `index` of `input`.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for a bad index; [`ErrorKind::Ffmpeg`] when out
    /// of memory.
    pub fn from_input(input: &Input, index: usize) -> Result<Self> {
        let source = input.codec_parameters(index).ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("{} has no stream {index}", input.url()),
            )
        })?;
        let params = Self::alloc()?;
        // SAFETY: `params` is a fresh allocation we own; `source` is live and
        // owned by `input`, which outlives the call; the copy is deep.
        let ret = unsafe { ffi::avcodec_parameters_copy(params.raw.as_ptr(), source) };
        check(ret, || "copying codec parameters".to_owned())?;
        Ok(params)
    }

    pub(crate) fn as_ptr(&self) -> *const ffi::AVCodecParameters {
        self.raw.as_ptr()
    }

    pub(crate) fn as_mut_ptr(&mut self) -> *mut ffi::AVCodecParameters {
        self.raw.as_ptr()
    }

    fn get(&self) -> &ffi::AVCodecParameters {
        // SAFETY: a live allocation we own; nothing writes it after construction.
        unsafe { self.raw.as_ref() }
    }

    /// The codec.
    pub fn codec(&self) -> VideoCodec {
        VideoCodec::from_id(self.get().codec_id)
    }

    /// Width in pixels (0 when unknown).
    pub fn width(&self) -> u32 {
        u32::try_from(self.get().width).unwrap_or(0)
    }

    /// Height in pixels (0 when unknown).
    pub fn height(&self) -> u32 {
        u32::try_from(self.get().height).unwrap_or(0)
    }

    /// The codec's global header: H.264/H.265 parameter sets (Annex B or
    /// `avcC`/`hvcC`), empty when there is none.
    pub fn extradata(&self) -> &[u8] {
        let par = self.get();
        let len = usize::try_from(par.extradata_size).unwrap_or(0);
        if par.extradata.is_null() || len == 0 {
            return &[];
        }
        // SAFETY: a non-null `extradata` holds `extradata_size` bytes owned by
        // the parameters, alive and unchanged while `&self` is borrowed.
        unsafe { std::slice::from_raw_parts(par.extradata, len) }
    }
}

impl Drop for CodecParameters {
    fn drop(&mut self) {
        let mut raw = self.raw.as_ptr();
        // SAFETY: an allocation from avcodec_parameters_alloc only we own;
        // avcodec_parameters_free frees it with its extradata.
        unsafe { ffi::avcodec_parameters_free(&mut raw) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_parameters_report_nothing() {
        let params = CodecParameters::alloc().unwrap();
        assert_eq!(params.codec(), VideoCodec::Other);
        assert_eq!((params.width(), params.height()), (0, 0));
        assert!(params.extradata().is_empty());
    }
}
