"""``mocap convert-calibration``: any calibration format we read, written in one we write."""

from __future__ import annotations

import argparse
from pathlib import Path


def _convert(args: argparse.Namespace) -> int:
    """Read a calibration (format told by content) and write it in the asked format."""
    from calibration.interop import load_any_calibration, save_any_calibration  # noqa: PLC0415

    rig, metadata = load_any_calibration(args.input)
    save_any_calibration(args.out, rig, metadata, args.to)
    print(f"wrote {args.out} ({args.to}): {len(rig)} cameras, {', '.join(rig.names)}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``mocap convert-calibration`` to the ``mocap`` sub-commands."""
    convert = commands.add_parser(
        "convert-calibration",
        help="convert a calibration between HingeLab/anipose/Pose2Sim, caliscope and Qualisys",
    )
    convert.add_argument(
        "input", type=Path, help="calibration TOML, caliscope camera_array.toml or .qca.txt"
    )
    convert.add_argument(
        "--to", choices=("toml", "caliscope", "qualisys"), default="toml", help="output format"
    )
    convert.add_argument("--out", type=Path, required=True, help="file to write")
    convert.set_defaults(run=_convert)
