"""Hip-hinge analysis: body-fixed sagittal frame, metrics, reps, pattern and faults.

Every definition is in ``docs/hinge-metrics.md``. The numeric core uses numpy and scipy
only; :mod:`mocap.hinge.report` imports matplotlib while it writes a report.

>>> from mocap.hinge import analyse_trial, FaultThresholds
>>> analysis = analyse_trial(trial, thresholds=FaultThresholds(knees_bent_deg=40))  # doctest: +SKIP
"""

from mocap.hinge.analysis import (
    Baseline,
    HingeAnalysis,
    RepResult,
    analyse_points,
    analyse_trial,
)
from mocap.hinge.definitions import DEFINITIONS_VERSION, FRAME_METRICS, REP_COLUMNS, REP_METRICS
from mocap.hinge.faults import (
    FAULT_CODES,
    Fault,
    FaultThresholds,
    load_thresholds,
    thresholds_from_toml,
)
from mocap.hinge.segment import SegmentationSettings

__all__ = [
    "DEFINITIONS_VERSION",
    "FAULT_CODES",
    "FRAME_METRICS",
    "REP_COLUMNS",
    "REP_METRICS",
    "Baseline",
    "Fault",
    "FaultThresholds",
    "HingeAnalysis",
    "RepResult",
    "SegmentationSettings",
    "analyse_points",
    "analyse_trial",
    "load_thresholds",
    "thresholds_from_toml",
]
