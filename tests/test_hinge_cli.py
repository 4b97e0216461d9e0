"""``mocap hinge``: the CSV, time series, report and ``/metrics`` it writes, and bad input.

The trials are synthetic (``datasets.synthetic.write_scene``: exact 3D stored as float32).
For motions without spine flexion the model's angles are closed-form: knee flexion =
``knee``, shin = ``shin``, trunk = ``pelvis``, hip = pelvis + knee - shin, and the 15 %
crossings are start + descent x acos(0.7) / pi (and symmetrically before the end).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import h5py
import numpy as np
import pytest

from datasets.synthetic import BodyShape, Pose, body_landmarks, make_scene, write_scene
from datasets.synthetic.motions import GOOD_HINGE, SQUAT_HINGE, RepTiming
from mocap.cli import main
from mocap.hinge import REP_COLUMNS
from mocap.hinge.export import FRAME_COLUMNS, cell
from mocap.skeleton import HINGELAB_KEYPOINTS, SPINE_MARKERS
from mocap.trial import Trial, read_trial, write_trial

FLOAT32_DEG = 0.01
"""Tolerance on angles from a trial file: float32 landmarks (~0.1 um) leave ~1e-5 deg."""
CROSSING = math.acos(0.7) / math.pi
"""Fraction of a raised-cosine descent at which its depth reaches 15 %."""


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A good hinge then a squat, written as files (truth.h5: exact 3D; keypoints2d.h5)."""
    out = tmp_path_factory.mktemp("hinge")
    write_scene(make_scene(("good_hinge", "squat_hinge")), out)
    return out


@pytest.fixture(scope="module")
def run(scene_dir: Path) -> tuple[int, Path]:
    """``mocap hinge truth.h5`` with every output, run once."""
    trial = scene_dir / "truth.h5"
    args = ["hinge", str(trial), "--csv", str(scene_dir / "reps.csv")]
    args += ["--report", str(scene_dir / "report.html")]
    args += ["--timeseries", str(scene_dir / "ts.csv")]
    return main(args), scene_dir


def test_reps_csv_matches_the_kinematics(run: tuple[int, Path]) -> None:
    """One row per rep with every column; angles within 0.01 deg of the model's.

    Good hinge: trunk 72, hip 94, knee 25, shin 3 deg; squat: 38, 103, 95, 30 deg.
    Start/end within 0.1 s of the closed-form crossings (seen 0.6 ms: linear
    interpolation between 60 fps frames of a smooth curve).
    """
    code, folder = run
    assert code == 0
    rows = _rows(folder / "reps.csv")
    assert list(rows[0]) == list(REP_COLUMNS)
    timing = RepTiming()
    for i, (row, motion) in enumerate(zip(rows, (GOOD_HINGE, SQUAT_HINGE), strict=True)):
        b = motion.bottom_deg
        expected = {
            "trunk_flexion_deg": b["pelvis"],
            "hip_flexion_deg": b["pelvis"] + b["knee"] - b["shin"],
            "knee_flexion_deg": b["knee"],
            "shin_angle_deg": b["shin"],
            "head_trunk_deg": 0.0,
            "lumbar_flexion_deg": 0.0,
        }
        for name, value in expected.items():
            assert abs(float(row[name]) - value) < FLOAT32_DEG, (motion.name, name)
        rep_s = timing.descent_s + timing.hold_s + timing.ascent_s
        begin = timing.lead_in_s + i * (rep_s + timing.pause_s)
        start = begin + timing.descent_s * CROSSING
        end = begin + rep_s - timing.ascent_s * CROSSING
        assert abs(float(row["start_s"]) - start) < 0.1
        assert abs(float(row["end_s"]) - end) < 0.1
        assert abs(float(row["end_s"]) - end) < 0.002
    assert [r["pattern"] for r in rows] == ["hinge", "squat"]
    assert [r["faults"] for r in rows] == ["", "squat;knees_bent"]


