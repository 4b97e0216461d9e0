"""Triangulate 2D points with aniposelib's ``CameraGroup.triangulate`` (and ``_ransac``), timed.

Run by ``benchmarks/triangulation.py`` with the Python of aniposelib's own virtual environment;
it imports nothing from HingeLab. Input: the cameras as JSON (``matrix``, ``dist``, ``size``,
``rvec``, ``tvec``, ``name`` per camera: aniposelib's ``Camera`` arguments) and the points as
a ``(C, N, 2)`` ``.npy`` file, NaN where a view is not to be used. Output: ``triangulate.npy``
and ``ransac.npy`` (``(N, 3)`` and ``(K, 3)`` for the first K points) in ``--out``, and one
JSON line, last on stdout, with the wall times and versions.
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

import numpy as np
from aniposelib.cameras import Camera, CameraGroup


def _arguments() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cameras", type=Path, required=True, help="cameras JSON")
    parser.add_argument("--points", type=Path, required=True, help="(C, N, 2) .npy, NaN = unused")
    parser.add_argument("--out", type=Path, required=True, help="folder for the results")
    parser.add_argument("--ransac-points", type=int, default=0, help="K points for ransac")
    return parser.parse_args()


def versions(*names: str) -> dict[str, str]:
    """The installed versions of ``names``, and Python's."""
    found = {name: importlib.metadata.version(name) for name in names}
    return found | {"python": platform.python_version()}


def camera_group(path: Path) -> CameraGroup:
    """The cameras of the JSON description as an aniposelib ``CameraGroup``."""
    cameras = [
        Camera(
            matrix=np.asarray(c["matrix"]),
            dist=np.asarray(c["dist"]),
            size=tuple(c["size"]),
            rvec=np.asarray(c["rvec"]),
            tvec=np.asarray(c["tvec"]),
            name=c["name"],
        )
        for c in json.loads(path.read_text(encoding="utf-8"))
    ]
    return CameraGroup(cameras)


def _timed(function: object, *args: object, **kwargs: object) -> tuple[object, float]:
    """``function(*args, **kwargs)`` and its wall time in seconds."""
    start = time.perf_counter()
    result = function(*args, **kwargs)  # type: ignore[operator]
    return result, time.perf_counter() - start


def main() -> int:
    """Triangulate, write the points, print the JSON summary."""
    args = _arguments()
    group = camera_group(args.cameras)
    points = np.load(args.points)
    args.out.mkdir(parents=True, exist_ok=True)
    with contextlib.redirect_stdout(sys.stderr):  # aniposelib prints progress
        # the first call compiles the JAX functions for these shapes; the second is timed
        _, first_s = _timed(group.triangulate, points, progress=False)
        p3d, seconds = _timed(group.triangulate, points, progress=False)
        np.save(args.out / "triangulate.npy", np.asarray(p3d))
        summary = {
            "triangulate_first_s": first_s,
            "triangulate_s": seconds,
            "points": points.shape[1],
        }
        if args.ransac_points:
            subset = np.ascontiguousarray(points[:, : args.ransac_points])
            group.triangulate_ransac(subset[:, :10], progress=False)  # compile, as above
            (p3d, *_), ransac_s = _timed(group.triangulate_ransac, subset, progress=False)
            np.save(args.out / "ransac.npy", np.asarray(p3d))
            summary |= {"ransac_s": ransac_s, "ransac_points": subset.shape[1]}
    summary["versions"] = versions("aniposelib", "opencv-contrib-python", "numpy", "jax", "numba")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
