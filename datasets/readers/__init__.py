"""Readers for other tools' outputs, returning HingeLab trials.

- :mod:`datasets.readers.openpose`: per-frame OpenPose-style JSON folders (OpenPose,
  Pose2Sim/RTMPose, MMPose, MediaPipe exports) in the BODY_25, HALPE_26, COCO-17 and
  BlazePose-33 layouts; ``docs/keypoint-formats.md`` maps their keypoints to ours.
"""

from datasets.readers.openpose import (
    LAYOUTS,
    KeypointFolderError,
    is_openpose_folder,
    read_openpose_folder,
)

__all__ = ["LAYOUTS", "KeypointFolderError", "is_openpose_folder", "read_openpose_folder"]
