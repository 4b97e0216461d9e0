"""Per-frame OpenPose-style JSON folders (OpenPose, Pose2Sim, MMPose...) as a HingeLab trial.

Folder layout, as OpenPose and Pose2Sim write it: one subfolder per camera, one JSON file
per frame::

    pose/
        cam01_json/cam01_000000000000_keypoints.json, cam01_000000000001_keypoints.json, ...
        cam02_json/...

Each file holds ``{"people": [{"pose_keypoints_2d": [x0, y0, c0, x1, y1, c1, ...]}, ...]}``
(pixels, origin at the centre of the top-left pixel as in OpenCV; other keys are ignored).

- **Camera names**: the subfolder's name without a trailing ``_json``; subfolders are
  taken in natural order (``cam2`` before ``cam10``), as Pose2Sim matches them to the
  calibration.
- **Frame numbers**: the last run of digits in the file name (``..._000000000012_keypoints``
  is frame 12, Pose2Sim's ``cam01_000012.json`` too). The trial's frame 0 is the smallest
  frame number of any camera (kept as ``import.first_frame``); frames a camera has no
  file for, or no person in, are NaN.
- **Layout**: told by the number of keypoints per person: 17 COCO-17 (RTMPose/MMPose
  ``Body``, YOLO-pose...), 25 OpenPose BODY_25, 26 HALPE_26 (Pose2Sim's default
  ``Body_with_feet``), 33 BlazePose (MediaPipe). :data:`LAYOUTS` maps each to HingeLab's
  names (``docs/keypoint-formats.md`` has the table); keypoints a layout lacks stay NaN,
  and its keypoints HingeLab has no name for (neck, mid-hip, small toes...) are dropped.
- **Undetected keypoints**: confidence 0 or less (OpenPose writes 0, 0, 0): x and y NaN.
  Confidences are kept as written (RTMPose scores may exceed 1).
- **Several people**: per camera and frame, the person nearest (mean pixel distance over
  the keypoints both have) to the one chosen in the last frame that had anyone; the most
  confident one (highest mean confidence) on the first such frame or when no keypoint is
  shared. This follows one subject; it does not associate people across cameras (record
  one subject at a time, or run Pose2Sim's person association first).

Malformed files raise :class:`KeypointFolderError` naming the file.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from calibration.files import read_text
from mocap.skeleton import BLAZEPOSE_NAMES, HINGELAB_KEYPOINTS
from mocap.trial import Trial

FloatArray = NDArray[np.float64]

JSON_SUFFIX = "_json"
"""Suffix of the camera subfolders (removed from the camera names)."""


class KeypointFolderError(ValueError):
    """A keypoint folder or file that cannot be read; the message names it."""


@dataclass(frozen=True)
class Layout:
    """One detector's keypoint order and what each keypoint is called in HingeLab.

    Attributes
    ----------
    name : str
        Layout name, e.g. ``"BODY_25"``.
    source_names : tuple of str
        The K keypoint names in the order of the detector's output.
    targets : tuple of (str or None)
        For each of them, the HingeLab keypoint (``mocap.skeleton.HINGELAB_KEYPOINTS``) it
        becomes, or None when HingeLab has no such keypoint (it is dropped).
    """

    name: str
    source_names: tuple[str, ...]
    targets: tuple[str | None, ...]

    def __post_init__(self) -> None:
        if len(self.source_names) != len(self.targets):
            msg = f"layout {self.name}: {len(self.source_names)} names, {len(self.targets)} targets"
            raise ValueError(msg)
        unknown = [t for t in self.targets if t is not None and t not in HINGELAB_KEYPOINTS]
        named = [t for t in self.targets if t is not None]
        if unknown or len(set(named)) != len(named):
            msg = f"layout {self.name}: unknown or repeated targets {unknown or named}"
            raise ValueError(msg)

    @property
    def n_keypoints(self) -> int:
        """Number of keypoints K per person in this layout."""
        return len(self.source_names)


_COCO_17 = (
    ("nose", "nose"),
    ("left_eye", "left_eye"),
    ("right_eye", "right_eye"),
    ("left_ear", "left_ear"),
    ("right_ear", "right_ear"),
    ("left_shoulder", "left_shoulder"),
    ("right_shoulder", "right_shoulder"),
    ("left_elbow", "left_elbow"),
    ("right_elbow", "right_elbow"),
    ("left_wrist", "left_wrist"),
    ("right_wrist", "right_wrist"),
    ("left_hip", "left_hip"),
    ("right_hip", "right_hip"),
    ("left_knee", "left_knee"),
    ("right_knee", "right_knee"),
    ("left_ankle", "left_ankle"),
    ("right_ankle", "right_ankle"),
)
_HALPE_FEET = (  # after COCO-17's; names as MMPose's halpe26
    ("head", None),
    ("neck", None),
    ("hip", None),
    ("left_big_toe", "left_foot_index"),
    ("right_big_toe", "right_foot_index"),
    ("left_small_toe", None),
    ("right_small_toe", None),
    ("left_heel", "left_heel"),
    ("right_heel", "right_heel"),
)
_BODY_25 = (
    ("Nose", "nose"),
    ("Neck", None),
    ("RShoulder", "right_shoulder"),
    ("RElbow", "right_elbow"),
    ("RWrist", "right_wrist"),
    ("LShoulder", "left_shoulder"),
    ("LElbow", "left_elbow"),
    ("LWrist", "left_wrist"),
    ("MidHip", None),
    ("RHip", "right_hip"),
    ("RKnee", "right_knee"),
    ("RAnkle", "right_ankle"),
    ("LHip", "left_hip"),
    ("LKnee", "left_knee"),
    ("LAnkle", "left_ankle"),
    ("REye", "right_eye"),
    ("LEye", "left_eye"),
    ("REar", "right_ear"),
    ("LEar", "left_ear"),
    ("LBigToe", "left_foot_index"),
    ("LSmallToe", None),
    ("LHeel", "left_heel"),
    ("RBigToe", "right_foot_index"),
    ("RSmallToe", None),
    ("RHeel", "right_heel"),
)


def _layout(name: str, pairs: Sequence[tuple[str, str | None]]) -> Layout:
    return Layout(name, tuple(p[0] for p in pairs), tuple(p[1] for p in pairs))


LAYOUTS: Mapping[int, Layout] = MappingProxyType(
    {
        17: _layout("COCO_17", _COCO_17),
        25: _layout("BODY_25", _BODY_25),
        26: _layout("HALPE_26", _COCO_17 + _HALPE_FEET),
        33: _layout("BLAZEPOSE_33", [(n, n) for n in BLAZEPOSE_NAMES]),
    }
)
"""The supported layouts by their number of keypoints per person."""


# ----------------------------------------------------------------------------- public API


def is_openpose_folder(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` looks like a folder of per-camera OpenPose-style JSON folders.

    True for a directory with at least one subfolder holding ``*.json`` files, the first
    of which (in natural order) is a JSON object with a ``people`` list. Only that file is
    read, so a broken file elsewhere is found by :func:`read_openpose_folder`.
    """
    folder = Path(path)
    if not folder.is_dir():
        return False
    for sub in _natural_sorted(p for p in folder.iterdir() if p.is_dir()):
        files = _natural_sorted(sub.glob("*.json"))
        if files:
            try:
                return isinstance(_people_list(files[0]), list)
            except (KeypointFolderError, OSError):
                return False
    return False


