"""The numeric core imports no Qt, no pyqtgraph, no OpenGL and no MediaPipe.

Each check runs in a fresh interpreter whose import system refuses those packages, then
imports every module of ``calibration`` and ``datasets`` and every module of ``mocap``
except the adapters listed in ``MOCAP_ADAPTERS`` (hardware, detector, GUI glue).
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCKED = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "OpenGL", "mediapipe", "viewer")
MOCAP_ADAPTERS: frozenset[str] = frozenset({"mocap.__main__", "mocap.detectors.mediapipe_pose"})
"""Modules of mocap allowed to reach outside the core (none imports Qt yet)."""

BLOCKER = f"""
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {BLOCKED!r}:
            raise ImportError('numeric core imported ' + name)
        return None
sys.meta_path.insert(0, Block())
"""


def _modules(package: str) -> list[str]:
    """Every module of a top-level package, found on disk."""
    folder = ROOT / package
    names = [package]
    for info in pkgutil.walk_packages([str(folder)], prefix=f"{package}."):
        names.append(info.name)
    return [name for name in names if name not in MOCAP_ADAPTERS]


@pytest.mark.parametrize("package", ["calibration", "datasets", "mocap"])
def test_core_imports_without_gui_or_detector(package: str) -> None:
    modules = _modules(package)
    assert len(modules) >= 2, f"found no modules in {package}"
    code = BLOCKER + "".join(f"import {name}\n" for name in modules)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_blocker_really_blocks() -> None:
    """The check above can fail: importing a blocked package is refused."""
    code = BLOCKER + "import pyqtgraph\n"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "numeric core imported pyqtgraph" in result.stderr
