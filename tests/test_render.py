"""Rendered board images against the camera model: corner positions, curved edges, noise."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from calibration.boards import CharucoBoard, Checkerboard
from calibration.camera import Camera
from datasets.render import (
    as_pose_matrix,
    board_pose_looking_at,
    lens_rays,
    render_board,
    sample_offsets,
    true_corners,
)

CHARUCO = CharucoBoard(9, 6, 0.04, 0.02, "DICT_4X4_50")
CHECKER = Checkerboard(9, 6, 0.04)
SUBPIX = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-8)


def make_camera(name: str = "cam", distortion: tuple = (0, 0, 0, 0, 0), **changes) -> Camera:
    """A 800x600 camera at a random-looking pose; zero distortion unless given."""
    fields = {
        "name": name,
        "size": (800, 600),
        "matrix": np.array([[640.0, 0.0, 401.3], [0.0, 641.0, 298.6], [0.0, 0.0, 1.0]]),
        "distortion": np.array(distortion, dtype=float),
        "rotation": np.array([0.3, -0.2, 0.1]),
        "translation": np.array([0.2, -0.1, 1.5]),
    }
    fields.update(changes)
    return Camera(**fields)


@pytest.mark.parametrize("board", [CHECKER, CHARUCO], ids=["checkerboard", "charuco"])
def test_fronto_parallel_corners_are_where_the_camera_projects_them(board):
    camera = make_camera()
    rng = np.random.default_rng(1)
    errors = []
    for view in range(4):
        # random sub-pixel placement and roll: pixel-locking of cornerSubPix averages out
        pixel = (400 + rng.uniform(-20, 20), 300 + rng.uniform(-20, 20))
        pose = board_pose_looking_at(camera, board, 0.6, pixel=pixel, roll_deg=rng.uniform(-8, 8))
        # 0.0123 m is 39.36 texture px: a margin must not shift the squares
        image = render_board(camera, board, pose, margin_m=0.0123, blur_sigma_px=1.0, seed=view)
        truth = true_corners(camera, board, pose)
        start = (truth + np.array([0.6, -0.4])).astype(np.float32).reshape(-1, 1, 2)
        half = 8 if board is CHECKER else 3  # ChArUco: stay inside the 0.01 m gap (~10 px)
        found = cv2.cornerSubPix(image, start, (half, half), (-1, -1), SUBPIX).reshape(-1, 2)
        errors.append(found - truth)
    err = np.vstack(errors)
    # 0.02 px: a texture or pixel-centre convention error is >= 1/128 square (0.33 px here)
    # or 0.5 px; measured |mean| <= 0.004 px.
    np.testing.assert_array_less(np.abs(err.mean(axis=0)), 0.02)
    # 0.06 px RMS: cornerSubPix's pixel-locking on 1 px blurred edges (measured 0.02-0.03).
    assert np.sqrt(np.mean(err**2)) < 0.06


def mid_level_crossing(image: np.ndarray, point: np.ndarray, normal: np.ndarray) -> float:
    """Signed distance (px) along ``normal`` from ``point`` to the nearest mid-grey crossing."""
    steps = np.arange(-3.0, 3.0001, 0.02)
    where = (point + steps[:, None] * normal).astype(np.float32)
    profile = cv2.remap(
        image.astype(np.float32), where[:, 0].copy(), where[:, 1].copy(), cv2.INTER_LINEAR
    ).ravel()
    dark, light = np.min(profile), np.max(profile)
    level = profile - (dark + light) / 2
    crossings = np.flatnonzero(np.sign(level[:-1]) != np.sign(level[1:]))
    assert len(crossings) > 0, f"no edge near {point}"
    i = crossings[np.argmin(np.abs(steps[crossings]))]
    return steps[i] + 0.02 * level[i] / (level[i] - level[i + 1])


def test_distorted_lens_curves_straight_edges_as_camera_project_says():
    camera = make_camera("cam_barrel", distortion=(-0.3, 0.08, 0.0, 0.0, 0.0))
    pose = board_pose_looking_at(camera, CHECKER, 0.45, pixel=(560.0, 400.0), roll_deg=4.0)
    image = render_board(camera, CHECKER, pose, margin_m=0.02, blur_sigma_px=1.0)
    square = CHECKER.square_size_m
    # points on the vertical square edges x = 2..6 squares, away from the corners
    ys = (np.arange(-1, 6)[:, None] + np.array([0.3, 0.5, 0.7])).ravel() * square
    board_points = np.array([[x * square, y, 0.0] for x in range(2, 7) for y in ys])
    pose = as_pose_matrix(pose)

    def project(points: np.ndarray) -> np.ndarray:
        return camera.project(points @ pose[:3, :3].T + pose[:3, 3])

    pixels = project(board_points)
    tangent = project(board_points + np.array([0.0, 1e-4, 0.0])) - pixels
    normal = np.column_stack([tangent[:, 1], -tangent[:, 0]])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    offsets = np.array(
        [mid_level_crossing(image, p, n) for p, n in zip(pixels, normal, strict=True)]
    )
    # 0.1 px: the edge is where the lens model puts it; reading a mid-grey crossing off a
    # bilinearly interpolated 1 px-blurred edge errs by up to 0.05 px (measured max 0.043,
    # RMS 0.021); ignoring the lens would be px off (next assertion).
    assert np.abs(offsets).max() < 0.1
    assert abs(offsets.mean()) < 0.01, "no systematic shift across the edge"
    # ...and those edges really are curved: the middle of each edge is several px off the
    # chord between its ends (a homography would keep it straight)
    per_edge = pixels.reshape(5, -1, 2)
    chord = per_edge[:, -1] - per_edge[:, 0]
    middle = per_edge[:, per_edge.shape[1] // 2] - per_edge[:, 0]
    sagitta = np.abs(np.cross(chord, middle)) / np.linalg.norm(chord, axis=1)
    assert sagitta.max() > 3.0


def test_render_is_reproducible_with_the_seed():
    camera = make_camera()
    pose = board_pose_looking_at(camera, CHARUCO, 0.7, tilt_deg=(30.0, -10.0))
    kwargs = {"blur_sigma_px": 0.7, "noise_sigma": 4.0}
    first = render_board(camera, CHARUCO, pose, seed=3, **kwargs)
    again = render_board(camera, CHARUCO, pose, seed=3, **kwargs)
    other = render_board(camera, CHARUCO, pose, seed=4, **kwargs)
    np.testing.assert_array_equal(first, again)
    assert np.any(first != other)
    background = first[:40, :40].astype(float)  # the board does not reach the corner
    # 10 %: the standard deviation of 1600 Gaussian samples is known to ~2 %.
    assert abs(background.std() - 4.0) < 0.4
    assert abs(background.mean() - 128.0) < 0.5


def test_rays_that_miss_the_board_see_the_background():
    camera = make_camera()
    behind = as_pose_matrix(board_pose_looking_at(camera, CHARUCO, 0.7))
    flip = np.eye(4)
    flip[:3, 3] = -2 * 0.7 * (camera.rotation_matrix.T @ [0.0, 0.0, 1.0])  # mirrored behind
    image = render_board(camera, CHARUCO, flip @ behind, background=77)
    assert np.all(image == 77)
    aside = board_pose_looking_at(camera, CHARUCO, 0.7, tilt_deg=(0.0, 89.99))
    edge_on = render_board(camera, CHARUCO, aside, background=77)
    assert np.mean(edge_on == 77) > 0.99, "a board seen edge-on covers almost nothing"


@pytest.mark.parametrize(
    "changes",
    [
        {"distortion": np.array([-0.3, 0.08, 1e-3, -1e-3, 0.0])},
        {  # folds back inside the image: its corners are pixels no ray reaches
            "distortion": np.array([-0.45, 0.0, 0.0, 0.0, 0.0]),
            "size": (400, 300),
            "matrix": np.array([[320.0, 0, 200], [0, 320, 150], [0, 0, 1]]),
        },
        {
            "distortion": np.array([0.05, -0.01, 0.002, -0.0005]),
            "fisheye": True,
            "matrix": np.array([[250.0, 0, 400], [0, 250, 300], [0, 0, 1]]),
        },
    ],
    ids=["barrel", "folding", "fisheye"],
)
def test_lens_rays_reproject_onto_their_samples(changes):
    camera = make_camera("cam_rays", **changes)
    rays = lens_rays(camera, 4)
    rng = np.random.default_rng(0)
    rows = rng.integers(0, rays.x.shape[0], 20000)
    cols = rng.integers(0, rays.x.shape[1], 20000)
    offsets = sample_offsets(4)
    pixels = np.column_stack([cols // 4 + offsets[cols % 4], rows // 4 + offsets[rows % 4]])
    exact = camera.normalized_points(pixels)
    got = np.column_stack([rays.x[rows, cols], rays.y[rows, cols]]).astype(float)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(exact))  # NaN: no ray, background
    ok = ~np.isnan(exact[:, 0])
    assert ok.mean() > 0.8
    world = np.column_stack([got[ok], np.ones(ok.sum())]) - camera.translation
    back = camera.project(world @ camera.rotation_matrix)
    # 2e-3 px: the spline is checked to 1e-3 px at cell centres; rays are stored as float32.
    assert np.abs(back - pixels[ok]).max() < 2e-3


def test_board_pose_looking_at_puts_the_centre_on_the_pixel():
    camera = make_camera(distortion=(-0.2, 0.05, 0.0, 0.0, 0.0))
    pose = board_pose_looking_at(camera, CHARUCO, 0.9, pixel=(100.0, 500.0), tilt_deg=(20, 30))
    centre = np.array([[0.18, 0.12, 0.0]])  # 9 x 6 squares of 4 cm
    world = centre @ pose[:3, :3].T + pose[:3, 3]
    # 1e-6 px / m: exact geometry, float64 rounding only.
    np.testing.assert_allclose(camera.project(world), [[100.0, 500.0]], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(world - camera.center), 0.9, atol=1e-9)


def test_bad_inputs_are_refused_with_the_camera_name():
    camera = make_camera("cam_bad")
    pose = board_pose_looking_at(camera, CHARUCO, 0.7)
    with pytest.raises(ValueError, match=r"cam_bad.*whole number"):
        render_board(camera, CHARUCO, pose, texture_px_per_m=1234.5)
    with pytest.raises(ValueError, match="board_to_world"):
        render_board(camera, CHARUCO, np.eye(3))
    other = lens_rays(make_camera("other", size=(400, 300)), 2)
    with pytest.raises(ValueError, match=r"cam_bad.*rays of camera 'other'"):
        render_board(camera, CHARUCO, pose, rays=other)
    with pytest.raises(ValueError, match=r"cam_bad.*distance_m"):
        board_pose_looking_at(camera, CHARUCO, -1.0)
