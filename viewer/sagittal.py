"""The sagittal panel: the subject from the side, in the body frame of the current rep.

Left: the trunk, legs, neck and spine at this frame with their angles, the standing pose
as a grey ghost and the hip path (magenta). Right: the hip path of the rep enlarged (back
versus down, centimetres) with its hinge ratio.

What changes only with the rep (ghost, hip paths, axes) are scene items, painted from the
widget's still picture (:class:`viewer.plots.LayeredView`); what changes every frame (the
pose, its angles, the hip dot, the ratio now) is painted over it by
:meth:`SagittalPanel._paint_frame`, so a frame repaints only the pixels those cover.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from viewer.data import ViewerData
from viewer.plots import LayeredView
from viewer.sagittal_data import SagittalFrame, SagittalSource
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
POSE_WIDTH = 4.0
"""Pixels, of the pose and spine lines."""
HIP_DOT = 11.0
"""Pixels, the diameter of the hip dot."""
TEXT_MARGIN = 4.0
"""Pixels between a label's anchor and its text (as pyqtgraph's ``TextItem``)."""
ALIGN = QtCore.Qt.AlignmentFlag


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


def _pen(colour: tuple, width: float) -> QtGui.QPen:
    """A pen like pyqtgraph's ``mkPen`` (cosmetic: width in pixels)."""
    pen = QtGui.QPen(QtGui.QColor(*rgba255(colour)), width)
    pen.setCosmetic(True)
    return pen


class _Box:
    """A view box's rectangle in viewport pixels and its data-to-pixel transform."""

    def __init__(self, plot: pg.PlotItem, view: LayeredView) -> None:
        box = plot.getViewBox()
        box.updateMatrix()
        to_viewport = view.viewportTransform()
        self.rect = to_viewport.mapRect(box.sceneBoundingRect())
        self.transform = box.childGroup.sceneTransform() * to_viewport

    def point(self, x: float, y: float) -> QtCore.QPointF:
        """Data coordinates in viewport pixels."""
        return self.transform.map(QtCore.QPointF(x, y))


