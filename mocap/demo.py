"""``mocap demo``: the whole product on a built-in synthetic session, no files needed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datasets.synthetic import DEMO_MOTIONS, ObservationNoise, make_scene, write_scene
from mocap.pipeline import triangulate_file

DEMO_NOISE = ObservationNoise(pixel_sigma=1.5, dropout=0.05)
"""The demo's detector: 1.5 px noise and 5 % of points missed."""


@dataclass(frozen=True)
class DemoResult:
    """What the demo wrote and how well it did.

    Attributes
    ----------
    files : dict of str to Path
        Each output file by role.
    session : str
        One line describing the simulated session.
    mean_error_mm, p95_error_mm, max_error_mm : float
        Distance of the reconstructed keypoints from the exact ones, millimetres: mean,
        95th percentile and maximum over every reconstructed keypoint and frame.
    reconstructed : float
        Fraction of keypoint-frames reconstructed.
    """

    files: dict[str, Path]
    session: str
    mean_error_mm: float
    p95_error_mm: float
    max_error_mm: float
    reconstructed: float


def run_demo(out_dir: str | Path = "hingelab-demo", seed: int = 0) -> DemoResult:
    """Simulate a 4-camera hinge session, triangulate it and compare with the truth.

    Parameters
    ----------
    out_dir : str or Path
        Folder for the outputs (created).
    seed : int
        Seed of the rig and the simulated detector.
    """
    out = Path(out_dir)
    scene = make_scene(DEMO_MOTIONS, n_cameras=4, fps=60.0, seed=seed)
    scene_files = write_scene(scene, out, noise=DEMO_NOISE, seed=seed)
    trial_path = out / "trial.h5"
    trial = triangulate_file(scene_files.keypoints2d, scene_files.calibration, trial_path)
    error = np.linalg.norm(trial.points3d - scene.points3d, axis=-1) * 1000.0
    files = {
        "calibration": scene_files.calibration,
        "2D keypoints": scene_files.keypoints2d,
        "ground truth": scene_files.truth,
        "trial": trial_path,
    }
    reps = scene.session.reps
    session = (
        f"{len(scene.rig)} cameras, {scene.session.fps:g} fps, "
        f"{scene.session.times[-1]:.1f} s, {len(reps)} reps: "
        + ", ".join(rep.motion for rep in reps)
    )
    return DemoResult(
        files=files,
        session=session,
        mean_error_mm=float(np.nanmean(error)),
        p95_error_mm=float(np.nanpercentile(error, 95)),
        max_error_mm=float(np.nanmax(error)),
        reconstructed=float(np.isfinite(error).mean()),
    )
