"""Calibration on real recordings, judged against other tools' results (issue 3 acceptance).

(a) ``caliscope_4cam_charuco``: four webcams, 48 synchronized frames of a hand-held two-sided
ChArUco board (cam_1 sees only its mirrored back face). Our calibration (``calibrate_rig``
with caliscope's own ``charuco.toml``) and caliscope's (``camera_array.toml``) are judged on
the same detections (ours) by the same measure: corners triangulated from all cameras,
their per-camera reprojection error and the board-size check.

(b) ``pose2sim_demo_singleperson``: checkerboard intrinsics of four 1088x1920 portrait lab
cameras against the Qualisys marker-based calibration of the same cameras.

Detections are made once per module (about 10 s on two cores).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from calibration.boards import CharucoBoard, Checkerboard, load_board
from calibration.calibrate import CalibrationResult, calibrate_rig
from calibration.camera import Camera, CameraRig
from calibration.detection import BoardDetection, detect_charuco, detect_checkerboard
from calibration.interop import load_any_calibration
from calibration.intrinsics import IntrinsicsResult, calibrate_intrinsics
from calibration.quality import BoardSizeCheck, board_size_check

CALISCOPE = "caliscope_4cam_charuco"
POSE2SIM = "pose2sim_demo_singleperson"
CALISCOPE_FRAMES = 48
"""Frames per caliscope video (README: frame i of every camera is the same instant)."""
POSE2SIM_BOARD = Checkerboard(4, 7, 0.060)
"""Pose2Sim demo's Config.toml: intrinsics_corners_nb = [4, 7], intrinsics_square_size = 60."""
POSE2SIM_SIZE = (1088, 1920)
"""Size of the checkerboard jpgs, as Qualisys' fov_video (the cam01/cam02 videos are 1080 wide,
but the jpgs of every camera are 1088 wide)."""


@dataclass(frozen=True)
class Caliscope:
    """caliscope's session: board, our detections, image sizes and caliscope's calibration."""

    board: CharucoBoard
    views: list[BoardDetection]
    sizes: dict[str, tuple[int, int]]
    peer: CameraRig
    folder: Path


def _video_detections(path: Path, board: CharucoBoard, camera: str) -> list[BoardDetection]:
    """ChArUco detections in every frame of one video, frame index = position in the video."""
    capture = cv2.VideoCapture(str(path))
    found, frame = [], 0
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                break
            detection = detect_charuco(image, board, camera, frame)
            if detection is not None:
                found.append(detection)
            frame += 1
    finally:
        capture.release()
    assert frame == CALISCOPE_FRAMES, f"{path}: {frame} frames"
    return found


@pytest.fixture(scope="module")
def caliscope(shared_datasets: Path) -> Caliscope:
    folder = shared_datasets / CALISCOPE
    board = load_board(folder / "charuco.toml")
    assert isinstance(board, CharucoBoard)
    peer, _ = load_any_calibration(folder / "camera_array.toml")
    views = []
    for cam in peer:  # cam_0 ... cam_3, as the videos are named
        video = folder / "calibration" / "extrinsic" / f"{cam.name}.mp4"
        views += _video_detections(video, board, cam.name)
    sizes = {cam.name: cam.size for cam in peer}
    return Caliscope(board, views, sizes, peer, folder)


@pytest.fixture(scope="module")
def ours(caliscope: Caliscope) -> CalibrationResult:
    return calibrate_rig(caliscope.views, caliscope.board, caliscope.sizes)


@pytest.fixture(scope="module")
def peer_check(caliscope: Caliscope) -> BoardSizeCheck:
    return board_size_check(caliscope.peer, caliscope.views, caliscope.board)


def _caliscope_xy(folder: Path) -> dict[tuple[str, int, int], np.ndarray]:
    """Corners caliscope detected itself, by (camera, frame, corner id); frame from sync_index."""
    extrinsic = folder / "calibration" / "extrinsic"
    with (extrinsic / "timestamps.csv").open(newline="") as f:
        first = min(int(row["sync_index"]) for row in csv.DictReader(f))
    with (extrinsic / "xy.csv").open(newline="") as f:
        return {
            (f"cam_{r['cam_id']}", int(r["sync_index"]) - first, int(r["keypoint_id"])): np.array(
                [float(r["img_loc_x"]), float(r["img_loc_y"])]
            )
            for r in csv.DictReader(f)
        }


def _beats(ours: BoardSizeCheck, peer: BoardSizeCheck) -> list[str]:
    """Where ``ours`` is worse than ``peer``: one line per camera or board-size statistic."""
    worse = [
        f"{name}: reprojection {mine:.3f} px > caliscope {peer.reprojection_rms_px[name]:.3f} px"
        for name, mine in ours.reprojection_rms_px.items()
        if not mine <= peer.reprojection_rms_px[name]
    ]
    if not ours.rms_mm < peer.rms_mm:
        worse.append(f"board size RMS {ours.rms_mm:.3f} mm >= caliscope {peer.rms_mm:.3f} mm")
    if not ours.p95_mm < peer.p95_mm:
        worse.append(f"board size p95 {ours.p95_mm:.3f} mm >= caliscope {peer.p95_mm:.3f} mm")
    return worse


# ----------------------------------------------------------------------------- (a) caliscope


