//! Wake-on-publish: readers that block until the producer publishes a newer
//! frame, at the cost of one atomic add per publish when nobody waits.
//!
//! One word packs the publish count (the epoch, bits 24..64) and the number of
//! registered waiters (bits 0..24). Both sides change it only by
//! read-modify-write, so its modification order is a single history that both
//! see, and no store can hide behind a load:
//!
//! * the producer publishes the latest snapshot, then adds one epoch
//!   (`Release`); if the old value had waiters, it takes the lock and notifies;
//! * a waiter adds itself (`Acquire`) and then checks the snapshot again. If its
//!   add came after the producer's, it acquired the producer's release and sees
//!   the new frame; if it came before, the producer saw the waiter and will
//!   notify, and the waiter only sleeps while, under the lock, the epoch is
//!   still the one its add returned, so it cannot miss that notification.
//!
//! The epoch is also the slab's `published` statistic. Closing (the producer
//! dropped) sets a flag and wakes everyone.
//!
//! A [`WakeGroup`] waits on many slabs at once (the manager's `next_ready`):
//! it registers as a waiter on each, so their producers take the lock and
//! wake it along with their own waiters; the same argument applies per slab.

use std::time::{Duration, Instant};

use crate::sync::{Arc, AtomicBool, AtomicU64, Condvar, Mutex, Ordering};

/// Bits of the word that count waiters.
const WAITER_BITS: u32 = 24;
const WAITER_MASK: u64 = (1 << WAITER_BITS) - 1;
/// One publish.
const EPOCH: u64 = 1 << WAITER_BITS;

pub(crate) struct Notifier {
    /// `epoch << 24 | waiters`: the publish count and the registered waiters.
    word: AtomicU64,
    /// Set once the producer is gone: no frame will ever come.
    closed: AtomicBool,
    /// Guards sleeping; holds the groups listening to this slab (their
    /// capacity is kept, so listening again allocates nothing).
    lock: Mutex<Vec<Arc<WakeGroup>>>,
    wake: Condvar,
}

impl Notifier {
    pub(crate) fn new() -> Self {
        Self {
            word: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            lock: Mutex::new(Vec::new()),
            wake: Condvar::new(),
        }
    }

    /// Frames published so far.
    pub(crate) fn published(&self) -> u64 {
        // Relaxed: a statistic.
        self.word.load(Ordering::Relaxed) >> WAITER_BITS
    }

    /// Frames published so far, as a synchronizing read: the snapshot stored by
    /// the last publish counted is visible after this returns.
    pub(crate) fn epoch(&self) -> u64 {
        // Acquire: pairs with the Release add in `published_one`, which comes
        // after that publish's snapshot store.
        self.word.load(Ordering::Acquire) >> WAITER_BITS
    }

    /// Called by the producer after each publish: one RMW, and the lock only
    /// when someone waits.
    pub(crate) fn published_one(&self) {
        // Release: the snapshot stored before this add is visible to a waiter
        // whose add reads this one's result (see the module docs).
        let old = self.word.fetch_add(EPOCH, Ordering::Release);
        if old & WAITER_MASK != 0 {
            self.notify_all();
        }
    }

    /// No more frames: wakes every waiter for good.
    pub(crate) fn close(&self) {
        // Release: pairs with the Acquire loads in `wait`; the lock below orders
        // it before a sleeping waiter's re-check anyway.
        self.closed.store(true, Ordering::Release);
        self.notify_all();
    }

    pub(crate) fn is_closed(&self) -> bool {
        // Acquire: pairs with the Release store in `close`.
        self.closed.load(Ordering::Acquire)
    }

    fn notify_all(&self) {
        // Taking the lock orders the notification after a waiter's locked
        // re-check of the epoch, or before its next one.
        let groups = self
            .lock
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        for group in groups.iter() {
            group.wake();
        }
        drop(groups);
        self.wake.notify_all();
    }

    /// Registers `group` to be woken by this slab's next publish (or close),
    /// and counts it as a waiter so the producer notifies. Pair with
    /// [`unlisten`](Self::unlisten).
    pub(crate) fn listen(&self, group: &Arc<WakeGroup>) {
        let mut groups = self
            .lock
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        groups.push(Arc::clone(group));
        drop(groups);
        // Acquire: pairs with the producer's Release add, as for a waiter.
        let word = self.word.fetch_add(1, Ordering::Acquire);
        assert!(
            word & WAITER_MASK < WAITER_MASK,
            "too many waiters on one slab"
        );
    }

