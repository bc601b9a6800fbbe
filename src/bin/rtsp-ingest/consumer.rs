//! Consumers as an application runs them, for `bench --latency` and `demo`:
//! one thread per stream blocked in [`StreamManager::wait_after`], which
//! reads each frame's [stamp](rtsp_ingest::simulate::stamp), matches it to
//! when the camera sent that frame, and optionally does a fixed amount of
//! work on the pixels (an inference stand-in) before waiting again.
//!
//! Glass-to-consumer latency is wall-clock time from the simulator writing a
//! frame's first packet to the consumer waking with it. Everything runs on
//! one host, so the consumer's `Instant`s become wall-clock times through one
//! anchor taken at start. Per frame it is split by stage: send → packet
//! received → decoded → converted → consumer awake (publication follows the
//! conversion within a microsecond; the status histograms time it).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use rtsp_ingest::manager::StreamManager;
use rtsp_ingest::simulate::stamp::{self, SendTimes};
use rtsp_ingest::simulate::Simulator;
use rtsp_ingest::slab::Frame;
use serde_json::{json, Value};

/// Wall-clock time of `Instant`s, through one anchor.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    instant: Instant,
    wall: SystemTime,
}

impl Clock {
    /// An anchor taken now.
    pub fn now() -> Self {
        Self {
            instant: Instant::now(),
            wall: SystemTime::now(),
        }
    }

    /// The wall-clock time of `at`.
    pub fn wall(&self, at: Instant) -> SystemTime {
        match at.checked_duration_since(self.instant) {
            Some(after) => self.wall + after,
            None => self.wall - self.instant.duration_since(at),
        }
    }
}

/// Where a consumer finds when a stamped frame was sent.
#[derive(Clone)]
pub enum SendLookup {
    /// The simulator runs in this process: ask it at once.
    InProcess(Arc<Simulator>, usize),
    /// An external simulator's stamp log, read at the end; camera index.
    Log(usize),
    /// No stamps to match (not a simulated camera).
    None,
}

/// One frame a consumer got.
#[derive(Clone, Copy, Debug)]
struct Observation {
    index: Option<u32>,
    sent: Option<SystemTime>,
    awake: Instant,
    received: Instant,
    decoded: Option<Instant>,
    converted: Option<Instant>,
}

/// The stages of one frame, in order.
pub const STAGES: [&str; 4] = [
    "send_to_received",
    "received_to_decoded",
    "decoded_to_converted",
    "published_to_consumer",
];

impl Observation {
    /// Glass to consumer, if the frame was stamped and its send time known.
    fn glass(&self, clock: &Clock) -> Option<Duration> {
        clock.wall(self.awake).duration_since(self.sent?).ok()
    }

    /// The stages of [`STAGES`] (the first needs the send time).
    fn stages(&self, clock: &Clock) -> [Option<Duration>; 4] {
        let between =
            |a: Option<Instant>, b: Option<Instant>| Some(b?.saturating_duration_since(a?));
        [
            self.sent
                .and_then(|sent| clock.wall(self.received).duration_since(sent).ok()),
            between(Some(self.received), self.decoded),
            between(self.decoded, self.converted),
            between(self.converted, Some(self.awake)),
        ]
    }
}

/// What one consumer saw.
#[derive(Debug, Default)]
struct Seen {
    /// Frames delivered.
    delivered: u64,
    /// Delivered frames without a legible stamp.
    unreadable: u64,
    /// Observations kept (all, or the newest `window`).
    kept: VecDeque<Observation>,
    /// The first and the newest delivery, for the consumer's fps.
    first: Option<Instant>,
    last: Option<Instant>,
}

