"""Frame sources: where a camera's images come from (a video file, a folder of images).

A :class:`FrameSource` gives a camera's name, image size, frame count when known, and its
frames in order as ``(frame_index, image)`` pairs, read lazily one at a time. The file
adapters are frozen dataclasses holding only a path and what was probed from it, so they
can be sent to worker processes; files are opened when iterated.

A *recording folder* holds one source per camera, named by its stem: a video
(``cam_0.mp4``) or a folder of images (``cam_0/000001.png`` ...), see :func:`open_recording`.
"""

from __future__ import annotations

import os
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.uint8]
"""An (H, W, 3) uint8 BGR image (OpenCV's order)."""

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov")
"""Video file types read as one camera each (case-insensitive)."""

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
"""Image file types read from a camera's image folder (case-insensitive)."""


@dataclass(frozen=True, eq=False)
class TimedFrame:
    """One grabbed frame and when it was taken.

    Attributes
    ----------
    index : int
        Frame index in the source, 0, 1, 2... (a dropped frame leaves no index gap).
    time : float
        Grab time, seconds on ``time.monotonic``'s clock (or the source's own clock).
    image : (H, W, 3) uint8 array
        BGR image.
    """

    index: int
    time: float
    image: NDArray[np.uint8]


class RecordingError(ValueError):
    """A recording that cannot be read; the message names the folder, file or camera."""


def natural_key(name: str) -> tuple[Any, ...]:
    """Sort key putting ``img2.png`` before ``img10.png`` (digit runs compared as numbers)."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part.lower())
        for part in re.split(r"(\d+)", name)
    )


class FrameSource(ABC):
    """One camera's frames, in order.

    Attributes
    ----------
    name : str
        Camera name.
    size : (2,) tuple of int
        Image (width, height), pixels.
    frame_count : int or None
        Number of frames, when known before reading (a video's is its container's count).
    """

    name: str
    size: tuple[int, int]
    frame_count: int | None

    @abstractmethod
    def __iter__(self) -> Iterator[tuple[int, Image]]:
        """(frame index, (H, W, 3) uint8 BGR image) pairs, frame indices 0, 1, 2..."""

    def timed(self) -> Iterator[TimedFrame]:
        """The frames with their grab time (``time.monotonic`` when each one arrives).

        Live sources (cameras, paced videos, synthetic sources) override this with the
        time taken at grab or their known times.
        """
        for index, image in self:
            yield TimedFrame(index, time.monotonic(), image)

    def describe(self) -> str:
        """One line: name, size and frame count."""
        count = "?" if self.frame_count is None else str(self.frame_count)
        return f"{self.name}: {self.size[0]}x{self.size[1]}, {count} frames"


def _capture(path: Path) -> cv2.VideoCapture:
    """An opened ``cv2.VideoCapture`` of ``path``, or a RecordingError naming it."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        capture.release()
        raise RecordingError(f"{path}: cannot open the video (corrupt or unsupported format)")
    return capture


@dataclass(frozen=True)
class VideoFileSource(FrameSource):
    """A camera's video file, decoded by ``cv2.VideoCapture``.

    Attributes
    ----------
    path : Path
        The video.
    name : str
        Camera name (default: the file's stem).
    size : (2,) tuple of int
        Frame (width, height), pixels, from the first frame.
    frame_count : int or None
        The container's frame count (None when it gives none).
    """

    path: Path
    name: str
    size: tuple[int, int]
    frame_count: int | None

    @classmethod
    def open(cls, path: str | os.PathLike[str], name: str | None = None) -> VideoFileSource:
        """Probe a video: it must open and its first frame must decode.

        Raises
        ------
        RecordingError
            Naming the file when it cannot be opened or decoded.
        """
        path = Path(path)
        capture = _capture(path)
        try:
            ok, image = capture.read()
            count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        finally:
            capture.release()
        if not ok or image is None:
            raise RecordingError(f"{path}: cannot decode the first frame (corrupt or empty video)")
        size = (int(image.shape[1]), int(image.shape[0]))
        return cls(path, path.stem if name is None else name, size, count if count > 0 else None)

    def __iter__(self) -> Iterator[tuple[int, Image]]:
        """Decode the frames in order; stops at the first frame that does not decode."""
        capture = _capture(self.path)
        try:
            frame = 0
            while True:
                ok, image = capture.read()
                if not ok or image is None:
                    return
                yield frame, image
                frame += 1
        finally:
            capture.release()


