//! A stream's observable state: [`StreamState`], its counters, and the
//! [`StreamStatus`] snapshot any thread can take without a lock.
//!
//! The worker is the only writer. The state record (state, when it began, the
//! last error, what the camera sends) changes rarely and is swapped whole through
//! `arc-swap`; the counters change per frame and are plain atomics.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;

use super::config::{DecodeMode, Transport};
use super::events::{EventChannel, EventSender};
use super::latency::{LatencyHistogram, LatencyRecorder, StageLatency, StageRecorder};
use super::rtsp_client::RtspClient;
use crate::error::Error;
use crate::ffmpeg::ConnectStage;
use crate::slab::{EvictCounts, SlabStats, StageTimes};

/// Where a stream is in its life.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamState {
    /// Opening the connection, negotiating, waiting for the first frame.
    Connecting,
    /// Frames are being published.
    Streaming,
    /// No decoded frame for the stall timeout; about to reconnect.
    Stalled,
    /// Waiting before the next connection attempt.
    Reconnecting {
        /// Attempts since the last frame was published (1 for the first retry).
        attempt: u32,
        /// The wait before this attempt.
        next_in: Duration,
    },
    /// The camera refused the login (401/403); retried rarely so a camera that
    /// locks out bad logins is not hammered.
    AuthFailed,
    /// Stopped on request.
    Stopped,
    /// Given up: retrying cannot help (an unsupported codec, no video stream, an
    /// invalid configuration), or the worker panicked ([`ErrorKind::Panic`](crate::ErrorKind::Panic)).
    Failed(Error),
}

impl StreamState {
    /// A short lower-case name, for tables and metrics labels.
    pub fn name(&self) -> &'static str {
        match self {
            StreamState::Connecting => "connecting",
            StreamState::Streaming => "streaming",
            StreamState::Stalled => "stalled",
            StreamState::Reconnecting { .. } => "reconnecting",
            StreamState::AuthFailed => "auth_failed",
            StreamState::Stopped => "stopped",
            StreamState::Failed(_) => "failed",
        }
    }
}

/// What a `Connecting` stream is waiting for, and for how long it has been.
/// `Display` says it in words: "no answer to DESCRIBE for 3.0 s".
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StateDetail {
    /// The step the connection attempt is at.
    pub stage: ConnectStage,
    /// Since the step began.
    pub elapsed: Duration,
}

impl fmt::Display for StateDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.elapsed.as_secs_f64();
        match (self.stage, self.stage.request()) {
            (_, Some(request)) => write!(f, "no answer to {request} for {seconds:.1} s"),
            (ConnectStage::FirstFrame, _) => write!(f, "no frame yet after {seconds:.1} s"),
            (stage, None) => write!(f, "{stage} for {seconds:.1} s"),
        }
    }
}

/// What the camera sends, once known.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaInfo {
    /// FFmpeg's codec name (`h264`, `hevc`, `mjpeg`).
    pub codec: String,
    /// The codec profile's name, when FFmpeg knows it.
    pub profile: Option<String>,
    /// Source width in pixels.
    pub width: u32,
    /// Source height in pixels.
    pub height: u32,
    /// The stream's nominal frame rate, when it declares one.
    pub fps: Option<f64>,
    /// How it is decoded: `fast` frames are not bit-exact.
    pub decode: DecodeMode,
    /// With `decode = "fast"`, an MJPEG stream scaled down by `resize` is
    /// decoded at 1/2^lowres of its size (FFmpeg's `lowres`, up to 3); 0
    /// otherwise.
    pub lowres: u8,
}

/// Decoded frames the stream dropped before publication, by reason. With the
/// published frames they account for every decoded frame exactly once:
/// `decoded == published + dropped.total()` whenever the worker is between
/// frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamDrops {
    /// Damaged (corrupt, decoded with errors, lost packets, or decoded after
    /// such damage before the next clean keyframe) under
    /// [`OnDamage::Hold`](super::OnDamage::Hold), or decoded before a
    /// session's first keyframe.
    pub corrupt: u64,
    /// Skipped by the stream's [`SkipPolicy`](super::SkipPolicy).
    pub skipped: u64,
    /// No slab slot was free: readers held every spare slot.
    pub no_free_slot: u64,
    /// Converting into the slot failed.
    pub convert_failed: u64,
    /// The stream's slab could not be built (e.g. over the memory budget).
    pub no_slab: u64,
}

