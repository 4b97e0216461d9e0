"""The statistics of ``mocap compare`` against published values and independent code.

- ICC(3,1): Shrout & Fleiss (1979), Table 2 (6 targets x 4 judges): mean squares
  BMS 11.24, JMS 32.49, EMS 1.02 and ICC(3,1) 0.71; psych::ICC gives the 95 % interval
  [0.34, 0.95] for it. Also a reference written here from a least-squares two-way fit.
- Paired differences: scipy's ``ttest_rel`` and the t quantile, computed here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from mocap.study.stats import bland_altman, icc_consistency, paired_difference

SHROUT_FLEISS = np.array(
    [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]],
    dtype=float,
)


def reference_icc(y: np.ndarray) -> tuple[float, float, float]:
    """(ICC(3,1), MS_rows, MS_error) from a least-squares additive two-way fit.

    Independent of ``mocap.study``: the residual sum of squares comes from fitting
    y_ij = mu + a_i + b_j with dummy columns (numpy lstsq), not from the SS identity.
    """
    n, k = y.shape
    rows = np.repeat(np.eye(n), k, axis=0)
    cols = np.tile(np.eye(k), (n, 1))
    design = np.column_stack([rows, cols[:, 1:]])
    coef = np.linalg.lstsq(design, y.ravel(), rcond=None)[0]
    ms_error = float(((y.ravel() - design @ coef) ** 2).sum()) / ((n - 1) * (k - 1))
    ms_rows = k * float(np.var(y.mean(axis=1), ddof=1))
    return (ms_rows - ms_error) / (ms_rows + (k - 1) * ms_error), ms_rows, ms_error


def test_icc_equals_shrout_and_fleiss() -> None:
    """Their Table 2 mean squares and ICC(3,1) (printed to 2 decimals: 0.005 tolerance)."""
    icc = icc_consistency(SHROUT_FLEISS)
    assert (icc.n, icc.k) == (6, 4)
    assert abs(icc.ms_subjects - 11.24) < 0.005
    assert abs(icc.ms_sessions - 32.49) < 0.005
    assert abs(icc.ms_error - 1.02) < 0.005
    assert abs(icc.icc - 0.71) < 0.005
    assert abs(icc.ci_low - 0.34) < 0.005  # psych::ICC, ICC3 lower bound
    assert abs(icc.ci_high - 0.95) < 0.005


def test_icc_equals_the_least_squares_reference() -> None:
    """ICC and mean squares to 1e-9 (float rounding only) on random tables; SEM, MDC follow."""
    rng = np.random.default_rng(3)
    for n, k in ((6, 4), (10, 2), (25, 3)):
        y = rng.normal(0, 5, (n, 1)) + rng.normal(0, 1, (1, k)) + rng.normal(0, 2, (n, k))
        icc = icc_consistency(y)
        want, ms_rows, ms_error = reference_icc(y)
        assert abs(icc.icc - want) < 1e-9
        assert abs(icc.ms_subjects - ms_rows) < 1e-9 * ms_rows
        assert abs(icc.ms_error - ms_error) < 1e-9 * ms_error
        sd = float(np.std(y, ddof=1))
        assert abs(icc.sem - sd * math.sqrt(1 - want)) < 1e-9
        assert abs(icc.mdc95 - 1.96 * math.sqrt(2) * icc.sem) < 1e-12
        assert abs(icc.sem_from_ms_error - math.sqrt(ms_error)) < 1e-9


def test_icc_leaves_out_incomplete_rows_and_degenerate_tables() -> None:
    """A row with a NaN is dropped; fewer than 2 rows, or identical values, give NaN."""
    y = SHROUT_FLEISS.copy()
    y[2, 1] = np.nan
    assert icc_consistency(y).n == 5
    assert abs(icc_consistency(y).icc - reference_icc(np.delete(SHROUT_FLEISS, 2, 0))[0]) < 1e-12
    assert math.isnan(icc_consistency(SHROUT_FLEISS[:1]).icc)
    assert math.isnan(icc_consistency(np.ones((5, 2))).icc)


def test_paired_difference_equals_scipy() -> None:
    """Mean, CI (t quantile), t and p as scipy's ttest_rel (1e-12); d_z = mean / SD."""
    rng = np.random.default_rng(7)
    a = rng.normal(70, 6, 12)
    b = a + 3 + rng.normal(0, 2, 12)
    result = paired_difference(a, b)
    ref = stats.ttest_rel(b, a)
    d = b - a
    half = stats.t.ppf(0.975, 11) * d.std(ddof=1) / math.sqrt(12)
    assert result.n == 12
    assert abs(result.mean_difference - d.mean()) < 1e-12
    assert abs(result.ci_low - (d.mean() - half)) < 1e-12
    assert abs(result.ci_high - (d.mean() + half)) < 1e-12
    assert abs(result.t - ref.statistic) < 1e-9
    assert abs(result.p - ref.pvalue) < 1e-12
    assert abs(result.cohens_dz - d.mean() / d.std(ddof=1)) < 1e-12
    assert abs(result.mean_other - result.mean_reference - result.mean_difference) < 1e-12


def test_paired_difference_edge_cases() -> None:
    """NaN pairs are left out; one pair gives NaN statistics; identical differences: sd 0."""
    result = paired_difference([1.0, 2.0, np.nan, 4.0], [2.0, np.nan, 5.0, 6.0])
    assert result.n == 2
    assert math.isnan(paired_difference([1.0], [2.0]).ci_low)
    same = paired_difference([1.0, 2.0, 3.0], [2.0, 3.0, 4.0])
    assert (same.ci_low, same.ci_high, same.cohens_dz) == (1.0, 1.0, math.inf)
    with pytest.raises(ValueError, match="one length"):
        paired_difference([1.0, 2.0], [1.0])


def test_bland_altman() -> None:
    """Bias = mean difference, limits = bias -/+ 1.96 SD (Bland & Altman 1986)."""
    a = np.array([10.0, 12.0, 9.0, 11.0])
    b = np.array([11.0, 12.5, 9.5, 12.5])
    result = bland_altman(a, b)
    d = b - a
    assert result.n == 4
    assert abs(result.bias - d.mean()) < 1e-12
    assert abs(result.loa_high - (d.mean() + 1.96 * d.std(ddof=1))) < 1e-12
    assert result.means == tuple((a + b) / 2)


def test_confidence_interval_covers_95_percent() -> None:
    """Over 4000 simulated paired studies (n = 10) the CI holds the true effect 95 % of the time.

    Binomial SD of the coverage at 4000 studies: 0.34 %; tolerance 1.5 % (4.4 SD).
    """
    rng = np.random.default_rng(11)
    effect, covered = 6.0, 0
    for _ in range(4000):
        a = rng.normal(60.0, 6.0, 10)
        b = a + effect + rng.normal(0.0, 1.5, 10)
        result = paired_difference(a, b)
        covered += result.ci_low < effect < result.ci_high
    assert abs(covered / 4000 - 0.95) < 0.015
