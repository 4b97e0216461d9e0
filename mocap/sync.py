"""Frame timestamps of a recording and the pairing of frames into synchronized sets.

Without timestamps, frame ``i`` of every camera is the same instant. With them, frames are
grouped by time: a *synchronized set* holds at most one frame per camera, all taken within
half a frame period of each other, and sets are numbered 0, 1, ... in time order.

Timestamp files (seconds on any clock shared by the cameras):

- caliscope's ``timestamps.csv``: header ``sync_index,cam_id,frame_time``; ``cam_id`` N is
  the camera (video) ``cam_N``; the rows of a camera are in the order of its frames, so its
  k-th row is its frame k. ``sync_index`` (caliscope's own pairing) is not used.
- HingeLab's layout: header ``camera,frame,time``, either one ``timestamps.csv`` for all
  cameras or one ``<camera>.csv`` per camera (which may leave out the ``camera`` column).

Pairing (:func:`pair_frames`), pure numpy: all frames of all cameras are sorted by time; a
set starts at the earliest frame not yet in a set and takes every later frame less than
half a frame period after it (the period is the median interval between a camera's
consecutive frames). A camera with two frames in one set keeps the one nearest to the
set's median time; the other frame is unpaired. Sets seen by fewer than ``min_cameras``
cameras are dropped and their frames counted as unpaired. This recovers the true sets
whenever every set's spread (jitter plus clock offsets) stays below a quarter period.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from calibration.files import read_text

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

TIMESTAMPS_FILE = "timestamps.csv"
"""Name of the single timestamp file of a recording folder."""

CALISCOPE_HEADER = ("sync_index", "cam_id", "frame_time")
"""Columns of caliscope's ``timestamps.csv``."""

HINGELAB_HEADER = ("camera", "frame", "time")
"""Columns of HingeLab's timestamp files (per-camera files may omit ``camera``)."""


class TimestampError(ValueError):
    """A timestamp file that cannot be used; the message names the file and the camera."""


@dataclass(frozen=True, eq=False)
class FrameTimes:
    """When each frame of one camera was taken.

    Attributes
    ----------
    camera : str
        Camera name (the stem of its video or image folder).
    frames : (F,) int64 array
        Frame indices in the camera's video, increasing.
    times : (F,) float64 array
        Time of each frame, seconds, non-decreasing.
    source : str
        File the times were read from (for messages).
    """

    camera: str
    frames: IntArray
    times: FloatArray
    source: str = "<memory>"

    def __post_init__(self) -> None:
        frames = np.array(self.frames, dtype=np.int64).ravel()
        times = np.array(self.times, dtype=np.float64).ravel()
        where = f"{self.source}: camera {self.camera!r}"
        if frames.shape != times.shape:
            raise TimestampError(f"{where}: {len(frames)} frame indices, {len(times)} times")
        if not np.all(np.isfinite(times)):
            raise TimestampError(f"{where}: times must be finite numbers")
        if np.any(frames < 0) or np.any(np.diff(frames) <= 0):
            raise TimestampError(f"{where}: frame indices must be >= 0 and increasing")
        if np.any(np.diff(times) < 0):
            raise TimestampError(f"{where}: times must not decrease from frame to frame")
        frames.flags.writeable = False
        times.flags.writeable = False
        object.__setattr__(self, "frames", frames)
        object.__setattr__(self, "times", times)

    def __len__(self) -> int:
        return len(self.frames)


@dataclass(frozen=True, eq=False)
class FramePairing:
    """Frames of several cameras grouped into synchronized sets.

    Attributes
    ----------
    set_of : mapping of str to (mapping of int to int)
        Per camera, its own frame index -> synchronized set index (unpaired frames absent).
    set_times : (S,) float64 array
        Median time of each set's frames, seconds, increasing.
    unpaired : mapping of str to int
        Per camera, how many of its timed frames are in no set.
    period_s : float
        Frame period used, seconds.
    """

    set_of: Mapping[str, Mapping[int, int]]
    set_times: FloatArray
    unpaired: Mapping[str, int]
    period_s: float

    @property
    def n_sets(self) -> int:
        """Number of synchronized sets S."""
        return len(self.set_times)

    def describe(self) -> str:
        """One line: sets, period and unpaired frames per camera."""
        lost = ", ".join(f"{name} {count}" for name, count in self.unpaired.items())
        return (
            f"{self.n_sets} synchronized frame sets (period {1000 * self.period_s:.1f} ms); "
            f"unpaired frames: {lost}"
        )


