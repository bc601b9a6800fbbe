//! A camera simulator: N RTSP cameras on one address, for testing and
//! demonstrating the ingest engine (and any other RTSP client) without
//! cameras. Std threads only, no async runtime.
//!
//! Each camera `/cam0` … `/camN-1` sends the same clip, made once at start and
//! held in memory: by default the test [`pattern`] (colour bands, a moving box,
//! the frame index as bit blocks and as a [`stamp`]) encoded with libx264 (or
//! libx265 or MJPEG; flat, so some tens of kbit/s, or with
//! [`PatternOptions::noise`] a camera-like few Mbit/s), or a clip file. The
//! simulator records when it sends each frame ([`Simulator::sent_at`], and
//! [`SimulatorConfig::stamp_log`] for other processes), so a consumer that
//! reads a frame's stamp knows how long the frame took from "glass" to it. Every session loops it from its first keyframe,
//! paced in real time, with timestamps that keep increasing across the loop
//! point. Faults make cameras misbehave on purpose: cut connections, stalls,
//! corrupt payloads, a login, video that stops while audio goes on, pauses
//! before keyframes.
//!
//! Like most cameras, they can offer more than video
//! ([`SimulatorConfig::audio`], [`SimulatorConfig::metadata`]): an audio
//! track (G.711 A-law or AAC, `streamid=1`) and an ONVIF metadata track
//! (`vnd.onvif.metadata`, `streamid=2`), each sent only to a client that set
//! it up; [`CameraStats`] counts the `SETUP`s of each track. And like many,
//! they can leave the parameter sets out of the SDP
//! ([`SimulatorConfig::sdp_parameter_sets`]). [`Quirk`]s imitate real
//! cameras' protocol and SDP habits (an empty `a=fmtp`, no `o=` line, padded
//! header values, `\n` line ends, a schemeless `Content-Base`, data before
//! the `PLAY` answer or on a channel nobody set up, the SSRC only in
//! `RTP-Info`, one client at a time): [`SimulatorConfig::quirk`].
//!
//! ```no_run
//! use std::time::Duration;
//! use rtsp_ingest::simulate::{Faults, Simulator, SimulatorConfig};
//! use rtsp_ingest::stream::{Stream, StreamConfig};
//!
//! fn main() -> rtsp_ingest::Result<()> {
//!     let config = SimulatorConfig::default()
//!         .addr("127.0.0.1:0".parse().unwrap()) // any free port
//!         .cameras(2)
//!         .camera_faults(1, "stall-after=5s".parse::<Faults>()?);
//!     let simulator = Simulator::start(config)?;
//!     let camera = Stream::start("cam0", StreamConfig::new(&simulator.url(0))?)?;
//!     std::thread::sleep(Duration::from_secs(2));
//!     println!("{:?}", camera.status());
//!     Ok(()) // dropping the simulator stops it (within about 100 ms)
//! }
//! ```
//!
//! ## How a frame gets to a client
//!
//! Each session has its own FFmpeg `rtp` muxer
//! ([`RtpMuxer`](crate::ffmpeg::RtpMuxer)) writing into a custom I/O context:
//! a frame written to it comes back as RTP packets of at most
//! [`SimulatorConfig::max_packet_size`] bytes (FU-A fragments for big H.264
//! NAL units, RFC 6184), preceded now and then by an RTCP sender report. Each
//! is sent in the RTSP connection as `$`, channel, 16-bit length, packet
//! (RFC 2326 §10.12), or, for a client that set up RTP over UDP, as a
//! datagram from the server's port pair to the client's (RTP to the first
//! port, RTCP to the second), through the UDP faults. `DESCRIBE` answers with the SDP `av_sdp_create` writes
//! for the same muxer (with `sprop-parameter-sets`), and `PLAY` with `RTP-Info`
//! taken from the first packet.
//!
//! ## The server
//!
//! RTSP/1.0: `OPTIONS`, `DESCRIBE`, `SETUP` (RTP over TCP, interleaved, or
//! over unicast UDP, `client_port=a-b` answered with `server_port=c-d`; a
//! transport the server does not serve, or was told to refuse with
//! [`SimulatorConfig::refuse_tcp`] / [`SimulatorConfig::refuse_udp`], gets
//! `461 Unsupported Transport`), `PLAY`, `TEARDOWN`,
//! `GET_PARAMETER` and `SET_PARAMETER` (keepalives). `404` for unknown paths,
//! `400` (then close) for anything that is not RTSP, `413` past 8 KiB of
//! head or body, `454` for a wrong session, `501` for other methods. One thread
//! per connection; every socket read waits at most 50 ms, every write at most
//! [`SimulatorConfig::write_timeout`]; a connection that sends nothing for two
//! minutes while no media flows to it is closed.
//!
//! ## Limitations
//!
//! One video track per camera (and at most one audio and one metadata
//! track); no multicast; no `PAUSE`
//! (`501`) or seeking (`Range` is ignored); every session starts at the
//! clip's first frame (cameras are not synchronised with each other); Basic
//! authentication only.

