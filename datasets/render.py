"""Images of a calibration board as a real camera would see it, through its lens model.

Every output pixel is the average of ``supersample x supersample`` rays. Each ray leaves the
camera through the lens model (distortion included), meets the board plane and picks the
board's texture there with bilinear interpolation; rays that miss the board (behind the
camera, parallel to the board or outside its printed area) see a uniform grey background.
A plain homography cannot do this: with lens distortion straight board edges are curved.

Conventions
-----------
Pixels: x right, y down, the centre of the top-left pixel at (0, 0), as in OpenCV and
:class:`calibration.camera.Camera`; output pixel ``(row i, column j)`` covers
``[j - 0.5, j + 0.5] x [i - 0.5, i + 0.5]`` and is sampled at
``j + (k + 0.5) / s - 0.5`` for ``k = 0 .. s - 1`` (and likewise in y).

Board texture: ``board.image(texture_px_per_m)`` (no margin) at ``ppm = texture_px_per_m``
texture pixels per metre, ``square_size_m * ppm`` an integer so that every square edge falls
on a boundary between texture pixels. The printed squares span the bounding box of
``corner_points()`` grown by one square on every side (ChArUco: from the board's outer
corner ``(0, 0)``; checkerboard: from ``(-square, -square)``, its first inner corner being the
origin); call its top-left corner ``(X0, Y0)``. Texture pixel ``(row i, column j)`` covers
board coordinates ``X in [X0 + j / ppm, X0 + (j + 1) / ppm]`` (likewise ``Y`` with ``i``),
so its centre is at ``X = X0 + (j + 0.5) / ppm`` and the board point ``(X, Y)`` is at
texture coordinate ``u = (X - X0) * ppm - 0.5``: every corner of ``corner_points()`` lies
exactly on a boundary between texture pixels. The optional white paper margin around the
squares is added as ``round(margin_m * ppm)`` white texture pixels on every side.

Poses are world <- board: a board point ``p`` (3,) is at ``R p + t`` in the world, given as
a (4, 4) matrix or as a pair ``(R (3, 3), t (3,))``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy.interpolate import RectBivariateSpline
from scipy.ndimage import binary_dilation, distance_transform_edt

from calibration.camera import Camera

FloatArray = NDArray[np.float64]

TEXTURE_PX_PER_SQUARE = 128
"""Default texture resolution: texture pixels per board square (an integer, see module doc)."""

_KNOT_STEP_PX = 4.0
"""Spacing of the exact undistortion grid that the ray spline interpolates, pixels.

Measured at 1280x720: the bicubic spline reproduces ``Camera.normalized_points`` to 3e-5 px
(maximum) for k1 = -0.4 pinhole lenses at 8 px and to 1e-3 px for a wide fisheye, and the
error falls with the fourth power of the spacing; 4 px keeps it far below 1e-3 px.
"""

_SPLINE_TOLERANCE_PX = 2e-4
"""Largest reprojection error of an interpolated ray at a grid cell centre, pixels."""

_OUTSIDE = -4.0
"""Texture coordinate given to rays that miss the board plane: off the texture, background."""


class TexturedBoard(Protocol):
    """A board that can be printed: its corners and its image (``calibration.boards``)."""

    square_size_m: float

    def corner_points(self) -> FloatArray:
        """(N, 3) corner coordinates, metres, z = 0."""
        ...

    def image(self, pixels_per_metre: float, margin_m: float = 0.0) -> NDArray[np.uint8]:
        """(H, W) uint8 picture of the board plus a ``margin_m`` white border."""
        ...


@dataclass(frozen=True, eq=False)
class LensRays:
    """Ideal normalised ray of every sub-pixel sample of one camera's image.

    Attributes
    ----------
    camera : str
        Name of the camera.
    supersample : int
        Samples per pixel along x and along y.
    x, y : (H * s, W * s) float32 arrays
        ``x/z`` and ``y/z`` in the camera frame of each sample (NaN where the lens model
        cannot be inverted); sample ``(a, b)`` lies at pixel
        ``((b + 0.5) / s - 0.5, (a + 0.5) / s - 0.5)``.
    """

    camera: str
    supersample: int
    x: NDArray[np.float32]
    y: NDArray[np.float32]


def sample_offsets(supersample: int) -> FloatArray:
    """Sub-pixel sample offsets from a pixel centre, symmetric around it.

    Parameters
    ----------
    supersample : int
        Samples per pixel along one axis, at least 1.

    Returns
    -------
    (supersample,) float64 array
        ``(k + 0.5) / s - 0.5``, pixels.
    """
    if int(supersample) != supersample or supersample < 1:
        raise ValueError(f"supersample must be a positive integer, got {supersample!r}")
    return (np.arange(supersample) + 0.5) / supersample - 0.5


def _exact_rays(camera: Camera, u: FloatArray, v: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Normalised rays (len(v), len(u)) of the pixel grid ``u x v``, by the lens model."""
    grid_u, grid_v = np.meshgrid(u, v)
    rays = camera.normalized_points(np.column_stack([grid_u.ravel(), grid_v.ravel()]))
    return rays[:, 0].reshape(grid_u.shape), rays[:, 1].reshape(grid_u.shape)


