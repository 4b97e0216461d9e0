"""``mocap detect`` and ``mocap process``: thin wrappers around the detection and processing jobs.

The library calls are :func:`mocap.detect_job.detect_recording` and
:func:`mocap.process_job.process_recording`; this module parses arguments, writes the file
and prints a summary. Nothing heavy is imported until a command runs (``mocap --help``
stays fast).
"""

# ruff: noqa: PLC0415 (imports inside the commands, as in mocap/cli.py)

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mocap.cli_settings import (
    SettingsHelp,
    add_settings_arguments,
    add_sync_arguments,
    frames_argument,
    settings_from_args,
)


def _markers(args: argparse.Namespace) -> Any:
    """The marker set asked for: a file, none, or the printed sheet's default."""
    from mocap.markers import DEFAULT_MARKERS, load_markers

    if args.no_markers:
        return None
    return DEFAULT_MARKERS if args.markers is None else load_markers(args.markers)


def _detect(args: argparse.Namespace) -> int:
    """Detect 2D keypoints in a recording folder and write them as a 2D trial file."""
    from mocap.detect_job import detect_recording
    from mocap.process_job import check_output, summary
    from mocap.trial import write_trial

    check_output(args.out, "keypoints file")
    markers = _markers(args)
    trial = detect_recording(
        args.folder,
        markers=markers,
        progress=True,
        workers=args.workers,
        frame_range=args.frames,
        fps=args.fps,
    )
    write_trial(args.out, trial)
    print("\n".join(summary(trial)))
    print(f"wrote {args.out}: {trial.n_cameras} cameras, {trial.n_frames} frames")
    return 0


def _process(args: argparse.Namespace) -> int:
    """Detect, synchronise, triangulate and filter; write the trial file."""
    from mocap.process_job import process_recording, summary
    from mocap.trial import TrialInfo

    settings = settings_from_args(args)
    info = TrialInfo(args.subject, args.session, args.trial, args.condition)
    trial = process_recording(
        args.folder,
        args.calibration,
        args.out,
        settings=settings,
        info=info,
        progress=True,
        workers=args.workers,
        frame_range=args.frames,
        offsets=args.offsets,
        markers=_markers(args),
    )
    print("\n".join(summary(trial)))
    print(f"wrote {args.out}: {trial.n_cameras} cameras, {trial.n_frames} frames")
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    """Options of both commands: folder, markers, frames, workers."""
    parser.add_argument(
        "folder",
        type=Path,
        metavar="DIR",
        help="recording folder: one video/image folder per camera",
    )
    markers = parser.add_mutually_exclusive_group()
    markers.add_argument(
        "--markers", type=Path, help="markers.toml: ArUco ids of C7, T12, L3, S1 (default 0-3)"
    )
    markers.add_argument("--no-markers", action="store_true", help="do not look for markers")
    parser.add_argument(
        "--frames", type=frames_argument, metavar="A:B", help="only frames A to B-1"
    )
    parser.add_argument(
        "--workers", type=int, help="detection processes (default: one per camera, per CPU)"
    )


def _add_settings(parser: argparse.ArgumentParser) -> None:
    """The ``ReconstructionSettings`` options of ``mocap process``."""
    add_settings_arguments(parser)
    add_sync_arguments(parser)


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``mocap detect`` and ``mocap process`` to the ``mocap`` sub-commands."""
    detect = commands.add_parser(
        "detect",
        help="2D keypoints (BlazePose + spine markers) of a recording, as a trial file",
        description="One video or image folder per camera in DIR (named after the camera); "
        "frame i of every camera is the same instant unless timestamps.csv pairs them by time.",
    )
    _common(detect)
    detect.add_argument("--out", type=Path, required=True, help="trial file to write (.h5)")
    detect.add_argument("--fps", type=float, help="frame rate of image folders without timestamps")
    detect.set_defaults(run=_detect)

    process = commands.add_parser(
        "process",
        help="2D detection, synchronisation, 3D reconstruction: a recording to a trial file",
        description="Videos named after the calibration's cameras (cam01.mp4 ...). Every input "
        "is checked before any work; nothing is written unless everything works.",
        formatter_class=SettingsHelp,
    )
    _common(process)
    process.add_argument(
        "--calibration",
        type=Path,
        required=True,
        help="HingeLab/anipose/Pose2Sim TOML, caliscope camera_array.toml or Qualisys .qca.txt",
    )
    process.add_argument("--out", type=Path, required=True, help="trial file to write (.h5)")
    for label in ("subject", "session", "trial", "condition"):
        process.add_argument(f"--{label}", default="", help=f"{label} label stored in the file")
    _add_settings(process)
    process.set_defaults(run=_process)
