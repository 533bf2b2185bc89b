"""P-values of quadratic forms against exact references: chi-square, hypoexponential, Monte Carlo."""

import numpy as np
import pytest
from scipy import optimize, stats

from phenomap.genes.quadform import (
    DEFAULT_SWITCH,
    imhof_integral,
    imhof_pvalue,
    liu_pvalue,
    quadform_pvalue,
    quadform_pvalues,
    saddlepoint_pvalue,
)

TAIL = [0.9, 0.5, 0.05, 1e-3, 1e-5, 1e-8, 1e-10]


def hypoexponential_logsf(x: float, mu: np.ndarray) -> float:
    """log P(sum_i mu_i chi2_2 > x) for distinct mu (closed form); chi2_2 = two chi2_1 of weight mu_i.

    ``P = sum_i c_i exp(-x / (2 mu_i))`` with ``c_i = prod_{j != i} mu_i / (mu_i - mu_j)``,
    evaluated relative to the slowest-decaying term so it does not underflow.
    """
    c = np.array([np.prod([mu[i] / (mu[i] - mu[j]) for j in range(len(mu)) if j != i]) for i in range(len(mu))])
    top = np.argmax(mu)
    return -x / (2 * mu[top]) + np.log(np.sum(c * np.exp(-x / 2 * (1 / mu - 1 / mu[top]))))


def hypoexponential_sf(x: float, mu: np.ndarray) -> float:
    return float(np.exp(hypoexponential_logsf(x, mu)))


def hypoexponential_isf(p: float, mu: np.ndarray) -> float:
    return optimize.brentq(lambda x: hypoexponential_logsf(x, mu) - np.log(p), 1e-6, 1e4)


MU = np.array([1.0, 0.3, 0.1])  # weights (1, 1, .3, .3, .1, .1) of chi2_1


@pytest.mark.parametrize("k", [1, 2, 5, 20])
def test_liu_pvalue__exact_for_equal_weights(k):
    p = np.array(TAIL)
    q = 0.7 * stats.chi2.isf(p, k)
    np.testing.assert_allclose(liu_pvalue(q, np.full(k, 0.7)), p, rtol=1e-9)


@pytest.mark.parametrize("k", [1, 2, 5, 20])
def test_quadform_pvalue__equal_weights_match_chi2_into_the_tail(k):
    for p in TAIL:
        q = 2.5 * stats.chi2.isf(p, k)
        assert quadform_pvalue(q, np.full(k, 2.5)) == pytest.approx(p, rel=1e-4)
        assert imhof_pvalue(q, np.full(k, 2.5)) == pytest.approx(p, rel=1e-4)


def test_imhof_integral__matches_closed_form_within_its_error_estimate():
    lam = np.repeat(MU, 2)
    for p in [0.99, 0.5, 0.01, 1e-4, 1e-7, 1e-10, 1e-12]:
        x = hypoexponential_isf(p, MU)
        reference = hypoexponential_sf(x, MU)
        value, error = imhof_integral(x, lam)
        assert abs(value - reference) <= error
        assert value == pytest.approx(reference, rel=1e-3)


def test_imhof_pvalue__beats_liu_in_the_tail_and_agrees_in_the_bulk():
    lam = np.repeat(MU, 2)
    for p in [0.5, 0.2, 0.05, 0.01]:
        x = hypoexponential_isf(p, MU)
        assert float(liu_pvalue(x, lam)) == pytest.approx(imhof_pvalue(x, lam), rel=0.05)
    for p in [1e-6, 1e-9]:
        x = hypoexponential_isf(p, MU)
        assert abs(float(liu_pvalue(x, lam)) / p - 1) > 0.2  # moment matching is off in the tail
        assert imhof_pvalue(x, lam) == pytest.approx(p, rel=1e-4)
        assert quadform_pvalue(x, lam) == pytest.approx(p, rel=1e-4)


