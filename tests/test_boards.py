"""Calibration boards: geometry against OpenCV, board files, caliscope files, true-scale prints."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, PdfParser

from calibration.board_print import (
    RULER_MM,
    SPINE_MARKERS,
    PrintedBoard,
    write_marker_sheet,
    write_printable_board,
)
from calibration.boards import (
    CALISCOPE_INCHES_PER_CM,
    PAPER_SIZES_MM,
    PRINT_MARGIN_MM,
    BoardFormatError,
    CharucoBoard,
    Checkerboard,
    aruco_dictionary_names,
    board_from_toml,
    board_to_toml,
    default_lab_board,
    load_board,
    save_board,
)

CALISCOPE_TOML = """\
columns = 4
rows = 5
board_height = 11.0
board_width = 8.5
dictionary = "DICT_4X4_1000"
units = "inch"
aruco_scale = 0.75
square_size_override_cm = 5.4
inverted = true
legacy_pattern = false
"""

GOOD_TOML = """\
type = "charuco"
columns = 5
rows = 7
square_size_mm = 40.0
marker_size_mm = 30.0
dictionary = "DICT_5X5_100"
"""

BOARDS = [
    CharucoBoard(5, 7, 0.112, 0.084, "DICT_5X5_100"),
    CharucoBoard(4, 5, 0.054, 0.0405, "DICT_4X4_1000", inverted=True),
    CharucoBoard(6, 4, 0.03, 0.021, "DICT_6X6_50", legacy_pattern=True),
    CharucoBoard(2, 2, 0.05, 0.04, "DICT_4X4_50"),
]


def _detector(board: CharucoBoard) -> cv2.aruco.CharucoDetector:
    """ChArUco detector; inverted boards through the inverted-marker option."""
    params = cv2.aruco.DetectorParameters()
    params.detectInvertedMarker = bool(board.inverted)
    return cv2.aruco.CharucoDetector(board.to_cv2(), cv2.aruco.CharucoParameters(), params)


# ----------------------------------------------------------------------------- geometry


@pytest.mark.parametrize("board", BOARDS, ids=lambda b: b.describe())
def test_corner_points_match_opencv(board: CharucoBoard) -> None:
    ours = board.corner_points()
    theirs = np.asarray(board.to_cv2().getChessboardCorners(), dtype=np.float64)
    assert ours.dtype == np.float64
    assert ours.shape == theirs.shape == ((board.columns - 1) * (board.rows - 1), 3)
    # same ids in the same order; 1e-7 m because OpenCV stores float32 (~6e-8 m at 1 m)
    assert np.abs(ours - theirs).max() < 1e-7
    assert np.array_equal(ours[:, 2], np.zeros(len(ours)))


@pytest.mark.parametrize("board", BOARDS, ids=lambda b: b.describe())
def test_marker_count_matches_opencv(board: CharucoBoard) -> None:
    assert board.marker_count == len(board.to_cv2().getIds())


@pytest.mark.parametrize("board", BOARDS[:3], ids=lambda b: b.describe())
def test_detected_corners_sit_on_corner_points(board: CharucoBoard) -> None:
    """Ids and positions found by OpenCV in the rendered image agree with corner_points."""
    ppm, margin = 4000.0, 0.01
    corners, ids, _, _ = _detector(board).detectBoard(board.image(ppm, margin))
    assert ids is not None
    assert len(ids) == len(board.corner_points())
    expected = (board.corner_points()[ids.ravel(), :2] + margin) * ppm - 0.5  # pixel centres
    # 1 px: squares are drawn on whole pixels, so a corner may be off by up to one pixel
    assert np.abs(corners.reshape(-1, 2) - expected).max() < 1.0


def test_counts_and_neighbours_of_a_5x7_board() -> None:
    board = CharucoBoard(5, 7, 0.04, 0.03, "DICT_5X5_100")
    points, pairs = board.corner_points(), board.neighbour_pairs()
    assert points.shape == (24, 3)
    assert pairs.shape == (38, 2)  # 6 rows x 3 + 4 columns x 5
    assert np.issubdtype(pairs.dtype, np.integer)
    assert len({tuple(p) for p in pairs.tolist()}) == 38
    distances = np.linalg.norm(points[pairs[:, 0]] - points[pairs[:, 1]], axis=1)
    # exact grid arithmetic in float64: 1e-12 m is rounding only
    np.testing.assert_allclose(distances, 0.04, rtol=0, atol=1e-12)
    # and no other pair of corners is one square apart
    all_d = np.linalg.norm(points[:, None] - points[None], axis=2)
    assert np.count_nonzero(np.isclose(all_d, 0.04, rtol=0, atol=1e-9)) == 2 * 38


def test_checkerboard_corner_order_matches_find_chessboard() -> None:
    board = Checkerboard(9, 6, 0.025)
    ppm, margin = 4000.0, 0.02
    found, corners = cv2.findChessboardCorners(board.image(ppm, margin), (9, 6))
    assert found
    expected = (board.corner_points()[:, :2] + margin + board.square_size_m) * ppm - 0.5
    # corners sit exactly on pixel edges here; 1 px allows the detector's sub-pixel bias
    assert np.abs(corners.reshape(-1, 2) - expected).max() < 1.0
    pairs = board.neighbour_pairs()
    assert pairs.shape == (6 * 8 + 9 * 5, 2)
    d = np.linalg.norm(
        board.corner_points()[pairs[:, 0]] - board.corner_points()[pairs[:, 1]], axis=1
    )
    np.testing.assert_allclose(d, 0.025, rtol=0, atol=1e-12)  # float64 rounding only


def test_inverted_image_is_the_negative_inside_white_margin() -> None:
    plain = CharucoBoard(4, 5, 0.054, 0.0405, "DICT_4X4_1000")
    inverted = dataclasses.replace(plain, inverted=True)
    a, b = plain.image(2000, 0.01), inverted.image(2000, 0.01)
    m = 20  # margin in pixels: 0.01 m at 2000 px/m
    assert np.array_equal(b[m:-m, m:-m], 255 - a[m:-m, m:-m])
    assert (b[:m] == 255).all()
    assert (b[:, -m:] == 255).all()


def test_image_size_follows_the_scale() -> None:
    board = CharucoBoard(5, 7, 0.04, 0.03, "DICT_5X5_100")
    assert board.image(1000, 0.005).shape == (7 * 40 + 10, 5 * 40 + 10)
    assert Checkerboard(9, 6, 0.025).image(1000, 0.0).shape == (7 * 25, 10 * 25)


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"columns": 1}, "columns"),
        ({"rows": 2.0}, "rows"),
        ({"square_size_m": -0.04}, "square_size_m"),
        ({"marker_size_m": 0.04}, "marker_size_m"),
        ({"marker_size_m": float("nan")}, "marker_size_m"),
        ({"columns": 20, "rows": 20, "dictionary": "DICT_4X4_50"}, "dictionary"),
        ({"inverted": 1}, "inverted"),
    ],
)
def test_invalid_boards_are_refused(kwargs: dict, field: str) -> None:
    args = {"columns": 5, "rows": 7, "square_size_m": 0.04, "marker_size_m": 0.03}
    args |= {"dictionary": "DICT_5X5_100"} | kwargs
    with pytest.raises(ValueError, match=field):
        CharucoBoard(**args)


def test_unknown_dictionary_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown ArUco dictionary 'DICT_4x4_100'") as info:
        CharucoBoard(4, 5, 0.05, 0.04, "DICT_4x4_100")
    assert "valid: DICT_4X4_50, DICT_4X4_100, DICT_4X4_250, DICT_4X4_1000" in str(info.value)
    assert all(name in str(info.value) for name in aruco_dictionary_names())


def test_checkerboard_needs_three_corners_each_way() -> None:
    with pytest.raises(ValueError, match="inner_rows"):
        Checkerboard(9, 2, 0.025)


# ----------------------------------------------------------------------------- files


@pytest.mark.parametrize(
    "board",
    [
        *BOARDS,
        CharucoBoard(7, 9, 0.0123456789, 0.0098765, "DICT_APRILTAG_36h11"),
        Checkerboard(9, 6, 0.0254),
        Checkerboard(3, 4, 0.1 + 0.2),
    ],
    ids=lambda b: b.describe(),
)
def test_board_toml_round_trip(tmp_path: Path, board: CharucoBoard | Checkerboard) -> None:
    path = save_board(tmp_path / "board.toml", board)
    assert load_board(path) == board  # exact: millimetres are converted through decimal text
    assert not list(tmp_path.glob(".*.tmp"))  # the atomic write left no temporary file


def test_board_toml_is_readable_millimetres() -> None:
    text = board_to_toml(CharucoBoard(4, 5, 0.054, 0.0405, "DICT_4X4_1000", inverted=True))
    for line in ("square_size_mm = 54.0", "marker_size_mm = 40.5", "inverted = true"):
        assert line in text.splitlines()
    assert 'type = "charuco"' in text


def _check_caliscope_board(board: object) -> None:
    assert isinstance(board, CharucoBoard)
    assert (board.columns, board.rows) == (4, 5)
    assert board.square_size_m == pytest.approx(0.054, abs=1e-12)  # 5.4 cm override
    assert board.marker_size_m == pytest.approx(0.0405, abs=1e-12)  # 0.75 x 5.4 cm
    assert board.dictionary == "DICT_4X4_1000"
    assert board.inverted is True
    assert board.legacy_pattern is False


def test_caliscope_charuco_toml(tmp_path: Path) -> None:
    path = tmp_path / "charuco.toml"
    path.write_text(CALISCOPE_TOML, encoding="utf-8")
    _check_caliscope_board(load_board(path))


@pytest.mark.realdata
def test_caliscope_charuco_toml_real_file(shared_datasets: Path) -> None:
    path = shared_datasets / "caliscope_4cam_charuco" / "charuco.toml"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    _check_caliscope_board(load_board(path))


@pytest.mark.parametrize(("units", "to_cm"), [("inch", 1 / CALISCOPE_INCHES_PER_CM), ("cm", 1)])
def test_caliscope_square_from_the_board_size(units: str, to_cm: float) -> None:
    text = CALISCOPE_TOML.replace("square_size_override_cm = 5.4", "square_size_override_cm = 0")
    board = board_from_toml(text.replace('"inch"', f'"{units}"'))
    expected = min(11.0 * to_cm / 100 / 5, 8.5 * to_cm / 100 / 4)  # largest square that fits
    assert board.square_size_m == pytest.approx(expected, rel=1e-12)  # float rounding only
    assert board.marker_size_m == pytest.approx(0.75 * expected, rel=1e-12)
    if units == "inch":  # 8.5 in / 4 columns = 5.3975 cm, to caliscope's 6-digit constant
        assert board.square_size_m == pytest.approx(0.053975, rel=1e-5)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (GOOD_TOML.replace("columns = 5\n", ""), "columns"),
        (GOOD_TOML.replace("columns = 5", 'columns = "5"'), "columns"),
        (GOOD_TOML.replace("rows = 7", "rows = 1"), "rows"),
        (GOOD_TOML.replace('"DICT_5X5_100"', '"DICT_5x5_100"'), "dictionary"),
        (GOOD_TOML.replace("40.0", "-40.0"), "square_size_mm"),
        (GOOD_TOML.replace("30.0", "45.0"), "marker_size_mm"),
        (GOOD_TOML.replace('"charuco"', '"circles"'), "type"),
        (GOOD_TOML + "inverted = 1\n", "inverted"),
        (GOOD_TOML + "square_size_m = 0.04\n", "square_size_m"),
        (GOOD_TOML.replace('type = "charuco"\n', ""), "type"),
        ('type = "checkerboard"\ninner_columns = 9\ninner_rows = 6\n', "square_size_mm"),
        (CALISCOPE_TOML.replace("columns = 4\n", ""), "columns"),
        (CALISCOPE_TOML.replace("aruco_scale = 0.75", "aruco_scale = 1.5"), "aruco_scale"),
        (CALISCOPE_TOML.replace("= 5.4", "= 0").replace('"inch"', '"mm"'), "units"),
        (CALISCOPE_TOML.replace("= 5.4", "= 0").replace("board_width = 8.5\n", ""), "board_width"),
    ],
)
def test_bad_board_files_name_file_and_field(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "my board.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BoardFormatError) as info:
        load_board(path)
    message = str(info.value)
    assert str(path) in message
    assert f"field {field!r}" in message


def test_bad_dictionary_in_a_file_lists_the_valid_ones(tmp_path: Path) -> None:
    path = tmp_path / "board.toml"
    path.write_text(GOOD_TOML.replace('"DICT_5X5_100"', '"DICT_5x5_100"'), encoding="utf-8")
    with pytest.raises(BoardFormatError, match="valid: DICT_4X4_50, DICT_4X4_100"):
        load_board(path)


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "board.toml"
    path.write_text("columns = = 5\n", encoding="utf-8")
    with pytest.raises(BoardFormatError, match="not valid TOML"):
        load_board(path)
    with pytest.raises(FileNotFoundError, match=r"nope\.toml"):
        load_board(tmp_path / "nope.toml")


def test_default_lab_board_fits_a1_with_margins() -> None:
    board = default_lab_board()
    paper_w, paper_h = PAPER_SIZES_MM["A1"]
    square_mm = board.square_size_m * 1000
    assert (board.columns, board.rows) == (5, 7)
    assert board.dictionary.startswith("DICT_5X5_")
    assert square_mm == pytest.approx(round(square_mm), abs=1e-9)  # whole millimetres
    for paper, n in ((paper_w, board.columns), (paper_h, board.rows)):
        assert (paper - n * square_mm) / 2 >= PRINT_MARGIN_MM - 1e-9  # 1e-9: float rounding
    # the largest such square: one millimetre more breaks a margin
    assert min((paper_w - 5 * (square_mm + 1)) / 2, (paper_h - 7 * (square_mm + 1)) / 2) < 15
    assert board.marker_size_m * 1000 == pytest.approx(round(0.75 * square_mm), abs=1e-9)


# ----------------------------------------------------------------------------- printing


def _media_box(pdf_path: Path) -> tuple[list[float], dict[str, str]]:
    """The first page's MediaBox in points and the PDF's document information."""
    pdf = PdfParser.PdfParser(str(pdf_path))
    try:
        page = pdf.read_indirect(pdf.pages[0])
        box = [float(v) for v in page[PdfParser.PdfName("MediaBox")]]
        info = {k.name.decode(): PdfParser.decode_text(v) for k, v in pdf.info.items()}
    finally:
        pdf.close()
    return box, info


def _dark_run(row: np.ndarray, x: int) -> int:
    """Length of the run of dark pixels of ``row`` that contains column ``x``."""
    dark = row < 128
    assert dark[x]
    left = x - np.argmin(dark[x::-1]) + 1 if not dark[: x + 1].all() else 0
    right = x + np.argmin(dark[x:]) if not dark[x:].all() else len(row)
    return int(right - left)


def _check_page(result: PrintedBoard, paper_mm: tuple[float, float]) -> np.ndarray:
    """Checks common to every printed board; returns the page as (H, W) uint8."""
    dpi = result.dpi
    page = cv2.imread(str(result.png), cv2.IMREAD_GRAYSCALE)
    for px, mm in zip(page.shape[::-1], paper_mm, strict=True):
        assert abs(px - mm / 25.4 * dpi) <= 1  # within 1 px: the page is whole pixels
    # PNG stores whole pixels per metre: 0.5 px/m is 0.0127 dpi
    assert Image.open(result.png).info["dpi"] == pytest.approx((dpi, dpi), abs=0.013)
    box, info = _media_box(result.pdf)
    assert box[:2] == [0, 0]
    for points, mm in zip(box[2:], paper_mm, strict=True):
        assert abs(points - mm / 25.4 * 72) <= 0.5  # 0.5 pt: at most half a pixel at >= 100 dpi
    assert "print at 100 %" in info["Subject"]
    assert result.board.describe() in info["Title"]
    x0, y0, x1, y1 = result.ruler_box_px
    length = _dark_run(page[(y0 + y1) // 2], (x0 + x1) // 2)
    assert abs(length - RULER_MM / 25.4 * dpi) <= 1  # the ruler: 100 mm within 1 px
    assert y0 > result.board_box_px[3]  # drawn below the board, in the margin
    assert load_board(result.toml) == result.board
    assert result.toml == result.pdf.with_suffix(".toml")
    return page


@pytest.mark.parametrize(
    ("board", "paper", "dpi"),
    [
        (default_lab_board(), "A1", 200),
        (CharucoBoard(4, 5, 0.054, 0.0405, "DICT_4X4_1000", inverted=True), "A3", 150),
        (CharucoBoard(5, 4, 0.05, 0.037, "DICT_5X5_50", legacy_pattern=True), (300.0, 260.0), 120),
    ],
    ids=["lab-A1", "caliscope-inverted-A3", "legacy-custom-paper"],
)
def test_printable_charuco_board_is_true_scale(
    tmp_path: Path, board: CharucoBoard, paper: str | tuple[float, float], dpi: int
) -> None:
    result = write_printable_board(
        board, tmp_path / "board.pdf", tmp_path / "board.png", paper, dpi
    )
    page = _check_page(result, result.paper_mm)
    if isinstance(paper, str):
        named = PAPER_SIZES_MM[paper]
        assert sorted(result.paper_mm) == sorted(named)
    corners, ids, _, _ = _detector(board).detectBoard(page)
    assert ids is not None
    assert len(ids) == len(board.corner_points())
    found = dict(zip(ids.ravel().tolist(), corners.reshape(-1, 2), strict=True))
    nx, ny = board.columns - 1, board.rows - 1
    spans = [(0, nx - 1, nx - 1), (0, nx * (ny - 1), ny - 1)]  # across and down the board
    for a, b, squares in spans:
        mm = np.linalg.norm(found[a] - found[b]) / squares / dpi * 25.4
        # 0.5 %: squares land on whole pixels (<= 1 px of a 100+ px span) and detection noise
        assert mm == pytest.approx(board.square_size_m * 1000, rel=0.005)


def test_printable_checkerboard_is_true_scale(tmp_path: Path) -> None:
    board = Checkerboard(9, 6, 0.025)
    result = write_printable_board(board, tmp_path / "c.pdf", tmp_path / "c.png", "A4", 150)
    assert result.paper_mm == (297.0, 210.0)  # turned to landscape for a wide board
    page = _check_page(result, result.paper_mm)
    found, corners = cv2.findChessboardCorners(page, (9, 6))
    assert found
    corners = corners.reshape(-1, 2)
    span_mm = np.linalg.norm(corners[8] - corners[0]) / 8 / 150 * 25.4
    assert span_mm == pytest.approx(25.0, rel=0.005)  # 0.5 %: whole-pixel squares


def test_paper_too_small_says_so(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"'A2' \(420 x 594 mm\) is too small.*560 x 784 mm"):
        write_printable_board(default_lab_board(), tmp_path / "b.pdf", paper="A2")
    assert not (tmp_path / "b.pdf").exists()
    with pytest.raises(ValueError, match="unknown paper 'B5'"):
        write_printable_board(default_lab_board(), tmp_path / "b.pdf", paper="B5")


def test_marker_sheet(tmp_path: Path) -> None:
    result = write_marker_sheet(tmp_path / "m.pdf", out_png=tmp_path / "m.png", dpi=300)
    assert result.names == tuple(f"{SPINE_MARKERS[i]} (id {i})" for i in range(4))
    page = cv2.imread(str(result.png), cv2.IMREAD_GRAYSCALE)
    detector = cv2.aruco.ArucoDetector(cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50))
    corners, ids, _ = detector.detectMarkers(page)
    assert ids is not None
    assert sorted(ids.ravel().tolist()) == [0, 1, 2, 3]
    for quad in corners:
        side_mm = np.linalg.norm(np.diff(quad.reshape(4, 2), axis=0), axis=1) / 300 * 25.4
        assert side_mm == pytest.approx(30.0, rel=0.01)  # 1 %: whole pixels, ~354 px per side
    box, info = _media_box(result.pdf)
    for points, mm in zip(box[2:], PAPER_SIZES_MM["A4"], strict=True):
        assert abs(points - mm / 25.4 * 72) <= 0.5  # half a pixel at 300 dpi is 0.12 pt
    assert "30 mm" in info["Keywords"]
