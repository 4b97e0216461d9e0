"""Hinge faults: the threshold table (a frozen dataclass, overridable from TOML) and checks.

Each fault compares one per-rep metric with one threshold of :class:`FaultThresholds`;
the defaults are the issue's and are listed in ``docs/hinge-metrics.md``. A TOML file sets
any of them by field name::

    rounding_lumbar_deg = 12.0
    load_offset_m = 0.10

A fault whose metric is NaN (its landmarks missing) is not checked, and the rep says so.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


@dataclass(frozen=True)
class FaultThresholds:
    """The fault table: each fault's threshold, with the documented defaults.

    Attributes
    ----------
    squat_hip_to_knee_ratio : float
        Pattern "hinge" needs hip flexion >= this x knee flexion at the bottom; else
        "squat", and the fault ``squat``.
    rounding_lumbar_deg : float
        ``rounding`` when lumbar flexion (markers) exceeds this, degrees.
    rounding_chord_pct : float
        Without markers: ``rounding`` when the shoulder-to-hip distance shortens by more
        than this, percent.
    cranked_neck_deg : float
        ``cranked_neck`` when head_trunk is below this (negative: extended), degrees.
    knees_bent_deg : float
        ``knees_bent`` when knee flexion exceeds this, degrees.
    lean_back_deg : float
        ``lean_back`` when the lockout extension is below this (negative), degrees.
    load_offset_m : float
        ``load_drift`` when the hands are further than this in front of the mid-foot at
        the bottom, metres.
    """

    squat_hip_to_knee_ratio: float = 2.0
    rounding_lumbar_deg: float = 10.0
    rounding_chord_pct: float = 3.0
    cranked_neck_deg: float = -15.0
    knees_bent_deg: float = 35.0
    lean_back_deg: float = -5.0
    load_offset_m: float = 0.30

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                msg = f"fault threshold {f.name} must be a number, got {value!r}"
                raise ValueError(msg)
            if not math.isfinite(value):
                msg = f"fault threshold {f.name} must be finite, got {value!r}"
                raise ValueError(msg)
            object.__setattr__(self, f.name, float(value))

    def as_attrs(self) -> dict[str, float]:
        """The table as flat attributes ``thresholds.<field>`` (stored in ``/metrics``)."""
        return {f"thresholds.{f.name}": getattr(self, f.name) for f in fields(self)}


def thresholds_from_toml(
    text: str, source: str = "<string>", base: FaultThresholds | None = None
) -> FaultThresholds:
    """The thresholds of ``base`` (default: the defaults) with the TOML's keys set.

    Raises
    ------
    ValueError
        Naming ``source``: invalid TOML, an unknown key (the valid ones listed), a value
        that is not a finite number.
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{source}: not valid TOML: {exc}"
        raise ValueError(msg) from None
    valid = [f.name for f in fields(FaultThresholds)]
    unknown = sorted(set(doc) - set(valid))
    if unknown:
        msg = f"{source}: unknown fault threshold {unknown[0]!r}; valid: {', '.join(valid)}"
        raise ValueError(msg)
    try:
        return replace(base or FaultThresholds(), **doc)
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None


