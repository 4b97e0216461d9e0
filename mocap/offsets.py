"""Per-camera time offsets estimated from the 2D keypoints (post-hoc synchronisation).

For recordings without timestamps whose cameras did not start together. The offsets are
whole frames, relative to the reference camera (camera 0 of the rig).

Sign convention ("frame lag")
-----------------------------
An offset ``k`` for camera ``c`` means: **camera c's frame ``f`` shows the instant of the
reference camera's frame ``f + k``**. A camera that started recording ``k`` frames after
the reference has offset ``+k``; the reference's own offset is 0. This is the convention
of ``datasets.synthetic.observe(frame_offsets=...)`` (when its camera 0 has offset 0).
:func:`apply_offsets` undoes it: its output frame ``f`` of camera ``c`` is input frame
``f - k`` of that camera, so every camera's frame ``f`` shows the reference's instant ``f``.

Method
------
1. Every confident keypoint (confidence >= ``min_confidence``) is undistorted once into
   normalised image coordinates; frames are subsampled to at most ``MAX_SAMPLE_FRAMES``.
   Only keypoints that move count: per frame and keypoint, the fastest 2D speed any camera
   sees within ``max`` frames, keeping the upper half. Still keypoints fit any offset and
   would only dilute the cost (a hinge recording stands still much of the time).
2. The cost of a set of offsets is the median, over those keypoints of the sampled frames,
   of the noise estimate of a linear (DLT) triangulation of the shifted views:
   ``sqrt(sum of squared residuals / (2 n - 3))`` in (undistorted) pixels for a point seen
   by ``n >= 2`` cameras. Dividing by the degrees of freedom instead of ``n`` makes points
   seen by two cameras (whose DLT absorbs half the error) comparable with points seen by
   all of them, so frames that lose a view at the ends of the recording do not bias it.
   The DLT here is a private, unweighted copy working on the pre-undistorted coordinates
   of thousands of offset candidates at once (:func:`mocap.triangulation.triangulate`
   would undistort the same pixels again for each); the reported errors before and after
   are ``triangulate``'s (plain confidence-weighted DLT, distorted pixels).
3. Every pair of cameras is scanned over relative offsets ``[-2 max, 2 max]`` (two-view
   costs); the offsets of all cameras that minimise the sum of the pair costs are found
   by exhaustive search (``(2 max + 1) ** (C - 1) <= MAX_EXHAUSTIVE``, e.g. up to five
   cameras at ``max = 15``) or else by coordinate descent from the reference pairs' minima.
4. The result is refined by coordinate descent on the multi-view cost: each non-reference
   camera's offset is scanned over ``[-max, max]`` with the others fixed, until no offset
   changes. The final scans are the per-camera cost curves of the result.
5. The estimate fails (``success=False``, all offsets 0) when a camera has too few
   confident frames, when shifting a camera changes the cost too little (no motion to
   time it by), when a second, distinct local minimum fits almost as well, or when the
   best offset lies at the edge of the search range.

Offsets are whole frames; sub-frame offsets are not estimated (half a frame at 60 fps is
8 ms, small against the detector noise of markerless keypoints).

Cost: about 0.3 s of CPU for 4 cameras x 100 frames x 33 keypoints and 1.5 s for 2000
frames (``max_offset_frames=15``); beyond ``MAX_SAMPLE_FRAMES`` only the two
triangulations for the errors before and after grow with the length.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import maximum_filter1d

from calibration.camera import CameraRig
from mocap.triangulation import triangulate

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

MAX_SAMPLE_FRAMES = 300
"""Frames (of the reference's time line) used by the search; longer recordings are strided."""

MAX_EXHAUSTIVE = 1_000_000
"""Largest number of offset combinations searched exhaustively over the pair costs."""

MIN_CONFIDENT_FRAMES = 20
"""A camera needs at least this many frames with ``MIN_KEYPOINTS_PER_FRAME`` confident ones."""

MIN_KEYPOINTS_PER_FRAME = 4
"""Confident keypoints that make a frame count as seen by a camera."""

MIN_POINTS = 50
"""A cost is NaN when fewer 3D points (seen by >= 2 cameras) enter its median."""

MIN_CONTRAST = 0.2
"""Shifting a camera must raise the median of its cost curve this much (20 %) over the best
cost; less means the keypoints hardly move and the offset cannot be told."""

MIN_GAIN = 0.03
"""Offsets are applied only when their cost is at least this much (3 %) below that of no
offsets: cameras that were in sync keep 0 instead of a +-1 frame the detector's noise
prefers by a per cent or less (seen on synthetic look-alikes of the Pose2Sim demo: 0.1-1.5
%; the demo's own camera 3 offset gains 6 %)."""

MAX_RIVAL_RATIO = 1.05
"""A second local minimum (two or more frames from the best) within 5 % of the best cost
makes the offset ambiguous."""

_MAX_SWEEPS = 6
"""Coordinate-descent sweeps before giving up on convergence (it normally takes 1-3)."""


@dataclass(frozen=True, eq=False)
class OffsetEstimate:
    """Estimated time offsets of the cameras, with the evidence for them.

    Attributes
    ----------
    offsets_frames : mapping of str to int
        Per camera (rig order), its offset in frames: camera ``c``'s frame ``f`` shows the
        reference camera's frame ``f + offset`` (see the module notes); the reference's is
        0. All 0 when ``success`` is False.
    reference : str
        Name of the reference camera (the rig's first).
    candidates : (K,) int64 array
        The offsets scanned, ``-max_offset_frames .. max_offset_frames`` (K = 2 max + 1).
    curves : mapping of str to (K,) float64 array
        Per camera, the multi-view cost (pixels; see the module notes) of giving it each
        candidate offset while the other cameras keep their estimated offsets. For the
        reference, shifting it against all the others. Empty when the data were refused
        before the search.
    best_cost_px, rival_cost_px : mapping of str to float
        Per camera, the lowest cost of its curve and the lowest other local minimum at
        least two frames away from it (NaN when there is none).
    error_before_px, error_after_px : float
        Median reprojection error (pixels, :func:`mocap.triangulation.triangulate` with
        ``min_confidence``) of the whole recording as given and with the offsets applied
        (equal when ``success`` is False).
    fps : float
        Frame rate used to express the offsets in seconds.
    success : bool
        Whether the offsets can be trusted.
    message : str
        One line for humans: the offsets found, or why there are none.
    """

    offsets_frames: Mapping[str, int]
    reference: str
    candidates: IntArray
    curves: Mapping[str, FloatArray]
    best_cost_px: Mapping[str, float]
    rival_cost_px: Mapping[str, float]
    error_before_px: float
    error_after_px: float
    fps: float
    success: bool
    message: str

    @property
    def offsets_s(self) -> dict[str, float]:
        """Per camera, its offset in seconds (``offsets_frames / fps``)."""
        return {name: k / self.fps for name, k in self.offsets_frames.items()}

    def as_attrs(self) -> dict[str, str | float | bool | tuple[int, ...]]:
        """The result as trial-file ``/processing`` attributes (``sync.<name>``)."""
        return {
            "sync.method": "keypoint_offsets",
            "sync.reference": self.reference,
            "sync.offsets_frames": tuple(self.offsets_frames.values()),
            "sync.error_before_px": self.error_before_px,
            "sync.error_after_px": self.error_after_px,
            "sync.success": self.success,
            "sync.message": self.message,
        }


@dataclass(frozen=True, eq=False)
class _Views:
    """Every camera's confident keypoints as undistorted normalised coordinates.

    Attributes
    ----------
    x, y : (C, T * J + 1) float64 arrays
        Normalised image coordinates (x/z, y/z) of frame ``f``, keypoint ``j`` at index
        ``f * J + j``; NaN where not confidently detected, and in the last entry (what a
        frame outside the recording reads).
    extrinsics : (C, 3, 4) float64 array
        ``[R | t]`` of each camera, world to camera.
    focal_px : (C,) float64 array
        Geometric mean focal length, pixels per normalised unit.
    moving : (T, J) bool array
        Keypoints (per reference frame) that move enough to time the cameras by.
    """

    x: FloatArray
    y: FloatArray
    extrinsics: FloatArray
    focal_px: FloatArray
    moving: NDArray[np.bool_]

    @property
    def n_cameras(self) -> int:
        """Number of cameras C."""
        return int(self.x.shape[0])

    @property
    def n_frames(self) -> int:
        """Number of frames T."""
        return int(self.moving.shape[0])

    @property
    def missing(self) -> int:
        """Index of the NaN entry of ``x`` and ``y``."""
        return int(self.x.shape[1] - 1)


# ----------------------------------------------------------------------------- public API


def estimate_offsets(
    rig: CameraRig,
    keypoints2d: NDArray,
    fps: float,
    max_offset_frames: int = 15,
    min_confidence: float = 0.5,
) -> OffsetEstimate:
    """Estimate each camera's time offset from the reference camera (the rig's first).

    Parameters
    ----------
    rig : CameraRig
        The C calibrated cameras, in the order of ``keypoints2d``'s first axis.
    keypoints2d : (C, T, J, 3) float array
        Pixel x, pixel y and confidence per camera, frame and keypoint; NaN x/y where not
        detected. Frame ``f`` of every camera is its ``f``-th frame (unsynchronised).
    fps : float
        Frame rate, Hz (the offsets are found in frames; ``fps`` gives them in seconds).
    max_offset_frames : int
        Search offsets in ``[-max_offset_frames, max_offset_frames]`` for every camera.
    min_confidence : float
        Keypoints below this confidence are ignored.

    Returns
    -------
    OffsetEstimate
        Offsets in frames (see the module notes for the sign), the cost curves, the median
        reprojection error before and after, and ``success``; bad or motionless data give
        ``success=False`` with a message, not an exception.

    Raises
    ------
    ValueError
        For arguments of the wrong shape or type (not for unusable data).
    """
    kp = _checked_keypoints(rig, keypoints2d)
    span = _checked_span(max_offset_frames, fps)
    before = _median_error(rig, kp, min_confidence)
    names = rig.names
    refused = _refusal(kp, names, span, min_confidence)
    if refused:
        return _failed(names, span, before, fps, refused)
    views = _views(rig, kp, min_confidence, span)
    frames = _sample_frames(views.n_frames)
    seed = _consistent_offsets(_pair_tables(views, frames, span), span)
    offsets, by_index = _refine(views, frames, seed, span)
    curves = {names[c]: by_index[c] for c in range(len(names))}
    verdict = _verdict(names, curves, span)
    if verdict:
        guess = ", ".join(f"{n} {k:+d}" for n, k in zip(names[1:], offsets[1:], strict=True))
        return _failed(names, span, before, fps, f"{verdict} (best guess: {guess})", curves)
    gain, found = _gain_over_none(views, frames, offsets), offsets
    if gain < MIN_GAIN:
        offsets = np.zeros_like(found)
    after = _median_error(rig, apply_offsets(kp, offsets, names), min_confidence)
    shown = ", ".join(
        f"{n} {k:+d} ({1000 * k / fps:+.0f} ms)" for n, k in zip(names, offsets, strict=True)
    )
    message = (
        f"offsets from {names[0]}: {shown}; median reprojection error "
        f"{before:.1f} px -> {after:.1f} px"
    )
    if gain < MIN_GAIN:
        best = ", ".join(f"{n} {k:+d}" for n, k in zip(names[1:], found[1:], strict=True))
        message += (
            f" (the best offsets, {best}, beat none by only {100 * gain:.1f} %, needs "
            f"{100 * MIN_GAIN:.0f} %: the cameras are taken as in sync)"
        )
    return _estimate(names, span, curves, offsets, (before, after), fps, message)


def _gain_over_none(views: _Views, frames: IntArray, offsets: IntArray) -> float:
    """How much lower (share) the multi-view cost of ``offsets`` is than that of no offsets."""
    if not offsets.any():
        return math.inf
    none, best = _costs(views, np.arange(len(offsets)), np.stack([0 * offsets, offsets]), frames)
    return float(none / best - 1.0) if np.isfinite(none) and best > 0 else math.inf


def apply_offsets(
    keypoints2d: NDArray,
    offsets: Mapping[str, int] | Sequence[int],
    camera_names: Sequence[str],
) -> NDArray:
    """Shift each camera's frames onto the reference camera's time line.

    Output frame ``f`` of camera ``c`` is its input frame ``f - offsets[c]``: with the
    convention of :class:`OffsetEstimate` (camera ``c``'s frame ``g`` shows the
    reference's frame ``g + offset``), every output frame ``f`` shows the reference's
    instant ``f``. The output keeps the reference's T frames; frames a camera has no data
    for (before its first or after its last frame) are NaN (x, y and confidence).

    Parameters
    ----------
    keypoints2d : (C, T, J, 3) float array
        Pixel x, pixel y, confidence per camera, frame and keypoint.
    offsets : mapping of str to int, or sequence of C ints
        Offsets in whole frames, by camera name (every camera, no others) or in the order
        of ``camera_names``; e.g. ``OffsetEstimate.offsets_frames``.
    camera_names : sequence of str
        The C camera names, in the order of ``keypoints2d``'s first axis.

    Returns
    -------
    (C, T, J, 3) array
        Same dtype as the input (float), shifted.

    Raises
    ------
    ValueError
        If the shapes, names or offsets do not fit together, or an offset is not whole.
    """
    kp = np.asarray(keypoints2d)
    names = tuple(camera_names)
    if kp.ndim != 4 or kp.shape[3] != 3 or kp.dtype.kind != "f" or kp.shape[0] != len(names):
        msg = (
            f"keypoints2d must be a float (C, T, J, 3) array with C = {len(names)} cameras "
            f"({', '.join(names)}); got {kp.dtype} {kp.shape}"
        )
        raise ValueError(msg)
    shifts = _offset_list(offsets, names)
    n_t = kp.shape[1]
    out = np.full_like(kp, np.nan)
    for c, k in enumerate(shifts):
        lo, hi = max(0, k), min(n_t, n_t + k)  # output frames f whose source f - k exists
        if lo < hi:
            out[c, lo:hi] = kp[c, lo - k : hi - k]
    return out


# ----------------------------------------------------------------------------- checks


def _checked_keypoints(rig: CameraRig, keypoints2d: NDArray) -> FloatArray:
    """``keypoints2d`` as float64 (C, T, J, 3) with C = the rig's cameras, else ValueError."""
    kp = np.asarray(keypoints2d, dtype=np.float64)
    if kp.ndim != 4 or kp.shape[3] != 3 or kp.shape[0] != len(rig):
        msg = (
            f"keypoints2d must be (C, T, J, 3) with C = {len(rig)} cameras "
            f"({', '.join(rig.names)}); got shape {kp.shape}"
        )
        raise ValueError(msg)
    return kp


def _checked_span(max_offset_frames: int, fps: float) -> int:
    """``max_offset_frames`` as an int >= 1 after checking it and ``fps``, else ValueError."""
    whole = isinstance(max_offset_frames, numbers.Integral) and not isinstance(
        max_offset_frames, bool
    )
    if not whole or max_offset_frames < 1:
        msg = f"max_offset_frames must be a whole number >= 1, got {max_offset_frames!r}"
        raise ValueError(msg)
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real) or not 0 < fps < math.inf:
        msg = f"fps must be a finite number > 0, got {fps!r}"
        raise ValueError(msg)
    return int(max_offset_frames)


