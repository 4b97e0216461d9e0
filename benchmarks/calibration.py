"""Calibration benchmark: HingeLab's ``calibrate_recording`` against aniposelib, same recording.

A synthetic session with exact ground truth is rendered once (4 cameras on a ring, 1920x1080,
a 5x7 ChArUco board waved through the volume for 100 frames, lossless FFV1 videos) and cached
in the work folder. Both tools then calibrate from those videos alone, each in its own
process, each estimating the intrinsics from the same synchronized videos (no separate
intrinsic recording, no fixed intrinsics):

- HingeLab: ``mocap.calibrate_job.calibrate_recording`` in a subprocess of this Python (with
  its default detection workers, and again with one worker);
- aniposelib: ``CameraGroup.calibrate_videos`` in a virtual environment of its own, created
  here if missing (``benchmarks/_aniposelib_runner.py``).

Wall time is that of the calibration call, board detection included, and of the whole
process (imports too). Accuracy is against the truth: focal length and principal point,
camera centres and orientations after a rigid alignment of the estimated camera centres to
the true ones (Kabsch; the best similarity scale is shown too), the board-size check
(``calibration.quality.board_size_check``: HingeLab's detections triangulated with each
calibration) and each camera's reprojection RMS in that check.

Run from the repository root::

    .venv/bin/python benchmarks/calibration.py [--work DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == _HERE:
    # run as a script: this file would shadow the ``calibration`` package
    sys.path[0] = str(_HERE.parent)

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass, replace  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from scipy.spatial.transform import Rotation  # noqa: E402

from calibration.boards import CharucoBoard, board_to_toml, load_board, save_board  # noqa: E402
from calibration.calibrate import calibrate_rig  # noqa: E402
from calibration.camera import CameraRig  # noqa: E402
from calibration.detection import BoardDetection  # noqa: E402
from calibration.quality import board_size_check  # noqa: E402
from calibration.toml_io import load_calibration, save_calibration  # noqa: E402
from datasets.render import true_corners  # noqa: E402
from datasets.synthetic.board_recording import write_board_recording  # noqa: E402
from datasets.synthetic.board_views import waving_poses  # noqa: E402
from datasets.synthetic.rigs import ring_rig  # noqa: E402
from mocap.calibrate_job import calibrate_recording  # noqa: E402

REPO = _HERE.parent
DEFAULT_WORK = Path(tempfile.gettempdir()) / "hingelab-bench-calibration"
RUNNER = _HERE / "_aniposelib_runner.py"

N_CAMERAS = 4
IMAGE_SIZE = (1920, 1080)
FOCAL_PX = 1400.0
RIG_SEED = 1
POSES_SEED = 2
N_FRAMES = 100

ANIPOSELIB_REQUIREMENTS = (
    # 0.8.0 uses OpenCV's >= 4.7 ArUco API (CharucoDetector); the same OpenCV as HingeLab's
    # so that both detect with the same library version
    ("aniposelib==0.8.0", "opencv-contrib-python==4.11.0.86"),
    ("aniposelib",),  # fallback: whatever pip resolves
)
REFINED = "hingelab, BA intrinsics*"
PIP_OPTIONS = ("--retries", "5", "--timeout", "120", "--disable-pip-version-check")


def truth() -> tuple[CameraRig, CharucoBoard]:
    """The true rig and the board of the benchmark session."""
    rig = ring_rig(N_CAMERAS, size=IMAGE_SIZE, focal_px=FOCAL_PX, seed=RIG_SEED)
    return rig, CharucoBoard(5, 7, 0.11, 0.08, "DICT_5X5_100")


def session_poses(board: CharucoBoard, n_frames: int) -> list[np.ndarray]:
    """World <- board pose of every frame."""
    return waving_poses(board, n_frames, seed=POSES_SEED)


# ----------------------------------------------------------------------------- recording


def ensure_recording(work: Path, n_frames: int) -> Path:
    """Render the session's videos into ``work/recording`` unless they are there already.

    Returns
    -------
    Path
        The recording folder (one ``cam_N.mkv`` per camera).
    """
    rig, board = truth()
    key = {
        "cameras": N_CAMERAS,
        "size": list(IMAGE_SIZE),
        "focal_px": FOCAL_PX,
        "rig_seed": RIG_SEED,
        "poses_seed": POSES_SEED,
        "frames": n_frames,
        "board": board_to_toml(board),
        "format": "mkv",
    }
    folder, stamp = work / "recording", work / "recording.json"
    videos = [folder / f"{name}.mkv" for name in rig.names]
    have = stamp.is_file() and all(v.is_file() for v in videos)
    if have and json.loads(stamp.read_text(encoding="utf-8")) == key:
        print(f"recording: reusing {folder}")
        return folder
    partial = work / "recording.partial"
    shutil.rmtree(partial, ignore_errors=True)
    stamp.unlink(missing_ok=True)
    print(f"recording: rendering {N_CAMERAS} cameras x {n_frames} frames into {folder} ...")
    start = time.perf_counter()
    write_board_recording(partial, rig, board, session_poses(board, n_frames), "mkv")
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    stamp.write_text(json.dumps(key), encoding="utf-8")
    save_board(work / "board.toml", board)
    save_calibration(work / "truth.toml", rig)
    print(f"recording: rendered in {time.perf_counter() - start:.0f} s")
    return folder


def warm_cache(recording: Path) -> None:
    """Flush written files and read every video once: both tools start from the page cache."""
    os.sync()
    for video in sorted(recording.glob("*.mkv")):
        with video.open("rb") as stream:
            while stream.read(1 << 24):
                pass


# ----------------------------------------------------------------------------- aniposelib venv


def _venv_python(venv: Path) -> Path:
    """The Python of a virtual environment."""
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _aniposelib_works(python: Path) -> bool:
    """Whether ``python`` imports aniposelib and an OpenCV with the ArUco API it uses."""
    if not python.is_file():
        return False
    check = "import aniposelib.cameras, cv2; cv2.aruco.CharucoDetector"
    return (
        subprocess.run([str(python), "-c", check], capture_output=True, check=False).returncode == 0
    )


SHARED_VENV = DEFAULT_WORK / "aniposelib-venv"
"""aniposelib's environment, made by this benchmark and reused by the others."""


