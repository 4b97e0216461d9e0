"""Read and write Qualisys QTM calibration exports (``.qca.txt``, XML).

Conventions, as Pose2Sim's converter (``Pose2Sim/calibration.py``, ``read_qca``) reads them:

- ``<transform>``: the camera position x, y, z in the lab frame, millimetres, and a rotation
  r11..r33 whose rows (r11 r12 r13), (r21 r22 r23), (r31 r32 r33) are the Qualisys camera
  axes in the lab frame. Qualisys camera axes are OpenCV's turned 180 degrees about x, so
  OpenCV's world-to-camera rotation is ``R = diag(1, -1, -1) @ [[r11, r12, r13], ...]`` and
  ``t = -R @ position``.
- ``<intrinsic>``: focal lengths and principal point in sensor sub-pixels (64 per pixel);
  the principal point is relative to the sensor, the image is the ``<fov_video>`` window
  (``left``..``right`` by ``top``..``bottom``, inclusive, pixels). A ``video_resolution``
  attribute such as ``"720p"`` scales the video image from the 1080p sensor window. ``skew``
  is ignored (OpenCV's model has none; QTM writes 0).
- Lens distortion: ``radialDistortion1..3`` and ``tangentalDistortion1..2`` are OpenCV's k1,
  k2, k3, p1, p2 as they stand. Pose2Sim divides them by 64 as well; that is not done here by
  default: distortion coefficients of normalised coordinates have no pixel unit, and on the
  Pose2Sim demo (``Calib.qca.txt``) the coefficients as written (k1 = -0.047, k2 = 0.137)
  agree with a fit to the same cameras' checkerboard images (k1 -0.03..-0.07, k2
  0.05..0.24) and with Pose2Sim's own checkerboard calibration of them, while the /64 values
  are no distortion at all. ``pose2sim_distortion=True`` reproduces Pose2Sim.
- Only video cameras are kept (``model`` containing "Video", or "none" as Pose2Sim's own
  exports write), sorted by ``serial`` in natural order as Pose2Sim does; the camera names
  are the serials (the Pose2Sim demo's videos are named after them: ``cam01.mp4``...).
"""

from __future__ import annotations

import os
import re
import warnings
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np

from calibration.camera import Camera, CameraRig
from calibration.files import atomic_write_text, read_bytes
from calibration.toml_io import CalibrationFormatError, CalibrationMetadata

SUBPIXELS = 64.0
"""Qualisys sensor sub-pixels per pixel."""
_FLIP = np.diag([1.0, -1.0, -1.0])
"""180 degrees about x: Qualisys camera axes to OpenCV's (its own inverse)."""
_INTRINSIC = (
    "focalLengthU",
    "focalLengthV",
    "centerPointU",
    "centerPointV",
    "radialDistortion1",
    "radialDistortion2",
    "radialDistortion3",
    "tangentalDistortion1",
    "tangentalDistortion2",
)
_TRANSFORM = ("x", "y", "z", *(f"r{i}{j}" for i in (1, 2, 3) for j in (1, 2, 3)))
_FOV = ("left", "top", "right", "bottom")


def _natural_key(text: str) -> list[Any]:
    """Sort key putting cam2 before cam10."""
    return [(0, int(p)) if p.isdigit() else (1, p.lower()) for p in re.split(r"(\d+)", text)]


def _is_video(model: str | None) -> bool:
    """Qualisys video camera (Miqus Video...), or a Pose2Sim export (model "none")."""
    return model is None or model == "none" or "video" in model.lower()


class _Reader:
    """Attribute access that names the file, camera, element and attribute on error."""

    def __init__(self, source: str, index: int, camera: ET.Element) -> None:
        self.source = source
        self.camera = camera
        self.name = camera.get("serial", "")
        self.label = f"camera {self.name!r} (#{index + 1} in <cameras>)"

    def fail(self, element: str, attribute: str | None, message: str) -> CalibrationFormatError:
        """Error for ``attribute`` of ``<element>`` (or the element itself when None)."""
        what = f"element <{element}>" + ("" if attribute is None else f", attribute {attribute!r}")
        return CalibrationFormatError(f"{self.source}: {self.label}, {what}: {message}")

    def numbers(self, element: str, attributes: tuple[str, ...]) -> dict[str, float]:
        """Finite float values of ``attributes`` of the camera's child ``element``."""
        node = self.camera if element == "camera" else self.camera.find(element)
        if node is None:
            raise self.fail(element, None, "missing")
        values = {}
        for attribute in attributes:
            text = node.get(attribute)
            if text is None:
                raise self.fail(element, attribute, "missing")
            try:
                values[attribute] = float(text)
            except ValueError:
                raise self.fail(element, attribute, f"expected a number, got {text!r}") from None
            if not np.isfinite(values[attribute]):
                raise self.fail(element, attribute, f"expected a finite number, got {text!r}")
        return values

    def scale(self) -> float:
        """Video image scale from the 1080p sensor window (``video_resolution``, Pose2Sim)."""
        text = self.camera.get("video_resolution")
        if text is None:
            return 1.0
        match = re.fullmatch(r"\s*(\d+)p\s*", text)
        if not match or int(match.group(1)) == 0:
            raise self.fail("camera", "video_resolution", f"expected e.g. '720p', got {text!r}")
        return int(match.group(1)) / 1080.0


