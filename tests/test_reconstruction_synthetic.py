"""Acceptance of issue 4: 2D with noise, dropouts and confident outliers -> accurate 3D.

The synthetic scenes of ``datasets.synthetic`` (4 cameras on a ring, the demo's five
hinge reps, 25 s at 60 fps, 37 keypoints) are observed by a simulated detector with
1.5 px noise, 10 % of the points missed and 5 % replaced by outliers 30-300 px away with
confidence >= 0.8, then reconstructed by ``mocap.pipeline``. Also: the trial file and the
``mocap triangulate`` command around it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from calibration.camera import CameraRig
from calibration.interop import save_caliscope_camera_array
from calibration.toml_io import save_calibration
from datasets.synthetic import (
    DEMO_MOTIONS,
    ObservationNoise,
    SyntheticScene,
    make_scene,
    observe,
    write_scene,
)
from mocap.cli import main
from mocap.pipeline import ReconstructionSettings, reconstruct_trial
from mocap.trial import Trial, read_trial
from mocap.triangulation import triangulate

NOISE = ObservationNoise(pixel_sigma=1.5, dropout=0.10, outliers=0.05)
SETTINGS = ReconstructionSettings()
"""The defaults (median pre-filter of 7 frames: it reaches across a 2-frame gap).

With the median off the same scenes give 2.4-2.9 mm mean but 170-270 mm at worst: a
wrong point that no frame-by-frame test can catch, smeared by the low-pass."""
RAW = ReconstructionSettings(filter="none", max_gap_s=0.0, median_window=0)
"""Robust triangulation alone: no median, no gap filling, no low-pass."""


@dataclass(frozen=True)
class Reconstruction:
    """A scene, its simulated 2D and both reconstructions, with per-point errors in mm."""

    scene: SyntheticScene
    trial: Trial
    raw: Trial
    filtered: Trial
    raw_mm: np.ndarray
    filtered_mm: np.ndarray


def _trial(scene: SyntheticScene, seed: int) -> Trial:
    """The 2D-only trial the simulated detector produces."""
    return Trial(
        fps=scene.session.fps,
        keypoint_names=scene.keypoint_names,
        camera_names=scene.rig.names,
        timestamps=scene.session.times,
        keypoints2d=observe(scene.rig, scene.points3d, NOISE, seed=seed),
    )


@pytest.fixture(scope="module", params=[0, 1, 2, 3])
def reconstruction(request: pytest.FixtureRequest) -> Reconstruction:
    """One seeded scene (rig, detector errors) reconstructed raw and filtered."""
    scene = make_scene(DEMO_MOTIONS, n_cameras=4, fps=60.0, seed=request.param)
    trial = _trial(scene, request.param)
    raw = reconstruct_trial(trial, scene.rig, RAW)
    filtered = reconstruct_trial(trial, scene.rig, SETTINGS)
    error = [np.linalg.norm(t.points3d - scene.points3d, axis=-1) * 1000 for t in (raw, filtered)]
    return Reconstruction(scene, trial, raw, filtered, *error)


def test_raw_triangulation_is_accurate(reconstruction: Reconstruction) -> None:
    """Before filtering: mean per-joint error under 15 mm, 95 % of points reconstructed.

    Seen 5.0-5.5 mm mean (1.5 px is ~4 mm per view at 3.5 m; 4 views average it, points
    left with 2 views after an outlier are worse). Refused points (too few, ambiguous or
    ill-conditioned views) are ~4 %.
    """
    error = reconstruction.raw_mm
    assert np.nanmean(error) < 15.0
    assert np.isfinite(error).mean() > 0.95


def test_filtered_reconstruction_is_accurate(reconstruction: Reconstruction) -> None:
    """After filtering: mean under 10 mm, no joint-frame above 50 mm, 99.9 % present.

    Seen ~1.9 mm mean and 11-13 mm at worst. The median removes the rare wrong point no
    frame-by-frame test can catch (two outliers agreeing, or an outlier in a view that
    nothing else checks), gap filling restores refused points and the 6 Hz low-pass
    averages the noise.
    """
    error = reconstruction.filtered_mm
    assert np.nanmean(error) < 10.0
    assert np.nanmax(error) < 50.0
    assert np.isfinite(error).mean() > 0.999


def test_outlier_views_are_rarely_used(reconstruction: Reconstruction) -> None:
    """Fewer than 4 % of the usable outlier views are used (seen 3.0-3.2 %); >95 % of the rest.

    An outlier is a view more than 20 px from the exact projection (the simulated ones
    are 30-300 px off; 1.5 px noise stays under 20 px). Which views were used is not in
    the trial file: the triangulation is run again as ``reconstruct_trial`` runs it. With
    the 15 px limit of earlier versions 1.2 % were used; the 20 px default (set by the
    Pose2Sim demo's detector scatter) lets the nearest outliers share a solution, and a
    pair's outlier lying along its epipolar line can never be caught (up to 300 px).
    """
    scene, raw, kp = reconstruction.scene, reconstruction.raw, reconstruction.trial.keypoints2d
    assert kp is not None
    exact = scene.rig.project(scene.points3d.reshape(-1, 3)).reshape(*kp.shape[:3], 2)
    usable = np.isfinite(kp[..., 0]) & (kp[..., 2] >= SETTINGS.min_confidence)
    outlier = np.linalg.norm(kp[..., :2] - exact, axis=-1) > 20.0
    result = triangulate(
        scene.rig,
        kp,
        SETTINGS.min_confidence,
        max_error_px=SETTINGS.max_error_px,
        min_ray_angle_deg=SETTINGS.min_ray_angle_deg,
    )
    np.testing.assert_array_equal(result.n_views, raw.n_views)
    used = result.used
    assert (used & outlier).sum() / (usable & outlier).sum() < 0.04
    good = usable & ~outlier & (result.n_views > 0)
    assert (used & good).sum() / good.sum() > 0.95


def test_trial_records_settings_and_counts(reconstruction: Reconstruction) -> None:
    """Every setting and what each step did are in ``extra_attrs`` (exact counts)."""
    attrs, trial = reconstruction.filtered.extra_attrs, reconstruction.filtered
    for key, value in SETTINGS.as_attrs().items():
        assert attrs[key] == value
    assert attrs["triangulation_method"] == "dlt-subsets"
    points = trial.n_frames * trial.n_joints
    assert attrs["triangulation_points"] == points
    refused = sum(
        int(attrs[f"triangulation_{k}"])
        for k in ("too_few_views", "inconsistent", "ill_conditioned")
    )
    assert int(attrs["triangulation_reconstructed"]) + refused == points
    assert int(attrs["triangulation_reconstructed"]) == int((trial.n_views > 0).sum())
    assert int(attrs["triangulation_views_dropped"]) > 0
    filled = np.isfinite(trial.points3d[..., 0]) & (trial.n_views == 0)
    assert int(attrs["filter_frames_filled"]) == int(filled.sum())
    assert np.isnan(trial.reprojection_error[filled]).all()
    assert trial.keypoints2d is not None  # the 2D is kept


def test_rig_in_any_order_is_matched_by_name() -> None:
    """A calibration listing the cameras in another order (and one more) gives the same 3D."""
    scene = make_scene(("good_hinge",), n_cameras=4, seed=5)
    trial = _trial(scene, 5)
    extra = replace(scene.rig[0], name="spare")
    shuffled = CameraRig((scene.rig[3], extra, scene.rig[1], scene.rig[0], scene.rig[2]))
    a = reconstruct_trial(trial, scene.rig, SETTINGS)
    b = reconstruct_trial(trial, shuffled, SETTINGS)
    np.testing.assert_array_equal(a.points3d, b.points3d)
    with pytest.raises(ValueError, match="has no camera cam_3"):
        reconstruct_trial(trial, CameraRig(tuple(c for c in scene.rig if c.name != "cam_3")))


def test_settings_are_checked() -> None:
    """Impossible settings are refused when made, naming the field."""
    with pytest.raises(ValueError, match="median_window=4"):
        ReconstructionSettings(median_window=4)
    with pytest.raises(ValueError, match="min_views=1"):
        ReconstructionSettings(min_views=1)
    with pytest.raises(ValueError, match="filter='kalman'"):
        ReconstructionSettings(filter="kalman")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def scene_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[SyntheticScene, Path]:
    """A short scene written as files: true calibration, keypoints2d.h5, truth.h5."""
    scene = make_scene(("good_hinge",), n_cameras=4, seed=7)
    out = tmp_path_factory.mktemp("scene")
    write_scene(scene, out, noise=NOISE, seed=7)
    return scene, out


def test_cli_triangulates_a_frame_range_with_a_caliscope_calibration(
    scene_files: tuple[SyntheticScene, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """``mocap triangulate`` reads caliscope's format, takes the options and a frame range.

    The 300 frames keep their timestamps; 3D within 10 mm mean of the truth (as in the
    acceptance test above).
    """
    scene, folder = scene_files
    calibration = folder / "camera_array.toml"
    save_caliscope_camera_array(calibration, scene.rig)
    out = folder / "cli-trial.h5"
    code = main(
        [
            "triangulate",
            str(folder / "keypoints2d.h5"),
            "--calibration",
            str(calibration),
            "--out",
            str(out),
            "--median-window",
            "7",
            "--max-error-px",
            "12",
            "--frames",
            "50:350",
        ]
    )
    assert code == 0
    assert str(out) in capsys.readouterr().out
    trial = read_trial(out)
    np.testing.assert_array_equal(trial.timestamps, scene.session.times[50:350])
    assert trial.extra_attrs["source_frame_start"] == 50
    assert trial.extra_attrs["settings.max_error_px"] == 12.0
    assert trial.extra_attrs["settings.median_window"] == 7
    error = np.linalg.norm(trial.points3d - scene.points3d[50:350], axis=-1) * 1000
    assert np.nanmean(error) < 10.0


def _run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Exit code and stderr of ``mocap`` with ``args``."""
    code = main(args)
    return code, capsys.readouterr().err


def test_cli_names_the_camera_of_a_wrong_calibration(
    scene_files: tuple[SyntheticScene, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A calibration for other image sizes, or without a camera, is refused in one line."""
    scene, folder = scene_files
    keypoints, out = str(folder / "keypoints2d.h5"), folder / "never.h5"
    small = replace(scene.rig[1], size=(1280, 720))
    wrong = folder / "wrong-size.toml"
    save_calibration(wrong, CameraRig((scene.rig[0], small, scene.rig[2], scene.rig[3])))
    code, err = _run_cli(
        ["triangulate", keypoints, "--calibration", str(wrong), "--out", str(out)], capsys
    )
    assert code == 2
    assert "cam_2" in err
    assert "1280x720" in err
    assert "1920x1080" in err
    assert str(wrong) in err
    three = folder / "three.toml"
    save_calibration(three, CameraRig(tuple(c for c in scene.rig if c.name != "cam_4")))
    code, err = _run_cli(
        ["triangulate", keypoints, "--calibration", str(three), "--out", str(out)], capsys
    )
    assert code == 2
    assert "has no camera cam_4" in err
    assert str(three) in err
    assert not out.exists()


def test_cli_refuses_bad_options(
    scene_files: tuple[SyntheticScene, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad settings and frame ranges give a one-line error, not a traceback."""
    _, folder = scene_files
    base = ["triangulate", str(folder / "keypoints2d.h5"), "--calibration"]
    base += [str(folder / "calibration.toml"), "--out", str(folder / "never.h5")]
    code, err = _run_cli([*base, "--median-window", "4"], capsys)
    assert code == 2
    assert "median_window=4" in err
    assert len(err.strip().splitlines()) == 1
    code, err = _run_cli([*base, "--frames", "500:600"], capsys)
    assert code == 2
    assert "select none of its" in err
    with pytest.raises(SystemExit):
        main([*base, "--frames", "10-20"])
    assert "START:END" in capsys.readouterr().err
    assert not (folder / "never.h5").exists()
