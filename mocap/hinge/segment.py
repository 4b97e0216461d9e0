"""Finding reps and the standing frames before each, robustly on noisy data.

Two passes (``docs/hinge-metrics.md``, "Finding reps"):

1. A provisional hip flexion is computed in a frame taken from each frame's own hips
   (no standing baseline needed yet) and median-filtered. Reps are its peaks that rise at
   least ``min_peak_deg`` above the higher of the valleys around them (scipy's peak
   prominence, so slow drifts and lean-backs do not matter), at least
   ``min_separation_s`` apart. The signal is padded at both ends, so a movement cut by
   the start or end of the recording is a peak too, and is then skipped with a reason.
2. Before each peak, in the valley since the previous one: the standing level is the
   median of the *quiet* frames (hip flexion varying by less than ``quiet_range_deg``
   within ``quiet_window_s``) in the lower half of the valley; the movement's onset is
   the last frame before the peak within ``max(onset_deg, onset_fraction x excursion)``
   of that level. The standing frames are the quiet frames within ``standing_tol_deg`` of
   the level and ``margin_s`` from any other frame, in the ``standing_window_s`` that
   ends ``guard_s`` before the onset (else the last such frames of the valley).

The rep's own frame, baseline, bottom, start and end then come from these standing frames
(:mod:`mocap.hinge.analysis`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter1d, median_filter, minimum_filter1d
from scipy.signal import find_peaks

from mocap.hinge.frame import FloatArray
from mocap.hinge.series import IndexArray


@dataclass(frozen=True)
class SegmentationSettings:
    """How reps and standing frames are found (defaults suit 30-120 fps hinge sessions).

    Attributes
    ----------
    min_peak_deg : float
        A rep's hip flexion rises at least this much above the valleys around it.
    min_separation_s : float
        Peaks closer than this are one rep (the higher counts).
    smooth_s : float
        Median filter of the provisional hip flexion (only for finding reps).
    quiet_window_s, quiet_range_deg : float
        A frame is quiet when hip flexion varies by less than ``quiet_range_deg`` in the
        ``quiet_window_s`` around it.
    standing_tol_deg : float
        Standing frames are within this of the standing level.
    margin_s : float
        ... and at least this far from any frame that is not.
    standing_window_s : float
        Length of the baseline: the standing frames in this window before the rep.
    guard_s : float
        The window ends this long before the detected onset of the movement.
    onset_deg, onset_fraction : float
        The onset is where hip flexion exceeds the standing level by
        ``max(onset_deg, onset_fraction x the rep's excursion)``.
    min_standing_frames : int
        A rep with fewer standing frames before it is skipped (and said so).
    """

    min_peak_deg: float = 20.0
    min_separation_s: float = 1.0
    smooth_s: float = 0.1
    quiet_window_s: float = 0.3
    quiet_range_deg: float = 4.0
    standing_tol_deg: float = 4.0
    margin_s: float = 0.1
    standing_window_s: float = 1.0
    guard_s: float = 0.25
    onset_deg: float = 3.0
    onset_fraction: float = 0.05
    min_standing_frames: int = 5

    def __post_init__(self) -> None:
        bad = [name for name, value in vars(self).items() if not value > 0]
        if bad:
            msg = f"segmentation settings must be > 0: {', '.join(bad)}"
            raise ValueError(msg)


@dataclass(frozen=True, eq=False)
class RepCandidate:
    """A peak of hip flexion and the standing frames before it.

    Attributes
    ----------
    peak : int
        Frame index of the provisional peak.
    standing : ndarray of int, shape (N,)
        Indices of the standing frames (N >= ``min_standing_frames``), increasing.
    """

    peak: int
    standing: IndexArray


def _odd(n_frames: float) -> int:
    """Nearest odd number of frames, at least 1."""
    return max(1, int(np.rint(n_frames)) // 2 * 2 + 1)


def _filled(signal: FloatArray) -> FloatArray:
    """``signal`` (T,) with NaN runs linearly interpolated (ends held)."""
    finite = np.isfinite(signal)
    index = np.arange(signal.size)
    return np.interp(index, index[finite], signal[finite])


def prepare(signal: FloatArray, fps: float, settings: SegmentationSettings) -> FloatArray:
    """Provisional hip flexion (T,) gap-filled and median-filtered; all NaN stays NaN."""
    if not np.isfinite(signal).any():
        return np.full_like(signal, np.nan)
    return median_filter(_filled(signal), size=_odd(settings.smooth_s * fps), mode="nearest")


def quiet_frames(h: FloatArray, fps: float, settings: SegmentationSettings) -> FloatArray:
    """Boolean (T,): hip flexion varies by less than ``quiet_range_deg`` around the frame."""
    size = _odd(settings.quiet_window_s * fps)
    spread = maximum_filter1d(h, size, mode="nearest") - minimum_filter1d(h, size, mode="nearest")
    return spread < settings.quiet_range_deg


def _level(h: FloatArray, quiet: FloatArray, valley: slice, peak: int) -> float | None:
    """Standing level: median of the quiet frames in the valley's lower half."""
    part, still = h[valley], quiet[valley]
    if not part.size:  # the trial starts at this peak (cut off): nothing before it
        return None
    low = part < part.min() + 0.5 * (h[peak] - part.min())
    chosen = part[still & low]
    return float(np.median(chosen)) if chosen.size else None


def _onset(h: FloatArray, valley: slice, peak: int, threshold: float) -> int | None:
    """Last frame of the valley at or below ``threshold`` before ``peak``."""
    below = np.flatnonzero(h[valley.start : peak] <= threshold)
    return valley.start + int(below[-1]) if below.size else None


def _standing(
    h: FloatArray,
    times: FloatArray,
    fps: float,
    quiet: FloatArray,
    valley: slice,
    peak: int,
    settings: SegmentationSettings,
) -> IndexArray | str:
    """Standing frames before ``peak`` in ``valley``, or why there are none."""
    level = _level(h, quiet, valley, peak)
    if level is None:
        return "no quiet standing before it"
    threshold = level + max(settings.onset_deg, settings.onset_fraction * (h[peak] - level))
    onset = _onset(h, valley, peak, threshold)
    if onset is None:
        return "it does not start from standing"
    index = np.arange(valley.start, onset + 1)
    end = times[onset] - settings.guard_s
    near = quiet[index] & (np.abs(h[index] - level) <= settings.standing_tol_deg)
    ok = _eroded(near, settings.margin_s * fps) & (times[index] <= end)
    candidates = index[ok]
    window = candidates[times[candidates] >= end - settings.standing_window_s]
    if window.size < settings.min_standing_frames:
        window = candidates[-_odd(settings.standing_window_s * fps) :]
    if window.size < settings.min_standing_frames:
        return f"fewer than {settings.min_standing_frames} standing frames before it"
    return window


def _eroded(mask: FloatArray, n_frames: float) -> FloatArray:
    """``mask`` (T,) without its frames closer than ``n_frames`` to a False frame."""
    size = 2 * int(np.rint(n_frames)) + 1
    return minimum_filter1d(mask.astype(np.uint8), size, mode="nearest").astype(bool)


def find_candidates(
    h: FloatArray, times: FloatArray, fps: float, settings: SegmentationSettings
) -> tuple[tuple[RepCandidate, ...], tuple[str, ...]]:
    """Reps of a prepared provisional hip flexion and the standing frames before each.

    Parameters
    ----------
    h : ndarray, shape (T,)
        Prepared provisional hip flexion (:func:`prepare`), degrees.
    times : ndarray, shape (T,)
        Seconds.
    fps : float
        Frame rate (sizes the windows).
    settings : SegmentationSettings

    Returns
    -------
    candidates : tuple of RepCandidate
        In time order.
    notes : tuple of str
        Why a peak was skipped, one sentence each.
    """
    if h.shape != times.shape or h.ndim != 1:
        msg = f"h {h.shape} and times {times.shape} must both be (T,)"
        raise ValueError(msg)
    if not np.isfinite(h).any():
        return (), ()
    distance = max(1, int(np.rint(settings.min_separation_s * fps)))
    low = np.nanmin(h)  # padded: a movement cut off by either end is a peak too (and skipped)
    padded = np.concatenate([[low], h, [low]])
    peaks, _ = find_peaks(padded, prominence=settings.min_peak_deg, distance=distance)
    peaks = np.clip(peaks - 1, 0, h.size - 1)
    quiet = quiet_frames(h, fps, settings)
    found, notes = [], []
    for i, peak in enumerate(peaks):
        valley = slice(int(peaks[i - 1]) if i else 0, int(peak))
        standing = _standing(h, times, fps, quiet, valley, int(peak), settings)
        if isinstance(standing, str):
            notes.append(f"the rep peaking at {times[peak]:.2f} s was skipped: {standing}")
        else:
            found.append(RepCandidate(int(peak), standing))
    return tuple(found), tuple(notes)


def standing_anywhere(h: FloatArray, fps: float, settings: SegmentationSettings) -> IndexArray:
    """Standing frames of a trial without reps: quiet frames near the quiet frames' median."""
    if not np.isfinite(h).any():
        return np.zeros(0, dtype=np.intp)
    quiet = quiet_frames(h, fps, settings)
    if not quiet.any():
        return np.zeros(0, dtype=np.intp)
    level = np.median(h[quiet])
    near = quiet & (np.abs(h - level) <= settings.standing_tol_deg)
    return np.flatnonzero(_eroded(near, settings.margin_s * fps))
