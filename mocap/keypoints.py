"""2D keypoint detection: the detector interface and the HingeLab keypoint layout.

A :class:`KeypointDetector` turns one (H, W, 3) uint8 BGR image into a (J, 3) array of
pixel x, pixel y and confidence for its J ``names``, NaN x and y (confidence 0) for what it
did not find. Pixels follow OpenCV: x right, y down, (0, 0) the centre of the top-left pixel.

One detector serves one camera stream from its first frame to its last, because detectors
such as MediaPipe's track the person from frame to frame. Detection runs in worker
processes, so detectors are not sent there: a :class:`DetectorFactory` (a small, picklable
recipe) is, and each worker builds the detector of its camera with ``factory.create``.

Adapters: :mod:`mocap.detectors.mediapipe_pose` (BlazePose, imported only when used, so
the numeric core never imports MediaPipe) and :mod:`mocap.detectors.synthetic` (projected
ground truth, for tests).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from types import TracebackType

import numpy as np
from numpy.typing import NDArray

from mocap.skeleton import HINGELAB_KEYPOINTS
from mocap.sources import Image

FloatArray = NDArray[np.float64]


class KeypointDetector(ABC):
    """Finds keypoints in the frames of one camera, in order.

    Attributes
    ----------
    names : tuple of str
        The J keypoint names of :meth:`detect`'s rows, e.g. the 33 BlazePose landmarks.
    """

    names: tuple[str, ...]

    @abstractmethod
    def detect(self, image: Image) -> FloatArray:
        """Keypoints of one frame.

        Parameters
        ----------
        image : (H, W, 3) uint8 array
            The camera's next frame, BGR (OpenCV's order).

        Returns
        -------
        (J, 3) float64 array
            Pixel x, pixel y, confidence (0..1) per name; NaN x and y, confidence 0, where
            nothing was found.
        """

    def close(self) -> None:  # noqa: B027 (optional hook: most detectors hold nothing)
        """Release what the detector holds (models, threads); it is not used afterwards."""

    def __enter__(self) -> KeypointDetector:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class DetectorFactory(ABC):
    """A picklable recipe for detectors, one per camera stream (built in the worker).

    Attributes
    ----------
    description : str
        One line naming the detector and its settings, stored in the trial file.
    """

    description: str

    @abstractmethod
    def create(self, camera: str) -> KeypointDetector:
        """A fresh detector for the frames of ``camera``."""


def missing(n: int) -> FloatArray:
    """(n, 3) rows meaning "not found": NaN x and y, confidence 0."""
    out = np.full((n, 3), np.nan)
    out[:, 2] = 0.0
    return out


def layout_index(
    names: Sequence[str], layout: Sequence[str] = HINGELAB_KEYPOINTS
) -> NDArray[np.intp]:
    """Index into ``layout`` of each of ``names``.

    Raises
    ------
    KeyError
        Naming the first name that ``layout`` does not hold.
    """
    position = {name: j for j, name in enumerate(layout)}
    unknown = [name for name in names if name not in position]
    if unknown:
        msg = f"detector keypoint {unknown[0]!r} is not a HingeLab keypoint"
        raise KeyError(msg)
    return np.array([position[name] for name in names], dtype=np.intp)


def check_keypoints(points: FloatArray, n: int, what: str) -> FloatArray:
    """``points`` as a float64 (n, 3) array, or a ValueError naming ``what``."""
    arr = np.asarray(points, dtype=np.float64)
    if arr.shape != (n, 3):
        msg = f"{what}: detect() returned shape {arr.shape}; expected ({n}, 3)"
        raise ValueError(msg)
    return arr
