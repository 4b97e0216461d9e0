"""Comparing the conditions of a study: cell means, subject means, paired differences, ICC.

:func:`analyse_study` turns a collected :class:`~mocap.study.collect.Study` into a
:class:`StudyComparison` (numbers only, no files); ``docs/study-comparison.md`` gives
every formula. The levels of aggregation:

1. a **rep** (one row of a trial's per-rep table);
2. a **cell**: one subject in one condition in one session, the mean of its reps (all
   trials of that session together);
3. a **subject mean**: one subject at one level of ``by`` (a condition, or a session),
   the mean of its cells (each session, or condition, counting once).

Paired differences compare subject means between each level and the reference level;
test-retest reliability compares the cells of the sessions within each condition.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from mocap.hinge.definitions import REP_METRICS, UNITS
from mocap.study.collect import Study, StudyError, natural_key
from mocap.study.stats import (
    BlandAltman,
    IccStats,
    PairedStats,
    bland_altman,
    icc_consistency,
    paired_difference,
)

BY_CHOICES: tuple[str, ...] = ("condition", "session")
"""Labels a study can be compared by."""
PAIR_BY_CHOICES: tuple[str, ...] = ("subject",)
"""Labels that pair the values (the unit of analysis)."""
METRICS: tuple[str, ...] = tuple(m.name for m in REP_METRICS)
"""The per-rep metrics compared, in the hinge table's order."""


@dataclass(frozen=True)
class CellMean:
    """One subject in one condition and session: the mean of its reps per metric.

    ``values`` holds NaN for a metric without a finite value in any of the reps.
    """

    subject: str
    condition: str
    session: str
    n_trials: int
    n_reps: int
    values: Mapping[str, float]


@dataclass(frozen=True)
class SubjectMean:
    """One subject at one level of ``by``: the mean of its cells per metric.

    ``n_cells`` counts the cells averaged (sessions when comparing conditions).
    """

    subject: str
    level: str
    n_cells: int
    n_trials: int
    n_reps: int
    values: Mapping[str, float]


@dataclass(frozen=True)
class Contrast:
    """The paired difference ``level - reference`` of one metric.

    ``subjects``, ``reference_values`` and ``level_values`` are the pairs used (both
    finite), in subject order.
    """

    metric: str
    unit: str
    reference: str
    level: str
    stats: PairedStats
    subjects: tuple[str, ...]
    reference_values: tuple[float, ...]
    level_values: tuple[float, ...]


@dataclass(frozen=True)
class Reliability:
    """Test-retest reliability of one metric across the sessions of one condition.

    ``subjects`` are those with every session (and a finite value in each);
    ``agreement`` compares the first two sessions.
    """

    metric: str
    unit: str
    condition: str
    sessions: tuple[str, ...]
    subjects: tuple[str, ...]
    stats: IccStats
    agreement: BlandAltman


@dataclass(frozen=True, eq=False)
class StudyComparison:
    """Everything ``mocap compare`` reports about a study.

    Attributes
    ----------
    study : Study
        The trials used and the inputs left out.
    by, pair_by : str
        The label compared (``condition`` or ``session``) and the pairing label.
    reference : str
        The level every other level is compared with.
    levels : tuple of str
        The levels of ``by`` in natural order.
    metrics : tuple of str
        The metrics, in order; ``units`` gives their units.
    cells, subject_means : tuple
        The two levels of means (see the module docstring).
    contrasts : tuple of Contrast
        Per compared level (order of ``levels``), per metric.
    reliability : tuple of Reliability
        Per condition with repeated sessions, per metric.
    problems : tuple of str
        Inputs, subjects or levels left out (the study's, then the comparison's).
    notes : tuple of str
        Other things worth saying (files analysed now, no repeated sessions, ...).
    written : mapping of str to Path
        Files written by :func:`mocap.study.compare_study`, by role.
    """

    study: Study
    by: str
    pair_by: str
    reference: str
    levels: tuple[str, ...]
    metrics: tuple[str, ...]
    units: Mapping[str, str]
    cells: tuple[CellMean, ...]
    subject_means: tuple[SubjectMean, ...]
    contrasts: tuple[Contrast, ...]
    reliability: tuple[Reliability, ...]
    problems: tuple[str, ...]
    notes: tuple[str, ...]
    written: Mapping[str, Path] = field(default_factory=dict)

    @property
    def other(self) -> str:
        """The label averaged within a subject mean (``session`` when ``by`` is condition)."""
        return "session" if self.by == "condition" else "condition"

    @property
    def subjects(self) -> tuple[str, ...]:
        """Every subject, natural order."""
        return tuple(sorted({c.subject for c in self.cells}, key=natural_key))