impl StreamDrops {
    /// Every reason with its count, in declaration order, named as in metrics.
    pub fn by_reason(&self) -> [(&'static str, u64); 5] {
        [
            ("corrupt", self.corrupt),
            ("skipped", self.skipped),
            ("no_free_slot", self.no_free_slot),
            ("convert_failed", self.convert_failed),
            ("no_slab", self.no_slab),
        ]
    }

    /// All drops together.
    pub fn total(&self) -> u64 {
        self.by_reason().iter().map(|(_, count)| count).sum()
    }
}

/// A point-in-time view of one stream.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamStatus {
    /// The stream's id.
    pub id: String,
    /// The URL, without credentials.
    pub url: String,
    /// The current state.
    pub state: StreamState,
    /// When the current state began.
    pub since: SystemTime,
    /// While `Connecting`: the step the attempt waits at (resolving the host
    /// name, connecting, the answer to OPTIONS, DESCRIBE, SETUP or PLAY,
    /// probing, the first frame) and for how long; `None` in other states.
    pub state_detail: Option<StateDetail>,
    /// The error that ended the last session, if any.
    pub last_error: Option<Error>,
    /// What the camera sends, once connected.
    pub media: Option<MediaInfo>,
    /// The frame rate the camera delivers, measured from the decoded frames'
    /// timestamps (the median interval of the last 50); `media.fps` is what
    /// it declares, which may differ. `None` until about ten frames came.
    pub measured_fps: Option<f64>,
    /// The transport of the current (or last) connection attempt: `tcp` or
    /// `udp` for the default [`Transport::PreferTcp`] (`udp` once the camera
    /// refused TCP), the configured one otherwise (`auto`: FFmpeg's choice).
    /// `None` before the first attempt.
    pub transport: Option<Transport>,
    /// The RTSP client of the current (or last) attempt: `ffmpeg` or
    /// `native` (for the default [`RtspClient::Auto`], `native` once FFmpeg's
    /// client could not use the camera's answers). `None` before the first
    /// attempt.
    pub rtsp_client: Option<RtspClient>,
    /// The core the worker is pinned to, if any.
    pub core: Option<usize>,
    /// Frames out of the decoder.
    pub decoded: u64,
    /// Frames published to the slab (each became its latest frame).
    pub published: u64,
    /// Of the published frames, those that were damaged (concealed, or decoded
    /// from a damaged reference): only with
    /// [`OnDamage::Flag`](super::OnDamage::Flag); each carries its
    /// [`Damage`](crate::slab::Damage).
    pub damaged: u64,
    /// RTP packets the camera sent that never arrived (sequence gaps), as
    /// FFmpeg's RTP demuxer reports them: over TCP and HTTP tunnelling (a
    /// camera whose send buffer overflowed drops whole packets) and UDP; not
    /// counted with `transport = "auto"`.
    pub rtp_packets_lost: u64,
    /// Decoded frames dropped before publication, by reason.
    pub dropped: StreamDrops,
    /// Published frames the slab's ordered queue did not deliver (by the drop
    /// policy, or because nothing consumes the queue), by reason. Latest
    /// readers may have seen them. Like `dropped`, summed over every slab the
    /// stream had (a new one comes with a new picture size).
    pub evicted: EvictCounts,
    /// Packets the decoder refused (with an error, or "full" past the re-send
    /// bound) and decode calls that failed.
    pub decode_errors: u64,
    /// Connection attempts after the first.
    pub reconnects: u64,
    /// Times the camera's capture clock stepped (its RTP timestamps jumped,
    /// or the wall clock of its RTCP sender reports was reset) and the
    /// frames' capture times were re-anchored to their receive times, which
    /// keeps [`Frame::capture_time`](crate::slab::Frame::capture_time) monotonic.
    pub clock_steps: u64,
    /// Of the published frames, those the decoder wrote straight into their
    /// slot (a `yuv420p` stream at the camera's size): published without a
    /// copy or a conversion.
    pub decoded_in_place: u64,
    /// Of the published frames, those converted band by band as the decoder
    /// finished their rows, into the slot they are published in (`bgr24`,
    /// `rgb24`, `gray8` at the camera's size, H.264): the converter read each
    /// row while it was hot instead of reading the whole picture back.
    pub converted_in_bands: u64,
    /// Pictures a stream that lends its slots to the decoder decoded into
    /// FFmpeg's own buffers instead (no slot was free, or none fitted the
    /// picture): those frames were copied as usual.
    pub decoder_buffer_fallbacks: u64,
    /// This stream's state-transition events lost because the event channel
    /// was full with nobody reading: the oldest go first (see
    /// [`STREAM_EVENTS_CAPACITY`](super::STREAM_EVENTS_CAPACITY)). On a channel
    /// given to [`Stream::start_with_events`](super::Stream::start_with_events),
    /// which the stream cannot evict from, its new events are the ones lost.
    pub events_lost: u64,
    /// Bytes of compressed media read.
    pub bytes_in: u64,
    /// Time since the last published frame arrived.
    pub last_frame_age: Option<Duration>,
    /// From the start of the first connection attempt to the first published frame.
    pub first_frame_latency: Option<Duration>,
    /// From a frame's packet arriving to the frame being published (decode and
    /// conversion included).
    pub publish_latency: LatencyHistogram,
    /// The same split by stage: decode, convert, publish.
    pub stage_latency: StageLatency,
}

