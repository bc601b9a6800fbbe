//! [`PicturePool`]: decoding straight into slab slots. The decoder's
//! `get_buffer2` callback takes the slot the worker lent it
//! ([`Lease`], from [`Producer::lend`](crate::slab::Producer::lend)) and
//! hands FFmpeg the slot's planes as the picture's buffer, so the decoded
//! picture is published where it lies, with no copy
//! ([`Producer::commit_lent`](crate::slab::Producer::commit_lent)).
//!
//! The lease travels in the `AVBufferRef` as its opaque pointer: FFmpeg's
//! reference counting keeps the slot out of reuse while the decoder holds the
//! picture (a reference frame is held for as long as later frames predict
//! from it), and its free callback gives the lease back. The buffer is only
//! written before the picture is output (FFmpeg writes no buffer it shares
//! with another reference), so readers of the published frame only ever share
//! it with a decoder that reads it.
//!
//! A lease must be laid out exactly as FFmpeg's own buffers would be: H.264
//! predicts from its references with the current picture's strides, so lent
//! and default buffers must be interchangeable frame to frame. When no lease
//! waits in the mailbox, or it does not fit the picture asked for, the
//! callback falls back to `avcodec_default_get_buffer2` and counts it.

use std::ffi::{c_int, c_void};
use std::ptr;

use ffmpeg_sys_next as ffi;

use super::c_flag;
use super::frame::VideoFrame;
use crate::slab::{DecoderAlignment, FrameLayout, Lease};
use crate::sync::{AtomicU64, Mutex, Ordering};

/// Bytes FFmpeg's default buffers add after each plane (`16 + STRIDE_ALIGN -
/// 1`, with `STRIDE_ALIGN` the luma stride's alignment): what a lent plane
/// must have room for past its last padded row.
fn plane_tail(stride_align: usize) -> usize {
    16 + stride_align - 1
}

/// What the decoder last asked `get_buffer2` for, when it was a `yuv420p`
/// picture: the layout a lease needs, and how many pictures the decoder may
/// hold besides the one it gave out last (its reference frames from the SPS,
/// the frames it delays for reordering, the one it decodes, and one more per
/// extra frame thread).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asked {
    /// FFmpeg's own buffers' padded rows and strides (see
    /// [`FrameLayout::for_decoder`]).
    pub alignment: DecoderAlignment,
    /// Pictures the decoder may hold at once, besides the last one out.
    pub held: usize,
}

/// The mailbox between the worker and the callback.
#[derive(Debug, Default)]
struct Mailbox {
    lease: Option<Lease>,
    asked: Option<Asked>,
}

/// The lease the worker offers the decoder's next picture, and what became of
/// the pictures asked for. Shared by the decoder (its context's opaque
/// pointer) and the worker.
#[derive(Debug, Default)]
pub struct PicturePool {
    mailbox: Mutex<Mailbox>,
    fallbacks: AtomicU64,
}

impl PicturePool {
    /// Whether no lease waits: the worker should offer one.
    pub fn wants_lease(&self) -> bool {
        self.mailbox().lease.is_none()
    }

    /// Offers `lease` for the next picture (replacing a waiting one, which is
    /// given back).
    pub fn offer(&self, lease: Lease) {
        let old = self.mailbox().lease.replace(lease);
        drop(old);
    }

    /// What the decoder last asked for, if it was a `yuv420p` picture.
    pub fn asked(&self) -> Option<Asked> {
        self.mailbox().asked
    }

    /// Pictures decoded into FFmpeg's own buffers: no lease waited, or it
    /// did not fit the picture.
    pub fn fallbacks(&self) -> u64 {
        // Relaxed: a statistic; it publishes no other memory.
        self.fallbacks.load(Ordering::Relaxed)
    }

