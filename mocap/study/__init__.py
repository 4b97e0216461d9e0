"""Comparing conditions across a study: per-rep hinge metrics of many trials, paired.

From a folder of trial files or a CSV list (``path, subject, session, condition``): the
long per-rep table, session and subject means, paired differences between conditions
with 95 % confidence intervals and Cohen's d_z, and test-retest ICC(3,1), SEM and MDC95
where sessions repeat. numpy and scipy only; :mod:`mocap.study.report` imports matplotlib
while it writes a report. Every formula is in ``docs/study-comparison.md``.

>>> from mocap.study import compare_study
>>> result = compare_study("study/", by="condition", out="comparison.html")  # doctest: +SKIP
>>> [(c.metric, c.stats.mean_difference, c.stats.ci_low, c.stats.ci_high)
...  for c in result.contrasts]  # doctest: +SKIP
"""

from mocap.study.collect import Study, StudyError, StudyTrial, collect_study
from mocap.study.compare import (
    BY_CHOICES,
    PAIR_BY_CHOICES,
    CellMean,
    Contrast,
    Reliability,
    StudyComparison,
    SubjectMean,
    analyse_study,
)
from mocap.study.job import compare_study
from mocap.study.stats import (
    BlandAltman,
    IccStats,
    PairedStats,
    bland_altman,
    icc_consistency,
    paired_difference,
)

__all__ = [
    "BY_CHOICES",
    "PAIR_BY_CHOICES",
    "BlandAltman",
    "CellMean",
    "Contrast",
    "IccStats",
    "PairedStats",
    "Reliability",
    "Study",
    "StudyComparison",
    "StudyError",
    "StudyTrial",
    "SubjectMean",
    "analyse_study",
    "bland_altman",
    "collect_study",
    "compare_study",
    "icc_consistency",
    "paired_difference",
]
