"""Robust batched multi-view triangulation: every frame and keypoint solved at once.

All M = T * J points are solved together; the only Python loops run over cameras, over
camera subsets and over blocks of points (in threads), never over single points or frames.

1. A view is *usable* when its confidence reaches ``min_confidence`` and x, y are finite.
   Usable pixels are undistorted to normalised image coordinates, camera by camera.
2. A set of views is solved by the confidence-weighted linear (DLT) least squares of its
   rows ``x P3 - P1`` and ``y P3 - P2``. A view's share of the normal equations is a fixed
   combination of four 4x4 matrices of its camera weighted by ``w^2 (x^2 + y^2, -x, -y, 1)``,
   so the normal equations of any set of views, for all points, are one matrix product;
   each 3x3 system is then solved in closed form.
3. A solution is *accepted* when it uses at least ``min_views`` views, lies in front of
   each, re-projects within ``max_error_px`` into every one of them (it *agrees*), and is
   well conditioned (see 4). Every point is first solved from all its usable views; a
   point that is not accepted because a view disagrees searches the subsets of its views:

   - a rig of up to ``max_subset_cameras`` cameras tries every subset of at least
     ``min_views`` usable views and keeps the largest agreeing one: one wrong view (a
     bystander detected instead of the subject, with high confidence) is left out
     whatever its confidence. If several subsets of that size agree, the best must have
     at most ``AMBIGUITY_RATIO`` of the next one's mean error, and a pair must be the
     only agreeing pair: two views have no redundancy (their error is only the epipolar
     distance), so a second agreeing pair makes any choice a guess and the point is
     refused. So is a choice next to an agreeing but ill-conditioned subset;
   - a larger rig drops one view at a time, the one whose removal helps most (each point
     is solved without each of its views), while at least ``min_views`` remain.

4. Conditioning. With d_c the unit viewing rays of the views used, the ray-intersection
   normal matrix ``A = sum_c (I - d_c d_c^T)`` sets the 3D uncertainty: for a lateral ray
   noise sigma the worst direction has a standard deviation of ``sigma /
   sqrt(lambda_min(A))``. Two rays at angle theta give ``lambda_min = 1 - |cos theta|``,
   so a solution is refused unless ``lambda_min(A) >= 1 - cos(min_ray_angle_deg)``: it must
   be at least as well conditioned as two views at that angle. Nearly opposite (or nearly
   coincident) camera pairs fail: their rays meet at a grazing angle, and 1.5 px of noise
   at 3.5 m (f = 1400 px, ~3.7 mm per view) becomes a depth error of 3.7 mm / sqrt(1 - cos
   10 deg) = 30 mm (one sigma) at 170 degrees, 10 mm at 150 degrees. Removing views can
   only lower ``lambda_min``, so a point whose usable views are ill conditioned has no
   better subset and is refused at once.

The errors of step 3 are measured in undistorted pixels (focal length times the normalised
residual), within the lens's local scale (a few per cent) of image pixels. The reported
``reprojection_error`` is exact: the mean distance in image (distorted) pixels over the
views used. What cannot be caught frame by frame (two outliers that agree, an outlier in a
view nothing else checks) is left to the temporal filters of ``mocap.filtering``.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray

from calibration.camera import Camera, CameraRig

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.intp]

MAX_SUBSET_CAMERAS = 6
"""Rigs of up to this many cameras try every subset of views (57 subsets of 2+ views for 6)."""

BLOCK_POINTS = 1 << 16
"""Points solved together (one thread each): ~25 MB of per-view features for 4 cameras."""


class PointStatus(IntEnum):
    """Outcome of triangulating one point (stored as uint8 in ``Triangulation.status``)."""

    RECONSTRUCTED = 0
    """Solved from an accepted set of views."""
    TOO_FEW_VIEWS = 1
    """Fewer than ``min_views`` usable views."""
    INCONSISTENT = 2
    """No set of at least ``min_views`` views re-projects within ``max_error_px`` (in front)."""
    ILL_CONDITIONED = 3
    """The only agreeing views have nearly parallel rays (below ``min_ray_angle_deg``)."""


@dataclass(frozen=True, eq=False)
class Triangulation:
    """Result of triangulating T frames of J keypoints seen by C cameras.

    Attributes
    ----------
    points3d : (T, J, 3) float64 array
        World positions, metres; NaN where not reconstructed.
    reprojection_error : (T, J) float64 array
        Mean distance in image pixels between the observed and re-projected 2D points over
        the views used; NaN where not reconstructed.
    n_views : (T, J) uint8 array
        Number of cameras used for each point (0 where not reconstructed).
    used : (C, T, J) bool array
        Which camera's view each point used.
    n_usable : (T, J) uint8 array
        Views that were usable (confidence and finite x, y) before outliers were dropped.
    status : (T, J) uint8 array
        A :class:`PointStatus` per point.
    """

    points3d: FloatArray
    reprojection_error: FloatArray
    n_views: NDArray[np.uint8]
    used: BoolArray
    n_usable: NDArray[np.uint8]
    status: NDArray[np.uint8]

    def counts(self) -> dict[str, int]:
        """Totals over all points: how many were reconstructed or refused, and why.

        Returns
        -------
        dict of str to int
            ``points``, ``reconstructed``, ``too_few_views``, ``inconsistent``,
            ``ill_conditioned`` (points) and ``views_dropped`` (usable views left out of
            reconstructed points as outliers).
        """
        done = self.status == PointStatus.RECONSTRUCTED
        dropped = self.n_usable[done].astype(np.int64) - self.n_views[done]
        return {
            "points": int(self.status.size),
            "reconstructed": int(done.sum()),
            "too_few_views": int((self.status == PointStatus.TOO_FEW_VIEWS).sum()),
            "inconsistent": int((self.status == PointStatus.INCONSISTENT).sum()),
            "ill_conditioned": int((self.status == PointStatus.ILL_CONDITIONED).sum()),
            "views_dropped": int(dropped.sum()),
        }


@dataclass(frozen=True)
class _Limits:
    """What an accepted solution must satisfy (see the module docstring)."""

    max_error_px: float
    min_views: int
    min_lambda: float
    max_subset_cameras: int


@dataclass(frozen=True, eq=False)
class _RigTerms:
    """Per-camera constants of the solver, arranged so that sums over views are matmuls.

    ``normal_basis`` (4C, 10): for each camera with [R | t] rows P1, P2, P3, the symmetric
    4x4 matrices P3 P3^T, P3 P1^T + P1 P3^T, P3 P2^T + P2 P3^T and P1 P1^T + P2 P2^T (10
    upper entries each). Weighted by a view's features ``w^2 (x^2 + y^2, -x, -y, 1)`` they
    sum to its weighted DLT normal matrix ``w^2 (rx rx^T + ry ry^T)``, rx = x P3 - P1,
    ry = y P3 - P2. ``ray_basis`` (6C, 6): R^T E R for the basis E of v v^T, v = (x, y, 1);
    weighted by ``(x^2, xy, x, y^2, y, 1) / |v|^2`` they sum to the view's unit world ray
    d d^T. ``rotation`` (3, 3C) and ``translation`` (3C,) map points into every camera's
    frame; ``focal`` (C, 2) is fx, fy in pixels.
    """

    normal_basis: FloatArray
    ray_basis: FloatArray
    rotation: FloatArray
    translation: FloatArray
    focal: FloatArray

    def cameras(self, cameras: list[int]) -> _RigTerms:
        """The terms of the cameras ``cameras`` only, in that order."""
        n = self.focal.shape[0]
        return _RigTerms(
            normal_basis=self.normal_basis.reshape(n, -1, 10)[cameras].reshape(-1, 10),
            ray_basis=self.ray_basis.reshape(n, -1, 6)[cameras].reshape(-1, 6),
            rotation=self.rotation.reshape(3, n, 3)[:, cameras].reshape(3, -1),
            translation=self.translation.reshape(n, 3)[cameras].ravel(),
            focal=self.focal[cameras],
        )


@dataclass(frozen=True, eq=False)
class _Block:
    """Per-view features of m points (see ``_RigTerms``); 0 where a view is unusable.

    ``normal`` (m, C, 4) and ``rays`` (m, C, 6) are the features, ``xy`` (m, C, 2) the
    normalised coordinates and ``usable`` (m, C) which views count.
    """

    normal: FloatArray
    rays: FloatArray
    xy: FloatArray
    usable: BoolArray

    def take(self, index: IntArray, cameras: list[int] | None = None) -> _Block:
        """The features of the points ``index`` (and of the views ``cameras`` only)."""
        rows = index if cameras is None else np.ix_(index, cameras)
        return _Block(self.normal[rows], self.rays[rows], self.xy[rows], self.usable[rows])


@dataclass(frozen=True, eq=False)
class _Fit:
    """Solutions of m points, each from its own set of views."""

    points: FloatArray  # (m, 3)
    errors: FloatArray  # (m, C) undistorted-pixel error; inf behind the camera, NaN unused
    mean_error: FloatArray  # (m,) over the views used
    consistent: BoolArray  # (m,) enough views, solvable, in front, within max_error_px
    conditioned: BoolArray  # (m,) lambda_min of the ray matrix high enough


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


def _check_limits(
    max_error_px: float, min_views: int, min_ray_angle_deg: float, max_subset_cameras: int
) -> _Limits:
    """Validate the solver's options; ``min_lambda`` = 1 - cos(min_ray_angle_deg)."""
    if not max_error_px > 0:
        msg = f"max_error_px must be > 0 (math.inf: no outlier rejection), got {max_error_px}"
        raise ValueError(msg)
    if isinstance(min_views, bool) or not isinstance(min_views, int) or min_views < 2:
        msg = f"min_views must be an integer >= 2, got {min_views!r}"
        raise ValueError(msg)
    if not 0.0 <= min_ray_angle_deg < 90.0:
        msg = f"min_ray_angle_deg must be in [0, 90), got {min_ray_angle_deg}"
        raise ValueError(msg)
    min_lambda = 1.0 - math.cos(math.radians(min_ray_angle_deg))
    return _Limits(float(max_error_px), min_views, min_lambda, max_subset_cameras)


