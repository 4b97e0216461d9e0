"""The synthetic ground truth is itself correct: rigid bones, planted feet, intended poses."""

from __future__ import annotations

import numpy as np
import pytest

from datasets.synthetic import (
    MOTIONS,
    RIGID_PAIRS,
    BodyShape,
    ObservationNoise,
    Pose,
    body_landmarks,
    hinge_session,
    make_scene,
    observe,
    ring_rig,
)
from mocap.skeleton import HINGELAB_KEYPOINTS, keypoint_index

SHAPES = [
    BodyShape(),
    BodyShape(height_m=1.55, position_m=(1.2, -0.7), heading_deg=135.0),
    BodyShape(height_m=1.98, position_m=(-2.0, 3.0), heading_deg=-60.0),
]


def _index(name: str) -> int:
    return keypoint_index(HINGELAB_KEYPOINTS, name)


def _landmarks(motion: str, shape: BodyShape) -> np.ndarray:
    return body_landmarks(hinge_session([motion, "good_hinge"], fps=50).pose, shape)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("motion", sorted(MOTIONS))
def test_rigid_segments_keep_their_length(motion: str, shape: BodyShape) -> None:
    """Every bone and rigid pair keeps its standing length to 1e-9 m.

    1e-9 m: positions are sums of a few float64 terms of order 1 m, exact to ~1e-15 m;
    any modelling error (a joint not on its segment) would be millimetres.
    """
    points = _landmarks(motion, shape)
    for a, b in RIGID_PAIRS:
        length = np.linalg.norm(points[:, _index(a)] - points[:, _index(b)], axis=-1)
        assert np.ptp(length) < 1e-9, f"{a}-{b} varies by {np.ptp(length):.3g} m in {motion}"


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("motion", sorted(MOTIONS))
def test_feet_stay_planted_on_the_floor(motion: str, shape: BodyShape) -> None:
    """Heels and toes stay at Z = 0 and do not slide (1e-9 m: exact arithmetic, as above)."""
    points = _landmarks(motion, shape)
    for name in ("left_heel", "right_heel", "left_foot_index", "right_foot_index"):
        foot = points[:, _index(name)]
        assert np.abs(foot[:, 2]).max() < 1e-9
        assert np.ptp(foot, axis=0).max() < 1e-9
    assert points[..., 2].min() > -1e-9, "no landmark goes below the floor"


def test_standing_heights_match_anthropometry() -> None:
    """Standing landmark heights are within 3 % of height of Winter's tables.

    3 %: the tables are population means; the model only needs to look like a person.
    """
    height = 1.80
    points = body_landmarks(Pose.standing(1), BodyShape(height_m=height))[0]
    expected = {"left_hip": 0.530, "left_knee": 0.285, "left_shoulder": 0.818, "left_eye": 0.936}
    for name, fraction in expected.items():
        assert points[_index(name), 2] / height == pytest.approx(fraction, abs=0.03), name


def test_heading_turns_the_subject() -> None:
    """The nose points along the heading (within 1e-9 rad: exact rotation)."""
    for heading in (0.0, 90.0, 200.0):
        points = body_landmarks(Pose.standing(1), BodyShape(heading_deg=heading))[0]
        forward = points[_index("nose"), :2] - points[_index("C7"), :2]
        angle = np.rad2deg(np.arctan2(forward[1], forward[0]))
        assert (angle - heading + 180) % 360 - 180 == pytest.approx(0.0, abs=1e-7)


def test_hinge_moves_hips_back_and_squat_moves_them_down() -> None:
    """The motions do what their names say: hip travel at the bottom, body frame.

    Thresholds are far from the boundary (a hinge moves the hips back more than 3x
    down; a squat, down more than back), so any sign or axis slip fails.
    """
    for motion, back_over_down in (("good_hinge", 3.0), ("squat_hinge", None)):
        session = hinge_session([motion], fps=50)
        points = body_landmarks(session.pose, BodyShape())
        hip = points[:, [_index("left_hip"), _index("right_hip")]].mean(axis=1)
        bottom = round(session.reps[0].bottom_s * session.fps)
        back, down = -(hip[bottom, 0] - hip[0, 0]), -(hip[bottom, 2] - hip[0, 2])
        if back_over_down:
            assert back > back_over_down * down > 0
        else:
            assert down > back > 0


