"""Baseline shrinkage of marginal GWAS effects within one LD block.

Every method takes the marginal per-allele effects ``beta_hat`` (m,), their standard errors
``se`` (m,), the block's LD correlation matrix ``R`` (m, m) and the GWAS sample size ``n``, and
returns shrunk per-allele effects (m,) in the units of ``beta_hat``:

``enet``   elastic net on summary statistics, tuned by summary-statistic pseudo-validation;
``susie``  SuSiE-RSS posterior mean (the ``pysusie`` port of susieR);
``eb``     LD-free point-normal empirical-Bayes posterior mean;
``none``   ``beta_hat`` unchanged;  ``zero``  all zeros.

The standardised scale
----------------------
For OLS of y on one variant x_j with an intercept over n samples, write Sxx, Syy, Sxy for the
centred sums of squares and products and r_j for the sample correlation of x_j and y. Then
``beta_hat_j = Sxy / Sxx`` and ``se_j^2 = Syy (1 - r_j^2) / ((n - 2) Sxx)``, so
``z_j = beta_hat_j / se_j = r_j sqrt(n - 2) / sqrt(1 - r_j^2)``, which inverts to::

    r_j = z_j / sqrt(n - 2 + z_j^2)
    s_j = beta_hat_j / r_j = se_j * sqrt(n - 2 + z_j^2) = sqrt(Syy / Sxx) = sd(y) / sd(x_j)

An effect b_j on the standardised scale (unit-variance genotype and trait) is the per-allele
effect ``beta_j = s_j * b_j``. With R the in-sample correlation of the genotypes, the joint
least-squares loss on the standardised scale is ``1/2 b'Rb - b'r + 1/2`` (per sample), so the
methods work on (R, r) and map back with s. This is exact for OLS with an intercept and no
covariates; for a GWAS with c covariates besides the intercept pass ``n - c`` (r is then the
partial correlation given the covariates, up to the usual O(c/n) approximation of using a
covariate-free R).

LD handling
-----------
``R`` is checked (square, finite, symmetric within 1e-4, unit diagonal within 1e-3; otherwise
InputError) and repaired by ``repair_ld``: symmetrised in float64 and, when it has a negative
eigenvalue e, shrunk toward the identity, ``(1 - s) R + s I`` with ``s = -e / (1 - e)``, the
smallest such ridge that makes it positive semi-definite; the diagonal stays 1. An LD matrix
from the GWAS samples themselves is PSD up to rounding and changes only at rounding level; one
from a reference panel can be materially non-PSD (without the repair the elastic net and
SuSiE objectives are unbounded), which is logged as a warning with its smallest eigenvalue.
Pass the LD as stored (float32): its precision sets the tolerance below which eigenvalues
count as zero.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pysusie
from scipy import optimize, special
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import enet_path

from phenomap.errors import InputError

log = logging.getLogger(__name__)

METHODS = ("enet", "susie", "eb", "none", "zero")
PSEUDO_VALIDATION_CRITERIA = ("r2", "correlation")
METHOD_OPTIONS = {  # keyword options each method accepts through shrink_block
    "enet": ("l1_ratios", "n_lambdas", "lambda_min_ratio", "validation_fraction", "n_splits", "criterion"),
    "susie": ("L", "estimate_residual_variance", "max_iter", "tol"),
    "eb": (),
    "none": (),
    "zero": (),
}

SYMMETRY_TOLERANCE = 1e-4
DIAGONAL_TOLERANCE = 1e-3
MATERIALLY_NON_PSD = -1e-4  # smallest eigenvalue below which the LD repair is logged


@dataclass(frozen=True)
class EnetFit:
    """Elastic net on summary statistics, tuned by pseudo-validation.

    beta : (m,) shrunk per-allele effects.
    lambda_, l1_ratio : the chosen penalty and mixing (standardised scale).
    score : the chosen fit's mean pseudo-validation score (0 when nothing scored above 0 and
        ``beta`` fell back to zeros, with ``lambda_`` inf and ``l1_ratio`` NaN).
    n_nonzero : non-zero entries of ``beta``.
    """

    beta: np.ndarray
    lambda_: float
    l1_ratio: float
    score: float
    n_nonzero: int


@dataclass(frozen=True)
class EBFit:
    """Point-normal empirical Bayes: prior ``pi * N(0, tau2) + (1 - pi) * delta_0``.

    beta : (m,) posterior mean per-allele effects; pi : prior non-null fraction;
    tau2 : prior variance of the non-null effects (per-allele units squared).
    """

    beta: np.ndarray
    pi: float
    tau2: float


# --------------------------------------------------------------------------- input checks


def check_block(beta_hat, se, R, n) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate one block's inputs; return ``beta_hat``, ``se`` as float64 and ``R`` (float32 kept).

    Raises InputError naming the argument and the first bad index for: mismatched shapes,
    an empty block, non-finite ``beta_hat``, ``se`` <= 0 or non-finite, ``R`` not square, not
    finite, not symmetric (beyond 1e-4) or without unit diagonal (beyond 1e-3), ``n`` <= 2.
    """
    beta_hat, se = check_effects(beta_hat, se)
    m = beta_hat.size
    R = np.asarray(R)
    R = R if R.dtype in (np.float32, np.float64) else R.astype(np.float64)
    if R.shape != (m, m):
        raise InputError(f"R has shape {R.shape}; expected ({m}, {m}), the LD of the block's {m} variants")
    bad = np.argwhere(~np.isfinite(R))
    if bad.size:
        i, j = bad[0]
        raise InputError(f"R[{i}, {j}] is {R[i, j]}; the LD matrix must be finite")
    bad = np.argwhere(np.abs(R - R.T) > SYMMETRY_TOLERANCE)
    if bad.size:
        i, j = bad[0]
        raise InputError(f"R is not symmetric: R[{i}, {j}] = {R[i, j]} but R[{j}, {i}] = {R[j, i]}")
    bad = np.flatnonzero(np.abs(np.diag(R) - 1) > DIAGONAL_TOLERANCE)
    if bad.size:
        raise InputError(f"R[{bad[0]}, {bad[0]}] = {R[bad[0], bad[0]]}; an LD correlation matrix has unit diagonal")
    if not (np.isscalar(n) and np.isfinite(n) and n > 2):
        raise InputError(f"n = {n!r}; the GWAS sample size must be a number above 2")
    return beta_hat, se, R


