//! The ordered consumer and the latest-frame readers.

use super::frame::Frame;
use super::notify::WakeGroup;
use super::policy::SlabStats;
use super::ring::ReaderRole;
use super::Shared;
use std::time::{Duration, Instant};

use crate::sync::Arc;

/// The ordered end of a slab: takes frames oldest-first (or the newest, or looks
/// at a range in place), for recording or analysis. One per slab; `Send`, not
/// `Clone`. Never blocks, and never blocks the producer: while it looks at queued
/// frames in place, the producer skips evictions instead of waiting.
pub struct Consumer {
    shared: Arc<Shared>,
    role: ReaderRole,
}

impl Consumer {
    pub(crate) fn new(shared: Arc<Shared>, role: ReaderRole) -> Self {
        Self { shared, role }
    }

    /// Takes the oldest queued frame.
    pub fn pop_oldest(&mut self) -> Option<Frame> {
        self.open_queue();
        let slot = self.shared.ring.pop_front(&mut self.role)?;
        self.shared.counters.taken.add(1);
        Some(Frame::new(slot))
    }

    /// Takes the newest queued frame, leaving older ones queued.
    pub fn pop_latest(&mut self) -> Option<Frame> {
        self.open_queue();
        let slot = self.shared.ring.pop_back(&mut self.role)?;
        self.shared.counters.taken.add(1);
        Some(Frame::new(slot))
    }

    /// The oldest queued frame, left in the queue.
    pub fn read_oldest(&mut self) -> Option<Frame> {
        self.open_queue();
        let pinned = self.shared.ring.pin(&mut self.role);
        (pinned.len() > 0).then(|| Frame::new(pinned.get(0)))
    }

    /// Every queued frame, oldest first, left in the queue (handles, not copies).
    pub fn read_all(&mut self) -> Vec<Frame> {
        self.read_range(0, None)
    }

    /// Up to `count` queued frames (all, if `None`) starting `start` places from
    /// the oldest, left in the queue. Empty when `start` is past the end.
    pub fn read_range(&mut self, start: usize, count: Option<usize>) -> Vec<Frame> {
        self.open_queue();
        let pinned = self.shared.ring.pin(&mut self.role);
        let end = count.map_or(pinned.len(), |count| {
            start.saturating_add(count).min(pinned.len())
        });
        (start..end)
            .map(|index| Frame::new(pinned.get(index)))
            .collect()
    }

    /// Empties the queue at once (one atomic step: no frame queued before this
    /// call is ever popped after it) and returns how many frames it held. The
    /// latest snapshot is untouched (it shows the stream, not the queue); under
    /// `Sample`, a new span begins at the next frame.
    pub fn clear(&mut self) -> usize {
        self.open_queue();
        let cleared = self.shared.ring.clear(&mut self.role);
        self.shared.counters.cleared.add(cleared as u64);
        cleared
    }

    /// Frames queued now.
    pub fn len(&self) -> usize {
        self.open_queue();
        self.shared.ring.len()
    }

    /// Whether the queue is empty now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Opens the ordered queue of a slab built with
    /// [`SlabConfig::queue_on_demand`](super::SlabConfig::queue_on_demand):
    /// frames committed from now on are queued. Every other method of the
    /// consumer but [`reader`](Self::reader) and [`stats`](Self::stats) does
    /// this first; it does nothing on an open queue.
    pub fn open_queue(&self) {
        self.shared.open_queue();
    }

    /// A new reader of this slab.
    pub fn reader(&self) -> Reader {
        Reader::new(Arc::clone(&self.shared))
    }

    /// The slab's counters and sizes.
    pub fn stats(&self) -> SlabStats {
        self.shared.stats()
    }
}

/// A reader of the newest frame. Clone one per thread (or share one: it is
/// `Sync`); reading never blocks and never allocates.
#[derive(Clone)]
pub struct Reader {
    shared: Arc<Shared>,
}

impl Reader {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// The newest committed frame, if any: a handle that keeps its slot intact
    /// while held. Reading it twice may give the same frame; see
    /// [`latest_after`](Self::latest_after).
    pub fn latest(&self) -> Option<Frame> {
        self.shared.latest.load_full().map(Frame::new)
    }

    /// A cache of the newest frame for this thread: [`LatestCache::latest`]
    /// costs one atomic load while nothing new was published.
    pub fn cache(&self) -> LatestCache {
        LatestCache {
            shared: Arc::clone(&self.shared),
            epoch: None,
            frame: None,
        }
    }

