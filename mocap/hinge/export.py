"""Tidy CSV files of a hinge analysis: one row per rep, or one row per frame.

Plain CSV that R, pandas and SPSS read as is: a header of column names (units end the
names), one value per cell, ``.`` as the decimal separator, empty cells for values that
could not be measured (NaN), ``Inf`` for an infinite hinge ratio, numbers to 9
significant digits, faults as codes joined by ``;``. Files are written atomically.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from calibration.files import atomic_write_text
from mocap.hinge.analysis import HingeAnalysis
from mocap.hinge.definitions import FRAME_METRICS, REP_COLUMNS

FRAME_COLUMNS: tuple[str, ...] = (
    "frame",
    "time_s",
    "rep",
    "baseline_rep",
    *(m.name for m in FRAME_METRICS),
)
"""Columns of the time-series CSV, in order."""


def cell(value: object) -> str:
    """One CSV cell: numbers to 9 significant digits, NaN empty, infinity ``Inf``."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    number = float(value)  # type: ignore[arg-type]
    if math.isnan(number):
        return ""
    if math.isinf(number):
        return "Inf" if number > 0 else "-Inf"
    return f"{number + 0.0:.9g}"  # + 0.0: no "-0"


def _csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CSV text (Unix line endings) of a header and rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([cell(v) for v in row] for row in rows)
    return buffer.getvalue()


def reps_csv(analysis: HingeAnalysis) -> str:
    """The per-rep table as CSV text (header ``REP_COLUMNS``; no rows without reps)."""
    rows = ([rep.row()[name] for name in REP_COLUMNS] for rep in analysis.reps)
    return _csv_text(REP_COLUMNS, rows)


def timeseries_csv(analysis: HingeAnalysis) -> str:
    """Every per-frame metric as CSV text, one row per frame (:data:`FRAME_COLUMNS`)."""
    columns = [
        range(len(analysis.times)),
        analysis.times,
        analysis.rep_of_frame.tolist(),
        analysis.baseline_rep.tolist(),
        *(analysis.series[m.name] for m in FRAME_METRICS),
    ]
    return _csv_text(FRAME_COLUMNS, zip(*columns, strict=True))


def write_reps_csv(path: str | os.PathLike[str], analysis: HingeAnalysis) -> Path:
    """Write :func:`reps_csv` to ``path`` atomically."""
    return atomic_write_text(path, reps_csv(analysis))


def write_timeseries_csv(path: str | os.PathLike[str], analysis: HingeAnalysis) -> Path:
    """Write :func:`timeseries_csv` to ``path`` atomically."""
    return atomic_write_text(path, timeseries_csv(analysis))