def _offset_list(offsets: Mapping[str, int] | Sequence[int], names: tuple[str, ...]) -> list[int]:
    """Offsets in camera order as ints; ValueError for missing, unknown or fractional ones."""
    if isinstance(offsets, Mapping):
        missing = [n for n in names if n not in offsets]
        unknown = [str(n) for n in offsets if n not in names]
        if missing or unknown:
            msg = (
                f"offsets must name exactly the cameras {', '.join(names)}; "
                f"missing: {', '.join(missing) or '-'}, unknown: {', '.join(unknown) or '-'}"
            )
            raise ValueError(msg)
        values = [offsets[n] for n in names]
    else:
        values = list(offsets)
        if len(values) != len(names):
            msg = f"{len(values)} offsets for {len(names)} cameras ({', '.join(names)})"
            raise ValueError(msg)
    result = []
    for name, value in zip(names, values, strict=True):
        number = float(value) if isinstance(value, numbers.Real) else math.nan
        if isinstance(value, bool) or not number.is_integer():
            msg = f"offset of camera {name} must be a whole number of frames, got {value!r}"
            raise ValueError(msg)
        result.append(int(number))
    return result


def _refusal(kp: FloatArray, names: tuple[str, ...], span: int, min_confidence: float) -> str:
    """Why the data cannot be timed (too few cameras, frames or confident keypoints), or ""."""
    n_c, n_t = kp.shape[:2]
    if n_c < 2:
        return "offsets need at least two cameras"
    if n_t < 2 * span + MIN_CONFIDENT_FRAMES:
        return (
            f"only {n_t} frames: too short to test offsets of +-{span} frames "
            f"(needs >= {2 * span + MIN_CONFIDENT_FRAMES})"
        )
    confident = np.isfinite(kp[..., :2]).all(axis=-1) & (kp[..., 2] >= min_confidence)
    seen = (confident.sum(axis=2) >= MIN_KEYPOINTS_PER_FRAME).sum(axis=1)  # (C,)
    poor = [f"{names[c]} ({seen[c]})" for c in range(n_c) if seen[c] < MIN_CONFIDENT_FRAMES]
    if poor:
        return (
            f"too few frames with >= {MIN_KEYPOINTS_PER_FRAME} keypoints of confidence >= "
            f"{min_confidence:g} (needs {MIN_CONFIDENT_FRAMES}): {', '.join(poor)}"
        )
    return ""


