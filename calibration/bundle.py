"""Bundle adjustment of camera poses and board poses (optionally intrinsics) together.

One ``scipy.optimize.least_squares`` problem over every board corner seen by every
camera, with a sparse Jacobian (each residual depends on one camera and one board
pose) and a robust loss so that a few bad detections cannot pull the solution. The
root camera's pose is fixed to remove the gauge freedom; metric scale comes from the
board's known corner coordinates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import least_squares
from scipy.sparse import lil_matrix

from calibration.camera import Camera
from calibration.geometry import (
    FloatArray,
    distort_project,
    pose_matrix,
    pose_vectors,
    transform_points,
)
from calibration.intrinsics import MIN_CORNERS, BoardPoints, BoardView

N_INTRINSICS = 9
"""fx, fy, cx, cy, k1, k2, p1, p2, k3."""


@dataclass(frozen=True, eq=False)
class Observations:
    """Every corner observation, flattened (M of them).

    Attributes
    ----------
    camera : (M,) int array
        Index of the observing camera.
    frame : (M,) int array
        Index of the board pose (into the sorted frame list).
    points : (M, 3) float array
        Corner in board coordinates, metres.
    pixels : (M, 2) float array
        Detected corner, pixels.
    """

    camera: NDArray[np.intp]
    frame: NDArray[np.intp]
    points: FloatArray
    pixels: FloatArray


@dataclass(frozen=True, eq=False)
class BundleResult:
    """Refined poses and how well they explain the detections.

    Attributes
    ----------
    cameras : dict of str to Camera
        Cameras in the root camera's frame (intrinsics refined when asked).
    board_poses : dict of int to (4, 4) float array
        Root <- board pose of every frame used.
    rms_px : dict of str to float
        RMS reprojection error of each camera's corners.
    success : bool
        Whether the optimiser converged.
    message : str
        The optimiser's own words.
    """

    cameras: dict[str, Camera]
    board_poses: dict[int, FloatArray]
    rms_px: dict[str, float]
    success: bool
    message: str


def gather_observations(
    views: Sequence[BoardView], names: Sequence[str], frames: Sequence[int], board: BoardPoints
) -> Observations:
    """Flatten the views of the listed cameras and frames into observation arrays."""
    cam_index = {n: i for i, n in enumerate(names)}
    frame_index = {f: i for i, f in enumerate(frames)}
    corners3d = board.corner_points()
    keep = [
        v
        for v in views
        if v.camera in cam_index and v.frame in frame_index and len(v.ids) >= MIN_CORNERS
    ]
    return Observations(
        camera=np.concatenate([np.full(len(v.ids), cam_index[v.camera]) for v in keep]),
        frame=np.concatenate([np.full(len(v.ids), frame_index[v.frame]) for v in keep]),
        points=np.concatenate([corners3d[v.ids] for v in keep]).astype(np.float64),
        pixels=np.concatenate([v.corners for v in keep]).astype(np.float64),
    )


class _Problem:
    """Parameter layout and residuals: [camera poses][board poses][intrinsics]."""

    def __init__(self, cameras: Sequence[Camera], root: int, n_frames: int, intr: bool) -> None:
        self.cameras = cameras
        self.root = root
        self.n_cams = len(cameras)
        self.n_frames = n_frames
        self.intr = intr
        self.board_start = 6 * self.n_cams
        self.intr_start = self.board_start + 6 * n_frames

    def unpack(self, x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Camera poses (C, 6), board poses (F, 6), matrices (C, 3, 3), distortions (C, 5)."""
        cams = x[: self.board_start].reshape(self.n_cams, 6).copy()
        cams[self.root] = 0.0
        boards = x[self.board_start : self.intr_start].reshape(self.n_frames, 6)
        if self.intr:
            values = x[self.intr_start :].reshape(self.n_cams, N_INTRINSICS)
        else:
            values = np.stack([_intrinsics_vector(c) for c in self.cameras])
        matrices = np.zeros((self.n_cams, 3, 3))
        matrices[:, 0, 0], matrices[:, 1, 1] = values[:, 0], values[:, 1]
        matrices[:, 0, 2], matrices[:, 1, 2], matrices[:, 2, 2] = values[:, 2], values[:, 3], 1.0
        return cams, boards, matrices, values[:, 4:]

    def residuals(self, x: FloatArray, obs: Observations) -> FloatArray:
        """(2M,) projected minus detected pixels."""
        cams, boards, matrices, dists = self.unpack(x)
        b, c = boards[obs.frame], cams[obs.camera]
        in_root = transform_points(b[:, :3], b[:, 3:], obs.points)
        in_cam = transform_points(c[:, :3], c[:, 3:], in_root)
        projected = distort_project(in_cam, matrices[obs.camera], dists[obs.camera])
        return (projected - obs.pixels).ravel()

    def sparsity(self, obs: Observations) -> lil_matrix:
        """Which parameters each residual depends on."""
        n_params = self.intr_start + (N_INTRINSICS * self.n_cams if self.intr else 0)
        pattern = lil_matrix((2 * len(obs.camera), n_params), dtype=np.int8)
        rows = np.arange(len(obs.camera))
        moving = obs.camera != self.root  # the root camera's pose is held fixed
        for k in range(6):
            for axis in (0, 1):
                pattern[2 * rows[moving] + axis, 6 * obs.camera[moving] + k] = 1
                pattern[2 * rows + axis, self.board_start + 6 * obs.frame + k] = 1
        if self.intr:
            for k in range(N_INTRINSICS):
                for axis in (0, 1):
                    pattern[2 * rows + axis, self.intr_start + N_INTRINSICS * obs.camera + k] = 1
        return pattern


