"""The calibration HTML report of a small synthetic calibration, read back and parsed.

Three cameras (one with characters HTML must escape in its name), 30 frames of a waved
board, true intrinsics held fixed: the calibration takes under a second, the report a few.
"""

from __future__ import annotations

import base64
import io
import subprocess
import sys
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from calibration.boards import CharucoBoard
from calibration.calibrate import CalibrationResult, calibrate_rig
from calibration.camera import CameraRig
from calibration.coverage import calibration_warnings
from calibration.detection import BoardDetection
from calibration.intrinsics import IntrinsicsResult
from calibration.report import calibration_report_html, write_calibration_report
from datasets.synthetic.board_views import project_views, waving_poses
from datasets.synthetic.rigs import ring_rig

ROOT = Path(__file__).resolve().parents[1]
ODD_NAME = 'side <B&W> "$2$"'  # HTML markup, and mathtext for matplotlib
PNG_PREFIX = "data:image/png;base64,"


class Parsed(HTMLParser):
    """The report's images, camera-table rows (cell texts), text pieces and tag names."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []
        self.rows: dict[str, list[str]] = {}
        self.text: list[str] = []
        self.tags: set[str] = set()
        self._row: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.tags.add(tag)
        if tag == "img":
            self.images.append(values)
        elif tag == "tr" and "data-camera" in values:
            self._row = values["data-camera"]
            self.rows[self._row] = []
        elif tag == "td" and self._row is not None:
            self.rows[self._row].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._row is not None and self.rows[self._row]:
            self.rows[self._row][-1] += data


def _parse(text: str) -> Parsed:
    parsed = Parsed()
    parsed.feed(text)
    parsed.close()
    return parsed


def _png(image: dict[str, str]) -> np.ndarray:
    assert image["src"].startswith(PNG_PREFIX)
    data = base64.b64decode(image["src"][len(PNG_PREFIX) :], validate=True)
    with Image.open(io.BytesIO(data)) as png:
        assert png.format == "PNG"
        return np.asarray(png.convert("RGB"))


@pytest.fixture(scope="module")
def calibration() -> tuple[CalibrationResult, list[BoardDetection], CharucoBoard]:
    board = CharucoBoard(5, 7, 0.11, 0.08, "DICT_5X5_100")
    truth = ring_rig(3, seed=1)
    rig = CameraRig((*truth.cameras[:2], replace(truth.cameras[2], name=ODD_NAME)))
    views = project_views(rig, board, waving_poses(board, 30, seed=2), noise_px=0.3, seed=3)
    result = calibrate_rig(
        views, board, {c.name: c.size for c in rig}, fixed_intrinsics={c.name: c for c in rig}
    )
    return result, views, board


@pytest.fixture(scope="module")
def report(
    calibration: tuple[CalibrationResult, list[BoardDetection], CharucoBoard],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[str, Parsed, Path]:
    result, views, board = calibration
    path = tmp_path_factory.mktemp("report") / "calibration.html"
    write_calibration_report(result, views, board, path)
    text = path.read_text(encoding="utf-8")
    return text, _parse(text), path


def test_report_is_self_contained(report: tuple[str, Parsed, Path]) -> None:
    """Exact: no script, stylesheet link or non-embedded image; no temporary file left."""
    text, parsed, path = report
    assert text.startswith("<!DOCTYPE html>")
    assert not parsed.tags & {"script", "link", "iframe", "object"}
    assert parsed.images
    assert all(image["src"].startswith(PNG_PREFIX) for image in parsed.images)
    assert "http://" not in text
    assert "https://" not in text
    assert [p.name for p in path.parent.iterdir()] == ["calibration.html"]


def test_one_heat_map_per_camera_and_the_layout(
    calibration: tuple, report: tuple[str, Parsed, Path]
) -> None:
    """Exact: counts of tagged images."""
    result, _, _ = calibration
    _, parsed, _ = report
    heatmaps = [i["data-camera"] for i in parsed.images if i["class"] == "heatmap"]
    assert heatmaps == list(result.rig.names)
    assert [i["class"] for i in parsed.images].count("layout-3d") == 1
    assert [i["class"] for i in parsed.images].count("layout-top") == 1
    assert [i["class"] for i in parsed.images].count("board-size") == 1


def test_images_decode_and_are_not_blank(report: tuple[str, Parsed, Path]) -> None:
    """Pixel variance > 0: a blank (single-colour) figure would have none."""
    _, parsed, _ = report
    for image in parsed.images:
        pixels = _png(image)
        assert pixels.shape[0] > 200, image["alt"]
        assert pixels.shape[1] > 300, image["alt"]
        assert pixels.astype(float).var() > 0, image["alt"]


def test_camera_table(calibration: tuple, report: tuple[str, Parsed, Path]) -> None:
    """Exact: the numbers are the result's, formatted with two decimals."""
    result, views, _ = calibration
    text, parsed, _ = report
    assert list(parsed.rows) == list(result.rig.names)
    assert "side &lt;B&amp;W&gt; &quot;$2$&quot;" in text  # escaped, never raw markup
    assert ODD_NAME not in text
    for cam in result.rig:
        row = parsed.rows[cam.name]
        assert row[0] == cam.name
        assert row[1] == f"{cam.size[0]} × {cam.size[1]}"
        assert row[2] == f"{cam.matrix[0, 0]:.1f} / {cam.matrix[1, 1]:.1f}"
        assert row[4] == str(len({v.frame for v in views if v.camera == cam.name}))
        assert row[5] == str(sum(len(v) for v in views if v.camera == cam.name))
        assert row[7] == f"{result.metadata.errors[cam.name]:.2f}"
        assert row[8:10] == ["fixed", "–"]
        assert row[10] == f"{result.quality.reprojection_rms_px[cam.name]:.2f}"


