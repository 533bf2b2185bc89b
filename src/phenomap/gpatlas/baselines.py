"""Linear baselines on the same features and split as the network: ridge and lasso, penalties by CV.

Both work per trait on the training samples where the trait is observed, with the features
centred on those samples (so no penalised intercept).

- Ridge: the penalty minimises the exact leave-one-out error, computed from the eigen-
  decomposition of the n x n kernel X X^T (cheap when loci outnumber samples).
- Lasso: the solution path over a log grid of penalties is followed with sequential strong
  rules: scikit-learn's coordinate descent runs on the few columns the rule keeps, and the
  KKT conditions are checked on all columns (violators are added and the fit repeated), so
  the path is exact while each step only touches a few hundred columns. The penalty
  minimises the K-fold CV error; the objective is scikit-learn's
  ``1/(2n) ||y - X w||^2 + alpha ||w||_1``.
- Pairwise lasso: the lasso's loci, then a second lasso on their main effects and every
  product of two loci's features (strong hierarchy: an interaction is only considered between
  loci with a main effect). It captures multiplicative epistasis among selected loci, which a
  network would have to discover from thousands of inputs.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso
from sklearn.model_selection import KFold

RIDGE_ALPHAS = np.logspace(-2, 6, 33)


@dataclass(frozen=True)
class LinearFit:
    """A fitted linear model of one trait: y ~ intercept + (x - centre) @ coef."""

    coef: np.ndarray  # (p,)
    intercept: float
    centre: np.ndarray  # (p,)
    alpha: float

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.intercept + (X - self.centre) @ self.coef


def ridge_predict(K_train: np.ndarray, K_test: np.ndarray, y: np.ndarray,
                  alphas: np.ndarray = RIDGE_ALPHAS) -> tuple[np.ndarray, float]:
    """Ridge predictions from linear kernels, with the leave-one-out-optimal penalty.

    ``K_train`` (n, n) = X X^T over the training samples where y (n,) is observed,
    ``K_test`` (n_test, n) = X_test X^T; features are centred on the training samples
    implicitly (in kernel space). Returns (predictions (n_test,), penalty).
    """
    n = len(y)
    col_mean, grand = K_train.mean(axis=0), K_train.mean()
    Kc = K_train - col_mean[:, None] - col_mean[None, :] + grand
    Kt = K_test - K_test.mean(axis=1, keepdims=True) - col_mean[None, :] + grand
    s, U = np.linalg.eigh(Kc)
    s = np.clip(s, 0, None)
    mean = y.mean()
    Uy, U2 = U.T @ (y - mean), U**2
    loo = []
    for alpha in alphas:
        # residual and 1 - leverage written without cancellation: (I - H) = U diag(alpha / (s + alpha)) U^T,
        # less the unpenalised intercept's direction (the constant vector, leverage 1/n)
        kept = alpha / (s + alpha)
        loo.append(np.mean(((U @ (kept * Uy)) / (U2 @ kept - 1 / n)) ** 2))
    alpha = float(alphas[int(np.argmin(loo))])
    return mean + Kt @ (U @ (Uy / (s + alpha))), alpha


def lasso_path(X: np.ndarray, y: np.ndarray, alphas: np.ndarray, *, tol: float = 1e-4) -> Iterator[np.ndarray]:
    """Yield the lasso coefficients (p,) for each of the decreasing ``alphas``; X, y centred."""
    n, p = X.shape
    w = np.zeros(p, dtype=X.dtype)
    grad = np.abs(X.T @ y) / n
    previous = alphas[0]
    for alpha in alphas:
        keep = (grad >= 2 * alpha - previous) | (w != 0)
        while True:
            cols = np.flatnonzero(keep)
            if cols.size:
                model = Lasso(alpha=alpha, fit_intercept=False, precompute=False, tol=tol,
                              max_iter=5000, warm_start=True)
                model.coef_ = w[cols].copy()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    model.fit(X[:, cols], y)
                w[:] = 0
                w[cols] = model.coef_
            grad = np.abs(X.T @ (y - X[:, cols] @ w[cols])) / n
            violators = (grad > alpha * (1 + 1e-3)) & ~keep
            if not violators.any():
                break
            keep |= violators
        previous = alpha
        yield w.copy()


def lasso_cv(X: np.ndarray, y: np.ndarray, *, n_alphas: int = 20, ratio: float = 0.01, folds: int = 5,
             patience: int = 3, seed: int = 0) -> LinearFit:
    """Lasso of y (n,) on X (n, p) with the K-fold-CV-optimal penalty.

    The grid runs from the smallest penalty with an all-zero solution down to ``ratio`` of it
    (``n_alphas`` log-spaced values); the folds follow it together and stop ``patience``
    penalties after the CV error last improved, sparing the dense (slow) end of the path.
    """
    centre, mean = X.mean(axis=0), y.mean()
    Xc, yc = X - centre, (y - mean).astype(X.dtype)  # one dtype: mixed products would copy X
    alphas = np.abs(Xc.T @ yc).max() / len(yc) * np.logspace(0, np.log10(ratio), n_alphas)
    paths, held_out = [], []
    for train, held in KFold(folds, shuffle=True, random_state=seed).split(Xc):
        c, m = Xc[train].mean(axis=0), yc[train].mean()
        paths.append(lasso_path(Xc[train] - c, yc[train] - m, alphas))
        held_out.append((Xc[held] - c, yc[held] - m))
    errors = []
    for _ in alphas:
        errors.append(sum(np.sum((Xh @ next(path) - yh) ** 2) for path, (Xh, yh) in zip(paths, held_out)))
        if len(errors) - 1 - int(np.argmin(errors)) >= patience:
            break
    best = int(np.argmin(errors))
    *_, coef = itertools.islice(lasso_path(Xc, yc, alphas), best + 1)
    return LinearFit(coef, float(mean), centre, float(alphas[best]))


@dataclass(frozen=True)
class PairwiseFit:
    """Lasso on the main effects of selected loci and all products of their feature columns.

    ``loci`` are locus indices (features ``block * l ... block * l + block - 1`` of locus l);
    ``fit`` is the stage-2 lasso on ``pairwise_features(X, loci, block)``.
    """

    loci: np.ndarray  # (L,)
    block: int
    fit: LinearFit

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.fit.predict(pairwise_features(X, self.loci, self.block))


def pairwise_features(X: np.ndarray, loci: np.ndarray, block: int) -> np.ndarray:
    """(n, L*block + C(L,2)*block^2): the selected loci's features, then for each pair a < b of them
    every product of a feature of a with a feature of b (for one-hot states: both carry those states)."""
    n = X.shape[0]
    cols = (loci[:, None] * block + np.arange(block)).ravel()
    blocks = X[:, cols].reshape(n, len(loci), block)
    a, b = np.triu_indices(len(loci), k=1)
    products = (blocks[:, a, :, None] * blocks[:, b, None, :]).reshape(n, -1)
    return np.concatenate([X[:, cols], products], axis=1)


def pairwise_lasso(X: np.ndarray, y: np.ndarray, *, block: int, main_coef: np.ndarray | None = None,
                   max_loci: int = 40, n_alphas: int = 20, folds: int = 5, seed: int = 0) -> PairwiseFit:
    """Interaction lasso under strong hierarchy: a lasso selects loci, a second lasso fits y on their
    main effects and all pairwise products (at most ``max_loci`` loci, those with the largest |coef|).

    X : (n, block * m) features of m loci, ``block`` consecutive columns per locus (3 for one-hot
    allele states, 1 for dosage); y : (n,). Both lassos pick their penalty by K-fold CV.
    main_coef : (block * m,) coefficients of a lasso of y on X already fitted with these settings
    (used instead of fitting the first lasso again).
    """
    if main_coef is None:
        main_coef = lasso_cv(X, y, n_alphas=n_alphas, folds=folds, seed=seed).coef
    strength = np.abs(main_coef).reshape(-1, block).max(axis=1)
    loci = np.flatnonzero(strength)
    loci = np.sort(loci[np.argsort(-strength[loci], kind="stable")[:max_loci]])
    fit = lasso_cv(pairwise_features(X, loci, block), y, n_alphas=n_alphas, folds=folds, seed=seed)
    return PairwiseFit(loci, block, fit)
