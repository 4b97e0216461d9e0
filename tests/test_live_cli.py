"""``mocap live``: bad input is one clear line (exit status 2) before anything starts."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_live_helpers import live_scene

from calibration.toml_io import calibration_to_toml
from mocap.cli import main
from mocap.cli_live import _headless, _until


@pytest.fixture
def calibration(tmp_path: Path) -> Path:
    """The synthetic rig's calibration: cameras cam_1, cam_2, cam_3 of 320x240 px."""
    from calibration.toml_io import CalibrationMetadata  # noqa: PLC0415

    path = tmp_path / "calibration.toml"
    path.write_text(calibration_to_toml(live_scene(3).rig, CalibrationMetadata()))
    return path


def _video(path: Path, size: tuple[int, int] = (320, 240)) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, size, True)
    for i in range(5):
        writer.write(np.full((size[1], size[0], 3), i, np.uint8))
    writer.release()
    return path


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run ``mocap live`` expecting failure: exit status 2 and exactly one stderr line."""
    assert main(["live", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_a_video_of_no_calibrated_camera(
    tmp_path: Path, calibration: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    videos = [_video(tmp_path / "cam_1.avi"), _video(tmp_path / "cam_9.avi")]
    line = _error(
        capsys,
        ["--sources", ",".join(map(str, videos)), "--calibration", str(calibration), "--no-view"],
    )
    assert line == (
        f"mocap live: error: camera 'cam_9' is not in the calibration {calibration} "
        "(it has cam_1, cam_2, cam_3)"
    )


def test_a_missing_video_file(
    tmp_path: Path, calibration: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "cam_2.mp4"
    argv = ["--sources", str(missing), "--calibration", str(calibration), "--no-view"]
    assert _error(capsys, argv) == f"mocap live: error: {missing}: no such video file"


def test_a_missing_calibration_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    video = _video(tmp_path / "cam_1.avi")
    line = _error(capsys, ["--sources", str(video), "--calibration", "nope.toml", "--no-view"])
    assert line.startswith("mocap live: error: ")
    assert "nope.toml" in line


def test_a_video_of_another_size(
    tmp_path: Path, calibration: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video = _video(tmp_path / "cam_1.avi", (640, 480))
    line = _error(capsys, ["--sources", str(video), "--calibration", str(calibration), "--no-view"])
    assert line == (
        f"mocap live: error: {calibration}: camera 'cam_1' is calibrated for 320x240 px "
        "images, its video is 640x480 px"
    )


def test_no_camera_on_this_machine(calibration: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if Path("/dev/video1").exists():
        pytest.skip("this machine has a camera 1")
    line = _error(capsys, ["--cameras", "1", "--calibration", str(calibration), "--no-view"])
    assert line == "mocap live: error: camera 1: no such camera (/dev/video1 does not exist)"


def test_a_recording_folder_that_is_not_empty(
    tmp_path: Path, calibration: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    videos = [_video(tmp_path / f"cam_{c}.avi") for c in (1, 2)]
    folder = tmp_path / "rec"
    folder.mkdir()
    (folder / "old.txt").write_text("x")
    argv = ["--sources", ",".join(map(str, videos)), "--calibration", str(calibration)]
    line = _error(capsys, [*argv, "--record", str(folder), "--no-view"])
    assert line == f"mocap live: error: {folder}: the output folder exists and is not empty"


def test_no_display_for_the_viewer(
    tmp_path: Path,
    calibration: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    video = _video(tmp_path / "cam_1.avi")
    line = _error(capsys, ["--sources", str(video), "--calibration", str(calibration)])
    assert line.startswith("mocap live: error: cannot open a window: no display")
    assert line.endswith("(or use --no-view)")


def test_headless_status_lines_and_summary(
    tmp_path: Path,
    calibration: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two looped 30 fps videos for 2.5 s, the synthetic detector in place of MediaPipe.

    The frames carry no stamp, so the detector reports truth row 0 (a fixed pose) in every
    frame: each set triangulates the same 37 points. Checked: one status line per second
    in the documented form, and the summary's 3D line and one line per camera.
    """
    import mocap.detect_job  # noqa: PLC0415

    scene = live_scene(3)
    monkeypatch.setattr(mocap.detect_job, "default_detector", lambda: scene.factory)
    videos = [_video(tmp_path / f"cam_{c}.avi") for c in (1, 2)]
    argv = ["--sources", ",".join(map(str, videos)), "--calibration", str(calibration)]
    assert main(["live", *argv, "--no-view", "--loop", "--duration", "2.5"]) == 0
    out = capsys.readouterr().out.splitlines()
    status = [line for line in out if " s | live: 3D " in line]
    assert len(status) in (2, 3)  # at 1, 2 (and 2.5) s
    assert re.fullmatch(
        r" +\d+\.\d s \| live: 3D \d+\.\d fps, latency \d+ ms \(p95 \d+ ms\), dropped \d+ %",
        status[-1],
    )
    assert any(re.match(r"3D: \d+ frames in \d+\.\d s, ", line) for line in out)
    assert sum(line.startswith(("  cam_1: ", "  cam_2: ")) for line in out) == 2


