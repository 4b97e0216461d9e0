"""The compiled triangulation: numba kernels that solve every point, blocks of points in parallel.

They repeat the numpy path of ``mocap.triangulation`` (the reference; its module docstring
gives the rules) with the same arithmetic in the same order wherever that order is fixed:
the undistortion of ``Camera.normalized_points`` for pinhole lenses (the cached grid's
start and one Newton step; OpenCV's fixed point where the start cannot be trusted, and for
calls of fewer than ``INVERSE_RULE.min_grid_points`` points; then the re-distortion
check), the views' DLT and ray features and the cameras' bases, the closed-form 3x3 solve,
the checks, the subset search (the same order of subsets, the same ranking, the same
ambiguity rule), the leave-one-out and the image-pixel reprojection error. Only the order
of a few sums differs (BLAS's there, camera order here): points agree to ~1e-13 m and
errors to ~1e-11 px (7e-10 m and 3e-8 px at worst on the tests' real recordings), and a
decision could differ only for a value within rounding of its threshold.

A block of ``BLOCK_POINTS`` points goes through each step together, camera by camera, in
loops without branches or calls that the compiler turns into SIMD code (as numpy's whole
planes, but in the CPU caches); only the points whose views disagree are searched one by
one. There a set of views is an int64 bit mask of camera indices (bit c: camera c), so
rigs of up to ``MAX_CAMERAS`` cameras are solved here; ``mocap.triangulation`` keeps larger
rigs and fisheye lenses on the numpy path. Compiled functions called per point take plain
arrays and scalars only: a tuple of arrays costs an atomic reference count per array and
call. All compiled code is in this one file: numba's disk cache notices changes to a
function's own file only.
"""

from __future__ import annotations

import functools
import math
import threading
from typing import NamedTuple

import numba
import numpy as np
from numpy.typing import NDArray

from calibration.camera import INVERSE_RULE, CameraRig, InverseGrid, inverse_grid
from mocap._triangulation_linear import N_NORMAL, N_RAYS, FloatArray, Limits, RigTerms

IntArray = NDArray[np.int64]
Point = tuple[float, float, float]

MAX_CAMERAS = 62
"""Most cameras a rig may have here (sets of views are int64 bit masks)."""

BLOCK_POINTS = 256
"""Points solved together, step by step (a block's planes stay in the CPU caches)."""

TOO_FEW_VIEWS, INCONSISTENT, ILL_CONDITIONED = 1, 2, 3
"""``PointStatus`` values (0: reconstructed)."""

_SEARCH = -1
"""Status of a point whose views must be searched."""

# Columns of the camera table, one row per camera (built by ``_camera_table``).
_NORMAL = 12
"""Columns 0-11: [R | t] row by row; then the DLT basis, 9 sums for each of the 4 DLT
features (``_NORMAL + 9 k + r``)."""
_RAYS = 48
"""The ray basis: 6 sums for each of the 6 ray features (``_RAYS + 6 k + r``)."""
_FX, _FY, _CX, _CY = 84, 85, 86, 87
_K = 88
"""k1, k2, p1, p2, k3."""
_GRID = 93
"""12 constants of the nearest grid node, computed once as numpy computes them (see
``_grid_constants``)."""
_COLUMNS, _FIRST, _LAST = 105, 106, 107
"""The grid's columns (0: no grid, the exact route only), its first and last row in the
node table."""
_START2, _MIN_DET, _ITERATIONS, _EPSILON, _TOLERANCE = 108, 109, 110, 111, 112
"""``INVERSE_RULE``: the squared start and least determinant the grid route trusts, the
exact route's iterations and epsilon, the re-distortion check's tolerance."""
_N_COLUMNS = 113

# Rows of the work space of one point's search, of max(15, C) columns.
_X, _Y, _W = 0, 1, 2
"""The views' normalised x, y and confidence weight (column c: camera c)."""
_SUMS = 3
"""DLT sums (9) and ray sums (6) over a set of views."""
_ERRORS = 4
"""The squared undistorted-pixel errors of the last checked solution in each view."""
_SHARES = 5
"""Row ``_SHARES + c``: camera c's shares of the sums (15)."""

_LARGEST = 1.7976931348623157e308
"""DBL_MAX: OpenCV's error before its first step."""

_jit = functools.partial(
    numba.njit, cache=True, error_model="numpy", no_cpython_wrapper=True, no_cfunc_wrapper=True
)
"""Compiled on first use and cached on disk; float division by zero gives inf or NaN."""

_LOCK = threading.Lock()
"""One kernel call at a time: numba's workqueue threading layer is not re-entrant."""


class Options(NamedTuple):
    """The solver's limits (``Limits``) and options.

    ``checks_subsets`` is always True: subset solutions are always checked against
    ``max_error_px`` (a variable, not a literal, so that one compiled version serves).
    """

    min_confidence: float
    max_error2: float
    checks_errors: bool
    checks_subsets: bool
    min_views: int
    min_lambda: float
    checks_rays: bool
    subsets: bool
    ratio: float


class Output(NamedTuple):
    """The results of M points, as ``mocap.triangulation`` stores them.

    ``points`` (M, 3), ``error`` (M,), ``used`` (C, M), ``n_usable`` (M,), ``status`` (M,).
    """

    points: FloatArray
    error: FloatArray
    used: NDArray[np.bool_]
    n_usable: NDArray[np.uint8]
    status: NDArray[np.uint8]


class _Block(NamedTuple):
    """The planes of a block of B points seen by C cameras.

    ``pixels`` (4, C, B): the keypoints' x, y, confidence, and 1 where x + y is finite in
    their precision; ``views`` (4, C, B): normalised x, y, confidence weight and 1 where
    usable (all 0 where not); ``masks`` (B,): the usable views; ``counts`` (B,): their
    number; ``starts`` (7, B): the grid route's temporaries; ``features`` (10, B): one
    camera's view features; ``sums`` (15, B): the DLT and ray sums over all usable views;
    ``points`` (3, B): the solutions; ``checks`` (3, B): 1 where solvable, within the
    error limit, conditioned; ``projections`` (3, C, B): the solutions' normalised x, y
    and inverse depth in each camera; ``use`` (B,): the views used; ``status`` (B,);
    ``errors`` and ``n_used`` (B,): the image-pixel error sums and counts.
    """

    pixels: FloatArray
    views: FloatArray
    masks: IntArray
    counts: FloatArray
    starts: FloatArray
    features: FloatArray
    sums: FloatArray
    points: FloatArray
    checks: FloatArray
    projections: FloatArray
    use: IntArray
    status: IntArray
    errors: FloatArray
    n_used: FloatArray


