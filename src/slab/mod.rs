//! The frame slab (`frame_buffer`): one per stream, a fixed set of preallocated
//! slots that one decode worker fills and any number of threads read.
//!
//! ```text
//!            begin ─▶ fill ─▶ commit ─┬─▶ latest snapshot ──▶ Reader::latest()      (any threads)
//!  Producer                           └─▶ ordered queue ────▶ Consumer::pop_oldest() (one thread)
//! ```
//!
//! * [`new`] allocates every slot once: `capacity + 2 + reader_slots +
//!   decoder_slots` pixel
//!   buffers of [`FrameLayout::len`] bytes. Nothing is allocated per frame.
//! * The [`Producer`] takes a free slot ([`Producer::begin`]), writes pixels into
//!   it, and commits it with its [`FrameInfo`] ([`SlotWriter::commit`]). A slot is
//!   free when nothing refers to it; a slot a reader holds is never overwritten.
//! * A free slot can instead be lent ([`Producer::lend`], a [`Lease`]) to a
//!   decoder that writes the picture into it on its own; [`Producer::commit_lent`]
//!   then publishes it in place. The lease is one more reference to the slot,
//!   so a slot the decoder still holds (a reference picture) is not free either.
//! * Committing publishes the frame as the latest snapshot (an `arc-swap` pointer),
//!   always, and offers it to the ordered queue, whose [`DropPolicy`] decides
//!   what the queue keeps. The policy never makes the latest snapshot stale.
//! * Every frame is counted once: published, or dropped before publication for
//!   a [`DropReason`]; published frames the queue did not deliver are counted
//!   apart by [`EvictReason`] (see [`SlabStats`] for the identities).
//! * [`Reader`]s read the newest frame as a [`Frame`] handle; the [`Consumer`]
//!   takes queued frames in order.
//!
//! See the crate documentation for the guarantees and the mapping from the seed's
//! Python `FrameBuffer`.

mod consumer;
mod content;
#[allow(unsafe_code)] // a raw pixel allocation and the slot's metadata cells
mod frame;
mod layout;
#[allow(unsafe_code)]
// a lease as one raw `Arc` pointer (FFmpeg's opaque); a conversion lease's pixels
mod lease;
mod notify;
mod policy;
#[allow(unsafe_code)] // the slot a `SlotWriter` holds exclusively, as a pointer
mod producer;
#[allow(unsafe_code)] // raw `Arc` pointers in the queue cells
mod ring;
mod sample;

use std::sync::Arc as StdArc;

pub use consumer::{Consumer, LatestCache, Reader};
pub use content::ContentRect;
pub use frame::{Damage, Frame, FrameInfo, FrameMeta, StageTimes};
pub use layout::{
    DecoderAlignment, FrameLayout, PixelFormat, Plane, DEFAULT_ROW_ALIGN, PLANE_SLACK,
};
pub use lease::{ConversionLease, Lease};
pub use policy::{DropCounts, DropPolicy, DropReason, EvictCounts, EvictReason, SlabStats};
pub use producer::{Committed, Producer, Rejected, SlotWriter};

use crate::error::{Error, Result};
use crate::sync::{Arc, AtomicBool, Ordering, Snapshot};
use frame::Slot;
use notify::Notifier;
#[cfg_attr(rtsp_ingest_loom, allow(unused_imports))] // used by `manager`, not built under loom
pub(crate) use notify::WakeGroup;
use policy::Counters;
use ring::Ring;

/// Slots beyond the queue's capacity that the slab always has, whatever the
/// queue holds: the one being written, and the latest snapshot's (which the
/// queue may have evicted, refused, or handed to the consumer).
const PRODUCER_SLOTS: usize = 2;

/// How to build a slab. `Default`-like construction from a layout, owned setters.
#[derive(Clone, Debug, PartialEq)]
pub struct SlabConfig {
    stream_id: String,
    layout: FrameLayout,
    capacity: usize,
    policy: DropPolicy,
    reader_slots: usize,
    decoder_slots: usize,
    max_memory_mb: Option<f64>,
    first_seq: u64,
    queue_on_demand: bool,
}

