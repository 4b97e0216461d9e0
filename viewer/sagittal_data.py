"""What the sagittal panel draws for one frame, in the subject's body frame (no Qt).

The body frame, the standing frames and every number come from the hinge analysis
(:meth:`mocap.hinge.HingeAnalysis.baseline_at`, ``series``, ``reps``); this module only
places them: x is forward (the frame's anterior axis) from the standing hip position H0,
y is the height above the floor, metres. The hip path is the analysis's ``hip_back_m``
and ``hip_down_m`` of the current rep as (-back, -down) from H0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mocap.hinge import Baseline, HingeAnalysis
from mocap.hinge.landmarks import Landmarks
from mocap.hinge.series import quiet_mean

FloatArray = NDArray[np.float64]

CHAINS: tuple[str, ...] = ("leg", "trunk", "neck", "spine")
"""The polylines of a pose: ankle-knee-hip, hip-shoulder, shoulder-ear, C7-T12-L3-S1."""

LABELS: tuple[tuple[str, str, str], ...] = (
    ("trunk_flexion_deg", "trunk", "trunk"),
    ("hip_flexion_deg", "hip", "hip"),
    ("knee_flexion_deg", "knee", "knee"),
    ("shin_angle_deg", "shin", "shin"),
    ("head_trunk_deg", "head", "neck"),
    ("lumbar_flexion_deg", "lumbar", "lumbar"),
)
"""(series, word, where): each angle written beside its segment."""


@dataclass(frozen=True, eq=False)
class SagittalFrame:
    """The sagittal panel's content at one frame.

    Attributes
    ----------
    pose, ghost : dict of str to ndarray, shape (N, 2)
        Polylines of :data:`CHAINS` (x forward, y up, metres) at the frame and standing
        (the mean of the baseline's standing frames); a chain with a missing point is
        absent.
    path : ndarray, shape (M, 2)
        The hip path of the current rep, (-hip_back_m, -hip_down_m) from H0 (empty
        without a rep).
    hip : ndarray, shape (2,)
        The hip at this frame, the same way (NaN if unknown).
    origin_height : float
        Height of H0 above the floor, metres (add it to draw the path in the pose's axes).
    labels : tuple of (str, float, float)
        Text and where to write it.
    ratio : str
        The hinge ratio of the current rep at its bottom and at this frame, in words.
    rep : int
        The rep whose frame and baseline are used (0: none).
    """

    pose: dict[str, FloatArray]
    ghost: dict[str, FloatArray]
    path: FloatArray
    hip: FloatArray
    origin_height: float
    labels: tuple[tuple[str, float, float], ...]
    ratio: str
    rep: int


def _points(lm: Landmarks, index: NDArray[np.intp] | int) -> dict[str, FloatArray]:
    """The landmarks drawn, at one frame (int) or averaged over frames (index array)."""

    def at(track: FloatArray) -> FloatArray:
        return track[index] if np.ndim(index) == 0 else quiet_mean(track[index])

    knee = quiet_mean(np.stack([at(k) for k in lm.knees]))
    ankle = quiet_mean(np.stack([at(a) for a in lm.ankles]))
    named = {"H": at(lm.hip), "S": at(lm.shoulder), "E": at(lm.ear), "K": knee, "A": ankle}
    return named | {name: at(track) for name, track in lm.markers.items()}


def _chains(points: dict[str, FloatArray], origin: FloatArray, base: Baseline) -> dict:
    """The chains of :data:`CHAINS` in the body frame; chains with a missing point dropped."""
    order = {
        "leg": ("A", "K", "H"),
        "trunk": ("H", "S"),
        "neck": ("S", "E"),
        "spine": ("C7", "T12", "L3", "S1"),
    }
    out = {}
    for chain, names in order.items():
        world = np.array([points[n] for n in names])
        x, _ = base.frame.coordinates(world - origin)
        xy = np.column_stack([x, world[:, 2]])
        if np.isfinite(xy).all():
            out[chain] = xy
    return out


def _label_spots(pose: dict[str, FloatArray]) -> dict[str, FloatArray]:
    """Where each label goes, beside its segment (absent when the segment is)."""
    spots = {}
    if "trunk" in pose:
        spots["trunk"] = pose["trunk"].mean(axis=0) + np.array([0.08, 0.0])
        spots["hip"] = pose["trunk"][0] + np.array([-0.28, 0.0])
    if "leg" in pose:
        spots["knee"] = pose["leg"][1] + np.array([0.06, 0.0])
        spots["shin"] = pose["leg"][:2].mean(axis=0) + np.array([0.06, -0.06])
    if "neck" in pose:
        spots["neck"] = pose["neck"][1] + np.array([0.06, 0.06])
    if "spine" in pose:
        spots["lumbar"] = pose["spine"][0] + np.array([-0.12, 0.12])
    return spots


def _number(value: float, digits: int = 0) -> str:
    """``value`` rounded for reading: ``n/a`` for NaN, ``∞``, no ``-0``."""
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "∞"
    text = f"{value:.{digits}f}"
    return text.lstrip("-") if float(text) == 0 else text


def _path(analysis: HingeAnalysis, rep: int) -> FloatArray:
    """The hip path (M, 2) of rep ``rep`` from its last standing frame to its end."""
    if rep <= 0 or rep > len(analysis.reps):
        return np.zeros((0, 2))
    r = analysis.reps[rep - 1]
    part = slice(r.standing[1], r.end_index + 1)
    back, down = analysis.series["hip_back_m"][part], analysis.series["hip_down_m"][part]
    xy = np.column_stack([-back, -down])
    return xy[np.isfinite(xy).all(axis=1)]


def _ratio(analysis: HingeAnalysis, rep: int, index: int) -> str:
    now = _number(float(analysis.series["hinge_ratio"][index]), 1)
    if rep <= 0 or rep > len(analysis.reps):
        return f"hinge ratio (back / down)\nnow {now}"
    bottom = _number(analysis.reps[rep - 1].values["hinge_ratio"], 1)
    return f"rep {rep}: hinge ratio\n(back / down)\n{bottom} at the bottom\n{now} now"


POINTS: tuple[str, ...] = ("A", "K", "H", "S", "E", "C7", "T12", "L3", "S1")
"""The points drawn: ankle, knee, hip, shoulder, ear (both sides averaged), the markers."""
CHAIN_POINTS: dict[str, tuple[str, ...]] = {
    "leg": ("A", "K", "H"),
    "trunk": ("H", "S"),
    "neck": ("S", "E"),
    "spine": ("C7", "T12", "L3", "S1"),
}


class SagittalSource:
    """Computes :class:`SagittalFrame` s of one analysis.

    The drawing coordinates of every frame (each point of :data:`POINTS` in the body frame
    of the frame's baseline) are computed once, for all frames at a time; each baseline's
    ghost and each rep's hip path when first asked for. No metric is computed here.

    Parameters
    ----------
    analysis : HingeAnalysis
    lm : Landmarks
        The landmarks the analysis used (``mocap.hinge.landmarks.landmarks``).
    """

    def __init__(self, analysis: HingeAnalysis, lm: Landmarks) -> None:
        self.analysis = analysis
        self.lm = lm
        self._standing: dict[int, tuple[FloatArray, dict[str, FloatArray]]] = {}
        self._paths: dict[int, FloatArray] = {}
        self.xy = self._coordinates()
        """(T, P, 2): the points of :data:`POINTS` at every frame (NaN: unknown, or no
        body frame there), x forward from H0 and y up, metres."""

    def _coordinates(self) -> FloatArray:
        """:attr:`xy`, one baseline's frames at a time."""
        analysis, lm = self.analysis, self.lm
        n = analysis.times.size
        xy = np.full((n, len(POINTS), 2), np.nan)
        if not n or not analysis.baselines:
            return xy
        knee = quiet_mean(np.stack(lm.knees))
        ankle = quiet_mean(np.stack(lm.ankles))
        named = {"H": lm.hip, "S": lm.shoulder, "E": lm.ear, "K": knee, "A": ankle}
        missing = np.full((n, 3), np.nan)
        tracks = [named[p] if p in named else lm.markers.get(p, missing) for p in POINTS]
        world = np.stack(tracks, axis=1)  # (T, P, 3)
        for key in np.unique(analysis.baseline_rep):
            base = analysis.baselines.get(int(key))
            if base is None:
                continue
            frames = np.flatnonzero(analysis.baseline_rep == key)
            origin = self._baseline_of(int(key), base)[0]
            points = world[frames]
            x, _ = base.frame.coordinates(points - origin)
            xy[frames, :, 0] = x
            xy[frames, :, 1] = points[..., 2]
        return xy

    def _baseline_of(self, key: int, base: Baseline) -> tuple[FloatArray, dict[str, FloatArray]]:
        """H0 and the ghost of baseline ``key`` (cached)."""
        if key not in self._standing:
            origin = quiet_mean(self.lm.hip[base.standing])
            self._standing[key] = origin, _chains(_points(self.lm, base.standing), origin, base)
        return self._standing[key]

    def _baseline(self, index: int) -> tuple[Baseline, FloatArray, dict] | None:
        """The baseline at frame ``index``, its H0 and its ghost (cached per baseline)."""
        if not 0 <= index < self.analysis.times.size:
            return None
        base = self.analysis.baseline_at(index)
        if base is None:
            return None
        return base, *self._baseline_of(int(self.analysis.baseline_rep[index]), base)

    def pose(self, index: int) -> dict[str, FloatArray]:
        """The chains of :data:`CHAINS` at frame ``index``; one with a missing point absent."""
        points = dict(zip(POINTS, self.xy[index], strict=True))
        out = {}
        for chain, names in CHAIN_POINTS.items():
            xy = np.array([points[n] for n in names])
            if np.isfinite(xy).all():
                out[chain] = xy
        return out

    def path(self, rep: int) -> FloatArray:
        """The hip path (M, 2) of rep ``rep`` (cached; see :class:`SagittalFrame`)."""
        if rep not in self._paths:
            self._paths[rep] = _path(self.analysis, rep)
        return self._paths[rep]

    def frame(self, index: int) -> SagittalFrame | None:
        """The panel's content at frame ``index``; None when the frame has no body frame."""
        found = self._baseline(index)
        if found is None:
            return None
        _, origin, ghost = found
        analysis = self.analysis
        pose = self.pose(index)
        spots = _label_spots(pose)
        labels = tuple(
            (f"{word} {_number(float(analysis.series[name][index]))}°", *map(float, spots[where]))
            for name, word, where in LABELS
            if where in spots and np.isfinite(analysis.series[name][index])
        )
        rep = int(analysis.rep_of_frame[index]) or int(analysis.baseline_rep[index])
        back, down = analysis.series["hip_back_m"][index], analysis.series["hip_down_m"][index]
        return SagittalFrame(
            pose=pose,
            ghost=ghost,
            path=self.path(rep),
            hip=np.array([-back, -down]),
            origin_height=float(origin[2]),
            labels=labels,
            ratio=_ratio(analysis, rep, index),
            rep=rep,
        )
