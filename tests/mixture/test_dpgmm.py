"""Zero-mean truncated DP Gaussian mixture: ELBO, planted recovery, EM reference, null set, errors."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.special import multigammaln, xlogy
from scipy.stats import multivariate_normal
from sklearn.metrics import adjusted_rand_score

from phenomap.errors import InputError
from phenomap.mixture import dpgmm
from phenomap.mixture.dpgmm import fit_dpgmm, load_mixture, save_mixture
from phenomap.mixture.typing import classify_components

#: trait-1 specific, shared positive, shared negative; traces 2, 1, 0.5 (the fit's order).
PLANTED = np.array([
    np.diag([2.0, 0.0008]),
    0.5 * np.array([[1.0, 0.99], [0.99, 1.0]]),
    0.25 * np.array([[1.0, -0.99], [-0.99, 1.0]]),
])
PLANTED_WEIGHTS = np.array([0.3, 0.3, 0.4])


def planted(rng: np.random.Generator, n: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2) effects from the planted mixture and their true components (0-based)."""
    z = rng.choice(3, size=n, p=PLANTED_WEIGHTS)
    x = np.zeros((n, 2))
    for k, cov in enumerate(PLANTED):
        x[z == k] = rng.multivariate_normal([0, 0], cov, size=int((z == k).sum()))
    return x, z


@pytest.fixture(scope="module")
def planted_fit():
    x, z = planted(np.random.default_rng(20261125))
    return x, z, fit_dpgmm(x, seed=1, max_fitted_fraction=None)


def zero_mean_em(x: np.ndarray, weights: np.ndarray, covs: np.ndarray, n_iter: int = 300):
    """Maximum-likelihood EM for a zero-mean Gaussian mixture with a fixed number of components."""
    for _ in range(n_iter):
        log_p = np.column_stack([np.log(w) + multivariate_normal(cov=c).logpdf(x) for w, c in zip(weights, covs)])
        r = np.exp(log_p - log_p.max(axis=1, keepdims=True))
        r /= r.sum(axis=1, keepdims=True)
        weights = r.mean(axis=0)
        covs = np.einsum("nk,ni,nj->kij", r, x, x) / r.sum(axis=0)[:, None, None]
    return weights, covs


def assert_monotone(trace: np.ndarray) -> None:
    assert trace.size >= 2
    assert np.all(np.diff(trace) >= -1e-8 * np.abs(trace[1:]))


def test_fit_dpgmm__elbo_never_decreases(rng):
    # heavy-tailed data (no true finite mixture), one to three traits, with and without the restart subset
    for d, subsample in [(1, None), (2, None), (3, 500)]:
        x = rng.standard_t(3, size=(1000, d)) * rng.uniform(0.1, 2.0, size=(1000, 1))
        fit = fit_dpgmm(x, n_restarts=2, seed=d, restart_subsample=subsample, tol=1e-8)
        assert_monotone(fit.elbo_trace)


def test_elbo__each_update_maximises_it(rng):
    # the closed-form ELBO and the CAVI updates agree: moving any factor off its update lowers it
    x = rng.standard_t(4, size=(500, 2))
    prior = dpgmm._default_prior(x, 1.0)
    outer = dpgmm._outer(x)
    before = dpgmm._start_from_labels(outer, rng.integers(0, 5, 500), 5, prior)
    r, stats = dpgmm._e_step(outer, before)
    assert stats.neg_entropy == pytest.approx(xlogy(r, r).sum(), rel=1e-10)

    def stats_of(resp):
        return dpgmm._Stats(counts=resp.sum(axis=1), scatter=resp @ outer.T, neg_entropy=xlogy(resp, resp).sum())

    noisy = r * np.exp(rng.normal(0, 0.3, size=r.shape))
    assert dpgmm._elbo(stats_of(noisy / noisy.sum(axis=0)), before, prior) < dpgmm._elbo(stats, before, prior)
    after = dpgmm._m_step(stats, prior)
    best = dpgmm._elbo(stats, after, prior)
    assert best > dpgmm._elbo(stats, before, prior)
    tilt = np.array([[0.0, 1.0], [1.0, 0.0]]) * 0.05 * after.scatter[:, :1, :1]
    for moved in [replace(after, a=after.a * 1.05), replace(after, b=after.b * 0.95), replace(after, nu=after.nu + 0.5),
                  replace(after, nu=after.nu - 0.5), replace(after, scatter=after.scatter * 1.02),
                  replace(after, scatter=after.scatter + tilt)]:
        assert dpgmm._elbo(stats, moved, prior) < best


