"""Linear models of G-P Atlas: ridge, lasso and the pairwise lasso, as baselines and as the improved model's paths.

Each trait is fitted on the training samples where it is observed, with the features centred
on those samples (so no penalised intercept). Traits observed on the same samples share
everything that does not depend on the trait: the ridge kernel's eigendecomposition and the
lasso's centred feature matrix and cross-validation folds.

- Ridge: the penalty minimises the exact leave-one-out error, computed from the eigen-
  decomposition of the n x n kernel X X^T (the n < p dual: cheap when loci outnumber
  samples); one decomposition serves every trait observed on the same samples, as
  scikit-learn's ``RidgeCV`` serves several targets. Features: the network's (one-hot or
  dosage).
- Lasso: the solution path over a log grid of penalties is followed with sequential strong
  rules: scikit-learn's coordinate descent runs on the few columns the rule keeps, and the
  KKT conditions are checked on all columns (violators are added and the fit repeated), so
  the path is exact while each step only touches a few hundred columns. The penalty
  minimises the K-fold CV error; the objective is scikit-learn's
  ``1/(2n) ||y - X w||^2 + alpha ||w||_1``. Features: the network's less the one-hot
  columns that only repeat the intercept (:func:`~phenomap.gpatlas.data.linear_columns`:
  one column per biallelic locus instead of two), which leaves the optimum unchanged.
- Pairwise lasso: a second lasso on the main effects and pairwise products of the features of
  candidate loci: every pair of the lasso's loci (strong hierarchy), and the pairs of all loci
  that best explain the lasso's residual as a product (:mod:`phenomap.gpatlas.epistasis`: an
  epistatic pair without main effects has no locus in the lasso). It captures multiplicative
  epistasis, which a network would have to discover from thousands of inputs. Its features are
  the network's full one-hot blocks: for the products no column is redundant in the penalty.
"""

from __future__ import annotations

import itertools
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import enet_path
from sklearn.model_selection import KFold
from tqdm.auto import tqdm

from phenomap.gpatlas.data import feature_matrix, linear_columns, observed_groups
from phenomap.gpatlas.epistasis import screen

log = logging.getLogger(__name__)

RIDGE_ALPHAS = np.logspace(-2, 6, 33)
#: the linear paths the improved model chooses among, simplest first
PATHS = ("ridge", "lasso", "pairwise")
#: pairwise lasso: interactions among at most this many of the lasso's loci (largest effects)
PAIRWISE_MAX_LOCI = 40
#: pairwise lasso: also the products of this many pairs of all loci screened on the lasso's residual
PAIRWISE_SCREEN_PAIRS = 50


@dataclass(frozen=True)
class LinearFit:
    """A fitted linear model of one trait: y ~ intercept + (x - centre) @ coef.

    Attributes
    ----------
    coef : (p,) coefficients.
    intercept : the prediction at ``x = centre``.
    centre : (p,) feature means of the samples it was fitted on.
    alpha : the penalty.
    """

    coef: np.ndarray
    intercept: float
    centre: np.ndarray
    alpha: float

    def predict(self, X: np.ndarray) -> np.ndarray:
        """(n,) predictions from (n, p) features."""
        return self.intercept + (X - self.centre) @ self.coef


