"""Live mode's camera workers: one process per camera, owning its source.

Each camera's worker process (spawned by :class:`mocap.live.LiveSession`) owns its
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

**Recording.** With a video path the capture thread also hands every frame to an encoder
thread that JPEG-encodes it (frames are left out when it falls behind); every ``flush_s``
the worker appends the encoded frames to ``<camera>.avi``
(:class:`~mocap.capture_avi.MjpegAvi`, playable after every flush) and then sends their
``(frame, time)`` rows (``written``), which the main process writes to ``timestamps.csv``
(:class:`mocap.live_record.LiveRecorder`): the csv never names a frame the video lacks.


"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from mocap.capture_avi import MjpegAvi
from mocap.detect_job import _CameraJob, _Detection
from mocap.keypoints import DetectorFactory
from mocap.markers import MarkerSet
from mocap.sources import FrameSource, Image, RecordingError, TimedFrame

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
