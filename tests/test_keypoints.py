"""Keypoint detectors: the interface, the synthetic test double and MediaPipe's pixel convention."""

from __future__ import annotations

import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest

from datasets.synthetic.rigs import ring_rig
from mocap.detectors.synthetic import (
    SyntheticDetector,
    SyntheticDetectorFactory,
    projected_truth,
    read_stamp,
    stamp_frame,
)
from mocap.keypoints import KeypointDetector, check_keypoints, layout_index, missing
from mocap.skeleton import BLAZEPOSE_NAMES, HINGELAB_KEYPOINTS, SPINE_MARKERS

# BlazePose's left/right partner of each landmark (nose and the like map to themselves)
MIRROR = [0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17, 20, 19]
MIRROR += [22, 21, 24, 23, 26, 25, 28, 27, 30, 29, 32, 31]


def test_layout_puts_blazepose_first_then_markers() -> None:
    np.testing.assert_array_equal(layout_index(BLAZEPOSE_NAMES), np.arange(33))
    np.testing.assert_array_equal(layout_index(SPINE_MARKERS), [33, 34, 35, 36])
    assert len(HINGELAB_KEYPOINTS) == 37
    with pytest.raises(KeyError, match="'left_toe' is not a HingeLab keypoint"):
        layout_index(["nose", "left_toe"])


def test_missing_rows_and_shape_check() -> None:
    rows = missing(4)
    assert rows.shape == (4, 3)
    assert np.isnan(rows[:, :2]).all()
    assert (rows[:, 2] == 0).all()
    with pytest.raises(ValueError, match=r"camera 'c1': detect\(\) returned shape \(33, 2\)"):
        check_keypoints(np.zeros((33, 2)), 33, "camera 'c1'")


@pytest.mark.parametrize("frame", [0, 1, 37, 2**20 - 1])
def test_frame_stamp_survives_png_and_ffv1(tmp_path: Path, frame: int) -> None:
    """The stamp reads back exactly from a PNG and from a lossless FFV1 video frame."""
    image = stamp_frame(np.full((48, 200, 3), 128, np.uint8), frame)
    assert read_stamp(image) == frame
    assert cv2.imwrite(str(tmp_path / "f.png"), image)
    assert read_stamp(cv2.imread(str(tmp_path / "f.png"))) == frame
    path = str(tmp_path / "v.mkv")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"FFV1"), 10.0, (200, 48))
    writer.write(image)
    writer.release()
    ok, decoded = cv2.VideoCapture(path).read()
    assert ok
    assert read_stamp(decoded) == frame


def test_synthetic_detector_returns_the_stamped_frames_truth() -> None:
    truth = np.random.default_rng(0).uniform(0, 100, (5, 33, 3))
    detector = SyntheticDetector(truth)
    assert isinstance(detector, KeypointDetector)
    image = np.zeros((16, 160, 3), np.uint8)
    np.testing.assert_array_equal(detector.detect(stamp_frame(image, 3)), truth[3])
    beyond = detector.detect(stamp_frame(image, 9))
    assert np.isnan(beyond[:, :2]).all()
    assert detector.frames_seen == [3, 9]
    with detector:
        pass  # close() is a no-op for it


def test_synthetic_factory_pickles_and_names_unknown_cameras() -> None:
    factory = SyntheticDetectorFactory({"cam_a": np.zeros((2, 33, 3))})
    copy = pickle.loads(pickle.dumps(factory))  # noqa: S301 (sent to worker processes)
    assert list(copy.truth) == ["cam_a"]
    assert copy.create("cam_a").names == BLAZEPOSE_NAMES
    with pytest.raises(KeyError, match="no synthetic truth for camera 'cam_b'"):
        factory.create("cam_b")


def test_projected_truth_is_the_projection_inside_the_image() -> None:
    """Points in view are the camera's projection (exactly); others are NaN, confidence 0."""
    rig = ring_rig(2, size=(640, 480), focal_px=500, seed=3)
    points = np.array([[[0, 0, 0.9], [0, 0, 30.0], [0.1, 0.2, 1.2]]])  # (T=1, J=3, 3)
    truth = projected_truth(rig, points, confidence=0.8)
    for camera in rig:
        expected = camera.project(points.reshape(-1, 3))
        view = truth[camera.name][0]
        np.testing.assert_allclose(view[[0, 2], :2], expected[[0, 2]])
        np.testing.assert_array_equal(view[[0, 2], 2], 0.8)
        assert np.isnan(view[1, :2]).all()  # 30 m up: outside every image
        assert view[1, 2] == 0


