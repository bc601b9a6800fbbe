"""Shared fixtures: the package's own simulator, the repository's GStreamer
RTSP server (tests/fixtures/rtsp_server.py), a silent camera, the seed."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest

import rtsp_ingest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"


def seed_path() -> Path:
    """The seed's frame_buffer.py: $RTSP_INGEST_SEED, else ../shared/seed beside the clone."""

    override = os.environ.get("RTSP_INGEST_SEED")
    return Path(override) if override else REPO.parent / "shared" / "seed" / "frame_buffer.py"


@pytest.fixture(scope="session")
def seed():
    """The seed's module (the test fails, never skips, when it is missing)."""

    path = seed_path()
    assert path.exists(), f"the seed's FrameBuffer is missing at {path} (set RTSP_INGEST_SEED)"
    spec = importlib.util.spec_from_file_location("seed_frame_buffer", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["seed_frame_buffer"] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sim():
    """Two simulated cameras (640x360, 25 fps) on a free port."""

    with rtsp_ingest.Simulator(cameras=2) as simulator:
        yield simulator


def wait_for(predicate, timeout=10.0, interval=0.02):
    """Polls `predicate` until it is truthy (returns it) or fails the test."""

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s")
        time.sleep(interval)


class SilentCamera:
    """A TCP listener on 127.0.0.1 that accepts and never answers: a camera
    whose RTSP server hangs. Streams pointed at it stay connecting."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.05)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections.append(conn)

    def url(self, path: str = "/live", userinfo: str = "") -> str:
        return f"rtsp://{userinfo}127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        for conn in self.connections:
            conn.close()
        self.sock.close()


@pytest.fixture
def silent_camera():
    camera = SilentCamera()
    yield camera
    camera.close()


@pytest.fixture(scope="session")
def gst_server():
    """The repository's GStreamer RTSP server serving its test clips (looped):
    yields the base URL; mounts /h264, /h264-bframes, /h265, /mjpeg."""

    clips = Path(tempfile.mkdtemp(prefix="rtsp-ingest-clips-"))
    subprocess.run(["bash", str(FIXTURES / "make_clips.sh"), str(clips)], check=True, timeout=300)
    python = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else "python3"
    server = subprocess.Popen(
        [python, str(FIXTURES / "rtsp_server.py"), "--port", "0", "--media", str(clips), "--loop",
         "--exit-on-stdin-eof"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = server.stdout.readline().strip()
    assert line.startswith("READY "), f"GStreamer RTSP server did not start: {line!r}"
    port = dict(kv.split("=", 1) for kv in line.split()[1:])["port"]
    yield f"rtsp://127.0.0.1:{port}"
    server.stdin.close()
    server.terminate()
    server.wait(timeout=10)


def run_and_interrupt(code: str) -> tuple[float, subprocess.CompletedProcess]:
    """Runs `code` in a fresh interpreter, sends SIGINT once it prints READY,
    and returns how long it took to exit after the signal, and the result."""

    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline().strip() == "READY"
    time.sleep(0.3)  # inside the wait
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=10)
    return time.monotonic() - sent, subprocess.CompletedProcess(child.args, child.returncode, out, err)
