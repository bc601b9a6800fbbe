//! [`ContentRect`]: where the source picture lies inside a frame, so that a
//! detector's boxes on a letterboxed (or stretched) frame map back to the
//! camera's pixels.

/// The rectangle of a frame the source picture was scaled into, and the
/// source size it came from. The rest of the frame is padding (see
/// [`ResizeMode::Letterbox`](crate::convert::ResizeMode::Letterbox)).
///
/// At the source size, or stretched, the rectangle is the whole frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ContentRect {
    /// Left edge, in frame pixels.
    pub x: u32,
    /// Top edge, in frame pixels.
    pub y: u32,
    /// Width of the picture in the frame.
    pub width: u32,
    /// Height of the picture in the frame.
    pub height: u32,
    /// Width of the decoded source picture.
    pub source_width: u32,
    /// Height of the decoded source picture.
    pub source_height: u32,
}

impl ContentRect {
    /// The whole of a `width` × `height` frame, from a source of that size.
    pub fn full(width: u32, height: u32) -> Self {
        Self {
            x: 0,
            y: 0,
            width,
            height,
            source_width: width,
            source_height: height,
        }
    }

    /// Frame pixels per source pixel, `(x, y)`: equal when the aspect ratio
    /// was kept (up to the rounding of the picture to whole pixels).
    pub fn scale(&self) -> (f64, f64) {
        (
            f64::from(self.width) / f64::from(self.source_width.max(1)),
            f64::from(self.height) / f64::from(self.source_height.max(1)),
        )
    }

    /// A point of the frame (a box corner a detector found) in source
    /// pixels. Points in the padding map outside the source picture.
    pub fn to_source(&self, x: f64, y: f64) -> (f64, f64) {
        let (scale_x, scale_y) = self.scale();
        (
            (x - f64::from(self.x)) / scale_x,
            (y - f64::from(self.y)) / scale_y,
        )
    }

    /// Whether the picture covers the whole `width` × `height` frame.
    pub fn covers(&self, width: u32, height: u32) -> bool {
        (self.x, self.y, self.width, self.height) == (0, 0, width, height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_map_back_to_source_pixels() {
        let rect = ContentRect {
            x: 0,
            y: 140,
            width: 640,
            height: 360,
            source_width: 1920,
            source_height: 1080,
        };
        assert_eq!(rect.scale(), (1.0 / 3.0, 1.0 / 3.0));
        assert_eq!(rect.to_source(320.0, 320.0), (960.0, 540.0));
        assert_eq!(rect.to_source(0.0, 140.0), (0.0, 0.0));
        assert!(!rect.covers(640, 640));
        assert!(ContentRect::full(640, 640).covers(640, 640));
    }
}
