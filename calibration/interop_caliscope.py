"""Read and write caliscope's ``camera_array.toml``.

caliscope (https://github.com/mprib/caliscope) stores one ``[cameras.<id>]`` table per camera:
``cam_id``, ``size``, ``matrix``, ``distortions`` (OpenCV), ``rotation`` (3x3 matrix or
Rodrigues vector, world to camera), ``translation`` (metres), ``error`` (RMS reprojection
error of the intrinsic calibration, pixels), ``rotation_count``, ``ignore`` and ``fisheye``.

``rotation_count`` (quarter turns) is display-only in caliscope: its GUI turns the frames
before showing them, while the trackers detect points on the frames as stored and the
intrinsics and extrinsics describe the stored (unrotated) frames. So the parameters are used
as they are; the count is kept in :attr:`CalibrationMetadata.extra` for the way back.
Evidence: caliscope's own ChArUco detections of its 4-camera test session reproject with
0.7-1.0 px RMS in every camera, including the two with ``rotation_count`` -1 and 1 (see
``tests/test_interop.py``).
"""

from __future__ import annotations

import os
import re
import warnings
from typing import Any

import numpy as np

from calibration.camera import Camera, CameraRig
from calibration.files import atomic_write_text, read_text
from calibration.toml_io import CalibrationFormatError, CalibrationMetadata

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROTATION_COUNT_KEY = "rotation_count.{name}"
"""Metadata ``extra`` key holding caliscope's display rotation of camera ``name``."""
IGNORED_KEY = "caliscope_ignored"
"""Metadata ``extra`` key listing the cameras the file marks ``ignore = true`` (left out)."""
_CAM_NAME = re.compile(r"cam_(\d+)")


def _fail(
    source: str, where: tuple[str, str], field: str | None, message: str
) -> CalibrationFormatError:
    """Error naming the file, the camera (and its table) and the field."""
    table, name = where
    what = "" if field is None else f", field {field!r}"
    return CalibrationFormatError(f"{source}: camera {name!r} (table [{table}]){what}: {message}")


def _numbers(
    source: str, where: tuple[str, str], data: dict[str, Any], field: str, shapes: tuple
) -> np.ndarray:
    """``data[field]`` as a float array of one of ``shapes`` (tuples), else the error."""
    if field not in data:
        raise _fail(source, where, field, "missing")
    value = data[field]
    try:
        arr = np.array(value, dtype=object)  # ragged lists give a 1-D array of lists
    except ValueError:  # or, for some raggedness, numpy refuses
        arr = np.array(None, dtype=object)
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in arr.flat)
    if arr.shape not in shapes or not numbers:
        expect = " or ".join(str(s) for s in shapes)
        raise _fail(source, where, field, f"expected numbers of shape {expect}, got {value!r}")
    return arr.astype(np.float64)


def _scalar(
    source: str, where: tuple[str, str], data: dict[str, Any], field: str, default: Any
) -> Any:
    """``data[field]`` of the type of ``default`` (int or float for None), else ``default``."""
    value = data.get(field, default)
    value = default if value == "null" else value  # caliscope's older files write "null"
    kinds = (int, float) if default is None else (type(default),)
    bad = isinstance(value, bool) != isinstance(default, bool) or not isinstance(value, kinds)
    if value is not default and bad:
        expect = " or ".join(k.__name__ for k in kinds)
        raise _fail(source, where, field, f"expected {expect}, got {value!r}")
    return value


def _cam_id(source: str, table: str, data: dict[str, Any]) -> int:
    """Camera id: ``cam_id`` (or older ``port``) when present, else the table name's number."""
    number = re.search(r"(\d+)$", table)
    value = data.get("cam_id", data.get("port", int(number.group(1)) if number else table))
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(source, (table, "?"), "cam_id", f"expected an integer, got {value!r}")
    return value


_SHAPES = {
    "size": ((2,),),
    "matrix": ((3, 3),),
    "distortions": ((4,), (5,)),
    "rotation": ((3, 3), (3,)),
    "translation": ((3,),),
}
"""Accepted shapes of the array fields (a fisheye camera needs 4 distortion terms)."""
_SCALARS = {"error": None, "rotation_count": 0, "ignore": False}
"""Optional scalar fields and their defaults."""


