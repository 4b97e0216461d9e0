"""Bundle adjustment of camera poses and board poses (optionally intrinsics) together.

One least-squares problem over every board corner seen by every camera, with an
analytic sparse Jacobian (each residual depends on one camera and one board pose), a
robust loss, and one pass that drops corners far off the first solution, so that a few
misdetections cannot pull it. The
root camera's pose is fixed to remove the gauge freedom; metric scale comes from the
board's known corner coordinates.

The Jacobian is exact: per view, ``cv2.composeRT`` chains the board pose and the camera
pose and gives the derivatives of the composition, and ``cv2.projectPoints`` gives the
derivatives of the projection (pose, focal length, principal point, distortion). The
solver (``calibration.lm``) eliminates the board poses by a Schur complement and converges
in a few tens of exact steps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix

from calibration.camera import Camera
from calibration.geometry import FloatArray, pose_matrix, pose_vectors
from calibration.intrinsics import MIN_CORNERS, BoardPoints, BoardView
from calibration.lm import SolverResult, levenberg_marquardt

N_INTRINSICS = 9
"""fx, fy, cx, cy, then k1, k2, p1, p2, k3 (pinhole) or k1-k4 and an unused slot (fisheye)."""

OUTLIER_PX = 1.5
"""Corners farther than this (and 5 robust sigmas) from the first solution are dropped."""

MAX_ITERATIONS = 100
"""Most Jacobian evaluations; synthetic and real sessions converge in 10-40."""


@dataclass(frozen=True, eq=False)
class Observations:
    """Every corner observation, grouped by view (V views, M corners in all).

    Attributes
    ----------
    camera : (V,) int array
        Index of the observing camera of each view.
    frame : (V,) int array
        Index of the board pose (into the sorted frame list) of each view.
    starts : (V + 1,) int array
        View ``v``'s corners are rows ``starts[v]:starts[v + 1]`` of the arrays below.
    points : (M, 3) float array
        Corner in board coordinates, metres.
    pixels : (M, 2) float array
        Detected corner, pixels.
    """

    camera: NDArray[np.intp]
    frame: NDArray[np.intp]
    starts: NDArray[np.intp]
    points: FloatArray
    pixels: FloatArray

    @property
    def corner_camera(self) -> NDArray[np.intp]:
        """(M,) camera index of every corner."""
        return np.repeat(self.camera, np.diff(self.starts))


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
    iterations : int
        Jacobian evaluations used.
    """

    cameras: dict[str, Camera]
    board_poses: dict[int, FloatArray]
    rms_px: dict[str, float]
    success: bool
    message: str
    iterations: int = 0


def gather_observations(
    views: Sequence[BoardView], names: Sequence[str], frames: Sequence[int], board: BoardPoints
) -> Observations:
    """Group the views of the listed cameras and frames into observation arrays."""
    cam_index = {n: i for i, n in enumerate(names)}
    frame_index = {f: i for i, f in enumerate(frames)}
    corners3d = board.corner_points()
    keep = [
        v
        for v in views
        if v.camera in cam_index and v.frame in frame_index and len(v.ids) >= MIN_CORNERS
    ]
    return Observations(
        camera=np.array([cam_index[v.camera] for v in keep], dtype=np.intp),
        frame=np.array([frame_index[v.frame] for v in keep], dtype=np.intp),
        starts=np.concatenate([[0], np.cumsum([len(v.ids) for v in keep])]).astype(np.intp),
        points=np.concatenate([corners3d[v.ids] for v in keep]).astype(np.float64),
        pixels=np.concatenate([v.corners for v in keep]).astype(np.float64),
    )


def _intrinsics_vector(camera: Camera) -> FloatArray:
    """(9,) fx, fy, cx, cy and the distortion (fisheye: k1-k4 and a 0 that never moves)."""
    k = camera.matrix
    values = np.zeros(N_INTRINSICS)
    values[:4] = k[0, 0], k[1, 1], k[0, 2], k[1, 2]
    values[4 : 4 + len(camera.distortion)] = camera.distortion
    return values


def _project(
    points: FloatArray, rvec: FloatArray, tvec: FloatArray, values: FloatArray, fisheye: bool
) -> tuple[FloatArray, FloatArray]:
    """Pixels (n, 2) and the (2n, 15) Jacobian by r, t (3 + 3), then the 9 intrinsics."""
    if not fisheye:
        projected, jac = cv2.projectPoints(points, rvec, tvec, _matrix(values), values[4:])
        return projected.reshape(-1, 2), jac
    projected, jac = cv2.fisheye.projectPoints(
        points.reshape(-1, 1, 3), rvec, tvec, _matrix(values), values[4:8]
    )
    # cv2.fisheye orders its columns f (2), c (2), k (4), r (3), t (3), skew (1)
    unused = np.zeros((len(jac), 1))
    return projected.reshape(-1, 2), np.hstack([jac[:, 8:14], jac[:, 0:8], unused])


