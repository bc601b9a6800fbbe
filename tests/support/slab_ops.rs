//! Model-based checking of the frame slab: a sequence of [`Op`]s is applied to a
//! real slab and to [`Model`], a plain `VecDeque` implementation of the slab's
//! single-threaded semantics, and after every op the two must agree on queue
//! contents, stats, drop counts and every return value, and every [`Frame`]
//! handle still held must still show its own frame's pixels and metadata.
//!
//! Shared by `tests/slab_model.rs` (proptest) and `fuzz/fuzz_targets/slab_ops.rs`
//! (cargo-fuzz), which both include this file with `#[path]`.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use arbitrary::{Arbitrary, Unstructured};
use rtsp_ingest::slab::{
    self, Committed, Consumer, Damage, DropCounts, DropPolicy, DropReason, EvictCounts, Frame,
    FrameInfo, FrameLayout, PixelFormat, Producer, Reader, Rejected, SlabConfig, SlabStats,
    SlotWriter, StageTimes,
};

/// One step of a scenario.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `begin`, fill (through `data_mut`, or `planes_mut` when `via_planes`), then
    /// `commit` — or drop the writer (after scribbling over the slot) when `abandon`.
    Write {
        via_planes: bool,
        abandon: bool,
    },
    /// `n % 16 + 1` committed writes in a row.
    Burst {
        n: u8,
    },
    /// `begin` and fill, and keep the writer open: the consumer and reader ops
    /// that follow run while it is open, until [`Op::Commit`], [`Op::Abandon`], a
    /// producer op (which commits it first) or the end of the scenario (commit).
    Begin {
        via_planes: bool,
    },
    /// Commits the open writer (no-op without one).
    Commit,
    /// Abandons the open writer (no-op without one).
    Abandon,
    PopOldest {
        hold: bool,
    },
    PopLatest {
        hold: bool,
    },
    ReadOldest {
        hold: bool,
    },
    ReadAll {
        hold: bool,
    },
    /// `start % 11` (255: `usize::MAX`), `count % 11` (255: `usize::MAX`).
    ReadRange {
        start: u8,
        count: Option<u8>,
        hold: bool,
    },
    Clear,
    /// `Reader::latest`, holding the handle.
    HoldLatest,
    /// `Reader::latest_after(latest seq + delta)` (clamped at 0; `i8::MIN`: `u64::MAX`).
    LatestAfter {
        delta: i8,
        hold: bool,
    },
    /// Clones held handle `index % held`.
    CloneHeld {
        index: u8,
    },
    /// Drops held handle `index % held`.
    Release {
        index: u8,
    },
    ReleaseAll,
}

impl Op {
    /// Whether the op needs the producer (and so cannot run while a writer is open).
    fn uses_producer(self) -> bool {
        matches!(self, Op::Write { .. } | Op::Burst { .. } | Op::Begin { .. })
    }

    /// Whether the op calls the consumer (and so opens an on-demand queue).
    pub fn uses_consumer(self) -> bool {
        matches!(
            self,
            Op::PopOldest { .. }
                | Op::PopLatest { .. }
                | Op::ReadOldest { .. }
                | Op::ReadAll { .. }
                | Op::ReadRange { .. }
                | Op::Clear
        )
    }
}

/// A slab configuration and the ops to run on it.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub policy: DropPolicy,
    /// 1 ..= 8.
    pub capacity: usize,
    /// 0 ..= 3.
    pub reader_slots: usize,
    /// Gray8 frame width, 1 ..= 130 (one to three 64-byte rows' worth).
    pub width: u32,
    /// 1 ..= 3.
    pub height: u32,
    /// `SlabConfig::queue_on_demand`: the queue opens at the first consumer op.
    pub queue_on_demand: bool,
    pub ops: Vec<Op>,
}

impl Scenario {
    fn header(u: &mut Unstructured<'_>, ops: Vec<Op>) -> arbitrary::Result<Self> {
        Ok(Self {
            policy: *u.choose(&DropPolicy::ALL)?,
            capacity: u.int_in_range(1..=8)?,
            reader_slots: u.int_in_range(0..=3)?,
            width: u.int_in_range(1..=130)?,
            height: u.int_in_range(1..=3)?,
            queue_on_demand: u.arbitrary()?,
            ops,
        })
    }
}

