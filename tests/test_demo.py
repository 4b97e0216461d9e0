"""``mocap demo`` runs the whole pipeline on built-in data and its result is right."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from calibration.toml_io import calibration_from_toml, load_calibration
from mocap.demo import run_demo
from mocap.trial import read_trial

ROOT = Path(__file__).resolve().parents[1]


def test_demo_reconstructs_the_truth(tmp_path: Path) -> None:
    """Demo keypoints are reconstructed within 8 mm mean, 15 mm 99th percentile.

    1.5 px noise at 3.5 m with f = 1400 px is ~4 mm per view; four views average it to
    ~2-4 mm. The margin covers 5 % dropouts: a point left with two nearly opposite
    cameras is poorly conditioned in depth (up to ~0.1 m with plain DLT; robust
    triangulation is issue 4), so the tail is bounded by a percentile, not the maximum.
    A wrong camera order or unit would give centimetres to metres everywhere.
    """
    result = run_demo(tmp_path / "demo")
    trial = read_trial(result.files["trial"])
    truth = read_trial(result.files["ground truth"])
    assert trial.points3d is not None
    assert truth.points3d is not None
    assert trial.keypoints2d is not None
    error_mm = np.linalg.norm(trial.points3d - truth.points3d, axis=-1) * 1000
    assert np.isfinite(error_mm).mean() > 0.999
    assert np.nanmean(error_mm) < 8.0
    assert np.nanpercentile(error_mm, 99) < 15.0
    # The printed error is the file's (1e-3 mm: float32 storage rounds to ~0.1 um).
    assert abs(result.mean_error_mm - np.nanmean(error_mm)) < 1e-3
    rig, _ = load_calibration(result.files["calibration"])
    assert calibration_from_toml(trial.calibration_toml)[0] == rig  # the trial carries its rig


def test_demo_command_says_where_it_wrote(tmp_path: Path) -> None:
    out = tmp_path / "cli-demo"
    result = subprocess.run(
        [sys.executable, "-m", "mocap", "demo", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for name in ("calibration.toml", "keypoints2d.h5", "truth.h5", "trial.h5"):
        assert str(out / name) in result.stdout
        assert (out / name).is_file()


def test_cli_reports_bad_input_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.h5"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mocap",
            "triangulate",
            str(missing),
            "--calibration",
            str(tmp_path / "none.toml"),
            "--out",
            str(tmp_path / "t.h5"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "none.toml" in result.stderr
    assert not (tmp_path / "t.h5").exists()
