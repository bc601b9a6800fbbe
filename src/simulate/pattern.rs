//! The simulator's test picture, drawn straight into yuv420p (BT.601, limited
//! range; full range for MJPEG), laid out in fractions of the frame so a test
//! can check it at any size, after any scaling:
//!
//! ```text
//! ┌──────────┬──────────┬──────────┬──────────┐  0
//! │   red    │  green   │   blue   │   grey   │
//! │▌█▌▌██▌▌█▌▌██▌█▌ the stamp (16 cells)      │  0.15 .. 0.29: see `stamp`
//! │          │   ▓▓  ← a white box moving right │  0.42 ..= 0.52: the box's rows
//! │          │          │          │          │
//! ├────┬────┬────┬────┬────┬────┬────┬────┬───┤  2/3
//! │ b7 │ b6 │ b5 │ b4 │ b3 │ b2 │ b1 │ b0 │    the frame index in the loop
//! └────┴────┴────┴────┴────┴────┴────┴────┴───┘  modulo 256, MSB left, white = 1
//! ```
//!
//! The same bands and bit blocks as the clips of `tests/fixtures/make_clips.sh`,
//! so the fixture's `pattern::check` reads frames from either; the box and the
//! [stamp](super::stamp) (the whole index, with a check) stay clear of every
//! point that check samples (rows 0.1, 1/3 and 0.6 of the bands, 0.72 and
//! below of the bits).

use super::stamp;

/// The bands' colours, left to right, in R, G, B.
pub const BANDS_RGB: [[u8; 3]; 4] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [128, 128, 128]];

/// The most frames a loop can have: the stamp holds 12 bits of index.
pub const MAX_FRAMES: u32 = stamp::MAX_INDEX + 1;

/// The box's rows, in fractions of the height.
const BOX_TOP: f64 = 0.42;
const BOX_BOTTOM: f64 = 0.52;

/// One colour in BT.601 Y, Cb, Cr: limited range, or full (JPEG) range.
fn yuv(rgb: [u8; 3], full_range: bool) -> [u8; 3] {
    let [r, g, b] = rgb.map(f64::from);
    let [y, cb, cr] = if full_range {
        [
            0.299 * r + 0.587 * g + 0.114 * b,
            128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b,
            128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b,
        ]
    } else {
        [
            16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0,
            128.0 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255.0,
            128.0 + (112.0 * r - 93.786 * g - 18.214 * b) / 255.0,
        ]
    };
    // In 0 ..= 255 (16 ..= 240 in limited range) by construction.
    [y, cb, cr].map(|v| v.round().clamp(0.0, 255.0) as u8)
}

/// A yuv420p picture buffer: three tightly packed planes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Yuv420Image {
    width: usize,
    height: usize,
    full_range: bool,
    planes: [Vec<u8>; 3],
}

impl Yuv420Image {
    /// A black limited-range picture; `width` and `height` must be even.
    pub fn new(width: usize, height: usize) -> Self {
        Self::with_range(width, height, false)
    }

    /// A black picture in limited range, or full (JPEG) range, as MJPEG
    /// encoders take it.
    pub fn with_range(width: usize, height: usize, full_range: bool) -> Self {
        let (cw, ch) = (width / 2, height / 2);
        let black = yuv([0; 3], full_range)[0];
        Self {
            width,
            height,
            full_range,
            planes: [
                vec![black; width * height],
                vec![128; cw * ch],
                vec![128; cw * ch],
            ],
        }
    }

    /// The Y, U and V planes (widths `width`, `width / 2`, `width / 2`).
    pub fn planes(&self) -> [&[u8]; 3] {
        [&self.planes[0], &self.planes[1], &self.planes[2]]
    }

    /// The RGB colour the pattern has at pixel `(x, y)` in frame `index`.
    pub fn pattern_rgb(width: usize, height: usize, index: u32, x: usize, y: usize) -> [u8; 3] {
        let (w, h) = (width.max(1), height.max(1));
        let box_top = (BOX_TOP * h as f64) as usize & !1;
        let box_bottom = (BOX_BOTTOM * h as f64) as usize & !1;
        let box_width = (w / 16).max(2) & !1;
        // 8 px per frame at 640 wide: across the frame in about 3 s at 25 fps.
        let step = (w / 80).max(2) & !1;
        let travel = w.saturating_sub(box_width).max(1);
        let box_left = ((usize::try_from(index).unwrap_or(0) * step) % travel) & !1;
        if y * 3 < h * 2 {
            if let Some(white) = stamp::pixel(w, h, index, x, y) {
                return if white { [255; 3] } else { [0; 3] };
            }
            if (box_top..box_bottom).contains(&y) && (box_left..box_left + box_width).contains(&x) {
                return [255, 255, 255];
            }
            BANDS_RGB[(x * 4 / w).min(3)]
        } else {
            let bit = (x * 8 / w).min(7);
            if (index >> (7 - bit)) & 1 == 1 {
                [255, 255, 255]
            } else {
                [0, 0, 0]
            }
        }
    }

    /// Draws frame `index` of the pattern (the bit blocks show it modulo
    /// 256, the stamp modulo 4096).
    pub fn draw(&mut self, index: u32) {
        self.draw_with_noise(index, 0);
    }

