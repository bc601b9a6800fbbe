//! Keeps the capture times a session publishes monotonic and plausible when
//! the camera's clock is not: the source's raw capture time (RTP timestamp
//! mapped to wall time by the RTCP sender reports, see
//! [`PacketSource::capture_time`](super::source::PacketSource::capture_time))
//! jumps when the camera's RTP timestamps jump or its wall clock steps (an
//! NTP resync). [`CaptureClock`] owns the correction: it compares each raw
//! time with what the frame's receive instant predicts, and on a
//! discontinuity re-anchors to the receive-time-based estimate, counting the
//! step instead of publishing a wrong time.
//!
//! The prediction is `receive wall time + offset`, where the offset is the
//! largest `capture − receive` seen so far (the least-delayed frame: the
//! best estimate of the clocks' offset plus the network's minimum delay). A
//! frame received late (a buffered burst, a slow decoder) only lowers its own
//! `capture − receive`, so it is never mistaken for a step; a capture time
//! ahead of the prediction by more than the bound, or behind the last
//! published one, is.

use std::time::{Duration, Instant, SystemTime};

/// How far a capture time may run ahead of what its receive time predicts
/// before it counts as a step.
pub(crate) const STEP_BOUND: Duration = Duration::from_secs(2);

/// One session's capture-time corrector.
#[derive(Debug)]
pub(crate) struct CaptureClock {
    bound: Duration,
    /// Our wall clock and monotonic clock read together: receive instants
    /// become wall times through it, immune to our own clock's steps.
    anchor: (SystemTime, Instant),
    /// Added to every raw capture time, in nanoseconds (either sign).
    correction: i128,
    /// The largest corrected `capture − receive` seen, in nanoseconds.
    offset: Option<i128>,
    /// The last capture time handed out, in nanoseconds since the Unix epoch.
    last: Option<i128>,
}

/// A re-anchoring, for the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    /// How far the raw capture time was from the estimate (positive: ahead).
    pub(crate) jump_ns: i128,
}

impl CaptureClock {
    /// A clock whose receive instants are dated by `anchor` (our wall time and
    /// monotonic time read together).
    pub(crate) fn new(bound: Duration, anchor: (SystemTime, Instant)) -> Self {
        Self {
            bound,
            anchor,
            correction: 0,
            offset: None,
            last: None,
        }
    }

    /// A clock anchored now, with [`STEP_BOUND`].
    pub(crate) fn starting_now() -> Self {
        Self::new(STEP_BOUND, (SystemTime::now(), Instant::now()))
    }

    /// The capture time to publish for a frame the source dates `raw`,
    /// received at `received`, and the step it revealed, if any.
    pub(crate) fn stamp(
        &mut self,
        raw: Option<SystemTime>,
        received: Instant,
    ) -> (Option<SystemTime>, Option<Step>) {
        let Some(raw) = raw.and_then(unix_nanos) else {
            return (None, None);
        };
        let received = self.received_nanos(received);
        let corrected = raw + self.correction;
        let estimate = self.offset.map(|offset| received + offset);
        let bound = i128::try_from(self.bound.as_nanos()).unwrap_or(i128::MAX);
        let backwards = self.last.is_some_and(|last| corrected < last);
        let ahead = estimate.is_some_and(|estimate| corrected - estimate > bound);
        let (time, step) = match estimate {
            Some(estimate) if backwards || ahead => {
                // Never before the last published time.
                let time = estimate.max(self.last.unwrap_or(i128::MIN));
                self.correction = time - raw;
                (
                    time,
                    Some(Step {
                        jump_ns: corrected - estimate,
                    }),
                )
            }
            _ => (corrected, None),
        };
        let observed = time - received;
        self.offset = Some(self.offset.map_or(observed, |offset| offset.max(observed)));
        self.last = Some(time);
        (from_unix_nanos(time), step)
    }

    fn received_nanos(&self, received: Instant) -> i128 {
        let (wall, instant) = self.anchor;
        let base = unix_nanos(wall).unwrap_or(0);
        match received.checked_duration_since(instant) {
            Some(after) => base + i128::try_from(after.as_nanos()).unwrap_or(0),
            None => base - i128::try_from((instant - received).as_nanos()).unwrap_or(0),
        }
    }
}

fn unix_nanos(time: SystemTime) -> Option<i128> {
    let since = time.duration_since(SystemTime::UNIX_EPOCH).ok()?;
    i128::try_from(since.as_nanos()).ok()
}

