"""Where the board was seen, and what a calibration's user should be warned about.

Pure numpy: per-camera counts of detected corners in a grid of image cells, the fraction
of the image they cover, whether they crowd the image centre, which cameras share board
views, and :func:`calibration_warnings`, plain sentences for the calibration report and
the command line. The thresholds are the module constants below; each says why.

Pixels: x right, y down, the centre of the top-left pixel at (0, 0), so a (W, H) image
spans [-0.5, W - 0.5] x [-0.5, H - 0.5].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from calibration.geometry import FloatArray
from calibration.intrinsics import BoardView

if TYPE_CHECKING:
    from calibration.calibrate import CalibrationResult

IntArray = NDArray[np.int64]

COVERAGE_GRID = (6, 8)
"""(rows, columns) of image cells for the coverage fraction: 240 x 180 px in a 1920 x 1080
image, so a 0.6 m board at 3.5 m (f = 1400 px: about 240 px across) covers a few cells and
the fraction grows only as the board is moved around the image."""

MIN_COVERAGE = 0.5
"""Warn when fewer than this fraction of the ``COVERAGE_GRID`` cells hold a corner: the
lens distortion grows towards the edges and is only measured where corners were seen."""

CENTRE_BOX = 0.5
"""The image centre for :func:`centre_share`: the middle half of the width and of the
height (a quarter of the image). Corners spread evenly put 25 % of themselves there."""

MAX_CENTRE_SHARE = 0.8
"""Warn when at least this fraction of a camera's corners lie in the image centre (four
fifths in a quarter of the image): the edges, where distortion is largest, are unmeasured."""

MIN_FRAMES = 15
"""Warn when a camera saw the board in fewer frames. A rule of thumb: OpenCV's calibration
tutorial asks for at least 10 views, and 15 leaves room for views dropped as outliers;
with fewer, one poor view sways the camera's lens and pose."""

MAX_REPROJECTION_PX = 1.0
"""Warn when a camera's RMS reprojection error (bundle adjustment or intrinsics) is above
this. Sharp board corners are located to ~0.05 px and 0.3 px of corner noise gives ~0.4 px
RMS, so 1 px means blurred or wrong detections, a camera that moved, or unsynchronised
frames."""

MAX_BOARD_SIZE_RMS_MM = 1.5
"""Warn when the board-size check's RMS error is above this. 0.3 px of corner noise with
cameras at 3.5 m gives ~1.0 mm (tests/test_calibrate_synthetic.py); 1.5 mm on a 110 mm
square is 1.4 % of a length."""

MIN_SHARED_FRAMES = 5
"""Frames two cameras must both see the board in for their views to count as shared."""

MIN_LINKED_CAMERAS = 2
"""Warn when a camera shares board views with fewer other cameras (in rigs that have that
many): its pose then hangs on a single pair, and an error there goes unchecked."""


def coverage_grid(
    corners: FloatArray, image_size: tuple[int, int], shape: tuple[int, int] = COVERAGE_GRID
) -> IntArray:
    """Number of corners in each cell of a regular grid over the image.

    Parameters
    ----------
    corners : (N, 2) float array
        Pixels; NaN rows and points outside the image are not counted.
    image_size : (2,) tuple of int
        Image (width, height), pixels.
    shape : (2,) tuple of int
        Grid (rows, columns); cell ``[i, j]`` spans columns ``j * W / cols`` to
        ``(j + 1) * W / cols`` of the image (from its left edge at x = -0.5).

    Returns
    -------
    (rows, columns) int64 array
        Row 0 is the top of the image.
    """
    width, height = image_size
    rows, cols = shape
    pts = np.asarray(corners, dtype=np.float64).reshape(-1, 2)
    pts = pts[np.isfinite(pts).all(axis=1)]
    col = np.floor((pts[:, 0] + 0.5) * cols / width).astype(np.int64)
    row = np.floor((pts[:, 1] + 0.5) * rows / height).astype(np.int64)
    inside = (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
    grid = np.zeros((rows, cols), dtype=np.int64)
    np.add.at(grid, (row[inside], col[inside]), 1)
    return grid


def coverage_fraction(grid: IntArray) -> float:
    """Fraction of the grid's cells holding at least one corner."""
    return float(np.mean(np.asarray(grid) > 0))


def centre_share(corners: FloatArray, image_size: tuple[int, int]) -> float:
    """Fraction of the corners inside the image centre (``CENTRE_BOX``); NaN for none.

    Parameters
    ----------
    corners : (N, 2) float array
        Pixels; NaN rows are not counted.
    image_size : (2,) tuple of int
        Image (width, height), pixels.
    """
    pts = np.asarray(corners, dtype=np.float64).reshape(-1, 2)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) == 0:
        return float("nan")
    size = np.asarray(image_size, dtype=np.float64)
    offset = np.abs(pts + 0.5 - size / 2) / size  # 0 at the centre, 0.5 at the edges
    return float(np.mean(np.all(offset <= CENTRE_BOX / 2, axis=1)))


