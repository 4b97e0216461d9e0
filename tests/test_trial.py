"""Tests of the HDF5 trial file: round trips, bad files, atomic writes and live appending.

Every numeric comparison here is exact (no tolerance): HDF5 stores and returns the very
bits it is given, and frame counts are integers.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

from mocap import trial as trial_module
from mocap.skeleton import HINGELAB_KEYPOINTS
from mocap.trial import (
    Trial,
    TrialAppender,
    TrialFormatError,
    TrialInfo,
    read_trial,
    write_metrics,
    write_trial,
)
from mocap.trial_metrics import TrialMetrics

CAMERAS = ("cam_left", "cam_front", "cam_right", "cam_back")
ROOT = Path(__file__).resolve().parents[1]


def make_arrays(seed: int, n_frames: int, n_cams: int = 4) -> dict[str, np.ndarray]:
    """Random arrays of every dataset with NaN holes where nothing was detected."""
    rng = np.random.default_rng(seed)
    j = len(HINGELAB_KEYPOINTS)
    kp2d = rng.uniform(0, 1920, (n_cams, n_frames, j, 3)).astype(np.float32)
    kp2d[..., 2] = rng.uniform(0, 1, (n_cams, n_frames, j))
    kp2d[rng.random((n_cams, n_frames, j)) < 0.1, :2] = np.nan
    p3d = rng.normal(0, 0.5, (n_frames, j, 3)).astype(np.float32)
    p3d[rng.random((n_frames, j)) < 0.05] = np.nan
    return {
        "timestamps": np.cumsum(rng.uniform(0.015, 0.018, n_frames)) - 0.015,
        "keypoints2d": kp2d,
        "points3d": p3d,
        "reprojection_error": rng.uniform(0, 5, (n_frames, j)).astype(np.float32),
        "n_views": rng.integers(0, n_cams + 1, (n_frames, j)).astype(np.uint8),
    }


def make_trial(seed: int = 0, n_frames: int = 100, **overrides: object) -> Trial:
    fields: dict[str, object] = {
        "fps": 60.0,
        "keypoint_names": HINGELAB_KEYPOINTS,
        "camera_names": CAMERAS,
        "info": TrialInfo(subject="Zoë Ångström-李", session="s01", trial="t3", condition="hinge"),
        "calibration_toml": '[cam_left]\nsize = [1920, 1080]\nname = "ünïcode"\n',
        "extra_attrs": {
            "filter": "butterworth",
            "cutoff_hz": 6.0,
            "order": 4,
            "causal": False,
            "offsets_m": [0.01, -0.02, 0.0],
            "frames": [1, 2, 3],
        },
        **make_arrays(seed, n_frames),
    }
    return Trial(**{**fields, **overrides})


def at(path: Path, message: str) -> str:
    """Regex: the error message starts with the file path, then ``message``."""
    return "^" + re.escape(str(path)) + ": " + message


def assert_same(a: Trial, b: Trial) -> None:
    """Bit-identical arrays (NaN in the same places) and equal metadata."""
    for name in ("timestamps", "keypoints2d", "points3d", "reprojection_error", "n_views"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert x.dtype == y.dtype, name
            assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), name
    for name in ("fps", "keypoint_names", "camera_names", "info", "calibration_toml"):
        assert getattr(a, name) == getattr(b, name), name
    assert dict(a.extra_attrs) == dict(b.extra_attrs)
    assert a.software_version == b.software_version


def test_full_round_trip(tmp_path: Path) -> None:
    original = make_trial()
    path = write_trial(tmp_path / "trial.h5", original)
    back = read_trial(path)
    assert_same(original, back)
    assert back.info.subject == "Zoë Ångström-李"
    assert (back.n_cameras, back.n_frames, back.n_joints) == (4, 100, 37)
    assert isinstance(back.extra_attrs["order"], int)
    assert back.extra_attrs["causal"] is False
    assert back.extra_attrs["offsets_m"] == (0.01, -0.02, 0.0)  # exact: float64 round trip


def test_2d_only_round_trip(tmp_path: Path) -> None:
    original = make_trial(points3d=None, reprojection_error=None, n_views=None)
    back = read_trial(write_trial(tmp_path / "t.h5", original))
    assert_same(original, back)
    with h5py.File(tmp_path / "t.h5") as f:
        assert "points3d" not in f


def test_3d_only_round_trip(tmp_path: Path) -> None:
    original = make_trial(keypoints2d=None, reprojection_error=None, n_views=None)
    back = read_trial(write_trial(tmp_path / "t.h5", original))
    assert_same(original, back)
    assert back.reprojection_error is None


def test_3d_only_without_cameras_round_trip(tmp_path: Path) -> None:
    p3d = make_arrays(7, 5)["points3d"]
    original = Trial(100.0, HINGELAB_KEYPOINTS, (), np.arange(5) / 100.0, points3d=p3d)
    assert_same(original, read_trial(write_trial(tmp_path / "t.h5", original)))


def test_bad_extra_attr_is_refused() -> None:
    with pytest.raises(TrialFormatError, match=r"extra_attrs\['nested'\] is \{'a': 1\}"):
        make_trial(extra_attrs={"nested": {"a": 1}})


def test_with_points3d_adds_3d_and_merges_attrs() -> None:
    two_d = make_trial(points3d=None, reprojection_error=None, n_views=None)
    arrays = make_arrays(1, 100)
    full = two_d.with_points3d(
        arrays["points3d"],
        arrays["reprojection_error"],
        arrays["n_views"],
        extra_attrs={"triangulation": "dlt", "order": 2},
    )
    assert np.array_equal(full.points3d, arrays["points3d"], equal_nan=True)
    assert full.extra_attrs["order"] == 2  # exact: the override wins over the old 4
    assert full.extra_attrs["filter"] == "butterworth"
    assert np.array_equal(full.keypoints2d, two_d.keypoints2d, equal_nan=True)


def test_arrays_are_converted_and_read_only() -> None:
    arrays = make_arrays(2, 10)
    t = make_trial(n_frames=10, points3d=arrays["points3d"].astype(np.float64))
    assert t.points3d.dtype == np.float32
    assert not t.points3d.flags.writeable
    with pytest.raises(TypeError):
        t.extra_attrs["new"] = 1  # type: ignore[index]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"keypoints2d": np.zeros((4, 100, 37, 2))},
            r"keypoints2d has shape \(4, 100, 37, 2\); expected \(C=4, T=100, J=37, 3\)",
        ),
        (
            {"points3d": np.zeros((100, 33, 3))},
            r"points3d has shape \(100, 33, 3\); expected \(T=100, J=37, 3\) "
            r"\(keypoint_names lists 37\)",
        ),
        ({"n_views": np.full((100, 37), 300)}, "n_views must hold whole numbers 0..255"),
        ({"timestamps": np.arange(100.0)[::-1].copy()}, "non-decreasing"),
        (
            {"keypoints2d": None, "points3d": None, "reprojection_error": None, "n_views": None},
            "needs keypoints2d or points3d",
        ),
        ({"points3d": None}, "reprojection_error and n_views need points3d"),
    ],
)
def test_inconsistent_trial_is_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(TrialFormatError, match=message):
        make_trial(**overrides)


@pytest.mark.parametrize("fps", [0.0, -30.0, float("nan"), float("inf")])
def test_bad_fps_is_refused(fps: float) -> None:
    with pytest.raises(TrialFormatError, match="fps must be a finite number > 0"):
        Trial(fps, ("a",), (), np.zeros(1), points3d=np.zeros((1, 1, 3)))


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(TrialFormatError, match="camera_names must hold >= 0 unique names"):
        Trial(30.0, ("a",), ("c", "c"), np.zeros(1), keypoints2d=np.zeros((2, 1, 1, 3)))


def written(tmp_path: Path) -> Path:
    return write_trial(tmp_path / "trial.h5", make_trial())


def test_wrong_keypoints2d_shape_in_file(tmp_path: Path) -> None:
    path = written(tmp_path)
    with h5py.File(path, "r+") as f:
        del f["keypoints2d"]
        f["keypoints2d"] = np.zeros((4, 100, 37, 2), np.float32)
    expected = r"keypoints2d has shape \(4, 100, 37, 2\); expected \(C=4, T=100, J=37, 3\)"
    with pytest.raises(TrialFormatError, match=at(path, expected)):
        read_trial(path)


def test_missing_attribute(tmp_path: Path) -> None:
    path = written(tmp_path)
    with h5py.File(path, "r+") as f:
        del f.attrs["fps"]
    with pytest.raises(TrialFormatError, match=at(path, r"missing root attribute 'fps'")):
        read_trial(path)


@pytest.mark.parametrize("dtype", [np.float16, np.int32, np.float64])
def test_wrong_dtype(tmp_path: Path, dtype: type) -> None:
    path = written(tmp_path)
    with h5py.File(path, "r+") as f:
        data = np.nan_to_num(f["points3d"][()]).astype(dtype)
        del f["points3d"]
        f["points3d"] = data
    expected = np.dtype(dtype).name
    with pytest.raises(
        TrialFormatError, match=at(path, rf"points3d has dtype {expected}; expected float32")
    ):
        read_trial(path)


def test_truncated_file(tmp_path: Path) -> None:
    path = written(tmp_path)
    os.truncate(path, path.stat().st_size // 2)
    with pytest.raises(
        TrialFormatError, match=at(path, r"is not a readable HDF5 file \(truncated or corrupt\?\)")
    ):
        read_trial(path)


def test_not_hdf5_at_all(tmp_path: Path) -> None:
    path = tmp_path / "notes.h5"
    path.write_text("frame,x,y\n0,1,2\n")
    with pytest.raises(TrialFormatError, match=at(path, r"is not a readable HDF5 file")):
        read_trial(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nothing\.h5"):
        read_trial(tmp_path / "nothing.h5")


def test_newer_format_version(tmp_path: Path) -> None:
    path = written(tmp_path)
    with h5py.File(path, "r+") as f:
        f.attrs["format_version"] = 2
    with pytest.raises(
        TrialFormatError,
        match=at(path, r"format_version 2 is newer than this software reads \(1\)"),
    ):
        read_trial(path)


def test_wrong_format_attribute(tmp_path: Path) -> None:
    path = written(tmp_path)
    with h5py.File(path, "r+") as f:
        f.attrs["format"] = "pose2sim"
    with pytest.raises(TrialFormatError, match=at(path, r"format is 'pose2sim'")):
        read_trial(path)


def test_keypoint_names_count_mismatch(tmp_path: Path) -> None:
    path = written(tmp_path)
    with h5py.File(path, "r+") as f:
        names = np.array(HINGELAB_KEYPOINTS[:33], dtype=object)
        f.attrs.create("keypoint_names", names, dtype=h5py.string_dtype())
    expected = (
        r"keypoints2d has shape \(4, 100, 37, 3\); expected \(C=4, T=100, J=33, 3\) "
        r"\(keypoint_names lists 33\)"
    )
    with pytest.raises(TrialFormatError, match=at(path, expected)):
        read_trial(path)


def test_camera_names_count_mismatch(tmp_path: Path) -> None:
    path = written(tmp_path)
    with h5py.File(path, "r+") as f:
        f.attrs.create("camera_names", np.array(CAMERAS[:3], object), dtype=h5py.string_dtype())
    with pytest.raises(TrialFormatError, match=r"\(camera_names lists 3\)"):
        read_trial(path)


def test_atomic_write_keeps_previous_file_on_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = written(tmp_path)
    before = path.read_bytes()
    create = h5py.Group.create_dataset

    def failing_create(self: h5py.Group, name: str, *args: object, **kwargs: object) -> object:
        if name == "points3d":  # keypoints2d is already written by then
            raise RuntimeError("disk full (simulated)")
        return create(self, name, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", failing_create)
    with pytest.raises(RuntimeError, match="disk full"):
        write_trial(path, make_trial(seed=5))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trial.h5"]


def test_atomic_write_cleans_up_when_fsync_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_fsync(fd: int) -> None:
        raise OSError("I/O error (simulated)")

    monkeypatch.setattr(trial_module.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="simulated"):
        write_trial(tmp_path / "new.h5", make_trial())
    assert list(tmp_path.iterdir()) == []


def test_datasets_are_chunked_with_unlimited_frames(tmp_path: Path) -> None:
    path = written(tmp_path)
    with h5py.File(path) as f:
        assert f["keypoints2d"].maxshape == (4, None, 37, 3)
        assert f["keypoints2d"].chunks == (1, 256, 37, 3)
        assert f["points3d"].maxshape == (None, 37, 3)
        assert f["reprojection_error"].maxshape == (None, 37)
        assert f["n_views"].maxshape == (None, 37)
        assert f["timestamps"].maxshape == (None,)
        assert f["timestamps"].chunks == (256,)
        assert f.attrs["format"] == "hingelab-trial"
        assert f.attrs["units"] == "m"


def batches(seed: int) -> list[dict[str, np.ndarray]]:
    """Three batches of consecutive frames (sizes 7, 300, 1) in appender argument form."""
    whole = make_arrays(seed, 308)
    edges = [(0, 7), (7, 307), (307, 308)]
    out = []
    for a, b in edges:
        batch = {k: v[a:b] for k, v in whole.items() if k != "keypoints2d"}
        batch["keypoints2d"] = whole["keypoints2d"][:, a:b]
        out.append(batch)
    return out


def open_appender(path: Path) -> TrialAppender:
    return TrialAppender(
        path,
        HINGELAB_KEYPOINTS,
        CAMERAS,
        60.0,
        TrialInfo(subject="Zoë"),
        calibration_toml="[cam]\n",
        extra_attrs={"detector": "blazepose"},
    )


def assert_frames(got: Trial, parts: list[dict[str, np.ndarray]], extra_ok: bool = False) -> None:
    """``got`` starts with exactly the frames of ``parts`` concatenated (and has no more)."""
    n = sum(len(p["timestamps"]) for p in parts)
    assert got.n_frames >= n if extra_ok else got.n_frames == n
    for name in ("timestamps", "points3d", "reprojection_error", "n_views", "keypoints2d"):
        axis = 1 if name == "keypoints2d" else 0
        want = np.concatenate([p[name] for p in parts], axis=axis)
        have = getattr(got, name)[:, :n] if axis else getattr(got, name)[:n]
        assert np.array_equal(have, want, equal_nan=want.dtype.kind == "f"), name


def test_appender_read_while_open_and_after_close(tmp_path: Path) -> None:
    path = tmp_path / "live.h5"
    parts = batches(3)
    with open_appender(path) as app:
        assert read_trial(path).n_frames == 0
        for i, part in enumerate(parts):
            app.append(**part)
            app.flush()
            assert_frames(read_trial(path), parts[: i + 1])
    back = read_trial(path)
    assert_frames(back, parts)
    # exact: fps is stored as float64
    assert (back.info.subject, back.fps, back.calibration_toml) == ("Zoë", 60.0, "[cam]\n")
    assert back.extra_attrs == {"detector": "blazepose"}


def test_appender_visible_to_another_process(tmp_path: Path) -> None:
    path = tmp_path / "live.h5"
    parts = batches(4)
    reader = (
        "from mocap.trial import read_trial; import sys; print(read_trial(sys.argv[1]).n_frames)"
    )
    with open_appender(path) as app:
        app.append(**parts[0])
        app.append(**parts[1])
        app.flush()
        out = subprocess.run(
            [sys.executable, "-c", reader, str(path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert int(out.stdout) == 307  # exact: 7 + 300 flushed frames


def test_appender_refuses_bad_batches(tmp_path: Path) -> None:
    path = tmp_path / "live.h5"
    parts = batches(5)
    with open_appender(path) as app:
        app.append(**parts[1])
        with pytest.raises(TrialFormatError, match="timestamps go back in time"):
            app.append(**parts[0])
        with pytest.raises(TrialFormatError, match="this appender needs points3d"):
            app.append(**{**parts[2], "points3d": None})
        bad = {**parts[2], "n_views": parts[2]["n_views"][:, :5]}
        with pytest.raises(
            TrialFormatError, match=r"n_views has shape \(1, 5\); expected \(T=1, J=37\)"
        ):
            app.append(**bad)
    with pytest.raises(FileExistsError, match=r"live\.h5"):
        open_appender(path)
    assert read_trial(path).n_frames == 300  # exact: only the accepted batch was written


def test_truncated_file_of_live_writer_fails_fast(tmp_path: Path) -> None:
    path, copy = tmp_path / "live.h5", tmp_path / "copy.h5"
    with open_appender(path) as app:
        app.append(**batches(8)[1])
        app.flush()
        shutil.copyfile(path, copy)  # still flagged as open for SWMR writing
    os.truncate(copy, copy.stat().st_size // 2)
    # In a subprocess: an HDF5 SWMR reader retries unreadable metadata for minutes.
    reader = "from mocap.trial import read_trial; import sys; read_trial(sys.argv[1])"
    proc = subprocess.run(
        [sys.executable, "-c", reader, str(copy)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "is not a readable HDF5 file (truncated or corrupt?)" in proc.stderr


WRITER = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    from mocap.trial import TrialAppender, TrialInfo
    data = np.load(sys.argv[2])
    names = [str(n) for n in data["names"]]
    cams = [str(c) for c in data["cams"]]
    app = TrialAppender(sys.argv[1], names, cams, 60.0, TrialInfo(subject="killed"))
    for i in range(3):
        app.append(**{k[2:]: data[k] for k in data.files if k.startswith(f"{i}_")})
        app.flush()
    if sys.argv[3] == "tail":  # a fourth batch, 10 s later, that is never flushed
        tail = {k[2:]: data[k] for k in data.files if k.startswith("0_")}
        app.append(**{**tail, "timestamps": tail["timestamps"] + 10.0})
    print("flushed", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
@pytest.mark.parametrize("tail", ["none", "tail"])
def test_reader_recovers_file_of_killed_writer(tmp_path: Path, tail: str) -> None:
    path = tmp_path / "killed.h5"
    parts = batches(6)
    flat = {f"{i}_{k}": v for i, p in enumerate(parts) for k, v in p.items()}
    np.savez(
        tmp_path / "batches.npz", names=np.array(HINGELAB_KEYPOINTS), cams=np.array(CAMERAS), **flat
    )
    proc = subprocess.run(
        [sys.executable, "-c", WRITER, str(path), str(tmp_path / "batches.npz"), tail],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert proc.stdout == "flushed\n"
    with h5py.File(path, "r", swmr=True) as f:  # the writer really died with SWMR flags set
        assert f.attrs["format"] == "hingelab-trial"
    with pytest.raises(OSError, match="already open for write"):
        h5py.File(path, "r").close()
    back = read_trial(path)
    assert back.info.subject == "killed"
    assert_frames(back, parts, extra_ok=tail == "tail")  # unflushed frames may or may not survive


# ----------------------------------------------------------------------------- /metrics


def make_metrics(n_frames: int = 100, n_reps: int = 2) -> TrialMetrics:
    """Per-frame series (float with NaN and inf, int) and a per-rep table (numbers, text)."""
    rng = np.random.default_rng(11)
    series = rng.normal(0, 30, n_frames)
    series[::7] = np.nan
    series[3] = np.inf
    return TrialMetrics(
        definitions_version="hinge-metrics-1",
        frames={"rep": np.arange(n_frames) % n_reps, "angle_deg": series},
        reps={
            "rep": np.arange(1, n_reps + 1),
            "start_s": rng.uniform(0, 10, n_reps),
            "pattern": np.array(["hinge", "squat"][:n_reps], dtype=object),
            "faults": np.array(["", "squat;knees_bent"][:n_reps], dtype=object),
            "ratio": np.array([np.inf, np.nan][:n_reps]),
        },
        units={"angle_deg": "deg", "start_s": "s"},
        attrs={"thresholds.knees_bent_deg": 35.0, "problems": "ears missing (Zoë)", "n": 3},
    )


def assert_same_metrics(a: TrialMetrics, b: TrialMetrics) -> None:
    """Same columns in the same order, bit-identical values, same units and attributes."""
    assert a.definitions_version == b.definitions_version
    assert a.software_version == b.software_version
    for kind in ("frames", "reps"):
        x, y = getattr(a, kind), getattr(b, kind)
        assert list(x) == list(y), kind
        for name in x:
            assert x[name].dtype == y[name].dtype, name
            if x[name].dtype == object:
                assert x[name].tolist() == y[name].tolist(), name
            else:
                assert np.array_equal(x[name], y[name], equal_nan=True), name
    assert {k: a.units.get(k, "") for k in [*a.frames, *a.reps]} == {
        k: b.units.get(k, "") for k in [*b.frames, *b.reps]
    }
    assert dict(a.attrs) == dict(b.attrs)


def test_metrics_round_trip(tmp_path: Path) -> None:
    original = make_trial(metrics=make_metrics())
    back = read_trial(write_trial(tmp_path / "t.h5", original))
    assert_same(original, back)
    assert back.metrics is not None
    assert_same_metrics(original.metrics, back.metrics)
    assert back.metrics.n_frames == 100
    assert back.metrics.n_reps == 2
    assert isinstance(back.metrics.attrs["n"], int)
    with h5py.File(tmp_path / "t.h5") as f:  # what other readers see
        assert f["metrics/reps/pattern"].asstr()[()].tolist() == ["hinge", "squat"]
        assert f["metrics/frames/angle_deg"].attrs["units"] == "deg"
        assert list(f["metrics/reps"].attrs["columns"]) == list(original.metrics.reps)


def test_file_without_metrics_reads_none(tmp_path: Path) -> None:
    path = written(tmp_path)
    with h5py.File(path) as f:
        assert "metrics" not in f
    assert read_trial(path).metrics is None


def test_write_metrics_keeps_everything_else(tmp_path: Path) -> None:
    path = written(tmp_path)
    path.chmod(0o640)
    with h5py.File(path, "r+") as f:
        f.create_group("other_tool").attrs["kept"] = 7  # unknown content survives
    before = read_trial(path)
    write_metrics(path, make_metrics())
    write_metrics(path, make_metrics(n_reps=1))  # replaces the previous /metrics
    back = read_trial(path)
    assert_same(before, back)
    assert back.metrics is not None
    assert_same_metrics(make_metrics(n_reps=1), back.metrics)
    with h5py.File(path) as f:
        assert f["other_tool"].attrs["kept"] == 7
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trial.h5"]


def test_write_metrics_refuses_other_frame_counts(tmp_path: Path) -> None:
    path = written(tmp_path)
    before = path.read_bytes()
    with pytest.raises(TrialFormatError, match=at(path, "metrics have 99 frames; timestamps")):
        write_metrics(path, make_metrics(n_frames=99))
    assert path.read_bytes() == before
    with pytest.raises(TrialFormatError, match="metrics have 99 frames; timestamps has 100"):
        make_trial(metrics=make_metrics(n_frames=99))


def test_write_metrics_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = written(tmp_path)
    before = path.read_bytes()

    def failing(f: h5py.File, metrics: TrialMetrics) -> None:
        f.create_group("metrics")
        raise RuntimeError("disk full (simulated)")

    monkeypatch.setattr(trial_module, "write_metrics_group", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        write_metrics(path, make_metrics())
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trial.h5"]


def test_new_3d_drops_old_metrics() -> None:
    trial = make_trial(metrics=make_metrics())
    assert trial.with_points3d(make_arrays(2, 100)["points3d"]).metrics is None


def test_broken_metrics_group_is_named(tmp_path: Path) -> None:
    path = written(tmp_path)
    with h5py.File(path, "r+") as f:
        f.create_group("metrics")
    with pytest.raises(TrialFormatError, match=at(path, "/metrics is not a group with a def")):
        read_trial(path)


def test_metrics_columns_are_checked() -> None:
    with pytest.raises(ValueError, match="metrics reps columns differ in length: \\[1, 2\\]"):
        TrialMetrics("v1", reps={"a": [1.0], "b": [1.0, 2.0]})
    with pytest.raises(ValueError, match="metrics column 'x' must be 1-D"):
        TrialMetrics("v1", frames={"x": np.zeros((2, 2))})
    with pytest.raises(ValueError, match="metrics column 'x' has dtype <U1; expected numbers"):
        TrialMetrics("v1", frames={"x": ["a"]})