class _Started:
    """A live session that started ``ago`` seconds ago and runs on (``_headless`` needs no more)."""

    running = True

    def __init__(self, ago: float) -> None:
        self.started_at = time.monotonic() - ago

    def status_line(self) -> str:
        return "live: 3D 1.0 fps, latency 1 ms (p95 1 ms), dropped 0 %"


def test_duration_counts_from_the_session_start(capsys: pytest.CaptureFixture[str]) -> None:
    """``--duration 2.5`` of a session started 2 s ago ends 0.5 s later, not 2.5 s later.

    Both modes count to ``_until`` (the viewer's window closes then too). The bound: 0.5 s
    plus 0.7 s for a busy machine, well short of the 2.5 s a count from now would take.
    """
    session = _Started(2.0)
    assert _until(session, 2.5) == session.started_at + 2.5
    assert _until(session, None) == float("inf")
    began = time.monotonic()
    assert _headless(session, 2.5) is False
    assert 0.4 < time.monotonic() - began < 1.2
    status = capsys.readouterr().out.splitlines()
    assert len(status) == 1
    assert re.fullmatch(r" +\d+\.\d s \| live: 3D .*", status[0])


CTRL_C_SCRIPT = """
import sys
from test_live_helpers import live_scene
import mocap.detect_job
from mocap.cli import main

if __name__ == "__main__":
    scene = live_scene(3)
    mocap.detect_job.default_detector = lambda: scene.factory
    sys.exit(main(sys.argv[1:]))
"""


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _start_live(
    tmp_path: Path, calibration: Path, extra: list[str], env: dict[str, str], until: str
) -> tuple[subprocess.Popen, list[str]]:
    """``mocap live`` on two looped videos, recording, in a process of its own.

    The synthetic detector stands in for MediaPipe. Returns the process and its output up
    to the first line containing ``until``.
    """
    root = Path(__file__).resolve().parents[1]
    script = tmp_path / "ctrl_c.py"
    script.write_text(CTRL_C_SCRIPT)
    videos = ",".join(str(_video(tmp_path / f"cam_{c}.avi")) for c in (1, 2))
    argv = ["live", "--sources", videos, "--calibration", str(calibration), "--loop"]
    argv += [*extra, "--record", str(tmp_path / "rec")]
    env = {**env, "PYTHONPATH": os.pathsep.join([str(root / "tests"), str(root)])}
    process = subprocess.Popen(
        [sys.executable, str(script), *argv], stdout=subprocess.PIPE, text=True, env=env
    )
    lines = []
    for line in process.stdout:
        lines.append(line)
        if until in line:
            break
    return process, lines


def _interrupt(process: subprocess.Popen, lines: list[str], what: str) -> str:
    """Send SIGINT; the whole output once it ended (a failure, not a hang, after 30 s)."""
    process.send_signal(signal.SIGINT)
    try:
        rest, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"Ctrl-C did not end mocap live {what} within 30 s")
    return "".join(lines) + rest


def test_ctrl_c_ends_cleanly_with_the_summary_and_no_process_left(
    tmp_path: Path, calibration: Path
) -> None:
    """SIGINT to ``mocap live --no-view`` (synthetic detector) after its first status line.

    Exit status 0, the summary and "ended by Ctrl-C" printed, the recording finished
    (its manifest has the result), and every child process (the 2 workers, and
    multiprocessing's resource tracker) gone within 5 s.
    """
    process, lines = _start_live(
        tmp_path, calibration, ["--no-view"], dict(os.environ), " s | live: "
    )
    children = _children(process.pid)
    assert len(children) >= 2
    out = _interrupt(process, lines, "--no-view")
    assert process.returncode == 0
    assert "ended by Ctrl-C" in out
    assert re.search(r"^3D: \d+ frames in ", out, re.MULTILINE)
    manifest = json.loads((tmp_path / "rec" / "session.json").read_text())
    assert manifest["result"]["interrupted"] is True
    deadline = time.monotonic() + 5.0
    while any(Path(f"/proc/{c}").exists() for c in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(Path(f"/proc/{c}").exists() for c in children)


@pytest.mark.gui
def test_ctrl_c_ends_a_session_with_the_viewer_open(
    tmp_path: Path, calibration: Path, xvfb_display: str
) -> None:
    """SIGINT while the live window is open (Xvfb): the window closes, the session ends.

    Exit status 0, "ended by Ctrl-C", the recording's manifest says interrupted, and the
    window drew frames before (the grab-to-display summary line is printed).
    """
    env = {**os.environ, "DISPLAY": xvfb_display, "QT_QPA_PLATFORM": "xcb"}
    process, lines = _start_live(tmp_path, calibration, [], env, "live: running")
    time.sleep(4.0)  # the window opens at the first 3D frame and follows the session
    out = _interrupt(process, lines, "with its window open")
    assert process.returncode == 0, out
    assert "ended by Ctrl-C" in out
    assert re.search(r"^on screen: \d+ updates, \d+ ms after the grab", out, re.MULTILINE), out
    manifest = json.loads((tmp_path / "rec" / "session.json").read_text())
    assert manifest["result"]["interrupted"] is True
