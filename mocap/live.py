"""Live mode: capture, per-camera detection in parallel processes, triangulation, published.

:class:`LiveSession` starts one worker process per camera (:mod:`mocap.live_worker`: it
owns the camera, keeps its newest frames and detects on request), forms synchronized sets
from the grab times the workers announce (:class:`~mocap.live_sets.LatestSets`: nearest
time within half a frame period), and whenever the workers are free asks each to detect
its frame of the newest complete set, triangulates the keypoints
(:func:`mocap.triangulation.triangulate`, then :func:`mocap.refine_points.refine_points`,
with the ``ReconstructionSettings`` of ``mocap process``; swap repair, offsets and the
temporal filter need the whole trial) and publishes a :class:`LiveFrame`. Sets that
complete while a set is being processed are dropped and counted, never queued: latency
stays one processing step plus up to a frame period, however slow the machine. A camera
that stops is reported and the others go on.

With a recording folder it also writes each camera's video, ``timestamps.csv`` and
``session.json`` (the layout of ``mocap record``) and ``trial.h5`` (2D and 3D of every
frame published, appended live with HDF5 SWMR, flushed every ``flush_s``): see
:mod:`mocap.live_record` (the main process's files) and :mod:`mocap.live_worker` (the
videos); the numbers (3D rate, latency, sets dropped): :mod:`mocap.live_stats`.

Worker processes are spawned: a script that starts a session must do so under
``if __name__ == "__main__":``. No Qt, no MediaPipe here.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from types import MappingProxyType
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from calibration.camera import CameraRig
from mocap.capture_sources import (
    CameraSource,
    Device,
    PlayedVideo,
    camera_name,
    open_capture,
    video_fps,
)
from mocap.keypoints import DetectorFactory
from mocap.live_record import LiveRecorder
from mocap.live_sets import FrameSet, LatestSets
from mocap.live_stats import FrameTiming, LiveStats, LiveSummary, live_stats
from mocap.live_worker import WorkerSpec, run_worker
from mocap.markers import DEFAULT_MARKERS, MarkerSet
from mocap.pipeline import ReconstructionSettings, fits_calibration, triangulate_refined
from mocap.prepare import note
from mocap.process_job import check_image_sizes, match_cameras
from mocap.skeleton import HINGELAB_KEYPOINTS
from mocap.sources import FrameSource, RecordingError, TimedFrame, VideoFileSource
from mocap.trial import TrialInfo

MIN_CAMERA_FPS, MAX_CAMERA_FPS = 1.0, 500.0
"""A driver's reported rate outside these is not believed (some report 0 or nonsense)."""
STATUS_WINDOW_S = 5.0
"""The status line's numbers are those of the last few seconds."""
_NO_IMAGE = np.zeros((0, 0, 3), np.uint8)  # the main process holds grab times, not images


@dataclass(frozen=True)
class LiveSettings:
    """How a live session runs.

    Attributes
    ----------
    fps : float or None
        Nominal camera frame rate, Hz: sets group frames within half its period (default:
        the sources' own ``fps``, else 30).
    reconstruction : ReconstructionSettings
        Confidence, error, view and ray-angle limits of the triangulation and
        ``refine_points``, as in ``mocap process`` (swaps, sync and the temporal filter
        do not apply live: they need the whole trial).
    markers : MarkerSet or None
        Spine markers to detect (None: none).
    ring_frames : int
        Newest frames each worker keeps for detection requests.
    flush_s : float
        Videos, ``timestamps.csv`` and the trial file are flushed this often, seconds.
    jpeg_quality : int
        JPEG quality of recorded videos, 0-100.
    start_timeout_s : float
        Longest wait for the workers to build their detectors, seconds.
    reply_timeout_s : float
        Longest wait for a camera's keypoints; a late camera is left out of that set.
    capture_nice : int
        Niceness of each worker's capture thread (Linux; 0: as the rest). When the
        machine cannot keep up, decoding every grabbed frame competes with detecting the
        newest set, though almost all of those frames are dropped: with 10 the detections
        get the CPU first. On the 2-core test machine under load (four 1088x1920 videos
        at 60 fps) this halved the grab-to-3D latency (median 410 -> 210 ms, p95 720-940
        -> 360-420 ms) at the same 3D rate. The price: a frame may wait a little longer
        in the driver's (or decoder's) hands before it is grabbed and time-stamped.
    """

    fps: float | None = None
    reconstruction: ReconstructionSettings = field(default_factory=ReconstructionSettings)
    markers: MarkerSet | None = DEFAULT_MARKERS
    ring_frames: int = 8
    flush_s: float = 0.5
    jpeg_quality: int = 90
    start_timeout_s: float = 120.0
    reply_timeout_s: float = 5.0
    capture_nice: int = 10


