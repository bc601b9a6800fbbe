//! The control-plane error: one opaque [`Error`] with a [`ErrorKind`] and a message
//! that carries enough context to act on.
//!
//! Hot paths do not use it: they return small, value-giving results (see
//! [`crate::slab::Rejected`]). Messages never contain credentials.

use std::fmt;

use crate::names::named_enum;

named_enum! {
    /// What went wrong, for callers that branch on it. `name` is a stable
    /// snake_case name, for JSON and metrics labels (`Display` is prose).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    #[non_exhaustive]
    pub enum ErrorKind {
        /// A configuration value is out of range or inconsistent; the message names it.
        InvalidConfig = "invalid_config",
        /// A memory budget cannot hold what was asked for.
        OverBudget = "over_budget",
        /// The source could not be reached or the connection broke: refused,
        /// unreachable, reset, or another I/O failure.
        Connect = "connect",
        /// A blocking call ran past its deadline (the stream's open or read timeout,
        /// or the socket timeout).
        Timeout = "timeout",
        /// A blocking call was interrupted because the stream was asked to stop.
        Stopped = "stopped",
        /// The server refused the credentials (RTSP/HTTP 401 or 403).
        Auth = "auth",
        /// The server or file system has no such resource (404, missing file, no
        /// video stream). Retried with the long backoff: a path does not
        /// appear in the next second.
        NotFound = "not_found",
        /// The camera refused the RTP transport asked for (`461 Unsupported
        /// Transport` to SETUP), or played but sent nothing over it.
        TransportRefused = "transport_refused",
        /// The server answered a request with an error status that retrying
        /// soon will not change (a 4xx other than 401, 403, 404 and 461, such
        /// as `454 Session Not Found` or `400 Bad Request`). Retried with the
        /// long backoff.
        Refused = "refused",
        /// The source sent data that cannot be parsed.
        InvalidData = "invalid_data",
        /// The decoder rejected a packet or failed to produce a frame.
        Decode = "decode",
        /// A codec, pixel format, protocol or feature this build of FFmpeg lacks.
        Unsupported = "unsupported",
        /// Any other FFmpeg failure; the message carries FFmpeg's own text.
        Ffmpeg = "ffmpeg",
        /// A stream with this id is already managed.
        AlreadyExists = "already_exists",
        /// No stream with this id is managed.
        UnknownStream = "unknown_stream",
        /// A stream's worker panicked (a bug here, in a crate it calls, or in a
        /// `tracing` layer it logs through); the message carries the panic's.
        Panic = "panic",
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::InvalidConfig => "invalid configuration",
            ErrorKind::OverBudget => "over memory budget",
            ErrorKind::Connect => "connection failed",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Stopped => "stopped",
            ErrorKind::Auth => "not authorized",
            ErrorKind::NotFound => "not found",
            ErrorKind::TransportRefused => "transport refused",
            ErrorKind::Refused => "refused by the server",
            ErrorKind::InvalidData => "invalid data",
            ErrorKind::Decode => "decode failed",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Ffmpeg => "ffmpeg error",
            ErrorKind::AlreadyExists => "already exists",
            ErrorKind::UnknownStream => "unknown stream",
            ErrorKind::Panic => "worker panicked",
        })
    }
}

/// The crate's control-plane error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    field: Option<&'static str>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            field: None,
        }
    }

    /// An [`ErrorKind::InvalidConfig`] about the setting `field`.
    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field),
            ..Self::new(ErrorKind::InvalidConfig, message)
        }
    }

    /// The configuration setting the error is about, by its setter's name
    /// (`"queue_capacity"`, `"resize"`, `"id"`), when there is one.
    pub fn field(&self) -> Option<&'static str> {
        self.field
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human-readable detail, without the kind prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
