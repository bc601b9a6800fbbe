//! Prometheus metrics of every stream, in the OpenMetrics text format, through
//! the `prometheus-client` crate. Collected at scrape time from the streams'
//! lock-free statuses, so metrics cost the decode path nothing.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::stream::{LatencyHistogram, StreamStatus};

/// Every metric name this module exports (counters get `_total` appended).
pub const METRIC_NAMES: [&str; 22] = [
    "rtsp_ingest_stream_state",
    "rtsp_ingest_frames_decoded_total",
    "rtsp_ingest_frames_published_total",
    "rtsp_ingest_frames_damaged_total",
    "rtsp_ingest_rtp_packets_lost_total",
    "rtsp_ingest_frames_dropped_total",
    "rtsp_ingest_frames_evicted_total",
    "rtsp_ingest_decode_errors_total",
    "rtsp_ingest_reconnects_total",
    "rtsp_ingest_clock_steps_total",
    "rtsp_ingest_frames_decoded_in_place_total",
    "rtsp_ingest_frames_converted_in_bands_total",
    "rtsp_ingest_decoder_buffer_fallbacks_total",
    "rtsp_ingest_events_lost_total",
    "rtsp_ingest_bytes_in_total",
    "rtsp_ingest_last_frame_age_seconds",
    "rtsp_ingest_first_frame_latency_seconds",
    "rtsp_ingest_publish_latency_seconds",
    "rtsp_ingest_stage_latency_seconds",
    "rtsp_ingest_streams",
    "rtsp_ingest_memory_reserved_bytes",
    "rtsp_ingest_memory_budget_bytes",
];

const STATES: [&str; 7] = [
    "connecting",
    "streaming",
    "stalled",
    "reconnecting",
    "auth_failed",
    "stopped",
    "failed",
];

#[derive(Debug)]
struct Snapshot {
    statuses: Vec<StreamStatus>,
    memory: (usize, Option<usize>),
}

/// Renders the metrics of `statuses` and the memory budget.
pub(crate) fn render(statuses: &[StreamStatus], memory: (usize, Option<usize>)) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Snapshot {
        statuses: statuses.to_vec(),
        memory,
    }));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)
        .expect("writing to a String cannot fail");
    text
}

type Fmt = Result<(), std::fmt::Error>;

