"""Robust batched triangulation: exact on exact views, deaf to a wrong camera, wary of bad pairs."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.camera import Camera, CameraRig
from datasets.synthetic import look_at, make_scene, ring_rig
from mocap.triangulation import PointStatus, triangulate

ROBUST = {"max_error_px": 15.0, "min_ray_angle_deg": 30.0}
"""The robust settings of ``ReconstructionSettings``' defaults."""


def _views(rig: CameraRig, points: np.ndarray, sigma: float = 0.0, seed: int = 0) -> np.ndarray:
    """(C, T, J, 3) float64 views of (T, J, 3) points: exact projections (+ noise), confidence 1."""
    rng = np.random.default_rng(seed)
    pixels = rig.project(points.reshape(-1, 3)).reshape(len(rig), *points.shape[:2], 2)
    pixels = pixels + rng.normal(0.0, sigma, pixels.shape)
    return np.concatenate([pixels, np.ones((*pixels.shape[:3], 1))], axis=-1)


def _scene_points(n_frames: int = 60) -> tuple[CameraRig, np.ndarray]:
    """The demo rig (4 cameras with lens distortion) and a moving body's (T, 37, 3) points."""
    scene = make_scene(("good_hinge",), n_cameras=4, seed=3)
    return scene.rig, scene.points3d[::5][:n_frames]


def _camera(name: str, center: tuple[float, float, float], target: np.ndarray) -> Camera:
    """A distortion-free 1920x1080 camera at ``center`` looking at ``target``."""
    rotation = look_at(np.asarray(center, dtype=float), target)
    matrix = [[1400.0, 0.0, 960.0], [0.0, 1400.0, 540.0], [0.0, 0.0, 1.0]]
    return Camera.from_rotation_matrix(
        rotation,
        name=name,
        size=(1920, 1080),
        matrix=matrix,
        distortion=np.zeros(5),
        translation=-rotation @ np.asarray(center, dtype=float),
    )


def test_exact_views_give_exact_points() -> None:
    """Exact projections through distorting lenses triangulate to within 1e-9 m.

    1e-9 m: undistortion iterates to 1e-10 px and the 3x3 solve is float64 on a
    well-conditioned system; any modelling slip (a wrong row, a missed lens term) would be
    millimetres. Every view is used, and the reported error is re-projection noise only.
    """
    rig, points = _scene_points()
    result = triangulate(rig, _views(rig, points), **ROBUST)
    t, j = points.shape[:2]
    assert result.points3d.shape == (t, j, 3)
    assert result.reprojection_error.shape == result.n_views.shape == (t, j)
    assert result.used.shape == (4, t, j)
    assert result.n_views.dtype == np.uint8
    assert np.abs(result.points3d - points).max() < 1e-9
    assert np.nanmax(result.reprojection_error) < 1e-6  # px: float64 round trips
    assert (result.n_views == 4).all()
    assert (result.status == PointStatus.RECONSTRUCTED).all()
    assert result.counts()["views_dropped"] == 0


def test_reprojection_error_and_views_count_what_was_used() -> None:
    """Dropped and low-confidence views are not used; the error is their mean image distance.

    The recomputed mean distance matches to 1e-9 px (the same float64 arithmetic), and
    a point with one usable view is refused as too few.
    """
    rig, points = _scene_points(30)
    views = _views(rig, points, sigma=1.0, seed=1)
    rng = np.random.default_rng(2)
    views[..., 2] = rng.uniform(0.0, 1.0, views.shape[:3])  # ~30 % below 0.3
    views[1, ::3, :, :2] = np.nan  # camera 2 misses every third frame
    result = triangulate(rig, views, min_confidence=0.3)
    usable = (views[..., 2] >= 0.3) & np.isfinite(views[..., 0])
    solved = usable.sum(axis=0) >= 2
    np.testing.assert_array_equal(result.used, usable & solved)
    np.testing.assert_array_equal(result.n_views, np.where(solved, usable.sum(axis=0), 0))
    assert (result.status[~solved] == PointStatus.TOO_FEW_VIEWS).all()
    assert np.isnan(result.points3d[~solved]).all()
    projected = rig.project(result.points3d.reshape(-1, 3)).reshape((*views.shape[:3], 2))
    distance = np.linalg.norm(projected - views[..., :2], axis=-1)
    expected = np.where(result.used, distance, 0).sum(axis=0) / np.maximum(result.n_views, 1)
    np.testing.assert_allclose(result.reprojection_error[solved], expected[solved], atol=1e-9)
    assert np.isnan(result.reprojection_error[~solved]).all()


