"""The improved model's path choice by inner K-fold cross-validation, against scikit-learn fold by fold."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import Lasso, Ridge
from sklearn.model_selection import KFold

from phenomap.gpatlas.baselines import PAIRWISE_SCREEN_PAIRS, fit_paths, out_of_fold, pairwise_features
from phenomap.gpatlas.data import feature_matrix, feature_means
from phenomap.gpatlas.train import richer_choice


def sklearn_lasso(X_fit, y, X_held, alpha) -> tuple[np.ndarray, np.ndarray]:
    """Held-out predictions and coefficients of scikit-learn's lasso; penalty 0 (a fit with no
    feature to use) or no feature: the intercept alone."""
    if alpha == 0 or X_fit.shape[1] == 0:
        return np.full(len(X_held), y.mean()), np.zeros(X_fit.shape[1])
    lasso = Lasso(alpha=alpha, tol=1e-10, max_iter=100_000).fit(X_fit, y)
    return lasso.predict(X_held), lasso.coef_


def brute_force_out_of_fold(X, z, penalties, folds, seed) -> dict[str, np.ndarray]:
    """Each fold refitted with scikit-learn at the given penalties; the pairwise lasso's candidates are every
    pair of loci (the screen keeps more pairs than the C(m, 2) there are)."""
    out = {kind: np.full(z.shape, np.nan) for kind in penalties}
    for fit, held in KFold(folds, shuffle=True, random_state=seed).split(X):
        for t in range(z.shape[1]):
            y = z[fit, t]
            out["ridge"][held, t] = Ridge(alpha=penalties["ridge"][t]).fit(X[fit], y).predict(X[held])
            out["lasso"][held, t], _ = sklearn_lasso(X[fit], y, X[held], penalties["lasso"][t])
            loci = np.arange(X.shape[1])
            out["pairwise"][held, t], _ = sklearn_lasso(pairwise_features(X[fit], loci, 1), y,
                                                        pairwise_features(X[held], loci, 1), penalties["pairwise"][t])
    return out


def test_out_of_fold_choice__equals_a_brute_force_loop_over_folds_with_sklearn(rng):
    # trait 0: a planted pair (product of two loci's dosages); trait 1: additive; trait 2: noise
    n, m, folds, seed = 240, 10, 5, 3
    assert m * (m - 1) // 2 <= PAIRWISE_SCREEN_PAIRS
    states = rng.integers(0, 3, size=(n, m)).astype(np.int8)
    d = states.astype(float)
    z = np.column_stack([1.5 * d[:, 1] * d[:, 4] + rng.normal(size=n),
                         0.8 * d[:, 2] - 0.6 * d[:, 7] + rng.normal(size=n), rng.normal(size=n)])
    z = (z - z.mean(axis=0)) / z.std(axis=0)
    mean = feature_means(states, 3, "dosage")
    paths = fit_paths(states, 3, "dosage", z, mean=mean, n_alphas=10, folds=3, seed=seed)
    penalties = {kind: path.alpha for kind, path in paths.items()}
    oof = out_of_fold(states, 3, "dosage", z, paths, mean=mean, folds=folds, seed=seed)
    X = feature_matrix(states, 3, "dosage", np.arange(m), mean.astype(np.float32)).astype(np.float64)
    expected = brute_force_out_of_fold(X, z, penalties, folds, seed)
    for kind in paths:  # coordinate descent stops at scikit-learn's default duality-gap tolerance, 1e-4
        np.testing.assert_allclose(oof[kind], expected[kind], atol=5e-3, err_msg=kind)
    sq = np.stack([(oof[kind] - z) ** 2 for kind in paths])
    brute_sq = np.stack([(expected[kind] - z) ** 2 for kind in paths])
    chosen = richer_choice(sq)
    np.testing.assert_array_equal(chosen, richer_choice(brute_sq))
    kinds = list(paths)
    assert [kinds[k] for k in chosen][0] == "pairwise"
    assert {kinds[k] for k in chosen[1:]} <= {"ridge", "lasso"}  # additive and noise: a linear path


def test_richer_choice__needs_one_standard_error_of_the_paired_gain():
    # per sample squared errors of (simple, rich); the rich path gains 0.1 on average
    gain = np.array([0.1 + 0.3, 0.1 - 0.3] * 50)  # mean 0.1, SD 0.3: SE 0.03, z = 3.3
    simple = np.ones(100)
    sq = np.stack([simple, simple - gain])[:, :, None]
    assert richer_choice(sq)[0] == 1
    assert richer_choice(sq, min_z=4.0)[0] == 0
    sq[1, :, 0] = simple + 0.01  # worse everywhere: never chosen
    assert richer_choice(sq)[0] == 0
