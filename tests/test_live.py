"""Live mode end to end with spawned workers: sets, 3D, drops, a stopped camera, cleanup.

The sources (``test_live_helpers.GridSource``) deliver instant ``k`` of a hinge session at
``k / 30 s`` plus a known jitter on the shared monotonic clock, its number stamped into
the image; the synthetic detector returns that instant's exact projections. So the truth
of every set (which instant), every 3D point and every drop is known.
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import numpy as np
import pytest
from test_live_helpers import FPS, SlowFactory, live_scene

from mocap import live as live_module
from mocap.live import LiveFrame, LiveSession, LiveSettings
from mocap.live_sets import LatestSets
from mocap.live_stats import FrameTiming, live_stats
from mocap.sources import TimedFrame

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


def test_when_every_source_ends_at_once_the_last_set_is_published(tmp_path: Path) -> None:
    """3 cameras at 30 fps all end on instant E, named in a file 0.5 s after the first 3D frame.

    Detection takes 50 ms (1.5 periods), so the pipeline is mostly still busy with an
    earlier set when the last frames and the cameras' stops arrive (before the fix, set E
    was then lost). Exact: the last set published is instant E, with every camera's last
    frame and its true 3D points; published plus dropped sets are every instant from the
    first published to E (the mailbox's own counters agree), and set numbers advance as
    the instants do.
    """
    scene = live_scene(3)
    end = tmp_path / "end"
    sources = scene.sources(30.0, end_file=str(end))
    detector = SlowFactory(scene.factory, 0.05)  # busy with an older set when E arrives
    session = LiveSession(
        sources, scene.rig, settings=SETTINGS, detector=detector, report=lambda _: None
    )
    frames: list[LiveFrame] = []
    session.subscribe(frames.append)
    session.start()
    last = None
    for _ in session.frames(timeout=10.0):
        if last is None:  # every camera reads the file before it is due
            last = round(time.monotonic() * FPS) + 15
            (tmp_path / "end.tmp").write_text(str(last))
            (tmp_path / "end.tmp").replace(end)
    summary = session.close()
    instants = [_instant(f.time) for f in frames]
    assert instants[-1] == last
    assert dict(frames[-1].frames) == {n: k - 1 for n, (k, _) in summary.cameras.items()}
    truth = scene.truth(frames[-1].time)
    done = np.isfinite(frames[-1].points3d[:, 0])
    assert np.max(np.abs(frames[-1].points3d[done] - truth[done])) < TOLERANCE_M
    assert [f.index - frames[0].index for f in frames] == [i - instants[0] for i in instants]
    stats = summary.stats
    assert stats.sets == last - instants[0] + 1
    assert stats.frames == len(frames) == session._sets.taken
    assert stats.dropped == session._sets.dropped
    assert not session.running
    _assert_no_process_left(session)


def _put(box: LatestSets, instant: int, cameras: str = "abc") -> None:
    """Each camera's frame of an instant (30 fps), a few milliseconds of jitter apart."""
    for c, camera in enumerate(cameras):
        box.put(camera, TimedFrame(instant, instant / FPS + 0.002 * c, np.zeros((1, 1, 3))))


def test_the_mailbox_still_completes_the_last_set_of_cameras_that_end_together() -> None:
    """Sets 0-9 of 3 cameras, each taken; every camera stops right after set 9 arrives.

    Exact: all 10 sets taken, none dropped, the last with the 3 cameras. Then cameras a
    and b end on set 3 and c on set 4: set 4 (c alone, below 2 cameras) is no set, so
    set 3 of the 3 cameras is the last.
    """
    box = LatestSets("abc", 1 / FPS, min_cameras=2)
    taken = []
    for k in range(10):
        _put(box, k)
        if k == 9:
            for camera in "abc":
                box.stop(camera)
        assert box.can_complete()
        taken.append(box.take(timeout=0))
    assert [s.index for s in taken] == list(range(10))
    assert (box.taken, box.dropped, set(taken[-1].frames)) == (10, 0, set("abc"))
    assert not box.can_complete()
    assert box.take(timeout=0) is None

    box = LatestSets("abc", 1 / FPS, min_cameras=2)
    _put(box, 0)
    box.take(timeout=0)
    for k in (1, 2, 3):
        _put(box, k)
    box.stop("a")
    box.stop("b")
    _put(box, 4, "c")
    box.stop("c")
    last = box.take(timeout=0)
    assert (last.index, set(last.frames), box.dropped) == (3, set("abc"), 2)
    assert not box.can_complete()


def test_a_stopped_cameras_last_frames_stop_counting_once_the_others_pass_them() -> None:
    """Cameras a and b stop at set 5, c runs on to set 7: no set of 2 cameras can complete."""
    box = LatestSets("abc", 1 / FPS, min_cameras=2)
    for k in range(6):
        _put(box, k)
    box.stop("a")
    box.stop("b")
    assert box.can_complete()  # c's frame of set 5 would complete it
    _put(box, 6, "c")
    _put(box, 7, "c")
    assert not box.can_complete()
    assert box.take(timeout=0) is None


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


def test_a_camera_that_freezes_without_an_error_is_left_out_then_back() -> None:
    """cam_3 delivers nothing for 1.5 s (no error, no stop): live 3D goes on without it.

    Exact: the stall is reported once (1 s without a frame, the default at 30 fps) and the
    return once; sets of the frozen stretch, after the stall was noticed, hold cam_1 and
    cam_2 only; sets after the return hold all three again (5 instants of slack at both
    ends: the cameras start within an instant or two of each other); every point is the
    truth within TOLERANCE_M.
    """
    scene = live_scene(3)
    frozen = tuple(range(30, 75))  # positions (instants from its first) with no frame
    sources = scene.sources(3.5, dropped={"cam_3": frozen})
    lines: list[str] = []
    session = LiveSession(
        sources, scene.rig, settings=SETTINGS, detector=scene.factory, report=lines.append
    )
    frames = _run(session)
    session.close()
    assert [line for line in lines if line.startswith("cam_3:")] == [
        "cam_3: no frame for 1 s; live 3D goes on without it",
        "cam_3: delivers frames again; back in the sets",
    ]
    first = _instant(frames[0].time) - frames[0].frames["cam_1"]  # cam_1's first instant
    views = {_instant(f.time) - first: set(f.frames) for f in frames}
    # 5 instants of slack: each camera counts its positions from its own first instant
    during = [v for position, v in views.items() if 30 + 31 + 5 <= position < 75 - 5]
    after = [v for position, v in views.items() if position >= 75 + 5]
    assert during
    assert all(v == {"cam_1", "cam_2"} for v in during)
    assert after
    assert all(v == {"cam_1", "cam_2", "cam_3"} for v in after)
    for frame in frames:
        done = np.isfinite(frame.points3d[:, 0])
        truth = scene.truth(frame.time)
        assert np.max(np.abs(frame.points3d[done] - truth[done])) < TOLERANCE_M
    _assert_no_process_left(session)


def test_a_failure_in_the_pipeline_ends_live_3d_and_says_why() -> None:
    """A listener that raises on the 3rd frame: live 3D stops at once, said, not hung.

    Exact: 3 frames published, ``running`` false, the failure named in one report line;
    the sources would have run 3 s more.
    """
    scene = live_scene(3)
    lines: list[str] = []
    session = LiveSession(
        scene.sources(4.0), scene.rig, settings=SETTINGS, detector=scene.factory,
        report=lines.append,
    )  # fmt: skip
    published: list[LiveFrame] = []

    def listener(frame: LiveFrame) -> None:
        published.append(frame)
        if len(published) == 3:
            raise RuntimeError("disk full (test)")

    session.subscribe(listener)
    session.start()
    start = time.monotonic()
    for _ in session.frames(timeout=10.0):
        pass
    assert time.monotonic() - start < 3.0  # ended by the failure, not by the sources
    assert not session.running
    assert len(published) == 3
    assert session.failure == "RuntimeError: disk full (test)"
    assert [x for x in lines if x.startswith("live 3D stopped")] == [
        "live 3D stopped: RuntimeError: disk full (test)"
    ]
    session.close()
    _assert_no_process_left(session)


def test_status_numbers_cover_the_last_seconds_before_now() -> None:
    """Frames every 0.1 s for 20 s, then none: exact rate and latencies, then nothing.

    Exact arithmetic on made-up timings: sets every 0.1 s with 2 of 3 dropped, latency
    0.1-0.2 s; asked 10 s after the last frame, the 5 s window holds no frame.
    """
    timings = [
        FrameTiming(index=3 * k, done=100.0 + 0.1 * k, latency_s=0.1 + 0.001 * (k % 101))
        for k in range(201)
    ]
    recent = live_stats(timings, 5.0, now=120.0)  # frames done at 115.0 ... 120.0
    assert recent.frames == 51
    assert recent.fps == pytest.approx(10.0, rel=1e-9)
    assert recent.sets == 151
    assert recent.dropped_share == pytest.approx(100 / 151, rel=1e-12)
    expected = np.array([t.latency_s for t in timings[150:]])
    assert recent.latency_median_s == pytest.approx(float(np.median(expected)), rel=1e-12)
    stale = live_stats(timings, 5.0, now=130.0)
    assert stale.frames == 0
    assert stale.line(5.0) == "live: 0 3D frames in the last 5 s"
    assert live_stats(timings).frames == 201


@pytest.mark.parametrize(("reported", "expected"), [(60.0, 60.0), (0.0, 30.0), (9000.0, 30.0)])
def test_a_cameras_rate_is_the_one_its_driver_reports(
    monkeypatch: pytest.MonkeyPatch, reported: float, expected: float
) -> None:
    """No --fps: the driver's 60 fps is the nominal rate; 0 or nonsense leaves 30 Hz."""

    class Capture:
        def get(self, _prop: int) -> float:
            return reported

        def release(self) -> None:
            pass

    monkeypatch.setattr(live_module, "open_capture", lambda *_: Capture())
    scene = live_scene(2)
    sources = live_module.live_sources(scene.rig, "calibration.toml", cameras=[1, 2])
    assert [s.name for s in sources] == ["cam_1", "cam_2"]
    assert live_module.session_fps(sources, None) == expected
