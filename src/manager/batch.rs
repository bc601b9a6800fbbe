//! [`Batcher`]: frames across cameras for inference servers, with
//! nvstreammux-like semantics (a batch as soon as every stream has a new
//! frame, or at a deadline with what there is), and [`Batcher::next_ready`]
//! for servers that run a model per frame as frames land.
//!
//! A batcher remembers, per stream, the last frame it handed out, so it never
//! gives the same frame twice; a stream that restarts (a new slab, whose
//! sequence numbers start again) is followed to its new slab. Nothing here
//! blocks a producer, and once its vectors have grown to the number of streams
//! a batcher allocates nothing per call.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Missing, StreamManager};
use crate::slab::{Frame, WakeGroup};
use crate::stream::{StreamShared, StreamState};

/// How long `next_ready` sleeps at most before looking again for streams whose
/// slab did not exist yet when it started waiting.
const RESCAN: Duration = Duration::from_millis(100);

/// One stream as the batcher follows it.
struct Followed {
    id: String,
    /// The incarnation whose frames `last` refers to.
    view: Option<Arc<StreamShared>>,
    /// The sequence number of the last frame handed out from `view`.
    last: Option<u64>,
    /// Whether the current wait registered `group` with this stream's slab.
    listening: bool,
}

/// One stream's place in a batch: its frame and the frame's age when the
/// batch was made, or why it has none.
pub type BatchEntry = Result<(Frame, Duration), Missing>;

/// Waits for frames across several streams; made by [`StreamManager::batcher`].
///
/// ```no_run
/// use std::time::Duration;
/// use rtsp_ingest::manager::{ManagerConfig, StreamManager};
/// use rtsp_ingest::stream::StreamConfig;
///
/// # fn infer(_: &[&[u8]]) {}
/// # fn main() -> rtsp_ingest::Result<()> {
/// let manager = StreamManager::new(ManagerConfig::default());
/// for (id, url) in [("gate", "rtsp://cam1/live"), ("dock", "rtsp://cam2/live")] {
///     manager.add(id, StreamConfig::new(url)?)?;
/// }
/// let mut batcher = manager.batcher(&["gate", "dock"], Duration::from_millis(200));
/// loop {
///     // Every camera's next frame, or what there is after 40 ms.
///     let batch = batcher.wait_batch(Duration::from_millis(40));
///     let pixels: Vec<&[u8]> = batch.frames().map(|(_, frame, _)| frame.data()).collect();
///     infer(&pixels);
///     for (id, why) in batch.missing() {
///         eprintln!("{id}: {why:?}");
///     }
/// #   break;
/// }
/// # Ok(())
/// # }
/// ```
pub struct Batcher<'m> {
    manager: &'m StreamManager,
    streams: Vec<Followed>,
    /// The last batch, one entry per stream in the order asked.
    entries: Vec<BatchEntry>,
    max_age: Duration,
    /// Where `next_ready`'s round robin starts.
    cursor: usize,
    group: Arc<WakeGroup>,
}

/// The batch [`Batcher::wait_batch`] made: borrowed from the batcher until
/// the next call.
pub struct BatchView<'b> {
    streams: &'b [Followed],
    entries: &'b [BatchEntry],
}

impl<'b> BatchView<'b> {
    /// Every stream in the order asked, with its entry.
    pub fn entries(&self) -> impl Iterator<Item = (&'b str, &'b BatchEntry)> + 'b {
        self.streams
            .iter()
            .map(|stream| stream.id.as_str())
            .zip(self.entries.iter())
    }

    /// The streams that have a frame in this batch: `(id, frame, age)`.
    pub fn frames(&self) -> impl Iterator<Item = (&'b str, &'b Frame, Duration)> + 'b {
        self.entries().filter_map(|(id, entry)| match entry {
            Ok((frame, age)) => Some((id, frame, *age)),
            Err(_) => None,
        })
    }

    /// The streams left out, each with the reason.
    pub fn missing(&self) -> impl Iterator<Item = (&'b str, &'b Missing)> + 'b {
        self.entries()
            .filter_map(|(id, entry)| entry.as_ref().err().map(|why| (id, why)))
    }

    /// How many streams have a frame in this batch.
    pub fn len(&self) -> usize {
        self.entries.iter().filter(|entry| entry.is_ok()).count()
    }

    /// Whether no stream has a frame in this batch.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What one stream can contribute now.
