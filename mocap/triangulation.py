"""Robust batched multi-view triangulation: every frame and keypoint solved at once.

The M = T * J points are solved in chunks of about ``CHUNK_POINTS`` (each chunk's arrays
stay in the CPU caches), the chunks shared by a pool of threads (numpy releases the GIL
while it computes). Within a chunk the only Python loops run over cameras and camera
subsets, never over single points or frames. The arithmetic lives in
``mocap._triangulation_linear`` (sums, solves, checks, errors) and
``mocap._triangulation_subsets`` (which views to leave out).

1. A view is *usable* when its confidence reaches ``min_confidence`` and x, y are finite.
   Pixels are undistorted to normalised image coordinates camera by camera
   (``Camera.normalized_points``: a cached grid of exact undistortions and one Newton
   step, exact to ~1e-9 px).
2. A set of views is solved by the confidence-weighted linear (DLT) least squares of its
   rows ``x P3 - P1`` and ``y P3 - P2``. A view's share of the normal equations is a fixed
   combination of four 4x4 matrices of its camera weighted by ``w^2 (x^2 + y^2, -x, -y, 1)``,
   so the normal equations of any set of views, for all points, are one matrix product;
   each 3x3 system is then solved in closed form.
3. A solution is *accepted* when it uses at least ``min_views`` views, lies in front of
   each, re-projects within ``max_error_px`` into every one of them (it *agrees*), and is
   well conditioned (see 4). Every point is first solved from all its usable views; the
   points of a chunk that are not accepted because a view disagrees (with 5 % wrong views
   per camera, about one point in six for 4 cameras) then search the subsets of their
   views, all subsets of one size in one batch:

   - a rig of up to ``max_subset_cameras`` cameras tries every subset of at least
     ``min_views`` usable views and keeps the largest agreeing one: one wrong view (a
     bystander detected instead of the subject, with high confidence) is left out
     whatever its confidence. Agreeing subsets of that size are ranked by their mean error
     divided by their least confident view's confidence (a view the detector doubts, an
     occluded joint, weighs less). The best stands when no other agrees, when the
     runner-up says the same thing (each solution re-projects within ``max_error_px``
     into the other's views), or, for three views or more, when its ranking error is at
     most ``AMBIGUITY_RATIO`` (1: always) of the runner-up's. Two views have no redundancy
     (their error is only the epipolar distance), so a contradicting second pair makes
     any choice a guess and the point is refused. So is a choice next to an agreeing but
     ill-conditioned subset;
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
   better subset and is refused at once. The test needs no eigenvalue: ``lambda_min(A)``
   exceeds a bound exactly when ``A`` minus the bound is positive definite (Sylvester's
   criterion on its three leading minors).

The errors of step 3 are measured in undistorted pixels (focal length times the normalised
residual), within the lens's local scale (a few per cent) of image pixels. The reported
``reprojection_error`` is exact: the mean distance in image (distorted) pixels over the
views used. What cannot be caught frame by frame (two outliers that agree, an outlier in a
view nothing else checks) is left to the temporal filters of ``mocap.filtering``.

Two implementations follow these rules. The numpy code of this module and its two helpers
is the reference. ``mocap._triangulation_kernel`` compiles the same steps with numba, point
blocks in parallel, several times faster; ``triangulate`` uses it when ``USE_KERNEL`` is
set, which it is whenever numba can be imported (else the numpy path is the fallback), for
pinhole rigs of up to 62 cameras (fisheye lenses and larger rigs take the numpy path).
The two agree on every status and view used; points and errors differ by rounding only
(summed in another order: ~1e-12 m and ~1e-10 px; ``tests/test_triangulation_kernel.py``).
"""

from __future__ import annotations

import itertools
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

from calibration.camera import CameraRig
from mocap._triangulation_linear import (
    BoolArray,
    FloatArray,
    Limits,
    Projection,
    RigTerms,
    Views,
    columns,
    features,
    fit,
    image_distances,
    project,
    sums,
)
from mocap._triangulation_subsets import AMBIGUITY_RATIO, choose_views

