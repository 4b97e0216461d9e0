"""Per-camera intrinsics from board views: a well-spread subset, outlier views rejected.

Calibrating on every frame of a video is slow and over-weights where the board lingered.
Instead a subset of views is chosen greedily to cover the image and vary the board's
tilt; views whose error is far above the others are dropped and the camera calibrated
again. The result says explicitly when it failed and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

MIN_CORNERS = 6
"""Fewest corners a view needs to constrain the camera (planar board, 8 unknowns + pose)."""
MIN_VIEWS = 4
"""Fewest views for a 9-parameter pinhole calibration with some redundancy."""
COVERAGE_CELLS = (6, 8)
"""Rows and columns of the grid over the image used to measure the views' coverage."""
FULL_MODEL_COVERAGE = 0.6
"""Fraction of grid cells the corners must reach before k3 and p1, p2 are estimated."""
REDUCED_MODEL_FLAGS = cv2.CALIB_FIX_K3 | cv2.CALIB_ZERO_TANGENT_DIST
"""The model used when the views cannot support the full one: k1, k2, f, c."""
CORNER_OUTLIER_PX = 1.5
"""Corners farther than this (and 5 robust sigmas) from the fitted model are misdetections."""


class BoardView(Protocol):
    """One camera's detection of the board in one frame."""

    camera: str
    frame: int
    ids: NDArray[np.int32]
    corners: FloatArray


class BoardPoints(Protocol):
    """A calibration board: object coordinates of its corners by id."""

    def corner_points(self) -> FloatArray:
        """(N, 3) corner coordinates, metres, z = 0."""
        ...


@dataclass(frozen=True, eq=False)
class IntrinsicsResult:
    """Intrinsics of one camera, or why they could not be estimated.

    Attributes
    ----------
    camera : str
        Camera name.
    success : bool
        False when the estimation failed; ``message`` then says why.
    message : str
        One sentence for the user.
    matrix : (3, 3) float array or None
        Camera matrix, pixels.
    distortion : (5,) or (4,) float array or None
        OpenCV distortion (fisheye: k1..k4).
    rms_px : float
        RMS reprojection error over the views used.
    view_rms_px : dict of int to float
        RMS error of each used view, by frame.
    rejected_frames : tuple of int
        Views dropped as outliers.
    std : (4,) float array or None
        Standard deviations of fx, fy, cx, cy (pixels) by OpenCV's covariance estimate
        (NaN for fisheye): the estimate's own statement of its uncertainty.
    model : str
        The distortion model fitted and, when reduced, why.
    """

    camera: str
    success: bool
    message: str
    matrix: FloatArray | None = None
    distortion: FloatArray | None = None
    rms_px: float = float("nan")
    view_rms_px: dict[int, float] = field(default_factory=dict)
    rejected_frames: tuple[int, ...] = ()
    std: FloatArray | None = None
    model: str = ""


def _view_features(view: BoardView, size: tuple[int, int]) -> FloatArray:
    """Where the board is and how it is tilted: (5,) centre x, y, extent, two tilt terms."""
    w, h = size
    corners = view.corners / np.array([w, h])
    centre = corners.mean(axis=0)
    extent = np.sqrt(np.prod(np.ptp(corners, axis=0)))
    spread = np.cov(corners.T) if len(corners) > 2 else np.eye(2)
    tilt = np.linalg.eigvalsh(spread)
    anisotropy = tilt[0] / max(tilt[1], 1e-12)
    return np.array([centre[0], centre[1], extent, anisotropy, np.arctan2(*spread[0, ::-1])])


def select_views(views: Sequence[BoardView], size: tuple[int, int], count: int) -> list[int]:
    """Indices of up to ``count`` views that cover the image and vary the tilt.

    Greedy farthest-point sampling in a small feature space (board centre, size and
    shape in the image), starting from the view with the most corners.
    """
    if len(views) <= count:
        return list(range(len(views)))
    features = np.stack([_view_features(v, size) for v in views])
    features = (features - features.mean(axis=0)) / (features.std(axis=0) + 1e-9)
    chosen = [int(np.argmax([len(v.ids) for v in views]))]
    distance = np.linalg.norm(features - features[chosen[0]], axis=1)
    while len(chosen) < count:
        nxt = int(np.argmax(distance))
        chosen.append(nxt)
        distance = np.minimum(distance, np.linalg.norm(features - features[nxt], axis=1))
    return sorted(chosen)


def _cv_points(
    views: Sequence[BoardView], board: BoardPoints
) -> tuple[list[NDArray[np.float32]], list[NDArray[np.float32]]]:
    """OpenCV's per-view arrays: board points (N_v, 1, 3) and pixels (N_v, 1, 2), float32."""
    corners3d = board.corner_points()
    objects = [corners3d[v.ids].astype(np.float32).reshape(-1, 1, 3) for v in views]
    images = [v.corners.astype(np.float32).reshape(-1, 1, 2) for v in views]
    return objects, images


