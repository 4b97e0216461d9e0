"""Per-frame hinge metrics in one body frame, relative to one standing baseline.

:func:`frame_metrics` computes every metric of :data:`mocap.hinge.definitions.FRAME_METRICS`
for all T frames, in a rep's frame and relative to the mean of its standing frames
(``docs/hinge-metrics.md``). The analysis then keeps, for each frame, the values of the
rep whose baseline it belongs to.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from mocap.hinge.definitions import ANGLE_METRICS, HINGE_RATIO_MIN_DOWN_M
from mocap.hinge.frame import BodyFrame, FloatArray, wrap_deg
from mocap.hinge.landmarks import Landmarks

IndexArray = NDArray[np.intp]


def quiet_mean(values: FloatArray, axis: int = 0) -> FloatArray:
    """Mean over ``axis`` ignoring NaN; NaN (without a warning) where nothing is finite."""
    finite = np.isfinite(values)
    count = finite.sum(axis=axis)
    total = np.where(finite, values, 0.0).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _sides(frame: BodyFrame, lm: Landmarks) -> tuple[FloatArray, FloatArray]:
    """Thigh phi(H - K) and shin phi(K - A) inclinations per side, each (2, T)."""
    thigh = np.stack([frame.inclination(lm.hip - knee) for knee in lm.knees])
    shin = np.stack([frame.inclination(k - a) for k, a in zip(lm.knees, lm.ankles, strict=True)])
    return thigh, shin


def raw_hip_flexion(frame: BodyFrame, lm: Landmarks) -> FloatArray:
    """phi(S - H) - phi(H - K) per side, then averaged; (T,) degrees, not baseline-relative."""
    thigh, _ = _sides(frame, lm)
    return quiet_mean(wrap_deg(frame.inclination(lm.shoulder - lm.hip) - thigh))


def _spine(frame: BodyFrame, lm: Landmarks) -> dict[str, FloatArray]:
    """Marker angles (degrees) and the signed L3 distance from the line C7-S1 (metres)."""
    m = lm.markers
    lower = frame.inclination(m["L3"] - m["S1"])
    middle = frame.inclination(m["T12"] - m["L3"])
    upper = frame.inclination(m["C7"] - m["T12"])
    cx, cy = frame.coordinates(m["C7"] - m["S1"])
    lx, ly = frame.coordinates(m["L3"] - m["S1"])
    with np.errstate(invalid="ignore", divide="ignore"):
        curve = (cx * ly - cy * lx) / np.hypot(cx, cy)  # + = L3 behind (dorsal to) the chord
    return {
        "lumbar_flexion_deg": wrap_deg(middle - lower),
        "thoracic_flexion_deg": wrap_deg(upper - middle),
        "spine_curve_mm": curve,
    }


def raw_angles(frame: BodyFrame, lm: Landmarks) -> dict[str, FloatArray]:
    """Every angle metric and the spine curve, not yet relative to standing; each (T,)."""
    trunk = frame.inclination(lm.shoulder - lm.hip)
    thigh, shin = _sides(frame, lm)
    return {
        "trunk_flexion_deg": trunk,
        "hip_flexion_deg": quiet_mean(wrap_deg(trunk - thigh)),
        "knee_flexion_deg": quiet_mean(wrap_deg(shin - thigh)),
        "shin_angle_deg": quiet_mean(shin),
        "head_trunk_deg": wrap_deg(frame.inclination(lm.ear - lm.shoulder) - trunk),
        **_spine(frame, lm),
    }


def _hip_path(frame: BodyFrame, lm: Landmarks, standing: IndexArray) -> dict[str, FloatArray]:
    """Hip displacement from the standing mean H0: back, down, their ratio and direction."""
    x, y = frame.coordinates(lm.hip - quiet_mean(lm.hip[standing]))
    back, down = -x, -y
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(down > HINGE_RATIO_MIN_DOWN_M, back / down, np.inf)
    ratio[~(np.isfinite(back) & np.isfinite(down))] = np.nan
    angle = np.degrees(np.arctan2(down, back))
    angle[~(np.hypot(back, down) > HINGE_RATIO_MIN_DOWN_M)] = np.nan  # no direction yet
    return {
        "hip_back_m": back,
        "hip_down_m": down,
        "hinge_ratio": ratio,
        "hip_path_angle_deg": angle,
    }


def frame_metrics(frame: BodyFrame, lm: Landmarks, standing: IndexArray) -> dict[str, FloatArray]:
    """Every per-frame metric in ``frame``, relative to the ``standing`` frames' mean.

    Parameters
    ----------
    frame : BodyFrame
        The rep's frame (constant axes).
    lm : Landmarks
        Landmark trajectories, T frames.
    standing : ndarray of int, shape (N,)
        Indices of the standing frames that are the baseline.

    Returns
    -------
    dict of str to ndarray, shape (T,)
        Keyed by the names of ``FRAME_METRICS``; NaN where a landmark is missing.
    """
    raw = raw_angles(frame, lm)
    base = {name: quiet_mean(values[standing]) for name, values in raw.items()}
    out = {name: wrap_deg(raw[name] - base[name]) for name in ANGLE_METRICS}
    out["spine_curve_mm"] = 1000.0 * (raw["spine_curve_mm"] - base["spine_curve_mm"])
    chord = np.linalg.norm(lm.shoulder - lm.hip, axis=-1)
    out["trunk_chord_shortening_pct"] = 100.0 * (1.0 - chord / quiet_mean(chord[standing]))
    out["load_offset_m"] = frame.coordinates(lm.wrist - lm.foot)[0]
    return _hip_path(frame, lm, standing) | out
