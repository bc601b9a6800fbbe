"""rtsp_ingest: RTSP cameras into Python inference code, with the lowest
latency and cost the hardware allows.

The engine (Rust: FFmpeg decode straight into a lock-free slab of
preallocated frames) runs in its own threads; Python gets frames as numpy
arrays that are the slab's slots themselves, without a copy::

    import numpy as np
    import rtsp_ingest

    with rtsp_ingest.Stream("rtsp://user:pw@10.0.0.5/live") as camera:
        for frame in camera:                  # each newer frame, never one twice
            image = np.asarray(frame)         # (h, w, 3) uint8 BGR, read-only, no copy
            ...

* ``Stream``: one camera (``latest``, ``wait``, iteration, ``status``, ``events``).
* ``Manager``: many cameras, a memory budget, batches across cameras.
* ``Frame``: a leased slot: buffer protocol, DLPack, ``release()``.
* ``FrameBuffer``: the seed's ``FrameBuffer``, backed by the slab (a drop-in).
* ``Simulator``: simulated cameras with faults, for tests.
* ``Error`` and its subclasses: one per error kind; no message holds a password.
"""

from ._errors import (
    AlreadyExistsError,
    AuthError,
    ConfigError,
    ConnectError,
    DecodeError,
    Error,
    FfmpegError,
    InvalidDataError,
    NotFoundError,
    OverBudgetError,
    PanicError,
    RefusedError,
    StoppedError,
    TimeoutError,
    TransportRefusedError,
    UnknownStreamError,
    UnsupportedError,
)
from ._frame_buffer import DropPolicy, FrameBuffer, FrameItem, FrameMeta
from ._native import ENGINE_VERSION, Batch, Batcher, Frame, Manager, Simulator, Stream

__version__ = "0.1.0"

__all__ = [
    "AlreadyExistsError",
    "AuthError",
    "Batch",
    "Batcher",
    "ConfigError",
    "ConnectError",
    "DecodeError",
    "DropPolicy",
    "ENGINE_VERSION",
    "Error",
    "FfmpegError",
    "Frame",
    "FrameBuffer",
    "FrameItem",
    "FrameMeta",
    "InvalidDataError",
    "Manager",
    "NotFoundError",
    "OverBudgetError",
    "PanicError",
    "RefusedError",
    "Simulator",
    "StoppedError",
    "Stream",
    "TimeoutError",
    "TransportRefusedError",
    "UnknownStreamError",
    "UnsupportedError",
]