impl<'a> Arbitrary<'a> for Scenario {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut scenario = Self::header(u, Vec::new())?;
        let len = u.arbitrary_len::<Op>()?;
        scenario.ops = (0..len)
            .map(|_| Op::arbitrary(u))
            .collect::<arbitrary::Result<_>>()?;
        Ok(scenario)
    }

    fn arbitrary_take_rest(mut u: Unstructured<'a>) -> arbitrary::Result<Self> {
        let scenario = Self::header(&mut u, Vec::new())?;
        Ok(Self {
            ops: ops_from(u),
            ..scenario
        })
    }
}

/// Ops until the bytes run out. (Not `arbitrary_take_rest_iter`: since arbitrary
/// 1.4 it spends a continue-flag byte per element, so random bytes give ~2 ops.)
pub fn ops_from(mut u: Unstructured<'_>) -> Vec<Op> {
    let mut ops = Vec::with_capacity(u.len() / 4);
    while !u.is_empty() {
        match Op::arbitrary(&mut u) {
            Ok(op) => ops.push(op),
            Err(_) => break,
        }
    }
    ops
}

/// The byte at `index` of frame `seq`'s pixels: the seq's little-endian bytes,
/// each row of 8 xored with its index, so any two frames differ in the first 8 bytes.
pub fn pattern(seq: u64, index: usize) -> u8 {
    seq.to_le_bytes()[index % 8] ^ (index / 8) as u8
}

/// Whether `data` is frame `seq`'s [`pattern`], 8 bytes at a time (`data.len()`
/// is a multiple of 64, and below 256 × 8).
pub fn pattern_matches(seq: u64, data: &[u8]) -> bool {
    data.len().is_multiple_of(8)
        && data.chunks_exact(8).enumerate().all(|(row, chunk)| {
            let chunk = u64::from_le_bytes(chunk.try_into().unwrap());
            chunk == seq ^ ((row as u64 & 0xFF) * 0x0101_0101_0101_0101)
        })
}

/// The info frame `seq` is committed with (everything derived from the seq, so a
/// handle's metadata can be checked as well as its pixels).
pub fn info_for(seq: u64, base: Instant) -> FrameInfo {
    FrameInfo {
        pts_ns: (seq % 3 != 1).then(|| seq as i64 * 1_000 - 5),
        capture_time: seq
            .is_multiple_of(2)
            .then(|| SystemTime::UNIX_EPOCH + Duration::from_millis(seq)),
        received: base + Duration::from_micros(seq),
        keyframe: seq.is_multiple_of(5),
        damage: Damage::ALL[(seq % 3) as usize],
        stages: StageTimes {
            decoded: (seq % 4 != 3).then(|| base + Duration::from_micros(seq + 1)),
            converted: seq
                .is_multiple_of(3)
                .then(|| base + Duration::from_micros(seq + 2)),
        },
    }
}

/// The slab's single-threaded semantics on a `VecDeque` of sequence numbers.
#[derive(Clone, Debug)]
pub struct Model {
    pub policy: DropPolicy,
    pub capacity: usize,
    pub slots: usize,
    pub slot_bytes: usize,
    pub next_seq: u64,
    pub queue: VecDeque<u64>,
    pub latest: Option<u64>,
    /// Seqs of the `Frame` handles the harness holds (one entry per handle).
    pub held: Vec<u64>,
    /// The seq of the open writer, if any.
    pub writer: Option<u64>,
    pub offered: u64,
    pub published: u64,
    pub dropped: DropCounts,
    pub evicted: EvictCounts,
    pub taken: u64,
    pub cleared: u64,
    /// `Sample`: each committed frame's sample time, by seq.
    pub times: Vec<i64>,
    /// `Sample`: the span's origin and the cell width (0: every frame kept).
    pub origin: i64,
    pub stride: i64,
    /// `Sample`'s clock: the last frame's (pts, received, time).
    pub clock: Option<(Option<i64>, Instant, i64)>,
    /// Whether the queue takes frames (false until a consumer op, on demand).
    pub queue_open: bool,
    /// The most slots occupied at once (the writer's included) while the
    /// queue was closed: the slab then takes the lowest free slot, so it
    /// writes no more distinct slots than this.
    pub peak_while_closed: usize,
}

