"""run.py, behind the README's two commands: Python version choice and exit codes."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_run() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hingelab_run", ROOT / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_python_313_without_alternative_gets_a_clear_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = _load_run()
    monkeypatch.setattr(run.sys, "version_info", (3, 13, 0, "final", 0))
    monkeypatch.setattr(run.shutil, "which", lambda _name: None)
    with pytest.raises(SystemExit) as stop:
        run.find_supported_python()
    message = str(stop.value)
    assert "Python 3.10, 3.11 or 3.12" in message
    assert "this is Python 3.13" in message
    assert "mediapipe 0.10.21" in message


def test_python_313_uses_a_supported_python_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    run = _load_run()
    monkeypatch.setattr(run.sys, "version_info", (3, 13, 0, "final", 0))
    found = {"python3.11": "/usr/bin/python3.11"}
    monkeypatch.setattr(run.shutil, "which", found.get)
    assert run.find_supported_python() == "/usr/bin/python3.11"


def test_supported_python_is_used_as_is() -> None:
    run = _load_run()
    assert run.find_supported_python() == sys.executable


def test_no_tests_collected_fails_the_test_command() -> None:
    """Exit 5 from pytest (no tests ran) comes out of run.py, so .ci/run fails on it."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "test", "-k", "no_test_has_this_name_xyz", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 5, result.stdout[-2000:] + result.stderr[-2000:]


def test_unknown_command_prints_usage() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "deploy"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "usage: python3 run.py demo" in result.stderr