def _camera(reader: _Reader, pose2sim_distortion: bool) -> Camera:
    """OpenCV camera of one ``<camera>`` element."""
    if not reader.name:
        raise reader.fail("camera", "serial", "missing or empty")
    scale = reader.scale()
    fov = reader.numbers("fov_video", _FOV)
    k = reader.numbers("intrinsic", _INTRINSIC)
    pose = reader.numbers("transform", _TRANSFORM)
    size = (np.array([fov["right"] - fov["left"], fov["bottom"] - fov["top"]]) + 1) * scale
    fx, fy = k["focalLengthU"] / SUBPIXELS * scale, k["focalLengthV"] / SUBPIXELS * scale
    cx = (k["centerPointU"] / SUBPIXELS - fov["left"]) * scale
    cy = (k["centerPointV"] / SUBPIXELS - fov["top"]) * scale
    lens = np.array([k[f] for f in _INTRINSIC[4:]])[[0, 1, 3, 4, 2]]  # k1 k2 p1 p2 k3
    axes = np.array([[pose[f"r{i}{j}"] for j in (1, 2, 3)] for i in (1, 2, 3)])
    rotation = _FLIP @ axes
    position = np.array([pose["x"], pose["y"], pose["z"]]) / 1000.0
    try:
        return Camera.from_rotation_matrix(
            rotation,
            name=reader.name,
            size=np.round(size),
            matrix=[[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]],
            distortion=lens / SUBPIXELS if pose2sim_distortion else lens,
            translation=-rotation @ position,
        )
    except ValueError as exc:
        raise CalibrationFormatError(f"{reader.source}: {reader.label}: {exc}") from None