def _reprojection_error(
    camera: Camera, x: FloatArray, y: FloatArray, u: FloatArray, v: FloatArray
) -> FloatArray:
    """Distance (len(v), len(u)) between pixels ``u x v`` and ``camera.project`` of their rays."""
    rays = np.column_stack([x.ravel(), y.ravel(), np.ones(x.size)])
    world = (rays - camera.translation) @ camera.rotation_matrix  # R^T (p - t), row-wise
    grid_u, grid_v = np.meshgrid(u, v)
    error = np.hypot(*(camera.project(world) - np.column_stack([grid_u.ravel(), grid_v.ravel()])).T)
    return error.reshape(x.shape)


def _fill_nan(values: FloatArray) -> FloatArray:
    """Copy of a 2-D array with each NaN replaced by its nearest finite neighbour's value."""
    missing = np.isnan(values)
    if not missing.any():
        return values
    if missing.all():
        return np.zeros_like(values)
    nearest = distance_transform_edt(missing, return_distances=False, return_indices=True)
    return values[tuple(nearest)]


def _cells(knots: FloatArray, samples: FloatArray) -> NDArray[np.intp]:
    """Index of the knot interval holding each sample (len(samples),)."""
    return np.clip(np.searchsorted(knots, samples) - 1, 0, len(knots) - 2)


@functools.lru_cache(maxsize=2)
def lens_rays(camera: Camera, supersample: int = 4) -> LensRays:
    """Rays of every sub-pixel sample of ``camera``, cached for the last two cameras.

    ``Camera.normalized_points`` is evaluated exactly on a grid every 4 px (edges included)
    and interpolated with a bicubic spline, ~20 times faster than inverting the lens at all
    15 million samples of a 1280x720 image. The spline is checked at the centre of every
    grid cell through ``camera.project``; in the cells where it misses by more than
    ``_SPLINE_TOLERANCE_PX`` (and their neighbours), for example near pixels the lens model
    cannot produce (NaN: beyond a strong barrel lens's fold or a fisheye's 90 degrees),
    every sample is inverted exactly instead.

    Parameters
    ----------
    camera : Camera
        Its ``size`` sets the image size.
    supersample : int
        Samples per pixel along x and along y.

    Returns
    -------
    LensRays
        Read-only (H * s, W * s) float32 ray maps (about 120 MB for 1280x720 at s = 4).
    """
    width, height = camera.size
    offsets = sample_offsets(supersample)
    su = (np.arange(width)[:, None] + offsets).ravel()
    sv = (np.arange(height)[:, None] + offsets).ravel()
    ku = np.linspace(-0.5, width - 0.5, int(np.ceil(width / _KNOT_STEP_PX)) + 1)
    kv = np.linspace(-0.5, height - 0.5, int(np.ceil(height / _KNOT_STEP_PX)) + 1)
    splines = [RectBivariateSpline(kv, ku, _fill_nan(k)) for k in _exact_rays(camera, ku, kv)]
    cu, cv = (ku[:-1] + ku[1:]) / 2, (kv[:-1] + kv[1:]) / 2
    error = _reprojection_error(camera, splines[0](cv, cu), splines[1](cv, cu), cu, cv)
    redo = binary_dilation(~(error <= _SPLINE_TOLERANCE_PX), iterations=1)
    x, y = (spline(sv, su).astype(np.float32) for spline in splines)
    if redo.any():
        rows, cols = np.nonzero(redo[_cells(kv, sv)][:, _cells(ku, su)])
        exact = camera.normalized_points(np.column_stack([su[cols], sv[rows]]))
        x[rows, cols], y[rows, cols] = exact[:, 0], exact[:, 1]
    x.flags.writeable = False
    y.flags.writeable = False
    return LensRays(camera=camera.name, supersample=int(supersample), x=x, y=y)