def _camera(source: str, table: str, data: dict[str, Any]) -> tuple[Camera, dict[str, Any]]:
    """The camera of ``[table]`` and its other fields (error, rotation_count, ignore)."""
    where = (table, f"cam_{_cam_id(source, table, data)}")
    fisheye = _scalar(source, where, data, "fisheye", False)
    arrays = {f: _numbers(source, where, data, f, s) for f, s in _SHAPES.items()}
    if fisheye and arrays["distortions"].shape != (4,):
        raise _fail(source, where, "distortions", "a fisheye camera has 4 terms k1..k4")
    extra = {f: _scalar(source, where, data, f, d) for f, d in _SCALARS.items()}
    return _build(source, where, arrays, fisheye), extra


def _build(
    source: str, where: tuple[str, str], arrays: dict[str, np.ndarray], fisheye: bool
) -> Camera:
    """Camera from checked arrays; Camera's own checks become CalibrationFormatError."""
    fields = {"name": where[1], "size": arrays["size"], "matrix": arrays["matrix"]}
    fields |= {"distortion": arrays["distortions"], "translation": arrays["translation"]}
    rotation = arrays["rotation"]
    try:
        if rotation.shape == (3, 3):
            return Camera.from_rotation_matrix(rotation, fisheye=fisheye, **fields)
        return Camera(rotation=rotation, fisheye=fisheye, **fields)
    except ValueError as exc:
        raise _fail(source, where, None, str(exc)) from None


