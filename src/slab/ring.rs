//! The ordered queue: a bounded FIFO of slot references that the producer pushes
//! at the tail, the consumer pops at either end or empties, and the producer may
//! evict from the head or rebuild whole, all by compare-and-swap on one word.
//!
//! Why our own ring rather than `ringbuf` or `crossbeam`'s `ArrayQueue`: an SPSC
//! ring (ringbuf) cannot let its producer evict the oldest element without
//! exclusive access to both ends (`push_overwrite` takes `&mut`), and neither
//! queue can pop its newest element, let a consumer look at queued elements
//! without taking them, or thin itself out in place for the `Sample` policy.
//! Packing head, tail and a "consumer is looking" pin into one `AtomicU64` makes
//! every one of those a single CAS, so each is linearizable and none waits.
//!
//! The cell array has room for twice the capacity, so the producer can write a
//! whole new queue (the elements it keeps, then its new one) into the cells past
//! the tail and switch to it with one CAS ([`Ring::rebuild`]): a consumer never
//! sees a half-thinned queue, and a `clear` or a pop that races the rebuild
//! either comes before it (the rebuild's CAS fails and it starts over) or after.
//!
//! Ownership: each queued element is one strong reference to its slot
//! (`Arc::into_raw`), so a queued slot can never look unique to the producer.
//! Whoever wins the CAS that removes a position owns that position's reference.

use crossbeam_utils::CachePadded;

use super::frame::Slot;
use crate::sync::{Arc, AtomicPtr, AtomicU64, Ordering};

/// Positions are 31-bit wrapping counters; the cell array's length is a power of
/// two, so it divides 2^31 and a position maps to the same cell across the wrap.
const POS_BITS: u32 = 31;
const POS_MASK: u32 = (1 << POS_BITS) - 1;
/// Set while the consumer is reading queued elements in place (see [`Ring::pin`]).
const PIN_BIT: u64 = 1 << POS_BITS;
/// The largest capacity a ring accepts, far below the 2^31 positions.
pub(crate) const MAX_CAPACITY: usize = 1 << 20;

/// The decoded queue word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cursor {
    /// Position of the oldest element, in `0 .. 2^31`.
    pub(crate) head: u32,
    /// Position one past the newest element, in `0 .. 2^31`.
    pub(crate) tail: u32,
    /// The consumer is reading elements in place: no one but it may move `head`.
    pub(crate) pinned: bool,
}

impl Cursor {
    fn decode(word: u64) -> Self {
        Self {
            head: (word as u32) & POS_MASK,
            tail: ((word >> 32) as u32) & POS_MASK,
            pinned: word & PIN_BIT != 0,
        }
    }

    fn encode(self) -> u64 {
        u64::from(self.head) | (u64::from(self.tail) << 32) | if self.pinned { PIN_BIT } else { 0 }
    }

    pub(crate) fn len(self) -> u32 {
        self.tail.wrapping_sub(self.head) & POS_MASK
    }

    /// The live positions, oldest first.
    pub(crate) fn positions(self) -> impl Iterator<Item = u32> {
        (0..self.len()).map(move |offset| Cursor::advance(self.head, offset))
    }

    pub(crate) fn advance(position: u32, by: u32) -> u32 {
        position.wrapping_add(by) & POS_MASK
    }

    pub(crate) fn retreat(position: u32) -> u32 {
        position.wrapping_sub(1) & POS_MASK
    }
}

/// The right to push, evict and compact: one per ring, held by the producer.
/// Not `Clone`, and every producer method takes it by `&mut`, so those methods
/// are never called from two threads at once (they write cells before their CAS).
pub(crate) struct WriterRole(());

/// The right to pop, clear and pin: one per ring, held by the consumer. Not
/// `Clone`, so `pop_back` (which relies on being the only tail-decrementer) and
/// `pin` (a single bit) have one caller at a time. It carries the scratch space
/// `clear` reads the queued references into before its CAS (allocated once).
pub(crate) struct ReaderRole {
    scratch: Vec<*const Slot>,
}

