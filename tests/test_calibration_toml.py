"""Calibration TOML files: exact round trip, Pose2Sim/anipose files, errors, atomic save."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from calibration.camera import Camera, CameraRig
from calibration.toml_io import (
    CalibrationFormatError,
    CalibrationMetadata,
    calibration_from_toml,
    calibration_to_toml,
    load_calibration,
    save_calibration,
    tomllib,
)

POSE2SIM = """\
[int_cam01_img]
name = "cam01"
size = [ 1088.0, 1920.0,]
matrix = [ [ 1677.97, 0.0, 542.71,], [ 0.0, 1676.26, 969.89,], [ 0.0, 0.0, 1.0,],]
distortions = [ -0.0495, 0.5076, 0.0016, 0.0021,]
rotation = [ 1.6782, 1.6911, -0.8031,]
translation = [ 0.7318, 0.5981, 4.4337,]
fisheye = false

[int_cam02_img]
name = "cam02"
size = [ 1088.0, 1920.0,]
matrix = [ [ 1681.2, 0.0, 540.1,], [ 0.0, 1680.9, 960.3,], [ 0.0, 0.0, 1.0,],]
distortions = [ -0.04, 0.41, 0.001, -0.002,]
rotation = [ 1.2, -1.1, 0.3,]
translation = [ -0.5, 0.6, 4.1,]
fisheye = false

[metadata]
adjusted = false
error = 0.0
"""

ANIPOSE = """\
[cam_0]
name = "A"
size = [ 1280, 1024,]
matrix = [ [ 1000.0, 0.0, 640.0,], [ 0.0, 1000.0, 512.0,], [ 0.0, 0.0, 1.0,],]
distortions = [ -0.2, 0.05, 0.0, 0.0, 0.0,]
rotation = [ 0.0, 0.0, 0.0,]
translation = [ 0.0, 0.0, 0.0,]
some_new_key = "tolerated"

