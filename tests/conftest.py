"""Shared fixtures."""

from __future__ import annotations

import os
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
