"""ArUco skin markers on the spine: which ids are where, and finding their centres.

Four printed ArUco markers (``mocap board --markers``: DICT_4X4_50, ids 0-3) are taped on
the spinous processes C7, T12, L3 and S1. They become the keypoints of those names
(indices 33-36 of :data:`mocap.skeleton.HINGELAB_KEYPOINTS`) in every frame of every view.

A marker's position is the centre of its square, measured by matching the marker's known
pattern to the image. ``cv2.aruco.ArucoDetector`` finds and decodes the marker and gives its
four corners; those corners are biased towards the inside of the square by up to ~1 px on
small, slanted markers (``cv2.cornerSubPix`` on an outer corner). So the corners only start
an ECC alignment (``cv2.findTransformECC``, a homography) of the ideal pattern of the
marker (bits and black border but its outer edge, anti-aliased, 4-12 px per cell) to the
image; the centre is the image of the pattern's centre under that homography, exact under
any perspective. On rendered markers (``tests/test_markers.py``: exact supersampled
rendering, tilts up to 45 degrees, any roll, blur 0.6 px, noise 2 grey levels, 200 each):

=================  ========  ==============================  ==========================
marker side        decoded   centre error, this module       corners' diagonals
=================  ========  ==============================  ==========================
20-40 px           200       0.03 px RMS, max 0.06 px        0.35 px RMS, max 0.77 px
14-40 px           195       0.05 px RMS, 99 % below 0.11    0.35 px RMS, max 0.76 px
40-140 px          200       0.02 px RMS, max 0.07 px        0.44 px RMS, max 1.13 px
20-40 px, blur 1.2 184       0.09 px RMS, 99 % below 0.40    0.46 px RMS, max 1.13 px
=================  ========  ==============================  ==========================

The confidence is ECC's final correlation coefficient (1: a perfect match, lower when
blurred). When ECC fails (it rarely does once a marker was decoded), the diagonals'
intersection of the corners is used with confidence :data:`FALLBACK_CONFIDENCE`.

Search region: a full 1088x1920 frame costs ArUco ~29 ms, more than BlazePose itself, so
:func:`search_region` limits the search to a box around the detected shoulders and hips,
widened by a quarter of its larger side on every side (C7 sits a little above the shoulder
line, S1 between the hips, the back ~1/4 of the trunk's length behind the joint centres seen
from the side). On the Pose2Sim demo that is ~0.15 megapixels and ~2.5 ms a frame. With no
person found the whole frame is searched.

``markers.toml`` (all keys optional; without the file the defaults below apply)::

    dictionary = "DICT_4X4_50"   # an OpenCV predefined dictionary

    [ids]                        # keypoint name = ArUco id; names among C7, T12, L3, S1
    C7 = 0
    T12 = 1
    L3 = 2
    S1 = 3
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from mocap.keypoints import FloatArray, missing
from mocap.skeleton import SPINE_MARKERS
from mocap.sources import Image

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

DEFAULT_DICTIONARY = "DICT_4X4_50"
"""Dictionary of the printed marker sheet (``calibration.board_print.write_marker_sheet``)."""
DEFAULT_IDS: Mapping[str, int] = MappingProxyType({"C7": 0, "T12": 1, "L3": 2, "S1": 3})
"""Keypoint name -> ArUco id of the printed sheet (``calibration.board_print.SPINE_MARKERS``)."""
ADAPTIVE_WINDOWS_PX = (7, 17)
"""Window sizes of ArUco's adaptive thresholding passes."""
MIN_SIDE_PX = 8.0
"""Smallest marker side searched for, pixels (4x4 bits plus border: 6 cells of 1.3 px)."""
REGION_MARGIN = 0.25
"""Search box around shoulders and hips, widened by this fraction of its larger side."""
REGION_MIN_MARGIN_PX = 32
"""... and by at least this many pixels."""
PATTERN_INSET = 0.25
"""The matched pattern leaves out this much (cells) of the marker's outer black border:
what lies outside the marker is unknown."""
PATTERN_PX_PER_CELL = 4
"""Coarsest resolution of the matched pattern, pixels per cell (0.05 px on small markers)."""
PATTERN_MAX_PX_PER_CELL = 12
"""Finest resolution of the matched pattern (the marker's own, up to this)."""
PATCH_MARGIN_PX = 3
"""Pixels kept around a marker's corners for the alignment."""
ECC_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 1e-4)
"""ECC stops after 30 iterations or a step below 1e-4 (1-2 ms a marker)."""
FALLBACK_CONFIDENCE = 0.5
"""Confidence of a centre from ArUco's corners alone (when ECC does not converge)."""
TORSO = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")
"""Keypoints whose box bounds the search for the spine markers."""


