//! One slot's contents (pixels and metadata) and [`Frame`], the shared handle to it.
//!
//! A slot is allocated once, when its slab is built. While any `Frame` points at
//! a slot, the producer cannot get unique access to it and so never rewrites it:
//! a handle is a stable, read-only view for as long as it lives.

use std::sync::Arc as StdArc;
use std::time::{Duration, Instant, SystemTime};

use super::content::ContentRect;
use super::layout::{FrameLayout, PixelFormat, Plane};
use crate::names::named_enum;
use crate::sync::{Arc, UnsafeCell};
use std::ptr::NonNull;

named_enum! {
    /// How intact a decoded picture is. A stream publishes only `Clean` frames
    /// unless its damage policy is
    /// [`OnDamage::Flag`](crate::stream::OnDamage::Flag).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub enum Damage {
        /// Decoded without error from intact data, every reference clean.
        #[default]
        Clean = "clean",
        /// Part of the picture is guesswork: the decoder reported errors in it
        /// and concealed them, or packets of it were lost (RTP sequence gaps,
        /// a packet the demuxer flagged corrupt).
        Concealed = "concealed",
        /// Decoded without error, but from a reference that was damaged: no
        /// clean keyframe has come since the last damaged picture, so the damage
        /// may show (smeared, in the wrong place) until the next one.
        DamagedReference = "damaged_reference",
    }
    display;
    parse "damage";
}

impl Damage {
    /// Whether the picture is anything but [`Clean`](Damage::Clean).
    pub fn is_damaged(self) -> bool {
        self != Damage::Clean
    }
}

/// What the producer knows about a frame when it commits it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    /// Presentation time in nanoseconds, in the stream's own time base; `None` when
    /// the decoder gave none (a pts of 0 is a real pts, not a missing one).
    pub pts_ns: Option<i64>,
    /// Wall-clock capture time, when the camera sends RTCP sender reports.
    pub capture_time: Option<SystemTime>,
    /// When the frame's data arrived in this process.
    pub received: Instant,
    /// Whether the frame is a keyframe (an IDR picture).
    pub keyframe: bool,
    /// How intact the picture is.
    pub damage: Damage,
    /// When the frame passed each stage of the pipeline, where the producer
    /// recorded it.
    pub stages: StageTimes,
}

/// When a frame passed the pipeline's stages after [`FrameInfo::received`]
/// (the packet's arrival). Together with the time a consumer got the frame
/// they split its latency by stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StageTimes {
    /// When the decoder gave the picture out.
    pub decoded: Option<Instant>,
    /// When its pixels were in the slot and it was handed to the slab to
    /// publish (publication follows within a fraction of a microsecond).
    pub converted: Option<Instant>,
}

impl FrameInfo {
    /// A clean frame received now, with no pts, no capture time, not a
    /// keyframe, no stage times.
    pub fn received_now() -> Self {
        Self {
            pts_ns: None,
            capture_time: None,
            received: Instant::now(),
            keyframe: false,
            damage: Damage::Clean,
            stages: StageTimes::default(),
        }
    }
}

/// Everything known about a committed frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameMeta {
    /// The slab's sequence number: one per frame offered to the producer, so a gap
    /// between two frames a consumer sees counts the frames dropped between them.
    pub seq: u64,
    /// What the producer said at commit.
    pub info: FrameInfo,
}

/// A slot's pixel memory: one anonymous mapping (page-aligned, so 64-byte
/// aligned for SIMD and for FFmpeg's `STRIDE_ALIGN`), owned here.
///
/// A mapping rather than a zeroed allocation: its pages are the kernel's
/// shared zero page until first written, so slots a stream never needs (a
/// queue nobody pops) never become resident. An allocator's zeroed
/// allocation promises no such thing (mimalloc's writes its free list into
/// fresh pages, faulting in whole huge pages at slab creation).
///
/// Raw pointer access rather than a slice owner: a lent slot's pixels are
/// written by a decoder through a pointer ([`super::Lease`]) while the slot's
/// home `Arc` is shared. Who may read or write when is the slot's protocol
/// (see [`Slot`]); the buffer only holds the memory.
pub(crate) struct PixelBuffer {
    /// Owns the mapping (unmapped by its `Drop`); never read through, so
    /// every access goes through `ptr`.
    _map: memmap2::MmapMut,
    ptr: NonNull<u8>,
    /// Bytes in use: the layout's length.
    len: usize,
}

// SAFETY: the buffer owns its mapping like a `Box<[u8]>`, which is `Send`
// and `Sync`; what may access it when is `Slot`'s protocol.
unsafe impl Send for PixelBuffer {}
// SAFETY: as for `Send`.
unsafe impl Sync for PixelBuffer {}

