//! [`VideoFrame`]: an owned `AVFrame` the decoder fills, reused for every frame
//! (`avcodec_receive_frame` unreferences it first), and what a decoded picture
//! says about itself: size, pixel format, timestamps, keyframe and corruption
//! flags, colour range and matrix.

use std::ffi::{c_int, CStr};
use std::ptr::{self, NonNull};

use ffmpeg_sys_next as ffi;

use super::packet::known;
use super::plane::{Plane, PlaneMut, Span};
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

    /// A frame FFmpeg owns, seen for the length of a callback that lends it
    /// (never dropped, so never freed by us).
    ///
    /// # Safety
    /// `raw` is a live frame that outlives the result and that nothing
    /// writes while the result is used.
    pub(super) unsafe fn borrowed(raw: NonNull<ffi::AVFrame>) -> std::mem::ManuallyDrop<Self> {
        std::mem::ManuallyDrop::new(Self { raw })
    }

    pub(crate) fn get(&self) -> &ffi::AVFrame {
        // SAFETY: `raw` is a live frame we own; `&self` excludes writers.
        unsafe { self.raw.as_ref() }
    }

    pub(crate) fn as_mut_ptr(&mut self) -> *mut ffi::AVFrame {
        self.raw.as_ptr()
    }

    /// Which picture this is: the address of its first plane, which a
    /// [`Band`](super::Band) of the same picture reports as its
    /// [`picture_id`](super::Band::picture_id) (0 when empty).
    pub fn picture_id(&self) -> usize {
        self.get().data[0] as usize
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

    /// A zero-filled `yuv420p` picture of `width` × `height` tagged with
    /// `range` and `space`, to fill row by row through [`plane_mut`](Self::plane_mut):
    /// for converting pictures made elsewhere, and for tests and benchmarks.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] for an empty or too large size, or for
    /// [`ColorSpace::Other`] (which names no one matrix);
    /// [`ErrorKind::Ffmpeg`] when out of memory.
    pub fn new_yuv420p(
        width: u32,
        height: u32,
        range: ColorRange,
        space: ColorSpace,
    ) -> Result<Self> {
        Self::new_picture(
            ffi::AVPixelFormat::AV_PIX_FMT_YUV420P,
            width,
            height,
            range,
            space,
        )
    }

    /// A zero-filled `nv12` picture, as [`new_yuv420p`](Self::new_yuv420p)
    /// (the hardware decoders' format).
    ///
    /// # Errors
    /// As [`new_yuv420p`](Self::new_yuv420p).
    pub fn new_nv12(width: u32, height: u32, range: ColorRange, space: ColorSpace) -> Result<Self> {
        Self::new_picture(
            ffi::AVPixelFormat::AV_PIX_FMT_NV12,
            width,
            height,
            range,
            space,
        )
    }

    fn new_picture(
        format: ffi::AVPixelFormat,
        width: u32,
        height: u32,
        range: ColorRange,
        space: ColorSpace,
    ) -> Result<Self> {
        use ffi::AVColorSpace::*;
        let invalid = |message: String| Error::new(ErrorKind::InvalidConfig, message);
        let size = |value: u32| {
            c_int::try_from(value)
                .ok()
                .filter(|&value| value > 0)
                .ok_or_else(|| invalid(format!("picture size {width}x{height} is not usable")))
        };
        let (w, h) = (size(width)?, size(height)?);
        let colorspace = match space {
            ColorSpace::Unspecified => AVCOL_SPC_UNSPECIFIED,
            ColorSpace::Bt601 => AVCOL_SPC_SMPTE170M,
            ColorSpace::Bt709 => AVCOL_SPC_BT709,
            ColorSpace::Bt2020 => AVCOL_SPC_BT2020_NCL,
            ColorSpace::Fcc => AVCOL_SPC_FCC,
            ColorSpace::Smpte240m => AVCOL_SPC_SMPTE240M,
            ColorSpace::Rgb => AVCOL_SPC_RGB,
            ColorSpace::Other => return Err(invalid("`Other` names no colour matrix".into())),
        };
        let color_range = match range {
            ColorRange::Unspecified => ffi::AVColorRange::AVCOL_RANGE_UNSPECIFIED,
            ColorRange::Limited => ffi::AVColorRange::AVCOL_RANGE_MPEG,
            ColorRange::Full => ffi::AVColorRange::AVCOL_RANGE_JPEG,
        };
        let frame = Self::new()?;
        let raw = frame.raw.as_ptr();
        // SAFETY: a blank frame we own exclusively; these fields describe the
        // buffer av_frame_get_buffer allocates (default alignment: 0).
        let ret = unsafe {
            (*raw).width = w;
            (*raw).height = h;
            (*raw).format = format as c_int;
            (*raw).color_range = color_range;
            (*raw).colorspace = colorspace;
            ffi::av_frame_get_buffer(raw, 0)
        };
        super::error::check(ret, || {
            format!("allocating a {width}x{height} {format:?} picture")
        })?;
        // av_frame_get_buffer leaves its buffers uninitialised; zero them, so
        // that every row `plane` hands out is initialised before it is written.
        // SAFETY: the frame is ours; its `buf` entries are null or buffers it
        // just allocated, each `size` bytes from `data`.
        for buf in unsafe { (*raw).buf } {
            // SAFETY: as above.
            if let Some(buf) = unsafe { buf.as_ref() } {
                // SAFETY: `size` bytes from `data` are the buffer's own.
                unsafe { ptr::write_bytes(buf.data, 0, buf.size) };
            }
        }
        Ok(frame)
    }

    /// Whether the picture is `nv12` (luma, then interleaved 4:2:0 chroma).
    pub(crate) fn is_nv12(&self) -> bool {
        self.format_raw() == ffi::AVPixelFormat::AV_PIX_FMT_NV12 as c_int
    }

    /// Whether the picture is 8-bit planar 4:2:0: `yuv420p`, or `yuvj420p`
    /// (the same layout in full range).
    pub(crate) fn is_yuv420p(&self) -> bool {
        use ffi::AVPixelFormat::*;
        let format = self.format_raw();
        format == AV_PIX_FMT_YUV420P as c_int || format == AV_PIX_FMT_YUVJ420P as c_int
    }

    /// Plane `index` of a `yuv420p`, `yuvj420p` or `nv12` picture, read in
    /// place: its rows of picture bytes (chroma planes have `⌈height / 2⌉` rows
    /// of `⌈width / 2⌉` samples, two bytes each in nv12), without the padding
    /// between rows. `None` for another format or an empty picture, an index
    /// past the format's planes, a bottom-up (negative) or too short stride,
    /// or a plane that does not lie inside the frame's own buffers.
    pub fn plane(&self, index: usize) -> Option<Plane<'_>> {
        let span = self.plane_span(index)?;
        // SAFETY: the span lies inside one of the frame's reference-counted
        // buffers (checked by `plane_span`), which stay alive while `&self` is
        // borrowed (unreferencing takes `&mut self`); FFmpeg never writes a
        // buffer that other references share, and a decoder hands out finished
        // pictures. What `Plane` hands out, each row's `row_bytes`, is
        // initialised: a decoder writes every sample of the picture it returns
        // (it conceals damage rather than leaving holes), and `new_yuv420p`
        // zeroes its buffers. The padding between rows is not initialised in
        // general (only libavcodec's default pools are zero-filled), and
        // `Plane` never hands it out.
        Some(unsafe { Plane::new(span) })
    }

    /// [`plane`](Self::plane) to write into; `None` also when the picture's
    /// buffers are shared (a decoded picture the decoder still references):
    /// for pictures made with [`new_yuv420p`](Self::new_yuv420p).
    pub fn plane_mut(&mut self, index: usize) -> Option<PlaneMut<'_>> {
        // SAFETY: a live frame we own exclusively (`&mut self`).
        if unsafe { ffi::av_frame_is_writable(self.raw.as_ptr()) } == 0 {
            return None;
        }
        let span = self.plane_span(index)?;
        // SAFETY: inside the frame's buffers and initialised row by row, as in
        // `plane`; writable means no other reference shares them, and
        // `&mut self` excludes any other access while the plane lives.
        Some(unsafe { PlaneMut::new(span) })
    }

    /// `(bytes per row, rows)` of plane `index` in the formats whose planes
    /// this type hands out; `None` for other formats, indexes or empty frames.
    fn plane_geometry(&self, index: usize) -> Option<(usize, usize)> {
        use ffi::AVPixelFormat::*;
        let frame = self.get();
        let width = usize::try_from(frame.width).ok().filter(|&w| w > 0)?;
        let height = usize::try_from(frame.height).ok().filter(|&h| h > 0)?;
        let (chroma_width, chroma_height) = (width.div_ceil(2), height.div_ceil(2));
        if self.is_yuv420p() {
            [
                (width, height),
                (chroma_width, chroma_height),
                (chroma_width, chroma_height),
            ]
            .get(index)
            .copied()
        } else if frame.format == AV_PIX_FMT_NV12 as c_int {
            [(width, height), (chroma_width * 2, chroma_height)]
                .get(index)
                .copied()
        } else {
            None
        }
    }

    /// Plane `index`'s first byte, stride and rows (see [`plane`](Self::plane)),
    /// checked to lie inside one of the frame's buffers rather than trusted to
    /// FFmpeg's allocation rules.
    pub(super) fn plane_span(&self, index: usize) -> Option<Span> {
        let (row_bytes, rows) = self.plane_geometry(index)?;
        let frame = self.get();
        // `index` is at most 2 here (`plane_geometry`), within `data`'s 8.
        let data = NonNull::new(frame.data[index])?;
        // A negative stride (a bottom-up picture) fails the conversion.
        let stride = usize::try_from(frame.linesize[index])
            .ok()
            .filter(|&stride| stride >= row_bytes)?;
        let len = stride.checked_mul(rows - 1)?.checked_add(row_bytes)?;
        let start = data.as_ptr() as usize;
        let end = start.checked_add(len)?;
        let inside = frame.buf.iter().any(|&buf| {
            // SAFETY: a non-null `buf` entry is a live AVBufferRef the frame
            // holds for as long as `&self` is borrowed.
            let Some(buf) = (unsafe { buf.as_ref() }) else {
                return false;
            };
            let first = buf.data as usize;
            first <= start
                && first
                    .checked_add(buf.size)
                    .is_some_and(|limit| end <= limit)
        });
        inside.then_some(Span {
            data,
            stride,
            row_bytes,
            rows,
        })
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
    fn planes_are_the_pictures_rows() {
        let mut frame =
            VideoFrame::new_yuv420p(33, 17, ColorRange::Full, ColorSpace::Bt709).unwrap();
        assert!(frame.is_yuv420p());
        assert_eq!(frame.color_range(), ColorRange::Full);
        assert_eq!(frame.color_space(), ColorSpace::Bt709);
        for (index, (row_bytes, rows)) in [(33, 17), (17, 9), (17, 9)].into_iter().enumerate() {
            let plane = frame.plane(index).unwrap();
            assert_eq!((plane.row_bytes(), plane.row_count()), (row_bytes, rows));
            assert!(plane.stride() > row_bytes, "padded rows");
            assert_eq!(plane.as_contiguous(), None);
            assert_eq!(plane.rows().len(), rows);
            assert!(plane.rows().flatten().all(|&byte| byte == 0), "zero-filled");
            let mut plane = frame.plane_mut(index).unwrap();
            plane.rows_mut().for_each(|row| row.fill(0x80));
            plane.row_mut(rows - 1)[row_bytes - 1] = 0x81;
        }
        assert!(frame.plane(3).is_none());
        let luma = frame.plane(0).unwrap();
        assert!(luma.rows().take(16).flatten().all(|&byte| byte == 0x80));
        assert_eq!(luma.row(16)[32], 0x81);
        frame.unref();
        assert!(frame.plane(0).is_none() && frame.plane_mut(0).is_none());
    }

    #[test]
    fn a_plane_without_padding_is_one_slice() {
        let frame = VideoFrame::new_yuv420p(128, 6, ColorRange::Full, ColorSpace::Bt709).unwrap();
        for (index, (row_bytes, rows)) in [(128, 6), (64, 3), (64, 3)].into_iter().enumerate() {
            let plane = frame.plane(index).unwrap();
            assert_eq!(plane.stride(), row_bytes, "no padding at this width");
            assert_eq!(plane.as_contiguous().unwrap().len(), row_bytes * rows);
        }
    }

    #[test]
    #[should_panic(expected = "row 17 of a plane of 17 rows")]
    fn a_row_past_the_plane_is_refused() {
        let frame = VideoFrame::new_yuv420p(33, 17, ColorRange::Full, ColorSpace::Bt709).unwrap();
        let _ = frame.plane(0).unwrap().row(17);
    }

    /// Writes `byte` over every byte of the frame's buffers, padding included,
    /// as a pool that is not zero-filled leaves them: bytes nobody wrote.
    fn scribble_over_buffers(frame: &mut VideoFrame, byte: u8) {
        // SAFETY: a frame we own exclusively; each non-null `buf` entry is a
        // buffer of `size` bytes from `data`, not shared (`new_yuv420p`'s).
        for buf in unsafe { (*frame.as_mut_ptr()).buf } {
            // SAFETY: as above.
            if let Some(buf) = unsafe { buf.as_ref() } {
                // SAFETY: as above.
                unsafe { ptr::write_bytes(buf.data, byte, buf.size) };
            }
        }
    }

    #[test]
    fn planes_hand_out_the_pictures_bytes_and_never_the_padding_between_rows() {
        let mut frame =
            VideoFrame::new_yuv420p(33, 17, ColorRange::Limited, ColorSpace::Bt601).unwrap();
        scribble_over_buffers(&mut frame, 0xEE);
        for index in 0..3 {
            let mut plane = frame.plane_mut(index).unwrap();
            assert!(plane.row_count() > 1, "rows with padding between them");
            plane.rows_mut().for_each(|row| row.fill(index as u8 + 1));
        }
        for index in 0..3 {
            let plane = frame.plane(index).unwrap();
            assert!(plane.stride() > plane.row_bytes(), "a padded picture");
            let mut handed_out = plane
                .rows()
                .flatten()
                .chain(plane.as_contiguous().into_iter().flatten());
            assert!(
                handed_out.all(|&byte| byte == index as u8 + 1),
                "plane {index} hands out bytes the picture never wrote"
            );
        }
    }

    #[test]
    fn pictures_that_name_no_size_or_matrix_are_refused() {
        let err = VideoFrame::new_yuv420p(0, 8, ColorRange::Limited, ColorSpace::Bt601);
        assert_eq!(err.unwrap_err().kind(), ErrorKind::InvalidConfig);
        let err = VideoFrame::new_yuv420p(8, 8, ColorRange::Limited, ColorSpace::Other);
        assert_eq!(err.unwrap_err().kind(), ErrorKind::InvalidConfig);
        assert!(VideoFrame::new().unwrap().plane(0).is_none());
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
