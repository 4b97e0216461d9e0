"""The installed HingeLab version, written into every file the toolkit makes."""

from __future__ import annotations

from importlib import metadata


def software_version() -> str:
    """Return ``"hingelab X.Y.Z"`` (``"hingelab unknown"`` when run from a bare checkout)."""
    try:
        return f"hingelab {metadata.version('hingelab')}"
    except metadata.PackageNotFoundError:
        return "hingelab unknown"
