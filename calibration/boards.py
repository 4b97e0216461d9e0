"""Calibration boards: ChArUco boards and plain checkerboards, their geometry, images and files.

A board is a frozen dataclass holding its physical description in metres. It gives the object
coordinates of the corners a detector reports (in the detector's id order), the pairs of
corners one square apart (for the board-size check of a calibration), and a rendered image.

Board files (``board.toml``) are flat TOML tables with lengths in millimetres::

    type = "charuco"            # or "checkerboard"
    columns = 5                 # squares (checkerboard: inner_columns, inner_rows = corners)
    rows = 7
    square_size_mm = 112.0
    marker_size_mm = 84.0
    dictionary = "DICT_5X5_100"
    inverted = false
    legacy_pattern = false

:func:`load_board` also reads caliscope's ``charuco.toml`` as it is (told apart by its
``board_width`` / ``board_height`` / ``aruco_scale`` fields).

Numeric core: numpy, OpenCV and the standard library only; nothing happens at import.
"""

from __future__ import annotations

import functools
import math
import os
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeAlias, TypeVar

import cv2
import numpy as np

from calibration.files import atomic_write_text, read_text
from calibration.toml_io import _toml_value

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

PAPER_SIZES_MM: MappingProxyType[str, tuple[float, float]] = MappingProxyType(
    {
        "A0": (841.0, 1189.0),
        "A1": (594.0, 841.0),
        "A2": (420.0, 594.0),
        "A3": (297.0, 420.0),
        "A4": (210.0, 297.0),
        "A5": (148.0, 210.0),
        "LETTER": (215.9, 279.4),
        "LEGAL": (215.9, 355.6),
        "TABLOID": (279.4, 431.8),
    }
)
"""Portrait paper sizes (width, height) in millimetres, keyed by upper-case name."""

PRINT_MARGIN_MM = 15.0
"""Smallest paper margin around a printed board: room for its label and 100 mm ruler."""

CALISCOPE_INCHES_PER_CM = 0.393701
"""caliscope's inch conversion (not exactly 1 / 2.54); used so that boards sized in inches
come out exactly as caliscope made them."""

_MISSING = object()


class BoardFormatError(ValueError):
    """A board file that cannot be read; the message names the file and the field."""


class BoardFieldError(ValueError):
    """An invalid board field; ``field`` names the dataclass field, ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


# ----------------------------------------------------------------------------- validation


def _natural_key(name: str) -> tuple[Any, ...]:
    """Sort key putting DICT_4X4_50 before DICT_4X4_100."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


@functools.lru_cache(maxsize=1)
def aruco_dictionary_names() -> tuple[str, ...]:
    """Names of the predefined ArUco dictionaries of this OpenCV, in natural order.

    Returns
    -------
    tuple of str
        E.g. ``("DICT_4X4_50", "DICT_4X4_100", ..., "DICT_ARUCO_ORIGINAL")``.
    """
    names = [n for n in dir(cv2.aruco) if n.startswith("DICT_")]
    names = [n for n in names if isinstance(getattr(cv2.aruco, n), int)]
    return tuple(sorted(names, key=_natural_key))


def aruco_dictionary(name: str) -> cv2.aruco.Dictionary:
    """The predefined OpenCV ArUco dictionary called ``name``.

    Parameters
    ----------
    name : str
        An OpenCV name such as ``"DICT_5X5_100"`` (case-sensitive).

    Returns
    -------
    cv2.aruco.Dictionary

    Raises
    ------
    BoardFieldError
        (a ValueError) for an unknown name; the message lists the valid ones.
    """
    if not isinstance(name, str) or name not in aruco_dictionary_names():
        valid = ", ".join(aruco_dictionary_names())
        raise BoardFieldError("dictionary", f"unknown ArUco dictionary {name!r}; valid: {valid}")
    return cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, name))


def _check_count(field: str, value: Any, minimum: int) -> None:
    """Refuse a non-integer count or one below ``minimum``."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise BoardFieldError(field, f"expected an integer, got {value!r}")
    if value < minimum:
        raise BoardFieldError(field, f"must be at least {minimum}, got {value}")


def _check_length(field: str, value: Any) -> None:
    """Refuse a length that is not a finite positive number."""
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
        raise BoardFieldError(field, f"expected a number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise BoardFieldError(field, f"must be a positive length, got {value!r}")


def _check_flag(field: str, value: Any) -> None:
    """Refuse a flag that is not a bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise BoardFieldError(field, f"expected true or false, got {value!r}")


