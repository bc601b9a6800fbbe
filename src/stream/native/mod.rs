//! The native RTSP client (`rtsp_client = "native"`): the `retina` crate
//! speaks RTSP and depacketizes RTP, our FFmpeg decoders decode. It exists
//! for latency: FFmpeg's RTSP demuxer drops the RTP marker bit and its H.264
//! parser closes an access unit only when the next one starts, so every frame
//! waits one frame interval (40 ms at 25 fps) before it reaches the decoder.
//! retina ends an access unit on the marker bit. It also brings camera-quirk
//! handling, Basic/Digest auth, RTCP sender reports (capture times, see
//! [`clock`]) and a loss count per frame.
//!
//! What this module owns: DESCRIBE (credentials from the config, never in the
//! URL handed to retina, never in a message), SETUP of the video stream only
//! (H.264, H.265, MJPEG; any other codec, and `rtsps`, fall back to FFmpeg's
//! client), PLAY over TCP or UDP, and a [`PacketSource`] that fills one
//! FFmpeg packet per access unit (Annex B with the parameter sets before
//! every keyframe, retina's `FrameFormat::SIMPLE`, which FFmpeg's decoders
//! take as they are), stamped with its RTP timestamp (`1/clock rate`), its
//! keyframe flag and its receive instant, and flagged damaged after RTP loss.
//!
//! # Why an async runtime inside a synchronous worker
//! retina is async on tokio and has no blocking API. The library's API stays
//! synchronous: each session that uses this client owns one current-thread
//! runtime (IO and timers, no extra thread), and the worker thread blocks on
//! retina's futures one request or one frame at a time
//! ([`block::Runtime::run`]), each bounded by the connect or read timeout and
//! raced against the stop flag, which it looks at every 50 ms. So a stop ends
//! any wait within 50 ms, no task outlives its session, and nothing async
//! leaks into the API. The runtime is driven only while the worker waits for
//! the next frame; retina's keepalives are timers polled then, which is often
//! enough, since the worker waits for a frame after every frame it decodes.
//!
//! No `TEARDOWN` is sent (retina's `TeardownPolicy::Never`): its teardown is a
//! task spawned on drop that would need the runtime to outlive the session.
//! Over TCP closing the connection ends the session; over UDP the camera
//! sends until its session timeout (usually 60 s) runs out.

mod block;
mod clock;
mod errors;

use std::future::poll_fn;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_core::Stream as _;
use retina::client::{
    Demuxed, PlayOptions, Session, SessionOptions, SetupOptions, TeardownPolicy,
    UdpTransportOptions,
};
use retina::codec::{CodecItem, FrameFormat, ParametersRef};
use url::Url;

use self::block::{Ran, Runtime};
use self::clock::SenderClock;
use super::config::{StreamConfig, Transport};
use super::handle::StreamShared;
use super::source::{decoder_options, read_timeout, Opened, PacketSource, Read};
use super::status::MediaInfo;
use crate::error::{Error, ErrorKind, Result};
use crate::ffmpeg::{ConnectStage, Decoder, Interrupt, Packet, Rational, VideoCodec};

/// Sent as `User-Agent`.
const USER_AGENT: &str = concat!("rtsp-ingest/", env!("CARGO_PKG_VERSION"), " (retina)");

/// A playing retina session, reading one video stream.
struct NativeSource {
    /// `Some` until dropped (inside the runtime's context, see `Drop`).
    demuxed: Option<Pin<Box<Demuxed>>>,
    runtime: Runtime,
    interrupt: Arc<Interrupt>,
    /// retina's index of the video stream.
    video: usize,
    time_base: Rational,
    read_timeout: Duration,
    /// The last RTCP sender report of the video stream.
    clock: Option<SenderClock>,
}