def _read_image(path: Path) -> Image:
    """(H, W, 3) uint8 BGR image of ``path``, or a RecordingError naming it."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise RecordingError(f"{path}: cannot read the image (corrupt or unsupported format)")
    return image


def image_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The images of ``folder`` (``IMAGE_SUFFIXES``, hidden files skipped), sorted naturally."""
    files = [
        p
        for p in Path(folder).iterdir()
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    ]
    return sorted(files, key=lambda p: natural_key(p.name))


@dataclass(frozen=True)
class ImageFolderSource(FrameSource):
    """A camera's folder of images, one frame per image in natural name order.

    Attributes
    ----------
    path : Path
        The folder.
    files : tuple of Path
        The images; frame ``i`` is ``files[i]``.
    name : str
        Camera name (default: the folder's name).
    size : (2,) tuple of int
        Image (width, height), pixels, from the first image; every image must match.
    frame_count : int
        ``len(files)``.
    """

    path: Path
    files: tuple[Path, ...]
    name: str
    size: tuple[int, int]
    frame_count: int

    @classmethod
    def open(cls, folder: str | os.PathLike[str], name: str | None = None) -> ImageFolderSource:
        """List a folder's images and read the first one's size.

        Raises
        ------
        RecordingError
            Naming the folder when it holds no images, or the first image when unreadable.
        """
        folder = Path(folder)
        files = tuple(image_files(folder))
        if not files:
            suffixes = ", ".join(IMAGE_SUFFIXES)
            raise RecordingError(f"{folder}: no images ({suffixes}) in the folder")
        first = _read_image(files[0])
        size = (int(first.shape[1]), int(first.shape[0]))
        return cls(folder, files, folder.name if name is None else name, size, len(files))

    def __iter__(self) -> Iterator[tuple[int, Image]]:
        """Read the images in order.

        Raises
        ------
        RecordingError
            Naming an image that cannot be read or whose size differs from the first.
        """
        for frame, path in enumerate(self.files):
            image = _read_image(path)
            if (image.shape[1], image.shape[0]) != self.size:
                raise RecordingError(
                    f"{path}: image is {image.shape[1]}x{image.shape[0]}, the camera's first "
                    f"image is {self.size[0]}x{self.size[1]}"
                )
            yield frame, image


def _candidates(folder: Path) -> list[Path]:
    """Videos and sub-folders holding images in ``folder``, sorted naturally by name."""
    found = []
    for entry in folder.iterdir():
        if entry.name.startswith("."):
            continue
        video = entry.is_file() and entry.suffix.lower() in VIDEO_SUFFIXES
        if video or (entry.is_dir() and image_files(entry)):
            found.append(entry)
    return sorted(found, key=lambda p: natural_key(p.name))


def open_recording(folder: str | os.PathLike[str]) -> dict[str, FrameSource]:
    """One frame source per camera in a recording folder.

    Parameters
    ----------
    folder : str or PathLike
        Holds one video (``VIDEO_SUFFIXES``) or one folder of images (``IMAGE_SUFFIXES``) per
        camera; the file or folder stem is the camera name. Other files (``timestamps.csv``
        ...) and folders without images are ignored.

    Returns
    -------
    dict of str to FrameSource
        Per camera name, in natural name order.

    Raises
    ------
    RecordingError
        The folder is missing or holds no camera, two entries share a stem, or a video
        cannot be read (each message names the folder or file).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise RecordingError(f"recording folder not found: {folder}")
    sources: dict[str, FrameSource] = {}
    for entry in _candidates(folder):
        name = entry.stem if entry.is_file() else entry.name
        if name in sources:
            raise RecordingError(f"{entry}: a second recording of camera {name!r}")
        opened = VideoFileSource.open(entry) if entry.is_file() else ImageFolderSource.open(entry)
        sources[name] = opened
    if not sources:
        raise RecordingError(
            f"{folder}: no camera recordings (one video {', '.join(VIDEO_SUFFIXES)} or one "
            "folder of images per camera)"
        )
    return sources


def check_equal_lengths(folder: Path, counts: Mapping[str, int | None]) -> None:
    """Refuse cameras of different frame counts (unknown counts are not compared).

    Lives here, beside the sources, so that detection workers can use it without
    importing the calibration job (scipy, h5py).

    Raises
    ------
    RecordingError
        Naming the cameras and their counts, and what to do about it.
    """
    known = {name: count for name, count in counts.items() if count is not None}
    if len(set(known.values())) > 1:
        text = ", ".join(f"{name} {count} frames" for name, count in known.items())
        raise RecordingError(
            f"{folder}: recordings of different lengths ({text}) and no timestamps.csv to "
            "pair the frames by time; add timestamps.csv or trim the recordings to the same "
            "frames"
        )
