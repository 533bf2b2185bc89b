"""Baseline effect shrinkage: scale conversion, elastic net, SuSiE-RSS, point-normal EB, dispatch."""

from __future__ import annotations

import inspect
import logging

import numpy as np
import pysusie
import pytest
from scipy import integrate, stats
from sklearn.linear_model import ElasticNet

from phenomap.errors import InputError
from phenomap.shrinkage.baselines import (
    METHOD_OPTIONS,
    METHODS,
    eb_point_normal,
    enet_summary_path,
    enet_sumstats,
    repair_ld,
    shrink_block,
    standardised_effects,
    susie_rss_block,
    susie_rss_fit,
)


def haplotypes(rng: np.random.Generator, n: int, m: int, rho: float) -> np.ndarray:
    """(n, m) 0/1 haplotypes: a stationary AR(1) Gaussian path thresholded at per-variant quantiles."""
    cut = stats.norm.ppf(rng.uniform(0.1, 0.5, m))
    path = np.empty((n, m))
    path[:, 0] = rng.standard_normal(n)
    for j in range(1, m):
        path[:, j] = rho * path[:, j - 1] + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    return (path < cut).astype(np.float64)


def block_genotypes(rng: np.random.Generator, n: int, m: int, rho: float = 0.95) -> np.ndarray:
    """(n, m) allele counts of a haplotype block with LD decaying along the block."""
    return haplotypes(rng, n, m, rho) + haplotypes(rng, n, m, rho)


