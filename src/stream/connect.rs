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
//!
//! Each attempt opens with the transport the worker chose for it (the
//! status's [`transport`](super::StreamStatus::transport)): with the default
//! `prefer_tcp`, TCP until the camera refuses it, then UDP. RTP over UDP gets
//! its own demuxer settings ([`attempt_options`]).

use std::sync::Arc;
use std::time::Duration;

use super::handle::StreamShared;
use crate::error::{Error, ErrorKind, Result};
use crate::ffmpeg::{ConnectStage, Input, InputOptions, Interrupt, RtspTransport};
use crate::resolve;

/// How long FFmpeg's RTP demuxer holds packets after a gap in the sequence
/// numbers, waiting for the missing one to arrive late (`max_delay`, RTP over
/// UDP only): reordering by up to this much is absorbed; a lost packet
/// delays the frames after it by this much before they are decoded without
/// it (and then held by the damage policy). FFmpeg's own UDP default.
pub(crate) const UDP_MAX_DELAY: Duration = Duration::from_millis(100);

/// How many RTP packets FFmpeg's reorder queue holds (`reorder_queue_size`,
/// RTP over UDP): past it the oldest gap is given up at once. 4 Mbit/s of
/// 1400-byte packets is about 360 packets a second, so 128 covers the whole
/// [`UDP_MAX_DELAY`] for streams up to about 14 Mbit/s.
pub(crate) const UDP_REORDER_QUEUE: u32 = 128;

/// FFmpeg's RTP reordering queue over TCP (interleaved or HTTP-tunnelled):
/// the smallest that makes it notice (and log, which counts them) sequence
/// gaps, for one packet of delay after a gap; see
/// [`InputOptions::reorder_queue_size`].
pub(crate) const TCP_REORDER_QUEUE: u32 = 2;

/// The UDP socket receive buffer asked for (`buffer_size`, bytes): a keyframe
/// arrives as a burst of packets; the kernel caps it at `net.core.rmem_max`.
pub(crate) const UDP_RECEIVE_BUFFER: u32 = 2 << 20;

/// `options` for an attempt over `transport`: RTP over UDP (and `auto`, which
/// may end up on UDP) with the reorder settings above.
pub(crate) fn attempt_options(options: &InputOptions, transport: RtspTransport) -> InputOptions {
    let options = options.clone().transport(transport);
    match transport {
        RtspTransport::Udp | RtspTransport::UdpMulticast | RtspTransport::Auto => options
            .max_delay(Some(UDP_MAX_DELAY))
            .reorder_queue_size(Some(UDP_REORDER_QUEUE))
            .buffer_size(Some(UDP_RECEIVE_BUFFER)),
        RtspTransport::Tcp | RtspTransport::Http => {
            options.reorder_queue_size(Some(TCP_REORDER_QUEUE))
        }
        RtspTransport::PreferTcp => options,
    }
}

/// Resolves the camera's host (when it is a name) and opens the first address
/// that accepts the connection, over the transport the worker chose for this
/// attempt.
pub(crate) fn open(shared: &StreamShared, options: &InputOptions) -> Result<Input> {
    let config = &shared.config;
    let transport = shared.status.transport().unwrap_or(config.transport);
    let options = &attempt_options(options, transport);
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
