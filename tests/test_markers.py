"""Spine markers: centres of rendered ArUco markers against their exact projection.

Markers are painted by ``mocap.detectors.synthetic.draw_marker`` (8x8 exact samples per
pixel through a known homography, no interpolation), then blurred and noised, so the true
centre is the homography's image of the marker's centre cell corner (3, 3).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from calibration.board_print import SPINE_MARKERS
from mocap.detectors.synthetic import draw_marker
from mocap.markers import (
    DEFAULT_IDS,
    DEFAULT_MARKERS,
    MarkerDetector,
    MarkerFormatError,
    MarkerSet,
    load_markers,
    marker_centre,
    markers_from_toml,
    search_region,
)


def homography(
    centre: tuple[float, float],
    side_px: float,
    tilt_deg: tuple[float, float],
    roll_deg: float,
    focal_px: float = 800.0,
) -> np.ndarray:
    """Cells -> pixels of a marker seen by a pinhole camera, its centre at ``centre``.

    ``side_px`` is the side the marker would have facing the camera; the two tilts turn it
    away from the camera (foreshortening and perspective), the roll turns it in the image.
    """
    turn = Rotation.from_euler("zyx", [roll_deg, tilt_deg[0], tilt_deg[1]], degrees=True)
    r = turn.as_matrix()
    depth = focal_px * 6.0 / side_px  # in cells: a cell is side_px / 6 pixels
    k = np.array([[focal_px, 0, centre[0]], [0, focal_px, centre[1]], [0, 0, 1]])
    return k @ np.column_stack([r[:, 0], r[:, 1], -3 * r[:, 0] - 3 * r[:, 1] + [0, 0, depth]])


def render(
    marker_id: int, h: np.ndarray, size: tuple[int, int], blur: float, noise: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 3) BGR image of one marker on mid-grey, and its true centre."""
    grey = np.full(size[::-1], 90, np.uint8)
    centre = draw_marker(grey, marker_id, h)
    image = grey.astype(np.float64)
    if blur:
        image = cv2.GaussianBlur(image, (0, 0), blur)
    image += np.random.default_rng(seed).normal(0, noise, image.shape)
    image = np.clip(np.round(image), 0, 255).astype(np.uint8)
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), centre


def test_centres_of_rendered_markers_within_0_2_px() -> None:
    """60 markers of 20-40 px, tilted up to 45 degrees, any roll, blur 0.6 px, noise 2.

    Tolerance 0.2 px (the issue's): the pattern alignment gives 0.03 px RMS here (the
    worst was 0.053 px). ArUco's own corners, whose diagonals' intersection is the best
    they give, are off by up to 0.63 px on the same images: the alignment matters.
    ArUco does not decode the smallest markers at the steepest tilts (one here, 20 px at
    42 and 34 degrees: 13 x 11 px), so 58 of 60 must be found.
    """
    detector = MarkerDetector()
    rng = np.random.default_rng(7)
    errors, corner_errors, missed = [], [], 0
    for k in range(60):
        marker_id = k % 4
        h = homography(
            (rng.uniform(70, 90), rng.uniform(70, 90)),
            rng.uniform(20, 40),
            (rng.uniform(-45, 45), rng.uniform(-45, 45)),
            rng.uniform(-180, 180),
        )
        image, truth = render(marker_id, h, (160, 160), blur=0.6, noise=2.0, seed=k)
        found = detector.detect(image)
        assert np.isnan(np.delete(found, marker_id, axis=0)[:, 0]).all()
        if np.isnan(found[marker_id, 0]):
            missed += 1
            continue
        errors.append(np.linalg.norm(found[marker_id, :2] - truth))
        corners, _, _ = cv2.aruco.ArucoDetector(
            cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50)
        ).detectMarkers(image)
        corner_errors.append(np.linalg.norm(marker_centre(corners[0].reshape(4, 2)) - truth))
    assert missed <= 2
    assert max(errors) < 0.2, max(errors)
    assert np.sqrt(np.mean(np.square(errors))) < 0.1
    assert max(corner_errors) > 0.3  # why the corners only start the alignment


def test_strong_perspective_centre_is_the_projected_centre() -> None:
    """A marker close to a wide lens, tilted 50 degrees: its far side looks much shorter.

    The mean of the four true corners is then 5.6 px from the true centre; the detector's
    centre stays within 0.2 px (the issue's tolerance; 0.02 px measured), blur 0.5 px,
    noise 1.
    """
    h = homography((150, 150), 60, (50, 10), 20, focal_px=90)
    image, truth = render(2, h, (300, 300), blur=0.5, noise=1.0, seed=3)
    corners = np.array([[0, 0, 1], [6, 0, 1], [6, 6, 1], [0, 6, 1]]) @ h.T
    corners = corners[:, :2] / corners[:, 2:]
    assert np.linalg.norm(corners.mean(axis=0) - truth) > 1.0
    assert np.linalg.norm(marker_centre(corners) - truth) < 1e-9  # diagonals: exact
    found = MarkerDetector().detect(image)
    assert np.linalg.norm(found[2, :2] - truth) < 0.2
    assert 0.5 < found[2, 2] <= 1.0  # the confidence is the pattern's correlation


