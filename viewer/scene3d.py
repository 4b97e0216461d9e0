"""The 3D view: floor grid, camera frusta with names, skeleton, points (pyqtgraph GL).

Every GL item is created once; a new frame only replaces the vertex and colour arrays of
the bone, spine and point items and renders the view at once (:meth:`Scene3D.show_frame`).

The view is a ``QOpenGLWindow`` in a window container, not pyqtgraph's ``GLViewWidget``
(a ``QOpenGLWidget``): a ``QOpenGLWidget`` makes Qt compose the whole top-level window
with OpenGL at every update, which on Mesa's software renderer cost 14 ms per frame at
1600x1000 even for a changed label (measured), more than a 120 fps frame.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph.opengl as gl
from pyqtgraph.opengl.GLGraphicsItem import GLGraphicsItem
from pyqtgraph.opengl.GLViewWidget import GLViewMixin
from PySide6 import QtCore, QtGui, QtOpenGL, QtWidgets

from viewer.data import ViewerData
from viewer.geometry import default_view, frame_lines, frame_points, rig_lines
from viewer.style import (
    BACKGROUND,
    BONE_WIDTH,
    CAMERA,
    FRUSTUM_DEPTH_M,
    GRID,
    MARKER_SIZE,
    POINT_SIZE,
    SPINE_WIDTH,
    rgba255,
)

GRID_SIZE_M = 8.0
GRID_SPACING_M = 0.5


def _colour(rgba: tuple[float, float, float, float]) -> QtGui.QColor:
    return QtGui.QColor(*rgba255(rgba))


class GLViewWindow(GLViewMixin, QtOpenGL.QOpenGLWindow):
    """pyqtgraph's GL view (items, camera, mouse orbit and zoom) as a ``QOpenGLWindow``."""

    batching = False
    """While set, items' update requests are left out: :meth:`Scene3D.show_frame` renders
    the frame itself, once (see :meth:`Scene3D.render_now`)."""

    def rect(self) -> QtCore.QRect:
        """The window's own rectangle (what ``QWidget.rect`` gives; text items need it)."""
        return QtCore.QRect(0, 0, self.width(), self.height())

    def update(self, *area: object) -> None:
        """Schedule a render (Qt's timer), unless a frame is being set (:attr:`batching`)."""
        if not self.batching:
            super().update(*area)


class CameraNames(GLGraphicsItem):
    """The cameras' names, each with its bottom left corner at its anchor (3D).

    One item with one ``QPainter`` for all names: pyqtgraph's ``GLTextItem`` opens a
    painter on the GL window per text, about 0.1 ms each on Mesa's software renderer.
    """

    def __init__(self, font: QtGui.QFont, colour: QtGui.QColor) -> None:
        super().__init__()
        self.setGLOptions("additive")  # as GLTextItem
        self.font = font
        self.colour = colour
        self.names: list[tuple[QtGui.QVector3D, str]] = []

    def set_names(self, anchors: np.ndarray, names: list[str]) -> None:
        """The names and their anchors (C, 3), world metres."""
        self.names = [
            (QtGui.QVector3D(*map(float, a)), n) for a, n in zip(anchors, names, strict=True)
        ]
        self.update()

    def paint(self) -> None:
        """Draw the names over the GL scene (called by the view)."""
        if not self.names:
            return
        self.setupGLState()
        view = self.view()
        rect = QtCore.QRectF(view.rect())
        to_viewport = QtGui.QMatrix4x4()
        to_viewport.viewport(rect.left(), rect.bottom(), rect.width(), -rect.height())
        project = to_viewport * self.mvpMatrix()
        painter = QtGui.QPainter(view)
        painter.setPen(self.colour)
        painter.setFont(self.font)
        hints = QtGui.QPainter.RenderHint
        painter.setRenderHints(hints.Antialiasing | hints.TextAntialiasing)
        for anchor, name in self.names:
            painter.drawText(project.map(anchor).toPointF(), name)
        painter.end()