def add_work_arguments(parser: argparse.ArgumentParser, work: Path) -> None:
    """``--work`` (default ``work``) and ``--venv`` (default :data:`SHARED_VENV`)."""
    parser.add_argument("--work", type=Path, default=work, help=f"work folder (default {work})")
    parser.add_argument(
        "--venv",
        type=Path,
        help=f"aniposelib's virtual environment (default: the calibration benchmark's, "
        f"{SHARED_VENV})",
    )


def ensure_aniposelib(venv: Path, log: Path) -> Path:
    """Create aniposelib's virtual environment if it is missing or broken.

    Returns
    -------
    Path
        Its Python.

    Raises
    ------
    SystemExit
        When no attempt could install aniposelib (the message says where the pip log is).
    """
    python = _venv_python(venv)
    stamp = venv / "hingelab-benchmark.json"
    wanted = list(ANIPOSELIB_REQUIREMENTS[0])
    if stamp.is_file() and _aniposelib_works(python):
        print(f"aniposelib: reusing {venv} ({', '.join(json.loads(stamp.read_text()))})")
        return python
    if not python.is_file():
        print(f"aniposelib: creating a virtual environment in {venv} ...")
        shutil.rmtree(venv, ignore_errors=True)
        venv.parent.mkdir(parents=True, exist_ok=True)
        made = subprocess.run([sys.executable, "-m", "venv", str(venv)], check=False)
        if made.returncode != 0:
            raise SystemExit(f"{sys.executable} -m venv {venv} failed: cannot build aniposelib's")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as out:
        for requirements in ANIPOSELIB_REQUIREMENTS:
            for attempt in (1, 2):
                print(f"aniposelib: pip install {' '.join(requirements)} (try {attempt}) ...")
                command = [str(python), "-m", "pip", "install", *PIP_OPTIONS, *requirements]
                out.write(f"$ {' '.join(command)}\n")
                out.flush()
                done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
                if done.returncode == 0 and _aniposelib_works(python):
                    stamp.write_text(json.dumps(list(requirements)), encoding="utf-8")
                    return python
    raise SystemExit(
        f"aniposelib could not be installed into {venv} (tried {wanted} and unpinned "
        f"aniposelib; pip's output is in {log}). Is PyPI reachable from this machine?"
    )


# ----------------------------------------------------------------------------- runs