/// A state transition, or a change in what the camera sends, as sent on a
/// stream's event channel.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamEvent {
    /// The stream's id.
    pub id: String,
    /// The state entered (for a media change: the current state).
    pub state: StreamState,
    /// When it was entered.
    pub at: SystemTime,
    /// The error that caused it, for `Reconnecting`, `AuthFailed` and `Failed`;
    /// for a media change, why frames stay at the old size (the memory
    /// budget refused the new slab).
    pub error: Option<Error>,
    /// For a media change (the camera's codec or picture size changed): what
    /// it sends now, also in [`StreamStatus::media`]. `None` for a state
    /// transition.
    pub media: Option<MediaInfo>,
}

/// The slowly changing part of a status, swapped whole.
#[derive(Clone, Debug)]
pub(crate) struct StateRecord {
    pub(crate) state: StreamState,
    pub(crate) since: SystemTime,
    pub(crate) last_error: Option<Error>,
    pub(crate) media: Option<MediaInfo>,
}

/// Monotonic event counts; the worker writes, anyone reads. Relaxed throughout:
/// each is an independent statistic and publishes no other memory.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) decoded: AtomicU64,
    pub(crate) published: AtomicU64,
    /// Published frames that were damaged.
    pub(crate) damaged: AtomicU64,
    /// RTP packets lost, as FFmpeg reported them.
    pub(crate) rtp_packets_lost: AtomicU64,
    pub(crate) corrupt: AtomicU64,
    pub(crate) skipped: AtomicU64,
    pub(crate) no_slab: AtomicU64,
    pub(crate) decode_errors: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    /// Capture-clock steps re-anchored.
    pub(crate) clock_steps: AtomicU64,
    pub(crate) decoded_in_place: AtomicU64,
    pub(crate) converted_in_bands: AtomicU64,
    pub(crate) decoder_buffer_fallbacks: AtomicU64,
    /// The measured frame rate in millihertz, plus one (0 = none yet).
    pub(crate) measured_fps_mhz: AtomicU64,
    pub(crate) bytes_in: AtomicU64,
    /// Nanoseconds after `StatusCell::epoch` that the last published frame
    /// arrived, plus one (0 = none yet).
    pub(crate) last_frame_at: AtomicU64,
    /// First-frame latency in nanoseconds, plus one (0 = none yet).
    pub(crate) first_frame_latency: AtomicU64,
    /// Packet arrival to publish, per frame.
    pub(crate) publish_latency: LatencyRecorder,
    /// The same by stage.
    pub(crate) stage_latency: StageRecorder,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// A stream's status as the worker writes it and readers see it.
