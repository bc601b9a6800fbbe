//! Pixel formats and the byte layout of one frame in a slot: planes, strides, offsets.
//!
//! Rows start on `row_align`-byte boundaries (64 by default, one cache line and
//! the widest SIMD register), and so does every plane, so a converter can write
//! straight into the slot with aligned stores.

use crate::error::{Error, ErrorKind, Result};
use crate::names::named_enum;

named_enum! {
    /// The pixel format of the frames a slab holds.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    #[non_exhaustive]
    pub enum PixelFormat {
        /// Packed 8-bit B, G, R (OpenCV's default order).
        #[default]
        Bgr24 = "bgr24",
        /// Packed 8-bit R, G, B.
        Rgb24 = "rgb24",
        /// One 8-bit luma plane.
        Gray8 = "gray8",
        /// Planar Y, then U and V at half width and half height.
        Yuv420p = "yuv420p",
        /// Planar Y, then interleaved U/V at half width and half height.
        Nv12 = "nv12",
        /// Three full-size 8-bit planes R, G, B (a CHW tensor, what NCHW
        /// models take). The planes are equally spaced, so one stride per
        /// axis describes all three.
        RgbPlanar = "rgb_planar",
    }
    display;
    parse "pixel format";
}

impl PixelFormat {
    /// `(bytes per row, rows)` of each plane for a `width` × `height` frame.
    fn plane_extents(self, width: u32, height: u32) -> ([(usize, usize); 3], usize) {
        let (w, h) = (width as usize, height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        match self {
            PixelFormat::Bgr24 | PixelFormat::Rgb24 => ([(w * 3, h), (0, 0), (0, 0)], 1),
            PixelFormat::Gray8 => ([(w, h), (0, 0), (0, 0)], 1),
            PixelFormat::Yuv420p => ([(w, h), (cw, ch), (cw, ch)], 3),
            PixelFormat::Nv12 => ([(w, h), (cw * 2, ch), (0, 0)], 2),
            PixelFormat::RgbPlanar => ([(w, h), (w, h), (w, h)], 3),
        }
    }

    /// Bytes per pixel in plane `index` and the plane's horizontal and
    /// vertical subsampling shifts: `(bytes, x_shift, y_shift)`.
    pub(crate) fn plane_sampling(self, index: usize) -> (usize, u32, u32) {
        match (self, index) {
            (PixelFormat::Bgr24 | PixelFormat::Rgb24, _) => (3, 0, 0),
            (PixelFormat::Yuv420p, 1 | 2) => (1, 1, 1),
            (PixelFormat::Nv12, 1) => (2, 1, 1),
            _ => (1, 0, 0),
        }
    }

    /// Whether a plane is subsampled, so that pictures placed inside a frame
    /// must start on even rows and columns.
    pub(crate) fn is_subsampled(self) -> bool {
        matches!(self, PixelFormat::Yuv420p | PixelFormat::Nv12)
    }
}

/// Where one plane lives inside a slot's pixel buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plane {
    /// Byte offset of the plane's first row.
    pub offset: usize,
    /// Bytes from one row's start to the next (≥ `row_bytes`, a multiple of the row alignment).
    pub stride: usize,
    /// Meaningful bytes in each row.
    pub row_bytes: usize,
    /// Number of rows.
    pub rows: usize,
}

impl Plane {
    /// Bytes the plane spans, padding included.
    pub fn len(&self) -> usize {
        self.stride * self.rows
    }

    /// Whether the plane holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How a decoder lays out the pictures it decodes (FFmpeg's
/// `avcodec_align_dimensions2` and its default buffers' strides): the rows it
/// decodes, rounded up to whole macroblocks plus any its motion compensation
/// reads past them, and each plane's stride. See [`FrameLayout::for_decoder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecoderAlignment {
    /// Padded height in rows (chroma planes have half, rounded up).
    pub coded_height: u32,
    /// Each plane's stride in bytes, Y, U, V.
    pub strides: [usize; 3],
}

/// The fixed geometry of every frame in one slab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameLayout {
    width: u32,
    height: u32,
    format: PixelFormat,
    row_align: usize,
    planes: [Plane; 3],
    plane_count: usize,
    len: usize,
}

/// The default row and plane alignment, in bytes.
pub const DEFAULT_ROW_ALIGN: usize = 64;

/// Bytes reserved after every plane for converters that write whole SIMD
/// blocks past the end of the last row: swscale's packed-RGB writers, for one,
/// write rows in 16-pixel blocks (up to 45 bytes past a bgr24 row), and
/// AVX2 variants in 32-pixel blocks. A plane's writable slice
/// ([`SlotWriter::planes_mut`](super::SlotWriter::planes_mut)) includes it.
pub const PLANE_SLACK: usize = 128;

/// Frames wider or taller than this are refused (16K video is 15360 wide).
const MAX_DIMENSION: u32 = 16_384;

