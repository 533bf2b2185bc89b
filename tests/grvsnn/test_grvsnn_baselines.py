"""GRVSNN baselines against scikit-learn, closed forms and planted truth; MCMC diagnostics on known chains."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from scipy.linalg import null_space
from scipy.signal import lfilter
from scipy.special import betaln
from scipy.stats import norm
from sklearn.linear_model import BayesianRidge, LassoCV, RidgeCV
from sklearn.model_selection import KFold
from threadpoolctl import threadpool_limits

from phenomap.errors import InputError
from phenomap.grvsnn.baselines import (
    RIDGE_PENALTY_RATIOS, BayesCpiSettings, LassoNetSettings, LassoSettings, RidgeSettings, bayes_cpi_gibbs,
    bayescpi, brr, effective_sample_size, fit_predict, geweke_z, lasso, lassonet, ridge,
)


@pytest.fixture(autouse=True)
def _one_thread():
    with threadpool_limits(1):
        yield


def standardised(G: np.ndarray, n_train: int) -> np.ndarray:
    """Columns standardised with the first n_train rows' mean and SD, as the CV code does."""
    return (G - G[:n_train].mean(axis=0)) / G[:n_train].std(axis=0)


def sparse_genotypes(rng, n=300, p=200, m=10, h2=0.6, n_test=300):
    """Binomial genotypes, m causal markers of equal |effect|, heritability h2. Returns
    X_train, y_train, X_test, y_test, causal indices."""
    G = rng.binomial(2, rng.uniform(0.1, 0.5, p), size=(n + n_test, p)).astype(float)
    X = standardised(G, n)
    causal = np.sort(rng.choice(p, m, replace=False))
    g = X[:, causal] @ rng.choice([-1.0, 1.0], m)
    g *= np.sqrt(h2) / g[:n].std()
    y = 2.0 + g + rng.normal(scale=np.sqrt(1 - h2), size=n + n_test)
    return X[:n], y[:n], X[n:], y[n:], causal


# --- ridge ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("n, p", [(60, 150), (150, 40)])
def test_ridge__matches_sklearn_ridgecv_leave_one_out(rng, n, p):
    X = rng.normal(size=(n, p)) + 1.0
    y = X[:, :10].sum(axis=1) + 3 * rng.normal(size=n)
    X_test = rng.normal(size=(20, p)) + 1.0
    alphas = p * RIDGE_PENALTY_RATIOS[::2]
    result = ridge(X, y, X_test, RidgeSettings(alphas))
    reference = RidgeCV(alphas=alphas, alpha_per_target=False).fit(X, y)
    assert result.info["alpha"] == reference.alpha_
    assert not result.info["at_grid_edge"]
    assert result.info["loo_mse"] == pytest.approx(-reference.best_score_, rel=1e-8)
    np.testing.assert_allclose(result.prediction, reference.predict(X_test), rtol=1e-8, atol=1e-8)
    assert result.selected is None


def test_ridge__is_gblup_with_h2_from_the_penalty(rng):
    n, p = 50, 120
    X_all = standardised(rng.binomial(2, 0.3, size=(n + 10, p)).astype(float), n)
    X, X_test = X_all[:n], X_all[n:]
    y = X[:, :20] @ rng.normal(size=20) * 0.2 + rng.normal(size=n)
    result = ridge(X, y, X_test)
    h2 = result.info["h2"]
    assert h2 == pytest.approx(1 / (1 + result.info["alpha"] / p))
    # BLUP of the test genetic values under y = μ + g + e, g ~ N(0, G σ²_g), G = X Xᵀ / p (GLS μ = ȳ: G 1 = 0)
    G, G_test = X @ X.T / p, X_test @ X.T / p
    blup = y.mean() + G_test @ np.linalg.solve(G + (1 / h2 - 1) * np.eye(n), y - y.mean())
    np.testing.assert_allclose(result.prediction, blup, rtol=1e-8, atol=1e-10)


# --- Bayesian ridge -------------------------------------------------------------------------------


