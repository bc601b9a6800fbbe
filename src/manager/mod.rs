//! Many streams (`stream_manager`): add, remove, start, stop and restart them at
//! run time; pin their workers to cores; keep their slabs within one memory
//! budget; read their status lock-free, their transitions as events, their
//! newest frames as a batch; shut everything down in bounded time.

mod batch;
mod budget;
mod metrics;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use crossbeam_channel::Receiver;

use crate::error::{Error, ErrorKind, Result};
use crate::slab::{Frame, FrameLayout, SlabConfig};
use crate::stream::{EventChannel, Stream, StreamConfig, StreamEvent, StreamShared, StreamStatus};
pub use batch::{BatchEntry, BatchView, Batcher};
use budget::Budget;
pub use metrics::METRIC_NAMES;

/// How long [`StreamManager::shutdown`] waits for every worker together.
const SHUTDOWN_BUDGET: Duration = Duration::from_millis(450);

/// Events [`StreamManager::events`] holds for every stream together, unless
/// [`ManagerConfig::event_capacity`] says otherwise; past it the oldest go
/// first, each counted in its stream's [`StreamStatus::events_lost`]. Sixteen
/// streams' worth of
/// [`STREAM_EVENTS_CAPACITY`](crate::stream::STREAM_EVENTS_CAPACITY).
pub const MANAGER_EVENTS_CAPACITY: usize = 16 * 1024;

/// How to run a [`StreamManager`]. `Default` + owned setters.
#[derive(Clone, Debug, PartialEq)]
pub struct ManagerConfig {
    cores: Option<Vec<usize>>,
    memory_budget_mb: Option<f64>,
    assumed_frame_size: (u32, u32),
    event_capacity: usize,
}

impl Default for ManagerConfig {
    fn default() -> Self {
        Self {
            cores: Some(Vec::new()),
            memory_budget_mb: None,
            assumed_frame_size: (1920, 1080),
            event_capacity: MANAGER_EVENTS_CAPACITY,
        }
    }
}

impl ManagerConfig {
    /// Pins decode workers round-robin to these cores (indices into
    /// `core_affinity::get_core_ids()`); an empty list (the default) means every
    /// core. A stream whose own config names a core keeps it.
    pub fn cores(mut self, cores: Vec<usize>) -> Self {
        self.cores = Some(cores);
        self
    }

    /// Leaves workers to the OS scheduler.
    pub fn no_pinning(mut self) -> Self {
        self.cores = None;
        self
    }

    /// Caps the pixel memory of every slab together; `add` refuses a stream
    /// that would pass it.
    pub fn memory_budget_mb(mut self, megabytes: f64) -> Self {
        self.memory_budget_mb = Some(megabytes);
        self
    }

    /// The frame size budgeted for a stream without a `resize`, until its camera
    /// tells the real size (default 1920×1080). When the real slab is larger and
    /// does not fit, the stream fails with [`ErrorKind::OverBudget`].
    pub fn assumed_frame_size(mut self, width: u32, height: u32) -> Self {
        self.assumed_frame_size = (width, height);
        self
    }

    /// Events [`StreamManager::events`] holds before dropping the oldest
    /// (default [`MANAGER_EVENTS_CAPACITY`]; at least 1).
    pub fn event_capacity(mut self, events: usize) -> Self {
        self.event_capacity = events.max(1);
        self
    }
}

/// One managed stream: its config and its current incarnation.
struct Entry {
    config: StreamConfig,
    /// The running (or last) stream; `None` only before the first start.
    stream: Mutex<Option<Stream>>,
    /// The current incarnation's shared state, for lock-free reads.
    view: ArcSwap<StreamShared>,
}

/// Why a batch has no frame for a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Missing {
    /// No stream has this id.
    UnknownStream,
    /// The stream has not published a frame yet.
    NoFrame,
    /// Its newest frame is older than asked.
    TooOld(Duration),
    /// ([`Batcher`]) The stream is not streaming (the state's name): stopped,
    /// failed, reconnecting, ...
    NotStreaming(&'static str),
    /// ([`Batcher`]) Nothing newer than the frame the batcher last handed out.
    NoNewFrame,
}

/// The newest frames of several streams, for one inference batch.
#[derive(Debug, Default)]
pub struct Batch {
    /// `(stream id, newest frame)`, in the order asked.
    pub frames: Vec<(String, Frame)>,
    /// `(stream id, why not)`, in the order asked.
    pub missing: Vec<(String, Missing)>,
}

