"""The sagittal panel: the subject from the side, in the body frame of the current rep.

Left: the trunk, legs, neck and spine at this frame with their angles, the standing pose
as a grey ghost and the hip path (magenta). Right: the hip path of the rep enlarged (back
versus down, centimetres) with its hinge ratio. The items are made once and their data
replaced per frame (:meth:`SagittalPanel.show_frame`).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from viewer.data import ViewerData
from viewer.sagittal_data import LABELS, SagittalSource
from viewer.style import CENTRE, GHOST, HIP_PATH, SPINE, rgba255

X_RANGE_M = (-1.0, 1.0)
"""Forward from the standing hip position, metres."""
Y_RANGE_M = (-0.05, 2.0)
"""Height above the floor, metres."""
MIN_PATH_RANGE_CM = 15.0
"""The hip plot shows at least this far back and down."""
CM = 100.0
CACHE = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
"""Items that change only with the rep are drawn from a pixmap cache."""


def _joined(chains: dict[str, np.ndarray], names: tuple[str, ...]) -> np.ndarray:
    """The chosen polylines as one (N, 2) array, NaN rows between them (connect='finite')."""
    parts = [p for name in names if name in chains for p in (chains[name], np.full((1, 2), np.nan))]
    return np.concatenate(parts) if parts else np.zeros((0, 2))


def _fixed(plot: pg.PlotItem, x: tuple[float, float], y: tuple[float, float]) -> None:
    """A plot with a fixed, equal-aspect range and no mouse interaction."""
    plot.setAspectLocked(True)
    plot.setXRange(*x, padding=0)
    plot.setYRange(*y, padding=0)
    plot.setMouseEnabled(x=False, y=False)
    plot.setMenuEnabled(False)
    plot.hideButtons()


def _curve(plot: pg.PlotItem, colour: tuple, width: float) -> pg.PlotCurveItem:
    item = pg.PlotCurveItem(pen=pg.mkPen(rgba255(colour), width=width), connect="finite")
    plot.addItem(item)
    return item


class SagittalPanel:
    """The panel's two plots and their items."""

    def __init__(self, data: ViewerData) -> None:
        self.widget = pg.GraphicsLayoutWidget()
        self.body = self.widget.addPlot(row=0, col=0, title="side view (body frame of the rep)")
        self.body.setLabel("bottom", "forward (m): the subject faces right")
        self.body.setLabel("left", "height (m)")
        _fixed(self.body, X_RANGE_M, Y_RANGE_M)
        self.floor = self.body.addLine(y=0.0, pen=pg.mkPen(rgba255(GHOST), width=1))
        self.ghost = _curve(self.body, GHOST, 6)
        self.body_path = _curve(self.body, HIP_PATH, 2)
        self.pose = _curve(self.body, CENTRE, 4)
        self.spine = _curve(self.body, SPINE, 4)
        self.labels = [pg.TextItem(color=rgba255(CENTRE), anchor=(0, 0.5)) for _ in LABELS]
        self.note = pg.TextItem(color=rgba255(CENTRE), anchor=(0.5, 0.5))
        self.note.setPos(0.0, 1.0)
        for item in (*self.labels, self.note):
            self.body.addItem(item)
        self.hip_plot = self.widget.addPlot(row=0, col=1, title="hip path from standing")
        self.hip_plot.setLabel("bottom", "forward (cm): back is left")
        self.hip_plot.setLabel("left", "up (cm)")
        self.ratio_line = self.hip_plot.plot(pen=pg.mkPen(rgba255(GHOST), width=1))
        self.path = _curve(self.hip_plot, HIP_PATH, 3)
        self.hip = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(rgba255(HIP_PATH)), pen=None)
        self.hip_plot.addItem(self.hip)
        self.ratio = pg.TextItem(color=rgba255(CENTRE), anchor=(0, 1))
        self.hip_plot.addItem(self.ratio)
        layout = self.widget.ci.layout
        layout.setColumnStretchFactor(0, 3)
        layout.setColumnStretchFactor(1, 2)
        self.set_data(data)

    def set_data(self, data: ViewerData) -> None:
        """Show another (or a reloaded) trial; the hip plot's range fits its deepest rep."""
        self.source = None
        size = MIN_PATH_RANGE_CM
        analysis = data.analysis
        if analysis is not None and data.landmarks is not None:
            self.source = SagittalSource(analysis, data.landmarks)
            for rep in analysis.reps:
                part = slice(rep.start_index, rep.end_index + 1)
                for name in ("hip_back_m", "hip_down_m"):
                    size = max(size, CM * float(np.nanmax(analysis.series[name][part])))
        size *= 1.2
        _fixed(self.hip_plot, (-size, 0.2 * size), (-size, 0.2 * size))
        self.ratio_line.setData([-size, 0.0], [-size, 0.0])  # back = down (ratio 1)
        self.ratio.setPos(-size, -size)
        self._shown_rep: tuple[int, float] | None = None
        for item in (self.ghost, self.body_path, self.path, self.ratio_line, self.floor):
            item.setCacheMode(CACHE)

    def show_frame(self, index: int) -> None:
        """Draw frame ``index`` (or say why nothing can be drawn).

        The ghost and the hip paths are replaced only when the rep changes, and a label's
        text only when it changes: unchanged items are not drawn again.
        """
        content = None if self.source is None else self.source.frame(index)
        if content is None:
            self._clear()
            return
        self._set_text(self.note, "")
        if self._shown_rep != (content.rep, content.origin_height):
            self._shown_rep = (content.rep, content.origin_height)
            ghost = _joined(content.ghost, ("leg", "trunk", "neck"))
            self.ghost.setData(ghost[:, 0], ghost[:, 1])
            path = content.path
            self.body_path.setData(path[:, 0], path[:, 1] + content.origin_height)
            self.path.setData(CM * path[:, 0], CM * path[:, 1])
        body = _joined(content.pose, ("leg", "trunk", "neck"))
        spine = _joined(content.pose, ("spine",))
        self.pose.setData(body[:, 0], body[:, 1])
        self.spine.setData(spine[:, 0], spine[:, 1])
        hip = CM * content.hip[None] if np.isfinite(content.hip).all() else np.zeros((0, 2))
        self.hip.setData(hip[:, 0], hip[:, 1])
        texts = (*content.labels, *([None] * len(self.labels)))
        for label, spot in zip(self.labels, texts, strict=False):
            self._set_text(label, "" if spot is None else spot[0])
            if spot is not None:
                label.setPos(spot[1], spot[2])
        self._set_text(self.ratio, content.ratio)

    @staticmethod
    def _set_text(item: pg.TextItem, text: str) -> None:
        """Set a label's text only when it differs (setting it lays the text out anew)."""
        if item.toPlainText() != text:
            item.setText(text)

    def _clear(self) -> None:
        self._shown_rep = None
        empty = np.zeros(0)
        for item in (self.ghost, self.body_path, self.pose, self.spine, self.path):
            item.setData(empty, empty)
        self.hip.setData([], [])
        for label in self.labels:
            label.setText("")
        self.ratio.setText("")
        self.note.setText("no body frame here (no 3D or no standing frames)")
