//! Drop policies, drop reasons and the slab's counters.

use std::fmt;
use std::str::FromStr;

use crossbeam_utils::CachePadded;

use crate::error::{Error, ErrorKind, Result};
use crate::sync::{AtomicU64, Ordering};

/// What the slab does with a new frame when its ordered queue is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DropPolicy {
    /// Evict the oldest unconsumed frame to make room (real-time inference).
    #[default]
    Latest,
    /// Keep frames evenly spaced over everything seen since the last `clear`:
    /// when full, keep every other frame and double the admission stride.
    Sample,
    /// Keep what is queued and refuse new frames until the consumer catches up
    /// (lossless ordered consumers that must see a contiguous run).
    DropNewest,
}

impl DropPolicy {
    /// Every policy, in declaration order.
    pub const ALL: [DropPolicy; 3] = [
        DropPolicy::Latest,
        DropPolicy::Sample,
        DropPolicy::DropNewest,
    ];

    /// The name used in configs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            DropPolicy::Latest => "latest",
            DropPolicy::Sample => "sample",
            DropPolicy::DropNewest => "drop-newest",
        }
    }
}

impl fmt::Display for DropPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DropPolicy {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let wanted = s.replace('_', "-");
        DropPolicy::ALL
            .into_iter()
            .find(|policy| policy.name().eq_ignore_ascii_case(&wanted))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidConfig,
                    format!("drop policy `{s}` is not one of latest, sample, drop-newest"),
                )
            })
    }
}

/// Why a frame did not make it (fully) through the slab.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// `Latest`: the oldest unconsumed frame was evicted from the ordered queue to
    /// make room for a new one (it may still be the latest snapshot or be held).
    Overwritten,
    /// `Sample`: thinned out to keep the queue evenly spaced (refused by the
    /// stride, or removed when the stride doubled).
    SampledOut,
    /// `DropNewest`: refused because the ordered queue was full.
    QueueFull,
    /// No slot was free: readers held every spare slot, or the queue had to be
    /// reorganised while the consumer was reading it in place.
    NoFreeSlot,
}

impl DropReason {
    /// Every reason, in declaration order (the order of [`DropCounts`]'s fields).
    pub const ALL: [DropReason; 4] = [
        DropReason::Overwritten,
        DropReason::SampledOut,
        DropReason::QueueFull,
        DropReason::NoFreeSlot,
    ];

    /// A short snake_case name, for metrics labels.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::Overwritten => "overwritten",
            DropReason::SampledOut => "sampled_out",
            DropReason::QueueFull => "queue_full",
            DropReason::NoFreeSlot => "no_free_slot",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Frames dropped, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DropCounts {
    /// See [`DropReason::Overwritten`].
    pub overwritten: u64,
    /// See [`DropReason::SampledOut`].
    pub sampled_out: u64,
    /// See [`DropReason::QueueFull`].
    pub queue_full: u64,
    /// See [`DropReason::NoFreeSlot`].
    pub no_free_slot: u64,
}

impl DropCounts {
    /// The count for one reason.
    pub fn get(&self, reason: DropReason) -> u64 {
        match reason {
            DropReason::Overwritten => self.overwritten,
            DropReason::SampledOut => self.sampled_out,
            DropReason::QueueFull => self.queue_full,
            DropReason::NoFreeSlot => self.no_free_slot,
        }
    }

    /// All drops together.
    pub fn total(&self) -> u64 {
        DropReason::ALL
            .into_iter()
            .map(|reason| self.get(reason))
            .sum()
    }
}

/// A point-in-time view of one slab, from any handle.
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
    /// Frames offered to the producer (each got a sequence number).
    pub offered: u64,
    /// Frames committed (published as latest).
    pub written: u64,
    /// Frames dropped, by reason.
    pub dropped: DropCounts,
    /// The drop policy.
    pub policy: DropPolicy,
}

impl SlabStats {
    /// All drops together (the seed's `total_dropped`).
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

/// Counters written by the producer alone and read by anyone.
///
/// Each is a monotonic event count with one writer, the producer, so an
/// increment is a plain load and store rather than a read-modify-write (an RMW
/// costs ~8 ns; the producer makes several per frame). Relaxed everywhere:
/// readers want a recent value, and no other memory is published through them.
pub(crate) struct Counters {
    /// Frames offered to `Producer::begin`; padded away from the readers' hot lines.
    offered: CachePadded<AtomicU64>,
    /// Frames committed.
    written: AtomicU64,
    /// Frames dropped, indexed by `DropReason as usize`.
    dropped: [AtomicU64; 4],
}

impl Counters {
    pub(crate) fn new() -> Self {
        Self {
            offered: CachePadded::new(AtomicU64::new(0)),
            written: AtomicU64::new(0),
            dropped: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// Adds `n` to a counter only the producer writes.
    fn bump(counter: &AtomicU64, n: u64) {
        counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Relaxed);
    }

    pub(crate) fn offered(&self, n: u64) {
        Self::bump(&self.offered, n);
    }

    pub(crate) fn written(&self) {
        Self::bump(&self.written, 1);
    }

    pub(crate) fn dropped(&self, reason: DropReason, n: u64) {
        Self::bump(&self.dropped[reason.index()], n);
    }

    pub(crate) fn offered_total(&self) -> u64 {
        self.offered.load(Ordering::Relaxed)
    }

    pub(crate) fn written_total(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    pub(crate) fn drops(&self) -> DropCounts {
        let get = |reason: DropReason| self.dropped[reason.index()].load(Ordering::Relaxed);
        DropCounts {
            overwritten: get(DropReason::Overwritten),
            sampled_out: get(DropReason::SampledOut),
            queue_full: get(DropReason::QueueFull),
            no_free_slot: get(DropReason::NoFreeSlot),
        }
    }
}
