"""Printable calibration boards and skin-marker sheets: true-scale PDF and PNG.

The page is rendered as a 1-bit raster at ``dpi`` dots per inch, so that one pixel is exactly
25.4 / dpi mm; the PDF places that raster on a page of ``pixels * 72 / dpi`` points, i.e. the
paper size to within one pixel, and the board at exact scale when printed at 100 % ("actual
size", not "fit to page"). Each sheet carries its description and a 100 mm ruler to check the
print with.

Uses Pillow; no Qt.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

from calibration.boards import (
    PAPER_SIZES_MM,
    PRINT_MARGIN_MM,
    Board,
    aruco_dictionary,
    save_board,
)
from calibration.files import atomic_write_bytes

PRINT_NOTE = "print at 100 % / actual size"
RULER_MM = 100.0
RULER_LABEL = "this line must measure 100 mm"
SPINE_MARKERS: Mapping[int, str] = {0: "C7", 1: "T12", 2: "L3", 3: "S1"}
"""Default skin markers: ArUco id -> spinous process it is stuck on."""

_TEXT_MM = 4.0  # height of the description line
_LABEL_MM = 3.0  # height of the ruler label and marker names
_LINE_MM = 0.5  # ruler line thickness
_TICK_MM = (4.0, 2.0, 3.0)  # tick lengths: ends, every 10 mm, the 50 mm mark
_TICK_WIDTH_MM = 0.3


@dataclass(frozen=True)
class PrintedBoard:
    """What :func:`write_printable_board` wrote.

    Attributes
    ----------
    pdf, png, toml : Path, Path or None, Path
        Files written (``png`` is None when not asked for); ``toml`` is the board file.
    board : CharucoBoard or Checkerboard
        The board printed.
    paper_mm : tuple of float
        Paper (width, height) in millimetres, as oriented on the page.
    board_mm : tuple of float
        Printed size (width, height) of the board's squares, millimetres.
    dpi : int
        Raster resolution, dots per inch.
    page_px : tuple of int
        Page raster (width, height), pixels.
    board_box_px : tuple of int
        Board area (x0, y0, x1, y1) in the page raster, end exclusive.
    ruler_box_px : tuple of int
        The 100 mm ruler line (x0, y0, x1, y1), end exclusive: x1 - x0 = 100 mm at ``dpi``.
    description : str
        The text printed above the board.
    """

    pdf: Path
    png: Path | None
    toml: Path
    board: Board
    paper_mm: tuple[float, float]
    board_mm: tuple[float, float]
    dpi: int
    page_px: tuple[int, int]
    board_box_px: tuple[int, int, int, int]
    ruler_box_px: tuple[int, int, int, int]
    description: str


@dataclass(frozen=True)
class PrintedMarkers:
    """What :func:`write_marker_sheet` wrote.

    Attributes
    ----------
    pdf, png : Path, Path or None
        Files written.
    ids : tuple of int
        Marker ids, in page order (left to right, top to bottom).
    names : tuple of str
        Label printed under each marker.
    size_mm : float
        Side of each marker (black border included), millimetres.
    dictionary : str
        OpenCV dictionary name.
    paper_mm : tuple of float
        Paper (width, height), millimetres.
    dpi : int
        Raster resolution, dots per inch.
    marker_boxes_px : tuple of tuple of int
        (x0, y0, x1, y1) of each marker in the page raster, end exclusive.
    ruler_box_px : tuple of int
        The 100 mm ruler line (x0, y0, x1, y1), end exclusive.
    """

    pdf: Path
    png: Path | None
    ids: tuple[int, ...]
    names: tuple[str, ...]
    size_mm: float
    dictionary: str
    paper_mm: tuple[float, float]
    dpi: int
    marker_boxes_px: tuple[tuple[int, int, int, int], ...]
    ruler_box_px: tuple[int, int, int, int]


# ----------------------------------------------------------------------------- page helpers


def paper_size_mm(paper: str | tuple[float, float], landscape: bool = False) -> tuple[float, float]:
    """Paper (width, height) in millimetres.

    Parameters
    ----------
    paper : str or (float, float)
        A name from :data:`calibration.boards.PAPER_SIZES_MM` (case-insensitive: "A1",
        "letter"...) or (width, height) in millimetres, used as given.
    landscape : bool
        For a named paper: turn it so that it is wider than tall.

    Returns
    -------
    tuple of float
    """
    if isinstance(paper, str):
        if paper.upper() not in PAPER_SIZES_MM:
            valid = ", ".join(PAPER_SIZES_MM)
            raise ValueError(f"unknown paper {paper!r}; valid: {valid} or (width_mm, height_mm)")
        width, height = PAPER_SIZES_MM[paper.upper()]
        return (height, width) if landscape else (width, height)
    width, height = (float(v) for v in paper)
    if not (math.isfinite(width) and math.isfinite(height) and width > 0 and height > 0):
        raise ValueError(f"paper size must be two positive millimetre values, got {paper!r}")
    return width, height


def _px(mm: float, dpi: int) -> int:
    """Millimetres to whole pixels at ``dpi``."""
    return round(mm / 25.4 * dpi)


def _font(height_px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font at about ``height_px`` pixels (its bitmap font on Pillow 10.0)."""
    try:
        return ImageFont.load_default(size=max(height_px, 1))
    except TypeError:  # Pillow < 10.1: no size, a small bitmap font
        return ImageFont.load_default()


