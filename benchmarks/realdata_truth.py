"""Do the real-data figures track accuracy? ``benchmarks/realdata.py``'s figures with 3D truth.

``benchmarks/realdata.py`` judges HingeLab against aniposelib on the Pose2Sim demo, which has
no 3D ground truth, by figures computed from 2D: the per-view median reprojection error
(views a method left out included), its p75, the median per-point mean over usable views,
key-joint coverage and the thigh / shank length CVs. They disagree about which method is
best. This benchmark asks which of them tracks true 3D accuracy, on a synthetic recording
made to look like the real one, where the exact 3D is known.

The data (``--seed`` seeds the rig, the calibration error and the detector alike). The
detector was tuned until the residuals of HingeLab's points (filtered, default settings)
were distributed like the demo's (refitted orientations / the file's, in px):

    demo:      median 7.6 / 11.0, p90 17.6 / 27.0, >30 px 4.4 / 8.3 %, >50 px 1.4 / 1.7 %,
               >100 px 0.4 / 0.4 %
    synthetic: median 7.1 /  9.8, p90 14.4 / 21.3, >30 px 3.6 / 6.1 %, >50 px 1.8 / 2.1 %,
               >100 px 0.4 / 0.4 % (seed 0)

- scene: ``datasets.synthetic.make_scene`` with ``DEMO_MOTIONS``, 4 cameras on a ring
  (1920x1080, f ~1400 px, ~3.5 m away), 60 fps; ``--frames`` (200) frames centred on the
  first rep's bottom, so the window holds one whole hinge (the demo's 100 frames are one
  movement too). 200 frames keep aniposelib's RANSAC (a Python loop per point) near two
  minutes per calibration;
- detector noise, three parts, because on the demo MediaPipe's 2D points scatter widely
  about any 3D solution but jitter little from frame to frame: the second difference of
  the demo's 2D tracks has a std of 5.9 px per axis, which is 2.4 px of white noise at
  most. So: 2.5 px white noise per axis (``ObservationNoise.pixel_sigma``), plus 5 px per
  axis constant per camera and joint (a detector's joint is not the same anatomical point
  in every view), plus 5 px per axis wandering slowly (Gaussian-smoothed white noise, 0.1 s
  sigma, per camera and joint): 7.5 px per axis, a median of ~9 px per view with the
  outliers below. Filtering removes only the white part, as on real data;
- calibration error: the methods get a rig whose cameras are each turned by
  ``--rotation-deg`` (0.4 degrees) about an axis through their centre, across the optical
  axis in a random direction (the 2D points come from the true rig): every view moves
  ~10 px (f * 0.4 degrees). On the demo the refitted orientations lower the median
  residual by 3.4 px (ours) to 4.3 px (``triangulate``), here by 2.7 px. As in
  realdata.py, every method runs twice: with that rig (the file's calibration) and with
  the orientations refitted to the keypoints by HingeLab (``--refine-orientations``),
  given to every method;
- missed views: 5 % of the views (NaN, confidence 0; on the demo 1.4 % are unusable), but
  never all of a point's views: aniposelib's ``triangulate_ransac`` fails on a point no
  camera sees (it tries the empty camera subset: "Need at least one array to stack"), so
  such a point keeps one camera's view;
- outliers, confidence 0.8-1.0, in runs of 1-12 frames with one offset (a detector that
  takes the wrong thing for a joint keeps doing so for a while): 4.5 % of the views 20-60 px
  off, 0.5 % 60-300 px off (the demo has many residuals of 20-50 px, few above 100 px);
- a left/right swap: one camera (``cam_2``) reports every left keypoint as the right one and
  back for 12 frames (MediaPipe does this in side views; ``observe`` has no option for it,
  so it is done here). ``mocap.prepare.prepare_keypoints`` is run as in realdata.py (swaps
  undone, offsets estimated: all zero here), and every method gets its output;
- the four spine markers are left undetected, as on the demo (no markers worn).

Then, exactly as realdata.py (its functions imported): HingeLab ``reconstruct_trial``
(default settings, filtered and unfiltered), aniposelib ``triangulate``,
``triangulate_ransac`` and ``triangulate_optim`` in aniposelib's own environment, and
realdata.py's table of 2D figures; then each method's true error against the exact points
(mean and median mm over the ten key joints and over the 33 body points, each method on the
points it reconstructed; the body mean after the one rigid motion of the whole trial that
fits the truth best, which removes the frame error a wrong calibration gives every method;
the mean absolute error of the thigh and shank lengths), and, per 2D figure, the Spearman
rank correlation over the five methods between that figure and each true mean error (+1:
the figure orders the methods as their accuracy does), with the method the figure calls
best and the most accurate one.

Run from the repository root::

    .venv/bin/python benchmarks/realdata_truth.py [--seed 0] [--frames 200] [--work DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == _HERE:
    # run as a script: benchmarks/calibration.py would shadow the ``calibration`` package
    sys.path[0] = str(_HERE.parent)

import argparse  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import dataclass, replace  # noqa: E402

import numpy as np  # noqa: E402
from scipy.ndimage import gaussian_filter1d  # noqa: E402
from scipy.spatial.transform import Rotation  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from benchmarks.calibration import (  # noqa: E402
    SHARED_VENV,
    add_work_arguments,
    ensure_aniposelib,
    table_lines,
)
from benchmarks.realdata import (  # noqa: E402
    BONES,
    FIGURES,
    N_BODY,
    SETTINGS,
    Figures,
    Method,
    figures,
    legend,
    prepared,
    report,
    run_aniposelib,
    run_ours,
    usable_views,
)
from calibration.camera import Camera, CameraRig  # noqa: E402
from datasets.synthetic import DEMO_MOTIONS, ObservationNoise, make_scene, observe  # noqa: E402
from mocap.real_demo import KEY_JOINTS  # noqa: E402
from mocap.skeleton import BLAZEPOSE_NAMES  # noqa: E402
from mocap.trial import Trial  # noqa: E402
from mocap.version import software_version  # noqa: E402

DEFAULT_WORK = Path(tempfile.gettempdir()) / "hingelab-bench-realdata-truth"
FPS = 60.0
NOISE = ObservationNoise(pixel_sigma=2.5)
"""White noise (the module doc); missed views and outliers are added here."""
MISSED = 0.05
"""Share of the views missed (none of a point's last view: the module doc)."""
CONSTANT_PX = 5.0
"""Per camera and joint, a constant offset (std per axis, px)."""
WANDER_PX = 5.0
"""Per camera and joint, a slowly wandering offset (std per axis, px) ..."""
WANDER_S = 0.1
"""... smoothed by a Gaussian of this sigma, seconds."""
OUTLIERS = ((0.045, (20.0, 60.0)), (0.005, (60.0, 300.0)))
"""Share of the views and distance range, px, of the confident outliers: moderate, gross."""
OUTLIER_FRAMES = 12
"""An outlier lasts 1 to this many frames (same offset), as a confused detector does."""
SWAP_CAMERA = 1
SWAP_FRAMES = 12
KEY = [BLAZEPOSE_NAMES.index(j) for j in KEY_JOINTS]


@dataclass(frozen=True)
class Truth:
    """A method's errors against the exact points, each on its own points."""

    key_mean_mm: float
    key_median_mm: float
    body_mean_mm: float
    body_median_mm: float
    body_p95_mm: float
    aligned_mm: float  # body mean after the whole trial's best rigid alignment to the truth
    bone_mm: float  # mean over the four bones of the mean |length - true length|


# ----------------------------------------------------------------------------- data


def miscalibrated(rig: CameraRig, degrees: float, seed: int) -> CameraRig:
    """``rig`` with each camera turned by ``degrees`` about an axis across its optical axis."""
    rng = np.random.default_rng([seed, 1])
    cameras = []
    for camera in rig:
        angle = rng.uniform(0.0, 2 * np.pi)  # axis across the optical axis: the image shifts
        axis = np.array([np.cos(angle), np.sin(angle), 0.0])
        turn = Rotation.from_rotvec(np.deg2rad(degrees) * axis)
        rotation = turn.as_matrix() @ camera.rotation_matrix
        cameras.append(
            Camera(
                name=camera.name,
                size=camera.size,
                matrix=camera.matrix,
                distortion=camera.distortion,
                rotation=Rotation.from_matrix(rotation).as_rotvec(),
                translation=-rotation @ camera.center,
                fisheye=camera.fisheye,
            )
        )
    return CameraRig(tuple(cameras))


def _outlier_runs(
    keypoints: np.ndarray, share: float, px: tuple[float, float], rng: np.random.Generator
) -> None:
    """Move about ``share`` of the (C, T, J, 3) views ``px`` away, in runs, confidently.

    Each run starts at a random view, lasts 1 to ``OUTLIER_FRAMES`` frames and keeps one
    offset (random direction, distance uniform in ``px``); confidence 0.8-1.0.
    """
    n_c, n_t, n_j, _ = keypoints.shape
    mean_frames = (1 + OUTLIER_FRAMES) / 2
    starts = np.argwhere(rng.random((n_c, n_t, n_j)) < share / mean_frames)
    for c, t, j in starts:
        frames = slice(t, t + int(rng.integers(1, OUTLIER_FRAMES + 1)))
        angle = rng.uniform(0.0, 2 * np.pi)
        offset = rng.uniform(*px) * np.array([np.cos(angle), np.sin(angle)])
        keypoints[c, frames, j, :2] += offset
        keypoints[c, frames, j, 2] = rng.uniform(0.8, 1.0)


def detect(rig: CameraRig, points3d: np.ndarray, seed: int) -> np.ndarray:
    """The simulated detector's (C, T, J, 3) keypoints of the exact (T, J, 3) points.

    ``observe`` (white noise; views outside the image blanked), then the constant and the
    wandering offsets, the outliers, the missed views, a left/right swap of one camera, and
    the spine markers blanked.
    """
    keypoints = observe(rig, points3d, NOISE, seed=seed).astype(np.float64)
    rng = np.random.default_rng([seed, 2])
    n_c, n_t, n_j, _ = keypoints.shape
    constant = rng.normal(0.0, CONSTANT_PX, (n_c, 1, n_j, 2))
    white = rng.normal(0.0, 1.0, (n_c, n_t, n_j, 2))
    wander = gaussian_filter1d(white, WANDER_S * FPS, axis=1, mode="nearest")
    wander *= WANDER_PX / wander.std()
    keypoints[..., :2] += constant + wander
    for share, px in OUTLIERS:
        _outlier_runs(keypoints, share, px, rng)
    missed = rng.random((n_c, n_t, n_j)) < MISSED
    none = missed.all(axis=0)
    frames, joints = np.nonzero(none)
    missed[rng.integers(0, n_c, frames.size), frames, joints] = False
    keypoints[missed, :2] = np.nan
    keypoints[~np.isfinite(keypoints[..., 0]), 2] = 0.0
    names = list(BLAZEPOSE_NAMES)
    left = [i for i, n in enumerate(names) if n.startswith("left_")]
    right = [names.index("right_" + names[i].removeprefix("left_")) for i in left]
    start = int(rng.integers(0, n_t - SWAP_FRAMES))
    frames = slice(start, start + SWAP_FRAMES)
    view = keypoints[SWAP_CAMERA, frames]
    view[:, left + right] = view[:, right + left]
    keypoints[:, :, N_BODY:] = np.nan
    keypoints[:, :, N_BODY:, 2] = 0.0
    return keypoints.astype(np.float32)


def make_data(seed: int, n_frames: int, degrees: float) -> tuple[Trial, CameraRig, np.ndarray]:
    """The detected trial, the miscalibrated rig and the exact (T, 33, 3) body points."""
    scene = make_scene(DEMO_MOTIONS, n_cameras=4, fps=FPS, seed=seed)
    bottom = round(scene.session.reps[0].bottom_s * FPS)
    start = max(0, bottom - n_frames // 2)
    window = slice(start, start + n_frames)
    points = scene.points3d[window]
    trial = Trial(
        fps=FPS,
        keypoint_names=scene.keypoint_names,
        camera_names=scene.rig.names,
        timestamps=scene.session.times[window],
        keypoints2d=detect(scene.rig, points, seed),
    )
    given = miscalibrated(scene.rig, degrees, seed)
    describe(scene.rig, given, trial, points)
    return trial, given, points[:, :N_BODY]


def describe(true_rig: CameraRig, given: CameraRig, trial: Trial, points: np.ndarray) -> None:
    """Print how far the detections are from the true and the given rig's projections."""
    body = np.asarray(trial.keypoints2d, dtype=np.float64)[:, :, :N_BODY]
    flat = points[:, :N_BODY].reshape(-1, 3)
    exact = true_rig.project(flat).reshape(*body.shape[:3], 2)
    moved = given.project(flat).reshape(*body.shape[:3], 2)
    bias = np.linalg.norm(moved - exact, axis=-1)
    error = np.linalg.norm(body[..., :2] - exact, axis=-1)
    usable = usable_views(body)
    given_error = np.linalg.norm(body[..., :2] - moved, axis=-1)
    tail = ", ".join(f">{x} px {np.mean(error[usable] > x):.1%}" for x in (20, 30, 50, 100))
    print(
        f"detector: {usable.mean():.1%} of the views usable; their distance from the true "
        f"projection: median {np.median(error[usable]):.1f} px, p90 "
        f"{np.percentile(error[usable], 90):.1f}, {tail}; from the given rig's: median "
        f"{np.median(given_error[usable]):.1f} px"
    )
    print(
        "calibration error: per camera, median shift of the projections "
        + ", ".join(f"{n} {np.median(b):.1f} px" for n, b in zip(given.names, bias, strict=True))
    )


# ----------------------------------------------------------------------------- truth


def aligned(points: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """(T, J, 3) ``points`` moved by the one rotation and translation that fit ``exact`` best.

    Kabsch on the reconstructed points, refitted once on those within 3 times the median
    distance (a few wild points must not tilt it). Removes the common frame error a wrong
    calibration gives every method, leaving the error of the body's shape and motion.
    """
    done = np.isfinite(points[..., 0])
    a, b = points[done], exact[done]
    keep = np.ones(len(a), dtype=bool)
    for _ in range(2):
        ca, cb = a[keep].mean(axis=0), b[keep].mean(axis=0)
        u, _, vt = np.linalg.svd((a[keep] - ca).T @ (b[keep] - cb))
        d = np.sign(np.linalg.det(u @ vt))
        rotation = u @ np.diag([1.0, 1.0, d]) @ vt
        distance = np.linalg.norm((a - ca) @ rotation + cb - b, axis=-1)
        keep = distance <= 3 * np.median(distance)
    return (points - ca) @ rotation + cb


def truth(method: Method, exact: np.ndarray) -> Truth:
    """``method``'s errors against the exact (T, 33, 3) points."""
    error = np.linalg.norm(method.points3d - exact, axis=-1) * 1000
    moved = np.linalg.norm(aligned(method.points3d, exact) - exact, axis=-1) * 1000
    key, body = error[:, KEY], error
    bone = []
    for ends in BONES.values():
        a, b = (BLAZEPOSE_NAMES.index(end) for end in ends)
        length = np.linalg.norm(method.points3d[:, a] - method.points3d[:, b], axis=-1)
        true = np.linalg.norm(exact[:, a] - exact[:, b], axis=-1)
        bone.append(np.nanmean(np.abs(length - true)) * 1000)
    return Truth(
        key_mean_mm=float(np.nanmean(key)),
        key_median_mm=float(np.nanmedian(key)),
        body_mean_mm=float(np.nanmean(body)),
        body_median_mm=float(np.nanmedian(body)),
        body_p95_mm=float(np.nanpercentile(body, 95)),
        aligned_mm=float(np.nanmean(moved)),
        bone_mm=float(np.mean(bone)),
    )


def truth_table(methods: Sequence[Method], truths: Sequence[Truth]) -> list[str]:
    """One row per method: the true errors."""
    rows = [
        [
            "true 3D error, mm",
            "key mean",
            "key median",
            "body mean",
            "body median",
            "body p95",
            "aligned mean",
            "bone length",
        ]
    ]
    for method, t in zip(methods, truths, strict=True):
        values = (t.key_mean_mm, t.key_median_mm, t.body_mean_mm, t.body_median_mm)
        rows.append(
            [method.name, *(f"{v:.1f}" for v in (*values, t.body_p95_mm, t.aligned_mm, t.bone_mm))]
        )
    return table_lines(rows)


TRUTHS: tuple[tuple[str, Callable[[Truth], float]], ...] = (
    ("key mean", lambda t: t.key_mean_mm),
    ("body mean", lambda t: t.body_mean_mm),
    ("aligned", lambda t: t.aligned_mm),
)
"""The true errors the figures are ranked against."""


def _rho(a: Sequence[float], b: Sequence[float]) -> str:
    """Spearman's rank correlation of ``a`` and ``b``, as text (n/a when one is constant)."""
    if len(set(a)) < 2 or len(set(b)) < 2:
        return "  n/a"
    return f"{spearmanr(a, b).statistic:+.2f}"


def agreement(
    methods: Sequence[Method], results: Sequence[Figures], truths: Sequence[Truth]
) -> list[str]:
    """Per 2D figure: its rank correlation with the true errors, its best and the truest."""
    names = [m.name for m in methods]
    lines = []
    accurate = {
        label: min(zip(names, truths, strict=True), key=lambda p, v=value: v(p[1]))
        for label, value in TRUTHS
    }
    shown = "; ".join(
        f"by true {label}: {name} ({value(t):.1f} mm)"
        for (label, value), (name, t) in zip(TRUTHS, accurate.values(), strict=True)
    )
    lines.append(f"most accurate {shown}")
    lines.append("rho: Spearman against the true key mean / body mean / aligned body mean error")
    rows = []
    for label, value, lower, fmt in FIGURES:
        # oriented so that lower is better: rho +1 = the figure ranks the methods as accuracy
        scores = [round(value(f) if lower else -value(f), 6) for f in results]
        best = min(range(len(scores)), key=lambda i: scores[i])
        ties = [names[i] for i in range(len(scores)) if scores[i] == scores[best]]
        rhos = [_rho(scores, [round(v(t), 6) for t in truths]) for _, v in TRUTHS]
        best_text = ties[0] if len(ties) == 1 else f"{len(ties)} methods tie"
        rows.append([label, *rhos, f"{best_text} ({fmt.format(value(results[best]))})"])
    return lines + table_lines(
        [["2D figure", "rho key", "rho body", "rho aligned", "best by it"], *rows]
    )


# ----------------------------------------------------------------------------- main


def run_block(trial: Trial, rig: CameraRig, exact: np.ndarray, python: Path, work: Path) -> None:
    """Every method on the prepared ``trial`` and ``rig``; print the tables."""
    load = os.getloadavg()[0]
    methods = run_ours(trial, rig) + run_aniposelib(python, rig, trial, work)
    print(
        f"load average before / after: {load:.2f} / {os.getloadavg()[0]:.2f} "
        f"on {os.cpu_count()} CPUs"
    )
    body = np.asarray(trial.keypoints2d, dtype=np.float64)[:, :, :N_BODY]
    results = [figures(method, rig, body) for method in methods]
    truths = [truth(method, exact) for method in methods]
    print()
    print(report(methods, results, rig.names))
    print()
    print("\n".join(truth_table(methods, truths)))
    print()
    print("\n".join(agreement(methods, results, truths)))


def _arguments() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="rig, calibration error, detector")
    parser.add_argument("--frames", type=int, default=200, help="frames (default 200)")
    parser.add_argument(
        "--rotation-deg",
        type=float,
        default=0.4,
        help="each given camera's orientation error, degrees (default 0.4)",
    )
    add_work_arguments(parser, DEFAULT_WORK)
    return parser.parse_args()


def main() -> int:
    """Simulate, reconstruct with every method, print the figures, the truth, the agreement."""
    args = _arguments()
    work = (args.work / f"seed-{args.seed}").resolve()
    work.mkdir(parents=True, exist_ok=True)
    python = ensure_aniposelib(args.venv or SHARED_VENV, work / "aniposelib-pip.log")
    print(
        f"synthetic demo, seed {args.seed}: 4 cameras x {args.frames} frames at {FPS:g} fps; "
        f"{software_version()}"
    )
    trial, rig, exact = make_data(args.seed, args.frames, args.rotation_deg)
    blocks = (
        (f"the true one with every camera turned {args.rotation_deg:g} deg", SETTINGS, "given"),
        (
            "orientations refined by HingeLab (mocap --refine-orientations), for every method",
            replace(SETTINGS, refine_orientations=True),
            "refined",
        ),
    )
    for title, settings, folder in blocks:
        print(f"\n=== calibration: {title}")
        (work / folder).mkdir(parents=True, exist_ok=True)
        run_block(*prepared(trial, rig, settings), exact, python, work / folder)
    print()
    print("\n".join(legend(args.frames)))
    print(
        "true 3D error: distance from the exact point, each method on the points it "
        "reconstructed;\n    aligned: the body mean after the one rigid motion of the whole "
        "trial that fits the truth best\n    (removes the frame error the calibration gives "
        "every method); bone length: mean |length - true length|\n    over the thighs and shanks"
    )
    print("rho: Spearman over the methods, each figure oriented so that +1 = ranks like accuracy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
