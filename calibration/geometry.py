"""Rigid poses and batched pinhole projection used by the calibration solvers.

A pose ``(rvec, tvec)`` maps points from a source frame to a target frame:
``x_target = R(rvec) x_source + tvec``. Arrays of poses stack along the first axis.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

FloatArray = NDArray[np.float64]


def pose_matrix(rvec: FloatArray, tvec: FloatArray) -> FloatArray:
    """4x4 homogeneous matrix of a pose; rvec (3,) Rodrigues, tvec (3,)."""
    out = np.eye(4)
    out[:3, :3] = Rotation.from_rotvec(np.array(rvec, dtype=float)).as_matrix()
    out[:3, 3] = tvec
    return out


def pose_vectors(matrix: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Rodrigues vector (3,) and translation (3,) of a 4x4 pose matrix."""
    return Rotation.from_matrix(matrix[:3, :3]).as_rotvec(), matrix[:3, 3].copy()


def invert_pose(matrix: FloatArray) -> FloatArray:
    """Inverse of a 4x4 rigid pose matrix."""
    out = np.eye(4)
    out[:3, :3] = matrix[:3, :3].T
    out[:3, 3] = -matrix[:3, :3].T @ matrix[:3, 3]
    return out


def mean_pose(matrices: list[FloatArray]) -> FloatArray:
    """Robust average of 4x4 poses: chordal mean rotation, median translation."""
    rotations = Rotation.from_matrix(np.stack([m[:3, :3] for m in matrices]))
    out = np.eye(4)
    out[:3, :3] = rotations.mean().as_matrix()
    out[:3, 3] = np.median(np.stack([m[:3, 3] for m in matrices]), axis=0)
    return out


def transform_points(rvecs: FloatArray, tvecs: FloatArray, points: FloatArray) -> FloatArray:
    """Apply one pose per point: rvecs (N, 3), tvecs (N, 3), points (N, 3) -> (N, 3)."""
    return Rotation.from_rotvec(rvecs).apply(points) + tvecs


def distort_pinhole(xy: FloatArray, distortion: FloatArray) -> FloatArray:
    """OpenCV's 5-term lens distortion of normalised image coordinates.

    Parameters
    ----------
    xy : (N, 2) float array
        Ideal normalised coordinates (x/z, y/z).
    distortion : (5,) or (N, 5) float array
        k1, k2, p1, p2, k3: one lens for all points, or one per point.

    Returns
    -------
    (N, 2) float array
        Distorted normalised coordinates, as ``cv2.projectPoints`` computes them.
    """
    k1, k2, p1, p2, k3 = np.asarray(distortion, dtype=float).T
    x, y = xy[:, 0], xy[:, 1]
    r2 = x * x + y * y
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    return np.column_stack([xd, yd])


def distort_project(
    camera_points: FloatArray, matrices: FloatArray, distortions: FloatArray
) -> FloatArray:
    """Pinhole projection with OpenCV's 5-term distortion, one camera model per point.

    Parameters
    ----------
    camera_points : (N, 3) float array
        Points in their camera's frame, metres.
    matrices : (N, 3, 3) float array
        Camera matrix of each point's camera.
    distortions : (N, 5) float array
        k1, k2, p1, p2, k3 of each point's camera.

    Returns
    -------
    (N, 2) float array
        Pixels, as ``cv2.projectPoints`` gives them.
    """
    distorted = distort_pinhole(camera_points[:, :2] / camera_points[:, 2:3], distortions)
    u = matrices[:, 0, 0] * distorted[:, 0] + matrices[:, 0, 2]
    v = matrices[:, 1, 1] * distorted[:, 1] + matrices[:, 1, 2]
    return np.column_stack([u, v])
