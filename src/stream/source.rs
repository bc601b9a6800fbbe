//! Where a session's packets come from: the one thing that differs between
//! the RTSP clients ([`RtspClient`]). A [`PacketSource`] connects, says what
//! the video is ([`Opened`]), and then fills one [`Packet`] per read; the
//! session's decode → gate → convert → publish path is the same for all.

use std::time::{Duration, Instant, SystemTime};

use super::config::{DecodeMode, SkipPolicy, StreamConfig};
use super::handle::StreamShared;
use super::rtsp_client::RtspClient;
use super::status::MediaInfo;
use crate::error::Result;
use crate::ffmpeg::{Decoder, DecoderOptions, Packet, Rational};

/// The stall timeout's floor, and the default when no GOP has been measured.
pub(crate) const MIN_STALL: Duration = Duration::from_secs(3);

/// How long one read may wait for a packet: the stall timeout, or its floor.
pub(crate) fn read_timeout(config: &StreamConfig) -> Duration {
    config.stall_timeout.unwrap_or(MIN_STALL)
}

/// What one [`PacketSource::read`] got.
#[derive(Debug)]
pub(crate) enum Read {
    /// A video access unit is in the packet.
    Video {
        /// When its last byte arrived.
        received: Instant,
        /// RTP packets the client knows were lost before or inside it (0
        /// where the client reports loss elsewhere: FFmpeg's log line).
        lost: u64,
        /// Whether the demuxer flagged the packet corrupt.
        corrupt: bool,
    },
    /// A packet of another track is in the packet (counted, not decoded).
    Other,
    /// Nothing yet (e.g. an RTCP report); read again.
    Again,
    /// The server ended the stream.
    Eof,
}

/// A connected camera that hands out video packets.
pub(crate) trait PacketSource {
    /// Reads the next packet into `packet`, within the read timeout.
    ///
    /// # Errors
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) when nothing came
    /// within the read timeout, [`ErrorKind::Stopped`](crate::ErrorKind::Stopped)
    /// on a stop request, any other kind when the connection failed.
    fn read(&mut self, packet: &mut Packet) -> Result<Read>;

    /// The wall-clock capture time of the frame stamped `pts` (in the opened
    /// time base), when the camera's RTCP sender reports tell it.
    fn capture_time(&self, pts: i64) -> Option<SystemTime>;
}

/// A connected source with its decoder.
pub(crate) struct Opened<'a> {
    pub(crate) source: Box<dyn PacketSource + 'a>,
    pub(crate) decoder: Decoder,
    pub(crate) media: MediaInfo,
    /// The unit of the packets' (and decoded frames') timestamps.
    pub(crate) time_base: Rational,
}

/// Connects with the attempt's client (the worker's choice, see
/// [`super::client_choice`]).
pub(crate) fn open(shared: &StreamShared) -> Result<Opened<'_>> {
    let client = shared
        .status
        .rtsp_client()
        .unwrap_or(shared.config.rtsp_client);
    match client {
        RtspClient::Ffmpeg | RtspClient::Auto => super::ffmpeg_source::open(shared),
        RtspClient::Native => match super::native::open(shared)? {
            Some(opened) => Ok(opened),
            // A codec the native client does not depacketize.
            None => super::ffmpeg_source::open(shared),
        },
    }
}

/// The decoder options every source uses.
pub(crate) fn decoder_options(config: &StreamConfig) -> DecoderOptions {
    DecoderOptions::default()
        .threads(config.decode_threads)
        .keyframes_only(config.skip == SkipPolicy::Keyframes)
        .fast(config.decode == DecodeMode::Fast)
}