// SAFETY: `scratch` holds copies of queued pointers only between a read and the
// CAS of one `clear` call on the thread that owns the role; it owns nothing
// (ownership passes to `clear` only once its CAS succeeds), so moving the role
// to another thread between calls moves no shared state.
unsafe impl Send for ReaderRole {}

pub(crate) struct Ring {
    /// The queue word: `head` in bits 0..31, the pin in bit 31, `tail` in bits
    /// 32..63. Live elements are the positions `head .. tail` (mod 2^31), at most
    /// `capacity` of them.
    state: CachePadded<AtomicU64>,
    /// `cells[position & mask]` holds a queued slot reference (`Arc::into_raw`) for
    /// each live position; other cells hold stale pointers that no one owns. At
    /// least `2 × capacity` cells, so a rebuilt queue fits past a full one.
    cells: Box<[AtomicPtr<Slot>]>,
    mask: u32,
    capacity: u32,
}

/// What [`Ring::push_overwrite`] did.
pub(crate) enum Overwrite {
    /// Queued; the queue had room.
    Pushed,
    /// Queued in place of the oldest element, now owned by the caller.
    Evicted(Arc<Slot>),
    /// Not queued (the reference was released): the queue is full and the
    /// consumer is reading it in place.
    Refused,
}

impl Ring {
    /// A ring for `capacity` elements (1 ..= [`MAX_CAPACITY`]), with its two roles.
    pub(crate) fn new(capacity: usize) -> (Self, WriterRole, ReaderRole) {
        assert!(
            (1..=MAX_CAPACITY).contains(&capacity),
            "ring capacity {capacity}"
        );
        let cell_count = Self::cell_count(capacity);
        let cells = (0..cell_count)
            .map(|_| AtomicPtr::new(std::ptr::null_mut()))
            .collect();
        let ring = Self {
            state: CachePadded::new(AtomicU64::new(0)),
            cells,
            mask: (cell_count - 1) as u32,
            capacity: capacity as u32,
        };
        let reader = ReaderRole {
            scratch: Vec::with_capacity(capacity),
        };
        (ring, WriterRole(()), reader)
    }

    /// How many cells a ring of `capacity` has: a power of two (so it divides the
    /// 2^31 positions) of at least twice the capacity (see [`rebuild`](Self::rebuild)).
    pub(crate) fn cell_count(capacity: usize) -> usize {
        (2 * capacity).next_power_of_two()
    }

    /// The index of `position`'s cell, for side tables the producer keeps per cell.
    pub(crate) fn cell_index(&self, position: u32) -> usize {
        (position & self.mask) as usize
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity as usize
    }

    /// The queue word now, for the producer's plans (a momentary value: the
    /// consumer may pop meanwhile, which the producer's CAS then notices).
    pub(crate) fn cursor(&self) -> Cursor {
        self.load()
    }

    /// Elements queued now (a momentary value when others are active).
    pub(crate) fn len(&self) -> usize {
        // Relaxed: a count for statistics; nothing is read on the strength of it.
        Cursor::decode(self.state.load(Ordering::Relaxed)).len() as usize
    }

    fn cell(&self, position: u32) -> &AtomicPtr<Slot> {
        &self.cells[(position & self.mask) as usize]
    }

    fn load(&self) -> Cursor {
        // Acquire: pairs with the Release of every successful CAS below, so the
        // cells a push wrote are visible, and so are a consumer's cell reads
        // before the producer reuses those cells.
        Cursor::decode(self.state.load(Ordering::Acquire))
    }