/// Connects with retina; `None` when the camera's video is in a codec (or at
/// a URL scheme) retina does not handle, so the caller uses FFmpeg's client.
pub(crate) fn open(shared: &StreamShared) -> Result<Option<Opened<'static>>> {
    let config = &shared.config;
    if !config.url().starts_with("rtsp:") {
        tracing::info!(stream = %shared.status.id, "the native RTSP client has no TLS (rtsps); using FFmpeg's");
        return Ok(None);
    }
    let runtime = Runtime::new()?;
    let interrupt = Arc::clone(&shared.interrupt);
    let stopped = || interrupt.is_stopped();
    let mut session = describe(shared, &runtime, &stopped)?;

    let Some((video, codec)) = session
        .streams()
        .iter()
        .enumerate()
        .find_map(|(index, stream)| {
            (stream.media() == "video")
                .then(|| codec_of(stream.encoding_name()).map(|codec| (index, codec)))
                .flatten()
        })
    else {
        let offered: Vec<String> = session
            .streams()
            .iter()
            .map(|stream| format!("{}/{}", stream.media(), stream.encoding_name()))
            .collect();
        tracing::info!(
            stream = %shared.status.id,
            "the native RTSP client decodes no track of {offered:?}; using FFmpeg's"
        );
        return Ok(None);
    };
    // The attempt's transport: the configured one, or where `prefer_tcp`'s
    // negotiation has moved it (see `super::negotiate`).
    let transport = match shared.status.transport().unwrap_or(config.transport) {
        Transport::Udp => retina::client::Transport::Udp(UdpTransportOptions::default()),
        _ => retina::client::Transport::default(),
    };
    shared.interrupt.set_stage(Some(ConnectStage::Setup));
    let setup = SetupOptions::default()
        .transport(transport)
        .frame_format(FrameFormat::SIMPLE);
    request(
        &runtime,
        "SETUP",
        session.setup(video, setup),
        config,
        &stopped,
    )?;
    shared.interrupt.set_stage(Some(ConnectStage::Play));
    let playing = request(
        &runtime,
        "PLAY",
        session.play(PlayOptions::default()),
        config,
        &stopped,
    )?;
    let demuxed = playing
        .demuxed()
        .map_err(|error| errors::map("PLAY", &error))?;

    let stream = &demuxed.streams()[video];
    let clock_rate = i32::try_from(stream.clock_rate_hz()).map_err(|_| {
        Error::new(
            ErrorKind::InvalidData,
            format!("RTP clock rate {} Hz", stream.clock_rate_hz()),
        )
    })?;
    let time_base = Rational {
        num: 1,
        den: clock_rate,
    };
    let parameters = match stream.parameters() {
        Some(ParametersRef::Video(parameters)) => Some(parameters),
        _ => None,
    };
    let extradata = parameters.map_or(&[][..], |parameters| parameters.extra_data());
    let (width, height) = parameters.map_or((0, 0), |parameters| parameters.pixel_dimensions());
    let options = decoder_options(config, (width, height));
    let decoder = Decoder::for_codec(codec, extradata, time_base, &options)?;
    let fps = parameters
        .and_then(|parameters| parameters.frame_rate())
        .filter(|(duration, _)| *duration > 0)
        .map(|(duration, timescale)| f64::from(timescale) / f64::from(duration))
        .or_else(|| stream.framerate().map(f64::from));
    let media = MediaInfo {
        codec: decoder.name().to_owned(),
        profile: None,
        width,
        height,
        fps,
        decode: config.decode,
        lowres: decoder.lowres(),
    };
    Ok(Some(Opened {
        source: Box::new(NativeSource {
            demuxed: Some(Box::pin(demuxed)),
            runtime,
            interrupt: Arc::clone(&shared.interrupt),
            video,
            time_base,
            read_timeout: read_timeout(config),
            clock: None,
        }),
        decoder,
        media,
        time_base,
    }))
}

/// The codecs retina depacketizes and FFmpeg decodes, by SDP encoding name.
fn codec_of(encoding_name: &str) -> Option<VideoCodec> {
    match encoding_name {
        "h264" => Some(VideoCodec::H264),
        "h265" => Some(VideoCodec::H265),
        "jpeg" => Some(VideoCodec::Mjpeg),
        _ => None,
    }
}

/// DESCRIBE, at each address of the camera's host in turn while the TCP
/// connection is refused.
fn describe(
    shared: &StreamShared,
    runtime: &Runtime,
    stopped: &dyn Fn() -> bool,
) -> Result<Session<retina::client::Described>> {
    let config = &shared.config;
    let addresses = match config.host_name() {
        None => vec![None],
        Some(host) => {
            shared.interrupt.set_stage(Some(ConnectStage::Resolving));
            crate::resolve::resolve(host, &config.dns, config.connect_timeout, &|| stopped())?
                .into_iter()
                .map(Some)
                .collect()
        }
    };
    let mut refused = None;
    for address in addresses {
        shared.interrupt.set_stage(Some(ConnectStage::Describe));
        let options = session_options(config);
        let url = target(config, address)?;
        let at = |error: Error| match (config.host_name(), address) {
            (Some(host), Some(address)) => Error::new(
                error.kind(),
                format!("{host} is {address}: {}", error.message()),
            ),
            _ => error,
        };
        match runtime.run(
            Session::describe(url, options),
            config.connect_timeout,
            stopped,
        )? {
            Ran::Done(Ok(session)) => return Ok(session),
            Ran::Done(Err(error)) if errors::is_connect_refused(&error) => {
                refused = Some(at(errors::map("DESCRIBE", &error)));
            }
            Ran::Done(Err(error)) => return Err(at(errors::map("DESCRIBE", &error))),
            Ran::TimedOut => return Err(at(no_answer("DESCRIBE", config))),
        }
    }
    Err(refused.expect("a lookup that succeeds gives at least one address"))
}

