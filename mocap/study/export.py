"""Tidy CSV tables of a study comparison (R, pandas and SPSS read them as is).

The same conventions as the hinge CSVs (``mocap.hinge.export``): a header of column
names, one value per cell, ``.`` decimals, 9 significant digits, an empty cell for a
value that could not be computed (NaN), ``Inf`` for an infinite one. Each table is one
kind of row: reps, session cells, subject means, paired differences, reliability. Files
are written atomically.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from calibration.files import atomic_write_text
from mocap.hinge.export import cell
from mocap.study.collect import LONG_COLUMNS, Study
from mocap.study.compare import METRICS, StudyComparison

STATS_COLUMNS: tuple[str, ...] = (
    "metric",
    "unit",
    "by",
    "reference",
    "level",
    "n_subjects",
    "mean_reference",
    "sd_reference",
    "mean_level",
    "sd_level",
    "mean_difference",
    "sd_difference",
    "se_difference",
    "ci95_low",
    "ci95_high",
    "t",
    "df",
    "p",
    "cohens_dz",
)
"""Columns of the paired-differences table, one row per compared level and metric."""

RELIABILITY_COLUMNS: tuple[str, ...] = (
    "metric",
    "unit",
    "condition",
    "n_subjects",
    "n_sessions",
    "sessions",
    "mean",
    "sd",
    "ms_subjects",
    "ms_sessions",
    "ms_error",
    "icc_3_1",
    "icc_ci95_low",
    "icc_ci95_high",
    "sem",
    "mdc95",
    "sem_from_ms_error",
    "ba_first_session",
    "ba_second_session",
    "ba_n_subjects",
    "ba_bias",
    "ba_sd",
    "ba_loa_low",
    "ba_loa_high",
)
"""Columns of the test-retest table, one row per condition with repeated sessions and metric."""

CELL_COLUMNS: tuple[str, ...] = (
    "subject",
    "condition",
    "session",
    "n_trials",
    "n_reps",
    *METRICS,
)
"""Columns of the session-means table (one row per subject x condition x session)."""

TABLES: tuple[str, ...] = ("reps", "sessions", "subjects", "stats", "reliability")
"""The CSV tables, by role; :func:`output_paths` names their files."""


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CSV text (Unix line endings) of a header and rows of values."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([cell(v) for v in row] for row in rows)
    return buffer.getvalue()


def reps_csv(study: Study) -> str:
    """The long table: one row per rep (``LONG_COLUMNS``)."""
    return csv_text(LONG_COLUMNS, ([row[c] for c in LONG_COLUMNS] for row in study.rows()))


def sessions_csv(comparison: StudyComparison) -> str:
    """The mean of each subject x condition x session (``CELL_COLUMNS``)."""
    rows = (
        [c.subject, c.condition, c.session, c.n_trials, c.n_reps, *(c.values[m] for m in METRICS)]
        for c in comparison.cells
    )
    return csv_text(CELL_COLUMNS, rows)


def subject_columns(comparison: StudyComparison) -> tuple[str, ...]:
    """Columns of the subject-means table: ``subject, <by>, n_<other>s, n_trials, ...``."""
    return ("subject", comparison.by, f"n_{comparison.other}s", "n_trials", "n_reps", *METRICS)


def subjects_csv(comparison: StudyComparison) -> str:
    """The mean of each subject at each level of ``by`` (:func:`subject_columns`)."""
    rows = (
        [m.subject, m.level, m.n_cells, m.n_trials, m.n_reps, *(m.values[x] for x in METRICS)]
        for m in comparison.subject_means
    )
    return csv_text(subject_columns(comparison), rows)


def stats_csv(comparison: StudyComparison) -> str:
    """The paired differences (``STATS_COLUMNS``)."""
    rows = []
    for c in comparison.contrasts:
        s = c.stats
        rows.append(
            [
                *(c.metric, c.unit, comparison.by, c.reference, c.level, s.n),
                *(s.mean_reference, s.sd_reference, s.mean_other, s.sd_other),
                *(s.mean_difference, s.sd_difference, s.se_difference, s.ci_low, s.ci_high),
                *(s.t, s.df, s.p, s.cohens_dz),
            ]
        )
    return csv_text(STATS_COLUMNS, rows)


def reliability_csv(comparison: StudyComparison) -> str:
    """Test-retest reliability (``RELIABILITY_COLUMNS``; only a header without repeats)."""
    rows = []
    for r in comparison.reliability:
        s, a = r.stats, r.agreement
        rows.append(
            [
                *(r.metric, r.unit, r.condition, s.n, s.k, ";".join(r.sessions)),
                *(s.grand_mean, s.sd, s.ms_subjects, s.ms_sessions, s.ms_error),
                *(s.icc, s.ci_low, s.ci_high, s.sem, s.mdc95, s.sem_from_ms_error),
                *(r.sessions[0], r.sessions[1], a.n, a.bias, a.sd, a.loa_low, a.loa_high),
            ]
        )
    return csv_text(RELIABILITY_COLUMNS, rows)


def output_paths(out: str | os.PathLike[str]) -> dict[str, Path]:
    """Every file of a comparison from the report's path: ``NAME.html`` and ``NAME-<table>.csv``.

    Roles: ``report`` and each of :data:`TABLES`.
    """
    out = Path(out)
    stem = out.stem if out.suffix.lower() in (".html", ".htm") else out.name
    tables = {role: out.with_name(f"{stem}-{role}.csv") for role in TABLES}
    return {"report": out, **tables}


def write_tables(comparison: StudyComparison, paths: dict[str, Path]) -> dict[str, Path]:
    """Write every CSV table to its path in ``paths`` (atomically); returns them by role."""
    texts = {
        "reps": reps_csv(comparison.study),
        "sessions": sessions_csv(comparison),
        "subjects": subjects_csv(comparison),
        "stats": stats_csv(comparison),
        "reliability": reliability_csv(comparison),
    }
    return {role: atomic_write_text(paths[role], text) for role, text in texts.items()}
