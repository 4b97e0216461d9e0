"""The calibration report: one self-contained HTML file a lab user reads at a glance.

:func:`write_calibration_report` writes the summary (date, software, board, cameras,
frames), the warnings of :func:`calibration.coverage.calibration_warnings`, a table per
camera, a heat map per camera of where its corners were detected, the cameras, floor and
board positions in 3D and from above, and the board-size check. Figures are PNG images
embedded as base64; there is no script and no external file.

matplotlib is imported only while a report is written, and only its ``Figure`` and Agg
canvas: importing ``calibration`` stays light and never selects a GUI backend.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from calibration.camera import Camera, CameraRig
from calibration.coverage import (
    CENTRE_BOX,
    COVERAGE_GRID,
    CameraCoverage,
    IntArray,
    calibration_warnings,
    camera_corners,
    camera_coverage,
    coverage_grid,
    shared_frames,
)
from calibration.detection import BoardDetection
from calibration.figures import new_figure, png_base64
from calibration.files import atomic_write_text
from calibration.geometry import FloatArray
from calibration.quality import MeasuredBoard

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from mpl_toolkits.mplot3d.axes3d import Axes3D

    from calibration.calibrate import CalibrationResult

HEATMAP_COLUMNS = 32
"""Columns of the heat maps' grid; rows follow the image's aspect ratio (18 for 16:9)."""

MAX_BOARDS_DRAWN = 80
"""Board outlines drawn in the 3D view (evenly chosen among the frames); more hide the rig."""

FRUSTUM_SCALE = 0.1
"""Depth of the drawn camera frusta, as a fraction of the scene's size."""

CAMERA_COLOURS = (
    "tab:orange",
    "tab:purple",
    "tab:brown",
    "tab:pink",
    "tab:olive",
    "tab:cyan",
    "darkgoldenrod",
    "darkslategray",
)
"""Camera colours in the layout figures (cycled): none is the red, green or blue of the
world's X, Y and Z axes."""

BOARD_COLOUR = "0.5"
"""Grey for the boards."""

DPI = 100
"""Resolution of the embedded figures (their sizes are set in inches)."""

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px;
       color: #222; line-height: 1.4; padding: 0 1em; }