def test_session_has_standing_pauses_and_true_rep_windows() -> None:
    """Frames outside rep windows are exactly standing (0 degrees, exact by construction)."""
    session = hinge_session(["good_hinge", "squat_hinge", "good_hinge"], fps=60)
    assert len(session.reps) == 3
    moving = np.zeros(session.times.shape, dtype=bool)
    for rep in session.reps:
        assert rep.start_s < rep.bottom_s < rep.end_s
        moving |= (session.times > rep.start_s) & (session.times < rep.end_s)
    assert np.all(session.pose.knee[~moving] == 0.0)
    assert session.times[0] == 0.0
    assert session.times[-1] > session.reps[-1].end_s + 0.5


def test_observations_project_with_noise_and_dropouts() -> None:
    """2D observations equal the projection plus noise of the requested size.

    The measured noise std is within 5 % of the requested 1.5 px (>100k samples give
    a relative standard error of ~0.3 %); the dropout fraction within 1 point.
    """
    rig = ring_rig(4, seed=3)
    session = hinge_session(["good_hinge"], fps=30)
    points = body_landmarks(session.pose, BodyShape())
    noise = ObservationNoise(pixel_sigma=1.5, dropout=0.1)
    observed = observe(rig, points, noise, seed=1)
    assert observed.shape == (4, session.times.size, len(HINGELAB_KEYPOINTS), 3)
    assert observed.dtype == np.float32
    exact = rig.project(points.reshape(-1, 3)).reshape(4, *points.shape[:2], 2)
    residual = (observed[..., :2] - exact)[np.isfinite(observed[..., 0])]
    assert residual.std() == pytest.approx(1.5, rel=0.05)
    assert np.isnan(observed[..., 0]).mean() == pytest.approx(0.1, abs=0.01)
    assert np.all(observed[..., 2][np.isnan(observed[..., 0])] == 0)


def test_outliers_are_far_and_confident() -> None:
    """Outliers are 30-300 px off with confidence >= 0.8, in the requested share (+-1 point)."""
    rig = ring_rig(4, seed=3)
    points = body_landmarks(hinge_session(["good_hinge"], fps=30).pose, BodyShape())
    observed = observe(rig, points, ObservationNoise(pixel_sigma=0.0, outliers=0.05), seed=2)
    exact = rig.project(points.reshape(-1, 3)).reshape(4, *points.shape[:2], 2)
    offset = np.linalg.norm(observed[..., :2] - exact, axis=-1)
    far = offset > 1.0
    assert far.mean() == pytest.approx(0.05, abs=0.01)
    assert offset[far].min() >= 30.0 - 1e-3
    assert offset[far].max() <= 300.0 + 1e-3
    assert observed[..., 2][far].min() >= 0.8


def test_frame_offsets_shift_each_camera_in_time() -> None:
    """Camera c's frame i shows instant i + offset (exact: the same projection)."""
    rig = ring_rig(3, seed=0)
    points = body_landmarks(hinge_session(["good_hinge"], fps=30).pose, BodyShape())
    noise = ObservationNoise(pixel_sigma=0.0)
    plain = observe(rig, points, noise)
    shifted = observe(rig, points, noise, frame_offsets=(0, 4, -7))
    np.testing.assert_array_equal(shifted[1, :-4, :, :2], plain[1, 4:, :, :2])
    np.testing.assert_array_equal(shifted[2, 7:, :, :2], plain[2, :-7, :, :2])
    assert np.isnan(shifted[1, -4:, :, 0]).all()


def test_every_camera_sees_the_whole_demo_subject() -> None:
    """Every landmark of every frame lands inside every image of the default rig."""
    scene = make_scene(seed=0)
    observed = observe(scene.rig, scene.points3d, ObservationNoise(pixel_sigma=0.0))
    assert np.isfinite(observed[..., 0]).all()


def test_scene_is_reproducible_from_its_seed() -> None:
    """The same seed gives bit-identical rigs; another seed gives another rig."""
    a, b, c = make_scene(seed=5), make_scene(seed=5), make_scene(seed=6)
    assert a.rig == b.rig
    assert a.rig != c.rig
    np.testing.assert_array_equal(a.points3d, b.points3d)
