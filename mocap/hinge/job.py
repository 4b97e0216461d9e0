"""A trial file in, the hinge analysis's files out: what ``mocap hinge`` and the demo run."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mocap.hinge.analysis import HingeAnalysis, analyse_trial
from mocap.hinge.export import write_reps_csv, write_timeseries_csv
from mocap.hinge.faults import FaultThresholds
from mocap.trial import read_trial, write_metrics

PathLike = str | os.PathLike[str]


@dataclass(frozen=True, eq=False)
class HingeFiles:
    """What :func:`analyse_file` computed and wrote.

    Attributes
    ----------
    analysis : HingeAnalysis
        The analysis (its ``problems`` say what was missing).
    written : dict of str to Path
        Each written file by role: ``"reps CSV"``, ``"time series"``, ``"report"``,
        ``"metrics"`` (the trial file itself).
    """

    analysis: HingeAnalysis
    written: dict[str, Path]


def _check_folders(paths: list[Path | None]) -> None:
    """Refuse outputs whose folder does not exist, before any work."""
    for path in paths:
        if path is not None and not path.parent.is_dir():
            msg = f"cannot write {path}: folder {path.parent} does not exist"
            raise FileNotFoundError(msg)


def analyse_file(
    trial_path: PathLike,
    csv: PathLike | None = None,
    report: PathLike | None = None,
    timeseries: PathLike | None = None,
    thresholds: FaultThresholds | None = None,
    store: bool = True,
) -> HingeFiles:
    """Analyse a trial file and write the per-rep CSV, time series, report and ``/metrics``.

    Everything that can be computed is written, also when landmarks or reps are missing
    (the analysis's ``problems`` say what).

    Parameters
    ----------
    trial_path : path-like
        A trial file with ``points3d``.
    csv, report, timeseries : path-like, optional
        Per-rep CSV, HTML report and per-frame CSV to write (atomically).
    thresholds : FaultThresholds, optional
        The fault table (default: the documented defaults).
    store : bool
        Store the metrics in the trial file under ``/metrics`` (atomically).

    Raises
    ------
    FileNotFoundError
        For a missing trial file or output folder.
    ValueError
        (``TrialFormatError``) for a file that is not a trial, or has no 3D points.
    """
    trial_path = Path(trial_path)
    outputs = [None if p is None else Path(p) for p in (csv, report, timeseries)]
    _check_folders(outputs)
    trial = read_trial(trial_path)
    if trial.points3d is None:
        msg = f"{trial_path}: has no 3D points (points3d); run mocap triangulate or mocap process"
        raise ValueError(msg)
    analysis = analyse_trial(trial, thresholds)
    csv_path, report_path, series_path = outputs
    written: dict[str, Path] = {}
    if csv_path is not None:
        written["reps CSV"] = write_reps_csv(csv_path, analysis)
    if series_path is not None:
        written["time series"] = write_timeseries_csv(series_path, analysis)
    if report_path is not None:
        from mocap.hinge.report import write_hinge_report  # noqa: PLC0415 (matplotlib)

        written["report"] = write_hinge_report(report_path, analysis, trial_path.name, trial.info)
    if store:
        written["metrics"] = write_metrics(trial_path, analysis.to_trial_metrics())
    return HingeFiles(analysis, written)
