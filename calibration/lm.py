"""A robust Levenberg-Marquardt solver for bundle adjustment, with a Schur complement.

Bundle problems have a few "global" parameters (camera poses, intrinsics) and many small
independent blocks (one 6-parameter board pose per frame) that touch only the global ones.
The normal equations are solved exactly by eliminating the blocks (each 6x6 block is
inverted on its own), leaving a small dense system in the global parameters. This is
exact where scipy's sparse trust-region solver uses LSMR iterations, which needed
~1,000 inner iterations per step on an ill-conditioned calibration with intrinsics.

The robust loss is the soft-L1 (smooth Huber) loss on each residual's 2D length,
applied by iteratively re-weighted least squares.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.linalg import LinAlgError, cho_factor, cho_solve
from scipy.sparse import bsr_matrix, csr_matrix

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class SolverResult:
    """Where the solver stopped.

    Attributes
    ----------
    x : (P,) float array
        Parameters.
    cost : float
        Robust cost at ``x``.
    iterations : int
        Accepted and rejected steps taken.
    success : bool
        True when the cost stopped decreasing (converged), False at the iteration limit.
    message : str
        Why it stopped.
    """

    x: FloatArray
    cost: float
    iterations: int
    success: bool
    message: str


def robust_cost(residuals: FloatArray, f_scale: float) -> float:
    """Soft-L1 cost of (2M,) residuals taken as M 2D errors: sum f² 2 (sqrt(1 + e²/f²) - 1)."""
    z = np.sum(residuals.reshape(-1, 2) ** 2, axis=1) / f_scale**2
    return float(f_scale**2 * np.sum(2.0 * (np.sqrt(1.0 + z) - 1.0)))


def _weights(residuals: FloatArray, f_scale: float) -> FloatArray:
    """(2M,) IRLS weights of the soft-L1 loss: 1 / sqrt(1 + e²/f²), per 2D error."""
    z = np.sum(residuals.reshape(-1, 2) ** 2, axis=1) / f_scale**2
    return np.repeat(1.0 / np.sqrt(1.0 + z), 2)


@dataclass(frozen=True)
class _Normal:
    """Damped normal equations split into global (g) and block (b) parameters."""

    gg: FloatArray
    gb: csr_matrix
    blocks: FloatArray
    rhs_g: FloatArray
    rhs_b: FloatArray


def _split(
    jac: csr_matrix, weights: FloatArray, residuals: FloatArray, n_global: int, damping: float
) -> _Normal:
    """J^T W J and -J^T W r, damped by ``damping`` x their diagonal, in Schur layout."""
    weighted = csr_matrix(jac.multiply(weights[:, None]))
    normal = (jac.T @ weighted).tocsr()
    gradient = -(weighted.T @ residuals)
    diag = normal.diagonal()
    normal = normal + csr_matrix(
        (damping * diag + 1e-12, (np.arange(len(diag)), np.arange(len(diag)))),
        shape=normal.shape,
    )
    n_blocks = (normal.shape[0] - n_global) // 6
    bb = bsr_matrix(normal[n_global:, n_global:], blocksize=(6, 6))
    blocks = np.zeros((n_blocks, 6, 6))
    rows = np.repeat(np.arange(n_blocks), np.diff(bb.indptr))
    on_diagonal = bb.indices == rows
    blocks[rows[on_diagonal]] = bb.data[on_diagonal]
    return _Normal(
        gg=normal[:n_global, :n_global].toarray(),
        gb=normal[:n_global, n_global:],
        blocks=blocks,
        rhs_g=gradient[:n_global],
        rhs_b=gradient[n_global:],
    )


def _schur_step(normal: _Normal) -> FloatArray:
    """Solve the damped normal equations by eliminating the 6x6 blocks first."""
    inverse = np.linalg.inv(normal.blocks)
    n_blocks = len(inverse)
    inv_bb = bsr_matrix(
        (inverse, np.arange(n_blocks), np.arange(n_blocks + 1)), shape=(6 * n_blocks,) * 2
    )
    gb_inv = (normal.gb @ inv_bb).tocsr()
    schur = normal.gg - (gb_inv @ normal.gb.T).toarray()
    rhs = normal.rhs_g - gb_inv @ normal.rhs_b
    step_g = cho_solve(cho_factor(schur), rhs)
    step_b = inv_bb @ (normal.rhs_b - normal.gb.T @ step_g)
    return np.concatenate([step_g, step_b])


def levenberg_marquardt(
    residuals: Callable[[FloatArray], FloatArray],
    jacobian: Callable[[FloatArray], csr_matrix],
    x0: FloatArray,
    n_global: int,
    f_scale: float = 1.0,
    max_iterations: int = 100,
    tolerance: float = 1e-10,
) -> SolverResult:
    """Minimise the soft-L1 cost of ``residuals(x)`` by damped Gauss-Newton steps.

    Parameters
    ----------
    residuals : callable
        ``x (P,) -> (2M,)``, 2D errors with x and y interleaved.
    jacobian : callable
        ``x (P,) -> (2M, P)`` sparse derivatives of ``residuals``.
    x0 : (P,) float array
        Start. Its first ``n_global`` entries are global parameters; the rest are 6-entry
        blocks that no residual shares with another block.
    n_global : int
        Number of global parameters.
    f_scale : float
        Error (same unit as the residuals) where the loss turns from quadratic to linear.
    max_iterations : int
        Most steps (accepted or rejected).
    tolerance : float
        Stop when a step lowers the cost by less than this fraction.

    Returns
    -------
    SolverResult
    """
    if (len(x0) - n_global) % 6:
        msg = f"{len(x0) - n_global} block parameters are not a multiple of 6"
        raise ValueError(msg)
    x = np.asarray(x0, dtype=np.float64).copy()
    r = residuals(x)
    cost, damping = robust_cost(r, f_scale), 1e-3
    for iteration in range(1, max_iterations + 1):
        normal = _split(jacobian(x), _weights(r, f_scale), r, n_global, damping)
        try:
            candidate = x + _schur_step(normal)
        except (LinAlgError, np.linalg.LinAlgError):
            damping *= 10.0
            continue
        r_new = residuals(candidate)
        new_cost = robust_cost(r_new, f_scale)
        if not new_cost < cost:
            damping *= 10.0
            if damping > 1e12:
                return SolverResult(x, cost, iteration, True, "no step lowers the cost")
            continue
        converged = cost - new_cost < tolerance * cost
        x, r, cost, damping = candidate, r_new, new_cost, max(damping / 3.0, 1e-9)
        if converged:
            return SolverResult(x, cost, iteration, True, "the cost stopped decreasing")
    return SolverResult(x, cost, max_iterations, False, "iteration limit reached")
