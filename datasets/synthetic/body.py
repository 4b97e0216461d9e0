"""A planar-sagittal kinematic human model that yields BlazePose landmarks and spine markers.

The body is a chain of rigid segments that move in the sagittal plane of the subject:
foot (planted, never moves), shank, thigh, pelvis, three spinal segments
(S1-L3, L3-T12, T12-C7), neck and head, and arms. Every landmark is a fixed point of
one segment, so every distance within a segment and every segment length is constant to
floating-point precision in every pose. Left and right sides share the sagittal angles
and differ only in their lateral offset.

Body frame (used for every offset below): x anterior, y up, z to the subject's right,
origin on the floor midway between the ankles. Lengths are fractions of body height
(after Drillis & Contini / Winter's anthropometric tables, rounded).

An *inclination* is the angle of a segment from the vertical in the sagittal plane,
positive when its upper end is forward, as in the hinge metrics' ``phi``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from mocap.skeleton import HINGELAB_KEYPOINTS

FloatArray = NDArray[np.float64]

# Segment lengths as fractions of height.
SHANK = 0.246
THIGH = 0.245
ANKLE_HEIGHT = 0.039
HEEL_BACK = 0.045
TOE_FORWARD = 0.11
LEG_LATERAL = 0.05
UPPER_ARM = 0.186
FOREARM = 0.146
HAND = 0.06
SHOULDER_LATERAL = 0.115
SPINE_S1_L3 = 0.075
SPINE_L3_T12 = 0.08
SPINE_T12_C7 = 0.12
NECK = 0.075

# Rigid offsets (x forward, y up) in the frame of their segment, in fractions of height.
S1_FROM_HIP = (-0.06, 0.055)
SHOULDER_FROM_C7 = (0.045, -0.045)

# Spine posture at rest, degrees: inclination of each spinal segment relative to the
# one below it (S1-L3 relative to the pelvis). Lordosis makes the middle one negative.
REST_S1 = 10.0
REST_L3 = -15.0
REST_T12 = 15.0
REST_NECK = 20.0
HEAD_REST_INCL = REST_S1 + REST_L3 + REST_T12 + REST_NECK  # face level when standing

# Head landmarks relative to the mid-point of the ears, head frame (x, y, z).
HEAD_POINTS: dict[str, tuple[float, float, float]] = {
    "nose": (0.062, -0.012, 0.0),
    "left_eye_inner": (0.052, 0.008, -0.010),
    "left_eye": (0.050, 0.009, -0.018),
    "left_eye_outer": (0.046, 0.008, -0.026),
    "right_eye_inner": (0.052, 0.008, 0.010),
    "right_eye": (0.050, 0.009, 0.018),
    "right_eye_outer": (0.046, 0.008, 0.026),
    "left_ear": (0.0, 0.0, -0.045),
    "right_ear": (0.0, 0.0, 0.045),
    "mouth_left": (0.052, -0.035, -0.014),
    "mouth_right": (0.052, -0.035, 0.014),
}

# Hand landmarks along the forearm direction (along, forward, lateral-outward).
HAND_POINTS: dict[str, tuple[float, float, float]] = {
    "pinky": (HAND * 0.8, -0.005, 0.02),
    "index": (HAND, 0.012, 0.005),
    "thumb": (HAND * 0.55, 0.025, -0.005),
}

ANGLE_NAMES: tuple[str, ...] = (
    "shin",
    "knee",
    "pelvis",
    "lumbar_s1",
    "lumbar_l3",
    "thoracic_t12",
    "neck",
    "arm",
)
"""Degrees of freedom of the model, all in degrees, all zero when standing.