# ----------------------------------------------------------------------------- reading


def _rows(path: Path) -> tuple[tuple[str, ...], list[list[str]]]:
    """Header (stripped column names) and data rows of a CSV file."""
    lines = read_text(path, "timestamp file", TimestampError).splitlines()
    table = [row for row in csv.reader(lines) if any(cell.strip() for cell in row)]
    if not table:
        raise TimestampError(f"{path}: empty file (expected a header line)")
    return tuple(cell.strip() for cell in table[0]), table[1:]


def _number(path: Path, line: int, text: str, kind: type[int] | type[float]) -> float:
    """``text`` as an int or float, or a TimestampError naming the file and line."""
    try:
        return kind(text.strip())
    except ValueError:
        name = "an integer" if kind is int else "a number"
        raise TimestampError(f"{path} line {line}: expected {name}, got {text!r}") from None


def _columns(
    path: Path, header: tuple[str, ...], rows: list[list[str]], names: Sequence[str]
) -> list[tuple[int, list[str]]]:
    """(line number, cells of ``names`` in that order) for every data row."""
    index = [header.index(name) for name in names]
    out = []
    for line, row in enumerate(rows, start=2):
        if len(row) != len(header):
            msg = f"{path} line {line}: {len(row)} fields, the header has {len(header)}"
            raise TimestampError(msg)
        out.append((line, [row[i] for i in index]))
    return out


def _caliscope(path: Path, header: tuple[str, ...], rows: list[list[str]]) -> dict[str, FrameTimes]:
    """The caliscope layout: ``cam_id`` N is camera ``cam_N``, its rows in frame order."""
    times: dict[str, list[float]] = {}
    for line, (cam_id, time) in _columns(path, header, rows, ("cam_id", "frame_time")):
        camera = f"cam_{int(_number(path, line, cam_id, int))}"
        times.setdefault(camera, []).append(_number(path, line, time, float))
    return {
        camera: FrameTimes(camera, np.arange(len(values)), np.array(values), str(path))
        for camera, values in sorted(times.items())
    }


def _hingelab(
    path: Path, header: tuple[str, ...], rows: list[list[str]], camera: str | None
) -> dict[str, FrameTimes]:
    """HingeLab's layout; ``camera`` names the file's camera when it has no camera column."""
    table: dict[str, list[tuple[int, float]]] = {}
    with_camera = "camera" in header
    columns = HINGELAB_HEADER if with_camera else HINGELAB_HEADER[1:]
    for line, cells in _columns(path, header, rows, columns):
        name = cells[0].strip() if with_camera else str(camera)
        if camera is not None and name != camera:
            raise TimestampError(f"{path} line {line}: camera {name!r} in the file of {camera!r}")
        frame = int(_number(path, line, cells[-2], int))
        table.setdefault(name, []).append((frame, _number(path, line, cells[-1], float)))
    out = {}
    for name, pairs in table.items():
        pairs.sort()
        frames = [frame for frame, _ in pairs]
        if len(set(frames)) != len(frames):
            raise TimestampError(f"{path}: camera {name!r} lists a frame twice")
        out[name] = FrameTimes(name, np.array(frames), np.array([t for _, t in pairs]), str(path))
    return out


