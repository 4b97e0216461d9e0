"""Other tools' calibration files: caliscope camera_array.toml, Qualisys .qca.txt, autodetection.

The real-data tests prove the conventions on files made by those tools (../shared/datasets):
caliscope's own ChArUco detections must reproject through the loaded cameras, and the
Qualisys cameras must agree with Pose2Sim's converter and see the lab in front of them.
"""

from __future__ import annotations

import csv
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pytest

from calibration.camera import Camera, CameraRig
from calibration.interop import (
    ACCEPTED_FORMATS,
    caliscope_to_toml,
    detect_calibration_format,
    load_any_calibration,
    load_caliscope_camera_array,
    load_qualisys_qca,
    qualisys_to_xml,
    save_caliscope_camera_array,
    save_qualisys_qca,
)
from calibration.toml_io import CalibrationFormatError, CalibrationMetadata, save_calibration
from mocap.triangulation import triangulate

CALISCOPE = "caliscope_4cam_charuco"
QCA = "pose2sim_demo_singleperson/calibration/Calib.qca.txt"
SQUARE_M = 0.054
"""ChArUco square of the caliscope session (charuco.toml: square_size_override_cm = 5.4)."""


def _rot(rx: float, ry: float, rz: float) -> np.ndarray:
    return cv2.Rodrigues(np.array([rx, ry, rz]))[0]


def _rig(names: tuple[str, ...] = ("cam_0", "cam_3", "cam_7")) -> CameraRig:
    """Cameras with every parameter non-trivial (the last one fisheye when there are 3)."""
    cams = []
    for i, name in enumerate(names):
        fisheye = len(names) == 3 and i == 2
        cams.append(
            Camera(
                name,
                (1280 + 8 * i, 720 + 4 * i),
                [[900.5 + i, 0, 640.25 - i], [0, 902.75, 360.125 + i], [0, 0, 1]],
                [0.01 * (i + 1), -0.002, 0.0003, 0.0001]
                if fisheye
                else [-0.31 + 0.1 * i, 0.097, -0.0013, 0.0031 * (i - 1), -0.0037],
                [0.3 - 0.2 * i, 1.1 + 0.4 * i, -2.0 + i],
                [0.64 - i, 0.26 * i, 1.45 + 0.1 * i],
                fisheye=fisheye,
            )
        )
    return CameraRig(tuple(cams))


def _assert_same_rig(a: CameraRig, b: CameraRig, tol: float) -> None:
    assert a.names == b.names
    for ca, cb in zip(a, b, strict=True):
        assert ca.size == cb.size
        assert ca.fisheye == cb.fisheye
        for field in ("matrix", "distortion"):  # written with repr: bit-exact
            np.testing.assert_array_equal(getattr(ca, field), getattr(cb, field), err_msg=field)
        # rotation matrix <-> Rodrigues conversions and mm <-> m lose a few ulps
        np.testing.assert_allclose(ca.rotation, cb.rotation, rtol=0, atol=tol)
        np.testing.assert_allclose(ca.translation, cb.translation, rtol=0, atol=tol)


# ----------------------------------------------------------------------------- caliscope


def _caliscope_keypoints(rig: CameraRig, xy_csv: Path) -> tuple[np.ndarray, np.ndarray]:
    """Caliscope's detections as (C, T, J, 3) keypoints and the (J, 2) board corners.

    T runs over the sync indices, J over the corner ids (keypoint_id).
    """
    with xy_csv.open(newline="") as f:
        rows = list(csv.DictReader(f))
    syncs = {s: i for i, s in enumerate(sorted({int(r["sync_index"]) for r in rows}))}
    n_corners = max(int(r["keypoint_id"]) for r in rows) + 1
    keypoints = np.full((len(rig), len(syncs), n_corners, 3), np.nan)
    board = np.full((n_corners, 2), np.nan)
    for r in rows:
        cam, corner = rig.names.index(f"cam_{r['cam_id']}"), int(r["keypoint_id"])
        keypoints[cam, syncs[int(r["sync_index"])], corner] = [
            float(r["img_loc_x"]),
            float(r["img_loc_y"]),
            1.0,
        ]
        board[corner] = [float(r["obj_loc_x"]), float(r["obj_loc_y"])]
    return keypoints, board


