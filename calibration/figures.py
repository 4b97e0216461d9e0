"""Figures for the HTML reports: matplotlib's Agg canvas only, embedded as base64 PNG.

Shared by the calibration, hinge and study reports. matplotlib is imported inside the
functions, only while a report is written (``mocap --help`` and the numeric core stay light).
"""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING

REPORT_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px;
       color: #222; line-height: 1.4; padding: 0 1em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th { background: #f0f0f0; }
td:first-child, th:first-child, td.text { text-align: left; }
table.summary th, table.summary td { text-align: left; }
.warnings { background: #fff4e0; border-left: 5px solid #e69500; padding: 0.5em 1em; }
.ok { background: #e9f7ec; border-left: 5px solid #2e9e4f; padding: 0.5em 1em; }
img { max-width: 100%; height: auto; }
.note { font-size: 0.9em; color: #555; }
"""
"""The page style the hinge and study reports share (they add their own classes)."""

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def new_figure(
    width_in: float, height_in: float, dpi: float, layout: str | None = "constrained"
) -> Figure:
    """A matplotlib Figure drawn by the Agg canvas (never pyplot, never a GUI backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    figure = Figure(figsize=(width_in, height_in), dpi=dpi, layout=layout)
    FigureCanvasAgg(figure)
    return figure


def png_base64(figure: Figure, dpi: float) -> str:
    """The figure as a base64-encoded PNG on white."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def png_img(figure: Figure, alt: str, dpi: float) -> str:
    """The figure as an embedded PNG ``<img>`` with its ``alt`` text."""
    return f'<img src="data:image/png;base64,{png_base64(figure, dpi)}" alt="{html.escape(alt)}">'
