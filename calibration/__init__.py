"""Camera model, calibration files and (later) board-based calibration.

Numeric core: imports no Qt, no MediaPipe and no camera code.
"""
