"""2D keypoints in every frame of a recording folder: the library call behind ``mocap detect``.

One frame source per camera (:func:`mocap.sources.open_recording`). Frames are paired by
``timestamps.csv`` when the folder has timestamps (:mod:`mocap.sync`: row ``t`` of the
result is synchronized set ``t``), otherwise frame ``i`` of every camera is the same instant
(then the cameras must have the same number of frames). Each camera is one job: a worker
process reads its frames in order, builds its own detector (one tracker per camera stream)
and finds the body keypoints and the spine markers (:mod:`mocap.markers`) in every frame it
needs, with one progress bar per camera showing frames per second.

A notebook calls :func:`detect_recording` and writes the result with
``mocap.trial.write_trial`` (atomic). Workers are spawned processes, so a script calling it
with several workers must do so under ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from mocap.keypoints import DetectorFactory, KeypointDetector, check_keypoints, layout_index
from mocap.markers import DEFAULT_MARKERS, TORSO, MarkerDetector, MarkerSet, search_region
from mocap.skeleton import HINGELAB_KEYPOINTS, SPINE_MARKERS
from mocap.sources import FrameSource, RecordingError, check_equal_lengths, open_recording

if TYPE_CHECKING:  # imported where used: the worker processes need neither (nor SciPy, h5py)
    from mocap.sync import FramePairing
    from mocap.trial import Trial

FrameRange = tuple[int | None, int | None]
"""``(start, stop)`` rows of the recording to detect, ``stop`` exclusive; None: open end."""

_MARKER_ROWS = layout_index(SPINE_MARKERS)


@dataclass(frozen=True, eq=False)
class DetectionRecording:
    """The cameras of a recording folder and how their frames line up in time.

    Attributes
    ----------
    folder : Path
        The recording folder.
    sources : mapping of str to FrameSource
        The cameras to detect in, in the order of the result's camera axis.
    pairing : FramePairing or None
        Frame -> synchronized set of each camera (from timestamps); None when frame ``i``
        of every camera is the same instant.
    fps : float
        Frame rate, Hz: from the timestamps' period, else from the videos.
    times : (T,) float64 array
        Time of each row (synchronized set or frame index), seconds from the first row.
    """

    folder: Path
    sources: Mapping[str, FrameSource]
    pairing: FramePairing | None
    fps: float
    times: NDArray[np.float64]

    @property
    def n_frames(self) -> int:
        """Rows T of the recording (synchronized sets, or frames of each camera)."""
        return len(self.times)

    @property
    def sizes(self) -> dict[str, tuple[int, int]]:
        """Image (width, height) of each camera."""
        return {name: source.size for name, source in self.sources.items()}


# ----------------------------------------------------------------------------- opening


def _video_fps(source: FrameSource) -> float | None:
    """The frame rate a video file states, or None (image folders, no rate)."""
    path = getattr(source, "path", None)
    if path is None or not Path(path).is_file():
        return None
    capture = cv2.VideoCapture(str(path))
    try:
        fps = float(capture.get(cv2.CAP_PROP_FPS))
    finally:
        capture.release()
    return fps if np.isfinite(fps) and fps > 0 else None


def _common_fps(folder: Path, sources: Mapping[str, FrameSource], fps: float | None) -> float:
    """The frame rate of untimed recordings: ``fps`` if given, else the videos' own rate."""
    if fps is not None:
        return float(fps)
    rates = {name: _video_fps(source) for name, source in sources.items()}
    known = {name: rate for name, rate in rates.items() if rate is not None}
    if not known:
        raise RecordingError(
            f"{folder}: no frame rate (image folders without timestamps.csv); give the frame "
            "rate (fps) or add timestamps.csv"
        )
    if max(known.values()) > 1.01 * min(known.values()):
        text = ", ".join(f"{name} {rate:g} fps" for name, rate in known.items())
        raise RecordingError(
            f"{folder}: the videos have different frame rates ({text}) and no timestamps.csv "
            "to pair their frames by time"
        )
    return float(np.median(list(known.values())))