@dataclass(frozen=True)
class Run:
    """One tool's calibration of the recording."""

    tool: str
    calibrate_s: float
    detect_s: float
    process_s: float
    rig: CameraRig
    detections: list[BoardDetection]
    info: dict[str, Any]


def _detections_to_json(views: Sequence[BoardDetection]) -> list[dict[str, Any]]:
    """Detections as plain lists (the runners' exchange format)."""
    return [
        {"camera": v.camera, "frame": v.frame, "ids": v.ids.tolist(), "corners": v.corners.tolist()}
        for v in views
    ]


def _detections_from_json(path: Path, sizes: dict[str, tuple[int, int]]) -> list[BoardDetection]:
    """Read detections written by a runner."""
    views = json.loads(path.read_text(encoding="utf-8"))
    return [
        BoardDetection(
            v["camera"], v["frame"], v["ids"], np.reshape(v["corners"], (-1, 2)), sizes[v["camera"]]
        )
        for v in views
        if v["ids"]
    ]


def _cpu_seconds() -> float:
    """User + system CPU time of the finished child processes (and theirs), seconds."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(command: list[str], log: Path) -> tuple[dict[str, Any], float]:
    """Run a runner; its last stdout line is JSON, returned with the process wall time.

    The JSON gets ``"cpu_seconds"``, the CPU time of the process and its workers, and
    ``"others_cpu_seconds"``, the CPU time the rest of the machine used meanwhile (other
    work competing for the CPUs inflates the wall time).
    """
    cpu = _cpu_seconds()
    ticks = _cpu_ticks()[0]
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as err:
        done = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=err, text=True, cwd=REPO, check=False
        )
    seconds = time.perf_counter() - start
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        raise SystemExit(
            f"{command[0]} {' '.join(command[1:3])} failed (exit {done.returncode}); last lines "
            f"of {log}:\n" + "\n".join(tail)
        )
    info = json.loads(lines[-1])
    info["cpu_seconds"] = _cpu_seconds() - cpu
    busy = (_cpu_ticks()[0] - ticks) / os.sysconf("SC_CLK_TCK")
    info["others_cpu_seconds"] = max(busy - info["cpu_seconds"], 0.0)
    return info, seconds


def run_ours(
    recording: Path, board_file: Path, out: Path, workers: int | None, refined: bool
) -> list[Run]:
    """HingeLab's calibration of the recording, in a fresh process of this Python.

    With ``refined``, also the rig calibrated from the same detections with the bundle
    adjustment refining the intrinsics (``calibrate_rig(..., refine_intrinsics=True)``),
    timed as the detection time plus that solve: an option ``calibrate_recording`` does
    not take (yet).
    """
    label = "default" if workers is None else str(workers)
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "benchmarks.calibration", "--child-ours", str(recording)]
    command += ["--board", str(board_file), "--child-out", str(out)]
    command += [] if workers is None else ["--workers", str(workers)]
    command += ["--child-refined"] if refined else []
    print(f"hingelab: calibrating (workers: {label}) ...")
    info, process_s = _run(command, out / "stderr.log")
    rig, _ = load_calibration(out / "calibration.toml")
    views = _detections_from_json(out / "detections.json", {c.name: c.size for c in rig})
    tool = f"hingelab ({info['workers']} worker{'s' if info['workers'] > 1 else ''})"
    detect_s = info["seconds"] - info["solve_seconds"]
    runs = [Run(tool, info["seconds"], detect_s, process_s, rig, views, info)]
    if refined:
        rig, _ = load_calibration(out / "calibration-refined.toml")
        seconds = detect_s + info["refined_solve_seconds"]
        runs.append(
            Run(
                REFINED,
                seconds,
                detect_s,
                float("nan"),
                rig,
                views,
                {**info, "cpu_seconds": float("nan"), "others_cpu_seconds": float("nan")},
            )
        )
    return runs


def child_ours(
    recording: Path, board_file: Path, out: Path, workers: int | None, refined: bool
) -> int:
    """In the child process: calibrate, write calibration and detections, print JSON."""
    board = load_board(board_file)
    start = time.perf_counter()
    result, views = calibrate_recording(recording, board, progress=False, workers=workers)
    seconds = time.perf_counter() - start
    save_calibration(out / "calibration.toml", result.rig, result.metadata)
    text = json.dumps(_detections_to_json(views))
    (out / "detections.json").write_text(text, encoding="utf-8")
    used = workers if workers is not None else min(len(result.rig), os.cpu_count() or 1)
    summary = {"seconds": seconds, "workers": used}
    # the solve alone, again on the same detections: calibration time minus it ~ detection
    sizes = {camera.name: camera.size for camera in result.rig}
    start = time.perf_counter()
    calibrate_rig(views, board, sizes)
    summary["solve_seconds"] = time.perf_counter() - start
    if refined:
        start = time.perf_counter()
        again = calibrate_rig(views, board, sizes, refine_intrinsics=True)
        summary["refined_solve_seconds"] = time.perf_counter() - start
        save_calibration(out / "calibration-refined.toml", again.rig, again.metadata)
    print(json.dumps(summary))
    return 0


def _aniposelib_dictionary(name: str) -> tuple[int, int]:
    """(marker_bits, dict_size) of an OpenCV dictionary name such as DICT_5X5_100."""
    match = re.fullmatch(r"DICT_(\d)X\1_(\d+)", name)
    if match is None:
        raise SystemExit(f"aniposelib has no ArUco dictionary {name}")
    return int(match.group(1)), int(match.group(2))


def run_aniposelib(python: Path, recording: Path, board: CharucoBoard, out: Path) -> Run:
    """The aniposelib calibration of the recording, in its own virtual environment."""
    truth_rig, _ = truth()
    names = list(truth_rig.names)
    bits, size = _aniposelib_dictionary(board.dictionary)
    out.mkdir(parents=True, exist_ok=True)
    command = [str(python), str(RUNNER), "--videos"]
    command += [str(recording / f"{name}.mkv") for name in names]
    command += ["--names", *names, "--squares", str(board.columns), str(board.rows)]
    command += ["--square-length", repr(board.square_size_m)]
    command += ["--marker-length", repr(board.marker_size_m)]
    command += ["--marker-bits", str(bits), "--dict-size", str(size)]
    command += ["--out-calibration", str(out / "calibration.toml")]
    command += ["--out-detections", str(out / "detections.json")]
    print("aniposelib: calibrating ...")
    info, process_s = _run(command, out / "stderr.log")
    rig, _ = load_calibration(out / "calibration.toml")  # anipose's TOML; units: the board's (m)
    views = _detections_from_json(out / "detections.json", {n: IMAGE_SIZE for n in names})
    return Run("aniposelib", info["seconds"], info["detect_seconds"], process_s, rig, views, info)


# ----------------------------------------------------------------------------- accuracy


@dataclass(frozen=True)
class Accuracy:
    """A calibration against the truth (per camera, in rig order)."""

    focal_pct: np.ndarray
    principal_px: np.ndarray
    centre_mm: np.ndarray
    rotation_deg: np.ndarray
    scale: float
    board_rms_mm: float
    board_p95_mm: float
    reprojection_px: dict[str, float]


def align(estimated: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Rigid (Kabsch) fit ``true ~ R @ estimated + t`` of (N, 3) points; also the best scale.

    Returns
    -------
    R : (3, 3) array
    t : (3,) array
    scale : float
        The scale of the best similarity fit (Umeyama), for information: the rigid fit
        does not use it (both tools claim metres).
    """
    mean_e, mean_t = estimated.mean(axis=0), true.mean(axis=0)
    e, g = estimated - mean_e, true - mean_t
    u, s, vt = np.linalg.svd(g.T @ e)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.diag([1.0, 1.0, d])
    rotation = u @ fix @ vt
    scale = float(np.sum(s * np.diag(fix)) / np.sum(e**2))
    return rotation, mean_t - rotation @ mean_e, scale