def read_openpose_folder(
    folder: str | os.PathLike[str],
    camera_names: Sequence[str] | None = None,
    fps: float = 30.0,
) -> Trial:
    """Read per-frame OpenPose-style JSON files, one subfolder per camera, into a trial.

    Parameters
    ----------
    folder : path-like
        The folder holding the camera subfolders (e.g. Pose2Sim's ``pose``).
    camera_names : sequence of str, optional
        Either names of camera subfolders (without ``_json``) to read, in the order
        given; or, when they are not all subfolder names, exactly one name per subfolder,
        assigned in natural order (to use a calibration's names). Default: every
        subfolder, named after it.
    fps : float
        Frame rate of the recordings, Hz (the files do not say); timestamps are
        ``frame / fps`` from the first frame.

    Returns
    -------
    Trial
        ``keypoints2d`` (C, T, 37, 3) in HingeLab's keypoint order (``HINGELAB_KEYPOINTS``):
        pixel x, pixel y, confidence; NaN where the layout has no such keypoint or nothing
        was detected. ``extra_attrs``: ``import.format`` (``"openpose-json"``),
        ``import.layout`` and ``import.first_frame`` (the file frame number of frame 0).

    Raises
    ------
    FileNotFoundError
        If ``folder`` does not exist.
    KeypointFolderError
        Naming the folder or file: no camera subfolders, unknown camera names, malformed
        JSON, a layout that is not supported or changes between files, a frame number
        missing or repeated, or no person in any file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"keypoint folder not found: {folder}")
    subfolders, names = _cameras(folder, camera_names)
    cameras = [_read_camera(sub) for sub in subfolders]
    layout = _common_layout(folder, subfolders, cameras)
    first = min(min(frames) for frames in cameras if frames)
    last = max(max(frames) for frames in cameras if frames)
    keypoints = np.full((len(cameras), last - first + 1, len(HINGELAB_KEYPOINTS), 3), np.nan)
    target = [HINGELAB_KEYPOINTS.index(t) for t in layout.targets if t is not None]
    source = [i for i, t in enumerate(layout.targets) if t is not None]
    for c, frames in enumerate(cameras):
        for frame, person in frames.items():
            if person is not None:
                keypoints[c, frame - first, target] = person[source]
    return Trial(
        fps=fps,
        keypoint_names=HINGELAB_KEYPOINTS,
        camera_names=tuple(names),
        timestamps=np.arange(last - first + 1) / fps,
        keypoints2d=keypoints,
        extra_attrs={
            "import.format": "openpose-json",
            "import.layout": layout.name,
            "import.first_frame": first,
        },
    )


# ----------------------------------------------------------------------------- folders


def _natural_key(path: Path) -> list[int | str]:
    """Sort key putting ``cam2`` before ``cam10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _natural_sorted(paths: Iterable[Path]) -> list[Path]:
    """``paths`` in natural order of their names."""
    return sorted(paths, key=_natural_key)