    fn try_replace(&self, current: Cursor, new: Cursor) -> Result<(), Cursor> {
        // AcqRel on success: Release publishes the cell written before a push
        // (and orders a consumer's cell read before the producer overwrites that
        // cell); Acquire makes a pinning consumer's reference increments visible
        // before an eviction releases its own reference. Acquire on failure: the
        // caller retries from the fresh value as if it had come from `load`.
        self.state
            .compare_exchange(
                current.encode(),
                new.encode(),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .map(drop)
            .map_err(Cursor::decode)
    }

    /// The producer takes ownership of the reference stored for a position it
    /// just removed. Reading the cell *after* the removing CAS is sound only for
    /// the producer: it alone writes cells, so nothing can have reused this one.
    /// Private, and called only from the producer's removals (`push_overwrite`,
    /// and `Removed`, which only `rebuild` makes).
    fn take(&self, position: u32) -> Arc<Slot> {
        // Relaxed: the cell was written by this same thread.
        let raw = self.cell(position).load(Ordering::Relaxed);
        // SAFETY: the producer won the CAS that removed `position` from the live
        // range, and each live position holds one reference from `Arc::into_raw`
        // that only the remover may reclaim.
        unsafe { Arc::from_raw(raw) }
    }

    /// The consumer's removal of `position`: the cell is read *before* the CAS,
    /// while the position is still live, because once the CAS lands the producer
    /// may write a new pointer into the same cell.
    fn claim(&self, current: Cursor, next: Cursor, position: u32) -> Result<Arc<Slot>, Cursor> {
        // Relaxed: the Acquire load that produced `current` ordered the push that
        // wrote this cell before us. If the cell is being rewritten concurrently,
        // `current` is stale and the CAS below fails, discarding what we read.
        let raw = self.cell(position).load(Ordering::Relaxed);
        self.try_replace(current, next)?;
        // SAFETY: the CAS succeeded from `current`, so `position` was live and its
        // cell unchanged from our read until we removed it (the producer only
        // writes cells outside the live range, and only this role removes
        // positions from the tail); the reference it held is now ours alone.
        Ok(unsafe { Arc::from_raw(raw) })
    }

    // --- producer side ---------------------------------------------------------

    /// Appends `slot`, or gives it back if the queue is full. Returns the queue
    /// the push replaced (the new element is at its `tail`): it may differ from
    /// the caller's last [`cursor`](Self::cursor) if the consumer popped or
    /// cleared meanwhile.
    pub(crate) fn push(
        &self,
        _role: &mut WriterRole,
        slot: Arc<Slot>,
    ) -> Result<Cursor, Arc<Slot>> {
        let raw = Arc::into_raw(slot).cast_mut();
        let mut current = self.load();
        loop {
            if current.len() >= self.capacity {
                // SAFETY: `raw` came from `Arc::into_raw` above and was never published.
                return Err(unsafe { Arc::from_raw(raw) });
            }
            // Relaxed: the position `tail` is outside the live range, so no one
            // owns this cell; the CAS's Release publishes the write.
            self.cell(current.tail).store(raw, Ordering::Relaxed);
            let next = Cursor {
                tail: Cursor::advance(current.tail, 1),
                ..current
            };
            match self.try_replace(current, next) {
                Ok(()) => return Ok(current),
                Err(fresh) => current = fresh,
            }
        }
    }

    /// Appends `slot`; when the queue is full, removes the oldest element in the
    /// same CAS (refused while the consumer has the queue pinned). Returns the
    /// position written, with the outcome.
    pub(crate) fn push_overwrite(&self, _role: &mut WriterRole, slot: Arc<Slot>) -> Overwrite {
        let raw = Arc::into_raw(slot).cast_mut();
        let mut current = self.load();
        loop {
            let full = current.len() >= self.capacity;
            if full && current.pinned {
                // SAFETY: `raw` came from `Arc::into_raw` above and was never published.
                drop(unsafe { Arc::from_raw(raw) });
                return Overwrite::Refused;
            }
            // Relaxed: `tail` is outside the live range even when the queue is
            // full (there are at least twice as many cells as elements), so no
            // one owns this cell; the CAS's Release publishes the write.
            self.cell(current.tail).store(raw, Ordering::Relaxed);
            let next = Cursor {
                head: if full {
                    Cursor::advance(current.head, 1)
                } else {
                    current.head
                },
                tail: Cursor::advance(current.tail, 1),
                pinned: current.pinned,
            };
            match self.try_replace(current, next) {
                Ok(()) if full => return Overwrite::Evicted(self.take(current.head)),
                Ok(()) => return Overwrite::Pushed,
                Err(fresh) => current = fresh,
            }
        }
    }

    /// Replaces the queue `current` by the elements at `keep` (live positions of
    /// `current`, oldest first) followed by `slot`, in one CAS. The elements of
    /// `current` not kept are removed and handed to the caller, oldest first.
    /// Fails, giving `slot` back, if the queue changed since `current` was read
    /// or is pinned: the caller plans again from a fresh [`cursor`](Self::cursor).
    ///
    /// The new queue is written into the cells past `current.tail`, which no one
    /// owns (there are at least `2 × capacity` cells and both queues are at most
    /// `capacity` long), and occupies the positions `tail .. tail + keep.len() + 1`.
    ///
    /// # Panics
    /// If `keep` has `capacity` or more elements.
    pub(crate) fn rebuild<'r, 'k>(
        &'r self,
        role: &'r mut WriterRole,
        current: Cursor,
        keep: &'k [u32],
        slot: Arc<Slot>,
    ) -> Result<Removed<'r, 'k>, Arc<Slot>> {
        assert!(keep.len() < self.capacity as usize, "a rebuilt queue fits");
        let raw = Arc::into_raw(slot).cast_mut();
        if current.pinned {
            // SAFETY: `raw` came from `Arc::into_raw` above and was never published.
            return Err(unsafe { Arc::from_raw(raw) });
        }
        let mut to = current.tail;
        for &from in keep {
            // Relaxed, both: this thread wrote every cell (it alone writes cells),
            // and the cells written are outside the live range; the CAS's Release
            // publishes them.
            let kept = self.cell(from).load(Ordering::Relaxed);
            self.cell(to).store(kept, Ordering::Relaxed);
            to = Cursor::advance(to, 1);
        }
        // Relaxed: as above.
        self.cell(to).store(raw, Ordering::Relaxed);
        let next = Cursor {
            head: current.tail,
            tail: Cursor::advance(to, 1),
            pinned: false,
        };
        match self.try_replace(current, next) {
            // The kept references moved to their new positions; the others are
            // the caller's now.
            Ok(()) => Ok(Removed {
                ring: self,
                _role: role,
                next: current.head,
                end: current.tail,
                keep,
            }),
            // SAFETY: the CAS failed, so `raw` was never published.
            Err(_) => Err(unsafe { Arc::from_raw(raw) }),
        }
    }

    // --- consumer side ---------------------------------------------------------

    /// Removes and returns the oldest element.
    pub(crate) fn pop_front(&self, _role: &mut ReaderRole) -> Option<Arc<Slot>> {
        let mut current = self.load();
        loop {
            if current.len() == 0 {
                return None;
            }
            let next = Cursor {
                head: Cursor::advance(current.head, 1),
                ..current
            };
            match self.claim(current, next, current.head) {
                Ok(slot) => return Some(slot),
                Err(fresh) => current = fresh,
            }
        }
    }

    /// Removes and returns the newest element.
    pub(crate) fn pop_back(&self, _role: &mut ReaderRole) -> Option<Arc<Slot>> {
        let mut current = self.load();
        loop {
            if current.len() == 0 {
                return None;
            }
            let last = Cursor::retreat(current.tail);
            let next = Cursor {
                tail: last,
                ..current
            };
            // The state word cannot come back to `current` behind our back (only
            // this role moves the tail backwards), so winning the CAS means the
            // reference read at `last` is the one we are taking.
            match self.claim(current, next, last) {
                Ok(slot) => return Some(slot),
                Err(fresh) => current = fresh,
            }
        }
    }

    /// Empties the queue in one CAS and returns how many elements it held. The
    /// references are read into the role's scratch space first, while their
    /// positions are live (see [`claim`](Self::claim)), and released after.
    pub(crate) fn clear(&self, role: &mut ReaderRole) -> usize {
        let mut current = self.load();
        loop {
            role.scratch.clear();
            // Relaxed: the Acquire load of `current` ordered the pushes that
            // wrote these cells before us; a stale `current` fails the CAS.
            role.scratch.extend(
                current
                    .positions()
                    .map(|position| self.cell(position).load(Ordering::Relaxed).cast_const()),
            );
            let next = Cursor {
                head: current.tail,
                ..current
            };
            match self.try_replace(current, next) {
                Ok(()) => break,
                Err(fresh) => current = fresh,
            }
        }
        let cleared = role.scratch.len();
        for raw in role.scratch.drain(..) {
            // SAFETY: the CAS removed every position read above while their cells
            // were unchanged (as in `claim`), so each reference is ours alone.
            drop(unsafe { Arc::from_raw(raw) });
        }
        cleared
    }

    /// Stops the producer from removing elements while the consumer reads them in
    /// place. The producer never waits on a pin: it skips the eviction instead.
    pub(crate) fn pin<'a>(&'a self, _role: &'a mut ReaderRole) -> Pinned<'a> {
        let mut current = self.load();
        loop {
            let next = Cursor {
                pinned: true,
                ..current
            };
            match self.try_replace(current, next) {
                Ok(()) => {
                    return Pinned {
                        ring: self,
                        head: current.head,
                        len: current.len(),
                        _role,
                    }
                }
                Err(fresh) => current = fresh,
            }
        }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        let current = Cursor::decode(self.state.load(Ordering::Relaxed));
        for offset in 0..current.len() {
            let raw = self
                .cell(Cursor::advance(current.head, offset))
                .load(Ordering::Relaxed);
            // SAFETY: `&mut self`: no handle is left, so the live positions'
            // references are owned by the ring alone, and each is released once.
            drop(unsafe { Arc::from_raw(raw) });
        }
    }
}

/// The elements a [`Ring::rebuild`] removed, oldest first; those not taken are
/// released on drop.
pub(crate) struct Removed<'r, 'k> {
    ring: &'r Ring,
    /// Held so the producer writes no cell until the removed ones are taken.
    _role: &'r mut WriterRole,
    /// The next old position to look at, up to `end`.
    next: u32,
    end: u32,
    /// The old positions that were kept (ascending from the old head): skipped.
    keep: &'k [u32],
}

impl Iterator for Removed<'_, '_> {
    type Item = Arc<Slot>;