impl Model {
    pub fn new(
        policy: DropPolicy,
        capacity: usize,
        reader_slots: usize,
        slot_bytes: usize,
        queue_on_demand: bool,
    ) -> Self {
        Self {
            policy,
            capacity,
            slots: capacity + 2 + reader_slots,
            slot_bytes,
            next_seq: 0,
            queue: VecDeque::new(),
            latest: None,
            held: Vec::new(),
            writer: None,
            offered: 0,
            published: 0,
            dropped: DropCounts::default(),
            evicted: EvictCounts::default(),
            taken: 0,
            cleared: 0,
            times: Vec::new(),
            origin: 0,
            stride: 0,
            clock: None,
            queue_open: !queue_on_demand,
            peak_while_closed: 0,
        }
    }

    /// Slots in use: each distinct frame that is queued, latest or held, plus the
    /// open writer's.
    pub fn occupied(&self) -> usize {
        let mut seqs: Vec<u64> = self
            .queue
            .iter()
            .copied()
            .chain(self.latest)
            .chain(self.held.iter().copied())
            .collect();
        seqs.sort_unstable();
        seqs.dedup();
        seqs.len() + usize::from(self.writer.is_some())
    }

    pub fn begin(&mut self) -> Result<u64, Rejected> {
        assert!(self.writer.is_none(), "model: begin with a writer open");
        let seq = self.next_seq;
        self.next_seq += 1;
        self.offered += 1;
        if self.occupied() < self.slots {
            self.writer = Some(seq);
            if !self.queue_open {
                self.peak_while_closed = self.peak_while_closed.max(self.occupied());
            }
            Ok(seq)
        } else {
            self.dropped.no_free_slot += 1;
            Err(Rejected {
                seq,
                reason: DropReason::NoFreeSlot,
            })
        }
    }

    pub fn commit(&mut self, info: &FrameInfo) -> Committed {
        let seq = self.writer.take().expect("model: commit without a writer");
        self.latest = Some(seq);
        self.published += 1;
        if !self.queue_open {
            self.evicted.no_consumer += 1;
            return Committed::LatestOnly { seq };
        }
        let full = self.queue.len() >= self.capacity;
        match self.policy {
            DropPolicy::Latest if full => {
                let evicted_seq = self.queue.pop_front().expect("capacity >= 1");
                self.queue.push_back(seq);
                self.evicted.overwritten += 1;
                Committed::Overwrote { seq, evicted_seq }
            }
            DropPolicy::DropNewest if full => {
                self.evicted.queue_full += 1;
                Committed::LatestOnly { seq }
            }
            DropPolicy::Latest | DropPolicy::DropNewest => {
                self.queue.push_back(seq);
                Committed::Queued { seq }
            }
            DropPolicy::Sample => self.commit_sample(seq, info),
        }
    }

    /// The sample clock: pts steps when plausible, arrival-time steps otherwise.
    fn sample_time(&mut self, info: &FrameInfo) -> i64 {
        let time = match self.clock {
            None => 0,
            Some((last_pts, last_received, last_time)) => {
                let arrival = info
                    .received
                    .saturating_duration_since(last_received)
                    .as_nanos() as i64;
                let by_pts = match (info.pts_ns, last_pts) {
                    (Some(pts), Some(previous)) => Some(pts - previous),
                    _ => None,
                };
                let step = match by_pts {
                    Some(step) if step >= 0 && step <= arrival + 1_000_000_000 => step,
                    _ => arrival,
                };
                last_time + step
            }
        };
        self.clock = Some((info.pts_ns, info.received, time));
        time
    }

    fn cell_of(&self, seq: u64) -> Option<i64> {
        (self.stride > 0).then(|| (self.times[seq as usize] - self.origin).div_euclid(self.stride))
    }

