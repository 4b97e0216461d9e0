"""Atomic file writes: a temporary file in the same folder, fsync, then rename.

A reader never sees half a file, and a failed write leaves any existing file untouched.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path.

    The temporary file is created with ``open(..., "xb")`` (not ``mkstemp``), so the
    result gets the usual permissions of the user's umask.

    Raises
    ------
    FileNotFoundError
        When the folder does not exist (the message names it).
    """
    path = Path(path)
    if not path.parent.is_dir():
        msg = f"cannot write {path}: folder {path.parent} does not exist"
        raise FileNotFoundError(msg)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with tmp.open("xb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` with Unix line endings to ``path`` atomically; returns the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))