def _draw_text(
    draw: ImageDraw.ImageDraw, text: str, centre: tuple[int, int], size: int, room: float
) -> None:
    """Draw ``text`` centred on ``centre``, ``size`` pixels high, shrunk to ``room`` pixels wide."""
    font = _font(size)
    left, _, right, _ = draw.textbbox((0, 0), text, font=font)
    if right - left > room:
        font = _font(int(size * room / (right - left)))
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)  # no anchor: bitmap fonts
    draw.text(
        (centre[0] - (left + right) / 2, centre[1] - (top + bottom) / 2), text, font=font, fill=0
    )


def _draw_ruler(
    draw: ImageDraw.ImageDraw, centre_x: int, top: int, dpi: int
) -> tuple[int, int, int, int]:
    """Draw the 100 mm ruler (line, ticks every 10 mm, label) with its line's top at ``top``.

    Returns
    -------
    tuple of int
        (x0, y0, x1, y1) of the line, end exclusive; x1 - x0 = 100 mm at ``dpi`` (rounded).
    """
    length = _px(RULER_MM, dpi)
    x0, y0 = centre_x - length // 2, top
    x1, y1 = x0 + length, top + max(_px(_LINE_MM, dpi), 1)
    draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=0)
    tick_width = max(_px(_TICK_WIDTH_MM, dpi), 1)
    for k in range(11):
        centre = x0 + k * length / 10
        left = min(max(round(centre - tick_width / 2), x0), x1 - tick_width)
        tick_mm = _TICK_MM[0] if k in (0, 10) else _TICK_MM[2] if k == 5 else _TICK_MM[1]
        draw.rectangle((left, y0, left + tick_width - 1, y0 + _px(tick_mm, dpi) - 1), fill=0)
    label_y = y0 + _px(_TICK_MM[0] + 1.0 + _LABEL_MM / 2, dpi)
    _draw_text(draw, RULER_LABEL, (centre_x, label_y), _px(_LABEL_MM * 1.4, dpi), 2 * centre_x)
    return x0, y0, x1, y1


def _ruler_top(band_top: int, band_bottom: int, dpi: int) -> int:
    """Top of the ruler line so that the ruler and its label sit centred in a band."""
    height = _px(_TICK_MM[0] + 1.0 + _LABEL_MM * 1.4, dpi)
    return band_top + (band_bottom - band_top - height) // 2