def _verdict(names: tuple[str, ...], curves: dict[str, FloatArray], span: int) -> str:
    """Why the offsets found cannot be trusted (flat, ambiguous, at the edge), or ""."""
    for name in names[1:]:
        curve = curves[name]
        if not np.isfinite(curve).any():
            return f"camera {name} shares too few confident keypoints with the others"
        best = int(np.nanargmin(curve))
        contrast = np.nanmedian(curve) / curve[best] - 1.0
        if contrast < MIN_CONTRAST:
            return (
                f"too little motion to time camera {name}: shifting it by up to {span} "
                f"frames changes the error by {100 * contrast:.0f} % (needs "
                f"{100 * MIN_CONTRAST:.0f} %)"
            )
        rival = _rival(curve, best)
        if rival < MAX_RIVAL_RATIO * curve[best]:
            return (
                f"camera {name}: two offsets fit almost equally well "
                f"({curve[best]:.2f} px and {rival:.2f} px)"
            )
        if abs(best - span) == span:
            return (
                f"camera {name}: the best offset is at the edge of the search range "
                f"(+-{span} frames); raise max_offset_frames"
            )
    return ""


def _rival(curve: FloatArray, best: int) -> float:
    """Lowest local minimum of ``curve`` (K,) at least two entries from ``best``, or NaN."""
    padded = np.concatenate([[np.inf], np.where(np.isfinite(curve), curve, np.inf), [np.inf]])
    local = (padded[1:-1] <= padded[:-2]) & (padded[1:-1] <= padded[2:])
    local &= np.abs(np.arange(len(curve)) - best) >= 2
    local &= np.isfinite(curve)
    return float(curve[local].min()) if local.any() else math.nan


