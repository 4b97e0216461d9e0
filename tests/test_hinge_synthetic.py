"""Acceptance of issue 5 (hinge metrics) on synthetic sessions with exact ground truth.

The expected values come from the body model itself (``datasets.synthetic.body``): its
pose angles where the model defines a metric directly (knee = knee flexion, shin, the
thigh's inclination shin - knee, lumbar_l3, thoracic_t12) and its forward kinematics in
the body frame (``_sagittal_chain``: hip, shoulder, head, markers) for the rest, never
from ``mocap.hinge``. The analysis only sees world-frame landmarks of a subject standing
anywhere, facing anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from datasets.synthetic import BodyShape, ObservationNoise, make_scene, observe
from datasets.synthetic.body import (
    FOREARM,
    HEEL_BACK,
    TOE_FORWARD,
    UPPER_ARM,
    Pose,
    _sagittal_chain,
)
from datasets.synthetic.motions import MOTIONS, hinge_session
from mocap.hinge import REP_METRICS, HingeAnalysis, analyse_points, thresholds_from_toml
from mocap.pipeline import reconstruct_trial
from mocap.skeleton import SPINE_MARKERS
from mocap.trial import Trial

SESSION = (
    "good_hinge",
    "squat_hinge",
    "rounded_hinge",
    "cranked_neck_hinge",
    "lean_back_hinge",
)
"""One rep of every built-in motion; the lean-back last (its lean reaches into the pause)."""
EXPECTED = {
    "good_hinge": ("hinge", ()),
    "squat_hinge": ("squat", ("squat", "knees_bent")),
    "rounded_hinge": ("hinge", ("rounding",)),
    "cranked_neck_hinge": ("hinge", ("cranked_neck",)),
    "lean_back_hinge": ("hinge", ("lean_back",)),  # -12 deg in the 0.5 s window: < -5
}
"""Pattern and faults of each motion with the default thresholds."""
FPS = 60.0
LENGTHS_M = ("hip_back_m", "hip_down_m", "load_offset_m")


def _incl(u: np.ndarray) -> np.ndarray:
    """Inclination from vertical (degrees, + forward) of body-frame sagittal vectors (T, 2)."""
    return np.degrees(np.arctan2(u[:, 0], u[:, 1]))


def _curve_m(c: dict[str, np.ndarray]) -> np.ndarray:
    """Signed distance of L3 behind the chord C7-S1 (body frame), metres."""
    chord, l3 = c["C7"] - c["S1"], c["L3"] - c["S1"]
    return (chord[:, 0] * l3[:, 1] - chord[:, 1] * l3[:, 0]) / np.linalg.norm(chord, axis=1)


def _raw_truth(pose: Pose, height: float) -> dict[str, np.ndarray]:
    """Absolute (not baseline-relative) quantities of the model, per frame."""
    c = _sagittal_chain(pose, height)
    trunk = _incl(c["shoulder"] - c["hip"])
    hands = c["shoulder"][:, 0] + (UPPER_ARM + FOREARM) * height * np.sin(np.radians(pose.arm))
    return {
        "trunk_flexion_deg": trunk,
        "hip_flexion_deg": trunk - (pose.shin - pose.knee),  # thigh inclination = shin - knee
        "knee_flexion_deg": pose.knee,
        "shin_angle_deg": pose.shin,
        "head_trunk_deg": _incl(c["head"] - c["shoulder"]) - trunk,  # head point = ears' middle
        "lumbar_flexion_deg": pose.lumbar_l3,
        "thoracic_flexion_deg": pose.thoracic_t12,
        "spine_curve_mm": 1000 * _curve_m(c),
        "chord": np.linalg.norm(c["shoulder"] - c["hip"], axis=1),
        "hip_x": c["hip"][:, 0],
        "hip_y": c["hip"][:, 1],
        "load_offset_m": hands - (TOE_FORWARD - HEEL_BACK) / 2 * height,
    }


def truth_series(pose: Pose, height: float) -> dict[str, np.ndarray]:
    """Every per-frame metric of the model, relative to its standing pose."""
    raw, rest = _raw_truth(pose, height), _raw_truth(Pose.standing(1), height)
    out = {k: raw[k] - rest[k][0] for k in raw if k.endswith(("_deg", "_mm"))}
    out["trunk_chord_shortening_pct"] = 100 * (1 - raw["chord"] / rest["chord"][0])
    out["hip_back_m"] = -(raw["hip_x"] - rest["hip_x"][0])
    out["hip_down_m"] = -(raw["hip_y"] - rest["hip_y"][0])
    out["load_offset_m"] = raw["load_offset_m"]
    return out


@dataclass(frozen=True)
class TrueRep:
    """A rep's truth: start/end at 15 % of its peak hip flexion, bottom, metric values."""

    motion: str
    start_s: float
    bottom_s: float
    end_s: float
    values: dict[str, float]


