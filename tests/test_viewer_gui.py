"""The viewer's window under Xvfb: real pixels of screenshots, status bar, keys, clicks, CLI.

Every trial is synthetic (exact 3D, ``datasets.synthetic``). Screenshots are the window's
own rendering (:meth:`viewer.window.ViewerWindow.render`, GL view included) at 1600x1000.
Expected pixel positions are computed independently of the viewer's drawing code: from the
GL view's projection and view matrices, and from the plots' view-to-scene mappings.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from test_live_feed import FakeSession
from test_viewer_model import FPS, synthetic_trial

from mocap.trial import Trial, TrialAppender, write_trial
from viewer.app import WINDOW_SIZE, application, dispose
from viewer.data import ViewerData, load, viewer_data
from viewer.live import FileFollower, signature
from viewer.live_feed import LiveFeed
from viewer.style import CURSOR, FADED_ALPHA, HIP_PATH, SIDE_COLOURS, rgba255
from viewer.window import ViewerWindow

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def app(xvfb_display: str) -> object:
    """The QApplication, on the Xvfb display."""
    return application()


@pytest.fixture(autouse=True)
def slot_errors(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[BaseException]]:
    """Fail a test when a Qt slot raised: PySide prints such errors and carries on."""
    raised: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook", lambda _type, error, _tb: raised.append(error))
    yield raised
    assert raised == [], f"a slot raised: {raised[0]!r}" if raised else ""


@contextmanager
def window_for(data: ViewerData, follower: object = None) -> Iterator[object]:
    """A shown 1600x1000 window on ``data``, deleted afterwards (with its GL context)."""
    window = ViewerWindow(data, follower)
    window.resize(*WINDOW_SIZE)
    window.show()
    try:
        yield window
    finally:
        dispose(window)


def pixels(window: object) -> np.ndarray:
    """The window's rendering as an (H, W, 3) uint8 array (a copy: the QImage goes)."""
    image = window.render().convertToFormat(QImage.Format.Format_RGB888)
    raw = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    rows = raw.reshape(image.height(), image.bytesPerLine())
    return rows[:, : 3 * image.width()].reshape(image.height(), image.width(), 3).copy()


def near_colour(rgb: np.ndarray, colour: tuple[int, ...], tol: float) -> np.ndarray:
    """Mask of pixels within ``tol`` of ``colour`` in every channel."""
    return np.all(np.abs(rgb.astype(int) - np.array(colour[:3])) <= tol, axis=-1)


def to_window(widget: object, window: object, x: float, y: float) -> tuple[float, float]:
    """A point of a widget's own pixel coordinates in window pixels."""
    origin = widget.mapTo(window, QPoint(0, 0))
    return origin.x() + x, origin.y() + y


def plot_to_window(widget: object, box: object, window: object, x: float, y: float) -> tuple:
    """Data coordinates of a pyqtgraph ViewBox in window pixels."""
    scene = box.mapViewToScene(QPointF(x, y))
    local = widget.mapFromScene(scene)
    return to_window(widget.viewport(), window, local.x(), local.y())


def gl_projection(view: object, points: np.ndarray) -> np.ndarray:
    """Pixels (N, 2) in the GL widget of world points (N, 3), from its GL matrices."""
    w, h = view.width(), view.height()
    matrix = view.projectionMatrix((0, 0, w, h), (0, 0, w, h)) * view.viewMatrix()
    mvp = np.array(matrix.data()).reshape(4, 4).T  # QMatrix4x4.data() is column-major
    clip = np.c_[points, np.ones(len(points))] @ mvp.T
    ndc = clip[:, :3] / clip[:, 3:]
    return np.c_[(ndc[:, 0] + 1) / 2 * w, (1 - ndc[:, 1]) / 2 * h]


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    t = np.clip(np.dot(p - a, b - a) / max(np.dot(b - a, b - a), 1e-9), 0, 1)
    return float(np.linalg.norm(p - (a + t * (b - a))))