def check_effects(beta_hat, se) -> tuple[np.ndarray, np.ndarray]:
    """Validate effects and SEs (the ``beta_hat``/``se`` part of ``check_block``); float64 copies."""
    beta_hat = np.asarray(beta_hat, dtype=np.float64)
    se = np.asarray(se, dtype=np.float64)
    if beta_hat.ndim != 1 or beta_hat.size == 0:
        raise InputError(f"beta_hat must be a non-empty 1-D array of effects; got shape {beta_hat.shape}")
    if se.shape != beta_hat.shape:
        raise InputError(f"se has shape {se.shape} but beta_hat has {beta_hat.size} variants; pass one SE per effect")
    bad = np.flatnonzero(~np.isfinite(beta_hat))
    if bad.size:
        raise InputError(f"beta_hat[{bad[0]}] is {beta_hat[bad[0]]}; drop or fix non-finite effects first")
    bad = np.flatnonzero(~(se > 0) | ~np.isfinite(se))
    if bad.size:
        raise InputError(f"se[{bad[0]}] is {se[bad[0]]}; standard errors must be positive and finite")
    return beta_hat, se


def standardised_effects(beta_hat: np.ndarray, se: np.ndarray, n: float) -> tuple[np.ndarray, np.ndarray]:
    """Marginal correlations and per-allele scale factors (see the module docstring).

    Returns
    -------
    r : (m,) marginal correlation of each variant with the trait, ``z / sqrt(n - 2 + z^2)``.
    scale : (m,) ``se * sqrt(n - 2 + z^2)``, sd(trait) / sd(genotype): a standardised effect b
        is the per-allele effect ``scale * b``.
    """
    z = beta_hat / se
    root = np.sqrt(n - 2 + z**2)
    return z / root, se * root


@dataclass(frozen=True)
class LDSpectrum:
    """A repaired LD matrix and its eigen-decomposition on the retained directions.

    R : (m, m) float64, PSD, unit diagonal up to rounding, ``vectors @ diag(values) @ vectors.T``.
    values : (k,) eigenvalues of R above the rank tolerance; vectors : (m, k) their eigenvectors.
    Directions with smaller eigenvalues are treated as the null space of R.
    """

    R: np.ndarray
    values: np.ndarray
    vectors: np.ndarray


