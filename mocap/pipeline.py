"""Whole steps of the data flow as library calls: what each CLI command runs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

from calibration.camera import CameraRig
from calibration.toml_io import calibration_to_toml, load_calibration
from mocap.trial import Trial, read_trial, write_trial
from mocap.triangulation import triangulate


@dataclass(frozen=True)
class ReconstructionSettings:
    """Every choice of the 2D -> 3D steps, with the defaults of ``mocap process``.

    Recorded in the trial file's ``/processing`` attributes (``as_attrs``).

    Attributes
    ----------
    min_confidence : float
        2D points below this detector confidence are not used.
    max_error_px : float
        A 3D point whose reprojection error exceeds this loses its worst views (while at
        least ``min_views`` remain) and is solved again.
    min_views : int
        Fewest cameras a 3D point needs.
    filter : {"butterworth", "none"}
        Zero-lag low-pass filter of the 3D trajectories.
    cutoff_hz : float
        The filter's cut-off frequency.
    filter_order : int
        The Butterworth filter's order (applied forwards and backwards).
    max_gap_s : float
        Gaps up to this long are filled by cubic splines before filtering.
    median_window : int
        Frames of a median pre-filter against spikes (0: none).
    sync : {"timestamps", "auto", "none"}
        How cameras are put on one time base: recorded timestamps, offsets estimated from
        the 2D keypoints, or frame i of every camera taken as the same instant.
    """

    min_confidence: float = 0.3
    max_error_px: float = 15.0
    min_views: int = 2
    filter: Literal["butterworth", "none"] = "butterworth"
    cutoff_hz: float = 6.0
    filter_order: int = 4
    max_gap_s: float = 0.1
    median_window: int = 0
    sync: Literal["timestamps", "auto", "none"] = "timestamps"

    def as_attrs(self) -> dict[str, str | float | int]:
        """The settings as flat trial-file attributes (``settings.<name>``)."""
        return {f"settings.{k}": v for k, v in asdict(self).items()}


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