def test_skeleton_is_drawn_where_the_3d_points_project(app: object) -> None:
    """Each bone's colour is at its projected mid-point (within 2 px), faded bones faded.

    The mid-point of every bone is projected with the GL view's own projection and view
    matrices; bones whose mid-point lies within 5 px of another bone's line are skipped (the
    pixel could be either's). 2 px: the lines are 3-5 px wide, rasterised without
    antialiasing. The left knee is seen by one camera in the first second, so its bones
    must be drawn at the faded opacity (over the black background, ±20 levels for the grid).
    """
    trial = synthetic_trial()
    n_views = trial.n_views.copy()
    knee = trial.keypoint_names.index("left_knee")
    n_views[: int(FPS), knee] = 1
    trial = Trial(**{**vars(trial), "n_views": n_views})
    with window_for(viewer_data(trial)) as window:
        window.seek_time(0.5)
        rgb = pixels(window)
        view = window.scene.view
        layout = window.data.layout
        frame = trial.points3d[window.playback.frame]
        ends = gl_projection(view, frame[layout.bones].reshape(-1, 3)).reshape(-1, 2, 2)
        checked: dict[str, int] = {}
        for b, (a, z) in enumerate(ends):
            mid = (a + z) / 2
            others = [_segment_distance(mid, *ends[o]) for o in range(len(ends)) if o != b]
            if min(others) < 5.0:
                continue
            side = layout.bone_sides[b]
            colour = np.array(rgba255(SIDE_COLOURS[side]))
            if knee in layout.bones[b]:
                colour = np.round(colour * FADED_ALPHA).astype(int)
                side = "faded"
            x, y = to_window(window.scene.widget, window, *mid)
            patch = rgb[round(y) - 2 : round(y) + 3, round(x) - 2 : round(x) + 3]
            names = [trial.keypoint_names[j] for j in layout.bones[b]]
            assert near_colour(patch, tuple(colour), 20).any(), (names, patch[2, 2])
            checked[side] = checked.get(side, 0) + 1
    assert set(checked) == {"left", "right", "centre", "spine", "faded"}, checked
    assert sum(checked.values()) >= 12, checked


