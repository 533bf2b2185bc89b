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


#: LD-score regression leaves out variants with chi-square above max(LDSC_CHI2_CAP, n / 1000), as LDSC does:
#: a few huge statistics would otherwise set the fit.
LDSC_CHI2_CAP = 80.0


def ldsc_intercept(z: ArrayLike, ldscore: ArrayLike, n: float, *, rounds: int = 3) -> tuple[float, float]:
    """Intercept and slope of the LD-score regression ``E[z^2] = a + b l`` (Bulik-Sullivan et al. 2015).

    z : (m,) association z-scores; ldscore : (m,) LD scores of the same variants (e.g. within
    LD blocks); n : GWAS sample size (sets the chi-square cap). The slope ``b = n h2 / M``
    carries polygenic signal, which grows with LD; the intercept ``a`` is inflation that does
    not (confounding, cryptic relatedness, and long-range LD that the LD scores miss); 1 in a
    clean GWAS. Weighted least squares, re-weighted ``rounds`` times by the LDSC variance model
    ``1 / (max(l, 1) (a + b l)^2)`` from an unweighted start; NaN entries are ignored.
    Returns ``(a, b)``; ValueError with fewer than 10 usable variants. The intercept needs many
    variants: on 30,000 in blocks of strong LD its SD was 0.04 with polygenic signal, on 6,000
    about 0.2 (tests/gwas/test_ldsc.py's simulation).
    """
    z, ldscore = np.asarray(z, dtype=np.float64), np.asarray(ldscore, dtype=np.float64)
    chi2 = z**2
    keep = np.isfinite(chi2) & np.isfinite(ldscore) & (chi2 <= max(LDSC_CHI2_CAP, n / 1000))
    if keep.sum() < 10:
        raise ValueError(f"LD-score regression needs at least 10 variants with z and LD score, got {keep.sum()}")
    chi2, ldscore = chi2[keep], ldscore[keep]
    design = np.column_stack([np.ones_like(ldscore), ldscore])
    weights = np.ones_like(ldscore)
    for _ in range(rounds + 1):
        root = np.sqrt(weights)[:, None]
        (a, b), *_ = np.linalg.lstsq(design * root, chi2 * root[:, 0], rcond=None)
        expected = np.maximum(a + b * ldscore, 1e-3)
        weights = 1.0 / (np.maximum(ldscore, 1.0) * expected**2)
    return float(a), float(b)
