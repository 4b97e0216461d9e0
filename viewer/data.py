"""A trial as the viewer shows it: the trial, its hinge analysis, its cameras, what is missing.

The viewer computes no metric: :func:`mocap.hinge.analyse_trial` does, with the fault
thresholds and segmentation settings stored in the file's ``/metrics`` when it has them
(so the numbers are those ``mocap hinge`` stored), else with the defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from calibration.camera import CameraRig
from calibration.toml_io import calibration_from_toml
from mocap.hinge import (
    DEFINITIONS_VERSION,
    FaultThresholds,
    HingeAnalysis,
    SegmentationSettings,
    analyse_trial,
)
from mocap.hinge.landmarks import Landmarks, landmarks
from mocap.trial import Trial, read_trial
from mocap.trial_metrics import TrialMetrics
from viewer.geometry import SkeletonLayout, faded_points, skeleton_layout
from viewer.style import PLOT_SERIES

Settings = TypeVar("Settings", FaultThresholds, SegmentationSettings)


@dataclass(frozen=True, eq=False)
class ViewerData:
    """Everything the panels draw, computed once per (re)load.

    Attributes
    ----------
    trial : Trial
        As read (T frames, J keypoints).
    analysis : HingeAnalysis or None
        The hinge analysis of its 3D points (None without ``points3d``).
    landmarks : Landmarks or None
        The analysis's landmark trajectories (hips, shoulders, ...), (T, 3) each.
    rig : CameraRig or None
        The cameras of the trial's ``calibration_toml`` (None when absent or unreadable).
    layout : SkeletonLayout
        Bones and colours of the trial's keypoints.
    faded : ndarray of bool, shape (T, J), or None
        Points seen by too few cameras (None without ``n_views``).
    missing : tuple of str
        What the trial lacks and what that means, one short phrase each (status bar).
    plots : tuple of (str, str)
        The time plots to show: series name and title.
    path : Path or None
        The file it came from.
    """

    trial: Trial
    analysis: HingeAnalysis | None
    landmarks: Landmarks | None
    rig: CameraRig | None
    layout: SkeletonLayout
    faded: NDArray[np.bool_] | None
    missing: tuple[str, ...]
    plots: tuple[tuple[str, str], ...]
    path: Path | None = None

    @property
    def times(self) -> NDArray[np.float64]:
        """Frame times (T,), seconds."""
        return self.trial.timestamps

    @property
    def has_markers(self) -> bool:
        """Whether the spine markers C7, T12, L3, S1 were reconstructed."""
        return self.landmarks is not None and "spine markers" not in self.landmarks.missing

    @property
    def rep_starts(self) -> tuple[int, ...]:
        """First frame of each rep (for the rep jump)."""
        return () if self.analysis is None else tuple(r.start_index for r in self.analysis.reps)


def _from_attrs(metrics: TrialMetrics, prefix: str, kind: type[Settings]) -> Settings | None:
    """The ``prefix.<field>`` attributes of ``/metrics`` as a ``kind`` (None if unusable)."""
    names = {f.name for f in fields(kind)}
    values = {k[len(prefix) :]: v for k, v in metrics.attrs.items() if k.startswith(prefix)}
    known = {k: v for k, v in values.items() if k in names}
    try:
        return kind(**known) if known else None
    except (TypeError, ValueError):
        return None


def _analyse(trial: Trial) -> HingeAnalysis | None:
    """The hinge analysis with the file's stored thresholds and settings (else defaults)."""
    if trial.points3d is None:
        return None
    thresholds = settings = None
    if trial.metrics is not None:
        thresholds = _from_attrs(trial.metrics, "thresholds.", FaultThresholds)
        settings = _from_attrs(trial.metrics, "segmentation.", SegmentationSettings)
    return analyse_trial(trial, thresholds, settings)


def _rig(trial: Trial) -> tuple[CameraRig | None, str]:
    """The trial's cameras, or None and why not ("" when it simply has none)."""
    if not trial.calibration_toml.strip():
        return None, "no calibration in the file: no cameras drawn"
    try:
        return calibration_from_toml(trial.calibration_toml, "calibration_toml")[0], ""
    except (ValueError, KeyError) as exc:
        return None, f"calibration unreadable ({exc}): no cameras drawn"


def missing_parts(
    trial: Trial, analysis: HingeAnalysis | None, lm: Landmarks | None, rig_note: str
) -> tuple[str, ...]:
    """What the trial lacks, each as a short phrase for the status bar (empty: nothing)."""
    notes: list[str] = []
    if trial.points3d is None:
        notes.append("no 3D points (2D only): no skeleton, no metrics")
    elif trial.metrics is None:
        notes.append("no /metrics in the file: metrics computed on opening (default thresholds)")
    elif trial.metrics.definitions_version != DEFINITIONS_VERSION:
        old = trial.metrics.definitions_version
        notes.append(f"the file's /metrics are {old}: shown recomputed as {DEFINITIONS_VERSION}")
    if lm is not None and "spine markers" in lm.missing:
        notes.append("no spine markers: no lumbar plot, no spine in the sagittal panel")
    if trial.keypoints2d is None:
        notes.append("no 2D keypoints (3D only)")
    if trial.points3d is not None and trial.n_views is None:
        notes.append("no view counts: no point drawn faded")
    if rig_note:
        notes.append(rig_note)
    if analysis is not None and not analysis.reps:
        notes.append("no reps found")
    return tuple(notes)


def viewer_data(trial: Trial, path: str | os.PathLike[str] | None = None) -> ViewerData:
    """Analyse a trial and collect what the panels draw."""
    analysis = _analyse(trial)
    lm = None if trial.points3d is None else landmarks(trial.points3d, trial.keypoint_names)
    rig, rig_note = _rig(trial)
    has_markers = lm is not None and "spine markers" not in lm.missing
    plots = tuple(p for p in PLOT_SERIES if has_markers or p[0] != "lumbar_flexion_deg")
    return ViewerData(
        trial=trial,
        analysis=analysis,
        landmarks=lm,
        rig=rig,
        layout=skeleton_layout(trial.keypoint_names),
        faded=faded_points(trial.n_views),
        missing=missing_parts(trial, analysis, lm, rig_note),
        plots=plots if analysis is not None else (),
        path=None if path is None else Path(path),
    )


def load(path: str | os.PathLike[str]) -> ViewerData:
    """Read a trial file (also one still being written) and analyse it."""
    return viewer_data(read_trial(path), path)
