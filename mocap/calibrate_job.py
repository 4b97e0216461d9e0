"""Calibrate a camera rig from a recording folder: read, detect the board, calibrate.

This is the library call behind ``mocap calibrate``; a notebook calls
:func:`calibrate_recording` and writes the result with
``calibration.toml_io.save_calibration(path, result.rig, result.metadata)`` (atomic).

Frames are numbered by synchronized set (``mocap.sync``) when the folder has timestamps,
else by their index in each camera's recording; the board detections returned, the board
poses of the result and ``origin_frame`` all use that numbering.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import cv2
from tqdm import tqdm

from calibration.boards import Board, load_board
from calibration.calibrate import BoardPlacement, CalibrationResult, calibrate_rig
from calibration.camera import Camera, CameraRig
from calibration.detection import BoardDetection, detect_in_frames
from calibration.extrinsics import CalibrationError
from calibration.toml_io import load_calibration
from mocap.sources import (
    FrameSource,
    Image,
    RecordingError,
    check_equal_lengths,
    open_recording,
)
from mocap.sync import FramePairing, find_timestamps, pair_frames

FixedIntrinsics = str | os.PathLike[str] | CameraRig | Mapping[str, Camera]
"""A calibration file, a rig, or cameras by name whose intrinsics are kept."""


@dataclass(frozen=True, eq=False)
class CalibrationRecording:
    """The synchronized recording of a calibration board.

    Attributes
    ----------
    folder : Path
        The recording folder.
    sources : mapping of str to FrameSource
        One source per camera, in natural name order.
    pairing : FramePairing or None
        Frame -> synchronized set of each camera; None when frame ``i`` of every camera is
        the same instant (no timestamps).
    """

    folder: Path
    sources: Mapping[str, FrameSource]
    pairing: FramePairing | None

    @property
    def sizes(self) -> dict[str, tuple[int, int]]:
        """Image (width, height) of each camera."""
        return {name: source.size for name, source in self.sources.items()}


def open_calibration_recording(folder: str | os.PathLike[str]) -> CalibrationRecording:
    """Open a recording folder's cameras and pair their frames.

    Parameters
    ----------
    folder : str or PathLike
        One video or image folder per camera, optionally timestamps (``mocap.sync``).

    Returns
    -------
    CalibrationRecording

    Raises
    ------
    RecordingError, TimestampError
        (ValueErrors) Naming the folder, file or camera: no cameras, an unreadable video,
        timestamps that do not match the videos, different lengths without timestamps.
    """
    folder = Path(folder)
    sources = MappingProxyType(open_recording(folder))
    times = find_timestamps(folder, list(sources))
    if times is None:
        check_equal_lengths(folder, {n: s.frame_count for n, s in sources.items()})
        return CalibrationRecording(folder, sources, None)
    return CalibrationRecording(folder, sources, pair_frames(times))


# ----------------------------------------------------------------------------- detection


@dataclass(frozen=True, eq=False)
class _DetectJob:
    """One camera's board detection, sent to a worker process."""

    camera: str
    source: FrameSource
    board: Board
    frame_map: dict[int, int] | None  # own frame -> synchronized set; None: identity
    position: int
    progress: bool


@dataclass(frozen=True, eq=False)
class _Detected:
    """What a worker found: the detections and how many frames it read."""

    camera: str
    detections: list[BoardDetection]
    frames_read: int


class _MappedFrames:
    """A source's frames renumbered by ``frame_map`` (unmapped frames skipped), counted."""

    def __init__(self, frames: Any, frame_map: Mapping[int, int] | None) -> None:
        self._frames = frames
        self._map = frame_map
        self.read = 0

    def __iter__(self) -> Iterator[tuple[int, Image]]:
        for frame, image in self._frames:
            self.read += 1
            if self._map is None:
                yield frame, image
            elif frame in self._map:
                yield self._map[frame], image


def _detect(job: _DetectJob) -> _Detected:
    """Detect the board in every frame of one camera (runs in a worker process)."""
    bar = tqdm(
        job.source,
        total=job.source.frame_count,
        desc=f"{job.camera}: board",
        unit="frame",
        position=job.position,
        disable=not job.progress,
    )
    frames = _MappedFrames(bar, job.frame_map)
    try:
        found = detect_in_frames(frames, job.board, job.camera, progress=False)
    finally:
        bar.close()
    return _Detected(job.camera, found, frames.read)


