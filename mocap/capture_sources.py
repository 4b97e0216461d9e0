"""Live frame sources for recording: an OpenCV camera, a paced video file, a synthetic source.

Each is a :class:`~mocap.sources.FrameSource` whose :meth:`timed` gives every frame with
its grab time. Cameras and paced videos take it from ``time.monotonic`` at grab; the
synthetic source gives known times (with injected jitter, drops and an early stop) so
tests can compare what a recording measures with the truth.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from mocap.sources import FrameSource, Image, RecordingError, TimedFrame, VideoFileSource


class CameraError(RecordingError):
    """A camera that cannot be opened or stops delivering frames; the message names it."""


def video_fps(path: str | os.PathLike[str]) -> float | None:
    """The frame rate a video's container declares, Hz (None when it declares none)."""
    capture = cv2.VideoCapture(str(path))
    try:
        fps = float(capture.get(cv2.CAP_PROP_FPS)) if capture.isOpened() else 0.0
    finally:
        capture.release()
    return fps if np.isfinite(fps) and fps > 0 else None


@dataclass(frozen=True)
class PlayedVideo(FrameSource):
    """A video file played as a live source, at its real rate or as fast as possible.

    Attributes
    ----------
    video : VideoFileSource
        The file.
    fps : float
        Playback rate, Hz (default: the container's, else 30).
    realtime : bool
        Sleep so frame ``i`` arrives ``i / fps`` after the first and time-stamp it with
        ``time.monotonic`` at that moment (or as soon as it is decoded when decoding fell
        behind); otherwise deliver at once with the time ``i / fps`` after the start.
    loop : bool
        Play the file again and again, frames numbered over every pass: a camera that
        never ends (benchmarks and demos play short videos for as long as they need).
    """

    video: VideoFileSource
    fps: float
    realtime: bool = True
    loop: bool = False

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], realtime: bool = True, loop: bool = False
    ) -> PlayedVideo:
        """Probe a video file (see :meth:`VideoFileSource.open`) and its frame rate."""
        return cls(VideoFileSource.open(path), video_fps(path) or 30.0, realtime, loop)

    @property
    def name(self) -> str:  # type: ignore[override]
        """The video's camera name (its stem)."""
        return self.video.name

    @property
    def size(self) -> tuple[int, int]:  # type: ignore[override]
        """Frame (width, height), pixels."""
        return self.video.size

    @property
    def frame_count(self) -> int | None:  # type: ignore[override]
        """The container's frame count (None when looping: no end)."""
        return None if self.loop else self.video.frame_count

    def __iter__(self) -> Iterator[tuple[int, Image]]:
        for frame in self.timed():
            yield frame.index, frame.image

    def timed(self) -> Iterator[TimedFrame]:
        """Frames at the playback rate, each with its grab time (see ``realtime``)."""
        start, index = time.monotonic(), 0
        while True:
            before = index
            for _, image in self.video:
                due = start + index / self.fps
                if self.realtime:
                    time.sleep(max(0.0, due - time.monotonic()))
                    due = time.monotonic()
                yield TimedFrame(index, due, image)
                index += 1
            if not self.loop:
                return
            if index == before:
                raise RecordingError(f"{self.video.path}: no frame decodes")


@dataclass(frozen=True)
class SyntheticSource(FrameSource):
    """Frames at known times: a uniform grey image whose level is the frame index mod 250.

    Attributes
    ----------
    name : str
        Camera name.
    times : (F,) float64 array
        Time of each delivered frame, seconds, increasing; leave a time out to drop a
        frame, end the array early to stop the camera.
    size : (2,) tuple of int
        Image (width, height), pixels.
    realtime : bool
        Sleep until each frame's time (relative to the first) before delivering it.
    fail : bool
        After the last frame raise :class:`CameraError` (an unplugged camera) instead of
        ending quietly.
    """

    name: str
    times: NDArray[np.float64]
    size: tuple[int, int] = (64, 48)
    realtime: bool = False
    fail: bool = False
    frame_count: int | None = field(init=False)

    def __post_init__(self) -> None:
        times = np.asarray(self.times, dtype=np.float64).ravel()
        if np.any(np.diff(times) <= 0):
            raise ValueError(f"synthetic camera {self.name!r}: times must increase")
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "frame_count", len(times))

    def image(self, index: int) -> Image:
        """(H, W, 3) uint8 image of frame ``index``."""
        return np.full((self.size[1], self.size[0], 3), index % 250, dtype=np.uint8)

    def __iter__(self) -> Iterator[tuple[int, Image]]:
        for frame in self.timed():
            yield frame.index, frame.image

    def timed(self) -> Iterator[TimedFrame]:
        """The frames with their known times."""
        start = time.monotonic()
        for index, when in enumerate(self.times.tolist()):
            if self.realtime:
                time.sleep(max(0.0, start + when - self.times[0] - time.monotonic()))
            yield TimedFrame(index, when, self.image(index))
        if self.fail:
            raise CameraError(f"camera {self.name}: stopped delivering frames (synthetic)")