@dataclass(frozen=True, eq=False)
class LiveFrame:
    """One synchronized set, detected and triangulated.

    Attributes
    ----------
    index : int
        Set number: frame periods since the first set taken (gaps are dropped sets).
    time : float
        Median grab time of its frames, seconds (``time.monotonic``).
    grab_time : float
        Grab time of its oldest frame: latencies are measured from here.
    frames : mapping of str to int
        Per camera in the set, its frame index.
    points3d : (J, 3) float64 array
        World points, metres; NaN where not reconstructed.
    n_views : (J,) uint8 array
        Cameras used per point.
    reprojection_error : (J,) float64 array
        Mean reprojection error per point, pixels; NaN where not reconstructed.
    keypoints2d : (C, J, 3) float32 array
        Every camera's keypoints (x, y, confidence; NaN rows for cameras not in the set).
    spread_s : float
        Latest minus earliest grab time of its frames, seconds.
    taken_s : float
        Grab (oldest frame) to the set being taken for processing, seconds.
    detected_s : float
        Grab (oldest frame) to the last camera's keypoints in the main process, seconds.
    latency_s : float
        Grab (oldest frame) to triangulated, seconds.
    """

    index: int
    time: float
    grab_time: float
    frames: MappingProxyType[str, int]
    points3d: NDArray[np.float64]
    n_views: NDArray[np.uint8]
    reprojection_error: NDArray[np.float64]
    keypoints2d: NDArray[np.float32]
    spread_s: float
    taken_s: float
    detected_s: float
    latency_s: float


def session_fps(sources: Sequence[FrameSource], fps: float | None) -> float:
    """The nominal frame rate: ``fps``, else the sources' own (the lowest), else 30 Hz."""
    if fps:
        return float(fps)
    rates = [getattr(s, "fps", None) for s in sources]
    known = [float(r) for r in rates if r]
    return min(known) if known else 30.0


def live_sources(
    rig: CameraRig,
    calibration: str | Path,
    *,
    cameras: Sequence[Device] = (),
    videos: Sequence[str | Path] = (),
    size: tuple[int, int] | None = None,
    fps: float | None = None,
    loop: bool = False,
    progress: bool = True,
) -> list[FrameSource]:
    """The sources of a live session, named as the calibrated cameras they are.

    Parameters
    ----------
    rig : CameraRig
        The calibration.
    calibration : str or Path
        Its file (named in messages).
    cameras : sequence of int or str
        Camera indices or device paths (``cam_N`` is matched with the calibration as
        ``mocap process`` matches video stems); or
    videos : sequence of path
        Video files played as cameras at their own rate (the stem is matched).
    size : (2,) tuple of int, optional
        Requested camera image size (default: each camera's calibrated size).
    fps : float, optional
        Requested camera rate, or the videos' playback rate (default: their own).
    loop : bool
        Play the videos again and again (``PlayedVideo(loop=True)``).
    progress : bool
        Notes (a pairing assumed, an encoder-cropped video) on stderr.

    Raises
    ------
    RecordingError
        One line: a video file missing or unreadable, a camera not on this machine, a
        camera or video not in the calibration, an image size that does not fit it.
    """
    paths = [Path(v) for v in videos]
    for path in paths:
        if not path.is_file():
            raise RecordingError(f"{path}: no such video file")
    names = [p.stem for p in paths] if paths else [camera_name(d) for d in cameras]
    mapping, assumed = match_cameras(names, rig.names)
    if assumed:
        note(assumed, progress)
    unknown = [n for n in names if n not in mapping]
    if unknown or not names:
        shown = repr(unknown[0]) if unknown else "none given"
        msg = (
            f"camera {shown} is not in the calibration {calibration} "
            f"(it has {', '.join(rig.names)})"
        )
        raise RecordingError(msg)
    if not paths:
        return [
            _camera(d, mapping[n], size or rig[mapping[n]].size, fps)
            for d, n in zip(cameras, names, strict=True)
        ]
    sources = []
    for path in paths:
        video = VideoFileSource.open(path, name=mapping[path.stem])
        sources.append(PlayedVideo(video, fps or video_fps(path) or 30.0, loop=loop))
    check_image_sizes({s.name: s.size for s in sources}, rig, Path(calibration), progress)
    return sources


