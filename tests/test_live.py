"""Live mode end to end with spawned workers: sets, 3D, drops, a stopped camera, cleanup.

The sources (``test_live_helpers.GridSource``) deliver instant ``k`` of a hinge session at
``k / 30 s`` plus a known jitter on the shared monotonic clock, its number stamped into
the image; the synthetic detector returns that instant's exact projections. So the truth
of every set (which instant), every 3D point and every drop is known.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pytest
from test_live_helpers import FPS, SlowFactory, live_scene

from mocap.live import LiveFrame, LiveSession, LiveSettings

SETTINGS = LiveSettings(fps=FPS, markers=None)
TOLERANCE_M = 1e-5
"""3D error allowed: exact projections, stored as float32 pixels (1e-5 px at 300 px is
~2e-7 m at 3.5 m with f = 240 px); 10 um leaves room for the solver's rounding."""


def _run(session: LiveSession) -> list[LiveFrame]:
    """Every frame published until the sources end (listener: none skipped)."""
    frames: list[LiveFrame] = []
    session.subscribe(frames.append)
    session.start()
    for _ in session.frames(timeout=10.0):
        pass
    return frames


def _instant(when: float) -> int:
    return round(when * FPS)


def _assert_no_process_left(session: LiveSession) -> None:
    """Every worker has exited and been reaped; no child process of this one remains."""
    assert session.processes
    assert all(p.exitcode is not None for p in session.processes)
    assert not any(Path(f"/proc/{p.pid}").exists() for p in session.processes)
    assert multiprocessing.active_children() == []


def test_sets_and_3d_points_match_the_truth_and_a_stopped_camera_is_reported() -> None:
    """3 cameras, 2.5 s at 30 fps, jitter up to 3 ms; cam_2 drops 3 frames; cam_3 fails at 1.5 s.

    Exact: each published set holds, per running camera, its frame of one instant (the
    camera's true frame number, drops counted), set numbers advance as the instants do,
    no set is published at an instant cam_2 dropped (incomplete), every 3D point is the
    truth within TOLERANCE_M, the stop is reported once with cam_3's 45 frames, and the
    two other cameras go on to the end in sets without it.
    """
    scene = live_scene(3)
    dropped = {"cam_2": (10, 11, 30)}
    sources = scene.sources(2.5, dropped=dropped, stop={"cam_3": 1.5})
    lines: list[str] = []
    session = LiveSession(
        sources, scene.rig, settings=SETTINGS, detector=scene.factory, report=lines.append
    )
    frames = _run(session)
    summary = session.close()
    instants = [_instant(f.time) for f in frames]
    assert len(frames) >= 40  # 75 instants; a fast detector keeps up with most
    for frame, instant in zip(frames, instants, strict=True):
        assert frame.spread_s < 0.0061  # two jitters of at most 3 ms
        assert frame.index - frames[0].index == instant - instants[0]
        truth = scene.truth(frame.time)
        done = np.isfinite(frame.points3d[:, 0])
        assert done.sum() >= 30  # most of the 37 keypoints are in every view
        assert np.max(np.abs(frame.points3d[done] - truth[done])) < TOLERANCE_M
        assert set(frame.n_views[done]) <= {2, len(frame.frames)}
    for name in scene.rig.names:  # each camera's frame in each set: the true one
        gone = dropped.get(name, ())
        mine = [(f, k) for f, k in zip(frames, instants, strict=True) if name in f.frames]
        first = mine[0][1] - mine[0][0].frames[name]  # its first instant (no drop before)
        for frame, instant in mine:
            position = instant - first
            assert position not in gone
            assert frame.frames[name] == position - sum(g < position for g in gone)
    stopped = [line for line in lines if line.startswith("cam_3 stopped")]
    assert stopped == [
        "cam_3 stopped after 45 frames (camera cam_3: stopped delivering frames (test)); "
        "2 cameras go on"
    ]
    cam3_end = instants[0] - frames[0].frames["cam_3"] + 45  # its first missing instant
    late = [f for f in frames if _instant(f.time) >= cam3_end]
    assert late
    assert all(set(f.frames) == {"cam_1", "cam_2"} for f in late)
    assert summary.cameras["cam_3"] == (45, "camera cam_3: stopped delivering frames (test)")
    assert summary.views_lost == 0  # every requested frame was still in its ring
    assert summary.stats.frames == len(frames)
    assert summary.stats.sets == frames[-1].index - frames[0].index + 1
    _assert_no_process_left(session)


def test_a_slow_detector_drops_stale_sets_counted_exactly_and_latency_stays_bounded() -> None:
    """3 cameras at 30 fps for 3 s; each detection sleeps 100 ms (3 frame periods).

    At most ~9 sets per second can be processed: about 70 % of the 90 sets are dropped.
    Exact: published + dropped sets = every set from the first published to the last
    (the mailbox's own counters agree), and set numbers advance as the instants do.
    Bound: grab-to-3D latency p95 under 100 ms of detection + one period of waiting for
    the set + 100 ms for this busy 2-core machine = 0.23 s; a queue would end the run
    90 x 0.1 - 3 = 6 s behind.
    """
    scene = live_scene(3)
    session = LiveSession(
        scene.sources(3.0),
        scene.rig,
        settings=SETTINGS,
        detector=SlowFactory(scene.factory, 0.1),
    )
    frames = _run(session)
    summary = session.close()
    stats = summary.stats
    assert stats.frames == len(frames) == session._sets.taken
    assert stats.dropped == session._sets.dropped
    assert stats.sets == frames[-1].index - frames[0].index + 1
    instants = [_instant(f.time) for f in frames]
    assert [f.index - frames[0].index for f in frames] == [i - instants[0] for i in instants]
    assert 0.5 < stats.dropped_share < 0.9
    assert stats.latency_p95_s < 0.23
    assert all(f.latency_s >= 0.1 for f in frames)  # the sleep is in every latency
    assert summary.views_lost == 0  # the ring (8 frames, 0.27 s) outlasts each request
    _assert_no_process_left(session)


def test_close_while_detecting_ends_every_worker() -> None:
    """Closing in the middle of a slow detection: the pipeline and all workers end."""
    scene = live_scene(2)
    session = LiveSession(
        scene.sources(30.0),
        scene.rig,
        settings=SETTINGS,
        detector=SlowFactory(scene.factory, 0.3),
    )
    session.start()
    next(session.frames(timeout=10.0))
    assert session.running
    session.close()
    assert not session.running
    _assert_no_process_left(session)


def test_sources_that_are_not_calibrated_cameras_are_refused() -> None:
    scene = live_scene(2)
    sources = scene.sources(1.0)
    with pytest.raises(ValueError, match="cameras of the calibration"):
        LiveSession([*sources, sources[0]], scene.rig)
