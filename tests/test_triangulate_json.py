"""``mocap triangulate`` on other detectors' output: OpenPose-style JSON folders per camera."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from calibration.toml_io import save_calibration
from datasets.synthetic import ObservationNoise, make_scene, observe
from mocap.cli import main
from mocap.trial import read_trial


def _write_json(folder: Path, names: list[str], keypoints2d: np.ndarray) -> None:
    """BlazePose-33 JSON files, one subfolder per camera, one file per frame."""
    for name, views in zip(names, keypoints2d, strict=True):
        sub = folder / f"{name}_json"
        sub.mkdir(parents=True)
        for frame, points in enumerate(views[:, :33]):
            people = [] if np.isnan(points).all() else [{"pose_keypoints_2d": []}]
            if people:
                clean = np.nan_to_num(points, nan=0.0)
                people[0]["pose_keypoints_2d"] = [float(v) for v in clean.ravel()]
            doc = {"version": 1.3, "people": people}
            (sub / f"{name}_{frame:012d}_keypoints.json").write_text(json.dumps(doc))


@pytest.mark.parametrize("folder_names", ["calibration", "other"])
def test_json_folders_are_triangulated(tmp_path: Path, folder_names: str) -> None:
    """3D from JSON within 5 mm mean of the truth (0.5 px noise, 4 views, 6 Hz filter).

    0.5 px at 3.5 m is ~1.3 mm per view; 5 mm leaves room for the filter's smoothing of
    the fastest motion. Subfolders named after the calibration's cameras match by name,
    others in natural order (Pose2Sim's rule).
    """
    scene = make_scene(("good_hinge",), n_cameras=4, fps=60.0, seed=3)
    keypoints = observe(scene.rig, scene.points3d, ObservationNoise(pixel_sigma=0.5), seed=4)
    names = list(scene.rig.names) if folder_names == "calibration" else ["v1", "v2", "v3", "v4"]
    _write_json(tmp_path / "pose", names, keypoints)
    calibration = tmp_path / "calibration.toml"
    save_calibration(calibration, scene.rig)
    out = tmp_path / "trial.h5"
    argv = ["triangulate", str(tmp_path / "pose"), "--calibration", str(calibration)]
    assert main([*argv, "--out", str(out), "--fps", "60"]) == 0
    trial = read_trial(out)
    assert trial.camera_names == scene.rig.names
    assert trial.fps == 60.0
    error_mm = np.linalg.norm(trial.points3d[:, :33] - scene.points3d[:, :33], axis=-1) * 1000
    assert np.nanmean(error_mm) < 5.0
    assert np.isfinite(error_mm).mean() > 0.99