def _camera_name(subfolder: Path) -> str:
    name = subfolder.name
    return name[: -len(JSON_SUFFIX)] if name.endswith(JSON_SUFFIX) and name != JSON_SUFFIX else name


def _cameras(folder: Path, camera_names: Sequence[str] | None) -> tuple[list[Path], list[str]]:
    """The camera subfolders to read and the camera names to give them."""
    subfolders = _natural_sorted(
        p for p in folder.iterdir() if p.is_dir() and any(p.glob("*.json"))
    )
    if not subfolders:
        msg = f"{folder}: no camera subfolders with .json files (expected e.g. cam01_json/)"
        raise KeypointFolderError(msg)
    found = {_camera_name(sub): sub for sub in subfolders}
    if camera_names is None:
        return subfolders, list(found)
    names = [str(n) for n in camera_names]
    if len(set(names)) != len(names) or not names:
        raise KeypointFolderError(f"{folder}: camera_names must be unique, got {names}")
    if all(n in found for n in names):
        return [found[n] for n in names], names
    if len(names) == len(subfolders):
        return subfolders, names
    msg = (
        f"{folder}: camera names {', '.join(names)} are neither camera subfolders "
        f"({', '.join(found)}) nor one name for each of them"
    )
    raise KeypointFolderError(msg)


def _frame_number(path: Path) -> int:
    """The last run of digits in the file name, e.g. 12 for ``cam01_000000000012_keypoints``."""
    digits = re.findall(r"\d+", path.stem)
    if not digits:
        raise KeypointFolderError(f"{path}: no frame number in the file name")
    return int(digits[-1])


# ----------------------------------------------------------------------------- files


def _people_list(path: Path) -> list[object]:
    """The ``people`` list of one JSON file, or a KeypointFolderError naming the file."""
    text = read_text(path, "keypoint file", KeypointFolderError)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise KeypointFolderError(f"{path}: not valid JSON: {exc}") from None
    people = data.get("people") if isinstance(data, dict) else None
    if not isinstance(people, list):
        raise KeypointFolderError(f'{path}: expected a JSON object with a "people" list')
    return people