def test_timeseries_and_metrics_in_the_trial(run: tuple[int, Path]) -> None:
    """Every frame in the time series; /metrics holds the same numbers; the 3D is untouched.

    The knee column peaks at the squat's 95 deg (within 0.01 deg); the stored per-rep
    table equals the CSV to its 9 significant digits; points3d are bit-identical.
    """
    _, folder = run
    truth = read_trial(folder / "truth.h5")
    series = _rows(folder / "ts.csv")
    assert list(series[0]) == list(FRAME_COLUMNS)
    assert len(series) == truth.n_frames
    knee = np.array([float(r["knee_flexion_deg"]) for r in series])
    assert abs(knee.max() - 95.0) < FLOAT32_DEG
    metrics = truth.metrics
    assert metrics is not None
    assert metrics.definitions_version == "hinge-metrics-1"
    assert metrics.n_frames == truth.n_frames
    assert metrics.units["hip_back_m"] == "m"
    assert metrics.attrs["thresholds.knees_bent_deg"] == 35.0
    for row_index, row in enumerate(_rows(folder / "reps.csv")):
        for name in REP_COLUMNS:
            stored = metrics.reps[name][row_index]
            if isinstance(stored, str):
                assert stored == row[name]
            else:
                assert float(row[name]) == pytest.approx(float(stored), rel=1e-8, abs=1e-12)
    scene = make_scene(("good_hinge", "squat_hinge"))
    np.testing.assert_array_equal(truth.points3d, scene.points3d.astype(np.float32))
    assert truth.extra_attrs["synthetic_motions"] == "good_hinge,squat_hinge"


def test_report_speaks_plain_words(run: tuple[int, Path]) -> None:
    """The report names the squat's faults in words, with their measured 103/95 deg."""
    _, folder = run
    text = (folder / "report.html").read_text(encoding="utf-8")
    assert "Squatted instead of hinging: the hips bent 103° and the knees 95°" in text
    assert "Knees bent too much: 95° at the bottom (limit 35°)" in text
    assert "Rep 1</b> (1.9–4.2 s, hinge): no fault found." in text
    assert text.count("<img") == 2
    assert "<script" not in text


