"""Synthetic board sessions for calibration: a board waved in front of a rig, exact corners.

Detections are the exact projections of the board corners plus Gaussian noise, for the
cameras that face the board's printed side; rendering real images is ``datasets.render``.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from calibration.camera import CameraRig
from calibration.detection import BoardDetection
from datasets.synthetic.body import FloatArray


class CornerBoard(Protocol):
    """A board with corner coordinates (N, 3), metres, z = 0."""

    def corner_points(self) -> FloatArray:
        """(N, 3) corner coordinates."""
        ...


def _board_rotation(yaw: float, elevation: float, roll: float) -> FloatArray:
    """World <- board rotation of a board whose printed side faces (yaw, elevation), rad."""
    facing = np.array(
        [np.cos(yaw) * np.cos(elevation), np.sin(yaw) * np.cos(elevation), np.sin(elevation)]
    )
    z_axis = -facing  # OpenCV board z points into the board, away from its viewers
    across = np.cross([0.0, 0.0, 1.0], facing)
    across /= np.linalg.norm(across)
    down = np.cross(z_axis, across)
    x_axis = np.cos(roll) * across + np.sin(roll) * down
    y_axis = np.cross(z_axis, x_axis)
    return np.column_stack([x_axis, y_axis, z_axis])


def floor_pose() -> FloatArray:
    """World <- board pose (4, 4) of a board lying face up with its origin at the world's."""
    return np.diag([1.0, -1.0, -1.0, 1.0])


def waving_poses(
    board: CornerBoard, n_frames: int, seed: int = 0, centre_m: tuple = (0.0, 0.0, 1.1)
) -> list[FloatArray]:
    """World <- board poses (4, 4) of a board waved around ``centre_m``, facing all ways.

    The first pose is the board lying on the floor at the origin (``floor_pose``).
    """
    rng = np.random.default_rng(seed)
    corners = board.corner_points()
    middle = (corners.min(axis=0) + corners.max(axis=0)) / 2
    poses = [floor_pose()]
    for _ in range(n_frames - 1):
        rotation = _board_rotation(
            rng.uniform(0, 2 * np.pi),
            np.deg2rad(rng.uniform(-25, 25)),
            np.deg2rad(rng.uniform(-30, 30)),
        )
        centre = np.asarray(centre_m) + rng.uniform([-0.6, -0.6, -0.4], [0.6, 0.6, 0.4])
        pose = np.eye(4)
        pose[:3, :3] = rotation
        pose[:3, 3] = centre - rotation @ middle
        poses.append(pose)
    return poses


def project_views(
    rig: CameraRig,
    board: CornerBoard,
    poses: list[FloatArray],
    noise_px: float = 0.3,
    seed: int = 0,
    max_angle_deg: float = 75.0,
    min_corners: int = 6,
) -> list[BoardDetection]:
    """Detections of the board in every camera that faces its printed side.

    Parameters
    ----------
    rig : CameraRig
        The true cameras.
    board : CornerBoard
        The board.
    poses : list of (4, 4) float arrays
        World <- board pose per frame.
    noise_px : float
        Standard deviation of the Gaussian noise added to each corner, pixels.
    seed : int
        Noise seed.
    max_angle_deg : float
        Cameras further than this from the board's normal do not detect it.
    min_corners : int
        Views with fewer corners inside the image are dropped.
    """
    rng = np.random.default_rng(seed)
    local = board.corner_points()
    views = []
    for frame, pose in enumerate(poses):
        world = local @ pose[:3, :3].T + pose[:3, 3]
        facing = -pose[:3, 2]
        for cam in rig:
            to_cam = cam.center - world.mean(axis=0)
            cos = facing @ to_cam / np.linalg.norm(to_cam)
            if cos < np.cos(np.deg2rad(max_angle_deg)):
                continue
            pixels = cam.project(world)
            w, h = cam.size
            inside = np.isfinite(pixels).all(axis=1)
            inside &= (pixels[:, 0] >= 0) & (pixels[:, 0] <= w - 1)
            inside &= (pixels[:, 1] >= 0) & (pixels[:, 1] <= h - 1)
            if inside.sum() < min_corners:
                continue
            noisy = pixels[inside] + rng.normal(0.0, noise_px, (int(inside.sum()), 2))
            ids = np.flatnonzero(inside).astype(np.int32)
            views.append(BoardDetection(cam.name, frame, ids, noisy, cam.size))
    return views