mod clock_faults;
mod digest;
mod faults;
mod media;
pub mod pattern;
mod quirks;
mod rtsp;
mod send_record;
mod server;
pub mod stamp;
mod tracks;
mod udp;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

pub use faults::{
    parse_credentials, parse_duration, ClockStep, Fault, FaultSpec, Faults, ResizeAfter,
};
pub use media::{MediaInfo, PatternOptions, Source};
pub use quirks::Quirk;
pub use tracks::AudioCodec;

use crate::error::{Error, ErrorKind, Result};
use media::Clip;
use quirks::Quirks;
use server::{Camera, Counters, ExtraTracks, Settings, Shared};

/// The default address: RTSP's port on the loopback interface.
pub const DEFAULT_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 8554);

/// How to run a [`Simulator`]. `Default`: one camera on `127.0.0.1:8554`, the
/// H.264 test pattern (640×360, 25 fps, 4 s loop), no faults, RTP packets of
/// at most 1400 bytes, 5 s write timeout, at most 256 connections.
#[derive(Clone, Debug, PartialEq)]
pub struct SimulatorConfig {
    addr: SocketAddr,
    cameras: usize,
    source: Source,
    faults: Faults,
    camera_faults: BTreeMap<usize, Faults>,
    max_packet_size: u32,
    write_timeout: Duration,
    max_connections: usize,
    stamp_log: Option<PathBuf>,
    refuse_tcp: bool,
    refuse_udp: bool,
    silent_tcp: bool,
    audio: Option<AudioCodec>,
    metadata: bool,
    sdp_parameter_sets: bool,
    quirks: Quirks,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            addr: DEFAULT_ADDR,
            cameras: 1,
            source: Source::default(),
            faults: Faults::default(),
            camera_faults: BTreeMap::new(),
            max_packet_size: 1400,
            write_timeout: Duration::from_secs(5),
            max_connections: 256,
            stamp_log: None,
            refuse_tcp: false,
            refuse_udp: false,
            silent_tcp: false,
            audio: None,
            metadata: false,
            sdp_parameter_sets: true,
            quirks: Quirks::default(),
        }
    }
}

impl SimulatorConfig {
    /// The address to listen on (port 0: any free port; see
    /// [`Simulator::addr`]). Default `127.0.0.1:8554`.
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// How many cameras, served as `/cam0` … `/camN-1` (1 ..= 10000). Default 1.
    pub fn cameras(mut self, count: usize) -> Self {
        self.cameras = count;
        self
    }

    /// Where the video comes from. Default the H.264 test pattern.
    pub fn source(mut self, source: Source) -> Self {
        self.source = source;
        self
    }

    /// The test pattern with these options.
    pub fn pattern(self, options: PatternOptions) -> Self {
        self.source(Source::Pattern(options))
    }

    /// A clip file instead of the pattern (H.264, H.265 or MJPEG video).
    pub fn clip(self, path: impl Into<PathBuf>) -> Self {
        self.source(Source::File(path.into()))
    }

