"""Time plots of the hinge series: reps shaded, faults marked, a cursor; click to seek.

One plot per series of ``ViewerData.plots``, stacked, x axes linked. The curves, shading
and fault marks are drawn once per (re)load; a new frame only moves the cursors. Curves are
downsampled to the plot's width (peak mode keeps the extremes) and clipped to the view.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from viewer.data import ViewerData
from viewer.style import CENTRE, CURSOR, FAULT, REP_SHADE, rgba255

Y_PAD_DEG = 5.0
CACHE = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
"""Items drawn once into a pixmap (again only when the view changes): the curves, shading
and fault marks, so a cursor move repaints a few pixels, not 20,000 points."""


def _y_range(values: np.ndarray) -> tuple[float, float]:
    """The fixed y range of a plot: the series' range, padded (±10 without data)."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return -10.0, 10.0
    return float(finite.min()) - Y_PAD_DEG, float(finite.max()) + Y_PAD_DEG


class TimePlots:
    """The stacked plots.

    Parameters
    ----------
    data : ViewerData
    on_seek : callable
        Called with the time (seconds) of a click inside a plot.
    """

    def __init__(self, data: ViewerData, on_seek: Callable[[float], None]) -> None:
        self.widget = pg.GraphicsLayoutWidget()
        self.on_seek = on_seek
        self.widget.scene().sigMouseClicked.connect(self._clicked)
        self.plots: list[pg.PlotItem] = []
        self.cursors: list[pg.InfiniteLine] = []
        self.set_data(data)

    def set_data(self, data: ViewerData) -> None:
        """Draw every plot of another (or a reloaded) trial."""
        self.widget.clear()
        self.plots, self.cursors = [], []
        self.data = data
        if data.analysis is None:
            self.widget.addLabel("no hinge metrics: the trial has no 3D points")
            return
        for row, (name, title) in enumerate(data.plots):
            self._add_plot(row, name, title)
        for plot in self.plots[:-1]:
            plot.hideAxis("bottom")
        if self.plots:
            self.plots[-1].setLabel("bottom", "time", units="s")
        if self.plots and data.times.size:
            times = data.times
            self.plots[0].setXRange(float(times[0]), float(times[-1]), padding=0.01)

    def _add_plot(self, row: int, name: str, title: str) -> None:
        """One plot: shading, curve, fault marks, cursor."""
        analysis = self.data.analysis
        plot = self.widget.addPlot(row=row, col=0)
        plot.setLabel("left", f"{title} °")
        plot.getAxis("left").setWidth(52)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setMouseEnabled(x=True, y=False)
        plot.setDownsampling(auto=True, mode="peak")
        plot.setClipToView(True)
        if self.plots:
            plot.setXLink(self.plots[0])
        values = analysis.series[name]
        low, high = _y_range(values)
        plot.setYRange(low, high, padding=0)
        plot.disableAutoRange()
        reps = analysis.reps
        if reps:
            starts = np.array([r.start_s for r in reps])
            ends = np.array([r.end_s for r in reps])
            shade = pg.BarGraphItem(
                x0=starts, x1=ends, y0=low, y1=high, brush=rgba255(REP_SHADE), pen=None
            )
            plot.addItem(shade, ignoreBounds=True)
        curve = plot.plot(self.data.times, values, pen=pg.mkPen(rgba255(CENTRE), width=1.5))
        self._mark_faults(plot, name, high, row == 0)
        for item in (*plot.getViewBox().addedItems, curve.curve, curve.scatter):
            item.setCacheMode(CACHE)  # a moving cursor blits them instead of redrawing
        cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(rgba255(CURSOR), width=2))
        plot.addItem(cursor, ignoreBounds=True)
        self.plots.append(plot)
        self.cursors.append(cursor)

    def _mark_faults(self, plot: pg.PlotItem, name: str, top: float, label: bool) -> None:
        """A red triangle at the bottom of each faulty rep; its codes on the top plot."""
        faulty = [r for r in self.data.analysis.reps if r.faults]
        if not faulty:
            return
        x = np.array([r.bottom_s for r in faulty])
        marks = pg.ScatterPlotItem(
            x=x, y=np.full(x.size, top - 0.5 * Y_PAD_DEG), symbol="t", size=11,
            brush=pg.mkBrush(rgba255(FAULT)), pen=None,
        )  # fmt: skip
        plot.addItem(marks)
        if label:
            for rep in faulty:
                text = pg.TextItem(rep.fault_codes, color=rgba255(FAULT), anchor=(0, 0))
                text.setPos(rep.bottom_s, top)
                plot.addItem(text)

    def show_time(self, seconds: float) -> None:
        """Move every cursor to ``seconds``."""
        for cursor in self.cursors:
            cursor.setValue(seconds)

    def _clicked(self, event: object) -> None:
        """Seek to the time under a left click inside a plot."""
        if event.button() != QtCore.Qt.MouseButton.LeftButton:
            return
        pos = event.scenePos()
        for plot in self.plots:
            box = plot.getViewBox()
            if box.sceneBoundingRect().contains(pos):
                self.on_seek(float(box.mapSceneToView(pos).x()))
                return
