"""Pinhole and fisheye camera models with OpenCV's lens distortion, and ordered camera rigs.

Conventions: world to camera is ``x_cam = R x_world + t`` with ``R`` from the Rodrigues vector
``rotation`` and ``t = translation`` in metres; pixels are (x right, y down) with the origin at
the centre of the top-left pixel, as in OpenCV.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from calibration.geometry import distort_pinhole

_UNDISTORT_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-10)
"""Iterate until the re-distorted point is within 1e-10 px of the input (at most 200 times)."""

_INVERSE_TOLERANCE_PX = 1e-3
"""Undistorted points that do not distort back to within this many pixels of the input are NaN."""

_GRID_SPACING_PX = 8.0
"""Spacing of the grid of exact undistortions that starts the fast inverse of a pinhole lens."""

_GRID_MARGIN_PX = 64.0
"""The grid reaches this far beyond the image, so keypoints just outside it start well too."""

_GRID_MIN_POINTS = 4096
"""Calls with fewer pixels take the exact route only (building a grid takes ~15 ms)."""

_FAST_CHUNK = 32768
"""Pixels inverted together by the fast inverse (its temporaries stay in the CPU caches)."""

_FAST_START_PX = 0.01
"""The fast inverse takes its Newton step only from starts that re-distort within this many
pixels of the target (typically a few thousandths at 8 px spacing; the step then leaves
~1e-9 px, under 1e-6 px in the corners of strong lenses) where the lens is far from folding
(Jacobian determinant above ``_FAST_MIN_DET``); other pixels take the exact route."""

_FAST_MIN_DET = 0.25
"""Least Jacobian determinant (normalised units) at which the fast inverse is trusted."""


def _array(value: Any, shape: tuple[int, ...], what: str, camera: str) -> np.ndarray:
    """Return ``value`` as a finite, read-only float64 copy of ``shape`` or raise ValueError."""
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"camera {camera!r}: {what} must be numbers, got {value!r}") from None
    if arr.shape != shape:
        raise ValueError(f"camera {camera!r}: {what} must have shape {shape}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"camera {camera!r}: {what} contains NaN or infinity: {arr.tolist()}")
    arr.flags.writeable = False
    return arr


def _points(points: Any, width: int, what: str, camera: str) -> np.ndarray:
    """Return ``points`` as an (N, width) float64 array or raise a ValueError naming the camera."""
    try:
        arr = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"camera {camera!r}: {what} must be numbers") from None
    if arr.ndim != 2 or arr.shape[1] != width:
        raise ValueError(
            f"camera {camera!r}: {what} must be an (N, {width}) array, got shape {arr.shape}"
        )
    return arr


def _check_intrinsics(matrix: np.ndarray, camera: str) -> None:
    """Refuse camera matrices that are not [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] with f > 0."""
    if matrix[0, 1] != 0.0 or matrix[1, 0] != 0.0 or not np.array_equal(matrix[2], [0, 0, 1]):
        raise ValueError(
            f"camera {camera!r}: matrix must be [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] "
            f"(OpenCV's distortion model has no skew), got {matrix.tolist()}"
        )
    if matrix[0, 0] <= 0 or matrix[1, 1] <= 0:
        raise ValueError(
            f"camera {camera!r}: focal lengths must be positive, got {matrix.tolist()}"
        )


def _float_pairs(points: Any) -> bool:
    """Whether ``points`` is already an (N, 2) float32 or float64 array (used as it is)."""
    return (
        isinstance(points, np.ndarray)
        and points.dtype in (np.float32, np.float64)
        and points.ndim == 2
        and points.shape[1] == 2
    )


def _size(size: Any, camera: str) -> tuple[int, int]:
    """Return ``size`` as (width, height) positive integers (1920.0 is accepted as 1920)."""
    arr = _array(size, (2,), "size (width, height)", camera)
    if np.any(arr <= 0) or np.any(arr != np.round(arr)):
        raise ValueError(f"camera {camera!r}: size must be two positive integers, got {size!r}")
    return int(arr[0]), int(arr[1])


@dataclass(frozen=True, eq=False)
class Camera:
    """One calibrated camera: intrinsics, lens distortion and pose (world to camera).

    Attributes
    ----------
    name : str
        Unique name of the camera within its rig.
    size : tuple[int, int]
        Image (width, height) in pixels.
    matrix : (3, 3) float64 array
        Camera matrix K = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]], pixels.
    distortion : (5,) float64 array, or (4,) when ``fisheye``
        OpenCV (k1, k2, p1, p2, k3); a 4-term pinhole distortion is padded with k3 = 0.
        For fisheye, cv2.fisheye's (k1, k2, k3, k4).
    rotation : (3,) float64 array
        Rodrigues vector of R, world to camera.
    translation : (3,) float64 array
        t in metres, so that x_cam = R x_world + t.
    fisheye : bool
        Use cv2.fisheye's equidistant model instead of the pinhole one.
    """

    name: str
    size: tuple[int, int]
    matrix: np.ndarray
    distortion: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray
    fisheye: bool = False
    _rotation_matrix: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"camera name must be a non-empty string, got {self.name!r}")
        name, set_ = self.name, object.__setattr__
        set_(self, "fisheye", bool(self.fisheye))
        set_(self, "size", _size(self.size, name))
        set_(self, "matrix", _array(self.matrix, (3, 3), "matrix", name))
        _check_intrinsics(self.matrix, name)
        if not self.fisheye and np.size(self.distortion) == 4:  # Pose2Sim writes 4 terms
            set_(self, "distortion", np.append(np.ravel(self.distortion), 0.0))
        what = "fisheye distortion (k1..k4)" if self.fisheye else "distortion (k1 k2 p1 p2 k3)"
        shape = (4,) if self.fisheye else (5,)
        set_(self, "distortion", _array(np.ravel(self.distortion), shape, what, name))
        set_(self, "rotation", _array(self.rotation, (3,), "rotation (Rodrigues vector)", name))
        set_(self, "translation", _array(self.translation, (3,), "translation", name))
        rot = cv2.Rodrigues(self.rotation.copy())[0]
        rot.flags.writeable = False
        set_(self, "_rotation_matrix", rot)

    @classmethod
    def from_rotation_matrix(cls, rotation_matrix: Any, **fields: Any) -> Camera:
        """Build a camera from a (3, 3) rotation matrix R (world to camera) instead of Rodrigues.

        Parameters
        ----------
        rotation_matrix : (3, 3) array
            Proper rotation (R^T R = I to 1e-6 and det R > 0).
        **fields
            The other :class:`Camera` fields by keyword (name, size, matrix, ...).

        Returns
        -------
        Camera
        """
        name = fields.get("name", "?")
        rot = _array(rotation_matrix, (3, 3), "rotation matrix", name)
        if not np.allclose(rot.T @ rot, np.eye(3), atol=1e-6) or np.linalg.det(rot) < 0:
            raise ValueError(f"camera {name!r}: not a proper rotation matrix: {rot.tolist()}")
        return cls(rotation=cv2.Rodrigues(rot.copy())[0].ravel(), **fields)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Camera):
            return NotImplemented
        same = self.name == other.name and self.size == other.size
        arrays = ("matrix", "distortion", "rotation", "translation")
        return (
            same
            and self.fisheye == other.fisheye
            and all(np.array_equal(getattr(self, a), getattr(other, a)) for a in arrays)
        )

    def __hash__(self) -> int:
        return hash((self.name, self.size, self.fisheye))  # arrays: -0.0 == 0.0 but not bytes

    @property
    def rotation_matrix(self) -> np.ndarray:
        """(3, 3) read-only float64 array: R, world to camera."""
        return self._rotation_matrix

    @property
    def center(self) -> np.ndarray:
        """(3,) float64 array: the optical centre in the world frame, -R^T t, metres."""
        return -self._rotation_matrix.T @ self.translation

    @property
    def projection_matrix(self) -> np.ndarray:
        """(3, 4) float64 array: K [R | t], world metres to homogeneous pixels, no distortion."""
        return self.matrix @ np.hstack([self._rotation_matrix, self.translation[:, None]])

    def world_to_camera(self, points: Any) -> np.ndarray:
        """Express world points in this camera's frame.

        Parameters
        ----------
        points : (N, 3) float array, metres, world frame

        Returns
        -------
        (N, 3) float64 array, metres, camera frame (z along the optical axis)
        """
        pts = _points(points, 3, "points", self.name)
        return pts @ self._rotation_matrix.T + self.translation

    def project(self, points: Any) -> np.ndarray:
        """Project world points to distorted pixels, as cv2.projectPoints / cv2.fisheye does.

        Parameters
        ----------
        points : (N, 3) float array, metres, world frame

        Returns
        -------
        (N, 2) float64 array, pixels; NaN for NaN input rows and for points with z <= 0 in
        the camera frame (behind the camera).
        """
        cam = self.world_to_camera(points)
        with np.errstate(invalid="ignore", divide="ignore"):
            xy = cam[:, :2] / cam[:, 2:3]
            xy[~(cam[:, 2] > 0)] = np.nan
            return self._distorted_pixels(xy)

    def _distorted_pixels(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) ideal normalized coordinates to (N, 2) distorted pixels."""
        distorted = self._distort_fisheye(xy) if self.fisheye else self._distort_pinhole(xy)
        return distorted @ self.matrix[:2, :2].T + self.matrix[:2, 2]

    def _distort_pinhole(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) ideal normalized coordinates to (N, 2) distorted ones, OpenCV's 5-term model."""
        return distort_pinhole(xy, self.distortion)

    def _distort_fisheye(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) ideal normalized coordinates to (N, 2) distorted ones, cv2.fisheye's model."""
        k1, k2, k3, k4 = self.distortion
        r = np.hypot(xy[:, 0], xy[:, 1])
        theta = np.arctan(r)
        t2 = theta * theta
        theta_d = theta * (1.0 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4))))
        scale = np.where(r > 1e-8, theta_d / np.where(r > 1e-8, r, 1.0), 1.0)
        return xy * scale[:, None]

    def normalized_points(self, pixels: Any) -> np.ndarray:
        """Remove the lens distortion and K: pixels to ideal normalized image coordinates.

        Pinhole lenses are inverted fast for many pixels at once: a Taylor step from the
        nearest node of a cached grid of exact undistortions, then one Newton step (error
        ~1e-9 px, under 1e-6 px in the corners of strong lenses). Pixels where that cannot
        be trusted, fisheye lenses and small calls take the exact route: OpenCV's iteration
        to 1e-10 px, then a re-distortion check.

        Parameters
        ----------
        pixels : (N, 2) float array, distorted pixels

        Returns
        -------
        (N, 2) float64 array, (x/z, y/z) in the camera frame; NaN rows stay NaN, and so do
        pixels the lens model cannot invert to 1e-3 px (fisheye rays past 90 degrees).
        """
        pix = pixels if _float_pairs(pixels) else _points(pixels, 2, "pixels", self.name)
        if self.fisheye or pix.shape[0] < _GRID_MIN_POINTS:
            return self._normalized_exact(pix)
        grid = _inverse_grid(self)
        out = np.empty(pix.shape)
        for start in range(0, pix.shape[0], _FAST_CHUNK):
            part = pix[start : start + _FAST_CHUNK]
            u, v = part[:, 0], part[:, 1]
            x, y, converged = _undistort_fast(self, grid, u, v)
            (redo,) = np.nonzero(~converged & np.isfinite(u + v))  # NaN rows stay NaN
            x[~converged] = np.nan
            y[~converged] = np.nan
            if redo.size:
                x[redo], y[redo] = self._normalized_exact(part[redo]).T
            out[start : start + _FAST_CHUNK, 0] = x
            out[start : start + _FAST_CHUNK, 1] = y
        return out

    def _normalized_exact(self, pix: np.ndarray) -> np.ndarray:
        """``normalized_points`` of (N, 2) float pixels by OpenCV's iteration, checked."""
        pix = np.asarray(pix, dtype=np.float64)
        out = np.full(pix.shape, np.nan)
        ok = np.all(np.isfinite(pix), axis=1)
        if not np.any(ok):
            return out
        src = pix[ok].reshape(-1, 1, 2)
        if self.fisheye:
            und = cv2.fisheye.undistortPoints(
                src, self.matrix, self.distortion, P=np.eye(3), criteria=_UNDISTORT_CRITERIA
            ).reshape(-1, 2)
        else:
            und = cv2.undistortPointsIter(
                src, self.matrix, self.distortion, np.eye(3), np.eye(3), _UNDISTORT_CRITERIA
            ).reshape(-1, 2)
        miss = np.hypot(*(self._distorted_pixels(und) - pix[ok]).T) > _INVERSE_TOLERANCE_PX
        und[miss] = np.nan  # beyond the lens model's invertible range (fisheye past 90 deg)
        out[ok] = und
        return out

    def undistort_points(self, pixels: Any) -> np.ndarray:
        """Remove the lens distortion, keeping the camera matrix K.

        Parameters
        ----------
        pixels : (N, 2) float array, distorted pixels

        Returns
        -------
        (N, 2) float64 array, ideal (undistorted) pixels; NaN rows stay NaN.
        """
        return self.normalized_points(pixels) @ self.matrix[:2, :2].T + self.matrix[:2, 2]


