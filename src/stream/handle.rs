//! [`Stream`]: a running stream's handle. Starts the worker thread, reads its
//! frames and status, and stops it in bounded time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use crossbeam_channel::{Receiver, Sender};

use super::config::StreamConfig;
use super::events::{EventChannel, STREAM_EVENTS_CAPACITY};
use super::status::{StatusCell, StreamEvent, StreamStatus};
use super::worker;
use crate::error::{Error, ErrorKind, Result};
use crate::ffmpeg::Interrupt;
use crate::slab::{Consumer, DropCounts, EvictCounts, Frame, Reader, SlabStats};

/// How long [`Stream::stop`] waits for the worker before giving up on joining it.
const STOP_BUDGET: Duration = Duration::from_millis(1500);

/// The slab's reading ends, made when the first connection tells the frame
/// size, and made anew when the camera's picture size changes (without a
/// configured resize): readers then find the new slab on their next call.
pub(crate) struct SlabEnds {
    pub(crate) reader: Reader,
    pub(crate) consumer: Mutex<Option<Consumer>>,
    /// The drops and evictions of the slabs this one replaced (final: a
    /// replaced slab gets no more frames), so the stream's books add up.
    pub(crate) retired: RetiredBooks,
}

/// What the slabs a stream no longer uses counted.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RetiredBooks {
    pub(crate) dropped: DropCounts,
    pub(crate) evicted: EvictCounts,
}

impl SlabEnds {
    /// The slab's stats with the replaced slabs' drops and evictions added.
    pub(crate) fn stats(&self) -> SlabStats {
        let mut stats = self.reader.stats();
        let (dropped, evicted) = (self.retired.dropped, self.retired.evicted);
        stats.dropped.no_free_slot += dropped.no_free_slot;
        stats.dropped.abandoned += dropped.abandoned;
        stats.evicted.overwritten += evicted.overwritten;
        stats.evicted.sampled_out += evicted.sampled_out;
        stats.evicted.queue_full += evicted.queue_full;
        stats
    }

    /// The books to hand to the slab replacing this one, given the replaced
    /// slab's final `stats` ([`stats`](Self::stats) of this one).
    pub(crate) fn books(stats: &SlabStats) -> RetiredBooks {
        RetiredBooks {
            dropped: stats.dropped,
            evicted: stats.evicted,
        }
    }
}

/// Asked before the slab is built, with its pixel bytes; an error refuses it (the
/// manager's memory budget).
pub(crate) type SlabAdmission = Box<dyn Fn(usize) -> Result<()> + Send + Sync>;

/// Run by the worker as its last act, once its slab producer is gone.
pub(crate) type FinishHook = Box<dyn FnOnce() + Send>;

/// Whether the worker has ended, and what it must run when it does.
#[derive(Default)]
struct Finish {
    done: bool,
    hooks: Vec<FinishHook>,
}

/// What the worker and the handle share.
pub(crate) struct StreamShared {
    pub(crate) admit_slab: Option<SlabAdmission>,
    pub(crate) config: StreamConfig,
    pub(crate) status: StatusCell,
    /// Bounds every blocking FFmpeg call; its stop flag is the stream's.
    pub(crate) interrupt: Arc<Interrupt>,
    /// The current slab's reading ends (`None` until the first frame). Swapped
    /// whole by the worker on a re-layout, before the old producer is dropped,
    /// so a waiter woken by the old slab's close finds the new one.
    slab: ArcSwapOption<SlabEnds>,
    /// Whether anyone asked for the ordered consumer ([`Stream::take_consumer`],
    /// even before the first slab existed): slabs built from then on queue
    /// frames from their first, others only once their consumer is taken.
    ordered_wanted: AtomicBool,
    /// Set by the worker as its last act; `stop` waits on it with a deadline.
    finished: Mutex<Finish>,
    finished_signal: Condvar,
    /// Wakes the worker from a backoff wait when the stream is stopped.
    wake: Mutex<()>,
    wake_signal: Condvar,
}

impl StreamShared {
    pub(crate) fn is_stopping(&self) -> bool {
        self.interrupt.is_stopped()
    }

