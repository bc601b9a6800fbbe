"""The OpenCV way of making a detector's input, measured as benches/fit.rs
measures ours: from a decoded 1080p yuv420p (I420) picture, the contenders
interleaved round after round, each reporting its fastest and median round.

* 640x360 bgr24: cv2.cvtColor(I420 → BGR) at 1080p, cv2.resize (bilinear);
* 640x640 letterbox bgr24: the same, then cv2.copyMakeBorder with grey 114
  (and with INTER_AREA, OpenCV's anti-aliased downscale);
* 640x640 letterbox rgb_planar: then cv2.cvtColor(BGR → RGB) and a
  contiguous (3, H, W) transpose;
* the same as float32, normalised: (x / 255 − mean) / std (ImageNet's).

    python letterbox_opencv.py [ROUNDS] [THREADS]

OpenCV runs with THREADS threads (default 1: ours converts on the stream's
one worker thread).
"""

import sys
import time

import cv2
import numpy as np

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 200
cv2.setNumThreads(int(sys.argv[2]) if len(sys.argv) > 2 else 1)

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32).reshape(3, 1, 1)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32).reshape(3, 1, 1)


def picture() -> np.ndarray:
    """A 1080p I420 picture (1620 rows of 1920 bytes): gradients plus noise."""
    rng = np.random.default_rng(7)
    y = (16 + (np.add.outer(np.arange(1080), np.arange(1920)) * 200 // 3000)).astype(np.int32)
    u = np.tile(40 + np.arange(960) * 176 // 960, (540, 1))
    noise = lambda shape: rng.integers(0, 24, shape)
    planes = [y + noise(y.shape), u + noise(u.shape), u + noise(u.shape)]
    flat = np.concatenate([p.clip(0, 255).astype(np.uint8).ravel() for p in planes])
    return flat.reshape(1620, 1920)


def letterbox_bgr(i420: np.ndarray) -> np.ndarray:
    bgr = cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420)
    small = cv2.resize(bgr, (640, 360), interpolation=cv2.INTER_LINEAR)
    return cv2.copyMakeBorder(small, 140, 140, 0, 0, cv2.BORDER_CONSTANT, value=(114, 114, 114))


def stretch_bgr(i420: np.ndarray) -> np.ndarray:
    bgr = cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420)
    return cv2.resize(bgr, (640, 360), interpolation=cv2.INTER_LINEAR)


def letterbox_bgr_area(i420: np.ndarray) -> np.ndarray:
    bgr = cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420)
    small = cv2.resize(bgr, (640, 360), interpolation=cv2.INTER_AREA)
    return cv2.copyMakeBorder(small, 140, 140, 0, 0, cv2.BORDER_CONSTANT, value=(114, 114, 114))


def letterbox_planar(i420: np.ndarray) -> np.ndarray:
    rgb = cv2.cvtColor(letterbox_bgr(i420), cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(rgb.transpose(2, 0, 1))


def letterbox_planar_f32(i420: np.ndarray) -> np.ndarray:
    planar = letterbox_planar(i420)
    return (planar.astype(np.float32) / 255.0 - MEAN) / STD


def main() -> None:
    i420 = picture()
    contenders = {
        "opencv 640x360 bgr24": stretch_bgr,
        "opencv letterbox 640x640 bgr24": letterbox_bgr,
        "opencv letterbox 640x640 bgr24, INTER_AREA": letterbox_bgr_area,
        "opencv letterbox 640x640 rgb_planar": letterbox_planar,
        "opencv letterbox 640x640 rgb_planar f32 normalised": letterbox_planar_f32,
    }
    assert letterbox_bgr(i420).shape == (640, 640, 3)
    assert letterbox_planar_f32(i420).shape == (3, 640, 640)
    times = {name: [] for name in contenders}
    for run in contenders.values():
        for _ in range(5):
            run(i420)
    for _ in range(ROUNDS):
        for name, run in contenders.items():
            start = time.perf_counter()
            run(i420)
            times[name].append(time.perf_counter() - start)
    print(f"OpenCV {cv2.__version__}, numpy {np.__version__}, {cv2.getNumThreads()} thread(s)")
    for name, samples in times.items():
        samples.sort()
        print(f"  {name:<52} min {samples[0] * 1e3:7.3f} ms   median {samples[len(samples) // 2] * 1e3:7.3f} ms")


if __name__ == "__main__":
    main()
