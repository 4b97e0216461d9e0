"""Playback state: the current frame and time, play/pause, speed, stepping, seeking, rep jump.

No Qt: the window's timer calls :meth:`Playback.tick` with the wall-clock time elapsed,
keys and clicks call the other methods, and every panel draws ``Playback.frame``.
Playback runs in real time times ``speed``: when drawing is slower than the frame rate,
frames are skipped rather than the clock slowing down.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

SPEEDS: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0)
"""Playback speeds offered (times real time)."""


@dataclass
class Playback:
    """Where playback is.

    Attributes
    ----------
    times : ndarray, shape (T,)
        Frame times, seconds, non-decreasing.
    frame : int
        The frame shown.
    playing : bool
    speed : float
        Times real time (one of :data:`SPEEDS`).
    following : bool
        Whether to stay on the newest frame when frames are added (live files): true while
        the last frame is shown.
    live : bool
        The file is being written: playback waits at its newest frame instead of stopping.
    """

    times: NDArray[np.float64]
    frame: int = 0
    playing: bool = False
    speed: float = 1.0
    following: bool = False
    live: bool = False
    """Set for a live file: playback waits at its newest frame instead of stopping."""
    clock: float = field(default=0.0, repr=False)
    """Continuous playback time between frames, seconds."""

    def __post_init__(self) -> None:
        self.times = np.asarray(self.times, dtype=float)
        self.seek_frame(self.frame)

    @property
    def n_frames(self) -> int:
        """Number of frames T."""
        return int(self.times.size)

    @property
    def time(self) -> float:
        """Time of the frame shown, seconds (0 without frames)."""
        return float(self.times[self.frame]) if self.n_frames else 0.0

    @property
    def last(self) -> int:
        """Index of the last frame (0 without frames)."""
        return max(self.n_frames - 1, 0)

    def seek_frame(self, frame: int) -> int:
        """Show ``frame`` (clipped to the trial); returns the frame shown."""
        self.frame = int(np.clip(frame, 0, self.last))
        self.clock = self.time
        self.following = self.frame == self.last  # also without frames: follow the first
        return self.frame

    def seek_time(self, seconds: float) -> int:
        """Show the frame nearest to ``seconds`` (a click on a plot); returns it."""
        if not self.n_frames:
            return 0
        i = int(np.searchsorted(self.times, seconds))
        candidates = [c for c in (i - 1, i) if 0 <= c <= self.last]
        return self.seek_frame(min(candidates, key=lambda c: abs(self.times[c] - seconds)))

    def step(self, frames: int) -> int:
        """Pause and move by ``frames`` (negative: back); returns the frame shown."""
        self.playing = False
        return self.seek_frame(self.frame + frames)

    def toggle(self) -> bool:
        """Play or pause; playing from the last frame starts again at the first."""
        if not self.playing and self.frame == self.last and not self.live:
            self.seek_frame(0)
        self.playing = not self.playing and self.n_frames > 1
        return self.playing

    def tick(self, elapsed_s: float) -> int:
        """Advance the clock by ``elapsed_s`` x speed while playing; returns the frame shown.

        Stops at the last frame, unless the file is live (then it waits there for more).
        """
        if not self.playing or not self.n_frames:
            return self.frame
        self.clock += elapsed_s * self.speed
        frame = int(np.searchsorted(self.times, self.clock, side="right")) - 1
        self.frame = int(np.clip(frame, 0, self.last))
        self.following = self.frame == self.last
        if self.following and not self.live:
            self.playing = False
        return self.frame

    def change_speed(self, steps: int) -> float:
        """Move ``steps`` along :data:`SPEEDS` (negative: slower); returns the new speed."""
        current = int(np.argmin([abs(s - self.speed) for s in SPEEDS]))
        self.speed = SPEEDS[int(np.clip(current + steps, 0, len(SPEEDS) - 1))]
        return self.speed

    def next_rep(self, starts: tuple[int, ...]) -> int:
        """Jump to the start of the first rep after the frame shown (stays if none)."""
        later = [s for s in starts if s > self.frame]
        return self.seek_frame(later[0]) if later else self.frame

    def previous_rep(self, starts: tuple[int, ...]) -> int:
        """Jump to the start of the last rep before the frame shown (stays if none)."""
        earlier = [s for s in starts if s < self.frame]
        return self.seek_frame(earlier[-1]) if earlier else self.frame

    def extend(self, times: NDArray[np.float64]) -> int:
        """New frame times (a live file grew, or was rewritten); returns the frame to show.

        While following, the newest frame; else the same frame (clipped to the new length).
        """
        follow = self.following
        playing, clock = self.playing, self.clock
        self.times = np.asarray(times, dtype=float)
        if follow:
            return self.seek_frame(self.last)
        self.seek_frame(self.frame)
        if playing:
            self.clock = clock
        return self.frame