# --- undistortion: Camera.normalized_points for a pinhole lens -------------------------


@_jit
def _distortion(c: int, cams: FloatArray) -> tuple[float, float, float, float, float]:
    """Camera c's lens distortion k1, k2, p1, p2, k3."""
    return cams[c, _K], cams[c, _K + 1], cams[c, _K + 2], cams[c, _K + 3], cams[c, _K + 4]


@_jit
def _distort(x: float, y: float, c: int, cams: FloatArray) -> tuple[float, float]:
    """OpenCV's 5-term distortion of normalised (x, y), as ``distort_pinhole`` orders it."""
    k1, k2, p1, p2, k3 = _distortion(c, cams)
    r2 = x * x + y * y
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    return xd, yd


@_jit
def _fixed_point_error(x: float, y: float, u: float, v: float, c: int, cams: FloatArray) -> float:
    """Pixel distance between (u, v) and normalised (x, y) distorted as OpenCV's loop does."""
    k1, k2, p1, p2, k3 = _distortion(c, cams)
    r2 = x * x + y * y
    r4 = r2 * r2
    r6 = r4 * r2
    cdist = 1 + k1 * r2 + k2 * r4 + k3 * r6
    xd = x * cdist + p1 * (2 * x * y) + p2 * (r2 + 2 * x * x)
    yd = y * cdist + p1 * (r2 + 2 * y * y) + p2 * (2 * x * y)
    return math.sqrt(
        (xd * cams[c, _FX] + cams[c, _CX] - u) ** 2 + (yd * cams[c, _FY] + cams[c, _CY] - v) ** 2
    )


@_jit
def _undistort_exact(u: float, v: float, c: int, cams: FloatArray) -> tuple[float, float]:
    """``cv2.undistortPointsIter``'s fixed point for pixel (u, v), then the check.

    NaN if the result distorts back farther than the tolerance from the pixel.
    """
    k1, k2, p1, p2, k3 = _distortion(c, cams)
    x0 = x = (u - cams[c, _CX]) * cams[c, _GRID]
    y0 = y = (v - cams[c, _CY]) * cams[c, _GRID + 2]
    error = _LARGEST
    for _ in range(int(cams[c, _ITERATIONS])):
        if error < cams[c, _EPSILON]:
            break
        r2 = x * x + y * y
        icdist = 1.0 / (1 + ((k3 * r2 + k2) * r2 + k1) * r2)
        if icdist < 0:
            x, y = x0, y0
            break
        delta_x = 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
        delta_y = p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
        x, y = (x0 - delta_x) * icdist, (y0 - delta_y) * icdist
        error = _fixed_point_error(x, y, u, v, c, cams)
    xd, yd = _distort(x, y, c, cams)
    miss = math.hypot(xd * cams[c, _FX] + cams[c, _CX] - u, yd * cams[c, _FY] + cams[c, _CY] - v)
    return (math.nan, math.nan) if miss > cams[c, _TOLERANCE] else (x, y)


class _GridLookup(NamedTuple):
    """One camera's constants of the nearest grid node (see ``_grid_constants``)."""

    inverse_fx: float
    cx_fx: float
    inverse_fy: float
    cy_fy: float
    column_scale: float
    column_shift: float
    du_scale: float
    du_shift: float
    row_scale: float
    row_shift: float
    dv_scale: float
    dv_shift: float
    columns: float
    first: float
    last: float


class _LensStep(NamedTuple):
    """One camera's constants of the Newton step: distortion, focal lengths, trust limits."""

    k1: float
    k2: float
    p1: float
    p2: float
    k3: float
    fx: float
    fy: float
    start2: float
    min_det: float


@_jit
def _newton(x: float, y: float, xd: float, yd: float, k: _LensStep) -> tuple[float, float, bool]:
    """One Newton step from (x, y) towards the normalised distorted target (xd, yd).

    As ``calibration.camera._pinhole_jacobian`` and ``_undistort_fast``, operation for
    operation. Returns the new x, y and whether the start can be trusted (within the start
    limit of the target, the Jacobian far from folding).
    """
    x2, y2, xy = x * x, y * y, x * y
    r2 = x2 + y2
    s = ((r2 * k.k3 + k.k2) * r2 + k.k1) * r2 + 1.0
    slope = (r2 * (6.0 * k.k3) + 4.0 * k.k2) * r2 + 2.0 * k.k1
    s = s + x * (2.0 * k.p2) + y * (2.0 * k.p1)
    jxx = x2 * slope + s + x * (4.0 * k.p2)
    jyy = y2 * slope + s + y * (4.0 * k.p1)
    jxy = xy * slope + x * (2.0 * k.p1) + y * (2.0 * k.p2)
    ex = x * s + k.p2 * r2 - xd
    ey = y * s + k.p1 * r2 - yd
    det = jxx * jyy - jxy * jxy
    x -= (jyy * ex - jxy * ey) / det
    y -= (jxx * ey - jxy * ex) / det
    ex *= k.fx
    ey *= k.fy
    return x, y, ex * ex + ey * ey <= k.start2 and det > k.min_det


@_jit
def _grid_lookup(c: int, cams: FloatArray) -> _GridLookup:
    """Camera c's grid constants, read once per block."""
    g = _GRID
    return _GridLookup(
        cams[c, g],
        cams[c, g + 1],
        cams[c, g + 2],
        cams[c, g + 3],
        cams[c, g + 4],
        cams[c, g + 5],
        cams[c, g + 6],
        cams[c, g + 7],
        cams[c, g + 8],
        cams[c, g + 9],
        cams[c, g + 10],
        cams[c, g + 11],
        cams[c, _COLUMNS],
        cams[c, _FIRST],
        cams[c, _LAST],
    )


@_jit
def _lens_step(c: int, cams: FloatArray) -> _LensStep:
    """Camera c's Newton-step constants, read once per block."""
    return _LensStep(
        cams[c, _K],
        cams[c, _K + 1],
        cams[c, _K + 2],
        cams[c, _K + 3],
        cams[c, _K + 4],
        cams[c, _FX],
        cams[c, _FY],
        cams[c, _START2],
        cams[c, _MIN_DET],
    )