def test_fit_dpgmm__elbo_is_the_exact_evidence_for_one_component(rng):
    # with one component the variational posterior is exact, so the ELBO is log p(x)
    x = rng.multivariate_normal([0, 0], [[1.0, 0.3], [0.3, 0.5]], size=400)
    fit = fit_dpgmm(x, k_max=1, n_restarts=1, max_fitted_fraction=None)
    n, d = x.shape
    prior_scatter = np.diag([np.median(col**2) for col in x.T])  # the documented default W0^-1
    nu0, nu_n = d + 2, d + 2 + n
    log_evidence = (-0.5 * n * d * np.log(np.pi) + multigammaln(nu_n / 2, d) - multigammaln(nu0 / 2, d)
                    + 0.5 * nu0 * np.linalg.slogdet(prior_scatter)[1]
                    - 0.5 * nu_n * np.linalg.slogdet(prior_scatter + x.T @ x)[1])
    assert fit.elbo_trace[-1] == pytest.approx(log_evidence, rel=1e-10)
    np.testing.assert_allclose(fit.covariances[0], (prior_scatter + x.T @ x) / (nu_n - d - 1), rtol=1e-10)


def test_fit_dpgmm__recovers_planted_mixture(planted_fit):
    x, z, fit = planted_fit
    assert fit.k_star == 3
    assert np.all(fit.restart_kstars == 3) and fit.n_restarts_with_kstar == 25
    np.testing.assert_allclose(fit.weights, PLANTED_WEIGHTS, atol=0.03)
    np.testing.assert_allclose(fit.covariances, PLANTED, rtol=0.1, atol=0.01)
    assert adjusted_rand_score(z, fit.labels) > 0.8
    assert_monotone(fit.elbo_trace)
    # labels are the largest responsibilities; epsilon is the smallest cluster's variances
    np.testing.assert_allclose(fit.responsibilities.sum(axis=1), 1.0)
    np.testing.assert_array_equal(fit.labels, fit.responsibilities.argmax(axis=1) + 1)
    np.testing.assert_array_equal(fit.null_variance, np.diag(fit.covariances[-1]))
    traces = np.trace(fit.covariances, axis1=1, axis2=2)
    assert np.all(np.diff(traces) < 0)


def test_fit_dpgmm__matches_brute_force_zero_mean_em(planted_fit):
    x, _, fit = planted_fit
    weights, covs = zero_mean_em(x, PLANTED_WEIGHTS, PLANTED)
    order = np.argsort(-np.trace(covs, axis1=1, axis2=2))
    np.testing.assert_allclose(fit.weights, weights[order], atol=0.01)
    np.testing.assert_allclose(fit.covariances, covs[order], rtol=0.03, atol=2e-3)


def test_fit_dpgmm__restarts_on_a_subset_agree_with_restarts_on_all(planted_fit):
    x, _, full = planted_fit
    sub = fit_dpgmm(x, seed=1, n_restarts=5, restart_subsample=1000, max_fitted_fraction=None)
    assert sub.k_star == 3
    np.testing.assert_allclose(sub.covariances, full.covariances, rtol=0.02, atol=1e-3)
    assert (sub.labels == full.labels).mean() > 0.99


def test_fit_dpgmm__same_seed_gives_identical_fit(rng):
    x = rng.standard_t(4, size=(2000, 2))
    first, second = (fit_dpgmm(x, n_restarts=4, seed=7) for _ in range(2))
    for field in ("weights", "covariances", "labels", "responsibilities", "elbo_trace", "restart_kstars"):
        np.testing.assert_array_equal(getattr(first, field), getattr(second, field))


def test_fit_dpgmm__exact_zeros_and_tiny_effects_are_null(rng):
    signal = rng.choice([-1, 1], size=(600, 2)) * rng.uniform(0.05, 1.0, size=(600, 2))
    tiny = rng.normal(0, 1e-6, size=(300, 2))  # NN-shrunk style
    zeros = np.zeros((300, 2))  # elastic-net style
    one_zero = np.column_stack([signal[:100, 0], np.zeros(100)])  # zero on one trait only: fitted
    x = np.vstack([signal, tiny, zeros, one_zero])
    fit = fit_dpgmm(x, n_restarts=2, max_fitted_fraction=None)
    np.testing.assert_allclose(fit.null_cutoff, 1e-3 * np.abs(x).max(axis=0))
    assert np.all(fit.labels[600:1200] == 0)
    assert np.all(fit.labels[:600] > 0) and np.all(fit.labels[1200:] > 0)
    assert fit.responsibilities.shape == (700, fit.k_star)
    # a fixed cutoff in effect units, one per trait
    fixed = fit_dpgmm(x, n_restarts=2, null_cutoff=[0.5, 0.5])
    np.testing.assert_array_equal(fixed.labels == 0, np.all(np.abs(x) <= 0.5, axis=1))


