"""Run the viewer: the Qt application, the window, screenshots (``mocap view``).

Nothing happens at import: :func:`application` creates the ``QApplication`` when asked.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from viewer.data import load
from viewer.live import FileFollower, signature

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from viewer.window import ViewerWindow

WINDOW_SIZE = (1600, 1000)
"""Pixels; screenshots have this size."""


def prepare_environment() -> None:
    """Undo what other packages set for their own Qt, before the ``QApplication`` exists.

    opencv-contrib-python points ``QT_QPA_PLATFORM_PLUGIN_PATH`` at its bundled Qt 5
    plugins on import; PySide6 (Qt 6) cannot load them and would not start.
    """
    os.environ.pop("QT_QPA_PLATFORM_PLUGIN_PATH", None)


def display_problem() -> str:
    """Why no window can be shown here, in one sentence ("" when a display is available)."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.startswith(("offscreen", "minimal")):
        return f"QT_QPA_PLATFORM={platform} cannot create an OpenGL context; unset it"
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return "no display (DISPLAY is not set); on a server run it under Xvfb (xvfb-run)"
    return ""


def qt_problem(pyside_version: str, python: tuple[int, int]) -> str:
    """Why this PySide6 cannot run the viewer on this Python ("" when it can).

    PySide6 6.12.0 on Python 3.11 drops a reference to ``None`` each time Qt calls a
    Python method such as ``paintEvent`` (measured: one per call; 6.11.3 none). ``None``
    starts with a few thousand references, so a window crashes the interpreter within
    seconds of playback ("deallocating None"). Python 3.12 made ``None`` immortal.
    """
    if pyside_version == "6.12.0" and python < (3, 12):
        return (
            "PySide6 6.12.0 crashes on Python 3.11 (it loses references to None); install "
            "another version: pip install 'PySide6-Essentials<6.12'"
        )
    return ""


def application() -> QApplication:
    """The process's ``QApplication`` (created on the first call).

    Raises
    ------
    RuntimeError
        For a PySide6 that cannot run the viewer here (:func:`qt_problem`).
    """
    prepare_environment()
    import pyqtgraph as pg  # noqa: PLC0415 (Qt only once a window is wanted)
    import PySide6  # noqa: PLC0415
    from PySide6 import QtCore  # noqa: PLC0415

    problem = qt_problem(PySide6.__version__, sys.version_info[:2])
    if problem:
        raise RuntimeError(problem)

    if QtCore.QCoreApplication.instance() is None:
        # One GL context group: pyqtgraph caches shader programs per class, so a second
        # window (tests, screenshots) must see the first one's programs.
        share = QtCore.Qt.ApplicationAttribute.AA_ShareOpenGLContexts
        QtCore.QCoreApplication.setAttribute(share)
    pg.setConfigOptions(antialias=False, background="k", foreground="w")
    return pg.mkQApp("HingeLab viewer")


def dispose(window: ViewerWindow) -> None:
    """Close and delete a window now, with its GL view and context.

    Deleted at once (not with ``deleteLater``) and in Qt's order: left to the garbage
    collector, the GL window's Python wrapper can delete it before its container, and a
    window alive at interpreter exit can crash it (PySide6 with pyqtgraph's GL items).
    """
    import gc  # noqa: PLC0415

    import shiboken6  # noqa: PLC0415

    window.close()
    if shiboken6.isValid(window):
        shiboken6.delete(window)
    gc.collect()


def open_window(path: str | os.PathLike[str], follow: bool = True) -> ViewerWindow:
    """Read and analyse a trial file and open its window (not shown yet).

    Parameters
    ----------
    path : path-like
        The trial file (also one still being written).
    follow : bool
        Watch the file and show frames added to it (live sessions).
    """
    application()
    from viewer.window import ViewerWindow  # noqa: PLC0415

    before = signature(Path(path))
    data = load(path)
    follower = FileFollower(path, loaded=before) if follow else None
    window = ViewerWindow(data, follower)
    window.resize(*WINDOW_SIZE)
    return window


def run_viewer(
    path: str | os.PathLike[str], screenshot: str | os.PathLike[str] | None = None, at: float = 0.0
) -> Path | None:
    """Show a trial file until the window is closed, or write a screenshot and return.

    Parameters
    ----------
    path : path-like
        The trial file.
    screenshot : path-like, optional
        Write the window at time ``at`` to this PNG and return without waiting.
    at : float
        Seconds from the first frame (the frame nearest to it is shown).

    Returns
    -------
    Path or None
        The screenshot written, if any.

    Raises
    ------
    RuntimeError
        When no display is available (:func:`display_problem`).
    """
    problem = display_problem()
    if problem:
        raise RuntimeError(problem)
    app = application()  # RuntimeError for a PySide6 that crashes
    window = open_window(path, follow=screenshot is None)
    window.seek_time(at)
    window.show()
    written = None
    try:
        if screenshot is not None:
            written = window.screenshot(screenshot)
        else:
            app.exec()
    finally:
        dispose(window)
    return written
