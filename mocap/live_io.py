"""Live mode's parts around :class:`mocap.live.LiveSession`: camera workers, files, numbers.

**Camera workers.** Each camera's worker process (spawned by the session) owns its
:class:`~mocap.sources.FrameSource`. A capture thread grabs its frames (each time-stamped at
grab with ``time.monotonic``: CLOCK_MONOTONIC is system-wide on Linux, so the main process
compares the times of every camera), keeps the newest :attr:`WorkerSpec.ring_frames` of
them in a ring and sends only ``("frame", camera, index, time)`` to the main process. The
main process forms synchronized sets from those times and asks each worker to detect its
frame of the newest complete set (``("detect", request, index)``); the worker answers with
the (J, 3) keypoints. Images never cross a process boundary. Messages to the main process
(tuples, the tag first): ``ready``, ``size``, ``frame``, ``keypoints``, ``written``,
``stopped``, ``closed``; from it: ``start``, ``detect``, ``stop``. A worker ends when told
to, when its pipe closes, or at once when the main process dies (its sentinel), so no
worker outlives a killed session.

**Recording** (:class:`LiveRecorder`). With a recording folder the capture thread also
JPEG-encodes every frame; every ``flush_s`` the worker appends them to ``<camera>.avi``
(:class:`~mocap.capture_avi.MjpegAvi`, playable after every flush) and then sends their
``(frame, time)`` rows, which the main process writes to ``timestamps.csv``: the csv never
names a frame the video lacks. The main process appends every published 3D frame to
``trial.h5`` (:class:`~mocap.trial.TrialAppender`, SWMR) and flushes it as often.

**Numbers** (:func:`live_stats`): 3D frame rate, latency and the share of sets dropped.
"""

from __future__ import annotations

import contextlib
import datetime
import multiprocessing
import os
import signal
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from numpy.typing import NDArray

from mocap.capture import _prepare_folder
from mocap.capture_avi import MjpegAvi
from mocap.capture_results import (
    MANIFEST_FILE,
    CameraReport,
    RecordingResult,
    result_json,
    start_manifest,
    write_json_atomic,
)
from mocap.capture_sources import video_fps
from mocap.capture_stats import camera_stats, sync_stats
from mocap.detect_job import _CameraJob, _Detection
from mocap.keypoints import DetectorFactory
from mocap.markers import MarkerSet
from mocap.skeleton import HINGELAB_KEYPOINTS
from mocap.sources import FrameSource, Image, RecordingError, TimedFrame, VideoFileSource
from mocap.sync import HINGELAB_HEADER, TIMESTAMPS_FILE, FrameTimes
from mocap.trial import TrialAppender, TrialInfo

if TYPE_CHECKING:  # the session imports this module
    from mocap.live import LiveFrame

Message = tuple[Any, ...]


@dataclass(frozen=True, eq=False)
class WorkerSpec:
    """What a camera's worker process needs (sent to it once, pickled).

    Attributes
    ----------
    source : FrameSource
        The camera; iterated in the worker (``timed()``).
    factory : DetectorFactory
        Builds the camera's detector in the worker.
    markers : MarkerSet or None
        Spine markers to find (None: none).
    ring_frames : int
        Newest frames kept for detection requests.
    video : Path or None
        ``<camera>.avi`` to record into (None: no recording).
    fps : float
        Frame rate declared in the video's header, Hz.
    flush_s : float
        Video flush interval, seconds.
    jpeg_quality : int
        JPEG quality of the video frames, 0-100.
    capture_nice : int
        Niceness added to the capture thread (Linux, per thread; 0: none), so that on a
        busy machine detecting the newest set comes before decoding frames that will be
        dropped (see ``LiveSettings.capture_nice``).
    """

    source: FrameSource
    factory: DetectorFactory
    markers: MarkerSet | None
    ring_frames: int = 8
    video: Path | None = None
    fps: float = 30.0
    flush_s: float = 0.5
    jpeg_quality: int = 90
    capture_nice: int = 0

    @property
    def camera(self) -> str:
        """The camera's name."""
        return self.source.name


