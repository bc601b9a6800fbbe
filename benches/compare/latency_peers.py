"""Glass-to-consumer latency of the peers, read off the simulator's stamps.

    latency_peers.py --peer PEER --seconds S --warmup W --size WxH --stamp-log LOG URL...

PEER, one consumer per URL, each as its users write it:
  ffmpeg           the ffmpeg CLI decoding to raw BGR on a pipe (one process per URL:
                   ffmpeg -fflags nobuffer -flags low_delay -rtsp_transport tcp -i URL
                   -pix_fmt bgr24 -f rawvideo -flush_packets 1 pipe:1), read frame by frame
  ffmpeg-threads1  the same with -threads 1 on the input and on the output (frame threads
                   hold a frame each; on the output side they cost one frame here): the CLI
                   at its lowest latency
  gst              GStreamer: rtspsrc latency=0 protocols=tcp ! rtph264depay ! h264parse !
                   avdec_h264 ! videoconvert ! video/x-raw,format=BGR ! appsink drop=true
                   max-buffers=1 sync=false, pulled by a thread (pull-sample blocks)
  opencv-threaded  cv2.VideoCapture(URL, CAP_FFMPEG), a grabber thread calling read() and
                   keeping the newest frame; the consumer waits (a Condition) for each new one
  opencv-read      cv2.VideoCapture(URL, CAP_FFMPEG) and a plain read() loop
  rtsp-ingest-python
                   this repository's Python package: rtsp_ingest.Stream(URL, format="bgr24"),
                   a thread per stream blocked in stream.wait(after=seq) (GIL released),
                   np.asarray(frame) (no copy); needs an interpreter with rtsp_ingest installed
                   (target/python-venv from scripts/python-test.sh)

A frame's glass-to-consumer latency: from the simulator writing its first packet (the
stamp log) to the consumer holding it (time.time_ns() when read(), pull-sample or the
wait returned, or the pipe's last byte of the frame arrived). Frames delivered in the
first W seconds are not counted (connection set-up and probing). Prints one JSON object.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time

import numpy as np

import stamp


class Stream:
    """One consumer's observations: (index or None, wall ns when it got the frame)."""

    def __init__(self, url):
        self.url = url
        self.camera = stamp.camera_of_url(url)
        self.seen = []
        self.error = None

    def got(self, picture, at_ns):
        self.seen.append((stamp.read(picture), at_ns))