    /// Faults for every camera.
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Faults for camera `index`, on top of the ones for every camera (each
    /// fault set here replaces the same fault set for all).
    pub fn camera_faults(mut self, index: usize, faults: Faults) -> Self {
        self.camera_faults.insert(index, faults);
        self
    }

    /// Adds one fault, for every camera or the one it names.
    pub fn fault(mut self, spec: FaultSpec) -> Self {
        match spec.camera {
            None => self.faults = std::mem::take(&mut self.faults).with(spec.fault),
            Some(index) => {
                let faults = self.camera_faults.remove(&index).unwrap_or_default();
                self.camera_faults.insert(index, faults.with(spec.fault));
            }
        }
        self
    }

    /// The largest RTP packet in bytes, header included (64 ..= 65535).
    /// Default 1400.
    pub fn max_packet_size(mut self, bytes: u32) -> Self {
        self.max_packet_size = bytes;
        self
    }

    /// How long a write to a client may block before the client is dropped.
    /// Default 5 s.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// The most connections open at once; more are closed at once. Default 256.
    pub fn max_connections(mut self, count: usize) -> Self {
        self.max_connections = count;
        self
    }

    /// Writes a line per frame sent to this file (created or truncated), so
    /// another process can match the [stamps](stamp) it reads to when each
    /// frame was sent (see [`stamp::SendTimes::read_log`]). Default none.
    pub fn stamp_log(mut self, path: impl Into<PathBuf>) -> Self {
        self.stamp_log = Some(path.into());
        self
    }

    /// Answer every `SETUP` for RTP over TCP with `461 Unsupported Transport`,
    /// as VLC's RTSP server does: a camera that only offers UDP. Default off.
    pub fn refuse_tcp(mut self, refuse: bool) -> Self {
        self.refuse_tcp = refuse;
        self
    }

    /// Answer every `SETUP` for RTP over UDP with `461 Unsupported
    /// Transport`: a camera that only offers TCP. Default off.
    pub fn refuse_udp(mut self, refuse: bool) -> Self {
        self.refuse_udp = refuse;
        self
    }

    /// Accept RTP over TCP, play, and then send nothing over it (UDP
    /// sessions are served normally): a camera whose interleaved data never
    /// arrives. Default off.
    pub fn silent_tcp(mut self, silent: bool) -> Self {
        self.silent_tcp = silent;
        self
    }

    /// An audio track beside the video (`streamid=1`): a quiet 440 Hz tone
    /// encoded once at start with FFmpeg's `pcm_alaw` or `aac` encoder, one
    /// loop as long as the video's. Default none.
    pub fn audio(mut self, codec: Option<AudioCodec>) -> Self {
        self.audio = codec;
        self
    }

    /// An ONVIF metadata track beside the video (`streamid=2`, `m=application`,
    /// `vnd.onvif.metadata/90000`): a small `tt:MetadataStream` XML document
    /// every 500 ms. Default off.
    pub fn metadata(mut self, on: bool) -> Self {
        self.metadata = on;
        self
    }

    /// Whether the video's SDP gives its parameter sets
    /// (`sprop-parameter-sets`, or `sprop-vps/sps/pps` for H.265) and its
    /// size (`a=framesize`). Off, it names only the codec, as many cameras
    /// do; the parameter sets still come before every keyframe in band.
    /// Default on.
    pub fn sdp_parameter_sets(mut self, on: bool) -> Self {
        self.sdp_parameter_sets = on;
        self
    }

    /// Adds a camera quirk, for every camera (see [`Quirk`]); repeatable.
    /// Default none.
    pub fn quirk(mut self, quirk: Quirk) -> Self {
        self.quirks = self.quirks.with(quirk);
        self
    }

    /// The quirks added, in [`Quirk::ALL`]'s order.
    pub fn quirks(&self) -> Vec<Quirk> {
        self.quirks.list()
    }

    /// The faults camera `index` gets.
    pub fn faults_of(&self, index: usize) -> Faults {
        match self.camera_faults.get(&index) {
            Some(own) => self.faults.merged(own),
            None => self.faults.clone(),
        }
    }

    /// Checks the values.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] naming the bad value.
    pub fn validate(&self) -> Result<()> {
        let invalid = |message: String| Err(Error::new(ErrorKind::InvalidConfig, message));
        if !(1..=10_000).contains(&self.cameras) {
            return invalid(format!("{} cameras is not in 1 ..= 10000", self.cameras));
        }
        if let Some(index) = self.camera_faults.keys().find(|&&i| i >= self.cameras) {
            return invalid(format!(
                "faults for cam{index}, but there are {} cameras",
                self.cameras
            ));
        }
        if !(64..=65_535).contains(&self.max_packet_size) {
            return invalid(format!(
                "RTP packet size {} is not in 64 ..= 65535",
                self.max_packet_size
            ));
        }
        if self.write_timeout.is_zero() {
            return invalid("the write timeout must be longer than zero".to_owned());
        }
        if self.max_connections == 0 {
            return invalid("max connections must be at least 1".to_owned());
        }
        if self.refuse_tcp && self.refuse_udp {
            return invalid("refusing both TCP and UDP leaves no transport to serve".to_owned());
        }
        for index in 0..self.cameras {
            self.faults_of(index).validate().map_err(|error| {
                Error::new(error.kind(), format!("cam{index}: {}", error.message()))
            })?;
        }
        Ok(())
    }
}

/// Counters of one camera since start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CameraStats {
    /// Sessions started (`PLAY`s).
    pub sessions: u64,
    /// Sessions sending now (stalled ones included).
    pub playing: u64,
    /// Frames sent.
    pub frames: u64,
    /// RTP packets sent (RTCP not counted).
    pub rtp_packets: u64,
    /// Bytes sent, interleaving headers and RTCP included.
    pub bytes: u64,
    /// Connections cut by the `cut-every` fault.
    pub cuts: u64,
    /// Sessions stalled by the `stall-after` fault.
    pub stalls: u64,
    /// Payload bytes damaged by the `corrupt` fault.
    pub corrupted_bytes: u64,
    /// Requests refused with `401` by the `auth` fault.
    pub auth_failures: u64,
    /// `DESCRIBE` requests answered (authorized ones).
    pub describes: u64,
    /// `SETUP`s answered `461 Unsupported Transport`.
    pub transport_refusals: u64,
    /// `SETUP`s that set up RTP over UDP.
    pub udp_sessions: u64,
    /// RTP packets not sent by the `udp-loss` fault.
    pub udp_lost: u64,
    /// RTP packets not sent by the `tcp-loss` fault.
    pub tcp_lost: u64,
    /// RTP packets held back by the `udp-reorder` fault.
    pub udp_reordered: u64,
    /// RTP packets sent twice by the `udp-duplicate` fault.
    pub udp_duplicated: u64,
    /// Datagrams received on the server's UDP ports (receiver reports, FFmpeg's
    /// NAT punch packets); read and discarded.
    pub udp_received: u64,
    /// `SETUP`s of the video track.
    pub video_setups: u64,
    /// `SETUP`s of the audio track.
    pub audio_setups: u64,
    /// `SETUP`s of the metadata track.
    pub metadata_setups: u64,
    /// Sessions whose video the `video-stops-after` fault stopped.
    pub video_stops: u64,
    /// Audio RTP packets sent (RTCP not counted).
    pub audio_packets: u64,
    /// Metadata RTP packets sent.
    pub metadata_packets: u64,
    /// `SETUP`s answered `453 Not Enough Bandwidth` by the `one-client`
    /// quirk.
    pub busy_refusals: u64,
    /// Sessions dropped by the `session-timeout` fault (no keepalive in time).
    pub session_timeouts: u64,
    /// Requests answered `401` with `stale=true` (a retired Digest nonce).
    pub stale_nonces: u64,
    /// Requests the `digest-auth` fault authorized.
    pub digest_logins: u64,
}

