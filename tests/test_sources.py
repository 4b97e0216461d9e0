"""Frame sources: videos and image folders read back frame by frame, recordings found."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from mocap.capture_sources import (
    CameraError,
    CameraSource,
    PlayedVideo,
    SyntheticSource,
    camera_name,
    device_path,
)
from mocap.sources import (
    ImageFolderSource,
    RecordingError,
    VideoFileSource,
    natural_key,
    open_recording,
)

SIZE = (64, 48)  # width, height


def _frame(level: int) -> np.ndarray:
    """(H, W, 3) uint8 frame of one grey level: its mean tells which frame it is."""
    return np.full((SIZE[1], SIZE[0], 3), level, dtype=np.uint8)


def write_video(path: Path, levels: list[int]) -> Path:
    """A lossless FFV1 video (.avi or .mkv) of uniform frames."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 30.0, SIZE, True)
    assert writer.isOpened()
    for level in levels:
        writer.write(_frame(level))
    writer.release()
    return path


def write_images(folder: Path, names_levels: dict[str, int]) -> Path:
    folder.mkdir()
    for name, level in names_levels.items():
        assert cv2.imwrite(str(folder / name), _frame(level))
    return folder


def test_natural_order_compares_digit_runs_as_numbers() -> None:
    names = ["img10.png", "img2.png", "Img1.png", "img1b.png"]
    assert sorted(names, key=natural_key) == ["Img1.png", "img1b.png", "img2.png", "img10.png"]


def test_video_frames_come_back_in_order(tmp_path: Path) -> None:
    """FFV1 is lossless: every frame's grey level is exact."""
    levels = [0, 30, 60, 90, 120]
    source = VideoFileSource.open(write_video(tmp_path / "side.avi", levels))
    assert (source.name, source.size, source.frame_count) == ("side", SIZE, 5)
    frames = list(source)
    assert [index for index, _ in frames] == [0, 1, 2, 3, 4]
    assert [int(image.mean()) for _, image in frames] == levels
    assert frames[0][1].shape == (SIZE[1], SIZE[0], 3)
    assert len(list(source)) == 5  # iterating again re-reads from the start


def test_image_folder_is_read_in_natural_order(tmp_path: Path) -> None:
    """PNG is lossless: levels exact; img10 comes after img2."""
    folder = write_images(tmp_path / "cam01", {"img10.png": 100, "img2.png": 20, "img1.png": 10})
    source = ImageFolderSource.open(folder)
    assert (source.name, source.size, source.frame_count) == ("cam01", SIZE, 3)
    assert [(i, int(image.mean())) for i, image in source] == [(0, 10), (1, 20), (2, 100)]


def test_recording_finds_one_source_per_camera(tmp_path: Path) -> None:
    write_video(tmp_path / "cam_10.mkv", [0, 1])
    write_video(tmp_path / "cam_2.avi", [0, 1])
    write_images(tmp_path / "cam_1", {"0.png": 0, "1.png": 1})
    (tmp_path / "empty").mkdir()  # a folder without images is not a camera
    (tmp_path / "timestamps.csv").write_text("camera,frame,time\n")
    (tmp_path / "notes.txt").write_text("not a camera")
    sources = open_recording(tmp_path)
    assert list(sources) == ["cam_1", "cam_2", "cam_10"]
    assert isinstance(sources["cam_1"], ImageFolderSource)
    assert isinstance(sources["cam_10"], VideoFileSource)


def test_missing_and_empty_folders_are_named(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match=r"recording folder not found: .*nowhere"):
        open_recording(tmp_path / "nowhere")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(RecordingError, match=r"no camera recordings"):
        open_recording(tmp_path)


def test_corrupt_video_is_named(tmp_path: Path) -> None:
    write_video(tmp_path / "good.avi", [0, 1])
    (tmp_path / "broken.mp4").write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(RecordingError, match=r"broken\.mp4: cannot"):
        open_recording(tmp_path)


def test_two_recordings_of_one_camera_are_refused(tmp_path: Path) -> None:
    write_video(tmp_path / "cam.avi", [0])
    write_video(tmp_path / "cam.mkv", [0])
    with pytest.raises(RecordingError, match=r"cam\.mkv: a second recording of camera 'cam'"):
        open_recording(tmp_path)


