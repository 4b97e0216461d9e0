"""Multi-camera extrinsics on synthetic board views with exact ground truth.

Work in progress for issue 3: intrinsics are held at the truth here; estimating them from
distant board views alone is not yet accurate (see the issue notes).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from calibration.boards import CharucoBoard
from calibration.calibrate import calibrate_rig
from calibration.camera import CameraRig
from calibration.extrinsics import CalibrationError
from datasets.synthetic.board_recording import intrinsic_poses
from datasets.synthetic.board_views import project_views, waving_poses
from datasets.synthetic.compare import align_centres, rig_errors
from datasets.synthetic.rigs import ring_rig


def lab_board() -> CharucoBoard:
    """The default A1 board's shape: 5 x 7 squares of 110 mm (24 inner corners)."""
    return CharucoBoard(5, 7, 0.11, 0.08, "DICT_5X5_100")


@pytest.fixture(scope="module")
def scene() -> tuple:
    board = lab_board()
    rig = ring_rig(4, seed=1)
    views = project_views(rig, board, waving_poses(board, 120, seed=2), noise_px=0.3, seed=3)
    result = calibrate_rig(
        views, board, {c.name: c.size for c in rig}, fixed_intrinsics={c.name: c for c in rig}
    )
    return rig, result


def test_camera_poses_match_the_truth(scene: tuple) -> None:
    """Camera centres within 10 mm and orientations within 0.2 degrees after alignment.

    0.3 px noise on ~1,300 corners per camera at 3.5 m (f = 1400 px: 0.75 mm per px)
    constrains each pose to a few mm; 10 mm is twice the worst seen (the issue's 5 mm
    target is for a denser board session and is not met yet).
    """
    truth, result = scene
    errors = rig_errors(result.rig, truth)
    assert np.all(errors.centre_m < 0.010), errors.centre_m
    assert np.all(errors.rotation_deg < 0.2), errors.rotation_deg


def test_world_frame_is_the_floor_board(scene: tuple) -> None:
    """Frame 0's board lies on the floor at the origin: world frames agree within 2 cm.

    The floor board is seen at grazing angles (~70 degrees), so its pose is the weakest
    part of the solution; 2 cm at 3.5 m is 0.3 degree.
    """
    truth, result = scene
    assert result.origin_frame == 0
    for est, tru in zip(result.rig, truth, strict=True):
        assert np.linalg.norm(est.center - tru.center) < 0.02, est.name


def test_board_size_check_measures_the_squares(scene: tuple) -> None:
    """Neighbour distances of triangulated corners within 1.5 mm RMS of 110 mm.

    Two views with 0.3 px noise at 3-4 m give ~1 mm per distance. The re-projection
    residual of a corner triangulated from V views is below the injected noise's
    sqrt(2) x 0.3 = 0.42 px (the fit absorbs part of it) and far above zero.
    """
    _, result = scene
    assert result.quality.n_pairs > 1000
    assert result.quality.rms_mm < 1.5
    for name, rms in result.quality.reprojection_rms_px.items():
        assert 0.15 < rms < 0.45, name


def test_unconnected_camera_is_named() -> None:
    board = lab_board()
    rig = ring_rig(3, seed=0)
    views = project_views(rig, board, waving_poses(board, 40, seed=1), noise_px=0.3, seed=2)
    lonely = [v for v in views if v.camera == "cam_3"]
    others = [v for v in views if v.camera != "cam_3"]
    shifted = [replace(v, frame=v.frame + 1000) for v in lonely]
    with pytest.raises(CalibrationError, match=r"camera cam_3 shares no board views"):
        calibrate_rig(
            others + shifted,
            board,
            {c.name: c.size for c in rig},
            fixed_intrinsics={c.name: c for c in rig},
        )


def test_fisheye_rig() -> None:
    """Fisheye lenses: f within 0.5 %, centres within 10 mm, orientations within 0.2 deg.

    Same board session as above with wide fisheye lenses (k1..k4 of a ~150 degree lens)
    and 0.3 px noise; intrinsics from 20 close views per camera. The bounds are the
    pinhole test's: the fisheye model has fewer terms, not less information.
    """
    board = lab_board()
    pinholes = ring_rig(4, seed=1)
    rig = CameraRig(
        tuple(
            replace(
                cam,
                matrix=np.diag([650.0, 650.0, 1.0])
                + np.array([[0, 0, 960], [0, 0, 540], [0, 0, 0]]),
                distortion=np.array([0.05, -0.01, 0.003, -0.001]),
                fisheye=True,
            )
            for cam in pinholes
        )
    )
    views = project_views(rig, board, waving_poses(board, 120, seed=2), noise_px=0.3, seed=3)
    close = []
    for i, cam in enumerate(rig):
        poses = intrinsic_poses(cam, board, 20, seed=i)
        close += project_views(CameraRig((cam,)), board, poses, noise_px=0.3, seed=10 + i)
    result = calibrate_rig(
        views, board, {c.name: c.size for c in rig}, intrinsic_views=close, fisheye=True
    )
    assert all(cam.fisheye for cam in result.rig)
    errors = rig_errors(result.rig, rig)
    assert np.all(errors.focal < 0.005), errors.focal
    assert np.all(errors.centre_m < 0.010), errors.centre_m
    assert np.all(errors.rotation_deg < 0.2), errors.rotation_deg


def test_alignment_recovers_a_known_similarity() -> None:
    """A rotated, scaled (x 0.054: a unit of squares) and moved copy aligns to 1e-9 m."""
    truth = np.random.default_rng(0).uniform(-3, 3, (5, 3))
    angle = 0.7
    rotation = np.array(
        [[np.cos(angle), -np.sin(angle), 0.0], [np.sin(angle), np.cos(angle), 0.0], [0, 0, 1]]
    )
    moved = (truth @ rotation.T) / 0.054 + [1.0, 2.0, 3.0]
    scale, r, t = align_centres(moved, truth, with_scale=True)
    assert abs(scale - 0.054) < 1e-12
    assert np.allclose(scale * moved @ r.T + t, truth, atol=1e-9)


def test_too_few_views_names_the_camera() -> None:
    """A camera with 3 board views cannot get intrinsics: the error names it and the count."""
    board = lab_board()
    rig = ring_rig(3, seed=0)
    views = project_views(rig, board, waving_poses(board, 60, seed=1), noise_px=0.3, seed=2)
    few = [v for v in views if v.camera == "cam_2"][:3]
    views = [v for v in views if v.camera != "cam_2"] + few
    with pytest.raises(CalibrationError, match=r"cam_2 saw the board .* in only 3 frames"):
        calibrate_rig(views, board, {c.name: c.size for c in rig})
