"""What a recording measures: per-camera frame rate, dropped frames, and sync spread.

Pure numpy over the grab times of each camera (:class:`mocap.sync.FrameTimes`). Frames
are grouped into synchronized sets by :func:`mocap.sync.pair_frames` (nearest time within
half a frame period), the same pairing calibration and processing use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mocap.sync import FramePairing, FrameTimes, TimestampError, estimate_period, pair_frames


@dataclass(frozen=True)
class CameraStats:
    """One camera over a stretch of a recording.

    Attributes
    ----------
    frames : int
        Frames grabbed.
    fps : float
        Achieved rate, Hz: (frames - 1) / (last - first time); NaN with fewer than 2.
    dropped : int
        Frames missing from the timestamp gaps: an interval of ``k`` periods (rounded)
        means ``k - 1`` frames lost.
    """

    frames: int
    fps: float
    dropped: int


@dataclass(frozen=True)
class SyncStats:
    """Synchronized sets of a stretch of a recording.

    Attributes
    ----------
    sets : int
        Synchronized sets S.
    complete : int
        Sets holding a frame of every camera.
    spread_median_ms, spread_max_ms : float
        Median and largest spread (last minus first frame time) of the sets seen by two
        cameras or more, milliseconds; NaN when there is none.
    period_s : float
        Frame period used, seconds.
    """

    sets: int
    complete: int
    spread_median_ms: float
    spread_max_ms: float
    period_s: float


def dropped_frames(times: NDArray[np.float64], period_s: float) -> int:
    """Frames lost between consecutive grab times (F,) of one camera at ``period_s``."""
    if len(times) < 2:
        return 0
    steps = np.rint(np.diff(times) / period_s).astype(np.int64)
    return int(np.sum(np.maximum(steps - 1, 0)))


def camera_stats(times: FrameTimes, period_s: float) -> CameraStats:
    """Frames, achieved rate and drops of one camera's (F,) grab times."""
    t = times.times
    span = float(t[-1] - t[0]) if len(t) >= 2 else 0.0
    fps = (len(t) - 1) / span if span > 0 else float("nan")
    return CameraStats(len(t), fps, dropped_frames(t, period_s))


def set_spreads(times: Mapping[str, FrameTimes], pairing: FramePairing) -> NDArray[np.float64]:
    """(S,) spread of each set, seconds: latest minus earliest frame time; NaN if 1 camera."""
    earliest = np.full(pairing.n_sets, np.inf)
    latest = np.full(pairing.n_sets, -np.inf)
    count = np.zeros(pairing.n_sets, dtype=np.int64)
    for name, frames in times.items():
        mapping = pairing.set_of[name]
        position = {frame: i for i, frame in enumerate(frames.frames.tolist())}
        sets = np.array(list(mapping.values()), dtype=np.int64)
        when = frames.times[[position[f] for f in mapping]] if mapping else np.zeros(0)
        np.minimum.at(earliest, sets, when)
        np.maximum.at(latest, sets, when)
        np.add.at(count, sets, 1)
    return np.where(count >= 2, latest - earliest, np.nan)


def sync_stats(
    times: Mapping[str, FrameTimes], period_s: float | None = None
) -> tuple[FramePairing, SyncStats]:
    """Pair the frames of all cameras and measure the sets' spread.

    Parameters
    ----------
    times : mapping of str to FrameTimes
        Per camera, its grab times.
    period_s : float, optional
        Frame period, seconds (default: :func:`mocap.sync.estimate_period`).
    """
    period = period_s if period_s is not None else estimate_period(times)
    pairing = pair_frames(times, period_s=period)
    spreads = set_spreads(times, pairing) * 1000.0
    counts = np.zeros(pairing.n_sets, dtype=np.int64)
    for mapping in pairing.set_of.values():
        np.add.at(counts, np.array(list(mapping.values()), dtype=np.int64), 1)
    seen = spreads[np.isfinite(spreads)]
    median = float(np.median(seen)) if len(seen) else float("nan")
    largest = float(np.max(seen)) if len(seen) else float("nan")
    complete = int(np.count_nonzero(counts == len(times)))
    return pairing, SyncStats(pairing.n_sets, complete, median, largest, period)


def safe_period(times: Mapping[str, FrameTimes], fallback: float) -> float:
    """The frame period of ``times`` (median interval), or ``fallback`` before 2 frames."""
    try:
        return estimate_period(times)
    except TimestampError:
        return fallback