def _crossings(motions: tuple[str, ...], height: float) -> list[tuple[float, float]]:
    """Start and end of each rep: hip flexion above 15 % of its peak, sampled at 1 kHz."""
    dense = hinge_session(motions, fps=1000.0)
    hip = truth_series(dense.pose, height)["hip_flexion_deg"]
    out = []
    for rep in dense.reps:
        inside = (dense.times >= rep.start_s) & (dense.times <= rep.end_s)
        above = np.flatnonzero(inside & (hip > 0.15 * hip[inside].max()))
        out.append((dense.times[above[0]], dense.times[above[-1]]))
    return out


def truth_reps(motions: tuple[str, ...], height: float) -> list[TrueRep]:
    """Every rep's truth for a session of ``motions`` at FPS (as ``make_scene`` builds it)."""
    session = hinge_session(motions, fps=FPS)
    series, times = truth_series(session.pose, height), session.times
    reps = []
    for rep, (start, end) in zip(session.reps, _crossings(motions, height), strict=True):
        bottom = int(np.argmin(np.abs(times - rep.bottom_s)))  # mid-hold: the held pose
        values = {name: float(v[bottom]) for name, v in series.items()}
        values["hinge_ratio"] = values["hip_back_m"] / values["hip_down_m"]
        values["hip_path_angle_deg"] = float(
            np.degrees(np.arctan2(values["hip_down_m"], values["hip_back_m"]))
        )
        window = (times > end) & (times <= end + 0.5)
        values["lockout_extension_deg"] = float(series["trunk_flexion_deg"][window].min())
        reps.append(TrueRep(rep.motion, start, rep.bottom_s, end, values))
    return reps


def tolerance(name: str, angle: float, length_m: float) -> float:
    """A metric's tolerance from the angle (degrees) and length (metres) tolerances."""
    if name.endswith("_deg"):
        return angle
    if name.endswith("_mm"):
        return 1000 * length_m
    if name.endswith("_pct"):
        return 100 * length_m / 0.5  # of a ~0.5 m shoulder-to-hip chord
    if name == "hinge_ratio":
        return 0.01 * length_m / 0.001  # ratio of ~4: 1 mm of 32 mm down moves it 0.14
    return length_m


def _analyse(points: np.ndarray, names: tuple[str, ...], **kwargs: object) -> HingeAnalysis:
    times = np.arange(points.shape[0]) / FPS
    return analyse_points(points, names, times, FPS, **kwargs)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- exact 3D

SHAPES = {
    "default": BodyShape(),
    "turned": BodyShape(height_m=1.6, position_m=(0.7, -0.4), heading_deg=200.0),
}


@pytest.fixture(scope="module", params=list(SHAPES))
def exact(request: pytest.FixtureRequest) -> tuple[HingeAnalysis, list[TrueRep], BodyShape]:
    """The exact landmarks of the whole session analysed, with the truth."""
    shape = SHAPES[request.param]
    scene = make_scene(SESSION, shape=shape)
    analysis = _analyse(scene.points3d, scene.keypoint_names)
    return analysis, truth_reps(SESSION, shape.height_m), shape


def test_exact_reps_are_found_with_their_times(
    exact: tuple[HingeAnalysis, list[TrueRep], BodyShape],
) -> None:
    """Five reps; start/end within 0.1 s (the issue's limit; seen 0.6 ms), bottom 1 frame.

    The truth is the 15 % crossing of the model's own hip flexion sampled at 1 kHz (1 ms);
    the bottom is the middle of the held plateau, within one 60 fps frame.
    """
    analysis, truth, _ = exact
    assert not analysis.problems
    assert len(analysis.reps) == len(truth) == 5
    for rep, true in zip(analysis.reps, truth, strict=True):
        assert abs(rep.start_s - true.start_s) < 0.1
        assert abs(rep.end_s - true.end_s) < 0.1
        assert abs(rep.start_s - true.start_s) < 0.002  # the interpolated crossing itself
        assert abs(rep.end_s - true.end_s) < 0.002
        assert abs(rep.bottom_s - true.bottom_s) <= 1 / FPS


def test_exact_metrics_equal_the_kinematics(
    exact: tuple[HingeAnalysis, list[TrueRep], BodyShape],
) -> None:
    """Every per-rep metric within 0.1 deg / 1 mm of the model (seen 1e-13 deg, 1e-15 m).

    The landmarks are exact (float64), so only rounding is left; from a trial file
    (float32) it is ~1e-5 deg (tests/test_hinge_cli.py).
    """
    analysis, truth, _ = exact
    for rep, true in zip(analysis.reps, truth, strict=True):
        for metric in REP_METRICS:
            got, want = rep.values[metric.name], true.values[metric.name]
            tol = tolerance(metric.name, 0.1, 0.001)
            assert abs(got - want) < tol, (true.motion, metric.name, got, want)