def _init_worker(lock: Any) -> None:
    """Worker process set-up: share the progress bars' lock, one OpenCV thread per process."""
    tqdm.set_lock(lock)
    cv2.setNumThreads(1)


def _run_jobs(jobs: Sequence[_DetectJob], workers: int) -> list[_Detected]:
    """Run the jobs, in this process (one worker) or in ``workers`` spawned processes."""
    workers = min(workers, len(jobs))
    if workers <= 1:
        return [_detect(job) for job in jobs]
    # spawn, not fork: OpenCV's thread pools do not survive a fork
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(context.RLock(),),
    ) as pool:
        try:
            return list(pool.map(_detect, jobs))
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _check_detected(found: Sequence[_Detected], sources: Mapping[str, FrameSource]) -> None:
    """Refuse a camera that saw no board, naming it, its recording and the frames read."""
    for result in found:
        if not result.detections:
            where = getattr(sources[result.camera], "path", None) or result.camera
            raise CalibrationError(
                f"camera {result.camera!r}: no board detected in any of the "
                f"{result.frames_read} frames read ({where}); check the board and the recording"
            )


# ----------------------------------------------------------------------------- inputs


def _board(board: Board | str | os.PathLike[str]) -> Board:
    """A board, loaded when given as a path."""
    return load_board(board) if isinstance(board, (str, os.PathLike)) else board


def _fixed_cameras(
    fixed: FixedIntrinsics | None, sizes: Mapping[str, tuple[int, int]]
) -> dict[str, Camera] | None:
    """The cameras whose intrinsics are kept, one per recorded camera, sizes checked."""
    if fixed is None:
        return None
    where = "fixed intrinsics"
    if isinstance(fixed, (str, os.PathLike)):
        where = str(fixed)
        fixed = load_calibration(fixed)[0]
    cameras = {c.name: c for c in fixed} if isinstance(fixed, CameraRig) else dict(fixed)
    for name, size in sizes.items():
        if name not in cameras:
            have = ", ".join(cameras) or "none"
            raise CalibrationError(f"{where}: no camera {name!r} (it has {have})")
        if tuple(cameras[name].size) != tuple(size):
            w, h = cameras[name].size
            raise CalibrationError(
                f"{where}: camera {name!r} is {w}x{h}, its recording is {size[0]}x{size[1]}"
            )
    return {name: cameras[name] for name in sizes}


def _matching(name: str, candidates: Sequence[str]) -> str | None:
    """The candidate equal to ``name``, else the only one holding it as a whole word."""
    if name in candidates:
        return name
    word = re.compile(rf"(?<![0-9A-Za-z]){re.escape(name)}(?![0-9A-Za-z])")
    hits = [c for c in candidates if word.search(c)]
    return hits[0] if len(hits) == 1 else None


def intrinsic_sources(
    folder: str | os.PathLike[str], sizes: Mapping[str, tuple[int, int]]
) -> dict[str, FrameSource]:
    """The intrinsics recording of each camera in ``sizes``, from ``folder``.

    A camera's recording is the one named like it, else the only one whose name holds the
    camera's name as a whole word (``int_cam01_img`` for ``cam01``, as in Pose2Sim).

    Raises
    ------
    RecordingError
        Naming the folder and the camera without a recording, or the recording whose image
        size differs from the camera's.
    """
    found = open_recording(folder)
    chosen = {}
    for name, size in sizes.items():
        match = _matching(name, list(found))
        if match is None:
            raise RecordingError(
                f"{folder}: no intrinsics recording for camera {name!r} (found: {', '.join(found)})"
            )
        source = found[match]
        if source.size != tuple(size):
            where = getattr(source, "path", None) or Path(folder) / match
            raise RecordingError(
                f"{where}: images are {source.size[0]}x{source.size[1]}, camera {name!r} "
                f"records {size[0]}x{size[1]}"
            )
        chosen[name] = source
    return chosen


def _jobs(
    sources: Mapping[str, FrameSource],
    board: Board,
    pairing: FramePairing | None,
    progress: bool,
    first_position: int = 0,
) -> list[_DetectJob]:
    """One detection job per camera, frames mapped to synchronized sets when paired."""
    jobs = []
    for position, (name, source) in enumerate(sources.items(), start=first_position):
        frame_map = None if pairing is None else dict(pairing.set_of[name])
        jobs.append(_DetectJob(name, source, board, frame_map, position, progress))
    return jobs


def _detections(found: Sequence[_Detected]) -> list[BoardDetection]:
    """All detections, camera by camera."""
    return [d for result in found for d in result.detections]