h1 { margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th { background: #f0f0f0; }
td:first-child, th:first-child { text-align: left; }
table.summary th { text-align: left; }
table.summary td { text-align: left; }
.warnings { background: #fff4e0; border-left: 5px solid #e69500; padding: 0.5em 1em; }
.ok { background: #e9f7ec; border-left: 5px solid #2e9e4f; padding: 0.5em 1em; }
.figures { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; }
img { max-width: 100%; height: auto; }
.note { font-size: 0.9em; color: #555; }
"""


class ReportBoard(MeasuredBoard, Protocol):
    """A board that can describe itself (``calibration.boards.CharucoBoard``, ``Checkerboard``)."""

    def describe(self) -> str:
        """One-line description of the board."""
        ...


# ----------------------------------------------------------------------------- figures


def _new_figure(width_in: float, height_in: float, layout: str | None = "constrained") -> Figure:
    """An Agg figure at this report's resolution."""
    return new_figure(width_in, height_in, DPI, layout)


def _plain(text: str) -> str:
    """``text`` for a matplotlib label: dollar signs escaped, so no mathtext is parsed."""
    return text.replace("$", r"\$")


def _png_base64(figure: Figure) -> str:
    """The figure as a base64-encoded PNG."""
    return png_base64(figure, DPI)


def heatmap_figure(coverage: CameraCoverage, corners: FloatArray) -> Figure:
    """Heat map of one camera's detected corners over its image, the image frame drawn.

    Parameters
    ----------
    coverage : CameraCoverage
        The camera's coverage (title numbers).
    corners : (N, 2) float array
        Its detected corners, pixels.
    """
    from matplotlib import colormaps
    from matplotlib.patches import Rectangle

    width, height = coverage.image_size
    rows = max(1, round(HEATMAP_COLUMNS * height / width))
    grid = coverage_grid(corners, coverage.image_size, (rows, HEATMAP_COLUMNS))
    figure = _new_figure(5.6, 0.9 + 4.2 * height / width)
    ax = figure.add_subplot()
    extent = (-0.5, width - 0.5, height - 0.5, -0.5)
    shown = np.ma.masked_equal(grid, 0)  # cells without corners stay white
    cmap = colormaps["viridis"].with_extremes(bad="white")
    top = max(1, int(grid.max()))
    image = ax.imshow(shown, extent=extent, cmap=cmap, interpolation="nearest", vmin=1, vmax=top)
    ax.add_patch(Rectangle((-0.5, -0.5), width, height, fill=False, lw=2, ec="black"))
    box_w, box_h = CENTRE_BOX * width, CENTRE_BOX * height
    corner = ((width - box_w) / 2 - 0.5, (height - box_h) / 2 - 0.5)
    ax.add_patch(Rectangle(corner, box_w, box_h, fill=False, lw=1, ls="--", ec="0.4"))
    margin = 0.03 * width
    ax.set_xlim(-0.5 - margin, width - 0.5 + margin)
    ax.set_ylim(height - 0.5 + margin, -0.5 - margin)
    ax.set_aspect("equal")
    ax.set_xlabel("x (px)")
    ax.set_ylabel("y (px)")
    ax.set_title(
        f"{_plain(coverage.camera)}: {coverage.n_frames} frames, {coverage.n_corners} corners, "
        f"{100 * coverage.fraction:.0f} % covered",
        fontsize=11,
    )
    if grid.any():
        figure.colorbar(image, ax=ax, shrink=0.8, label="corners per cell")
    else:
        ax.text(width / 2, height / 2, "no corners detected", ha="center", va="center")
    return figure


def _frustum(camera: Camera, depth: float) -> FloatArray:
    """(5, 3) world points: the camera centre, then its image corners ``depth`` m ahead."""
    width, height = camera.size
    pixels = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)
    rays = np.column_stack([pixels, np.ones(4)]) @ np.linalg.inv(camera.matrix).T
    world = rays @ camera.rotation_matrix  # R^T applied to each ray
    return np.vstack([camera.center, camera.center + depth * world])


def _board_outline(board: MeasuredBoard) -> FloatArray:
    """(5, 4) homogeneous board points: the corners' bounding rectangle, closed."""
    corners = board.corner_points()
    (x0, y0), (x1, y1) = corners[:, :2].min(axis=0), corners[:, :2].max(axis=0)
    outline = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]])
    return np.column_stack([outline, np.zeros(5), np.ones(5)])


def _drawn_frames(frames: Sequence[int], origin: int) -> list[int]:
    """At most ``MAX_BOARDS_DRAWN`` frames, evenly spread, always with the origin frame."""
    ordered = sorted(frames)
    if len(ordered) > MAX_BOARDS_DRAWN:
        pick = np.linspace(0, len(ordered) - 1, MAX_BOARDS_DRAWN).round().astype(int)
        ordered = [ordered[i] for i in pick]
    return sorted({*ordered, origin} & set(frames))


def _scene_bounds(rig: CameraRig, shapes: Iterable[FloatArray]) -> tuple[FloatArray, FloatArray]:
    """(3,) lower and upper corners of a box holding the cameras, shapes and world origin.

    ``shapes`` are (K, 3) arrays of world points: board outlines, camera frusta.
    """
    points = [cam.center for cam in rig] + list(shapes) + [np.zeros(3)]
    stacked = np.vstack([np.reshape(p, (-1, 3)) for p in points])
    return stacked.min(axis=0), stacked.max(axis=0)


def _floor_ticks(low: float, high: float) -> FloatArray:
    """Floor grid positions every 0.5 m (or 1 m for rooms over 10 m) covering [low, high]."""
    step = 0.5 if high - low <= 10.0 else 1.0
    return np.arange(np.floor(low / step) * step, np.ceil(high / step) * step + step / 2, step)


def _draw_cameras_3d(ax: Axes3D, rig: CameraRig, depth: float) -> None:
    """Camera centres, frusta and names in a 3D axes."""
    for i, cam in enumerate(rig):
        colour = CAMERA_COLOURS[i % len(CAMERA_COLOURS)]
        tip = _frustum(cam, depth)
        for corner in tip[1:]:
            ax.plot(*np.column_stack([tip[0], corner]), color=colour, lw=1)
        ring = tip[[1, 2, 3, 4, 1]]
        ax.plot(*ring.T, color=colour, lw=1.5)
        ax.plot(*tip[[1, 2]].T, color=colour, lw=3)  # thick edge: the image's top
        ax.scatter(*cam.center, color=colour, s=30, depthshade=False)
        ax.text(
            *(cam.center + np.array([0.0, 0.0, 0.35 * depth])),
            _plain(cam.name),
            fontsize=11,
            weight="bold",
            color=colour,
            ha="center",
            bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1},
        )


