//! A fixed-bucket latency histogram the worker records into with one relaxed
//! increment per frame, and any thread reads (metrics, `bench`); and the
//! per-frame stage latencies recorded with it ([`StageLatency`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::slab::StageTimes;

/// Upper bounds of the buckets, in microseconds (a last, unbounded bucket
/// follows). From 5 µs: the hand-off to the slab takes well under one.
const BOUNDS_US: [u64; 19] = [
    5, 10, 25, 50, 100, 250, 500, 1_000, 2_000, 3_000, 5_000, 7_500, 10_000, 15_000, 25_000,
    50_000, 100_000, 250_000, 1_000_000,
];

/// Counts per bucket, written by one thread. Relaxed: independent statistics.
#[derive(Default)]
pub(crate) struct LatencyRecorder {
    counts: [AtomicU64; BOUNDS_US.len() + 1],
    sum_ns: AtomicU64,
}

impl LatencyRecorder {
    pub(crate) fn record(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        let bucket = BOUNDS_US.partition_point(|&bound| bound < micros);
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.sum_ns.fetch_add(nanos, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> LatencyHistogram {
        LatencyHistogram {
            counts: std::array::from_fn(|index| self.counts[index].load(Ordering::Relaxed)),
            sum: Duration::from_nanos(self.sum_ns.load(Ordering::Relaxed)),
        }
    }
}

/// A copy of a latency histogram: how many samples fell at or below each bound.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LatencyHistogram {
    counts: [u64; BOUNDS_US.len() + 1],
    sum: Duration,
}

impl LatencyHistogram {
    /// `(upper bound, samples in this bucket)`, the last bound being `None` (∞).
    pub fn buckets(&self) -> impl Iterator<Item = (Option<Duration>, u64)> + '_ {
        BOUNDS_US
            .iter()
            .map(|&bound| Some(Duration::from_micros(bound)))
            .chain(std::iter::once(None))
            .zip(self.counts.iter().copied())
    }

    /// Adds `other`'s samples to these (to sum the histograms of many streams).
    pub fn add(&mut self, other: &LatencyHistogram) {
        for (count, more) in self.counts.iter_mut().zip(other.counts) {
            *count += more;
        }
        self.sum += other.sum;
    }

    /// Samples recorded.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The sum of every sample.
    pub fn sum(&self) -> Duration {
        self.sum
    }

    /// The upper bound of the bucket holding quantile `q` (0 ..= 1): an upper
    /// estimate, exact to the bucket. `None` with no samples, or beyond the
    /// largest bound.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let count = self.count();
        if count == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (bound, samples) in self.buckets() {
            seen += samples;
            if seen >= rank {
                return bound;
            }
        }
        None
    }
}

/// Where a published frame's time went inside the engine, stage by stage
/// (each frame's [`StageTimes`]): `receive → decode → convert → publish`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StageLatency {
    /// From the packet that completed the frame arriving to the decoder
    /// giving the picture out.
    pub decode: LatencyHistogram,
    /// From the decoded picture to its pixels being in the slot (format
    /// conversion and resize).
    pub convert: LatencyHistogram,
    /// From the converted slot to the frame being published (the slab's
    /// commit: under a microsecond).
    pub publish: LatencyHistogram,
}

impl StageLatency {
    /// The stages with their names (as in metrics' `stage` label), in order.
    pub fn by_stage(&self) -> [(&'static str, &LatencyHistogram); 3] {
        [
            ("decode", &self.decode),
            ("convert", &self.convert),
            ("publish", &self.publish),
        ]
    }

    /// Adds `other`'s samples to these.
    pub fn add(&mut self, other: &StageLatency) {
        self.decode.add(&other.decode);
        self.convert.add(&other.convert);
        self.publish.add(&other.publish);
    }
}

/// The recorders behind a [`StageLatency`].
#[derive(Default)]
pub(crate) struct StageRecorder {
    decode: LatencyRecorder,
    convert: LatencyRecorder,
    publish: LatencyRecorder,
}

impl StageRecorder {
    /// Records a frame received at `received`, through `stages`, published at
    /// `published`; a stage without its time is not recorded.
    pub(crate) fn record(&self, received: Instant, stages: StageTimes, published: Instant) {
        if let Some(decoded) = stages.decoded {
            self.decode
                .record(decoded.saturating_duration_since(received));
            if let Some(converted) = stages.converted {
                self.convert
                    .record(converted.saturating_duration_since(decoded));
            }
        }
        if let Some(converted) = stages.converted {
            self.publish
                .record(published.saturating_duration_since(converted));
        }
    }

    pub(crate) fn snapshot(&self) -> StageLatency {
        StageLatency {
            decode: self.decode.snapshot(),
            convert: self.convert.snapshot(),
            publish: self.publish.snapshot(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_land_in_their_buckets_and_quantiles_read_back() {
        let recorder = LatencyRecorder::default();
        for micros in [100, 250, 251, 4_000, 4_000, 2_000_000] {
            recorder.record(Duration::from_micros(micros));
        }
        let histogram = recorder.snapshot();
        assert_eq!(histogram.count(), 6);
        let counts: Vec<u64> = histogram.buckets().map(|(_, n)| n).collect();
        let bucket = |micros| BOUNDS_US.iter().position(|&b| b == micros).unwrap();
        assert_eq!(counts[bucket(100)], 1, "100 µs is in (50, 100] µs");
        assert_eq!(counts[bucket(250)], 1, "250 µs is in (100, 250] µs");
        assert_eq!(counts[bucket(500)], 1);
        assert_eq!(counts[bucket(5_000)], 2, "4 ms is in (3, 5] ms");
        assert_eq!(*counts.last().unwrap(), 1);
        assert_eq!(histogram.quantile(0.5), Some(Duration::from_micros(500)));
        assert_eq!(histogram.quantile(0.8), Some(Duration::from_millis(5)));
        assert_eq!(histogram.quantile(1.0), None);
        assert_eq!(histogram.sum(), Duration::from_micros(2_008_601));
        let mut total = LatencyHistogram::default();
        total.add(&histogram);
        total.add(&histogram);
        assert_eq!(
            (total.count(), total.quantile(0.5)),
            (12, Some(Duration::from_micros(500)))
        );
    }

    #[test]
    fn stages_split_a_frames_time() {
        let recorder = StageRecorder::default();
        let received = Instant::now();
        let at = |micros| received + Duration::from_micros(micros);
        let stages = StageTimes {
            decoded: Some(at(800)),
            converted: Some(at(1_100)),
        };
        recorder.record(received, stages, at(1_102));
        recorder.record(received, StageTimes::default(), at(5));
        let latency = recorder.snapshot();
        let only = |h: &LatencyHistogram| (h.count(), h.quantile(1.0));
        assert_eq!(
            only(&latency.decode),
            (1, Some(Duration::from_micros(1_000)))
        );
        assert_eq!(
            only(&latency.convert),
            (1, Some(Duration::from_micros(500)))
        );
        assert_eq!(only(&latency.publish), (1, Some(Duration::from_micros(5))));
        let names: Vec<&str> = latency.by_stage().iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ["decode", "convert", "publish"]);
    }
}
