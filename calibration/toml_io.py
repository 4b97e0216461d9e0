"""Read and write camera calibration files in the TOML layout of anipose and Pose2Sim.

One table per camera (``name``, ``size``, ``matrix``, ``distortions``, ``rotation``,
``translation``, ``fisheye``) and a ``[metadata]`` table. Floats are written with ``repr`` so
that reading a file back gives bit-identical arrays.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from calibration.camera import Camera, CameraRig
from calibration.files import atomic_write_text, read_text
from mocap.version import software_version  # stdlib only

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

_UNIT_TO_METRES = {"m": 1.0, "cm": 0.01, "mm": 0.001}
_UP_AXES = ("x", "y", "z", "-x", "-y", "-z")
_NOT_CAMERAS = ("metadata", "capture_volume", "charuco", "checkerboard")
"""Top-level tables that are not cameras (Pose2Sim writes the last three in Config files)."""
_KNOWN = ("units", "up_axis", "errors", "created", "software")
_SCALAR = (str, bool, int, float)
_ESCAPES = {i: f"\\u{i:04X}" for i in (*range(0x20), 0x7F)}  # control characters
_ESCAPES |= {ord('"'): '\\"', ord("\\"): "\\\\", ord("\n"): "\\n", ord("\t"): "\\t"}
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class CalibrationFormatError(ValueError):
    """A calibration file that cannot be read; the message names file, table and field."""


@dataclass(frozen=True)
class CalibrationMetadata:
    """What a calibration file says about itself.

    Attributes
    ----------
    units : str
        Length unit of the translations; always "m" in memory (files in mm or cm are converted).
    up_axis : str
        World axis pointing up: "x", "y", "z" or one of them negated.
    errors : Mapping[str, float]
        Per-camera RMS reprojection error in pixels, keyed by camera name (read-only).
    created : str
        ISO 8601 UTC time the calibration was made ("" when unknown).
    software : str
        Software and version that made it ("" when unknown).
    extra : Mapping[str, str | bool | int | float]
        Other scalar ``[metadata]`` keys, kept for the round trip (e.g. Pose2Sim's ``adjusted``).
    """

    units: str = "m"
    up_axis: str = "z"
    errors: Mapping[str, float] = field(default_factory=dict, hash=False)
    created: str = ""
    software: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.units != "m":
            raise ValueError(f"metadata units must be 'm' (rigs hold metres), got {self.units!r}")
        if self.up_axis not in _UP_AXES:
            raise ValueError(f"metadata up_axis must be one of {_UP_AXES}, got {self.up_axis!r}")
        clash = [k for k in self.extra if k in _KNOWN]
        bad = [k for k, v in self.extra.items() if not isinstance(v, _SCALAR)]
        if clash or bad:
            raise ValueError(
                f"metadata extra: {clash} are fields, {bad} are not str/bool/int/float"
            )
        errors = {str(k): float(v) for k, v in self.errors.items()}
        object.__setattr__(self, "errors", MappingProxyType(errors))
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    @classmethod
    def now(cls, **fields: Any) -> CalibrationMetadata:
        """Metadata stamped with the current UTC time and this software's version.

        Parameters
        ----------
        **fields
            Other fields (``errors``, ``up_axis``, ``extra``...).

        Returns
        -------
        CalibrationMetadata
        """
        created = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        fields.setdefault("software", software_version())
        return cls(created=created.replace("+00:00", "Z"), **fields)


# ----------------------------------------------------------------------------- writing


def _toml_string(text: str) -> str:
    """Return ``text`` as a TOML basic string, quotes included."""
    return '"' + text.translate(_ESCAPES) + '"'


def _toml_key(key: str) -> str:
    """Return ``key`` bare when TOML allows it, else quoted."""
    return key if _BARE_KEY.fullmatch(key) else _toml_string(key)


def _toml_value(value: Any) -> str:
    """Return a TOML literal for a str, bool, int, float or 1-D sequence of floats."""
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))  # shortest text that reads back bit-identical; nan/inf too
    return "[" + ", ".join(_toml_value(float(v)) for v in value) + "]"


def _camera_table(table: str, cam: Camera) -> list[str]:
    """Lines of the ``[table]`` describing ``cam``."""
    rows = [f"    {_toml_value(row)}," for row in cam.matrix]
    return [
        f"[{table}]",
        f"name = {_toml_string(cam.name)}",
        f"size = [{cam.size[0]}, {cam.size[1]}]",
        "matrix = [",
        *rows,
        "]",
        f"distortions = {_toml_value(cam.distortion)}",
        f"rotation = {_toml_value(cam.rotation)}",
        f"translation = {_toml_value(cam.translation)}",
        f"fisheye = {_toml_value(cam.fisheye)}",
        "",
    ]


def _metadata_table(meta: CalibrationMetadata) -> list[str]:
    """Lines of ``[metadata]`` (plus ``[metadata.errors]``), readable by Pose2Sim."""
    extra = dict(meta.extra)
    extra.setdefault("adjusted", False)
    errors = list(meta.errors.values())
    extra["error"] = sum(errors) / len(errors) if errors else float(extra.get("error", 0.0))
    known = {"units": meta.units, "up_axis": meta.up_axis}
    known |= {"created": meta.created, "software": meta.software}
    lines = ["[metadata]"] + [f"{k} = {_toml_value(v)}" for k, v in known.items()]
    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in extra.items()]
    if meta.errors:
        lines += ["", "[metadata.errors]"]
        lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in meta.errors.items()]
    return [*lines, ""]


def calibration_to_toml(rig: CameraRig, metadata: CalibrationMetadata) -> str:
    """Serialise a rig and its metadata to TOML text.

    Parameters
    ----------
    rig : CameraRig
        C cameras, written as tables ``[cam_00]``, ``[cam_01]``... in rig order (zero-padded
        so that anipose, which sorts table names, keeps the order).
    metadata : CalibrationMetadata
        Its ``errors`` may only name cameras of ``rig``.

    Returns
    -------
    str
        UTF-8 TOML text.
    """
    unknown = sorted(set(metadata.errors) - set(rig.names))
    if unknown:
        raise ValueError(f"metadata errors name cameras not in the rig: {', '.join(unknown)}")
    width = max(2, len(str(len(rig) - 1)))
    lines = ["# Camera calibration: x_cam = R(rotation) x_world + translation, metres.", ""]
    for i, cam in enumerate(rig):
        lines += _camera_table(f"cam_{i:0{width}d}", cam)
    return "\n".join(lines + _metadata_table(metadata))


def save_calibration(
    path: str | os.PathLike[str], rig: CameraRig, metadata: CalibrationMetadata | None = None
) -> None:
    """Write a calibration file atomically (temporary file in the same folder, then rename).

    Parameters
    ----------
    path : str or PathLike
        Destination; an existing file is replaced only once the new one is fully written.
    rig : CameraRig
        The C cameras.
    metadata : CalibrationMetadata, optional
        Defaults to :meth:`CalibrationMetadata.now` (current UTC time, software version).
    """
    text = calibration_to_toml(rig, CalibrationMetadata.now() if metadata is None else metadata)
    atomic_write_text(path, text)


# ----------------------------------------------------------------------------- reading


def _fail(source: str, table: str, key: str, message: str) -> CalibrationFormatError:
    """Build the error for field ``key`` of ``[table]`` in ``source``."""
    return CalibrationFormatError(f"{source}: table [{table}], field {key!r}: {message}")


def _numbers(value: Any, where: tuple[str, str, str], lengths: tuple[int, ...]) -> list[float]:
    """Check ``value`` is a list of numbers whose length is one of ``lengths``."""
    expect = " or ".join(map(str, lengths))
    if not isinstance(value, list) or len(value) not in lengths:
        got = f"{len(value)} items" if isinstance(value, list) else repr(value)
        raise _fail(*where, f"expected a list of {expect} numbers, got {got}")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise _fail(*where, f"expected a list of {expect} numbers, got {value!r}")
    return [float(v) for v in value]


def _matrix(value: Any, where: tuple[str, str, str]) -> list[list[float]]:
    """Check ``value`` is 3 rows of 3 numbers."""
    if not isinstance(value, list) or len(value) != 3:
        got = f"{len(value)} rows" if isinstance(value, list) else repr(value)
        raise _fail(*where, f"expected 3 rows of 3 numbers, got {got}")
    try:
        return [_numbers(row, where, (3,)) for row in value]
    except CalibrationFormatError:
        raise _fail(*where, f"expected 3 rows of 3 numbers, got {value!r}") from None


def _camera(source: str, table: str, data: dict[str, Any], scale: float) -> Camera:
    """Build the camera of ``[table]``; translations are multiplied by ``scale`` (to metres)."""
    for key in ("size", "matrix", "distortions", "rotation", "translation"):
        if key not in data:
            raise _fail(source, table, key, "missing")
    name = data.get("name", table)
    if not isinstance(name, str) or not name:
        raise _fail(source, table, "name", f"expected a non-empty string, got {name!r}")
    fisheye = data.get("fisheye", False)
    if not isinstance(fisheye, bool):
        raise _fail(source, table, "fisheye", f"expected true or false, got {fisheye!r}")
    fields = [
        _numbers(data["size"], (source, table, "size"), (2,)),
        _matrix(data["matrix"], (source, table, "matrix")),
        _numbers(data["distortions"], (source, table, "distortions"), (4,) if fisheye else (4, 5)),
        _numbers(data["rotation"], (source, table, "rotation"), (3,)),
        np.array(_numbers(data["translation"], (source, table, "translation"), (3,))) * scale,
    ]
    try:
        return Camera(name, *fields, fisheye=fisheye)
    except ValueError as exc:
        raise CalibrationFormatError(f"{source}: table [{table}]: {exc}") from None


def _scale(source: str, meta: Any) -> float:
    """Return the factor from the units of ``[metadata]`` to metres."""
    if not isinstance(meta, dict):
        raise CalibrationFormatError(f"{source}: metadata must be a table, got {meta!r}")
    units = meta.get("units", "m")
    if not isinstance(units, str) or units not in _UNIT_TO_METRES:
        raise _fail(source, "metadata", "units", f"expected one of m, cm, mm, got {units!r}")
    return _UNIT_TO_METRES[units]


def _errors(source: str, errors: Any, names: tuple[str, ...]) -> dict[str, float]:
    """Check ``errors`` is a table of camera name = RMS pixels for cameras in ``names``."""
    where = (source, "metadata", "errors")
    if not isinstance(errors, dict):
        raise _fail(*where, f"expected a table of camera name = RMS px, got {errors!r}")
    unknown = sorted(set(errors) - set(names))
    if unknown:
        raise _fail(*where, f"names cameras not in the file: {', '.join(unknown)}")
    values = _numbers(list(errors.values()), where, (len(errors),))
    return dict(zip(errors, values, strict=True))


def _metadata(source: str, meta: dict[str, Any], names: tuple[str, ...]) -> CalibrationMetadata:
    """Parse ``[metadata]`` (already checked to be a table by :func:`_scale`)."""
    up = meta.get("up_axis", "z")
    if up not in _UP_AXES:
        raise _fail(source, "metadata", "up_axis", f"expected one of {_UP_AXES}, got {up!r}")
    errors = _errors(source, meta.get("errors", {}), names)
    text = {k: meta.get(k, "") for k in ("created", "software")}
    for key, value in text.items():
        if not isinstance(value, (str, dt.datetime)):
            raise _fail(source, "metadata", key, f"expected a string, got {value!r}")
        text[key] = value if isinstance(value, str) else value.isoformat()
    skip = {*_KNOWN, "error"} if errors else set(_KNOWN)
    extra = {k: v for k, v in meta.items() if k not in skip and isinstance(v, _SCALAR)}
    return CalibrationMetadata("m", up, errors, text["created"], text["software"], extra)


def _check_unique(source: str, tables: list[str], cams: list[Camera]) -> None:
    """Refuse two tables describing cameras of the same name."""
    seen: dict[str, str] = {}
    for table, cam in zip(tables, cams, strict=True):
        if cam.name in seen:
            raise CalibrationFormatError(
                f"{source}: tables [{seen[cam.name]}] and [{table}], field 'name': "
                f"both cameras are named {cam.name!r}"
            )
        seen[cam.name] = table


def calibration_from_toml(
    text: str, source: str = "<string>"
) -> tuple[CameraRig, CalibrationMetadata]:
    """Parse calibration TOML (ours, anipose's or Pose2Sim's).

    Parameters
    ----------
    text : str
        TOML text.
    source : str
        File name used in error messages.

    Returns
    -------
    rig : CameraRig
        The C cameras in file order; translations in metres (converted from mm or cm).
    metadata : CalibrationMetadata
        Defaults for whatever ``[metadata]`` lacks.
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CalibrationFormatError(f"{source}: not valid TOML: {exc}") from None
    tables = {k: v for k, v in doc.items() if isinstance(v, dict) and k not in _NOT_CAMERAS}
    if not tables:
        raise CalibrationFormatError(
            f"{source}: no camera tables (expected tables like [cam_00] with fields name, "
            "size, matrix, distortions, rotation, translation)"
        )
    meta = doc.get("metadata", {})
    scale = _scale(source, meta)
    cams = [_camera(source, table, data, scale) for table, data in tables.items()]
    _check_unique(source, list(tables), cams)
    return CameraRig(tuple(cams)), _metadata(source, meta, tuple(c.name for c in cams))


def load_calibration(path: str | os.PathLike[str]) -> tuple[CameraRig, CalibrationMetadata]:
    """Read a calibration file.

    Parameters
    ----------
    path : str or PathLike
        A TOML file as written by :func:`save_calibration`, anipose or Pose2Sim.

    Returns
    -------
    rig : CameraRig
        The C cameras, translations in metres.
    metadata : CalibrationMetadata
    """
    text = read_text(path, "calibration file", CalibrationFormatError)
    return calibration_from_toml(text, source=str(path))
