"""The study comparison report: one self-contained HTML file with tables, plots and words.

It shows what was compared and what was left out, the paired differences (a table and a
forest plot of their 95 % confidence intervals), each subject's values across the
conditions (paired lines), and the test-retest reliability of each condition with
repeated sessions (a table and Bland-Altman plots), each with a plain-words explanation.
Figures are PNG images embedded as base64; matplotlib (``Figure`` and the Agg canvas
only) is imported while a report is written, as in ``mocap/hinge/report.py``.
"""

from __future__ import annotations

import html
import math
import os
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from calibration.figures import REPORT_CSS, new_figure, png_img
from calibration.files import atomic_write_text
from mocap.hinge.definitions import DEFINITIONS_VERSION, REP_METRICS
from mocap.study.collect import natural_key
from mocap.study.compare import Contrast, Reliability, StudyComparison
from mocap.study.stats import CONFIDENCE
from mocap.version import software_version

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 90
"""Resolution of the embedded figures."""
COLUMNS = 4
"""Panels per row in the per-metric figures."""
LABELS: dict[str, str] = {m.name: m.label for m in REP_METRICS}
"""Plain-words name of each metric."""
DISPLAY: dict[str, tuple[float, str]] = {"m": (100.0, "cm"), "1": (1.0, "ratio")}
"""Units shown otherwise in the report: scale and unit (metres as centimetres)."""

_CSS = (
    REPORT_CSS
    + """
.info { background: #eef4fb; border-left: 5px solid #4a7fc1; padding: 0.5em 1em; }
"""
)


def _display(unit: str) -> tuple[float, str]:
    """Scale and unit a metric is shown in."""
    return DISPLAY.get(unit, (1.0, "°" if unit == "deg" else unit))


def _metric_title(metric: str, unit: str) -> str:
    shown = _display(unit)[1]
    return f"{LABELS.get(metric, metric)} ({shown})"


def _panel_title(metric: str, unit: str) -> str:
    """A metric's title wrapped to the width of a panel."""
    return textwrap.fill(_metric_title(metric, unit), 40)


# ----------------------------------------------------------------------------- figures


def _new_figure(width_in: float, height_in: float) -> Figure:
    """A constrained-layout Agg figure at this report's resolution."""
    return new_figure(width_in, height_in, DPI)


def _png(figure: Figure, alt: str) -> str:
    """The figure as an embedded PNG ``<img>``."""
    return png_img(figure, alt, DPI)