    /// Sleeps up to `duration`; returns false if the stream was stopped meanwhile.
    pub(crate) fn wait(&self, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        let mut guard = self
            .wake
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        loop {
            if self.is_stopping() {
                return false;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            guard = self
                .wake_signal
                .wait_timeout(guard, left)
                .unwrap_or_else(|poison| poison.into_inner())
                .0;
        }
    }

    fn request_stop(&self) {
        self.interrupt.stop();
        // Waiters return `None` at once, even before the worker has ended.
        if let Some(ends) = self.slab() {
            ends.reader.close_waiters();
        }
        self.slab_built();
        // Taking the lock orders the flag before a waiter's check-then-wait.
        drop(
            self.wake
                .lock()
                .unwrap_or_else(|poison| poison.into_inner()),
        );
        self.wake_signal.notify_all();
    }

    fn lock_finish(&self) -> std::sync::MutexGuard<'_, Finish> {
        self.finished
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The worker's last act (its slab producer already gone):
    /// `enter_final_state` (which must not block), the finish hooks, then the
    /// finished flag, all under the flag's lock. So whoever sees the final
    /// state (in the status or as an event) and then asks `is_finished` gets
    /// true, whoever sees `is_finished` reads the final state, and a hook
    /// registered meanwhile either runs here or sees `done`.
    pub(crate) fn finish(&self, enter_final_state: impl FnOnce()) {
        let mut finish = self.lock_finish();
        enter_final_state();
        for hook in finish.hooks.drain(..) {
            hook();
        }
        finish.done = true;
        drop(finish);
        self.finished_signal.notify_all();
    }

    fn is_finished(&self) -> bool {
        self.lock_finish().done
    }

    /// Runs `hook` when the worker has ended: now if it has.
    fn on_finished(&self, hook: FinishHook) {
        let mut finish = self.lock_finish();
        if finish.done {
            drop(finish);
            hook();
        } else {
            finish.hooks.push(hook);
        }
    }

    fn wait_finished(&self, budget: Duration) -> bool {
        let guard = self.lock_finish();
        let (guard, _) = self
            .finished_signal
            .wait_timeout_while(guard, budget, |finish| !finish.done)
            .unwrap_or_else(|poison| poison.into_inner());
        guard.done
    }

    pub(crate) fn status(&self) -> StreamStatus {
        self.status.snapshot(
            self.slab.load().as_ref().map(|ends| ends.stats()),
            self.interrupt.stage(),
        )
    }

    /// The current slab's ends, once the first frame has sized it.
    /// Whether a consumer of ordered frames was asked for (see `ordered_wanted`).
    pub(crate) fn ordered_wanted(&self) -> bool {
        // Relaxed: a hint for the next slab's build; `take_consumer` opens the
        // queue of a slab that missed it.
        self.ordered_wanted.load(Ordering::Relaxed)
    }

    pub(crate) fn slab(&self) -> Option<Arc<SlabEnds>> {
        self.slab.load_full()
    }

    /// Makes `ends` the current slab (the first, or one replacing the last)
    /// and wakes whoever waits for it. Call before dropping the producer of a
    /// slab it replaces.
    pub(crate) fn set_slab(&self, ends: SlabEnds) {
        self.slab.store(Some(Arc::new(ends)));
        self.slab_built();
    }

    pub(crate) fn latest(&self) -> Option<Frame> {
        self.slab.load().as_ref()?.reader.latest()
    }

    /// The newest frame if newer than `seq`.
    pub(crate) fn latest_after(&self, seq: u64) -> Option<Frame> {
        self.slab.load().as_ref()?.reader.latest_after(seq)
    }

    /// A reader of the current slab, once the first frame has sized it.
    pub(crate) fn reader(&self) -> Option<Reader> {
        Some(self.slab.load().as_ref()?.reader.clone())
    }

    /// The slab's ends, once built: waits for the first frame to size the slab
    /// until `deadline`, or `None` if the worker ends first.
    fn wait_slab(&self, deadline: Option<Instant>) -> Option<Arc<SlabEnds>> {
        let mut finished = self
            .finished
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        loop {
            if let Some(ends) = self.slab() {
                return Some(ends);
            }
            if finished.done || self.is_stopping() {
                return None;
            }
            let left = match deadline {
                None => Duration::from_secs(3600),
                Some(deadline) => deadline
                    .checked_duration_since(Instant::now())
                    .filter(|left| !left.is_zero())?,
            };
            finished = self
                .finished_signal
                .wait_timeout(finished, left)
                .unwrap_or_else(|poison| poison.into_inner())
                .0;
        }
    }

    /// The newest frame newer than `after` (any frame for `None`), blocking up
    /// to `timeout` for one (see [`Reader::wait_after`]). A wait on a slab
    /// that is replaced (its producer dropped) goes on on the new one.
    pub(crate) fn wait_frame(&self, after: Option<u64>, timeout: Duration) -> Option<Frame> {
        let deadline = Instant::now().checked_add(timeout);
        loop {
            let ends = self.wait_slab(deadline)?;
            let left = deadline.map_or(Duration::MAX, |deadline| {
                deadline.saturating_duration_since(Instant::now())
            });
            let frame = match after {
                Some(seq) => ends.reader.wait_after(seq, left),
                None => ends.reader.wait_latest(left),
            };
            let replaced = self
                .slab()
                .is_some_and(|current| !Arc::ptr_eq(&current, &ends));
            if frame.is_some() || !replaced || self.is_stopping() {
                return frame;
            }
        }
    }

    /// Wakes [`wait_frame`](Self::wait_frame) callers waiting for the slab.
    pub(crate) fn slab_built(&self) {
        drop(
            self.finished
                .lock()
                .unwrap_or_else(|poison| poison.into_inner()),
        );
        self.finished_signal.notify_all();
    }
}

/// One running stream: a worker thread that connects, decodes and publishes into
/// the stream's slab, reconnecting as needed, until stopped or dropped.
///
/// ```no_run
/// use rtsp_ingest::stream::{Stream, StreamConfig};
///
/// # fn main() -> rtsp_ingest::Result<()> {
/// let config = StreamConfig::new("rtsp://user:pass@192.168.1.20/stream1")?;
/// let mut stream = Stream::start("door", config)?;
/// let mut last = None;
/// loop {
///     // The newest BGR frame, never the same one twice.
///     let next = match last { Some(seq) => stream.latest_after(seq), None => stream.latest() };
///     if let Some(frame) = next {
///         println!("{}x{} frame {} ({:?} old)", frame.width(), frame.height(), frame.seq(), frame.age());
///         last = Some(frame.seq());
///     }
///     # break;
///     std::thread::sleep(std::time::Duration::from_millis(10));
/// }
/// stream.stop();
/// # Ok(())
/// # }
/// ```
pub struct Stream {
    shared: Arc<StreamShared>,
    worker: Option<JoinHandle<()>>,
    /// The receiving end of the stream's own event channel, if it has one.
    events: Option<Receiver<StreamEvent>>,
    /// Whether a stop already waited out its budget: the worker was left to
    /// finish alone, and dropping the handle does not wait for it again.
    abandoned: bool,
}

impl Stream {
    /// Validates `config` and starts the worker; returns at once (the stream is
    /// `Connecting`).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] for an invalid config or a core index this
    /// machine does not have; an OS error if the thread cannot be spawned.
    pub fn start(id: impl Into<String>, config: StreamConfig) -> Result<Self> {
        let (channel, receiver) = EventChannel::bounded(STREAM_EVENTS_CAPACITY);
        let mut stream = Self::spawn(id.into(), config, &channel, None)?;
        stream.events = Some(receiver);
        Ok(stream)
    }