/// One stream's consumer.
pub struct Consumer {
    id: String,
    lookup: SendLookup,
    seen: Arc<Mutex<Seen>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// How consumers behave.
#[derive(Clone, Copy, Debug)]
pub struct ConsumerOptions {
    /// Work on each frame's pixels for this long (at least one pass over
    /// them) before waiting for the next; `None`: no work.
    pub work: Option<Duration>,
    /// Keep only the newest this many observations (`None`: all).
    pub window: Option<usize>,
    /// Count no latency of frames delivered in this first part of the run
    /// (connection set-up); they still count as delivered.
    pub warmup: Duration,
}

/// One consumer per stream, and the clock they share.
pub struct Consumers {
    clock: Clock,
    stop: Arc<AtomicBool>,
    consumers: Vec<Consumer>,
    /// Send times read from an external simulator's stamp log, once stopped.
    log: Option<SendTimes>,
}

/// The inference stand-in: passes over every byte of the frame (a checksum)
/// until `work` has passed. Returns the checksum, so the work is not optimised away.
fn work_on(frame: &Frame, work: Duration) -> u64 {
    let begun = Instant::now();
    let mut sum = 0u64;
    loop {
        for chunk in frame.data().chunks(4096) {
            sum = chunk.iter().fold(sum, |sum, &byte| {
                sum.wrapping_mul(31).wrapping_add(u64::from(byte))
            });
        }
        if begun.elapsed() >= work {
            return sum;
        }
    }
}

impl Consumers {
    /// Starts a consumer for each `(stream id, lookup)`.
    pub fn start(
        manager: &Arc<StreamManager>,
        streams: Vec<(String, SendLookup)>,
        options: ConsumerOptions,
    ) -> std::io::Result<Self> {
        let clock = Clock::now();
        let count_from = clock.instant + options.warmup;
        let stop = Arc::new(AtomicBool::new(false));
        let mut consumers = Vec::with_capacity(streams.len());
        for (id, lookup) in streams {
            let seen = Arc::new(Mutex::new(Seen::default()));
            let thread = {
                let (manager, stop, seen) =
                    (Arc::clone(manager), Arc::clone(&stop), Arc::clone(&seen));
                let (id, lookup) = (id.clone(), lookup.clone());
                std::thread::Builder::new()
                    .name(format!("consumer-{id}"))
                    .spawn(move || {
                        let consumer = Consume {
                            id: &id,
                            lookup: &lookup,
                            clock,
                            options,
                            count_from,
                        };
                        consumer.run(&manager, &stop, &seen);
                    })?
            };
            consumers.push(Consumer {
                id,
                lookup,
                seen,
                thread: Mutex::new(Some(thread)),
            });
        }
        Ok(Self {
            clock,
            stop,
            consumers,
            log: None,
        })
    }

    /// Stops and joins every consumer.
    pub fn stop(&self) {
        // Relaxed: the flag carries no data; each consumer checks it at least
        // every 100 ms.
        self.stop.store(true, Ordering::Relaxed);
        for consumer in &self.consumers {
            let thread = consumer
                .thread
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(thread) = thread {
                let _ = thread.join();
            }
        }
    }

    /// Matches frames of external cameras against their simulator's stamp log.
    pub fn match_log(&mut self, log: SendTimes) {
        self.log = Some(log);
    }

    /// The report of stream `id`: `None` for a stream without a consumer.
    pub fn report(&self, id: &str) -> Option<ConsumerReport> {
        let consumer = self.consumers.iter().find(|c| c.id == id)?;
        let seen = consumer.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let observations: Vec<Observation> = seen
            .kept
            .iter()
            .map(|observation| self.matched(&consumer.lookup, *observation))
            .collect();
        let fps = match (seen.first, seen.last) {
            (Some(first), Some(last)) if last > first && seen.delivered > 1 => {
                Some((seen.delivered - 1) as f64 / (last - first).as_secs_f64())
            }
            _ => None,
        };
        Some(ConsumerReport {
            clock: self.clock,
            delivered: seen.delivered,
            unreadable: seen.unreadable,
            fps,
            observations,
        })
    }