def test_summary_warnings_and_board_size(
    calibration: tuple, report: tuple[str, Parsed, Path]
) -> None:
    """Exact: the report's text holds the result's numbers as formatted and every warning."""
    result, views, board = calibration
    _, parsed, _ = report
    text = "".join(parsed.text)
    check = result.quality
    assert f"{check.rms_mm:.2f} mm RMS" in text
    assert f"95th percentile {check.p95_mm:.2f} mm" in text
    assert f"{check.n_pairs} neighbour pairs" in text
    assert board.describe() in text
    assert result.metadata.software in text
    warnings = calibration_warnings(result, views)
    assert warnings  # 30 frames around the rig's centre: few frames, centred corners
    for warning in warnings:
        assert warning in text


def test_intrinsics_columns_and_missing_histogram(calibration: tuple) -> None:
    """Exact: estimated intrinsics show their RMS and rejected frames; no deviations, no plot."""
    result, views, board = calibration
    first = result.rig.names[0]
    intrinsics = {first: IntrinsicsResult(first, True, "ok", rms_px=0.456, rejected_frames=(4, 9))}
    quality = replace(result.quality, deviations_mm=np.zeros(0))
    changed = replace(result, intrinsics=intrinsics, quality=quality)
    parsed = _parse(calibration_report_html(changed, views, board))
    assert parsed.rows[first][8:10] == ["0.46", "2 (4, 9)"]
    assert parsed.rows[result.rig.names[1]][8] == "fixed"
    assert "board-size" not in [i["class"] for i in parsed.images]
    assert "Per-pair deviations were not kept" in "".join(parsed.text)


def test_camera_without_views_gets_an_empty_heat_map(calibration: tuple) -> None:
    """Exact: the report is still written, with that camera's (blank-celled) heat map."""
    result, views, board = calibration
    last = result.rig.names[-1]
    mine = [v for v in views if v.camera != last]
    parsed = _parse(calibration_report_html(result, mine, board))
    heatmaps = {i["data-camera"]: i for i in parsed.images if i["class"] == "heatmap"}
    assert list(heatmaps) == list(result.rig.names)
    assert _png(heatmaps[last]).astype(float).var() > 0  # frame, axes and title are drawn
    assert f"{last} never saw the board" in "".join(parsed.text)
    assert parsed.rows[last][4:7] == ["0", "0", "0 %"]


def test_importing_the_report_does_not_import_matplotlib() -> None:
    """Exact: matplotlib is imported only while a report is written."""
    code = "import sys, calibration.report; assert 'matplotlib' not in sys.modules"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
