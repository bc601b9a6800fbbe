//! [`Plane`] and [`PlaneMut`]: one plane of a [`VideoFrame`](super::VideoFrame)
//! as rows of the picture's own bytes, without the padding between them.
//!
//! A plane's rows lie `stride` bytes apart, and only the first `row_bytes` of
//! each are the picture's. The rest of each stride is alignment padding that no
//! decoder writes; whether it was ever initialised depends on the buffer pool
//! (libavcodec's default pools are zero-filled, libdav1d's, a hardware
//! download's or a custom `get_buffer2`'s need not be). A Rust slice over
//! uninitialised bytes is undefined behaviour even unread, so these types never
//! form one: they hand out each row's `row_bytes`, or the whole plane only when
//! it has no padding at all.

use std::marker::PhantomData;
use std::ptr::NonNull;

/// A plane's rows, `stride` bytes apart, each `row_bytes` picture bytes; as
/// checked by `VideoFrame::plane_span`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span {
    pub(crate) data: NonNull<u8>,
    pub(crate) stride: usize,
    pub(crate) row_bytes: usize,
    pub(crate) rows: usize,
}

impl Span {
    /// Rows `rows` of the span alone; `None` past its end or when empty.
    pub(crate) fn narrowed(self, rows: std::ops::Range<usize>) -> Option<Self> {
        if rows.start >= rows.end || rows.end > self.rows {
            return None;
        }
        // SAFETY: `rows.start < self.rows`, so the offset stays inside the span.
        let data = unsafe { self.data.add(rows.start * self.stride) };
        Some(Self {
            data,
            rows: rows.end - rows.start,
            ..self
        })
    }

    /// Row `y`'s first byte.
    ///
    /// # Safety
    /// `y < rows`.
    unsafe fn row_start(&self, y: usize) -> *mut u8 {
        // SAFETY: `y < rows` (the caller's promise), so the offset is inside the
        // plane's span, which `plane_span` checked lies in one buffer.
        unsafe { self.data.as_ptr().add(y * self.stride) }
    }

    fn check(&self, y: usize) {
        assert!(y < self.rows, "row {y} of a plane of {} rows", self.rows);
    }
}

/// One plane of a picture, read in place: [`row_count`](Self::row_count) rows
/// of [`row_bytes`](Self::row_bytes) bytes each, [`stride`](Self::stride)
/// bytes apart in memory. Only the picture's bytes can be read; see the module
/// docs for why the padding between rows cannot.
#[derive(Clone, Copy, Debug)]
pub struct Plane<'a> {
    span: Span,
    /// Borrows the frame: its buffers stay alive and unwritten meanwhile.
    _frame: PhantomData<&'a [u8]>,
}

impl<'a> Plane<'a> {
    /// # Safety
    /// `span` lies inside buffers that stay alive, and that nothing writes, for
    /// `'a`, and each of its rows' `row_bytes` bytes is initialised.
    pub(crate) unsafe fn new(span: Span) -> Self {
        Self {
            span,
            _frame: PhantomData,
        }
    }

    /// Picture bytes per row.
    pub fn row_bytes(&self) -> usize {
        self.span.row_bytes
    }

    /// Rows in the plane.
    pub fn row_count(&self) -> usize {
        self.span.rows
    }

    /// Bytes from one row's start to the next (at least `row_bytes`).
    pub fn stride(&self) -> usize {
        self.span.stride
    }

    /// Row `y`'s `row_bytes` bytes.
    ///
    /// # Panics
    /// When `y` is not below [`row_count`](Self::row_count).
    pub fn row(&self, y: usize) -> &'a [u8] {
        self.span.check(y);
        // SAFETY: `y < rows` (checked); the row's `row_bytes` bytes are the
        // picture's, initialised and unwritten for `'a` (`new`'s contract).
        unsafe { std::slice::from_raw_parts(self.span.row_start(y), self.span.row_bytes) }
    }

    /// Every row, top to bottom.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + 'a {
        let plane = *self;
        (0..plane.span.rows).map(move |y| plane.row(y))
    }

    /// The whole plane as one slice of `row_count × row_bytes` bytes, when its
    /// rows follow each other without padding (`stride == row_bytes`).
    pub fn as_contiguous(&self) -> Option<&'a [u8]> {
        let span = &self.span;
        (span.stride == span.row_bytes).then(|| {
            // SAFETY: without padding the span's `rows × row_bytes` bytes are
            // all rows' bytes, initialised and unwritten for `'a` (`new`).
            unsafe { std::slice::from_raw_parts(span.data.as_ptr(), span.rows * span.row_bytes) }
        })
    }
}

/// One plane of a picture to write into: as [`Plane`], with each row's bytes
/// writable.
#[derive(Debug)]
pub struct PlaneMut<'a> {
    span: Span,
    /// Borrows the frame exclusively.
    _frame: PhantomData<&'a mut [u8]>,
}

impl<'a> PlaneMut<'a> {
    /// # Safety
    /// As [`Plane::new`], and nothing else reads or writes the buffers for `'a`.
    pub(crate) unsafe fn new(span: Span) -> Self {
        Self {
            span,
            _frame: PhantomData,
        }
    }

    /// Picture bytes per row.
    pub fn row_bytes(&self) -> usize {
        self.span.row_bytes
    }

    /// Rows in the plane.
    pub fn row_count(&self) -> usize {
        self.span.rows
    }

    /// Row `y`'s `row_bytes` bytes.
    ///
    /// # Panics
    /// When `y` is not below [`row_count`](Self::row_count).
    pub fn row_mut(&mut self, y: usize) -> &mut [u8] {
        self.span.check(y);
        // SAFETY: `y < rows` (checked); the row is initialised and exclusively
        // ours (`new`'s contract) while `&mut self` is borrowed.
        unsafe { std::slice::from_raw_parts_mut(self.span.row_start(y), self.span.row_bytes) }
    }

    /// Every row, top to bottom.
    pub fn rows_mut(&mut self) -> impl ExactSizeIterator<Item = &mut [u8]> + '_ {
        let span = self.span;
        (0..span.rows).map(move |y| {
            // SAFETY: `y < rows`; rows are `stride ≥ row_bytes` apart, so the
            // slices handed out do not overlap; initialised and exclusively
            // ours (`new`) while `&mut self` is borrowed.
            unsafe { std::slice::from_raw_parts_mut(span.row_start(y), span.row_bytes) }
        })
    }
}
