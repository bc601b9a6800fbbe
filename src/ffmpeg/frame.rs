//! [`VideoFrame`]: an owned `AVFrame` the decoder fills, reused for every frame
//! (`avcodec_receive_frame` unreferences it first), and what a decoded picture
//! says about itself: size, pixel format, timestamps, keyframe and corruption
//! flags, colour range and matrix.

use std::ffi::{c_int, CStr};
use std::ptr::{self, NonNull};

use ffmpeg_sys_next as ffi;

use super::packet::known;
use crate::error::{Error, ErrorKind, Result};

/// `AV_FRAME_FLAG_KEY`, defined from FFmpeg 6.1 (libavutil 58.29) on. Before
/// that the bit is unused and keyframes are marked by `AVFrame.key_frame`, a
/// field FFmpeg 7 removed; bindings for one cannot name the other, so the bit is
/// spelled out here and [`VideoFrame::is_key`] picks by the running library.
const FRAME_FLAG_KEY: c_int = 1 << 1;

/// `AV_VERSION_INT(58, 29, 100)`: the first libavutil that sets `FRAME_FLAG_KEY`.
const LAVU_WITH_FRAME_FLAG_KEY: u32 = (58 << 16) | (29 << 8) | 100;

/// The nominal range of a frame's YUV samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ColorRange {
    /// Not signalled; treated as limited.
    #[default]
    Unspecified,
    /// Limited ("TV", "MPEG") range: luma 16..=235, chroma 16..=240.
    Limited,
    /// Full ("PC", "JPEG") range: 0..=255, as MJPEG cameras send.
    Full,
}

/// The matrix that turns a frame's YUV into RGB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ColorSpace {
    /// Not signalled; treated as BT.601 (FFmpeg's and most cameras' default).
    #[default]
    Unspecified,
    /// BT.601 (`bt470bg`, `smpte170m`): SD video, most JPEG.
    Bt601,
    /// BT.709: HD video.
    Bt709,
    /// BT.2020 (non-constant or constant luminance).
    Bt2020,
    /// FCC.
    Fcc,
    /// SMPTE 240M.
    Smpte240m,
    /// The samples are already RGB (GBR planes).
    Rgb,
    /// Any other signalled matrix; converted as BT.601.
    Other,
}

/// An owned, reusable decoded picture. Allocate one per stream and pass it to
/// every [`Decoder::receive_frame`](super::Decoder::receive_frame).
#[derive(Debug)]
pub struct VideoFrame {
    raw: NonNull<ffi::AVFrame>,
}

// SAFETY: an AVFrame is plain data plus reference-counted buffers with atomic
// counts; FFmpeg ties it to no thread. Not `Sync`: one thread at a time.
unsafe impl Send for VideoFrame {}

impl VideoFrame {
    /// An empty frame.
    pub fn new() -> Result<Self> {
        // SAFETY: no preconditions; null only when out of memory.
        let raw = unsafe { ffi::av_frame_alloc() };
        NonNull::new(raw)
            .map(|raw| Self { raw })
            .ok_or_else(|| Error::new(ErrorKind::Ffmpeg, "av_frame_alloc: out of memory"))
    }

    pub(crate) fn get(&self) -> &ffi::AVFrame {
        // SAFETY: `raw` is a live frame we own; `&self` excludes writers.
        unsafe { self.raw.as_ref() }
    }

    pub(crate) fn as_mut_ptr(&mut self) -> *mut ffi::AVFrame {
        self.raw.as_ptr()
    }

    /// Releases the picture's buffers (keeps the allocation).
    pub fn unref(&mut self) {
        // SAFETY: a live frame we own exclusively (`&mut self`).
        unsafe { ffi::av_frame_unref(self.raw.as_ptr()) };
    }

    /// Width in pixels (0 when empty).
    pub fn width(&self) -> u32 {
        u32::try_from(self.get().width).unwrap_or(0)
    }

    /// Height in pixels (0 when empty).
    pub fn height(&self) -> u32 {
        u32::try_from(self.get().height).unwrap_or(0)
    }

    /// The raw `AVPixelFormat` number (`-1` when empty).
    pub(crate) fn format_raw(&self) -> c_int {
        self.get().format
    }

