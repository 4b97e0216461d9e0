"""The viewer's live mode fed from a live session in memory (``mocap live``).

:class:`LiveFeed` has the interface of :class:`viewer.live.FileFollower` (``poll()``,
``close()``, ``live``, ``error``), so the window follows a :class:`mocap.live.LiveSession`
as it follows a growing trial file: the session's frames (published from its pipeline
thread) are kept for the last ``keep_s`` seconds; at most every ``every_s`` seconds
:meth:`LiveFeed.poll` starts a rebuild of the :class:`~viewer.data.ViewerData` (the trial
and its hinge analysis) in a background thread, and a later poll hands it over. ``status``
is the session's one-line numbers. No Qt here.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from mocap.skeleton import HINGELAB_KEYPOINTS
from mocap.trial import Trial, TrialInfo
from viewer.data import ViewerData, viewer_data

if TYPE_CHECKING:
    from mocap.live import LiveFrame, LiveSession

STATUS_WINDOW_S = 5.0
"""The status line's latencies are those of the last few seconds."""
KEEP_S = 30.0
"""Seconds of frames kept and shown."""
EVERY_S = 0.2
"""Shortest interval between two rebuilds of the viewer's data, seconds."""


def live_trial(
    frames: Sequence[LiveFrame],
    camera_names: Sequence[str],
    t0: float,
    fps: float,
    calibration_toml: str = "",
) -> Trial:
    """A trial of live frames: times from ``t0``, the 3D rate as its ``fps``.

    Parameters
    ----------
    frames : sequence of LiveFrame
        At least one, in time order.
    camera_names : sequence of str
        The C cameras of the frames' ``keypoints2d``.
    t0 : float
        ``time.monotonic`` time of the session's first frame.
    fps : float
        Used when fewer than two frames give a rate.
    calibration_toml : str
        Draws the cameras.

    Returns
    -------
    Trial
        keypoints2d (C, T, J, 3), points3d (T, J, 3), errors and views (T, J); its
        ``fps`` is the frames' own rate (the hinge analysis sizes its windows by it).
    """
    times = np.array([f.time - t0 for f in frames])
    span = times[-1] - times[0]
    rate = (len(times) - 1) / span if span > 0 else fps
    return Trial(
        fps=float(rate),
        keypoint_names=HINGELAB_KEYPOINTS,
        camera_names=tuple(camera_names),
        timestamps=times,
        keypoints2d=np.stack([f.keypoints2d for f in frames], axis=1),
        points3d=np.stack([f.points3d for f in frames]),
        reprojection_error=np.stack([f.reprojection_error for f in frames]),
        n_views=np.stack([f.n_views for f in frames]),
        info=TrialInfo(session="live"),
        calibration_toml=calibration_toml,
    )