    fn next(&mut self) -> Option<Arc<Slot>> {
        while self.next != self.end {
            let position = self.next;
            self.next = Cursor::advance(self.next, 1);
            if let Some((&kept, rest)) = self.keep.split_first() {
                if kept == position {
                    self.keep = rest;
                    continue;
                }
            }
            return Some(self.ring.take(position));
        }
        None
    }
}

impl Drop for Removed<'_, '_> {
    fn drop(&mut self) {
        self.for_each(drop);
    }
}

/// The queue as it was when pinned: its elements stay queued and readable until
/// the pin is dropped (the consumer holds the only reader role, so nothing else
/// removes them either).
pub(crate) struct Pinned<'a> {
    ring: &'a Ring,
    head: u32,
    len: u32,
    _role: &'a mut ReaderRole,
}

impl Pinned<'_> {
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    /// A new reference to the element `index` places from the oldest.
    pub(crate) fn get(&self, index: usize) -> Arc<Slot> {
        assert!(index < self.len as usize);
        let position = Cursor::advance(self.head, index as u32);
        // Relaxed: the pin's CAS acquired the push that wrote this cell.
        let raw = self.ring.cell(position).load(Ordering::Relaxed);
        // SAFETY: `position` is live and stays live while pinned (the producer may
        // not remove pinned elements and the consumer is borrowed by the pin), so
        // the queue's reference keeps the slot alive while we add ours.
        unsafe { Arc::increment_strong_count(raw) };
        // SAFETY: we own the reference just added, and `raw` came from `Arc::into_raw`.
        unsafe { Arc::from_raw(raw) }
    }
}

impl Drop for Pinned<'_> {
    fn drop(&mut self) {
        // Release: the reference increments above happen before the producer's
        // next successful eviction (its CAS acquires this store).
        self.ring.state.fetch_and(!PIN_BIT, Ordering::Release);
    }
}

#[cfg(all(test, not(rtsp_ingest_loom)))]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_wraps() {
        let cursor = Cursor {
            head: POS_MASK - 1,
            tail: 2,
            pinned: true,
        };
        assert_eq!(Cursor::decode(cursor.encode()), cursor);
        assert_eq!(cursor.len(), 4);
        assert_eq!(Cursor::advance(POS_MASK, 1), 0);
        assert_eq!(Cursor::retreat(0), POS_MASK);
    }
}
