"""Linear baselines against scikit-learn and brute force; held-out metrics."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Lasso, Ridge

from phenomap.gpatlas.baselines import (
    RIDGE_ALPHAS, lasso_cv, lasso_path, pairwise_features, pairwise_lasso, ridge_predict,
)
from phenomap.gpatlas.evaluate import metrics_table, trait_metrics


def sparse_problem(rng, n=80, p=200):
    X = rng.normal(size=(n, p))
    y = X[:, [3, 50, 120]] @ np.array([1.5, -1.0, 0.8]) + 0.5 * rng.normal(size=n)
    return X - X.mean(axis=0), y - y.mean()


def test_lasso_path__matches_sklearn_lasso_at_every_penalty(rng):
    X, y = sparse_problem(rng)
    top = np.abs(X.T @ y).max() / len(y)
    alphas = top * np.logspace(0, -1.5, 8)
    for alpha, coef in zip(alphas, lasso_path(X, y, alphas, tol=1e-10)):
        ref = Lasso(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=100_000).fit(X, y).coef_
        objective = lambda w: np.sum((y - X @ w) ** 2) / (2 * len(y)) + alpha * np.abs(w).sum()  # noqa: E731
        assert objective(coef) == pytest.approx(objective(ref), rel=1e-7)
        np.testing.assert_allclose(coef, ref, atol=1e-5)


def test_lasso_cv__recovers_the_planted_support(rng):
    X, y = sparse_problem(rng)
    fit = lasso_cv(X + 5.0, y + 2.0, n_alphas=15, folds=4, seed=0)  # un-centred inputs are fine
    assert {3, 50, 120} <= set(np.flatnonzero(fit.coef))
    assert np.abs(fit.coef[[3, 50, 120]] - [1.5, -1.0, 0.8]).max() < 0.3
    X_new = rng.normal(size=(40, 200))
    truth = X_new[:, [3, 50, 120]] @ np.array([1.5, -1.0, 0.8]) + 2.0
    assert np.corrcoef(fit.predict(X_new + 5.0), truth)[0, 1] > 0.95


def test_ridge_predict__matches_sklearn_ridge_at_the_brute_force_loo_penalty(rng):
    n, p = 40, 90
    X = rng.normal(size=(n, p)) + 1.0
    y = X[:, :5].sum(axis=1) + rng.normal(size=n)
    X_test = rng.normal(size=(10, p)) + 1.0
    alphas = RIDGE_ALPHAS[::4]

    def loo_error(alpha):  # refit without each sample in turn
        return np.mean([(Ridge(alpha=alpha).fit(np.delete(X, i, 0), np.delete(y, i)).predict(X[i:i + 1])[0] - y[i]) ** 2
                        for i in range(n)])

    best = alphas[int(np.argmin([loo_error(a) for a in alphas]))]
    pred, alpha = ridge_predict(X @ X.T, X_test @ X.T, y, alphas)
    assert alpha == best
    np.testing.assert_allclose(pred, Ridge(alpha=best).fit(X, y).predict(X_test), rtol=1e-8, atol=1e-8)


def test_trait_metrics__r2_r_and_mape_with_floor():
    obs = np.array([10.0, 12.0, 8.0, 11.0, np.nan])
    pred = np.array([11.0, 12.0, 9.0, 10.0, 5.0])
    m = trait_metrics(pred, obs)
    ok = ~np.isnan(obs)
    assert m["n"] == 4
    assert m["r2"] == pytest.approx(1 - np.sum((pred[ok] - obs[ok]) ** 2) / np.sum((obs[ok] - obs[ok].mean()) ** 2))
    assert m["pearson_r"] == pytest.approx(np.corrcoef(pred[ok], obs[ok])[0, 1])
    assert m["mape"] == pytest.approx(100 * np.mean(np.abs(pred[ok] - obs[ok]) / obs[ok]))
    # an observation at zero is measured against 10 % of the median |obs| instead of 0
    near_zero = trait_metrics(np.array([1.0, 10.0, 10.0]), np.array([0.0, 10.0, 10.0]))
    assert near_zero["mape"] == pytest.approx(100 * (1.0 / 1.0 + 0 + 0) / 3)


def test_metrics_table__adds_a_median_row_per_model():
    obs = np.column_stack([np.arange(10.0), np.arange(10.0) ** 2 + 1])
    table = metrics_table({"a": obs + 0.5, "b": obs[::-1]}, obs, ["t1", "t2"])
    assert list(table.model) == ["a"] * 3 + ["b"] * 3
    median = table[(table.model == "a") & (table.trait == "median")].r2.item()
    assert median == pytest.approx(np.median(table[(table.model == "a") & (table.trait != "median")].r2))


def test_pairwise_features__products_of_every_state_pair_match_brute_force(rng):
    X = rng.normal(size=(7, 12))  # 4 loci x 3 features
    loci = np.array([0, 2, 3])
    F = pairwise_features(X, loci, 3)
    main = np.concatenate([X[:, 3 * l: 3 * l + 3] for l in loci], axis=1)
    pairs = [X[:, 3 * a + i] * X[:, 3 * b + j] for a, b in [(0, 2), (0, 3), (2, 3)] for i in range(3) for j in range(3)]
    np.testing.assert_allclose(F, np.column_stack([main, *pairs]))


def test_pairwise_lasso__captures_a_planted_multiplicative_interaction(rng):
    n, m = 600, 40
    states = rng.integers(0, 3, size=(n, m))
    X = np.concatenate([(states[:, [l]] == np.arange(3)).astype(float) for l in range(m)], axis=1)
    both = (states[:, 2] == 1) & (states[:, 3] == 1)  # the epistatic genotype
    y = 1.0 * (states[:, 0] == 2) - 0.8 * (states[:, 2] == 0) + 0.6 * (states[:, 3] == 2) + 3.0 * both
    y = y + 0.1 * rng.normal(size=n)
    train, test = np.arange(400), np.arange(400, n)
    pair = pairwise_lasso(X[train], y[train], block=3, n_alphas=15, folds=4, seed=0)
    lasso = lasso_cv(X[train], y[train], n_alphas=15, folds=4, seed=0)
    r2 = lambda pred: 1 - np.mean((y[test] - pred) ** 2) / np.var(y[test])  # noqa: E731
    assert {0, 2, 3} <= set(pair.loci)
    assert r2(pair.predict(X[test])) > 0.95
    assert r2(pair.predict(X[test])) > r2(lasso.predict(X[test])) + 0.2