    /// Like [`start`](Self::start), announcing state transitions on `events`
    /// (one channel can serve many streams; [`events`](Self::events) is then
    /// `None`). The worker never blocks on it: when a bounded `events` is full
    /// the new event is dropped and counted in
    /// [`StreamStatus::events_lost`]; an unbounded one grows while nobody reads.
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub fn start_with_events(
        id: impl Into<String>,
        config: StreamConfig,
        events: Sender<StreamEvent>,
    ) -> Result<Self> {
        Self::spawn(id.into(), config, &EventChannel::from_sender(events), None)
    }

    /// Starts a stream whose slab must be admitted by `admit_slab` first.
    pub(crate) fn spawn(
        id: String,
        config: StreamConfig,
        events: &Arc<EventChannel>,
        admit_slab: Option<SlabAdmission>,
    ) -> Result<Self> {
        config.validate()?;
        let status = StatusCell::new(id.clone(), config.url().to_owned(), config.core, events);
        let shared = Arc::new(StreamShared {
            admit_slab,
            config,
            status,
            interrupt: Interrupt::new(),
            slab: ArcSwapOption::empty(),
            ordered_wanted: AtomicBool::new(false),
            finished: Mutex::new(Finish::default()),
            finished_signal: Condvar::new(),
            wake: Mutex::new(()),
            wake_signal: Condvar::new(),
        });
        let worker_shared = Arc::clone(&shared);
        let worker = std::thread::Builder::new()
            .name(format!("rtsp-{id}"))
            .spawn(move || worker::run(&worker_shared))
            .map_err(|error| {
                Error::new(
                    ErrorKind::Ffmpeg,
                    format!("spawning the worker of `{id}`: {error}"),
                )
            })?;
        Ok(Self {
            shared,
            worker: Some(worker),
            events: None,
            abandoned: false,
        })
    }

