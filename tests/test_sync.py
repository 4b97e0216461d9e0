"""Frame timestamps and pairing by time, against known synchronized sets."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from mocap.sync import (
    FrameTimes,
    TimestampError,
    estimate_period,
    find_timestamps,
    pair_frames,
    read_timestamps,
)

PERIOD = 1 / 30
N_SETS = 200
DROPPED_B = (10, 11, 57)
LAST_SET_C = 149  # camera c stops recording after this set


def _session(seed: int = 0) -> tuple[dict[str, FrameTimes], dict[str, dict[int, int]]]:
    """Three cameras at 30 fps with known sets: b drops frames, c stops early.

    Clock offsets up to 1 ms and +-3 ms jitter; frames of each camera are numbered 0, 1,
    2... as recorded. Returns the times and the true frame -> set mapping. The largest
    spread of a set is 2 ms + 6 ms = 8 ms, below a quarter period (8.3 ms), so pairing
    must be exact.
    """
    rng = np.random.default_rng(seed)
    sets = {
        "a": np.arange(N_SETS),
        "b": np.setdiff1d(np.arange(N_SETS), DROPPED_B),
        "c": np.arange(LAST_SET_C + 1),
    }
    times, truth = {}, {}
    for name, seen in sets.items():
        offset = rng.uniform(-0.001, 0.001)
        t = 100.0 + seen * PERIOD + offset + rng.uniform(-0.003, 0.003, len(seen))
        times[name] = FrameTimes(name, np.arange(len(seen)), t)
        truth[name] = dict(enumerate(seen.tolist()))
    return times, truth


def test_pairing_recovers_the_true_sets_despite_jitter_drops_and_an_early_stop() -> None:
    """Exact: every set spreads less than a quarter period (see ``_session``)."""
    times, truth = _session()
    pairing = pair_frames(times)
    assert pairing.n_sets == N_SETS
    for name in times:
        assert dict(pairing.set_of[name]) == truth[name], name
    assert dict(pairing.unpaired) == {"a": 0, "b": 0, "c": 0}
    # the median of 2-3 frames lies within the 4 ms bound of offset plus jitter
    expected = 100.0 + np.arange(N_SETS) * PERIOD
    assert np.max(np.abs(pairing.set_times - expected)) < 0.004


def test_sets_seen_by_too_few_cameras_are_dropped_and_their_frames_counted() -> None:
    """With min_cameras=3 the sets b dropped (3) and those after c stopped (50) go.

    Exact counts: a loses 53 frames, b the 50 after c stopped, c the 3 that b dropped.
    """
    times, truth = _session(seed=1)
    pairing = pair_frames(times, min_cameras=3)
    gone = set(DROPPED_B) | set(range(LAST_SET_C + 1, N_SETS))
    assert pairing.n_sets == N_SETS - len(gone)
    assert dict(pairing.unpaired) == {"a": 53, "b": 50, "c": 3}
    renumber = {s: i for i, s in enumerate(sorted(set(range(N_SETS)) - gone))}
    for name in times:
        kept = {f: renumber[s] for f, s in truth[name].items() if s not in gone}
        assert dict(pairing.set_of[name]) == kept, name


def test_a_repeated_frame_is_unpaired_and_the_nearer_one_kept() -> None:
    """Camera a delivers set 20 twice (0.5 ms and 4 ms late): the 4 ms one is unpaired.

    The set's median is then 0.5 ms (times 0, 0.5 and 4 ms), the nearer of a's two frames.
    """
    base = np.arange(50) * PERIOD
    a_times = np.sort(np.append(base, [20 * PERIOD + 0.004]))
    a_times[20] = 20 * PERIOD + 0.0005
    times = {
        "a": FrameTimes("a", np.arange(51), a_times),
        "b": FrameTimes("b", np.arange(50), base),
    }
    pairing = pair_frames(times)
    assert pairing.n_sets == 50
    assert dict(pairing.unpaired) == {"a": 1, "b": 0}
    expected_a = {f: f for f in range(21)} | {f: f - 1 for f in range(22, 51)}
    assert dict(pairing.set_of["a"]) == expected_a


def test_period_is_the_median_interval_per_frame_index() -> None:
    """Drops that keep their frame index do not lengthen the estimate: exact to rounding."""
    frames = np.setdiff1d(np.arange(100), [5, 6, 40])
    times = {"a": FrameTimes("a", frames, frames * 0.02)}
    assert estimate_period(times) == pytest.approx(0.02, rel=1e-12)


def _write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_caliscope_layout_numbers_frames_in_row_order(tmp_path: Path) -> None:
    """cam_id N becomes camera cam_N; its k-th row is its frame k (exact)."""
    rows = ["7,1,0.5", "7,0,0.51", "8,0,0.6", "8,1,0.62", "9,1,0.7"]
    path = _write(tmp_path / "timestamps.csv", "sync_index,cam_id,frame_time", rows)
    times = read_timestamps(path)
    assert list(times) == ["cam_0", "cam_1"]
    assert times["cam_0"].frames.tolist() == [0, 1]
    assert times["cam_1"].times.tolist() == [0.5, 0.62, 0.7]


def test_per_camera_files_are_found_and_other_csv_files_ignored(tmp_path: Path) -> None:
    """``<camera>.csv`` with ``frame,time`` is read; caliscope's xy.csv is not a camera."""
    _write(tmp_path / "left.csv", "frame,time", ["0,1.0", "2,1.1"])
    _write(tmp_path / "right.csv", "camera,frame,time", ["right,0,1.01", "right,1,1.06"])
    _write(tmp_path / "xy.csv", "sync_index,port,img_loc_x", ["0,0,1.0"])
    times = find_timestamps(tmp_path, ["left", "right"])
    assert times is not None
    assert times["left"].frames.tolist() == [0, 2]
    assert times["right"].times.tolist() == [1.01, 1.06]
    assert find_timestamps(tmp_path / "xy_only", []) is None  # no folder, no timestamps