def _period(set_times: NDArray[np.float64], median_period: float) -> float:
    """Frame period of synchronized sets: the slope of their times over their frame numbers.

    The median interval (``mocap.sync``) is off by the jitter of a few intervals; numbering
    the sets by time (``round(t / median)``, which skips lost instants) and fitting a line
    uses them all: +-4 ms of jitter at 50 fps gives 49.3 fps from the median of 25 frames,
    50.0 from the fit.
    """
    number = np.round((set_times - set_times[0]) / median_period)
    if len(set_times) < 3 or number[-1] < 2:
        return median_period
    slope = float(np.polyfit(number, set_times, 1)[0])
    return slope if slope > 0 else median_period


def _choose(
    folder: Path, found: Mapping[str, FrameSource], camera_names: Sequence[str] | None
) -> dict[str, FrameSource]:
    """The named cameras' sources in the order named (all, in natural order, by default)."""
    if camera_names is None:
        return dict(found)
    missing = [name for name in camera_names if name not in found]
    if missing:
        raise RecordingError(
            f"{folder}: no video or image folder for camera {missing[0]!r} "
            f"(found: {', '.join(found)})"
        )
    return {name: found[name] for name in camera_names}


def open_detection_recording(
    folder: str | os.PathLike[str],
    camera_names: Sequence[str] | None = None,
    fps: float | None = None,
) -> DetectionRecording:
    """Open a recording folder's cameras and line their frames up in time (nothing decoded).

    Parameters
    ----------
    folder : str or PathLike
        One video or image folder per camera, optionally timestamps (:mod:`mocap.sync`).
    camera_names : sequence of str, optional
        Cameras to use, in this order (default: every camera, in natural name order).
    fps : float, optional
        Frame rate of untimed recordings (default: the videos' own).

    Returns
    -------
    DetectionRecording

    Raises
    ------
    RecordingError, TimestampError
        (ValueErrors) Naming the folder, file or camera: no cameras, an unreadable video,
        a camera not found, timestamps that do not match the videos, different lengths or
        frame rates without timestamps.
    """
    from mocap.sync import find_timestamps, pair_frames  # noqa: PLC0415

    folder = Path(folder)
    sources = _choose(folder, open_recording(folder), camera_names)
    times = find_timestamps(folder, list(sources))
    if times is None:
        check_equal_lengths(folder, {name: s.frame_count for name, s in sources.items()})
        rate = _common_fps(folder, sources, fps)
        counts = [s.frame_count for s in sources.values() if s.frame_count is not None]
        n = min(counts) if len(counts) == len(sources) else 0
        return DetectionRecording(
            folder, MappingProxyType(sources), None, rate, np.arange(n) / rate
        )
    pairing = pair_frames(times)
    if pairing.n_sets == 0:
        raise RecordingError(f"{folder}: the timestamps pair no frames of the cameras")
    set_times = np.asarray(pairing.set_times, dtype=np.float64)
    return DetectionRecording(
        folder,
        MappingProxyType(sources),
        pairing,
        1.0 / _period(set_times, pairing.period_s),
        set_times - set_times[0],
    )


def _rows(recording: DetectionRecording, frame_range: FrameRange | None) -> FrameRange:
    """``(start, stop)`` rows to detect, checked against the recording's length.

    ``stop`` is None only when the length is not known before reading (videos that state
    no frame count, no timestamps) and no end was asked for.
    """
    start, stop = frame_range or (None, None)
    n = recording.n_frames or None  # 0: not known before reading
    start = 0 if start is None else start
    stop = n if stop is None else stop
    if (stop is not None and start >= stop) or (n is not None and stop is not None and stop > n):
        raise RecordingError(
            f"{recording.folder}: frame range {start}:{stop} is not within the recording's "
            f"{n} frames (0:{n})"
        )
    return start, stop


# ----------------------------------------------------------------------------- workers


@dataclass(frozen=True, eq=False)
class _CameraJob:
    """One camera's detection, sent to a worker process."""

    camera: str
    source: FrameSource
    factory: DetectorFactory
    markers: MarkerSet | None
    start: int  # first row of the recording to detect (result row = row - start)
    stop: int | None  # end of the rows to detect (exclusive); None: to the end
    frame_row: dict[int, int] | None  # own frame -> row (synchronized set); None: identity
    position: int
    progress: bool