    fn mailbox(&self) -> std::sync::MutexGuard<'_, Mailbox> {
        // A panic cannot leave the mailbox half written: take the guard
        // anyway (the callback must never unwind into FFmpeg).
        self.mailbox
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Notes what `frame` asks for in `ctx`, and takes the waiting lease if
    /// it fits.
    ///
    /// # Safety
    /// `ctx` is the open context calling `get_buffer2` with `frame`.
    unsafe fn take_fitting(
        &self,
        ctx: *mut ffi::AVCodecContext,
        frame: &ffi::AVFrame,
    ) -> Option<Lease> {
        let mut mailbox = self.mailbox();
        let lease = mailbox.lease.take();
        if frame.format != ffi::AVPixelFormat::AV_PIX_FMT_YUV420P as c_int {
            return None;
        }
        // SAFETY: the caller's promise.
        let wanted = unsafe { default_alignment(ctx, frame.width, frame.height) }?;
        // SAFETY: as above; plain fields the decoder set before asking.
        let c = unsafe { &*ctx };
        let count = |value: c_int| usize::try_from(value).unwrap_or(0);
        // Frame threading decodes one picture per thread at once.
        let frame_threads = if c.active_thread_type & c_flag(ffi::FF_THREAD_FRAME) != 0 {
            count(c.thread_count).saturating_sub(1)
        } else {
            0
        };
        mailbox.asked = Some(Asked {
            alignment: wanted.alignment,
            held: count(c.refs) + count(c.has_b_frames) + 1 + frame_threads,
        });
        let lease = lease?;
        fits(lease.layout(), lease.as_mut_ptr(), &wanted).then_some(lease)
    }
}

/// What FFmpeg's default buffer for a `yuv420p` picture of `width` × `height`
/// would be in `ctx`: its padded rows, strides, and the strides' alignment.
struct Wanted {
    alignment: DecoderAlignment,
    stride_align: [usize; 3],
}

/// # Safety
/// `ctx` is an open decoder context.
unsafe fn default_alignment(
    ctx: *mut ffi::AVCodecContext,
    width: c_int,
    height: c_int,
) -> Option<Wanted> {
    let (mut w, mut h) = (width, height);
    let mut linesize_align = [0 as c_int; ffi::AV_NUM_DATA_POINTERS as usize];
    // SAFETY: an open DR1 decoder's context (the caller's promise) and
    // writable outputs, `linesize_align` with AV_NUM_DATA_POINTERS entries.
    unsafe { ffi::avcodec_align_dimensions2(ctx, &mut w, &mut h, linesize_align.as_mut_ptr()) };
    let stride_align = [0, 1, 2].map(|i| usize::try_from(linesize_align[i]).unwrap_or(0));
    if stride_align.contains(&0) {
        return None;
    }
    // FFmpeg's default buffers: the luma width grows by its lowest set bit
    // until every plane's stride is aligned (chroma strides are half, rounded
    // up, never aligned on their own).
    let mut luma = usize::try_from(w).ok().filter(|&w| w > 0)?;
    let strides = loop {
        let chroma = luma.div_ceil(2);
        let strides = [luma, chroma, chroma];
        if strides
            .iter()
            .zip(stride_align)
            .all(|(s, a)| s.is_multiple_of(a))
        {
            break strides;
        }
        luma += luma & luma.wrapping_neg();
    };
    Some(Wanted {
        alignment: DecoderAlignment {
            coded_height: u32::try_from(h).ok()?,
            strides,
        },
        stride_align,
    })
}

/// Whether a lease laid out as `layout` at `base` takes the picture `wanted`
/// describes: the same strides, every plane aligned, and room for the padded
/// rows plus FFmpeg's tail before the next plane.
fn fits(layout: &FrameLayout, base: *mut u8, wanted: &Wanted) -> bool {
    let planes = layout.planes();
    if planes.len() != 3 {
        return false;
    }
    let rows = wanted.alignment.coded_height as usize;
    let plane_rows = [rows, rows.div_ceil(2), rows.div_ceil(2)];
    let tail = plane_tail(wanted.stride_align[0]);
    (0..3).all(|i| {
        let end = planes.get(i + 1).map_or(layout.len(), |next| next.offset);
        let plane = planes[i];
        plane.stride == wanted.alignment.strides[i]
            && (base as usize + plane.offset).is_multiple_of(wanted.stride_align[i])
            && plane.offset + plane.stride * plane_rows[i] + tail <= end
    })
}