/// Runs many streams.
///
/// ```no_run
/// use std::time::Duration;
/// use rtsp_ingest::manager::{ManagerConfig, StreamManager};
/// use rtsp_ingest::stream::StreamConfig;
///
/// # fn main() -> rtsp_ingest::Result<()> {
/// let manager = StreamManager::new(ManagerConfig::default().memory_budget_mb(2048.0));
/// for (id, url) in [("gate", "rtsp://cam1/live"), ("dock", "rtsp://cam2/live")] {
///     manager.add(id, StreamConfig::new(url)?)?;
/// }
/// let batch = manager.latest_batch(&["gate", "dock"], Duration::from_millis(200));
/// for (id, frame) in &batch.frames {
///     println!("{id}: {}x{}", frame.width(), frame.height());
/// }
/// manager.shutdown();
/// # Ok(())
/// # }
/// ```
pub struct StreamManager {
    streams: ArcSwap<HashMap<String, Arc<Entry>>>,
    /// Serialises add / remove / start / stop so each sees the map it changes.
    control: Mutex<()>,
    /// Every stream's transitions, bounded, drop-oldest.
    events: Arc<EventChannel>,
    events_received: Receiver<StreamEvent>,
    budget: Arc<Budget>,
    /// Ids of removed streams whose worker did not stop in time: their budget
    /// stays reserved and `add` refuses the id until the worker ends.
    ending: Arc<Mutex<HashSet<String>>>,
    cores: Option<Vec<usize>>,
    next_core: AtomicUsize,
    assumed_frame_size: (u32, u32),
}

impl StreamManager {
    /// A manager with no streams.
    pub fn new(config: ManagerConfig) -> Self {
        let cores = config.cores.map(|cores| {
            if cores.is_empty() {
                (0..core_affinity::get_core_ids().map_or(1, |ids| ids.len())).collect()
            } else {
                cores
            }
        });
        let limit = config
            .memory_budget_mb
            .map(|megabytes| (megabytes.max(0.0) * 1024.0 * 1024.0) as usize);
        let (events, events_received) = EventChannel::bounded(config.event_capacity);
        Self {
            streams: ArcSwap::from_pointee(HashMap::new()),
            control: Mutex::new(()),
            events,
            events_received,
            budget: Arc::new(Budget::new(limit)),
            ending: Arc::new(Mutex::new(HashSet::new())),
            cores,
            next_core: AtomicUsize::new(0),
            assumed_frame_size: config.assumed_frame_size,
        }
    }

