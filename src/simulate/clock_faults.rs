//! A camera whose clocks misbehave, applied to the packets as they leave:
//! `rtp-ts-jump` moves the RTP timestamps of every video packet (and of the
//! RTCP sender reports, which follow the RTP clock) by an amount from some
//! time after `PLAY` on; `sr-clock-step` moves the NTP wall clock of the
//! sender reports (an NTP resync of the camera's clock).

use std::time::Duration;

use super::faults::{ClockStep, Faults};
use crate::ffmpeg::RTP_CLOCK_RATE;

/// RTCP packet type of a sender report.
const RTCP_SR: u8 = 200;

/// Rewrites one outgoing video packet (RTP or an RTCP compound) sent `since`
/// after `PLAY`, per the camera's clock faults.
pub(crate) fn apply(faults: &Faults, packet: &mut [u8], rtcp: bool, since: Duration) {
    let rtp_shift = faults
        .rtp_ts_jump
        .filter(|jump| since >= jump.after)
        .map_or(0, |jump| rtp_ticks(&jump));
    let wall_shift = faults
        .sr_clock_step
        .filter(|step| since >= step.after)
        .map_or(0, |step| ntp_units(&step));
    if !rtcp {
        if rtp_shift != 0 && packet.len() >= 12 {
            shift_u32(&mut packet[4..8], rtp_shift);
        }
        return;
    }
    // Sender reports may be anywhere in the compound; walk its packets.
    let mut at = 0;
    while at + 4 <= packet.len() {
        let words = usize::from(u16::from_be_bytes([packet[at + 2], packet[at + 3]]));
        let end = at + 4 * (words + 1);
        if end > packet.len() {
            return;
        }
        if packet[at + 1] == RTCP_SR && end - at >= 20 {
            if wall_shift != 0 {
                shift_u64(&mut packet[at + 8..at + 16], wall_shift);
            }
            if rtp_shift != 0 {
                shift_u32(&mut packet[at + 16..at + 20], rtp_shift);
            }
        }
        at = end;
    }
}

/// The step in 90 kHz RTP ticks (wrapping, as a 32-bit timestamp).
fn rtp_ticks(step: &ClockStep) -> i64 {
    let ticks = i64::try_from(
        step.amount.as_micros() * u128::try_from(RTP_CLOCK_RATE).unwrap_or(90_000) / 1_000_000,
    )
    .unwrap_or(i64::MAX / 2);
    if step.backward {
        -ticks
    } else {
        ticks
    }
}

/// The step in NTP units (2⁻³² s).
fn ntp_units(step: &ClockStep) -> i64 {
    let units =
        i64::try_from((step.amount.as_nanos() << 32) / 1_000_000_000).unwrap_or(i64::MAX / 2);
    if step.backward {
        -units
    } else {
        units
    }
}

fn shift_u32(field: &mut [u8], by: i64) {
    let value = u32::from_be_bytes([field[0], field[1], field[2], field[3]]);
    // Truncation wanted: RTP timestamps wrap at 2³².
    let shifted = value.wrapping_add(by as u32);
    field.copy_from_slice(&shifted.to_be_bytes());
}

fn shift_u64(field: &mut [u8], by: i64) {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(field);
    let shifted = u64::from_be_bytes(bytes).wrapping_add_signed(by);
    field.copy_from_slice(&shifted.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults(spec: &str) -> Faults {
        spec.parse().unwrap()
    }

    fn rtp(timestamp: u32) -> Vec<u8> {
        let mut packet = vec![0x80, 96, 0, 1];
        packet.extend_from_slice(&timestamp.to_be_bytes());
        packet.extend_from_slice(&[0; 8]);
        packet
    }

    /// An RR-less compound: one sender report (7 words after the header).
    fn sender_report(ntp: u64, rtp: u32) -> Vec<u8> {
        let mut packet = vec![0x80, RTCP_SR, 0, 6, 1, 2, 3, 4];
        packet.extend_from_slice(&ntp.to_be_bytes());
        packet.extend_from_slice(&rtp.to_be_bytes());
        packet.extend_from_slice(&[0; 8]);
        packet
    }

    fn timestamp(packet: &[u8], at: usize) -> u32 {
        u32::from_be_bytes(packet[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn rtp_timestamps_jump_after_the_time() {
        let faults = faults("rtp-ts-jump=2s:10s");
        let mut before = rtp(1000);
        apply(&faults, &mut before, false, Duration::from_secs(1));
        assert_eq!(timestamp(&before, 4), 1000);
        let mut after = rtp(u32::MAX - 10);
        apply(&faults, &mut after, false, Duration::from_secs(2));
        assert_eq!(timestamp(&after, 4), (u32::MAX - 10).wrapping_add(900_000));
        let mut report = sender_report(5 << 32, 1000);
        apply(&faults, &mut report, true, Duration::from_secs(3));
        assert_eq!(
            timestamp(&report, 16),
            901_000,
            "the report follows the RTP clock"
        );
        assert_eq!(
            u64::from_be_bytes(report[8..16].try_into().unwrap()),
            5 << 32
        );
    }

    #[test]
    fn the_report_wall_clock_steps_back() {
        let faults = faults("sr-clock-step=1s:-30s");
        let mut report = sender_report(100 << 32, 1000);
        apply(&faults, &mut report, true, Duration::from_millis(999));
        assert_eq!(
            u64::from_be_bytes(report[8..16].try_into().unwrap()),
            100 << 32
        );
        apply(&faults, &mut report, true, Duration::from_secs(1));
        assert_eq!(
            u64::from_be_bytes(report[8..16].try_into().unwrap()),
            70 << 32
        );
        assert_eq!(timestamp(&report, 16), 1000);
        let mut packet = rtp(7);
        apply(&faults, &mut packet, false, Duration::from_secs(5));
        assert_eq!(timestamp(&packet, 4), 7, "RTP packets are left alone");
    }
}