/// The `get_buffer2` callback: the waiting lease when it fits, else FFmpeg's
/// default buffer.
///
/// # Safety
/// Called by FFmpeg only, on a context whose opaque is the decoder's
/// `PicturePool` (see `Decoder::lend_pictures`).
unsafe extern "C" fn get_buffer(
    ctx: *mut ffi::AVCodecContext,
    frame: *mut ffi::AVFrame,
    flags: c_int,
) -> c_int {
    // SAFETY: the context's opaque is the decoder's pool, which outlives the
    // context (the decoder frees the context first); FFmpeg passes a live frame.
    let (pool, f) = unsafe { (&*(*ctx).opaque.cast::<PicturePool>(), &mut *frame) };
    // SAFETY: FFmpeg calls us with its open context and this frame.
    if let Some(lease) = unsafe { pool.take_fitting(ctx, f) } {
        // SAFETY: `lease` fits the picture (checked above) and `f` is the
        // frame FFmpeg asks us to fill.
        if unsafe { attach(f, lease) } {
            return 0;
        }
    }
    // Relaxed: a statistic.
    pool.fallbacks.fetch_add(1, Ordering::Relaxed);
    // SAFETY: the arguments FFmpeg gave us, passed on unchanged.
    unsafe { ffi::avcodec_default_get_buffer2(ctx, frame, flags) }
}

/// Points `frame`'s planes into `lease`'s slot and hands the lease to the
/// frame's buffer; false (lease given back) when FFmpeg has no memory for
/// the buffer reference.
///
/// # Safety
/// `lease` fits the picture `frame` asks for ([`fits`]).
unsafe fn attach(frame: &mut ffi::AVFrame, lease: Lease) -> bool {
    let layout = *lease.layout();
    let base = lease.as_mut_ptr();
    let token = lease.into_raw();
    // SAFETY: `base` is the slot's buffer of `layout.len()` bytes, which the
    // lease (now `token`) keeps alive until `release` gives it back.
    let buf = unsafe { ffi::av_buffer_create(base, layout.len(), Some(release), token, 0) };
    if buf.is_null() {
        // SAFETY: `token` came from `into_raw` and FFmpeg did not take it.
        drop(unsafe { Lease::from_raw(token) });
        return false;
    }
    frame.buf[0] = buf;
    for (i, plane) in layout.planes().iter().enumerate() {
        // SAFETY: the plane's offset lies inside the slot's buffer.
        frame.data[i] = unsafe { base.add(plane.offset) };
        frame.linesize[i] = c_int::try_from(plane.stride).expect("a stride fits a c_int");
    }
    for i in layout.planes().len()..frame.data.len() {
        frame.data[i] = ptr::null_mut();
        frame.linesize[i] = 0;
    }
    frame.extended_data = frame.data.as_mut_ptr();
    true
}

/// The lent buffer's free callback: gives the lease back.
///
/// # Safety
/// Called by FFmpeg once, with the opaque `attach` gave `av_buffer_create`.
unsafe extern "C" fn release(opaque: *mut c_void, _data: *mut u8) {
    // SAFETY: `opaque` is the `into_raw` token of the lease `attach` handed
    // FFmpeg, which calls this once, when the last reference goes.
    drop(unsafe { Lease::from_raw(opaque) });
}

/// Installs `pool` as `ctx`'s buffer source.
///
/// # Safety
/// `ctx` is an open context we own, and `pool` outlives it.
pub(super) unsafe fn install(ctx: *mut ffi::AVCodecContext, pool: *const PicturePool) {
    // SAFETY: the caller's promise; both fields are the user's to set, and a
    // decoder reads them at each picture (frame threads copy them per packet).
    unsafe {
        (*ctx).opaque = pool.cast_mut().cast();
        (*ctx).get_buffer2 = Some(get_buffer);
    }
}

/// The start of `frame`'s pixel buffer when its picture lies exactly as
/// `layout` lays it out from there (the same size, every plane at its offset
/// with its stride) in limited-range `yuv420p`: a picture decoded into a
/// lease of a slab with this layout, ready to commit in place. `None` for
/// anything else (then it is copied).
pub fn in_place(frame: &VideoFrame, layout: &FrameLayout) -> Option<*const u8> {
    let f = frame.get();
    let limited = f.color_range != ffi::AVColorRange::AVCOL_RANGE_JPEG;
    if f.format != ffi::AVPixelFormat::AV_PIX_FMT_YUV420P as c_int
        || !limited
        || (frame.width(), frame.height()) != (layout.width(), layout.height())
        || layout.planes().len() != 3
    {
        return None;
    }
    let base = f.data[0].cast_const();
    let placed = layout.planes().iter().enumerate().all(|(i, plane)| {
        c_int::try_from(plane.stride) == Ok(f.linesize[i])
            && f.data[i] as usize == base as usize + plane.offset
    });
    placed.then_some(base)
}
