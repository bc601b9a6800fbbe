//! The slab's hot paths against its peers: publish (uncontended and while 1 or 4
//! threads hammer the latest frame), `latest()`, and ordered publish + pop.
//!
//! Run with `cargo bench --bench slab`. See BENCHMARKS.md for results.
//!
//! Contenders, all with a 64×64 Gray8 frame (4096 bytes) and an ordered queue
//! of 4, full in steady state so every publish evicts the oldest frame:
//!
//! * `slab`: this crate (`begin` + `commit`, policy `Latest`).
//! * `mutex_vecdeque`: the seed's Python `FrameBuffer` in Rust: a lock around a
//!   deque of shared frame handles, with a new frame (an `Arc` holding a fresh,
//!   zeroed 4 KiB `Box<[u8]>`) allocated per write, as the seed gets a new
//!   `ndarray` per frame; the evicted frame is freed under the lock, as a
//!   `deque(maxlen=...)` append frees it in Python.
//! * `mutex_vecdeque_recycled`: the same lock, but recycling preallocated
//!   frames (splits the seed model's cost into lock and allocation).
//! * `arrayqueue`: `crossbeam_queue::ArrayQueue::force_push`, recycling
//!   preallocated `Arc` frames exactly as the slab does (`Arc::get_mut` scan).
//! * `ringbuf`: `ringbuf::HeapRb::push_overwrite`, same recycling. It takes
//!   `&mut` on the whole ring, so it only runs single-threaded here.
//!
//! Neither `ArrayQueue` nor `HeapRb` can show concurrent readers the newest
//! element without consuming it, so they are absent from the `latest` and
//! contended-publish groups rather than given a fake equivalent.
//!
//! Contended groups time every operation with `Instant::now()` and print
//! p50/p99/p99.9 from a log-linear histogram; the `timer_floor` line is what an
//! empty timed operation costs on this machine.

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use crossbeam_queue::ArrayQueue;
use ringbuf::HeapRb;
use rtsp_ingest::slab::{self, FrameInfo, FrameLayout, PixelFormat, SlabConfig};

#[allow(unsafe_code)] // a measurement prototype; see its module docs
#[path = "prototype/latest_word.rs"]
mod latest_word;

const WIDTH: u32 = 64;
const HEIGHT: u32 = 64;
const FRAME_BYTES: usize = (WIDTH * HEIGHT) as usize;
const CAPACITY: usize = 4;

// --- a small log-linear latency histogram --------------------------------------

/// Exact 1 ns buckets below `LINEAR` ns, then 64 buckets per power of two
/// (≤ 1.6 % relative error), up to `u64::MAX` ns.
struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

const LINEAR: u64 = 1024;
const LINEAR_BITS: u32 = 10;
const SUB_BITS: u32 = 6;

impl Histogram {
    fn new() -> Self {
        let buckets = LINEAR as usize + ((64 - LINEAR_BITS) << SUB_BITS) as usize;
        Self {
            counts: vec![0; buckets],
            total: 0,
            max: 0,
        }
    }

    fn index(ns: u64) -> usize {
        if ns < LINEAR {
            return ns as usize;
        }
        let exp = 63 - ns.leading_zeros();
        let sub = (ns >> (exp - SUB_BITS)) & ((1 << SUB_BITS) - 1);
        LINEAR as usize + (((exp - LINEAR_BITS) as usize) << SUB_BITS) + sub as usize
    }

    fn lower_bound(index: usize) -> u64 {
        if index < LINEAR as usize {
            return index as u64;
        }
        let k = index - LINEAR as usize;
        let exp = (k >> SUB_BITS) as u32 + LINEAR_BITS;
        let sub = (k & ((1 << SUB_BITS) - 1)) as u64;
        (1 << exp) | (sub << (exp - SUB_BITS))
    }

    fn record(&mut self, elapsed: Duration) {
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.counts[Self::index(ns)] += 1;
        self.total += 1;
        self.max = self.max.max(ns);
    }

