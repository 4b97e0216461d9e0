"""MediaPipe BlazePose (``mp.solutions.pose``, shipped in the mediapipe 0.10.21 wheel).

One ``Pose`` tracker per camera stream (``static_image_mode=False``): after the first
detection MediaPipe follows the person from frame to frame within that view, so a detector
must see one camera's frames, all of them, in order. Confidence is the landmark's
``visibility``.

Pixel convention (measured, not assumed)
----------------------------------------
MediaPipe returns x and y normalised by the image width and height. The pixel coordinate in
OpenCV's convention (x right, y down, (0, 0) the centre of the top-left pixel) is
``x * width + PIXEL_OFFSET`` with ``PIXEL_OFFSET = 0``, not ``x * width - 0.5``:

- Why: MediaPipe's CPU ``ImageToTensorCalculator`` (OpenCV converter) crops the person with
  ``cv2.warpPerspective``, mapping the region's corners onto tensor coordinates 0 and 256;
  OpenCV reads both images in pixel-centre coordinates, and the landmarks are mapped back
  through the same linear map, so ``x * width`` comes out in pixel-centre coordinates.
- Measured: a detector free of a convention offset finds a point ``p`` of an image at
  ``(W - 1) - p`` in the image turned by 180 degrees (MediaPipe turns its crop with the
  person, so the network sees the same crop and its own biases cancel in the sum). On the
  Pose2Sim demo (4 cameras x 50 frames, ``static_image_mode=True``, 5197 landmarks with
  visibility > 0.9 in both images) the median of ``x_image + x_turned - (W - 1)`` is
  +0.12 px in x and +0.03 px in y (95 % bootstrap interval +-0.13 px) with
  ``PIXEL_OFFSET = 0``; with -0.5 it would be -0.88 and -0.97 px. ``tests/test_keypoints.py``
  repeats the check on the frames shrunk to a quarter (less network noise in pixels; the
  convention does not depend on the size): within 0.11 px of 0 on three subsets of 40
  frames, where ``-0.5`` would give -1 px.
- Not corrected: mirroring the image left-right instead shows that the landmark network
  itself puts points about 1.5 px too far right in these 1088x1920 views (0.75 px at half
  size: it scales with the person, about half a pixel of the 256 px network input). That
  is a property of the model, a few millimetres at 3 m, not a convention error.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import mediapipe as mp
import numpy as np

from mocap.keypoints import DetectorFactory, FloatArray, KeypointDetector, missing
from mocap.skeleton import BLAZEPOSE_NAMES
from mocap.sources import Image

QUIET_FRAMES = 2
"""MediaPipe's notes to stderr are hidden until this many frames showed a person ..."""
QUIET_MAX_FRAMES = 30
"""... or this many frames were processed."""
PIXEL_OFFSET = 0.0
"""Added to ``x * width`` and ``y * height`` to get OpenCV pixels (module doc: measured 0)."""


_saved_stderr: list[int] = []  # [fd of the real stderr] while hidden
_quiet_users = [0]  # detectors hiding it now (their windows may overlap in any order)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null while any detector is starting.

    MediaPipe's C++ code (graph threads) writes notes there when a graph starts and first
    finds a person (TF Lite delegate, absl's "all log messages before
    absl::InitializeLog()", feedback tensors), which would land between the progress bars;
    no setting turns them off.
    """
    if _quiet_users[0] == 0:
        sys.stderr.flush()
        _saved_stderr.append(os.dup(2))
        with Path(os.devnull).open("wb") as null:
            os.dup2(null.fileno(), 2)
    _quiet_users[0] += 1
    try:
        yield
    finally:
        _quiet_users[0] -= 1
        if _quiet_users[0] == 0:
            with contextlib.suppress(OSError, AttributeError):  # C stdio's buffered notes
                ctypes.CDLL(None).fflush(None)
            saved = _saved_stderr.pop()
            os.dup2(saved, 2)
            os.close(saved)


class MediaPipePoseDetector(KeypointDetector):
    """BlazePose's 33 landmarks in the frames of one camera, tracked from frame to frame.

    Parameters
    ----------
    model_complexity : {0, 1, 2}
        BlazePose lite, full or heavy (only 1 ships inside the mediapipe wheel).
    smooth_landmarks : bool
        MediaPipe's causal (lagging) landmark filter; off by default because HingeLab filters
        the 3D trajectories without lag.
    min_detection_confidence, min_tracking_confidence : float
        MediaPipe's thresholds to find a person and to keep tracking them.
    """

    names = BLAZEPOSE_NAMES

    def __init__(
        self,
        model_complexity: int = 1,
        smooth_landmarks: bool = False,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
    ) -> None:
        # MediaPipe's graph threads write their start-up notes while it starts and first
        # finds a person: hidden until then (or for at most QUIET_MAX_FRAMES frames)
        self._quiet = contextlib.ExitStack()
        self._quiet.enter_context(_quiet_stderr())
        self._frames, self._found = 0, 0
        try:
            self._pose = mp.solutions.pose.Pose(
                static_image_mode=False,
                model_complexity=model_complexity,
                smooth_landmarks=smooth_landmarks,
                enable_segmentation=False,
                min_detection_confidence=min_detection_confidence,
                min_tracking_confidence=min_tracking_confidence,
            )
        except BaseException:
            self._quiet.close()
            raise

    def detect(self, image: Image) -> FloatArray:
        """The 33 landmarks of one frame (module doc: pixels and confidence)."""
        height, width = image.shape[:2]
        result = self._pose.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        self._frames += 1
        self._found += result.pose_landmarks is not None
        if self._found >= QUIET_FRAMES or self._frames >= QUIET_MAX_FRAMES:
            self._quiet.close()
        if result.pose_landmarks is None:
            return missing(len(self.names))
        found = np.array([(lm.x, lm.y, lm.visibility) for lm in result.pose_landmarks.landmark])
        found[:, 0] = found[:, 0] * width + PIXEL_OFFSET
        found[:, 1] = found[:, 1] * height + PIXEL_OFFSET
        return found

    def close(self) -> None:
        """Stop MediaPipe's graph."""
        try:
            self._pose.close()
        finally:
            self._quiet.close()


@dataclass(frozen=True)
class MediaPipePoseFactory(DetectorFactory):
    """Builds one :class:`MediaPipePoseDetector` per camera (parameters as there)."""

    model_complexity: int = 1
    smooth_landmarks: bool = False
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5

    @property
    def description(self) -> str:  # type: ignore[override]
        """E.g. ``"mediapipe 0.10.21 BlazePose, model_complexity=1, ..."``."""
        return (
            f"mediapipe {mp.__version__} BlazePose, model_complexity={self.model_complexity}, "
            f"smooth_landmarks={self.smooth_landmarks}, "
            f"min_detection_confidence={self.min_detection_confidence}, "
            f"min_tracking_confidence={self.min_tracking_confidence}"
        )

    def create(self, camera: str) -> MediaPipePoseDetector:
        """A fresh tracker for one camera stream."""
        return MediaPipePoseDetector(
            self.model_complexity,
            self.smooth_landmarks,
            self.min_detection_confidence,
            self.min_tracking_confidence,
        )
