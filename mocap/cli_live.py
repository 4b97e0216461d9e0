"""``mocap live``: a thin wrapper around :class:`mocap.live.LiveSession`.

With ``--no-view`` it prints a status line each second (3D rate, latency, dropped share)
and a summary at the end; otherwise it opens the viewer's live mode, fed from the
session in memory (:class:`viewer.live_feed.LiveFeed`). Exit status 0, or 2 with one
error line (a camera not on this machine or not in the calibration, a missing file, a
recording folder that is not empty), as every ``mocap`` input error.
"""

# ruff: noqa: PLC0415 (imports inside the command, as in mocap/cli.py: Qt only when used)

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import Any

from mocap.cli_capture import devices_argument, size_argument

FIRST_FRAME_TIMEOUT_S = 60.0
"""Longest wait for the first 3D frame before the window opens."""


def _session(args: argparse.Namespace) -> Any:
    """The live session the arguments ask for (not started)."""
    from calibration.interop import load_any_calibration
    from calibration.toml_io import calibration_to_toml
    from mocap.live import LiveSession, LiveSettings, live_sources

    rig, metadata = load_any_calibration(args.calibration)
    videos = [p for p in (args.sources or "").split(",") if p.strip()]
    sources = live_sources(
        rig,
        args.calibration,
        cameras=args.cameras or (),
        videos=videos,
        size=args.size,
        fps=args.fps,
        loop=args.loop,
    )
    rig = rig.subset([s.name for s in sources])
    return LiveSession(
        sources,
        rig,
        settings=LiveSettings(fps=args.fps),
        record=args.record,
        report=lambda line: print(line, flush=True),
        calibration_toml=calibration_to_toml(rig, metadata),
    )


def _until(session: Any, duration: float | None) -> float:
    """When ``--duration`` ends (``time.monotonic``): that long after the session started.

    The session starts when its cameras do (their detectors loaded), in both modes: the
    viewer's window, which opens at the first 3D frame, does not restart the count.
    """
    return session.started_at + duration if duration is not None else float("inf")


def _headless(session: Any, duration: float | None) -> bool:
    """Print a status line each second until the duration, the sources' end or Ctrl-C.

    Returns whether Ctrl-C ended it.
    """
    until = _until(session, duration)
    try:
        while session.running and time.monotonic() < until:
            time.sleep(min(1.0, max(0.0, until - time.monotonic())))
            elapsed = time.monotonic() - session.started_at
            print(f"{elapsed:6.1f} s | {session.status_line()}", flush=True)
    except KeyboardInterrupt:
        return True
    return False


def _with_window(session: Any, duration: float | None) -> bool:
    """Show the viewer's live mode until the window is closed (or the duration passes).

    The window opens at the first 3D frame; when the duration ends before that, it does
    not open. Ctrl-C closes it. Returns whether Ctrl-C ended it.
    """
    from viewer.app import WINDOW_SIZE, application, dispose
    from viewer.live_feed import LiveFeed

    until = _until(session, duration)
    app = application()
    from viewer.window import ViewerWindow

    feed = LiveFeed(session)
    try:
        try:
            data = feed.wait_first(min(FIRST_FRAME_TIMEOUT_S, max(0.0, until - time.monotonic())))
        except RuntimeError:
            if time.monotonic() < until:
                raise
            return False  # the duration passed before the first 3D frame
        if time.monotonic() >= until:
            return False  # ... or while the viewer loaded
        window = ViewerWindow(data, feed)
        window.resize(*WINDOW_SIZE)
        window.show()
        if duration is not None:
            from PySide6 import QtCore

            left_ms = max(0, round(1000 * (until - time.monotonic())))
            QtCore.QTimer.singleShot(left_ms, window.close)
        interrupted = []
        previous = signal.signal(signal.SIGINT, lambda *_: (interrupted.append(1), window.close()))
        try:
            app.exec()  # the window's 40 ms poll lets Python run the handler promptly
        finally:
            signal.signal(signal.SIGINT, previous)
            dispose(window)
    finally:
        feed.close()
    if feed.display_summary():
        print(feed.display_summary())
    return bool(interrupted)


def _live(args: argparse.Namespace) -> int:
    """Run live mode headless or with the viewer; print the summary at the end."""
    if not args.no_view:
        from viewer.app import display_problem

        problem = display_problem()
        if problem:
            raise ValueError(f"cannot open a window: {problem} (or use --no-view)")
    session = _session(args)
    print(f"live: starting {len(session.sources)} cameras (detectors load); Ctrl-C stops")
    interrupted = False
    try:
        session.start()
        print(f"live: running{f', recording to {args.record}' if args.record else ''}")
        if args.no_view:
            interrupted = _headless(session, args.duration)
        else:
            interrupted = _with_window(session, args.duration)
    except KeyboardInterrupt:
        interrupted = True
    except RuntimeError as error:
        raise ValueError(str(error)) from None
    finally:
        summary = session.close(interrupted)
    print("\n".join(summary.lines()))
    if interrupted and summary.recording is None:  # the recording's lines say it too
        print("ended by Ctrl-C")
    if session.failure:
        print(f"mocap live: error: live 3D stopped: {session.failure}", file=sys.stderr)
        return 1
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``mocap live`` to the ``mocap`` sub-commands."""
    live = commands.add_parser(
        "live",
        help="live 3D from cameras (or video files): detection, triangulation, viewer",
        description="Detects and triangulates the newest synchronized frames while the "
        "cameras run, dropping stale sets so the latency stays bounded; shows them in the "
        "viewer, or with --no-view prints 3D rate, latency and dropped share each second. "
        "--record also writes the videos, timestamps.csv, session.json and a live trial.h5. "
        "Ctrl-C stops.",
    )
    which = live.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--cameras",
        type=devices_argument,
        metavar="0,2,4",
        help="camera indices or device paths; cam_N must be a camera of the calibration",
    )
    which.add_argument(
        "--sources", metavar="a.mp4,b.mp4", help="video files played as cameras (real rate)"
    )
    live.add_argument("--calibration", type=Path, required=True, help="calibration file")
    live.add_argument("--record", type=Path, metavar="DIR", help="also record into DIR")
    live.add_argument("--duration", type=float, help="stop after this many seconds")
    live.add_argument("--no-view", action="store_true", help="no window: status lines only")
    live.add_argument(
        "--size", type=size_argument, help="camera WIDTHxHEIGHT (default: calibrated)"
    )
    live.add_argument("--fps", type=float, help="camera rate (default: 30, or the videos')")
    live.add_argument("--loop", action="store_true", help="--sources: play them again and again")
    live.set_defaults(run=_live)
