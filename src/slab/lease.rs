//! [`Lease`]: a free slot lent to a decoder, so that it decodes the picture
//! straight into the slot (FFmpeg's `get_buffer2`) and the frame is published
//! without a copy ([`Producer::commit_lent`](super::Producer::commit_lent)).
//!
//! A lease is one counted reference to the slot. While the decoder holds it
//! (for as long as the picture is a reference for others), the slot is not
//! free, exactly as while a reader holds a [`Frame`](super::Frame): the
//! producer's `Arc::get_mut` never succeeds on it. The decoder writes the
//! pixels through [`Lease::as_mut_ptr`] only before the frame is committed;
//! after that it only reads them, as readers do.

use std::ffi::c_void;

use super::frame::Slot;
use super::layout::FrameLayout;
use crate::sync::Arc;

/// A slot lent to a decoder; see the module docs. Dropping it gives the slot
/// back (once nothing else refers to it, it is free).
pub struct Lease {
    slot: Arc<Slot>,
}

impl Lease {
    pub(crate) fn new(slot: Arc<Slot>) -> Self {
        Self { slot }
    }

    /// The geometry the decoder must write in: planes at
    /// [`Plane::offset`](super::Plane::offset) from [`as_mut_ptr`](Self::as_mut_ptr),
    /// [`Plane::stride`](super::Plane::stride) apart, within
    /// [`FrameLayout::len`] bytes.
    pub fn layout(&self) -> &FrameLayout {
        &self.slot.layout
    }

    /// The start of the slot's pixel buffer (64-byte aligned). Writing
    /// through it is sound only until the frame decoded into it is committed,
    /// and only from one thread at a time; the producer and readers do not
    /// touch a lent, uncommitted slot.
    pub fn as_mut_ptr(&self) -> *mut u8 {
        self.slot.pixels_ptr()
    }

    /// The lease as one pointer, for a C callback's opaque argument; give it
    /// back with [`from_raw`](Self::from_raw) exactly once.
    pub fn into_raw(self) -> *mut c_void {
        Arc::into_raw(self.slot).cast_mut().cast()
    }

    /// A lease from [`into_raw`](Self::into_raw)'s pointer.
    ///
    /// # Safety
    /// `raw` came from `into_raw` and is given back only once.
    pub unsafe fn from_raw(raw: *mut c_void) -> Self {
        // SAFETY: the caller's promise: `raw` is an `Arc<Slot>` from
        // `Arc::into_raw`, whose count it still owns.
        let slot = unsafe { Arc::from_raw(raw.cast_const().cast::<Slot>()) };
        Self { slot }
    }
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("layout", self.layout())
            .finish_non_exhaustive()
    }
}

/// A free slot lent to a converter that writes a picture into it piece by
/// piece (bands of rows as the decoder finishes them), to be published with
/// [`Producer::commit_conversion`](super::Producer::commit_conversion), which
/// takes it back. Unlike a [`Lease`], it is never shared before its commit,
/// so its holder writes the pixels through a plain `&mut`. Dropping it gives
/// the slot back.
pub struct ConversionLease {
    pub(super) slot: Arc<Slot>,
}

impl ConversionLease {
    /// The slot's layout.
    pub fn layout(&self) -> &FrameLayout {
        &self.slot.layout
    }

    /// The slot's planes to write into, in [`FrameLayout`]'s order and
    /// strides (padding included).
    pub fn planes_mut(&mut self) -> [&mut [u8]; 3] {
        let layout = self.slot.layout;
        // SAFETY: the slot was lent free (`Producer::lend_for_conversion`:
        // `get_mut` proved every other reference gone) and is published only
        // by `commit_conversion`, which consumes this lease: until then no
        // reader can reach it and the producer does not touch its pixels
        // (it takes only slots no lease refers to). The lease is not `Clone`,
        // and `&mut self` makes this the only access while the planes live.
        let bytes = unsafe { self.slot.lent_bytes_mut() };
        layout.split_mut(bytes)
    }
}

impl std::fmt::Debug for ConversionLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConversionLease")
            .field("layout", self.layout())
            .finish_non_exhaustive()
    }
}
