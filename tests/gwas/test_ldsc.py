"""LD-score regression intercept against planted inflation, with and without polygenic signal."""

import numpy as np
import pytest

from phenomap.gwas.summary import ldsc_intercept


def simulated_z(rng, intercept: float, h2: float, n: int = 20_000, blocks: int = 300, m: int = 100):
    """z of blocks of AR(1) LD (rho 0.2-0.95, so LD scores spread 1-40): z ~ N(0, a R + n h2 / M R^2), the exact
    law of marginal z under an infinitesimal model with inflation a; and the true LD scores."""
    z, scores, total = [], [], blocks * m
    for rho in np.linspace(0.2, 0.95, blocks):
        lag = np.abs(np.subtract.outer(np.arange(m), np.arange(m)))
        r = rho**lag
        cov = intercept * r + n * h2 / total * r @ r
        z.append(np.linalg.cholesky(cov) @ rng.standard_normal(m))
        scores.append((r**2).sum(axis=1))
    return np.concatenate(z), np.concatenate(scores)


@pytest.mark.parametrize("intercept, h2", [(1.0, 0.0), (1.0, 0.3), (1.4, 0.3), (1.2, 0.0)])
def test_ldsc_intercept__recovers_planted_inflation_beside_polygenic_signal(rng, intercept, h2):
    estimates = np.array([ldsc_intercept(*simulated_z(rng, intercept, h2), 20_000) for _ in range(6)])
    assert abs(np.mean(estimates[:, 0]) - intercept) < 0.05
    assert abs(np.mean(estimates[:, 1]) - 20_000 * h2 / 30_000) < 0.25 * max(20_000 * h2 / 30_000, 0.2)


def test_ldsc_intercept__ignores_huge_statistics_and_needs_enough_variants(rng):
    z, scores = simulated_z(rng, 1.0, 0.0)
    z[:5] = 1e3  # chi2 1e6 > cap: left out, so the intercept stays near 1
    assert abs(ldsc_intercept(z, scores, 20_000)[0] - 1.0) < 0.1
    with pytest.raises(ValueError, match="at least 10 variants"):
        ldsc_intercept(z[:5], scores[:5], 20_000)
