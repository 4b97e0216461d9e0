"""Names, units and plain-words labels of the hinge metrics (``docs/hinge-metrics.md``).

Everything here is data: which metrics exist, in which order the per-rep table and the
time series list them, their units, and the constants the issue fixes (the 15 % rep
threshold, the 0.5 s lockout window). Changing what a metric means changes
:data:`DEFINITIONS_VERSION`, which is stored with every result.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFINITIONS_VERSION = "hinge-metrics-1"
"""Version of the definitions in ``docs/hinge-metrics.md``; stored in ``/metrics``."""

REP_THRESHOLD = 0.15
"""A rep starts when hip flexion rises above this fraction of the rep's peak and ends
when it falls back below it."""

LOCKOUT_WINDOW_S = 0.5
"""Seconds after a rep's end searched for leaning back past standing."""

HINGE_RATIO_MIN_DOWN_M = 0.001
"""``hinge_ratio`` is ``inf`` when the hip went down by this much or less."""


@dataclass(frozen=True)
class Metric:
    """One metric.

    Attributes
    ----------
    name : str
        Column name, e.g. ``"trunk_flexion_deg"`` (its unit ends the name).
    unit : str
        ``"deg"``, ``"m"``, ``"mm"``, ``"%"`` or ``"1"`` (a ratio).
    label : str
        Plain words for the report, e.g. ``"Trunk forward lean"``.
    """

    name: str
    unit: str
    label: str


FRAME_METRICS: tuple[Metric, ...] = (
    Metric("hip_back_m", "m", "Hips moved back"),
    Metric("hip_down_m", "m", "Hips moved down"),
    Metric("hinge_ratio", "1", "Back-to-down ratio of the hip movement"),
    Metric("hip_path_angle_deg", "deg", "Direction of the hip movement (0 = straight back)"),
    Metric("trunk_flexion_deg", "deg", "Trunk forward lean"),
    Metric("hip_flexion_deg", "deg", "Hip bend"),
    Metric("knee_flexion_deg", "deg", "Knee bend"),
    Metric("shin_angle_deg", "deg", "Shin forward tilt"),
    Metric("head_trunk_deg", "deg", "Head tucked (+) or neck cranked back (-)"),
    Metric("lumbar_flexion_deg", "deg", "Lower-back rounding (markers)"),
    Metric("thoracic_flexion_deg", "deg", "Upper-back rounding (markers)"),
    Metric("spine_curve_mm", "mm", "Spine curve at L3 (markers)"),
    Metric("trunk_chord_shortening_pct", "%", "Shoulder-to-hip distance shortening"),
    Metric("load_offset_m", "m", "Hands in front of the mid-foot"),
)
"""Metrics defined in every frame, in table order."""

LOCKOUT_METRIC = Metric("lockout_extension_deg", "deg", "Lean back past standing after the rep")
"""The one metric defined per rep only."""

REP_METRICS: tuple[Metric, ...] = (*FRAME_METRICS, LOCKOUT_METRIC)
"""Metrics of the per-rep table, in order (frame metrics at the bottom frame, then lockout)."""

ANGLE_METRICS: frozenset[str] = frozenset(
    m.name for m in FRAME_METRICS if m.unit == "deg" and m.name != "hip_path_angle_deg"
)
"""Metrics that are changes of inclinations from the standing baseline."""

MARKER_METRICS: tuple[str, ...] = ("lumbar_flexion_deg", "thoracic_flexion_deg", "spine_curve_mm")
"""Metrics that need the spine skin markers C7, T12, L3, S1."""

REP_COLUMNS: tuple[str, ...] = (
    "rep",
    "start_s",
    "bottom_s",
    "end_s",
    "pattern",
    *(m.name for m in REP_METRICS),
    "faults",
)
"""Columns of the per-rep table (CSV and ``/metrics/reps``), in order."""

UNITS: dict[str, str] = {
    "rep": "1",
    "start_s": "s",
    "bottom_s": "s",
    "end_s": "s",
    "pattern": "",
    "faults": "",
    **{m.name: m.unit for m in REP_METRICS},
}
"""Unit of every per-rep column and per-frame series."""
