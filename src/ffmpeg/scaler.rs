//! [`Scaler`]: converts a decoded [`VideoFrame`] straight into a slab slot
//! (owns one `SwsContext`, rebuilt only when the source or target geometry,
//! format or colour signalling changes, which for a camera is almost never).
//!
//! Colour handling, so that frames mean the same thing whatever the camera sent:
//! * The source matrix is the frame's (BT.601 when unsignalled) and its range is
//!   the frame's; the deprecated full-range `yuvj*` formats are converted as
//!   their plain twins with full range (what MJPEG cameras send), so swscale
//!   neither warns nor guesses.
//! * `bgr24` / `rgb24` / `rgb_planar` come out full range; `gray8` is full-range luma (as
//!   OpenCV's BGR→GRAY would give); `yuv420p` / `nv12` are limited range in the
//!   source's matrix (what every consumer of those formats assumes).

use std::ffi::c_int;
use std::fmt;
use std::ptr::{self, NonNull};

use ffmpeg_sys_next as ffi;

use super::frame::{
    is_jpeg_format, pix_fmt_from_raw, pix_fmt_name, ColorRange, ColorSpace, VideoFrame,
};
use crate::error::{Error, ErrorKind, Result};
use crate::names::named_enum;
use crate::slab::{ContentRect, PixelFormat, SlotWriter, PLANE_SLACK};

// swscale's flag values. FFmpeg 8 turned these macros into `enum SwsFlags`, so
// bindings name them differently across versions; the values are ABI and fixed.
const SWS_FAST_BILINEAR: c_int = 1;
const SWS_BILINEAR: c_int = 1 << 1;
const SWS_BICUBIC: c_int = 1 << 2;
const SWS_POINT: c_int = 1 << 4;
const SWS_AREA: c_int = 1 << 5;

named_enum! {
    /// The filter used when the output size differs from the source.
    ///
    /// When the sizes are equal swscale runs its unscaled converters and the
    /// filter only affects chroma upsampling; `Bilinear` costs nothing extra there.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    #[non_exhaustive]
    pub enum ScaleAlgorithm {
        /// Nearest neighbour: fastest, blocky when enlarging, aliased when shrinking.
        Point = "point",
        /// swscale's fast bilinear: cheaper, slightly less accurate.
        FastBilinear = "fast_bilinear",
        /// Bilinear: the usual choice for inference inputs.
        #[default]
        Bilinear = "bilinear",
        /// Bicubic: sharper, slower.
        Bicubic = "bicubic",
        /// Area averaging: the best for large downscales.
        Area = "area",
    }
    display;
    parse "scale algorithm";
}

impl ScaleAlgorithm {
    fn flags(self) -> c_int {
        match self {
            ScaleAlgorithm::Point => SWS_POINT,
            ScaleAlgorithm::FastBilinear => SWS_FAST_BILINEAR,
            ScaleAlgorithm::Bilinear => SWS_BILINEAR,
            ScaleAlgorithm::Bicubic => SWS_BICUBIC,
            ScaleAlgorithm::Area => SWS_AREA,
        }
    }
}

/// Everything the `SwsContext` and its colour details depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    src_width: c_int,
    src_height: c_int,
    /// The frame's raw `AVPixelFormat` (before `yuvj*` normalisation).
    src_format: c_int,
    src_full_range: bool,
    src_space: ColorSpace,
    dst_width: c_int,
    dst_height: c_int,
    dst_format: PixelFormat,
    algorithm: ScaleAlgorithm,
}

/// Converts decoded frames into slab slots. One per stream; reuses its
/// `SwsContext` while frames keep their geometry and format.
pub struct Scaler {
    ctx: Option<NonNull<ffi::SwsContext>>,
    key: Option<Key>,
    algorithm: ScaleAlgorithm,
}

// SAFETY: an SwsContext has no thread affinity; every method that uses it takes
// `&mut self`, and `Scaler` is not `Sync`.
unsafe impl Send for Scaler {}

impl fmt::Debug for Scaler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scaler")
            .field("key", &self.key)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Default for Scaler {
    fn default() -> Self {
        Self::new(ScaleAlgorithm::default())
    }
}

