"""What the 3D view draws, as arrays: bones and colours of a frame, camera frusta, the view.

No Qt here: :mod:`viewer.scene3d` hands these arrays to pyqtgraph's GL items.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from calibration.camera import Camera, CameraRig
from mocap.skeleton import BONES, SPINE_MARKERS
from viewer.style import FADED_ALPHA, MIN_VIEWS, SIDE_COLOURS

FloatArray = NDArray[np.float64]


def side_of(*names: str) -> str:
    """``"left"``, ``"right"``, ``"spine"`` or ``"centre"`` for a keypoint or a bone's two."""
    if all(n in SPINE_MARKERS for n in names):
        return "spine"
    for side in ("left", "right"):
        if all(n.startswith(f"{side}_") or n.endswith(f"_{side}") for n in names):
            return side
    return "centre"


@dataclass(frozen=True, eq=False)
class SkeletonLayout:
    """Bones and colours of a trial's keypoints.

    Attributes
    ----------
    bones : ndarray of int, shape (B, 2)
        Keypoint indices of the bones of ``mocap.skeleton.BONES`` the trial has.
    bone_sides : tuple of str
        Side of each bone (:func:`side_of`).
    bone_colours : ndarray, shape (2B, 4)
        RGBA of each bone end (vertex), opaque.
    point_colours : ndarray, shape (J, 4)
        RGBA of each keypoint, opaque.
    markers : ndarray of bool, shape (J,)
        The spine skin markers (drawn larger).
    spine : ndarray of bool, shape (B,)
        Bones of the spine chain C7-T12-L3-S1 (drawn wider).
    """

    bones: NDArray[np.intp]
    bone_sides: tuple[str, ...]
    bone_colours: FloatArray
    point_colours: FloatArray
    markers: NDArray[np.bool_]
    spine: NDArray[np.bool_]


def skeleton_layout(keypoint_names: tuple[str, ...]) -> SkeletonLayout:
    """The layout of the bones among ``keypoint_names`` (bones with a missing end dropped)."""
    index = {name: j for j, name in enumerate(keypoint_names)}
    pairs = [(a, b) for a, b in BONES if a in index and b in index]
    bones = np.array([(index[a], index[b]) for a, b in pairs], dtype=np.intp).reshape(-1, 2)
    sides = tuple(side_of(a, b) for a, b in pairs)
    colours = np.array([SIDE_COLOURS[s] for s in sides for _ in range(2)]).reshape(-1, 4)
    points = np.array([SIDE_COLOURS[side_of(n)] for n in keypoint_names]).reshape(-1, 4)
    return SkeletonLayout(
        bones=bones,
        bone_sides=sides,
        bone_colours=colours,
        point_colours=points,
        markers=np.array([n in SPINE_MARKERS for n in keypoint_names]),
        spine=np.array([s == "spine" for s in sides], dtype=bool),
    )


def faded_points(n_views: NDArray | None) -> NDArray[np.bool_] | None:
    """Which points (any shape) were seen by fewer than MIN_VIEWS cameras (None: unknown)."""
    return None if n_views is None else np.asarray(n_views) < MIN_VIEWS


def frame_lines(
    points: FloatArray, layout: SkeletonLayout, faded: NDArray[np.bool_] | None
) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    """The bones of one frame as GL line vertices.

    Parameters
    ----------
    points : ndarray, shape (J, 3)
        The frame's 3D points, NaN where missing.
    layout : SkeletonLayout
    faded : ndarray of bool, shape (J,), or None
        Points to draw faded.

    Returns
    -------
    vertices : ndarray, shape (2N, 3)
        Both ends of the N bones whose ends are both known.
    colours : ndarray, shape (2N, 4)
        Their colours; a bone with a faded end is faded.
    drawn : ndarray of bool, shape (B,)
        Which bones of the layout are in ``vertices``.
    """
    ends = points[layout.bones]  # (B, 2, 3)
    drawn = np.isfinite(ends).all(axis=(1, 2))
    colours = layout.bone_colours.reshape(-1, 2, 4)[drawn].copy()
    if faded is not None:
        dim = faded[layout.bones[drawn]].any(axis=1)
        colours[dim, :, 3] = FADED_ALPHA
    return ends[drawn].reshape(-1, 3), colours.reshape(-1, 4), drawn


def frame_points(
    points: FloatArray, layout: SkeletonLayout, faded: NDArray[np.bool_] | None
) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    """The known points of one frame, their colours (faded ones translucent) and mask (J,)."""
    known = np.isfinite(points).all(axis=1)
    colours = layout.point_colours.copy()
    if faded is not None:
        colours[faded, 3] = FADED_ALPHA
    return points[known], colours[known], known


def frustum_lines(camera: Camera, depth: float) -> FloatArray:
    """A camera as 8 line segments: centre to the 4 image corners at ``depth``, and the rim.

    Returns
    -------
    ndarray, shape (16, 3)
        Segment end points in the world frame, metres (pairs of rows).
    """
    width, height = camera.size
    corners = np.array([[0, 0, 1], [width, 0, 1], [width, height, 1], [0, height, 1]], float)
    rays = corners @ np.linalg.inv(camera.matrix).T  # camera frame, z = 1
    world = camera.center + (depth * rays) @ camera.rotation_matrix  # R^T applied to rows
    rim = [p for k in range(4) for p in (world[k], world[(k + 1) % 4])]
    spokes = [p for corner in world for p in (camera.center, corner)]
    return np.array(spokes + rim)


def rig_lines(rig: CameraRig, depth: float) -> tuple[FloatArray, FloatArray]:
    """Every camera's frustum (16C, 3) and its name's anchor (C, 3): just above its centre."""
    lines = np.concatenate([frustum_lines(c, depth) for c in rig]) if len(rig) else np.zeros((0, 3))
    above = np.array([0.0, 0.0, 0.08])
    anchors = np.array([c.center + above for c in rig]).reshape(-1, 3)
    return lines, anchors


@dataclass(frozen=True)
class ViewPose:
    """Where the 3D view's camera looks from (pyqtgraph ``setCameraPosition`` arguments)."""

    center: tuple[float, float, float]
    distance: float
    elevation: float
    azimuth: float


def default_view(
    hips: FloatArray, anterior: FloatArray | None, rig: CameraRig | None = None
) -> ViewPose:
    """A front three-quarter view from the subject's left, framing the subject.

    Parameters
    ----------
    hips : ndarray, shape (N, 3)
        Hip positions (any frames; NaN rows ignored): the view centres on their mean.
    anterior : ndarray, shape (3,), or None
        The subject's forward direction (the hinge analysis's body frame), if known.
    rig : CameraRig, optional
        The cameras: the view backs off to show the nearer ones.
    """
    finite = hips[np.isfinite(hips).all(axis=1)]
    centre = finite.mean(axis=0) if len(finite) else np.array([0.0, 0.0, 0.9])
    azimuth = 45.0
    if anterior is not None and np.isfinite(anterior).all():
        forward = math.degrees(math.atan2(anterior[1], anterior[0]))
        azimuth = forward + 50.0  # 50 degrees to the subject's left of straight ahead
    distance = 4.2
    if rig is not None and len(rig):
        radius = max(float(np.linalg.norm((c.center - centre)[:2])) for c in rig)
        distance = float(np.clip(1.15 * radius, 3.0, 8.0))
    return ViewPose((float(centre[0]), float(centre[1]), 0.85), distance, 18.0, azimuth)
