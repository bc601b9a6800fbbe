//! Colour conversion into slab slots: [`Converter`] takes each decoded frame
//! to the slot's format with the fastest engine whose pixels agree with
//! swscale's.
//!
//! swscale converts anything to anything, but its unscaled yuv420p → bgr24
//! costs about 0.65 ms per 1080p frame here; the SIMD converter of the
//! [`yuv`](https://crates.io/crates/yuv) crate (0.8) takes about 0.36 ms, and
//! `dcv-color-primitives` 0.39 ms but is up to 255 levels off on
//! out-of-range limited-range samples (`cargo bench --bench convert`). A gray8 target is 8× cheaper as a luma
//! copy or exact integer map (0.19 ms) than through swscale (1.5 ms: it takes
//! its scaling path to change the range). So, at the source size:
//!
//! | source | target | engine |
//! |---|---|---|
//! | `yuv420p`, `yuvj420p`, even height | `bgr24`, `rgb24` | [`Direct`]: the `yuv` crate's SIMD converter |
//! | `yuv420p`, `yuvj420p`, `nv12` | `gray8` | [`Direct`]: luma copied (full range) or stretched to full range (limited; integer arithmetic the compiler vectorises, 3–4× faster than a 256-entry lookup table) |
//! | `yuv420p`, `yuvj420p` | `yuv420p` | [`Direct`]: planes copied (limited) or squeezed to limited range (full) |
//! | anything else: a resize, `nv12` or `rgb_planar` out, other sources (4:2:2, 10-bit, `nv12` but to gray), odd heights to RGB, SMPTE 240M or RGB-tagged YUV | | [`Scaler`] (swscale) |
//!
//! A resize to another aspect ratio stretches, or letterboxes ([`Fit`],
//! [`ResizeMode::Letterbox`]): swscale scales straight into the picture's
//! rectangle of the slot and only the bands around it are filled, and the
//! slot records the rectangle
//! ([`Frame::content_rect`](crate::slab::Frame::content_rect)).
//!
//! [`Direct`] reads the source planes in place through
//! [`Plane`], which hands out each row's picture bytes and
//! never the padding between rows (not initialised in every decoder's pool).
//! The `yuv` crate takes strided slices, so it converts a picture in one call
//! only when its planes have no padding (1280 and 1920 wide pictures, say);
//! others go row by row, about a quarter slower (0.47 against 0.37 ms per
//! 1080p frame in a quick measurement here) and still well ahead of swscale.
//!
//! Both engines read colour the same way (see [`Scaler`]): the matrix is the
//! frame's, BT.601 when unsignalled or unknown at every size (swscale's
//! `SWS_CS_DEFAULT`: it does not guess BT.709 for HD, and neither does this),
//! the range is the frame's, limited when unsignalled, `yuvj420p` is full
//! range; RGB and gray come out full range, yuv420p limited.
//!
//! ## How close to swscale
//!
//! `tests/convert.rs` converts flat bands (saturated, grey and out-of-gamut),
//! gradients and a chroma sweep at 34x18, 33x18, 640x360, 1280x720 and
//! 1920x1080, in every range and in BT.601, BT.709, BT.2020 and FCC, both
//! ways, and decoded H.264 (1080p, cropped from 1088 rows) and MJPEG frames:
//!
//! * RGB, in-range samples: at most 2 levels from swscale in full range, 3 in
//!   limited range. Against exact arithmetic the `yuv` crate is within 1.0
//!   (full) and 1.4 (limited), swscale within 2.0 and 2.9: the differences
//!   are swscale's rounding.
//! * RGB, limited-range luma below 16 (darker than black, which real encoders
//!   emit in noisy shadows): the crate's SIMD rows clamp such luma to 16
//!   before the matrix, swscale does not, so a channel that chroma lifts
//!   above 0 comes out up to `1.164 × (16 − Y)` levels (19 at Y = 0) brighter.
//!   Neutral dark pixels are 0 either way.
//! * gray8: identical to swscale. yuv420p: identical from limited range; from
//!   full range chroma is at most 1 level off (our map rounds exactly,
//!   swscale's fixed point does not quite).
//! * Chroma is repeated over each 2×2 block, as swscale's unscaled converter
//!   does. For odd heights swscale takes its scaling path and interpolates
//!   chroma instead, so those frames stay with swscale for RGB.
//! * SMPTE 240M: the crate is up to 73 levels off swscale on saturated
//!   colours, so those frames stay with swscale.

