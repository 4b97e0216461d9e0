"""The hip-hinge analysis of a trial: reps, per-frame and per-rep metrics, pattern, faults.

:func:`analyse_trial` (or :func:`analyse_points` for bare arrays) is what a notebook calls::

    from mocap.hinge import analyse_trial, load_thresholds
    analysis = analyse_trial(read_trial("trial.h5"), thresholds=load_thresholds("faults.toml"))
    analysis.table()["hip_back_m"]          # one value per rep
    analysis.series["trunk_flexion_deg"]    # (T,) degrees

It never raises for unusable data: what is missing (landmarks, standing frames, reps) is
said in ``analysis.problems`` and the affected values are NaN. Every definition is in
``docs/hinge-metrics.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

from mocap.hinge.definitions import (
    DEFINITIONS_VERSION,
    FRAME_METRICS,
    LOCKOUT_WINDOW_S,
    REP_COLUMNS,
    REP_THRESHOLD,
    UNITS,
)
from mocap.hinge.faults import Fault, FaultThresholds, check_faults, pattern_of
from mocap.hinge.frame import BodyFrame, FloatArray, per_frame_frame, standing_frame
from mocap.hinge.landmarks import Landmarks, landmarks, missing_message
from mocap.hinge.segment import (
    RepCandidate,
    SegmentationSettings,
    find_candidates,
    prepare,
    standing_anywhere,
)
from mocap.hinge.series import IndexArray, frame_metrics, raw_hip_flexion
from mocap.trial import Trial
from mocap.trial_metrics import TrialMetrics

TIE_DEG = 0.01
"""Frames within this of the peak hip flexion all count as its maximum; the bottom is the
middle of that run (a held bottom is a plateau)."""

IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class RepResult:
    """One rep: its timing, metrics at the bottom, pattern and faults.

    Attributes
    ----------
    rep : int
        1-based number in the trial.
    start_s, bottom_s, end_s : float
        Start and end (hip flexion crossing 15 % of the rep's peak, interpolated between
        frames) and the bottom frame's time, seconds.
    start_index, bottom_index, end_index : int
        First frame above 15 %, bottom frame, last frame above 15 %.
    standing : (2,) tuple of int
        First and last standing frame of the rep's baseline.
    pattern : str
        ``"hinge"``, ``"squat"`` or ``""`` when the knee angle is unknown.
    values : mapping of str to float
        Every metric of ``REP_METRICS`` (NaN when its landmarks are missing).
    faults : tuple of Fault
        Faults raised, in ``FAULT_CODES`` order.
    unchecked : tuple of str
        Fault codes that could not be checked.
    """

    rep: int
    start_s: float
    bottom_s: float
    end_s: float
    start_index: int
    bottom_index: int
    end_index: int
    standing: tuple[int, int]
    pattern: str
    values: Mapping[str, float]
    faults: tuple[Fault, ...]
    unchecked: tuple[str, ...] = ()

    @property
    def fault_codes(self) -> str:
        """The faults' codes joined by ``;`` (``""`` when none)."""
        return ";".join(f.code for f in self.faults)

    def row(self) -> dict[str, object]:
        """The rep as one row of the per-rep table (``REP_COLUMNS``)."""
        timing = {"rep": self.rep, "start_s": self.start_s, "bottom_s": self.bottom_s}
        extra = {"end_s": self.end_s, "pattern": self.pattern, "faults": self.fault_codes}
        return {name: {**timing, **extra, **self.values}[name] for name in REP_COLUMNS}


@dataclass(frozen=True, eq=False)
class Baseline:
    """The body frame and standing frames a rep's per-frame series are relative to.

    Attributes
    ----------
    frame : BodyFrame
        The sagittal frame (constant axes, each (3,)): anterior x, right z, up = world +Z.
    standing : ndarray of int, shape (N,)
        Indices of the standing frames whose mean is the baseline (H0 is the hips' mean).
    """

    frame: BodyFrame
    standing: IndexArray


