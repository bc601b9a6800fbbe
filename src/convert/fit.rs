//! How a source picture fits a resized frame: [`ResizeMode`] and [`Fit`],
//! which place the picture ([`Fit::place`]) and fill the padding around it
//! ([`fill_padding`]).
//!
//! A letterboxed frame is written once: swscale scales straight into the
//! picture's rectangle of the slot (plane pointers offset into it), and only
//! the bands around it are filled with the pad value, after the picture, so
//! that whatever swscale's SIMD writers put past the end of a picture row
//! (up to 45 bytes, see [`Scaler`](crate::ffmpeg::Scaler)) is overwritten.

use crate::names::named_enum;
use crate::slab::{ContentRect, FrameLayout, PixelFormat, SlotWriter};

named_enum! {
    /// How a picture is resized to a configured size of another aspect ratio.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    #[non_exhaustive]
    pub enum ResizeMode {
        /// Scale each axis to the target size (the picture is distorted when
        /// the aspect ratios differ).
        #[default]
        Stretch = "stretch",
        /// Keep the aspect ratio: the largest picture that fits, centred,
        /// the rest padded (what YOLO-style detectors are trained on).
        Letterbox = "letterbox",
    }
    display;
    parse "resize mode";
}

/// The grey YOLO pads letterboxed inputs with.
pub const DEFAULT_PAD_VALUE: u8 = 114;

/// A stream's resize mode and the value its padding is filled with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fit {
    /// Stretch or letterbox.
    pub mode: ResizeMode,
    /// The padding's level in every channel of an RGB or gray frame (0..=255,
    /// full range); YUV frames get this grey in limited range, neutral chroma.
    pub pad: u8,
}

impl Default for Fit {
    fn default() -> Self {
        Self {
            mode: ResizeMode::Stretch,
            pad: DEFAULT_PAD_VALUE,
        }
    }
}

impl Fit {
    /// Where a `source_width` × `source_height` picture goes in a frame of
    /// `layout`: the whole frame when stretching; when letterboxing, the
    /// largest rectangle of the source's aspect ratio (each side rounded to
    /// whole pixels, at least 1), centred; in formats with subsampled chroma
    /// its corner is moved to even coordinates (at most one pixel up-left).
    pub fn place(
        &self,
        source_width: u32,
        source_height: u32,
        layout: &FrameLayout,
    ) -> ContentRect {
        let (width, height) = (layout.width(), layout.height());
        let mut rect = ContentRect::full(width, height);
        rect.source_width = source_width;
        rect.source_height = source_height;
        if self.mode == ResizeMode::Stretch || source_width == 0 || source_height == 0 {
            return rect;
        }
        // Compare the aspect ratios exactly, in integers: the side that
        // limits the scale is the one whose ratio is smaller.
        let wide = u64::from(width) * u64::from(source_height)
            <= u64::from(height) * u64::from(source_width);
        let scaled = |side: u32, numerator: u32, denominator: u32| {
            let exact = u64::from(side) * u64::from(numerator);
            let rounded = (exact * 2 + u64::from(denominator)) / (2 * u64::from(denominator));
            u32::try_from(rounded).unwrap_or(u32::MAX).max(1)
        };
        if wide {
            rect.height = scaled(source_height, width, source_width).min(height);
        } else {
            rect.width = scaled(source_width, height, source_height).min(width);
        }
        rect.x = (width - rect.width) / 2;
        rect.y = (height - rect.height) / 2;
        if layout.format().is_subsampled() {
            rect.x &= !1;
            rect.y &= !1;
        }
        rect
    }
}

/// Fills every byte of `dst`'s planes outside `rect` (rows of picture bytes,
/// not the row padding) with `pad` as [`Fit::pad`] describes.
pub(crate) fn fill_padding(dst: &mut SlotWriter<'_>, rect: ContentRect, pad: u8) {
    let layout = *dst.layout();
    if rect.covers(layout.width(), layout.height()) {
        return;
    }
    let format = layout.format();
    for (index, (plane, bytes)) in layout.planes().iter().zip(dst.planes_mut()).enumerate() {
        let value = pad_sample(format, index, pad);
        let (pixel_bytes, x_shift, y_shift) = format.plane_sampling(index);
        let left = (rect.x >> x_shift) as usize * pixel_bytes;
        let right = ((rect.x + rect.width).div_ceil(1 << x_shift) as usize * pixel_bytes)
            .min(plane.row_bytes);
        let top = (rect.y >> y_shift) as usize;
        let bottom = ((rect.y + rect.height).div_ceil(1 << y_shift) as usize).min(plane.rows);
        for (row_index, row) in bytes.chunks_mut(plane.stride).take(plane.rows).enumerate() {
            let row = &mut row[..plane.row_bytes];
            if row_index < top || row_index >= bottom {
                row.fill(value);
            } else {
                row[..left].fill(value);
                row[right..].fill(value);
            }
        }
    }
}

/// The byte plane `index` of `format` is padded with for a `pad` grey.
fn pad_sample(format: PixelFormat, index: usize, pad: u8) -> u8 {
    match (format, index) {
        (PixelFormat::Yuv420p | PixelFormat::Nv12, 0) => super::full_to_limited_luma(pad),
        (PixelFormat::Yuv420p | PixelFormat::Nv12, _) => 128,
        _ => pad,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letterbox() -> Fit {
        Fit {
            mode: ResizeMode::Letterbox,
            pad: DEFAULT_PAD_VALUE,
        }
    }

    fn rect_of(rect: ContentRect) -> (u32, u32, u32, u32) {
        (rect.x, rect.y, rect.width, rect.height)
    }

    #[test]
    fn letterbox_keeps_the_aspect_ratio_centred() {
        let square = FrameLayout::new(640, 640, PixelFormat::Bgr24).unwrap();
        assert_eq!(
            rect_of(letterbox().place(1920, 1080, &square)),
            (0, 140, 640, 360)
        );
        // A portrait source: bands left and right.
        assert_eq!(
            rect_of(letterbox().place(1080, 1920, &square)),
            (140, 0, 360, 640)
        );
        // 4:3 into 16:9, rounded to whole pixels.
        let wide = FrameLayout::new(640, 360, PixelFormat::Rgb24).unwrap();
        assert_eq!(
            rect_of(letterbox().place(704, 576, &wide)),
            (100, 0, 440, 360)
        );
        // The same aspect ratio fills the frame.
        assert!(letterbox().place(1920, 1080, &wide).covers(640, 360));
        // Stretch always does.
        assert!(Fit::default().place(1080, 1920, &wide).covers(640, 360));
    }

    #[test]
    fn subsampled_formats_start_the_picture_on_even_pixels() {
        let layout = FrameLayout::new(640, 641, PixelFormat::Yuv420p).unwrap();
        let rect = letterbox().place(1920, 1080, &layout);
        assert_eq!(rect_of(rect), (0, 140, 640, 360));
        let odd = FrameLayout::new(641, 641, PixelFormat::Nv12).unwrap();
        let rect = letterbox().place(1080, 1920, &odd);
        assert_eq!((rect.x % 2, rect.y % 2), (0, 0));
        assert_eq!(rect.width, 361);
    }

    #[test]
    fn resize_modes_parse() {
        assert_eq!(
            "letterbox".parse::<ResizeMode>().unwrap(),
            ResizeMode::Letterbox
        );
        let error = "crop".parse::<ResizeMode>().unwrap_err();
        assert!(error.to_string().contains("stretch, letterbox"), "{error}");
    }
}