@dataclass(frozen=True, eq=False)
class InverseGrid:
    """Exact undistortions of a grid of pixels: where the fast inverse of a pinhole lens starts.

    Node ``(i, j)`` is the pixel ``origin + (i, j) * spacing``, row ``j * columns + i`` of
    ``nodes`` (nodes, 4) and ``last`` (nodes,): its normalised undistorted x and y and the
    inverse ``[[a, b], [b, d]]`` of the lens's Jacobian there (normalised units; symmetric
    for OpenCV's pinhole model) as x, y, a, b and d. NaN where the lens cannot be inverted.
    (Rows of 4 float64 take numpy's fast gather path; rows of 5 would not.)
    """

    origin: tuple[float, float]
    spacing: float
    columns: int
    nodes: np.ndarray
    last: np.ndarray


def _pinhole_jacobian(
    x: np.ndarray, y: np.ndarray, distortion: list[float]
) -> tuple[np.ndarray, ...]:
    """OpenCV's 5-term distortion at normalised (x, y) (n,) and its symmetric Jacobian.

    Returns the distorted x', y' and the Jacobian's entries d x'/dx, d y'/dy, d x'/dy
    (= d y'/dx). With s = radial + 2 p2 x + 2 p1 y: x' = x s + p2 r^2, y' = y s + p1 r^2.
    """
    k1, k2, p1, p2, k3 = distortion
    x2, y2, xy = x * x, y * y, x * y
    r2 = x2 + y2
    s = r2 * k3
    s += k2
    s *= r2
    s += k1
    s *= r2
    s += 1.0  # radial
    slope = r2 * (6.0 * k3)
    slope += 4.0 * k2
    slope *= r2
    slope += 2.0 * k1  # 2 d(radial)/d(r^2)
    s += x * (2.0 * p2)
    s += y * (2.0 * p1)
    xd = x * s
    xd += p2 * r2
    yd = y * s
    yd += p1 * r2
    jxx = x2 * slope
    jxx += s
    jxx += x * (4.0 * p2)
    jyy = y2 * slope
    jyy += s
    jyy += y * (4.0 * p1)
    jxy = xy * slope
    jxy += x * (2.0 * p1)
    jxy += y * (2.0 * p2)
    return xd, yd, jxx, jyy, jxy


