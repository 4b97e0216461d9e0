"""OpenPose-style JSON folders (datasets.readers.openpose): values, layouts, gaps, people, errors.

Every test writes its folder to tmp_path from known keypoints. Values are float32 numbers,
so they survive JSON and the trial's float32 storage exactly.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from datasets.readers import LAYOUTS, KeypointFolderError, is_openpose_folder, read_openpose_folder
from mocap.skeleton import HINGELAB_KEYPOINTS
from mocap.trial import Trial, write_trial

ROOT = Path(__file__).resolve().parents[1]


def _person(keypoints: np.ndarray) -> dict[str, list[float]]:
    """A JSON person from (K, 3) keypoints."""
    return {"pose_keypoints_2d": [float(v) for v in np.asarray(keypoints).ravel()]}


def _write(folder: Path, camera: str, frame: int, people: list[np.ndarray], name: str = "") -> Path:
    """One frame file in OpenPose's naming (or ``name``); returns its path."""
    sub = folder / f"{camera}_json"
    sub.mkdir(parents=True, exist_ok=True)
    path = sub / (name or f"{camera}_{frame:012d}_keypoints.json")
    doc = {"version": 1.3, "people": [_person(p) for p in people]}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _keypoints(rng: np.random.Generator, k: int) -> np.ndarray:
    """(k, 3) float32-exact pixels in a 1920x1080 image and confidences in 0.3..1."""
    values = np.column_stack(
        [rng.uniform(0, 1919, k), rng.uniform(0, 1079, k), rng.uniform(0.3, 1.0, k)]
    )
    return values.astype(np.float32).astype(np.float64)


def _index(name: str) -> int:
    return HINGELAB_KEYPOINTS.index(name)


# ----------------------------------------------------------------------------- values


@pytest.mark.parametrize("count", sorted(LAYOUTS))
def test_each_layout_maps_its_keypoints(tmp_path, count) -> None:
    """Every source keypoint lands in its HingeLab slot; the others stay NaN."""
    rng = np.random.default_rng(count)
    layout = LAYOUTS[count]
    truth = {(cam, f): _keypoints(rng, count) for cam in ("cam01", "cam02") for f in range(4)}
    for (cam, frame), keypoints in truth.items():
        _write(tmp_path, cam, frame, [keypoints])
    trial = read_openpose_folder(tmp_path, fps=60.0)
    assert trial.camera_names == ("cam01", "cam02")
    assert trial.keypoint_names == HINGELAB_KEYPOINTS
    assert trial.keypoints2d.shape == (2, 4, len(HINGELAB_KEYPOINTS), 3)
    assert trial.extra_attrs["import.layout"] == layout.name
    np.testing.assert_array_equal(trial.timestamps, np.arange(4) / 60.0)
    mapped = dict(zip(layout.targets, range(count), strict=True))
    for (cam, frame), keypoints in truth.items():
        got = trial.keypoints2d[trial.camera_names.index(cam), frame]
        for j, name in enumerate(HINGELAB_KEYPOINTS):
            if name in mapped:  # exact: float32 values through JSON
                np.testing.assert_array_equal(got[j], keypoints[mapped[name]].astype(np.float32))
            else:
                assert np.isnan(got[j]).all(), (layout.name, name)


def test_specific_mappings(tmp_path) -> None:
    """Spot checks of the table: BODY_25 heels and toes, COCO without feet, HALPE's toes."""
    assert LAYOUTS[25].targets[21] == "left_heel"
    assert LAYOUTS[25].targets[22] == "right_foot_index"
    assert LAYOUTS[25].targets[1] is None  # Neck
    assert LAYOUTS[26].targets[20] == "left_foot_index"
    assert LAYOUTS[33].targets == HINGELAB_KEYPOINTS[:33]
    coco = set(LAYOUTS[17].targets)
    assert not coco & {"left_heel", "right_heel", "left_foot_index", "right_foot_index"}
    keypoints = np.tile(np.float64([10.0, 20.0, 0.9]), (17, 1))
    _write(tmp_path, "cam01", 0, [keypoints])
    trial = read_openpose_folder(tmp_path)
    assert np.isnan(trial.keypoints2d[0, 0, _index("left_heel")]).all()
    np.testing.assert_array_equal(
        trial.keypoints2d[0, 0, _index("left_knee")], np.float32([10, 20, 0.9])
    )