def as_pose_matrix(pose: Any, what: str = "board_to_world") -> FloatArray:
    """A world <- board pose as a (4, 4) float64 matrix.

    Parameters
    ----------
    pose : (4, 4) array or pair (R (3, 3), t (3,))
        Rigid transform; R must be a rotation (to 1e-6).
    what : str
        Name used in error messages.

    Returns
    -------
    (4, 4) float64 array
    """
    if isinstance(pose, tuple | list) and len(pose) == 2:
        rot = np.asarray(pose[0], dtype=np.float64)
        trans = np.asarray(pose[1], dtype=np.float64).ravel()
        if rot.shape != (3, 3) or trans.shape != (3,):
            raise ValueError(f"{what}: need R (3, 3) and t (3,), got {rot.shape}, {trans.shape}")
        matrix = np.eye(4)
        matrix[:3, :3], matrix[:3, 3] = rot, trans
    else:
        matrix = np.array(pose, dtype=np.float64)
        if matrix.shape != (4, 4) or not np.allclose(matrix[3], [0, 0, 0, 1]):
            raise ValueError(f"{what}: need a (4, 4) rigid transform, got shape {matrix.shape}")
    rot = matrix[:3, :3]
    if not np.allclose(rot.T @ rot, np.eye(3), atol=1e-6) or np.linalg.det(rot) < 0:
        raise ValueError(f"{what}: not a rotation: {rot.tolist()}")
    return matrix


def _board_to_camera(camera: Camera, board_to_world: Any) -> FloatArray:
    """Camera <- board (4, 4) from the camera's pose and a world <- board pose."""
    world_to_camera = np.eye(4)
    world_to_camera[:3, :3] = camera.rotation_matrix
    world_to_camera[:3, 3] = camera.translation
    return world_to_camera @ as_pose_matrix(board_to_world)


def _texture_from_rays(
    board_to_camera: FloatArray, px_per_m: float, origin: FloatArray
) -> FloatArray:
    """(3, 3) matrix taking a ray (x, y, 1) to homogeneous texture coordinates (u, v, w).

    ``origin`` (2,) is the board point at the texture's outer corner (metres); ``w`` is
    1 / depth along the ray, so ``w > 0`` means the board is in front of the camera.
    """
    plane = board_to_camera[:3, [0, 1, 3]]  # (X, Y, 1) on the board -> depth * (x, y, 1)
    shift = -origin * px_per_m - 0.5  # texture pixel centres at integers
    texture = np.array([[px_per_m, 0.0, shift[0]], [0.0, px_per_m, shift[1]], [0.0, 0.0, 1.0]])
    return texture @ np.linalg.inv(plane)


def _texture_maps(rays: LensRays, homography: FloatArray) -> tuple[np.ndarray, np.ndarray]:
    """(H * s, W * s) float32 texture coordinates u, v of every sample (off-texture: -4).

    Written with OpenCV's multi-threaded arithmetic: 3x faster than numpy at 15 M samples.
    """
    h = homography
    w = cv2.addWeighted(rays.x, h[2, 0], rays.y, h[2, 1], h[2, 2])
    u = cv2.divide(cv2.addWeighted(rays.x, h[0, 0], rays.y, h[0, 1], h[0, 2]), w)
    v = cv2.divide(cv2.addWeighted(rays.x, h[1, 0], rays.y, h[1, 1], h[1, 2]), w)
    miss = ~(w > 1e-12)  # behind the camera, parallel to the board, or no ray (NaN)
    np.copyto(u, np.float32(_OUTSIDE), where=miss)
    np.copyto(v, np.float32(_OUTSIDE), where=miss)
    limit = 30000.0  # cv2.remap works in 16-bit fixed point
    return cv2.min(cv2.max(u, _OUTSIDE), limit), cv2.min(cv2.max(v, _OUTSIDE), limit)


def _squares_box(board: TexturedBoard, camera: str) -> tuple[FloatArray, FloatArray]:
    """Board coordinates (2,) of the top-left and bottom-right corners of the printed squares."""
    corners = np.asarray(board.corner_points(), dtype=np.float64)
    if corners.ndim != 2 or corners.shape[1] != 3 or len(corners) == 0:
        raise ValueError(f"camera {camera!r}: corner_points() must be (N, 3), got {corners.shape}")
    square = float(board.square_size_m)
    return corners[:, :2].min(axis=0) - square, corners[:, :2].max(axis=0) + square


