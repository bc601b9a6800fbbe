"""Frames: the slot itself (zero copy, read-only), planes, DLPack, the lease
and release semantics, against the simulator."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import rtsp_ingest

from conftest import wait_for


def address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


@pytest.fixture
def stream(sim):
    with rtsp_ingest.Stream(sim.urls[0], id="cam0") as stream:
        yield stream


def test_asarray_is_the_slot_itself(stream):
    frame = stream.wait(timeout=10)
    assert frame is not None
    first, second = np.asarray(frame), np.asarray(frame)
    assert address(first) == address(second)
    assert np.shares_memory(first, second)
    assert np.shares_memory(first, frame.numpy())
    assert first.shape == (360, 640, 3) == frame.shape
    assert first.dtype == np.uint8
    assert first.strides == frame.strides == (640 * 3, 3, 1)
    # The pattern's top-left band is red: BGR (0, 0, 255) give or take the codec.
    b, g, r = first[20, 20]
    assert r > 200 and g < 60 and b < 60, first[20, 20]


def test_frames_are_read_only(stream):
    frame = stream.wait(timeout=10)
    array = np.asarray(frame)
    assert not array.flags.writeable
    with pytest.raises(ValueError):
        array[0, 0, 0] = 1
    with pytest.raises(ValueError):
        array.setflags(write=True)
    import ctypes

    with pytest.raises((TypeError, BufferError)):
        (ctypes.c_char * 16).from_buffer(frame)  # a writable buffer is refused
    view = memoryview(frame)
    assert view.readonly
    with pytest.raises(TypeError):
        view[0, 0, 0] = 1
    view.release()


def test_metadata(stream):
    frame = stream.wait(timeout=10)
    import time

    assert frame.stream_id == "cam0"
    assert (frame.width, frame.height, frame.format) == (640, 360, "bgr24")
    assert 0 <= frame.age < 5
    assert abs(time.monotonic() - frame.received - frame.age) < 0.05
    assert frame.received <= frame.decoded_at <= frame.converted_at <= time.monotonic()
    assert frame.capture_time is None or frame.capture_time > 1e9
    assert isinstance(frame.keyframe, bool)
    later = stream.wait(after=frame.seq, timeout=10)
    assert later.seq > frame.seq
    assert later.pts_ns is None or frame.pts_ns is None or later.pts_ns > frame.pts_ns
    assert "cam0" in repr(frame) and "640x360" in repr(frame)


def test_gray_and_rgb_shapes(sim):
    with rtsp_ingest.Stream(sim.urls[1], format="gray8", resize=(320, 180)) as gray:
        array = np.asarray(gray.wait(timeout=10))
        assert array.shape == (180, 320) and array.strides == (320, 1)
    with rtsp_ingest.Stream(sim.urls[1], format="rgb24", resize="100x50") as rgb:
        frame = rgb.wait(timeout=10)
        array = np.asarray(frame)
        # 300-byte rows padded to the slab's 64-byte row alignment.
        assert array.shape == (50, 100, 3) and array.strides == (320, 3, 1)
        assert not array.flags.c_contiguous
        r, g, b = array[5, 5]
        assert r > 200 and g < 60 and b < 60, array[5, 5]


def test_planes_of_yuv_formats(sim):
    with rtsp_ingest.Stream(sim.urls[0], format="yuv420p") as planar:
        frame = planar.wait(timeout=10)
        y, u, v = frame.planes
        assert (y.shape, u.shape, v.shape) == ((360, 640), (180, 320), (180, 320))
        assert not y.flags.writeable
        whole = np.asarray(frame)
        assert whole.ndim == 1 and np.shares_memory(whole, y) and np.shares_memory(whole, v)
        # Red in BT.601 limited range: Y about 81, V (Cr) high.
        assert 60 < y[20, 20] < 100 and v[10, 10] > 200, (y[20, 20], v[10, 10])
        # The decoder decodes yuv420p straight into the slots: the frames
        # after the first come with no copy, and read the same.
        wait_for(lambda: planar.status()["decoded_in_place"] >= 4)
        y, u, v = planar.wait(timeout=10).planes
        assert 60 < y[20, 20] < 100 and v[10, 10] > 200, (y[20, 20], v[10, 10])
    with rtsp_ingest.Stream(sim.urls[0], format="yuv420p", decode_in_place=False) as copied:
        wait_for(lambda: copied.status()["published"] >= 4)
        assert copied.status()["decoded_in_place"] == 0, copied.status()
    with pytest.raises(rtsp_ingest.ConfigError) as error:
        rtsp_ingest.Stream(sim.urls[0], decode_in_place="yes")
    assert error.value.field == "decode_in_place"
    with rtsp_ingest.Stream(sim.urls[0], format="nv12") as semi:
        frame = semi.wait(timeout=10)
        y, uv = frame.planes
        assert y.shape == (360, 640) and uv.shape == (180, 320, 2)
        assert uv[10, 10, 1] > 200  # V of red
    with rtsp_ingest.Stream(sim.urls[0]) as packed:
        (only,) = packed.wait(timeout=10).planes
        assert only.shape == (360, 640, 3)


def test_dlpack_shares_the_slot(stream):
    frame = stream.wait(timeout=10)
    assert frame.__dlpack_device__() == (1, 0)
    tensor = np.from_dlpack(frame)
    assert tensor.shape == (360, 640, 3) and tensor.dtype == np.uint8
    assert np.shares_memory(tensor, np.asarray(frame))
    assert not tensor.flags.writeable
    # Both ABIs: the legacy capsule for consumers that give no max_version.
    legacy = frame.__dlpack__()
    versioned = frame.__dlpack__(max_version=(1, 0))
    assert "dltensor" in repr(legacy) and "dltensor_versioned" in repr(versioned)
    with pytest.raises(BufferError):
        frame.__dlpack__(copy=True)
    with pytest.raises(BufferError):
        frame.__dlpack__(dl_device=(2, 0))
    del legacy, versioned  # unconsumed capsules free their tensors
    gc.collect()
    with pytest.raises(BufferError):
        frame.release()  # the numpy tensor still holds the lease
    del tensor
    frame.release()


def test_lease_keeps_pixels_while_the_stream_moves_on(sim):
    # Queue of 1 and one spare slot: a held frame takes the spare.
    with rtsp_ingest.Stream(sim.urls[0], queue_capacity=1, reader_slots=1) as stream:
        held = stream.wait(timeout=10)
        pixels = np.asarray(held)
        snapshot = pixels.copy()
        seq = held.seq
        newer = held
        for _ in range(10):  # more frames than the slab has slots
            newer = stream.wait(after=newer.seq, timeout=10)
            newer.release()
        assert newer.seq >= seq + 10
        assert held.seq == seq
        assert np.array_equal(pixels, snapshot)  # the slot was never rewritten
        assert np.array_equal(np.asarray(held), snapshot)


def test_held_frames_take_slots_and_release_gives_them_back(sim):
    # Converting in bands keeps the decoder's own slots (reorder delay + 2),
    # which would be spares too: this counts the queue and reader slots alone.
    with rtsp_ingest.Stream(
        sim.urls[0], queue_capacity=1, reader_slots=1, decode_in_place=False
    ) as stream:
        first = stream.wait(timeout=10)
        second = stream.wait(after=first.seq, timeout=10)
        third = stream.wait(after=second.seq, timeout=10)
        held = [first, second, third]
        # Holding more frames than the spare slots: new frames are dropped, not waited for.
        wait_for(lambda: stream.status()["dropped"]["no_free_slot"] > 0, timeout=10)
        for frame in held:
            frame.release()
        assert all(frame.released for frame in held)
        published = stream.status()["published"]
        wait_for(lambda: stream.status()["published"] >= published + 5, timeout=10)


def test_release_semantics(stream):
    frame = stream.wait(timeout=10)
    array = np.asarray(frame)
    view = array[10:20, ::2]
    del array
    with pytest.raises(BufferError, match="still has 1"):
        frame.release()  # a view of the array still holds the export
    assert not frame.released
    del view
    frame.release()
    assert frame.released
    frame.release()  # idempotent, like memoryview.release
    assert frame.seq >= 0 and frame.width == 640  # metadata outlives the lease
    with pytest.raises(BufferError, match="released"):
        np.asarray(frame)
    with pytest.raises(BufferError, match="released"):
        frame.__dlpack__()
    assert "released" in repr(frame)


def test_with_frame_releases(stream):
    with stream.wait(timeout=10) as frame:
        total = int(np.asarray(frame)[0, 0].sum())
    assert frame.released and total >= 0
    with pytest.raises(BufferError):
        with stream.wait(timeout=10) as frame:
            kept = np.asarray(frame)  # noqa: F841 - still alive at exit
    assert not frame.released
    del kept
    frame.release()
