"""Following a trial file that is still being written (a live session, HDF5 SWMR).

:class:`FileFollower` watches the file's size and modification time; when they change it
re-reads and re-analyses the file in a background thread (the window keeps drawing) and
hands the result to the next :meth:`FileFollower.poll`. ``read_trial`` returns a live
file's complete frames; :meth:`viewer.playback.Playback.extend` then decides which frame
to show (the newest while following). No Qt here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from viewer.data import ViewerData, load

LIVE_FOR_S = 5.0
"""A file that changed within this many seconds counts as being written."""

Signature = tuple[int, int]


class Follower(Protocol):
    """What the window needs of a growing trial.

    A file being written (:class:`FileFollower`) or a live session in memory
    (``viewer.live_feed.LiveFeed``).
    """

    poll_ms: int
    """How often the window polls, milliseconds."""
    error: str
    """The last rebuild's error ("" when it worked)."""

    @property
    def live(self) -> bool:
        """Whether new frames are still coming."""

    @property
    def status(self) -> str:
        """A line for the status bar ("" for the default "live: N frames so far")."""

    def poll(self) -> ViewerData | None:
        """New data when a rebuild finished, else None."""

    def shown(self, data: ViewerData) -> None:
        """The window has just drawn ``data`` (live latency is measured here)."""

    def close(self) -> None:
        """Stop following."""


def signature(path: Path) -> Signature | None:
    """(size, modification time in ns) of ``path``; None when it cannot be read."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


class FileFollower:
    """Reload a trial file whenever it changes, off the GUI thread.

    Parameters
    ----------
    path : path-like
        The trial file.
    loaded : tuple of int, optional
        The signature (:func:`signature`) of the data already shown.
    loader : callable, optional
        Reads and analyses a file (default :func:`viewer.data.load`).
    """

    poll_ms = 250

    def __init__(
        self,
        path: str | os.PathLike[str],
        loaded: Signature | None = None,
        loader: Callable[[Path], ViewerData] = load,
    ) -> None:
        self.path = Path(path)
        self.loader = loader
        self.loaded = loaded
        """The signature of the data handed out last."""
        self.error = ""
        """The last reload's error ("" when it worked)."""
        self.changed_at = -float("inf")
        self._pending: tuple[Future[ViewerData], Signature] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trial-reload")

    @property
    def live(self) -> bool:
        """Whether the file changed in the last :data:`LIVE_FOR_S` seconds."""
        return time.monotonic() - self.changed_at < LIVE_FOR_S

    def poll(self) -> ViewerData | None:
        """The newly loaded data if a reload finished, else None; starts one if needed."""
        result = None
        if self._pending is not None and self._pending[0].done():
            future, sig = self._pending
            self._pending = None
            try:
                result = future.result()
                self.loaded, self.error = sig, ""
            except (OSError, ValueError) as exc:  # a reader racing the writer; retried
                self.error = str(exc)
                self.loaded = sig
        current = signature(self.path)
        if self._pending is None and current is not None and current != self.loaded:
            self.changed_at = time.monotonic()
            self._pending = (self._executor.submit(self.loader, self.path), current)
        return result

    @property
    def status(self) -> str:
        """Nothing beyond the window's default live line."""
        return ""

    def shown(self, data: ViewerData) -> None:
        """Nothing to measure for a file."""

    def close(self) -> None:
        """Stop the reload thread (waits for a reload in progress)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