fn family<M: EncodeMetric>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    rows: impl IntoIterator<Item = (Vec<(&'static str, String)>, M)>,
) -> Fmt {
    let mut metric = encoder.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in rows {
        value.encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

fn stream_label(status: &StreamStatus) -> Vec<(&'static str, String)> {
    vec![("stream", status.id.clone())]
}

impl Snapshot {
    fn counter(
        &self,
        encoder: &mut DescriptorEncoder,
        name: &str,
        help: &str,
        value: impl Fn(&StreamStatus) -> u64,
    ) -> Fmt {
        let rows = self
            .statuses
            .iter()
            .map(|status| (stream_label(status), ConstCounter::new(value(status))));
        family(encoder, name, help, MetricType::Counter, rows)
    }

    fn seconds(
        &self,
        encoder: &mut DescriptorEncoder,
        name: &str,
        help: &str,
        value: impl Fn(&StreamStatus) -> Option<f64>,
    ) -> Fmt {
        let rows = self.statuses.iter().filter_map(|status| {
            value(status).map(|seconds| (stream_label(status), ConstGauge::new(seconds)))
        });
        family(encoder, name, help, MetricType::Gauge, rows)
    }
}

/// One counter row per reason, labelled with the stream and the reason.
fn by_reason<'a, const N: usize>(
    status: &'a StreamStatus,
    counts: [(&'static str, u64); N],
) -> impl Iterator<Item = (Vec<(&'static str, String)>, ConstCounter)> + 'a {
    counts.into_iter().map(move |(reason, count)| {
        let labels = vec![("stream", status.id.clone()), ("reason", reason.to_owned())];
        (labels, ConstCounter::new(count))
    })
}

/// A histogram family, one row per label set.
fn histograms<'a>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = (Vec<(&'static str, String)>, &'a LatencyHistogram)>,
) -> Fmt {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Histogram)?;
    for (labels, histogram) in rows {
        let buckets: Vec<(f64, u64)> = histogram
            .buckets()
            .map(|(bound, count)| (bound.map_or(f64::INFINITY, |b| b.as_secs_f64()), count))
            .collect();
        metric
            .encode_family(&labels)?
            .encode_histogram::<prometheus_client::encoding::NoLabelSet>(
                histogram.sum().as_secs_f64(),
                histogram.count(),
                &buckets,
                None,
            )?;
    }
    Ok(())
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Fmt {
        let statuses = &self.statuses;
        let rows = statuses.iter().flat_map(|status| {
            STATES.iter().map(move |&state| {
                let labels = vec![("stream", status.id.clone()), ("state", state.to_owned())];
                (
                    labels,
                    ConstGauge::new(i64::from(status.state.name() == state)),
                )
            })
        });
        family(
            &mut encoder,
            "rtsp_ingest_stream_state",
            "1 for the state each stream is in, 0 for the others",
            MetricType::Gauge,
            rows,
        )?;
        self.counter(
            &mut encoder,
            "rtsp_ingest_frames_decoded",
            "Frames out of the decoder",
            |s| s.decoded,
        )?;
        self.counter(
            &mut encoder,
            "rtsp_ingest_frames_published",
            "Frames published to the slab",
            |s| s.published,
        )?;
        self.counter(
            &mut encoder,
            "rtsp_ingest_frames_damaged",
            "Published frames that were damaged (on_damage = \"flag\")",
            |s| s.damaged,
        )?;
        self.counter(
            &mut encoder,
            "rtsp_ingest_rtp_packets_lost",
            "RTP packets lost on the way (sequence gaps)",
            |s| s.rtp_packets_lost,
        )?;
        let rows = statuses
            .iter()
            .flat_map(|status| by_reason(status, status.dropped.by_reason()));
        family(
            &mut encoder,
            "rtsp_ingest_frames_dropped",
            "Decoded frames dropped before publication, by reason",
            MetricType::Counter,
            rows,
        )?;
        let rows = statuses
            .iter()
            .flat_map(|status| by_reason(status, status.evicted.by_reason()));
        family(
            &mut encoder,
            "rtsp_ingest_frames_evicted",
            "Published frames the ordered queue did not deliver, by reason",
            MetricType::Counter,
            rows,
        )?;
        self.counter(
            &mut encoder,
            "rtsp_ingest_decode_errors",
            "Packets or frames the decoder failed on",
            |s| s.decode_errors,
        )?;
        self.counter(
            &mut encoder,
            "rtsp_ingest_reconnects",
            "Connection attempts after the first",
            |s| s.reconnects,
        )?;
        self.counter(
            &mut encoder,
            "rtsp_ingest_clock_steps",
            "Camera clock steps the frames' capture times were re-anchored across",
            |s| s.clock_steps,
        )?;
        self.counter(
            &mut encoder,
            "rtsp_ingest_frames_decoded_in_place",
            "Published frames the decoder wrote straight into their slot, with no copy",
            |s| s.decoded_in_place,
        )?;
        self.counter(
            &mut encoder,
            "rtsp_ingest_frames_converted_in_bands",
            "Published frames converted band by band as the decoder finished their rows",
            |s| s.converted_in_bands,
        )?;
        self.counter(
            &mut encoder,
            "rtsp_ingest_decoder_buffer_fallbacks",
            "Pictures decoded into FFmpeg's own buffers while slots were lent to the decoder",
            |s| s.decoder_buffer_fallbacks,
        )?;
        self.counter(
            &mut encoder,
            "rtsp_ingest_events_lost",
            "State-transition events dropped unread from a full event channel",
            |s| s.events_lost,
        )?;
        self.counter(
            &mut encoder,
            "rtsp_ingest_bytes_in",
            "Compressed media bytes read",
            |s| s.bytes_in,
        )?;
        self.seconds(
            &mut encoder,
            "rtsp_ingest_last_frame_age_seconds",
            "Time since the newest frame arrived",
            |s| s.last_frame_age.map(|age| age.as_secs_f64()),
        )?;
        self.seconds(
            &mut encoder,
            "rtsp_ingest_first_frame_latency_seconds",
            "From the first connection attempt to the first published frame",
            |s| s.first_frame_latency.map(|latency| latency.as_secs_f64()),
        )?;
        let rows = statuses
            .iter()
            .map(|status| (stream_label(status), &status.publish_latency));
        histograms(
            &mut encoder,
            "rtsp_ingest_publish_latency_seconds",
            "From a frame's packet arriving to the frame being published",
            rows,
        )?;
        let rows = statuses.iter().flat_map(|status| {
            status.stage_latency.by_stage().map(|(stage, histogram)| {
                let labels = vec![("stream", status.id.clone()), ("stage", stage.to_owned())];
                (labels, histogram)
            })
        });
        histograms(
            &mut encoder,
            "rtsp_ingest_stage_latency_seconds",
            "Each stage of a published frame: decode (packet arrival to decoded picture), \
             convert (to pixels in the slot), publish (the slab's commit)",
            rows,
        )?;
        family(
            &mut encoder,
            "rtsp_ingest_streams",
            "Streams managed",
            MetricType::Gauge,
            [(Vec::new(), ConstGauge::new(statuses.len() as i64))],
        )?;
        let (reserved, limit) = self.memory;
        family(
            &mut encoder,
            "rtsp_ingest_memory_reserved_bytes",
            "Frame slot memory reserved by every stream",
            MetricType::Gauge,
            [(Vec::new(), ConstGauge::new(reserved as i64))],
        )?;
        family(
            &mut encoder,
            "rtsp_ingest_memory_budget_bytes",
            "The memory budget (absent when unlimited)",
            MetricType::Gauge,
            limit.map(|limit| (Vec::new(), ConstGauge::new(limit as i64))),
        )?;
        Ok(())
    }
}
