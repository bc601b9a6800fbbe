//! `DropPolicy::Sample`'s plan: which queued frames to keep when a new one comes,
//! so the queue stays an even sample in time of the span since it was last empty.
//!
//! Time is cut into cells of `stride` nanoseconds from the span's origin (the
//! first frame after the queue was last found empty, by `clear` or by the
//! consumer taking everything). The queue keeps the first frame of each cell it
//! has seen, plus the newest frame, which may share its cell with the one before
//! ("provisional": replaced by the next frame). When the queue is full the
//! stride doubles (the first time, it is set from the span) and the queue is
//! thinned to the first frame of each wider cell, in one step
//! ([`Ring::rebuild`](super::ring::Ring::rebuild)). While the queue has room and
//! its tail is not provisional, a new frame is simply pushed: thinning costs
//! O(queue) only when the stride changes or a provisional tail is replaced.
//!
//! Planning changes nothing: a plan whose rebuild loses its CAS to the consumer
//! (a pop, a clear, a pin) is simply made again from the queue as it now is.
//! The stride a plan widened to takes effect only once its rebuild lands
//! ([`Sampler::record_rebuild`]), and a new span begins when a push lands in
//! an empty queue ([`Sampler::record_push`]), whether the plan saw it empty or
//! the consumer emptied it between the plan and the push. So every outcome is
//! that of the plan made against the queue the commit's CAS replaced.
//!
//! The sample time is a clock the producer keeps: it advances by the pts
//! difference between consecutive frames when that is plausible (not backwards,
//! not more than a second past the arrival-time difference) and by the arrival
//! time difference otherwise, so a reconnect that resets the pts, a camera clock
//! step or a frame without pts take no room and never reorder the sample.

use std::time::Instant;

use super::frame::FrameInfo;
use super::ring::{Cursor, Ring};

/// How much further the pts may jump than the arrival time before the arrival
/// time is trusted instead.
const PTS_SLACK_NS: i64 = 1_000_000_000;

/// What to do with the new frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Append it: the queue has room and nothing needs to go.
    Push,
    /// Rebuild the queue as [`Sampler::keep`] followed by the new frame.
    Rebuild,
}

/// The producer's sampling state. Nothing here is shared: the producer alone
/// plans, and the times it reads are the ones it recorded when it wrote each
/// cell (the ring's cells and this table are indexed alike).
pub(crate) struct Sampler {
    /// The sample time of the frame each ring cell refers to.
    times: Box<[i64]>,
    capacity: usize,
    /// The sample time of the span's first frame.
    origin: i64,
    /// Cell width in nanoseconds that the queue is thinned to; 0 while every
    /// frame is kept.
    stride: i64,
    /// The cell width the last plan thins to: `stride`, or wider when the queue
    /// was full. Becomes `stride` only when that plan's rebuild lands.
    planned_stride: i64,
    /// Positions of the queued frames to keep, oldest first (allocated once).
    keep: Vec<u32>,
    clock: SampleClock,
}

