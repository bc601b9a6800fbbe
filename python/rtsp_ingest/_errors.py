"""The exceptions of rtsp_ingest: one base class, one subclass per error kind.

Every message is scrubbed by the engine before it gets here: no message, repr
or status field carries a password, whichever part of the URL held it.
"""

from __future__ import annotations

import builtins


class Error(Exception):
    """Any error from rtsp_ingest.

    Attributes:
        kind: the engine's stable snake_case name of the error kind
            (``"invalid_config"``, ``"connect"``, ``"auth"``, ...).
        field: for configuration errors, the option at fault (``"resize"``,
            ``"queue_capacity"``, ``"id"``); otherwise None.
    """

    kind: str = "error"

    def __init__(self, message: str, kind: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind
        self.field = field


class ConfigError(Error, ValueError):
    """A configuration value is out of range or inconsistent; ``field`` names it."""

    kind = "invalid_config"


class OverBudgetError(Error):
    """The manager's memory budget cannot hold the stream's slab."""

    kind = "over_budget"


class ConnectError(Error, ConnectionError):
    """The camera could not be reached, or the connection broke."""

    kind = "connect"


class TimeoutError(Error, builtins.TimeoutError):
    """A blocking step ran past its deadline."""

    kind = "timeout"


class StoppedError(Error):
    """A call was interrupted because the stream was asked to stop."""

    kind = "stopped"


class AuthError(Error, PermissionError):
    """The camera refused the credentials (RTSP 401/403)."""

    kind = "auth"


class NotFoundError(Error, LookupError):
    """No such resource on the camera (404), no such file, or no video stream."""

    kind = "not_found"


class TransportRefusedError(Error):
    """The camera refused the RTP transport asked for (461), or sent nothing over it."""

    kind = "transport_refused"


class RefusedError(Error):
    """The camera answered with an error status retrying soon will not change (454, 400, ...)."""

    kind = "refused"


class InvalidDataError(Error):
    """The source sent data that cannot be parsed."""

    kind = "invalid_data"


class DecodeError(Error):
    """The decoder rejected a packet or produced no frame."""

    kind = "decode"


class UnsupportedError(Error):
    """A codec, pixel format, protocol or feature this build of FFmpeg lacks."""

    kind = "unsupported"


class FfmpegError(Error):
    """Any other FFmpeg failure; the message carries FFmpeg's own text."""

    kind = "ffmpeg"


class AlreadyExistsError(Error):
    """A stream with this id is already managed."""

    kind = "already_exists"


class UnknownStreamError(Error, LookupError):
    """No stream with this id is managed."""

    kind = "unknown_stream"


class PanicError(Error):
    """A stream's worker panicked; the message carries the panic's."""

    kind = "panic"


#: The class for each engine error kind (``rtsp_ingest::ErrorKind::name``).
BY_KIND: dict[str, type[Error]] = {
    cls.kind: cls
    for cls in (
        ConfigError,
        OverBudgetError,
        ConnectError,
        TimeoutError,
        StoppedError,
        AuthError,
        NotFoundError,
        TransportRefusedError,
        RefusedError,
        InvalidDataError,
        DecodeError,
        UnsupportedError,
        FfmpegError,
        AlreadyExistsError,
        UnknownStreamError,
        PanicError,
    )
}

__all__ = [
    "BY_KIND",
    "AlreadyExistsError",
    "AuthError",
    "ConfigError",
    "ConnectError",
    "DecodeError",
    "Error",
    "FfmpegError",
    "InvalidDataError",
    "NotFoundError",
    "OverBudgetError",
    "PanicError",
    "RefusedError",
    "StoppedError",
    "TimeoutError",
    "TransportRefusedError",
    "UnknownStreamError",
    "UnsupportedError",
]
