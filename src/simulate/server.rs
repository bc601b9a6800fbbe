//! The RTSP server: one accept thread, one thread per connection. A
//! connection's thread answers its requests and, once it plays, paces the
//! clip's frames in real time through its own [`RtpMuxer`], sending every RTP
//! and RTCP packet interleaved in the connection (`$`, channel, length), or
//! by UDP to the client's ports ([`UdpLink`]) when it set up RTP over UDP.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

use super::clock_faults;
use super::digest::{DigestGuard, Verdict};
use super::faults::Faults;
use super::media::{Clip, ClipFrame};
use super::quirks::{ClientGate, Quirk, Quirks};
use super::rtsp::{self, Offer, Parsed, Request, Response, Status, TransportRequest};
use super::send_record::{SendTable, StampLog};
use super::stamp::SentFrame;
use super::tracks::{
    self, AudioClip, MetadataPacketizer, AUDIO_TRACK, METADATA_INTERVAL, METADATA_TRACK,
    VIDEO_TRACK,
};
use super::udp::{UdpLink, UdpTally};
use super::CameraStats;
use crate::ffmpeg::{is_rtcp, RtpMuxer, RtpMuxerOptions, RTP_CLOCK_RATE};

/// The longest a connection thread waits before checking the stop flag.
const POLL: Duration = Duration::from_millis(50);
/// The session timeout announced in `Session` headers.
const SESSION_TIMEOUT_SECS: u64 = 60;
/// A connection that sends nothing for this long while no media flows to it
/// (before `PLAY`, or stalled) is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(2 * SESSION_TIMEOUT_SECS);
/// The methods this server answers, for `OPTIONS`.
const PUBLIC: &str = "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER, SET_PARAMETER";
/// The realm of the Basic challenge.
const REALM: &str = "rtsp-ingest simulator";

/// Server settings taken from the config.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) max_packet_size: u32,
    pub(crate) write_timeout: Duration,
    pub(crate) max_connections: usize,
    /// The transports SETUP accepts (the others get 461).
    pub(crate) offer: Offer,
    /// Accept RTP over TCP but send nothing over it.
    pub(crate) silent_tcp: bool,
    /// Whether the video's SDP carries its parameter sets and size.
    pub(crate) sdp_parameter_sets: bool,
    /// The camera quirks to imitate.
    pub(crate) quirks: Quirks,
}

/// The tracks every camera offers beside its video.
#[derive(Debug, Default)]
pub(crate) struct ExtraTracks {
    pub(crate) audio: Option<AudioClip>,
    pub(crate) metadata: bool,
}

impl ExtraTracks {
    /// Whether the cameras offer track `track` (`streamid=N`).
    fn offers(&self, track: usize) -> bool {
        match track {
            VIDEO_TRACK => true,
            AUDIO_TRACK => self.audio.is_some(),
            METADATA_TRACK => self.metadata,
            _ => false,
        }
    }
}

/// Per-camera counters (relaxed atomics: statistics only, no data is
/// published through them).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    sessions: AtomicU64,
    playing: AtomicU64,
    frames: AtomicU64,
    rtp_packets: AtomicU64,
    bytes: AtomicU64,
    cuts: AtomicU64,
    stalls: AtomicU64,
    corrupted_bytes: AtomicU64,
    auth_failures: AtomicU64,
    describes: AtomicU64,
    transport_refusals: AtomicU64,
    udp_sessions: AtomicU64,
    udp_lost: AtomicU64,
    tcp_lost: AtomicU64,
    udp_reordered: AtomicU64,
    udp_duplicated: AtomicU64,
    udp_received: AtomicU64,
    video_setups: AtomicU64,
    audio_setups: AtomicU64,
    metadata_setups: AtomicU64,
    video_stops: AtomicU64,
    audio_packets: AtomicU64,
    metadata_packets: AtomicU64,
    busy_refusals: AtomicU64,
    session_timeouts: AtomicU64,
    stale_nonces: AtomicU64,
    digest_logins: AtomicU64,
}

fn add(counter: &AtomicU64, n: u64) {
    // Relaxed: a statistic; nothing else is ordered by it.
    counter.fetch_add(n, Ordering::Relaxed);
}

fn load(counter: &AtomicU64) -> u64 {
    // Relaxed: see `add`.
    counter.load(Ordering::Relaxed)
}

impl Counters {
    pub(crate) fn snapshot(&self) -> CameraStats {
        CameraStats {
            sessions: load(&self.sessions),
            playing: load(&self.playing),
            frames: load(&self.frames),
            rtp_packets: load(&self.rtp_packets),
            bytes: load(&self.bytes),
            cuts: load(&self.cuts),
            stalls: load(&self.stalls),
            corrupted_bytes: load(&self.corrupted_bytes),
            auth_failures: load(&self.auth_failures),
            describes: load(&self.describes),
            transport_refusals: load(&self.transport_refusals),
            udp_sessions: load(&self.udp_sessions),
            udp_lost: load(&self.udp_lost),
            tcp_lost: load(&self.tcp_lost),
            udp_reordered: load(&self.udp_reordered),
            udp_duplicated: load(&self.udp_duplicated),
            udp_received: load(&self.udp_received),
            video_setups: load(&self.video_setups),
            audio_setups: load(&self.audio_setups),
            metadata_setups: load(&self.metadata_setups),
            video_stops: load(&self.video_stops),
            audio_packets: load(&self.audio_packets),
            metadata_packets: load(&self.metadata_packets),
            busy_refusals: load(&self.busy_refusals),
            session_timeouts: load(&self.session_timeouts),
            stale_nonces: load(&self.stale_nonces),
            digest_logins: load(&self.digest_logins),
        }
    }
}

/// One simulated camera.
#[derive(Debug)]
pub(crate) struct Camera {
    pub(crate) faults: Faults,
    pub(crate) counters: Counters,
    /// The clip at the size of the `resize-after` fault, if it has one.
    pub(crate) resized: Option<Clip>,
    /// The `one-client` quirk's session slot.
    pub(crate) gate: ClientGate,
}

/// What every thread of one simulator shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) clip: Clip,
    pub(crate) tracks: ExtraTracks,
    pub(crate) cameras: Vec<Camera>,
    pub(crate) settings: Settings,
    /// When each camera last sent each stamp index.
    pub(crate) sent: SendTable,
    /// Every frame sent, as a line, when the config asked for a stamp log.
    pub(crate) stamp_log: Option<StampLog>,
    stop: AtomicBool,
    /// Clones of the open connections' sockets, so `stop` can shut them
    /// down and unblock a thread stuck in a write.
    open: Mutex<Vec<(u64, TcpStream)>>,
    pub(crate) accepted: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) bad_requests: AtomicU64,
}

