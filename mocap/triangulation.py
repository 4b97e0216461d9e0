"""Batched multi-view triangulation: every frame and keypoint solved in one call.

Points are undistorted and normalised per camera, then each 3D point solves a
confidence-weighted linear (DLT) system. The 3x3 normal equations of all points are
built with einsum and solved by one batched ``numpy.linalg.solve``: no Python loop per
point or per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from calibration.camera import CameraRig

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Triangulation:
    """Result of triangulating T frames of J keypoints.

    Attributes
    ----------
    points3d : (T, J, 3) float64 array
        World positions, metres; NaN where fewer than two views were usable.
    reprojection_error : (T, J) float64 array
        Mean distance in pixels between the observed and re-projected 2D points over the
        views used; NaN where not reconstructed.
    n_views : (T, J) uint8 array
        Number of cameras used for each point.
    """

    points3d: FloatArray
    reprojection_error: FloatArray
    n_views: NDArray[np.uint8]


def _check_inputs(rig: CameraRig, keypoints2d: NDArray) -> None:
    """Raise a ValueError unless ``keypoints2d`` is (C, T, J, 3) with C = cameras of ``rig``."""
    if keypoints2d.ndim != 4 or keypoints2d.shape[3] != 3:
        msg = f"keypoints2d must be (C, T, J, 3) = x, y, confidence; got {keypoints2d.shape}"
        raise ValueError(msg)
    if keypoints2d.shape[0] != len(rig):
        msg = (
            f"keypoints2d has {keypoints2d.shape[0]} cameras but the calibration has "
            f"{len(rig)} ({', '.join(rig.names)})"
        )
        raise ValueError(msg)


def _weights(keypoints2d: FloatArray, min_confidence: float) -> FloatArray:
    """Per-view weights (C, M): the confidence where usable, else 0."""
    usable = np.isfinite(keypoints2d[..., :2]).all(axis=-1)
    usable &= keypoints2d[..., 2] >= min_confidence
    return np.where(usable, keypoints2d[..., 2], 0.0)


def _normalised(rig: CameraRig, pixels: FloatArray) -> FloatArray:
    """Undistorted normalised image coordinates (C, M, 2) of pixels (C, M, 2)."""
    return np.stack([cam.normalized_points(p) for cam, p in zip(rig, pixels, strict=True)])


def _solve_dlt(rig: CameraRig, normalised: FloatArray, weights: FloatArray) -> FloatArray:
    """Least-squares points (M, 3) from normalised views (C, M, 2) and weights (C, M)."""
    extrinsics = np.stack(
        [np.hstack([cam.rotation_matrix, cam.translation[:, None]]) for cam in rig]
    )  # (C, 3, 4)
    xy = np.nan_to_num(normalised)
    # Rows x * P3 - P1 and y * P3 - P2, each (C, M, 4), weighted.
    rows_x = xy[..., 0, None] * extrinsics[:, None, 2] - extrinsics[:, None, 0]
    rows_y = xy[..., 1, None] * extrinsics[:, None, 2] - extrinsics[:, None, 1]
    rows = np.concatenate([rows_x, rows_y]) * np.concatenate([weights, weights])[..., None]
    a, b = rows[..., :3], -rows[..., 3]
    normal = np.einsum("cmi,cmj->mij", a, a)
    rhs = np.einsum("cmi,cm->mi", a, b)
    solvable = (weights > 0).sum(axis=0) >= 2
    normal[~solvable] = np.eye(3)
    points = np.linalg.solve(normal, rhs[..., None])[..., 0]
    points[~solvable] = np.nan
    return points


def _reprojection(
    rig: CameraRig, points: FloatArray, pixels: FloatArray, weights: FloatArray
) -> tuple[FloatArray, NDArray[np.uint8]]:
    """Mean reprojection error (M,) over used views and the number of views used (M,)."""
    projected = rig.project(points)  # (C, M, 2)
    used = weights > 0
    distance = np.linalg.norm(projected - pixels, axis=-1)
    count = used.sum(axis=0)
    total = np.where(used, distance, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        error = np.where(np.isfinite(points[:, 0]), total / count, np.nan)
    n_views = np.where(np.isfinite(points[:, 0]), count, 0).astype(np.uint8)
    return error, n_views


def triangulate(rig: CameraRig, keypoints2d: NDArray, min_confidence: float = 0.3) -> Triangulation:
    """Triangulate every keypoint of every frame seen by at least two cameras.

    Parameters
    ----------
    rig : CameraRig
        The C calibrated cameras, in the order of ``keypoints2d``'s first axis.
    keypoints2d : (C, T, J, 3) float array
        Pixel x, pixel y and confidence per camera, frame and keypoint; NaN x/y where
        not detected.
    min_confidence : float
        Views below this confidence are ignored.

    Returns
    -------
    Triangulation
        Points (T, J, 3) in metres, reprojection error (T, J) in pixels and the number
        of views used (T, J).
    """
    keypoints2d = np.asarray(keypoints2d, dtype=np.float64)
    _check_inputs(rig, keypoints2d)
    n_c, n_t, n_j, _ = keypoints2d.shape
    flat = keypoints2d.reshape(n_c, n_t * n_j, 3)
    weights = _weights(flat, min_confidence)
    pixels = np.where(weights[..., None] > 0, flat[..., :2], np.nan)
    points = _solve_dlt(rig, _normalised(rig, pixels), weights)
    error, n_views = _reprojection(rig, points, pixels, weights)
    return Triangulation(
        points3d=points.reshape(n_t, n_j, 3),
        reprojection_error=error.reshape(n_t, n_j),
        n_views=n_views.reshape(n_t, n_j),
    )