def accuracy(
    rig: CameraRig, truth_rig: CameraRig, views: Sequence[BoardDetection], board: CharucoBoard
) -> Accuracy:
    """Compare ``rig`` with ``truth_rig`` and run the board-size check on ``views``."""
    rig = rig.subset(truth_rig.names)
    true_f = np.array([np.mean(np.diag(c.matrix)[:2]) for c in truth_rig])
    est_f = np.array([np.mean(np.diag(c.matrix)[:2]) for c in rig])
    principal = np.array(
        [
            np.linalg.norm(e.matrix[:2, 2] - t.matrix[:2, 2])
            for e, t in zip(rig, truth_rig, strict=True)
        ]
    )
    centres = np.array([c.center for c in rig])
    true_centres = np.array([c.center for c in truth_rig])
    rotation, shift, scale = align(centres, true_centres)
    centre_mm = np.linalg.norm(centres @ rotation.T + shift - true_centres, axis=1) * 1000
    angles = []
    for est, tru in zip(rig, truth_rig, strict=True):
        in_truth = est.rotation_matrix @ rotation.T  # world(truth) -> camera
        angles.append(Rotation.from_matrix(tru.rotation_matrix @ in_truth.T).magnitude())
    check = board_size_check(rig, views, board)
    return Accuracy(
        focal_pct=np.abs(est_f - true_f) / true_f * 100,
        principal_px=principal,
        centre_mm=centre_mm,
        rotation_deg=np.rad2deg(angles),
        scale=scale,
        board_rms_mm=check.rms_mm,
        board_p95_mm=check.p95_mm,
        reprojection_px=check.reprojection_rms_px,
    )


