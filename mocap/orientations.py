"""Camera orientations refined from the subject's own keypoints (camera centres kept).

A calibration can stop fitting a recording: a camera nudged after calibrating, a
calibration converted between tools' conventions, a lens refocused. The symptom is a
systematic reprojection error per camera. This module refits only the C camera rotations,
keeping the calibrated camera centres (which fix position, orientation and scale of the
world: nothing else can drift) and the intrinsics, by a robust bundle adjustment over the
trial's confident 2D keypoints:

    minimise  sum over views of  rho(|project_c(X_p) - x_cp|)

over the rotation increments of every camera and the 3D points X_p, with the soft-L1 loss
``rho`` (scale :data:`LOSS_SCALE_PX`) so that swapped or wrong detections weigh little.
At most ``max_points`` keypoint-frames, spread evenly over the trial, take part.

It is never applied silently: ``mocap process``/``triangulate`` use it only with
``--refine-orientations`` and record the change per camera and the error before and after.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy.optimize import least_squares
from scipy.sparse import csr_matrix

from calibration.camera import Camera, CameraRig
from mocap.triangulation import triangulate

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

LOSS_SCALE_PX = 5.0
"""Soft-L1 scale: residuals beyond a few pixels count linearly, not squared."""
SEED_ERROR_PX = 30.0
"""Reprojection threshold of the triangulation that seeds the 3D points."""
MAX_EVALUATIONS = 150
"""Cap on the solver's function evaluations (moving the whole body while every camera turns
to follow changes only the perspective: a shallow valley, slow to descend)."""
PRIOR_PX_PER_RAD = 2000.0
"""Weight of a prior pulling each rotation increment to 0, in pixels per radian: 1 degree
costs 35 px, little against thousands of keypoints each several px off, but it settles the shallow
mode (the whole body moving a few mm while every camera turns to follow it) on the
smallest correction, so the result does not depend on where the solver starts."""
MAX_CHANGE_DEG = 10.0
"""A larger correction is refused: the calibration belongs to other cameras."""


@dataclass(frozen=True)
class OrientationRefinement:
    """Result of :func:`refine_orientations`.

    Attributes
    ----------
    rig : CameraRig
        The refined cameras (the input rig when ``success`` is False).
    change_deg : dict of str to float
        Rotation change per camera, degrees.
    error_before_px, error_after_px : float
        Median reprojection error of the keypoints used, before and after.
    points_used : int
        Keypoint-frames in the adjustment.
    success : bool
        False when there were too few points or a correction was implausibly large.
    message : str
        One line for the user.
    """

    rig: CameraRig
    change_deg: dict[str, float]
    error_before_px: float
    error_after_px: float
    points_used: int
    success: bool
    message: str

    def as_attrs(self) -> dict[str, str | float | int]:
        """For the trial's ``/processing`` attributes (``orientations.*``)."""
        return {
            "orientations.refined": int(self.success),
            "orientations.change_deg": ", ".join(
                f"{k} {v:.2f}" for k, v in self.change_deg.items()
            ),
            "orientations.error_before_px": self.error_before_px,
            "orientations.error_after_px": self.error_after_px,
            "orientations.points_used": self.points_used,
            "orientations.message": self.message,
        }


@dataclass(frozen=True)
class _Problem:
    """The keypoints in the adjustment: (P, 3) seeds, (C, P, 2) pixels, (C, P) usable."""

    seeds: FloatArray
    pixels: FloatArray
    usable: BoolArray


def refine_orientations(
    rig: CameraRig,
    keypoints2d: NDArray,
    min_confidence: float = 0.5,
    *,
    max_points: int = 1000,
    min_points: int = 50,
) -> OrientationRefinement:
    """Refit the camera rotations to the keypoints, keeping centres and intrinsics.

    Parameters
    ----------
    rig : CameraRig
        The C calibrated cameras, in the order of ``keypoints2d``'s first axis.
    keypoints2d : (C, T, J, 3) float array
        Pixel x, y and confidence; frame ``t`` of every camera is one instant (apply time
        offsets first).
    min_confidence : float
        Keypoints below this confidence are not used.
    max_points : int
        Most keypoint-frames used (spread evenly).
    min_points : int
        Fewest keypoint-frames seen by at least two cameras needed to refine.

    Returns
    -------
    OrientationRefinement
        ``success`` False (and the rig unchanged) when there is too little data or the
        correction exceeds :data:`MAX_CHANGE_DEG`; never raises for unusable data.
    """
    kp = np.asarray(keypoints2d, dtype=np.float64)
    if kp.ndim != 4 or kp.shape[3] != 3 or kp.shape[0] != len(rig):
        msg = f"keypoints2d must be (C, T, J, 3) with C = {len(rig)}; got {kp.shape}"
        raise ValueError(msg)
    problem = _problem(rig, kp, min_confidence, max_points)
    names = rig.names
    if problem.seeds.shape[0] < min_points:
        shown = problem.seeds.shape[0]
        return _unchanged(rig, f"too few keypoints seen by two cameras ({shown} < {min_points})")
    before = _median_error(rig, problem.seeds, problem)
    increments, points = _solve(rig, problem)
    refined = CameraRig(tuple(_rotated(cam, inc) for cam, inc in zip(rig, increments, strict=True)))
    change = {
        n: math.degrees(float(np.linalg.norm(v))) for n, v in zip(names, increments, strict=True)
    }
    after = _median_error(refined, points, problem)
    shown = ", ".join(f"{n} {d:.2f}" for n, d in change.items())
    if max(change.values()) > MAX_CHANGE_DEG:
        return _unchanged(rig, f"correction too large to trust ({shown} deg): calibration kept")
    message = (
        f"camera orientations refined from {len(points)} keypoints (deg: {shown}); median "
        f"reprojection error {before:.1f} px -> {after:.1f} px"
    )
    return OrientationRefinement(refined, change, before, after, len(points), True, message)