[cam_1]
name = "B"
size = [ 1280, 1024,]
matrix = [ [ 900.0, 0.0, 640.0,], [ 0.0, 900.0, 512.0,], [ 0.0, 0.0, 1.0,],]
distortions = [ 0.1, 0.2, 0.3, 0.4,]
rotation = [ 0.0, 0.5, 0.0,]
translation = [ -1.0, 0.0, 0.2,]
fisheye = true
"""


def random_rig(seed: int) -> CameraRig:
    """Three cameras with full-precision random floats and awkward names."""
    rng = np.random.default_rng(seed)
    names = ('left "A"', "back\\slash\tcam", "kamera-ü-📷")
    cams = []
    for i, name in enumerate(names):
        f = rng.uniform(800, 2000)
        matrix = [[f, 0.0, rng.uniform(900, 1000)], [0.0, f * 1.001, rng.uniform(500, 580)]]
        cams.append(
            Camera(
                name=name,
                size=(1920, 1080),
                matrix=[*matrix, [0.0, 0.0, 1.0]],
                distortion=rng.normal(0, 0.1, 4 if i == 2 else 5),
                rotation=rng.normal(0, 1, 3),
                translation=rng.normal(0, 3, 3),
                fisheye=i == 2,
            )
        )
    return CameraRig(tuple(cams))


def test_round_trip_is_bit_exact():
    rig = random_rig(seed=7)
    meta = CalibrationMetadata(
        up_axis="-y",
        errors={rig.names[0]: 0.31, rig.names[2]: 1 / 3},
        created="2024-05-01T12:00:00Z",
        software="hingelab 0.1.0",
        extra={"adjusted": True, "note": 'line1\nline2 "q"', "count": 3},
    )
    text = calibration_to_toml(rig, meta)
    rig2, meta2 = calibration_from_toml(text)
    assert rig2.names == rig.names
    for a, b in zip(rig, rig2, strict=True):
        for f in ("matrix", "distortion", "rotation", "translation"):
            assert np.array_equal(getattr(a, f), getattr(b, f)), (a.name, f)
        assert (a.size, a.fisheye) == (b.size, b.fisheye)
    assert rig2 == rig
    assert meta2 == meta


def test_writer_output_is_valid_toml_for_pose2sim_and_anipose():
    # 1e-12 px: the mean of two floats, computed the same way on both sides.
    rig = random_rig(seed=8)
    text = calibration_to_toml(rig, CalibrationMetadata(errors={rig.names[0]: 0.2}))
    doc = tomllib.loads(text)
    assert [doc[k]["name"] for k in sorted(doc) if k != "metadata"] == list(rig.names)
    assert doc["metadata"]["adjusted"] is False
    assert doc["metadata"]["error"] == pytest.approx(0.2, abs=1e-12)
    assert doc["metadata"]["units"] == "m"
    assert len(doc["cam_00"]["matrix"]) == 3
    assert "    [" in text, "matrix rows are written one per line"


def test_table_names_sort_in_rig_order_with_many_cameras():
    cam = random_rig(seed=9)[0]
    rig = CameraRig(tuple(dataclasses.replace(cam, name=f"c{i}") for i in range(12)))
    doc = tomllib.loads(calibration_to_toml(rig, CalibrationMetadata()))
    assert [doc[k]["name"] for k in sorted(doc) if k != "metadata"] == list(rig.names)


def test_reads_pose2sim_calib_toml():
    # 0 tolerance: the parsed floats must be exactly the decimal literals in the file.
    rig, meta = calibration_from_toml(POSE2SIM, source="Calib.toml")
    assert rig.names == ("cam01", "cam02")
    cam = rig["cam01"]
    assert cam.size == (1088, 1920)
    assert np.array_equal(cam.matrix[0], [1677.97, 0.0, 542.71])
    assert np.array_equal(cam.distortion, [-0.0495, 0.5076, 0.0016, 0.0021, 0.0])
    assert np.array_equal(cam.rotation, [1.6782, 1.6911, -0.8031])
    assert np.array_equal(cam.translation, [0.7318, 0.5981, 4.4337])
    assert not cam.fisheye
    assert (meta.units, meta.up_axis, dict(meta.errors)) == ("m", "z", {})
    assert meta.extra == {"adjusted": False, "error": 0.0}


def test_reads_anipose_file_without_metadata():
    rig, meta = calibration_from_toml(ANIPOSE)
    assert rig.names == ("A", "B")
    assert rig["B"].fisheye
    assert np.array_equal(rig["B"].distortion, [0.1, 0.2, 0.3, 0.4])
    assert meta == CalibrationMetadata()


def test_millimetre_files_are_converted_to_metres():
    # 0 tolerance: x / 1000 is what the conversion is defined as, in float64.
    text = ANIPOSE.replace("[ -1.0, 0.0, 0.2,]", "[ -1000.0, 0.0, 200.0,]")
    rig, meta = calibration_from_toml(text + '\n[metadata]\nunits = "mm"\n')
    assert np.array_equal(rig["B"].translation, np.array([-1000.0, 0.0, 200.0]) * 0.001)
    assert meta.units == "m"
    with pytest.raises(CalibrationFormatError, match=r"\[metadata\], field 'units'.*'ft'"):
        calibration_from_toml(text + '\n[metadata]\nunits = "ft"\n')


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "matrix = [ [ 900.0, 0.0, 640.0,], [ 0.0, 900.0, 512.0,], [ 0.0, 0.0, 1.0,],]\n",
            "",
            r"table \[cam_1\], field 'matrix': missing",
        ),
        (
            "[ [ 900.0, 0.0, 640.0,], [ 0.0, 900.0, 512.0,], [ 0.0, 0.0, 1.0,],]",
            "[ [ 900.0, 0.0, 640.0,], [ 0.0, 900.0, 512.0,],]",
            r"table \[cam_1\], field 'matrix': expected 3 rows of 3 numbers, got 2 rows",
        ),
        (
            "[ [ 900.0, 0.0, 640.0,], [ 0.0, 900.0, 512.0,], [ 0.0, 0.0, 1.0,],]",
            "[ [ 900.0, 0.0,], [ 0.0, 900.0, 512.0,], [ 0.0, 0.0, 1.0,],]",
            r"table \[cam_1\], field 'matrix': expected 3 rows of 3 numbers",
        ),
        (
            "rotation = [ 0.0, 0.5, 0.0,]",
            'rotation = [ 0.0, "half", 0.0,]',
            r"table \[cam_1\], field 'rotation': expected a list of 3 numbers, got \[0.0, 'half'",
        ),
        (
            "rotation = [ 0.0, 0.5, 0.0,]",
            "rotation = [ 0.0, true, 0.0,]",
            r"table \[cam_1\], field 'rotation'",
        ),
        ('name = "B"', 'name = "A"', r"tables \[cam_0\] and \[cam_1\], field 'name'.*'A'"),
        ("fisheye = true", 'fisheye = "yes"', r"table \[cam_1\], field 'fisheye'"),
        ("size = [ 1280, 1024,]\nmatrix = [ [ 900", "size = [ 1280,]\nmatrix = [ [ 900", "'size'"),
    ],
)
def test_malformed_files_name_table_and_field(old, new, expected):
    assert old in ANIPOSE
    text = ANIPOSE.replace(old, new, 1)
    with pytest.raises(CalibrationFormatError, match=expected) as info:
        calibration_from_toml(text, source="calibration.toml")
    assert str(info.value).startswith("calibration.toml: ")


def test_invalid_toml_reports_the_line():
    text = ANIPOSE.replace("rotation = [ 0.0, 0.5, 0.0,]", "rotation = [ 0.0, 0.5, 0.0")
    with pytest.raises(CalibrationFormatError, match=r"calibration.toml: not valid TOML.*line"):
        calibration_from_toml(text, source="calibration.toml")


def test_no_camera_tables():
    with pytest.raises(CalibrationFormatError, match=r"calibration\.toml: no camera tables"):
        calibration_from_toml("[metadata]\nunits = 'm'\n", source="calibration.toml")


def test_camera_level_problems_name_the_table():
    text = ANIPOSE.replace("[ 0.0, 900.0, 512.0,]", "[ 0.0, -900.0, 512.0,]")
    with pytest.raises(CalibrationFormatError, match=r"table \[cam_1\].*'B'.*focal"):
        calibration_from_toml(text, source="calibration.toml")


def test_metadata_errors_must_name_cameras():
    text = ANIPOSE + "\n[metadata.errors]\nA = 0.5\nZ = 0.1\n"
    with pytest.raises(CalibrationFormatError, match=r"\[metadata\], field 'errors'.*Z"):
        calibration_from_toml(text)
    _, meta = calibration_from_toml(ANIPOSE + "\n[metadata]\nerrors = { A = 0.5 }\n")
    assert dict(meta.errors) == {"A": 0.5}


def test_save_and_load(tmp_path: Path):
    rig = random_rig(seed=10)
    path = tmp_path / "calibration.toml"
    save_calibration(path, rig)
    rig2, meta = load_calibration(path)
    assert rig2 == rig
    assert meta.software.startswith("hingelab")
    assert meta.created.endswith("Z")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calibration.toml"]


def test_failed_save_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "calibration.toml"
    save_calibration(path, random_rig(seed=11))
    before = path.read_bytes()
    bad_meta = CalibrationMetadata(errors={"not a camera": 1.0})
    with pytest.raises(ValueError, match="not in the rig"):
        save_calibration(path, random_rig(seed=12), bad_meta)

    def broken_replace(self: Path, target: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(Path, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save_calibration(path, random_rig(seed=12))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calibration.toml"]


def test_save_into_missing_folder_and_load_missing_file(tmp_path: Path):
    missing = tmp_path / "nope" / "calibration.toml"
    with pytest.raises(FileNotFoundError, match="nope"):
        save_calibration(missing, random_rig(seed=13))
    with pytest.raises(FileNotFoundError, match=r"calibration file not found: .*calibration.toml"):
        load_calibration(missing)


def test_metadata_is_immutable_and_checked():
    meta = CalibrationMetadata(errors={"a": 1})
    with pytest.raises(TypeError):
        meta.errors["a"] = 2.0  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        meta.units = "mm"  # type: ignore[misc]
    with pytest.raises(ValueError, match="'m'"):
        CalibrationMetadata(units="mm")
