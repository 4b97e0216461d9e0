"""A recording folder and its calibration to a trial file with 3D: ``mocap process``.

:func:`process_recording` runs the whole data flow: every input is checked first (the
calibration, a video per calibrated camera and a camera per video, image sizes), then 2D
detection (:func:`mocap.detect_job.run_detection`), time synchronisation, 3D reconstruction
(:func:`mocap.pipeline.reconstruct_trial`: robust triangulation and filtering) and one
atomic write (:func:`mocap.trial.write_trial`). Any error leaves no file at ``out``.

Cameras are matched by name: a video's stem is the name of its camera in the calibration
(``cam01.mp4`` for the Qualisys camera of serial ``cam01``; ``trial3_cam01.mp4`` matches too,
holding it as a whole word). When no video is named after any calibrated camera but there
are as many videos as cameras, they are paired in natural name order and a note says so.

Image sizes: a video must have the calibrated image size, except that it may lack fewer
than 16 columns or rows at the right or bottom: video encoders code whole 16x16 blocks and
crop what lies beyond the picture there (the Pose2Sim demo's cam01 and cam02 videos are
1080 pixels wide, their Qualisys calibration 1088). Pixel coordinates are unchanged by such
a crop, so the calibration applies as it is; a note says so.

Synchronisation (``settings.sync``, :mod:`mocap.offsets` for the estimate):

- given ``offsets`` (frames per camera): applied as given;
- ``"auto"``, or ``"timestamps"`` when the folder has no timestamps: each camera's offset
  in whole frames is estimated from the 2D keypoints and applied when the estimate is
  trusted (otherwise frame i of every camera is taken as one instant, with a note);
- ``"none"`` or timestamps present: frames as paired (by time, or by index).

Offsets shift the frames detected: with a frame range, a camera shifted by k frames has no
data for the first (or last) k frames of the range.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import numpy as np

from calibration.camera import CameraRig
from calibration.interop import load_any_calibration
from calibration.toml_io import CalibrationMetadata, calibration_to_toml
from mocap import detect_job
from mocap.detect_job import (
    DetectionRecording,
    FrameRange,
    default_workers,
    open_detection_recording,
    run_detection,
    worker_pool,
)
from mocap.keypoints import DetectorFactory
from mocap.markers import DEFAULT_MARKERS, MarkerSet
from mocap.pipeline import ReconstructionSettings, fits_calibration, reconstruct_trial
from mocap.prepare import note, prepare_keypoints
from mocap.prepare import synchronise as synchronise  # noqa: PLC0414 (benchmarks import it here)
from mocap.skeleton import BLAZEPOSE_NAMES
from mocap.sources import RecordingError, natural_key
from mocap.trial import Trial, TrialInfo, write_trial

N_BODY = len(BLAZEPOSE_NAMES)
"""Body keypoints (BlazePose's) before the spine markers."""
DEFAULT_SETTINGS = ReconstructionSettings()
"""The defaults of ``mocap process``."""
NO_INFO = TrialInfo()
"""Empty subject, session, trial and condition labels."""


def check_output(path: Path, what: str = "trial file") -> None:
    """Refuse an output path that is a folder or whose folder is missing (before working)."""
    if path.is_dir():
        raise ValueError(f"{what} {path} is a folder; give a file name")
    if not path.parent.is_dir():
        raise ValueError(f"cannot write {what} {path}: folder {path.parent} does not exist")


# ----------------------------------------------------------------------------- cameras


def _whole_word(name: str, candidates: Sequence[str], taken: set[str]) -> str | None:
    """The only free calibrated camera whose name ``name`` holds as a whole word."""
    hits = [
        c
        for c in candidates
        if c not in taken and re.search(rf"(?<![0-9A-Za-z]){re.escape(c)}(?![0-9A-Za-z])", name)
    ]
    return hits[0] if len(hits) == 1 else None


def match_cameras(
    videos: Sequence[str], calibrated: Sequence[str]
) -> tuple[dict[str, str], str | None]:
    """Pair each video (camera recording) with a calibrated camera.

    Parameters
    ----------
    videos : sequence of str
        Names (stems) of the recordings.
    calibrated : sequence of str
        Camera names of the calibration.

    Returns
    -------
    mapping : dict of str to str
        Recording name -> calibrated camera name, for the recordings matched (a recording
        named like a camera, else holding one camera's name as a whole word; else, when
        none matched and the counts agree, every recording in natural name order).
    note : str or None
        What was assumed, when the natural order was used.
    """
    mapping: dict[str, str] = {v: v for v in videos if v in calibrated}
    for video in videos:
        if video not in mapping:
            found = _whole_word(video, calibrated, set(mapping.values()))
            if found is not None:
                mapping[video] = found
    if mapping or len(videos) != len(calibrated):
        return mapping, None
    ordered = sorted(calibrated, key=natural_key)
    mapping = dict(zip(sorted(videos, key=natural_key), ordered, strict=True))
    pairs = ", ".join(f"{v} -> {c}" for v, c in mapping.items())
    return mapping, f"no video is named after a calibrated camera; paired in name order: {pairs}"


def _check_cameras(
    mapping: Mapping[str, str],
    recording: DetectionRecording,
    rig: CameraRig,
    calibration: Path,
) -> None:
    """Refuse a recording without a calibrated camera, or a calibrated camera without video."""
    for video, source in recording.sources.items():
        if video not in mapping:
            where = getattr(source, "path", None) or recording.folder / video
            raise RecordingError(
                f"{where}: camera {video!r} is not in the calibration {calibration} "
                f"(it has {', '.join(rig.names)})"
            )
    used = set(mapping.values())
    for name in rig.names:
        if name not in used:
            raise RecordingError(
                f"{recording.folder}: no video of camera {name!r} of the calibration "
                f"{calibration} (found: {', '.join(recording.sources)})"
            )


def check_image_sizes(
    sizes: Mapping[str, tuple[int, int]], rig: CameraRig, calibration: Path, progress: bool
) -> None:
    """Refuse a video whose image size differs from its calibrated one (module doc).

    Parameters
    ----------
    sizes : mapping of str to (2,) tuple of int
        Calibrated camera name -> (width, height) of its video.
    """
    for name, (width, height) in sizes.items():
        cal_w, cal_h = rig[name].size
        if (width, height) == (cal_w, cal_h):
            continue
        if fits_calibration((width, height), (cal_w, cal_h)):
            note(
                f"camera {name!r}: video {width}x{height}, calibrated {cal_w}x{cal_h}: taken as "
                "the calibrated image cropped at its right/bottom edge (encoder block padding); "
                "pixel coordinates unchanged",
                progress,
            )
            continue
        raise RecordingError(
            f"{calibration}: camera {name!r} is calibrated for {cal_w}x{cal_h} px images, its "
            f"video is {width}x{height} px"
        )


def _matched_recording(
    folder: str | os.PathLike[str], rig: CameraRig, calibration: Path, progress: bool
) -> tuple[DetectionRecording, dict[str, str]]:
    """The recording with its videos in the calibration's camera order, and their names."""
    recording = open_detection_recording(folder)
    mapping, renamed = match_cameras(list(recording.sources), rig.names)
    if renamed:
        note(renamed, progress)
    _check_cameras(mapping, recording, rig, calibration)
    by_camera = {camera: video for video, camera in mapping.items()}
    order = [by_camera[name] for name in rig.names]
    sources = MappingProxyType({video: recording.sources[video] for video in order})
    recording = dataclasses.replace(recording, sources=sources)
    check_image_sizes({mapping[v]: s.size for v, s in sources.items()}, rig, calibration, progress)
    return recording, {video: mapping[video] for video in order}


# ----------------------------------------------------------------------------- sync


def _by_camera(offsets: Mapping[str, int], mapping: Mapping[str, str]) -> dict[str, int]:
    """Offsets keyed by calibrated camera (given by video or camera name); others 0."""
    cameras = list(mapping.values())
    out = dict.fromkeys(cameras, 0)
    for name, frames in offsets.items():
        camera = mapping.get(name, name)
        if camera not in out:
            raise ValueError(f"offset for unknown camera {name!r} (cameras: {', '.join(cameras)})")
        out[camera] = int(frames)
    return out


# ----------------------------------------------------------------------------- the job


def _calibration_toml(rig: CameraRig, metadata: CalibrationMetadata) -> str:
    """The calibration used, as TOML (only the trial's cameras and their errors)."""
    errors = {name: value for name, value in metadata.errors.items() if name in rig.names}
    return calibration_to_toml(rig, dataclasses.replace(metadata, errors=errors))


def process_recording(
    folder: str | os.PathLike[str],
    calibration: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    settings: ReconstructionSettings = DEFAULT_SETTINGS,
    info: TrialInfo = NO_INFO,
    progress: bool = True,
    workers: int | None = None,
    frame_range: FrameRange | None = None,
    offsets: Mapping[str, int] | None = None,
    markers: MarkerSet | None = DEFAULT_MARKERS,
    detector: DetectorFactory | None = None,
) -> Trial:
    """Detect, synchronise, reconstruct and write one trial from a recording folder.

    Parameters
    ----------
    folder : str or PathLike
        One video or image folder per camera, named after the calibrated cameras (module
        doc), optionally ``timestamps.csv``.
    calibration : str or PathLike
        Any calibration :func:`calibration.interop.load_any_calibration` reads (HingeLab,
        anipose or Pose2Sim TOML, caliscope, Qualisys ``.qca.txt``).
    out : str or PathLike
        Trial file to write (``.h5``); written atomically, only when everything worked.
    settings : ReconstructionSettings
        Every choice of the 2D -> 3D steps, and ``sync``.
    info : TrialInfo
        Subject, session, trial and condition labels.
    progress : bool
        Progress bars (one per camera) and notes on stderr.
    workers : int, optional
        Detection processes (:func:`mocap.detect_job.detect_recording`).
    frame_range : (start, stop) tuple, optional
        Rows (frames, or synchronized sets) to process, stop exclusive.
    offsets : mapping of str to int, optional
        Known time offsets in frames per camera (video or calibrated name; others 0),
        :mod:`mocap.offsets`'s sign; replaces the estimate.
    markers : MarkerSet or None
        Spine markers to find (default DICT_4X4_50 ids 0-3); None skips them.
    detector : DetectorFactory, optional
        Default MediaPipe BlazePose.

    Returns
    -------
    Trial
        The written trial: keypoints2d (C, T, 37, 3), points3d (T, 37, 3), errors and views,
        the calibration used and every choice made (``extra_attrs``).

    Raises
    ------
    ValueError
        (RecordingError, TimestampError, CalibrationFormatError, ...) one line naming the
        file or camera: a calibrated camera without video, a video of no calibrated camera,
        different lengths without timestamps, a video that stops decoding early, an image
        size that differs from the calibration's.
    """
    out, calibration = Path(out), Path(calibration)
    check_output(out)
    rig, metadata = load_any_calibration(calibration)
    factory = detect_job.default_detector() if detector is None else detector
    count = default_workers(len(rig)) if workers is None else min(workers, len(rig))
    # the workers start (import the detector) while the inputs are checked
    with worker_pool(count, ("mocap.detect_job", type(factory).__module__)) as pool:
        recording, names = _matched_recording(folder, rig, calibration, progress)
        given = None if offsets is None else _by_camera(offsets, names)
        trial = run_detection(
            recording,
            markers=markers,
            progress=progress,
            frame_range=frame_range,
            detector=factory,
            pool=pool,
            workers=count,
        )
    rig = rig.subset(names.values())
    trial = dataclasses.replace(trial, camera_names=rig.names)
    prepared = prepare_keypoints(
        trial, rig, settings, offsets=given, timed=recording.pairing is not None, progress=progress
    )
    result = reconstruct_trial(prepared.trial, prepared.rig, settings)
    result = dataclasses.replace(
        result,
        info=info,
        calibration_toml=_calibration_toml(prepared.rig, metadata),
        extra_attrs={**result.extra_attrs, **prepared.attrs, "calibration_file": calibration.name},
    )
    write_trial(out, result)
    return result


def summary(trial: Trial) -> list[str]:
    """Lines describing a processed trial: per camera detections, then the 3D."""
    lines = ["camera        frames with a person   spine markers found"]
    kp = trial.keypoints2d
    if kp is not None:
        body = np.isfinite(kp[:, :, :N_BODY, 0]).any(axis=2).mean(axis=1)
        spine = np.isfinite(kp[:, :, N_BODY:, 0]).mean(axis=(1, 2))
        for c, name in enumerate(trial.camera_names):
            lines.append(
                f"  {name:<12} {100 * body[c]:6.1f} %              {100 * spine[c]:6.1f} %"
            )
    if trial.points3d is not None:
        done = np.isfinite(trial.points3d[..., 0])
        error = trial.reprojection_error
        median = (
            float(np.nanmedian(error))
            if error is not None and np.isfinite(error).any()
            else float("nan")
        )
        lines.append(
            f"3D: {100 * done[:, :N_BODY].mean():.1f} % of body keypoint-frames, "
            f"{100 * done[:, N_BODY:].mean():.1f} % of spine marker-frames; median reprojection "
            f"error {median:.2f} px"
        )
    return lines
