"""``mocap record --sources`` on small videos, a recording killed with -9, no camera here."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from mocap.capture_devices import parse_v4l2_formats
from mocap.cli import main
from mocap.sources import open_recording
from mocap.sync import find_timestamps, pair_frames

ROOT = Path(__file__).resolve().parents[1]
SIZE = (64, 48)
FPS = 30.0
NO_CAMERA = not any(Path("/dev").glob("video[0-9]*"))


def _video(path: Path, frames: int) -> Path:
    """An MJPG .avi of flat grey frames whose level is the frame index mod 250."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, SIZE, True)
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((SIZE[1], SIZE[0], 3), i % 250, dtype=np.uint8))
    writer.release()
    return path


def _count(path: Path) -> int:
    """Frames that decode."""
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def test_record_sources_writes_what_sync_and_open_recording_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = _video(tmp_path / "left.avi", 60), _video(tmp_path / "right.avi", 45)
    out = tmp_path / "trial_01"
    assert main(["record", "--sources", f"{a},{b}", "--fast", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "left: 60 frames" in printed
    assert "right: 45 frames" in printed
    assert "right: 45 frames, 30.0 fps, 0 dropped; stopped: no more frames" in printed
    videos = open_recording(out)
    assert {n: v.frame_count for n, v in videos.items()} == {"left": 60, "right": 45}
    assert _count(out / "left.avi") == 60  # the index agrees with what decodes
    times = find_timestamps(out, list(videos))
    assert {n: len(t) for n, t in times.items()} == {"left": 60, "right": 45}
    # --fast stamps frame i at start + i / 30 s: steps exact to the csv's 1 us
    assert np.allclose(np.diff(times["left"].times), 1 / FPS, atol=2e-6)
    pairing = pair_frames(times)
    assert pairing.n_sets == 60  # both threads start within a few ms: frame i pairs with i
    assert dict(pairing.unpaired) == {"left": 0, "right": 0}
    manifest = json.loads((out / "session.json").read_text())
    assert manifest["software"].startswith("hingelab")
    assert manifest["result"]["cameras"]["left"]["frames"] == 60


def _live_frames(line: str) -> dict[str, int]:
    """Per camera, the flushed frame count a live report line gives."""
    return {m[0]: int(m[1]) for m in re.findall(r"(\w+) (\d+) frames", line)}


def test_kill_9_keeps_every_frame_up_to_the_last_flush(tmp_path: Path) -> None:
    """Real-time playback killed 2.7 s in, between flushes: at most 1 s (30 frames) lost.

    Flushes come every 0.5 s, so about 15 frames are expected lost; the videos, their
    indexes, timestamps.csv and the manifest must agree on every frame kept.
    """
    a, b = _video(tmp_path / "a.avi", 300), _video(tmp_path / "b.avi", 300)
    out = tmp_path / "rec"
    command = [sys.executable, "-m", "mocap", "record", "--sources", f"{a},{b}", "--out", str(out)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    last = ""
    for line in process.stdout:  # live lines once per second, printed after a flush
        if re.match(r"\s*\d", line):
            last = line
            if float(line.split()[0]) >= 2.0:
                break
    time.sleep(0.7)  # between two flushes, after the report line
    killed_at = time.monotonic()  # CLOCK_MONOTONIC: the same clock as the recorder's
    process.kill()
    process.wait(timeout=10)
    assert process.returncode == -9
    reported = _live_frames(last)
    videos = open_recording(out)
    times = find_timestamps(out, list(videos))
    manifest = json.loads((out / "session.json").read_text())  # the start manifest
    assert set(manifest["cameras"]) == {"a", "b"}
    for name in ("a", "b"):
        kept = len(times[name])
        # frames grabbed before the kill, at 30 fps from the first timestamp
        written = int((killed_at - times[name].times[0]) * FPS) + 1
        print(f"{name}: written ~{written}, reported {reported[name]}, kept {kept}")
        assert videos[name].frame_count == _count(videos[name].path) == kept
        assert kept > reported[name] >= 45  # the report's frames, then at least one flush
        assert written - kept <= FPS  # at most 1 s lost


@pytest.mark.skipif(not NO_CAMERA, reason="this machine has a camera")
def test_no_camera_is_said_in_one_line(tmp_path: Path) -> None:
    for args, code in ((["cameras"], 1), (["record", "--cameras", "0", "--out", "x"], 2)):
        done = subprocess.run(
            [sys.executable, "-m", "mocap", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        lines = (done.stdout + done.stderr).strip().splitlines()
        assert (done.returncode, len(lines)) == (code, 1), lines
        assert "no camera" in lines[0] or "no such camera" in lines[0]
    assert not (tmp_path / "x").exists()  # nothing written


def test_v4l2_modes_are_listed_per_format_and_size() -> None:
    text = """ioctl: VIDIOC_ENUM_FMT
	[0]: 'MJPG' (Motion-JPEG, compressed)
		Size: Discrete 1280x720
			Interval: Discrete 0.033s (30.000 fps)
			Interval: Discrete 0.017s (60.000 fps)
		Size: Discrete 640x480
			Interval: Discrete 0.033s (30.000 fps)
	[1]: 'YUYV' (YUYV 4:2:2)
		Size: Discrete 640x480
			Interval: Discrete 0.200s (5.000 fps)
"""
    assert parse_v4l2_formats(text) == (
        "MJPG 1280x720@30,60",
        "MJPG 640x480@30",
        "YUYV 640x480@5",
    )