impl SlabConfig {
    /// A slab for frames of `layout`: queue capacity 4, policy `Latest`, 2 reader
    /// slots, no memory cap, stream id `""`.
    pub fn new(layout: FrameLayout) -> Self {
        Self {
            stream_id: String::new(),
            layout,
            capacity: 4,
            policy: DropPolicy::default(),
            reader_slots: 2,
            decoder_slots: 0,
            max_memory_mb: None,
            first_seq: 0,
            queue_on_demand: false,
        }
    }

    /// The sequence number of the slab's first frame (default 0). A slab that
    /// replaces another (a stream whose picture size changed) continues its
    /// numbering, so `latest_after(seq)` with a seq from the old slab works on
    /// the new one.
    pub fn first_seq(mut self, seq: u64) -> Self {
        self.first_seq = seq;
        self
    }

    /// The stream id every frame carries.
    pub fn stream_id(mut self, id: impl Into<String>) -> Self {
        self.stream_id = id.into();
        self
    }

    /// How many frames the ordered queue holds (1 ..= 2^20).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// What happens when the queue is full.
    pub fn policy(mut self, policy: DropPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Extra slots for frames that readers and the consumer hold at once. While
    /// readers hold more than this many frames that are no longer queued or
    /// latest, new frames are dropped as [`DropReason::NoFreeSlot`].
    pub fn reader_slots(mut self, slots: usize) -> Self {
        self.reader_slots = slots;
        self
    }

    /// Extra slots for pictures lent to the decoder
    /// ([`Producer::lend`]): those it keeps as references, the one it decodes
    /// and the one it last gave out. Default 0 (nothing is lent, or lent
    /// slots come out of the reader slots).
    pub fn decoder_slots(mut self, slots: usize) -> Self {
        self.decoder_slots = slots;
        self
    }

    /// Caps the slab's pixel memory: the queue's capacity becomes the largest that
    /// fits (and at most [`capacity`](Self::capacity)). Memory is bounded by
    /// construction, never by scanning frames.
    pub fn max_memory_mb(mut self, megabytes: f64) -> Self {
        self.max_memory_mb = Some(megabytes);
        self
    }

    /// Opens the ordered queue only when a consumer asks for ordered frames:
    /// the first call on the [`Consumer`] (or [`Consumer::open_queue`]).
    ///
    /// Until then every frame is only the latest snapshot: it is counted at
    /// commit as [`EvictReason::NoConsumer`] (as a frame a full queue refuses
    /// is counted as [`EvictReason::QueueFull`]), so the books balance at
    /// every moment, and it stays the snapshot until a newer frame replaces
    /// it. Meanwhile the producer takes the lowest free slot, so a slab read
    /// only through [`Reader`]s writes (and makes resident: slots are
    /// allocated zeroed) two slots plus one per frame readers hold at once,
    /// not the queue's. Frames committed before the queue opened are never
    /// queued. Off by default: a slab's queue takes frames from the first
    /// commit.
    pub fn queue_on_demand(mut self, on_demand: bool) -> Self {
        self.queue_on_demand = on_demand;
        self
    }

    /// The frame geometry.
    pub fn layout(&self) -> &FrameLayout {
        &self.layout
    }

    /// The slots this configuration allocates, and so its memory
    /// (`slots × layout().len()` bytes), or why it is invalid.
    pub fn resolve(&self) -> Result<(usize, usize)> {
        if !(1..=ring::MAX_CAPACITY).contains(&self.capacity) {
            return Err(Error::invalid(
                "capacity",
                format!(
                    "capacity {} is outside 1 ..= {}",
                    self.capacity,
                    ring::MAX_CAPACITY
                ),
            ));
        }
        if self.reader_slots > ring::MAX_CAPACITY {
            return Err(Error::invalid(
                "reader_slots",
                format!(
                    "reader_slots {} is above {}",
                    self.reader_slots,
                    ring::MAX_CAPACITY
                ),
            ));
        }
        if self.decoder_slots > ring::MAX_CAPACITY {
            return Err(Error::invalid(
                "decoder_slots",
                format!(
                    "decoder_slots {} is above {}",
                    self.decoder_slots,
                    ring::MAX_CAPACITY
                ),
            ));
        }
        let fixed = PRODUCER_SLOTS + self.reader_slots + self.decoder_slots;
        let slot_bytes = self.layout.len();
        let capacity = match self.max_memory_mb {
            None => self.capacity,
            Some(mb) if !(mb.is_finite() && mb > 0.0) => {
                return Err(Error::invalid(
                    "max_memory_mb",
                    format!("max_memory_mb {mb} is not a positive number"),
                ))
            }
            Some(mb) => {
                let budget = (mb * 1024.0 * 1024.0) as usize;
                let fit = (budget / slot_bytes).saturating_sub(fixed);
                if fit == 0 {
                    return Err(Error::invalid(
                        "max_memory_mb",
                        format!(
                            "max_memory_mb {mb} holds {} slots of {slot_bytes} bytes; \
                             this slab needs at least {}",
                            budget / slot_bytes,
                            fixed + 1
                        ),
                    ));
                }
                fit.min(self.capacity)
            }
        };
        Ok((capacity, capacity + fixed))
    }
}

/// What every handle of one slab shares.
pub(crate) struct Shared {
    ring: Ring,
    latest: Snapshot<Slot>,
    counters: Counters,
    /// The publish count, and the readers blocked waiting for the next frame.
    notifier: Notifier,
    /// Whether the producer queues frames: set once, by the consumer, and
    /// never cleared (see [`SlabConfig::queue_on_demand`]).
    queue_open: AtomicBool,
    policy: DropPolicy,
    slots: usize,
    slot_bytes: usize,
}

impl Shared {
    fn queue_is_open(&self) -> bool {
        // Relaxed: the flag publishes no data; the queue's own CAS orders the
        // frames in it.
        self.queue_open.load(Ordering::Relaxed)
    }