def _rms_per_camera(rig: CameraRig, keypoints: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
    """DLT-triangulate every corner seen twice or more; per-camera RMS reprojection (px)."""
    tri = triangulate(rig, keypoints)
    projected = rig.project(tri.points3d.reshape(-1, 3)).reshape(*keypoints.shape[:3], 2)
    distance = np.linalg.norm(projected - keypoints[..., :2], axis=-1)
    rms = {}
    for name, d in zip(rig.names, distance, strict=True):
        used = d[np.isfinite(d)]
        assert used.size > 200, f"{name}: only {used.size} corners triangulated"
        rms[name] = float(np.sqrt(np.mean(used**2)))
    return rms, tri.points3d


def _quarter_turned(cam: Camera, turns: int) -> Camera:
    """The camera of the image turned ``turns`` x 90 degrees clockwise (caliscope's display)."""
    turn = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])  # camera axes x' = -y, y' = x
    for _ in range(turns % 4):
        (fx, _, cx), (_, fy, cy), _ = cam.matrix
        k1, k2, p1, p2, k3 = cam.distortion
        width, height = cam.size
        cam = Camera.from_rotation_matrix(
            turn @ cam.rotation_matrix,
            name=cam.name,
            size=(height, width),
            matrix=[[fy, 0, height - cy], [0, fx, cx], [0, 0, 1]],
            distortion=[k1, k2, p2, -p1, k3],
            translation=turn @ cam.translation,
        )
    return cam


@pytest.fixture(scope="module")
def caliscope(
    shared_datasets: Path,
) -> tuple[CameraRig, CalibrationMetadata, np.ndarray, np.ndarray]:
    folder = shared_datasets / CALISCOPE
    rig, meta = load_caliscope_camera_array(folder / "camera_array.toml")
    keypoints, board = _caliscope_keypoints(rig, folder / "calibration/extrinsic/xy.csv")
    return rig, meta, keypoints, board


@pytest.mark.realdata
def test_caliscope_file_is_read(caliscope) -> None:
    rig, meta, _, _ = caliscope
    assert rig.names == ("cam_0", "cam_1", "cam_2", "cam_3")  # as the videos: cam_0.mp4...
    assert all(cam.size == (1280, 720) for cam in rig)  # the stored (unrotated) frames
    # caliscope's per-camera `error` values, as written (0.19 to 0.656 px)
    assert dict(meta.errors) == {"cam_0": 0.19, "cam_1": 0.469, "cam_2": 0.656, "cam_3": 0.276}
    assert dict(meta.extra) == {"rotation_count.cam_1": -1, "rotation_count.cam_2": 1}
    # intrinsics taken as they stand: cam_1's fx exactly as in the file
    assert rig["cam_1"].matrix[0, 0] == 703.9581082139392


@pytest.mark.realdata
def test_caliscope_reprojects_its_own_detections(caliscope) -> None:
    rig, _, keypoints, _ = caliscope
    rms, _ = _rms_per_camera(rig, keypoints)
    # caliscope reports 0.19-0.66 px; a plain DLT without bundle adjustment gives 0.7-1.0 px.
    # Cameras turned by rotation_count (cam_1, cam_2) would be off by hundreds of px.
    assert all(v < 1.5 for v in rms.values()), rms


@pytest.mark.realdata
def test_caliscope_rotation_count_is_display_only(caliscope) -> None:
    """Applying rotation_count to the cameras (either way) breaks the reprojection."""
    rig, meta, keypoints, _ = caliscope
    for sign in (1, -1):
        turned = CameraRig(
            tuple(
                _quarter_turned(cam, sign * meta.extra.get(f"rotation_count.{cam.name}", 0))
                for cam in rig
            )
        )
        rms, _ = _rms_per_camera(turned, keypoints)
        # measured 130-17000 px: nowhere near the 1.5 px the unturned cameras reach
        assert min(rms["cam_1"], rms["cam_2"]) > 50, rms


