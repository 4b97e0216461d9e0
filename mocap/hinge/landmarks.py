"""The landmarks the hinge metrics use, taken from a trial's 3D points by name.

H, S and E are the mid-points of the hips, shoulders and ears; knees K and ankles A are
kept per side (each metric is computed per side, then averaged); MF is the mid-point of
both heels and both foot tips; W the mid-point of the wrists; C7, T12, L3 and S1 the
spine skin markers. A mid-point is NaN in a frame where any of its points is missing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from mocap.hinge.frame import FloatArray, check_points

GROUPS: dict[str, tuple[str, ...]] = {
    "hips": ("left_hip", "right_hip"),
    "shoulders": ("left_shoulder", "right_shoulder"),
    "knees": ("left_knee", "right_knee"),
    "ankles": ("left_ankle", "right_ankle"),
    "ears": ("left_ear", "right_ear"),
    "wrists": ("left_wrist", "right_wrist"),
    "feet": ("left_heel", "right_heel", "left_foot_index", "right_foot_index"),
    "spine markers": ("C7", "T12", "L3", "S1"),
}
"""Keypoints of each landmark group."""

CONSEQUENCE: dict[str, str] = {
    "hips": "no metric can be computed and no rep found",
    "shoulders": "no trunk or hip angle, so no rep found",
    "knees": "no hip or knee angle, so no rep found",
    "ankles": "knee_flexion_deg, shin_angle_deg and the pattern are NaN",
    "ears": "head_trunk_deg is NaN and the cranked-neck check is skipped",
    "wrists": "load_offset_m is NaN and the load check is skipped",
    "feet": "load_offset_m is NaN and the load check is skipped",
    "spine markers": "lumbar_flexion_deg, thoracic_flexion_deg and spine_curve_mm are NaN; "
    "rounding is judged by the shoulder-to-hip distance instead",
}
"""What is lost without each group (said to the user)."""

REQUIRED_GROUPS: tuple[str, ...] = ("hips", "shoulders", "knees")
"""Without these no hip flexion, so no reps."""

_SERIES = ("left_hip", "right_hip", "hip", "shoulder", "ear", "foot", "wrist")


@dataclass(frozen=True, eq=False)
class Landmarks:
    """Landmark trajectories of one trial, world frame, metres, NaN where missing.

    Attributes
    ----------
    left_hip, right_hip, hip, shoulder, ear, foot, wrist : ndarray, shape (T, 3)
        Both hips; mid-points H, S, E, MF and W.
    knees, ankles : ndarray, shape (2, T, 3)
        Left then right knee K and ankle A.
    markers : dict of str to ndarray, shape (T, 3)
        C7, T12, L3, S1.
    missing : tuple of str
        Landmark groups (keys of :data:`GROUPS`) that cannot be used, e.g. ``"ears"``.
    absent : tuple of str
        The keypoints behind them: not in the trial, or NaN in every frame.
    """

    left_hip: FloatArray
    right_hip: FloatArray
    hip: FloatArray
    shoulder: FloatArray
    ear: FloatArray
    foot: FloatArray
    wrist: FloatArray
    knees: FloatArray
    ankles: FloatArray
    markers: dict[str, FloatArray]
    missing: tuple[str, ...]
    absent: tuple[str, ...]

    @property
    def n_frames(self) -> int:
        """Number of frames T."""
        return int(self.hip.shape[0])

    def window(self, start: int, stop: int) -> Landmarks:
        """The landmarks of frames ``start..stop-1`` only."""
        part = slice(start, stop)
        return dataclasses.replace(
            self,
            **{name: getattr(self, name)[part] for name in _SERIES},
            knees=self.knees[:, part],
            ankles=self.ankles[:, part],
            markers={name: values[part] for name, values in self.markers.items()},
        )

    @property
    def usable(self) -> bool:
        """Whether the groups every metric needs are present."""
        return not set(REQUIRED_GROUPS) & set(self.missing)


def _point(points: FloatArray, names: list[str], name: str) -> FloatArray:
    """Trajectory (T, 3) of keypoint ``name``; all NaN when the trial does not have it."""
    if name not in names:
        return np.full((points.shape[0], 3), np.nan)
    return points[:, names.index(name)]


def _absent(points: FloatArray, names: list[str], group: str) -> tuple[str, ...]:
    """Keypoints of ``group`` that the trial lacks or never reconstructed."""
    seen = [np.isfinite(_point(points, names, n)).all(axis=1).any() for n in GROUPS[group]]
    return tuple(n for n, ok in zip(GROUPS[group], seen, strict=True) if not ok)


def _unusable(group: str, absent: tuple[str, ...]) -> bool:
    """Whether a group cannot be used: knees and ankles need one side, the others all."""
    if group in ("knees", "ankles"):  # per-side metrics: one side is enough
        return len(absent) == len(GROUPS[group])
    return bool(absent)


def landmarks(points3d: FloatArray, keypoint_names: tuple[str, ...] | list[str]) -> Landmarks:
    """Collect the landmarks from a trial's 3D points.

    Parameters
    ----------
    points3d : array_like, shape (T, J, 3)
        Metres, world frame, Z up, NaN where not reconstructed.
    keypoint_names : sequence of str
        The J names (BlazePose names and spine markers).

    Returns
    -------
    Landmarks
        Trajectories (T, 3), knees and ankles (2, T, 3), and the groups found missing.
    """
    names = list(keypoint_names)
    points = check_points(points3d, "points3d", ndim=3)
    if points.shape[1] != len(names):
        msg = f"points3d has {points.shape[1]} keypoints but {len(names)} names"
        raise ValueError(msg)

    def mid(group: str) -> FloatArray:
        return np.mean([_point(points, names, n) for n in GROUPS[group]], axis=0)

    def sides(group: str) -> FloatArray:
        return np.stack([_point(points, names, n) for n in GROUPS[group]])

    absent = {group: _absent(points, names, group) for group in GROUPS}
    return Landmarks(
        left_hip=_point(points, names, "left_hip"),
        right_hip=_point(points, names, "right_hip"),
        hip=mid("hips"),
        shoulder=mid("shoulders"),
        ear=mid("ears"),
        foot=mid("feet"),
        wrist=mid("wrists"),
        knees=sides("knees"),
        ankles=sides("ankles"),
        markers={n: _point(points, names, n) for n in GROUPS["spine markers"]},
        missing=tuple(g for g in GROUPS if _unusable(g, absent[g])),
        absent=tuple(n for g in GROUPS for n in absent[g]),
    )


def missing_message(group: str, lm: Landmarks) -> str:
    """One sentence naming a missing group's absent keypoints and what is lost."""
    names = ", ".join(n for n in GROUPS[group] if n in lm.absent)
    return f"{group} missing ({names} not in the 3D points): {CONSEQUENCE[group]}"
