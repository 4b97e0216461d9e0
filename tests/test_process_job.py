"""``process_recording`` and ``mocap process``: a recording folder to a 3D trial file.

Synthetic runs: a body doing one hip hinge (``datasets.synthetic``) seen by 3 ring cameras
with real lens distortion, 320x240 FFV1 videos whose frames carry the instant they show,
and the synthetic detector reporting the exact projections. The 3D is then compared with
the body's true keypoints. The real-data run uses MediaPipe on the Pose2Sim demo.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from calibration.camera import CameraRig
from calibration.toml_io import save_calibration
from datasets.synthetic.body import BodyShape, body_landmarks
from datasets.synthetic.motions import hinge_session
from datasets.synthetic.rigs import ring_rig
from mocap.cli import main
from mocap.detectors.synthetic import (
    SyntheticDetectorFactory,
    projected_truth,
    write_stamped_recording,
)
from mocap.keypoints import layout_index
from mocap.pipeline import ReconstructionSettings
from mocap.process_job import match_cameras, process_recording
from mocap.trial import TrialInfo, read_trial

FPS = 20.0
SIZE = (320, 240)
EXACT = ReconstructionSettings(filter="none", sync="none")
"""No filtering, no offsets: the 3D must be the truth (only float32 storage rounds)."""


@dataclasses.dataclass(frozen=True)
class Scene:
    """The true rig, the body's keypoints and what a perfect detector sees."""

    rig: CameraRig
    points3d: np.ndarray  # (T, 37, 3) metres
    truth: dict[str, np.ndarray]  # per camera (T, 33, 3) pixels, confidence 0.9

    @property
    def n_frames(self) -> int:
        return len(self.points3d)


@pytest.fixture(scope="module")
def scene() -> Scene:
    session = hinge_session(["good_hinge"], fps=FPS)
    points = body_landmarks(session.pose, BodyShape())
    rig = ring_rig(3, size=SIZE, focal_px=240, seed=2)
    truth = projected_truth(rig, points[:, :33])
    return Scene(rig, points, truth)


def recording(
    folder: Path, scene: Scene, offsets: dict[str, int] | None = None, n: int | None = None
) -> Path:
    """FFV1 videos of the scene's cameras; camera c's frame f shows instant f + offsets[c]."""
    offsets = offsets or {}
    n = n or scene.n_frames - max(offsets.values(), default=0)
    shown = {name: range(offsets.get(name, 0), offsets.get(name, 0) + n) for name in scene.truth}
    return write_stamped_recording(folder, shown, SIZE, video=True, fps=FPS)