def read_timestamps(
    path: str | os.PathLike[str], camera: str | None = None
) -> dict[str, FrameTimes]:
    """Read a timestamp file of either layout (see the module doc).

    Parameters
    ----------
    path : str or PathLike
        ``timestamps.csv`` (caliscope's or HingeLab's layout) or a per-camera ``<camera>.csv``.
    camera : str, optional
        The camera of a per-camera file (its stem); required when the file has no
        ``camera`` column, checked against it otherwise.

    Returns
    -------
    dict of str to FrameTimes
        Per camera, in the file's order of first appearance (caliscope: by ``cam_id``).

    Raises
    ------
    TimestampError
        Naming the file (and line) for an unknown header, a bad number or a repeated frame.
    """
    path = Path(path)
    header, rows = _rows(path)
    if set(CALISCOPE_HEADER) <= set(header):
        return _caliscope(path, header, rows)
    if set(HINGELAB_HEADER) <= set(header) or (
        camera is not None and set(HINGELAB_HEADER[1:]) <= set(header)
    ):
        times = _hingelab(path, header, rows, camera)
        if not times:
            raise TimestampError(f"{path}: no timestamps after the header")
        return times
    raise TimestampError(
        f"{path}: unknown header {','.join(header)!r}; expected "
        f"{','.join(CALISCOPE_HEADER)!r} (caliscope) or {','.join(HINGELAB_HEADER)!r}"
    )


def _is_timestamp_csv(path: Path) -> bool:
    """Whether ``path``'s first line is a per-camera timestamp header."""
    try:
        with path.open(encoding="utf-8", newline="") as stream:
            first = next(csv.reader(stream), [])
    except (OSError, UnicodeDecodeError):
        return False
    header = {cell.strip() for cell in first}
    return set(HINGELAB_HEADER[1:]) <= header and len(header) <= len(HINGELAB_HEADER)


def _check_cameras(times: Mapping[str, FrameTimes], cameras: Sequence[str], where: str) -> None:
    """Refuse timestamps for a camera without video, or a camera without timestamps."""
    extra = [name for name in times if name not in cameras]
    if extra:
        raise TimestampError(f"{where}: camera {extra[0]!r} has timestamps but no video")
    missing = [name for name in cameras if name not in times]
    if missing:
        raise TimestampError(f"{where}: no timestamps for camera {missing[0]!r}")


def find_timestamps(
    folder: str | os.PathLike[str], cameras: Sequence[str]
) -> dict[str, FrameTimes] | None:
    """The timestamps of a recording folder, or None when it has none.

    ``timestamps.csv`` is read when present, else every ``<camera>.csv`` whose header is
    ``frame,time`` or ``camera,frame,time`` (other CSV files are ignored).

    Parameters
    ----------
    folder : str or PathLike
        The recording folder.
    cameras : sequence of str
        Names of the cameras found there (video or image-folder stems).

    Returns
    -------
    dict of str to FrameTimes or None
        Per camera, in the order of ``cameras``.

    Raises
    ------
    TimestampError
        A camera with timestamps but no video, or a video without timestamps (named).
    """
    folder = Path(folder)
    single = folder / TIMESTAMPS_FILE
    if single.is_file():
        times = read_timestamps(single)
        _check_cameras(times, cameras, str(single))
        return {name: times[name] for name in cameras}
    files = sorted(p for p in folder.glob("*.csv") if _is_timestamp_csv(p))
    if not files:
        return None
    times = {}
    for path in files:
        times.update(read_timestamps(path, camera=path.stem))
    _check_cameras(times, cameras, str(folder))
    return {name: times[name] for name in cameras}


# ----------------------------------------------------------------------------- pairing


def estimate_period(times: Mapping[str, FrameTimes]) -> float:
    """Frame period, seconds: the median interval between consecutive frames of a camera.

    Intervals of all cameras are pooled; a frame index gap of ``g`` counts as ``g``
    periods (dropped frames that kept their index do not lengthen the estimate).

    Raises
    ------
    TimestampError
        When no camera has two frames, or the median is not positive.
    """
    steps = [np.diff(t.times) / np.diff(t.frames) for t in times.values() if len(t) >= 2]
    if not steps:
        raise TimestampError("cannot estimate the frame period: no camera has two timed frames")
    period = float(np.median(np.concatenate(steps)))
    if not period > 0:
        raise TimestampError(f"frame period must be positive, the median interval is {period}")
    return period