shin: inclination of ankle->knee; knee: knee flexion (shin minus thigh inclination);
pelvis: pelvic tilt (forward positive); lumbar_s1, lumbar_l3, thoracic_t12: flexion
added at the S1, L3 and T12 joints on top of the rest posture; neck: neck flexion
(negative = extension, "cranked"); arm: inclination of the straight arm from hanging
(positive = hands forward).
"""


@dataclass(frozen=True)
class BodyShape:
    """Who is standing where.

    Parameters
    ----------
    height_m : float
        Body height in metres; every length scales with it.
    position_m : (2,) tuple of float
        World (X, Y) of the floor point midway between the ankles, metres.
    heading_deg : float
        Direction the subject faces, degrees counter-clockwise from world +X.
    """

    height_m: float = 1.75
    position_m: tuple[float, float] = (0.0, 0.0)
    heading_deg: float = 0.0

    def __post_init__(self) -> None:
        if not 0.5 <= self.height_m <= 2.5:
            msg = f"height_m must be between 0.5 and 2.5 m, got {self.height_m}"
            raise ValueError(msg)

    def body_to_world(self) -> tuple[FloatArray, FloatArray]:
        """Return ``(R, t)`` with ``world = body @ R.T + t``; R (3, 3), t (3,)."""
        psi = np.deg2rad(self.heading_deg)
        anterior = np.array([np.cos(psi), np.sin(psi), 0.0])
        up = np.array([0.0, 0.0, 1.0])
        right = np.cross(anterior, up)
        rotation = np.column_stack([anterior, up, right])
        return rotation, np.array([self.position_m[0], self.position_m[1], 0.0])


@dataclass(frozen=True)
class Pose:
    """Joint angles over T frames, degrees; zero everywhere is the standing posture.

    Each field is a (T,) float array; see ``ANGLE_NAMES``.
    """

    shin: FloatArray
    knee: FloatArray
    pelvis: FloatArray
    lumbar_s1: FloatArray
    lumbar_l3: FloatArray
    thoracic_t12: FloatArray
    neck: FloatArray
    arm: FloatArray
    n_frames: int = field(init=False)

    def __post_init__(self) -> None:
        lengths = {name: np.shape(getattr(self, name)) for name in ANGLE_NAMES}
        if len({shape for shape in lengths.values()}) != 1 or len(lengths["shin"]) != 1:
            msg = f"all pose angles must be (T,) arrays of one length, got {lengths}"
            raise ValueError(msg)
        object.__setattr__(self, "n_frames", lengths["shin"][0])

    @classmethod
    def standing(cls, n_frames: int) -> Pose:
        """Return ``n_frames`` of quiet standing."""
        return cls(**{name: np.zeros(n_frames) for name in ANGLE_NAMES})


def _direction(incl_deg: FloatArray) -> FloatArray:
    """Unit sagittal vectors (T, 2) with inclination ``incl_deg`` (T,) from vertical."""
    rad = np.deg2rad(incl_deg)
    return np.stack([np.sin(rad), np.cos(rad)], axis=-1)


def _rotate(offset: tuple[float, float], incl_deg: FloatArray) -> FloatArray:
    """Rotate a sagittal offset (x, y) by inclination (T,) degrees; returns (T, 2)."""
    rad = np.deg2rad(incl_deg)
    cos, sin = np.cos(rad), np.sin(rad)
    x, y = offset
    return np.stack([x * cos + y * sin, -x * sin + y * cos], axis=-1)


def _sagittal_chain(pose: Pose, h: float) -> dict[str, FloatArray]:
    """Sagittal (T, 2) positions of the chain points and the segments' inclinations."""
    n = pose.n_frames
    ankle = np.tile([0.0, ANKLE_HEIGHT * h], (n, 1))
    thigh_incl = pose.shin - pose.knee
    knee = ankle + SHANK * h * _direction(pose.shin)
    hip = knee + THIGH * h * _direction(thigh_incl)
    s1 = hip + _rotate((S1_FROM_HIP[0] * h, S1_FROM_HIP[1] * h), pose.pelvis)
    seg1 = pose.pelvis + REST_S1 + pose.lumbar_s1
    seg2 = seg1 + REST_L3 + pose.lumbar_l3
    seg3 = seg2 + REST_T12 + pose.thoracic_t12
    l3 = s1 + SPINE_S1_L3 * h * _direction(seg1)
    t12 = l3 + SPINE_L3_T12 * h * _direction(seg2)
    c7 = t12 + SPINE_T12_C7 * h * _direction(seg3)
    shoulder = c7 + _rotate((SHOULDER_FROM_C7[0] * h, SHOULDER_FROM_C7[1] * h), seg3)
    head_incl = seg3 + REST_NECK + pose.neck
    head = c7 + NECK * h * _direction(head_incl)
    return {
        "ankle": ankle,
        "knee": knee,
        "hip": hip,
        "S1": s1,
        "L3": l3,
        "T12": t12,
        "C7": c7,
        "shoulder": shoulder,
        "head": head,
        "head_incl": head_incl,
    }


def _place(sagittal: FloatArray, lateral: float, forward: float = 0.0) -> FloatArray:
    """Body-frame (T, 3) points from sagittal (T, 2) plus constant offsets."""
    out = np.empty((sagittal.shape[0], 3))
    out[:, 0] = sagittal[:, 0] + forward
    out[:, 1] = sagittal[:, 1]
    out[:, 2] = lateral
    return out


