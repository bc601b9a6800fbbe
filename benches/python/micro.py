"""Microbenchmarks of the Python package, one process, no contention:

* the seed's FrameBuffer against rtsp_ingest.FrameBuffer: write, read_latest,
  pop_oldest (ns/op; awaited from one coroutine as the seed's callers do, and
  the synchronous twins), the workloads of benches/seed_frame_buffer.py
  (64x64 uint8 frames, capacity 4) and the same at 1080p bgr24;
* stream.latest() + np.asarray(frame) against one copy of the frame (1080p
  bgr24 from a simulated camera).

    python micro.py [path/to/seed/frame_buffer.py]

Each figure: the best of 5 timed loops, mean per operation.
"""

import asyncio
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np

import rtsp_ingest

SEED = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[3] / "shared/seed/frame_buffer.py"
RUNS = 5


def load_seed():
    spec = importlib.util.spec_from_file_location("seed_frame_buffer", SEED)
    module = importlib.util.module_from_spec(spec)
    sys.modules["seed_frame_buffer"] = module
    spec.loader.exec_module(module)
    return module


def best(loop, n):
    times = []
    for _ in range(RUNS):
        begun = time.perf_counter_ns()
        loop(n)
        times.append((time.perf_counter_ns() - begun) / n)
    return min(times)


def best_async(body, n):
    async def timed():
        begun = time.perf_counter_ns()
        await body(n)
        return (time.perf_counter_ns() - begun) / n

    return min(asyncio.run(timed()) for _ in range(RUNS))


def frame_buffer_rows(seed, shape, n):
    frame = np.zeros(shape, np.uint8)
    rows = {}
    for name, module in (("seed", seed), ("rtsp_ingest", rtsp_ingest)):
        buffer = module.FrameBuffer(capacity=4)

        async def write(n, buffer=buffer):
            for i in range(n):
                await buffer.write(frame, "cam0", i, 1.0)

        async def read_latest(n, buffer=buffer):
            for _ in range(n):
                await buffer.read_latest()

        async def write_pop(n, buffer=buffer):
            for i in range(n):
                await buffer.write(frame, "cam0", i, 1.0)
                await buffer.pop_oldest()

        async def write_copy(n, buffer=buffer):
            for i in range(n):
                await buffer.write(frame.copy(), "cam0", i, 1.0)

        rows[name] = {
            "write": best_async(write, n),
            "write of a new array per frame (frame.copy())": best_async(write_copy, n),
            "read_latest": best_async(read_latest, n),
            "write+pop_oldest": best_async(write_pop, n),
        }
        if name == "rtsp_ingest":

            def sync_write(n, buffer=buffer):
                for i in range(n):
                    buffer.write_sync(frame, "cam0", i, 1.0)

            def sync_read(n, buffer=buffer):
                for _ in range(n):
                    buffer.read_latest_sync()

            rows["rtsp_ingest (sync twins)"] = {
                "write": best(sync_write, n),
                "read_latest": best(sync_read, n),
            }
    return rows


def latest_vs_copy(n=20000):
    with rtsp_ingest.Simulator(cameras=1, size=(1920, 1080), frames=25) as sim:
        with rtsp_ingest.Stream(sim.urls[0]) as stream:
            stream.wait(timeout=30)

            def latest_asarray(n):
                for _ in range(n):
                    image = np.asarray(stream.latest())
                    del image

            held = np.asarray(stream.latest())
            out = np.empty_like(held)

            def copy_into(n):
                for _ in range(n // 100):
                    np.copyto(out, held)

            def copy_new(n):
                for _ in range(n // 100):
                    held.copy()

            zero = best(latest_asarray, n)
            copied = best(copy_into, n) * 100
            allocated = best(copy_new, n) * 100
            return {"latest()+np.asarray (ns)": zero, "np.copyto into a preallocated array (ns)": copied,
                    "arr.copy() (ns)": allocated, "ratio to copyto": zero / copied, "ratio to copy()": zero / allocated}


def main():
    seed = load_seed()
    report = {
        "frame_buffer_64x64": frame_buffer_rows(seed, (64, 64), 100_000),
        "frame_buffer_1080p_bgr24": frame_buffer_rows(seed, (1080, 1920, 3), 2_000),
        "latest_vs_copy_1080p": latest_vs_copy(),
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
