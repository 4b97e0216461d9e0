"""The HDF5 trial file: 2D keypoints, 3D points and metadata of one recorded trial.

The layout is specified in ``docs/trial-format.md``. Axis order is (C, T, J, 3) for
``keypoints2d`` and (T, J, 3) for ``points3d``; NaN marks what was not detected or
reconstructed. :func:`write_trial` writes atomically, :class:`TrialAppender` writes live
(HDF5 SWMR) and :func:`read_trial` reads both, including the file of a killed writer.
"""

from __future__ import annotations

import dataclasses
import errno
import math
import numbers
import os
import shutil
import struct
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import h5py
import numpy as np
import numpy.typing as npt

from mocap.trial_metrics import (
    MetricsFormatError,
    TrialMetrics,
    read_metrics_group,
    write_metrics_group,
)
from mocap.version import software_version

FORMAT_NAME = "hingelab-trial"
FORMAT_VERSION = 1
CHUNK_FRAMES = 256
"""Chunk length along T: ~110 kB per chunk for 37 keypoints, cheap to append to."""

AttrValue = str | int | float | bool | tuple[int, ...] | tuple[float, ...]
# name -> (dtype, index of the T axis, labels of the axes); labels C, T, J name the sizes.
_DATASETS: dict[str, tuple[np.dtype, int, tuple[str, ...]]] = {
    "timestamps": (np.dtype(np.float64), 0, ("T",)),
    "keypoints2d": (np.dtype(np.float32), 1, ("C", "T", "J", "3")),
    "points3d": (np.dtype(np.float32), 0, ("T", "J", "3")),
    "reprojection_error": (np.dtype(np.float32), 0, ("T", "J")),
    "n_views": (np.dtype(np.uint8), 0, ("T", "J")),
}
_INFO_ATTRS = ("subject", "session", "trial", "condition")
_SIZE_SOURCE = {"C": "camera_names lists", "T": "timestamps has", "J": "keypoint_names lists"}


class TrialFormatError(ValueError):
    """A trial (in memory or on disk) violates the trial format; the message says how."""


@dataclass(frozen=True)
class TrialInfo:
    """Who and what was recorded: free-text labels, stored as root attributes."""

    subject: str = ""
    session: str = ""
    trial: str = ""
    condition: str = ""


