"""Time plots of the hinge series: reps shaded, faults marked, a cursor; click to seek.

One plot per series of ``ViewerData.plots``, stacked, x axes linked. The curves, shading
and fault marks are drawn once per (re)load; a new frame only moves the cursors. Curves are
downsampled to the plot's width (peak mode keeps the extremes) and clipped to the view.

The cursors are not scene items: the widget (:class:`LayeredView`) paints the plots from a
still picture while they do not change and draws the cursors over it, so a frame repaints
a few pixel columns without asking any plot item to paint (see :class:`LayeredView`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from viewer.data import ViewerData
from viewer.style import CENTRE, CURSOR, FAULT, REP_SHADE, rgba255

Y_PAD_DEG = 5.0
CACHE = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
"""Items drawn once into a pixmap (again only when the view changes): the curves, shading
and fault marks, so a cursor move repaints a few pixels, not 20,000 points."""


class LayeredView(pg.GraphicsLayoutWidget):
    """A ``GraphicsLayoutWidget`` painted as a still picture of its scene plus an overlay.

    The scene (axes, curves, shading: everything that changes only when the data, the
    view range or the size do) is painted once into a pixmap; a new frame changes only
    the overlay (cursors, the pose), so Qt repaints just the pixels the overlay covered
    and now covers: a copy from the pixmap, then the overlay's few lines and texts, with
    no scene item asked to paint or to give its bounds (in Python, per item).

    Any change of the scene (``QGraphicsScene.changed``: an item changed, the view was
    zoomed or panned) or of the widget's size drops the picture; the scene is then
    painted as usual until the next :meth:`keep_picture`. The owner paints the overlay in
    :meth:`paint_overlay` (it replaces that method) and says where it goes with
    :meth:`overlay_moved` at each frame.
    """

    def __init__(self) -> None:
        self._picture: QtGui.QPixmap | None = None
        self.generation = 0
        """Counts the pictures taken and dropped: geometry kept with a picture is valid
        while the generation is the same."""
        self._taking = False
        self._overlay = QtGui.QRegion()
        self._overlay_unknown = True
        super().__init__()  # it resizes (resizeEvent) already
        self.scene().changed.connect(self.drop_picture)

    def drop_picture(self, *_: object) -> None:
        """Forget the still picture (the scene changed): paint the scene again."""
        self._picture = None
        self.generation += 1
        self._overlay_unknown = True  # the overlay's place may have changed with the scene

    def has_picture(self) -> bool:
        """Whether the scene is painted from the still picture."""
        return self._picture is not None

    def keep_picture(self) -> None:
        """Take the still picture of the scene now, if there is none (the widget shown).

        Call it when the scene has no change pending (a change made in the same frame
        would drop the new picture right away).
        """
        if self._picture is not None or self._taking or not self.isVisible():
            return
        self._taking = True
        try:
            self._picture = self.viewport().grab()
            self.generation += 1
        finally:
            self._taking = False

    def overlay_moved(self, region: QtGui.QRegion) -> None:
        """The overlay now covers ``region`` (viewport pixels): repaint it and the old one.

        After a change of the scene or size the old one is not known: all is repainted.
        """
        if self._overlay_unknown:
            self.viewport().update()
            self._overlay_unknown = False
        else:
            self.viewport().update(self._overlay.united(region))
        self._overlay = region

    def paint_overlay(self, painter: QtGui.QPainter) -> None:
        """Paint the overlay over the scene (viewport pixels)."""

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        """A new size: the picture goes."""
        self.drop_picture()
        super().resizeEvent(event)

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        """The scene (from the picture when there is one), then the overlay."""
        if self._taking:  # the still picture: the scene alone
            super().paintEvent(event)
            return
        picture = self._picture
        if picture is None:
            super().paintEvent(event)
        painter = QtGui.QPainter(self.viewport())
        if picture is not None:
            ratio = picture.devicePixelRatio()
            for rect in event.region():
                source = QtCore.QRectF(rect)
                if ratio != 1.0:
                    source = QtCore.QRectF(source.topLeft() * ratio, source.size() * ratio)
                painter.drawPixmap(QtCore.QRectF(rect), picture, source)
        self.paint_overlay(painter)
        painter.end()


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
        self.widget = LayeredView()
        self.widget.paint_overlay = self._paint_cursors
        self.on_seek = on_seek
        self.widget.scene().sigMouseClicked.connect(self._clicked)
        self.plots: list[pg.PlotItem] = []
        self.pen = QtGui.QPen(QtGui.QColor(*rgba255(CURSOR)), 2.0)
        self.seconds = 0.0
        self._boxes: list[tuple[QtCore.QRectF, float, float]] = []
        self._boxes_generation = -1
        self.set_data(data)

    def set_data(self, data: ViewerData) -> None:
        """Draw every plot of another (or a reloaded) trial."""
        self.widget.clear()
        self.plots = []
        self._boxes_generation = -1
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
        """One plot: shading, curve, fault marks (the cursor is drawn over them)."""
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
            item.setCacheMode(CACHE)  # drawn from a pixmap until the view changes
        self.plots.append(plot)

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

    def _box_geometry(self) -> list[tuple[QtCore.QRectF, float, float]]:
        """Each plot's view box in viewport pixels and its time-to-pixel map (scale, offset).

        Kept while the still picture is: both change only with the scene.
        """
        widget = self.widget
        if widget.has_picture() and self._boxes_generation == widget.generation:
            return self._boxes
        to_viewport = widget.viewportTransform()
        boxes = []
        for plot in self.plots:
            box = plot.getViewBox()
            box.updateMatrix()
            rect = to_viewport.mapRect(box.sceneBoundingRect())
            to_pixels = box.childGroup.sceneTransform() * to_viewport
            boxes.append((rect, to_pixels.m11(), to_pixels.m31()))
        self._boxes, self._boxes_generation = boxes, widget.generation
        return boxes

    def cursor_x(self, seconds: float) -> list[float]:
        """The cursor's x in viewport pixels in each plot at ``seconds``."""
        return [scale * seconds + offset for _, scale, offset in self._box_geometry()]

    def show_time(self, seconds: float) -> None:
        """Move every cursor to ``seconds`` (a repaint of their old and new pixel columns)."""
        self.seconds = seconds
        if not self.plots:
            return
        self.widget.keep_picture()
        region = QtGui.QRegion()
        for rect, scale, offset in self._box_geometry():
            x = int(np.floor(scale * seconds + offset))
            column = QtCore.QRect(x - 2, int(rect.top()), 5, int(np.ceil(rect.height())) + 1)
            region = region.united(column)
        self.widget.overlay_moved(region)

    def _paint_cursors(self, painter: QtGui.QPainter) -> None:
        """The cursors: a yellow line across each plot at the time shown."""
        if not self.plots:
            return
        painter.setPen(self.pen)
        for rect, scale, offset in self._box_geometry():
            x = scale * self.seconds + offset
            if rect.left() <= x <= rect.right():
                painter.setClipRect(rect)
                painter.drawLine(QtCore.QLineF(x, rect.top(), x, rect.bottom()))
        painter.setClipping(False)

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
