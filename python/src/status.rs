//! A stream's [`StreamStatus`] and [`StreamEvent`]s as plain Python dicts
//! (the keys of the CLI's JSON status). URLs and messages are the engine's,
//! already without credentials.

use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use rtsp_ingest::stream::{MediaInfo, StreamEvent, StreamState, StreamStatus};
use rtsp_ingest::Error;

use crate::clock;

fn seconds(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

/// `{"kind", "message", "field"}` for an engine error.
pub(crate) fn error_dict<'py>(py: Python<'py>, error: &Error) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("kind", error.kind().name())?;
    dict.set_item("message", error.to_string())?;
    dict.set_item("field", error.field())?;
    Ok(dict)
}

/// What the camera sends, as a dict.
fn media_dict<'py>(py: Python<'py>, media: &MediaInfo) -> PyResult<Bound<'py, PyDict>> {
    let info = PyDict::new(py);
    info.set_item("codec", &media.codec)?;
    info.set_item("profile", &media.profile)?;
    info.set_item("width", media.width)?;
    info.set_item("height", media.height)?;
    info.set_item("fps", media.fps)?;
    info.set_item("decode", media.decode.name())?;
    info.set_item("lowres", media.lowres)?;
    Ok(info)
}

/// A status snapshot as a dict.
pub(crate) fn status_dict<'py>(
    py: Python<'py>,
    status: &StreamStatus,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("id", &status.id)?;
    dict.set_item("url", &status.url)?;
    dict.set_item("state", status.state.name())?;
    dict.set_item("since", clock::unix(status.since))?;
    dict.set_item(
        "state_detail",
        status.state_detail.as_ref().map(ToString::to_string),
    )?;
    if let StreamState::Reconnecting { attempt, next_in } = &status.state {
        dict.set_item("reconnect_attempt", attempt)?;
        dict.set_item("reconnect_in", seconds(*next_in))?;
    }
    if let StreamState::Failed(error) = &status.state {
        dict.set_item("failure", error_dict(py, error)?)?;
    }
    let last_error = status
        .last_error
        .as_ref()
        .map(|error| error_dict(py, error))
        .transpose()?;
    dict.set_item("last_error", last_error)?;
    let media = status
        .media
        .as_ref()
        .map(|media| media_dict(py, media))
        .transpose()?;
    dict.set_item("media", media)?;
    dict.set_item("transport", status.transport.map(|t| t.name()))?;
    dict.set_item("rtsp_client", status.rtsp_client.map(|c| c.name()))?;
    dict.set_item("core", status.core)?;
    dict.set_item("decoded", status.decoded)?;
    dict.set_item("published", status.published)?;
    dict.set_item("damaged", status.damaged)?;
    dict.set_item("rtp_packets_lost", status.rtp_packets_lost)?;
    let dropped = PyDict::new(py);
    for (reason, count) in status.dropped.by_reason() {
        dropped.set_item(reason, count)?;
    }
    dict.set_item("dropped", dropped)?;
    let evicted = PyDict::new(py);
    for (reason, count) in status.evicted.by_reason() {
        evicted.set_item(reason, count)?;
    }
    dict.set_item("evicted", evicted)?;
    dict.set_item("decode_errors", status.decode_errors)?;
    dict.set_item("reconnects", status.reconnects)?;
    dict.set_item("clock_steps", status.clock_steps)?;
    dict.set_item("decoded_in_place", status.decoded_in_place)?;
    dict.set_item("converted_in_bands", status.converted_in_bands)?;
    dict.set_item("decoder_buffer_fallbacks", status.decoder_buffer_fallbacks)?;
    dict.set_item("measured_fps", status.measured_fps)?;
    dict.set_item("events_lost", status.events_lost)?;
    dict.set_item("bytes_in", status.bytes_in)?;
    dict.set_item("last_frame_age", status.last_frame_age.map(seconds))?;
    dict.set_item(
        "first_frame_latency",
        status.first_frame_latency.map(seconds),
    )?;
    let latency = PyDict::new(py);
    let histogram = &status.publish_latency;
    latency.set_item("count", histogram.count())?;
    latency.set_item("sum", seconds(histogram.sum()))?;
    latency.set_item("p50", histogram.quantile(0.5).map(seconds))?;
    latency.set_item("p99", histogram.quantile(0.99).map(seconds))?;
    dict.set_item("publish_latency", latency)?;
    Ok(dict)
}

/// A state transition (or a media change) as a dict: `{"id", "state", "at",
/// "error", "media"}`, `media` set for a media change.
pub(crate) fn event_dict<'py>(
    py: Python<'py>,
    event: &StreamEvent,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("id", &event.id)?;
    dict.set_item("state", event.state.name())?;
    dict.set_item("at", clock::unix(event.at))?;
    let error = event
        .error
        .as_ref()
        .map(|error| error_dict(py, error))
        .transpose()?;
    dict.set_item("error", error)?;
    let media = event
        .media
        .as_ref()
        .map(|media| media_dict(py, media))
        .transpose()?;
    dict.set_item("media", media)?;
    Ok(dict)
}
