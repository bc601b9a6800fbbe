"""A batch across cameras into one array: the input of a batched model.

The batcher waits until every camera has a new frame (or 40 ms, the usual
batching deadline), never hands out a frame twice, and leaves out streams
that are stale or down, saying why. `batch.stack()` is the one copy a
contiguous model input needs.

Usage: python batch_inference.py [URL ...] [--batches N] [--size WxH]
(without URLs it serves four simulated cameras, one of which stalls).
"""

import argparse
import contextlib

import numpy as np

import rtsp_ingest


def model(batch: np.ndarray) -> np.ndarray:
    """Stands in for a network: one score per image (mean brightness)."""

    return batch.reshape(len(batch), -1).mean(axis=1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("urls", nargs="*")
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--size", default="320x180", help="every stream is resized to this")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        urls = args.urls or stack.enter_context(
            rtsp_ingest.Simulator(cameras=4, faults=["cam3:stall-after=1s"])
        ).urls
        manager = stack.enter_context(rtsp_ingest.Manager())
        ids = [f"cam{index}" for index in range(len(urls))]
        for stream_id, url in zip(ids, urls):
            manager.add(stream_id, url, resize=args.size)
        batcher = manager.batcher(ids, max_age=0.5)
        full = 0
        for _ in range(args.batches):
            batch = batcher.wait_batch(0.04)
            if not len(batch):
                continue
            inputs = batch.stack()  # (n, h, w, 3) uint8
            scores = model(inputs)
            full += len(batch) == len(ids)
            print(f"batch {inputs.shape}: " + ", ".join(f"{i}={s:.1f}" for i, s in zip(batch.ids, scores))
                  + (f"; missing {batch.missing}" if batch.missing else ""))
        print(f"{full} of {args.batches} batches had every camera")


if __name__ == "__main__":
    main()