@dataclass(frozen=True)
class InverseRule:
    """The constants of ``Camera.normalized_points``' pinhole inverse, for copies of it.

    A compiled copy of that inverse (``mocap._triangulation_kernel``) reads them here, so
    both follow any change. Calls of fewer than ``min_grid_points`` pixels take the exact
    route only; the grid route trusts a start within ``start_px`` of its target where the
    Jacobian determinant exceeds ``min_det``; the exact route is OpenCV's fixed point of
    at most ``max_iterations`` steps until within ``epsilon_px``; either result must
    distort back to within ``tolerance_px`` of the pixel, else it is NaN.
    """

    min_grid_points: int
    start_px: float
    min_det: float
    max_iterations: int
    epsilon_px: float
    tolerance_px: float


INVERSE_RULE = InverseRule(
    min_grid_points=_GRID_MIN_POINTS,
    start_px=_FAST_START_PX,
    min_det=_FAST_MIN_DET,
    max_iterations=_UNDISTORT_CRITERIA[1],
    epsilon_px=_UNDISTORT_CRITERIA[2],
    tolerance_px=_INVERSE_TOLERANCE_PX,
)
"""The pinhole inverse's constants (see :class:`InverseRule`)."""


def inverse_grid(camera: Camera) -> InverseGrid:
    """The cached grid of exact undistortions that starts a pinhole ``camera``'s fast inverse.

    Parameters
    ----------
    camera : Camera
        A pinhole camera.

    Returns
    -------
    InverseGrid
        Built once per camera (~15 ms), as ``Camera.normalized_points`` uses it.
    """
    return _inverse_grid(camera)