class LiveFeed:
    """A live session's newest frames as viewer data (``FileFollower``'s interface).

    Parameters
    ----------
    session : LiveSession
        Started or not; the feed subscribes to its frames.
    keep_s : float
        Seconds of frames kept.
    every_s : float
        Shortest interval between rebuilds, seconds.
    build : callable, optional
        Trial -> ViewerData (default :func:`viewer.data.viewer_data`).
    """

    poll_ms = 40
    """The window polls often: a finished rebuild is shown within 40 ms."""

    def __init__(
        self,
        session: LiveSession,
        keep_s: float = KEEP_S,
        every_s: float = EVERY_S,
        build: Callable[[Trial], ViewerData] = viewer_data,
    ) -> None:
        self.session = session
        self.keep_s, self.every_s, self.build = keep_s, every_s, build
        self.error = ""
        """The last rebuild's error ("" when it worked)."""
        self._lock = threading.Condition()
        self._frames: deque[LiveFrame] = deque()
        self._t0: float | None = None
        self._added = self._built = 0
        self._built_at = -float("inf")
        self._pending: Future[ViewerData] | None = None
        self._closed = False
        self._grabs: dict[int, float] = {}
        """Per data handed out (its id), the grab time of its newest frame."""
        self._on_screen: deque[tuple[float, float]] = deque()
        self._all_on_screen: list[float] = []
        """(when shown, grab-to-display latency) of the data shown, last few seconds."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-feed")
        session.subscribe(self._add)

    def _add(self, frame: LiveFrame) -> None:
        """A published frame (the session's pipeline thread): keep it, forget old ones."""
        with self._lock:
            self._t0 = frame.time if self._t0 is None else self._t0
            self._frames.append(frame)
            self._added += 1
            while frame.time - self._frames[0].time > self.keep_s:
                self._frames.popleft()
            self._lock.notify_all()

    @property
    def live(self) -> bool:
        """Whether the session still delivers frames."""
        return self.session.running

    @property
    def status(self) -> str:
        """The session's line (3D rate, grab-to-3D latency, dropped) and grab to display."""
        line = self.session.status_line()
        latency = self.display_latency_s()
        if latency.size:
            median, p95 = np.median(latency) * 1000, np.percentile(latency, 95) * 1000
            line += f"; on screen {median:.0f} ms after the grab (p95 {p95:.0f} ms)"
        return line

    def shown(self, data: ViewerData) -> None:
        """The window drew ``data``: its newest frame's grab-to-display latency is noted."""
        with self._lock:
            grab = self._grabs.pop(id(data), None)
        if grab is None:
            return
        now = time.monotonic()
        self._on_screen.append((now, now - grab))
        self._all_on_screen.append(now - grab)
        while self._on_screen and now - self._on_screen[0][0] > STATUS_WINDOW_S:
            self._on_screen.popleft()

    def display_summary(self) -> str:
        """One line over the whole session: grab-to-display latency ("" if nothing shown)."""
        if not self._all_on_screen:
            return ""
        latency = np.array(self._all_on_screen) * 1000
        return (
            f"on screen: {latency.size} updates, {np.median(latency):.0f} ms after the grab "
            f"(p95 {np.percentile(latency, 95):.0f} ms)"
        )

    def display_latency_s(self) -> np.ndarray:
        """Grab-to-display latencies (N,) of the data shown in the last few seconds, s."""
        return np.array([latency for _, latency in self._on_screen])

    def _data(self) -> ViewerData:
        """Build the viewer data of the frames kept now."""
        with self._lock:
            frames, t0 = list(self._frames), self._t0
            self._built = self._added
        trial = live_trial(
            frames,
            self.session.rig.names,
            t0 or 0.0,
            self.session.fps,
            self.session.calibration_toml,
        )
        data = self.build(trial)
        if frames:
            with self._lock:
                self._grabs[id(data)] = frames[-1].grab_time
                while len(self._grabs) > 8:  # data never shown (superseded) is forgotten
                    del self._grabs[next(iter(self._grabs))]
        return data

    def poll(self) -> ViewerData | None:
        """The newest data if a rebuild finished, else None; starts one when due."""
        result = None
        if self._pending is not None and self._pending.done():
            future, self._pending = self._pending, None
            try:
                result = future.result()
                self.error = ""
            except Exception as exc:  # noqa: BLE001 (any rebuild error: shown, next one tried)
                self.error = f"{type(exc).__name__}: {exc}"
        due = time.monotonic() - self._built_at >= self.every_s
        if self._pending is None and self._added != self._built and due:
            self._built_at = time.monotonic()
            self._pending = self._executor.submit(self._data)
        return result

    def wait_first(self, timeout: float) -> ViewerData:
        """The data of the first frames, once there are some (for the window to open).

        Raises
        ------
        RuntimeError
            When no frame came within ``timeout`` seconds or the session ended first.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            # in slices: the session's end notifies nobody, so its state is looked at often
            while not self._frames and self.session.running and time.monotonic() < deadline:
                self._lock.wait(min(0.1, max(0.0, deadline - time.monotonic())))
            if not self._frames:
                msg = f"no 3D frame within {timeout:g} s (every camera stopped, or no person)"
                raise RuntimeError(msg)
        return self._data()

    def close(self) -> None:
        """Stop following the session (it keeps running; its owner closes it). Idempotent."""
        if self._closed:
            return
        self._closed = True
        self.session.unsubscribe(self._add)
        self._executor.shutdown(wait=True, cancel_futures=True)
