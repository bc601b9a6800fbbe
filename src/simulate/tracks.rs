//! The tracks a simulated camera offers beside its video, as many cameras do:
//! an audio track ([`AudioCodec`]: G.711 A-law or AAC, a quiet 440 Hz tone
//! encoded once at start with FFmpeg's `pcm_alaw` / `aac` encoders and
//! packetized by FFmpeg's RTP muxer) and an ONVIF metadata track (small XML
//! `tt:MetadataStream` documents, packetized here, ONVIF Streaming spec
//! §5.2.1.1). Each track has its SDP media section and its control path
//! (`streamid=N`, set up like the video's).

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use crate::error::{Error, ErrorKind, Result};
use crate::ffmpeg::{
    AudioEncoder, AudioEncoderOptions, CodecParameters, EncodeOutcome, Packet, RtpMuxer,
    RtpMuxerOptions, SendOutcome, RTP_CLOCK_RATE,
};
use crate::names::named_enum;

/// The video's track (control `streamid=0`).
pub(crate) const VIDEO_TRACK: usize = 0;
/// The audio track's control is `streamid=1`.
pub(crate) const AUDIO_TRACK: usize = 1;
/// The metadata track's control is `streamid=2`.
pub(crate) const METADATA_TRACK: usize = 2;

/// The audio track's RTP payload type when the codec has no static one (AAC).
const AUDIO_PAYLOAD_TYPE: u8 = 97;
/// The metadata track's RTP payload type.
pub(crate) const METADATA_PAYLOAD_TYPE: u8 = 107;
/// How often the metadata track sends a document.
pub(crate) const METADATA_INTERVAL: Duration = Duration::from_millis(500);

named_enum! {
    /// The codec of a simulated camera's audio track.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    #[non_exhaustive]
    pub enum AudioCodec {
        /// G.711 A-law (`PCMA/8000`, static payload type 8), 20 ms packets.
        Alaw = "alaw",
        /// AAC-LC at 16 kHz (`MPEG4-GENERIC/16000/1`, RFC 3640 AAC-hbr),
        /// payload type 97.
        Aac = "aac",
    }
    display;
    parse "audio codec";
}

impl AudioCodec {
    fn encoder_options(self) -> AudioEncoderOptions {
        match self {
            AudioCodec::Alaw => AudioEncoderOptions::default(),
            AudioCodec::Aac => AudioEncoderOptions::default()
                .codec("aac")
                .sample_rate(16_000)
                .bit_rate(32_000),
        }
    }
}

/// The `a=control` value of track `track`.
pub(crate) fn control(track: usize) -> String {
    format!("streamid={track}")
}

/// One encoded audio frame of the loop.
#[derive(Debug)]
pub(crate) struct AudioFrame {
    pub(crate) data: Box<[u8]>,
    /// In samples from the loop's start.
    pub(crate) pts: i64,
}

/// The encoded audio every session loops, with continuous timestamps.
#[derive(Debug)]
pub(crate) struct AudioClip {
    /// The payload type to ask of the muxer (AAC has no static one).
    payload_type: Option<u8>,
    pub(crate) frames: Vec<AudioFrame>,
    /// Samples per second (the RTP clock).
    pub(crate) rate: i64,
    /// One loop in samples.
    pub(crate) duration: i64,
    pub(crate) params: CodecParameters,
    /// The `m=audio` section, control `streamid=1`.
    pub(crate) sdp: String,
}