class MarkerFormatError(ValueError):
    """A marker set or ``markers.toml`` that cannot be used; the message names the file."""


def aruco_dictionary(name: str, where: str) -> cv2.aruco.Dictionary:
    """OpenCV's predefined ArUco dictionary ``name`` (``where`` names it in errors).

    As :func:`calibration.boards.aruco_dictionary`, without importing ``calibration``:
    every detection worker process imports this module, and ``calibration`` brings SciPy
    (a quarter of a second per worker).

    Raises
    ------
    MarkerFormatError
        For an unknown name; the message lists the valid ones.
    """
    names = sorted(n for n in dir(cv2.aruco) if n.startswith("DICT_"))
    names = [n for n in names if isinstance(getattr(cv2.aruco, n), int)]
    if not isinstance(name, str) or name not in names:
        raise MarkerFormatError(
            f"{where}: unknown ArUco dictionary {name!r}; valid: {', '.join(names)}"
        )
    return cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, name))


@dataclass(frozen=True)
class MarkerSet:
    """Which ArUco marker is stuck on which spinous process.

    Attributes
    ----------
    ids : mapping of str to int
        Keypoint name (among ``C7``, ``T12``, ``L3``, ``S1``) -> ArUco id, ids unique.
    dictionary : str
        OpenCV predefined dictionary name, e.g. ``"DICT_4X4_50"``.
    source : str
        Where the set was read from (for messages).
    """

    ids: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_IDS))
    dictionary: str = DEFAULT_DICTIONARY
    source: str = "<default>"

    def __post_init__(self) -> None:
        where = self.source
        size = len(aruco_dictionary(self.dictionary, where).bytesList)
        ids = dict(self.ids)
        for name, marker_id in ids.items():
            if name not in SPINE_MARKERS:
                raise MarkerFormatError(
                    f"{where}: unknown marker name {name!r}; use {', '.join(SPINE_MARKERS)}"
                )
            if isinstance(marker_id, bool) or not isinstance(marker_id, (int, np.integer)):
                raise MarkerFormatError(f"{where}: id of {name} must be a whole number")
            if not 0 <= marker_id < size:
                raise MarkerFormatError(
                    f"{where}: id {marker_id} of {name} is not in {self.dictionary} (0..{size - 1})"
                )
        repeated = sorted({i for i in ids.values() if list(ids.values()).count(i) > 1})
        if repeated:
            raise MarkerFormatError(f"{where}: id {repeated[0]} is given to two markers")
        object.__setattr__(self, "ids", MappingProxyType({k: int(v) for k, v in ids.items()}))

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        # MappingProxyType does not pickle: send a plain dict to the worker processes
        return (type(self), (dict(self.ids), self.dictionary, self.source))

    def describe(self) -> str:
        """One line, e.g. ``"DICT_4X4_50: C7=0, T12=1, L3=2, S1=3"``."""
        pairs = ", ".join(f"{name}={marker_id}" for name, marker_id in self.ids.items())
        return f"{self.dictionary}: {pairs}"


DEFAULT_MARKERS = MarkerSet()
"""The printed sheet's markers: DICT_4X4_50, C7=0, T12=1, L3=2, S1=3."""


def _table(doc: dict[str, Any], source: str) -> dict[str, int]:
    """The ``[ids]`` table of a parsed markers.toml."""
    ids = doc.get("ids", dict(DEFAULT_IDS))
    if not isinstance(ids, dict):
        raise MarkerFormatError(f"{source}: 'ids' must be a table of name = id")
    return ids


