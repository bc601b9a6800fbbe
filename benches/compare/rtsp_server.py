#!/usr/bin/python3
"""tests/fixtures/rtsp_server.py with a listen backlog for a burst of clients.

GstRTSPServer listens with a backlog of 5. rtsp-ingest bench opens all N connections within a
millisecond or two, and the fixture's single (Python) main loop accepts them one by one while it
builds every client's media pipeline, so past 5 pending connections the kernel drops SYNs
(/proc/net/netstat ListenOverflows) and those clients retry after the 1 s SYN timeout (then 3 s,
7 s...): a first frame of ~1.5 s or ~3.3 s that is the fixture's, not the client's. This wrapper
runs the fixture unchanged except for RTSPServer's "backlog" property (--backlog, default 128;
the kernel caps it at net.core.somaxconn).

    rtsp_server.py [--backlog N] FIXTURE_ARGS...
"""

import importlib.util
import os
import sys


def main():
    argv = sys.argv[1:]
    backlog = 128
    if argv[:1] == ["--backlog"]:
        backlog = int(argv[1])
        argv = argv[2:]
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "..", "tests", "fixtures", "rtsp_server.py")
    spec = importlib.util.spec_from_file_location("rtsp_fixture_server", path)
    fixture = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixture)

    real = fixture.GstRtspServer

    class Proxy:
        def __getattr__(self, name):
            return getattr(real, name)

        @staticmethod
        def RTSPServer():  # noqa: N802 (the name the fixture calls)
            server = real.RTSPServer()
            server.set_backlog(backlog)
            return server

    fixture.GstRtspServer = Proxy()
    sys.exit(fixture.main(argv))


if __name__ == "__main__":
    main()
