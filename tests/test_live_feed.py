"""The viewer's live feed: frames in memory to viewer data, at most every 0.2 s, last 30 s.

A stand-in session (the feed only subscribes, and reads ``running``, ``rig``, ``fps``,
``calibration_toml`` and ``status_line()``) publishes frames of known points, so no worker
process is needed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import MappingProxyType

import numpy as np
import pytest
from test_live_helpers import live_scene

from calibration.toml_io import CalibrationMetadata, calibration_to_toml
from mocap.live import LiveFrame
from mocap.skeleton import HINGELAB_KEYPOINTS
from viewer.live_feed import LiveFeed

J = len(HINGELAB_KEYPOINTS)


class FakeSession:
    """What the feed uses of a LiveSession."""

    def __init__(self) -> None:
        scene = live_scene(2)
        self.rig = scene.rig
        self.fps = 30.0
        self.calibration_toml = calibration_to_toml(scene.rig, CalibrationMetadata())
        self.points3d = scene.points3d
        self.running = True
        self.listeners: list[Callable[[LiveFrame], None]] = []

    def subscribe(self, listener: Callable[[LiveFrame], None]) -> None:
        self.listeners.append(listener)

    def unsubscribe(self, listener: Callable[[LiveFrame], None]) -> None:
        self.listeners.remove(listener)

    def status_line(self) -> str:
        return "live: 3D 10.0 fps, latency 100 ms (p95 150 ms), dropped 67 %"

    def publish(self, k: int, when: float, row: int) -> None:
        """Set ``k`` at time ``when``, showing the scene's frame ``row``."""
        frame = LiveFrame(
            index=k,
            time=when,
            grab_time=when,
            frames=MappingProxyType(dict.fromkeys(self.rig.names, k)),
            points3d=self.points3d[row],
            n_views=np.full(J, 2, np.uint8),
            reprojection_error=np.zeros(J),
            keypoints2d=np.zeros((2, J, 3), np.float32),
            spread_s=0.0,
            taken_s=0.01,
            detected_s=0.05,
            latency_s=0.1,
        )
        for listener in self.listeners:
            listener(frame)


def _poll_until(feed: LiveFeed, timeout: float = 10.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = feed.poll()
        if data is not None:
            return data
        time.sleep(0.01)
    raise AssertionError("no data")


def test_frames_become_viewer_data_keeping_the_last_30_s() -> None:
    """40 s of frames every 0.1 s (10 fps, the hinge slowed down): the last 30 s are kept.

    Exact: 301 frames (t = 10.0 ... 40.0 s), times from the first frame ever, the points
    as published (float32 storage), the trial's fps their own rate (10 Hz).
    """
    session = FakeSession()
    feed = LiveFeed(session)
    assert feed.status == session.status_line()
    assert feed.live
    assert feed.poll() is None  # nothing published yet
    rows = np.arange(401) * (len(session.points3d) - 1) // 400
    for k in range(401):
        session.publish(k, 1000.0 + 0.1 * k, rows[k])
    data = _poll_until(feed)
    trial = data.trial
    assert trial.n_frames == 301
    np.testing.assert_allclose(trial.timestamps, 10.0 + 0.1 * np.arange(301), atol=1e-9)
    assert abs(trial.fps - 10.0) < 1e-9
    expected = session.points3d[rows[100:]]
    np.testing.assert_array_equal(trial.points3d, expected.astype(np.float32))
    assert trial.camera_names == session.rig.names
    assert data.rig is not None  # the cameras are drawn
    assert feed.error == ""
    feed.close()
    assert session.listeners == []


def test_rebuilds_at_most_every_0_2_s_and_only_when_there_is_news() -> None:
    """Frames every 10 ms for 1 s: at most 1 / 0.2 + 1 = 6 rebuilds; none without news."""
    session = FakeSession()
    built = []

    def build(trial: object) -> object:
        built.append(trial)
        return trial

    feed = LiveFeed(session, build=build)
    start, k = time.monotonic(), 0
    while time.monotonic() - start < 1.0:
        session.publish(k, start + 0.033 * k, k % len(session.points3d))
        k += 1
        feed.poll()
        time.sleep(0.01)
    assert 3 <= len(built) <= 6
    for _ in range(3):  # hands over the rebuilds still running, starts the last one
        time.sleep(0.3)
        feed.poll()
    count = len(built)
    time.sleep(0.3)
    assert feed.poll() is None  # nothing new: no rebuild
    assert len(built) == count
    feed.close()


def test_wait_first_fails_when_the_session_has_ended() -> None:
    session = FakeSession()
    session.running = False
    feed = LiveFeed(session)
    with pytest.raises(RuntimeError, match=r"no 3D frame within 0\.5 s"):
        feed.wait_first(0.5)
    feed.close()


def test_wait_first_returns_soon_after_the_session_ends_without_a_frame() -> None:
    """The session ends 0.2 s in, no frame: the wait ends within 0.5 s, not at its 5 s."""
    session = FakeSession()
    feed = LiveFeed(session)
    threading.Timer(0.2, lambda: setattr(session, "running", False)).start()
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="no 3D frame"):
        feed.wait_first(5.0)
    assert time.monotonic() - start < 0.5  # polled every 0.1 s
    feed.close()


def test_a_rebuild_that_raises_is_shown_and_the_next_one_runs() -> None:
    """Any error of a rebuild (here a RuntimeError) goes to ``error``; new frames rebuild."""
    session = FakeSession()
    calls: list[int] = []

    def build(trial: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("broken (test)")
        return trial

    feed = LiveFeed(session, every_s=0.0, build=build)
    session.publish(0, 1000.0, 0)
    deadline = time.monotonic() + 5
    while not feed.error and time.monotonic() < deadline:
        feed.poll()
        time.sleep(0.01)
    assert feed.error == "RuntimeError: broken (test)"
    session.publish(1, 1000.1, 1)
    assert _poll_until(feed) is not None
    assert feed.error == ""
    assert len(calls) == 2
    feed.close()
