"""Keypoint names and bones of the body model shared by every stage.

The 33 names follow MediaPipe BlazePose's landmark order exactly, so index ``j`` of a
MediaPipe result is keypoint ``j`` here. Skin markers taped on the spine follow them.
"""

from __future__ import annotations

BLAZEPOSE_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)
"""The 33 BlazePose landmark names in MediaPipe's index order."""

SPINE_MARKERS: tuple[str, ...] = ("C7", "T12", "L3", "S1")
"""Skin markers on the spinous processes, top to bottom."""

HINGELAB_KEYPOINTS: tuple[str, ...] = BLAZEPOSE_NAMES + SPINE_MARKERS
"""BlazePose landmarks followed by the spine markers (J = 37)."""

BONES: tuple[tuple[str, str], ...] = (
    ("left_shoulder", "right_shoulder"),
    ("left_hip", "right_hip"),
    ("left_shoulder", "left_hip"),
    ("right_shoulder", "right_hip"),
    ("left_shoulder", "left_elbow"),
    ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"),
    ("right_elbow", "right_wrist"),
    ("left_hip", "left_knee"),
    ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"),
    ("right_knee", "right_ankle"),
    ("left_ankle", "left_heel"),
    ("left_heel", "left_foot_index"),
    ("left_ankle", "left_foot_index"),
    ("right_ankle", "right_heel"),
    ("right_heel", "right_foot_index"),
    ("right_ankle", "right_foot_index"),
    ("C7", "T12"),
    ("T12", "L3"),
    ("L3", "S1"),
)
"""Segments drawn by the viewer and checked for constant length."""

SWAP_GROUPS: dict[str, tuple[str, ...]] = {
    "face": ("eye_inner", "eye", "eye_outer", "ear", "mouth"),
    "arms": ("shoulder", "elbow", "wrist", "pinky", "index", "thumb"),
    "legs": ("hip", "knee", "ankle", "heel", "foot_index"),
}
"""Keypoint groups whose left/right labels a detector swaps together (names without the
``left_``/``right_`` prefix or ``_left``/``_right`` suffix); see ``mocap.swaps``."""


def keypoint_index(names: tuple[str, ...] | list[str], name: str) -> int:
    """Return the index of ``name`` in ``names``.

    Raises
    ------
    KeyError
        With a message listing the available names when ``name`` is absent.
    """
    try:
        return list(names).index(name)
    except ValueError:
        msg = f"keypoint {name!r} is not in this trial (it has: {', '.join(names)})"
        raise KeyError(msg) from None