    /// Draws frame `index` with luma noise of up to `±amplitude` added to
    /// every pixel, different in every frame: a picture that costs an encoder
    /// (and a decoder) about as much as a camera's. The noise is a hash of
    /// the position and the index, so the same frame always looks the same.
    pub fn draw_with_noise(&mut self, index: u32, amplitude: u8) {
        let (width, height, full) = (self.width, self.height, self.full_range);
        let (cw, ch) = (width / 2, height / 2);
        let (low, high) = if full { (0, 255) } else { (16, 235) };
        let [luma, cb, cr] = &mut self.planes;
        let span = 2 * u32::from(amplitude) + 1;
        for y in 0..height {
            let row = &mut luma[y * width..(y + 1) * width];
            for (x, sample) in row.iter_mut().enumerate() {
                let base = yuv(Self::pattern_rgb(width, height, index, x, y), full)[0];
                *sample = if amplitude == 0 {
                    base
                } else {
                    let offset = i32::try_from(noise(x, y, index) % span).unwrap_or(0)
                        - i32::from(amplitude);
                    u8::try_from((i32::from(base) + offset).clamp(low, high)).unwrap_or(base)
                };
            }
        }
        // Chroma from the top-left pixel of each 2×2 block: every region's
        // edges are on even coordinates, so no block straddles two colours.
        for cy in 0..ch {
            for cx in 0..cw {
                let rgb = Self::pattern_rgb(width, height, index, cx * 2, cy * 2);
                let [_, u, v] = yuv(rgb, full);
                cb[cy * cw + cx] = u;
                cr[cy * cw + cx] = v;
            }
        }
    }
}

/// A well-mixed 32-bit hash of a pixel position and a frame index
/// (splitmix64's finaliser).
fn noise(x: usize, y: usize, index: u32) -> u32 {
    let x = u64::try_from(x).unwrap_or(0);
    let y = u64::try_from(y).unwrap_or(0);
    let mut h = x ^ (y << 20) ^ (u64::from(index) << 40);
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    u32::try_from(h >> 32).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_convert_to_bt601_limited_range() {
        assert_eq!(yuv([0, 0, 0], false), [16, 128, 128]);
        assert_eq!(yuv([255, 255, 255], false), [235, 128, 128]);
        assert_eq!(yuv([255, 0, 0], false), [81, 90, 240]);
        assert_eq!(yuv([0, 255, 0], false), [145, 54, 34]);
        assert_eq!(yuv([0, 0, 255], false), [41, 240, 110]);
        assert_eq!(yuv([0, 0, 0], true), [0, 128, 128]);
        assert_eq!(yuv([255, 255, 255], true), [255, 128, 128]);
        assert_eq!(yuv([255, 0, 0], true), [76, 85, 255]);
    }

    #[test]
    fn bands_bits_and_a_moving_box() {
        let (w, h) = (640, 360);
        let rgb = |index, fx: f64, fy: f64| {
            Yuv420Image::pattern_rgb(
                w,
                h,
                index,
                (fx * w as f64) as usize,
                (fy * h as f64) as usize,
            )
        };
        for index in [0, 1, 77, 255] {
            for (band, want) in BANDS_RGB.iter().enumerate() {
                for (dx, fy) in [(0.5, 1.0 / 3.0), (0.25, 0.1), (0.75, 0.6)] {
                    assert_eq!(rgb(index, (band as f64 + dx) / 4.0, fy), *want);
                }
            }
            for bit in 0..8 {
                let want = if (index >> (7 - bit)) & 1 == 1 {
                    255
                } else {
                    0
                };
                for (dx, fy) in [(0.5, 5.0 / 6.0), (0.25, 0.72), (0.75, 0.95)] {
                    assert_eq!(rgb(index, (bit as f64 + dx) / 8.0, fy), [want; 3]);
                }
            }
        }
        // The box moves.
        let white_at =
            |index| (0..w).find(|&x| Yuv420Image::pattern_rgb(w, h, index, x, 170) == [255; 3]);
        assert_eq!(white_at(0), Some(0));
        assert_eq!(white_at(10), Some(80));
        let mut image = Yuv420Image::new(w, h);
        image.draw(5);
        let [y, u, v] = image.planes();
        assert_eq!((y.len(), u.len(), v.len()), (w * h, w * h / 4, w * h / 4));
        assert_eq!(y[10 * w + 10], 81, "red luma");
        assert_eq!(u[5 * (w / 2) + 5], 90, "red cb");
    }

    #[test]
    fn the_stamp_is_drawn_in_both_ranges_and_reads_back() {
        let (w, h) = (640, 360);
        for full_range in [false, true] {
            let mut image = Yuv420Image::with_range(w, h, full_range);
            for index in [0, 1, 255, 256, 4095] {
                image.draw_with_noise(index, 12);
                let luma = image.planes()[0];
                let read = stamp::read_with(w, h, 1, |x, y| u32::from(luma[y * w + x]));
                assert_eq!(read, Some(index), "full range: {full_range}");
            }
        }
    }
}
