//! A measurement prototype, not the slab: what publish and `latest()` cost if
//! the latest snapshot were one atomic word (slot index and sequence number)
//! with a reader count per slot, instead of an `arc_swap` pointer plus `Arc`
//! reference counts. It exists to put a measured number on "what would close
//! the gap" in BENCHMARKS.md; the slab does not use it.
//!
//! The protocol, for a queue of slot indices that only the producer removes
//! from (the bench has no ordered consumer):
//!
//! * publish: claim a free slot with one CAS of its reader count from 0 to 0
//!   (`AcqRel`: acquires the last reader's release, and any reader whose
//!   increment comes after it in the count's order synchronizes with it and so
//!   sees the newer latest word); write it; push its index (one CAS of the queue
//!   word, evicting the oldest when full); swap the latest word (`SeqCst`, which
//!   would also order the waiter check after it, see `waiters`).
//! * `latest()`: load the word, increment that slot's count (`Acquire`), and
//!   keep the slot only if the word is unchanged (else undo and retry); the
//!   handle's drop decrements (`Release`). A slot the producer superseded and
//!   then claimed either failed the claim (the count was not 0) or is seen as
//!   superseded by the re-check.
//!
//! Cost: 3 read-modify-writes per publish (claim, queue, latest) and 2 per
//! `latest()` with its drop, against 12 and 4 for the slab.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crossbeam_utils::CachePadded;

const NONE: u64 = u64::MAX;
const INDEX_BITS: u32 = 16;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;

struct Slot {
    /// Handles that readers hold (0 when only the slab refers to the slot).
    refs: AtomicU32,
    seq: UnsafeCell<u64>,
    pixels: UnsafeCell<Box<[u8]>>,
}

pub struct Slab {
    slots: Box<[CachePadded<Slot>]>,
    /// `seq << 16 | index` of the newest frame, or `NONE`.
    latest: CachePadded<AtomicU64>,
    /// The queue: `head` in bits 0..32, `tail` in 32..64; cells hold indices.
    queue: CachePadded<AtomicU64>,
    cells: Box<[AtomicU32]>,
    mask: u32,
    capacity: u32,
    /// Registered waiters: with nobody waiting, the publish pays one load.
    waiters: CachePadded<AtomicU64>,
    published: AtomicU64,
}

// SAFETY: (prototype) a slot's cells are written only by the producer while it
// holds the claim (count 0, not latest, not queued), and read only by holders
// of a validated handle.
unsafe impl Sync for Slab {}

pub struct Producer<'a> {
    slab: &'a Slab,
    cursor: usize,
    next_seq: u64,
    latest: Option<usize>,
    queued: Vec<bool>,
}

pub struct Handle<'a> {
    slab: &'a Slab,
    index: usize,
}

impl Slab {
    pub fn new(capacity: usize, spare: usize, bytes: usize) -> Self {
        let cells = (2 * capacity).next_power_of_two();
        Self {
            slots: (0..capacity + 2 + spare)
                .map(|_| {
                    CachePadded::new(Slot {
                        refs: AtomicU32::new(0),
                        seq: UnsafeCell::new(0),
                        pixels: UnsafeCell::new(vec![0; bytes].into_boxed_slice()),
                    })
                })
                .collect(),
            latest: CachePadded::new(AtomicU64::new(NONE)),
            queue: CachePadded::new(AtomicU64::new(0)),
            cells: (0..cells).map(|_| AtomicU32::new(0)).collect(),
            mask: cells as u32 - 1,
            capacity: capacity as u32,
            waiters: CachePadded::new(AtomicU64::new(0)),
            published: AtomicU64::new(0),
        }
    }

    pub fn producer(&self) -> Producer<'_> {
        Producer {
            slab: self,
            cursor: 0,
            next_seq: 0,
            latest: None,
            queued: vec![false; self.slots.len()],
        }
    }

    pub fn latest(&self) -> Option<Handle<'_>> {
        loop {
            let word = self.latest.load(Ordering::Acquire);
            if word == NONE {
                return None;
            }
            let index = (word & INDEX_MASK) as usize;
            let refs = &self.slots[index].refs;
            refs.fetch_add(1, Ordering::Acquire);
            if self.latest.load(Ordering::Acquire) == word {
                return Some(Handle { slab: self, index });
            }
            refs.fetch_sub(1, Ordering::Release);
        }
    }
}

impl Handle<'_> {
    pub fn seq(&self) -> u64 {
        // SAFETY: (prototype) a validated handle's slot is not written.
        unsafe { *self.slab.slots[self.index].seq.get() }
    }

    pub fn len(&self) -> usize {
        // SAFETY: (prototype) as in `seq`.
        unsafe { (&*self.slab.slots[self.index].pixels.get()).len() }
    }
}

impl Drop for Handle<'_> {
    fn drop(&mut self) {
        self.slab.slots[self.index]
            .refs
            .fetch_sub(1, Ordering::Release);
    }
}

impl Producer<'_> {
    /// Publishes a frame; `None` when no slot is free.
    pub fn publish(&mut self) -> Option<u64> {
        let index = self.claim()?;
        let seq = self.next_seq;
        self.next_seq += 1;
        // SAFETY: (prototype) claimed, so no one else reads or writes it.
        unsafe { *self.slab.slots[index].seq.get() = seq };
        self.push(index);
        let word = (seq << INDEX_BITS) | index as u64;
        self.slab.latest.swap(word, Ordering::SeqCst);
        self.latest = Some(index);
        if self.slab.waiters.load(Ordering::SeqCst) != 0 {
            unreachable!("the prototype has no waiters");
        }
        let published = &self.slab.published;
        published.store(published.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        Some(seq)
    }

    fn claim(&mut self) -> Option<usize> {
        let count = self.slab.slots.len();
        for step in 0..count {
            let index = (self.cursor + step) % count;
            if self.queued[index] || self.latest == Some(index) {
                continue;
            }
            let refs = &self.slab.slots[index].refs;
            if refs
                .compare_exchange(0, 0, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                self.cursor = (index + 1) % count;
                return Some(index);
            }
        }
        None
    }

    fn push(&mut self, index: usize) {
        let slab = self.slab;
        let mut word = slab.queue.load(Ordering::Acquire);
        loop {
            let (head, tail) = (word as u32, (word >> 32) as u32);
            let full = tail.wrapping_sub(head) >= slab.capacity;
            slab.cells[(tail & slab.mask) as usize].store(index as u32, Ordering::Relaxed);
            let head_next = if full { head.wrapping_add(1) } else { head };
            let next = u64::from(head_next) | (u64::from(tail.wrapping_add(1)) << 32);
            match slab
                .queue
                .compare_exchange(word, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    if full {
                        let evicted =
                            slab.cells[(head & slab.mask) as usize].load(Ordering::Relaxed);
                        self.queued[evicted as usize] = false;
                    }
                    self.queued[index] = true;
                    return;
                }
                Err(fresh) => word = fresh,
            }
        }
    }
}