    /// State transitions with timestamps, in order, when the stream was started
    /// with [`start`](Self::start). Bounded: it holds the newest
    /// [`STREAM_EVENTS_CAPACITY`] events, older ones are dropped unread and
    /// counted in [`StreamStatus::events_lost`].
    pub fn events(&self) -> Option<&Receiver<StreamEvent>> {
        self.events.as_ref()
    }

    /// The stream's id.
    pub fn id(&self) -> &str {
        &self.shared.status.id
    }

    /// State, counters and last error, read without a lock.
    pub fn status(&self) -> StreamStatus {
        self.shared.status()
    }

    /// The newest frame, once one has been decoded.
    pub fn latest(&self) -> Option<Frame> {
        self.shared.latest()
    }

    /// What the handle shares with its worker, for lock-free reads elsewhere.
    pub(crate) fn view(&self) -> Arc<StreamShared> {
        Arc::clone(&self.shared)
    }

    /// Whether the worker has ended (stopped, or failed for good: a worker that
    /// panicked has ended too, its stream `Failed` with the panic's message).
    /// After a [`stop`](Self::stop) that returned false, false until the worker
    /// ends.
    pub fn is_finished(&self) -> bool {
        self.worker.is_none() || self.shared.is_finished()
    }

    /// Whether the stream was asked to stop (its worker may still be ending).
    pub(crate) fn is_stopping(&self) -> bool {
        self.shared.is_stopping()
    }

    /// Runs `hook` once the worker has ended and dropped its slab producer
    /// (now, if it has): how the manager frees what a worker that did not stop
    /// in time still holds.
    pub(crate) fn on_finished(&self, hook: FinishHook) {
        self.shared.on_finished(hook);
    }

    /// The newest frame if newer than `seq` (pass the last frame's `seq()`).
    /// Sequence numbers go on across a re-layout (a new picture size).
    pub fn latest_after(&self, seq: u64) -> Option<Frame> {
        self.shared.latest_after(seq)
    }

    /// The next frame newer than `seq`, blocking without spinning until one is
    /// published or `timeout` passes (`Duration::MAX`: no timeout). `None` on
    /// timeout, or once the stream is stopped (a stop wakes every waiter).
    ///
    /// ```no_run
    /// # use rtsp_ingest::stream::{Stream, StreamConfig};
    /// # use std::time::Duration;
    /// # fn infer(_: &[u8]) {}
    /// # fn main() -> rtsp_ingest::Result<()> {
    /// let camera = Stream::start("door", StreamConfig::new("rtsp://10.0.0.5/live")?)?;
    /// let mut frame = camera.wait_latest(Duration::from_secs(10));
    /// while let Some(current) = frame {
    ///     infer(current.data());
    ///     frame = camera.wait_after(current.seq(), Duration::from_secs(5));
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait_after(&self, seq: u64, timeout: Duration) -> Option<Frame> {
        self.shared.wait_frame(Some(seq), timeout)
    }

    /// The newest frame, waiting up to `timeout` for the first one.
    pub fn wait_latest(&self, timeout: Duration) -> Option<Frame> {
        self.shared.wait_frame(None, timeout)
    }

    /// A handle for reading and waiting on this stream's frames from other
    /// threads (cheap to clone). Its waits end with `None` when the stream stops.
    pub fn frames(&self) -> FrameSource {
        FrameSource(Arc::clone(&self.shared))
    }

    /// A reader of the stream's slab, once the first connection has sized it.
    /// When the camera changes its picture size (and no resize is
    /// configured) the stream moves to a new slab: this reader's slab is then
    /// closed ([`Reader::is_closed`]); ask for a new reader. The
    /// [`latest`](Self::latest) and `wait_*` methods follow by themselves.
    pub fn reader(&self) -> Option<Reader> {
        self.shared.reader()
    }