pub(crate) struct StatusCell {
    pub(crate) id: String,
    pub(crate) url: String,
    pub(crate) core: Option<usize>,
    epoch: Instant,
    record: ArcSwap<StateRecord>,
    pub(crate) counters: Counters,
    /// The current attempt's transport.
    transport: ChoiceCell<Transport>,
    /// The current attempt's RTSP client.
    rtsp_client: ChoiceCell<RtspClient>,
    /// Where state transitions are announced (bounded, drop-oldest).
    events: EventSender,
}

/// A value of a `named_enum!` type in one atomic byte: its index in `ALL`
/// plus one (0 = not set yet).
struct ChoiceCell<T: 'static> {
    code: AtomicU8,
    all: &'static [T],
}

impl<T: Copy + PartialEq> ChoiceCell<T> {
    const fn new(all: &'static [T]) -> Self {
        Self {
            code: AtomicU8::new(0),
            all,
        }
    }

    fn set(&self, value: T) {
        let index = self.all.iter().position(|t| *t == value);
        let code = index.map_or(0, |index| u8::try_from(index + 1).unwrap_or(0));
        // Relaxed: a self-contained value; publishes no other memory.
        self.code.store(code, Ordering::Relaxed);
    }

    fn get(&self) -> Option<T> {
        // Relaxed: see `set`.
        let code = self.code.load(Ordering::Relaxed);
        self.all.get(usize::from(code).checked_sub(1)?).copied()
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX - 1)
}

impl StatusCell {
    pub(crate) fn new(
        id: String,
        url: String,
        core: Option<usize>,
        events: &Arc<EventChannel>,
    ) -> Self {
        let events = events.register(&id);
        let since = SystemTime::now();
        // The first event: the stream exists and is connecting.
        events.send(StreamEvent {
            id: id.clone(),
            state: StreamState::Connecting,
            at: since,
            error: None,
            media: None,
        });
        Self {
            events,
            id,
            url,
            core,
            epoch: Instant::now(),
            record: ArcSwap::from_pointee(StateRecord {
                state: StreamState::Connecting,
                since,
                last_error: None,
                media: None,
            }),
            counters: Counters::default(),
            transport: ChoiceCell::new(&Transport::ALL),
            rtsp_client: ChoiceCell::new(&RtspClient::ALL),
        }
    }

    /// Records the transport the next connection attempt uses.
    pub(crate) fn set_transport(&self, transport: Transport) {
        self.transport.set(transport);
    }

    /// The transport of the current (or last) attempt.
    pub(crate) fn transport(&self) -> Option<Transport> {
        self.transport.get()
    }

    /// Records the RTSP client the next connection attempt uses.
    pub(crate) fn set_rtsp_client(&self, client: RtspClient) {
        self.rtsp_client.set(client);
    }

    /// The RTSP client of the current (or last) attempt.
    pub(crate) fn rtsp_client(&self) -> Option<RtspClient> {
        self.rtsp_client.get()
    }

    pub(crate) fn record(&self) -> Arc<StateRecord> {
        self.record.load_full()
    }

    /// Moves to `state` and announces it; does nothing if already there.
    pub(crate) fn set_state(&self, state: StreamState) {
        self.transition(state, None);
    }

    /// Moves to `state` because of `error`, which becomes the last error.
    pub(crate) fn set_state_for(&self, state: StreamState, error: Error) {
        self.transition(state, Some(error));
    }

    fn transition(&self, state: StreamState, error: Option<Error>) {
        let current = self.record.load();
        if current.state == state && error.is_none() {
            return;
        }
        let since = SystemTime::now();
        self.record.store(Arc::new(StateRecord {
            state: state.clone(),
            since,
            last_error: error.clone().or_else(|| current.last_error.clone()),
            media: current.media.clone(),
        }));
        self.events.send(StreamEvent {
            id: self.id.clone(),
            state,
            at: since,
            error,
            media: None,
        });
    }

    pub(crate) fn set_media(&self, media: MediaInfo) {
        self.update(|record| record.media = Some(media));
    }

    /// The camera changed what it sends (codec, picture size): records
    /// `media` and announces it, in the current state; with `error` (a new
    /// slab the budget refused), which becomes the last error too.
    pub(crate) fn media_changed(&self, media: MediaInfo, error: Option<Error>) {
        let current = self.record.load();
        let at = SystemTime::now();
        let state = current.state.clone();
        self.record.store(Arc::new(StateRecord {
            state: state.clone(),
            since: current.since,
            last_error: error.clone().or_else(|| current.last_error.clone()),
            media: Some(media.clone()),
        }));
        self.events.send(StreamEvent {
            id: self.id.clone(),
            state,
            at,
            error,
            media: Some(media),
        });
    }