@dataclass(frozen=True)
class LinearPath:
    """Per-trait models over the F network features: prediction = intercept + (x - centre) @ coef.T
    + (x[:, pair_a] * x[:, pair_b] - pair_centre) @ pair_coef.T.

    The form of the improved model's path (``coef`` its linear layer's weights, ``intercept`` its
    bias, ``centre`` the training feature means its input is centred on, the ``pair_*`` its
    products of two features). A ridge or lasso has no pair terms; a pairwise lasso has them.

    Attributes
    ----------
    coef : (T, F) coefficients (zero for features a model does not use).
    intercept : (T,) float64.
    centre : (F,) feature centre.
    alpha : (T,) penalties (NaN where unknown).
    pair_a, pair_b : (P,) int64 feature indices of each product term (pair_a < pair_b).
    pair_centre : (P,) the product's mean on the samples its trait was fitted on.
    pair_coef : (T, P) coefficient of each product for each trait (each term belongs to one trait).
    """

    coef: np.ndarray
    intercept: np.ndarray
    centre: np.ndarray
    alpha: np.ndarray
    pair_a: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    pair_b: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    pair_centre: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pair_coef: np.ndarray | None = None

    def __post_init__(self):
        if self.pair_coef is None:
            object.__setattr__(self, "pair_coef", np.zeros((len(self.coef), 0)))

    @classmethod
    def from_fits(cls, fits: list[LinearFit], columns: np.ndarray, centre: np.ndarray) -> LinearPath:
        """Expand per-trait fits on the feature columns ``columns`` (p,) to all F = len(centre) features."""
        coef = np.zeros((len(fits), len(centre)), dtype=fits[0].coef.dtype if fits else np.float32)
        intercept = np.empty(len(fits))
        for t, fit in enumerate(fits):
            coef[t, columns] = fit.coef
            # each fit centred its features on its own samples; move that into the intercept
            intercept[t] = fit.intercept - (fit.centre - centre[columns]) @ fit.coef
        return cls(coef, intercept, centre, np.array([fit.alpha for fit in fits]))

    @property
    def used(self) -> np.ndarray:
        """Increasing indices of the features with a non-zero coefficient for some trait, or in a product."""
        return np.union1d(np.flatnonzero((self.coef != 0).any(axis=0)), np.r_[self.pair_a, self.pair_b])

    def predict(self, x: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """(n, T) predictions from ``x`` (n, len(columns)), the increasing features ``columns`` (which
        must include :attr:`used`)."""
        out = self.intercept + (x - self.centre[columns]) @ self.coef[:, columns].T
        if len(self.pair_a):
            a, b = np.searchsorted(columns, self.pair_a), np.searchsorted(columns, self.pair_b)
            out = out + (x[:, a] * x[:, b] - self.pair_centre) @ self.pair_coef.T
        return out

    def predict_states(self, states: np.ndarray, n_states: int, coding: str, mean: np.ndarray) -> np.ndarray:
        """(n, T) predictions of samples with allele-state codes ``states`` (n, m); ``mean`` (F,) float32
        imputes missing dosages."""
        used = self.used
        return self.predict(feature_matrix(states, n_states, coding, used, mean), used)

    def rows(self, chosen: dict[int, LinearPath]) -> LinearPath:
        """A path whose trait t is ``chosen[t]``'s trait t (every path on the same features and centre);
        traits not in ``chosen`` keep this path's."""
        coef, intercept, alpha = self.coef.copy(), self.intercept.copy(), self.alpha.astype(float)
        parts = [(self, [t for t in range(len(coef)) if t not in chosen])]
        for t, path in chosen.items():
            coef[t], intercept[t], alpha[t] = path.coef[t], path.intercept[t], path.alpha[t]
            parts.append((path, [t]))
        pair_a, pair_b, pair_centre, pair_coef = [], [], [], []
        for path, traits in parts:
            mine = np.zeros(path.pair_coef.shape[1], bool)
            for t in traits:
                mine |= path.pair_coef[t] != 0
            pair_a.append(path.pair_a[mine])
            pair_b.append(path.pair_b[mine])
            pair_centre.append(path.pair_centre[mine])
            block = np.zeros((len(coef), int(mine.sum())))
            block[traits] = path.pair_coef[traits][:, mine]
            pair_coef.append(block)
        return LinearPath(coef, intercept, self.centre, alpha, np.concatenate(pair_a), np.concatenate(pair_b),
                          np.concatenate(pair_centre), np.concatenate(pair_coef, axis=1))


def ridge_dual(K_train: np.ndarray, Y: np.ndarray, alphas: np.ndarray = RIDGE_ALPHAS, *,
               penalty: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dual ridge solution of k targets with each target's leave-one-out-optimal penalty.

    ``K_train`` (n, n) linear kernel X X^T, ``Y`` (n, k), ``alphas`` (a,); ``penalty`` (k,), if
    given, fixes each target's penalty instead. With X centred on its rows (done here in kernel
    space), the fit is ``mean + (x - x_bar) @ X_c^T @ dual``.
    Returns dual (n, k), mean (k,) of Y, chosen penalty (k,).
    """
    alphas = np.asarray(alphas, dtype=np.float64)
    n = len(Y)
    col_mean, grand = K_train.mean(axis=0), K_train.mean()
    Kc = K_train - col_mean[:, None] - col_mean[None, :] + grand
    s, U = np.linalg.eigh(Kc)
    s = np.clip(s, 0, None)
    mean = Y.mean(axis=0)
    UY, U2 = U.T @ (Y - mean), U**2
    if penalty is not None:
        penalty = np.asarray(penalty, dtype=np.float64)
        return U @ (UY / (s[:, None] + penalty[None, :])), mean, penalty
    loo = np.empty((len(alphas), Y.shape[1]))
    for a, alpha in enumerate(alphas):
        # residual and 1 - leverage written without cancellation: (I - H) = U diag(alpha / (s + alpha)) U^T,
        # less the unpenalised intercept's direction (the constant vector, leverage 1/n)
        kept = alpha / (s + alpha)
        loo[a] = np.mean(((U @ (kept[:, None] * UY)) / (U2 @ kept - 1 / n)[:, None]) ** 2, axis=0)
    chosen = alphas[np.argmin(loo, axis=0)]
    return U @ (UY / (s[:, None] + chosen[None, :])), mean, chosen


def ridge_predict(K_train: np.ndarray, K_test: np.ndarray, y: np.ndarray,
                  alphas: np.ndarray = RIDGE_ALPHAS) -> tuple[np.ndarray, float | np.ndarray]:
    """Ridge predictions from linear kernels, with each target's leave-one-out-optimal penalty.

    Parameters
    ----------
    K_train : (n, n)
        X X^T over the training samples (all observed for every target).
    K_test : (n_test, n)
        X_test X^T. Features are centred on the training samples implicitly (in kernel space).
    y : (n,) or (n, k)
        One target, or k targets sharing the samples (and one eigendecomposition).
    alphas : (a,)
        Penalty grid.

    Returns
    -------
    predictions : (n_test,) or (n_test, k)
    penalty : float, or (k,) array
    """
    Y = np.asarray(y, dtype=np.float64)
    single = Y.ndim == 1
    Y = Y[:, None] if single else Y
    dual, mean, chosen = ridge_dual(K_train, Y, alphas)
    col_mean, grand = K_train.mean(axis=0), K_train.mean()
    Kt = K_test - K_test.mean(axis=1, keepdims=True) - col_mean[None, :] + grand
    pred = mean + Kt @ dual
    return (pred[:, 0], float(chosen[0])) if single else (pred, chosen)


def ridge_kernel(states: np.ndarray, n_states: int, coding: str, rows: np.ndarray, *,
                 mean: np.ndarray | None = None, block: int = 4096) -> np.ndarray:
    """(n, len(rows)) float64 linear kernel X X[rows]^T of the network features of ``states`` (n, m).

    Accumulated over ``block`` feature columns at a time (memory ~ n x block float32). One-hot
    products are counts of shared states, exact in float32 (< 2^24), so they are computed in
    single precision and the kernel is exactly that of float64; dosages (with imputed means,
    ``mean`` (F,)) are computed in float64.
    """
    n_features = states.shape[1] * (n_states if coding == "onehot" else 1)
    K = np.zeros((len(states), len(rows)))
    for start in range(0, n_features, block):
        x = feature_matrix(states, n_states, coding, np.arange(start, min(start + block, n_features)), mean)
        if coding != "onehot":
            x = x.astype(np.float64)
        K += x @ x[rows].T
    return K


def ridge_baseline(states: np.ndarray, n_states: int, coding: str, z: np.ndarray, train: np.ndarray, *,
                   mean: np.ndarray | None = None, alphas: np.ndarray = RIDGE_ALPHAS,
                   traits=None) -> tuple[np.ndarray, np.ndarray]:
    """Ridge predictions of every sample, per trait fitted on its observed training samples.

    Parameters
    ----------
    states : (n, m) int8
        Allele-state codes (-1 = missing).
    n_states, coding :
        Feature coding (as the network's).
    z : (n, T)
        Standardised traits, NaN = missing.
    train : (r,) int
        Training rows.
    mean : (F,) float32, optional
        Training feature means (dosage coding: imputed for missing calls).
    alphas : (a,)
        Penalty grid.
    traits : sequence of str, optional
        Names for the log.

    Returns
    -------
    predictions : (n, T) float64
    penalties : (T,) the leave-one-out-optimal penalty of each trait.
    """
    K = ridge_kernel(states, n_states, coding, train, mean=mean)
    out = np.full(z.shape, np.nan)
    penalty = np.full(z.shape[1], np.nan)
    groups = observed_groups(z[train])
    for observed, group in groups:
        out[:, group], penalty[group] = ridge_predict(K[train[observed]][:, observed], K[:, observed],
                                                      z[train[observed]][:, group], alphas)
    log.info("ridge: %d eigendecompositions for %d traits; penalties %s", len(groups), z.shape[1],
             ", ".join(f"{name}={a:.3g}" for name, a in zip(traits or range(z.shape[1]), penalty)))
    return out, penalty


def ridge_path(states: np.ndarray, n_states: int, coding: str, z: np.ndarray, *, mean: np.ndarray,
               alphas: np.ndarray = RIDGE_ALPHAS, penalty: np.ndarray | None = None, block: int = 4096) -> LinearPath:
    """Per-trait ridge (leave-one-out penalty) of standardised traits as a :class:`LinearPath` on all F features.

    ``states`` (n, m) the samples to fit on, ``z`` (n, T) NaN = missing, ``mean`` (F,) their
    feature means (the path's centre; float32 of it imputes missing dosages). The same fit as
    :func:`ridge_baseline` (primal coefficients ``X_c^T dual``, built ``block`` features at a time).
    ``penalty`` (T,), if given, fixes each trait's penalty (no leave-one-out choice).
    """
    mean32 = mean.astype(np.float32)
    K = ridge_kernel(states, n_states, coding, np.arange(len(states)), mean=mean32)
    fits: list[LinearFit | None] = [None] * z.shape[1]
    for observed, group in observed_groups(z):
        rows = np.flatnonzero(observed)
        dual, y_mean, chosen = ridge_dual(K[np.ix_(rows, rows)], z[rows][:, group],
                                          penalty=None if penalty is None else penalty[group])
        coef, centre = np.zeros((len(mean), len(group))), np.empty(len(mean))
        for start in range(0, len(mean), block):
            cols = np.arange(start, min(start + block, len(mean)))
            x = feature_matrix(states[rows], n_states, coding, cols, mean32).astype(np.float64)
            centre[cols] = x.mean(axis=0)
            coef[cols] = (x - centre[cols]).T @ dual
        for g, t in enumerate(group):
            fits[t] = LinearFit(coef[:, g], float(y_mean[g]), centre, float(chosen[g]))
    return LinearPath.from_fits(fits, np.arange(len(mean)), mean)


def _coordinate_descent(X: np.ndarray, y: np.ndarray, alpha: float, init: np.ndarray, tol: float) -> np.ndarray:
    """scikit-learn's lasso coordinate descent (as ``Lasso(fit_intercept=False).fit`` runs it) from ``init``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _, coefs, _ = enet_path(np.asfortranarray(X), y, l1_ratio=1.0, alphas=[alpha], precompute=False,
                                coef_init=init, check_input=False, tol=tol, max_iter=5000)
    return coefs[:, 0]


def lasso_path(X: np.ndarray, y: np.ndarray, alphas: np.ndarray, *, tol: float = 1e-4) -> Iterator[np.ndarray]:
    """Yield the lasso coefficients (p,) for each of the decreasing ``alphas``; X (n, p), y (n,) centred."""
    n, p = X.shape
    y_cd = np.ascontiguousarray(y, dtype=X.dtype)
    w = np.zeros(p, dtype=X.dtype)
    grad = np.abs(X.T @ y) / n
    previous = alphas[0]
    for alpha in alphas:
        keep = (grad >= 2 * alpha - previous) | (w != 0)
        while True:
            cols = np.flatnonzero(keep)
            active = X[:, cols]
            if cols.size:
                coef = _coordinate_descent(active, y_cd, alpha, w[cols], tol)
                w[:] = 0
                w[cols] = coef
            grad = np.abs(X.T @ (y - active @ w[cols])) / n
            violators = (grad > alpha * (1 + 1e-3)) & ~keep
            if not violators.any():
                break
            keep |= violators
        previous = alpha
        yield w.copy()


def lasso_at(Xc: np.ndarray, yc: np.ndarray, alpha: float, *, steps: int = 10) -> np.ndarray:
    """Lasso coefficients (p,) of centred yc (n,) on centred Xc (n, p) at the fixed penalty ``alpha``,
    followed down from the smallest all-zero penalty in ``steps`` log steps (warm starts)."""
    yc = yc.astype(Xc.dtype)
    top = np.abs(Xc.T @ yc).max(initial=0) / len(yc)
    if not 0 < alpha < top:  # the intercept alone
        return np.zeros(Xc.shape[1], dtype=Xc.dtype)
    *_, coef = lasso_path(Xc, yc, top * np.logspace(0, np.log10(alpha / top), steps))
    return coef


def centred_lasso(X: np.ndarray, y: np.ndarray, alpha: float) -> LinearFit:
    """Lasso of y (n,) on X (n, p) at the fixed penalty ``alpha`` (:func:`lasso_at`), centred on these samples."""
    centre = X.mean(axis=0)
    return LinearFit(lasso_at(X - centre, y - y.mean(), alpha), float(y.mean()), centre, float(alpha))


class FoldDesign:
    """A feature matrix centred and split into K folds once, for lasso fits of any trait observed on its rows.

    Parameters
    ----------
    X : (n, p) float
        Features of the samples (float32 halves the memory and time of float64).
    folds : int
        K of the K-fold CV.
    seed : int
        Seed of ``KFold(folds, shuffle=True)``.

    Memory: about (2 + folds) x the size of X (the centred matrix and each fold's training and
    held-out parts, centred on the fold's training part).
    """

    def __init__(self, X: np.ndarray, *, folds: int, seed: int):
        self.centre = X.mean(axis=0)
        self.Xc = X - self.centre
        self.folds = []
        for train, held in KFold(folds, shuffle=True, random_state=seed).split(self.Xc):
            X_train = self.Xc[train]
            c = X_train.mean(axis=0)
            X_train -= c
            X_held = self.Xc[held]
            X_held -= c
            self.folds.append((train, held, X_train, X_held))

    def lasso(self, y: np.ndarray, *, n_alphas: int = 20, ratio: float = 0.01, patience: int = 3) -> LinearFit:
        """Lasso of y (n,) with the K-fold-CV-optimal penalty (see :func:`lasso_cv`)."""
        mean = y.mean()
        yc = (y - mean).astype(self.Xc.dtype)  # one dtype: mixed products would copy X
        top = np.abs(self.Xc.T @ yc).max(initial=0) / len(yc)
        if top == 0:  # no feature varies with y: the intercept alone
            return LinearFit(np.zeros(self.Xc.shape[1], dtype=self.Xc.dtype), float(mean), self.centre, 0.0)
        alphas = top * np.logspace(0, np.log10(ratio), n_alphas)
        paths, held_out = [], []
        for train, held, X_train, X_held in self.folds:
            m = yc[train].mean()
            paths.append(lasso_path(X_train, yc[train] - m, alphas))
            held_out.append((X_held, yc[held] - m))
        errors = []
        for _ in alphas:
            errors.append(sum(np.sum((Xh @ next(path) - yh) ** 2) for path, (Xh, yh) in zip(paths, held_out)))
            if len(errors) - 1 - int(np.argmin(errors)) >= patience:
                break
        best = int(np.argmin(errors))
        *_, coef = itertools.islice(lasso_path(self.Xc, yc, alphas), best + 1)
        return LinearFit(coef, float(mean), self.centre, float(alphas[best]))


def lasso_cv(X: np.ndarray, y: np.ndarray, *, n_alphas: int = 20, ratio: float = 0.01, folds: int = 5,
             patience: int = 3, seed: int = 0) -> LinearFit:
    """Lasso of y (n,) on X (n, p) with the K-fold-CV-optimal penalty.

    The grid runs from the smallest penalty with an all-zero solution down to ``ratio`` of it
    (``n_alphas`` log-spaced values); the folds follow it together and stop ``patience``
    penalties after the CV error last improved, sparing the dense (slow) end of the path.
    For several traits observed on the same samples, build one :class:`FoldDesign` and call
    its ``lasso`` per trait (the same numbers, without re-centring and re-splitting X).
    """
    return FoldDesign(X, folds=folds, seed=seed).lasso(y, n_alphas=n_alphas, ratio=ratio, patience=patience)


def fit_lasso_path(states: np.ndarray, n_states: int, coding: str, z: np.ndarray, *, mean: np.ndarray,
                   n_alphas: int = 20, folds: int = 5, seed: int = 0, traits=None,
                   alphas: np.ndarray | None = None) -> LinearPath:
    """Per-trait CV lasso of standardised traits on the linear-model features, in network coordinates.

    Parameters
    ----------
    states : (n, m) int8
        Allele-state codes of the samples to fit on (the training split).
    n_states, coding :
        The network's feature coding.
    z : (n, T)
        Standardised traits, NaN = missing (each trait is fitted on its observed samples).
    mean : (F,) float64
        Feature means of these samples: imputed for missing dosages (as float32, as the
        network does) and the centre of the returned path.
    n_alphas, folds, seed :
        As :func:`lasso_cv`.
    traits : sequence of str, optional
        Names for the log.
    alphas : (T,), optional
        Fixed penalties (no cross-validation).

    Returns
    -------
    LinearPath
        Coefficients on the network's F features; zero on the columns left out of the fit
        (:func:`~phenomap.gpatlas.data.linear_columns`: the higher state of a biallelic
        locus, states absent from the training calls), which is where coordinate descent on
        the full coding keeps them too.
    """
    columns = linear_columns(states, n_states, coding)
    x = feature_matrix(states, n_states, coding, columns, mean.astype(np.float32))
    fits: list[LinearFit | None] = [None] * z.shape[1]
    groups = observed_groups(z)
    progress = tqdm(total=z.shape[1], desc="lasso path", mininterval=5)
    for observed, group in groups:
        xo = x if observed.all() else x[observed]
        if alphas is None:
            design = FoldDesign(xo, folds=folds, seed=seed)
        else:
            centre = xo.mean(axis=0)
            xo = xo - centre
        for t in group:
            y = z[observed, t]
            fits[t] = (design.lasso(y, n_alphas=n_alphas) if alphas is None else
                       LinearFit(lasso_at(xo, y - y.mean(), alphas[t]), float(y.mean()), centre, float(alphas[t])))
            log.info("lasso %s: penalty %.3g, %d non-zero coefficients", traits[t] if traits else t,
                     fits[t].alpha, int((fits[t].coef != 0).sum()))
            progress.update()
    progress.close()
    log.info("lasso: %d of %d network features (%d loci), %d fold designs for %d traits", len(columns), len(mean),
             states.shape[1], len(groups), z.shape[1])
    return LinearPath.from_fits(fits, columns, mean)


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


def pairwise_features(X: np.ndarray, loci: np.ndarray, block: int, pairs: np.ndarray | None = None) -> np.ndarray:
    """(n, L*block + q*block^2): the selected loci's features, then for each pair of them every product
    of a feature of one with a feature of the other (for one-hot states: both carry those states).
    ``pairs`` (q, 2) positions in ``loci``; default every pair a < b (q = C(L, 2))."""
    n = X.shape[0]
    cols = (loci[:, None] * block + np.arange(block)).ravel()
    blocks = X[:, cols].reshape(n, len(loci), block)
    a, b = np.triu_indices(len(loci), k=1) if pairs is None else np.asarray(pairs).reshape(-1, 2).T
    products = (blocks[:, a, :, None] * blocks[:, b, None, :]).reshape(n, -1)
    return np.concatenate([X[:, cols], products], axis=1)


def pairwise_loci(main_coef: np.ndarray, block: int, max_loci: int = 40) -> np.ndarray:
    """Increasing indices of the (at most ``max_loci``) loci with the largest non-zero effect in
    ``main_coef`` (block * m,), ``block`` consecutive coefficients per locus.

    A locus's effect is the largest difference between two of its states' coefficients (one-hot)
    or |coefficient| (dosage): unlike the largest |coefficient|, it does not depend on how a
    lasso splits an effect between the complement columns of a biallelic locus, so the full
    and the reduced coding (:func:`~phenomap.gpatlas.data.linear_columns`) rank loci alike.
    """
    coef = main_coef.reshape(-1, block)
    strength = np.ptp(coef, axis=1) if block > 1 else np.abs(coef[:, 0])
    loci = np.flatnonzero(strength)
    return np.sort(loci[np.argsort(-strength[loci], kind="stable")[:max_loci]])


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
    loci = pairwise_loci(main_coef, block, max_loci)
    fit = lasso_cv(pairwise_features(X, loci, block), y, n_alphas=n_alphas, folds=folds, seed=seed)
    return PairwiseFit(loci, block, fit)


def product_columns(pairs: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """For each product column of :func:`pairwise_features` over the locus ``pairs`` (q, 2): the
    positions (among the loci's main columns, ``block`` per locus) of its two factors."""
    a, b = np.asarray(pairs).reshape(-1, 2).T
    i, j = np.meshgrid(np.arange(block), np.arange(block), indexing="ij")
    return (a[:, None, None] * block + i).ravel(), (b[:, None, None] * block + j).ravel()


def candidate_pairs(main_loci: np.ndarray, scanned: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairwise lasso's loci and product pairs: every pair of the lasso's ``main_loci`` (L,) and the
    screened pairs ``scanned`` (q, 2) of locus indices. Returns the increasing loci and the unique
    pairs (as positions in them, lower first)."""
    loci = np.union1d(main_loci, scanned.ravel()).astype(np.int64)
    a, b = np.triu_indices(len(main_loci), k=1)
    pairs = np.concatenate([np.column_stack([main_loci[a], main_loci[b]]), np.sort(scanned, axis=1)]).astype(np.int64)
    return loci, np.unique(np.searchsorted(loci, pairs), axis=0)


def pairwise_path(states: np.ndarray, n_states: int, coding: str, z: np.ndarray, main: LinearPath, *,
                  max_loci: int = 40, screen_pairs: int = PAIRWISE_SCREEN_PAIRS, n_alphas: int = 20, folds: int = 5,
                  seed: int = 0, traits=None, alphas: np.ndarray | None = None,
                  screened: list[tuple[np.ndarray, np.ndarray]] | None = None) -> LinearPath:
    """Per-trait pairwise lasso of standardised traits as a :class:`LinearPath`.

    ``states`` (n, m) the samples to fit on, ``z`` (n, T) NaN = missing, ``main`` the lasso already
    fitted on them (its ``centre`` (F,) is the path's, and imputes missing dosages). Per trait, the
    candidate products are every pair of the lasso's ``max_loci`` strongest loci
    (:func:`pairwise_loci`, as :func:`pairwise_lasso`) and the ``screen_pairs`` pairs of all loci
    that best explain the lasso's residual as a product
    (:func:`~phenomap.gpatlas.epistasis.top_product_pairs`; panels of allele counts only). Only
    those loci's features are built (the network's full one-hot blocks); the non-zero products
    become the path's pair terms. ``alphas`` (T,), if given, fixes the second lasso's penalties (no
    cross-validation). ``screened``, if given, is that screen already run on these samples
    (:func:`~phenomap.gpatlas.epistasis.screen`).
    """
    block = n_states if coding == "onehot" else 1
    mean32 = main.centre.astype(np.float32)
    T, F = z.shape[1], len(main.centre)
    coef, intercept, alpha = np.zeros((T, F)), np.empty(T), np.empty(T)
    if screened is None:
        screened = screen(states, n_states, z - main.predict_states(states, n_states, coding, mean32), screen_pairs)
    if screened is None:  # no screen
        screened = [(np.zeros((0, 2), np.int64), np.zeros(0))] * T
    terms = []
    for t, (scanned, _) in enumerate(screened):
        obs = ~np.isnan(z[:, t])
        loci, pairs = candidate_pairs(pairwise_loci(main.coef[t], block, max_loci), scanned)
        cols = (loci[:, None] * block + np.arange(block)).ravel()
        X = pairwise_features(feature_matrix(states[obs], n_states, coding, cols, mean32), np.arange(len(loci)), block,
                              pairs)
        fit = (lasso_cv(X, z[obs, t], n_alphas=n_alphas, folds=folds, seed=seed) if alphas is None else
               centred_lasso(X, z[obs, t], alphas[t]))
        k = len(cols)
        coef[t, cols], alpha[t] = fit.coef[:k], fit.alpha
        intercept[t] = fit.intercept - (fit.centre[:k] - main.centre[cols]) @ fit.coef[:k]
        first, second = product_columns(pairs, block)
        on = np.flatnonzero(fit.coef[k:])
        terms.append((t, cols[first[on]], cols[second[on]], fit.centre[k:][on], fit.coef[k:][on]))
        log.info("pairwise lasso %s: %d loci, %d candidate pairs (%d screened), %d non-zero of %d coefficients",
                 traits[t] if traits else t, len(loci), len(pairs), len(scanned), int((fit.coef != 0).sum()),
                 fit.coef.size)
    pair_coef = np.zeros((T, sum(len(term[4]) for term in terms)))
    start = 0
    for t, *_, values in terms:
        pair_coef[t, start:start + len(values)] = values
        start += len(values)
    pair_a, pair_b, pair_centre = (np.concatenate([term[i] for term in terms]) for i in (1, 2, 3))
    return LinearPath(coef, intercept, main.centre, alpha, pair_a, pair_b, pair_centre, pair_coef)


def pairwise_baseline(states: np.ndarray, n_states: int, coding: str, z: np.ndarray, train: np.ndarray,
                      main: LinearPath, *, mean: np.ndarray | None = None, max_loci: int = 40,
                      screen_pairs: int = PAIRWISE_SCREEN_PAIRS, n_alphas: int = 20, folds: int = 5, seed: int = 0,
                      traits=None, screened: list[tuple[np.ndarray, np.ndarray]] | None = None) -> np.ndarray:
    """Pairwise-lasso predictions (n, T) of every sample (:func:`pairwise_path` on the training rows
    ``train`` (r,)), the loci chosen by the lasso ``main`` already fitted on them.

    ``states`` (n, m), ``z`` (n, T) standardised with NaN for missing, ``mean`` (F,) float32
    training feature means (dosage imputation; default ``main.centre``).
    """
    path = pairwise_path(states[train], n_states, coding, z[train], main, max_loci=max_loci, screen_pairs=screen_pairs,
                         n_alphas=n_alphas, folds=folds, seed=seed, traits=traits, screened=screened)
    return path.predict_states(states, n_states, coding, main.centre.astype(np.float32) if mean is None else mean)


def fit_paths(states: np.ndarray, n_states: int, coding: str, z: np.ndarray, *, mean: np.ndarray, kinds=PATHS,
              n_alphas: int = 20, folds: int = 5, seed: int = 0, traits=None,
              penalties: dict[str, np.ndarray] | None = None,
              screen_pairs: int = PAIRWISE_SCREEN_PAIRS) -> dict[str, LinearPath]:
    """The paths ``kinds`` (subset of :data:`PATHS`) of standardised traits ``z`` (n, T) on the samples
    ``states`` (n, m), each centred on ``mean`` (F,), their feature means; in :data:`PATHS` order.
    The pairwise lasso's loci come from the lasso, fitted once for both, and its screened pairs
    (``screen_pairs`` per trait, :func:`pairwise_path`). ``penalties`` maps a kind
    to its (T,) fixed penalties (e.g. the ``alpha`` of a path fitted before); kinds without one
    choose theirs (ridge: leave-one-out, lasso and pairwise: K-fold CV)."""
    fixed = penalties or {}
    out = {}
    if "ridge" in kinds:
        out["ridge"] = ridge_path(states, n_states, coding, z, mean=mean, penalty=fixed.get("ridge"))
    if "lasso" in kinds or "pairwise" in kinds:
        lasso = fit_lasso_path(states, n_states, coding, z, mean=mean, n_alphas=n_alphas, folds=folds, seed=seed,
                               traits=traits, alphas=fixed.get("lasso"))
        if "lasso" in kinds:
            out["lasso"] = lasso
        if "pairwise" in kinds:
            out["pairwise"] = pairwise_path(states, n_states, coding, z, lasso, max_loci=PAIRWISE_MAX_LOCI,
                                            screen_pairs=screen_pairs, n_alphas=n_alphas, folds=folds, seed=seed,
                                            traits=traits, alphas=fixed.get("pairwise"))
    return out


def out_of_fold(states: np.ndarray, n_states: int, coding: str, z: np.ndarray, paths: dict[str, LinearPath], *,
                mean: np.ndarray, folds: int = 5, seed: int = 0,
                screen_pairs: int = PAIRWISE_SCREEN_PAIRS) -> dict[str, np.ndarray]:
    """K-fold out-of-fold predictions (n, T) of each path kind of ``paths``, fitted on ``states`` (n, m)
    and ``z`` (n, T, NaN = missing): every sample is predicted once, by the kind refitted on the other
    folds (``KFold(folds, shuffle=True, random_state=seed)``) at the penalties of ``paths`` (each
    trait's ``alpha``), so each fold refits the coefficients and the pairwise lasso's loci but not the
    penalties. ``mean`` (F,): the paths' centre (float32 of it imputes missing dosages); ``screen_pairs``
    as :func:`fit_paths`."""
    penalties = {kind: path.alpha for kind, path in paths.items()}
    out = {kind: np.full(z.shape, np.nan) for kind in paths}
    for fit, held in KFold(folds, shuffle=True, random_state=seed).split(states):
        refit = fit_paths(states[fit], n_states, coding, z[fit], mean=mean, kinds=tuple(paths), penalties=penalties,
                          screen_pairs=screen_pairs)
        for kind, path in refit.items():
            out[kind][held] = path.predict_states(states[held], n_states, coding, mean.astype(np.float32))
    return out


def mixed_path(paths: dict[str, LinearPath], kinds) -> LinearPath:
    """One path whose trait t is ``paths[kinds[t]]``'s trait t."""
    first = paths[kinds[0]]
    return first.rows({t: paths[kind] for t, kind in enumerate(kinds) if paths[kind] is not first})