    fn percentile(&self, q: f64) -> u64 {
        let rank = ((q * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (index, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Self::lower_bound(index);
            }
        }
        self.max
    }

    fn report(&self, id: &str, extra: &str) {
        if self.total == 0 {
            return; // filtered out on the command line
        }
        println!(
            "PERCENTILES {id}: n={} p50={} ns p99={} ns p99.9={} ns max={} ns{extra}",
            self.total,
            self.percentile(0.50),
            self.percentile(0.99),
            self.percentile(0.999),
            self.max,
        );
    }
}

// --- contenders ----------------------------------------------------------------

fn slab_config(reader_slots: usize) -> SlabConfig {
    let layout = FrameLayout::new(WIDTH, HEIGHT, PixelFormat::Gray8).expect("valid layout");
    SlabConfig::new(layout)
        .capacity(CAPACITY)
        .reader_slots(reader_slots)
}

/// One frame as the peers hold it: metadata plus its own pixel buffer.
struct PeerFrame {
    seq: u64,
    info: FrameInfo,
    pixels: Box<[u8]>,
}

impl PeerFrame {
    fn new(seq: u64, info: FrameInfo) -> Self {
        Self {
            seq,
            info,
            pixels: vec![0u8; FRAME_BYTES].into_boxed_slice(),
        }
    }
}

/// Preallocated frames reused once nothing else refers to them: the same
/// `Arc::get_mut` scan the slab's producer does.
struct Pool {
    homes: Vec<Arc<PeerFrame>>,
    cursor: usize,
    next_seq: u64,
}

impl Pool {
    fn new(frames: usize) -> Self {
        Self {
            homes: (0..frames)
                .map(|_| Arc::new(PeerFrame::new(0, FrameInfo::received_now())))
                .collect(),
            cursor: 0,
            next_seq: 0,
        }
    }

    /// A free frame with its metadata written, as a new shared handle.
    fn fill(&mut self, info: FrameInfo) -> Option<Arc<PeerFrame>> {
        let count = self.homes.len();
        let index = (0..count)
            .map(|step| (self.cursor + step) % count)
            .find(|&index| Arc::get_mut(&mut self.homes[index]).is_some())?;
        self.cursor = (index + 1) % count;
        let frame = Arc::get_mut(&mut self.homes[index]).expect("checked unique");
        frame.seq = self.next_seq;
        frame.info = info;
        self.next_seq += 1;
        Some(Arc::clone(&self.homes[index]))
    }
}

/// The seed's `FrameBuffer`: a lock around a bounded deque.
struct SeedBuffer {
    queue: Mutex<VecDeque<Arc<PeerFrame>>>,
    next_seq: AtomicU64,
}

impl SeedBuffer {
    fn new() -> Self {
        Self {
            queue: Mutex::new(VecDeque::with_capacity(CAPACITY)),
            next_seq: AtomicU64::new(0),
        }
    }

    /// The seed's `write`: a new frame per call, the oldest evicted (and freed)
    /// under the lock when full.
    fn write(&self, info: FrameInfo) {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let frame = Arc::new(PeerFrame::new(seq, info));
        self.push(frame);
    }

    fn push(&self, frame: Arc<PeerFrame>) {
        let mut queue = self.queue.lock().unwrap();
        if queue.len() >= CAPACITY {
            drop(queue.pop_front());
        }
        queue.push_back(frame);
    }

    fn read_latest(&self) -> Option<Arc<PeerFrame>> {
        self.queue.lock().unwrap().back().cloned()
    }

