"""Manager: run-time control, status, batches across cameras, the batcher
and next_ready, events and metrics, against the simulator."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import rtsp_ingest

from conftest import run_and_interrupt, wait_for


@pytest.fixture
def manager(sim):
    with rtsp_ingest.Manager(cores=False) as manager:
        manager.add("a", sim.urls[0])
        manager.add("b", sim.urls[1], resize=(320, 180))
        yield manager


def test_control_and_status(manager, sim):
    assert manager.ids() == ["a", "b"]
    assert manager.wait("a", timeout=10) is not None
    assert [status["id"] for status in manager.list()] == ["a", "b"]
    with pytest.raises(rtsp_ingest.AlreadyExistsError):
        manager.add("a", sim.urls[0])
    with pytest.raises(rtsp_ingest.UnknownStreamError):
        manager.status("nope")
    with pytest.raises(LookupError):  # UnknownStreamError is a LookupError too
        manager.wait("nope", timeout=0.1)
    manager.stop("a")
    assert manager.status("a")["state"] == "stopped"
    assert manager.wait("a", after=manager.latest("a").seq, timeout=5) is None
    manager.start("a")
    assert manager.wait("a", timeout=10) is not None
    manager.restart("b")
    assert manager.wait("b", timeout=10).width == 320
    manager.remove("b")
    assert manager.ids() == ["a"]
    assert manager.latest("b") is None
    used, budget = manager.memory()
    assert used > 0 and budget is None
    assert "rtsp_ingest" in manager.metrics_text()
    states = [(event["id"], event["state"]) for event in manager.events()]
    assert ("a", "stopped") in states and ("a", "streaming") in states


def test_latest_batch(manager):
    wait_for(lambda: manager.latest("a") and manager.latest("b"))
    batch = manager.latest_batch(["a", "b", "ghost"], max_age=5.0)
    assert batch.ids == ["a", "b"] and len(batch) == 2
    assert batch.missing == {"ghost": "unknown_stream"}
    assert all(0 <= age < 5 for age in batch.ages)
    assert [frame.stream_id for _, frame in batch] == ["a", "b"]
    stale = manager.latest_batch(["a"], max_age=0.0)
    assert stale.missing == {"a": "too_old"}


@pytest.mark.parametrize("call", ["batcher.wait_batch()", "batcher.wait_batch(60)", "batcher.next_ready()"])
def test_ctrl_c_during_a_batch_wait_raises_keyboard_interrupt(silent_camera, call):
    elapsed, result = run_and_interrupt(
        f"""
        import rtsp_ingest
        manager = rtsp_ingest.Manager(cores=False)
        manager.add("quiet", {silent_camera.url()!r})
        batcher = manager.batcher(["quiet"], max_age=1.0)
        print("READY", flush=True)
        try:
            {call}
        except KeyboardInterrupt:
            print("INTERRUPTED", flush=True)
        manager.shutdown()
        """
    )
    assert "INTERRUPTED" in result.stdout, result.stderr
    assert result.returncode == 0, result.stderr
    assert elapsed < 2.0, elapsed  # prompt: the wait looks for signals every 50 ms


def test_batcher_wait_batch_and_next_ready(manager):
    wait_for(lambda: manager.latest("a") and manager.latest("b"))
    batcher = manager.batcher(["a", "b"], max_age=1.0)
    seen = {"a": -1, "b": -1}
    for _ in range(5):
        batch = batcher.wait_batch(1.0)
        for stream_id, frame in batch:
            assert frame.seq > seen[stream_id]  # never a frame twice
            seen[stream_id] = frame.seq
    assert min(seen.values()) >= 0
    ready = [batcher.next_ready(timeout=2.0) for _ in range(10)]
    assert all(item is not None for item in ready)
    ids = {stream_id for stream_id, _ in ready}
    assert ids == {"a", "b"}  # round robin across streams
    for stream_id, frame in ready:
        assert frame.stream_id == stream_id and frame.seq > seen[stream_id]
        seen[stream_id] = frame.seq


def test_batch_stacks_into_one_array(sim):
    with rtsp_ingest.Manager(cores=False) as manager:
        for index, url in enumerate(sim.urls):
            manager.add(f"cam{index}", url, resize=(160, 90))
        batcher = manager.batcher(["cam0", "cam1"], max_age=1.0)
        batch = wait_for(lambda: (b := batcher.wait_batch(1.0)) and len(b) == 2 and b)
        array = batch.stack()
        assert array.shape == (2, 90, 160, 3) and array.dtype == np.uint8
        assert np.array_equal(array[1], np.asarray(batch.frames[1]))


def test_next_ready_releases_the_gil_and_times_out(manager):
    manager.stop("a")
    manager.stop("b")
    batcher = manager.batcher(["a", "b"])
    ticks = [0]
    done = threading.Event()
    thread = threading.Thread(target=lambda: [ticks.__setitem__(0, ticks[0] + 1) for _ in iter(done.is_set, True)])
    thread.start()
    begun = time.monotonic()
    while batcher.next_ready(timeout=0.5) is not None:
        pass  # the streams' last frames, once each
    assert batcher.next_ready(timeout=0.5) is None
    done.set()
    thread.join()
    assert time.monotonic() - begun >= 0.5
    assert ticks[0] > 10_000


def test_memory_budget(sim):
    with rtsp_ingest.Manager(memory_budget_mb=8, cores=False) as manager:
        with pytest.raises(rtsp_ingest.OverBudgetError):
            manager.add("big", sim.urls[0], resize=(1920, 1080))
        manager.add("small", sim.urls[0], resize=(64, 36))
        assert manager.memory()[1] == 8 * 1024 * 1024