def _draw_floor_3d(ax: Axes3D, low: FloatArray, high: FloatArray, axis_m: float) -> None:
    """The Z = 0 floor as a grid, and the world axes at the origin."""
    xs, ys = _floor_ticks(low[0], high[0]), _floor_ticks(low[1], high[1])
    for x in xs:
        ax.plot([x, x], [ys[0], ys[-1]], [0, 0], color="0.8", lw=0.6)
    for y in ys:
        ax.plot([xs[0], xs[-1]], [y, y], [0, 0], color="0.8", lw=0.6)
    for k, (label, colour) in enumerate(zip("XYZ", ("red", "green", "blue"), strict=True)):
        end = np.zeros(3)
        end[k] = axis_m
        ax.plot(*np.column_stack([np.zeros(3), end]), color=colour, lw=2.5)
        ax.text(*(1.15 * end), label, color=colour, fontsize=10, weight="bold")


def _board_outlines(result: CalibrationResult, board: MeasuredBoard) -> dict[int, FloatArray]:
    """World outlines (5, 3) of the drawn boards (``_drawn_frames``), by frame."""
    frames = _drawn_frames(list(result.board_poses), result.origin_frame)
    outline = _board_outline(board)
    return {f: (outline @ result.board_poses[f].T)[:, :3] for f in frames}


def _equal_3d(ax: Axes3D, low: FloatArray, high: FloatArray) -> None:
    """Equal scale on the three axes over the box [low, high]."""
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_zlim(low[2], high[2])
    ax.set_box_aspect(tuple(np.maximum(high - low, 1e-3)), zoom=1.2)


def layout_3d_figure(result: CalibrationResult, board: MeasuredBoard) -> Figure:
    """The cameras (frusta, names), the Z = 0 floor and the board positions, in 3D."""
    outlines = _board_outlines(result, board)
    low, high = _scene_bounds(result.rig, outlines.values())
    size = float(np.max(high - low))
    frusta = [_frustum(cam, FRUSTUM_SCALE * size) for cam in result.rig]
    low, high = _scene_bounds(result.rig, [*outlines.values(), *frusta])
    low, high = low - 0.03 * size, high + 0.03 * size
    figure = _new_figure(9.0, 6.0, layout=None)  # constrained layout mis-sizes 3D axes
    ax = figure.add_axes((0.0, 0.0, 1.0, 0.94), projection="3d")
    _draw_floor_3d(ax, low, high, axis_m=0.1 * size)
    for frame, corners in outlines.items():
        origin = frame == result.origin_frame
        ax.plot(*corners.T, color="black" if origin else BOARD_COLOUR, lw=2 if origin else 0.7)
    _draw_cameras_3d(ax, result.rig, depth=FRUSTUM_SCALE * size)
    _equal_3d(ax, low, high)
    ax.grid(False)
    ax.view_init(elev=28, azim=-60)
    ax.set_xlabel("X (m)")
    ax.set_ylabel("Y (m)")
    ax.set_zlabel("Z (m)")
    ax.set_title("Cameras, floor (Z = 0) and board positions (black: the origin board)")
    return figure


def _draw_cameras_top(ax: Axes, rig: CameraRig, depth: float, middle: FloatArray) -> None:
    """Camera centres, horizontal field of view and names seen from above."""
    for i, cam in enumerate(rig):
        colour = CAMERA_COLOURS[i % len(CAMERA_COLOURS)]
        tip = _frustum(cam, depth)
        for corner in tip[1:]:
            ax.plot(*np.column_stack([tip[0, :2], corner[:2]]), color=colour, lw=1)
        ax.plot(*tip[[1, 2, 3, 4, 1], :2].T, color=colour, lw=1)
        ax.plot(*cam.center[:2], "o", color=colour, ms=7)
        away = cam.center[:2] - middle
        away = away / max(float(np.linalg.norm(away)), 1e-9)
        ax.annotate(
            _plain(cam.name),
            cam.center[:2],
            xytext=tuple(9 * away),
            textcoords="offset points",
            ha=_side(away[0], ("right", "center", "left")),
            va=_side(away[1], ("top", "center", "bottom")),
            fontsize=11,
            weight="bold",
            color=colour,
        )


