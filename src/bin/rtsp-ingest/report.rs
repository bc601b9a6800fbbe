//! A stream's status as a serializable record: what `GET /streams` answers
//! (and what `--json` will print). Durations are milliseconds, times are Unix
//! milliseconds, URLs and messages are redacted once more on the way out.

use std::borrow::Cow;
use std::time::{Duration, UNIX_EPOCH};

use rtsp_ingest::redact::redact;
use rtsp_ingest::stream::{LatencyHistogram, StreamState, StreamStatus};
use rtsp_ingest::Error;
use serde::Serialize;

/// One stream's status.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct StatusReport<'a> {
    id: &'a str,
    url: Cow<'a, str>,
    state: &'static str,
    /// `{stage, elapsed_ms, message}` while connecting, `{attempt, next_in_ms}`
    /// while reconnecting, `{error}` when failed, else null.
    state_detail: Option<StateDetail<'a>>,
    since: u64,
    last_error: Option<ErrorReport<'a>>,
    media: Option<MediaReport<'a>>,
    /// The transport of the current (or last) attempt: `tcp`, `udp`, ...
    transport: Option<&'static str>,
    /// The RTSP client of the current (or last) attempt: `ffmpeg` or `native`.
    rtsp_client: Option<&'static str>,
    core: Option<usize>,
    decoded: u64,
    published: u64,
    /// Of the published frames, those flagged damaged (`on_damage = "flag"`).
    damaged: u64,
    /// RTP packets lost on the way (sequence gaps FFmpeg noticed).
    rtp_packets_lost: u64,
    /// Decoded frames dropped before publication, by reason.
    #[cfg_attr(feature = "http", schema(value_type = std::collections::BTreeMap<String, u64>))]
    dropped: ReasonCounts<5>,
    /// Published frames the ordered queue did not deliver, by reason.
    #[cfg_attr(feature = "http", schema(value_type = std::collections::BTreeMap<String, u64>))]
    evicted: ReasonCounts<4>,
    decode_errors: u64,
    reconnects: u64,
    /// Camera clock steps the capture times were re-anchored across.
    clock_steps: u64,
    /// Published frames the decoder wrote straight into their slot (no copy).
    decoded_in_place: u64,
    /// Published frames converted band by band as the decoder finished their rows.
    converted_in_bands: u64,
    /// Pictures decoded into FFmpeg's own buffers while the stream lends
    /// slots to its decoder (then copied).
    decoder_buffer_fallbacks: u64,
    /// The frame rate delivered, measured from the frames' timestamps
    /// (`media.fps` is the declared one).
    measured_fps: Option<f64>,
    events_lost: u64,
    bytes_in: u64,
    last_frame_age_ms: Option<f64>,
    first_frame_latency_ms: Option<f64>,
    publish_latency: LatencyReport,
    /// The same by stage: `{decode, convert, publish}`.
    stage_latency: StageReport,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
struct StageReport {
    decode: LatencyReport,
    convert: LatencyReport,
    publish: LatencyReport,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(untagged)]
enum StateDetail<'a> {
    /// What the attempt waits for: `"describe"`, 3000.0, "no answer to DESCRIBE for 3.0 s".
    Connecting {
        stage: &'static str,
        elapsed_ms: f64,
        message: String,
    },
    Reconnecting {
        attempt: u32,
        next_in_ms: f64,
    },
    Failed {
        error: ErrorReport<'a>,
    },
}

/// An error as `{kind, message}`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct ErrorReport<'a> {
    kind: &'static str,
    message: Cow<'a, str>,
}

impl<'a> ErrorReport<'a> {
    pub fn new(error: &'a Error) -> Self {
        Self {
            kind: error.kind().name(),
            message: redact(error.message()),
        }
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
struct MediaReport<'a> {
    codec: &'a str,
    profile: Option<&'a str>,
    width: u32,
    height: u32,
    fps: Option<f64>,
    /// `full`, or `fast` (not bit-exact: no deblocking filter).
    decode: &'static str,
    /// MJPEG decoded at 1/2^lowres of its size (`fast` with a downscale).
    lowres: u8,
}

/// Counts by reason, serialized as a `{reason: count}` object.
#[derive(Debug)]
pub struct ReasonCounts<const N: usize>(pub [(&'static str, u64); N]);

impl<const N: usize> Serialize for ReasonCounts<N> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().copied())
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
struct LatencyReport {
    /// Upper bounds of the buckets holding the quantiles (null: no samples, or
    /// beyond the largest bucket).
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    count: u64,
}

impl LatencyReport {
    fn new(histogram: &LatencyHistogram) -> Self {
        Self {
            p50_ms: histogram.quantile(0.5).map(millis),
            p99_ms: histogram.quantile(0.99).map(millis),
            count: histogram.count(),
        }
    }
}

impl<'a> StatusReport<'a> {
    /// The record of `status`.
    pub fn new(status: &'a StreamStatus) -> Self {
        let state_detail = match &status.state {
            StreamState::Connecting => status.state_detail.map(|detail| StateDetail::Connecting {
                stage: detail.stage.name(),
                elapsed_ms: millis(detail.elapsed),
                message: detail.to_string(),
            }),
            StreamState::Reconnecting { attempt, next_in } => Some(StateDetail::Reconnecting {
                attempt: *attempt,
                next_in_ms: millis(*next_in),
            }),
            StreamState::Failed(error) => Some(StateDetail::Failed {
                error: ErrorReport::new(error),
            }),
            _ => None,
        };
        let stages = &status.stage_latency;
        Self {
            id: &status.id,
            url: redact(&status.url),
            state: status.state.name(),
            state_detail,
            since: status.since.duration_since(UNIX_EPOCH).map_or(0, |since| {
                u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
            }),
            last_error: status.last_error.as_ref().map(ErrorReport::new),
            media: status.media.as_ref().map(|media| MediaReport {
                codec: &media.codec,
                profile: media.profile.as_deref(),
                width: media.width,
                height: media.height,
                fps: media.fps,
                decode: media.decode.name(),
                lowres: media.lowres,
            }),
            transport: status.transport.map(|transport| transport.name()),
            rtsp_client: status.rtsp_client.map(|client| client.name()),
            core: status.core,
            decoded: status.decoded,
            published: status.published,
            damaged: status.damaged,
            rtp_packets_lost: status.rtp_packets_lost,
            dropped: ReasonCounts(status.dropped.by_reason()),
            evicted: ReasonCounts(status.evicted.by_reason()),
            decode_errors: status.decode_errors,
            reconnects: status.reconnects,
            clock_steps: status.clock_steps,
            decoded_in_place: status.decoded_in_place,
            converted_in_bands: status.converted_in_bands,
            decoder_buffer_fallbacks: status.decoder_buffer_fallbacks,
            measured_fps: status.measured_fps,
            events_lost: status.events_lost,
            bytes_in: status.bytes_in,
            last_frame_age_ms: status.last_frame_age.map(millis),
            first_frame_latency_ms: status.first_frame_latency.map(millis),
            publish_latency: LatencyReport::new(&status.publish_latency),
            stage_latency: StageReport {
                decode: LatencyReport::new(&stages.decode),
                convert: LatencyReport::new(&stages.convert),
                publish: LatencyReport::new(&stages.publish),
            },
        }
    }
}

/// Milliseconds, to the microsecond.
fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1e6).round() / 1e3
}