def _calibrate(
    views: Sequence[BoardView],
    board: BoardPoints,
    size: tuple[int, int],
    fisheye: bool,
    flags: int = 0,
) -> tuple[FloatArray, FloatArray, list[FloatArray]]:
    """OpenCV calibration of the given views: K (3, 3), distortion, per-view corner errors.

    The errors are one (N_v,) array of pixel distances per view.
    """
    objects, images = _cv_points(views, board)
    if fisheye:
        flags = cv2.fisheye.CALIB_RECOMPUTE_EXTRINSIC | cv2.fisheye.CALIB_FIX_SKEW
        _, k, d, rvecs, tvecs = cv2.fisheye.calibrate(
            objects, images, size, None, None, flags=flags
        )
    else:
        _, k, d, rvecs, tvecs = cv2.calibrateCamera(objects, images, size, None, None, flags=flags)
    errors = []
    for obj, img, r, t in zip(objects, images, rvecs, tvecs, strict=True):
        if fisheye:
            proj, _ = cv2.fisheye.projectPoints(obj, r, t, k, d)
        else:
            proj, _ = cv2.projectPoints(obj, r, t, k, d)
        errors.append(np.linalg.norm((proj - img).reshape(-1, 2), axis=1))
    return k, np.ravel(d), errors


def _rms(errors: FloatArray) -> float:
    """Root mean square of pixel distances."""
    return float(np.sqrt(np.mean(np.square(errors))))


def _without_bad_corners(
    views: Sequence[BoardView], errors: Sequence[FloatArray]
) -> tuple[list[BoardView], int]:
    """Views with their outlying corners removed, and how many corners went.

    A corner is an outlier when its error exceeds ``CORNER_OUTLIER_PX`` and 5 robust
    standard deviations of all errors: a misplaced detection, not noise. Views left with
    fewer than ``MIN_CORNERS`` corners are dropped.
    """
    every = np.concatenate(errors)
    sigma = 1.4826 * np.median(every) / 0.6745 if len(every) else 0.0  # Rayleigh -> sigma
    limit = max(CORNER_OUTLIER_PX, 5 * sigma)
    kept, removed = [], 0
    for view, err in zip(views, errors, strict=True):
        good = err <= limit
        removed += int((~good).sum())
        if good.sum() >= MIN_CORNERS:
            kept.append(view if good.all() else _subset(view, good))
    return kept, removed


def _subset(view: BoardView, keep: NDArray[np.bool_]) -> BoardView:
    """The same view with only the corners where ``keep`` is True."""
    return replace(view, ids=view.ids[keep], corners=view.corners[keep])  # type: ignore[type-var]


def _outliers(errors: Sequence[float]) -> list[int]:
    """Indices of views whose error is above 3 scaled MADs over the median (and > 1 px)."""
    arr = np.asarray(errors)
    median = np.median(arr)
    mad = 1.4826 * np.median(np.abs(arr - median)) + 1e-6
    return [i for i, e in enumerate(arr) if e > median + 3 * mad and e > 1.0]


def calibrate_intrinsics(
    camera: str,
    views: Sequence[BoardView],
    board: BoardPoints,
    size: tuple[int, int],
    fisheye: bool = False,
    max_views: int = 30,
) -> IntrinsicsResult:
    """Estimate one camera's matrix and distortion from its board views.

    Parameters
    ----------
    camera : str
        Camera name (for messages).
    views : sequence of BoardView
        This camera's detections; views with fewer than ``MIN_CORNERS`` are ignored.
    board : BoardPoints
        The board seen.
    size : (2,) tuple of int
        Image width and height, pixels.
    fisheye : bool
        Fit cv2.fisheye's model instead of the 5-term pinhole one.
    max_views : int
        Size of the well-spread subset used.

    Returns
    -------
    IntrinsicsResult
        ``success`` False with a message when there are too few usable views or OpenCV
        fails; never raises for bad data.
    """
    usable = [v for v in views if len(v.ids) >= MIN_CORNERS]
    if len(usable) < MIN_VIEWS:
        msg = (
            f"{camera} saw the board with at least {MIN_CORNERS} corners in only "
            f"{len(usable)} frames; intrinsics need at least {MIN_VIEWS}"
        )
        return IntrinsicsResult(camera, False, msg)
    chosen = [usable[i] for i in select_views(usable, size, max_views)]
    try:
        fit, model = _fit_model(chosen, board, size, fisheye)
    except cv2.error as error:
        return IntrinsicsResult(camera, False, f"{camera}: OpenCV calibration failed: {error}")
    k, d, errors, chosen, rejected = fit
    rms = _rms(np.concatenate(errors))
    per_view = {v.frame: _rms(e) for v, e in zip(chosen, errors, strict=True)}
    message = f"{camera}: {len(chosen)} views, RMS {rms:.2f} px, {model}"
    std = _standard_deviations(chosen, board, size, k, d) if not fisheye else np.full(4, np.nan)
    return IntrinsicsResult(camera, True, message, k, d, rms, per_view, tuple(rejected), std, model)


