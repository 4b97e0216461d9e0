"""Command-line options shared by ``mocap triangulate`` and ``mocap process``.

Each option is a ``ReconstructionSettings`` field of the same name; options left out keep
the dataclass's default, shown in ``--help`` without importing the pipeline until help is
printed (``mocap --help`` stays fast).
"""

# ruff: noqa: PLC0415 (the pipeline is imported only when help or a command needs it)

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

SETTINGS_OPTIONS = (
    "min_confidence",
    "max_error_px",
    "min_views",
    "min_ray_angle_deg",
    "filter",
    "cutoff_hz",
    "filter_order",
    "max_gap_s",
    "median_window",
    "fix_swaps",
    "refine_orientations",
    "refine_points",
    "sync",
)
"""Options that are ``ReconstructionSettings`` fields (same names)."""


def frames_argument(text: str) -> tuple[int | None, int | None]:
    """``A:B``, ``A:`` or ``:B`` (frames, B exclusive) for ``--frames``."""
    start, sep, stop = text.partition(":")
    try:
        if not sep:
            raise ValueError
        pair = (int(start) if start.strip() else None, int(stop) if stop.strip() else None)
    except ValueError:
        msg = f"expected START:END frame numbers (END exclusive, either may be empty), got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if any(value is not None and value < 0 for value in pair):
        raise argparse.ArgumentTypeError(f"frames are numbered from 0, got {text!r}")
    return pair


class SettingsHelp(argparse.HelpFormatter):
    """Shows the ``ReconstructionSettings`` defaults, imported only when help is printed."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.dest not in SETTINGS_OPTIONS:
            return action.help
        from mocap.pipeline import ReconstructionSettings

        return f"{action.help} (default: {getattr(ReconstructionSettings(), action.dest)})"


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """The reconstruction options (all but ``sync``, which only ``process`` has)."""
    add = parser.add_argument
    add("--min-confidence", type=float, help="ignore 2D keypoints below this confidence")
    add("--max-error-px", type=float, help="drop views that re-project farther than this")
    add("--min-views", type=int, help="fewest cameras per 3D point")
    add(
        "--min-ray-angle-deg",
        type=float,
        help="refuse points whose views are worse conditioned than two rays at this angle",
    )
    add("--filter", choices=("butterworth", "none"), help="low-pass filter of the 3D")
    add("--cutoff-hz", type=float, help="low-pass cut-off")
    add("--filter-order", type=int, help="Butterworth order")
    add("--max-gap-s", type=float, help="fill gaps up to this long, seconds (0: none)")
    add("--median-window", type=int, help="frames of a median pre-filter (0: none; else odd)")
    flag = argparse.BooleanOptionalAction
    add("--fix-swaps", action=flag, help="undo one camera's left/right label swaps")
    add(
        "--refine-orientations",
        action=flag,
        help="refit the camera rotations to the keypoints (centres kept), reported",
    )
    add(
        "--refine-points",
        action=flag,
        help="move each 3D point to its least pixel error over the views it uses",
    )


def add_sync_arguments(parser: argparse.ArgumentParser) -> None:
    """``--offsets`` or ``--sync``: how the cameras are put on one time line."""
    sync = parser.add_mutually_exclusive_group()
    sync.add_argument(
        "--offsets",
        type=offsets_argument,
        metavar="CAM:FRAMES,...",
        help="known time offsets: camera CAM's frame f shows the first camera's f + FRAMES",
    )
    sync.add_argument(
        "--sync",
        choices=("timestamps", "auto", "none"),
        help="timestamps (estimated from the keypoints when frames were not paired by time), "
        "offsets always estimated from the keypoints, or frame i of every camera as one instant",
    )


def offsets_argument(text: str) -> dict[str, int]:
    """``cam01:0,cam02:3`` (camera:frames, comma-separated) for ``--offsets``."""
    offsets = {}
    for item in text.split(","):
        name, sep, value = item.strip().rpartition(":")
        try:
            if not sep or not name:
                raise ValueError
            offsets[name] = int(value)
        except ValueError:
            msg = f"expected CAMERA:FRAMES,... (e.g. cam02:3,cam03:-1), got {item.strip()!r}"
            raise argparse.ArgumentTypeError(msg) from None
    return offsets


def settings_from_args(args: argparse.Namespace, names: Sequence[str] = SETTINGS_OPTIONS) -> Any:
    """``ReconstructionSettings`` with the options given on the command line."""
    from mocap.pipeline import ReconstructionSettings

    given = {name: getattr(args, name, None) for name in names}
    return ReconstructionSettings(**{k: v for k, v in given.items() if v is not None})
