"""FrameBuffer: the seed's drop-in, differentially against the seed itself
(../shared/seed/frame_buffer.py) on random operation sequences; shapes,
SAMPLE, threads and event loops."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import threading

import numpy as np
import pytest

import rtsp_ingest
from rtsp_ingest import DropPolicy, FrameBuffer, FrameItem, FrameMeta

SEED_KEYS = {"size", "capacity", "total_written", "total_dropped", "drop_policy", "usage_percent"}


def same_item(ours, theirs) -> bool:
    if ours is None or theirs is None:
        return ours is None and theirs is None
    return (
        np.array_equal(ours.frame, theirs.frame)
        and ours.frame.shape == theirs.frame.shape
        and ours.frame.dtype == theirs.frame.dtype
        and dataclasses.astuple(ours.meta) == dataclasses.astuple(theirs.meta)
    )


def same_items(ours, theirs) -> bool:
    return len(ours) == len(theirs) and all(same_item(a, b) for a, b in zip(ours, theirs))


async def differential_run(seed, rng: random.Random, steps: int) -> None:
    shape = rng.choice([(4, 6, 3), (8, 8), (3, 5, 2)])
    dtype = rng.choice([np.uint8, np.float32, np.uint16])
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    capacity = rng.randint(1, 9)
    # No cap, a cap below one frame, or one holding a few frames (also fractions of a frame).
    max_memory_mb = rng.choice([0, 0, nbytes * 0.5, nbytes * rng.randint(1, 12), nbytes * rng.uniform(1, 12)])
    max_memory_mb /= 1024 * 1024
    theirs = seed.FrameBuffer(capacity=capacity, drop_policy=seed.DropPolicy.LATEST, max_memory_mb=max_memory_mb)
    ours = FrameBuffer(capacity=capacity, drop_policy=DropPolicy.LATEST, max_memory_mb=max_memory_mb)
    index = 0
    for step in range(steps):
        op = rng.choices(
            ["write", "read_latest", "read_oldest", "read_all", "read_range", "pop_latest", "pop_oldest",
             "clear", "state"],
            weights=[12, 2, 2, 1, 2, 2, 2, 0.3, 2],
        )[0]
        context = f"step {step} {op} (capacity {capacity}, max_memory_mb {max_memory_mb})"
        if op == "write":
            frame = (np.arange(np.prod(shape)).reshape(shape) + index).astype(dtype)
            stream_id = rng.choice(["cam0", "cam1"])
            timestamp = rng.choice([None, 1000.0 + index, 7])
            if timestamp is None:
                timestamp = 5_000.0 + index  # the seed would fill in time.time() itself
            await theirs.write(frame, stream_id, index, timestamp)
            await ours.write(frame, stream_id, index, timestamp)
            index += 1
        elif op == "read_range":
            start, count = rng.randint(0, capacity + 1), rng.choice([None, 0, 1, 2, capacity])
            assert same_items(await ours.read_range(start, count), await theirs.read_range(start, count)), context
        elif op == "read_all":
            assert same_items(await ours.read_all(), await theirs.read_all()), context
        elif op == "clear":
            await ours.clear()
            await theirs.clear()
        elif op == "state":
            assert ours.size == theirs.size, context
            stats = ours.stats
            assert {key: stats[key] for key in SEED_KEYS} == theirs.stats, context
            assert ours.estimate_memory_mb() == theirs.estimate_memory_mb(), context
        else:
            assert same_item(await getattr(ours, op)(), await getattr(theirs, op)()), context
    assert same_items(await ours.read_all(), await theirs.read_all())
    assert {key: ours.stats[key] for key in SEED_KEYS} == theirs.stats


def test_latest_equals_the_seed_on_random_operations(seed):
    rng = random.Random(1234)
    for _ in range(300):
        asyncio.run(differential_run(seed, rng, steps=rng.randint(1, 120)))


def test_reads_are_read_only_views_of_preallocated_slots():
    buffer = FrameBuffer(capacity=4)
    frame = np.full((6, 8, 3), 7, np.uint8)
    buffer.write_sync(frame, "cam0", 0, 1.0)
    first, again = buffer.read_latest_sync(), buffer.read_latest_sync()
    assert np.shares_memory(first.frame, again.frame)  # the slot, not a copy
    assert not np.shares_memory(first.frame, frame)  # the write copied once
    assert not first.frame.flags.writeable
    with pytest.raises(ValueError):
        first.frame[0, 0, 0] = 1
    frame[:] = 9  # the caller's array is theirs again
    assert (buffer.read_oldest_sync().frame == 7).all()
    # Every write reuses the slots allocated up front.
    addresses = set()
    for index in range(50):
        buffer.write_sync(np.full((6, 8, 3), index, np.uint8), "cam0", index, float(index))
        item = buffer.read_latest_sync()
        addresses.add(item.frame.__array_interface__["data"][0])
        assert (item.frame == index).all()
        del item
    assert len(addresses) <= buffer.stats["slots"]


def test_a_frame_of_another_shape_is_refused_and_nothing_is_lost():
    buffer = FrameBuffer(capacity=3)
    for index in range(3):
        buffer.write_sync(np.full((4, 4, 3), index, np.uint8), "cam0", index, float(index))
    with pytest.raises(ValueError) as refused:
        buffer.write_sync(np.zeros((5, 4, 3), np.uint8), "cam0", 3, 3.0)
    assert "(5, 4, 3)" in str(refused.value) and "(4, 4, 3)" in str(refused.value)
    with pytest.raises(ValueError, match="float32.*uint8"):
        buffer.write_sync(np.zeros((4, 4, 3), np.float32), "cam0", 3, 3.0)
    assert buffer.size == 3
    assert [item.meta.frame_index for item in buffer.read_all_sync()] == [0, 1, 2]
    assert buffer.stats["total_written"] == 3 and buffer.stats["total_dropped"] == 0


def test_shape_and_dtype_given_up_front():
    buffer = FrameBuffer(capacity=2, shape=(2, 3), dtype=np.int16)
    with pytest.raises(ValueError, match=r"\(2, 3\).*int16"):
        buffer.write_sync(np.zeros((3, 2), np.int16), "cam0", 0)
    buffer.write_sync(np.arange(6, dtype=np.int16).reshape(2, 3)[:, ::-1], "cam0", 0)  # strided input
    assert buffer.read_latest_sync().frame.tolist() == [[2, 1, 0], [5, 4, 3]]


def test_timestamp_zero_is_kept_and_none_is_now():
    import time

    buffer = FrameBuffer()
    buffer.write_sync(np.zeros((2, 2), np.uint8), "cam0", 0, timestamp=0.0)
    assert buffer.read_latest_sync().meta.timestamp == 0.0  # the seed replaced it with time.time()
    before = time.time()
    buffer.write_sync(np.zeros((2, 2), np.uint8), "cam0", 1)
    assert before <= buffer.read_latest_sync().meta.timestamp <= time.time()
    meta = buffer.read_latest_sync().meta
    assert isinstance(meta, FrameMeta) and (meta.width, meta.height) == (2, 2)
    assert isinstance(buffer.read_latest_sync(), FrameItem)


def test_sample_keeps_an_even_sample_with_the_newest():
    buffer = FrameBuffer(capacity=8, drop_policy=DropPolicy.SAMPLE)
    for index in range(200):
        buffer.write_sync(np.full((2, 2), index % 256, np.uint8), "cam0", index, timestamp=index / 25)
    indices = [item.meta.frame_index for item in buffer.read_all_sync()]
    assert indices[-1] == 199  # the newest is always kept
    assert len(indices) <= 8 and indices == sorted(indices)
    gaps = np.diff(indices[:-1])
    assert gaps.max() <= 2 * gaps.min(), indices  # even in time, not thinning out exponentially
    assert indices[0] < 40, indices  # the whole span, not just the recent end
    stats = buffer.stats
    assert stats["dropped"]["sampled_out"] > 0
    assert stats["total_written"] == 200
    assert stats["total_dropped"] == 200 - len(indices)


def test_held_views_do_not_block_writes_but_are_counted():
    buffer = FrameBuffer(capacity=2, reader_slots=0)
    for index in range(2):
        buffer.write_sync(np.full((2, 2), index, np.uint8), "cam0", index, 1.0)
    held = [buffer.pop_oldest_sync(), buffer.pop_oldest_sync()]  # out of the buffer, still referenced
    for index in range(2, 20):
        buffer.write_sync(np.full((2, 2), index, np.uint8), "cam0", index, 1.0)
    assert [int(item.frame[0, 0]) for item in held] == [0, 1]  # held slots never rewritten
    assert buffer.stats["dropped"]["no_free_slot"] > 0
    del held
    buffer.write_sync(np.full((2, 2), 99, np.uint8), "cam0", 99, 1.0)
    assert int(buffer.read_latest_sync().frame[0, 0]) == 99


def test_threads_and_event_loops_together():
    buffer = FrameBuffer(capacity=64)
    writes_per_worker, errors, popped = 300, [], []
    lock = threading.Lock()

    def writer_thread(worker: int) -> None:
        try:
            for index in range(writes_per_worker):
                buffer.write_sync(np.full((8, 8), worker, np.uint8), f"t{worker}", index, 1.0 + index)
                if index % 3 == 0:
                    item = buffer.pop_oldest_sync()
                    if item is not None:
                        assert (item.frame == int(item.meta.stream_id[1:])).all()
                        with lock:
                            popped.append(item.meta.stream_id)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    def loop_thread(worker: int) -> None:
        async def main() -> None:
            for index in range(writes_per_worker):
                await buffer.write(np.full((8, 8), worker, np.uint8), f"t{worker}", index, 1.0 + index)
                for item in await buffer.read_all():
                    assert (item.frame == int(item.meta.stream_id[1:])).all()
                if index % 5 == 0:
                    await asyncio.sleep(0)

        try:
            asyncio.run(main())
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=writer_thread, args=(w,)) for w in range(2)]
    threads += [threading.Thread(target=loop_thread, args=(w,)) for w in range(2, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    stats = buffer.stats
    assert stats["total_written"] == 4 * writes_per_worker
    # Every frame written is buffered, taken, or dropped: exactly once.
    assert stats["size"] + stats["taken"] + stats["total_dropped"] == stats["total_written"]
    assert stats["taken"] == len(popped)


def test_seed_migration_calls(seed):
    """The seed's own calling pattern, unchanged but for the class."""

    async def pipeline(module) -> list:
        buffer = module.FrameBuffer(capacity=5, drop_policy=module.DropPolicy.LATEST, max_memory_mb=0)
        for index in range(8):
            await buffer.write(np.full((3, 3), index, np.uint8), "cam0", index, timestamp=100.0 + index)
        latest = await buffer.read_latest()
        oldest = await buffer.pop_oldest()
        window = await buffer.read_range(1, 2)
        stats = buffer.stats
        await buffer.clear()
        return [latest.meta.frame_index, oldest.meta.frame_index, [w.meta.frame_index for w in window],
                {k: stats[k] for k in SEED_KEYS}, buffer.size]

    assert asyncio.run(pipeline(rtsp_ingest)) == asyncio.run(pipeline(seed))
