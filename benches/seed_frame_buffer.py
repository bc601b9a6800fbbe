"""Times the seed's Python FrameBuffer with the workloads of benches/slab.rs.

Usage: python3 benches/seed_frame_buffer.py [path/to/frame_buffer.py]
(default /work/shared/seed/frame_buffer.py; needs numpy). One coroutine, no
contention: each figure is the mean of a timed loop, best of 5 runs.
Frames are 64x64 uint8 and the buffer holds 4, as in benches/slab.rs.
"""

import asyncio
import importlib.util
import sys
import time

import numpy as np

PATH = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/seed/frame_buffer.py"
N = 200_000
RUNS = 5


def load_seed():
    spec = importlib.util.spec_from_file_location("frame_buffer", PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["frame_buffer"] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


async def bench(name, body):
    best = float("inf")
    for _ in range(RUNS):
        start = time.perf_counter_ns()
        await body()
        best = min(best, (time.perf_counter_ns() - start) / N)
    print(f"{name}: {best:.0f} ns/op")


async def main():
    seed = load_seed()
    frame = np.zeros((64, 64), dtype=np.uint8)

    buf = seed.FrameBuffer(capacity=4)

    async def write_same_frame():
        for i in range(N):
            await buf.write(frame, "cam", i, 1.0)

    async def write_new_frame():
        for i in range(N):
            await buf.write(np.zeros((64, 64), dtype=np.uint8), "cam", i, 1.0)

    async def write_now():
        for i in range(N):
            await buf.write(frame, "cam", i)

    async def read_latest():
        for _ in range(N):
            await buf.read_latest()

    async def write_pop():
        for i in range(N):
            await buf.write(frame, "cam", i, 1.0)
            await buf.pop_oldest()

    async def empty_loop():
        for _ in range(N):
            pass

    await bench("loop_overhead", empty_loop)
    await bench("write (same ndarray, timestamp given)", write_same_frame)
    await bench("write (new 64x64 ndarray per write)", write_new_frame)
    await bench("write (timestamp=time.time())", write_now)
    await bench("read_latest", read_latest)
    await bench("write + pop_oldest", write_pop)


if __name__ == "__main__":
    print(sys.version.split()[0], "numpy", np.__version__)
    asyncio.run(main())
