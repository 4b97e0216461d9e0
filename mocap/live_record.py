"""Live mode's recording, main-process side: ``timestamps.csv``, ``trial.h5``, ``session.json``.

With a recording folder each camera's worker (:mod:`mocap.live_worker`) writes its
``<camera>.avi`` and, after every flush, sends the ``(frame, time)`` rows of the frames it
wrote; :class:`LiveRecorder` writes them to ``timestamps.csv``, so the csv never names a
frame the video lacks. It appends every published 3D frame
(:class:`mocap.live.LiveFrame`) to ``trial.h5`` (:class:`~mocap.trial.TrialAppender`,
SWMR) and flushes it every ``flush_s``, and writes the manifest (``session.json``) at the
start and, with the recording's result and the live numbers, at the end.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mocap.capture import _prepare_folder
from mocap.capture_results import (
    MANIFEST_FILE,
    CameraReport,
    RecordingResult,
    result_json,
    start_manifest,
    write_json_atomic,
)
from mocap.capture_stats import camera_stats, sync_stats
from mocap.live_stats import LiveSummary
from mocap.skeleton import HINGELAB_KEYPOINTS
from mocap.sources import FrameSource
from mocap.sync import HINGELAB_HEADER, TIMESTAMPS_FILE, FrameTimes
from mocap.trial import TrialAppender, TrialInfo

if TYPE_CHECKING:  # the session imports this module
    from mocap.live import LiveFrame

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
        self.trial_lock = threading.Lock()
        """Guards ``pending`` and the trial file: the pipeline adds, a timer thread flushes."""
        self.trial_closed = False
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
        with self.trial_lock:
            self.pending.append(frame)
        self.flush_due()

    def flush_due(self) -> None:
        """Append and flush the queued frames when ``flush_s`` has passed since the last."""
        if time.monotonic() - self.flushed_at >= self.flush_s:
            self.flush()

    def flush(self) -> None:
        """Append the queued frames to the trial file and make them visible to readers."""
        with self.trial_lock:
            self._flush()

    def _flush(self) -> None:
        """``flush`` with the lock held."""
        if self.trial_closed:
            return
        frames = list(self.pending)
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
        del self.pending[: len(frames)]  # only once they are on disk (a failure keeps them)

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
        with self.trial_lock:
            self._flush()
            self.trial.close()
            self.trial_closed = True
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
