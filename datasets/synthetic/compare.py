"""Compare an estimated rig with the true one: alignment and per-camera errors.

A calibration's world frame is its own (the origin board, or an arbitrary root camera);
before comparing camera poses with the truth the two frames are aligned by the rigid
(optionally similarity) transform that best maps the estimated camera centres onto the
true ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calibration.camera import CameraRig
from datasets.synthetic.body import FloatArray


@dataclass(frozen=True)
class RigErrors:
    """Per-camera errors of an estimated rig, in the truth's camera order.

    Attributes
    ----------
    names : tuple of str
    focal : (C,) float array
        Relative focal-length error, the larger of x and y (0.01 = 1 %).
    principal_px : (C,) float array
        Principal point distance from the truth, pixels.
    centre_m : (C,) float array
        Camera centre distance from the truth after alignment, metres.
    rotation_deg : (C,) float array
        Orientation error after alignment, degrees.
    scale : float
        Scale of the alignment (1 without ``with_scale``).
    """

    names: tuple[str, ...]
    focal: FloatArray
    principal_px: FloatArray
    centre_m: FloatArray
    rotation_deg: FloatArray
    scale: float


def align_centres(
    estimated: FloatArray, truth: FloatArray, with_scale: bool = False
) -> tuple[float, FloatArray, FloatArray]:
    """Scale s, rotation R (3, 3), translation t (3,) minimising |s R e + t - truth|².

    Parameters
    ----------
    estimated, truth : (C, 3) float arrays
        Matching points (C >= 3, not collinear).
    with_scale : bool
        Also fit a scale (Umeyama); otherwise s = 1 (Kabsch).
    """
    a, b = estimated - estimated.mean(0), truth - truth.mean(0)
    u, sv, vt = np.linalg.svd(a.T @ b)
    fix = np.diag([1.0, 1.0, np.sign(np.linalg.det(vt.T @ u.T))])
    rotation = vt.T @ fix @ u.T
    scale = float(np.sum(sv * np.diag(fix)) / np.sum(a**2)) if with_scale else 1.0
    return scale, rotation, truth.mean(0) - scale * rotation @ estimated.mean(0)


def _angle_deg(rotation: FloatArray) -> float:
    """Angle of a rotation matrix (3, 3), degrees."""
    return float(np.degrees(np.arccos(np.clip((np.trace(rotation) - 1) / 2, -1, 1))))


def rig_errors(estimated: CameraRig, truth: CameraRig, with_scale: bool = False) -> RigErrors:
    """Intrinsic and (aligned) pose errors of every camera of ``truth`` in ``estimated``."""
    est = estimated.subset(truth.names)
    scale, rotation, offset = align_centres(
        np.stack([c.center for c in est]), np.stack([c.center for c in truth]), with_scale
    )
    focal, principal, centre, angle = [], [], [], []
    for e, t in zip(est, truth, strict=True):
        focal.append(np.max(np.abs(np.diag(e.matrix)[:2] / np.diag(t.matrix)[:2] - 1)))
        principal.append(np.linalg.norm(e.matrix[:2, 2] - t.matrix[:2, 2]))
        centre.append(np.linalg.norm(scale * rotation @ e.center + offset - t.center))
        angle.append(_angle_deg(e.rotation_matrix @ rotation.T @ t.rotation_matrix.T))
    return RigErrors(truth.names, *(np.array(v) for v in (focal, principal, centre, angle)), scale)
