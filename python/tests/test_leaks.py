"""No leak after 1000 open/close cycles: resident memory and file
descriptors settle (streams, frames, buffers)."""

from __future__ import annotations

import os

import numpy as np

import rtsp_ingest


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def cycle(url: str, index: int) -> None:
    with rtsp_ingest.Stream(url, id=f"cycle{index}") as stream:
        if index % 10 == 0:  # every 10th connects, waits for a frame and maps it
            frame = stream.wait(timeout=10)
            assert frame is not None
            assert np.asarray(frame).shape == (360, 640, 3)
            np.from_dlpack(frame).sum()
            frame.release()
        stream.status()
    buffer = rtsp_ingest.FrameBuffer(capacity=4)
    buffer.write_sync(np.zeros((36, 64, 3), np.uint8), "cam", index, 1.0)
    buffer.read_all_sync()


def test_a_thousand_open_close_cycles_leak_nothing(sim):
    url = sim.urls[0]
    for index in range(300):  # warm up: allocator pools, FFmpeg's one-time state
        cycle(url, index)
    rss, open_fds = rss_mb(), fds()
    for index in range(1000):
        cycle(url, index)
    grown, fd_delta = rss_mb() - rss, fds() - open_fds
    assert fd_delta <= 2, f"{fd_delta} more file descriptors after 1000 cycles"
    assert grown < 30, f"resident memory grew {grown:.1f} MB over 1000 cycles"