def _cluster(sorted_times: FloatArray, window: float) -> IntArray:
    """Cluster id (E,) of each sorted time: a cluster spans less than ``window``."""
    ids = np.empty(len(sorted_times), dtype=np.int64)
    cluster, anchor = -1, -np.inf
    for i, time in enumerate(sorted_times.tolist()):
        if time - anchor >= window:
            cluster, anchor = cluster + 1, time
        ids[i] = cluster
    return ids


def _keep_nearest(cluster: IntArray, camera: IntArray, times: FloatArray) -> NDArray[np.bool_]:
    """(E,) True for the frame of each (cluster, camera) nearest to its cluster's median."""
    bounds = np.flatnonzero(np.diff(cluster)) + 1
    medians = np.array([np.median(part) for part in np.split(times, bounds)])
    distance = np.abs(times - medians[cluster])
    order = np.lexsort((distance, camera, cluster))
    first = np.ones(len(order), dtype=bool)
    same = (np.diff(cluster[order]) == 0) & (np.diff(camera[order]) == 0)
    first[1:] = ~same
    keep = np.zeros(len(order), dtype=bool)
    keep[order] = first
    return keep


def _set_times(sorted_times: FloatArray, cluster: IntArray, keep: NDArray[np.bool_]) -> FloatArray:
    """(S,) median time of the kept frames (E,) of each kept cluster, in time order."""
    if not keep.any():
        return np.zeros(0)
    bounds = np.flatnonzero(np.diff(cluster[keep])) + 1
    return np.array([np.median(part) for part in np.split(sorted_times[keep], bounds)])


def _pooled(times: Mapping[str, FrameTimes]) -> tuple[FloatArray, IntArray, IntArray]:
    """Time (E,), camera index (E,) and frame (E,) of every frame, sorted by time (stable)."""
    all_times = np.concatenate([t.times for t in times.values()])
    camera = np.concatenate([np.full(len(t), i) for i, t in enumerate(times.values())])
    frames = np.concatenate([t.frames for t in times.values()])
    order = np.argsort(all_times, kind="stable")
    return all_times[order], camera[order].astype(np.int64), frames[order]


def pair_frames(
    times: Mapping[str, FrameTimes], period_s: float | None = None, min_cameras: int = 1
) -> FramePairing:
    """Group the frames of several cameras into synchronized sets by time.

    Parameters
    ----------
    times : mapping of str to FrameTimes
        Per camera, the times of its frames (clocks shared between cameras).
    period_s : float, optional
        Frame period, seconds (default :func:`estimate_period`); frames less than half of
        it apart can share a set.
    min_cameras : int
        Sets seen by fewer cameras are dropped (their frames count as unpaired).

    Returns
    -------
    FramePairing
        Sets numbered in time order; per camera its frame -> set mapping and the number
        of its frames left out.
    """
    period = estimate_period(times) if period_s is None else float(period_s)
    names = list(times)
    if not names or sum(len(t) for t in times.values()) == 0:
        return FramePairing(MappingProxyType({}), np.zeros(0), MappingProxyType({}), period)
    sorted_times, camera, frames = _pooled(times)
    cluster = _cluster(sorted_times, period / 2)
    keep = _keep_nearest(cluster, camera, sorted_times)
    seen = np.bincount(cluster[keep], minlength=cluster[-1] + 1)  # cameras per cluster
    kept_clusters = np.flatnonzero(seen >= max(min_cameras, 1))
    keep &= np.isin(cluster, kept_clusters)
    number = np.full(cluster[-1] + 1, -1, dtype=np.int64)
    number[kept_clusters] = np.arange(len(kept_clusters))
    set_index = number[cluster]
    set_times = _set_times(sorted_times, cluster, keep)
    set_of, unpaired = {}, {}
    for i, name in enumerate(names):
        mine = keep & (camera == i)
        set_of[name] = MappingProxyType(
            dict(zip(frames[mine].tolist(), set_index[mine].tolist(), strict=True))
        )
        unpaired[name] = int(np.count_nonzero(camera == i) - np.count_nonzero(mine))
    set_times.flags.writeable = False
    return FramePairing(
        MappingProxyType(set_of), set_times.reshape(-1), MappingProxyType(unpaired), period
    )
