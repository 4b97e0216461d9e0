"""``mocap calibrate`` and ``calibrate_recording`` on rendered recordings with exact truth.

The scene: 3 cameras (640x480, f = 600 px, real lens distortion) on a 2.2 m ring, a
5 x 7 ChArUco board of 150 mm squares waved through the volume and lying on the floor at
the world origin in frame 0, rendered through each lens (``datasets.render``) with blur and
noise. Detections come from the real detector, so every number below is end to end.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from calibration.boards import CharucoBoard, save_board
from calibration.camera import Camera, CameraRig
from calibration.toml_io import load_calibration, save_calibration
from datasets.render import board_pose_looking_at, lens_rays, render_board, true_corners
from datasets.synthetic.board_views import waving_poses
from datasets.synthetic.rigs import ring_rig
from mocap.calibrate_job import calibrate_recording
from mocap.cli import main

BOARD = CharucoBoard(5, 7, 0.15, 0.11, "DICT_4X4_50")
N_FRAMES = 24
FACING_LIMIT_DEG = 80.0  # beyond this a camera sees the board's blank back


@dataclass(frozen=True)
class Scene:
    """The true rig, the board poses and every camera's rendered frames."""

    rig: CameraRig
    poses: list[np.ndarray]
    frames: dict[str, list[np.ndarray]]  # (H, W) uint8 per frame
    close_ups: dict[str, list[np.ndarray]]  # board held close to each camera (intrinsics)


def _render(camera: Camera, pose: np.ndarray, seed: int) -> np.ndarray:
    """(H, W) uint8 view of the board, or plain grey when its back faces the camera."""
    facing = -pose[:3, 2] @ (camera.center - pose[:3, 3])
    if facing < np.cos(np.deg2rad(FACING_LIMIT_DEG)) * np.linalg.norm(camera.center - pose[:3, 3]):
        return np.full(camera.size[::-1], 128, dtype=np.uint8)
    return render_board(
        camera,
        BOARD,
        pose,
        margin_m=0.02,
        supersample=2,
        blur_sigma_px=0.7,
        noise_sigma=2.0,
        seed=seed,
        rays=lens_rays(camera, 2),
    )


def _close_poses(camera: Camera, seed: int) -> list[np.ndarray]:
    """Ten poses of the board about 1.5 m from the camera, over its image, tilted."""
    rng = np.random.default_rng(seed)
    width, height = camera.size
    grid = [(x, y) for y in (0.35, 0.5, 0.65) for x in (0.3, 0.5, 0.7)] + [(0.5, 0.5)]
    return [
        board_pose_looking_at(
            camera,
            BOARD,
            1.5 * rng.uniform(0.9, 1.1),
            pixel=(x * width, y * height),
            tilt_deg=(float(rng.uniform(-35, 35)), float(rng.uniform(-35, 35))),
            roll_deg=float(rng.uniform(-20, 20)),
        )
        for x, y in grid
    ]


@pytest.fixture(scope="module")
def scene() -> Scene:
    rig = ring_rig(
        3, radius_m=2.2, height_m=1.6, target_m=(0, 0, 0.5), size=(640, 480), focal_px=600, seed=1
    )
    poses = waving_poses(BOARD, N_FRAMES, seed=2)
    frames, close_ups = {}, {}
    for c, cam in enumerate(rig):
        frames[cam.name] = [_render(cam, p, 1000 * c + f) for f, p in enumerate(poses)]
        close = _close_poses(cam, seed=c)
        close_ups[cam.name] = [_render(cam, p, 5000 + 100 * c + f) for f, p in enumerate(close)]
    return Scene(rig, poses, frames, close_ups)


def write_folders(folder: Path, frames: dict[str, list[np.ndarray]]) -> Path:
    """One folder of PNG images per camera."""
    for name, images in frames.items():
        (folder / name).mkdir(parents=True)
        for i, image in enumerate(images):
            assert cv2.imwrite(str(folder / name / f"{i}.png"), image)
    return folder


