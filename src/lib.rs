//! # rtsp-ingest
//!
//! An ingest engine for AI inference hosts: it connects to many RTSP cameras,
//! decodes them with FFmpeg, and hands decoded frames to inference code with the
//! lowest latency and cost the hardware allows.
//!
//! | module | what it owns |
//! |---|---|
//! | [`manager`] | many cameras: run-time control, core pinning, memory budget, events, batches, metrics |
//! | [`stream`] | one camera: connect, demux, decode, convert into the slab, reconnect, status |
//! | [`slab`] | the frame slab: preallocated slots, latest snapshot, ordered queue, drop policies |
//! | [`convert`] | SIMD yuv420p → BGR/RGB/gray conversion straight into slots (swscale for the rest) |
//! | [`ffmpeg`] | the FFmpeg boundary: owner types, interrupt deadlines, encoder and RTP muxer, scrubbed logging |
//! | [`simulate`] | simulated RTSP cameras with faults on demand, for tests and demos; frames [stamped](simulate::stamp) with their index so a consumer can time glass-to-consumer latency |
//! | [`redact`] | credential scrubbing for every text that leaves the process |
//! | [`resolve`] | camera host names to addresses, bounded by the stream's deadline and stop flag |
//!
//! ## Open one camera, read the newest frame as BGR
//!
//! ```no_run
//! use std::time::Duration;
//! use rtsp_ingest::stream::{Stream, StreamConfig};
//!
//! fn main() -> rtsp_ingest::Result<()> {
//!     let config = StreamConfig::new("rtsp://admin:secret@192.168.1.64/stream1")?;
//!     let mut camera = Stream::start("gate", config)?; // BGR24, RTP over TCP
//!     let mut last_seq = None;
//!     for _ in 0..100 {
//!         let frame = match last_seq {
//!             None => camera.latest(),
//!             Some(seq) => camera.latest_after(seq), // never the same frame twice
//!         };
//!         if let Some(frame) = frame {
//!             let bgr: &[u8] = frame.data(); // rows of `layout().planes()[0].stride` bytes
//!             println!("{}x{} #{} {:?} old, {} bytes", frame.width(), frame.height(), frame.seq(), frame.age(), bgr.len());
//!             last_seq = Some(frame.seq());
//!         }
//!         std::thread::sleep(Duration::from_millis(40));
//!     }
//!     println!("{:?}", camera.status()); // state, counters, last error; no password
//!     camera.stop(); // bounded: returns within about 200 ms
//!     Ok(())
//! }
//! ```
//!
//! The stream never hangs (every blocking FFmpeg call has a deadline and obeys
//! `stop`, and the camera's host name is resolved by [`resolve`], which obeys
//! them too), says what it waits for while it connects
//! ([`StreamStatus::state_detail`](stream::StreamStatus::state_detail):
//! "no answer to DESCRIBE for 3.0 s"), detects stalls from media progress, reconnects with jittered
//! exponential backoff, waits a minute between logins after a 401/403, never
//! publishes a frame FFmpeg flags as corrupt (after damage it waits for the next
//! keyframe), and never prints a password: not in logs, errors, status or
//! FFmpeg's own log lines, wherever the URL carries it (userinfo, or a
//! `password=`, `pwd=`, `token=`, ... path or query parameter; see
//! [`redact`]). A panic in the worker (a converter, a crate it
//! calls, a `tracing` layer) is contained: the stream becomes `Failed` with the
//! panic's message ([`ErrorKind::Panic`]), `stop` returns at once, and the
//! manager can start it again. Event channels are bounded and never block the
//! worker: with nobody reading, the oldest events go first, each counted in its
//! stream's `events_lost` ([`stream::STREAM_EVENTS_CAPACITY`],
//! [`manager::MANAGER_EVENTS_CAPACITY`]).
//!
//! ## The frame slab
//!
//! Every decoded frame crosses the slab: one per stream, a fixed set of
//! preallocated slots that one decode worker writes and any number of threads
//! read.
//!
//!
//! ```
//! use rtsp_ingest::slab::{self, DropPolicy, FrameInfo, FrameLayout, PixelFormat, SlabConfig};
//!
//! # fn main() -> rtsp_ingest::Result<()> {
//! let layout = FrameLayout::new(640, 480, PixelFormat::Bgr24)?;
//! let config = SlabConfig::new(layout).stream_id("cam0").capacity(8).policy(DropPolicy::Latest);
//! let (mut producer, mut consumer, reader) = slab::new(config)?;
//!
//! // The decode worker: take a free slot, write pixels straight into it, commit.
//! for _ in 0..3 {
//!     let mut slot = producer.begin().expect("a free slot");
//!     slot.data_mut().fill(0x80); // a converter writes here, plane by plane
//!     let _ = slot.commit(FrameInfo::received_now());
//! }
//!
//! // An inference thread: the newest frame, never the same one twice.
//! let frame = reader.latest().expect("a frame");
//! assert_eq!((frame.stream_id(), frame.seq(), frame.width()), ("cam0", 2, 640));
//! assert!(reader.latest_after(frame.seq()).is_none());
//!
//! // A recorder: every queued frame, oldest first.
//! let seqs: Vec<u64> = std::iter::from_fn(|| consumer.pop_oldest()).map(|f| f.seq()).collect();
//! assert_eq!(seqs, [0, 1, 2]);
//! # Ok(())
//! # }
//! ```
//!
//! ## Guarantees
//!
//! * **Bounded memory, allocated once.** [`slab::new`] allocates
//!   `capacity + 2 + reader_slots` pixel buffers (rows and planes aligned to 64
//!   bytes) and nothing else grows: `begin`, `commit`, `latest`, `latest_after`,
//!   `pop_oldest` and `pop_latest` allocate nothing (a test with a counting
//!   allocator checks it). `max_memory_mb` sets the capacity from the slot size
//!   when the slab is built. Slots are allocated zeroed, so their pages become
//!   resident only when first written; with
//!   [`queue_on_demand`](slab::SlabConfig::queue_on_demand) (what a
//!   [`stream::Stream`] uses) the queue opens only when a consumer asks for
//!   ordered frames, and until then the producer writes only the lowest free
//!   slots (two, plus one per frame readers hold).
//! * **The producer never waits.** Every producer operation finishes in a bounded
//!   number of its own steps whatever readers and the consumer do: it takes a slot
//!   only when nothing refers to it (`Arc::get_mut`), and when every slot is held
//!   it drops the new frame and counts it rather than block.
//! * **A frame you hold never changes.** A [`slab::Frame`] handle keeps its slot out
//!   of reuse until dropped; its pixels and metadata are immutable while held.
//! * **Readers are wait-free in the common case** (`arc-swap`'s `load`) and never
//!   block the producer. `latest_after(seq)` returns only newer frames and touches
//!   no reference count when there is none.
//! * **The consumer is lock-free.** Each queue operation is one compare-and-swap
//!   on a word that packs head, tail and a pin bit; it retries only when the
//!   producer made progress. Reading queued frames in place (`read_all`,
//!   `read_range`, `read_oldest`) pins the queue; the producer then removes
//!   nothing from it instead of waiting (a frame that needed room is published
//!   as latest but not queued, [`slab::EvictReason::QueueFull`]). `clear` is one
//!   atomic step: no frame queued before it is popped after it.
//! * **The latest frame is never stale.** Every committed frame becomes the
//!   latest snapshot, under every policy, whether or not the ordered queue takes
//!   it: the [`slab::DropPolicy`] governs the queue only. The snapshot's slot and
//!   the one being written are reserved beside the queue's, so the queue can
//!   never starve the snapshot of slots.
//! * **Every frame is counted once** and reported where it happens. An offered
//!   frame is published or dropped before publication
//!   ([`slab::DropReason`]: no free slot, abandoned writer), so
//!   `offered == published + dropped`; a published frame is still queued, taken
//!   by the consumer, cleared, or evicted by the queue ([`slab::EvictReason`]:
//!   overwritten, sampled out, queue full, no consumer), so
//!   `published == size + taken + cleared + evicted`. `begin` returns
//!   [`slab::Rejected`] before any pixel work; `commit` returns
//!   [`slab::Committed`] saying what the queue did. Sequence numbers count
//!   offered frames, so gaps show drops. A stream adds its own reasons before
//!   the slab (corrupt, skipped, conversion failed, no slab):
//!   `decoded == published + dropped` for every stream.
//!
//! What the ordered queue does, by [`slab::DropPolicy`], when it is full (the
//! new frame is the latest snapshot in every case):
//!
//! | policy | new frame | queued frames |
//! |---|---|---|
//! | `Latest` (default) | queued | the oldest is evicted (`Overwritten`) |
//! | `Sample` | queued (the newest is always kept) | thinned to an even sample in time (`SampledOut`) |
//! | `DropNewest` | not queued (`QueueFull`) | kept |
//!
//! `Sample` keeps the queue an even sample in time (pts, or arrival time where
//! the pts is missing or jumps) of everything since the last `clear` or since
//! the consumer last emptied the queue, the newest frame always included.
//! Time is cut into cells; the queue keeps the first frame of each cell, and
//! when it fills the cells double in width (so they nest, and each new cell's
//! first frame is one already kept) and the queue is thinned to them in one
//! atomic step. Reconnect gaps and rate changes take the room their time takes.
//! When the consumer drains the queue a new span begins: every frame is queued
//! again. The seed halved the buffer once and then admitted every frame again,
//! so its older frames thinned out exponentially while the newest were dense.
//!
//! ## From the seed's `FrameBuffer`
//!
//! The slab grew from a Python `FrameBuffer` (an `asyncio.Lock` around a
//! `deque`). Each of its operations has a counterpart here, without the lock,
//! without the per-frame allocation:
//!
//! | seed (`FrameBuffer`) | slab | difference |
//! |---|---|---|
//! | `FrameBuffer(capacity, drop_policy, max_memory_mb)` | [`slab::new`]`(`[`SlabConfig`](slab::SlabConfig)`)` | memory cap sets the capacity once; no per-write scan |
//! | `write(frame, stream_id, frame_index, timestamp)` | [`Producer::begin`](slab::Producer::begin) → fill → [`SlotWriter::commit`](slab::SlotWriter::commit) | writes into a preallocated slot; a pts of 0 stays 0 (the seed's `timestamp or time.time()` replaced it) |
//! | `read_latest()` | [`Reader::latest`](slab::Reader::latest), [`Reader::latest_after`](slab::Reader::latest_after) | any thread, a handle not a copy; the last frame written under every policy, as in the seed |
//! | `read_oldest()` | [`Consumer::read_oldest`](slab::Consumer::read_oldest) | |
//! | `read_all()` | [`Consumer::read_all`](slab::Consumer::read_all) | handles, not copies |
//! | `read_range(start, count)` | [`Consumer::read_range`](slab::Consumer::read_range) | |
//! | `pop_latest()` | [`Consumer::pop_latest`](slab::Consumer::pop_latest) | |
//! | `pop_oldest()` | [`Consumer::pop_oldest`](slab::Consumer::pop_oldest) | |
//! | `clear()` | [`Consumer::clear`](slab::Consumer::clear) | atomic; the latest snapshot stays; `Sample` starts a new span |
//! | `size` | `len()` on any handle | an exact atomic read, not an unlocked one |
//! | `stats` (`size, capacity, total_written, total_dropped, drop_policy, usage_percent`) | `stats()` on any handle → [`SlabStats`](slab::SlabStats) | drops before publication and queue evictions by reason, taken, cleared, offered, slots and memory |
//! | `estimate_memory_mb()` | [`SlabStats::memory_mb`](slab::SlabStats::memory_mb) | exact, not "every frame is the size of the oldest" |
//!
//! ## Safety
//!
//! The crate denies `unsafe_code` at the root and allows it in a few named
//! places, so one grep (`allow(unsafe_code)`) lists the whole unsafe surface:
//! the slab's queue (`src/slab/ring.rs`: raw `Arc` pointers in atomic cells,
//! model-checked with loom in `loom-tests/` and fuzzed against a model in
//! `fuzz/`), the slab's `SlotWriter` (`src/slab/producer.rs`: the slot `begin`
//! proved unique, kept as a pointer so `commit` need not prove it again), the
//! slot itself (`src/slab/frame.rs`: its raw pixel allocation and metadata
//! cells, written only while unpublished) and its [`Lease`](slab::Lease) to a
//! decoder (`src/slab/lease.rs`: one raw `Arc` pointer), the loom facade's cell
//! (`src/sync.rs`), and the FFmpeg boundary (`src/ffmpeg/`, the only module
//! that names `ffmpeg_sys_next`).
//! Every unsafe block carries a `// SAFETY:` line.

#[cfg(not(rtsp_ingest_loom))]
pub mod convert;
pub mod error;
mod names;
// The FFmpeg boundary: the crate's only unsafe outside the slab; not built under loom.
#[cfg(not(rtsp_ingest_loom))]
#[allow(unsafe_code)]
pub mod ffmpeg;
#[cfg(not(rtsp_ingest_loom))]
pub mod manager;
pub mod redact;
#[cfg(not(rtsp_ingest_loom))]
pub mod resolve;
#[cfg(not(rtsp_ingest_loom))]
pub mod simulate;
pub mod slab;
#[cfg(not(rtsp_ingest_loom))]
pub mod stream;
#[allow(unsafe_code)] // the facade's `UnsafeCell` twin
mod sync;

pub use error::{Error, ErrorKind, Result};
