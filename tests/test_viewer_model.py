"""The viewer's logic without a window: playback, what is missing, geometry, sagittal data, live.

Nothing here imports Qt; every trial is synthetic (``datasets.synthetic``) with exact 3D.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from calibration.toml_io import CalibrationMetadata, calibration_to_toml
from datasets.synthetic import ObservationNoise, make_scene, observe
from mocap.demo import viewer_screenshot
from mocap.hinge import FaultThresholds, analyse_trial
from mocap.trial import Trial, TrialAppender, write_trial
from viewer.app import qt_problem
from viewer.data import load, viewer_data
from viewer.geometry import frame_lines, frustum_lines, side_of, skeleton_layout
from viewer.live import FileFollower, signature
from viewer.playback import SPEEDS, Playback
from viewer.sagittal_data import SagittalSource

FPS = 60.0
ROOT = Path(__file__).resolve().parents[1]


def synthetic_trial(motions: tuple[str, ...] = ("good_hinge",), with_2d: bool = True) -> Trial:
    """A trial with exact 3D (4 views each), the rig's calibration and, optionally, 2D."""
    scene = make_scene(motions, n_cameras=4, fps=FPS, seed=1)
    shape = scene.points3d.shape[:2]
    return Trial(
        FPS,
        scene.keypoint_names,
        scene.rig.names,
        scene.session.times,
        keypoints2d=observe(scene.rig, scene.points3d, ObservationNoise(), 0) if with_2d else None,
        points3d=scene.points3d,
        n_views=np.full(shape, 4, dtype=np.uint8),
        reprojection_error=np.zeros(shape, dtype=np.float32),
        calibration_toml=calibration_to_toml(scene.rig, CalibrationMetadata.now()),
    )


@pytest.fixture(scope="module")
def hinge() -> Trial:
    return synthetic_trial()


# --- playback ---------------------------------------------------------------------------


def test_seek_time_picks_the_nearest_frame() -> None:
    """A click at t shows the frame nearest to t (times need not be uniform)."""
    pb = Playback(np.array([0.0, 0.1, 0.25, 0.3]))
    assert pb.seek_time(0.17) == 1  # 0.07 from 0.1, 0.08 from 0.25
    assert pb.seek_time(0.19) == 2
    assert pb.seek_time(-5.0) == 0
    assert pb.seek_time(99.0) == 3
    assert pb.following  # the last frame: a live file would keep following


def test_playback_runs_in_real_time_and_stops_at_the_end() -> None:
    """Ticks advance by wall time x speed (frames skipped when drawing lags); the end stops it."""
    pb = Playback(np.arange(100) / FPS)
    assert pb.toggle()
    assert pb.tick(0.5) == 30  # 0.5 s at 60 fps
    pb.change_speed(1)
    assert pb.speed == 2.0
    assert pb.tick(0.25) == 60  # 0.25 s at 2x
    assert pb.tick(10.0) == 99
    assert not pb.playing
    assert pb.toggle()  # playing again from the end starts over
    assert pb.frame == 0


def test_step_pauses_and_clips() -> None:
    pb = Playback(np.arange(10) / FPS, playing=True)
    assert pb.step(-1) == 0
    assert not pb.playing
    assert pb.step(3) == 3
    assert pb.step(100) == 9


def test_speed_ladder_ends() -> None:
    pb = Playback(np.arange(3) / FPS)
    for _ in range(10):
        pb.change_speed(-1)
    assert pb.speed == SPEEDS[0]
    for _ in range(10):
        pb.change_speed(1)
    assert pb.speed == SPEEDS[-1]


def test_rep_jump() -> None:
    """Next/previous rep go to the neighbouring rep starts; past the last one nothing moves."""
    pb = Playback(np.arange(1000) / FPS)
    starts = (100, 400, 700)
    assert pb.next_rep(starts) == 100
    assert pb.next_rep(starts) == 400
    pb.seek_frame(450)
    assert pb.previous_rep(starts) == 400
    assert pb.previous_rep(starts) == 100
    assert pb.previous_rep(starts) == 100
    pb.seek_frame(800)
    assert pb.next_rep(starts) == 800