impl FrameLayout {
    /// The layout of a `width` × `height` frame in `format`, rows aligned to 64 bytes.
    pub fn new(width: u32, height: u32, format: PixelFormat) -> Result<Self> {
        Self::with_row_align(width, height, format, DEFAULT_ROW_ALIGN)
    }

    /// The same with another row alignment: a power of two from 1 (tightly
    /// packed rows) to 4096.
    pub fn with_row_align(
        width: u32,
        height: u32,
        format: PixelFormat,
        row_align: usize,
    ) -> Result<Self> {
        let invalid = |message: String| Error::new(ErrorKind::InvalidConfig, message);
        if width == 0 || height == 0 || width > MAX_DIMENSION || height > MAX_DIMENSION {
            return Err(invalid(format!(
                "frame size {width}x{height} is outside 1x1 ..= {MAX_DIMENSION}x{MAX_DIMENSION}"
            )));
        }
        if !row_align.is_power_of_two() || row_align > 4096 {
            return Err(invalid(format!(
                "row alignment {row_align} is not a power of two from 1 to 4096"
            )));
        }
        let (extents, plane_count) = format.plane_extents(width, height);
        let mut planes = [Plane {
            offset: 0,
            stride: 0,
            row_bytes: 0,
            rows: 0,
        }; 3];
        let mut len = 0;
        for (plane, &(row_bytes, rows)) in planes.iter_mut().zip(&extents).take(plane_count) {
            let stride = row_bytes.next_multiple_of(row_align);
            *plane = Plane {
                offset: len,
                stride,
                row_bytes,
                rows,
            };
            len = (len + stride * rows + PLANE_SLACK).next_multiple_of(row_align);
        }
        Ok(Self {
            width,
            height,
            format,
            row_align,
            planes,
            plane_count,
            len,
        })
    }

    /// The layout of a `width` × `height` `yuv420p` frame that a decoder can
    /// decode straight into (see [`Lease`](super::Lease)): the decoder's own
    /// strides, and planes spaced for the padded picture it decodes
    /// (`decoder`), while the planes' `rows` and `row_bytes` stay the
    /// picture's. Plane offsets stay 64-byte aligned.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] for a format other than `yuv420p`, a
    /// padded height below the picture's or a stride below its plane's row;
    /// as [`new`](Self::new) for the size.
    pub fn for_decoder(
        width: u32,
        height: u32,
        format: PixelFormat,
        decoder: DecoderAlignment,
    ) -> Result<Self> {
        let invalid = |message: String| Error::new(ErrorKind::InvalidConfig, message);
        let mut layout = Self::new(width, height, format)?;
        if format != PixelFormat::Yuv420p {
            return Err(invalid(format!(
                "a decoder writes yuv420p into the slab, not {format}"
            )));
        }
        let DecoderAlignment {
            coded_height,
            strides,
        } = decoder;
        if coded_height < height {
            return Err(invalid(format!(
                "the decoder's padded height {coded_height} is below the picture's {height}"
            )));
        }
        let rows = coded_height as usize;
        let plane_rows = [rows, rows.div_ceil(2), rows.div_ceil(2)];
        let mut len = 0;
        for ((plane, stride), rows) in layout.planes.iter_mut().zip(strides).zip(plane_rows) {
            if stride < plane.row_bytes {
                return Err(invalid(format!(
                    "the decoder's stride {stride} is below a {}-byte row",
                    plane.row_bytes
                )));
            }
            plane.offset = len;
            plane.stride = stride;
            len = (len + stride * rows + PLANE_SLACK).next_multiple_of(layout.row_align);
        }
        layout.len = len;
        Ok(layout)
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Pixel format.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// Row and plane alignment in bytes.
    pub fn row_align(&self) -> usize {
        self.row_align
    }

    /// The planes, in the format's order (Y, U, V for `yuv420p`).
    pub fn planes(&self) -> &[Plane] {
        &self.planes[..self.plane_count]
    }

    /// Total bytes of one frame, row padding and each plane's
    /// [`PLANE_SLACK`] included: what one slot's buffer holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// A frame buffer of [`len`](Self::len) bytes split into its planes, in
    /// the format's order, each from its first row to the start of the next
    /// plane (padding and [`PLANE_SLACK`] included); planes the format does
    /// not have are empty.
    pub(crate) fn split_mut<'b>(&self, bytes: &'b mut [u8]) -> [&'b mut [u8]; 3] {
        let mut rest = bytes;
        let mut planes: [&mut [u8]; 3] = [&mut [], &mut [], &mut []];
        let offsets = self.planes().iter().map(|plane| plane.offset);
        let ends = offsets.clone().skip(1).chain(std::iter::once(self.len()));
        let mut consumed = 0;
        for ((out, start), end) in planes.iter_mut().zip(offsets).zip(ends) {
            let (_, tail) = std::mem::take(&mut rest).split_at_mut(start - consumed);
            let (this, after) = tail.split_at_mut(end - start);
            *out = this;
            rest = after;
            consumed = end;
        }
        planes
    }