@pytest.mark.realdata
def test_caliscope_board_squares_have_their_size(caliscope) -> None:
    rig, _, keypoints, board = caliscope
    _, points = _rms_per_camera(rig, keypoints)
    gap = np.linalg.norm(board[:, None] - board[None], axis=-1)
    pairs = np.argwhere(np.triu(np.abs(gap - SQUARE_M) < 1e-6))
    assert len(pairs) == 17  # 3 x 4 inner corners: 9 horizontal + 8 vertical neighbours
    lengths = np.linalg.norm(points[:, pairs[:, 0]] - points[:, pairs[:, 1]], axis=-1)
    error = np.abs(lengths[np.isfinite(lengths)] - SQUARE_M)
    assert error.size > 500
    # measured: median 0.4 mm, 95 % under 1.5 mm (a wrong scale or pose would be cm off)
    assert np.median(error) < 0.001
    assert np.percentile(error, 95) < 0.003


@pytest.mark.realdata
def test_caliscope_legacy_config_gives_the_same_cameras(shared_datasets: Path) -> None:
    folder = shared_datasets / CALISCOPE
    new, _ = load_caliscope_camera_array(folder / "camera_array.toml")
    old, meta = load_any_calibration(folder / "config.toml")  # [cam_N] tables, same values
    _assert_same_rig(new, old, tol=0.0)
    assert meta.errors["cam_2"] == 0.656


def test_caliscope_round_trip(tmp_path: Path) -> None:
    rig = _rig()
    meta = CalibrationMetadata(
        errors={"cam_0": 0.19, "cam_7": 0.5}, extra={"rotation_count.cam_3": -1}
    )
    path = tmp_path / "camera_array.toml"
    save_caliscope_camera_array(path, rig, meta)
    back, back_meta = load_caliscope_camera_array(path)
    _assert_same_rig(rig, back, tol=1e-12)  # rotation written as a 3x3 matrix
    assert dict(back_meta.errors) == dict(meta.errors)
    assert dict(back_meta.extra) == {"rotation_count.cam_3": -1}
    assert "[cameras.7]" in path.read_text()
    assert "rotation_count = 0" in path.read_text()


def test_caliscope_save_numbers_other_names_by_position(tmp_path: Path) -> None:
    rig = _rig(("left", "right"))
    path = tmp_path / "camera_array.toml"
    save_caliscope_camera_array(path, rig)
    back, _ = load_caliscope_camera_array(path)
    assert back.names == ("cam_0", "cam_1")  # caliscope knows cameras by integer id only
    assert back[1].matrix.tolist() == rig["right"].matrix.tolist()


def test_caliscope_ignored_cameras_are_left_out(tmp_path: Path) -> None:
    text = caliscope_to_toml(_rig())
    text = text.replace("ignore = false", "ignore = true", 2)  # cam_0 and cam_3
    path = tmp_path / "camera_array.toml"
    path.write_text(text)
    with pytest.warns(UserWarning, match="cam_0, cam_3"):
        rig, meta = load_caliscope_camera_array(path)
    assert rig.names == ("cam_7",)
    assert meta.extra["caliscope_ignored"] == "cam_0,cam_3"


def _broken_caliscope(tmp_path: Path, old: str, new: str) -> Path:
    """camera_array.toml of _rig() with ``old`` (regex, first match in [cameras.3]) -> ``new``."""
    text = caliscope_to_toml(_rig())
    head, tail = text.split("[cameras.3]")
    path = tmp_path / "broken_array.toml"
    path.write_text(head + "[cameras.3]" + re.sub(old, new, tail, count=1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "field", "what"),
    [
        (r"matrix = .*\n", "", "matrix", "missing"),
        (r"matrix = \[\[", "matrix = [[1.0, 2.0], [0.0, ", "matrix", "shape"),
        (r"translation = \[", "translation = [1.0, ", "translation", "shape (3,)"),
        (r"size = \[1288", 'size = ["1288"', "size", "numbers"),
        (r"ignore = false", "ignore = 1", "ignore", "bool"),
        (r"cam_id = 3", 'cam_id = "three"', "cam_id", "integer"),
    ],
)
def test_caliscope_malformed_file_names_file_camera_field(
    tmp_path: Path, old: str, new: str, field: str, what: str
) -> None:
    path = _broken_caliscope(tmp_path, old, new)
    with pytest.raises(CalibrationFormatError) as info:
        load_caliscope_camera_array(path)
    message = str(info.value)
    assert all(s in message for s in (str(path), f"'{field}'", what)), message
    assert "[cameras.3]" in message


