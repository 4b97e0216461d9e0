"""Calibration board detection in images: ChArUco and checkerboard corners, sub-pixel, unbiased.

Pixels: x right, y down, the centre of the top-left pixel at (0, 0), as in OpenCV.

Why ChArUco corners are refined again
-------------------------------------
OpenCV 4.11's ``cv2.aruco.CharucoDetector`` reports every corner about +0.5 px off in x and
in y: it shifts its corner estimates by -0.5 px before ``cv2.cornerSubPix`` and by +0.5 px
after, but ``cornerSubPix`` converges to the saddle point wherever it starts, so the second
shift stays in the result (opencv/opencv#25539; removed upstream by opencv/opencv#28380). Its
refinement also stops as soon as a step is below 0.1 px (``cornerRefinementMinAccuracy``).
On the rendered boards of tests/test_detection.py (``datasets.render``: 16 views through
distorted lenses, tilts up to 50 degrees, blur and noise) its mean offset from the true
corners is (+0.492, +0.486) px.

:func:`detect_charuco` keeps OpenCV's marker detection and its list of valid corner ids, and
refines each corner itself: it predicts the corner from the homographies of its two
adjacent markers (OpenCV's own interpolation, before any shift), then runs
``cv2.cornerSubPix`` to 1e-3 px in a small window that stays inside the part of the pattern
that is symmetric under a 180-degree turn about the corner (the marker-free gap plus the
markers' black border, whose pulls on the corner then cancel), computed per corner through
the markers' homographies so that it shrinks with distance and tilt. On the same views:
mean offset (+0.003, +0.003) px, RMS (0.038, 0.036) px, largest error 0.18 px.

Two-sided ChArUco boards
------------------------
caliscope's boards are printed on both sides, the back face as the mirror image of the front,
so that each back corner lies right behind the front corner of the same id. A camera facing
the back sees a mirrored board, whose markers do not decode. When the front is not found,
:func:`detect_charuco` therefore looks for the board in the left-right flipped image and maps
the corners back (``x = width - 1 - x_flipped`` in this module's pixel convention); the
detection is marked ``back_face``. In caliscope's 4-camera test session one camera (cam_1)
sees only the back face: without this it finds no board at all. caliscope maps the corners
back with ``width - x_flipped``, one pixel further right in x than the true corner.

Numeric core: numpy, OpenCV, tqdm and the standard library; nothing happens at import.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

FloatArray = NDArray[np.float64]

MIN_CORNERS = 4
"""Fewest refined corners for a detection; with fewer, the detectors return None."""

MAX_REFINE_SHIFT_PX = 2.0
"""ChArUco corners that refinement moved further than this from their prediction are dropped:
the window latched onto something else (the predictions are within ~1.2 px on rendered
boards). Checkerboard corners may move as far as their window's half-size instead (see
``detect_checkerboard``)."""

SAFETY_PX = 2.0
"""Pixels kept between a ChArUco refinement window and the markers' asymmetric inner bits,
and between any window and the image border: ``cornerSubPix``'s gradients and bilinear
sampling reach a pixel past the window and image blur spreads an edge by another."""

MIN_FREE_PX = 2.5
"""ChArUco corners whose symmetric neighbourhood is narrower than this (half-width, pixels)
are dropped: even the smallest window would see the markers' inner bits (tiny or
grazing views)."""

CHARUCO_WINDOW_HALF_PX = (2, 5)
"""Smallest and largest half-size of a ChArUco corner's ``cornerSubPix`` window (the window
is ``2 * half + 1`` px). Larger windows average more noise but see more of the markers'
borders, whose pulls cancel only approximately under perspective. Measured on 1534 corners
(48 rendered views, 3 grey levels of noise, tilts up to 50 degrees), RMS error for a largest
half-size of 2 / 3 / 4 / 5 / 6 / 8 / 12 px: 0.057 / 0.041 / 0.038 / 0.039 / 0.041 / 0.044 /
0.046 px."""

CHECKER_WINDOW_HALF_PX = (2, 12)
"""Smallest and largest half-size of a checkerboard corner's ``cornerSubPix`` window."""