@dataclass(frozen=True, eq=False)
class HingeAnalysis:
    """The analysis of one trial.

    Attributes
    ----------
    times : ndarray, shape (T,)
        Seconds.
    series : mapping of str to ndarray, shape (T,)
        Every metric of ``FRAME_METRICS`` per frame, in the frame and relative to the
        baseline of the rep each frame belongs to (``baseline_rep``).
    rep_of_frame : ndarray of int, shape (T,)
        Number of the rep whose start..end holds the frame; 0 outside reps.
    baseline_rep : ndarray of int, shape (T,)
        Number of the rep whose frame and baseline ``series`` uses there; 0 when the
        trial has no rep (then the baseline is all standing frames, if any).
    reps : tuple of RepResult
        In time order.
    problems : tuple of str
        What is missing or was skipped, one sentence each (empty when all is well).
    thresholds : FaultThresholds
    settings : SegmentationSettings
    definitions_version : str
    baselines : mapping of int to Baseline
        The frame and standing frames of each number of ``baseline_rep`` (0: the
        baseline of a trial without reps, when it has standing frames).
    """

    times: FloatArray
    series: Mapping[str, FloatArray]
    rep_of_frame: IntArray
    baseline_rep: IntArray
    reps: tuple[RepResult, ...]
    problems: tuple[str, ...]
    thresholds: FaultThresholds = field(default_factory=FaultThresholds)
    settings: SegmentationSettings = field(default_factory=SegmentationSettings)
    definitions_version: str = DEFINITIONS_VERSION
    baselines: Mapping[int, Baseline] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.times.shape
        arrays = {**self.series, "rep_of_frame": self.rep_of_frame}
        arrays["baseline_rep"] = self.baseline_rep
        for name, values in arrays.items():
            if values.shape != n:
                msg = f"{name} has shape {values.shape}; expected (T,) = {n}"
                raise ValueError(msg)
            values.setflags(write=False)
        object.__setattr__(self, "series", MappingProxyType(dict(self.series)))
        object.__setattr__(self, "baselines", MappingProxyType(dict(self.baselines)))

    def baseline_at(self, index: int) -> Baseline | None:
        """The frame and standing frames ``series`` uses at frame ``index`` (None if none)."""
        return self.baselines.get(int(self.baseline_rep[index]))

    def table(self) -> dict[str, list]:
        """The per-rep table: ``REP_COLUMNS`` -> one value per rep."""
        rows = [rep.row() for rep in self.reps]
        return {name: [row[name] for row in rows] for name in REP_COLUMNS}

    def to_trial_metrics(self) -> TrialMetrics:
        """The analysis as the trial file's ``/metrics`` (series, table, thresholds)."""
        text = {"pattern", "faults"}
        reps = {
            name: np.array(values, dtype=object if name in text else None)
            for name, values in self.table().items()
        }
        frames = {"rep": self.rep_of_frame, "baseline_rep": self.baseline_rep, **self.series}
        settings = {
            f"segmentation.{f.name}": getattr(self.settings, f.name) for f in fields(self.settings)
        }
        attrs = {**self.thresholds.as_attrs(), **settings, "problems": "\n".join(self.problems)}
        units = {**UNITS, "baseline_rep": "1"}
        return TrialMetrics(self.definitions_version, frames, reps, units, attrs)


def _crossing(values: FloatArray, times: FloatArray, i: int, level: float) -> float:
    """Time where ``values`` crosses ``level`` between frames ``i`` and ``i + 1``."""
    v0, v1 = values[i], values[i + 1]
    return float(times[i] + (level - v0) / (v1 - v0) * (times[i + 1] - times[i]))