def marginal_gwas(G: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-variant OLS of y on an intercept and one variant, by numpy lstsq: (beta_hat, se)."""
    n, m = G.shape
    beta_hat, se = np.empty(m), np.empty(m)
    for j in range(m):
        design = np.column_stack([np.ones(n), G[:, j]])
        coef, rss, *_ = np.linalg.lstsq(design, y, rcond=None)
        covariance = rss[0] / (n - 2) * np.linalg.inv(design.T @ design)
        beta_hat[j], se[j] = coef[1], np.sqrt(covariance[1, 1])
    return beta_hat, se


def simulate(rng, G, beta, noise_sd=1.0):
    y = G @ beta + noise_sd * rng.standard_normal(len(G))
    beta_hat, se = marginal_gwas(G, y)
    return y, beta_hat, se, np.corrcoef(G.T).astype(np.float32)


def rmse(a, b) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


# --------------------------------------------------------------------------- scales and LD


def test_standardised_effects__map_joint_ols_to_per_allele_exactly(rng):
    G = block_genotypes(rng, 300, 8)
    y = G @ rng.normal(0, 0.3, 8) + 5.0 + rng.standard_normal(300)
    beta_hat, se = marginal_gwas(G, y)

    r, scale = standardised_effects(beta_hat, se, 300)

    np.testing.assert_allclose(r, [np.corrcoef(g, y)[0, 1] for g in G.T], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(scale, np.std(y) / np.std(G, axis=0), rtol=1e-12)
    joint = np.linalg.lstsq(np.column_stack([np.ones(300), G]), y, rcond=None)[0][1:]
    np.testing.assert_allclose(scale * np.linalg.solve(np.corrcoef(G.T), r), joint, rtol=1e-9)


def test_repair_ld__non_psd_matrix_becomes_psd_with_unit_diagonal(rng, caplog):
    R = np.corrcoef(block_genotypes(rng, 400, 30).T)
    R[0, 29] = R[29, 0] = 0.95  # inconsistent with the rest of the block: not PSD
    assert np.linalg.eigvalsh(R)[0] < -1e-2

    with caplog.at_level(logging.WARNING):
        repaired = repair_ld(R)

    assert np.linalg.eigvalsh(repaired.R)[0] > -1e-12
    np.testing.assert_allclose(np.diag(repaired.R), 1.0, atol=1e-12)
    np.testing.assert_allclose(repaired.vectors @ np.diag(repaired.values) @ repaired.vectors.T, repaired.R, atol=1e-12)
    assert "not positive semi-definite" in caplog.text


def test_repair_ld__leaves_psd_matrix_unchanged(rng):
    R = np.corrcoef(block_genotypes(rng, 400, 30).T)
    np.testing.assert_allclose(repair_ld(R).R, R, atol=1e-12)


@pytest.mark.parametrize("method", ["enet", "susie"])
def test_shrink_block__materially_non_psd_ld_is_repaired_and_reported(rng, caplog, method):
    n, m = 1000, 30
    G = block_genotypes(rng, n, m)
    beta = np.zeros(m)
    beta[10] = 0.3
    _, beta_hat, se, R = simulate(rng, G, beta)
    R[0, 29] = R[29, 0] = 0.95

    with caplog.at_level(logging.WARNING):
        shrunk = shrink_block(method, beta_hat, se, R, n)

    assert "not positive semi-definite" in caplog.text
    assert rmse(shrunk, beta) < 0.5 * rmse(beta_hat, beta)


# --------------------------------------------------------------------------- elastic net


def test_enet_summary_path__equals_sklearn_elasticnet_on_individual_data(rng):
    n, m = 500, 30
    G = block_genotypes(rng, n, m)
    X = (G - G.mean(axis=0)) / G.std(axis=0)
    y = X[:, [3, 11, 20]] @ [0.4, -0.3, 0.2] + rng.standard_normal(n)
    ld, r = repair_ld(X.T @ X / n), X.T @ y / n
    lambdas = [0.02, 0.1, 0.005]  # deliberately not sorted

    for l1_ratio in (0.1, 0.5, 1.0):
        path = enet_summary_path(ld, r, lambdas, l1_ratio, tol=1e-14)
        for lam, ours in zip(lambdas, path.T):
            model = ElasticNet(alpha=lam, l1_ratio=l1_ratio, fit_intercept=False, tol=1e-14, max_iter=100_000)
            np.testing.assert_allclose(ours, model.fit(X, y).coef_, atol=1e-6)


def test_enet_sumstats__pseudo_validation_finds_two_causal_variants_in_ld(rng):
    n, m = 2000, 80
    G = block_genotypes(rng, n, m)
    R = np.corrcoef(G.T)
    causal = [30, 30 + int(np.argmax((np.abs(R[30, 31:40]) < 0.7) & (np.abs(R[30, 31:40]) > 0.3))) + 1]
    assert 0.3 < abs(R[causal[0], causal[1]]) < 0.7
    beta = np.zeros(m)
    beta[causal] = 0.25
    _, beta_hat, se, R32 = simulate(rng, G, beta)

    fit = enet_sumstats(beta_hat, se, R32, n)

    assert rmse(fit.beta, beta) < 0.3 * rmse(beta_hat, beta)
    assert np.all(fit.beta[causal] != 0)
    assert fit.score > 0 and fit.n_nonzero < m / 4


def test_enet_sumstats__null_block_is_shrunk_to_almost_all_zeros(rng):
    n, m = 2000, 80
    G = block_genotypes(rng, n, m)
    _, beta_hat, se, R = simulate(rng, G, np.zeros(m))

    fit = enet_sumstats(beta_hat, se, R, n)

    assert fit.n_nonzero <= m // 8  # usually 0: a chance positive pseudo-validation score keeps a few
    assert rmse(fit.beta, 0) < 0.3 * rmse(beta_hat, 0)


# --------------------------------------------------------------------------- SuSiE-RSS


def strong_causal_with_tight_neighbours(rng, n=2000, m=40, causal=20, neighbours=(18, 19, 21, 22)):
    """Genotypes where ``neighbours`` copy the causal variant's haplotypes up to 3% flips (r ~ 0.9)."""
    first, second = haplotypes(rng, n, m, 0.9), haplotypes(rng, n, m, 0.9)
    for h in (first, second):
        for j in neighbours:
            h[:, j] = np.where(rng.random(n) < 0.03, 1 - h[:, causal], h[:, causal])
    return first + second


def test_susie_rss_block__strong_causal_kept_and_tight_neighbours_shrunk(rng):
    causal, neighbours = 20, [18, 19, 21, 22]
    G = strong_causal_with_tight_neighbours(rng)
    R = np.corrcoef(G.T)
    assert np.all(np.abs(R[causal, neighbours]) > 0.8)
    beta = np.zeros(G.shape[1])
    beta[causal] = 0.3
    _, beta_hat, se, R32 = simulate(rng, G, beta, noise_sd=0.4)  # z ~ 20: the data can tell r ~ 0.9 apart
    assert np.all(np.abs(beta_hat[neighbours]) > 0.2)

    shrunk = susie_rss_block(beta_hat, se, R32, len(G))

    assert abs(shrunk[causal] - 0.3) < 3 * se[causal]
    assert np.all(np.abs(shrunk[neighbours]) < 0.03)
    assert rmse(shrunk, beta) < 0.2 * rmse(beta_hat, beta)


def test_susie_rss_block__equals_pysusie_on_individual_data(rng):
    G = strong_causal_with_tight_neighbours(rng, n=1000)
    beta = np.zeros(G.shape[1])
    beta[[5, 20]] = [0.2, -0.3]
    y, beta_hat, se, _ = simulate(rng, G, beta)

    ours = susie_rss_block(beta_hat, se, np.corrcoef(G.T), len(G), tol=1e-8, max_iter=1000)

    fit = pysusie.susie(G, y, L=10, estimate_residual_variance=False, tol=1e-8, max_iter=1000)
    np.testing.assert_allclose(ours, pysusie.coef_susie(fit)[1:], atol=1e-6)
    pip_weighted = np.sum(fit["alpha"] * fit["mu"], axis=0) / fit["X_column_scale_factors"]
    np.testing.assert_allclose(ours, pip_weighted, atol=1e-6)


def test_susie_rss_fit__pips_equal_pysusie_on_individual_data(rng):
    G = strong_causal_with_tight_neighbours(rng, n=1000)
    beta = np.zeros(G.shape[1])
    beta[[5, 20]] = [0.2, -0.3]
    y, beta_hat, se, _ = simulate(rng, G, beta)

    mean, pip = susie_rss_fit(beta_hat, se, np.corrcoef(G.T), len(G), tol=1e-8, max_iter=1000)

    fit = pysusie.susie(G, y, L=10, estimate_residual_variance=False, tol=1e-8, max_iter=1000)
    np.testing.assert_allclose(pip, pysusie.susie_get_pip(fit), atol=1e-6)
    np.testing.assert_allclose(mean, pysusie.coef_susie(fit)[1:], atol=1e-6)
    assert pip[[18, 19, 20, 21, 22]].sum() > 0.9  # one effect, spread over the causal variant and its LD partners


def test_susie_rss_block__non_convergence_is_logged_not_raised(rng, caplog):
    G = strong_causal_with_tight_neighbours(rng, n=500)
    beta = np.zeros(G.shape[1])
    beta[[5, 20]] = [0.2, -0.3]
    _, beta_hat, se, R = simulate(rng, G, beta)

    with caplog.at_level(logging.WARNING):
        shrunk = susie_rss_block(beta_hat, se, R, len(G), max_iter=1)

    assert np.all(np.isfinite(shrunk))
    assert "did not converge in 1 iterations" in caplog.text


def test_susie_rss_block__pysusie_failure_becomes_input_error(monkeypatch):
    def refuse(**_):
        raise ValueError("The estimated prior variance is unreasonably large.")

    monkeypatch.setattr(pysusie, "susie_rss", refuse)
    with pytest.raises(InputError, match=r"SuSiE-RSS failed on a block of 3 variants: The estimated prior.*LD"):
        susie_rss_block(*_block())


# --------------------------------------------------------------------------- empirical Bayes


def test_eb_point_normal__recovers_planted_pi_and_tau2(rng):
    m, pi, tau2 = 20_000, 0.05, 0.04
    se = rng.uniform(0.05, 0.15, m)
    beta = np.where(rng.random(m) < pi, rng.normal(0, np.sqrt(tau2), m), 0.0)

    fit = eb_point_normal(beta + se * rng.standard_normal(m), se)

    assert fit.pi == pytest.approx(pi, rel=0.25)
    assert fit.tau2 == pytest.approx(tau2, rel=0.25)


def test_eb_point_normal__posterior_mean_equals_numerical_integral(rng):
    m = 2000
    se = rng.uniform(0.05, 0.15, m)
    beta_hat = np.where(rng.random(m) < 0.1, rng.normal(0, 0.3, m), 0.0) + se * rng.standard_normal(m)
    fit = eb_point_normal(beta_hat, se)

    for j in np.argsort(np.abs(beta_hat))[[0, m // 2, m - 30, m - 1]]:
        def joint(b, j=j):  # density of (beta_j = b, beta_hat_j) on the continuous (non-null) part
            return fit.pi * stats.norm.pdf(b, scale=np.sqrt(fit.tau2)) * stats.norm.pdf(beta_hat[j], b, se[j])

        limit = 10 * np.sqrt(fit.tau2)
        numerator = integrate.quad(lambda b: b * joint(b), -limit, limit, points=[beta_hat[j]], limit=200)[0]
        evidence = integrate.quad(joint, -limit, limit, points=[beta_hat[j]], limit=200)[0]
        evidence += (1 - fit.pi) * stats.norm.pdf(beta_hat[j], 0, se[j])
        assert fit.beta[j] == pytest.approx(numerator / evidence, rel=1e-6, abs=1e-12)


# --------------------------------------------------------------------------- dispatch and errors


def test_shrink_block__dispatches_to_each_method(rng):
    n, m = 1000, 30
    G = block_genotypes(rng, n, m)
    beta = np.zeros(m)
    beta[10] = 0.3
    _, beta_hat, se, R = simulate(rng, G, beta)

    expected = {
        "enet": enet_sumstats(beta_hat, se, R, n, seed=4).beta,
        "susie": susie_rss_block(beta_hat, se, R, n),
        "eb": eb_point_normal(beta_hat, se).beta,
        "none": beta_hat,
        "zero": np.zeros(m),
    }
    assert set(expected) == set(METHODS)
    for method, want in expected.items():
        np.testing.assert_array_equal(shrink_block(method, beta_hat, se, R, n, seed=4), want)


def test_shrink_block__declared_options_are_the_keyword_arguments_of_each_method():
    def keywords(function):
        parameters = inspect.signature(function).parameters.items()
        return tuple(name for name, p in parameters if p.kind is p.KEYWORD_ONLY and name != "seed")

    assert METHOD_OPTIONS["enet"] == keywords(enet_sumstats)
    assert METHOD_OPTIONS["susie"] == keywords(susie_rss_fit)
    assert set(METHOD_OPTIONS) == set(METHODS)


def _block():
    return np.array([0.1, -0.2, 0.3]), np.array([0.05, 0.05, 0.05]), np.eye(3), 1000


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda b, s, R, n: (b, s[:2], R, n), r"se has shape \(2,\)"),
        (lambda b, s, R, n: (b, s, np.eye(4), n), r"R has shape \(4, 4\)"),
        (lambda b, s, R, n: (b * [1, np.nan, 1], s, R, n), r"beta_hat\[1\] is nan"),
        (lambda b, s, R, n: (b * [1, 1, np.inf], s, R, n), r"beta_hat\[2\] is inf"),
        (lambda b, s, R, n: (b, s * [1, 0, 1], R, n), r"se\[1\] is 0"),
        (lambda b, s, R, n: (b, s * [np.nan, 1, 1], R, n), r"se\[0\] is nan"),
        (lambda b, s, R, n: (b, s * [1, 1, -1], R, n), r"se\[2\] is -0.05"),
        (lambda b, s, R, n: (b, s, R + np.triu(np.full((3, 3), 0.1), 1), n), r"R is not symmetric: R\[0, 1\]"),
        (lambda b, s, R, n: (b, s, np.where(np.eye(3) == 1, 1.0, np.nan), n), r"R\[0, 1\] is nan"),
        (lambda b, s, R, n: (b, s, 2 * R, n), r"R\[0, 0\] = 2.0; an LD correlation matrix has unit diagonal"),
        (lambda b, s, R, n: (b, s, R, 2), r"n = 2; the GWAS sample size"),
        (lambda b, s, R, n: (b[:0], s[:0], R[:0, :0], n), r"beta_hat must be a non-empty"),
    ],
)
@pytest.mark.parametrize("method", METHODS)
def test_shrink_block__bad_input_raises(change, match, method):
    with pytest.raises(InputError, match=match):
        shrink_block(method, *change(*_block()))


