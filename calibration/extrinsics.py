"""Initial camera poses from shared board views: PnP per view, pair poses, spanning tree.

Every camera that sees the board in a frame gives the board's pose in that camera
(solvePnP). Two cameras that saw the board in the same frames give their relative pose;
a maximum spanning tree over the camera graph (edge weight = shared frames) chains
the best-connected pairs into one pose per camera, relative to a root camera.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components, minimum_spanning_tree

from calibration.camera import Camera
from calibration.geometry import FloatArray, invert_pose, mean_pose, pose_matrix
from calibration.intrinsics import MIN_CORNERS, BoardPoints, BoardView


class CalibrationError(ValueError):
    """Calibration cannot proceed; the message names the camera or file and what to do."""


@dataclass(frozen=True, eq=False)
class ViewPoses:
    """Board poses seen by each camera: ``poses[(camera, frame)]`` = 4x4 camera <- board."""

    poses: dict[tuple[str, int], FloatArray]

    def frames(self, camera: str) -> set[int]:
        """Frames in which ``camera`` has a board pose."""
        return {f for (c, f) in self.poses if c == camera}


def _pnp(camera: Camera, obj: FloatArray, pixels: FloatArray) -> FloatArray | None:
    """Camera <- board pose (4, 4) from one view by IPPE + Levenberg-Marquardt, or None.

    Fisheye pixels are first turned into ideal normalised coordinates (identity matrix,
    no distortion), since OpenCV's PnP only knows the pinhole model.
    """
    matrix, distortion = camera.matrix, camera.distortion
    if camera.fisheye:
        pixels = camera.normalized_points(pixels)
        matrix, distortion = np.eye(3), np.zeros(5)
        if not np.all(np.isfinite(pixels)):
            return None
    ok, rvec, tvec = cv2.solvePnP(obj, pixels, matrix, distortion, flags=cv2.SOLVEPNP_IPPE)
    if not ok:
        return None
    rvec, tvec = cv2.solvePnPRefineLM(obj, pixels, matrix, distortion, rvec, tvec)
    return pose_matrix(rvec.ravel(), tvec.ravel())


def board_poses(
    cameras: Mapping[str, Camera], views: Sequence[BoardView], board: BoardPoints
) -> ViewPoses:
    """Board pose (4x4, camera <- board) of every view with enough corners, by solvePnP."""
    corners3d = board.corner_points()
    poses = {}
    for view in views:
        if len(view.ids) < MIN_CORNERS:
            continue
        obj = corners3d[view.ids].astype(np.float64)
        pose = _pnp(cameras[view.camera], obj, view.corners.astype(np.float64))
        if pose is not None:
            poses[(view.camera, view.frame)] = pose
    return ViewPoses(poses)


def _pair_counts(names: Sequence[str], poses: ViewPoses) -> FloatArray:
    """(C, C) number of frames each pair of cameras both saw the board in."""
    frames = [poses.frames(n) for n in names]
    counts = np.zeros((len(names), len(names)))
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            counts[i, j] = counts[j, i] = len(frames[i] & frames[j])
    return counts


def _check_connected(names: Sequence[str], counts: FloatArray) -> None:
    """Raise CalibrationError naming every camera not linked to the largest group."""
    n_groups, labels = connected_components(csr_matrix(counts > 0), directed=False)
    if n_groups == 1:
        return
    main = np.bincount(labels).argmax()
    lonely = [n for n, lab in zip(names, labels, strict=True) if lab != main]
    linked = [n for n, lab in zip(names, labels, strict=True) if lab == main]
    msg = (
        f"camera {', '.join(lonely)} shares no board views with the others: film the board "
        f"so that it is seen at the same time by {', '.join(lonely)} and at least one of "
        f"{', '.join(linked)}"
    )
    raise CalibrationError(msg)


def _relative_pose(poses: ViewPoses, a: str, b: str) -> FloatArray:
    """Pose b <- a (4x4) averaged over the frames both cameras saw the board in."""
    shared = sorted(poses.frames(a) & poses.frames(b))
    estimates = [poses.poses[(b, f)] @ invert_pose(poses.poses[(a, f)]) for f in shared]
    return mean_pose(estimates)


def initial_camera_poses(
    names: Sequence[str], poses: ViewPoses
) -> tuple[str, dict[str, FloatArray]]:
    """The best-connected camera (root) and each camera's pose (4x4, camera <- root).

    Raises
    ------
    CalibrationError
        When a camera shares no board view with the others.
    """
    counts = _pair_counts(names, poses)
    _check_connected(names, counts)
    root = int(np.argmax(counts.sum(axis=1)))
    weights = np.where(counts > 0, 1.0 / np.maximum(counts, 1), 0.0)
    tree = minimum_spanning_tree(csr_matrix(weights))
    tree = tree + tree.T
    order, parents = breadth_first_order(tree, root, directed=False)
    result = {names[root]: np.eye(4)}
    for node in order[1:]:
        parent = names[parents[node]]
        result[names[node]] = _relative_pose(poses, parent, names[node]) @ result[parent]
    return names[root], result


def initial_board_poses(
    camera_poses: Mapping[str, FloatArray], poses: ViewPoses
) -> dict[int, FloatArray]:
    """Pose of the board in every frame seen by any camera (4x4, root <- board)."""
    by_frame: dict[int, list[FloatArray]] = {}
    for (camera, frame), cam_board in poses.poses.items():
        by_frame.setdefault(frame, []).append(invert_pose(camera_poses[camera]) @ cam_board)
    return {frame: mean_pose(estimates) for frame, estimates in sorted(by_frame.items())}
