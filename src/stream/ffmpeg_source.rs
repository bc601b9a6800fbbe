//! The FFmpeg RTSP client as a [`PacketSource`]: `libavformat` opens the
//! camera ([`super::connect`]), FFmpeg's depacketizer and parser cut the
//! access units, and the stream's start time from RTCP dates the frames.

use std::time::SystemTime;

use super::handle::StreamShared;
use super::source::{decoder_options, read_timeout, Opened, PacketSource, Read};
use super::status::MediaInfo;
use crate::error::Result;
use crate::ffmpeg::{Decoder, Input, InputOptions, Packet, Rational, ReadOutcome};

/// An opened FFmpeg input, reading its best video stream.
struct FfmpegSource {
    input: Input,
    video: usize,
    time_base: Rational,
    start_pts: Option<i64>,
}

/// Opens the camera with FFmpeg and the decoder from its stream parameters.
pub(crate) fn open(shared: &StreamShared) -> Result<Opened<'static>> {
    let config = &shared.config;
    let read_timeout = read_timeout(config);
    // The attempt's transport and its reorder settings: `connect::attempt_options`.
    let options = InputOptions::default()
        // Only the video is decoded, so only the video is set up: no audio or
        // metadata packet can reach the session's read loop.
        .video_only(!config.all_tracks)
        .transport(config.transport)
        .open_timeout(config.connect_timeout)
        .socket_timeout(Some(config.connect_timeout.max(read_timeout)))
        .read_timeout(read_timeout);
    let mut input = super::connect::open(shared, &options)?;
    let info = input.best_video_stream()?;
    input.discard_other_streams(info.index);
    let options = decoder_options(config, (info.width, info.height));
    let decoder = Decoder::new(&input, info.index, &options)?;
    let media = MediaInfo {
        codec: info.codec_name.clone(),
        profile: info.profile.clone(),
        width: info.width,
        height: info.height,
        fps: info.avg_frame_rate.and_then(Rational::to_f64),
        decode: config.decode,
        lowres: decoder.lowres(),
    };
    let start_pts = input.start_time(info.index);
    Ok(Opened {
        source: Box::new(FfmpegSource {
            input,
            video: info.index,
            time_base: info.time_base,
            start_pts,
        }),
        decoder,
        media,
        time_base: info.time_base,
    })
}

impl PacketSource for FfmpegSource {
    fn read(&mut self, packet: &mut Packet) -> Result<Read> {
        Ok(match self.input.read_packet(packet)? {
            ReadOutcome::Packet if packet.stream_index() != self.video => Read::Other,
            ReadOutcome::Packet => Read::Video {
                received: std::time::Instant::now(),
                lost: 0,
                corrupt: packet.is_corrupt(),
            },
            ReadOutcome::Again => Read::Again,
            ReadOutcome::Eof => Read::Eof,
        })
    }

    /// The stream's RTCP-derived start time plus the frame's pts offset from
    /// the stream's start.
    fn capture_time(&self, pts: i64) -> Option<SystemTime> {
        let start = self.input.start_time_realtime()?;
        let offset = pts - self.start_pts.unwrap_or(0);
        super::session::offset_time(start, offset, self.time_base)
    }
}
