"""The compiled triangulation kernel gives the numpy reference path's results, on varied data.

Every test triangulates the same views twice, with ``mocap.triangulation.USE_KERNEL`` off
(the numpy reference) and on, and requires the same status, views used and usable views
for every point, points within 1e-9 m and errors within 1e-6 px (or 1e-8 of them). Those
tolerances: the two do the same arithmetic but add some sums in another order (BLAS's in
numpy, camera order in the kernel), ~1e-12 m and ~1e-10 px apart here; a modelling slip
would be millimetres.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from calibration.camera import Camera, CameraRig
from datasets.synthetic import ObservationNoise, look_at, make_scene, observe, ring_rig
from mocap import _triangulation_kernel, _triangulation_subsets, triangulation
from mocap.triangulation import PointStatus, Triangulation, triangulate

ROBUST = {"max_error_px": 15.0, "min_ray_angle_deg": 30.0}
"""The robust settings of ``ReconstructionSettings``' defaults."""

NOISE = ObservationNoise(pixel_sigma=1.5, dropout=0.1, outliers=0.1, confidence=(0.15, 1.0))
"""Noise, missed views, confident outliers 30-300 px off, and ~1/5 of the views below 0.3."""


def _both(
    rig: CameraRig,
    views: np.ndarray,
    monkeypatch: pytest.MonkeyPatch,
    min_confidence: float = 0.3,
    **options: object,
) -> Triangulation:
    """Triangulate with the numpy path and the kernel; assert they agree; the kernel's result."""
    monkeypatch.setattr(triangulation, "USE_KERNEL", False)
    reference = triangulate(rig, views, min_confidence, **options)
    monkeypatch.setattr(triangulation, "USE_KERNEL", True)
    compiled = triangulate(rig, views, min_confidence, **options)
    np.testing.assert_array_equal(compiled.status, reference.status)
    np.testing.assert_array_equal(compiled.used, reference.used)
    np.testing.assert_array_equal(compiled.n_usable, reference.n_usable)
    np.testing.assert_allclose(compiled.points3d, reference.points3d, rtol=0, atol=1e-9)
    # rtol: plain DLT can put a point next to a camera's plane, ~1e11 px off, which magnifies
    # 1e-12 m of rounding to 1e-9 of the error
    np.testing.assert_allclose(
        compiled.reprojection_error, reference.reprojection_error, rtol=1e-8, atol=1e-6
    )
    return compiled


def _body_views(
    n_cameras: int, n_frames: int, seed: int, dtype: type = np.float32
) -> tuple[CameraRig, np.ndarray]:
    """A ring of C distorting cameras and the detector's (C, T, 37, 3) views of a body."""
    scene = make_scene(("good_hinge", "squat_hinge"), n_cameras=n_cameras, seed=seed)
    frames = np.linspace(0, len(scene.points3d) - 1, n_frames).astype(int)
    views = observe(scene.rig, scene.points3d[frames], NOISE, seed=seed)
    return scene.rig, views.astype(dtype)


def _statuses(result: Triangulation) -> set[int]:
    """The statuses that occur."""
    return set(np.unique(result.status).tolist())


