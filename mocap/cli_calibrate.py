"""``mocap calibrate``: a calibration file from a recording of the board (thin wrapper).

The library call is :func:`mocap.calibrate_job.calibrate_recording`; this module only
parses arguments, writes the files and prints a summary. Nothing heavy is imported until
the command runs, so ``mocap --help`` stays fast.
"""

# ruff: noqa: PLC0415 (imports inside the command, as in mocap/cli.py)

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from calibration.calibrate import CalibrationResult
    from calibration.detection import BoardDetection


def _check_output(path: Path, what: str) -> None:
    """Refuse an output path whose folder is missing or that is a folder (before working)."""
    if path.is_dir():
        raise ValueError(f"{what} {path} is a folder; give a file name")
    if not path.parent.is_dir():
        raise ValueError(f"cannot write {what} {path}: folder {path.parent} does not exist")


def _summary(result: CalibrationResult, views: list[BoardDetection]) -> list[str]:
    """Lines of the per-camera summary of a calibration result."""
    frames = Counter(view.camera for view in views)
    lines = ["camera        RMS px   frames with board"]
    for name in result.rig.names:
        rms = result.metadata.errors.get(name, float("nan"))
        lines.append(f"  {name:<12} {rms:6.2f}   {frames[name]:6d}")
    quality = result.quality
    lines.append(
        f"board-size check: RMS {quality.rms_mm:.2f} mm, 95th percentile {quality.p95_mm:.2f} mm "
        f"over {quality.n_pairs} neighbouring corner pairs"
    )
    return lines


def _calibrate(args: argparse.Namespace) -> int:
    """Calibrate the rig of a recording folder and write the calibration (and report)."""
    from calibration.boards import load_board
    from calibration.toml_io import save_calibration
    from mocap.calibrate_job import calibrate_recording

    _check_output(args.out, "calibration file")
    if args.report is not None:
        _check_output(args.report, "report")
        from calibration.report import write_calibration_report
    board = load_board(args.board)
    result, views = calibrate_recording(
        args.folder,
        board,
        intrinsics_folder=args.intrinsics,
        fixed_intrinsics=args.fix_intrinsics,
        origin_frame=args.origin_frame,
        board_on=args.board_on,
        fisheye=args.fisheye,
        progress=True,
        workers=args.workers,
    )
    if args.report is not None:  # before the calibration file: a failure leaves none
        write_calibration_report(result, views, board, args.report)
    save_calibration(args.out, result.rig, result.metadata)
    print("\n".join(_summary(result, views)))
    written = f" and {args.report}" if args.report is not None else ""
    print(f"wrote {args.out}{written} (world origin: the board in frame {result.origin_frame})")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``mocap calibrate`` to the ``mocap`` sub-commands."""
    cal = commands.add_parser(
        "calibrate",
        help="calibrate the cameras from a recording of a calibration board",
        description="One video or image folder per camera in FOLDER (named after the camera); "
        "frame i of every camera is the same instant unless timestamps.csv pairs them by time.",
    )
    cal.add_argument(
        "folder",
        type=Path,
        metavar="FOLDER",
        help="recording folder: one video/image folder per camera",
    )
    cal.add_argument(
        "--board", type=Path, required=True, help="board.toml or caliscope charuco.toml"
    )
    cal.add_argument("--out", type=Path, required=True, help="calibration TOML to write")
    cal.add_argument("--report", type=Path, help="also write an HTML calibration report")
    cal.add_argument("--intrinsics", type=Path, help="per-camera recordings for the intrinsics")
    cal.add_argument(
        "--fix-intrinsics", type=Path, help="calibration TOML whose intrinsics to keep"
    )
    cal.add_argument("--origin-frame", type=int, help="frame whose board defines the world")
    cal.add_argument(
        "--board-on", choices=("floor", "wall"), default="floor", help="board in the origin frame"
    )
    cal.add_argument("--fisheye", action="store_true", help="fisheye lenses")
    cal.add_argument(
        "--workers",
        type=int,
        help="board-detection processes (default: one per camera, at most one per CPU)",
    )
    cal.set_defaults(run=_calibrate)
