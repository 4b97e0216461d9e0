"""Live mode's numbers: 3D frame rate, grab-to-3D latency and the share of sets dropped.

:class:`mocap.live.LiveSession` records a :class:`FrameTiming` per 3D frame it publishes;
:func:`live_stats` sums them up (over the whole session or its last seconds) as
:class:`LiveStats`, the status line of ``mocap live``; :class:`LiveSummary` is a finished
session's end-of-session summary.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mocap.capture_results import RecordingResult


@dataclass(frozen=True)
class FrameTiming:
    """One 3D frame published: set number, time done, grab-to-3D latency, processing (s).

    ``processing_s`` runs from the set being taken to triangulated (detection included).
    """

    index: int
    done: float
    latency_s: float
    processing_s: float = float("nan")


@dataclass(frozen=True)
class LiveStats:
    """3D frames over a stretch of a live session.

    Attributes
    ----------
    frames : int
        3D frames published.
    seconds : float
        From the first to the last of them, seconds.
    latency_median_s, latency_p95_s : float
        Grab (the set's oldest frame) to triangulated, median and 95th percentile, seconds.
    sets : int
        Synchronized sets from the first to the last frame published, both included.
    """

    frames: int
    seconds: float
    latency_median_s: float
    latency_p95_s: float
    sets: int

    @property
    def fps(self) -> float:
        """3D frames per second (NaN with fewer than two)."""
        return (self.frames - 1) / self.seconds if self.seconds > 0 else float("nan")

    @property
    def dropped(self) -> int:
        """Sets not processed (stale when taken, or never complete)."""
        return self.sets - self.frames

    @property
    def dropped_share(self) -> float:
        """``dropped / sets`` (NaN without sets)."""
        return self.dropped / self.sets if self.sets else float("nan")

    def line(self, window_s: float | None = None) -> str:
        """``live: 3D 11.8 fps, latency 140 ms (p95 210 ms), dropped 63 %``.

        With fewer than two frames: how many, in the last ``window_s`` seconds or so far.
        """
        if self.frames < 2:
            when = "so far" if window_s is None else f"in the last {window_s:g} s"
            return f"live: {self.frames} 3D frames {when}"
        return (
            f"live: 3D {self.fps:.1f} fps, latency {1000 * self.latency_median_s:.0f} ms "
            f"(p95 {1000 * self.latency_p95_s:.0f} ms), dropped {100 * self.dropped_share:.0f} %"
        )


def live_stats(
    timings: Sequence[FrameTiming], window_s: float | None = None, now: float | None = None
) -> LiveStats:
    """The numbers of the frames published (in the ``window_s`` seconds before ``now``, or all).

    ``timings`` are in publishing order; ``now`` defaults to the last one's ``done``, so a
    session whose 3D stopped shows nothing in a window that ends at the present.
    """
    if window_s is not None and timings:
        since = (timings[-1].done if now is None else now) - window_s
        timings = timings[bisect.bisect_left(timings, since, key=lambda t: t.done) :]
    if not timings:
        return LiveStats(0, 0.0, float("nan"), float("nan"), 0)
    latency = np.array([t.latency_s for t in timings])
    return LiveStats(
        frames=len(timings),
        seconds=timings[-1].done - timings[0].done,
        latency_median_s=float(np.median(latency)),
        latency_p95_s=float(np.percentile(latency, 95)),
        sets=timings[-1].index - timings[0].index + 1,
    )


@dataclass(frozen=True)
class LiveSummary:
    """A finished live session.

    Attributes
    ----------
    stats : LiveStats
        Over the whole session.
    cameras : mapping of str to (int, str)
        Per camera, frames grabbed and why it stopped early ('' when it did not).
    views_lost : int
        Views of processed sets without keypoints: the frame had left its worker's ring,
        or the worker did not answer within ``reply_timeout_s``.
    recording : RecordingResult or None
        What was recorded (per-camera rate and drops, sync spread), with ``--record``.
    """

    stats: LiveStats
    cameras: Mapping[str, tuple[int, str]]
    views_lost: int = 0
    recording: RecordingResult | None = None

    def lines(self) -> list[str]:
        """The end-of-session summary."""
        s = self.stats
        out = [
            f"3D: {s.frames} frames in {s.seconds:.1f} s, {s.fps:.1f} fps; latency (grab to 3D) "
            f"median {1000 * s.latency_median_s:.0f} ms, p95 {1000 * s.latency_p95_s:.0f} ms; "
            f"{s.dropped} of {s.sets} sets dropped ({100 * s.dropped_share:.0f} %)"
        ]
        for name, (frames, stopped) in self.cameras.items():
            out.append(
                f"  {name}: {frames} frames grabbed" + (f"; stopped: {stopped}" if stopped else "")
            )
        if self.views_lost:
            out.append(f"  {self.views_lost} views lost (frame gone from its ring, or no answer)")
        if self.recording is not None:
            out.extend(self.recording.lines())
        return out
