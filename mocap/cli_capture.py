"""``mocap cameras`` and ``mocap record``: thin wrappers around :mod:`mocap.capture`.

The library calls are :func:`mocap.capture_devices.list_cameras` and
:func:`mocap.capture.record`. Exit status: ``mocap cameras`` returns 1 when the machine
has no camera (one line says so), 0 otherwise; ``mocap record`` returns 2 with one error
line when a camera cannot be opened (as every ``mocap`` input error).
"""

# ruff: noqa: PLC0415 (imports inside the commands, as in mocap/cli.py)

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def size_argument(text: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` as (width, height)."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    return width, height


def devices_argument(text: str) -> list[int | str]:
    """``0,2,/dev/video4`` as [0, 2, '/dev/video4']: indices, or device paths."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(f"expected camera indices like 0,2,4, got {text!r}")
    return [int(part) if part.isdigit() else part for part in parts]


def _cameras(args: argparse.Namespace) -> int:
    """List and test the cameras; one line when there is none."""
    from mocap.capture_devices import NO_CAMERA, list_cameras

    found = list_cameras(args.frames)
    if not found:
        print(f"mocap cameras: {NO_CAMERA}")
        return 1
    for camera in found:
        print("\n".join(camera.lines()))
    return 0


def _sources(args: argparse.Namespace) -> list[Any]:
    """The frame sources asked for: cameras by index, or video files."""
    from mocap.capture_sources import CameraSource, PlayedVideo, camera_name, open_capture

    if args.sources:
        paths = [Path(p) for p in args.sources.split(",") if p.strip()]
        return [PlayedVideo.open(path, realtime=not args.fast) for path in paths]
    for device in args.cameras:  # fail before anything is written
        open_capture(device, args.size, args.fps).release()
    return [CameraSource(d, camera_name(d), args.size, args.fps) for d in args.cameras]


def _record(args: argparse.Namespace) -> int:
    """Record cameras (or video files) into a folder, reporting once per second."""
    from mocap.capture import CaptureSettings, record

    sources = _sources(args)
    requested = {"size": list(args.size), "fps": args.fps, "fourcc": "MJPG"}
    settings = CaptureSettings(
        fps=args.fps if args.cameras else None,
        duration_s=args.duration,
        requested=requested if args.cameras else {"sources": args.sources, "fast": args.fast},
    )
    print(f"recording {len(sources)} cameras to {args.out}; Ctrl-C stops")
    result = record(sources, args.out, settings, report=lambda line: print(line, flush=True))
    print("\n".join(result.lines()))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``mocap cameras`` and ``mocap record`` to the ``mocap`` sub-commands."""
    cameras = commands.add_parser(
        "cameras",
        help="list the cameras and test each for a few frames",
        description="Exit status 1 (and one line) when the machine has no camera.",
    )
    cameras.add_argument("--frames", type=int, default=10, help="frames to grab per camera")
    cameras.set_defaults(run=_cameras)

    rec = commands.add_parser(
        "record",
        help="record synchronized cameras (or video files) to videos + timestamps.csv",
        description="Writes <camera>.avi (Motion-JPEG), timestamps.csv and session.json into "
        "--out; reports fps, dropped frames and sync spread each second. Ctrl-C stops.",
    )
    which = rec.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--cameras",
        type=devices_argument,
        metavar="0,2,4",
        help="camera indices or device paths (/dev/video2)",
    )
    which.add_argument(
        "--sources", metavar="a.mp4,b.mp4", help="video files played as cameras (tests, demos)"
    )
    rec.add_argument(
        "--size", type=size_argument, default=(1280, 720), help="WIDTHxHEIGHT (1280x720)"
    )
    rec.add_argument("--fps", type=float, default=30.0, help="camera frame rate (30)")
    rec.add_argument("--out", type=Path, required=True, help="recording folder (new or empty)")
    rec.add_argument("--duration", type=float, help="stop after this many seconds")
    rec.add_argument(
        "--fast", action="store_true", help="--sources: as fast as possible, not at real rate"
    )
    rec.set_defaults(run=_record)