def test_unreadable_or_mismatched_image_is_named(tmp_path: Path) -> None:
    folder = write_images(tmp_path / "cam", {"1.png": 0, "2.png": 0})
    (folder / "3.png").write_bytes(b"not a png")
    with pytest.raises(RecordingError, match=r"3\.png: cannot read the image"):
        list(ImageFolderSource.open(folder))
    (folder / "3.png").unlink()
    assert cv2.imwrite(str(folder / "4.png"), np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(RecordingError, match=r"4\.png: image is 10x10, .* first image is 64x48"):
        list(ImageFolderSource.open(folder))


# ----------------------------------------------------------------------------- live sources


def test_every_source_gives_timed_frames(tmp_path: Path) -> None:
    """The default ``timed``: frames in order, stamped by time.monotonic as they arrive."""
    source = VideoFileSource.open(write_video(tmp_path / "v.avi", [0, 10, 20]))
    frames = list(source.timed())
    assert [(f.index, int(f.image.mean())) for f in frames] == [(0, 0), (1, 10), (2, 20)]
    assert np.all(np.diff([f.time for f in frames]) >= 0)


def test_a_looped_video_never_ends_and_numbers_frames_over_every_pass(tmp_path: Path) -> None:
    """Three frames looped: 8 frames numbered 0-7, the images repeating, 1/30 s apart."""
    path = write_video(tmp_path / "v.avi", [0, 10, 20])
    looped = PlayedVideo.open(path, realtime=False, loop=True)
    assert looped.frame_count is None
    frames = list(itertools.islice(looped.timed(), 8))
    assert [f.index for f in frames] == list(range(8))
    assert [int(f.image.mean()) for f in frames] == [0, 10, 20, 0, 10, 20, 0, 10]
    assert np.allclose(np.diff([f.time for f in frames]), 1 / 30, atol=1e-12)


def test_a_played_video_keeps_its_rate_or_runs_as_fast_as_possible(tmp_path: Path) -> None:
    """10 frames at 30 fps: real rate takes 9/30 s (0.3 s) and stamps them 1/30 s apart."""
    path = write_video(tmp_path / "v.avi", list(range(0, 100, 10)))
    fast = PlayedVideo.open(path, realtime=False)
    assert (fast.name, fast.size, fast.frame_count, fast.fps) == ("v", SIZE, 10, 30.0)
    times = np.array([f.time for f in fast.timed()])
    assert np.allclose(np.diff(times), 1 / 30, atol=1e-12)  # computed, not measured
    start = time.monotonic()
    real = [f.time for f in PlayedVideo.open(path).timed()]
    assert time.monotonic() - start >= 9 / 30 - 0.005  # sleeps to each frame's due time
    # measured at delivery, late by scheduling only: the median step within 2 ms of 1/30 s
    # and the span within 30 ms of 9/30 s (each sleep aims at its own due time: no drift)
    assert np.median(np.diff(real)) == pytest.approx(1 / 30, abs=0.002)
    assert real[-1] - real[0] == pytest.approx(9 / 30, abs=0.03)


def test_a_synthetic_source_gives_its_known_times_and_can_fail() -> None:
    times = np.array([1.0, 1.1, 1.3])  # frame at 1.2 dropped
    source = SyntheticSource("cam", times, size=(8, 6), fail=True)
    frames = []
    with pytest.raises(CameraError, match="camera cam: stopped delivering frames"):
        frames.extend(source.timed())
    assert [(f.index, f.time, f.image.shape) for f in frames] == [
        (0, 1.0, (6, 8, 3)),
        (1, 1.1, (6, 8, 3)),
        (2, 1.3, (6, 8, 3)),
    ]
    with pytest.raises(ValueError, match="times must increase"):
        SyntheticSource("cam", np.array([1.0, 1.0]))


@pytest.mark.skipif(Path("/dev/video99").exists(), reason="a /dev/video99 exists")
def test_a_missing_camera_is_named() -> None:
    with pytest.raises(CameraError, match=r"camera 99: (no such camera|cannot open)"):
        list(CameraSource(99, "cam_99", (640, 480), 30.0).timed())


def test_cameras_are_named_by_index_or_device_file() -> None:
    assert (camera_name(2), camera_name("/dev/v4l/by-id/usb-cam-index0")) == (
        "cam_2",
        "cam_usb-cam-index0",
    )
    assert device_path("/dev/video4") == Path("/dev/video4")
    assert device_path("rtsp://host/stream") is None  # not a device file: OpenCV opens it