CHECKER_WINDOW_FRACTION = 1.0 / 3.0
"""Checkerboard window half-size as a fraction of the local square side (RMS 0.025 px on
rendered boards with 3 grey levels of noise; a quarter: 0.027 px, 0.4: 0.024 px)."""

SUBPIX_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-6)
"""Iterate ``cornerSubPix`` until a step is below 1e-3 px (its eps is a squared length)."""

_CLASSIC_FLAGS = (
    cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE | cv2.CALIB_CB_FAST_CHECK
)
"""``findChessboardCorners`` flags: quick rejection of frames without a board."""


class CharucoLike(Protocol):
    """A ChArUco board (``calibration.boards.CharucoBoard``)."""

    square_size_m: float
    inverted: bool

    def to_cv2(self) -> Any:
        """The ``cv2.aruco.CharucoBoard``."""
        ...

    def corner_points(self) -> FloatArray:
        """(N, 3) corner coordinates, metres, in OpenCV's ChArUco corner id order."""
        ...


class CheckerboardLike(Protocol):
    """A checkerboard (``calibration.boards.Checkerboard``)."""

    inner_columns: int
    inner_rows: int

    def corner_points(self) -> FloatArray:
        """(N, 3) corner coordinates, x fastest, in OpenCV's order."""
        ...


@dataclass(frozen=True, eq=False)
class BoardDetection:
    """The corners of one board found in one image.

    Attributes
    ----------
    camera : str
        Name of the camera that took the image.
    frame : int
        Frame index of the image.
    ids : (N,) int32 array
        Corner ids, increasing: row ``i`` of ``board.corner_points()``.
    corners : (N, 2) float64 array
        Pixels (x right, y down, centre of the top-left pixel at (0, 0)).
    image_size : (2,) tuple of int
        Image (width, height), pixels.
    back_face : bool
        The corners are those of a two-sided ChArUco board's mirrored back face, seen from
        behind (module doc); ``ids`` name the front corners they lie behind.
    """

    camera: str
    frame: int
    ids: NDArray[np.int32]
    corners: FloatArray
    image_size: tuple[int, int]
    back_face: bool = False

    def __post_init__(self) -> None:
        where = f"camera {self.camera!r} frame {self.frame}"
        ids = np.array(self.ids, dtype=np.int32).ravel()  # copies: the caller keeps theirs
        corners = np.array(self.corners, dtype=np.float64)
        if corners.shape != (len(ids), 2):
            raise ValueError(
                f"{where}: corners must be ({len(ids)}, 2) for {len(ids)} ids, got {corners.shape}"
            )
        if len(np.unique(ids)) != len(ids):
            raise ValueError(f"{where}: repeated corner ids {ids.tolist()}")
        size = tuple(int(v) for v in self.image_size)
        if len(size) != 2 or min(size) <= 0:
            raise ValueError(f"{where}: image_size must be (width, height), got {size}")
        ids.flags.writeable = False
        corners.flags.writeable = False
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "corners", corners)
        object.__setattr__(self, "image_size", size)

    def __len__(self) -> int:
        return len(self.ids)


def _grey(image: Any, camera: str, frame: int) -> NDArray[np.uint8]:
    """(H, W) uint8 grey image from (H, W) or (H, W, 3) BGR uint8, or a ValueError naming it."""
    img = np.asarray(image)
    if img.dtype != np.uint8 or not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 3)):
        raise ValueError(
            f"camera {camera!r} frame {frame}: image must be (H, W) or (H, W, 3) uint8, "
            f"got {img.dtype} {img.shape}"
        )
    if img.ndim == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    return np.ascontiguousarray(img)


def _marker_homographies(cv_board: Any, marker_corners: Any, marker_ids: Any) -> dict[int, Any]:
    """Board (X, Y) metres -> pixels (3, 3) homography of every detected marker, by marker id."""
    objects = np.ascontiguousarray(np.asarray(cv_board.getObjPoints(), np.float32)[:, :, :2])
    index = {int(i): k for k, i in enumerate(np.asarray(cv_board.getIds()).ravel())}
    out = {}
    for pixels, marker in zip(marker_corners, np.asarray(marker_ids).ravel(), strict=True):
        if int(marker) in index:
            quad = np.asarray(pixels, dtype=np.float32).reshape(4, 2)
            out[int(marker)] = cv2.getPerspectiveTransform(objects[index[int(marker)]], quad)
    return out


