"""2D keypoint observations of a synthetic scene: projection, noise, dropouts, outliers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from calibration.camera import CameraRig
from datasets.synthetic.body import FloatArray


@dataclass(frozen=True)
class ObservationNoise:
    """How the simulated detector errs.

    Parameters
    ----------
    pixel_sigma : float
        Standard deviation of Gaussian noise on x and y, pixels.
    dropout : float
        Fraction of 2D points not detected (NaN x, y and confidence 0).
    outliers : float
        Fraction of 2D points moved 30-300 px away (``outlier_px``) in a random direction
        while keeping a high confidence, as a detector does when it latches onto the wrong
        thing.
    outlier_px : (2,) tuple of float
        Range of the outliers' distance from the truth, pixels.
    confidence : (2,) tuple of float
        Range of the confidence of good detections.
    """

    pixel_sigma: float = 1.0
    dropout: float = 0.0
    outliers: float = 0.0
    outlier_px: tuple[float, float] = (30.0, 300.0)
    confidence: tuple[float, float] = (0.6, 1.0)


def _shift_frames(points3d: FloatArray, offset: int) -> FloatArray:
    """Frame ``i`` of the result is frame ``i + offset`` of ``points3d`` (T, J, 3).

    Frames that fall past either end are NaN.
    """
    shifted = np.full_like(points3d, np.nan)
    n = points3d.shape[0]
    src = np.arange(n) + offset
    ok = (src >= 0) & (src < n)
    shifted[ok] = points3d[src[ok]]
    return shifted


def observe(
    rig: CameraRig,
    points3d: FloatArray,
    noise: ObservationNoise,
    seed: int = 0,
    frame_offsets: tuple[int, ...] | None = None,
) -> NDArray[np.float32]:
    """Simulate what a 2D keypoint detector reports in every camera.

    Parameters
    ----------
    rig : CameraRig
        C cameras.
    points3d : (T, J, 3) float array
        True world positions, metres.
    noise : ObservationNoise
        Noise, dropouts and outliers to apply.
    seed : int
        Seed for every random draw.
    frame_offsets : (C,) tuple of int, optional
        Camera ``c`` shows at its frame ``i`` the instant ``i + frame_offsets[c]``
        (unsynchronised cameras); default all zero.

    Returns
    -------
    (C, T, J, 3) float32 array
        Pixel x, pixel y, confidence; NaN x and y (confidence 0) where not detected or
        outside the image.
    """
    points3d = np.asarray(points3d, dtype=float)
    if points3d.ndim != 3 or points3d.shape[2] != 3:
        msg = f"points3d must be (T, J, 3), got shape {points3d.shape}"
        raise ValueError(msg)
    offsets = frame_offsets or (0,) * len(rig)
    if len(offsets) != len(rig):
        msg = f"frame_offsets has {len(offsets)} values for {len(rig)} cameras"
        raise ValueError(msg)
    rng = np.random.default_rng(seed)
    n_t, n_j, _ = points3d.shape
    out = np.empty((len(rig), n_t, n_j, 3))
    for c, (camera, offset) in enumerate(zip(rig, offsets, strict=True)):
        shifted = _shift_frames(points3d, offset).reshape(-1, 3)
        pixels = camera.project(shifted).reshape(n_t, n_j, 2)
        out[c, ..., :2] = pixels + rng.normal(0.0, noise.pixel_sigma, pixels.shape)
        out[c, ..., 2] = rng.uniform(*noise.confidence, size=(n_t, n_j))
        _add_outliers(out[c], noise, rng)
        _drop(out[c], camera.size, noise.dropout, rng)
    return out.astype(np.float32)


def _add_outliers(view: FloatArray, noise: ObservationNoise, rng: np.random.Generator) -> None:
    """Move a fraction of one camera's points (T, J, 3) far away, with high confidence."""
    hit = rng.random(view.shape[:2]) < noise.outliers
    n = int(hit.sum())
    angle = rng.uniform(0, 2 * np.pi, n)
    distance = rng.uniform(*noise.outlier_px, n)
    view[hit, 0] += distance * np.cos(angle)
    view[hit, 1] += distance * np.sin(angle)
    view[hit, 2] = rng.uniform(0.8, 1.0, n)


def _drop(
    view: FloatArray, size: tuple[int, int], fraction: float, rng: np.random.Generator
) -> None:
    """Blank a random fraction of one camera's points (T, J, 3) and all outside the image."""
    w, h = size
    x, y = view[..., 0], view[..., 1]
    outside = ~((x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1))
    gone = outside | (rng.random(view.shape[:2]) < fraction)
    view[gone, :2] = np.nan
    view[gone, 2] = 0.0