def load_thresholds(path: str | os.PathLike[str]) -> FaultThresholds:
    """Read a thresholds TOML file (see :func:`thresholds_from_toml`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"fault thresholds file not found: {path}"
        raise FileNotFoundError(msg) from None
    return thresholds_from_toml(text, str(path))


@dataclass(frozen=True)
class Fault:
    """One fault of one rep.

    Attributes
    ----------
    code : str
        Short name for tables: ``squat``, ``rounding``, ``cranked_neck``, ``knees_bent``,
        ``lean_back`` or ``load_drift``.
    message : str
        Plain words with the measured value and the limit, for a clinician.
    """

    code: str
    message: str


FAULT_CODES: tuple[str, ...] = (
    "squat",
    "rounding",
    "cranked_neck",
    "knees_bent",
    "lean_back",
    "load_drift",
)
"""Every fault, in the order reports list them."""


def pattern_of(hip_deg: float, knee_deg: float, thresholds: FaultThresholds) -> str:
    """``"hinge"`` when hip >= ratio x knee flexion, ``"squat"`` if not, ``""`` if unknown."""
    if not (math.isfinite(hip_deg) and math.isfinite(knee_deg)):
        return ""
    return "hinge" if hip_deg >= thresholds.squat_hip_to_knee_ratio * knee_deg else "squat"


def _rounding(v: Mapping[str, float], t: FaultThresholds) -> tuple[bool | None, str]:
    """Rounding by lumbar flexion with markers, else by trunk chord shortening."""
    lumbar, chord = v["lumbar_flexion_deg"], v["trunk_chord_shortening_pct"]
    if math.isfinite(lumbar):
        words = (
            f"Lower back rounded: {lumbar:.0f}° of lumbar flexion at the bottom "
            f"(limit {t.rounding_lumbar_deg:g}°)."
        )
        return lumbar > t.rounding_lumbar_deg, words
    if math.isfinite(chord):
        words = (
            f"Back rounded: the shoulders came {chord:.1f} % closer to the hips at the bottom "
            f"(limit {t.rounding_chord_pct:g} %; no spine markers)."
        )
        return chord > t.rounding_chord_pct, words
    return None, ""


def _checks(v: Mapping[str, float], pattern: str, t: FaultThresholds) -> dict[str, tuple]:
    """Each fault: (raised, True/False, or None when not checkable; plain words)."""
    hip, knee, head = v["hip_flexion_deg"], v["knee_flexion_deg"], v["head_trunk_deg"]
    lockout, load = v["lockout_extension_deg"], v["load_offset_m"]

    def check(value: float, raised: bool) -> bool | None:
        return raised if math.isfinite(value) else None

    return {
        "squat": (
            (pattern == "squat") if pattern else None,
            f"Squatted instead of hinging: the hips bent {hip:.0f}° and the knees {knee:.0f}° "
            f"(a hinge bends the hips at least {t.squat_hip_to_knee_ratio:g} times as much).",
        ),
        "rounding": _rounding(v, t),
        "cranked_neck": (
            check(head, head < t.cranked_neck_deg),
            f"Neck cranked back: the head tipped {-head:.0f}° back relative to the trunk at "
            f"the bottom (limit {-t.cranked_neck_deg:g}°).",
        ),
        "knees_bent": (
            check(knee, knee > t.knees_bent_deg),
            f"Knees bent too much: {knee:.0f}° at the bottom (limit {t.knees_bent_deg:g}°).",
        ),
        "lean_back": (
            check(lockout, lockout < t.lean_back_deg),
            f"Leaned back at the top: {-lockout:.0f}° past standing after the rep "
            f"(limit {-t.lean_back_deg:g}°).",
        ),
        "load_drift": (
            check(load, load > t.load_offset_m),
            f"Hands drifted away from the body: {100 * load:.0f} cm in front of the mid-foot "
            f"at the bottom (limit {100 * t.load_offset_m:g} cm).",
        ),
    }


def check_faults(
    values: Mapping[str, float], pattern: str, thresholds: FaultThresholds
) -> tuple[tuple[Fault, ...], tuple[str, ...]]:
    """The faults of one rep.

    Parameters
    ----------
    values : mapping of str to float
        The rep's metrics (every name of ``REP_METRICS``).
    pattern : str
        ``"hinge"``, ``"squat"`` or ``""`` (unknown).
    thresholds : FaultThresholds

    Returns
    -------
    faults : tuple of Fault
        Those raised, in :data:`FAULT_CODES` order.
    unchecked : tuple of str
        Codes that could not be checked (their metric is NaN).
    """
    results = _checks(values, pattern, thresholds)
    faults = tuple(Fault(code, words) for code, (hit, words) in results.items() if hit)
    unchecked = tuple(code for code, (hit, _) in results.items() if hit is None)
    return faults, unchecked
