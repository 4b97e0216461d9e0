"""Real-data benchmark: HingeLab's 3D against aniposelib's on the Pose2Sim demo recording.

The data: ``../shared/datasets/pose2sim_demo_singleperson`` (4 portrait cameras, 60 fps,
100 frames, one person) with its own Qualisys calibration ``Calib.qca.txt``. There is no
3D ground truth, so every method is judged on the same 2D keypoints and calibration by
the median reprojection error, the share of key-joint frames reconstructed and the
stability of the thigh and shank lengths.

In one run:

1. 2D keypoints: ``mocap.detect_job.detect_recording`` (what ``mocap detect`` runs,
   MediaPipe BlazePose) on the videos, cached in the work folder (``--redetect`` redoes it);
2. the calibration, read by ``calibration.interop.load_any_calibration`` and matched to
   the videos as ``mocap process`` does (``mocap.process_job.match_cameras`` and
   ``check_image_sizes``); the 2D steps both ``mocap process`` and ``mocap triangulate``
   run (``mocap.prepare.prepare_keypoints``, default settings: left/right swaps of single
   cameras undone, the cameras' time offsets estimated from the keypoints and applied);
3. HingeLab: ``mocap.pipeline.reconstruct_trial`` with the default
   ``ReconstructionSettings`` (the trial's final, filtered points), and again with the
   filtering off (the raw robust triangulation);
4. aniposelib 0.8.0 ``CameraGroup.triangulate``, ``triangulate_ransac`` and, for
   reference, ``triangulate_optim``, in a virtual environment of its own
   (``benchmarks.calibration.ensure_aniposelib``) through ``_aniposelib_realdata.py``, on
   the same prepared body keypoints, views below our confidence threshold set to NaN.

All of 2-4 runs twice: with the file's calibration, and with the camera orientations
refitted to the keypoints by HingeLab (``refine_orientations``, what ``mocap demo --real``
does), that refined calibration then used by every method alike.

Every figure is computed by the same code for every method: the median reprojection error
(each 3D body keypoint projected with ``calibration.camera.Camera`` into every camera that
has a usable 2D point of it; the views a robust method left out count too), its 75th
percentile, the median over points of each point's mean over its usable views (aniposelib's
own ``CameraGroup.reprojection_error(mean=True)``), the share of
frames with a 3D point over the key joints (``mocap.real_demo.KEY_JOINTS``), and the
coefficient of variation (std / mean) of each thigh (hip-knee) and shank (knee-ankle)
length over the frames where both of its ends exist.

Run from the repository root::

    .venv/bin/python benchmarks/realdata.py [--work DIR] [--redetect]
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
import os  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import dataclass, replace  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.calibration import (  # noqa: E402
    SHARED_VENV,
    add_work_arguments,
    ensure_aniposelib,
    table_lines,
)
from benchmarks.triangulation import _aniposelib_cameras  # noqa: E402
from calibration.camera import CameraRig  # noqa: E402
from calibration.interop import load_any_calibration  # noqa: E402
from mocap.detect_job import default_detector, detect_recording  # noqa: E402
from mocap.pipeline import ReconstructionSettings, reconstruct_trial  # noqa: E402
from mocap.prepare import prepare_keypoints  # noqa: E402
from mocap.process_job import check_image_sizes, match_cameras  # noqa: E402
from mocap.real_demo import KEY_JOINTS, find_layout  # noqa: E402
from mocap.skeleton import BLAZEPOSE_NAMES  # noqa: E402
from mocap.trial import Trial, read_trial, write_trial  # noqa: E402
from mocap.version import software_version  # noqa: E402

REPO = _HERE.parent
DATASET = REPO.parent / "shared" / "datasets" / "pose2sim_demo_singleperson"
DEFAULT_WORK = Path(tempfile.gettempdir()) / "hingelab-bench-realdata"
RUNNER = _HERE / "_aniposelib_realdata.py"
SETTINGS = ReconstructionSettings()
UNFILTERED = replace(SETTINGS, filter="none", median_window=0, max_gap_s=0.0)
N_BODY = len(BLAZEPOSE_NAMES)
BONES = {
    "L thigh": ("left_hip", "left_knee"),
    "R thigh": ("right_hip", "right_knee"),
    "L shank": ("left_knee", "left_ankle"),
    "R shank": ("right_knee", "right_ankle"),
}
OURS = "hingelab, filtered"
OURS_RAW = "hingelab, unfiltered"
RIVALS = ("aniposelib triangulate", "aniposelib triangulate_ransac")


@dataclass(frozen=True)
class Method:
    """One method's 3D body keypoints."""

    name: str
    points3d: np.ndarray  # (T, 33, 3) metres, NaN where not reconstructed
    seconds: float