def _hip_path_extent(motion: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """(drawn, expected) width and height in pixels of a rep's hip path at its bottom."""
    data = viewer_data(synthetic_trial((motion,), with_2d=False))
    rep = data.analysis.reps[0]
    with window_for(data) as window:
        window.seek_frame(rep.bottom_index)
        rgb = pixels(window)
        panel = window.sagittal
        box = panel.hip_plot.getViewBox()
        part = slice(rep.standing[1], rep.end_index + 1)
        back = 100 * data.analysis.series["hip_back_m"][part]
        down = 100 * data.analysis.series["hip_down_m"][part]
        corners = [
            plot_to_window(panel.widget, box, window, x, y)
            for x, y in ((-back.max(), -down.max()), (0.0, 0.0))
        ]
        rect = box.sceneBoundingRect()
        (x0, y0), (x1, y1) = (
            plot_to_window(panel.widget, box, window, *box.mapSceneToView(p).toTuple())
            for p in (rect.topLeft(), rect.bottomRight())
        )
    inside = rgb[int(y0) + 2 : int(y1) - 2, int(x0) + 2 : int(x1) - 2]
    ys, xs = np.nonzero(near_colour(inside, rgba255(HIP_PATH), 30))
    drawn = (xs.max() - xs.min(), ys.max() - ys.min())
    expected = (corners[1][0] - corners[0][0], corners[0][1] - corners[1][1])
    return drawn, expected


def test_sagittal_hip_path_differs_between_hinge_and_squat(app: object) -> None:
    """The hip plot's magenta trace: wide for a hinge, tall for a squat, as the analysis says.

    Width and height of the trace match the analysis's largest hip_back_m and hip_down_m
    mapped through the plot (within 10 px: the 3 px pen and the 11 px dot at the bottom end).
    The hinge's trace is over twice as wide as tall, the squat's taller than wide.
    """
    (hw, hh), (ew, eh) = _hip_path_extent("good_hinge")
    assert abs(hw - ew) <= 10, (hw, ew)
    assert abs(hh - eh) <= 10, (hh, eh)
    (sw, sh), (ew, eh) = _hip_path_extent("squat_hinge")
    assert abs(sw - ew) <= 10, (sw, ew)
    assert abs(sh - eh) <= 10, (sh, eh)
    assert hw > 2 * hh
    assert sh > sw


def _cursor_column(rgb: np.ndarray, window: object, plot: object) -> float:
    """Mean x of the columns of the plot's view box that are mostly cursor-coloured."""
    box = plot.getViewBox()
    widget = window.plots.widget
    rect = box.sceneBoundingRect()
    (x0, y0), (x1, y1) = (
        plot_to_window(widget, box, window, *box.mapSceneToView(p).toTuple())
        for p in (rect.topLeft(), rect.bottomRight())
    )
    inside = rgb[int(y0) + 1 : int(y1) - 1, int(x0) : int(x1)]
    columns = near_colour(inside, rgba255(CURSOR), 12).mean(axis=0)
    found = np.flatnonzero(columns > 0.6)
    assert found.size, "no cursor in the plot"
    return int(x0) + float(found.mean())


def test_cursor_follows_the_time(app: object) -> None:
    """The yellow cursor sits at the time shown (within 1.5 px: a 2 px pen) and moves with it."""
    with window_for(viewer_data(synthetic_trial(("good_hinge", "squat_hinge")))) as window:
        plot = window.plots.plots[1]
        box = plot.getViewBox()
        found = []
        for seconds in (2.0, 7.5):
            window.seek_time(seconds)
            column = _cursor_column(pixels(window), window, plot)
            t = window.playback.time
            expected = plot_to_window(window.plots.widget, box, window, t, 0.0)[0]
            assert abs(column - expected) <= 1.5, (seconds, column, expected)
            found.append(column)
        assert found[1] - found[0] > 200  # 5.5 s across a ~900 px plot of 12 s


def test_click_on_a_plot_and_keys_move_playback(app: object) -> None:
    """A click at t = 3 s on a plot shows the frame there (within 2 px of time); keys step."""
    with window_for(viewer_data(synthetic_trial())) as window:
        plots = window.plots
        box = plots.plots[2].getViewBox()
        x, y = plot_to_window(plots.widget, box, window, 3.0, 0.0)
        origin = plots.widget.viewport().mapTo(window, QPoint(0, 0))
        at = QPoint(round(x - origin.x()), round(y - origin.y()))
        QTest.mouseClick(plots.widget.viewport(), Qt.MouseButton.LeftButton, pos=at)
        seconds_per_px = (box.viewRange()[0][1] - box.viewRange()[0][0]) / box.width()
        assert abs(window.playback.time - 3.0) <= 2 * seconds_per_px + 0.5 / FPS
        frame = window.playback.frame
        window.activateWindow()
        assert QTest.qWaitForWindowActive(window, 5000)  # shortcuts need the active window
        QTest.keyClick(window, Qt.Key.Key_Right)
        assert window.playback.frame == frame + 1
        QTest.keyClick(window, Qt.Key.Key_Space)
        assert window.playback.playing
        QTest.keyClick(window, Qt.Key.Key_Space)
        assert not window.playback.playing
        QTest.keyClick(window, Qt.Key.Key_Home)
        QTest.keyClick(window, Qt.Key.Key_PageDown)
        assert window.playback.frame == window.data.analysis.reps[0].start_index


def test_trials_missing_parts_open_and_say_so(app: object) -> None:
    """No /metrics, no markers, no 2D, no 3D: each opens and the status bar names it."""
    full = synthetic_trial(with_2d=True)
    keep = [j for j, n in enumerate(full.keypoint_names) if n not in ("C7", "T12", "L3", "S1")]
    no_markers = Trial(FPS, tuple(full.keypoint_names[j] for j in keep), (), full.timestamps,
                       points3d=full.points3d[:, keep])  # fmt: skip
    only_2d = Trial(
        FPS,
        full.keypoint_names,
        full.camera_names,
        full.timestamps,
        keypoints2d=full.keypoints2d,
        calibration_toml=full.calibration_toml,
    )
    cases = {
        "full": (full, ["no /metrics in the file"], 5),
        "no markers": (no_markers, ["no spine markers", "no 2D keypoints", "no calibration"], 4),
        "2D only": (only_2d, ["no 3D points"], 0),
    }
    for name, (trial, phrases, n_plots) in cases.items():
        with window_for(viewer_data(trial)) as window:
            window.seek_time(1.0)
            pixels(window)  # renders without error
            status = window.status_text()
            for phrase in phrases:
                assert phrase in status, (name, status)
            assert len(window.plots.plots) == n_plots, name


def test_window_follows_a_live_file(app: object, tmp_path: Path) -> None:
    """A file being written: the window shows new frames as they are flushed, the newest."""
    trial = synthetic_trial(with_2d=False)
    path = tmp_path / "live.h5"
    j = trial.n_joints
    with TrialAppender(path, trial.keypoint_names, (), FPS, with_2d=False) as appender:

        def add(part: slice) -> None:
            n = len(trial.timestamps[part])
            appender.append(
                trial.timestamps[part],
                points3d=trial.points3d[part],
                reprojection_error=np.zeros((n, j)),
                n_views=np.full((n, j), 4),
            )
            appender.flush()

        before = signature(path)
        follower = FileFollower(path, loaded=before)
        with window_for(load(path), follower) as window:  # opened before the first frame
            for n_frames in (60, 120):
                add(slice(n_frames - 60, n_frames))
                end = time.monotonic() + 20
                while window.playback.n_frames < n_frames and time.monotonic() < end:
                    QApplication.processEvents()
                    time.sleep(0.02)
                assert window.playback.n_frames == n_frames
                assert window.playback.frame == n_frames - 1  # the newest
            assert window.status_text().startswith("live: 120 frames")


def test_cli_writes_a_screenshot(app: object, tmp_path: Path) -> None:
    """``mocap view --screenshot`` writes a 1600x1000 PNG and exits 0 (in another process)."""
    path = write_trial(tmp_path / "t.h5", synthetic_trial(with_2d=False))
    png = tmp_path / "shot.png"
    result = subprocess.run(
        [sys.executable, "-m", "mocap", "view", str(path), "--screenshot", str(png), "--at", "3"],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"wrote {png}" in result.stdout
    with Image.open(png) as image:
        assert image.size == (1600, 1000)
        colours = np.asarray(image.convert("RGB"))
    for side in ("left", "right"):  # the skeleton is in it
        assert near_colour(colours, rgba255(SIDE_COLOURS[side]), 3).sum() > 50, side


def test_painting_keeps_references_to_none(app: object) -> None:
    """The installed PySide6 does not drop references to None while painting.

    PySide6 6.12.0 on Python 3.11 drops one per Python paint call (about 60 per frame here),
    and the interpreter aborts once None's few thousand references are gone. 300 frames:
    at most 100 references lost (other code holds and releases a few).
    """
    with window_for(viewer_data(synthetic_trial(with_2d=False))) as window:
        before = sys.getrefcount(None)
        for frame in range(300):
            window.seek_frame(frame)
            QApplication.processEvents()
        assert before - sys.getrefcount(None) < 100


def _on_screen(window: object) -> np.ndarray:
    """What the X server shows of the window (H, W, 3): the pixels Qt flushed to it."""
    for _ in range(5):  # let the last paints and flushes arrive
        QApplication.processEvents()
        time.sleep(0.01)
    image = QApplication.primaryScreen().grabWindow(0).toImage()
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    raw = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    rows = raw.reshape(image.height(), image.bytesPerLine())
    screen = rows[:, : 3 * image.width()].reshape(image.height(), image.width(), 3)
    at = window.mapToGlobal(QPoint(0, 0))
    return screen[at.y() : at.y() + window.height(), at.x() : at.x() + window.width()].copy()


def test_playback_repaints_leave_no_trace(app: object) -> None:
    """After playing, zooming and resizing, the screen shows what a full repaint shows.

    The sagittal panel and the plots repaint only the pixels the moving pose, labels and
    cursors covered and now cover, from a still picture of the rest; a missed pixel would
    leave an old cursor or pose on the screen. Compared pixel for pixel (the GL view apart)
    with the window painted anew.
    """
    data = viewer_data(synthetic_trial(("good_hinge", "squat_hinge"), with_2d=False))
    with window_for(data) as window:
        n = window.playback.n_frames

        def play(first: int, last: int) -> None:
            for frame in range(first, last, 3):
                window.seek_frame(frame)
                QApplication.processEvents()

        play(0, n // 3)
        window.plots.plots[0].setXRange(1.0, 6.0, padding=0)  # as the mouse wheel does
        play(n // 3, 2 * n // 3)
        window.resize(1400, 900)
        play(2 * n // 3, n)
        shown = _on_screen(window)
        painted = pixels(window)
        for name, widget in (("sagittal", window.sagittal.widget), ("plots", window.plots.widget)):
            at = widget.mapTo(window, QPoint(0, 0))
            part = np.s_[at.y() : at.y() + widget.height(), at.x() : at.x() + widget.width()]
            differ = np.any(shown[part] != painted[part], axis=-1)
            assert not differ.any(), (name, int(differ.sum()), np.argwhere(differ)[:5])


def test_the_3d_view_renders_every_frame_shown(app: object) -> None:
    """Each frame shown renders the GL view once, at once (not after Qt's update delay)."""
    with window_for(viewer_data(synthetic_trial(with_2d=False))) as window:
        QApplication.processEvents()
        swaps = []
        window.scene.view.frameSwapped.connect(lambda: swaps.append(1))
        for frame in range(1, 51):  # frame 0 is shown already
            window.seek_frame(frame)
            assert len(swaps) == frame  # rendered before the event loop ran
            QApplication.processEvents()
        time.sleep(0.05)  # Qt's update timer (5 ms) finds nothing more to render
        QApplication.processEvents()
        assert len(swaps) == 50


def test_window_shows_a_live_session_and_its_grab_to_display_latency(app: object) -> None:
    """A live session in memory: the newest frame shown, grab-to-display latency on screen.

    The frame is published 0.25 s after its grab, so its latency on screen is at least
    0.25 s and at most that plus the time the test waited for the window to show it.
    """
    session = FakeSession()
    feed = LiveFeed(session)
    start = time.monotonic() - 0.25 - 1.0
    for k in range(30):
        session.publish(k, start + k / 30, k)
    with window_for(feed.wait_first(5.0), feed) as window:
        published = time.monotonic()
        session.publish(30, published - 0.25, 30)
        end = published + 20
        while "on screen" not in window.status_text() and time.monotonic() < end:
            QApplication.processEvents()
            time.sleep(0.01)
        waited = time.monotonic() - published
        assert window.playback.n_frames == 31
        assert window.playback.frame == 30  # the newest
        (latency,) = feed.display_latency_s()
        assert 0.25 <= latency <= 0.25 + waited
        assert window.status_text().startswith(session.status_line() + "; on screen")
    feed.close()
    assert feed.display_summary() == (
        f"on screen: 1 updates, {latency * 1000:.0f} ms after the grab "
        f"(p95 {latency * 1000:.0f} ms)"
    )