def test_live_growth_follows_the_newest_frame_only_when_shown() -> None:
    """A live file grew: from its last frame the view jumps to the new last; else it stays."""
    pb = Playback(np.arange(50) / FPS)
    pb.seek_frame(49)
    assert pb.extend(np.arange(80) / FPS) == 79
    pb.seek_frame(10)
    assert pb.extend(np.arange(120) / FPS) == 10
    pb.live = True
    pb.seek_frame(119)
    pb.toggle()
    assert pb.tick(1.0) == 119
    assert pb.playing  # a live file waits for frames at its end instead of stopping
    assert pb.extend(np.arange(130) / FPS) == 129


# --- data and what is missing ------------------------------------------------------------


def test_complete_trial_misses_only_stored_metrics(hinge: Trial) -> None:
    data = viewer_data(hinge)
    assert data.missing == (
        "no /metrics in the file: metrics computed on opening (default thresholds)",
    )
    assert [name for name, _ in data.plots][-1] == "lumbar_flexion_deg"
    assert data.rig is not None
    assert len(data.rig) == 4
    assert len(data.rep_starts) == 1


def test_stored_thresholds_are_used(hinge: Trial, tmp_path: Path) -> None:
    """With /metrics the viewer recomputes with the stored thresholds (same faults as stored).

    The good hinge bends the knees 25°: flagged only with the stored 20° limit.
    """
    strict = FaultThresholds(knees_bent_deg=20.0)
    metrics = analyse_trial(hinge, strict).to_trial_metrics()
    path = write_trial(tmp_path / "t.h5", Trial(**{**vars(hinge), "metrics": metrics}))
    data = load(path)
    assert data.missing == ()
    assert data.analysis.thresholds == strict
    assert [f.code for f in data.analysis.reps[0].faults] == ["knees_bent"]


def test_missing_parts_are_named(hinge: Trial) -> None:
    """No markers (no lumbar plot), no 2D, no view counts, no calibration, 2D only."""
    keep = [j for j, n in enumerate(hinge.keypoint_names) if n not in ("C7", "T12", "L3", "S1")]
    bare = Trial(
        FPS,
        tuple(hinge.keypoint_names[j] for j in keep),
        (),
        hinge.timestamps,
        points3d=hinge.points3d[:, keep],
    )
    data = viewer_data(bare)
    text = "; ".join(data.missing)
    for phrase in ("no spine markers", "no 2D keypoints", "no view counts", "no calibration"):
        assert phrase in text
    assert "lumbar_flexion_deg" not in [name for name, _ in data.plots]
    flat = Trial(
        FPS,
        hinge.keypoint_names,
        hinge.camera_names,
        hinge.timestamps,
        keypoints2d=hinge.keypoints2d,
        calibration_toml=hinge.calibration_toml,
    )
    only_2d = viewer_data(flat)
    assert only_2d.missing == ("no 3D points (2D only): no skeleton, no metrics",)
    assert only_2d.analysis is None
    assert only_2d.plots == ()


# --- geometry -----------------------------------------------------------------------------


def test_bone_sides_and_fading(hinge: Trial) -> None:
    """Bones are coloured by side; a bone with a faded end is faded; NaN bones are dropped."""
    assert side_of("left_hip", "left_knee") == "left"
    assert side_of("right_knee", "right_ankle") == "right"
    assert side_of("left_hip", "right_hip") == "centre"
    assert side_of("T12", "L3") == "spine"
    layout = skeleton_layout(hinge.keypoint_names)
    assert int(layout.spine.sum()) == 3
    points = hinge.points3d[0].copy()
    knee = hinge.keypoint_names.index("left_knee")
    ankle = hinge.keypoint_names.index("right_ankle")
    points[ankle] = np.nan
    faded = np.zeros(len(points), dtype=bool)
    faded[knee] = True
    vertices, colours, drawn = frame_lines(points, layout, faded)
    assert drawn.sum() == len(layout.bones) - 3  # the right ankle's three bones
    assert vertices.shape == (2 * drawn.sum(), 3)
    touching = np.repeat((layout.bones[drawn] == knee).any(axis=1), 2)
    assert np.all(colours[touching, 3] < 0.5)
    assert np.all(colours[~touching, 3] == 1.0)