@dataclass(frozen=True)
class Figures:
    """The figures of one method, all from the same code."""

    median_px: float
    p75_px: float  # 75th percentile of the same errors
    point_px: float  # median over points of each point's mean over its usable views
    camera_px: tuple[float, ...]  # median reprojection error per camera
    key_share: float  # fraction of key-joint frames with a 3D point
    hip_share: float  # the same for the two hips only
    cv_pct: dict[str, float]  # per bone, std / mean of its length, %
    mean_mm: dict[str, float]  # per bone, mean length, mm
    frames: dict[str, int]  # per bone, frames with both ends


# ----------------------------------------------------------------------------- inputs


def ensure_keypoints(videos: Path, work: Path, redetect: bool) -> Trial:
    """The 2D keypoints of the videos: ``work/keypoints.h5``, detected unless already there.

    A cached file is reused when its detector description is today's default detector's.
    """
    path = work / "keypoints.h5"
    detector = default_detector().description
    if path.is_file() and not redetect:
        cached = read_trial(path)
        if cached.extra_attrs.get("detection_detector") == detector:
            print(f"keypoints: reusing {path} ({cached.software_version}; --redetect to redo)")
            return cached
        print(f"keypoints: {path} was made by another detector")
    print(f"keypoints: detecting in {videos} ...")
    start = time.perf_counter()
    trial = detect_recording(videos, progress=True)
    write_trial(path, trial)
    print(f"keypoints: detected in {time.perf_counter() - start:.0f} s, wrote {path}")
    return trial


def _recorded_sizes(trial: Trial) -> list[tuple[int, int]]:
    """The image (width, height) of each camera of a ``detect_recording`` trial."""
    widths = np.asarray(trial.extra_attrs["detection_image_width"], dtype=np.int64)
    heights = np.asarray(trial.extra_attrs["detection_image_height"], dtype=np.int64)
    return [(int(w), int(h)) for w, h in zip(widths, heights, strict=True)]


def matched(trial: Trial, calibration: Path) -> tuple[Trial, CameraRig]:
    """The trial's cameras matched to the calibration's as ``mocap process`` does.

    Returns
    -------
    trial : Trial
        keypoints2d (C, T, J, 3) in the calibration's camera order, cameras renamed.
    rig : CameraRig
        The C calibrated cameras, in that order.
    """
    rig, _ = load_any_calibration(calibration)
    mapping, note = match_cameras(trial.camera_names, rig.names)
    if note:
        print(f"note: {note}")
    by_camera = {camera: video for video, camera in mapping.items()}
    if len(mapping) != len(trial.camera_names) or set(by_camera) != set(rig.names):
        raise SystemExit(f"{calibration}: cameras {rig.names} do not match videos {mapping}")
    order = [trial.camera_names.index(by_camera[name]) for name in rig.names]
    sizes = _recorded_sizes(trial)
    check_image_sizes(
        {n: sizes[i] for n, i in zip(rig.names, order, strict=True)}, rig, calibration, True
    )
    keypoints = np.asarray(trial.keypoints2d)[order]
    return replace(trial, keypoints2d=keypoints, camera_names=rig.names), rig


def prepared(
    trial: Trial, rig: CameraRig, settings: ReconstructionSettings = SETTINGS
) -> tuple[Trial, CameraRig]:
    """The 2D steps ``mocap process`` / ``mocap triangulate`` run before triangulating.

    ``mocap.prepare.prepare_keypoints``: left/right swaps of single cameras undone, the
    time offsets estimated from the keypoints and applied, and the orientations refined
    when ``settings`` say so. Prints what each step did.
    """
    timed = trial.extra_attrs.get("detection_pairing") == "timestamps"
    ready = prepare_keypoints(trial, rig, settings, timed=timed, progress=False)
    for key, value in ready.attrs.items():
        if key.endswith(".message"):
            print(f"{key.removesuffix('.message')}: {value}")
    return ready.trial, ready.rig


