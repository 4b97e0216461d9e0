"""Find the cameras of this machine and test each for a few frames (``mocap cameras``).

On Linux the cameras are the ``/dev/videoN`` devices (their names from sysfs, their sizes
and rates from ``v4l2-ctl --list-formats-ext`` when it is installed); elsewhere indices
0-9 are tried with OpenCV. Each camera is opened with :func:`open_capture` and must
deliver a few frames.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2

from mocap.capture_sources import CameraError, capture_settings, open_capture, quiet_opencv
from mocap.sources import natural_key

_FORMAT = re.compile(r"\[\d+\]: '(\w+)'")
_SIZE = re.compile(r"Size: \w+ (\d+x\d+)")
_RATE = re.compile(r"\(([\d.]+) fps\)")


@dataclass(frozen=True)
class CameraInfo:
    """One camera as found and tested.

    Attributes
    ----------
    index : int
        OpenCV index.
    device : str
        Device path ('' when the platform has none).
    name : str
        Device name ('' when the platform does not tell).
    modes : tuple of str
        Supported ``FORMAT WxH@fps,fps`` modes ('' when the platform does not tell).
    settings : dict
        Size, rate, pixel format and backend when opened with the defaults.
    frames : int
        Frames delivered by the test.
    test_fps : float
        Their rate, Hz (NaN with fewer than 2).
    error : str
        Why the test failed ('' when it did not).
    """

    index: int
    device: str
    name: str
    modes: tuple[str, ...]
    settings: dict[str, object]
    frames: int
    test_fps: float
    error: str

    def lines(self) -> list[str]:
        """A header line for the camera and one line per supported mode."""
        s = self.settings
        where = f" {self.device}" if self.device else ""
        label = f" {self.name!r}" if self.name else ""
        if self.error:
            return [f"camera {self.index}{where}{label}: {self.error}"]
        head = (
            f"camera {self.index}{where}{label}: {s.get('width')}x{s.get('height')} "
            f"{s.get('fourcc') or '?'} at {s.get('fps')} fps ({s.get('backend')}); test: "
            f"{self.frames} frames at {self.test_fps:.1f} fps"
        )
        return [head] + [f"    {mode}" for mode in self.modes]


def camera_indices() -> list[int]:
    """Indices of the video devices (Linux), or of the cameras OpenCV opens (0-9)."""
    if sys.platform.startswith("linux"):
        devices = sorted(Path("/dev").glob("video[0-9]*"), key=lambda p: natural_key(p.name))
        return [int(p.name[len("video") :]) for p in devices]
    quiet_opencv()
    found = []
    for index in range(10):
        capture = cv2.VideoCapture(index)
        if capture.isOpened():
            found.append(index)
        capture.release()
    return found


def device_name(index: int) -> str:
    """The Linux device's name from sysfs ('' when unknown)."""
    path = Path(f"/sys/class/video4linux/video{index}/name")
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def parse_v4l2_formats(text: str) -> tuple[str, ...]:
    """``FORMAT WxH@fps,fps`` modes from ``v4l2-ctl --list-formats-ext`` output."""
    modes: list[str] = []
    fmt, size, rates = "", "", []
    for line in [*text.splitlines(), "[0]: 'END'"]:
        if (found := _SIZE.search(line) or _FORMAT.search(line)) is not None:
            if size:
                modes.append(f"{fmt} {size}@{','.join(rates)}")
            size, rates = "", []
            if found.re is _SIZE:
                size = found.group(1)
            else:
                fmt = found.group(1)
        elif (rate := _RATE.search(line)) is not None:
            rates.append(f"{float(rate.group(1)):g}")
    return tuple(modes)


def device_modes(index: int) -> tuple[str, ...]:
    """Supported modes from ``v4l2-ctl`` (empty when it is not installed or fails)."""
    tool = shutil.which("v4l2-ctl")
    if tool is None:
        return ()
    done = subprocess.run(
        [tool, "--list-formats-ext", "-d", f"/dev/video{index}"],
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    )
    return parse_v4l2_formats(done.stdout) if done.returncode == 0 else ()


def probe_camera(index: int, frames: int = 10) -> CameraInfo:
    """Open camera ``index`` with its defaults and grab ``frames`` frames."""
    device = f"/dev/video{index}" if sys.platform.startswith("linux") else ""
    name, modes = device_name(index), device_modes(index)
    try:
        capture = open_capture(index, None, None)
    except CameraError as error:
        return CameraInfo(index, device, name, modes, {}, 0, float("nan"), str(error))
    try:
        settings = capture_settings(capture)
        times = []
        for _ in range(frames):
            if not capture.grab():
                break
            times.append(time.monotonic())
    finally:
        capture.release()
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) >= 2 else float("nan")
    error = "" if times else "opens but delivers no frames (a metadata node?)"
    return CameraInfo(index, device, name, modes, settings, len(times), rate, error)


NO_CAMERA = "no camera found on this machine"


def list_cameras(frames: int = 10) -> list[CameraInfo]:
    """Every camera of this machine, each tested for ``frames`` frames."""
    return [probe_camera(index, frames) for index in camera_indices()]