def _finite_mean(values: np.ndarray) -> float:
    """Mean of the finite values (NaN when there are none)."""
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else math.nan


def cell_means(study: Study) -> tuple[CellMean, ...]:
    """Mean of every metric over the reps of each subject x condition x session."""
    groups: dict[tuple[str, str, str], list] = defaultdict(list)
    for trial in study.trials:
        groups[(trial.subject, trial.condition, trial.session)].append(trial)
    cells = []
    for key in sorted(groups, key=lambda k: tuple(natural_key(x) for x in k)):
        trials = groups[key]
        values = {
            name: _finite_mean(np.concatenate([np.asarray(t.reps[name], float) for t in trials]))
            for name in METRICS
        }
        n_reps = sum(t.n_reps for t in trials)
        cells.append(CellMean(*key, len(trials), n_reps, MappingProxyType(values)))
    return tuple(cells)


def subject_means(cells: Sequence[CellMean], by: str) -> tuple[SubjectMean, ...]:
    """Mean of every metric over the cells of each subject x level of ``by``."""
    groups: dict[tuple[str, str], list[CellMean]] = defaultdict(list)
    for cell in cells:
        groups[(cell.subject, getattr(cell, by))].append(cell)
    out = []
    for key in sorted(groups, key=lambda k: (natural_key(k[0]), natural_key(k[1]))):
        group = groups[key]
        values = {name: _finite_mean(np.array([c.values[name] for c in group])) for name in METRICS}
        n_trials, n_reps = sum(c.n_trials for c in group), sum(c.n_reps for c in group)
        out.append(SubjectMean(*key, len(group), n_trials, n_reps, MappingProxyType(values)))
    return tuple(out)


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _plan_contrasts(
    by: str, levels: tuple[str, ...], reference: str, members: Mapping[str, set[str]]
) -> tuple[list[tuple[str, list[str]]], list[str]]:
    """Which levels can be compared with the reference, with which subjects, and problems."""
    problems, plan = [], []
    for level in levels:
        if len(members[level]) == 1:
            (only,) = members[level]
            problems.append(
                f"{by} '{level}' has one subject ({only}): it cannot be compared "
                "(a confidence interval needs at least 2 subjects)"
            )
    if len(members[reference]) < 2:
        return [], problems
    for level in levels:
        if level == reference or len(members[level]) < 2:
            continue
        name = f"'{level}' - '{reference}'"
        for subject in sorted(members[level] - members[reference], key=natural_key):
            problems.append(
                f"subject {subject} has no trials in {by} '{reference}' (the reference): "
                f"left out of {name}"
            )
        for subject in sorted(members[reference] - members[level], key=natural_key):
            problems.append(
                f"subject {subject} has no trials in {by} '{level}': left out of {name}"
            )
        paired = sorted(members[level] & members[reference], key=natural_key)
        if len(paired) < 2:
            have = f"{len(paired)} subject" + ("" if len(paired) == 1 else "s")
            problems.append(f"{name}: only {have} with trials in both; not compared")
            continue
        plan.append((level, paired))
    return plan, problems


def _contrasts(
    means: Sequence[SubjectMean], reference: str, plan: list[tuple[str, list[str]]]
) -> tuple[Contrast, ...]:
    """The paired difference of every metric for every planned level."""
    table = {(m.subject, m.level): m.values for m in means}
    out = []
    for level, subjects in plan:
        for name in METRICS:
            a = np.array([table[(s, reference)][name] for s in subjects])
            b = np.array([table[(s, level)][name] for s in subjects])
            keep = np.isfinite(a) & np.isfinite(b)
            used = tuple(s for s, k in zip(subjects, keep, strict=True) if k)
            result = paired_difference(a, b)
            out.append(
                Contrast(
                    name,
                    UNITS[name],
                    reference,
                    level,
                    result,
                    used,
                    tuple(a[keep].tolist()),
                    tuple(b[keep].tolist()),
                )
            )
    return tuple(out)