def _unchanged(rig: CameraRig, why: str) -> OrientationRefinement:
    """The refusal result: the rig as it was and the reason."""
    nan = math.nan
    zero = dict.fromkeys(rig.names, 0.0)
    return OrientationRefinement(rig, zero, nan, nan, 0, False, f"orientations not refined: {why}")


def _problem(rig: CameraRig, kp: FloatArray, min_confidence: float, max_points: int) -> _Problem:
    """Seed points from a loose robust triangulation, thinned to ``max_points``."""
    seeds = triangulate(rig, kp, min_confidence, max_error_px=SEED_ERROR_PX).points3d
    flat = seeds.reshape(-1, 3)
    keep = np.flatnonzero(np.isfinite(flat[:, 0]))
    if keep.size > max_points:
        keep = keep[np.linspace(0, keep.size - 1, max_points).round().astype(np.intp)]
    views = kp.reshape(len(rig), -1, 3)[:, keep]
    usable = (views[..., 2] >= min_confidence) & np.all(np.isfinite(views[..., :2]), axis=2)
    return _Problem(flat[keep], views[..., :2], usable)


def _rotated(camera: Camera, increment: FloatArray) -> Camera:
    """``camera`` turned by the rotation vector ``increment`` about its own centre."""
    rotation = cv2.Rodrigues(np.asarray(increment, dtype=np.float64))[0] @ camera.rotation_matrix
    centre = camera.center
    return dataclasses.replace(
        camera,
        rotation=cv2.Rodrigues(rotation)[0].ravel(),
        translation=-rotation @ centre,
    )


def _residuals(rig: CameraRig, problem: _Problem, x: FloatArray) -> FloatArray:
    """(C * P * 2,) pixel residuals, 0 for unusable views."""
    n_cams = len(rig)
    increments = x[: 3 * n_cams].reshape(n_cams, 3)
    points = x[3 * n_cams :].reshape(-1, 3)
    out = np.zeros((n_cams, points.shape[0], 2))
    for c, cam in enumerate(rig):
        projected = _rotated(cam, increments[c]).project(points)
        out[c] = np.where(problem.usable[c][:, None], projected - problem.pixels[c], 0.0)
    prior = PRIOR_PX_PER_RAD * increments.ravel()
    return np.concatenate([np.nan_to_num(out).ravel(), prior])


def _sparsity(n_cams: int, n_points: int) -> csr_matrix:
    """Which unknowns each residual depends on: its camera's 3 and its point's 3."""
    rows = np.arange(n_cams * n_points * 2)
    camera = rows // (2 * n_points)
    point = (rows % (2 * n_points)) // 2
    cols = np.concatenate(
        [3 * camera[:, None] + np.arange(3), 3 * (n_cams + point)[:, None] + np.arange(3)], axis=1
    )
    prior_rows = rows.size + np.arange(3 * n_cams)  # each increment's own prior residual
    all_rows = np.concatenate([np.repeat(rows, 6), prior_rows])
    all_cols = np.concatenate([cols.ravel(), np.arange(3 * n_cams)])
    data = np.ones(all_cols.size, dtype=np.int8)
    shape = (rows.size + 3 * n_cams, 3 * (n_cams + n_points))
    return csr_matrix((data, (all_rows, all_cols)), shape=shape)


def _solve(rig: CameraRig, problem: _Problem) -> tuple[FloatArray, FloatArray]:
    """(C, 3) rotation increments and (P, 3) refined points."""
    n_cams, n_points = len(rig), problem.seeds.shape[0]
    x0 = np.concatenate([np.zeros(3 * n_cams), problem.seeds.ravel()])
    result = least_squares(
        lambda x: _residuals(rig, problem, x),
        x0,
        jac_sparsity=_sparsity(n_cams, n_points),
        loss="soft_l1",
        f_scale=LOSS_SCALE_PX,
        x_scale="jac",
        max_nfev=MAX_EVALUATIONS,
    )
    return result.x[: 3 * n_cams].reshape(n_cams, 3), result.x[3 * n_cams :].reshape(-1, 3)


def _median_error(rig: CameraRig, points: FloatArray, problem: _Problem) -> float:
    """Median pixel distance over the usable views of ``points``."""
    errors = [
        np.hypot(*(cam.project(points)[problem.usable[c]] - problem.pixels[c][problem.usable[c]]).T)
        for c, cam in enumerate(rig)
    ]
    joined = np.concatenate(errors)
    return float(np.median(joined)) if joined.size else math.nan