impl Sampler {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            times: vec![0; Ring::cell_count(capacity)].into_boxed_slice(),
            capacity,
            origin: 0,
            stride: 0,
            planned_stride: 0,
            keep: Vec::with_capacity(capacity),
            clock: SampleClock::default(),
        }
    }

    /// The sample time of a frame about to be committed (call once per frame).
    pub(crate) fn time(&mut self, info: &FrameInfo) -> i64 {
        self.clock.tick(info.pts_ns, info.received)
    }

    /// The positions to keep after [`Plan::Rebuild`].
    pub(crate) fn keep(&self) -> &[u32] {
        &self.keep
    }

    /// The stride the last plan thins to, in nanoseconds (0: every frame is kept).
    #[cfg(test)]
    pub(crate) fn planned_stride(&self) -> i64 {
        self.planned_stride
    }

    /// Records that the frame at `time` was pushed onto the queue `before` (the
    /// queue its push replaced), so it sits at `before.tail`. Onto an empty
    /// queue, it begins a new span, even if the plan saw frames that the
    /// consumer took or cleared before the push landed.
    pub(crate) fn record_push(&mut self, ring: &Ring, before: Cursor, time: i64) {
        if before.len() == 0 {
            self.origin = time;
            self.stride = 0;
        }
        self.times[ring.cell_index(before.tail)] = time;
    }

    /// Records the last plan's rebuild from `current`: the kept frames moved to
    /// the positions from `current.tail` on, the new frame at `time` follows
    /// them, and the plan's stride is now the queue's.
    pub(crate) fn record_rebuild(&mut self, ring: &Ring, current: Cursor, time: i64) {
        self.stride = self.planned_stride;
        let mut to = current.tail;
        for index in 0..self.keep.len() {
            let from = self.keep[index];
            self.times[ring.cell_index(to)] = self.times[ring.cell_index(from)];
            to = Cursor::advance(to, 1);
        }
        self.times[ring.cell_index(to)] = time;
    }

    /// Plans where a frame at `time` goes in the queue `current`. Changes only
    /// the plan ([`keep`](Self::keep), `planned_stride`), never the span: a plan
    /// whose rebuild loses its CAS leaves no trace.
    pub(crate) fn plan(&mut self, ring: &Ring, current: Cursor, time: i64) -> Plan {
        self.planned_stride = self.stride;
        if current.len() == 0 {
            // Empty (cleared, or taken to the last frame): a new span begins
            // once the push lands (`record_push`).
            return Plan::Push;
        }
        if self.capacity == 1 {
            self.keep.clear();
            return Plan::Rebuild;
        }
        let tail = Cursor::retreat(current.tail);
        let time_at = |position: u32| self.times[ring.cell_index(position)];
        let provisional_tail = current.len() >= 2
            && self.planned_stride > 0
            && self.cell(time_at(tail)) == self.cell(time_at(Cursor::retreat(tail)));
        if !provisional_tail && (current.len() as usize) < self.capacity {
            return Plan::Push;
        }
        loop {
            self.fill_keep(ring, current);
            if self.keep.len() < self.capacity {
                return Plan::Rebuild;
            }
            self.widen(time);
        }
    }

    /// The cell of sample time `time` at the planned stride (only meaningful
    /// while it is above 0).
    fn cell(&self, time: i64) -> i64 {
        (time - self.origin).div_euclid(self.planned_stride)
    }

    /// Keeps the first queued frame of each cell (every frame while the stride is 0).
    fn fill_keep(&mut self, ring: &Ring, current: Cursor) {
        self.keep.clear();
        let mut last_cell = None;
        for position in current.positions() {
            let time = self.times[ring.cell_index(position)];
            let cell = (self.planned_stride > 0).then(|| self.cell(time));
            if cell.is_none() || cell != last_cell {
                self.keep.push(position);
                last_cell = cell;
            }
        }
    }

    /// Doubles the stride; the first time, sets it so the span so far fills
    /// about half the queue. Only ever doubling keeps the cell boundaries
    /// nested: each new cell is two old ones, so its first frame is one the
    /// queue kept.
    fn widen(&mut self, time: i64) {
        if self.planned_stride > 0 {
            self.planned_stride = self.planned_stride.saturating_mul(2);
            return;
        }
        let span = time.saturating_sub(self.origin).max(0).unsigned_abs();
        let gaps = (self.capacity as u64).saturating_sub(1).max(1);
        let from_span = i64::try_from(span.saturating_mul(2).div_ceil(gaps)).unwrap_or(i64::MAX);
        self.planned_stride = from_span.max(1);
    }
}

/// The producer's sample clock (see the module docs).
#[derive(Default)]
struct SampleClock {
    last: Option<ClockReading>,
}

#[derive(Clone, Copy)]
struct ClockReading {
    pts_ns: Option<i64>,
    received: Instant,
    time: i64,
}

impl SampleClock {
    fn tick(&mut self, pts_ns: Option<i64>, received: Instant) -> i64 {
        let time = match self.last {
            None => 0,
            Some(last) => {
                let arrival =
                    i64::try_from(received.saturating_duration_since(last.received).as_nanos())
                        .unwrap_or(i64::MAX);
                let step = match (pts_ns, last.pts_ns) {
                    (Some(pts), Some(previous)) => {
                        let by_pts = pts.saturating_sub(previous);
                        if (0..=arrival.saturating_add(PTS_SLACK_NS)).contains(&by_pts) {
                            by_pts
                        } else {
                            arrival
                        }
                    }
                    _ => arrival,
                };
                last.time.saturating_add(step)
            }
        };
        self.last = Some(ClockReading {
            pts_ns,
            received,
            time,
        });
        time
    }
}

#[cfg(all(test, not(rtsp_ingest_loom)))]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn clock_follows_pts_and_bridges_discontinuities() {
        let mut clock = SampleClock::default();
        let start = Instant::now();
        assert_eq!(clock.tick(Some(5_000), start), 0);
        // Frames arriving in a burst are spaced by their pts.
        assert_eq!(clock.tick(Some(45_000), start), 40_000);
        // The pts resets (a reconnect) 2 s later: the arrival time bridges it.
        let later = start + Duration::from_secs(2);
        assert_eq!(clock.tick(Some(0), later), 40_000 + 2_000_000_000);
        // No pts: arrival time.
        let next = later + Duration::from_millis(40);
        assert_eq!(clock.tick(None, next), 40_000 + 2_040_000_000);
        // A pts jump far past the arrival time (a camera clock step) is ignored.
        let after = next + Duration::from_millis(40);
        assert_eq!(
            clock.tick(Some(3_600_000_000_000), after),
            40_000 + 2_080_000_000
        );
    }

    #[test]
    fn widen_sets_the_stride_from_the_span_then_doubles() {
        let mut sampler = Sampler::new(8);
        sampler.origin = 0;
        sampler.widen(280);
        assert_eq!(sampler.planned_stride(), 80);
        sampler.widen(900);
        assert_eq!(sampler.planned_stride(), 160);
    }
}
