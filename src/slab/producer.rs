//! The producer: the one decode worker that fills free slots and commits them.
//!
//! It never waits. A slot is reused only when `Arc::get_mut` proves that no
//! reader, queue entry or snapshot refers to it; when no slot is free, or the
//! policy refuses the frame, `begin` says so at once, before any pixel work.

use super::frame::{FrameInfo, FrameMeta, Slot};
use super::layout::FrameLayout;
use super::policy::{DropPolicy, DropReason, SlabStats};
use super::ring::{Evicted, WriterRole};
use super::{Reader, Shared};
use crate::sync::{Arc, Ordering};

/// A frame the producer did not take, and why. Tiny, so rejecting costs nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// The sequence number the frame was given (the next accepted frame's will be higher).
    pub seq: u64,
    /// Why it was dropped; already counted in the slab's stats.
    pub reason: DropReason,
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "frame {} dropped: {}", self.seq, self.reason)
    }
}

impl std::error::Error for Rejected {}

/// What a commit did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "an eviction is a dropped frame the caller may want to report"]
pub enum Committed {
    /// Published as latest and queued; nothing was evicted.
    Queued {
        /// The committed frame's sequence number.
        seq: u64,
    },
    /// Published and queued after evicting the oldest unconsumed frame (`Latest`).
    Overwrote {
        /// The committed frame's sequence number.
        seq: u64,
        /// The evicted frame's sequence number.
        evicted_seq: u64,
    },
    /// Published as latest but not queued: the queue was full while the consumer
    /// was reading it in place (counted as [`DropReason::NoFreeSlot`]).
    LatestOnly {
        /// The committed frame's sequence number.
        seq: u64,
    },
}

impl Committed {
    /// The committed frame's sequence number.
    pub fn seq(&self) -> u64 {
        match *self {
            Committed::Queued { seq }
            | Committed::Overwrote { seq, .. }
            | Committed::LatestOnly { seq } => seq,
        }
    }
}

/// `Sample`'s admission state: frame `seq` is admitted when
/// `(seq - origin) % stride == 0`; `stride` doubles each time the queue fills.
#[derive(Clone, Copy, Debug)]
struct Sampling {
    stride: u64,
    origin: u64,
    /// The consumer's clear count this state belongs to; a newer one restarts sampling.
    epoch: u64,
}

/// The writing end of a slab. One per slab; `Send`, not `Clone`.
pub struct Producer {
    shared: Arc<Shared>,
    /// One strong reference per slot, owned here and nowhere else: a slot whose
    /// home is its only reference is free.
    homes: Box<[Arc<Slot>]>,
    role: WriterRole,
    /// Where the next free-slot search starts (slots free up in the order they
    /// were filled, so the search usually succeeds at once).
    cursor: usize,
    next_seq: u64,
    sampling: Sampling,
}

impl Producer {
    pub(crate) fn new(shared: Arc<Shared>, homes: Box<[Arc<Slot>]>, role: WriterRole) -> Self {
        Self {
            shared,
            homes,
            role,
            cursor: 0,
            next_seq: 0,
            sampling: Sampling {
                stride: 1,
                origin: 0,
                epoch: 0,
            },
        }
    }

    /// Takes a free slot for the next frame, or says at once why the frame is
    /// dropped (so the caller can skip converting it). Never blocks.
    pub fn begin(&mut self) -> Result<SlotWriter<'_>, Rejected> {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.shared.counters.offered(1);
        let admitted = self
            .admit(seq)
            .and_then(|()| self.find_free().ok_or(DropReason::NoFreeSlot));
        match admitted {
            Ok(index) => Ok(SlotWriter {
                producer: self,
                index,
                seq,
            }),
            Err(reason) => {
                self.shared.counters.dropped(reason, 1);
                Err(Rejected { seq, reason })
            }
        }
    }

    /// A new reader of this slab.
    pub fn reader(&self) -> Reader {
        Reader::new(Arc::clone(&self.shared))
    }

    /// The slab's counters and sizes.
    pub fn stats(&self) -> SlabStats {
        self.shared.stats()
    }

    /// The geometry of every frame in this slab.
    pub fn layout(&self) -> &FrameLayout {
        &self.homes[0].layout
    }

    fn admit(&mut self, seq: u64) -> Result<(), DropReason> {
        let ring = &self.shared.ring;
        match self.shared.policy {
            DropPolicy::Latest => Ok(()),
            // The queue only shrinks between here and `commit`: we are its only pusher.
            DropPolicy::DropNewest if ring.len() >= ring.capacity() => Err(DropReason::QueueFull),
            DropPolicy::DropNewest => Ok(()),
            DropPolicy::Sample => self.admit_sample(seq),
        }
    }

    fn admit_sample(&mut self, seq: u64) -> Result<(), DropReason> {
        // Relaxed: a restart request; no memory is published through it.
        let epoch = self.shared.clear_epoch.load(Ordering::Relaxed);
        if epoch != self.sampling.epoch {
            self.sampling = Sampling {
                stride: 1,
                origin: seq,
                epoch,
            };
        }
        let Sampling { stride, origin, .. } = self.sampling;
        let admits = |seq: u64, stride: u64| seq >= origin && (seq - origin).is_multiple_of(stride);
        if !admits(seq, stride) {
            return Err(DropReason::SampledOut);
        }
        let ring = &self.shared.ring;
        if ring.len() < ring.capacity() {
            return Ok(());
        }
        // Full: keep every other queued frame and double the stride. The queue is
        // empty to the consumer for the few pushes this takes.
        let doubled = stride * 2;
        let drained = ring
            .drain_unpinned(&mut self.role)
            .ok_or(DropReason::NoFreeSlot)?;
        let mut thinned = 0;
        for slot in drained {
            if admits(slot.meta.seq, doubled) {
                if ring.push(&mut self.role, slot).is_err() {
                    unreachable!("half of a drained queue fits in it");
                }
            } else {
                thinned += 1;
            }
        }
        self.shared
            .counters
            .dropped(DropReason::SampledOut, thinned);
        self.sampling.stride = doubled;
        if admits(seq, doubled) {
            Ok(())
        } else {
            Err(DropReason::SampledOut)
        }
    }

    fn find_free(&mut self) -> Option<usize> {
        let count = self.homes.len();
        let found = (0..count)
            .map(|step| (self.cursor + step) % count)
            // `get_mut` is `Arc`'s uniqueness check: it acquires every release of
            // another reference, so a reader's last look at the pixels happens
            // before we write them.
            .find(|&index| Arc::get_mut(&mut self.homes[index]).is_some())?;
        self.cursor = (found + 1) % count;
        Some(found)
    }
}