def _bottom(part: FloatArray) -> int:
    """Middle of the run of frames within TIE_DEG of the maximum, around the first maximum."""
    top = int(np.nanargmax(part))
    near = np.nan_to_num(part, nan=-np.inf) >= part[top] - TIE_DEG
    lo, hi = top, top
    while lo > 0 and near[lo - 1]:
        lo -= 1
    while hi < part.size - 1 and near[hi + 1]:
        hi += 1
    return (lo + hi) // 2


def _filled(values: FloatArray) -> FloatArray:
    """``values`` with NaN frames linearly interpolated (for finding crossings)."""
    finite = np.isfinite(values)
    index = np.arange(values.size)
    return np.interp(index, index[finite], values[finite])


def _window(hf: FloatArray, times: FloatArray, first: int, stop: int) -> tuple | str:
    """(start_s, start_i, bottom_i, end_s, end_i) of the rep in frames first..stop-1, or why not."""
    part = hf[first:stop]
    if not np.isfinite(part).any() or np.nanmax(part) <= 0:
        return "no hip flexion after its standing frames"
    b = _bottom(part)
    level = REP_THRESHOLD * part[b]
    filled = _filled(part)
    below = np.flatnonzero(filled[:b] <= level)
    after = np.flatnonzero(filled[b:] < level)
    if not below.size:
        return "it does not start from standing"
    if not after.size:
        return "its hip flexion does not come back below 15 % of its peak before the next rep"
    j, k = int(below[-1]), b + int(after[0]) - 1
    t = times[first:stop]
    return (
        _crossing(filled, t, j, level),
        first + j + 1,
        first + b,
        _crossing(filled, t, k, level),
        first + k,
    )


def _bounds(
    candidates: tuple[RepCandidate, ...], i: int, times: FloatArray
) -> tuple[int, int, int]:
    """Frames of rep ``i``: (lo, stop, hi).

    Its series are computed for frames lo..hi-1: from its first standing frame (frame 0
    for the first rep) to ``stop``, the next rep's first standing frame (or the end),
    plus a lockout window; the rep itself is searched for before ``stop``.
    """
    lo = 0 if i == 0 else int(candidates[i].standing[0])
    stop = int(candidates[i + 1].standing[0]) if i + 1 < len(candidates) else times.size
    hi = np.searchsorted(times, times[stop - 1] + LOCKOUT_WINDOW_S, side="right")
    return lo, stop, int(hi)


def _lockout(trunk: FloatArray, times: FloatArray, end_s: float) -> float:
    """Most negative trunk flexion in the LOCKOUT_WINDOW_S after ``end_s`` (NaN if none)."""
    window = trunk[(times > end_s) & (times <= end_s + LOCKOUT_WINDOW_S)]
    window = window[np.isfinite(window)]
    return float(window.min()) if window.size else float("nan")


def _rep_series(
    frame: BodyFrame, lm: Landmarks, standing: IndexArray, lo: int, hi: int
) -> dict[str, FloatArray]:
    """Per-frame metrics (T,) in one rep's frame and baseline, NaN outside frames lo..hi-1."""
    part = frame_metrics(frame, lm.window(lo, hi), standing - lo)
    out = _nan_series(lm.n_frames)
    for name, values in part.items():
        out[name][lo:hi] = values
    return out


def _analyse_rep(
    lm: Landmarks,
    times: FloatArray,
    candidate: RepCandidate,
    bounds: tuple[int, int, int],
    number: int,
    thresholds: FaultThresholds,
) -> tuple[RepResult, BodyFrame] | str:
    """One rep and its body frame (``bounds``: see :func:`_bounds`), or why not."""
    standing = candidate.standing
    frame = standing_frame(lm.left_hip[standing], lm.right_hip[standing])
    if frame is None:
        return "both hips are not seen while standing before it"
    lo, stop, hi = bounds
    series = _rep_series(frame, lm, standing, lo, hi)
    window = _window(series["hip_flexion_deg"], times, int(standing[-1]), stop)
    if isinstance(window, str):
        return window
    start_s, start_i, bottom, end_s, end_i = window
    values = {m.name: float(series[m.name][bottom]) for m in FRAME_METRICS}
    values["lockout_extension_deg"] = _lockout(series["trunk_flexion_deg"], times, end_s)
    pattern = pattern_of(values["hip_flexion_deg"], values["knee_flexion_deg"], thresholds)
    faults, unchecked = check_faults(values, pattern, thresholds)
    rep = RepResult(
        number,
        start_s,
        float(times[bottom]),
        end_s,
        start_i,
        bottom,
        end_i,
        (int(standing[0]), int(standing[-1])),
        pattern,
        MappingProxyType(values),
        faults,
        unchecked,
    )
    return rep, frame


