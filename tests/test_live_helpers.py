"""Test doubles for live mode (no tests here): sources on a shared clock, slow detectors.

Spawned worker processes import this module by name (``tests/`` is on ``sys.path`` under
pytest, and on ``PYTHONPATH`` in the subprocess tests), so everything here pickles.

:class:`GridSource` delivers instant ``k`` of a scene at ``k * period + jitter`` on
``time.monotonic``'s clock (the clock every process shares): cameras started a few
milliseconds apart still deliver the same instants together, so the true synchronized
sets are known: the instant of a time ``t`` is ``round(t * FPS)``. The instant is
stamped into the image (:func:`mocap.detectors.synthetic.stamp_frame`, modulo the scene's
length), and the synthetic detector returns that instant's projected truth.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calibration.camera import CameraRig
from datasets.synthetic.rigs import ring_rig
from datasets.synthetic.scene import make_scene
from mocap.capture_sources import CameraError
from mocap.detectors.synthetic import SyntheticDetectorFactory, projected_truth, stamp_frame
from mocap.keypoints import DetectorFactory, FloatArray, KeypointDetector
from mocap.skeleton import HINGELAB_KEYPOINTS
from mocap.sources import FrameSource, Image, TimedFrame

SIZE = (320, 240)
"""Small images: the stamp needs 160 x 8 pixels, the body fits at 3.5 m with f = 240 px."""
FPS = 30.0
JITTER_S = 0.003
"""Largest jitter of a frame's time, seconds: within a quarter period, as ``mocap.sync``
recovers every set exactly below that."""


def jitter(camera: int, instant: int) -> float:
    """A camera's deterministic jitter at an instant, seconds, within +-JITTER_S."""
    return JITTER_S * math.sin(1.7 * instant + 2.3 * camera)


@dataclass(frozen=True)
class GridSource(FrameSource):
    """Frames of instants ``k`` at ``k / fps + jitter``, from the next instant due.

    Attributes
    ----------
    name : str
        Camera name.
    number : int
        Camera number (sets its jitter).
    scene_frames : int
        The stamp is ``k % scene_frames`` (the detector's truth has that many rows).
    frames : int
        Instants delivered (or dropped) from the first; then the source ends (``fail``:
        raises, as unplugged).
    dropped : tuple of int
        Positions (0 = the first instant) this camera leaves out.
    fps : float
        Frame rate, Hz.
    fail : bool
        End with a CameraError after ``last``.
    end_file : str
        A file naming the last instant to deliver ('': none). Written while the session
        runs (read before each frame), it ends every camera on the same instant.
    """

    name: str
    number: int
    scene_frames: int
    frames: int
    dropped: tuple[int, ...] = ()
    fps: float = FPS
    fail: bool = False
    end_file: str = ""
    size: tuple[int, int] = SIZE
    frame_count: int | None = None

    def __iter__(self) -> Iterator[tuple[int, Image]]:
        for frame in self.timed():
            yield frame.index, frame.image

    def instant_time(self, instant: int) -> float:
        """When this camera delivers ``instant``."""
        return instant / self.fps + jitter(self.number, instant)

    def timed(self) -> Iterator[TimedFrame]:
        """Frames from the next instant due, at their grid times (slept until then)."""
        first = math.ceil(time.monotonic() * self.fps) + 1
        index, end = 0, None
        for position in range(self.frames):
            instant = first + position
            if end is None and self.end_file and Path(self.end_file).is_file():
                end = int(Path(self.end_file).read_text())
            if end is not None and instant > end:
                break
            if position in self.dropped:
                continue
            due = self.instant_time(instant)
            time.sleep(max(0.0, due - time.monotonic()))
            image = np.zeros((self.size[1], self.size[0], 3), np.uint8)
            yield TimedFrame(index, due, stamp_frame(image, instant % self.scene_frames))
            index += 1
        if self.fail:
            raise CameraError(f"camera {self.name}: stopped delivering frames (test)")


class SlowDetector(KeypointDetector):
    """Another detector, ``delay_s`` slower per frame (a slow PC)."""

    def __init__(self, inner: KeypointDetector, delay_s: float) -> None:
        self.inner = inner
        self.names = inner.names
        self.delay_s = delay_s

    def detect(self, image: Image) -> FloatArray:
        """Sleep, then the inner detector's keypoints."""
        time.sleep(self.delay_s)
        return self.inner.detect(image)


@dataclass(frozen=True, eq=False)
class SlowFactory(DetectorFactory):
    """Builds :class:`SlowDetector` around another factory's detectors."""

    inner: DetectorFactory
    delay_s: float
    description: str = "slow synthetic"

    def create(self, camera: str) -> KeypointDetector:
        """The inner detector of ``camera``, slowed down."""
        return SlowDetector(self.inner.create(camera), self.delay_s)


class StallingDetector(KeypointDetector):
    """Another detector that hangs ``stall_s`` once, on its ``at``-th frame (a stuck worker)."""

    def __init__(self, inner: KeypointDetector, at: int, stall_s: float) -> None:
        self.inner, self.at, self.stall_s = inner, at, stall_s
        self.names = inner.names
        self.calls = 0

    def detect(self, image: Image) -> FloatArray:
        """The inner detector's keypoints, after the one long sleep when it is due."""
        self.calls += 1
        if self.calls == self.at:
            time.sleep(self.stall_s)
        return self.inner.detect(image)


@dataclass(frozen=True, eq=False)
class StallingFactory(DetectorFactory):
    """Builds :class:`StallingDetector` around another factory's detectors."""

    inner: DetectorFactory
    at: int
    stall_s: float
    description: str = "stalling synthetic"

    def create(self, camera: str) -> KeypointDetector:
        """The inner detector of ``camera``, stalling once."""
        return StallingDetector(self.inner.create(camera), self.at, self.stall_s)


@dataclass(frozen=True, eq=False)
class LiveScene:
    """A small rig, the true 3D points of a hinge session, and its projected truth."""

    rig: CameraRig
    points3d: FloatArray  # (T, J, 3)
    factory: SyntheticDetectorFactory

    def sources(
        self,
        seconds: float,
        dropped: dict[str, tuple[int, ...]] | None = None,
        stop: dict[str, float] | None = None,
        end_file: str = "",
    ) -> list[GridSource]:
        """One grid source per camera for ``seconds`` (``stop``: that camera fails sooner).

        ``end_file``: the cameras also end after the instant that file names, once written
        (:attr:`GridSource.end_file`).
        """
        dropped, stop = dropped or {}, stop or {}
        return [
            GridSource(
                name,
                c,
                len(self.points3d),
                round(stop.get(name, seconds) * FPS),
                dropped.get(name, ()),
                fail=name in stop,
                end_file=end_file,
            )
            for c, name in enumerate(self.rig.names)
        ]

    def truth(self, when: float) -> FloatArray:
        """(J, 3) true points of the instant at ``when`` (``time.monotonic``)."""
        return self.points3d[round(when * FPS) % len(self.points3d)]


def live_scene(n_cameras: int = 3) -> LiveScene:
    """3-4 cameras of 320x240 px around a subject doing one good hinge at 30 fps."""
    scene = make_scene(("good_hinge",), n_cameras=n_cameras, fps=FPS)
    target = (*scene.shape.position_m, 0.9)
    rig = ring_rig(n_cameras, target_m=target, size=SIZE, focal_px=240.0, seed=3)
    truth = projected_truth(rig, scene.points3d)
    factory = SyntheticDetectorFactory(truth, names=HINGELAB_KEYPOINTS)
    return LiveScene(rig, scene.points3d, factory)
