"""``mocap compare``: a thin wrapper around :func:`mocap.study.compare_study`.

Exit codes: 0 when every listed trial file was used, 1 when the tables and report were
written but some input was left out (files, subjects or levels; each said on stderr),
2 when nothing could be compared (one line, no traceback, from ``mocap.cli.main``).
"""

# ruff: noqa: PLC0415 (imports inside the command, as in mocap/cli.py)

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

BY_CHOICES = ("condition", "session")
"""As ``mocap.study.BY_CHOICES`` (not imported: ``mocap --help`` stays free of scipy)."""
PAIR_BY_CHOICES = ("subject",)
"""As ``mocap.study.PAIR_BY_CHOICES``."""


def _number(value: float) -> str:
    return f"{value:+.3g}" if math.isfinite(value) else ("n/a" if math.isnan(value) else "inf")


def _summary(result: Any, study: Path) -> list[str]:
    """Lines saying what was compared, the differences and what was written."""
    data = result.study
    levels = ", ".join(result.levels)
    lines = [
        f"{study}: {len(data.trials)} of {data.n_listed} trial files used, {data.n_reps} reps, "
        f"{len(result.subjects)} subjects; {result.by}s: {levels}"
    ]
    for c in result.contrasts:
        if c.metric == result.metrics[0]:
            lines.append(f"'{c.level}' - '{c.reference}', paired by {result.pair_by}:")
        s = c.stats
        lines.append(
            f"  {c.metric:<28} n {s.n:>2}  diff {_number(s.mean_difference):>9} "
            f"[{_number(s.ci_low)}, {_number(s.ci_high)}] {c.unit}  d_z {_number(s.cohens_dz)}"
            f"  p {s.p:.3g}"
        )
    conditions = list(dict.fromkeys(r.condition for r in result.reliability))
    for condition in conditions:
        rows = [r for r in result.reliability if r.condition == condition]
        lines.append(
            f"test-retest, condition '{condition}' (sessions {', '.join(rows[0].sessions)}):"
        )
        for r in rows:
            s = r.stats
            lines.append(
                f"  {r.metric:<28} n {s.n:>2}  ICC(3,1) {_number(s.icc)}  SEM {_number(s.sem)}"
                f"  MDC95 {_number(s.mdc95)} {r.unit}"
            )
    for role, path in result.written.items():
        lines.append(f"wrote {path}: {role}")
    return lines


def _compare(args: argparse.Namespace) -> int:
    """Compare the conditions of a study: tidy CSV tables and an HTML report."""
    from mocap.study import compare_study

    result = compare_study(
        args.study, by=args.by, pair_by=args.pair_by, reference=args.reference, out=args.out
    )
    for note in result.notes:
        print(f"mocap compare: note: {note}", file=sys.stderr)
    for problem in result.problems:
        print(f"mocap compare: warning: {problem}", file=sys.stderr)
    print("\n".join(_summary(result, args.study)))
    return 1 if result.problems else 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``mocap compare`` to the ``mocap`` sub-commands."""
    compare = commands.add_parser(
        "compare",
        help="compare conditions across a study: paired differences, ICC, tidy CSV, report",
        description="Collects the per-rep hinge metrics of many trial files, compares the "
        "levels of --by within subjects (mean difference, 95 % CI, Cohen's d_z, paired "
        "t-test) and computes test-retest ICC(3,1), SEM and MDC95 where sessions repeat "
        "(docs/study-comparison.md). Writes the report (--out) and CSV tables beside it. "
        "Exit code 1 when some input was left out (said on stderr), 2 when nothing could "
        "be compared.",
    )
    compare.add_argument(
        "study",
        type=Path,
        help="folder of trial files (labels from their subject/session/condition "
        "attributes) or a CSV list with columns path,subject,session,condition",
    )
    compare.add_argument(
        "--by",
        choices=BY_CHOICES,
        default="condition",
        help="label whose levels are compared (default: condition)",
    )
    compare.add_argument(
        "--pair-by",
        choices=PAIR_BY_CHOICES,
        default="subject",
        help="label the differences are taken within (default: subject)",
    )
    compare.add_argument(
        "--reference", help="level the others are compared with (default: the first, sorted)"
    )
    compare.add_argument(
        "--out",
        type=Path,
        required=True,
        help="HTML report to write (comparison.html); the CSV tables go beside it as "
        "comparison-reps.csv, -sessions.csv, -subjects.csv, -stats.csv, -reliability.csv",
    )
    compare.set_defaults(run=_compare)
