"""Coverage grids, centre share, shared frames and the calibration warnings, on hand-made data.

The warnings are checked on a small hand-built ``CalibrationResult`` (no solver runs): a
good rig gives none, and each bad case makes exactly its own warning fire.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import numpy as np
import pytest

from calibration.calibrate import CalibrationResult
from calibration.camera import Camera, CameraRig
from calibration.coverage import (
    MAX_BOARD_SIZE_RMS_MM,
    MAX_REPROJECTION_PX,
    MIN_FRAMES,
    MIN_SHARED_FRAMES,
    calibration_warnings,
    camera_coverage,
    centre_share,
    coverage_fraction,
    coverage_grid,
    shared_frames,
)
from calibration.detection import BoardDetection
from calibration.intrinsics import IntrinsicsResult
from calibration.quality import BoardSizeCheck
from calibration.toml_io import CalibrationMetadata

SIZE = (1920, 1080)

# One corner in each of the 8 x 6 coverage cells (240 x 180 px), 10 px below its centre so
# that none lies on the centre box's border: the whole image is covered and 12 of the 48
# corners (a quarter) lie in the image centre.
SPREAD = np.array(
    [[(j + 0.5) * 240 - 0.5, (i + 0.5) * 180 + 9.5] for i in range(6) for j in range(8)]
)
# A 5 x 5 block of corners, 25 px apart, around the image centre: it spans 2 x 2 cells.
CENTRED = np.array([[910.0 + 25 * j, 490.0 + 25 * i] for i in range(5) for j in range(5)])
# The same block near the top-left corner of the image (also 2 x 2 cells).
CORNERED = CENTRED - [720.0, 360.0]


def _views(camera: str, frames: Iterable[int], corners: np.ndarray) -> list[BoardDetection]:
    ids = np.arange(len(corners), dtype=np.int32)
    return [BoardDetection(camera, f, ids, corners, SIZE) for f in frames]


def _rig(names: Iterable[str]) -> CameraRig:
    matrix = [[1400.0, 0.0, 959.5], [0.0, 1400.0, 539.5], [0.0, 0.0, 1.0]]
    cams = [
        Camera(n, SIZE, matrix, np.zeros(5), np.zeros(3), [0.5 * i, 0.0, 3.0])
        for i, n in enumerate(names)
    ]
    return CameraRig(tuple(cams))


def _result(names: Iterable[str], errors: dict[str, float] | None = None) -> CalibrationResult:
    rig = _rig(names)
    errors = {n: 0.4 for n in rig.names} | (errors or {})
    quality = BoardSizeCheck(0.8, 1.6, 1000, dict.fromkeys(rig.names, 0.3))
    return CalibrationResult(
        rig, CalibrationMetadata(errors=errors), {}, {0: np.eye(4)}, 0, quality
    )


def _good_views(names: Iterable[str], frames: int = 20) -> list[BoardDetection]:
    return [v for n in names for v in _views(n, range(frames), SPREAD)]


NAMES = ("cam_1", "cam_2", "cam_3", "cam_4")


def test_coverage_grid_counts_corners_per_cell() -> None:
    """Exact: integer counts of hand-placed corners, on and beside the cell borders."""
    corners = np.array(
        [
            [0.0, 0.0],  # top-left cell
            [199.4, 0.0],  # still the first column (its border is at x = 199.5)
            [199.5, 0.0],  # second column
            [450.0, 250.0],  # row 1, column 2
            [799.4, 599.4],  # bottom-right cell (the image ends at 799.5, 599.5)
            [799.5, 10.0],  # outside on the right
            [-0.6, 10.0],  # outside on the left
            [np.nan, np.nan],  # not observed
        ]
    )
    grid = coverage_grid(corners, (800, 600), (3, 4))
    expected = [[2, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
    np.testing.assert_array_equal(grid, expected)
    assert coverage_fraction(grid) == pytest.approx(4 / 12, abs=1e-12)


def test_spread_corners_cover_the_whole_image() -> None:
    """Exact: one corner per cell covers all 48 cells, 12 of them in the centre box."""
    grid = coverage_grid(SPREAD, SIZE)
    np.testing.assert_array_equal(grid, np.ones((6, 8)))
    assert coverage_fraction(grid) == 1.0
    assert centre_share(SPREAD, SIZE) == pytest.approx(0.25, abs=1e-12)


def test_centre_share_counts_the_middle_half() -> None:
    """Exact: two of four corners in the centre box; its border counts as inside."""
    corners = np.array([[399.5, 299.5], [199.5, 299.5], [100.0, 300.0], [399.5, 50.0]])
    assert centre_share(corners, (800, 600)) == 0.5
    assert np.isnan(centre_share(np.zeros((0, 2)), (800, 600)))


def test_camera_coverage_and_shared_frames() -> None:
    """Exact: frame and corner counts of hand-made detections."""
    views = _views("a", [0, 1, 2], CENTRED) + _views("b", [1, 2, 5, 6], CORNERED)
    cov = camera_coverage(views, "a", SIZE)
    assert (cov.n_frames, cov.n_corners) == (3, 75)
    assert cov.centre_share == 1.0
    assert cov.centred
    assert cov.fraction == pytest.approx(4 / 48, abs=1e-12)  # the 5 x 5 block spans 2 x 2 cells
    assert not camera_coverage(views, "b", SIZE).centred
    assert camera_coverage(views, "c", SIZE).n_frames == 0
    np.testing.assert_array_equal(
        shared_frames(views, ["a", "b", "c"]), [[3, 2, 0], [2, 4, 0], [0, 0, 0]]
    )


def test_good_calibration_has_no_warnings() -> None:
    """Exact: every number sits on the good side of its threshold."""
    views = _good_views(NAMES, frames=MIN_FRAMES)
    assert calibration_warnings(_result(NAMES), views) == []


def test_few_frames_all_in_the_centre() -> None:
    """Exact: the frame count and the share of centred corners are integers and ratios."""
    views = _good_views(NAMES[:3]) + _views("cam_4", range(6), CENTRED)
    warnings = calibration_warnings(_result(NAMES), views)
    assert warnings[0].startswith("cam_4 saw the board in only 6 frames, all in the image centre")
    assert "cam_4's corners cover only 8 % of the image" in warnings[1]
    assert all(w.startswith("cam_4") for w in warnings)


def test_frame_count_threshold() -> None:
    """Exact: one frame below MIN_FRAMES warns, MIN_FRAMES does not."""
    views = _good_views(NAMES[:3], MIN_FRAMES) + _views("cam_4", range(MIN_FRAMES - 1), SPREAD)
    (warning,) = calibration_warnings(_result(NAMES), views)
    assert warning.startswith(f"cam_4 saw the board in only {MIN_FRAMES - 1} frames (aim for")


def test_low_coverage_away_from_the_centre() -> None:
    """Exact: 4 of 48 cells covered is 8 %, and nothing is said about the centre."""
    views = _good_views(NAMES[:3]) + _views("cam_4", range(20), CORNERED)
    (warning,) = calibration_warnings(_result(NAMES), views)
    assert warning == (
        "cam_4's corners cover only 8 % of the image: move the board to the edges and "
        "corners of its view"
    )


def test_centred_corners_despite_full_coverage() -> None:
    """Exact: 48 spread + 19 x 25 centred corners put 487 of 523 (93 %) in the centre."""
    views = _good_views(NAMES[:3]) + _views("cam_4", [0], SPREAD)
    views += _views("cam_4", range(1, 20), CENTRED)
    (warning,) = calibration_warnings(_result(NAMES), views)
    assert warning.startswith("cam_4 saw 93 % of its corners in the image centre")


def test_high_reprojection_error() -> None:
    """Exact: 1.8 px is above MAX_REPROJECTION_PX, the threshold itself is not."""
    views = _good_views(NAMES)
    errors = {"cam_1": 1.8, "cam_2": MAX_REPROJECTION_PX}
    (warning,) = calibration_warnings(_result(NAMES, errors), views)
    assert warning.startswith("cam_1's reprojection error (1.80 px) is high (above 1.0 px)")


def test_intrinsics_errors_and_failures() -> None:
    """Exact: a failed and a 1.5 px intrinsics calibration warn; a 0.3 px one does not."""
    result = _result(NAMES)
    intrinsics = {
        "cam_1": IntrinsicsResult("cam_1", True, "ok", rms_px=0.3),
        "cam_2": IntrinsicsResult("cam_2", True, "ok", rms_px=1.5),
        "cam_3": IntrinsicsResult("cam_3", False, "cam_3 saw the board in only 2 frames"),
    }
    warnings = calibration_warnings(replace(result, intrinsics=intrinsics), _good_views(NAMES))
    assert warnings == [
        "cam_2's intrinsics (lens) calibration error (1.50 px) is high (above 1.0 px): look "
        "for blurred or misdetected board views, a camera that moved, or unsynchronised frames",
        "cam_3's intrinsics failed: cam_3 saw the board in only 2 frames",
    ]


def test_board_size_check() -> None:
    """Exact: 2.1 mm RMS is above MAX_BOARD_SIZE_RMS_MM; no measured pairs is its own case."""
    result = _result(NAMES)
    views = _good_views(NAMES)
    bad = replace(result.quality, rms_mm=2.1, p95_mm=3.9)
    (warning,) = calibration_warnings(replace(result, quality=bad), views)
    assert warning.startswith(
        f"the board-size check is 2.1 mm RMS (above {MAX_BOARD_SIZE_RMS_MM:.1f} mm; 95 % of "
        "squares within 3.9 mm)"
    )
    edge = replace(result.quality, rms_mm=MAX_BOARD_SIZE_RMS_MM)
    assert calibration_warnings(replace(result, quality=edge), views) == []
    none = replace(result.quality, rms_mm=float("nan"), p95_mm=float("nan"), n_pairs=0)
    (warning,) = calibration_warnings(replace(result, quality=none), views)
    assert warning.startswith("the board-size check could not be made")


def test_camera_linked_to_only_one_other() -> None:
    """Exact: cam_4 shares all 20 frames with cam_3 and none with cam_1 or cam_2."""
    views = _good_views(NAMES[:3]) + _views("cam_4", range(100, 120), SPREAD)
    views += _views("cam_3", range(100, 120), SPREAD)
    (warning,) = calibration_warnings(_result(NAMES), views)
    assert warning.startswith(
        "cam_4 shares board views with only one other camera (cam_3: 20 frames)"
    )


def test_camera_linked_to_none() -> None:
    """Exact: one frame short of MIN_SHARED_FRAMES with every other camera."""
    views = _good_views(NAMES[:3]) + _views("cam_4", range(100, 120), SPREAD)
    views += _views("cam_1", range(100, 100 + MIN_SHARED_FRAMES - 1), SPREAD)
    (warning,) = calibration_warnings(_result(NAMES), views)
    assert warning.startswith(
        f"cam_4 shares board views with no other camera in {MIN_SHARED_FRAMES} or more frames "
        f"(at most {MIN_SHARED_FRAMES - 1}, with cam_1)"
    )


def test_two_camera_rig_needs_one_link() -> None:
    """Exact: in a two-camera rig, sharing views with the one other camera is enough."""
    names = NAMES[:2]
    assert calibration_warnings(_result(names), _good_views(names)) == []


def test_camera_that_never_saw_the_board() -> None:
    """Exact: no views at all is said in one sentence, not as zero coverage or no links."""
    warnings = calibration_warnings(_result(NAMES), _good_views(NAMES[:3]))
    assert warnings[0].startswith("cam_4 never saw the board")
    assert [w for w in warnings if w.startswith("cam_4")] == warnings[:1]