class Scene3D:
    """The GL view and its items.

    Parameters
    ----------
    data : ViewerData
        The trial shown; the view is placed to show the subject from the front-left.

    Attributes
    ----------
    view : GLViewWindow
        The GL window (camera, projection, items).
    widget : QWidget
        Its container, laid out in the main window.
    """

    def __init__(self, data: ViewerData) -> None:
        self.view = GLViewWindow()
        self.widget = QtWidgets.QWidget.createWindowContainer(self.view)
        self.widget.setMinimumSize(200, 200)
        self.view.setBackgroundColor(_colour(BACKGROUND))
        grid = gl.GLGridItem(color=rgba255(GRID), antialias=False)
        grid.setSize(GRID_SIZE_M, GRID_SIZE_M)
        grid.setSpacing(GRID_SPACING_M, GRID_SPACING_M)
        self.view.addItem(grid)
        self.frusta = gl.GLLinePlotItem(mode="lines", width=1.5, glOptions="translucent")
        self.view.addItem(self.frusta)
        options = {"mode": "lines", "glOptions": "translucent"}
        self.bones = gl.GLLinePlotItem(width=BONE_WIDTH, **options)
        self.spine = gl.GLLinePlotItem(width=SPINE_WIDTH, **options)
        self.points = gl.GLScatterPlotItem(pxMode=True, glOptions="translucent")
        self.names = CameraNames(QtGui.QFont("DejaVu Sans", 10), _colour(CAMERA))
        for item in (self.bones, self.spine, self.points, self.names):  # names on top
            self.view.addItem(item)
        self.set_data(data, place_view=True)

    def set_data(self, data: ViewerData, place_view: bool = False) -> None:
        """Show another trial (or a reloaded live one): cameras, layout, view."""
        self.data = data
        self._set_cameras()
        sizes = np.where(data.layout.markers, MARKER_SIZE, POINT_SIZE)
        self._sizes = sizes.astype(float)
        if place_view:
            self.place_view()

    def _set_cameras(self) -> None:
        """Frusta and name labels of the trial's cameras (none without a calibration)."""
        rig = self.data.rig
        if rig is None or not len(rig):
            self.frusta.setData(pos=np.zeros((0, 3)))
            self.names.set_names(np.zeros((0, 3)), [])
            return
        lines, anchors = rig_lines(rig, FRUSTUM_DEPTH_M)
        self.frusta.setData(pos=lines, color=CAMERA)
        self.names.set_names(anchors, [camera.name for camera in rig])

    def place_view(self) -> None:
        """Look at the subject from the front-left (see :func:`viewer.geometry.default_view`)."""
        data = self.data
        hips = np.zeros((0, 3)) if data.landmarks is None else data.landmarks.hip
        anterior = None
        if data.analysis is not None and data.analysis.baselines:
            anterior = next(iter(data.analysis.baselines.values())).frame.anterior
        pose = default_view(hips, anterior, data.rig)
        self.view.setCameraPosition(
            pos=QtGui.QVector3D(*pose.center),
            distance=pose.distance,
            elevation=pose.elevation,
            azimuth=pose.azimuth,
        )

    def show_frame(self, index: int) -> None:
        """Draw frame ``index``: bones (spine chain apart), points; faded where few views."""
        points3d = self.data.trial.points3d
        if points3d is None or not self.data.trial.n_frames:
            return
        points = points3d[index]
        faded = None if self.data.faded is None else self.data.faded[index]
        layout = self.data.layout
        vertices, colours, drawn = frame_lines(points, layout, faded)
        spine = np.repeat(layout.spine[drawn], 2)
        pos, colour, known = frame_points(points, layout, faded)
        self.view.batching = self.view.isExposed()
        try:
            self.bones.setData(pos=vertices[~spine], color=colours[~spine])
            self.spine.setData(pos=vertices[spine], color=colours[spine])
            self.points.setData(pos=pos, color=colour, size=self._sizes[known])
        finally:
            self.view.batching = False
        self.render_now()

    def render_now(self) -> None:
        """Render the view now, not when Qt's update timer fires (5 ms later on X11).

        ``QOpenGLWindow.update`` renders after Qt's update idle time: at 120 fps, frames
        came in before the previous one was rendered and the view rendered only 40 to 85
        of the 120 frames per second (measured). The items' own update requests are left
        out while a frame is set (:attr:`GLViewWindow.batching`), so it renders once.
        """
        if self.view.isExposed():
            request = QtCore.QEvent(QtCore.QEvent.Type.UpdateRequest)
            QtGui.QGuiApplication.sendEvent(self.view, request)
