//! The producer: the one decode worker that fills free slots and commits them.
//!
//! It never waits. A slot is reused only when `Arc::get_mut` proves that no
//! reader, queue entry or snapshot refers to it; when no slot is free, `begin`
//! says so at once, before any pixel work. Every committed frame becomes the
//! latest snapshot; the drop policy decides only what the ordered queue keeps.

use super::content::ContentRect;
use super::frame::{FrameInfo, FrameMeta, Slot};
use super::layout::FrameLayout;
use super::lease::{ConversionLease, Lease};
use super::policy::{DropPolicy, DropReason, EvictReason, SlabStats};
use super::ring::{Overwrite, WriterRole};
use super::sample::{Plan, Sampler};
use super::{Reader, Shared};
use crate::sync::Arc;
use std::ptr::NonNull;

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

/// What a commit did. Whatever the variant, the frame is the latest snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "an eviction is a frame the ordered queue lost, which the caller may want to report"]
pub enum Committed {
    /// Queued; nothing was evicted.
    Queued {
        /// The committed frame's sequence number.
        seq: u64,
    },
    /// Queued after evicting the oldest unconsumed frame (`Latest`).
    Overwrote {
        /// The committed frame's sequence number.
        seq: u64,
        /// The evicted frame's sequence number.
        evicted_seq: u64,
    },
    /// Queued after thinning older frames out of the queue (`Sample`).
    Thinned {
        /// The committed frame's sequence number.
        seq: u64,
        /// How many queued frames were sampled out.
        removed: u32,
    },
    /// Published as latest but not queued: the queue was full under
    /// `DropNewest`, or full while the consumer was reading it in place
    /// (counted as [`EvictReason::QueueFull`]), or no consumer has asked for
    /// ordered frames yet ([`EvictReason::NoConsumer`]).
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
            | Committed::Thinned { seq, .. }
            | Committed::LatestOnly { seq } => seq,
        }
    }

    /// Whether the frame entered the ordered queue.
    pub fn is_queued(&self) -> bool {
        !matches!(self, Committed::LatestOnly { .. })
    }
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
    /// `Sample`'s plan; `None` under the other policies.
    sampler: Option<Sampler>,
    /// Which slots are lent to the decoder ([`lend`](Self::lend)) and not
    /// committed since: only these may be committed in place. Cleared when a
    /// slot is found free again.
    lent: Box<[bool]>,
}

impl Producer {
    pub(crate) fn new(
        shared: Arc<Shared>,
        homes: Box<[Arc<Slot>]>,
        role: WriterRole,
        first_seq: u64,
    ) -> Self {
        Self {
            role,
            cursor: 0,
            next_seq: first_seq,
            sampler: (shared.policy == DropPolicy::Sample)
                .then(|| Sampler::new(shared.ring.capacity())),
            lent: vec![false; homes.len()].into_boxed_slice(),
            homes,
            shared,
        }
    }

