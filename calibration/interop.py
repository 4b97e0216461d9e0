"""Calibration files of other tools, and one loader that tells the formats apart by content.

Accepted formats:

- TOML in the anipose / Pose2Sim layout (HingeLab's own, :mod:`calibration.toml_io`);
- caliscope's ``camera_array.toml`` (:mod:`calibration.interop_caliscope`);
- Qualisys QTM calibration exports ``.qca.txt`` (:mod:`calibration.interop_qualisys`).
"""

from __future__ import annotations

import os
from typing import Any

from calibration.camera import CameraRig
from calibration.files import read_bytes
from calibration.interop_caliscope import (
    caliscope_from_toml,
    caliscope_to_toml,
    is_caliscope_layout,
    load_caliscope_camera_array,
    save_caliscope_camera_array,
)
from calibration.interop_qualisys import (
    load_qualisys_qca,
    qualisys_from_xml,
    qualisys_to_xml,
    save_qualisys_qca,
)
from calibration.toml_io import (
    CalibrationFormatError,
    CalibrationMetadata,
    calibration_from_toml,
    save_calibration,
)

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

__all__ = [
    "ACCEPTED_FORMATS",
    "caliscope_from_toml",
    "caliscope_to_toml",
    "detect_calibration_format",
    "load_any_calibration",
    "load_caliscope_camera_array",
    "load_qualisys_qca",
    "qualisys_from_xml",
    "qualisys_to_xml",
    "save_caliscope_camera_array",
    "save_qualisys_qca",
]

ACCEPTED_FORMATS = {
    "toml": "TOML with one table per camera (HingeLab, anipose, Pose2Sim)",
    "caliscope": "caliscope camera_array.toml ([cameras.0], [cameras.1]...)",
    "qualisys": "Qualisys QTM calibration export, .qca.txt (XML <calibration>)",
}
"""Format key: description, as listed in error messages."""
_NOT_CAMERAS = ("metadata", "capture_volume", "charuco", "checkerboard")


def _unknown(source: str, why: str) -> CalibrationFormatError:
    """Error naming the file, why it is not recognised and the accepted formats."""
    accepted = "; ".join(ACCEPTED_FORMATS.values())
    return CalibrationFormatError(
        f"{source}: not a calibration file HingeLab can read ({why}). Accepted formats: {accepted}."
    )


def _toml_kind(doc: dict[str, Any], source: str) -> str:
    """``"caliscope"`` or ``"toml"`` for a parsed TOML document, else the error."""
    if is_caliscope_layout(doc):
        return "caliscope"
    cameras = [
        k for k, v in doc.items() if isinstance(v, dict) and "matrix" in v and k not in _NOT_CAMERAS
    ]
    if cameras:
        return "toml"
    raise _unknown(source, "TOML without camera tables")


def detect_calibration_format(data: bytes | str, source: str = "<string>") -> str:
    """Tell a calibration file's format from its content.

    Parameters
    ----------
    data : bytes or str
        The file's content.
    source : str
        File name used in error messages.

    Returns
    -------
    str
        A key of :data:`ACCEPTED_FORMATS`: ``"qualisys"`` for XML (``<?xml`` or
        ``<calibration`` first), ``"caliscope"`` for TOML with a ``cameras`` table of tables,
        ``"toml"`` for TOML with top-level tables holding a camera ``matrix``.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    head = raw.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"<?xml", b"<calibration")):
        return "qualisys"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _unknown(source, "neither XML nor UTF-8 text") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _unknown(source, f"neither XML nor valid TOML: {exc}") from None
    return _toml_kind(doc, source)


def load_any_calibration(path: str | os.PathLike[str]) -> tuple[CameraRig, CalibrationMetadata]:
    """Read a calibration file of any accepted format, recognised by content.

    Parameters
    ----------
    path : str or PathLike
        HingeLab / anipose / Pose2Sim TOML, caliscope ``camera_array.toml`` or a Qualisys
        ``.qca.txt``, whatever its extension.

    Returns
    -------
    rig : CameraRig
        Cameras describing the frames as stored in the videos, translations in metres.
    metadata : CalibrationMetadata
        As the format's own reader returns it (Qualisys ``errors`` are in mm, see
        :func:`~calibration.interop_qualisys.qualisys_from_xml`).
    """
    raw = read_bytes(path, "calibration file")
    kind = detect_calibration_format(raw, str(path))
    if kind == "qualisys":
        return qualisys_from_xml(raw, str(path))
    text = raw.decode("utf-8")  # detect_calibration_format checked it decodes
    if kind == "caliscope":
        return caliscope_from_toml(text, str(path))
    return calibration_from_toml(text, str(path))


EXPORT_FORMATS = ("toml", "caliscope", "qualisys")
"""Formats :func:`save_any_calibration` writes: ours (= anipose/Pose2Sim), caliscope, Qualisys."""


def save_any_calibration(
    path: str | os.PathLike[str],
    rig: CameraRig,
    metadata: CalibrationMetadata | None = None,
    fmt: str = "toml",
) -> None:
    """Write a rig in one of ``EXPORT_FORMATS``, atomically.

    Parameters
    ----------
    path : str or PathLike
        Destination.
    rig : CameraRig
        The cameras.
    metadata : CalibrationMetadata, optional
        Errors, time and software, where the format has room for them.
    fmt : {"toml", "caliscope", "qualisys"}
        Our calibration TOML (which anipose and Pose2Sim read), caliscope's
        ``camera_array.toml`` or a Qualisys ``.qca.txt`` (pinhole cameras only).

    Raises
    ------
    ValueError
        An unknown format, or fisheye cameras for Qualisys (its format has no such model).
    """
    if fmt == "toml":
        save_calibration(path, rig, metadata)
    elif fmt == "caliscope":
        save_caliscope_camera_array(path, rig, metadata)
    elif fmt == "qualisys":
        fisheye = [cam.name for cam in rig if cam.fisheye]
        if fisheye:
            msg = f"{path}: Qualisys files hold pinhole cameras only; {fisheye[0]} is fisheye"
            raise ValueError(msg)
        save_qualisys_qca(path, rig, metadata)
    else:
        msg = f"{path}: unknown calibration format {fmt!r}; choose one of {EXPORT_FORMATS}"
        raise ValueError(msg)