impl Shared {
    pub(crate) fn new(
        clip: Clip,
        tracks: ExtraTracks,
        cameras: Vec<Camera>,
        settings: Settings,
        stamp_log: Option<StampLog>,
    ) -> Self {
        Self {
            sent: SendTable::new(cameras.len(), clip.frames.len()),
            stamp_log,
            clip,
            tracks,
            cameras,
            settings,
            stop: AtomicBool::new(false),
            open: Mutex::new(Vec::new()),
            accepted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            bad_requests: AtomicU64::new(0),
        }
    }

    fn stopping(&self) -> bool {
        // Relaxed: the flag carries no data; threads only need to see it
        // eventually, and each checks it at least every `POLL`.
        self.stop.load(Ordering::Relaxed)
    }

    /// Asks every thread to end, and unblocks those in socket calls.
    pub(crate) fn stop(&self) {
        // Relaxed: see `stopping`.
        self.stop.store(true, Ordering::Relaxed);
        for (_, stream) in self.open_connections().iter() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    fn open_connections(&self) -> std::sync::MutexGuard<'_, Vec<(u64, TcpStream)>> {
        // A panicking connection thread leaves a consistent list behind.
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn open_count(&self) -> usize {
        self.open_connections().len()
    }
}

/// The accept loop: runs until `shared.stop()`, then joins every connection
/// thread.
pub(crate) fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    let mut next_id = 0u64;
    while !shared.stopping() {
        match listener.accept() {
            Ok((stream, peer)) => {
                add(&shared.accepted, 1);
                workers.retain(|worker| !worker.is_finished());
                if shared.open_count() >= shared.settings.max_connections {
                    add(&shared.refused, 1);
                    tracing::warn!(%peer, "simulator: too many connections, refusing");
                    let _ = stream.shutdown(Shutdown::Both);
                    continue;
                }
                next_id += 1;
                if let Some(worker) = spawn_connection(next_id, stream, peer, &shared) {
                    workers.push(worker);
                }
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(10));
            }
            Err(error) => {
                tracing::warn!(%error, "simulator: accept failed");
                thread::sleep(Duration::from_millis(10));
            }
        }
    }
    shared.stop();
    for worker in workers {
        let _ = worker.join();
    }
}

fn spawn_connection(
    id: u64,
    stream: TcpStream,
    peer: SocketAddr,
    shared: &Arc<Shared>,
) -> Option<JoinHandle<()>> {
    let setup = || -> io::Result<TcpStream> {
        stream.set_nonblocking(false)?;
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(shared.settings.write_timeout))?;
        stream.set_read_timeout(Some(POLL))?;
        stream.try_clone()
    };
    let clone = match setup() {
        Ok(clone) => clone,
        Err(error) => {
            tracing::warn!(%peer, %error, "simulator: cannot set up a connection");
            return None;
        }
    };
    shared.open_connections().push((id, clone));
    // A stop that raced with this accept: shut the new socket down too.
    if shared.stopping() {
        let _ = stream.shutdown(Shutdown::Both);
    }
    let thread_shared = Arc::clone(shared);
    let spawned = thread::Builder::new()
        .name(format!("sim-conn-{id}"))
        .spawn(move || {
            let mut connection = Connection::new(stream, peer, &thread_shared);
            connection.run();
            connection.finish();
            thread_shared
                .open_connections()
                .retain(|(open, _)| *open != id);
        });
    match spawned {
        Ok(worker) => Some(worker),
        Err(error) => {
            tracing::warn!(%peer, %error, "simulator: cannot start a connection thread");
            let mut open = shared.open_connections();
            if let Some(at) = open.iter().position(|(open, _)| *open == id) {
                let (_, stream) = open.swap_remove(at);
                let _ = stream.shutdown(Shutdown::Both);
            }
            None
        }
    }
}

/// Whether a connection goes on after a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
}

/// A SETUP session.
struct Session {
    id: String,
    camera: usize,
    /// The URI the track was set up with (for `RTP-Info`).
    track_uri: String,
    /// How its RTP and RTCP go to the client.
    link: Link,
    ssrc: u32,
    /// Whether the video track (`streamid=0`) was set up.
    video: bool,
    /// The other tracks set up (audio, metadata), each with its own link:
    /// their own interleaved channels, or their own UDP ports.
    extra: Vec<(usize, Link)>,
    play: Option<Playback>,
}

/// How a session's packets reach the client.
enum Link {
    /// Interleaved in the RTSP connection on these channels (RTP, RTCP).
    Interleaved(u8, u8),
    /// By UDP.
    Udp(Box<UdpLink>),
}

impl Link {
    fn udp(&self) -> Option<&UdpLink> {
        match self {
            Link::Udp(udp) => Some(udp),
            Link::Interleaved(..) => None,
        }
    }

    fn udp_mut(&mut self) -> Option<&mut UdpLink> {
        match self {
            Link::Udp(udp) => Some(udp),
            Link::Interleaved(..) => None,
        }
    }
}

/// A playing session's media state.
struct Playback {
    muxer: RtpMuxer,
    started: Instant,
    /// The next frame to send, counted from `PLAY` across loops.
    next: u64,
    /// The session's number among its camera's (from 1), for the stamp log.
    number: u64,
    stalled: bool,
    corrupter: Option<Corrupter>,
    /// Once the `resize-after` fault struck: the first frame sent from the
    /// resized clip, and the 90 kHz time its frames are offset by.
    resized_at: Option<(u64, i64)>,
    /// Whether video is sent (set up, and not stopped by `video-stops-after`).
    video: bool,
    /// The camera's pause before each keyframe, in 90 kHz units.
    pause: i64,
    /// Whether the last packetized frame waits in the muxer for its due
    /// time (the first frame after a keyframe pause).
    held: bool,
    audio: Option<AudioPlay>,
    metadata: Option<MetadataPlay>,
}

impl Playback {
    /// The links of the tracks beside the video.
    fn extra_links(&self) -> impl Iterator<Item = &Link> {
        let audio = self.audio.as_ref().map(|audio| &audio.link);
        let metadata = self.metadata.as_ref().map(|metadata| &metadata.link);
        audio.into_iter().chain(metadata)
    }

    fn extra_links_mut(&mut self) -> impl Iterator<Item = &mut Link> {
        let audio = self.audio.as_mut().map(|audio| &mut audio.link);
        let metadata = self.metadata.as_mut().map(|metadata| &mut metadata.link);
        audio.into_iter().chain(metadata)
    }
}