@dataclass(frozen=True, eq=False)
class Trial:
    """One trial in memory; arrays are validated, converted and stored read-only.

    Attributes
    ----------
    fps : float
        Nominal frame rate in Hz (finite, > 0).
    keypoint_names, camera_names : tuple of str
        J keypoint names and C camera names, each unique.
    timestamps : ndarray, shape (T,), float64
        Seconds from the first frame, finite and non-decreasing.
    keypoints2d : ndarray, shape (C, T, J, 3), float32, or None
        Pixel x, pixel y, confidence; NaN x/y where not detected.
    points3d : ndarray, shape (T, J, 3), float32, or None
        Metres in the world frame, Z up; NaN where not reconstructed.
    reprojection_error, n_views : ndarray, shape (T, J), float32 / uint8, or None
        Pixels and cameras used per point (only together with ``points3d``).
    info, calibration_toml, extra_attrs, software_version
        Labels, calibration TOML text, processing choices and the writing software.
    metrics : TrialMetrics or None
        Metrics derived from the 3D (``/metrics``; per-frame series of length T and a
        per-rep table), or None.
    """

    fps: float
    keypoint_names: tuple[str, ...]
    camera_names: tuple[str, ...]
    timestamps: npt.NDArray[np.float64]
    keypoints2d: npt.NDArray[np.float32] | None = None
    points3d: npt.NDArray[np.float32] | None = None
    reprojection_error: npt.NDArray[np.float32] | None = None
    n_views: npt.NDArray[np.uint8] | None = None
    info: TrialInfo = TrialInfo()
    calibration_toml: str = ""
    extra_attrs: Mapping[str, AttrValue] = field(default_factory=dict)
    software_version: str = field(default_factory=software_version)
    metrics: TrialMetrics | None = None

    def __post_init__(self) -> None:
        fps = self.fps
        if isinstance(fps, bool) or not isinstance(fps, numbers.Real) or not 0 < fps < math.inf:
            raise TrialFormatError(f"fps must be a finite number > 0, got {fps!r}")
        set_ = object.__setattr__
        set_(self, "fps", float(fps))
        set_(self, "keypoint_names", _check_names("keypoint_names", self.keypoint_names, 1))
        set_(self, "camera_names", _check_names("camera_names", self.camera_names, 0))
        set_(self, "extra_attrs", _freeze_extra(self.extra_attrs))
        for name in _DATASETS:
            value = getattr(self, name)
            set_(self, name, None if value is None else _as_array(name, value))
        self._check_layout()

    def _check_layout(self) -> None:
        if self.keypoints2d is None and self.points3d is None:
            raise TrialFormatError("a trial needs keypoints2d or points3d (or both)")
        extras_3d = (self.reprojection_error, self.n_views)
        if self.points3d is None and any(a is not None for a in extras_3d):
            raise TrialFormatError("reprojection_error and n_views need points3d")
        self._check_metrics()
        if self.keypoints2d is not None and not self.camera_names:
            raise TrialFormatError("keypoints2d needs at least one name in camera_names")
        ts = self.timestamps
        if ts.ndim != 1 or not np.isfinite(ts).all() or np.any(np.diff(ts) < 0):
            raise TrialFormatError("timestamps must be finite, non-decreasing, of shape (T,)")
        sizes = {"C": self.n_cameras, "T": self.n_frames, "J": self.n_joints, "3": 3}
        for name, (_, _, labels) in _DATASETS.items():
            if getattr(self, name) is not None:
                _check_shape(name, getattr(self, name).shape, labels, sizes)

    def _check_metrics(self) -> None:
        """Metrics, if any, are a TrialMetrics whose series have one value per frame."""
        if self.metrics is None:
            return
        if not isinstance(self.metrics, TrialMetrics):
            raise TrialFormatError(f"metrics must be a TrialMetrics, got {self.metrics!r}")
        n = self.metrics.n_frames
        if n is not None and n != self.timestamps.shape[0]:
            msg = f"metrics have {n} frames; timestamps has {self.timestamps.shape[0]}"
            raise TrialFormatError(msg)

    @property
    def n_frames(self) -> int:
        """Number of frames T (length of ``timestamps``)."""
        return int(self.timestamps.shape[0])

    @property
    def n_joints(self) -> int:
        """Number of keypoints J (length of ``keypoint_names``)."""
        return len(self.keypoint_names)

    @property
    def n_cameras(self) -> int:
        """Number of cameras C (length of ``camera_names``)."""
        return len(self.camera_names)

    def with_points3d(
        self,
        points3d: npt.ArrayLike,
        reprojection_error: npt.ArrayLike | None = None,
        n_views: npt.ArrayLike | None = None,
        extra_attrs: Mapping[str, AttrValue] | None = None,
    ) -> Trial:
        """Return a copy carrying 3D results (from triangulation) and the current software.

        Metrics derived from the old 3D are dropped (``metrics`` is None).

        Parameters
        ----------
        points3d : array_like, shape (T, J, 3)
            Metres, world frame, Z up, NaN where not reconstructed.
        reprojection_error, n_views : array_like, shape (T, J), optional
            Pixels and number of cameras used per point.
        extra_attrs : mapping, optional
            Merged over (and overriding) the existing ``extra_attrs``.

        Returns
        -------
        Trial
        """
        new = {"points3d": points3d, "reprojection_error": reprojection_error, "n_views": n_views}
        merged = {**self.extra_attrs, **(extra_attrs or {})}
        return dataclasses.replace(
            self, **new, extra_attrs=merged, software_version=software_version(), metrics=None
        )


def _check_names(field_name: str, names: object, minimum: int) -> tuple[str, ...]:
    names = tuple(names) if isinstance(names, (list, tuple, np.ndarray)) else (None,)
    if not all(isinstance(n, str) and n for n in names):
        raise TrialFormatError(f"{field_name} must be a sequence of non-empty strings")
    if len(names) < minimum or len(set(names)) != len(names):
        raise TrialFormatError(f"{field_name} must hold >= {minimum} unique names, got {names}")
    return tuple(str(n) for n in names)


