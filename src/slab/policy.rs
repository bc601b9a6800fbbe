//! Drop policies, drop reasons and the slab's counters.

use crossbeam_utils::CachePadded;

use crate::names::named_enum;
use crate::sync::{AtomicU64, Ordering};

named_enum! {
    /// What the slab's ordered queue does with a new frame when it is full.
    ///
    /// The policy governs the ordered queue only: every frame committed becomes the
    /// latest snapshot ([`Reader::latest`](super::Reader::latest)) whatever the
    /// policy and whether or not the queue takes it.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub enum DropPolicy {
        /// Evict the oldest unconsumed frame to make room (real-time inference).
        #[default]
        Latest = "latest",
        /// Keep the queue an even sample in time (pts, or arrival time where the
        /// stream has no usable pts) of everything since the last `clear` or the
        /// last time the consumer emptied the queue, the newest frame always
        /// included: when full, the sampling interval doubles and the queue is
        /// thinned to it in one step.
        Sample = "sample",
        /// Keep what is queued and leave new frames out of the queue until the
        /// consumer catches up (lossless ordered consumers that must see a
        /// contiguous run).
        DropNewest = "drop-newest",
    }
    display;
    parse "drop policy";
}

named_enum! {
    /// Why a frame offered to the producer was not published. `ALL` is in the
    /// order of [`DropCounts`]'s fields; `name` is snake_case, for metrics labels.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum DropReason {
        /// No slot was free: readers held every spare slot.
        NoFreeSlot = "no_free_slot",
        /// The producer took a slot and dropped the [`SlotWriter`](super::SlotWriter)
        /// without committing (a conversion error, say).
        Abandoned = "abandoned",
    }
    display;
}

named_enum! {
    /// Why a published frame left the ordered queue unread (or never entered it).
    /// Latest readers may have seen it: it was the latest snapshot. `ALL` is in
    /// the order of [`EvictCounts`]'s fields; `name` is snake_case, for metrics labels.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum EvictReason {
        /// `Latest`: evicted from the full queue, oldest first, to make room.
        Overwritten = "overwritten",
        /// `Sample`: thinned out to keep the queue an even sample.
        SampledOut = "sampled_out",
        /// Never queued: the queue was full (`DropNewest`), or full while the
        /// consumer was reading it in place, so no room could be made.
        QueueFull = "queue_full",
        /// Never queued: no consumer had asked for ordered frames yet (a slab
        /// built with [`SlabConfig::queue_on_demand`](super::SlabConfig::queue_on_demand)).
        /// The frame was only ever the latest snapshot, until a newer one
        /// replaced it.
        NoConsumer = "no_consumer",
    }
    display;
}

/// Frames dropped before publication, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DropCounts {
    /// See [`DropReason::NoFreeSlot`].
    pub no_free_slot: u64,
    /// See [`DropReason::Abandoned`].
    pub abandoned: u64,
}

impl DropCounts {
    /// The count for one reason.
    pub fn get(&self, reason: DropReason) -> u64 {
        match reason {
            DropReason::NoFreeSlot => self.no_free_slot,
            DropReason::Abandoned => self.abandoned,
        }
    }

    /// All drops together.
    pub fn total(&self) -> u64 {
        self.no_free_slot + self.abandoned
    }
}

/// Published frames the ordered queue did not deliver, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvictCounts {
    /// See [`EvictReason::Overwritten`].
    pub overwritten: u64,
    /// See [`EvictReason::SampledOut`].
    pub sampled_out: u64,
    /// See [`EvictReason::QueueFull`].
    pub queue_full: u64,
    /// See [`EvictReason::NoConsumer`].
    pub no_consumer: u64,
}

impl EvictCounts {
    /// The count for one reason.
    pub fn get(&self, reason: EvictReason) -> u64 {
        match reason {
            EvictReason::Overwritten => self.overwritten,
            EvictReason::SampledOut => self.sampled_out,
            EvictReason::QueueFull => self.queue_full,
            EvictReason::NoConsumer => self.no_consumer,
        }
    }