/// A playing session's audio track.
struct AudioPlay {
    muxer: RtpMuxer,
    /// The next frame to send, counted from `PLAY` across loops.
    next: u64,
    link: Link,
}

/// A playing session's metadata track.
struct MetadataPlay {
    packetizer: MetadataPacketizer,
    /// The next document to send, one per [`METADATA_INTERVAL`].
    next: u64,
    link: Link,
}

/// The frame camera `camera`'s session `play` sends `n`-th, and its `pts` and
/// `dts`: from the resized clip once the resize fault struck, with timestamps
/// going on from where the first clip stopped.
fn nth<'s>(
    shared: &'s Shared,
    camera: usize,
    play: &Playback,
    n: u64,
) -> (&'s ClipFrame, i64, i64) {
    match (play.resized_at, &shared.cameras[camera].resized) {
        (Some((first, offset)), Some(clip)) if n >= first => {
            let (frame, pts, dts) = clip.nth_paused(n - first, play.pause);
            (frame, offset + pts, offset + dts)
        }
        _ => shared.clip.nth_paused(n, play.pause),
    }
}

/// Damages RTP payload bytes with a fixed probability per byte, drawing the
/// gaps between damaged bytes from the geometric distribution (one random
/// number per damaged byte, not per byte).
struct Corrupter {
    probability: f64,
    rng: fastrand::Rng,
    /// Undamaged payload bytes before the next damaged one.
    gap: u64,
}

impl Corrupter {
    fn new(probability: f64) -> Option<Self> {
        (probability > 0.0).then(|| {
            let mut corrupter = Self {
                probability,
                rng: fastrand::Rng::new(),
                gap: 0,
            };
            corrupter.gap = corrupter.draw_gap();
            corrupter
        })
    }

    fn draw_gap(&mut self) -> u64 {
        if self.probability >= 1.0 {
            return 0;
        }
        // Inverse CDF of the geometric distribution on {0, 1, ...}.
        let uniform = self.rng.f64(); // in [0, 1)
        let gap = ((1.0 - uniform).ln() / (1.0 - self.probability).ln()).floor();
        if gap.is_finite() && gap < 1e15 {
            gap as u64
        } else {
            u64::MAX
        }
    }

    /// Damages `payload`; returns how many bytes it damaged.
    fn corrupt(&mut self, payload: &mut [u8]) -> u64 {
        let mut damaged = 0;
        let mut at = 0usize;
        loop {
            let left = (payload.len() - at) as u64;
            if self.gap >= left {
                self.gap -= left;
                return damaged;
            }
            at += usize::try_from(self.gap).unwrap_or(usize::MAX);
            payload[at] ^= self.rng.u8(1..=255);
            damaged += 1;
            at += 1;
            self.gap = self.draw_gap();
        }
    }
}

/// The offset of an RTP packet's payload: after the fixed header, the CSRCs
/// and the header extension; `None` for a packet too short for them.
fn rtp_payload_offset(packet: &[u8]) -> Option<usize> {
    let first = *packet.first()?;
    let mut offset = 12 + 4 * usize::from(first & 0x0f);
    if first & 0x10 != 0 {
        let words = packet.get(offset + 2..offset + 4)?;
        offset += 4 + 4 * usize::from(u16::from_be_bytes([words[0], words[1]]));
    }
    (offset <= packet.len()).then_some(offset)
}

/// One client connection.
struct Connection<'a> {
    stream: TcpStream,
    peer: SocketAddr,
    shared: &'a Shared,
    input: Vec<u8>,
    /// Bytes of an interleaved frame from the client still to discard.
    skip: usize,
    session: Option<Session>,
    last_input: Instant,
    /// The last sign of life of the session (an answered request, or RTCP
    /// from the client), for the `session-timeout` fault.
    last_keepalive: Instant,
    /// The connection's Digest nonces (`digest-auth` fault).
    digest: DigestGuard,
    /// Reused for each frame's interleaved packets.
    out: Vec<u8>,
}

impl<'a> Connection<'a> {
    fn new(stream: TcpStream, peer: SocketAddr, shared: &'a Shared) -> Self {
        tracing::debug!(%peer, "simulator: connection opened");
        Self {
            stream,
            peer,
            shared,
            input: Vec::new(),
            skip: 0,
            session: None,
            last_input: Instant::now(),
            last_keepalive: Instant::now(),
            digest: DigestGuard::new(REALM),
            out: Vec::new(),
        }
    }