/// A snapshot of a simulator's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimulatorStats {
    /// Connections accepted since start.
    pub accepted: u64,
    /// Connections closed at once because too many were open.
    pub refused: u64,
    /// Connections open now.
    pub open: usize,
    /// Requests answered with 400, 413 or 505.
    pub bad_requests: u64,
    /// Per camera, by index.
    pub cameras: Vec<CameraStats>,
}

/// A running simulator; dropping it stops it.
pub struct Simulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl fmt::Debug for Simulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulator")
            .field("addr", &self.addr)
            .field("cameras", &self.shared.cameras.len())
            .field("media", &self.shared.clip.info)
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Makes the clip (encoding the pattern takes a moment: about a second for
    /// the default 100 frames), binds the address and starts serving.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] for a bad config or an address that cannot
    /// be bound, [`ErrorKind::Unsupported`] when FFmpeg lacks the encoder or
    /// the clip's codec, [`ErrorKind::NotFound`] for a missing clip file, else
    /// the FFmpeg error that made the clip fail.
    pub fn start(config: SimulatorConfig) -> Result<Simulator> {
        config.validate()?;
        let clip = Clip::load(&config.source)?;
        let tracks = ExtraTracks {
            audio: config
                .audio
                .map(|codec| tracks::AudioClip::encode(codec, clip.info.loop_duration))
                .transpose()?,
            metadata: config.metadata,
        };
        let stamp_log = match &config.stamp_log {
            Some(path) => Some(send_record::StampLog::create(path)?),
            None => None,
        };
        let listener = TcpListener::bind(config.addr).map_err(|error| {
            Error::new(
                ErrorKind::InvalidConfig,
                format!("cannot listen on {}: {error}", config.addr),
            )
        })?;
        let io_error = |error: std::io::Error| {
            Error::new(
                ErrorKind::Connect,
                format!("setting up the listener on {}: {error}", config.addr),
            )
        };
        let addr = listener.local_addr().map_err(io_error)?;
        listener.set_nonblocking(true).map_err(io_error)?;
        let cameras = (0..config.cameras)
            .map(|index| {
                let faults = config.faults_of(index);
                let resized = faults
                    .resize_after
                    .map(|resize| Clip::resized(&config.source, resize.width, resize.height))
                    .transpose()?;
                Ok(Camera {
                    faults,
                    counters: Counters::default(),
                    resized,
                    gate: quirks::ClientGate::default(),
                })
            })
            .collect::<Result<_>>()?;
        let settings = Settings {
            max_packet_size: config.max_packet_size,
            write_timeout: config.write_timeout,
            max_connections: config.max_connections,
            offer: rtsp::Offer {
                tcp: !config.refuse_tcp,
                udp: !config.refuse_udp,
            },
            silent_tcp: config.silent_tcp,
            sdp_parameter_sets: config.sdp_parameter_sets,
            quirks: config.quirks,
        };
        let shared = Arc::new(Shared::new(clip, tracks, cameras, settings, stamp_log));
        let accept_shared = Arc::clone(&shared);
        let accept = std::thread::Builder::new()
            .name("sim-accept".to_owned())
            .spawn(move || server::accept_loop(listener, accept_shared))
            .map_err(|error| {
                Error::new(
                    ErrorKind::Connect,
                    format!("starting the simulator's thread: {error}"),
                )
            })?;
        tracing::info!(
            %addr,
            cameras = config.cameras,
            media = ?shared.clip.info,
            "simulator: serving"
        );
        Ok(Simulator {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    /// The address it listens on (with the real port when the config asked
    /// for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many cameras it serves.
    pub fn cameras(&self) -> usize {
        self.shared.cameras.len()
    }

    /// `rtsp://ADDR/camINDEX`, without credentials (an unspecified listen
    /// address such as `0.0.0.0` becomes the loopback address).
    pub fn url(&self, index: usize) -> String {
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr {
                SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
            });
        }
        format!("rtsp://{addr}/cam{index}")
    }

    /// [`url`](Self::url) with the camera's login (from its `auth` or
    /// `digest-auth` fault),
    /// percent-encoded, when it has one. Never log it.
    pub fn url_with_credentials(&self, index: usize) -> String {
        let url = self.url(index);
        let Some((user, password)) = self.shared.cameras.get(index).and_then(|camera| {
            let faults = &camera.faults;
            faults.auth.as_ref().or(faults.digest_auth.as_ref())
        }) else {
            return url;
        };
        // RFC 3986 unreserved characters stay as they are.
        const USERINFO: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'.')
            .remove(b'_')
            .remove(b'~');
        let encode = |text: &str| percent_encoding::utf8_percent_encode(text, USERINFO).to_string();
        url.replacen(
            "rtsp://",
            &format!("rtsp://{}:{}@", encode(user), encode(password)),
            1,
        )
    }

    /// What the cameras send.
    pub fn media(&self) -> &MediaInfo {
        &self.shared.clip.info
    }

    /// The quirks every camera has.
    pub fn quirks(&self) -> Vec<Quirk> {
        self.shared.settings.quirks.list()
    }

    /// The faults of camera `index`.
    pub fn faults(&self, index: usize) -> Option<&Faults> {
        self.shared.cameras.get(index).map(|camera| &camera.faults)
    }

    /// When camera `camera` last sent the frame [stamped](stamp) `index` (the
    /// wall-clock instant its first packet was written to the connection),
    /// over all its sessions; `None` before it sent one. A consumer that
    /// read `index` holds that frame as long as its latency is below one
    /// loop ([`MediaInfo::loop_duration`]).
    pub fn sent_at(&self, camera: usize, index: u32) -> Option<SystemTime> {
        self.shared.sent.get(camera, usize::try_from(index).ok()?)
    }

    /// The counters now.
    pub fn stats(&self) -> SimulatorStats {
        // Relaxed loads: statistics only.
        use std::sync::atomic::Ordering::Relaxed;
        SimulatorStats {
            accepted: self.shared.accepted.load(Relaxed),
            refused: self.shared.refused.load(Relaxed),
            open: self.shared.open_count(),
            bad_requests: self.shared.bad_requests.load(Relaxed),
            cameras: self
                .shared
                .cameras
                .iter()
                .map(|camera| camera.counters.snapshot())
                .collect(),
        }
    }

    /// Stops serving: closes the listener and every connection and joins the
    /// threads (within about 100 ms). Calling it again does nothing.
    pub fn stop(&mut self) {
        self.shared.stop();
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        if let Some(log) = &self.shared.stamp_log {
            log.close();
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Instant;

    use super::*;

    fn small() -> SimulatorConfig {
        SimulatorConfig::default()
            .addr("127.0.0.1:0".parse().unwrap())
            .pattern(PatternOptions::default().size(160, 96).frames(25))
    }

    /// Sends `request` and reads until the blank line after the headers (and
    /// the body, when there is a Content-Length).
    fn exchange(stream: &mut TcpStream, request: &str) -> String {
        stream.write_all(request.as_bytes()).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let text = String::from_utf8_lossy(&got).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .map_or(0, |n| n.parse::<usize>().unwrap());
                if got.len() >= end + 4 + length {
                    return text;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no answer to {request:?}: {text:?}"
            );
            match stream.read(&mut buf) {
                Ok(0) => return text,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(_) => {}
            }
        }
    }

    /// The `Session` id of a SETUP answer.
    fn session_of(answer: &str) -> String {
        let header = answer.lines().find_map(|l| l.strip_prefix("Session: "));
        header.unwrap().split(';').next().unwrap().to_owned()
    }

    #[test]
    fn serves_rtp_over_udp_and_refuses_what_it_is_told_to() {
        use std::net::UdpSocket;
        let simulator = Simulator::start(small().cameras(1).refuse_tcp(true)).unwrap();
        let url = simulator.url(0);
        let mut client = TcpStream::connect(simulator.addr()).unwrap();
        client
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let text = exchange(
            &mut client,
            &format!("SETUP {url}/streamid=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n"),
        );
        assert!(
            text.starts_with("RTSP/1.0 461 Unsupported Transport"),
            "{text}"
        );
        assert!(!text.contains("Transport: RTP/AVP/TCP"), "{text}");
        let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let rtcp = UdpSocket::bind("127.0.0.1:0").unwrap();
        rtp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let (rtp_port, rtcp_port) = (
            rtp.local_addr().unwrap().port(),
            rtcp.local_addr().unwrap().port(),
        );
        let text = exchange(
            &mut client,
            &format!("SETUP {url}/streamid=0 RTSP/1.0\r\nCSeq: 2\r\nTransport: RTP/AVP/UDP;unicast;client_port={rtp_port}-{rtcp_port}\r\n\r\n"),
        );
        assert!(text.starts_with("RTSP/1.0 200 OK"), "{text}");
        let transport = text
            .lines()
            .find_map(|l| l.strip_prefix("Transport: "))
            .unwrap();
        assert!(
            transport.starts_with(&format!(
                "RTP/AVP;unicast;client_port={rtp_port}-{rtcp_port};server_port="
            )),
            "{transport}"
        );
        let session = session_of(&text);
        let text = exchange(
            &mut client,
            &format!("PLAY {url}/ RTSP/1.0\r\nCSeq: 3\r\nSession: {session}\r\n\r\n"),
        );
        assert!(text.starts_with("RTSP/1.0 200 OK"), "{text}");
        // RTP version 2 datagrams, payload type 96, from the server's RTP port.
        let server_rtp: u16 = transport
            .split("server_port=")
            .nth(1)
            .and_then(|ports| ports.split('-').next())
            .and_then(|port| port.parse().ok())
            .unwrap();
        let mut buf = [0u8; 2048];
        for _ in 0..5 {
            let (n, from) = rtp.recv_from(&mut buf).unwrap();
            assert!(
                n > 12 && buf[0] >> 6 == 2 && buf[1] & 0x7f == 96,
                "{:?}",
                &buf[..4]
            );
            assert_eq!(from.port(), server_rtp);
        }
        // A receiver report to the server's RTCP port is read and counted.
        rtcp.send_to(
            &[0x80, 201, 0, 1, 0, 0, 0, 1],
            ("127.0.0.1", server_rtp + 1),
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while simulator.stats().cameras[0].udp_received == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let stats = &simulator.stats().cameras[0];
        assert_eq!((stats.udp_sessions, stats.transport_refusals), (1, 1));
        assert_eq!(stats.udp_received, 1);
        assert!(stats.rtp_packets >= 5, "{stats:?}");

        // And the other way round.
        let simulator = Simulator::start(small().refuse_udp(true)).unwrap();
        let mut client = TcpStream::connect(simulator.addr()).unwrap();
        client
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let url = simulator.url(0);
        let text = exchange(
            &mut client,
            &format!("SETUP {url}/streamid=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP;unicast;client_port=5000-5001\r\n\r\n"),
        );
        assert!(text.starts_with("RTSP/1.0 461"), "{text}");
        assert!(Simulator::start(small().refuse_tcp(true).refuse_udp(true)).is_err());
    }

    #[test]
    fn config_is_validated() {
        for config in [
            small().cameras(0),
            small().max_packet_size(10),
            small().camera_faults(1, Faults::default()),
            small().faults(Faults {
                corrupt: Some(3.0),
                ..Faults::default()
            }),
        ] {
            let err = Simulator::start(config).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
        }
        let config = small()
            .cameras(3)
            .fault("corrupt=0.1".parse().unwrap())
            .fault("cam2:corrupt=0.2".parse().unwrap())
            .fault("cam2:cut-every=3s".parse().unwrap());
        assert_eq!(config.faults_of(0).corrupt, Some(0.1));
        assert_eq!(config.faults_of(2).corrupt, Some(0.2));
        assert_eq!(config.faults_of(2).cut_every, Some(Duration::from_secs(3)));
    }

    #[test]
    fn answers_rtsp_and_stops_promptly() {
        let mut simulator = Simulator::start(
            small()
                .cameras(2)
                .camera_faults(1, "auth=user:p@ss".parse().unwrap()),
        )
        .unwrap();
        assert_eq!(
            simulator.url(1),
            format!("rtsp://{}/cam1", simulator.addr())
        );
        assert_eq!(
            simulator.url_with_credentials(1),
            format!("rtsp://user:p%40ss@{}/cam1", simulator.addr())
        );
        let url = simulator.url(0);
        let mut client = TcpStream::connect(simulator.addr()).unwrap();
        client
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();

        let text = exchange(&mut client, "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n");
        assert!(text.starts_with("RTSP/1.0 200 OK\r\nCSeq: 1\r\n"), "{text}");
        assert!(text.contains("Public: OPTIONS, DESCRIBE"), "{text}");

        let text = exchange(
            &mut client,
            &format!("DESCRIBE {url} RTSP/1.0\r\nCSeq: 2\r\n\r\n"),
        );
        assert!(
            text.contains(&format!("Content-Base: {url}/\r\n")),
            "{text}"
        );
        assert!(text.contains("m=video 0 RTP/AVP 96"), "{text}");

        let missing = simulator.url(2);
        let text = exchange(
            &mut client,
            &format!("DESCRIBE {missing} RTSP/1.0\r\nCSeq: 3\r\n\r\n"),
        );
        assert!(text.starts_with("RTSP/1.0 404 Not Found"), "{text}");

        let locked = simulator.url(1);
        let text = exchange(
            &mut client,
            &format!("DESCRIBE {locked} RTSP/1.0\r\nCSeq: 4\r\n\r\n"),
        );
        assert!(text.starts_with("RTSP/1.0 401 Unauthorized"), "{text}");
        assert!(text.contains("WWW-Authenticate: Basic realm="), "{text}");
        // "user:p@ss"
        let text = exchange(
            &mut client,
            &format!("DESCRIBE {locked} RTSP/1.0\r\nCSeq: 5\r\nAuthorization: Basic dXNlcjpwQHNz\r\n\r\n"),
        );
        assert!(text.starts_with("RTSP/1.0 200 OK"), "{text}");

        let text = exchange(
            &mut client,
            &format!("SETUP {url}/streamid=0 RTSP/1.0\r\nCSeq: 6\r\nTransport: RTP/AVP;multicast;port=5000-5001\r\n\r\n"),
        );
        assert!(
            text.starts_with("RTSP/1.0 461 Unsupported Transport"),
            "{text}"
        );

        let text = exchange(
            &mut client,
            &format!("SETUP {url}/streamid=0 RTSP/1.0\r\nCSeq: 7\r\nTransport: RTP/AVP/TCP;unicast;interleaved=4-5\r\n\r\n"),
        );
        assert!(
            text.contains("Transport: RTP/AVP/TCP;unicast;interleaved=4-5;ssrc="),
            "{text}"
        );
        let session = text
            .lines()
            .find_map(|l| l.strip_prefix("Session: "))
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();

        let text = exchange(
            &mut client,
            &format!("PLAY {url}/ RTSP/1.0\r\nCSeq: 8\r\nSession: wrong\r\n\r\n"),
        );
        assert!(text.starts_with("RTSP/1.0 454"), "{text}");
        let text = exchange(
            &mut client,
            &format!("PLAY {url}/ RTSP/1.0\r\nCSeq: 9\r\nSession: {session}\r\n\r\n"),
        );
        assert!(
            text.contains(&format!("RTP-Info: url={url}/streamid=0;seq=")),
            "{text}"
        );
        // Interleaved media on channels 4 (RTP) and 5 (RTCP) follows.
        let mut media = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while (media.len() < 1000 || simulator.stats().cameras[0].frames < 3)
            && Instant::now() < deadline
        {
            let mut buf = [0u8; 4096];
            if let Ok(n) = client.read(&mut buf) {
                media.extend_from_slice(&buf[..n]);
            }
        }
        let start = media.iter().position(|&b| b == b'$').unwrap();
        assert!(
            matches!(media[start + 1], 4 | 5),
            "{:?}",
            &media[start..start + 4]
        );

        let stats = simulator.stats();
        assert_eq!(stats.cameras[0].sessions, 1);
        assert_eq!(stats.cameras[0].transport_refusals, 1);
        assert_eq!(
            (stats.cameras[0].describes, stats.cameras[1].describes),
            (1, 1)
        );
        assert_eq!(stats.cameras[1].auth_failures, 1);
        assert!(stats.cameras[0].frames >= 3, "{stats:?}");

        // Garbage gets a 400 and the connection closes.
        let mut other = TcpStream::connect(simulator.addr()).unwrap();
        other
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let text = exchange(&mut other, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(text.starts_with("RTSP/1.0 400 Bad Request"), "{text}");

        let begun = Instant::now();
        simulator.stop();
        assert!(
            begun.elapsed() < Duration::from_millis(500),
            "{:?}",
            begun.elapsed()
        );
        assert_eq!(simulator.stats().open, 0);
        simulator.stop();
    }
}
