"""Record several frame sources at once: one grabbing thread per camera, no Qt.

:func:`record` writes, into one folder,

- ``<camera>.avi`` per camera: Motion-JPEG in AVI (:class:`~mocap.capture_avi.MjpegAvi`),
  a complete, playable file after every flush;
- ``timestamps.csv``: ``camera,frame,time`` rows (the layout :mod:`mocap.sync` reads),
  ``time`` on ``time.monotonic``'s clock, taken at grab;
- ``session.json``: the manifest (sources, requested settings, start time, software
  version; at the end also what was measured), written atomically.

Frames and their timestamps reach the files together every ``flush_s`` (0.5 s), so a
killed recording loses at most that much. Every ``report_s`` a line reports per-camera
frame rate and dropped frames and the sync spread of the last second
(:mod:`mocap.capture_stats`); Ctrl-C (SIGINT) ends the recording cleanly, and a camera
that stops is reported while the others go on.
"""

from __future__ import annotations

import contextlib
import datetime
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from mocap.capture_avi import MjpegAvi
from mocap.capture_results import (
    MANIFEST_FILE,
    CameraReport,
    RecordingResult,
    result_json,
    start_manifest,
    write_json_atomic,
)
from mocap.capture_stats import camera_stats, safe_period, sync_stats
from mocap.sources import FrameSource, RecordingError, TimedFrame
from mocap.sync import HINGELAB_HEADER, TIMESTAMPS_FILE, FrameTimes


class FrameTap(Protocol):
    """Receives every grabbed frame as well (live mode's :class:`~mocap.live_sets.LatestSets`)."""

    def put(self, camera: str, frame: TimedFrame) -> None:
        """A frame of ``camera``, called from its grabbing thread: must return quickly."""

    def stop(self, camera: str) -> None:
        """``camera`` has stopped delivering frames."""


MAX_BACKLOG_S = 5.0
"""Frames wait at most this long's worth (at the nominal rate) for the disk: beyond it a
live source's frame is not written (a stalled disk must not fill the memory; the gap it
leaves in the timestamps counts it as dropped, and the recording says so), and a source
read as fast as possible waits."""


def waits_for_disk(source: FrameSource) -> bool:
    """Whether ``source`` can wait for the disk (a file read as fast as possible)."""
    return getattr(source, "realtime", True) is False


class CaptureError(RecordingError):
    """A recording that cannot start (output folder, sources); the message says why."""


@dataclass(frozen=True)
class CaptureSettings:
    """How to record.

    Attributes
    ----------
    fps : float or None
        Nominal frame rate, Hz: the period drops are counted against (default: the
        median interval between frames) and the videos' declared rate.
    duration_s : float or None
        Stop after this long (default: at Ctrl-C or when every source has ended).
    flush_s : float
        Write frames and timestamps at least this often, seconds.
    report_s : float
        One report line this often, seconds (0: none).
    jpeg_quality : int
        JPEG quality of the video frames, 0-100.
    requested : mapping
        Camera settings asked for (size, fps, pixel format), stored in the manifest.
    """

    fps: float | None = None
    duration_s: float | None = None
    flush_s: float = 0.5
    report_s: float = 1.0
    jpeg_quality: int = 90
    requested: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Grabbed:
    """A frame waiting to be written: grab time, JPEG bytes, (width, height)."""

    time: float
    jpeg: bytes
    size: tuple[int, int]


class _Camera:
    """One source, its grabbing thread, its video and its flushed timestamps."""

    def __init__(
        self, source: FrameSource, folder: Path, quality: int, fps: float, tap: FrameTap | None
    ) -> None:
        self.source = source
        self.tap = tap
        self.name = source.name
        self.path = folder / f"{source.name}.avi"
        self.quality = quality
        self.fps = fps
        self.lock = threading.Lock()
        self.pending: list[_Grabbed] = []
        self.backlog = max(1, math.ceil(fps * MAX_BACKLOG_S))
        self.unwritten = 0
        self.unwritten_reported = 0
        self.times: list[float] = []
        self.video: MjpegAvi | None = None
        self.stopped = ""
        self.failed = False
        self.reported = False
        self.thread = threading.Thread(target=self._grab, name=f"grab-{self.name}", daemon=True)
        self.stop = threading.Event()

    def _grab(self) -> None:
        """Thread: grab, encode and queue frames until stopped or the source ends."""
        params = [cv2.IMWRITE_JPEG_QUALITY, self.quality]
        try:
            for frame in self.source.timed():
                if self.stop.is_set():
                    return
                if self.tap is not None:
                    self.tap.put(self.name, frame)
                ok, jpeg = cv2.imencode(".jpg", frame.image, params)
                if not ok:
                    raise RecordingError(f"camera {self.name}: cannot encode a frame")
                size = (int(frame.image.shape[1]), int(frame.image.shape[0]))
                self._keep(_Grabbed(frame.time, jpeg.tobytes(), size))
            self.stopped = "no more frames"
        except (RecordingError, OSError, cv2.error) as error:
            self.stopped, self.failed = str(error), True
        finally:
            if self.tap is not None:
                self.tap.stop(self.name)

    def _keep(self, frame: _Grabbed) -> None:
        """Queue a frame for the disk: wait (files) or leave it out (live) when it is behind."""
        while waits_for_disk(self.source) and not self.stop.is_set():
            with self.lock:
                if len(self.pending) < self.backlog:
                    break
            time.sleep(0.005)
        with self.lock:
            if len(self.pending) >= self.backlog:
                self.unwritten += 1
            else:
                self.pending.append(frame)

    def flush(self) -> list[tuple[str, int, float]]:
        """Write queued frames to the video; their (camera, frame, time) rows."""
        with self.lock:
            grabbed, self.pending = self.pending, []
        if not grabbed:
            return []
        if self.video is None:
            self.video = MjpegAvi(self.path, grabbed[0].size, self.fps)
        for frame in grabbed:
            self.video.add(frame.jpeg)
        self.video.flush()
        first = len(self.times)
        self.times.extend(frame.time for frame in grabbed)
        return [(self.name, first + i, frame.time) for i, frame in enumerate(grabbed)]

    def frame_times(self, since: float = -np.inf) -> FrameTimes:
        """Flushed frames (those at or after ``since``) as FrameTimes."""
        times = np.asarray(self.times, dtype=np.float64)
        keep = np.flatnonzero(times >= since)
        return FrameTimes(self.name, keep, times[keep], str(self.path))


