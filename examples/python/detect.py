"""Face detection on a live stream with a real model shipped in a PyPI
package: OpenCV's bundled Haar cascade (opencv-python-headless < 5).

Without a URL it makes a clip of the portrait matplotlib ships
(grace_hopper.jpg, panned so the face moves), serves it with the simulator,
and detects the face in the decoded frames.

Usage: python detect.py [RTSP_URL] [--frames N]
Needs: pip install "opencv-python-headless<5" matplotlib; the ffmpeg CLI for the clip.
"""

import argparse
import contextlib
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np

import rtsp_ingest


def portrait_clip(directory: Path) -> Path:
    """A 4 s H.264 clip of matplotlib's Grace Hopper portrait, panning."""

    import matplotlib.cbook

    image = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    clip = directory / "portrait.mp4"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-loop", "1", "-framerate", "25", "-i", str(image),
         "-vf", "crop=448:560:trunc(32+32*sin(n/16)):20,format=yuv420p", "-frames:v", "100",
         "-c:v", "libx264", "-g", "25", "-bf", "0", str(clip)],
        check=True,
    )
    return clip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url", nargs="?")
    parser.add_argument("--frames", type=int, default=50)
    args = parser.parse_args()

    detector = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    assert not detector.empty(), "OpenCV's bundled cascade did not load"
    with contextlib.ExitStack() as stack:
        url = args.url
        if url is None:
            clip = portrait_clip(Path(stack.enter_context(tempfile.TemporaryDirectory())))
            url = stack.enter_context(rtsp_ingest.Simulator(cameras=1, clip=str(clip))).urls[0]
        with rtsp_ingest.Stream(url, format="gray8") as stream:  # the cascade wants gray: no conversion here
            detected = 0
            for count, frame in enumerate(stream, 1):
                gray = np.asarray(frame)  # (h, w) uint8, the slot itself
                faces = detector.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(80, 80))
                detected += len(faces) > 0
                boxes = " ".join(f"({x},{y} {w}x{h})" for x, y, w, h in faces)
                print(f"#{frame.seq}: {len(faces)} face(s) {boxes}")
                if count == args.frames:
                    break
    print(f"faces in {detected} of {args.frames} frames")


if __name__ == "__main__":
    main()