# ----------------------------------------------------------------------------- methods


def run_ours(trial: Trial, rig: CameraRig) -> list[Method]:
    """``reconstruct_trial`` with the default settings, then with the filtering off."""
    methods = []
    for name, settings in ((OURS, SETTINGS), (OURS_RAW, UNFILTERED)):
        start = time.perf_counter()
        result = reconstruct_trial(trial, rig, settings)
        seconds = time.perf_counter() - start
        points = np.asarray(result.points3d, dtype=np.float64)[:, :N_BODY]
        methods.append(Method(name, points, seconds))
    return methods


def usable_views(keypoints2d: np.ndarray) -> np.ndarray:
    """(C, T, J) bool: the views every method may use (finite, confidence high enough)."""
    finite = np.isfinite(keypoints2d[..., :2]).all(axis=-1)
    with np.errstate(invalid="ignore"):
        return finite & (keypoints2d[..., 2] >= SETTINGS.min_confidence)


def run_aniposelib(python: Path, rig: CameraRig, trial: Trial, work: Path) -> list[Method]:
    """The three aniposelib methods on the trial's body keypoints (``_aniposelib_realdata``)."""
    keypoints = np.asarray(trial.keypoints2d, dtype=np.float64)[:, :, :N_BODY]
    points = np.where(usable_views(keypoints)[..., None], keypoints[..., :2], np.nan)
    out = work / "aniposelib"
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "points2d.npy", points)
    cameras = out / "cameras.json"
    cameras.write_text(json.dumps(_aniposelib_cameras(rig)), encoding="utf-8")
    command = [str(python), str(RUNNER), "--cameras", str(cameras)]
    command += ["--points", str(out / "points2d.npy"), "--out", str(out)]
    print(f"aniposelib: triangulate, triangulate_ransac, triangulate_optim on {points.shape} ...")
    info = _run(command, out / "aniposelib.log")
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    print(f"aniposelib: {versions}")
    return [
        Method(f"aniposelib {label}", np.load(out / f"{key}.npy"), info["seconds"][key])
        for key, label in (
            ("triangulate", "triangulate"),
            ("ransac", "triangulate_ransac"),
            ("optim", "triangulate_optim"),
        )
    ]


def _run(command: list[str], log: Path) -> dict[str, Any]:
    """Run the runner; its last stdout line is JSON (else exit naming the log)."""
    with log.open("w", encoding="utf-8") as err:
        done = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=err, text=True, cwd=REPO, check=False
        )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        raise SystemExit(f"the aniposelib runner failed; last lines of {log}:\n" + "\n".join(tail))
    return json.loads(lines[-1])


# ----------------------------------------------------------------------------- figures


def reprojection_px(rig: CameraRig, points3d: np.ndarray, keypoints2d: np.ndarray) -> np.ndarray:
    """Distance (C, T, J), px, from each usable 2D view to its 3D point's projection.

    Parameters
    ----------
    rig : CameraRig
        The C cameras.
    points3d : (T, J, 3) float array
        Metres, NaN where not reconstructed.
    keypoints2d : (C, T, J, 3) float array
        Pixel x, y and confidence.

    Returns
    -------
    (C, T, J) float array
        NaN where the view is not usable or the point not reconstructed.
    """
    n_c, n_t, n_j, _ = keypoints2d.shape
    projected = rig.project(points3d.reshape(-1, 3)).reshape(n_c, n_t, n_j, 2)
    error = np.linalg.norm(projected - keypoints2d[..., :2], axis=-1)
    return np.where(usable_views(keypoints2d), error, np.nan)


def bone_lengths(points3d: np.ndarray, ends: tuple[str, str]) -> np.ndarray:
    """Lengths (K,), mm, of a bone over the K frames where both of its ``ends`` exist."""
    a, b = (BLAZEPOSE_NAMES.index(end) for end in ends)
    length = np.linalg.norm(points3d[:, a] - points3d[:, b], axis=-1) * 1000
    return length[np.isfinite(length)]


def _nanmedian(values: np.ndarray) -> float:
    """Median of the finite values, NaN when there is none."""
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if finite.size else float("nan")


