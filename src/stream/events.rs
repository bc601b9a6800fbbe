//! Where streams announce their state transitions: a bounded channel that
//! drops its oldest event when full, counting every lost event against the
//! stream it was about.
//!
//! A flapping camera announces about two events per reconnect cycle; with
//! nobody reading, an unbounded channel would grow without end. crossbeam's
//! bounded channel refuses a send when full, so the sending side also holds a
//! receiver of the channel (crossbeam receivers are cloneable) and evicts the
//! oldest event itself before sending again: the `force_push` of
//! `crossbeam_queue::ArrayQueue`, on a channel. A sender never blocks.
//!
//! Losses are counted per stream, against the stream whose event was lost: on
//! the manager's shared channel a flapping camera may push out a quiet
//! camera's one `Failed` event, and it is the quiet camera's status that must
//! say an event of its went missing. The channel keeps a registry of its
//! streams' counters for that, locked only when an event is evicted and when
//! a stream starts or ends.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crossbeam_channel::{Receiver, Sender, TrySendError};

use super::status::StreamEvent;

/// Events a [`Stream`](super::Stream)'s own channel
/// ([`Stream::events`](super::Stream::events)) holds; past it the oldest go
/// first, counted in [`StreamStatus::events_lost`](super::StreamStatus::events_lost).
/// About 500 reconnect cycles' worth.
pub const STREAM_EVENTS_CAPACITY: usize = 1024;

/// Send attempts before a new event is given up: each failed attempt evicted
/// an event, so only senders refilling the channel as fast as this one
/// empties it can exhaust them.
const SEND_ATTEMPTS: usize = 4;

/// An event channel the streams announcing on it share.
pub(crate) struct EventChannel {
    sender: Sender<StreamEvent>,
    /// The channel's own receiving end, to evict the oldest event with; `None`
    /// for a caller's channel, whose events are the caller's to drop.
    evictor: Option<Receiver<StreamEvent>>,
    /// Each announcing stream's count of its lost events, by stream id.
    lost_by_stream: Mutex<HashMap<String, Arc<AtomicU64>>>,
}

impl EventChannel {
    /// A drop-oldest channel of `capacity` events, and its receiving end.
    pub(crate) fn bounded(capacity: usize) -> (Arc<Self>, Receiver<StreamEvent>) {
        let (sender, receiver) = crossbeam_channel::bounded(capacity);
        let channel = Self {
            sender,
            evictor: Some(receiver.clone()),
            lost_by_stream: Mutex::default(),
        };
        (Arc::new(channel), receiver)
    }

    /// A caller's channel, bounded or not. It cannot be evicted from: when it
    /// is full, the new event is the one lost (and counted); the sender still
    /// never blocks.
    pub(crate) fn from_sender(sender: Sender<StreamEvent>) -> Arc<Self> {
        Arc::new(Self {
            sender,
            evictor: None,
            lost_by_stream: Mutex::default(),
        })
    }

