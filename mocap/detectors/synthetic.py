"""A detector that reports known keypoints: the test double of a real detector.

Synthetic recordings carry their frame number in the image (:func:`stamp_frame`: a row of
black and white 8x8 blocks at the top-left corner, which survives lossless and mild lossy
video coding). :class:`SyntheticDetector` reads it back and returns that frame's row of the
truth it was given, so a test checks that every image reached the right place of the
(C, T, J, 3) result, whatever the pairing, frame range or worker order. No MediaPipe.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import cv2
import numpy as np

from calibration.camera import CameraRig
from mocap.keypoints import DetectorFactory, FloatArray, KeypointDetector, missing
from mocap.skeleton import BLAZEPOSE_NAMES
from mocap.sources import Image

STAMP_BITS = 20
"""Bits of the frame number stamped into an image (frames 0 .. 2**20 - 1)."""
STAMP_BLOCK_PX = 8
"""Side of one bit's block, pixels; the stamp covers rows 0-7, columns 0-159."""


def stamp_frame(image: Image, frame: int) -> Image:
    """Write ``frame`` into the top-left corner of ``image`` (in place; returned).

    Parameters
    ----------
    image : (H, W, 3) or (H, W) uint8 array
        At least 8 rows and 160 columns.
    frame : int
        0 .. 2**20 - 1.
    """
    if not 0 <= frame < 2**STAMP_BITS:
        msg = f"frame {frame} does not fit in {STAMP_BITS} bits"
        raise ValueError(msg)
    b = STAMP_BLOCK_PX
    for bit in range(STAMP_BITS):
        image[:b, bit * b : (bit + 1) * b] = 255 if frame >> bit & 1 else 0
    return image


def read_stamp(image: Image) -> int:
    """The frame number :func:`stamp_frame` wrote into ``image``."""
    b = STAMP_BLOCK_PX
    row = np.asarray(image[:b, : STAMP_BITS * b], dtype=np.float64)
    blocks = row.reshape(b, STAMP_BITS, b, -1).mean(axis=(0, 2, 3))
    return int(sum(1 << bit for bit, level in enumerate(blocks) if level > 127))


class SyntheticDetector(KeypointDetector):
    """Returns row ``read_stamp(image)`` of ``truth``; frames outside it find nothing.

    Parameters
    ----------
    truth : (T, J, 3) float array
        Pixel x, pixel y, confidence of ``names`` in each stamped frame; NaN = not seen.
    names : tuple of str
        The J keypoint names.
    """

    def __init__(self, truth: FloatArray, names: tuple[str, ...] = BLAZEPOSE_NAMES) -> None:
        self._truth = np.asarray(truth, dtype=np.float64)
        self.names = tuple(names)
        self.frames_seen: list[int] = []

    def detect(self, image: Image) -> FloatArray:
        """The truth of the stamped frame (a copy)."""
        frame = read_stamp(image)
        self.frames_seen.append(frame)
        if frame >= len(self._truth):
            return missing(len(self.names))
        return self._truth[frame].copy()


@dataclass(frozen=True, eq=False)
class SyntheticDetectorFactory(DetectorFactory):
    """One :class:`SyntheticDetector` per camera, each with that camera's truth.

    Attributes
    ----------
    truth : mapping of str to (T, J, 3) float array
        Per camera name, pixel x, pixel y, confidence of ``names`` per stamped frame.
    names : tuple of str
        The J keypoint names.
    description : str
        Stored in the trial file.
    """

    truth: Mapping[str, FloatArray]
    names: tuple[str, ...] = BLAZEPOSE_NAMES
    description: str = "synthetic (projected truth)"

    def __post_init__(self) -> None:
        object.__setattr__(self, "truth", MappingProxyType(dict(self.truth)))

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        # MappingProxyType does not pickle: send a plain dict to the worker processes
        return (type(self), (dict(self.truth), self.names, self.description))

    def create(self, camera: str) -> SyntheticDetector:
        """The detector of ``camera`` (KeyError naming it when there is no truth for it)."""
        if camera not in self.truth:
            msg = f"no synthetic truth for camera {camera!r} (have {', '.join(self.truth)})"
            raise KeyError(msg)
        return SyntheticDetector(self.truth[camera], self.names)


def projected_truth(
    rig: CameraRig, points3d: FloatArray, confidence: float = 0.9
) -> dict[str, FloatArray]:
    """What a perfect detector reports: each camera's projection of ``points3d``.

    Parameters
    ----------
    rig : CameraRig
        C cameras.
    points3d : (T, J, 3) float array
        World points, metres.
    confidence : float
        Confidence of every point seen.

    Returns
    -------
    dict of str to (T, J, 3) float64 array
        Per camera, pixel x, pixel y, confidence; NaN x and y, confidence 0, behind the
        camera or outside its image.
    """
    points = np.asarray(points3d, dtype=np.float64)
    n_t, n_j, _ = points.shape
    out = {}
    for camera in rig:
        pixels = camera.project(points.reshape(-1, 3)).reshape(n_t, n_j, 2)
        width, height = camera.size
        x, y = pixels[..., 0], pixels[..., 1]
        seen = (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)
        truth = np.concatenate([pixels, np.full((n_t, n_j, 1), confidence)], axis=-1)
        truth[~seen] = missing(1)[0]
        out[camera.name] = truth
    return out