def repair_ld(R: np.ndarray) -> LDSpectrum:
    """Positive semi-definite, unit-diagonal version of a symmetric LD matrix.

    ``R`` is symmetrised in float64; when its smallest eigenvalue ``e`` is negative it is shrunk
    toward the identity, ``(1 - s) R + s I`` with ``s = -e / (1 - e)``, the smallest such ridge
    that makes it PSD (the diagonal stays 1, the eigenvectors are unchanged). Eigenvalues at or
    below ``max eigenvalue * m * eps`` (eps of ``R``'s dtype, as ``numpy.linalg.matrix_rank``)
    are rounding noise: their directions count as the null space, and the returned R is rebuilt
    from the retained ones (it differs from the input at rounding level when that is PSD).
    """
    R = np.asarray(R)
    eps = np.finfo(R.dtype if R.dtype == np.float32 else np.float64).eps
    R = R.astype(np.float64)
    R = (R + R.T) / 2
    values, vectors = np.linalg.eigh(R)
    if values[0] < 0:
        ridge = -values[0] / (1 - values[0])
        if values[0] < MATERIALLY_NON_PSD:
            log.warning(
                "LD matrix of %d variants is not positive semi-definite (smallest eigenvalue %.3g, "
                "%d negative): shrunk toward the identity with weight %.3g",
                len(R), values[0], int((values < 0).sum()), ridge,
            )
        values = (1 - ridge) * values + ridge
    retained = values > values[-1] * len(R) * eps
    values, vectors = values[retained], vectors[:, retained]
    return LDSpectrum((vectors * values) @ vectors.T, values, vectors)


def enet_summary_path(
    ld: LDSpectrum,
    r: np.ndarray,
    lambdas: Sequence[float],
    l1_ratio: float,
    *,
    tol: float = 1e-4,
    max_iter: int = 100_000,
) -> np.ndarray:
    """Minimisers of ``1/2 b'Rb - b'r + lam * (l1_ratio |b|_1 + (1 - l1_ratio)/2 |b|_2^2)``.

    The problem is handed to scikit-learn's coordinate descent (``enet_path``, warm-started
    along ``lambdas``) as the least-squares problem it is: with ``R = V diag(d) V'`` on the k
    retained directions, the pseudo-data ``X = sqrt(k) diag(d)^(1/2) V'`` (k x m) and
    ``y = sqrt(k) diag(d)^(-1/2) V' r`` give ``X'X/k = R`` and ``X'y/k = V V' r``, so its
    ``ElasticNet(alpha=lam, l1_ratio, fit_intercept=False)`` objective is the one above, with
    the part of r outside the column space of R (none for in-sample LD) dropped. Its dual-gap
    stopping rule and safe screening are then valid.

    Parameters
    ----------
    ld : repaired LD (``repair_ld``); r : (m,) marginal correlations.
    lambdas : penalties > 0 (solved from largest to smallest); l1_ratio : mixing in (0, 1].
    tol : stop when the duality gap is below ``tol * r'R^+r``.

    Returns
    -------
    (m, len(lambdas)) float64, column i the minimiser at ``lambdas[i]`` (input order).
    """
    k = len(ld.values)
    X = np.sqrt(k) * (np.sqrt(ld.values)[:, None] * ld.vectors.T)
    y = np.sqrt(k) * (ld.vectors.T @ r) / np.sqrt(ld.values)
    lambdas = np.asarray(lambdas, dtype=np.float64)
    order = np.argsort(-lambdas)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        _, coefs, _ = enet_path(
            X, y, l1_ratio=l1_ratio, alphas=lambdas[order], precompute=k * ld.R, Xy=X.T @ y,
            tol=tol, max_iter=max_iter,
        )
    for warning in caught:
        log.warning("elastic net (l1_ratio=%.2f) on %d variants: %s", l1_ratio, len(r), warning.message)
    path = np.empty_like(coefs)
    path[:, order] = coefs
    return path


