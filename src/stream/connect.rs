//! Opening a stream's camera: its host name is resolved in our own code
//! ([`crate::resolve`], bounded by the connect timeout and the stream's stop
//! flag), and FFmpeg opens the URL with the address in place of the name, so
//! no step of a connection attempt blocks where a stop cannot reach it.
//!
//! FFmpeg builds its RTSP request URIs from the URL it opens, so the camera
//! sees `DESCRIBE rtsp://192.0.2.7:554/live` rather than the name. RTSP has
//! no `Host` header, and Digest auth hashes the URI that the same request
//! carries, so both stay consistent (`tests/stream_resolve.rs` checks a
//! login against a real server). With `rtsps`, TLS then sends no SNI name.
//! When a name has several addresses they are tried in order while the TCP
//! connection fails (before any request was sent).

use std::sync::Arc;

use super::handle::StreamShared;
use crate::error::{Error, ErrorKind, Result};
use crate::ffmpeg::{ConnectStage, Input, InputOptions, Interrupt};
use crate::resolve;

/// Resolves the camera's host (when it is a name) and opens the first address
/// that accepts the connection.
pub(crate) fn open(shared: &StreamShared, options: &InputOptions) -> Result<Input> {
    let config = &shared.config;
    let interrupt = &shared.interrupt;
    let Some(host) = config.host_name() else {
        return Input::open(
            &config.url_with_credentials(),
            options,
            Arc::clone(interrupt),
        );
    };
    interrupt.set_stage(Some(ConnectStage::Resolving));
    let addresses = resolve::resolve(host, &config.dns, config.connect_timeout, &|| {
        interrupt.is_stopped()
    })?;
    tracing::debug!(stream = %shared.status.id, host, ?addresses, "resolved");
    let mut refused = None;
    for address in addresses {
        let url = config.url_with_credentials_at(address);
        match Input::open(&url, options, Arc::clone(interrupt)) {
            // Refused before any request went out: the next address may listen.
            Err(error) if error.kind() == ErrorKind::Connect && still_connecting(interrupt) => {
                refused = Some(Error::new(
                    ErrorKind::Connect,
                    format!("{host} is {address}: {}", error.message()),
                ));
            }
            Err(error) => {
                return Err(Error::new(
                    error.kind(),
                    format!("{host} is {address}: {}", error.message()),
                ))
            }
            Ok(input) => return Ok(input),
        }
    }
    Err(refused.expect("a lookup that succeeds gives at least one address"))
}

/// Whether the attempt failed while still opening its TCP connection (not
/// stopped, no request sent yet).
fn still_connecting(interrupt: &Interrupt) -> bool {
    !interrupt.is_stopped()
        && interrupt.stage().map(|(stage, _)| stage) == Some(ConnectStage::Connecting)
}
