"""The newest synchronized frame set for live processing, older ones dropped, not queued.

Capture threads :meth:`LatestSets.put` every grabbed frame; a consumer (detection and
triangulation in live mode) :meth:`LatestSets.take` s the newest *complete* set: one frame
per running camera, all within half a frame period of the newest time every camera has
reached. Sets the consumer was too slow to take are dropped and counted, so latency stays
bounded by the consumer's own time per set instead of growing with a queue.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from mocap.sources import TimedFrame


@dataclass(frozen=True, eq=False)
class FrameSet:
    """One synchronized set of frames.

    Attributes
    ----------
    index : int
        Set number: frame periods since the first set taken (gaps are dropped sets).
    time : float
        Median grab time of its frames, seconds (monotonic clock).
    frames : mapping of str to TimedFrame
        Per running camera, its frame.
    spread_s : float
        Latest minus earliest grab time of its frames, seconds.
    """

    index: int
    time: float
    frames: Mapping[str, TimedFrame]
    spread_s: float

    @property
    def newest(self) -> float:
        """Grab time of its newest frame: latency is measured from here."""
        return max(frame.time for frame in self.frames.values())


class LatestSets:
    """Thread-safe mailbox holding only the newest frames of each camera.

    Parameters
    ----------
    cameras : sequence of str
        The camera names.
    period_s : float
        Frame period, seconds: frames less than half of it from the set's time belong
        to the set.
    keep : int
        Frames kept per camera (a few periods of slack between cameras).
    """

    def __init__(self, cameras: Sequence[str], period_s: float, keep: int = 4) -> None:
        self.period_s = float(period_s)
        self._frames = {name: deque(maxlen=keep) for name in cameras}
        self._running = set(cameras)
        self._ready = threading.Condition()
        self._first: float | None = None
        self._last_index = -1
        self.taken = 0
        self.dropped = 0

    def put(self, camera: str, frame: TimedFrame) -> None:
        """Add a camera's newest frame (from its capture thread)."""
        with self._ready:
            self._frames[camera].append(frame)
            self._ready.notify_all()

    def stop(self, camera: str) -> None:
        """A camera has stopped: sets are complete without it from now on."""
        with self._ready:
            self._running.discard(camera)
            self._ready.notify_all()

    def _newest_set(self) -> FrameSet | None:
        """The newest complete set not taken yet (lock held), or None."""
        queues = {name: self._frames[name] for name in sorted(self._running)}
        if not queues or any(not q for q in queues.values()):
            return None
        reference = min(q[-1].time for q in queues.values())
        chosen = {name: min(q, key=lambda f: abs(f.time - reference)) for name, q in queues.items()}
        times = np.array([frame.time for frame in chosen.values()])
        if np.max(np.abs(times - reference)) >= self.period_s / 2:
            return None
        when = float(np.median(times))
        first = when if self._first is None else self._first
        index = round((when - first) / self.period_s)
        if index <= self._last_index:
            return None
        spread = float(times.max() - times.min())
        return FrameSet(index, when, MappingProxyType(chosen), spread)

    def take(self, timeout: float | None = None) -> FrameSet | None:
        """Wait for and return the newest complete set (None after ``timeout`` seconds).

        Sets completed since the last one taken and never taken count as dropped.
        """
        with self._ready:
            frame_set = self._ready.wait_for(self._newest_set, timeout)
            if frame_set is None:
                return None
            if self._first is None:
                self._first = frame_set.time
            if self.taken:
                self.dropped += frame_set.index - self._last_index - 1
            self._last_index = frame_set.index
            self.taken += 1
            return frame_set