def test_caliscope_non_rotation_names_the_camera(tmp_path: Path) -> None:
    scaled = "rotation = [[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]\n"
    path = _broken_caliscope(tmp_path, r"rotation = .*\n", scaled)
    with pytest.raises(
        CalibrationFormatError,
        match=re.escape("camera 'cam_3' (table [cameras.3]): camera 'cam_3': not a proper rot"),
    ):
        load_caliscope_camera_array(path)


# ----------------------------------------------------------------------------- Qualisys


@pytest.fixture(scope="module")
def qca(shared_datasets: Path) -> tuple[Path, dict[str, ET.Element]]:
    path = shared_datasets / QCA
    cameras = {c.get("serial"): c for c in ET.parse(path).getroot().iter("camera")}  # noqa: S314
    return path, cameras


def _attr(camera: ET.Element, element: str, name: str) -> float:
    return float(camera.find(element).get(name))


@pytest.mark.realdata
def test_qualisys_intrinsics(qca) -> None:
    path, xml = qca
    rig, meta = load_qualisys_qca(path)
    assert rig.names == ("cam01", "cam02", "cam03", "cam04")  # as videos/cam01.mp4...
    for cam in rig:
        el = xml[cam.name]
        assert cam.size == (1088, 1920)  # fov_video 0..1087 x 0..1919, portrait
        # sub-pixels / 64 is exact in binary floating point
        assert cam.matrix[0, 0] == _attr(el, "intrinsic", "focalLengthU") / 64
        assert cam.matrix[1, 1] == _attr(el, "intrinsic", "focalLengthV") / 64
        assert cam.matrix[0, 2] == _attr(el, "intrinsic", "centerPointU") / 64
        assert cam.matrix[1, 2] == _attr(el, "intrinsic", "centerPointV") / 64
        assert cam.distortion[0] == _attr(el, "intrinsic", "radialDistortion1")
        assert cam.distortion[3] == _attr(el, "intrinsic", "tangentalDistortion2")
    assert meta.errors["cam04"] == 0.504772
    assert meta.extra["errors_unit"] == "mm"
    pose2sim, _ = load_qualisys_qca(path, pose2sim_distortion=True)
    assert (
        pose2sim["cam01"].distortion[1]
        == _attr(xml["cam01"], "intrinsic", "radialDistortion2") / 64
    )


@pytest.mark.realdata
def test_qualisys_camera_centres_are_the_transform_positions(qca) -> None:
    path, xml = qca
    rig, _ = load_qualisys_qca(path)
    for cam in rig:
        position = [_attr(xml[cam.name], "transform", k) / 1000 for k in "xyz"]
        # mm -> m is the only conversion; the rest is rounding (1e-15 m)
        np.testing.assert_allclose(cam.center, position, rtol=0, atol=1e-9)


@pytest.mark.realdata
def test_qualisys_cameras_see_the_lab_centre(qca) -> None:
    path, _ = qca
    rig, _ = load_qualisys_qca(path)
    centres = np.array([cam.center for cam in rig])
    target = np.array([*centres[:, :2].mean(axis=0), 1.0])  # 1 m above the capture area
    for cam in rig:
        assert cam.world_to_camera(target[None])[0, 2] > 1.0  # in front, metres away
        u, v = cam.project(target[None])[0]
        # inside the image with a 5 % margin: a flipped axis would put it behind or outside
        assert 0.05 * cam.size[0] < u < 0.95 * cam.size[0], (cam.name, u)
        assert 0.05 * cam.size[1] < v < 0.95 * cam.size[1], (cam.name, v)