@dataclass(frozen=True, eq=False)
class CameraCoverage:
    """Where one camera saw the board.

    Attributes
    ----------
    camera : str
        Camera name.
    image_size : (2,) tuple of int
        Image (width, height), pixels.
    n_frames : int
        Frames in which the camera detected the board.
    n_corners : int
        Corners detected over all those frames.
    grid : (rows, columns) int64 array
        Corners per image cell (:func:`coverage_grid`).
    fraction : float
        Fraction of cells holding a corner.
    centre_share : float
        Fraction of the corners in the image centre (NaN without corners).
    """

    camera: str
    image_size: tuple[int, int]
    n_frames: int
    n_corners: int
    grid: IntArray
    fraction: float
    centre_share: float

    @property
    def centred(self) -> bool:
        """The corners crowd the image centre (``MAX_CENTRE_SHARE`` or more of them)."""
        return bool(self.centre_share >= MAX_CENTRE_SHARE)


def camera_corners(views: Sequence[BoardView], camera: str) -> FloatArray:
    """(N, 2) pixels of every corner ``camera`` detected, over all its views."""
    mine = [
        np.asarray(v.corners, dtype=np.float64).reshape(-1, 2) for v in views if v.camera == camera
    ]
    return np.concatenate(mine) if mine else np.zeros((0, 2))


def camera_coverage(
    views: Sequence[BoardView],
    camera: str,
    image_size: tuple[int, int],
    shape: tuple[int, int] = COVERAGE_GRID,
) -> CameraCoverage:
    """Coverage of one camera's image by its board detections.

    Parameters
    ----------
    views : sequence of BoardView
        Detections of any cameras; only ``camera``'s are used.
    camera : str
        Camera name.
    image_size : (2,) tuple of int
        Image (width, height), pixels.
    shape : (2,) tuple of int
        Grid (rows, columns).
    """
    corners = camera_corners(views, camera)
    grid = coverage_grid(corners, image_size, shape)
    return CameraCoverage(
        camera=camera,
        image_size=(int(image_size[0]), int(image_size[1])),
        n_frames=len({v.frame for v in views if v.camera == camera}),
        n_corners=len(corners),
        grid=grid,
        fraction=coverage_fraction(grid),
        centre_share=centre_share(corners, image_size),
    )


def shared_frames(views: Sequence[BoardView], names: Sequence[str]) -> IntArray:
    """(C, C) frames in which both cameras saw the board; the diagonal is each one's own."""
    frames = [{v.frame for v in views if v.camera == name} for name in names]
    return np.array([[len(a & b) for b in frames] for a in frames], dtype=np.int64)


def _percent(fraction: float) -> str:
    """``0.351`` -> ``"35 %"``."""
    return f"{100 * fraction:.0f} %"


def _centre_note(cov: CameraCoverage) -> str:
    """Where the corners crowd: ", all in the image centre", ", 85 % of its ...", or ""."""
    if not cov.centred:
        return ""
    if cov.centre_share == 1.0:
        return ", all in the image centre"
    return f", {_percent(cov.centre_share)} of its corners in the image centre"


def coverage_warnings(cov: CameraCoverage) -> list[str]:
    """Warnings about how many frames and how much of the image one camera saw the board in."""
    name = cov.camera
    if cov.n_frames == 0:
        return [f"{name} never saw the board: check that it was recording and in focus"]
    out = []
    few = cov.n_frames < MIN_FRAMES
    if few:
        out.append(
            f"{name} saw the board in only {cov.n_frames} frames{_centre_note(cov)} "
            f"(aim for {MIN_FRAMES} or more): record more board views in its field of view"
        )
    if cov.fraction < MIN_COVERAGE:
        note = "" if few else _centre_note(cov)
        out.append(
            f"{name}'s corners cover only {_percent(cov.fraction)} of the image{note}: "
            "move the board to the edges and corners of its view"
        )
    elif cov.centred and not few:
        out.append(
            f"{name} saw {_percent(cov.centre_share)} of its corners in the image centre: "
            "move the board to the edges and corners of its view too"
        )
    return out