def write_videos(folder: Path, frames: dict[str, list[np.ndarray]], suffix: str = ".mkv") -> Path:
    """One lossless FFV1 video per camera."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, images in frames.items():
        height, width = images[0].shape[:2]
        path = str(folder / f"{name}{suffix}")
        writer = cv2.VideoWriter(
            path, cv2.VideoWriter_fourcc(*"FFV1"), 10.0, (width, height), False
        )
        for image in images:
            writer.write(image)
        writer.release()
    return folder


def board_file(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return save_board(folder / "board.toml", BOARD)


def _centre_errors(estimated: CameraRig, truth: CameraRig) -> list[float]:
    """Distance (m) between each estimated camera centre and the true one."""
    return [float(np.linalg.norm(estimated[c.name].center - c.center)) for c in truth]


# ----------------------------------------------------------------------------- working runs


def test_cli_calibrates_with_intrinsics_folder_and_writes_report_first(
    scene: Scene,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Image folders, intrinsics from close-ups named like Pose2Sim's (``int_cam_1_img``).

    Focal lengths within 0.3 % and camera centres within 1 cm of the truth, in the world
    of the floor board (frame 0): ten close-up views with ~0.1 px corner noise gave
    0.02-0.04 % and 1.5-3 mm; the margin covers other noise draws and the floor board seen
    at 55 degrees. The report is written before the calibration file.
    """
    recording = write_folders(tmp_path / "rec", scene.frames)
    intrinsics = write_folders(
        tmp_path / "intr", {f"int_{n}_img": images for n, images in scene.close_ups.items()}
    )
    out, report = tmp_path / "out" / "calibration.toml", tmp_path / "out" / "report.html"
    out.parent.mkdir()
    calls = []

    def fake_report(result: object, views: list, board: object, path: Path) -> None:
        assert not out.exists()
        calls.append((result, len(views), board, path))
        Path(path).write_text("<html></html>")

    fake = types.ModuleType("calibration.report")
    fake.write_calibration_report = fake_report  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "calibration.report", fake)
    argv = ["calibrate", str(recording), "--board", str(board_file(tmp_path)), "--out", str(out)]
    assert main([*argv, "--intrinsics", str(intrinsics), "--report", str(report)]) == 0
    rig, metadata = load_calibration(out)
    assert rig.names == scene.rig.names
    for cam in scene.rig:
        assert rig[cam.name].size == cam.size
        assert rig[cam.name].matrix[0, 0] == pytest.approx(cam.matrix[0, 0], rel=0.003), cam.name
    assert max(_centre_errors(rig, scene.rig)) < 0.01
    assert set(metadata.errors) == set(scene.rig.names)
    assert len(calls) == 1
    assert calls[0][2] == BOARD
    assert Path(calls[0][3]) == report
    printed = capsys.readouterr().out
    assert all(name in printed for name in scene.rig.names)
    assert "board-size check: RMS" in printed


def _timestamps(seen: dict[str, list[int]], period: float, seed: int) -> str:
    """A caliscope timestamps.csv: rows per camera in frame order, +-5 ms jitter."""
    rng = np.random.default_rng(seed)
    lines = ["sync_index,cam_id,frame_time"]
    for cam_id, name in enumerate(seen):
        for instant in seen[name]:
            lines.append(f"{instant},{cam_id},{50 + instant * period + rng.uniform(-5e-3, 5e-3)}")
    return "\n".join(lines) + "\n"


def test_timestamps_turn_frames_into_synchronized_sets(scene: Scene, tmp_path: Path) -> None:
    """Videos of different lengths (dropped frames, an early stop) paired by time.

    Every detection's frame is the instant of the board pose it shows: its corners are
    within 1 px RMS of that pose's exact projection (0.03-0.43 px seen, the worst on
    grazing views), while the pose of any other frame is at least 16 px RMS away. With the
    true intrinsics kept, camera centres are within 1 cm (4 mm is typical for this scene).
    """
    names = list(scene.rig.names)
    seen = {
        names[0]: list(range(N_FRAMES)),
        names[1]: [f for f in range(N_FRAMES) if f not in (3, 4, 11)],
        names[2]: list(range(N_FRAMES - 4)),
    }
    renamed = {f"cam_{i}": [scene.frames[n][f] for f in seen[n]] for i, n in enumerate(names)}
    recording = write_videos(tmp_path / "rec", renamed)
    (recording / "timestamps.csv").write_text(_timestamps(seen, 0.1, seed=4))
    truth = CameraRig(tuple(replace(c, name=f"cam_{i}") for i, c in enumerate(scene.rig)))
    save_calibration(tmp_path / "truth.toml", truth)
    result, views = calibrate_recording(
        recording, BOARD, fixed_intrinsics=tmp_path / "truth.toml", progress=False, workers=1
    )
    for view in views:
        exact = true_corners(truth[view.camera], BOARD, scene.poses[view.frame])[view.ids]
        rms = np.sqrt(np.mean(np.sum((view.corners - exact) ** 2, axis=1)))
        assert rms < 1.0, (view.camera, view.frame)
    assert not {3, 4, 11} & {v.frame for v in views if v.camera == "cam_1"}
    assert max(_centre_errors(result.rig, truth)) < 0.01