def _save_page(
    page: Image.Image, out_pdf: Path, out_png: Path | None, dpi: int, info: Mapping[str, str]
) -> None:
    """Write the page as a 1-bit PNG (``out_png``) and a one-page PDF, each atomically."""
    binary = page.point(lambda v: 255 if v >= 128 else 0).convert("1", dither=Image.Dither.NONE)
    if out_png is not None:
        buffer = io.BytesIO()
        binary.save(buffer, format="PNG", dpi=(dpi, dpi), optimize=False)
        atomic_write_bytes(Path(out_png), buffer.getvalue())
    # 1-bit pages go in losslessly as CCITT G4 when Pillow has libtiff; else JPEG (lossy).
    lossless = features.check("libtiff")
    pdf_page, extra = (binary, {}) if lossless else (binary.convert("L"), {"quality": 95})
    buffer = io.BytesIO()
    pdf_page.save(buffer, format="PDF", resolution=float(dpi), **extra, **info)
    atomic_write_bytes(Path(out_pdf), buffer.getvalue())


def _pdf_info(title: str, subject: str, keywords: str) -> dict[str, str]:
    """PDF document information entries."""
    return {"title": title, "subject": subject, "keywords": keywords, "creator": "HingeLab"}


def _check_dpi(dpi: int) -> None:
    """Refuse a resolution too low to print a board from."""
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not 50 <= dpi <= 1200:
        raise ValueError(f"dpi must be a whole number from 50 to 1200, got {dpi!r}")


# ----------------------------------------------------------------------------- boards


def _check_fits(
    board_mm: tuple[float, float], paper_mm: tuple[float, float], paper: object
) -> None:
    """Refuse a paper without :data:`PRINT_MARGIN_MM` around the board on every side."""
    need = (board_mm[0] + 2 * PRINT_MARGIN_MM, board_mm[1] + 2 * PRINT_MARGIN_MM)
    need = (max(need[0], RULER_MM + 2 * PRINT_MARGIN_MM), need[1])
    if paper_mm[0] < need[0] or paper_mm[1] < need[1]:
        raise ValueError(
            f"paper {paper!r} ({paper_mm[0]:g} x {paper_mm[1]:g} mm) is too small for the board "
            f"({board_mm[0]:g} x {board_mm[1]:g} mm): with {PRINT_MARGIN_MM:g} mm margins for "
            f"the label and ruler it needs at least {need[0]:g} x {need[1]:g} mm"
        )