def test_single_file_layout_with_camera_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "timestamps.csv", "camera,frame,time", ["b,1,0.2", "b,0,0.1"])
    times = read_timestamps(path)
    assert times["b"].frames.tolist() == [0, 1]  # sorted by frame
    assert times["b"].times.tolist() == [0.1, 0.2]


@pytest.mark.parametrize(
    ("cameras", "message"),
    [
        (["cam_0"], r"timestamps\.csv: camera 'cam_1' has timestamps but no video"),
        (["cam_0", "cam_1", "cam_2"], r"timestamps\.csv: no timestamps for camera 'cam_2'"),
    ],
)
def test_cameras_must_match_the_videos(tmp_path: Path, cameras: list[str], message: str) -> None:
    _write(tmp_path / "timestamps.csv", "sync_index,cam_id,frame_time", ["0,0,0.0", "0,1,0.0"])
    with pytest.raises(TimestampError, match=message):
        find_timestamps(tmp_path, cameras)


@pytest.mark.parametrize(
    ("header", "row", "message"),
    [
        ("sync_index,cam_id,frame_time", "0,zero,1.0", r"t\.csv line 2: expected an integer"),
        ("camera,frame,time", "a,0,soon", r"t\.csv line 2: expected a number, got 'soon'"),
        ("camera,frame,time", "a,0", r"t\.csv line 2: 2 fields, the header has 3"),
        ("cam,when", "a,0", r"t\.csv: unknown header 'cam,when'"),
    ],
)
def test_bad_files_are_named_with_the_line(
    tmp_path: Path, header: str, row: str, message: str
) -> None:
    with pytest.raises(TimestampError, match=message):
        read_timestamps(_write(tmp_path / "t.csv", header, [row]))


def test_time_going_backwards_names_the_camera(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", "camera,frame,time", ["a,0,1.0", "a,1,0.9"])
    with pytest.raises(TimestampError, match=r"t\.csv: camera 'a': times must not decrease"):
        read_timestamps(path)


@pytest.mark.realdata
def test_caliscope_timestamps_pair_as_caliscope_did(shared_datasets: Path) -> None:
    """Our time pairing reproduces caliscope's sync_index exactly.

    48 frames per camera at 6 fps: a set's frames spread up to 46 ms (USB jitter), below
    half the 167 ms period, and a set starts at least 164 ms after the previous one and
    121 ms after its last frame, so no frame can fall into a neighbouring set.
    """
    path = shared_datasets / "caliscope_4cam_charuco/calibration/extrinsic/timestamps.csv"
    times = read_timestamps(path)
    assert {name: len(t) for name, t in times.items()} == {f"cam_{i}": 48 for i in range(4)}
    pairing = pair_frames(times)
    assert pairing.period_s == pytest.approx(1 / 6, rel=0.01)  # median interval, +-1 %
    assert pairing.n_sets == 48
    assert dict(pairing.unpaired) == {f"cam_{i}": 0 for i in range(4)}
    with path.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    first = min(int(row["sync_index"]) for row in rows)
    seen: Counter[str] = Counter()
    for row in rows:
        camera = f"cam_{row['cam_id']}"
        frame = seen[camera]
        seen[camera] += 1
        assert pairing.set_of[camera][frame] == int(row["sync_index"]) - first, (camera, frame)