def _pose2sim_extrinsics(camera: ET.Element) -> tuple[np.ndarray, np.ndarray]:
    """Pose2Sim's read_qca + calib_qca_fun, written from their formulas, rotation as a matrix."""
    r = np.array([_attr(camera, "transform", f"r{i}{j}") for i in "123" for j in "123"])
    position = np.array([_attr(camera, "transform", k) for k in "xyz"]) / 1000
    r_qualisys = r.reshape(3, 3).T  # "by-column to by-line"
    r_cam, t_cam = r_qualisys.T, -r_qualisys.T @ position  # world_to_camera_persp
    angle = np.pi  # rotate_cam(ang_x=pi): cos/sin as Pose2Sim computes them
    r_x = np.array(
        [[1, 0, 0], [0, np.cos(angle), -np.sin(angle)], [0, np.sin(angle), np.cos(angle)]]
    )
    return r_x @ r_cam, r_x @ t_cam


@pytest.mark.realdata
def test_qualisys_matches_pose2sim(qca) -> None:
    path, xml = qca
    rig, _ = load_qualisys_qca(path)
    for cam in rig:
        rotation, translation = _pose2sim_extrinsics(xml[cam.name])
        # same formulas; differences are rounding (sin(pi) = 1.2e-16) and Rodrigues
        np.testing.assert_allclose(cam.rotation_matrix, rotation, rtol=0, atol=1e-9)
        np.testing.assert_allclose(cam.translation, translation, rtol=0, atol=1e-9)


@pytest.mark.realdata
def test_qualisys_distortion_matches_checkerboard_images(qca, shared_datasets: Path) -> None:
    """The distortion as written (not /64 as Pose2Sim reads it) fits the cameras' images."""
    path, _ = qca
    rig, _ = load_qualisys_qca(path)
    board = np.zeros((28, 3), np.float32)
    board[:, :2] = np.mgrid[0:4, 0:7].T.reshape(-1, 2) * 0.060  # Config.toml: 4x7, 60 mm
    folder = shared_datasets / "pose2sim_demo_singleperson/calibration/intrinsics"
    flags = cv2.CALIB_USE_INTRINSIC_GUESS | cv2.CALIB_FIX_FOCAL_LENGTH
    flags |= cv2.CALIB_FIX_PRINCIPAL_POINT | cv2.CALIB_ZERO_TANGENT_DIST | cv2.CALIB_FIX_K3
    radius = 0.35  # normalised radius reached by every camera's board corners (0.36-0.50)
    for cam in rig:
        corners = []
        for image in sorted((folder / f"int_{cam.name}_img").glob("*.jpg")):
            gray = cv2.imread(str(image), cv2.IMREAD_GRAYSCALE)
            found, points = cv2.findChessboardCorners(gray, (4, 7))
            if found:
                criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 1e-3)
                corners.append(cv2.cornerSubPix(gray, points, (11, 11), (-1, -1), criteria))
        assert len(corners) >= 5, cam.name
        _, _, fit, _, _ = cv2.calibrateCamera(
            [board] * len(corners), corners, cam.size, cam.matrix.copy(), np.zeros(5), flags=flags
        )

        def shift(k: np.ndarray, f: float = cam.matrix[0, 0]) -> float:
            """Radial displacement in px at ``radius``."""
            return f * (k[0] * radius**3 + k[1] * radius**5)

        measured = shift(fit.ravel())
        # measured: file values within 0.5 px of the fit, the /64 values 1.5-2 px away
        assert abs(shift(cam.distortion) - measured) < 1.0, cam.name
        assert abs(shift(cam.distortion / 64) - measured) > 1.0, cam.name


def test_qualisys_round_trip(tmp_path: Path) -> None:
    rig = _rig(("cam2", "cam10"))  # natural order, as Pose2Sim sorts serials
    meta = CalibrationMetadata(errors={"cam2": 0.4, "cam10": 0.45})
    path = tmp_path / "calib.qca.txt"
    save_qualisys_qca(path, rig, meta)
    back, back_meta = load_qualisys_qca(path)
    _assert_same_rig(rig, back, tol=1e-12)  # x64 and /64 are exact; mm <-> m is not quite
    assert dict(back_meta.errors) == dict(meta.errors)
    save_qualisys_qca(path, rig, pose2sim_distortion=True)
    again, _ = load_qualisys_qca(path, pose2sim_distortion=True)
    _assert_same_rig(rig, again, tol=1e-12)
    with pytest.raises(ValueError, match="fisheye"):
        qualisys_to_xml(_rig())


