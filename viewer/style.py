"""Colours and sizes shared by the panels (RGBA floats in 0..1; no Qt).

Left is blue, right orange, the centre line light grey, the spine chain C7-T12-L3-S1 and
the skin markers green, as in the legend of ``docs/viewer.md``.
"""

from __future__ import annotations

RGBA = tuple[float, float, float, float]

LEFT: RGBA = (0.25, 0.6, 1.0, 1.0)
RIGHT: RGBA = (1.0, 0.45, 0.15, 1.0)
CENTRE: RGBA = (0.88, 0.88, 0.88, 1.0)
SPINE: RGBA = (0.2, 1.0, 0.35, 1.0)
SIDE_COLOURS: dict[str, RGBA] = {"left": LEFT, "right": RIGHT, "centre": CENTRE, "spine": SPINE}
"""Bone and point colour by side (see :func:`viewer.geometry.side_of`)."""

FADED_ALPHA = 0.22
"""Opacity of points (and their bones) seen by fewer than MIN_VIEWS cameras."""
MIN_VIEWS = 2
"""Points triangulated from fewer cameras (0: gap-filled by the filter) are drawn faded."""

CAMERA: RGBA = (0.65, 0.8, 0.85, 1.0)
GRID: RGBA = (0.45, 0.45, 0.45, 1.0)
CURSOR: RGBA = (1.0, 0.85, 0.0, 1.0)
HIP_PATH: RGBA = (1.0, 0.25, 0.9, 1.0)
GHOST: RGBA = (0.7, 0.7, 0.7, 0.35)
FAULT: RGBA = (1.0, 0.2, 0.2, 1.0)
REP_SHADE: RGBA = (0.35, 0.55, 1.0, 0.16)
BACKGROUND: RGBA = (0.0, 0.0, 0.0, 1.0)

BONE_WIDTH = 3.0
SPINE_WIDTH = 5.0
POINT_SIZE = 6.0
MARKER_SIZE = 11.0
FRUSTUM_DEPTH_M = 0.35
"""Distance of a camera frustum's far rectangle from its centre, metres."""

PLOT_SERIES: tuple[tuple[str, str], ...] = (
    ("hip_flexion_deg", "hip"),
    ("knee_flexion_deg", "knee"),
    ("trunk_flexion_deg", "trunk"),
    ("head_trunk_deg", "head"),
    ("lumbar_flexion_deg", "lumbar"),
)
"""The time plots, top to bottom: series of ``HingeAnalysis.series`` and axis labels
(hip flexion, knee flexion, trunk flexion, head on trunk, lumbar flexion; degrees).

The lumbar plot exists only when the trial has the spine markers."""


def rgba255(colour: RGBA) -> tuple[int, int, int, int]:
    """A colour as 0..255 integers (what pyqtgraph's pens and brushes take)."""
    return tuple(round(255 * c) for c in colour)  # type: ignore[return-value]
