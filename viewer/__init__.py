"""The pyqtgraph application: 3D view, sagittal panel, plots, live mode."""
