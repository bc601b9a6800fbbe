//! [`Band`] and [`BandSink`]: a picture's rows as the decoder finishes them
//! (FFmpeg's `draw_horiz_band`), so that a converter reads them while they
//! are still in the cache, instead of reading the whole picture back from
//! memory once the decoder outputs it.
//!
//! FFmpeg's H.264 decoder reports a band after each macroblock row it has
//! decoded and deblocked, top to bottom, for the picture being decoded (in
//! decoding order, so with B-frames not in output order). A reported row is
//! final in a clean decode: the deblocking filter runs 20 rows behind the
//! report. Only error concealment, at the picture's end, writes rows again;
//! whoever converts bands must convert a picture with decode errors again
//! from the whole picture (the output frame's flags say so). Interlaced
//! fields are reported as such ([`Band::is_frame`] false). Other decoders
//! (HEVC, MJPEG) report nothing.
//!
//! A sink is installed only on a decoder without threads of its own: FFmpeg
//! then calls it on the thread that feeds the decoder, inside
//! [`Decoder::send_packet`](super::Decoder::send_packet) or
//! [`receive_frame`](super::Decoder::receive_frame), never while the caller
//! looks at an output frame.

use std::ffi::c_int;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;

use ffmpeg_sys_next as ffi;

use super::frame::{ColorRange, ColorSpace, VideoFrame};
use super::plane::Plane;
use crate::sync::Mutex;

/// `draw_horiz_band`'s `type` for a frame picture (1 and 2 are the top and
/// bottom fields), as `AVCodecContext.draw_horiz_band`'s documentation fixes it.
const PICT_FRAME: c_int = 3;

/// Finished rows of the picture being decoded: every row above
/// [`done`](Self::done) is final (earlier bands' rows included).
pub struct Band<'a> {
    picture: &'a VideoFrame,
    done: usize,
    frame: bool,
}

impl<'a> Band<'a> {
    /// Which picture this is: the address of its first plane, which the
    /// decoder's output frame for it shares (`VideoFrame` planes point into
    /// the same buffer), and which no other picture the decoder holds has.
    pub fn picture_id(&self) -> usize {
        self.picture.get().data[0] as usize
    }

    /// Rows of the picture that are final, from the top.
    pub fn done(&self) -> usize {
        self.done
    }

    /// Whether the band is of a frame picture (not an interlaced field, whose
    /// rows are every other row of the frame).
    pub fn is_frame(&self) -> bool {
        self.frame
    }

    /// The picture's width.
    pub fn width(&self) -> u32 {
        self.picture.width()
    }

    /// The picture's height.
    pub fn height(&self) -> u32 {
        self.picture.height()
    }

    /// The picture's colour range.
    pub fn color_range(&self) -> ColorRange {
        self.picture.color_range()
    }

    /// The picture's matrix.
    pub fn color_space(&self) -> ColorSpace {
        self.picture.color_space()
    }

    /// Whether the picture is 8-bit 4:2:0 (`yuv420p` or `yuvj420p`).
    pub fn is_yuv420p(&self) -> bool {
        self.picture.is_yuv420p()
    }

    /// Luma rows `rows` of plane `index`, read in place: the same rows of the
    /// luma plane, or the chroma rows they share (from `rows.start / 2`).
    /// `None` for rows not yet final, or a chroma plane of rows that do not
    /// start on an even row or end on one (or at the picture's bottom): a
    /// chroma row is final only with both its luma rows.
    pub fn plane(&self, index: usize, rows: Range<usize>) -> Option<Plane<'a>> {
        if rows.end > self.done {
            return None;
        }
        let height = self.picture.height() as usize;
        let plane_rows = match index {
            0 => rows,
            _ => {
                let bottom = rows.end == height;
                if !rows.start.is_multiple_of(2) || (!rows.end.is_multiple_of(2) && !bottom) {
                    return None;
                }
                rows.start / 2..rows.end.div_ceil(2)
            }
        };
        let span = self.picture.plane_span(index)?.narrowed(plane_rows)?;
        // SAFETY: the span lies inside the picture's buffers (`plane_span`
        // checked it), which FFmpeg keeps alive and does not write while its
        // callback runs, and `'a` is that callback (see `draw_horiz_band`).
        // Its rows are final rows the decoder wrote: initialised.
        Some(unsafe { Plane::new(span) })
    }
}

/// What receives a decoder's bands ([`Decoder::tap_bands`](super::Decoder::tap_bands)).
pub trait BandSink: Send {
    /// Rows of a picture became final. Called inside the decoder: keep it to
    /// the work the rows need, and never block.
    fn band(&mut self, band: &Band<'_>);
}

/// A decoder's sink, which its context's opaque points to.
pub(super) struct BandTap {
    sink: Mutex<Box<dyn BandSink>>,
}

impl BandTap {
    pub(super) fn new(sink: Box<dyn BandSink>) -> Self {
        Self {
            sink: Mutex::new(sink),
        }
    }
}

/// The `draw_horiz_band` callback: hands the band to the sink.
///
/// # Safety
/// Called by FFmpeg only, on a context whose opaque is the decoder's
/// `BandTap` (see `install`), with the picture being decoded.
unsafe extern "C" fn draw_horiz_band(
    ctx: *mut ffi::AVCodecContext,
    src: *const ffi::AVFrame,
    _offset: *mut c_int,
    y: c_int,
    kind: c_int,
    height: c_int,
) {
    let Some(src) = NonNull::new(src.cast_mut()) else {
        return;
    };
    let (Ok(top), Ok(rows)) = (usize::try_from(y), usize::try_from(height)) else {
        return;
    };
    // SAFETY: the context's opaque is the decoder's tap, which outlives the
    // context (the decoder frees the context first).
    let tap = unsafe { &*(*ctx).opaque.cast::<BandTap>() };
    // SAFETY: FFmpeg's current picture, alive for the callback and not
    // written while it runs (FFmpeg waits for us); never freed by us.
    let picture = unsafe { VideoFrame::borrowed(src) };
    let band = Band {
        picture: &picture,
        done: top + rows,
        frame: kind == PICT_FRAME,
    };
    let mut sink = tap
        .sink
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // A panic must not unwind into FFmpeg; the frame it was converting is
    // converted whole at output, as for any band the sink did not take.
    let _ = catch_unwind(AssertUnwindSafe(|| sink.band(&band)));
}

/// Installs `tap` as `ctx`'s band callback.
///
/// # Safety
/// `ctx` is an open context we own, decoding without threads, whose opaque
/// nothing else uses, and `tap` outlives it.
pub(super) unsafe fn install(ctx: *mut ffi::AVCodecContext, tap: *const BandTap) {
    // SAFETY: the caller's promise; both fields are the user's to set, and
    // the decoder reads them at each band.
    unsafe {
        (*ctx).opaque = tap.cast_mut().cast();
        (*ctx).draw_horiz_band = Some(draw_horiz_band);
    }
}