Device = int | str
"""A camera: an OpenCV index, or a device path (``/dev/video2``, ``/dev/v4l/by-id/...``)."""


def device_path(device: Device) -> Path | None:
    """The device file of a camera (``/dev/videoN`` for index N on Linux), else None."""
    if isinstance(device, str):
        return Path(device) if device.startswith("/dev/") else None
    return Path(f"/dev/video{device}") if sys.platform.startswith("linux") else None


def camera_name(device: Device) -> str:
    """``cam_N`` for index N, ``cam_<file name>`` for a device path."""
    return f"cam_{device}" if isinstance(device, int) else f"cam_{Path(device).name}"


def quiet_opencv() -> None:
    """Silence OpenCV's own warnings (a missing camera is reported in one line by us)."""
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is not None:
        logging.setLogLevel(logging.LOG_LEVEL_SILENT)


_OPEN_LOCK = threading.Lock()


def open_capture(
    device: Device, size: tuple[int, int] | None, fps: float | None
) -> cv2.VideoCapture:
    """An opened camera, MJPG requested, size and rate set; CameraError naming it if not.

    The settings are requests: the driver may choose others (read them back from the
    capture). Opening is serialised: several USB cameras opened at once can fail.
    """
    path = device_path(device)
    if path is not None and not path.exists():
        raise CameraError(f"camera {device}: no such camera ({path} does not exist)")
    quiet_opencv()
    with _OPEN_LOCK:
        if isinstance(device, str) and path is not None:
            capture = cv2.VideoCapture(device, cv2.CAP_V4L2)
        else:
            capture = cv2.VideoCapture(device)
        if not capture.isOpened():
            capture.release()
            raise CameraError(f"camera {device}: cannot open it (in use or not a camera)")
        capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        if size is not None:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
        if fps is not None:
            capture.set(cv2.CAP_PROP_FPS, fps)
    return capture


def fourcc_text(code: float) -> str:
    """A ``CAP_PROP_FOURCC`` value as its four letters ('' when unset)."""
    value = int(code)
    text = "".join(chr((value >> (8 * i)) & 0xFF) for i in range(4))
    return text if text.isprintable() and value else ""


@dataclass(frozen=True)
class CameraSource(FrameSource):
    """An OpenCV camera (``cv2.VideoCapture`` by index or device path); opened when iterated.

    Attributes
    ----------
    device : int or str
        Camera index (``/dev/videoN`` on Linux) or device path.
    name : str
        Camera name (``cam_N``).
    size : (2,) tuple of int
        Requested (width, height), pixels; the driver's choice is in ``settings()``.
    fps : float or None
        Requested frame rate, Hz.
    frame_count : None
        A camera's frames are unbounded.
    """

    device: Device
    name: str
    size: tuple[int, int]
    fps: float | None = None
    frame_count: int | None = None

    def settings(self) -> dict[str, object]:
        """Open the camera briefly and read back its size, rate and pixel format."""
        capture = open_capture(self.device, self.size, self.fps)
        try:
            return capture_settings(capture)
        finally:
            capture.release()

    def __iter__(self) -> Iterator[tuple[int, Image]]:
        for frame in self.timed():
            yield frame.index, frame.image

    def timed(self) -> Iterator[TimedFrame]:
        """Frames as the camera delivers them, time-stamped by ``time.monotonic`` at grab.

        Raises
        ------
        CameraError
            When the camera stops delivering frames (unplugged, driver error).
        """
        capture = open_capture(self.device, self.size, self.fps)
        try:
            index = 0
            while True:
                ok = capture.grab()
                when = time.monotonic()
                image = capture.retrieve()[1] if ok else None
                if image is None:
                    raise CameraError(f"camera {self.device}: stopped delivering frames")
                yield TimedFrame(index, when, image)
                index += 1
        finally:
            capture.release()


def capture_settings(capture: cv2.VideoCapture) -> dict[str, object]:
    """Size, rate, pixel format and backend an opened capture reports."""
    return {
        "width": int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
        "height": int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        "fps": float(capture.get(cv2.CAP_PROP_FPS)),
        "fourcc": fourcc_text(capture.get(cv2.CAP_PROP_FOURCC)),
        "backend": capture.getBackendName(),
    }