def _head_points(chain: dict[str, FloatArray], h: float) -> dict[str, FloatArray]:
    """Face landmarks (T, 3), rigid with the head."""
    points = {}
    for name, (x, y, z) in HEAD_POINTS.items():
        sag = chain["head"] + _rotate((x * h, y * h), chain["head_incl"] - HEAD_REST_INCL)
        points[name] = _place(sag, z * h)
    return points


def _arm_points(chain: dict[str, FloatArray], pose: Pose, h: float) -> dict[str, FloatArray]:
    """Shoulder, elbow, wrist and hand landmarks (T, 3) of both straight arms."""
    down = -_direction(-pose.arm)  # hanging: points down, forward when arm > 0
    elbow = chain["shoulder"] + UPPER_ARM * h * down
    wrist = elbow + FOREARM * h * down
    forward = np.stack([-down[:, 1], down[:, 0]], axis=-1)  # down turned 90 deg forward
    points = {}
    for side, sign in (("left", -1.0), ("right", 1.0)):
        lateral = sign * SHOULDER_LATERAL * h
        points[f"{side}_shoulder"] = _place(chain["shoulder"], lateral)
        points[f"{side}_elbow"] = _place(elbow, lateral)
        points[f"{side}_wrist"] = _place(wrist, lateral)
        for name, (along, ahead, out) in HAND_POINTS.items():
            sag = wrist + along * h * down + ahead * h * forward
            points[f"{side}_{name}"] = _place(sag, lateral + sign * out * h)
    return points


def _leg_points(chain: dict[str, FloatArray], h: float) -> dict[str, FloatArray]:
    """Hip, knee, ankle, heel and toe landmarks (T, 3) of both legs."""
    n = chain["ankle"].shape[0]
    floor = np.zeros((n, 2))
    points = {}
    for side, sign in (("left", -1.0), ("right", 1.0)):
        lateral = sign * LEG_LATERAL * h
        points[f"{side}_hip"] = _place(chain["hip"], lateral)
        points[f"{side}_knee"] = _place(chain["knee"], lateral)
        points[f"{side}_ankle"] = _place(chain["ankle"], lateral)
        points[f"{side}_heel"] = _place(floor, lateral, -HEEL_BACK * h)
        points[f"{side}_foot_index"] = _place(floor, lateral, TOE_FORWARD * h)
    return points


def body_landmarks(pose: Pose, shape: BodyShape) -> FloatArray:
    """World positions of every HingeLab keypoint for every frame of ``pose``.

    Parameters
    ----------
    pose : Pose
        Joint angles over T frames.
    shape : BodyShape
        Height, position and heading of the subject.

    Returns
    -------
    (T, 37) x 3 float64 array
        Metres, world frame (Z up), in ``mocap.skeleton.HINGELAB_KEYPOINTS`` order:
        the 33 BlazePose landmarks then C7, T12, L3, S1.
    """
    h = shape.height_m
    chain = _sagittal_chain(pose, h)
    points = _head_points(chain, h) | _arm_points(chain, pose, h) | _leg_points(chain, h)
    for marker in ("C7", "T12", "L3", "S1"):
        points[marker] = _place(chain[marker], 0.0)
    body = np.stack([points[name] for name in HINGELAB_KEYPOINTS], axis=1)
    rotation, translation = shape.body_to_world()
    return body @ rotation.T + translation


RIGID_PAIRS: tuple[tuple[str, str], ...] = (
    ("left_hip", "right_hip"),
    ("left_shoulder", "right_shoulder"),
    ("left_ear", "right_ear"),
    ("nose", "left_ear"),
    ("left_hip", "left_knee"),
    ("right_hip", "right_knee"),
    ("left_knee", "left_ankle"),
    ("right_knee", "right_ankle"),
    ("left_ankle", "left_heel"),
    ("left_heel", "left_foot_index"),
    ("right_ankle", "right_foot_index"),
    ("left_shoulder", "left_elbow"),
    ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"),
    ("right_elbow", "right_wrist"),
    ("left_wrist", "left_index"),
    ("right_wrist", "right_thumb"),
    ("left_hip", "S1"),
    ("S1", "L3"),
    ("L3", "T12"),
    ("T12", "C7"),
    ("C7", "left_shoulder"),
    ("C7", "nose"),
)
"""Pairs of landmarks on one rigid segment or across one rigid bone: constant distance."""
