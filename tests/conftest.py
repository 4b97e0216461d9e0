"""Shared fixtures."""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """The real recordings in ``../shared/datasets`` (see its README.md).

    Skips the test when the folder is absent, except in CI (``CI=true``), where that fails.
    """
    folder = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
    if not folder.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires ../shared/datasets ({folder} is missing)")
        pytest.skip(f"real datasets not available: {folder} is missing")
    return folder


XVFB_SCREEN = "1600x1000x24"
"""The virtual screen: as large as the viewer's window (viewer.app.WINDOW_SIZE)."""


PR_SET_PDEATHSIG = 1
"""prctl(2) option: the signal a process gets when its parent dies (Linux)."""


def _die_with_parent() -> None:
    """In the child: ask Linux to stop it (SIGTERM) when the process that started it dies.

    So a test process that crashes does not leave its Xvfb running.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _start_xvfb(executable: str) -> tuple[subprocess.Popen, str]:
    """Start Xvfb on a display number it picks itself (``-displayfd``); (process, ":N")."""
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        [executable, "-displayfd", str(write_end), "-screen", "0", XVFB_SCREEN, "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
    )
    os.close(write_end)
    with os.fdopen(read_end) as stream:  # Xvfb writes the number once it accepts clients
        ready, _, _ = select.select([stream], [], [], 20.0)
        number = stream.readline().strip() if ready else ""
    if not number.isdigit():
        process.kill()
        process.wait()
        raise RuntimeError(f"Xvfb did not start (exit code {process.poll()})")
    return process, f":{number}"


def _close_qt() -> None:
    """Delete the QApplication, if a test made one, while its X server still runs.

    Qt exits the process (code 1) when its X connection breaks, also at interpreter exit.
    """
    widgets = sys.modules.get("PySide6.QtWidgets")
    app = None if widgets is None else widgets.QApplication.instance()
    if app is None:
        return
    import shiboken6  # noqa: PLC0415 (only when Qt is loaded)

    app.closeAllWindows()
    app.processEvents()
    shiboken6.delete(app)


@pytest.fixture(scope="session")
def xvfb_display() -> Iterator[str]:
    """An X display for GUI tests: Xvfb with Mesa's OpenGL, started here, stopped after.

    Sets ``DISPLAY`` (and ``QT_QPA_PLATFORM=xcb``: Qt's offscreen platform has no OpenGL)
    for this process and the processes it starts. Skips the test when Xvfb is not
    installed, except in CI (``CI=true``), where that fails.
    """
    executable = shutil.which("Xvfb")
    if executable is None:
        reason = "Xvfb is not installed (apt-get install xvfb libgl1-mesa-dri; run.py does it)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires {reason}")
        pytest.skip(reason)
    process, display = _start_xvfb(executable)
    saved = {name: os.environ.get(name) for name in ("DISPLAY", "QT_QPA_PLATFORM")}
    os.environ.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
    try:
        yield display
    finally:
        _close_qt()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        process.terminate()
        process.wait(timeout=10)
