"""Calibration from rendered board images (lens distortion, blur, sensor noise) vs the truth.

The acceptance test of issue 3's synthetic criterion. Four 1920x1080 cameras on a 3.5 m
ring; a 5x7 ChArUco board (110 mm squares) is waved through the volume (80 frames, the
first lying on the floor at the origin) and, camera by camera, held close for 20
intrinsic views. Every image is rendered pixel by pixel through the camera's true lens
(``datasets.render``), then detected (``calibration.detection``) and calibrated
(``calibration.calibrate``) with nothing taken from the truth.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import pytest

from calibration.boards import CharucoBoard
from calibration.calibrate import CalibrationResult, calibrate_rig
from calibration.camera import Camera, CameraRig
from calibration.detection import BoardDetection, detect_in_frames
from calibration.quality import board_size_check
from datasets.render import true_corners
from datasets.synthetic.board_recording import intrinsic_poses, render_frames
from datasets.synthetic.board_views import waving_poses
from datasets.synthetic.compare import rig_errors
from datasets.synthetic.rigs import ring_rig

BOARD = CharucoBoard(5, 7, 0.11, 0.08, "DICT_5X5_100")
ADDED_NOISE_PX = 0.3


@dataclass(frozen=True)
class Session:
    """The true rig, board poses and the detections in the rendered images."""

    rig: CameraRig
    poses: list[np.ndarray]
    intrinsic: dict[str, list[np.ndarray]]
    views: list[BoardDetection]
    intrinsic_views: list[BoardDetection]


def _detect(camera: Camera, poses: list[np.ndarray], seed: int) -> list[BoardDetection]:
    return detect_in_frames(render_frames(camera, BOARD, poses, seed=seed), BOARD, camera.name)


def _render_and_detect(camera: Camera, poses: list, intrinsic: list, index: int) -> tuple:
    return _detect(camera, poses, 10 * index), _detect(camera, intrinsic, 100 + index)


@pytest.fixture(scope="module")
def session() -> Session:
    rig = ring_rig(4, size=(1920, 1080), focal_px=1400.0, seed=1)
    poses = waving_poses(BOARD, 80, seed=2)
    intrinsic = {c.name: intrinsic_poses(c, BOARD, 20, seed=i) for i, c in enumerate(rig)}
    with ProcessPoolExecutor(max_workers=2) as pool:
        jobs = [
            pool.submit(_render_and_detect, cam, poses, intrinsic[cam.name], i)
            for i, cam in enumerate(rig)
        ]
        found = [job.result() for job in jobs]
    views = [v for extrinsic, _ in found for v in extrinsic]
    intrinsic_views = [v for _, close in found for v in close]
    return Session(rig, poses, intrinsic, views, intrinsic_views)


def _noisier(views: list[BoardDetection], seed: int) -> list[BoardDetection]:
    rng = np.random.default_rng(seed)
    return [
        replace(v, corners=v.corners + rng.normal(0.0, ADDED_NOISE_PX, v.corners.shape))
        for v in views
    ]


@pytest.fixture(scope="module")
def calibrated(session: Session) -> CalibrationResult:
    sizes = {c.name: c.size for c in session.rig}
    return calibrate_rig(session.views, BOARD, sizes, intrinsic_views=session.intrinsic_views)


@pytest.fixture(scope="module")
def calibrated_noisy(session: Session) -> tuple[CalibrationResult, list[BoardDetection]]:
    sizes = {c.name: c.size for c in session.rig}
    views = _noisier(session.views, 5)
    result = calibrate_rig(
        views,
        BOARD,
        sizes,
        intrinsic_views=_noisier(session.intrinsic_views, 6),
        refine_intrinsics=True,
    )
    return result, views


def test_rendered_corners_are_accurate(session: Session) -> None:
    """Detected corners within 0.3 px RMS of the true projections, unbiased to 0.05 px.

    0.3 px is the issue's noise level: the rendered images (blur 0.7 px, sensor noise 3
    grey levels, boards 3-4 m away seen up to 75 degrees off-axis) must not be cleaner
    than that claims; 0.05 px is the issue's bias bound.
    """
    errors = []
    for view in session.views:
        camera = next(c for c in session.rig if c.name == view.camera)
        truth = true_corners(camera, BOARD, session.poses[view.frame])[view.ids]
        errors.append(view.corners - truth)
    offsets = np.concatenate(errors)
    assert len(offsets) > 2000
    assert np.sqrt(np.mean(np.sum(offsets**2, axis=1))) < 0.3
    assert np.all(np.abs(np.median(offsets, axis=0)) < 0.05)


def test_intrinsics_match_the_truth(session: Session, calibrated: CalibrationResult) -> None:
    """Focal lengths within 0.5 % and principal points within 1 px (the issue's bounds).

    Seen here: 0.01 % and 0.5 px at worst from 20 close views per camera.
    """
    for est, tru in zip(calibrated.rig, session.rig, strict=True):
        focal = np.diag(est.matrix)[:2] / np.diag(tru.matrix)[:2] - 1
        assert np.all(np.abs(focal) < 0.005), est.name
        assert np.linalg.norm(est.matrix[:2, 2] - tru.matrix[:2, 2]) < 1.0, est.name


def test_camera_poses_match_the_truth(session: Session, calibrated: CalibrationResult) -> None:
    """Camera centres within 5 mm and orientations within 0.2 degrees (the issue's bounds).

    Seen here: 0.6 mm and 0.02 degrees at worst.
    """
    errors = rig_errors(calibrated.rig, session.rig)
    assert np.all(errors.centre_m < 0.005), errors.centre_m
    assert np.all(errors.rotation_deg < 0.2), errors.rotation_deg


def test_world_frame_is_the_floor_board(session: Session, calibrated: CalibrationResult) -> None:
    """Frame 0's board lies on the floor at the origin: world frames agree within 2 cm.

    The floor board is seen at grazing angles, the weakest pose of the session; 2 cm at
    3.5 m is 0.3 degree of floor tilt.
    """
    assert calibrated.origin_frame == 0
    for est, tru in zip(calibrated.rig, session.rig, strict=True):
        assert np.linalg.norm(est.center - tru.center) < 0.02, est.name


def test_board_size_check(session: Session, calibrated: CalibrationResult) -> None:
    """Neighbour distances of triangulated corners within 0.5 mm RMS (the issue's bound).

    And within 5 % of the same check with the true cameras: what is left is detection
    noise, not calibration error.
    """
    truth = board_size_check(session.rig, session.views, BOARD).rms_mm
    assert calibrated.quality.rms_mm < 0.5
    assert calibrated.quality.rms_mm < 1.05 * truth


def test_with_added_noise(
    session: Session, calibrated_noisy: tuple[CalibrationResult, list[BoardDetection]]
) -> None:
    """With 0.3 px Gaussian noise added to every corner the calibration still holds.

    Focal lengths within 0.5 %, centres within 5 mm, orientations within 0.2 degrees (the
    issue's bounds; seen 0.2 %, 4 mm, 0.1 degree). 20 views of a 24-corner board at
    0.3 px cannot pin the principal point to 1 px: OpenCV's own standard deviation of it
    is ~2 px here, and the error must be within 3 of those (seen 1-3 px). The board-size
    check is bounded by noise (the true cameras give ~1.05 mm on these detections), so
    ours must be within 5 % of the truth's.
    """
    result, views = calibrated_noisy
    for est, tru in zip(result.rig, session.rig, strict=True):
        focal = np.diag(est.matrix)[:2] / np.diag(tru.matrix)[:2] - 1
        assert np.all(np.abs(focal) < 0.005), est.name
        sigma = np.linalg.norm(result.intrinsics[est.name].std[2:])
        assert 0.5 < sigma < 4.0, est.name  # the uncertainty is stated, and plausible
        assert np.linalg.norm(est.matrix[:2, 2] - tru.matrix[:2, 2]) < 3 * sigma, est.name
    errors = rig_errors(result.rig, session.rig)
    assert np.all(errors.centre_m < 0.005), errors.centre_m
    assert np.all(errors.rotation_deg < 0.2), errors.rotation_deg
    truth = board_size_check(session.rig, views, BOARD).rms_mm
    assert result.quality.rms_mm < 1.05 * truth
