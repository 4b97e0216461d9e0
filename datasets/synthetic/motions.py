"""Hinge-like motions of the synthetic body: reps with standing pauses between them.

A motion is the set of joint-angle changes at the bottom of a rep (see
``body.ANGLE_NAMES``). A rep goes down along a raised-cosine profile, holds, comes back
up the same way, and may lean back past standing at lockout; standing pauses separate
reps, so every rep has standing frames just before it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from datasets.synthetic.body import ANGLE_NAMES, FloatArray, Pose


@dataclass(frozen=True)
class HingeMotion:
    """One kind of rep.

    Parameters
    ----------
    name : str
        Identifier, e.g. ``"good_hinge"``.
    bottom_deg : mapping of str to float
        Joint-angle changes at the bottom of the rep, degrees, keyed by
        ``body.ANGLE_NAMES``; absent angles stay at standing.
    lockout_lean_deg : float
        Backward pelvic tilt reached briefly after the rep (leaning back past standing).
    description : str
        One line for humans.
    """

    name: str
    bottom_deg: Mapping[str, float]
    lockout_lean_deg: float = 0.0
    description: str = ""

    def __post_init__(self) -> None:
        unknown = set(self.bottom_deg) - set(ANGLE_NAMES)
        if unknown:
            msg = f"motion {self.name!r}: unknown angles {sorted(unknown)}; use {ANGLE_NAMES}"
            raise ValueError(msg)
        object.__setattr__(self, "bottom_deg", MappingProxyType(dict(self.bottom_deg)))


GOOD_HINGE = HingeMotion(
    "good_hinge",
    {"shin": 3.0, "knee": 25.0, "pelvis": 72.0},
    description="hips back, soft knees, flat back, head following the shoulders",
)
SQUAT_HINGE = HingeMotion(
    "squat_hinge",
    {"shin": 30.0, "knee": 95.0, "pelvis": 38.0},
    description="a squat done in place of a hinge: hips down, knees forward",
)
ROUNDED_HINGE = HingeMotion(
    "rounded_hinge",
    {
        "shin": 3.0,
        "knee": 25.0,
        "pelvis": 45.0,
        "lumbar_s1": 12.0,
        "lumbar_l3": 22.0,
        "thoracic_t12": 8.0,
    },
    description="hinge whose lumbar spine rounds instead of the hips flexing",
)
CRANKED_NECK_HINGE = HingeMotion(
    "cranked_neck_hinge",
    {"shin": 3.0, "knee": 25.0, "pelvis": 72.0, "neck": -35.0},
    description="good hinge, but the neck extends to look ahead",
)
LEAN_BACK_HINGE = HingeMotion(
    "lean_back_hinge",
    {"shin": 3.0, "knee": 25.0, "pelvis": 72.0},
    lockout_lean_deg=12.0,
    description="good hinge that leans back past standing at lockout",
)

MOTIONS: Mapping[str, HingeMotion] = MappingProxyType(
    {
        m.name: m
        for m in (GOOD_HINGE, SQUAT_HINGE, ROUNDED_HINGE, CRANKED_NECK_HINGE, LEAN_BACK_HINGE)
    }
)
"""Every built-in motion by name."""


@dataclass(frozen=True)
class RepTiming:
    """Durations of the phases of every rep, seconds."""

    lead_in_s: float = 1.5
    descent_s: float = 1.4
    hold_s: float = 0.3
    ascent_s: float = 1.4
    pause_s: float = 1.6


@dataclass(frozen=True)
class Rep:
    """Ground-truth timing of one rep: movement starts, bottom (mid-hold) and ends, seconds."""

    motion: str
    start_s: float
    bottom_s: float
    end_s: float


@dataclass(frozen=True)
class Session:
    """A sequence of reps with standing pauses.

    Attributes
    ----------
    fps : float
        Frame rate.
    times : (T,) float array
        Seconds from the first frame.
    pose : Pose
        Joint angles for the T frames.
    reps : tuple of Rep
        Ground-truth rep windows.
    """

    fps: float
    times: FloatArray
    pose: Pose
    reps: tuple[Rep, ...] = field(default_factory=tuple)


def _rep_profile(t: FloatArray, start: float, timing: RepTiming) -> FloatArray:
    """Depth of a rep starting at ``start``: 0 standing, 1 at the bottom; (T,) in [0, 1]."""
    down = np.clip((t - start) / timing.descent_s, 0.0, 1.0)
    up_start = start + timing.descent_s + timing.hold_s
    up = np.clip((t - up_start) / timing.ascent_s, 0.0, 1.0)
    return 0.5 * (1 - np.cos(np.pi * down)) - 0.5 * (1 - np.cos(np.pi * up))


LEAN_LEAD_S = 0.25
"""The lockout lean starts this long before the ascent ends (people lean back as they
finish standing up), so it peaks 0.05 s after standing is reached: within the 0.5 s
lockout window that follows a rep's end (docs/hinge-metrics.md)."""


def _lean_profile(t: FloatArray, start: float, duration: float = 0.6) -> FloatArray:
    """A sin^2 bump from 0 to 1 and back over ``duration`` seconds after ``start``."""
    tau = np.clip((t - start) / duration, 0.0, 1.0)
    return np.sin(np.pi * tau) ** 2


def hinge_session(
    motions: Sequence[str | HingeMotion],
    fps: float = 60.0,
    timing: RepTiming | None = None,
) -> Session:
    """Build a session doing one rep of each motion in turn.

    Parameters
    ----------
    motions : sequence of str or HingeMotion
        The reps in order; names refer to ``MOTIONS``.
    fps : float
        Frames per second.
    timing : RepTiming, optional
        Phase durations; the defaults give 6.2 s per rep including its pause.

    Returns
    -------
    Session
        Angles for every frame and the true rep windows.
    """
    timing = timing or RepTiming()
    resolved = [m if isinstance(m, HingeMotion) else _lookup(m) for m in motions]
    rep_s = timing.descent_s + timing.hold_s + timing.ascent_s
    starts = [timing.lead_in_s + i * (rep_s + timing.pause_s) for i in range(len(resolved))]
    duration = timing.lead_in_s + len(resolved) * (rep_s + timing.pause_s)
    times = np.arange(round(duration * fps)) / fps
    angles = {name: np.zeros_like(times) for name in ANGLE_NAMES}
    reps = []
    for motion, start in zip(resolved, starts, strict=True):
        depth = _rep_profile(times, start, timing)
        for name, value in motion.bottom_deg.items():
            angles[name] += value * depth
        lean_start = start + rep_s - LEAN_LEAD_S
        angles["pelvis"] -= motion.lockout_lean_deg * _lean_profile(times, lean_start)
        bottom = start + timing.descent_s + timing.hold_s / 2
        reps.append(Rep(motion.name, start, bottom, start + rep_s))
    return Session(fps=fps, times=times, pose=Pose(**angles), reps=tuple(reps))


def _lookup(name: str) -> HingeMotion:
    """Return the built-in motion ``name`` or raise a KeyError listing them."""
    try:
        return MOTIONS[name]
    except KeyError:
        msg = f"unknown motion {name!r}; built-in motions: {', '.join(MOTIONS)}"
        raise KeyError(msg) from None
