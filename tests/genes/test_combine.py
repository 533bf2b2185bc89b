"""Cauchy combination of p-values: scipy reference, exactness, validity under dependence, tail precision."""

import numpy as np
import pytest
from scipy import stats

from phenomap.genes.combine import MAX_INPUT_P, cauchy_combination


def test_cauchy_combination__equals_scipy_cauchy_mean(rng):
    """Reference: the mean of the inputs' standard Cauchy quantiles, back through scipy's survival function."""
    p = rng.uniform(1e-6, MAX_INPUT_P, size=(3, 500))
    w = np.array([0.2, 0.3, 0.5])
    reference = stats.cauchy.sf(w @ stats.cauchy.isf(p))
    np.testing.assert_allclose(cauchy_combination(p, w), reference, rtol=1e-9)
    np.testing.assert_allclose(cauchy_combination(p), stats.cauchy.sf(stats.cauchy.isf(p).mean(axis=0)), rtol=1e-9)


def test_cauchy_combination__exact_for_identical_and_independent_inputs(rng):
    p = rng.uniform(0, MAX_INPUT_P, 1000)
    np.testing.assert_allclose(cauchy_combination(np.vstack([p, p])), p, rtol=1e-9)
    independent = cauchy_combination(rng.uniform(size=(2, 20_000)))
    for alpha in (1e-3, 0.01, 0.05, 0.2, 0.5):  # exact below the inputs' cap at MAX_INPUT_P
        lo, hi = stats.binom.ppf([0.0005, 0.9995], len(independent), alpha)
        assert lo <= np.sum(independent <= alpha) <= hi


def test_cauchy_combination__valid_under_dependence_and_precise_in_the_tail(rng):
    """Correlated normal scores (rho 0.7): type-I error at 0.05 and 0.01 within a 99.9% binomial band."""
    scores = rng.multivariate_normal([0, 0], [[1, 0.7], [0.7, 1]], size=100_000).T
    combined = cauchy_combination(stats.norm.sf(scores))
    for alpha in (0.05, 0.01):
        lo, hi = stats.binom.ppf([0.0005, 0.9995], len(combined), alpha)
        assert lo <= np.sum(combined <= alpha) <= 1.1 * hi  # the combination is at most slightly liberal here
    # one decisive test: about twice its p-value with two equal weights, down to the smallest floats
    np.testing.assert_allclose(cauchy_combination(np.array([[1e-300, 1e-12], [0.5, 0.5]])), [2e-300, 2e-12], rtol=1e-6)
    assert cauchy_combination(np.array([[0.0], [0.3]]))[0] == 0.0


def test_cauchy_combination__a_p_of_one_does_not_veto(rng):
    assert cauchy_combination(np.array([[1.0], [1e-4]]))[0] < 1e-3
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        cauchy_combination(np.array([[1.5], [0.2]]))