def enet_sumstats(
    beta_hat,
    se,
    R,
    n,
    *,
    l1_ratios: Sequence[float] = (0.1, 0.5, 0.9, 1.0),
    n_lambdas: int = 20,
    lambda_min_ratio: float = 1e-2,
    validation_fraction: float = 0.2,
    n_splits: int = 3,
    criterion: str = "r2",
    seed: int = 0,
) -> EnetFit:
    """Elastic net on summary statistics with (lambda, l1_ratio) chosen by pseudo-validation.

    On the standardised scale (module docstring) the marginal correlations r are split into a
    pseudo-training part ``r_t = r + sqrt(n_v / (n n_t)) e``, ``e ~ N(0, R)``, and a validation
    part ``r_v = (n r - n_t r_t) / n_v`` (n_v = validation_fraction * n, n_t = n - n_v), which
    are distributed as the marginal correlations of two disjoint subsamples. For each l1_ratio
    the path of ``n_lambdas`` penalties from ``max|r| / l1_ratio`` (where b = 0) down by a
    factor ``lambda_min_ratio`` is fitted on r_t (``enet_summary_path``) and each fit b scored on
    r_v; scores are averaged over ``n_splits`` independent splits, and the best
    (lambda, l1_ratio) is refitted on the full r. When no fit scores above 0 (the score of
    b = 0) the block is taken to carry no predictive signal and the result is b = 0.

    Scores (``criterion``): ``"r2"`` (default) is the pseudo-validation R^2,
    ``2 b'r_v - b'Rb``, whose expectation is ``const - (b - beta)'R(b - beta)``: it rewards the
    right scale of b as well as its direction. ``"correlation"`` is ``b'r_v / sqrt(b'Rb)``, the
    usual polygenic-score criterion, which ignores scale; on simulated blocks it chose worse
    fits for effect estimation, most of all with weak signals (bench/baselines_timing.py).

    Parameters
    ----------
    beta_hat, se : (m,) marginal per-allele effects and SEs; R : (m, m) LD; n : GWAS sample size.
    l1_ratios : mixings in (0, 1]; 1 is the lasso.
    n_splits : pseudo-validation splits averaged over; seed : their random seed.

    Returns
    -------
    EnetFit with per-allele ``beta``.
    """
    beta_hat, se, R = check_block(beta_hat, se, R, n)
    l1_ratios = tuple(float(a) for a in l1_ratios)
    if not l1_ratios or not all(0 < a <= 1 for a in l1_ratios):
        raise InputError(f"l1_ratios = {l1_ratios}; each mixing must lie in (0, 1] (1 = lasso)")
    if not 0 < validation_fraction < 1:
        raise InputError(f"validation_fraction = {validation_fraction}; it must lie strictly between 0 and 1")
    if n_lambdas < 1 or n_splits < 1 or not 0 < lambda_min_ratio < 1:
        raise InputError(
            f"n_lambdas = {n_lambdas}, n_splits = {n_splits}, lambda_min_ratio = {lambda_min_ratio}; "
            "the counts must be at least 1 and the ratio in (0, 1)"
        )
    if criterion not in PSEUDO_VALIDATION_CRITERIA:
        raise InputError(f"criterion = {criterion!r}; choose one of {', '.join(PSEUDO_VALIDATION_CRITERIA)}")
    r, scale = standardised_effects(beta_hat, se, n)
    no_signal = EnetFit(np.zeros(len(r)), lambda_=np.inf, l1_ratio=np.nan, score=0.0, n_nonzero=0)
    if not np.any(r):
        return no_signal
    ld = repair_ld(R)
    splits = _pseudo_validation_splits(ld, r, n, validation_fraction, n_splits, seed)

    best_score, best_lambdas, best_l1_ratio = 0.0, None, np.nan
    for l1_ratio in l1_ratios:
        lambdas = np.max(np.abs(r)) / l1_ratio * np.geomspace(1, lambda_min_ratio, n_lambdas)
        scores = np.mean(
            [
                _pseudo_validation_scores(enet_summary_path(ld, r_train, lambdas, l1_ratio), ld.R, r_valid, criterion)
                for r_train, r_valid in splits
            ],
            axis=0,
        )
        best = int(np.argmax(scores))
        if scores[best] > best_score:
            best_score, best_lambdas, best_l1_ratio = float(scores[best]), lambdas[: best + 1], l1_ratio
    if best_lambdas is None:
        log.debug("elastic net: no fit predicts the pseudo-validation part of %d variants; effects set to 0", len(r))
        return no_signal
    b = enet_summary_path(ld, r, best_lambdas, best_l1_ratio)[:, -1]
    return EnetFit(
        scale * b,
        lambda_=float(best_lambdas[-1]),
        l1_ratio=best_l1_ratio,
        score=best_score,
        n_nonzero=int(np.count_nonzero(b)),
    )


