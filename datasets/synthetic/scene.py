"""A whole synthetic capture: rig, subject, motion, true 3D and simulated 2D, as files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calibration.camera import CameraRig
from calibration.toml_io import CalibrationMetadata, calibration_to_toml, save_calibration
from datasets.synthetic.body import BodyShape, FloatArray, body_landmarks
from datasets.synthetic.motions import HingeMotion, Session, hinge_session
from datasets.synthetic.observe import ObservationNoise, observe
from datasets.synthetic.rigs import ring_rig
from mocap.skeleton import HINGELAB_KEYPOINTS
from mocap.trial import Trial, TrialInfo, write_trial

DEMO_MOTIONS: tuple[str, ...] = (
    "good_hinge",
    "good_hinge",
    "squat_hinge",
    "rounded_hinge",
    "cranked_neck_hinge",
)
"""The reps of the demo session: two good hinges, then one of each fault."""


@dataclass(frozen=True, eq=False)
class SyntheticScene:
    """A subject doing reps in front of a rig, with the exact truth.

    Attributes
    ----------
    rig : CameraRig
        The C cameras (their true calibration).
    shape : BodyShape
        Height, position and heading of the subject.
    session : Session
        Joint angles (T frames) and the true rep windows.
    points3d : (T, J, 3) float64 array
        Exact world positions of ``keypoint_names``, metres, Z up.
    keypoint_names : tuple of str
        The J names: 33 BlazePose landmarks, then C7, T12, L3, S1.
    """

    rig: CameraRig
    shape: BodyShape
    session: Session
    points3d: FloatArray
    keypoint_names: tuple[str, ...] = HINGELAB_KEYPOINTS


def make_scene(
    motions: Sequence[str | HingeMotion] = DEMO_MOTIONS,
    n_cameras: int = 4,
    fps: float = 60.0,
    shape: BodyShape | None = None,
    seed: int = 0,
) -> SyntheticScene:
    """Build a scene: a ring of ``n_cameras`` and a subject doing ``motions`` at ``fps``.

    The rig's random variations come from ``seed``; everything else is exact.
    """
    shape = shape or BodyShape()
    session = hinge_session(motions, fps=fps)
    points = body_landmarks(session.pose, shape)
    rig = ring_rig(n_cameras, target_m=(*shape.position_m, 0.9), seed=seed)
    return SyntheticScene(rig=rig, shape=shape, session=session, points3d=points)


@dataclass(frozen=True)
class SceneFiles:
    """Where ``write_scene`` put each file."""

    calibration: Path
    keypoints2d: Path
    truth: Path


def _truth_attrs(scene: SyntheticScene) -> dict[str, str | float | list[float]]:
    """Ground-truth facts stored with the true 3D: rep windows, motions and body shape."""
    reps = scene.session.reps
    return {
        "synthetic_motions": ",".join(rep.motion for rep in reps),
        "synthetic_rep_start_s": [rep.start_s for rep in reps],
        "synthetic_rep_bottom_s": [rep.bottom_s for rep in reps],
        "synthetic_rep_end_s": [rep.end_s for rep in reps],
        "synthetic_height_m": scene.shape.height_m,
        "synthetic_heading_deg": scene.shape.heading_deg,
    }


def write_scene(
    scene: SyntheticScene,
    out_dir: str | Path,
    noise: ObservationNoise | None = None,
    seed: int = 0,
    info: TrialInfo | None = None,
    calibration_name: str = "calibration.toml",
) -> SceneFiles:
    """Write the true calibration, the simulated 2D keypoints and the true 3D.

    Parameters
    ----------
    scene : SyntheticScene
        What to write.
    out_dir : str or Path
        Folder, created if needed.
    noise : ObservationNoise, optional
        Detector errors to simulate; default 1 px noise, nothing dropped.
    seed : int
        Seed of the simulated detector errors.
    info : TrialInfo, optional
        Subject, session, trial and condition labels.
    calibration_name : str
        File name of the true calibration.

    Returns
    -------
    SceneFiles
        The true calibration (``calibration_name``), ``keypoints2d.h5`` (a trial file with
        2D only) and ``truth.h5`` (a trial file with the exact 3D only, plus the true rep windows).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = SceneFiles(out / calibration_name, out / "keypoints2d.h5", out / "truth.h5")
    save_calibration(files.calibration, scene.rig)
    toml_text = calibration_to_toml(scene.rig, CalibrationMetadata.now())
    keypoints2d = observe(scene.rig, scene.points3d, noise or ObservationNoise(), seed)
    common = {
        "fps": scene.session.fps,
        "keypoint_names": scene.keypoint_names,
        "camera_names": scene.rig.names,
        "timestamps": scene.session.times,
        "info": info or TrialInfo(subject="synthetic", session="S01", trial="demo"),
        "calibration_toml": toml_text,
    }
    write_trial(files.keypoints2d, Trial(keypoints2d=keypoints2d, **common))
    truth = Trial(
        points3d=scene.points3d.astype(np.float32), extra_attrs=_truth_attrs(scene), **common
    )
    write_trial(files.truth, truth)
    return files