@_jit
def _grid_starts(c: int, cams: FloatArray, pixels: FloatArray, starts: FloatArray) -> None:
    """The grid node nearest to each of camera c's pixels of a block, as ``_nearest_node``.

    ``starts`` (7, B): rows 0-4 get the normalised distorted target x, y, the offsets from
    the node and the node's row in the node table (numpy's int32 conversion and clipping).
    """
    g = _grid_lookup(c, cams)
    for j in range(starts.shape[1]):
        xd = pixels[0, c, j] * g.inverse_fx - g.cx_fx
        yd = pixels[1, c, j] * g.inverse_fy - g.cy_fy
        column = np.floor(xd * g.column_scale + g.column_shift)
        row = np.floor(yd * g.row_scale + g.row_shift)
        index = row * g.columns + column
        inside = (index >= 0.0) & (index < 2147483648.0)  # else int32 gives INT_MIN: node 0
        starts[0, j], starts[1, j] = xd, yd
        starts[2, j] = xd - (column * g.du_scale + g.du_shift)
        starts[3, j] = yd - (row * g.dv_scale + g.dv_shift)
        starts[4, j] = g.first + (min(index, g.last) if inside else 0.0)


@_jit
def _grid_gather(nodes: FloatArray, starts: FloatArray) -> None:
    """The starts x, y (rows 5, 6 of ``starts``), as ``_undistort_fast``.

    The node's undistortion plus its inverse Jacobian times the offsets.
    """
    for j in range(starts.shape[1]):
        row, du, dv = int(starts[4, j]), starts[2, j], starts[3, j]
        starts[5, j] = nodes[row, 2] * du + nodes[row, 3] * dv + nodes[row, 0]
        starts[6, j] = nodes[row, 3] * du + nodes[row, 4] * dv + nodes[row, 1]


@_jit
def _grid_newton(c: int, cams: FloatArray, starts: FloatArray, views: FloatArray) -> None:
    """One Newton step from each start of camera c's views of a block.

    ``views[0, c]``, ``views[1, c]`` get x and y, ``views[3, c]`` 1 where the start can be
    trusted, else 0.
    """
    k = _lens_step(c, cams)
    for j in range(starts.shape[1]):
        x, y, trusted = _newton(starts[5, j], starts[6, j], starts[0, j], starts[1, j], k)
        views[0, c, j], views[1, c, j] = x, y
        views[3, c, j] = 1.0 if trusted else 0.0


@_jit
def _trusted_views(
    c: int, least: float, pixels: FloatArray, views: FloatArray, masks: IntArray
) -> None:
    """Camera c's views of a block that are usable as the grid route left them.

    Confidence at least ``least`` and a trusted start (``views[3, c]`` 1); the others
    become all 0.
    """
    bit = 1 << c
    for j in range(masks.size):
        confidence = pixels[2, c, j]
        good = (confidence >= least) & (views[3, c, j] > 0)
        views[0, c, j] = views[0, c, j] if good else 0.0
        views[1, c, j] = views[1, c, j] if good else 0.0
        views[2, c, j] = confidence if good else 0.0
        views[3, c, j] = 1.0 if good else 0.0
        masks[j] |= bit if good else 0


@_jit
def _exact_views(
    c: int,
    least: float,
    grid: bool,
    cams: FloatArray,
    pixels: FloatArray,
    views: FloatArray,
    masks: IntArray,
) -> None:
    """Camera c's views of a block that take the exact route.

    Those confident enough but not usable yet (no grid, or a start that cannot be trusted).
    The pixel must be finite (numpy's tests: u + v in the pixels' precision on the grid
    route, u and v on the exact one) and invertible (``_undistort_exact``).
    """
    bit = 1 << c
    for j in range(masks.size):
        u, v, confidence = pixels[0, c, j], pixels[1, c, j], pixels[2, c, j]
        if masks[j] & bit or not confidence >= least:
            continue
        finite = pixels[3, c, j] > 0 if grid else np.isfinite(u) and np.isfinite(v)
        if not finite:
            continue
        x, y = _undistort_exact(u, v, c, cams)
        if np.isfinite(x):
            views[0, c, j], views[1, c, j], views[2, c, j], views[3, c, j] = x, y, confidence, 1.0
            masks[j] |= bit


@_jit
def _copy_pixels(keypoints: NDArray, start: int, pixels: FloatArray) -> None:
    """A block's keypoints (C, M, 3), from point ``start`` on, as float64 ``pixels``.

    ``pixels`` (4, C, B): x, y, confidence, and 1 where x + y is finite in the keypoints'
    precision.
    """
    for c in range(pixels.shape[1]):
        for j in range(pixels.shape[2]):
            u, v = keypoints[c, start + j, 0], keypoints[c, start + j, 1]
            pixels[0, c, j], pixels[1, c, j], pixels[2, c, j] = u, v, keypoints[c, start + j, 2]
            pixels[3, c, j] = 1.0 if np.isfinite(u + v) else 0.0


@_jit
def _load_pixels(
    keypoints32: NDArray, keypoints64: FloatArray, start: int, pixels: FloatArray
) -> None:
    """``_copy_pixels`` from whichever keypoints are given (the other has no points).

    Everything after this step is compiled once, whatever the keypoints' precision.
    """
    if keypoints64.shape[1] > 0:
        _copy_pixels(keypoints64, start, pixels)
    else:
        _copy_pixels(keypoints32, start, pixels)


@_jit
def _undistort_block(least: float, cams: FloatArray, nodes: FloatArray, b: _Block) -> None:
    """Undistort the views of a block's points (``b.views``), find their usable views.

    A view is usable when its confidence is at least ``least`` and its pixel can be
    inverted (``Camera.normalized_points``). Unusable views are all 0 in ``b.views``.
    """
    pixels, starts, views, masks = b.pixels, b.starts, b.views, b.masks
    for c in range(cams.shape[0]):
        grid = cams[c, _COLUMNS] > 0
        if grid:  # else the views stay all 0 (not trusted)
            _grid_starts(c, cams, pixels, starts)
            _grid_gather(nodes, starts)
            _grid_newton(c, cams, starts, views)
            _trusted_views(c, least, pixels, views, masks)
        _exact_views(c, least, grid, cams, pixels, views, masks)
    for j in range(masks.size):
        b.counts[j] = _count(masks[j])


# --- a block of points: all usable views together ------------------------------------------