# ----------------------------------------------------------------------------- costs


def _views(rig: CameraRig, kp: FloatArray, min_confidence: float, span: int) -> _Views:
    """Undistort every confident keypoint of ``kp`` (C, T, J, 3) once; find what moves."""
    n_c, n_t, n_j, _ = kp.shape
    confident = np.isfinite(kp[..., :2]).all(axis=-1) & (kp[..., 2] >= min_confidence)
    pixels = np.where(confident[..., None], kp[..., :2], np.nan)
    flat = pixels.reshape(n_c, n_t * n_j, 2)
    xy = np.full((n_c, n_t * n_j + 1, 2), np.nan)
    xy[:, :-1] = [cam.normalized_points(p) for cam, p in zip(rig, flat, strict=True)]
    extrinsics = np.stack(
        [np.hstack([cam.rotation_matrix, cam.translation[:, None]]) for cam in rig]
    )
    focal = np.array([math.sqrt(cam.matrix[0, 0] * cam.matrix[1, 1]) for cam in rig])
    moving = _moving(pixels, span)
    return _Views(xy[..., 0].copy(), xy[..., 1].copy(), extrinsics, focal, moving)


def _moving(pixels: FloatArray, span: int) -> NDArray[np.bool_]:
    """Which keypoints (T, J) move most: the upper half of their speed, seen by any camera.

    The speed of keypoint ``j`` at frame ``f`` is the fastest any camera sees it move
    (central difference of ``pixels`` (C, T, J, 2), px/frame) within ``span`` frames of
    ``f`` (the cameras' frame numbers differ by up to ``span``).
    """
    speed = np.zeros(pixels.shape[:3])
    speed[:, 1:-1] = np.linalg.norm(pixels[:, 2:] - pixels[:, :-2], axis=-1) / 2.0
    fastest = np.nan_to_num(speed, nan=0.0).max(axis=0)  # (T, J)
    fastest = maximum_filter1d(fastest, size=2 * span + 1, axis=0, mode="nearest")
    seen = fastest[fastest > 0]
    return fastest >= (np.median(seen) if seen.size else np.inf)