def _nan_series(n: int) -> dict[str, FloatArray]:
    return {m.name: np.full(n, np.nan) for m in FRAME_METRICS}


def _fallback_series(
    lm: Landmarks, h: FloatArray, fps: float, settings: SegmentationSettings
) -> tuple[dict[str, FloatArray], dict[int, Baseline]]:
    """Series of a trial without reps, relative to all its standing frames (else NaN).

    Also returns the baseline used, as ``{0: Baseline}`` (empty when there is none).
    """
    standing = standing_anywhere(h, fps, settings)
    frame = None
    if standing.size >= settings.min_standing_frames:
        frame = standing_frame(lm.left_hip[standing], lm.right_hip[standing])
    if frame is None:
        return _nan_series(lm.n_frames), {}
    return frame_metrics(frame, lm, standing), {0: Baseline(frame, standing)}


def _assemble(
    lm: Landmarks, parts: list[tuple[IndexArray, BodyFrame]]
) -> tuple[dict[str, FloatArray], IntArray]:
    """Per-frame series and the rep whose frame and baseline each frame uses.

    Rep r's run from its first standing frame (frame 0 for the first rep) to the next
    analysed rep's first standing frame (or the end).
    """
    n = lm.n_frames
    out, owner = _nan_series(n), np.zeros(n, dtype=np.int64)
    for r, (standing, frame) in enumerate(parts):
        lo = 0 if r == 0 else int(standing[0])
        hi = int(parts[r + 1][0][0]) if r + 1 < len(parts) else n
        series = _rep_series(frame, lm, standing, lo, hi)
        for name in out:
            out[name][lo:hi] = series[name][lo:hi]
        owner[lo:hi] = r + 1
    return out, owner


def _no_reps(h: FloatArray, settings: SegmentationSettings) -> str:
    """Why no rep was found, in words."""
    if not np.isfinite(h).any():
        return "no reps found: hip flexion is missing in every frame"
    spread = float(np.nanmax(h) - np.nanmin(h))
    return (
        f"no reps found: hip flexion varies by {spread:.0f}° in the whole trial; a rep rises "
        f"at least {settings.min_peak_deg:g}° from standing and comes back"
    )


def _check_inputs(points3d: npt.ArrayLike, times: npt.ArrayLike, fps: float) -> FloatArray:
    """Timestamps (T,) matching points3d's T frames, and fps > 0, else ValueError."""
    times = np.asarray(times, dtype=float)
    n = np.shape(points3d)[0] if np.ndim(points3d) else -1
    if times.ndim != 1 or times.shape[0] != n:
        msg = f"timestamps must have shape (T,) with T = {n} frames of points3d, got {times.shape}"
        raise ValueError(msg)
    if not fps > 0:
        msg = f"fps must be > 0, got {fps!r}"
        raise ValueError(msg)
    return times


def frame_rate(times: FloatArray, fps: float) -> float:
    """The rate the frames really come at: ``fps``, or less when frames are missing.

    A live recording keeps only the synchronized sets it had time to process (its
    ``fps`` is the cameras'), so the segmentation's windows, sized in frames, are sized
    from the median spacing of the frames when that is over 1.5 frame periods.

    Parameters
    ----------
    times : ndarray, shape (T,)
        Seconds.
    fps : float
        The nominal frame rate.
    """
    steps = np.diff(times[np.isfinite(times)])
    steps = steps[steps > 0]
    if not steps.size:
        return fps
    spacing = float(np.median(steps))
    return 1.0 / spacing if spacing * fps > 1.5 else fps