@_jit
def _features(
    x: float, y: float, w: float, usable: float
) -> tuple[float, float, float, float, float, float, float, float, float, float]:
    """A view's DLT and ray features, as ``_triangulation_linear.features``.

    DLT: ``w^2 (x^2 + y^2, x, y, 1)``; rays: ``(x^2, xy, x, y^2, y, 1) / (x^2 + y^2 + 1)``,
    0 where not ``usable``.
    """
    x2, y2 = x * x, y * y
    w2 = w * w
    scale = usable / (x2 + y2 + 1.0)
    return (
        w2 * (x2 + y2),
        w2 * x,
        w2 * y,
        w2,
        x2 * scale,
        x * y * scale,
        x * scale,
        y2 * scale,
        y * scale,
        scale,
    )


@_jit
def _view_features(c: int, views: FloatArray, features: FloatArray) -> None:
    """The features (10, B) of camera c's views of a block (``_features``)."""
    for j in range(features.shape[1]):
        f = _features(views[0, c, j], views[1, c, j], views[2, c, j], views[3, c, j])
        features[0, j], features[1, j], features[2, j], features[3, j], features[4, j] = f[:5]
        features[5, j], features[6, j], features[7, j], features[8, j], features[9, j] = f[5:]


@_jit
def _add_normal(r: int, c: int, cams: FloatArray, features: FloatArray, sums: FloatArray) -> None:
    """Add camera c's share of DLT sum r, its basis times the DLT features, to a block's."""
    n = _NORMAL + r
    b0, b1, b2, b3 = cams[c, n], cams[c, n + 9], cams[c, n + 18], cams[c, n + 27]
    for j in range(sums.shape[1]):
        sums[r, j] += (
            b0 * features[0, j] + b1 * features[1, j] + b2 * features[2, j] + b3 * features[3, j]
        )


@_jit
def _add_ray(r: int, c: int, cams: FloatArray, features: FloatArray, sums: FloatArray) -> None:
    """Add camera c's share of ray sum r, its basis times the ray features, to a block's."""
    n = _RAYS + r
    b0, b1, b2, b3, b4, b5 = (
        cams[c, n],
        cams[c, n + 6],
        cams[c, n + 12],
        cams[c, n + 18],
        cams[c, n + 24],
        cams[c, n + 30],
    )
    for j in range(sums.shape[1]):
        total = (
            b0 * features[4, j] + b1 * features[5, j] + b2 * features[6, j] + b3 * features[7, j]
        )
        sums[N_NORMAL + r, j] += total + b4 * features[8, j] + b5 * features[9, j]


@_jit
def _add_camera(
    c: int, cams: FloatArray, rays: bool, views: FloatArray, features: FloatArray, sums: FloatArray
) -> None:
    """Add camera c's shares of the DLT sums (and ray sums if ``rays``) to a block's sums.

    A view's share: its camera's bases weighted by its features, as ``features`` and
    ``sums``; unusable views add 0.
    """
    _view_features(c, views, features)
    for r in range(N_NORMAL):
        _add_normal(r, c, cams, features, sums)
    if rays:
        for r in range(N_RAYS):
            _add_ray(r, c, cams, features, sums)


@_jit
def _adjugate(
    a: float, b: float, c: float, d: float, e: float, f: float, h0: float, h1: float, h2: float
) -> tuple[float, float, float, bool]:
    """Solve [[a, b, c], [b, d, e], [c, e, f]] x = h by the adjugate, as ``solve``.

    Returns x (3 values) and whether the system is solvable.
    """
    c00, c01, c02 = d * f - e * e, c * e - b * f, b * e - c * d
    c11, c12, c22 = a * f - c * c, b * c - a * e, a * d - b * b
    det = a * c00 + b * c01 + c * c02
    trace = a + d + f
    solvable = det > 1e-14 * trace * trace * trace
    inverse = 1.0 / (det if solvable else 1.0)
    x = (c00 * h0 + c01 * h1 + c02 * h2) * inverse
    y = (c01 * h0 + c11 * h1 + c12 * h2) * inverse
    z = (c02 * h0 + c12 * h1 + c22 * h2) * inverse
    return x, y, z, solvable


@_jit
def _sylvester(
    g00: float,
    g01: float,
    g02: float,
    g11: float,
    g12: float,
    g22: float,
    count: float,
    min_lambda: float,
) -> bool:
    """Whether ``lambda_min(count I - G) >= min_lambda`` for the ray sums G (upper triangle).

    Sylvester's criterion, as ``_triangulation_linear.conditioned``.
    """
    diagonal = count - (min_lambda - 1e-12)
    h00, h11, h22 = diagonal - g00, diagonal - g11, diagonal - g22
    minor = h00 * h11 - g01 * g01
    det = h00 * (h11 * h22 - g12 * g12) - g01 * g01 * h22 - h11 * g02 * g02
    det -= 2.0 * g01 * g02 * g12
    return (h00 > 0) & (minor > 0) & (det > 0)


@_jit
def _solve_sums(
    s: FloatArray, counts: FloatArray, opt: Options, points: FloatArray, checks: FloatArray
) -> None:
    """Solve every point of a block from its sums ``s`` (15, B) into ``points`` (3, B).

    ``checks`` rows 0 and 2: whether solvable and conditioned; row 1 (within the limit)
    starts at 1.
    """
    for j in range(s.shape[1]):
        x, y, z, solvable = _adjugate(
            s[0, j], s[1, j], s[2, j], s[3, j], s[4, j], s[5, j], s[6, j], s[7, j], s[8, j]
        )
        points[0, j], points[1, j], points[2, j] = x, y, z
        checks[0, j] = 1.0 if solvable else 0.0
        checks[1, j] = 1.0
        rays = s[9, j], s[10, j], s[11, j], s[12, j], s[13, j], s[14, j]
        conditioned = _sylvester(*rays, counts[j], opt.min_lambda) if opt.checks_rays else True
        checks[2, j] = 1.0 if conditioned else 0.0