def draw_marker(
    image: Image,
    marker_id: int,
    homography: FloatArray,
    dictionary: str = "DICT_4X4_50",
    supersample: int = 8,
    paper_cells: float = 1.0,
) -> FloatArray:
    """Paint an ArUco marker seen through ``homography`` into ``image`` (in place), exactly.

    Every pixel is the mean of ``supersample`` x ``supersample`` samples of the ideal marker
    (black 20, white 235) on white paper ``paper_cells`` wide around it, each sample taken
    at its exact position (no interpolation), so the true centre is known to the last bit.

    Parameters
    ----------
    image : (H, W, 3) or (H, W) uint8 array
        Painted where the paper lies.
    marker_id : int
        Id in ``dictionary``.
    homography : (3, 3) float array
        Marker cell coordinates (0..6 across a 4x4 marker with its border, 0..7 for 5x5;
        (0, 0) its outer top-left corner) to pixels (OpenCV: (0, 0) the centre of the
        top-left pixel).
    dictionary : str
        OpenCV dictionary name.
    supersample : int
        Samples per pixel and axis.
    paper_cells : float
        White margin around the marker, in cells.

    Returns
    -------
    (2,) float array
        The true centre (the image of cell (3, 3) of a 4x4 marker), pixels.
    """
    from calibration.boards import aruco_dictionary  # noqa: PLC0415 (tests only)

    aruco = aruco_dictionary(dictionary)
    n = aruco.markerSize + 2  # cells across, border included
    bits = cv2.aruco.generateImageMarker(aruco, marker_id, n, borderBits=1)
    h = np.asarray(homography, dtype=np.float64)
    low, high = -paper_cells, n + paper_cells
    outline = np.array([[low, low, 1], [high, low, 1], [high, high, 1], [low, high, 1]]) @ h.T
    outline = outline[:, :2] / outline[:, 2:]
    x0, y0 = np.maximum(np.floor(outline.min(axis=0)) - 1, 0).astype(int)
    x1, y1 = np.minimum(np.ceil(outline.max(axis=0)) + 2, image.shape[1::-1]).astype(int)
    offsets = (np.arange(supersample) + 0.5) / supersample - 0.5
    xs = (np.arange(x0, x1)[:, None] + offsets).ravel()
    ys = (np.arange(y0, y1)[:, None] + offsets).ravel()
    gx, gy = np.meshgrid(xs, ys)
    inverse = np.linalg.inv(h)
    w = inverse[2, 0] * gx + inverse[2, 1] * gy + inverse[2, 2]
    u = (inverse[0, 0] * gx + inverse[0, 1] * gy + inverse[0, 2]) / w
    v = (inverse[1, 0] * gx + inverse[1, 1] * gy + inverse[1, 2]) / w
    region = image[y0:y1, x0:x1].astype(np.float64)
    grey = region.mean(axis=-1) if region.ndim == 3 else region
    samples = np.repeat(np.repeat(grey, supersample, axis=0), supersample, axis=1)
    paper = (u >= low) & (u < high) & (v >= low) & (v < high)
    samples[paper] = 235.0
    inside = (u >= 0) & (u < n) & (v >= 0) & (v < n)
    cells = bits[np.floor(v[inside]).astype(int), np.floor(u[inside]).astype(int)]
    samples[inside] = np.where(cells > 0, 235.0, 20.0)
    shape = (y1 - y0, supersample, x1 - x0, supersample)
    painted = np.round(samples.reshape(shape).mean(axis=(1, 3))).astype(np.uint8)
    image[y0:y1, x0:x1] = painted[..., None] if image.ndim == 3 else painted
    centre = h @ [n / 2, n / 2, 1.0]
    return centre[:2] / centre[2]


def write_stamped_recording(
    folder: str | os.PathLike[str],
    instants: Mapping[str, Sequence[int]],
    size: tuple[int, int],
    *,
    video: bool = False,
    fps: float = 30.0,
    paint: Callable[[str, int, Image], None] | None = None,
) -> Path:
    """A recording folder whose frames carry the instant they show (:func:`stamp_frame`).

    Parameters
    ----------
    folder : str or PathLike
        Created if needed; gets one PNG folder or one lossless FFV1 video (``.mkv``) per
        camera.
    instants : mapping of str to sequence of int
        Per camera, the instant shown by each of its frames, in recording order (a dropped
        frame is an instant left out).
    size : (2,) tuple of int
        Image (width, height), at least 160 x 8.
    video : bool
        Videos instead of image folders.
    fps : float
        Frame rate written into the videos.
    paint : callable, optional
        ``paint(camera, instant, image)`` draws into each (H, W, 3) uint8 frame before it
        is written (markers, ...).

    Returns
    -------
    Path
        The folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for camera, shown in instants.items():
        writer = None
        if video:
            fourcc = cv2.VideoWriter_fourcc(*"FFV1")
            writer = cv2.VideoWriter(str(folder / f"{camera}.mkv"), fourcc, fps, size)
        else:
            (folder / camera).mkdir()
        for k, instant in enumerate(shown):
            image = stamp_frame(np.full((size[1], size[0], 3), 128, np.uint8), instant)
            if paint is not None:
                paint(camera, instant, image)
            if writer is None:
                cv2.imwrite(str(folder / camera / f"{k:06d}.png"), image)
            else:
                writer.write(image)
        if writer is not None:
            writer.release()
    return folder