    /// Every reason with its count, in declaration order, named as in metrics.
    pub fn by_reason(&self) -> [(&'static str, u64); 4] {
        EvictReason::ALL.map(|reason| (reason.name(), self.get(reason)))
    }

    /// All evictions together.
    pub fn total(&self) -> u64 {
        self.overwritten + self.sampled_out + self.queue_full + self.no_consumer
    }
}

/// A point-in-time view of one slab, from any handle.
///
/// The books balance: once the producer has no frame open,
/// `offered == published + dropped.total()`, and once the consumer is idle too,
/// `published == size + taken + cleared + evicted.total()`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SlabStats {
    /// Frames in the ordered queue now.
    pub size: usize,
    /// The ordered queue's capacity.
    pub capacity: usize,
    /// Slots allocated: the queue's capacity plus the producer's, the latest
    /// snapshot's and the readers' spares.
    pub slots: usize,
    /// Bytes of one slot's pixel buffer.
    pub slot_bytes: usize,
    /// Slots written at least once. A slot's pages become resident only when
    /// first written, so this × `slot_bytes` bounds the slab's resident pixel
    /// memory, where [`memory_bytes`](Self::memory_bytes) is what it may grow to.
    pub slots_written: usize,
    /// Whether the ordered queue takes frames (see
    /// [`SlabConfig::queue_on_demand`](super::SlabConfig::queue_on_demand)).
    pub queue_open: bool,
    /// Frames offered to the producer (each got a sequence number).
    pub offered: u64,
    /// Frames committed: each became the latest snapshot (the seed's `total_written`).
    pub published: u64,
    /// Frames offered but not published, by reason.
    pub dropped: DropCounts,
    /// Published frames the ordered queue did not deliver, by reason.
    pub evicted: EvictCounts,
    /// Frames the consumer took from the queue (`pop_oldest`, `pop_latest`).
    pub taken: u64,
    /// Frames the consumer discarded with `clear`.
    pub cleared: u64,
    /// The drop policy.
    pub policy: DropPolicy,
}

impl SlabStats {
    /// All drops before publication together (the seed's `total_dropped`).
    pub fn total_dropped(&self) -> u64 {
        self.dropped.total()
    }

    /// Queue fill level in percent (the seed's `usage_percent`).
    pub fn usage_percent(&self) -> f64 {
        self.size as f64 * 100.0 / self.capacity as f64
    }

    /// Pixel memory allocated for the slab, exactly: `slots × slot_bytes`. It is
    /// fixed at creation and never grows.
    pub fn memory_bytes(&self) -> usize {
        self.slots * self.slot_bytes
    }

    /// [`memory_bytes`](Self::memory_bytes) in MiB (the seed's `estimate_memory_mb`,
    /// but exact rather than estimated from one frame).
    pub fn memory_mb(&self) -> f64 {
        self.memory_bytes() as f64 / (1024.0 * 1024.0)
    }
}

/// Monotonic event counters, each with a single writer and read by anyone.
///
/// With one writer an increment is a plain load and store rather than a
/// read-modify-write (an RMW costs ~8 ns; the producer makes several per frame).
/// Relaxed everywhere: readers want a recent value, and no other memory is
/// published through them.
pub(crate) struct Counter(AtomicU64);

impl Counter {
    pub(crate) fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    /// Adds `n`. Only the counter's one writer may call this.
    pub(crate) fn add(&self, n: u64) {
        self.0
            .store(self.0.load(Ordering::Relaxed) + n, Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The slab's books: the producer writes the first group, the consumer the
/// second (the publish count lives in the slab's notifier).
pub(crate) struct Counters {
    /// Frames offered to `Producer::begin`; padded away from the readers' hot lines.
    pub(crate) offered: CachePadded<Counter>,
    /// Indexed by `DropReason as usize`.
    pub(crate) dropped: [Counter; 2],
    /// Indexed by `EvictReason as usize`.
    pub(crate) evicted: [Counter; 4],
    /// Written by the consumer alone, on its own cache line.
    pub(crate) taken: CachePadded<Counter>,
    pub(crate) cleared: Counter,
    /// Slots the producer has taken at least once; written by the producer.
    pub(crate) slots_written: Counter,
}

impl Counters {
    pub(crate) fn new() -> Self {
        Self {
            offered: CachePadded::new(Counter::new()),
            dropped: std::array::from_fn(|_| Counter::new()),
            evicted: std::array::from_fn(|_| Counter::new()),
            taken: CachePadded::new(Counter::new()),
            cleared: Counter::new(),
            slots_written: Counter::new(),
        }
    }

    pub(crate) fn dropped(&self, reason: DropReason, n: u64) {
        self.dropped[reason as usize].add(n);
    }

    pub(crate) fn evicted(&self, reason: EvictReason, n: u64) {
        self.evicted[reason as usize].add(n);
    }

    pub(crate) fn drops(&self) -> DropCounts {
        let get = |reason: DropReason| self.dropped[reason as usize].get();
        DropCounts {
            no_free_slot: get(DropReason::NoFreeSlot),
            abandoned: get(DropReason::Abandoned),
        }
    }

    pub(crate) fn evictions(&self) -> EvictCounts {
        let get = |reason: EvictReason| self.evicted[reason as usize].get();
        EvictCounts {
            overwritten: get(EvictReason::Overwritten),
            sampled_out: get(EvictReason::SampledOut),
            queue_full: get(EvictReason::QueueFull),
            no_consumer: get(EvictReason::NoConsumer),
        }
    }
}