mod fit;

pub use fit::{Fit, ResizeMode, DEFAULT_PAD_VALUE};
use std::ops::Range;

use yuv::{YuvPlanarImage, YuvRange, YuvStandardMatrix};

use crate::error::{Error, ErrorKind, Result};
use crate::ffmpeg::{Band, ColorRange, ColorSpace, Plane, ScaleAlgorithm, Scaler, VideoFrame};
use crate::names::named_enum;
use crate::slab::{FrameLayout, PixelFormat, SlotWriter};

named_enum! {
    /// Which engine converted a frame (`name`: a short name for logs and metrics).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    #[non_exhaustive]
    pub enum Engine {
        /// This module's own converters ([`Direct`]).
        Direct = "direct",
        /// swscale, through [`Scaler`].
        Swscale = "swscale",
        /// No conversion: the decoder wrote the picture straight into its
        /// slot (a `yuv420p` stream at the camera's size).
        InPlace = "in_place",
        /// [`Direct`], band by band as the decoder finished the rows, into
        /// the slot the frame is published in (see
        /// [`crate::ffmpeg::Band`]).
        InBands = "in_bands",
    }
    display;
}

/// Converts decoded frames into slab slots: [`Direct`] when it can take the
/// frame, swscale otherwise. One per stream; allocates nothing per frame.
#[derive(Debug, Default)]
pub struct Converter {
    scaler: Scaler,
    fit: Fit,
}

impl Converter {
    /// A converter whose swscale fallback resizes with `algorithm` (nothing is
    /// allocated until swscale's first frame), stretching to the slot's size.
    pub fn new(algorithm: ScaleAlgorithm) -> Self {
        Self {
            scaler: Scaler::new(algorithm),
            fit: Fit::default(),
        }
    }

    /// The same converter fitting pictures to the slot as `fit` says.
    pub fn with_fit(mut self, fit: Fit) -> Self {
        self.fit = fit;
        self
    }

    /// Converts `frame` into `dst`'s format and size, writing every plane in
    /// place with the layout's strides, and tells `dst` where the picture
    /// went ([`SlotWriter::set_content_rect`]); returns the engine that did it.
    ///
    /// A letterboxed picture is scaled straight into its rectangle of the
    /// slot, and only the bands around it are filled (see [`fit`]).
    ///
    /// # Errors
    /// As [`Scaler::scale_into`]; the converter stays usable.
    pub fn convert_into(&mut self, frame: &VideoFrame, dst: &mut SlotWriter<'_>) -> Result<Engine> {
        let layout = *dst.layout();
        let rect = self.fit.place(frame.width(), frame.height(), &layout);
        dst.set_content_rect(rect);
        if !rect.covers(layout.width(), layout.height()) {
            self.scaler.scale_into_rect(frame, dst, rect)?;
            fit::fill_padding(dst, rect, self.fit.pad);
            return Ok(Engine::Swscale);
        }
        if let Some(direct) = Direct::new(frame, &layout) {
            direct.convert_into(dst)?;
            return Ok(Engine::Direct);
        }
        self.scaler.scale_into(frame, dst)?;
        Ok(Engine::Swscale)
    }
}

/// A frame [`Direct::convert_into`] can take into one layout: 8-bit 4:2:0
/// planes read in place, the same size as the layout, a target it handles.
#[derive(Debug)]
pub struct Direct<'a> {
    /// Y, U, V, read in place (their rows, never the padding between them).
    planes: [Plane<'a>; 3],
    width: u32,
    /// Rows to convert (all of the picture's, or a band's).
    height: u32,
    /// The picture row the planes start at (0, or a band's first row).
    first_row: u32,
    /// The height of the layout the conversion was planned for.
    layout_height: u32,
    target: Target,
}

/// What [`Direct`] does, decided from the frame's colour and the target format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// Packed 8-bit RGB in `order`, full range.
    Rgb {
        order: Order,
        full_range_source: bool,
        matrix: Matrix,
    },
    /// Full-range luma.
    Gray { full_range_source: bool },
    /// Limited-range planar 4:2:0.
    Yuv420p { full_range_source: bool },
}