impl Scaler {
    /// A scaler that resizes with `algorithm` (nothing is allocated until the
    /// first frame).
    pub fn new(algorithm: ScaleAlgorithm) -> Self {
        Self {
            ctx: None,
            key: None,
            algorithm,
        }
    }

    /// Converts `frame` into `dst`'s pixel format and size (the slab's layout),
    /// writing every plane in place with the layout's strides.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidData`] for an empty frame, [`ErrorKind::Unsupported`]
    /// when swscale cannot convert the frame's format; the scaler stays usable.
    pub fn scale_into(&mut self, frame: &VideoFrame, dst: &mut SlotWriter<'_>) -> Result<()> {
        let layout = *dst.layout();
        self.scale_into_rect(
            frame,
            dst,
            ContentRect::full(layout.width(), layout.height()),
        )
    }

    /// Converts `frame` into the `rect` part of `dst` (scaled to the
    /// rectangle's size), leaving every byte outside the rectangle's rows and
    /// columns as it was, except for what swscale's SIMD writers put past the
    /// end of a row (up to 45 bytes), which the caller overwrites.
    ///
    /// # Errors
    /// As [`scale_into`](Self::scale_into); [`ErrorKind::InvalidConfig`] for
    /// a rectangle that is empty or not inside the frame, or that starts on an
    /// odd pixel of a format with subsampled chroma.
    pub fn scale_into_rect(
        &mut self,
        frame: &VideoFrame,
        dst: &mut SlotWriter<'_>,
        rect: ContentRect,
    ) -> Result<()> {
        let layout = *dst.layout();
        let inside = rect.width > 0
            && rect.height > 0
            && u64::from(rect.x) + u64::from(rect.width) <= u64::from(layout.width())
            && u64::from(rect.y) + u64::from(rect.height) <= u64::from(layout.height())
            && (!layout.format().is_subsampled()
                || (rect.x.is_multiple_of(2) && rect.y.is_multiple_of(2)));
        if !inside {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "a {}x{} picture at ({}, {}) does not fit a {}x{} {} frame",
                    rect.width,
                    rect.height,
                    rect.x,
                    rect.y,
                    layout.width(),
                    layout.height(),
                    layout.format()
                ),
            ));
        }
        let raw = frame.get();
        if raw.width <= 0 || raw.height <= 0 || raw.data[0].is_null() {
            return Err(Error::new(
                ErrorKind::InvalidData,
                "cannot convert an empty frame",
            ));
        }
        let dimension = |value: u32| {
            c_int::try_from(value).map_err(|_| {
                Error::new(
                    ErrorKind::InvalidConfig,
                    format!("output size {value} is too large"),
                )
            })
        };
        let key = Key {
            src_width: raw.width,
            src_height: raw.height,
            src_format: raw.format,
            src_full_range: frame.color_range() == ColorRange::Full,
            src_space: frame.color_space(),
            dst_width: dimension(rect.width)?,
            dst_height: dimension(rect.height)?,
            dst_format: layout.format(),
            algorithm: self.algorithm,
        };
        let ctx = match (self.ctx, self.key) {
            (Some(ctx), Some(current)) if current == key => ctx,
            _ => self.rebuild(key)?,
        };

        let mut dst_data: [*mut u8; 4] = [ptr::null_mut(); 4];
        let mut dst_stride: [c_int; 4] = [0; 4];
        let planes = dst.planes_mut();
        let format = layout.format();
        for (index, (plane, bytes)) in layout.planes().iter().zip(planes).enumerate() {
            assert!(
                bytes.len() >= plane.stride * plane.rows + PLANE_SLACK,
                "a slot plane holds its layout's rows and its SIMD slack"
            );
            // The rectangle's first byte in this plane: inside the plane's
            // rows (checked above: the rectangle lies in the frame and, for
            // subsampled planes, starts on an even pixel).
            let (pixel_bytes, x_shift, y_shift) = format.plane_sampling(index);
            let start = (rect.y >> y_shift) as usize * plane.stride
                + (rect.x >> x_shift) as usize * pixel_bytes;
            // swscale's planar RGB is G, B, R; the slot's planes are R, G, B.
            let sws_index = match format {
                PixelFormat::RgbPlanar => [2, 0, 1][index],
                _ => index,
            };
            dst_data[sws_index] = bytes[start..].as_mut_ptr();
            dst_stride[sws_index] = c_int::try_from(plane.stride).map_err(|_| {
                Error::new(
                    ErrorKind::InvalidConfig,
                    format!("row stride {} is too large", plane.stride),
                )
            })?;
        }
        // SAFETY: `ctx` was built for exactly this source geometry and format
        // and this destination size (the rectangle's) and format. The source
        // pointers and strides are the decoded frame's own (FFmpeg pads its
        // buffers for swscale's overreads). Each destination plane is a slice
        // of the slot holding `stride * rows` bytes plus `PLANE_SLACK`
        // (checked above); the pointer starts at the rectangle's corner in it,
        // and the rectangle lies inside the frame (checked above), so the rows
        // and row widths swscale writes for the rectangle's size and format
        // (the layout computes them the same way, chroma rounded up) lie
        // inside the plane's rows. swscale's SIMD
        // writers write whole blocks: its packed-RGB converters write rows in
        // 16-pixel blocks, so the last row of a width that is not a multiple of
        // 16 overshoots by up to 45 bytes (found with valgrind at 34x18); the
        // slack, which the slice includes, absorbs that (AVX2 32-pixel blocks
        // too: 93 bytes < 128). Into a rectangle, a row's overshoot lands
        // later in the same plane row or early in the next one (both in the
        // plane, or past its last row in the slack): memory of the slot, never
        // outside it. The slot is exclusively borrowed for the call.
        let ret = unsafe {
            ffi::sws_scale(
                ctx.as_ptr(),
                raw.data.as_ptr().cast::<*const u8>(),
                raw.linesize.as_ptr(),
                0,
                raw.height,
                dst_data.as_ptr(),
                dst_stride.as_ptr(),
            )
        };
        if ret <= 0 {
            return Err(super::error::error(
                if ret == 0 { ffi::AVERROR_BUG } else { ret },
                &format!("converting a frame to {}", layout.format()),
            ));
        }
        Ok(())
    }

    /// (Re)creates the context for `key` and sets its colour details.
    fn rebuild(&mut self, key: Key) -> Result<NonNull<ffi::SwsContext>> {
        let describe = || {
            let name = pix_fmt_from_raw(key.src_format)
                .and_then(pix_fmt_name)
                .unwrap_or("unknown");
            format!(
                "{name} {}x{} to {} {}x{}",
                key.src_width, key.src_height, key.dst_format, key.dst_width, key.dst_height
            )
        };
        let unsupported = || {
            Error::new(
                ErrorKind::Unsupported,
                format!("swscale cannot convert {}", describe()),
            )
        };
        let src_format = pix_fmt_from_raw(key.src_format).ok_or_else(unsupported)?;
        let src_format = if is_jpeg_format(key.src_format) {
            plain_twin(src_format)
        } else {
            src_format
        };
        let dst_format = match key.dst_format {
            PixelFormat::Bgr24 => ffi::AVPixelFormat::AV_PIX_FMT_BGR24,
            PixelFormat::Rgb24 => ffi::AVPixelFormat::AV_PIX_FMT_RGB24,
            PixelFormat::Gray8 => ffi::AVPixelFormat::AV_PIX_FMT_GRAY8,
            PixelFormat::Yuv420p => ffi::AVPixelFormat::AV_PIX_FMT_YUV420P,
            PixelFormat::Nv12 => ffi::AVPixelFormat::AV_PIX_FMT_NV12,
            PixelFormat::RgbPlanar => ffi::AVPixelFormat::AV_PIX_FMT_GBRP,
        };
        if let Some(old) = self.ctx.take() {
            // SAFETY: a context we own; taken out of `self` so it is freed once.
            unsafe { ffi::sws_freeContext(old.as_ptr()) };
        }
        self.key = None;
        // Not `sws_getCachedContext`: it initialises the context before the
        // ranges can be set, and swscale picks its converter at initialisation
        // (FFmpeg 5.1 chooses a plain copy for yuvj420p → yuv420p, ignoring a
        // range set afterwards). Options first, then init, picks right.
        // SAFETY: no preconditions; null only when out of memory.
        let ctx = NonNull::new(unsafe { ffi::sws_alloc_context() }).ok_or_else(|| {
            Error::new(
                ErrorKind::Ffmpeg,
                format!("allocating a scaler for {}: out of memory", describe()),
            )
        })?;
        // Owned by `self` from here: an error below leaves it to `Drop` or to
        // the next rebuild (the key stays `None`).
        self.ctx = Some(ctx);
        let src_full_range = i64::from(key.src_full_range);
        let dst_full_range: i64 = match key.dst_format {
            PixelFormat::Bgr24
            | PixelFormat::Rgb24
            | PixelFormat::Gray8
            | PixelFormat::RgbPlanar => 1,
            PixelFormat::Yuv420p | PixelFormat::Nv12 => 0,
        };
        let options = [
            (c"srcw", i64::from(key.src_width)),
            (c"srch", i64::from(key.src_height)),
            (c"src_format", i64::from(src_format as c_int)),
            (c"src_range", src_full_range),
            (c"dstw", i64::from(key.dst_width)),
            (c"dsth", i64::from(key.dst_height)),
            (c"dst_format", i64::from(dst_format as c_int)),
            (c"dst_range", dst_full_range),
            (c"sws_flags", i64::from(key.algorithm.flags())),
        ];
        for (name, value) in options {
            // SAFETY: `ctx` is a live SwsContext, an AVOptions-enabled object;
            // `name` is a NUL-terminated option name.
            let ret = unsafe { ffi::av_opt_set_int(ctx.as_ptr().cast(), name.as_ptr(), value, 0) };
            super::error::check(ret, || {
                format!(
                    "setting swscale's {} for {}",
                    name.to_string_lossy(),
                    describe()
                )
            })?;
        }
        // SAFETY: a freshly allocated, configured context; null filters mean none.
        let ret = unsafe { ffi::sws_init_context(ctx.as_ptr(), ptr::null_mut(), ptr::null_mut()) };
        if ret < 0 {
            return Err(unsupported());
        }

        let matrix = match key.src_space {
            ColorSpace::Bt709 => ffi::SWS_CS_ITU709,
            ColorSpace::Bt2020 => ffi::SWS_CS_BT2020,
            ColorSpace::Fcc => ffi::SWS_CS_FCC,
            ColorSpace::Smpte240m => ffi::SWS_CS_SMPTE240M,
            _ => ffi::SWS_CS_DEFAULT,
        };
        // SAFETY: returns a pointer to a static table of 4 coefficients for any
        // colorspace value (the default table for unknown ones).
        let table = unsafe { ffi::sws_getCoefficients(matrix) };
        // The matrix can only be set here. The ranges are repeated as set above.
        // SAFETY: `ctx` is our live, initialised context; both tables are
        // static 4-entry tables; 0 brightness and 1.0 (16.16) contrast and
        // saturation keep the picture as is.
        let ret = unsafe {
            ffi::sws_setColorspaceDetails(
                ctx.as_ptr(),
                table,
                c_int::from(key.src_full_range),
                table,
                c_int::from(dst_full_range == 1),
                0,
                1 << 16,
                1 << 16,
            )
        };
        if ret < 0 {
            // Not supported for this pair (e.g. RGB to RGB): the defaults apply.
            tracing::debug!(conversion = %describe(), "swscale ignored the colour details");
        }
        self.key = Some(key);
        Ok(ctx)
    }
}

impl Drop for Scaler {
    fn drop(&mut self) {
        if let Some(ctx) = self.ctx.take() {
            // SAFETY: a context from sws_alloc_context that only we own.
            unsafe { ffi::sws_freeContext(ctx.as_ptr()) };
        }
    }
}

/// The limited-range-named twin of a `yuvj*` format (same memory layout).
fn plain_twin(format: ffi::AVPixelFormat) -> ffi::AVPixelFormat {
    use ffi::AVPixelFormat::*;
    match format {
        AV_PIX_FMT_YUVJ420P => AV_PIX_FMT_YUV420P,
        AV_PIX_FMT_YUVJ422P => AV_PIX_FMT_YUV422P,
        AV_PIX_FMT_YUVJ444P => AV_PIX_FMT_YUV444P,
        AV_PIX_FMT_YUVJ440P => AV_PIX_FMT_YUV440P,
        AV_PIX_FMT_YUVJ411P => AV_PIX_FMT_YUV411P,
        other => other,
    }
}