fn from_unix_nanos(nanos: i128) -> Option<SystemTime> {
    let nanos = u64::try_from(nanos).ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_nanos(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: Duration = Duration::from_millis(40);

    /// A camera 1.5 s behind our clock with a 20 ms network delay; frame `n`
    /// is captured at `n × 40 ms` and received 20 ms later.
    struct Camera {
        clock: CaptureClock,
        start: Instant,
        wall: SystemTime,
    }

    impl Camera {
        fn new() -> Self {
            let (wall, start) = (
                SystemTime::UNIX_EPOCH + Duration::from_secs(1 << 30),
                Instant::now(),
            );
            Self {
                clock: CaptureClock::new(STEP_BOUND, (wall, start)),
                start,
                wall,
            }
        }

        /// Frame `n` dated `raw_shift` off the truth, received `late` late.
        fn frame(&mut self, n: u32, raw_shift: i64, late: Duration) -> (SystemTime, bool) {
            let captured = self.wall + FRAME * n - Duration::from_millis(1500);
            let raw = if raw_shift >= 0 {
                captured + Duration::from_millis(raw_shift.unsigned_abs())
            } else {
                captured - Duration::from_millis(raw_shift.unsigned_abs())
            };
            let received = self.start + FRAME * n + Duration::from_millis(20) + late;
            let (time, step) = self.clock.stamp(Some(raw), received);
            (time.unwrap(), step.is_some())
        }

        fn truth(&self, n: u32) -> SystemTime {
            self.wall + FRAME * n - Duration::from_millis(1500)
        }
    }

    fn off(a: SystemTime, b: SystemTime) -> Duration {
        a.duration_since(b).unwrap_or_else(|e| e.duration())
    }

    #[test]
    fn a_steady_clock_passes_through_untouched() {
        let mut camera = Camera::new();
        for n in 0..100 {
            let (time, step) = camera.frame(n, 0, Duration::ZERO);
            assert!(!step, "frame {n}");
            assert_eq!(time, camera.truth(n));
        }
    }

    #[test]
    fn a_forward_jump_is_flagged_and_re_anchored() {
        let mut camera = Camera::new();
        let mut last = None;
        let mut steps = 0;
        for n in 0..100 {
            let shift = if n >= 50 { 10_000 } else { 0 };
            let (time, step) = camera.frame(n, shift, Duration::ZERO);
            steps += u32::from(step);
            assert!(
                off(time, camera.truth(n)) <= FRAME,
                "frame {n} off the truth"
            );
            assert!(
                last.is_none_or(|last| time > last),
                "frame {n} not monotonic"
            );
            last = Some(time);
        }
        assert_eq!(steps, 1);
    }

    #[test]
    fn a_backward_step_is_flagged_and_never_goes_back() {
        let mut camera = Camera::new();
        let mut last = None;
        let mut steps = 0;
        for n in 0..100 {
            let shift = if n >= 30 { -30_000 } else { 0 };
            let (time, step) = camera.frame(n, shift, Duration::ZERO);
            steps += u32::from(step);
            assert!(
                off(time, camera.truth(n)) <= FRAME,
                "frame {n} off the truth"
            );
            assert!(
                last.is_none_or(|last| time >= last),
                "frame {n} not monotonic"
            );
            last = Some(time);
        }
        assert_eq!(steps, 1);
    }

    #[test]
    fn a_jump_undone_later_is_two_steps_and_ends_on_the_truth() {
        // Native client: RTP timestamps jump, then the next sender report
        // maps the new timestamps right again.
        let mut camera = Camera::new();
        let mut steps = 0;
        for n in 0..150 {
            let shift = if (50..100).contains(&n) { 10_000 } else { 0 };
            let (time, step) = camera.frame(n, shift, Duration::ZERO);
            steps += u32::from(step);
            assert!(
                off(time, camera.truth(n)) <= FRAME,
                "frame {n} off the truth"
            );
        }
        assert_eq!(steps, 2);
    }

    #[test]
    fn late_frames_are_not_steps() {
        // A 1.5 s hiccup, then the buffered frames arrive in a burst.
        let mut camera = Camera::new();
        for n in 0..100 {
            let late = match n {
                40..=77 => FRAME * (77 - n) + Duration::from_millis(20),
                _ => Duration::ZERO,
            };
            let (time, step) = camera.frame(n, 0, late);
            assert!(!step, "frame {n}");
            assert_eq!(time, camera.truth(n));
        }
    }

    #[test]
    fn no_raw_time_is_no_time() {
        let mut clock = CaptureClock::starting_now();
        assert_eq!(clock.stamp(None, Instant::now()), (None, None));
        let now = SystemTime::now();
        assert_eq!(clock.stamp(Some(now), Instant::now()).0, Some(now));
    }
}