impl Target {
    /// The conversion of a 4:2:0 picture (full range or not, in matrix
    /// `space`) into `layout`'s format, if [`Direct`] does it.
    fn of(full_range_source: bool, space: ColorSpace, layout: &FrameLayout) -> Option<Self> {
        let matrix = Matrix::of(space)?;
        Some(match layout.format() {
            // For odd heights swscale takes its scaling path, which
            // interpolates chroma; leave those frames to it.
            PixelFormat::Bgr24 | PixelFormat::Rgb24 if !layout.height().is_multiple_of(2) => {
                return None
            }
            PixelFormat::Bgr24 | PixelFormat::Rgb24 => Target::Rgb {
                order: if layout.format() == PixelFormat::Bgr24 {
                    Order::Bgr
                } else {
                    Order::Rgb
                },
                full_range_source,
                matrix,
            },
            PixelFormat::Gray8 => Target::Gray { full_range_source },
            PixelFormat::Yuv420p => Target::Yuv420p { full_range_source },
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    Bgr,
    Rgb,
}

/// The matrices [`Direct`] maps (the same set swscale's scaler picks from).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Matrix {
    Bt601,
    Bt709,
    Bt2020,
    Fcc,
}

impl Matrix {
    /// The matrix the frame's colour space means, as [`Scaler`] reads it.
    fn of(space: ColorSpace) -> Option<Self> {
        match space {
            ColorSpace::Bt709 => Some(Matrix::Bt709),
            ColorSpace::Bt2020 => Some(Matrix::Bt2020),
            ColorSpace::Fcc => Some(Matrix::Fcc),
            // SMPTE 240M (obsolete analogue HD): the `yuv` crate's result is
            // up to 73 levels off swscale's on saturated colours; left to swscale.
            // YUV samples tagged as RGB: left to swscale, whatever it makes of them.
            ColorSpace::Smpte240m | ColorSpace::Rgb => None,
            // swscale's SWS_CS_DEFAULT, at every size.
            _ => Some(Matrix::Bt601),
        }
    }

    fn yuv(self) -> YuvStandardMatrix {
        match self {
            Matrix::Bt601 => YuvStandardMatrix::Bt601,
            Matrix::Bt709 => YuvStandardMatrix::Bt709,
            Matrix::Bt2020 => YuvStandardMatrix::Bt2020,
            Matrix::Fcc => YuvStandardMatrix::Fcc,
        }
    }
}

impl<'a> Direct<'a> {
    /// The frame's planes and the conversion into `layout`, or `None` when
    /// this is swscale's job: another source format or size, `nv12` out,
    /// RGB-tagged YUV, or planes that cannot be read in place (a bottom-up
    /// picture).
    pub fn new(frame: &'a VideoFrame, layout: &FrameLayout) -> Option<Self> {
        if (frame.width(), frame.height()) != (layout.width(), layout.height()) {
            return None;
        }
        let full_range_source = frame.color_range() == ColorRange::Full;
        if frame.is_nv12() {
            // Gray is nv12's luma plane; anything else is swscale's job.
            if layout.format() != PixelFormat::Gray8 {
                return None;
            }
            let luma = frame.plane(0)?;
            return Some(Self {
                // Gray reads only the luma plane; the other two are never read.
                planes: [luma, luma, luma],
                width: frame.width(),
                height: frame.height(),
                first_row: 0,
                layout_height: layout.height(),
                target: Target::Gray { full_range_source },
            });
        }
        if !frame.is_yuv420p() {
            return None;
        }
        let target = Target::of(full_range_source, frame.color_space(), layout)?;
        Some(Self {
            planes: [frame.plane(0)?, frame.plane(1)?, frame.plane(2)?],
            width: frame.width(),
            height: frame.height(),
            first_row: 0,
            layout_height: layout.height(),
            target,
        })
    }

    /// Where the rows of `band` that a conversion into `layout` can take now
    /// end: its final rows within the layout's, for RGB on an even row
    /// unless at the bottom (a chroma row is final only with both its luma
    /// rows; the next band takes the odd one).
    pub fn band_end(band: &Band<'_>, layout: &FrameLayout) -> usize {
        let height = layout.height() as usize;
        let end = band.done().min(height);
        if layout.format() == PixelFormat::Gray8 || end == height {
            end
        } else {
            end - end % 2
        }
    }

    /// Rows `rows` of the picture a decoder is decoding, which `band` says
    /// are final, to convert into the same rows of `layout` (see
    /// [`crate::ffmpeg::Band`]): RGB and gray targets from 4:2:0 frame
    /// pictures as wide as the layout and at least as tall (the decoder's
    /// picture has its coded height; the rows past the layout's are cropped).
    /// `None` when [`new`](Self::new) would not take the picture either, or
    /// for chroma rows not yet final (RGB rows start and end on even rows).
    pub fn band(band: &Band<'a>, layout: &FrameLayout, rows: Range<usize>) -> Option<Self> {
        let fits = band.width() == layout.width()
            && band.height() >= layout.height()
            && rows.end <= layout.height() as usize
            && !rows.is_empty();
        if !fits || !band.is_frame() || !band.is_yuv420p() {
            return None;
        }
        let full_range_source = band.color_range() == ColorRange::Full;
        let target = Target::of(full_range_source, band.color_space(), layout)?;
        let planes = match target {
            Target::Gray { .. } => {
                // Gray reads only the luma plane; the other two are never read.
                let luma = band.plane(0, rows.clone())?;
                [luma, luma, luma]
            }
            Target::Rgb { .. } => [
                band.plane(0, rows.clone())?,
                band.plane(1, rows.clone())?,
                band.plane(2, rows.clone())?,
            ],
            Target::Yuv420p { .. } => return None,
        };
        Some(Self {
            planes,
            width: layout.width(),
            height: u32::try_from(rows.len()).ok()?,
            first_row: u32::try_from(rows.start).ok()?,
            layout_height: layout.height(),
            target,
        })
    }

    /// Converts into `dst`, whose layout must be the one given to
    /// [`new`](Self::new).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] when `dst` has another layout (nothing is
    /// written then).
    pub fn convert_into(&self, dst: &mut SlotWriter<'_>) -> Result<()> {
        let layout = *dst.layout();
        self.convert_into_planes(&layout, dst.planes_mut())
    }

    /// [`convert_into`](Self::convert_into) planes laid out as `layout`
    /// ([`SlotWriter::planes_mut`], [`Lease::planes_mut`](crate::slab::Lease::planes_mut)):
    /// writes the rows this conversion covers, and nothing else.
    ///
    /// # Errors
    /// As [`convert_into`](Self::convert_into).
    pub fn convert_into_planes(&self, layout: &FrameLayout, planes: [&mut [u8]; 3]) -> Result<()> {
        let layout = *layout;
        if (layout.width(), layout.height()) != (self.width, self.layout_height) {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "a {}x{} frame cannot go into a {}x{} slot without resizing",
                    self.width,
                    self.layout_height,
                    layout.width(),
                    layout.height()
                ),
            ));
        }
        // A band's rows start `first_row` rows down (chroma: half as many).
        let first = self.first_row as usize;
        let offset = |plane: usize| {
            let rows = if plane == 0 { first } else { first / 2 };
            rows * layout.planes().get(plane).map_or(0, |p| p.stride)
        };
        let mut planes = planes;
        for (index, out) in planes.iter_mut().enumerate() {
            let skip = offset(index).min(out.len());
            *out = &mut std::mem::take(out)[skip..];
        }
        let [out0, out1, out2] = planes;
        let strides = layout.planes().iter().map(|plane| plane.stride);
        match (self.target, layout.format()) {
            (
                Target::Rgb {
                    order,
                    full_range_source,
                    matrix,
                },
                PixelFormat::Bgr24 | PixelFormat::Rgb24,
            ) => self.rgb(
                out0,
                layout.planes()[0].stride,
                order,
                full_range_source,
                matrix,
            ),
            (Target::Gray { full_range_source }, PixelFormat::Gray8) => {
                let rows = Rows(self.planes[0]);
                if full_range_source {
                    rows.copy_into(out0, layout.planes()[0].stride);
                } else {
                    // Arithmetic, not a 256-entry table: the compiler
                    // vectorises it, 0.15–0.18 against 0.47–0.66 ms per
                    // 1080p plane (`cargo bench --bench fit`).
                    rows.map_into(out0, layout.planes()[0].stride, limited_to_full_luma);
                }
                Ok(())
            }
            (Target::Yuv420p { full_range_source }, PixelFormat::Yuv420p) => {
                let outputs = [out0, out1, out2];
                for (index, ((out, stride), plane)) in outputs
                    .into_iter()
                    .zip(strides)
                    .zip(self.planes)
                    .enumerate()
                {
                    let rows = Rows(plane);
                    match (full_range_source, index) {
                        (false, _) => rows.copy_into(out, stride),
                        (true, 0) => rows.map_into(out, stride, full_to_limited_luma),
                        (true, _) => rows.map_into(out, stride, full_to_limited_chroma),
                    }
                }
                Ok(())
            }
            _ => Err(Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "a conversion planned for another format cannot write {}",
                    layout.format()
                ),
            )),
        }
    }

    /// The `yuv` crate's 4:2:0 → packed RGB, straight into the slot's plane:
    /// in one call when the source planes have no padding between rows (the
    /// usual camera sizes: 1280 and 1920 wide rows are already aligned), else
    /// row by row, since the crate reads strided slices and the padding is
    /// not the picture's to hand out (see [`Plane`]).
    fn rgb(
        &self,
        out: &mut [u8],
        stride: usize,
        order: Order,
        full_range_source: bool,
        matrix: Matrix,
    ) -> Result<()> {
        let [y, u, v] = self.planes;
        match (y.as_contiguous(), u.as_contiguous(), v.as_contiguous()) {
            (Some(y_plane), Some(u_plane), Some(v_plane)) => {
                let image = YuvPlanarImage {
                    y_plane,
                    y_stride: stride32(y.row_bytes())?,
                    u_plane,
                    u_stride: stride32(u.row_bytes())?,
                    v_plane,
                    v_stride: stride32(v.row_bytes())?,
                    width: self.width,
                    height: self.height,
                };
                self.rgb_image(&image, out, stride, order, full_range_source, matrix)
            }
            _ => self.rgb_by_rows(out, stride, order, full_range_source, matrix),
        }
    }

    /// [`rgb`](Self::rgb) one row at a time: each luma row with its chroma
    /// row (`y / 2`) as a one-row image, which the crate converts as it would
    /// inside a whole picture (chroma repeated over each 2×2 block).
    fn rgb_by_rows(
        &self,
        out: &mut [u8],
        stride: usize,
        order: Order,
        full_range_source: bool,
        matrix: Matrix,
    ) -> Result<()> {
        let [y, u, v] = self.planes;
        let out_row_bytes = self.width as usize * 3;
        for (row, out_row) in out.chunks_mut(stride).take(y.row_count()).enumerate() {
            let image = YuvPlanarImage {
                y_plane: y.row(row),
                y_stride: stride32(y.row_bytes())?,
                u_plane: u.row(row / 2),
                u_stride: stride32(u.row_bytes())?,
                v_plane: v.row(row / 2),
                v_stride: stride32(v.row_bytes())?,
                width: self.width,
                height: 1,
            };
            let out_row = &mut out_row[..out_row_bytes];
            self.rgb_image(
                &image,
                out_row,
                out_row_bytes,
                order,
                full_range_source,
                matrix,
            )?;
        }
        Ok(())
    }

    fn rgb_image(
        &self,
        image: &YuvPlanarImage<'_, u8>,
        out: &mut [u8],
        stride: usize,
        order: Order,
        full_range_source: bool,
        matrix: Matrix,
    ) -> Result<()> {
        let range = if full_range_source {
            YuvRange::Full
        } else {
            YuvRange::Limited
        };
        let convert = match order {
            Order::Bgr => yuv::yuv420_to_bgr,
            Order::Rgb => yuv::yuv420_to_rgb,
        };
        convert(image, out, stride32(stride)?, range, matrix.yuv()).map_err(|error| {
            // The planes and the slot were sized for exactly this picture, so
            // the crate's own checks do not fail; if they ever do, say why.
            Error::new(
                ErrorKind::InvalidData,
                format!(
                    "converting a {}x{} yuv420p frame: {error}",
                    self.width, self.height
                ),
            )
        })
    }
}