enum Candidate {
    /// A fresh frame newer than the last one handed out.
    Ready(Frame),
    /// Nothing yet: a frame newer than this (`None`: any frame) would do.
    Wait(Option<u64>),
    /// Nothing will come before the deadline.
    Absent(Missing),
}

impl<'m> Batcher<'m> {
    pub(super) fn new<S: AsRef<str>>(
        manager: &'m StreamManager,
        ids: &[S],
        max_age: Duration,
    ) -> Self {
        Self {
            manager,
            streams: ids
                .iter()
                .map(|id| Followed {
                    id: id.as_ref().to_owned(),
                    view: None,
                    last: None,
                    listening: false,
                })
                .collect(),
            entries: Vec::with_capacity(ids.len()),
            max_age,
            cursor: 0,
            group: Arc::new(WakeGroup::new()),
        }
    }

    /// Blocks until every stream has a frame newer than the last batch and at
    /// most `max_age` old, or until `timeout` passes, whichever comes first;
    /// then returns each stream's newest such frame, and for the others why
    /// not. A stream that is stopped, failed or locked out is not waited for.
    pub fn wait_batch(&mut self, timeout: Duration) -> BatchView<'_> {
        let deadline = Instant::now().checked_add(timeout);
        self.wait_for_all(deadline, None);
        self.make_batch()
    }

    /// [`wait_batch`](Self::wait_batch) in parts, for a caller that must look
    /// up from a long wait now and then (a Python host checking for Ctrl-C):
    /// waits as `wait_batch` does for a batch due at `deadline` (`None`: no
    /// deadline), but if the batch is not complete at `pause` and `deadline`
    /// has not passed, returns `None` having handed out nothing, so the next
    /// call carries on with the same batch and the same deadline.
    ///
    /// ```no_run
    /// # use std::time::{Duration, Instant};
    /// # fn demo(batcher: &mut rtsp_ingest::manager::Batcher<'_>, interrupted: impl Fn() -> bool) {
    /// let deadline = Instant::now() + Duration::from_millis(40);
    /// let batch = loop {
    ///     let pause = Instant::now() + Duration::from_millis(10);
    ///     if let Some(batch) = batcher.wait_batch_until(Some(deadline), pause) {
    ///         break batch;
    ///     }
    ///     if interrupted() {
    ///         return;
    ///     }
    /// };
    /// # let _ = batch;
    /// # }
    /// ```
    pub fn wait_batch_until(
        &mut self,
        deadline: Option<Instant>,
        pause: Instant,
    ) -> Option<BatchView<'_>> {
        if self.wait_for_all(deadline, Some(pause)) {
            Some(self.make_batch())
        } else {
            None
        }
    }

    /// Waits until every stream has a candidate or is not worth waiting for,
    /// or `deadline` passes (then `true`), or `pause` comes first (`false`).
    fn wait_for_all(&mut self, deadline: Option<Instant>, pause: Option<Instant>) -> bool {
        for index in 0..self.streams.len() {
            loop {
                let after = match self.candidate(index) {
                    Candidate::Ready(_) | Candidate::Absent(_) => break,
                    Candidate::Wait(after) => after,
                };
                let now = Instant::now();
                let to_deadline = deadline.map_or(Duration::MAX, |deadline| {
                    deadline.saturating_duration_since(now)
                });
                if to_deadline.is_zero() {
                    return true;
                }
                let to_pause =
                    pause.map_or(Duration::MAX, |pause| pause.saturating_duration_since(now));
                if to_pause.is_zero() {
                    return false;
                }
                let Some(view) = self.streams[index].view.clone() else {
                    break;
                };
                let left = to_deadline.min(to_pause);
                if view.wait_frame(after, left).is_none() && view.is_stopping() {
                    break;
                }
            }
        }
        true
    }

    /// The batch of what each stream has now; marks the frames handed out.
    fn make_batch(&mut self) -> BatchView<'_> {
        self.entries.clear();
        for index in 0..self.streams.len() {
            let entry = match self.candidate(index) {
                Candidate::Ready(frame) => {
                    self.streams[index].last = Some(frame.seq());
                    let age = frame.age();
                    Ok((frame, age))
                }
                Candidate::Wait(_) => Err(self.why_nothing(index)),
                Candidate::Absent(why) => Err(why),
            };
            self.entries.push(entry);
        }
        BatchView {
            streams: &self.streams,
            entries: &self.entries,
        }
    }

    /// The next frame of any stream, as frames land: a fresh frame newer than
    /// the last one handed out for its stream, taking streams in turn (round
    /// robin) when several are ready. `None` if none comes within `timeout`.
    pub fn next_ready(&mut self, timeout: Duration) -> Option<(&str, Frame)> {
        let deadline = Instant::now().checked_add(timeout);
        let index = loop {
            if let Some(index) = self.take_ready() {
                break index;
            }
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return None;
            }
            // Listen on every slab, look once more, then sleep until one wakes us.
            let epoch = self.group.epoch();
            let mut unsized_slab = false;
            for stream in &mut self.streams {
                match stream.view.as_ref().and_then(|view| view.reader()) {
                    Some(reader) => {
                        reader.listen(&self.group);
                        stream.listening = true;
                    }
                    None => unsized_slab = true,
                }
            }
            let ready = self.take_ready();
            if ready.is_none() {
                let cap = if unsized_slab {
                    RESCAN
                } else {
                    Duration::from_secs(3600)
                };
                self.group.sleep(epoch, deadline, cap);
            }
            self.unlisten_all();
            if let Some(index) = ready {
                break index;
            }
        };
        let frame = self.take(index);
        Some((self.streams[index].id.as_str(), frame))
    }

    /// Undoes the listening of the last `next_ready` wait (on the slabs it
    /// listened to, even if a stream has moved on to a new one since).
    fn unlisten_all(&mut self) {
        for stream in &mut self.streams {
            if std::mem::take(&mut stream.listening) {
                if let Some(reader) = stream.view.as_ref().and_then(|view| view.reader()) {
                    reader.unlisten(&self.group);
                }
            }
        }
    }

    /// The first ready stream from the cursor on, without taking its frame.
    fn take_ready(&mut self) -> Option<usize> {
        let (count, cursor) = (self.streams.len(), self.cursor);
        (0..count)
            .map(|step| (cursor + step) % count)
            .find(|&index| matches!(self.candidate(index), Candidate::Ready(_)))
    }

    /// Hands out stream `index`'s ready frame and moves the cursor past it.
    fn take(&mut self, index: usize) -> Frame {
        let Candidate::Ready(frame) = self.candidate(index) else {
            unreachable!("`take_ready` found stream {index} ready and only this thread takes");
        };
        self.streams[index].last = Some(frame.seq());
        self.cursor = (index + 1) % self.streams.len();
        frame
    }

    /// Follows stream `index` to its current incarnation and says what it has.
    fn candidate(&mut self, index: usize) -> Candidate {
        let current = self.manager.view(&self.streams[index].id);
        let stream = &mut self.streams[index];
        let Some(view) = current else {
            stream.view = None;
            return Candidate::Absent(Missing::UnknownStream);
        };
        if !stream
            .view
            .as_ref()
            .is_some_and(|known| Arc::ptr_eq(known, &view))
        {
            // A new incarnation: its sequence numbers start again.
            stream.view = Some(Arc::clone(&view));
            stream.last = None;
        }
        let newest = match stream.last {
            None => view.latest(),
            Some(seq) => view.reader().and_then(|reader| reader.latest_after(seq)),
        };
        match newest {
            Some(frame) if frame.age() <= self.max_age => Candidate::Ready(frame),
            Some(stale) => Candidate::Wait(Some(stale.seq())),
            None if is_terminal(&view.status.record().state) => {
                Candidate::Absent(why_nothing_in(&view, stream.last))
            }
            None => Candidate::Wait(stream.last),
        }
    }

    /// Why stream `index` has no frame for the batch.
    fn why_nothing(&self, index: usize) -> Missing {
        let stream = &self.streams[index];
        match &stream.view {
            None => Missing::UnknownStream,
            Some(view) => why_nothing_in(view, stream.last),
        }
    }
}

/// Why `view` has no frame newer than `last` for a batch.
fn why_nothing_in(view: &StreamShared, last: Option<u64>) -> Missing {
    let state = view.status.record().state.clone();
    let newest = view.latest();
    match newest {
        Some(frame) if last.is_none_or(|last| frame.seq() > last) => Missing::TooOld(frame.age()),
        _ if state != StreamState::Streaming => Missing::NotStreaming(state.name()),
        None => Missing::NoFrame,
        Some(_) => Missing::NoNewFrame,
    }
}

/// States a stream stays in until someone acts: waiting for it is pointless.
fn is_terminal(state: &StreamState) -> bool {
    matches!(
        state,
        StreamState::Stopped | StreamState::Failed(_) | StreamState::AuthFailed
    )
}
