"""Recording synthetic cameras: sync grouping, drops and a stopped camera against the truth."""

from __future__ import annotations

import os
import re
import signal
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from mocap import capture
from mocap.capture import CaptureError, CaptureSettings, record
from mocap.capture_avi import MjpegAvi
from mocap.capture_sources import SyntheticSource
from mocap.capture_stats import dropped_frames
from mocap.sources import open_recording
from mocap.sync import find_timestamps, pair_frames

PERIOD = 1 / 30
N_SETS = 200
DROPS = {"a": (), "b": (10, 11, 57), "c": (100,), "d": ()}
LAST_SET_D = 149  # camera d stops (fails) after this set


def _cameras(seed: int = 0, realtime: bool = False) -> tuple[list[SyntheticSource], dict]:
    """Four 30 fps cameras with known sets: 1 ms clock offsets, +-3 ms jitter, drops, a stop.

    Returns the sources and, per camera, the true frame -> set mapping. A set spreads at
    most 2 + 6 = 8 ms, under a quarter period (8.3 ms), so the pairing must be exact.
    """
    rng = np.random.default_rng(seed)
    sources, truth = [], {}
    for name, dropped in DROPS.items():
        last = LAST_SET_D if name == "d" else N_SETS - 1
        sets = np.setdiff1d(np.arange(last + 1), dropped)
        offset = rng.uniform(-0.001, 0.001)
        times = 100.0 + sets * PERIOD + offset + rng.uniform(-0.003, 0.003, len(sets))
        sources.append(SyntheticSource(name, times, realtime=realtime, fail=name == "d"))
        truth[name] = dict(enumerate(sets.tolist()))
    return sources, truth


def _levels(path: Path) -> list[int]:
    """Mean grey level of each frame of a video."""
    capture = cv2.VideoCapture(str(path))
    levels = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        levels.append(round(float(image.mean())))
    capture.release()
    return levels


def test_four_cameras_group_as_the_truth_drops_exact_stopped_camera_reported(
    tmp_path: Path,
) -> None:
    sources, truth = _cameras()
    lines: list[str] = []
    result = record(sources, tmp_path / "rec", CaptureSettings(report_s=0), report=lines.append)
    by_name = {c.name: c for c in result.cameras}
    # drops come from timestamp gaps: each dropped set leaves one interval of 2 periods
    assert {n: c.stats.dropped for n, c in by_name.items()} == {"a": 0, "b": 3, "c": 1, "d": 0}
    assert {n: c.stats.frames for n, c in by_name.items()} == {n: len(t) for n, t in truth.items()}
    assert "stopped delivering frames" in by_name["d"].stopped
    assert [by_name[n].stopped for n in "abc"] == ["", "", ""]  # the others went on to the end
    # complete sets: 200 minus those b (3) and c (1) dropped and the 50 after d stopped
    assert (result.sync.sets, result.sync.complete) == (N_SETS, N_SETS - 3 - 1 - 50)
    assert result.sync.spread_max_ms < 8.0  # offsets 2 ms + jitter 6 ms at most
    # what was written reads back through mocap.sync: the pairing equals the truth
    folder = tmp_path / "rec"
    videos = open_recording(folder)
    times = find_timestamps(folder, list(videos))
    pairing = pair_frames(times)
    assert pairing.n_sets == N_SETS
    for name in DROPS:
        assert videos[name].frame_count == len(truth[name])
        assert dict(pairing.set_of[name]) == truth[name], name
    # a synthetic frame's grey level is its index mod 250; JPEG keeps flat grey within 2
    levels = np.array(_levels(folder / "b.avi"))
    assert np.max(np.abs(levels - np.arange(len(truth["b"])) % 250)) <= 2


def test_live_lines_and_a_stopped_camera_while_the_others_go_on(tmp_path: Path) -> None:
    """Real-time synthetic cameras for 1.2 s; d fails after 0.3 s (10 frames)."""
    times = 100.0 + np.arange(36) * PERIOD
    sources = [SyntheticSource(n, times, realtime=True) for n in "abc"]
    sources.append(SyntheticSource("d", times[:10], realtime=True, fail=True))
    lines: list[str] = []
    settings = CaptureSettings(flush_s=0.1, report_s=0.4)
    result = record(sources, tmp_path / "rec", settings, report=lines.append)
    stopped = [line for line in lines if line.startswith("d stopped")]
    assert stopped == ["d stopped after 10 frames (camera d: stopped delivering frames "
                       "(synthetic)); 3 cameras go on"]  # fmt: skip
    live = [line for line in lines if "fps" in line]
    assert len(live) >= 2  # one every 0.4 s over 1.2 s
    assert re.match(r"\s*[\d.]+ s \| a \d+ frames [\d.]+ fps 0 dropped \| b ", live[0])
    assert "ms (median/max)" in live[0]
    assert [c.stats.frames for c in result.cameras] == [36, 36, 36, 10]
    # fps from times 1/30 s apart exactly
    assert result.cameras[0].stats.fps == pytest.approx(30.0, rel=1e-9)


