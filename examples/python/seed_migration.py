"""The seed's calling code, unchanged but for the import.

The seed's pipeline: a capture task writes frames into a FrameBuffer, a
detector task reads the newest one, a recorder drains the oldest. Only the
import line changed; the buffer now sits on the slab (one copy per write
into a preallocated slot, zero-copy reads, safe across threads and event
loops). Frames come from a simulated camera here.

Usage: python seed_migration.py [--seconds S]
"""

import argparse
import asyncio

import numpy as np

import rtsp_ingest

# from frame_buffer import DropPolicy, FrameBuffer      # the seed
from rtsp_ingest import DropPolicy, FrameBuffer  # the drop-in

# ---------------------------------------------------------------- the seed's code


async def capture(buffer: FrameBuffer, stream_id: str, frames, stop: asyncio.Event) -> None:
    frame_index = 0
    async for frame in frames:
        await buffer.write(frame, stream_id, frame_index)
        frame_index += 1
        if stop.is_set():
            return


async def detect(buffer: FrameBuffer, stop: asyncio.Event) -> int:
    seen = 0
    while not stop.is_set():
        item = await buffer.read_latest()
        if item is not None:
            _ = item.frame.mean()  # the model
            seen += 1
        await asyncio.sleep(0.04)
    return seen


async def record(buffer: FrameBuffer, stop: asyncio.Event) -> int:
    saved = 0
    while not stop.is_set():
        item = await buffer.pop_oldest()
        if item is None:
            await asyncio.sleep(0.01)
            continue
        saved += 1
    return saved


# ------------------------------------------------------------------- the harness


async def camera_frames(url: str):
    """Frames of a camera as the seed's RTSP service produced them (arrays)."""

    with rtsp_ingest.Stream(url) as stream:
        last = None
        while True:
            frame = await asyncio.to_thread(stream.wait, last, 1.0)
            if frame is None:
                continue
            last = frame.seq
            yield np.asarray(frame)


async def main(seconds: float) -> None:
    buffer = FrameBuffer(capacity=30, drop_policy=DropPolicy.LATEST, max_memory_mb=64)
    stop = asyncio.Event()
    with rtsp_ingest.Simulator(cameras=1) as simulator:
        tasks = [
            asyncio.create_task(capture(buffer, "cam0", camera_frames(simulator.urls[0]), stop)),
            asyncio.create_task(detect(buffer, stop)),
            asyncio.create_task(record(buffer, stop)),
        ]
        await asyncio.sleep(seconds)
        stop.set()
        _, seen, saved = await asyncio.gather(*tasks)
    print(f"detector saw {seen} frames, recorder saved {saved}")
    print("stats:", buffer.stats)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    asyncio.run(main(parser.parse_args().seconds))