def figures(method: Method, rig: CameraRig, keypoints2d: np.ndarray) -> Figures:
    """The figures of ``method`` against the (C, T, 33, 3) 2D keypoints it was given."""
    error = reprojection_px(rig, method.points3d, keypoints2d)
    views = np.isfinite(error).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        point_mean = np.where(views >= 2, np.nansum(error, axis=0) / views, np.nan)
    done = np.isfinite(method.points3d[..., 0])
    key = [BLAZEPOSE_NAMES.index(j) for j in KEY_JOINTS]
    hips = [BLAZEPOSE_NAMES.index(j) for j in ("left_hip", "right_hip")]
    cv, mean, frames = {}, {}, {}
    for bone, ends in BONES.items():
        length = bone_lengths(method.points3d, ends)
        frames[bone] = int(length.size)
        mean[bone] = float(length.mean()) if length.size else float("nan")
        cv[bone] = float(100 * length.std() / length.mean()) if length.size > 1 else float("nan")
    return Figures(
        median_px=_nanmedian(error),
        p75_px=float(np.nanpercentile(error, 75)) if np.isfinite(error).any() else float("nan"),
        point_px=_nanmedian(point_mean),
        camera_px=tuple(_nanmedian(e) for e in error),
        key_share=float(done[:, key].mean()),
        hip_share=float(done[:, hips].mean()),
        cv_pct=cv,
        mean_mm=mean,
        frames=frames,
    )


# ----------------------------------------------------------------------------- report


def report(methods: Sequence[Method], results: Sequence[Figures], cameras: Sequence[str]) -> str:
    """The figures table and the per-camera reprojection table: one row per method."""
    header = ["method", "s", "median px", "p75 px", "point px", "key %", "hips %"]
    header += [f"{bone} CV % (mm)" for bone in BONES]
    rows = [header]
    per_camera = [["median px per camera", *cameras, *(f"{b} frames" for b in BONES)]]
    for method, fig in zip(methods, results, strict=True):
        row = [method.name, f"{method.seconds:.1f}", f"{fig.median_px:.2f}", f"{fig.p75_px:.1f}"]
        row.append(f"{fig.point_px:.2f}")
        row += [f"{100 * fig.key_share:.1f}", f"{100 * fig.hip_share:.1f}"]
        row += [f"{fig.cv_pct[b]:.1f} ({fig.mean_mm[b]:.0f})" for b in BONES]
        rows.append(row)
        counts = [str(fig.frames[b]) for b in BONES]
        per_camera.append([method.name, *(f"{v:.2f}" for v in fig.camera_px), *counts])
    return "\n".join([*table_lines(rows), "", *table_lines(per_camera)])


def legend(n_frames: int) -> list[str]:
    """What the tables' columns mean."""
    return [
        "px: distance of each usable 2D body view from its 3D point's projection, views a method",
        "    left out included (a 2-view solution fits its 2 views exactly: low median, high p75)",
        "point px: per 3D point the mean of those distances over its usable views (aniposelib's",
        "    CameraGroup.reprojection_error(mean=True)), median over points: a solution from",
        "    every view minimises it, one that leaves views out pays for them in full",
        f"key % / hips %: frames with a 3D point, over the {len(KEY_JOINTS)} key joints / the hips",
        "CV: std / mean of the bone's length over the frames with both ends (mean length, mm);",
        f"    frames: over how many of the {n_frames} frames (each method its own)",
        "s: wall time; aniposelib's triangulate includes its JAX compilation; optim: for reference",
    ]


FIGURES: tuple[tuple[str, Callable[[Figures], float], bool, str], ...] = (
    ("median reprojection error", lambda f: f.median_px, True, "{:.2f} px"),
    ("p75 reprojection error", lambda f: f.p75_px, True, "{:.1f} px"),
    ("median per-point mean error", lambda f: f.point_px, True, "{:.2f} px"),
    ("key-joint frames reconstructed", lambda f: 100 * f.key_share, False, "{:.1f} %"),
    *((f"{bone} length CV", lambda f, b=bone: f.cv_pct[b], True, "{:.1f} %") for bone in BONES),
)
"""Per figure: label, value, whether lower is better, format."""


