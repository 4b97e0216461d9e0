"""Linear triangulation of many points at once, each from its own set of views.

The views of n points in C cameras are held camera-major, as (C, n) planes: normalised
undistorted x and y, the confidence weight w (0 where a view is unusable, with x = y = 0)
and which views are usable. Every operation below is a handful of numpy calls on whole
planes (or a matrix product), never a loop over points.

Per view, the confidence-weighted DLT rows ``x P3 - P1`` and ``y P3 - P2`` (P1..P3 the rows
of the camera's [R | t]) add ``w^2 (rx rx^T + ry ry^T)`` to a point's 4x4 normal matrix: a
fixed combination of four 4x4 matrices of the camera weighted by the view's *DLT features*
``(w^2 (x^2 + y^2), w^2 x, w^2 y, w^2)``. Its unit world ray d adds ``d d^T``: six 3x3
matrices of the camera weighted by the *ray features* ``(x^2, xy, x, y^2, y, 1) / |v|^2``,
v = (x, y, 1). So the sums over any set of views, for all points, are matrix products.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from calibration.camera import CameraRig

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.intp]

N_NORMAL = 9
"""Rows of the DLT sums: the 3x3 normal matrix (upper triangle, 6) and its right side (3)."""

N_RAYS = 6
"""Rows of the ray sums: the upper triangle of sum d d^T."""


def columns(array: NDArray, index: IntArray | BoolArray) -> NDArray:
    """``array[..., index]``, C-contiguous.

    Fancy indexing there returns a transposed layout, which makes every later operation
    with C-ordered arrays several times slower.
    """
    if index.dtype == bool:
        (index,) = np.nonzero(index)
    return np.take(array, index, axis=-1)


_BLAS_ONE_THREAD = 65536 * 3
"""OpenBLAS splits products of more than 65536 * 4 multiply-adds over threads of its own,
which then compete with this module's threads for the same cores (~30 % slower here)."""


def product(a: FloatArray, b: FloatArray) -> FloatArray:
    """``a @ b`` for a (R, K) and b (K, n), in column blocks that BLAS runs in this thread."""
    rows, inner = a.shape
    n = b.shape[1]
    block = 1 << max(5, int(math.log2(_BLAS_ONE_THREAD / (rows * inner))))
    if n <= block:
        return a @ b
    full = n - n % block
    out = np.empty((rows, n))
    blocks = b[:, :full].reshape(inner, -1, block).transpose(1, 0, 2)
    np.matmul(a, blocks, out=out[:, :full].reshape(rows, -1, block).transpose(1, 0, 2))
    if full < n:
        out[:, full:] = a @ b[:, full:]
    return out


@dataclass(frozen=True)
class Limits:
    """What an accepted solution must satisfy (see ``mocap.triangulation``)."""

    max_error_px: float
    min_views: int
    min_lambda: float
    max_subset_cameras: int

    @property
    def checks_errors(self) -> bool:
        """Whether re-projection errors can refuse a solution (``max_error_px`` finite)."""
        return math.isfinite(self.max_error_px)

    @property
    def checks_rays(self) -> bool:
        """Whether ray conditioning can refuse a solution (``min_lambda`` > 0)."""
        return self.min_lambda > 0


@dataclass(frozen=True, eq=False)
class Views:
    """Views of n points in C cameras, camera-major planes (C, n); see the module docstring."""

    x: FloatArray
    y: FloatArray
    weight: FloatArray
    usable: BoolArray

    def take(self, index: IntArray) -> Views:
        """The views of the points ``index`` only."""
        fields = (self.x, self.y, self.weight, self.usable)
        return Views(*(columns(field, index) for field in fields))