def _legacy_tables(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Camera tables of caliscope's older ``config.toml``: ``[cam_N]`` with caliscope fields."""
    return {
        k: v
        for k, v in doc.items()
        if isinstance(v, dict)
        and ("rotation_count" in v or np.shape(np.array(v.get("rotation"), dtype=object)) == (3, 3))
    }


def _camera_tables(source: str, doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Camera tables by table name: ``cameras.N`` (camera_array.toml) or ``cam_N`` (legacy)."""
    if "cameras" not in doc:
        legacy = _legacy_tables(doc)
        if legacy:
            return legacy
    tables = doc.get("cameras")
    if not isinstance(tables, dict) or not tables:
        raise CalibrationFormatError(
            f"{source}: table [cameras]: expected tables [cameras.0], [cameras.1]... "
            f"(caliscope camera_array.toml), got {tables!r}"
        )
    for key, data in tables.items():
        if not isinstance(data, dict):
            raise CalibrationFormatError(
                f"{source}: table [cameras], field {key!r}: expected a table, got {data!r}"
            )
    return {f"cameras.{k}": v for k, v in tables.items()}


def is_caliscope_layout(doc: dict[str, Any]) -> bool:
    """Tell whether parsed TOML has one of caliscope's layouts.

    Parameters
    ----------
    doc : dict
        A parsed TOML document.

    Returns
    -------
    bool
        True for a ``cameras`` table of tables (``camera_array.toml``), or top-level tables
        with ``rotation_count`` or a 3x3 ``rotation`` (caliscope's older ``config.toml``).
    """
    tables = doc.get("cameras")
    if isinstance(tables, dict) and tables:
        return all(isinstance(v, dict) for v in tables.values())
    return bool(_legacy_tables(doc))


def caliscope_from_toml(
    text: str, source: str = "<string>"
) -> tuple[CameraRig, CalibrationMetadata]:
    """Parse caliscope ``camera_array.toml`` text.

    Parameters
    ----------
    text : str
        TOML text.
    source : str
        File name used in error messages.

    Returns
    -------
    rig : CameraRig
        Cameras named ``cam_<cam_id>`` (as caliscope names the videos) in file order, without
        those marked ``ignore = true`` (a warning names them). They describe the frames as
        stored in the videos, whatever ``rotation_count`` says (it is display-only).
    metadata : CalibrationMetadata
        ``errors``: caliscope's per-camera ``error`` (RMS px of the intrinsic calibration);
        ``extra``: ``rotation_count.<name>`` for cameras with a non-zero display rotation and
        ``caliscope_ignored`` (comma-separated names) when cameras were left out.
        ``up_axis`` stays at its default: caliscope does not record which way is up.
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CalibrationFormatError(f"{source}: not valid TOML: {exc}") from None
    cams: list[Camera] = []
    errors: dict[str, float] = {}
    extra: dict[str, Any] = {}
    ignored: list[str] = []
    for table, data in _camera_tables(source, doc).items():
        cam, fields = _camera(source, table, data)
        if fields["ignore"]:
            ignored.append(cam.name)
            continue
        if cam.name in (c.name for c in cams):
            raise _fail(source, (table, cam.name), "cam_id", f"two cameras are named {cam.name}")
        cams.append(cam)
        if fields["error"] is not None:
            errors[cam.name] = float(fields["error"])
        if fields["rotation_count"] % 4:
            extra[ROTATION_COUNT_KEY.format(name=cam.name)] = fields["rotation_count"]
    if ignored:
        extra[IGNORED_KEY] = ",".join(ignored)
        warnings.warn(
            f"{source}: left out camera(s) marked ignore = true: {', '.join(ignored)}",
            stacklevel=3,
        )
    if not cams:
        raise CalibrationFormatError(f"{source}: every camera is marked ignore = true")
    return CameraRig(tuple(cams)), CalibrationMetadata(errors=errors, extra=extra)


def load_caliscope_camera_array(
    path: str | os.PathLike[str],
) -> tuple[CameraRig, CalibrationMetadata]:
    """Read caliscope's ``camera_array.toml``.

    Parameters
    ----------
    path : str or PathLike

    Returns
    -------
    rig : CameraRig
    metadata : CalibrationMetadata
        See :func:`caliscope_from_toml`.
    """
    text = read_text(path, "calibration file", CalibrationFormatError)
    return caliscope_from_toml(text, source=str(path))


def _floats(values: np.ndarray) -> str:
    """TOML array of ``repr`` floats (bit-exact on reading), nested for 2-D arrays."""
    if values.ndim > 1:
        return "[" + ", ".join(_floats(row) for row in values) + "]"
    return "[" + ", ".join(repr(float(v)) for v in values) + "]"


def _cam_ids(rig: CameraRig) -> list[int]:
    """``N`` of names ``cam_N`` when every name has that form (distinct N), else 0..C-1."""
    found = [_CAM_NAME.fullmatch(name) for name in rig.names]
    ids = [int(m.group(1)) for m in found if m]
    if len(ids) == len(rig) and len(set(ids)) == len(ids):
        return ids
    return list(range(len(rig)))


def caliscope_to_toml(rig: CameraRig, metadata: CalibrationMetadata | None = None) -> str:
    """Serialise a rig in caliscope's ``camera_array.toml`` layout.

    Parameters
    ----------
    rig : CameraRig
        Cameras named ``cam_<N>`` keep id N; otherwise the ids are the rig positions 0..C-1
        (caliscope knows cameras only by integer id).
    metadata : CalibrationMetadata, optional
        Per-camera ``errors`` become ``error``; ``extra["rotation_count.<name>"]`` (as read by
        :func:`caliscope_from_toml`) restores caliscope's display rotation, else 0.

    Returns
    -------
    str
        TOML text; the rotation is written as a 3x3 matrix, as in caliscope's test sessions.
    """
    meta = CalibrationMetadata() if metadata is None else metadata
    lines = ["# caliscope camera array: x_cam = rotation x_world + translation, metres.", ""]
    for cam_id, cam in zip(_cam_ids(rig), rig, strict=True):
        turns = meta.extra.get(ROTATION_COUNT_KEY.format(name=cam.name), 0)
        lines += [
            f"[cameras.{cam_id}]",
            f"cam_id = {cam_id}",
            f"size = [{cam.size[0]}, {cam.size[1]}]",
            f"rotation_count = {int(turns)}",
        ]
        if cam.name in meta.errors:
            lines.append(f"error = {meta.errors[cam.name]!r}")
        lines += [
            f"matrix = {_floats(cam.matrix)}",
            f"distortions = {_floats(cam.distortion)}",
            f"translation = {_floats(cam.translation)}",
            f"rotation = {_floats(cam.rotation_matrix)}",
            "ignore = false",
            f"fisheye = {'true' if cam.fisheye else 'false'}",
            "",
        ]
    return "\n".join(lines)


def save_caliscope_camera_array(
    path: str | os.PathLike[str], rig: CameraRig, metadata: CalibrationMetadata | None = None
) -> None:
    """Write a rig as caliscope's ``camera_array.toml``, atomically.

    Parameters
    ----------
    path : str or PathLike
        Destination; replaced only once the new file is fully written.
    rig : CameraRig
        The cameras, describing the frames as stored in the videos.
    metadata : CalibrationMetadata, optional
        See :func:`caliscope_to_toml`.
    """
    atomic_write_text(path, caliscope_to_toml(rig, metadata))