impl AudioClip {
    /// A tone of about `length` (whole frames), encoded once.
    pub(crate) fn encode(codec: AudioCodec, length: Duration) -> Result<Self> {
        let mut encoder = AudioEncoder::new(&codec.encoder_options())?;
        let size = encoder.frame_size();
        let rate = encoder.sample_rate();
        let samples = length.as_nanos() * u128::from(rate);
        let count = samples.div_ceil(size.max(1) as u128 * 1_000_000_000).max(1);
        let count = usize::try_from(count).unwrap_or(1);
        let mut packet = Packet::new()?;
        let mut data: Vec<Box<[u8]>> = Vec::with_capacity(count + 2);
        let mut drain = |encoder: &mut AudioEncoder, data: &mut Vec<Box<[u8]>>| -> Result<bool> {
            loop {
                match encoder.receive_packet(&mut packet)? {
                    EncodeOutcome::Packet => data.push(packet.data().into()),
                    EncodeOutcome::Again => return Ok(false),
                    EncodeOutcome::Eof => return Ok(true),
                }
            }
        };
        let mut samples = vec![0.0f32; size];
        for index in 0..count {
            for (i, sample) in samples.iter_mut().enumerate() {
                let t = (index * size + i) as f32 / rate as f32;
                *sample = 0.1 * (t * 440.0 * std::f32::consts::TAU).sin();
            }
            let pts = i64::try_from(index * size).unwrap_or(i64::MAX);
            if encoder.send(&samples, pts)? != SendOutcome::Sent {
                return Err(Error::new(
                    ErrorKind::Ffmpeg,
                    format!("the {} encoder refused audio", encoder.name()),
                ));
            }
            drain(&mut encoder, &mut data)?;
        }
        encoder.send_eof()?;
        while !drain(&mut encoder, &mut data)? {}
        // The encoder's priming (AAC's first frame) shifts its timestamps:
        // number the frames afresh, one frame size apart.
        let size = i64::try_from(size).unwrap_or(1024);
        let frames: Vec<AudioFrame> = data
            .into_iter()
            .zip(0..)
            .map(|(data, index)| AudioFrame {
                data,
                pts: index * size,
            })
            .collect();
        let duration = i64::try_from(frames.len()).unwrap_or(1) * size;
        let params = encoder.parameters()?;
        let payload_type = (codec == AudioCodec::Aac).then_some(AUDIO_PAYLOAD_TYPE);
        let options = RtpMuxerOptions::default();
        let options = match payload_type {
            Some(payload_type) => options.payload_type(payload_type),
            None => options,
        };
        let mut muxer = RtpMuxer::new(&params, &options)?;
        let sdp = media_section(&muxer.sdp()?, AUDIO_TRACK);
        Ok(Self {
            payload_type,
            frames,
            rate: i64::from(rate),
            duration,
            params,
            sdp,
        })
    }

    /// The RTP muxer options of every session's audio (the payload type
    /// must match the SDP's).
    pub(crate) fn muxer_options(&self) -> RtpMuxerOptions {
        let options = RtpMuxerOptions::default();
        match self.payload_type {
            Some(payload_type) => options.payload_type(payload_type),
            None => options,
        }
    }

    /// The frame a session sends `n`-th (from 0, across loops) and its pts.
    pub(crate) fn nth(&self, n: u64) -> (&AudioFrame, i64) {
        let count = self.frames.len() as u64;
        let index = usize::try_from(n % count).unwrap_or(0);
        let loops = i64::try_from(n / count).unwrap_or(i64::MAX / 4);
        let frame = &self.frames[index];
        (frame, loops.saturating_mul(self.duration) + frame.pts)
    }

    /// When the `n`-th frame is due, from the session's start.
    pub(crate) fn due(&self, n: u64) -> Duration {
        let (_, pts) = self.nth(n);
        let pts = u64::try_from(pts).unwrap_or(0);
        let rate = u64::try_from(self.rate).unwrap_or(8000).max(1);
        Duration::from_secs(pts / rate) + Duration::from_nanos((pts % rate) * 1_000_000_000 / rate)
    }
}