/// A row stride as the `yuv` crate takes it.
fn stride32(stride: usize) -> Result<u32> {
    u32::try_from(stride).map_err(|_| {
        Error::new(
            ErrorKind::InvalidConfig,
            format!("row stride {stride} is too large"),
        )
    })
}

/// The rows of one source plane, to copy or map into a slot's plane.
struct Rows<'a>(Plane<'a>);

impl<'a> Rows<'a> {
    /// Each source row with its destination row (`row_bytes` bytes of each).
    fn pairs<'d>(
        &self,
        out: &'d mut [u8],
        out_stride: usize,
    ) -> impl Iterator<Item = (&'d mut [u8], &'a [u8])> {
        let width = self.0.row_bytes();
        out.chunks_mut(out_stride)
            .zip(self.0.rows())
            .map(move |(dst, src)| (&mut dst[..width], src))
    }

    fn copy_into(&self, out: &mut [u8], out_stride: usize) {
        for (dst, src) in self.pairs(out, out_stride) {
            dst.copy_from_slice(src);
        }
    }

    /// Applies `map` to every sample; `map` is plain integer arithmetic the
    /// compiler vectorises.
    fn map_into(&self, out: &mut [u8], out_stride: usize, map: impl Fn(u8) -> u8) {
        for (dst, src) in self.pairs(out, out_stride) {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = map(s);
            }
        }
    }
}