def _upper(matrices: FloatArray) -> FloatArray:
    """The upper-triangle entries (..., n(n+1)/2) of symmetric matrices (..., n, n)."""
    rows, cols = np.triu_indices(matrices.shape[-1])
    return matrices[..., rows, cols]


def _rig_terms(rig: CameraRig) -> _RigTerms:
    """The solver's constants of ``rig`` (see ``_RigTerms``)."""
    ext = np.stack([np.hstack([cam.rotation_matrix, cam.translation[:, None]]) for cam in rig])
    p1, p2, p3 = ext[:, 0], ext[:, 1], ext[:, 2]
    outer = np.einsum("ci,cj->cij", p3, p1)
    normal = np.stack(
        [
            np.einsum("ci,cj->cij", p3, p3),
            outer + outer.transpose(0, 2, 1),
            np.einsum("ci,cj->cij", p3, p2) + np.einsum("ci,cj->cij", p2, p3),
            np.einsum("ci,cj->cij", p1, p1) + np.einsum("ci,cj->cij", p2, p2),
        ],
        axis=1,
    )  # (C, 4, 4, 4)
    basis = np.zeros((6, 3, 3))
    for k, (i, j) in enumerate(zip(*np.triu_indices(3), strict=True)):
        basis[k, i, j] = basis[k, j, i] = 1.0
    rot = ext[:, :, :3]
    rays = np.einsum("cai,kab,cbj->ckij", rot, basis, rot)  # R^T E R, (C, 6, 3, 3)
    return _RigTerms(
        normal_basis=_upper(normal).reshape(-1, 10),
        ray_basis=_upper(rays).reshape(-1, 6),
        rotation=np.concatenate(list(rot.transpose(0, 2, 1)), axis=1),
        translation=ext[:, :, 3].ravel(),
        focal=np.stack([np.diag(cam.matrix)[:2] for cam in rig]),
    )


