"""The 3D view: floor grid, camera frusta with names, skeleton, points (pyqtgraph GL).

Every GL item is created once; a new frame only replaces the vertex and colour arrays of
the bone, spine and point items (:meth:`Scene3D.show_frame`).

The view is a ``QOpenGLWindow`` in a window container, not pyqtgraph's ``GLViewWidget``
(a ``QOpenGLWidget``): a ``QOpenGLWidget`` makes Qt compose the whole top-level window
with OpenGL at every update, which on Mesa's software renderer cost 14 ms per frame at
1600x1000 even for a changed label (measured), more than a 120 fps frame.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph.opengl as gl
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

    def rect(self) -> QtCore.QRect:
        """The window's own rectangle (what ``QWidget.rect`` gives; text items need it)."""
        return QtCore.QRect(0, 0, self.width(), self.height())


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
        self.names: list[gl.GLTextItem] = []
        options = {"mode": "lines", "glOptions": "translucent"}
        self.bones = gl.GLLinePlotItem(width=BONE_WIDTH, **options)
        self.spine = gl.GLLinePlotItem(width=SPINE_WIDTH, **options)
        self.points = gl.GLScatterPlotItem(pxMode=True, glOptions="translucent")
        for item in (self.bones, self.spine, self.points):
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
        for item in self.names:
            self.view.removeItem(item)
        self.names = []
        rig = self.data.rig
        if rig is None or not len(rig):
            self.frusta.setData(pos=np.zeros((0, 3)))
            return
        lines, anchors = rig_lines(rig, FRUSTUM_DEPTH_M)
        self.frusta.setData(pos=lines, color=CAMERA)
        font = QtGui.QFont("DejaVu Sans", 10)
        for camera, anchor in zip(rig, anchors, strict=True):
            text = gl.GLTextItem(pos=anchor, text=camera.name, color=_colour(CAMERA), font=font)
            self.view.addItem(text)
            self.names.append(text)

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
        self.bones.setData(pos=vertices[~spine], color=colours[~spine])
        self.spine.setData(pos=vertices[spine], color=colours[spine])
        pos, colour, known = frame_points(points, layout, faded)
        self.points.setData(pos=pos, color=colour, size=self._sizes[known])