def test_exact_series_equal_the_kinematics_in_every_frame(
    exact: tuple[HingeAnalysis, list[TrueRep], BodyShape],
) -> None:
    """The per-frame series too, in every frame: 0.1 deg / 1 mm (seen 1e-13 deg, 1e-15 m).

    Each frame uses the standing baseline of its rep, which is the model's standing pose.
    """
    analysis, _, shape = exact
    truth = truth_series(hinge_session(SESSION, fps=FPS).pose, shape.height_m)
    for name, want in truth.items():
        error = np.abs(analysis.series[name] - want)
        assert error.max() < tolerance(name, 0.1, 0.001), name


def test_exact_patterns_and_faults(
    exact: tuple[HingeAnalysis, list[TrueRep], BodyShape],
) -> None:
    """Pattern right for every motion; rounding and cranked neck raise exactly their fault.

    The good hinge raises none; the squat is the squat and its 95 deg knees (> 35); the
    lean-back hinge leans back 12 deg within the 0.5 s after its end (limit -5).
    """
    analysis, truth, _ = exact
    for rep, true in zip(analysis.reps, truth, strict=True):
        pattern, faults = EXPECTED[true.motion]
        assert rep.pattern == pattern, true.motion
        assert tuple(f.code for f in rep.faults) == faults, true.motion
        assert not rep.unchecked


def test_thresholds_from_toml_change_the_faults() -> None:
    """A lean-back limit of -15 deg no longer flags the lean-back hinge (-12 deg)."""
    scene = make_scene(("good_hinge", "lean_back_hinge"))
    thresholds = thresholds_from_toml("lean_back_deg = -15.0\n", "faults.toml")
    analysis = _analyse(scene.points3d, scene.keypoint_names, thresholds=thresholds)
    truth = truth_reps(("good_hinge", "lean_back_hinge"), 1.75)
    assert abs(truth[1].values["lockout_extension_deg"] - (-12.0)) < 0.001  # the model's
    assert [rep.fault_codes for rep in analysis.reps] == ["", ""]
    with pytest.raises(ValueError, match=r"faults.toml: unknown fault threshold 'knee_deg'"):
        thresholds_from_toml("knee_deg = 3\n", "faults.toml")


def test_without_markers_rounding_is_judged_by_the_trunk_chord() -> None:
    """No spine markers: marker metrics NaN (said), the rounded hinge still flagged.

    The trunk chord shortens 17.85 % (model) on the rounded hinge, 0 on the good one:
    within 0.2 % (1 mm of the 0.5 m chord) of the model.
    """
    motions = ("good_hinge", "rounded_hinge")
    scene = make_scene(motions)
    keep = [i for i, n in enumerate(scene.keypoint_names) if n not in SPINE_MARKERS]
    names = tuple(scene.keypoint_names[i] for i in keep)
    analysis = _analyse(scene.points3d[:, keep], names)
    assert len(analysis.problems) == 1
    assert "C7, T12, L3, S1" in analysis.problems[0]
    truth = truth_reps(motions, 1.75)
    for rep, true in zip(analysis.reps, truth, strict=True):
        chord = rep.values["trunk_chord_shortening_pct"]
        assert abs(chord - true.values["trunk_chord_shortening_pct"]) < 0.2
        assert np.isnan([rep.values[n] for n in ("lumbar_flexion_deg", "spine_curve_mm")]).all()
    assert [rep.fault_codes for rep in analysis.reps] == ["", "rounding"]
    assert "no spine markers" in analysis.reps[1].faults[0].message


# ----------------------------------------------------------------------------- 2D pipeline

NOISE = ObservationNoise(pixel_sigma=1.5, dropout=0.10, outliers=0.05)
"""As tests/test_reconstruction_synthetic.py: 1.5 px noise, 10 % missed, 5 % outliers."""
HEADINGS = tuple(range(0, 360, 45))
BODY_ANGLES = ("trunk_flexion_deg", "hip_flexion_deg", "knee_flexion_deg", "shin_angle_deg")


def _position(heading: int) -> tuple[float, float]:
    """A different place in the capture volume for each heading (up to 0.6 m off centre)."""
    turn = np.radians(100.0 * heading / 45)
    return 0.6 * float(np.cos(turn)), 0.6 * float(np.sin(turn))


