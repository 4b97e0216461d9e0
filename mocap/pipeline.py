"""Whole steps of the data flow as library calls: what each CLI command runs."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

from numpy.typing import NDArray

from calibration.camera import CameraRig
from calibration.interop import load_any_calibration
from calibration.toml_io import calibration_from_toml, calibration_to_toml
from mocap.filtering import smooth_trajectories
from mocap.prepare import prepare_keypoints
from mocap.refine_points import mean_error_px, refine_points
from mocap.trial import AttrValue, Trial, read_trial, write_trial
from mocap.triangulation import MAX_SUBSET_CAMERAS, Triangulation, triangulate


@dataclass(frozen=True)
class ReconstructionSettings:
    """Every choice of the 2D -> 3D steps, with the defaults of ``mocap process``.

    Recorded in the trial file's ``/processing`` attributes (``as_attrs``).

    Attributes
    ----------
    min_confidence : float
        2D points below this detector confidence are not used.
    max_error_px : float
        Every view a 3D point uses must re-project within this many pixels. Views that do
        not are dropped: the largest agreeing subset of at least ``min_views`` views is
        kept (``mocap.triangulation``), so one wrong camera cannot pull the point. The
        default 20 px is about 3 times MediaPipe's median scatter on a subject 750 px tall
        (the Pose2Sim demo: 15 px refused 3 % of its body points); detector outliers are
        farther (a bystander, a swapped limb: 30 px and more).
    min_views : int
        Fewest cameras a 3D point needs (>= 2).
    filter : {"butterworth", "none"}
        Zero-lag low-pass filter of the 3D trajectories (gap filling and the median
        pre-filter have their own settings).
    cutoff_hz : float
        The filter's cut-off frequency (below half the frame rate).
    filter_order : int
        The Butterworth filter's order (applied forwards and backwards).
    max_gap_s : float
        Gaps up to this long are filled by cubic splines before filtering (0: none).
    median_window : int
        Frames of a median pre-filter against spikes (0: none; else odd). The default 7
        (0.12 s at 60 fps) reaches across 2-frame gaps: without it a wrong point that no
        frame-by-frame test catches is smeared by the low-pass (170-270 mm seen on the
        synthetic acceptance scenes).
    sync : {"timestamps", "auto", "none"}
        How cameras are put on one time base: recorded timestamps, offsets estimated from
        the 2D keypoints, or frame i of every camera taken as the same instant. Recorded
        only: :func:`reconstruct_trial` takes frame i of every camera as one instant, so
        the caller applies any offsets first.
    min_ray_angle_deg : float
        A 3D point's views must be at least as well conditioned as two rays at this angle
        (nearly opposite or nearly coincident camera pairs fix depth poorly; 0: no check).
    fix_swaps : bool
        Undo a single camera's left/right label swaps, judged by the other cameras
        (``mocap.swaps``; needs 3 cameras).
    refine_orientations : bool
        Refit the camera rotations to the keypoints, keeping the camera centres and
        intrinsics (``mocap.orientations``): for a calibration that no longer fits the
        recording (a camera nudged, a converted calibration). Off by default: reported when
        used, and the trial carries the refined calibration.
    refine_points : bool
        Move each point from its linear (DLT) solution to the minimum of its
        confidence-weighted pixel error over the views it uses (``mocap.refine_points``,
        a few Gauss-Newton steps); the stored reprojection error is then the refined one.
    """

    min_confidence: float = 0.3
    max_error_px: float = 20.0
    min_views: int = 2
    filter: Literal["butterworth", "none"] = "butterworth"
    cutoff_hz: float = 6.0
    filter_order: int = 4
    max_gap_s: float = 0.1
    median_window: int = 7
    sync: Literal["timestamps", "auto", "none"] = "timestamps"
    min_ray_angle_deg: float = 30.0
    fix_swaps: bool = True
    refine_orientations: bool = False
    refine_points: bool = True

    def __post_init__(self) -> None:
        checks = {
            "min_confidence": 0.0 <= self.min_confidence <= 1.0,
            "max_error_px": self.max_error_px > 0,
            "min_views": _is_int(self.min_views) and self.min_views >= 2,
            "filter": self.filter in ("butterworth", "none"),
            "cutoff_hz": 0 < self.cutoff_hz < math.inf,
            "filter_order": _is_int(self.filter_order) and self.filter_order >= 1,
            "max_gap_s": 0 <= self.max_gap_s < math.inf,
            "median_window": _is_int(self.median_window)
            and (self.median_window == 0 or self.median_window % 2 == 1),
            "sync": self.sync in ("timestamps", "auto", "none"),
            "min_ray_angle_deg": 0 <= self.min_ray_angle_deg < 90,
            "fix_swaps": isinstance(self.fix_swaps, bool),
            "refine_orientations": isinstance(self.refine_orientations, bool),
            "refine_points": isinstance(self.refine_points, bool),
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in bad)
            msg = f"invalid reconstruction settings: {shown} (see ReconstructionSettings)"
            raise ValueError(msg)

    def as_attrs(self) -> dict[str, str | float | int]:
        """The settings as flat trial-file attributes (``settings.<name>``)."""
        return {f"settings.{k}": _attr(v) for k, v in asdict(self).items()}


def _attr(value: object) -> str | float | int:
    """A setting as an HDF5 attribute value (booleans as 0/1)."""
    return int(value) if isinstance(value, bool) else value  # type: ignore[return-value]


def _is_int(value: object) -> bool:
    """Whether ``value`` is an int (and not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _rig_for_trial(rig: CameraRig, trial: Trial, calibration: Path | str) -> CameraRig:
    """The calibration's cameras in the trial's camera order; names a missing camera."""
    missing = [name for name in trial.camera_names if name not in rig.names]
    if missing:
        msg = (
            f"{calibration}: has no camera {', '.join(missing)} (it has "
            f"{', '.join(rig.names)}); the trial's cameras are {', '.join(trial.camera_names)}"
        )
        raise ValueError(msg)
    return rig.subset(trial.camera_names)


def reconstruct_trial(
    trial: Trial, rig: CameraRig, settings: ReconstructionSettings = ReconstructionSettings()
) -> Trial:
    """Return ``trial`` with ``points3d``, ``reprojection_error`` and ``n_views`` filled in.

    The 2D keypoints are triangulated robustly (``mocap.triangulation.triangulate`` with the
    settings' ``min_confidence``, ``max_error_px``, ``min_views`` and ``min_ray_angle_deg``),
    then smoothed (``mocap.filtering.smooth_trajectories``: median pre-filter, gap filling,
    Butterworth low-pass at ``trial.fps``). ``points3d`` holds the smoothed points;
    ``reprojection_error`` and ``n_views`` describe the triangulation, so a point filled in a
    gap has ``n_views`` 0 and a NaN error. The trial's ``extra_attrs`` get every setting
    (``settings.as_attrs()``) and the counts of what each step did (``triangulation_*``,
    ``filter_*``).

    Frame i of every camera is taken as one instant: ``settings.sync`` is only recorded.
    With ``sync="auto"`` the caller estimates the cameras' offsets and applies them to
    ``keypoints2d`` first; this function does not.

    Parameters
    ----------
    trial : Trial
        A trial with ``keypoints2d`` (C, T, J, 3).
    rig : CameraRig
        A calibration holding every camera of the trial (by name, in any order).
    settings : ReconstructionSettings
        Every choice of the 2D -> 3D steps.

    Returns
    -------
    Trial
        The trial with (T, J, 3) ``points3d`` and (T, J) ``reprojection_error`` and
        ``n_views``.
    """
    if trial.keypoints2d is None:
        msg = "the trial has no keypoints2d to triangulate"
        raise ValueError(msg)
    rig = _rig_for_trial(rig, trial, "the calibration")
    result, points, error = triangulate_refined(rig, trial.keypoints2d, settings)
    smooth = smooth_trajectories(
        points,
        trial.fps,
        lowpass=settings.filter == "butterworth",
        cutoff_hz=settings.cutoff_hz,
        order=settings.filter_order,
        max_gap_s=settings.max_gap_s,
        median_window=settings.median_window,
    )
    method = "dlt-subsets" if len(rig) <= MAX_SUBSET_CAMERAS else "dlt-leave-one-out"
    attrs: dict[str, AttrValue] = {**settings.as_attrs(), "triangulation_method": method}
    attrs |= {f"triangulation_{key}": value for key, value in result.counts().items()}
    attrs |= {
        "filter_gaps_filled": smooth.gaps_filled,
        "filter_frames_filled": smooth.frames_filled,
        "filter_runs_filtered": smooth.runs_filtered,
        "filter_runs_unfiltered": smooth.runs_unfiltered,
        "filter_frames_unfiltered": smooth.frames_unfiltered,
    }
    return trial.with_points3d(smooth.points3d, error, result.n_views, extra_attrs=attrs)


def triangulate_refined(
    rig: CameraRig, keypoints2d: NDArray, settings: ReconstructionSettings
) -> tuple[Triangulation, NDArray, NDArray]:
    """The 3D steps before filtering: robust triangulation, then ``refine_points`` when on.

    Parameters
    ----------
    rig : CameraRig
        The C cameras, in the order of ``keypoints2d``'s first axis.
    keypoints2d : (C, T, J, 3) float array
        Pixel x, y and confidence.
    settings : ReconstructionSettings
        ``min_confidence``, ``max_error_px``, ``min_views``, ``min_ray_angle_deg`` and
        ``refine_points`` are used.

    Returns
    -------
    result : Triangulation
        The robust triangulation (views used, counts).
    points : (T, J, 3) float64 array
        Refined points (the triangulation's when refinement is off), metres.
    error : (T, J) float64 array
        Their mean reprojection error over the views used, pixels.
    """
    result = triangulate(
        rig,
        keypoints2d,
        settings.min_confidence,
        max_error_px=settings.max_error_px,
        min_views=settings.min_views,
        min_ray_angle_deg=settings.min_ray_angle_deg,
    )
    if not settings.refine_points:
        return result, result.points3d, result.reprojection_error
    points = refine_points(rig, keypoints2d, result.points3d, result.used)
    return result, points, mean_error_px(rig, keypoints2d, points, result.used)


def _frame_range(trial: Trial, frames: tuple[int | None, int | None], source: Path) -> Trial:
    """Frames ``start:stop`` of ``trial`` (Python slice rules), timestamps unchanged."""
    start, stop, _ = slice(*frames).indices(trial.n_frames)
    if stop <= start:
        shown = ":".join("" if f is None else str(f) for f in frames)
        msg = f"{source}: frames {shown} select none of its {trial.n_frames} frames"
        raise ValueError(msg)
    part = slice(start, stop)
    arrays = {
        name: None if getattr(trial, name) is None else getattr(trial, name)[part]
        for name in ("timestamps", "points3d", "reprojection_error", "n_views")
    }
    keypoints2d = None if trial.keypoints2d is None else trial.keypoints2d[:, part]
    attrs = {**trial.extra_attrs, "source_frame_start": start, "source_frame_stop": stop}
    return replace(trial, **arrays, keypoints2d=keypoints2d, extra_attrs=attrs, metrics=None)


ENCODER_CROP_PX = 16
"""A video may lack fewer than this many columns/rows of its calibrated image.

Video encoders code whole 16x16 blocks and may crop what lies beyond the picture at the
right/bottom edge; ``mocap process`` and ``mocap triangulate`` accept such a video with the
calibration as it is (``mocap.process_job``'s module doc)."""


def fits_calibration(size: tuple[int, int], calibrated: tuple[int, int]) -> bool:
    """Whether an image of ``size`` (w, h) is the ``calibrated`` one, or it encoder-cropped."""
    return all(0 <= c - s < ENCODER_CROP_PX for s, c in zip(size, calibrated, strict=True))


def _read_keypoints(path: Path, rig: CameraRig, fps: float) -> Trial:
    """A trial file, or an OpenPose-style JSON folder read with the rig's camera names."""
    from datasets.readers.openpose import is_openpose_folder, read_openpose_folder  # noqa: PLC0415

    if not is_openpose_folder(path):
        return read_trial(path)
    trial = read_openpose_folder(path, fps=fps)
    if set(trial.camera_names) <= set(rig.names) or len(trial.camera_names) != len(rig):
        return trial
    return read_openpose_folder(path, camera_names=rig.names, fps=fps)


def _recorded_sizes(trial: Trial, source: Path) -> dict[str, tuple[int, int]]:
    """Image sizes the 2D file records: ``mocap detect``'s attributes, else its calibration."""
    width = trial.extra_attrs.get("detection_image_width")
    height = trial.extra_attrs.get("detection_image_height")
    if isinstance(width, tuple) and isinstance(height, tuple) and len(width) == trial.n_cameras:
        return {
            name: (int(w), int(h))
            for name, w, h in zip(trial.camera_names, width, height, strict=True)
        }
    if not trial.calibration_toml:
        return {}
    try:
        recorded, _ = calibration_from_toml(trial.calibration_toml, str(source))
    except (ValueError, KeyError):
        return {}
    return {camera.name: camera.size for camera in recorded}


def _check_image_sizes(rig: CameraRig, trial: Trial, calibration: Path, source: Path) -> None:
    """Refuse a calibration whose image sizes differ from those the 2D file records.

    ``mocap detect`` records them as attributes; other 2D trial files in their embedded
    ``calibration_toml`` (if any). A file recording neither is not checked.
    """
    recorded = _recorded_sizes(trial, source)
    for camera in rig:
        if camera.name in recorded and not fits_calibration(recorded[camera.name], camera.size):
            w, h = camera.size
            rw, rh = recorded[camera.name]
            msg = (
                f"{calibration}: camera {camera.name} is calibrated for {w}x{h} px images but "
                f"{source} was detected on {rw}x{rh} px images"
            )
            raise ValueError(msg)


def triangulate_file(
    keypoints_path: str | Path,
    calibration_path: str | Path,
    out_path: str | Path,
    settings: ReconstructionSettings = ReconstructionSettings(),
    *,
    frames: tuple[int | None, int | None] | None = None,
    fps: float = 30.0,
    offsets: Mapping[str, int] | None = None,
    progress: bool = False,
) -> Trial:
    """Reconstruct a trial file with ``keypoints2d`` and write the result atomically.

    The 2D steps of :func:`mocap.prepare.prepare_keypoints` (swaps, sync, optionally
    orientations) run first, as in ``mocap process``; a file whose frames ``mocap detect``
    paired by timestamps counts as synchronised.

    Parameters
    ----------
    keypoints_path : str or Path
        Trial file with (C, T, J, 3) ``keypoints2d``, or a Pose2Sim/OpenPose-style folder
        of per-frame JSON files per camera (``datasets.readers.openpose``; camera
        subfolders named after the calibration's cameras, else taken in natural order).
    calibration_path : str or Path
        Any calibration ``calibration.interop.load_any_calibration`` reads (HingeLab,
        anipose or Pose2Sim TOML, caliscope, Qualisys); it must hold every camera of the
        trial, with the image sizes the 2D file records.
    out_path : str or Path
        Trial file to write (2D, 3D and the calibration used).
    settings : ReconstructionSettings
        Every choice of the 2D -> 3D steps (:func:`reconstruct_trial`).
    frames : (start, stop) tuple of int or None, optional
        Only these frames (Python slice rules, stop exclusive); their timestamps are
        kept and ``source_frame_start`` / ``source_frame_stop`` recorded.
    fps : float
        Frame rate of JSON input (a trial file records its own).
    offsets : mapping of str to int, optional
        Known time offsets in frames per camera (``mocap.offsets``'s sign).
    progress : bool
        Notes on stderr.

    Returns
    -------
    Trial
        The written trial.
    """
    keypoints_path, calibration_path = Path(keypoints_path), Path(calibration_path)
    rig, metadata = load_any_calibration(calibration_path)
    trial = _read_keypoints(keypoints_path, rig, fps)
    if frames is not None:
        trial = _frame_range(trial, frames, keypoints_path)
    rig = _rig_for_trial(rig, trial, calibration_path)
    _check_image_sizes(rig, trial, calibration_path, keypoints_path)
    timed = trial.extra_attrs.get("detection_pairing") == "timestamps"
    prepared = prepare_keypoints(
        trial, rig, settings, offsets=offsets, timed=timed, progress=progress
    )
    result = reconstruct_trial(prepared.trial, prepared.rig, settings)
    # the trial carries the calibration its 3D came from, not the one its 2D file had
    errors = {name: value for name, value in metadata.errors.items() if name in rig.names}
    toml_text = calibration_to_toml(prepared.rig, replace(metadata, errors=errors))
    attrs = {**result.extra_attrs, **prepared.attrs}
    result = replace(result, calibration_toml=toml_text, extra_attrs=attrs)
    write_trial(out_path, result)
    return result