    fn run(&mut self) {
        let mut buf = [0u8; 16 * 1024];
        loop {
            if self.shared.stopping() {
                return;
            }
            if self.send_due_media() == Flow::Close {
                return;
            }
            let wait = self
                .next_media_in()
                .unwrap_or(POLL)
                .clamp(Duration::from_millis(1), POLL);
            if self.stream.set_read_timeout(Some(wait)).is_err() {
                return;
            }
            match self.stream.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    self.last_input = Instant::now();
                    if self.take_input(&buf[..n]) == Flow::Close {
                        return;
                    }
                }
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => return,
            }
            if self.session_timed_out() {
                return;
            }
            if !self.media_flowing() && self.last_input.elapsed() > IDLE_TIMEOUT {
                tracing::debug!(peer = %self.peer, "simulator: idle connection closed");
                return;
            }
        }
    }

    /// Whether the `session-timeout` fault drops the session now: nothing
    /// from the client for longer than the timeout.
    fn session_timed_out(&self) -> bool {
        let Some(session) = &self.session else {
            return false;
        };
        let camera = &self.shared.cameras[session.camera];
        let Some(timeout) = camera.faults.session_timeout else {
            return false;
        };
        if self.last_keepalive.elapsed() <= timeout {
            return false;
        }
        add(&camera.counters.session_timeouts, 1);
        tracing::debug!(peer = %self.peer, "simulator: session timed out (no keepalive)");
        true
    }

    /// Ends the session (updating the camera's counters) and the connection.
    fn finish(&mut self) {
        self.end_session();
        let _ = self.stream.shutdown(Shutdown::Both);
        tracing::debug!(peer = %self.peer, "simulator: connection closed");
    }

    fn end_session(&mut self) {
        if let Some(session) = self.session.take() {
            if self.shared.settings.quirks.has(Quirk::OneClient) {
                self.shared.cameras[session.camera].gate.release();
            }
            if session.play.is_some() {
                let counters = &self.shared.cameras[session.camera].counters;
                // Relaxed: a statistic (see `add`).
                counters.playing.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    fn media_flowing(&self) -> bool {
        self.session
            .as_ref()
            .and_then(|session| session.play.as_ref())
            .is_some_and(|play| !play.stalled)
    }

    /// How long until the next frame of any track is due, when media flows.
    fn next_media_in(&self) -> Option<Duration> {
        let session = self.session.as_ref()?;
        let play = session.play.as_ref().filter(|play| !play.stalled)?;
        let faults = &self.shared.cameras[session.camera].faults;
        let now = Instant::now();
        let mut wait = POLL;
        let mut dues = Vec::with_capacity(3);
        if play.video {
            dues.push(self.video_due(session.camera, play));
        }
        if let (Some(audio), Some(clip)) = (&play.audio, &self.shared.tracks.audio) {
            dues.push(play.started + clip.due(audio.next));
        }
        if let Some(metadata) = &play.metadata {
            dues.push(play.started + metadata_due(metadata.next));
        }
        for due in dues {
            wait = wait.min(due.saturating_duration_since(now));
        }
        // Deadlines already passed have taken effect (only the video stop
        // leaves media flowing); waiting for them again would spin.
        let video_stops = faults.video_stops_after.filter(|_| play.video);
        let deadlines = [faults.cut_every, faults.stall_after, video_stops];
        for deadline in deadlines.into_iter().flatten() {
            wait = wait.min((play.started + deadline).saturating_duration_since(now));
        }
        for link in std::iter::once(&session.link).chain(play.extra_links()) {
            if let Some(at) = link.udp().and_then(UdpLink::next_due) {
                wait = wait.min(at.saturating_duration_since(now));
            }
        }
        Some(wait)
    }

    /// When the video frame to send next is due: the held one, else the
    /// next one.
    fn video_due(&self, camera: usize, play: &Playback) -> Instant {
        let n = if play.held {
            play.next.saturating_sub(1)
        } else {
            play.next
        };
        let (_, _, dts) = nth(self.shared, camera, play, n);
        play.started + ticks(dts)
    }

    /// Feeds bytes from the client: skips interleaved frames, answers requests.
    fn take_input(&mut self, mut bytes: &[u8]) -> Flow {
        if self.skip > 0 {
            let skipped = self.skip.min(bytes.len());
            self.skip -= skipped;
            bytes = &bytes[skipped..];
        }
        self.input.extend_from_slice(bytes);
        loop {
            match rtsp::parse(&self.input) {
                Ok(Parsed::Incomplete) => return Flow::Continue,
                Ok(Parsed::Interleaved { len, .. }) => {
                    // The client's RTCP (receiver reports) keeps its session alive.
                    self.last_keepalive = Instant::now();
                    if self.input.len() >= len {
                        self.input.drain(..len);
                    } else {
                        self.skip = len - self.input.len();
                        self.input.clear();
                        return Flow::Continue;
                    }
                }
                Ok(Parsed::Request(mut request, len)) => {
                    self.input.drain(..len);
                    let uri = std::mem::take(&mut request.uri);
                    request.uri = self.shared.settings.quirks.request_uri(uri);
                    if self.handle(&request) == Flow::Close {
                        return Flow::Close;
                    }
                }
                Err(error) => {
                    add(&self.shared.bad_requests, 1);
                    tracing::debug!(peer = %self.peer, ?error, "simulator: bad request");
                    let response = Response::new(error.status()).header("Connection", "close");
                    let _ = self.stream.write_all(&response.to_bytes(None));
                    return Flow::Close;
                }
            }
        }
    }

    fn respond(&mut self, request: &Request, response: Response) -> Flow {
        tracing::trace!(
            peer = %self.peer,
            method = %request.method,
            status = response.status().0,
            "simulator: request"
        );
        let wire = self.shared.settings.quirks.wire();
        match self
            .stream
            .write_all(&response.to_wire(request.cseq(), &wire))
        {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Close,
        }
    }

    fn handle(&mut self, request: &Request) -> Flow {
        if request.cseq().is_none() {
            add(&self.shared.bad_requests, 1);
            return self.respond(request, Response::new(Status::BAD_REQUEST));
        }
        if request.method == "OPTIONS" {
            if request.session().is_some() && self.session_error(request).is_none() {
                self.last_keepalive = Instant::now();
            }
            return self.respond(request, Response::new(Status::OK).header("Public", PUBLIC));
        }
        if !matches!(
            request.method.as_str(),
            "DESCRIBE" | "SETUP" | "PLAY" | "TEARDOWN" | "GET_PARAMETER" | "SET_PARAMETER"
        ) {
            let response = Response::new(Status::NOT_IMPLEMENTED).header("Public", PUBLIC);
            return self.respond(request, response);
        }
        // Keepalives may name the aggregate `*` or the session's camera.
        let camera = match rtsp::target(&request.uri, self.shared.cameras.len()) {
            Some(target) => target.camera,
            None if request.method.ends_with("_PARAMETER") => match &self.session {
                Some(session) if request.uri == "*" => session.camera,
                _ => return self.respond(request, Response::new(Status::NOT_FOUND)),
            },
            None => return self.respond(request, Response::new(Status::NOT_FOUND)),
        };
        if let Some(refused) = self.digest_refusal(request, camera) {
            return self.respond(request, refused);
        }
        if let Some((user, password)) = &self.shared.cameras[camera].faults.auth {
            if !rtsp::basic_auth_matches(request.header("Authorization"), user, password) {
                add(&self.shared.cameras[camera].counters.auth_failures, 1);
                let challenge = format!("Basic realm=\"{REALM}\"");
                let response =
                    Response::new(Status::UNAUTHORIZED).header("WWW-Authenticate", challenge);
                return self.respond(request, response);
            }
        }
        if request.session().is_some() && self.session_error(request).is_none() {
            self.last_keepalive = Instant::now();
        }
        match request.method.as_str() {
            "DESCRIBE" => {
                add(&self.shared.cameras[camera].counters.describes, 1);
                self.describe(request, camera)
            }
            "SETUP" => self.setup(request, camera),
            "PLAY" => self.play(request, camera),
            "TEARDOWN" => {
                if let Some(status) = self.session_error(request) {
                    return self.respond(request, Response::new(status));
                }
                self.end_session();
                self.respond(request, Response::new(Status::OK));
                Flow::Close
            }
            _ => {
                // GET_PARAMETER / SET_PARAMETER: keepalives.
                if let Some(status) = self.session_error(request) {
                    return self.respond(request, Response::new(status));
                }
                let mut response = Response::new(Status::OK);
                if let Some(session) = &self.session {
                    response = response.header("Session", session.id.clone());
                }
                self.respond(request, response)
            }
        }
    }

    /// With the `digest-auth` fault: the `401` for a request without the
    /// right Digest login (`stale=true` when it used a retired nonce).
    fn digest_refusal(&mut self, request: &Request, camera: usize) -> Option<Response> {
        let faults = &self.shared.cameras[camera].faults;
        let (user, password) = faults.digest_auth.as_ref()?;
        let counters = &self.shared.cameras[camera].counters;
        let verdict = self.digest.check(
            request.header("Authorization"),
            &request.method,
            (user, password),
            faults.digest_nonce_every,
        );
        let stale = match verdict {
            Verdict::Authorized => {
                add(&counters.digest_logins, 1);
                return None;
            }
            Verdict::Stale => {
                add(&counters.stale_nonces, 1);
                true
            }
            Verdict::Refused => {
                add(&counters.auth_failures, 1);
                false
            }
        };
        Some(
            Response::new(Status::UNAUTHORIZED)
                .header("WWW-Authenticate", self.digest.challenge(stale)),
        )
    }

    /// `Some(454)` when the request names a session that is not this one.
    fn session_error(&self, request: &Request) -> Option<Status> {
        match (request.session(), &self.session) {
            (Some(asked), Some(session)) if asked == session.id => None,
            (Some(_), _) => Some(Status::SESSION_NOT_FOUND),
            (None, _) => None,
        }
    }

    fn describe(&mut self, request: &Request, camera: usize) -> Flow {
        if !request
            .header("Accept")
            .is_none_or(|accept| accept.contains("application/sdp") || accept.contains("*/*"))
        {
            return self.respond(request, Response::new(Status(406, "Not Acceptable")));
        }
        let base = request.uri.split(['?', '#']).next().unwrap_or("");
        let base = format!("{}/", base.trim_end_matches('/'));
        let mut sdp = self
            .shared
            .clip
            .sdp(camera, self.shared.settings.sdp_parameter_sets);
        if let Some(fps) = self.shared.cameras[camera].faults.sdp_framerate {
            sdp = declare_framerate(&sdp, fps);
        }
        if let Some(audio) = &self.shared.tracks.audio {
            sdp.push_str(&audio.sdp);
        }
        if self.shared.tracks.metadata {
            sdp.push_str(&tracks::metadata_sdp());
        }
        let quirks = self.shared.settings.quirks;
        let response = Response::new(Status::OK)
            .header("Content-Base", quirks.content_base(base))
            .body("application/sdp", quirks.edit_sdp(&sdp));
        self.respond(request, response)
    }

    fn setup(&mut self, request: &Request, camera: usize) -> Flow {
        let Some(target) = rtsp::target(&request.uri, self.shared.cameras.len()) else {
            return self.respond(request, Response::new(Status::NOT_FOUND));
        };
        let track = match target.rest {
            "" => Some(VIDEO_TRACK),
            rest => rest
                .strip_prefix("streamid=")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|&track| self.shared.tracks.offers(track)),
        };
        let Some(track) = track else {
            return self.respond(request, Response::new(Status::NOT_FOUND));
        };
        if let Some(status) = self.session_error(request) {
            return self.respond(request, Response::new(status));
        }
        if self
            .session
            .as_ref()
            .is_some_and(|s| s.play.is_some() || s.camera != camera)
        {
            return self.respond(request, Response::new(Status::NOT_VALID_IN_STATE));
        }
        let offer = self.shared.settings.offer;
        let asked = rtsp::parse_transport(request.header("Transport").unwrap_or(""), offer);
        let counters = &self.shared.cameras[camera].counters;
        let link = match asked {
            TransportRequest::Interleaved(rtp, rtcp) => Link::Interleaved(rtp, rtcp),
            TransportRequest::Udp(rtp, rtcp) => {
                let bound = self.stream.local_addr().and_then(|local| {
                    let faults = &self.shared.cameras[camera].faults;
                    UdpLink::bind(local.ip(), self.peer.ip(), (rtp, rtcp), faults)
                });
                match bound {
                    Ok(link) => {
                        add(&counters.udp_sessions, 1);
                        Link::Udp(Box::new(link))
                    }
                    Err(error) => {
                        tracing::warn!(%error, "simulator: cannot bind UDP ports");
                        let status = Status(500, "Internal Server Error");
                        return self.respond(request, Response::new(status));
                    }
                }
            }
            TransportRequest::Unsupported => {
                add(&counters.transport_refusals, 1);
                let mut response = Response::new(Status::UNSUPPORTED_TRANSPORT);
                if offer.tcp {
                    response = response.header("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1");
                }
                return self.respond(request, response);
            }
        };
        let ssrc = self
            .session
            .as_ref()
            .map_or_else(|| fastrand::u32(..), |session| session.ssrc);
        let quirks = self.shared.settings.quirks;
        let ssrc_param = quirks.transport_ssrc(ssrc);
        let transport = match &link {
            Link::Interleaved(rtp, rtcp) => {
                format!("RTP/AVP/TCP;unicast;interleaved={rtp}-{rtcp}{ssrc_param};mode=\"PLAY\"")
            }
            Link::Udp(udp) => {
                let (TransportRequest::Udp(rtp, rtcp), Ok((server_rtp, server_rtcp))) =
                    (asked, udp.server_ports())
                else {
                    let status = Status(500, "Internal Server Error");
                    return self.respond(request, Response::new(status));
                };
                format!(
                    "RTP/AVP;unicast;client_port={rtp}-{rtcp};server_port={server_rtp}-{server_rtcp}\
                     {ssrc_param};mode=\"PLAY\""
                )
            }
        };
        // A one-client camera takes a new session only while it has none.
        if self.session.is_none()
            && quirks.has(Quirk::OneClient)
            && !self.shared.cameras[camera].gate.try_take()
        {
            add(&counters.busy_refusals, 1);
            return self.respond(request, Response::new(Status::NOT_ENOUGH_BANDWIDTH));
        }
        add(
            match track {
                VIDEO_TRACK => &counters.video_setups,
                AUDIO_TRACK => &counters.audio_setups,
                _ => &counters.metadata_setups,
            },
            1,
        );
        let timeout_secs = self.shared.cameras[camera]
            .faults
            .session_timeout
            .map_or(SESSION_TIMEOUT_SECS, |timeout| {
                timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0)
            });
        let session = self.session.get_or_insert_with(|| Session {
            id: format!("{:016X}", fastrand::u64(..)),
            camera,
            track_uri: String::new(),
            link: Link::Interleaved(0, 1),
            ssrc,
            video: false,
            extra: Vec::new(),
            play: None,
        });
        if track == VIDEO_TRACK {
            session.video = true;
            session.link = link;
            session.track_uri = request.uri.clone();
        } else {
            session.extra.retain(|(set_up, _)| *set_up != track);
            session.extra.push((track, link));
        }
        let response = Response::new(Status::OK)
            .header("Transport", transport)
            .header("Session", format!("{};timeout={timeout_secs}", session.id));
        self.respond(request, response)
    }

    fn play(&mut self, request: &Request, camera: usize) -> Flow {
        if let Some(status) = self.session_error(request) {
            return self.respond(request, Response::new(status));
        }
        let Some(session) = self.session.as_mut().filter(|s| s.camera == camera) else {
            return self.respond(request, Response::new(Status::NOT_VALID_IN_STATE));
        };
        let session_header = session.id.clone();
        if session.play.is_some() {
            // Already playing: acknowledge without restarting.
            let response = Response::new(Status::OK)
                .header("Session", session_header)
                .header("Range", "npt=0.000-");
            return self.respond(request, response);
        }
        let options = RtpMuxerOptions::default()
            .max_packet_size(self.shared.settings.max_packet_size)
            .ssrc(session.ssrc)
            .first_seq(fastrand::u16(..0x8000));
        let muxer = match RtpMuxer::new(&self.shared.clip.params, &options) {
            Ok(muxer) => muxer,
            Err(error) => {
                tracing::warn!(%error, "simulator: cannot start the RTP muxer");
                return self.respond(request, Response::new(Status(500, "Internal Server Error")));
            }
        };
        let faults = &self.shared.cameras[camera].faults;
        let counters = &self.shared.cameras[camera].counters;
        let mut audio = None;
        let mut metadata = None;
        // The links move into the playback: a playing session takes no SETUP.
        for (track, link) in std::mem::take(&mut session.extra) {
            match (track, &self.shared.tracks.audio) {
                (AUDIO_TRACK, Some(clip)) => {
                    let options = clip
                        .muxer_options()
                        .max_packet_size(self.shared.settings.max_packet_size);
                    match RtpMuxer::new(&clip.params, &options) {
                        Ok(muxer) => {
                            audio = Some(AudioPlay {
                                muxer,
                                next: 0,
                                link,
                            });
                        }
                        Err(error) => {
                            tracing::warn!(%error, "simulator: cannot start the audio muxer");
                            let status = Status(500, "Internal Server Error");
                            return self.respond(request, Response::new(status));
                        }
                    }
                }
                (METADATA_TRACK, _) => {
                    metadata = Some(MetadataPlay {
                        packetizer: MetadataPacketizer::new(self.shared.settings.max_packet_size),
                        next: 0,
                        link,
                    });
                }
                _ => {}
            }
        }
        // Relaxed: a statistic; the number only needs to be unique.
        let number = counters.sessions.fetch_add(1, Ordering::Relaxed) + 1;
        let pause = faults.keyframe_pause.map_or(0, |pause| {
            i64::try_from(pause.as_micros() * 90 / 1000).unwrap_or(i64::MAX / 4)
        });
        session.play = Some(Playback {
            muxer,
            started: Instant::now(),
            next: 0,
            number,
            stalled: false,
            corrupter: faults.corrupt.and_then(Corrupter::new),
            resized_at: None,
            video: session.video,
            pause,
            held: false,
            audio,
            metadata,
        });
        add(&counters.playing, 1);
        // Packetize the first frame now: RTP-Info tells its sequence number
        // and timestamp, and the response must precede every packet.
        if session.video && self.packetize_next().is_err() {
            return self.respond(request, Response::new(Status(500, "Internal Server Error")));
        }
        let quirks = self.shared.settings.quirks;
        let mut rtp_info = String::new();
        let mut before = Vec::new();
        if let Some(session) = self.session.as_ref() {
            let first = session
                .play
                .as_ref()
                .and_then(|play| play.muxer.packets().find(|p| !is_rtcp(p) && p.len() >= 12));
            if let Some(first) = first {
                let seq = u16::from_be_bytes([first[2], first[3]]);
                let rtptime = u32::from_be_bytes([first[4], first[5], first[6], first[7]]);
                let track = &session.track_uri;
                let ssrc = quirks.rtp_info_ssrc(session.ssrc);
                rtp_info = format!("url={track};seq={seq};rtptime={rtptime}{ssrc}");
                if let Link::Interleaved(_, rtcp) = session.link {
                    before = quirks.before_play(rtcp, session.ssrc, rtptime);
                }
            }
        }
        if !before.is_empty() && self.stream.write_all(&before).is_err() {
            return Flow::Close;
        }
        // A camera that sends its first frame before it answers.
        let early = quirks.rtp_before_play() && session_video(&self.session);
        if early && self.flush_packets() == Flow::Close {
            return Flow::Close;
        }
        let mut response = Response::new(Status::OK)
            .header("Session", session_header)
            .header("Range", "npt=0.000-");
        if !rtp_info.is_empty() {
            response = response.header("RTP-Info", rtp_info);
        }
        if self.respond(request, response) == Flow::Close {
            return Flow::Close;
        }
        match self.session.as_mut().and_then(|s| s.play.as_mut()) {
            Some(_) if early => Flow::Continue,
            // After a keyframe pause the first frame leaves when it is due.
            Some(play) if play.video && play.pause > 0 => {
                play.held = true;
                Flow::Continue
            }
            Some(play) if play.video => self.flush_packets(),
            _ => Flow::Continue,
        }
    }

    /// Writes the next frame into the muxer (its packets wait in it).
    fn packetize_next(&mut self) -> crate::Result<()> {
        let shared = self.shared;
        let Some(session) = self.session.as_mut() else {
            return Ok(());
        };
        let camera = session.camera;
        let Some(play) = session.play.as_mut() else {
            return Ok(());
        };
        let (frame, pts, dts) = nth(shared, camera, play, play.next);
        play.muxer.write(&frame.data, pts, dts, frame.key)?;
        play.next += 1;
        Ok(())
    }

    /// Sends the muxer's waiting packets, interleaved or by UDP, corrupting
    /// RTP payloads per the camera's faults (and over UDP, losing, reordering,
    /// duplicating and delaying them).
    fn flush_packets(&mut self) -> Flow {
        let Some(session) = self.session.as_mut() else {
            return Flow::Continue;
        };
        let Some(play) = session.play.as_mut() else {
            return Flow::Continue;
        };
        let counters = &self.shared.cameras[session.camera].counters;
        let faults = &self.shared.cameras[session.camera].faults;
        let since_play = play.started.elapsed();
        self.out.clear();
        let (mut packets, mut damaged) = (0u64, 0u64);
        let mut tally = UdpTally::default();
        for packet in play.muxer.packets() {
            let Ok(len) = u16::try_from(packet.len()) else {
                continue; // cannot happen: packets are at most 65535 bytes
            };
            let rtcp = is_rtcp(packet);
            let interleaved = matches!(session.link, Link::Interleaved(..));
            if !rtcp && interleaved && faults.tcp_loss.is_some_and(|p| fastrand::f64() < p) {
                add(&counters.tcp_lost, 1);
                continue;
            }
            let start = match &session.link {
                Link::Interleaved(rtp_channel, rtcp_channel) => {
                    self.out.push(b'$');
                    self.out
                        .push(if rtcp { *rtcp_channel } else { *rtp_channel });
                    self.out.extend_from_slice(&len.to_be_bytes());
                    self.out.len()
                }
                // One datagram at a time, built in `out`.
                Link::Udp(_) => {
                    self.out.clear();
                    0
                }
            };
            self.out.extend_from_slice(packet);
            clock_faults::apply(faults, &mut self.out[start..], rtcp, since_play);
            if !rtcp {
                packets += 1;
                if let (Some(corrupter), Some(offset)) =
                    (play.corrupter.as_mut(), rtp_payload_offset(packet))
                {
                    damaged += corrupter.corrupt(&mut self.out[start + offset..]);
                }
            }
            if let Link::Udp(link) = &mut session.link {
                if rtcp {
                    link.send_rtcp(&self.out, &mut tally);
                } else {
                    link.send_rtp(&self.out, &mut tally);
                }
            }
        }
        play.muxer.clear_packets();
        if let Link::Interleaved(rtp, rtcp) = session.link {
            let quirks = self.shared.settings.quirks;
            quirks.after_frame(&mut self.out, (rtp, rtcp), play.next);
        }
        add(&counters.frames, 1);
        add(&counters.rtp_packets, packets);
        add(&counters.corrupted_bytes, damaged);
        add(&counters.udp_lost, tally.lost);
        add(&counters.udp_reordered, tally.reordered);
        add(&counters.udp_duplicated, tally.duplicated);
        // The frame's first packet leaves now: when its stamp was "on glass".
        let sent = SystemTime::now();
        let n = play.next.saturating_sub(1);
        let index = usize::try_from(n % self.shared.clip.frames.len() as u64).unwrap_or(0);
        self.shared.sent.record(session.camera, index, sent);
        let result = match &session.link {
            Link::Udp(_) => {
                add(&counters.bytes, tally.bytes);
                Ok(())
            }
            // Accepted RTP over TCP, sends nothing over it.
            Link::Interleaved(..) if self.shared.settings.silent_tcp => Ok(()),
            Link::Interleaved(..) => {
                add(&counters.bytes, self.out.len() as u64);
                self.stream.write_all(&self.out)
            }
        };
        if let Some(log) = &self.shared.stamp_log {
            log.record(SentFrame {
                camera: session.camera,
                session: play.number,
                n,
                index: u32::try_from(index).unwrap_or(u32::MAX),
                sent,
            });
        }
        match result {
            Ok(()) => Flow::Continue,
            Err(error) => {
                tracing::debug!(peer = %self.peer, %error, "simulator: client gone");
                Flow::Close
            }
        }
    }

    /// Sends every frame that is due (and over UDP, every delayed datagram),
    /// and applies the cut and stall faults.
    fn send_due_media(&mut self) -> Flow {
        let Some(session) = self.session.as_mut() else {
            return Flow::Continue;
        };
        let camera = session.camera;
        let counters = &self.shared.cameras[camera].counters;
        let play = session.play.as_mut();
        let extra = play.into_iter().flat_map(Playback::extra_links_mut);
        for link in std::iter::once(&mut session.link).chain(extra) {
            if let Some(udp) = link.udp_mut() {
                udp.send_due();
                let received = udp.drain_incoming();
                if received > 0 {
                    // Receiver reports over UDP keep the session alive.
                    self.last_keepalive = Instant::now();
                }
                add(&counters.udp_received, received);
            }
        }
        let Some(play) = session.play.as_mut() else {
            return Flow::Continue;
        };
        let faults = &self.shared.cameras[camera].faults;
        let elapsed = play.started.elapsed();
        if faults.cut_every.is_some_and(|every| elapsed >= every) {
            add(&counters.cuts, 1);
            tracing::debug!(peer = %self.peer, camera, "simulator: cutting the connection");
            let _ = self.stream.shutdown(Shutdown::Both);
            return Flow::Close;
        }
        if faults.stall_after.is_some_and(|after| elapsed >= after) {
            if !play.stalled {
                play.stalled = true;
                add(&counters.stalls, 1);
                tracing::debug!(peer = %self.peer, camera, "simulator: stalling");
            }
            return Flow::Continue;
        }
        if let Some(resize) = faults.resize_after {
            if play.resized_at.is_none() && elapsed >= resize.after {
                // The resized clip starts with a keyframe, at the time the
                // next frame of the first one was due.
                let (_, _, dts) = self.shared.clip.nth_paused(play.next, play.pause);
                play.resized_at = Some((play.next, dts));
                tracing::debug!(peer = %self.peer, camera, "simulator: changing the picture size");
            }
        }
        if play.video
            && faults
                .video_stops_after
                .is_some_and(|after| elapsed >= after)
        {
            play.video = false;
            add(&counters.video_stops, 1);
            tracing::debug!(peer = %self.peer, camera, "simulator: the video stops");
        }
        if self.send_due_video(camera) == Flow::Close {
            return Flow::Close;
        }
        self.send_due_tracks()
    }

    /// Sends every video frame that is due.
    fn send_due_video(&mut self, camera: usize) -> Flow {
        loop {
            let Some(play) = self.session.as_ref().and_then(|s| s.play.as_ref()) else {
                return Flow::Continue;
            };
            if !play.video
                || self.video_due(camera, play) > Instant::now()
                || self.shared.stopping()
            {
                return Flow::Continue;
            }
            let held = play.held;
            if held {
                if let Some(play) = self.session.as_mut().and_then(|s| s.play.as_mut()) {
                    play.held = false;
                }
            } else if let Err(error) = self.packetize_next() {
                tracing::warn!(%error, "simulator: packetizing failed");
                return Flow::Close;
            }
            if self.flush_packets() == Flow::Close {
                return Flow::Close;
            }
        }
    }

    /// Sends every audio frame and metadata document that is due, on the
    /// tracks the client set up, each by its own link.
    fn send_due_tracks(&mut self) -> Flow {
        let Some(session) = self.session.as_mut() else {
            return Flow::Continue;
        };
        let Some(play) = session.play.as_mut() else {
            return Flow::Continue;
        };
        let counters = &self.shared.cameras[session.camera].counters;
        let now = Instant::now();
        self.out.clear();
        let mut packets = (0u64, 0u64);
        let mut tally = UdpTally::default();
        if let (Some(audio), Some(clip)) = (play.audio.as_mut(), &self.shared.tracks.audio) {
            while play.started + clip.due(audio.next) <= now {
                let (frame, pts) = clip.nth(audio.next);
                audio.next += 1;
                if let Err(error) = audio.muxer.write(&frame.data, pts, pts, true) {
                    tracing::warn!(%error, "simulator: packetizing audio failed");
                    return Flow::Close;
                }
                for packet in audio.muxer.packets() {
                    let rtcp = is_rtcp(packet);
                    if !rtcp {
                        packets.0 += 1;
                    }
                    route(&mut audio.link, &mut self.out, packet, rtcp, &mut tally);
                }
                audio.muxer.clear_packets();
            }
        }
        if let Some(metadata) = play.metadata.as_mut() {
            while play.started + metadata_due(metadata.next) <= now {
                let document = tracks::metadata_document(metadata.next, SystemTime::now());
                let elapsed = metadata_due(metadata.next);
                metadata.next += 1;
                let (out, link, tally) = (&mut self.out, &mut metadata.link, &mut tally);
                metadata
                    .packetizer
                    .packetize(document.as_bytes(), elapsed, |packet| {
                        packets.1 += 1;
                        route(link, out, packet, false, tally);
                    });
            }
        }
        add(&counters.audio_packets, packets.0);
        add(&counters.metadata_packets, packets.1);
        add(&counters.udp_lost, tally.lost);
        add(&counters.udp_reordered, tally.reordered);
        add(&counters.udp_duplicated, tally.duplicated);
        add(&counters.bytes, tally.bytes);
        // Accepted RTP over TCP, sends nothing over it (`silent_tcp`).
        if self.out.is_empty() || self.shared.settings.silent_tcp {
            return Flow::Continue;
        }
        add(&counters.bytes, self.out.len() as u64);
        match self.stream.write_all(&self.out) {
            Ok(()) => Flow::Continue,
            Err(error) => {
                tracing::debug!(peer = %self.peer, %error, "simulator: client gone");
                Flow::Close
            }
        }
    }
}

