"""``mocap demo``: the whole product on a built-in synthetic session, no files needed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calibration.boards import default_lab_board, save_board
from calibration.report import write_calibration_report
from calibration.toml_io import save_calibration
from datasets.synthetic import DEMO_MOTIONS, ObservationNoise, make_scene, write_scene
from datasets.synthetic.board_recording import write_calibration_session
from mocap.calibrate_job import calibrate_recording
from mocap.hinge.analysis import RepResult
from mocap.hinge.job import analyse_file
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
    board_size_rms_mm : float
        The calibration's board-size check (RMS error of neighbouring corner distances).
    camera_error_mm : float
        Largest distance of a calibrated camera centre from the true one, millimetres.
    reps : tuple of str
        One line per rep the hinge analysis found: time, pattern, key angles, faults.
    """

    files: dict[str, Path]
    session: str
    mean_error_mm: float
    p95_error_mm: float
    max_error_mm: float
    reconstructed: float
    board_size_rms_mm: float
    camera_error_mm: float
    reps: tuple[str, ...] = ()


SCREENSHOT_TIMEOUT_S = 300.0
"""The viewer screenshot gives up after this long (seconds)."""


def viewer_screenshot(trial: Path, png: Path, at: float) -> tuple[Path | None, str]:
    """The viewer's window on ``trial`` at ``at`` seconds as a PNG (``mocap view --screenshot``).

    Run in a child process, so that a missing display or OpenGL cannot stop the demo;
    under ``xvfb-run`` when there is no display and Xvfb is installed.

    Returns
    -------
    path : Path or None
        The PNG written, or None.
    reason : str
        Why not, in one line ("" when written).
    """
    command = [sys.executable, "-m", "mocap", "view", str(trial), "--screenshot", str(png)]
    xvfb_run = shutil.which("xvfb-run")
    if not os.environ.get("DISPLAY") and xvfb_run:
        # no display (a server, CI): a virtual one, as the tests use (run.py installs Xvfb)
        command = [xvfb_run, "-a", "-s", "-screen 0 1600x1000x24", *command]
    try:
        done = subprocess.run(
            [*command, "--at", f"{at:.3f}"],
            capture_output=True,
            text=True,
            check=False,
            timeout=SCREENSHOT_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return None, f"the viewer did not finish within {SCREENSHOT_TIMEOUT_S:g} s"
    if done.returncode == 0 and png.is_file():
        return png, ""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    last = lines[-1].removeprefix("mocap view: error: ") if lines else ""
    return None, last or f"the viewer exited with code {done.returncode}"


def run_demo(
    out_dir: str | Path = "hingelab-demo", seed: int = 0, progress: bool = True
) -> DemoResult:
    """Calibrate a 4-camera rig from rendered board images, reconstruct a hinge session, analyse it.

    The board images are rendered through the true lenses (``datasets.synthetic``) and
    calibrated exactly as a lab's recording would be (``mocap calibrate``); the subject's
    2D keypoints are simulated with the true cameras and triangulated with the estimated
    calibration, so the 3D error includes the calibration's. The hinge analysis of the
    trial (``mocap hinge``) writes its report and per-rep CSV and stores ``/metrics``;
    last, the viewer's window at the first rep's bottom is saved as ``viewer.png`` (without
    a display, one line on stderr says why not, and the demo goes on).

    Parameters
    ----------
    out_dir : str or Path
        Folder for the outputs (created).
    seed : int
        Seed of the rig, the board's path, the image noise and the simulated detector.
    progress : bool
        Show progress bars on stderr.
    """
    out = Path(out_dir)
    scene = make_scene(DEMO_MOTIONS, n_cameras=4, fps=60.0, seed=seed)
    scene_files = write_scene(
        scene, out, noise=DEMO_NOISE, seed=seed, calibration_name="true-calibration.toml"
    )
    board = default_lab_board()
    board_file = save_board(out / "board.toml", board)
    recording = write_calibration_session(
        out / "calibration-recording", scene.rig, board, seed=seed, workers=2, progress=progress
    )
    calibration, views = calibrate_recording(
        recording.extrinsic, board, intrinsics_folder=recording.intrinsic, progress=progress
    )
    calibration_path = out / "calibration.toml"
    save_calibration(calibration_path, calibration.rig, calibration.metadata)
    report = out / "calibration.html"
    write_calibration_report(calibration, views, board, report)
    trial_path = out / "trial.h5"
    trial = triangulate_file(scene_files.keypoints2d, calibration_path, trial_path)
    error = np.linalg.norm(trial.points3d - scene.points3d, axis=-1) * 1000.0
    hinge = analyse_file(trial_path, csv=out / "hinge-reps.csv", report=out / "hinge-report.html")
    at = hinge.analysis.reps[0].bottom_s if hinge.analysis.reps else 0.0
    screenshot, why_not = viewer_screenshot(trial_path, out / "viewer.png", at)
    if screenshot is None:
        print(f"mocap demo: no viewer screenshot: {why_not}", file=sys.stderr)
    files = {
        "board": board_file,
        "board images": recording.extrinsic.parent,
        "calibration": calibration_path,
        "report": report,
        "true cameras": scene_files.calibration,
        "2D keypoints": scene_files.keypoints2d,
        "ground truth": scene_files.truth,
        "trial": trial_path,
        "hinge report": hinge.written["report"],
        "hinge reps CSV": hinge.written["reps CSV"],
        **({"screenshot": screenshot} if screenshot is not None else {}),
    }
    reps = scene.session.reps
    session = (
        f"{len(scene.rig)} cameras, {scene.session.fps:g} fps, "
        f"{scene.session.times[-1]:.1f} s, {len(reps)} reps: "
        + ", ".join(rep.motion for rep in reps)
    )
    centres = [
        np.linalg.norm(est.center - tru.center) * 1000.0
        for est, tru in zip(calibration.rig, scene.rig, strict=True)
    ]
    return DemoResult(
        files=files,
        session=session,
        mean_error_mm=float(np.nanmean(error)),
        p95_error_mm=float(np.nanpercentile(error, 95)),
        max_error_mm=float(np.nanmax(error)),
        reconstructed=float(np.isfinite(error).mean()),
        board_size_rms_mm=calibration.quality.rms_mm,
        camera_error_mm=float(max(centres)),
        reps=tuple(_rep_line(rep) for rep in hinge.analysis.reps),
    )


def _rep_line(rep: RepResult) -> str:
    """``rep 1 at 2.9 s: hinge; hip 94, knee 25, trunk 72 deg; back/down 4.3; faults: none``."""
    v = rep.values
    return (
        f"rep {rep.rep} at {rep.bottom_s:.1f} s: {rep.pattern or '?'}; hip "
        f"{v['hip_flexion_deg']:.0f}, knee {v['knee_flexion_deg']:.0f}, trunk "
        f"{v['trunk_flexion_deg']:.0f} deg; back/down {v['hinge_ratio']:.1f}; "
        f"faults: {rep.fault_codes.replace(';', ', ') or 'none'}"
    )