try:
    from mocap import _triangulation_kernel as _kernel
except ImportError:  # numba is missing: the numpy path serves
    _kernel = None

__all__ = [
    "AMBIGUITY_RATIO",
    "MAX_SUBSET_CAMERAS",
    "USE_KERNEL",
    "PointStatus",
    "Triangulation",
    "triangulate",
]

USE_KERNEL = _kernel is not None
"""Solve with the compiled kernel where it applies (see the module docstring); False: the
numpy reference path. Set when numba can be imported; tests flip it to compare the two."""

MAX_SUBSET_CAMERAS = 6
"""Rigs of up to this many cameras try every subset of views (57 subsets of 2+ views for 6)."""

CHUNK_POINTS = 32768
"""Points solved together, one chunk per task of the thread pool: large enough that each
numpy call does real work, small enough that a chunk's planes stay in the CPU caches."""


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
) -> Limits:
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
    return Limits(float(max_error_px), min_views, min_lambda, max_subset_cameras)


@dataclass(frozen=True, eq=False)
class _Output:
    """The arrays of a :class:`Triangulation` for M = T * J points, filled chunk by chunk."""

    points: FloatArray  # (M, 3)
    error: FloatArray  # (M,)
    used: BoolArray  # (C, M)
    n_usable: NDArray[np.uint8]  # (M,)
    status: NDArray[np.uint8]  # (M,)

    @classmethod
    def empty(cls, n_cameras: int, m: int) -> _Output:
        """Uninitialised arrays: every chunk writes all of its points."""
        return cls(
            points=np.empty((m, 3)),
            error=np.empty(m),
            used=np.empty((n_cameras, m), dtype=bool),
            n_usable=np.empty(m, dtype=np.uint8),
            status=np.empty(m, dtype=np.uint8),
        )

    def triangulation(self, n_frames: int, n_keypoints: int) -> Triangulation:
        """The result, shaped (T, J, ...) and (C, T, J)."""
        shape = (n_frames, n_keypoints)
        return Triangulation(
            points3d=self.points.reshape(*shape, 3),
            reprojection_error=self.error.reshape(shape),
            n_views=self.used.sum(axis=0, dtype=np.uint8).reshape(shape),
            used=self.used.reshape(-1, *shape),
            n_usable=self.n_usable.reshape(shape),
            status=self.status.reshape(shape),
        )


@dataclass(frozen=True, eq=False)
class _Problem:
    """What every chunk needs: the rig, its terms, the (C, M, 3) keypoints and the options."""

    rig: CameraRig
    terms: RigTerms
    keypoints: NDArray
    min_confidence: float
    limits: Limits


def _views(problem: _Problem, part: slice) -> Views:
    """The views of the points ``part``: undistorted, with the usable ones weighted."""
    pixels = problem.keypoints[:, part, :2]
    confidence = problem.keypoints[:, part, 2]
    n_cameras, n = confidence.shape
    x, y = np.empty((n_cameras, n)), np.empty((n_cameras, n))
    for c, camera in enumerate(problem.rig):
        x[c], y[c] = camera.normalized_points(pixels[c]).T
    # NaN: not detected, or beyond the lens model's invertible range
    usable = np.isfinite(x)
    usable &= confidence >= problem.min_confidence
    weight = np.zeros((n_cameras, n))
    np.copyto(weight, confidence, where=usable)
    return Views(np.where(usable, x, 0.0), np.where(usable, y, 0.0), weight, usable)


