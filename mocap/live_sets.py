"""The newest synchronized frame set for live processing, older ones dropped, not queued.

Capture threads :meth:`LatestSets.put` every grabbed frame; a consumer (detection and
triangulation in live mode) :meth:`LatestSets.take` s the newest *complete* set: one frame
per running camera, all within half a frame period of the newest time every one has
reached. Sets the consumer was too slow to take are dropped and counted, so latency stays
bounded by the consumer's own time per set instead of growing with a queue. A camera that
stops is not waited for, but its last frames still join their sets: when every camera
ends at once, the last set is still delivered.
"""

from __future__ import annotations

import math
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
        Per camera in the set (every running one, and stopped ones with a frame of it),
        its frame.
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

    A camera that stops (:meth:`stop`, after its last :meth:`put`) is no longer waited
    for, but its last frames still join the sets they belong to: when every camera ends
    at once, their last set is still complete and can be taken. A camera that stalls
    without stopping (a frozen USB camera delivers nothing and reports nothing) is not
    waited for either once its newest frame is ``stall_s`` behind the newest camera's
    (:attr:`stalled`); it joins the sets again when it delivers again.

    Parameters
    ----------
    cameras : sequence of str
        The camera names.
    period_s : float
        Frame period, seconds: frames less than half of it from the set's time belong
        to the set.
    keep : int
        Frames kept per camera (a few periods of slack between cameras).
    min_cameras : int
        Sets of fewer cameras are never complete (live mode: the views triangulation
        needs).
    stall_s : float, optional
        How far a running camera's newest frame may lag the newest camera's before sets
        go on without it (default: 10 periods, at least 1 s).
    """

    def __init__(
        self,
        cameras: Sequence[str],
        period_s: float,
        keep: int = 4,
        min_cameras: int = 1,
        stall_s: float | None = None,
    ) -> None:
        self.period_s = float(period_s)
        self.min_cameras = min_cameras
        self.stall_s = max(1.0, 10 * self.period_s) if stall_s is None else float(stall_s)
        self._first_put: float | None = None
        self._frames = {name: deque(maxlen=keep) for name in cameras}
        self._running = set(cameras)
        self._ready = threading.Condition()
        self._first: float | None = None
        self._last_index = -1
        self._last_time = -math.inf
        self.taken = 0
        self.dropped = 0

    def put(self, camera: str, frame: TimedFrame) -> None:
        """Add a camera's newest frame (from its capture thread); ignored once it stopped."""
        with self._ready:
            if camera in self._running:
                self._frames[camera].append(frame)
                if self._first_put is None:
                    self._first_put = frame.time
                self._ready.notify_all()

    def stop(self, camera: str) -> None:
        """A camera has stopped: sets are complete without it from now on."""
        with self._ready:
            self._running.discard(camera)
            self._ready.notify_all()

    def _stalled(self) -> set[str]:
        """Running cameras ``stall_s`` behind the newest camera's frame (lock held).

        A camera with no frame yet counts once the others have run ``stall_s``.
        """
        newest = {n: q[-1].time for n, q in self._frames.items() if n in self._running and q}
        if not newest or self._first_put is None:
            return set()
        lead = max(newest.values())
        if lead - self._first_put <= self.stall_s:
            return {n for n, t in newest.items() if lead - t > self.stall_s}
        return {n for n in self._running if newest.get(n, -math.inf) < lead - self.stall_s}

    @property
    def stalled(self) -> frozenset[str]:
        """The running cameras sets go on without now (see the class doc)."""
        with self._ready:
            return frozenset(self._stalled())

    def _set_at(self, reference: float, required: set[str]) -> FrameSet | None:
        """The set of the frames nearest ``reference`` if complete and not taken (lock held).

        Complete: every ``required`` camera has a frame within half a period of it (the
        others join with theirs if they have one), and at least ``min_cameras`` do.
        """
        chosen = {}
        for name in sorted(self._frames):
            queue = self._frames[name]
            frame = min(queue, key=lambda f: abs(f.time - reference), default=None)
            if frame is not None and abs(frame.time - reference) < self.period_s / 2:
                chosen[name] = frame
            elif name in required:
                return None
        if len(chosen) < max(1, self.min_cameras):
            return None
        times = np.array([frame.time for frame in chosen.values()])
        when = float(np.median(times))
        first = when if self._first is None else self._first
        index = round((when - first) / self.period_s)
        if index <= self._last_index:
            return None
        spread = float(times.max() - times.min())
        return FrameSet(index, when, MappingProxyType(chosen), spread)

    def _newest_set(self) -> FrameSet | None:
        """The newest complete set not taken yet (lock held), or None.

        While cameras run, the set at the newest time every running camera that has not
        stalled has reached;
        once every camera has stopped, the newest set their last frames still make.
        """
        if self._running:
            waited = self._running - self._stalled()
            if not waited or any(not self._frames[name] for name in waited):
                return None
            return self._set_at(min(self._frames[name][-1].time for name in waited), waited)
        times = sorted({f.time for queue in self._frames.values() for f in queue}, reverse=True)
        for reference in times:
            frame_set = self._set_at(reference, set())
            if frame_set is not None:
                return frame_set
        return None

    def can_complete(self) -> bool:
        """Whether a set not taken yet may still complete.

        True while at least ``min_cameras`` cameras run or have stopped with frames that
        can still join such a set; once every camera has stopped, whether one is complete.
        """
        with self._ready:
            if not self._running:
                return self._newest_set() is not None
            half = self.period_s / 2
            after = self._last_time + half  # a set not taken yet is later than this
            reached = [q[-1].time for n, q in self._frames.items() if n in self._running and q]
            if len(reached) == len(self._running):  # and is at least this late
                after = max(after, min(reached) - half)
            stopped = sum(
                1
                for name, queue in self._frames.items()
                if name not in self._running and queue and queue[-1].time > after
            )
            return len(self._running) + stopped >= self.min_cameras

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
            self._last_time = frame_set.time
            self.taken += 1
            return frame_set
