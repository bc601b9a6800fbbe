"""Streams: waiting (GIL released, Ctrl-C), iteration, status and events,
against the simulator and the GStreamer fixture."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import rtsp_ingest

from conftest import run_and_interrupt, wait_for


def test_wait_after_none_is_any_frame_and_after_seq_is_newer(sim):
    with rtsp_ingest.Stream(sim.urls[0]) as stream:
        assert stream.latest() is None or stream.latest().seq >= 0
        first = stream.wait(timeout=10)
        assert first is not None
        newer = stream.wait(after=first.seq, timeout=10)
        assert newer.seq > first.seq
        assert stream.latest_after(stream.latest().seq) is None
        assert stream.latest().seq >= newer.seq


def test_wait_times_out_with_none(silent_camera):
    with rtsp_ingest.Stream(silent_camera.url()) as stream:
        begun = time.monotonic()
        assert stream.wait(timeout=0.3) is None
        assert 0.25 < time.monotonic() - begun < 3
        assert stream.wait(timeout=0) is None
        with pytest.raises(ValueError):
            stream.wait(timeout=-1)


def test_iteration_yields_each_newer_frame_once_until_stopped(sim):
    stream = rtsp_ingest.Stream(sim.urls[0])
    seqs = []
    for frame in stream:
        seqs.append(frame.seq)
        if len(seqs) == 8:
            threading.Timer(0.2, stream.stop).start()
    assert len(seqs) >= 8
    assert seqs == sorted(set(seqs)), seqs  # strictly increasing: never a frame twice
    assert stream.finished
    assert stream.status()["state"] == "stopped"
    begun = time.monotonic()
    assert stream.wait(after=seqs[-1], timeout=5) is None  # nothing newer will come
    assert time.monotonic() - begun < 1.0  # and the wait knows it at once
    assert stream.wait().seq == seqs[-1]  # any frame: the last one


def test_wait_releases_the_gil(silent_camera):
    counter = [0]
    running = threading.Event()
    done = threading.Event()

    def spin():
        running.set()
        while not done.is_set():
            counter[0] += 1

    with rtsp_ingest.Stream(silent_camera.url()) as stream:
        thread = threading.Thread(target=spin)
        thread.start()
        running.wait()
        before = counter[0]
        assert stream.wait(timeout=1.0) is None
        during = counter[0] - before
        done.set()
        thread.join()
    # With the GIL held for the second, the other thread could not count at
    # all; released, it counts millions.
    assert during > 100_000, during


@pytest.mark.parametrize("call", ["stream.wait()", "next(iter(stream))", "stream.wait(timeout=60)"])
def test_ctrl_c_during_wait_raises_keyboard_interrupt(silent_camera, call):
    elapsed, result = run_and_interrupt(
        f"""
        import rtsp_ingest
        stream = rtsp_ingest.Stream({silent_camera.url()!r})
        print("READY", flush=True)
        try:
            {call}
        except KeyboardInterrupt:
            print("INTERRUPTED", flush=True)
        stream.stop()
        """
    )
    assert "INTERRUPTED" in result.stdout, result.stderr
    assert result.returncode == 0, result.stderr
    assert elapsed < 2.0, elapsed  # prompt: the wait looks for signals every 50 ms


def test_status_and_events(sim):
    with rtsp_ingest.Stream(sim.urls[1], id="gate") as stream:
        stream.wait(timeout=10)
        status = wait_for(lambda: (s := stream.status())["published"] >= 3 and s)
        assert status["id"] == "gate" and status["url"] == sim.urls[1]
        assert status["state"] == "streaming"
        assert status["media"]["codec"] == "h264"
        assert (status["media"]["width"], status["media"]["height"]) == (640, 360)
        assert status["decoded"] >= status["published"] >= 3
        assert set(status["dropped"]) == {"corrupt", "skipped", "no_free_slot", "convert_failed", "no_slab"}
        assert set(status["evicted"]) == {
            "overwritten",
            "sampled_out",
            "queue_full",
            "no_consumer",
        }
        assert status["publish_latency"]["count"] >= 3
        assert status["last_frame_age"] is not None and status["last_frame_age"] < 5
        events = stream.events()
        assert [event["state"] for event in events][:2] == ["connecting", "streaming"]
        assert all(event["id"] == "gate" and event["at"] > 1e9 for event in events)
        assert stream.events() == []  # drained
    assert stream.status()["state"] == "stopped"
    assert [event["state"] for event in stream.events()] == ["stopped"]


def test_connecting_stream_says_what_it_waits_for(silent_camera):
    with rtsp_ingest.Stream(silent_camera.url()) as stream:
        status = wait_for(lambda: (s := stream.status())["state_detail"] and s, timeout=5)
        assert status["state"] == "connecting"
        assert "OPTIONS" in status["state_detail"] or "connect" in status["state_detail"]


@pytest.mark.parametrize("mount", ["/h264", "/h264-bframes", "/h265", "/mjpeg"])
def test_gstreamer_fixture_codecs(gst_server, mount):
    with rtsp_ingest.Stream(gst_server + mount, format="rgb24") as stream:
        frame = stream.wait(timeout=20)
        assert frame is not None, stream.status()
        image = np.asarray(frame)
        assert image.shape == (240, 320, 3)
        # The fixture's clip: four bands, red | green | blue | grey.
        for x, rgb in [(40, (255, 0, 0)), (120, (0, 255, 0)), (200, (0, 0, 255)), (280, (128, 128, 128))]:
            assert np.abs(image[80, x].astype(int) - rgb).max() < 40, (mount, x, image[80, x])


def test_stop_is_bounded_and_idempotent(silent_camera):
    stream = rtsp_ingest.Stream(silent_camera.url())
    begun = time.monotonic()
    assert stream.stop() is True
    assert time.monotonic() - begun < 1.0
    assert stream.stop() is True
    assert stream.finished


def test_fast_decoding_is_an_option_the_status_reports(sim):
    with rtsp_ingest.Stream(sim.urls[0], decode="fast") as stream:
        assert stream.wait(timeout=10) is not None
        assert stream.status()["media"]["decode"] == "fast"
    with pytest.raises(rtsp_ingest.ConfigError) as error:
        rtsp_ingest.Stream(sim.urls[0], decode="turbo")
    assert error.value.field == "decode"
    assert "turbo" in str(error.value) and "fast" in str(error.value)


def test_damage_is_flagged_or_held():
    """A camera that damages its RTP payloads: with on_damage="flag" the damaged
    frames come through, each saying how; with the default "hold" none does."""

    with rtsp_ingest.Simulator(cameras=1, size=(320, 180), faults=["corrupt=0.00005"]) as sim:
        with rtsp_ingest.Stream(sim.urls[0], on_damage="flag", stall_timeout=10) as flagged:
            seen = set()
            deadline = time.monotonic() + 20
            frame = flagged.wait(timeout=10)
            while time.monotonic() < deadline and len(seen) < 2:
                assert frame is not None
                seen.add(frame.damage)
                frame = flagged.wait(after=frame.seq, timeout=10)
            assert "clean" in seen and seen - {"clean"}, seen
            assert seen <= {"clean", "concealed", "damaged_reference"}
            assert flagged.status()["damaged"] > 0
        with rtsp_ingest.Stream(sim.urls[0], stall_timeout=10) as held:
            frame = held.wait(timeout=10)
            for _ in range(20):
                assert frame is not None and frame.damage == "clean"
                frame = held.wait(after=frame.seq, timeout=10)
            assert held.status()["damaged"] == 0


def test_an_unknown_damage_policy_names_its_field():
    with pytest.raises(rtsp_ingest.ConfigError) as raised:
        rtsp_ingest.Stream("rtsp://127.0.0.1:9/x", on_damage="show")
    assert raised.value.field == "on_damage"