def test_documented_table_matches_the_code() -> None:
    """docs/keypoint-formats.md lists, per HingeLab keypoint, the index in each layout."""
    text = (ROOT / "docs" / "keypoint-formats.md").read_text(encoding="utf-8")
    text = text[text.index("## Mapping") :]
    header = next(line for line in text.splitlines() if line.startswith("| # | HingeLab"))
    names = [cell.strip() for cell in header.strip("|").split("|")[2:]]
    by_name = {layout.name: layout for layout in LAYOUTS.values()}
    rows = re.findall(r"^\| (\d+) \| `(\w+)` \|(.*)\|$", text, flags=re.MULTILINE)
    assert len(rows) == len(HINGELAB_KEYPOINTS)
    for number, keypoint, cells in rows:
        assert HINGELAB_KEYPOINTS[int(number)] == keypoint
        for layout_name, cell in zip(names, cells.split("|"), strict=True):
            layout = by_name[layout_name]
            expected = layout.targets.index(keypoint) if keypoint in layout.targets else None
            found = int(cell.split()[0]) if cell.strip() != "–" else None
            assert found == expected, (layout_name, keypoint)


def test_undetected_keypoints_and_frame_gaps(tmp_path) -> None:
    """0,0,0 keypoints are NaN; frames missing in a camera are NaN; frame 0 = first file."""
    rng = np.random.default_rng(5)
    a = {f: _keypoints(rng, 25) for f in (3, 4, 6)}
    b = {f: _keypoints(rng, 25) for f in (4, 5, 6, 7)}
    a[4][0] = 0.0  # OpenPose's "not detected"
    for f, keypoints in a.items():
        _write(tmp_path, "cam01", f, [keypoints])
    for f, keypoints in b.items():  # Pose2Sim's naming
        _write(tmp_path, "cam02", f, [keypoints], name=f"cam02_{f:06d}.json")
    _write(tmp_path, "cam02", 8, [])  # a frame in which nobody was found
    trial = read_openpose_folder(tmp_path, fps=30.0)
    assert trial.n_frames == 6  # frames 3..8
    assert trial.extra_attrs["import.first_frame"] == 3
    nose = _index("nose")
    kp = trial.keypoints2d
    np.testing.assert_array_equal(kp[0, 0, nose], a[3][0].astype(np.float32))
    assert np.isnan(kp[0, 1, nose, :2]).all()
    assert kp[0, 1, nose, 2] == 0.0  # the confidence stays as written
    assert np.isnan(kp[0, 2]).all()  # cam01 frame 5: no file
    assert np.isnan(kp[1, 0]).all()  # cam02 frame 3: no file
    np.testing.assert_array_equal(kp[1, 4, nose], b[7][0].astype(np.float32))
    assert np.isnan(kp[1, 5]).all()  # frame 8: empty "people"
    assert not np.isnan(kp[0, 3, nose]).any()


def test_several_people_follow_the_previous_choice(tmp_path) -> None:
    """The most confident person first, then the one nearest to the last choice."""
    near = np.tile(np.float64([100.0, 100.0, 0.9]), (25, 1))
    far = np.tile(np.float64([500.0, 500.0, 0.5]), (25, 1))
    frames = {
        0: [far, near],  # near is more confident
        1: [
            far + np.float64([5, 5, 0.45]),
            near + np.float64([2, 1, -0.3]),
        ],  # far is now more confident, near nearer
        2: [],  # nobody: NaN, and the choice is kept
        3: [near + np.float64([4, 2, 0]), far],
    }
    for frame, people in frames.items():
        _write(tmp_path, "cam01", frame, people)
    trial = read_openpose_folder(tmp_path)
    hip = trial.keypoints2d[0, :, _index("left_hip")]
    np.testing.assert_array_equal(hip[0], np.float32([100, 100, 0.9]))
    np.testing.assert_array_equal(hip[1], np.float32([102, 101, 0.6]))
    assert np.isnan(hip[2]).all()
    np.testing.assert_array_equal(hip[3], np.float32([104, 102, 0.9]))


# ----------------------------------------------------------------------------- cameras