@pytest.mark.parametrize(
    ("n_cameras", "subsets", "n_frames", "dtype"),
    [
        (3, 6, 60, np.float64),  # subset search, exact undistortion (fewer than 4096 points)
        (4, 6, 120, np.float32),  # the demo's rig; grid undistortion, float32 views
        (6, 6, 40, np.float64),  # the largest rig that tries every subset
        (6, 0, 40, np.float32),  # the same with the leave-one-out
        (8, 6, 40, np.float64),  # a larger rig: leave-one-out
        (8, 8, 20, np.float32),  # every subset of 8 views
    ],
)
def test_rigs_with_outliers_dropouts_and_doubtful_views(
    n_cameras: int, subsets: int, n_frames: int, dtype: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    """3 to 8 cameras, each view possibly missed, doubtful or a confident outlier.

    Robust, plain (every usable view, no checks) and stricter settings; views are dropped
    and points refused with the robust ones.
    """
    rig, views = _body_views(n_cameras, n_frames, seed=n_cameras + subsets, dtype=dtype)
    robust = _both(rig, views, monkeypatch, **ROBUST, max_subset_cameras=subsets)
    assert {PointStatus.RECONSTRUCTED, PointStatus.INCONSISTENT} <= _statuses(robust)
    assert robust.counts()["views_dropped"] > 0
    _both(rig, views, monkeypatch, max_subset_cameras=subsets)
    strict = {"max_error_px": 6.0, "min_views": 3, "min_ray_angle_deg": 45.0}
    _both(rig, views, monkeypatch, **strict, max_subset_cameras=subsets)


def test_benchmark_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """The benchmark's data (``benchmarks/triangulation.py``), 300 frames: all 4 statuses."""
    benchmark = pytest.importorskip("benchmarks.triangulation")
    rig, views, _ = benchmark.make_data(300)
    settings = benchmark.SETTINGS
    options = {
        "max_error_px": settings.max_error_px,
        "min_views": settings.min_views,
        "min_ray_angle_deg": settings.min_ray_angle_deg,
    }
    result = _both(rig, views, monkeypatch, settings.min_confidence, **options)
    assert _statuses(result) == set(PointStatus)


def _camera(name: str, center: tuple[float, float, float]) -> Camera:
    """A 1920x1080 camera with a distorting lens at ``center``, looking at (0, 0, 1)."""
    rotation = look_at(np.asarray(center, dtype=float), np.array([0.0, 0.0, 1.0]))
    return Camera.from_rotation_matrix(
        rotation,
        name=name,
        size=(1920, 1080),
        matrix=[[1400.0, 0.0, 960.0], [0.0, 1390.0, 540.0], [0.0, 0.0, 1.0]],
        distortion=[-0.2, 0.08, 0.001, -0.0005, -0.01],
        translation=-rotation @ np.asarray(center, dtype=float),
    )


def _exact_views(rig: CameraRig, points: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """(C, T, J, 3) float64 views of (T, J, 3) points, with noise; confidence 1."""
    rng = np.random.default_rng(seed)
    pixels = rig.project(points.reshape(-1, 3)).reshape(len(rig), *points.shape[:2], 2)
    pixels += rng.normal(0.0, sigma, pixels.shape)
    return np.concatenate([pixels, np.ones((*pixels.shape[:3], 1))], axis=-1)


@pytest.mark.parametrize("subsets", [0, 8])
def test_few_views_of_eight_cameras(subsets: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """3 or 4 usable views of a ring of 8 cameras, 30 % of them 20-200 px off.

    Nearly opposite pairs are among them: the leave-one-out meets consistent but
    ill-conditioned candidates that fit better than the accepted ones (for ~1 point in 20,
    measured), the search likewise.
    """
    rig = ring_rig(8, seed=5)
    rng = np.random.default_rng(50)
    points = rng.uniform([-0.4, -0.4, 0.3], [0.4, 0.4, 1.7], (400, 5, 3))
    views = _exact_views(rig, points, sigma=1.0, seed=51)
    order = np.argsort(rng.random((*points.shape[:2], 8)), axis=-1)
    keep = order < rng.integers(3, 5, points.shape[:2])[..., None]  # 3 or 4 random cameras
    views[..., :2][~np.moveaxis(keep, -1, 0)] = np.nan
    off = rng.random(views.shape[:3]) < 0.3
    angle = rng.uniform(0.0, 2.0 * np.pi, views.shape[:3])
    distance = np.where(off, rng.uniform(20.0, 200.0, views.shape[:3]), 0.0)
    views[..., 0] += distance * np.cos(angle)
    views[..., 1] += distance * np.sin(angle)
    views[..., 2] = rng.choice([0.4, 0.6, 0.9, 1.0], views.shape[:3])
    result = _both(rig, views, monkeypatch, **ROBUST, max_subset_cameras=subsets)
    assert _statuses(result) == {0, 2, 3}


def test_pairs_and_ill_conditioned_neighbours(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nearly opposite pairs are refused, alone or as the only agreeing subset.

    A rig of two opposite cameras and a third at 90 degrees whose view is often wrong: the
    search meets ill-conditioned pairs next to good ones; and the opposite pair alone.
    """
    rig = CameraRig(
        (
            _camera("front", (3.5, 0.0, 1.2)),
            _camera("back", (-3.5, 0.1, 1.0)),
            _camera("side", (0.0, 3.5, 1.4)),
        )
    )
    rng = np.random.default_rng(20)
    points = rng.uniform([-0.3, -0.3, 0.3], [0.3, 0.3, 1.7], (300, 5, 3))
    views = _exact_views(rig, points, sigma=1.5, seed=21)
    wrong = rng.random(points.shape[:2]) < 0.5
    views[2][wrong, :2] += rng.normal(0.0, 60.0, (int(wrong.sum()), 2))
    result = _both(rig, views, monkeypatch, **ROBUST)
    assert {PointStatus.RECONSTRUCTED, PointStatus.ILL_CONDITIONED} <= _statuses(result)
    pair = CameraRig(rig.cameras[:2])
    alone = _both(pair, views[:2], monkeypatch, **ROBUST)
    assert _statuses(alone) == {PointStatus.ILL_CONDITIONED}
    _both(pair, views[:2], monkeypatch)


def _strict_ratio(monkeypatch: pytest.MonkeyPatch) -> None:
    """AMBIGUITY_RATIO 0.5 for both paths, so that ties between 3+ views can be refused."""
    monkeypatch.setattr(triangulation, "AMBIGUITY_RATIO", 0.5)
    monkeypatch.setattr(_triangulation_subsets, "AMBIGUITY_RATIO", 0.5)


def _two_views_off(
    n_cameras: int, low: float, high: float, seed: int
) -> tuple[CameraRig, np.ndarray]:
    """A ring of C cameras whose last two views are ``low`` to ``high`` px off, any way.

    Confidences 0.35 to 1: every rule of ``_unambiguous`` decides some points (measured).
    """
    rig = ring_rig(n_cameras, seed=3)
    rng = np.random.default_rng(seed)
    points = rng.uniform([-0.3, -0.3, 0.5], [0.3, 0.3, 1.5], (300, 4, 3))
    views = _exact_views(rig, points, sigma=0.5, seed=seed + 1)
    for c in (n_cameras - 2, n_cameras - 1):
        angle = rng.uniform(0.0, 2.0 * np.pi, points.shape[:2])
        distance = rng.uniform(low, high, points.shape[:2])
        views[c, ..., 0] += distance * np.cos(angle)
        views[c, ..., 1] += distance * np.sin(angle)
    views[..., 2] = rng.choice([0.35, 0.5, 0.9, 1.0], views.shape[:3])
    return rig, views


@pytest.mark.parametrize(("n_cameras", "low", "high"), [(4, 10.0, 25.0), (5, 12.0, 30.0)])
def test_subsets_that_agree_with_each_other(
    n_cameras: int, low: float, high: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several subsets of one size agree, and each rule of the choice decides some points.

    The best subset is alone, says the same as the runner-up, is clearly better by the
    ranking-error ratio (0.5 here: the default 1.0 never refuses 3+ views), or is
    ambiguous (refused).
    """
    _strict_ratio(monkeypatch)
    rig, views = _two_views_off(n_cameras, low, high, seed=40)
    result = _both(rig, views, monkeypatch, **ROBUST)
    assert {PointStatus.RECONSTRUCTED, PointStatus.INCONSISTENT} <= _statuses(result)


def test_ambiguous_subsets_and_doubtful_views(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two agreeing pairs, ties between triples, a tie broken by a doubtful view.

    As ``tests/test_triangulation.py``'s ambiguity tests, with confidences varied so that
    the ratio rule (0.5 here) decides either way.
    """
    _strict_ratio(monkeypatch)
    rig = ring_rig(4, seed=2)
    rng = np.random.default_rng(22)
    points = rng.uniform([-0.3, -0.3, 0.5], [0.3, 0.3, 1.5], (200, 4, 3))
    views = _exact_views(rig, points, sigma=0.3, seed=23)
    views[2, ..., 1] += rng.uniform(8.0, 30.0, points.shape[:2])  # camera 3 low
    views[3, ..., 1] -= rng.uniform(8.0, 30.0, points.shape[:2])  # camera 4 high
    views[..., 2] = rng.choice([0.35, 0.5, 0.9, 1.0], views.shape[:3])
    result = _both(rig, views, monkeypatch, **ROBUST)
    assert {PointStatus.RECONSTRUCTED, PointStatus.INCONSISTENT} <= _statuses(result)
    three = CameraRig(rig.cameras[:3])
    ray = points - rig[0].center
    moved = points + 0.3 * ray / np.linalg.norm(ray, axis=-1, keepdims=True)
    pairs = _exact_views(three, points, sigma=0.3, seed=24)
    pairs[2] = _exact_views(three, moved, sigma=0.3, seed=25)[2]
    assert PointStatus.INCONSISTENT in _statuses(_both(three, pairs, monkeypatch, **ROBUST))


@pytest.mark.parametrize("n_frames", [30, 120])  # exact undistortion, and the grid's
def test_degenerate_views(n_frames: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Views a detector should not give, and the edge cases of the confidence threshold.

    NaN and infinite pixels and confidences, pixels far outside the image (some beyond the
    lens's invertible range), pixels whose sum overflows float32, confidences at the
    threshold, zero weights.
    """
    rig, views = _body_views(4, n_frames, seed=30, dtype=np.float64)
    rng = np.random.default_rng(31)
    flat = views.reshape(-1, 3)
    pick = rng.choice(len(flat), (7, len(flat) // 20), replace=False)
    flat[pick[0], 0] = np.nan
    flat[pick[1], 1] = np.inf
    flat[pick[2], 2] = np.nan
    flat[pick[3], :2] = rng.uniform(-3000.0, 5000.0, (pick.shape[1], 2))
    flat[pick[4], 2] = 0.3
    flat[pick[5], 2] = 0.0
    flat[pick[6], :2] = 3e38
    for dtype in (np.float64, np.float32):
        _both(rig, views.astype(dtype), monkeypatch, 0.3, **ROBUST)
        _both(rig, views.astype(dtype), monkeypatch, 0.7, **ROBUST)
    _both(rig, views, monkeypatch, 0.0, max_error_px=math.inf)


def test_fisheye_rigs_take_the_numpy_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel models pinhole lenses only: a rig with a fisheye camera is not given to it."""
    rig, views = _body_views(3, 10, seed=40, dtype=np.float64)
    fisheye = Camera(
        name="wide",
        size=(1920, 1080),
        matrix=[[800.0, 0.0, 960.0], [0.0, 800.0, 540.0], [0.0, 0.0, 1.0]],
        distortion=[0.05, -0.01, 0.002, -0.0005],
        rotation=rig[2].rotation,
        translation=rig[2].translation,
        fisheye=True,
    )
    mixed = CameraRig((*rig.cameras[:2], fisheye))
    assert _triangulation_kernel.supports(rig)
    assert not _triangulation_kernel.supports(mixed)
    _both(mixed, views, monkeypatch, **ROBUST)


def test_without_numba_the_numpy_path_serves() -> None:
    """Where numba cannot be imported, ``triangulate`` takes the numpy path."""
    code = (
        "import sys; sys.modules['numba'] = None\n"
        "import numpy as np\n"
        "from datasets.synthetic import make_scene\n"
        "from mocap import triangulation\n"
        "assert not triangulation.USE_KERNEL and triangulation._kernel is None\n"
        "scene = make_scene(('good_hinge',), n_cameras=3, seed=1)\n"
        "points = scene.points3d[:5]\n"
        "pixels = scene.rig.project(points.reshape(-1, 3)).reshape(3, 5, -1, 2)\n"
        "views = np.concatenate([pixels, np.ones((*pixels.shape[:3], 1))], axis=-1)\n"
        "result = triangulation.triangulate(scene.rig, views)\n"
        "assert np.abs(result.points3d - points).max() < 1e-9\n"
    )
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, timeout=120)
