"""Calibrate one recording with aniposelib's ``CameraGroup.calibrate_videos``, timed.

Run by ``benchmarks/calibration.py`` with the Python of aniposelib's own virtual environment;
it imports nothing from HingeLab. It writes aniposelib's calibration (``CameraGroup.dump``),
the board corners aniposelib detected (JSON, frames numbered from 0 in every video) and
prints one JSON line, last on stdout: the wall time of ``calibrate_videos`` (board detection
included) and the versions used. aniposelib's own messages go to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from aniposelib.boards import CharucoBoard
from aniposelib.cameras import CameraGroup


def _arguments() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--videos", nargs="+", required=True, help="one video per camera")
    parser.add_argument("--names", nargs="+", required=True, help="camera names, same order")
    parser.add_argument("--squares", type=int, nargs=2, required=True, metavar=("X", "Y"))
    parser.add_argument("--square-length", type=float, required=True, help="metres")
    parser.add_argument("--marker-length", type=float, required=True, help="metres")
    parser.add_argument("--marker-bits", type=int, required=True)
    parser.add_argument("--dict-size", type=int, required=True)
    parser.add_argument("--out-calibration", type=Path, required=True)
    parser.add_argument("--out-detections", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def _detections(names: list[str], all_rows: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The detections of aniposelib as plain lists: camera, frame, corner ids, corners (px)."""
    out = []
    for name, rows in zip(names, all_rows, strict=True):
        for row in rows:
            frame = row["framenum"]
            frame = frame[1] if isinstance(frame, tuple) else frame  # (video, frame)
            ids = np.asarray(row["ids"]).ravel()
            corners = np.asarray(row["corners"], dtype=np.float64).reshape(-1, 2)
            out.append(
                {
                    "camera": name,
                    "frame": int(frame),
                    "ids": [int(i) for i in ids],
                    "corners": corners.tolist(),
                }
            )
    return out


def _check_videos(videos: list[str]) -> None:
    """Refuse a video this OpenCV cannot decode (it would silently detect nothing)."""
    for video in videos:
        capture = cv2.VideoCapture(video)
        ok, _ = capture.read()
        capture.release()
        if not ok:
            raise SystemExit(f"aniposelib's OpenCV {cv2.__version__} cannot read {video}")


def _time_detection(group: CameraGroup) -> dict[str, float]:
    """Time the board detection inside ``calibrate_videos`` (its ``get_rows_videos`` call).

    Returns
    -------
    dict
        ``"seconds"``: filled in once ``calibrate_videos`` has detected the boards.
    """
    timed = {"seconds": float("nan")}
    detect = group.get_rows_videos

    def timed_detect(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        rows = detect(*args, **kwargs)
        timed["seconds"] = time.perf_counter() - start
        return rows

    group.get_rows_videos = timed_detect  # calibrate_videos calls self.get_rows_videos
    return timed


def main() -> int:
    """Calibrate, write the files, print the JSON summary."""
    args = _arguments()
    if len(args.videos) != len(args.names):
        raise SystemExit("give one camera name per video")
    _check_videos(args.videos)
    # aniposelib subsamples points with numpy's legacy global generator: seed it
    np.random.seed(args.seed)  # noqa: NPY002
    board = CharucoBoard(
        args.squares[0],
        args.squares[1],
        args.square_length,
        args.marker_length,
        marker_bits=args.marker_bits,
        dict_size=args.dict_size,
    )
    group = CameraGroup.from_names(args.names)
    detection = _time_detection(group)
    with contextlib.redirect_stdout(sys.stderr):  # calibrate_rows prints unconditionally
        start = time.perf_counter()
        error, all_rows = group.calibrate_videos(
            [[video] for video in args.videos], board, verbose=False
        )
        seconds = time.perf_counter() - start
    group.dump(str(args.out_calibration))
    detections = _detections(args.names, all_rows)
    args.out_detections.write_text(json.dumps(detections), encoding="utf-8")
    versions = {
        name: importlib.metadata.version(name)
        for name in ("aniposelib", "opencv-contrib-python", "numpy", "scipy", "jax", "numba")
    }
    versions["python"] = platform.python_version()
    summary = {
        "seconds": seconds,
        "detect_seconds": detection["seconds"],
        "median_error_px": float(error),
        "versions": versions,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