def _grid(n: int, panel_height: float = 2.5) -> tuple[Figure, list]:
    """A figure with ``n`` panels in rows of :data:`COLUMNS`."""
    rows = max(1, math.ceil(n / COLUMNS))
    figure = _new_figure(12.0, panel_height * rows + 0.4)
    axes = figure.subplots(rows, COLUMNS, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return figure, axes[:n]


def _measured(comparison: StudyComparison) -> list[str]:
    """Metrics with at least one finite subject mean (the others are not plotted)."""
    return [
        name
        for name in comparison.metrics
        if any(math.isfinite(m.values[name]) for m in comparison.subject_means)
    ]


def paired_figure(comparison: StudyComparison) -> Figure:
    """Each subject's mean at every level, joined by a line; black: the mean of subjects."""
    metrics = _measured(comparison)
    figure, axes = _grid(len(metrics))
    levels = comparison.levels
    x = np.arange(len(levels))
    table = {(m.subject, m.level): m.values for m in comparison.subject_means}
    for ax, name in zip(axes, metrics, strict=True):
        scale = _display(comparison.units[name])[0]
        rows = np.array(
            [
                [table.get((s, level), {}).get(name, math.nan) for level in levels]
                for s in comparison.subjects
            ]
        ).reshape(len(comparison.subjects), len(levels))
        rows = rows * scale
        for row in rows:
            finite = np.isfinite(row)
            ax.plot(x[finite], row[finite], "o-", color="0.55", alpha=0.6, ms=3, lw=1)
        with np.errstate(invalid="ignore"):
            finite_rows = np.where(np.isfinite(rows), rows, np.nan)
            mean = np.array([_nanmean(finite_rows[:, j]) for j in range(len(levels))])
        ax.plot(x, mean, "s-", color="black", lw=2, ms=6, label="mean")
        ax.set_xticks(x, levels)
        ax.set_xlim(-0.4, len(levels) - 0.6)
        ax.set_title(_panel_title(name, comparison.units[name]), fontsize="small")
        ax.grid(alpha=0.3)
    figure.suptitle(
        f"Each subject's mean per {comparison.by} (grey lines), mean of subjects (black)",
        fontsize="medium",
    )
    return figure


def _nanmean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else math.nan


def forest_figure(comparison: StudyComparison) -> Figure:
    """Mean difference and its 95 % CI of every metric, one panel per unit."""
    groups: dict[str, list[Contrast]] = {}
    for c in comparison.contrasts:
        if math.isfinite(c.stats.mean_difference):
            groups.setdefault(_display(c.unit)[1], []).append(c)
    sizes = [len(g) for g in groups.values()] or [1]
    figure = _new_figure(9.0, 0.9 + 0.32 * sum(sizes) + 0.5 * len(sizes))
    axes = figure.subplots(len(sizes), 1, squeeze=False, height_ratios=sizes).ravel()
    several = len(comparison.levels) > 2
    for ax, (unit, contrasts) in zip(axes, groups.items(), strict=False):
        y = np.arange(len(contrasts))[::-1]
        for yi, c in zip(y, contrasts, strict=True):
            scale = _display(c.unit)[0]
            s = c.stats
            ax.plot([s.ci_low * scale, s.ci_high * scale], [yi, yi], color="C0", lw=2)
            ax.plot([s.mean_difference * scale], [yi], "o", color="C0")
        names = [
            LABELS.get(c.metric, c.metric) + (f" ({c.level})" if several else "") for c in contrasts
        ]
        ax.set_yticks(y, names, fontsize="small")
        ax.axvline(0.0, color="0.3", lw=1)
        ax.set_xlabel(f"difference ({unit})", fontsize="small")
        ax.grid(alpha=0.3, axis="x")
    pairs = ", ".join(f"'{level}' − '{comparison.reference}'" for level in _compared(comparison))
    figure.suptitle(f"Mean difference {pairs} with its 95 % CI", fontsize="medium")
    return figure


def bland_altman_figure(comparison: StudyComparison, condition: str) -> Figure:
    """Bland-Altman plots of the first two sessions of ``condition``, one panel per metric."""
    rows = [
        r
        for r in comparison.reliability
        if r.condition == condition and r.agreement.n > 0 and math.isfinite(r.agreement.bias)
    ]
    figure, axes = _grid(len(rows))
    for ax, r in zip(axes, rows, strict=True):
        scale = _display(r.unit)[0]
        a = r.agreement
        ax.plot(np.array(a.means) * scale, np.array(a.differences) * scale, "o", ms=4)
        ax.axhline(a.bias * scale, color="C3", lw=1.5)
        for limit in (a.loa_low, a.loa_high):
            if math.isfinite(limit):
                ax.axhline(limit * scale, color="C3", lw=1, ls="--")
        ax.axhline(0.0, color="0.5", lw=0.8)
        title = _panel_title(r.metric, r.unit)
        ax.set_title(f"{title}\nICC {_fmt(r.stats.icc, 3)}", fontsize="small")
        ax.grid(alpha=0.3)
    first, second = rows[0].sessions[:2] if rows else ("", "")
    figure.suptitle(
        f"Condition '{condition}': session '{second}' − '{first}' (y) against their mean (x); "
        "red: bias and 95 % limits of agreement",
        fontsize="medium",
    )
    return figure


# ----------------------------------------------------------------------------- html


def _fmt(value: float, digits: int | None = None, scale: float = 1.0) -> str:
    """A number for a table cell ('–' when it could not be computed)."""
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    value *= scale
    if digits is None:
        size = abs(value)
        digits = 0 if size >= 100 else 1 if size >= 10 else 2
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text  # no "-0.00"


def _p(p: float) -> str:
    if math.isnan(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _compared(comparison: StudyComparison) -> list[str]:
    """The levels compared with the reference, in order."""
    return list(dict.fromkeys(c.level for c in comparison.contrasts))


def _table(heads: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in heads) + "</tr>"
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table>{head}{body}</table>"


def _summary(comparison: StudyComparison, source: str) -> str:
    study = comparison.study
    by = comparison.by
    counts = {level: set() for level in comparison.levels}
    for trial in study.trials:
        counts[trial.label(by)].add(trial.subject)
    levels = ", ".join(f"{level} ({len(s)} subjects)" for level, s in counts.items())
    other = comparison.other
    others = sorted({t.label(other) for t in study.trials}, key=natural_key)
    compared = ", ".join(f"'{level}' − '{comparison.reference}'" for level in _compared(comparison))
    rows = [
        ("Study", source),
        ("Trial files", f"{len(study.trials)} used of {study.n_listed} found or listed"),
        ("Subjects", str(len(comparison.subjects))),
        (f"{by.capitalize()}s", levels),
        (f"{other.capitalize()}s", ", ".join(others)),
        ("Reps", str(study.n_reps)),
        ("Compared", f"{compared}, paired by {comparison.pair_by}"),
        ("Definitions", f"{DEFINITIONS_VERSION} (docs/hinge-metrics.md, docs/study-comparison.md)"),
        ("Software", software_version()),
    ]
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="summary">{body}</table>'


def _boxes(comparison: StudyComparison) -> str:
    out = []
    if comparison.problems:
        items = "".join(f"<li>{html.escape(p)}</li>" for p in comparison.problems)
        out.append(f'<div class="warnings"><b>Left out</b><ul>{items}</ul></div>')
    else:
        out.append('<p class="ok">Every trial file, subject and level was used.</p>')
    if comparison.notes:
        items = "".join(f"<li>{html.escape(n)}</li>" for n in comparison.notes)
        out.append(f'<div class="info"><b>Notes</b><ul>{items}</ul></div>')
    return "\n".join(out)


def _differences(comparison: StudyComparison) -> str:
    several = len(comparison.levels) > 2
    heads = ["Metric", *(["Level"] if several else []), "n", f"'{comparison.reference}' mean (SD)"]
    heads += ["Other mean (SD)", "Difference [95 % CI]", "d_z", "p"]
    rows = []
    for c in comparison.contrasts:
        scale, _ = _display(c.unit)
        s = c.stats
        row = [_metric_title(c.metric, c.unit), *([c.level] if several else []), str(s.n)]
        row += [
            f"{_fmt(s.mean_reference, scale=scale)} ({_fmt(s.sd_reference, scale=scale)})",
            f"{_fmt(s.mean_other, scale=scale)} ({_fmt(s.sd_other, scale=scale)})",
            f"{_fmt(s.mean_difference, scale=scale)} "
            f"[{_fmt(s.ci_low, scale=scale)}, {_fmt(s.ci_high, scale=scale)}]",
            _fmt(s.cohens_dz, 2),
            _p(s.p),
        ]
        rows.append(row)
    compared = _compared(comparison)
    if not several and compared:
        heads[heads.index("Other mean (SD)")] = f"'{compared[0]}' mean (SD)"
    return _table(heads, rows)


def _reliability_table(rows: Sequence[Reliability]) -> str:
    heads = ["Metric", "n", "ICC(3,1) [95 % CI]", "SEM", "MDC95", "Bias [95 % limits]"]
    out = []
    for r in rows:
        scale, _ = _display(r.unit)
        s, a = r.stats, r.agreement
        out.append(
            [
                _metric_title(r.metric, r.unit),
                str(s.n),
                f"{_fmt(s.icc, 3)} [{_fmt(s.ci_low, 2)}, {_fmt(s.ci_high, 2)}]",
                _fmt(s.sem, scale=scale),
                _fmt(s.mdc95, scale=scale),
                f"{_fmt(a.bias, scale=scale)} [{_fmt(a.loa_low, scale=scale)}, "
                f"{_fmt(a.loa_high, scale=scale)}]",
            ]
        )
    return _table(heads, out)


HOW_TO_READ = """<p>Every number comes from the reps of the trial files: one value per rep at
the bottom of the rep (as in each trial's hinge report). For each subject the reps of a
session are averaged (a <i>session mean</i>), then the sessions of a {by} (a <i>subject
mean</i>), so each session counts once however many reps it has. Lengths are shown in
centimetres here; the CSV files keep metres.</p>"""

DIFFERENCES_TEXT = """<p class="note"><b>Difference</b>: for each subject, their mean in the
other {by} minus their mean in '{reference}', averaged over the subjects who have both.
<b>95 % CI</b>: the range of true average differences compatible with these subjects
(t distribution); when it does not include 0 the difference is statistically significant
at p &lt; 0.05. <b>d_z</b> (Cohen's d for paired data): the mean difference divided by the
standard deviation of the subjects' differences, so it is large when subjects change
consistently; as a rough guide 0.2 is small, 0.5 medium, 0.8 large. It is not the d of two
independent groups (the difference divided by the spread between subjects).
<b>p</b>: paired t-test, two-sided. The {n} metrics are tested separately, without a
correction for multiple comparisons: when nothing differs, about one in twenty is below
0.05 by chance.</p>"""

RELIABILITY_TEXT = """<p class="note"><b>ICC(3,1)</b> (intraclass correlation, two-way
mixed effects, consistency, single session): how well one session's mean tells subjects
apart compared with how much a subject's mean changes from session to session; 1 = every
subject kept the same place relative to the others. A shift common to every subject from one
session to the next does not lower it; the <b>bias</b> column shows it. Guide (Koo &amp; Li
2016; judge the CI, not only the value): below 0.5 poor, 0.5–0.75 moderate, 0.75–0.9 good,
above 0.9 excellent. <b>SEM</b> (standard error of measurement = SD × √(1 − ICC)): the
typical error of one subject's session mean, in the metric's unit. <b>MDC95</b> (minimal
detectable change = 1.96 × √2 × SEM): the smallest change in one subject between two sessions
that exceeds measurement error with 95 % confidence. <b>Bias [95 % limits of
agreement]</b>: the mean change from the first to the second session, and the range
holding 95 % of subjects' changes (Bland &amp; Altman).</p>"""


def _reliability(comparison: StudyComparison) -> str:
    if not comparison.reliability:
        return "<p>No condition has repeated sessions: test-retest reliability not computed.</p>"
    parts = [RELIABILITY_TEXT]
    conditions = list(dict.fromkeys(r.condition for r in comparison.reliability))
    for condition in conditions:
        rows = [r for r in comparison.reliability if r.condition == condition]
        sessions = ", ".join(f"'{s}'" for s in rows[0].sessions)
        parts.append(
            f"<h3>Condition '{html.escape(condition)}' (sessions {html.escape(sessions)})</h3>"
        )
        parts.append(_reliability_table(rows))
        if any(r.agreement.n > 0 and math.isfinite(r.agreement.bias) for r in rows):
            figure = bland_altman_figure(comparison, condition)
            parts.append(f"<figure>{_png(figure, f'Bland-Altman plots, {condition}')}</figure>")
    return "\n".join(parts)


def _files(written: Mapping[str, Path]) -> str:
    what = {
        "reps": "one row per rep: labels, file and every metric (the long table)",
        "sessions": "one row per subject, condition and session: the session means",
        "subjects": "one row per subject and level: the subject means that are compared",
        "stats": "one row per metric and compared level: the paired differences",
        "reliability": "one row per metric and condition with repeated sessions: ICC, SEM, MDC95",
    }
    items = "".join(
        f"<li><code>{html.escape(path.name)}</code>: {html.escape(what[role])}</li>"
        for role, path in written.items()
        if role in what
    )
    return f"<ul>{items}</ul>" if items else ""


def comparison_report_html(
    comparison: StudyComparison, source: str = "", tables: Mapping[str, Path] | None = None
) -> str:
    """The report as one HTML document (figures embedded; no script, no external file).

    Parameters
    ----------
    comparison : StudyComparison
        What to show.
    source : str
        The study folder or list, shown in the summary.
    tables : mapping of str to Path, optional
        The CSV files written beside the report, by role (listed at the end).
    """
    by, reference = comparison.by, comparison.reference
    forest = _png(forest_figure(comparison), "mean differences with 95 % CI")
    paired = _png(paired_figure(comparison), "each subject's mean per level")
    differences_text = DIFFERENCES_TEXT.format(
        by=html.escape(by), reference=html.escape(reference), n=len(comparison.metrics)
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Study comparison</title>
<style>{_CSS}</style>
</head>
<body>
<h1>Study comparison by {html.escape(by)}</h1>
{_summary(comparison, source)}
<h2>Left out and notes</h2>
{_boxes(comparison)}
<h2>How to read this</h2>
{HOW_TO_READ.format(by=html.escape(by))}
<h2>Differences between {html.escape(by)}s</h2>
{_differences(comparison)}
{differences_text}
<figure>{forest}</figure>
<h2>Each subject</h2>
<p class="note">One grey line per subject joins their means; a change that most lines share
is what the paired difference measures.</p>
<figure>{paired}</figure>
<h2>Test-retest reliability</h2>
{_reliability(comparison)}
<h2>Files</h2>
{_files(tables or {})}
<p class="note">Formulas and columns: docs/study-comparison.md. Confidence level
{100 * CONFIDENCE:g} %.</p>
</body>
</html>
"""


def write_comparison_report(
    path: str | os.PathLike[str],
    comparison: StudyComparison,
    source: str = "",
    tables: Mapping[str, Path] | None = None,
) -> Path:
    """Write :func:`comparison_report_html` to ``path`` atomically; returns the path."""
    return atomic_write_text(path, comparison_report_html(comparison, source, tables))