def _block(xy: FloatArray, weights: FloatArray) -> _Block:
    """Features of views (m, C, 2) with weights (m, C), 0 = unusable."""
    usable = weights > 0
    xy = np.where(usable[..., None], xy, 0.0)
    x, y = xy[..., 0], xy[..., 1]
    x2, y2 = x * x, y * y
    w2 = weights * weights
    normal = np.empty((*x.shape, 4))
    normal[..., 0] = w2 * (x2 + y2)
    normal[..., 1] = -w2 * x
    normal[..., 2] = -w2 * y
    normal[..., 3] = w2
    scale = usable / (1.0 + x2 + y2)
    rays = np.empty((*x.shape, 6))
    for k, feature in enumerate((x2, x * y, x, y2, y)):
        rays[..., k] = feature * scale
    rays[..., 5] = scale
    return _Block(normal=normal, rays=rays, xy=xy, usable=usable)


def _solve_symmetric(normal: FloatArray, rhs: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Solve m symmetric 3x3 systems (m, 6) x = (m, 3) by the adjugate; also which are solvable."""
    a, b, c, d, e, f = normal.T
    c00, c01, c02 = d * f - e * e, c * e - b * f, b * e - c * d
    c11, c12, c22 = a * f - c * c, b * c - a * e, a * d - b * b
    det = a * c00 + b * c01 + c * c02
    solvable = det > 1e-14 * (a + d + f) ** 3
    inverse = 1.0 / np.where(solvable, det, 1.0)
    h0, h1, h2 = rhs.T
    points = np.stack(
        [
            c00 * h0 + c01 * h1 + c02 * h2,
            c01 * h0 + c11 * h1 + c12 * h2,
            c02 * h0 + c12 * h1 + c22 * h2,
        ],
        axis=-1,
    )
    return points * inverse[:, None], solvable


def _largest_eigenvalue(matrix: FloatArray) -> FloatArray:
    """Largest eigenvalue (m,) of m symmetric 3x3 matrices (m, 6), in closed form.

    The trigonometric solution of the characteristic cubic (O. K. Smith, 1961).
    """
    a, b, c, d, e, f = matrix.T
    q = (a + d + f) / 3.0
    p = np.sqrt(((a - q) ** 2 + (d - q) ** 2 + (f - q) ** 2 + 2.0 * (b * b + c * c + e * e)) / 6)
    inv = np.where(p > 0, 1.0 / np.where(p > 0, p, 1.0), 0.0)
    ba, bd, bf = (a - q) * inv, (d - q) * inv, (f - q) * inv
    bb, bc, be = b * inv, c * inv, e * inv
    det = ba * (bd * bf - be * be) - bb * (bb * bf - be * bc) + bc * (bb * be - bd * bc)
    return q + 2.0 * p * np.cos(np.arccos(np.clip(det / 2.0, -1.0, 1.0)) / 3.0)


_NORMAL = [0, 1, 2, 4, 5, 7]
"""Entries of the 4x4 upper triangle (10) that form the 3x3 normal matrix; 3, 6, 8: -rhs."""


def _fit(terms: _RigTerms, block: _Block, use: BoolArray | None, limits: _Limits) -> _Fit:
    """Solve every point of ``block`` from its views ``use`` (m, C) and judge the solution.

    ``use`` None: all usable views.
    """
    m, n_cameras = block.usable.shape
    normal, rays = block.normal, block.rays
    if use is None:
        use = block.usable
    else:
        normal, rays = normal * use[..., None], rays * use[..., None]
    quadric = normal.reshape(m, -1) @ terms.normal_basis  # (m, 10)
    points, solvable = _solve_symmetric(quadric[:, _NORMAL], -quadric[:, [3, 6, 8]])
    cam = (points @ terms.rotation + terms.translation).reshape(m, n_cameras, 3)
    depth = cam[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        inverse = 1.0 / depth
        du = terms.focal[:, 0] * (block.xy[..., 0] - cam[..., 0] * inverse)
        dv = terms.focal[:, 1] * (block.xy[..., 1] - cam[..., 1] * inverse)
    error = np.sqrt(du * du + dv * dv)
    error[~(depth > 0)] = np.inf  # behind the camera
    used_errors = np.where(use, error, 0.0)
    errors = np.where(use, error, np.nan)
    n = use.sum(axis=1)
    worst = used_errors.max(axis=1)
    consistent = solvable & (n >= limits.min_views) & (worst <= limits.max_error_px)
    lambda_min = n - _largest_eigenvalue(rays.reshape(m, -1) @ terms.ray_basis)
    conditioned = lambda_min >= limits.min_lambda - 1e-12
    mean_error = used_errors.sum(axis=1) / np.maximum(n, 1)
    return _Fit(points, errors, mean_error, consistent, conditioned)


@dataclass
class _Outcome:
    """Mutable per-block result being filled in: points (m, 3), used (m, C), status (m,)."""

    points: FloatArray
    used: BoolArray
    status: NDArray[np.uint8]

    def accept(self, index: IntArray, points: FloatArray, used: BoolArray) -> None:
        """Store solutions (k, 3) from views (k, C) for the points ``index``."""
        self.points[index] = points
        self.used[index] = used
        self.status[index] = PointStatus.RECONSTRUCTED


@dataclass
class _Best:
    """Per point of a subset search: what agrees among the subsets of the largest size.

    Subsets are offered largest first, so a point's ``size`` is the largest size at which
    any subset agrees (consistent, conditioned or not); ``error`` and ``second`` are the two
    lowest mean errors there, ``points`` and ``use`` the best subset's solution and views,
    ``conditioned`` whether that one is conditioned and ``ill`` whether any agreeing subset
    of that size is ill conditioned.
    """

    size: IntArray
    error: FloatArray
    second: FloatArray
    conditioned: BoolArray
    ill: BoolArray
    points: FloatArray
    use: BoolArray

    @classmethod
    def empty(cls, m: int, n_cameras: int) -> _Best:
        """No agreeing subset yet for m points."""
        return cls(
            size=np.zeros(m, dtype=np.intp),
            error=np.full(m, np.inf),
            second=np.full(m, np.inf),
            conditioned=np.zeros(m, dtype=bool),
            ill=np.zeros(m, dtype=bool),
            points=np.full((m, 3), np.nan),
            use=np.zeros((m, n_cameras), dtype=bool),
        )

    def offer(self, index: IntArray, size: int, fit: _Fit, use: BoolArray) -> None:
        """Record the solutions of one subset of ``size`` views (k, C) for points ``index``."""
        agree = fit.consistent
        index, error, use = index[agree], fit.mean_error[agree], use[agree]
        self.size[index] = size
        self.ill[index] |= ~fit.conditioned[agree]
        better = error < self.error[index]
        self.second[index] = np.minimum(
            self.second[index], np.where(better, self.error[index], error)
        )
        win = index[better]
        self.error[win] = error[better]
        self.conditioned[win] = fit.conditioned[agree][better]
        self.points[win] = fit.points[agree][better]
        self.use[win] = use[better]


AMBIGUITY_RATIO = 0.5
"""When several subsets of the largest agreeing size agree, the best must have at most this
fraction of the next one's mean error; otherwise the point is refused as ambiguous."""


def _search_subsets(
    terms: _RigTerms, block: _Block, limits: _Limits, outcome: _Outcome, index: IntArray
) -> None:
    """Largest agreeing subset of views for the points ``index`` (see the module docstring)."""
    sub = block.take(index)
    n_cameras = sub.usable.shape[1]
    best = _Best.empty(index.size, n_cameras)
    for size in range(n_cameras - 1, limits.min_views - 1, -1):
        for subset in itertools.combinations(range(n_cameras), size):
            cameras = list(subset)
            # points that have these views and no larger agreeing subset
            (open_,) = np.nonzero(sub.usable[:, cameras].all(axis=1) & (best.size <= size))
            if open_.size:
                fit = _fit(terms.cameras(cameras), sub.take(open_, cameras), None, limits)
                use = np.zeros((open_.size, n_cameras), dtype=bool)
                use[:, cameras] = True
                best.offer(open_, size, fit, use)
    # two views have no redundancy (their error is only the epipolar distance): any other
    # agreeing pair makes the choice a guess
    distinct = np.where(
        best.size == 2, np.isinf(best.second), best.error <= AMBIGUITY_RATIO * best.second
    )
    found = (best.size > 0) & best.conditioned & ~best.ill & distinct
    outcome.accept(index[found], best.points[found], best.use[found])
    refused = np.where(best.ill, PointStatus.ILL_CONDITIONED, PointStatus.INCONSISTENT)
    outcome.status[index[~found]] = refused[~found]


def _leave_one_out(
    terms: _RigTerms, block: _Block, limits: _Limits, use: BoolArray
) -> tuple[IntArray, _Fit]:
    """For each point, the view whose removal from ``use`` (m, C) helps most, and that fit.

    Accepted solutions rank first (by mean error), then the rest by their largest error.
    """
    m, n_cameras = use.shape
    score = np.full((m, n_cameras), np.inf)
    fits: list[tuple[IntArray, _Fit] | None] = []
    for camera in range(n_cameras):
        (has,) = np.nonzero(use[:, camera])
        if has.size == 0:
            fits.append(None)
            continue
        without = use[has].copy()
        without[:, camera] = False
        fit = _fit(terms, block.take(has), without, limits)
        worst = np.max(np.where(without, fit.errors, 0.0), axis=1)
        accepted = fit.consistent & fit.conditioned
        score[has, camera] = np.where(accepted, fit.mean_error, 1e9 + worst)
        fits.append((has, fit))
    drop = np.argmin(score, axis=1)
    points = np.full((m, 3), np.nan)
    errors = np.full((m, n_cameras), np.nan)
    mean_error = np.full(m, np.nan)
    flags = np.zeros((2, m), dtype=bool)  # consistent, conditioned
    for camera, entry in enumerate(fits):
        if entry is None:
            continue
        has, fit = entry
        mine = drop[has] == camera
        rows = has[mine]
        points[rows], errors[rows] = fit.points[mine], fit.errors[mine]
        mean_error[rows] = fit.mean_error[mine]
        flags[0, rows], flags[1, rows] = fit.consistent[mine], fit.conditioned[mine]
    return drop, _Fit(points, errors, mean_error, flags[0], flags[1])


def _drop_views(
    terms: _RigTerms, block: _Block, limits: _Limits, outcome: _Outcome, index: IntArray
) -> None:
    """Drop the most harmful view of each point (``index``) until its solution is accepted.

    Greedy leave-one-out: each round solves every point once without each of its views
    and keeps the removal that helps most, while at least ``min_views`` views remain.
    """
    sub = block.take(index)
    use = sub.usable.copy()
    open_ = np.arange(index.size)
    while open_.size:
        drop, fit = _leave_one_out(terms, sub.take(open_), limits, use[open_])
        use[open_, drop] = False
        ok = fit.consistent & fit.conditioned
        outcome.accept(index[open_[ok]], fit.points[ok], use[open_[ok]])
        # fewer views cannot be better conditioned
        ill = ~ok & fit.consistent & ~fit.conditioned
        outcome.status[index[open_[ill]]] = PointStatus.ILL_CONDITIONED
        last = ~ok & ~ill & (use[open_].sum(axis=1) <= limits.min_views)
        outcome.status[index[open_[last]]] = PointStatus.INCONSISTENT
        open_ = open_[~ok & ~ill & ~last]


def _solve_block(terms: _RigTerms, block: _Block, limits: _Limits) -> _Outcome:
    """Accepted solutions of every point of ``block`` (see the module docstring)."""
    m, n_cameras = block.usable.shape
    outcome = _Outcome(
        points=np.full((m, 3), np.nan),
        used=np.zeros((m, n_cameras), dtype=bool),
        status=np.full(m, PointStatus.TOO_FEW_VIEWS, dtype=np.uint8),
    )
    fit = _fit(terms, block, None, limits)
    n_usable = block.usable.sum(axis=1)
    enough = n_usable >= limits.min_views
    (done,) = np.nonzero(enough & fit.consistent & fit.conditioned)
    outcome.accept(done, fit.points[done], block.usable[done])
    # fewer views cannot be better conditioned: an ill-conditioned set has no better subset
    outcome.status[enough & ~fit.conditioned] = PointStatus.ILL_CONDITIONED
    retry = enough & fit.conditioned & ~fit.consistent
    outcome.status[retry & (n_usable == limits.min_views)] = PointStatus.INCONSISTENT
    (search,) = np.nonzero(retry & (n_usable > limits.min_views))
    if search.size == 0:
        return outcome
    if n_cameras <= limits.max_subset_cameras:
        _search_subsets(terms, block, limits, outcome, search)
    else:
        _drop_views(terms, block, limits, outcome, search)
    return outcome


def _in_threads(function: Callable[..., Any], *arguments: Iterable) -> list[Any]:
    """``function`` mapped over ``arguments`` in threads (OpenCV and numpy release the GIL)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with ThreadPoolExecutor(max_workers=cpus or 1) as pool:
        return list(pool.map(function, *arguments))


def _normalised(rig: CameraRig, pixels: FloatArray) -> FloatArray:
    """Undistorted normalised image coordinates (C, M, 2) of pixels (C, M, 2)."""
    return np.stack(_in_threads(lambda cam, p: cam.normalized_points(p), rig, pixels))


def _image_errors(
    rig: CameraRig, points: FloatArray, pixels: FloatArray, used: BoolArray
) -> FloatArray:
    """Mean distance (M,) in image pixels over the views ``used`` (M, C); NaN if none."""

    def distance(camera: Camera, observed: FloatArray, use: BoolArray) -> FloatArray:
        out = np.zeros(use.shape)
        out[use] = np.linalg.norm(camera.project(points[use]) - observed[use], axis=-1)
        return out

    total = np.sum(_in_threads(distance, rig, pixels, used.T), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / used.sum(axis=1)


def triangulate(
    rig: CameraRig,
    keypoints2d: NDArray,
    min_confidence: float = 0.3,
    *,
    max_error_px: float = math.inf,
    min_views: int = 2,
    min_ray_angle_deg: float = 0.0,
    max_subset_cameras: int = MAX_SUBSET_CAMERAS,
) -> Triangulation:
    """Triangulate every keypoint of every frame, leaving out views that disagree.

    The defaults are a plain confidence-weighted DLT of all usable views (what the
    calibration checks want); ``mocap.pipeline.reconstruct_trial`` passes the robust
    settings of ``ReconstructionSettings``. The method is described in the module docstring.

    Parameters
    ----------
    rig : CameraRig
        The C calibrated cameras, in the order of ``keypoints2d``'s first axis.
    keypoints2d : (C, T, J, 3) float array
        Pixel x, pixel y and confidence per camera, frame and keypoint; NaN x/y where
        not detected.
    min_confidence : float
        Views below this confidence are not usable.
    max_error_px : float
        Every view a point uses must re-project within this many pixels; views that do not
        are dropped (``math.inf``: keep every usable view).
    min_views : int
        Fewest views a point needs (>= 2).
    min_ray_angle_deg : float
        Refuse solutions whose rays are closer to parallel (or antiparallel) than two rays
        at this angle (0: no check).
    max_subset_cameras : int
        Rigs of up to this many cameras try every subset of views; larger ones drop the
        most harmful view one at a time.

    Returns
    -------
    Triangulation
        Points (T, J, 3) in metres, reprojection error (T, J) in pixels, views used
        (C, T, J) and per point their number and a :class:`PointStatus` (T, J).
    """
    keypoints2d = np.asarray(keypoints2d, dtype=np.float64)
    _check_inputs(rig, keypoints2d)
    limits = _check_limits(max_error_px, min_views, min_ray_angle_deg, max_subset_cameras)
    n_c, n_t, n_j, _ = keypoints2d.shape
    flat = keypoints2d.reshape(n_c, n_t * n_j, 3)
    usable = np.isfinite(flat[..., :2]).all(axis=-1) & (flat[..., 2] >= min_confidence)
    pixels = np.where(usable[..., None], flat[..., :2], np.nan)
    xy = _normalised(rig, pixels)
    usable &= np.isfinite(xy).all(axis=-1)  # beyond the lens model's invertible range
    # point-major layout (M, C, ...) for the solver: sums over views are matmuls
    xy = np.ascontiguousarray(xy.transpose(1, 0, 2))
    weights = np.where(usable, flat[..., 2], 0.0).T
    terms = _rig_terms(rig)
    m = n_t * n_j
    points = np.full((m, 3), np.nan)
    used = np.zeros((m, n_c), dtype=bool)
    status = np.zeros(m, dtype=np.uint8)
    blocks = [slice(start, min(start + BLOCK_POINTS, m)) for start in range(0, m, BLOCK_POINTS)]

    def solve(part: slice) -> None:
        outcome = _solve_block(terms, _block(xy[part], weights[part]), limits)
        points[part], used[part], status[part] = outcome.points, outcome.used, outcome.status

    _in_threads(solve, blocks)
    error = _image_errors(rig, points, pixels, used)
    return Triangulation(
        points3d=points.reshape(n_t, n_j, 3),
        reprojection_error=error.reshape(n_t, n_j),
        n_views=used.sum(axis=1).astype(np.uint8).reshape(n_t, n_j),
        used=np.ascontiguousarray(used.T).reshape(n_c, n_t, n_j),
        n_usable=usable.sum(axis=0).astype(np.uint8).reshape(n_t, n_j),
        status=status.reshape(n_t, n_j),
    )