@_jit
def _project_camera(
    c: int,
    cams: FloatArray,
    max_error2: float,
    views: FloatArray,
    points: FloatArray,
    projections: FloatArray,
    checks: FloatArray,
) -> None:
    """Project a block's solutions into camera c and check its views, as ``fit``.

    ``checks[1]`` is cleared where a usable view is farther than the limit (or behind the
    camera).
    """
    fx, fy = cams[c, _FX], cams[c, _FY]
    for j in range(points.shape[1]):
        x, y, z = points[0, j], points[1, j], points[2, j]
        xc = cams[c, 0] * x + cams[c, 1] * y + cams[c, 2] * z + cams[c, 3]
        yc = cams[c, 4] * x + cams[c, 5] * y + cams[c, 6] * z + cams[c, 7]
        zc = cams[c, 8] * x + cams[c, 9] * y + cams[c, 10] * z + cams[c, 11]
        inverse = 1.0 / zc
        u, v = xc * inverse, yc * inverse
        projections[0, c, j], projections[1, c, j], projections[2, c, j] = u, v, inverse
        du, dv = (views[0, c, j] - u) * fx, (views[1, c, j] - v) * fy
        squared = du * du + dv * dv if inverse > 0 else math.inf
        within = (squared <= max_error2) | (views[3, c, j] == 0.0)
        checks[1, j] = checks[1, j] if within else 0.0


# --- one point's search: sums, solve, checks -------------------------------------------


@_jit
def _add_share(c: int, cams: FloatArray, rays: bool, work: FloatArray) -> None:
    """Camera c's share of the DLT sums (and of the ray sums if ``rays``) from its view.

    The same arithmetic as ``_add_camera``, for one view in the work space.
    """
    f = _features(work[_X, c], work[_Y, c], work[_W, c], 1.0)
    share = _SHARES + c
    for r in range(N_NORMAL):
        n = _NORMAL + r
        work[share, r] = (
            cams[c, n] * f[0]
            + cams[c, n + 9] * f[1]
            + cams[c, n + 18] * f[2]
            + cams[c, n + 27] * f[3]
        )
    if rays:
        for r in range(N_RAYS):
            n = _RAYS + r
            total = (
                cams[c, n] * f[4]
                + cams[c, n + 6] * f[5]
                + cams[c, n + 12] * f[6]
                + cams[c, n + 18] * f[7]
            )
            work[share, N_NORMAL + r] = total + cams[c, n + 24] * f[8] + cams[c, n + 30] * f[9]


@_jit
def _sum_shares(mask: int, n_cameras: int, work: FloatArray) -> int:
    """Sum the shares of the views in ``mask`` into the sums, in camera order; their count."""
    for r in range(N_NORMAL + N_RAYS):
        work[_SUMS, r] = 0.0
    count = 0
    for c in range(n_cameras):
        if mask >> c & 1:
            for r in range(N_NORMAL + N_RAYS):
                work[_SUMS, r] += work[_SHARES + c, r]
            count += 1
    return count


@_jit
def _project(c: int, point: Point, cams: FloatArray) -> tuple[float, float, float]:
    """Normalised x, y and inverse depth of ``point`` (x, y, z) in camera c."""
    x, y, z = point
    xc = cams[c, 0] * x + cams[c, 1] * y + cams[c, 2] * z + cams[c, 3]
    yc = cams[c, 4] * x + cams[c, 5] * y + cams[c, 6] * z + cams[c, 7]
    zc = cams[c, 8] * x + cams[c, 9] * y + cams[c, 10] * z + cams[c, 11]
    inverse = 1.0 / zc
    return xc * inverse, yc * inverse, inverse


@_jit
def _squared_error(c: int, point: Point, cams: FloatArray, work: FloatArray) -> float:
    """Squared undistorted-pixel error of ``point`` in camera c's view; inf behind it."""
    x, y, inverse = _project(c, point, cams)
    if not inverse > 0:
        return math.inf
    du = (work[_X, c] - x) * cams[c, _FX]
    dv = (work[_Y, c] - y) * cams[c, _FY]
    return du * du + dv * dv


@_jit
def _within(mask: int, point: Point, max_error2: float, cams: FloatArray, work: FloatArray) -> bool:
    """Whether ``point`` re-projects within the limit into the views of ``mask``.

    Its squared errors go to row ``_ERRORS``.
    """
    within = True
    for c in range(cams.shape[0]):
        if mask >> c & 1:
            squared = _squared_error(c, point, cams, work)
            work[_ERRORS, c] = squared
            within &= squared <= max_error2
    return within


@_jit
def _fit(
    mask: int, check: bool, cams: FloatArray, opt: Options, work: FloatArray
) -> tuple[bool, bool, Point]:
    """Solve from the views in ``mask``, as ``_triangulation_linear.fit``.

    ``check``: whether the errors can refuse it (then they are in row ``_ERRORS``).
    Returns whether it is consistent, whether it is conditioned, and the point.
    """
    count = _sum_shares(mask, cams.shape[0], work)
    a, b, c, d, e, f = (
        work[_SUMS, 0],
        work[_SUMS, 1],
        work[_SUMS, 2],
        work[_SUMS, 3],
        work[_SUMS, 4],
        work[_SUMS, 5],
    )
    x, y, z, solvable = _adjugate(a, b, c, d, e, f, work[_SUMS, 6], work[_SUMS, 7], work[_SUMS, 8])
    consistent = solvable and count >= opt.min_views
    if check:
        consistent &= _within(mask, (x, y, z), opt.max_error2, cams, work)
    rays = (
        work[_SUMS, 9],
        work[_SUMS, 10],
        work[_SUMS, 11],
        work[_SUMS, 12],
        work[_SUMS, 13],
        work[_SUMS, 14],
    )
    conditioned = _sylvester(*rays, float(count), opt.min_lambda) if opt.checks_rays else True
    return consistent, conditioned, (x, y, z)


@_jit
def _distances(mask: int, work: FloatArray) -> tuple[float, float]:
    """Mean and largest undistorted-pixel error of the last checked fit over ``mask``."""
    total = worst = 0.0
    count = 0
    for c in range(work.shape[1]):
        if mask >> c & 1:
            distance = math.sqrt(work[_ERRORS, c])
            total += distance
            worst = max(worst, distance)
            count += 1
    return total / max(count, 1), worst


@_jit
def _count(mask: int) -> int:
    """Views in ``mask``."""
    count = 0
    while mask:
        mask &= mask - 1
        count += 1
    return count


# --- the subset search: _triangulation_subsets.search_subsets for one point --------------


class _Ranked(NamedTuple):
    """One size of a point's subset search, as ``_Best.offer`` ranks it.

    Whether any subset agrees, whether any agreeing one is ill conditioned; the best's key
    (mean error if it agrees, else inf), views, solution and conditioning; the runner-up's
    key, views and solution.
    """

    agreed: bool
    ill: bool
    best: float
    best_mask: int
    best_point: Point
    best_ok: bool
    rival: float
    rival_mask: int
    rival_point: Point