def test_fit_dpgmm__ml_mages_cutoff_fits_every_non_zero_variant(rng, caplog):
    # the paper's rule: fitted = non-zero on some trait (eq. 3), however small; no cap on the fitted share
    signal = rng.standard_t(3, size=(400, 2))
    tiny = rng.normal(0, 1e-12, size=(300, 2))
    zeros = np.zeros((200, 2))
    one_zero = np.column_stack([np.zeros(100), rng.normal(0, 1e-9, 100)])
    x = np.vstack([signal, tiny, zeros, one_zero])[rng.permutation(1000)]
    fit = fit_dpgmm(x, n_restarts=2, null_cutoff="ml-mages")
    expected = np.array([any(value != 0.0 for value in row) for row in x.tolist()])
    assert expected.sum() == 800  # 80% fitted: the default 0.2 cap is not applied
    np.testing.assert_array_equal(fit.fitted, expected)
    np.testing.assert_array_equal(fit.null_cutoff, [0.0, 0.0])
    assert "max_fitted_fraction is ignored" in caplog.text
    adaptive = fit_dpgmm(x, n_restarts=2, max_fitted_fraction=None)  # drops the 1e-12 and 1e-9 effects
    np.testing.assert_array_equal(adaptive.fitted, (np.abs(x) > 1e-3 * np.abs(x).max(axis=0)).any(axis=1))
    assert adaptive.fitted.sum() == 400
    with pytest.raises(InputError, match=r"null_cutoff must be one of \['adaptive', 'ml-mages'\]"):
        fit_dpgmm(x, null_cutoff="zero")


def hand_posterior(covariances: np.ndarray, counts: np.ndarray, alpha: float = 1.0) -> dpgmm._Posterior:
    """q(v), q(Lambda) of components holding ``counts`` variants with E[Sigma_k] = ``covariances``."""
    d = covariances.shape[1]
    nu = d + 2.0 + counts
    tail = np.cumsum(counts[::-1])[::-1]
    return dpgmm._Posterior(a=1.0 + counts[:-1], b=alpha + tail[1:], nu=nu,
                            scatter=covariances * (nu - d - 1)[:, None, None])


def test_final_fit__cluster_without_variants_is_removed_before_kstar_types_and_epsilon(rng):
    # trait-1 specific and shared-positive clusters hold the data; a third component with weight ~1.6%
    # (inside the 99% of the weight) is tiny and shared-negative, and no variant is near enough to zero
    specific, shared = np.diag([1.0, 0.01]), 100 * np.array([[1.0, 0.9], [0.9, 1.0]])
    empty = 1e-6 * np.array([[1.0, -0.99], [-0.99, 1.0]])
    x = np.vstack([rng.multivariate_normal([0, 0], specific, 300), rng.multivariate_normal([0, 0], shared, 300)])
    x = x[np.linalg.norm(x, axis=1) > 0.05]
    post = hand_posterior(np.array([specific, shared, empty]), np.array([300.0, 300.0, 10.0]))
    weights = np.array([301 / 612, (311 / 612) * (301 / 312), (311 / 612) * (11 / 312)])  # E[pi_k] by hand
    assert dpgmm._k_star(weights, 0.99) == 3
    fitted = np.ones(len(x), dtype=bool)
    fit = dpgmm._final_fit(x, post, 0.99, 1, fitted, np.ones(2, dtype=bool), np.zeros(2), [0.0], np.array([2]), 1)

    assert fit.k_star == 2
    np.testing.assert_allclose(fit.covariances, [shared, specific])  # by decreasing trace
    assert list(classify_components(fit.covariances, trait_names=["a", "b"])["type"]) == [
        "shared-positive", "trait-specific"]
    np.testing.assert_allclose(fit.null_variance, np.diag(specific))  # not the empty component's 1e-6
    np.testing.assert_allclose(fit.weights, weights[[1, 0]] / weights[:2].sum())
    full, _ = dpgmm._e_step(dpgmm._outer(x), post)  # responsibilities over all three components
    assert full[2].max() < 0.5  # the third component labels no variant
    np.testing.assert_allclose(fit.responsibilities, (full[[1, 0]] / full[:2].sum(axis=0)).T, rtol=1e-10)
    np.testing.assert_array_equal(fit.labels, fit.responsibilities.argmax(axis=1) + 1)
    assert np.all(np.bincount(fit.labels, minlength=3)[1:] > 0)


def test_fit_dpgmm__every_cluster_holds_min_cluster_size_variants(rng):
    x = rng.standard_t(3, size=(3000, 2)) * rng.lognormal(0, 1.0, size=(3000, 1))
    small, large = (fit_dpgmm(x, n_restarts=3, seed=2, max_fitted_fraction=None, min_cluster_size=m) for m in (1, 300))
    for fit, m in [(small, 1), (large, 300)]:
        sizes = np.bincount(fit.labels, minlength=fit.k_star + 1)[1:]
        assert sizes.size == fit.k_star and sizes.min() >= m
        np.testing.assert_array_equal(fit.labels[fit.fitted], fit.responsibilities.argmax(axis=1) + 1)
        np.testing.assert_allclose(fit.weights.sum(), 1.0)
        np.testing.assert_array_equal(fit.null_variance, np.diag(fit.covariances[-1]))
    assert large.k_star < small.k_star


