"""The newest-set mailbox of live mode: sets as the truth, stale sets dropped and counted."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np

from mocap.capture import CaptureSettings, record
from mocap.capture_sources import PlayedVideo
from mocap.live_sets import LatestSets
from mocap.sources import TimedFrame

PERIOD = 1 / 60
CAMERAS = ("a", "b", "c")
JITTER = {"a": 0.002, "b": -0.003, "c": 0.0}  # within a quarter period (4.2 ms)


def _frame(camera: str, k: int) -> TimedFrame:
    """Camera's frame of set k: index k, time k periods plus its fixed jitter."""
    return TimedFrame(k, 10.0 + k * PERIOD + JITTER[camera], np.zeros((2, 2, 3), np.uint8))


def _put(box: LatestSets, sets: range, cameras: tuple[str, ...] = CAMERAS) -> None:
    for k in sets:
        for camera in cameras:
            box.put(camera, _frame(camera, k))


def test_each_set_is_taken_when_the_consumer_keeps_up() -> None:
    box = LatestSets(CAMERAS, PERIOD)
    for k in range(10):
        _put(box, range(k, k + 1))
        taken = box.take(timeout=0)
        assert taken is not None
        assert {n: f.index for n, f in taken.frames.items()} == dict.fromkeys(CAMERAS, k)
        assert taken.index == k
        assert abs(taken.spread_s - 0.005) < 1e-9  # +2 ms minus -3 ms
    assert (box.taken, box.dropped) == (10, 0)
    assert box.take(timeout=0) is None  # nothing new


def test_a_slow_consumer_gets_the_newest_set_and_the_stale_ones_are_counted() -> None:
    """Sets 1-9 arrive while the consumer is busy: it gets set 9; 1-8 are dropped (8)."""
    box = LatestSets(CAMERAS, PERIOD)
    _put(box, range(1))
    assert box.take(timeout=0).index == 0
    _put(box, range(1, 10))
    taken = box.take(timeout=0)
    assert (taken.index, box.taken, box.dropped) == (9, 2, 8)
    assert {f.index for f in taken.frames.values()} == {9}


def test_an_incomplete_set_is_skipped_and_a_stopped_camera_left_out() -> None:
    box = LatestSets(CAMERAS, PERIOD)
    _put(box, range(1))
    box.take(timeout=0)
    _put(box, range(1, 2), ("a", "c"))  # b dropped its frame of set 1
    assert box.take(timeout=0) is None
    _put(box, range(2, 3))
    assert (box.take(timeout=0).index, box.dropped) == (2, 1)
    box.stop("b")
    _put(box, range(3, 4), ("a", "c"))
    assert set(box.take(timeout=0).frames) == {"a", "c"}


def test_a_camera_that_stalls_without_stopping_is_left_out_until_it_delivers_again() -> None:
    """Camera c freezes after set 9 (no frame, no stop), a and b go on, c is back at 100.

    Exact: no set completes while c is at most 1 s behind; from set 69 (a's frame, 60
    periods and its 2 ms jitter after c's newest) the sets hold a and b; from 100 all three.
    """
    box = LatestSets(CAMERAS, PERIOD, stall_s=1.0)
    taken = []
    for k in range(120):
        _put(box, range(k, k + 1), CAMERAS if k < 10 or k >= 100 else ("a", "b"))
        frame_set = box.take(timeout=0)
        if frame_set is not None:
            taken.append((frame_set.index, "".join(sorted(frame_set.frames))))
        assert box.stalled == (frozenset("c") if 69 <= k < 100 else frozenset())
    assert taken == [(k, "abc") for k in range(10)] + [(k, "ab") for k in range(69, 100)] + [
        (k, "abc") for k in range(100, 120)
    ]


def _video(path: Path, frames: int) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 60.0, (32, 24), True)
    for i in range(frames):
        writer.write(np.full((24, 32, 3), i % 250, np.uint8))
    writer.release()
    return path


def test_latency_stays_bounded_by_dropping_while_recording(tmp_path: Path) -> None:
    """Three 60 fps videos for 1 s, a consumer needing 50 ms per set (20 sets/s).

    Queueing every set would end 60 x 50 ms = 3 s behind; dropping keeps grab-to-result
    latency within one consumer step plus a period (67 ms; 150 ms allowed for 2 busy
    cores), and the sets taken plus those dropped account for every set in between.
    """
    sources = [PlayedVideo.open(_video(tmp_path / f"{n}.avi", 60)) for n in CAMERAS]
    box = LatestSets(CAMERAS, PERIOD)
    done = threading.Event()
    latencies, indices = [], []

    def consume() -> None:
        while not done.is_set():
            frame_set = box.take(timeout=0.1)
            if frame_set is not None:
                time.sleep(0.05)  # detection and triangulation
                latencies.append(time.monotonic() - frame_set.newest)
                indices.append(frame_set.index)

    consumer = threading.Thread(target=consume)
    consumer.start()
    settings = CaptureSettings(report_s=0)
    result = record(sources, tmp_path / "rec", settings, report=print, tap=box)
    done.set()
    consumer.join()
    assert [c.stats.frames for c in result.cameras] == [60, 60, 60]  # recording unaffected
    assert box.taken == len(indices) >= 12  # about 20 in 1 s at 50 ms each
    assert box.taken + box.dropped == indices[-1] - indices[0] + 1  # every set accounted for
    assert box.dropped / (box.taken + box.dropped) > 0.4  # about 2/3 dropped
    p95 = float(np.percentile(latencies, 95))
    print(f"taken {box.taken}, dropped {box.dropped}, latency p95 {1000 * p95:.0f} ms")
    assert p95 < 0.15
