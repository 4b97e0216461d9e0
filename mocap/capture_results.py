"""What a recording reports and stores: per-camera results and the session manifest.

The manifest (``session.json``) is written atomically (a temporary file renamed) when a
recording starts and again, with the results, when it ends; see ``docs/capture.md``.
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mocap.capture_stats import CameraStats, SyncStats
from mocap.sources import FrameSource
from mocap.sync import TIMESTAMPS_FILE
from mocap.version import software_version

MANIFEST_FILE = "session.json"
"""Name of a recording's manifest."""


@dataclass(frozen=True)
class CameraReport:
    """What one camera recorded.

    Attributes
    ----------
    name : str
        Camera name (its video's stem).
    stats : CameraStats
        Frames, achieved rate and dropped frames.
    stopped : str
        Why the camera stopped before the recording ended ('' when it did not).
    """

    name: str
    stats: CameraStats
    stopped: str


@dataclass(frozen=True)
class RecordingResult:
    """A finished recording.

    Attributes
    ----------
    folder : Path
        Where the files are.
    cameras : tuple of CameraReport
        Per camera, in the order given.
    sync : SyncStats or None
        Synchronized sets and their spread (None when no frame was recorded).
    duration_s : float
        Wall-clock length, seconds.
    interrupted : bool
        Ended by Ctrl-C.
    """

    folder: Path
    cameras: tuple[CameraReport, ...]
    sync: SyncStats | None
    duration_s: float
    interrupted: bool

    def lines(self) -> list[str]:
        """The end-of-recording summary, one line per camera and one for the sets."""
        out = [f"recorded {len(self.cameras)} cameras for {self.duration_s:.1f} s: {self.folder}"]
        for camera in self.cameras:
            s = camera.stats
            stop = f"; stopped: {camera.stopped}" if camera.stopped else ""
            out.append(
                f"  {camera.name}: {s.frames} frames, {s.fps:.1f} fps, {s.dropped} dropped{stop}"
            )
        if self.sync is not None:
            out.append("  " + describe_sync(self.sync))
        if self.interrupted:
            out.append("  ended by Ctrl-C")
        return out


def describe_sync(sync: SyncStats) -> str:
    """One line: sets, complete sets, spread median and max."""
    return (
        f"{sync.sets} synchronized sets ({sync.complete} with every camera), spread median "
        f"{sync.spread_median_ms:.1f} ms, max {sync.spread_max_ms:.1f} ms"
    )


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as JSON to a temporary file beside ``path``, then rename it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        json.dump(data, stream, indent=2)
        stream.flush()
        os.fsync(stream.fileno())
    Path(tmp).chmod(0o644)
    Path(tmp).replace(path)


def source_info(source: FrameSource) -> dict[str, Any]:
    """What the manifest says about a source: its kind and settings."""
    info: dict[str, Any] = {"kind": type(source).__name__, "size": list(source.size)}
    for key in ("device", "fps", "realtime"):
        if hasattr(source, key):
            info[key] = getattr(source, key)
    path = getattr(source, "path", None) or getattr(getattr(source, "video", None), "path", None)
    if path is not None:
        info["path"] = str(path)
    return info


def start_manifest(sources: Sequence[FrameSource], requested: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest written when the recording starts: sources, settings, version, clock."""
    return {
        "format": "hingelab-session",
        "version": 1,
        "software": software_version(),
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "clock": "time.monotonic, seconds",
        "started_monotonic": time.monotonic(),
        "requested": dict(requested),
        "timestamps": TIMESTAMPS_FILE,
        "cameras": {
            s.name: {"video": f"{s.name}.avi", "codec": "MJPG", "source": source_info(s)}
            for s in sources
        },
    }


def result_json(result: RecordingResult) -> dict[str, Any]:
    """What the manifest stores of a finished recording."""
    cameras = {
        c.name: {
            "frames": c.stats.frames,
            "fps": _finite(c.stats.fps),
            "dropped": c.stats.dropped,
            "stopped": c.stopped,
        }
        for c in result.cameras
    }
    sync = None
    if result.sync is not None:
        s = result.sync
        sync = {
            "sets": s.sets,
            "complete_sets": s.complete,
            "spread_median_ms": _finite(s.spread_median_ms),
            "spread_max_ms": _finite(s.spread_max_ms),
            "period_s": s.period_s,
        }
    return {
        "duration_s": result.duration_s,
        "interrupted": result.interrupted,
        "cameras": cameras,
        "sync": sync,
    }


def _finite(value: float) -> float | None:
    """``value``, or None for NaN (JSON has no NaN)."""
    return float(value) if np.isfinite(value) else None