def _reliability(cells: Sequence[CellMean]) -> tuple[tuple[Reliability, ...], list[str]]:
    """ICC(3,1), SEM, MDC95 and Bland-Altman per condition with repeated sessions."""
    by_condition: dict[str, list[CellMean]] = defaultdict(list)
    for cell in cells:
        by_condition[cell.condition].append(cell)
    out, problems = [], []
    for condition in sorted(by_condition, key=natural_key):
        group = by_condition[condition]
        sessions = tuple(sorted({c.session for c in group}, key=natural_key))
        if len(sessions) < 2:
            continue
        table = {(c.subject, c.session): c.values for c in group}
        subjects = sorted({c.subject for c in group}, key=natural_key)
        complete = []
        for subject in subjects:
            lacking = [s for s in sessions if (subject, s) not in table]
            if lacking:
                problems.append(
                    f"test-retest in condition '{condition}': subject {subject} has no "
                    f"session {_quoted(lacking)}; left out of the ICC"
                )
            else:
                complete.append(subject)
        for name in METRICS:
            matrix = np.array([[table[(s, x)][name] for x in sessions] for s in complete])
            matrix = matrix.reshape(len(complete), len(sessions))
            rows = np.isfinite(matrix).all(axis=1)
            used = tuple(s for s, ok in zip(complete, rows, strict=True) if ok)
            icc = icc_consistency(matrix[rows])
            agreement = bland_altman(matrix[rows, 0], matrix[rows, 1])
            out.append(Reliability(name, UNITS[name], condition, sessions, used, icc, agreement))
    return tuple(out), problems


def _metric_notes(study: Study) -> list[str]:
    """Metrics never measured, and infinite values left out of the means."""
    notes = []
    for name in METRICS:
        values = np.concatenate([np.asarray(t.reps[name], float) for t in study.trials])
        if not np.isfinite(values).any() and not np.isinf(values).any():
            notes.append(f"{name}: not measured in any rep (its landmarks are missing)")
        n_inf = int(np.isinf(values).sum())
        if n_inf:
            notes.append(
                f"{name}: {n_inf} of {values.size} reps are infinite (e.g. the hips did not go "
                "down); left out of the means"
            )
    return notes


def _members(study: Study, by: str) -> dict[str, set[str]]:
    """The subjects of each level of ``by``."""
    members: dict[str, set[str]] = defaultdict(set)
    for trial in study.trials:
        members[trial.label(by)].add(trial.subject)
    return members


def analyse_study(
    study: Study, by: str = "condition", pair_by: str = "subject", reference: str | None = None
) -> StudyComparison:
    """Compare the levels of ``by`` (paired by subject) and the sessions' reliability.

    Parameters
    ----------
    study : Study
        From :func:`mocap.study.collect_study`.
    by : str
        ``"condition"`` (default) or ``"session"``: the label whose levels are compared.
    pair_by : str
        ``"subject"``: differences are taken within each subject.
    reference : str, optional
        The level the others are compared with (default: the first in natural order).

    Returns
    -------
    StudyComparison

    Raises
    ------
    StudyError
        When nothing can be compared: no usable trial, one level only, an unknown
        reference, or no level with at least 2 subjects paired with the reference.
    """
    if by not in BY_CHOICES:
        msg = f"--by must be one of {', '.join(BY_CHOICES)}, got {by!r}"
        raise StudyError(msg)
    if pair_by not in PAIR_BY_CHOICES:
        msg = f"--pair-by must be one of {', '.join(PAIR_BY_CHOICES)}, got {pair_by!r}"
        raise StudyError(msg)
    if not study.trials:
        first = f": {study.problems[0]}" if study.problems else ""
        msg = f"{study.source}: no usable trial ({len(study.problems)} left out){first}"
        raise StudyError(msg)
    members = _members(study, by)
    levels = tuple(sorted(members, key=natural_key))
    if len(levels) < 2:
        msg = f"{study.source}: every usable trial is in {by} '{levels[0]}'; nothing to compare"
        raise StudyError(msg)
    reference = levels[0] if reference is None else reference
    if reference not in members:
        msg = f"reference {by} '{reference}' is not in the study ({by}s: {_quoted(levels)})"
        raise StudyError(msg)
    plan, problems = _plan_contrasts(by, levels, reference, members)
    if not plan:
        detail = f" ({problems[-1]})" if problems else ""
        msg = (
            f"{study.source}: no {by} has at least 2 subjects with trials in it and in "
            f"'{reference}'{detail}"
        )
        raise StudyError(msg)
    cells = cell_means(study)
    means = subject_means(cells, by)
    reliability, retest_problems = _reliability(cells)
    notes = [*study.notes, *_metric_notes(study)]
    if not reliability:
        notes.append(
            "no condition has repeated sessions: test-retest reliability (ICC, SEM, MDC95) "
            "not computed"
        )
    return StudyComparison(
        study,
        by,
        pair_by,
        reference,
        levels,
        METRICS,
        MappingProxyType({name: UNITS[name] for name in METRICS}),
        cells,
        means,
        _contrasts(means, reference, plan),
        reliability,
        (*study.problems, *problems, *retest_problems),
        tuple(notes),
    )
