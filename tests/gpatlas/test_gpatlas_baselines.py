"""Linear baselines against scikit-learn and brute force; shared decompositions and the biallelic coding; metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import Lasso, Ridge, RidgeCV

from phenomap.gpatlas.baselines import (
    RIDGE_ALPHAS, FoldDesign, fit_lasso_path, lasso_cv, lasso_path, pairwise_features, pairwise_lasso, pairwise_loci,
    ridge_baseline, ridge_predict,
)
from phenomap.gpatlas.data import encode, feature_means, linear_columns, observed_groups
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


def onehot(states: np.ndarray, n_states: int) -> np.ndarray:
    return encode(torch.as_tensor(states), "onehot", n_states).double().numpy()


def cross(rng, n: int, m: int) -> np.ndarray:
    """Biallelic (0/1) calls of a haploid cross: neighbouring loci agree unless a crossover falls between them."""
    switches = rng.random((n, m)) < 0.08
    return ((rng.integers(0, 2, size=(n, 1)) + np.cumsum(switches, axis=1)) % 2).astype(np.int8)


def test_ridge_baseline__one_decomposition_per_missingness_pattern_equals_per_trait_ridge_and_ridgecv(rng):
    n, m = 100, 40  # 120 one-hot features > 80 training samples: the dual
    states = rng.integers(0, 3, size=(n, m)).astype(np.int8)
    X = onehot(states, 3)
    z = np.column_stack([X[:, [2, 10, 50]] @ [1.0, -0.5, 0.8], X[:, 60:90].sum(axis=1) / 5, X[:, [7]] @ [1.5],
                         X[:, 30:40] @ rng.normal(size=10)]) + rng.normal(size=(n, 4))
    train = np.arange(80)
    z[[3, 9, 40, 81], 2] = np.nan  # trait 2: its own pattern (one missing value in the test rows)
    z[[5, 6, 7], 3] = np.nan  # trait 3: another
    groups = observed_groups(z[train])
    assert [g for _, g in groups] == [[0, 1], [2], [3]]
    pred, penalty = ridge_baseline(states, 3, "onehot", z, train)
    K = X @ X.T
    for t in range(4):
        rows = train[~np.isnan(z[train, t])]
        single, alpha = ridge_predict(K[np.ix_(rows, rows)], K[:, rows], z[rows, t])
        assert penalty[t] == alpha
        np.testing.assert_allclose(pred[:, t], single, rtol=1e-8, atol=1e-8)
        reference = RidgeCV(alphas=RIDGE_ALPHAS).fit(X[rows], z[rows, t])
        assert reference.alpha_ == alpha
        np.testing.assert_allclose(pred[:, t], reference.predict(X), rtol=1e-8, atol=1e-8)


def test_lasso_path__one_column_per_biallelic_locus_reaches_the_full_one_hot_optimum(rng):
    # two complement columns (a, b) fit only b - a and cost |a| + |b| >= |b - a|: the same problem as one column
    n, m = 120, 30
    states = cross(rng, n, m)
    X = onehot(states, 2)
    y = X[:, [1, 21, 40]] @ [1.0, -1.2, 0.7] + 0.5 * rng.normal(size=n)
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    kept = linear_columns(states, 2, "onehot")
    np.testing.assert_array_equal(kept, np.arange(0, 2 * m, 2))  # state 0 of every locus
    alphas = np.abs(Xc.T @ yc).max() / n * np.logspace(0, -2, 8)
    for full, reduced in zip(lasso_path(Xc, yc, alphas, tol=1e-12), lasso_path(Xc[:, kept], yc, alphas, tol=1e-12)):
        np.testing.assert_allclose(Xc @ full, Xc[:, kept] @ reduced, atol=1e-8)  # the same fitted values
        effect = full[0::2] - full[1::2]  # each locus's effect of state 0 over state 1
        np.testing.assert_allclose(effect, reduced, atol=1e-8)
        assert np.abs(full).sum() == pytest.approx(np.abs(reduced).sum(), abs=1e-8)  # and the same penalty


def test_lasso_path__a_three_state_locus_keeps_all_columns_as_dropping_one_changes_the_optimum(rng):
    # with three states the full coding's penalty is min_c sum_s |e_s - c| (a median), not that of any two columns
    n = 300
    states = rng.integers(0, 3, size=(n, 1)).astype(np.int8)
    X = onehot(states, 3)
    y = X @ [1.0, 1.0, 0.0] + 0.1 * rng.normal(size=n)  # states 0 and 1 share an effect against state 2
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    alpha = [0.05]
    full, = lasso_path(Xc, yc, alpha, tol=1e-12)
    without_2, = lasso_path(Xc[:, :2], yc, alpha, tol=1e-12)
    objective = lambda Z, w: np.sum((yc - Z @ w) ** 2) / (2 * n) + alpha[0] * np.abs(w).sum()  # noqa: E731
    assert objective(Xc, full) < objective(Xc[:, :2], without_2) - 1e-3
    np.testing.assert_array_equal(linear_columns(states, 3, "onehot"), [0, 1, 2])


def test_fit_lasso_path__equals_the_full_one_hot_lasso_on_biallelic_data(rng):
    # what the linear path and the lasso baseline did before: lasso_cv on every one-hot column, per trait
    n, m = 200, 150
    states = cross(rng, n, m)
    X = onehot(states, 2).astype(np.float32)
    z = np.column_stack([states[:, [3, 70, 120]] @ [1.0, -0.8, 0.6], states[:, 40:46].sum(axis=1) * 0.3])
    z = z + rng.normal(size=z.shape)
    z = (z - z.mean(axis=0)) / z.std(axis=0)
    z[rng.random(n) < 0.05, 1] = np.nan
    path = fit_lasso_path(states, 2, "onehot", z, mean=feature_means(states, 2, "onehot"), n_alphas=12, folds=4,
                          seed=3)
    for t in range(2):
        obs = ~np.isnan(z[:, t])
        full = lasso_cv(X[obs], z[obs, t], n_alphas=12, folds=4, seed=3)
        assert path.alpha[t] == pytest.approx(full.alpha, rel=1e-6)
        np.testing.assert_allclose(path.predict(X, np.arange(2 * m))[:, t], full.predict(X), atol=1e-4)
        # coordinate descent on the full coding leaves the state-1 columns at zero (to float32 rounding),
        # so the network's linear weights and the ablation importance read from them are unchanged
        assert np.abs(full.coef[1::2]).max() < 1e-4
        np.testing.assert_allclose(path.coef[t], full.coef, atol=1e-4)


def test_fold_design__shared_by_traits_gives_each_trait_its_own_lasso_cv_exactly(rng):
    X, y = sparse_problem(rng)
    X = X.astype(np.float32)
    design = FoldDesign(X, folds=4, seed=2)
    for target in (y, X[:, 7] - 0.5 * X[:, 9] + rng.normal(size=len(y))):
        shared = design.lasso(target, n_alphas=10)
        alone = lasso_cv(X, target, n_alphas=10, folds=4, seed=2)
        np.testing.assert_array_equal(shared.coef, alone.coef)
        assert shared.alpha == alone.alpha and shared.intercept == alone.intercept


def test_pairwise_loci__rank_by_state_contrast_not_by_how_the_lasso_splits_complement_columns():
    # biallelic loci, two columns each: the full coding may split an effect d as (a, a + d);
    # the reduced coding keeps (-d, 0). Both must rank loci by |d| alike.
    d = np.array([0.5, -2.0, 0.0, 1.0])
    reduced = np.column_stack([-d, np.zeros(4)]).ravel()
    shift = np.array([3.0, 0.0, 0.0, 0.0])  # locus 0's columns are large but nearly cancel
    full = np.column_stack([-0.5 * d - shift, 0.5 * d - shift]).ravel()
    assert list(pairwise_loci(reduced, 2, max_loci=2)) == list(pairwise_loci(full, 2, max_loci=2)) == [1, 3]
    assert list(pairwise_loci(d, 1, max_loci=5)) == [0, 1, 3]  # dosage: |coefficient|, zero left out