    fn open_queue(&self) {
        if !self.queue_is_open() {
            // Relaxed: as in `queue_is_open`.
            self.queue_open.store(true, Ordering::Relaxed);
        }
    }

    fn stats(&self) -> SlabStats {
        SlabStats {
            size: self.ring.len(),
            capacity: self.ring.capacity(),
            slots: self.slots,
            slot_bytes: self.slot_bytes,
            slots_written: self.counters.slots_written.get() as usize,
            queue_open: self.queue_is_open(),
            offered: self.counters.offered.get(),
            published: self.notifier.published(),
            dropped: self.counters.drops(),
            evicted: self.counters.evictions(),
            taken: self.counters.taken.get(),
            cleared: self.counters.cleared.get(),
            policy: self.policy,
        }
    }
}

/// Builds a slab: allocates every slot and returns its three kinds of handle.
/// More [`Reader`]s come from [`Reader::clone`] or `reader()` on any handle.
///
/// # Errors
/// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) for a capacity out of range or a memory cap that
/// is not positive or cannot hold the minimum slots; [`Error::field`](crate::Error::field) names the
/// setting.
pub fn new(config: SlabConfig) -> Result<(Producer, Consumer, Reader)> {
    let (capacity, slots) = config.resolve()?;
    let stream_id: StdArc<str> = config.stream_id.into();
    let homes: Box<[Arc<Slot>]> = (0..slots)
        .map(|_| Arc::new(Slot::new(StdArc::clone(&stream_id), config.layout)))
        .collect();
    let (ring, writer_role, reader_role) = Ring::new(capacity);
    let shared = Arc::new(Shared {
        ring,
        latest: Snapshot::empty(),
        counters: Counters::new(),
        notifier: Notifier::new(),
        queue_open: AtomicBool::new(!config.queue_on_demand),
        policy: config.policy,
        slots,
        slot_bytes: config.layout.len(),
    });
    let reader = Reader::new(Arc::clone(&shared));
    let consumer = Consumer::new(Arc::clone(&shared), reader_role);
    let producer = Producer::new(shared, homes, writer_role, config.first_seq);
    Ok((producer, consumer, reader))
}