def markers_from_toml(text: str, source: str = "<string>") -> MarkerSet:
    """Parse the text of a ``markers.toml`` (module doc).

    Raises
    ------
    MarkerFormatError
        Naming ``source`` and the problem: invalid TOML, an unknown key or marker name,
        an id outside the dictionary or given twice, an unknown dictionary.
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MarkerFormatError(f"{source}: not valid TOML: {exc}") from None
    unknown = sorted(set(doc) - {"dictionary", "ids"})
    if unknown:
        raise MarkerFormatError(
            f"{source}: unknown key {unknown[0]!r} (a markers file has 'dictionary' and [ids])"
        )
    dictionary = doc.get("dictionary", DEFAULT_DICTIONARY)
    if not isinstance(dictionary, str):
        raise MarkerFormatError(f"{source}: 'dictionary' must be a name such as 'DICT_4X4_50'")
    return MarkerSet(_table(doc, source), dictionary, source)


def load_markers(path: str | os.PathLike[str]) -> MarkerSet:
    """Read a ``markers.toml`` (module doc).

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    MarkerFormatError
        As :func:`markers_from_toml`, naming the file.
    """
    from calibration.files import read_text  # noqa: PLC0415 (detection workers skip it)

    return markers_from_toml(read_text(path, "markers file", MarkerFormatError), str(Path(path)))


def marker_centre(corners: FloatArray) -> FloatArray:
    """Centre of a quadrilateral (4, 2): the intersection of its diagonals (module doc)."""
    h = np.hstack([np.asarray(corners, dtype=np.float64), np.ones((4, 1))])
    point = np.cross(np.cross(h[0], h[2]), np.cross(h[1], h[3]))
    return point[:2] / point[2]


def search_region(points: FloatArray, size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """Box ``(x0, y0, x1, y1)`` (end exclusive) where the spine markers are searched.

    Parameters
    ----------
    points : (n, 2) float array
        Pixels of the shoulders and hips (:data:`TORSO`); NaN rows are ignored.
    size : (2,) tuple of int
        Image (width, height).

    Returns
    -------
    tuple of int or None
        The box around the points widened by :data:`REGION_MARGIN` of its larger side (at
        least :data:`REGION_MIN_MARGIN_PX`), clipped to the image; None (search the whole
        frame) when fewer than two points are known.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) < 2:
        return None
    low, high = pts.min(axis=0), pts.max(axis=0)
    margin = max(REGION_MARGIN * float(np.max(high - low)), REGION_MIN_MARGIN_PX)
    width, height = size
    x0, y0 = (int(max(np.floor(v - margin), 0)) for v in low)
    x1 = int(min(np.ceil(high[0] + margin) + 1, width))
    y1 = int(min(np.ceil(high[1] + margin) + 1, height))
    if x1 - x0 < 2 * MIN_SIDE_PX or y1 - y0 < 2 * MIN_SIDE_PX:
        return None
    return x0, y0, x1, y1


def marker_pattern(
    dictionary: cv2.aruco.Dictionary, marker_id: int, cells: tuple[float, float], px_per_cell: int
) -> NDArray[np.float32]:
    """The ideal (anti-aliased) grey pattern of a marker over cell coordinates ``cells``.

    Cell coordinates run from 0 to ``n = markerSize + 2`` across a marker with its one-cell
    black border (6 for 4x4), (0, 0) its outer top-left corner. Pattern pixel ``(i, j)``
    (pixel-centre convention) lies at cell ``cells[0] + (i + 0.5) / px_per_cell``.
    """
    cells_across = dictionary.markerSize + 2
    bits = cv2.aruco.generateImageMarker(dictionary, marker_id, cells_across, borderBits=1)
    low, high = cells
    n = round((high - low) * px_per_cell)
    sub = 4  # samples per pixel and axis
    coords = low + (np.arange(n * sub) + 0.5) / (px_per_cell * sub)
    index = np.clip(np.floor(coords).astype(int), 0, cells_across - 1)
    fine = bits[np.ix_(index, index)].astype(np.float32)
    return fine.reshape(n, sub, n, sub).mean(axis=(1, 3))


