"""Quick genotypes with block-like LD, for tests and benchmarks that need realistic correlation."""

from __future__ import annotations

import numpy as np
from scipy import stats


def ar1_genotypes(
    rng: np.random.Generator, n: int, m: int, *, rho: float = 0.9, freq_range: tuple[float, float] = (0.05, 0.5)
) -> np.ndarray:
    """(n, m) float64 A1 counts whose LD decays along the variants.

    Each of a sample's two haplotypes is a stationary Gaussian AR(1) chain over the m
    variants (lag-one correlation ``rho``) thresholded at per-variant quantiles, so A1
    frequencies are uniform in ``freq_range`` and r between variants j and k falls
    roughly like ``rho**|j - k|``.
    """
    cut = stats.norm.ppf(rng.uniform(*freq_range, m))
    G = np.zeros((n, m))
    for _ in range(2):
        path = np.empty((n, m))
        path[:, 0] = rng.standard_normal(n)
        noise = rng.standard_normal((n, m)) * np.sqrt(1 - rho**2)
        for j in range(1, m):
            path[:, j] = rho * path[:, j - 1] + noise[:, j]
        G += path < cut
    return G