    fn update(&self, change: impl FnOnce(&mut StateRecord)) {
        let mut record = StateRecord::clone(&self.record.load());
        change(&mut record);
        self.record.store(Arc::new(record));
    }

    pub(crate) fn frame_published(&self, received: Instant, stages: StageTimes) {
        let at = nanos(received.saturating_duration_since(self.epoch)) + 1;
        self.counters.last_frame_at.store(at, Ordering::Relaxed);
        Counters::add(&self.counters.published, 1);
        let published = Instant::now();
        let latency = published.saturating_duration_since(received);
        self.counters.publish_latency.record(latency);
        self.counters
            .stage_latency
            .record(received, stages, published);
    }

    pub(crate) fn set_measured_fps(&self, fps: f64) {
        // The cast saturates; rates are far below its range.
        let millihertz = (fps * 1000.0).round() as u64;
        self.counters
            .measured_fps_mhz
            .store(millihertz.saturating_add(1), Ordering::Relaxed);
    }

    pub(crate) fn first_frame(&self, latency: Duration) {
        // Only the first call sticks.
        let _ = self.counters.first_frame_latency.compare_exchange(
            0,
            nanos(latency) + 1,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// The status, with the slab's books once the slab exists. `stage`: what
    /// the connection attempt waits for, shown while connecting.
    pub(crate) fn snapshot(
        &self,
        slab: Option<SlabStats>,
        stage: Option<(ConnectStage, Duration)>,
    ) -> StreamStatus {
        let record = self.record();
        let connecting = record.state == StreamState::Connecting;
        let counters = &self.counters;
        let since_epoch = |value: u64| (value != 0).then(|| Duration::from_nanos(value - 1));
        StreamStatus {
            id: self.id.clone(),
            url: self.url.clone(),
            state: record.state.clone(),
            since: record.since,
            state_detail: stage
                .filter(|_| connecting)
                .map(|(stage, elapsed)| StateDetail { stage, elapsed }),
            last_error: record.last_error.clone(),
            media: record.media.clone(),
            measured_fps: Counters::get(&counters.measured_fps_mhz)
                .checked_sub(1)
                .map(|millihertz| millihertz as f64 / 1000.0),
            transport: self.transport(),
            rtsp_client: self.rtsp_client(),
            core: self.core,
            decoded: Counters::get(&counters.decoded),
            published: Counters::get(&counters.published),
            damaged: Counters::get(&counters.damaged),
            rtp_packets_lost: Counters::get(&counters.rtp_packets_lost),
            dropped: StreamDrops {
                corrupt: Counters::get(&counters.corrupt),
                skipped: Counters::get(&counters.skipped),
                no_free_slot: slab.map_or(0, |slab| slab.dropped.no_free_slot),
                convert_failed: slab.map_or(0, |slab| slab.dropped.abandoned),
                no_slab: Counters::get(&counters.no_slab),
            },
            evicted: slab.map(|slab| slab.evicted).unwrap_or_default(),
            decode_errors: Counters::get(&counters.decode_errors),
            reconnects: Counters::get(&counters.reconnects),
            clock_steps: Counters::get(&counters.clock_steps),
            decoded_in_place: Counters::get(&counters.decoded_in_place),
            converted_in_bands: Counters::get(&counters.converted_in_bands),
            decoder_buffer_fallbacks: Counters::get(&counters.decoder_buffer_fallbacks),
            events_lost: self.events.lost(),
            bytes_in: Counters::get(&counters.bytes_in),
            last_frame_age: since_epoch(Counters::get(&counters.last_frame_at))
                .map(|at| self.epoch.elapsed().saturating_sub(at)),
            first_frame_latency: since_epoch(Counters::get(&counters.first_frame_latency)),
            publish_latency: counters.publish_latency.snapshot(),
            stage_latency: counters.stage_latency.snapshot(),
        }
    }
}
