"""The capture loop people write with OpenCV, without its copy or its lag.

    cap = cv2.VideoCapture(url)             |  with rtsp_ingest.Stream(url) as cap:
    while True:                             |      for frame in cap:
        ok, image = cap.read()              |          image = np.asarray(frame)

Usage: python latest_loop.py [RTSP_URL] [--frames N]
(without a URL it serves a simulated camera and reads that).
"""

import argparse
import contextlib

import numpy as np

import rtsp_ingest


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url", nargs="?", help="camera URL (default: a simulated camera)")
    parser.add_argument("--frames", type=int, default=100, help="stop after this many frames")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        url = args.url or stack.enter_context(rtsp_ingest.Simulator(cameras=1)).urls[0]
        # --- the loop ---
        with rtsp_ingest.Stream(url) as cap:
            for count, frame in enumerate(cap, 1):
                image = np.asarray(frame)  # (h, w, 3) uint8 BGR: the slot itself, no copy
                # ... run the model on `image` here ...
                print(f"#{frame.seq} {image.shape} mean {image.mean():.1f}, {frame.age * 1e3:.1f} ms old")
                if count == args.frames:
                    break
            status = cap.status()
        print(f"{status['published']} frames published, dropped {status['dropped']}")


if __name__ == "__main__":
    main()