/// The media section (from its `m=` line on) of a one-stream SDP, with its
/// control renamed for `track`.
fn media_section(sdp: &str, track: usize) -> String {
    let mut out = String::new();
    let mut in_media = false;
    for line in sdp.lines().map(str::trim_end) {
        in_media |= line.starts_with("m=");
        if !in_media || line.is_empty() {
            continue;
        }
        if line.starts_with("a=control:") {
            let _ = write!(out, "a=control:{}\r\n", control(track));
        } else {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out
}

/// The metadata track's SDP section (ONVIF: `vnd.onvif.metadata`, 90 kHz).
pub(crate) fn metadata_sdp() -> String {
    format!(
        "m=application 0 RTP/AVP {pt}\r\na=rtpmap:{pt} vnd.onvif.metadata/90000\r\n\
         a=control:{}\r\n",
        control(METADATA_TRACK),
        pt = METADATA_PAYLOAD_TYPE
    )
}

/// The `n`-th metadata document of a session: an ONVIF `MetadataStream` with
/// an empty analytics frame at `at`.
pub(crate) fn metadata_document(n: u64, at: SystemTime) -> String {
    let since = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let (days, rest) = (since.as_secs() / 86_400, since.as_secs() % 86_400);
    let (year, month, day) = civil_from_days(i64::try_from(days).unwrap_or(0));
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <tt:MetadataStream xmlns:tt=\"http://www.onvif.org/ver10/schema\">\
         <tt:VideoAnalytics><tt:Frame UtcTime=\"{year:04}-{month:02}-{day:02}T\
         {:02}:{:02}:{:02}.{:03}Z\" Source=\"rtsp-ingest simulator\" Number=\"{n}\"/>\
         </tt:VideoAnalytics></tt:MetadataStream>",
        rest / 3600,
        rest / 60 % 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// Days since 1970-01-01 as a proleptic Gregorian date (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Makes the metadata track's RTP packets: each document split into payloads
/// of at most the packet size, the marker bit on its last packet.
#[derive(Debug)]
pub(crate) struct MetadataPacketizer {
    ssrc: u32,
    seq: u16,
    max_packet_size: usize,
}

impl MetadataPacketizer {
    pub(crate) fn new(max_packet_size: u32) -> Self {
        Self {
            ssrc: fastrand::u32(..),
            seq: fastrand::u16(..0x8000),
            max_packet_size: usize::try_from(max_packet_size).unwrap_or(1400).max(64),
        }
    }

    /// The packets of `document` at `elapsed` since the session's start,
    /// each handed to `send`.
    pub(crate) fn packetize(
        &mut self,
        document: &[u8],
        elapsed: Duration,
        mut send: impl FnMut(&[u8]),
    ) {
        // 90 kHz; RTP timestamps wrap (RFC 3550 §5.1), so truncating is right.
        let ticks = elapsed.as_micros() * RTP_CLOCK_RATE.unsigned_abs() as u128 / 1_000_000;
        let timestamp = ticks as u32;
        let chunks = document.chunks(self.max_packet_size - 12);
        let last = chunks.len().saturating_sub(1);
        let mut packet = Vec::with_capacity(self.max_packet_size);
        for (index, chunk) in chunks.enumerate() {
            packet.clear();
            packet.push(0x80);
            let marker = if index == last { 0x80 } else { 0 };
            packet.push(marker | METADATA_PAYLOAD_TYPE);
            packet.extend_from_slice(&self.seq.to_be_bytes());
            packet.extend_from_slice(&timestamp.to_be_bytes());
            packet.extend_from_slice(&self.ssrc.to_be_bytes());
            packet.extend_from_slice(chunk);
            self.seq = self.seq.wrapping_add(1);
            send(&packet);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alaw_and_aac_clips_and_their_sdp() {
        let alaw = AudioClip::encode(AudioCodec::Alaw, Duration::from_secs(1)).unwrap();
        assert_eq!((alaw.rate, alaw.frames.len()), (8000, 50));
        assert_eq!(alaw.duration, 8000);
        assert!(
            alaw.sdp.starts_with("m=audio 0 RTP/AVP 8\r\n"),
            "{}",
            alaw.sdp
        );
        // A static payload type needs no rtpmap (RFC 3551); FFmpeg writes none.
        assert!(
            alaw.sdp.ends_with("a=control:streamid=1\r\n"),
            "{}",
            alaw.sdp
        );
        assert_eq!(alaw.due(25), Duration::from_millis(500));
        let (_, pts) = alaw.nth(51);
        assert_eq!(pts, 8000 + 160, "continuous across loops");

        let aac = AudioClip::encode(AudioCodec::Aac, Duration::from_secs(1)).unwrap();
        assert_eq!(aac.rate, 16_000);
        assert!(
            aac.sdp.contains("a=rtpmap:97 MPEG4-GENERIC/16000/1"),
            "{}",
            aac.sdp
        );
        assert!(aac.sdp.contains("config="), "{}", aac.sdp);
        let mut muxer = RtpMuxer::new(&aac.params, &aac.muxer_options()).unwrap();
        assert_eq!(muxer.clock_rate(), 16_000);
        for n in 0..3 {
            let (frame, pts) = aac.nth(n);
            muxer.write(&frame.data, pts, pts, true).unwrap();
        }
        let rtp: Vec<_> = muxer
            .packets()
            .filter(|p| !crate::ffmpeg::is_rtcp(p))
            .collect();
        assert!(!rtp.is_empty());
        assert!(rtp.iter().all(|p| p[1] & 0x7f == 97));
        assert_eq!("AAC".parse::<AudioCodec>().unwrap(), AudioCodec::Aac);
        assert!("opus".parse::<AudioCodec>().is_err());
    }

    #[test]
    fn metadata_documents_become_marked_packets() {
        assert!(metadata_sdp().contains("a=rtpmap:107 vnd.onvif.metadata/90000\r\n"));
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_635_400_250);
        let document = metadata_document(7, at);
        assert!(
            document.contains("UtcTime=\"2025-12-02T00:30:00.250Z\""),
            "{document}"
        );
        assert!(document.contains("Number=\"7\""), "{document}");
        let mut packetizer = MetadataPacketizer::new(100);
        let mut packets = Vec::new();
        packetizer.packetize(document.as_bytes(), Duration::from_secs(1), |p| {
            packets.push(p.to_vec())
        });
        assert_eq!(packets.len(), document.len().div_ceil(88));
        let payload: Vec<u8> = packets.iter().flat_map(|p| p[12..].to_vec()).collect();
        assert_eq!(payload, document.as_bytes());
        for (index, packet) in packets.iter().enumerate() {
            assert!(packet.len() <= 100);
            assert_eq!(packet[1] & 0x7f, METADATA_PAYLOAD_TYPE);
            assert_eq!(packet[1] & 0x80 != 0, index == packets.len() - 1);
            assert_eq!(packet[4..8], 90_000u32.to_be_bytes());
        }
    }
}
