"""The 2D steps before triangulation, shared by ``mocap process`` and ``mocap triangulate``.

In order, each recorded in the trial's ``/processing`` attributes:

1. left/right swaps of single cameras undone (``settings.fix_swaps``, :mod:`mocap.swaps`);
2. the cameras put on one time line (``settings.sync``): recorded timestamps, offsets
   given by the user, or offsets estimated from the keypoints (:mod:`mocap.offsets`);
3. optionally the camera orientations refitted to the keypoints
   (``settings.refine_orientations``, :mod:`mocap.orientations`); the trial then carries
   the refined calibration.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from calibration.camera import CameraRig
from mocap import offsets as offsets_module
from mocap.orientations import refine_orientations
from mocap.swaps import fix_left_right_swaps
from mocap.trial import Trial

if TYPE_CHECKING:  # pipeline imports this module
    from mocap.pipeline import ReconstructionSettings

MAX_OFFSET_S = 0.25
"""Largest time offset between cameras searched by ``sync="auto"``, seconds."""


@dataclass(frozen=True)
class Prepared:
    """The trial and cameras ready for :func:`mocap.pipeline.reconstruct_trial`.

    Attributes
    ----------
    trial : Trial
        keypoints2d corrected and shifted onto one time line.
    rig : CameraRig
        The cameras to triangulate with (refined when asked).
    attrs : dict
        What each step did (``swaps.*``, ``sync.*``, ``orientations.*``).
    """

    trial: Trial
    rig: CameraRig
    attrs: dict[str, Any]


def note(message: str, progress: bool) -> None:
    """A line on stderr (when the caller shows progress)."""
    if progress:
        print(f"note: {message}", file=sys.stderr)


def prepare_keypoints(
    trial: Trial,
    rig: CameraRig,
    settings: ReconstructionSettings,
    *,
    offsets: Mapping[str, int] | None = None,
    timed: bool = False,
    progress: bool = True,
) -> Prepared:
    """Swaps, sync and (optionally) orientations, in that order (module doc).

    Parameters
    ----------
    trial : Trial
        keypoints2d (C, T, J, 3), cameras named and ordered as in ``rig``.
    rig : CameraRig
        The trial's cameras.
    settings : ReconstructionSettings
        ``fix_swaps``, ``sync``, ``min_confidence`` and ``refine_orientations`` are used.
    offsets : mapping of str to int, optional
        Known offsets in frames per camera (:mod:`mocap.offsets`'s sign); replace the
        estimate.
    timed : bool
        Whether frames were paired by recorded timestamps.
    progress : bool
        Notes on stderr.

    Returns
    -------
    Prepared
    """
    attrs: dict[str, Any] = {}
    if settings.fix_swaps:
        fixed = fix_left_right_swaps(rig, trial.keypoints2d, trial.keypoint_names)
        note(fixed.message, progress)
        trial = dataclasses.replace(trial, keypoints2d=fixed.keypoints2d)
        attrs |= fixed.as_attrs()
    trial, sync_attrs = synchronise(trial, rig, settings, offsets, timed, progress)
    attrs |= sync_attrs
    if settings.refine_orientations:
        refined = refine_orientations(rig, trial.keypoints2d, max(settings.min_confidence, 0.5))
        note(refined.message, progress)
        rig = refined.rig
        attrs |= refined.as_attrs()
    return Prepared(trial, rig, attrs)


def _shifted(trial: Trial, offsets: Mapping[str, int]) -> Trial:
    """``trial`` with each camera's frames shifted by its offset (:mod:`mocap.offsets`)."""
    keypoints = offsets_module.apply_offsets(trial.keypoints2d, offsets, trial.camera_names)
    return dataclasses.replace(trial, keypoints2d=keypoints)


def _estimate(trial: Trial, rig: CameraRig, progress: bool) -> tuple[Trial, dict]:
    """Estimate the cameras' offsets and apply them when the estimate is trusted."""
    span = max(1, round(MAX_OFFSET_S * trial.fps))
    estimate = offsets_module.estimate_offsets(
        rig, trial.keypoints2d, trial.fps, max_offset_frames=span
    )
    note(f"time offsets: {estimate.message}", progress)
    attrs = dict(estimate.as_attrs())
    if not estimate.success:
        return trial, attrs
    return _shifted(trial, estimate.offsets_frames), attrs


def synchronise(
    trial: Trial,
    rig: CameraRig,
    settings: ReconstructionSettings,
    offsets: Mapping[str, int] | None,
    timed: bool,
    progress: bool = True,
) -> tuple[Trial, dict[str, Any]]:
    """Put the cameras on one time line; returns the trial and ``sync.*`` attrs.

    Parameters
    ----------
    trial : Trial
        keypoints2d (C, T, J, 3), cameras named as in ``rig``.
    rig : CameraRig
        The trial's cameras, in its order.
    settings : ReconstructionSettings
        ``settings.sync`` chooses the method: ``timestamps`` (estimated when the frames
        were not paired by time), ``auto`` (always estimated) or ``none``.
    offsets : mapping of str to int, optional
        Frames per calibrated camera, :mod:`mocap.offsets`'s sign: camera ``c``'s frame
        ``f`` shows the first camera's frame ``f + offset``.
    timed : bool
        Whether the frames were paired by recorded timestamps.
    """
    if offsets is not None:
        return _shifted(trial, offsets), {
            "sync.method": "given_offsets",
            "sync.offsets_frames": tuple(offsets.values()),
        }
    estimate = settings.sync == "auto" or (settings.sync == "timestamps" and not timed)
    if not estimate:
        return trial, {"sync.method": "timestamps" if timed else "frame_index"}
    if not timed:
        note("no timestamps: estimating the cameras' time offsets from the keypoints", progress)
    return _estimate(trial, rig, progress)