    /// Always false: a layout has at least one non-empty plane.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bgr_1080p_rows_are_aligned_and_dense_when_width_allows() {
        let layout = FrameLayout::new(1920, 1080, PixelFormat::Bgr24).unwrap();
        let plane = layout.planes()[0];
        assert_eq!(plane.row_bytes, 5760);
        assert_eq!(plane.stride, 5760);
        assert_eq!(layout.len(), 5760 * 1080 + PLANE_SLACK);
    }

    #[test]
    fn odd_sizes_round_chroma_up_and_pad_rows() {
        let layout = FrameLayout::new(33, 17, PixelFormat::Yuv420p).unwrap();
        let [y, u, v] = [layout.planes()[0], layout.planes()[1], layout.planes()[2]];
        assert_eq!((y.row_bytes, y.rows, y.stride), (33, 17, 64));
        assert_eq!((u.row_bytes, u.rows, u.stride), (17, 9, 64));
        assert_eq!(u.offset, 64 * 17 + PLANE_SLACK);
        assert_eq!(v.offset, u.offset + 64 * 9 + PLANE_SLACK);
        assert!(layout.planes().iter().all(|p| p.offset % 64 == 0));
        let nv12 = FrameLayout::new(33, 17, PixelFormat::Nv12).unwrap();
        assert_eq!(nv12.planes()[1].row_bytes, 34);
    }

    #[test]
    fn planar_rgb_has_three_equally_spaced_full_size_planes() {
        let layout = FrameLayout::new(640, 360, PixelFormat::RgbPlanar).unwrap();
        let planes = layout.planes();
        assert_eq!(planes.len(), 3);
        assert!(planes
            .iter()
            .all(|p| (p.row_bytes, p.rows, p.stride) == (640, 360, 640)));
        let spacing = planes[1].offset - planes[0].offset;
        assert_eq!(planes[2].offset - planes[1].offset, spacing);
        assert_eq!(spacing, 640 * 360 + PLANE_SLACK);
    }

    #[test]
    fn a_decoder_layout_spaces_planes_for_the_padded_picture() {
        // H.264 1080p: decoded at 1920x1088 plus 2 rows.
        let decoder = DecoderAlignment {
            coded_height: 1090,
            strides: [1920, 960, 960],
        };
        let layout = FrameLayout::for_decoder(1920, 1080, PixelFormat::Yuv420p, decoder).unwrap();
        let [y, u, v] = [layout.planes()[0], layout.planes()[1], layout.planes()[2]];
        assert_eq!((y.row_bytes, y.rows, y.stride), (1920, 1080, 1920));
        assert_eq!((u.row_bytes, u.rows, u.stride), (960, 540, 960));
        assert_eq!(u.offset, (1920 * 1090 + PLANE_SLACK).next_multiple_of(64));
        assert_eq!(v.offset, u.offset + 960 * 545 + PLANE_SLACK);
        assert_eq!(layout.len(), v.offset + 960 * 545 + PLANE_SLACK);
        // The decoder's strides are kept even where 64 would round otherwise.
        let decoder = DecoderAlignment {
            coded_height: 578,
            strides: [704, 352, 352],
        };
        let layout = FrameLayout::for_decoder(704, 576, PixelFormat::Yuv420p, decoder).unwrap();
        assert_eq!(layout.planes()[1].stride, 352);
        assert!(layout.planes().iter().all(|p| p.offset % 64 == 0));
    }

    #[test]
    fn a_decoder_layout_refuses_what_a_decoder_cannot_fill() {
        let decoder = DecoderAlignment {
            coded_height: 480,
            strides: [640, 320, 320],
        };
        let bgr = FrameLayout::for_decoder(640, 480, PixelFormat::Bgr24, decoder).unwrap_err();
        assert!(bgr.to_string().contains("bgr24"), "{bgr}");
        let short = FrameLayout::for_decoder(640, 720, PixelFormat::Yuv420p, decoder).unwrap_err();
        assert!(short.to_string().contains("480"), "{short}");
        let narrow =
            FrameLayout::for_decoder(1280, 480, PixelFormat::Yuv420p, decoder).unwrap_err();
        assert!(narrow.to_string().contains("640"), "{narrow}");
    }

    #[test]
    fn packed_layout_has_no_padding() {
        let layout = FrameLayout::with_row_align(5, 3, PixelFormat::Rgb24, 1).unwrap();
        assert_eq!(layout.len(), 45 + PLANE_SLACK);
    }

    #[test]
    fn bad_geometry_is_refused_with_the_value() {
        let err = FrameLayout::new(0, 10, PixelFormat::Gray8).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        assert!(err.to_string().contains("0x10"), "{err}");
        let err = FrameLayout::with_row_align(8, 8, PixelFormat::Gray8, 48).unwrap_err();
        assert!(err.to_string().contains("48"), "{err}");
    }

    #[test]
    fn formats_round_trip_through_their_names() {
        for format in PixelFormat::ALL {
            assert_eq!(format.name().parse::<PixelFormat>().unwrap(), format);
        }
        assert!("rgba".parse::<PixelFormat>().is_err());
    }
}