    /// FFmpeg's name of the pixel format, e.g. `"yuv420p"`, `"yuvj420p"`.
    pub fn pixel_format_name(&self) -> Option<&'static str> {
        pix_fmt_name(pix_fmt_from_raw(self.format_raw())?)
    }

    /// Presentation timestamp in the stream's time base, if known.
    pub fn pts(&self) -> Option<i64> {
        known(self.get().pts)
    }

    /// FFmpeg's best guess of the presentation timestamp (`pts`, or one derived
    /// from `dts` when the stream's pts are missing or broken).
    pub fn best_effort_timestamp(&self) -> Option<i64> {
        known(self.get().best_effort_timestamp)
    }

    /// Whether this is a keyframe: `AV_FRAME_FLAG_KEY` with FFmpeg 6.1 and
    /// newer; before that an intra-coded picture (`pict_type == I`), which for
    /// camera streams (IDR-only GOPs, MJPEG) is the same thing.
    pub fn is_key(&self) -> bool {
        let frame = self.get();
        if frame_flag_key_supported() {
            frame.flags & FRAME_FLAG_KEY != 0
        } else {
            frame.pict_type == ffi::AVPictureType::AV_PICTURE_TYPE_I
        }
    }

    /// The decoder's `FF_DECODE_ERROR_*` bits: non-zero when it concealed
    /// errors or lacked a reference.
    pub fn decode_error_flags(&self) -> i32 {
        self.get().decode_error_flags
    }

    /// Whether the frame is damaged: flagged `AV_FRAME_FLAG_CORRUPT`, or decoded
    /// with errors ([`decode_error_flags`](Self::decode_error_flags) non-zero).
    /// Gate publishing on this to keep grey smears away from inference.
    pub fn is_corrupt(&self) -> bool {
        let frame = self.get();
        frame.flags & super::c_flag(ffi::AV_FRAME_FLAG_CORRUPT) != 0
            || frame.decode_error_flags != 0
    }

    /// The nominal range of the samples; `Full` also for the `yuvj*` formats.
    pub fn color_range(&self) -> ColorRange {
        use ffi::AVColorRange::*;
        match self.get().color_range {
            AVCOL_RANGE_JPEG => ColorRange::Full,
            AVCOL_RANGE_MPEG => ColorRange::Limited,
            _ if is_jpeg_format(self.format_raw()) => ColorRange::Full,
            _ => ColorRange::Unspecified,
        }
    }

    /// The YUV → RGB matrix the frame signals.
    pub fn color_space(&self) -> ColorSpace {
        use ffi::AVColorSpace::*;
        match self.get().colorspace {
            AVCOL_SPC_UNSPECIFIED => ColorSpace::Unspecified,
            AVCOL_SPC_BT470BG | AVCOL_SPC_SMPTE170M => ColorSpace::Bt601,
            AVCOL_SPC_BT709 => ColorSpace::Bt709,
            AVCOL_SPC_BT2020_NCL | AVCOL_SPC_BT2020_CL => ColorSpace::Bt2020,
            AVCOL_SPC_FCC => ColorSpace::Fcc,
            AVCOL_SPC_SMPTE240M => ColorSpace::Smpte240m,
            AVCOL_SPC_RGB => ColorSpace::Rgb,
            _ => ColorSpace::Other,
        }
    }
}

impl Drop for VideoFrame {
    fn drop(&mut self) {
        let mut raw = self.raw.as_ptr();
        // SAFETY: a live frame only we own; av_frame_free unrefs and frees it.
        unsafe { ffi::av_frame_free(&mut raw) };
    }
}

/// Whether the running libavutil marks keyframes with `AV_FRAME_FLAG_KEY`.
fn frame_flag_key_supported() -> bool {
    // SAFETY: no preconditions; returns a constant.
    let version = unsafe { ffi::avutil_version() };
    version >= LAVU_WITH_FRAME_FLAG_KEY
}

/// The `AVPixelFormat` whose number is `raw`, if libavutil knows it.
///
/// The enum value comes from FFmpeg itself (a descriptor's id), never from
/// casting an integer, so an unknown number is `None` rather than an invalid
/// enum. Walks the descriptor table (about 200 entries): call it when the
/// format changes, not per frame.
pub(crate) fn pix_fmt_from_raw(raw: c_int) -> Option<ffi::AVPixelFormat> {
    if raw < 0 {
        return None;
    }
    let mut desc: *const ffi::AVPixFmtDescriptor = ptr::null();
    loop {
        // SAFETY: `desc` is null or the previous descriptor from this same walk;
        // descriptors are static.
        desc = unsafe { ffi::av_pix_fmt_desc_next(desc) };
        if desc.is_null() {
            return None;
        }
        // SAFETY: `desc` is a valid static descriptor.
        let id = unsafe { ffi::av_pix_fmt_desc_get_id(desc) };
        if id as c_int == raw {
            return Some(id);
        }
    }
}

/// FFmpeg's name of a pixel format.
pub(crate) fn pix_fmt_name(format: ffi::AVPixelFormat) -> Option<&'static str> {
    // SAFETY: returns null or a pointer to a static NUL-terminated name.
    let name = unsafe { ffi::av_get_pix_fmt_name(format) };
    if name.is_null() {
        return None;
    }
    // SAFETY: non-null, static and NUL-terminated (see above).
    unsafe { CStr::from_ptr(name) }.to_str().ok()
}

/// Whether `raw` is one of the deprecated full-range `yuvj*` formats.
pub(crate) fn is_jpeg_format(raw: c_int) -> bool {
    use ffi::AVPixelFormat::*;
    [
        AV_PIX_FMT_YUVJ420P,
        AV_PIX_FMT_YUVJ422P,
        AV_PIX_FMT_YUVJ444P,
        AV_PIX_FMT_YUVJ440P,
        AV_PIX_FMT_YUVJ411P,
    ]
    .into_iter()
    .any(|format| format as c_int == raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_frame_reports_nothing() {
        let mut frame = VideoFrame::new().unwrap();
        assert_eq!((frame.width(), frame.height()), (0, 0));
        assert_eq!(frame.pixel_format_name(), None);
        assert_eq!(frame.pts(), None);
        assert!(!frame.is_key() && !frame.is_corrupt());
        frame.unref();
    }

    #[test]
    fn pixel_formats_round_trip_through_ffmpeg() {
        use ffi::AVPixelFormat::*;
        for format in [
            AV_PIX_FMT_YUV420P,
            AV_PIX_FMT_NV12,
            AV_PIX_FMT_BGR24,
            AV_PIX_FMT_YUVJ420P,
        ] {
            assert_eq!(pix_fmt_from_raw(format as c_int), Some(format));
        }
        assert_eq!(pix_fmt_from_raw(-1), None);
        assert_eq!(pix_fmt_from_raw(1 << 20), None);
        assert_eq!(pix_fmt_name(AV_PIX_FMT_YUVJ420P), Some("yuvj420p"));
        assert!(is_jpeg_format(AV_PIX_FMT_YUVJ420P as c_int));
        assert!(!is_jpeg_format(AV_PIX_FMT_YUV420P as c_int));
    }
}