    /// Adds a stream and starts it.
    ///
    /// # Errors
    /// [`ErrorKind::AlreadyExists`] for a duplicate id (also while the worker of
    /// a removed stream with this id has not ended), [`ErrorKind::OverBudget`]
    /// when its slab would pass the memory budget, [`ErrorKind::InvalidConfig`]
    /// for an invalid id or config.
    pub fn add(&self, id: &str, mut config: StreamConfig) -> Result<()> {
        Self::validate_id(id)?;
        config.validate()?;
        let _control = self.lock_control();
        if self.streams.load().contains_key(id) {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("stream `{id}` already exists"),
            ));
        }
        if lock(&self.ending).contains(id) {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "stream `{id}` was removed but its worker did not stop in time and still runs; \
                     add it again once it has ended"
                ),
            ));
        }
        self.budget
            .reserve(id, self.estimate_slab_bytes(&config)?)?;
        if config.core.is_none() {
            if let Some(cores) = &self.cores {
                let next = self.next_core.fetch_add(1, Ordering::Relaxed);
                config = config.core(cores[next % cores.len()]);
            }
        }
        let stream = match self.spawn(id, &config) {
            Ok(stream) => stream,
            Err(error) => {
                self.budget.release(id);
                return Err(error);
            }
        };
        let entry = Arc::new(Entry {
            config,
            view: ArcSwap::new(stream.view()),
            stream: Mutex::new(Some(stream)),
        });
        self.update_map(|map| {
            map.insert(id.to_owned(), entry);
        });
        Ok(())
    }

    /// Checks a stream id: 1 to 128 characters, no `/`, no control characters.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] with [`Error::field`] `"id"`.
    pub fn validate_id(id: &str) -> Result<()> {
        if id.is_empty() || id.len() > 128 || id.chars().any(|c| c.is_control() || c == '/') {
            return Err(Error::invalid(
                "id",
                format!(
                    "stream id `{}` must be 1 to 128 characters without `/`",
                    id.escape_debug()
                ),
            ));
        }
        Ok(())
    }

    /// Stops and forgets a stream, releasing its memory; returns within about
    /// 200 ms whatever its camera is doing. A worker that does not end within
    /// the stop budget (1.5 s) is left to end alone; until it has, its memory
    /// stays reserved and [`add`](Self::add) refuses its id.
    ///
    /// # Errors
    /// [`ErrorKind::UnknownStream`].
    pub fn remove(&self, id: &str) -> Result<()> {
        let _control = self.lock_control();
        let entry = self.entry(id)?;
        self.update_map(|map| {
            map.remove(id);
        });
        if let Some(mut stream) = lock(&entry.stream).take() {
            if !stream.stop() {
                // Still running, maybe holding its slab: free the budget and the
                // id when it ends (the hook runs then, or now if it just did).
                lock(&self.ending).insert(id.to_owned());
                let (budget, ending) = (Arc::clone(&self.budget), Arc::clone(&self.ending));
                let owner = id.to_owned();
                stream.on_finished(Box::new(move || {
                    budget.release(&owner);
                    lock(&ending).remove(&owner);
                }));
                return Ok(());
            }
        }
        self.budget.release(id);
        Ok(())
    }

    /// Starts a stopped stream (a running one is left alone).
    ///
    /// # Errors
    /// [`ErrorKind::UnknownStream`]; [`ErrorKind::AlreadyExists`] when a stop
    /// timed out and the stream's worker has not ended yet (a second worker
    /// for the same stream is never started).
    pub fn start(&self, id: &str) -> Result<()> {
        let _control = self.lock_control();
        let entry = self.entry(id)?;
        let mut slot = lock(&entry.stream);
        if let Some(stream) = slot.as_ref().filter(|stream| !stream.is_finished()) {
            if stream.is_stopping() {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!(
                        "stream `{id}` is still stopping: its worker did not end in time; \
                         start it once it has"
                    ),
                ));
            }
            return Ok(());
        }
        let stream = self.spawn(id, &entry.config)?;
        entry.view.store(stream.view());
        *slot = Some(stream);
        Ok(())
    }

    /// Stops a stream, keeping it (and its last frames and status) listed.
    ///
    /// # Errors
    /// [`ErrorKind::UnknownStream`].
    pub fn stop(&self, id: &str) -> Result<()> {
        let _control = self.lock_control();
        let entry = self.entry(id)?;
        if let Some(stream) = lock(&entry.stream).as_mut() {
            stream.stop();
        }
        Ok(())
    }

    /// Stops and starts a stream again (a fresh connection and slab).
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub fn restart(&self, id: &str) -> Result<()> {
        self.stop(id)?;
        self.start(id)
    }

    /// Every stream's status, by id.
    pub fn list(&self) -> Vec<StreamStatus> {
        let map = self.streams.load();
        let mut statuses: Vec<StreamStatus> = map
            .values()
            .map(|entry| entry.view.load().status())
            .collect();
        statuses.sort_by(|a, b| a.id.cmp(&b.id));
        statuses
    }

    /// One stream's status, read without a lock.
    ///
    /// # Errors
    /// [`ErrorKind::UnknownStream`].
    pub fn status(&self, id: &str) -> Result<StreamStatus> {
        Ok(self.entry(id)?.view.load().status())
    }

    /// The ids of every stream, sorted.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.streams.load().keys().cloned().collect();
        ids.sort();
        ids
    }

    /// State transitions of every stream, with timestamps, in order per stream.
    /// Bounded: it holds the newest [`ManagerConfig::event_capacity`] events
    /// (default [`MANAGER_EVENTS_CAPACITY`]); older ones are dropped unread and
    /// counted in their stream's [`StreamStatus::events_lost`].
    pub fn events(&self) -> &Receiver<StreamEvent> {
        &self.events_received
    }

    /// A stream's newest frame, if any.
    pub fn latest(&self, id: &str) -> Option<Frame> {
        self.streams.load().get(id)?.view.load().latest()
    }

    /// A [`Batcher`] over `ids`: batches across cameras (`wait_batch`) and
    /// frames as they land (`next_ready`), leaving out frames older than
    /// `max_age`.
    pub fn batcher<S: AsRef<str>>(&self, ids: &[S], max_age: Duration) -> Batcher<'_> {
        Batcher::new(self, ids, max_age)
    }

    /// The current incarnation of stream `id`.
    fn view(&self, id: &str) -> Option<Arc<StreamShared>> {
        Some(self.streams.load().get(id)?.view.load_full())
    }

    /// Stream `id`'s next frame newer than `seq`, blocking up to `timeout`
    /// (see [`Stream::wait_after`](crate::stream::Stream::wait_after)). `None`
    /// for an unknown id, on timeout, or when the stream is stopped, restarted
    /// or removed meanwhile (each wakes its waiters).
    pub fn wait_after(&self, id: &str, seq: u64, timeout: Duration) -> Option<Frame> {
        self.view(id)?.wait_frame(Some(seq), timeout)
    }

    /// Stream `id`'s newest frame, waiting up to `timeout` for the first one.
    pub fn wait_latest(&self, id: &str, timeout: Duration) -> Option<Frame> {
        self.view(id)?.wait_frame(None, timeout)
    }

    /// The newest frame of each of `ids` that is at most `max_age` old; the
    /// others are listed with the reason. No pixels are copied.
    pub fn latest_batch<S: AsRef<str>>(&self, ids: &[S], max_age: Duration) -> Batch {
        let map = self.streams.load();
        let mut batch = Batch::default();
        for id in ids {
            let id = id.as_ref();
            let found = match map.get(id) {
                None => Err(Missing::UnknownStream),
                Some(entry) => match entry.view.load().latest() {
                    None => Err(Missing::NoFrame),
                    Some(frame) if frame.age() > max_age => Err(Missing::TooOld(frame.age())),
                    Some(frame) => Ok(frame),
                },
            };
            match found {
                Ok(frame) => batch.frames.push((id.to_owned(), frame)),
                Err(missing) => batch.missing.push((id.to_owned(), missing)),
            }
        }
        batch
    }

    /// Pixel memory reserved by every stream together, and the budget.
    pub fn memory(&self) -> (usize, Option<usize>) {
        (self.budget.total(), self.budget.limit())
    }

    /// Stops every stream and joins every worker, all in parallel; returns
    /// within 500 ms. Streams stay listed, `Stopped`.
    pub fn shutdown(&self) {
        let _control = self.lock_control();
        let begun = Instant::now();
        let map = self.streams.load_full();
        let mut stopping: Vec<_> = map.values().map(|entry| lock(&entry.stream)).collect();
        for stream in stopping.iter().filter_map(|slot| slot.as_ref()) {
            stream.request_stop();
        }
        for stream in stopping.iter_mut().filter_map(|slot| slot.as_mut()) {
            let left = SHUTDOWN_BUDGET.saturating_sub(begun.elapsed());
            stream.join(left);
        }
    }

    /// The Prometheus registry of every stream's metrics, collected at scrape
    /// time from the lock-free statuses (see [`METRIC_NAMES`]).
    pub fn metrics_text(&self) -> String {
        metrics::render(&self.list(), self.memory())
    }

    fn spawn(&self, id: &str, config: &StreamConfig) -> Result<Stream> {
        let budget = Arc::clone(&self.budget);
        let owner = id.to_owned();
        let admit = Box::new(move |bytes: usize| budget.reserve(&owner, bytes));
        Stream::spawn(id.to_owned(), config.clone(), &self.events, Some(admit))
    }

    fn estimate_slab_bytes(&self, config: &StreamConfig) -> Result<usize> {
        let (width, height) = config.resize.unwrap_or(self.assumed_frame_size);
        let layout = FrameLayout::new(width, height, config.format)?;
        let mut slab = SlabConfig::new(layout)
            .capacity(config.queue_capacity)
            .reader_slots(config.reader_slots);
        if let Some(megabytes) = config.max_memory_mb {
            slab = slab.max_memory_mb(megabytes);
        }
        let (_, slots) = slab.resolve()?;
        Ok(slots * layout.len())
    }

    fn entry(&self, id: &str) -> Result<Arc<Entry>> {
        self.streams
            .load()
            .get(id)
            .cloned()
            .ok_or_else(|| Error::new(ErrorKind::UnknownStream, format!("no stream `{id}`")))
    }

    fn update_map(&self, change: impl FnOnce(&mut HashMap<String, Arc<Entry>>)) {
        let mut map = HashMap::clone(&self.streams.load());
        change(&mut map);
        self.streams.store(Arc::new(map));
    }

    fn lock_control(&self) -> std::sync::MutexGuard<'_, ()> {
        lock(&self.control)
    }
}

impl Drop for StreamManager {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl std::fmt::Debug for StreamManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamManager")
            .field("streams", &self.ids())
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}