def test_frustum_corners_project_to_the_image_corners(hinge: Trial) -> None:
    """The frustum's far corners lie on the rays of the image corners (to 1e-6 px).

    Re-projected with the pinhole matrix (a frustum shows the field of view; the lens
    distortion is not drawn), a wrong rotation or inverse would be pixels to metres off.
    """
    data = viewer_data(hinge)
    camera = data.rig[0]
    lines = frustum_lines(camera, 0.35)
    assert lines.shape == (16, 3)
    assert np.allclose(lines[0], camera.center)
    corners = lines[1:8:2]
    cam = (corners - camera.center) @ camera.rotation_matrix.T
    assert np.allclose(cam[:, 2], 0.35)
    pixels = cam @ camera.matrix.T
    pixels = pixels[:, :2] / pixels[:, 2:]
    width, height = camera.size
    assert np.allclose(pixels, [[0, 0], [width, 0], [width, height], [0, height]], atol=1e-6)


# --- sagittal panel data -----------------------------------------------------------------


def test_sagittal_segments_show_the_analysis_angles(hinge: Trial) -> None:
    """The drawn trunk's lean (change from the ghost's) is the analysis's trunk flexion.

    Within 1e-6°: both come from the same body frame and landmarks; a wrong frame axis or
    origin would be degrees off. The hip path is (-hip_back_m, -hip_down_m) exactly.
    """
    data = viewer_data(hinge)
    source = SagittalSource(data.analysis, data.landmarks)
    rep = data.analysis.reps[0]
    frame = source.frame(rep.bottom_index)

    def lean(chain: np.ndarray) -> float:
        dx, dy = chain[1] - chain[0]
        return float(np.degrees(np.arctan2(dx, dy)))

    trunk = lean(frame.pose["trunk"]) - lean(frame.ghost["trunk"])
    assert abs(trunk - data.analysis.series["trunk_flexion_deg"][rep.bottom_index]) < 1e-6
    back = data.analysis.series["hip_back_m"][rep.bottom_index]
    down = data.analysis.series["hip_down_m"][rep.bottom_index]
    assert np.allclose(frame.hip, [-back, -down])
    assert np.allclose(frame.pose["trunk"][0], frame.hip + np.array([0.0, frame.origin_height]))
    assert f"{rep.values['hinge_ratio']:.1f} at the bottom" in frame.ratio


def test_hip_path_of_a_hinge_goes_back_and_of_a_squat_down() -> None:
    """The path's extents: hinge mostly back (ratio > 2), squat mostly down (ratio < 1)."""
    extents = {}
    for motion in ("good_hinge", "squat_hinge"):
        data = viewer_data(synthetic_trial((motion,), with_2d=False))
        rep = data.analysis.reps[0]
        path = SagittalSource(data.analysis, data.landmarks).frame(rep.bottom_index).path
        extents[motion] = -path.min(axis=0)  # (back, down), metres
    back, down = extents["good_hinge"]
    assert back / down > 2.0
    back, down = extents["squat_hinge"]
    assert back / down < 1.0


# --- live files ---------------------------------------------------------------------------


