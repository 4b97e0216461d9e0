"""Synthetic ground truth: camera rigs, a kinematic human model, hinge motions, 2D views.

Everything is seeded and exact, so tests can compare any stage with the truth:

>>> from datasets.synthetic import make_scene
>>> scene = make_scene(("good_hinge",), n_cameras=4, seed=1)
>>> scene.points3d.shape[1:]
(37, 3)
"""

from datasets.synthetic.body import ANGLE_NAMES, RIGID_PAIRS, BodyShape, Pose, body_landmarks
from datasets.synthetic.motions import MOTIONS, HingeMotion, Rep, RepTiming, Session, hinge_session
from datasets.synthetic.observe import ObservationNoise, observe
from datasets.synthetic.rigs import look_at, ring_rig
from datasets.synthetic.scene import (
    DEMO_MOTIONS,
    SceneFiles,
    SyntheticScene,
    make_scene,
    write_scene,
)

__all__ = [
    "ANGLE_NAMES",
    "DEMO_MOTIONS",
    "MOTIONS",
    "RIGID_PAIRS",
    "BodyShape",
    "HingeMotion",
    "ObservationNoise",
    "Pose",
    "Rep",
    "RepTiming",
    "SceneFiles",
    "Session",
    "SyntheticScene",
    "body_landmarks",
    "hinge_session",
    "look_at",
    "make_scene",
    "observe",
    "ring_rig",
    "write_scene",
]