def _root(data: str | bytes, source: str) -> ET.Element:
    """The ``<calibration>`` element of the XML ``data``."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        root = ET.fromstring(data)  # noqa: S314 (user-chosen local file)
    except ET.ParseError as exc:
        raise CalibrationFormatError(f"{source}: not valid XML: {exc}") from None
    if root.tag != "calibration":
        raise CalibrationFormatError(
            f"{source}: expected a Qualisys <calibration> element, got <{root.tag}>"
        )
    return root


def qualisys_from_xml(
    data: str | bytes, source: str = "<string>", *, pose2sim_distortion: bool = False
) -> tuple[CameraRig, CalibrationMetadata]:
    """Parse a Qualisys QTM calibration export.

    Parameters
    ----------
    data : str or bytes
        The XML (bytes honour the encoding the XML declaration names).
    source : str
        File name used in error messages.
    pose2sim_distortion : bool
        Divide the lens distortion by 64 as Pose2Sim does (see the module notes).

    Returns
    -------
    rig : CameraRig
        The video cameras, named by ``serial``, in natural order of serial, positions in
        metres; marker-only cameras are left out (a warning names them).
    metadata : CalibrationMetadata
        ``errors``: QTM's ``avg-residual`` per camera, in MILLIMETRES (a 3D residual of the
        marker calibration), not pixels; ``extra["errors_unit"] = "mm"`` says so.
        ``extra["qualisys_skipped"]`` lists the marker-only cameras left out. ``up_axis`` is
        "z" (the QTM default lab frame).
    """
    root = _root(data, source)
    elements = root.findall("cameras/camera")
    if not elements:
        raise CalibrationFormatError(f"{source}: no <cameras><camera> elements")
    readers = [_Reader(source, i, el) for i, el in enumerate(elements)]
    video = [r for r in readers if _is_video(r.camera.get("model"))]
    skipped = [f"{r.name} ({r.camera.get('model')})" for r in readers if r not in video]
    if not video:
        raise CalibrationFormatError(f"{source}: no video cameras, only {', '.join(skipped)}")
    video.sort(key=lambda r: _natural_key(r.name))
    cams = [_camera(r, pose2sim_distortion) for r in video]
    names = [c.name for c in cams]
    if len(set(names)) != len(names):
        raise CalibrationFormatError(f"{source}: two cameras share a serial: {names}")
    has_residual = [r for r in video if r.camera.get("avg-residual") is not None]
    residual = {
        r.name: r.numbers("camera", ("avg-residual",))["avg-residual"] for r in has_residual
    }
    extra: dict[str, Any] = {"errors_unit": "mm"}
    if skipped:
        extra["qualisys_skipped"] = ", ".join(skipped)
        message = f"{source}: left out non-video cameras: {extra['qualisys_skipped']}"
        warnings.warn(message, stacklevel=3)
    return CameraRig(tuple(cams)), CalibrationMetadata(errors=residual, extra=extra)


def load_qualisys_qca(
    path: str | os.PathLike[str], *, pose2sim_distortion: bool = False
) -> tuple[CameraRig, CalibrationMetadata]:
    """Read a Qualisys QTM calibration export (``.qca.txt``).

    Parameters
    ----------
    path : str or PathLike
    pose2sim_distortion : bool
        Divide the lens distortion by 64 as Pose2Sim does (see the module notes).

    Returns
    -------
    rig : CameraRig
    metadata : CalibrationMetadata
        ``errors`` are QTM's ``avg-residual`` in millimetres; see :func:`qualisys_from_xml`.
    """
    data = read_bytes(path, "calibration file")
    return qualisys_from_xml(data, str(path), pose2sim_distortion=pose2sim_distortion)


def _attributes(values: dict[str, float]) -> dict[str, str]:
    """XML attribute strings; ``repr`` reads back bit-identical."""
    return {k: repr(float(v)) for k, v in values.items()}


def _camera_element(
    parent: ET.Element, cam: Camera, residual: float, pose2sim_distortion: bool
) -> None:
    """Append the ``<camera>`` element of ``cam`` to ``parent``."""
    if cam.fisheye:
        raise ValueError(f"camera {cam.name!r}: Qualisys has no fisheye lens model")
    attrs = {"active": "1", "avg-residual": repr(float(residual)), "model": "none"}
    node = ET.SubElement(parent, "camera", {**attrs, "serial": cam.name, "viewrotation": "0"})
    width, height = cam.size
    fov = {"left": "0", "top": "0", "right": str(width - 1), "bottom": str(height - 1)}
    for tag in ("fov_marker", "fov_marker_max", "fov_video", "fov_video_max"):
        ET.SubElement(node, tag, fov)
    axes = _FLIP @ cam.rotation_matrix
    pose = dict(zip("xyz", cam.center * 1000.0, strict=True))
    pose |= {f"r{i + 1}{j + 1}": axes[i, j] for i in range(3) for j in range(3)}
    ET.SubElement(node, "transform", _attributes(pose))
    k1, k2, p1, p2, k3 = cam.distortion * (SUBPIXELS if pose2sim_distortion else 1.0)
    sub = cam.matrix * SUBPIXELS
    intrinsic = {"focalLengthU": sub[0, 0], "focalLengthV": sub[1, 1]}
    intrinsic |= {"centerPointU": sub[0, 2], "centerPointV": sub[1, 2], "skew": 0.0}
    intrinsic |= {"radialDistortion1": k1, "radialDistortion2": k2, "radialDistortion3": k3}
    intrinsic |= {"tangentalDistortion1": p1, "tangentalDistortion2": p2}
    intrinsic |= {"sensorMinU": 0.0, "sensorMaxU": width * SUBPIXELS}
    intrinsic |= {"sensorMinV": 0.0, "sensorMaxV": height * SUBPIXELS}
    ET.SubElement(node, "intrinsic", _attributes(intrinsic))


def qualisys_to_xml(
    rig: CameraRig,
    metadata: CalibrationMetadata | None = None,
    *,
    pose2sim_distortion: bool = False,
) -> str:
    """Serialise a rig as a Qualisys calibration export, readable by Pose2Sim and this module.

    Parameters
    ----------
    rig : CameraRig
        Pinhole cameras (Qualisys has no fisheye model: ValueError).
    metadata : CalibrationMetadata, optional
        ``errors`` become ``avg-residual`` (0 when absent).
    pose2sim_distortion : bool
        Multiply the distortion by 64, as Pose2Sim's ``calib_toml_to_qca`` does.

    Returns
    -------
    str
        XML text. The whole image is the sensor window (left = top = 0). The lens focal
        length in mm (``focallength``) is not written: it needs the pixel pitch, unknown here.
    """
    meta = CalibrationMetadata() if metadata is None else metadata
    root = ET.Element("calibration", {"source": "hingelab", "type": "regular"})
    if meta.created:
        root.set("created", meta.created)
    cameras = ET.SubElement(root, "cameras")
    for cam in rig:
        _camera_element(cameras, cam, meta.errors.get(cam.name, 0.0), pose2sim_distortion)
    ET.indent(root)
    return "<?xml version='1.0' encoding='UTF-8'?>\n" + ET.tostring(root, "unicode") + "\n"


def save_qualisys_qca(
    path: str | os.PathLike[str],
    rig: CameraRig,
    metadata: CalibrationMetadata | None = None,
    *,
    pose2sim_distortion: bool = False,
) -> None:
    """Write a rig as a Qualisys calibration export (``.qca.txt``), atomically.

    Parameters
    ----------
    path : str or PathLike
        Destination; replaced only once the new file is fully written.
    rig : CameraRig
        Pinhole cameras; see :func:`qualisys_to_xml`.
    metadata : CalibrationMetadata, optional
    pose2sim_distortion : bool
        Multiply the distortion by 64, as Pose2Sim's ``calib_toml_to_qca`` does.
    """
    atomic_write_text(path, qualisys_to_xml(rig, metadata, pose2sim_distortion=pose2sim_distortion))
