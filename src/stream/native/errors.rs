//! retina's errors as ours: the status code, or else the kind of failure
//! retina names, decides the [`ErrorKind`] (so the worker waits out a refused login,
//! gives up on what cannot work, and reconnects after the rest), and the
//! message is retina's first paragraph (its connection and packet context
//! follow in the log at debug level), scrubbed of secrets.

use crate::error::{Error, ErrorKind};
use crate::redact::redact;

/// A retina error from `doing` (e.g. "DESCRIBE") as ours.
pub(super) fn map(doing: &str, error: &retina::Error) -> Error {
    let text = error.to_string();
    tracing::debug!(target: "rtsp_ingest::native", "{doing}: {}", redact(&text));
    let first = text.split("\n\n").next().unwrap_or(&text).trim();
    let message = format!("{doing}: {}", redact(first));
    Error::new(kind_of(error, &text), message)
}

/// Whether `error` is a failure to open the TCP connection (no request went
/// out yet, so another address of the same host may be tried).
pub(super) fn is_connect_refused(error: &retina::Error) -> bool {
    error.to_string().starts_with("Unable to connect")
}

/// retina's error is opaque but for the status code; its other causes are
/// told apart by the fixed start of their messages (retina's `ErrorInt`).
fn kind_of(error: &retina::Error, text: &str) -> ErrorKind {
    if let Some(status) = error.status_code() {
        return match status {
            401 | 403 => ErrorKind::Auth,
            404 => ErrorKind::NotFound,
            // The transport negotiation moves `prefer_tcp` to UDP on it.
            461 => ErrorKind::TransportRefused,
            // 501 Not implemented, 505 RTSP version not supported.
            501 | 505 => ErrorKind::Unsupported,
            400..=499 => ErrorKind::Refused,
            _ => ErrorKind::Connect,
        };
    }
    const CONNECTION: [&str; 4] = [
        "Unable to connect",
        "Error reading from RTSP peer",
        "Error writing to RTSP peer",
        "Error receiving UDP packet",
    ];
    if text == "Timeout" {
        ErrorKind::Timeout
    } else if CONNECTION.iter().any(|start| text.starts_with(start)) {
        ErrorKind::Connect
    } else if text.starts_with("Unsupported") {
        ErrorKind::Unsupported
    } else if text.starts_with("Invalid argument") {
        ErrorKind::InvalidConfig
    } else {
        // Framing, packet and precondition errors: what the camera sent.
        ErrorKind::InvalidData
    }
}