@pytest.mark.parametrize(
    ("method", "options", "match"),
    [
        ("lasso", {}, r"method 'lasso' is unknown; choose one of enet, susie"),
        ("none", {"L": 5}, r"method 'none' has no option 'L'; its options are: none"),
        ("susie", {"lambda_": 5}, r"method 'susie' has no option 'lambda_'; its options are: L, "),
        ("susie", {"L": 0}, r"L = 0; SuSiE needs at least one single effect"),
        ("enet", {"l1_ratios": (0.0, 0.5)}, r"l1_ratios = \(0.0, 0.5\); each mixing must lie in \(0, 1\]"),
        ("enet", {"validation_fraction": 1.0}, r"validation_fraction = 1.0"),
        ("enet", {"n_splits": 0}, r"n_splits = 0"),
        ("enet", {"criterion": "auc"}, r"criterion = 'auc'; choose one of r2, correlation"),
    ],
)
def test_shrink_block__bad_method_or_option_raises(method, options, match):
    with pytest.raises(InputError, match=match):
        shrink_block(method, *_block(), **options)


def test_eb_point_normal__bad_se_raises():
    with pytest.raises(InputError, match=r"se\[1\] is -1.0; standard errors must be positive"):
        eb_point_normal([0.1, 0.2], [0.1, -1.0])