def test_region_search_gives_full_image_pixels() -> None:
    """Searching a box gives the centre found in the whole image, in its pixels.

    Within 0.02 px, not exactly: ArUco's corners (the alignment's start) depend a little on
    the searched image's size, and the alignment stops at steps below 1e-4 (0.009 px seen).
    """
    image, truth = render(1, homography((300, 200), 30, (20, -10), 30), (640, 480), 0.6, 2.0, 1)
    detector = MarkerDetector()
    whole = detector.detect(image)
    boxed = detector.detect(image, (250, 150, 370, 260))
    assert np.linalg.norm(whole[1, :2] - truth) < 0.2
    np.testing.assert_allclose(boxed[1], whole[1], atol=0.02)
    elsewhere = detector.detect(image, (0, 0, 200, 200))
    assert np.isnan(elsewhere[:, 0]).all()
    assert (elsewhere[:, 2] == 0).all()


def test_twice_seen_id_is_ambiguous_and_other_ids_ignored() -> None:
    """Two markers with id 0 (a spare sheet in view) give no C7; id 9 is no spine marker."""
    image = np.full((200, 400), 90, np.uint8)
    draw_marker(image, 0, homography((70, 100), 40, (0, 0), 0))
    draw_marker(image, 0, homography((200, 100), 40, (0, 0), 0))
    centre = draw_marker(image, 3, homography((330, 100), 40, (10, 0), 0))
    draw_marker(image, 9, homography((330, 30), 30, (0, 0), 0))
    found = MarkerDetector().detect(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
    assert np.isnan(found[:3, 0]).all()  # C7 twice, T12 and L3 absent
    assert np.linalg.norm(found[3, :2] - centre) < 0.2


def test_custom_ids_and_dictionary() -> None:
    """A set of other ids in another dictionary finds only those (0.2 px as above)."""
    markers = MarkerSet({"C7": 12, "S1": 40}, "DICT_5X5_50")
    image = np.full((200, 300), 90, np.uint8)
    c7 = draw_marker(image, 12, homography((80, 100), 45, (15, 5), 10), "DICT_5X5_50")
    s1 = draw_marker(image, 40, homography((220, 100), 45, (-15, 5), 80), "DICT_5X5_50")
    found = MarkerDetector(markers).detect(image)
    assert np.linalg.norm(found[0, :2] - c7) < 0.2
    assert np.linalg.norm(found[3, :2] - s1) < 0.2
    assert np.isnan(found[1:3, 0]).all()


def test_search_region_around_torso() -> None:
    """Shoulders and hips 100 x 300 px: the box adds 75 px (a quarter of the larger side)."""
    points = np.array([[400, 300], [500, 300], [410, 600], [490, 600.0]])
    assert search_region(points, (1088, 1920)) == (325, 225, 576, 676)
    clipped = search_region(points - [380, 250], (1088, 1920))
    assert clipped[:2] == (0, 0)
    nan = np.full((4, 2), np.nan)
    nan[0] = (400, 300)
    assert search_region(nan, (1088, 1920)) is None  # one point: search everything


def test_defaults_match_the_printed_sheet() -> None:
    assert dict(DEFAULT_IDS) == {name: i for i, name in SPINE_MARKERS.items()}
    assert DEFAULT_MARKERS.dictionary == "DICT_4X4_50"
    assert pickle.loads(pickle.dumps(DEFAULT_MARKERS)) == DEFAULT_MARKERS  # noqa: S301


def test_markers_toml(tmp_path: Path) -> None:
    path = tmp_path / "markers.toml"
    path.write_text('dictionary = "DICT_4X4_100"\n[ids]\nC7 = 10\nT12 = 11\nL3 = 12\nS1 = 13\n')
    markers = load_markers(path)
    assert dict(markers.ids) == {"C7": 10, "T12": 11, "L3": 12, "S1": 13}
    assert markers.dictionary == "DICT_4X4_100"
    assert markers_from_toml("") == DEFAULT_MARKERS.__class__(source="<string>")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[ids]\nC7 = 0\nT11 = 1\n", "unknown marker name 'T11'"),
        ("[ids]\nC7 = 0\nT12 = 0\n", "id 0 is given to two markers"),
        ("[ids]\nC7 = 50\n", "id 50 of C7 is not in DICT_4X4_50 (0..49)"),
        ("[ids]\nC7 = 1.5\n", "id of C7 must be a whole number"),
        ('dictionary = "DICT_4X4_5O"\n', "DICT_4X4_5O"),
        ("colour = 1\n", "unknown key 'colour'"),
        ("ids = 3\n", "'ids' must be a table"),
        ("[ids\n", "not valid TOML"),
    ],
)
def test_markers_toml_errors_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "my-markers.toml"
    path.write_text(text)
    with pytest.raises(MarkerFormatError) as error:
        load_markers(path)
    assert str(error.value).startswith(str(path)), error.value
    assert message in str(error.value)


def test_missing_markers_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"markers file not found: .*nowhere\.toml"):
        load_markers(tmp_path / "nowhere.toml")
