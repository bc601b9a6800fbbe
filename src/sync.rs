//! The one loom facade: every concurrent type the crate uses comes from here.
//!
//! Built normally, these are the `std` atomics, `std::sync::Arc` and an
//! [`arc_swap`]-backed [`Snapshot`]. Built with `RUSTFLAGS="--cfg rtsp_ingest_loom"`
//! (crate-prefixed, so dependencies are not switched too) they become loom's
//! model-checked twins, and `Snapshot` becomes a loom `Mutex<Option<Arc<T>>>`:
//! arc-swap has no loom support, and a mutex is the simplest object that has the
//! same contract, so loom checks *our* protocol around it rather than arc-swap's
//! internals.

#[cfg(not(rtsp_ingest_loom))]
pub(crate) use std::sync::{
    atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering},
    Arc, Condvar, Mutex,
};

#[cfg(rtsp_ingest_loom)]
pub(crate) use loom::sync::{
    atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering},
    Arc, Condvar, Mutex,
};

pub(crate) use cell::UnsafeCell;
pub(crate) use snapshot::Snapshot;

#[cfg(not(rtsp_ingest_loom))]
mod cell {
    /// A `std::cell::UnsafeCell` with the two accesses the crate makes, so
    /// that under loom the same code is checked for racing reads and writes.
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
        }

        /// # Safety
        /// No write may happen while the reference lives.
        pub(crate) unsafe fn get(&self) -> &T {
            // SAFETY: the caller promises no concurrent or later-overlapping write.
            unsafe { &*self.0.get() }
        }

        /// # Safety
        /// No other access (read or write) may happen at the same time.
        pub(crate) unsafe fn set(&self, value: T) {
            // SAFETY: the caller promises exclusive access for the write.
            unsafe { *self.0.get() = value }
        }
    }
}

#[cfg(rtsp_ingest_loom)]
mod cell {
    /// Loom's twin: every `get` and `set` is checked against the others.
    pub(crate) struct UnsafeCell<T>(loom::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(loom::cell::UnsafeCell::new(value))
        }

        /// # Safety
        /// As for the `std` build.
        pub(crate) unsafe fn get(&self) -> &T {
            // SAFETY: as for the `std` build; loom records the read here.
            self.0.with(|value| unsafe { &*value })
        }

        /// # Safety
        /// As for the `std` build.
        pub(crate) unsafe fn set(&self, value: T) {
            // SAFETY: as for the `std` build; loom records the write here.
            self.0.with_mut(|slot| unsafe { *slot = value })
        }
    }
}

#[cfg(not(rtsp_ingest_loom))]
mod snapshot {
    use arc_swap::ArcSwapOption;
    use std::sync::Arc;

    /// The newest published value, readable by any number of threads without a lock.
    ///
    /// Readers never block the writer and the writer never blocks readers
    /// (arc-swap's debt list makes `load` wait-free in the common case).
    pub(crate) struct Snapshot<T>(ArcSwapOption<T>);

    impl<T> Snapshot<T> {
        pub(crate) fn empty() -> Self {
            Self(ArcSwapOption::const_empty())
        }

        /// Replaces the value. When this returns, every reader that still
        /// borrows the old value holds a counted reference to it (arc-swap pays
        /// its debts in `store`), so the old value's `strong_count` is exact.
        pub(crate) fn store(&self, value: Option<Arc<T>>) {
            self.0.store(value);
        }

        /// A counted handle to the current value, if there is one.
        pub(crate) fn load_full(&self) -> Option<Arc<T>> {
            self.0.load_full()
        }

        /// A counted handle to the current value if `keep` accepts it. The check
        /// runs on a borrowed guard, so a refused value costs no reference count.
        pub(crate) fn load_if(&self, keep: impl FnOnce(&T) -> bool) -> Option<Arc<T>> {
            let guard = self.0.load();
            match &*guard {
                Some(value) if keep(value) => Some(Arc::clone(value)),
                _ => None,
            }
        }
    }
}

#[cfg(rtsp_ingest_loom)]
mod snapshot {
    use loom::sync::{Arc, Mutex};

    /// Loom twin of the arc-swap snapshot: same contract, modelled with a mutex.
    pub(crate) struct Snapshot<T>(Mutex<Option<Arc<T>>>);

    impl<T> Snapshot<T> {
        pub(crate) fn empty() -> Self {
            Self(Mutex::new(None))
        }

        pub(crate) fn store(&self, value: Option<Arc<T>>) {
            let old = std::mem::replace(&mut *self.0.lock().unwrap(), value);
            // The old value is released after the lock, as arc-swap releases it
            // after the swap.
            drop(old);
        }

        pub(crate) fn load_full(&self) -> Option<Arc<T>> {
            self.0.lock().unwrap().clone()
        }

        pub(crate) fn load_if(&self, keep: impl FnOnce(&T) -> bool) -> Option<Arc<T>> {
            let guard = self.0.lock().unwrap();
            match &*guard {
                Some(value) if keep(value) => Some(Arc::clone(value)),
                _ => None,
            }
        }
    }
}