@_jit
def _next_combination(combo: IntArray, size: int, n: int) -> bool:
    """Advance ``combo[:size]`` to the next subset of range(n) in ``itertools`` order."""
    j = size - 1
    while j >= 0 and combo[j] == n - size + j:
        j -= 1
    if j < 0:
        return False
    combo[j] += 1
    for i in range(j + 1, size):
        combo[i] = combo[i - 1] + 1
    return True


@_jit
def _subset_mask(size: int, subset: IntArray) -> int:
    """The cameras ``subset[1]`` at the positions ``subset[0, :size]``, as a mask."""
    mask = 0
    for j in range(size):
        mask |= 1 << subset[1, subset[0, j]]
    return mask


@_jit
def _rank_subsets(
    size: int, n: int, cams: FloatArray, opt: Options, work: FloatArray, subset: IntArray
) -> _Ranked:
    """Try every subset of ``size`` of the n usable cameras, as ``_Best.offer`` ranks them.

    The key is the mean error over the least confidence of the subset's views; the best is
    the first lowest key, the runner-up the next in a stable sort.
    """
    for j in range(size):
        subset[0, j] = j
    agreed = ill = best_ok = False
    best, best_mask, rival, rival_mask = math.inf, -1, math.inf, -1
    best_point = rival_point = (0.0, 0.0, 0.0)
    more = True
    while more:
        mask = _subset_mask(size, subset)
        consistent, conditioned, point = _fit(mask, opt.checks_subsets, cams, opt, work)
        key = _distances(mask, work)[0] / _least_confidence(mask, work) if consistent else math.inf
        agreed |= consistent
        ill |= consistent and not conditioned
        if best_mask < 0 or key < best:
            rival, rival_mask, rival_point = best, best_mask, best_point
            best, best_mask, best_point, best_ok = key, mask, point, conditioned
        elif rival_mask < 0 or key < rival:
            rival, rival_mask, rival_point = key, mask, point
        more = _next_combination(subset[0], size, n)
    return _Ranked(
        agreed, ill, best, best_mask, best_point, best_ok, rival, rival_mask, rival_point
    )


@_jit
def _agrees(point: Point, mask: int, cams: FloatArray, max_error2: float, work: FloatArray) -> bool:
    """Whether ``point`` re-projects within the limit into every view of ``mask``."""
    for c in range(cams.shape[0]):
        if mask >> c & 1 and not _squared_error(c, point, cams, work) <= max_error2:
            return False
    return True


@_jit
def _least_confidence(mask: int, work: FloatArray) -> float:
    """The lowest confidence among the views of ``mask``; 1 where none or not positive."""
    least = math.inf
    for c in range(work.shape[1]):
        if mask >> c & 1:
            least = min(least, work[_W, c])
    return least if np.isfinite(least) and least > 0 else 1.0


@_jit
def _unambiguous(size: int, r: _Ranked, cams: FloatArray, opt: Options, work: FloatArray) -> bool:
    """``_triangulation_subsets._unambiguous`` for one point's ranked subsets of ``size``."""
    if np.isinf(r.rival):  # alone
        return True
    same = _agrees(r.rival_point, r.best_mask, cams, opt.max_error2, work) and _agrees(
        r.best_point, r.rival_mask, cams, opt.max_error2, work
    )
    if same:  # the two say the same thing
        return True
    return size > 2 and r.best <= opt.ratio * r.rival  # keys: mean error / least confidence


@_jit
def _search_subsets(
    mask: int, cams: FloatArray, opt: Options, work: FloatArray, subset: IntArray
) -> tuple[bool, bool, int, Point]:
    """The largest agreeing subset of the usable views ``mask``, as ``search_subsets``.

    Returns whether a subset is chosen, whether the point is ill conditioned, the chosen
    views and their solution.
    """
    n = _count(mask)
    j = 0
    for c in range(cams.shape[0]):
        if mask >> c & 1:
            subset[1, j] = c
            j += 1
    for size in range(n - 1, opt.min_views - 1, -1):
        r = _rank_subsets(size, n, cams, opt, work, subset)
        if not r.agreed:
            continue
        if r.ill:
            return False, True, 0, r.best_point
        found = r.best_ok and _unambiguous(size, r, cams, opt, work)
        return found, False, r.best_mask if found else 0, r.best_point
    return False, False, 0, (0.0, 0.0, 0.0)


# --- the leave-one-out: _triangulation_subsets.drop_views for one point ------------------


@_jit
def _leave_one_out(
    use: int, cams: FloatArray, opt: Options, work: FloatArray
) -> tuple[int, bool, bool, Point]:
    """The view of ``use`` whose removal helps most, as ``_leave_one_out``.

    Accepted solutions rank first by mean error, then the rest by their largest error;
    the first lowest score wins (camera 0 when all are infinite, as ``np.argmin``). Returns
    the view (-1 if that is not in ``use``), whether that solution is consistent and
    conditioned, and the solution.
    """
    best, drop, consistent, conditioned, best_point = math.inf, 0, False, False, (0.0, 0.0, 0.0)
    for c in range(cams.shape[0]):
        in_use = use >> c & 1
        if not in_use and c > 0:
            continue
        ok, cond, point = _fit(use & ~(1 << c), opt.checks_subsets, cams, opt, work)
        mean, worst = _distances(use & ~(1 << c), work)
        score = (mean if ok and cond else 1e9 + worst) if in_use else math.inf
        if c == 0 or score < best:
            best, drop, consistent, conditioned, best_point = score, c, ok, cond, point
    return (drop if use >> drop & 1 else -1), consistent, conditioned, best_point


@_jit
def _drop_views(
    mask: int, cams: FloatArray, opt: Options, work: FloatArray
) -> tuple[bool, bool, int, Point]:
    """Drop the most harmful view until the solution is accepted, as ``drop_views``.

    Returns whether one is, whether the point is ill conditioned, the views kept and their
    solution.
    """
    use = mask
    while True:
        drop, consistent, conditioned, point = _leave_one_out(use, cams, opt, work)
        if drop < 0:  # every score infinite: the numpy path would repeat this round for ever
            return False, False, 0, point
        use &= ~(1 << drop)
        if consistent and conditioned:
            return True, False, use, point
        if consistent:  # fewer views cannot be better conditioned
            return False, True, 0, point
        if _count(use) <= opt.min_views:
            return False, False, 0, point


# --- the points whose views disagree, one by one -------------------------------------------


