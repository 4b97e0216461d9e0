"""Reading and writing the calibration package's files.

Writes are atomic (a temporary file in the same folder, fsync, then rename): a reader
never sees half a file, and a failed write leaves any existing file untouched. Reads
turn a missing file or bad encoding into one message naming the file.
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


def read_bytes(path: str | os.PathLike[str], what: str) -> bytes:
    """Content of ``path``; a missing file raises FileNotFoundError("{what} not found: ...")."""
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        msg = f"{what} not found: {path}"
        raise FileNotFoundError(msg) from None


def read_text(path: str | os.PathLike[str], what: str, error: type[ValueError]) -> str:
    """UTF-8 text of ``path``; bad encoding raises ``error`` naming the file."""
    raw = read_bytes(path, what)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = f"{path}: not UTF-8 text: {exc}"
        raise error(msg) from None