def _wait_for(follower: FileFollower, timeout: float = 20.0) -> object:
    """Poll until a reload arrives."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        data = follower.poll()
        if data is not None:
            return data
        time.sleep(0.02)
    raise AssertionError(f"no reload within {timeout} s ({follower.error})")


def test_follower_reads_frames_of_a_file_being_written(hinge: Trial, tmp_path: Path) -> None:
    """A SWMR file growing: each flush is picked up, the view follows its newest frame."""
    path = tmp_path / "live.h5"
    points = hinge.points3d
    shape = points.shape[:2]
    appender = TrialAppender(path, hinge.keypoint_names, (), FPS, with_2d=False)
    try:
        appender.append(hinge.timestamps[:50], points3d=points[:50],
                        reprojection_error=np.zeros((50, shape[1])),
                        n_views=np.full((50, shape[1]), 4))  # fmt: skip
        appender.flush()
        follower = FileFollower(path)
        first = _wait_for(follower)
        assert first.trial.n_frames == 50
        assert follower.live
        follower.shown(first)  # what the window calls after drawing: nothing to note
        pb = Playback(first.times)
        pb.seek_frame(pb.last)
        appender.append(hinge.timestamps[50:80], points3d=points[50:80],
                        reprojection_error=np.zeros((30, shape[1])),
                        n_views=np.full((30, shape[1]), 4))  # fmt: skip
        appender.flush()
        second = _wait_for(follower)
        assert second.trial.n_frames == 80
        assert pb.extend(second.times) == 79
        assert follower.poll() is None  # nothing new
        follower.close()
    finally:
        appender.close()
    assert signature(path) is not None


# --- no Qt in the logic, none at import ---------------------------------------------------


def test_logic_modules_import_without_qt() -> None:
    """The state and geometry modules import with Qt, pyqtgraph and OpenGL blocked.

    So does ``viewer.app``: it imports Qt only when a window is asked for.
    """
    blocker = (
        "import importlib.abc, sys\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('PySide6', 'pyqtgraph', 'OpenGL'):\n"
        "            raise ImportError('imported ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
    )
    modules = ("app", "data", "geometry", "live", "playback", "sagittal_data", "style")
    code = blocker + "".join(f"import viewer.{m}\n" for m in modules)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_pyside_that_crashes_is_refused() -> None:
    """PySide6 6.12.0 loses a reference to None per Python paint call on Python 3.11."""
    assert "6.12" in qt_problem("6.12.0", (3, 11))
    assert qt_problem("6.12.0", (3, 12)) == ""
    assert qt_problem("6.11.3", (3, 11)) == ""


def test_demo_screenshot_without_a_display_says_why_in_one_line(
    hinge: Trial, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``mocap demo``'s screenshot step without a display nor Xvfb: no file, one line why."""
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("mocap.demo.shutil.which", lambda name: None)  # no xvfb-run
    path = write_trial(tmp_path / "t.h5", hinge)
    written, reason = viewer_screenshot(path, tmp_path / "viewer.png", 1.0)
    assert written is None
    assert not (tmp_path / "viewer.png").exists()
    assert reason.startswith("cannot open a window: no display")
    assert "\n" not in reason


@pytest.mark.gui
@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run is not installed")
def test_demo_screenshot_without_a_display_uses_xvfb(
    hinge: Trial, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No display but Xvfb installed (a server, CI): the screenshot is taken on a virtual one."""
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    path = write_trial(tmp_path / "t.h5", hinge)
    written, reason = viewer_screenshot(path, tmp_path / "viewer.png", 1.0)
    assert reason == ""
    assert written == tmp_path / "viewer.png"
    assert written.stat().st_size > 10_000  # a 1600x1000 window, not an empty PNG


def test_sagittal_coordinates_of_all_frames_are_those_of_each_frame(hinge: Trial) -> None:
    """The drawing coordinates computed for all frames at once equal a frame's own.

    Each frame's chains computed alone (its landmarks, its baseline's H0 and body frame)
    match the precomputed ones exactly, and frames without a body frame have none.
    """
    from viewer import sagittal_data as sd  # noqa: PLC0415

    data = viewer_data(synthetic_trial(("good_hinge", "squat_hinge"), with_2d=False))
    analysis = data.analysis
    source = SagittalSource(analysis, data.landmarks)
    for index in range(analysis.times.size):
        base = analysis.baseline_at(index)
        if base is None:
            assert np.isnan(source.xy[index]).all()
            continue
        origin = sd.quiet_mean(data.landmarks.hip[base.standing])
        alone = sd._chains(sd._points(data.landmarks, index), origin, base)
        pose = source.pose(index)
        assert pose.keys() == alone.keys()
        for chain, xy in alone.items():
            assert np.array_equal(pose[chain], xy), (index, chain)
