"""Genomic-prediction baselines for the GRVSNN comparison: one trait, one training fold, one call.

Every method takes training features ``X_train`` (n, p), already standardised with training-fold
statistics (markers, optionally followed by relationship loadings), a phenotype ``y_train`` (n,)
with covariates regressed out (phenotyped individuals only) and test features ``X_test`` (m, p)
standardised with the same statistics. It returns a `BaselineResult`: test predictions in the
units of ``y_train``, the features it keeps, its wall-clock cost and method details. All tuning
(penalties, variance components, path points) uses the training fold only. `fit_predict` runs a
method by name with settings from a mapping (the workflow config).

========  ==============================================================  ==============================
method    model and tuning                                                ``selected``
========  ==============================================================  ==============================
ridge     ridge regression = GBLUP; penalty by exact leave-one-out        None (every feature is used)
brr       Bayesian ridge regression; variances by evidence maximisation   None
lasso     lasso; penalty by K-fold cross-validation (strong-rule paths)   non-zero coefficients
lassonet  LassoNet; point of its λ path by an inner validation split      features the chosen point keeps
bayescpi  BayesCπ by Gibbs sampling (this module's sampler)               inclusion probability > 0.5,
                                                                          or 95 % interval excludes 0
========  ==============================================================  ==============================

The paper ran BRR, BayesCπ and the Bayesian lasso with BGLR's defaults (6,000 iterations,
2,000 burn-in). Here BRR is empirical Bayes (the same Gaussian prior on effects, variances by
evidence maximisation as scikit-learn's ``BayesianRidge`` does them, instead of MCMC; see `brr`),
and BayesCπ is sampled by `bayes_cpi_gibbs` with BGLR's default priors. The Bayesian lasso has no
stand-in here.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from scipy.linalg.blas import daxpy, ddot
from scipy.special import logit
from sklearn.model_selection import KFold

from phenomap.errors import InputError
from phenomap.gpatlas.baselines import lasso_path

RIDGE_PENALTY_RATIOS = np.logspace(-2, 2, 41)
"""Default ridge grid as λ / p: on standardised markers, h² = 1 / (1 + λ/p) from 0.99 down to 0.01."""


@dataclass(frozen=True)
class BaselineResult:
    """One baseline fitted on one training fold and applied to its test fold.

    Attributes
    ----------
    method : str
        Name of the method, one of `METHODS`.
    prediction : numpy.ndarray
        (n_test,) float64 predicted phenotypes, in the units of ``y_train``.
    selected : numpy.ndarray or None
        (p,) bool, the features the fitted model uses; None for methods that use every feature.
    seconds : float
        Wall-clock seconds of tuning, fitting and predicting.
    info : dict
        Method details (chosen penalty, variance components, convergence summary), scalars only.
    """

    method: str
    prediction: np.ndarray
    selected: np.ndarray | None
    seconds: float
    info: dict[str, Any]


# --- settings -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RidgeSettings:
    """Settings of `ridge`.

    Attributes
    ----------
    alphas : sequence of float or None
        Penalties λ to choose from (objective ``||y - Xw||² + λ||w||²``); None:
        ``p * RIDGE_PENALTY_RATIOS`` (41 log-spaced values, h² from 0.99 to 0.01).
    """

    alphas: Sequence[float] | None = None

    def __post_init__(self):
        if self.alphas is not None:
            a = np.asarray(self.alphas, dtype=float)
            if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a) & (a > 0)):
                raise InputError(f"ridge alphas must be a non-empty list of positive numbers, got {self.alphas!r}")


@dataclass(frozen=True)
class BRRSettings:
    """Settings of `brr`: limits of the evidence-maximisation iteration (scikit-learn's meaning).

    Attributes
    ----------
    max_iter : int
        Maximum number of evidence-maximisation updates.
    tol : float
        Stop when the summed absolute change of the coefficients falls below this.
    """

    max_iter: int = 300
    tol: float = 1e-3

    def __post_init__(self):
        _require(self.max_iter >= 1 and self.tol > 0, "brr needs max_iter >= 1 and tol > 0", self)


@dataclass(frozen=True)
class LassoSettings:
    """Settings of `lasso`.

    Attributes
    ----------
    n_alphas : int
        Length of the penalty grid, log-spaced from ``alpha_max`` (the smallest penalty with
        all coefficients zero on the training fold) down to ``alpha_ratio * alpha_max``.
    alpha_ratio : float
        Smallest penalty of the grid relative to ``alpha_max``.
    folds : int
        K of the K-fold cross-validation (folds shuffled with the call's seed).
    patience : int or None
        Stop following the path this many penalties after the cross-validated error last
        improved (the dense end of the path is the slow part); None: the whole grid.
    tol : float
        Coordinate-descent tolerance (scikit-learn's meaning).
    """

    n_alphas: int = 30
    alpha_ratio: float = 0.01
    folds: int = 5
    patience: int | None = 3
    tol: float = 1e-4

    def __post_init__(self):
        _require(self.n_alphas >= 1 and 0 < self.alpha_ratio < 1 and self.folds >= 2
                 and (self.patience is None or self.patience >= 1) and self.tol > 0,
                 "lasso needs n_alphas >= 1, 0 < alpha_ratio < 1, folds >= 2, patience >= 1 or None, tol > 0", self)


@dataclass(frozen=True)
class LassoNetSettings:
    """Settings of `lassonet` (names as in ``lassonet.LassoNetRegressor``).

    The path is λ_k = ``lambda_start`` · ``path_multiplier``^k, k = 0, 1, …, until no feature is
    left, after a dense fit at λ = 0. λ multiplies the group norm of each feature's weights in an
    objective whose loss is the mean squared error of the standardised phenotype, so one grid
    suits every trait: on the mice data (1,160 × 10,346) features start to drop near λ = 3, the
    validation error is lowest near λ = 50-200 and none is left by λ = 1,000 (38 path points,
    ~90 s on one core with the defaults); on small problems these move down. ``"auto"`` lets
    LassoNet estimate a start (a tenth of the λ at which its proximal step first empties a
    feature of the dense model) at the cost of thousands of proximal steps (~45 s at mice size).

    Attributes
    ----------
    hidden_dims : tuple of int
        Widths of the hidden layers (the paper used two).
    M : float
        Hierarchy coefficient: a feature's first-layer weights are bounded by M times its
        skip-connection weight.
    lambda_start : float or "auto"
        First λ of the path.
    path_multiplier : float
        Ratio of consecutive λ (> 1).
    n_iters : tuple of int
        Maximum epochs of the dense fit and of each path point.
    patience : tuple of int
        Early-stopping patience (epochs) of the dense fit and of each path point, on the
        validation objective.
    val_fraction : float
        Fraction of the training fold held out (seeded) for early stopping and for choosing
        the path point; the network is trained on the rest.
    batch_size : int or None
        Mini-batch size; None: full batch.
    device : str or None
        Torch device; None: CUDA when available, else CPU.
    """

    hidden_dims: tuple[int, ...] = (32, 16)
    M: float = 10.0
    lambda_start: float | str = 1.0
    path_multiplier: float = 1.2
    n_iters: tuple[int, int] = (200, 50)
    patience: tuple[int, int] = (10, 5)
    val_fraction: float = 0.2
    batch_size: int | None = None
    device: str | None = None

    def __post_init__(self):
        _require(len(self.hidden_dims) >= 1 and all(int(h) >= 1 for h in self.hidden_dims) and self.M > 0
                 and (self.lambda_start == "auto" or (not isinstance(self.lambda_start, str) and self.lambda_start > 0))
                 and self.path_multiplier > 1 and len(self.n_iters) == 2 and min(self.n_iters) >= 1
                 and len(self.patience) == 2 and min(self.patience) >= 1 and 0 < self.val_fraction < 1
                 and (self.batch_size is None or self.batch_size >= 1),
                 "lassonet needs hidden widths >= 1, M > 0, lambda_start > 0 or 'auto', path_multiplier > 1, "
                 "two n_iters and two patience values >= 1, 0 < val_fraction < 1, batch_size >= 1 or None", self)


@dataclass(frozen=True)
class BayesCpiSettings:
    """Settings of `bayescpi` / `bayes_cpi_gibbs`.

    Iterations are numbered 1 … ``n_iter``; iteration i is kept when i > ``burn_in`` and
    i is a multiple of ``thin`` (BGLR's convention). Prior scales follow BGLR's defaults
    (see `bayes_cpi_gibbs`).

    Attributes
    ----------
    n_iter, burn_in, thin : int
        Chain length, discarded start and thinning (paper: 6,000 and 2,000; BGLR's thin is 5).
    r2 : float
        Prior share of phenotypic variance explained by the markers (BGLR's ``R2``).
    df_beta, df_e : float
        Degrees of freedom of the scaled-inverse-χ² priors of σ²_β and σ²_e (> 2).
    selection : {"inclusion", "interval"}
        Which features count as selected: ``"inclusion"``, posterior inclusion probability
        P(δ_j = 1 | y) > 0.5 (the median probability model); ``"interval"``, the 95 %
        equal-tailed credible interval of β_j δ_j excludes 0, i.e. P(β_j δ_j > 0 | y) > 0.975 or
        P(β_j δ_j < 0 | y) > 0.975 (the paper's rule, the default). When the posterior puts π
        below 0.5 (a polygenic trait: 0.43 for the mice's body length) most markers have
        inclusion probability above 0.5 (9,420 of 10,346 there); the interval rule still picks
        out the clear effects.
    fixed_pi, fixed_var_e, fixed_var_beta : float or None
        Hold π (in [0, 1)), σ²_e or σ²_β at a value instead of sampling it (π = 0 gives
        Bayesian ridge regression); None: sampled.
    """

    n_iter: int = 6000
    burn_in: int = 2000
    thin: int = 5
    r2: float = 0.5
    df_beta: float = 5.0
    df_e: float = 5.0
    selection: str = "interval"
    fixed_pi: float | None = None
    fixed_var_e: float | None = None
    fixed_var_beta: float | None = None

    def __post_init__(self):
        _require(self.n_iter >= 1 and self.burn_in >= 0 and self.thin >= 1 and self.n_kept >= 1,
                 "bayescpi needs n_iter >= 1, burn_in >= 0, thin >= 1 and at least one kept draw "
                 "(n_iter // thin > burn_in // thin)", self)
        _require(0 < self.r2 < 1 and self.df_beta > 2 and self.df_e > 2 and self.selection in ("inclusion", "interval"),
                 "bayescpi needs 0 < r2 < 1, df_beta > 2, df_e > 2 and selection 'inclusion' or 'interval'", self)
        _require((self.fixed_pi is None or 0 <= self.fixed_pi < 1)
                 and (self.fixed_var_e is None or self.fixed_var_e > 0)
                 and (self.fixed_var_beta is None or self.fixed_var_beta > 0),
                 "bayescpi needs fixed_pi in [0, 1) and positive fixed variances (or None)", self)

    @property
    def n_kept(self) -> int:
        """Number of kept draws."""
        return self.n_iter // self.thin - self.burn_in // self.thin


def _require(ok: bool, what: str, settings) -> None:
    if not ok:
        raise InputError(f"{what}; got {settings}")


# --- input checks ---------------------------------------------------------------------------------


def _check_training(X_train, y_train) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X_train, dtype=np.float64)
    y = np.asarray(y_train, dtype=np.float64)
    if X.ndim != 2 or y.ndim != 1:
        raise InputError(f"X_train must be 2-D (n, p) and y_train 1-D (n,); got shapes {X.shape} and {y.shape}")
    if X.shape[0] != y.shape[0]:
        raise InputError(f"X_train has {X.shape[0]} rows but y_train has {y.shape[0]} values: pass the same "
                         "individuals in the same order")
    if X.shape[0] < 2 or X.shape[1] < 1:
        raise InputError(f"need at least 2 individuals and 1 feature, got X_train of shape {X.shape}")
    for name, a in (("X_train", X), ("y_train", y)):
        bad = np.argwhere(~np.isfinite(a))
        if bad.size:
            raise InputError(f"{name} has a missing or infinite value at index {tuple(int(i) for i in bad[0])}: "
                             "pass phenotyped individuals only and impute genotypes before the baselines")
    if np.ptp(y) == 0:
        raise InputError("y_train is constant: there is nothing to predict")
    return X, y


def _check_inputs(X_train, y_train, X_test) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X, y = _check_training(X_train, y_train)
    X_test = np.asarray(X_test, dtype=np.float64)
    if X_test.ndim != 2 or X_test.shape[1] != X.shape[1]:
        raise InputError(f"X_test must be 2-D with the {X.shape[1]} columns of X_train, got shape {X_test.shape}")
    bad = np.argwhere(~np.isfinite(X_test))
    if bad.size:
        raise InputError(f"X_test has a missing or infinite value at index {tuple(int(i) for i in bad[0])}: "
                         "impute genotypes before the baselines")
    return X, y, X_test


# --- ridge / GBLUP --------------------------------------------------------------------------------


def ridge(X_train, y_train, X_test, settings: RidgeSettings = RidgeSettings()) -> BaselineResult:
    """Ridge regression (GBLUP) with the penalty that minimises the exact leave-one-out error.

    Fits ``y = b0 + X w`` minimising ``||y - b0 - X w||² + λ ||w||²`` (intercept unpenalised).
    Ridge on standardised markers with penalty λ is GBLUP with the genomic relationship matrix
    ``G = X Xᵀ / p`` and heritability h² = 1 / (1 + λ/p) (λ = σ²_e / σ²_β, σ²_g = p σ²_β).

    All penalties share one eigendecomposition of the centred kernel ``K = Xc Xcᵀ`` (n × n;
    cheaper than the p × p form because n ≤ p in genomic prediction): with ``K = U diag(s) Uᵀ``
    the hat matrix is ``H = 11ᵀ/n + U diag(s / (s + λ)) Uᵀ``, so the leave-one-out residuals
    ``(y - ŷ)_i / (1 - H_ii)`` of every λ cost O(n²). Same selection as scikit-learn's
    ``RidgeCV(alphas)`` (efficient leave-one-out, mean squared error, first minimum).

    Parameters
    ----------
    X_train : (n, p) array of float
        Standardised training features.
    y_train : (n,) array of float
        Training phenotypes.
    X_test : (m, p) array of float
        Test features, standardised with the training statistics.
    settings : RidgeSettings
        Penalty grid.

    Returns
    -------
    BaselineResult
        ``selected`` is None; ``info``: ``alpha`` (chosen λ), ``h2`` (σ²_g / (σ²_g + σ²_e) implied by
        λ: ``msx / (msx + λ)`` with msx the sum of the column variances, = p on standardised
        markers), ``loo_mse`` (its leave-one-out mean squared error, units of y²) and
        ``at_grid_edge`` (True if λ is the first or last of the grid: widen the grid).

    Raises
    ------
    InputError
        Non-finite values, mismatched shapes, fewer than 2 individuals or a constant y.
    """
    X, y, X_test = _check_inputs(X_train, y_train, X_test)
    start = time.perf_counter()
    n, p = X.shape
    alphas = p * RIDGE_PENALTY_RATIOS if settings.alphas is None else np.asarray(settings.alphas, dtype=float)
    kernel = _CentredKernel.of(X, y)
    s, U, Uy, U2 = kernel.s, kernel.U, kernel.Uy, kernel.U * kernel.U
    loo = np.empty(len(alphas))
    for i, alpha in enumerate(alphas):
        # I - H = U diag(λ / (s + λ)) Uᵀ - 11ᵀ/n: the constant vector spans K's null space, where λ/(s+λ) = 1
        kept = alpha / (s + alpha)
        loo[i] = np.mean((U @ (kept * Uy) / (U2 @ kept - 1.0 / n)) ** 2)
    best = int(np.argmin(loo))
    alpha = float(alphas[best])
    info = {"alpha": alpha, "h2": kernel.msx / (kernel.msx + alpha), "loo_mse": float(loo[best]),
            "at_grid_edge": best in (0, len(alphas) - 1)}
    return BaselineResult("ridge", kernel.predict(X_test, alpha), None, time.perf_counter() - start, info)


@dataclass(frozen=True)
class _CentredKernel:
    """Eigendecomposition of the centred linear kernel ``Xc Xcᵀ = U diag(s) Uᵀ`` (n × n), shared by
    every ridge penalty: with ``Uy = Uᵀ(y - ȳ)`` the ridge coefficients at penalty λ are
    ``Xcᵀ U (Uy / (s + λ))``."""

    centre: np.ndarray  # (p,) column means
    mean: float  # ȳ
    Xc: np.ndarray  # (n, p) centred features
    s: np.ndarray  # (n,) eigenvalues, clipped at 0
    U: np.ndarray  # (n, n) eigenvectors
    Uy: np.ndarray  # (n,)
    msx: float  # sum of the column variances

    @classmethod
    def of(cls, X: np.ndarray, y: np.ndarray) -> _CentredKernel:
        centre, mean = X.mean(axis=0), float(y.mean())
        Xc = X - centre
        s, U = np.linalg.eigh(Xc @ Xc.T)
        return cls(centre, mean, Xc, np.clip(s, 0.0, None), U, U.T @ (y - mean),
                   float(np.einsum("ij,ij->", Xc, Xc)) / len(y))

    def coef(self, penalty: float) -> np.ndarray:
        """(p,) ridge coefficients at ``penalty`` (λ of ``||y - b0 - Xw||² + λ||w||²``)."""
        return self.Xc.T @ (self.U @ (self.Uy / (self.s + penalty)))

    def predict(self, X: np.ndarray, penalty: float) -> np.ndarray:
        """Ridge predictions (m,) at ``penalty`` for features X (m, p)."""
        return self.mean + (X - self.centre) @ self.coef(penalty)


# --- Bayesian ridge -------------------------------------------------------------------------------


def brr(X_train, y_train, X_test, settings: BRRSettings = BRRSettings()) -> BaselineResult:
    """Bayesian ridge regression with the variances that maximise the evidence.

    Model: ``y = b0 + X β + e``, ``β ~ N(0, σ²_β I)``, ``e ~ N(0, σ²_e I)``: the prior of BGLR's
    BRR. BGLR samples σ²_β and σ²_e by MCMC under scaled-inverse-χ² priors; here they are set
    to the values that maximise the marginal likelihood (empirical Bayes, MacKay's 1992
    fixed-point updates with near-flat Gamma(1e-6, 1e-6) hyperpriors on the precisions) and the
    prediction is the posterior mean of β given them, i.e. ridge with λ = σ²_e / σ²_β. With
    hundreds of individuals the two agree closely, at a fraction of the cost.

    The iteration is scikit-learn's ``BayesianRidge`` (same start, updates and stopping rule, so
    the same fit) written in the dual form: every update is O(n) given one eigendecomposition of
    the n × n kernel, where scikit-learn takes a full p × p SVD when n < p (minutes at 1,450 ×
    10,346).

    Parameters
    ----------
    X_train : (n, p) array of float
        Standardised training features.
    y_train : (n,) array of float
        Training phenotypes.
    X_test : (m, p) array of float
        Test features, standardised with the training statistics.
    settings : BRRSettings
        Iteration limits.

    Returns
    -------
    BaselineResult
        ``selected`` is None; ``info``: ``var_e`` (σ²_e, units of y²), ``var_beta`` (σ²_β),
        ``var_g`` (σ²_β times the summed column variances: the marker variance), ``h2``
        (var_g / (var_g + var_e)) and ``n_iter``.

    Raises
    ------
    InputError
        Non-finite values, mismatched shapes, fewer than 2 individuals or a constant y.
    """
    X, y, X_test = _check_inputs(X_train, y_train, X_test)
    start = time.perf_counter()
    n = len(y)
    kernel = _CentredKernel.of(X, y)
    s, Uy2 = kernel.s, kernel.Uy**2
    hyper = 1e-6  # shape and rate of the Gamma priors on both precisions
    alpha, lam = 1.0 / (float(np.var(y)) + np.finfo(float).eps), 1.0  # noise and effect precisions
    coef_old = None
    for iteration in range(1, settings.max_iter + 1):
        ratio = lam / alpha
        coef = kernel.coef(ratio)
        gamma = float(np.sum(alpha * s / (lam + alpha * s)))  # effective number of parameters
        sse = float(np.sum((ratio / (s + ratio)) ** 2 * Uy2))
        lam = (gamma + 2 * hyper) / (float(coef @ coef) + 2 * hyper)
        alpha = (n - gamma + 2 * hyper) / (sse + 2 * hyper)
        if coef_old is not None and np.sum(np.abs(coef_old - coef)) < settings.tol:
            break
        coef_old = coef
    var_e, var_beta = 1.0 / alpha, 1.0 / lam
    var_g = var_beta * kernel.msx
    info = {"var_e": var_e, "var_beta": var_beta, "var_g": var_g, "h2": var_g / (var_g + var_e),
            "n_iter": iteration}
    return BaselineResult("brr", kernel.predict(X_test, lam / alpha), None, time.perf_counter() - start, info)


# --- lasso ----------------------------------------------------------------------------------------


def lasso_alphas(X: np.ndarray, y: np.ndarray, settings: LassoSettings) -> np.ndarray:
    """The lasso penalty grid of `lasso` for training data X (n, p), y (n,).

    ``alpha_max = max_j |Σ_i x_ij (y_i - ȳ)| / n`` (the smallest penalty of scikit-learn's
    objective ``||y - b0 - Xw||² / (2n) + α ||w||₁`` whose solution is all zero), then
    ``n_alphas`` log-spaced values down to ``alpha_ratio * alpha_max``; decreasing, (n_alphas,).
    """
    alpha_max = float(np.abs(X.T @ (y - y.mean())).max()) / len(y)
    return alpha_max * np.logspace(0.0, math.log10(settings.alpha_ratio), settings.n_alphas)


def lasso(X_train, y_train, X_test, settings: LassoSettings = LassoSettings(), *, seed: int = 0) -> BaselineResult:
    """Lasso with the penalty chosen by K-fold cross-validation inside the training fold.

    The selection rule of scikit-learn's ``LassoCV`` on the grid of `lasso_alphas`, with folds
    ``KFold(folds, shuffle=True, random_state=seed)``: the penalty minimises the mean over folds
    of the held-out mean squared error (features and phenotype centred on each fold's training
    part), and the model is refitted on the whole training fold at that penalty. The paths are
    followed with sequential strong rules and KKT checks (`phenomap.gpatlas.baselines.lasso_path`:
    exact, but coordinate descent only touches the few hundred columns the rule keeps) and stop
    ``patience`` penalties after the error last improved. ``LassoCV`` itself cycles over all
    columns at every penalty and took over 13 minutes on 1,450 × 10,346 without finishing.

    Parameters
    ----------
    X_train : (n, p) array of float
        Standardised training features.
    y_train : (n,) array of float
        Training phenotypes.
    X_test : (m, p) array of float
        Test features, standardised with the training statistics.
    settings : LassoSettings
        Grid, folds, early stop and solver tolerance.
    seed : int
        Seed of the fold assignment.

    Returns
    -------
    BaselineResult
        ``selected``: (p,) the non-zero coefficients; ``info``: ``alpha`` (chosen penalty),
        ``n_selected``, ``cv_mse`` (its cross-validated mean squared error, units of y²),
        ``n_alphas_fitted`` (penalties followed before the early stop) and ``at_grid_edge``
        (True if the largest or the smallest penalty of the grid was chosen).

    Raises
    ------
    InputError
        Non-finite values, mismatched shapes, fewer individuals than folds or a constant y.
    """
    X, y, X_test = _check_inputs(X_train, y_train, X_test)
    if len(y) < settings.folds:
        raise InputError(f"lasso needs at least folds={settings.folds} individuals, got {len(y)}")
    start = time.perf_counter()
    alphas = lasso_alphas(X, y, settings)
    centre, mean = X.mean(axis=0), y.mean()
    Xc, yc = X - centre, y - mean
    folds = []
    for train, held in KFold(settings.folds, shuffle=True, random_state=seed).split(Xc):
        c, m = Xc[train].mean(axis=0), yc[train].mean()
        folds.append((lasso_path(Xc[train] - c, yc[train] - m, alphas, tol=settings.tol), Xc[held] - c, yc[held] - m))
    cv_mse = []
    for _ in alphas:
        cv_mse.append(np.mean([np.mean((X_held @ next(path) - y_held) ** 2) for path, X_held, y_held in folds]))
        if settings.patience is not None and len(cv_mse) - 1 - int(np.argmin(cv_mse)) >= settings.patience:
            break
    best = int(np.argmin(cv_mse))
    *_, coef = itertools.islice(lasso_path(Xc, yc, alphas, tol=settings.tol), best + 1)
    selected = coef != 0
    info = {"alpha": float(alphas[best]), "n_selected": int(selected.sum()), "cv_mse": float(cv_mse[best]),
            "n_alphas_fitted": len(cv_mse), "at_grid_edge": best in (0, len(alphas) - 1)}
    return BaselineResult("lasso", mean + (X_test - centre) @ coef, selected, time.perf_counter() - start, info)


# --- LassoNet -------------------------------------------------------------------------------------


def lassonet(X_train, y_train, X_test, settings: LassoNetSettings = LassoNetSettings(), *,
             seed: int = 0) -> BaselineResult:
    """LassoNet (Lemhadri et al. 2021) along its λ path, the point chosen on an inner validation split.

    A seeded ``val_fraction`` of the training fold is held out; the network is trained on the
    rest (phenotype standardised on it) along the path described in `LassoNetSettings`, with
    early stopping on the held-out part, and the path point with the lowest held-out mean
    squared error is used to predict. Nothing is refitted on the whole fold. The seed also
    sets torch's global seed (weight initialisation, mini-batch order): deterministic on CPU.

    Parameters
    ----------
    X_train : (n, p) array of float
        Standardised training features.
    y_train : (n,) array of float
        Training phenotypes.
    X_test : (m, p) array of float
        Test features, standardised with the training statistics.
    settings : LassoNetSettings
        Network, path and early stopping.
    seed : int
        Seed of the validation split and of torch.

    Returns
    -------
    BaselineResult
        ``selected``: (p,) the features with a non-zero skip connection at the chosen point;
        ``info``: ``lambda`` (chosen λ; 0 is the dense model), ``n_selected``, ``val_mse``
        (held-out mean squared error, units of y²), ``n_path`` (points trained, dense fit
        included) and ``epochs`` (total training epochs, the cost driver).

    Raises
    ------
    InputError
        Non-finite values, mismatched shapes, too few individuals to split, or a constant y.
    """
    from lassonet import LassoNetRegressor  # an optional dependency, loaded only for this method

    X, y, X_test = _check_inputs(X_train, y_train, X_test)
    start = time.perf_counter()
    n_val = round(settings.val_fraction * len(y))
    if not 2 <= n_val <= len(y) - 2:
        raise InputError(f"lassonet: val_fraction={settings.val_fraction} of {len(y)} individuals leaves fewer "
                         "than 2 for training or for validation")
    order = np.random.default_rng(seed).permutation(len(y))
    val, fit = order[:n_val], order[n_val:]
    mean, sd = y[fit].mean(), y[fit].std()
    z = (y - mean) / sd
    model = LassoNetRegressor(
        hidden_dims=tuple(int(h) for h in settings.hidden_dims), M=settings.M, lambda_start=settings.lambda_start,
        path_multiplier=settings.path_multiplier, n_iters=tuple(settings.n_iters), patience=tuple(settings.patience),
        batch_size=settings.batch_size, device=settings.device, verbose=0, torch_seed=seed)
    path = model.path(X[fit], z[fit], X_val=X[val], y_val=z[val], return_state_dicts=True)
    best = min(path, key=lambda point: point.val_loss)
    model.load(best.state_dict)
    prediction = mean + sd * np.asarray(model.predict(X_test), dtype=np.float64).ravel()
    selected = best.selected.numpy().astype(bool)
    info = {"lambda": float(best.lambda_), "n_selected": int(selected.sum()), "val_mse": float(best.val_loss * sd**2),
            "n_path": len(path), "epochs": int(sum(point.n_iters for point in path))}
    return BaselineResult("lassonet", prediction, selected, time.perf_counter() - start, info)


# --- BayesCπ --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BayesCpiPosterior:
    """Posterior summaries of one BayesCπ chain, from the kept draws.

    Attributes
    ----------
    mu : float
        Posterior mean of the intercept (units of y).
    effects : numpy.ndarray
        (p,) posterior mean of β_j δ_j (units of y per unit of feature j).
    effects_sd : numpy.ndarray
        (p,) posterior standard deviation of β_j δ_j.
    inclusion : numpy.ndarray
        (p,) posterior inclusion probability P(δ_j = 1 | y).
    positive, negative : numpy.ndarray
        (p,) posterior probabilities P(β_j δ_j > 0 | y) and P(β_j δ_j < 0 | y).
    pi, var_e, var_beta : numpy.ndarray
        (k,) kept draws of π (prior probability that an effect is zero), σ²_e and σ²_β.
    n_included : numpy.ndarray
        (k,) kept draws of Σ_j δ_j.
    """

    mu: float
    effects: np.ndarray
    effects_sd: np.ndarray
    inclusion: np.ndarray
    positive: np.ndarray
    negative: np.ndarray
    pi: np.ndarray
    var_e: np.ndarray
    var_beta: np.ndarray
    n_included: np.ndarray

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Posterior mean of μ + X β δ for features X (m, p); (m,)."""
        return self.mu + X @ self.effects


def bayes_cpi_gibbs(X, y, settings: BayesCpiSettings = BayesCpiSettings(), *, seed: int = 0) -> BayesCpiPosterior:
    """Sample the BayesCπ posterior by single-site Gibbs sampling.

    Model (as BGLR's ``BayesC``)::

        y = μ 1 + Σ_j x_j β_j δ_j + e,   e ~ N(0, σ²_e I),   μ flat,
        δ_j ~ Bernoulli(1 - π),   β_j ~ N(0, σ²_β),   π ~ Beta(1, 1),
        σ²_β ~ S_β / χ²(ν_β),   σ²_e ~ S_e / χ²(ν_e)

    (π is the prior probability that an effect is zero; β_j is drawn whether or not the
    marker is in the model, as BGLR does.) BGLR's default prior scales make the prior means
    split the phenotypic variance V_y: E σ²_e = V_y (1 - R²) and E[σ²_β] · MSx · (1 - π₀) =
    V_y R², i.e. ``S_e = V_y (1 - R²)(ν_e - 2)`` and ``S_β = V_y R² (ν_β - 2) / (MSx (1 - π₀))``
    with MSx the sum of the column variances of X, π₀ = 0.5 (BGLR's ``probIn``; ``fixed_pi``
    when π is fixed), R² = ``r2``, ν = ``df_*``. BGLR's prior on π is Beta(6, 6) by default
    (``counts`` = 10); Beta(1, 1) is used here, which matters little with thousands of markers.

    Each iteration updates μ, then each marker in turn, then σ²_β, π and σ²_e, from their full
    conditionals. A marker's pair (δ_j, β_j) is drawn jointly: δ_j with β_j integrated out
    (log odds of inclusion ``log((1-π)/π) + ½ log(σ²_e / (σ²_β c_j)) + r_j² / (2 σ²_e c_j)``
    with ``r_j = x_jᵀ(e + x_j β_j δ_j)`` and ``c_j = x_jᵀx_j + σ²_e/σ²_β``), then
    β_j ~ N(r_j / c_j, σ²_e / c_j) if included, else from its prior. (BGLR draws δ_j given β_j,
    which mixes more slowly; the posterior is the same.) The residual vector is updated in place
    with BLAS ``ddot``/``daxpy`` on contiguous marker rows, and all random numbers of a sweep are
    drawn at once, so one iteration costs about 2 µs per marker: ~20 s per 1,000 iterations for
    1,450 individuals × 10,346 markers on one core, whether few or half the markers are in.

    Parameters
    ----------
    X : (n, p) array of float
        Features (standardised, but any scale is valid).
    y : (n,) array of float
        Phenotypes.
    settings : BayesCpiSettings
        Chain length, priors, fixed parameters.
    seed : int
        Seed of the chain: the same seed gives the same chain.

    Returns
    -------
    BayesCpiPosterior

    Raises
    ------
    InputError
        Non-finite values, mismatched shapes, fewer than 2 individuals, a constant y or
        only constant columns.
    """
    X, y = _check_training(X, y)
    n, p = X.shape
    rows = np.ascontiguousarray(X.T)  # marker j's values are rows[j], contiguous for BLAS
    xx = np.einsum("ij,ij->i", rows, rows)
    msx = float(X.var(axis=0).sum())
    if msx == 0:
        raise InputError("every column of X_train is constant: BayesCπ has no marker to fit")
    var_y = float(np.var(y, ddof=1))
    pi0 = 0.5 if settings.fixed_pi is None else settings.fixed_pi
    scale_e = var_y * (1 - settings.r2) * (settings.df_e - 2)
    scale_beta = var_y * settings.r2 * (settings.df_beta - 2) / (msx * (1 - pi0))

    rng = np.random.default_rng(seed)
    mu, pi = float(y.mean()), pi0
    var_e = scale_e / (settings.df_e - 2) if settings.fixed_var_e is None else settings.fixed_var_e
    var_beta = scale_beta / (settings.df_beta - 2) if settings.fixed_var_beta is None else settings.fixed_var_beta
    e = y - mu
    beta, incl = [0.0] * p, [False] * p
    k = settings.n_kept
    trace = {name: np.empty(k) for name in ("pi", "var_e", "var_beta", "n_included")}
    effect_sum, effect_sq, incl_sum, positive, negative = (np.zeros(p) for _ in range(5))
    mu_sum = 0.0
    kept = 0
    for it in range(1, settings.n_iter + 1):
        e += mu
        mu = float(e.mean()) + math.sqrt(var_e / n) * rng.standard_normal()
        e -= mu
        e = _sweep_markers(rows, xx, e, beta, incl, var_e, var_beta, pi, rng)
        b, d = np.array(beta), np.array(incl)
        n_in = int(d.sum())
        if settings.fixed_var_beta is None:
            var_beta = (float(b @ b) + scale_beta) / rng.chisquare(settings.df_beta + p)
        if settings.fixed_pi is None:
            pi = rng.beta(1 + p - n_in, 1 + n_in)
        if settings.fixed_var_e is None:
            var_e = (float(e @ e) + scale_e) / rng.chisquare(settings.df_e + n)
        if it > settings.burn_in and it % settings.thin == 0:
            effect = b * d
            effect_sum += effect
            effect_sq += effect * effect
            incl_sum += d
            positive += effect > 0
            negative += effect < 0
            mu_sum += mu
            for name, value in (("pi", pi), ("var_e", var_e), ("var_beta", var_beta), ("n_included", n_in)):
                trace[name][kept] = value
            kept += 1
    effects = effect_sum / k
    return BayesCpiPosterior(
        mu=mu_sum / k, effects=effects, effects_sd=np.sqrt(np.clip(effect_sq / k - effects**2, 0.0, None)),
        inclusion=incl_sum / k, positive=positive / k, negative=negative / k, pi=trace["pi"],
        var_e=trace["var_e"], var_beta=trace["var_beta"], n_included=trace["n_included"].astype(np.int64))


def _sweep_markers(rows: np.ndarray, xx: np.ndarray, e: np.ndarray, beta: list[float], incl: list[bool],
                   var_e: float, var_beta: float, pi: float, rng: np.random.Generator) -> np.ndarray:
    """One systematic scan over the markers: draw (δ_j, β_j) for j = 0 … p-1 in turn.

    ``rows`` (p, n) marker values, ``xx`` (p,) their squared norms, ``e`` (n,) the current
    residual y - μ - Σ x_j β_j δ_j (updated in place and returned), ``beta``/``incl`` the
    state (lists, updated in place). Per-marker constants are computed vectorised and the loop
    touches only Python floats and two BLAS level-1 calls.
    """
    p = len(beta)
    noise = rng.standard_normal(p).tolist()
    # δ_j = 1 iff logit(u_j) < log-odds_j, u_j uniform: one comparison, no exp
    threshold = logit(rng.random(p)).tolist()
    c = xx + var_e / var_beta
    prior_log_odds = math.inf if pi == 0 else math.log1p(-pi) - math.log(pi)
    log_odds = (prior_log_odds + 0.5 * np.log(var_e / (var_beta * c))).tolist()
    curvature = (0.5 / (var_e * c)).tolist()
    shrink = (1.0 / c).tolist()
    post_sd = np.sqrt(var_e / c).tolist()
    prior_sd = math.sqrt(var_beta)
    norms = xx.tolist()
    for j in range(p):
        x = rows[j]
        old = beta[j] if incl[j] else 0.0
        rhs = ddot(x, e) + norms[j] * old
        if threshold[j] < log_odds[j] + rhs * rhs * curvature[j]:
            incl[j] = True
            beta[j] = new = rhs * shrink[j] + post_sd[j] * noise[j]
        else:
            incl[j] = False
            beta[j] = prior_sd * noise[j]
            new = 0.0
        if new != old:
            e = daxpy(x, e, a=old - new)  # in place: e is contiguous float64
    return e


def bayescpi(X_train, y_train, X_test, settings: BayesCpiSettings = BayesCpiSettings(), *,
             seed: int = 0) -> BaselineResult:
    """BayesCπ (Habier et al. 2011) by `bayes_cpi_gibbs`, with a convergence summary.

    The prediction is the posterior mean of μ + X_test β δ; ``settings.selection`` decides which
    features count as selected (inclusion probability > 0.5, or 95 % credible interval of the
    effect excluding 0 as in the paper).

    Parameters
    ----------
    X_train : (n, p) array of float
        Standardised training features.
    y_train : (n,) array of float
        Training phenotypes.
    X_test : (m, p) array of float
        Test features, standardised with the training statistics.
    settings : BayesCpiSettings
        Chain and priors.
    seed : int
        Seed of the chain.

    Returns
    -------
    BaselineResult
        ``info``: ``pi_mean``, ``pi_lower``/``pi_upper`` (95 % equal-tailed interval of π),
        ``n_included_mean`` (posterior mean number of non-zero effects), ``var_e_mean``,
        ``var_beta_mean``, ``n_inclusion``/``n_interval`` (features selected by either rule of
        `BayesCpiSettings`), ``ess_pi``/``ess_var_e`` (effective sample sizes of the kept draws,
        `effective_sample_size`; NaN for a fixed parameter), ``geweke_var_e`` (`geweke_z` of
        σ²_e: |z| > 2 suggests the burn-in was too short), ``n_kept`` and
        ``seconds_per_1000_iterations``.

    Raises
    ------
    InputError
        As `bayes_cpi_gibbs`, and for non-finite or misshapen ``X_test``.
    """
    X, y, X_test = _check_inputs(X_train, y_train, X_test)
    start = time.perf_counter()
    post = bayes_cpi_gibbs(X, y, settings, seed=seed)
    seconds = time.perf_counter() - start
    lower, upper = np.quantile(post.pi, [0.025, 0.975])
    by_rule = {"inclusion": post.inclusion > 0.5, "interval": np.maximum(post.positive, post.negative) > 0.975}
    info = {"pi_mean": float(post.pi.mean()), "pi_lower": float(lower), "pi_upper": float(upper),
            "n_included_mean": float(post.n_included.mean()), "var_e_mean": float(post.var_e.mean()),
            "var_beta_mean": float(post.var_beta.mean()), "n_inclusion": int(by_rule["inclusion"].sum()),
            "n_interval": int(by_rule["interval"].sum()), "ess_pi": effective_sample_size(post.pi),
            "ess_var_e": effective_sample_size(post.var_e), "geweke_var_e": geweke_z(post.var_e),
            "n_kept": settings.n_kept, "seconds_per_1000_iterations": 1000 * seconds / settings.n_iter}
    return BaselineResult("bayescpi", post.predict(X_test), by_rule[settings.selection], time.perf_counter() - start,
                          info)


# --- MCMC diagnostics -----------------------------------------------------------------------------


def effective_sample_size(chain) -> float:
    """Effective sample size of one chain by Geyer's (1992) initial monotone sequence estimator.

    With autocorrelations ρ_t (FFT), the pair sums Γ_k = ρ_2k + ρ_2k+1 are summed up to the
    last positive one, after making them non-increasing; ESS = N / (2 Σ Γ_k - 1).

    Parameters
    ----------
    chain : (N,) array of float
        Successive draws.

    Returns
    -------
    float
        The effective sample size; NaN when N < 4 or the chain is constant.
    """
    x = np.asarray(chain, dtype=np.float64)
    N = len(x)
    x = x - x.mean()
    if N < 4 or not np.any(x):
        return math.nan
    spectrum = np.fft.rfft(x, 2 * N)
    acov = np.fft.irfft(spectrum * np.conj(spectrum), 2 * N)[:N]
    rho = acov / acov[0]
    pairs = rho[: 2 * (N // 2)].reshape(-1, 2).sum(axis=1)
    negative = np.flatnonzero(pairs <= 0)
    pairs = np.minimum.accumulate(pairs[: negative[0] if negative.size else len(pairs)])
    return float(N / (2 * pairs.sum() - 1))


def geweke_z(chain, first: float = 0.1, last: float = 0.5) -> float:
    """Geweke's (1992) z-score: the first ``first`` of a chain against its last ``last``.

    ``z = (m_a - m_b) / sqrt(v_a / ESS_a + v_b / ESS_b)`` with m, v the means and variances of
    the two segments; each segment's spectral density at zero is estimated through its
    `effective_sample_size` (coda fits an AR model instead). For a stationary chain z is
    approximately N(0, 1).

    Parameters
    ----------
    chain : (N,) array of float
        Successive draws (after burn-in).
    first, last : float
        Fractions of the chain in the early and late segments.

    Returns
    -------
    float
        The z-score; NaN when a segment has fewer than 4 draws or is constant.
    """
    x = np.asarray(chain, dtype=np.float64)
    a, b = x[: int(first * len(x))], x[len(x) - int(last * len(x)):]
    ess_a, ess_b = effective_sample_size(a), effective_sample_size(b)
    if math.isnan(ess_a) or math.isnan(ess_b):
        return math.nan
    return float((a.mean() - b.mean()) / math.sqrt(a.var() / ess_a + b.var() / ess_b))


# --- dispatch -------------------------------------------------------------------------------------


_METHODS = {
    "ridge": (ridge, RidgeSettings, False),
    "brr": (brr, BRRSettings, False),
    "lasso": (lasso, LassoSettings, True),
    "lassonet": (lassonet, LassoNetSettings, True),
    "bayescpi": (bayescpi, BayesCpiSettings, True),
}
METHODS = tuple(_METHODS)


def fit_predict(method: str, X_train, y_train, X_test, *, seed: int = 0,
                settings: Mapping[str, Any] | None = None) -> BaselineResult:
    """Fit one baseline on a training fold and predict the test fold.

    Parameters
    ----------
    method : str
        One of `METHODS`: ``ridge``, ``brr``, ``lasso``, ``lassonet``, ``bayescpi``.
    X_train : (n, p) array of float
        Training features, standardised with training-fold statistics.
    y_train : (n,) array of float
        Training phenotypes, covariates regressed out, no missing values.
    X_test : (m, p) array of float
        Test features, standardised with the training statistics.
    seed : int
        Seed of the method's randomness (folds, validation split, initialisation, chain);
        ridge and brr are deterministic.
    settings : mapping or None
        Fields of the method's settings class (`RidgeSettings`, `BRRSettings`,
        `LassoSettings`, `LassoNetSettings`, `BayesCpiSettings`); missing fields take
        their defaults.

    Returns
    -------
    BaselineResult

    Raises
    ------
    InputError
        Unknown method or setting, invalid setting value, or invalid data.
    """
    method_settings = make_settings(method, settings)
    fit, _, seeded = _METHODS[method]
    return fit(X_train, y_train, X_test, method_settings, **({"seed": seed} if seeded else {}))


def make_settings(method: str, settings: Mapping[str, Any] | None = None):
    """The settings object of ``method`` from a mapping of its fields (missing fields take their defaults).

    Raises InputError for an unknown method or setting name (with the valid ones) or an invalid value.
    """
    if method not in _METHODS:
        raise InputError(f"unknown baseline {method!r}; choose from {', '.join(METHODS)}")
    settings_class = _METHODS[method][1]
    settings = dict(settings or {})
    known = {f.name for f in fields(settings_class)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise InputError(f"unknown {method} setting(s) {unknown}; the settings are {sorted(known)}")
    return settings_class(**settings)