# ----------------------------------------------------------------------------- MediaPipe


def _frames(video: Path, step: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            return frames[::step]
        frames.append(image)


def _static_landmarks(pose: object, image: np.ndarray) -> np.ndarray | None:
    """(33, 3) x, y in OpenCV pixels (the adapter's convention) and visibility, or None."""
    from mocap.detectors.mediapipe_pose import PIXEL_OFFSET  # noqa: PLC0415

    result = pose.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))  # type: ignore[attr-defined]
    if result.pose_landmarks is None:
        return None
    found = np.array([(p.x, p.y, p.visibility) for p in result.pose_landmarks.landmark])
    height, width = image.shape[:2]
    found[:, 0] = found[:, 0] * width + PIXEL_OFFSET
    found[:, 1] = found[:, 1] * height + PIXEL_OFFSET
    return found


@pytest.mark.realdata
def test_mediapipe_pixels_are_opencv_pixel_centres(shared_datasets: Path) -> None:
    """A point p found in an image is found at (W - 1, H - 1) - p in the image turned 180 deg.

    MediaPipe turns its crop with the person, so the network sees the same crop and its own
    biases cancel in the sum; what remains is the coordinate convention, which does not
    depend on the image size. The frames are shrunk to a quarter (272x480), which divides
    the network's pixel noise by four (the median of ~1000 landmarks of 40 frames is then
    known to ~0.1 px; at full size it scatters by 0.5 px from subset to subset). With the
    adapter's conversion (x * width, no half-pixel shift) the median deviation is within
    0.35 px of 0 in x and y (three subsets of frames gave at most 0.11 px); with
    ``x * width - 0.5`` it would be -1 px.
    """
    import mediapipe as mp  # noqa: PLC0415

    videos = shared_datasets / "pose2sim_demo_singleperson" / "videos"
    deviations = []
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1) as pose:
        for video in sorted(videos.glob("cam*.mp4")):
            for frame in _frames(video, step=10):
                image = cv2.resize(frame, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
                height, width = image.shape[:2]
                upright = _static_landmarks(pose, image)
                turned = _static_landmarks(pose, np.ascontiguousarray(image[::-1, ::-1]))
                if upright is None or turned is None:
                    continue
                sure = (upright[:, 2] > 0.9) & (turned[:, 2] > 0.9)
                total = upright[sure, :2] + turned[sure, :2]
                deviations.append(total - [width - 1, height - 1])
    deviation = np.concatenate(deviations)
    deviation = deviation[np.all(np.abs(deviation) < 4, axis=1)]  # left/right mix-ups
    assert len(deviation) > 500
    median = np.median(deviation, axis=0)
    assert np.all(np.abs(median) < 0.35), median


@pytest.mark.realdata
def test_mediapipe_adapter_tracks_one_camera(shared_datasets: Path) -> None:
    """The adapter on 20 frames of cam03: a person in every frame, inside the image.

    Hips, knees, ankles, shoulders and ears all have visibility > 0.5 in every frame: the
    person stands in full view of cam03 (the real-data test of ``mocap process`` checks
    every camera and frame).
    """
    from mocap.detectors.mediapipe_pose import MediaPipePoseFactory  # noqa: PLC0415

    video = shared_datasets / "pose2sim_demo_singleperson" / "videos" / "cam03.mp4"
    factory = pickle.loads(pickle.dumps(MediaPipePoseFactory()))  # noqa: S301
    assert "model_complexity=1" in factory.description
    main = [
        layout_index([f"{side}_{part}"])[0]
        for side in ("left", "right")
        for part in ("hip", "knee", "ankle", "shoulder", "ear")
    ]
    with factory.create("cam03") as detector:
        for image in _frames(video, step=1)[:20]:
            found = detector.detect(image)
            assert found.shape == (33, 3)
            assert np.all(found[main, 2] > 0.5)
            assert np.all((found[main, 0] > 0) & (found[main, 0] < image.shape[1]))
            assert np.all((found[main, 1] > 0) & (found[main, 1] < image.shape[0]))