def write_printable_board(
    board: Board,
    out_pdf: str | os.PathLike[str],
    out_png: str | os.PathLike[str] | None = None,
    paper: str | tuple[float, float] = "A1",
    dpi: int = 200,
) -> PrintedBoard:
    """Write a board at true physical scale as a one-page PDF (and PNG), plus its board.toml.

    The board is centred on the paper; its description ("ChArUco 5x7, squares 112.0 mm, ...
    - print at 100 % / actual size") is printed above it and a 100 mm ruler, ticked every
    10 mm, below it. A named paper is turned to landscape when the board is wider than tall.
    The board file is written beside the PDF with the same stem (``board_a1.toml``).

    Parameters
    ----------
    board : CharucoBoard or Checkerboard
    out_pdf : path-like
        PDF to write; its folder must exist.
    out_png : path-like, optional
        PNG of the same page, with ``dpi`` in its metadata; not written when None.
    paper : str or (float, float)
        Paper name ("A1", "A4", "letter"...) or (width, height) in millimetres.
    dpi : int
        Raster resolution, dots per inch (50-1200).

    Returns
    -------
    PrintedBoard

    Raises
    ------
    ValueError
        When the paper is too small for the board with :data:`PRINT_MARGIN_MM` margins
        (the message gives both sizes), or for an unknown paper name.
    """
    _check_dpi(dpi)
    board_mm = (round(board.size_m[0] * 1000, 9), round(board.size_m[1] * 1000, 9))
    paper_mm = paper_size_mm(paper, landscape=board_mm[0] > board_mm[1])
    _check_fits(board_mm, paper_mm, paper)
    page = Image.new("L", (_px(paper_mm[0], dpi), _px(paper_mm[1], dpi)), 255)
    art = Image.fromarray(board.image(dpi / 0.0254))
    x0, y0 = (page.width - art.width) // 2, (page.height - art.height) // 2
    page.paste(art, (x0, y0))
    draw = ImageDraw.Draw(page)
    draw.fontmode = "1"  # no anti-aliasing: the page stays black and white
    description = f"{board.describe()} - {PRINT_NOTE}"
    room = page.width - 2 * _px(PRINT_MARGIN_MM / 2, dpi)
    _draw_text(draw, description, (page.width // 2, y0 // 2), _px(_TEXT_MM * 1.4, dpi), room)
    top = _ruler_top(y0 + art.height, page.height, dpi)
    ruler = _draw_ruler(draw, page.width // 2, top, dpi)
    out_pdf = Path(out_pdf)
    keywords = f"calibration board; {board.describe()}; paper {paper_mm[0]:g} x {paper_mm[1]:g} mm"
    info = _pdf_info(board.describe(), f"{board.describe()} — {PRINT_NOTE}", keywords)
    _save_page(page, out_pdf, None if out_png is None else Path(out_png), dpi, info)
    toml = save_board(out_pdf.with_suffix(".toml"), board)
    return PrintedBoard(
        pdf=out_pdf,
        png=None if out_png is None else Path(out_png),
        toml=toml,
        board=board,
        paper_mm=paper_mm,
        board_mm=board_mm,
        dpi=dpi,
        page_px=page.size,
        board_box_px=(x0, y0, x0 + art.width, y0 + art.height),
        ruler_box_px=ruler,
        description=description,
    )


# ----------------------------------------------------------------------------- skin markers


def _marker_names(ids: tuple[int, ...], names: Sequence[str] | None) -> tuple[str, ...]:
    """Labels under the markers: ``names``, else the spine names of the default ids."""
    if names is None:
        return tuple(
            f"{SPINE_MARKERS[i]} (id {i})" if i in SPINE_MARKERS else f"id {i}" for i in ids
        )
    if len(names) != len(ids):
        raise ValueError(f"got {len(names)} names for {len(ids)} marker ids")
    return tuple(f"{name} (id {i})" for name, i in zip(names, ids, strict=True))


def _marker_layout(
    count: int, size_mm: float, paper_mm: tuple[float, float]
) -> tuple[int, float, float]:
    """Columns and pitch (x, y) in mm of the marker grid inside the margins."""
    pitch_x, pitch_y = size_mm + 20.0, size_mm + 15.0
    usable_w = paper_mm[0] - 2 * PRINT_MARGIN_MM
    columns = max(1, min(count, int(usable_w // pitch_x)))
    rows = math.ceil(count / columns)
    need_h = rows * pitch_y + 4 * PRINT_MARGIN_MM  # header and ruler bands
    if pitch_x > usable_w or need_h > paper_mm[1]:
        raise ValueError(
            f"paper ({paper_mm[0]:g} x {paper_mm[1]:g} mm) is too small for {count} markers of "
            f"{size_mm:g} mm: needs {pitch_x + 2 * PRINT_MARGIN_MM:g} mm wide, {need_h:g} mm high"
        )
    return columns, pitch_x, pitch_y


def write_marker_sheet(
    out_pdf: str | os.PathLike[str],
    ids: Sequence[int] = (0, 1, 2, 3),
    size_mm: float = 30.0,
    dictionary: str = "DICT_4X4_50",
    names: Sequence[str] | None = None,
    out_png: str | os.PathLike[str] | None = None,
    paper: str | tuple[float, float] = "A4",
    dpi: int = 300,
) -> PrintedMarkers:
    """Write a sheet of ArUco skin markers at true scale, each labelled with its name and id.

    Parameters
    ----------
    out_pdf : path-like
        PDF to write; its folder must exist.
    ids : sequence of int
        Marker ids; by default 0-3, labelled C7, T12, L3, S1 (:data:`SPINE_MARKERS`).
    size_mm : float
        Side of each marker, black border included, millimetres.
    dictionary : str
        OpenCV dictionary name.
    names : sequence of str, optional
        One label per id (the id is added); default: the spine names, else "id".
    out_png : path-like, optional
        PNG of the same page, with ``dpi`` in its metadata.
    paper : str or (float, float)
        Paper name or (width, height) in millimetres.
    dpi : int
        Raster resolution, dots per inch (50-1200).

    Returns
    -------
    PrintedMarkers
    """
    _check_dpi(dpi)
    ids = tuple(int(i) for i in ids)
    aruco = aruco_dictionary(dictionary)
    if not ids or min(ids) < 0 or max(ids) >= len(aruco.bytesList):
        raise ValueError(f"marker ids must be 0..{len(aruco.bytesList) - 1} of {dictionary}")
    if not math.isfinite(size_mm) or size_mm <= 0:
        raise ValueError(f"size_mm must be a positive length, got {size_mm!r}")
    labels = _marker_names(ids, names)
    paper_mm = paper_size_mm(paper)
    columns, pitch_x, pitch_y = _marker_layout(len(ids), size_mm, paper_mm)
    page = Image.new("L", (_px(paper_mm[0], dpi), _px(paper_mm[1], dpi)), 255)
    draw = ImageDraw.Draw(page)
    draw.fontmode = "1"
    side = _px(size_mm, dpi)
    grid_w = min(len(ids), columns) * pitch_x
    left_mm = (paper_mm[0] - grid_w) / 2 + (pitch_x - size_mm) / 2
    boxes = []
    for k, (marker_id, label) in enumerate(zip(ids, labels, strict=True)):
        x = _px(left_mm + (k % columns) * pitch_x, dpi)
        y = _px(2 * PRINT_MARGIN_MM + (k // columns) * pitch_y, dpi)
        marker = cv2.aruco.generateImageMarker(aruco, marker_id, side, borderBits=1)
        page.paste(Image.fromarray(np.ascontiguousarray(marker)), (x, y))
        label_y = y + side + _px(2.0 + _LABEL_MM / 2, dpi)
        _draw_text(
            draw, label, (x + side // 2, label_y), _px(_LABEL_MM * 1.4, dpi), _px(pitch_x, dpi)
        )
        boxes.append((x, y, x + side, y + side))
    description = f"ArUco {dictionary} skin markers, {size_mm:g} mm - {PRINT_NOTE}"
    room = page.width - 2 * _px(PRINT_MARGIN_MM / 2, dpi)
    header = (page.width // 2, _px(PRINT_MARGIN_MM, dpi))
    _draw_text(draw, description, header, _px(_TEXT_MM * 1.4, dpi), room)
    ruler_band = _px(paper_mm[1] - 2 * PRINT_MARGIN_MM, dpi)
    ruler = _draw_ruler(draw, page.width // 2, _ruler_top(ruler_band, page.height, dpi), dpi)
    out_pdf = Path(out_pdf)
    keywords = f"ArUco; {dictionary}; ids {', '.join(map(str, ids))}; marker side {size_mm:g} mm"
    subject = description.replace(" - ", " — ")
    info = _pdf_info(f"Skin markers {size_mm:g} mm", subject, keywords)
    _save_page(page, out_pdf, None if out_png is None else Path(out_png), dpi, info)
    return PrintedMarkers(
        pdf=out_pdf,
        png=None if out_png is None else Path(out_png),
        ids=ids,
        names=labels,
        size_mm=float(size_mm),
        dictionary=dictionary,
        paper_mm=paper_mm,
        dpi=dpi,
        marker_boxes_px=tuple(boxes),
        ruler_box_px=ruler,
    )


__all__ = [
    "PRINT_NOTE",
    "SPINE_MARKERS",
    "PrintedBoard",
    "PrintedMarkers",
    "paper_size_mm",
    "write_marker_sheet",
    "write_printable_board",
]
