"""A Motion-JPEG AVI writer whose file stays playable when the process is killed.

OpenCV's ``VideoWriter`` keeps frames in user-space buffers and writes the AVI index only
when released, so a killed recording leaves an empty or unreadable file. This writer
writes each :meth:`MjpegAvi.flush` straight to the file descriptor (the kernel keeps it
when the process dies) and then patches the header's sizes and frame count, so the file
is a complete AVI after every flush; :meth:`MjpegAvi.close` adds the ``idx1`` index.
Frames are JPEG-encoded by the caller (``cv2.imencode``), which keeps this module free of
image code.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

_AVIH = "<IIIIIIIIII16x"  # MainAVIHeader, 56 bytes
_STRH = "<4s4sIHHIIIIIIIIhhhh"  # AVIStreamHeader, 56 bytes
_STRF = "<IiiHH4sIiiII"  # BITMAPINFOHEADER, 40 bytes
_KEYFRAME = 0x10
_HAS_INDEX = 0x10


def _chunk(fourcc: bytes, data: bytes) -> bytes:
    """A RIFF chunk: id, little-endian size, data, a pad byte when the size is odd."""
    pad = b"\0" if len(data) % 2 else b""
    return fourcc + struct.pack("<I", len(data)) + data + pad


def _header(size: tuple[int, int], fps: float, frames: int, movi_size: int) -> bytes:
    """``RIFF AVI`` header, ``hdrl`` list and the ``movi`` list's start; fixed length."""
    width, height = size
    rate = round(fps * 1000)
    avih = struct.pack(_AVIH, round(1e6 / fps), 0, 0, _HAS_INDEX, frames, 0, 1, 0, width, height)
    strh = struct.pack(
        _STRH, b"vids", b"MJPG", 0, 0, 0, 0, 1000, rate, 0, frames, 0, 0xFFFFFFFF, 0,
        0, 0, width, height,
    )  # fmt: skip
    strf = struct.pack(_STRF, 40, width, height, 1, 24, b"MJPG", width * height * 3, 0, 0, 0, 0)
    strl = b"strl" + _chunk(b"strh", strh) + _chunk(b"strf", strf)
    hdrl = b"hdrl" + _chunk(b"avih", avih) + _chunk(b"LIST", strl)
    head = _chunk(b"LIST", hdrl) + b"LIST" + struct.pack("<I", movi_size) + b"movi"
    riff_size = 4 + len(head) + movi_size - 4
    return b"RIFF" + struct.pack("<I", riff_size) + b"AVI " + head


class MjpegAvi:
    """One camera's video: JPEG frames appended to an AVI that is valid after each flush.

    Parameters
    ----------
    path : str or PathLike
        The ``.avi`` file to create (replaced if present).
    size : (2,) tuple of int
        Frame (width, height), pixels.
    fps : float
        Nominal frame rate written into the header, Hz.
    """

    def __init__(self, path: str | os.PathLike[str], size: tuple[int, int], fps: float) -> None:
        self.path = Path(path)
        self.size = (int(size[0]), int(size[1]))
        self.fps = float(fps) if fps and fps > 0 else 30.0
        self.frames = 0
        self._index: list[tuple[int, int]] = []  # (offset from "movi", size) per frame
        self._pending: list[bytes] = []
        self._movi_size = 4  # the "movi" fourcc itself
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self._head_len = len(self._head())
        os.write(self._fd, self._head())

    def _head(self) -> bytes:
        return _header(self.size, self.fps, self.frames, self._movi_size)

    def add(self, jpeg: bytes) -> None:
        """Queue one JPEG-encoded frame; it reaches the file at the next :meth:`flush`."""
        self._pending.append(_chunk(b"00dc", jpeg))
        self._index.append((self._movi_size, len(jpeg)))
        self._movi_size += len(self._pending[-1])

    def flush(self) -> int:
        """Write the queued frames, then the header that counts them; the number written."""
        data = b"".join(self._pending)
        written = len(self._pending)
        self._pending.clear()
        os.lseek(self._fd, 0, os.SEEK_END)
        _write_all(self._fd, data)
        self.frames += written
        os.lseek(self._fd, 0, os.SEEK_SET)
        _write_all(self._fd, self._head())
        return written

    def close(self) -> None:
        """Flush, append the ``idx1`` index and close the file."""
        self.flush()
        entries = b"".join(
            struct.pack("<4sIII", b"00dc", _KEYFRAME, offset, size) for offset, size in self._index
        )
        os.lseek(self._fd, 0, os.SEEK_END)
        _write_all(self._fd, _chunk(b"idx1", entries))
        riff_size = os.lseek(self._fd, 0, os.SEEK_END) - 8
        os.lseek(self._fd, 4, os.SEEK_SET)
        _write_all(self._fd, struct.pack("<I", riff_size))
        os.close(self._fd)


def _write_all(fd: int, data: bytes) -> None:
    """``os.write`` until every byte of ``data`` is written."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