def _adjacent_markers(cv_board: Any, corners_m: FloatArray) -> list[list[int]]:
    """Ids of the markers in the squares touching each ChArUco corner (N lists)."""
    objects = np.asarray(cv_board.getObjPoints(), dtype=np.float64)[:, :, :2]
    centres = objects.mean(axis=1)
    ids = np.asarray(cv_board.getIds()).ravel()
    near = np.linalg.norm(corners_m[:, None, :2] - centres[None], axis=2)
    reach = 0.75 * float(cv_board.getSquareLength())  # adjacent centres: 0.71 squares away
    return [ids[row < reach].astype(int).tolist() for row in near]


def _apply(homography: Any, points: FloatArray) -> FloatArray:
    """(K, 2) board points -> (K, 2) pixels through a (3, 3) homography."""
    return cv2.perspectiveTransform(points.reshape(-1, 1, 2), homography).reshape(-1, 2)


def _free_half_size(
    homography: Any, corner: FloatArray, inset_m: float
) -> tuple[FloatArray, float]:
    """Predicted pixel (2,) of a board corner (2,) and the room around it, pixels.

    The room is the half-size of the largest axis-aligned square window around the pixel
    that stays inside the image of the board box ``corner +- inset_m``.
    """
    box = corner + inset_m * np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
    quad = _apply(homography, box)
    centre = _apply(homography, corner.reshape(1, 2))[0]
    edges = np.roll(quad, -1, axis=0) - quad
    normals = np.column_stack([-edges[:, 1], edges[:, 0]])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    distance = np.abs(np.einsum("ij,ij->i", normals, centre - quad))
    # a square of half-size h fits on the inner side of an edge if h (|nx| + |ny|) <= distance
    return centre, float(np.min(distance / np.abs(normals).sum(axis=1)))


def _predict_with_windows(
    homographies: dict[int, Any], adjacent: list[list[int]], corners_m: FloatArray, inset_m: float
) -> tuple[FloatArray, FloatArray]:
    """Corner pixels (N, 2) predicted by the detected adjacent markers, and their room (N,).

    The prediction is the mean over the markers, the room (see :func:`_free_half_size`) the
    smallest; both NaN where no adjacent marker was found.
    """
    predicted = np.full((len(corners_m), 2), np.nan)
    free = np.full(len(corners_m), np.nan)
    for n, (corner, markers) in enumerate(zip(corners_m[:, :2], adjacent, strict=True)):
        found = [
            _free_half_size(homographies[m], corner, inset_m) for m in markers if m in homographies
        ]
        if found:
            predicted[n] = np.mean([centre for centre, _ in found], axis=0)
            free[n] = min(size for _, size in found)
    return predicted, free