def _sample_frames(n_frames: int) -> IntArray:
    """Reference frames the costs are evaluated at: all, or evenly strided to the cap."""
    stride = max(1, math.ceil(n_frames / MAX_SAMPLE_FRAMES))
    return np.arange(0, n_frames, stride, dtype=np.int64)


def _normal_terms(extrinsics: FloatArray) -> FloatArray:
    """Per view (V, 4, 16): the 4x4 DLT normal matrix is ``[x^2 + y^2, -x, -y, 1] @ terms``.

    With rows ``x P3 - P1`` and ``y P3 - P2`` of ``P = [R | t]`` (V, 3, 4), the sum of
    their outer products is ``(x^2 + y^2) P3 P3' - x (P3 P1' + P1 P3') - y (P3 P2' + P2 P3')
    + P1 P1' + P2 P2'``: a matrix product over all points and views at once.
    """
    p1, p2, p3 = extrinsics[:, 0], extrinsics[:, 1], extrinsics[:, 2]

    def outer(u: FloatArray, v: FloatArray) -> FloatArray:
        return u[:, :, None] * v[:, None, :]

    terms = np.stack(
        [
            outer(p3, p3),
            outer(p3, p1) + outer(p1, p3),
            outer(p3, p2) + outer(p2, p3),
            outer(p1, p1) + outer(p2, p2),
        ],
        axis=1,
    )
    return terms.reshape(len(extrinsics), 4, 16)