# ----------------------------------------------------------------------------- bad inputs


def _fails(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], *names: str) -> str:
    """Run ``mocap calibrate``, expecting a one-line error naming ``names`` and exit code 2.

    The output folder must stay empty: no calibration file, not even a temporary one.
    """
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    code = main(["calibrate", *argv, "--out", str(out / "calibration.toml")])
    last = capsys.readouterr().err.strip().splitlines()[-1]  # progress bars come before
    assert code == 2
    assert last.startswith("mocap calibrate: error: "), last
    for name in names:
        assert name in last, (name, last)
    assert list(out.iterdir()) == []
    return last


def _blank(n: int) -> list[np.ndarray]:
    return [np.full((480, 640), 128, np.uint8)] * n


def test_missing_folder_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    board = str(board_file(tmp_path))
    _fails([str(tmp_path / "nowhere"), "--board", board], tmp_path, capsys, "nowhere")


def test_empty_folder_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "rec").mkdir()
    board = str(board_file(tmp_path))
    _fails([str(tmp_path / "rec"), "--board", board], tmp_path, capsys, "rec", "no camera")


def test_corrupt_video_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recording = write_videos(tmp_path / "rec", {"cam_0": _blank(3)})
    (recording / "cam_1.mp4").write_bytes(np.random.default_rng(1).bytes(20_000))
    board = str(board_file(tmp_path))
    _fails([str(recording), "--board", board], tmp_path, capsys, "cam_1.mp4")


def test_camera_without_board_is_named_with_frames_read(
    scene: Scene, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frames = {"cam_a": scene.frames[scene.rig.names[0]][:4], "cam_b": _blank(4)}
    recording = write_folders(tmp_path / "rec", frames)
    argv = [str(recording), "--board", str(board_file(tmp_path)), "--workers", "1"]
    _fails(argv, tmp_path, capsys, "camera 'cam_b'", "no board detected", "4 frames read")


def test_different_lengths_without_timestamps_name_cameras_and_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = write_videos(tmp_path / "rec", {"cam_a": _blank(5), "cam_b": _blank(3)})
    board = str(board_file(tmp_path))
    _fails(
        [str(recording), "--board", board],
        tmp_path,
        capsys,
        "cam_a 5 frames, cam_b 3 frames",
        "timestamps.csv",
        "trim",
    )


def test_unknown_dictionary_names_the_board_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = write_videos(tmp_path / "rec", {"cam_a": _blank(2)})
    bad = tmp_path / "myboard.toml"
    bad.write_text(
        'type = "charuco"\ncolumns = 5\nrows = 7\nsquare_size_mm = 150.0\n'
        'marker_size_mm = 110.0\ndictionary = "DICT_4X4_5O"\n'
    )
    _fails([str(recording), "--board", str(bad)], tmp_path, capsys, "myboard.toml", "DICT_4X4_5O")


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ((0, 1, 2), "camera 'cam_2' has timestamps but no video"),
        ((0,), "no timestamps for camera 'cam_1'"),
    ],
)
def test_timestamps_and_videos_must_match(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ids: tuple[int, ...], message: str
) -> None:
    recording = write_videos(tmp_path / "rec", {"cam_0": _blank(2), "cam_1": _blank(2)})
    rows = [f"{s},{i},{s * 0.1}" for s in range(2) for i in ids]
    (recording / "timestamps.csv").write_text("sync_index,cam_id,frame_time\n" + "\n".join(rows))
    board = str(board_file(tmp_path))
    _fails([str(recording), "--board", board], tmp_path, capsys, "timestamps.csv", message)


def test_fixed_intrinsics_without_a_camera_name_file_and_camera(
    scene: Scene, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = write_videos(tmp_path / "rec", {"cam_1": _blank(2), "cam_9": _blank(2)})
    fixed = tmp_path / "fixed.toml"
    save_calibration(fixed, scene.rig)
    argv = [str(recording), "--board", str(board_file(tmp_path)), "--fix-intrinsics", str(fixed)]
    _fails(argv, tmp_path, capsys, "fixed.toml", "no camera 'cam_9'")


def test_missing_output_folder_is_named_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "no" / "calibration.toml"
    code = main(["calibrate", str(tmp_path), "--board", "b.toml", "--out", str(out)])
    assert code == 2
    assert f"folder {out.parent} does not exist" in capsys.readouterr().err
    assert not out.parent.exists()