    fn pop_oldest(&self) -> Option<Arc<PeerFrame>> {
        self.queue.lock().unwrap().pop_front()
    }
}

/// A fixed `FrameInfo`, so publish times measure the protocol and not a clock
/// read (`FrameInfo::received_now()` costs one `Instant::now()`, see `timer_floor`).
fn info() -> FrameInfo {
    FrameInfo::received_now()
}

fn touch(frame: &PeerFrame) -> u64 {
    frame.seq ^ frame.pixels.len() as u64 ^ u64::from(frame.info.keyframe)
}

// --- uncontended ---------------------------------------------------------------

fn uncontended(c: &mut Criterion) {
    let info = info();

    // What a timed empty operation costs: the floor under every per-op percentile.
    let mut floor = Histogram::new();
    for _ in 0..2_000_000 {
        let start = Instant::now();
        floor.record(start.elapsed());
    }
    floor.report("timer_floor", " (Instant::now + elapsed, empty body)");

    let mut group = c.benchmark_group("publish_uncontended");
    {
        let (mut producer, _consumer, _reader) = slab::new(slab_config(2)).unwrap();
        group.bench_function("slab", |b| {
            b.iter(|| producer.begin().unwrap().commit(black_box(info)))
        });
        group.bench_function("slab_received_now", |b| {
            b.iter(|| producer.begin().unwrap().commit(FrameInfo::received_now()))
        });
        // Per-op percentiles of the same loop (timer floor included).
        let mut hist = Histogram::new();
        for _ in 0..2_000_000 {
            let start = Instant::now();
            let _ = black_box(producer.begin().unwrap().commit(black_box(info)));
            hist.record(start.elapsed());
        }
        hist.report("publish_uncontended/slab", "");
    }
    {
        let prototype = latest_word::Slab::new(CAPACITY, 2, FRAME_BYTES);
        let mut producer = prototype.producer();
        group.bench_function("latest_word_prototype", |b| {
            b.iter(|| black_box(producer.publish().unwrap()))
        });
    }
    {
        let seed = SeedBuffer::new();
        group.bench_function("mutex_vecdeque", |b| b.iter(|| seed.write(black_box(info))));
        let mut hist = Histogram::new();
        for _ in 0..2_000_000 {
            let start = Instant::now();
            seed.write(black_box(info));
            hist.record(start.elapsed());
        }
        hist.report("publish_uncontended/mutex_vecdeque", "");
    }
    {
        let seed = SeedBuffer::new();
        let mut pool = Pool::new(CAPACITY + 2);
        group.bench_function("mutex_vecdeque_recycled", |b| {
            b.iter(|| seed.push(pool.fill(black_box(info)).unwrap()))
        });
    }
    {
        let queue = ArrayQueue::new(CAPACITY);
        let mut pool = Pool::new(CAPACITY + 2);
        group.bench_function("arrayqueue", |b| {
            b.iter(|| queue.force_push(pool.fill(black_box(info)).unwrap()))
        });
    }
    {
        let mut ring = HeapRb::<Arc<PeerFrame>>::new(CAPACITY);
        let mut pool = Pool::new(CAPACITY + 2);
        group.bench_function("ringbuf", |b| {
            b.iter(|| ring.push_overwrite(pool.fill(black_box(info)).unwrap()))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("latest_uncontended");
    {
        let (mut producer, _consumer, reader) = slab::new(slab_config(2)).unwrap();
        let seq = producer.begin().unwrap().commit(info).seq();
        group.bench_function("slab", |b| b.iter(|| black_box(&reader).latest()));
        group.bench_function("slab_latest_after_nothing_new", |b| {
            b.iter(|| black_box(&reader).latest_after(black_box(seq)))
        });
        // A per-thread `LatestCache`: the frame lent while nothing new came,
        // and the same frame cloned into an owned handle (then dropped).
        let mut cache = reader.cache();
        group.bench_function("slab_cache_lent", |b| {
            b.iter(|| black_box(&mut cache).latest().map(|frame| frame.seq()))
        });
        group.bench_function("slab_cache_cloned", |b| {
            b.iter(|| black_box(&mut cache).latest().cloned())
        });
    }
    {
        let prototype = latest_word::Slab::new(CAPACITY, 2, FRAME_BYTES);
        prototype.producer().publish().unwrap();
        group.bench_function("latest_word_prototype", |b| {
            b.iter(|| black_box(&prototype).latest().map(|frame| frame.seq()))
        });
    }
    {
        let seed = SeedBuffer::new();
        seed.write(info);
        group.bench_function("mutex_vecdeque", |b| {
            b.iter(|| black_box(&seed).read_latest())
        });
    }
    group.finish();

    // One thread publishes then takes the oldest: the ordered path's round trip.
    let mut group = c.benchmark_group("publish_pop_oldest");
    {
        let (mut producer, mut consumer, _reader) = slab::new(slab_config(2)).unwrap();
        group.bench_function("slab", |b| {
            b.iter(|| {
                let _ = producer.begin().unwrap().commit(black_box(info));
                consumer.pop_oldest().unwrap()
            })
        });
    }
    {
        let seed = SeedBuffer::new();
        group.bench_function("mutex_vecdeque", |b| {
            b.iter(|| {
                seed.write(black_box(info));
                seed.pop_oldest().unwrap()
            })
        });
    }
    {
        let queue = ArrayQueue::new(CAPACITY);
        let mut pool = Pool::new(CAPACITY + 2);
        group.bench_function("arrayqueue", |b| {
            b.iter(|| {
                queue.force_push(pool.fill(black_box(info)).unwrap());
                queue.pop().unwrap()
            })
        });
    }
    {
        let mut ring = HeapRb::<Arc<PeerFrame>>::new(CAPACITY);
        let mut pool = Pool::new(CAPACITY + 2);
        group.bench_function("ringbuf", |b| {
            b.iter(|| {
                ring.push_overwrite(pool.fill(black_box(info)).unwrap());
                ring.try_pop().unwrap()
            })
        });
    }
    group.finish();
}

// --- contended -----------------------------------------------------------------

/// Runs `iters` timed publishes on this thread while `readers` threads call
/// `read` in a loop; records each publish in `hist` and returns their sum.
fn publish_while_reading<P, R>(
    iters: u64,
    readers: usize,
    hist: &mut Histogram,
    mut publish: P,
    read: R,
) -> Duration
where
    P: FnMut(),
    R: Fn() + Sync,
{
    let stop = AtomicBool::new(false);
    let barrier = Barrier::new(readers + 1);
    std::thread::scope(|scope| {
        for _ in 0..readers {
            scope.spawn(|| {
                barrier.wait();
                while !stop.load(Ordering::Relaxed) {
                    read();
                }
            });
        }
        barrier.wait();
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let start = Instant::now();
            publish();
            let elapsed = start.elapsed();
            hist.record(elapsed);
            total += elapsed;
        }
        stop.store(true, Ordering::Relaxed);
        total
    })
}

fn contended_publish(c: &mut Criterion) {
    let info = info();
    let mut group = c.benchmark_group("publish_contended");
    group.sample_size(20);
    for readers in [1, 4] {
        {
            // One spare slot per reader that may hold a frame (the slab's advice).
            let (mut producer, _consumer, reader) = slab::new(slab_config(readers)).unwrap();
            let _ = producer.begin().unwrap().commit(info);
            let mut hist = Histogram::new();
            let mut rejected = 0u64;
            let id = format!("slab/{readers}_readers");
            group.bench_function(&id, |b| {
                b.iter_custom(|iters| {
                    publish_while_reading(
                        iters,
                        readers,
                        &mut hist,
                        || match producer.begin() {
                            Ok(writer) => {
                                let _ = black_box(writer.commit(black_box(info)));
                            }
                            Err(_) => rejected += 1,
                        },
                        || {
                            black_box(reader.latest());
                        },
                    )
                })
            });
            hist.report(
                &format!("publish_contended/{id}"),
                &format!(" rejected={rejected}"),
            );
        }
        {
            let prototype = latest_word::Slab::new(CAPACITY, readers, FRAME_BYTES);
            let mut producer = prototype.producer();
            let mut hist = Histogram::new();
            let mut rejected = 0u64;
            let id = format!("latest_word_prototype/{readers}_readers");
            group.bench_function(&id, |b| {
                b.iter_custom(|iters| {
                    publish_while_reading(
                        iters,
                        readers,
                        &mut hist,
                        || {
                            if black_box(producer.publish()).is_none() {
                                rejected += 1;
                            }
                        },
                        || {
                            black_box(prototype.latest().map(|frame| frame.seq()));
                        },
                    )
                })
            });
            hist.report(
                &format!("publish_contended/{id}"),
                &format!(" rejected={rejected}"),
            );
        }
        {
            let seed = SeedBuffer::new();
            seed.write(info);
            let mut hist = Histogram::new();
            let id = format!("mutex_vecdeque/{readers}_readers");
            group.bench_function(&id, |b| {
                b.iter_custom(|iters| {
                    publish_while_reading(
                        iters,
                        readers,
                        &mut hist,
                        || seed.write(black_box(info)),
                        || {
                            black_box(seed.read_latest());
                        },
                    )
                })
            });
            hist.report(&format!("publish_contended/{id}"), "");
        }
    }
    group.finish();
}

/// `latest()` on this thread while another thread publishes back to back
/// (2 threads on 2 cores: no oversubscription). Mean cost per read.
fn contended_latest(c: &mut Criterion) {
    let info = info();
    let mut group = c.benchmark_group("latest_while_publishing");
    group.sample_size(20);

    fn read_while_publishing<P, R>(iters: u64, publish: P, mut read: R) -> Duration
    where
        P: FnOnce(&AtomicBool) + Send,
        R: FnMut(),
    {
        let stop = AtomicBool::new(false);
        let barrier = Barrier::new(2);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                barrier.wait();
                publish(&stop);
            });
            barrier.wait();
            let start = Instant::now();
            for _ in 0..iters {
                read();
            }
            let elapsed = start.elapsed();
            stop.store(true, Ordering::Relaxed);
            elapsed
        })
    }

    {
        // `slab`: `Reader::latest()`; `slab_cache`: a `LatestCache` on the
        // reading thread (one fetch per new frame).
        let (producer, _consumer, reader) = slab::new(slab_config(3)).unwrap();
        let producer = Mutex::new(producer);
        let _ = producer.lock().unwrap().begin().unwrap().commit(info);
        let publish = |stop: &AtomicBool| {
            let mut producer = producer.lock().unwrap();
            while !stop.load(Ordering::Relaxed) {
                if let Ok(writer) = producer.begin() {
                    let _ = black_box(writer.commit(info));
                }
            }
        };
        group.bench_function("slab", |b| {
            b.iter_custom(|iters| {
                read_while_publishing(iters, publish, || {
                    black_box(
                        reader
                            .latest()
                            .map(|frame| frame.seq() ^ frame.data().len() as u64),
                    );
                })
            })
        });
        let mut cache = reader.cache();
        group.bench_function("slab_cache", |b| {
            b.iter_custom(|iters| {
                read_while_publishing(iters, publish, || {
                    black_box(
                        cache
                            .latest()
                            .map(|frame| frame.seq() ^ frame.data().len() as u64),
                    );
                })
            })
        });
    }
    {
        let prototype = latest_word::Slab::new(CAPACITY, 3, FRAME_BYTES);
        let producer = Mutex::new(prototype.producer());
        producer.lock().unwrap().publish().unwrap();
        group.bench_function("latest_word_prototype", |b| {
            b.iter_custom(|iters| {
                read_while_publishing(
                    iters,
                    |stop| {
                        let mut producer = producer.lock().unwrap();
                        while !stop.load(Ordering::Relaxed) {
                            black_box(producer.publish());
                        }
                    },
                    || {
                        black_box(
                            prototype
                                .latest()
                                .map(|frame| frame.seq() ^ frame.len() as u64),
                        );
                    },
                )
            })
        });
    }
    {
        let seed = SeedBuffer::new();
        seed.write(info);
        group.bench_function("mutex_vecdeque", |b| {
            b.iter_custom(|iters| {
                read_while_publishing(
                    iters,
                    |stop| {
                        while !stop.load(Ordering::Relaxed) {
                            seed.write(info);
                        }
                    },
                    || {
                        black_box(seed.read_latest().map(|frame| touch(&frame)));
                    },
                )
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = uncontended, contended_publish, contended_latest
}
criterion_main!(benches);
