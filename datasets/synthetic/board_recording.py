"""Rendered calibration recordings: board images through each camera's real lens, on disk.

A recording is what ``mocap calibrate`` reads: one folder of PNG images (lossless) or one
video per camera, named after the camera, frame ``i`` of every camera being the same
instant. Two kinds of session are made here, both with exact ground truth:

- the *extrinsic* session: one board waved through the capture volume and seen by all
  cameras at once (``datasets.synthetic.board_views.waving_poses``), its first frame lying
  on the floor at the world origin;
- the *intrinsic* session of one camera: the board held close to it, moved over the whole
  image and tilted (``intrinsic_poses``), as a lab does camera by camera.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from tqdm import tqdm

from calibration.camera import Camera, CameraRig
from datasets.render import TexturedBoard, board_pose_looking_at, lens_rays, render_board
from datasets.synthetic.board_views import waving_poses
from datasets.synthetic.body import FloatArray

ImageFormat = Literal["png", "mkv"]

FACING_LIMIT_DEG = 80.0
"""A camera further than this from the board's printed normal sees its blank back."""


@dataclass(frozen=True)
class RenderSettings:
    """How board images are rendered (the defaults give ~0.1-0.2 px corner noise).

    Attributes
    ----------
    supersample : int
        Samples per pixel along each axis (anti-aliasing).
    blur_sigma_px : float
        Optical blur, pixels.
    noise_sigma : float
        Sensor noise, grey levels.
    margin_m : float
        White paper border around the printed squares, metres.
    """

    supersample: int = 2
    blur_sigma_px: float = 0.7
    noise_sigma: float = 3.0
    margin_m: float = 0.03


def intrinsic_poses(
    camera: Camera,
    board: TexturedBoard,
    n_views: int = 20,
    fill: float = 0.45,
    seed: int = 0,
) -> list[FloatArray]:
    """World <- board poses (4, 4) of a board held close to one camera, covering its image.

    The board's centre visits a jittered grid over the image (edges and corners included)
    at a distance where it spans about ``fill`` of the image width, tilted up to 40
    degrees about each axis and rolled up to 20 degrees, so the views constrain focal
    length, principal point and distortion.

    Parameters
    ----------
    camera : Camera
        The true camera (its pose places the boards in the world).
    board : TexturedBoard
        The board.
    n_views : int
        Number of poses.
    fill : float
        Board width as a fraction of the image width, at zero tilt.
    seed : int
        Seed of the jitter.
    """
    rng = np.random.default_rng(seed)
    width, height = camera.size
    corners = board.corner_points()
    board_width = float(np.ptp(corners[:, 0]) + 2 * board.square_size_m)
    distance = camera.matrix[0, 0] * board_width / (fill * width)
    grid = [(gx, gy) for gy in (0.3, 0.5, 0.7) for gx in (0.25, 0.5, 0.75)]
    poses = []
    for i in range(n_views):
        gx, gy = grid[i % len(grid)]
        pixel = (
            width * float(np.clip(gx + rng.uniform(-0.08, 0.08), 0.2, 0.8)),
            height * float(np.clip(gy + rng.uniform(-0.08, 0.08), 0.25, 0.75)),
        )
        tilt = (float(rng.uniform(-40, 40)), float(rng.uniform(-40, 40)))
        poses.append(
            board_pose_looking_at(
                camera,
                board,
                distance * rng.uniform(0.85, 1.15),
                pixel=pixel,
                tilt_deg=tilt,
                roll_deg=float(rng.uniform(-20, 20)),
            )
        )
    return poses


def faces_camera(camera: Camera, board_to_world: FloatArray, limit_deg: float) -> bool:
    """Whether the board's printed side is within ``limit_deg`` of facing the camera."""
    centre = board_to_world[:3, 3]
    facing = -board_to_world[:3, 2]  # OpenCV board z points into the board
    to_camera = camera.center - centre
    cosine = facing @ to_camera / np.linalg.norm(to_camera)
    return bool(cosine > np.cos(np.deg2rad(limit_deg)))


def render_frames(
    camera: Camera,
    board: TexturedBoard,
    poses: Sequence[FloatArray],
    settings: RenderSettings = RenderSettings(),
    seed: int = 0,
) -> Iterator[tuple[int, np.ndarray]]:
    """(frame, (H, W) uint8 image) of ``camera`` for every board pose, lazily.

    A board whose back faces the camera is drawn as a plain grey frame (its back is
    blank paper), so detections come only from views a real camera could detect.
    """
    rays = lens_rays(camera, settings.supersample)
    blank = np.full(camera.size[::-1], 128, dtype=np.uint8)
    for frame, pose in enumerate(poses):
        if not faces_camera(camera, np.asarray(pose), FACING_LIMIT_DEG):
            yield frame, blank
            continue
        yield (
            frame,
            render_board(
                camera,
                board,
                pose,
                margin_m=settings.margin_m,
                supersample=settings.supersample,
                blur_sigma_px=settings.blur_sigma_px,
                noise_sigma=settings.noise_sigma,
                seed=seed + 7919 * frame,
                rays=rays,
            ),
        )


