"""Viewer redraw speed on a 20,000-frame trial, under Xvfb (started here), against its fps.

Usage: ``.venv/bin/python benchmarks/viewer.py [--frames 20000] [--fps 120] [--play 1200]``

A synthetic session (the demo's five motions repeated, exact 3D, 4 cameras) is written to
a temporary trial file and opened in the 1600x1000 window. Then:

1. per part, over ``--play`` consecutive frames: the cost of one frame's update of the
   3D view (new vertex arrays, GL render and buffer swap), the sagittal panel and the time
   plots (update and repaint of the whole panel, each alone), and the play bar and rep
   table (update, repaint of both whole);
2. redraw: every frame in turn shown in the whole window as fast as it goes (update,
   then Qt paints and flushes the window): frames per second, and how many of them the 3D
   view rendered (it renders a frame when it is shown; before, Qt's update timer rendered
   it 5 ms later, so frames shown sooner were never rendered);
3. real-time playback: the window's own timer for ``--seconds`` at 1x: frames drawn per
   second and frames skipped (playback keeps to the clock and skips frames it cannot draw),
   and how many frames per second the 3D view rendered (its buffer swaps: a frame shown
   while the view's previous render was still pending is not rendered on its own).

Prints each against the video's frame rate (120 fps: 8.3 ms per frame). Mesa's llvmpipe
renders on the CPU, so the numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from calibration.toml_io import CalibrationMetadata, calibration_to_toml  # noqa: E402
from datasets.synthetic import DEMO_MOTIONS, make_scene  # noqa: E402
from mocap.trial import Trial, write_trial  # noqa: E402


def _die_with_parent() -> None:
    """In the child: SIGTERM when the benchmark dies, so no Xvfb is left behind (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG


def start_xvfb() -> tuple[subprocess.Popen, str]:
    """Xvfb on a free display (it picks the number itself), 1600x1000, 24 bit."""
    executable = shutil.which("Xvfb")
    if executable is None:
        sys.exit("Xvfb is not installed: apt-get install xvfb libgl1-mesa-dri")
    read_end, write_end = os.pipe()
    command = [executable, "-displayfd", str(write_end), "-screen", "0", "1600x1000x24"]
    process = subprocess.Popen(
        [*command, "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 (no threads yet)
    )
    os.close(write_end)
    with os.fdopen(read_end) as stream:
        ready, _, _ = select.select([stream], [], [], 20.0)
        number = stream.readline().strip() if ready else ""
    if not number.isdigit():
        process.kill()
        sys.exit("Xvfb did not start")
    return process, f":{number}"


def long_trial(path: Path, n_frames: int, fps: float) -> Path:
    """A trial of ``n_frames`` frames: the demo's motions repeated, exact 3D, 4 cameras."""
    reps_needed = int(np.ceil(n_frames / (4.7 * fps))) + 1  # a rep with its pause: ~4.7 s
    motions = DEMO_MOTIONS * int(np.ceil(reps_needed / len(DEMO_MOTIONS)))
    scene = make_scene(motions, n_cameras=4, fps=fps, seed=0)
    points = scene.points3d[:n_frames]
    shape = points.shape[:2]
    n_views = np.full(shape, 4, dtype=np.uint8)
    n_views[::97, 25] = 1  # a few faded points, as in real data
    trial = Trial(
        fps,
        scene.keypoint_names,
        scene.rig.names,
        scene.session.times[:n_frames],
        points3d=points,
        n_views=n_views,
        reprojection_error=np.zeros(shape, dtype=np.float32),
        calibration_toml=calibration_to_toml(scene.rig, CalibrationMetadata.now()),
    )
    return write_trial(path, trial)


def timed(step: Callable[[int], object], frames: np.ndarray) -> np.ndarray:
    """Milliseconds of ``step(frame)`` for each frame."""
    out = np.empty(len(frames))
    for k, frame in enumerate(frames):
        start = time.perf_counter()
        step(int(frame))
        out[k] = 1000.0 * (time.perf_counter() - start)
    return out


def part_steps(window: object) -> dict[str, Callable[[int], None]]:
    """One frame's update and repaint of each part alone."""
    from PySide6 import QtCore, QtGui  # noqa: PLC0415

    view = window.scene.view
    swaps = []
    view.frameSwapped.connect(lambda: swaps.append(1))
    request = QtCore.QEvent.Type.UpdateRequest

    def scene3d(i: int) -> None:
        before = len(swaps)
        window.scene.show_frame(i)  # renders and swaps the frame itself
        if len(swaps) == before:  # a viewer that leaves the render to Qt's update timer
            QtGui.QGuiApplication.sendEvent(view, QtCore.QEvent(request))

    def sagittal(i: int) -> None:
        window.sagittal.show_frame(i)
        window.sagittal.widget.viewport().repaint()

    def plots(i: int) -> None:
        window.plots.show_time(float(window.data.times[i]))
        window.plots.widget.viewport().repaint()

    def readout(i: int) -> None:
        window.playback.seek_frame(i)
        window._show_readout()
        window.bar.repaint()
        window.table.viewport().repaint()

    return {"3D view": scene3d, "sagittal": sagittal, "plots": plots, "play bar, table": readout}


def realtime(window: object, start: int, seconds: float) -> tuple[int, int, int, float]:
    """Play at 1x with the window's timer for ``seconds``.

    Returns
    -------
    drawn, rendered, advanced : int
        Frames drawn (shown in the window), frames the 3D view rendered (its buffer swaps),
        and frames of video played (drawn or skipped).
    elapsed : float
        Seconds from the start of playback to the last frame drawn.
    """
    from PySide6 import QtCore  # noqa: PLC0415

    drawn, swaps = [], []
    original = window.show_frame

    def counting(index: int, force: bool = False) -> None:
        if index != window._shown or force:
            drawn.append(time.perf_counter())
        original(index, force)

    window.show_frame = counting
    view = window.scene.view
    view.frameSwapped.connect(lambda: swaps.append(time.perf_counter()))
    window.seek_frame(start)
    began = time.perf_counter()
    window.toggle()
    loop = QtCore.QEventLoop()  # not app.exec/quit: Qt 6's quit() closes the windows
    QtCore.QTimer.singleShot(round(1000 * seconds), loop.quit)
    loop.exec()
    window.toggle()
    window.show_frame = original
    end = drawn[-1]
    rendered = sum(began <= t <= end for t in swaps)
    return len(drawn), rendered, window.playback.frame - start, end - began


def report(name: str, ms: np.ndarray, budget_ms: float) -> str:
    median, p95 = np.median(ms), np.percentile(ms, 95)
    share = 100 * median / budget_ms
    return f"  {name:<16} {median:7.2f} {p95:7.2f}   {share:5.0f} % of a frame"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20_000, help="frames in the trial")
    parser.add_argument("--fps", type=float, default=120.0, help="the trial's frame rate")
    parser.add_argument("--play", type=int, default=1200, help="frames timed per measure")
    parser.add_argument("--seconds", type=float, default=5.0, help="real-time playback")
    args = parser.parse_args()
    xvfb, display = start_xvfb()
    os.environ.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
    try:
        run(args)
    finally:
        close_application()  # before its X server goes: Qt exits when the connection breaks
        xvfb.terminate()
        xvfb.wait(timeout=10)


def close_application() -> None:
    """Delete the QApplication, if one was made."""
    widgets = sys.modules.get("PySide6.QtWidgets")
    app = None if widgets is None else widgets.QApplication.instance()
    if app is not None:
        import shiboken6  # noqa: PLC0415

        app.processEvents()
        shiboken6.delete(app)


def run(args: argparse.Namespace) -> None:
    from viewer.app import application, dispose, open_window  # noqa: PLC0415

    app = application()
    with tempfile.TemporaryDirectory() as folder:
        path = long_trial(Path(folder) / "long.h5", args.frames, args.fps)
        start = time.perf_counter()
        window = open_window(path, follow=False)
        window.show()
        app.processEvents()
        opened = time.perf_counter() - start
    budget = 1000.0 / min(args.fps, 120.0)
    first = args.frames // 3
    frames = np.arange(first, min(first + args.play, args.frames))
    print(f"viewer benchmark: {args.frames} frames at {args.fps:g} fps, window 1600x1000, Xvfb")
    print(f"opened (read, hinge analysis, window) in {opened:.2f} s")
    print(f"per frame, {len(frames)} consecutive frames   median    p95  (ms)")
    for name, step in part_steps(window).items():
        print(report(name, timed(step, frames), budget))

    def whole(i: int) -> None:
        window.seek_frame(i)
        app.processEvents()

    swaps = []
    window.scene.view.frameSwapped.connect(lambda: swaps.append(1))
    ms = timed(whole, frames)
    print(report("whole window", ms, budget))
    print(
        f"redraw: {1000 / ms.mean():.0f} frames per second (every frame drawn, as fast as "
        f"it goes; the 3D view rendered {len(swaps)} of the {len(frames)}) against the "
        f"video's {args.fps:g} fps"
    )
    drawn, rendered, advanced, seconds = realtime(window, first, args.seconds)
    print(
        f"real-time playback at 1x for {seconds:.1f} s: {drawn / seconds:.0f} frames drawn per "
        f"second, {advanced / seconds:.0f} frames of video per second "
        f"({100 * max(0.0, 1 - drawn / max(advanced, 1)):.0f} % skipped to keep to the clock); "
        f"the 3D view rendered {rendered / seconds:.0f} per second"
    )
    dispose(window)


if __name__ == "__main__":
    main()
