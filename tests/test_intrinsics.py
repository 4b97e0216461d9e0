"""Intrinsics: lens-model choice, the fold check, stated uncertainty, corner outliers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from calibration.boards import CharucoBoard
from calibration.camera import Camera, CameraRig
from calibration.intrinsics import calibrate_intrinsics, distortion_folds, image_coverage
from datasets.render import board_pose_looking_at
from datasets.synthetic.board_recording import intrinsic_poses
from datasets.synthetic.board_views import project_views
from datasets.synthetic.rigs import ring_rig

BOARD = CharucoBoard(5, 7, 0.11, 0.08, "DICT_5X5_100")


def _camera() -> Camera:
    return ring_rig(2, size=(1280, 720), focal_px=930.0, seed=4).cameras[0]


def _views(camera: Camera, fill: float, seed: int = 0) -> list:
    poses = intrinsic_poses(camera, BOARD, 20, fill=fill, seed=seed)
    return project_views(CameraRig((camera,)), BOARD, poses, noise_px=0.1, seed=seed)


def test_fold_check() -> None:
    """A k3 of -15 (seen fitted on a board in 12 % of an image) folds; a real lens does not."""
    camera = _camera()
    assert not distortion_folds(camera.matrix, camera.distortion, camera.size)
    folded = np.array([0.2, -1.2, 0.0, 0.0, -15.0])
    assert distortion_folds(camera.matrix, folded, camera.size)


def test_full_model_from_views_covering_the_image() -> None:
    """Close views over the whole image: 5-term model, f within 0.2 %, c within 2 px.

    0.1 px noise on 20 views of 24 corners; OpenCV's own standard deviations are
    ~0.5 px here, and the errors must be within 4 of them.
    """
    camera = _camera()
    views = _views(camera, fill=0.45)
    assert image_coverage(views, camera.size) >= 0.6
    result = calibrate_intrinsics(camera.name, views, BOARD, camera.size)
    assert result.success, result.message
    assert result.model == "5-term distortion"
    assert abs(result.matrix[0, 0] / camera.matrix[0, 0] - 1) < 0.002
    error = np.abs(result.matrix[:2, 2] - camera.matrix[:2, 2])
    assert np.all(error < np.maximum(4 * result.std[2:], 0.5))


def test_reduced_model_when_the_board_stays_central() -> None:
    """Views in the image centre only: k3 and tangential terms fixed at exactly zero."""
    camera = replace(_camera(), distortion=np.array([-0.1, 0.02, 0.0, 0.0, 0.0]))
    rng = np.random.default_rng(2)
    poses = [
        board_pose_looking_at(
            camera,
            BOARD,
            4.0,
            pixel=(640 + rng.uniform(-80, 80), 360 + rng.uniform(-50, 50)),
            tilt_deg=(rng.uniform(-40, 40), rng.uniform(-40, 40)),
        )
        for _ in range(15)
    ]
    central = project_views(CameraRig((camera,)), BOARD, poses, noise_px=0.1, seed=2)
    assert len(central) == 15
    assert image_coverage(central, camera.size) < 0.6
    result = calibrate_intrinsics(camera.name, central, BOARD, camera.size)
    assert result.success, result.message
    assert result.model.startswith("k1, k2 only (corners cover")
    assert np.all(result.distortion[2:] == 0.0)


def test_misplaced_corner_is_dropped() -> None:
    """One corner moved 8 px (a misdetection seen on rendered images) does not bias f.

    Without trimming it pulls the fit by ~0.1 %; with it, f matches the clean fit to 0.01 %.
    """
    camera = _camera()
    views = _views(camera, fill=0.45, seed=3)
    clean = calibrate_intrinsics(camera.name, views, BOARD, camera.size)
    bad = views[5]
    moved = bad.corners.copy()
    moved[3] += [8.0, -3.0]
    views[5] = replace(bad, corners=moved)
    result = calibrate_intrinsics(camera.name, views, BOARD, camera.size)
    assert abs(result.matrix[0, 0] / clean.matrix[0, 0] - 1) < 1e-4