    /// Takes a free slot for the next frame, or says at once why the frame is
    /// dropped (so the caller can skip converting it). Never blocks.
    pub fn begin(&mut self) -> Result<SlotWriter<'_>, Rejected> {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.shared.counters.offered.add(1);
        let from = self.first_candidate();
        let content = ContentRect::full(self.layout().width(), self.layout().height());
        match self.find_free(from) {
            Some((index, slot)) => Ok(SlotWriter {
                producer: self,
                index,
                slot,
                seq,
                content,
                committed: false,
            }),
            None => {
                let reason = DropReason::NoFreeSlot;
                self.shared.counters.dropped(reason, 1);
                Err(Rejected { seq, reason })
            }
        }
    }

    /// Lends a free slot to the decoder, to decode the next picture into
    /// (see [`Lease`]); `None` when no slot is free (the decoder then uses
    /// its own buffer and the frame is copied as usual). Counts no frame: a
    /// lent slot becomes a frame only through [`commit_lent`](Self::commit_lent).
    pub fn lend(&mut self) -> Option<Lease> {
        let (index, _) = self.find_free(self.first_candidate())?;
        self.lent[index] = true;
        Some(Lease::new(Arc::clone(&self.homes[index])))
    }

    /// Lends a free slot to a converter that writes the next picture into it
    /// piece by piece (see [`ConversionLease`]); `None` when no slot is free.
    /// Counts no frame: the slot becomes a frame only through
    /// [`commit_conversion`](Self::commit_conversion).
    pub fn lend_for_conversion(&mut self) -> Option<ConversionLease> {
        let (index, _) = self.find_free(self.first_candidate())?;
        Some(ConversionLease {
            slot: Arc::clone(&self.homes[index]),
        })
    }

    /// Publishes the picture converted into `lease`'s slot, as
    /// [`SlotWriter::commit`] would; gives the lease back when it is not of
    /// this slab (lent by a slab the stream left), counting nothing.
    pub fn commit_conversion(
        &mut self,
        lease: ConversionLease,
        content: ContentRect,
        info: FrameInfo,
    ) -> Result<Committed, ConversionLease> {
        let pixels = lease.slot.pixels_ptr();
        let Some(index) = (0..self.homes.len()).find(|&i| self.homes[i].pixels_ptr() == pixels)
        else {
            return Err(lease);
        };
        drop(lease);
        // SAFETY: a slot lent for conversion is unpublished until this call,
        // which took its one lease: `lend_for_conversion` took it free, and
        // only a commit stores it where a reader can reach it.
        Ok(unsafe { self.commit_unpublished(index, content, info) })
    }

    /// Publishes the picture the decoder wrote into a lent slot whose pixel
    /// buffer starts at `pixels` ([`Lease::as_mut_ptr`]), as
    /// [`SlotWriter::commit`] would after a copy; `None` (nothing counted)
    /// when no slot lent since its last commit starts there, the caller then
    /// copies the picture through [`begin`](Self::begin).
    ///
    /// The caller vouches that the decoder is done writing the slot (it gave
    /// the picture out) and wrote it in this slab's [`layout`](Self::layout).
    pub fn commit_lent(
        &mut self,
        pixels: *const u8,
        content: ContentRect,
        info: FrameInfo,
    ) -> Option<Committed> {
        let index = (0..self.homes.len()).find(|&index| {
            self.lent[index] && self.homes[index].pixels_ptr().cast_const() == pixels
        })?;
        self.lent[index] = false;
        // SAFETY: a lent slot not committed since it was lent is unpublished:
        // `lend` took it free (`get_mut` proved every reader gone), and only
        // a commit stores it where a reader can reach it.
        Some(unsafe { self.commit_unpublished(index, content, info) })
    }

    /// Numbers, records and publishes the frame in slot `index`, as
    /// [`SlotWriter::commit`] does.
    ///
    /// # Safety
    /// The slot is unpublished: no reader can reach it.
    unsafe fn commit_unpublished(
        &mut self,
        index: usize,
        content: ContentRect,
        info: FrameInfo,
    ) -> Committed {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.shared.counters.offered.add(1);
        // SAFETY: unpublished (the caller's promise), and the producer is the
        // only writer of a slot's metadata; `&mut self` makes this the only
        // producer call.
        unsafe { self.homes[index].record(FrameMeta { seq, info }, content) };
        self.publish(index)
    }

    /// Where the search for a free slot starts. While no queue is in use, the
    /// lowest free slots are reused, so that slots never needed stay
    /// untouched (their pages never become resident).
    fn first_candidate(&self) -> usize {
        if self.shared.queue_is_open() {
            self.cursor
        } else {
            0
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

    /// The sequence number the next offered frame gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Queues the committed slot `index` as the policy says.
    fn enqueue(&mut self, index: usize) -> Committed {
        let seq = self.homes[index].meta().seq;
        let shared = &*self.shared;
        if !shared.queue_is_open() {
            shared.counters.evicted(EvictReason::NoConsumer, 1);
            return Committed::LatestOnly { seq };
        }
        let slot = Arc::clone(&self.homes[index]);
        match shared.policy {
            DropPolicy::Latest => match shared.ring.push_overwrite(&mut self.role, slot) {
                Overwrite::Pushed => Committed::Queued { seq },
                Overwrite::Evicted(evicted) => {
                    shared.counters.evicted(EvictReason::Overwritten, 1);
                    Committed::Overwrote {
                        seq,
                        evicted_seq: evicted.meta().seq,
                    }
                }
                Overwrite::Refused => self.left_out(seq),
            },
            DropPolicy::DropNewest => match shared.ring.push(&mut self.role, slot) {
                Ok(_) => Committed::Queued { seq },
                Err(_) => self.left_out(seq),
            },
            DropPolicy::Sample => self.enqueue_sample(slot, seq),
        }
    }

    /// `Sample`: plans against the queue as it is, and pushes or rebuilds; a
    /// rebuild the consumer raced (by popping, clearing or pinning) is planned again.
    fn enqueue_sample(&mut self, mut slot: Arc<Slot>, seq: u64) -> Committed {
        let shared = &*self.shared;
        let ring = &shared.ring;
        let sampler = self.sampler.as_mut().expect("Sample has a sampler");
        let time = sampler.time(&slot.meta().info);
        loop {
            let current = ring.cursor();
            let plan = sampler.plan(ring, current, time);
            if plan == Plan::Push || current.pinned {
                // Pinned: nothing can be removed while the consumer reads in
                // place; push if there is room (the next rebuild thins it).
                return match ring.push(&mut self.role, slot) {
                    Ok(before) => {
                        sampler.record_push(ring, before, time);
                        Committed::Queued { seq }
                    }
                    Err(_) => {
                        shared.counters.evicted(EvictReason::QueueFull, 1);
                        Committed::LatestOnly { seq }
                    }
                };
            }
            let removed = match ring.rebuild(&mut self.role, current, sampler.keep(), slot) {
                Ok(removed) => removed.count() as u32,
                Err(back) => {
                    slot = back;
                    continue;
                }
            };
            shared
                .counters
                .evicted(EvictReason::SampledOut, u64::from(removed));
            sampler.record_rebuild(ring, current, time);
            return Committed::Thinned { seq, removed };
        }
    }

    fn left_out(&self, seq: u64) -> Committed {
        self.shared.counters.evicted(EvictReason::QueueFull, 1);
        Committed::LatestOnly { seq }
    }

    /// The first free slot from `from` on (wrapping), with exclusive access to
    /// it (see [`SlotWriter::slot`]).
    fn find_free(&mut self, from: usize) -> Option<(usize, NonNull<Slot>)> {
        let count = self.homes.len();
        for step in 0..count {
            let index = (from + step) % count;
            // A plain load first, so a slot in use costs no read-modify-write
            // (`get_mut` reads the same count after its CAS, with no fresher
            // guarantee, so this skips no slot that `get_mut` would take).
            if Arc::strong_count(&self.homes[index]) != 1 {
                continue;
            }
            // `get_mut` is `Arc`'s uniqueness check: it acquires every release of
            // another reference, so a reader's last look at the pixels happens
            // before we write them.
            if let Some(slot) = Arc::get_mut(&mut self.homes[index]) {
                // Free again: a lease of it, if any, was given back unused or
                // its frame committed.
                self.lent[index] = false;
                if !slot.taken {
                    slot.taken = true;
                    self.shared.counters.slots_written.add(1);
                }
                self.cursor = (index + 1) % count;
                return Some((index, NonNull::from(slot)));
            }
        }
        None
    }
}

/// A free slot being filled. Fill the pixels, then [`commit`](Self::commit);
/// dropping it instead abandons the frame and frees the slot (counted as
/// [`DropReason::Abandoned`]).
pub struct SlotWriter<'a> {
    producer: &'a mut Producer,
    index: usize,
    /// `homes[index]`'s slot, proven unique by `begin`'s `Arc::get_mut`. Kept
    /// as a pointer so the writer does not repeat that check (one atomic
    /// read-modify-write) for every access: nothing can clone `homes[index]`
    /// while this writer borrows the producer, and only the producer clones it.
    slot: NonNull<Slot>,
    seq: u64,
    content: ContentRect,
    committed: bool,
}