def _as_array(name: str, value: npt.ArrayLike) -> np.ndarray:
    """Return a read-only copy of ``value`` in the dtype of dataset ``name``."""
    dtype = _DATASETS[name][0]
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise TrialFormatError(f"{name} has dtype {arr.dtype}; expected numbers ({dtype})")
    if dtype == np.uint8 and arr.size:
        whole = np.isfinite(arr).all() and (arr == np.round(arr)).all()
        if not (whole and 0 <= arr.min() <= arr.max() <= 255):
            raise TrialFormatError(f"{name} must hold whole numbers 0..255")
    arr = np.array(arr, dtype=dtype)
    arr.setflags(write=False)
    return arr


def _check_shape(
    name: str, shape: tuple[int, ...], labels: tuple[str, ...], sizes: dict[str, int]
) -> None:
    """Raise unless ``shape`` matches ``labels`` (e.g. C, T, J, 3) sized by ``sizes``."""
    expected = tuple(sizes[label] for label in labels)
    if shape == expected:
        return
    text = ", ".join(label if label == "3" else f"{label}={sizes[label]}" for label in labels)
    why = [
        f"{_SIZE_SOURCE[label]} {sizes[label]}"
        for label, got in zip(labels, shape, strict=False)
        if label in _SIZE_SOURCE and got != sizes[label]
    ]
    hint = f" ({'; '.join(why)})" if len(shape) == len(labels) and why else ""
    raise TrialFormatError(f"{name} has shape {shape}; expected ({text}){hint}")


def _freeze_value(key: str, value: object) -> AttrValue:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, (str, bytes)):
        return value if isinstance(value, str) else value.decode("utf-8")
    arr = np.asarray(value) if isinstance(value, (list, tuple, np.ndarray)) else None
    if arr is not None and arr.ndim == 1 and (arr.dtype.kind in "iuf" or arr.size == 0):
        return tuple(arr.tolist())
    raise TrialFormatError(
        f"extra_attrs[{key!r}] is {value!r}; expected str, int, float, bool or a list of numbers"
    )


def _freeze_extra(extra: Mapping[str, object]) -> Mapping[str, AttrValue]:
    if not all(isinstance(key, str) and key for key in extra):
        raise TrialFormatError("extra_attrs keys must be non-empty strings")
    return MappingProxyType({key: _freeze_value(key, value) for key, value in extra.items()})


def _write_contents(f: h5py.File, trial: Trial) -> None:
    """Write every attribute and dataset of ``trial`` into the open, empty file ``f``."""
    f.attrs.update({"format": FORMAT_NAME, "format_version": np.int64(FORMAT_VERSION)})
    f.attrs.update({"fps": np.float64(trial.fps), "units": "m", "up_axis": "z"})
    f.attrs.update({**dataclasses.asdict(trial.info), "calibration_toml": trial.calibration_toml})
    f.attrs["software_version"] = trial.software_version
    for name in ("keypoint_names", "camera_names"):
        names = np.array(getattr(trial, name), dtype=object)
        f.attrs.create(name, names, dtype=h5py.string_dtype())
    processing = f.create_group("processing")
    for key, value in trial.extra_attrs.items():  # an empty list is stored as float64 (0,)
        as_list = isinstance(value, tuple)
        processing.attrs[key] = np.asarray(value, None if value else float) if as_list else value
    for name, (dtype, t_axis, _) in _DATASETS.items():
        data = getattr(trial, name)
        if data is not None:
            maxshape = tuple(None if i == t_axis else n for i, n in enumerate(data.shape))
            chunks = tuple(CHUNK_FRAMES if i == t_axis else n for i, n in enumerate(data.shape))
            chunks = (1, *chunks[1:]) if name == "keypoints2d" else chunks
            fill = 0 if dtype == np.uint8 else np.nan
            f.create_dataset(name, data=data, maxshape=maxshape, chunks=chunks, fillvalue=fill)
    if trial.metrics is not None:
        write_metrics_group(f, trial.metrics)