def _prepare_folder(folder: Path, sources: Sequence[FrameSource]) -> None:
    """Create the output folder; refuse one holding a recording, or duplicate names."""
    names = [source.name for source in sources]
    if not names:
        raise CaptureError("nothing to record: no cameras or sources given")
    if len(set(names)) != len(names):
        raise CaptureError(f"two sources share a camera name: {', '.join(names)}")
    if folder.exists() and any(folder.iterdir()):
        raise CaptureError(f"{folder}: the output folder exists and is not empty")
    folder.mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def _sigint_sets(event: threading.Event) -> Iterator[None]:
    """While inside, Ctrl-C (SIGINT) sets ``event`` instead of raising (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda *_: event.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _Session:
    """The open files of a running recording and its live report."""

    def __init__(
        self,
        folder: Path,
        cameras: list[_Camera],
        settings: CaptureSettings,
        report: Callable[[str], None],
    ) -> None:
        self.folder = folder
        self.cameras = cameras
        self.settings = settings
        self.report = report
        self.csv = (folder / TIMESTAMPS_FILE).open("w", encoding="utf-8", newline="")
        self.csv.write(",".join(HINGELAB_HEADER) + "\n")
        self.csv.flush()
        self.start = time.monotonic()
        self.manifest = start_manifest([c.source for c in cameras], settings.requested)
        write_json_atomic(folder / MANIFEST_FILE, self.manifest)

    def flush(self) -> None:
        """Videos first, then their timestamp rows: the csv never names an unwritten frame."""
        rows = [row for camera in self.cameras for row in camera.flush()]
        self.csv.writelines(f"{name},{frame},{when:.6f}\n" for name, frame, when in rows)
        self.csv.flush()

    def period(self) -> float:
        """Frame period, seconds: nominal when given, else the median interval."""
        if self.settings.fps:
            return 1.0 / self.settings.fps
        return safe_period({c.name: c.frame_times() for c in self.cameras}, 1 / 30)

    def report_stopped(self, stop: threading.Event) -> None:
        """One line for each camera that has stopped while others go on.

        A file read as fast as possible that simply ended is not such a camera: when it
        ends says nothing (it waits for the disk); whether it ended early is judged by its
        frames' times at the end (:meth:`stopped_early`).
        """
        alive = sum(c.thread.is_alive() for c in self.cameras)
        for camera in self.cameras:
            if camera.thread.is_alive() or camera.reported or stop.is_set() or not alive:
                continue
            if waits_for_disk(camera.source) and not camera.failed:
                continue
            camera.reported = True
            self.report(
                f"{camera.name} stopped after {len(camera.times)} frames "
                f"({camera.stopped}); {alive} cameras go on"
            )

    def report_backlog(self) -> None:
        """One line for each camera that has left frames unwritten since the last one."""
        for camera in self.cameras:
            if camera.unwritten > camera.unwritten_reported:
                camera.unwritten_reported = camera.unwritten
                self.report(
                    f"{camera.name}: the disk falls behind: {camera.unwritten} frames not "
                    f"written so far (over {MAX_BACKLOG_S:g} s waiting); counted as dropped"
                )

    def stopped_early(self, camera: _Camera, period: float) -> str:
        """Why ``camera`` stopped before the others ('' when it did not).

        A camera stopped early when its source failed, or when its last frame is more
        than two periods before the last frame of the recording.
        """
        latest = max((c.times[-1] for c in self.cameras if c.times), default=0.0)
        behind = not camera.times or latest - camera.times[-1] > 2 * period
        if camera.failed or (camera.stopped and (behind or camera.reported)):
            return camera.stopped
        return ""

    def live_line(self) -> str:
        """Rate and drops of the last ``report_s`` and the sync spread of its sets."""
        latest = max((c.times[-1] for c in self.cameras if c.times), default=0.0)
        since = latest - self.settings.report_s
        period = self.period()
        parts = [f"{time.monotonic() - self.start:6.1f} s"]
        window = {}
        for camera in self.cameras:
            recent = camera.frame_times(since)
            window[camera.name] = recent
            total = camera_stats(camera.frame_times(), period)
            fps = camera_stats(recent, period).fps
            parts.append(
                f"{camera.name} {total.frames} frames {fps:.1f} fps {total.dropped} dropped"
            )
        seen = {name: t for name, t in window.items() if len(t)}
        if seen:
            _, sync = sync_stats(seen, period)
            parts.append(
                f"spread {sync.spread_median_ms:.1f}/{sync.spread_max_ms:.1f} ms (median/max)"
            )
        return " | ".join(parts)

    def result(self, interrupted: bool) -> RecordingResult:
        """Close the files and measure the whole recording."""
        for camera in self.cameras:
            if camera.video is not None:
                camera.video.close()
        self.csv.close()
        period = self.period()
        reports = tuple(
            CameraReport(
                c.name, camera_stats(c.frame_times(), period), self.stopped_early(c, period)
            )
            for c in self.cameras
        )
        times = {c.name: c.frame_times() for c in self.cameras if c.times}
        sync = sync_stats(times, period)[1] if times else None
        result = RecordingResult(
            self.folder, reports, sync, time.monotonic() - self.start, interrupted
        )
        for camera in self.cameras:
            if camera.video is not None:
                self.manifest["cameras"][camera.name]["size"] = list(camera.video.size)
        self.manifest["ended"] = datetime.datetime.now(datetime.timezone.utc).isoformat()
        self.manifest["result"] = result_json(result)
        write_json_atomic(self.folder / MANIFEST_FILE, self.manifest)
        return result


def record(
    sources: Sequence[FrameSource],
    folder: str | os.PathLike[str],
    settings: CaptureSettings | None = None,
    report: Callable[[str], None] = print,
    stop: threading.Event | None = None,
    tap: FrameTap | None = None,
) -> RecordingResult:
    """Record every source into ``folder`` until Ctrl-C, ``duration_s``, or all have ended.

    Parameters
    ----------
    sources : sequence of FrameSource
        One per camera; their names become the video stems. Each is read by its own
        thread through :meth:`FrameSource.timed`.
    folder : str or PathLike
        Output folder: created, or empty.
    settings : CaptureSettings, optional
        Frame rate, duration, flush and report intervals.
    report : callable
        Called with each live line (default ``print``).
    stop : threading.Event, optional
        Set it to end the recording (Ctrl-C sets it too).
    tap : FrameTap, optional
        Also given every frame as grabbed (live processing while recording).

    Returns
    -------
    RecordingResult
        Per-camera frames, rate, drops and stop reason; the sets' spread.

    Raises
    ------
    CaptureError
        When the folder holds a recording already or two sources share a name.
    """
    settings = settings or CaptureSettings()
    folder = Path(folder)
    _prepare_folder(folder, sources)
    fps = settings.fps or getattr(sources[0], "fps", None) or 30.0
    cameras = [_Camera(source, folder, settings.jpeg_quality, fps, tap) for source in sources]
    session = _Session(folder, cameras, settings, report)
    stop = stop or threading.Event()
    with _sigint_sets(stop):
        for camera in cameras:
            camera.thread.start()
        try:
            _run(session, stop)
        finally:
            interrupted = stop.is_set()
            for camera in cameras:
                camera.stop.set()
            for camera in cameras:
                camera.thread.join(timeout=2.0)
    session.flush()
    session.report_backlog()
    return session.result(interrupted)


def _remaining(session: _Session) -> float:
    """Seconds left of the recording's ``duration_s`` (infinite without one)."""
    limit = session.settings.duration_s
    return math.inf if limit is None else limit - (time.monotonic() - session.start)


def _run(session: _Session, stop: threading.Event) -> None:
    """Flush and report until stopped, timed out, or every camera has ended."""
    settings = session.settings
    next_report = session.start + settings.report_s
    while not stop.wait(max(0.0, min(settings.flush_s, _remaining(session)))):
        session.flush()
        session.report_stopped(stop)
        session.report_backlog()
        if settings.report_s > 0 and time.monotonic() >= next_report:
            next_report += settings.report_s
            session.report(session.live_line())
        alive = any(camera.thread.is_alive() for camera in session.cameras)
        if _remaining(session) <= 0 or not alive:
            break
    session.flush()
    session.report_stopped(stop)
    session.report_backlog()