def _texture_scale(board: TexturedBoard, texture_px_per_m: float | None, camera: str) -> float:
    """Texture pixels per metre: the default, or the given one if squares are whole pixels."""
    square = float(board.square_size_m)
    if texture_px_per_m is None:
        return TEXTURE_PX_PER_SQUARE / square
    per_square = square * float(texture_px_per_m)
    if not per_square >= 4 or abs(per_square - round(per_square)) > 1e-6:
        raise ValueError(
            f"camera {camera!r}: texture_px_per_m={texture_px_per_m} gives {per_square:.4f} "
            "texture pixels per square; use a whole number (>= 4) so corners fall on pixel edges"
        )
    return float(texture_px_per_m)


def _board_texture(
    board: TexturedBoard, px_per_m: float, margin_m: float, camera: str
) -> tuple[NDArray[np.float32], FloatArray]:
    """The board's (H, W) texture as float32 grey levels and the board point (2,) at its corner.

    The texture's size is checked against the squares' extent (module doc), to one pixel.
    """
    texture = np.asarray(board.image(px_per_m, margin_m=0.0))
    if texture.ndim != 2 or texture.dtype != np.uint8:
        raise ValueError(
            f"camera {camera!r}: board.image() must be an (H, W) uint8 image, "
            f"got {texture.dtype} {texture.shape}"
        )
    low, high = _squares_box(board, camera)
    expected = (high - low) * px_per_m  # (W, H)
    if np.any(np.abs(np.array(texture.shape[::-1]) - expected) > 0.5):
        raise ValueError(
            f"camera {camera!r}: board.image() is {texture.shape[1]}x{texture.shape[0]} px, "
            f"expected {expected[0]:.1f}x{expected[1]:.1f} for its squares"
        )
    if not margin_m >= 0:
        raise ValueError(f"camera {camera!r}: margin_m must be >= 0, got {margin_m}")
    pad = round(margin_m * px_per_m)
    texture = np.pad(texture, pad, constant_values=255)
    if max(texture.shape) >= 30000:
        raise ValueError(f"camera {camera!r}: board texture {texture.shape} is too large")
    return texture.astype(np.float32), low - pad / px_per_m