def image_coverage(views: Sequence[BoardView], size: tuple[int, int]) -> float:
    """Fraction of the cells of a ``COVERAGE_CELLS`` grid over the image holding a corner."""
    rows, cols = COVERAGE_CELLS
    corners = np.concatenate([v.corners for v in views])
    cell_x = np.clip((corners[:, 0] / size[0] * cols).astype(int), 0, cols - 1)
    cell_y = np.clip((corners[:, 1] / size[1] * rows).astype(int), 0, rows - 1)
    return len(set(zip(cell_y.tolist(), cell_x.tolist(), strict=True))) / (rows * cols)


def distortion_folds(matrix: FloatArray, distortion: FloatArray, size: tuple[int, int]) -> bool:
    """Whether the radial distortion turns back (stops growing with radius) in the image.

    Checks ``d r_d / d r = 1 + 3 k1 r² + 5 k2 r⁴ + 7 k3 r⁶ > 0`` up to 1.3 times the
    normalised radius of the image corner farthest from the principal point (the ideal
    radius exceeds the distorted one for barrel lenses). A folding model maps two
    directions to one pixel: it fits the views but is wrong between and beyond them.
    """
    w, h = size
    corners = np.array([[0.0, 0.0], [w - 1.0, 0.0], [0.0, h - 1.0], [w - 1.0, h - 1.0]])
    focal, centre = np.diag(matrix)[:2], matrix[:2, 2]
    reach = 1.3 * float(np.max(np.linalg.norm((corners - centre) / focal, axis=1)))
    k1, k2 = distortion[0], distortion[1]
    k3 = distortion[4] if len(distortion) > 4 else 0.0
    r2 = np.linspace(0.0, reach, 200) ** 2
    slope = 1 + 3 * k1 * r2 + 5 * k2 * r2**2 + 7 * k3 * r2**3
    return bool(np.any(slope <= 0))


def _fit_model(
    views: list[BoardView], board: BoardPoints, size: tuple[int, int], fisheye: bool
) -> tuple[tuple, str]:
    """Fit the full 5-term model when the views support it, else k1 and k2 only.

    The full model needs corners over most of the image (``FULL_MODEL_COVERAGE``) and must
    not fold inside it; otherwise k3 and the tangential terms are fixed at zero, which a
    board seen only in part of the image cannot tell from zero anyway.
    """
    if fisheye:
        return _fit_without_outliers(views, board, size, fisheye), "fisheye k1-k4"
    coverage = image_coverage(views, size)
    if coverage >= FULL_MODEL_COVERAGE:
        fit = _fit_without_outliers(views, board, size, fisheye)
        if not distortion_folds(fit[0], fit[1], size):
            return fit, "5-term distortion"
        reason = "the 5-term fit folded inside the image"
    else:
        reason = f"corners cover {100 * coverage:.0f} % of the image"
    fit = _fit_without_outliers(views, board, size, fisheye, REDUCED_MODEL_FLAGS)
    return fit, f"k1, k2 only ({reason})"


def _standard_deviations(
    views: Sequence[BoardView],
    board: BoardPoints,
    size: tuple[int, int],
    k: FloatArray,
    d: FloatArray,
) -> FloatArray:
    """(4,) standard deviations of fx, fy, cx, cy from OpenCV's covariance, at (k, d)."""
    objects, images = _cv_points(views, board)
    out = cv2.calibrateCameraExtended(
        objects, images, size, k.copy(), d.copy(), flags=cv2.CALIB_USE_INTRINSIC_GUESS
    )
    return np.asarray(out[5], dtype=np.float64).ravel()[:4]


def _fit_without_outliers(
    views: list[BoardView],
    board: BoardPoints,
    size: tuple[int, int],
    fisheye: bool,
    flags: int = 0,
) -> tuple[FloatArray, FloatArray, list[FloatArray], list[BoardView], list[int]]:
    """Calibrate, drop outlying views then outlying corners, calibrate again.

    Returns K, distortion, per-view corner errors, the views used and the rejected frames.
    """
    k, d, errors = _calibrate(views, board, size, fisheye, flags)
    rejected = [views[i].frame for i in _outliers([_rms(e) for e in errors])]
    if rejected and len(views) - len(rejected) >= MIN_VIEWS:
        views = [v for v in views if v.frame not in rejected]
        k, d, errors = _calibrate(views, board, size, fisheye, flags)
    else:
        rejected = []
    trimmed, removed = _without_bad_corners(views, errors)
    if removed and len(trimmed) >= MIN_VIEWS:
        rejected += [v.frame for v in views if v.frame not in {t.frame for t in trimmed}]
        views = trimmed
        k, d, errors = _calibrate(views, board, size, fisheye, flags)
    return k, d, errors, views, rejected