def _pseudo_validation_splits(ld: LDSpectrum, r, n, validation_fraction, n_splits, seed) -> list:
    """``n_splits`` pairs (r_train, r_valid) of (m,) pseudo-training and validation correlations."""
    n_valid = validation_fraction * n
    n_train = n - n_valid
    rng = np.random.default_rng(seed)
    splits = []
    for _ in range(n_splits):
        noise = ld.vectors @ (np.sqrt(ld.values) * rng.standard_normal(len(ld.values)))  # ~ N(0, R)
        r_train = r + np.sqrt(n_valid / (n * n_train)) * noise
        splits.append((r_train, (n * r - n_train * r_train) / n_valid))
    return splits


def _pseudo_validation_scores(path: np.ndarray, R: np.ndarray, r_valid: np.ndarray, criterion: str) -> np.ndarray:
    """Score of each fit (column of ``path``, (m, k)) on the validation correlations; (k,).

    Both criteria score an all-zero fit 0.
    """
    variance = np.einsum("ik,ik->k", path, R @ path)
    covariance = r_valid @ path
    if criterion == "r2":
        return 2 * covariance - variance
    return covariance / np.sqrt(np.where(variance > 0, variance, np.inf))


# --------------------------------------------------------------------------- SuSiE-RSS


def susie_rss_block(beta_hat, se, R, n, **options) -> np.ndarray:
    """SuSiE-RSS posterior mean effects, per-allele scale: (m,) float64; see :func:`susie_rss_fit`."""
    return susie_rss_fit(beta_hat, se, R, n, **options)[0]


def susie_rss_fit(
    beta_hat,
    se,
    R,
    n,
    *,
    L: int = 10,
    estimate_residual_variance: bool = False,
    max_iter: int = 100,
    tol: float = 1e-3,
) -> tuple[np.ndarray, np.ndarray]:
    """SuSiE-RSS posterior mean effects (per-allele scale) and posterior inclusion probabilities.

    Runs ``pysusie.susie_rss`` on the z-scores, the repaired LD (module docstring) and n, with
    ``min(L, m)`` single effects; pysusie then fits on the standardised scale, whose posterior
    mean ``sum_l alpha_l * mu_l`` is mapped back with the per-allele scale factors. pysusie's
    warnings (e.g. IBSS not converged in ``max_iter`` iterations) are logged, not raised; the
    fit is used as it stands. ``estimate_residual_variance`` follows susieR's advice: leave it
    off unless R is the in-sample LD. ``tol`` is pysusie's ELBO convergence tolerance.

    Returns
    -------
    (m,) float64 posterior mean per-allele effects and (m,) float64 PIPs.
    """
    beta_hat, se, R = check_block(beta_hat, se, R, n)
    if L < 1:
        raise InputError(f"L = {L}; SuSiE needs at least one single effect")
    _, scale = standardised_effects(beta_hat, se, n)
    R = repair_ld(R).R
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = pysusie.susie_rss(
                z=beta_hat / se,
                R=R,
                n=n,
                L=min(L, len(R)),
                estimate_residual_variance=estimate_residual_variance,
                max_iter=max_iter,
                tol=tol,
            )
        except ValueError as error:
            raise InputError(
                f"SuSiE-RSS failed on a block of {len(R)} variants: {error}. This usually means the "
                "z-scores and the LD matrix disagree (allele flips, or LD from another panel)"
            ) from error
    for warning in caught:
        log.warning("pysusie on a block of %d variants: %s", len(R), warning.message)
    return scale * pysusie.susie_get_posterior_mean(fit), np.asarray(pysusie.susie_get_pip(fit), dtype=np.float64)


# --------------------------------------------------------------------------- empirical Bayes