def _solve_symmetric3(normal: FloatArray) -> FloatArray:
    """Points (3, M) minimising ``[X, 1] N [X, 1]'`` for symmetric 4x4 ``normal`` (16, M).

    Solves ``N[:3, :3] X = -N[:3, 3]`` by cofactors: several times faster than a batched
    ``numpy.linalg.solve`` for M small systems. The matrices are well scaled (normalised
    image coordinates, metres); singular ones (fewer than two views) give inf or NaN.
    """
    a00, a01, a02, a11, a12, a22 = normal[[0, 1, 2, 5, 6, 10]]
    b0, b1, b2 = -normal[[3, 7, 11]]
    c00, c01, c02 = a11 * a22 - a12 * a12, a02 * a12 - a01 * a22, a01 * a12 - a02 * a11
    c11, c12, c22 = a00 * a22 - a02 * a02, a01 * a02 - a00 * a12, a00 * a11 - a01 * a01
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        inv_det = 1.0 / (a00 * c00 + a01 * c01 + a02 * c02)
        return np.stack(
            [
                (c00 * b0 + c01 * b1 + c02 * b2) * inv_det,
                (c01 * b0 + c11 * b1 + c12 * b2) * inv_det,
                (c02 * b0 + c12 * b1 + c22 * b2) * inv_det,
            ]
        )


def _noise_px(extrinsics: FloatArray, focal: FloatArray, xy: FloatArray) -> FloatArray:
    """Per-point noise estimate (M,), pixels, of a DLT of V views (V, 2, M); NaN if < 2 views.

    ``sqrt(sum of squared residuals / (2 n - 3))`` over the ``n`` views of each point,
    residuals in normalised coordinates times ``focal`` (V,) (undistorted pixels). Arrays
    keep the M points last so that every operation runs over contiguous memory.
    """
    n_v, _, n_m = xy.shape
    used = np.isfinite(xy).all(axis=1)  # (V, M)
    obs = np.where(used[:, None], xy, 0.0)  # (V, 2, M)
    features = np.empty((n_v, 4, n_m))
    features[:, 0] = (obs * obs).sum(axis=1)
    features[:, 1:3] = -obs
    features[:, 3] = used
    terms = _normal_terms(extrinsics).reshape(4 * n_v, 16)
    normal = terms.T @ features.reshape(4 * n_v, n_m)  # (16, M): the 4x4 matrices, row-major
    points = _solve_symmetric3(normal)  # (3, M)
    n_views = used.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # unsolvable: NaN
        cam = np.matmul(extrinsics[:, :, :3], points) + extrinsics[:, :, 3:]  # (V, 3, M)
        residual = cam[:, :2] / cam[:, 2:3] - obs
        squared = (residual * residual).sum(axis=1) * (focal * focal)[:, None]  # (V, M)
        total = np.where(used, squared, 0.0).sum(axis=0)
        noise = np.sqrt(total / (2 * n_views - 3))
    return np.where(n_views >= 2, noise, np.nan)


