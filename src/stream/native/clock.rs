//! The camera's wall clock from its RTCP sender reports: each report pairs an
//! NTP time with an RTP timestamp, so a frame's capture time is the report's
//! time moved by the frame's RTP distance from it.

use std::time::{Duration, SystemTime};

use crate::ffmpeg::Rational;

/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_TO_UNIX: u64 = 2_208_988_800;

/// The last sender report: `rtp` (in the stream's extended timestamp units,
/// counted from its start like frame pts) was `wall` on the camera's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct SenderClock {
    rtp: i64,
    wall: SystemTime,
}

impl SenderClock {
    /// From a report's 64-bit NTP timestamp (32.32 fixed point) and its RTP
    /// timestamp; `None` for an NTP time before 1970 (an unset camera clock).
    pub(super) fn new(ntp: u64, rtp: i64) -> Option<Self> {
        let seconds = (ntp >> 32).checked_sub(NTP_TO_UNIX)?;
        let nanos = ((ntp & 0xffff_ffff) * 1_000_000_000) >> 32;
        let wall = SystemTime::UNIX_EPOCH.checked_add(Duration::new(seconds, nanos as u32))?;
        Some(Self { rtp, wall })
    }

    /// The capture time of the frame stamped `pts` (`time_base` units).
    pub(super) fn at(&self, pts: i64, time_base: Rational) -> Option<SystemTime> {
        crate::stream::session::offset_time(self.wall, pts - self.rtp, time_base)
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
    fn a_frame_is_dated_from_the_report_by_its_rtp_distance() {
        // 2026-01-01T00:00:00Z plus half a second, in NTP.
        let unix = 1_767_225_600u64;
        let ntp = ((unix + NTP_TO_UNIX) << 32) | (1 << 31);
        let clock = SenderClock::new(ntp, 9_000).unwrap();
        let at = |pts| {
            clock
                .at(pts, RTP_90K)
                .unwrap()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
        };
        assert_eq!(at(9_000), Duration::new(unix, 500_000_000));
        assert_eq!(at(9_000 + 3_600), Duration::new(unix, 540_000_000));
        assert_eq!(at(9_000 - 45_000), Duration::new(unix, 0));
    }

    #[test]
    fn a_clock_before_1970_is_no_clock() {
        assert_eq!(SenderClock::new(1 << 32, 0), None);
    }
}
