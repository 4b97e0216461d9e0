"""Left/right label swaps of a 2D detector, found and undone with the other cameras.

Single-view detectors (MediaPipe BlazePose, OpenPose) sometimes take a person's left for
their right: for a run of frames one camera reports the left hip where the right hip is,
and so on, for the whole body or one limb group. Seen from every other camera the person
is not swapped, which is what this module uses:

1. For each camera ``c``, the other cameras triangulate every keypoint (robustly,
   ``mocap.triangulation``) and the 3D points are projected into ``c``.
2. For each frame and each limb group (face, arms, legs: :data:`SWAP_GROUPS`), every
   left/right pair of ``c``'s detections is compared with those projections, labels as
   given and exchanged; the pair votes for a swap when exchanged fits ``1 / ratio`` times
   better, against it in the opposite case (a wrong detection, far from both places,
   abstains). When at least ``min_pairs`` pairs and :data:`VOTE_SHARE` of the votes are
   for it, a swap is called; per frame and group only the camera with the clearest one
   is swapped back in each pass (a swapped camera also misleads the others' view).
3. Up to :data:`PASSES` passes: each sees the swaps the ones before undid.

A side-on view, where left and right project close together, fits both labellings about
equally and is left alone. The module needs at least three cameras (with two, the other
camera cannot say which labelling is right).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from calibration.camera import CameraRig
from mocap.skeleton import SWAP_GROUPS
from mocap.triangulation import triangulate

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.intp]

PASSES = 4
"""Most passes over the cameras (each sees the previous passes' corrections)."""
VOTE_SHARE = 0.75
"""Share of a group's left/right pairs' votes that must be for a swap."""
REFERENCE_ERROR_PX = 25.0
"""Reprojection threshold of the other cameras' triangulation (generous: it only has to
place the body well enough to tell left from right)."""


@dataclass(frozen=True)
class SwapFix:
    """Keypoints with left/right swaps undone, and where they were found.

    Attributes
    ----------
    keypoints2d : (C, T, J, 3) float array
        The corrected keypoints (a new array).
    swapped : (C, T, G) bool array
        Whether group ``g`` (:data:`SWAP_GROUPS` order) of camera ``c`` was swapped in frame
        ``t``.
    message : str
        One line for the user: how many camera-frames were corrected, per camera.
    """

    keypoints2d: FloatArray
    swapped: BoolArray
    message: str

    def as_attrs(self) -> dict[str, int | str]:
        """Counts for the trial's ``/processing`` attributes (``swaps.*``)."""
        return {
            "swaps.groups": ", ".join(SWAP_GROUPS),
            "swaps.corrected": int(self.swapped.sum()),
            "swaps.message": self.message,
        }


def mirror_permutation(names: Sequence[str]) -> IntArray:
    """Index of each keypoint's left/right counterpart (itself when it has none).

    Parameters
    ----------
    names : sequence of J str
        Keypoint names; ``left_x``/``right_x`` and ``x_left``/``x_right`` pair up.

    Returns
    -------
    (J,) int array
    """
    index = {name: j for j, name in enumerate(names)}
    return np.array([index.get(_mirror(name), j) for j, name in enumerate(names)], dtype=np.intp)


def _split(name: str) -> tuple[str, str]:
    """(side, base): ``left_knee`` -> ("left", "knee"), ``mouth_left`` -> ("left", "mouth")."""
    for side in ("left", "right"):
        if name.startswith(f"{side}_"):
            return side, name[len(side) + 1 :]
        if name.endswith(f"_{side}"):
            return side, name[: -len(side) - 1]
    return "", name


def _mirror(name: str) -> str:
    """``left_knee`` -> ``right_knee``, ``mouth_left`` -> ``mouth_right``; else ``name``."""
    side, _ = _split(name)
    if not side:
        return name
    other = "right" if side == "left" else "left"
    return (
        f"{other}_{name[len(side) + 1 :]}"
        if name.startswith(side)
        else f"{name[: -len(side)]}{other}"
    )


def _group_members(names: Sequence[str], permutation: IntArray) -> list[IntArray]:
    """Per swap group, the indices of its keypoints that have a counterpart."""
    bases = [_split(name)[1] for name in names]
    return [
        np.array(
            [j for j, base in enumerate(bases) if permutation[j] != j and base in parts],
            dtype=np.intp,
        )
        for parts in SWAP_GROUPS.values()
    ]


def fix_left_right_swaps(
    rig: CameraRig,
    keypoints2d: NDArray,
    names: Sequence[str],
    min_confidence: float = 0.5,
    *,
    ratio: float = 0.5,
    min_pairs: int = 2,
) -> SwapFix:
    """Undo left/right swaps of single cameras (module doc).

    Parameters
    ----------
    rig : CameraRig
        The C cameras, in the order of ``keypoints2d``'s first axis.
    keypoints2d : (C, T, J, 3) float array
        Pixel x, y and confidence; frame ``t`` of every camera is one instant.
    names : sequence of J str
        Keypoint names (left/right pairs found by name).
    min_confidence : float
        Keypoints below this confidence take no part in the decision (they are swapped
        with their group all the same).
    ratio : float
        Swap when the exchanged labels' median error is below ``ratio`` times the
        original's.
    min_pairs : int
        Fewest left/right pairs of a group voting for a swap.

    Returns
    -------
    SwapFix
        Corrected keypoints, where swaps were found and a one-line message.

    Raises
    ------
    ValueError
        If the shapes of ``keypoints2d``, ``rig`` and ``names`` do not fit together.
    """
    kp = np.array(keypoints2d, dtype=np.float64)
    if kp.ndim != 4 or kp.shape[3] != 3 or kp.shape[0] != len(rig) or kp.shape[2] != len(names):
        msg = (
            f"keypoints2d must be (C, T, J, 3) with C = {len(rig)} cameras and J = "
            f"{len(names)} names; got {kp.shape}"
        )
        raise ValueError(msg)
    permutation = mirror_permutation(names)
    groups = _group_members(names, permutation)
    swapped = np.zeros((kp.shape[0], kp.shape[1], len(groups)), dtype=bool)
    if len(rig) < 3 or not any(g.size for g in groups):
        return SwapFix(
            kp, swapped, "left/right swaps: not checked (needs 3 cameras and left/right names)"
        )
    for _ in range(PASSES):
        # (C, T, G) where camera c calls a swap of group g in frame t
        called = np.stack(
            [
                _called_swaps(
                    kp[c],
                    _seen_by_others(rig, kp, c, min_confidence),
                    groups,
                    permutation,
                    min_confidence,
                    ratio,
                    min_pairs,
                )
                for c in range(len(rig))
            ]
        )
        # one camera per frame and group and pass: a swapped camera also misleads the
        # others' view of the body, so of the cameras calling a swap only the one whose
        # swap makes all cameras agree best is undone, then all are judged again
        costs = _hypothesis_costs(rig, kp, called, groups, permutation, min_confidence)
        best = np.argmin(costs, axis=0)
        flips = called & (np.arange(len(rig))[:, None, None] == best[None])
        if not flips.any():
            break
        for c, t, g in zip(*np.nonzero(flips), strict=True):
            members = groups[g]
            kp[c, t, members] = kp[c, t, permutation[members]]
        swapped ^= flips
    return SwapFix(kp, swapped, _message(rig, swapped))


def _flipped(
    kp: FloatArray, flips: BoolArray, groups: list[IntArray], permutation: IntArray
) -> FloatArray:
    """A copy of ``kp`` (C, T, J, 3) with groups swapped where ``flips`` (C, T, G)."""
    out = kp.copy()
    for c, t, g in zip(*np.nonzero(flips), strict=True):
        out[c, t, groups[g]] = kp[c, t, permutation[groups[g]]]
    return out


def _hypothesis_costs(
    rig: CameraRig,
    kp: FloatArray,
    called: BoolArray,
    groups: list[IntArray],
    permutation: IntArray,
    min_confidence: float,
) -> FloatArray:
    """(C, T, G) mean reprojection error of a group, all cameras, with camera c's swap undone.

    ``inf`` where camera c calls no swap; a group nothing reconstructs costs ``1e9``.
    """
    costs = np.full(called.shape, np.inf)
    frames = np.flatnonzero(called.any(axis=(0, 2)))
    for c in np.flatnonzero(called.any(axis=(1, 2))):
        only = np.zeros_like(called)
        only[c] = called[c]
        trial = _flipped(kp, only, groups, permutation)[:, frames]
        error = triangulate(rig, trial, min_confidence, max_error_px=REFERENCE_ERROR_PX)
        for g, members in enumerate(groups):
            mean = (
                np.nanmean(
                    np.where(
                        np.isfinite(error.reprojection_error[:, members]),
                        error.reprojection_error[:, members],
                        np.nan,
                    ),
                    axis=1,
                )
                if members.size
                else np.full(frames.size, np.nan)
            )
            costs[c, frames, g] = np.where(
                called[c, frames, g], np.nan_to_num(mean, nan=1e9), np.inf
            )
    return costs


def _row_mean(values: FloatArray) -> FloatArray:
    """Mean of each row's finite values; 1e9 for a row with none (or no columns)."""
    finite = np.isfinite(values)
    total = np.where(finite, values, 0.0).sum(axis=1)
    count = finite.sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), 1e9)