// SAFETY: `slot` is an exclusive borrow of a `Slot` (plain `Send + Sync`
// data) for the writer's lifetime, as a `&mut Slot` field would be; the
// pointer only saves re-proving that exclusivity.
unsafe impl Send for SlotWriter<'_> {}
// SAFETY: as for `Send`: `&SlotWriter` gives no access to the slot at all.
unsafe impl Sync for SlotWriter<'_> {}

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
        // SAFETY: `slot` came from `Arc::get_mut` on `homes[index]` in `begin`,
        // so no other reference to the slot existed then; new ones are made only
        // by the producer (`enqueue`, `commit`), which this writer borrows
        // mutably until `commit` clones the home after its last use of this
        // pointer. The slot is in no queue cell and not the snapshot, so no
        // reader can reach it, and the `&mut self` here makes the borrow unique.
        unsafe { self.slot.as_mut() }
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
        layout.split_mut(self.slot().bytes_mut())
    }

    /// Says where the picture lies in the frame being written (by default
    /// the whole frame, from a source of the frame's size): what
    /// [`Frame::content_rect`](super::Frame::content_rect) returns.
    pub fn set_content_rect(&mut self, content: ContentRect) {
        self.content = content;
    }

    /// Publishes the frame as the latest snapshot and offers it to the ordered
    /// queue under the slab's [`DropPolicy`].
    pub fn commit(mut self, info: FrameInfo) -> Committed {
        let meta = FrameMeta {
            seq: self.seq,
            info,
        };
        let content = self.content;
        // SAFETY: the writer's slot is unpublished and exclusively its own
        // (see `slot`); the `&mut self` borrow of it ends here.
        unsafe { self.slot().record(meta, content) };
        self.committed = true;
        self.producer.publish(self.index)
    }
}

impl Producer {
    /// Offers the recorded slot `index` to the queue and makes it the latest
    /// snapshot.
    fn publish(&mut self, index: usize) -> Committed {
        let committed = self.enqueue(index);
        let shared = &*self.shared;
        shared.latest.store(Some(Arc::clone(&self.homes[index])));
        // After the store: a woken reader must find this frame.
        shared.notifier.published_one();
        committed
    }
}

impl Drop for Producer {
    /// No frame will come any more: readers blocked in a wait return `None`.
    fn drop(&mut self) {
        self.shared.notifier.close();
    }
}

impl Drop for SlotWriter<'_> {
    fn drop(&mut self) {
        if !self.committed {
            self.producer
                .shared
                .counters
                .dropped(DropReason::Abandoned, 1);
        }
    }
}