@functools.lru_cache(maxsize=64)
def _inverse_grid(camera: Camera) -> InverseGrid:
    """The fast-inverse grid of a pinhole ``camera``, built once per camera (~15 ms)."""
    width, height = camera.size
    step, margin = _GRID_SPACING_PX, _GRID_MARGIN_PX
    u = np.arange(-margin, width + margin + step, step)
    v = np.arange(-margin, height + margin + step, step)
    x, y = camera._normalized_exact(np.stack(np.meshgrid(u, v), axis=-1).reshape(-1, 2)).T
    _, _, jxx, jyy, jxy = _pinhole_jacobian(x, y, camera.distortion.tolist())
    det = jxx * jyy - jxy * jxy
    with np.errstate(invalid="ignore", divide="ignore"):
        inverse = np.where(det > 0, 1.0 / det, np.nan)  # folded lens: no local inverse
    nodes = np.column_stack([x, y, jyy * inverse, -jxy * inverse])
    return InverseGrid((float(u[0]), float(v[0])), step, u.size, nodes, jxx * inverse)


def _nearest_on_axis(
    target: np.ndarray, focal: float, centre: float, origin: float, spacing: float
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest grid line (n,) to each of the ``target`` coordinates along one image axis.

    Targets are normalised distorted coordinates; also returns their offsets (n,) from
    the line in the same units.
    """
    line = target * (focal / spacing)
    line += (centre - origin) / spacing + 0.5
    np.floor(line, out=line)
    offset = line * (spacing / focal)
    offset += (origin - centre) / focal
    np.subtract(target, offset, out=offset)
    return line, offset


def _nearest_node(
    camera: Camera, grid: InverseGrid, xd: np.ndarray, yd: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index (n,) of the grid node nearest to each target (xd, yd), and the offsets from it.

    Targets and offsets (n,) are normalised distorted coordinates.
    """
    (fx, _, cx), (_, fy, cy) = camera.matrix[:2].tolist()
    column, du = _nearest_on_axis(xd, fx, cx, grid.origin[0], grid.spacing)
    row, dv = _nearest_on_axis(yd, fy, cy, grid.origin[1], grid.spacing)
    row *= grid.columns
    row += column
    with np.errstate(invalid="ignore"):
        index = row.astype(np.int32)  # NaN or far-off pixels: any node, caught later
    return index, du, dv


def _undistort_fast(
    camera: Camera, grid: InverseGrid, u: np.ndarray, v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised undistorted x, y (n,) of pixels u, v (n,) and which can be trusted (n,).

    Start: the nearest grid node's x, y plus its inverse Jacobian times the pixel's
    (distorted, normalised) offset from the node, ~4e-6 off at 8 px spacing. Then one
    Newton step with the exact Jacobian squares that error (times ~0.25 for a usual lens).
    """
    (fx, _, cx), (_, fy, cy) = camera.matrix[:2].tolist()
    xd = np.multiply(u, 1.0 / fx, dtype=np.float64)  # float32 pixels: no copy first
    xd -= cx / fx
    yd = np.multiply(v, 1.0 / fy, dtype=np.float64)
    yd -= cy / fy
    index, du, dv = _nearest_node(camera, grid, xd, yd)
    node = np.take(grid.nodes, index, axis=0, mode="clip")
    x = node[:, 2] * du
    x += node[:, 3] * dv
    x += node[:, 0]
    y = node[:, 3] * du
    y += np.take(grid.last, index, mode="clip") * dv
    y += node[:, 1]
    ex, ey, jxx, jyy, jxy = _pinhole_jacobian(x, y, camera.distortion.tolist())
    ex -= xd  # residual of the start
    ey -= yd
    det = jxx * jyy
    det -= jxy * jxy
    step = jyy * ex
    step -= jxy * ey
    step /= det
    x -= step
    step = jxx * ey
    step -= jxy * ex
    step /= det
    y -= step
    ex *= fx
    ex *= ex
    ey *= fy
    ey *= ey
    ex += ey  # squared pixel residual of the start
    trusted = ex <= _FAST_START_PX**2
    trusted &= det > _FAST_MIN_DET
    return x, y, trusted


@dataclass(frozen=True)
class CameraRig:
    """An ordered set of cameras with unique names sharing one world frame.

    Attributes
    ----------
    cameras : tuple[Camera, ...]
        The C cameras; their order is the camera axis of every (C, ...) array.
    """

    cameras: tuple[Camera, ...]

    def __post_init__(self) -> None:
        cams = tuple(self.cameras)
        if not cams:
            raise ValueError("a CameraRig needs at least one camera")
        bad = [type(c).__name__ for c in cams if not isinstance(c, Camera)]
        if bad:
            raise TypeError(f"CameraRig takes Camera objects, got {', '.join(bad)}")
        names = [c.name for c in cams]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"camera names must be unique; repeated: {', '.join(dupes)}")
        object.__setattr__(self, "cameras", cams)

    @property
    def names(self) -> tuple[str, ...]:
        """The C camera names, in order."""
        return tuple(c.name for c in self.cameras)

    def __len__(self) -> int:
        return len(self.cameras)

    def __iter__(self) -> Iterator[Camera]:
        return iter(self.cameras)

    def __getitem__(self, key: int | str) -> Camera:
        if isinstance(key, str):
            for cam in self.cameras:
                if cam.name == key:
                    return cam
            raise KeyError(f"no camera named {key!r}; the rig has: {', '.join(self.names)}")
        return self.cameras[key]

    @property
    def projection_matrices(self) -> np.ndarray:
        """(C, 3, 4) float64 array: K [R | t] of each camera, without distortion."""
        return np.stack([c.projection_matrix for c in self.cameras])

    def project(self, points: Any) -> np.ndarray:
        """Project world points into every camera.

        Parameters
        ----------
        points : (N, 3) float array, metres, world frame

        Returns
        -------
        (C, N, 2) float64 array, distorted pixels (NaN behind a camera or for NaN input)
        """
        return np.stack([c.project(points) for c in self.cameras])

    def undistort_points(self, pixels: Any) -> np.ndarray:
        """Remove each camera's lens distortion from its own pixels.

        Parameters
        ----------
        pixels : (C, N, 2) float array, distorted pixels, camera axis in rig order

        Returns
        -------
        (C, N, 2) float64 array, ideal pixels; NaN rows stay NaN
        """
        pix = np.asarray(pixels, dtype=np.float64)
        if pix.ndim != 3 or pix.shape[0] != len(self) or pix.shape[2] != 2:
            raise ValueError(
                f"rig ({', '.join(self.names)}): pixels must be a ({len(self)}, N, 2) array, "
                f"got shape {pix.shape}"
            )
        return np.stack([c.undistort_points(p) for c, p in zip(self.cameras, pix, strict=True)])

    def subset(self, names: Iterable[str]) -> CameraRig:
        """Return a rig of the named cameras, in the order given.

        Parameters
        ----------
        names : iterable of str
            Camera names; a missing one raises KeyError listing the rig's names.

        Returns
        -------
        CameraRig
        """
        return CameraRig(tuple(self[n] for n in names))