    /// The newest frame if its sequence number is above `seq`: pass the last
    /// frame's `seq()` to never see a frame twice. When there is nothing newer
    /// this touches no reference count.
    pub fn latest_after(&self, seq: u64) -> Option<Frame> {
        self.shared
            .latest
            .load_if(|slot| slot.meta().seq > seq)
            .map(Frame::new)
    }

    /// The next frame newer than `seq`: at once if there is one, else blocks
    /// (without spinning) until the producer publishes one or `timeout` passes.
    /// `None` on timeout, or once the producer is gone (the stream stopped).
    /// Pass the last frame's `seq()` to never see a frame twice. Frames
    /// published while the caller was busy are skipped: this is the newest.
    /// `Duration::MAX` waits for ever. Many threads may wait at once; a
    /// publish wakes them all.
    pub fn wait_after(&self, seq: u64, timeout: Duration) -> Option<Frame> {
        self.wait_for(timeout, || self.latest_after(seq))
    }

    /// The newest frame, waiting up to `timeout` for the first one.
    pub fn wait_latest(&self, timeout: Duration) -> Option<Frame> {
        self.wait_for(timeout, || self.latest())
    }

    /// A timeout too large to add to now (`Duration::MAX`) waits for ever.
    fn wait_for(&self, timeout: Duration, ready: impl FnMut() -> Option<Frame>) -> Option<Frame> {
        let deadline = Instant::now().checked_add(timeout);
        self.shared.notifier.wait(deadline, ready)
    }

    /// Wakes every waiter for good, as if the producer were gone (the stream
    /// is stopping).
    #[cfg_attr(rtsp_ingest_loom, allow(dead_code))] // used by `stream`, not built under loom
    pub(crate) fn close_waiters(&self) {
        self.shared.notifier.close();
    }

    /// Registers `group` to be woken by this slab's next publish.
    #[cfg_attr(rtsp_ingest_loom, allow(dead_code))] // used by `manager`, not built under loom
    pub(crate) fn listen(&self, group: &Arc<WakeGroup>) {
        self.shared.notifier.listen(group);
    }

    /// Undoes [`listen`](Self::listen).
    #[cfg_attr(rtsp_ingest_loom, allow(dead_code))]
    pub(crate) fn unlisten(&self, group: &Arc<WakeGroup>) {
        self.shared.notifier.unlisten(group);
    }

    /// Whether the producer is gone: no frame will be published any more.
    pub fn is_closed(&self) -> bool {
        self.shared.notifier.is_closed()
    }

    /// Frames in the ordered queue now.
    pub fn len(&self) -> usize {
        self.shared.ring.len()
    }

    /// Whether the ordered queue is empty now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The slab's counters and sizes.
    pub fn stats(&self) -> SlabStats {
        self.shared.stats()
    }
}

/// One thread's cache of the newest frame: [`latest`](Self::latest) lends the
/// cached frame while the slab's publish count is unchanged (one atomic load,
/// no reference count touched) and fetches the new one, once, when it moved.
/// For a thread that looks at the newest frame far more often than frames come.
///
/// The cache holds the frame it last fetched, so it keeps that slot from
/// reuse like any held [`Frame`]: count it as a reader in
/// [`SlabConfig::reader_slots`](super::SlabConfig::reader_slots), or call
/// [`release`](Self::release) when the thread stops looking.
pub struct LatestCache {
    shared: Arc<Shared>,
    /// The publish count read before `frame` was fetched; `None` before the
    /// first fetch and after `release`.
    epoch: Option<u64>,
    frame: Option<Frame>,
}

impl LatestCache {
    /// The newest committed frame, if any, lent from the cache: the frame
    /// [`Reader::latest`] gives, except that it may lag a commit still in
    /// progress (its frame stored, its publish not yet counted). Clone the
    /// frame to keep it past the next call.
    pub fn latest(&mut self) -> Option<&Frame> {
        let epoch = self.shared.notifier.epoch();
        if self.epoch != Some(epoch) {
            // Fetched after reading `epoch`, so at least as new as that publish.
            self.frame = self.shared.latest.load_full().map(Frame::new);
            self.epoch = Some(epoch);
        }
        self.frame.as_ref()
    }

    /// Drops the cached frame (its slot can be reused); the next
    /// [`latest`](Self::latest) fetches again.
    pub fn release(&mut self) {
        self.frame = None;
        self.epoch = None;
    }
}