def test_quadform_pvalue__random_weights_match_monte_carlo(rng):
    n = 10**6
    for k in (2, 7):
        lam = rng.exponential(size=k)
        draws = np.zeros(n)
        for weight in lam:
            draws += weight * rng.standard_normal(n) ** 2
        for p in (0.5, 0.1, 0.01, 5e-4):
            q = np.quantile(draws, 1 - p)
            p_mc = np.mean(draws > q)
            sd = np.sqrt(p_mc * (1 - p_mc) / n)
            assert abs(imhof_pvalue(q, lam) - p_mc) < 4.5 * sd
            if p >= 0.01:  # the bulk: Liu's moment matching is a few per cent off
                assert float(liu_pvalue(q, lam)) == pytest.approx(p_mc, rel=0.05)
            # auto gives Liu's value above the switch, Imhof's below
            expected = liu_pvalue(q, lam) if liu_pvalue(q, lam) >= DEFAULT_SWITCH else imhof_pvalue(q, lam)
            assert quadform_pvalue(q, lam) == float(expected)


def test_saddlepoint_pvalue__bounded_relative_error_in_the_far_tail():
    lam = np.repeat(MU, 2)
    for p in (1e-14, 1e-20, 1e-40):
        x = hypoexponential_isf(p, MU)
        assert saddlepoint_pvalue(x, lam) == pytest.approx(p, rel=0.1)
    for k in (1, 10):  # one weight is the hardest case
        x = stats.chi2.isf(1e-30, k)
        assert saddlepoint_pvalue(x, np.ones(k)) == pytest.approx(1e-30, rel=0.15)


def test_quadform_pvalues__batched_auto_uses_each_method_where_it_is_accurate():
    lam = np.repeat(MU, 2)
    targets = [0.3, 0.1, 1e-2, 1e-6, 1e-11, 1e-25]
    q = [hypoexponential_isf(p, MU) for p in targets]
    result = quadform_pvalues(q, [lam] * len(q))
    assert result.method.tolist() == ["liu", "liu", "imhof", "imhof", "imhof", "saddlepoint"]
    for p, target, rel in zip(result.p, targets, [0.05, 0.05, 1e-6, 1e-6, 1e-3, 0.1]):
        assert p == pytest.approx(target, rel=rel)
    singles = [quadform_pvalue(x, lam) for x in q]
    np.testing.assert_array_equal(result.p, singles)


def test_quadform_pvalues__forms_of_different_sizes_and_zero_weights(rng):
    lambdas = [rng.exponential(size=k) for k in (1, 3, 9)] + [np.array([0.0, 1.0, 0.0])]
    q = [2.0, 5.0, 30.0, 3.0]
    p = quadform_pvalues(q, lambdas, method="imhof").p
    np.testing.assert_allclose(p, [imhof_pvalue(x, lam) for x, lam in zip(q, lambdas)])
    assert p[3] == pytest.approx(stats.chi2.sf(3.0, 1), rel=1e-9)
    assert quadform_pvalue(0.0, [1.0, 2.0]) == 1.0
    assert quadform_pvalues([], []).p.shape == (0,)


def test_quadform_pvalues__rejects_bad_weights_and_methods():
    with pytest.raises(ValueError, match="weight"):
        quadform_pvalues([1.0], [np.array([1.0, -0.5])])
    with pytest.raises(ValueError, match="weight"):
        quadform_pvalues([1.0], [np.zeros(3)])
    with pytest.raises(ValueError, match="weights"):
        liu_pvalue(1.0, [np.nan, 1.0])
    with pytest.raises(ValueError, match="method"):
        quadform_pvalues([1.0], [np.ones(2)], method="davies")
    with pytest.raises(ValueError, match="statistics"):
        quadform_pvalues([1.0, 2.0], [np.ones(2)])
    with pytest.raises(ValueError, match="above the mean"):
        saddlepoint_pvalue(1.0, np.ones(3))


def test_imhof_integral__matches_high_precision_quadrature_for_ill_conditioned_weights():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 25
    # LD-like spectra: a few large eigenvalues and some tiny ones; in the bulk and the tail
    for lam, q in ([np.array([1.0, 0.3, 2e-4, 1e-7]), 0.8], [np.array([2.0, 1.5, 0.1, 1e-9, 1e-12]), 30.0]):
        weights = [mp.mpf(float(v)) for v in lam]

        def integrand(u):
            if u == 0:
                return (sum(weights) - q) / 2
            theta = sum(mp.atan(w * u) for w in weights) / 2 - q * u / 2
            return mp.sin(theta) / (u * mp.exp(sum(mp.log(1 + (w * u) ** 2) for w in weights) / 4))

        reference = float(mp.mpf(0.5) + mp.quadosc(integrand, [0, mp.inf], omega=q / 2) / mp.pi)
        value, error = imhof_integral(q, lam)
        assert abs(value - reference) <= error < 1e-14