@pytest.mark.parametrize("n, p", [(40, 120), (120, 40)])
def test_brr__matches_sklearn_bayesian_ridge(rng, n, p):
    X = rng.normal(size=(n, p)) + 0.5
    y = 3.0 + X[:, :8] @ rng.normal(size=8) + rng.normal(size=n)
    X_test = rng.normal(size=(15, p)) + 0.5
    result = brr(X, y, X_test)
    reference = BayesianRidge().fit(X, y)
    assert result.info["n_iter"] == reference.n_iter_
    assert result.info["var_e"] == pytest.approx(1 / reference.alpha_, rel=1e-8)
    assert result.info["var_beta"] == pytest.approx(1 / reference.lambda_, rel=1e-8)
    np.testing.assert_allclose(result.prediction, reference.predict(X_test), rtol=1e-8, atol=1e-8)


def test_brr__recovers_noise_and_marker_variance(rng):
    n, p = 1500, 150
    X = standardised(rng.normal(size=(n, p)), n)
    beta = rng.normal(scale=np.sqrt(0.5 / p), size=p)
    y = 1.0 + X @ beta + rng.normal(scale=np.sqrt(0.5), size=n)
    info = brr(X, y, X[:3]).info
    assert info["var_e"] == pytest.approx(0.5, rel=0.10)
    assert info["var_g"] == pytest.approx(beta @ beta, rel=0.25)  # realised σ²_g = Σ β² on unit-variance columns
    assert info["var_g"] == pytest.approx(p * info["var_beta"])


# --- lasso ----------------------------------------------------------------------------------------


