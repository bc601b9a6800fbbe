"""What a model wants: planar RGB as a (3, H, W) array of the slot itself,
letterboxed resizes and where the picture lies, against the simulator."""

from __future__ import annotations

import numpy as np
import pytest

import rtsp_ingest


def test_rgb_planar_is_a_chw_array_of_the_slot(sim):
    with rtsp_ingest.Stream(sim.urls[0], format="rgb_planar") as stream:
        frame = stream.wait(timeout=10)
        assert frame is not None and frame.format == "rgb_planar"
        array = np.asarray(frame)
        assert array.shape == frame.shape == (3, 360, 640)
        assert array.dtype == np.uint8 and not array.flags.writeable
        # Rows 640 bytes apart, planes one plane (plus the slab's slack) apart.
        assert array.strides[1:] == (640, 1) and array.strides[0] >= 640 * 360
        r, g, b = frame.planes
        assert np.shares_memory(array, r) and np.shares_memory(array, b)
        assert np.array_equal(array[0], r) and np.array_equal(array[2], b)
        # The pattern's top-left band is red: the R plane comes first.
        assert array[0, 20, 20] > 200 and array[1, 20, 20] < 60 and array[2, 20, 20] < 60
        tensor = np.from_dlpack(frame)
        assert tensor.shape == (3, 360, 640) and np.shares_memory(tensor, array)
        assert frame.content_rect == (0, 0, 640, 360)
        del array, r, g, b, tensor


def test_letterbox_pads_and_says_where_the_picture_is(sim):
    with rtsp_ingest.Stream(
        sim.urls[1], format="rgb24", resize=(320, 320), resize_mode="letterbox"
    ) as stream:
        frame = stream.wait(timeout=10)
        array = np.asarray(frame)
        assert array.shape == (320, 320, 3)
        assert frame.content_rect == (0, 70, 320, 180)
        assert frame.source_size == (640, 360)
        assert frame.content_scale == (0.5, 0.5)
        assert (array[:70] == 114).all() and (array[250:] == 114).all()
        r, g, b = array[70 + 10, 10]
        assert r > 200 and g < 60 and b < 60, array[80, 10]
    with rtsp_ingest.Stream(
        sim.urls[1],
        format="gray8",
        resize="320x320",
        resize_mode="letterbox",
        pad_value=0,
    ) as stream:
        array = np.asarray(stream.wait(timeout=10))
        assert (array[:70] == 0).all() and (array[250:] == 0).all()


def test_bad_fit_options_name_their_field(sim):
    with pytest.raises(rtsp_ingest.ConfigError) as error:
        rtsp_ingest.Stream(sim.urls[0], resize_mode="crop")
    assert error.value.field == "resize_mode"
    with pytest.raises(rtsp_ingest.ConfigError) as error:
        rtsp_ingest.Stream(sim.urls[0], pad_value=300)
    assert error.value.field == "pad_value"
    with pytest.raises(rtsp_ingest.ConfigError) as error:
        rtsp_ingest.Stream(sim.urls[0], scale_algorithm="lanczos")
    assert error.value.field == "scale_algorithm"