def _report_pairing(recording: CalibrationRecording, progress: bool) -> None:
    """Say on stderr how frames were paired (when showing progress)."""
    if progress and recording.pairing is not None:
        print(f"{recording.folder}: {recording.pairing.describe()}", file=sys.stderr)


def _report_untimed(
    pairing: FramePairing | None, found: Sequence[_Detected], progress: bool
) -> None:
    """Say on stderr which cameras have frames without timestamps or timestamps without frames."""
    if not progress or pairing is None:
        return
    for result in found:
        timed = len(pairing.set_of[result.camera]) + pairing.unpaired[result.camera]
        if timed != result.frames_read:
            print(
                f"{result.camera}: {result.frames_read} frames read, {timed} timestamps; "
                "frames without a timestamp were skipped, timestamps without a frame ignored",
                file=sys.stderr,
            )


# ----------------------------------------------------------------------------- the job


def calibrate_recording(
    folder: str | os.PathLike[str],
    board: Board | str | os.PathLike[str],
    *,
    intrinsics_folder: str | os.PathLike[str] | None = None,
    fixed_intrinsics: FixedIntrinsics | None = None,
    origin_frame: int | None = None,
    board_on: BoardPlacement = "floor",
    fisheye: bool = False,
    progress: bool = True,
    workers: int | None = None,
) -> tuple[CalibrationResult, list[BoardDetection]]:
    """Calibrate every camera of a recording folder from the board seen in it.

    Parameters
    ----------
    folder : str or PathLike
        One video or image folder per camera (``mocap.sources.open_recording``), frame
        ``i`` of every camera the same instant unless timestamps pair them (``mocap.sync``).
    board : Board or str or PathLike
        The board, or its file (``board.toml`` or caliscope's ``charuco.toml``).
    intrinsics_folder : str or PathLike, optional
        Per-camera recordings used only for the intrinsics (not synchronized).
    fixed_intrinsics : str or PathLike or CameraRig or mapping of str to Camera, optional
        Known intrinsics (e.g. a calibration file) kept instead of estimating them.
    origin_frame : int, optional
        Frame (synchronized set) whose board pose defines the world; default the first
        frame seen by every camera.
    board_on : {"floor", "wall"}
        How the board lies in the origin frame.
    fisheye : bool
        Fisheye lenses (cv2.fisheye model) instead of 5-term pinhole ones.
    progress : bool
        Show one progress bar per camera, and the frame pairing, on stderr.
    workers : int, optional
        Processes detecting the board, one camera at a time each; default
        ``min(cameras, os.cpu_count())``; 1 runs in this process. The processes are
        spawned, so a script calling this with several workers must do so under
        ``if __name__ == "__main__":`` (notebooks need nothing).

    Returns
    -------
    result : CalibrationResult
        The rig (world frame: metres, Z up), intrinsics, board poses and quality.
    views : list of BoardDetection
        The board detections of the synchronized recording (frames as set indices).

    Raises
    ------
    ValueError
        (RecordingError, TimestampError, BoardFormatError, CalibrationError...) one line
        naming the folder, file or camera at fault.
    """
    if intrinsics_folder is not None and fixed_intrinsics is not None:
        raise CalibrationError("give either an intrinsics folder or fixed intrinsics, not both")
    board = _board(board)
    recording = open_calibration_recording(folder)
    sizes = recording.sizes
    fixed = _fixed_cameras(fixed_intrinsics, sizes)
    extra = {} if intrinsics_folder is None else intrinsic_sources(intrinsics_folder, sizes)
    _report_pairing(recording, progress)
    jobs = _jobs(recording.sources, board, recording.pairing, progress)
    jobs += _jobs(extra, board, None, progress, first_position=len(jobs))
    count = os.cpu_count() or 1
    found = _run_jobs(jobs, min(len(sizes), count) if workers is None else workers)
    main, intrinsic = found[: len(sizes)], found[len(sizes) :]
    if recording.pairing is None:
        check_equal_lengths(recording.folder, {r.camera: r.frames_read for r in main})
    _report_untimed(recording.pairing, main, progress)
    _check_detected(main, recording.sources)
    _check_detected(intrinsic, extra)
    views = _detections(main)
    result = calibrate_rig(
        views,
        board,
        sizes,
        fixed_intrinsics=fixed,
        intrinsic_views=_detections(intrinsic) or None,
        origin_frame=origin_frame,
        board_on=board_on,
        fisheye=fisheye,
    )
    return result, views