def _mm(metres: float) -> str:
    """Text of a length in millimetres, e.g. ``"40.5"`` or ``"112.0"``."""
    return repr(_m_to_mm(metres))


def _m_to_mm(metres: float) -> float:
    """Metres to millimetres through the decimal text (0.0405 -> 40.5, not 40.50000000000001)."""
    return float(Decimal(repr(float(metres))).scaleb(3))


def _mm_to_m(millimetres: float) -> float:
    """Millimetres to metres through the decimal text (inverse of :func:`_m_to_mm`)."""
    return float(Decimal(repr(float(millimetres))).scaleb(-3))


# ----------------------------------------------------------------------------- geometry


def _grid_points(nx: int, ny: int, pitch: float, origin: float) -> np.ndarray:
    """Points of an ``nx`` by ``ny`` grid, x fastest, z = 0.

    Returns
    -------
    np.ndarray
        (nx * ny, 3) float64; point ``i`` is at ``(origin + (i % nx) * pitch,
        origin + (i // nx) * pitch, 0)``.
    """
    ids = np.arange(nx * ny)
    points = np.zeros((nx * ny, 3))
    points[:, 0] = origin + (ids % nx) * pitch
    points[:, 1] = origin + (ids // nx) * pitch
    return points


def _grid_pairs(nx: int, ny: int) -> np.ndarray:
    """Pairs of ids of an ``nx`` by ``ny`` grid (x fastest) that are next to each other.

    Returns
    -------
    np.ndarray
        (ny * (nx - 1) + nx * (ny - 1), 2) int64, first the pairs along rows, then along
        columns; the smaller id first.
    """
    ids = np.arange(nx * ny).reshape(ny, nx)
    along_rows = np.stack([ids[:, :-1].ravel(), ids[:, 1:].ravel()], axis=1)
    along_columns = np.stack([ids[:-1, :].ravel(), ids[1:, :].ravel()], axis=1)
    return np.concatenate([along_rows, along_columns]).astype(np.int64)


def _check_scale(pixels_per_metre: float, margin_m: float) -> None:
    """Refuse a non-positive image scale or a negative margin."""
    if not math.isfinite(pixels_per_metre) or pixels_per_metre <= 0:
        raise ValueError(f"pixels_per_metre must be positive, got {pixels_per_metre!r}")
    if not math.isfinite(margin_m) or margin_m < 0:
        raise ValueError(f"margin_m must be zero or positive, got {margin_m!r}")


# ----------------------------------------------------------------------------- boards


@dataclass(frozen=True)
class CharucoBoard:
    """A ChArUco board: a chessboard with an ArUco marker in each white square.

    Attributes
    ----------
    columns, rows : int
        Squares across and down (>= 2 each); OpenCV's ``size=(columns, rows)``.
    square_size_m : float
        Side of a chessboard square, metres.
    marker_size_m : float
        Side of an ArUco marker (black border included), metres; smaller than the square.
    dictionary : str
        OpenCV predefined dictionary name, e.g. ``"DICT_5X5_100"``; must hold at least
        ``columns * rows // 2`` markers.
    inverted : bool
        The physical board is the photographic negative of OpenCV's (caliscope's "inverted"
        board: white markers on black squares, the black chessboard squares white). Detect it
        on the inverted image or with ``DetectorParameters.detectInvertedMarker = True``.
    legacy_pattern : bool
        Board made by OpenCV < 4.6 with an even number of rows (``setLegacyPattern``).
    """

    columns: int
    rows: int
    square_size_m: float
    marker_size_m: float
    dictionary: str
    inverted: bool = False
    legacy_pattern: bool = False

    def __post_init__(self) -> None:
        _check_count("columns", self.columns, 2)
        _check_count("rows", self.rows, 2)
        _check_length("square_size_m", self.square_size_m)
        _check_length("marker_size_m", self.marker_size_m)
        if self.marker_size_m >= self.square_size_m:
            raise BoardFieldError(
                "marker_size_m",
                f"the marker must be smaller than the square (marker {_mm(self.marker_size_m)}"
                f" mm, square {_mm(self.square_size_m)} mm)",
            )
        _check_flag("inverted", self.inverted)
        _check_flag("legacy_pattern", self.legacy_pattern)
        capacity = len(aruco_dictionary(self.dictionary).bytesList)
        if self.marker_count > capacity:
            raise BoardFieldError(
                "dictionary",
                f"{self.dictionary} holds {capacity} markers; a {self.columns}x{self.rows} "
                f"board needs {self.marker_count}",
            )

    @property
    def marker_count(self) -> int:
        """Number of ArUco markers on the board (one per white square)."""
        return self.columns * self.rows // 2

    @property
    def size_m(self) -> tuple[float, float]:
        """Physical (width, height) of the board's squares, metres."""
        return self.columns * self.square_size_m, self.rows * self.square_size_m

    def describe(self) -> str:
        """One-line description, e.g. ``"ChArUco 5x7, squares 112 mm, markers 84 mm, ..."``."""
        extra = ", inverted" if self.inverted else ""
        extra += ", legacy pattern" if self.legacy_pattern else ""
        return (
            f"ChArUco {self.columns}x{self.rows}, squares {_mm(self.square_size_m)} mm, "
            f"markers {_mm(self.marker_size_m)} mm, {self.dictionary}{extra}"
        )

    def to_cv2(self) -> cv2.aruco.CharucoBoard:
        """The OpenCV board (cached and shared between equal boards: do not modify it).

        Returns
        -------
        cv2.aruco.CharucoBoard
            With ``setLegacyPattern(legacy_pattern)`` applied.
        """
        return _cv2_charuco(self)

    def corner_points(self) -> np.ndarray:
        """Object coordinates of the inner (ChArUco) corners.

        Returns
        -------
        np.ndarray
            (N, 3) float64 metres, N = (columns - 1) * (rows - 1); row ``i`` is ChArUco corner
            id ``i`` as OpenCV numbers them (``getChessboardCorners()``): x fastest, the first
            corner at (square, square, 0) from the board's outer corner, z = 0.
        """
        square = self.square_size_m
        return _grid_points(self.columns - 1, self.rows - 1, square, square)

    def neighbour_pairs(self) -> np.ndarray:
        """Pairs of corner ids one square apart along a row or a column.

        Returns
        -------
        np.ndarray
            (M, 2) int64, M = (rows - 1) * (columns - 2) + (columns - 1) * (rows - 2).
        """
        return _grid_pairs(self.columns - 1, self.rows - 1)

    def image(self, pixels_per_metre: float, margin_m: float = 0.0) -> np.ndarray:
        """Render the board as the physical board looks (``inverted`` applied).

        Parameters
        ----------
        pixels_per_metre : float
            Scale, e.g. ``dpi / 0.0254``.
        margin_m : float
            White border around the squares, metres (white also for inverted boards: paper).

        Returns
        -------
        np.ndarray
            (H, W) uint8 of 0 and 255, W = round((columns * square + 2 * margin) *
            pixels_per_metre), H likewise with rows.
        """
        _check_scale(pixels_per_metre, margin_m)
        width_m, height_m = self.size_m
        width = round((width_m + 2 * margin_m) * pixels_per_metre)
        height = round((height_m + 2 * margin_m) * pixels_per_metre)
        size = (width, height)
        margin = round(margin_m * pixels_per_metre)
        try:
            image = self.to_cv2().generateImage(size, marginSize=margin, borderBits=1)
        except cv2.error as exc:
            raise ValueError(
                f"OpenCV cannot render {self.describe()} at {size} px: {exc}"
            ) from None
        if self.inverted:
            inside = image[margin : height - margin, margin : width - margin]
            inside[...] = 255 - inside
        return image


@functools.lru_cache(maxsize=32)
def _cv2_charuco(board: CharucoBoard) -> cv2.aruco.CharucoBoard:
    """Build (once per distinct board) the OpenCV board."""
    cv_board = cv2.aruco.CharucoBoard(
        (board.columns, board.rows),
        board.square_size_m,
        board.marker_size_m,
        aruco_dictionary(board.dictionary),
    )
    cv_board.setLegacyPattern(bool(board.legacy_pattern))
    return cv_board


@dataclass(frozen=True)
class Checkerboard:
    """A plain checkerboard, described by its inner corners as OpenCV's detectors take it.

    Attributes
    ----------
    inner_columns, inner_rows : int
        Inner corners across and down (>= 3 each: OpenCV's ``patternSize``); the board has
        one more square than corners each way. One even and one odd count make the pattern
        free of the 180-degree ambiguity.
    square_size_m : float
        Side of a square, metres.
    """

    inner_columns: int
    inner_rows: int
    square_size_m: float

    def __post_init__(self) -> None:
        _check_count("inner_columns", self.inner_columns, 3)
        _check_count("inner_rows", self.inner_rows, 3)
        _check_length("square_size_m", self.square_size_m)

    @property
    def size_m(self) -> tuple[float, float]:
        """Physical (width, height) of the squares, metres."""
        return (
            (self.inner_columns + 1) * self.square_size_m,
            (self.inner_rows + 1) * self.square_size_m,
        )

    def describe(self) -> str:
        """One-line description, e.g. ``"Checkerboard 9x6 inner corners, squares 25 mm"``."""
        return (
            f"Checkerboard {self.inner_columns}x{self.inner_rows} inner corners, "
            f"squares {_mm(self.square_size_m)} mm"
        )

    def corner_points(self) -> np.ndarray:
        """Object coordinates of the inner corners.

        Returns
        -------
        np.ndarray
            (N, 3) float64 metres, N = inner_columns * inner_rows, in the order of
            ``cv2.findChessboardCorners(image, (inner_columns, inner_rows))``: x fastest, the
            first inner corner at the origin (OpenCV's convention), z = 0.
        """
        return _grid_points(self.inner_columns, self.inner_rows, self.square_size_m, 0.0)

    def neighbour_pairs(self) -> np.ndarray:
        """Pairs of corner ids one square apart along a row or a column.

        Returns
        -------
        np.ndarray
            (M, 2) int64, M = inner_rows * (inner_columns - 1) + inner_columns * (inner_rows - 1).
        """
        return _grid_pairs(self.inner_columns, self.inner_rows)

    def image(self, pixels_per_metre: float, margin_m: float = 0.0) -> np.ndarray:
        """Render the board, top-left square black.

        Parameters
        ----------
        pixels_per_metre : float
            Scale, e.g. ``dpi / 0.0254``.
        margin_m : float
            White border around the squares, metres (detectors need some).

        Returns
        -------
        np.ndarray
            (H, W) uint8 of 0 and 255, W = round(((inner_columns + 1) * square + 2 * margin) *
            pixels_per_metre), H likewise with rows.
        """
        _check_scale(pixels_per_metre, margin_m)
        nx, ny = self.inner_columns + 1, self.inner_rows + 1
        width = round((nx * self.square_size_m + 2 * margin_m) * pixels_per_metre)
        height = round((ny * self.square_size_m + 2 * margin_m) * pixels_per_metre)
        pitch = self.square_size_m * pixels_per_metre
        start = margin_m * pixels_per_metre
        col = np.floor((np.arange(width) + 0.5 - start) / pitch).astype(np.int64)
        row = np.floor((np.arange(height) + 0.5 - start) / pitch).astype(np.int64)
        inside = ((col >= 0) & (col < nx))[None, :] & ((row >= 0) & (row < ny))[:, None]
        black = inside & ((col[None, :] + row[:, None]) % 2 == 0)
        return np.where(black, 0, 255).astype(np.uint8)


Board: TypeAlias = CharucoBoard | Checkerboard
"""Any calibration board."""

_B = TypeVar("_B", CharucoBoard, Checkerboard)


def default_lab_board() -> CharucoBoard:
    """The lab's ChArUco board: 5 x 7 squares on an A1 sheet, DICT_5X5_100.

    The square is the largest whole number of millimetres that leaves at least
    :data:`PRINT_MARGIN_MM` of paper on every side of A1 (594 x 841 mm): 112 mm; the marker
    is 75 % of it rounded to whole millimetres: 84 mm.

    Returns
    -------
    CharucoBoard
    """
    columns, rows = 5, 7
    paper_w, paper_h = PAPER_SIZES_MM["A1"]
    usable = min((paper_w - 2 * PRINT_MARGIN_MM) / columns, (paper_h - 2 * PRINT_MARGIN_MM) / rows)
    square_mm = math.floor(usable)
    marker_mm = round(0.75 * square_mm)
    return CharucoBoard(columns, rows, square_mm / 1000, marker_mm / 1000, "DICT_5X5_100")


# ----------------------------------------------------------------------------- writing

_FILE_FIELDS = {"square_size_m": "square_size_mm", "marker_size_m": "marker_size_mm"}
"""Dataclass field -> board.toml field, where they differ."""


def board_to_toml(board: Board) -> str:
    """Serialise a board to ``board.toml`` text.

    Parameters
    ----------
    board : CharucoBoard or Checkerboard

    Returns
    -------
    str
        A flat TOML table; lengths in millimetres (keys ending in ``_mm``).
    """
    if isinstance(board, CharucoBoard):
        fields: dict[str, Any] = {
            "type": "charuco",
            "columns": board.columns,
            "rows": board.rows,
            "square_size_mm": _m_to_mm(board.square_size_m),
            "marker_size_mm": _m_to_mm(board.marker_size_m),
            "dictionary": board.dictionary,
            "inverted": bool(board.inverted),
            "legacy_pattern": bool(board.legacy_pattern),
        }
    elif isinstance(board, Checkerboard):
        fields = {
            "type": "checkerboard",
            "inner_columns": board.inner_columns,
            "inner_rows": board.inner_rows,
            "square_size_mm": _m_to_mm(board.square_size_m),
        }
    else:
        raise TypeError(f"expected a CharucoBoard or Checkerboard, got {type(board).__name__}")
    lines = [f"# Calibration board: {board.describe()}. Lengths in millimetres.", ""]
    lines += [f"{key} = {_toml_value(value)}" for key, value in fields.items()]
    return "\n".join([*lines, ""])


def save_board(path: str | os.PathLike[str], board: Board) -> Path:
    """Write ``board.toml`` atomically (temporary file in the same folder, then rename).

    Parameters
    ----------
    path : str or PathLike
        Destination; an existing file is replaced only once the new one is fully written.
    board : CharucoBoard or Checkerboard

    Returns
    -------
    Path
        The written path.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot save board {path}: folder {path.parent} missing")
    atomic_write_text(path, board_to_toml(board))
    return path


# ----------------------------------------------------------------------------- reading

_KINDS: dict[str, tuple[tuple[type, ...], str]] = {
    "int": ((int,), "an integer"),
    "number": ((int, float), "a number"),
    "str": ((str,), "a string"),
    "bool": ((bool,), "true or false"),
}


def _get(doc: dict[str, Any], key: str, kind: str, source: str, default: Any = _MISSING) -> Any:
    """Field ``key`` of ``doc``, checked to be of ``kind`` ("int", "number", "str", "bool")."""
    if key not in doc:
        if default is _MISSING:
            raise BoardFormatError(f"{source}: field {key!r}: missing")
        return default
    value = doc[key]
    types, words = _KINDS[kind]
    if not isinstance(value, types) or (kind in ("int", "number") and isinstance(value, bool)):
        raise BoardFormatError(f"{source}: field {key!r}: expected {words}, got {value!r}")
    return value


def _build(cls: type[_B], args: dict[str, Any], source: str, names: dict[str, str]) -> _B:
    """Construct the board, turning a field error into a :class:`BoardFormatError`.

    ``names`` maps dataclass fields to the file's field names where they differ.
    """
    try:
        return cls(**args)
    except BoardFieldError as exc:
        field = names.get(exc.field, exc.field)
        raise BoardFormatError(f"{source}: field {field!r}: {exc.reason}") from None


def _check_known(doc: dict[str, Any], known: tuple[str, ...], source: str) -> None:
    """Refuse fields a HingeLab board file does not have (typos would pass silently)."""
    unknown = [key for key in doc if key not in known]
    if unknown:
        raise BoardFormatError(
            f"{source}: field {unknown[0]!r}: unknown field; expected: {', '.join(known)}"
        )


def _ours(doc: dict[str, Any], source: str) -> Board:
    """Parse a HingeLab ``board.toml`` (it has a ``type`` field)."""
    kind = _get(doc, "type", "str", source)
    if kind == "checkerboard":
        _check_known(doc, ("type", "inner_columns", "inner_rows", "square_size_mm"), source)
        args = {
            "inner_columns": _get(doc, "inner_columns", "int", source),
            "inner_rows": _get(doc, "inner_rows", "int", source),
            "square_size_m": _mm_to_m(_get(doc, "square_size_mm", "number", source)),
        }
        return _build(Checkerboard, args, source, _FILE_FIELDS)
    if kind != "charuco":
        raise BoardFormatError(
            f'{source}: field \'type\': expected "charuco" or "checkerboard", got {kind!r}'
        )
    known = ("type", "columns", "rows", "square_size_mm", "marker_size_mm", "dictionary")
    _check_known(doc, (*known, "inverted", "legacy_pattern"), source)
    args = {
        "columns": _get(doc, "columns", "int", source),
        "rows": _get(doc, "rows", "int", source),
        "square_size_m": _mm_to_m(_get(doc, "square_size_mm", "number", source)),
        "marker_size_m": _mm_to_m(_get(doc, "marker_size_mm", "number", source)),
        "dictionary": _get(doc, "dictionary", "str", source),
        "inverted": _get(doc, "inverted", "bool", source, False),
        "legacy_pattern": _get(doc, "legacy_pattern", "bool", source, False),
    }
    return _build(CharucoBoard, args, source, _FILE_FIELDS)


def _caliscope_square_cm(doc: dict[str, Any], source: str) -> tuple[Decimal, str]:
    """Square side in cm of caliscope's board and the field it comes from.

    The override when present and non-zero, else the largest square that fits
    ``board_width`` x ``board_height`` (in ``units``, "inch" or "cm"), as caliscope does.
    """
    override = _get(doc, "square_size_override_cm", "number", source, 0)
    if override:
        return Decimal(repr(float(override))), "square_size_override_cm"
    units = _get(doc, "units", "str", source, "inch")
    if units not in ("inch", "cm"):
        raise BoardFormatError(f'{source}: field \'units\': expected "inch" or "cm", got {units!r}')
    to_cm = 1 / CALISCOPE_INCHES_PER_CM if units == "inch" else 1.0
    width = _get(doc, "board_width", "number", source) * to_cm
    height = _get(doc, "board_height", "number", source) * to_cm
    columns = max(_get(doc, "columns", "int", source), 1)
    rows = max(_get(doc, "rows", "int", source), 1)
    return Decimal(repr(min(height / rows, width / columns))), "board_width"


def _caliscope(doc: dict[str, Any], source: str) -> CharucoBoard:
    """Parse caliscope's ``charuco.toml`` (its own field names; unknown fields ignored)."""
    square_cm, square_field = _caliscope_square_cm(doc, source)
    scale = Decimal(repr(float(_get(doc, "aruco_scale", "number", source, 0.75))))
    args = {
        "columns": _get(doc, "columns", "int", source),
        "rows": _get(doc, "rows", "int", source),
        "square_size_m": float(square_cm.scaleb(-2)),
        "marker_size_m": float((square_cm * scale).scaleb(-2)),
        "dictionary": _get(doc, "dictionary", "str", source, "DICT_4X4_50"),
        "inverted": _get(doc, "inverted", "bool", source, False),
        "legacy_pattern": _get(doc, "legacy_pattern", "bool", source, False),
    }
    names = {"square_size_m": square_field, "marker_size_m": "aruco_scale"}
    return _build(CharucoBoard, args, source, names)


_CALISCOPE_FIELDS = ("board_width", "board_height", "aruco_scale", "square_size_override_cm")


def board_from_toml(text: str, source: str = "<string>") -> Board:
    """Parse a board file: HingeLab's ``board.toml`` or caliscope's ``charuco.toml``.

    Parameters
    ----------
    text : str
        TOML text.
    source : str
        File name used in error messages.

    Returns
    -------
    CharucoBoard or Checkerboard
        Lengths in metres.

    Raises
    ------
    BoardFormatError
        Naming ``source`` and the field, for anything missing, mistyped or out of range.
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BoardFormatError(f"{source}: not valid TOML: {exc}") from None
    if "type" in doc:
        return _ours(doc, source)
    if any(key in doc for key in _CALISCOPE_FIELDS):
        return _caliscope(doc, source)
    raise BoardFormatError(
        f'{source}: field \'type\': missing (expected "charuco" or "checkerboard"; a '
        f"caliscope charuco.toml is recognised by its fields {', '.join(_CALISCOPE_FIELDS)})"
    )


def load_board(path: str | os.PathLike[str]) -> Board:
    """Read a board file: HingeLab's ``board.toml`` or caliscope's ``charuco.toml``.

    Parameters
    ----------
    path : str or PathLike

    Returns
    -------
    CharucoBoard or Checkerboard
        Lengths in metres.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    BoardFormatError
        Naming the file and the field, for a malformed file.
    """
    text = read_text(path, "board file", BoardFormatError)
    return board_from_toml(text, source=str(path))


__all__ = [
    "CALISCOPE_INCHES_PER_CM",
    "PAPER_SIZES_MM",
    "PRINT_MARGIN_MM",
    "Board",
    "BoardFieldError",
    "BoardFormatError",
    "CharucoBoard",
    "Checkerboard",
    "aruco_dictionary",
    "aruco_dictionary_names",
    "board_from_toml",
    "board_to_toml",
    "default_lab_board",
    "load_board",
    "save_board",
]
