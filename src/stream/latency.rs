//! A fixed-bucket latency histogram the worker records into with one relaxed
//! increment per frame, and any thread reads (metrics, `bench`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the buckets, in microseconds (a last, unbounded bucket follows).
const BOUNDS_US: [u64; 14] = [
    250, 500, 1_000, 2_000, 3_000, 5_000, 7_500, 10_000, 15_000, 25_000, 50_000, 100_000, 250_000,
    1_000_000,
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
        assert_eq!(counts[0], 2, "100 µs and 250 µs are ≤ 250 µs");
        assert_eq!(counts[1], 1);
        assert_eq!(counts[5], 2, "4 ms is in (3, 5] ms");
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
}
