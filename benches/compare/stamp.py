"""The simulator's stamp, read from numpy pictures, and its stamp log.

A port of src/simulate/stamp.rs (keep the two in sync): 16 cells across rows
0.15 .. 0.29 of the picture, each width / 16 wide; the frame's index in the
simulator's loop (12 bits, MSB left) then a CRC-4 (x^4 + x + 1, XORed with
0b0101); white = 1. A cell is the mean of its middle (columns 0.3 .. 0.7 of the
cell, rows 0.19 .. 0.25 of the picture): below 96 is 0, above 160 is 1,
anything between (or a failed check) means no stamp.

The stamp log (`rtsp-ingest simulate --stamp-log PATH`) has a header line, then
one line per frame sent: `camera session n index wall_ns` (wall_ns: when the
frame's first packet was written, Unix nanoseconds). A consumer that read index
i from camera c at wall time t holds the frame camera c last sent with index i
at or before t (exact while the latency is below one loop of the clip).
"""

import bisect
import math

import numpy as np

CELLS = 16
INDEX_BITS = 12
MAX_INDEX = (1 << INDEX_BITS) - 1
SAMPLE_ROWS = (0.19, 0.25)
SAMPLE_COLUMNS = (0.3, 0.7)
BLACK_BELOW = 96.0
WHITE_ABOVE = 160.0
CHECK_XOR = 0b0101
LOG_HEADER = "# rtsp-ingest stamp log v1: camera session n index wall_ns"


def crc4(index):
    crc = 0
    for bit in range(INDEX_BITS - 1, -1, -1):
        feedback = ((index >> bit) & 1) ^ ((crc >> 3) & 1)
        crc = (crc << 1) & 0xF
        if feedback:
            crc ^= 0x3
    return crc


def index_of(word):
    index = word >> 4
    return index if crc4(index) ^ CHECK_XOR == word & 0xF else None


def _span(start, end, size):
    first = min(int(start * size), size - 1)
    last = min(max(math.ceil(end * size), first + 1), size)
    return first, last


def read(picture):
    """The stamp of a picture: a numpy array (H, W) of luma or (H, W, C) of
    colour channels, uint8. Returns the index, or None."""
    if picture is None or picture.ndim not in (2, 3):
        return None
    height, width = picture.shape[:2]
    if width == 0 or height == 0:
        return None
    y0, y1 = _span(SAMPLE_ROWS[0], SAMPLE_ROWS[1], height)
    rows = picture[y0:y1]
    word = 0
    cell_width = width / CELLS
    for cell in range(CELLS):
        left = (cell + SAMPLE_COLUMNS[0]) * cell_width
        right = (cell + SAMPLE_COLUMNS[1]) * cell_width
        first = min(int(left), width - 1)
        last = min(max(math.ceil(right), first + 1), width)
        mean = float(rows[:, first:last].mean())
        if mean < BLACK_BELOW:
            bit = 0
        elif mean > WHITE_ABOVE:
            bit = 1
        else:
            return None
        word = (word << 1) | bit
    return index_of(word)


class SendTimes:
    """Send times by (camera, index), from a stamp log."""

    def __init__(self, path):
        self.times = {}
        with open(path) as log:
            if log.readline().rstrip("\n") != LOG_HEADER:
                raise ValueError(f"{path} is not a stamp log")
            for line in log:
                fields = line.split()
                if len(fields) != 5:
                    continue  # a line still being written
                camera, _session, _n, index, wall_ns = map(int, fields)
                self.times.setdefault((camera, index), []).append(wall_ns)
        for times in self.times.values():
            times.sort()

    def sent_before(self, camera, index, at_ns):
        times = self.times.get((camera, index))
        if not times:
            return None
        at = bisect.bisect_right(times, at_ns)
        return times[at - 1] if at else None


def camera_of_url(url):
    """N in rtsp://host/camN."""
    name = url.rstrip("/").rsplit("/", 1)[-1]
    return int(name[3:]) if name.startswith("cam") and name[3:].isdigit() else None


def summary_ms(samples_ns):
    """{p50, p99, max, count} in milliseconds (nearest rank), as bench reports."""
    samples = sorted(samples_ns)
    if not samples:
        return {"p50": None, "p99": None, "max": None, "count": 0}

    def quantile(q):
        rank = max(math.ceil(q * len(samples)), 1)
        return round(samples[rank - 1] / 1e6, 3)

    return {"p50": quantile(0.5), "p99": quantile(0.99), "max": round(samples[-1] / 1e6, 3),
            "count": len(samples)}


def _self_test():
    # Draw the strip as the simulator does and read it back, in gray and BGR,
    # at a few sizes; flat pictures carry no stamp.
    for width, height in ((640, 360), (64, 36), (1920, 1080), (100, 100)):
        top, bottom = int(0.15 * height) & ~1, int(0.29 * height) & ~1
        for index in (0, 5, 250, 4095):
            word = (index << 4) | (crc4(index) ^ CHECK_XOR)
            picture = np.full((height, width), 81, np.uint8)
            for x in range(width):
                cell = min(x * CELLS // width, CELLS - 1)
                white = (word >> (CELLS - 1 - cell)) & 1
                picture[top:bottom, x] = 235 if white else 16
            assert read(picture) == index, (width, height, index)
            assert read(np.dstack([picture] * 3)) == index
    assert read(np.zeros((36, 64), np.uint8)) is None
    assert read(np.full((36, 64), 255, np.uint8)) is None
    assert camera_of_url("rtsp://127.0.0.1:8554/cam12") == 12


if __name__ == "__main__":
    _self_test()
    print("stamp.py: self-test passed")
