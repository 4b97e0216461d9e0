"""``mocap hinge``: a thin wrapper around :func:`mocap.hinge.job.analyse_file`.

Exit codes: 0 when at least one rep was analysed, 1 when the files were written but no
rep was found (the reason is printed), 2 for an error (a file that is not a trial, a bad
thresholds file; one line, no traceback, from ``mocap.cli.main``).
"""

# ruff: noqa: PLC0415 (imports inside the command, as in mocap/cli.py)

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def _summary(files: Any, trial: Path) -> list[str]:
    """Lines saying what was found and written."""
    analysis = files.analysis
    patterns = [rep.pattern for rep in analysis.reps]
    lines = [
        f"{trial}: {len(analysis.reps)} reps ({patterns.count('hinge')} hinge, "
        f"{patterns.count('squat')} squat)"
    ]
    for rep in analysis.reps:
        faults = ", ".join(f.code for f in rep.faults) or "no fault"
        lines.append(
            f"  rep {rep.rep}: {rep.start_s:.2f}-{rep.end_s:.2f} s, {rep.pattern or '?'}, {faults}"
        )
    for role, path in files.written.items():
        what = f"/metrics ({analysis.definitions_version})" if role == "metrics" else role
        lines.append(f"wrote {path}: {what}")
    return lines


def _hinge(args: argparse.Namespace) -> int:
    """Analyse the hip hinge of a trial: CSV, time series, report, /metrics."""
    from mocap.hinge.faults import load_thresholds
    from mocap.hinge.job import analyse_file

    thresholds = load_thresholds(args.thresholds) if args.thresholds else None
    files = analyse_file(
        args.trial,
        csv=args.csv,
        report=args.report,
        timeseries=args.timeseries,
        thresholds=thresholds,
        store=not args.no_store,
    )
    for problem in files.analysis.problems:
        print(f"mocap hinge: warning: {problem}", file=sys.stderr)
    print("\n".join(_summary(files, args.trial)))
    return 0 if files.analysis.reps else 1


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``mocap hinge`` to the ``mocap`` sub-commands."""
    hinge = commands.add_parser(
        "hinge",
        help="hip-hinge metrics, reps and faults of a trial (CSV, HTML report, /metrics)",
        description="Finds the reps, computes the metrics of docs/hinge-metrics.md, flags "
        "faults and stores the metrics in the trial file under /metrics. Exit code 1 when "
        "no rep was found (the files are still written).",
    )
    hinge.add_argument("trial", type=Path, help="trial file (.h5) with 3D points")
    hinge.add_argument("--csv", type=Path, help="per-rep CSV to write (one row per rep)")
    hinge.add_argument("--report", type=Path, help="HTML report to write")
    hinge.add_argument("--timeseries", type=Path, help="per-frame CSV of every metric")
    hinge.add_argument(
        "--thresholds", type=Path, help="TOML file overriding fault thresholds (see the docs)"
    )
    hinge.add_argument(
        "--no-store", action="store_true", help="do not store the metrics in the trial file"
    )
    hinge.set_defaults(run=_hinge)