def _outcome(mine: float, rivals: dict[str, float], lower: bool, fmt: str) -> str:
    """The verdict against ``rivals``: beats both, or loses to or ties with (as printed)."""
    shown = fmt.format(mine)
    ties = [name for name, r in rivals.items() if fmt.format(r) == shown]
    lost = [
        name
        for name, r in rivals.items()
        if name not in ties and not ((mine < r) if lower else (mine > r))
    ]
    words = [f"loses to {' and '.join(lost)}"] if lost else []
    words += [f"ties with {' and '.join(ties)}"] if ties else []
    return ", ".join(words) or "beats both"


def verdicts(names: Sequence[str], results: Sequence[Figures]) -> list[str]:
    """Per figure, whether our filtered (and unfiltered) points beat both rivals."""
    by_name = dict(zip(names, results, strict=True))
    lines = []
    for label, value, lower, fmt in FIGURES:
        rivals = {r.split()[-1]: value(by_name[r]) for r in RIVALS}
        shown = ", ".join(f"{r} {fmt.format(v)}" for r, v in rivals.items())
        parts = []
        for name, short in ((OURS, "ours"), (OURS_RAW, "unfiltered")):
            mine = value(by_name[name])
            parts.append(f"{short} {fmt.format(mine)} {_outcome(mine, rivals, lower, fmt)}")
        lines.append(f"{label}: {'; '.join(parts)} ({shown})")
    return lines


# ----------------------------------------------------------------------------- main


def _arguments() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dataset", type=Path, default=DATASET, help=f"the recording (default {DATASET})"
    )
    parser.add_argument("--redetect", action="store_true", help="detect the 2D keypoints again")
    add_work_arguments(parser, DEFAULT_WORK)
    return parser.parse_args()


def main() -> int:
    """Detect (or reuse), reconstruct with every method, print the table and verdicts."""
    args = _arguments()
    if not args.dataset.is_dir():
        raise SystemExit(
            f"{args.dataset}: no such folder (the Pose2Sim demo recording, see "
            "../shared/datasets/README.md); nothing to benchmark"
        )
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    python = ensure_aniposelib(args.venv or SHARED_VENV, work / "aniposelib-pip.log")
    videos, calibration = find_layout(args.dataset)
    trial, rig = matched(ensure_keypoints(videos, work, args.redetect), calibration)
    n_c, n_t, _, _ = trial.keypoints2d.shape
    print(
        f"data: {n_c} cameras x {n_t} frames at {trial.fps:g} fps, calibration {calibration.name}; "
        f"{software_version()}, detector {trial.extra_attrs.get('detection_detector', '?')}"
    )
    blocks = (
        ("the file's calibration", SETTINGS, work / "file-calibration"),
        (
            "orientations refined by HingeLab (mocap --refine-orientations), for every method",
            replace(SETTINGS, refine_orientations=True),
            work / "refined-calibration",
        ),
    )
    for title, settings, folder in blocks:
        print(f"\n=== calibration: {title}")
        folder.mkdir(parents=True, exist_ok=True)
        run_block(*prepared(trial, rig, settings), python, folder)
    return 0


def run_block(trial: Trial, rig: CameraRig, python: Path, work: Path) -> None:
    """Every method on the prepared ``trial`` and ``rig``; print the tables and verdicts."""
    n_t = trial.keypoints2d.shape[1]
    load = os.getloadavg()[0]
    methods = run_ours(trial, rig) + run_aniposelib(python, rig, trial, work)
    print(
        f"load average before / after: {load:.2f} / {os.getloadavg()[0]:.2f} "
        f"on {os.cpu_count()} CPUs"
    )
    print(
        "every method gets the same 2D body keypoints and cameras, as prepared above (swaps "
        f"undone, offsets applied); views below confidence {SETTINGS.min_confidence} are NaN "
        "for aniposelib (ours skips them itself)"
    )
    body = np.asarray(trial.keypoints2d, dtype=np.float64)[:, :, :N_BODY]
    results = [figures(method, rig, body) for method in methods]
    print()
    print(report(methods, results, rig.names))
    print()
    print("\n".join(legend(n_t)))
    print()
    print("\n".join(verdicts([m.name for m in methods], results)))


if __name__ == "__main__":
    sys.exit(main())