def _people(path: Path) -> list[FloatArray]:
    """Each person's keypoints (K, 3) in one file; people without keypoints are skipped."""
    people = []
    for i, person in enumerate(_people_list(path)):
        values = person.get("pose_keypoints_2d") if isinstance(person, dict) else None
        if not isinstance(values, list):
            msg = f'{path}: person {i} has no "pose_keypoints_2d" list'
            raise KeypointFolderError(msg)
        if not values:
            continue
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        if not numeric or len(values) % 3:
            msg = (
                f"{path}: person {i}: pose_keypoints_2d must be numbers in x, y, "
                f"confidence triples; got {len(values)} values"
            )
            raise KeypointFolderError(msg)
        triples = np.array(values, dtype=np.float64).reshape(-1, 3)
        undetected = ~(triples[:, 2] > 0)
        triples[undetected, :2] = np.nan
        people.append(triples)
    return people


def _distance(a: FloatArray, b: FloatArray) -> float:
    """Mean pixel distance between two people (K, 3) over the keypoints both have."""
    shared = np.isfinite(a[:, :2]).all(axis=1) & np.isfinite(b[:, :2]).all(axis=1)
    if not shared.any():
        return math.inf
    return float(np.linalg.norm(a[shared, :2] - b[shared, :2], axis=1).mean())


def _choose(people: list[FloatArray], previous: FloatArray | None) -> FloatArray:
    """The person nearest to ``previous``, else the most confident one."""
    if previous is not None and len(people) > 1:
        distances = [_distance(p, previous) for p in people]
        if math.isfinite(min(distances)):
            return people[int(np.argmin(distances))]
    confidence = [float(np.nan_to_num(p[:, 2], nan=0.0).clip(min=0).mean()) for p in people]
    return people[int(np.argmax(confidence))]


def _read_camera(subfolder: Path) -> dict[int, FloatArray | None]:
    """Frame number -> the chosen person's keypoints (K, 3), None where nobody was found."""
    files: dict[int, Path] = {}
    for path in subfolder.glob("*.json"):
        frame = _frame_number(path)
        if frame in files:
            msg = f"{subfolder}: {files[frame].name} and {path.name} are both frame {frame}"
            raise KeypointFolderError(msg)
        files[frame] = path
    chosen: dict[int, FloatArray | None] = {}
    previous: FloatArray | None = None
    sizes: set[int] = set()
    for frame in sorted(files):
        people = _people(files[frame])
        sizes.update(len(p) for p in people)
        if not sizes <= LAYOUTS.keys():
            supported = ", ".join(f"{n} ({layout.name})" for n, layout in LAYOUTS.items())
            msg = (
                f"{files[frame]}: {max(sizes - LAYOUTS.keys())} keypoints per person; "
                f"supported layouts: {supported}"
            )
            raise KeypointFolderError(msg)
        if len(sizes) > 1:
            msg = (
                f"{files[frame]}: people with {sorted(sizes)} keypoints in one camera; "
                "expected one layout"
            )
            raise KeypointFolderError(msg)
        previous = _choose(people, previous) if people else previous
        chosen[frame] = previous if people else None
    return chosen


def _common_layout(
    folder: Path, subfolders: list[Path], cameras: list[dict[int, FloatArray | None]]
) -> Layout:
    """The one layout of every person in every camera, or a KeypointFolderError."""
    sizes = {
        sub.name: {len(p) for p in frames.values() if p is not None}
        for sub, frames in zip(subfolders, cameras, strict=True)
    }
    found = {size for camera in sizes.values() for size in camera}
    if not found:
        raise KeypointFolderError(f"{folder}: no person in any file of {len(subfolders)} cameras")
    if len(found) > 1:
        per_camera = ", ".join(f"{name}: {sorted(s)}" for name, s in sizes.items() if s)
        msg = f"{folder}: cameras disagree on the keypoints per person ({per_camera})"
        raise KeypointFolderError(msg)
    return LAYOUTS[found.pop()]
