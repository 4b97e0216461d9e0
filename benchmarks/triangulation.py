"""Triangulation benchmark: HingeLab's robust ``triangulate`` against aniposelib, same data.

The data: 4 cameras on a ring (``datasets.synthetic.make_scene``), the 33 BlazePose
keypoints of a subject doing the demo's hinge reps for 20,000 frames (5.6 min at 60 fps),
seen by the acceptance test's simulated detector: 1.5 px noise, 10 % of the points missed
and 5 % replaced by outliers 30-300 px away with confidence >= 0.8. Views below confidence
0.3 are unusable for every method.

Timed in one run, on the same 2D points, errors against the exact 3D:

- HingeLab: ``mocap.triangulation.triangulate`` with the robust settings of
  ``ReconstructionSettings`` (undistortion included; no filtering), the best and the
  median of ``--repeats`` calls: with its compiled numba kernel (the default) and with its
  numpy reference path (``USE_KERNEL`` off), whose results must be the same (checked:
  statuses, views, points to 1e-9 m, errors to 1e-6 px); also plain confidence-weighted
  DLT for reference. The kernel's compile time is measured apart: the first call in a
  fresh process with an empty numba cache (compile included), and the first call of this
  process (numba's disk cache loaded, each camera's grid of exact undistortions built);
- aniposelib ``CameraGroup.triangulate`` (DLT of every usable view, JAX): timed on its
  second call, after a first call compiled its JAX functions (the first is shown too);
- aniposelib ``CameraGroup.triangulate_ransac`` (robust: every camera subset, a Python
  loop per point): so slow that it runs on the first ``--ransac-frames`` frames only and
  its time is scaled per point to the full size (marked "scaled").

aniposelib runs in a virtual environment of its own, created if missing by
``benchmarks.calibration.ensure_aniposelib`` (the same one the calibration benchmark uses),
through ``benchmarks/_aniposelib_triangulate.py``; our cameras are passed to it as
aniposelib ``Camera(matrix, dist, size, rvec, tvec, name)`` arguments.

Run from the repository root::

    .venv/bin/python benchmarks/triangulation.py [--frames 20000] [--work DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == _HERE:
    # run as a script: benchmarks/calibration.py would shadow the ``calibration`` package
    sys.path[0] = str(_HERE.parent)

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.calibration import (  # noqa: E402
    SHARED_VENV,
    add_work_arguments,
    ensure_aniposelib,
    table_lines,
)
from calibration.camera import CameraRig  # noqa: E402
from datasets.synthetic import (  # noqa: E402
    DEMO_MOTIONS,
    ObservationNoise,
    hinge_session,
    make_scene,
    observe,
)
from mocap import triangulation  # noqa: E402
from mocap.pipeline import ReconstructionSettings  # noqa: E402
from mocap.skeleton import BLAZEPOSE_NAMES  # noqa: E402
from mocap.triangulation import Triangulation, triangulate  # noqa: E402

REPO = _HERE.parent
DEFAULT_WORK = Path(tempfile.gettempdir()) / "hingelab-bench-triangulation"
RUNNER = _HERE / "_aniposelib_triangulate.py"
NOISE = ObservationNoise(pixel_sigma=1.5, dropout=0.10, outliers=0.05)
SETTINGS = ReconstructionSettings()
SEED = 0


@dataclass(frozen=True)
class Row:
    """One method's result: wall time for the full size and errors against the truth."""

    method: str
    seconds: float
    note: str
    points3d: np.ndarray  # (N, 3) metres, NaN where not reconstructed
    truth: np.ndarray  # (N, 3) the exact points of the same N


def make_data(n_frames: int) -> tuple[CameraRig, np.ndarray, np.ndarray]:
    """The rig, the (C, T, 33, 3) simulated 2D and the exact (T, 33, 3) 3D."""
    reps = math.ceil(n_frames / hinge_session(DEMO_MOTIONS, fps=60.0).times.size) + 1
    scene = make_scene(DEMO_MOTIONS * reps, n_cameras=4, fps=60.0, seed=SEED)
    truth = scene.points3d[:n_frames, : len(BLAZEPOSE_NAMES)]
    return scene.rig, observe(scene.rig, truth, NOISE, seed=SEED), truth


ROBUST = {
    "max_error_px": SETTINGS.max_error_px,
    "min_views": SETTINGS.min_views,
    "min_ray_angle_deg": SETTINGS.min_ray_angle_deg,
}
"""The robust settings of ``ReconstructionSettings``."""

