"""The pyqtgraph application: 3D view, sagittal panel, plots, playback, live mode.

The modules without Qt hold the state and geometry and are tested without a window:
:mod:`viewer.data` (a trial and its hinge analysis, what is missing), :mod:`viewer.playback`
(time, play/pause, rep jump, seeking), :mod:`viewer.live` (following a file being
written), :mod:`viewer.geometry` (bones, frusta, the default view) and
:mod:`viewer.sagittal_data` (the sagittal panel's lines). The Qt modules draw them:
:mod:`viewer.scene3d`, :mod:`viewer.sagittal`, :mod:`viewer.plots`, :mod:`viewer.controls`,
:mod:`viewer.window`; :mod:`viewer.app` runs the window (``mocap view``). Importing any of
them creates no ``QApplication``.
"""
