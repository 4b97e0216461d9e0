"""Keypoint detector adapters (:class:`mocap.keypoints.KeypointDetector`).

- :mod:`mocap.detectors.mediapipe_pose`: MediaPipe BlazePose; imports MediaPipe, so it is
  imported only where a detector is built (the numeric core never imports it).
- :mod:`mocap.detectors.synthetic`: projected ground truth, for tests without MediaPipe.
"""