def write_trial(path: str | os.PathLike[str], trial: Trial) -> Path:
    """Write ``trial`` to ``path`` atomically (temp file, fsync, rename).

    Parameters
    ----------
    path : path-like
        Destination ``.h5`` file; an existing file is replaced only on success.
    trial : Trial
        Arrays keypoints2d (C, T, J, 3), points3d (T, J, 3), reprojection_error and
        n_views (T, J), timestamps (T,), whichever are present.

    Returns
    -------
    Path
        The written path.
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with h5py.File(tmp, "w") as f:
            _write_contents(f, trial)
        with tmp.open("rb") as stream:
            os.fsync(stream.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_metrics(path: str | os.PathLike[str], metrics: TrialMetrics) -> Path:
    """Store ``metrics`` as ``/metrics`` of the trial file at ``path``, atomically.

    The file is copied to a temporary file beside it, its ``/metrics`` group replaced
    there, and the copy fsynced and renamed over ``path``: everything else in the file is
    kept as it was, and on any error the original is untouched.

    Parameters
    ----------
    path : path-like
        An existing trial file, not open for writing.
    metrics : TrialMetrics
        Per-frame series of the file's T frames and a per-rep table.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    TrialFormatError
        If the file is not a trial, is a live file or has another number of frames.
    """
    path = Path(path)
    trial = read_trial(path)
    if _swmr_flagged(path):
        msg = f"{path}: is open for writing (or its writer died); metrics not written"
        raise TrialFormatError(msg)
    try:
        dataclasses.replace(trial, metrics=metrics)
    except TrialFormatError as exc:
        raise TrialFormatError(f"{path}: {exc}") from None
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        shutil.copyfile(path, tmp)
        shutil.copymode(path, tmp)
        with h5py.File(tmp, "r+") as f:
            write_metrics_group(f, metrics)
        with tmp.open("rb") as stream:
            os.fsync(stream.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _swmr_flagged(path: Path) -> bool:
    """Whether a SWMR writer has (or had, if killed) the file open and it is not truncated.

    Reads the version-3 superblock at offset 0: byte 11 holds the file consistency flags
    (bit 2 = SWMR write access) and bytes 28..35 the stored end-of-file address.
    """
    with path.open("rb") as stream:
        head = stream.read(36)
    if len(head) < 36 or head[:8] != b"\x89HDF\r\n\x1a\n" or head[8] < 3 or head[9] != 8:
        return False
    stored_eof = struct.unpack("<Q", head[28:36])[0]
    return bool(head[11] & 0x04) and path.stat().st_size >= stored_eof


def read_trial(path: str | os.PathLike[str]) -> Trial:
    """Read and validate a trial file, also one being written or left by a killed writer.

    Parameters
    ----------
    path : path-like
        The ``.h5`` trial file.

    Returns
    -------
    Trial
        keypoints2d (C, T, J, 3), points3d (T, J, 3), reprojection_error and n_views
        (T, J), timestamps (T,), whichever the file holds. Of a file open for (SWMR)
        writing, the frames complete in every dataset: at least those up to the last flush.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    TrialFormatError
        If the file is not a valid trial file; the message starts with the path.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(errno.ENOENT, "No such trial file", str(path))
    live = _swmr_flagged(path)
    try:
        with h5py.File(path, "r", swmr=live) as f:
            return _trial_from_file(f, live)
    except (TrialFormatError, MetricsFormatError) as exc:
        raise TrialFormatError(f"{path}: {exc}") from None
    except OSError as exc:
        msg = f"{path}: is not a readable HDF5 file (truncated or corrupt?): {exc}"
        raise TrialFormatError(msg) from None


def _trial_from_file(f: h5py.File, live: bool) -> Trial:
    _check_header(f)
    group = f.get("processing")
    return Trial(
        fps=float(f.attrs["fps"]),
        keypoint_names=_names(f.attrs, "keypoint_names"),
        camera_names=_names(f.attrs, "camera_names"),
        info=TrialInfo(*(_text(f.attrs, name) for name in _INFO_ATTRS)),
        calibration_toml=_text(f.attrs, "calibration_toml"),
        software_version=_text(f.attrs, "software_version"),
        extra_attrs=dict(group.attrs) if isinstance(group, h5py.Group) else {},
        metrics=None if live else read_metrics_group(f),  # a live file's are not final
        **_read_datasets(f, live),
    )