def _intrinsics_vector(camera: Camera) -> FloatArray:
    """(9,) fx, fy, cx, cy, k1, k2, p1, p2, k3 of a pinhole camera."""
    k = camera.matrix
    return np.concatenate([[k[0, 0], k[1, 1], k[0, 2], k[1, 2]], camera.distortion])


def _initial_vector(
    problem: _Problem, camera_poses: Sequence[FloatArray], board_poses: Sequence[FloatArray]
) -> FloatArray:
    """Starting parameters from 4x4 camera <- root and root <- board poses."""
    parts = [np.concatenate(pose_vectors(m)) for m in camera_poses]
    parts += [np.concatenate(pose_vectors(m)) for m in board_poses]
    if problem.intr:
        parts += [_intrinsics_vector(c) for c in problem.cameras]
    return np.concatenate(parts)


def _result(
    problem: _Problem, x: FloatArray, obs: Observations, frames: Sequence[int], fit: object
) -> BundleResult:
    """Package the optimised vector as cameras, board poses and per-camera errors."""
    cams, boards, matrices, dists = problem.unpack(x)
    residual = problem.residuals(x, obs).reshape(-1, 2)
    cameras, rms = {}, {}
    for i, cam in enumerate(problem.cameras):
        cameras[cam.name] = replace(
            cam,
            matrix=matrices[i],
            distortion=dists[i],
            rotation=cams[i, :3],
            translation=cams[i, 3:],
        )
        mine = residual[obs.camera == i]
        rms[cam.name] = float(np.sqrt(np.mean(np.sum(mine**2, axis=1))))
    poses = {f: pose_matrix(boards[j, :3], boards[j, 3:]) for j, f in enumerate(frames)}
    return BundleResult(cameras, poses, rms, bool(fit.success), str(fit.message))


def bundle_adjust(
    cameras: Mapping[str, Camera],
    camera_poses: Mapping[str, FloatArray],
    board_poses: Mapping[int, FloatArray],
    views: Sequence[BoardView],
    board: BoardPoints,
    root: str,
    refine_intrinsics: bool = False,
    f_scale_px: float = 1.0,
) -> BundleResult:
    """Refine all camera and board poses together (pinhole cameras).

    Parameters
    ----------
    cameras : mapping of str to Camera
        Cameras with their intrinsics (their poses are ignored).
    camera_poses : mapping of str to (4, 4) float array
        Initial camera <- root pose of every camera; ``root``'s must be the identity.
    board_poses : mapping of int to (4, 4) float array
        Initial root <- board pose per frame.
    views : sequence of BoardView
        Detections of every camera.
    board : BoardPoints
        The board seen.
    root : str
        The camera whose frame is the reference (held fixed).
    refine_intrinsics : bool
        Also refine focal lengths, principal points and distortion.
    f_scale_px : float
        Residual (pixels) beyond which the Huber loss grows linearly.

    Returns
    -------
    BundleResult
        Cameras posed in the root frame, board poses and per-camera RMS error.
    """
    names = list(camera_poses)
    frames = sorted(board_poses)
    obs = gather_observations(views, names, frames, board)
    problem = _Problem(
        [cameras[n] for n in names], names.index(root), len(frames), refine_intrinsics
    )
    x0 = _initial_vector(
        problem, [camera_poses[n] for n in names], [board_poses[f] for f in frames]
    )
    fit = least_squares(
        problem.residuals,
        x0,
        jac_sparsity=problem.sparsity(obs),
        loss="huber",
        f_scale=f_scale_px,
        x_scale="jac",
        method="trf",
        args=(obs,),
        max_nfev=200,
    )
    return _result(problem, fit.x, obs, frames, fit)