    /// Opens the ordered queue without taking the consumer: frames from now
    /// on (from the first, when called before the stream's first frame) are
    /// queued for [`take_consumer`](Self::take_consumer)'s consumer. A stream
    /// read only through [`latest`](Self::latest) and `wait_*` never needs it.
    pub fn queue_frames(&self) {
        // Relaxed: see `StreamShared::ordered_wanted`.
        self.shared.ordered_wanted.store(true, Ordering::Relaxed);
        if let Some(ends) = self.shared.slab() {
            if let Some(consumer) = ends
                .consumer
                .lock()
                .unwrap_or_else(|poison| poison.into_inner())
                .as_ref()
            {
                consumer.open_queue();
            }
        }
    }

    /// The slab's ordered consumer, once per slab (later calls get `None`), and
    /// only after the first connection has sized the slab. After a re-layout
    /// (see [`reader`](Self::reader)) the old consumer's slab gets no more
    /// frames and this gives the new slab's consumer. The ordered queue opens
    /// at the first call, even one made before the slab exists (it gets
    /// `None`, and the slab then queues from its first frame): frames decoded
    /// before it were only ever the latest frame (counted as evicted
    /// `no_consumer`), and a stream whose consumer is never asked for keeps no
    /// queue (and touches no queue memory).
    pub fn take_consumer(&self) -> Option<Consumer> {
        self.queue_frames();
        let consumer = self
            .shared
            .slab()?
            .consumer
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .take()?;
        consumer.open_queue();
        Some(consumer)
    }

    /// Stops the worker: interrupts whatever FFmpeg call or host-name lookup it
    /// is in and joins it. Returns within about 200 ms whatever the camera or
    /// its DNS server is doing; returns false if the worker did not finish
    /// within 1.5 s (it is then left to finish alone, and
    /// [`is_finished`](Self::is_finished) says when it has).
    pub fn stop(&mut self) -> bool {
        self.request_stop();
        self.join(STOP_BUDGET)
    }

    /// Interrupts the worker without waiting for it (see [`join`](Self::join)):
    /// stopping many streams at once takes the time of the slowest, not the sum.
    pub(crate) fn request_stop(&self) {
        self.shared.request_stop();
    }

    /// Waits up to `budget` for a stopped worker and reaps it; on a timeout
    /// keeps its handle, so the stream still counts as running.
    pub(crate) fn join(&mut self, budget: Duration) -> bool {
        let Some(worker) = self.worker.take() else {
            return true;
        };
        if self.shared.wait_finished(budget) {
            // The worker has done its last act; joining only reaps the thread.
            let _ = worker.join();
            true
        } else {
            tracing::error!(stream = %self.id(), "worker did not stop within {budget:?}");
            self.worker = Some(worker);
            self.abandoned = true;
            false
        }
    }
}

/// A stream's frames as any thread sees them: [`Stream::frames`]. Usable
/// before the first connection (waits cover it) and after the stream stops
/// (everything is `None` or the last frame).
#[derive(Clone)]
pub struct FrameSource(Arc<StreamShared>);

impl FrameSource {
    /// The newest frame, once one has been decoded.
    pub fn latest(&self) -> Option<Frame> {
        self.0.latest()
    }

    /// The newest frame if newer than `seq`.
    pub fn latest_after(&self, seq: u64) -> Option<Frame> {
        self.0.latest_after(seq)
    }

    /// See [`Stream::wait_after`].
    pub fn wait_after(&self, seq: u64, timeout: Duration) -> Option<Frame> {
        self.0.wait_frame(Some(seq), timeout)
    }

    /// See [`Stream::wait_latest`].
    pub fn wait_latest(&self, timeout: Duration) -> Option<Frame> {
        self.0.wait_frame(None, timeout)
    }
}

impl std::fmt::Debug for FrameSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameSource")
            .field("id", &self.0.status.id)
            .finish_non_exhaustive()
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        if self.abandoned {
            // Already waited for once: let it finish alone (the thread detaches).
            self.request_stop();
        } else {
            self.stop();
        }
    }
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("id", &self.id())
            .field("url", &self.shared.status.url)
            .finish_non_exhaustive()
    }
}