def _costs(views: _Views, cameras: IntArray, offsets: IntArray, frames: IntArray) -> FloatArray:
    """Median noise estimates (B,), px, of ``cameras`` (V,) shifted by ``offsets`` (B, V).

    For each of the B offset vectors, camera ``cameras[i]`` contributes its frame
    ``f - offsets[b, i]`` to each reference frame ``f`` of ``frames`` (S,); frames outside
    its recording are missing. Only moving keypoints (``views.moving``) count. NaN where
    fewer than ``MIN_POINTS`` points are seen by two cameras.
    """
    sample, joint = np.nonzero(views.moving[frames])  # the P moving points
    n_b, n_v, n_p = len(offsets), len(cameras), len(joint)
    source = frames[sample][None, :] - offsets.T[:, :, None]  # (V, B, P) frame of each view
    index = source * views.moving.shape[1] + joint
    index[(source < 0) | (source >= views.n_frames)] = views.missing
    picked = (cameras[:, None, None], index)
    xy = np.stack([views.x[picked], views.y[picked]], axis=1).reshape(n_v, 2, n_b * n_p)
    noise = _noise_px(views.extrinsics[cameras], views.focal_px[cameras], xy)
    ordered = np.sort(noise.reshape(n_b, n_p), axis=1)  # NaN sort last
    count = np.isfinite(ordered).sum(axis=1)
    rows = np.arange(n_b)
    low = ordered[rows, np.maximum(count - 1, 0) // 2]
    high = ordered[rows, np.minimum(count // 2, n_p - 1)]
    return np.where(count >= MIN_POINTS, (low + high) / 2.0, np.nan)


def _pair_tables(views: _Views, frames: IntArray, span: int) -> FloatArray:
    """Two-view costs (C, C, 4 span + 1): ``[a, b, d + 2 span]`` for ``o_b - o_a = d``.

    Symmetric: ``[b, a, ::-1]`` equals ``[a, b]``; the diagonal is 0.
    """
    n_c = views.n_cameras
    shifts = np.arange(-2 * span, 2 * span + 1)
    offsets = np.stack([np.zeros_like(shifts), shifts], axis=1)  # (4 span + 1, 2)
    tables = np.zeros((n_c, n_c, len(shifts)))
    for a in range(n_c):
        for b in range(a + 1, n_c):
            tables[a, b] = _costs(views, np.array([a, b]), offsets, frames)
            tables[b, a] = tables[a, b, ::-1]
    return tables


def _filled(tables: FloatArray) -> FloatArray:
    """Pair tables with NaN (too little overlap) replaced by the pair's worst cost (or 0)."""
    worst = np.nanmax(np.where(np.isfinite(tables), tables, -np.inf), axis=2, keepdims=True)
    worst = np.where(np.isfinite(worst), worst, 0.0)
    return np.where(np.isfinite(tables), tables, worst)


# ----------------------------------------------------------------------------- search


def _consistent_offsets(tables: FloatArray, span: int) -> IntArray:
    """Offsets (C,), reference 0, in ``[-span, span]`` minimising the sum of pair costs."""
    tables = _filled(tables)
    n_c = tables.shape[0]
    if (2 * span + 1) ** (n_c - 1) <= MAX_EXHAUSTIVE:
        return _exhaustive(tables, span)
    return _descend_pairs(tables, span)


def _exhaustive(tables: FloatArray, span: int) -> IntArray:
    """Every combination of offsets of cameras 1..C-1, summed pair costs on a grid."""
    n_c = tables.shape[0]
    grid = np.arange(-span, span + 1)
    axes = [np.zeros((1,) * (n_c - 1), dtype=np.int64)]
    for c in range(1, n_c):
        shape = [1] * (n_c - 1)
        shape[c - 1] = len(grid)
        axes.append(grid.reshape(shape))
    total = np.zeros((len(grid),) * (n_c - 1))
    for a in range(n_c):
        for b in range(a + 1, n_c):
            total = total + tables[a, b][axes[b] - axes[a] + 2 * span]
    best = np.unravel_index(int(np.argmin(total)), total.shape)
    return np.array([0, *(grid[i] for i in best)], dtype=np.int64)


def _descend_pairs(tables: FloatArray, span: int) -> IntArray:
    """Coordinate descent on the summed pair costs, from the reference pairs' minima."""
    n_c = tables.shape[0]
    grid = np.arange(-span, span + 1)
    offsets = np.zeros(n_c, dtype=np.int64)
    offsets[1:] = grid[np.argmin(tables[0, 1:, span : 3 * span + 1], axis=1)]
    for _ in range(_MAX_SWEEPS):
        changed = False
        for c in range(1, n_c):
            others = [b for b in range(n_c) if b != c]
            # o_b - o_c for every candidate o_c, indexing tables[c, b]
            index = offsets[others][:, None] - grid[None, :] + 2 * span
            total = tables[c, others][np.arange(len(others))[:, None], index].sum(axis=0)
            new = grid[int(np.argmin(total))]
            changed |= bool(new != offsets[c])
            offsets[c] = new
        if not changed:
            break
    return offsets


def _curve(
    views: _Views, frames: IntArray, offsets: IntArray, camera: int, span: int
) -> FloatArray:
    """Multi-view cost (2 span + 1,) of each offset of ``camera``, the others at ``offsets``."""
    trials = np.repeat(offsets[None, :], 2 * span + 1, axis=0)
    trials[:, camera] = np.arange(-span, span + 1)
    return _costs(views, np.arange(len(offsets)), trials, frames)


def _refine(
    views: _Views, frames: IntArray, seed: IntArray, span: int
) -> tuple[IntArray, dict[int, FloatArray]]:
    """Coordinate descent on the multi-view cost from ``seed``; offsets and final curves.

    Returns
    -------
    offsets : (C,) int64 array
        Reference 0.
    curves : dict of int to (2 span + 1,) float64 array
        Per camera index (the reference included), its cost curve at the final offsets.
    """
    offsets = seed.copy()
    curves: dict[int, FloatArray] = {}
    for _ in range(_MAX_SWEEPS):
        changed = False
        for c in range(1, len(offsets)):
            curves[c] = _curve(views, frames, offsets, c, span)
            if np.isfinite(curves[c]).any():
                new = int(np.nanargmin(curves[c])) - span
                changed |= new != offsets[c]
                offsets[c] = new
        if not changed:
            break
    if changed:  # not converged: report curves at the offsets returned
        curves = {c: _curve(views, frames, offsets, c, span) for c in range(1, len(offsets))}
    curves[0] = _curve(views, frames, offsets, 0, span)
    return offsets, curves


# ----------------------------------------------------------------------------- results


def _median_error(rig: CameraRig, kp: NDArray, min_confidence: float) -> float:
    """Median reprojection error (px) of a triangulation of ``kp`` (C, T, J, 3), NaN if none."""
    error = triangulate(rig, kp, min_confidence=min_confidence).reprojection_error
    error = error[np.isfinite(error)]
    return float(np.median(error)) if error.size else math.nan


def _estimate(
    names: tuple[str, ...],
    span: int,
    curves: Mapping[str, FloatArray],
    offsets: Sequence[int],
    errors: tuple[float, float],
    fps: float,
    message: str,
    success: bool = True,
) -> OffsetEstimate:
    """Assemble an :class:`OffsetEstimate` with read-only arrays and mappings."""
    frozen = {}
    for name, given in curves.items():
        curve = np.array(given, dtype=np.float64)
        curve.setflags(write=False)
        frozen[name] = curve
    best, rival = {}, {}
    for name, curve in frozen.items():
        finite = np.isfinite(curve).any()
        best[name] = float(np.nanmin(curve)) if finite else math.nan
        rival[name] = _rival(curve, int(np.nanargmin(curve))) if finite else math.nan
    candidates = np.arange(-span, span + 1, dtype=np.int64)
    candidates.setflags(write=False)
    return OffsetEstimate(
        offsets_frames=MappingProxyType({n: int(k) for n, k in zip(names, offsets, strict=True)}),
        reference=names[0],
        candidates=candidates,
        curves=MappingProxyType(frozen),
        best_cost_px=MappingProxyType(best),
        rival_cost_px=MappingProxyType(rival),
        error_before_px=errors[0],
        error_after_px=errors[1],
        fps=float(fps),
        success=success,
        message=message,
    )


def _failed(
    names: tuple[str, ...],
    span: int,
    before: float,
    fps: float,
    why: str,
    curves: Mapping[str, FloatArray] | None = None,
) -> OffsetEstimate:
    """An unsuccessful estimate: offsets all 0, ``why`` as the message, curves if any."""
    zeros = [0] * len(names)
    return _estimate(names, span, curves or {}, zeros, (before, before), fps, why, success=False)