def test_sigint_ends_a_recording_cleanly(tmp_path: Path) -> None:
    """Ctrl-C after 0.5 s: the videos are closed (indexed) and match timestamps.csv."""
    times = np.arange(300) * PERIOD  # 10 s if not stopped
    sources = [SyntheticSource(n, times, realtime=True) for n in ("a", "b")]
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
    result = record(sources, tmp_path / "rec", CaptureSettings(report_s=0), report=print)
    assert result.interrupted
    assert result.duration_s < 2.0  # stopped within a flush of the signal, not after 10 s
    videos = open_recording(tmp_path / "rec")
    written = find_timestamps(tmp_path / "rec", list(videos))
    for name, video in videos.items():
        assert video.frame_count == len(written[name]) == len(_levels(video.path)) > 5


def test_drops_are_counted_from_timestamp_gaps() -> None:
    """Gaps of 2 and 3 periods (with 3 ms jitter) lose 1 and 2 frames."""
    times = np.array([0, 1, 3, 4, 7, 8]) * PERIOD + np.array([0, 3, -3, 0, 3, -3]) * 1e-3
    assert dropped_frames(times, PERIOD) == 3


def test_the_video_holds_every_flushed_frame_before_close(tmp_path: Path) -> None:
    """An unclosed writer (as after kill -9) leaves a video of the flushed frames only."""
    video = MjpegAvi(tmp_path / "v.avi", (64, 48), 30.0)
    for level in range(12):
        _, jpeg = cv2.imencode(".jpg", np.full((48, 64, 3), 10 * level, np.uint8))
        video.add(jpeg.tobytes())
        if level == 7:
            video.flush()
    assert _levels(tmp_path / "v.avi") == [10 * i for i in range(8)]  # flat grey: JPEG exact
    video.close()
    assert _levels(tmp_path / "v.avi") == [10 * i for i in range(12)]


def test_a_used_folder_and_repeated_names_are_refused(tmp_path: Path) -> None:
    source = SyntheticSource("a", np.arange(3) * PERIOD)
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "a.avi").write_bytes(b"x")
    with pytest.raises(CaptureError, match="not empty"):
        record([source], tmp_path / "old")
    with pytest.raises(CaptureError, match="share a camera name"):
        record([source, source], tmp_path / "new")


def test_a_file_read_as_fast_as_possible_waits_for_the_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same backlog with a source that can wait: every frame is written, none lost."""
    monkeypatch.setattr(capture, "MAX_BACKLOG_S", 0.1)
    times = 100.0 + np.arange(60) * PERIOD
    settings = CaptureSettings(fps=1 / PERIOD, flush_s=0.05, report_s=0)
    result = record([SyntheticSource("a", times)], tmp_path / "r", settings, lambda _: None)
    assert result.cameras[0].stats.frames == 60
    assert result.cameras[0].stats.dropped == 0


def test_a_duration_ends_the_recording_on_time(tmp_path: Path) -> None:
    """0.4 s of a 30 fps source: frames 0..12 (t = 0 .. 0.4 s), give or take one."""
    source = SyntheticSource("a", np.arange(300) * PERIOD, realtime=True)
    settings = CaptureSettings(duration_s=0.4, report_s=0)
    result = record([source], tmp_path / "rec", settings, report=print)
    assert not result.interrupted
    assert result.duration_s == pytest.approx(0.4, abs=0.1)  # the wait ends at the limit
    assert abs(result.cameras[0].stats.frames - 13) <= 2  # thread start and join jitter


def test_detection_and_calibration_open_a_recording_by_time(tmp_path: Path) -> None:
    """The jobs that read recordings pair the recorded frames into the true 200 sets."""
    from mocap.calibrate_job import open_calibration_recording  # noqa: PLC0415 (heavy)
    from mocap.detect_job import open_detection_recording  # noqa: PLC0415 (heavy)

    sources, truth = _cameras(seed=2)
    record(sources, tmp_path / "rec", CaptureSettings(report_s=0), report=print)
    detection = open_detection_recording(tmp_path / "rec")
    calibration = open_calibration_recording(tmp_path / "rec")
    for pairing in (detection.pairing, calibration.pairing):
        assert pairing.n_sets == N_SETS
        assert {n: dict(pairing.set_of[n]) for n in DROPS} == truth
    # the set times' steps are the 30 fps period: the detection's rate within 0.1 %
    assert detection.fps == pytest.approx(30.0, rel=1e-3)


def test_a_disk_that_falls_behind_loses_counted_frames_not_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A camera with a 3-frame backlog, far faster than the flushes: exact accounting.

    Every frame is either in the video or counted as not written, and the timestamps'
    gaps count exactly the unwritten ones between the first and last written frame as
    dropped (regular times, no jitter to blur it).
    """
    monkeypatch.setattr(capture, "MAX_BACKLOG_S", 0.1)  # 3 frames at 30 fps
    monkeypatch.setattr(capture, "waits_for_disk", lambda _: False)  # as a camera
    times = 100.0 + np.arange(300) * PERIOD
    lines: list[str] = []
    settings = CaptureSettings(fps=1 / PERIOD, flush_s=0.2, report_s=0)
    result = record([SyntheticSource("a", times)], tmp_path / "r", settings, lines.append)
    written = result.cameras[0].stats.frames
    unwritten = 300 - written
    assert 0 < unwritten < 300
    assert len(_levels(tmp_path / "r" / "a.avi")) == written
    assert f"{unwritten} frames not written" in [x for x in lines if "disk falls" in x][-1]
    kept = find_timestamps(tmp_path / "r", ["a"])["a"].times
    index = np.rint((kept - times[0]) / PERIOD).astype(int)
    assert result.cameras[0].stats.dropped == index[-1] - index[0] + 1 - written