@_jit
def _status(n: float, checks: FloatArray, j: int, opt: Options) -> int:
    """A point's status from the fit of all its n usable views (``_SEARCH``: search them)."""
    if n < opt.min_views:
        return TOO_FEW_VIEWS
    if checks[2, j] == 0.0:
        return ILL_CONDITIONED
    if checks[0, j] > 0 and (checks[1, j] > 0 or not opt.checks_errors):
        return 0
    return INCONSISTENT if n == opt.min_views else _SEARCH


@_jit
def _search_point(
    j: int,
    mask: int,
    views: FloatArray,
    cams: FloatArray,
    opt: Options,
    work: FloatArray,
    subset: IntArray,
) -> tuple[int, int, Point]:
    """Search the views of point j of a block: its status, the views chosen, the point."""
    for c in range(cams.shape[0]):
        if mask >> c & 1:
            work[_X, c], work[_Y, c], work[_W, c] = views[0, c, j], views[1, c, j], views[2, c, j]
            _add_share(c, cams, opt.checks_rays, work)
    if opt.subsets:
        found, ill, use, point = _search_subsets(mask, cams, opt, work, subset)
    else:
        found, ill, use, point = _drop_views(mask, cams, opt, work)
    if ill:
        return ILL_CONDITIONED, 0, point
    return (0, use, point) if found else (INCONSISTENT, 0, point)


@_jit
def _decide(b: _Block, cams: FloatArray, opt: Options) -> None:
    """Each point's status and views used; the points whose views disagree are searched.

    A searched point's solution replaces the block's, with its projections.
    """
    n_cameras = cams.shape[0]
    work = np.zeros((_SHARES + n_cameras, max(N_NORMAL + N_RAYS, n_cameras)))
    subset = np.zeros((2, n_cameras), dtype=np.int64)
    _decide_points(
        b.views,
        b.masks,
        b.counts,
        b.checks,
        cams,
        opt,
        work,
        subset,
        b.points,
        b.projections,
        b.use,
        b.status,
    )


@_jit
def _decide_points(
    views: FloatArray,
    masks: IntArray,
    counts: FloatArray,
    checks: FloatArray,
    cams: FloatArray,
    opt: Options,
    work: FloatArray,
    subset: IntArray,
    points: FloatArray,
    projections: FloatArray,
    use: IntArray,
    status: IntArray,
) -> None:
    """``_decide`` on the block's planes (``points``, ``projections``, ``use``, ``status``)."""
    for j in range(masks.size):
        status[j] = _status(counts[j], checks, j, opt)
        use[j] = masks[j] if status[j] == 0 else 0
        if status[j] != _SEARCH:
            continue
        status[j], use[j], point = _search_point(j, masks[j], views, cams, opt, work, subset)
        for c in range(cams.shape[0]):
            if use[j] >> c & 1:
                projections[0, c, j], projections[1, c, j], projections[2, c, j] = _project(
                    c, point, cams
                )
        points[0, j], points[1, j], points[2, j] = point


# --- the reported error, the outputs, all blocks ---------------------------------------------


@_jit
def _image_errors(
    c: int,
    cams: FloatArray,
    pixels: FloatArray,
    projections: FloatArray,
    use: IntArray,
    errors: FloatArray,
    n_used: FloatArray,
) -> None:
    """Add camera c's image-pixel distances of the views used to a block's error sums.

    ``use`` (B,): the views used; ``errors`` and ``n_used`` (B,): the sums and counts. As
    ``_triangulation_linear.image_distances``: OpenCV's 5-term model; NaN behind the camera.
    """
    k1, k2, p1, p2, k3 = _distortion(c, cams)
    fx, fy, cx, cy = cams[c, _FX], cams[c, _FY], cams[c, _CX], cams[c, _CY]
    for j in range(errors.size):
        used = (use[j] >> c & 1) != 0
        x, y, inverse = projections[0, c, j], projections[1, c, j], projections[2, c, j]
        r2 = x * x + y * y
        scale = ((r2 * k3 + k2) * r2 + k1) * r2 + 1.0 + x * (2.0 * p2) + y * (2.0 * p1)
        du = (x * scale + p2 * r2) * fx + cx - pixels[0, c, j]
        dv = (y * scale + p1 * r2) * fy + cy - pixels[1, c, j]
        distance = math.sqrt(du * du + dv * dv) if inverse > 0 else math.nan
        errors[j] += distance if used else 0.0
        n_used[j] += 1.0 if used else 0.0


@_jit
def _new_block(n_cameras: int, n: int) -> _Block:
    """The planes of a block of n points seen by C cameras (sums and errors zero)."""
    return _Block(
        np.zeros((4, n_cameras, n)),
        np.zeros((4, n_cameras, n)),
        np.zeros(n, dtype=np.int64),
        np.zeros(n),
        np.zeros((7, n)),
        np.zeros((10, n)),
        np.zeros((N_NORMAL + N_RAYS, n)),
        np.zeros((3, n)),
        np.zeros((3, n)),
        np.zeros((3, n_cameras, n)),
        np.zeros(n, dtype=np.int64),
        np.zeros(n, dtype=np.int64),
        np.zeros(n),
        np.zeros(n),
    )


@_jit
def _solve_block(cams: FloatArray, nodes: FloatArray, opt: Options, b: _Block) -> None:
    """Triangulate the points of a block whose pixels are loaded, into ``b``."""
    n_cameras = cams.shape[0]
    _undistort_block(opt.min_confidence, cams, nodes, b)
    for c in range(n_cameras):
        _add_camera(c, cams, opt.checks_rays, b.views, b.features, b.sums)
    _solve_sums(b.sums, b.counts, opt, b.points, b.checks)
    for c in range(n_cameras):
        _project_camera(c, cams, opt.max_error2, b.views, b.points, b.projections, b.checks)
    _decide(b, cams, opt)
    for c in range(n_cameras):
        _image_errors(c, cams, b.pixels, b.projections, b.use, b.errors, b.n_used)


@_jit
def _store(start: int, b: _Block, out: Output) -> None:
    """Write a block's results to the outputs, from point ``start`` on."""
    for j in range(b.use.size):
        i = start + j
        out.status[i], out.n_usable[i] = b.status[j], int(b.counts[j])
        out.error[i] = b.errors[j] / b.n_used[j]
        for c in range(out.used.shape[0]):
            out.used[c, i] = (b.use[j] >> c & 1) != 0
        for k in range(3):
            out.points[i, k] = b.points[k, j] if b.use[j] else math.nan