def _matrix(values: FloatArray) -> FloatArray:
    """(3, 3) camera matrix from fx, fy, cx, cy."""
    return np.array([[values[0], 0.0, values[2]], [0.0, values[1], values[3]], [0.0, 0.0, 1.0]])


class _Problem:
    """Parameter layout [camera poses][board poses][intrinsics], residuals and Jacobian."""

    def __init__(
        self, cameras: Sequence[Camera], root: int, obs: Observations, n_frames: int, intr: bool
    ) -> None:
        self.cameras = cameras
        self.root = root
        self.obs = obs
        self.n_cams = len(cameras)
        self.intr = intr
        self.board_start = 6 * self.n_cams
        self.intr_start = self.board_start + 6 * n_frames
        self.n_params = self.intr_start + (N_INTRINSICS * self.n_cams if intr else 0)
        self.fixed = np.stack([_intrinsics_vector(c) for c in cameras])
        self.fisheye = [c.fisheye for c in cameras]
        self._rows, self._cols = self._pattern()

    def solver_order(self) -> NDArray[np.intp]:
        """Free parameters: camera poses but the root's, intrinsics if refined, board poses.

        A distortion term that starts at exactly 0 stays 0: the intrinsics step fixed it
        (a reduced lens model: k3, p1, p2) or it does not exist (fisheye's unused slot).
        """
        cams = np.arange(self.board_start).reshape(self.n_cams, 6)
        glob = [np.delete(cams, self.root, axis=0).ravel()]
        if self.intr:
            free = np.ones((self.n_cams, N_INTRINSICS), dtype=bool)
            free[:, 4:] = self.fixed[:, 4:] != 0.0
            glob.append(self.intr_start + np.flatnonzero(free.ravel()))
        return np.concatenate([*glob, np.arange(self.board_start, self.intr_start)])

    def unpack(self, x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Camera poses (C, 6) (root zero), board poses (F, 6), intrinsics (C, 9)."""
        cams = x[: self.board_start].reshape(self.n_cams, 6).copy()
        cams[self.root] = 0.0
        boards = x[self.board_start : self.intr_start].reshape(-1, 6)
        values = x[self.intr_start :].reshape(self.n_cams, 9) if self.intr else self.fixed
        return cams, boards, values

    def _columns(self, view: int) -> NDArray[np.intp]:
        """Parameter columns of one view: camera pose, board pose, intrinsics (6 + 6 + 9)."""
        cam, frame = self.obs.camera[view], self.obs.frame[view]
        cols = [6 * cam + np.arange(6), self.board_start + 6 * frame + np.arange(6)]
        cols.append(self.intr_start + N_INTRINSICS * cam + np.arange(N_INTRINSICS))
        return np.concatenate(cols)

    def _keep(self, view: int) -> NDArray[np.bool_]:
        """(21,) which of a view's 21 derivative columns are free parameters."""
        keep = np.ones(21, dtype=bool)
        keep[:6] = self.obs.camera[view] != self.root
        keep[12:] = self.intr
        return keep

    def _pattern(self) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Row and column index of every Jacobian entry, in the order ``jacobian`` fills."""
        rows, cols = [], []
        for v in range(len(self.obs.camera)):
            n = 2 * (self.obs.starts[v + 1] - self.obs.starts[v])
            c = self._columns(v)[self._keep(v)]
            r = np.arange(2 * self.obs.starts[v], 2 * self.obs.starts[v] + n)
            rows.append(np.repeat(r, len(c)))
            cols.append(np.tile(c, n))
        return np.concatenate(rows), np.concatenate(cols)

    def _views(self, x: FloatArray, derivatives: bool) -> list[tuple[FloatArray, FloatArray]]:
        """Per view: projected corners (n, 2) and, if asked, derivatives (2n, 21) else empty."""
        cams, boards, values = self.unpack(x)
        out = []
        for view, (cam, frame) in enumerate(zip(self.obs.camera, self.obs.frame, strict=True)):
            lo, hi = self.obs.starts[view], self.obs.starts[view + 1]
            if hi == lo:  # every corner of the view dropped as an outlier
                out.append((np.empty((0, 2)), np.empty((0, 21))))
                continue
            composed = cv2.composeRT(
                boards[frame, :3], boards[frame, 3:], cams[cam, :3], cams[cam, 3:]
            )
            projected, jac = _project(
                self.obs.points[lo:hi], composed[0], composed[1], values[cam], self.fisheye[cam]
            )
            grads = _chain(jac, composed[2:]) if derivatives else np.empty(0)
            out.append((projected, grads))
        return out

    def residuals(self, x: FloatArray) -> FloatArray:
        """(2M,) projected minus detected pixels, x and y interleaved."""
        projected = np.concatenate([p for p, _ in self._views(x, derivatives=False)])
        return (projected - self.obs.pixels).ravel()

    def jacobian(self, x: FloatArray) -> csr_matrix:
        """(2M, P) sparse Jacobian of ``residuals``."""
        views = self._views(x, derivatives=True)
        data = [d[:, self._keep(v)].ravel() for v, (_, d) in enumerate(views)]
        shape = (2 * len(self.obs.pixels), self.n_params)
        return csr_matrix((np.concatenate(data), (self._rows, self._cols)), shape=shape)


def _chain(jac: FloatArray, compose: tuple[FloatArray, ...]) -> FloatArray:
    """(2n, 21) derivatives by camera pose, board pose and intrinsics of one view.

    ``jac`` (2n, 15) is cv2.projectPoints' Jacobian by the composed pose (r3, t3) and
    the intrinsics; ``compose`` holds cv2.composeRT's eight (3, 3) derivatives of
    (r3, t3) by the board pose (r1, t1) and the camera pose (r2, t2).
    """
    dr3dr1, dr3dt1, dr3dr2, dr3dt2, dt3dr1, dt3dt1, dt3dr2, dt3dt2 = compose
    d_r, d_t = jac[:, :3], jac[:, 3:6]
    return np.hstack(
        [
            d_r @ dr3dr2 + d_t @ dt3dr2,
            d_r @ dr3dt2 + d_t @ dt3dt2,
            d_r @ dr3dr1 + d_t @ dt3dr1,
            d_r @ dr3dt1 + d_t @ dt3dt1,
            jac[:, 6:15],
        ]
    )


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
    problem: _Problem, x: FloatArray, frames: Sequence[int], fit: SolverResult
) -> BundleResult:
    """Package the optimised vector as cameras, board poses and per-camera errors."""
    cams, boards, values = problem.unpack(x)
    residual = problem.residuals(x).reshape(-1, 2)
    owner = problem.obs.corner_camera
    cameras, rms = {}, {}
    for i, cam in enumerate(problem.cameras):
        cameras[cam.name] = replace(
            cam,
            matrix=_matrix(values[i]),
            distortion=values[i, 4:8].copy() if cam.fisheye else values[i, 4:].copy(),
            rotation=cams[i, :3],
            translation=cams[i, 3:],
        )
        mine = residual[owner == i]
        rms[cam.name] = float(np.sqrt(np.mean(np.sum(mine**2, axis=1))))
    poses = {f: pose_matrix(boards[j, :3], boards[j, 3:]) for j, f in enumerate(frames)}
    return BundleResult(cameras, poses, rms, fit.success, fit.message, fit.iterations)


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
    """Refine all camera and board poses together (pinhole or fisheye cameras).

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
        Residual (pixels) beyond which the soft-L1 loss grows linearly. (A smooth Huber:
        scipy's plain Huber loss made the solver crawl, 100+ iterations instead of ~13.)

    Returns
    -------
    BundleResult
        Cameras posed in the root frame, board poses and per-camera RMS error.
    """
    names = list(camera_poses)
    frames = sorted(board_poses)
    obs = gather_observations(views, names, frames, board)
    problem = _Problem(
        [cameras[n] for n in names], names.index(root), obs, len(frames), refine_intrinsics
    )
    x0 = _initial_vector(
        problem, [camera_poses[n] for n in names], [board_poses[f] for f in frames]
    )
    x, fit = _solve(problem, x0, f_scale_px)
    keep = _inliers(problem.residuals(x))
    if not keep.all():
        obs = _subset(obs, keep)
        problem = _Problem(problem.cameras, problem.root, obs, len(frames), problem.intr)
        x, fit = _solve(problem, x, f_scale_px)
    return _result(problem, x, frames, fit)


def _solve(problem: _Problem, x0: FloatArray, f_scale_px: float) -> tuple[FloatArray, SolverResult]:
    """Levenberg-Marquardt over the free parameters: global ones first, then board poses."""
    order = problem.solver_order()
    n_global = len(order) - (problem.intr_start - problem.board_start)

    def full(free: FloatArray) -> FloatArray:
        x = x0.copy()
        x[order] = free
        return x

    fit = levenberg_marquardt(
        lambda free: problem.residuals(full(free)),
        lambda free: problem.jacobian(full(free))[:, order],
        x0[order],
        n_global,
        f_scale=f_scale_px,
        max_iterations=MAX_ITERATIONS,
    )
    return full(fit.x), fit


def _inliers(residuals: FloatArray) -> NDArray[np.bool_]:
    """(M,) corners whose error is below ``OUTLIER_PX`` or 5 robust sigmas, whichever is larger.

    The robust loss limits what a misdetected corner does to the fit; dropping it and
    solving again removes its pull altogether.
    """
    errors = np.linalg.norm(residuals.reshape(-1, 2), axis=1)
    sigma = np.median(errors) / np.sqrt(2 * np.log(2))  # median of a 2D Gaussian's radius
    return errors <= max(OUTLIER_PX, 5 * sigma)


def _subset(obs: Observations, keep: NDArray[np.bool_]) -> Observations:
    """Observations without the corners where ``keep`` is False (views left empty remain)."""
    owner = np.repeat(np.arange(len(obs.camera)), np.diff(obs.starts))
    counts = np.bincount(owner[keep], minlength=len(obs.camera))
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.intp)
    return Observations(obs.camera, obs.frame, starts, obs.points[keep], obs.pixels[keep])