def detection_error(
    views: Sequence[BoardDetection],
    truth_rig: CameraRig,
    board: CharucoBoard,
    poses: Sequence[np.ndarray],
) -> str:
    """Detected corners against their exact positions: counts, RMS, median and max, px.

    A corner given a wrong id (a board layout the detector reads differently) would be a
    square or more away: the max shows there is none.
    """
    errors = [
        np.linalg.norm(
            view.corners - true_corners(truth_rig[view.camera], board, poses[view.frame])[view.ids],
            axis=1,
        )
        for view in views
    ]
    error = np.concatenate(errors) if errors else np.zeros(0)
    return (
        f"{len(views)} board views, {error.size} corners, error from the exact corners RMS "
        f"{np.sqrt(np.mean(error**2)):.3f} px, median {np.median(error):.3f} px, "
        f"max {error.max():.2f} px"
    )


# ----------------------------------------------------------------------------- report


def table_lines(rows: Sequence[Sequence[str]]) -> list[str]:
    """Lines of a table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        " ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


HEADER = (
    "tool",
    "calib s",
    "detect s",
    "process s",
    "cpu s",
    "others cpu s",
    "f err mean %",
    "f err max %",
    "pp max px",
    "centre max mm",
    "rot max deg",
    "scale",
    "board RMS mm",
)


def report(runs: Sequence[Run], results: Sequence[Accuracy], truth_check: Accuracy) -> str:
    """The summary table and the per-camera reprojection table."""
    rows = [list(HEADER)]
    for run, acc in zip(runs, results, strict=True):
        times = [
            f"{t:.1f}" if np.isfinite(t) else "-"
            for t in (
                run.calibrate_s,
                run.detect_s,
                run.process_s,
                run.info["cpu_seconds"],
                run.info["others_cpu_seconds"],
            )
        ]
        errors = [f"{acc.focal_pct.mean():.3f}", f"{acc.focal_pct.max():.3f}"]
        errors += [f"{acc.principal_px.max():.2f}", f"{acc.centre_mm.max():.2f}"]
        errors += [f"{acc.rotation_deg.max():.3f}", f"{acc.scale:.4f}"]
        rows.append([run.tool, *times, *errors, f"{acc.board_rms_mm:.3f}"])
    rows.append(["truth", "", "", "", "", "", "0", "0", "0", "0", "0", "1"])
    rows[-1].append(f"{truth_check.board_rms_mm:.3f}")
    names = list(truth_check.reprojection_px)
    cameras = [["tool", *names]]
    for tool, acc in [
        *((r.tool, a) for r, a in zip(runs, results, strict=True)),
        ("truth", truth_check),
    ]:
        cameras.append([tool, *(f"{acc.reprojection_px[n]:.3f}" for n in names)])
    title = "reprojection RMS px per camera in the board-size check (HingeLab's detections):"
    return "\n".join([*table_lines(rows), "", title, *table_lines(cameras)])


# ----------------------------------------------------------------------------- main


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the machine since boot (Linux ``/proc/stat``)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def median_run(trials: Sequence[Run]) -> Run:
    """The first trial with the median of every time over the trials."""
    first = trials[0]
    info = dict(first.info)
    for key in ("cpu_seconds", "others_cpu_seconds"):
        info[key] = float(np.median([t.info[key] for t in trials]))
    info["trials"] = len(trials)
    return replace(
        first,
        calibrate_s=float(np.median([t.calibrate_s for t in trials])),
        detect_s=float(np.median([t.detect_s for t in trials])),
        process_s=float(np.median([t.process_s for t in trials])),
        info=info,
    )


def _say_load(when: str) -> None:
    """Print how many CPUs other processes keep busy (1 s sample; this process sleeps)."""
    try:
        busy0, total0 = _cpu_ticks()
        time.sleep(1.0)
        busy1, total1 = _cpu_ticks()
    except (OSError, ValueError, IndexError):
        return
    cpus = os.cpu_count() or 1
    used = cpus * (busy1 - busy0) / max(total1 - total0, 1)
    busy = " - other work competes: wall times are inflated" if used > 0.25 else ""
    print(f"CPU use by other processes {when}: {used:.2f} of {cpus} CPUs{busy}")


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description="Time and accuracy of HingeLab's and aniposelib's calibration on one "
        "rendered recording with known truth."
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=DEFAULT_WORK,
        help=f"work folder: recording, results (default {DEFAULT_WORK})",
    )
    parser.add_argument(
        "--venv", type=Path, help="aniposelib's virtual environment (default WORK/aniposelib-venv)"
    )
    parser.add_argument(
        "--frames", type=int, default=N_FRAMES, help=f"frames of the recording (default {N_FRAMES})"
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="HingeLab's detection processes "
        "(default: calibrate_recording's, one per camera up to the CPUs)",
    )
    parser.add_argument(
        "--single-worker",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time HingeLab with one detection process (default: yes)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="time every tool this many times, in turn, and show the medians (default 1)",
    )
    parser.add_argument("--child-ours", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--board", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-refined", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its tables."""
    args = _arguments(argv)
    if args.child_ours is not None:
        return child_ours(
            args.child_ours, args.board, args.child_out, args.workers, args.child_refined
        )
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    venv = (args.venv or work / "aniposelib-venv").resolve()
    python = ensure_aniposelib(venv, work / "aniposelib-pip.log")
    recording = ensure_recording(work, args.frames)
    truth_rig, board = truth()
    board_file = save_board(work / "board.toml", board)
    warm_cache(recording)
    _say_load("before timing")
    trials: dict[str, list[Run]] = {}
    for trial in range(1, args.repeat + 1):
        print(f"--- trial {trial} of {args.repeat}")
        found = run_ours(recording, board_file, work / "hingelab", args.workers, refined=True)
        if args.single_worker and found[0].info["workers"] != 1:
            found += run_ours(recording, board_file, work / "hingelab-1-worker", 1, False)
        found.append(run_aniposelib(python, recording, board, work / "aniposelib"))
        for run in found:
            trials.setdefault(run.tool, []).append(run)
    _say_load("after timing")
    order = sorted(trials, key=lambda tool: (tool == "aniposelib", tool == REFINED))
    runs = [median_run(trials[tool]) for tool in order]
    ours, anipose = runs[0], runs[-1]
    single = [run for run in runs if run.tool == "hingelab (1 worker)"]

    poses = session_poses(board, args.frames)
    for run in (ours, anipose):  # the two detectors
        print(f"{run.tool}: {detection_error(run.detections, truth_rig, board, poses)}")
    results = [accuracy(run.rig, truth_rig, ours.detections, board) for run in runs]
    truth_check = accuracy(truth_rig, truth_rig, ours.detections, board)
    versions = anipose.info["versions"]
    print(
        f"aniposelib {versions['aniposelib']} with opencv-contrib-python "
        f"{versions['opencv-contrib-python']}, numpy {versions['numpy']}, Python "
        f"{versions['python']}; {os.cpu_count()} CPUs"
    )
    print()
    print(report(runs, results, truth_check))
    print()
    print(f"* {REFINED}: calibrate_rig(refine_intrinsics=True) on the same detections, timed as")
    print("  detection + that solve (calibrate_recording's default with no intrinsics recording)")
    print()
    ratio = f"time ratio aniposelib/ours = {anipose.calibrate_s / ours.calibrate_s:.1f}"
    if single:
        ratio += f" (ours with 1 worker: {anipose.calibrate_s / single[0].calibrate_s:.1f})"
    print(ratio)
    return 0


if __name__ == "__main__":
    sys.exit(main())