class MarkerDetector:
    """Finds the markers of a :class:`MarkerSet` in images (module doc: how, how well).

    Parameters
    ----------
    markers : MarkerSet
        Ids and dictionary.
    """

    names = SPINE_MARKERS

    def __init__(self, markers: MarkerSet = DEFAULT_MARKERS) -> None:
        self.markers = markers
        self._row = {markers.ids[n]: j for j, n in enumerate(self.names) if n in markers.ids}
        dictionary = aruco_dictionary(markers.dictionary, markers.source)
        self._params = cv2.aruco.DetectorParameters()
        self._params.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX
        # two thresholding passes (7 and 17 px windows) instead of three (3, 13, 23): as many
        # 14-40 px markers decoded, 20 % less time
        self._params.adaptiveThreshWinSizeMin = ADAPTIVE_WINDOWS_PX[0]
        self._params.adaptiveThreshWinSizeMax = ADAPTIVE_WINDOWS_PX[1]
        self._params.adaptiveThreshWinSizeStep = ADAPTIVE_WINDOWS_PX[1] - ADAPTIVE_WINDOWS_PX[0]
        self._detector = cv2.aruco.ArucoDetector(dictionary, self._params)
        self._longest = 0
        self._dictionary = dictionary
        n = dictionary.markerSize + 2  # cells across, border included
        self._corners = np.array([[0, 0], [n, 0], [n, n], [0, n]], dtype=np.float32)
        self._centre = np.array([n / 2, n / 2, 1.0])
        self._patterns: dict[tuple[int, int], tuple[NDArray[np.float32], FloatArray]] = {}

    def _pattern(self, marker_id: int, cell_px: float) -> tuple[NDArray[np.float32], FloatArray]:
        """The pattern of a marker whose cells are ``cell_px`` wide, and its pixels -> cells.

        Its resolution follows the marker's (4 to 12 px per cell): a coarser pattern would
        compare against an image sampled without smoothing (aliased) on large markers.
        """
        per_cell = int(np.clip(round(cell_px), PATTERN_PX_PER_CELL, PATTERN_MAX_PX_PER_CELL))
        key = (marker_id, per_cell)
        if key not in self._patterns:
            n = self._corners[1, 0]
            cells = (PATTERN_INSET, n - PATTERN_INSET)
            pattern = marker_pattern(self._dictionary, marker_id, cells, per_cell)
            low, scale = PATTERN_INSET, 1.0 / per_cell
            to_cells = np.array(
                [[scale, 0, low + scale / 2], [0, scale, low + scale / 2], [0, 0, 1]]
            )
            self._patterns[key] = (pattern, to_cells)
        return self._patterns[key]

    def _grey(self, image: Image, region: tuple[int, int, int, int] | None) -> Image:
        """The searched part of ``image`` in grey, the detector set for its size."""
        if region is not None:
            x0, y0, x1, y1 = region
            image = image[y0:y1, x0:x1]
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        longest = max(grey.shape)
        if longest != self._longest:  # smallest marker: MIN_SIDE_PX whatever the crop size
            self._params.minMarkerPerimeterRate = 4 * MIN_SIDE_PX / longest
            self._detector.setDetectorParameters(self._params)
            self._longest = longest
        return grey

    def refine(self, grey: Image, corners: FloatArray, marker_id: int) -> tuple[FloatArray, float]:
        """Centre (2,) and confidence of one decoded marker (module doc).

        Parameters
        ----------
        grey : (H, W) uint8 array
            The image the marker was found in.
        corners : (4, 2) float array
            ArUco's corners, clockwise from the marker's top-left, pixels of ``grey``.
        marker_id : int
            One of the set's ids.
        """
        corners = np.asarray(corners, dtype=np.float64)
        low = np.maximum(np.floor(corners.min(axis=0)) - PATCH_MARGIN_PX, 0).astype(int)
        high = np.minimum(
            np.ceil(corners.max(axis=0)) + PATCH_MARGIN_PX + 1, grey.shape[::-1]
        ).astype(int)
        patch = grey[low[1] : high[1], low[0] : high[0]].astype(np.float32)
        cell = np.linalg.norm(corners[2] - corners[0]) / np.sqrt(2) / self._corners[1, 0]
        pattern, to_cells = self._pattern(marker_id, cell)
        start = cv2.getPerspectiveTransform(self._corners, (corners - low).astype(np.float32))
        warp = (start @ to_cells).astype(np.float32)
        try:
            quality, warp = cv2.findTransformECC(
                pattern, patch, warp, cv2.MOTION_HOMOGRAPHY, ECC_CRITERIA, None, 1
            )
        except cv2.error:  # did not converge
            return marker_centre(corners), FALLBACK_CONFIDENCE
        to_image = warp.astype(np.float64) @ np.linalg.inv(to_cells)
        centre = to_image @ self._centre
        centre = centre[:2] / centre[2] + low
        fallback = marker_centre(corners)
        if not np.isfinite(centre).all() or np.linalg.norm(centre - fallback) > cell:
            return fallback, FALLBACK_CONFIDENCE
        return centre, float(np.clip(quality, 0.0, 1.0))

    def detect(self, image: Image, region: tuple[int, int, int, int] | None = None) -> FloatArray:
        """Centres of the markers in ``image`` (or in its ``region``).

        Parameters
        ----------
        image : (H, W, 3) uint8 BGR or (H, W) uint8 array
        region : (x0, y0, x1, y1) tuple of int, optional
            Search only there (:func:`search_region`); default the whole image.

        Returns
        -------
        (4, 3) float64 array
            Pixel x, pixel y, confidence of C7, T12, L3, S1 (:data:`names`); NaN x and y,
            confidence 0, where the marker was not found, was found twice (ambiguous) or is
            not in the marker set.
        """
        grey = self._grey(image, region)
        corners, ids, _ = self._detector.detectMarkers(grey)
        out = missing(len(self.names))
        if ids is None:
            return out
        found: dict[int, list[FloatArray]] = {}
        for marker_id, quad in zip(ids.ravel().tolist(), corners, strict=True):
            if marker_id in self._row:
                found.setdefault(marker_id, []).append(quad.reshape(4, 2))
        offset = np.zeros(2) if region is None else np.array(region[:2], dtype=np.float64)
        for marker_id, quads in found.items():
            if len(quads) == 1:
                centre, confidence = self.refine(grey, quads[0], marker_id)
                out[self._row[marker_id]] = (*(centre + offset), confidence)
        return out