class SagittalPanel:
    """The panel's two plots and their items."""

    def __init__(self, data: ViewerData) -> None:
        self.widget = LayeredView()
        self.widget.paint_overlay = self._paint_frame
        self.body = self.widget.addPlot(row=0, col=0, title="side view (body frame of the rep)")
        self.body.setLabel("bottom", "forward (m): the subject faces right")
        self.body.setLabel("left", "height (m)")
        _fixed(self.body, X_RANGE_M, Y_RANGE_M)
        self.floor = self.body.addLine(y=0.0, pen=pg.mkPen(rgba255(GHOST), width=1))
        self.ghost = _curve(self.body, GHOST, 6)
        self.body_path = _curve(self.body, HIP_PATH, 2)
        self.note = pg.TextItem(color=rgba255(CENTRE), anchor=(0.5, 0.5))
        self.note.setPos(0.0, 1.0)
        self.body.addItem(self.note)
        self.hip_plot = self.widget.addPlot(row=0, col=1, title="hip path from standing")
        self.hip_plot.setLabel("bottom", "forward (cm): back is left")
        self.hip_plot.setLabel("left", "up (cm)")
        self.ratio_line = self.hip_plot.plot(pen=pg.mkPen(rgba255(GHOST), width=1))
        self.path = _curve(self.hip_plot, HIP_PATH, 3)
        layout = self.widget.ci.layout
        layout.setColumnStretchFactor(0, 3)
        layout.setColumnStretchFactor(1, 2)
        self.pens = {"pose": _pen(CENTRE, POSE_WIDTH), "spine": _pen(SPINE, POSE_WIDTH)}
        self.text_colour = QtGui.QColor(*rgba255(CENTRE))
        self.hip_brush = QtGui.QBrush(QtGui.QColor(*rgba255(HIP_PATH)))
        self.content: SagittalFrame | None = None
        self._boxes: tuple[_Box, _Box] | None = None
        self._boxes_generation = -1
        self._drawn: tuple | None = None
        self._serial = 0
        self._metrics = QtGui.QFontMetricsF(self.widget.font())
        self._sizes: dict[str, QtCore.QSizeF] = {}
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
        self.size_cm = size
        _fixed(self.hip_plot, (-size, 0.2 * size), (-size, 0.2 * size))
        self.ratio_line.setData([-size, 0.0], [-size, 0.0])  # back = down (ratio 1)
        self._shown_rep: tuple[int, float] | None = None
        for item in (self.ghost, self.body_path, self.path, self.ratio_line, self.floor):
            item.setCacheMode(CACHE)

    def show_frame(self, index: int) -> None:
        """Draw frame ``index`` (or say why nothing can be drawn).

        The ghost and the hip paths (scene items) are replaced only when the rep changes;
        the rest is drawn over the still picture of the scene (:meth:`_paint_frame`).
        """
        content = None if self.source is None else self.source.frame(index)
        changed = False
        if content is None:
            changed = self._clear()
        else:
            changed = self._set_text(self.note, "")
            if self._shown_rep != (content.rep, content.origin_height):
                self._shown_rep = (content.rep, content.origin_height)
                ghost = _joined(content.ghost, ("leg", "trunk", "neck"))
                self.ghost.setData(ghost[:, 0], ghost[:, 1])
                path = content.path
                self.body_path.setData(path[:, 0], path[:, 1] + content.origin_height)
                self.path.setData(CM * path[:, 0], CM * path[:, 1])
                changed = True
        if not changed:  # a change made now would drop the picture at once
            self.widget.keep_picture()
        self.content = content
        self._serial += 1
        self.widget.overlay_moved(self._frame_region())

    @staticmethod
    def _set_text(item: pg.TextItem, text: str) -> bool:
        """Set a label's text only when it differs (setting it lays the text out anew)."""
        if item.toPlainText() == text:
            return False
        item.setText(text)
        return True

    def _clear(self) -> bool:
        """Nothing to draw: empty items and the reason; whether a scene item changed."""
        changed = self._shown_rep is not None or not self.note.toPlainText()
        self._shown_rep = None
        if changed:
            empty = np.zeros(0)
            for item in (self.ghost, self.body_path, self.path):
                item.setData(empty, empty)
            self.note.setText("no body frame here (no 3D or no standing frames)")
        return changed

    # --- drawn over the picture -----------------------------------------------------------

    def _geometry(self) -> tuple[_Box, _Box]:
        """The two view boxes in viewport pixels (kept while the picture is)."""
        widget = self.widget
        if (
            self._boxes is None
            or not widget.has_picture()
            or self._boxes_generation != widget.generation
        ):
            self._boxes = _Box(self.body, widget), _Box(self.hip_plot, widget)
            self._boxes_generation = widget.generation
        return self._boxes

    def _text_size(self, text: str) -> QtCore.QSizeF:
        """The size of a (multi-line) text in the widget's font (cached: texts repeat)."""
        size = self._sizes.get(text)
        if size is None:
            if len(self._sizes) > 4096:
                self._sizes.clear()
            size = self._metrics.boundingRect(QtCore.QRectF(), ALIGN.AlignLeft, text).size()
            self._sizes[text] = size
        return size

    def _drawing(self) -> tuple[list, list, QtCore.QPointF | None]:
        """What the frame draws, in viewport pixels: lines, texts and the hip dot.

        Lines are (pen, polygon); texts (box 0 or 1, text, rectangle); the dot its centre
        (None: unknown). Worked out once per frame and view geometry.
        """
        content = self.content
        body, hip = self._geometry()
        key = (self._serial, self.widget.generation, self.widget.has_picture())
        if self._drawn is not None and self._drawn[0] == key:
            return self._drawn[1]
        lines, texts, dot = [], [], None
        if content is not None:
            for chain, xy in content.pose.items():
                polygon = QtGui.QPolygonF([QtCore.QPointF(x, y) for x, y in xy.tolist()])
                pen = "spine" if chain == "spine" else "pose"
                lines.append((pen, body.transform.map(polygon)))
            for text, x, y in content.labels:  # left end at the spot, centred on it
                at = body.point(x, y)
                size = self._text_size(text)
                corner = QtCore.QPointF(at.x() + TEXT_MARGIN, at.y() - size.height() / 2)
                texts.append((0, text, QtCore.QRectF(corner, size)))
            if content.ratio:  # bottom left at the plot's bottom left corner
                at = hip.point(-self.size_cm, -self.size_cm)
                size = self._text_size(content.ratio)
                corner = QtCore.QPointF(at.x() + TEXT_MARGIN, at.y() - TEXT_MARGIN - size.height())
                texts.append((1, content.ratio, QtCore.QRectF(corner, size)))
            if np.isfinite(content.hip).all():
                x, y = (CM * content.hip).tolist()
                dot = hip.point(x, y)
        drawing = lines, texts, dot
        self._drawn = key, drawing
        return drawing

    def _frame_region(self) -> QtGui.QRegion:
        """The viewport pixels the frame's drawing covers."""
        lines, texts, dot = self._drawing()
        rects = []
        pad = math.ceil(POSE_WIDTH / 2) + 1
        for _, polygon in lines:
            rects.append(polygon.boundingRect().toAlignedRect().adjusted(-pad, -pad, pad, pad))
        for _, _, rect in texts:
            rects.append(rect.toAlignedRect().adjusted(-1, -1, 1, 1))
        if dot is not None:
            r = math.ceil(HIP_DOT / 2) + 1
            rects.append(QtCore.QRect(int(dot.x()) - r, int(dot.y()) - r, 2 * r, 2 * r))
        region = QtGui.QRegion()
        for rect in rects:
            region = region.united(rect)
        return region

    def _paint_frame(self, painter: QtGui.QPainter) -> None:
        """The pose, its angles, the hip dot and the ratio, over the scene."""
        if self.content is None:
            return
        boxes = self._geometry()
        lines, texts, dot = self._drawing()
        painter.setClipRect(boxes[0].rect)
        for pen, polygon in lines:
            painter.setPen(self.pens[pen])
            painter.drawPolyline(polygon)
        painter.setPen(self.text_colour)
        for box, text, rect in texts:
            if box == 0:
                painter.drawText(rect, ALIGN.AlignLeft | ALIGN.AlignVCenter, text)
        painter.setClipRect(boxes[1].rect)
        for box, text, rect in texts:
            if box == 1:
                painter.drawText(rect, ALIGN.AlignLeft | ALIGN.AlignBottom, text)
        if dot is not None:
            painter.setPen(QtCore.Qt.PenStyle.NoPen)
            painter.setBrush(self.hip_brush)
            painter.drawEllipse(dot, HIP_DOT / 2, HIP_DOT / 2)
        painter.setClipping(False)
