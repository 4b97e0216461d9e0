"""Robust batched triangulation: exact on exact views, deaf to a wrong camera, wary of bad pairs."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.camera import Camera, CameraRig
from datasets.synthetic import look_at, make_scene, ring_rig
from mocap import triangulation
from mocap._triangulation_linear import conditioned, product
from mocap.triangulation import PointStatus, triangulate

ROBUST = {"max_error_px": 15.0, "min_ray_angle_deg": 30.0}
"""The robust settings of ``ReconstructionSettings``' defaults."""


@pytest.fixture(autouse=True, params=["kernel", "numpy"])
def implementation(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs on the compiled kernel (if numba is there) and on the numpy path."""
    kernel = request.param == "kernel"
    if kernel and not triangulation.USE_KERNEL:
        pytest.skip("numba is not installed")
    monkeypatch.setattr(triangulation, "USE_KERNEL", kernel)
    return request.param


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


def test_a_doubtful_view_loses_a_tie_between_triples() -> None:
    """Contradicting agreeing triples: the lower error wins, unless its odd view is doubtful.

    Camera 3 sees the joint 12 px low, camera 4 22 px high: (1, 2, 3) and (1, 2, 4) both
    agree within 15 px, the four views do not. All confident: (1, 2, 3) wins (lower error),
    within 15 mm of the truth (its 12 px shared by three views, ~1 mm/px at 4 m). Camera 3 at
    confidence 0.35 (an occluded joint): ranked by error over least confidence, (1, 2, 4)
    wins, within 30 mm (camera 4's 22 px).
    """
    rig = ring_rig(4, seed=2)
    rng = np.random.default_rng(11)
    points = rng.uniform([-0.3, -0.3, 0.5], [0.3, 0.3, 1.5], (40, 1, 3))
    views = _views(rig, points)
    views[2, ..., 1] += 12.0
    views[3, ..., 1] -= 22.0
    for confidence, left_out, tolerance in ((1.0, 3, 0.015), (0.35, 2, 0.030)):
        views[2, ..., 2] = confidence
        result = triangulate(rig, views, **ROBUST)
        assert (result.status == PointStatus.RECONSTRUCTED).all(), confidence
        assert not result.used[left_out].any(), confidence
        assert np.linalg.norm(result.points3d - points, axis=-1).max() < tolerance, confidence


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


def _wrong_views(rig: CameraRig, points: np.ndarray, seed: int) -> np.ndarray:
    """Noisy views (C, T, J, 3) with one wrong view per point, in a random camera.

    The wrong view sees a bystander 0.6 m away (confidence 1); another random view is
    missing for half of the points.
    """
    rng = np.random.default_rng(seed)
    views = _views(rig, points, sigma=0.5, seed=seed)
    bystander = _views(rig, points + np.array([0.6, 0.0, 0.0]), sigma=0.5, seed=seed + 1)
    n = len(rig)
    wrong = rng.integers(0, n, points.shape[:2])
    missing = (wrong + rng.integers(1, n, points.shape[:2])) % n
    for c in range(n):
        views[c][wrong == c] = bystander[c][wrong == c]
        views[c, ..., :2][(missing == c) & (rng.random(points.shape[:2]) < 0.5)] = np.nan
    return views


def test_results_do_not_depend_on_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Points are solved in chunks shared by threads: small chunks give the same result.

    Statuses and views are identical and points agree to 1e-12 m (BLAS may add up a
    chunk's columns in another order).
    """
    rig, points = _scene_points()
    views = _wrong_views(rig, points, seed=12)
    whole = triangulate(rig, views, **ROBUST)
    monkeypatch.setattr(triangulation, "CHUNK_POINTS", 97)
    split = triangulate(rig, views, **ROBUST)
    np.testing.assert_array_equal(split.status, whole.status)
    np.testing.assert_array_equal(split.used, whole.used)
    np.testing.assert_allclose(split.points3d, whole.points3d, rtol=0, atol=1e-12)
    np.testing.assert_allclose(split.reprojection_error, whole.reprojection_error, atol=1e-9)


def test_subset_search_and_leave_one_out_agree_on_one_wrong_view() -> None:
    """One wrong view per point, in any of 5 cameras: both searches drop the same views.

    Some points have 4 views, so the subset search meets every pattern of usable cameras.
    The searches keep the same views, with points within 1e-9 m (the same arithmetic on
    the same views); every wrong view more than 45 px off is dropped (nearer ones can agree:
    up to 23 px here), and the points equal the fast path's (all usable views) once the
    dropped views are removed.
    """
    rig = ring_rig(5, seed=2)
    rng = np.random.default_rng(13)
    points = rng.uniform([-0.4, -0.4, 0.3], [0.4, 0.4, 1.7], (80, 5, 3))
    views = _wrong_views(rig, points, seed=14)
    subsets = triangulate(rig, views, **ROBUST)
    drops = triangulate(rig, views, **ROBUST, max_subset_cameras=0)
    assert (subsets.status == PointStatus.RECONSTRUCTED).all()
    np.testing.assert_array_equal(subsets.used, drops.used)
    np.testing.assert_allclose(subsets.points3d, drops.points3d, rtol=0, atol=1e-9)
    exact = _views(rig, points)
    off = np.linalg.norm(views[..., :2] - exact[..., :2], axis=-1) > 45.0
    assert not (subsets.used & off).any()
    good = views.copy()
    good[..., :2][~subsets.used] = np.nan
    fast = triangulate(rig, good, **ROBUST)
    np.testing.assert_allclose(subsets.points3d, fast.points3d, rtol=0, atol=1e-9)


def test_conditioning_needs_no_eigenvalues() -> None:
    """The ray conditioning test agrees with the smallest eigenvalue.

    Sylvester's criterion on ``(count - t) I - G`` against ``lambda_min(count I - G) >= t``
    for random sets of 2-6 unit rays: the same, except within 1e-9 of the threshold.
    """
    rng = np.random.default_rng(15)
    count = rng.integers(2, 7, 20000)
    rays = rng.normal(size=(20000, 6, 3))
    rays[:, :, 2] = np.abs(rays[:, :, 2]) * rng.uniform(0.05, 20.0, (20000, 1))  # some close
    rays /= np.linalg.norm(rays, axis=-1, keepdims=True)
    rays[np.arange(6) >= count[:, None]] = 0.0
    gram = np.einsum("nki,nkj->nij", rays, rays)
    rows, cols = np.triu_indices(3)
    threshold = 1.0 - np.cos(np.radians(30.0))
    smallest = count - np.linalg.eigvalsh(gram)[:, -1]
    fast = conditioned(gram[:, rows, cols].T, count, threshold)
    clear = np.abs(smallest - threshold) > 1e-9
    np.testing.assert_array_equal(fast[clear], smallest[clear] >= threshold)
    assert 0.2 < fast.mean() < 0.98  # both outcomes are tested


@pytest.mark.parametrize("n", [5, 600, 3000, 3013])
def test_blocked_product_is_the_matrix_product(n: int) -> None:
    """Products split into column blocks (to keep BLAS in this thread) equal ``@``."""
    rng = np.random.default_rng(n)
    a, b = rng.normal(size=(36, 16)), rng.normal(size=(16, n))
    np.testing.assert_allclose(product(a, b), a @ b, rtol=1e-12, atol=1e-12)