def _camera(device: Device, name: str, size: tuple[int, int], fps: float | None) -> CameraSource:
    """A camera source, opened once now so that a missing camera fails before anything starts.

    Without ``fps`` the rate the driver reports is taken (sets pair frames within half its
    period, and drops are counted in its periods), when it reports a plausible one.
    """
    capture = open_capture(device, size, fps)
    try:
        reported = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    finally:
        capture.release()
    if fps is None and MIN_CAMERA_FPS <= reported <= MAX_CAMERA_FPS:
        fps = reported
    return CameraSource(device, name, size, fps)


class _Worker:
    """The main process's handle on one camera's worker process."""

    def __init__(self, spec: WorkerSpec, context: Any) -> None:
        self.name = spec.camera
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=run_worker, args=(spec, child), name=f"live-{self.name}", daemon=True
        )
        self.process.start()
        child.close()
        self.lock = threading.Lock()
        self.frames = 0
        self.state = "starting"  # -> ready -> running -> stopped; closed at the end
        self.reason = ""

    def send(self, message: tuple[Any, ...]) -> None:
        """Send a command; a worker already gone is ignored."""
        with self.lock, contextlib.suppress(OSError, ValueError, BrokenPipeError):
            self.conn.send(message)

    def end(self, timeout: float) -> None:
        """Wait for the process to exit; terminate, then kill, if it does not."""
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(1.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(1.0)


class LiveSession:
    """Capture, detect, triangulate and publish live (module doc).

    Parameters
    ----------
    sources : sequence of FrameSource
        One per camera, named as the cameras of ``rig``; each is iterated in its own
        worker process, so it must pickle (the sources of :mod:`mocap.capture_sources`
        do).
    rig : CameraRig
        The calibration, holding every source's camera.
    settings : LiveSettings
        Frame rate, triangulation limits, markers, flush interval.
    detector : DetectorFactory, optional
        Default MediaPipe BlazePose (built in each worker).
    record : path-like, optional
        A new or empty folder to record videos, timestamps and the trial file into.
    report : callable
        Called with each event line (a camera stopped); default ``print``.
    calibration_toml : str
        Stored in the recorded trial file.
    info : TrialInfo
        Labels of the recorded trial file.
    """

    def __init__(
        self,
        sources: Sequence[FrameSource],
        rig: CameraRig,
        *,
        settings: LiveSettings | None = None,
        detector: DetectorFactory | None = None,
        record: str | Path | None = None,
        report: Callable[[str], None] = print,
        calibration_toml: str = "",
        info: TrialInfo | None = None,
    ) -> None:
        self.settings = settings or LiveSettings()
        self.sources = list(sources)
        names = [s.name for s in self.sources]
        missing = [n for n in names if n not in rig.names]
        if not names or missing or len(set(names)) != len(names):
            shown = missing[0] if missing else ", ".join(names) or "none"
            msg = (
                f"live cameras must be distinct cameras of the calibration "
                f"({', '.join(rig.names)}); got {shown}"
            )
            raise ValueError(msg)
        self.rig = rig.subset(names)
        self.fps = session_fps(self.sources, self.settings.fps)
        self.report = report
        self.calibration_toml = calibration_toml
        self._factory = detector
        self.recorder = None
        if record is not None:
            attrs = {**self.settings.reconstruction.as_attrs(), "live_filter": "none"}
            self.recorder = LiveRecorder(
                Path(record), self.sources, self.fps, self.settings.flush_s,
                calibration_toml, info, attrs,
            )  # fmt: skip
        self._sets = LatestSets(
            names, 1.0 / self.fps, min_cameras=self.settings.reconstruction.min_views
        )
        self._workers: dict[str, _Worker] = {}
        self._changed = threading.Condition()
        self._replies: dict[str, tuple[Any, float]] = {}
        self._request = 0
        self._timings: list[FrameTiming] = []
        self._listeners: list[Callable[[LiveFrame], None]] = []
        self._latest: LiveFrame | None = None
        self._stop = threading.Event()
        self._started = False
        self._pipeline_done = threading.Event()
        self.failure = ""
        """Why live 3D stopped early ("" unless the pipeline failed)."""
        self._threads: list[threading.Thread] = []
        self.started_at = time.monotonic()
        self.views_lost = 0
        """Views of processed sets without keypoints (frame gone, or no answer in time)."""
        self.closed: LiveSummary | None = None

    # ------------------------------------------------------------------ start

    def _specs(self) -> list[WorkerSpec]:
        from mocap.detect_job import default_detector  # noqa: PLC0415 (MediaPipe only if used)

        factory = self._factory or default_detector()
        folder = None if self.recorder is None else self.recorder.folder
        return [
            WorkerSpec(
                s,
                factory,
                self.settings.markers,
                self.settings.ring_frames,
                None if folder is None else folder / f"{s.name}.avi",
                self.fps,
                self.settings.flush_s,
                self.settings.jpeg_quality,
                self.settings.capture_nice,
            )
            for s in self.sources
        ]

    def start(self) -> LiveSession:
        """Start the workers, warm up triangulation, wait until every detector is built.

        Raises
        ------
        RuntimeError
            When fewer than ``min_views`` cameras' workers built their detector within
            ``start_timeout_s`` (the message says why each failed).
        """
        context = multiprocessing.get_context("spawn")  # OpenCV/MediaPipe threads vs fork
        try:
            for spec in self._specs():
                self._workers[spec.camera] = _Worker(spec, context)
            self._thread(self._read, "live-reader")
            self._warm_up()
            self._wait_ready()
        except BaseException as error:
            self.close(interrupted=isinstance(error, KeyboardInterrupt))
            raise
        self.started_at = time.monotonic()
        if self.recorder is not None:
            self.recorder.started = self.started_at
        for worker in self._workers.values():
            if worker.state == "ready":
                worker.state = "running"
                worker.send(("start",))
        self._started = True
        self._thread(self._pipeline, "live-pipeline")
        if self.recorder is not None:
            self._thread(self._flusher, "live-flush")
        return self

    def _thread(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _warm_up(self) -> None:
        """One triangulation now: numba loads (or compiles) its kernel before frames flow."""
        self._triangulate(np.full((len(self.rig), len(HINGELAB_KEYPOINTS), 3), np.nan))

    def _wait_ready(self) -> None:
        """Wait for the workers' detectors; RuntimeError when too few cameras start."""
        with self._changed:
            self._changed.wait_for(
                lambda: all(w.state != "starting" for w in self._workers.values()),
                self.settings.start_timeout_s,
            )
        late = [w for w in self._workers.values() if w.state == "starting"]
        for worker in late:
            self._camera_stopped(worker.name, "its detector did not start in time", True)
        ready = sum(w.state == "ready" for w in self._workers.values())
        if ready < self.settings.reconstruction.min_views:
            failed = [w for w in self._workers.values() if w.state != "ready"]
            reasons = "; ".join(f"{w.name}: {w.reason}" for w in failed)
            msg = f"{ready} of {len(self._workers)} cameras could start ({reasons})"
            raise RuntimeError(msg)

    # ------------------------------------------------------------------ messages

    def _read(self) -> None:
        """Thread: receive every worker's messages until all pipes are closed."""
        open_conns = {w.conn: w for w in self._workers.values()}
        while open_conns:
            try:
                ready = wait(list(open_conns), timeout=0.2)
            except OSError:  # closed by close() after its wait for this thread ran out
                return
            for conn in ready:
                worker = open_conns[conn]
                try:
                    message = conn.recv()
                except (EOFError, OSError):
                    del open_conns[conn]
                    self._ended(worker)
                    continue
                self._dispatch(worker, message)

    def _ended(self, worker: _Worker) -> None:
        """A worker's pipe closed: it ended (told to, or died)."""
        if worker.state in ("starting", "ready", "running") and not self._stop.is_set():
            worker.process.join(1.0)
            code = worker.process.exitcode
            self._camera_stopped(worker.name, f"its process ended (exit code {code})", True)
        worker.state = "closed"
        with self._changed:
            self._changed.notify_all()

    def _dispatch(self, worker: _Worker, message: tuple[Any, ...]) -> None:
        tag = message[0]
        if tag == "frame":
            worker.frames += 1
            self._sets.put(worker.name, TimedFrame(message[2], message[3], _NO_IMAGE))
        elif tag == "keypoints":
            _, name, request, _, found, started = message
            with self._changed:
                if request == self._request:
                    self._replies[name] = (found, started)
                    self._changed.notify_all()
        elif tag == "written" and self.recorder is not None:
            self.recorder.timestamps(worker.name, message[2])
        elif tag == "size":
            self._check_size(worker, message[2])
        elif tag == "stopped":
            self._camera_stopped(worker.name, message[2], message[3])
        elif tag == "ready":
            with self._changed:
                worker.state = "ready" if worker.state == "starting" else worker.state
                self._changed.notify_all()

    def _check_size(self, worker: _Worker, size: tuple[int, int]) -> None:
        """Stop a camera whose images are not the calibrated size."""
        calibrated = self.rig[worker.name].size
        if not fits_calibration(size, calibrated):
            shown = f"{size[0]}x{size[1]}, calibrated {calibrated[0]}x{calibrated[1]}"
            self._camera_stopped(worker.name, f"its images are {shown}", True)
            worker.send(("stop",))

    def _camera_stopped(self, name: str, reason: str, failed: bool = True) -> None:
        """Leave a camera out of later sets and say so (once; ``failed``: not just ended)."""
        worker = self._workers[name]
        with self._changed:
            if worker.state in ("stopped", "closed"):
                return
            worker.state, worker.reason = "stopped", reason
            self._changed.notify_all()
        self._sets.stop(name)
        if self._stop.is_set():
            return
        alive = sum(w.state == "running" for w in self._workers.values())
        self.report(
            f"{name} stopped after {worker.frames} frames ({reason}); {alive} cameras go on"
        )

    # ------------------------------------------------------------------ pipeline

    @property
    def running(self) -> bool:
        """Whether 3D frames can still come: started, not closed, a set can still complete.

        A set of ``min_views`` cameras can complete while that many cameras run, or while
        the last frames of cameras that stopped still make one with the others (when every
        source ends at once, their last set is still processed).
        """
        if not self._started or self._stop.is_set() or self._pipeline_done.is_set():
            return False
        return self._sets.can_complete()

    def _pipeline(self) -> None:
        """Thread: take the newest complete set, detect, triangulate, publish; repeat."""
        views = self.settings.reconstruction.min_views
        stalled: frozenset[str] = frozenset()
        try:
            while self.running:
                frame_set = self._sets.take(timeout=0.1)
                stalled = self._report_stalls(stalled)
                if frame_set is not None and len(frame_set.frames) >= views:
                    self._publish(self._process(frame_set))
                if self.recorder is not None:
                    self.recorder.flush_due()
            if self.recorder is not None:
                self.recorder.flush()  # the last frames are on disk even before close()
        except Exception as error:  # noqa: BLE001 (any failure ends live 3D: said, not silent)
            self.failure = f"{type(error).__name__}: {error}"
            self.report(f"live 3D stopped: {self.failure}")
        else:
            lost = any(w.state != "running" for w in self._workers.values())
            if not self._stop.is_set() and lost:
                self.report(f"fewer than {views} cameras run: live 3D ends")
        finally:
            with self._changed:
                self._pipeline_done.set()
                self._changed.notify_all()

    def _flusher(self) -> None:
        """Thread: trial.h5 flushed on time also while the pipeline waits for a worker."""
        recorder = self.recorder
        period = self.settings.flush_s / 2
        while recorder is not None and not self._stop.wait(period):
            if self._pipeline_done.is_set():
                return
            try:
                recorder.flush_due()
            except Exception:  # noqa: BLE001 (the pipeline's own flush reports the failure)
                return

    def _report_stalls(self, before: frozenset[str]) -> frozenset[str]:
        """Say which cameras stalled (no frame for a while, no error) or came back."""
        now = self._sets.stalled
        for name in sorted(now - before):
            self.report(
                f"{name}: no frame for {self._sets.stall_s:g} s; live 3D goes on without it"
            )
        for name in sorted(before - now):
            self.report(f"{name}: delivers frames again; back in the sets")
        return now

    def _detect(self, frame_set: FrameSet) -> dict[str, tuple[Any, float]]:
        """Ask each camera of the set for its keypoints; wait for them (or a timeout)."""
        with self._changed:
            self._request += 1
            self._replies = {}
            request = self._request
        for name, frame in frame_set.frames.items():
            self._workers[name].send(("detect", request, frame.index))

        def answered() -> bool:
            return all(
                n in self._replies or self._workers[n].state == "closed" for n in frame_set.frames
            )

        with self._changed:
            self._changed.wait_for(answered, self.settings.reply_timeout_s)
            return dict(self._replies)

    def _triangulate(
        self, keypoints: NDArray[np.float32]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.uint8]]:
        """Triangulate one set's (C, J, 3) keypoints as ``mocap process`` does, frame by frame.

        Robust triangulation with the session's limits, then (``refine_points``) each
        point's pixel least squares over the views kept. Returns points (J, 3), errors
        (J,) in pixels and views used (J,).
        """
        batch = keypoints[:, None]  # (C, 1, J, 3)
        result, points, error = triangulate_refined(self.rig, batch, self.settings.reconstruction)
        return points[0], error[0], result.n_views[0]

    def _process(self, frame_set: FrameSet) -> LiveFrame:
        """Detect and triangulate one synchronized set."""
        taken = time.monotonic()
        replies = self._detect(frame_set)
        detected = time.monotonic()
        keypoints = np.full((len(self.rig), len(HINGELAB_KEYPOINTS), 3), np.nan, np.float32)
        keypoints[..., 2] = 0.0
        for c, name in enumerate(self.rig.names):
            found = replies.get(name, (None, 0.0))[0]
            if found is not None:
                keypoints[c] = found
            elif name in frame_set.frames:  # gone from the ring, or no answer in time
                self.views_lost += 1
        points, error, views = self._triangulate(keypoints)
        grab = min(frame.time for frame in frame_set.frames.values())
        return LiveFrame(
            index=frame_set.index,
            time=frame_set.time,
            grab_time=grab,
            frames=MappingProxyType({n: f.index for n, f in frame_set.frames.items()}),
            points3d=points,
            n_views=views,
            reprojection_error=error,
            keypoints2d=keypoints,
            spread_s=frame_set.spread_s,
            taken_s=taken - grab,
            detected_s=detected - grab,
            latency_s=time.monotonic() - grab,
        )

    def _publish(self, frame: LiveFrame) -> None:
        done = frame.grab_time + frame.latency_s
        timing = FrameTiming(frame.index, done, frame.latency_s, frame.latency_s - frame.taken_s)
        with self._changed:
            self._timings.append(timing)
            self._latest = frame
            self._changed.notify_all()
            listeners = list(self._listeners)
        if self.recorder is not None:
            self.recorder.add(frame)
        for listener in listeners:
            listener(frame)

    # ------------------------------------------------------------------ consumers

    def subscribe(self, listener: Callable[[LiveFrame], None]) -> None:
        """Call ``listener(frame)`` with every frame published (from the pipeline thread)."""
        with self._changed:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[LiveFrame], None]) -> None:
        """Stop calling ``listener``."""
        with self._changed, contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def frames(self, timeout: float | None = None) -> Iterator[LiveFrame]:
        """The newest frame each time one is published (older ones skipped, not queued).

        Ends when the session ends, or after ``timeout`` seconds without a frame.
        """
        seen: LiveFrame | None = None
        while True:
            with self._changed:
                self._changed.wait_for(lambda last=seen: self._newer(last), timeout)
                frame = self._latest
            if frame is seen:
                return
            seen = frame
            yield frame

    def _newer(self, last: LiveFrame | None) -> bool:
        """A frame newer than ``last`` was published, or the pipeline has ended (or not begun)."""
        ended = not self._started or self._pipeline_done.is_set()
        return self._latest is not last or ended

    def stats(self, window_s: float | None = None) -> LiveStats:
        """3D rate, latency and dropped share (over the last ``window_s`` seconds, or all)."""
        now = time.monotonic()
        with self._changed:
            if window_s is None:
                timings = list(self._timings)
            else:  # only the tail: a long session's list is not copied at every status line
                start = bisect.bisect_left(self._timings, now - window_s, key=lambda t: t.done)
                timings = self._timings[start:]
        return live_stats(timings, window_s, now if window_s is not None else None)

    def timings(self) -> list[FrameTiming]:
        """When each frame was published and its latency, in order."""
        with self._changed:
            return list(self._timings)

    def status_line(self) -> str:
        """``live: 3D 11.8 fps, latency 140 ms (p95 210 ms), dropped 63 %`` (last 5 s)."""
        return self.stats(STATUS_WINDOW_S).line(STATUS_WINDOW_S)

    # ------------------------------------------------------------------ close

    @property
    def processes(self) -> list[Any]:
        """The worker processes (``multiprocessing`` processes), one per camera."""
        return [worker.process for worker in self._workers.values()]

    def close(self, interrupted: bool = False) -> LiveSummary:
        """Stop the pipeline and every worker, finish the files; the session's summary.

        Safe to call more than once, and from an interrupted ``start``. ``interrupted``
        (Ctrl-C) is stored in the recording's manifest.
        """
        if self.closed is not None:
            return self.closed
        self._stop.set()
        for thread in self._threads:
            if thread.name == "live-pipeline":
                thread.join(self.settings.reply_timeout_s + 1.0)
        for worker in self._workers.values():
            worker.send(("stop",))
        deadline = time.monotonic() + 5.0  # one wait for all: hung workers do not add up
        for worker in self._workers.values():
            worker.end(timeout=max(0.0, deadline - time.monotonic()))
        for thread in self._threads:
            thread.join(2.0)
        for worker in self._workers.values():
            worker.conn.close()
        cameras = {w.name: (w.frames, w.reason) for w in self._workers.values()}
        summary = LiveSummary(self.stats(), MappingProxyType(cameras), self.views_lost)
        if self.recorder is not None:
            # the workers are gone: a pipeline still waiting for replies gives up within
            # reply_timeout_s, and must not write to the recorder while it is closed
            if self._started:
                self._pipeline_done.wait(self.settings.reply_timeout_s + 1.0)
            recording = self.recorder.close(summary, interrupted)
            summary = dataclasses.replace(summary, recording=recording)
        self.closed = summary
        return summary

    def __enter__(self) -> LiveSession:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()