@numba.njit(cache=True, error_model="numpy", parallel=True)
def _solve_all(
    keypoints32: NDArray,
    keypoints64: FloatArray,
    cams: FloatArray,
    nodes: FloatArray,
    opt: Options,
    out: Output,
) -> None:
    """Triangulate every point of the keypoints (C, M, 3), blocks of points in parallel.

    The keypoints are float32 or float64: the other array has no points.
    """
    n_cameras, m = cams.shape[0], max(keypoints32.shape[1], keypoints64.shape[1])
    for block in numba.prange((m + BLOCK_POINTS - 1) // BLOCK_POINTS):
        start = block * BLOCK_POINTS
        b = _new_block(n_cameras, min(BLOCK_POINTS, m - start))
        _load_pixels(keypoints32, keypoints64, start, b.pixels)
        _solve_block(cams, nodes, opt, b)
        _store(start, b, out)


# --- the Python side --------------------------------------------------------------------


def supports(rig: CameraRig) -> bool:
    """Whether the kernel can solve ``rig``: pinhole lenses, at most ``MAX_CAMERAS``."""
    return len(rig) <= MAX_CAMERAS and not any(camera.fisheye for camera in rig)


def _grid_constants(
    fx: float, fy: float, cx: float, cy: float, grid: InverseGrid | None
) -> list[float]:
    """The 12 ``_GRID`` constants: Python floats, computed as numpy's fast inverse does."""
    origin_u, origin_v = grid.origin if grid is not None else (0.0, 0.0)
    step = grid.spacing if grid is not None else 1.0
    return [
        1.0 / fx,
        cx / fx,
        1.0 / fy,
        cy / fy,
        fx / step,
        (cx - origin_u) / step + 0.5,
        step / fx,
        (origin_u - cx) / fx,
        fy / step,
        (cy - origin_v) / step + 0.5,
        step / fy,
        (origin_v - cy) / fy,
    ]


@functools.lru_cache(maxsize=16)
def _camera_table(rig: CameraRig, grid: bool) -> tuple[FloatArray, FloatArray]:
    """The camera table (C, ``_N_COLUMNS``) of ``rig`` and its node table (N, 5), cached.

    The node table holds the cameras' inverse grids (x, y, a, b, d per node) if ``grid``.
    """
    rule = INVERSE_RULE
    terms, n = RigTerms.of(rig), len(rig)
    normal = terms.normal_basis.reshape(N_NORMAL, 4, n).transpose(2, 1, 0).reshape(n, -1)
    rays = terms.ray_basis.reshape(N_RAYS, N_RAYS, n).transpose(2, 1, 0).reshape(n, -1)
    cams = np.zeros((n, _N_COLUMNS))
    cams[:, :_NORMAL] = terms.projection.reshape(3, n, 4).transpose(1, 0, 2).reshape(n, 12)
    cams[:, _NORMAL:_RAYS], cams[:, _RAYS:_FX] = normal, rays
    grids = [inverse_grid(camera) if grid else None for camera in rig]
    first = 0
    for c, (camera, g) in enumerate(zip(rig, grids, strict=True)):
        (fx, _, cx), (_, fy, cy) = camera.matrix[:2].tolist()
        size = 0 if g is None else g.nodes.shape[0]
        cams[c, _FX:_K] = fx, fy, cx, cy
        cams[c, _K:_GRID] = camera.distortion
        cams[c, _GRID:_COLUMNS] = _grid_constants(fx, fy, cx, cy, g)
        cams[c, _COLUMNS:_START2] = (0 if g is None else g.columns), first, size - 1
        first += size
    cams[:, _START2:_TOLERANCE] = (
        rule.start_px**2,
        rule.min_det,
        rule.max_iterations,
        rule.epsilon_px,
    )
    cams[:, _TOLERANCE] = rule.tolerance_px
    nodes = [np.column_stack([g.nodes, g.last]) for g in grids if g is not None]
    return cams, np.concatenate(nodes) if nodes else np.zeros((0, 5))


def _options(
    keypoints: NDArray, min_confidence: float, limits: Limits, ambiguity_ratio: float
) -> Options:
    """The kernel's options; the confidence threshold in the precision numpy compares in."""
    precision = np.result_type(keypoints.dtype, min_confidence)
    return Options(
        min_confidence=float(precision.type(min_confidence)),
        max_error2=float(limits.max_error_px**2),
        checks_errors=limits.checks_errors,
        checks_subsets=True,
        min_views=int(limits.min_views),
        min_lambda=float(limits.min_lambda),
        checks_rays=limits.checks_rays,
        subsets=keypoints.shape[0] <= limits.max_subset_cameras,
        ratio=float(ambiguity_ratio),
    )


def solve(
    rig: CameraRig,
    keypoints: NDArray,
    min_confidence: float,
    limits: Limits,
    ambiguity_ratio: float,
    threads: int,
) -> Output:
    """Triangulate M points seen by the C cameras of ``rig`` (see ``supports``).

    Parameters
    ----------
    rig : CameraRig
        C pinhole cameras.
    keypoints : (C, M, 3) float32 or float64 array
        Pixel x, y and confidence.
    min_confidence : float
        Views below it are not usable.
    limits : Limits
        What an accepted solution must satisfy.
    ambiguity_ratio : float
        ``AMBIGUITY_RATIO`` of the subset search.
    threads : int
        Threads to use (at most numba's ``NUMBA_NUM_THREADS``).

    Returns
    -------
    Output
        Points (M, 3), errors (M,), views used (C, M), usable views (M,), statuses (M,).
    """
    wide = keypoints.dtype == np.float64
    keypoints = np.ascontiguousarray(keypoints, dtype=np.float64 if wide else np.float32)
    n_cameras, m = keypoints.shape[:2]
    out = Output(
        points=np.empty((m, 3)),
        error=np.empty(m),
        used=np.empty((n_cameras, m), dtype=bool),
        n_usable=np.empty(m, dtype=np.uint8),
        status=np.empty(m, dtype=np.uint8),
    )
    options = _options(keypoints, min_confidence, limits, ambiguity_ratio)
    cams, nodes = _camera_table(rig, m >= INVERSE_RULE.min_grid_points)
    empty = np.zeros((n_cameras, 0, 3), dtype=np.float32 if wide else np.float64)
    keypoints32, keypoints64 = (empty, keypoints) if wide else (keypoints, empty)
    with _LOCK:
        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
        _solve_all(keypoints32, keypoints64, cams, nodes, options, out)
    return out
