"""The seed's ``FrameBuffer``, backed by the slab: a drop-in.

Same names, same calls, same results for ``DropPolicy.LATEST`` (with and
without ``max_memory_mb``), but:

* a write copies the array once into a preallocated slot (no allocation per
  write), and reads return read-only numpy views of the slots (no copy);
* it is safe across threads and event loops (no ``asyncio.Lock``); every
  coroutine has a plain synchronous twin (``write_sync``, ``read_latest_sync``,
  ...) for threaded code;
* ``DropPolicy.SAMPLE`` keeps an even sample in time of everything since the
  last ``clear`` (the newest frame always kept), instead of halving the
  buffer and then admitting every frame again;
* a timestamp of 0.0 stays 0.0 (``None`` still means ``time.time()``);
* the first write fixes the frame shape and dtype (or ``shape=`` and
  ``dtype=`` do); a frame of another shape raises ValueError naming both,
  and nothing in the buffer is lost.

A frame you hold (an item's ``frame`` view) keeps its slot: the buffer has
``reader_slots`` spare slots (default 4) for frames held after they left the
buffer; while more are held, writes are dropped and counted
(``stats["dropped"]["no_free_slot"]``), never blocked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ._native import SlabBuffer

_MIB = 1024 * 1024


class DropPolicy(str, Enum):
    """What the buffer does with a new frame when it is full."""

    LATEST = "latest"  #: evict the oldest frame (real-time inference)
    SAMPLE = "sample"  #: keep an even sample in time, the newest always included
    DROP_NEWEST = "drop-newest"  #: keep what is buffered; leave new frames out


@dataclass
class FrameMeta:
    """A frame's metadata, as the seed's."""

    stream_id: str
    frame_index: int
    timestamp: float
    width: int = 0
    height: int = 0


@dataclass
class FrameItem:
    """A buffered frame: a read-only view of its slot, and its metadata."""

    frame: np.ndarray
    meta: FrameMeta


class FrameBuffer:
    """A ring buffer of frames with a drop policy, on a preallocated slab.

    Args:
        capacity: the most frames it holds (at least 1).
        drop_policy: what happens when it is full.
        max_memory_mb: caps the frames' memory (``0``: no cap), as the seed
            counts it (frames × ``frame.nbytes``); a frame alone over the cap
            is dropped.
        shape, dtype: fix the frame geometry up front (else the first write does).
        reader_slots: spare slots for frames held after they left the buffer.
    """

    def __init__(
        self,
        capacity: int = 300,
        drop_policy: DropPolicy = DropPolicy.LATEST,
        max_memory_mb: float = 0,
        *,
        shape: Optional[Tuple[int, ...]] = None,
        dtype: Any = None,
        reader_slots: int = 4,
    ) -> None:
        self.capacity = max(1, capacity)
        self.drop_policy = DropPolicy(drop_policy)
        self.max_memory_mb = max(0.0, max_memory_mb)
        self._slab = SlabBuffer(self.capacity, self.drop_policy.value, float(self.max_memory_mb), reader_slots)
        self._geometry: Optional[Tuple[Tuple[int, ...], np.dtype]] = None
        if shape is not None or dtype is not None:
            if shape is None:
                raise ValueError("dtype= needs shape= too")
            self._slab.fix([int(extent) for extent in shape], np.dtype(dtype if dtype is not None else np.uint8))

    # ------------------------------------------------------------------ writes

    def write_sync(
        self,
        frame: np.ndarray,
        stream_id: str,
        frame_index: int,
        timestamp: Optional[float] = None,
    ) -> None:
        """Copies ``frame`` into a free slot (see ``write``)."""

        frame = np.asarray(frame)
        if timestamp is None:
            timestamp = time.time()
        self._slab.write(frame, stream_id, frame_index, timestamp, float(timestamp))

    async def write(
        self,
        frame: np.ndarray,
        stream_id: str,
        frame_index: int,
        timestamp: Optional[float] = None,
    ) -> None:
        """Writes one frame; when full, ``drop_policy`` decides what goes.

        Raises:
            ValueError: for a frame whose shape or dtype differs from the
                buffer's (nothing is written, nothing is lost).
        """

        self.write_sync(frame, stream_id, frame_index, timestamp)

    # ------------------------------------------------------------------- reads

    def _item(self, raw: Any) -> Optional[FrameItem]:
        if raw is None:
            return None
        view, stream_id, frame_index, timestamp = raw
        if self._geometry is None:
            fixed = self._slab.geometry()
            assert fixed is not None, "an item exists, so a frame fixed the geometry"
            self._geometry = (tuple(fixed[0]), np.dtype(fixed[1]))
        shape, dtype = self._geometry
        frame = np.ndarray(shape, dtype, buffer=view)  # read-only: the view is
        ndim = len(shape)
        meta = FrameMeta(
            stream_id=stream_id,
            frame_index=frame_index,
            timestamp=timestamp,
            width=shape[1] if ndim >= 2 else 0,
            height=shape[0] if ndim >= 2 else 0,
        )
        return FrameItem(frame=frame, meta=meta)

    def _items(self, raws: List[Any]) -> List[FrameItem]:
        return [self._item(raw) for raw in raws]  # type: ignore[misc]

    def read_latest_sync(self) -> Optional[FrameItem]:
        """The newest buffered frame, left in the buffer."""

        return self._item(self._slab.read_latest())

    def read_oldest_sync(self) -> Optional[FrameItem]:
        """The oldest buffered frame, left in the buffer."""

        return self._item(self._slab.read_oldest())

    def read_all_sync(self) -> List[FrameItem]:
        """Every buffered frame, oldest first (views, not copies)."""

        return self._items(self._slab.read_all())

    def read_range_sync(self, start_index: int = 0, count: Optional[int] = None) -> List[FrameItem]:
        """Up to ``count`` frames (all for None) from ``start_index`` places after the oldest."""

        if start_index < 0 or (count is not None and count < 0):
            items = self.read_all_sync()
            end = len(items) if count is None else start_index + count
            return items[start_index:end] if start_index < len(items) else []
        return self._items(self._slab.read_range(start_index, count))

    def pop_latest_sync(self) -> Optional[FrameItem]:
        """Takes the newest frame out of the buffer."""

        return self._item(self._slab.pop_latest())

    def pop_oldest_sync(self) -> Optional[FrameItem]:
        """Takes the oldest frame out of the buffer."""

        return self._item(self._slab.pop_oldest())

    def clear_sync(self) -> None:
        """Empties the buffer at once."""

        self._slab.clear()

    async def read_latest(self) -> Optional[FrameItem]:
        """The newest buffered frame (not consumed)."""

        return self.read_latest_sync()

    async def read_oldest(self) -> Optional[FrameItem]:
        """The oldest buffered frame (not consumed)."""

        return self.read_oldest_sync()

    async def read_all(self) -> List[FrameItem]:
        """Every buffered frame, oldest first (a snapshot, not consumed)."""

        return self.read_all_sync()

    async def read_range(self, start_index: int = 0, count: Optional[int] = None) -> List[FrameItem]:
        """Frames ``start_index`` to ``start_index + count`` from the oldest (a snapshot)."""

        return self.read_range_sync(start_index, count)

    async def pop_latest(self) -> Optional[FrameItem]:
        """Takes the newest frame out of the buffer (consumed)."""

        return self.pop_latest_sync()

    async def pop_oldest(self) -> Optional[FrameItem]:
        """Takes the oldest frame out of the buffer (consumed)."""

        return self.pop_oldest_sync()

    async def clear(self) -> None:
        """Empties the buffer."""

        self.clear_sync()

    # ------------------------------------------------------------------- state

    @property
    def size(self) -> int:
        """Frames buffered now (an exact read)."""

        return self._slab.size()

    @property
    def stats(self) -> Dict[str, Any]:
        """The seed's keys (``size``, ``capacity``, ``total_written``,
        ``total_dropped``, ``drop_policy``, ``usage_percent``), plus
        ``dropped`` by reason (``overwritten``, ``sampled_out``,
        ``queue_full``, ``no_consumer``, ``no_free_slot``, ``abandoned``,
        ``over_memory``),
        ``taken``, ``cleared``, ``slots``, ``slot_bytes`` and the memory the
        slab allocated (``slab_memory_mb``)."""

        slab = self._slab.stats()
        size = self._slab.size()
        dropped = slab["dropped"]
        return {
            "size": size,
            "capacity": self.capacity,
            "total_written": slab["written"],
            "total_dropped": sum(dropped.values()),
            "drop_policy": self.drop_policy.value,
            "usage_percent": round(size / self.capacity * 100, 1),
            "dropped": dropped,
            "taken": slab["taken"],
            "cleared": slab["cleared"],
            "slots": slab["slots"],
            "slot_bytes": slab["slot_bytes"],
            "slab_memory_mb": slab["slots"] * slab["slot_bytes"] / _MIB,
        }

    def estimate_memory_mb(self) -> float:
        """The buffered frames' memory, as the seed counts it (frames × nbytes)."""

        size = self._slab.size()
        if not size:
            return 0.0
        return size * self._slab.frame_bytes() / _MIB


__all__ = ["FrameBuffer", "FrameItem", "FrameMeta", "DropPolicy"]
