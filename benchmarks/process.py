"""Throughput of ``mocap process`` against the detector alone, on the Pose2Sim demo.

Both runs in this process, on the same 4 videos x 100 frames (1088x1920, 60 fps) with the
same number of spawned worker processes, one camera at a time each:

- end to end: :func:`mocap.process_job.process_recording` (checks, decoding, MediaPipe
  BlazePose, spine-marker search, offset estimation, robust triangulation, filtering, the
  atomic write of the trial file);
- detector only: each worker decodes its camera's video and runs the same MediaPipe
  detector (``MediaPipePoseDetector``) on every frame, nothing else.

Wall times include starting the workers (imports, MediaPipe graphs) in both. The two are
run alternately, ``--repeat`` times each, and the fastest of each is compared; the issue
asks for end to end >= 85 % of detector only. Other work on the machine makes wall times
scatter, so the CPU time of all processes (this one and its finished workers, from
``getrusage``) is shown too: the work done, whatever the load.

Run from the repository root::

    .venv/bin/python benchmarks/process.py [--workers N] [--repeat 2]
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == _HERE:
    # run as a script: benchmarks/calibration.py would shadow the ``calibration`` package
    sys.path[0] = str(_HERE.parent)

import argparse  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import cv2  # noqa: E402

# Only cv2 at the top: the detector-only workers re-import this module (spawn), and should
# import nothing but what the detector needs; HingeLab's modules are imported in main().

DEMO = _HERE.parent.parent / "shared" / "datasets" / "pose2sim_demo_singleperson"


def detect_only(video: Path) -> int:
    """Decode one video and run BlazePose on every frame; the number of frames."""
    from mocap.detectors.mediapipe_pose import MediaPipePoseFactory  # noqa: PLC0415

    capture = cv2.VideoCapture(str(video))
    frames = 0
    with MediaPipePoseFactory().create(video.stem) as detector:
        while True:
            ok, image = capture.read()
            if not ok:
                break
            detector.detect(image)
            frames += 1
    capture.release()
    return frames


def cpu_seconds() -> float:
    """User + system CPU time of this process and of its children that have ended."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def time_detector(videos: list[Path], workers: int) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and camera-frames of the detector alone."""
    from mocap.detect_job import run_jobs  # noqa: PLC0415

    start, cpu = time.perf_counter(), cpu_seconds()
    frames = sum(run_jobs(videos, detect_only, workers))
    return time.perf_counter() - start, cpu_seconds() - cpu, frames


def time_process(
    videos: Path, calibration: Path, out: Path, workers: int
) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and camera-frames of ``process_recording``."""
    from mocap.process_job import process_recording  # noqa: PLC0415

    start, cpu = time.perf_counter(), cpu_seconds()
    trial = process_recording(videos, calibration, out, progress=False, workers=workers)
    return time.perf_counter() - start, cpu_seconds() - cpu, trial.n_cameras * trial.n_frames


def report(
    detector: list[tuple[float, float, int]], pipeline: list[tuple[float, float, int]]
) -> None:
    """Print the fastest of each and their ratios."""
    det_s, _, det_frames = min(detector)
    end_s, _, end_frames = min(pipeline)
    det_fps, end_fps = det_frames / det_s, end_frames / end_s
    det_cpu = min(cpu / frames for _, cpu, frames in detector)
    end_cpu = min(cpu / frames for _, cpu, frames in pipeline)
    print(f"detector only (MediaPipe, decode included): {det_fps:6.1f} camera-frames/s")
    print(f"end to end (process_recording):             {end_fps:6.1f} camera-frames/s")
    print(f"end to end / detector only: {100 * end_fps / det_fps:.1f} % (the issue asks >= 85 %)")
    print(
        f"CPU per camera-frame: detector only {1000 * det_cpu:.1f} ms, end to end "
        f"{1000 * end_cpu:.1f} ms; as throughput {100 * det_cpu / end_cpu:.1f} %"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, help="worker processes (default: per camera/CPU)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (fastest counts)")
    args = parser.parse_args()
    videos = sorted((DEMO / "videos").glob("cam*.mp4"))
    calibration = DEMO / "calibration" / "Calib.qca.txt"
    if not videos or not calibration.is_file():
        print(f"the Pose2Sim demo is missing: {DEMO}", file=sys.stderr)
        return 1
    from mocap.detect_job import default_workers  # noqa: PLC0415

    workers = args.workers or default_workers(len(videos))
    print(f"Pose2Sim demo: {len(videos)} videos, {workers} worker processes")
    detector, pipeline = [], []
    with tempfile.TemporaryDirectory() as work:
        for k in range(args.repeat):
            detector.append(time_detector(videos, workers))
            pipeline.append(
                time_process(DEMO / "videos", calibration, Path(work) / "t.h5", workers)
            )
            for name, (wall, cpu, frames) in (
                ("detector", detector[-1]),
                ("process", pipeline[-1]),
            ):
                print(
                    f"  run {k + 1} {name:<8}: {wall:6.2f} s wall, {frames / wall:5.1f} frames/s, "
                    f"{cpu:6.2f} s CPU"
                )
    report(detector, pipeline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
