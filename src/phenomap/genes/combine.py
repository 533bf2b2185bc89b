"""Cauchy combination of dependent p-values (Liu & Xie 2020, ACAT).

For valid p-values ``p_1 .. p_k`` of one hypothesis and weights ``w_j >= 0`` summing to 1, the
statistic ``T = sum_j w_j tan((1/2 - p_j) pi)`` is a weighted mean of standard Cauchy variables
under the null. It is exactly standard Cauchy when the p-values are independent (the Cauchy law
is stable) or identical, and its tail stays that of a standard Cauchy under arbitrary dependence
of the underlying normal scores, so ``p = 1/2 - arctan(T) / pi`` is a valid combined p-value
whose accuracy grows as p shrinks. The combined p-value is driven by the smallest inputs: about
``min_j p_j / w_j`` when one test is far more significant than the others, never below
``min_j p_j`` for equal p-values, and the cost of adding a powerless test is at most a factor
``1 / w`` on the others' p-value.

The gene test uses it to join the test of the shrunk effects (simulated null) with the
``sum z^2`` test of the GWAS z-scores (exact null), which are strongly but not perfectly
dependent: each keeps its power where the other loses it (docs/benchmarks.md).
"""

from __future__ import annotations

import numpy as np

#: Inputs are capped here: a p-value of 1 (a statistic at the bottom of a discrete null, e.g. a
#: gene whose shrunk effects are all exactly 0) scores ``-inf`` and would make the combination 1
#: whatever the other tests say. Capped, it scores ``tan(-0.49 pi) = -31.8``: a 1 and a uniform
#: partner then reject at 0.05 only when the partner is below 0.0072, so the cap stays conservative.
MAX_INPUT_P = 0.99


def cauchy_combination(pvalues: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Combined p-value of each column of ``pvalues``.

    pvalues : (k, G) p-values in [0, 1], ``k`` tests of each of ``G`` hypotheses.
    weights : (k,) non-negative, normalised to sum 1; default equal.

    Returns (G,) combined p-values; 0 where an input of positive weight is 0. Inputs above
    :data:`MAX_INPUT_P` count as :data:`MAX_INPUT_P`.
    """
    p = np.atleast_2d(np.asarray(pvalues, dtype=np.float64))
    if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    w = np.full(len(p), 1.0 / len(p)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(p),) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"need {len(p)} non-negative weights with a positive sum, got {weights}")
    used = w > 0
    p, w = np.minimum(p[used], MAX_INPUT_P), w[used] / w.sum()
    with np.errstate(divide="ignore"):  # tan((1/2 - p) pi) = 1 / tan(p pi), without rounding 1/2 - p
        scores = np.where(p < 0.5, 1.0 / np.tan(p * np.pi), np.tan((0.5 - p) * np.pi))
    total = (w[:, None] * scores).sum(axis=0)
    # 1/2 - arctan(T)/pi, written to keep precision for large T
    with np.errstate(divide="ignore"):
        return np.where(total > 1, np.arctan(1.0 / total) / np.pi, 0.5 - np.arctan(total) / np.pi)