    fn commit_sample(&mut self, seq: u64, info: &FrameInfo) -> Committed {
        let time = self.sample_time(info);
        if self.times.len() <= seq as usize {
            self.times.resize(seq as usize + 1, 0);
        }
        self.times[seq as usize] = time;
        if self.queue.is_empty() {
            self.origin = time;
            self.stride = 0;
            self.queue.push_back(seq);
            return Committed::Queued { seq };
        }
        let len = self.queue.len();
        let provisional = len >= 2
            && self.stride > 0
            && self.cell_of(self.queue[len - 1]) == self.cell_of(self.queue[len - 2]);
        if self.capacity > 1 && !provisional && len < self.capacity {
            self.queue.push_back(seq);
            return Committed::Queued { seq };
        }
        let kept: VecDeque<u64> = loop {
            let mut kept = VecDeque::new();
            if self.capacity > 1 {
                let mut last = None;
                for &queued in &self.queue {
                    let cell = self.cell_of(queued);
                    if cell.is_none() || cell != last {
                        kept.push_back(queued);
                        last = cell;
                    }
                }
            }
            if kept.len() < self.capacity {
                break kept;
            }
            self.stride = if self.stride > 0 {
                self.stride * 2
            } else {
                let span = (time - self.origin).max(0);
                let gaps = (self.capacity as i64 - 1).max(1);
                ((2 * span + gaps - 1) / gaps).max(1)
            };
        };
        let removed = (len - kept.len()) as u32;
        self.evicted.sampled_out += u64::from(removed);
        self.queue = kept;
        self.queue.push_back(seq);
        Committed::Thinned { seq, removed }
    }

    pub fn abandon(&mut self) {
        self.writer.take().expect("model: abandon without a writer");
        self.dropped.abandoned += 1;
    }

    pub fn pop_oldest(&mut self) -> Option<u64> {
        let popped = self.queue.pop_front();
        self.taken += u64::from(popped.is_some());
        popped
    }

    pub fn pop_latest(&mut self) -> Option<u64> {
        let popped = self.queue.pop_back();
        self.taken += u64::from(popped.is_some());
        popped
    }

    pub fn read_range(&self, start: usize, count: Option<usize>) -> Vec<u64> {
        let len = self.queue.len();
        let end = count.map_or(len, |count| start.saturating_add(count).min(len));
        if start >= end {
            Vec::new()
        } else {
            self.queue.range(start..end).copied().collect()
        }
    }

    pub fn clear(&mut self) -> usize {
        let n = self.queue.len();
        self.queue.clear();
        self.cleared += n as u64;
        n
    }

    pub fn latest_after(&self, seq: u64) -> Option<u64> {
        self.latest.filter(|&latest| latest > seq)
    }

    /// The slab's stats as the model knows them; `slots_written` (which slots
    /// the slab picks) is left to the caller: `written`.
    pub fn stats_with(&self, written: usize) -> SlabStats {
        SlabStats {
            size: self.queue.len(),
            capacity: self.capacity,
            slots: self.slots,
            slot_bytes: self.slot_bytes,
            slots_written: written,
            queue_open: self.queue_open,
            offered: self.offered,
            published: self.published,
            dropped: self.dropped,
            evicted: self.evicted,
            taken: self.taken,
            cleared: self.cleared,
            policy: self.policy,
        }
    }

    /// The books balance (no writer open, single-threaded so always quiescent).
    pub fn assert_books(&self) {
        let stats = self.stats_with(0);
        let open = u64::from(self.writer.is_some());
        assert_eq!(
            stats.offered,
            stats.published + stats.dropped.total() + open
        );
        assert_eq!(
            stats.published,
            stats.size as u64 + stats.taken + stats.cleared + stats.evicted.total()
        );
    }
}

/// Where a failure happened: the scenario's configuration and the ops so far.
struct Trace<'a> {
    scenario: &'a ScenarioHead,
    ops: &'a [Op],
}

#[derive(Clone, Copy, Debug)]
struct ScenarioHead {
    policy: DropPolicy,
    capacity: usize,
    reader_slots: usize,
    width: u32,
    height: u32,
    queue_on_demand: bool,
}

impl fmt::Display for Trace<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\n  {:?}\n  after {} ops (last is the failing one):",
            self.scenario,
            self.ops.len()
        )?;
        let skip = self.ops.len().saturating_sub(60);
        if skip > 0 {
            write!(f, "\n    ... {skip} earlier ops")?;
        }
        for (index, op) in self.ops.iter().enumerate().skip(skip) {
            write!(f, "\n    #{index}: {op:?}")?;
        }
        Ok(())
    }
}

