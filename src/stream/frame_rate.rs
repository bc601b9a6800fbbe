//! The frame rate a camera really delivers, whatever its SDP declares
//! (`a=framerate`, which [`MediaInfo::fps`](super::MediaInfo::fps) shows):
//! the median interval between the presentation timestamps of the last
//! decoded frames, so one timestamp jump or a late frame does not move it.

use std::collections::VecDeque;

use crate::ffmpeg::Rational;

/// Intervals the median is taken over.
const WINDOW: usize = 50;
/// Intervals needed before a rate is given, and between two updates.
const EVERY: u64 = 10;

/// One session's frame-rate meter.
#[derive(Debug, Default)]
pub(crate) struct FrameRateMeter {
    last_pts_ns: Option<i128>,
    intervals: VecDeque<i128>,
    seen: u64,
}

impl FrameRateMeter {
    /// Notes a decoded frame stamped `pts` (`time_base` units); every
    /// [`EVERY`] frames, the measured rate in frames per second.
    pub(crate) fn observe(&mut self, pts: Option<i64>, time_base: Rational) -> Option<f64> {
        if time_base.den == 0 {
            return None;
        }
        let pts_ns = i128::from(pts?) * i128::from(time_base.num) * 1_000_000_000
            / i128::from(time_base.den);
        let previous = self.last_pts_ns.replace(pts_ns);
        let interval = pts_ns - previous?;
        if interval <= 0 {
            return None;
        }
        if self.intervals.len() == WINDOW {
            self.intervals.pop_front();
        }
        self.intervals.push_back(interval);
        self.seen += 1;
        if !self.seen.is_multiple_of(EVERY) {
            return None;
        }
        let mut sorted: Vec<i128> = self.intervals.iter().copied().collect();
        sorted.sort_unstable();
        let median = sorted[sorted.len() / 2];
        Some(1e9 / median as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RTP_90K: Rational = Rational {
        num: 1,
        den: 90_000,
    };

    #[test]
    fn measures_the_timestamps_not_the_declaration() {
        let mut meter = FrameRateMeter::default();
        let mut rate = None;
        // 25 fps (3600 ticks), with one 10 s jump and one repeated stamp.
        let mut pts = 0i64;
        for n in 0..40 {
            pts += if n == 17 { 900_000 } else { 3_600 };
            rate = meter.observe(Some(pts), RTP_90K).or(rate);
            if n == 25 {
                assert_eq!(meter.observe(Some(pts), RTP_90K), None);
            }
        }
        let rate = rate.unwrap();
        assert!((rate - 25.0).abs() < 1e-9, "{rate}");
    }

    #[test]
    fn no_rate_before_enough_frames_or_without_timestamps() {
        let mut meter = FrameRateMeter::default();
        for n in 0..9 {
            assert_eq!(meter.observe(Some(n * 3_000), RTP_90K), None);
        }
        assert_eq!(meter.observe(None, RTP_90K), None);
        assert_eq!(meter.observe(Some(1), Rational { num: 1, den: 0 }), None);
    }
}