def test_thresholds_file_changes_the_faults(
    scene_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """knees_bent_deg = 20 flags the good hinge's 25 deg knees; an unknown key is refused."""
    toml = tmp_path / "faults.toml"
    toml.write_text("knees_bent_deg = 20.0\n", encoding="utf-8")
    out = tmp_path / "reps.csv"
    args = ["hinge", str(scene_dir / "truth.h5"), "--csv", str(out), "--no-store"]
    code, stdout, _ = _run([*args, "--thresholds", str(toml)], capsys)
    assert code == 0
    assert [r["faults"] for r in _rows(out)] == ["knees_bent", "squat;knees_bent"]
    assert "rep 1: 1.85-4.25 s, hinge, knees_bent" in stdout
    toml.write_text("knee_limit = 20.0\n", encoding="utf-8")
    code, _, err = _run([*args, "--thresholds", str(toml)], capsys)
    assert code == 2
    assert f"{toml}: unknown fault threshold 'knee_limit'" in err
    assert len(err.strip().splitlines()) == 1


# ----------------------------------------------------------------------------- bad input


def _trial_file(path: Path, points: np.ndarray, names: tuple[str, ...]) -> Path:
    times = np.arange(points.shape[0]) / 60.0
    trial = Trial(
        fps=60.0, keypoint_names=names, camera_names=(), timestamps=times, points3d=points
    )
    return write_trial(path, trial)


def test_not_a_trial_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A text file, an HDF5 file of another kind, a missing file: exit 2, one line naming it."""
    text = tmp_path / "notes.txt"
    text.write_text("not a trial\n", encoding="utf-8")
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.zeros(3)
    for path in (text, other, tmp_path / "missing.h5"):
        code, _, err = _run(["hinge", str(path), "--csv", str(tmp_path / "r.csv")], capsys)
        assert code == 2
        assert len(err.strip().splitlines()) == 1
        assert str(path) in err
        assert "Traceback" not in err
        assert not (tmp_path / "r.csv").exists()


def test_2d_only_trial_is_refused(scene_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 2D-only trial: exit 2, 'has no 3D points' in one line, nothing written."""
    out = scene_dir / "never.csv"
    code, _, err = _run(["hinge", str(scene_dir / "keypoints2d.h5"), "--csv", str(out)], capsys)
    assert code == 2
    assert "has no 3D points" in err
    assert not out.exists()


def test_missing_output_folder_writes_nothing(
    scene_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An output in a missing folder is refused before any file is touched."""
    trial = tmp_path / "t.h5"
    trial.write_bytes((scene_dir / "keypoints2d.h5").read_bytes())
    before = trial.read_bytes()
    code, _, err = _run(["hinge", str(trial), "--report", str(tmp_path / "no" / "r.html")], capsys)
    assert code == 2
    assert "does not exist" in err
    assert trial.read_bytes() == before


def test_no_reps_still_writes_everything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Standing only: exit 1, the reason printed, a header-only CSV, report, series, /metrics.

    The series are relative to the standing frames: 0 deg hip flexion (within 0.01 deg).
    """
    points = body_landmarks(Pose.standing(300), BodyShape()).astype(np.float32)
    trial = _trial_file(tmp_path / "standing.h5", points, HINGELAB_KEYPOINTS)
    csv_path, report, series = tmp_path / "r.csv", tmp_path / "r.html", tmp_path / "s.csv"
    args = ["hinge", str(trial), "--csv", str(csv_path), "--report", str(report)]
    code, stdout, err = _run([*args, "--timeseries", str(series)], capsys)
    assert code == 1
    assert "no reps found: hip flexion varies by 0°" in err
    assert csv_path.read_text(encoding="utf-8") == ",".join(REP_COLUMNS) + "\n"
    assert "No reps, so nothing to check." in report.read_text(encoding="utf-8")
    hip = [float(r["hip_flexion_deg"]) for r in _rows(series)]
    assert len(hip) == 300
    assert max(abs(h) for h in hip) < FLOAT32_DEG
    metrics = read_trial(trial).metrics
    assert metrics is not None
    assert metrics.n_reps == 0
    assert "no reps found" in str(metrics.attrs["problems"])
    assert "0 reps" in stdout


def test_missing_hips_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A trial whose hips were never reconstructed: exit 1, the hips named, CSV header only."""
    scene = make_scene(("good_hinge",))
    points = scene.points3d.astype(np.float32)
    for name in ("left_hip", "right_hip"):
        points[:, HINGELAB_KEYPOINTS.index(name)] = np.nan
    trial = _trial_file(tmp_path / "nohips.h5", points, HINGELAB_KEYPOINTS)
    out = tmp_path / "r.csv"
    code, _, err = _run(["hinge", str(trial), "--csv", str(out)], capsys)
    assert code == 1
    assert "hips missing (left_hip, right_hip not in the 3D points)" in err
    assert len(_rows(out)) == 0


def test_missing_markers_and_ears_are_said_and_left_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No markers, no ears: exit 0, both named; their columns empty; the rest measured.

    The good hinge's knee is still 25 deg (within 0.01 deg); the report says the
    cranked-neck check was not made.
    """
    scene = make_scene(("good_hinge",))
    keep = [i for i, n in enumerate(scene.keypoint_names) if n not in SPINE_MARKERS]
    names = tuple(scene.keypoint_names[i] for i in keep)
    points = scene.points3d[:, keep].astype(np.float32)
    points[:, names.index("left_ear")] = np.nan
    trial = _trial_file(tmp_path / "bare.h5", points, names)
    out, report = tmp_path / "r.csv", tmp_path / "r.html"
    code, _, err = _run(["hinge", str(trial), "--csv", str(out), "--report", str(report)], capsys)
    assert code == 0
    assert "spine markers missing (C7, T12, L3, S1 not in the 3D points)" in err
    assert "ears missing (left_ear not in the 3D points)" in err
    (row,) = _rows(out)
    for name in ("lumbar_flexion_deg", "thoracic_flexion_deg", "spine_curve_mm", "head_trunk_deg"):
        assert row[name] == ""
    assert abs(float(row["knee_flexion_deg"]) - 25.0) < FLOAT32_DEG
    assert "Not checked (landmarks missing): neck cranked back." in report.read_text("utf-8")
    assert row["faults"] == ""


def test_csv_reads_back_as_numbers() -> None:
    """NaN is an empty cell, infinity 'Inf', integers plain: pandas/R/SPSS read them as is."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([cell(v) for v in (np.nan, np.inf, np.int64(3), -0.0, 0.1)])
    assert buffer.getvalue().strip() == ",Inf,3,0,0.1"