def _broken_qca(tmp_path: Path, old: str, new: str) -> Path:
    text = qualisys_to_xml(_rig(("cam1", "cam2")))
    assert old in text
    path = tmp_path / "broken.qca.txt"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ('focalLengthU="', 'focalLengthX="', "<intrinsic>, attribute 'focalLengthU': missing"),
        ('r11="', 'r11="x', "<transform>, attribute 'r11': expected a number"),
        ("<transform ", "<transformation ", "element <transform>: missing"),
        (
            '<fov_video left="0" top="0" right="1279"',
            '<fov_video left="0" top="0" right="nan"',
            "<fov_video>, attribute 'right': expected a finite",
        ),
    ],
)
def test_qualisys_malformed_file_names_file_camera_field(
    tmp_path: Path, old: str, new: str, where: str
) -> None:
    path = _broken_qca(tmp_path, old, new)
    with pytest.raises(CalibrationFormatError) as info:
        load_qualisys_qca(path)
    message = str(info.value)
    assert all(s in message for s in (str(path), "camera 'cam1'", where)), message


def test_qualisys_keeps_video_cameras_only(tmp_path: Path) -> None:
    path = _broken_qca(tmp_path, 'model="none" serial="cam1"', 'model="Arqus A12" serial="cam1"')
    with pytest.warns(UserWarning, match=r"cam1 \(Arqus A12\)"):
        rig, meta = load_qualisys_qca(path)
    assert rig.names == ("cam2",)
    assert meta.extra["qualisys_skipped"] == "cam1 (Arqus A12)"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("<?xml version='1.0'?>\n<calibration><cameras/></calibration>", "no <cameras><camera>"),
        ("<calibration><cameras>", "not valid XML"),
        ("<?xml version='1.0'?>\n<calibration2/>", "expected a Qualisys <calibration>"),
    ],
)
def test_qualisys_not_a_calibration(tmp_path: Path, text: str, why: str) -> None:
    path = tmp_path / "x.qca.txt"
    path.write_text(text)
    with pytest.raises(CalibrationFormatError, match=re.escape(why)):
        load_any_calibration(path)


# ----------------------------------------------------------------------------- autodetection


@pytest.mark.parametrize("kind", ["toml", "caliscope", "qualisys"])
def test_load_any_recognises_content_not_extension(tmp_path: Path, kind: str) -> None:
    rig = _rig(("cam_1", "cam_2"))
    path = tmp_path / "calibration.dat"  # the extension says nothing
    {"toml": save_calibration, "caliscope": save_caliscope_camera_array}.get(
        kind, save_qualisys_qca
    )(path, rig, CalibrationMetadata())
    assert detect_calibration_format(path.read_bytes()) == kind
    loaded, _ = load_any_calibration(path)
    _assert_same_rig(rig, loaded, tol=1e-12)


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("relative", "kind", "first"),
    [
        (f"{CALISCOPE}/camera_array.toml", "caliscope", "cam_0"),
        (f"{CALISCOPE}/config.toml", "caliscope", "cam_0"),
        (QCA, "qualisys", "cam01"),
    ],
)
def test_load_any_real_files(shared_datasets: Path, relative: str, kind: str, first: str) -> None:
    path = shared_datasets / relative
    assert detect_calibration_format(path.read_bytes()) == kind
    rig, _ = load_any_calibration(path)
    assert rig.names[0] == first
    assert len(rig) == 4


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\xff\xfe", "neither XML nor UTF-8"),
        (b"hello, I am not a calibration\n", "neither XML nor valid TOML"),
        (b"[project]\nname = 'x'\n[charuco]\ncolumns = 4\n", "TOML without camera tables"),
    ],
)
def test_load_any_refuses_other_files(tmp_path: Path, content: bytes, why: str) -> None:
    path = tmp_path / "mystery.toml"
    path.write_bytes(content)
    with pytest.raises(CalibrationFormatError) as info:
        load_any_calibration(path)
    message = str(info.value)
    assert all(s in message for s in (str(path), why)), message
    assert all(description in message for description in ACCEPTED_FORMATS.values()), message


def test_load_any_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nothing\.toml"):
        load_any_calibration(tmp_path / "nothing.toml")
