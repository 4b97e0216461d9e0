"""Triangulate real 2D keypoints with aniposelib's three methods, for ``benchmarks/realdata.py``.

Run with the Python of aniposelib's own virtual environment; it imports nothing from
HingeLab. Input: the cameras as JSON (``matrix``, ``dist``, ``size``, ``rvec``, ``tvec``,
``name`` per camera: aniposelib's ``Camera`` arguments) and the keypoints as a
``(C, T, J, 2)`` ``.npy`` file, NaN where a view is not to be used. Every method runs with
its defaults:

- ``CameraGroup.triangulate``: DLT of every usable view, on the ``(C, T * J, 2)`` points;
- ``CameraGroup.triangulate_ransac``: the camera subset that re-projects best, same points;
- ``CameraGroup.triangulate_optim``: least squares over the whole ``(C, T, J, 2)``
  recording (re-projection, temporal smoothness; no limb-length constraints given).

Output: ``triangulate.npy``, ``ransac.npy`` and ``optim.npy``, each ``(T, J, 3)`` in the
cameras' units, in ``--out``, and one JSON line, last on stdout, with the wall times and
versions.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _aniposelib_triangulate import camera_group, versions  # same folder: run as a script
from aniposelib.cameras import CameraGroup


def _arguments() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=Path, required=True, help="cameras JSON")
    parser.add_argument(
        "--points", type=Path, required=True, help="(C, T, J, 2) .npy, NaN = unused"
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for the results")
    return parser.parse_args()


def _timed(function: Callable[..., Any], *args: object, **kwargs: object) -> tuple[Any, float]:
    """``function(*args, **kwargs)`` and its wall time in seconds."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def triangulate_all(group: CameraGroup, points: np.ndarray) -> dict[str, tuple[np.ndarray, float]]:
    """The three methods' 3D points and wall times.

    Parameters
    ----------
    group : CameraGroup
        The C cameras.
    points : (C, T, J, 2) float array
        Pixels, NaN where a view is not to be used.

    Returns
    -------
    dict of str to ((T, J, 3) array, float)
        ``"triangulate"``, ``"ransac"`` and ``"optim"``: points and seconds.
    """
    n_c, n_t, n_j, _ = points.shape
    flat = np.ascontiguousarray(points.reshape(n_c, n_t * n_j, 2))
    p3d, seconds = _timed(group.triangulate, flat, progress=False)
    found = {"triangulate": (np.asarray(p3d).reshape(n_t, n_j, 3), seconds)}
    (p3d, *_), seconds = _timed(group.triangulate_ransac, flat, progress=False)
    found["ransac"] = (np.asarray(p3d).reshape(n_t, n_j, 3), seconds)
    p3d, seconds = _timed(group.triangulate_optim, np.ascontiguousarray(points))
    found["optim"] = (np.asarray(p3d).reshape(n_t, n_j, 3), seconds)
    return found


def main() -> int:
    """Triangulate, write the points, print the JSON summary."""
    args = _arguments()
    group = camera_group(args.cameras)
    points = np.load(args.points)
    args.out.mkdir(parents=True, exist_ok=True)
    with contextlib.redirect_stdout(sys.stderr):  # aniposelib prints progress
        found = triangulate_all(group, points)
    summary: dict[str, Any] = {"seconds": {}}
    for name, (p3d, seconds) in found.items():
        np.save(args.out / f"{name}.npy", p3d)
        summary["seconds"][name] = seconds
    summary["versions"] = versions("aniposelib", "opencv-contrib-python", "numpy", "scipy", "jax")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