def _check_header(f: h5py.File) -> None:
    """Check the root attributes that say what the file is and how to read it."""
    for name in ("format", "format_version", "fps", "keypoint_names", "camera_names"):
        if name not in f.attrs:
            raise TrialFormatError(f"missing root attribute {name!r}")
    if _text(f.attrs, "format") != FORMAT_NAME:
        raise TrialFormatError(f"format is {f.attrs['format']!r}; expected {FORMAT_NAME!r}")
    version = f.attrs["format_version"]
    if not isinstance(version, np.integer) or version < 1:
        raise TrialFormatError(f"format_version is {version!r}; expected a whole number >= 1")
    if version > FORMAT_VERSION:
        raise TrialFormatError(
            f"format_version {version} is newer than this software reads ({FORMAT_VERSION}); "
            "please update HingeLab"
        )
    for name, required in (("units", "m"), ("up_axis", "z")):
        if _text(f.attrs, name) != required:
            raise TrialFormatError(f"{name} is {f.attrs.get(name)!r}; expected {required!r}")
    fps = f.attrs["fps"]
    if not isinstance(fps, (np.integer, np.floating)):
        raise TrialFormatError(f"attribute fps is {fps!r}; expected a number")


def _text(attrs: h5py.AttributeManager, name: str) -> str:
    """Return string attribute ``name`` ("" when absent)."""
    value = attrs.get(name, "")
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if not isinstance(value, str):
        raise TrialFormatError(f"attribute {name} is {value!r}; expected a string")
    return value


def _names(attrs: h5py.AttributeManager, name: str) -> tuple[str, ...]:
    """Return the 1-D string array attribute ``name`` as a tuple."""
    value = attrs[name]
    if not isinstance(value, np.ndarray) or value.ndim != 1 or value.dtype.kind not in "OSU":
        raise TrialFormatError(f"attribute {name} must be a 1-D array of strings")
    return tuple(v.decode("utf-8") if isinstance(v, bytes) else v for v in value.tolist())


def _read_datasets(f: h5py.File, live: bool) -> dict[str, np.ndarray]:
    """Read every dataset present; for a live file keep the frames complete in all of them.

    Returns
    -------
    dict
        Dataset name -> array, e.g. ``keypoints2d`` (C, T, J, 3), ``timestamps`` (T,).
    """
    found: dict[str, h5py.Dataset] = {}
    for name, (dtype, _, labels) in _DATASETS.items():
        ds = f.get(name)
        if ds is not None and not isinstance(ds, h5py.Dataset):
            raise TrialFormatError(f"{name} is not a dataset")
        if ds is not None and (ds.dtype.kind, ds.dtype.itemsize) != (dtype.kind, dtype.itemsize):
            raise TrialFormatError(f"{name} has dtype {ds.dtype}; expected {dtype}")
        if ds is not None and ds.ndim != len(labels):
            raise TrialFormatError(f"{name} has shape {ds.shape}; expected ({', '.join(labels)})")
        if ds is not None:
            found[name] = ds
    if "timestamps" not in found:
        raise TrialFormatError("missing dataset 'timestamps'")
    n = min(ds.shape[_DATASETS[name][1]] for name, ds in found.items()) if live else None
    data = {name: ds[_first_frames(name, n)] for name, ds in found.items()}
    if live:  # frames whose timestamp is still the NaN fill value are not written yet
        finite = np.isfinite(data["timestamps"])
        n = len(finite) if finite.all() else int(np.argmin(finite))
        data = {name: a[_first_frames(name, n)] for name, a in data.items()}
    return data


def _first_frames(name: str, n: int | None) -> tuple[slice, ...]:
    """Index selecting frames ``[:n]`` along the T axis of dataset ``name``."""
    return (slice(None),) * _DATASETS[name][1] + (slice(n),)