impl PixelBuffer {
    fn zeroed(len: usize) -> Self {
        let mut map = memmap2::MmapMut::map_anon(len.max(1)).unwrap_or_else(|_| {
            // As a `Box` would on out-of-memory.
            let layout = std::alloc::Layout::from_size_align(len.max(1), 64)
                .expect("FrameLayout bounds a slot's size");
            std::alloc::handle_alloc_error(layout)
        });
        let ptr = NonNull::new(map.as_mut_ptr()).expect("a mapping is never at address 0");
        Self {
            _map: map,
            ptr,
            len,
        }
    }

    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// # Safety
    /// Nothing may write the buffer while the slice lives.
    unsafe fn bytes(&self) -> &[u8] {
        // SAFETY: `len` bytes of the mapping (zero-filled until written); the
        // caller rules out writes.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// # Safety
    /// Nothing else may read or write the buffer while the slice lives.
    #[allow(clippy::mut_from_ref)] // the caller's promise makes the borrow unique
    pub(crate) unsafe fn lent_bytes_mut(&self) -> &mut [u8] {
        // SAFETY: `len` bytes of the mapping (initialised: zero-filled until
        // written); the caller rules out any other access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: `len` bytes of the mapping; `&mut self` rules out any other
        // access through it (a lease writes only while no `&mut Slot` exists:
        // see `Slot`).
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

/// One slot: a pixel buffer sized for the slab's layout, and the metadata of
/// the frame it holds.
///
/// The protocol that makes its cells sound: the pixels, `meta` and `content`
/// are written only by the producer (or, for a lent slot, the decoder it
/// lent the slot to), only while the slot is unpublished, that is after
/// `Arc::get_mut` proved the home the only reference (so every earlier
/// reader's last look happens before) and before the commit stores it in the
/// queue or the snapshot (whose release / acquire pairs make the writes
/// visible to readers). From the commit until the slot is free again, every
/// access is a read.
pub(crate) struct Slot {
    pub(crate) stream_id: StdArc<str>,
    pub(crate) layout: FrameLayout,
    meta: UnsafeCell<FrameMeta>,
    /// Where the picture of the frame it holds lies (set by the writer).
    content: UnsafeCell<ContentRect>,
    /// Whether the producer has taken this slot before (for
    /// `SlabStats::slots_written`).
    pub(crate) taken: bool,
    pixels: PixelBuffer,
}

// SAFETY: the cells follow the protocol above: writes only while no other
// thread can reach the slot, reads only after the release / acquire that
// published it.
unsafe impl Sync for Slot {}

impl Slot {
    pub(crate) fn new(stream_id: StdArc<str>, layout: FrameLayout) -> Self {
        Self {
            stream_id,
            layout,
            meta: UnsafeCell::new(FrameMeta {
                seq: 0,
                info: FrameInfo::received_now(),
            }),
            content: UnsafeCell::new(ContentRect::full(layout.width(), layout.height())),
            taken: false,
            pixels: PixelBuffer::zeroed(layout.len()),
        }
    }

    /// The frame's metadata. Read by readers of a published slot and by the
    /// producer, never while [`record`](Self::record) writes it.
    pub(crate) fn meta(&self) -> &FrameMeta {
        // SAFETY: the slot protocol: `record` runs only on an unpublished slot,
        // from the producer, which does not hold this reference across it.
        unsafe { self.meta.get() }
    }

    /// Where the picture lies in the frame; as for [`meta`](Self::meta).
    pub(crate) fn content(&self) -> ContentRect {
        // SAFETY: as in `meta`.
        unsafe { *self.content.get() }
    }

    /// Writes the metadata of the frame about to be published.
    ///
    /// # Safety
    /// Only the producer, only while the slot is unpublished (see [`Slot`]).
    pub(crate) unsafe fn record(&self, meta: FrameMeta, content: ContentRect) {
        // SAFETY: the caller holds the slot's one write role while nobody reads.
        unsafe {
            self.meta.set(meta);
            self.content.set(content);
        }
    }

    /// The start of the pixel buffer (what a lease hands a decoder).
    pub(crate) fn pixels_ptr(&self) -> *mut u8 {
        self.pixels.as_ptr()
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: the slot protocol: pixels are written only while the slot is
        // unpublished, when no reader holds it and the producer makes no
        // shared borrow of them.
        unsafe { self.pixels.bytes() }
    }

    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        self.pixels.bytes_mut()
    }

    /// The pixels of a slot lent for conversion, for its lease to write.
    ///
    /// # Safety
    /// The caller holds the slot's one [`ConversionLease`](super::ConversionLease)
    /// exclusively and the slot is not committed since it was lent: nothing
    /// else reads or writes the pixels while the slice lives.
    #[allow(clippy::mut_from_ref)] // the caller's promise makes the borrow unique
    pub(crate) unsafe fn lent_bytes_mut(&self) -> &mut [u8] {
        // SAFETY: the caller's promise; see `Slot`'s protocol.
        unsafe { self.pixels.lent_bytes_mut() }
    }
}

/// Splits a frame buffer into its planes' byte ranges (padding included).
pub(crate) fn plane_range(plane: &Plane) -> std::ops::Range<usize> {
    plane.offset..plane.offset + plane.len()
}

/// A shared, read-only handle to a committed frame.
///
/// Cloning is one reference-count increment; no pixels are copied. While any
/// handle to a frame is alive, its slot is not reused, so hold handles briefly
/// (or give the slab spare slots with
/// [`SlabConfig::reader_slots`](super::SlabConfig::reader_slots)):
/// if readers hold every spare slot, the producer drops new frames
/// ([`DropReason::NoFreeSlot`](super::DropReason::NoFreeSlot)) rather than wait.
#[derive(Clone)]
pub struct Frame {
    slot: Arc<Slot>,
}

impl Frame {
    pub(crate) fn new(slot: Arc<Slot>) -> Self {
        Self { slot }
    }

    /// The slab's sequence number of this frame.
    pub fn seq(&self) -> u64 {
        self.slot.meta().seq
    }

    /// Sequence number, timing and keyframe flag.
    pub fn meta(&self) -> &FrameMeta {
        self.slot.meta()
    }

    /// The id of the stream the frame came from.
    pub fn stream_id(&self) -> &str {
        &self.slot.stream_id
    }

    /// Geometry: size, format, planes and strides.
    pub fn layout(&self) -> &FrameLayout {
        &self.slot.layout
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.slot.layout.width()
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.slot.layout.height()
    }

    /// Pixel format.
    pub fn format(&self) -> PixelFormat {
        self.slot.layout.format()
    }

    /// Presentation time in nanoseconds, if the stream had one.
    pub fn pts_ns(&self) -> Option<i64> {
        self.slot.meta().info.pts_ns
    }

    /// Wall-clock capture time from the camera's RTCP sender reports, if it sent any.
    pub fn capture_time(&self) -> Option<SystemTime> {
        self.slot.meta().info.capture_time
    }

    /// When the frame's data arrived in this process.
    pub fn received(&self) -> Instant {
        self.slot.meta().info.received
    }

    /// Time since the frame arrived.
    pub fn age(&self) -> Duration {
        self.slot.meta().info.received.elapsed()
    }

    /// Whether the frame is a keyframe.
    pub fn is_keyframe(&self) -> bool {
        self.slot.meta().info.keyframe
    }

    /// How intact the picture is: always [`Damage::Clean`] unless the
    /// stream's damage policy is [`OnDamage::Flag`](crate::stream::OnDamage::Flag).
    pub fn damage(&self) -> Damage {
        self.slot.meta().info.damage
    }

    /// When the decoder gave the picture out, if the producer recorded it.
    pub fn decoded_at(&self) -> Option<Instant> {
        self.slot.meta().info.stages.decoded
    }

    /// When the frame was converted into its slot and handed to the slab, if
    /// the producer recorded it.
    pub fn converted_at(&self) -> Option<Instant> {
        self.slot.meta().info.stages.converted
    }

    /// Where the source picture lies in the frame and the source size: the
    /// whole frame unless the stream letterboxes
    /// ([`ResizeMode::Letterbox`](crate::convert::ResizeMode::Letterbox)).
    /// Map a detector's boxes back to camera pixels with
    /// [`ContentRect::to_source`].
    pub fn content_rect(&self) -> ContentRect {
        self.slot.content()
    }

    /// The whole pixel buffer, planes one after another, padding included.
    pub fn data(&self) -> &[u8] {
        self.slot.bytes()
    }

    /// Plane `index` (0 for packed formats; Y, U, V for `yuv420p`), padding included:
    /// row `y` starts at `y * layout().planes()[index].stride`.
    ///
    /// # Panics
    /// If the format has no plane `index`.
    pub fn plane(&self, index: usize) -> &[u8] {
        &self.slot.bytes()[plane_range(&self.slot.layout.planes()[index])]
    }

    /// Row `y` of plane `index`, without padding.
    ///
    /// # Panics
    /// If the plane or the row does not exist.
    pub fn row(&self, index: usize, y: usize) -> &[u8] {
        let plane = self.slot.layout.planes()[index];
        assert!(y < plane.rows, "row {y} of {}", plane.rows);
        let start = plane.offset + y * plane.stride;
        &self.slot.bytes()[start..start + plane.row_bytes]
    }

    /// Whether two handles point at the same slot holding the same frame.
    pub fn same_frame(&self, other: &Frame) -> bool {
        Arc::ptr_eq(&self.slot, &other.slot) && self.seq() == other.seq()
    }
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("stream_id", &self.stream_id())
            .field("seq", &self.seq())
            .field("width", &self.width())
            .field("height", &self.height())
            .field("format", &self.format())
            .field("keyframe", &self.is_keyframe())
            .field("damage", &self.damage())
            .finish_non_exhaustive()
    }
}