def test_lasso__matches_sklearn_lassocv_with_the_same_folds_and_grid(rng):
    X_train, y_train, X_test, _, causal = sparse_genotypes(rng, n=150, p=80, m=4, h2=0.7, n_test=30)
    settings = LassoSettings(n_alphas=20, alpha_ratio=0.02, folds=4, patience=None, tol=1e-10)
    result = lasso(X_train, y_train, X_test, settings, seed=7)
    reference = LassoCV(alphas=20, eps=0.02, cv=KFold(4, shuffle=True, random_state=7), tol=1e-10,
                        max_iter=100_000).fit(X_train, y_train)
    assert result.info["alpha"] == pytest.approx(reference.alpha_, rel=1e-12)
    assert result.info["cv_mse"] == pytest.approx(reference.mse_path_.mean(axis=1).min(), rel=1e-6)
    np.testing.assert_allclose(result.prediction, reference.predict(X_test), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(result.selected, reference.coef_ != 0)
    assert set(causal) <= set(np.flatnonzero(result.selected))
    early = lasso(X_train, y_train, X_test, replace(settings, patience=3), seed=7)
    assert early.info["alpha"] == result.info["alpha"] and early.info["n_alphas_fitted"] < 20


# --- LassoNet -------------------------------------------------------------------------------------


def test_lassonet__captures_a_non_linear_effect_keeps_the_planted_features_and_is_reproducible(rng):
    pytest.importorskip("lassonet")
    n, p = 200, 10
    X = rng.normal(size=(n + 100, p))
    y = 1.5 * X[:, 0] - X[:, 1] + 1.5 * np.abs(X[:, 2]) + 0.3 * rng.normal(size=n + 100)  # |x2|: no linear trace
    settings = LassoNetSettings(hidden_dims=(16,), path_multiplier=3.0, n_iters=(100, 20), patience=(5, 3),
                                batch_size=25)
    result = lassonet(X[:n], y[:n], X[n:], settings, seed=3)
    assert {0, 1, 2} <= set(np.flatnonzero(result.selected))
    r_net = np.corrcoef(result.prediction, y[n:])[0, 1]
    r_ridge = np.corrcoef(ridge(X[:n], y[:n], X[n:]).prediction, y[n:])[0, 1]
    assert r_net > 0.95 > r_ridge + 0.03
    quick = replace(settings, n_iters=(10, 3), path_multiplier=5.0)
    a, b = (lassonet(X[:n], y[:n], X[n:], quick, seed=1) for _ in range(2))
    np.testing.assert_array_equal(a.prediction, b.prediction)
    np.testing.assert_array_equal(a.selected, b.selected)


# --- BayesCπ --------------------------------------------------------------------------------------


def test_bayescpi__recovers_a_sparse_architecture(rng):
    """n=600, p=200, 10 causal markers of equal effect, h² 0.6 (correlation ceiling ≈ 0.77).

    The posterior mean number of non-zero effects, E[(1 - π) p], exceeds 10 at finite n: each of the
    190 null markers keeps a small inclusion probability (≈ 0.03 here; the Occam penalty only grows like
    log n), so the tolerance is asymmetric (10 to 18), while the median probability model is exact.
    """
    X, y, X_test, y_test, causal = sparse_genotypes(rng, n=600)
    settings = BayesCpiSettings(n_iter=3000, burn_in=1000, thin=2)
    post = bayes_cpi_gibbs(X, y, settings, seed=1)
    p = X.shape[1]
    assert 10 <= np.mean((1 - post.pi) * p) <= 18
    assert np.quantile(post.pi, 0.025) < 1 - 10 / p < np.quantile(post.pi, 0.975)
    assert np.all(post.inclusion[causal] > 0.5)
    null = np.setdiff1d(np.arange(p), causal)
    assert np.sum(post.inclusion[null] > 0.5) <= 1
    result = bayescpi(X, y, X_test, replace(settings, selection="inclusion"), seed=1)
    np.testing.assert_array_equal(result.prediction, post.predict(X_test))
    np.testing.assert_array_equal(result.selected, post.inclusion > 0.5)
    interval = bayescpi(X, y, X_test, settings, seed=1)  # the default rule
    strong = np.maximum(post.positive, post.negative) > 0.975
    np.testing.assert_array_equal(interval.selected, strong)
    assert set(causal) <= set(np.flatnonzero(strong)) and interval.info["n_interval"] == strong.sum()
    assert np.corrcoef(result.prediction, y_test)[0, 1] > 0.65
    assert result.info["ess_var_e"] > 200 and abs(result.info["geweke_var_e"]) < 3


def test_bayescpi__same_seed_same_chain(rng):
    X, y, _, _, _ = sparse_genotypes(rng, n=60, p=30, m=3, n_test=0)
    settings = BayesCpiSettings(n_iter=200, burn_in=50, thin=1)
    a, b = bayes_cpi_gibbs(X, y, settings, seed=5), bayes_cpi_gibbs(X, y, settings, seed=5)
    c = bayes_cpi_gibbs(X, y, settings, seed=6)
    for name in ("effects", "inclusion", "pi", "var_e", "var_beta"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.var_e, c.var_e)


def one_marker(rng, n=40, rhs=None):
    """x (n, 1) with mean ≈ 1 (so μ and β are correlated), y with x̃ᵀỹ = rhs when given."""
    x = rng.normal(size=n) + 1.0
    y = 0.5 + 0.3 * x + rng.normal(size=n)
    if rhs is not None:
        xc, yc = x - x.mean(), y - y.mean()
        y = y - (xc @ yc - rhs) / (xc @ xc) * xc
    return x[:, None], y


def test_bayescpi__beta_conditional_gives_the_conjugate_posterior(rng):
    """π = 0 and variances fixed: μ flat, β ~ N(0, σ²_β) ⇒ β | y ~ N(x̃ᵀỹ / c, σ²_e / c), c = x̃ᵀx̃ + σ²_e/σ²_β."""
    X, y = one_marker(rng)
    var_e, var_beta = 0.8, 0.05
    xc, yc = X[:, 0] - X[:, 0].mean(), y - y.mean()
    c = xc @ xc + var_e / var_beta
    settings = BayesCpiSettings(n_iter=30000, burn_in=500, thin=1, fixed_pi=0.0, fixed_var_e=var_e,
                                fixed_var_beta=var_beta)
    post = bayes_cpi_gibbs(X, y, settings, seed=2)
    assert post.inclusion[0] == 1.0
    assert post.effects[0] == pytest.approx(xc @ yc / c, abs=0.005)  # posterior SD ≈ 0.14; ~5 Monte Carlo SE
    assert post.effects_sd[0] == pytest.approx(np.sqrt(var_e / c), rel=0.03)
    assert post.positive[0] == pytest.approx(norm.cdf(xc @ yc / np.sqrt(var_e * c)), abs=0.01)
    assert post.positive[0] + post.negative[0] == 1.0
    assert post.mu == pytest.approx(y.mean() - X[:, 0].mean() * xc @ yc / c, abs=0.01)


def exact_inclusion(X, y, var_e, var_beta, fixed_pi):
    """Posterior inclusion probabilities and E[π | y] by enumerating all 2^p models (μ flat, variances
    fixed; π fixed or integrated over its Beta(1, 1) prior)."""
    n, p = X.shape
    Q = null_space(np.ones((1, n)))  # integrating out a flat μ = restricting y to the complement of 1
    yq, Xq = Q.T @ y, Q.T @ X
    models = np.array(list(itertools.product([False, True], repeat=p)))
    log_w = np.empty(len(models))
    for i, gamma in enumerate(models):
        V = var_e * np.eye(n - 1) + var_beta * Xq[:, gamma] @ Xq[:, gamma].T
        k = gamma.sum()
        log_prior = (k * np.log1p(-fixed_pi) + (p - k) * np.log(fixed_pi) if fixed_pi is not None
                     else betaln(p - k + 1, k + 1))
        log_w[i] = -0.5 * np.linalg.slogdet(V)[1] - 0.5 * yq @ np.linalg.solve(V, yq) + log_prior
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    k = models.sum(axis=1)
    return models.T @ w, fixed_pi if fixed_pi is not None else w @ ((p - k + 1) / (p + 2))


@pytest.mark.parametrize("fixed_pi", [0.6, None])
def test_bayescpi__inclusion_probabilities_match_enumeration_of_all_models(rng, fixed_pi):
    """Correlated, uncentred markers; σ²_e, σ²_β fixed: the chain's inclusion probabilities (and E[π | y]
    when π is sampled) equal the exact posterior over all 2^8 models."""
    n, p = 50, 8
    Z = rng.normal(size=(n, p))
    X = Z + 0.6 * Z[:, [0]] + 0.5
    y = 1.0 + 0.5 * X[:, 1] - 0.3 * X[:, 4] + rng.normal(size=n)
    var_e, var_beta = 0.9, 0.2
    pip, pi_mean = exact_inclusion(X, y, var_e, var_beta, fixed_pi)
    assert np.ptp(pip) > 0.5 and np.sum((pip > 0.1) & (pip < 0.9)) >= 4  # a sensitive case
    settings = BayesCpiSettings(n_iter=20000, burn_in=500, thin=1, fixed_pi=fixed_pi, fixed_var_e=var_e,
                                fixed_var_beta=var_beta)
    post = bayes_cpi_gibbs(X, y, settings, seed=4)
    np.testing.assert_allclose(post.inclusion, pip, atol=0.02)
    assert post.pi.mean() == pytest.approx(pi_mean, abs=0.01)


def test_bayescpi__variance_draws_match_the_marginal_posterior_by_quadrature(rng):
    """π = 0 (Bayesian ridge) with σ²_e and σ²_β sampled under the documented BGLR-default priors: posterior
    means equal a 2-D quadrature of p(σ²_e, σ²_β | y) ∝ N(Qᵀy; 0, σ²_e I + σ²_β QᵀXXᵀQ) × priors."""
    n, p = 60, 20
    X = rng.normal(size=(n, p)) + 0.3
    y = 1.0 + X @ rng.normal(scale=0.3, size=p) + rng.normal(size=n)
    settings = BayesCpiSettings(n_iter=15000, burn_in=500, thin=1, fixed_pi=0.0)
    post = bayes_cpi_gibbs(X, y, settings, seed=1)
    var_y, msx = y.var(ddof=1), X.var(axis=0).sum()
    scale_e = var_y * (1 - settings.r2) * (settings.df_e - 2)
    scale_beta = var_y * settings.r2 * (settings.df_beta - 2) / msx  # π₀ = fixed_pi = 0
    Q = null_space(np.ones((1, n)))
    lam, W = np.linalg.eigh(Q.T @ X @ X.T @ Q)
    z2 = (W.T @ (Q.T @ y)) ** 2
    log_e, log_b = np.meshgrid(np.linspace(np.log(1e-2), np.log(10.0), 400),
                               np.linspace(np.log(1e-4), np.log(10.0), 400), indexing="ij")
    var_e, var_beta = np.exp(log_e), np.exp(log_b)
    total = var_e[..., None] + var_beta[..., None] * lam
    # S / χ²(ν) has density ∝ v^-(ν/2 + 1) exp(-S / 2v); on a log grid the Jacobian adds one power of v
    log_post = (-0.5 * np.log(total).sum(axis=-1) - 0.5 * (z2 / total).sum(axis=-1)
                - settings.df_e / 2 * log_e - scale_e / (2 * var_e)
                - settings.df_beta / 2 * log_b - scale_beta / (2 * var_beta))
    w = np.exp(log_post - log_post.max())
    w /= w.sum()
    assert post.var_e.mean() == pytest.approx(np.sum(w * var_e), rel=0.03)
    assert post.var_beta.mean() == pytest.approx(np.sum(w * var_beta), rel=0.03)


# --- MCMC diagnostics -----------------------------------------------------------------------------


def ar1(rng, phi, size):
    """Stationary AR(1) chains along the last axis: x_t = φ x_{t-1} + ε_t."""
    noise = rng.normal(size=size)
    noise[..., 0] /= np.sqrt(1 - phi**2)
    return lfilter([1.0], [1.0, -phi], noise, axis=-1)


def test_effective_sample_size__matches_the_ar1_integrated_autocorrelation_time(rng):
    N, phi = 100_000, 0.6
    assert effective_sample_size(ar1(rng, phi, N)) == pytest.approx(N * (1 - phi) / (1 + phi), rel=0.1)
    assert effective_sample_size(rng.normal(size=10_000)) == pytest.approx(10_000, rel=0.1)
    assert np.isnan(effective_sample_size(np.ones(50)))


def test_geweke_z__is_standard_normal_on_stationary_chains_and_large_on_a_drift(rng):
    z = np.array([geweke_z(chain) for chain in ar1(rng, 0.5, (300, 2000))])
    assert abs(z.mean()) < 0.2
    assert 0.8 < z.std() < 1.25
    drifting = ar1(rng, 0.5, 2000) + np.linspace(1.0, 0.0, 2000)
    assert abs(geweke_z(drifting)) > 4


# --- dispatch and input checks --------------------------------------------------------------------


def test_fit_predict__dispatches_with_settings_and_rejects_unknown_names(rng):
    X, y = rng.normal(size=(30, 40)), rng.normal(size=30)
    direct = lasso(X, y, X[:5], LassoSettings(folds=3), seed=4)
    via = fit_predict("lasso", X, y, X[:5], seed=4, settings={"folds": 3})
    np.testing.assert_array_equal(via.prediction, direct.prediction)
    assert via.method == "lasso" and via.seconds > 0
    with pytest.raises(InputError, match="unknown baseline"):
        fit_predict("blasso", X, y, X[:5])
    with pytest.raises(InputError, match="unknown ridge setting"):
        fit_predict("ridge", X, y, X[:5], settings={"alpha": 1.0})
    with pytest.raises(InputError, match="burn_in"):
        fit_predict("bayescpi", X, y, X[:5], settings={"n_iter": 100, "burn_in": 100})


@pytest.mark.parametrize("case, message", [
    ("nan_x", "X_train has a missing"),
    ("nan_y", "y_train has a missing"),
    ("inf_test", "X_test has a missing"),
    ("one_row", "at least 2 individuals"),
    ("rows", "30 rows but y_train has 29"),
    ("columns", "columns of X_train"),
    ("constant_y", "constant"),
])
@pytest.mark.parametrize("method", ["ridge", "brr", "lasso", "bayescpi"])
def test_baselines__reject_bad_input(rng, method, case, message):
    X, y, X_test = rng.normal(size=(30, 8)), rng.normal(size=30), rng.normal(size=(5, 8))
    if case == "nan_x":
        X[3, 2] = np.nan
    elif case == "nan_y":
        y[4] = np.nan
    elif case == "inf_test":
        X_test[0, 0] = np.inf
    elif case == "one_row":
        X, y = X[:1], y[:1]
    elif case == "rows":
        y = y[:29]
    elif case == "columns":
        X_test = X_test[:, :7]
    elif case == "constant_y":
        y[:] = 1.0
    with pytest.raises(InputError, match=message):
        fit_predict(method, X, y, X_test, settings={"n_iter": 10, "burn_in": 0} if method == "bayescpi" else None)
