"""``mocap view``: a thin wrapper around :func:`viewer.app.run_viewer`.

Exit codes: 0 when the window was closed or the screenshot written, 2 for an error (no
display, a file that is not a trial; one line, no traceback, from ``mocap.cli.main``).
"""

# ruff: noqa: PLC0415 (imports inside the command, as in mocap/cli.py: Qt only when used)

from __future__ import annotations

import argparse
from pathlib import Path


def _view(args: argparse.Namespace) -> int:
    """Open the viewer on a trial file, or write its screenshot."""
    from viewer.app import run_viewer

    try:
        written = run_viewer(args.trial, screenshot=args.screenshot, at=args.at)
    except RuntimeError as exc:
        raise ValueError(f"cannot open a window: {exc}") from None
    if written is not None:
        print(f"wrote {written}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``mocap view`` to the ``mocap`` sub-commands."""
    view = commands.add_parser(
        "view",
        help="3D skeleton, sagittal hinge panel and metric plots of a trial (also a live one)",
        description="Opens a trial file in the viewer (keys: space, arrows, page up/down, "
        "home/end; see docs/viewer.md). A file still being written is followed. With "
        "--screenshot, writes the window at --at seconds to a PNG and exits.",
    )
    view.add_argument("trial", type=Path, help="trial file (.h5)")
    view.add_argument("--screenshot", type=Path, help="write the window to this PNG and exit")
    view.add_argument(
        "--at", type=float, default=0.0, metavar="SECONDS", help="time shown (default 0)"
    )
    view.set_defaults(run=_view)