@dataclass(frozen=True, eq=False)
class RigTerms:
    """Per-camera constants of the solver for C cameras.

    ``normal_basis`` (9, 4C) maps DLT features (row ``k * C + c``: feature k of camera c)
    to DLT sums; ``ray_basis`` (6, 6C) maps ray features (row ``k * C + c``) to ray sums.
    ``projection`` (3C, 4): the x rows of every camera's [R | t], then the y rows, then
    the z rows. ``focal`` and ``centre`` (2, C, 1): fx, fy and cx, cy in pixels; ``lens``
    (5, C, 1): the pinhole distortion k1, k2, p1, p2, k3 (zero for fisheye cameras).
    """

    normal_basis: FloatArray
    ray_basis: FloatArray
    projection: FloatArray
    focal: FloatArray
    centre: FloatArray
    lens: FloatArray

    @classmethod
    def of(cls, rig: CameraRig) -> RigTerms:
        """The terms of the cameras of ``rig``, in its order."""
        ext = np.stack([np.hstack([cam.rotation_matrix, cam.translation[:, None]]) for cam in rig])
        p1, p2, p3 = ext[:, 0], ext[:, 1], ext[:, 2]

        def sym(a: FloatArray, b: FloatArray) -> FloatArray:
            outer = np.einsum("ci,cj->cij", a, b)
            return outer + outer.transpose(0, 2, 1)

        # features (w^2 (x^2 + y^2), w^2 x, w^2 y, w^2) weigh these 4x4 matrices
        normal = np.stack(
            [sym(p3, p3) / 2, -sym(p3, p1), -sym(p3, p2), (sym(p1, p1) + sym(p2, p2)) / 2]
        )
        rows, cols = np.triu_indices(3)
        normal_rows = np.concatenate([normal[..., rows, cols], -normal[..., :3, 3]], axis=-1)
        basis = np.zeros((N_RAYS, 3, 3))
        for k, (i, j) in enumerate(zip(rows, cols, strict=True)):
            basis[k, i, j] = basis[k, j, i] = 1.0
        rot = ext[:, :, :3]
        rays = np.einsum("cai,kab,cbj->kcij", rot, basis, rot)[..., rows, cols]  # R^T E_k R
        n = len(rig)
        return cls(
            normal_basis=normal_rows.reshape(4 * n, N_NORMAL).T.copy(),
            ray_basis=rays.reshape(N_RAYS * n, N_RAYS).T.copy(),
            projection=ext.transpose(1, 0, 2).reshape(3 * n, 4).copy(),
            focal=np.stack([np.diag(cam.matrix)[:2] for cam in rig]).T[:, :, None].copy(),
            centre=np.stack([cam.matrix[:2, 2] for cam in rig]).T[:, :, None].copy(),
            lens=np.stack([np.zeros(5) if c.fisheye else c.distortion for c in rig]).T[..., None],
        )

    @property
    def n_cameras(self) -> int:
        """C."""
        return self.focal.shape[1]

    def cameras(self, cameras: list[int]) -> RigTerms:
        """The terms of the cameras ``cameras`` only, in that order."""
        n = self.n_cameras
        normal = self.normal_basis.reshape(N_NORMAL, 4, n)[:, :, cameras]
        rays = self.ray_basis.reshape(N_RAYS, N_RAYS, n)[:, :, cameras]
        return RigTerms(
            normal_basis=normal.reshape(N_NORMAL, -1),
            ray_basis=rays.reshape(N_RAYS, -1),
            projection=self.projection.reshape(3, n, 4)[:, cameras].reshape(-1, 4),
            focal=self.focal[:, cameras],
            centre=self.centre[:, cameras],
            lens=self.lens[:, cameras],
        )


@dataclass(frozen=True, eq=False)
class Features:
    """The features of the views of n points; row ``k * C + c``: feature k of camera c.

    ``normal`` (4C, n): DLT features; ``rays`` (6C, n): ray features (None if unneeded).
    """

    normal: FloatArray
    rays: FloatArray | None


def features(views: Views, rays: bool) -> Features:
    """The DLT features and, if ``rays``, the ray features of every view."""
    x, y, w = views.x, views.y, views.weight
    n_cameras, n = x.shape
    x2, y2 = x * x, y * y
    q = x2 + y2
    normal = np.empty((4, n_cameras, n))
    w2 = np.multiply(w, w, out=normal[3])
    np.multiply(w2, q, out=normal[0])
    np.multiply(w2, x, out=normal[1])
    np.multiply(w2, y, out=normal[2])
    if not rays:
        return Features(normal.reshape(4 * n_cameras, n), None)
    ray = np.empty((N_RAYS, n_cameras, n))
    scale = ray[5]
    np.add(q, 1.0, out=scale)
    np.divide(views.usable, scale, out=scale)  # unusable views add nothing
    np.multiply(x2, scale, out=ray[0])
    np.multiply(x, y, out=ray[1])
    ray[1] *= scale
    np.multiply(x, scale, out=ray[2])
    np.multiply(y2, scale, out=ray[3])
    np.multiply(y, scale, out=ray[4])
    return Features(normal.reshape(4 * n_cameras, n), ray.reshape(N_RAYS * n_cameras, n))