def _finish(image: FloatArray, blur_sigma_px: float, noise_sigma: float, seed: int) -> np.ndarray:
    """Blur, add seeded Gaussian noise, round and clip to uint8."""
    if blur_sigma_px > 0:
        image = cv2.GaussianBlur(image, (0, 0), blur_sigma_px, borderType=cv2.BORDER_REFLECT)
    if noise_sigma > 0:
        image = image + np.random.default_rng(seed).normal(0.0, noise_sigma, image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def render_board(
    camera: Camera,
    board: TexturedBoard,
    board_to_world: Any,
    texture_px_per_m: float | None = None,
    margin_m: float = 0.0,
    supersample: int = 4,
    blur_sigma_px: float = 0.0,
    noise_sigma: float = 0.0,
    seed: int = 0,
    background: float = 128.0,
    rays: LensRays | None = None,
) -> NDArray[np.uint8]:
    """Render the board as ``camera`` sees it, through its lens model, anti-aliased.

    Parameters
    ----------
    camera : Camera
        Intrinsics, distortion, pose and image size.
    board : TexturedBoard
        Anything with ``corner_points()``, ``square_size_m`` and ``image(ppm, margin_m=)``.
    board_to_world : (4, 4) array or pair (R (3, 3), t (3,))
        Pose of the board, world <- board.
    texture_px_per_m : float, optional
        Texture resolution; default ``TEXTURE_PX_PER_SQUARE / square_size_m``. Must make
        ``square_size_m * texture_px_per_m`` a whole number (see the module doc).
    margin_m : float
        White paper border around the squares, metres (rounded to texture pixels).
    supersample : int
        Samples per pixel along x and along y (area anti-aliasing over s*s samples).
    blur_sigma_px : float
        Standard deviation of a Gaussian blur applied after sampling, pixels (0: none).
    noise_sigma : float
        Standard deviation of additive Gaussian noise, grey levels (0: none).
    seed : int
        Seed of the noise.
    background : float
        Grey level seen by rays that miss the board.
    rays : LensRays, optional
        Precomputed ``lens_rays(camera, supersample)`` (default: computed and cached).

    Returns
    -------
    (H, W) uint8 array
        The image, ``(H, W) = camera.size[::-1]``.
    """
    if rays is None:
        rays = lens_rays(camera, supersample)
    width, height = camera.size
    s = rays.supersample
    if rays.camera != camera.name or rays.x.shape != (height * s, width * s):
        raise ValueError(
            f"camera {camera.name!r}: rays of camera {rays.camera!r} with shape "
            f"{rays.x.shape} do not fit a {width}x{height} image at supersample {s}"
        )
    ppm = _texture_scale(board, texture_px_per_m, camera.name)
    texture, origin = _board_texture(board, ppm, margin_m, camera.name)
    homography = _texture_from_rays(_board_to_camera(camera, board_to_world), ppm, origin)
    u, v = _texture_maps(rays, homography)
    samples = cv2.remap(
        texture,
        u,
        v,
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=float(background),
    )
    # INTER_AREA at an integer factor is the exact mean of each s x s block
    image = cv2.resize(samples, (width, height), interpolation=cv2.INTER_AREA).astype(np.float64)
    return _finish(image, blur_sigma_px, noise_sigma, seed)


def _rotation_xyz(tilt_x_deg: float, tilt_y_deg: float, roll_deg: float) -> FloatArray:
    """Rz(roll) Ry(tilt_y) Rx(tilt_x), angles in degrees, (3, 3)."""
    ax, ay, az = np.deg2rad([tilt_x_deg, tilt_y_deg, roll_deg])
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


def board_pose_looking_at(
    camera: Camera,
    board: TexturedBoard,
    distance_m: float,
    pixel: tuple[float, float] | None = None,
    tilt_deg: tuple[float, float] = (0.0, 0.0),
    roll_deg: float = 0.0,
) -> FloatArray:
    """A world <- board pose that puts the board's centre on a pixel, facing the camera.

    With zero tilt and roll the board is fronto-parallel and upright: its x axis along the
    image's x, its y axis along the image's y and its printed side towards the camera.

    Parameters
    ----------
    camera : Camera
        The camera that looks at the board.
    board : TexturedBoard
        Its corner points' bounding box centre is the board's centre.
    distance_m : float
        Distance from the camera's centre to the board's centre, metres.
    pixel : (2,) tuple of float, optional
        Where the board's centre appears (distorted pixels); default the principal point.
    tilt_deg : (2,) tuple of float
        Rotations of the board about its own x axis, then y axis, degrees (before ``roll``).
    roll_deg : float
        Rotation about the board's normal, degrees.

    Returns
    -------
    (4, 4) float64 array
        World <- board.
    """
    if not distance_m > 0:
        raise ValueError(f"camera {camera.name!r}: distance_m must be > 0, got {distance_m}")
    corners = np.asarray(board.corner_points(), dtype=np.float64)
    centre = (corners.min(axis=0) + corners.max(axis=0)) / 2
    target = camera.matrix[:2, 2] if pixel is None else np.asarray(pixel, dtype=np.float64)
    ray = np.append(camera.normalized_points(target.reshape(1, 2))[0], 1.0)
    if not np.all(np.isfinite(ray)):
        raise ValueError(f"camera {camera.name!r}: pixel {target.tolist()} has no lens ray")
    in_camera = np.eye(4)
    in_camera[:3, :3] = _rotation_xyz(tilt_deg[0], tilt_deg[1], roll_deg)
    in_camera[:3, 3] = ray / np.linalg.norm(ray) * distance_m - in_camera[:3, :3] @ centre
    camera_to_world = np.eye(4)
    camera_to_world[:3, :3] = camera.rotation_matrix.T
    camera_to_world[:3, 3] = camera.center
    return camera_to_world @ in_camera


def true_corners(camera: Camera, board: TexturedBoard, board_to_world: Any) -> FloatArray:
    """Exact pixel positions of the board's corners: ``camera.project`` of ``corner_points``.

    Parameters
    ----------
    camera : Camera
    board : TexturedBoard
    board_to_world : (4, 4) array or pair (R (3, 3), t (3,))

    Returns
    -------
    (N, 2) float64 array
        Distorted pixels, in the order (and with the ids) of ``board.corner_points()``;
        NaN for corners behind the camera. Corners outside the image are not removed.
    """
    pose = as_pose_matrix(board_to_world)
    points = np.asarray(board.corner_points(), dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(
            f"camera {camera.name!r}: corner_points() must be (N, 3), got {points.shape}"
        )
    return camera.project(points @ pose[:3, :3].T + pose[:3, 3])