struct Harness {
    consumer: Consumer,
    reader: Reader,
    held: Vec<Frame>,
    model: Model,
    base: Instant,
    head: ScenarioHead,
    ops: Vec<Op>,
    max_stride: i64,
    committed_while_open: u64,
}

macro_rules! check_eq {
    ($harness:expr, $left:expr, $right:expr, $($what:tt)+) => {{
        let (left, right) = (&$left, &$right);
        if left != right {
            panic!(
                "slab vs model mismatch: {}\n  slab:  {:?}\n  model: {:?}{}",
                format_args!($($what)+),
                left,
                right,
                $harness.trace()
            );
        }
    }};
}

impl Harness {
    fn trace(&self) -> Trace<'_> {
        Trace {
            scenario: &self.head,
            ops: &self.ops,
        }
    }

    /// Checks one handle's seq, pixels and metadata against frame `seq`.
    fn check_frame(&self, frame: &Frame, seq: u64, what: &str) {
        check_eq!(self, frame.seq(), seq, "{what}: seq");
        check_eq!(self, frame.meta().seq, seq, "{what}: meta().seq");
        check_eq!(
            self,
            frame.meta().info,
            info_for(seq, self.base),
            "{what}: meta().info of frame {seq}"
        );
        let data = frame.data();
        check_eq!(
            self,
            data.len(),
            self.model.slot_bytes,
            "{what}: data length"
        );
        if !pattern_matches(seq, data) {
            let bad = (0..data.len())
                .find(|&i| data[i] != pattern(seq, i))
                .unwrap_or(usize::MAX);
            panic!(
                "held frame {seq} ({what}) was overwritten: byte {bad} is {:#04x}, expected {:#04x}; \
                 first 8 bytes decode as seq {}{}",
                data[bad],
                pattern(seq, bad),
                u64::from_le_bytes(data[..8].try_into().unwrap()),
                self.trace()
            );
        }
    }

    fn check_seqs(&self, frames: &[Frame], want: &[u64], what: &str) {
        let got: Vec<u64> = frames.iter().map(Frame::seq).collect();
        check_eq!(self, got, want, "{what}");
        for (frame, &seq) in frames.iter().zip(want) {
            self.check_frame(frame, seq, what);
        }
    }

    fn check_option(&self, frame: &Option<Frame>, want: Option<u64>, what: &str) {
        check_eq!(self, frame.as_ref().map(Frame::seq), want, "{what}");
        if let (Some(frame), Some(seq)) = (frame, want) {
            self.check_frame(frame, seq, what);
        }
    }

    fn hold(&mut self, frames: impl IntoIterator<Item = Frame>) {
        for frame in frames {
            self.model.held.push(frame.seq());
            self.held.push(frame);
        }
    }

    /// Everything observable, after every op. `producer` is `None` while a writer is open.
    fn check(&mut self, producer: Option<&Producer>) {
        let written = self.reader.stats().slots_written;
        let want = self.model.stats_with(written);
        check_eq!(self, self.reader.stats(), want, "reader.stats()");
        check_eq!(self, self.consumer.stats(), want, "consumer.stats()");
        if let Some(producer) = producer {
            check_eq!(self, producer.stats(), want, "producer.stats()");
        }
        assert!(
            written <= self.model.slots,
            "{written} slots written of {}{}",
            self.model.slots,
            self.trace()
        );
        if !self.model.queue_open {
            // No queue in use: the producer kept to the lowest free slots.
            assert!(
                written <= self.model.peak_while_closed,
                "{written} slots written with at most {} in use at once{}",
                self.model.peak_while_closed,
                self.trace()
            );
            check_eq!(self, self.reader.len(), 0, "reader.len() (queue closed)");
            // Looking at the queue through the consumer would open it.
            self.check_handles_and_latest();
            return;
        }
        check_eq!(
            self,
            self.consumer.len(),
            self.model.queue.len(),
            "consumer.len()"
        );
        check_eq!(
            self,
            self.reader.len(),
            self.model.queue.len(),
            "reader.len()"
        );
        check_eq!(
            self,
            self.consumer.is_empty(),
            self.model.queue.is_empty(),
            "consumer.is_empty()"
        );

        let queued = self.consumer.read_all();
        let want: Vec<u64> = self.model.queue.iter().copied().collect();
        self.check_seqs(&queued, &want, "queue (read_all)");
        drop(queued);
        self.check_handles_and_latest();
    }

    /// The latest snapshot, the held handles, the slot budget, the books and
    /// (`Sample`) the cells.
    fn check_handles_and_latest(&mut self) {
        let latest = self.reader.latest();
        self.check_option(&latest, self.model.latest, "reader.latest()");
        drop(latest);

        check_eq!(self, self.held.len(), self.model.held.len(), "held handles");
        // Pixels once per slot: handles to one frame share one slot.
        let mut slots_seen: Vec<(*const u8, u64)> = Vec::with_capacity(self.held.len());
        for (frame, &seq) in self.held.iter().zip(&self.model.held) {
            let slot = frame.data().as_ptr();
            match slots_seen.iter().find(|(seen, _)| *seen == slot) {
                Some(&(_, other)) if other != seq => panic!(
                    "held frames {other} and {seq} share one slot{}",
                    self.trace()
                ),
                Some(_) => check_eq!(self, frame.seq(), seq, "held handle: seq"),
                None => {
                    self.check_frame(frame, seq, "held handle");
                    slots_seen.push((slot, seq));
                }
            }
        }

        let occupied = self.model.occupied();
        assert!(
            occupied <= self.model.slots,
            "model bug: {occupied} slots occupied of {}{}",
            self.model.slots,
            self.trace()
        );

        self.model.assert_books();
        self.max_stride = self.max_stride.max(self.model.stride);
        if self.model.policy == DropPolicy::Sample {
            self.check_sample_cells();
        }
    }

    /// `Sample`: every queued frame but the newest sits in a cell of its own, and
    /// the queue is in time order.
    fn check_sample_cells(&self) {
        let queue: Vec<u64> = self.model.queue.iter().copied().collect();
        let times: Vec<i64> = queue
            .iter()
            .map(|&seq| self.model.times[seq as usize])
            .collect();
        assert!(
            times.windows(2).all(|pair| pair[0] <= pair[1]),
            "Sample: queue out of time order: {queue:?} at {times:?}{}",
            self.trace()
        );
        if queue.len() >= 2 && self.model.stride > 0 {
            let cells: Vec<i64> = queue[..queue.len() - 1]
                .iter()
                .map(|&seq| self.model.cell_of(seq).unwrap())
                .collect();
            assert!(
                cells.windows(2).all(|pair| pair[0] < pair[1]),
                "Sample: two queued frames share a cell: {queue:?} in cells {cells:?}{}",
                self.trace()
            );
        }
    }

    fn fill(&self, writer: &mut SlotWriter<'_>, via_planes: bool) {
        let seq = writer.seq();
        check_eq!(self, *writer.layout(), self.layout(), "writer.layout()");
        if via_planes {
            let len = self.model.slot_bytes;
            let [plane, u, v] = writer.planes_mut();
            assert!(u.is_empty() && v.is_empty(), "Gray8 has one plane");
            // Gray8's one plane starts at 0 and covers the whole (64-aligned) buffer.
            check_eq!(self, plane.len(), len, "planes_mut()[0].len()");
            for (index, byte) in plane.iter_mut().enumerate() {
                *byte = pattern(seq, index);
            }
        } else {
            let data = writer.data_mut();
            check_eq!(self, data.len(), self.model.slot_bytes, "data_mut().len()");
            for (index, byte) in data.iter_mut().enumerate() {
                *byte = pattern(seq, index);
            }
        }
    }

    fn layout(&self) -> FrameLayout {
        FrameLayout::new(self.head.width, self.head.height, PixelFormat::Gray8).unwrap()
    }

    fn begin<'p>(&mut self, producer: &'p mut Producer) -> Option<SlotWriter<'p>> {
        let got = producer.begin();
        let want = self.model.begin();
        match (got, want) {
            (Ok(writer), Ok(seq)) => {
                check_eq!(self, writer.seq(), seq, "begin() seq");
                Some(writer)
            }
            (Err(rejected), Err(want)) => {
                check_eq!(self, rejected, want, "begin() rejection");
                None
            }
            (got, want) => panic!(
                "slab vs model mismatch: begin()\n  slab:  {:?}\n  model: {:?}{}",
                got.map(|writer| writer.seq()),
                want,
                self.trace()
            ),
        }
    }

    fn commit(&mut self, writer: SlotWriter<'_>) {
        let seq = writer.seq();
        let info = info_for(seq, self.base);
        let got = writer.commit(info);
        let want = self.model.commit(&info);
        check_eq!(self, got, want, "commit()");
        check_eq!(self, got.seq(), seq, "Committed::seq()");
    }

    fn abandon(&mut self, mut writer: SlotWriter<'_>) {
        // Scribble over the slot: if it were shared with a held frame, the next
        // check would see it.
        writer.data_mut().fill(0xA5);
        self.model.abandon();
        // `writer` goes out of scope here without a commit: abandoned.
    }

    fn write(&mut self, producer: &mut Producer, via_planes: bool, abandon: bool) {
        if let Some(mut writer) = self.begin(producer) {
            self.fill(&mut writer, via_planes);
            if abandon {
                self.abandon(writer);
            } else {
                self.commit(writer);
            }
        }
    }

    /// A consumer or reader op (anything but [`Op::uses_producer`] ones).
    fn apply(&mut self, op: Op) {
        if op.uses_consumer() {
            self.model.queue_open = true;
        }
        match op {
            Op::Write { .. } | Op::Burst { .. } | Op::Begin { .. } | Op::Commit | Op::Abandon => {
                unreachable!("{op:?} is handled by run")
            }
            Op::PopOldest { hold } => {
                let got = self.consumer.pop_oldest();
                let want = self.model.pop_oldest();
                self.check_option(&got, want, "pop_oldest()");
                if hold {
                    self.hold(got);
                }
            }
            Op::PopLatest { hold } => {
                let got = self.consumer.pop_latest();
                let want = self.model.pop_latest();
                self.check_option(&got, want, "pop_latest()");
                if hold {
                    self.hold(got);
                }
            }
            Op::ReadOldest { hold } => {
                let got = self.consumer.read_oldest();
                let want = self.model.queue.front().copied();
                self.check_option(&got, want, "read_oldest()");
                if hold {
                    self.hold(got);
                }
            }
            Op::ReadAll { hold } => {
                let got = self.consumer.read_all();
                let want = self.model.read_range(0, None);
                self.check_seqs(&got, &want, "read_all()");
                if hold {
                    self.hold(got);
                }
            }
            Op::ReadRange { start, count, hold } => {
                let wide = |n: u8| {
                    if n == u8::MAX {
                        usize::MAX
                    } else {
                        usize::from(n % 11)
                    }
                };
                let (start, count) = (wide(start), count.map(wide));
                let got = self.consumer.read_range(start, count);
                let want = self.model.read_range(start, count);
                self.check_seqs(&got, &want, &format!("read_range({start}, {count:?})"));
                if hold {
                    self.hold(got);
                }
            }
            Op::Clear => {
                let got = self.consumer.clear();
                let want = self.model.clear();
                check_eq!(self, got, want, "clear()");
            }
            Op::HoldLatest => {
                let got = self.reader.latest();
                self.check_option(&got, self.model.latest, "latest()");
                self.hold(got);
            }
            Op::LatestAfter { delta, hold } => {
                let after = if delta == i8::MIN {
                    u64::MAX
                } else {
                    self.model
                        .latest
                        .unwrap_or(0)
                        .saturating_add_signed(i64::from(delta))
                };
                // Alternate between the harness's reader and fresh clones.
                let got = if delta % 2 == 0 {
                    self.reader.latest_after(after)
                } else {
                    self.consumer.reader().latest_after(after)
                };
                let want = self.model.latest_after(after);
                self.check_option(&got, want, &format!("latest_after({after})"));
                if hold {
                    self.hold(got);
                }
            }
            Op::CloneHeld { index } => {
                if !self.held.is_empty() {
                    let index = usize::from(index) % self.held.len();
                    let clone = self.held[index].clone();
                    assert!(
                        clone.same_frame(&self.held[index]),
                        "a clone is not the same frame{}",
                        self.trace()
                    );
                    self.hold([clone]);
                }
            }
            Op::Release { index } => {
                if !self.held.is_empty() {
                    let index = usize::from(index) % self.held.len();
                    self.held.remove(index);
                    self.model.held.remove(index);
                }
            }
            Op::ReleaseAll => {
                self.held.clear();
                self.model.held.clear();
            }
        }
    }
}

