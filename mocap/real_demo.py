"""``mocap demo --real DIR``: the processing job on a real recording in Pose2Sim's demo layout.

The layout (``../shared/datasets/pose2sim_demo_singleperson`` is one): ``DIR/videos/`` with
one video per camera, ``DIR/calibration/`` with the calibration (a Qualisys ``.qca.txt``, or
any TOML our readers take). The trial and a per-keypoint summary go to the output folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap.skeleton import BLAZEPOSE_NAMES
from mocap.sources import RecordingError

CALIBRATION_PATTERNS = ("*.qca.txt", "*.toml")
"""Calibration files looked for in ``DIR/calibration``, in this order of preference."""
KEY_JOINTS = (
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_shoulder",
    "right_shoulder",
    "left_ear",
    "right_ear",
)
"""The joints the hinge metrics need: reported one by one."""


@dataclass(frozen=True)
class RealDemoResult:
    """What the real-data demo wrote and how complete its 3D is.

    Attributes
    ----------
    trial : Path
        The trial file written.
    calibration : Path
        The calibration used.
    reconstructed : dict of str to float
        Fraction of frames with a 3D point, per key joint.
    median_error_px : float
        Median reprojection error of the reconstructed body keypoints.
    lines : tuple of str
        The processing job's own summary.
    """

    trial: Path
    calibration: Path
    reconstructed: dict[str, float]
    median_error_px: float
    lines: tuple[str, ...]


def find_layout(folder: str | os.PathLike[str]) -> tuple[Path, Path]:
    """The videos folder and calibration file of a Pose2Sim-style recording folder.

    Raises
    ------
    RecordingError
        Naming the folder and what is missing.
    """
    root = Path(folder)
    videos = root / "videos"
    if not videos.is_dir():
        msg = f"{root}: no videos/ folder (the Pose2Sim demo layout: videos/, calibration/)"
        raise RecordingError(msg)
    for pattern in CALIBRATION_PATTERNS:
        found = sorted((root / "calibration").glob(pattern))
        if found:
            return videos, found[0]
    msg = f"{root / 'calibration'}: no calibration file ({', '.join(CALIBRATION_PATTERNS)})"
    raise RecordingError(msg)


def run_real_demo(
    folder: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] = "hingelab-real-demo",
    progress: bool = True,
) -> RealDemoResult:
    """Process a real recording (``find_layout``) into ``out_dir/trial.h5``.

    Offsets between the cameras are estimated from the keypoints (the Pose2Sim demo's
    cameras are a few frames apart), and the camera orientations are refitted to the
    keypoints (``refine_orientations``: the demo's Qualisys calibration leaves a median
    all-view error of 12 px, 7 px after turning its cameras by about 1 degree), reported.
    """
    from mocap.pipeline import ReconstructionSettings  # noqa: PLC0415 (heavy imports)
    from mocap.process_job import process_recording, summary  # noqa: PLC0415
    from mocap.trial import TrialInfo  # noqa: PLC0415

    videos, calibration = find_layout(folder)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    info = TrialInfo(subject=Path(folder).name, session="real-demo", trial="1")
    trial = process_recording(
        videos,
        calibration,
        out / "trial.h5",
        settings=ReconstructionSettings(sync="auto", refine_orientations=True),
        info=info,
        progress=progress,
    )
    done = np.isfinite(trial.points3d[..., 0])
    names = list(trial.keypoint_names)
    reconstructed = {j: float(done[:, names.index(j)].mean()) for j in KEY_JOINTS}
    body = trial.reprojection_error[:, : len(BLAZEPOSE_NAMES)]
    median = float(np.nanmedian(body)) if np.isfinite(body).any() else float("nan")
    return RealDemoResult(
        out / "trial.h5", calibration, reconstructed, median, tuple(summary(trial))
    )
