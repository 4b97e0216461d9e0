"""``detect_recording`` and ``mocap detect`` on stamped synthetic recordings.

Every frame carries the instant it shows (``mocap.detectors.synthetic.stamp_frame``) and the
synthetic detector returns that instant's row of a known truth, so each test checks that
every image's keypoints land in the right place of the (C, T, J, 3) result: exactly, since
nothing is estimated (float32 storage is the only rounding).
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from mocap.cli import main
from mocap.detect_job import detect_recording, open_detection_recording
from mocap.detectors.synthetic import (
    SyntheticDetectorFactory,
    draw_marker,
    write_stamped_recording,
)
from mocap.markers import MarkerSet
from mocap.sources import RecordingError, open_recording
from mocap.sync import TimestampError
from mocap.trial import read_trial

SIZE = (320, 240)


def random_truth(cameras: list[str], n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Per camera, (n, 33, 3) pixels and confidences; a few keypoints missing."""
    rng = np.random.default_rng(seed)
    truth = {}
    for camera in cameras:
        rows = np.concatenate(
            [rng.uniform(0, 300, (n, 33, 2)), rng.uniform(0.3, 1, (n, 33, 1))], axis=-1
        )
        gone = rng.random((n, 33)) < 0.1
        rows[gone, :2], rows[gone, 2] = np.nan, 0.0
        truth[camera] = rows
    return truth


def as_stored(values: np.ndarray) -> np.ndarray:
    """What a float32 trial array holds for ``values``."""
    return values.astype(np.float32)


def test_every_frame_reaches_its_row_in_spawned_workers(tmp_path: Path) -> None:
    """3 cameras x 20 frames (PNG), 2 worker processes, frames 3:17 only.

    Exact: row t of camera c is the truth of instant 3 + t; marker keypoints are NaN with
    confidence 0 (no markers in the images); 14 timestamps 1/30 s apart from 0.
    """
    cameras = ["cam_a", "cam_b", "cam_c"]
    truth = random_truth(cameras, 20)
    folder = write_stamped_recording(tmp_path / "rec", {c: range(20) for c in cameras}, SIZE)
    trial = detect_recording(
        folder,
        detector=SyntheticDetectorFactory(truth),
        workers=2,
        frame_range=(3, 17),
        fps=30.0,
        progress=False,
    )
    assert trial.camera_names == tuple(cameras)
    assert trial.keypoints2d.shape == (3, 14, 37, 3)
    for c, camera in enumerate(cameras):
        np.testing.assert_array_equal(trial.keypoints2d[c, :, :33], as_stored(truth[camera][3:17]))
    assert np.isnan(trial.keypoints2d[:, :, 33:, :2]).all()
    assert (trial.keypoints2d[:, :, 33:, 2] == 0).all()
    np.testing.assert_allclose(trial.timestamps, np.arange(14) / 30.0)
    assert trial.fps == 30.0
    assert trial.extra_attrs["detection_image_width"] == (320, 320, 320)
    assert trial.extra_attrs["detection_image_height"] == (240, 240, 240)
    assert trial.extra_attrs["detection_frame_start"] == 3
    assert trial.extra_attrs["detection_markers"] == "DICT_4X4_50: C7=0, T12=1, L3=2, S1=3"


def test_videos_give_their_frame_rate_and_a_camera_subset(tmp_path: Path) -> None:
    """FFV1 videos written at 25 fps: fps 25, timestamps 40 ms apart; cameras as asked."""
    truth = random_truth(["c1", "c2", "c3"], 6)
    folder = write_stamped_recording(
        tmp_path / "rec", {c: range(6) for c in truth}, SIZE, video=True, fps=25.0
    )
    trial = detect_recording(
        folder,
        camera_names=["c3", "c1"],
        detector=SyntheticDetectorFactory(truth),
        markers=None,
        workers=1,
        progress=False,
    )
    assert trial.camera_names == ("c3", "c1")
    assert trial.fps == pytest.approx(25.0)
    np.testing.assert_allclose(trial.timestamps, np.arange(6) * 0.04)
    np.testing.assert_array_equal(trial.keypoints2d[0, :, :33], as_stored(truth["c3"]))
    assert trial.extra_attrs["detection_markers"] == "none"
    assert trial.extra_attrs["detection_recordings"] == "c3.mkv, c1.mkv"


def _caliscope_timestamps(instants: dict[str, list[int]], period: float, seed: int) -> str:
    """Caliscope's timestamps.csv (cam_N = camera N): rows in frame order, +-4 ms jitter."""
    rng = np.random.default_rng(seed)
    lines = ["sync_index,cam_id,frame_time"]
    for cam_id, shown in enumerate(instants.values()):
        lines += [f"{i},{cam_id},{100 + i * period + rng.uniform(-4e-3, 4e-3)}" for i in shown]
    return "\n".join(lines) + "\n"