    /// Stream `id`'s end of the channel. A later registration of the same id (a
    /// restarted stream) takes over the id's count from then on.
    pub(crate) fn register(self: &Arc<Self>, id: &str) -> EventSender {
        let lost = Arc::new(AtomicU64::new(0));
        self.registry().insert(id.to_owned(), Arc::clone(&lost));
        EventSender {
            channel: Arc::clone(self),
            id: id.to_owned(),
            lost,
        }
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<AtomicU64>>> {
        self.lost_by_stream
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

/// One stream's end of an [`EventChannel`]: sends without blocking and counts
/// the stream's lost events.
pub(crate) struct EventSender {
    channel: Arc<EventChannel>,
    id: String,
    /// This stream's events lost from the channel. Relaxed throughout: an
    /// independent statistic that publishes no other memory.
    lost: Arc<AtomicU64>,
}

impl EventSender {
    /// Queues `event`, evicting the channel's oldest event if it is full.
    pub(crate) fn send(&self, mut event: StreamEvent) {
        for _ in 0..SEND_ATTEMPTS {
            match self.channel.sender.try_send(event) {
                // A caller's receiver that went away only means nobody listens.
                Ok(()) | Err(TrySendError::Disconnected(_)) => return,
                Err(TrySendError::Full(refused)) => event = refused,
            }
            let Some(evictor) = &self.channel.evictor else {
                break;
            };
            // Empty again only if a reader or another sender's eviction just
            // made room: then the next attempt fits without evicting.
            if let Ok(oldest) = evictor.try_recv() {
                self.count_lost(&oldest.id);
            }
        }
        self.lost.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a lost event against its stream (a stream since removed has no
    /// status left to show the loss in).
    fn count_lost(&self, id: &str) {
        if id == self.id {
            self.lost.fetch_add(1, Ordering::Relaxed);
        } else if let Some(lost) = self.channel.registry().get(id) {
            lost.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Events of this stream lost so far.
    pub(crate) fn lost(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }
}

impl Drop for EventSender {
    fn drop(&mut self) {
        let mut registry = self.channel.registry();
        // Only our own entry: a restarted stream may have taken the id over.
        if registry
            .get(&self.id)
            .is_some_and(|lost| Arc::ptr_eq(lost, &self.lost))
        {
            registry.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::stream::StreamState;

    fn event(id: &str, attempt: u32) -> StreamEvent {
        StreamEvent {
            id: id.to_owned(),
            state: StreamState::Reconnecting {
                attempt,
                next_in: std::time::Duration::ZERO,
            },
            at: SystemTime::now(),
            error: None,
            media: None,
        }
    }

    fn attempt(event: &StreamEvent) -> u32 {
        match event.state {
            StreamState::Reconnecting { attempt, .. } => attempt,
            _ => unreachable!("only reconnecting events are sent"),
        }
    }

    #[test]
    fn a_full_channel_keeps_the_newest_events_and_counts_the_rest() {
        let (channel, receiver) = EventChannel::bounded(4);
        let cam = channel.register("cam");
        for n in 0..10 {
            cam.send(event("cam", n));
        }
        let kept: Vec<u32> = receiver.try_iter().map(|e| attempt(&e)).collect();
        assert_eq!(kept, [6, 7, 8, 9]);
        assert_eq!(cam.lost(), 6);
    }

    #[test]
    fn a_lost_event_is_counted_against_the_stream_it_was_about() {
        let (channel, receiver) = EventChannel::bounded(3);
        let (quiet, loud) = (channel.register("quiet"), channel.register("loud"));
        quiet.send(event("quiet", 0));
        for n in 0..5 {
            loud.send(event("loud", n));
        }
        assert_eq!((quiet.lost(), loud.lost()), (1, 2));
        let kept: Vec<(String, u32)> = receiver
            .try_iter()
            .map(|e| (e.id.clone(), attempt(&e)))
            .collect();
        assert_eq!(
            kept,
            [("loud".into(), 2), ("loud".into(), 3), ("loud".into(), 4)]
        );
    }

    #[test]
    fn a_restarted_stream_takes_over_its_id_and_its_old_end_leaves_it() {
        let (channel, _receiver) = EventChannel::bounded(1);
        let old = channel.register("cam");
        let new = channel.register("cam");
        drop(old);
        let other = channel.register("other");
        new.send(event("cam", 0));
        other.send(event("other", 0));
        assert_eq!(
            new.lost(),
            1,
            "the old end's drop kept the new registration"
        );
        drop(new);
        assert!(!channel.registry().contains_key("cam"));
    }

    #[test]
    fn a_full_channel_of_the_callers_loses_the_new_event_without_blocking() {
        let (sender, receiver) = crossbeam_channel::bounded(2);
        let cam = EventChannel::from_sender(sender).register("cam");
        for n in 0..5 {
            cam.send(event("cam", n));
        }
        let kept: Vec<u32> = receiver.try_iter().map(|e| attempt(&e)).collect();
        assert_eq!((kept, cam.lost()), (vec![0, 1], 3));
        drop(receiver);
        cam.send(event("cam", 5));
        assert_eq!(cam.lost(), 3, "nobody listening is not a loss");
    }
}