@dataclass(frozen=True, eq=False)
class CameraDetections:
    """What a worker found in one camera's frames.

    Attributes
    ----------
    camera : str
        Camera name (its video's stem).
    keypoints : (T, J, 3) float32 array
        :data:`~mocap.skeleton.HINGELAB_KEYPOINTS` per row detected: pixel x, pixel y,
        confidence; NaN x and y where not found or where the camera has no frame.
    frames_read : int
        Frames decoded (also those skipped before the range or unpaired).
    seconds : float
        Time spent reading and detecting.
    """

    camera: str
    keypoints: NDArray[np.float32]
    frames_read: int
    seconds: float


class _Detection:
    """A camera's detectors and the buffer of their results (in the worker)."""

    def __init__(self, job: _CameraJob) -> None:
        self.detector: KeypointDetector = job.factory.create(job.camera)
        self.columns = layout_index(self.detector.names)
        names = list(self.detector.names)
        self.torso = [names.index(n) for n in TORSO if n in names]
        self.markers = None if job.markers is None else MarkerDetector(job.markers)
        self.size = job.source.size
        self.what = f"camera {job.camera!r}"
        self.keypoints = np.zeros((0, len(HINGELAB_KEYPOINTS), 3), np.float32)
        self.rows = 0 if job.stop is None else job.stop - job.start  # rows of the result
        self._reserve(self.rows)

    def _reserve(self, n_rows: int) -> None:
        """Room for at least ``n_rows`` rows (NaN, confidence 0)."""
        if n_rows > len(self.keypoints):
            size = max(n_rows, 2 * len(self.keypoints))  # amortised for unknown lengths
            more = np.full((size - len(self.keypoints), *self.keypoints.shape[1:]), np.nan)
            more[..., 2] = 0.0
            self.keypoints = np.concatenate([self.keypoints, more.astype(np.float32)])

    def result(self) -> NDArray[np.float32]:
        """The (T, J, 3) keypoints of the rows of the result."""
        return self.keypoints[: self.rows]

    def run(self, row: int, image: np.ndarray) -> None:
        """Detect the body and the markers in one frame; store them at ``row``."""
        self._reserve(row + 1)
        self.rows = max(self.rows, row + 1)
        found = check_keypoints(self.detector.detect(image), len(self.columns), self.what)
        self.keypoints[row, self.columns] = found
        if self.markers is not None:
            region = search_region(found[self.torso, :2], self.size)
            self.keypoints[row, _MARKER_ROWS] = self.markers.detect(image, region)


def _row_of(job: _CameraJob, frame: int) -> int | None:
    """Result row of the camera's ``frame``, None when it is not detected."""
    row = frame if job.frame_row is None else job.frame_row.get(frame)
    if row is None or row < job.start or (job.stop is not None and row >= job.stop):
        return None
    return row - job.start


def _last_frame(job: _CameraJob) -> int | None:
    """The camera's last frame needed (None: read to the end)."""
    if job.frame_row is None:
        return None if job.stop is None else job.stop - 1
    wanted = [frame for frame in job.frame_row if _row_of(job, frame) is not None]
    return max(wanted) if wanted else -1


def _check_complete(job: _CameraJob, frames_read: int, last: int | None) -> None:
    """Refuse a video whose frames stop decoding before its container's frame count."""
    count = job.source.frame_count
    needed = count if last is None or count is None else min(count, last + 1)
    if needed is not None and frames_read < needed:
        where = getattr(job.source, "path", None) or job.camera
        raise RecordingError(
            f"{where}: frame {frames_read} does not decode (camera {job.camera!r}, the file "
            f"lists {count} frames): the video is corrupt or truncated"
        )


