"""The ``mocap`` command line: thin wrappers, each calling one library function."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from mocap.cli_calibrate import register as register_calibrate
from mocap.cli_capture import register as register_capture
from mocap.cli_compare import register as register_compare
from mocap.cli_convert import register as register_convert
from mocap.cli_hinge import register as register_hinge
from mocap.cli_live import register as register_live
from mocap.cli_process import register as register_process
from mocap.cli_settings import (
    SettingsHelp,
    add_settings_arguments,
    add_sync_arguments,
    frames_argument,
    settings_from_args,
)
from mocap.cli_view import register as register_view
from mocap.version import software_version


def _real_demo(args: argparse.Namespace) -> int:
    """Run the processing job on a real recording in the Pose2Sim demo layout."""
    from mocap.real_demo import run_real_demo

    out = args.out if args.out != Path("hingelab-demo") else Path("hingelab-real-demo")
    result = run_real_demo(args.real, out)
    print(f"HingeLab real-data demo ({software_version()}): {args.real}")
    print(f"  calibration {result.calibration}")
    print("\n".join(result.lines))
    print(
        "frames with a 3D point: "
        + ", ".join(f"{name} {100 * value:.0f} %" for name, value in result.reconstructed.items())
    )
    print(f"wrote {result.trial}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    """Run the built-in demo and say where everything went."""
    from mocap.demo import run_demo

    if args.real is not None:
        return _real_demo(args)

    result = run_demo(args.out, seed=args.seed)
    print(f"HingeLab demo ({software_version()}): a synthetic hip-hinge session")
    print(f"  {result.session}")
    print("Wrote:")
    for role, path in result.files.items():
        print(f"  {role:<14} {path}")
    print(
        f"Calibration from rendered board images: board-size check {result.board_size_rms_mm:.2f}"
        f" mm RMS; camera centres within {result.camera_error_mm:.1f} mm of the truth"
    )
    print(
        f"3D error against the ground truth: mean {result.mean_error_mm:.1f} mm, "
        f"95th percentile {result.p95_error_mm:.1f} mm, max {result.max_error_mm:.1f} mm; "
        f"{100 * result.reconstructed:.2f} % of keypoint-frames reconstructed"
    )
    print("Hinge analysis (hinge-report.html):")
    for line in result.reps:
        print(f"  {line}")
    return 0


def _triangulate(args: argparse.Namespace) -> int:
    """Reconstruct 3D from a 2D keypoint trial file: robust triangulation, then filtering."""
    from mocap.pipeline import triangulate_file

    settings = settings_from_args(args)
    trial = triangulate_file(
        args.input,
        args.calibration,
        args.out,
        settings,
        frames=args.frames,
        fps=args.fps,
        offsets=args.offsets,
        progress=True,
    )
    attrs = trial.extra_attrs
    points = max(int(attrs["triangulation_points"]), 1)
    print(
        f"wrote {args.out}: {trial.n_frames} frames, {trial.n_joints} keypoints; "
        f"{100 * int(attrs['triangulation_reconstructed']) / points:.2f} % of keypoint-frames "
        f"triangulated, {attrs['triangulation_views_dropped']} outlying views dropped, "
        f"{attrs['filter_gaps_filled']} gaps filled"
    )
    return 0


def _add_triangulate_parser(commands: argparse._SubParsersAction) -> None:
    """``mocap triangulate``: the options are ``ReconstructionSettings`` fields."""
    tri = commands.add_parser(
        "triangulate", help="3D from a trial file with 2D keypoints", formatter_class=SettingsHelp
    )
    tri.add_argument(
        "input",
        type=Path,
        help="trial file (.h5) with keypoints2d, or a Pose2Sim/OpenPose folder of JSON folders",
    )
    tri.add_argument(
        "--calibration",
        type=Path,
        required=True,
        help="calibration: HingeLab/anipose/Pose2Sim TOML, caliscope camera_array.toml or "
        "Qualisys .qca.txt",
    )
    tri.add_argument("--out", type=Path, required=True, help="trial file to write")
    add_settings_arguments(tri)
    add_sync_arguments(tri)
    add = tri.add_argument
    add("--fps", type=float, default=30.0, help="frame rate of JSON input (default: 30)")
    add(
        "--frames",
        type=frames_argument,
        metavar="START:END",
        help="only these frames (END exclusive)",
    )
    tri.set_defaults(run=_triangulate)


def _board(args: argparse.Namespace) -> int:
    """Write a printable calibration board (and optionally the spine marker sheet)."""
    from calibration.board_print import write_marker_sheet, write_printable_board
    from calibration.boards import default_lab_board, load_board

    board = load_board(args.board) if args.board else default_lab_board()
    png = args.out.with_suffix(".png")
    printed = write_printable_board(board, args.out, png, paper=args.paper, dpi=args.dpi)
    print(printed.description)
    print(f"wrote {printed.pdf}, {printed.png} and {printed.toml}: print at 100 % (actual size)")
    if args.markers:
        sheet = args.out.with_name(args.out.stem + "-markers.pdf")
        write_marker_sheet(sheet)
        print(f"wrote {sheet}: ArUco skin markers C7, T12, L3, S1 (DICT_4X4_50, ids 0-3)")
    return 0


def _add_board_parser(commands: argparse._SubParsersAction) -> None:
    """``mocap board``."""
    board = commands.add_parser("board", help="write a printable calibration board (PDF, PNG)")
    board.add_argument("--out", type=Path, required=True, help="PDF to write (board.pdf)")
    board.add_argument("--board", type=Path, help="board.toml or caliscope charuco.toml")
    board.add_argument("--paper", default="A1", help="paper size name (default A1)")
    board.add_argument("--dpi", type=int, default=200, help="raster resolution")
    board.add_argument("--markers", action="store_true", help="also print the spine markers")
    board.set_defaults(run=_board)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``mocap`` command."""
    parser = argparse.ArgumentParser(prog="mocap", description="HingeLab motion capture.")
    parser.add_argument("--version", action="version", version=software_version())
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser("demo", help="run the whole pipeline on a built-in scene")
    demo.add_argument("--out", type=Path, default=Path("hingelab-demo"), help="output folder")
    demo.add_argument("--seed", type=int, default=0, help="seed of the synthetic scene")
    demo.add_argument(
        "--real",
        type=Path,
        metavar="DIR",
        help="instead, process a real recording in the Pose2Sim demo layout (videos/, "
        "calibration/)",
    )
    demo.set_defaults(run=_demo)
    _add_triangulate_parser(commands)
    _add_board_parser(commands)
    register_calibrate(commands)
    register_convert(commands)
    register_process(commands)
    register_hinge(commands)
    register_compare(commands)
    register_view(commands)
    register_capture(commands)
    register_live(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mocap``; errors about the user's input are one line, not a traceback."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (OSError, ValueError, KeyError) as error:
        if args.debug:
            raise
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"mocap {args.command}: error: {message}", file=sys.stderr)
        return 2