/// One request (SETUP, PLAY) bounded by the connect timeout.
fn request<T>(
    runtime: &Runtime,
    method: &str,
    future: impl std::future::Future<Output = std::result::Result<T, retina::Error>>,
    config: &StreamConfig,
    stopped: &dyn Fn() -> bool,
) -> Result<T> {
    match runtime.run(future, config.connect_timeout, stopped)? {
        Ran::Done(result) => result.map_err(|error| errors::map(method, &error)),
        Ran::TimedOut => Err(no_answer(method, config)),
    }
}

fn no_answer(method: &str, config: &StreamConfig) -> Error {
    Error::new(
        ErrorKind::Timeout,
        format!(
            "{method}: no answer within the connect timeout ({:?})",
            config.connect_timeout
        ),
    )
}

/// retina's options: the login, and no TEARDOWN (see the module docs).
fn session_options(config: &StreamConfig) -> SessionOptions {
    let creds = config
        .credentials()
        .map(|credentials| retina::client::Credentials {
            username: credentials.username.clone(),
            password: credentials.password.expose().to_owned(),
        });
    SessionOptions::default()
        .creds(creds)
        .user_agent(USER_AGENT.to_owned())
        .teardown(TeardownPolicy::Never)
}

/// The URL retina requests: the camera's (at `address` when resolved here),
/// without its userinfo, which goes to retina as credentials instead.
fn target(config: &StreamConfig, address: Option<IpAddr>) -> Result<Url> {
    let full = match address {
        Some(address) => config.url_with_credentials_at(address),
        None => config.url_with_credentials(),
    };
    let mut url = Url::parse(&full).map_err(|error| {
        Error::new(
            ErrorKind::InvalidConfig,
            format!("url `{}`: {error}", config.url()),
        )
    })?;
    // Cannot fail: an rtsp URL with a host can drop its userinfo.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Ok(url)
}

impl PacketSource for NativeSource {
    fn read(&mut self, packet: &mut Packet) -> Result<Read> {
        let interrupt = &self.interrupt;
        let demuxed = self.demuxed.as_mut().expect("only Drop takes the session");
        let next = poll_fn(|cx| demuxed.as_mut().poll_next(cx));
        let item = match self
            .runtime
            .run(next, self.read_timeout, &|| interrupt.is_stopped())?
        {
            Ran::Done(item) => item,
            Ran::TimedOut => {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!("no video frame for {:?}", self.read_timeout),
                ))
            }
        };
        match item {
            None => Ok(Read::Eof),
            Some(Err(error)) => Err(errors::map("reading RTP", &error)),
            Some(Ok(CodecItem::VideoFrame(frame))) if frame.stream_id() == self.video => {
                packet.fill(
                    frame.data(),
                    Some(frame.timestamp().elapsed()),
                    frame.is_random_access_point(),
                )?;
                let lost = frame.loss();
                if lost > 0 {
                    tracing::debug!(target: "rtsp_ingest::native", lost, "RTP packets lost before a frame");
                }
                Ok(Read::Video {
                    received: frame.end_ctx().received(),
                    lost: u64::from(lost),
                    corrupt: false,
                })
            }
            Some(Ok(CodecItem::Rtcp(rtcp))) => {
                if rtcp.stream_id() == self.video {
                    self.on_rtcp(&rtcp);
                }
                Ok(Read::Again)
            }
            Some(Ok(_)) => {
                packet.unref();
                Ok(Read::Other)
            }
        }
    }

    fn capture_time(&self, pts: i64) -> Option<SystemTime> {
        self.clock?.at(pts, self.time_base)
    }
}

impl NativeSource {
    /// Keeps the wall clock of the compound packet's sender report, if any.
    fn on_rtcp(&mut self, rtcp: &retina::rtcp::ReceivedCompoundPacket) {
        let Some(rtp) = rtcp.rtp_timestamp() else {
            return;
        };
        for part in rtcp.pkts() {
            if let Ok(Some(report)) = part.as_sender_report() {
                self.clock = SenderClock::new(report.ntp_timestamp().0, rtp.elapsed());
            }
        }
    }
}

impl Drop for NativeSource {
    fn drop(&mut self) {
        // retina's session and its sockets are dropped inside the runtime's
        // context, before the runtime itself.
        let _context = self.runtime.enter();
        self.demuxed = None;
    }
}