def refine_corners(
    grey: NDArray[np.uint8],
    start: FloatArray,
    half_size: NDArray[np.int64],
    max_shift_px: float | FloatArray = MAX_REFINE_SHIFT_PX,
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Sub-pixel saddle points near ``start`` by ``cv2.cornerSubPix``, one window per corner.

    Parameters
    ----------
    grey : (H, W) uint8 array
        The image.
    start : (N, 2) float array
        Starting pixels (within about half a window of the corner); NaN rows stay NaN.
    half_size : (N,) int array
        Half-size of each corner's window (the window is ``2 * half + 1`` px wide).
    max_shift_px : float or (N,) float array
        Farthest a corner may move from its start and still count as found.

    Returns
    -------
    refined : (N, 2) float64 array
        Refined pixels.
    good : (N,) bool array
        False where the start was NaN, refinement moved more than ``max_shift_px``, or the
        window plus ``SAFETY_PX`` reaches past the image border.
    """
    start = np.asarray(start, dtype=np.float64)
    half_size = np.asarray(half_size, dtype=np.int64)
    refined = start.copy()
    finite = np.all(np.isfinite(start), axis=1)
    for half in np.unique(half_size[finite]):
        chosen = finite & (half_size == half)
        points = start[chosen].astype(np.float32).reshape(-1, 1, 2)
        cv2.cornerSubPix(grey, points, (int(half), int(half)), (-1, -1), SUBPIX_CRITERIA)
        refined[chosen] = points.reshape(-1, 2)
    height, width = grey.shape
    reach = (half_size + SAFETY_PX)[:, None]
    with np.errstate(invalid="ignore"):
        inside = np.all((refined - reach >= 0) & (refined + reach <= [width - 1, height - 1]), 1)
        moved = np.linalg.norm(refined - start, axis=1)
        good = finite & inside & (moved <= max_shift_px)
    return refined, good


def _window_half_sizes(free_px: FloatArray) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Window half-sizes (N,) from the symmetric half-widths (N,) and which are usable."""
    low, high = CHARUCO_WINDOW_HALF_PX
    with np.errstate(invalid="ignore"):
        usable = free_px >= MIN_FREE_PX
        half = np.clip(np.floor(np.nan_to_num(free_px) - SAFETY_PX), low, high).astype(np.int64)
    return half, usable


def _symmetric_inset_m(cv_board: Any) -> float:
    """Half-width (metres) of the box around a ChArUco corner that looks the same turned.

    Turned by 180 degrees about the corner, the gap to the two adjacent markers and their
    black border bit map onto each other; the bits inside the markers do not.
    """
    square = float(cv_board.getSquareLength())
    marker = float(cv_board.getMarkerLength())
    bits = int(cv_board.getDictionary().markerSize) + 2  # one border bit on each side
    return (square - marker) / 2 + marker / bits


def _charuco_candidates(
    grey: NDArray[np.uint8], cv_board: Any
) -> tuple[NDArray[np.int32], FloatArray, FloatArray] | None:
    """Corners OpenCV's CharucoDetector finds valid, predicted from their markers.

    Returns ids (N,), pixels (N, 2) predicted from the adjacent markers and the half-width
    (N,) of their symmetric neighbourhood in pixels; None below ``MIN_CORNERS`` corners.
    """
    _, ids, marker_corners, marker_ids = cv2.aruco.CharucoDetector(cv_board).detectBoard(grey)
    if ids is None or len(ids) < MIN_CORNERS:
        return None
    ids = np.asarray(ids, dtype=np.int32).ravel()
    corners_m = np.asarray(cv_board.getChessboardCorners(), dtype=np.float64)[ids]
    homographies = _marker_homographies(cv_board, marker_corners, marker_ids)
    adjacent = _adjacent_markers(cv_board, corners_m)
    predicted, free = _predict_with_windows(
        homographies, adjacent, corners_m, _symmetric_inset_m(cv_board)
    )
    return ids, predicted, free


def _detection(
    ids: NDArray[np.int32],
    corners: FloatArray,
    camera: str,
    frame: int,
    grey: np.ndarray,
    back_face: bool = False,
) -> BoardDetection | None:
    """A detection sorted by id, or None with fewer than ``MIN_CORNERS`` corners."""
    if len(ids) < MIN_CORNERS:
        return None
    order = np.argsort(ids, kind="stable")
    size = (grey.shape[1], grey.shape[0])
    return BoardDetection(camera, int(frame), ids[order], corners[order], size, back_face)


def _refined_charuco(
    grey: NDArray[np.uint8], cv_board: Any
) -> tuple[NDArray[np.int32], FloatArray] | None:
    """Ids (N,) and refined pixels (N, 2) of the ChArUco corners in ``grey``, or None."""
    found = _charuco_candidates(grey, cv_board)
    if found is None:
        return None
    ids, predicted, free = found
    half, usable = _window_half_sizes(free)
    refined, good = refine_corners(grey, predicted, half)
    keep = usable & good
    return ids[keep], refined[keep]


def detect_charuco(
    image: Any,
    board: CharucoLike,
    camera_name: str = "",
    frame: int = 0,
    back_face: bool = True,
) -> BoardDetection | None:
    """Find a ChArUco board's corners, refined to unbiased sub-pixel positions.

    OpenCV's ``CharucoDetector`` finds the markers and says which corners are valid; each
    corner is then predicted from its adjacent markers and refined by ``cv2.cornerSubPix`` in
    a window clear of the markers' inner bits (module doc). Corners whose refinement moved
    more than ``MAX_REFINE_SHIFT_PX``, whose window would leave the image or which are too
    small to refine (``MIN_FREE_PX``) are dropped, so a board partly out of view gives its
    visible corners. When the front is not found, the mirrored back face of a two-sided
    board is looked for (module doc); a frame without a board then costs two searches.

    Parameters
    ----------
    image : (H, W) or (H, W, 3) uint8 array
        Grey or BGR image.
    board : CharucoLike
        The board (``calibration.boards.CharucoBoard``); ``inverted`` boards are detected
        on the negative image.
    camera_name : str
        Camera name, stored in the result and used in error messages.
    frame : int
        Frame index, stored in the result.
    back_face : bool
        Also look for a two-sided board's mirrored back face when the front is not found.

    Returns
    -------
    BoardDetection or None
        None when fewer than ``MIN_CORNERS`` corners are found.
    """
    grey = _grey(image, camera_name, frame)
    if board.inverted:
        grey = cv2.bitwise_not(grey)
    cv_board = board.to_cv2()
    found = _refined_charuco(grey, cv_board)
    if found is not None and len(found[0]) >= MIN_CORNERS:
        return _detection(*found, camera_name, frame, grey)
    if not back_face:
        return None
    mirrored = _refined_charuco(np.ascontiguousarray(grey[:, ::-1]), cv_board)
    if mirrored is None:
        return None
    ids, corners = mirrored
    corners[:, 0] = grey.shape[1] - 1 - corners[:, 0]
    return _detection(ids, corners, camera_name, frame, grey, back_face=True)


def _find_chessboard(grey: NDArray[np.uint8], size: tuple[int, int]) -> FloatArray | None:
    """(rows, columns, 2) inner corners in OpenCV's order, or None.

    ``findChessboardCorners`` first (fast, rejects empty frames in ~5 ms at 720p), then the
    slower but more tolerant ``findChessboardCornersSB`` (~90 ms).
    """
    found, corners = cv2.findChessboardCorners(grey, size, flags=_CLASSIC_FLAGS)
    if not found:
        found, corners = cv2.findChessboardCornersSB(grey, size, flags=0)
    if not found or corners is None:
        return None
    return np.asarray(corners, dtype=np.float64).reshape(size[1], size[0], 2)


def _grey_at(grey: NDArray[np.uint8], point: FloatArray) -> float | None:
    """Mean grey level of the 3x3 pixels around ``point`` (2,), None near or past the border."""
    height, width = grey.shape
    if not (2 <= point[0] <= width - 3 and 2 <= point[1] <= height - 3):
        return None
    patch = cv2.getRectSubPix(grey, (3, 3), (float(point[0]), float(point[1])))
    return float(np.mean(patch))


def _outer_square_is_dark(grey: NDArray[np.uint8], grid: FloatArray) -> bool | None:
    """Whether the square diagonally outside corner ``grid[0, 0]`` is the darker one.

    It is compared with its neighbour along the first row; None when either lies outside
    the image.
    """
    first, along, across = grid[0, 0], grid[0, 1] - grid[0, 0], grid[1, 0] - grid[0, 0]
    outer = _grey_at(grey, first - 0.5 * along - 0.5 * across)
    beside = _grey_at(grey, first + 0.5 * along - 0.5 * across)
    if outer is None or beside is None:
        return None
    return outer < beside


def _orient(grey: NDArray[np.uint8], grid: FloatArray) -> FloatArray:
    """Put (rows, columns, 2) corners in the order of ``Checkerboard.corner_points()``.

    There the square diagonally outside corner 0 is black (``Checkerboard.image``). Only
    boards with one odd and one even count differ from their 180-degree turn; others keep
    OpenCV's order.
    """
    rows, columns = grid.shape[:2]
    if (rows + columns) % 2 == 0:
        return grid
    dark_first = _outer_square_is_dark(grey, grid)
    if dark_first is None:  # corner 0 at the image border: look at the last corner instead
        dark_last = _outer_square_is_dark(grey, grid[::-1, ::-1])
        dark_first = None if dark_last is None else not dark_last
    return grid[::-1, ::-1] if dark_first is False else grid


def _local_square_px(grid: FloatArray) -> FloatArray:
    """(rows * columns,) distance from each corner to its nearest grid neighbour, pixels."""
    nearest = np.full(grid.shape[:2], np.inf)
    along = np.linalg.norm(np.diff(grid, axis=1), axis=2)
    across = np.linalg.norm(np.diff(grid, axis=0), axis=2)
    nearest[:, :-1] = np.minimum(nearest[:, :-1], along)
    nearest[:, 1:] = np.minimum(nearest[:, 1:], along)
    nearest[:-1] = np.minimum(nearest[:-1], across)
    nearest[1:] = np.minimum(nearest[1:], across)
    return nearest.ravel()


def detect_checkerboard(
    image: Any, board: CheckerboardLike, camera_name: str = "", frame: int = 0
) -> BoardDetection | None:
    """Find a checkerboard's inner corners, refined to sub-pixel positions.

    OpenCV's detectors find the whole grid (all corners or nothing); the corners are put in
    the order of ``board.corner_points()`` (the square outside corner 0 black, see
    :func:`_orient`) and refined by ``cv2.cornerSubPix`` in a window of a third of the local
    square side; corners that moved farther than the window's half-size (the saddle point was
    not in the window) or whose window would leave the image are dropped.

    OpenCV's detectors place corners only roughly on large images: on the Pose2Sim demo's
    1088x1920 checkerboard views (squares of 53-176 px) ``findChessboardCorners`` is up to
    14 px from the saddle point that refinement then finds, so ``MAX_REFINE_SHIFT_PX`` would
    drop correct corners (61 of 700 there; 3 with this limit). A window of a third of the
    square contains no other saddle point, so anything it converges to within its half-size
    is the corner.

    Parameters
    ----------
    image : (H, W) or (H, W, 3) uint8 array
        Grey or BGR image.
    board : CheckerboardLike
        The board (``calibration.boards.Checkerboard``: ``inner_columns``, ``inner_rows``).
    camera_name : str
        Camera name, stored in the result and used in error messages.
    frame : int
        Frame index, stored in the result.

    Returns
    -------
    BoardDetection or None
        Ids ``0 .. N-1`` as rows of ``board.corner_points()``; None when the board is not
        found or fewer than ``MIN_CORNERS`` corners survive refinement.
    """
    grey = _grey(image, camera_name, frame)
    grid = _find_chessboard(grey, (int(board.inner_columns), int(board.inner_rows)))
    if grid is None:
        return None
    grid = _orient(grey, grid)
    low, high = CHECKER_WINDOW_HALF_PX
    half = np.clip(np.floor(_local_square_px(grid) * CHECKER_WINDOW_FRACTION), low, high)
    half = half.astype(np.int64)
    refined, good = refine_corners(
        grey, grid.reshape(-1, 2), half, np.maximum(half, MAX_REFINE_SHIFT_PX)
    )
    ids = np.arange(len(refined), dtype=np.int32)
    return _detection(ids[good], refined[good], camera_name, frame, grey)


def detect_in_frames(
    frames: Iterable[tuple[int, Any]],
    board: CharucoLike | CheckerboardLike,
    camera_name: str,
    progress: bool = False,
) -> list[BoardDetection]:
    """Detect the board in a sequence of frames of one camera.

    Parameters
    ----------
    frames : iterable of (int, image)
        Frame index and (H, W) or (H, W, 3) uint8 image; read lazily, one at a time.
    board : CharucoLike or CheckerboardLike
        A board with ``to_cv2()`` is detected as ChArUco, otherwise as a checkerboard.
    camera_name : str
        Camera name, stored in the detections and shown on the progress bar.
    progress : bool
        Show a tqdm progress bar (on stderr).

    Returns
    -------
    list of BoardDetection
        One per frame where the board was found, in the order of ``frames``.
    """
    detect = detect_charuco if hasattr(board, "to_cv2") else detect_checkerboard
    detections = []
    bar = tqdm(frames, disable=not progress, desc=f"{camera_name}: board", unit="frame")
    for frame, image in bar:
        found = detect(image, board, camera_name, frame)  # type: ignore[arg-type]
        if found is not None:
            detections.append(found)
    return detections
