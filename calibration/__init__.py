"""Camera model, calibration files, boards, and board-based rig calibration.

Numeric core: imports no Qt, no MediaPipe and no camera code.
"""

from calibration.camera import Camera, CameraRig
from calibration.toml_io import (
    CalibrationFormatError,
    CalibrationMetadata,
    calibration_from_toml,
    calibration_to_toml,
    load_calibration,
    save_calibration,
)

__all__ = [
    "CalibrationFormatError",
    "CalibrationMetadata",
    "Camera",
    "CameraRig",
    "calibration_from_toml",
    "calibration_to_toml",
    "load_calibration",
    "save_calibration",
]