@pytest.mark.parametrize("search", ["subsets", "leave_one_out"])
def test_a_confident_wrong_camera_is_left_out(search: str) -> None:
    """One camera sees a bystander 0.6 m away with full confidence: it is dropped everywhere.

    With 1 px noise the robust points equal the triangulation of the three good cameras
    alone to 1e-9 m (the same views, the same arithmetic), and the view of the bystander
    is never used. Plain DLT with all four views is pulled by centimetres to decimetres:
    the test would notice an outlier that got through.
    """
    rig, points = _scene_points()
    views = _views(rig, points, sigma=1.0, seed=4)
    bystander = _views(rig, points + np.array([0.6, 0.0, 0.0]), sigma=1.0, seed=5)
    views[2] = bystander[2]  # camera 3 detected the wrong person, confidence 1
    subsets = 6 if search == "subsets" else 0
    robust = triangulate(rig, views, **ROBUST, max_subset_cameras=subsets)
    good = views.copy()
    good[2, ..., :2] = np.nan
    three = triangulate(rig, good)
    plain = triangulate(rig, views)
    assert not robust.used[2].any()
    assert (robust.n_views == 3).all()
    assert robust.counts()["views_dropped"] == points.shape[0] * points.shape[1]
    assert np.abs(robust.points3d - three.points3d).max() < 1e-9
    assert np.linalg.norm(three.points3d - points, axis=-1).max() < 0.010  # ~1 px at 3.5 m
    assert np.linalg.norm(plain.points3d - points, axis=-1).mean() > 0.05


def test_opposite_cameras_alone_are_refused() -> None:
    """Two nearly opposite cameras cannot fix depth: their points are refused, not guessed.

    Cameras 7 m apart facing each other (rays 153-180 degrees apart) with 1.5 px noise:
    plain DLT's error is 82 mm at the 95th percentile and 2.2 m at worst (measured), so
    the robust solver refuses every such point as ill conditioned. Adding a third camera
    at 90 degrees makes every point well conditioned again: within 15 mm (1.5 px is
    ~4 mm per view at 3.5 m; 15 mm is > 3 sigma of the worst axis).
    """
    target = np.array([0.0, 0.0, 1.0])
    cams = [
        _camera("front", (3.5, 0.0, 1.2), target),
        _camera("back", (-3.5, 0.0, 1.0), target),
        _camera("side", (0.0, 3.5, 1.4), target),
    ]
    rng = np.random.default_rng(6)
    points = rng.uniform([-0.3, -0.3, 0.3], [0.3, 0.3, 1.7], (200, 5, 3))
    pair = CameraRig(tuple(cams[:2]))
    views = _views(pair, points, sigma=1.5, seed=7)
    plain = triangulate(pair, views)
    plain_error = np.linalg.norm(plain.points3d - points, axis=-1)
    assert np.percentile(plain_error, 95) > 0.05
    assert plain_error.max() > 1.0
    robust = triangulate(pair, views, **ROBUST)
    assert (robust.status == PointStatus.ILL_CONDITIONED).all()
    assert np.isnan(robust.points3d).all()
    assert (robust.n_views == 0).all()
    assert robust.counts()["ill_conditioned"] == points.shape[0] * points.shape[1]
    rig = CameraRig(tuple(cams))
    three = triangulate(rig, _views(rig, points, sigma=1.5, seed=7), **ROBUST)
    assert (three.n_views == 3).all()
    assert np.linalg.norm(three.points3d - points, axis=-1).max() < 0.015


def test_perpendicular_pair_is_accepted() -> None:
    """Two views 90 degrees apart are well conditioned: solved within 15 mm (as above)."""
    target = np.array([0.0, 0.0, 1.0])
    rig = CameraRig((_camera("a", (3.5, 0.0, 1.2), target), _camera("b", (0.0, 3.5, 1.2), target)))
    rng = np.random.default_rng(8)
    points = rng.uniform([-0.4, -0.4, 0.3], [0.4, 0.4, 1.7], (100, 5, 3))
    result = triangulate(rig, _views(rig, points, sigma=1.5, seed=9), **ROBUST)
    assert (result.status == PointStatus.RECONSTRUCTED).all()
    assert np.linalg.norm(result.points3d - points, axis=-1).max() < 0.015


def test_two_agreeing_pairs_are_ambiguous() -> None:
    """Two pairs that each agree, but not all three views: the point is refused as a guess.

    Camera C sees a point 0.3 m further along camera A's ray: the pair (A, C) and the
    pair (A, B) each fit exactly (to noise), the three together do not.
    """
    rig = ring_rig(3, seed=1)
    rng = np.random.default_rng(10)
    points = rng.uniform([-0.3, -0.3, 0.5], [0.3, 0.3, 1.5], (50, 4, 3))
    views = _views(rig, points)
    ray = points - rig[0].center
    moved = points + 0.3 * ray / np.linalg.norm(ray, axis=-1, keepdims=True)
    views[2] = _views(rig, moved)[2]
    result = triangulate(rig, views, **ROBUST)
    assert (result.status == PointStatus.INCONSISTENT).all()
    assert np.isnan(result.points3d).all()


def test_bad_input_is_refused() -> None:
    """Shapes and options are checked at the boundary, naming what is wrong."""
    rig, points = _scene_points(5)
    views = _views(rig, points)
    with pytest.raises(ValueError, match=r"\(C, T, J, 3\)"):
        triangulate(rig, views[..., :2])
    with pytest.raises(ValueError, match="3 cameras but the calibration has 4"):
        triangulate(rig, views[:3])
    with pytest.raises(ValueError, match="min_views"):
        triangulate(rig, views, min_views=1)
    with pytest.raises(ValueError, match="max_error_px"):
        triangulate(rig, views, max_error_px=0.0)
    with pytest.raises(ValueError, match="min_ray_angle_deg"):
        triangulate(rig, views, min_ray_angle_deg=95.0)
