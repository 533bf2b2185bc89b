"""Genome-wide summaries of association results."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

#: Median of the chi-square distribution with 1 degree of freedom (0.4549364...).
CHI2_1_MEDIAN = float(stats.chi2.ppf(0.5, 1))


def lambda_gc(*, z: ArrayLike | None = None, p: ArrayLike | None = None) -> float:
    """Genomic inflation factor: median 1-df chi-square statistic over its null median.

    Give exactly one of ``z`` (Z or t statistics, chi-square = z^2) or ``p`` (two-sided
    p-values, chi-square = ``chi2.isf(p, 1)``); NaN entries are ignored, and NaN is returned
    when nothing is left. 1 means no inflation; values above 1 mean more small p-values
    than the null predicts (confounding or polygenic signal).

    Raises
    ------
    ValueError when both or neither of z and p are given.
    """
    if (z is None) == (p is None):
        raise ValueError("give exactly one of z (Z/t statistics) or p (two-sided p-values)")
    chi2 = np.square(np.asarray(z, dtype=np.float64)) if z is not None else stats.chi2.isf(np.asarray(p, float), 1)
    chi2 = chi2[~np.isnan(chi2)]
    return float(np.median(chi2) / CHI2_1_MEDIAN) if chi2.size else float("nan")