def analyse_points(
    points3d: npt.ArrayLike,
    keypoint_names: tuple[str, ...] | list[str],
    timestamps: npt.ArrayLike,
    fps: float,
    thresholds: FaultThresholds | None = None,
    settings: SegmentationSettings | None = None,
) -> HingeAnalysis:
    """Analyse 3D keypoints: find the reps, compute every metric, pattern and faults.

    Parameters
    ----------
    points3d : array_like, shape (T, J, 3)
        Metres, world frame, Z up; NaN where not reconstructed.
    keypoint_names : sequence of str
        The J names (BlazePose landmarks, spine markers C7, T12, L3, S1).
    timestamps : array_like, shape (T,)
        Seconds.
    fps : float
        Frame rate (sizes the segmentation's windows; see :func:`frame_rate` for
        trials with missing frames).
    thresholds : FaultThresholds, optional
        The fault table (default: the documented defaults).
    settings : SegmentationSettings, optional
        How reps and standing frames are found.

    Returns
    -------
    HingeAnalysis
        Never raises for unusable data: ``problems`` says what is missing.
    """
    times = _check_inputs(points3d, timestamps, fps)
    fps = frame_rate(times, fps)
    thresholds, settings = thresholds or FaultThresholds(), settings or SegmentationSettings()
    lm = landmarks(points3d, keypoint_names)
    problems = [missing_message(group, lm) for group in lm.missing]
    h = np.full(lm.n_frames, np.nan)
    if lm.usable:
        h = prepare(raw_hip_flexion(per_frame_frame(lm.left_hip, lm.right_hip), lm), fps, settings)
    candidates, notes = find_candidates(h, times, fps, settings)
    reps, parts = [], []
    for i, candidate in enumerate(candidates):
        bounds = _bounds(candidates, i, times)
        result = _analyse_rep(lm, times, candidate, bounds, len(reps) + 1, thresholds)
        if isinstance(result, str):
            notes += (f"the rep peaking at {times[candidate.peak]:.2f} s was skipped: {result}",)
            continue
        reps.append(result[0])
        parts.append((candidate.standing, result[1]))
    series, owner = _assemble(lm, parts)
    baselines = {r + 1: Baseline(frame, standing) for r, (standing, frame) in enumerate(parts)}
    if not reps and lm.usable:
        series, baselines = _fallback_series(lm, h, fps, settings)
        notes += (_no_reps(h, settings),)
    in_rep = np.zeros(lm.n_frames, dtype=np.int64)
    for rep in reps:
        in_rep[rep.start_index : rep.end_index + 1] = rep.rep
    return HingeAnalysis(
        times,
        series,
        in_rep,
        owner,
        tuple(reps),
        (*problems, *notes),
        thresholds,
        settings,
        baselines=baselines,
    )


def analyse_trial(
    trial: Trial,
    thresholds: FaultThresholds | None = None,
    settings: SegmentationSettings | None = None,
) -> HingeAnalysis:
    """Analyse a trial's 3D points (:func:`analyse_points` with its names, times and fps).

    A trial without ``points3d`` gives an analysis with no reps, NaN series and a problem
    saying so.
    """
    if trial.points3d is None:
        empty = np.full((trial.n_frames, trial.n_joints, 3), np.nan)
        result = analyse_points(
            empty, trial.keypoint_names, trial.timestamps, trial.fps, thresholds, settings
        )
        problem = "the trial has no 3D points (points3d): run mocap triangulate or mocap process"
        return replace(result, problems=(problem,))
    return analyse_points(
        trial.points3d, trial.keypoint_names, trial.timestamps, trial.fps, thresholds, settings
    )