/// Whether the session set up its video track.
fn session_video(session: &Option<Session>) -> bool {
    session.as_ref().is_some_and(|session| session.video)
}

/// Puts a track's `packet` on its way by `link`: appended to `out` as an
/// interleaved frame on the link's RTP or RTCP channel (written by the
/// caller), or sent by UDP at once (through the link's faults).
fn route(link: &mut Link, out: &mut Vec<u8>, packet: &[u8], rtcp: bool, tally: &mut UdpTally) {
    match link {
        Link::Interleaved(rtp_channel, rtcp_channel) => {
            interleave(out, if rtcp { *rtcp_channel } else { *rtp_channel }, packet);
        }
        Link::Udp(udp) if rtcp => udp.send_rtcp(packet, tally),
        Link::Udp(udp) => udp.send_rtp(packet, tally),
    }
}

/// Appends `packet` to `out` as an interleaved frame on `channel`
/// (RFC 2326 §10.12: `$`, channel, 16-bit length, packet).
/// `sdp` with its `a=framerate` saying `fps` (the `sdp-framerate` fault).
fn declare_framerate(sdp: &str, fps: u32) -> String {
    sdp.split_inclusive('\n')
        .map(|line| {
            if line.starts_with("a=framerate:") {
                format!("a=framerate:{fps}\r\n")
            } else {
                line.to_owned()
            }
        })
        .collect()
}