    /// Undoes one [`listen`](Self::listen) of `group`.
    pub(crate) fn unlisten(&self, group: &Arc<WakeGroup>) {
        let mut groups = self
            .lock
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(index) = groups.iter().position(|g| Arc::ptr_eq(g, group)) {
            groups.swap_remove(index);
            // Relaxed: as in `Registration::drop`.
            self.word.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Blocks until `ready` gives a value, the notifier closes (`None`) or
    /// `deadline` passes (`None`, after a last look). `ready` is checked first,
    /// then after registering, then after every wake-up.
    pub(crate) fn wait<T>(
        &self,
        deadline: Option<Instant>,
        mut ready: impl FnMut() -> Option<T>,
    ) -> Option<T> {
        if let Some(value) = ready() {
            return Some(value);
        }
        let registration = Registration::new(self);
        let mut epoch = registration.epoch;
        loop {
            if let Some(value) = ready() {
                return Some(value);
            }
            if self.is_closed() {
                return None;
            }
            let left = match deadline {
                None => None,
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => return None,
                },
            };
            let guard = self
                .lock
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            // Acquire: a publish seen here makes its snapshot visible to `ready`.
            let now = self.word.load(Ordering::Acquire) >> WAITER_BITS;
            if now == epoch && !self.is_closed() {
                let _guard = match left {
                    None => self
                        .wake
                        .wait(guard)
                        .unwrap_or_else(|poison| poison.into_inner()),
                    Some(left) => {
                        self.wake
                            .wait_timeout(guard, left.min(MAX_SLEEP))
                            .unwrap_or_else(|poison| poison.into_inner())
                            .0
                    }
                };
                epoch = self.word.load(Ordering::Acquire) >> WAITER_BITS;
            } else {
                epoch = now;
            }
        }
    }
}

/// A waiter on several slabs at once: each slab it listens to wakes it.
pub(crate) struct WakeGroup {
    /// Bumped by every wake.
    epoch: AtomicU64,
    lock: Mutex<()>,
    wake: Condvar,
}

#[cfg_attr(rtsp_ingest_loom, allow(dead_code))] // used by `manager`, not built under loom
impl WakeGroup {
    pub(crate) fn new() -> Self {
        Self {
            epoch: AtomicU64::new(0),
            lock: Mutex::new(()),
            wake: Condvar::new(),
        }
    }

    /// The wake count now; pass it to [`sleep`](Self::sleep) after checking
    /// every slab.
    pub(crate) fn epoch(&self) -> u64 {
        // Acquire: pairs with the Release add in `wake`.
        self.epoch.load(Ordering::Acquire)
    }

    fn wake(&self) {
        // Release: orders the waking slab's publish before the sleeper's re-check.
        self.epoch.fetch_add(1, Ordering::Release);
        drop(
            self.lock
                .lock()
                .unwrap_or_else(|poison| poison.into_inner()),
        );
        self.wake.notify_all();
    }

    /// Sleeps until woken after `epoch` or until `deadline` (at most `cap`).
    pub(crate) fn sleep(&self, epoch: u64, deadline: Option<Instant>, cap: Duration) {
        let guard = self
            .lock
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if self.epoch() != epoch {
            return;
        }
        let left = deadline
            .map_or(cap, |deadline| {
                deadline.saturating_duration_since(Instant::now())
            })
            .min(cap);
        if left.is_zero() {
            return;
        }
        drop(
            self.wake
                .wait_timeout(guard, left)
                .unwrap_or_else(|poison| poison.into_inner()),
        );
    }
}

/// The longest single sleep: a bound on how late a waiter notices a deadline
/// even if the platform's timed wait overshoots.
const MAX_SLEEP: Duration = Duration::from_secs(3600);

/// A registered waiter; deregisters on drop (also when `ready` panics).
struct Registration<'a> {
    notifier: &'a Notifier,
    /// The epoch when the waiter registered.
    epoch: u64,
}

impl<'a> Registration<'a> {
    fn new(notifier: &'a Notifier) -> Self {
        // Acquire: pairs with the producer's Release add (module docs).
        let word = notifier.word.fetch_add(1, Ordering::Acquire);
        assert!(
            word & WAITER_MASK < WAITER_MASK,
            "too many waiters on one slab"
        );
        Self {
            notifier,
            epoch: word >> WAITER_BITS,
        }
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        // Relaxed: the count only decides whether the producer notifies; a
        // producer that still sees this waiter notifies needlessly.
        self.notifier.word.fetch_sub(1, Ordering::Relaxed);
    }
}