def _seen_by_others(
    rig: CameraRig, kp: FloatArray, camera: int, min_confidence: float
) -> FloatArray:
    """(T, J, 2) projections into ``camera`` of the other cameras' 3D points (NaN: none)."""
    others = [c for c in range(len(rig)) if c != camera]
    result = triangulate(
        rig.subset([rig.names[c] for c in others]),
        kp[others],
        min_confidence,
        max_error_px=REFERENCE_ERROR_PX,
    )
    points = result.points3d
    projected = rig.cameras[camera].project(points.reshape(-1, 3))
    return projected.reshape(*points.shape[:2], 2)


def _called_swaps(
    kp: FloatArray,
    expected: FloatArray,
    groups: list[IntArray],
    permutation: IntArray,
    min_confidence: float,
    ratio: float,
    min_pairs: int,
) -> BoolArray:
    """(T, G) whether the detections ``kp`` call for a swap of each group.

    Each left/right pair of a group votes: the summed distance of its two detections
    (``kp`` (T, J, 3)) to their ``expected`` (T, J, 2) places, with labels as given and
    exchanged. A pair votes for a swap when exchanged is below ``ratio`` times as given,
    against it in the opposite case; a wrong detection (far from both places) weighs about
    equally both ways and abstains. A swap is called when at least ``min_pairs`` pairs
    vote for it and they are :data:`VOTE_SHARE` of the votes.
    """
    usable = kp[..., 2] >= min_confidence
    out = np.zeros((kp.shape[0], len(groups)), dtype=bool)
    for g, members in enumerate(groups):
        left = members[members < permutation[members]]
        right = permutation[left]
        given = _distance(kp, expected, left, left) + _distance(kp, expected, right, right)
        exchanged = _distance(kp, expected, right, left) + _distance(kp, expected, left, right)
        valid = np.isfinite(given) & np.isfinite(exchanged) & usable[:, left] & usable[:, right]
        with np.errstate(invalid="ignore"):
            votes = (valid & (exchanged < ratio * given)).sum(axis=1)
            against = (valid & (given < ratio * exchanged)).sum(axis=1)
        out[:, g] = (votes >= min_pairs) & (votes >= VOTE_SHARE * (votes + against))
    return out


def _distance(kp: FloatArray, expected: FloatArray, seen: IntArray, place: IntArray) -> FloatArray:
    """(T, K) distances of detections ``seen`` to the expected places of ``place``."""
    d = kp[:, seen, :2] - expected[:, place]
    return np.hypot(d[..., 0], d[..., 1])


def _message(rig: CameraRig, swapped: BoolArray) -> str:
    """One line: camera-frames corrected, per camera."""
    frames = swapped.any(axis=2).sum(axis=1)
    if not frames.any():
        return "left/right swaps: none found"
    shown = ", ".join(f"{name} {n} frames" for name, n in zip(rig.names, frames, strict=True) if n)
    return f"left/right swaps undone: {shown}"