@pytest.fixture(scope="module")
def pipeline() -> dict[int, HingeAnalysis]:
    """The session seen by 4 cameras, reconstructed (defaults), analysed: per heading."""
    out = {}
    for i, heading in enumerate(HEADINGS):
        shape = BodyShape(position_m=_position(heading), heading_deg=float(heading))
        scene = make_scene(SESSION, n_cameras=4, fps=FPS, shape=shape, seed=i)
        trial = Trial(
            fps=FPS,
            keypoint_names=scene.keypoint_names,
            camera_names=scene.rig.names,
            timestamps=scene.session.times,
            keypoints2d=observe(scene.rig, scene.points3d, NOISE, seed=i),
        )
        points = reconstruct_trial(trial, scene.rig).points3d
        out[heading] = _analyse(points, scene.keypoint_names)
    return out


@pytest.mark.parametrize("heading", HEADINGS)
def test_pipeline_metrics_within_3_deg_and_15_mm(
    pipeline: dict[int, HingeAnalysis], heading: int
) -> None:
    """Per-rep angles within 3 deg, hip displacements 1.5 cm, at any heading and position.

    Seen over the 8 headings: body angles <= 0.7 deg, head 1.2 deg, marker angles 2.5 deg
    (three markers 13-14 cm apart, ~2 mm 3D noise each), hips <= 2.1 mm, hands 3.4 mm.
    Timing within 0.1 s (seen 10 ms). Pattern and faults as on the exact data.
    """
    analysis, truth = pipeline[heading], truth_reps(SESSION, 1.75)
    assert len(analysis.reps) == 5
    for rep, true in zip(analysis.reps, truth, strict=True):
        assert abs(rep.start_s - true.start_s) < 0.1
        assert abs(rep.end_s - true.end_s) < 0.1
        for metric in REP_METRICS:
            got, want = rep.values[metric.name], true.values[metric.name]
            if metric.unit == "deg":
                assert abs(got - want) < 3.0, (true.motion, metric.name, got, want)
        for name in LENGTHS_M:
            assert abs(rep.values[name] - true.values[name]) < 0.015, (true.motion, name)
        pattern, faults = EXPECTED[true.motion]
        assert rep.pattern == pattern
        assert tuple(f.code for f in rep.faults) == faults, true.motion


@pytest.mark.parametrize("heading", HEADINGS)
def test_pipeline_series_within_3_deg(pipeline: dict[int, HingeAnalysis], heading: int) -> None:
    """Per-frame body and head angles within 3 deg in every frame, hips within 1.5 cm.

    Seen: body angles <= 1.5 deg, head 1.9 deg, hips 3.6 mm. The marker angles' frame-by-
    frame noise is larger (median 0.8 deg, 95th percentile 2.7, worst 5.8 deg: short
    marker segments): 95 % of frames within 3 deg. A frame the reconstruction left empty
    (an end frame with too few views) is NaN, not wrong.
    """
    analysis = pipeline[heading]
    truth = truth_series(hinge_session(SESSION, fps=FPS).pose, 1.75)
    error = {name: np.abs(analysis.series[name] - truth[name]) for name in truth}
    for name in (*BODY_ANGLES, "head_trunk_deg"):
        assert np.nanmax(error[name]) < 3.0, name
    for name in ("hip_back_m", "hip_down_m"):
        assert np.nanmax(error[name]) < 0.015, name
    for name in ("lumbar_flexion_deg", "thoracic_flexion_deg"):
        assert np.nanpercentile(error[name], 95) < 3.0, name
    assert all(np.isfinite(e).mean() > 0.998 for e in error.values())  # seen: the last frame


def test_heading_and_position_change_nothing_in_exact_data() -> None:
    """At the 8 headings and positions the exact data give the same numbers (1e-3 deg/mm).

    With noise each heading is held to the tolerances above; without it any dependence on
    the heading would show (a frame that followed the world axes gives tens of degrees).
    Seen: < 1e-4 deg and 1e-6 m apart (float32 landmarks).
    """
    tables = []
    for heading in HEADINGS:
        shape = BodyShape(position_m=_position(heading), heading_deg=float(heading))
        scene = make_scene(SESSION, shape=shape)
        tables.append(_analyse(scene.points3d, scene.keypoint_names).table())
    for name in tables[0]:
        for values in zip(*(table[name] for table in tables), strict=True):
            if isinstance(values[0], str):
                assert len(set(values)) == 1, name
            else:
                assert max(values) - min(values) < tolerance(name, 1e-3, 1e-6), name


def test_motions_cover_the_expected_table() -> None:
    """Every built-in motion has an expected pattern and fault set here."""
    assert set(EXPECTED) == set(MOTIONS)