def _write_png_folder(folder: Path, frames: Iterator[tuple[int, np.ndarray]]) -> Path:
    """Write frames as ``folder/000000.png`` ...; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for frame, image in frames:
        if not cv2.imwrite(str(folder / f"{frame:06d}.png"), image):
            msg = f"could not write {folder / f'{frame:06d}.png'}"
            raise OSError(msg)
    return folder


def _write_video(
    path: Path, size: tuple[int, int], frames: Iterator[tuple[int, np.ndarray]]
) -> Path:
    """Write frames to a lossless FFV1 Matroska video at 30 fps; returns the path."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 30.0, size, False)
    if not writer.isOpened():
        msg = f"OpenCV cannot write FFV1 video {path}"
        raise OSError(msg)
    try:
        for _, image in frames:
            writer.write(image)
    finally:
        writer.release()
    return path


def write_board_recording(
    folder: Path,
    rig: CameraRig,
    board: TexturedBoard,
    poses: Sequence[FloatArray] | dict[str, Sequence[FloatArray]],
    image_format: ImageFormat = "png",
    settings: RenderSettings = RenderSettings(),
    seed: int = 0,
) -> dict[str, Path]:
    """Render every camera's view of the board poses into ``folder``.

    Parameters
    ----------
    folder : Path
        Output folder (created).
    rig : CameraRig
        The true cameras.
    board : TexturedBoard
        The board.
    poses : sequence of (4, 4) float arrays, or dict of camera name to such sequences
        World <- board pose per frame, shared by all cameras (a synchronized session) or
        per camera (intrinsic sessions).
    image_format : {"png", "mkv"}
        A folder of PNG images per camera, or one lossless FFV1 video per camera.
    settings : RenderSettings
        Rendering quality and noise.
    seed : int
        Seed of the image noise.

    Returns
    -------
    dict of str to Path
        The folder or video written for each camera.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for index, camera in enumerate(rig):
        mine = poses[camera.name] if isinstance(poses, dict) else poses
        frames = render_frames(camera, board, mine, settings, seed=seed + 104729 * index)
        if image_format == "png":
            written[camera.name] = _write_png_folder(folder / camera.name, frames)
        else:
            path = folder / f"{camera.name}.mkv"
            written[camera.name] = _write_video(path, camera.size, frames)
    return written


@dataclass(frozen=True)
class CalibrationSession:
    """Where a rendered calibration session was written.

    Attributes
    ----------
    extrinsic : Path
        Folder with one synchronized image folder per camera (the board waved around).
    intrinsic : Path
        Folder with one image folder per camera (the board held close to it).
    """

    extrinsic: Path
    intrinsic: Path


def _render_camera(
    folder: Path, camera: Camera, board: TexturedBoard, poses: Sequence[FloatArray], seed: int
) -> Path:
    """Render one camera's PNG folder (a picklable unit of work for worker processes)."""
    return _write_png_folder(folder / camera.name, render_frames(camera, board, poses, seed=seed))


def write_calibration_session(
    folder: Path,
    rig: CameraRig,
    board: TexturedBoard,
    n_frames: int = 80,
    n_intrinsic: int = 20,
    seed: int = 0,
    workers: int = 1,
    progress: bool = False,
) -> CalibrationSession:
    """Render a whole calibration session of ``rig`` as PNG folders, as a lab records one.

    Parameters
    ----------
    folder : Path
        Output folder; ``extrinsic/<camera>/`` and ``intrinsic/<camera>/`` are created.
    rig : CameraRig
        The true cameras.
    board : TexturedBoard
        The board.
    n_frames : int
        Synchronized frames of the waved board (frame 0: lying on the floor at the origin).
    n_intrinsic : int
        Close-up views per camera.
    seed : int
        Seed of the board's path and the image noise.
    workers : int
        Processes rendering cameras in parallel (1: this process).
    progress : bool
        Show a progress bar (on stderr).

    Returns
    -------
    CalibrationSession
    """
    session = CalibrationSession(folder / "extrinsic", folder / "intrinsic")
    waving = waving_poses(board, n_frames, seed=seed)
    jobs = []
    for i, cam in enumerate(rig):
        close = intrinsic_poses(cam, board, n_intrinsic, seed=seed + i)
        jobs.append((session.extrinsic, cam, board, waving, seed + 10 * i))
        jobs.append((session.intrinsic, cam, board, close, seed + 10 * i + 5))
    bar = tqdm(total=len(jobs), desc="rendering board images", unit="camera", disable=not progress)
    if workers <= 1:
        for job in jobs:
            _render_camera(*job)
            bar.update()
        bar.close()
        return session
    # spawn, not fork: OpenCV's thread pools do not survive a fork
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for done in as_completed([pool.submit(_render_camera, *job) for job in jobs]):
            done.result()
            bar.update()
    bar.close()
    return session