@dataclass(frozen=True)
class LoopedVideo(FrameSource):
    """A video file played again and again at its real rate: a camera that never ends.

    As :class:`~mocap.capture_sources.PlayedVideo` plays a file once: frame ``i`` (counted
    over every pass) is delivered ``i / fps`` after the first, or as soon as it is decoded
    when decoding fell behind, and time-stamped with ``time.monotonic`` when delivered.
    Benchmarks and demos play short videos (the Pose2Sim demo's 1.7 s) for as long as
    they need.

    Attributes
    ----------
    video : VideoFileSource
        The file.
    fps : float
        Playback rate, Hz.
    """

    video: VideoFileSource
    fps: float
    frame_count: int | None = None

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> LoopedVideo:
        """Probe a video file and its frame rate (default 30 Hz)."""
        return cls(VideoFileSource.open(path), video_fps(path) or 30.0)

    @property
    def name(self) -> str:  # type: ignore[override]
        """The video's camera name (its stem)."""
        return self.video.name

    @property
    def size(self) -> tuple[int, int]:  # type: ignore[override]
        """Frame (width, height), pixels."""
        return self.video.size

    def __iter__(self) -> Iterator[tuple[int, Image]]:
        for frame in self.timed():
            yield frame.index, frame.image

    def timed(self) -> Iterator[TimedFrame]:
        """Frames at the playback rate, pass after pass, stamped when delivered."""
        start, index = time.monotonic(), 0
        while True:
            before = index
            for _, image in self.video:
                time.sleep(max(0.0, start + index / self.fps - time.monotonic()))
                yield TimedFrame(index, time.monotonic(), image)
                index += 1
            if index == before:
                raise RecordingError(f"{self.video.path}: no frame decodes")