def eb_point_normal(beta_hat, se) -> EBFit:
    """LD-free point-normal empirical-Bayes posterior mean.

    Model: ``beta_j ~ pi N(0, tau2) + (1 - pi) delta_0`` and ``beta_hat_j | beta_j ~
    N(beta_j, se_j^2)``, variants independent. (pi, tau2) maximise the marginal likelihood
    ``prod_j [pi N(beta_hat_j; 0, tau2 + se_j^2) + (1 - pi) N(beta_hat_j; 0, se_j^2)]``: a coarse
    grid picks the start, then L-BFGS-B on (logit pi, log tau2) with the analytic gradient.
    The posterior mean is ``P(beta_j != 0 | beta_hat_j) * tau2 / (tau2 + se_j^2) * beta_hat_j``.

    Parameters
    ----------
    beta_hat, se : (m,) per-allele effects and SEs (any set of variants: a block or a genome).

    Returns
    -------
    EBFit.
    """
    beta_hat, se = check_effects(beta_hat, se)
    variance = se**2
    typical = float(np.median(variance))
    bounds = [(-25.0, 25.0), (np.log(typical) - 20, np.log(typical) + 20)]

    def negative_log_likelihood(theta):
        log_lik, posterior_non_null, tau2 = _point_normal_terms(beta_hat, variance, *theta)
        total = tau2 + variance
        d_logit = np.sum(posterior_non_null - special.expit(theta[0]))
        d_log_tau2 = np.sum(posterior_non_null * 0.5 * (beta_hat**2 / total**2 - 1 / total)) * tau2
        return -np.sum(log_lik), -np.array([d_logit, d_log_tau2])

    grid = [(a, np.log(typical) + t) for a in np.linspace(-9, 3, 13) for t in np.linspace(-5, 9, 15)]
    start = min(grid, key=lambda theta: negative_log_likelihood(theta)[0])
    result = optimize.minimize(negative_log_likelihood, start, jac=True, method="L-BFGS-B", bounds=bounds)
    theta = result.x if result.fun <= negative_log_likelihood(start)[0] else np.array(start)
    _, posterior_non_null, tau2 = _point_normal_terms(beta_hat, variance, *theta)
    beta = posterior_non_null * tau2 / (tau2 + variance) * beta_hat
    return EBFit(beta, pi=float(special.expit(theta[0])), tau2=float(tau2))


def _point_normal_terms(beta_hat, variance, logit_pi, log_tau2):
    """Per-variant marginal log-likelihood, posterior P(non-null) and tau2 at one parameter."""
    tau2 = np.exp(log_tau2)
    log_non_null = special.log_expit(logit_pi) + _normal_logpdf(beta_hat, tau2 + variance)
    log_null = special.log_expit(-logit_pi) + _normal_logpdf(beta_hat, variance)
    log_lik = np.logaddexp(log_non_null, log_null)
    return log_lik, np.exp(log_non_null - log_lik), tau2


def _normal_logpdf(x, variance):
    return -0.5 * (np.log(2 * np.pi * variance) + x**2 / variance)


# --------------------------------------------------------------------------- dispatch


def shrink_block(method: str, beta_hat, se, R, n, *, seed: int = 0, **options) -> np.ndarray:
    """Shrunk per-allele effects (m,) of one block by a baseline ``method`` in METHODS.

    ``options`` go to the method's function (``enet_sumstats``, ``susie_rss_fit``); ``seed``
    is used by ``enet`` only. ``none`` returns ``beta_hat``, ``zero`` zeros, ``eb`` the
    point-normal posterior mean fitted on this block's variants alone.
    """
    if method not in METHODS:
        raise InputError(f"shrinkage method {method!r} is unknown; choose one of {', '.join(METHODS)}")
    accepted = METHOD_OPTIONS[method]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise InputError(
            f"shrinkage method {method!r} has no option {unknown[0]!r}; its options are: {', '.join(accepted) or 'none'}"
        )
    beta_hat, se, R = check_block(beta_hat, se, R, n)
    if method == "enet":
        return enet_sumstats(beta_hat, se, R, n, seed=seed, **options).beta
    if method == "susie":
        return susie_rss_fit(beta_hat, se, R, n, **options)[0]
    if method == "eb":
        return eb_point_normal(beta_hat, se).beta
    if method == "none":
        return beta_hat.copy()
    return np.zeros_like(beta_hat)