def test_camera_names_pick_or_rename(tmp_path) -> None:
    rng = np.random.default_rng(7)
    for cam in ("cam10", "cam2", "cam1"):
        _write(tmp_path, cam, 0, [_keypoints(rng, 17)])
    assert read_openpose_folder(tmp_path).camera_names == ("cam1", "cam2", "cam10")  # natural
    picked = read_openpose_folder(tmp_path, camera_names=["cam10", "cam1"])
    assert picked.camera_names == ("cam10", "cam1")
    first = read_openpose_folder(tmp_path).keypoints2d[2]
    np.testing.assert_array_equal(picked.keypoints2d[0], first)  # cam10's data, by name
    renamed = read_openpose_folder(tmp_path, camera_names=["a", "b", "c"])
    assert renamed.camera_names == ("a", "b", "c")
    with pytest.raises(KeypointFolderError, match="neither camera subfolders"):
        read_openpose_folder(tmp_path, camera_names=["a", "b"])


def test_is_openpose_folder(tmp_path) -> None:
    pose = tmp_path / "pose"
    _write(pose, "cam01", 0, [np.zeros((25, 3))])
    assert is_openpose_folder(pose)
    assert not is_openpose_folder(pose / "cam01_json")  # the camera folder itself
    assert not is_openpose_folder(tmp_path / "missing")
    other = tmp_path / "other" / "cam01_json"
    other.mkdir(parents=True)
    (other / "a.json").write_text('{"cameras": []}', encoding="utf-8")
    assert not is_openpose_folder(tmp_path / "other")
    trial = Trial(30.0, ("nose",), ("cam01",), np.zeros(1), keypoints2d=np.zeros((1, 1, 1, 3)))
    assert not is_openpose_folder(write_trial(tmp_path / "trial.h5", trial))


# ----------------------------------------------------------------------------- errors


def test_malformed_json_is_named(tmp_path) -> None:
    _write(tmp_path, "cam01", 0, [np.zeros((25, 3))])
    bad = _write(tmp_path, "cam02", 0, [np.zeros((25, 3))])
    bad.write_text('{"people": [', encoding="utf-8")
    with pytest.raises(KeypointFolderError, match=re.escape(f"{bad}: not valid JSON")):
        read_openpose_folder(tmp_path)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ('{"people": [{"pose_keypoints_2d": [1, 2, 3, 4]}]}', "got 4 values"),
        ('{"people": [{"pose_keypoints_2d": [1, "x", 3]}]}', "must be numbers"),
        ('{"people": [{"face": []}]}', 'no "pose_keypoints_2d" list'),
        ('{"persons": []}', 'a "people" list'),
        ("[1, 2]", 'a "people" list'),
        (json.dumps({"people": [_person(np.zeros((18, 3)))]}), "18 keypoints per person"),
    ],
)
def test_bad_files_are_named(tmp_path, content, match) -> None:
    path = _write(tmp_path, "cam01", 0, [])
    path.write_text(content, encoding="utf-8")
    with pytest.raises(KeypointFolderError, match=re.escape(str(path))) as info:
        read_openpose_folder(tmp_path)
    assert match in str(info.value)


def test_folder_level_errors(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="keypoint folder not found"):
        read_openpose_folder(tmp_path / "missing")
    with pytest.raises(KeypointFolderError, match="no camera subfolders"):
        read_openpose_folder(tmp_path)
    _write(tmp_path, "cam01", 0, [np.zeros((25, 3))])
    _write(tmp_path, "cam01", 0, [np.zeros((25, 3))], name="cam01_000000.json")
    with pytest.raises(KeypointFolderError, match="are both frame 0"):
        read_openpose_folder(tmp_path)


def test_layouts_must_agree_and_someone_must_be_there(tmp_path) -> None:
    _write(tmp_path / "a", "cam01", 0, [np.zeros((25, 3))])
    _write(tmp_path / "a", "cam02", 0, [np.zeros((17, 3))])
    with pytest.raises(KeypointFolderError, match="cameras disagree"):
        read_openpose_folder(tmp_path / "a")
    _write(tmp_path / "b", "cam01", 0, [np.zeros((25, 3))])
    _write(tmp_path / "b", "cam01", 1, [np.zeros((33, 3))])
    with pytest.raises(KeypointFolderError, match="expected one layout"):
        read_openpose_folder(tmp_path / "b")
    _write(tmp_path / "c", "cam01", 0, [])
    with pytest.raises(KeypointFolderError, match="no person in any file"):
        read_openpose_folder(tmp_path / "c")