def _image_errors(
    problem: _Problem, points: FloatArray, projection: Projection, part: slice, used: BoolArray
) -> FloatArray:
    """Mean distance (n,) in image pixels over the views ``used`` (C, n) of points (4, n).

    ``projection``: the points' projections; the observed pixels are those of the points
    ``part``. NaN where no view is used.
    """
    pixels = problem.keypoints[:, part, :2]
    distance = image_distances(problem.terms, projection, pixels)
    for c, camera in enumerate(problem.rig):
        if camera.fisheye:  # the planes assume pinhole lenses
            delta = camera.project(points[:3].T) - pixels[c]
            distance[c] = np.sqrt(np.einsum("ij,ij->i", delta, delta))
    total = np.where(used, distance, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / used.sum(axis=0)


def _solve_chunk(problem: _Problem, part: slice, out: _Output) -> None:
    """Solve the points ``part``: all usable views, or the best subset where they disagree."""
    limits, terms = problem.limits, problem.terms
    views = _views(problem, part)
    n_usable = views.usable.sum(axis=0)
    feats = features(views, limits.checks_rays)
    result = fit(terms, sums(terms, feats), n_usable, (views.x, views.y, views.usable), limits)
    accepted = result.consistent & result.conditioned
    enough = n_usable >= limits.min_views
    status = np.where(enough, PointStatus.ILL_CONDITIONED, PointStatus.TOO_FEW_VIEWS)
    retry = enough & result.conditioned & ~result.consistent
    status[retry] = PointStatus.INCONSISTENT  # unless a subset agrees (below)
    status[accepted] = PointStatus.RECONSTRUCTED
    used = views.usable & accepted
    points = result.points
    points[:3, ~accepted] = np.nan
    (search,) = np.nonzero(retry & (n_usable > limits.min_views))
    if search.size:
        choice = choose_views(terms, views.take(search), limits)
        status[search[choice.ill]] = PointStatus.ILL_CONDITIONED
        found = search[choice.found]
        status[found] = PointStatus.RECONSTRUCTED
        points[:, found] = columns(choice.points, choice.found)
        used[:, found] = columns(choice.use, choice.found)
        if result.projection is not None:
            result.projection.put(found, project(terms, columns(points, found)))
    projection = result.projection or project(terms, points)
    out.points[part] = points[:3].T
    out.used[:, part] = used
    out.n_usable[part] = n_usable
    out.status[part] = status
    out.error[part] = _image_errors(problem, points, projection, part, used)


def _threads() -> int:
    """CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


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
    keypoints2d = np.asarray(keypoints2d)
    if keypoints2d.dtype not in (np.float32, np.float64):
        keypoints2d = keypoints2d.astype(np.float64)
    _check_inputs(rig, keypoints2d)
    limits = _check_limits(max_error_px, min_views, min_ray_angle_deg, max_subset_cameras)
    n_c, n_t, n_j, _ = keypoints2d.shape
    flat = keypoints2d.reshape(n_c, n_t * n_j, 3)
    if USE_KERNEL and _kernel is not None and _kernel.supports(rig):
        solved = _kernel.solve(rig, flat, min_confidence, limits, AMBIGUITY_RATIO, _threads())
        return _Output(*solved).triangulation(n_t, n_j)
    return _solve_numpy(rig, flat, min_confidence, limits).triangulation(n_t, n_j)


def _solve_numpy(
    rig: CameraRig, keypoints: NDArray, min_confidence: float, limits: Limits
) -> _Output:
    """The numpy path: the M points of ``keypoints`` (C, M, 3) in chunks shared by threads."""
    n_c, m = keypoints.shape[:2]
    problem = _Problem(rig, RigTerms.of(rig), keypoints, min_confidence, limits)
    out = _Output.empty(n_c, m)
    threads = _threads()
    # chunks of about CHUNK_POINTS, as many for each thread
    n_chunks = threads * max(1, round(m / (CHUNK_POINTS * threads)))
    bounds = np.linspace(0, m, n_chunks + 1).astype(int).tolist()
    parts = [slice(start, stop) for start, stop in itertools.pairwise(bounds) if stop > start]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda part: _solve_chunk(problem, part, out), parts))
    return out