COMPILE_SCRIPT = """
import time
from benchmarks.triangulation import ROBUST, SETTINGS, make_data
from mocap.triangulation import triangulate
rig, keypoints2d, _ = make_data(200)
start = time.perf_counter()
triangulate(rig, keypoints2d, SETTINGS.min_confidence, **ROBUST)
print(time.perf_counter() - start)
"""
"""Times the first call in a fresh process: 6600 points, so nearly all of it is compiling."""


def compile_seconds() -> float:
    """The first call's time in a fresh process with an empty numba cache (a fresh install)."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        done = subprocess.run(
            [sys.executable, "-c", COMPILE_SCRIPT],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=env,
            check=True,
        )
    return float(done.stdout.split()[-1])


def _timed(
    rig: CameraRig, keypoints2d: np.ndarray, options: dict, repeats: int, kernel: bool
) -> tuple[list[float], list[float], Triangulation]:
    """Wall and CPU times of ``repeats`` calls, with the kernel or the numpy path; a result."""
    triangulation.USE_KERNEL = kernel
    times, cpu = [], []
    try:
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            result = triangulate(rig, keypoints2d, SETTINGS.min_confidence, **options)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
    finally:
        triangulation.USE_KERNEL = True
    return times, cpu, result


def agreement(ours: Triangulation, reference: Triangulation) -> str:
    """How the kernel's result compares with the numpy path's (the reference)."""
    same = (
        np.array_equal(ours.status, reference.status)
        and np.array_equal(ours.used, reference.used)
        and np.array_equal(ours.n_usable, reference.n_usable)
    )
    points = np.nanmax(np.abs(ours.points3d - reference.points3d))
    errors = np.nanmax(np.abs(ours.reprojection_error - reference.reprojection_error))
    verdict = "the same" if same and points <= 1e-9 and errors <= 1e-6 else "NOT the same"
    return (
        f"kernel vs numpy path: {verdict} (statuses and views "
        f"{'identical' if same else 'differ'}; points within {points:.1e} m, errors within "
        f"{errors:.1e} px)"
    )


def run_ours(
    rig: CameraRig, keypoints2d: np.ndarray, truth: np.ndarray, repeats: int
) -> tuple[list[Row], str]:
    """Our robust triangulation with the kernel and with numpy, and plain DLT.

    Best and median of ``repeats`` calls each, after a first call of each (the kernel's
    loads its compiled code); returns the rows and how the two robust results compare.
    """
    rows, results = [], {}
    first = {}
    methods = (
        ("hingelab robust", ROBUST, True),
        ("hingelab robust (numpy)", ROBUST, False),
        ("hingelab plain DLT", {}, True),
    )
    for method, options, kernel in methods:
        first[method] = _timed(rig, keypoints2d, options, 1, kernel)[0][0]
        times, cpu, results[method] = _timed(rig, keypoints2d, options, repeats, kernel)
        note = (
            f"best of {repeats}; median {np.median(times):.3f} s, CPU {np.median(cpu):.3f} s "
            f"(all threads); first call of this process {first[method]:.2f} s"
        )
        flat = results[method].points3d.reshape(-1, 3)
        rows.append(Row(method, min(times), note, flat, truth.reshape(-1, 3)))
    check = agreement(results["hingelab robust"], results["hingelab robust (numpy)"])
    return rows, check


def _aniposelib_cameras(rig: CameraRig) -> list[dict[str, object]]:
    """Our cameras as aniposelib ``Camera`` arguments (OpenCV conventions on both sides)."""
    if any(camera.fisheye for camera in rig):
        raise SystemExit("the benchmark converts pinhole cameras only")
    return [
        {
            "matrix": camera.matrix.tolist(),
            "dist": camera.distortion.tolist(),
            "size": list(camera.size),
            "rvec": camera.rotation.tolist(),
            "tvec": camera.translation.tolist(),
            "name": camera.name,
        }
        for camera in rig
    ]


def run_aniposelib(
    python: Path,
    rig: CameraRig,
    keypoints2d: np.ndarray,
    truth: np.ndarray,
    work: Path,
    ransac_frames: int,
) -> list[Row]:
    """Run aniposelib's triangulate (all points) and triangulate_ransac (first frames)."""
    n_c, n_t, n_j, _ = keypoints2d.shape
    usable = np.isfinite(keypoints2d[..., 0]) & (keypoints2d[..., 2] >= SETTINGS.min_confidence)
    points = np.where(usable[..., None], keypoints2d[..., :2], np.nan).reshape(n_c, -1, 2)
    work.mkdir(parents=True, exist_ok=True)
    np.save(work / "points2d.npy", points.astype(np.float64))
    cameras = work / "cameras.json"
    cameras.write_text(json.dumps(_aniposelib_cameras(rig)), encoding="utf-8")
    ransac_points = min(ransac_frames, n_t) * n_j
    command = [str(python), str(RUNNER), "--cameras", str(cameras)]
    command += ["--points", str(work / "points2d.npy"), "--out", str(work)]
    command += ["--ransac-points", str(ransac_points)]
    print(f"aniposelib: triangulating {points.shape[1]} points (ransac: {ransac_points}) ...")
    log = work / "aniposelib.log"
    with log.open("w", encoding="utf-8") as err:
        done = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=err, text=True, cwd=REPO, check=False
        )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        raise SystemExit(f"the aniposelib runner failed; last lines of {log}:\n" + "\n".join(tail))
    info = json.loads(lines[-1])
    flat_truth = truth.reshape(-1, 3)
    scale = flat_truth.shape[0] / info["ransac_points"]
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    print(f"aniposelib: {versions}")
    return [
        Row(
            "aniposelib triangulate",
            info["triangulate_s"],
            f"2nd call; the 1st (JAX compile) took {info['triangulate_first_s']:.2f} s",
            np.load(work / "triangulate.npy"),
            flat_truth,
        ),
        Row(
            "aniposelib triangulate_ransac",
            info["ransac_s"] * scale,
            f"scaled: {info['ransac_s']:.1f} s for the first {info['ransac_points']} points "
            f"x {scale:.0f}",
            np.load(work / "ransac.npy"),
            flat_truth[: info["ransac_points"]],
        ),
    ]