def test_fit_dpgmm__max_fitted_fraction_keeps_the_largest_effects(rng):
    x = rng.standard_t(3, size=(2000, 2)) * np.array([1.0, 10.0])  # trait 2 in other units
    fit = fit_dpgmm(x, n_restarts=2, max_fitted_fraction=0.2)
    relative = (np.abs(x) / np.abs(x).max(axis=0)).max(axis=1)
    np.testing.assert_array_equal(fit.fitted, relative > np.sort(relative)[-401])
    np.testing.assert_allclose(fit.null_cutoff / np.abs(x).max(axis=0), np.sort(relative)[-401])
    loose = fit_dpgmm(x, n_restarts=1, max_fitted_fraction=1.0)  # the cap does not bind
    np.testing.assert_allclose(loose.null_cutoff, 1e-3 * np.abs(x).max(axis=0))


def test_fit_dpgmm__trait_without_effects_is_left_out(rng):
    x = np.column_stack([rng.normal(0, 1, 500) * rng.choice([0.1, 1.0], 500), np.zeros(500)])
    fit = fit_dpgmm(x, n_restarts=2)
    assert fit.k_star >= 1
    assert np.all(fit.covariances[:, 1, :] == 0) and np.all(fit.covariances[:, :, 1] == 0)
    assert np.isnan(fit.null_variance[1]) and fit.null_variance[0] > 0
    one_trait = fit_dpgmm(x[:, :1], n_restarts=2)
    np.testing.assert_allclose(fit.covariances[:, 0, 0], one_trait.covariances[:, 0, 0])


def test_fit_dpgmm__all_null_gives_empty_fit():
    fit = fit_dpgmm(np.zeros((50, 1)))
    assert fit.k_star == 0
    assert fit.covariances.shape == (0, 1, 1) and fit.responsibilities.shape == (0, 0)
    assert np.all(fit.labels == 0) and fit.labels.shape == (50,)
    assert np.isnan(fit.null_variance).all() and fit.elbo_trace.size == 0


def test_fit_dpgmm__bad_input_raises(rng):
    x = rng.normal(size=(100, 2))
    with_nan = x.copy()
    with_nan[17, 1] = np.nan
    with pytest.raises(InputError, match=r"variant rs17 on trait 1 .* NaN or infinite"):
        fit_dpgmm(with_nan, variant_ids=[f"rs{i}" for i in range(100)])
    with pytest.raises(InputError, match="row 17"):
        fit_dpgmm(with_nan)
    with pytest.raises(InputError, match="6 traits but the mixture handles at most 5"):
        fit_dpgmm(rng.normal(size=(100, 6)))
    sparse = np.zeros((100, 2))
    sparse[:15] = rng.normal(size=(15, 2))
    with pytest.raises(InputError, match="only 15 variants have a non-null effect.*at least 20"):
        fit_dpgmm(sparse)
    with pytest.raises(InputError, match=r"\['alpha', 'weight_threshold', 'max_fitted_fraction', 'min_cluster_size'\] "
                                         "out of range"):
        fit_dpgmm(x, alpha=0.0, weight_threshold=1.5, max_fitted_fraction=0.0, min_cluster_size=0)
    with pytest.raises(InputError, match="null_cutoff must be one value or 2"):
        fit_dpgmm(x, null_cutoff=[0.1, 0.1, 0.1])
    with pytest.raises(InputError, match="non-empty"):
        fit_dpgmm(np.zeros((0, 2)))


def test_save_mixture__round_trips(tmp_path, rng):
    x = np.column_stack([rng.standard_t(3, size=300), np.zeros(300)])
    fit = fit_dpgmm(x, n_restarts=2)
    save_mixture(fit, tmp_path / "mixture.json")
    back = load_mixture(tmp_path / "mixture.json")
    for field in fit.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(back, field), getattr(fit, field))
    empty = fit_dpgmm(np.zeros((10, 2)))
    save_mixture(empty, tmp_path / "empty.json")
    assert load_mixture(tmp_path / "empty.json").covariances.shape == (0, 2, 2)


def test_load_mixture__bad_file_raises(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_mixture(tmp_path / "missing.json")
    (tmp_path / "other.json").write_text('{"weights": []}')
    with pytest.raises(InputError, match="not a phenomap.dpgmm/1 document"):
        load_mixture(tmp_path / "other.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(InputError, match="not valid JSON"):
        load_mixture(tmp_path / "broken.json")
