"""Synthetic camera rigs: N cameras on a ring around a capture volume, looking at its centre."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from calibration.camera import Camera, CameraRig
from datasets.synthetic.body import FloatArray


def look_at(center: FloatArray, target: FloatArray) -> FloatArray:
    """World-to-camera rotation (3, 3) of an upright OpenCV camera at ``center`` (3,).

    OpenCV camera axes: x right, y down, z forward (towards ``target``, (3,)).
    """
    forward = target - center
    forward = forward / np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right = right / np.linalg.norm(right)
    down = np.cross(forward, right)
    return np.stack([right, down, forward])


def _lens(rng: np.random.Generator, size: tuple[int, int], focal_px: float) -> tuple:
    """A realistic camera matrix (3, 3) and 5-term distortion (5,) for a webcam-like lens."""
    w, h = size
    f = focal_px * rng.uniform(0.95, 1.05)
    matrix = np.array(
        [
            [f, 0.0, w / 2 + rng.uniform(-15, 15)],
            [0.0, f * rng.uniform(0.998, 1.002), h / 2 + rng.uniform(-15, 15)],
            [0.0, 0.0, 1.0],
        ]
    )
    k1 = rng.uniform(-0.25, -0.05)
    distortion = np.array(
        [
            k1,
            rng.uniform(0.0, 0.08),
            rng.uniform(-1e-3, 1e-3),
            rng.uniform(-1e-3, 1e-3),
            rng.uniform(-0.01, 0.0),
        ]
    )
    return matrix, distortion


def ring_rig(
    n_cameras: int = 4,
    radius_m: float = 3.5,
    height_m: float = 1.4,
    target_m: tuple[float, float, float] = (0.0, 0.0, 0.9),
    size: tuple[int, int] = (1920, 1080),
    focal_px: float = 1400.0,
    seed: int = 0,
) -> CameraRig:
    """Cameras spread on a ring around the capture volume, each with its own lens.

    Parameters
    ----------
    n_cameras : int
        Number of cameras, at least 2; named ``cam_1`` ... ``cam_N``.
    radius_m, height_m : float
        Ring radius around ``target_m`` and mean lens height, metres; each camera is moved
        up to 10 % in radius, 0.3 m in height and 10 degrees around the ring at random.
    target_m : (3,) tuple of float
        World point every camera looks at (metres, Z up).
    size : (2,) tuple of int
        Image width and height, pixels.
    focal_px : float
        Nominal focal length in pixels (each camera varies by +-5 %).
    seed : int
        Seed of the random variations.

    Returns
    -------
    CameraRig
        The cameras, in ring order.
    """
    if n_cameras < 2:
        msg = f"a rig needs at least 2 cameras, got {n_cameras}"
        raise ValueError(msg)
    rng = np.random.default_rng(seed)
    target = np.asarray(target_m, dtype=float)
    cameras = []
    for i in range(n_cameras):
        azimuth = 2 * np.pi * i / n_cameras + np.deg2rad(rng.uniform(-10, 10)) + np.pi / 4
        radius = radius_m * rng.uniform(0.9, 1.1)
        center = target + np.array([radius * np.cos(azimuth), radius * np.sin(azimuth), 0.0])
        center[2] = height_m + rng.uniform(-0.3, 0.3)
        rotation = look_at(center, target)
        matrix, distortion = _lens(rng, size, focal_px)
        cameras.append(
            Camera(
                name=f"cam_{i + 1}",
                size=size,
                matrix=matrix,
                distortion=distortion,
                rotation=Rotation.from_matrix(rotation).as_rotvec(),
                translation=-rotation @ center,
            )
        )
    return CameraRig(tuple(cameras))