fn interleave(out: &mut Vec<u8>, channel: u8, packet: &[u8]) {
    let Ok(len) = u16::try_from(packet.len()) else {
        return; // cannot happen: packets are at most 65535 bytes
    };
    out.push(b'$');
    out.push(channel);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(packet);
}

/// When the `n`-th metadata document of a session is due, from its start.
fn metadata_due(n: u64) -> Duration {
    METADATA_INTERVAL.saturating_mul(u32::try_from(n).unwrap_or(u32::MAX))
}

/// A duration of `t` 90 kHz ticks (negative counts as zero).
fn ticks(t: i64) -> Duration {
    let t = u64::try_from(t).unwrap_or(0);
    let clock = RTP_CLOCK_RATE as u64;
    Duration::from_secs(t / clock) + Duration::from_nanos((t % clock) * 1_000_000_000 / clock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_exact() {
        assert_eq!(ticks(3600), Duration::from_millis(40));
        assert_eq!(ticks(90_000 * 3 + 45_000), Duration::from_millis(3500));
        assert_eq!(ticks(-5), Duration::ZERO);
    }

    #[test]
    fn corruption_rate_matches_the_probability() {
        let mut corrupter = Corrupter::new(0.01).unwrap();
        corrupter.rng = fastrand::Rng::with_seed(7);
        let mut payload = vec![0u8; 1_000_000];
        let damaged = corrupter.corrupt(&mut payload);
        let nonzero = payload.iter().filter(|&&b| b != 0).count() as u64;
        assert_eq!(damaged, nonzero, "every damaged byte changed");
        assert!((9_000..11_000).contains(&damaged), "{damaged}");
        assert!(Corrupter::new(0.0).is_none());
        let mut all = Corrupter::new(1.0).unwrap();
        let mut payload = vec![0u8; 100];
        assert_eq!(all.corrupt(&mut payload), 100);
        // Across packet boundaries the gap carries over.
        let mut corrupter = Corrupter::new(0.001).unwrap();
        let total: u64 = (0..1000).map(|_| corrupter.corrupt(&mut [0u8; 1000])).sum();
        assert!((700..1300).contains(&total), "{total}");
    }

    #[test]
    fn payload_offsets_skip_csrcs_and_extensions() {
        let mut packet = vec![0x80, 96, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4, 0xaa];
        assert_eq!(rtp_payload_offset(&packet), Some(12));
        packet[0] = 0x81; // one CSRC
        assert_eq!(rtp_payload_offset(&packet), None);
        packet.extend_from_slice(&[0; 4]);
        assert_eq!(rtp_payload_offset(&packet), Some(16));
        let mut with_extension = vec![0x90, 96, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4];
        with_extension.extend_from_slice(&[0xbe, 0xde, 0, 1, 9, 9, 9, 9, 0xaa]);
        assert_eq!(rtp_payload_offset(&with_extension), Some(20));
        assert_eq!(rtp_payload_offset(&[]), None);
    }
}