/// Runs `scenario` on a real slab and on the model, checking after every op.
///
/// # Panics
/// On the first disagreement, with the scenario's configuration and op trace.
pub fn run(scenario: Scenario) -> Summary {
    let head = ScenarioHead {
        policy: scenario.policy,
        capacity: scenario.capacity,
        reader_slots: scenario.reader_slots,
        width: scenario.width,
        height: scenario.height,
        queue_on_demand: scenario.queue_on_demand,
    };
    let layout = FrameLayout::new(head.width, head.height, PixelFormat::Gray8)
        .expect("a small Gray8 layout is valid");
    let (mut producer, consumer, reader) = slab::new(
        SlabConfig::new(layout)
            .stream_id("model")
            .capacity(head.capacity)
            .policy(head.policy)
            .reader_slots(head.reader_slots)
            .queue_on_demand(head.queue_on_demand),
    )
    .expect("a valid slab config");
    let mut h = Harness {
        consumer,
        reader,
        held: Vec::new(),
        model: Model::new(
            head.policy,
            head.capacity,
            head.reader_slots,
            layout.len(),
            head.queue_on_demand,
        ),
        base: Instant::now(),
        head,
        ops: Vec::with_capacity(scenario.ops.len()),
        max_stride: 0,
        committed_while_open: 0,
    };
    h.check(Some(&producer));

    let mut ops = scenario.ops.iter().copied().peekable();
    while let Some(op) = ops.next() {
        h.ops.push(op);
        match op {
            Op::Write {
                via_planes,
                abandon,
            } => h.write(&mut producer, via_planes, abandon),
            Op::Burst { n } => {
                for _ in 0..=n % 16 {
                    h.write(&mut producer, false, false);
                    h.check(Some(&producer));
                }
            }
            Op::Begin { via_planes } => {
                if let Some(mut writer) = h.begin(&mut producer) {
                    h.fill(&mut writer, via_planes);
                    h.check(None);
                    let opened_at = h.ops.len();
                    loop {
                        let open_across_ops = h.ops.len() > opened_at;
                        match ops.peek().copied() {
                            Some(Op::Commit) => {
                                h.ops.push(ops.next().unwrap());
                                h.committed_while_open += u64::from(open_across_ops);
                                h.commit(writer);
                                break;
                            }
                            Some(Op::Abandon) => {
                                h.ops.push(ops.next().unwrap());
                                h.abandon(writer);
                                break;
                            }
                            Some(op) if !op.uses_producer() => {
                                h.ops.push(ops.next().unwrap());
                                h.apply(op);
                                h.check(None);
                            }
                            // A producer op or the end: commit first.
                            _ => {
                                h.committed_while_open += u64::from(open_across_ops);
                                h.commit(writer);
                                break;
                            }
                        }
                    }
                }
            }
            Op::Commit | Op::Abandon => {}
            other => h.apply(other),
        }
        h.check(Some(&producer));
    }
    // Everything released: only the queue and the latest snapshot hold slots, so
    // one more frame always gets one.
    h.held.clear();
    h.model.held.clear();
    h.ops.push(Op::Write {
        via_planes: false,
        abandon: false,
    });
    let no_free_slot = h.model.dropped.no_free_slot;
    h.write(&mut producer, false, false);
    h.check(Some(&producer));
    assert_eq!(
        h.model.dropped.no_free_slot,
        no_free_slot,
        "NoFreeSlot with nothing held{}",
        h.trace()
    );
    Summary {
        stats: h.model.stats_with(h.reader.stats().slots_written),
        ops: h.ops.len(),
        max_stride: h.max_stride,
        committed_while_open: h.committed_while_open,
    }
}

/// What a run exercised, so tests can check that the generator reaches every
/// outcome.
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    /// The final stats (equal in slab and model).
    pub stats: SlabStats,
    pub ops: usize,
    /// The largest `Sample` stride reached, in nanoseconds.
    pub max_stride: i64,
    /// Commits of writers that stayed open across at least one other op.
    pub committed_while_open: u64,
}
