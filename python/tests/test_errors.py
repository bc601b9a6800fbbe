"""Exceptions (one class per error kind) and secrets: no message, repr,
status dict, event or metric ever holds a password."""

from __future__ import annotations

import json
import socket

import pytest

import rtsp_ingest

from conftest import wait_for

PASSWORD = "Hunter2-s3cret"


def dump(*things) -> str:
    return json.dumps([repr(thing) for thing in things]) + json.dumps(things, default=repr)


def test_config_errors_are_value_errors_with_a_field(sim):
    with pytest.raises(rtsp_ingest.ConfigError) as caught:
        rtsp_ingest.Stream(sim.urls[0], resize="wide")
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, rtsp_ingest.Error)
    assert caught.value.field == "resize" and caught.value.kind == "invalid_config"
    with pytest.raises(rtsp_ingest.ConfigError) as caught:
        rtsp_ingest.Stream(sim.urls[0], format="rgba")
    assert caught.value.field == "format" and "rgba" in str(caught.value)
    with pytest.raises(rtsp_ingest.ConfigError) as caught:
        rtsp_ingest.Stream(sim.urls[0], queue_capacity=0)
    assert caught.value.field == "queue_capacity"
    with pytest.raises(rtsp_ingest.ConfigError) as caught:
        rtsp_ingest.Stream(sim.urls[0], colour="blue")
    assert caught.value.field == "colour" and "unknown option" in str(caught.value)
    with pytest.raises(rtsp_ingest.ConfigError) as caught:
        rtsp_ingest.Manager().add("bad/id", sim.urls[0])
    assert caught.value.field == "id"


def test_a_bad_url_never_shows_its_password():
    for url in [f"rtsp://admin:{PASSWORD}@[broken/live", f"http://admin:{PASSWORD}@cam/live",
                f"rtsp://cam/live?password={PASSWORD}&x=1"]:
        try:
            rtsp_ingest.Stream(url).stop()
        except rtsp_ingest.ConfigError as error:
            assert PASSWORD not in dump(str(error), repr(error), error.args), error
            assert error.field == "url"
        else:
            assert url.startswith("rtsp://cam/"), url  # a secret query parameter is fine, and masked


def test_wrong_login_is_auth_failed_without_the_password(sim):
    with rtsp_ingest.Simulator(cameras=1, auth=("ops", "right-password")) as secured:
        url = secured.urls[0].replace("rtsp://", f"rtsp://ops:{PASSWORD}@")
        with rtsp_ingest.Stream(url, id="door") as stream:
            status = wait_for(lambda: (s := stream.status())["state"] == "auth_failed" and s, timeout=15)
            assert status["last_error"]["kind"] == "auth"
            assert PASSWORD not in dump(status, stream.events(), stream, stream.url)
            assert "ops" not in stream.url  # no userinfo at all
        good = rtsp_ingest.Stream(secured.urls[0], username="ops", password="right-password")
        assert good.wait(timeout=10) is not None
        assert "right-password" not in dump(good.status(), good)
        good.stop()
        assert "right-password" not in repr(secured) and "right-password" not in str(secured.urls)
        assert "right-password" in secured.url(0, credentials=True)


def test_manager_never_shows_passwords(silent_camera):
    with rtsp_ingest.Manager(cores=False) as manager:
        manager.add("cam", silent_camera.url(userinfo=f"admin:{PASSWORD}@"), connect_timeout=0.2)
        manager.add("other", silent_camera.url(path=f"/live?pwd={PASSWORD}"))
        wait_for(lambda: manager.status("cam")["reconnects"] >= 1, timeout=15)
        text = dump(manager.list(), manager.events(), manager.metrics_text(), manager)
        assert PASSWORD not in text
        assert manager.status("cam")["last_error"]["kind"] in {"timeout", "connect"}


def test_kinds_map_to_their_classes():
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    with rtsp_ingest.Stream(f"rtsp://admin:{PASSWORD}@127.0.0.1:{port}/x", connect_timeout=0.5) as stream:
        status = wait_for(lambda: (s := stream.status())["last_error"] and s, timeout=15)
        assert status["last_error"]["kind"] == "connect"
        assert PASSWORD not in dump(status)
    assert issubclass(rtsp_ingest.ConnectError, ConnectionError)
    assert issubclass(rtsp_ingest.TimeoutError, TimeoutError)
    assert issubclass(rtsp_ingest.AuthError, PermissionError)
    kinds = {cls.kind for cls in vars(rtsp_ingest).values() if isinstance(cls, type) and issubclass(cls, rtsp_ingest.Error)}
    assert {"invalid_config", "over_budget", "connect", "timeout", "stopped", "auth", "not_found", "invalid_data",
            "decode", "unsupported", "ffmpeg", "already_exists", "unknown_stream", "panic"} <= kinds
    with pytest.raises(rtsp_ingest.NotFoundError):
        rtsp_ingest.Simulator(cameras=1, clip="/nonexistent/clip.mp4")