def _detect_camera(job: _CameraJob) -> CameraDetections:
    """Detect keypoints in the frames of one camera (runs in a worker process)."""
    started = time.perf_counter()
    work = _Detection(job)
    last = _last_frame(job)
    bar = tqdm(
        total=work.rows or None,
        desc=f"{job.camera}: keypoints",
        unit="frame",
        position=job.position,
        disable=not job.progress,
    )
    read = 0
    try:
        for frame, image in job.source:
            read += 1
            row = _row_of(job, frame)
            if row is not None:
                work.run(row, image)
                bar.update()
            if last is not None and frame >= last:
                break
    finally:
        bar.close()
        work.detector.close()
    _check_complete(job, read, last)
    return CameraDetections(job.camera, work.result(), read, time.perf_counter() - started)


def _init_worker(lock: Any, modules: Sequence[str]) -> None:
    """Worker process set-up: progress bars' lock, one OpenCV thread, ``modules`` imported.

    The modules (the detector's) are imported while the main process checks the inputs.
    """
    tqdm.set_lock(lock)
    cv2.setNumThreads(1)
    for module in modules:
        importlib.import_module(module)


def _started() -> None:
    """A job that makes the pool start a worker process."""


@contextlib.contextmanager
def worker_pool(workers: int, modules: Sequence[str] = ()) -> Iterator[ProcessPoolExecutor | None]:
    """Spawned worker processes, all started now; None for one worker (run in this process).

    Parameters
    ----------
    workers : int
        Number of processes.
    modules : sequence of str
        Modules each worker imports as it starts (the detector's adapter: MediaPipe takes
        about a second to import), while the caller goes on.
    """
    if workers <= 1:
        yield None
        return
    # spawn, not fork: OpenCV's and MediaPipe's thread pools do not survive a fork
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(context.RLock(), tuple(modules)),
    )
    try:
        for _ in range(workers):  # one process per job submitted while none is idle
            pool.submit(_started)
        yield pool
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def run_jobs(
    jobs: Sequence[Any], function: Any, workers: int, pool: ProcessPoolExecutor | None = None
) -> list[Any]:
    """``function`` over ``jobs``, in ``pool`` or ``workers`` processes (1: this one).

    Without ``pool``, at most one process per job is spawned.
    """
    if pool is not None:
        return list(pool.map(function, jobs))
    with worker_pool(min(workers, len(jobs))) as started:
        if started is None:
            return [function(job) for job in jobs]
        return list(started.map(function, jobs))


def default_workers(n_cameras: int) -> int:
    """One process per camera, at most one per CPU."""
    return max(1, min(n_cameras, os.cpu_count() or 1))


# ----------------------------------------------------------------------------- the job


def default_detector() -> DetectorFactory:
    """MediaPipe BlazePose (model_complexity 1), imported only now."""
    from mocap.detectors.mediapipe_pose import MediaPipePoseFactory  # noqa: PLC0415

    return MediaPipePoseFactory()


def _jobs(
    recording: DetectionRecording,
    factory: DetectorFactory,
    markers: MarkerSet | None,
    rows: FrameRange,
    progress: bool,
) -> list[_CameraJob]:
    """One job per camera."""
    pairing = recording.pairing
    return [
        _CameraJob(
            name,
            source,
            factory,
            markers,
            *rows,
            None if pairing is None else dict(pairing.set_of[name]),
            position,
            progress,
        )
        for position, (name, source) in enumerate(recording.sources.items())
    ]


def _stack(
    recording: DetectionRecording, found: Sequence[CameraDetections], start: int
) -> tuple[NDArray[np.float32], NDArray[np.float64]]:
    """keypoints2d (C, T, J, 3) and timestamps (T,) from the cameras' results."""
    lengths = {r.camera: len(r.keypoints) for r in found}
    if recording.n_frames == 0:  # length learnt while reading: cameras must agree
        check_equal_lengths(
            recording.folder,
            {r.camera: start + n for r, n in zip(found, lengths.values(), strict=True)},
        )
        times = np.arange(start, start + min(lengths.values())) / recording.fps
    else:
        times = recording.times[start : start + min(lengths.values())]
    keypoints = np.stack([r.keypoints[: len(times)] for r in found])
    return keypoints, times - times[0]


