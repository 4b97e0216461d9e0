"""Views to leave out: the subset search and the leave-one-out for points whose views disagree.

Both take the m points whose usable views, all together, are well conditioned but do not
re-project within ``max_error_px`` (with their views) and return a :class:`Choice` per
point; ``mocap.triangulation`` gives the rules. Each camera's share of the DLT and ray
sums is computed once (:class:`Shares`); the sums over every subset of one size, for all
the points, are then a few additions, and all those subsets are solved in one batch.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from mocap._triangulation_linear import (
    BoolArray,
    Fit,
    FloatArray,
    IntArray,
    Limits,
    RigTerms,
    Shares,
    Views,
    columns,
    features,
    fit,
    project,
    squared_errors,
)

AMBIGUITY_RATIO = 1.0
"""When several subsets of three or more views agree and their solutions contradict each
other, the best must have at most this fraction of the runner-up's ranking error (mean
error over the subset's least confidence); otherwise the point is refused as ambiguous.
1.0: the best always wins (a subset of three views has redundancy; measured on the Pose2Sim
demo, 0.5 refused 3 % of the body points whose views all lay within MediaPipe's scatter,
while no synthetic acceptance figure changed)."""


@dataclass(frozen=True, eq=False)
class Choice:
    """Outcome for m points: which are solved, and how.

    ``found`` (m,) are solved from the views ``use`` (C, m) at ``points`` (4, m),
    homogeneous (w = 1); the others are refused, as ill conditioned where ``ill`` (m,),
    else as inconsistent.
    """

    found: BoolArray
    points: FloatArray
    use: BoolArray
    ill: BoolArray


@dataclass
class _Best:
    """Per point of a subset search: what agrees among the subsets of the largest size.

    Subsets are tried largest first, so a point's ``size`` is the largest size at which
    any subset agrees (consistent, conditioned or not); ``error`` and ``second`` are the two
    lowest mean errors there, ``points`` (4, m) and ``use`` (C, m) the best subset's
    solution and views, ``rival_points`` and ``rival_use`` the second best's (where
    ``second`` is finite), ``conditioned`` whether the best is conditioned and ``ill``
    whether any agreeing subset of that size is ill conditioned.
    """

    size: IntArray
    error: FloatArray
    second: FloatArray
    conditioned: BoolArray
    ill: BoolArray
    points: FloatArray
    use: BoolArray
    rival_points: FloatArray
    rival_use: BoolArray

    @classmethod
    def empty(cls, m: int, n_cameras: int) -> _Best:
        """No agreeing subset yet for m points."""
        return cls(
            size=np.zeros(m, dtype=np.intp),
            error=np.full(m, np.inf),
            second=np.full(m, np.inf),
            conditioned=np.zeros(m, dtype=bool),
            ill=np.zeros(m, dtype=bool),
            points=np.ones((4, m)),
            use=np.zeros((n_cameras, m), dtype=bool),
            rival_points=np.ones((4, m)),
            rival_use=np.zeros((n_cameras, m), dtype=bool),
        )

    def offer(self, index: IntArray, member: BoolArray, trial: _Trial) -> None:
        """Record the s subsets (``member`` (s, C)) of one size tried on the points ``index``.

        The best subset is the first of the lowest mean error (subsets in the order of
        ``itertools.combinations``) among those that agree.
        """
        error = np.where(trial.agree, trial.error, np.inf)  # (s, k)
        agreed = trial.agree.any(axis=0)
        first = np.argmin(error, axis=0)
        (kept,) = np.nonzero(agreed)
        index, first = index[kept], first[kept]
        self.size[index] = member[0].sum()
        self.ill[index] = columns(trial.agree & ~trial.conditioned, kept).any(axis=0)
        ranked = np.argsort(columns(error, kept), axis=0, kind="stable")
        self.error[index] = error[first, kept]
        self.conditioned[index] = trial.conditioned[first, kept]
        self.points[:, index] = trial.points[:, first, kept]
        self.use[:, index] = member[first].T
        if len(member) > 1:
            second = ranked[1]
            self.second[index] = error[second, kept]
            self.rival_points[:, index] = trial.points[:, second, kept]
            self.rival_use[:, index] = member[second].T
        else:
            self.second[index] = np.inf


@dataclass(frozen=True, eq=False)
class _Trial:
    """Solutions of k points from each of s subsets of views: arrays (s, k), points (4, s, k).

    ``agree``: the subset's solution is consistent (its views are usable); ``error`` the
    ranking error: the mean error over the subset's views divided by its least confident
    view's confidence (a view the detector doubts, an occluded knee at 0.5, weighs less).
    """

    points: FloatArray
    error: FloatArray
    agree: BoolArray
    conditioned: BoolArray


def _try(
    terms: RigTerms,
    views: Views,
    shares: Shares,
    member: BoolArray,
    limits: Limits,
    use: BoolArray | None = None,
) -> tuple[Fit, FloatArray, BoolArray]:
    """Solve k points from each of s subsets of views (``member`` (s, C)) in one batch.

    Column ``i * k + j`` is point j from subset i; errors are computed in every view and
    kept in the subset's (and ``use`` (C, k)'s, if given: else every view is usable).
    Returns the fit, the mean error (s * k,) over the views kept and those views (C, s * k).
    """
    n_subsets = member.shape[0]
    k = views.x.shape[1]
    kept = np.repeat(member.T, k, axis=1)
    if use is not None:
        kept &= np.tile(use, n_subsets)
    count = kept.sum(axis=0)
    x, y = np.tile(views.x, n_subsets), np.tile(views.y, n_subsets)
    result = fit(terms, shares.sums(member), count, (x, y, kept), limits, errors=True)
    distance = np.sqrt(result.errors, out=result.errors)
    mean = np.where(kept, distance, 0.0).sum(axis=0) / np.maximum(count, 1)
    return result, mean, kept


def _subsets(n_cameras: int, size: int) -> BoolArray:
    """Every subset of ``size`` of C cameras as a (s, C) mask, in ``combinations`` order."""
    subsets = list(itertools.combinations(range(n_cameras), size))
    member = np.zeros((len(subsets), n_cameras), dtype=bool)
    for i, cameras in enumerate(subsets):
        member[i, list(cameras)] = True
    return member


def _search_all_usable(terms: RigTerms, views: Views, limits: Limits) -> _Best:
    """The subset search for k points whose views are all usable (C, k)."""
    n_cameras, k = views.usable.shape
    shares = Shares.of(terms, features(views, limits.checks_rays))
    best = _Best.empty(k, n_cameras)
    for size in range(n_cameras - 1, limits.min_views - 1, -1):
        # points with no larger agreeing subset (the whole set has failed)
        if size == n_cameras - 1:
            index, sub_views, sub_shares = np.arange(k), views, shares
        else:
            (index,) = np.nonzero(best.size == 0)
            if index.size == 0:
                break
            sub_views, sub_shares = views.take(index), shares.take(index)
        member = _subsets(n_cameras, size)
        result, mean, _ = _try(terms, sub_views, sub_shares, member, limits)
        trial = _Trial(
            points=result.points.reshape(4, -1, index.size),
            error=mean.reshape(-1, index.size) / _least_confidences(sub_views, member),
            agree=result.consistent.reshape(-1, index.size),
            conditioned=result.conditioned.reshape(-1, index.size),
        )
        best.offer(index, member, trial)
    return best


def search_subsets(terms: RigTerms, views: Views, limits: Limits) -> Choice:
    """The largest agreeing subset of each point's views (rigs of few cameras).

    Every subset of at least ``min_views`` usable views is tried, largest first; a point
    keeps its largest agreeing subset unless that choice is ambiguous or next to an
    agreeing but ill-conditioned subset (``mocap.triangulation`` explains why). Their whole
    set of views has failed, so subsets are smaller than it. Points are searched in groups
    with the same usable cameras, each group as a rig of those cameras only.
    """
    n_cameras, m = views.usable.shape
    pattern = (views.usable * (1 << np.arange(n_cameras))[:, None]).sum(axis=0)
    order = np.argsort(pattern, kind="stable")
    ordered = views.take(order)
    codes, starts = np.unique(pattern[order], return_index=True)
    bounds = [*starts.tolist(), m]
    choice = Choice(
        found=np.zeros(m, dtype=bool),
        points=np.ones((4, m)),
        use=np.zeros((n_cameras, m), dtype=bool),
        ill=np.zeros(m, dtype=bool),
    )
    for code, start, stop in zip(codes.tolist(), bounds[:-1], bounds[1:], strict=True):
        cameras = [c for c in range(n_cameras) if code >> c & 1]
        fields = (ordered.x, ordered.y, ordered.weight, ordered.usable)
        sub = Views(*(field[cameras, start:stop] for field in fields))
        sub_terms = terms.cameras(cameras)
        best = _search_all_usable(sub_terms, sub, limits)
        distinct = _unambiguous(sub_terms, sub, best, limits)
        found = (best.size > 0) & best.conditioned & ~best.ill & distinct
        index = order[start:stop]
        choice.found[index] = found
        choice.points[:, index] = best.points
        choice.use[np.ix_(cameras, index)] = best.use & found
        choice.ill[index] = best.ill
    return choice


def _agrees_with(
    terms: RigTerms, views: Views, points: FloatArray, use: BoolArray, limits: Limits
) -> BoolArray:
    """(m,) whether ``points`` (4, m) re-project within the limit in the views ``use`` (C, m)."""
    squared = squared_errors(terms, project(terms, points), views.x, views.y)
    return np.all((squared <= limits.max_error_px**2) | ~use, axis=0)


def _unambiguous(terms: RigTerms, views: Views, best: _Best, limits: Limits) -> BoolArray:
    """(m,) whether each point's best subset is a clear choice.

    It is when no other subset of its size agrees, when the runner-up's solution agrees
    with the best's views and the best's solution with the runner-up's views (two
    subsets that say the same thing: e.g. two triples sharing a pair, whose odd views
    disagree a little), or, for more than two views, when the best's ranking error is at
    most ``AMBIGUITY_RATIO`` of the runner-up's. Two views have no redundancy (their error
    is only the epipolar distance), so a contradicting second pair always makes the
    choice a guess.
    """
    alone = np.isinf(best.second)
    same = (
        ~alone
        & _agrees_with(terms, views, best.rival_points, best.use, limits)
        & _agrees_with(terms, views, best.points, best.rival_use, limits)
    )
    clearer = (best.size > 2) & (best.error <= AMBIGUITY_RATIO * best.second)
    return alone | same | clearer


def _least_confidences(views: Views, member: BoolArray) -> FloatArray:
    """(s, k) the lowest confidence among each subset's views (``member`` (s, C)); 1 if none."""
    least = np.where(member[:, :, None], views.weight[None], np.inf).min(axis=1)
    return np.where(np.isfinite(least) & (least > 0), least, 1.0)


