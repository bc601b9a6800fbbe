"""CPU per frame of a Python consumer taking every frame as numpy from N RTSP
streams, one Python thread per stream (what users write), for one client:

    rtsp_ingest   for frame in Stream(url): np.asarray(frame)   (zero copy)
    pyav          for f in av.open(url).decode(video=0): f.to_ndarray(format="bgr24")
    opencv        cv2.VideoCapture(url); while True: cap.read()  (the latest-frame reader thread)
    vidgear       CamGear(source=url).start(); while True: stream.read()  (VidGear's own
                  reader thread and frame queue over cv2.VideoCapture)

    python consumer.py --client rtsp_ingest --seconds 20 URL [URL ...]

Prints one JSON object: the process's CPU time over the measured window
(getrusage(RUSAGE_SELF), every thread, from once every stream has its first
frame), the frames the consumer took as arrays, the frames decoded (for
rtsp_ingest, from the status: it decodes every frame even when the consumer
skips to the newest), CPU-ms per decoded frame, and peak RSS.
"""

import argparse
import json
import os
import resource
import threading
import time

import numpy as np

os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_rtsp_ingest(urls, started, stop, counts, decoded):
    import rtsp_ingest

    streams = [rtsp_ingest.Stream(url, id=f"cam{i}") for i, url in enumerate(urls)]

    def consume(index, stream):
        first = True
        for frame in stream:
            image = np.asarray(frame)
            _ = image[0, 0, 0]  # touch it, as a model would
            counts[index] += 1
            if first:
                started[index].set()
                first = False
            if stop.is_set():
                break

    threads = [threading.Thread(target=consume, args=(i, s)) for i, s in enumerate(streams)]
    for thread in threads:
        thread.start()
    return threads, lambda: [s.status()["decoded"] for s in streams], lambda: [s.stop() for s in streams]


def run_pyav(urls, started, stop, counts, decoded):
    import av

    def consume(index, url):
        container = av.open(url, options={"rtsp_transport": "tcp"})
        for frame in container.decode(video=0):
            image = frame.to_ndarray(format="bgr24")
            _ = image[0, 0, 0]
            counts[index] += 1
            started[index].set()
            if stop.is_set():
                break
        container.close()

    threads = [threading.Thread(target=consume, args=(i, u)) for i, u in enumerate(urls)]
    for thread in threads:
        thread.start()
    return threads, lambda: list(counts), lambda: None


def run_opencv(urls, started, stop, counts, decoded):
    import cv2

    def consume(index, url):
        capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
        while not stop.is_set():
            ok, image = capture.read()  # decode + convert to BGR, a new array each time
            if not ok:
                break
            _ = image[0, 0, 0]
            counts[index] += 1
            started[index].set()
        capture.release()

    threads = [threading.Thread(target=consume, args=(i, u)) for i, u in enumerate(urls)]
    for thread in threads:
        thread.start()
    return threads, lambda: list(counts), lambda: None


def run_vidgear(urls, started, stop, counts, decoded):
    from vidgear.gears import CamGear

    def consume(index, url):
        stream = CamGear(source=url, logging=False).start()
        while not stop.is_set():
            image = stream.read()  # from CamGear's queue, filled by its grabber thread
            if image is None:
                break
            _ = image[0, 0, 0]
            counts[index] += 1
            started[index].set()
        stream.stop()

    threads = [threading.Thread(target=consume, args=(i, u)) for i, u in enumerate(urls)]
    for thread in threads:
        thread.start()
    return threads, lambda: list(counts), lambda: None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--client", choices=("rtsp_ingest", "pyav", "opencv", "vidgear"), required=True)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("urls", nargs="+")
    args = parser.parse_args()
    counts = [0] * len(args.urls)
    started = [threading.Event() for _ in args.urls]
    stop = threading.Event()
    runner = {"rtsp_ingest": run_rtsp_ingest, "pyav": run_pyav, "opencv": run_opencv,
              "vidgear": run_vidgear}[args.client]
    threads, decoded_now, finish = runner(args.urls, started, stop, counts, None)
    for event in started:
        assert event.wait(60), "a stream gave no frame within 60 s"
    frames0, decoded0, cpu0, wall0 = sum(counts), sum(decoded_now()), cpu_seconds(), time.monotonic()
    time.sleep(args.seconds)
    frames1, decoded1, cpu1, wall1 = sum(counts), sum(decoded_now()), cpu_seconds(), time.monotonic()
    stop.set()
    finish()
    for thread in threads:
        thread.join(10)
    decoded = decoded1 - decoded0
    print(json.dumps({
        "client": args.client,
        "streams": len(args.urls),
        "seconds": round(wall1 - wall0, 2),
        "frames_taken": frames1 - frames0,
        "frames_decoded": decoded,
        "cpu_seconds": round(cpu1 - cpu0, 3),
        "cpu_ms_per_frame": round((cpu1 - cpu0) * 1e3 / decoded, 3) if decoded else None,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))


if __name__ == "__main__":
    main()