def _side(direction: float, words: tuple[str, str, str]) -> str:
    """Text alignment for a label placed in ``direction`` (-1..1): words for -, 0, +."""
    return words[0] if direction < -0.4 else words[2] if direction > 0.4 else words[1]


def layout_top_figure(result: CalibrationResult, board: MeasuredBoard) -> Figure:
    """The cameras, the board centres and the world axes seen from above (X right, Y up)."""
    outlines = _board_outlines(result, board)
    low, high = _scene_bounds(result.rig, outlines.values())
    size = float(np.max(high[:2] - low[:2]))
    figure = _new_figure(7.0, 7.0)
    ax = figure.add_subplot()
    middle = _board_outline(board)[:4].mean(axis=0)  # homogeneous board point
    board_centres = np.array([pose @ middle for pose in result.board_poses.values()])
    if len(board_centres):
        ax.scatter(*board_centres[:, :2].T, s=8, color=BOARD_COLOUR, label="board centres")
    if result.origin_frame in outlines:
        ax.plot(*outlines[result.origin_frame][:, :2].T, color="black", lw=2, label="origin board")
    axis = 0.1 * size
    ax.annotate("", (axis, 0), (0, 0), arrowprops={"arrowstyle": "->", "color": "red", "lw": 2})
    ax.annotate("", (0, axis), (0, 0), arrowprops={"arrowstyle": "->", "color": "green", "lw": 2})
    ax.text(1.15 * axis, 0, "X", color="red", weight="bold", va="center")
    ax.text(0, 1.15 * axis, "Y", color="green", weight="bold", ha="center")
    _draw_cameras_top(ax, result.rig, FRUSTUM_SCALE * size, (low[:2] + high[:2]) / 2)
    ax.set_aspect("equal")
    ax.margins(0.12)
    ax.grid(True, color="0.85")
    ax.set_xlabel("X (m)")
    ax.set_ylabel("Y (m)")
    ax.set_title("Top view (floor plan)")
    ax.legend(loc="best", fontsize=9)
    return figure