def _errors(row: Row, ours: np.ndarray) -> list[str]:
    """Error statistics (mm) of ``row`` and the share of points it reconstructed.

    Mean, median, 99th percentile, max, % reconstructed, and the mean over the points
    that ``ours`` (N,) reconstructed, so that refusing hard points is no advantage.
    """
    error = np.linalg.norm(row.points3d - row.truth, axis=-1) * 1000
    done = np.isfinite(error)
    if not done.any():
        return ["-"] * 6
    e = error[done]
    stats = [e.mean(), np.median(e), np.percentile(e, 99), e.max()]
    common = done & ours[: error.size]
    return [*(f"{v:.1f}" for v in stats), f"{100 * done.mean():.2f}", f"{error[common].mean():.1f}"]


def report(rows: list[Row]) -> str:
    """The results table and the speed ratios of our robust triangulation."""
    header = ["method", "seconds", "mean mm", "median mm", "p99 mm", "max mm", "% points"]
    header.append("mean mm, ours' points")
    ours = rows[0]
    solved = np.isfinite(ours.points3d[:, 0])
    table = [header] + [[r.method, f"{r.seconds:.3f}", *_errors(r, solved)] for r in rows]
    lines = [*table_lines(table), ""]
    lines += [f"{r.method}: {r.note}" for r in rows]
    lines.append("")
    lines += [
        f"speed: {ours.method} is {r.seconds / ours.seconds:.1f}x as fast as {r.method}"
        for r in rows[1:]
    ]
    return "\n".join(lines)


def _arguments() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=20_000, help="frames (x 33 keypoints)")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls of ours")
    parser.add_argument(
        "--ransac-frames", type=int, default=60, help="frames given to triangulate_ransac"
    )
    add_work_arguments(parser, DEFAULT_WORK)
    return parser.parse_args()


def main() -> int:
    """Make the data, run every method, print the table."""
    args = _arguments()
    args.work.mkdir(parents=True, exist_ok=True)
    venv = args.venv or SHARED_VENV
    python = ensure_aniposelib(venv, args.work / "aniposelib-pip.log")
    rig, keypoints2d, truth = make_data(args.frames)
    n_c, n_t, n_j, _ = keypoints2d.shape
    print(f"data: {n_c} cameras x {n_j} keypoints x {n_t} frames = {n_t * n_j} points")
    print("compiling the kernel in a fresh process with an empty numba cache ...")
    compiled = compile_seconds()
    load = os.getloadavg()[0]
    rows, check = run_ours(rig, keypoints2d, truth, args.repeats)
    rows += run_aniposelib(python, rig, keypoints2d, truth, args.work, args.ransac_frames)
    print(
        f"load average before / after: {load:.2f} / {os.getloadavg()[0]:.2f} "
        f"on {os.cpu_count()} CPUs (more than 1 means other work competed)"
    )
    print()
    print(report(rows))
    print()
    print(f"hingelab robust, first call, compile included: {compiled:.1f} s (fresh process)")
    print(check)
    return 0


if __name__ == "__main__":
    sys.exit(main())