def _leave_one_out(
    terms: RigTerms, views: Views, shares: Shares, use: BoolArray, limits: Limits
) -> tuple[IntArray, Fit]:
    """For each point, the view whose removal from ``use`` (C, k) helps most, and that fit.

    ``shares`` must be zero for the views not in ``use``. Accepted solutions rank first
    (by mean error), then the rest by their largest error.
    """
    n_cameras, k = use.shape
    member = ~np.eye(n_cameras, dtype=bool)  # subset c: every camera but c
    result, mean, without = _try(terms, views, shares, member, limits, use)
    worst = np.where(without, result.errors, 0.0).max(axis=0)  # errors hold distances now
    accepted = result.consistent & result.conditioned
    score = np.where(accepted, mean, 1e9 + worst).reshape(n_cameras, k)
    score[np.isnan(score) | ~use] = np.inf  # only views in use can be dropped
    # a point whose every removal scores inf still loses a view in use (progress)
    drop = np.where(np.isfinite(score.min(axis=0)), np.argmin(score, axis=0), np.argmax(use, 0))
    pick = drop * k + np.arange(k)
    return drop, Fit(
        columns(result.points, pick), None, None, result.consistent[pick], result.conditioned[pick]
    )


def drop_views(terms: RigTerms, views: Views, limits: Limits) -> Choice:
    """Drop the most harmful view of each point until its solution is accepted (large rigs).

    Greedy leave-one-out: each round solves every point once without each of its views
    and keeps the removal that helps most, while at least ``min_views`` views remain.
    """
    n_cameras, m = views.usable.shape
    shares = Shares.of(terms, features(views, limits.checks_rays))
    use = views.usable.copy()
    choice = Choice(
        found=np.zeros(m, dtype=bool),
        points=np.ones((4, m)),
        use=np.zeros((n_cameras, m), dtype=bool),
        ill=np.zeros(m, dtype=bool),
    )
    open_ = np.arange(m)
    while open_.size:
        sub_use = columns(use, open_)
        sub = shares.take(open_)
        rays = None if sub.rays is None else sub.rays * sub_use[:, None]
        sub = Shares(sub.normal * sub_use[:, None], rays)  # dropped views add nothing
        drop, result = _leave_one_out(terms, views.take(open_), sub, sub_use, limits)
        use[drop, open_] = False
        ok = result.consistent & result.conditioned
        done = open_[ok]
        choice.found[done] = True
        choice.points[:, done] = columns(result.points, ok)
        choice.use[:, done] = columns(use, done)
        # fewer views cannot be better conditioned
        ill = ~ok & result.consistent & ~result.conditioned
        choice.ill[open_[ill]] = True
        last = ~ok & ~ill & (columns(use, open_).sum(axis=0) <= limits.min_views)
        open_ = open_[~ok & ~ill & ~last]
    return choice


def choose_views(terms: RigTerms, views: Views, limits: Limits) -> Choice:
    """The subset search for rigs of up to ``max_subset_cameras`` cameras, else leave-one-out."""
    if views.usable.shape[0] <= limits.max_subset_cameras:
        return search_subsets(terms, views, limits)
    return drop_views(terms, views, limits)