def test_timestamps_pair_frames_by_time(tmp_path: Path) -> None:
    """Dropped frames and a late stop: rows are the instants, a camera's gaps are NaN.

    cam_1 lost instants 4, 5 and 11, cam_2 stopped 3 instants early; at 50 fps with 4 ms
    jitter every instant is one synchronized set (25 sets), so each row holds exactly that
    instant's truth in every camera that saw it; fps is 1 / the median period (50).
    """
    instants = {
        "cam_0": list(range(25)),
        "cam_1": [i for i in range(25) if i not in (4, 5, 11)],
        "cam_2": list(range(22)),
    }
    truth = random_truth(list(instants), 25, seed=1)
    folder = write_stamped_recording(tmp_path / "rec", instants, SIZE, video=True)
    (folder / "timestamps.csv").write_text(_caliscope_timestamps(instants, 0.02, seed=2))
    trial = detect_recording(
        folder, detector=SyntheticDetectorFactory(truth), markers=None, progress=False, workers=1
    )
    assert trial.keypoints2d.shape[:2] == (3, 25)
    assert trial.fps == pytest.approx(50.0, rel=0.01)
    assert trial.extra_attrs["detection_pairing"] == "timestamps"
    for c, (camera, shown) in enumerate(instants.items()):
        for instant in range(25):
            row = trial.keypoints2d[c, instant, :33]
            if instant in shown:
                np.testing.assert_array_equal(row, as_stored(truth[camera][instant]))
            else:
                assert np.isnan(row[:, :2]).all(), (camera, instant)
    np.testing.assert_allclose(np.diff(trial.timestamps), 0.02, atol=0.009)


def test_markers_found_in_every_frame(tmp_path: Path) -> None:
    """A C7 marker (id 0) moving over the frames, shoulders and hips placed around it.

    Within 0.2 px of the drawn centre in every frame and camera (the marker tests' bound);
    T12, L3 and S1 are absent (NaN); a marker set without C7 finds nothing.
    """
    cameras, n = ["cam_a", "cam_b"], 8
    centres: dict[tuple[str, int], np.ndarray] = {}
    truth = {}
    for k, camera in enumerate(cameras):
        rows = np.full((n, 33, 3), np.nan)
        for t in range(n):
            x, y = 100.0 + 10 * t + 7 * k, 120.0 + 3 * t
            torso = [
                [x - 40, y - 30, 1],
                [x + 40, y - 30, 1],
                [x - 35, y + 60, 1],
                [x + 35, y + 60, 1],
            ]
            rows[t, [11, 12, 23, 24]] = torso
        truth[camera] = rows

    def paint(camera: str, instant: int, image: np.ndarray) -> None:
        x, y = truth[camera][instant, 11, :2] + [40, 30]
        h = np.array([[5.0, 1.0, x - 18], [-1.0, 5.0, y - 12], [0.0, 0.0, 1.0]])
        centres[camera, instant] = draw_marker(image, 0, h)

    folder = write_stamped_recording(
        tmp_path / "rec", {c: range(n) for c in cameras}, SIZE, paint=paint
    )
    factory = SyntheticDetectorFactory(truth)
    trial = detect_recording(folder, detector=factory, progress=False, workers=1, fps=30)
    for c, camera in enumerate(cameras):
        for t in range(n):
            c7 = trial.keypoints2d[c, t, 33]
            assert np.linalg.norm(c7[:2] - centres[camera, t]) < 0.2, (camera, t)
            assert 0.5 < c7[2] <= 1.0
    assert np.isnan(trial.keypoints2d[:, :, 34:, 0]).all()
    others = MarkerSet({"S1": 3})
    trial = detect_recording(
        folder, detector=factory, markers=others, progress=False, workers=1, fps=30
    )
    assert np.isnan(trial.keypoints2d[:, :, 33:, 0]).all()