def sums(terms: RigTerms, feats: Features) -> tuple[FloatArray, FloatArray | None]:
    """DLT sums (9, n) and ray sums (6, n) (None without ray features) over all views."""
    normal = product(terms.normal_basis, feats.normal)
    rays = None if feats.rays is None else product(terms.ray_basis, feats.rays)
    return normal, rays


@dataclass(frozen=True, eq=False)
class Shares:
    """Each camera's share of the sums of n points: DLT (C, 9, n), rays (C, 6, n) or None."""

    normal: FloatArray
    rays: FloatArray | None

    @classmethod
    def of(cls, terms: RigTerms, feats: Features) -> Shares:
        """The shares of the views with features ``feats``."""
        n_cameras, n = terms.n_cameras, feats.normal.shape[1]

        def per_camera(basis: FloatArray, values: FloatArray) -> FloatArray:
            rows, k = basis.shape[0], values.shape[0] // n_cameras
            by_camera = basis.reshape(rows, k, n_cameras).transpose(2, 0, 1)  # (C, rows, k)
            return np.matmul(by_camera, values.reshape(k, n_cameras, n).transpose(1, 0, 2))

        rays = None if feats.rays is None else per_camera(terms.ray_basis, feats.rays)
        return cls(per_camera(terms.normal_basis, feats.normal), rays)

    def take(self, index: IntArray) -> Shares:
        """The shares of the points ``index`` only."""
        rays = None if self.rays is None else columns(self.rays, index)
        return Shares(columns(self.normal, index), rays)

    def sums(self, member: BoolArray) -> tuple[FloatArray, FloatArray | None]:
        """DLT sums (9, s * n) and ray sums (6, s * n) over each of s camera subsets.

        ``member`` (s, C): the cameras of each subset; column ``i * n + j`` is point j
        from subset i.
        """

        def add(share: FloatArray) -> FloatArray:
            out = np.empty((share.shape[1], len(member), share.shape[2]))
            for i, cameras in enumerate(member):
                first, *rest = np.flatnonzero(cameras)
                np.copyto(out[:, i], share[first])
                for camera in rest:
                    out[:, i] += share[camera]
            return out.reshape(share.shape[1], -1)

        return add(self.normal), None if self.rays is None else add(self.rays)


