"""Frame sources: videos and image folders read back frame by frame, recordings found."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

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