def run_ffmpeg(stream, size, stop, threads=None):
    width, height = size
    frame_bytes = width * height * 3
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
               "-fflags", "nobuffer", "-flags", "low_delay", "-rtsp_transport", "tcp"]
    threads = ["-threads", str(threads)] if threads else []
    command += threads + ["-i", stream.url] + threads + [
        "-pix_fmt", "bgr24", "-f", "rawvideo", "-flush_packets", "1", "pipe:1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, bufsize=0)
    buffer = bytearray(frame_bytes)
    view = memoryview(buffer)
    try:
        while not stop.is_set():
            got = 0
            while got < frame_bytes:
                n = process.stdout.readinto(view[got:])
                if not n:
                    stream.error = stream.error or "ffmpeg ended"
                    return
                got += n
            at = time.time_ns()
            stream.got(np.frombuffer(buffer, np.uint8).reshape(height, width, 3), at)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


def run_gst(stream, size, stop):
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstApp", "1.0")
    from gi.repository import Gst

    Gst.init(None)
    pipeline = Gst.parse_launch(
        f"rtspsrc location={stream.url} latency=0 protocols=tcp ! rtph264depay ! h264parse ! "
        "avdec_h264 ! videoconvert ! video/x-raw,format=BGR ! "
        "appsink name=sink drop=true max-buffers=1 sync=false emit-signals=false")
    sink = pipeline.get_by_name("sink")
    pipeline.set_state(Gst.State.PLAYING)
    try:
        while not stop.is_set():
            sample = sink.emit("try-pull-sample", 100 * Gst.MSECOND)
            if sample is None:
                if sink.get_property("eos"):
                    stream.error = "end of stream"
                    return
                continue
            at = time.time_ns()
            caps = sample.get_caps().get_structure(0)
            width, height = caps.get_value("width"), caps.get_value("height")
            buffer = sample.get_buffer()
            ok, info = buffer.map(Gst.MapFlags.READ)
            if not ok:
                continue
            try:
                stride = len(info.data) // height
                picture = np.frombuffer(info.data, np.uint8).reshape(height, stride)[:, :width * 3]
                stream.got(picture.reshape(height, width, 3), at)
            finally:
                buffer.unmap(info)
    finally:
        pipeline.set_state(Gst.State.NULL)


def open_capture(url):
    import cv2

    capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
    if not capture.isOpened():
        raise RuntimeError(f"cannot open {url}")
    return capture


def run_opencv_read(stream, size, stop):
    capture = open_capture(stream.url)
    try:
        while not stop.is_set():
            ok, frame = capture.read()
            at = time.time_ns()
            if not ok:
                stream.error = "read() failed"
                return
            stream.got(frame, at)
    finally:
        capture.release()


def run_opencv_threaded(stream, size, stop):
    """The latest-frame reader users write: a grabber thread and a consumer."""
    capture = open_capture(stream.url)
    condition = threading.Condition()
    latest = {"frame": None, "count": 0}

    def grab():
        while not stop.is_set():
            ok, frame = capture.read()
            if not ok:
                stream.error = "read() failed"
                break
            with condition:
                latest["frame"], latest["count"] = frame, latest["count"] + 1
                condition.notify()
        with condition:
            condition.notify()

    grabber = threading.Thread(target=grab, daemon=True)
    grabber.start()
    taken = 0
    try:
        while not stop.is_set():
            with condition:
                condition.wait_for(lambda: latest["count"] != taken or stop.is_set() or
                                   not grabber.is_alive(), timeout=0.1)
                if latest["count"] == taken:
                    if not grabber.is_alive():
                        return
                    continue
                frame, taken = latest["frame"], latest["count"]
            stream.got(frame, time.time_ns())
    finally:
        stop.set()
        grabber.join(timeout=5)
        capture.release()


def run_rtsp_ingest_python(stream, size, stop):
    """Our Python package as its README shows it: wait for each newer frame."""
    import rtsp_ingest

    with rtsp_ingest.Stream(stream.url, format="bgr24", transport="tcp") as camera:
        last = None
        while not stop.is_set():
            frame = camera.wait(after=last, timeout=0.1)
            if frame is None:
                continue
            at = time.time_ns()
            last = frame.seq
            stream.got(np.asarray(frame), at)


PEERS = {"ffmpeg": run_ffmpeg,
         "ffmpeg-threads1": lambda stream, size, stop: run_ffmpeg(stream, size, stop, threads=1),
         "gst": run_gst, "opencv-threaded": run_opencv_threaded,
         "opencv-read": run_opencv_read, "rtsp-ingest-python": run_rtsp_ingest_python}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--peer", choices=sorted(PEERS), required=True)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--stamp-log", required=True)
    parser.add_argument("urls", nargs="+")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    if args.peer.startswith("opencv"):
        os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")

    streams = [Stream(url) for url in args.urls]
    stop = threading.Event()
    started = time.time_ns()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)

    def consumer(stream):
        try:
            PEERS[args.peer](stream, size, stop)
        except Exception as error:  # reported per stream
            stream.error = repr(error)

    threads = [threading.Thread(target=consumer, args=(s,), daemon=True) for s in streams]
    for thread in threads:
        thread.start()
    time.sleep(args.warmup + args.seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)

    log = stamp.SendTimes(args.stamp_log)
    counted_from = started + int(args.warmup * 1e9)
    report, everything = [], []
    for stream in streams:
        kept = [(index, at) for index, at in stream.seen if at >= counted_from]
        glass, unreadable, unmatched = [], 0, 0
        for index, at in kept:
            if index is None:
                unreadable += 1
                continue
            sent = log.sent_before(stream.camera, index, at)
            if sent is None:
                unmatched += 1
                continue
            glass.append(at - sent)
        everything += glass
        report.append({"url": stream.url, "frames": len(kept), "fps": len(kept) / args.seconds,
                       "unreadable": unreadable, "unmatched": unmatched,
                       "glass_to_consumer_ms": stamp.summary_ms(glass), "error": stream.error})
    cpu = (cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime +
           children.ru_utime + children.ru_stime)
    json.dump({"peer": args.peer, "streams": report, "cpu_s": cpu,
               "totals": {"glass_to_consumer_ms": stamp.summary_ms(everything)}}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