def test_videos_without_a_frame_count_are_read_to_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Containers that state no frame count: the length is learnt while reading (exact)."""
    truth = random_truth(["cam_a", "cam_b"], 7)
    folder = write_stamped_recording(
        tmp_path / "rec", {c: range(7) for c in truth}, SIZE, video=True
    )
    opened = open_recording(folder)
    uncounted = {name: dataclasses.replace(s, frame_count=None) for name, s in opened.items()}
    monkeypatch.setattr("mocap.detect_job.open_recording", lambda _: uncounted)
    trial = detect_recording(
        folder, detector=SyntheticDetectorFactory(truth), workers=1, progress=False
    )
    assert trial.n_frames == 7
    np.testing.assert_array_equal(trial.keypoints2d[1, :, :33], as_stored(truth["cam_b"]))
    short = detect_recording(
        folder, detector=SyntheticDetectorFactory(truth), frame_range=(2, None), progress=False
    )
    np.testing.assert_array_equal(short.keypoints2d[0, :, :33], as_stored(truth["cam_a"][2:]))


# ----------------------------------------------------------------------------- bad inputs


def test_different_lengths_without_timestamps(tmp_path: Path) -> None:
    folder = write_stamped_recording(
        tmp_path / "rec", {"cam_a": range(5), "cam_b": range(3)}, SIZE, video=True
    )
    with pytest.raises(RecordingError, match=r"cam_a 5 frames, cam_b 3 frames.*timestamps\.csv"):
        open_detection_recording(folder)


def test_corrupt_video_names_file_and_frame(tmp_path: Path) -> None:
    """A video cut in half: its container still lists 30 frames, 14 decode."""
    truth = random_truth(["cam_a", "cam_b"], 30)
    folder = write_stamped_recording(
        tmp_path / "rec", {c: range(30) for c in truth}, SIZE, video=True
    )
    path = folder / "cam_b.mkv"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(RecordingError) as error:
        detect_recording(
            folder, detector=SyntheticDetectorFactory(truth), progress=False, workers=1
        )
    message = str(error.value)
    assert message.startswith(f"{path}: frame ")
    assert "does not decode" in message
    assert "lists 30 frames" in message


def test_image_folders_need_a_frame_rate(tmp_path: Path) -> None:
    folder = write_stamped_recording(tmp_path / "rec", {"cam_a": range(3)}, SIZE)
    with pytest.raises(RecordingError, match="no frame rate"):
        open_detection_recording(folder)


def test_videos_of_different_frame_rates(tmp_path: Path) -> None:
    write_stamped_recording(tmp_path / "rec", {"cam_a": range(3)}, SIZE, video=True, fps=30)
    write_stamped_recording(tmp_path / "rec", {"cam_b": range(3)}, SIZE, video=True, fps=60)
    with pytest.raises(RecordingError, match="cam_a 30 fps, cam_b 60 fps"):
        open_detection_recording(tmp_path / "rec")


def test_unknown_camera_and_bad_range(tmp_path: Path) -> None:
    truth = random_truth(["cam_a"], 4)
    folder = write_stamped_recording(tmp_path / "rec", {"cam_a": range(4)}, SIZE, video=True)
    with pytest.raises(RecordingError, match="no video or image folder for camera 'cam_z'"):
        detect_recording(folder, camera_names=["cam_z"], progress=False)
    with pytest.raises(RecordingError, match=r"frame range 2:9 is not within the recording's 4"):
        detect_recording(
            folder, detector=SyntheticDetectorFactory(truth), frame_range=(2, 9), progress=False
        )


def test_timestamps_for_a_missing_camera(tmp_path: Path) -> None:
    instants = {"cam_0": list(range(3))}
    folder = write_stamped_recording(tmp_path / "rec", instants, SIZE, video=True)
    text = _caliscope_timestamps({**instants, "cam_1": [0, 1, 2]}, 0.02, seed=0)
    (folder / "timestamps.csv").write_text(text)
    with pytest.raises(TimestampError, match="camera 'cam_1' has timestamps but no video"):
        open_detection_recording(folder)


# ----------------------------------------------------------------------------- CLI


def test_cli_detect_writes_a_2d_trial(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``mocap detect`` with a markers file: a readable 2D trial with the set recorded."""
    truth = random_truth(["cam_a", "cam_b"], 5)
    folder = write_stamped_recording(
        tmp_path / "rec", {c: range(5) for c in truth}, SIZE, video=True
    )
    monkeypatch.setattr(
        "mocap.detect_job.default_detector", lambda: SyntheticDetectorFactory(truth)
    )
    markers = tmp_path / "markers.toml"
    markers.write_text("[ids]\nC7 = 7\nS1 = 8\n")
    out = tmp_path / "kp.h5"
    argv = ["detect", str(folder), "--out", str(out), "--markers", str(markers), "--workers", "1"]
    assert main([*argv, "--frames", "1:4"]) == 0
    trial = read_trial(out)
    assert trial.keypoints2d.shape == (2, 3, 37, 3)
    assert trial.points3d is None
    np.testing.assert_array_equal(trial.keypoints2d[1, :, :33], as_stored(truth["cam_b"][1:4]))
    assert trial.extra_attrs["detection_markers"] == "DICT_4X4_50: C7=7, S1=8"
    printed = capsys.readouterr().out
    assert f"wrote {out}: 2 cameras, 3 frames" in printed


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--frames", "5-9"], "expected START:END"),
        (["--markers", "nowhere.toml"], "markers file not found"),
    ],
)
def test_cli_detect_errors_leave_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    folder = write_stamped_recording(tmp_path / "rec", {"cam_a": range(2)}, SIZE, video=True)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(SystemExit) if "--frames" in extra else contextlib.nullcontext():
        code = main(["detect", str(folder), "--out", str(out / "kp.h5"), *extra])
        assert code == 2
    assert message in capsys.readouterr().err
    assert list(out.iterdir()) == []