class _Link:
    """The worker's end of its pipe, shared by two threads (sends are serialised)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._lock = threading.Lock()

    def send(self, message: Message) -> None:
        """Send one message; a closed pipe (the main process gone) is ignored."""
        with self._lock, contextlib.suppress(OSError, ValueError):
            self.conn.send(message)


class _Video:
    """The camera's video: an encoder thread, and encoded frames waiting for a flush.

    The capture thread only hands frames over (:meth:`offer`); the encoder thread
    JPEG-encodes them. When it cannot keep up (HD frames on a busy machine) frames that
    find ``WAITING`` frames queued are left out of the video (their rows too, so the
    recording's drop count shows them), and grabbing, sets and latency are unaffected.
    """

    WAITING = 4

    def __init__(self, spec: WorkerSpec) -> None:
        self.path = spec.video
        self.fps = spec.fps
        self.params = [cv2.IMWRITE_JPEG_QUALITY, spec.jpeg_quality]
        self.ready = threading.Condition()
        self.queue: list[TimedFrame] = []
        self.done = False
        self.pending: list[tuple[float, bytes, tuple[int, int]]] = []
        self.writer: MjpegAvi | None = None
        self.written = 0
        self.thread = threading.Thread(target=self._encode, name="encode", daemon=True)
        self.thread.start()

    def offer(self, frame: TimedFrame) -> None:
        """Queue a frame for encoding (capture thread); left out when the queue is full."""
        with self.ready:
            if len(self.queue) < self.WAITING:
                self.queue.append(frame)
                self.ready.notify()

    def _encode(self) -> None:
        """Thread: encode queued frames until :meth:`close` and the queue is empty."""
        while True:
            with self.ready:
                self.ready.wait_for(lambda: self.queue or self.done)
                if not self.queue:
                    return
                frame = self.queue.pop(0)
            ok, jpeg = cv2.imencode(".jpg", frame.image, self.params)
            if ok:
                size = (int(frame.image.shape[1]), int(frame.image.shape[0]))
                with self.ready:
                    self.pending.append((frame.time, jpeg.tobytes(), size))

    def flush(self) -> list[tuple[int, float]]:
        """Write the encoded frames, then return their (frame, time) rows."""
        with self.ready:
            grabbed, self.pending = self.pending, []
        if not grabbed or self.path is None:
            return []
        if self.writer is None:
            self.writer = MjpegAvi(self.path, grabbed[0][2], self.fps)
        for _, jpeg, _ in grabbed:
            self.writer.add(jpeg)
        self.writer.flush()
        first, self.written = self.written, self.written + len(grabbed)
        return [(first + k, when) for k, (when, _, _) in enumerate(grabbed)]

    def close(self) -> list[tuple[int, float]]:
        """Encode what is queued, flush, add the index and close the video; the last rows."""
        with self.ready:
            self.done = True
            self.ready.notify()
        self.thread.join(timeout=5.0)
        rows = self.flush()
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        return rows


class _Capture:
    """The capture thread: grabs, keeps the newest frames, announces them, records them."""

    def __init__(self, spec: WorkerSpec, link: _Link) -> None:
        self.spec = spec
        self.link = link
        self.ring: OrderedDict[int, Image] = OrderedDict()
        self.lock = threading.Lock()
        self.video = _Video(spec) if spec.video is not None else None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="capture", daemon=True)

    def frame(self, index: int) -> Image | None:
        """Frame ``index`` if still in the ring."""
        with self.lock:
            return self.ring.get(index)

    def _keep(self, frame: TimedFrame) -> None:
        with self.lock:
            self.ring[frame.index] = frame.image
            while len(self.ring) > self.spec.ring_frames:
                self.ring.popitem(last=False)

    def _run(self) -> None:
        name, reason, failed = self.spec.camera, "no more frames", False
        if self.spec.capture_nice:  # detection of the newest set comes first
            with contextlib.suppress(OSError, AttributeError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.spec.capture_nice)
        try:
            for frame in self.spec.source.timed():
                if self.stop.is_set():
                    return
                self._keep(frame)
                if frame.index == 0 or len(self.ring) == 1:
                    shape = frame.image.shape
                    self.link.send(("size", name, (int(shape[1]), int(shape[0]))))
                self.link.send(("frame", name, frame.index, frame.time))
                if self.video is not None:
                    self.video.offer(frame)
        except (RecordingError, OSError, cv2.error) as error:
            reason, failed = str(error), True
        self.link.send(("stopped", name, reason, failed))


def _detect(detection: _Detection, image: Image | None) -> NDArray[np.float32] | None:
    """(J, 3) keypoints of one image in the HingeLab layout; None without an image."""
    if image is None:
        return None
    detection.run(0, image)
    return detection.keypoints[0].copy()


def _serve(conn: Connection, link: _Link, capture: _Capture, detection: _Detection) -> None:
    """Answer detection requests and flush the video until told to stop or orphaned."""
    parent = multiprocessing.parent_process()
    watch = [conn] if parent is None else [conn, parent.sentinel]
    next_flush = time.monotonic() + capture.spec.flush_s
    while True:
        ready = wait(watch, timeout=max(0.0, next_flush - time.monotonic()))
        if parent is not None and parent.sentinel in ready:
            os._exit(1)  # the session was killed: end now, like it
        if time.monotonic() >= next_flush:
            next_flush += capture.spec.flush_s
            _flush(capture, link)
        if conn not in ready:
            continue
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "stop":
            return
        _, request, index = message
        started = time.monotonic()
        try:
            found = _detect(detection, capture.frame(index))
        except Exception as error:  # noqa: BLE001 (a detector failure ends this camera only)
            link.send(("stopped", capture.spec.camera, f"detection failed: {error}", True))
            return
        link.send(("keypoints", capture.spec.camera, request, index, found, started))


def _flush(capture: _Capture, link: _Link, last: bool = False) -> None:
    """Write the video's pending frames and announce their rows."""
    if capture.video is None:
        return
    rows = capture.video.close() if last else capture.video.flush()
    if rows:
        link.send(("written", capture.spec.camera, rows))


def _detector(spec: WorkerSpec) -> _Detection:
    """The camera's detector (body and markers, HingeLab layout), as ``mocap detect``'s."""
    job = _CameraJob(spec.camera, spec.source, spec.factory, spec.markers, 0, 1, None, 0, False)
    return _Detection(job)


def run_worker(spec: WorkerSpec, conn: Connection) -> None:
    """The worker process: build the detector, wait for ``start``, then capture and serve.

    Parameters
    ----------
    spec : WorkerSpec
        The camera, its detector and recording.
    conn : Connection
        Its end of the pipe to the main process.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    cv2.setNumThreads(1)
    link = _Link(conn)
    try:
        detection = _detector(spec)
    except Exception as error:  # noqa: BLE001 (any detector failure ends this camera)
        link.send(("stopped", spec.camera, f"cannot start its detector: {error}", True))
        return
    link.send(("ready", spec.camera))
    try:
        if conn.recv()[0] != "start":
            return
    except (EOFError, OSError):
        return
    capture = _Capture(spec, link)
    capture.thread.start()
    try:
        _serve(conn, link, capture, detection)
    finally:
        capture.stop.set()
        capture.thread.join(timeout=2.0)
        _flush(capture, link, last=True)
        detection.detector.close()
        link.send(("closed", spec.camera))
        conn.close()
        os._exit(0)  # a capture thread may still be inside OpenCV: no interpreter teardown


# ----------------------------------------------------------------------------- numbers


@dataclass(frozen=True)
class FrameTiming:
    """One 3D frame published: set number, time done, grab-to-3D latency, processing (s).

    ``processing_s`` runs from the set being taken to triangulated (detection included).
    """

    index: int
    done: float
    latency_s: float
    processing_s: float = float("nan")


@dataclass(frozen=True)
class LiveStats:
    """3D frames over a stretch of a live session.

    Attributes
    ----------
    frames : int
        3D frames published.
    seconds : float
        From the first to the last of them, seconds.
    latency_median_s, latency_p95_s : float
        Grab (the set's oldest frame) to triangulated, median and 95th percentile, seconds.
    sets : int
        Synchronized sets from the first to the last frame published, both included.
    """

    frames: int
    seconds: float
    latency_median_s: float
    latency_p95_s: float
    sets: int

    @property
    def fps(self) -> float:
        """3D frames per second (NaN with fewer than two)."""
        return (self.frames - 1) / self.seconds if self.seconds > 0 else float("nan")

    @property
    def dropped(self) -> int:
        """Sets not processed (stale when taken, or never complete)."""
        return self.sets - self.frames

    @property
    def dropped_share(self) -> float:
        """``dropped / sets`` (NaN without sets)."""
        return self.dropped / self.sets if self.sets else float("nan")

    def line(self) -> str:
        """``live: 3D 11.8 fps, latency 140 ms (p95 210 ms), dropped 63 %``."""
        if self.frames < 2:
            return f"live: {self.frames} 3D frames so far"
        return (
            f"live: 3D {self.fps:.1f} fps, latency {1000 * self.latency_median_s:.0f} ms "
            f"(p95 {1000 * self.latency_p95_s:.0f} ms), dropped {100 * self.dropped_share:.0f} %"
        )


def live_stats(timings: Sequence[FrameTiming], window_s: float | None = None) -> LiveStats:
    """The numbers of the frames published (in the last ``window_s`` seconds, or all)."""
    if window_s is not None and timings:
        since = timings[-1].done - window_s
        timings = [t for t in timings if t.done >= since]
    if not timings:
        return LiveStats(0, 0.0, float("nan"), float("nan"), 0)
    latency = np.array([t.latency_s for t in timings])
    return LiveStats(
        frames=len(timings),
        seconds=timings[-1].done - timings[0].done,
        latency_median_s=float(np.median(latency)),
        latency_p95_s=float(np.percentile(latency, 95)),
        sets=timings[-1].index - timings[0].index + 1,
    )


@dataclass(frozen=True)
class LiveSummary:
    """A finished live session.

    Attributes
    ----------
    stats : LiveStats
        Over the whole session.
    cameras : mapping of str to (int, str)
        Per camera, frames grabbed and why it stopped early ('' when it did not).
    views_lost : int
        Views of processed sets without keypoints: the frame had left its worker's ring,
        or the worker did not answer within ``reply_timeout_s``.
    recording : RecordingResult or None
        What was recorded (per-camera rate and drops, sync spread), with ``--record``.
    """

    stats: LiveStats
    cameras: Mapping[str, tuple[int, str]]
    views_lost: int = 0
    recording: RecordingResult | None = None

    def lines(self) -> list[str]:
        """The end-of-session summary."""
        s = self.stats
        out = [
            f"3D: {s.frames} frames in {s.seconds:.1f} s, {s.fps:.1f} fps; latency (grab to 3D) "
            f"median {1000 * s.latency_median_s:.0f} ms, p95 {1000 * s.latency_p95_s:.0f} ms; "
            f"{s.dropped} of {s.sets} sets dropped ({100 * s.dropped_share:.0f} %)"
        ]
        for name, (frames, stopped) in self.cameras.items():
            out.append(
                f"  {name}: {frames} frames grabbed" + (f"; stopped: {stopped}" if stopped else "")
            )
        if self.views_lost:
            out.append(f"  {self.views_lost} views lost (frame gone from its ring, or no answer)")
        if self.recording is not None:
            out.extend(self.recording.lines())
        return out


# ----------------------------------------------------------------------------- recording

TRIAL_FILE = "trial.h5"
"""The live trial file in a recording folder."""


class LiveRecorder:
    """The main process's files of a live recording: timestamps, trial, manifest.

    Parameters
    ----------
    folder : Path
        New or empty folder (the videos are written into it by the workers).
    sources : sequence of FrameSource
        The cameras, in the trial's camera order.
    fps : float
        Nominal frame rate, Hz (the trial's ``fps``; its timestamps have gaps where sets
        were dropped).
    flush_s : float
        Flush interval of the trial file, seconds.
    calibration_toml : str
        Stored in the trial file.
    info : TrialInfo, optional
        The trial's labels.
    attrs : mapping, optional
        ``/processing`` attributes of the trial (the settings used).
    """

    def __init__(
        self,
        folder: Path,
        sources: Sequence[FrameSource],
        fps: float,
        flush_s: float,
        calibration_toml: str = "",
        info: TrialInfo | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> None:
        _prepare_folder(folder, sources)
        self.folder, self.fps, self.flush_s = folder, fps, flush_s
        self.names = [s.name for s in sources]
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = {name: [] for name in self.names}
        self.csv = (folder / TIMESTAMPS_FILE).open("w", encoding="utf-8", newline="")
        self.csv.write(",".join(HINGELAB_HEADER) + "\n")
        self.csv.flush()
        self.manifest = start_manifest(sources, {"live": True, "fps": fps})
        write_json_atomic(folder / MANIFEST_FILE, self.manifest)
        self.trial = TrialAppender(
            folder / TRIAL_FILE, HINGELAB_KEYPOINTS, self.names, fps, info, calibration_toml,
            extra_attrs={"live": True, **(attrs or {})},
        )  # fmt: skip
        self.pending: list[LiveFrame] = []
        self.first_time: float | None = None
        self.flushed_at = time.monotonic()
        self.started = time.monotonic()

    def timestamps(self, camera: str, rows: Sequence[tuple[int, float]]) -> None:
        """A worker wrote these (frame, time) rows' frames to its video: add the rows."""
        with self.lock:
            self.times[camera].extend(when for _, when in rows)
            self.csv.writelines(f"{camera},{frame},{when:.6f}\n" for frame, when in rows)
            self.csv.flush()

    def add(self, frame: LiveFrame) -> None:
        """Queue a 3D frame for the trial file (written at the next flush)."""
        self.pending.append(frame)
        self.flush_due()

    def flush_due(self) -> None:
        """Append and flush the queued frames when ``flush_s`` has passed since the last."""
        if time.monotonic() - self.flushed_at >= self.flush_s:
            self.flush()

    def flush(self) -> None:
        """Append the queued frames to the trial file and make them visible to readers."""
        frames, self.pending = self.pending, []
        self.flushed_at = time.monotonic()
        if not frames:
            return
        if self.first_time is None:
            self.first_time = frames[0].time
        self.trial.append(
            np.array([f.time - self.first_time for f in frames]),
            keypoints2d=np.stack([f.keypoints2d for f in frames], axis=1),
            points3d=np.stack([f.points3d for f in frames]),
            reprojection_error=np.stack([f.reprojection_error for f in frames]),
            n_views=np.stack([f.n_views for f in frames]),
        )
        self.trial.flush()

    def result(self, stopped: Mapping[str, str], interrupted: bool) -> RecordingResult:
        """Per-camera rate and drops and the sync spread of what was written."""
        period = 1.0 / self.fps
        times = {
            name: FrameTimes(name, np.arange(len(t)), np.asarray(t, dtype=np.float64))
            for name, t in self.times.items()
        }
        reports = tuple(
            CameraReport(name, camera_stats(times[name], period), stopped.get(name, ""))
            for name in self.names
        )
        seen = {name: t for name, t in times.items() if len(t)}
        sync = sync_stats(seen, period)[1] if seen else None
        duration = time.monotonic() - self.started
        return RecordingResult(self.folder, reports, sync, duration, interrupted)

    def close(self, summary: LiveSummary, interrupted: bool = False) -> RecordingResult:
        """Finish the files: the trial's last frames, the csv, the final manifest."""
        self.flush()
        self.trial.close()
        with self.lock:
            self.csv.close()
        stopped = {name: reason for name, (_, reason) in summary.cameras.items()}
        result = self.result(stopped, interrupted)
        self.manifest["ended"] = datetime.datetime.now(datetime.timezone.utc).isoformat()
        self.manifest["result"] = result_json(result)
        s = summary.stats
        self.manifest["live"] = {
            "frames_3d": s.frames,
            "fps_3d": s.fps if s.frames > 1 else None,
            "latency_median_s": s.latency_median_s if s.frames else None,
            "latency_p95_s": s.latency_p95_s if s.frames else None,
            "sets": s.sets,
            "dropped": s.dropped,
        }
        write_json_atomic(self.folder / MANIFEST_FILE, self.manifest)
        return result
