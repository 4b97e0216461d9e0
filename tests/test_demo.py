"""``mocap demo`` runs the whole pipeline on built-in data and its result is right."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from mocap.demo import run_demo
from mocap.trial import read_trial

ROOT = Path(__file__).resolve().parents[1]


def test_demo_reconstructs_the_truth(tmp_path: Path) -> None:
    """Every demo keypoint is reconstructed within 8 mm mean, 40 mm max of the truth.

    1.5 px noise at 3.5 m with f = 1400 px is ~4 mm per view; four views average it to
    ~2-3 mm. 8 mm leaves margin for 5 % dropouts (some points from 2-3 views) while a
    wrong camera order or unit would give errors of centimetres to metres.
    """
    result = run_demo(tmp_path / "demo")
    trial = read_trial(result.files["trial"])
    truth = read_trial(result.files["ground truth"])
    assert trial.points3d is not None and truth.points3d is not None
    assert trial.keypoints2d is not None
    error_mm = np.linalg.norm(trial.points3d - truth.points3d, axis=-1) * 1000
    assert np.isfinite(error_mm).mean() > 0.999
    assert np.nanmean(error_mm) < 8.0
    assert np.nanmax(error_mm) < 40.0
    assert result.mean_error_mm == float(np.nanmean(error_mm)) or abs(
        result.mean_error_mm - np.nanmean(error_mm)
    ) < 1e-3  # the report says what the file holds (float32 storage: 1 um)
    assert trial.calibration_toml.strip().startswith("[")


def test_demo_command_says_where_it_wrote(tmp_path: Path) -> None:
    out = tmp_path / "cli-demo"
    result = subprocess.run(
        [sys.executable, "-m", "mocap", "demo", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    for name in ("calibration.toml", "keypoints2d.h5", "truth.h5", "trial.h5"):
        assert str(out / name) in result.stdout
        assert (out / name).is_file()


def test_cli_reports_bad_input_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.h5"
    result = subprocess.run(
        [sys.executable, "-m", "mocap", "triangulate", str(missing),
         "--calibration", str(tmp_path / "none.toml"), "--out", str(tmp_path / "t.h5")],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "none.toml" in result.stderr
    assert not (tmp_path / "t.h5").exists()
