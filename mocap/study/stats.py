"""The statistics of a study comparison: paired differences and test-retest reliability.

Pure numpy and scipy, no I/O; every formula is written out in ``docs/study-comparison.md``.

- :func:`paired_difference`: mean of per-subject differences with a 95 % confidence
  interval from the t distribution, the paired t-test and Cohen's d_z.
- :func:`icc_consistency`: ICC(3,1), two-way mixed effects, consistency, single measures
  (Shrout & Fleiss 1979 case 3; McGraw & Wong 1996 "ICC(C,1)") from the two-way ANOVA
  mean squares, its confidence interval, SEM and MDC95.
- :func:`bland_altman`: bias and 95 % limits of agreement between two sessions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

CONFIDENCE = 0.95
"""Level of every confidence interval."""
Z95 = 1.96
"""The normal quantile of the MDC95 and of the limits of agreement (as in the literature)."""
NAN = float("nan")


@dataclass(frozen=True)
class PairedStats:
    """A paired comparison: ``other - reference`` per subject.

    Attributes
    ----------
    n : int
        Number of subjects with both values.
    mean_reference, sd_reference, mean_other, sd_other : float
        Mean and SD (n - 1) of the subjects' values in each condition.
    mean_difference, sd_difference, se_difference : float
        Mean, SD (n - 1) and standard error (SD / sqrt(n)) of the differences.
    ci_low, ci_high : float
        ``mean_difference -/+ t(0.975, n - 1) * se_difference``.
    t, df, p : float
        Paired t statistic ``mean / se``, its degrees of freedom ``n - 1`` and two-sided p.
    cohens_dz : float
        ``mean_difference / sd_difference`` (Cohen's d_z, the paired-samples d).
    """

    n: int
    mean_reference: float
    sd_reference: float
    mean_other: float
    sd_other: float
    mean_difference: float
    sd_difference: float
    se_difference: float
    ci_low: float
    ci_high: float
    t: float
    df: float
    p: float
    cohens_dz: float


def _mean_sd(values: np.ndarray) -> tuple[float, float]:
    """Mean and sample SD (ddof 1; NaN for fewer than 2 values)."""
    if values.size == 0:
        return NAN, NAN
    sd = float(np.std(values, ddof=1)) if values.size > 1 else NAN
    return float(np.mean(values)), sd


def _ratio(num: float, den: float) -> float:
    """The ratio num / den; +-inf for a zero denominator, NaN for 0 / 0."""
    if den != 0:
        return num / den
    return NAN if num == 0 or math.isnan(num) else math.copysign(math.inf, num)


def paired_difference(
    reference: npt.ArrayLike, other: npt.ArrayLike, confidence: float = CONFIDENCE
) -> PairedStats:
    """Paired comparison of ``other - reference`` (one value per subject, same order).

    Pairs where either value is not finite are left out. With fewer than 2 pairs every
    statistic but the means is NaN.

    Parameters
    ----------
    reference, other : array_like, shape (n,)
        Each subject's mean in the reference condition and in the other condition.
    confidence : float
        Level of the confidence interval (0.95).

    Returns
    -------
    PairedStats
    """
    a, b = np.asarray(reference, dtype=float), np.asarray(other, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        msg = f"paired values need two (n,) arrays of one length, got {a.shape} and {b.shape}"
        raise ValueError(msg)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    diff = b - a
    n = int(diff.size)
    mean_a, sd_a = _mean_sd(a)
    mean_b, sd_b = _mean_sd(b)
    mean_d, sd_d = _mean_sd(diff)
    if n < 2:
        return PairedStats(n, mean_a, sd_a, mean_b, sd_b, mean_d, *(NAN,) * 8)
    se = sd_d / math.sqrt(n)
    df = n - 1
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * se
    t = _ratio(mean_d, se)
    p = NAN if math.isnan(t) else float(2 * stats.t.sf(abs(t), df))
    return PairedStats(
        n,
        mean_a,
        sd_a,
        mean_b,
        sd_b,
        mean_d,
        sd_d,
        se,
        mean_d - half,
        mean_d + half,
        t,
        float(df),
        p,
        _ratio(mean_d, sd_d),
    )


@dataclass(frozen=True)
class IccStats:
    """Test-retest reliability of an n subjects x k sessions table.

    Attributes
    ----------
    n, k : int
        Subjects (rows) and sessions (columns).
    grand_mean, sd : float
        Mean and sample SD (n k - 1) of all n k values.
    ms_subjects, ms_sessions, ms_error : float
        Two-way ANOVA mean squares: rows (df n - 1), columns (df k - 1), residual
        (df (n - 1)(k - 1)).
    icc, ci_low, ci_high : float
        ICC(3,1) = (MS_subjects - MS_error) / (MS_subjects + (k - 1) MS_error) and its
        confidence interval (McGraw & Wong 1996, F distribution).
    sem : float
        ``sd * sqrt(1 - icc)``.
    mdc95 : float
        ``1.96 * sqrt(2) * sem``.
    sem_from_ms_error : float
        ``sqrt(ms_error)``, the SEM that does not depend on the ICC (Weir 2005).
    """

    n: int
    k: int
    grand_mean: float
    sd: float
    ms_subjects: float
    ms_sessions: float
    ms_error: float
    icc: float
    ci_low: float
    ci_high: float
    sem: float
    mdc95: float
    sem_from_ms_error: float


def icc_consistency(table: npt.ArrayLike, confidence: float = CONFIDENCE) -> IccStats:
    """ICC(3,1) (two-way mixed, consistency, single measures), SEM and MDC95.

    Parameters
    ----------
    table : array_like, shape (n, k)
        One row per subject, one column per session; rows with a non-finite value are
        left out (the ANOVA needs a complete table).
    confidence : float
        Level of the ICC's confidence interval (0.95).

    Returns
    -------
    IccStats
        NaN statistics when fewer than 2 complete rows or 2 columns remain.
    """
    y = np.asarray(table, dtype=float)
    if y.ndim != 2:
        msg = f"the test-retest table must be (subjects, sessions), got shape {y.shape}"
        raise ValueError(msg)
    y = y[np.isfinite(y).all(axis=1)]
    n, k = y.shape
    if n < 2 or k < 2:
        mean = float(y.mean()) if y.size else NAN
        return IccStats(n, k, mean, *(NAN,) * 10)
    grand = float(y.mean())
    ss_total = float(((y - grand) ** 2).sum())
    ss_rows = k * float(((y.mean(axis=1) - grand) ** 2).sum())
    ss_cols = n * float(((y.mean(axis=0) - grand) ** 2).sum())
    df_rows, df_cols, df_error = n - 1, k - 1, (n - 1) * (k - 1)
    ms_rows, ms_cols = ss_rows / df_rows, ss_cols / df_cols
    ms_error = max(ss_total - ss_rows - ss_cols, 0.0) / df_error
    icc = _ratio(ms_rows - ms_error, ms_rows + (k - 1) * ms_error)
    low, high = _icc_interval(ms_rows, ms_error, n, k, confidence)
    sd = math.sqrt(ss_total / (n * k - 1))
    sem = sd * math.sqrt(max(1 - icc, 0.0))  # 1 - icc < 0 only by rounding
    return IccStats(
        n,
        k,
        grand,
        sd,
        ms_rows,
        ms_cols,
        ms_error,
        icc,
        low,
        high,
        sem,
        Z95 * math.sqrt(2) * sem,
        math.sqrt(ms_error),
    )


def _icc_interval(
    ms_rows: float, ms_error: float, n: int, k: int, confidence: float
) -> tuple[float, float]:
    """McGraw & Wong (1996) interval of ICC(C,1) from F = MS_rows / MS_error."""
    if ms_error <= 0:
        return NAN, NAN
    f_obs = ms_rows / ms_error
    df1, df2 = n - 1, (n - 1) * (k - 1)
    q = 0.5 + confidence / 2
    f_low = f_obs / float(stats.f.ppf(q, df1, df2))
    f_high = f_obs * float(stats.f.ppf(q, df2, df1))
    return (f_low - 1) / (f_low + k - 1), (f_high - 1) / (f_high + k - 1)


@dataclass(frozen=True)
class BlandAltman:
    """Agreement of two sessions: ``second - first`` per subject.

    Attributes
    ----------
    n : int
        Subjects with both values.
    means, differences : tuple of float
        Per subject: the mean of the two sessions and their difference (the plot's x, y).
    bias : float
        Mean difference.
    sd : float
        SD (n - 1) of the differences.
    loa_low, loa_high : float
        95 % limits of agreement ``bias -/+ 1.96 sd``.
    """

    n: int
    means: tuple[float, ...]
    differences: tuple[float, ...]
    bias: float
    sd: float
    loa_low: float
    loa_high: float


def bland_altman(first: npt.ArrayLike, second: npt.ArrayLike) -> BlandAltman:
    """Bias and limits of agreement of ``second - first`` (pairs with a NaN left out)."""
    a, b = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    diff = b - a
    bias, sd = _mean_sd(diff)
    return BlandAltman(
        int(diff.size),
        tuple(((a + b) / 2).tolist()),
        tuple(diff.tolist()),
        bias,
        sd,
        bias - Z95 * sd,
        bias + Z95 * sd,
    )
