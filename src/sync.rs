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

pub(crate) use snapshot::Snapshot;

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
