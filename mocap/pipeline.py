"""Whole steps of the data flow as library calls: what each CLI command runs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from calibration.camera import CameraRig
from calibration.toml_io import calibration_to_toml, load_calibration
from mocap.trial import Trial, read_trial, write_trial
from mocap.triangulation import triangulate


def _rig_for_trial(rig: CameraRig, trial: Trial, calibration: Path) -> CameraRig:
    """The calibration's cameras in the trial's camera order; names a missing camera."""
    missing = [name for name in trial.camera_names if name not in rig.names]
    if missing:
        msg = (
            f"{calibration}: has no camera {', '.join(missing)} (it has "
            f"{', '.join(rig.names)}); the trial's cameras are {', '.join(trial.camera_names)}"
        )
        raise ValueError(msg)
    return rig.subset(trial.camera_names)


def reconstruct_trial(trial: Trial, rig: CameraRig, min_confidence: float = 0.3) -> Trial:
    """Return ``trial`` with ``points3d``, ``reprojection_error`` and ``n_views`` filled in.

    Parameters
    ----------
    trial : Trial
        A trial with ``keypoints2d`` (C, T, J, 3).
    rig : CameraRig
        The C cameras in the trial's camera order.
    min_confidence : float
        2D points below this confidence are not used.
    """
    if trial.keypoints2d is None:
        msg = "the trial has no keypoints2d to triangulate"
        raise ValueError(msg)
    result = triangulate(rig, trial.keypoints2d, min_confidence=min_confidence)
    return trial.with_points3d(
        result.points3d,
        result.reprojection_error,
        result.n_views,
        extra_attrs={"triangulation": "dlt", "min_confidence": min_confidence},
    )


def triangulate_file(
    keypoints_path: str | Path, calibration_path: str | Path, out_path: str | Path
) -> Trial:
    """Triangulate a trial file with ``keypoints2d`` and write the result atomically.

    Returns the written trial.
    """
    calibration_path = Path(calibration_path)
    rig, metadata = load_calibration(calibration_path)
    trial = read_trial(keypoints_path)
    rig = _rig_for_trial(rig, trial, calibration_path)
    result = reconstruct_trial(trial, rig)
    # the trial carries the calibration its 3D came from, not the one its 2D file had
    result = replace(result, calibration_toml=calibration_to_toml(rig, metadata))
    write_trial(out_path, result)
    return result
