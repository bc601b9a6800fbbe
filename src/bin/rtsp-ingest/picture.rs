//! A frame as a picture: every slab pixel format to an RGB (or gray) image,
//! optionally scaled down, and encoded as JPEG, PNG or PPM. `snapshot` saves
//! one; the control API serves `/streams/{id}/snapshot.jpg` and `/mjpeg`.
//!
//! YUV turns into RGB with the BT.601 limited-range matrix (the library's
//! default when a stream does not signal its colour): for looking at a
//! camera, not for inference, which reads the slab's own pixels.

use image::{DynamicImage, GrayImage, ImageFormat, RgbImage};
use rtsp_ingest::slab::{Frame, PixelFormat};

/// The frame as an image at its own size.
pub fn image_of(frame: &Frame) -> DynamicImage {
    let (width, height) = (frame.width() as usize, frame.height() as usize);
    let rows = |plane: usize| (0..height).flat_map(move |y| frame.row(plane, y).iter().copied());
    let image = match frame.format() {
        PixelFormat::Gray8 => {
            let luma: Vec<u8> = (0..height)
                .flat_map(|y| frame.row(0, y)[..width].iter().copied())
                .collect();
            return GrayImage::from_raw(width as u32, height as u32, luma)
                .map_or_else(blank, DynamicImage::ImageLuma8);
        }
        PixelFormat::Rgb24 => rows(0).collect(),
        PixelFormat::Bgr24 => {
            let mut rgb: Vec<u8> = rows(0).collect();
            rgb.chunks_exact_mut(3).for_each(|pixel| pixel.swap(0, 2));
            rgb
        }
        PixelFormat::Yuv420p | PixelFormat::Nv12 => yuv_to_rgb(frame, width, height),
        PixelFormat::RgbPlanar => (0..height)
            .flat_map(|y| {
                let [r, g, b] = [0, 1, 2].map(|plane| frame.row(plane, y));
                (0..width).flat_map(move |x| [r[x], g[x], b[x]])
            })
            .collect(),
        _ => return blank(),
    };
    RgbImage::from_raw(width as u32, height as u32, image)
        .map_or_else(blank, DynamicImage::ImageRgb8)
}

/// The frame as an image no wider than `width` (keeping its aspect ratio).
#[cfg_attr(not(feature = "http"), allow(dead_code))]
pub fn scaled(frame: &Frame, width: Option<u32>) -> DynamicImage {
    let image = image_of(frame);
    match width {
        Some(width) if width < image.width() => {
            let height = (u64::from(image.height()) * u64::from(width) / u64::from(image.width()))
                .max(1) as u32;
            image.thumbnail_exact(width, height)
        }
        _ => image,
    }
}

/// `image` encoded as `format`.
#[cfg_attr(not(feature = "http"), allow(dead_code))]
pub fn encode(image: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>, image::ImageError> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, format)?;
    Ok(bytes.into_inner())
}

/// A 1x1 black picture, for a frame whose planes do not fit its size.
fn blank() -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::new(1, 1))
}

/// BT.601 limited range, fixed point (×256), for the planar and the
/// semi-planar 4:2:0 layouts.
fn yuv_to_rgb(frame: &Frame, width: usize, height: usize) -> Vec<u8> {
    let nv12 = frame.format() == PixelFormat::Nv12;
    let mut rgb = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        let luma = frame.row(0, y);
        for x in 0..width {
            let (u, v) = if nv12 {
                let chroma = frame.row(1, y / 2);
                (chroma[(x / 2) * 2], chroma[(x / 2) * 2 + 1])
            } else {
                (frame.row(1, y / 2)[x / 2], frame.row(2, y / 2)[x / 2])
            };
            let c = 298 * (i32::from(luma[x]) - 16);
            let (d, e) = (i32::from(u) - 128, i32::from(v) - 128);
            let clamp = |value: i32| ((value + 128) >> 8).clamp(0, 255) as u8;
            rgb.extend([
                clamp(c + 409 * e),
                clamp(c - 100 * d - 208 * e),
                clamp(c + 516 * d),
            ]);
        }
    }
    rgb
}
