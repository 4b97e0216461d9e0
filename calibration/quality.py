"""Calibration quality that needs no ground truth: the board measured by the cameras.

Every board corner seen by two or more cameras is triangulated with the calibration;
the distances between neighbouring corners must equal the printed square size, and the
corners must re-project onto their detections.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from calibration.camera import CameraRig
from calibration.geometry import FloatArray
from calibration.intrinsics import BoardView
from mocap.triangulation import triangulate


class MeasuredBoard(Protocol):
    """A board with a known square size and neighbouring corner pairs."""

    square_size_m: float

    def corner_points(self) -> FloatArray:
        """(N, 3) corner coordinates, metres."""
        ...

    def neighbour_pairs(self) -> NDArray[np.intp]:
        """(M, 2) ids of corners one square apart."""
        ...


@dataclass(frozen=True)
class BoardSizeCheck:
    """Error of triangulated neighbour distances against the true square size.

    Attributes
    ----------
    rms_mm, p95_mm : float
        RMS and 95th percentile of |distance - square|, millimetres.
    n_pairs : int
        Neighbour pairs measured.
    reprojection_rms_px : dict of str to float
        Per camera, RMS distance between the detections and the re-projection of the
        corners triangulated from all cameras.
    deviations_mm : (n_pairs,) float array
        Signed distance - square of every measured pair, millimetres (read-only; empty
        when not kept): a scale error shifts them all. Not compared by ``==``.
    """

    rms_mm: float
    p95_mm: float
    n_pairs: int
    reprojection_rms_px: dict[str, float]
    deviations_mm: FloatArray = field(
        default_factory=lambda: np.zeros(0), compare=False, repr=False
    )


def views_to_keypoints(
    rig: CameraRig, views: Sequence[BoardView], n_corners: int
) -> tuple[FloatArray, list[int]]:
    """Detections as a (C, F, N, 3) keypoint array (x, y, confidence 1) and the frame list."""
    frames = sorted({v.frame for v in views if v.camera in rig.names})
    index = {f: i for i, f in enumerate(frames)}
    keypoints = np.full((len(rig), len(frames), n_corners, 3), np.nan)
    keypoints[..., 2] = 0.0
    cams = {name: i for i, name in enumerate(rig.names)}
    for v in views:
        if v.camera in cams:
            keypoints[cams[v.camera], index[v.frame], v.ids, :2] = v.corners
            keypoints[cams[v.camera], index[v.frame], v.ids, 2] = 1.0
    return keypoints, frames


def board_size_check(
    rig: CameraRig, views: Sequence[BoardView], board: MeasuredBoard
) -> BoardSizeCheck:
    """Triangulate the board's corners with ``rig`` and measure its squares.

    Parameters
    ----------
    rig : CameraRig
        The calibration to check.
    views : sequence of BoardView
        Board detections of the rig's cameras.
    board : MeasuredBoard
        The board, with its true square size.
    """
    keypoints, _ = views_to_keypoints(rig, views, len(board.corner_points()))
    result = triangulate(rig, keypoints, min_confidence=0.5)
    pairs = board.neighbour_pairs()
    a, b = result.points3d[:, pairs[:, 0]], result.points3d[:, pairs[:, 1]]
    deviation = (np.linalg.norm(a - b, axis=-1) - board.square_size_m) * 1000.0
    deviation = deviation[np.isfinite(deviation)]
    deviation.flags.writeable = False
    error = np.abs(deviation)
    reprojection = _reprojection_rms(rig, keypoints, result.points3d)
    if error.size == 0:
        return BoardSizeCheck(float("nan"), float("nan"), 0, reprojection)
    return BoardSizeCheck(
        rms_mm=float(np.sqrt(np.mean(error**2))),
        p95_mm=float(np.percentile(error, 95)),
        n_pairs=int(error.size),
        reprojection_rms_px=reprojection,
        deviations_mm=deviation,
    )


def _reprojection_rms(
    rig: CameraRig, keypoints: FloatArray, points3d: FloatArray
) -> dict[str, float]:
    """Per-camera RMS (px) between detections (C, F, N, 3) and re-projected points (F, N, 3)."""
    projected = rig.project(points3d.reshape(-1, 3)).reshape(*keypoints.shape[:3], 2)
    distance = np.linalg.norm(projected - keypoints[..., :2], axis=-1)
    out = {}
    for i, name in enumerate(rig.names):
        seen = distance[i][np.isfinite(distance[i])]
        out[name] = float(np.sqrt(np.mean(seen**2))) if seen.size else float("nan")
    return out
