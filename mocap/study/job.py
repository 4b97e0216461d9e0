"""A study in, the comparison's tables and report out: what ``mocap compare`` runs."""

from __future__ import annotations

import dataclasses
import os

from mocap.study.collect import collect_study
from mocap.study.compare import StudyComparison, analyse_study
from mocap.study.export import output_paths, write_tables

PathLike = str | os.PathLike[str]


def compare_study(
    study: PathLike,
    by: str = "condition",
    pair_by: str = "subject",
    reference: str | None = None,
    out: PathLike | None = None,
) -> StudyComparison:
    """Collect a study, compare its conditions and (with ``out``) write tables and report.

    Parameters
    ----------
    study : path-like
        A folder of trial files (labels from their attributes) or a CSV list with
        ``path, subject, session, condition`` (see :func:`mocap.study.collect_study`).
    by : str
        ``"condition"`` (default) or ``"session"``: the label whose levels are compared.
    pair_by : str
        ``"subject"``: the differences are taken within each subject.
    reference : str, optional
        The level the others are compared with (default: the first in natural order).
    out : path-like, optional
        The HTML report to write; the CSV tables go beside it as ``NAME-reps.csv``,
        ``NAME-sessions.csv``, ``NAME-subjects.csv``, ``NAME-stats.csv`` and
        ``NAME-reliability.csv`` (each written atomically).

    Returns
    -------
    StudyComparison
        With ``written`` (role -> path) when ``out`` was given.

    Raises
    ------
    FileNotFoundError
        For a missing study or output folder.
    StudyError
        (a ``ValueError``) when nothing can be compared; nothing is written then.
    """
    paths = output_paths(out) if out is not None else None
    if paths is not None and not paths["report"].parent.is_dir():
        folder = paths["report"].parent
        msg = f"cannot write {paths['report']}: folder {folder} does not exist"
        raise FileNotFoundError(msg)
    comparison = analyse_study(collect_study(study), by, pair_by, reference)
    if paths is None:
        return comparison
    from mocap.study.report import write_comparison_report  # noqa: PLC0415 (matplotlib)

    written = write_tables(comparison, paths)
    report = write_comparison_report(paths["report"], comparison, str(study), written)
    return dataclasses.replace(comparison, written={"report": report, **written})