/// A free slot being filled. Fill the pixels, then [`commit`](Self::commit);
/// dropping it instead abandons the frame and frees the slot (the caller counts
/// its own reason, e.g. a corrupt frame).
pub struct SlotWriter<'a> {
    producer: &'a mut Producer,
    index: usize,
    seq: u64,
}

impl SlotWriter<'_> {
    /// The sequence number this frame will carry.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The geometry to write: planes, offsets and strides.
    pub fn layout(&self) -> &FrameLayout {
        self.producer.layout()
    }

    fn slot(&mut self) -> &mut Slot {
        Arc::get_mut(&mut self.producer.homes[self.index])
            .expect("a slot stays unique while it is being written: only its home refers to it")
    }

    /// The whole pixel buffer, planes one after another (see [`layout`](Self::layout)).
    pub fn data_mut(&mut self) -> &mut [u8] {
        self.slot().bytes_mut()
    }

    /// Each plane's bytes in the format's order, from its first row to the
    /// start of the next plane (row padding and the plane's
    /// [`PLANE_SLACK`](super::PLANE_SLACK) included, so SIMD writers may
    /// overshoot the last row); planes the format does not have are empty.
    pub fn planes_mut(&mut self) -> [&mut [u8]; 3] {
        let layout = *self.layout();
        let mut rest = self.slot().bytes_mut();
        let mut planes: [&mut [u8]; 3] = [&mut [], &mut [], &mut []];
        let offsets = layout.planes().iter().map(|plane| plane.offset);
        let ends = offsets.clone().skip(1).chain(std::iter::once(layout.len()));
        let mut consumed = 0;
        for ((out, start), end) in planes.iter_mut().zip(offsets).zip(ends) {
            let (_, tail) = std::mem::take(&mut rest).split_at_mut(start - consumed);
            let (this, after) = tail.split_at_mut(end - start);
            *out = this;
            rest = after;
            consumed = end;
        }
        planes
    }

    /// Publishes the frame as the latest snapshot and queues it for the ordered
    /// consumer, evicting the oldest queued frame if the policy is `Latest` and
    /// the queue is full.
    pub fn commit(mut self, info: FrameInfo) -> Committed {
        let seq = self.seq;
        self.slot().meta = FrameMeta { seq, info };
        let SlotWriter {
            producer, index, ..
        } = self;
        let shared = &*producer.shared;
        let home = &producer.homes[index];
        let mut committed = Committed::Queued { seq };
        if shared.policy == DropPolicy::Latest {
            match shared.ring.evict_oldest(&mut producer.role) {
                Evicted::NotFull => {}
                Evicted::Pinned => committed = Committed::LatestOnly { seq },
                Evicted::Oldest(evicted) => {
                    shared.counters.dropped(DropReason::Overwritten, 1);
                    committed = Committed::Overwrote {
                        seq,
                        evicted_seq: evicted.meta.seq,
                    };
                }
            }
        }
        if committed != (Committed::LatestOnly { seq })
            && shared
                .ring
                .push(&mut producer.role, Arc::clone(home))
                .is_err()
        {
            // `begin` checked the room for the other policies and only we push;
            // kept as a counted outcome rather than a panic.
            committed = Committed::LatestOnly { seq };
        }
        if let Committed::LatestOnly { .. } = committed {
            shared.counters.dropped(DropReason::NoFreeSlot, 1);
        }
        shared.latest.store(Some(Arc::clone(home)));
        shared.counters.written();
        committed
    }
}