    fn matched(&self, lookup: &SendLookup, mut observation: Observation) -> Observation {
        if let (SendLookup::Log(camera), Some(log), Some(index)) =
            (lookup, &self.log, observation.index)
        {
            observation.sent = log.sent_before(*camera, index, self.clock.wall(observation.awake));
        }
        observation
    }
}

impl Drop for Consumers {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What a consumer thread needs to know.
struct Consume<'a> {
    id: &'a str,
    lookup: &'a SendLookup,
    clock: Clock,
    options: ConsumerOptions,
    /// Frames delivered before this are not kept (the warm-up).
    count_from: Instant,
}

impl Consume<'_> {
    fn run(&self, manager: &StreamManager, stop: &AtomicBool, seen: &Mutex<Seen>) {
        let (id, lookup, options) = (self.id, self.lookup, self.options);
        const POLL: Duration = Duration::from_millis(100);
        let mut last = None;
        // Relaxed: see `Consumers::stop`.
        while !stop.load(Ordering::Relaxed) {
            let frame = match last {
                None => manager.wait_latest(id, POLL),
                Some(seq) => manager.wait_after(id, seq, POLL),
            };
            let awake = Instant::now();
            let Some(frame) = frame else {
                continue;
            };
            last = Some(frame.seq());
            let index = stamp::read(&frame);
            let sent = match (lookup, index) {
                (SendLookup::InProcess(simulator, camera), Some(index)) => simulator
                    .sent_at(*camera, index)
                    // Sent after the consumer woke: a later loop's frame with this
                    // stamp (the latency was over a loop long, or close to it).
                    .filter(|&sent| sent <= self.clock.wall(awake)),
                _ => None,
            };
            let observation = Observation {
                index,
                sent,
                awake,
                received: frame.received(),
                decoded: frame.decoded_at(),
                converted: frame.converted_at(),
            };
            {
                let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
                seen.delivered += 1;
                seen.unreadable += u64::from(index.is_none());
                seen.first.get_or_insert(awake);
                seen.last = Some(awake);
                if awake >= self.count_from {
                    if options
                        .window
                        .is_some_and(|window| seen.kept.len() >= window)
                    {
                        seen.kept.pop_front();
                    }
                    seen.kept.push_back(observation);
                }
            }
            if let Some(work) = options.work {
                std::hint::black_box(work_on(&frame, work));
            }
        }
    }
}

/// What one consumer saw, ready to report.
pub struct ConsumerReport {
    clock: Clock,
    /// Frames delivered to the consumer.
    pub delivered: u64,
    /// Delivered frames whose stamp could not be read.
    pub unreadable: u64,
    /// Frames per second the consumer took.
    pub fps: Option<f64>,
    observations: Vec<Observation>,
}

/// `{p50, p99, max, count}` of some durations, in milliseconds (`null`s and
/// count 0 without samples). Nearest-rank quantiles of the exact samples.
pub fn summary_ms(mut samples: Vec<Duration>) -> Value {
    samples.sort_unstable();
    let quantile = |q: f64| -> Option<f64> {
        let rank = ((q * samples.len() as f64).ceil() as usize).max(1);
        samples.get(rank - 1).map(|d| millis(*d))
    };
    json!({
        "p50": quantile(0.5),
        "p99": quantile(0.99),
        "max": samples.last().map(|d| millis(*d)),
        "count": samples.len(),
    })
}

/// Milliseconds to the microsecond.
fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1e6).round() / 1e3
}

impl ConsumerReport {
    /// Glass-to-consumer latency of every frame whose stamp was read and
    /// matched.
    pub fn glass(&self) -> Vec<Duration> {
        self.observations
            .iter()
            .filter_map(|observation| observation.glass(&self.clock))
            .collect()
    }

    /// The samples of stage `stage` (an index into [`STAGES`]).
    pub fn stage(&self, stage: usize) -> Vec<Duration> {
        self.observations
            .iter()
            .filter_map(|observation| observation.stages(&self.clock)[stage])
            .collect()
    }

    /// Frames whose stamp was read but whose send time is unknown.
    pub fn unmatched(&self) -> usize {
        self.observations
            .iter()
            .filter(|o| o.index.is_some() && o.sent.is_none())
            .count()
    }
}