def solve(normal: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Points (4, n) = (x, y, z, 1) from DLT sums (9, n) by the adjugate, and which are solvable."""
    a, b, c, d, e, f, h0, h1, h2 = normal
    c00, c01, c02 = d * f - e * e, c * e - b * f, b * e - c * d
    c11, c12, c22 = a * f - c * c, b * c - a * e, a * d - b * b
    det = a * c00 + b * c01 + c * c02
    trace = a + d + f
    solvable = det > 1e-14 * trace * trace * trace
    inverse = 1.0 / np.where(solvable, det, 1.0)
    points = np.empty((4, a.size))
    for row, (k0, k1, k2) in enumerate(((c00, c01, c02), (c01, c11, c12), (c02, c12, c22))):
        out = np.multiply(k0, h0, out=points[row])
        out += k1 * h1
        out += k2 * h2
        out *= inverse
    points[3] = 1.0
    return points, solvable


def conditioned(rays: FloatArray, count: NDArray, min_lambda: float) -> BoolArray:
    """Whether ``lambda_min(sum_c (I - d_c d_c^T)) >= min_lambda`` (n,), from ray sums (6, n).

    With G = sum d d^T over ``count`` views the matrix is ``count I - G``; it is at least
    ``min_lambda`` (less 1e-12 for rounding) exactly when ``H = (count - min_lambda) I - G``
    is positive definite: Sylvester's criterion on H's leading minors, no eigenvalues.
    """
    g00, g01, g02, g11, g12, g22 = rays
    diagonal = count - (min_lambda - 1e-12)
    h00, h11, h22 = diagonal - g00, diagonal - g11, diagonal - g22
    minor = h00 * h11 - g01 * g01
    det = h00 * (h11 * h22 - g12 * g12) - g01 * g01 * h22 - h11 * g02 * g02
    det -= 2.0 * g01 * g02 * g12
    return (h00 > 0) & (minor > 0) & (det > 0)


@dataclass(frozen=True, eq=False)
class Projection:
    """n points seen by k cameras: normalised x, y (k, n) and inverse depth 1 / z (k, n)."""

    x: FloatArray
    y: FloatArray
    inverse_depth: FloatArray

    def put(self, index: IntArray, other: Projection) -> None:
        """Replace the points ``index`` by those of ``other``."""
        for mine, theirs in ((self.x, other.x), (self.y, other.y)):
            mine[:, index] = theirs
        self.inverse_depth[:, index] = other.inverse_depth


def project(terms: RigTerms, points: FloatArray) -> Projection:
    """Points (4, n) in the cameras of ``terms``."""
    cam = product(terms.projection, points).reshape(3, terms.n_cameras, -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        inverse = np.divide(1.0, cam[2], out=cam[2])
        np.multiply(cam[:2], inverse, out=cam[:2])
    return Projection(cam[0], cam[1], inverse)


def squared_errors(
    terms: RigTerms, projection: Projection, x: FloatArray, y: FloatArray
) -> FloatArray:
    """Squared undistorted-pixel errors (k, n) of projected points, inf behind a camera."""
    with np.errstate(invalid="ignore"):
        du = x - projection.x
        du *= terms.focal[0]
        dv = y - projection.y
        dv *= terms.focal[1]
        error = np.multiply(du, du, out=du)
        error += dv * dv
    error[~(projection.inverse_depth > 0)] = np.inf  # behind the camera (or on its plane)
    return error


@dataclass(frozen=True, eq=False)
class Fit:
    """Solutions of n points, each from its own set of k views.

    ``points`` (4, n) homogeneous, ``errors`` (k, n) squared undistorted-pixel errors in
    the views (inf behind a camera; None when errors are not checked), ``projection`` the
    points' projections (None likewise); ``consistent`` (n,): enough views, solvable,
    every view used in front and within ``max_error_px``; ``conditioned`` (n,):
    ``lambda_min`` of the ray matrix high enough.
    """

    points: FloatArray
    errors: FloatArray | None
    projection: Projection | None
    consistent: BoolArray
    conditioned: BoolArray


def fit(
    terms: RigTerms,
    totals: tuple[FloatArray, FloatArray | None],
    count: NDArray,
    views: tuple[FloatArray, FloatArray, BoolArray | None],
    limits: Limits,
    *,
    errors: bool = False,
) -> Fit:
    """Solve n points from their DLT and ray sums ``totals`` over ``count`` (n,) views.

    ``views``: x, y (k, n) of the cameras of ``terms`` and which of them are used (None:
    all). Errors are computed when they can refuse a solution or ``errors`` asks for them,
    the rays only when they can refuse it.
    """
    normal, rays = totals
    points, solvable = solve(normal)
    consistent = solvable & (count >= limits.min_views)
    squared = projection = None
    if limits.checks_errors or errors:
        x, y, use = views
        projection = project(terms, points)
        squared = squared_errors(terms, projection, x, y)
        within = squared <= limits.max_error_px**2
        if use is not None:
            within |= ~use
        consistent &= np.logical_and.reduce(within, axis=0)
    if limits.checks_rays and rays is not None:
        ok = conditioned(rays, count, limits.min_lambda)
    else:
        ok = np.ones(points.shape[1], dtype=bool)
    return Fit(points, squared, projection, consistent, ok)


def image_distances(terms: RigTerms, projection: Projection, pixels: NDArray) -> FloatArray:
    """Distances (C, n) in image pixels between observed ``pixels`` (C, n, 2) and projections.

    Pinhole cameras only (fisheye rows are wrong): OpenCV's 5-term model, as
    ``calibration.geometry.distort_pinhole``, on whole planes. NaN behind a camera.
    """
    x, y = projection.x, projection.y
    k1, k2, p1, p2, k3 = terms.lens
    r2 = x * x
    r2 += y * y
    scale = r2 * k3
    scale += k2
    scale *= r2
    scale += k1
    scale *= r2
    scale += 1.0
    scale += x * (2.0 * p2)  # x' = x (radial + 2 p2 x + 2 p1 y) + p2 r^2, y' likewise
    scale += y * (2.0 * p1)
    du = x * scale
    du += p2 * r2
    du *= terms.focal[0]
    du += terms.centre[0]
    du -= pixels[..., 0]
    dv = y * scale
    dv += p1 * r2
    dv *= terms.focal[1]
    dv += terms.centre[1]
    dv -= pixels[..., 1]
    du *= du
    dv *= dv
    du += dv
    distance = np.sqrt(du, out=du)
    distance[~(projection.inverse_depth > 0)] = np.nan  # behind the camera
    return distance