def _attrs(
    recording: DetectionRecording,
    factory: DetectorFactory,
    markers: MarkerSet | None,
    start: int,
) -> dict[str, Any]:
    """What detection records in the trial's ``/processing`` attributes."""
    sizes = list(recording.sizes.values())
    files = [Path(getattr(s, "path", name)).name for name, s in recording.sources.items()]
    return {
        "detection_detector": factory.description,
        "detection_markers": "none" if markers is None else markers.describe(),
        "detection_recordings": ", ".join(files),
        "detection_image_width": [w for w, _ in sizes],
        "detection_image_height": [h for _, h in sizes],
        "detection_frame_start": start,
        "detection_pairing": "frame index" if recording.pairing is None else "timestamps",
    }


def run_detection(
    recording: DetectionRecording,
    *,
    markers: MarkerSet | None = DEFAULT_MARKERS,
    progress: bool = True,
    workers: int | None = None,
    frame_range: FrameRange | None = None,
    detector: DetectorFactory | None = None,
    pool: ProcessPoolExecutor | None = None,
) -> Trial:
    """Detect keypoints in an opened recording (see :func:`detect_recording`).

    ``pool`` (:func:`worker_pool`), when given, runs the jobs instead of ``workers``.
    """
    from mocap.trial import Trial  # noqa: PLC0415

    factory = default_detector() if detector is None else detector
    rows = _rows(recording, frame_range)
    jobs = _jobs(recording, factory, markers, rows, progress)
    count = default_workers(len(jobs)) if workers is None else workers
    found = run_jobs(jobs, _detect_camera, count, pool)
    keypoints, times = _stack(recording, found, rows[0])
    return Trial(
        fps=recording.fps,
        keypoint_names=HINGELAB_KEYPOINTS,
        camera_names=tuple(recording.sources),
        timestamps=times,
        keypoints2d=keypoints,
        extra_attrs=_attrs(recording, factory, markers, rows[0]),
    )


def detect_recording(
    folder: str | os.PathLike[str],
    *,
    camera_names: Iterable[str] | None = None,
    markers: MarkerSet | None = DEFAULT_MARKERS,
    progress: bool = True,
    workers: int | None = None,
    frame_range: FrameRange | None = None,
    detector: DetectorFactory | None = None,
    fps: float | None = None,
) -> Trial:
    """2D keypoints of every camera of a recording folder, in every frame.

    Parameters
    ----------
    folder : str or PathLike
        One video or image folder per camera (named after the camera), optionally
        ``timestamps.csv`` (:mod:`mocap.sync`).
    camera_names : iterable of str, optional
        Cameras to use, in this order (default: all, in natural name order).
    markers : MarkerSet or None
        Spine markers to find (default: the printed sheet's DICT_4X4_50 ids 0-3); None
        skips them (their keypoints stay NaN).
    progress : bool
        One progress bar per camera (frames per second) on stderr.
    workers : int, optional
        Processes, one camera at a time each; default one per camera, at most one per CPU;
        1 runs in this process.
    frame_range : (start, stop) tuple, optional
        Rows (frames, or synchronized sets with timestamps) to detect, stop exclusive.
    detector : DetectorFactory, optional
        Default :class:`mocap.detectors.mediapipe_pose.MediaPipePoseFactory`.
    fps : float, optional
        Frame rate when there are no timestamps (default: the videos' own).

    Returns
    -------
    Trial
        ``keypoints2d`` (C, T, 37, 3) (BlazePose's 33 landmarks, then C7, T12, L3, S1),
        the camera names, fps, ``timestamps`` from 0; ``extra_attrs`` hold the detector,
        the marker set, the image sizes (``detection_image_width``/``_height`` per camera)
        and the first row (``detection_frame_start``).

    Raises
    ------
    ValueError
        (RecordingError, TimestampError, ...) one line naming the folder, file or camera:
        see :func:`open_detection_recording`, and a video whose frames stop decoding before
        its stated frame count (file and frame named).
    """
    names = None if camera_names is None else list(camera_names)
    recording = open_detection_recording(folder, names, fps)
    return run_detection(
        recording,
        markers=markers,
        progress=progress,
        workers=workers,
        frame_range=frame_range,
        detector=detector,
    )