def _board_size_warnings(result: CalibrationResult) -> list[str]:
    """The board-size check failed or measured the squares poorly."""
    check = result.quality
    if check.n_pairs == 0 or not np.isfinite(check.rms_mm):
        return [
            "the board-size check could not be made: no two neighbouring corners were seen "
            "by two cameras at once"
        ]
    if check.rms_mm <= MAX_BOARD_SIZE_RMS_MM:
        return []
    return [
        f"the board-size check is {check.rms_mm:.1f} mm RMS (above {MAX_BOARD_SIZE_RMS_MM:.1f} "
        f"mm; 95 % of squares within {check.p95_mm:.1f} mm): lengths measured with this "
        "calibration are about that uncertain; look for blurred views, unsynchronised "
        "cameras or a camera that moved"
    ]


def error_warnings(result: CalibrationResult, name: str) -> list[str]:
    """Warnings about one camera's bundle-adjustment or intrinsics reprojection error."""
    out = []
    limit = f"above {MAX_REPROJECTION_PX:.1f} px"
    advice = (
        "look for blurred or misdetected board views, a camera that moved, or unsynchronised frames"
    )
    error = result.metadata.errors.get(name, float("nan"))
    if np.isfinite(error) and error > MAX_REPROJECTION_PX:
        out.append(f"{name}'s reprojection error ({error:.2f} px) is high ({limit}): {advice}")
    intrinsics = result.intrinsics.get(name)
    if intrinsics is not None and not intrinsics.success:
        out.append(f"{name}'s intrinsics failed: {intrinsics.message}")
    elif intrinsics is not None and intrinsics.rms_px > MAX_REPROJECTION_PX:
        out.append(
            f"{name}'s intrinsics (lens) calibration error ({intrinsics.rms_px:.2f} px) "
            f"is high ({limit}): {advice}"
        )
    return out


def link_warnings(names: Sequence[str], shared: IntArray, index: int) -> list[str]:
    """Warning when camera ``names[index]`` shares board views with too few others.

    Parameters
    ----------
    names : sequence of str
        The rig's cameras.
    shared : (C, C) int array
        :func:`shared_frames` of those cameras.
    index : int
        The camera to check.
    """
    name = names[index]
    others = [j for j in range(len(names)) if j != index]
    partners = [j for j in others if shared[index, j] >= MIN_SHARED_FRAMES]
    if not others or not shared[index, index]:  # "never saw the board" says it already
        return []
    if len(partners) >= min(MIN_LINKED_CAMERAS, len(others)):
        return []
    advice = "show the board to it and its neighbours at the same time"
    if not partners:
        best = max(others, key=lambda j: shared[index, j])
        return [
            f"{name} shares board views with no other camera in {MIN_SHARED_FRAMES} or more "
            f"frames (at most {shared[index, best]}, with {names[best]}): its position rests "
            f"on those few frames; {advice}"
        ]
    count = "one other camera" if len(partners) == 1 else f"{len(partners)} other cameras"
    which = ", ".join(f"{names[j]}: {shared[index, j]} frames" for j in partners)
    return [
        f"{name} shares board views with only {count} ({which}): its position hangs on "
        f"{'that link' if len(partners) == 1 else 'those links'}; {advice}"
    ]


def calibration_warnings(result: CalibrationResult, views: Sequence[BoardView]) -> list[str]:
    """Plain-language warnings about a calibration, camera by camera, then the whole rig.

    Parameters
    ----------
    result : CalibrationResult
        The calibration.
    views : sequence of BoardView
        The board detections it was made from (views of cameras not in the rig are
        ignored).

    Returns
    -------
    list of str
        One sentence per problem, each naming the camera and saying what to do; empty when
        nothing crosses the thresholds of this module.
    """
    names = list(result.rig.names)
    shared = shared_frames(views, names)
    out = []
    for i, cam in enumerate(result.rig):
        out += coverage_warnings(camera_coverage(views, cam.name, cam.size))
        out += error_warnings(result, cam.name)
        out += link_warnings(names, shared, i)
    out += _board_size_warnings(result)
    out += _model_warnings(result)
    if not result.converged:
        out.append(
            f"the bundle adjustment did not converge ({result.solver_message}): check the "
            "warnings above, or record more frames that several cameras see at once"
        )
    return out


def _model_warnings(result: CalibrationResult) -> list[str]:
    """Cameras whose lens model was reduced because their views could not support it."""
    return [
        f"{name}: lens model reduced to {i.model}: for a full lens model film the board "
        "close to this camera, over the whole image (use --intrinsics)"
        for name, i in result.intrinsics.items()
        if i.model.startswith("k1, k2 only")
    ]