@pytest.mark.realdata
def test_caliscope_detections_match_caliscopes_own(caliscope: Caliscope) -> None:
    """Medians within 0.3 px of caliscope's corners; cam_1 1 px left (caliscope maps x = w - x)."""
    theirs = _caliscope_xy(caliscope.folder)
    for name in caliscope.sizes:
        mine = [v for v in caliscope.views if v.camera == name]
        # measured: 45-47 of 48 frames, except cam_3 (23: it sees the board from frame 25 on)
        assert len(mine) >= (20 if name == "cam_3" else 44), name
        # cam_1 films the mirrored back face of the two-sided board, the others the front
        assert all(v.back_face == (name == "cam_1") for v in mine), name
        diff = np.array(
            [
                corner - theirs[(name, v.frame, int(i))]
                for v in mine
                for i, corner in zip(v.ids, v.corners, strict=True)
                if (name, v.frame, int(i)) in theirs
            ]
        )
        assert len(diff) > 250, name  # the same corners: 274-519 matched per camera
        median = np.median(diff, axis=0)
        # measured: front cameras |median| <= 0.19 px; cam_1 (-0.93, +0.06) px. caliscope turns
        # the mirrored corners back with x = width - x, one pixel right of width - 1 - x.
        expected = np.array([-1.0, 0.0]) if name == "cam_1" else np.zeros(2)
        assert np.all(np.abs(median - expected) < 0.3), (name, median)


@pytest.mark.realdata
def test_caliscope_reprojection_and_board_size_beat_caliscope(
    caliscope: Caliscope, ours: CalibrationResult, peer_check: BoardSizeCheck
) -> None:
    """No tolerance: the issue asks for at most caliscope's error on the same detections."""
    mine = ours.quality
    assert mine.n_pairs == peer_check.n_pairs  # the same corners measured (804 pairs)
    assert set(mine.reprojection_rms_px) == set(caliscope.sizes)
    # sanity, measured 0.36 mm: a wrong scale or a mirrored camera would be millimetres off
    assert mine.rms_mm < 1.0
    assert _beats(mine, peer_check) == []


@pytest.mark.realdata
def test_caliscope_extrinsics_with_caliscopes_intrinsics_beat_caliscope(
    caliscope: Caliscope, peer_check: BoardSizeCheck
) -> None:
    """No tolerance: with caliscope's intrinsics held, only our extrinsics differ from theirs.

    The board covers 3-8 % of each image here, too little to estimate intrinsics well
    (caliscope took them from separate close-up videos); this isolates the extrinsics.
    """
    fixed = {
        cam.name: Camera(cam.name, cam.size, cam.matrix, cam.distortion, np.zeros(3), np.zeros(3))
        for cam in caliscope.peer
    }
    result = calibrate_rig(
        caliscope.views, caliscope.board, caliscope.sizes, fixed_intrinsics=fixed
    )
    for name, cam in zip(caliscope.sizes, result.rig, strict=True):
        np.testing.assert_array_equal(cam.matrix, caliscope.peer[name].matrix)
    assert _beats(result.quality, peer_check) == []


# ----------------------------------------------------------------------------- (b) Pose2Sim


@pytest.fixture(scope="module")
def pose2sim(shared_datasets: Path) -> tuple[CameraRig, dict[str, list[BoardDetection]]]:
    """Qualisys cameras and our checkerboard detections in each camera's jpgs."""
    folder = shared_datasets / POSE2SIM / "calibration"
    qualisys, _ = load_any_calibration(folder / "Calib.qca.txt")
    views = {}
    for cam in qualisys:
        images = sorted((folder / "intrinsics" / f"int_{cam.name}_img").glob("*.jpg"))
        found = []
        for frame, path in enumerate(images):
            image = cv2.imread(str(path))
            assert (image.shape[1], image.shape[0]) == POSE2SIM_SIZE, path
            detection = detect_checkerboard(image, POSE2SIM_BOARD, cam.name, frame)
            if detection is not None:
                found.append(detection)
        views[cam.name] = found
    return qualisys, views


@pytest.fixture(scope="module")
def pose2sim_intrinsics(pose2sim) -> dict[str, IntrinsicsResult]:
    _, views = pose2sim
    return {
        name: calibrate_intrinsics(name, found, POSE2SIM_BOARD, POSE2SIM_SIZE)
        for name, found in views.items()
    }


@pytest.mark.realdata
def test_pose2sim_checkerboards_are_found_whole(pose2sim) -> None:
    """At least 6 of 7 views and 27 of 28 corners each: only boards cut by the image fail."""
    qualisys, views = pose2sim
    assert all(cam.size == POSE2SIM_SIZE for cam in qualisys)  # same frame as the jpgs
    for name, found in views.items():
        # measured: 7, 6, 6, 6 views; the missing ones show the board cut by the image edge
        # or edge-on. 27-28 corners (the 2 px refinement limit used to drop 61 of 700).
        assert len(found) >= 6, name
        assert min(len(v) for v in found) >= 27, name


@pytest.mark.realdata
def test_pose2sim_focal_lengths_match_qualisys(pose2sim, pose2sim_intrinsics) -> None:
    """2 %: the issue's criterion (measured 0.1-0.5 %; Qualisys is not ground truth either)."""
    qualisys, _ = pose2sim
    for cam in qualisys:
        result = pose2sim_intrinsics[cam.name]
        assert result.success, result.message
        # sanity, measured 0.20-0.22 px: the checkerboard corners fit the model
        assert result.rms_px < 0.5, result.message
        ratio = np.diag(result.matrix)[:2] / np.diag(cam.matrix)[:2]
        assert np.all(np.abs(ratio - 1) < 0.02), (cam.name, ratio)
