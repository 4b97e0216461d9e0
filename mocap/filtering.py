"""Zero-lag smoothing of 3D keypoint trajectories: spikes, short gaps, noise.

Every function takes and returns (T, J, 3) arrays sampled at a constant ``fps``; NaN marks
a missing point (a point with any NaN coordinate counts as missing in all three). The
steps, in the order :func:`smooth_trajectories` applies them:

1. :func:`median_prefilter` (optional): each coordinate becomes the median of the finite
   values in a centred window of ``window`` frames, which removes spikes up to
   ``window // 2`` frames long (a triangulation that picked a wrong view) and leaves
   monotonic motion unchanged.
2. :func:`fill_gaps`: a gap of at most ``max_gap_s`` (missing frames / fps) between two
   finite samples of a keypoint is filled by a not-a-knot cubic spline through the finite
   samples of its *segment* (the stretch of that keypoint whose gaps are all short
   enough), so a cubic trajectory is filled exactly. Longer gaps and the missing frames
   before the first and after the last sample stay NaN.
3. :func:`butterworth_lowpass`: a Butterworth low-pass run forwards and backwards
   (``scipy.signal.sosfiltfilt``: zero phase, squared magnitude response) over every finite
   run of a keypoint longer than filtfilt's edge padding; shorter runs are left unfiltered
   and counted.

The Python loops run over keypoint segments and runs, never over frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.interpolate import CubicSpline
from scipy.signal import butter, sosfiltfilt

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


@dataclass(frozen=True, eq=False)
class GapFill:
    """Result of :func:`fill_gaps`.

    Attributes
    ----------
    points3d : (T, J, 3) float64 array
        The trajectories with short gaps filled.
    gaps_filled : int
        Gaps filled (over all keypoints).
    frames_filled : int
        Keypoint-frames filled.
    """

    points3d: FloatArray
    gaps_filled: int
    frames_filled: int


@dataclass(frozen=True, eq=False)
class Lowpass:
    """Result of :func:`butterworth_lowpass`.

    Attributes
    ----------
    points3d : (T, J, 3) float64 array
        The filtered trajectories; NaN where the input was.
    runs_filtered : int
        Finite runs (over all keypoints) that were filtered.
    runs_unfiltered : int
        Finite runs too short for filtfilt's padding, left as they were.
    frames_unfiltered : int
        Keypoint-frames in those short runs.
    """

    points3d: FloatArray
    runs_filtered: int
    runs_unfiltered: int
    frames_unfiltered: int


@dataclass(frozen=True, eq=False)
class Smoothing:
    """Result of :func:`smooth_trajectories`: the points and what each step did.

    Attributes
    ----------
    points3d : (T, J, 3) float64 array
        The smoothed trajectories.
    gaps_filled, frames_filled : int
        As in :class:`GapFill` (0 when gap filling is off).
    runs_filtered, runs_unfiltered, frames_unfiltered : int
        As in :class:`Lowpass` (0 when the low-pass is off).
    """

    points3d: FloatArray
    gaps_filled: int
    frames_filled: int
    runs_filtered: int
    runs_unfiltered: int
    frames_unfiltered: int


def _checked(points3d: NDArray) -> FloatArray:
    """``points3d`` as a float64 (T, J, 3) copy with every partly-NaN point fully NaN."""
    points = np.array(points3d, dtype=np.float64)
    if points.ndim != 3 or points.shape[2] != 3:
        msg = f"points3d must be (T, J, 3), got shape {points.shape}"
        raise ValueError(msg)
    points[~np.isfinite(points).all(axis=-1)] = np.nan
    return points


def _check_fps(fps: float) -> float:
    """``fps`` as a float, or a ValueError unless finite and > 0."""
    if not 0 < fps < math.inf:
        msg = f"fps must be finite and > 0, got {fps}"
        raise ValueError(msg)
    return float(fps)


def median_prefilter(points3d: NDArray, window: int) -> FloatArray:
    """Centred running median of each coordinate over ``window`` frames.

    The window holds, for frame t, its k nearest finite samples before t and its k
    nearest after t within ``window // 2`` frames, k as large as both sides allow: it
    reaches across short gaps and shrinks symmetrically at the ends, so the median of
    monotonic motion is always the centre sample (no shift), and a spike next to a gap is
    removed too. A first or last sample has no window and is unchanged.

    Parameters
    ----------
    points3d : (T, J, 3) float array
        Trajectories; NaN = missing.
    window : int
        Odd number of frames (1: unchanged).

    Returns
    -------
    (T, J, 3) float64 array
        Filtered trajectories, NaN exactly where the input's points were.
    """
    points = _checked(points3d)
    if isinstance(window, bool) or not isinstance(window, int) or window < 1 or window % 2 == 0:
        msg = f"the median window must be an odd number of frames >= 1, got {window!r}"
        raise ValueError(msg)
    half = window // 2
    padded = np.pad(points, ((half, half), (0, 0), (0, 0)), constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, window, axis=0)  # (T, J, 3, w)
    finite = np.isfinite(windows[:, :, 0])  # (T, J, w); frame t is at index half
    before = np.cumsum(finite[..., half - 1 :: -1], axis=-1)[..., ::-1]  # nearest first
    after = np.cumsum(finite[..., half + 1 :], axis=-1)
    k = np.minimum(before[..., :1], after[..., -1:])  # samples per side, (T, J, 1)
    keep = finite.copy()
    keep[..., :half] &= before <= k
    keep[..., half + 1 :] &= after <= k
    chosen = np.where(keep[:, :, None], windows, np.nan)
    ordered = np.sort(chosen, axis=-1)  # NaN last: the 2k + 1 chosen samples first
    median = np.take_along_axis(ordered, k[:, :, None], axis=-1)[..., 0]
    return np.where(np.isfinite(points), median, np.nan)


def _segments(valid: NDArray[np.bool_], max_gap: int) -> list[tuple[int, IntArray, IntArray]]:
    """Per keypoint, the segments to fill: (keypoint, finite frames, missing frames to fill).

    ``valid`` is (T, J); a segment's gaps are each at most ``max_gap`` frames long.
    """
    out = []
    for joint in np.nonzero(valid.any(axis=0))[0]:
        frames = np.nonzero(valid[:, joint])[0]
        gap = np.diff(frames) - 1
        breaks = np.nonzero(gap > max_gap)[0] + 1
        for segment in np.split(frames, breaks):
            if segment.size < 2 or segment[-1] - segment[0] + 1 == segment.size:
                continue  # one sample, or no gap inside
            missing = np.setdiff1d(np.arange(segment[0], segment[-1] + 1), segment)
            out.append((int(joint), segment, missing))
    return out


def fill_gaps(points3d: NDArray, fps: float, max_gap_s: float) -> GapFill:
    """Fill the short gaps of every keypoint with cubic splines.

    Parameters
    ----------
    points3d : (T, J, 3) float array
        Trajectories; NaN = missing.
    fps : float
        Frame rate, Hz.
    max_gap_s : float
        Longest gap filled, seconds: ``round(max_gap_s * fps)`` missing frames (0: none).

    Returns
    -------
    GapFill
        The filled (T, J, 3) trajectories and how many gaps and frames were filled.
    """
    points = _checked(points3d)
    fps = _check_fps(fps)
    if not 0 <= max_gap_s < math.inf:
        msg = f"max_gap_s must be finite and >= 0, got {max_gap_s}"
        raise ValueError(msg)
    max_gap = round(max_gap_s * fps)
    if max_gap == 0:
        return GapFill(points, 0, 0)
    valid = np.isfinite(points[..., 0])
    gaps = frames = 0
    for joint, known, missing in _segments(valid, max_gap):
        spline = CubicSpline(known / fps, points[known, joint], axis=0, bc_type="not-a-knot")
        points[missing, joint] = spline(missing / fps)
        frames += missing.size
        gaps += int(np.count_nonzero(np.diff(missing) > 1)) + 1
    return GapFill(points, gaps, frames)


def _runs(valid: NDArray[np.bool_]) -> tuple[IntArray, IntArray, IntArray]:
    """Finite runs of (T, J) ``valid``: keypoint, first frame and end frame (exclusive) each."""
    edges = np.diff(np.pad(valid, ((1, 1), (0, 0))).astype(np.int8), axis=0).T  # (J, T + 1)
    joint, start = np.nonzero(edges == 1)  # both sorted by keypoint, then frame
    _, stop = np.nonzero(edges == -1)
    return joint, start, stop


def butterworth_lowpass(points3d: NDArray, fps: float, cutoff_hz: float, order: int = 4) -> Lowpass:
    """Zero-lag Butterworth low-pass of every finite run of every keypoint.

    Parameters
    ----------
    points3d : (T, J, 3) float array
        Trajectories; NaN = missing.
    fps : float
        Frame rate, Hz.
    cutoff_hz : float
        The filter's -3 dB frequency (of one pass; the forward-backward pass has -6 dB
        there), below fps / 2.
    order : int
        Order of the Butterworth filter applied in each direction.

    Returns
    -------
    Lowpass
        The filtered trajectories (NaN where the input was) and the runs filtered or too
        short (at most ``3 * (2 * sections + 1)`` frames) to filter.
    """
    points = _checked(points3d)
    fps = _check_fps(fps)
    if not 0 < cutoff_hz < fps / 2:
        msg = f"the cut-off must be between 0 and fps / 2 = {fps / 2:g} Hz, got {cutoff_hz}"
        raise ValueError(msg)
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        msg = f"the filter order must be an integer >= 1, got {order!r}"
        raise ValueError(msg)
    sos = butter(order, cutoff_hz, btype="lowpass", fs=fps, output="sos")
    zeros = min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    padlen = 3 * (2 * len(sos) + 1 - zeros)  # sosfiltfilt's default: needs a longer run
    joint, start, stop = _runs(np.isfinite(points[..., 0]))
    long_enough = stop - start > padlen
    # keypoints sharing a run (the whole trial, typically) are filtered together
    spans = np.stack([start, stop], axis=1)[long_enough]
    for first, end in np.unique(spans, axis=0) if spans.size else ():
        columns = joint[long_enough][(spans[:, 0] == first) & (spans[:, 1] == end)]
        points[first:end, columns] = sosfiltfilt(sos, points[first:end, columns], axis=0)
    short = ~long_enough
    return Lowpass(
        points3d=points,
        runs_filtered=int(long_enough.sum()),
        runs_unfiltered=int(short.sum()),
        frames_unfiltered=int((stop - start)[short].sum()),
    )


def smooth_trajectories(
    points3d: NDArray,
    fps: float,
    *,
    lowpass: bool = True,
    cutoff_hz: float = 6.0,
    order: int = 4,
    max_gap_s: float = 0.1,
    median_window: int = 0,
) -> Smoothing:
    """Median pre-filter, gap filling and zero-lag low-pass, in that order.

    Parameters
    ----------
    points3d : (T, J, 3) float array
        Trajectories; NaN = missing.
    fps : float
        Frame rate, Hz.
    lowpass : bool
        Apply the Butterworth low-pass (:func:`butterworth_lowpass`).
    cutoff_hz, order : float, int
        Its cut-off and order.
    max_gap_s : float
        Longest gap filled (:func:`fill_gaps`; 0: none).
    median_window : int
        Frames of the median pre-filter (:func:`median_prefilter`; 0 or 1: none).

    Returns
    -------
    Smoothing
        The (T, J, 3) trajectories and what each step did.
    """
    points = _checked(points3d)
    if median_window:
        points = median_prefilter(points, median_window)
    filled = fill_gaps(points, fps, max_gap_s)
    if not lowpass:
        return Smoothing(filled.points3d, filled.gaps_filled, filled.frames_filled, 0, 0, 0)
    low = butterworth_lowpass(filled.points3d, fps, cutoff_hz, order)
    return Smoothing(
        points3d=low.points3d,
        gaps_filled=filled.gaps_filled,
        frames_filled=filled.frames_filled,
        runs_filtered=low.runs_filtered,
        runs_unfiltered=low.runs_unfiltered,
        frames_unfiltered=low.frames_unfiltered,
    )
