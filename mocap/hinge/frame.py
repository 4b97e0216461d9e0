"""The body-fixed sagittal frame and segment inclinations.

Frame (``docs/hinge-metrics.md``): up y = world +Z; right z = the horizontal part of
right_hip - left_hip, normalised; anterior x = y cross z. A rep's frame is fixed from the
standing frames just before it. A segment's inclination is phi(u) = atan2(u.x, u.y) in
degrees: 0 vertical, positive when its upper end is forward.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
UP = np.array([0.0, 0.0, 1.0])
"""World up (+Z): the frame's y axis."""

MIN_HIP_WIDTH_M = 0.02
"""A horizontal hip separation shorter than this gives no usable frame."""


def check_points(points: npt.ArrayLike, name: str, ndim: int) -> FloatArray:
    """``points`` as float64 with last axis 3 and ``ndim`` dimensions, else ValueError."""
    arr = np.asarray(points, dtype=float)
    if arr.ndim != ndim or arr.shape[-1] != 3:
        axes = ("T", "J", "3")[-ndim:] if ndim <= 3 else ("...", "3")
        msg = f"{name} must have shape ({', '.join(axes)}), got {arr.shape}"
        raise ValueError(msg)
    return arr


def wrap_deg(angle: npt.ArrayLike) -> FloatArray:
    """Angles (any shape) wrapped into [-180, 180) degrees."""
    return (np.asarray(angle, dtype=float) + 180.0) % 360.0 - 180.0


@dataclass(frozen=True, eq=False)
class BodyFrame:
    """A sagittal frame: unit vectors in world coordinates.

    Attributes
    ----------
    anterior : ndarray, shape (3,) or (T, 3)
        x: forward, horizontal (one vector, or one per frame).
    right : ndarray, shape (3,) or (T, 3)
        z: to the subject's right, horizontal.
    """

    anterior: FloatArray
    right: FloatArray

    def coordinates(self, u: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Sagittal components (u.x, u.y) of vectors ``u`` (T, 3); each (T,)."""
        return np.sum(u * self.anterior, axis=-1), u[..., 2]

    def inclination(self, u: FloatArray) -> FloatArray:
        """phi(u) = atan2(u.x, u.y) in degrees of vectors ``u`` (T, 3); returns (T,)."""
        x, y = self.coordinates(u)
        return np.degrees(np.arctan2(x, y))


def _frame_from_right(right: FloatArray) -> BodyFrame:
    """Frame whose right axis is the horizontal part of ``right`` (3,) or (T, 3)."""
    horizontal = np.array(right, dtype=float)
    horizontal[..., 2] = 0.0
    norm = np.linalg.norm(horizontal, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = np.where(norm >= MIN_HIP_WIDTH_M, horizontal / norm, np.nan)
    return BodyFrame(anterior=np.cross(UP, unit), right=unit)


def standing_frame(left_hip: FloatArray, right_hip: FloatArray) -> BodyFrame | None:
    """The frame of a rep, from its standing frames.

    Parameters
    ----------
    left_hip, right_hip : ndarray, shape (N, 3)
        Both hips in the N standing frames (NaN rows are skipped).

    Returns
    -------
    BodyFrame or None
        Constant axes (3,); None when no frame has both hips or they are (horizontally)
        less than :data:`MIN_HIP_WIDTH_M` apart.
    """
    left_hip = check_points(left_hip, "left_hip", ndim=2)
    right_hip = check_points(right_hip, "right_hip", ndim=2)
    across = right_hip - left_hip
    across = across[np.isfinite(across).all(axis=1)]
    if not len(across):
        return None
    frame = _frame_from_right(across.mean(axis=0))
    return frame if np.isfinite(frame.anterior).all() else None


def per_frame_frame(left_hip: FloatArray, right_hip: FloatArray) -> BodyFrame:
    """A frame for every frame from that frame's hips (for finding reps, not for metrics).

    Parameters
    ----------
    left_hip, right_hip : ndarray, shape (T, 3)

    Returns
    -------
    BodyFrame
        Axes (T, 3); NaN in frames without both hips.
    """
    left_hip = check_points(left_hip, "left_hip", ndim=2)
    right_hip = check_points(right_hip, "right_hip", ndim=2)
    return _frame_from_right(right_hip - left_hip)