// The range maps below are exact (round half up, as swscale rounds) and use
// only 16-bit arithmetic and divisions by constants, which the compiler turns
// into 16-lane multiplies: a 1080p plane takes well under a millisecond.

/// Limited-range luma (16..=235) stretched to 0..=255: `(y − 16) × 255 / 219`
/// rounded, clamped; computed as `v + round(36 v / 219)`.
#[inline(always)]
fn limited_to_full_luma(y: u8) -> u8 {
    let v = u16::from(y.saturating_sub(16).min(219));
    (v + (v * 36 + 109) / 219) as u8
}

/// Full-range luma squeezed to 16..=235: `y × 219 / 255 + 16`, rounded.
#[inline(always)]
pub(crate) fn full_to_limited_luma(y: u8) -> u8 {
    (16 + (u16::from(y) * 219 + 127) / 255) as u8
}

/// Full-range chroma squeezed to 16..=240: `c × 224 / 255 + 16`, rounded.
#[inline(always)]
fn full_to_limited_chroma(c: u8) -> u8 {
    (16 + (u16::from(c) * 224 + 127) / 255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_maps_match_the_exact_formulas() {
        for value in 0..=255u8 {
            let v = f64::from(value);
            let exact = ((v - 16.0) * 255.0 / 219.0).round().clamp(0.0, 255.0);
            assert_eq!(
                f64::from(limited_to_full_luma(value)),
                exact,
                "luma {value}"
            );
            let exact = (v * 219.0 / 255.0 + 16.0).round();
            assert_eq!(
                f64::from(full_to_limited_luma(value)),
                exact,
                "luma {value}"
            );
            let exact = (v * 224.0 / 255.0 + 16.0).round();
            assert_eq!(
                f64::from(full_to_limited_chroma(value)),
                exact,
                "chroma {value}"
            );
        }
    }

    #[test]
    fn unsignalled_and_unknown_matrices_are_bt601_and_rgb_is_left_to_swscale() {
        assert_eq!(Matrix::of(ColorSpace::Unspecified), Some(Matrix::Bt601));
        assert_eq!(Matrix::of(ColorSpace::Other), Some(Matrix::Bt601));
        assert_eq!(Matrix::of(ColorSpace::Bt709), Some(Matrix::Bt709));
        assert_eq!(Matrix::of(ColorSpace::Rgb), None);
    }

    #[test]
    fn row_by_row_rgb_is_the_whole_picture_conversion() {
        // 128 wide: rows without padding, so both paths can take the picture.
        let (width, height) = (128, 6);
        let mut frame =
            VideoFrame::new_yuv420p(width, height, ColorRange::Limited, ColorSpace::Bt709).unwrap();
        for index in 0..3 {
            let mut plane = frame.plane_mut(index).unwrap();
            for (y, row) in plane.rows_mut().enumerate() {
                for (x, sample) in row.iter_mut().enumerate() {
                    *sample = (x * 7 + y * 31 + index * 50) as u8;
                }
            }
        }
        let layout = FrameLayout::new(width, height, PixelFormat::Bgr24).unwrap();
        let direct = Direct::new(&frame, &layout).unwrap();
        assert!(direct
            .planes
            .iter()
            .all(|plane| plane.as_contiguous().is_some()));
        let stride = width as usize * 3 + 64;
        let mut whole = vec![0; stride * height as usize];
        let mut by_rows = whole.clone();
        for (order, full, matrix) in [
            (Order::Bgr, false, Matrix::Bt709),
            (Order::Rgb, true, Matrix::Bt601),
        ] {
            direct.rgb(&mut whole, stride, order, full, matrix).unwrap();
            direct
                .rgb_by_rows(&mut by_rows, stride, order, full, matrix)
                .unwrap();
            assert_eq!(whole, by_rows, "{order:?}");
        }
    }

    #[test]
    fn engines_have_names() {
        assert_eq!(Engine::Direct.to_string(), "direct");
        assert_eq!(Engine::Swscale.to_string(), "swscale");
    }
}