def board_size_figure(deviations_mm: FloatArray, square_mm: float, rms_mm: float) -> Figure:
    """Histogram of measured neighbour distance minus the square size, millimetres."""
    figure = _new_figure(6.5, 3.6)
    ax = figure.add_subplot()
    ax.hist(deviations_mm, bins=min(60, max(10, len(deviations_mm) // 20)), color="tab:blue")
    ax.axvline(0.0, color="black", lw=1)
    for sign in (-1, 1):
        ax.axvline(sign * rms_mm, color="tab:red", ls="--", lw=1)
    ax.set_xlabel(f"measured distance - square size ({square_mm:.1f} mm), mm")
    ax.set_ylabel("neighbour pairs")
    ax.set_title(f"Board-size check: {len(deviations_mm)} pairs, dashed: ±RMS {rms_mm:.2f} mm")
    return figure


# ----------------------------------------------------------------------------- HTML


def _number(value: float | None, digits: int = 2) -> str:
    """``value`` with ``digits`` decimals, or an en dash when missing or NaN."""
    if value is None or not np.isfinite(value):
        return "–"
    return f"{value:.{digits}f}"


def _img(data: str, alt: str, css_class: str, camera: str = "") -> str:
    """An ``<img>`` tag embedding base64 PNG ``data``."""
    extra = f' data-camera="{html.escape(camera)}"' if camera else ""
    return (
        f'<img class="{css_class}"{extra} alt="{html.escape(alt)}" '
        f'src="data:image/png;base64,{data}">'
    )


def _row(cells: Sequence[str], header: bool = False, camera: str = "") -> str:
    """A table row of already escaped cells."""
    tag = "th" if header else "td"
    attr = f' data-camera="{html.escape(camera)}"' if camera else ""
    return f"<tr{attr}>" + "".join(f"<{tag}>{c}</{tag}>" for c in cells) + "</tr>"


_CAMERA_COLUMNS = (
    "Camera",
    "Image (px)",
    "Focal length fx / fy (px)",
    "Principal point (px)",
    "Frames with board",
    "Corners",
    "Image covered",
    "Bundle adjustment RMS (px)",
    "Intrinsics RMS (px)",
    "Rejected views",
    "Triangulated corners RMS (px)",
    "Frames shared with",
)


def _intrinsics_cells(result: CalibrationResult, name: str) -> list[str]:
    """Intrinsics RMS and rejected views (count, first 10 frames) of one camera.

    "fixed" when the intrinsics were given rather than estimated.
    """
    intrinsics = result.intrinsics.get(name)
    if intrinsics is None:
        return ["fixed", "–"]
    if not intrinsics.success:
        return ["failed", "–"]
    count = len(intrinsics.rejected_frames)
    rejected = ", ".join(str(f) for f in intrinsics.rejected_frames[:10])
    rejected += ", …" if count > 10 else ""
    return [_number(intrinsics.rms_px), f"{count} ({rejected})" if count else "0"]


def _shared_cell(names: Sequence[str], shared: IntArray, index: int) -> str:
    """Frames in which camera ``index`` and each other camera both saw the board."""
    others = [j for j in range(len(names)) if j != index]
    return ", ".join(f"{names[j]}: {shared[index, j]}" for j in others) or "–"


def _camera_row(
    result: CalibrationResult, cam: Camera, coverage: CameraCoverage, shared: str
) -> str:
    """One camera's row of the per-camera table; ``shared``: its shared-frames cell."""
    (fx, _, cx), (_, fy, cy) = cam.matrix[0], cam.matrix[1]
    cells = [
        html.escape(cam.name),
        f"{cam.size[0]} × {cam.size[1]}",
        f"{fx:.1f} / {fy:.1f}",
        f"({cx:.1f}, {cy:.1f})",
        str(coverage.n_frames),
        str(coverage.n_corners),
        f"{100 * coverage.fraction:.0f} %",
        _number(result.metadata.errors.get(cam.name)),
        *(html.escape(c) for c in _intrinsics_cells(result, cam.name)),
        _number(result.quality.reprojection_rms_px.get(cam.name)),
        html.escape(shared),
    ]
    return _row(cells, camera=cam.name)


def _when(created: str) -> str:
    """``2025-03-01T14:05:09Z`` -> ``2025-03-01 14:05 UTC``; other text unchanged."""
    try:
        moment = dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return created or "unknown"
    if moment.utcoffset() == dt.timedelta(0):
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return moment.isoformat(sep=" ", timespec="minutes")


def _summary(result: CalibrationResult, views: Sequence[BoardDetection], board: ReportBoard) -> str:
    """The summary table."""
    meta = result.metadata
    names = set(result.rig.names)
    frames = {v.frame for v in views if v.camera in names}
    check = result.quality
    rows = [
        ("Created", _when(meta.created)),
        ("Software", meta.software or "unknown"),
        ("Board", board.describe()),
        ("Cameras", f"{len(result.rig)}: {', '.join(result.rig.names)}"),
        (
            "Frames",
            f"{len(frames)} with the board in some camera, {len(result.board_poses)} in the "
            f"bundle adjustment; the world's origin and axes come from the board in frame "
            f"{result.origin_frame}",
        ),
        (
            "Board-size check",
            f"{_number(check.rms_mm)} mm RMS, 95th percentile {_number(check.p95_mm)} mm, "
            f"{check.n_pairs} neighbour pairs",
        ),
    ]
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="summary">{body}</table>'


def _warnings(warnings: Sequence[str]) -> str:
    """The warnings box (or a short all-clear)."""
    if not warnings:
        return '<p class="ok">No warnings: every check is within its threshold.</p>'
    items = "".join(f"<li>{html.escape(w)}</li>" for w in warnings)
    return f'<div class="warnings"><ul>{items}</ul></div>'


def _heatmaps(result: CalibrationResult, views: Sequence[BoardDetection]) -> str:
    """One heat map figure per camera."""
    parts = []
    for cam in result.rig:
        coverage = camera_coverage(views, cam.name, cam.size)
        data = _png_base64(heatmap_figure(coverage, camera_corners(views, cam.name)))
        alt = f"coverage heat map of {cam.name}"
        parts.append(f"<figure>{_img(data, alt, 'heatmap', cam.name)}</figure>")
    return '<div class="figures">' + "".join(parts) + "</div>"


def _board_size_section(result: CalibrationResult, board: ReportBoard) -> str:
    """Board-size numbers and, when the per-pair deviations were kept, their histogram."""
    check = result.quality
    square_mm = 1000.0 * board.square_size_m
    text = (
        f"<p>The board's corners seen by two or more cameras were triangulated with this "
        f"calibration and the distances between neighbouring corners compared with the "
        f"square size ({square_mm:.1f} mm): <b>{_number(check.rms_mm)} mm RMS</b>, "
        f"95th percentile <b>{_number(check.p95_mm)} mm</b> over {check.n_pairs} pairs.</p>"
    )
    deviations = np.asarray(check.deviations_mm)
    if deviations.size == 0:
        return text + '<p class="note">Per-pair deviations were not kept: no histogram.</p>'
    figure = board_size_figure(deviations, square_mm, check.rms_mm)
    image = _img(_png_base64(figure), "board-size check histogram", "board-size")
    return text + f"<figure>{image}</figure>"


def calibration_report_html(
    result: CalibrationResult, views: Sequence[BoardDetection], board: ReportBoard
) -> str:
    """The report as one HTML document (figures embedded; no script, no external file).

    Parameters
    ----------
    result : CalibrationResult
        The calibration.
    views : sequence of BoardDetection
        The board detections it was made from.
    board : ReportBoard
        The board (its description and square size).
    """
    names = list(result.rig.names)
    shared = shared_frames(views, names)
    table = [_row(_CAMERA_COLUMNS, header=True)]
    for i, cam in enumerate(result.rig):
        coverage = camera_coverage(views, cam.name, cam.size)
        table.append(_camera_row(result, cam, coverage, _shared_cell(names, shared, i)))
    layout_3d = _img(_png_base64(layout_3d_figure(result, board)), "3D layout", "layout-3d")
    layout_top = _img(_png_base64(layout_top_figure(result, board)), "top view", "layout-top")
    centre = f"{100 * CENTRE_BOX:.0f} %"
    rows, cols = COVERAGE_GRID
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Calibration report</title>
<style>{_CSS}</style>
</head>
<body>
<h1>Calibration report</h1>
{_summary(result, views, board)}
<h2>Warnings</h2>
{_warnings(calibration_warnings(result, views))}
<h2>Cameras</h2>
<table class="cameras">{"".join(table)}</table>
<p class="note">Bundle adjustment RMS: all board views against the final calibration.
Intrinsics RMS: each camera's own lens calibration ("fixed": intrinsics were given).
Triangulated corners RMS: corners triangulated from all cameras, re-projected.
Image covered: share of the image's {cols} x {rows} grid cells holding a detected corner.
Frames shared with: frames in which both cameras saw the board.</p>
<h2>Where each camera saw the board</h2>
<p class="note">Detected corners per image cell (white: none). Black frame: the image;
dashed: its centre (the middle {centre} of its width and height).</p>
{_heatmaps(result, views)}
<h2>Cameras, floor and boards</h2>
<p class="note">World frame: metres, Z up, the floor at Z = 0. Each camera is drawn with its
field of view (the thick edge is the top of its image).</p>
<div class="figures"><figure>{layout_3d}</figure><figure>{layout_top}</figure></div>
<h2>Board-size check</h2>
{_board_size_section(result, board)}
</body>
</html>
"""


def write_calibration_report(
    result: CalibrationResult,
    views: Sequence[BoardDetection],
    board: ReportBoard,
    path: Path,
) -> None:
    """Write the calibration report to ``path`` (HTML, atomically).

    Parameters
    ----------
    result : CalibrationResult
        The calibration.
    views : sequence of BoardDetection
        The board detections it was made from.
    board : ReportBoard
        The board: ``describe()``, ``square_size_m``, ``corner_points()``.
    path : Path
        The HTML file; its folder must exist.
    """
    atomic_write_text(path, calibration_report_html(result, views, board))