def calibration(folder: Path, rig: CameraRig, name: str = "calibration.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    save_calibration(folder / name, rig)
    return folder / name


def body_error_m(points3d: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Distances (metres) of the reconstructed BlazePose keypoints from the truth."""
    return np.linalg.norm(points3d[:, :33] - truth[:, :33], axis=-1)


def test_exact_projections_give_the_true_3d(scene: Scene, tmp_path: Path) -> None:
    """Every keypoint-frame seen by two cameras is reconstructed within 0.1 mm.

    Exact projections, float32 pixels (1e-5 px), no filter: the worst point was 0.057 mm
    off (OpenCV's iterative undistortion of these strongly distorted lenses leaves a few
    thousandths of a pixel; a pixel is 15 mm at 3.5 m here).
    The trial carries the labels, the calibration used and the detection's choices.
    """
    folder = recording(tmp_path / "rec", scene)
    cal = calibration(tmp_path, scene.rig)
    out = tmp_path / "trial.h5"
    info = TrialInfo("S01", "session 1", "hinge 3", "baseline")
    result = process_recording(
        folder,
        cal,
        out,
        settings=EXACT,
        info=info,
        detector=SyntheticDetectorFactory(scene.truth),
        markers=None,
        workers=1,
        progress=False,
    )
    trial = read_trial(out)
    assert trial.info == info
    assert trial.camera_names == scene.rig.names
    assert trial.keypoints2d.shape == (3, scene.n_frames, 37, 3)
    seen = np.isfinite(np.stack(list(scene.truth.values()))[..., 0]).sum(axis=0) >= 2
    error = body_error_m(trial.points3d, scene.points3d)
    assert np.isfinite(error[seen]).all()
    assert error[seen].max() < 1e-4, error[seen].max()
    assert 'name = "cam_1"' in trial.calibration_toml
    assert trial.extra_attrs["sync.method"] == "frame_index"
    assert trial.extra_attrs["settings.filter"] == "none"
    assert trial.extra_attrs["detection_image_width"] == (320, 320, 320)
    np.testing.assert_array_equal(result.points3d, trial.points3d)


def test_unsynchronised_cameras_are_put_back_in_step(scene: Scene, tmp_path: Path) -> None:
    """cam_2 lags 3 frames, cam_3 leads 2; no timestamps, so the offsets are estimated.

    The estimate must be exactly (0, +3, -2) frames (the data are exact), and the 3D then
    matches the truth within 0.1 mm as above, in nearly every keypoint-frame (all of them
    here: two cameras still overlap at the ends). Given as
    ``offsets`` instead, the same offsets give the same 3D (to float rounding).
    """
    shifts = {"cam_1": 2, "cam_2": 5, "cam_3": 0}  # frame f shows instant f + shift
    folder = recording(tmp_path / "rec", scene, shifts)
    cal = calibration(tmp_path, scene.rig)
    detector = SyntheticDetectorFactory(scene.truth)
    common = {"detector": detector, "markers": None, "workers": 1, "progress": False}
    auto = dataclasses.replace(EXACT, sync="auto")
    trial = process_recording(folder, cal, tmp_path / "auto.h5", settings=auto, **common)
    assert trial.extra_attrs["sync.success"]
    assert trial.extra_attrs["sync.offsets_frames"] == (0, 3, -2)
    n = scene.n_frames - 5
    truth = scene.points3d[2 : 2 + n]  # output frame f shows cam_1's instant f + 2
    error = body_error_m(trial.points3d, truth)
    done = np.isfinite(error)
    assert done.mean() > 0.95
    assert error[done].max() < 1e-4
    given = process_recording(
        folder,
        cal,
        tmp_path / "given.h5",
        settings=EXACT,
        offsets={"cam_2": 3, "cam_3": -2},
        **common,
    )
    assert given.extra_attrs["sync.method"] == "given_offsets"
    np.testing.assert_allclose(given.points3d, trial.points3d, atol=1e-6)


def test_default_settings_filter_within_1_mm(scene: Scene, tmp_path: Path) -> None:
    """Defaults (Butterworth 6 Hz at 20 fps, no timestamps so offsets estimated: 0).

    A hinge moves below ~2 Hz, which the zero-lag 6 Hz filter passes: 95 % of keypoint-
    frames within 0.5 mm of the truth and all within 1 mm (0.06 and 0.10 mm measured; the
    filter's edge effects at the start and end are the largest).
    """
    folder = recording(tmp_path / "rec", scene)
    cal = calibration(tmp_path, scene.rig)
    trial = process_recording(
        folder,
        cal,
        tmp_path / "trial.h5",
        detector=SyntheticDetectorFactory(scene.truth),
        markers=None,
        workers=2,
        progress=False,
    )
    assert trial.extra_attrs["sync.offsets_frames"] == (0, 0, 0)
    error = body_error_m(trial.points3d, scene.points3d)
    assert np.isfinite(error).all()
    assert np.percentile(error, 95) < 0.0005
    assert error.max() < 0.001


def test_camera_names_matched_as_words_or_in_order() -> None:
    assert match_cameras(["cam01", "cam02"], ["cam01", "cam02"]) == (
        {"cam01": "cam01", "cam02": "cam02"},
        None,
    )
    words, note = match_cameras(["trial3_cam01", "trial3_cam02"], ["cam02", "cam01"])
    assert words == {"trial3_cam01": "cam01", "trial3_cam02": "cam02"}
    assert note is None
    ordered, note = match_cameras(["c10", "c2"], ["cam_1", "cam_2"])
    assert ordered == {"c2": "cam_1", "c10": "cam_2"}
    assert "paired in name order: c2 -> cam_1, c10 -> cam_2" in note
    partial, note = match_cameras(["cam01", "cam09"], ["cam01", "cam02"])
    assert partial == {"cam01": "cam01"}  # cam09 is reported by process_recording


def test_renamed_videos_matched_in_order(
    scene: Scene, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Videos a.mkv, b.mkv, c.mkv for cameras cam_1..cam_3: paired in order, with a note."""
    folder = recording(tmp_path / "rec", scene, n=10)
    for old, new in zip(scene.rig.names, ("a", "b", "c"), strict=True):
        (folder / f"{old}.mkv").rename(folder / f"{new}.mkv")
    truth = dict(zip(("a", "b", "c"), scene.truth.values(), strict=True))
    trial = process_recording(
        folder,
        calibration(tmp_path, scene.rig),
        tmp_path / "t.h5",
        settings=EXACT,
        detector=SyntheticDetectorFactory(truth),
        markers=None,
        workers=1,
    )
    assert trial.camera_names == scene.rig.names
    assert "a -> cam_1, b -> cam_2, c -> cam_3" in capsys.readouterr().err
    assert body_error_m(trial.points3d, scene.points3d[:10])[:, 11].max() < 1e-4


# ----------------------------------------------------------------------------- the CLI


def _process(folder: Path, cal: Path, tmp_path: Path, *extra: str) -> tuple[int, Path]:
    """Run ``mocap process`` into an empty folder; the exit code and the out path."""
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    path = out / "trial.h5"
    code = main(["process", str(folder), "--calibration", str(cal), "--out", str(path), *extra])
    return code, path


@pytest.fixture
def synthetic_detector(scene: Scene, monkeypatch: pytest.MonkeyPatch) -> None:
    """``mocap process`` detects with the scene's synthetic detector instead of MediaPipe."""
    factory = SyntheticDetectorFactory(
        {**scene.truth, **{f"{name}_small": view for name, view in scene.truth.items()}}
    )
    monkeypatch.setattr("mocap.detect_job.default_detector", lambda: factory)


@pytest.mark.usefixtures("synthetic_detector")
def test_cli_process_writes_the_trial(
    scene: Scene, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Labels, settings, given offsets and frames reach the file; a summary is printed."""
    folder = recording(tmp_path / "rec", scene, n=30)
    cal = calibration(tmp_path, scene.rig)
    code, out = _process(
        folder,
        cal,
        tmp_path,
        "--subject",
        "S07",
        "--condition",
        "fatigued",
        "--cutoff-hz",
        "4",
        "--no-markers",
        "--offsets",
        "cam_2:0",
        "--frames",
        "5:25",
        "--workers",
        "1",
    )
    assert code == 0
    trial = read_trial(out)
    assert (trial.info.subject, trial.info.condition) == ("S07", "fatigued")
    assert trial.n_frames == 20
    assert trial.extra_attrs["settings.cutoff_hz"] == 4.0
    assert trial.extra_attrs["sync.method"] == "given_offsets"
    assert trial.extra_attrs["detection_frame_start"] == 5
    printed = capsys.readouterr().out
    assert "frames with a person" in printed
    assert f"wrote {out}: 3 cameras, 20 frames" in printed


def _fails(
    argv: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], *names: str
) -> str:
    """``mocap process`` must fail with one line naming ``names``, exit 2, no file at all."""
    code, out = _process(*argv, tmp_path, "--workers", "1")
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2
    assert last.startswith("mocap process: error: "), last
    for name in names:
        assert name in last, (name, last)
    assert list(out.parent.iterdir()) == []
    return last


@pytest.mark.usefixtures("synthetic_detector")
def test_calibrated_camera_without_video(
    scene: Scene, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = recording(tmp_path / "rec", scene, n=4)
    (folder / "cam_3.mkv").unlink()
    cal = calibration(tmp_path, scene.rig)
    _fails((folder, cal), tmp_path, capsys, "no video of camera 'cam_3'", "calibration.toml")


@pytest.mark.usefixtures("synthetic_detector")
def test_video_of_an_uncalibrated_camera(
    scene: Scene, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = recording(tmp_path / "rec", scene, n=4)
    shutil.copy(folder / "cam_3.mkv", folder / "cam_9.mkv")
    cal = calibration(tmp_path, scene.rig)
    _fails((folder, cal), tmp_path, capsys, "cam_9.mkv", "camera 'cam_9' is not in the calibration")


@pytest.mark.usefixtures("synthetic_detector")
def test_videos_of_different_lengths(
    scene: Scene, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = recording(tmp_path / "rec", scene, n=6)
    write_stamped_recording(folder, {"cam_2": range(4)}, SIZE, video=True, fps=FPS)
    cal = calibration(tmp_path, scene.rig)
    _fails((folder, cal), tmp_path, capsys, "cam_1 6 frames, cam_2 4 frames, cam_3 6 frames")


@pytest.mark.usefixtures("synthetic_detector")
def test_video_corrupt_in_the_middle(
    scene: Scene, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """cam_2.mkv cut after half its bytes: its container still lists 30 frames."""
    folder = recording(tmp_path / "rec", scene, n=30)
    video = folder / "cam_2.mkv"
    video.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    cal = calibration(tmp_path, scene.rig)
    last = _fails((folder, cal), tmp_path, capsys, f"{video}: frame ", "lists 30 frames")
    frame = int(last.split(": frame ")[1].split()[0])
    assert 5 < frame < 30


@pytest.mark.usefixtures("synthetic_detector")
def test_calibration_of_another_image_size(
    scene: Scene, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = recording(tmp_path / "rec", scene, n=4)
    big = CameraRig(
        tuple(
            dataclasses.replace(c, size=(640, 480)) if c.name == "cam_2" else c for c in scene.rig
        )
    )
    cal = calibration(tmp_path, big)
    _fails((folder, cal), tmp_path, capsys, "camera 'cam_2'", "640x480", "320x240")


@pytest.mark.usefixtures("synthetic_detector")
def test_video_a_few_columns_narrower_is_accepted(
    scene: Scene, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """cam_2 calibrated 328 px wide, its video 320 (as the Pose2Sim demo's 1088 vs 1080).

    Accepted with a note; the pixels are the calibrated image's, so the 3D is unchanged.
    """
    folder = recording(tmp_path / "rec", scene, n=8)
    wider = CameraRig(
        tuple(
            dataclasses.replace(c, size=(328, 240)) if c.name == "cam_2" else c for c in scene.rig
        )
    )
    cal = calibration(tmp_path, wider)
    code, out = _process(folder, cal, tmp_path, "--workers", "1", "--sync", "none")
    assert code == 0
    assert "camera 'cam_2': video 320x240, calibrated 328x240" in capsys.readouterr().err
    trial = read_trial(out)
    assert np.nanmax(body_error_m(trial.points3d, scene.points3d[:8])) < 0.005


# ----------------------------------------------------------------------------- real data

MAIN_KEYPOINTS = [
    f"{side}_{part}"
    for part in ("hip", "knee", "ankle", "shoulder", "ear")
    for side in ("left", "right")
]


@pytest.fixture(scope="module")
def pose2sim_trial(shared_datasets: Path, tmp_path_factory: pytest.TempPathFactory) -> object:
    """``mocap process`` on the Pose2Sim demo with MediaPipe, once for this module.

    4 videos x 100 frames, 1088x1920 (cam01, cam02 1080 wide), Qualisys calibration.
    """
    demo = shared_datasets / "pose2sim_demo_singleperson"
    out = tmp_path_factory.mktemp("pose2sim") / "trial.h5"
    argv = ["process", str(demo / "videos"), "--out", str(out)]
    assert main([*argv, "--calibration", str(demo / "calibration" / "Calib.qca.txt")]) == 0
    return read_trial(out)


@pytest.mark.realdata
def test_pose2sim_demo_main_keypoints_in_two_views_every_frame(pose2sim_trial: object) -> None:
    """Hips, knees, ankles, shoulders and ears: >= 2 views with visibility >= 0.5, every frame.

    The person is in full view of all four cameras; 3 views were seen in every frame, so
    2 leaves room for a camera losing track. The visibility of those keypoints is also
    high overall (median above 0.9 in every camera).
    """
    trial = pose2sim_trial
    assert trial.keypoints2d.shape == (4, 100, 37, 3)
    main_kp = trial.keypoints2d[:, :, layout_index(MAIN_KEYPOINTS)]
    confident = np.isfinite(main_kp[..., 0]) & (main_kp[..., 2] >= 0.5)
    views = confident.sum(axis=0)  # (T, 10)
    assert views.min() >= 2, np.argwhere(views < 2)
    assert np.all(np.nanmedian(main_kp[..., 2], axis=(1, 2)) > 0.9)


@pytest.mark.realdata
def test_pose2sim_demo_records_sizes_sync_and_3d(pose2sim_trial: object) -> None:
    """Image sizes as decoded (1080 and 1088 wide), the offsets estimated (no timestamps).

    3D: the 10 main keypoints are reconstructed in at least half of the frames with a
    median reprojection error below 15 px (the triangulation's own threshold; 5-10 px was
    seen: BlazePose's joint centres differ by some pixels between views).
    """
    trial = pose2sim_trial
    assert trial.camera_names == ("cam01", "cam02", "cam03", "cam04")
    assert trial.extra_attrs["detection_image_width"] == (1080, 1080, 1088, 1088)
    assert trial.extra_attrs["sync.method"] == "keypoint_offsets"
    assert trial.fps == pytest.approx(60.0)
    index = layout_index(MAIN_KEYPOINTS)
    done = np.isfinite(trial.points3d[:, index, 0])
    assert done.mean() > 0.5
    assert np.nanmedian(trial.reprojection_error[:, index]) < 15
