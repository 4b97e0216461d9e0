"""Camera model against OpenCV, undistortion, rig behaviour and input checks."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from calibration.camera import Camera, CameraRig

K_HD = np.array([[1400.0, 0.0, 955.0], [0.0, 1395.0, 545.0], [0.0, 0.0, 1.0]])
DIST_REALISTIC = np.array([-0.25, 0.08, 0.0012, -0.0008, -0.01])


def make_camera(name: str = "cam1", fisheye: bool = False, **changes: object) -> Camera:
    """A 1920x1080 camera 3 m from the origin, looking roughly at it."""
    fields = {
        "name": name,
        "size": (1920, 1080),
        "matrix": K_HD if not fisheye else np.array([[800.0, 0, 960], [0, 800, 540], [0, 0, 1]]),
        "distortion": np.array([0.05, -0.01, 0.002, -0.0005]) if fisheye else DIST_REALISTIC,
        "rotation": np.array([0.1, -0.2, 0.05]),
        "translation": np.array([0.1, 0.2, 3.0]),
        "fisheye": fisheye,
    }
    fields.update(changes)
    return Camera(**fields)


def points_in_front(camera: Camera, n: int, seed: int) -> np.ndarray:
    """(n, 3) world points that land inside the image, 1.5-6 m in front of the camera."""
    rng = np.random.default_rng(seed)
    depth = rng.uniform(1.5, 6.0, n)
    xy = rng.uniform(-0.6, 0.6, (n, 2)) * np.array([1.0, 0.55])
    cam = np.column_stack([xy * depth[:, None], depth])
    return (cam - camera.translation) @ camera.rotation_matrix


def image_grid(camera: Camera, step: int = 20) -> np.ndarray:
    """(N, 2) pixels on a grid covering the whole image, corners and edges included."""
    w, h = camera.size
    u, v = np.meshgrid(np.linspace(0, w - 1, w // step + 1), np.linspace(0, h - 1, h // step + 1))
    return np.column_stack([u.ravel(), v.ravel()])


def test_project_matches_cv2_pinhole():
    # 1e-6 px: both evaluate the same closed-form polynomial in float64; only rounding differs.
    cam = make_camera()
    pts = points_in_front(cam, 500, seed=1)
    ref, _ = cv2.projectPoints(pts, cam.rotation, cam.translation, cam.matrix, cam.distortion)
    np.testing.assert_allclose(cam.project(pts), ref.reshape(-1, 2), rtol=0, atol=1e-6)


def test_project_matches_cv2_fisheye():
    # 1e-6 px: same closed-form equidistant model evaluated in float64 by both.
    cam = make_camera(fisheye=True)
    pts = points_in_front(cam, 500, seed=2)
    ref, _ = cv2.fisheye.projectPoints(
        pts.reshape(-1, 1, 3), cam.rotation, cam.translation, cam.matrix, cam.distortion
    )
    np.testing.assert_allclose(cam.project(pts), ref.reshape(-1, 2), rtol=0, atol=1e-6)


@pytest.mark.parametrize("fisheye", [False, True])
def test_undistort_then_project_returns_input_over_whole_image(fisheye):
    # 1e-3 px: far below keypoint noise (~1 px); the iterative inverse is asked for 1e-10 px.
    cam = make_camera(fisheye=fisheye)
    pix = image_grid(cam)
    norm = cam.normalized_points(pix)
    assert not np.isnan(norm).any(), "every pixel of a realistic lens must undistort"
    world = (np.column_stack([norm, np.ones(len(norm))]) - cam.translation) @ cam.rotation_matrix
    np.testing.assert_allclose(cam.project(world), pix, rtol=0, atol=1e-3)


def test_undistort_points_is_normalized_times_k():
    # 1e-9 px: the same numbers through a 3x3 multiply; only rounding differs.
    cam = make_camera()
    pix = image_grid(cam, step=100)
    norm = cam.normalized_points(pix)
    expected = np.column_stack([norm, np.ones(len(norm))]) @ cam.matrix.T
    np.testing.assert_allclose(cam.undistort_points(pix), expected[:, :2], rtol=0, atol=1e-9)


def test_fisheye_rays_past_90_degrees_give_nan():
    cam = make_camera(fisheye=True, matrix=np.array([[450.0, 0, 960], [0, 450, 540], [0, 0, 1]]))
    norm = cam.normalized_points(np.array([[0.0, 0.0], [960.0, 540.0]]))
    assert np.isnan(norm[0]).all()  # corner is 2.4 rad from the axis: no pinhole ray
    assert np.isfinite(norm[1]).all()


def test_center_and_projection_matrix_are_consistent():
    # 1e-9 m / 1e-6 px: exact identities evaluated in float64 on metre/1000-pixel scales.
    cam = make_camera(distortion=np.zeros(5))
    np.testing.assert_allclose(cam.world_to_camera(cam.center[None]), 0.0, atol=1e-9)
    pts = points_in_front(cam, 50, seed=3)
    hom = np.column_stack([pts, np.ones(len(pts))]) @ cam.projection_matrix.T
    np.testing.assert_allclose(hom[:, :2] / hom[:, 2:], cam.project(pts), rtol=0, atol=1e-6)
    distorted = make_camera()
    np.testing.assert_allclose(
        distorted.undistort_points(distorted.project(pts)), cam.project(pts), rtol=0, atol=1e-6
    )


def test_nan_rows_and_points_behind_give_nan_rows():
    cam = make_camera()
    pts = points_in_front(cam, 4, seed=4)
    pts[1] = np.nan
    pts[2] = cam.center - 2.0 * cam.rotation_matrix[2]  # 2 m behind, on the optical axis
    out = cam.project(pts)
    assert np.isnan(out[[1, 2]]).all()
    assert np.isfinite(out[[0, 3]]).all()
    pix = np.array([[100.0, 200.0], [np.nan, 5.0]])
    und = cam.undistort_points(pix)
    assert np.isfinite(und[0]).all()
    assert np.isnan(und[1]).all()
    assert np.isnan(cam.undistort_points(np.full((3, 2), np.nan))).all()


def test_empty_inputs():
    cam = make_camera()
    assert cam.project(np.zeros((0, 3))).shape == (0, 2)
    assert cam.undistort_points(np.zeros((0, 2))).shape == (0, 2)


@pytest.mark.parametrize(
    ("method", "arg", "expected"),
    [
        ("project", np.zeros((4, 2)), r"\(N, 3\).*\(4, 2\)"),
        ("project", np.zeros(3), r"\(N, 3\).*\(3,\)"),
        ("undistort_points", np.zeros((2, 3)), r"\(N, 2\).*\(2, 3\)"),
        ("world_to_camera", [["a", "b", "c"]], "numbers"),
    ],
)
def test_bad_point_shapes_name_the_camera(method, arg, expected):
    cam = make_camera("left_cam")
    with pytest.raises(ValueError, match=expected) as info:
        getattr(cam, method)(arg)
    assert "'left_cam'" in str(info.value)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("matrix", np.eye(2), r"matrix must have shape \(3, 3\), got \(2, 2\)"),
        ("distortion", np.zeros(6), r"distortion.*\(5,\), got \(6,\)"),
        ("rotation", [0.0, np.nan, 0.0], "NaN"),
        ("translation", np.zeros(2), r"translation must have shape \(3,\)"),
        ("size", (1920.5, 1080), "two positive integers"),
        ("matrix", [[1.0, 0.5, 2.0], [0.0, 1.0, 2.0], [0.0, 0.0, 1.0]], "skew"),
    ],
)
def test_bad_camera_fields_name_the_camera(field, value, expected):
    with pytest.raises(ValueError, match=expected) as info:
        make_camera("right_cam", **{field: value})
    assert "'right_cam'" in str(info.value)


def test_arrays_are_read_only_copies_and_four_term_distortion_is_padded():
    dist = np.array([-0.1, 0.01, 0.001, 0.002])
    cam = make_camera(distortion=dist, size=(1920.0, 1080.0))
    dist[0] = 5.0
    assert cam.size == (1920, 1080)
    assert np.array_equal(cam.distortion, [-0.1, 0.01, 0.001, 0.002, 0.0])
    with pytest.raises(ValueError, match="read-only"):
        cam.matrix[0, 0] = 1.0


def test_from_rotation_matrix_and_equality():
    # 1e-12: Rodrigues round trip of a well-conditioned rotation, float64 rounding only.
    cam = make_camera()
    fields = {f.name: getattr(cam, f.name) for f in dataclasses.fields(cam) if f.init}
    del fields["rotation"]
    same = Camera.from_rotation_matrix(cam.rotation_matrix, **fields)
    np.testing.assert_allclose(same.rotation, cam.rotation, rtol=0, atol=1e-12)
    assert cam == make_camera()
    assert cam != dataclasses.replace(cam, name="other")
    assert cam != make_camera(translation=np.array([0.1, 0.2, np.nextafter(3.0, 4.0)]))
    with pytest.raises(ValueError, match="not a proper rotation"):
        Camera.from_rotation_matrix(2 * np.eye(3), **fields)


def make_rig() -> CameraRig:
    return CameraRig(
        (
            make_camera("a"),
            make_camera("b", translation=np.array([-0.5, 0.2, 3.2])),
            make_camera("c", fisheye=True),
        )
    )


def test_rig_project_and_undistort_shapes():
    # 1e-6 px: each slice must be exactly what the camera alone computes (same code path).
    rig = make_rig()
    pts = points_in_front(rig["a"], 7, seed=5)
    pix = rig.project(pts)
    assert pix.shape == (3, 7, 2)
    np.testing.assert_allclose(pix[1], rig["b"].project(pts), rtol=0, atol=1e-6)
    assert rig.projection_matrices.shape == (3, 3, 4)
    assert rig.undistort_points(pix).shape == (3, 7, 2)
    with pytest.raises(ValueError, match=r"\(3, N, 2\).*\(2, 7, 2\)"):
        rig.undistort_points(pix[:2])


def test_rig_lookup_iteration_and_subset():
    rig = make_rig()
    assert rig.names == ("a", "b", "c")
    assert len(rig) == 3
    assert [c.name for c in rig] == ["a", "b", "c"]
    assert rig[1] is rig["b"]
    assert rig.subset(["c", "a"]).names == ("c", "a")
    with pytest.raises(KeyError, match=r"'z'.*a, b, c"):
        rig["z"]


def test_rig_refuses_duplicate_names():
    with pytest.raises(ValueError, match=r"repeated: a$"):
        CameraRig((make_camera("a"), make_camera("b"), make_camera("a")))


@pytest.mark.parametrize(
    "distortion",
    [DIST_REALISTIC, np.array([-0.45, 0.2, 0.001, 0.001, -0.05])],
    ids=["realistic", "folds-in-corners"],
)
def test_many_pixels_undistort_like_few(distortion):
    # Calls of >= 4096 pixels take the fast inverse (a cached grid of exact undistortions,
    # then one Newton step); small calls take OpenCV's iteration. Over the image and 100 px
    # beyond, with NaN rows, far-off pixels and float32 input, both give the same NaN rows
    # and points within 1e-6 px: the Newton step leaves ~1e-9 px, up to ~1e-6 px in the
    # corners of a strong lens; the second lens cannot be inverted in its corners at all.
    cam = make_camera(distortion=distortion)
    w, h = cam.size
    rng = np.random.default_rng(11)
    pix = rng.uniform([-100, -100], [w + 100, h + 100], (20000, 2))
    pix[::17] = np.nan
    pix[5::23, 0] = np.nan
    pix[7::29] = [1e7, -3e6]
    pix = pix.astype(np.float32)
    many = cam.normalized_points(pix)
    few = np.concatenate([cam.normalized_points(p) for p in np.array_split(pix, 20)])
    assert len(pix) >= 4096 > len(pix) // 20
    np.testing.assert_array_equal(np.isnan(many), np.isnan(few))
    done = np.isfinite(few[:, 0])
    assert done.mean() > 0.7  # most pixels are compared
    np.testing.assert_allclose(many[done], few[done], rtol=0, atol=1e-6 / cam.matrix[0, 0])