class TrialAppender:
    """Create a trial file at ``path`` (never overwriting one) and append frames live.

    Readers (:func:`read_trial`) see every frame up to the last :meth:`flush`, while the
    file is open and after the writing process died (HDF5 SWMR).

    Parameters
    ----------
    path : path-like
        The ``.h5`` file to create.
    keypoint_names, camera_names, fps, info, calibration_toml, extra_attrs
        As in :class:`Trial`: J keypoint and C camera names, Hz, labels, ...
    with_2d, with_3d : bool
        Whether frames carry keypoints2d (C, n, J, 3) and/or points3d (n, J, 3) with
        reprojection_error and n_views (n, J).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        keypoint_names: tuple[str, ...] | list[str],
        camera_names: tuple[str, ...] | list[str],
        fps: float,
        info: TrialInfo | None = None,
        calibration_toml: str = "",
        with_2d: bool = True,
        with_3d: bool = True,
        extra_attrs: Mapping[str, AttrValue] | None = None,
    ) -> None:
        self.path = Path(path)
        c, j = len(camera_names), len(keypoint_names)
        self._empty = Trial(
            fps,
            tuple(keypoint_names),
            tuple(camera_names),
            np.empty(0),
            keypoints2d=np.empty((c, 0, j, 3)) if with_2d else None,
            points3d=np.empty((0, j, 3)) if with_3d else None,
            reprojection_error=np.empty((0, j)) if with_3d else None,
            n_views=np.empty((0, j)) if with_3d else None,
            info=info or TrialInfo(),
            calibration_toml=calibration_toml,
            extra_attrs=extra_attrs or {},
        )
        if self.path.exists():
            raise FileExistsError(errno.EEXIST, "Trial file exists; not overwriting", str(path))
        self._last_time = -math.inf
        self._file: h5py.File | None = h5py.File(self.path, "w-", libver="latest")
        try:
            _write_contents(self._file, self._empty)
            self._file.swmr_mode = True
        except BaseException:
            self._file.close()
            self.path.unlink(missing_ok=True)
            raise

    def append(
        self,
        timestamps: npt.ArrayLike,
        keypoints2d: npt.ArrayLike | None = None,
        points3d: npt.ArrayLike | None = None,
        reprojection_error: npt.ArrayLike | None = None,
        n_views: npt.ArrayLike | None = None,
    ) -> None:
        """Append n frames; give exactly the arrays chosen by ``with_2d``/``with_3d``.

        Parameters
        ----------
        timestamps : array_like, shape (n,)
            Seconds, non-decreasing and not before the last appended frame.
        keypoints2d : array_like, shape (C, n, J, 3), optional
        points3d : array_like, shape (n, J, 3), optional
        reprojection_error, n_views : array_like, shape (n, J), optional
        """
        if self._file is None:
            raise ValueError(f"{self.path}: the appender is closed")
        given = {
            "keypoints2d": keypoints2d,
            "points3d": points3d,
            "reprojection_error": reprojection_error,
            "n_views": n_views,
        }
        for name, value in given.items():
            if (value is None) != (getattr(self._empty, name) is None):
                need = "needs" if value is None else "takes no"
                raise TrialFormatError(f"{self.path}: this appender {need} {name}")
        batch = dataclasses.replace(self._empty, timestamps=timestamps, **given)
        if batch.n_frames and batch.timestamps[0] < self._last_time:
            raise TrialFormatError(f"{self.path}: timestamps go back in time")
        self._last_time = float(batch.timestamps[-1]) if batch.n_frames else self._last_time
        for name in [*given, "timestamps"]:  # timestamps last: they mark frames as complete
            data = getattr(batch, name)
            if data is not None:
                ds, t_axis = self._file[name], _DATASETS[name][1]
                start = ds.shape[t_axis]
                ds.resize(start + batch.n_frames, axis=t_axis)
                ds[(slice(None),) * t_axis + (slice(start, None),)] = data

    def flush(self) -> None:
        """Make appended frames visible to readers; they then survive the writer dying.

        No fsync: a power cut may still lose what the OS had not yet written to disk.
        """
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        """Flush and close the file; further appends raise ``ValueError``."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> TrialAppender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
