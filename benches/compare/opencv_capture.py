"""N RTSP streams through OpenCV's VideoCapture (FFmpeg backend), one Python thread each.

    OPENCV_FFMPEG_CAPTURE_OPTIONS='rtsp_transport;tcp' \
        python opencv_capture.py --seconds 20 --grace 2 --mode read URL [URL ...]

Every thread opens its own `cv2.VideoCapture(url, cv2.CAP_FFMPEG)` at the same time and then
calls `read()` (decode + convert to BGR, what an OpenCV user does) or `grab()` (decode only, no
conversion: the closest OpenCV gets to yuv420p output) until it has 25 x S frames (S seconds of
media, as `ffmpeg -t S`) or until S + GRACE seconds of wall time have passed since the start.

Prints one JSON object: the process's CPU time (getrusage(RUSAGE_SELF), all threads, from just
before the captures are opened; not the interpreter's start-up or `import cv2`), its peak RSS
(ru_maxrss, the whole process), and per stream the frames and the time from the start to its first
successful read/grab.
"""

import argparse
import json
import os
import resource
import sys
import threading
import time

os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
import cv2  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--grace", type=float, default=2.0)
    p.add_argument("--fps", type=float, default=25.0)
    p.add_argument("--mode", choices=("read", "grab"), default="read")
    p.add_argument("urls", nargs="+")
    a = p.parse_args()

    want = int(round(a.fps * a.seconds))
    results = [{"frames": 0, "first_frame_ms": None, "opened": False, "error": None} for _ in a.urls]
    barrier = threading.Barrier(len(a.urls) + 1)

    def worker(index, url):
        r = results[index]
        barrier.wait()
        t0 = start[0]
        deadline = t0 + a.seconds + a.grace
        try:
            cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
            r["opened"] = bool(cap.isOpened())
            step = cap.read if a.mode == "read" else cap.grab
            while r["opened"] and r["frames"] < want and time.monotonic() < deadline:
                ok = step()
                if a.mode == "read":
                    ok = ok[0]
                if not ok:
                    break
                if r["frames"] == 0:
                    r["first_frame_ms"] = (time.monotonic() - t0) * 1e3
                r["frames"] += 1
            cap.release()
        except Exception as e:  # report, don't hang the others
            r["error"] = "%s: %s" % (type(e).__name__, e)

    threads = [threading.Thread(target=worker, args=(i, u), daemon=True) for i, u in enumerate(a.urls)]
    for t in threads:
        t.start()
    start = [0.0]
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    start[0] = time.monotonic()
    barrier.wait()
    for t in threads:
        t.join(a.seconds + a.grace + 30)
    wall = time.monotonic() - start[0]
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    print(json.dumps({
        "opencv": cv2.__version__,
        "mode": a.mode,
        "cpu_s": cpu,
        "wall_s": wall,
        "peak_rss_bytes": usage1.ru_maxrss * 1024,
        "streams": results,
    }))
    sys.stdout.flush()
    # Don't wait for stuck FFmpeg threads at interpreter exit.
    os._exit(0)


if __name__ == "__main__":
    main()
